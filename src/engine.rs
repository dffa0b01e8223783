//! The engine: framing and normalization, then one lane per tenant.
//!
//! A stream may carry many tenants (a managed security provider's Event Hub or Kafka topic per
//! region). Each event goes to its tenant's [`Lane`] (the tenant id every log shape carries:
//! `tenantId`, `AADTenantId`, `resourceTenantId`, `OrganizationId`), which has its own windows,
//! baselines, watermark and incidents: one customer's failures never add to another's, and a
//! tenant whose logs lag is never late because of another. Events that name no tenant go to
//! `tenants.default` (or a lane of their own). The number of tenants held is capped
//! (`tenants.max`): a new tenant beyond it closes the tenant idle longest, whose findings come out
//! then, and is counted. Every finding names its tenant (OCSF `cloud.account.uid`), and a
//! finding's uid is told apart by tenant.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::detectors::{attack_chain, Context, Parts, Registered, StateStats};
use crate::event::Event;
use crate::finding::Finding;
use crate::input::{self, Framed};
use crate::lane::{Counts, Lane, Shared, SWEEP_EVERY};
use crate::normalize::{self, Normalized, RejectionKind};
use crate::state;
use crate::time::Timestamp;
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
    /// Accounts whose days of administrative changes are remembered (`administrators`).
    pub administrators: usize,
    /// Those accounts dropped because of the cap (`administrators.max_accounts`).
    pub administrators_evicted: u64,
    /// The highest tenant's watermark (ms), or null before the first event (each tenant has its
    /// own: `tenants.by_tenant`).
    pub watermark: Option<Timestamp>,
    /// Findings emitted, by detector (creates and updates).
    pub findings: BTreeMap<String, u64>,
    /// Per detector: keys tracked, live keys evicted, open findings.
    pub detectors: BTreeMap<String, DetectorStats>,
    /// The tenants the stream carries, each watched apart.
    pub tenants: TenantsStats,
}

impl Stats {
    /// Adds a detector's state figures into its sums.
    pub(crate) fn add_state(&mut self, detector: &str, state: StateStats) {
        let sum = self.detectors.entry(detector.to_owned()).or_default();
        sum.entries += state.entries;
        sum.evicted += state.evicted;
        sum.open_findings += state.open_findings;
        sum.informational += state.informational;
    }
}

/// The tenants an engine holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantsStats {
    /// Tenants held now.
    pub held: usize,
    /// Most tenants held at once (`tenants.max`).
    pub max: usize,
    /// Tenants closed and dropped to make room for a new one (those idle longest).
    pub evicted: u64,
    /// Each tenant held, by id; events that name no tenant under `(none)`.
    pub by_tenant: BTreeMap<String, TenantStats>,
}

/// One tenant's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantStats {
    /// Events taken in.
    pub accepted: u64,
    /// Events dropped as duplicates.
    pub duplicates: u64,
    /// Events that arrived after this tenant's watermark had passed them.
    pub late: u64,
    /// Events waiting in its reorder buffer.
    pub buffered: usize,
    /// Its watermark (ms), or null before its first event.
    pub watermark: Option<Timestamp>,
    /// Findings emitted (creates and updates).
    pub findings: u64,
    /// Findings still open.
    pub open_findings: usize,
    /// Keys its detectors track.
    pub entries: usize,
    /// Live state its caps dropped.
    pub evicted: u64,
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

/// Frames and normalizes `bytes`, calling `take` with every record in order and the line it
/// starts on (a line that could not be framed is a rejected record).
fn for_each_record(bytes: &[u8], take: &mut dyn FnMut(u32, Normalized)) {
    for_each_framed(bytes, input::frame, take);
}

/// [`for_each_record`] with the framing passed in.
fn for_each_framed(
    bytes: &[u8],
    frame: for<'a> fn(&'a [u8], &mut dyn FnMut(Framed<'a>)),
    take: &mut dyn FnMut(u32, Normalized),
) {
    frame(bytes, &mut |framed| match framed {
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

/// How many names of ignored records `stats` keeps apart (the rest are counted together).
pub const MAX_IGNORED_NAMES: usize = 64;

/// The first line of every snapshot, followed by the format version and a checksum.
const SNAPSHOT_MAGIC: &str = "SNOWYOWL-SNAPSHOT";
/// The snapshot format this build writes (2: `spray-then-success` keeps a log of
/// recent sign-ins, and the spray detectors' unresolved failures a table of the users with
/// failures held, where format 1 had tables of every user; 3: `spray-then-success` keeps users'
/// familiar places and the sprays' addresses, and grades its hits, `password-spray` its known
/// egress IPs, `distributed-password-spray` IPs known for one user; 4: a detector built from a
/// rule saves its open findings and its rule's tables apart, and open findings count evictions;
/// 5: one lane per tenant; 6: the engine remembers where the last [`Engine::advance_idle`] left
/// off).
pub const SNAPSHOT_VERSION: u32 = 6;

/// The oldest snapshot format this build still reads: format 5 is format 6 written before
/// [`Engine::advance_idle`] existed, read as if it had never been called.
const OLDEST_READABLE: u32 = 5;

/// How `stats` names the lane of events that name no tenant (`tenants.by_tenant`).
pub const NO_TENANT: &str = "(none)";

/// What the engine counts itself, before events reach a lane.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
struct Intake {
    records: u64,
    ignored: u64,
    ignored_by_name: BTreeMap<String, u64>,
    rejected: BTreeMap<String, u64>,
    tenants_evicted: u64,
    /// The counts of tenants dropped to make room, so that totals never go down.
    retired: Counts,
    /// Findings of the chain across tenants.
    linked: u64,
}

/// A lane and when it last took an event.
struct Held {
    lane: Lane,
    touched: u64,
}

/// A lane in a snapshot.
#[derive(Serialize, Deserialize)]
struct SavedHeld {
    tenant: Option<String>,
    touched: u64,
    state: serde_json::Value,
}

/// The engine in a snapshot.
#[derive(Serialize, Deserialize)]
struct SavedEngine {
    crate_version: String,
    intake: Intake,
    touched: u64,
    lanes: Vec<SavedHeld>,
    across: Option<serde_json::Value>,
    high_watermark: Option<Timestamp>,
    across_swept: Timestamp,
    /// Absent from format 5.
    #[serde(default)]
    idle_mark: u64,
}

/// The detection engine. Pure: no I/O, no clock, no randomness.
pub struct Engine {
    shared: Shared,
    /// One lane per tenant, by tenant id (as [`tenant_key`] writes it); `""` for events that name
    /// none. Ordered, so that everything done to every lane is done in one order.
    lanes: BTreeMap<String, Held>,
    /// Where events that name no tenant go.
    default_key: String,
    /// Tenants watched together (`tenants.together`): each one's lane.
    together: ahash::AHashMap<String, String>,
    /// Events taken in so far (the clock of "idle longest").
    touched: u64,
    /// `touched` when [`Engine::advance_idle`] was last called: a lane touched no later has taken
    /// no event since.
    idle_mark: u64,
    intake: Intake,
    /// The chain across tenants (`tenants.link_across`): every lane's findings reach it.
    across: Option<Registered>,
    /// The highest watermark of any tenant, and where the chain across tenants last swept.
    high_watermark: Option<Timestamp>,
    across_swept: Timestamp,
}

/// A tenant id as lanes are keyed: trimmed, in lower case (GUIDs are written both ways).
pub(crate) fn tenant_key(tenant: &str) -> String {
    tenant.trim().to_ascii_lowercase()
}

impl Engine {
    /// An engine with a configuration (its allow-lists are validated here too) and the seed of
    /// its hash tables, whose keys (IPs, user names) attackers choose: hosts draw it from a
    /// random source for every engine, so that no one can pick keys that collide. Findings do
    /// not depend on it.
    pub fn new(config: Config, seed: u64) -> Result<Engine, Error> {
        let hasher = state::hasher(seed);
        let allowlist = Arc::new(config.allowlist(&hasher)?);
        let together: ahash::AHashMap<String, String> =
            config.tenants.lanes_together()?.into_iter().collect();
        let default_key = config
            .tenants
            .default
            .as_deref()
            .map(tenant_key)
            .map(|key| together.get(&key).cloned().unwrap_or(key))
            .unwrap_or_default();
        let across = if config.tenants.link_across {
            attack_chain::across_tenants(
                &config.detectors.attack_chain,
                &Parts {
                    allowlist: &allowlist,
                    hasher: &hasher,
                    max_open: config.limits.max_open_findings.get(),
                },
            )
        } else {
            None
        };
        Ok(Engine {
            across,
            high_watermark: None,
            across_swept: Timestamp::MIN,
            shared: Shared {
                config: Arc::new(config),
                allowlist,
                hasher,
            },
            lanes: BTreeMap::new(),
            default_key,
            together,
            touched: 0,
            idle_mark: 0,
            intake: Intake::default(),
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
        for_each_record(bytes, &mut |line, record| {
            self.take(line, record, &mut pushed)
        });
        pushed
    }

    /// Processes one record, as a shipper hands it: [`Engine::push`] without the search for line
    /// ends (a newline inside the record is JSON white space, not the end of a record).
    pub fn push_record(&mut self, record: &[u8]) -> Pushed {
        let mut pushed = Pushed::default();
        for_each_framed(record, input::frame_record, &mut |line, record| {
            self.take(line, record, &mut pushed)
        });
        pushed
    }

    /// Processes a batch that [`prepare`] read: the same as [`Engine::push`] on its bytes.
    pub fn push_prepared(&mut self, prepared: Prepared) -> Pushed {
        let mut pushed = Pushed::default();
        for (line, record) in prepared.records {
            self.take(line, record, &mut pushed);
        }
        pushed
    }

    /// Counts one record of a batch (starting on `line`) and gives its event, if it has one, to
    /// its tenant's lane.
    fn take(&mut self, line: u32, record: Normalized, pushed: &mut Pushed) {
        self.intake.records += 1;
        match record {
            Normalized::Event(event) => {
                pushed.accepted += 1;
                let mut found = Vec::new();
                if let Some(across) = &mut self.across {
                    // The chain across tenants learns apps' aliases from every tenant's audits.
                    let mut context =
                        Context::new(self.high_watermark.unwrap_or(Timestamp::MIN), None);
                    across.detector.on_event(&event, &mut context);
                    found.extend(context.take_findings());
                }
                let lane = self.lane_for(&event, &mut found);
                found.extend(lane.push(event));
                let watermark = lane.watermark();
                self.link_across(&mut found, watermark);
                pushed.findings.extend(found);
            }
            Normalized::Ignored(ignored) => {
                pushed.ignored += 1;
                self.intake.ignored += 1;
                let names = &mut self.intake.ignored_by_name;
                let mut name = ignored.to_string();
                if !names.contains_key(&name) && names.len() >= MAX_IGNORED_NAMES {
                    name = "(other)".to_owned();
                }
                *names.entry(name).or_insert(0) += 1;
            }
            Normalized::Rejected(rejection) => {
                *self
                    .intake
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

    /// The lane of the event's tenant, made if new; making room for it closes the tenant idle
    /// longest, whose findings go to `closed`.
    fn lane_for(&mut self, event: &Event, closed: &mut Vec<Finding>) -> &mut Lane {
        let key = match event.tenant_id().filter(|t| !t.trim().is_empty()) {
            Some(tenant) => {
                let key = tenant_key(tenant);
                self.together.get(&key).cloned().unwrap_or(key)
            }
            None => self.default_key.clone(),
        };
        if !self.lanes.contains_key(&key) {
            while self.lanes.len() >= self.shared.config.tenants.max.get() {
                closed.extend(self.evict_idlest());
            }
        }
        self.touched += 1;
        let shared = &self.shared;
        let held = self.lanes.entry(key).or_insert_with_key(|key| Held {
            lane: Lane::new(shared, (!key.is_empty()).then(|| Arc::from(key.as_str()))),
            touched: 0,
        });
        held.touched = self.touched;
        &mut held.lane
    }

    /// Closes and drops the tenant idle longest, returning its closing findings.
    fn evict_idlest(&mut self) -> Vec<Finding> {
        let Some(key) = self
            .lanes
            .iter()
            .min_by_key(|(_, held)| held.touched)
            .map(|(key, _)| key.clone())
        else {
            return Vec::new();
        };
        let Some(mut held) = self.lanes.remove(&key) else {
            return Vec::new();
        };
        let findings = held.lane.flush();
        self.intake.retired.add(held.lane.counts());
        self.intake.tenants_evicted += 1;
        findings
    }

    /// Offers the findings tenants made to the chain across tenants (with the watermark of the
    /// tenant that made them), adding what it links to them.
    fn link_across(&mut self, found: &mut Vec<Finding>, watermark: Option<Timestamp>) {
        let Some(across) = &mut self.across else {
            return;
        };
        self.high_watermark = self.high_watermark.max(watermark);
        let high = self.high_watermark.unwrap_or(Timestamp::MIN);
        let mut context = Context::new(high, None);
        for finding in found.iter() {
            across.detector.on_finding(finding, &mut context);
        }
        if high.saturating_sub(self.across_swept) >= SWEEP_EVERY {
            self.across_swept = high;
            across.detector.on_watermark(&mut context);
        }
        self.finish_across(context, found);
    }

    /// The chain across tenants' findings, with its severity configured, added to `found`.
    fn finish_across(&mut self, mut context: Context, found: &mut Vec<Finding>) {
        let severity = self.across.as_ref().and_then(|across| across.severity);
        for mut finding in context.take_findings() {
            if let Some(severity) = severity {
                finding.severity = severity;
            }
            self.intake.linked += 1;
            found.push(finding);
        }
    }

    /// Every lane, in tenant order, its findings gathered and offered to the chain across tenants.
    fn each_lane(&mut self, mut step: impl FnMut(&mut Held) -> Vec<Finding>) -> Vec<Finding> {
        let mut made = Vec::with_capacity(self.lanes.len());
        for held in self.lanes.values_mut() {
            let found = step(held);
            made.push((found, held.lane.watermark()));
        }
        let mut out = Vec::new();
        for (mut found, watermark) in made {
            self.link_across(&mut found, watermark);
            out.extend(found);
        }
        out
    }

    /// Moves every tenant's watermark to `watermark` (for idle streams): events up to it are
    /// processed and windows that end before it close. A tenant whose watermark is already past
    /// it is unchanged. (A tenant the engine has not seen yet starts from its own events.) One
    /// watermark for all suits a stream of one tenant, or a replay; on a live stream of many,
    /// whose tenants' logs lag by different amounts, [`Engine::advance_idle`] moves only the
    /// quiet ones, each from its own watermark.
    pub fn advance(&mut self, watermark: Timestamp) -> Vec<Finding> {
        self.each_lane(|held| held.lane.advance(watermark))
    }

    /// For a live host whose stream has gone quiet: every tenant that has taken no event since
    /// the previous call (the first call counts from the engine's start; a snapshot keeps the
    /// count) moves its own watermark on by `quiet_ms`, processing the events it passes and
    /// closing the windows that ends; every other tenant is left as it is.
    ///
    /// The host calls it on a timer, passing the wall-clock time since its previous call (the
    /// core reads no clock): a tenant that sent nothing for that long is taken to have had that
    /// much more event time without events. So a spray's finding comes out on a quiet stream
    /// without waiting for the next event, while a tenant whose logs lag behind another's is
    /// never pushed past its own events, as one watermark for every tenant ([`Engine::advance`])
    /// would push it. A tenant moves only for whole call periods without events, so its
    /// watermark stays behind its last event's time plus the time it has been quiet, minus the
    /// allowed lateness. An event that arrives after all, older than the moved watermark, is
    /// processed as late (counted in `stats`).
    pub fn advance_idle(&mut self, quiet_ms: u64) -> Vec<Finding> {
        let quiet = Timestamp::try_from(quiet_ms).unwrap_or(Timestamp::MAX);
        let since = std::mem::replace(&mut self.idle_mark, self.touched);
        self.each_lane(|held| match held.lane.watermark() {
            Some(watermark) if held.touched <= since && quiet > 0 => {
                held.lane.advance(watermark.saturating_add(quiet))
            }
            _ => Vec::new(),
        })
    }

    /// End of input: processes every buffered (and held) event and closes every open finding,
    /// tenant by tenant, then the incidents across tenants.
    pub fn flush(&mut self) -> Vec<Finding> {
        let mut findings = self.each_lane(|held| held.lane.flush());
        if let Some(across) = &mut self.across {
            let mut context = Context::new(self.high_watermark.unwrap_or(Timestamp::MIN), None);
            across.detector.flush(&mut context);
            self.finish_across(context, &mut findings);
        }
        findings
    }

    /// The whole state as bytes: a header line (`SNOWYOWL-SNAPSHOT <version> <checksum>`) and the
    /// state as JSON. Restoring it into an engine continues exactly where this one stands. A
    /// detector whose state cannot be written fails the snapshot, naming it: a snapshot that left
    /// it out would restore it empty without a word.
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        let mut lanes = Vec::with_capacity(self.lanes.len());
        for held in self.lanes.values() {
            lanes.push(SavedHeld {
                tenant: held.lane.tenant().map(str::to_owned),
                touched: held.touched,
                state: held.lane.save()?,
            });
        }
        let across = match &self.across {
            Some(across) => Some(across.detector.save().map_err(|error| {
                Error::InvalidSnapshot(format!(
                    "the chain across tenants could not be saved: {error}"
                ))
            })?),
            None => None,
        };
        let saved = SavedEngine {
            crate_version: env!("CARGO_PKG_VERSION").to_owned(),
            intake: self.intake.clone(),
            touched: self.touched,
            lanes,
            across,
            high_watermark: self.high_watermark,
            across_swept: self.across_swept,
            idle_mark: self.idle_mark,
        };
        let body = serde_json::to_string(&saved)
            .map_err(|e| Error::InvalidSnapshot(format!("could not be written: {e}")))?;
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
        if !(OLDEST_READABLE..=SNAPSHOT_VERSION).contains(&version) {
            return Err(bad(format!(
                "snapshot format {version} is not a format this build reads \
                 ({OLDEST_READABLE} to {SNAPSHOT_VERSION})"
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
        for held in saved.lanes {
            let key = held.tenant.as_deref().map(tenant_key).unwrap_or_default();
            let tenant = (!key.is_empty()).then(|| Arc::from(key.as_str()));
            let lane = Lane::load(&engine.shared, tenant, held.state).map_err(|e| {
                bad(format!(
                    "tenant {}: {e}",
                    held.tenant.as_deref().unwrap_or(NO_TENANT)
                ))
            })?;
            engine.lanes.insert(
                key,
                Held {
                    lane,
                    touched: held.touched,
                },
            );
        }
        if let (Some(across), Some(state)) = (&mut engine.across, saved.across) {
            across
                .detector
                .load(state, &engine.shared.hasher)
                .map_err(|e| bad(format!("the chain across tenants: {e}")))?;
        }
        engine.high_watermark = saved.high_watermark;
        engine.across_swept = saved.across_swept;
        engine.touched = saved.touched;
        engine.idle_mark = saved.idle_mark;
        engine.intake = saved.intake;
        Ok(engine)
    }

    /// Counters and state sizes: totals over every tenant, and each tenant's own.
    pub fn stats(&self) -> Stats {
        let intake = &self.intake;
        let retired = &intake.retired;
        let mut stats = Stats {
            records: intake.records,
            ignored: intake.ignored,
            ignored_by_name: intake.ignored_by_name.clone(),
            rejected: intake.rejected.clone(),
            accepted: retired.accepted,
            duplicates: retired.duplicates,
            late: retired.late,
            buffer_overflow: retired.buffer_overflow,
            findings: retired.findings.clone(),
            ..Stats::default()
        };
        for held in self.lanes.values() {
            let lane = &held.lane;
            let own = lane.add_to(&mut stats);
            stats
                .tenants
                .by_tenant
                .insert(lane.tenant().unwrap_or(NO_TENANT).to_owned(), own);
        }
        if let Some(across) = &self.across {
            stats.add_state(across.detector.id(), across.detector.state());
            if intake.linked > 0 {
                *stats
                    .findings
                    .entry(across.detector.id().to_owned())
                    .or_insert(0) += intake.linked;
            }
        }
        stats.tenants.held = self.lanes.len();
        stats.tenants.max = self.shared.config.tenants.max.get();
        stats.tenants.evicted = intake.tenants_evicted;
        stats
    }

    /// The stats as JSON.
    pub fn stats_json(&self) -> String {
        serde_json::to_string(&self.stats())
            .unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
    }
}
