//! `identity-protection-risk`: Entra ID Protection's own detections, passed through.
//!
//! **What.** A risk detection record (Graph `riskDetection`, Azure Monitor `UserRiskEvents`, Log
//! Analytics `AADUserRiskEvents`) whose type is in `risk_types` (default: all), or a sign-in whose
//! `riskEventTypes_v2` contains `passwordSpray`. Medium (high when Microsoft rated it high).
//!
//! **Why.** Microsoft sees sprays across tenants; its verdict joins the chain like any other
//! stage, and a `passwordSpray` detection names a spray target.
//!
//! **Logic.** One finding per user and risk type per window (default 24 h). `passwordSpray`
//! detections signal the user as a spray target.
//!
//! **False positives.** Whatever Identity Protection's are; dismissed risks still arrive as
//! records, so tune `risk_types` to what you act on.
//!
//! **ATT&CK.** T1110.003.

use super::kit::{self, Meta, Report, Rule, Signal, Stage};
use crate::attack::PASSWORD_SPRAYING;
use crate::config::Duration;
use crate::event::Event;
use crate::finding::{Finding, ObservableKind, Severity};
use crate::time::{Timestamp, DAY};
use serde_json::json;

kit::config! {
    "identity-protection-risk";
    /// Risk event types passed through (empty: all).
    risk_types: Vec<String> = Vec::new(),
    /// One finding per user and type per window (default `24h`).
    window: Duration = Duration(DAY),
}

struct Risk<'a> {
    user: &'a str,
    risk_type: &'a str,
    level: &'a str,
    ip: Option<&'a str>,
    time: Timestamp,
    id: &'a str,
    source: &'static str,
}

kit::rule! {
    /// The rule of `identity-protection-risk`.
    RiskReported as IdentityProtectionRisk,
    Meta { id: "identity-protection-risk", stage: Some(Stage::Spray),
           attack: &[PASSWORD_SPRAYING], severity: Severity::Medium },
    |config, event, report| on_event(config, event, report)
}

fn on_event(config: &Config, event: &Event, report: &mut Report) {
    match event {
        Event::RiskDetection(detection) if wanted(config, &detection.risk_type) => {
            let risk = Risk {
                user: &detection.user,
                risk_type: &detection.risk_type,
                level: &detection.risk_level,
                ip: detection.ip.as_deref(),
                time: detection.time,
                id: &detection.id,
                source: "risk detection",
            };
            raise(risk, report);
        }
        Event::SignIn(signin)
            if signin
                .risk_event_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case("passwordSpray")) =>
        {
            let risk = Risk {
                user: signin.user(),
                risk_type: "passwordSpray",
                level: "",
                ip: signin.ip(),
                time: signin.time,
                id: signin.id(),
                source: "sign-in",
            };
            raise(risk, report);
        }
        _ => {}
    }
}

fn wanted(config: &Config, risk_type: &str) -> bool {
    config.risk_types.is_empty()
        || config
            .risk_types
            .iter()
            .any(|wanted| wanted.eq_ignore_ascii_case(risk_type))
}

fn raise(risk: Risk, report: &mut Report) {
    let severity = if risk.level.eq_ignore_ascii_case("high") {
        Severity::High
    } else {
        Severity::Medium
    };
    let add = |finding: &mut Finding| {
        finding.severity = finding.severity.max(severity);
        finding.add_evidence(risk.id);
        if let Some(ip) = risk.ip {
            finding.observe("src_endpoint.ip", ObservableKind::IpAddress, ip);
        }
    };
    report.report(
        &format!("{}|{}", risk.user, risk.risk_type),
        risk.time,
        |uid| {
            let mut finding = Finding::new(
                RiskReported::META.id,
                uid,
                severity,
                risk.time,
                format!("Identity Protection: {} for {}", risk.risk_type, risk.user),
                RiskReported::META.attack,
            );
            finding.message = format!(
                "Entra ID Protection reported {} ({}) for {} in a {}",
                risk.risk_type,
                if risk.level.is_empty() {
                    "no level"
                } else {
                    risk.level
                },
                risk.user,
                risk.source
            );
            finding.observe("user.name", ObservableKind::UserName, risk.user);
            finding.set("risk_type", json!(risk.risk_type));
            finding.set("risk_level", json!(risk.level));
            finding.set("source", json!(risk.source));
            add(&mut finding);
            finding
        },
        |finding| add(finding),
    );
    if risk.risk_type.eq_ignore_ascii_case("passwordSpray") {
        let uid = report
            .open(&format!("{}|{}", risk.user, risk.risk_type))
            .map(|f| f.uid.clone());
        report.signal(Signal::SprayTarget {
            user: risk.user.to_owned(),
            ip: risk.ip.map(str::to_owned),
            time: risk.time,
            finding_uid: uid.unwrap_or_default(),
        });
    }
}
