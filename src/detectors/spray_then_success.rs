//! `spray-then-success`: someone proves a password the spray was after, graded by evidence.
//!
//! **What.** A password proven correct (a successful sign-in; a code that means the password was
//! right but sign-in was interrupted: MFA required, Conditional Access block, … 50074, 50076,
//! 50079, 50072, 50158, 53003, 53000, 53001, 50105, 50129, 50133, 50005, 50155, 50173; an expired
//! password, 50055; or `authenticationDetails` saying `Correct password`), graded by what shows it
//! was the attacker:
//! - **critical**: proven from *spray infrastructure* (an IP that failed for other users in a
//!   recognised spray, and not a known egress that users share) by **any** user, targeted or not;
//!   or a targeted user's single-factor or legacy-protocol success;
//! - **high**: a targeted user's password proven from a place unfamiliar to that user (no network
//!   /24 or /48, device id, or ASN with country seen in a successful multi-factor sign-in of theirs
//!   within `baseline`, default 30 d; see `familiar_places`) and stopped there by MFA or
//!   Conditional Access (or completed without MFA): the password is known to someone else. A hit
//!   stopped there (or an expired password) waits `settle` (default 1 h) first: the user completing
//!   MFA from the same network by then makes it their own prompt, informational (in the first
//!   weeks of a deployment no place is familiar yet, and every interactive sign-in logs its
//!   prompt before its completion);
//! - **informational**: a targeted user's password proven from a familiar place, or from an
//!   unfamiliar one with MFA completed (the second factor held: a new phone, a new network).
//!   Counted in `stats` (`informational`); emitted only with `report_informational: true`.
//!
//! A password is proven only by a sign-in that presented credentials: a client's non-interactive
//! sign-in on a token it holds (a refresh, `Previously satisfied`), single-factor or not, is no
//! hit; a non-interactive legacy or ROPC one (`BAV2ROPC`) is.
//!
//! A user is targeted when a spray detector (or a `passwordSpray` risk detection) names them,
//! within the horizon (default 24 h) after.
//!
//! **Why.** The question an analyst asks after a spray is not "was this user sprayed?" but "did
//! the attacker get a password right, and where was it used?". A sprayed user's next ordinary
//! sign-in is not an answer; a hit from the spray's own addresses is, even for a user the spray
//! guessed right at the first try (who never failed, so was never a target).
//!
//! **Logic.** Spray detectors signal their targets with the time and IP of each attempt, and
//! whether that IP is the spray's own. Because a spray is recognised only once enough users
//! failed, password-proving sign-ins are kept for `lookback` (in a log, not by user) with how
//! familiar their place was then: a user's last one is still graded when it came before the spray
//! was recognised, and every one from an address that turns out to be the spray's. One finding
//! per user per horizon; later hits update it, and a finding kept back at informational is
//! emitted when a later hit raises it.
//!
//! **False positives.** A traveller, sprayed, whose sign-in from somewhere new is stopped at the
//! second factor and who completes it only from another network, or after the hour (an expired
//! password fixed through the help desk): high (the evidence shows the completion after). Users
//! behind the same egress as a spray (an insider's, or a NAT's lockout wave taken for one) are
//! kept out by the egress rule.
//!
//! **ATT&CK.** T1110.003, T1078.004.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use ahash::RandomState;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map};

use super::kit::familiar_places::{network, FamiliarPlaces, Verdict};
use super::kit::{self, Meta, Parts, Registrable, Stage};
use super::{push_capped, Context, Detector, Signal, StateStats};
use crate::allowlist::Allowlist;
use crate::attack::{CLOUD_ACCOUNTS, PASSWORD_SPRAYING};
use crate::config::{Count, Duration};
use crate::event::{Event, FactorRequirement, SignIn};
use crate::finding::{Activity, Finding, Observable, ObservableKind, Severity};
use crate::packed::Packed;
use crate::state::{BoundedMap, Expiring};
use crate::time::{self, Timestamp, DAY, HOUR};

/// The detector id.
pub const ID: &str = "spray-then-success";

kit::config! {
    "spray-then-success";
    /// How long after being sprayed a correct password counts, and how long a spray's address
    /// stays its infrastructure (default `24h`).
    horizon: Duration = Duration(24 * HOUR),
    /// How long a password-proving sign-in is remembered in case its user is named as a spray
    /// target, or its address as the spray's, afterwards (default `2h`).
    lookback: Duration = Duration(2 * HOUR),
    /// How long a place stays familiar after a successful multi-factor sign-in from it (default
    /// `30d`).
    baseline: Duration = Duration(30 * DAY),
    /// A targeted user's password stopped at the second factor (or expired) somewhere unfamiliar
    /// is raised only if the user does not complete multi-factor authentication from the same
    /// network (/24, /48) within this (default `1h`): an interactive sign-in logs the prompt, then
    /// its completion; an expired password, the change, then the sign-in.
    settle: Duration = Duration(HOUR),
    /// Emit the findings graded informational (a targeted user's password proven from a familiar
    /// place) instead of only counting them (default false).
    report_informational: bool = false,
    /// Targeted users tracked at once, password-proving sign-ins remembered at once, and spray
    /// addresses remembered at once (default 200000 each).
    max_users: Count = Count::new(200_000),
    /// Users whose familiar places are kept (default 500000).
    max_baseline_users: Count = Count::new(500_000),
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

/// A hit's place as its user's familiar places judged it when it happened, one bit each.
const FAMILIAR_NETWORK: u8 = 1;
const FAMILIAR_DEVICE: u8 = 2;
const FAMILIAR_PROVIDER: u8 = 4;
const KNOWN_USER: u8 = 8;

fn place_bits(verdict: Verdict) -> u8 {
    [
        (verdict.network, FAMILIAR_NETWORK),
        (verdict.device, FAMILIAR_DEVICE),
        (verdict.provider, FAMILIAR_PROVIDER),
        (verdict.known_user, KNOWN_USER),
    ]
    .into_iter()
    .filter_map(|(set, bit)| set.then_some(bit))
    .fold(0, |bits, bit| bits | bit)
}

fn verdict_of(bits: u8) -> Verdict {
    Verdict {
        network: bits & FAMILIAR_NETWORK != 0,
        device: bits & FAMILIAR_DEVICE != 0,
        provider: bits & FAMILIAR_PROVIDER != 0,
        known_user: bits & KNOWN_USER != 0,
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
    /// Its place, judged when it happened (see [`place_bits`]).
    place: u8,
    /// Multi-factor authentication was satisfied.
    mfa: bool,
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
    place: u8,
    mfa: bool,
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
            place: hit.place,
            mfa: hit.mfa,
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
            place: fields.place,
            mfa: fields.mfa,
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
    fn of(signin: &'a SignIn, verdict: Verdict) -> Self {
        HitFields {
            time: signin.time,
            id: signin.id(),
            ip: signin.ip(),
            result_code: signin.result_code,
            // Only a completed sign-in shows the account opens with one factor: an interrupted
            // one (MFA required) was stopped.
            single_factor: signin.factor == FactorRequirement::Single
                && signin.succeeded()
                && signin.presented_credentials(),
            legacy: signin.legacy,
            app: signin.app_name().or(signin.app_id()),
            place: place_bits(verdict),
            mfa: signin.factor == FactorRequirement::Multi && signin.succeeded(),
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
    /// Each hit's IP, hashed (0: none), in the order of `entries`: searched when an address turns
    /// out to be a spray's.
    ips: VecDeque<u64>,
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
    place: u8,
    mfa: bool,
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
            ips: VecDeque::new(),
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
        self.ips
            .push_back(hit.ip.as_ref().map_or(0, |ip| self.ip_hash(ip.as_ref())));
        self.entries.push_back(Logged {
            time: hit.time,
            result_code: hit.result_code,
            single_factor: hit.single_factor,
            legacy: hit.legacy,
            place: hit.place,
            mfa: hit.mfa,
            fired: false,
            start,
            lengths,
        });
    }

    /// An IP's hash in `ips`: never 0, which stands for none.
    fn ip_hash(&self, ip: &str) -> u64 {
        self.hasher.hash_one(ip).max(1)
    }

    fn pop_front(&mut self) {
        self.users.pop_front();
        self.ips.pop_front();
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
            self.ips.shrink_to(room);
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

    /// Every hit from `ip` at or after `since` not reported yet, with its user (each then marked
    /// reported), oldest first.
    fn take_from(&mut self, ip: &str, since: Timestamp) -> Vec<(String, Hit)> {
        let hash = self.ip_hash(ip);
        let matching: Vec<usize> = self
            .ips
            .iter()
            .enumerate()
            .filter(|(_, hashed)| **hashed == hash)
            .map(|(index, _)| index)
            .collect();
        let mut taken = Vec::new();
        for index in matching {
            let Some((user, hit)) = self.hit(index) else {
                continue;
            };
            let Some(entry) = self.entries.get_mut(index) else {
                continue;
            };
            if entry.fired || entry.time < since || hit.ip.as_deref() != Some(ip) {
                continue;
            }
            entry.fired = true;
            taken.push((user, Hit::from(hit)));
        }
        taken
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
            place: entry.place,
            mfa: entry.mfa,
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
        let strings: Vec<_> = (0..self.entries.len())
            .map(|index| self.strings(index).unwrap_or_default())
            .collect();
        self.users = strings
            .iter()
            .map(|[user, ..]| hasher.hash_one(user.as_deref().unwrap_or_default()))
            .collect();
        self.ips = strings
            .iter()
            .map(|[_, _, ip, _]| ip.as_deref().map_or(0, |ip| self.ip_hash(ip)))
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
    /// Emitted at least once (a finding kept back at informational is not, until raised).
    emitted: bool,
    /// The spray findings behind it: the user's sprays, and the sprays whose address it came from.
    spray_findings: Vec<String>,
    /// A hit stopped at the second factor somewhere unfamiliar, waiting for `settle`: high unless
    /// its user completes MFA from its address by then (snapshots of earlier versions have none).
    #[serde(default)]
    pending: Option<Pending>,
}

/// A stopped hit waiting to be raised (see [`OpenHit::pending`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    until: Timestamp,
    /// Its network ([`network`]).
    network: Option<u64>,
}

/// Whether a hit's grade rests only on its being stopped at the second factor somewhere
/// unfamiliar: the user's own prompt, until the completion that follows does not.
fn settles(hit: &Hit, severity: Severity) -> bool {
    severity == Severity::High && !hit.mfa && hit.result_code != 0
}

/// An address a spray used that no users share: a password proven from it is the spray's hit.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SprayAddress {
    last_seen: Timestamp,
    finding_uid: String,
}

impl Expiring for SprayAddress {
    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }
}

/// Bits of a filter over the spray addresses held: a sign-in's IP is looked up in the table only
/// when its bit is set (almost no sign-in comes from a spray's address).
const FILTER_BITS: usize = 1 << 16;

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
    places: FamiliarPlaces,
    addresses: BoundedMap<SprayAddress>,
    #[serde(skip, default = "empty_filter")]
    filter: Vec<u64>,
    #[serde(skip, default = "crate::state::unseeded")]
    hasher: RandomState,
    /// Findings kept back at informational.
    informational: u64,
    /// The most hits open at once (`limits.max_open_findings`).
    #[serde(skip)]
    max_open: usize,
    /// Open hits closed early because that many were open.
    #[serde(default)]
    open_evicted: u64,
}

fn empty_filter() -> Vec<u64> {
    vec![0; FILTER_BITS / 64]
}

/// How a hit is graded, and why.
fn grade(hit: &Hit, targeted: bool, address: bool) -> (Severity, Vec<String>) {
    let mut reasons: Vec<String> = Vec::new();
    let mut severity = Severity::Informational;
    if address {
        reasons.push("from-spray-address".into());
        severity = Severity::Critical;
    }
    if targeted {
        if hit.single_factor {
            reasons.push("single-factor".into());
            severity = Severity::Critical;
        }
        if hit.legacy && hit.result_code == 0 {
            reasons.push("legacy-protocol".into());
            severity = Severity::Critical;
        }
        let verdict = verdict_of(hit.place);
        if !verdict.familiar() {
            reasons.push("unfamiliar-place".into());
            reasons.extend(verdict.new_parts().into_iter().map(str::to_owned));
            // A sign-in that completed multi-factor authentication is the second factor holding
            // (a user on a new phone or network): kept back, as from a familiar place. The
            // password proven there and stopped at the second factor is the spray's hit.
            if !hit.mfa {
                severity = severity.max(Severity::High);
            }
        }
    }
    if hit.mfa {
        reasons.push("mfa-satisfied".into());
    } else if hit.result_code != 0 {
        reasons.push("stopped-after-the-password".into());
    }
    (severity, reasons)
}

impl Registrable for SprayThenSuccess {
    const META: Meta = Meta {
        id: ID,
        stage: Some(Stage::Compromise),
        attack: &[PASSWORD_SPRAYING, CLOUD_ACCOUNTS],
        severity: Severity::High,
    };
    type Config = Config;

    fn build(config: Config, parts: &Parts) -> Self {
        SprayThenSuccess {
            allowlist: Arc::clone(parts.allowlist),
            targets: BoundedMap::new(config.max_users.get(), parts.hasher),
            recent: HitLog::new(parts.hasher),
            places: FamiliarPlaces::new(
                config.max_baseline_users.get(),
                config.baseline.0,
                parts.hasher,
            ),
            addresses: BoundedMap::new(config.max_users.get(), parts.hasher),
            filter: empty_filter(),
            hasher: parts.hasher.clone(),
            config,
            open: BTreeMap::new(),
            last_expiry: Timestamp::MIN,
            informational: 0,
            max_open: parts.max_open,
            open_evicted: 0,
        }
    }
}

impl SprayThenSuccess {
    fn filter_bit(&self, ip: &str) -> (usize, u64) {
        let bit = (self.hasher.hash_one(ip) as usize) % FILTER_BITS;
        (bit / 64, 1 << (bit % 64))
    }

    /// The spray address `ip` is, if it is one and still live at `time`.
    fn spray_address(&self, ip: &str, time: Timestamp) -> Option<&SprayAddress> {
        let (word, bit) = self.filter_bit(ip);
        if self.filter.get(word).is_none_or(|bits| bits & bit == 0) {
            return None;
        }
        self.addresses
            .get(ip)
            .filter(|address| time <= address.last_seen.saturating_add(self.config.horizon.0))
    }

    fn rebuild_filter(&mut self) {
        let mut filter = empty_filter();
        for (ip, _) in self.addresses.iter() {
            let (word, bit) = self.filter_bit(ip);
            if let Some(bits) = filter.get_mut(word) {
                *bits |= bit;
            }
        }
        self.filter = filter;
    }

    fn on_signin(&mut self, signin: &SignIn, context: &mut Context) {
        if !signin.category.is_user() || self.allowlist.service_account(signin.user()) {
            return;
        }
        if !signin.password_correct() {
            return;
        }
        let verdict = self.places.judge_and_learn(signin, context.watermark);
        let hit = HitFields::of(signin, verdict);
        let address = signin
            .ip()
            .and_then(|ip| self.spray_address(ip, signin.time))
            .map(|address| address.finding_uid.clone());
        if address.is_some() || self.target_at(signin.user(), signin.time).is_some() {
            self.fire(signin.user(), Hit::from(hit), address, context);
        } else {
            // Most sign-ins: into the log, without an allocation of their own.
            self.recent
                .push(signin.user(), &hit, self.config.max_users.get());
        }
    }

    /// The user's sprays, when `time` lies within their horizon.
    fn target_at(&self, user: &str, time: Timestamp) -> Option<&Target> {
        let horizon = self.config.horizon.0;
        self.targets.get(user).filter(|target| {
            time >= target.first_sprayed && time <= target.last_sprayed.saturating_add(horizon)
        })
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
            self.fire(user, hit, None, context);
        }
    }

    /// A spray's own address: remembered, and the passwords proven from it lately are its hits.
    fn learn_address(
        &mut self,
        ip: &str,
        time: Timestamp,
        finding_uid: &str,
        context: &mut Context,
    ) {
        let live_since = context.watermark.saturating_sub(self.config.horizon.0);
        let mut new = false;
        let address = self.addresses.get_or_insert_with(ip, live_since, || {
            new = true;
            SprayAddress {
                last_seen: time,
                finding_uid: finding_uid.to_owned(),
            }
        });
        address.last_seen = address.last_seen.max(time);
        if !finding_uid.is_empty() {
            address.finding_uid = finding_uid.to_owned();
        }
        if !new {
            return;
        }
        let (word, bit) = self.filter_bit(ip);
        if let Some(bits) = self.filter.get_mut(word) {
            *bits |= bit;
        }
        let since = time.saturating_sub(self.config.lookback.0);
        for (user, hit) in self.recent.take_from(ip, since) {
            self.fire(&user, hit, Some(finding_uid.to_owned()), context);
        }
    }

    fn fire(&mut self, user: &str, hit: Hit, address: Option<String>, context: &mut Context) {
        let horizon = self.config.horizon.0;
        // Whichever signal came first, a hit from a spray's address is graded as one.
        let address = address.or_else(|| {
            hit.ip()
                .and_then(|ip| self.spray_address(ip, hit.time))
                .map(|address| address.finding_uid.clone())
        });
        // A stopped hit whose settling time passed before this one is raised first.
        self.settle(user, hit.time, context);
        let target = self.target_at(user, hit.time);
        let (severity, reasons) = grade(&hit, target.is_some(), address.is_some());
        // The user completing MFA where a stopped hit was waiting: it was the user's own prompt.
        let pending = settles(&hit, severity).then(|| Pending {
            until: hit.time.saturating_add(self.config.settle.0),
            network: hit.ip().and_then(network),
        });
        let severity = if pending.is_some() {
            Severity::Informational
        } else {
            severity
        };
        let mut sprays: Vec<String> = target.map(|t| t.spray_findings.clone()).unwrap_or_default();
        if let Some(uid) = address.filter(|uid| !uid.is_empty()) {
            push_capped(&mut sprays, uid, MAX_LISTED);
        }
        let report_informational = self.config.report_informational;
        let shown = |severity: Severity| severity > Severity::Informational || report_informational;
        if let Some(open) = self.open.get_mut(user) {
            if hit.time <= open.last_seen.saturating_add(horizon) {
                open.last_seen = open.last_seen.max(hit.time);
                let raised = severity > open.severity;
                open.severity = open.severity.max(severity);
                for reason in reasons {
                    if !open.reasons.contains(&reason) {
                        push_capped(&mut open.reasons, reason, 16);
                    }
                }
                for uid in sprays {
                    if !open.spray_findings.contains(&uid) {
                        push_capped(&mut open.spray_findings, uid, MAX_LISTED);
                    }
                }
                if hit.mfa
                    && open.pending.as_ref().is_some_and(|waiting| {
                        waiting.network.is_some() && waiting.network == hit.ip().and_then(network)
                    })
                {
                    open.pending = None;
                } else if open.pending.is_none() {
                    open.pending = pending;
                }
                open.grew |= push_capped(&mut open.hits, hit, MAX_LISTED);
                if raised && shown(open.severity) {
                    let activity = if open.emitted {
                        Activity::Update
                    } else {
                        Activity::Create
                    };
                    let finding = finding(user, open, self.targets.get(user), activity);
                    open.grew = false;
                    open.emitted = true;
                    context.emit(finding);
                }
                return;
            }
            // The earlier finding's horizon lapsed: close it before opening a new one.
            self.close(user, context);
        }
        let mut open = OpenHit {
            uid: context.uid(&[ID, user, &hit.time.to_string()]),
            first_seen: hit.time,
            last_seen: hit.time,
            severity,
            hits: vec![hit],
            reasons,
            grew: false,
            emitted: false,
            spray_findings: sprays,
            pending,
        };
        if shown(severity) {
            context.emit(finding(
                user,
                &open,
                self.targets.get(user),
                Activity::Create,
            ));
            open.emitted = true;
        } else {
            self.informational += 1;
        }
        for idle in kit::idle_longest(&self.open, self.max_open, |open| open.last_seen) {
            self.close(&idle, context);
            self.open_evicted += 1;
        }
        self.open.insert(user.to_owned(), open);
    }

    /// Raises `user`'s stopped hit if it waited past its settling time by `now` (or at once when
    /// `now` is the end of input), emitting the finding.
    fn settle(&mut self, user: &str, now: Timestamp, context: &mut Context) {
        let Some(open) = self.open.get_mut(user) else {
            return;
        };
        if open
            .pending
            .as_ref()
            .is_none_or(|waiting| now <= waiting.until)
        {
            return;
        }
        open.pending = None;
        if open.severity >= Severity::High {
            return;
        }
        open.severity = Severity::High;
        let activity = if open.emitted {
            Activity::Update
        } else {
            Activity::Create
        };
        let finding = finding(user, open, self.targets.get(user), activity);
        open.grew = false;
        open.emitted = true;
        context.emit(finding);
    }

    fn close(&mut self, user: &str, context: &mut Context) {
        self.settle(user, Timestamp::MAX, context);
        if let Some(open) = self.open.remove(user) {
            if open.grew && open.emitted {
                context.emit(finding(
                    user,
                    &open,
                    self.targets.get(user),
                    Activity::Update,
                ));
            }
        }
    }
}

fn finding(user: &str, open: &OpenHit, target: Option<&Target>, activity: Activity) -> Finding {
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
            let place = verdict_of(hit.place);
            json!({
                "time": hit.time, "event_uid": hit.id(), "ip": hit.ip(),
                "result_code": hit.result_code, "single_factor": hit.single_factor,
                "legacy": hit.legacy, "app": hit.app(), "mfa_satisfied": hit.mfa,
                "familiar": {"network": place.network, "device": place.device,
                    "provider": place.provider, "user_has_baseline": place.known_user},
            })
        })
        .collect();
    let mut unmapped = Map::new();
    unmapped.insert("user".into(), json!(user));
    unmapped.insert("hits".into(), json!(hits));
    unmapped.insert("reasons".into(), json!(open.reasons));
    unmapped.insert("targeted".into(), json!(target.is_some()));
    unmapped.insert("spray_ips".into(), json!(target.map(|t| &t.ips)));
    unmapped.insert("spray_findings".into(), json!(open.spray_findings));
    if let Some(target) = target {
        unmapped.insert("first_sprayed".into(), json!(target.first_sprayed));
    }
    let first = open.hits.first();
    let how = if open.reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", open.reasons.join(", "))
    };
    let from = first.and_then(Hit::ip).unwrap_or("an unknown IP");
    let from_address = open
        .reasons
        .iter()
        .any(|reason| reason == "from-spray-address");
    let (title, message) = match target {
        // The user's sprays lapsed since (a finding closing after its horizon): it was a
        // sprayed account's finding all the same, unless the address was the spray's.
        None if !from_address => (
            format!("Sprayed account {user} signed in with the correct password"),
            format!(
                "{user}, a sprayed account, proved its password at {} from {from}{how}",
                time::format(open.first_seen),
            ),
        ),
        Some(target) => (
            format!("Sprayed account {user} signed in with the correct password"),
            format!(
                "{user}, sprayed from {} IP(s) since {}, proved its password at {} from {from}{how}",
                target.ips.len(),
                time::format(target.first_sprayed),
                time::format(open.first_seen),
            ),
        ),
        None => (
            format!("Password of {user} proven from a spray's address"),
            format!(
                "{user} proved its password at {} from {from}, an address of a password spray{how}",
                time::format(open.first_seen),
            ),
        ),
    };
    Finding {
        uid: open.uid.clone(),
        detector: ID,
        title,
        severity: open.severity,
        activity,
        time: open.last_seen,
        first_seen: open.first_seen,
        message,
        techniques: vec![PASSWORD_SPRAYING, CLOUD_ACCOUNTS],
        observables,
        evidence: open.hits.iter().map(|hit| hit.id().to_owned()).collect(),
        unmapped,
        tenant: None,
    }
}

impl Detector for SprayThenSuccess {
    super::kit::persist!(keep: [config, allowlist, max_open], after: |this, hasher| {
        this.targets.reseed(hasher);
        this.recent.reseed(hasher);
        this.places.reseed(hasher);
        this.addresses.reseed(hasher);
        this.hasher = hasher.clone();
        this.rebuild_filter();
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
            } => self.on_target(user, ip.as_deref(), *time, finding_uid, context),
            Signal::SprayAddress {
                ip,
                time,
                finding_uid,
            } => self.learn_address(ip, *time, finding_uid, context),
        }
    }

    fn on_watermark(&mut self, context: &mut Context) {
        let horizon = self.config.horizon.0;
        let watermark = context.watermark;
        let waited: Vec<String> = self
            .open
            .iter()
            .filter(|(_, open)| open.pending.as_ref().is_some_and(|w| w.until < watermark))
            .map(|(user, _)| user.clone())
            .collect();
        for user in waited {
            self.settle(&user, watermark, context);
        }
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
            let before = self.addresses.len();
            self.addresses.expire(watermark.saturating_sub(horizon));
            if self.addresses.len() != before {
                self.rebuild_filter();
            }
            // Familiar places are kept for weeks: swept an eighth of the baseline at a time, not
            // every lookback (a sweep drops nothing a judgement would still count).
            if time::crossed(self.last_expiry, watermark, self.config.baseline.0 / 8) {
                self.places.expire(watermark);
            }
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
            entries: self.targets.len()
                + self.recent.len()
                + self.places.len()
                + self.addresses.len(),
            evicted: self.targets.evicted()
                + self.recent.dropped
                + self.places.evicted()
                + self.addresses.evicted()
                + self.open_evicted,
            open_findings: self.open.len(),
            informational: self.informational,
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
            place: 0,
            mfa: false,
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
