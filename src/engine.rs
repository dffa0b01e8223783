//! The engine: framing, normalization, event-time ordering, de-duplication and the detectors.
//!
//! Events are processed in event-time order. Each accepted event raises the watermark to its time
//! minus the allowed lateness, waits in a bounded reorder buffer until the watermark passes it,
//! and is then offered to every detector in registry order. Everything is decided per event, in
//! input order, so the same events give the same findings however they are split into batches.
//! An event older than the watermark when it arrives is still processed (counted as late).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use ahash::RandomState;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::detectors::{self, Context, Parts, Registered, Signal, Suppression, STATE_PRESSURE};
use crate::event::Event;
use crate::finding::{Finding, Severity};
use crate::input::{self, Framed};
use crate::normalize::{self, Normalized, RejectionKind};
use crate::state::{self, BoundedMap};
use crate::time::{Timestamp, HOUR, MINUTE};
use crate::Error;

/// A line that could not be read: where and why. The rest of the batch is still processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The 1-based line within the pushed batch where the record starts.
    pub line: u32,
    /// The class of problem.
    pub kind: RejectionKind,
    /// What was wrong.
    pub reason: String,
}

/// What one `push` produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pushed {
    /// Findings, in the order they were made.
    pub findings: Vec<Finding>,
    /// Records that could not be read.
    pub rejected: Vec<Rejected>,
    /// Records turned into events.
    pub accepted: u32,
    /// Records of known sources that no detector reads.
    pub ignored: u32,
}

/// Counters and state sizes, reported by `stats`. (Counters added later default to zero when an
/// older snapshot is read.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// Records read.
    pub records: u64,
    /// Records turned into events.
    pub accepted: u64,
    /// Records of known sources no detector reads.
    pub ignored: u64,
    /// Those records by what they were (`directory audit: Update user`, `unified audit log:
    /// SharePoint FileAccessed`); at most [`MAX_IGNORED_NAMES`] names, the rest under `(other)`.
    pub ignored_by_name: BTreeMap<String, u64>,
    /// Records rejected, by kind.
    pub rejected: BTreeMap<String, u64>,
    /// Events dropped as duplicates of an earlier event id.
    pub duplicates: u64,
    /// Events that arrived after the watermark had passed them (processed anyway).
    pub late: u64,
    /// Events forced out of the reorder buffer early because it was full.
    pub buffer_overflow: u64,
    /// Events held because they lie far after the stream (see `limits.max_time_jump`).
    pub held_future: usize,
    /// Events waiting in the reorder buffer.
    pub buffered: usize,
    /// Ids remembered for de-duplication.
    pub dedup_ids: usize,
    /// Dedup ids dropped because of the cap.
    pub dedup_evicted: u64,
    /// The watermark (ms), or null before the first event.
    pub watermark: Option<Timestamp>,
    /// Findings emitted, by detector (creates and updates).
    pub findings: BTreeMap<String, u64>,
    /// Per detector: keys tracked, live keys evicted, open findings.
    pub detectors: BTreeMap<String, DetectorStats>,
}

/// One detector's state figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectorStats {
    /// Keys tracked.
    pub entries: usize,
    /// Live keys evicted because a cap was reached.
    pub evicted: u64,
    /// Findings still open.
    pub open_findings: usize,
    /// Findings kept back at informational (the detector's settings say whether to emit them).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub informational: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

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

/// How many names of ignored records `stats` keeps apart (the rest are counted together).
pub const MAX_IGNORED_NAMES: usize = 64;

/// How far the watermark moves before detectors are asked to close what it passed.
const SWEEP_EVERY: Timestamp = MINUTE;

/// How long (in event time, behind the watermark) event ids are remembered: a record redelivered
/// within this (an at-least-once shipper replaying after a restart) is dropped as a duplicate
/// rather than processed twice. At least the allowed lateness; bounded by `limits.max_dedup_ids`.
const DEDUP_HORIZON: Timestamp = HOUR;

/// How often (in event time) ids past the horizon are dropped from memory. Lookups check the
/// horizon themselves, so this only bounds how long a forgotten id still takes space.
const DEDUP_EXPIRY_EVERY: Timestamp = 10 * MINUTE;

/// The first line of every snapshot, followed by the format version and a checksum.
const SNAPSHOT_MAGIC: &str = "SNOWYOWL-SNAPSHOT";
/// The snapshot format this build writes and reads (2: `spray-then-success` keeps a log of
/// recent sign-ins, and the spray detectors' unresolved failures a table of the users with
/// failures held, where format 1 had tables of every user; 3: `spray-then-success` keeps users'
/// familiar places and the sprays' addresses, and grades its hits, `password-spray` its known
/// egress IPs, `distributed-password-spray` IPs known for one user; 4: a detector built from a
/// rule saves its open findings and its rule's tables apart, and open findings count evictions).
pub const SNAPSHOT_VERSION: u32 = 4;

/// The engine's own state in a snapshot (each detector saves its own).
#[derive(Serialize, Deserialize)]
struct SavedEngine {
    crate_version: String,
    buffer: Vec<Pending>,
    dedup: BoundedMap<Timestamp>,
    max_time: Option<Timestamp>,
    watermark: Option<Timestamp>,
    last_sweep: Timestamp,
    sequence: u64,
    stats: Stats,
    pressure: Suppression,
    pressure_reported: u64,
    #[serde(default)]
    held: Vec<Event>,
    detectors: BTreeMap<String, serde_json::Value>,
}

/// Frames and normalizes `bytes`, calling `take` with every record in order and the line it
/// starts on (a line that could not be framed is a rejected record).
fn for_each_record(bytes: &[u8], take: &mut dyn FnMut(u32, Normalized)) {
    input::frame(bytes, &mut |framed| match framed {
        Framed::Record { line, text } => {
            normalize::normalize(text, &mut |normalized| take(line, normalized));
        }
        Framed::Rejected { line, rejection } => take(line, Normalized::Rejected(rejection)),
    });
}

/// A batch read into events, not yet given to an engine: the first half of [`Engine::push`]
/// (framing, parsing, normalizing), which needs no engine, so a host can do it on another
/// thread while the engine works on the batch before (the native command line does).
pub struct Prepared {
    records: Vec<(u32, Normalized)>,
}

/// Reads a batch for [`Engine::push_prepared`].
pub fn prepare(bytes: &[u8]) -> Prepared {
    let mut records = Vec::new();
    for_each_record(bytes, &mut |line, record| records.push((line, record)));
    Prepared { records }
}

/// The detection engine. Pure: no I/O, no clock, no randomness.
pub struct Engine {
    config: Config,
    detectors: Vec<Registered>,
    buffer: BinaryHeap<Reverse<Pending>>,
    dedup: BoundedMap<Timestamp>,
    /// Highest event time seen.
    max_time: Option<Timestamp>,
    watermark: Option<Timestamp>,
    last_sweep: Timestamp,
    sequence: u64,
    stats: Stats,
    /// The open `state-pressure` finding, and the evictions it has reported.
    pressure: Suppression,
    pressure_reported: u64,
    /// Events far after the stream, held until the stream catches up or enough of them agree.
    held: Vec<Event>,
}

impl Engine {
    /// An engine with a configuration (its allow-lists are validated here too) and the seed of
    /// its hash tables, whose keys (IPs, user names) attackers choose: hosts draw it from a
    /// random source for every engine, so that no one can pick keys that collide. Findings do
    /// not depend on it.
    pub fn new(config: Config, seed: u64) -> Result<Engine, Error> {
        let hasher: RandomState = state::hasher(seed);
        let allowlist = std::sync::Arc::new(config.allowlist(&hasher)?);
        Ok(Engine {
            detectors: detectors::build(
                &config.detectors,
                &Parts {
                    allowlist: &allowlist,
                    hasher: &hasher,
                    max_open: config.limits.max_open_findings.get(),
                },
            ),
            dedup: BoundedMap::new(config.limits.max_dedup_ids, &hasher),
            buffer: BinaryHeap::new(),
            max_time: None,
            watermark: None,
            last_sweep: Timestamp::MIN,
            sequence: 0,
            stats: Stats::default(),
            pressure: Suppression::new(STATE_PRESSURE, HOUR, 1),
            pressure_reported: 0,
            held: Vec::new(),
            config,
        })
    }

    /// An engine from configuration JSON (empty: all defaults) and a hash seed (see
    /// [`Engine::new`]).
    pub fn from_json(config: &str, seed: u64) -> Result<Engine, Error> {
        Engine::new(Config::from_json(config)?, seed)
    }

    /// Reads a batch of newline-delimited JSON or JSON documents and processes every record in it.
    pub fn push(&mut self, bytes: &[u8]) -> Pushed {
        let mut pushed = Pushed::default();
        let mut context = Context::new(self.watermark.unwrap_or(Timestamp::MIN));
        for_each_record(bytes, &mut |line, record| {
            self.take(line, record, &mut pushed, &mut context);
        });
        self.finish_push(pushed, context)
    }

    /// Processes a batch that [`prepare`] read: the same as [`Engine::push`] on its bytes.
    pub fn push_prepared(&mut self, prepared: Prepared) -> Pushed {
        let mut pushed = Pushed::default();
        let mut context = Context::new(self.watermark.unwrap_or(Timestamp::MIN));
        for (line, record) in prepared.records {
            self.take(line, record, &mut pushed, &mut context);
        }
        self.finish_push(pushed, context)
    }

    /// Counts one record of a batch (starting on `line`) and takes in its event, if it has one.
    fn take(&mut self, line: u32, record: Normalized, pushed: &mut Pushed, context: &mut Context) {
        self.stats.records += 1;
        match record {
            Normalized::Event(event) => {
                pushed.accepted += 1;
                self.accept(event, context);
            }
            Normalized::Ignored(ignored) => {
                pushed.ignored += 1;
                self.stats.ignored += 1;
                let names = &mut self.stats.ignored_by_name;
                let mut name = ignored.to_string();
                if !names.contains_key(&name) && names.len() >= MAX_IGNORED_NAMES {
                    name = "(other)".to_owned();
                }
                *names.entry(name).or_insert(0) += 1;
            }
            Normalized::Rejected(rejection) => {
                *self
                    .stats
                    .rejected
                    .entry(rejection.kind.name().to_owned())
                    .or_insert(0) += 1;
                pushed.rejected.push(Rejected {
                    line,
                    kind: rejection.kind,
                    reason: rejection.reason,
                });
            }
        }
    }

    fn finish_push(&mut self, mut pushed: Pushed, context: Context) -> Pushed {
        self.stats.accepted += u64::from(pushed.accepted);
        pushed.findings = self.finish(context);
        pushed
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
            self.stats.duplicates += 1;
            return;
        }
        if let Some(watermark) = self.watermark {
            if time < watermark {
                self.stats.late += 1;
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
            self.stats.buffer_overflow += 1;
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
        for registered in &mut self.detectors {
            registered.detector.on_event(&pending.event, context);
        }
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
        let period = |time: Timestamp| time.div_euclid(DEDUP_EXPIRY_EVERY);
        if period(previous) != period(context.watermark) {
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
        if self.stats.buffer_overflow > 0 {
            by_part.insert("reorder-buffer".to_owned(), self.stats.buffer_overflow);
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
            *self
                .stats
                .findings
                .entry(finding.detector.to_owned())
                .or_insert(0) += 1;
        }
        findings
    }

    /// Moves the watermark to `watermark` (for idle streams): events up to it are processed and
    /// windows that end before it close. A watermark below the current one changes nothing.
    pub fn advance(&mut self, watermark: Timestamp) -> Vec<Finding> {
        let mut context = Context::new(self.watermark.unwrap_or(Timestamp::MIN));
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
        let mut context = Context::new(self.watermark.unwrap_or(Timestamp::MIN));
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

    /// The whole state as bytes: a header line (`SNOWYOWL-SNAPSHOT <version> <checksum>`) and the
    /// state as JSON. Restoring it into an engine continues exactly where this one stands. A
    /// detector whose state cannot be written fails the snapshot, naming it: a snapshot that left
    /// it out would restore it empty without a word.
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
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
        let saved = serde_json::json!({
            "crate_version": env!("CARGO_PKG_VERSION"),
            "buffer": buffer,
            "dedup": self.dedup.saved(state::full_id),
            "max_time": self.max_time,
            "watermark": self.watermark,
            "last_sweep": self.last_sweep,
            "sequence": self.sequence,
            "stats": self.stats,
            "pressure": self.pressure,
            "pressure_reported": self.pressure_reported,
            "held": self.held,
            "detectors": detectors,
        });
        let body = saved.to_string();
        let checksum = crate::finding::stable_uid(&[&body]);
        Ok(format!("{SNAPSHOT_MAGIC} {SNAPSHOT_VERSION} {checksum}\n{body}").into_bytes())
    }

    /// An engine with `config` that continues from `snapshot`, its tables seeded with `seed` (see
    /// [`Engine::new`]; a snapshot holds no seed, so any seed continues it). A snapshot of another
    /// format version, or one that was cut short or altered, is refused with the reason.
    pub fn restore(config: Config, snapshot: &[u8], seed: u64) -> Result<Engine, Error> {
        let bad = |reason: String| Error::InvalidSnapshot(reason);
        let text = std::str::from_utf8(snapshot)
            .map_err(|e| bad(format!("not UTF-8 at byte {}", e.valid_up_to())))?;
        let (header, body) = text
            .split_once('\n')
            .ok_or_else(|| bad("no header line".into()))?;
        let mut parts = header.split(' ');
        if parts.next() != Some(SNAPSHOT_MAGIC) {
            return Err(bad("not a snowyowl snapshot (bad header)".into()));
        }
        let version: u32 = parts
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("header has no format version".into()))?;
        if version != SNAPSHOT_VERSION {
            return Err(bad(format!(
                "snapshot format {version} is not the format this build reads ({SNAPSHOT_VERSION})"
            )));
        }
        let checksum = parts
            .next()
            .ok_or_else(|| bad("header has no checksum".into()))?;
        if crate::finding::stable_uid(&[body]) != checksum {
            return Err(bad(
                "checksum mismatch: the snapshot is truncated or corrupted".into(),
            ));
        }
        let saved: SavedEngine =
            serde_json::from_str(body).map_err(|e| bad(format!("unreadable state: {e}")))?;
        let mut engine = Engine::new(config, seed)?;
        let hasher = state::hasher(seed);
        for registered in &mut engine.detectors {
            let id = registered.detector.id();
            if let Some(state) = saved.detectors.get(id) {
                registered
                    .detector
                    .load(state.clone(), &hasher)
                    .map_err(|e| bad(format!("detector {id}: {e}")))?;
            }
        }
        engine.buffer = saved.buffer.into_iter().map(Reverse).collect();
        engine.dedup = saved.dedup;
        engine.dedup.reseed_rekeyed(&hasher, |id| {
            match state::short_id(id, &mut [0; state::SHORT_ID_LEN]) {
                short if *short != *id => Some(short.into_owned()),
                _ => None,
            }
        });
        engine.max_time = saved.max_time;
        engine.watermark = saved.watermark;
        engine.last_sweep = saved.last_sweep;
        engine.sequence = saved.sequence;
        engine.stats = saved.stats;
        engine.pressure = saved.pressure;
        engine.pressure.configure(STATE_PRESSURE, HOUR, 1);
        engine.pressure_reported = saved.pressure_reported;
        engine.held = saved.held;
        Ok(engine)
    }

    /// Counters and state sizes.
    pub fn stats(&self) -> Stats {
        let mut stats = self.stats.clone();
        stats.buffered = self.buffer.len();
        stats.held_future = self.held.len();
        stats.dedup_ids = self.dedup.len();
        stats.dedup_evicted = self.dedup.evicted();
        stats.watermark = self.watermark;
        for registered in &self.detectors {
            let state = registered.detector.state();
            stats.detectors.insert(
                registered.detector.id().to_owned(),
                DetectorStats {
                    entries: state.entries,
                    evicted: state.evicted,
                    open_findings: state.open_findings,
                    informational: state.informational,
                },
            );
        }
        stats
    }

    /// The stats as JSON.
    pub fn stats_json(&self) -> String {
        serde_json::to_string(&self.stats())
            .unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
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
    fn a_detector_that_cannot_be_saved_fails_the_snapshot_by_name() {
        let mut engine = Engine::from_json("", 1).expect("defaults");
        assert!(engine.snapshot().is_ok());
        engine.detectors.push(Registered {
            detector: Box::new(Unsaveable),
            severity: None,
        });
        assert_eq!(
            engine.snapshot(),
            Err(Error::InvalidSnapshot(
                "detector unsaveable could not be saved: no room".to_owned()
            ))
        );
    }
}
