//! The golden scenarios as real exports deliver them: in every dress (`dress.rs`), and as an
//! Azure Monitor export, a Log Analytics JSON export and a Log Analytics CSV export of the same
//! events, they give the same findings.

use snowyowl::event::{Event, Shape};
use snowyowl::normalize::{normalize, Normalized};
use snowyowl::{render, Finding};

use crate::dress::{as_pushed, dress, Dress, DRESSES};
use crate::helpers::run_bytes;

const SCENARIOS: [(&str, &str); 3] = [
    (
        "midnight-blizzard",
        include_str!("../data/midnight-blizzard.ndjson"),
    ),
    ("app-abuse", include_str!("../data/app-abuse.ndjson")),
    ("demo-tenant", include_str!("../data/demo-tenant.ndjson")),
];

const CONFIG: &str = "{}";

fn events(text: &str) -> Vec<Event> {
    let mut events = Vec::new();
    for line in text.lines() {
        normalize(line, &mut |normalized| match normalized {
            Normalized::Event(event) => events.push(event),
            other => panic!("{other:?}"),
        });
    }
    events
}

fn rendered(events: &[Event], shape: Shape) -> String {
    events
        .iter()
        .map(|event| render::event(event, shape) + "\n")
        .collect()
}

fn summary(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {:?} {}",
                f.detector,
                f.uid,
                f.severity,
                f.evidence.len()
            )
        })
        .collect()
}

#[test]
fn the_scenarios_in_every_dress_give_the_same_findings() {
    for (name, text) in SCENARIOS {
        let plain = run_bytes(CONFIG, text.as_bytes());
        assert!(!plain.is_empty(), "{name}");
        for each in &DRESSES[1..] {
            let dressed = run_bytes(CONFIG, &as_pushed(dress(text, *each), *each));
            assert_eq!(
                summary(&dressed),
                summary(&plain),
                "{name} dressed as {each:?}"
            );
            assert_eq!(dressed, plain, "{name} dressed as {each:?}");
        }
    }
}

#[test]
fn azure_monitor_log_analytics_json_and_csv_give_the_same_findings() {
    for (name, text) in SCENARIOS {
        let events = events(text);
        let azure_monitor = run_bytes(CONFIG, rendered(&events, Shape::AzureMonitor).as_bytes());
        let log_analytics = rendered(&events, Shape::LogAnalytics);
        let json = run_bytes(CONFIG, log_analytics.as_bytes());
        let csv_bytes = dress(&log_analytics, Dress::Csv);
        assert!(
            csv_bytes.starts_with(b"\xEF\xBB\xBF"),
            "{name}: written as CSV"
        );
        let csv = run_bytes(CONFIG, &as_pushed(csv_bytes, Dress::Csv));
        assert!(!azure_monitor.is_empty(), "{name}");
        assert_eq!(
            summary(&json),
            summary(&azure_monitor),
            "{name}: Log Analytics JSON"
        );
        assert_eq!(
            summary(&csv),
            summary(&azure_monitor),
            "{name}: Log Analytics CSV"
        );
        assert_eq!(json, azure_monitor, "{name}: Log Analytics JSON");
        assert_eq!(csv, azure_monitor, "{name}: Log Analytics CSV");
    }
}
