//! Running the engine: the component in wasmtime, or the native core, behind one small trait.

use anyhow::{anyhow, Context as _, Result};
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Engine, ResourceLimiter, Store};

pub use crate::component::{load_component, COMPONENT_VAR, EMBEDDED_COMPONENT};
pub use crate::wasmtime_config::wasmtime_config;

/// Host bindings generated from `wit/` (the Python package's native module uses these too).
#[allow(missing_docs)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "detector",
    });
}

use bindings::exports::snowyowl::detect::engine as wit;
use bindings::Detector;

/// A fresh hash seed from the operating system's random source, for an engine's tables (see
/// `snowyowl::Engine::new`): what every engine gets unless a seed is given to reproduce a run.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // std seeds RandomState from the operating system's random source.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// A finding as the host sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFinding {
    /// The detector id.
    pub detector: String,
    /// Severity name (`critical`, …).
    pub severity: &'static str,
    /// Stable finding uid.
    pub uid: String,
    /// OCSF Detection Finding JSON.
    pub json: String,
}

/// A rejected record as the host sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRejected {
    /// Line within the batch (1-based).
    pub line: u32,
    /// Kind name (`malformed`, `not-an-object`, `unknown-shape`, `invalid-field`).
    pub kind: &'static str,
    /// Why.
    pub reason: String,
}

/// What one push produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPushed {
    /// Findings.
    pub findings: Vec<HostFinding>,
    /// Rejected records.
    pub rejected: Vec<HostRejected>,
    /// Records accepted.
    pub accepted: u32,
    /// Records ignored.
    pub ignored: u32,
}

/// An engine, wherever it runs.
pub trait Backend {
    /// Processes a batch.
    fn push(&mut self, events: &[u8]) -> Result<HostPushed>;
    /// Whether batches may be read into events ahead, off the engine's thread
    /// ([`snowyowl::prepare`]), for [`Backend::push_batch`]: only an engine in this process
    /// can take them.
    fn reads_ahead(&self) -> bool {
        false
    }
    /// Processes a batch, from the events read ahead from it when there are some (only with
    /// [`Backend::reads_ahead`]; a backend without pushes the bytes and drops them), else from
    /// its bytes.
    fn push_batch(
        &mut self,
        events: &[u8],
        prepared: Option<snowyowl::Prepared>,
    ) -> Result<HostPushed> {
        drop(prepared);
        self.push(events)
    }
    /// Moves every tenant's watermark.
    fn advance(&mut self, watermark_ms: i64) -> Result<Vec<HostFinding>>;
    /// Moves on, by `quiet_ms`, the watermark of every tenant that took no event since the
    /// previous call (`advance-idle` of the WIT).
    fn advance_idle(&mut self, quiet_ms: u64) -> Result<Vec<HostFinding>>;
    /// End of input.
    fn flush(&mut self) -> Result<Vec<HostFinding>>;
    /// Stats JSON.
    fn stats(&mut self) -> Result<String>;
    /// The engine's whole state.
    fn snapshot(&mut self) -> Result<Vec<u8>>;
}

/// Caps the component's linear memory and records how far it grew (it never shrinks).
pub struct MemoryLimits {
    max: usize,
    peak: usize,
}

impl MemoryLimits {
    /// Limits with linear memory capped at `max` bytes (and tables at 2^20 entries).
    pub fn new(max: usize) -> MemoryLimits {
        MemoryLimits { max, peak: 0 }
    }
}

impl ResourceLimiter for MemoryLimits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// The snowyowl component running in wasmtime.
pub struct ComponentBackend {
    store: Store<MemoryLimits>,
    bindings: Detector,
    engine: ResourceAny,
}

/// The severity's name in findings (`informational` … `critical`).
pub fn severity_name(severity: wit::Severity) -> &'static str {
    match severity {
        wit::Severity::Informational => "informational",
        wit::Severity::Low => "low",
        wit::Severity::Medium => "medium",
        wit::Severity::High => "high",
        wit::Severity::Critical => "critical",
    }
}

/// The rejection kind's name (`malformed`, `not-an-object`, `unknown-shape`, `invalid-field`).
pub fn kind_name(kind: wit::RejectionKind) -> &'static str {
    match kind {
        wit::RejectionKind::Malformed => "malformed",
        wit::RejectionKind::NotAnObject => "not-an-object",
        wit::RejectionKind::UnknownShape => "unknown-shape",
        wit::RejectionKind::InvalidField => "invalid-field",
    }
}

fn host_findings(findings: Vec<wit::Finding>) -> Vec<HostFinding> {
    findings
        .into_iter()
        .map(|finding| HostFinding {
            detector: finding.detector,
            severity: severity_name(finding.severity),
            uid: finding.uid,
            json: finding.json,
        })
        .collect()
}

/// The most linear memory the component may grow to (bytes).
pub const DEFAULT_MAX_MEMORY: usize = 4 << 30;

impl ComponentBackend {
    /// Compiles `component` (the bytes of a component) and creates an engine with `config` and
    /// the hash seed `seed` ([`random_seed`] unless reproducing a run), continuing from
    /// `snapshot` when one is given.
    pub fn with_state(
        component: &[u8],
        config: &str,
        seed: u64,
        snapshot: Option<&[u8]>,
    ) -> Result<Self> {
        let engine = Engine::new(&wasmtime_config()).map_err(|e| anyhow!("{e:#}"))?;
        let component = Component::new(&engine, component)
            .map_err(|e| anyhow!("{e:#}"))
            .context("loading the snowyowl component")?;
        Self::instantiate(&engine, &component, config, seed, snapshot)
    }

    /// Creates an engine with `config` and the hash seed `seed` in a fresh instance of
    /// `component` (compiled in `engine`), continuing from `snapshot` when one is given.
    pub fn instantiate(
        engine: &Engine,
        component: &Component,
        config: &str,
        seed: u64,
        snapshot: Option<&[u8]>,
    ) -> Result<Self> {
        let linker = Linker::new(engine);
        let mut store = Store::new(engine, MemoryLimits::new(DEFAULT_MAX_MEMORY));
        store.limiter(|limits| limits);
        let bindings = Detector::instantiate(&mut store, component, &linker)
            .map_err(|e| anyhow!("{e:#}"))
            .context("instantiating the snowyowl component (it must import nothing)")?;
        let guest = bindings.snowyowl_detect_engine().engine();
        let created = match snapshot {
            Some(snapshot) => guest.call_restore(&mut store, config, snapshot, seed),
            None => guest.call_create(&mut store, config, seed),
        }
        .map_err(|e| anyhow!("{e:#}"))
        .context("the component trapped creating the engine")?;
        let engine = created.map_err(|error| anyhow!("{}", error_message(error)))?;
        Ok(ComponentBackend {
            store,
            bindings,
            engine,
        })
    }

    /// Compiles `component` and creates an engine with `config` and the hash seed `seed`.
    pub fn new(component: &[u8], config: &str, seed: u64) -> Result<Self> {
        Self::with_state(component, config, seed, None)
    }

    /// The most linear memory the component has had, in bytes (wasm memory never shrinks).
    pub fn peak_memory(&self) -> usize {
        self.store.data().peak
    }
}

impl Backend for ComponentBackend {
    fn push(&mut self, events: &[u8]) -> Result<HostPushed> {
        let pushed = self
            .bindings
            .snowyowl_detect_engine()
            .engine()
            .call_push(&mut self.store, self.engine, events)
            .map_err(|e| anyhow!("the component trapped in push: {e:#}"))?;
        Ok(HostPushed {
            findings: host_findings(pushed.findings),
            rejected: pushed
                .rejected
                .into_iter()
                .map(|r| HostRejected {
                    line: r.line,
                    kind: kind_name(r.kind),
                    reason: r.reason,
                })
                .collect(),
            accepted: pushed.accepted,
            ignored: pushed.ignored,
        })
    }

    fn advance(&mut self, watermark_ms: i64) -> Result<Vec<HostFinding>> {
        let findings = self
            .bindings
            .snowyowl_detect_engine()
            .engine()
            .call_advance(&mut self.store, self.engine, watermark_ms)
            .map_err(|e| anyhow!("the component trapped in advance: {e:#}"))?;
        Ok(host_findings(findings))
    }

    fn advance_idle(&mut self, quiet_ms: u64) -> Result<Vec<HostFinding>> {
        let findings = self
            .bindings
            .snowyowl_detect_engine()
            .engine()
            .call_advance_idle(&mut self.store, self.engine, quiet_ms)
            .map_err(|e| anyhow!("the component trapped in advance-idle: {e:#}"))?;
        Ok(host_findings(findings))
    }

    fn flush(&mut self) -> Result<Vec<HostFinding>> {
        let findings = self
            .bindings
            .snowyowl_detect_engine()
            .engine()
            .call_flush(&mut self.store, self.engine)
            .map_err(|e| anyhow!("the component trapped in flush: {e:#}"))?;
        Ok(host_findings(findings))
    }

    fn stats(&mut self) -> Result<String> {
        self.bindings
            .snowyowl_detect_engine()
            .engine()
            .call_stats(&mut self.store, self.engine)
            .map_err(|e| anyhow!("the component trapped in stats: {e:#}"))
    }

    fn snapshot(&mut self) -> Result<Vec<u8>> {
        self.bindings
            .snowyowl_detect_engine()
            .engine()
            .call_snapshot(&mut self.store, self.engine)
            .map_err(|e| anyhow!("the component trapped in snapshot: {e:#}"))?
            .map_err(|error| anyhow!("{}", error_message(error)))
    }
}

/// What the component's error says, as the core's `Error` says it.
fn error_message(error: wit::Error) -> String {
    match error {
        wit::Error::InvalidConfig(message) => format!("invalid config: {message}"),
        wit::Error::InvalidSnapshot(message) => format!("invalid snapshot: {message}"),
    }
}

/// The core compiled into this binary: the reference the component is checked against.
pub struct NativeBackend(snowyowl::Engine);

impl NativeBackend {
    /// An engine with `config` and the hash seed `seed`.
    pub fn new(config: &str, seed: u64) -> Result<Self> {
        Self::with_state(config, seed, None)
    }

    /// An engine with `config` and the hash seed `seed` ([`random_seed`] unless reproducing a
    /// run), continuing from `snapshot` when one is given.
    pub fn with_state(config: &str, seed: u64, snapshot: Option<&[u8]>) -> Result<Self> {
        let config = snowyowl::Config::from_json(config).map_err(|e| anyhow!("{e}"))?;
        let engine = match snapshot {
            Some(snapshot) => snowyowl::Engine::restore(config, snapshot, seed),
            None => snowyowl::Engine::new(config, seed),
        };
        engine.map(NativeBackend).map_err(|e| anyhow!("{e}"))
    }
}

fn native_findings(findings: Vec<snowyowl::Finding>) -> Vec<HostFinding> {
    findings
        .into_iter()
        .map(|finding| HostFinding {
            detector: finding.detector.to_owned(),
            severity: match finding.severity {
                snowyowl::Severity::Informational => "informational",
                snowyowl::Severity::Low => "low",
                snowyowl::Severity::Medium => "medium",
                snowyowl::Severity::High => "high",
                snowyowl::Severity::Critical => "critical",
            },
            json: finding.to_json(),
            uid: finding.uid,
        })
        .collect()
}

fn native_pushed(pushed: snowyowl::Pushed) -> HostPushed {
    HostPushed {
        findings: native_findings(pushed.findings),
        rejected: pushed
            .rejected
            .into_iter()
            .map(|r| HostRejected {
                line: r.line,
                kind: r.kind.name(),
                reason: r.reason,
            })
            .collect(),
        accepted: pushed.accepted,
        ignored: pushed.ignored,
    }
}

impl Backend for NativeBackend {
    fn push(&mut self, events: &[u8]) -> Result<HostPushed> {
        Ok(native_pushed(self.0.push(events)))
    }

    fn reads_ahead(&self) -> bool {
        true
    }

    fn push_batch(
        &mut self,
        events: &[u8],
        prepared: Option<snowyowl::Prepared>,
    ) -> Result<HostPushed> {
        Ok(native_pushed(match prepared {
            Some(prepared) => self.0.push_prepared(prepared),
            None => self.0.push(events),
        }))
    }

    fn advance(&mut self, watermark_ms: i64) -> Result<Vec<HostFinding>> {
        Ok(native_findings(self.0.advance(watermark_ms)))
    }

    fn advance_idle(&mut self, quiet_ms: u64) -> Result<Vec<HostFinding>> {
        Ok(native_findings(self.0.advance_idle(quiet_ms)))
    }

    fn flush(&mut self) -> Result<Vec<HostFinding>> {
        Ok(native_findings(self.0.flush()))
    }

    fn stats(&mut self) -> Result<String> {
        Ok(self.0.stats_json())
    }

    fn snapshot(&mut self) -> Result<Vec<u8>> {
        Ok(self.0.snapshot()?)
    }
}
