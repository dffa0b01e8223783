//! Issue 27: many tenants in one stream. Three tenants' scenarios (the demo day, the whole
//! Midnight Blizzard intrusion, the app abuse), each under its own tenant id, interleaved line by
//! line in one stream, give each tenant exactly the findings a scan of that tenant alone gives
//! (their dates differ by days, so one shared watermark would make the earlier tenants late). Every
//! finding names its tenant, uids differ between tenants, and the tenants held are capped and
//! counted.

use snowyowl::{Engine, Finding};

use crate::helpers::SEED;

/// The tenant id every generated scenario carries.
const GENERATED: &str = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

/// The scenarios, each made another tenant's.
fn tenants() -> Vec<(&'static str, String)> {
    [
        (
            "0c0ffee0-1111-4111-8111-000000000001",
            include_str!("../data/demo-tenant.ndjson"),
        ),
        (
            "0c0ffee0-2222-4222-8222-000000000002",
            include_str!("../data/midnight-blizzard.ndjson"),
        ),
        (
            "0c0ffee0-3333-4333-8333-000000000003",
            include_str!("../data/app-abuse.ndjson"),
        ),
    ]
    .into_iter()
    .map(|(tenant, text)| (tenant, text.replace(GENERATED, tenant)))
    .collect()
}

/// The tenants' lines taken in turn (each tenant's own order kept).
fn interleaved(tenants: &[(&str, String)]) -> String {
    let mut lines: Vec<std::str::Lines> = tenants.iter().map(|(_, text)| text.lines()).collect();
    let mut out = String::new();
    loop {
        let mut any = false;
        for tenant in &mut lines {
            if let Some(line) = tenant.next() {
                out.push_str(line);
                out.push('\n');
                any = true;
            }
        }
        if !any {
            return out;
        }
    }
}

/// Every finding of `text`, pushed in batches of `batch` lines, then flushed.
fn scan(config: &str, text: &str, batch: usize) -> (Vec<Finding>, Engine) {
    let mut engine = Engine::from_json(config, SEED).expect("valid config");
    let lines: Vec<&str> = text.lines().collect();
    let mut findings = Vec::new();
    for chunk in lines.chunks(batch) {
        let pushed = engine.push(chunk.join("\n").as_bytes());
        assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
        findings.extend(pushed.findings);
    }
    findings.extend(engine.flush());
    (findings, engine)
}

fn of_tenant(findings: &[Finding], tenant: Option<&str>) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.tenant.as_deref() == tenant)
        .map(Finding::to_json)
        .collect()
}

#[test]
fn a_mixed_stream_gives_each_tenant_what_it_gives_alone() {
    let tenants = tenants();
    let mixed = interleaved(&tenants);
    for batch in [1_000, 97] {
        let (findings, engine) = scan("", &mixed, batch);
        let stats = engine.stats();
        // The three, and the intrusion scenario's one Graph API audit record, which names no
        // tenant (the benign admin work that must not join the incident).
        assert_eq!(stats.tenants.held, 4);
        assert_eq!(stats.tenants.by_tenant["(none)"].accepted, 1);
        assert_eq!(stats.tenants.evicted, 0);
        let mut total = 0;
        let mut untenanted = Vec::new();
        for (tenant, text) in &tenants {
            let (alone, alone_engine) = scan("", text, 1_000);
            let own = of_tenant(&alone, Some(tenant));
            assert!(!own.is_empty(), "{tenant}");
            assert_eq!(of_tenant(&findings, Some(tenant)), own, "{tenant}");
            untenanted.extend(of_tenant(&alone, None));
            total += alone.len();
            // Its own watermark: none of its events is late because another tenant is ahead.
            let mine = &stats.tenants.by_tenant[*tenant];
            let by_itself = &alone_engine.stats().tenants.by_tenant[*tenant];
            assert_eq!(mine.late, by_itself.late, "{tenant}");
            assert_eq!(mine.accepted, by_itself.accepted, "{tenant}");
            assert_eq!(mine.findings, own.len() as u64, "{tenant}");
        }
        // The scenarios share no app, so nothing links across tenants.
        assert!(findings.iter().all(|f| f.unmapped.get("tenants").is_none()));
        assert_eq!(of_tenant(&findings, None), untenanted);
        assert_eq!(findings.len(), total);
        // The whole intrusion is in one tenant only, and its incident names it.
        let incidents: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.detector == "attack-chain")
            .collect();
        assert!(!incidents.is_empty());
        let ocsf: serde_json::Value = serde_json::from_str(&incidents[0].to_json()).expect("json");
        assert_eq!(ocsf["cloud"]["provider"], "Microsoft");
        assert_eq!(
            ocsf["cloud"]["account"]["uid"],
            incidents[0].tenant.as_deref().unwrap_or_default()
        );
    }
}

#[test]
fn one_shared_stream_used_to_mix_them() {
    // What the lanes prevent: the same three tenants read as one (everything under one id) make
    // other findings than each alone.
    let tenants = tenants();
    let one = "0c0ffee0-9999-4999-8999-000000000009";
    let as_one: Vec<(&str, String)> = tenants
        .iter()
        .map(|(tenant, text)| (one, text.replace(tenant, one)))
        .collect();
    let (mixed, _) = scan("", &interleaved(&as_one), 1_000);
    let apart: usize = as_one
        .iter()
        .map(|(_, text)| scan("", text, 1_000).0.len())
        .sum();
    assert_ne!(mixed.len(), apart);
}

#[test]
fn the_same_activity_in_two_tenants_makes_two_findings_with_their_own_uids() {
    let text = include_str!("../data/demo-tenant.ndjson");
    let (a, b) = (
        "0c0ffee0-aaaa-4aaa-8aaa-00000000000a",
        "0c0ffee0-bbbb-4bbb-8bbb-00000000000b",
    );
    let both = format!(
        "{}{}",
        text.replace(GENERATED, a),
        text.replace(GENERATED, b)
    );
    let (findings, _) = scan("", &both, 1_000);
    let (in_a, in_b): (Vec<&Finding>, Vec<&Finding>) = findings
        .iter()
        .partition(|f| f.tenant.as_deref() == Some(a));
    assert_eq!(in_a.len(), in_b.len());
    assert!(!in_a.is_empty());
    for (x, y) in in_a.iter().zip(&in_b) {
        assert_eq!(
            (x.detector, &x.title, x.time),
            (y.detector, &y.title, y.time)
        );
        assert_ne!(x.uid, y.uid);
    }
}

#[test]
fn events_without_a_tenant_go_to_the_default_one() {
    // Graph API directory audits carry no tenant id: alone they are watched apart, under
    // `(none)`; with `tenants.default` they join the tenant named.
    let text = include_str!("../data/app-abuse.ndjson");
    let untenanted: String = text
        .lines()
        .map(|line| {
            if line.contains("\"tenantId\"") {
                line.replace(&format!(",\"tenantId\":\"{GENERATED}\""), "")
                    .replace(&format!("\"tenantId\":\"{GENERATED}\","), "")
                    + "\n"
            } else {
                line.to_owned() + "\n"
            }
        })
        .collect();
    assert!(untenanted.contains(GENERATED) && untenanted.len() < text.len());
    let (apart, engine) = scan("", &untenanted, 1_000);
    assert_eq!(engine.stats().tenants.held, 2);
    assert!(engine.stats().tenants.by_tenant.contains_key("(none)"));
    assert!(!apart.iter().any(|f| f.detector == "attack-chain"));
    let config = format!(
        r#"{{"tenants": {{"default": "{}"}}}}"#,
        GENERATED.to_uppercase()
    );
    let (joined, engine) = scan(&config, &untenanted, 1_000);
    assert_eq!(engine.stats().tenants.held, 1);
    assert!(joined.iter().any(|f| f.detector == "attack-chain"));
    assert!(joined
        .iter()
        .all(|f| f.tenant.as_deref() == Some(GENERATED)));
}

#[test]
fn tenants_held_are_capped_and_the_idlest_closed_with_its_findings() {
    let tenants = tenants();
    let (findings, engine) = scan(r#"{"tenants": {"max": 2}}"#, &interleaved(&tenants), 1_000);
    let stats = engine.stats();
    assert_eq!(stats.tenants.max, 2);
    assert!(stats.tenants.held <= 2);
    assert!(stats.tenants.evicted > 0);
    // Totals never go down when a tenant is dropped.
    let lines = tenants
        .iter()
        .map(|(_, text)| text.lines().count())
        .sum::<usize>();
    assert_eq!(stats.accepted as usize, lines);
    assert_eq!(
        stats.findings.values().sum::<u64>() as usize,
        findings.len()
    );
    let refused = snowyowl::Config::from_json(r#"{"tenants": {"max": 0}}"#)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        refused.starts_with("invalid config: tenants.max: must be at least 1"),
        "{refused}"
    );
}

#[test]
fn a_snapshot_keeps_every_tenant_apart() {
    let tenants = tenants();
    let mixed = interleaved(&tenants);
    let (whole, _) = scan("", &mixed, 1_000);
    let lines: Vec<&str> = mixed.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let mut engine = Engine::from_json("", SEED).expect("defaults");
    let mut findings = engine.push(first.join("\n").as_bytes()).findings;
    let snapshot = engine.snapshot().expect("snapshot");
    let mut engine =
        Engine::restore(snowyowl::Config::default(), &snapshot, SEED ^ 1).expect("restore");
    findings.extend(engine.push(second.join("\n").as_bytes()).findings);
    findings.extend(engine.flush());
    let json = |f: &[Finding]| f.iter().map(Finding::to_json).collect::<Vec<_>>();
    assert_eq!(json(&findings), json(&whole));
    assert_eq!(engine.stats().tenants.held, 4);
}
