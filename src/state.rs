//! Bounded state shared by the detectors: a keyed map with a hard cap and counted eviction.
//!
//! Keys are attacker-chosen strings (IPs, user names), so the tables are seeded from the host
//! (the seed of `Engine::new`) and capped. The cap is kept with two generations: new and touched keys live in
//! the young generation; when it holds half the cap, its entries past their detector's horizon go
//! first, and unless that leaves it under a quarter of the cap, the old generation is dropped and
//! the young one becomes old. A key touched at least once per generation survives; a flood of one-off keys
//! pushes out only keys that went quiet. Every dropped key still inside its detector's horizon is
//! counted as an eviction, which `stats` reports.

use std::borrow::Cow;

use ahash::RandomState;
use hashbrown::hash_map::RawEntryMut;
use hashbrown::HashMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smol_str::SmolStr;

use crate::time::Timestamp;

/// State whose liveness depends on event time.
pub trait Expiring {
    /// The last event time that touched this entry.
    fn last_seen(&self) -> Timestamp;
}

impl Expiring for Timestamp {
    fn last_seen(&self) -> Timestamp {
        *self
    }
}

/// FNV-1a 64 of `parts`, each followed by a `0xff` byte (so `["ab", ""]` and `["a", "b"]` differ),
/// from `offset` (FNV's offset basis, or another to get a second, independent hash). Fixed, not
/// seeded: for values that are saved (snapshots, finding uids), never for table keys an attacker
/// chooses.
pub fn fnv1a<'a>(parts: impl IntoIterator<Item = &'a [u8]>, offset: u64) -> u64 {
    parts.into_iter().fold(offset, |hash, part| {
        part.iter()
            .chain(std::iter::once(&0xff))
            .fold(hash, |hash, byte| {
                (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
            })
    })
}

/// FNV-1a 64's offset basis.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Builds the seeded hasher for every table of an engine.
pub fn hasher(seed: u64) -> RandomState {
    RandomState::with_seeds(
        seed,
        seed.rotate_left(17) ^ 0x5ce1_1e55_0000_0001,
        seed.rotate_left(31) ^ 0x0bad_5eed_0000_0002,
        seed.rotate_left(47) ^ 0x00c0_ffee_0000_0003,
    )
}

/// A placeholder hasher for a table read from a snapshot, until it is reseeded with the host's.
pub fn unseeded() -> RandomState {
    hasher(0)
}

/// A key as a table holds it: up to 23 bytes (an IPv4 address, a short event id, many user
/// names) inside the entry itself, longer ones on the heap. A lookup that finds its key then
/// compares it without reaching into another cache line, and a short key costs no allocation.
/// `SmolStr` keeps 23 bytes inline on every target; `compact_str`, used before, keeps 24 on 64-bit
/// targets but only 12 in 32-bit WebAssembly, where every user name and event id went to the heap.
type Key = SmolStr;

/// Matches a stored key against `key` (see [`same`]).
fn is(key: &str) -> impl Fn(&Key) -> bool + '_ {
    move |stored| same(stored, key)
}

/// Removes `key` (with `hash`) from `map`, with its stored key for reuse.
fn take<V>(map: &mut HashMap<Key, V, RandomState>, hash: u64, key: &str) -> Option<(Key, V)> {
    match map.raw_entry_mut().from_hash(hash, is(key)) {
        RawEntryMut::Occupied(entry) => Some(entry.remove_entry()),
        RawEntryMut::Vacant(_) => None,
    }
}

/// Whether two keys are the same bytes, compared eight at a time, inline. (`==` on strings calls
/// `memcmp`, which in WebAssembly is a loop over single bytes; keys are 7 to 40 bytes.)
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let word = |chunk: &[u8; 8]| u64::from_ne_bytes(*chunk);
    // The last word overlaps the whole ones when the length is not a multiple of eight.
    a.as_chunks::<8>()
        .0
        .iter()
        .zip(b.as_chunks::<8>().0)
        .all(|(x, y)| word(x) == word(y))
        && a.last_chunk::<8>().map(word) == b.last_chunk::<8>().map(word)
}

/// The first byte of a GUID's short form ([`short_id`]).
const SHORT: u8 = 1;
/// The first byte of an id kept with it in front, because the id itself starts with [`SHORT`]
/// or with this: so no kept form is another id's.
const ESCAPED: u8 = 2;

/// A short form's length: [`SHORT`] and the GUID's 128 bits, seven to a byte.
pub const SHORT_ID_LEN: usize = 20;

/// An event id as the duplicate table keeps it: a GUID in its canonical lowercase form (36
/// bytes: sign-ins, unified audit records) in 20, which fit inside a table entry (no allocation
/// per event, no second cache line to compare); any other id as it is. `buffer` holds the short
/// form. [`full_id`] gives the id back.
pub fn short_id<'a>(id: &'a str, buffer: &'a mut [u8; SHORT_ID_LEN]) -> Cow<'a, str> {
    if let Some((high, low)) = guid(id) {
        // Bytes 1-9: the low 63 bits of `high`; 10-18: of `low`; 19: the two top bits.
        let (marker, rest) = buffer.split_at_mut(1);
        marker.fill(SHORT);
        let (high_sevens, rest) = rest.split_at_mut(9);
        let (low_sevens, top) = rest.split_at_mut(9);
        for (sevens, mut word) in [(high_sevens, high), (low_sevens, low)] {
            for byte in sevens {
                *byte = (word & 0x7f) as u8;
                word >>= 7;
            }
        }
        top.fill((high >> 63 | (low >> 63) << 1) as u8);
        if let Ok(short) = std::str::from_utf8(buffer) {
            return Cow::Borrowed(short);
        }
    }
    match id.as_bytes().first() {
        Some(&(SHORT | ESCAPED)) => Cow::Owned(format!("{}{id}", char::from(ESCAPED))),
        _ => Cow::Borrowed(id),
    }
}

/// The id whose kept form is `key` (the inverse of [`short_id`]).
pub fn full_id(key: &str) -> Cow<'_, str> {
    let bytes = key.as_bytes();
    match bytes.split_first() {
        Some((&ESCAPED, _)) => Cow::Borrowed(key.get(1..).unwrap_or_default()),
        Some((&SHORT, rest)) if bytes.len() == SHORT_ID_LEN => {
            let (mut high, mut low) = (0u64, 0u64);
            for (i, &byte) in rest.iter().enumerate() {
                let bits = u64::from(byte & 0x7f);
                match i {
                    0..9 => high |= bits << (7 * i),
                    9..18 => low |= bits << (7 * (i - 9)),
                    _ => {
                        high |= (bits & 1) << 63;
                        low |= (bits >> 1) << 63;
                    }
                }
            }
            Cow::Owned(guid_text(high, low))
        }
        _ => Cow::Borrowed(key),
    }
}

/// 128 bits as a GUID in the canonical lowercase form (the inverse of [`guid`]).
pub(crate) fn guid_text(high: u64, low: u64) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

/// The 128 bits of a GUID in the canonical lowercase form (`8-4-4-4-12` hex digits).
fn guid(id: &str) -> Option<(u64, u64)> {
    let bytes = id.as_bytes();
    let hex = |from: usize, to: usize| {
        bytes.get(from..to)?.iter().try_fold(0u64, |value, &byte| {
            let nibble = match byte {
                b'0'..=b'9' => byte - b'0',
                b'a'..=b'f' => byte - b'a' + 10,
                _ => return None,
            };
            Some(value << 4 | u64::from(nibble))
        })
    };
    if bytes.len() != 36
        || [8, 13, 18, 23]
            .iter()
            .any(|&at| bytes.get(at) != Some(&b'-'))
    {
        return None;
    }
    let high = hex(0, 8)? << 32 | hex(9, 13)? << 16 | hex(14, 18)?;
    let low = hex(19, 23)? << 48 | hex(24, 36)?;
    Some((high, low))
}

/// A string-keyed map holding at most `cap` entries.
#[derive(Debug, Clone)]
pub struct BoundedMap<V> {
    young: HashMap<Key, V, RandomState>,
    old: HashMap<Key, V, RandomState>,
    cap: usize,
    evicted: u64,
}

impl<V: Expiring> BoundedMap<V> {
    /// An empty map of at most `cap` entries (at least 2).
    pub fn new(cap: usize, hasher: &RandomState) -> Self {
        let cap = cap.max(2);
        BoundedMap {
            young: HashMap::with_hasher(hasher.clone()),
            old: HashMap::with_hasher(hasher.clone()),
            cap,
            evicted: 0,
        }
    }

    // Both generations share one hasher (a generation is always made from the other's), so a
    // key is hashed once per call and looked up in either with that hash.
    fn hash(&self, key: &str) -> u64 {
        self.young.hasher().hash_one(key)
    }

    fn in_young(&self, hash: u64, key: &str) -> bool {
        self.young.raw_entry().from_hash(hash, is(key)).is_some()
    }

    /// The entry for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&V> {
        let hash = self.hash(key);
        self.young
            .raw_entry()
            .from_hash(hash, is(key))
            .or_else(|| self.old.raw_entry().from_hash(hash, is(key)))
            .map(|(_, value)| value)
    }

    /// The entry for `key`, moved to the young generation, if present.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let hash = self.hash(key);
        let BoundedMap { young, old, .. } = self;
        match young.raw_entry_mut().from_hash(hash, is(key)) {
            RawEntryMut::Occupied(entry) => Some(entry.into_mut()),
            RawEntryMut::Vacant(entry) => {
                let (key, value) = take(old, hash, key)?;
                Some(entry.insert_hashed_nocheck(hash, key, value).1)
            }
        }
    }

    /// The entry for `key`, created with `make` if absent. `live_since` is the oldest event time
    /// that still matters: dropped entries seen since then count as evictions.
    pub fn get_or_insert_with(
        &mut self,
        key: &str,
        live_since: Timestamp,
        make: impl FnOnce() -> V,
    ) -> &mut V {
        let hash = self.hash(key);
        // A key found in the young generation costs one probe (two once the young generation is
        // full: then a new key rotates the generations first); a new key, a probe of each.
        let mut moved = None;
        if self.young.len() >= self.cap / 2 && !self.in_young(hash, key) {
            moved = take(&mut self.old, hash, key);
            self.rotate(live_since);
        }
        let BoundedMap { young, old, .. } = self;
        match young.raw_entry_mut().from_hash(hash, is(key)) {
            RawEntryMut::Occupied(entry) => entry.into_mut(),
            RawEntryMut::Vacant(entry) => {
                let (key, value) = moved
                    .or_else(|| take(old, hash, key))
                    .unwrap_or_else(|| (Key::from(key), make()));
                entry.insert_hashed_nocheck(hash, key, value).1
            }
        }
    }

    /// Inserts `key` with `make`'s value unless it is held; true when it was not (a key remembered
    /// once per horizon: "not signalled yet").
    pub fn insert_if_absent(
        &mut self,
        key: &str,
        live_since: Timestamp,
        make: impl FnOnce() -> V,
    ) -> bool {
        let mut new = false;
        self.get_or_insert_with(key, live_since, || {
            new = true;
            make()
        });
        new
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let hash = self.hash(key);
        take(&mut self.young, hash, key)
            .or_else(|| take(&mut self.old, hash, key))
            .map(|(_, value)| value)
    }

    /// Drops every entry last seen before `live_since` (not counted as evictions).
    pub fn expire(&mut self, live_since: Timestamp) {
        self.young
            .retain(|_, value| value.last_seen() >= live_since);
        self.old.retain(|_, value| value.last_seen() >= live_since);
    }

    /// Makes room in the young generation: drops its entries last seen before `live_since`, and
    /// unless that leaves it under a quarter of the cap, drops the old generation (its live entries counted as
    /// evictions) and makes the young one old. So the cap bounds live entries, whenever the owner
    /// last called [`expire`](Self::expire).
    fn rotate(&mut self, live_since: Timestamp) {
        self.young
            .retain(|_, value| value.last_seen() >= live_since);
        if self.young.len() < self.cap / 4 {
            return;
        }
        let live = self
            .old
            .values()
            .filter(|value| value.last_seen() >= live_since)
            .count();
        self.evicted += live as u64;
        let empty = HashMap::with_hasher(self.young.hasher().clone());
        self.old = std::mem::replace(&mut self.young, empty);
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    /// No entries held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live entries dropped because of the cap, since creation.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.young
            .iter()
            .chain(self.old.iter())
            .map(|(key, value)| (&**key, value))
    }

    /// Calls `f` on every value, in no particular order.
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut V)) {
        self.young
            .values_mut()
            .chain(self.old.values_mut())
            .for_each(&mut f);
    }

    /// Rebuilds the tables with `hasher` (after a restore: the seed is the running host's).
    pub fn reseed(&mut self, hasher: &RandomState) {
        self.reseed_rekeyed(hasher, |_| None);
    }

    /// [`reseed`](Self::reseed), with each key replaced by what `rekey` gives for it (`None`:
    /// unchanged).
    pub fn reseed_rekeyed(
        &mut self,
        hasher: &RandomState,
        mut rekey: impl FnMut(&str) -> Option<String>,
    ) {
        let mut rebuilt = |map: &mut HashMap<Key, V, RandomState>| {
            let mut new = HashMap::with_capacity_and_hasher(map.len(), hasher.clone());
            new.extend(
                map.drain()
                    .map(|(key, value)| (rekey(&key).map_or(key, Key::from), value)),
            );
            new
        };
        self.young = rebuilt(&mut self.young);
        self.old = rebuilt(&mut self.old);
    }
}

/// The snapshot form of a [`BoundedMap`]: entries sorted by key, so the same state always writes
/// the same bytes.
#[derive(Serialize, Deserialize)]
struct SavedMap<V> {
    cap: usize,
    evicted: u64,
    young: Vec<(Box<str>, V)>,
    old: Vec<(Box<str>, V)>,
}

impl<V: Serialize + Clone> BoundedMap<V> {
    /// The snapshot form, with each key as `written` gives it.
    pub fn saved(&self, written: impl Fn(&str) -> Cow<'_, str>) -> impl Serialize {
        let sorted = |map: &HashMap<Key, V, RandomState>| {
            let mut entries: Vec<(Box<str>, V)> = map
                .iter()
                .map(|(key, value)| (Box::from(written(key)), value.clone()))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries
        };
        SavedMap {
            cap: self.cap,
            evicted: self.evicted,
            young: sorted(&self.young),
            old: sorted(&self.old),
        }
    }
}

impl<V: Serialize + Clone> Serialize for BoundedMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.saved(|key| Cow::Borrowed(key)).serialize(serializer)
    }
}

impl<'de, V: DeserializeOwned> Deserialize<'de> for BoundedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let saved = SavedMap::<V>::deserialize(deserializer)?;
        // A placeholder seed: every owner calls `reseed` with the host's seed after a restore.
        let keyed = |entries: Vec<(Box<str>, V)>| {
            let mut map = HashMap::with_hasher(unseeded());
            map.extend(
                entries
                    .into_iter()
                    .map(|(key, value)| (Key::from(&*key), value)),
            );
            map
        };
        let (young, old) = (keyed(saved.young), keyed(saved.old));
        Ok(BoundedMap {
            young,
            old,
            cap: saved.cap.max(2),
            evicted: saved.evicted,
        })
    }
}

/// The distinct members of one key within a sliding window of event time (e.g. the mailboxes one
/// app read in the last 10 minutes), with at most `cap` occurrences kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DistinctWindow {
    occurrences: std::collections::VecDeque<(Timestamp, Box<str>)>,
    counts: std::collections::BTreeMap<Box<str>, u32>,
    last_seen: Timestamp,
}

impl Expiring for DistinctWindow {
    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }
}

impl DistinctWindow {
    /// Adds `member` at `time`, forgetting occurrences before `time - window`; returns how many
    /// occurrences were dropped because of `cap` (not because of age).
    pub fn add(&mut self, time: Timestamp, member: &str, window: Timestamp, cap: usize) -> u64 {
        self.forget_before(time.saturating_sub(window));
        let mut dropped = 0;
        while self.occurrences.len() >= cap.max(1) {
            self.pop();
            dropped += 1;
        }
        *self.counts.entry(member.into()).or_insert(0) += 1;
        self.occurrences.push_back((time, member.into()));
        self.last_seen = self.last_seen.max(time);
        dropped
    }

    /// Forgets occurrences before `since`.
    pub fn forget_before(&mut self, since: Timestamp) {
        while self
            .occurrences
            .front()
            .is_some_and(|(time, _)| *time < since)
        {
            self.pop();
        }
    }

    fn pop(&mut self) {
        if let Some((_, member)) = self.occurrences.pop_front() {
            if let Some(count) = self.counts.get_mut(&member) {
                *count -= 1;
                if *count == 0 {
                    self.counts.remove(&member);
                }
            }
        }
    }

    /// Distinct members in the window.
    pub fn distinct(&self) -> usize {
        self.counts.len()
    }

    /// The distinct members, in order.
    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.counts.keys().map(|member| &**member)
    }

    /// Occurrences in the window.
    pub fn occurrences(&self) -> usize {
        self.occurrences.len()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use proptest::prelude::*;

    use super::{full_id, short_id, SHORT_ID_LEN};

    fn kept(id: &str) -> String {
        short_id(id, &mut [0; SHORT_ID_LEN]).into_owned()
    }

    #[test]
    fn a_lowercase_guid_is_kept_inline_and_given_back() {
        for id in [
            "4faeb6b4-f6ff-4979-82c2-a1677a80ffa6",
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
        ] {
            let short = kept(id);
            assert_eq!(short.len(), SHORT_ID_LEN);
            assert!(short.starts_with('\u{1}') && short.is_ascii(), "{short:?}");
            assert_eq!(full_id(&short), id);
        }
        assert_ne!(
            kept("4faeb6b4-f6ff-4979-82c2-a1677a80ffa6"),
            kept("4faeb6b4-f6ff-4979-82c2-a1677a80ffa7")
        );
    }

    #[test]
    fn other_ids_are_kept_as_they_are() {
        for id in [
            "4FAEB6B4-F6FF-4979-82C2-A1677A80FFA6",
            "4faeb6b4f6ff497982c2a1677a80ffa6",
            "4faeb6b4-f6ff-4979-82c2-a1677a80ffa",
            "4faeb6b4-f6ff-4979-82c2-a1677a80ffag",
            "4faeb6b4-f6ff-4979-82c2a-1677a80ffa6",
            "Directory_4faeb6b4_ABC",
            "",
        ] {
            assert!(
                matches!(short_id(id, &mut [0; SHORT_ID_LEN]), Cow::Borrowed(kept) if kept == id)
            );
            assert_eq!(full_id(id), id);
        }
    }

    proptest! {
        // Every id comes back from its kept form, so two ids never share one; ids that start
        // with the short form's marker included.
        #[test]
        fn full_id_inverts_short_id(id in "[\u{1}\u{2}]{0,2}[0-9a-f\\-A-Z+/]{0,40}") {
            let short = kept(&id);
            prop_assert_eq!(full_id(&short), id.as_str());
        }

        #[test]
        fn every_lowercase_guid_comes_back(bits in any::<u128>()) {
            let id = format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                bits >> 96, (bits >> 80) & 0xffff, (bits >> 64) & 0xffff, (bits >> 48) & 0xffff,
                bits & 0xffff_ffff_ffff
            );
            let short = kept(&id);
            prop_assert_eq!(short.len(), SHORT_ID_LEN);
            prop_assert_eq!(full_id(&short), id.as_str());
        }
    }

    proptest! {
        // Keys that differ in one byte anywhere (in a whole word, in the overlapping last word,
        // or in a short key) and keys of other lengths.
        #[test]
        fn same_is_string_equality(key in "[a-c]{0,40}", at in any::<prop::sample::Index>(), other in "[a-c]{0,40}") {
            prop_assert!(super::same(&key, &key));
            prop_assert_eq!(super::same(&key, &other), key == other);
            if !key.is_empty() {
                let mut changed = key.clone().into_bytes();
                let at = at.index(changed.len());
                changed[at] = b'z';
                let changed = String::from_utf8(changed).unwrap();
                prop_assert!(!super::same(&key, &changed));
                prop_assert!(!super::same(&changed, &key));
            }
        }
    }

    #[test]
    fn distinct_window_slides_and_caps() {
        let mut window = DistinctWindow::default();
        for (time, member) in [(0, "a"), (1, "b"), (2, "a"), (3, "c")] {
            window.add(time, member, 10, 100);
        }
        assert_eq!((window.distinct(), window.occurrences()), (3, 4));
        window.add(12, "d", 10, 100); // forgets times 0 and 1
        assert_eq!(window.members().collect::<Vec<_>>(), ["a", "c", "d"]);
        // Time 3 slides out by age (not counted), then "c" is dropped for the cap of 2.
        assert_eq!(window.add(13, "e", 10, 2), 1);
        assert_eq!(window.members().collect::<Vec<_>>(), ["d", "e"]);
    }

    use super::*;

    #[test]
    fn holds_at_most_the_cap_and_counts_live_evictions() {
        let mut map: BoundedMap<Timestamp> = BoundedMap::new(100, &hasher(1));
        for i in 0..1000i64 {
            map.get_or_insert_with(&format!("ip-{i}"), 0, || i);
            assert!(map.len() <= 100);
        }
        // Every dropped key was seen at or after time 0, so all count as evictions.
        assert_eq!(map.evicted(), 1000 - map.len() as u64);
    }

    #[test]
    fn expired_entries_are_not_evictions() {
        let mut map: BoundedMap<Timestamp> = BoundedMap::new(10, &hasher(1));
        for i in 0..100i64 {
            map.get_or_insert_with(&format!("k{i}"), i64::MAX, || i);
        }
        assert_eq!(map.evicted(), 0);
    }

    #[test]
    fn stale_entries_make_room_before_live_ones_are_dropped() {
        let mut map: BoundedMap<Timestamp> = BoundedMap::new(8, &hasher(5));
        for key in ["a", "b", "c", "d"] {
            map.get_or_insert_with(key, 0, || 100); // live
        }
        for key in ["e", "f", "g", "h"] {
            map.get_or_insert_with(key, 0, || 1); // young, last seen at 1
        }
        // With everything seen before 50 stale, the young generation is emptied instead of the
        // old one (a..d, live) being dropped: nothing evicted.
        map.get_or_insert_with("i", 50, || 100);
        assert_eq!(map.evicted(), 0);
        assert!(["a", "b", "c", "d", "i"]
            .iter()
            .all(|key| map.get(key).is_some()));
        assert!(map.get("e").is_none());
    }

    #[test]
    fn a_key_touched_every_generation_survives_a_flood() {
        let mut map: BoundedMap<Timestamp> = BoundedMap::new(64, &hasher(7));
        for i in 0..10_000i64 {
            map.get_or_insert_with(&format!("flood-{i}"), 0, || i);
            if i % 16 == 0 {
                *map.get_or_insert_with("spray-ip", 0, || i) = i;
            }
        }
        assert!(map.get("spray-ip").is_some());
        assert!(map.len() <= 64);
    }

    #[test]
    fn get_mut_promotes_and_remove_forgets() {
        let mut map: BoundedMap<Timestamp> = BoundedMap::new(4, &hasher(3));
        map.get_or_insert_with("a", 0, || 1);
        map.get_or_insert_with("b", 0, || 2);
        map.get_or_insert_with("c", 0, || 3); // rotates: a, b become old
        assert_eq!(map.get_mut("a").copied(), Some(1));
        map.get_or_insert_with("d", 0, || 4); // rotates: b dropped, a (promoted) kept
        assert!(map.get("a").is_some() && map.get("b").is_none());
        assert_eq!(map.remove("a"), Some(1));
        assert!(map.get("a").is_none());
        map.expire(4);
        assert!(map.get("d").is_some() && map.get("c").is_none());
    }
}
