//! Engine properties: batching, ordering and time advance do not change findings; bad lines are
//! reported with their line number and never take the rest of the batch with them.

use snowyowl::event::Shape;
use snowyowl::normalize::{normalize, Normalized, RejectionKind};
use snowyowl::{Engine, Finding, Pushed};

use crate::helpers::{ndjson, of, spray};

const DEMO: &str = include_str!("../data/demo-tenant.ndjson");

fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .collect()
}

fn run_in_batches(lines: &[&str], batch: usize) -> Vec<String> {
    let mut engine = default_engine();
    let mut out = Vec::new();
    for chunk in lines.chunks(batch) {
        let text = chunk.join("\n");
        let pushed = engine.push(text.as_bytes());
        assert!(pushed.rejected.is_empty());
        out.extend(pushed.findings.iter().map(Finding::to_json));
    }
    out.extend(engine.flush().iter().map(Finding::to_json));
    out
}

#[test]
fn the_demo_finds_the_spray_and_the_hit() {
    let findings = run_in_batches(&lines(DEMO), 10_000);
    assert!(findings
        .iter()
        .any(|f| f.contains(r#""uid":"password-spray""#)));
    let critical_hit = findings.iter().any(|f| {
        f.contains(r#""uid":"spray-then-success""#)
            && f.contains("svc-legacy-test@contoso.com")
            && f.contains(r#""severity":"Critical""#)
    });
    assert!(critical_hit);
}

#[test]
fn batching_does_not_change_findings() {
    let lines = lines(DEMO);
    let whole = run_in_batches(&lines, 10_000);
    assert!(!whole.is_empty());
    for batch in [1, 7, 333] {
        assert_eq!(run_in_batches(&lines, batch), whole, "batch size {batch}");
    }
}

/// Every input the tests carry, good and bad, in batches of 100 lines.
fn all_test_inputs() -> Vec<Vec<u8>> {
    let files: [&[u8]; 5] = [
        include_bytes!("../data/demo-tenant.ndjson"),
        include_bytes!("../data/midnight-blizzard.ndjson"),
        include_bytes!("../data/app-abuse.ndjson"),
        include_bytes!("../data/hostile.ndjson"),
        include_bytes!("../data/samples/panther-rule-tests.jsonl"),
    ];
    let lines: Vec<&[u8]> = files
        .iter()
        .flat_map(|file| file.split(|b| *b == b'\n'))
        .collect();
    lines.chunks(100).map(|chunk| chunk.join(&b'\n')).collect()
}

fn json(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(Finding::to_json).collect()
}

/// An engine with the default configuration and a fixed seed (so two of them hash alike).
fn default_engine() -> Engine {
    Engine::from_json("{}", 42).unwrap()
}

/// What two engines gave for the same input, pushed two ways: the same.
fn assert_same(a: &Pushed, b: &Pushed) {
    assert_eq!(json(&a.findings), json(&b.findings));
    assert_eq!(a.rejected, b.rejected);
    assert_eq!((a.accepted, a.ignored), (b.accepted, b.ignored));
}

/// Two engines fed the same input two ways end alike: the same flush, the same stats.
fn assert_same_end(a: &mut Engine, b: &mut Engine) {
    assert_eq!(json(&a.flush()), json(&b.flush()));
    assert_eq!(a.stats_json(), b.stats_json());
}

#[test]
fn a_prepared_batch_is_processed_as_the_same_bytes_pushed() {
    let (mut pushing, mut preparing) = (default_engine(), default_engine());
    let mut rejections = 0;
    for batch in all_test_inputs() {
        let pushed = pushing.push(&batch);
        let prepared = preparing.push_prepared(snowyowl::prepare(&batch));
        rejections += pushed.rejected.len();
        assert_same(&prepared, &pushed);
    }
    assert!(rejections > 0, "the hostile lines are rejected");
    assert_same_end(&mut preparing, &mut pushing);
}

#[test]
fn a_record_pushed_alone_is_the_same_as_its_line_pushed() {
    let (mut lines, mut records) = (default_engine(), default_engine());
    let mut rejections = 0;
    for batch in all_test_inputs() {
        for line in batch.split(|b| *b == b'\n') {
            let by_line = lines.push(line);
            let by_record = records.push_record(line);
            rejections += by_line.rejected.len();
            assert_same(&by_record, &by_line);
        }
    }
    assert!(rejections > 0, "the hostile lines are rejected");
    assert_same_end(&mut records, &mut lines);

    // A newline inside a record is white space: the record is read whole.
    let first = DEMO.lines().next().unwrap();
    let value: serde_json::Value = serde_json::from_str(first).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    let mut engine = default_engine();
    let pushed = engine.push_record(pretty.as_bytes());
    assert_eq!((pushed.accepted, pushed.rejected.len()), (1, 0));
}

fn time_of(line: &str) -> i64 {
    let mut time = 0;
    normalize(line, &mut |normalized| {
        if let Normalized::Event(event) = normalized {
            time = event.time();
        }
    });
    time
}

#[test]
fn out_of_order_within_the_lateness_gives_the_same_findings() {
    // The demo arrives up to 90 s out of order; the same events sorted by event time must give
    // exactly the same findings.
    let arrived = lines(DEMO);
    let mut sorted = arrived.clone();
    sorted.sort_by_key(|line| time_of(line));
    assert_ne!(arrived, sorted, "the demo must actually be out of order");
    assert_eq!(run_in_batches(&arrived, 500), run_in_batches(&sorted, 500));
}

fn sorted(mut findings: Vec<String>) -> Vec<String> {
    findings.sort();
    findings
}

#[test]
fn advancing_time_does_not_change_findings() {
    let lines = lines(DEMO);
    let reference = sorted(run_in_batches(&lines, 50));
    for every in [1, 10, 97] {
        let mut engine = default_engine();
        let mut out = Vec::new();
        let mut latest = i64::MIN;
        for (i, chunk) in lines.chunks(50).enumerate() {
            let pushed = engine.push(chunk.join("\n").as_bytes());
            out.extend(pushed.findings.iter().map(Finding::to_json));
            latest = chunk
                .iter()
                .map(|line| time_of(line))
                .fold(latest, i64::max);
            if i % every == 0 {
                // An idle-stream host advancing to what the events already guarantee.
                let watermark = latest - 5 * 60_000;
                out.extend(engine.advance(watermark).iter().map(Finding::to_json));
            }
        }
        out.extend(engine.flush().iter().map(Finding::to_json));
        assert_eq!(sorted(out), reference, "advance every {every} batches");
    }
}

#[test]
fn bad_lines_are_reported_and_the_rest_still_scanned() {
    let mut text = String::new();
    let spray_lines = ndjson(&spray("203.0.113.66", 8, 0.0), Shape::AzureMonitor);
    for (i, line) in spray_lines.lines().enumerate() {
        text.push_str(line);
        text.push('\n');
        match i {
            1 => text.push_str("{\"records\": [ this is not json\n"),
            3 => text.push_str("[1, 2, 3]\n"),
            5 => text.push_str("{\"hello\": \"world\"}\n"),
            _ => {}
        }
    }
    let mut engine = Engine::from_json("", 1).unwrap();
    let pushed = engine.push(text.as_bytes());
    let got: Vec<(u32, RejectionKind)> = pushed
        .rejected
        .iter()
        .map(|rejected| (rejected.line, rejected.kind))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, RejectionKind::Malformed),
            (6, RejectionKind::NotAnObject),
            (6, RejectionKind::NotAnObject),
            (6, RejectionKind::NotAnObject),
            (9, RejectionKind::UnknownShape)
        ]
    );
    assert_eq!(pushed.accepted, 8);
    let mut findings = pushed.findings;
    findings.extend(engine.flush());
    assert!(!of(&findings, "password-spray").is_empty());
    let stats = engine.stats();
    assert_eq!(stats.rejected.get("malformed"), Some(&1));
    assert_eq!(stats.rejected.get("unknown-shape"), Some(&1));
}

#[test]
fn invalid_config_names_the_field() {
    let error = Engine::from_json(
        r#"{"detectors":{"spray-then-success":{"horizon":"1 week"}}}"#,
        1,
    )
    .err()
    .map(|e| e.to_string());
    assert_eq!(
        error.as_deref().map(|e| e.starts_with(
            "invalid config: detectors.spray-then-success.horizon: invalid duration \"1 week\""
        )),
        Some(true),
        "{error:?}"
    );
}

#[test]
fn stats_report_state() {
    let mut engine = Engine::from_json("", 1).unwrap();
    // 15 attempts a minute apart: with 5 minutes of allowed lateness, the last 5 wait in the
    // reorder buffer and the first 10 have opened a spray finding.
    engine.push(ndjson(&spray("203.0.113.66", 15, 0.0), Shape::Graph).as_bytes());
    let stats: serde_json::Value = serde_json::from_str(&engine.stats_json()).unwrap();
    assert_eq!(stats["accepted"], 15);
    assert_eq!(stats["buffered"], 5);
    assert_eq!(stats["detectors"]["password-spray"]["open_findings"], 1);
    assert_eq!(stats["detectors"]["password-spray"]["entries"], 1);
    assert!(stats["watermark"].is_i64());
    engine.flush();
    let stats = engine.stats();
    assert_eq!(stats.buffered, 0);
    assert_eq!(stats.detectors["password-spray"].open_findings, 0);
}

#[test]
fn a_record_redelivered_within_the_dedup_horizon_counts_once() {
    let lines = lines(DEMO);
    let whole = run_in_batches(&lines, 10_000);
    // Replay the first records once 20 minutes of event time have passed (an at-least-once
    // shipper restarting): the watermark has passed them, but not by the dedup horizon (an hour).
    let first_time = time_of(lines[0]);
    let replay_at = lines
        .iter()
        .position(|line| time_of(line) > first_time + 20 * 60_000)
        .unwrap();
    assert!(time_of(lines[replay_at]) < first_time + 60 * 60_000);
    let count = replay_at.min(100);
    assert!(count >= 20);
    let mut replayed: Vec<&str> = lines[..replay_at].to_vec();
    replayed.extend_from_slice(&lines[..count]);
    replayed.extend_from_slice(&lines[replay_at..]);
    let mut engine = default_engine();
    let mut out = Vec::new();
    let pushed = engine.push(replayed.join("\n").as_bytes());
    out.extend(pushed.findings.iter().map(Finding::to_json));
    out.extend(engine.flush().iter().map(Finding::to_json));
    let stats = engine.stats();
    assert_eq!(stats.duplicates, count as u64);
    assert_eq!(stats.late, 0, "a duplicate is not also late");
    assert_eq!(out, whole);
}
