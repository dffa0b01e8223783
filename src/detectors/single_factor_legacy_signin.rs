//! `single-factor-legacy-signin`: a member account signs in without a second factor, or over a
//! legacy protocol, when that matters.
//!
//! **What.** A successful sign-in (result 0) by a member user that used a legacy protocol (ROPC,
//! `BAV2ROPC`, basic-auth clients such as IMAP, POP, SMTP, EWS, ActiveSync): low. A single-factor
//! or legacy sign-in by an account that is *dormant* (no sign-in seen for `dormant_after`,
//! default 30 d, while the engine has been watching that long) or that was sprayed within the
//! horizon (default 24 h): medium. So is a single-factor legacy sign-in by an account *unseen*
//! (no sign-in of it since the engine began watching, at least `unseen_after`, default 24 h, ago)
//! while a spray is on (a spray's own address signalled within the horizon): the first-try hit of
//! a spray that guessed a forgotten test account's password at once, from a proxy no failure had
//! named yet. A scanner's first SMTP sign-in on a Monday was seen on Friday: not unseen. A
//! single-factor sign-in of an active account that nobody
//! sprayed is not reported: tenants without Conditional Access produce those all day. A
//! non-interactive token refresh logged single-factor (`Previously satisfied`) is the token's
//! factor, not a sign-in with a password: it is no single-factor sign-in here.
//!
//! **Why.** The Midnight Blizzard foothold was a legacy test-tenant account without MFA.
//!
//! **Logic.** Guests (home tenant differs from the resource tenant) and allow-listed service
//! accounts are skipped. One finding per user per window (default 24 h).
//!
//! **False positives.** Old mail clients and scanners using SMTP AUTH: allow-list their service
//! accounts.
//!
//! **ATT&CK.** T1078.004.

use super::kit::{self, Meta, Parts, Report, Rule, Signal, Stage, StateStats};
use crate::attack::CLOUD_ACCOUNTS;
use crate::config::{Count, Duration};
use crate::event::{Event, FactorRequirement, SignIn};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::state::BoundedMap;
use crate::time::{Timestamp, DAY};
use ahash::RandomState;
use serde::{Deserialize, Serialize};
use serde_json::json;

kit::config! {
    "single-factor-legacy-signin";
    /// An account with no sign-in for this long is dormant (default `30d`).
    dormant_after: Duration = Duration(30 * DAY),
    /// A sprayed account stays sprayed this long (default `24h`).
    horizon: Duration = Duration(DAY),
    /// One finding per user per window (default `24h`).
    window: Duration = Duration(DAY),
    /// Users whose last sign-in is remembered (default 500000).
    max_users: Count = Count::new(500_000),
    /// Watching this long without a sign-in of an account makes it unseen: its single-factor
    /// legacy sign-in while a spray is on is medium (default `24h`).
    unseen_after: Duration = Duration(DAY),
}

/// The `single-factor-legacy-signin` detector.
pub type SingleFactorLegacySignin = kit::Keyed<SingleFactor>;

/// The rule of `single-factor-legacy-signin`: its tables.
#[derive(Debug, Serialize, Deserialize)]
pub struct SingleFactor {
    last_signin: BoundedMap<Timestamp>,
    sprayed: BoundedMap<Timestamp>,
    watching_since: Option<Timestamp>,
    /// When a spray last signalled an address of its own (snapshots of earlier versions have
    /// none).
    #[serde(default)]
    spray_seen: Option<Timestamp>,
}

impl Rule for SingleFactor {
    const META: Meta = Meta {
        id: "single-factor-legacy-signin",
        stage: Some(Stage::Compromise),
        attack: &[CLOUD_ACCOUNTS],
        severity: Severity::Low,
    };
    type Config = Config;
    type Open = ();

    fn new(config: &Config, parts: &Parts) -> Self {
        SingleFactor {
            last_signin: BoundedMap::new(config.max_users.get(), parts.hasher),
            sprayed: BoundedMap::new(config.max_users.get(), parts.hasher),
            watching_since: None,
            spray_seen: None,
        }
    }

    fn window(config: &Config) -> Timestamp {
        config.window.0
    }

    fn on_event(&mut self, config: &Config, event: &Event, report: &mut Report) {
        if let Event::SignIn(signin) = event {
            self.on_signin(config, signin, report);
        }
    }

    fn on_signal(&mut self, config: &Config, signal: &Signal, watermark: Timestamp) {
        if let Signal::SprayAddress { time, .. } = signal {
            self.spray_seen = self.spray_seen.max(Some(*time));
        }
        let Signal::SprayTarget { user, time, .. } = signal else {
            return;
        };
        let live_since = watermark.saturating_sub(config.horizon.0);
        let entry = self.sprayed.get_or_insert_with(user, live_since, || *time);
        *entry = (*entry).min(*time);
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.last_signin.len() + self.sprayed.len(),
            evicted: self.last_signin.evicted() + self.sprayed.evicted(),
            ..StateStats::default()
        }
    }

    fn reseed(&mut self, hasher: &RandomState) {
        self.last_signin.reseed(hasher);
        self.sprayed.reseed(hasher);
    }
}

impl SingleFactor {
    fn on_signin(&mut self, config: &Config, signin: &SignIn, report: &mut Report) {
        if !signin.category.is_user() {
            return;
        }
        let since = *self.watching_since.get_or_insert(signin.time);
        let dormant_after = config.dormant_after.0;
        let live_since = report.watermark().saturating_sub(dormant_after);
        let mut first = false;
        let last = self
            .last_signin
            .get_or_insert_with(signin.user(), live_since, || {
                first = true;
                signin.time
            });
        let previous = if first { None } else { Some(*last) };
        *last = (*last).max(signin.time);
        if !signin.succeeded() || report.allowlist.service_account(signin.user()) {
            return;
        }
        let guest = matches!((signin.home_tenant_id(), signin.tenant_id()), (Some(home), Some(tenant)) if !home.eq_ignore_ascii_case(tenant));
        if guest {
            return;
        }
        // A token refresh logged single-factor is the token's, not a password's.
        let single = signin.factor == FactorRequirement::Single && signin.presented_credentials();
        if !(single || signin.legacy) {
            return;
        }
        let watched_long_enough = signin.time.saturating_sub(since) >= dormant_after;
        let dormant = watched_long_enough
            && previous
                .is_none_or(|previous| signin.time.saturating_sub(previous) >= dormant_after);
        let sprayed = self
            .sprayed
            .get(signin.user())
            .is_some_and(|time| signin.time >= *time && signin.time - *time <= config.horizon.0);
        // Never seen in a day's watching or more, and a spray on: a password alone, over a
        // protocol without MFA.
        let spray_on = self
            .spray_seen
            .is_some_and(|seen| signin.time.saturating_sub(seen) <= config.horizon.0);
        let unseen = single
            && signin.legacy
            && spray_on
            && previous.is_none()
            && signin.time.saturating_sub(since) >= config.unseen_after.0;
        if !(signin.legacy || dormant || sprayed) {
            return;
        }
        let severity = if dormant || sprayed || unseen {
            Severity::Medium
        } else {
            Severity::Low
        };
        let mut reasons = Vec::new();
        if single {
            reasons.push("single-factor");
        }
        if signin.legacy {
            reasons.push("legacy-protocol");
        }
        if dormant {
            reasons.push("dormant-account");
        }
        if sprayed {
            reasons.push("sprayed-account");
        }
        if unseen && !(dormant || sprayed) {
            reasons.push("unseen-account-during-spray");
        }
        let add = |finding: &mut Finding| {
            finding.severity = finding.severity.max(severity);
            finding.add_evidence(signin.id());
            for reason in &reasons {
                finding.add_to("reasons", json!(reason));
            }
            if let Some(ip) = signin.ip() {
                finding.observe("src_endpoint.ip", ObservableKind::IpAddress, ip);
            }
            finding.add_to("sign_ins", json!({"time": signin.time, "ip": signin.ip(), "app": signin.app_name().or(signin.app_id()), "user_agent": signin.user_agent()}));
        };
        report.report(
            signin.user(),
            signin.time,
            |uid| {
                let mut finding = Finding::new(
                    SingleFactor::META.id,
                    uid,
                    severity,
                    signin.time,
                    format!("{} signed in with {}", signin.user(), reasons.join(", ")),
                    SingleFactor::META.attack,
                );
                finding.message = format!(
                    "{} signed in successfully ({}) from {}",
                    signin.user(),
                    reasons.join(", "),
                    signin.ip().unwrap_or("an unknown IP")
                );
                finding.observe("user.name", ObservableKind::UserName, signin.user());
                finding.set("user", json!(signin.user()));
                add(&mut finding);
                finding
            },
            |finding| add(finding),
        );
    }
}
