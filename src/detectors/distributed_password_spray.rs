//! `distributed-password-spray`: the residential-proxy spray that per-IP rules miss.
//!
//! **What.** Across the tenant, within a sliding window (default 30 min), at least `min_users`
//! (15) distinct users fail with the spray codes from at least `min_ips` (10) distinct IPs, and
//! the IPs churn: at least `min_churn` (80 %) of them are used for at most
//! `max_attempts_per_ip` (2) attempts. High.
//!
//! **Why.** Midnight Blizzard sprayed through residential proxies: every IP tries a password or
//! two and is gone, so no IP ever reaches a per-IP threshold and IP blocklists are useless.
//!
//! **Logic.** Only *unresolved* failures count (see `unresolved_failures`): a failure the user
//! fixes by signing in within minutes is a typo. Only failures from *unknown* IPs count: an IP
//! with a completed multi-factor sign-in within `known_ip_horizon` (default 7 d) is an office, a
//! home, a phone or a conference network, never a fresh proxy; any other completed sign-in makes
//! its IP known for its own user only (logs that do not say the factor, such as the unified audit
//! log's; and the spray's own hit, a password alone through a proxy, which so does not whitewash
//! the proxy's failures for the other users). IPs above
//! `max_attempts_per_ip` are left to `password-spray`. The window is evaluated each minute of
//! event time. Confidence figures: the dominant error code, user agent and app with
//! their shares, the attempts-per-IP histogram, ASNs (from `autonomousSystemNumber` or the host's
//! `asn_table`) and network kinds. Every counted user is signalled as a spray target.
//!
//! **False positives.** Shared NAT and conference Wi-Fi come from few, known IPs with many
//! attempts each (no churn); a help-desk burst of lockouts comes from users' own, known IPs; users
//! mistyping resolve. A freshly started engine knows no IPs yet, so a lockout burst in its first
//! hours can fire: check the dominant code (50053).
//!
//! **ATT&CK.** T1110.003, T1090.002.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::kit::unresolved_failures::{Failure, UnresolvedFailures};
use super::kit::{self, Distinct, Meta, Parts, Registrable, Stage};
use super::{Context, Detector, Signal, StateStats, Suppression};
use crate::allowlist::Allowlist;
use crate::attack::{EXTERNAL_PROXY, PASSWORD_SPRAYING};
use crate::config::{Count, Duration};
use crate::event::{Event, FactorRequirement};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::state::BoundedMap;
use crate::time::{Timestamp, DAY, MINUTE};
use crate::Error;

/// The detector id.
pub const ID: &str = "distributed-password-spray";

kit::config! {
    "distributed-password-spray";
    /// Distinct users failing (default 15).
    min_users: Count = Count::new(15),
    /// Distinct IPs they fail from (default 10).
    min_ips: Count = Count::new(10),
    /// Attempts an IP may make and still count as churn (default 2).
    max_attempts_per_ip: Count = Count::new(2),
    /// Share of IPs within `max_attempts_per_ip` (default 0.8).
    min_churn: f64 = 0.8,
    /// An IP with a completed sign-in within this horizon is known (for everyone after a
    /// multi-factor one, for its user after another), and its failures do not count (default
    /// `7d`).
    known_ip_horizon: Duration = Duration(7 * DAY),
    /// IPs (and users' own IPs) remembered as known (default 1000000).
    max_known_ips: Count = Count::new(1_000_000),
    /// The sliding window (default `30m`).
    window: Duration = Duration(30 * MINUTE),
    /// A failure the user fixes within this time is a typo (default `10m`).
    resolve_within: Duration = Duration(10 * MINUTE),
    /// Failures held at once (default 200000).
    max_failures: Count = Count::new(200_000),
    ; check |config, path| {
        if !(0.0..=1.0).contains(&config.min_churn) {
            return Err(Error::InvalidConfig(format!(
                "{path}.min_churn: must be between 0 and 1"
            )));
        }
    }
}

/// The `distributed-password-spray` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct DistributedPasswordSpray {
    #[serde(skip)]
    config: Config,
    #[serde(skip)]
    allowlist: Arc<Allowlist>,
    failures: UnresolvedFailures,
    known_ips: BoundedMap<Timestamp>,
    window: VecDeque<Failure>,
    dropped: u64,
    signalled: BoundedMap<Timestamp>,
    /// The open finding, with every user it has named (its list stops at 200).
    open: Suppression<Distinct>,
    /// The most findings open at once (`limits.max_open_findings`).
    #[serde(skip)]
    max_open: usize,
}

/// The most frequent value and its share.
fn dominant<'a>(values: impl Iterator<Item = &'a str>) -> (Option<String>, f64) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut total = 0usize;
    for value in values {
        *counts.entry(value).or_insert(0) += 1;
        total += 1;
    }
    let best = counts
        .iter()
        .max_by_key(|(value, count)| (**count, std::cmp::Reverse(**value)));
    match best {
        Some((value, count)) if total > 0 => {
            (Some((*value).to_owned()), *count as f64 / total as f64)
        }
        _ => (None, 0.0),
    }
}

fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

impl Registrable for DistributedPasswordSpray {
    const META: Meta = Meta {
        id: ID,
        stage: Some(Stage::Spray),
        attack: &[PASSWORD_SPRAYING, EXTERNAL_PROXY],
        severity: Severity::Medium,
    };
    type Config = Config;

    fn build(config: Config, parts: &Parts) -> Self {
        DistributedPasswordSpray {
            failures: UnresolvedFailures::new(
                config.resolve_within.0,
                config.max_failures.get(),
                parts.hasher,
            ),
            allowlist: Arc::clone(parts.allowlist),
            known_ips: BoundedMap::new(config.max_known_ips.get(), parts.hasher),
            window: VecDeque::new(),
            dropped: 0,
            signalled: BoundedMap::new(config.max_failures.get(), parts.hasher),
            open: Suppression::new(ID, config.window.0, parts.max_open),
            max_open: parts.max_open,
            config,
        }
    }
}

impl DistributedPasswordSpray {
    fn evaluate(&mut self, now: Timestamp, context: &mut Context) {
        let since = now.saturating_sub(self.config.window.0);
        while self
            .window
            .front()
            .is_some_and(|failure| failure.time < since)
        {
            self.window.pop_front();
        }
        let known_since = now.saturating_sub(self.config.known_ip_horizon.0);
        let known = |key: &str| {
            self.known_ips
                .get(key)
                .is_some_and(|seen| *seen >= known_since)
        };
        let unknown = |failure: &&Failure| {
            !known(failure.ip()) && !known(&user_at(failure.user(), failure.ip()))
        };
        let mut per_ip: BTreeMap<&str, usize> = BTreeMap::new();
        for failure in self.window.iter().filter(unknown) {
            *per_ip.entry(failure.ip()).or_insert(0) += 1;
        }
        if per_ip.is_empty() {
            return;
        }
        let max_ip = self.config.max_attempts_per_ip.get();
        let churning = per_ip.values().filter(|n| **n <= max_ip).count();
        let churn = churning as f64 / per_ip.len() as f64;
        let counted: Vec<&Failure> = self
            .window
            .iter()
            .filter(|f| per_ip.get(f.ip()).is_some_and(|n| *n <= max_ip))
            .collect();
        let users: BTreeSet<&str> = counted.iter().map(|f| f.user()).collect();
        let ips: BTreeSet<&str> = counted.iter().map(|f| f.ip()).collect();
        if users.len() < self.config.min_users.get()
            || ips.len() < self.config.min_ips.get()
            || churn < self.config.min_churn
        {
            return;
        }
        let Some(last) = counted.iter().map(|f| f.time).max() else {
            return;
        };
        let first = counted.iter().map(|f| f.time).min().unwrap_or(last);
        let mut histogram = [0usize; 4];
        for n in per_ip.values() {
            let bucket = match n {
                1 => 0,
                2 => 1,
                3..=5 => 2,
                _ => 3,
            };
            if let Some(slot) = histogram.get_mut(bucket) {
                *slot += 1;
            }
        }
        let codes: BTreeMap<String, usize> = counted.iter().fold(BTreeMap::new(), |mut m, f| {
            *m.entry(f.code.to_string()).or_insert(0) += 1;
            m
        });
        let (code, code_share) = dominant(counted.iter().map(|f| code_name(f.code)));
        let (agent, agent_share) = dominant(counted.iter().filter_map(|f| f.user_agent()));
        let (app, app_share) = dominant(counted.iter().filter_map(|f| f.app()));
        let asns: BTreeMap<String, usize> =
            counted
                .iter()
                .filter_map(|f| f.asn)
                .fold(BTreeMap::new(), |mut m, asn| {
                    *m.entry(asn.to_string()).or_insert(0) += 1;
                    m
                });
        let networks: BTreeMap<String, usize> =
            counted
                .iter()
                .filter_map(|f| f.network())
                .fold(BTreeMap::new(), |mut m, kind| {
                    *m.entry(kind.to_owned()).or_insert(0) += 1;
                    m
                });
        let mut signals = Vec::new();
        let horizon = now.saturating_sub(self.config.window.0);
        // Every address counted is the spray's own: only IPs with no password-proving sign-in
        // within `known_ip_horizon` count. (The finding's uid is set below, once it exists.)
        for failure in &counted {
            failure.signals_once(&mut self.signalled, horizon, "", &mut signals);
        }
        let evidence: Vec<&str> = counted.iter().map(|f| f.id()).collect();
        let user_list: Vec<&str> = users.iter().copied().collect();
        let ip_list: Vec<&str> = ips.iter().copied().collect();
        let (user_count, ip_count) = (users.len(), ips.len());
        let window = self.config.window.0;
        let fill = |finding: &mut Finding, named: &mut Distinct| {
            for id in &evidence {
                finding.add_evidence(id);
            }
            for user in &user_list {
                finding.observe("user.name", ObservableKind::UserName, user);
                finding.add_to("users", json!(user));
                named.add(user);
            }
            for ip in ip_list.iter().take(100) {
                finding.observe("src_endpoint.ip", ObservableKind::IpAddress, ip);
            }
            let users_total = named.count();
            finding.first_seen = finding.first_seen.min(first);
            finding.set("user_count", json!(users_total.max(user_count)));
            finding.set("ip_count", json!(ip_count));
            finding.set("ip_churn", json!(round(churn)));
            let [one, two, few, many] = histogram;
            finding.set(
                "attempts_per_ip",
                json!({"1": one, "2": two, "3-5": few, "6+": many}),
            );
            finding.set("codes", json!(codes));
            finding.set(
                "dominant_code",
                json!({"value": code, "share": round(code_share)}),
            );
            finding.set(
                "dominant_user_agent",
                json!({"value": agent, "share": round(agent_share)}),
            );
            finding.set(
                "dominant_app",
                json!({"value": app, "share": round(app_share)}),
            );
            finding.set("asns", json!(asns));
            finding.set("networks", json!(networks));
            finding.set("distinct_asns", json!(asns.len()));
            finding.set("window_ms", json!(window));
            finding.title = format!(
                "Distributed password spray: {} users from {ip_count} IPs",
                users_total.max(user_count)
            );
            finding.message = format!(
                "{} users failed to sign in from {ip_count} IPs in {} min, {:.0}% of IPs used at most {max_ip} times",
                users_total.max(user_count),
                window / MINUTE,
                churn * 100.0,
            );
        };
        self.open.report_with(
            "tenant",
            last,
            context,
            |uid, named| {
                let mut finding = Finding::new(
                    ID,
                    uid,
                    Severity::High,
                    last,
                    format!("Distributed password spray: {user_count} users from {ip_count} IPs"),
                    &[PASSWORD_SPRAYING, EXTERNAL_PROXY],
                );
                fill(&mut finding, named);
                finding
            },
            fill,
        );
        let uid = self
            .open
            .get("tenant")
            .map(|f| f.uid.clone())
            .unwrap_or_default();
        for mut signal in signals {
            let (Signal::SprayTarget { finding_uid, .. }
            | Signal::SprayAddress { finding_uid, .. }) = &mut signal;
            finding_uid.clone_from(&uid);
            context.signal(signal);
        }
    }
}

/// The key under which an IP is known for one user only.
fn user_at(user: &str, ip: &str) -> String {
    format!("{user} {ip}")
}

fn code_name(code: u32) -> &'static str {
    match code {
        50126 => "50126",
        50053 => "50053",
        50055 => "50055",
        50056 => "50056",
        50034 => "50034",
        50057 => "50057",
        _ => "other",
    }
}

impl Detector for DistributedPasswordSpray {
    super::kit::persist!(keep: [config, allowlist, max_open], after: |this, hasher| {
        this.failures.reseed(hasher);
        this.known_ips.reseed(hasher);
        this.signalled.reseed(hasher);
        this.open.configure(ID, this.config.window.0, this.max_open);
    });

    fn id(&self) -> &'static str {
        ID
    }

    fn on_event(&mut self, event: &Event, context: &mut Context) {
        let Event::SignIn(signin) = event else { return };
        if let (true, Some(ip)) = (signin.succeeded(), signin.ip()) {
            // A completed multi-factor sign-in makes its IP known for everyone; any other
            // completed sign-in makes it known for its own user only, so that the spray's hit (a
            // password alone, through a proxy) does not whitewash the proxy.
            let pair;
            let key = if signin.factor == FactorRequirement::Multi {
                ip
            } else {
                pair = user_at(signin.user(), ip);
                &pair
            };
            let live_since = context
                .watermark
                .saturating_sub(self.config.known_ip_horizon.0);
            let seen = self
                .known_ips
                .get_or_insert_with(key, live_since, || signin.time);
            *seen = (*seen).max(signin.time);
        }
        self.failures.observe(signin, &self.allowlist);
    }

    fn on_watermark(&mut self, context: &mut Context) {
        let cap = self.config.max_failures.get();
        let (moved, dropped) = self
            .failures
            .release_into(context.watermark, &mut self.window, cap);
        self.dropped += dropped;
        if moved > 0 {
            let now = self.window.back().map_or(context.watermark, |f| f.time);
            self.evaluate(now, context);
        }
        self.open.sweep(context);
    }

    fn flush(&mut self, context: &mut Context) {
        let cap = self.config.max_failures.get();
        let (moved, dropped) = self.failures.release_all_into(&mut self.window, cap);
        self.dropped += dropped;
        if moved > 0 {
            let now = self.window.back().map_or(context.watermark, |f| f.time);
            self.evaluate(now, context);
        }
        self.open.flush(context);
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.failures.entries()
                + self.window.len()
                + self.signalled.len()
                + self.known_ips.len(),
            evicted: self.failures.evicted()
                + self.dropped
                + self.signalled.evicted()
                + self.known_ips.evicted()
                + self.open.evicted(),
            open_findings: self.open.len(),
            ..StateStats::default()
        }
    }
}
