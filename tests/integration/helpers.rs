//! Building scenarios in every shape and running them through the engine.

use snowyowl::event::{FactorRequirement, Shape, SignInCategory, SignInFields};
use snowyowl::time::{Timestamp, MINUTE};
use snowyowl::{render, Engine, Finding};

use crate::dress::{as_pushed, dress, DRESSES};

/// The hash seed of the engines the helpers build (findings do not depend on it: `issue26.rs`).
pub const SEED: u64 = 0x5eed;

/// 2024-03-04T09:00:00Z.
pub const T0: Timestamp = 1_709_542_800_000;

pub const SHAPES: [Shape; 4] = [
    Shape::AzureMonitor,
    Shape::Graph,
    Shape::LogAnalytics,
    Shape::UnifiedAudit,
];

/// A sign-in's fields (to change, then `pack`) at `T0 + minute` minutes.
pub fn signin(user: &str, ip: &str, code: u32, minute: f64) -> SignInFields<String> {
    let time = T0 + (minute * MINUTE as f64) as i64;
    SignInFields {
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
        app_owner_tenant_id: None,
        country: None,
        device_id: None,
        risk_event_types: Vec::new(),
    }
}

/// `count` users failing with 50126 from `ip`, one a minute from `start`.
pub fn spray(ip: &str, count: usize, start: f64) -> Vec<SignInFields<String>> {
    (0..count)
        .map(|i| signin(&format!("user{i}@contoso.com"), ip, 50126, start + i as f64))
        .collect()
}

/// The events as NDJSON in `shape`.
pub fn ndjson(events: &[SignInFields<String>], shape: Shape) -> String {
    events
        .iter()
        .map(|event| render::signin(&event.pack(), shape) + "\n")
        .collect()
}

/// Pushes `text` in one batch and flushes; and checks that the same records in every dress real
/// exports put on them (`dress.rs`) give the same findings.
pub fn run(config: &str, text: &str) -> Vec<Finding> {
    let plain = run_bytes(config, text.as_bytes());
    for each in &DRESSES[1..] {
        let dressed = run_bytes(config, &as_pushed(dress(text, *each), *each));
        assert_eq!(dressed, plain, "the same records dressed as {each:?}");
    }
    plain
}

/// Pushes `bytes` in one batch and flushes.
pub fn run_bytes(config: &str, bytes: &[u8]) -> Vec<Finding> {
    let mut engine = Engine::from_json(config, SEED).expect("valid config");
    let pushed = engine.push(bytes);
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

use snowyowl::event::{
    Actor, AuditActivity, AuditTarget, DirectoryAudit, Event, ExchangeAdmin, MailClient,
    MailboxAccess, Modified, RiskDetection,
};

/// A user actor.
pub fn user(upn: &str) -> Actor {
    Actor {
        user: Some(upn.to_owned()),
        object_id: Some(format!("oid-{upn}")),
        ..Actor::default()
    }
}

/// An application actor.
pub fn app(app_id: &str, sp_id: &str, name: &str) -> Actor {
    Actor {
        app_id: Some(app_id.to_owned()),
        service_principal_id: Some(sp_id.to_owned()),
        display_name: Some(name.to_owned()),
        ..Actor::default()
    }
}

/// A directory target.
pub fn target(kind: &str, id: &str, name: &str) -> AuditTarget {
    AuditTarget {
        id: Some(id.to_owned()),
        kind: Some(kind.to_owned()),
        display_name: Some(name.to_owned()),
        user: None,
    }
}

/// A user target.
pub fn user_target(upn: &str) -> AuditTarget {
    AuditTarget {
        id: Some(format!("oid-{upn}")),
        kind: Some("User".into()),
        display_name: None,
        user: Some(upn.to_owned()),
    }
}

/// A directory audit record at `T0 + minute`.
pub fn audit(
    name: &str,
    actor: Actor,
    targets: Vec<AuditTarget>,
    modified: &[(&str, &str, &str)],
    minute: f64,
) -> Event {
    let time = T0 + (minute * MINUTE as f64) as i64;
    Event::DirectoryAudit(DirectoryAudit {
        time,
        id: format!("audit-{name}-{time}-{}", actor.name()),
        shape: Shape::Graph,
        activity: AuditActivity::of(name),
        activity_name: name.to_owned(),
        success: true,
        actor,
        targets,
        modified: modified
            .iter()
            .map(|&(name, old, new)| Modified::new(name, old, new))
            .collect(),
        details: Vec::new(),
        reason: None,
        tenant_id: Some("tenant-1".into()),
    })
}

/// `count` applications (`app 0`, `app 1`, …) added by test@contoso.com, `minutes` apart from `T0`.
pub fn apps_added(count: usize, minutes: f64) -> Vec<Event> {
    (0..count)
        .map(|i| {
            let targets = vec![target(
                "Application",
                &format!("obj-{i}"),
                &format!("app {i}"),
            )];
            audit(
                "Add application",
                user("test@contoso.com"),
                targets,
                &[],
                i as f64 * minutes,
            )
        })
        .collect()
}

/// A `MailItemsAccessed` record at `T0 + minute`.
pub fn mail(app_id: &str, client: MailClient, mailbox: &str, minute: f64) -> Event {
    let time = T0 + (minute * MINUTE as f64) as i64;
    let logged_app = if client == MailClient::Graph {
        "00000003-0000-0000-c000-000000000000".to_owned()
    } else {
        app_id.to_owned()
    };
    Event::MailboxAccess(MailboxAccess {
        time,
        id: format!("mail-{app_id}-{mailbox}-{time}"),
        shape: Shape::UnifiedAudit,
        user: app_id.to_owned(),
        mailbox: mailbox.to_owned(),
        client_app_id: Some(app_id.to_owned()),
        app_id: Some(logged_app),
        client,
        ip: Some("203.0.113.200".into()),
        throttled: false,
        operation_count: 1,
        tenant_id: Some("tenant-1".into()),
        token_tenant_id: None,
    })
}

/// An Exchange admin cmdlet at `T0 + minute`.
pub fn cmdlet(name: &str, actor: &str, parameters: &[(&str, &str)], minute: f64) -> Event {
    let time = T0 + (minute * MINUTE as f64) as i64;
    Event::ExchangeAdmin(ExchangeAdmin {
        time,
        id: format!("cmdlet-{name}-{time}"),
        shape: Shape::UnifiedAudit,
        cmdlet: name.to_owned(),
        parameters: parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        actor: actor.to_owned(),
        object: None,
        tenant_id: Some("tenant-1".into()),
        success: true,
    })
}

/// A risk detection at `T0 + minute`.
pub fn risk(user: &str, risk_type: &str, level: &str, minute: f64) -> Event {
    let time = T0 + (minute * MINUTE as f64) as i64;
    Event::RiskDetection(RiskDetection {
        time,
        id: format!("risk-{user}-{time}"),
        shape: Shape::Graph,
        risk_type: risk_type.to_owned(),
        risk_level: level.to_owned(),
        user: user.to_owned(),
        ip: Some("203.0.113.9".into()),
        tenant_id: Some("tenant-1".into()),
    })
}

/// Events of any kind as NDJSON in `shape`.
pub fn render_all(events: &[Event], shape: Shape) -> String {
    events
        .iter()
        .map(|event| render::event(event, shape) + "\n")
        .collect()
}

/// A file of a detector's golden folder (`tests/golden/<detector>/<file>`).
pub fn golden_file(detector: &str, file: &str) -> String {
    let path = format!(
        "{}/tests/golden/{detector}/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Runs events of any kind in `shape` and returns the latest version of each finding of
/// `detector`.
pub fn detect(config: &str, events: &[Event], shape: Shape, detector: &str) -> Vec<Finding> {
    let findings = run(config, &render_all(events, shape));
    latest(&of(&findings, detector))
}
