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
    let mut engine = Engine::from_json("").unwrap();
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
    let mut engine = Engine::from_json("").unwrap();
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
    let mut engine = Engine::from_json("").unwrap();
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
