//! `low-and-slow-spray`: a spray spread over hours or days, one throwaway IP per attempt.
//!
//! **What.** Over a long horizon (default 24 h, configurable to days) at least `min_users` (10)
//! users each fail from IPs that are used once and never again, at no more than
//! `max_attempts_per_user_per_hour` (2) failures per user per hour. Medium.
//!
//! **Why.** Below every rate threshold: the actor waits between attempts and never reuses an IP.
//!
//! **Logic.** Only unresolved failures count (a failure the user fixes within minutes is a typo).
//! Every sign-in (failed or not) counts a use of its IP, in a bounded table of IPs over the
//! horizon; a failure counts once it is `settle` (default 1 h) old and its IP has been used exactly
//! once. An address another spray detector reported as its spray's own (a fast distributed spray's
//! proxies) leaves its failures out: that spray is reported already, and a fast one is no slow
//! one. Evaluated each minute of event time over the failures of the horizon (bounded).
//!
//! **False positives.** Users on mobile networks whose IP changes between a failure and the fix
//! resolve through the success; an identity provider outage produces failures that resolve too.
//!
//! **ATT&CK.** T1110.003.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::kit::unresolved_failures::{signalled_address, Failure, UnresolvedFailures};
use super::kit::{self, Meta, Parts, Registrable, Stage};
use super::{Context, Detector, Signal, StateStats, Suppression};
use crate::allowlist::Allowlist;
use crate::attack::PASSWORD_SPRAYING;
use crate::config::{Count, Duration};
use crate::event::Event;
use crate::finding::{Finding, ObservableKind, Severity};
use crate::state::{BoundedMap, Expiring};
use crate::time::{Timestamp, DAY, HOUR, MINUTE};

/// The detector id.
pub const ID: &str = "low-and-slow-spray";

kit::config! {
    "low-and-slow-spray";
    /// Distinct users failing from single-use IPs (default 10).
    min_users: Count = Count::new(10),
    /// The horizon (default `24h`).
    horizon: Duration = Duration(DAY),
    /// Failures per user per hour above which a user is a stale client, not a target (default 2).
    max_attempts_per_user_per_hour: Count = Count::new(2),
    /// How long after a failure its IP must stay unused to count as single-use (default `1h`).
    settle: Duration = Duration(HOUR),
    /// A failure the user fixes within this time is a typo (default `10m`).
    resolve_within: Duration = Duration(10 * MINUTE),
    /// IPs whose use is counted at once (default 1000000).
    max_ips: Count = Count::new(1_000_000),
    /// Failures held over the horizon (default 100000).
    max_failures: Count = Count::new(100_000),
}

/// A user's spray-code failures per clock hour (resolved or not): the busiest hour seen.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct UserRate {
    hour: i64,
    count: usize,
    busiest: usize,
    last_seen: Timestamp,
}

impl Expiring for UserRate {
    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct IpUse {
    uses: u32,
    last_seen: Timestamp,
}

impl Expiring for IpUse {
    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }
}

/// The `low-and-slow-spray` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct LowAndSlowSpray {
    #[serde(skip)]
    config: Config,
    #[serde(skip)]
    allowlist: Arc<Allowlist>,
    failures: UnresolvedFailures,
    ip_uses: BoundedMap<IpUse>,
    user_rates: BoundedMap<UserRate>,
    horizon: VecDeque<Failure>,
    dropped: u64,
    signalled: BoundedMap<Timestamp>,
    /// Addresses another spray detector reported as its spray's own. (`None` only while a
    /// snapshot of an earlier version, which has no such table, is loaded.)
    #[serde(default)]
    covered: Option<BoundedMap<Timestamp>>,
    open: Suppression,
    /// The most findings open at once (`limits.max_open_findings`).
    #[serde(skip)]
    max_open: usize,
    /// Per failure of the horizon (same order): [`EXCLUDED`] once its IP was reused or its user
    /// turned stale (both last: uses and rates only grow, until a table drops entries and every
    /// failure is checked again), [`LISTED`] once it is in the open finding. Rebuilt when it does
    /// not match the horizon (after a restore).
    #[serde(skip)]
    flags: VecDeque<u8>,
}

/// The failure no longer counts (see `LowAndSlowSpray::flags`).
const EXCLUDED: u8 = 1;
/// The failure was added to the open finding.
const LISTED: u8 = 2;

impl Registrable for LowAndSlowSpray {
    const META: Meta = Meta {
        id: ID,
        stage: Some(Stage::Spray),
        attack: &[PASSWORD_SPRAYING],
        severity: Severity::Medium,
    };
    type Config = Config;

    fn build(config: Config, parts: &Parts) -> Self {
        LowAndSlowSpray {
            failures: UnresolvedFailures::new(
                config.resolve_within.0,
                config.max_failures.get(),
                parts.hasher,
            ),
            allowlist: Arc::clone(parts.allowlist),
            ip_uses: BoundedMap::new(config.max_ips.get(), parts.hasher),
            user_rates: BoundedMap::new(config.max_failures.get(), parts.hasher),
            horizon: VecDeque::new(),
            dropped: 0,
            signalled: BoundedMap::new(config.max_failures.get(), parts.hasher),
            covered: Some(BoundedMap::new(config.max_ips.get(), parts.hasher)),
            open: Suppression::new(ID, config.horizon.0, parts.max_open),
            max_open: parts.max_open,
            flags: VecDeque::new(),
            config,
        }
    }
}

impl LowAndSlowSpray {
    /// Keeps `flags` beside the horizon after `moved` failures were appended to it and `dropped`
    /// pushed out of its front.
    fn note_released(&mut self, moved: usize, dropped: u64) {
        self.flags.extend(std::iter::repeat_n(0, moved));
        for _ in 0..dropped {
            self.flags.pop_front();
        }
    }

    /// Evaluates the horizon at `watermark`. Only failures not yet excluded are looked up, and
    /// only those not yet in the open finding are added to it.
    fn evaluate(&mut self, watermark: Timestamp, context: &mut Context) {
        let since = watermark.saturating_sub(self.config.horizon.0);
        while self
            .horizon
            .front()
            .is_some_and(|failure| failure.time < since)
        {
            self.horizon.pop_front();
            self.flags.pop_front();
        }
        if self.flags.len() != self.horizon.len() {
            // After a restore, or a table that dropped entries: every failure is checked again.
            self.flags = self.horizon.iter().map(|_| 0).collect();
        }
        let settled_before = watermark.saturating_sub(self.config.settle.0);
        // A settled failure counts while its IP was used once and its user is not stale: a user
        // failing more than the rate in any hour (a fast spray, a stale client) is not a
        // low-and-slow target; the rate counts every failure, fixed by the user or not.
        let max_rate = self.config.max_attempts_per_user_per_hour.get();
        let mut counted_at: Vec<usize> = Vec::new();
        for (index, (failure, flags)) in self.horizon.iter().zip(self.flags.iter_mut()).enumerate()
        {
            if failure.time > settled_before || *flags & EXCLUDED != 0 {
                continue;
            }
            let reused = self.ip_uses.get(failure.ip()).is_some_and(|u| u.uses > 1);
            let stale = self
                .user_rates
                .get(failure.user())
                .is_some_and(|rate| rate.busiest > max_rate);
            let covered = self
                .covered
                .as_ref()
                .is_some_and(|covered| covered.get(failure.ip()).is_some());
            if reused || stale || covered {
                *flags |= EXCLUDED;
            } else {
                counted_at.push(index);
            }
        }
        let counted: Vec<&Failure> = counted_at
            .iter()
            .filter_map(|&i| self.horizon.get(i))
            .collect();
        // Already in the open finding: adding them again changes nothing.
        let unlisted: Vec<&Failure> = counted_at
            .iter()
            .filter(|&&i| self.flags.get(i).is_some_and(|flags| flags & LISTED == 0))
            .filter_map(|&i| self.horizon.get(i))
            .collect();
        let users: BTreeSet<&str> = counted.iter().map(|f| f.user()).collect();
        if users.len() < self.config.min_users.get() {
            return;
        }
        let Some(last) = counted.iter().map(|f| f.time).max() else {
            return;
        };
        let first = counted.iter().map(|f| f.time).min().unwrap_or(last);
        let user_count = users.len();
        let hours = ((last - first) / HOUR).max(1);
        let horizon = self.config.horizon.0;
        let fill = |finding: &mut Finding, failures: &[&Failure]| {
            for failure in failures {
                finding.add_evidence(failure.id());
                finding.observe("user.name", ObservableKind::UserName, failure.user());
                finding.observe("src_endpoint.ip", ObservableKind::IpAddress, failure.ip());
                finding.add_to("users", json!(failure.user()));
            }
            finding.first_seen = finding.first_seen.min(first);
            finding.set("user_count", json!(user_count));
            finding.title = format!("Low-and-slow password spray against {user_count} users");
            finding.set("single_use_ips", json!(counted.len()));
            finding.set("span_hours", json!(hours));
            finding.set("horizon_ms", json!(horizon));
            finding.message = format!(
                "{user_count} users failed from {} single-use IPs over {hours} h, at most {max_rate} failures per user per hour",
                counted.len()
            );
        };
        self.open.report(
            "tenant",
            last,
            context,
            |uid| {
                let mut finding = Finding::new(
                    ID,
                    uid,
                    Severity::Medium,
                    last,
                    format!("Low-and-slow password spray against {user_count} users"),
                    &[PASSWORD_SPRAYING],
                );
                fill(&mut finding, &counted);
                finding
            },
            |finding| fill(finding, &unlisted),
        );
        for &index in &counted_at {
            if let Some(flags) = self.flags.get_mut(index) {
                *flags |= LISTED;
            }
        }
        let uid = self
            .open
            .get("tenant")
            .map(|f| f.uid.clone())
            .unwrap_or_default();
        let mut targets = Vec::new();
        // Every address of the spray is its own: single-use, no user signed in from it.
        for failure in &counted {
            failure.signals_once(&mut self.signalled, since, &uid, &mut targets);
        }
        for signal in targets {
            context.signal(signal);
        }
    }
}

impl Detector for LowAndSlowSpray {
    super::kit::persist!(keep: [config, allowlist, max_open], after: |this, hasher| {
        this.failures.reseed(hasher);
        this.ip_uses.reseed(hasher);
        this.user_rates.reseed(hasher);
        this.signalled.reseed(hasher);
        match &mut this.covered {
            Some(covered) => covered.reseed(hasher),
            None => this.covered = Some(BoundedMap::new(this.config.max_ips.get(), hasher)),
        }
        this.open.configure(ID, this.config.horizon.0, this.max_open);
    });

    fn id(&self) -> &'static str {
        ID
    }

    fn on_event(&mut self, event: &Event, context: &mut Context) {
        let Event::SignIn(signin) = event else { return };
        if let Some(ip) = signin.ip() {
            let live_since = context.watermark.saturating_sub(self.config.horizon.0);
            let tracked = self.ip_uses.len();
            let entry = self.ip_uses.get_or_insert_with(ip, live_since, || IpUse {
                uses: 0,
                last_seen: signin.time,
            });
            entry.uses = entry.uses.saturating_add(1);
            entry.last_seen = entry.last_seen.max(signin.time);
            if self.ip_uses.len() < tracked {
                // The table dropped entries and forgot their uses: exclusions may not hold.
                self.flags.clear();
            }
        }
        if signin.is_spray_failure() && signin.category.is_user() {
            let live_since = context.watermark.saturating_sub(self.config.horizon.0);
            let hour = signin.time.div_euclid(HOUR);
            let tracked = self.user_rates.len();
            let rate = self
                .user_rates
                .get_or_insert_with(signin.user(), live_since, || UserRate {
                    hour,
                    count: 0,
                    busiest: 0,
                    last_seen: signin.time,
                });
            if rate.hour != hour {
                rate.hour = hour;
                rate.count = 0;
            }
            rate.count += 1;
            rate.busiest = rate.busiest.max(rate.count);
            rate.last_seen = rate.last_seen.max(signin.time);
            if self.user_rates.len() < tracked {
                // Forgotten rates: a stale user may count again.
                self.flags.clear();
            }
        }
        self.failures.observe(signin, &self.allowlist);
    }

    fn on_signal(&mut self, signal: &Signal, context: &mut Context) {
        let Signal::SprayAddress { ip, time, .. } = signal else {
            return;
        };
        if self.signalled.get(&signalled_address(ip)).is_some() {
            // This detector's own address.
            return;
        }
        let live_since = context.watermark.saturating_sub(self.config.horizon.0);
        if let Some(covered) = &mut self.covered {
            covered.insert_if_absent(ip, live_since, || *time);
        }
    }

    fn on_watermark(&mut self, context: &mut Context) {
        let cap = self.config.max_failures.get();
        let (moved, dropped) =
            self.failures
                .release_into(context.watermark, &mut self.horizon, cap);
        self.dropped += dropped;
        self.note_released(moved, dropped);
        if !self.horizon.is_empty() {
            self.evaluate(context.watermark, context);
        }
        self.open.sweep(context);
    }

    fn flush(&mut self, context: &mut Context) {
        let cap = self.config.max_failures.get();
        let (moved, dropped) = self.failures.release_all_into(&mut self.horizon, cap);
        self.dropped += dropped;
        self.note_released(moved, dropped);
        if let Some(last) = self.horizon.back().map(|f| f.time) {
            // End of input: every failure has settled as far as it ever will.
            let settled = last.saturating_add(self.config.settle.0);
            self.evaluate(settled, context);
        }
        self.open.flush(context);
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.failures.entries()
                + self.ip_uses.len()
                + self.horizon.len()
                + self.signalled.len()
                + self.covered.as_ref().map_or(0, BoundedMap::len),
            evicted: self.failures.evicted()
                + self.ip_uses.evicted()
                + self.user_rates.evicted()
                + self.dropped
                + self.signalled.evicted()
                + self.covered.as_ref().map_or(0, BoundedMap::evicted)
                + self.open.evicted(),
            open_findings: self.open.len(),
            ..StateStats::default()
        }
    }
}
