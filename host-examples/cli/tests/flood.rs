//! A flood of ten million distinct IPs and users mixed with a real spray, through the native core
//! and through the component: state stays within its caps (the component's linear memory, which
//! never shrinks, is measured), the evictions surface as a `state-pressure` finding, and the spray
//! is still found, as are short sprays early, midway and late in it. `SNOWYOWL_FLOOD_EVENTS` sets
//! the size (default 10,000,000).

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::borrow::Cow;

use snowyowl_cli::generate::{flood, FLOOD_BURSTS};
use snowyowl_cli::runtime::load_component;
use snowyowl_cli::{Backend, ComponentBackend, HostFinding, NativeBackend};

/// The component the CLI runs: built into it, or `build/snowyowl.wasm` (`make component`).
fn component() -> Cow<'static, [u8]> {
    load_component(None).unwrap_or_else(|error| panic!("{error:#}"))
}

fn flood_size() -> u64 {
    std::env::var("SNOWYOWL_FLOOD_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000_000)
}

/// The linear memory the component may reach under the default caps.
const MEMORY_CAP: usize = 2 << 30;

fn run_flood(
    backend: &mut dyn Backend,
    mut after_batch: impl FnMut(&mut dyn Backend),
) -> Vec<HostFinding> {
    let total = flood_size();
    let batch = 100_000;
    let mut findings = Vec::new();
    for index in 0..total.div_ceil(batch) {
        let pushed = backend
            .push(flood(index * batch, batch, total).as_bytes())
            .unwrap();
        assert!(pushed.rejected.is_empty());
        findings.extend(pushed.findings);
        after_batch(backend);
    }
    findings.extend(backend.flush().unwrap());
    findings
}

fn check(findings: &[HostFinding], host: &str) {
    let spray = findings
        .iter()
        .any(|f| f.detector == "password-spray" && f.json.contains("203.0.113.66"));
    assert!(spray, "{host}: the spray was lost in the flood");
    for (ip, at) in FLOOD_BURSTS {
        let found = findings
            .iter()
            .any(|f| f.detector == "password-spray" && f.json.contains(ip));
        assert!(
            found,
            "{host}: the short spray from {ip} at {at} of the flood was lost"
        );
    }
    let pressure = findings.iter().rfind(|f| f.detector == "state-pressure");
    let pressure = pressure.unwrap_or_else(|| panic!("{host}: no state-pressure finding"));
    let value: serde_json::Value = serde_json::from_str(&pressure.json).unwrap();
    assert!(value["unmapped"]["evicted_total"].as_u64() > Some(0));
}

#[test]
fn the_native_core_under_flood() {
    let mut backend = NativeBackend::new("", 11).unwrap();
    let mut peak = 0usize;
    let findings = run_flood(&mut backend, |backend| {
        let stats: serde_json::Value = serde_json::from_str(&backend.stats().unwrap()).unwrap();
        let mut entries =
            stats["dedup_ids"].as_u64().unwrap_or(0) + stats["buffered"].as_u64().unwrap_or(0);
        for detector in stats["detectors"]
            .as_object()
            .into_iter()
            .flat_map(|d| d.values())
        {
            entries += detector["entries"].as_u64().unwrap_or(0);
        }
        peak = peak.max(entries as usize);
    });
    check(&findings, "native");
    // Every table's cap summed (defaults): what may be tracked at once.
    let caps = 6_900_000;
    assert!(peak <= caps, "tracked {peak} entries > caps {caps}");
    eprintln!(
        "flood (native): {} events, peak tracked entries {peak} (caps {caps})",
        flood_size()
    );
}

#[test]
fn the_component_under_flood() {
    let mut backend = ComponentBackend::new(&component(), "", 12).unwrap();
    let findings = run_flood(&mut backend, |_| {});
    check(&findings, "component");
    let peak = backend.peak_memory();
    assert!(peak <= MEMORY_CAP, "linear memory {peak} > {MEMORY_CAP}");
    eprintln!(
        "flood (component): {} events, peak linear memory {} MiB",
        flood_size(),
        peak >> 20
    );
}
