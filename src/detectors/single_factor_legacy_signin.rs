//! `single-factor-legacy-signin`: a member account signs in without a second factor, or over a
//! legacy protocol, when that matters.
//!
//! **What.** A successful sign-in (result 0) by a member user that used a legacy protocol (ROPC,
//! `BAV2ROPC`, basic-auth clients such as IMAP, POP, SMTP, EWS, ActiveSync): low. A single-factor
//! or legacy sign-in by an account that is *dormant* (no sign-in seen for `dormant_after`,
//! default 30 d, while the engine has been watching that long) or that was sprayed within the
//! horizon (default 24 h): medium. A single-factor sign-in of an active account that nobody
//! sprayed is not reported: tenants without Conditional Access produce those all day.
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

use std::sync::Arc;

use ahash::RandomState;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Context, Detector, Signal, StateStats, Suppression};
use crate::allowlist::Allowlist;
use crate::attack::CLOUD_ACCOUNTS;
use crate::config::{positive, Duration};
use crate::event::{Event, FactorRequirement, SignIn};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::state::BoundedMap;
use crate::time::{Timestamp, DAY};
use crate::Error;

/// The detector id.
pub const ID: &str = "single-factor-legacy-signin";

/// Settings of `single-factor-legacy-signin`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Report findings at this severity instead of `low` / `medium`.
    pub severity: Option<Severity>,
    /// An account with no sign-in for this long is dormant (default `30d`).
    pub dormant_after: Duration,
    /// A sprayed account stays sprayed this long (default `24h`).
    pub horizon: Duration,
    /// One finding per user per window (default `24h`).
    pub window: Duration,
    /// Users whose last sign-in is remembered (default 500000).
    pub max_users: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            severity: None,
            dormant_after: Duration(30 * DAY),
            horizon: Duration(DAY),
            window: Duration(DAY),
            max_users: 500_000,
        }
    }
}

impl Config {
    /// Checks the settings; errors name the field under `path`.
    pub fn validate(&self, path: &str) -> Result<(), Error> {
        positive(&format!("{path}.max_users"), self.max_users)
    }
}

/// The `single-factor-legacy-signin` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct SingleFactorLegacySignin {
    #[serde(skip)]
    config: Config,
    #[serde(skip)]
    allowlist: Arc<Allowlist>,
    last_signin: BoundedMap<Timestamp>,
    sprayed: BoundedMap<Timestamp>,
    watching_since: Option<Timestamp>,
    open: Suppression,
}

impl SingleFactorLegacySignin {
    /// A detector with these settings.
    pub fn new(config: Config, allowlist: Arc<Allowlist>, hasher: &RandomState) -> Self {
        SingleFactorLegacySignin {
            last_signin: BoundedMap::new(config.max_users, hasher),
            sprayed: BoundedMap::new(config.max_users, hasher),
            watching_since: None,
            open: Suppression::new(ID, config.window.0),
            allowlist,
            config,
        }
    }

    fn on_signin(&mut self, signin: &SignIn, context: &mut Context) {
        if !signin.category.is_user() {
            return;
        }
        let since = *self.watching_since.get_or_insert(signin.time);
        let dormant_after = self.config.dormant_after.0;
        let live_since = context.watermark.saturating_sub(dormant_after);
        let mut first = false;
        let last = self
            .last_signin
            .get_or_insert_with(signin.user(), live_since, || {
                first = true;
                signin.time
            });
        let previous = if first { None } else { Some(*last) };
        *last = (*last).max(signin.time);
        if !signin.succeeded() || self.allowlist.service_account(signin.user()) {
            return;
        }
        let guest = matches!((signin.home_tenant_id(), signin.tenant_id()), (Some(home), Some(tenant)) if !home.eq_ignore_ascii_case(tenant));
        if guest {
            return;
        }
        let single = signin.factor == FactorRequirement::Single;
        if !(single || signin.legacy) {
            return;
        }
        let watched_long_enough = signin.time.saturating_sub(since) >= dormant_after;
        let dormant = watched_long_enough
            && previous
                .is_none_or(|previous| signin.time.saturating_sub(previous) >= dormant_after);
        let sprayed = self.sprayed.get(signin.user()).is_some_and(|time| {
            signin.time >= *time && signin.time - *time <= self.config.horizon.0
        });
        if !(signin.legacy || dormant || sprayed) {
            return;
        }
        let severity = if dormant || sprayed {
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
        self.open.report(
            signin.user(),
            signin.time,
            context,
            |uid| {
                let mut finding = Finding::new(
                    ID,
                    uid,
                    severity,
                    signin.time,
                    format!("{} signed in with {}", signin.user(), reasons.join(", ")),
                    &[CLOUD_ACCOUNTS],
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

impl Detector for SingleFactorLegacySignin {
    super::persist!(keep: [config, allowlist], after: |this, hasher| {
        this.last_signin.reseed(hasher);
        this.sprayed.reseed(hasher);
        this.open.configure(ID, this.config.window.0);
    });

    fn id(&self) -> &'static str {
        ID
    }

    fn on_event(&mut self, event: &Event, context: &mut Context) {
        if let Event::SignIn(signin) = event {
            self.on_signin(signin, context);
        }
    }

    fn on_signal(&mut self, signal: &Signal, context: &mut Context) {
        let Signal::SprayTarget { user, time, .. } = signal else {
            return;
        };
        let live_since = context.watermark.saturating_sub(self.config.horizon.0);
        let entry = self.sprayed.get_or_insert_with(user, live_since, || *time);
        *entry = (*entry).min(*time);
    }

    fn suppression(&mut self) -> Option<&mut Suppression> {
        Some(&mut self.open)
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.last_signin.len() + self.sprayed.len(),
            evicted: self.last_signin.evicted() + self.sprayed.evicted(),
            open_findings: self.open.len(),
            ..StateStats::default()
        }
    }
}
