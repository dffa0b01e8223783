//! Building scenarios in every shape and running them through the engine.

use snowyowl::event::{FactorRequirement, Shape, SignIn, SignInCategory};
use snowyowl::time::{Timestamp, MINUTE};
use snowyowl::{render, Engine, Finding};

/// 2024-03-04T09:00:00Z.
pub const T0: Timestamp = 1_709_542_800_000;

pub const SHAPES: [Shape; 4] = [
    Shape::AzureMonitor,
    Shape::Graph,
    Shape::LogAnalytics,
    Shape::UnifiedAudit,
];

/// A sign-in at `T0 + minute` minutes.
pub fn signin(user: &str, ip: &str, code: u32, minute: f64) -> SignIn {
    let time = T0 + (minute * MINUTE as f64) as i64;
    SignIn {
        time,
        id: format!("{user}|{ip}|{code}|{time}"),
        shape: Shape::Graph,
        category: SignInCategory::Interactive,
        user: user.to_owned(),
        ip: Some(ip.to_owned()),
        result_code: code,
        correct_password_step: false,
        app_id: Some("00000002-0000-0ff1-ce00-000000000000".into()),
        app_name: Some("Office 365 Exchange Online".into()),
        user_agent: Some("Mozilla/5.0".into()),
        factor: FactorRequirement::Multi,
        legacy: false,
        asn: None,
        tenant_id: Some("tenant-1".into()),
        home_tenant_id: None,
        risk_event_types: Vec::new(),
    }
}

/// `count` users failing with 50126 from `ip`, one a minute from `start`.
pub fn spray(ip: &str, count: usize, start: f64) -> Vec<SignIn> {
    (0..count)
        .map(|i| signin(&format!("user{i}@contoso.com"), ip, 50126, start + i as f64))
        .collect()
}

/// The events as NDJSON in `shape`.
pub fn ndjson(events: &[SignIn], shape: Shape) -> String {
    events
        .iter()
        .map(|event| render::signin(event, shape) + "\n")
        .collect()
}

/// Pushes `text` in one batch and flushes.
pub fn run(config: &str, text: &str) -> Vec<Finding> {
    let mut engine = Engine::from_json(config).expect("valid config");
    let pushed = engine.push(text.as_bytes());
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
    let mut findings = pushed.findings;
    findings.extend(engine.flush());
    findings
}

/// The findings of one detector.
pub fn of<'a>(findings: &'a [Finding], detector: &str) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|finding| finding.detector == detector)
        .collect()
}

/// The latest version of each finding, by uid.
pub fn latest(findings: &[&Finding]) -> Vec<Finding> {
    let mut by_uid: Vec<Finding> = Vec::new();
    for finding in findings {
        match by_uid.iter_mut().find(|f| f.uid == finding.uid) {
            Some(slot) => *slot = (*finding).clone(),
            None => by_uid.push((*finding).clone()),
        }
    }
    by_uid
}
