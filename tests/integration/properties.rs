//! Properties, checked on generated cases (proptest): the same events give the same findings
//! whatever the batching and the host's advance cadence, and events out of order within the
//! allowed lateness give the findings of the sorted stream.

use proptest::prelude::*;
use snowyowl::event::{Event, Shape};
use snowyowl::{render, Engine, Finding};

use crate::helpers::{audit, mail, signin, target, user, T0};

/// A small tenant morning: a spray with a hit, an app armed and reading mail, and noise — every
/// stage, so every kind of state is exercised.
fn scenario() -> Vec<Event> {
    let mut events: Vec<Event> = Vec::new();
    for i in 0..12 {
        let mut attempt = signin(
            &format!("user{i}@contoso.com"),
            "203.0.113.66",
            50126,
            i as f64,
        );
        attempt.id = format!("spray-{i}");
        events.push(Event::SignIn(attempt.into()));
    }
    let mut hit = signin("user3@contoso.com", "203.0.113.66", 0, 14.0);
    hit.factor = snowyowl::event::FactorRequirement::Single;
    hit.id = "hit".into();
    events.push(Event::SignIn(hit.into()));
    for i in 0..20 {
        let mut noise = signin(
            &format!("staff{i}@contoso.com"),
            "198.51.100.10",
            0,
            i as f64 * 1.5,
        );
        noise.id = format!("noise-{i}");
        events.push(Event::SignIn(noise.into()));
    }
    let app = vec![target("Application", "obj-1", "Sync")];
    events.push(audit(
        "Add application",
        user("user3@contoso.com"),
        app.clone(),
        &[("AppId", "", "app-1")],
        30.0,
    ));
    events.push(audit(
        "Update application \u{2013} Certificates and secrets management ",
        user("user3@contoso.com"),
        app,
        &[(
            "KeyDescription",
            "[]",
            "[\"KeyIdentifier=k,KeyType=Password\"]",
        )],
        31.0,
    ));
    for i in 0..7 {
        events.push(mail(
            "app-1",
            snowyowl::event::MailClient::Graph,
            &format!("exec{i}@contoso.com"),
            40.0 + i as f64,
        ));
    }
    events
}

fn lines(events: &[Event], shapes: &[Shape]) -> Vec<String> {
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            render::event(
                event,
                shapes
                    .get(i % shapes.len())
                    .copied()
                    .unwrap_or(Shape::Graph),
            )
        })
        .collect()
}

/// Runs the lines, cut into batches at `cuts`; at `(at, offset)` the host advances time to what
/// the next event still allows (its time minus the lateness, minus `offset`), as an idle stream's
/// host would. `times[i]` is the event time of line `i`.
fn run(lines: &[String], times: &[i64], cuts: &[usize], advances: &[(usize, i64)]) -> Vec<String> {
    let mut engine = Engine::from_json("{}", 4).unwrap();
    let mut out: Vec<String> = Vec::new();
    let mut start = 0;
    let mut bounds: Vec<usize> = cuts.iter().copied().filter(|c| *c < lines.len()).collect();
    bounds.push(lines.len());
    bounds.sort_unstable();
    for end in bounds {
        if end > start {
            let pushed = engine.push(lines[start..end].join("\n").as_bytes());
            assert!(pushed.rejected.is_empty());
            out.extend(pushed.findings.iter().map(Finding::to_json));
        }
        for (at, offset) in advances {
            if *at == end {
                let next = times.get(end).copied().unwrap_or(i64::MAX / 2);
                let watermark = next - 5 * 60_000 - offset;
                out.extend(
                    engine
                        .advance(watermark.max(T0))
                        .iter()
                        .map(Finding::to_json),
                );
            }
        }
        start = end.max(start);
    }
    out.extend(engine.flush().iter().map(Finding::to_json));
    latest_per_uid(out)
}

/// The latest version of every finding, by uid, in uid order: what a consumer keeps. When an
/// intermediate update is emitted depends on when windows close, which is the host's to choose.
fn latest_per_uid(findings: Vec<String>) -> Vec<String> {
    let mut latest = std::collections::BTreeMap::new();
    for json in findings {
        let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        let uid = value["finding_info"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        latest.insert(uid, json);
    }
    latest.into_values().collect()
}

fn time_sorted(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by_key(|e| (e.time(), e.id().to_owned()));
    events
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn batching_and_advance_cadence_do_not_matter(
        cuts in proptest::collection::vec(0usize..46, 0..12),
        advances in proptest::collection::vec((0usize..46, 0i64..600_000), 0..12),
    ) {
        let events = time_sorted(scenario());
        let times: Vec<i64> = events.iter().map(Event::time).collect();
        let lines = lines(&events, &[Shape::AzureMonitor, Shape::Graph, Shape::LogAnalytics, Shape::UnifiedAudit]);
        let reference = run(&lines, &times, &[], &[]);
        prop_assert!(reference.iter().any(|f| f.contains("\"uid\":\"attack-chain\"")));
        prop_assert_eq!(run(&lines, &times, &cuts, &advances), reference);
    }

    #[test]
    fn disorder_within_the_lateness_gives_the_sorted_findings(
        jitter in proptest::collection::vec(0i64..240_000, 46),
    ) {
        // Arrival order = event time plus up to four minutes of delay (lateness is five).
        let sorted = time_sorted(scenario());
        let mut arrived: Vec<(i64, usize, Event)> = sorted
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, e)| (e.time() + jitter.get(i).copied().unwrap_or(0), i, e))
            .collect();
        arrived.sort_by_key(|(arrival, i, _)| (*arrival, *i));
        let arrived: Vec<Event> = arrived.into_iter().map(|(_, _, e)| e).collect();
        let shapes = [Shape::Graph];
        prop_assert_eq!(
            run(&lines(&arrived, &shapes), &[], &[], &[]),
            run(&lines(&sorted, &shapes), &[], &[], &[])
        );
    }
}
