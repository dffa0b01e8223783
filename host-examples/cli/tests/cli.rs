//! The CLI and its hosts against the real component.

// Test code: a failed unwrap is a failed test.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::Command;

use snowyowl::event::Shape;
use snowyowl::render;
use snowyowl_cli::runtime::load_component;
use snowyowl_cli::{random_seed, Backend, ComponentBackend, HostFinding, NativeBackend};

/// The component the CLI runs: built into it, or `build/snowyowl.wasm` (`make component`).
fn component() -> Cow<'static, [u8]> {
    load_component(None).unwrap_or_else(|error| panic!("{error:#}"))
}

fn demo_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/demo-tenant.ndjson")
}

fn demo() -> String {
    std::fs::read_to_string(demo_path()).unwrap()
}

fn run(backend: &mut dyn Backend, text: &str, batch: usize) -> Vec<HostFinding> {
    let lines: Vec<&str> = text.lines().collect();
    let mut findings = Vec::new();
    for chunk in lines.chunks(batch) {
        let pushed = backend.push(chunk.join("\n").as_bytes()).unwrap();
        assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
        findings.extend(pushed.findings);
    }
    findings.extend(backend.flush().unwrap());
    findings
}

#[test]
fn the_component_imports_nothing() {
    let engine = wasmtime::Engine::default();
    let component = wasmtime::component::Component::new(&engine, component()).unwrap();
    let ty = component.component_type();
    assert_eq!(
        ty.imports(&engine).count(),
        0,
        "the component must import nothing"
    );
    let exports: Vec<String> = ty
        .exports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    assert_eq!(exports, ["snowyowl:detect/engine@0.4.0"]);
}

#[test]
fn the_component_finds_exactly_what_the_native_core_finds() {
    let text = demo();
    let native = run(&mut NativeBackend::new("", 7).unwrap(), &text, 10_000);
    let component = run(
        &mut ComponentBackend::new(&component(), "", 7).unwrap(),
        &text,
        10_000,
    );
    assert!(native.iter().any(|f| f.detector == "password-spray"));
    assert!(native
        .iter()
        .any(|f| f.detector == "spray-then-success" && f.severity == "critical"));
    assert_eq!(component, native);
}

#[test]
fn the_component_gives_the_same_findings_in_any_batching() {
    let text = demo();
    let whole = run(
        &mut ComponentBackend::new(&component(), "", random_seed()).unwrap(),
        &text,
        10_000,
    );
    for batch in [1, 7] {
        let mut backend = ComponentBackend::new(&component(), "", random_seed()).unwrap();
        assert_eq!(run(&mut backend, &text, batch), whole, "batch {batch}");
    }
}

#[test]
fn the_component_reports_config_errors_with_the_field() {
    let error = ComponentBackend::new(
        &component(),
        r#"{"detectors":{"password-spray":{"min_users":"five"}}}"#,
        1,
    )
    .err()
    .map(|e| format!("{e:#}"))
    .unwrap_or_default();
    assert!(
        error.contains("detectors.password-spray.min_users: invalid type"),
        "{error}"
    );
}

/// Issue 26: the seed is an argument of create/restore, drawn afresh for every engine; a config
/// that still sets it is refused, by the component and by the CLI, saying where it went.
#[test]
fn a_seed_in_the_config_is_refused_and_every_engine_draws_its_own() {
    let error = ComponentBackend::new(&component(), r#"{"seed": 7}"#, 7)
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(
        error.contains("invalid config: seed: ") && error.contains("--seed"),
        "{error}"
    );
    let config = temp("seeded.json", r#"{"seed": 7}"#);
    let (code, _, stderr) = snowyowl(&[
        "scan",
        "--config",
        config.to_str().unwrap(),
        demo_path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("invalid config: seed: ") && stderr.contains("--seed"),
        "{stderr}"
    );
    let seeds: Vec<u64> = (0..4).map(|_| random_seed()).collect();
    assert!(
        seeds
            .iter()
            .all(|seed| seeds.iter().filter(|s| *s == seed).count() == 1),
        "{seeds:?}"
    );
}

fn snowyowl(args: &[&str]) -> (i32, String, String) {
    output_of(Command::new(env!("CARGO_BIN_EXE_snowyowl")).args(args))
}

/// Runs `command`: its exit code, stdout and stderr.
fn output_of(command: &mut Command) -> (i32, String, String) {
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn temp(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snowyowl-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn spray_lines(shape: Shape) -> Vec<String> {
    let template = snowyowl::event::SignInFields {
        time: 1_709_542_800_000,
        id: String::new(),
        shape,
        category: snowyowl::event::SignInCategory::Interactive,
        user: String::new(),
        ip: Some("203.0.113.66".into()),
        result_code: 50126,
        correct_password_step: false,
        app_id: None,
        app_name: None,
        user_agent: None,
        factor: snowyowl::event::FactorRequirement::Single,
        legacy: false,
        asn: None,
        tenant_id: None,
        home_tenant_id: None,
        app_owner_tenant_id: None,
        country: None,
        device_id: None,
        risk_event_types: Vec::new(),
    };
    (0..8)
        .map(|i| {
            let signin = snowyowl::event::SignInFields {
                time: template.time + i * 60_000,
                id: format!("id-{i}"),
                user: format!("user{i}@contoso.com"),
                ..template.clone()
            };
            render::signin(&signin.pack(), shape)
        })
        .collect()
}

#[test]
fn scan_reports_bad_lines_by_file_and_line_and_still_finds_the_spray() {
    let mut lines = spray_lines(Shape::AzureMonitor);
    lines.insert(2, "{\"broken\": ".into());
    lines.insert(4, "\"just a string\"".into());
    lines.insert(6, "{\"some\": \"other log\"}".into());
    let path = temp("bad-lines.ndjson", &(lines.join("\n") + "\n"));
    let (code, stdout, stderr) = snowyowl(&["scan", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let name = path.display().to_string();
    assert!(
        stderr.contains(&format!("{name}:3: malformed: invalid JSON")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{name}:5: not-an-object: expected a JSON object, found a string"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}:7: unknown-shape: unknown event shape")),
        "{stderr}"
    );
    assert!(
        stderr.contains("8 accepted, 0 ignored (no detector reads them), 3 rejected"),
        "{stderr}"
    );
    assert!(
        stdout
            .lines()
            .any(|line| line.contains(r#""uid":"password-spray""#)),
        "{stdout}"
    );
    for line in stdout.lines() {
        let finding: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(finding["class_uid"], 2004);
    }
}

#[test]
fn scan_reads_log_analytics_csv_exports() {
    // A CSV export: BOM, `TimeGenerated [UTC]` in the portal's format, nested columns as JSON
    // strings, and one row with more cells than the header.
    let mut csv = String::from("\u{feff}TimeGenerated [UTC],OperationName,UserPrincipalName,IPAddress,ResultType,Status,Id\n");
    for i in 0..8 {
        csv.push_str(&format!(
            "\"3/4/2024, 9:{:02}:00.000 AM\",Sign-in activity,user{i}@contoso.com,203.0.113.66,50126,\"{{\"\"errorCode\"\":50126}}\",id-{i}\n",
            i
        ));
        if i == 3 {
            csv.push_str("x,y,z,1,2,3,4,5,6,7\n");
        }
    }
    let path = temp("export.csv", &csv);
    let (code, stdout, stderr) = snowyowl(&["scan", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:6: malformed: row has more cells",
            path.display()
        )),
        "{stderr}"
    );
    assert!(
        stdout.contains(r#""uid":"password-spray""#),
        "{stdout}\n{stderr}"
    );
}

#[test]
fn scan_reads_json_documents() {
    let records = spray_lines(Shape::AzureMonitor).join(",\n    ");
    let path = temp(
        "export.json",
        &format!("{{\n  \"records\": [\n    {records}\n  ]\n}}\n"),
    );
    let (code, stdout, stderr) = snowyowl(&["scan", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("8 accepted"), "{stderr}");
    assert!(stdout.contains(r#""uid":"password-spray""#));
}

#[test]
fn scan_refuses_a_bad_config_naming_the_field() {
    let config = temp(
        "bad-config.json",
        r#"{"detectors": {"password-spray": {"windw": "10m"}}}"#,
    );
    let (code, _, stderr) = snowyowl(&[
        "scan",
        "--config",
        config.to_str().unwrap(),
        demo_path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("invalid config: detectors.password-spray.windw: unknown field `windw`"),
        "{stderr}"
    );
}

#[test]
fn scan_of_a_missing_file_says_which() {
    let (code, _, stderr) = snowyowl(&["scan", "/nonexistent/signins.jsonl"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("opening /nonexistent/signins.jsonl"),
        "{stderr}"
    );
}

#[test]
fn scan_reports_a_read_error_from_the_reading_thread() {
    // A directory opens but cannot be read: the error comes from the thread that reads ahead
    // (after a first input that reads fine) and must reach the operator with the input's name.
    let dir = std::env::temp_dir();
    let demo = demo_path();
    let (code, _, stderr) = snowyowl(&["scan", demo.to_str().unwrap(), dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("reading {}", dir.display())),
        "{stderr}"
    );
}

#[test]
fn the_cli_and_the_native_engine_agree_and_batching_does_not_matter() {
    let demo = demo_path();
    let demo = demo.to_str().unwrap();
    let (_, component, _) = snowyowl(&["scan", "--seed", "1", demo]);
    let (_, native, _) = snowyowl(&["scan", "--seed", "1", "--engine", "native", demo]);
    let (_, small_batches, _) = snowyowl(&["scan", "--seed", "1", "--batch-size", "7", demo]);
    assert!(component.contains("svc-legacy-test@contoso.com"));
    assert_eq!(component, native);
    assert_eq!(component, small_batches);
}

#[test]
fn the_bundled_scenarios_are_what_generate_writes() {
    for (scenario, file) in [
        ("demo", "demo-tenant.ndjson"),
        ("midnight-blizzard", "midnight-blizzard.ndjson"),
        ("app-abuse", "app-abuse.ndjson"),
    ] {
        let (code, stdout, _) = snowyowl(&["generate", "--scenario", scenario, "--seed", "2024"]);
        assert_eq!(code, 0);
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data")
            .join(file);
        let bundled = std::fs::read_to_string(path).unwrap();
        assert!(stdout == bundled, "tests/data/{file} is stale: regenerate it with `snowyowl generate --scenario {scenario}`");
    }
}

#[test]
fn help_explains_the_commands() {
    let (code, stdout, _) = snowyowl(&["scan", "--help"]);
    assert_eq!(code, 0);
    for needle in [
        "--config",
        "--output",
        "--component",
        "Log Analytics",
        "--batch-size",
        "--brief",
        "--cache-dir",
        "~/.cache/snowyowl",
        "--no-cache",
    ] {
        assert!(stdout.contains(needle), "missing {needle}");
    }
}

#[test]
fn a_state_file_carries_everything_across_runs() {
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/midnight-blizzard.ndjson");
    let text = std::fs::read_to_string(&scenario).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let first = temp("first-half.ndjson", &(first.join("\n") + "\n"));
    let second = temp("second-half.ndjson", &(second.join("\n") + "\n"));
    let state = std::env::temp_dir().join(format!("snowyowl-state-{}.snap", std::process::id()));
    let _ = std::fs::remove_file(&state);
    let state_arg = state.to_str().unwrap();
    // Each run gets its own random hash seed, as a restarted shipper would.
    let (code, out1, err1) =
        snowyowl(&["scan", "--state-file", state_arg, first.to_str().unwrap()]);
    assert_eq!(code, 0, "{err1}");
    assert!(state.exists());
    let (code, out2, err2) = snowyowl(&[
        "scan",
        "--state-file",
        state_arg,
        "--final",
        second.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err2}");
    let (_, whole, _) = snowyowl(&["scan", scenario.to_str().unwrap()]);
    assert!(whole.contains(r#""uid":"attack-chain""#));
    assert!(
        out1.clone() + &out2 == whole,
        "two runs with a state file differ from one run"
    );
    // No temporary file is left beside the state.
    let leftovers = std::fs::read_dir(state.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .contains(&format!("{}.tmp", std::process::id()))
        })
        .count();
    assert_eq!(leftovers, 0);
    let _ = std::fs::remove_file(&state);
}

#[test]
fn a_damaged_state_file_is_refused_with_the_reason() {
    let header = format!(
        "SNOWYOWL-SNAPSHOT {} 0000\n{{}}",
        snowyowl::engine::SNAPSHOT_VERSION
    );
    let state = temp("damaged.snap", &header);
    let (code, _, stderr) = snowyowl(&[
        "scan",
        "--state-file",
        state.to_str().unwrap(),
        demo_path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("invalid snapshot: checksum mismatch"),
        "{stderr}"
    );
}

#[test]
fn the_component_snapshot_restores_in_the_native_core_and_back() {
    // The snapshot format is the same whichever way the core runs.
    let text = demo();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(700);
    let mut component = ComponentBackend::new(&component(), "", 1).unwrap();
    let mut findings = component
        .push(first.join("\n").as_bytes())
        .unwrap()
        .findings;
    let snapshot = component.snapshot().unwrap();
    let mut native = NativeBackend::with_state("", 2, Some(&snapshot)).unwrap();
    findings.extend(native.push(second.join("\n").as_bytes()).unwrap().findings);
    findings.extend(native.flush().unwrap());
    let whole = run(&mut NativeBackend::new("", 3).unwrap(), &text, 10_000);
    assert_eq!(findings, whole);
}

/// `advance-idle` through the component is the core's: the same tenants move, by the same time,
/// with the same findings, and where it left off survives a snapshot from one into the other.
#[test]
fn advance_idle_is_the_same_in_the_component_and_the_core() {
    let text = demo();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let watermarks = |backend: &mut dyn Backend| -> serde_json::Value {
        let stats: serde_json::Value = serde_json::from_str(&backend.stats().unwrap()).unwrap();
        stats["tenants"]["by_tenant"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(tenant, figures)| (tenant.clone(), figures["watermark"].clone()))
            .collect()
    };
    let hour = 3_600_000;
    let mut component = ComponentBackend::new(&component(), "", 1).unwrap();
    let mut native = NativeBackend::new("", 2).unwrap();
    let mut outputs = Vec::new();
    for backend in [&mut component as &mut dyn Backend, &mut native] {
        let mut findings = backend.push(first.join("\n").as_bytes()).unwrap().findings;
        let before = watermarks(backend);
        findings.extend(backend.advance_idle(hour).unwrap());
        assert_eq!(
            watermarks(backend),
            before,
            "the tenant took events: it stays"
        );
        findings.extend(backend.advance_idle(hour).unwrap());
        let moved = watermarks(backend);
        assert_ne!(moved, before, "a whole hour without events: it moves");
        outputs.push((findings, moved, backend.snapshot().unwrap()));
    }
    let (native_out, component_out) = (outputs.pop().unwrap(), outputs.pop().unwrap());
    assert_eq!(component_out.0, native_out.0);
    assert_eq!(component_out.1, native_out.1);
    // The component's snapshot, continued in the core: quiet since the last call, so it moves.
    let mut restored = NativeBackend::with_state("", 3, Some(&component_out.2)).unwrap();
    let mut again = NativeBackend::with_state("", 4, Some(&native_out.2)).unwrap();
    assert_eq!(
        restored.advance_idle(hour).unwrap(),
        again.advance_idle(hour).unwrap()
    );
    assert_ne!(watermarks(&mut restored), component_out.1);
    let rest = second.join("\n");
    assert_eq!(
        restored.push(rest.as_bytes()).unwrap(),
        again.push(rest.as_bytes()).unwrap()
    );
}

/// The component's record scanner finds string ends sixteen bytes at a time (WebAssembly SIMD),
/// the native core's eight: a quote, an escape or a control character at every offset of a value
/// and of a key reads the same in both.
#[test]
fn string_ends_at_every_offset_read_the_same_in_the_component_and_the_core() {
    let (value, key) = (
        r#""appDisplayName":"Microsoft Office""#,
        r#""appDisplayName""#,
    );
    let record = demo()
        .lines()
        .find(|line| line.contains(value))
        .unwrap()
        .to_owned();
    let mut lines = Vec::new();
    for special in [r#"\""#, r"\\", r"\u0041", r"\n", "\u{1}", "\u{1f}", "é"] {
        for offset in 0..40 {
            let text = format!("{}{special}{}", "a".repeat(offset), "b".repeat(offset % 7));
            lines.push(record.replace(value, &format!(r#""appDisplayName":"{text}""#)));
            lines.push(record.replace(key, &format!(r#""{text}""#)));
        }
    }
    let batch = lines.join("\n");
    let mut component = ComponentBackend::new(&component(), "", 3).unwrap();
    let mut native = NativeBackend::new("", 3).unwrap();
    let from_component = component.push(batch.as_bytes()).unwrap();
    assert!(
        !from_component.rejected.is_empty(),
        "raw control characters are refused"
    );
    assert!(from_component.accepted > 0);
    assert_eq!(from_component, native.push(batch.as_bytes()).unwrap());
    assert_eq!(component.stats().unwrap(), native.stats().unwrap());
}

#[test]
fn hostile_input_never_traps_the_component_or_stops_the_cli() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/hostile.ndjson");
    let bytes = std::fs::read(&corpus).unwrap();
    let mut component = ComponentBackend::new(&component(), "", random_seed()).unwrap();
    let mut native = NativeBackend::new("", random_seed()).unwrap();
    let from_component = component.push(&bytes).unwrap();
    let from_native = native.push(&bytes).unwrap();
    assert!(!from_component.rejected.is_empty());
    assert_eq!(
        from_component, from_native,
        "the component answers exactly as the core"
    );
    // Line by line too (each line its own batch), and the component is still usable after.
    for line in bytes.split(|b| *b == b'\n') {
        component.push(line).unwrap();
    }
    assert!(component.flush().is_ok());
    let (code, _, stderr) =
        snowyowl(&["scan", "--show-rejections", "200", corpus.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("hostile.ndjson:1: malformed: invalid JSON"),
        "{stderr}"
    );
    assert!(stderr.contains("invalid UTF-8"), "{stderr}");
}

#[test]
fn the_benchmark_tenant_reads_cleanly_and_every_planted_attack_is_found() {
    use snowyowl_cli::tenant::{tenant, Stress, TenantOptions};
    let options = TenantOptions {
        users: 5_000,
        events: 30_000,
        seed: 9,
        stress: Stress::None,
        attacks: true,
    };
    let mut text = Vec::new();
    let truth = tenant(&options, &mut text).unwrap();
    let mut again = Vec::new();
    tenant(&options, &mut again).unwrap();
    assert!(text == again, "the same options give the same bytes");

    // Every finding once, as it stands last.
    let scan = |text: &[u8]| -> Vec<serde_json::Value> {
        let mut backend = NativeBackend::new("", 3).unwrap();
        let pushed = backend.push(text).unwrap();
        assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected.first());
        let mut latest: Vec<serde_json::Value> = Vec::new();
        for json in pushed
            .findings
            .iter()
            .chain(backend.flush().unwrap().iter())
            .map(|f| f.json.clone())
        {
            let finding: serde_json::Value = serde_json::from_str(&json).unwrap();
            let uid = finding["finding_info"]["uid"].clone();
            latest.retain(|f| f["finding_info"]["uid"] != uid);
            latest.push(finding);
        }
        latest
    };
    let findings = scan(&text);
    let entities = |f: &serde_json::Value| -> Vec<String> {
        f["observables"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|o| o["value"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let strings = |value: &serde_json::Value| -> Vec<String> {
        value
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let medium_or_above = |f: &serde_json::Value| f["severity_id"].as_u64().unwrap_or(0) >= 3;
    for attack in truth["attacks"].as_array().unwrap() {
        let detectors = strings(&attack["detectors"]);
        let wanted = strings(&attack["entities"]);
        let found = findings.iter().any(|f| {
            let seen = entities(f);
            detectors
                .iter()
                .any(|d| f["finding_info"]["analytic"]["uid"] == d.as_str())
                && wanted.iter().all(|w| seen.contains(w))
        });
        assert!(found, "planted attack {} not found", attack["name"]);
    }
    // The first-try hit: a user the spray never tried, single-factor from one of its proxies, is
    // critical, and the finding names both.
    let first_try = truth["attacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|attack| attack["name"] == "first-try-hit")
        .expect("the truth lists the first-try hit");
    let wanted = strings(&first_try["entities"]);
    assert!(
        wanted.len() == 2 && wanted[1].starts_with("198.18."),
        "{wanted:?}"
    );
    assert!(
        findings.iter().any(|f| {
            f["finding_info"]["analytic"]["uid"] == "spray-then-success"
                && f["severity"] == "Critical"
                && wanted.iter().all(|w| entities(f).contains(w))
        }),
        "no critical spray-then-success naming {wanted:?}"
    );

    // Nothing at medium or above about the benign population: every such finding names an
    // attacker IP (or network), a sprayed or compromised user, or the attacker's apps.
    let known = &truth["attack_entities"];
    let (users, apps, networks) = (
        strings(&known["users"]),
        strings(&known["apps"]),
        strings(&known["ips"]),
    );
    let in_network = |value: &str, network: &str| -> bool {
        use std::net::IpAddr;
        let Some((base, bits)) = network.split_once('/') else {
            return value == network;
        };
        let (Ok(ip), Ok(base), Ok(bits)) = (
            value.parse::<IpAddr>(),
            base.parse::<IpAddr>(),
            bits.parse::<u32>(),
        ) else {
            return false;
        };
        match (ip, base) {
            (IpAddr::V4(ip), IpAddr::V4(base)) => {
                bits == 0 || (u32::from(ip) ^ u32::from(base)) >> (32 - bits.min(32)) == 0
            }
            (IpAddr::V6(ip), IpAddr::V6(base)) => {
                bits == 0 || (u128::from(ip) ^ u128::from(base)) >> (128 - bits.min(128)) == 0
            }
            _ => false,
        }
    };
    assert!(
        in_network("198.18.4.94", "198.18.0.0/21") && !in_network("198.18.8.1", "198.18.0.0/21")
    );
    let related = |f: &serde_json::Value| {
        entities(f).iter().any(|value| {
            users.contains(value)
                || apps.contains(value)
                || networks.iter().any(|network| in_network(value, network))
        })
    };
    for finding in findings.iter().filter(|f| medium_or_above(f)) {
        assert!(
            related(finding),
            "a finding about the benign population: {}",
            finding["finding_info"]["title"]
        );
    }
    // The look-alikes are benign: none of their users or IPs is an attacker's.
    for look_alike in truth["look_alikes"].as_array().unwrap() {
        for value in strings(&look_alike["users"])
            .iter()
            .chain(&strings(&look_alike["ips"]))
        {
            assert!(
                !users.contains(value) && !networks.iter().any(|n| in_network(value, n)),
                "{value} of look-alike {} is an attack entity",
                look_alike["name"]
            );
        }
    }

    // The same day without the attacks: nothing at medium or above.
    let benign = TenantOptions {
        attacks: false,
        ..options
    };
    let mut text = Vec::new();
    let truth = tenant(&benign, &mut text).unwrap();
    assert!(truth["attacks"].as_array().unwrap().is_empty());
    let queue: Vec<String> = scan(&text)
        .iter()
        .filter(|f| medium_or_above(f))
        .map(|f| f["finding_info"]["title"].to_string())
        .collect();
    assert!(
        queue.is_empty(),
        "findings on the benign-only day: {queue:?}"
    );
}

#[test]
fn scan_of_a_mixed_stream_gives_each_tenant_what_its_own_scan_gives() {
    // Issue 27: three scenarios, each under its own tenant id, interleaved line by line in one
    // file; each tenant's findings (OCSF cloud.account.uid) equal a scan of its lines alone, in
    // the component and the native core.
    let generated = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data");
    let tenants: Vec<(String, String)> = ["demo-tenant", "midnight-blizzard", "app-abuse"]
        .iter()
        .enumerate()
        .map(|(n, name)| {
            let tenant = format!("0c0ffee0-{n}{n}{n}{n}-4000-8000-00000000000{n}");
            let text = std::fs::read_to_string(data.join(format!("{name}.ndjson"))).unwrap();
            (tenant.clone(), text.replace(generated, &tenant))
        })
        .collect();
    let mut lines: Vec<std::str::Lines> = tenants.iter().map(|(_, t)| t.lines()).collect();
    let mut mixed = String::new();
    while lines.iter().any(|l| l.clone().next().is_some()) {
        for tenant in &mut lines {
            if let Some(line) = tenant.next() {
                mixed.push_str(line);
                mixed.push('\n');
            }
        }
    }
    let of_tenant = |ndjson: &str, tenant: &str| -> Vec<String> {
        ndjson
            .lines()
            .filter(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                value["cloud"]["account"]["uid"] == tenant
            })
            .map(str::to_owned)
            .collect()
    };
    let mixed_path = temp("mixed-tenants.ndjson", &mixed);
    for engine in ["component", "native"] {
        let (code, all, _) = snowyowl(&[
            "scan",
            "--seed",
            "1",
            "--engine",
            engine,
            "-q",
            mixed_path.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{engine}");
        for (tenant, text) in &tenants {
            let path = temp(&format!("alone-{tenant}.ndjson"), text);
            let (code, alone, _) = snowyowl(&[
                "scan",
                "--seed",
                "2",
                "--engine",
                engine,
                "-q",
                path.to_str().unwrap(),
            ]);
            assert_eq!(code, 0);
            let own = of_tenant(&alone, tenant);
            assert!(!own.is_empty(), "{engine} {tenant}");
            assert_eq!(of_tenant(&all, tenant), own, "{engine} {tenant}");
        }
    }
}

/// `snowyowl` with its environment for the compile cache under the test's control: no
/// SNOWYOWL_CACHE_DIR or SNOWYOWL_COMPONENT from the caller, XDG_CACHE_HOME as given.
fn snowyowl_with_cache_home(args: &[&str], cache_home: &Path) -> (i32, String, String) {
    output_of(
        Command::new(env!("CARGO_BIN_EXE_snowyowl"))
            .args(args)
            .env_remove("SNOWYOWL_CACHE_DIR")
            .env_remove("SNOWYOWL_COMPONENT")
            .env("XDG_CACHE_HOME", cache_home),
    )
}

/// A fresh, empty directory for one test.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snowyowl-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every file under `dir`, at any depth (none when it is missing).
fn walk(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map_or(Vec::new(), |entries| {
        entries
            .flatten()
            .flat_map(|entry| {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path)
                } else {
                    vec![path]
                }
            })
            .collect()
    })
}

fn files_under(dir: &Path) -> usize {
    walk(dir).len()
}

#[test]
fn the_built_in_component_runs_from_the_artifact_compiled_with_the_binary() {
    let home = fresh_dir("built-in");
    let demo = demo_path();
    let demo = demo.to_str().unwrap();
    let (code, findings, stderr) =
        snowyowl_with_cache_home(&["scan", "--seed", "1", "-v", demo], &home);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("component built-in: compiled ahead of time, when this binary was built"),
        "{stderr}"
    );
    let (_, native, _) = snowyowl(&["scan", "--seed", "1", "--engine", "native", demo]);
    assert!(findings.contains("svc-legacy-test@contoso.com"));
    assert_eq!(findings, native);
    // Nothing was compiled, so nothing was cached.
    assert_eq!(files_under(&home), 0);
}

#[test]
fn a_component_file_is_compiled_once_then_read_from_the_cache() {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/snowyowl.wasm");
    let built = built.to_str().unwrap();
    let home = fresh_dir("cache-home");
    let cache = home.join("snowyowl");
    let demo = demo_path();
    let demo = demo.to_str().unwrap();
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", "--seed", "1", "-v", "--component", built];
        args.extend_from_slice(extra);
        args.push(demo);
        snowyowl_with_cache_home(&args, &home)
    };

    let (code, first, stderr) = scan(&[]);
    assert_eq!(code, 0, "{stderr}");
    let cache_shown = std::fs::canonicalize(&cache).unwrap();
    let cache_shown = cache_shown.display();
    assert!(
        stderr.contains(&format!("compiled now, cached in {cache_shown}")),
        "{stderr}"
    );
    assert!(
        files_under(&cache) > 0,
        "nothing was written to {cache_shown}"
    );

    let (code, second, stderr) = scan(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "compiled by an earlier run, cached in {cache_shown}"
        )),
        "{stderr}"
    );
    assert_eq!(second, first);

    // --no-cache compiles and leaves the cache as it was.
    let before = files_under(&cache);
    let (code, third, stderr) = scan(&["--no-cache"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("compiled now, not cached"), "{stderr}");
    assert_eq!(third, first);
    assert_eq!(files_under(&cache), before);

    // A cache cleared by hand costs one compile, nothing else.
    std::fs::remove_dir_all(&cache).unwrap();
    let (code, fourth, stderr) = scan(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("compiled now, cached in"), "{stderr}");
    assert_eq!(fourth, first);

    // So does a damaged one: every entry cut short (a disk that filled up mid-write).
    let mut damaged = 0;
    for entry in walk(&cache) {
        let bytes = std::fs::read(&entry).unwrap();
        std::fs::write(&entry, &bytes[..bytes.len() / 2]).unwrap();
        damaged += 1;
    }
    assert!(damaged > 0);
    let (code, fifth, stderr) = scan(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("compiled now, cached in"), "{stderr}");
    assert_eq!(fifth, first);

    // --cache-dir (or SNOWYOWL_CACHE_DIR) puts it elsewhere.
    let elsewhere = fresh_dir("cache-elsewhere").join("cache");
    let (code, _, stderr) = scan(&["--cache-dir", elsewhere.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(files_under(&elsewhere) > 0, "{stderr}");
}

/// `snowyowl scan -v` of the demo with the built component given as a file (so through the
/// compile cache) and `cache` as the cache directory.
fn scan_built_with_cache(cache: &Path, home: &Path) -> (i32, String, String) {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/snowyowl.wasm");
    let demo = demo_path();
    snowyowl_with_cache_home(
        &[
            "scan",
            "--seed",
            "1",
            "-v",
            "--component",
            built.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
            demo.to_str().unwrap(),
        ],
        home,
    )
}

/// The cache holds machine code the CLI runs: a directory others could write into is not used,
/// nor one holding anything they could write; one snowyowl creates is closed to them.
#[cfg(unix)]
#[test]
fn a_cache_directory_others_can_write_into_is_not_used() {
    use std::os::unix::fs::PermissionsExt;

    let home = fresh_dir("cache-open");
    let cache = home.join("shared");
    std::fs::create_dir(&cache).unwrap();
    let chmod = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    chmod(&cache, 0o775);
    let scan = |cache: &Path| scan_built_with_cache(cache, &home);
    let (code, findings, stderr) = scan(&cache);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("not cached (cache directory")
            && stderr.contains("is writable by other users (mode 775; `chmod go-w` it)"),
        "{stderr}"
    );
    assert!(findings.contains("svc-legacy-test@contoso.com"));
    assert_eq!(
        files_under(&cache),
        0,
        "code was written where others can write"
    );

    // Closed to others' writes (as wasmtime itself makes it under the usual umask), it is used.
    chmod(&cache, 0o755);
    let (code, _, stderr) = scan(&cache);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("compiled now, cached in"), "{stderr}");
    let (_, _, stderr) = scan(&cache);
    assert!(stderr.contains("compiled by an earlier run"), "{stderr}");

    // Anything inside that others could write is refused too: the compiled code itself.
    let entry = walk(&cache).into_iter().next().unwrap();
    chmod(&entry, 0o666);
    let (code, _, stderr) = scan(&cache);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("compiled now, not cached") && stderr.contains("mode 666"),
        "{stderr}"
    );

    // A missing one is created closed to others, parents included.
    let created = home.join("new").join("cache");
    let (code, _, stderr) = scan(&created);
    assert_eq!(code, 0, "{stderr}");
    for dir in [home.join("new"), created] {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
    }
}

#[test]
fn a_cache_directory_that_cannot_be_used_costs_only_the_compile() {
    let home = fresh_dir("cache-unusable");
    // A file where the directory should be: it cannot be created.
    let blocked = home.join("not-a-directory");
    std::fs::write(&blocked, "").unwrap();
    let (code, findings, stderr) = scan_built_with_cache(&blocked.join("cache"), &home);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("compiled now, not cached (cannot use cache directory"),
        "{stderr}"
    );
    assert!(findings.contains("svc-legacy-test@contoso.com"));
}

#[test]
fn events_that_name_no_tenant_beside_one_tenant_are_pointed_out_with_the_setting() {
    // The bundled scenario's `Add application` is a Graph API record: it names no tenant, where
    // every other record names 6f1b2c3d-….
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/midnight-blizzard.ndjson");
    let scenario = scenario.to_str().unwrap();
    let (code, _, stderr) = snowyowl(&["scan", "--seed", "1", "--engine", "native", scenario]);
    assert_eq!(code, 0, "{stderr}");
    let setting = r#""tenants": {"default": "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}"#;
    assert!(stderr.contains("1 event(s) named no tenant"), "{stderr}");
    assert!(stderr.contains(setting), "{stderr}");

    // With the setting, they are watched with the tenant, and nothing is said.
    let config = temp("tenants-default.json", &format!("{{{setting}}}"));
    let (code, _, stderr) = snowyowl(&[
        "scan",
        "--seed",
        "1",
        "--engine",
        "native",
        "--config",
        config.to_str().unwrap(),
        scenario,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("named no tenant"), "{stderr}");

    // A stream where every event names its tenant gets no such line.
    let demo = demo_path();
    let (_, _, stderr) = snowyowl(&[
        "scan",
        "--seed",
        "1",
        "--engine",
        "native",
        demo.to_str().unwrap(),
    ]);
    assert!(!stderr.contains("named no tenant"), "{stderr}");
}
