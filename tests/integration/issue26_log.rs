//! Issue 26, item 6: a record of no known shape with a line of JSON under `log` (what Fluent Bit's `tail`
//! without a parser and Docker's `json-file` write) is read as the line inside, once, by every
//! host: one record, the event inside, no rejection.

use snowyowl::normalize::RejectionKind;
use snowyowl::Engine;

const SCENARIO: &str = include_str!("../data/midnight-blizzard.ndjson");

fn under_log(line: &str, extra: serde_json::Value) -> String {
    let mut record = serde_json::json!({ "log": line, "stream": "stdout" });
    if let (Some(record), Some(extra)) = (record.as_object_mut(), extra.as_object()) {
        record.extend(extra.clone());
    }
    record.to_string()
}

#[test]
fn a_line_under_log_is_one_record_with_the_event_inside() {
    let lines: Vec<&str> = SCENARIO.lines().collect();
    let wrapped: String = lines
        .iter()
        .map(|line| under_log(line, serde_json::json!({ "time": "2024-01-14T08:01:00Z" })) + "\n")
        .collect();
    let mut plain = Engine::from_json("", 26).unwrap();
    let mut tail = Engine::from_json("", 26).unwrap();
    let expected = plain.push(SCENARIO.as_bytes());
    let found = tail.push(wrapped.as_bytes());
    assert_eq!(found.accepted as usize, lines.len());
    assert!(found.rejected.is_empty(), "{:?}", found.rejected);
    assert_eq!(found.findings, expected.findings);
    assert_eq!(tail.stats(), plain.stats());
    assert_eq!(tail.stats().records, lines.len() as u64);
}

#[test]
fn what_is_not_a_line_of_json_leaves_the_record_of_unknown_shape() {
    let mut engine = Engine::from_json("", crate::helpers::SEED).unwrap();
    for record in [
        r#"{"log": "GET /healthz 200"}"#,
        r#"{"log": ""}"#,
        r#"{"log": 42}"#,
        r#"{"log": {"userPrincipalName": "a@b.c", "status": {"errorCode": 0}}}"#,
    ] {
        let pushed = engine.push(record.as_bytes());
        let kinds: Vec<RejectionKind> = pushed.rejected.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [RejectionKind::UnknownShape], "{record}");
    }
    assert_eq!(engine.stats().records, 4);
}

#[test]
fn a_known_event_with_a_log_field_is_read_as_itself() {
    let line = SCENARIO.lines().next().unwrap();
    let mut event: serde_json::Value = serde_json::from_str(line).unwrap();
    event["log"] = r#"{"not": "this"}"#.into();
    let mut engine = Engine::from_json("", crate::helpers::SEED).unwrap();
    let pushed = engine.push(event.to_string().as_bytes());
    assert_eq!((pushed.accepted, pushed.rejected.len()), (1, 0));
}

#[test]
fn a_broken_line_under_log_is_rejected_as_that_line() {
    let pushed = Engine::from_json("", crate::helpers::SEED)
        .unwrap()
        .push(under_log(r#"{"userPrincipalName": "a@b.c", "#, serde_json::json!({})).as_bytes());
    let kinds: Vec<RejectionKind> = pushed.rejected.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [RejectionKind::Malformed]);
}
