//! The Fluent Bit module, called record by record exactly as Fluent Bit's `filter_wasm` calls it.

// Test code: a failed unwrap is a failed test.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::borrow::Cow;
use std::path::Path;

use serde_json::Value;
use snowyowl_cli::runtime::load_component;
use snowyowl_cli::{random_seed, Backend, ComponentBackend};
use snowyowl_fluent_bit_host::{FilterHost, Outcome, MODULE_PATH};

/// The component the CLI runs: built into it, or `build/snowyowl.wasm` (`make component`).
fn component() -> Cow<'static, [u8]> {
    load_component(None).unwrap_or_else(|error| panic!("{error:#}"))
}

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn module() -> Vec<u8> {
    std::fs::read(repo(MODULE_PATH)).expect("build the module first: make fluent-bit")
}

fn scenario() -> String {
    std::fs::read_to_string(repo("tests/data/midnight-blizzard.ndjson")).unwrap()
}

/// Feeds every line as one record; returns the outputs.
fn filter(host: &mut FilterHost, records: &[String]) -> Vec<Outcome> {
    records
        .iter()
        .enumerate()
        .map(|(n, record)| {
            host.call(
                "entra.signin",
                1_700_000_000 + n as u32,
                0,
                record.as_bytes(),
            )
            .unwrap()
        })
        .collect()
}

/// The findings carried by an output record, as compact JSON strings.
fn carried(outcome: &Outcome) -> Vec<String> {
    let Outcome::Record(text) = outcome else {
        return Vec::new();
    };
    let record: Value = serde_json::from_str(text).unwrap();
    match record.get("snowyowl_findings") {
        Some(Value::Array(findings)) => findings.iter().map(Value::to_string).collect(),
        _ => Vec::new(),
    }
}

fn sorted(mut findings: Vec<String>) -> Vec<String> {
    findings.sort();
    findings
}

/// Findings as compact JSON strings, so that key order and spacing cannot differ.
fn canonical(json: &str) -> String {
    serde_json::from_str::<Value>(json).unwrap().to_string()
}

#[test]
fn the_module_imports_nothing_and_exports_the_abi() {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, module()).unwrap();
    assert_eq!(module.imports().len(), 0);
    let exports: Vec<&str> = module.exports().map(|export| export.name()).collect();
    for name in [
        "memory",
        "malloc",
        "free",
        "snowyowl_filter",
        "snowyowl_findings_only",
    ] {
        assert!(exports.contains(&name), "{name} not exported: {exports:?}");
    }
}

#[test]
fn record_by_record_it_finds_what_the_cli_finds_and_passes_the_rest_unchanged() {
    let text = scenario();
    let records: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut host = FilterHost::new(&module(), "snowyowl_filter").unwrap();
    let outcomes = filter(&mut host, &records);

    let mut from_module = Vec::new();
    for (record, outcome) in records.iter().zip(&outcomes) {
        let found = carried(outcome);
        if found.is_empty() {
            assert_eq!(
                outcome,
                &Outcome::Record(record.clone()),
                "changed without findings"
            );
        } else {
            // The record is kept whole, with the findings and their top severity added.
            let Outcome::Record(text) = outcome else {
                panic!()
            };
            let mut annotated: Value = serde_json::from_str(text).unwrap();
            let object = annotated.as_object_mut().unwrap();
            let severity = object.remove("snowyowl_severity").unwrap();
            assert!(["Low", "Medium", "High", "Critical", "Informational"]
                .contains(&severity.as_str().unwrap()));
            object.remove("snowyowl_findings").unwrap();
            assert_eq!(annotated, serde_json::from_str::<Value>(record).unwrap());
        }
        from_module.extend(found);
    }

    // The same records through the component as the CLI runs it: what the module attached is
    // everything except what only closing the last windows (a flush, which Fluent Bit never
    // calls) adds.
    let mut cli = ComponentBackend::new(&component(), "", random_seed()).unwrap();
    let pushed = cli.push(text.as_bytes()).unwrap();
    let streamed: Vec<String> = pushed.findings.iter().map(|f| canonical(&f.json)).collect();
    let at_flush: Vec<String> = cli
        .flush()
        .unwrap()
        .iter()
        .map(|f| canonical(&f.json))
        .collect();
    assert_eq!(sorted(from_module.clone()), sorted(streamed));

    let detectors: Vec<String> = from_module
        .iter()
        .map(|f| {
            let v: Value = serde_json::from_str(f).unwrap();
            v["finding_info"]["analytic"]["uid"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for detector in [
        "distributed-password-spray",
        "spray-then-success",
        "oauth-credential-added",
        "oauth-high-privilege-grant",
        "mailbox-access-by-app",
        "attack-chain",
    ] {
        assert!(
            detectors.iter().any(|d| d == detector)
                || at_flush.iter().any(|f| f.contains(detector)),
            "{detector} missing"
        );
    }
    assert!(
        detectors.iter().any(|d| d == "distributed-password-spray"),
        "the spray is streamed: {detectors:?}"
    );
}

#[test]
fn raw_tail_lines_under_log_are_read_too() {
    let text = scenario();
    let records: Vec<String> = text.lines().map(str::to_owned).collect();
    let wrapped: Vec<String> = records
        .iter()
        .map(|line| serde_json::json!({ "log": line }).to_string())
        .collect();
    let mut plain = FilterHost::new(&module(), "snowyowl_filter").unwrap();
    let mut tail = FilterHost::new(&module(), "snowyowl_filter").unwrap();
    let expected: Vec<String> = filter(&mut plain, &records)
        .iter()
        .flat_map(carried)
        .collect();
    let found: Vec<String> = filter(&mut tail, &wrapped)
        .iter()
        .flat_map(carried)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(found, expected);
}

#[test]
fn findings_only_drops_records_without_findings() {
    let text = scenario();
    let records: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut all = FilterHost::new(&module(), "snowyowl_filter").unwrap();
    let mut only = FilterHost::new(&module(), "snowyowl_findings_only").unwrap();
    let everything = filter(&mut all, &records);
    let kept = filter(&mut only, &records);
    for (a, b) in everything.iter().zip(&kept) {
        if carried(a).is_empty() {
            assert_eq!(b, &Outcome::Dropped);
        } else {
            assert_eq!(a, b);
        }
    }
    assert!(kept.iter().any(|k| k != &Outcome::Dropped));
}

#[test]
fn hostile_records_never_trap_and_the_stream_goes_on() {
    let mut host = FilterHost::new(&module(), "snowyowl_filter").unwrap();
    let big_string = format!(
        r#"{{"id":"x","createdDateTime":"2024-01-15T10:00:00Z","userPrincipalName":"a@b.c","ipAddress":"203.0.113.9","status":{{"errorCode":50126}},"pad":"{}"}}"#,
        "a".repeat(1 << 20)
    );
    let big_array = format!(r#"{{"log":"x","items":[{}0]}}"#, "0,".repeat(1 << 19));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let hostile: Vec<&[u8]> = vec![
        b"",
        b"{}",
        b"{",
        b"not json at all",
        b"[1,2,3]",
        b"\"just a string\"",
        b"{\"log\": \"{broken\"}",
        b"{\"log\": 42}",
        b"\xff\xfe\xfd",
        big_string.as_bytes(),
        big_array.as_bytes(),
        deep.as_bytes(),
        // A sign-in with a bad time: a known shape that cannot be read.
        br#"{"id":"y","createdDateTime":"yesterday","userPrincipalName":"a@b.c","ipAddress":"203.0.113.9","status":{"errorCode":50126}}"#,
    ];
    for record in &hostile {
        let outcome = host.call("t", 0, 0, record).unwrap();
        match outcome {
            Outcome::Dropped => assert!(
                record.is_empty(),
                "dropped {:?}",
                &record[..record.len().min(40)]
            ),
            Outcome::Record(text) => {
                if let Ok(value) = serde_json::from_slice::<Value>(record) {
                    if value.is_object() {
                        let out: Value = serde_json::from_str(&text).unwrap();
                        assert!(out.is_object());
                    }
                }
            }
        }
    }
    // The invalid time is reported on the record; the unknown shapes pass unchanged.
    let bad_time = host.call("t", 0, 0, hostile[12]).unwrap();
    let Outcome::Record(text) = bad_time else {
        panic!()
    };
    assert!(text.contains("snowyowl_rejected"), "{text}");
    assert_eq!(
        host.call("t", 0, 0, b"[1,2,3]").unwrap(),
        Outcome::Record("[1,2,3]".into())
    );

    // After all that, the same instance still finds a spray.
    let mut found = Vec::new();
    for (n, user) in ["ann", "bob", "cat", "dan", "eve", "fay", "gus", "hal"]
        .iter()
        .enumerate()
    {
        let record = format!(
            r#"{{"id":"s{n}","createdDateTime":"2024-01-15T10:0{n}:00Z","userPrincipalName":"{user}@contoso.com","ipAddress":"198.51.100.77","status":{{"errorCode":50126}}}}"#
        );
        found.extend(carried(&host.call("t", 0, 0, record.as_bytes()).unwrap()));
    }
    let later = r#"{"id":"later","createdDateTime":"2024-01-15T11:30:00Z","userPrincipalName":"zed@contoso.com","ipAddress":"192.0.2.1","status":{"errorCode":0}}"#;
    found.extend(carried(&host.call("t", 0, 0, later.as_bytes()).unwrap()));
    assert!(
        found.iter().any(|f| f.contains("password-spray")),
        "{found:?}"
    );
    assert!(
        host.memory_bytes() < 256 << 20,
        "memory {}",
        host.memory_bytes()
    );
}

#[test]
fn the_example_configuration_names_real_exports_and_fields() {
    let yaml = std::fs::read_to_string(repo("host-examples/fluent-bit/fluent-bit.yaml")).unwrap();
    assert!(yaml.contains("function_name: snowyowl_filter"));
    assert!(yaml.contains("event_format: json"));
    assert!(yaml.contains("rule: $snowyowl_severity "));
    // The rewrite_tag rule matches the severities the module writes.
    let mut host = FilterHost::new(&module(), "snowyowl_filter").unwrap();
    let text = scenario();
    let records: Vec<String> = text.lines().map(str::to_owned).collect();
    for outcome in filter(&mut host, &records) {
        if let Outcome::Record(text) = outcome {
            let value: Value = serde_json::from_str(&text).unwrap();
            if let Some(severity) = value.get("snowyowl_severity") {
                let severity = severity.as_str().unwrap();
                assert!(
                    yaml.contains(&format!("|{severity}|"))
                        || yaml.contains(&format!("({severity}|"))
                        || yaml.contains(&format!("|{severity})"))
                );
            }
        }
    }
}

#[test]
fn interpreted_it_filters_as_compiled() {
    use snowyowl_fluent_bit_host::Runtime;
    let text = scenario();
    let records: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut compiled =
        FilterHost::with_runtime(&module(), "snowyowl_filter", Runtime::Compiled).unwrap();
    let mut interpreted =
        FilterHost::with_runtime(&module(), "snowyowl_filter", Runtime::Interpreted).unwrap();
    assert_eq!(
        filter(&mut interpreted, &records),
        filter(&mut compiled, &records)
    );
}

/// The `key: value` settings of a Fluent Bit YAML file, by plugin: the `service` section first
/// (named `service`), then each `- name: …` entry (named so), in order; comments dropped.
fn plugins(yaml: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut plugins: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in yaml.lines() {
        let line = line.split(" #").next().unwrap();
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || !trimmed.contains(':') {
            continue;
        }
        let (key, value) = trimmed.split_once(':').unwrap();
        let (key, value) = (key.trim(), value.trim().to_owned());
        if line == "service:" {
            plugins.push(("service".into(), Vec::new()));
        } else if let Some(name) = key.strip_prefix("- ") {
            if name == "name" {
                plugins.push((value.clone(), Vec::new()));
            }
        } else if !value.is_empty() && line.starts_with("  ") {
            if let Some((_, settings)) = plugins.last_mut() {
                settings.push((key.to_owned(), value));
            }
        }
    }
    plugins
}

fn setting<'a>(plugin: &'a (String, Vec<(String, String)>), key: &str) -> Option<&'a str> {
    plugin
        .1
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Fluent Bit's unit sizes (`32k`, `4M`, …) in bytes.
fn bytes(size: &str) -> usize {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = match &size[digits.len()..] {
        "" => 1,
        "k" | "K" | "KB" => 1 << 10,
        "m" | "M" | "MB" => 1 << 20,
        "g" | "G" | "GB" => 1 << 30,
        other => panic!("unit {other}"),
    };
    digits.parse::<usize>().unwrap() * unit
}

/// Issue 28: one line longer than tail's buffer made tail drop the file and read it again from
/// the start about every minute. Both configurations skip such a line, hold every record the
/// samples have, buffer on disk and keep tail's offsets.
#[test]
fn neither_configuration_can_stall_on_a_long_line_or_a_slow_output() {
    let longest = std::fs::read_dir(repo("tests/data"))
        .unwrap()
        .chain(std::fs::read_dir(repo("tests/data/samples")).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "ndjson" || extension == "jsonl")
        })
        .flat_map(|path| {
            std::fs::read(path)
                .unwrap()
                .split(|&byte| byte == b'\n')
                .map(<[u8]>::len)
                .collect::<Vec<_>>()
        })
        .max()
        .unwrap();
    for file in ["fluent-bit.yaml", "fluent-bit-serve.yaml"] {
        let yaml = std::fs::read_to_string(repo("host-examples/fluent-bit").join(file)).unwrap();
        let plugins = plugins(&yaml);
        let service = plugins.iter().find(|(name, _)| name == "service").unwrap();
        assert!(setting(service, "storage.path").is_some(), "{file}");
        let tail = plugins.iter().find(|(name, _)| name == "tail").unwrap();
        assert_eq!(setting(tail, "skip_long_lines"), Some("true"), "{file}");
        assert_eq!(setting(tail, "storage.type"), Some("filesystem"), "{file}");
        assert!(setting(tail, "db").is_some(), "{file}: tail offsets");
        let max = bytes(setting(tail, "buffer_max_size").unwrap());
        let chunk = bytes(setting(tail, "buffer_chunk_size").unwrap());
        assert!(chunk <= max, "{file}");
        assert!(
            max >= 4 * longest,
            "{file}: buffer_max_size {max} for records up to {longest} bytes"
        );
    }
}

/// The sidecar configuration sends to the port the `serve` command in its header listens on,
/// in the framing `serve` reads, and listens for findings where `--findings-to` sends them.
#[test]
fn the_sidecar_configuration_matches_its_serve_command() {
    let yaml =
        std::fs::read_to_string(repo("host-examples/fluent-bit/fluent-bit-serve.yaml")).unwrap();
    let flag = |name: &str| {
        let at = yaml.find(name).unwrap() + name.len();
        yaml[at..].split_whitespace().next().unwrap().to_owned()
    };
    let (listen, findings_to) = (flag("--listen"), flag("--findings-to"));
    let plugins = plugins(&yaml);
    // The `tcp` plugin that has `key` (an output has `match`, an input `listen`).
    let tcp = |key: &str| {
        plugins
            .iter()
            .find(|(name, settings)| name == "tcp" && settings.iter().any(|(k, _)| k == key))
            .unwrap()
    };
    let address = |plugin, host: &str| {
        format!(
            "{}:{}",
            setting(plugin, host).unwrap(),
            setting(plugin, "port").unwrap()
        )
    };
    let (output, input) = (tcp("match"), tcp("listen"));
    assert_eq!(setting(output, "format"), Some("json_lines"));
    assert_eq!(address(output, "host"), listen);
    assert_eq!(setting(input, "format"), Some("json"));
    assert_eq!(address(input, "listen"), findings_to);
}
