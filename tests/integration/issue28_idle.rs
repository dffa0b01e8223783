//! Issue 28, item 6: live streams close their windows. `Engine::advance_idle(quiet_ms)` moves on
//! the watermark of every tenant that took no event since the previous call, by `quiet_ms`, and
//! leaves the others alone: a quiet tenant's spray comes out without waiting for its next event,
//! and a tenant still sending is never pushed past its own events.

use snowyowl::event::Shape;
use snowyowl::time::{Timestamp, MINUTE};
use snowyowl::{Config, Engine, Finding};

use crate::helpers::{ndjson, signin, spray, SEED, T0};

const QUIET: &str = "tenant-quiet";
const BUSY: &str = "tenant-busy";

/// `events` of `tenant` as NDJSON.
fn of_tenant(tenant: &str, mut events: Vec<snowyowl::event::SignInFields<String>>) -> String {
    for event in &mut events {
        event.tenant_id = Some(tenant.to_owned());
    }
    ndjson(&events, Shape::Graph)
}

/// A spray in `tenant`: 8 users failing from one IP, one a minute from T0.
fn sprayed(tenant: &str) -> String {
    of_tenant(tenant, spray("203.0.113.66", 8, 0.0))
}

/// A benign sign-in in `tenant` at `minute`, from the user's own office.
fn benign(tenant: &str, user: &str, minute: f64) -> String {
    of_tenant(tenant, vec![signin(user, "198.51.100.7", 0, minute)])
}

fn push(engine: &mut Engine, text: &str) -> Vec<Finding> {
    let pushed = engine.push(text.as_bytes());
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
    pushed.findings
}

fn watermark(engine: &Engine, tenant: &str) -> Option<Timestamp> {
    engine.stats().tenants.by_tenant[tenant].watermark
}

fn tenants(findings: &[Finding]) -> Vec<(&'static str, Option<&str>)> {
    findings
        .iter()
        .map(|f| (f.detector, f.tenant.as_deref()))
        .collect()
}

#[test]
fn only_the_quiet_tenant_moves() {
    let mut engine = Engine::from_json("", SEED).expect("defaults");
    // Two sprays, each held back by its tenant's allowed lateness (5 min): the last attempt at
    // minute 7, so both watermarks stand at minute 2 and no spray is found yet.
    let mut found = push(&mut engine, &sprayed(QUIET));
    found.extend(push(&mut engine, &sprayed(BUSY)));
    assert_eq!(tenants(&found), []);
    let start = Some(T0 + 2 * MINUTE);
    assert_eq!(watermark(&engine, QUIET), start);

    // Both took events since the engine started: neither moves.
    assert_eq!(tenants(&engine.advance_idle(30 * MINUTE as u64)), []);
    assert_eq!(watermark(&engine, QUIET), start);
    assert_eq!(watermark(&engine, BUSY), start);

    // The busy tenant sends on (no later than its spray, so its own watermark stays); the quiet
    // one does not: only the quiet one moves, by the quiet time, and its spray comes out.
    push(&mut engine, &benign(BUSY, "ann@contoso.com", 6.0));
    let moved = engine.advance_idle(30 * MINUTE as u64);
    assert!(!moved.is_empty());
    assert!(
        moved
            .iter()
            .all(|f| f.tenant.as_deref() == Some(QUIET) && f.detector == "password-spray"),
        "{:?}",
        tenants(&moved)
    );
    assert_eq!(watermark(&engine, QUIET), Some(T0 + 32 * MINUTE));
    assert_eq!(watermark(&engine, BUSY), start);

    // Now the busy one has been quiet for a whole period too; a quiet of 0 moves no one.
    assert_eq!(tenants(&engine.advance_idle(0)), []);
    assert_eq!(watermark(&engine, BUSY), start);
    let moved = engine.advance_idle(30 * MINUTE as u64);
    assert!(moved
        .iter()
        .all(|f| f.tenant.as_deref() == Some(BUSY) && f.detector == "password-spray"));
    assert!(!moved.is_empty());
    assert_eq!(watermark(&engine, QUIET), Some(T0 + 62 * MINUTE));
    assert_eq!(watermark(&engine, BUSY), Some(T0 + 32 * MINUTE));
    assert_eq!(engine.stats().late, 0);
}

#[test]
fn a_quiet_tenant_gets_the_findings_it_gets_at_the_end_of_input() {
    // Moving a quiet tenant on changes when its findings come out, not which.
    let text = sprayed(QUIET);
    let mut whole = Engine::from_json("", SEED).expect("defaults");
    let mut at_end = push(&mut whole, &text);
    at_end.extend(whole.flush());

    let mut live = Engine::from_json("", SEED).expect("defaults");
    let mut found = push(&mut live, &text);
    for _ in 0..4 {
        found.extend(live.advance_idle(15 * MINUTE as u64));
    }
    let before_flush = found.len();
    found.extend(live.flush());
    let json = |f: &[Finding]| f.iter().map(Finding::to_json).collect::<Vec<_>>();
    assert_eq!(json(&found), json(&at_end));
    assert_eq!(
        before_flush,
        found.len(),
        "every window closed before the flush"
    );
}

#[test]
fn a_snapshot_keeps_which_tenants_are_quiet() {
    let config = Config::default();
    let mut engine = Engine::new(config.clone(), SEED).expect("defaults");
    push(&mut engine, &sprayed(QUIET));
    engine.advance_idle(MINUTE as u64);
    let snapshot = engine.snapshot().expect("snapshot");

    // Restored, the tenant is still quiet since the last call: the next one moves it.
    let mut restored = Engine::restore(config.clone(), &snapshot, SEED ^ 1).expect("restore");
    assert_eq!(restored.snapshot().expect("snapshot"), snapshot);
    let moved = restored.advance_idle(30 * MINUTE as u64);
    let json = |f: &[Finding]| f.iter().map(Finding::to_json).collect::<Vec<_>>();
    assert_eq!(json(&moved), json(&engine.advance_idle(30 * MINUTE as u64)));
    assert!(!moved.is_empty());

    // A format 5 snapshot (before `advance_idle`) is read as if it had never been called: the
    // tenant took events since the engine started, so the first call leaves it alone.
    let text = String::from_utf8(snapshot).expect("text");
    let (_, body) = text.split_once('\n').expect("header");
    let mut state: serde_json::Value = serde_json::from_str(body).expect("json");
    state
        .as_object_mut()
        .expect("object")
        .remove("idle_mark")
        .expect("format 6 writes it");
    let body = state.to_string();
    let old = format!(
        "SNOWYOWL-SNAPSHOT 5 {}\n{body}",
        snowyowl::finding::stable_uid(&[&body])
    );
    let mut restored = Engine::restore(config, old.as_bytes(), SEED).expect("format 5 reads");
    assert_eq!(tenants(&restored.advance_idle(30 * MINUTE as u64)), []);
    assert_eq!(watermark(&restored, QUIET), Some(T0 + 2 * MINUTE));
    assert!(!restored.advance_idle(30 * MINUTE as u64).is_empty());
}
