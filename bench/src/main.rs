//! `snowyowl-bench MODE[,MODE…] FILE`: measurements of `make bench`, one JSON line per mode.
//!
//! The file is read into memory first (not timed); each mode then times only its own work, three
//! times (`--rounds N`), and reports the fastest run. Several modes given together are run in
//! turns (one run of each, three rounds), so that a slow spell of the shared machine falls on all
//! of them alike and the ratios between them hold:
//! - `ignored-any`: serde_json over every line into `serde::de::IgnoredAny` (the parse floor);
//! - `typed`: every line into a borrowed struct of the fields the detectors read;
//! - `normalize`: every line through the core's normalizer into typed events (no engine);
//! - `native`: the core with every detector, batches of 2,000 lines (`snowyowl scan`'s default),
//!   then flush (timed); then the same input again, untimed, with a counting allocator weighing
//!   the heap the engine holds at the end per tracked key; and the findings;
//! - `component`: the same through the WebAssembly component in wasmtime (compiled first, not
//!   timed), with its peak linear memory;
//! - `fluent-bit`: the first N records (`--records N`, default 100,000) through the Fluent Bit
//!   module, one ABI call each.

use std::alloc::{GlobalAlloc, Layout};
use std::borrow::Cow;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use mimalloc::MiMalloc;
use serde::Deserialize;
use serde_json::{json, value::RawValue};
use snowyowl_cli::runtime::load_component;
use snowyowl_cli::{Backend, ComponentBackend};
use snowyowl_fluent_bit_host::{FilterHost, Outcome, Runtime, MODULE_PATH};

/// The allocator the CLI uses too (mimalloc); counts live heap bytes while [`COUNTING`] is on, so
/// the engine's state can be weighed exactly in a run that is not timed (the counting's atomics
/// would slow the timed one).
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }
}

fn shrank(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE.fetch_sub(bytes, Ordering::Relaxed);
    }
}

// SAFETY: forwards to mimalloc unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract is passed on.
        unsafe { MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        // SAFETY: the caller's contract is passed on.
        unsafe { MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            shrank(layout.size() - new_size);
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The fields the detectors read, borrowed: the typed parse floor.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Typed<'a> {
    #[serde(borrow)]
    category: Option<Cow<'a, str>>,
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    properties: Option<Properties<'a>>,
    #[serde(borrow, rename = "Operation")]
    operation: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "CreationTime")]
    creation_time: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "UserId")]
    user_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "Id")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "ClientAppId")]
    client_app_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "AppId")]
    app_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "MailboxOwnerUPN")]
    mailbox_owner: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "ClientIPAddress")]
    client_ip: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "OperationProperties")]
    operation_properties: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[allow(dead_code, non_snake_case)]
struct Properties<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    createdDateTime: Option<Cow<'a, str>>,
    #[serde(borrow)]
    activityDateTime: Option<Cow<'a, str>>,
    #[serde(borrow)]
    activityDisplayName: Option<Cow<'a, str>>,
    #[serde(borrow)]
    userPrincipalName: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ipAddress: Option<Cow<'a, str>>,
    #[serde(borrow)]
    appId: Option<Cow<'a, str>>,
    #[serde(borrow)]
    appDisplayName: Option<Cow<'a, str>>,
    #[serde(borrow)]
    userAgent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    clientAppUsed: Option<Cow<'a, str>>,
    #[serde(borrow)]
    authenticationRequirement: Option<Cow<'a, str>>,
    #[serde(borrow)]
    homeTenantId: Option<Cow<'a, str>>,
    #[serde(borrow)]
    resourceTenantId: Option<Cow<'a, str>>,
    status: Option<Status>,
    #[serde(borrow)]
    authenticationDetails: Option<&'a RawValue>,
    #[serde(borrow)]
    riskEventTypes_v2: Option<&'a RawValue>,
    #[serde(borrow)]
    initiatedBy: Option<&'a RawValue>,
    #[serde(borrow)]
    targetResources: Option<&'a RawValue>,
    #[serde(borrow)]
    additionalDetails: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[allow(dead_code, non_snake_case)]
struct Status {
    errorCode: Option<u64>,
}

/// Timed runs of each in-memory mode unless `--rounds` says otherwise; the fastest is reported
/// (on a shared machine the fastest run is the least disturbed one).
const ROUNDS: usize = 3;

/// Lines per batch in the in-memory modes: as `snowyowl scan` pushes them.
const BATCH: usize = snowyowl_cli::scan::DEFAULT_BATCH_SIZE as usize;

/// One timed run of a mode: seconds, and what the mode reports besides.
type Run<'a> = Box<dyn FnMut() -> Result<(f64, serde_json::Value)> + 'a>;

fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n').filter(|line| !line.is_empty())
}

/// Batches of up to `records` lines, as slices of `text` ending on a line boundary.
fn batches(text: &[u8], records: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' {
            count += 1;
            if count == records {
                out.push(text.get(start..=i).unwrap_or_default());
                start = i + 1;
                count = 0;
            }
        }
    }
    if start < text.len() {
        out.push(text.get(start..).unwrap_or_default());
    }
    out
}

fn tracked_entries(stats: &serde_json::Value) -> u64 {
    let detectors = stats["detectors"].as_object().map_or(0, |detectors| {
        detectors
            .values()
            .map(|d| d["entries"].as_u64().unwrap_or(0))
            .sum::<u64>()
    });
    detectors + stats["dedup_ids"].as_u64().unwrap_or(0) + stats["buffered"].as_u64().unwrap_or(0)
}

fn value_of<'a>(args: &'a [String], flag: &str) -> Option<&'a String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
}

/// The engines' hash seed: fixed, so that every run hashes alike (findings do not depend on it).
const SEED: u64 = 12345;

fn engine() -> Result<snowyowl::Engine> {
    snowyowl::Engine::from_json("", SEED).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A mode's timed run over `text`.
fn run<'a>(mode: &str, text: &'a [u8], args: &[String]) -> Result<Run<'a>> {
    Ok(match mode {
        "ignored-any" | "typed" | "normalize" => {
            let read: fn(&[u8]) -> bool = match mode {
                "ignored-any" => {
                    |line| serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
                }
                "typed" => |line| serde_json::from_slice::<Typed>(line).is_ok(),
                _ => |line| {
                    let line = std::str::from_utf8(line).unwrap_or_default();
                    let mut event = false;
                    snowyowl::normalize::normalize(line, &mut |normalized| {
                        event |= matches!(normalized, snowyowl::normalize::Normalized::Event(_));
                    });
                    event
                },
            };
            Box::new(move || {
                let start = Instant::now();
                let ok = lines(text).filter(|line| read(line)).count();
                Ok((start.elapsed().as_secs_f64(), json!({"parsed": ok})))
            })
        }
        "native" => {
            let chunks = batches(text, BATCH);
            // Written by the first run (the findings are the same every run).
            let mut findings_out = value_of(args, "--findings").cloned();
            // Timed, without counting.
            Box::new(move || {
                let start = Instant::now();
                let mut engine = engine()?;
                let mut findings = Vec::new();
                for chunk in &chunks {
                    findings.extend(engine.push(chunk).findings);
                }
                let pushed = start.elapsed().as_secs_f64();
                findings.extend(engine.flush());
                let seconds = start.elapsed().as_secs_f64();
                drop(engine);
                if let Some(out) = findings_out.take() {
                    let text: String = findings.iter().map(|f| f.to_json() + "\n").collect();
                    std::fs::write(out, text)?;
                }
                Ok((
                    seconds,
                    json!({"push_seconds": pushed, "findings": findings.len()}),
                ))
            })
        }
        "component" => {
            let chunks = batches(text, BATCH);
            let component = load_component(None)?;
            Box::new(move || {
                let started = Instant::now();
                let mut backend = ComponentBackend::new(&component, "", SEED)?;
                let compile = started.elapsed().as_secs_f64();
                let start = Instant::now();
                let mut findings = 0usize;
                for chunk in &chunks {
                    findings += backend.push(chunk)?.findings.len();
                }
                findings += backend.flush()?.len();
                Ok((
                    start.elapsed().as_secs_f64(),
                    json!({"compile_seconds": compile, "findings": findings,
                           "peak_linear_memory": backend.peak_memory()}),
                ))
            })
        }
        "fluent-bit" => fluent_bit(text, args, Runtime::Compiled)?,
        "fluent-bit-interpreted" => fluent_bit(text, args, Runtime::Interpreted)?,
        "fluent-bit-counted" => fluent_bit(text, args, Runtime::Counted)?,
        other => bail!("unknown mode {other}"),
    })
}

/// The first `--records` records (default 100,000; a tenth of that interpreted) through the Fluent
/// Bit module, one ABI call each, in a fresh instance each run (its state starts empty, as in a
/// new Fluent Bit).
fn fluent_bit<'a>(text: &'a [u8], args: &[String], runtime: Runtime) -> Result<Run<'a>> {
    let default = match runtime {
        Runtime::Compiled | Runtime::Counted => 100_000,
        Runtime::Interpreted => 10_000,
    };
    let count: usize = value_of(args, "--records")
        .and_then(|n| n.parse().ok())
        .map_or(default, |n: usize| n.min(default));
    let module = std::fs::read(MODULE_PATH)
        .context("reading build/snowyowl-fluent-bit.wasm (make fluent-bit)")?;
    let records: Vec<&[u8]> = lines(text).take(count).collect();
    let record_bytes: usize = records.iter().map(|r| r.len()).sum();
    Ok(Box::new(move || {
        let started = Instant::now();
        let mut host = FilterHost::with_runtime(&module, "snowyowl_filter", runtime)?;
        let load = started.elapsed().as_secs_f64();
        let start = Instant::now();
        let mut annotated = 0usize;
        for record in &records {
            if let Outcome::Record(out) = host.call("entra", 0, 0, record)? {
                annotated += usize::from(out.contains("snowyowl_findings"));
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        Ok((
            seconds,
            json!({"runtime": runtime.name(), "events": records.len(), "bytes": record_bytes,
                   "annotated": annotated, "memory": host.memory_bytes(), "load_seconds": load,
                   "instructions": host.instructions()}),
        ))
    }))
}

/// The engine's heap at the end of the input per tracked key, weighed in an untimed run with the
/// counting allocator on (findings are dropped as they come: they are output, not state).
fn weigh(text: &[u8]) -> Result<serde_json::Value> {
    let chunks = batches(text, BATCH);
    COUNTING.store(true, Ordering::Relaxed);
    let mut engine = engine()?;
    for chunk in &chunks {
        drop(engine.push(chunk));
    }
    let state_bytes = LIVE.load(Ordering::Relaxed);
    let peak_bytes = PEAK.load(Ordering::Relaxed);
    COUNTING.store(false, Ordering::Relaxed);
    let stats: serde_json::Value = serde_json::from_str(&engine.stats_json())?;
    Ok(
        json!({"state_bytes": state_bytes, "peak_heap_bytes": peak_bytes,
              "tracked_entries": tracked_entries(&stats), "stats": stats}),
    )
}

const USAGE: &str = "usage: snowyowl-bench ignored-any|typed|normalize|native|component|fluent-bit|fluent-bit-interpreted|fluent-bit-counted[,…] FILE [--records N] [--findings OUT] [--rounds N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        // The module's documentation above, then the usage.
        for line in include_str!("main.rs")
            .lines()
            .map_while(|line| line.strip_prefix("//!"))
        {
            println!("{}", line.strip_prefix(' ').unwrap_or(line));
        }
        println!("\n{USAGE}");
        return ExitCode::SUCCESS;
    }
    match measure(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("snowyowl-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn measure(args: &[String]) -> Result<()> {
    let (modes, path) = match (args.first(), args.get(1)) {
        (Some(modes), Some(path)) => (modes.split(',').collect::<Vec<_>>(), path.as_str()),
        _ => bail!("{USAGE}"),
    };
    let text = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    let mut runs = modes
        .iter()
        .map(|mode| run(mode, &text, args))
        .collect::<Result<Vec<_>>>()?;
    let rounds = match value_of(args, "--rounds") {
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("--rounds {n}: not a number of rounds (1 or more)"))?,
        None => ROUNDS,
    };
    let mut best: Vec<Option<(f64, serde_json::Value)>> = vec![None; runs.len()];
    for _ in 0..rounds {
        for (run, best) in runs.iter_mut().zip(&mut best) {
            let next = run()?;
            if best.as_ref().is_none_or(|(seconds, _)| next.0 < *seconds) {
                *best = Some(next);
            }
        }
    }
    let common = json!({"events": lines(&text).count(), "bytes": text.len(), "runs": rounds});
    for (mode, best) in modes.iter().zip(best) {
        let Some((seconds, extra)) = best else {
            continue;
        };
        let mut result = common.clone();
        for part in [json!({"mode": mode, "seconds": seconds}), extra] {
            if let (Some(result), serde_json::Value::Object(part)) = (result.as_object_mut(), part)
            {
                result.extend(part);
            }
        }
        if *mode == "native" {
            if let (Some(result), serde_json::Value::Object(weighed)) =
                (result.as_object_mut(), weigh(&text)?)
            {
                result.extend(weighed);
            }
        }
        println!("{result}");
    }
    Ok(())
}
