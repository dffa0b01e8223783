//! `spray-then-success`: a user who was sprayed signs in with the right password.
//!
//! **What.** A user named as a target by a spray detector proves a password correct within the
//! horizon (default 24 h) after being sprayed: a successful sign-in (result 0), a code that means
//! "the password was correct" but sign-in was interrupted (MFA required, Conditional Access block,
//! …: 50074, 50076, 50079, 50072, 50158, 53003, 53000, 53001, 50105, 50129, 50133, 50005, 50155,
//! 50173), an expired password (50055), or `authenticationDetails` saying `Correct password`.
//!
//! **Why.** The spray found an account: in the Midnight Blizzard intrusion, a legacy test account
//! without MFA.
//!
//! **Logic.** Spray detectors signal their targets with the time each was sprayed. A sign-in that
//! proves the password after that time fires. Because a spray is recognised only once enough
//! users failed, the last password-proving sign-in of each user is kept for a while, so a hit
//! that came before the spray was recognised is still caught. One finding per user per horizon;
//! later hits update it.
//!
//! **Severity.** High; critical when the sign-in was single-factor, used a legacy protocol
//! (ROPC, `BAV2ROPC`, basic-auth clients) or came from an IP that took part in the spray.
//!
//! **False positives.** The real user signing in after being sprayed also proves the password;
//! a multi-factor sign-in from a non-spray IP stays high, not critical, and the evidence shows it.
//!
//! **ATT&CK.** T1110.003, T1078.004.

use std::collections::BTreeMap;
use std::sync::Arc;

use ahash::RandomState;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map};

use super::{push_capped, Context, Detector, Signal, StateStats};
use crate::allowlist::Allowlist;
use crate::attack::{CLOUD_ACCOUNTS, PASSWORD_SPRAYING};
use crate::config::{positive, Duration};
use crate::event::{Event, FactorRequirement, SignIn};
use crate::finding::{stable_uid, Activity, Finding, Observable, ObservableKind, Severity};
use crate::packed::Packed;
use crate::state::{BoundedMap, Expiring};
use crate::time::{self, Timestamp, HOUR};
use crate::Error;

/// The detector id.
pub const ID: &str = "spray-then-success";

/// Settings of `spray-then-success`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Report findings at this severity instead of `high` / `critical`.
    pub severity: Option<Severity>,
    /// How long after being sprayed a correct password counts (default `24h`).
    pub horizon: Duration,
    /// How long a password-proving sign-in is remembered in case its user is named as a spray
    /// target afterwards (default `2h`).
    pub lookback: Duration,
    /// Users tracked at once, for targets and for remembered sign-ins each (default 200000).
    pub max_users: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            severity: None,
            horizon: Duration(24 * HOUR),
            lookback: Duration(2 * HOUR),
            max_users: 200_000,
        }
    }
}

impl Config {
    /// Checks the settings; errors name the field under `path`.
    pub fn validate(&self, path: &str) -> Result<(), Error> {
        positive(&format!("{path}.max_users"), self.max_users)
    }
}

const MAX_LISTED: usize = 64;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Target {
    first_sprayed: Timestamp,
    last_sprayed: Timestamp,
    ips: Vec<String>,
    spray_findings: Vec<String>,
}

impl Expiring for Target {
    fn last_seen(&self) -> Timestamp {
        self.last_sprayed
    }
}

/// A password-proving sign-in, as kept: one per user in `recent` (replaced often), and in findings.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "HitFields", from = "HitFields")]
struct Hit {
    time: Timestamp,
    result_code: u32,
    single_factor: bool,
    legacy: bool,
    /// id, ip, app: one allocation.
    strings: Packed<3>,
}

/// The fields of a [`Hit`]: its snapshot form.
#[derive(Debug, Serialize, Deserialize)]
struct HitFields {
    time: Timestamp,
    id: String,
    ip: Option<String>,
    result_code: u32,
    single_factor: bool,
    legacy: bool,
    app: Option<String>,
}

impl From<Hit> for HitFields {
    fn from(hit: Hit) -> Self {
        HitFields {
            time: hit.time,
            id: hit.id().to_owned(),
            ip: hit.ip().map(str::to_owned),
            result_code: hit.result_code,
            single_factor: hit.single_factor,
            legacy: hit.legacy,
            app: hit.app().map(str::to_owned),
        }
    }
}

impl From<HitFields> for Hit {
    fn from(fields: HitFields) -> Self {
        Hit {
            time: fields.time,
            result_code: fields.result_code,
            single_factor: fields.single_factor,
            legacy: fields.legacy,
            strings: Packed::new([
                Some(&fields.id),
                fields.ip.as_deref(),
                fields.app.as_deref(),
            ]),
        }
    }
}

impl std::fmt::Debug for Hit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        HitFields::from(self.clone()).fmt(f)
    }
}

impl Expiring for Hit {
    fn last_seen(&self) -> Timestamp {
        self.time
    }
}

impl Hit {
    fn of(signin: &SignIn) -> Hit {
        let mut hit = Hit {
            time: signin.time,
            result_code: 0,
            single_factor: false,
            legacy: false,
            strings: Packed::new([None, None, None]),
        };
        hit.assign(signin);
        hit
    }

    /// Becomes `Hit::of(signin)`, in the same allocation when its strings fit.
    fn assign(&mut self, signin: &SignIn) {
        self.time = signin.time;
        self.result_code = signin.result_code;
        // Only a completed sign-in shows the account opens with one factor: an interrupted one
        // (MFA required) was stopped.
        self.single_factor = signin.factor == FactorRequirement::Single && signin.succeeded();
        self.legacy = signin.legacy;
        self.strings.assign([
            Some(signin.id()),
            signin.ip(),
            signin.app_name().or(signin.app_id()),
        ]);
    }

    fn id(&self) -> &str {
        self.strings.get(0).unwrap_or_default()
    }

    fn ip(&self) -> Option<&str> {
        self.strings.get(1)
    }

    fn app(&self) -> Option<&str> {
        self.strings.get(2)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OpenHit {
    uid: String,
    first_seen: Timestamp,
    last_seen: Timestamp,
    severity: Severity,
    hits: Vec<Hit>,
    reasons: Vec<String>,
    grew: bool,
}

/// The `spray-then-success` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct SprayThenSuccess {
    #[serde(skip)]
    config: Config,
    #[serde(skip)]
    allowlist: Arc<Allowlist>,
    targets: BoundedMap<Target>,
    recent: BoundedMap<Hit>,
    open: BTreeMap<String, OpenHit>,
    last_expiry: Timestamp,
}

impl SprayThenSuccess {
    /// A detector with these settings.
    pub fn new(config: Config, allowlist: Arc<Allowlist>, hasher: &RandomState) -> Self {
        SprayThenSuccess {
            allowlist,
            targets: BoundedMap::new(config.max_users, hasher),
            recent: BoundedMap::new(config.max_users, hasher),
            config,
            open: BTreeMap::new(),
            last_expiry: Timestamp::MIN,
        }
    }

    fn on_signin(&mut self, signin: &SignIn, context: &mut Context) {
        if !signin.category.is_user()
            || !signin.password_correct()
            || self.allowlist.service_account(signin.user())
        {
            return;
        }
        let horizon = self.config.horizon.0;
        let time = signin.time;
        let matched = self.targets.get(signin.user()).is_some_and(|target| {
            time >= target.first_sprayed && time <= target.last_sprayed + horizon
        });
        if matched {
            self.fire(signin.user(), Hit::of(signin), context);
        } else {
            let live_since = context.watermark.saturating_sub(self.config.lookback.0);
            self.recent
                .get_or_insert_with(signin.user(), live_since, || Hit::of(signin))
                .assign(signin);
        }
    }

    fn on_target(
        &mut self,
        user: &str,
        ip: Option<&str>,
        time: Timestamp,
        finding_uid: &str,
        context: &mut Context,
    ) {
        let live_since = context.watermark.saturating_sub(self.config.horizon.0);
        let target = self
            .targets
            .get_or_insert_with(user, live_since, || Target {
                first_sprayed: time,
                last_sprayed: time,
                ips: Vec::new(),
                spray_findings: Vec::new(),
            });
        target.first_sprayed = target.first_sprayed.min(time);
        target.last_sprayed = target.last_sprayed.max(time);
        if let Some(ip) = ip {
            push_capped(&mut target.ips, ip.to_owned(), MAX_LISTED);
        }
        push_capped(
            &mut target.spray_findings,
            finding_uid.to_owned(),
            MAX_LISTED,
        );
        let first_sprayed = target.first_sprayed;
        let earlier = self
            .recent
            .get(user)
            .filter(|hit| hit.time >= first_sprayed);
        if let Some(hit) = earlier.cloned() {
            self.recent.remove(user);
            self.fire(user, hit, context);
        }
    }

    fn fire(&mut self, user: &str, hit: Hit, context: &mut Context) {
        let Some(target) = self.targets.get(user) else {
            return;
        };
        let mut reasons: Vec<String> = Vec::new();
        if hit.single_factor {
            reasons.push("single-factor".into());
        }
        if hit.legacy {
            reasons.push("legacy-protocol".into());
        }
        if hit
            .ip()
            .is_some_and(|ip| target.ips.iter().any(|spray| spray == ip))
        {
            reasons.push("from-spray-ip".into());
        }
        let severity = if reasons.is_empty() {
            Severity::High
        } else {
            Severity::Critical
        };
        let horizon = self.config.horizon.0;
        if let Some(open) = self.open.get_mut(user) {
            if hit.time <= open.last_seen.saturating_add(horizon) {
                open.last_seen = open.last_seen.max(hit.time);
                let raised = severity > open.severity;
                open.severity = open.severity.max(severity);
                for reason in reasons {
                    push_capped(&mut open.reasons, reason, 8);
                }
                open.grew |= push_capped(&mut open.hits, hit, MAX_LISTED);
                if raised {
                    let finding = finding(user, open, target, Activity::Update);
                    open.grew = false;
                    context.emit(finding);
                }
                return;
            }
            // The earlier finding's horizon lapsed: close it before opening a new one.
            if let Some(closed) = self.open.remove(user) {
                if closed.grew {
                    context.emit(finding(user, &closed, target, Activity::Update));
                }
            }
        }
        let open = OpenHit {
            uid: stable_uid(&[ID, user, &hit.time.to_string()]),
            first_seen: hit.time,
            last_seen: hit.time,
            severity,
            hits: vec![hit],
            reasons,
            grew: false,
        };
        context.emit(finding(user, &open, target, Activity::Create));
        self.open.insert(user.to_owned(), open);
    }

    fn close(&mut self, user: &str, context: &mut Context) {
        if let Some(open) = self.open.remove(user) {
            if open.grew {
                if let Some(target) = self.targets.get(user) {
                    context.emit(finding(user, &open, target, Activity::Update));
                }
            }
        }
    }
}

fn finding(user: &str, open: &OpenHit, target: &Target, activity: Activity) -> Finding {
    let mut observables = vec![Observable {
        name: "user.name".into(),
        kind: ObservableKind::UserName,
        value: user.to_owned(),
    }];
    let mut ips: Vec<&str> = open.hits.iter().filter_map(Hit::ip).collect();
    ips.dedup();
    observables.extend(ips.iter().map(|ip| Observable {
        name: "src_endpoint.ip".into(),
        kind: ObservableKind::IpAddress,
        value: (*ip).to_owned(),
    }));
    let hits: Vec<_> = open
        .hits
        .iter()
        .map(|hit| {
            json!({
                "time": hit.time, "event_uid": hit.id(), "ip": hit.ip(),
                "result_code": hit.result_code, "single_factor": hit.single_factor,
                "legacy": hit.legacy, "app": hit.app(),
            })
        })
        .collect();
    let mut unmapped = Map::new();
    unmapped.insert("user".into(), json!(user));
    unmapped.insert("hits".into(), json!(hits));
    unmapped.insert("reasons".into(), json!(open.reasons));
    unmapped.insert("spray_ips".into(), json!(target.ips));
    unmapped.insert("spray_findings".into(), json!(target.spray_findings));
    unmapped.insert("first_sprayed".into(), json!(target.first_sprayed));
    let first = open.hits.first();
    let how = if open.reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", open.reasons.join(", "))
    };
    Finding {
        uid: open.uid.clone(),
        detector: ID,
        title: format!("Sprayed account {user} signed in with the correct password"),
        severity: open.severity,
        activity,
        time: open.last_seen,
        first_seen: open.first_seen,
        message: format!(
            "{user}, sprayed from {} IP(s) since {}, proved its password at {} from {}{how}",
            target.ips.len(),
            time::format(target.first_sprayed),
            time::format(open.first_seen),
            first.and_then(Hit::ip).unwrap_or("an unknown IP"),
        ),
        techniques: vec![PASSWORD_SPRAYING, CLOUD_ACCOUNTS],
        observables,
        evidence: open.hits.iter().map(|hit| hit.id().to_owned()).collect(),
        unmapped,
    }
}

impl Detector for SprayThenSuccess {
    super::persist!(keep: [config, allowlist], after: |this, hasher| {
        this.targets.reseed(hasher);
        this.recent.reseed(hasher);
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
        match signal {
            Signal::SprayTarget {
                user,
                ip,
                time,
                finding_uid,
            } => {
                self.on_target(user, ip.as_deref(), *time, finding_uid, context);
            }
        }
    }

    fn on_watermark(&mut self, context: &mut Context) {
        let horizon = self.config.horizon.0;
        let watermark = context.watermark;
        let closed: Vec<String> = self
            .open
            .iter()
            .filter(|(_, open)| open.last_seen.saturating_add(horizon) < watermark)
            .map(|(user, _)| user.clone())
            .collect();
        for user in closed {
            self.close(&user, context);
        }
        if watermark.saturating_sub(self.last_expiry) > self.config.lookback.0 {
            self.recent
                .expire(watermark.saturating_sub(self.config.lookback.0));
            self.targets.expire(watermark.saturating_sub(horizon));
            self.last_expiry = watermark;
        }
    }

    fn flush(&mut self, context: &mut Context) {
        let users: Vec<String> = self.open.keys().cloned().collect();
        for user in users {
            self.close(&user, context);
        }
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.targets.len() + self.recent.len(),
            evicted: self.targets.evicted() + self.recent.evicted(),
            open_findings: self.open.len(),
        }
    }
}
