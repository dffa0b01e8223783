//! Snapshot and restore: for every golden scenario, cutting the stream at a point, snapshotting,
//! restoring into a fresh engine (with another hash seed) and continuing gives exactly the
//! findings of the uninterrupted run. Damaged snapshots are refused, never misread.

use snowyowl::event::Shape;
use snowyowl::{Config, Engine, Error, Finding};

use crate::helpers::{ndjson, spray};

const SCENARIOS: [(&str, &str); 3] = [
    ("demo", include_str!("../data/demo-tenant.ndjson")),
    (
        "midnight-blizzard",
        include_str!("../data/midnight-blizzard.ndjson"),
    ),
    ("app-abuse", include_str!("../data/app-abuse.ndjson")),
];

fn push_all(engine: &mut Engine, lines: &[&str]) -> Vec<String> {
    if lines.is_empty() {
        return Vec::new();
    }
    let pushed = engine.push(lines.join("\n").as_bytes());
    assert!(pushed.rejected.is_empty());
    pushed.findings.iter().map(Finding::to_json).collect()
}

fn uninterrupted(lines: &[&str]) -> Vec<String> {
    let mut engine = Engine::new(Config::default(), 1).unwrap();
    let mut out = push_all(&mut engine, lines);
    out.extend(engine.flush().iter().map(Finding::to_json));
    out
}

fn cut_at(lines: &[&str], cut: usize) -> Vec<String> {
    let mut first = Engine::new(Config::default(), 1).unwrap();
    let (before, after) = lines.split_at(cut);
    let mut out = push_all(&mut first, before);
    let snapshot = first.snapshot().expect("a snapshot");
    drop(first);
    let mut second = Engine::restore(Config::default(), &snapshot, 99).unwrap();
    out.extend(push_all(&mut second, after));
    out.extend(second.flush().iter().map(Finding::to_json));
    out
}

#[test]
fn every_scenario_continues_exactly_after_a_restore() {
    for (name, text) in SCENARIOS {
        let lines: Vec<&str> = text.lines().collect();
        let reference = uninterrupted(&lines);
        assert!(!reference.is_empty(), "{name}");
        // Every cut for short scenarios; 40 spread cuts (and both ends) for long ones.
        let step = (lines.len() / 40).max(1);
        let mut cuts: Vec<usize> = (0..=lines.len()).step_by(step).collect();
        cuts.push(lines.len());
        for cut in cuts {
            assert_eq!(cut_at(&lines, cut), reference, "{name} cut at line {cut}");
        }
    }
}

#[test]
fn a_spray_cut_at_every_event() {
    let text = ndjson(&spray("203.0.113.66", 12, 0.0), Shape::AzureMonitor);
    let lines: Vec<&str> = text.lines().collect();
    let reference = uninterrupted(&lines);
    for cut in 0..=lines.len() {
        assert_eq!(cut_at(&lines, cut), reference, "cut at {cut}");
    }
}

#[test]
fn the_same_state_writes_the_same_bytes() {
    let (_, text) = SCENARIOS[1];
    let lines: Vec<&str> = text.lines().take(2000).collect();
    let mut a = Engine::new(Config::default(), 5).unwrap();
    let mut b = Engine::new(Config::default(), 5).unwrap();
    push_all(&mut a, &lines);
    push_all(&mut b, &lines);
    assert_eq!(
        a.snapshot().expect("a snapshot"),
        b.snapshot().expect("a snapshot")
    );
}

fn refused(snapshot: &[u8]) -> String {
    match Engine::restore(Config::default(), snapshot, 1) {
        Err(Error::InvalidSnapshot(reason)) => reason,
        Err(other) => format!("wrong error: {other}"),
        Ok(_) => "accepted".into(),
    }
}

#[test]
fn damaged_or_foreign_snapshots_are_refused() {
    let mut engine = Engine::new(Config::default(), 1).unwrap();
    push_all(
        &mut engine,
        &SCENARIOS[0].1.lines().take(300).collect::<Vec<_>>(),
    );
    let good = engine.snapshot().expect("a snapshot");
    assert!(Engine::restore(Config::default(), &good, 1).is_ok());

    let truncated = &good[..good.len() - 10];
    assert!(
        refused(truncated).contains("checksum mismatch"),
        "{}",
        refused(truncated)
    );
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    assert!(refused(&flipped).contains("checksum mismatch") || refused(&flipped).contains("UTF-8"));
    let text = String::from_utf8(good.clone()).unwrap();
    let version = snowyowl::engine::SNAPSHOT_VERSION;
    let other_version = text.replacen(
        &format!("SNOWYOWL-SNAPSHOT {version} "),
        "SNOWYOWL-SNAPSHOT 1 ",
        1,
    );
    assert!(refused(other_version.as_bytes()).contains(&format!(
        "snapshot format 1 is not a format this build reads (5 to {version})"
    )));
    assert!(refused(b"").contains("no header line"));
    assert!(refused(b"{\"state\": 1}\n{}").contains("not a snowyowl snapshot"));
    assert!(refused(&[0xff, 0xfe, b'\n']).contains("not UTF-8"));
    // A well-formed snapshot whose state is not what this build writes.
    let body = r#"{"unexpected": true}"#;
    let forged = format!(
        "SNOWYOWL-SNAPSHOT {version} {}\n{body}",
        snowyowl::finding::stable_uid(&[body])
    );
    assert!(
        refused(forged.as_bytes()).contains("unreadable state"),
        "{}",
        refused(forged.as_bytes())
    );
}

#[test]
fn a_restored_engine_writes_the_snapshot_it_was_restored_from() {
    // State derived on restore (a spray window's per-user tallies, rebuilt from its attempts
    // with the new seed) must come back exactly as it was written.
    for (name, text) in SCENARIOS {
        let lines: Vec<&str> = text.lines().collect();
        for cut in [lines.len() / 3, lines.len() / 2, lines.len()] {
            let mut first = Engine::new(Config::default(), 1).unwrap();
            push_all(&mut first, &lines[..cut]);
            let snapshot = first.snapshot().expect("a snapshot");
            let restored = Engine::restore(Config::default(), &snapshot, 99).unwrap();
            assert!(
                restored.snapshot().expect("a snapshot") == snapshot,
                "{name} cut at line {cut}"
            );
        }
    }
}

#[test]
fn a_record_redelivered_after_a_restore_counts_once_and_its_id_is_written_in_full() {
    // The duplicate table keeps a GUID id in a short form; the snapshot writes it in full and a
    // restore reads it back, so a redelivery across a restart is still caught.
    let lines: Vec<&str> = SCENARIOS[0].1.lines().collect();
    let mut first = Engine::new(Config::default(), 1).unwrap();
    push_all(&mut first, &lines[..50]);
    let snapshot = first.snapshot().expect("a snapshot");
    let text = String::from_utf8(snapshot.clone()).unwrap();
    let mut id = String::new();
    snowyowl::normalize::normalize(lines[0], &mut |normalized| {
        if let snowyowl::normalize::Normalized::Event(event) = normalized {
            id = event.id().to_owned();
        }
    });
    assert_eq!(id.len(), 36, "a GUID: {id}");
    assert!(text.contains(&format!("\"{id}\"")), "{id}");
    assert!(!text.contains(r"\u0001"));
    let mut second = Engine::restore(Config::default(), &snapshot, 99).unwrap();
    push_all(&mut second, &lines[..10]);
    assert_eq!(second.stats().duplicates, 10);
}
