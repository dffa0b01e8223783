//! The Fluent Bit glue: the `filter_wasm` C ABI over [`crate::Engine`].
//!
//! Built only with the `fluent-bit` feature, for `wasm32-unknown-unknown`, as a plain core module
//! (`make fluent-bit` → `build/snowyowl-fluent-bit.wasm`). Fluent Bit (4.1 or later, with
//! `event_format: json`) calls one exported function once per record, with the record as JSON, and
//! replaces the record with the NUL-terminated JSON the function returns (an empty string drops
//! it). The instance, and so the engine's windows, persist across records and chunks.
//!
//! Two exports, chosen by the filter's `function_name`:
//! - `snowyowl_filter`: every record passes; a record after which findings were made carries them
//!   under `snowyowl_findings` (OCSF objects) with the highest severity in `snowyowl_severity`,
//!   the field a `rewrite_tag` rule routes on.
//! - `snowyowl_findings_only`: the same, but records without findings are dropped.
//!
//! Records that are not Entra ID / Microsoft 365 events pass unchanged; an event of a known shape
//! with a field detection needs missing or invalid carries the reason under `snowyowl_rejected`.
//! A `tail` input without a parser hands over `{"log": "<line>"}`: the engine reads the line
//! inside when the record itself is of no known shape (see [`crate::normalize`]), as one record.
//!
//! Fluent Bit passes no configuration to a module, so the engine configuration and hash seed are
//! fixed when the module is built (`SNOWYOWL_FLB_CONFIG`, `SNOWYOWL_FLB_SEED`; `make fluent-bit`
//! validates the configuration and draws a seed once per build directory, in
//! `build/fluent-bit.seed`).

#![allow(missing_docs)]

use crate::normalize::RejectionKind;
use crate::{Engine, Error, Finding};

/// What the filter does with a record that produced no finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Pass it unchanged.
    PassAll,
    /// Drop it.
    FindingsOnly,
}

/// The engine built from the configuration and hash seed baked in at build time. A build without
/// a seed (a plain `cargo build`, not `make fluent-bit`) has no engine: every record says why.
fn baked_engine() -> Result<Engine, Error> {
    let config = crate::Config::from_json(option_env!("SNOWYOWL_FLB_CONFIG").unwrap_or("{}"))?;
    let seed = option_env!("SNOWYOWL_FLB_SEED")
        .and_then(|seed| seed.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            Error::InvalidConfig(
                "SNOWYOWL_FLB_SEED: no hash seed was baked into this build (make fluent-bit \
                 draws one)"
                    .to_owned(),
            )
        })?;
    Engine::new(config, seed)
}

/// The filter's state: the engine (or why it could not be built) and the reusable output buffer.
pub struct Filter {
    engine: Result<Engine, String>,
    out: Vec<u8>,
}

impl Filter {
    /// A filter with the configuration baked into this build.
    pub fn new() -> Filter {
        let engine = baked_engine().map_err(|error| error.to_string());
        Filter {
            engine,
            out: Vec::new(),
        }
    }

    /// Processes one record and returns the replacement record, NUL-terminated (just the NUL to
    /// drop the record), or `None` when the record passes unchanged. The slice lives until the
    /// next call.
    pub fn process(&mut self, record: &[u8], mode: Mode) -> Option<&[u8]> {
        self.out.clear();
        let engine = match &mut self.engine {
            Ok(engine) => engine,
            Err(reason) => {
                let reason = format!("invalid configuration: {reason}");
                annotate(
                    &mut self.out,
                    record,
                    &[("snowyowl_rejected", &reason)],
                    &[],
                );
                self.out.push(0);
                return Some(&self.out);
            }
        };
        let pushed = engine.push_record(record);
        let rejected = pushed
            .rejected
            .first()
            .filter(|rejected| rejected.kind == RejectionKind::InvalidField);
        if pushed.findings.is_empty() {
            match (rejected, mode) {
                (_, Mode::FindingsOnly) => {}
                (None, Mode::PassAll) => return None,
                (Some(rejected), Mode::PassAll) => {
                    let reason = format!("{}: {}", rejected.kind.name(), rejected.reason);
                    annotate(
                        &mut self.out,
                        record,
                        &[("snowyowl_rejected", &reason)],
                        &[],
                    );
                }
            }
        } else {
            let severity = pushed
                .findings
                .iter()
                .map(|finding| finding.severity)
                .max()
                .map_or("informational", |severity| severity.name());
            let mut fields = vec![("snowyowl_severity", severity)];
            let reason;
            if let Some(rejected) = rejected {
                reason = format!("{}: {}", rejected.kind.name(), rejected.reason);
                fields.push(("snowyowl_rejected", &reason));
            }
            annotate(&mut self.out, record, &fields, &pushed.findings);
        }
        // A NUL inside the record would cut the result short; JSON from Fluent Bit has none
        // (it escapes control characters), and a cut record is still better than a trap.
        self.out.push(0);
        Some(&self.out)
    }

    /// `record`, NUL-terminated, in the output buffer (which lives until the next call).
    pub fn copy(&mut self, record: &[u8]) -> &[u8] {
        self.out.clear();
        self.out.extend_from_slice(record);
        self.out.push(0);
        &self.out
    }
}

impl Default for Filter {
    fn default() -> Self {
        Filter::new()
    }
}

/// Writes `record` with `fields` (strings) and `findings` (under `snowyowl_findings`) added. A
/// record that is not a JSON object is kept whole under `record`.
fn annotate(out: &mut Vec<u8>, record: &[u8], fields: &[(&str, &str)], findings: &[Finding]) {
    let trimmed = record.trim_ascii();
    let body = trimmed
        .strip_prefix(b"{")
        .and_then(|body| body.strip_suffix(b"}"));
    match body {
        Some(body) => {
            out.push(b'{');
            out.extend_from_slice(body);
            if !body.trim_ascii().is_empty() {
                out.push(b',');
            }
        }
        None => {
            out.extend_from_slice(b"{\"record\":");
            let text = String::from_utf8_lossy(trimmed);
            match serde_json::from_str::<&serde_json::value::RawValue>(&text) {
                Ok(raw) => out.extend_from_slice(raw.get().as_bytes()),
                Err(_) => push_json_string(out, &text),
            }
            out.push(b',');
        }
    }
    let mut first = true;
    for (name, value) in fields {
        if !first {
            out.push(b',');
        }
        first = false;
        push_json_string(out, name);
        out.push(b':');
        push_json_string(out, value);
    }
    if !findings.is_empty() {
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(b"\"snowyowl_findings\":[");
        for (index, finding) in findings.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(finding.to_json().as_bytes());
        }
        out.push(b']');
    }
    out.push(b'}');
}

fn push_json_string(out: &mut Vec<u8>, text: &str) {
    let encoded = serde_json::Value::from(text).to_string();
    out.extend_from_slice(encoded.as_bytes());
}

/// The exported C ABI. Only on wasm32: natively, `malloc` and `free` would replace libc's.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, clippy::missing_safety_doc)]
mod abi {
    use std::alloc::{alloc, dealloc, Layout};
    use std::cell::RefCell;

    use super::{Filter, Mode};

    thread_local! {
        static FILTER: RefCell<Option<Filter>> = const { RefCell::new(None) };
    }

    /// Size of the header before each `malloc` block, which remembers the block's size.
    const HEADER: usize = 8;

    fn layout(size: usize) -> Option<Layout> {
        Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
    }

    /// The allocator Fluent Bit's WAMR uses for its copies of the tag and the record.
    #[no_mangle]
    pub extern "C" fn malloc(size: usize) -> *mut u8 {
        let Some(layout) = layout(size) else {
            return std::ptr::null_mut();
        };
        // SAFETY: the layout has a non-zero size (at least HEADER).
        let base = unsafe { alloc(layout) };
        if base.is_null() {
            return base;
        }
        // SAFETY: the block is at least HEADER bytes long and aligned for a usize.
        unsafe {
            base.cast::<usize>().write(size);
            base.add(HEADER)
        }
    }

    /// Frees a block from [`malloc`]; null is ignored.
    #[no_mangle]
    pub unsafe extern "C" fn free(pointer: *mut u8) {
        if pointer.is_null() {
            return;
        }
        // SAFETY: `pointer` came from `malloc`, so HEADER bytes before it hold the size.
        unsafe {
            let base = pointer.sub(HEADER);
            let size = base.cast::<usize>().read();
            if let Some(layout) = layout(size) {
                dealloc(base, layout);
            }
        }
    }

    fn call(record: *const u8, record_len: u32, mode: Mode) -> *const u8 {
        let with_nul: &[u8] = match (record_len as usize).checked_add(1) {
            Some(length) if !record.is_null() => {
                // SAFETY: Fluent Bit copies the record in with its NUL (`record_len + 1` bytes,
                // `wasm_runtime_module_dup_data` in flb_wasm.c) and frees the copy after the call.
                unsafe { std::slice::from_raw_parts(record, length) }
            }
            _ => &[],
        };
        let text = with_nul.get(..record_len as usize).unwrap_or_default();
        FILTER.with(|filter| {
            let mut filter = filter.borrow_mut();
            let filter = filter.get_or_insert_with(Filter::new);
            // A replacement lives in the filter until the next call.
            if let Some(replacement) = filter.process(text, mode) {
                return replacement.as_ptr();
            }
            // Unchanged: the record itself, which Fluent Bit copies out before freeing it (no
            // copy of ours), when its NUL is where it should be.
            match with_nul.last() {
                Some(0) => with_nul.as_ptr(),
                _ => filter.copy(text).as_ptr(),
            }
        })
    }

    /// Every record passes; records after which findings were made carry them.
    #[no_mangle]
    pub extern "C" fn snowyowl_filter(
        _tag: *const u8,
        _tag_len: u32,
        _time_sec: u32,
        _time_nsec: u32,
        record: *const u8,
        record_len: u32,
    ) -> *const u8 {
        call(record, record_len, Mode::PassAll)
    }

    /// Only records after which findings were made pass, carrying them.
    #[no_mangle]
    pub extern "C" fn snowyowl_findings_only(
        _tag: *const u8,
        _tag_len: u32,
        _time_sec: u32,
        _time_nsec: u32,
        record: *const u8,
        record_len: u32,
    ) -> *const u8 {
        call(record, record_len, Mode::FindingsOnly)
    }
}

#[cfg(test)]
mod tests {
    use super::{Filter, Mode};

    const SCENARIO: &str = include_str!("../tests/data/midnight-blizzard.ndjson");

    /// What `tail` without a parser hands over: the line as text under `log`.
    fn tail(line: &str) -> String {
        serde_json::json!({ "log": line }).to_string()
    }

    /// Issue 26: a `tail` record was pushed twice, once as itself (a record of unknown shape)
    /// and once as the line inside, so it counted as two records and a rejection.
    #[test]
    fn a_tail_record_counts_once_as_the_event_inside() {
        let line = SCENARIO.lines().next().unwrap();
        // A filter as `make fluent-bit` builds it, with a seed baked in.
        let seeded = || Filter {
            engine: crate::Engine::from_json("", 26).map_err(|error| error.to_string()),
            out: Vec::new(),
        };
        let (mut plain, mut wrapped) = (seeded(), seeded());
        assert_eq!(plain.process(line.as_bytes(), Mode::PassAll), None);
        assert_eq!(wrapped.process(tail(line).as_bytes(), Mode::PassAll), None);
        let stats = |filter: &Filter| filter.engine.as_ref().unwrap().stats();
        let (plain, wrapped) = (stats(&plain), stats(&wrapped));
        assert_eq!((wrapped.records, wrapped.accepted), (1, 1));
        assert!(wrapped.rejected.is_empty(), "{:?}", wrapped.rejected);
        assert_eq!(plain, wrapped);
    }
}
