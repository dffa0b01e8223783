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

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Context, Detector, Signal, StateStats, Suppression};
use crate::attack::PASSWORD_SPRAYING;
use crate::config::Duration;
use crate::event::Event;
use crate::finding::{Finding, ObservableKind, Severity};
use crate::time::{Timestamp, DAY};
use crate::Error;

/// The detector id.
pub const ID: &str = "identity-protection-risk";

/// Settings of `identity-protection-risk`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Report findings at this severity instead of `medium` / `high`.
    pub severity: Option<Severity>,
    /// Risk event types passed through (empty: all).
    pub risk_types: Vec<String>,
    /// One finding per user and type per window (default `24h`).
    pub window: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            severity: None,
            risk_types: Vec::new(),
            window: Duration(DAY),
        }
    }
}

impl Config {
    /// Checks the settings (nothing can be wrong beyond types).
    pub fn validate(&self, _path: &str) -> Result<(), Error> {
        Ok(())
    }
}

/// The `identity-protection-risk` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdentityProtectionRisk {
    #[serde(skip)]
    config: Config,
    open: Suppression,
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

impl IdentityProtectionRisk {
    /// A detector with these settings.
    pub fn new(config: Config) -> Self {
        IdentityProtectionRisk {
            open: Suppression::new(ID, config.window.0),
            config,
        }
    }

    fn wanted(&self, risk_type: &str) -> bool {
        self.config.risk_types.is_empty()
            || self
                .config
                .risk_types
                .iter()
                .any(|wanted| wanted.eq_ignore_ascii_case(risk_type))
    }

    fn report(&mut self, risk: Risk, context: &mut Context) {
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
        self.open.report(
            &format!("{}|{}", risk.user, risk.risk_type),
            risk.time,
            context,
            |uid| {
                let mut finding = Finding::new(
                    ID,
                    uid,
                    severity,
                    risk.time,
                    format!("Identity Protection: {} for {}", risk.risk_type, risk.user),
                    &[PASSWORD_SPRAYING],
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
            let uid = self
                .open
                .get(&format!("{}|{}", risk.user, risk.risk_type))
                .map(|f| f.uid.clone());
            context.signal(Signal::SprayTarget {
                user: risk.user.to_owned(),
                ip: risk.ip.map(str::to_owned),
                time: risk.time,
                finding_uid: uid.unwrap_or_default(),
            });
        }
    }
}

impl Detector for IdentityProtectionRisk {
    super::persist!(keep: [config], after: |this, hasher| {
        let _ = hasher;
        this.open.configure(ID, this.config.window.0);
    });

    fn id(&self) -> &'static str {
        ID
    }

    fn on_event(&mut self, event: &Event, context: &mut Context) {
        match event {
            Event::RiskDetection(detection) if self.wanted(&detection.risk_type) => {
                let risk = Risk {
                    user: &detection.user,
                    risk_type: &detection.risk_type,
                    level: &detection.risk_level,
                    ip: detection.ip.as_deref(),
                    time: detection.time,
                    id: &detection.id,
                    source: "risk detection",
                };
                self.report(risk, context);
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
                self.report(risk, context);
            }
            _ => {}
        }
    }

    fn suppression(&mut self) -> Option<&mut Suppression> {
        Some(&mut self.open)
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.open.len(),
            evicted: 0,
            open_findings: self.open.len(),
            ..StateStats::default()
        }
    }
}
