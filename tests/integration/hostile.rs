//! Hostile input: every line of `tests/data/hostile.ndjson` (malformed JSON, non-objects, wrong
//! types in every field a detector reads, invalid times, invalid UTF-8, unknown shapes) plus huge
//! strings, huge arrays and deep nesting built here. Each line is accepted, ignored or rejected
//! with its line number and a reason; nothing panics; a spray around them is still found.

use snowyowl::event::Shape;
use snowyowl::normalize::RejectionKind;
use snowyowl::Engine;

use crate::helpers::{ndjson, spray};

const CORPUS: &[u8] = include_bytes!("../data/hostile.ndjson");

/// Lines built here, too big to keep in the repository.
pub fn giants() -> Vec<Vec<u8>> {
    let huge = "x".repeat(8 << 20);
    vec![
        format!(r#"{{"createdDateTime":"2024-03-04T09:00:00Z","userPrincipalName":"{huge}","ipAddress":"203.0.113.5","status":{{"errorCode":50126}}}}"#).into_bytes(),
        format!(r#"{{"createdDateTime":"2024-03-04T09:00:00Z","userPrincipalName":"a@b.c","userAgent":"{huge}","status":{{"errorCode":0}}}}"#).into_bytes(),
        format!(r#"{{"activityDisplayName":"Add application","activityDateTime":"2024-03-04T09:00:00Z","targetResources":[{}{{}}]}}"#, "{},".repeat(500_000)).into_bytes(),
        format!(r#"{{"records":[{}{{}}]}}"#, "{\"a\":1},".repeat(200_000)).into_bytes(),
        format!("{{\"initiatedBy\":{}{}}}", "[".repeat(200_000), "]".repeat(200_000)).into_bytes(),
        format!("{}{}", "[".repeat(200_000), "]".repeat(200_000)).into_bytes(),
        format!("{{\"a\":\"{}\"}}", "\\u0000".repeat(100_000)).into_bytes(),
    ]
}

#[test]
fn every_hostile_line_is_answered_and_nothing_is_lost() {
    let mut batch = Vec::new();
    let spray_lines = ndjson(&spray("203.0.113.66", 10, 0.0), Shape::Graph);
    let mut spray_iter = spray_lines.lines();
    let mut hostile_lines = 0;
    for line in CORPUS.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        batch.extend_from_slice(line);
        batch.push(b'\n');
        hostile_lines += 1;
        if let Some(good) = spray_iter.next() {
            batch.extend_from_slice(good.as_bytes());
            batch.push(b'\n');
        }
    }
    let mut engine = Engine::from_json("", 1).unwrap();
    let pushed = engine.push(&batch);
    // Every rejection says where and why.
    for rejected in &pushed.rejected {
        assert!(
            rejected.line >= 1 && !rejected.reason.is_empty(),
            "{rejected:?}"
        );
    }
    let answered = pushed.rejected.len() + pushed.accepted as usize + pushed.ignored as usize;
    assert!(
        answered >= hostile_lines + 10,
        "{answered} answers for {hostile_lines} hostile lines + 10"
    );
    assert!(
        pushed.rejected.len() >= hostile_lines * 3 / 4,
        "most hostile lines are rejected"
    );
    let kinds: std::collections::BTreeSet<RejectionKind> =
        pushed.rejected.iter().map(|r| r.kind).collect();
    assert_eq!(kinds.len(), 4, "every kind of rejection appears: {kinds:?}");
    // Wrong types name their field.
    assert!(
        pushed
            .rejected
            .iter()
            .any(|r| r.reason.starts_with("invalid field status")),
        "{:#?}",
        pushed.rejected
    );
    assert!(pushed
        .rejected
        .iter()
        .any(|r| r.reason.contains("initiatedBy")));
    let mut findings = pushed.findings;
    findings.extend(engine.flush());
    assert!(
        findings.iter().any(|f| f.detector == "password-spray"),
        "the spray among the hostile lines"
    );
}

#[test]
fn giant_lines_are_answered_without_harm() {
    let mut engine = Engine::from_json("", 1).unwrap();
    for line in giants() {
        let pushed = engine.push(&line);
        let answered = pushed.rejected.len() + pushed.accepted as usize + pushed.ignored as usize;
        assert!(answered >= 1);
    }
    // Strings are truncated where they are kept: nothing grows without bound.
    let stats = engine.stats();
    assert!(stats.records >= 7);
}

#[test]
fn times_outside_2000_to_2100_are_rejected() {
    let mut engine = Engine::from_json("", 1).unwrap();
    for time in ["2150-01-01T00:00:00Z", "1999-12-31T23:59:59Z"] {
        let line = format!(
            r#"{{"createdDateTime":"{time}","userPrincipalName":"x@y.z","status":{{"errorCode":0}}}}"#
        );
        let pushed = engine.push(line.as_bytes());
        assert_eq!(pushed.rejected.len(), 1, "{time}");
        assert!(pushed.rejected[0].reason.contains("between 2000 and 2100"));
    }
    assert_eq!(
        engine.stats().watermark,
        None,
        "rejected times never move the watermark"
    );
}

fn at(time: &str, user: &str) -> String {
    format!(
        r#"{{"id":"{user}-{time}","createdDateTime":"{time}","userPrincipalName":"{user}","ipAddress":"203.0.113.66","status":{{"errorCode":50126}}}}"#
    )
}

#[test]
fn one_event_far_ahead_does_not_drag_the_watermark() {
    let mut engine = Engine::from_json("", 1).unwrap();
    let mut lines: Vec<String> = (0..10)
        .map(|i| at(&format!("2024-03-04T09:{i:02}:00Z"), &format!("u{i}@c.com")))
        .collect();
    lines.insert(4, at("2099-12-31T23:59:59Z", "forged@c.com"));
    let pushed = engine.push(lines.join("\n").as_bytes());
    assert_eq!(
        pushed.accepted, 11,
        "the forged event is accepted, not rejected"
    );
    let stats = engine.stats();
    assert_eq!(stats.held_future, 1);
    assert!(
        stats.watermark < Some(1_800_000_000_000),
        "the watermark stayed with the stream"
    );
    let findings = engine.flush();
    let spray = findings
        .iter()
        .find(|f| f.detector == "password-spray")
        .expect("spray found");
    assert_eq!(
        spray.unmapped["user_count"], 10,
        "the spray window was not closed early"
    );
    assert_eq!(
        engine.stats().held_future,
        0,
        "held events are processed at the end, never lost"
    );
}

#[test]
fn a_real_jump_forward_is_followed_once_enough_events_agree() {
    let mut engine = Engine::from_json(r#"{"limits": {"time_jump_confirmations": 4}}"#, 1).unwrap();
    let january: Vec<String> = (0..5)
        .map(|i| at(&format!("2024-01-10T09:0{i}:00Z"), &format!("j{i}@c.com")))
        .collect();
    let march: Vec<String> = (0..5)
        .map(|i| at(&format!("2024-03-10T09:0{i}:00Z"), &format!("m{i}@c.com")))
        .collect();
    engine.push(january.join("\n").as_bytes());
    engine.push(march[..3].join("\n").as_bytes());
    assert_eq!(engine.stats().held_future, 3);
    engine.push(march[3..].join("\n").as_bytes());
    let stats = engine.stats();
    assert_eq!(
        stats.held_future, 0,
        "four agreeing events: the stream jumped"
    );
    assert!(stats.watermark > Some(1_709_000_000_000));
    let error = Engine::from_json(r#"{"limits": {"time_jump_confirmations": 0}}"#, 1)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some("invalid config: limits.time_jump_confirmations: must be at least 1")
    );
}
