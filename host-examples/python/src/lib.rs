//! `snowyowl._native`: the snowyowl WebAssembly component run by wasmtime inside Python.
//!
//! The Python package `snowyowl` (`python/snowyowl/__init__.py`) is the API: `Engine`, the
//! `Finding`/`Rejected`/`Pushed` dataclasses, `SnowyowlError`. This module is what it stands on:
//!
//! - [`Runtime`]: the component compiled for this machine (a wasmtime engine and the component,
//!   linked ahead of any instance). Compiling takes seconds, so the package makes one per process
//!   and every engine instantiates from it; [`Runtime::serialize`] writes it out (wasmtime's
//!   `.cwasm` artifact) and [`Runtime::load`] reads such an artifact back without compiling.
//! - [`Engine`]: one instance of the component in a store of its own, its linear memory capped as
//!   the CLI caps it. Every call releases the GIL while the component works, takes the batch as
//!   the bytes object's own buffer (wasmtime copies it straight into linear memory), and hands
//!   back plain tuples the package turns into its dataclasses.
//!
//! Why not PyPI `wasmtime`: its component API moves a `list<u8>` through Python one element at a
//! time (about 2 µs per byte), hundreds of times slower than the component itself.
//!
//! The host side of the component is the CLI's (its `bindgen!` of `wit/`, its memory cap and
//! wasmtime configuration), so a change of the interface shows up here as a compile error, not as
//! a wrong value at run time.
//! Nothing here can panic on input: bad batches are the component's rejections, a bad config or
//! snapshot its `error`, a trap an exception.

use std::sync::{Mutex, PoisonError};

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Precompiled, Store};

use snowyowl_cli::runtime::bindings::exports::snowyowl::detect::engine as wit;
use snowyowl_cli::runtime::bindings::{Detector, DetectorPre};
use snowyowl_cli::runtime::{
    kind_name, severity_name, wasmtime_config, MemoryLimits, DEFAULT_MAX_MEMORY,
};

create_exception!(
    _native,
    Refused,
    PyException,
    "The component refused a configuration or a snapshot: args are (kind, message), kind \
     `invalid-config` or `invalid-snapshot` as in the WIT's `error`."
);

/// A finding as the tuple `snowyowl.Finding` is built from, in the order of its fields:
/// detector, severity, uid, time (ms since the Unix epoch), the OCSF JSON, tenant.
type FindingTuple = (String, &'static str, String, i64, String, Option<String>);

/// A rejected record as `snowyowl.Rejected`'s tuple: line, kind, reason.
type RejectedTuple = (u32, &'static str, String);

/// What one push produced, as `snowyowl.Pushed`'s tuple: findings, rejected, accepted, ignored.
type PushedTuple = (Vec<FindingTuple>, Vec<RejectedTuple>, u32, u32);

fn finding(f: wit::Finding) -> FindingTuple {
    let severity = severity_name(f.severity);
    (f.detector, severity, f.uid, f.time_ms, f.json, f.tenant)
}

fn findings(found: Vec<wit::Finding>) -> Vec<FindingTuple> {
    found.into_iter().map(finding).collect()
}

fn pushed(pushed: wit::Pushed) -> PushedTuple {
    let rejected = pushed
        .rejected
        .into_iter()
        .map(|r| (r.line, kind_name(r.kind), r.reason))
        .collect();
    (
        findings(pushed.findings),
        rejected,
        pushed.accepted,
        pushed.ignored,
    )
}

/// The component's `error` as the [`Refused`] exception.
fn refused(error: wit::Error) -> PyErr {
    match error {
        wit::Error::InvalidConfig(message) => Refused::new_err(("invalid-config", message)),
        wit::Error::InvalidSnapshot(message) => Refused::new_err(("invalid-snapshot", message)),
    }
}

/// The wasmtime configuration: the CLI's. An artifact loads only into an engine configured
/// alike, which wasmtime checks.
fn wasmtime_engine() -> PyResult<wasmtime::Engine> {
    wasmtime::Engine::new(&wasmtime_config())
        .map_err(|e| PyRuntimeError::new_err(format!("configuring wasmtime: {e:#}")))
}

/// The snowyowl component compiled for this machine, ready to instantiate: what every
/// [`Engine`] of a process is made from.
#[pyclass(frozen, module = "snowyowl._native")]
pub struct Runtime {
    component: Component,
    pre: DetectorPre<MemoryLimits>,
}

impl Runtime {
    /// Links `component` (which must import nothing and export the WIT's `engine`).
    fn link(engine: &wasmtime::Engine, component: Component) -> wasmtime::Result<Runtime> {
        let linker = Linker::<MemoryLimits>::new(engine);
        let pre = DetectorPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Runtime { component, pre })
    }

    /// A fresh instance in its own store, and an engine made in it by `make`.
    fn instantiate(
        &self,
        make: impl FnOnce(
            &wit::GuestEngine,
            &mut Store<MemoryLimits>,
        ) -> wasmtime::Result<Result<ResourceAny, wit::Error>>,
    ) -> PyResult<Engine> {
        let mut store = Store::new(self.pre.engine(), MemoryLimits::new(DEFAULT_MAX_MEMORY));
        store.limiter(|limits| limits);
        let bindings = self.pre.instantiate(&mut store).map_err(|e| {
            PyRuntimeError::new_err(format!("instantiating the snowyowl component: {e:#}"))
        })?;
        let created = make(&bindings.snowyowl_detect_engine().engine(), &mut store)
            .map_err(|e| trapped("creating the engine", &e))?;
        let engine = created.map_err(refused)?;
        Ok(Engine {
            instance: Mutex::new(Some(Instance {
                store,
                bindings,
                engine,
            })),
        })
    }
}

#[pymethods]
impl Runtime {
    /// Compiles a component (its bytes, as `make component` writes `build/snowyowl.wasm`).
    /// Raises ValueError when it is not a snowyowl component of this interface.
    #[staticmethod]
    fn compile(py: Python<'_>, component: &[u8]) -> PyResult<Runtime> {
        let engine = wasmtime_engine()?;
        py.detach(|| Component::new(&engine, component).and_then(|c| Runtime::link(&engine, c)))
            .map_err(|e| PyValueError::new_err(format!("not a snowyowl component: {e:#}")))
    }

    /// Loads an artifact [`Runtime::serialize`] wrote, without compiling. Its machine code runs
    /// as it is, so it must come from this same build of snowyowl; wasmtime refuses one from
    /// another wasmtime version, configuration or CPU, and bytes that are no component artifact.
    #[staticmethod]
    fn load(py: Python<'_>, artifact: &[u8]) -> PyResult<Runtime> {
        let engine = wasmtime_engine()?;
        let not_ours =
            |e: String| PyValueError::new_err(format!("not a precompiled snowyowl component: {e}"));
        if wasmtime::Engine::detect_precompiled(artifact) != Some(Precompiled::Component) {
            return Err(not_ours("no wasmtime component artifact".to_owned()));
        }
        py.detach(|| {
            // SAFETY: wasmtime maps the artifact's machine code and runs it as it is; it checks
            // that the bytes are a component artifact of this wasmtime version, configuration and
            // CPU, not where they come from. The contract, documented on
            // `snowyowl.load_precompiled` and SNOWYOWL_PRECOMPILED, is that only artifacts this
            // same build wrote (`snowyowl.precompile()`), kept where untrusted parties cannot
            // write, are passed: trusted code, like the extension module itself.
            #[allow(unsafe_code)]
            let component = unsafe { Component::deserialize(&engine, artifact) }?;
            Runtime::link(&engine, component)
        })
        .map_err(|e| not_ours(format!("{e:#}")))
    }

    /// The compiled component as wasmtime's serialized artifact (`.cwasm`), for [`Runtime::load`].
    fn serialize<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let artifact = py
            .detach(|| self.component.serialize())
            .map_err(|e| PyRuntimeError::new_err(format!("serializing the component: {e:#}")))?;
        Ok(PyBytes::new(py, &artifact))
    }

    /// A new engine: `create(config-json, seed)` of the WIT. Raises [`Refused`].
    fn create(&self, py: Python<'_>, config: &str, seed: u64) -> PyResult<Engine> {
        py.detach(|| self.instantiate(|guest, store| guest.call_create(store, config, seed)))
    }

    /// An engine continuing from a snapshot: `restore(config-json, snapshot, seed)` of the WIT.
    /// Raises [`Refused`].
    fn restore(
        &self,
        py: Python<'_>,
        config: &str,
        snapshot: &[u8],
        seed: u64,
    ) -> PyResult<Engine> {
        py.detach(|| {
            self.instantiate(|guest, store| guest.call_restore(store, config, snapshot, seed))
        })
    }
}

/// The component's instance and the engine resource made in it.
struct Instance {
    store: Store<MemoryLimits>,
    bindings: Detector,
    engine: ResourceAny,
}

fn trapped(call: &str, error: &wasmtime::Error) -> PyErr {
    PyRuntimeError::new_err(format!("the component trapped in {call}: {error:#}"))
}

/// One engine: an instance of the component and all its state. A thread calling it while
/// another does waits its turn (without the GIL).
#[pyclass(module = "snowyowl._native")]
pub struct Engine {
    /// `None` once closed.
    instance: Mutex<Option<Instance>>,
}

impl Engine {
    /// Runs `call` on the instance without the GIL: `name` names it in a trap's message.
    fn call<T: Send>(
        &self,
        py: Python<'_>,
        name: &str,
        call: impl Send
            + FnOnce(&wit::GuestEngine, &mut Store<MemoryLimits>, ResourceAny) -> wasmtime::Result<T>,
    ) -> PyResult<T> {
        py.detach(|| {
            let Ok(mut guard) = self.instance.lock() else {
                return Err(PyRuntimeError::new_err(
                    "the engine failed in an earlier call and cannot be used",
                ));
            };
            let Some(instance) = guard.as_mut() else {
                return Err(PyValueError::new_err("the engine is closed"));
            };
            let guest = instance.bindings.snowyowl_detect_engine().engine();
            call(&guest, &mut instance.store, instance.engine).map_err(|e| trapped(name, &e))
        })
    }
}

#[pymethods]
impl Engine {
    /// `push(events)`: a batch of newline-delimited JSON or JSON documents (the bytes object's
    /// buffer, not copied). Returns (findings, rejected, accepted, ignored).
    fn push(&self, py: Python<'_>, events: &[u8]) -> PyResult<PushedTuple> {
        let raw = self.call(py, "push", |guest, store, engine| {
            guest.call_push(store, engine, events)
        })?;
        Ok(pushed(raw))
    }

    /// `advance(watermark-ms)`: moves event time on for an idle stream.
    fn advance(&self, py: Python<'_>, watermark_ms: i64) -> PyResult<Vec<FindingTuple>> {
        let found = self.call(py, "advance", |guest, store, engine| {
            guest.call_advance(store, engine, watermark_ms)
        })?;
        Ok(findings(found))
    }

    /// `advance-idle(quiet-ms)`: moves on every tenant that took no event since the previous
    /// call, by `quiet_ms`.
    fn advance_idle(&self, py: Python<'_>, quiet_ms: u64) -> PyResult<Vec<FindingTuple>> {
        let found = self.call(py, "advance-idle", |guest, store, engine| {
            guest.call_advance_idle(store, engine, quiet_ms)
        })?;
        Ok(findings(found))
    }

    /// `flush()`: end of input.
    fn flush(&self, py: Python<'_>) -> PyResult<Vec<FindingTuple>> {
        let found = self.call(py, "flush", |guest, store, engine| {
            guest.call_flush(store, engine)
        })?;
        Ok(findings(found))
    }

    /// `stats()`: counters and state sizes, as JSON text.
    fn stats(&self, py: Python<'_>) -> PyResult<String> {
        self.call(py, "stats", |guest, store, engine| {
            guest.call_stats(store, engine)
        })
    }

    /// `snapshot()`: the whole state. Raises [`Refused`] when it cannot be written.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let snapshot = self.call(py, "snapshot", |guest, store, engine| {
            guest.call_snapshot(store, engine)
        })?;
        Ok(PyBytes::new(py, &snapshot.map_err(refused)?))
    }

    /// Frees the instance and its memory now; later calls raise ValueError.
    fn close(&self, py: Python<'_>) {
        py.detach(|| {
            let instance = self
                .instance
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            drop(instance);
        });
    }
}

/// The snowyowl component in wasmtime, for the `snowyowl` package.
#[pymodule]
mod _native {
    #[pymodule_export]
    use super::{Engine, Refused, Runtime};
}
