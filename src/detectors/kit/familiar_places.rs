//! Familiar places: where each user has signed in with a second factor, kept small.
//!
//! A place is what a sign-in came from: its network (the IPv4 /24 or IPv6 /48), its device (a
//! registered device's id) and its provider (the ASN with the country). Each user keeps a few of
//! each (three networks, two devices, two providers), learnt from successful multi-factor
//! sign-ins only, so a password alone (a spray's hit) never makes a place familiar; when a kind
//! is full, a new place replaces the one seen longest ago. A place counts while it was seen within
//! the baseline (default 30 d). Users are held in a [`BoundedMap`]: at most its cap, the quietest
//! dropped first and counted.
//!
//! Each place is one 64-bit word: a 40-bit fingerprint of it (FNV-1a: fixed, so a snapshot reads
//! back under any seed; these are not table keys, so no attacker can make them collide into a
//! slow table) and the day it was last seen.

use serde::{Deserialize, Serialize};

use crate::event::SignIn;
use crate::state::{BoundedMap, Expiring};
use crate::time::{Timestamp, DAY};

const NETWORKS: usize = 3;
const DEVICES: usize = 2;
const PROVIDERS: usize = 2;
const SLOTS: usize = NETWORKS + DEVICES + PROVIDERS;
const DAY_BITS: u32 = 24;
const DAY_MASK: u64 = (1 << DAY_BITS) - 1;

/// A user's familiar places.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Places([u64; SLOTS]);

impl Places {
    fn range(kind: Kind) -> std::ops::Range<usize> {
        match kind {
            Kind::Network => 0..NETWORKS,
            Kind::Device => NETWORKS..NETWORKS + DEVICES,
            Kind::Provider => NETWORKS + DEVICES..SLOTS,
        }
    }

    fn has(&self, kind: Kind, fingerprint: u64, since_day: u64) -> bool {
        self.0
            .get(Self::range(kind))
            .unwrap_or_default()
            .iter()
            .any(|&slot| {
                slot != 0 && slot >> DAY_BITS == fingerprint && slot & DAY_MASK >= since_day
            })
    }

    fn learn(&mut self, kind: Kind, fingerprint: u64, day: u64) {
        let word = fingerprint << DAY_BITS | (day & DAY_MASK);
        let Some(slots) = self.0.get_mut(Self::range(kind)) else {
            return;
        };
        if let Some(slot) = slots
            .iter_mut()
            .find(|slot| **slot >> DAY_BITS == fingerprint)
        {
            *slot = (*slot).max(word);
            return;
        }
        // A free slot, or the one seen longest ago.
        if let Some(slot) = slots.iter_mut().min_by_key(|slot| match **slot {
            0 => 0,
            used => 1 + (used & DAY_MASK),
        }) {
            *slot = word;
        }
    }
}

impl Expiring for Places {
    fn last_seen(&self) -> Timestamp {
        day_start(self.0.iter().map(|slot| slot & DAY_MASK).max().unwrap_or(0))
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Network,
    Device,
    Provider,
}

/// FNV-1a over the parts, folded to 40 bits, never zero (a zero slot is empty).
fn fingerprint(parts: &[&[u8]]) -> u64 {
    let hash = crate::state::fnv1a(parts.iter().copied(), crate::state::FNV_OFFSET);
    ((hash ^ hash >> 40) & ((1 << 40) - 1)).max(1)
}

/// The fingerprint of the network an IP is in: the first three octets of an IPv4 address (its
/// /24) or the first three groups of an IPv6 address (its /48), with the family.
pub fn network(ip: &str) -> Option<u64> {
    match ip.trim().parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(fingerprint(&[&[4, a, b, c]]))
        }
        std::net::IpAddr::V6(v6) => {
            let [a, b, c, ..] = v6.segments();
            let [a, b, c] = [a, b, c].map(u16::to_be_bytes);
            Some(fingerprint(&[&[6], &a, &b, &c]))
        }
    }
}

/// How a sign-in's place compares with its user's familiar places.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The network was seen.
    pub network: bool,
    /// The device was seen.
    pub device: bool,
    /// The provider (ASN and country) was seen.
    pub provider: bool,
    /// The user has familiar places at all (a user never seen with a second factor has none).
    pub known_user: bool,
}

impl Verdict {
    /// Familiar: its network, its device or its provider was seen.
    pub fn familiar(&self) -> bool {
        self.network || self.device || self.provider
    }

    /// What was new about the place, for a finding.
    pub fn new_parts(&self) -> Vec<&'static str> {
        [
            (!self.network, "new-network"),
            (!self.device, "new-device"),
            (!self.provider, "new-provider"),
        ]
        .into_iter()
        .filter_map(|(new, name)| new.then_some(name))
        .collect()
    }
}

/// Every user's familiar places.
#[derive(Debug, Serialize, Deserialize)]
pub struct FamiliarPlaces {
    users: BoundedMap<Places>,
    /// How long a place stays familiar.
    baseline: Timestamp,
}

fn day_of(time: Timestamp) -> u64 {
    u64::try_from(time.div_euclid(DAY)).unwrap_or(0)
}

fn day_start(day: u64) -> Timestamp {
    i64::try_from(day).unwrap_or(i64::MAX).saturating_mul(DAY)
}

impl FamiliarPlaces {
    /// Places of at most `max_users` users, each familiar for `baseline` after it was last seen.
    pub fn new(max_users: usize, baseline: Timestamp, hasher: &ahash::RandomState) -> Self {
        FamiliarPlaces {
            users: BoundedMap::new(max_users, hasher),
            baseline,
        }
    }

    fn parts(signin: &SignIn) -> [(Kind, Option<u64>); 3] {
        let network = signin.ip().and_then(network);
        let device = signin.device_id().map(|id| fingerprint(&[id.as_bytes()]));
        let provider = signin.asn.map(|asn| {
            let country = signin.country().unwrap_or_default();
            fingerprint(&[&asn.to_le_bytes(), country.as_bytes()])
        });
        [
            (Kind::Network, network),
            (Kind::Device, device),
            (Kind::Provider, provider),
        ]
    }

    /// The first day whose places still count at `time` with the engine at `watermark`: the
    /// baseline back from the later of the two. Places are kept by day, so every bound is a
    /// day's start, and no sweep ([`expire`](Self::expire), at any cadence) ever drops a place a
    /// judgement would still count.
    fn first_day(&self, time: Timestamp, watermark: Timestamp) -> u64 {
        day_of(time.max(watermark).saturating_sub(self.baseline))
    }

    /// How the place of `signin` compares with its user's familiar places, before it is learnt;
    /// and, when it is a successful multi-factor sign-in of a user, learns it (one lookup of the
    /// user either way). `watermark`: the engine's (users dropped for the cap while their places
    /// still counted are evictions).
    pub fn judge_and_learn(&mut self, signin: &SignIn, watermark: Timestamp) -> Verdict {
        let parts = Self::parts(signin);
        let since = self.first_day(signin.time, watermark);
        let judge = |places: &Places| {
            let [network, device, provider] = parts
                .map(|(kind, fingerprint)| fingerprint.is_some_and(|f| places.has(kind, f, since)));
            Verdict {
                network,
                device,
                provider,
                known_user: places.last_seen() >= day_start(since),
            }
        };
        let learns = signin.succeeded()
            && signin.factor == crate::event::FactorRequirement::Multi
            && signin.category.is_user();
        if !learns {
            return self.users.get(signin.user()).map(judge).unwrap_or_default();
        }
        let live_since = day_start(self.first_day(watermark, watermark));
        let places = self
            .users
            .get_or_insert_with(signin.user(), live_since, Places::default);
        let verdict = judge(places);
        let day = day_of(signin.time);
        for (kind, fingerprint) in parts {
            if let Some(fingerprint) = fingerprint {
                places.learn(kind, fingerprint, day);
            }
        }
        verdict
    }

    /// Forgets users with no place that still counts at `watermark`.
    pub fn expire(&mut self, watermark: Timestamp) {
        self.users
            .expire(day_start(self.first_day(watermark, watermark)));
    }

    /// Users held.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// No users held.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Users dropped for the cap while their places still counted.
    pub fn evicted(&self) -> u64 {
        self.users.evicted()
    }

    /// Rebuilds the table with `hasher` (after a restore).
    pub fn reseed(&mut self, hasher: &ahash::RandomState) {
        self.users.reseed(hasher);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{FactorRequirement, SignInFields};

    fn signin(ip: &str, device: Option<&str>, asn: Option<u32>, day: i64) -> SignIn {
        SignIn::from(SignInFields {
            time: 1_705_312_800_000 + day * DAY,
            result_code: 0,
            factor: FactorRequirement::Multi,
            ip: Some(ip),
            device_id: device,
            asn,
            country: Some("NL"),
            ..crate::normalize::tests::sample()
        })
    }

    #[test]
    fn networks_are_slash_24_and_slash_48() {
        assert_eq!(network("203.0.113.7"), network("203.0.113.250"));
        assert_ne!(network("203.0.113.7"), network("203.0.114.7"));
        assert_eq!(
            network("2001:db8:5107::1"),
            network("2001:db8:5107:ffff::2")
        );
        assert_ne!(network("2001:db8:5107::1"), network("2001:db8:5108::1"));
        assert_eq!(network("2001:db8::1"), network("2001:db8:0:1::"));
        assert_eq!(network("nonsense"), None);
    }

    impl FamiliarPlaces {
        fn judge(&mut self, signin: &SignIn) -> Verdict {
            let mut fields = signin.fields();
            fields.result_code = 50126;
            self.judge_and_learn(&SignIn::from(fields), 0)
        }

        fn learn(&mut self, signin: &SignIn, watermark: Timestamp) {
            self.judge_and_learn(signin, watermark);
        }
    }

    #[test]
    fn only_second_factor_successes_make_a_place_familiar_and_only_for_the_baseline() {
        let mut places = FamiliarPlaces::new(100, 30 * DAY, &crate::state::hasher(1));
        let home = signin("198.51.100.7", Some("laptop"), Some(64_500), 0);
        // A password alone teaches nothing.
        let mut single = home.fields();
        single.factor = FactorRequirement::Single;
        assert!(!places.judge_and_learn(&SignIn::from(single), 0).known_user);
        assert!(
            !places.judge_and_learn(&home, 0).familiar(),
            "judged before learnt"
        );
        let later = signin("198.51.100.99", None, None, 10);
        let verdict = places.judge(&later);
        assert!(verdict.known_user && verdict.network && !verdict.device && !verdict.provider);
        // A carrier's changing address: the provider (ASN and country) is familiar.
        let phone = signin("100.72.9.1", None, Some(64_500), 10);
        assert!(places.judge(&phone).provider && !places.judge(&phone).network);
        // A new laptop elsewhere: nothing familiar.
        let away = signin("81.2.69.1", Some("other"), Some(64_999), 10);
        assert_eq!(
            places.judge(&away).new_parts(),
            ["new-network", "new-device", "new-provider"]
        );
        // Past the baseline, the place is forgotten.
        assert!(!places
            .judge(&signin("198.51.100.99", None, None, 31))
            .familiar());
    }

    #[test]
    fn a_sweep_never_drops_a_place_a_judgement_would_count() {
        let new = || FamiliarPlaces::new(100, 30 * DAY, &crate::state::hasher(1));
        let (mut swept, mut kept) = (new(), new());
        let home = signin("198.51.100.7", None, None, 0);
        swept.learn(&home, home.time);
        kept.learn(&home, home.time);
        // 30 days on, at the same hour: the place's day is the baseline's first, so it counts,
        // whether or not a sweep ran at the watermark just before.
        let back = signin("198.51.100.8", None, None, 30);
        swept.expire(back.time);
        assert_eq!(swept.len(), 1);
        assert!(kept.judge(&back).network);
        assert_eq!(swept.judge(&back), kept.judge(&back));
        // A day later it counts for neither.
        let gone = signin("198.51.100.8", None, None, 31);
        swept.expire(gone.time);
        assert!(swept.is_empty() && !kept.judge(&gone).known_user);
    }

    #[test]
    fn a_full_kind_replaces_the_place_seen_longest_ago() {
        let mut places = FamiliarPlaces::new(100, 30 * DAY, &crate::state::hasher(1));
        for (day, ip) in ["10.0.1.1", "10.0.2.1", "10.0.3.1", "10.0.4.1"]
            .iter()
            .enumerate()
        {
            places.learn(&signin(ip, None, None, day as i64), 0);
        }
        let mut at = |ip: &str| places.judge(&signin(ip, None, None, 5)).network;
        assert!(!at("10.0.1.9"), "the oldest went");
        assert!(at("10.0.2.9") && at("10.0.3.9") && at("10.0.4.9"));
    }
}
