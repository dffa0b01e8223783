//! Suppression: one finding per detector and key while the activity goes on.
//!
//! The first occurrence creates a finding and emits it at once. Later occurrences of the same key
//! within the window update it in place; the update is emitted when the window closes (event time
//! has passed the last occurrence by the window), or at once if its severity rose. An occurrence
//! after the window has lapsed closes the old finding and opens a new one. Every detector that
//! reports per key uses this, so the same finding is never emitted twice as new.
//!
//! A finding stays at hand for [`LATE_HORIZON`] after it closes: an occurrence that arrives late
//! (its time within the closed finding's window, after the watermark has passed it) re-opens it
//! and goes out as an update of the same uid, rather than as a second finding of the same activity.
//! The unified audit log delivers its records up to a day after the sign-in and Azure Monitor logs
//! that drive the watermark: the same change logged by both, or a script's sweep whose records
//! come in two pipelines, stays one finding.
//!
//! At most `cap` findings are open at once. A new key beyond it first closes the findings idle
//! longest (an eighth of the cap at a time, so a flood of keys costs no scan per key): each goes
//! out with what it gathered, as when its window ends, and is counted as evicted. At most `cap`
//! closed findings are kept at hand; beyond it those that ended first go, an eighth at a time
//! (they were emitted already, and are not counted).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Context;
use crate::finding::{Activity, Finding};
use crate::time::{Timestamp, DAY};

/// How long a closed finding is kept to take in occurrences that arrive late: the unified audit
/// log's documented latency (up to 24 hours).
pub const LATE_HORIZON: Timestamp = DAY;

/// When `map` holds `cap` entries or more: the keys of those idle longest (by `last_seen`), an
/// eighth of the cap (at least one), oldest first, for the caller to close and count. Dropping a
/// batch at a time keeps a flood of new keys from paying a scan of the map per key.
pub fn idle_longest<V>(
    map: &BTreeMap<String, V>,
    cap: usize,
    last_seen: impl Fn(&V) -> Timestamp,
) -> Vec<String> {
    if map.len() < cap {
        return Vec::new();
    }
    let mut idle: Vec<(Timestamp, &String)> = map
        .iter()
        .map(|(key, value)| (last_seen(value), key))
        .collect();
    let count = (cap / 8).clamp(1, idle.len());
    idle.select_nth_unstable(count - 1);
    idle.truncate(count);
    idle.sort();
    idle.into_iter().map(|(_, key)| key.clone()).collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(
    serialize = "S: Serialize + 'static",
    deserialize = "S: Deserialize<'de> + Default"
))]
struct Open<S> {
    finding: Finding,
    grew: bool,
    /// What the detector keeps of this finding besides the finding itself (a count, the
    /// distinct values seen): typed state, never read back from the finding's output.
    #[serde(default, skip_serializing_if = "is_unit")]
    state: S,
}

fn is_unit<S: 'static>(_: &S) -> bool {
    std::any::TypeId::of::<S>() == std::any::TypeId::of::<()>()
}

/// The open findings of one detector, each with the typed state `S` the detector keeps of it. A
/// snapshot keeps the open findings and the evictions; the detector id, window and cap come from
/// the running detector ([`Suppression::configure`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(
    serialize = "S: Serialize + 'static",
    deserialize = "S: Deserialize<'de> + Default"
))]
pub struct Suppression<S = ()> {
    #[serde(skip)]
    detector: &'static str,
    #[serde(skip)]
    window: Timestamp,
    #[serde(skip)]
    cap: usize,
    open: BTreeMap<String, Open<S>>,
    /// Findings closed within [`LATE_HORIZON`], for occurrences that arrive late.
    #[serde(default = "BTreeMap::new")]
    closed: BTreeMap<String, Open<S>>,
    #[serde(default)]
    evicted: u64,
}

impl<S> Default for Suppression<S> {
    fn default() -> Self {
        Suppression::new("", 0, 1)
    }
}

impl<S> Suppression<S> {
    /// Suppression for `detector`, keeping a finding open for `window` after its last occurrence,
    /// and at most `cap` findings open.
    pub fn new(detector: &'static str, window: Timestamp, cap: usize) -> Self {
        Suppression {
            detector,
            window,
            cap: cap.max(1),
            open: BTreeMap::new(),
            closed: BTreeMap::new(),
            evicted: 0,
        }
    }

    /// Sets the detector id, window and cap (after a restore).
    pub fn configure(&mut self, detector: &'static str, window: Timestamp, cap: usize) {
        self.detector = detector;
        self.window = window;
        self.cap = cap.max(1);
    }

    /// The most findings open at once.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Open findings closed early because the cap was reached.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Makes room for one more key: closes the findings idle longest, an eighth of the cap.
    fn make_room(&mut self, context: &mut Context) {
        for key in idle_longest(&self.open, self.cap, |open| open.finding.time) {
            self.close(&key, context);
            self.evicted += 1;
        }
    }

    /// Reports an occurrence of `key` at `time`: `create` builds a new finding (given its uid),
    /// `update` adds this occurrence to an open one.
    pub fn report(
        &mut self,
        key: &str,
        time: Timestamp,
        context: &mut Context,
        create: impl FnOnce(String) -> Finding,
        update: impl FnOnce(&mut Finding),
    ) where
        S: Default,
    {
        self.report_with(key, time, context, |uid, _| create(uid), |f, _| update(f));
    }

    /// [`Suppression::report`], with the finding's typed state: `create` starts it (from its
    /// default), `update` carries it on.
    pub fn report_with(
        &mut self,
        key: &str,
        time: Timestamp,
        context: &mut Context,
        create: impl FnOnce(String, &mut S) -> Finding,
        update: impl FnOnce(&mut Finding, &mut S),
    ) where
        S: Default,
    {
        let lapsed = self
            .open
            .get(key)
            .is_some_and(|open| time > open.finding.time.saturating_add(self.window));
        if lapsed {
            self.close(key, context);
        } else if !self.open.contains_key(key) {
            self.reopen_for_late(key, time, context);
        }
        match self.open.get_mut(key) {
            Some(open) => {
                let before = open.finding.severity;
                update(&mut open.finding, &mut open.state);
                open.finding.time = open.finding.time.max(time);
                open.grew = true;
                if open.finding.severity > before {
                    let mut finding = open.finding.clone();
                    finding.activity = Activity::Update;
                    open.grew = false;
                    context.emit(finding);
                }
            }
            None => {
                self.make_room(context);
                let uid = context.uid(&[self.detector, key, &time.to_string()]);
                let mut state = S::default();
                let mut finding = create(uid, &mut state);
                finding.activity = Activity::Create;
                finding.first_seen = finding.first_seen.min(time);
                finding.time = finding.time.max(time);
                context.emit(finding.clone());
                self.open.insert(
                    key.to_owned(),
                    Open {
                        finding,
                        grew: false,
                        state,
                    },
                );
            }
        }
    }

    /// Re-opens `key`'s closed finding when an occurrence at `time` belongs to it: it arrived
    /// late, within the finding's window (before its last occurrence, or at most a window after).
    fn reopen_for_late(&mut self, key: &str, time: Timestamp, context: &mut Context) {
        let belongs = self.closed.get(key).is_some_and(|closed| {
            let finding = &closed.finding;
            time >= finding.first_seen.saturating_sub(self.window)
                && time <= finding.time.saturating_add(self.window)
        });
        if !belongs {
            return;
        }
        if let Some(mut open) = self.closed.remove(key) {
            self.make_room(context);
            open.grew = false;
            self.open.insert(key.to_owned(), open);
        }
    }

    /// The open finding of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Finding> {
        self.open.get(key).map(|open| &open.finding)
    }

    fn close(&mut self, key: &str, context: &mut Context) {
        if let Some(mut open) = self.open.remove(key) {
            if open.grew {
                let mut finding = open.finding.clone();
                finding.activity = Activity::Update;
                context.emit(finding);
                open.grew = false;
            }
            // At the cap, the closed findings that ended first go, an eighth of the cap at a time
            // (they were emitted already).
            for oldest in idle_longest(&self.closed, self.cap, |closed| closed.finding.time) {
                self.closed.remove(&oldest);
            }
            self.closed.insert(key.to_owned(), open);
        }
    }

    /// Closes every finding whose window ended before the watermark.
    pub fn sweep(&mut self, context: &mut Context) {
        let watermark = context.watermark;
        let window = self.window;
        let closed: Vec<String> = self
            .open
            .iter()
            .filter(|(_, open)| open.finding.time.saturating_add(window) < watermark)
            .map(|(key, _)| key.clone())
            .collect();
        for key in closed {
            self.close(&key, context);
        }
        let horizon = window.saturating_add(LATE_HORIZON);
        self.closed
            .retain(|_, closed| closed.finding.time.saturating_add(horizon) >= watermark);
    }

    /// Closes everything.
    pub fn flush(&mut self, context: &mut Context) {
        let keys: Vec<String> = self.open.keys().cloned().collect();
        for key in keys {
            self.close(&key, context);
        }
    }

    /// Findings open.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Closed findings kept at hand for late occurrences.
    pub fn closed_len(&self) -> usize {
        self.closed.len()
    }

    /// No finding open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;
    use crate::time::{HOUR, MINUTE};

    const T0: Timestamp = 1_740_531_600_000; // 2025-02-26T01:00:00Z

    /// Reports `key` at `time` with the watermark at `watermark` (sweeping first), and returns
    /// what was emitted: (activity, uid, evidence count).
    fn report(
        open: &mut Suppression,
        key: &str,
        time: Timestamp,
        watermark: Timestamp,
    ) -> Vec<(Activity, String, usize)> {
        let mut context = Context::new(watermark, None);
        open.sweep(&mut context);
        open.report(
            key,
            time,
            &mut context,
            |uid| {
                let mut finding = Finding::new("d", uid, Severity::High, time, "t".into(), &[]);
                finding.add_evidence(&time.to_string());
                finding
            },
            |finding| finding.add_evidence(&time.to_string()),
        );
        open.sweep(&mut context);
        context
            .take_findings()
            .into_iter()
            .map(|f| (f.activity, f.uid.clone(), f.evidence.len()))
            .collect()
    }

    #[test]
    fn a_late_occurrence_reopens_its_closed_finding() {
        let mut open = Suppression::new("d", HOUR, 8);
        let first = report(&mut open, "k", T0, T0);
        assert_eq!(first.len(), 1);
        let uid = first[0].1.clone();
        // The stream moves three hours on: the finding closes. A record of the same change
        // arrives then, stamped a minute after the first: the same finding, updated.
        let late = report(&mut open, "k", T0 + MINUTE, T0 + 3 * HOUR);
        assert_eq!(late, vec![(Activity::Update, uid.clone(), 2)]);
        // Stamped before the first, within the window: the same.
        let earlier = report(&mut open, "k", T0 - 30 * MINUTE, T0 + 4 * HOUR);
        assert_eq!(earlier, vec![(Activity::Update, uid.clone(), 3)]);
        // Past the window: a finding of its own.
        let apart = report(&mut open, "k", T0 + 2 * HOUR, T0 + 5 * HOUR);
        assert_eq!(apart.len(), 1);
        assert_eq!(apart[0].0, Activity::Create);
        assert_ne!(apart[0].1, uid);
        // A day after, the first finding is forgotten: a late record makes a new one.
        let forgotten = report(&mut open, "j", T0, T0 + 3 * DAY);
        let again = report(&mut open, "k", T0 + MINUTE, T0 + 3 * DAY);
        assert_eq!(forgotten[0].0, Activity::Create);
        assert_eq!(again[0].0, Activity::Create);
        assert_ne!(again[0].1, uid);
    }
}
