//! Routine: the days on which a key did what a detector reports, so that behaviour seen on many
//! earlier days (a backup product's nightly sweep of every mailbox) is shown as routine rather
//! than raised again each night, while the first nights, and anything new, are raised.
//!
//! One bit per UTC day for the last [`MAX_DAYS`] days, per key, in a capped table: eight bytes of
//! days and a timestamp a key, whatever it does in a day.

use ahash::RandomState;
use serde::{Deserialize, Serialize};

use crate::state::{BoundedMap, Expiring};
use crate::time::{Timestamp, DAY};

/// The most days a routine looks back.
pub const MAX_DAYS: i64 = 63;

/// The days one key was marked: bit `i` is the day `last_day - i`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Days {
    last_day: i64,
    bits: u64,
    last_seen: Timestamp,
}

impl Expiring for Days {
    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }
}

/// The days on which each key did it (see the module docs).
#[derive(Debug, Serialize, Deserialize)]
pub struct Routine {
    days: BoundedMap<Days>,
}

fn day_of(time: Timestamp) -> i64 {
    time.div_euclid(DAY)
}

impl Routine {
    /// A routine of at most `cap` keys.
    pub fn new(cap: usize, hasher: &RandomState) -> Self {
        Routine {
            days: BoundedMap::new(cap, hasher),
        }
    }

    /// Marks that `key` did it at `time`; keys not marked since `live_since` may be dropped.
    pub fn mark(&mut self, key: &str, time: Timestamp, live_since: Timestamp) {
        let day = day_of(time);
        let days = self.days.get_or_insert_with(key, live_since, || Days {
            last_day: day,
            bits: 0,
            last_seen: time,
        });
        if day >= days.last_day {
            let shift = day - days.last_day;
            days.bits = if shift >= 64 { 0 } else { days.bits << shift };
            days.bits |= 1;
            days.last_day = day;
        } else if days.last_day - day < 64 {
            // A late record: its day, if still within reach.
            days.bits |= 1u64 << (days.last_day - day);
        }
        days.last_seen = days.last_seen.max(time);
    }

    /// On how many days before `time`'s day, within `baseline` (at most [`MAX_DAYS`] days), `key`
    /// did it.
    pub fn days_before(&self, key: &str, time: Timestamp, baseline: Timestamp) -> u32 {
        let Some(days) = self.days.get(key) else {
            return 0;
        };
        let day = day_of(time);
        let from = day - (baseline / DAY).clamp(0, MAX_DAYS);
        (0..64)
            .filter(|i| days.bits & (1u64 << i) != 0)
            .map(|i| days.last_day - i)
            .filter(|marked| (from..day).contains(marked))
            .count() as u32
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// Keys dropped for the cap while still live.
    pub fn evicted(&self) -> u64 {
        self.days.evicted()
    }

    /// Re-seeds the table after a restore.
    pub fn reseed(&mut self, hasher: &RandomState) {
        self.days.reseed(hasher);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = 1_740_531_600_000; // 2025-02-26T01:00:00Z

    #[test]
    fn counts_the_distinct_earlier_days_within_the_baseline() {
        let mut routine = Routine::new(16, &crate::state::hasher(1));
        // Night after night, twice a night.
        for night in 0..5 {
            for minute in [0, 7] {
                routine.mark("backup", T0 + night * DAY + minute * 60_000, 0);
            }
        }
        let sixth = T0 + 5 * DAY;
        assert_eq!(routine.days_before("backup", sixth, 30 * DAY), 5);
        // The day itself does not count: the first night has none before it.
        assert_eq!(routine.days_before("backup", T0 + 60_000, 30 * DAY), 0);
        assert_eq!(routine.days_before("backup", T0 + 2 * DAY, 30 * DAY), 2);
        // Only days within the baseline.
        assert_eq!(routine.days_before("backup", sixth, 2 * DAY), 2);
        assert_eq!(routine.days_before("backup", T0 + 40 * DAY, 30 * DAY), 0);
        assert_eq!(routine.days_before("other", sixth, 30 * DAY), 0);
    }

    #[test]
    fn a_late_record_and_a_long_gap() {
        let mut routine = Routine::new(16, &crate::state::hasher(1));
        routine.mark("app", T0 + 3 * DAY, 0);
        routine.mark("app", T0 + DAY, 0); // late
        assert_eq!(routine.days_before("app", T0 + 4 * DAY, 30 * DAY), 2);
        routine.mark("app", T0 + 200 * DAY, 0);
        assert_eq!(routine.days_before("app", T0 + 201 * DAY, 63 * DAY), 1);
        // A record older than the days kept is not marked.
        routine.mark("app", T0 + 100 * DAY, 0);
        assert_eq!(routine.days_before("app", T0 + 201 * DAY, 63 * DAY), 1);
    }
}
