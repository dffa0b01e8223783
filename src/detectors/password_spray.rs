//! `password-spray`: one source IP fails to sign in as many different users.
//!
//! **What.** Within a sliding window (default 20 min) one IP fails with the spray codes (50126,
//! 50053, 50055, 50056, 50034, 50057, and the unified audit log's `UserLoginFailed` equivalents)
//! for at least `min_users` distinct users (default 5) *in the shape of a spray*, each of them
//! tried at most `max_attempts_per_user` times (default 2) and not signed in from it since (a
//! user's own fix makes a failure a typo), and the IP's failing users outnumber the users who
//! signed in from it successfully in the same window.
//!
//! **Why.** The first stage of the Midnight Blizzard intrusion: one password tried against many
//! accounts, staying under per-account lockout.
//!
//! **Logic.** State is kept per IP, created on its first spray failure: the attempts of the window,
//! the event ids of its failures, and reference counts of failing and succeeding users. When the
//! thresholds are crossed a finding is created, with the window's failures as its evidence (and
//! each targeted user is signalled to `spray-then-success`); while the IP keeps failing the finding
//! grows; when event time passes its last attempt by a window, it closes and an update with the
//! final figures is emitted if it grew.
//!
//! **Egress.** An IP that many users sign in from is a known egress (an office NAT, a VPN, a
//! venue's Wi-Fi, a carrier's NAT): one that at least `egress_min_users` (default 3) distinct
//! users signed in from with a completed multi-factor sign-in within `egress_horizon` (default
//! 7 d; a spray's own hit, a password alone, does not count), or that at least
//! `egress_window_users` (default 10) distinct users signed in from successfully within the
//! window.
//! A spray found there is still reported, at low (its failures may be its users' own: a lockout
//! wave on a password-expiry morning, which no count of attempts tells from an insider's spray),
//! and its IP is not the spray's own: it is not signalled as a spray address, so no one's
//! password proven from it counts as the spray's hit.
//!
//! **False positives.** Shared egress (NAT, proxies) where several users mistype: a failure its
//! user fixes from the same address no longer counts, so a university's or a venue's first-time
//! visitors mistyping one after another, each signing in a minute later, are no spray, even
//! while a fix is pending for two of them; the success-outnumbers-failure rule keeps a busy
//! office quiet. A lockout wave or a stale-password
//! storm behind a NAT (each user retrying three times or more within seconds, after a password
//! policy change) has not the shape of a spray: its users count only while they have tried at
//! most twice. Misconfigured service accounts fail as one user, so they never reach the
//! distinct-user threshold.
//!
//! **ATT&CK.** T1110.003.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use ahash::RandomState;
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map};
use smol_str::SmolStr;

use super::kit::{self, Meta, Parts, Registrable, Stage};
use super::{push_capped, Context, Detector, Signal, StateStats};
use crate::allowlist::Allowlist;
use crate::attack::PASSWORD_SPRAYING;
use crate::config::{Count, Duration};
use crate::event::{Event, FactorRequirement, SignIn};
use crate::finding::{Activity, Finding, Observable, ObservableKind, Severity};
use crate::state::{full_id, same, short_id, BoundedMap, Expiring, SHORT_ID_LEN};
use crate::time::{self, Timestamp, DAY, MINUTE};
use crate::Error;

/// The detector id.
pub const ID: &str = "password-spray";

kit::config! {
    "password-spray";
    /// Distinct users one IP must fail for (default 5).
    min_users: Count = Count::new(5),
    /// The sliding window (default `20m`).
    window: Duration = Duration(20 * MINUTE),
    /// Source IPs tracked at once (default 200000); beyond it the quietest are evicted.
    max_ips: Count = Count::new(200_000),
    /// Attempts kept per IP within the window (default 10000); older ones are dropped first.
    max_attempts_per_ip: Count = Count::new(10_000),
    /// A user failing from the IP more often than this within the window is retrying (a lockout,
    /// a stale password), not being sprayed, and does not count toward `min_users` (default 2).
    max_attempts_per_user: Count = Count::new(2),
    /// Distinct users with a completed multi-factor sign-in from the IP within `egress_horizon`
    /// that make it a known egress rather than the spray's own IP (default 3, at most 8).
    egress_min_users: Count = Count::new(3),
    /// How long such sign-ins count (default `7d`).
    egress_horizon: Duration = Duration(7 * DAY),
    /// Distinct users signing in successfully from the IP within the window that make it a known
    /// egress too (default 10).
    egress_window_users: Count = Count::new(10),
    /// IPs remembered as known egress (default 1000000).
    max_egress_ips: Count = Count::new(1_000_000),
    ; check |config, path| {
        if config.egress_min_users.get() > EGRESS_USERS {
            return Err(Error::InvalidConfig(format!(
                "{path}.egress_min_users: at most {EGRESS_USERS}, got {}",
                config.egress_min_users.get()
            )));
        }
    }
}

/// Most distinct users an egress entry tells apart ([`Egress`]).
const EGRESS_USERS: usize = 8;

/// An IP users sign in from: a few of the users it saw complete a multi-factor sign-in (hashed,
/// the first `count` of `users`: no allocation per IP), and when.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Egress {
    users: [u32; EGRESS_USERS],
    count: u8,
    last_seen: Timestamp,
}

impl Egress {
    fn seen(&self) -> &[u32] {
        self.users
            .get(..usize::from(self.count))
            .unwrap_or_default()
    }
}

impl Expiring for Egress {
    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }
}

/// Most users, user agents, apps and evidence ids a finding lists.
const MAX_LISTED: usize = 1000;
const MAX_EVIDENCE: usize = 200;
const MAX_OBSERVED_USERS: usize = 100;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Attempt {
    time: Timestamp,
    /// Inline when short: most attempts allocate nothing.
    user: SmolStr,
    failed: bool,
}

/// One user's attempts among an IP's attempts of the window.
#[derive(Debug, Clone)]
struct Tally {
    user: SmolStr,
    failed: u32,
    succeeded: u32,
}

/// An IP's attempts within the window, and the distinct users among them.
///
/// The users' tallies are derived from the attempts: a hash table (an IP behind a busy NAT sees
/// thousands of users, and every attempt is counted in and, a window later, out), hashed with the
/// engine's seeded hasher, which the detector passes in. Snapshots keep the attempts and, as
/// before, the users' counts as sorted maps; a restore rebuilds the tallies from the attempts.
#[derive(Debug, Clone, Default, Deserialize)]
struct IpWindow {
    attempts: VecDeque<Attempt>,
    #[serde(skip)]
    users: HashTable<Tally>,
    /// Users with a failed attempt in the window.
    #[serde(skip)]
    failing: usize,
    /// Users with a successful attempt in the window.
    #[serde(skip)]
    succeeding: usize,
    /// Users with at least one and at most `max_attempts_per_user` failed attempts in the window,
    /// and no successful one: the users a spray would have (a user who signs in from the address
    /// is one of its users, who mistyped).
    #[serde(skip)]
    shaped: usize,
    /// The event ids of the failed attempts in the window, in their kept form ([`short_id`]: a
    /// GUID in 20 bytes, inline): the evidence a spray finding starts with. Only failures pay for
    /// it, not the successes a busy NAT sees. (Snapshots of earlier versions have none.)
    #[serde(default)]
    failed_ids: VecDeque<(Timestamp, SmolStr)>,
    last_seen: Timestamp,
}

impl Serialize for IpWindow {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Form<'a> {
            attempts: &'a VecDeque<Attempt>,
            failed_ids: &'a VecDeque<(Timestamp, SmolStr)>,
            failing: BTreeMap<&'a str, u32>,
            succeeding: BTreeMap<&'a str, u32>,
            last_seen: Timestamp,
        }
        let counts = |count: fn(&Tally) -> u32| {
            self.users
                .iter()
                .filter(|tally| count(tally) > 0)
                .map(|tally| (&*tally.user, count(tally)))
                .collect()
        };
        Form {
            attempts: &self.attempts,
            failed_ids: &self.failed_ids,
            failing: counts(|tally| tally.failed),
            succeeding: counts(|tally| tally.succeeded),
            last_seen: self.last_seen,
        }
        .serialize(serializer)
    }
}

impl Expiring for IpWindow {
    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }
}

impl IpWindow {
    fn forget_before(&mut self, since: Timestamp, tries: u32, hasher: &RandomState) {
        while self
            .attempts
            .front()
            .is_some_and(|attempt| attempt.time < since)
        {
            if let Some(attempt) = self.attempts.pop_front() {
                self.forget(&attempt, tries, hasher);
            }
        }
        while self
            .failed_ids
            .front()
            .is_some_and(|(time, _)| *time < since)
        {
            self.failed_ids.pop_front();
        }
    }

    /// Keeps the event id of a failed attempt (at most `cap`, the oldest dropped first).
    fn keep_failed_id(&mut self, time: Timestamp, id: &str, cap: usize) {
        while self.failed_ids.len() >= cap {
            self.failed_ids.pop_front();
        }
        let mut buffer = [0; SHORT_ID_LEN];
        self.failed_ids
            .push_back((time, SmolStr::new(short_id(id, &mut buffer))));
    }

    /// Counts a user's (failed, succeeded) attempts going from `before` to `after` in and out of
    /// `shaped`.
    fn reshape(&mut self, before: (u32, u32), after: (u32, u32), tries: u32) {
        let shaped =
            |(failed, succeeded): (u32, u32)| (1..=tries).contains(&failed) && succeeded == 0;
        match (shaped(before), shaped(after)) {
            (false, true) => self.shaped += 1,
            (true, false) => self.shaped = self.shaped.saturating_sub(1),
            _ => {}
        }
    }

    fn forget(&mut self, attempt: &Attempt, tries: u32, hasher: &RandomState) {
        let hash = hasher.hash_one(&*attempt.user);
        let Ok(mut entry) = self
            .users
            .find_entry(hash, |tally| same(&tally.user, &attempt.user))
        else {
            return;
        };
        let tally = entry.get_mut();
        let before = (tally.failed, tally.succeeded);
        let (count, users) = if attempt.failed {
            (&mut tally.failed, &mut self.failing)
        } else {
            (&mut tally.succeeded, &mut self.succeeding)
        };
        *count = count.saturating_sub(1);
        if *count == 0 {
            *users = users.saturating_sub(1);
        }
        let after = (tally.failed, tally.succeeded);
        if tally.failed == 0 && tally.succeeded == 0 {
            entry.remove();
        }
        self.reshape(before, after, tries);
    }

    /// Counts `attempt` in, dropping the oldest beyond `cap`; returns how many were dropped.
    fn record(&mut self, attempt: Attempt, cap: usize, tries: u32, hasher: &RandomState) -> u64 {
        let mut dropped = 0;
        while self.attempts.len() >= cap {
            if let Some(oldest) = self.attempts.pop_front() {
                self.forget(&oldest, tries, hasher);
                dropped += 1;
            }
        }
        self.count_in(&attempt, tries, hasher);
        self.last_seen = self.last_seen.max(attempt.time);
        self.attempts.push_back(attempt);
        dropped
    }

    fn count_in(&mut self, attempt: &Attempt, tries: u32, hasher: &RandomState) {
        let hash = hasher.hash_one(&*attempt.user);
        let tally = self
            .users
            .entry(
                hash,
                |tally| same(&tally.user, &attempt.user),
                |tally| hasher.hash_one(&*tally.user),
            )
            // A copy of the user only for a user new to the window (inline when short).
            .or_insert_with(|| Tally {
                user: attempt.user.clone(),
                failed: 0,
                succeeded: 0,
            })
            .into_mut();
        let before = (tally.failed, tally.succeeded);
        let (count, users) = if attempt.failed {
            (&mut tally.failed, &mut self.failing)
        } else {
            (&mut tally.succeeded, &mut self.succeeding)
        };
        if *count == 0 {
            *users += 1;
        }
        *count += 1;
        let after = (tally.failed, tally.succeeded);
        self.reshape(before, after, tries);
    }

    /// Rebuilds the users' tallies from the attempts (after a restore).
    fn recount(&mut self, tries: u32, hasher: &RandomState) {
        self.users.clear();
        (self.failing, self.succeeding, self.shaped) = (0, 0, 0);
        for attempt in std::mem::take(&mut self.attempts) {
            self.count_in(&attempt, tries, hasher);
            self.attempts.push_back(attempt);
        }
    }
}

/// A spray finding still growing.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OpenSpray {
    uid: String,
    first_seen: Timestamp,
    last_seen: Timestamp,
    users: Vec<String>,
    user_count: usize,
    attempts: u64,
    codes: BTreeMap<u32, u64>,
    user_agents: BTreeMap<String, u64>,
    apps: BTreeMap<String, u64>,
    evidence: Vec<String>,
    succeeded_users: usize,
    /// The IP is a known egress (see the module docs).
    egress: bool,
    grew: bool,
}

/// The `password-spray` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct PasswordSpray {
    #[serde(skip)]
    config: Config,
    #[serde(skip)]
    allowlist: Arc<Allowlist>,
    /// The engine's seeded hasher, for the users of each window.
    #[serde(skip, default = "crate::state::unseeded")]
    hasher: RandomState,
    windows: BoundedMap<IpWindow>,
    /// IPs users sign in from (see [`Egress`]).
    egress: BoundedMap<Egress>,
    open: BTreeMap<String, OpenSpray>,
    attempts_dropped: u64,
    /// Open sprays closed early because `max_ips` were open.
    #[serde(default)]
    open_evicted: u64,
    last_expiry: Timestamp,
}

impl Registrable for PasswordSpray {
    const META: Meta = Meta {
        id: ID,
        stage: Some(Stage::Spray),
        attack: &[PASSWORD_SPRAYING],
        severity: Severity::Medium,
    };
    type Config = Config;

    fn build(config: Config, parts: &Parts) -> Self {
        PasswordSpray {
            allowlist: Arc::clone(parts.allowlist),
            windows: BoundedMap::new(config.max_ips.get(), parts.hasher),
            egress: BoundedMap::new(config.max_egress_ips.get(), parts.hasher),
            hasher: parts.hasher.clone(),
            config,
            open: BTreeMap::new(),
            attempts_dropped: 0,
            open_evicted: 0,
            last_expiry: Timestamp::MIN,
        }
    }
}

impl PasswordSpray {
    fn on_signin(&mut self, signin: &SignIn, context: &mut Context) {
        let Some(ip) = signin.ip() else {
            return;
        };
        if !signin.category.is_user()
            || self.allowlist.trusted_ip(ip)
            || self.allowlist.service_account(signin.user())
        {
            return;
        }
        let failed = signin.is_spray_failure();
        // Any success counts here, token refreshes too: users signing in from an address are
        // what makes it a known egress.
        if !failed && !signin.succeeded() && !signin.password_correct() {
            return;
        }
        if signin.succeeded() && signin.factor == FactorRequirement::Multi {
            let live_since = context
                .watermark
                .saturating_sub(self.config.egress_horizon.0);
            // A fixed hash (not the tables' seeded one): it is saved in snapshots.
            let user = stable_hash(signin.user());
            let need = self.config.egress_min_users.get();
            let egress = self
                .egress
                .get_or_insert_with(ip, live_since, Egress::default);
            if egress.last_seen < live_since {
                egress.count = 0;
            }
            egress.last_seen = egress.last_seen.max(signin.time);
            if egress.seen().len() < need && !egress.seen().contains(&user) {
                if let Some(slot) = egress.users.get_mut(usize::from(egress.count)) {
                    *slot = user;
                    egress.count += 1;
                }
            }
        }
        let window = self.config.window.0;
        let live_since = context.watermark.saturating_sub(window);
        let entry = if failed {
            self.windows
                .get_or_insert_with(ip, live_since, IpWindow::default)
        } else {
            // Successes only matter for IPs that already failed: no state for clean IPs.
            match self.windows.get_mut(ip) {
                Some(entry) => entry,
                None => return,
            }
        };
        let tries = u32::try_from(self.config.max_attempts_per_user.get()).unwrap_or(u32::MAX);
        entry.forget_before(signin.time.saturating_sub(window), tries, &self.hasher);
        let attempt = Attempt {
            time: signin.time,
            user: signin.user().into(),
            failed,
        };
        self.attempts_dropped += entry.record(
            attempt,
            self.config.max_attempts_per_ip.get(),
            tries,
            &self.hasher,
        );
        if failed {
            entry.keep_failed_id(signin.time, signin.id(), MAX_EVIDENCE);
        }
        let (failing, succeeding, shaped) = (entry.failing, entry.succeeding, entry.shaped);
        // Counted back from the later of the sign-in and the watermark, as the sweep is: no sweep
        // (at any cadence) drops an address this would still count.
        let known_since = signin
            .time
            .max(context.watermark)
            .saturating_sub(self.config.egress_horizon.0);
        let egress = succeeding >= self.config.egress_window_users.get()
            || self.egress.get(ip).is_some_and(|egress| {
                egress.last_seen >= known_since
                    && egress.seen().len() >= self.config.egress_min_users.get()
            });

        // A finding whose window lapsed closes here, whenever the watermark sweep runs, so the
        // output does not depend on how the host advances time.
        if self
            .open
            .get(ip)
            .is_some_and(|open| open.last_seen.saturating_add(window) < signin.time)
        {
            self.close(ip, context);
        }
        if let Some(open) = self.open.get_mut(ip) {
            open.last_seen = open.last_seen.max(signin.time);
            open.egress |= egress;
            if failed {
                open.attempts += 1;
                open.grew = true;
                add_details(open, signin);
                if push_capped(&mut open.users, signin.user().to_owned(), MAX_LISTED) {
                    open.user_count += 1;
                    context.signal(target(signin, ip, open));
                }
            }
            if !failed && !open.egress {
                // A user proving a password from a spraying IP was sprayed too, and hit.
                context.signal(target(signin, ip, open));
            }
            open.succeeded_users = succeeding;
            // Past the listing cap, the window's distinct count is the best lower bound.
            open.user_count = open.user_count.max(failing);
            return;
        }
        // A spray's shape: enough users tried once or twice and not signed in since, and more
        // failing than succeeding.
        if !failed || shaped < self.config.min_users.get() || failing <= succeeding {
            return;
        }
        let Some(entry) = self.windows.get(ip) else {
            return;
        };
        let first_seen = entry
            .attempts
            .iter()
            .find(|attempt| attempt.failed)
            .map_or(signin.time, |a| a.time);
        let mut open = OpenSpray {
            uid: context.uid(&[ID, ip, &first_seen.to_string()]),
            first_seen,
            last_seen: signin.time,
            users: Vec::new(),
            user_count: 0,
            attempts: 0,
            codes: BTreeMap::new(),
            user_agents: BTreeMap::new(),
            apps: BTreeMap::new(),
            evidence: Vec::new(),
            succeeded_users: succeeding,
            egress,
            grew: false,
        };
        if !egress {
            context.signal(Signal::SprayAddress {
                ip: ip.to_owned(),
                time: signin.time,
                finding_uid: open.uid.clone(),
            });
        }
        // The window's failures are the finding's first evidence (the crossing attempt among them).
        for (_, id) in &entry.failed_ids {
            push_capped(&mut open.evidence, full_id(id).into_owned(), MAX_EVIDENCE);
        }
        for attempt in &entry.attempts {
            if attempt.failed {
                open.attempts += 1;
                if push_capped(&mut open.users, attempt.user.to_string(), MAX_LISTED) {
                    open.user_count += 1;
                }
            }
            // Every user attempted from the spraying IP in the window was a target, including
            // any whose password was right.
            context.signal(Signal::SprayTarget {
                user: attempt.user.to_string(),
                ip: (!egress).then(|| ip.to_owned()),
                time: attempt.time,
                finding_uid: open.uid.clone(),
            });
        }
        // Details of earlier attempts are not kept per attempt (memory); the finding's code, agent
        // and app counts start with the attempt that crossed the threshold (its evidence does not).
        add_details(&mut open, signin);
        context.emit(self.finding(ip, &open, Activity::Create));
        // As many sprays open as IPs tracked: beyond it those idle longest close early.
        for idle in kit::idle_longest(&self.open, self.config.max_ips.get(), |o| o.last_seen) {
            self.close(&idle, context);
            self.open_evicted += 1;
        }
        self.open.insert(ip.to_owned(), open);
    }

    /// Closes the spray of `ip`: what it gathered since it was last emitted goes out.
    fn close(&mut self, ip: &str, context: &mut Context) {
        if let Some(open) = self.open.remove(ip) {
            if open.grew {
                context.emit(self.finding(ip, &open, Activity::Update));
            }
        }
    }

    fn finding(&self, ip: &str, open: &OpenSpray, activity: Activity) -> Finding {
        let window = self.config.window.0;
        let mut observables = vec![Observable {
            name: "src_endpoint.ip".into(),
            kind: ObservableKind::IpAddress,
            value: ip.to_owned(),
        }];
        observables.extend(
            open.users
                .iter()
                .take(MAX_OBSERVED_USERS)
                .map(|user| Observable {
                    name: "user.name".into(),
                    kind: ObservableKind::UserName,
                    value: user.clone(),
                }),
        );
        let mut unmapped = Map::new();
        unmapped.insert("ip".into(), json!(ip));
        unmapped.insert("user_count".into(), json!(open.user_count));
        unmapped.insert("users".into(), json!(open.users));
        unmapped.insert("attempts".into(), json!(open.attempts));
        unmapped.insert("succeeded_users".into(), json!(open.succeeded_users));
        unmapped.insert("egress".into(), json!(open.egress));
        unmapped.insert(
            "codes".into(),
            json!(open
                .codes
                .iter()
                .map(|(code, n)| (code.to_string(), json!(n)))
                .collect::<Map<_, _>>()),
        );
        unmapped.insert("user_agents".into(), json!(open.user_agents));
        unmapped.insert("apps".into(), json!(open.apps));
        unmapped.insert("window_ms".into(), json!(window));
        Finding {
            uid: open.uid.clone(),
            detector: ID,
            title: if open.egress {
                format!("Password spray from {ip}, a known egress")
            } else {
                format!("Password spray from {ip}")
            },
            // At a known egress the failures may be its users' own (a lockout wave, a password
            // expiry morning): the spray is shown, not raised.
            severity: if open.egress {
                Severity::Low
            } else {
                Severity::Medium
            },
            activity,
            time: open.last_seen,
            first_seen: open.first_seen,
            message: format!(
                "{ip} failed to sign in as {} distinct users ({} attempts) between {} and {}",
                open.user_count,
                open.attempts,
                time::format(open.first_seen),
                time::format(open.last_seen),
            ),
            techniques: vec![PASSWORD_SPRAYING],
            observables,
            evidence: open.evidence.clone(),
            unmapped,
            tenant: None,
        }
    }
}

/// FNV-1a, folded to 32 bits.
fn stable_hash(text: &str) -> u32 {
    let hash = crate::state::fnv1a([text.as_bytes()], crate::state::FNV_OFFSET);
    (hash ^ hash >> 32) as u32
}

fn target(signin: &SignIn, ip: &str, open: &OpenSpray) -> Signal {
    Signal::SprayTarget {
        user: signin.user().to_owned(),
        ip: (!open.egress).then(|| ip.to_owned()),
        time: signin.time,
        finding_uid: open.uid.clone(),
    }
}

fn add_details(open: &mut OpenSpray, signin: &SignIn) {
    *open.codes.entry(signin.result_code).or_insert(0) += 1;
    count_capped(&mut open.user_agents, signin.user_agent());
    count_capped(&mut open.apps, signin.app_name().or(signin.app_id()));
    push_capped(&mut open.evidence, signin.id().to_owned(), MAX_EVIDENCE);
}

fn count_capped(counts: &mut BTreeMap<String, u64>, key: Option<&str>) {
    let Some(key) = key else { return };
    if let Some(count) = counts.get_mut(key) {
        *count += 1;
    } else if counts.len() < 50 {
        counts.insert(key.to_owned(), 1);
    }
}

impl Detector for PasswordSpray {
    super::kit::persist!(keep: [config, allowlist, hasher], after: |this, hasher| {
        this.windows.reseed(hasher);
        this.egress.reseed(hasher);
        let tries = u32::try_from(this.config.max_attempts_per_user.get()).unwrap_or(u32::MAX);
        this.windows.for_each_mut(|window| window.recount(tries, hasher));
    });

    fn id(&self) -> &'static str {
        ID
    }

    fn on_event(&mut self, event: &Event, context: &mut Context) {
        if let Event::SignIn(signin) = event {
            self.on_signin(signin, context);
        }
    }

    fn on_watermark(&mut self, context: &mut Context) {
        let window = self.config.window.0;
        let watermark = context.watermark;
        let closed: Vec<String> = self
            .open
            .iter()
            .filter(|(_, open)| open.last_seen.saturating_add(window) < watermark)
            .map(|(ip, _)| ip.clone())
            .collect();
        for ip in closed {
            self.close(&ip, context);
        }
        if watermark.saturating_sub(self.last_expiry) > window {
            self.windows.expire(watermark.saturating_sub(window));
            // Egress addresses are kept for days and looked up with their time: swept an eighth
            // of the horizon at a time, not every window.
            let horizon = self.config.egress_horizon.0;
            if time::crossed(self.last_expiry, watermark, horizon / 8) {
                self.egress.expire(watermark.saturating_sub(horizon));
            }
            self.last_expiry = watermark;
        }
    }

    fn flush(&mut self, context: &mut Context) {
        for (ip, open) in std::mem::take(&mut self.open) {
            if open.grew {
                context.emit(self.finding(&ip, &open, Activity::Update));
            }
        }
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.windows.len() + self.egress.len(),
            evicted: self.windows.evicted()
                + self.egress.evicted()
                + self.attempts_dropped
                + self.open_evicted,
            open_findings: self.open.len(),
            ..StateStats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    /// The distinct failing and succeeding users, and the users failing once or twice and not
    /// succeeding, counted from the attempts themselves.
    fn counted(window: &IpWindow) -> (usize, usize, usize) {
        let users = |failed: bool| {
            let set: BTreeSet<&str> = window
                .attempts
                .iter()
                .filter(|attempt| attempt.failed == failed)
                .map(|attempt| &*attempt.user)
                .collect();
            set
        };
        let failing = users(true);
        let succeeding = users(false);
        let shaped = failing
            .iter()
            .filter(|user| {
                let tries = window
                    .attempts
                    .iter()
                    .filter(|a| a.failed && &*a.user == **user)
                    .count();
                (1..=2).contains(&tries) && !succeeding.contains(*user)
            })
            .count();
        (failing.len(), succeeding.len(), shaped)
    }

    proptest! {
        /// Attempts in, attempts out (by time and by the cap), a restore's recount: the tallies
        /// always agree with the attempts held.
        #[test]
        fn tallies_follow_the_attempts(
            steps in proptest::collection::vec((0u8..12, any::<bool>(), 0i64..40), 1..200),
            cap in 1usize..30,
        ) {
            let hasher = crate::state::hasher(7);
            let mut window = IpWindow::default();
            let mut time = 0;
            for (user, failed, forget) in steps {
                time += 1;
                window.forget_before(time - forget, 2, &hasher);
                let attempt = Attempt { time, user: format!("u{user}").into(), failed };
                window.record(attempt, cap, 2, &hasher);
                prop_assert!(window.attempts.len() <= cap);
                prop_assert_eq!((window.failing, window.succeeding, window.shaped), counted(&window));
            }
            let written = serde_json::to_string(&window).unwrap();
            let mut restored: IpWindow = serde_json::from_str(&written).unwrap();
            restored.recount(2, &crate::state::hasher(99));
            prop_assert_eq!((restored.failing, restored.succeeding, restored.shaped), counted(&window));
            prop_assert_eq!(serde_json::to_string(&restored).unwrap(), written);
        }
    }
}
