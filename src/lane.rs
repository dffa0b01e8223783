//! One tenant's engine: event-time ordering, de-duplication and the detectors.
//!
//! Events are processed in event-time order. Each accepted event raises the lane's watermark to
//! its time minus the allowed lateness, waits in a bounded reorder buffer until the watermark
//! passes it, and is then offered to every detector in registry order. Everything is decided per
//! event, in input order, so the same events give the same findings however they are split into
//! batches. An event older than the watermark when it arrives is still processed (counted as
//! late). The [`Engine`](crate::Engine) keeps one lane per tenant, so nothing here is shared
//! between tenants: windows, baselines, watermark, incidents.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use ahash::RandomState;
use serde::{Deserialize, Serialize};

use crate::allowlist::Allowlist;
use crate::config::Config;
use crate::detectors::kit::administrators::Administrators;
use crate::detectors::{self, Context, Parts, Registered, Signal, Suppression, STATE_PRESSURE};
use crate::engine::{Stats, TenantStats};
use crate::event::Event;
use crate::finding::{Finding, Severity};
use crate::state::{self, BoundedMap};
use crate::time::{self, Timestamp, HOUR, MINUTE};
use crate::Error;

#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    time: Timestamp,
    sequence: u64,
    /// Boxed: the heap moves entries on every push and pop, and an event is hundreds of bytes.
    /// (A box serializes as its content: snapshots are unchanged.)
    event: Box<Event>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.sequence) == (other.time, other.sequence)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.time, self.sequence).cmp(&(other.time, other.sequence))
    }
}

/// How far the watermark moves before detectors are asked to close what it passed.
pub(crate) const SWEEP_EVERY: Timestamp = MINUTE;

/// How long (in event time, behind the watermark) event ids are remembered: a record redelivered
/// within this (an at-least-once shipper replaying after a restart) is dropped as a duplicate
/// rather than processed twice. At least the allowed lateness; bounded by `limits.max_dedup_ids`.
const DEDUP_HORIZON: Timestamp = HOUR;

/// How often (in event time) ids past the horizon are dropped from memory. Lookups check the
/// horizon themselves, so this only bounds how long a forgotten id still takes space.
const DEDUP_EXPIRY_EVERY: Timestamp = 10 * MINUTE;

/// A lane's state in a snapshot (each detector saves its own).
#[derive(Serialize, Deserialize)]
struct SavedLane {
    buffer: Vec<Pending>,
    dedup: BoundedMap<Timestamp>,
    max_time: Option<Timestamp>,
    watermark: Option<Timestamp>,
    last_sweep: Timestamp,
    sequence: u64,
    counts: Counts,
    pressure: Suppression,
    pressure_reported: u64,
    #[serde(default)]
    held: Vec<Event>,
    /// Snapshots from before the lane kept its administrators hold none.
    #[serde(default)]
    administrators: Option<Administrators>,
    detectors: BTreeMap<String, serde_json::Value>,
}

/// What a lane counts (its state sizes are read off its tables when `stats` asks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Counts {
    pub accepted: u64,
    pub duplicates: u64,
    pub late: u64,
    pub buffer_overflow: u64,
    pub findings: BTreeMap<String, u64>,
}

impl Counts {
    /// Adds `other`'s counts into these.
    pub fn add(&mut self, other: &Counts) {
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.late += other.late;
        self.buffer_overflow += other.buffer_overflow;
        for (detector, n) in &other.findings {
            *self.findings.entry(detector.clone()).or_insert(0) += n;
        }
    }
}

/// What a lane is built from: the same for every lane of an engine.
pub(crate) struct Shared {
    pub config: Arc<Config>,
    pub allowlist: Arc<Allowlist>,
    pub hasher: RandomState,
}

/// One tenant's engine. Pure: no I/O, no clock, no randomness.
pub(crate) struct Lane {
    config: Arc<Config>,
    /// The tenant (its id as the engine keys it), or `None` for events that name none.
    tenant: Option<Arc<str>>,
    detectors: Vec<Registered>,
    buffer: BinaryHeap<Reverse<Pending>>,
    dedup: BoundedMap<Timestamp>,
    /// Highest event time seen.
    max_time: Option<Timestamp>,
    watermark: Option<Timestamp>,
    last_sweep: Timestamp,
    sequence: u64,
    counts: Counts,
    /// The open `state-pressure` finding, and the evictions it has reported.
    pressure: Suppression,
    pressure_reported: u64,
    /// Events far after the stream, held until the stream catches up or enough of them agree.
    held: Vec<Event>,
    /// The days on which each account made administrative changes.
    administrators: Administrators,
}

impl Lane {
    /// An empty lane for `tenant`.
    pub fn new(shared: &Shared, tenant: Option<Arc<str>>) -> Lane {
        let config = &shared.config;
        Lane {
            detectors: detectors::build(
                &config.detectors,
                &Parts {
                    allowlist: &shared.allowlist,
                    hasher: &shared.hasher,
                    max_open: config.limits.max_open_findings.get(),
                },
            ),
            dedup: BoundedMap::new(config.limits.max_dedup_ids, &shared.hasher),
            buffer: BinaryHeap::new(),
            max_time: None,
            watermark: None,
            last_sweep: Timestamp::MIN,
            sequence: 0,
            counts: Counts::default(),
            pressure: Suppression::new(STATE_PRESSURE, HOUR, 1),
            pressure_reported: 0,
            held: Vec::new(),
            administrators: Administrators::new(&config.administrators, &shared.hasher),
            config: Arc::clone(config),
            tenant,
        }
    }

    /// The tenant, or `None` for the lane of events that name none.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// The lane's watermark, or `None` before its first event.
    pub fn watermark(&self) -> Option<Timestamp> {
        self.watermark
    }

    /// A context at this lane's watermark, its finding ids told apart by tenant.
    fn context(&self) -> Context {
        Context::new(
            self.watermark.unwrap_or(Timestamp::MIN),
            self.tenant.clone(),
        )
    }

    /// Takes in one event, returning the findings it made.
    pub fn push(&mut self, event: Event) -> Vec<Finding> {
        self.counts.accepted += 1;
        let mut context = self.context();
        self.accept(event, &mut context);
        self.finish(context)
    }

    /// Takes in an event: one far after the stream is held (it must not move the watermark on
    /// its own); otherwise it is admitted, and held events the stream has caught up with follow.
    fn accept(&mut self, event: Event, context: &mut Context) {
        let jump = self.config.limits.max_time_jump.0;
        let far = self
            .max_time
            .is_some_and(|max| event.time() > max.saturating_add(jump));
        if far {
            self.held.push(event);
            if self.held.len() >= self.config.limits.time_jump_confirmations {
                // Enough events agree: the stream really jumped forward.
                for event in std::mem::take(&mut self.held) {
                    self.admit(event, context);
                }
            }
            return;
        }
        self.admit(event, context);
        if !self.held.is_empty() {
            let max = self.max_time.unwrap_or(Timestamp::MIN).saturating_add(jump);
            let (caught_up, still): (Vec<Event>, Vec<Event>) = std::mem::take(&mut self.held)
                .into_iter()
                .partition(|e| e.time() <= max);
            self.held = still;
            for event in caught_up {
                self.admit(event, context);
            }
        }
    }

    fn admit(&mut self, event: Event, context: &mut Context) {
        let time = event.time();
        let lateness = self.config.allowed_lateness.0;
        if self.is_duplicate(&event, time) {
            // Counted once, as a duplicate, even when it is also late.
            self.counts.duplicates += 1;
            return;
        }
        if let Some(watermark) = self.watermark {
            if time < watermark {
                self.counts.late += 1;
            }
        }
        let max_time = self.max_time.map_or(time, |max| max.max(time));
        self.max_time = Some(max_time);
        let watermark = max_time.saturating_sub(lateness);
        self.sequence += 1;
        self.buffer.push(Reverse(Pending {
            time,
            sequence: self.sequence,
            event: Box::new(event),
        }));
        self.raise_watermark(watermark, context);
        while self.buffer.len() > self.config.limits.max_buffered_events {
            self.counts.buffer_overflow += 1;
            self.release_one(context);
        }
    }

    fn is_duplicate(&mut self, event: &Event, time: Timestamp) -> bool {
        // A record without an id gets one hashed from its bytes, so the same bytes twice is a
        // duplicate too.
        let live_since = self.dedup_since(self.watermark.unwrap_or(Timestamp::MIN));
        let mut fresh = false;
        // An event older than the horizon (very late) is remembered as if it were at its edge.
        let remembered = time.max(live_since);
        let mut buffer = [0; state::SHORT_ID_LEN];
        let id = state::short_id(event.id(), &mut buffer);
        let seen = self.dedup.get_or_insert_with(&id, live_since, || {
            fresh = true;
            remembered
        });
        if !fresh && *seen < live_since {
            // Remembered, but past the horizon (not yet dropped from memory): forgotten.
            *seen = remembered;
            fresh = true;
        }
        !fresh
    }

    /// Ids of events before this are forgotten.
    fn dedup_since(&self, watermark: Timestamp) -> Timestamp {
        watermark.saturating_sub(DEDUP_HORIZON.max(self.config.allowed_lateness.0))
    }

    fn raise_watermark(&mut self, watermark: Timestamp, context: &mut Context) {
        if self.watermark.is_some_and(|current| current >= watermark) {
            self.release(context);
            return;
        }
        self.watermark = Some(watermark);
        context.watermark = watermark;
        self.release(context);
        if watermark.saturating_sub(self.last_sweep) >= SWEEP_EVERY {
            self.sweep(context);
        }
    }

    fn release(&mut self, context: &mut Context) {
        let watermark = context.watermark;
        while self
            .buffer
            .peek()
            .is_some_and(|Reverse(pending)| pending.time <= watermark)
        {
            self.release_one(context);
        }
    }

    fn release_one(&mut self, context: &mut Context) {
        let Some(Reverse(pending)) = self.buffer.pop() else {
            return;
        };
        let administrator = self
            .administrators
            .observe(&self.config.administrators, &pending.event);
        context.set_administrator(administrator);
        for registered in &mut self.detectors {
            registered.detector.on_event(&pending.event, context);
        }
        context.set_administrator(None);
        self.deliver_signals(context);
    }

    /// Delivers the signals raised while handling an event, then offers every new finding to the
    /// detectors of findings (the chain), which may emit findings of their own.
    fn deliver_signals(&mut self, context: &mut Context) {
        // Signals may raise signals; a detector never signals itself in a loop, but bound it.
        for _ in 0..8 {
            let signals: Vec<Signal> = context.take_signals();
            if signals.is_empty() {
                break;
            }
            for signal in &signals {
                for registered in &mut self.detectors {
                    registered.detector.on_signal(signal, context);
                }
            }
        }
        while let Some(finding) = context.next_to_offer() {
            for registered in &mut self.detectors {
                if registered.detector.reads_findings()
                    && registered.detector.id() != finding.detector
                {
                    registered.detector.on_finding(&finding, context);
                }
            }
        }
    }

    fn sweep(&mut self, context: &mut Context) {
        let previous = std::mem::replace(&mut self.last_sweep, context.watermark);
        // Detectors of events close their windows first; their closing findings reach the
        // detectors of findings (the chain) before those move on (and expire what is idle).
        for readers in [false, true] {
            for registered in &mut self.detectors {
                if registered.detector.reads_findings() == readers {
                    registered.detector.on_watermark(context);
                }
            }
            self.deliver_signals(context);
        }
        self.report_pressure(context);
        if time::crossed(previous, context.watermark, DEDUP_EXPIRY_EVERY) {
            self.dedup.expire(self.dedup_since(context.watermark));
        }
    }

    /// Live state dropped because a cap was reached, everywhere in the engine.
    fn evictions(&self) -> (u64, BTreeMap<String, u64>) {
        let mut by_part = BTreeMap::new();
        for registered in &self.detectors {
            let evicted = registered.detector.state().evicted;
            if evicted > 0 {
                by_part.insert(registered.detector.id().to_owned(), evicted);
            }
        }
        if self.dedup.evicted() > 0 {
            by_part.insert("dedup".to_owned(), self.dedup.evicted());
        }
        if self.administrators.evicted() > 0 {
            by_part.insert("administrators".to_owned(), self.administrators.evicted());
        }
        if self.counts.buffer_overflow > 0 {
            by_part.insert("reorder-buffer".to_owned(), self.counts.buffer_overflow);
        }
        (by_part.values().sum(), by_part)
    }

    /// Emits (or updates) the `state-pressure` finding when caps have dropped live state since
    /// the last report: a flood of distinct keys may be trying to blind the detectors.
    fn report_pressure(&mut self, context: &mut Context) {
        let (total, by_part) = self.evictions();
        if total <= self.pressure_reported {
            self.pressure.sweep(context);
            return;
        }
        let new = total - self.pressure_reported;
        self.pressure_reported = total;
        let time = context.watermark;
        let fill = |finding: &mut Finding| {
            finding.set("evicted_total", serde_json::json!(total));
            finding.set("evicted_by_part", serde_json::json!(by_part));
            finding.message = format!(
                "state caps dropped {total} live entries ({new} since the last report): {}; \
                 detection may be degraded — a flood of distinct keys can be an attempt to blind it",
                by_part.iter().map(|(part, n)| format!("{part} {n}")).collect::<Vec<_>>().join(", ")
            );
        };
        self.pressure.report(
            "engine",
            time,
            context,
            |uid| {
                let mut finding = Finding::new(
                    STATE_PRESSURE,
                    uid,
                    Severity::Medium,
                    time,
                    "Detection state under pressure: caps are dropping live state".to_owned(),
                    &[crate::attack::IMPAIR_DEFENSES],
                );
                fill(&mut finding);
                finding
            },
            fill,
        );
    }

    /// The findings a context gathered, with the severities configured and the tenant named.
    fn finish(&mut self, mut context: Context) -> Vec<Finding> {
        let mut findings = context.take_findings();
        for finding in &mut findings {
            if let Some(registered) = self
                .detectors
                .iter()
                .find(|r| r.detector.id() == finding.detector)
            {
                if let Some(severity) = registered.severity {
                    finding.severity = severity;
                }
            }
            finding.tenant.clone_from(&self.tenant);
            *self
                .counts
                .findings
                .entry(finding.detector.to_owned())
                .or_insert(0) += 1;
        }
        findings
    }

    /// Moves the watermark to `watermark` (for idle streams): events up to it are processed and
    /// windows that end before it close. A watermark below the current one changes nothing.
    pub fn advance(&mut self, watermark: Timestamp) -> Vec<Finding> {
        let mut context = self.context();
        if self.watermark.is_none_or(|current| watermark > current) {
            self.watermark = Some(watermark);
            context.watermark = watermark;
            self.release(&mut context);
            self.sweep(&mut context);
        }
        self.finish(context)
    }

    /// End of input: processes every buffered (and held) event and closes every open finding.
    pub fn flush(&mut self) -> Vec<Finding> {
        let mut context = self.context();
        for event in std::mem::take(&mut self.held) {
            self.admit(event, &mut context);
        }
        let watermark = self.max_time.unwrap_or(Timestamp::MIN);
        context.watermark = self.watermark.map_or(watermark, |w| w.max(watermark));
        while !self.buffer.is_empty() {
            self.release_one(&mut context);
        }
        self.sweep(&mut context);
        // Closing findings are offered to the detectors of findings (the chain), which close
        // last, once every finding they may link has reached them.
        for readers in [false, true] {
            for registered in &mut self.detectors {
                if registered.detector.reads_findings() == readers {
                    registered.detector.flush(&mut context);
                }
            }
            self.deliver_signals(&mut context);
        }
        self.report_pressure(&mut context);
        self.pressure.flush(&mut context);
        self.finish(context)
    }

    /// The lane's whole state as JSON. A detector whose state cannot be written fails it,
    /// naming the detector: a snapshot that left it out would restore it empty without a word.
    pub fn save(&self) -> Result<serde_json::Value, Error> {
        let mut detectors = BTreeMap::new();
        for registered in &self.detectors {
            let id = registered.detector.id();
            let state = registered.detector.save().map_err(|error| {
                Error::InvalidSnapshot(format!("detector {id} could not be saved: {error}"))
            })?;
            detectors.insert(id.to_owned(), state);
        }
        let mut buffer: Vec<&Pending> = self.buffer.iter().map(|Reverse(p)| p).collect();
        buffer.sort();
        Ok(serde_json::json!({
            "buffer": buffer,
            "dedup": self.dedup.saved(state::full_id),
            "max_time": self.max_time,
            "watermark": self.watermark,
            "last_sweep": self.last_sweep,
            "sequence": self.sequence,
            "counts": self.counts,
            "pressure": self.pressure,
            "pressure_reported": self.pressure_reported,
            "held": self.held,
            "administrators": self.administrators,
            "detectors": detectors,
        }))
    }

    /// A lane for `tenant` that continues from what [`Lane::save`] wrote; its tables hashed with
    /// the shared (freshly seeded) hasher.
    pub fn load(
        shared: &Shared,
        tenant: Option<Arc<str>>,
        saved: serde_json::Value,
    ) -> Result<Lane, String> {
        let saved: SavedLane =
            serde_json::from_value(saved).map_err(|e| format!("unreadable state: {e}"))?;
        let mut lane = Lane::new(shared, tenant);
        let hasher = &shared.hasher;
        for registered in &mut lane.detectors {
            let id = registered.detector.id();
            if let Some(state) = saved.detectors.get(id) {
                registered
                    .detector
                    .load(state.clone(), hasher)
                    .map_err(|e| format!("detector {id}: {e}"))?;
            }
        }
        lane.buffer = saved.buffer.into_iter().map(Reverse).collect();
        lane.dedup = saved.dedup;
        lane.dedup.reseed_rekeyed(hasher, |id| {
            match state::short_id(id, &mut [0; state::SHORT_ID_LEN]) {
                short if *short != *id => Some(short.into_owned()),
                _ => None,
            }
        });
        lane.max_time = saved.max_time;
        lane.watermark = saved.watermark;
        lane.last_sweep = saved.last_sweep;
        lane.sequence = saved.sequence;
        lane.counts = saved.counts;
        lane.pressure = saved.pressure;
        lane.pressure.configure(STATE_PRESSURE, HOUR, 1);
        lane.pressure_reported = saved.pressure_reported;
        lane.held = saved.held;
        if let Some(mut administrators) = saved.administrators {
            administrators.reseed(hasher);
            lane.administrators = administrators;
        }
        Ok(lane)
    }

    /// What the lane counted.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Adds the lane's figures into `stats` (the engine's sums over every tenant) and returns
    /// them on their own.
    pub fn add_to(&self, stats: &mut Stats) -> TenantStats {
        let counts = &self.counts;
        let mut own = TenantStats {
            accepted: counts.accepted,
            duplicates: counts.duplicates,
            late: counts.late,
            buffered: self.buffer.len(),
            watermark: self.watermark,
            findings: counts.findings.values().sum(),
            entries: self.administrators.len(),
            evicted: self.dedup.evicted() + self.administrators.evicted() + counts.buffer_overflow,
            ..TenantStats::default()
        };
        stats.accepted += counts.accepted;
        stats.duplicates += counts.duplicates;
        stats.late += counts.late;
        stats.buffer_overflow += counts.buffer_overflow;
        stats.held_future += self.held.len();
        stats.buffered += self.buffer.len();
        stats.dedup_ids += self.dedup.len();
        stats.dedup_evicted += self.dedup.evicted();
        stats.administrators += self.administrators.len();
        stats.administrators_evicted += self.administrators.evicted();
        stats.watermark = stats.watermark.max(self.watermark);
        for (detector, n) in &counts.findings {
            *stats.findings.entry(detector.clone()).or_insert(0) += n;
        }
        for registered in &self.detectors {
            let state = registered.detector.state();
            own.entries += state.entries;
            own.evicted += state.evicted;
            own.open_findings += state.open_findings;
            stats.add_state(registered.detector.id(), state);
        }
        own
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::StateStats;

    /// A detector whose state cannot be written.
    struct Unsaveable;

    impl crate::detectors::Detector for Unsaveable {
        fn id(&self) -> &'static str {
            "unsaveable"
        }
        fn on_event(&mut self, _: &Event, _: &mut Context) {}
        fn on_watermark(&mut self, _: &mut Context) {}
        fn flush(&mut self, _: &mut Context) {}
        fn state(&self) -> StateStats {
            StateStats::default()
        }
        fn save(&self) -> Result<serde_json::Value, String> {
            Err("no room".to_owned())
        }
        fn load(&mut self, _: serde_json::Value, _: &RandomState) -> Result<(), String> {
            Ok(())
        }
    }

    #[test]
    fn a_detector_that_cannot_be_saved_fails_the_save_by_name() {
        let config = Arc::new(Config::default());
        let hasher = state::hasher(1);
        let shared = Shared {
            allowlist: Arc::new(config.allowlist(&hasher).expect("defaults")),
            config,
            hasher,
        };
        let mut lane = Lane::new(&shared, None);
        assert!(lane.save().is_ok());
        lane.detectors.push(Registered {
            detector: Box::new(Unsaveable),
            severity: None,
        });
        assert_eq!(
            lane.save().map(|_| ()),
            Err(Error::InvalidSnapshot(
                "detector unsaveable could not be saved: no room".to_owned()
            ))
        );
    }
}
