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
//! users failed, password-proving sign-ins are kept for `lookback` (in a log, not by user), and
//! a user's last one is still caught when it came before the spray was recognised. One finding
//! per user per horizon; later hits update it.
//!
//! **Severity.** High; critical when the sign-in was single-factor, used a legacy protocol
//! (ROPC, `BAV2ROPC`, basic-auth clients) or came from an IP that took part in the spray.
//!
//! **False positives.** The real user signing in after being sprayed also proves the password;
//! a multi-factor sign-in from a non-spray IP stays high, not critical, and the evidence shows it.
//!
//! **ATT&CK.** T1110.003, T1078.004.

use std::collections::{BTreeMap, VecDeque};
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
    /// Targeted users tracked at once, and password-proving sign-ins remembered at once
    /// (default 200000 each).
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

/// A password-proving sign-in in a finding.
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

/// The fields of a [`Hit`]: its snapshot form (owned), and what the [`HitLog`] is given
/// (borrowed from the sign-in).
#[derive(Debug, Serialize, Deserialize)]
struct HitFields<S = String> {
    time: Timestamp,
    id: S,
    ip: Option<S>,
    result_code: u32,
    single_factor: bool,
    legacy: bool,
    app: Option<S>,
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

impl<S: AsRef<str>> From<HitFields<S>> for Hit {
    fn from(fields: HitFields<S>) -> Self {
        Hit {
            time: fields.time,
            result_code: fields.result_code,
            single_factor: fields.single_factor,
            legacy: fields.legacy,
            strings: Packed::new([
                Some(fields.id.as_ref()),
                fields.ip.as_ref().map(AsRef::as_ref),
                fields.app.as_ref().map(AsRef::as_ref),
            ]),
        }
    }
}

impl std::fmt::Debug for Hit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        HitFields::from(self.clone()).fmt(f)
    }
}

impl<'a> HitFields<&'a str> {
    fn of(signin: &'a SignIn) -> Self {
        HitFields {
            time: signin.time,
            id: signin.id(),
            ip: signin.ip(),
            result_code: signin.result_code,
            // Only a completed sign-in shows the account opens with one factor: an interrupted
            // one (MFA required) was stopped.
            single_factor: signin.factor == FactorRequirement::Single && signin.succeeded(),
            legacy: signin.legacy,
            app: signin.app_name().or(signin.app_id()),
        }
    }
}

impl Hit {
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

/// The password-proving sign-ins of the last `lookback`, oldest first, for a user named as a
/// target after signing in. Every such sign-in of the tenant is written here, so it is written
/// where memory was just written: appended to queues, its strings to one queue of bytes, never
/// into a table keyed by user (a random, uncached place for almost every sign-in) nor into an
/// allocation of its own. Searched, newest first, only when a spray names a target.
#[derive(Debug)]
struct HitLog {
    entries: VecDeque<Logged>,
    /// Each hit's user, hashed, in the order of `entries`: the search reads these eight bytes a
    /// hit, and a hit's user only where they match.
    users: VecDeque<u64>,
    /// The hits' strings, one after the other (user, id, ip, app), oldest first.
    text: VecDeque<u8>,
    /// Bytes dropped from the front of `text` so far: an entry's strings start at its `start`
    /// minus this.
    dropped_bytes: u64,
    dropped: u64,
    hasher: RandomState,
}

/// A hit in the log: its fields, and where its strings are.
#[derive(Debug)]
struct Logged {
    time: Timestamp,
    result_code: u32,
    single_factor: bool,
    legacy: bool,
    /// Reported already: this user's hits up to here are done with.
    fired: bool,
    /// Where its strings start in the log's text, counted from the log's first byte ever.
    start: u64,
    /// The lengths of user, id, ip and app; an absent ip or app is `None`.
    lengths: [Option<u16>; 4],
}

impl HitLog {
    fn new(hasher: &RandomState) -> Self {
        HitLog {
            entries: VecDeque::new(),
            users: VecDeque::new(),
            text: VecDeque::new(),
            dropped_bytes: 0,
            dropped: 0,
            hasher: hasher.clone(),
        }
    }

    /// Adds the newest hit, dropping the oldest when `cap` are held. Strings longer than 64 KiB
    /// (more than any log field holds) are cut to their first 64 KiB, on a character boundary.
    fn push<S: AsRef<str>>(&mut self, user: &str, hit: &HitFields<S>, cap: usize) {
        if self.entries.len() >= cap.max(1) {
            self.pop_front();
            self.dropped += 1;
        }
        let start = self.dropped_bytes + self.text.len() as u64;
        let mut lengths = [None; 4];
        let strings = [
            Some(user),
            Some(hit.id.as_ref()),
            hit.ip.as_ref().map(AsRef::as_ref),
            hit.app.as_ref().map(AsRef::as_ref),
        ];
        for (string, length) in strings.iter().zip(&mut lengths) {
            if let Some(string) = string {
                let kept = prefix(string, usize::from(u16::MAX));
                self.text.extend(kept.as_bytes());
                *length = u16::try_from(kept.len()).ok();
            }
        }
        self.users.push_back(self.hasher.hash_one(user));
        self.entries.push_back(Logged {
            time: hit.time,
            result_code: hit.result_code,
            single_factor: hit.single_factor,
            legacy: hit.legacy,
            fired: false,
            start,
            lengths,
        });
    }

    fn pop_front(&mut self) {
        self.users.pop_front();
        if self.entries.pop_front().is_some() {
            // The next entry's strings start where this one's ended.
            let end = self.entries.front().map_or(self.text.len() as u64, |next| {
                next.start.saturating_sub(self.dropped_bytes)
            });
            let end = usize::try_from(end)
                .unwrap_or(usize::MAX)
                .min(self.text.len());
            self.text.drain(..end);
            self.dropped_bytes += end as u64;
        }
    }

    /// Drops the hits before `since`, and gives memory back once the log is under half its
    /// room (it is sized for the busiest hours of the day).
    fn expire(&mut self, since: Timestamp) {
        while self
            .entries
            .front()
            .is_some_and(|oldest| oldest.time < since)
        {
            self.pop_front();
        }
        if self.entries.capacity() > 2 * self.entries.len() + 1024 {
            let room = self.entries.len() + self.entries.len() / 4;
            self.entries.shrink_to(room);
            self.users.shrink_to(room);
            self.text.shrink_to(self.text.len() + self.text.len() / 4);
        }
    }

    /// The strings of the entry at `index`: user, id, ip, app.
    fn strings(&self, index: usize) -> Option<[Option<String>; 4]> {
        let entry = self.entries.get(index)?;
        let mut at = usize::try_from(entry.start.checked_sub(self.dropped_bytes)?).ok()?;
        let mut strings: [Option<String>; 4] = Default::default();
        for (length, string) in entry.lengths.iter().zip(&mut strings) {
            if let Some(length) = length {
                let end = at + usize::from(*length);
                let bytes: Vec<u8> = self
                    .text
                    .range(at..end.min(self.text.len()))
                    .copied()
                    .collect();
                *string = String::from_utf8(bytes).ok();
                at = end;
            }
        }
        Some(strings)
    }

    /// The newest hit of `user`, if it is at or after `since` and not reported yet (it is then
    /// marked reported): only a user's newest hit counts, as if each user had one.
    fn take_last(&mut self, user: &str, since: Timestamp) -> Option<Hit> {
        let hash = self.hasher.hash_one(user);
        let (index, (_, hit)) = self
            .users
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, hashed)| **hashed == hash)
            .filter_map(|(index, _)| Some((index, self.hit(index)?)))
            .find(|(_, (logged, _))| logged == user)?;
        let entry = self.entries.get_mut(index)?;
        if entry.fired || entry.time < since {
            return None;
        }
        entry.fired = true;
        Some(Hit::from(hit))
    }

    /// The hit at `index`, and its user.
    fn hit(&self, index: usize) -> Option<(String, HitFields)> {
        let entry = self.entries.get(index)?;
        let [user, id, ip, app] = self.strings(index)?;
        let hit = HitFields {
            time: entry.time,
            id: id.unwrap_or_default(),
            ip,
            result_code: entry.result_code,
            single_factor: entry.single_factor,
            legacy: entry.legacy,
            app,
        };
        Some((user.unwrap_or_default(), hit))
    }

    /// Hits held.
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// Seeds the search with `hasher` (after a restore).
    fn reseed(&mut self, hasher: &RandomState) {
        self.hasher = hasher.clone();
        self.users = (0..self.entries.len())
            .map(|index| {
                let user = self.strings(index).and_then(|[user, ..]| user);
                hasher.hash_one(user.unwrap_or_default())
            })
            .collect();
    }
}

/// The longest start of `text` of at most `max` bytes that ends on a character boundary.
fn prefix(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// The snapshot form of a [`HitLog`]: its hits, oldest first.
#[derive(Serialize, Deserialize)]
struct SavedLog {
    hits: Vec<SavedHit>,
    dropped: u64,
}

#[derive(Serialize, Deserialize)]
struct SavedHit {
    user: String,
    hit: HitFields,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    fired: bool,
}

impl Serialize for HitLog {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let hits = (0..self.entries.len())
            .filter_map(|index| {
                let (user, hit) = self.hit(index)?;
                let fired = self.entries.get(index)?.fired;
                Some(SavedHit { user, hit, fired })
            })
            .collect();
        SavedLog {
            hits,
            dropped: self.dropped,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for HitLog {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let saved = SavedLog::deserialize(deserializer)?;
        // A placeholder seed: the detector reseeds with the host's after a restore.
        let mut log = HitLog::new(&crate::state::unseeded());
        for hit in &saved.hits {
            log.push(&hit.user, &hit.hit, usize::MAX);
            if let Some(entry) = log.entries.back_mut() {
                entry.fired = hit.fired;
            }
        }
        log.dropped = saved.dropped;
        Ok(log)
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
    recent: HitLog,
    open: BTreeMap<String, OpenHit>,
    last_expiry: Timestamp,
}

impl SprayThenSuccess {
    /// A detector with these settings.
    pub fn new(config: Config, allowlist: Arc<Allowlist>, hasher: &RandomState) -> Self {
        SprayThenSuccess {
            allowlist,
            targets: BoundedMap::new(config.max_users, hasher),
            recent: HitLog::new(hasher),
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
        let hit = HitFields::of(signin);
        if matched {
            self.fire(signin.user(), Hit::from(hit), context);
        } else {
            self.recent.push(signin.user(), &hit, self.config.max_users);
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
        if let Some(hit) = self.recent.take_last(user, first_sprayed) {
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
        self.recent
            .expire(watermark.saturating_sub(self.config.lookback.0));
        if watermark.saturating_sub(self.last_expiry) > self.config.lookback.0 {
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
            evicted: self.targets.evicted() + self.recent.dropped,
            open_findings: self.open.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit<'a>(time: Timestamp, id: &'a str, ip: Option<&'a str>) -> HitFields<&'a str> {
        HitFields {
            time,
            id,
            ip,
            result_code: 0,
            single_factor: false,
            legacy: true,
            app: Some("Exchange"),
        }
    }

    fn log() -> HitLog {
        let mut log = HitLog::new(&crate::state::hasher(1));
        log.push("a@x", &hit(10, "a1", Some("1.1.1.1")), 100);
        log.push("b@x", &hit(20, "b1", None), 100);
        log.push("a@x", &hit(30, "a2", Some("2.2.2.2")), 100);
        log
    }

    #[test]
    fn only_the_newest_hit_of_a_user_counts_and_once() {
        let mut log = log();
        // a's newest hit is before the spray: nothing, and the older one is not looked at.
        assert!(log.take_last("a@x", 31).is_none());
        let newest = log.take_last("a@x", 25).unwrap();
        assert_eq!(
            (newest.time, newest.id(), newest.ip()),
            (30, "a2", Some("2.2.2.2"))
        );
        assert_eq!((newest.app(), newest.legacy), (Some("Exchange"), true));
        // Reported: neither it nor the hit before it is given again.
        assert!(log.take_last("a@x", 0).is_none());
        let b = log.take_last("b@x", 0).unwrap();
        assert_eq!((b.id(), b.ip()), ("b1", None));
        assert!(log.take_last("c@x", 0).is_none());
    }

    #[test]
    fn expiry_and_the_cap_drop_the_oldest() {
        let mut log = log();
        log.expire(15);
        assert_eq!(log.len(), 2);
        assert_eq!(log.take_last("b@x", 0).unwrap().id(), "b1");
        log.push("c@x", &hit(40, "c1", None), 2);
        assert_eq!((log.len(), log.dropped), (2, 1));
        assert!(log.take_last("b@x", 0).is_none());
        assert_eq!(log.take_last("a@x", 0).unwrap().id(), "a2");
        assert_eq!(log.take_last("c@x", 0).unwrap().id(), "c1");
        log.expire(100);
        assert_eq!((log.len(), log.text.len()), (0, 0));
    }

    #[test]
    fn a_saved_log_reads_back_the_same() {
        let mut log = log();
        log.push("é@x", &hit(50, &"é".repeat(40_000), None), 100);
        assert!(log.take_last("b@x", 0).is_some());
        let saved = serde_json::to_value(&log).unwrap();
        let mut read: HitLog = serde_json::from_value(saved.clone()).unwrap();
        read.reseed(&crate::state::hasher(2));
        assert_eq!(serde_json::to_value(&read).unwrap(), saved);
        assert!(
            read.take_last("b@x", 0).is_none(),
            "reported stays reported"
        );
        assert_eq!(read.take_last("a@x", 0).unwrap().id(), "a2");
        // A string over 64 KiB is cut on a character boundary.
        let long = read.take_last("é@x", 0).unwrap();
        assert_eq!(long.id().len(), 65_534);
    }
}
