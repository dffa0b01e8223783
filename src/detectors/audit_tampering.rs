//! `audit-tampering`: Exchange Online auditing turned off or bypassed.
//!
//! **What.** An Exchange admin cmdlet that stops the audit the other detectors read:
//! `Set-AdminAuditLogConfig` with `UnifiedAuditLogIngestionEnabled` or `AdminAuditLogEnabled`
//! false, `Set-OrganizationConfig` with `AuditDisabled` true (mailbox auditing off for the whole
//! organization), `Set-MailboxAuditBypassAssociation` with `AuditBypassEnabled` true (an account
//! whose mailbox access is never logged): high. `Set-Mailbox` with `AuditEnabled` false (one
//! mailbox's auditing off): medium.
//!
//! **Why.** An intruder who reads mail through an app wants `MailItemsAccessed` gone: APT29 turned
//! off Purview Audit for the accounts it targeted (Mandiant, 2022). With the unified audit log
//! off, every later record this engine reads is missing, so the last one matters.
//!
//! **Logic.** The cmdlet's parameters are read as booleans in the forms Exchange logs them
//! (`False`, `$false`, `0`); turning auditing on, or setting other parameters, is not reported.
//! Exchange Online's own services (`NT AUTHORITY\SYSTEM (Microsoft.Exchange.ServiceHost)` and
//! the like: not the portal's `w3wp`) set these as housekeeping and are not reported. One finding
//! per actor, cmdlet and object per window (default 1 h).
//!
//! **False positives.** Tenants that audit through a third-party tool and turn ingestion off on
//! purpose; service accounts of archiving products given a bypass because they flood the log
//! (Microsoft documents that use): allow-list the administrators who do it
//! (`allowlist.service_accounts`), or the detector.
//!
//! **ATT&CK.** T1562.008.

use serde_json::json;

use super::kit::{self, Meta, Report, Rule, Stage};
use crate::attack::DISABLE_CLOUD_LOGS;
use crate::config::Duration;
use crate::event::{Event, ExchangeAdmin};
use crate::finding::{ObservableKind, Severity};
use crate::time::HOUR;

kit::config! {
    "audit-tampering";
    /// Suppression window per actor, cmdlet and object (default `1h`).
    window: Duration = Duration(HOUR),
}

kit::rule! {
    /// The rule of `audit-tampering`.
    AuditOff as AuditTampering,
    Meta { id: "audit-tampering", stage: Some(Stage::Privilege),
           attack: &[DISABLE_CLOUD_LOGS], severity: Severity::High },
    |_, event, report| if let Event::ExchangeAdmin(admin) = event { on_admin(admin, report) }
}

/// A parameter that stops auditing when it takes one value.
struct Switch {
    cmdlet: &'static str,
    parameter: &'static str,
    /// The value that stops auditing.
    stops_when: bool,
    /// What that does, for the title.
    what: &'static str,
    severity: Severity,
}

const SWITCHES: [Switch; 5] = [
    Switch {
        cmdlet: "Set-AdminAuditLogConfig",
        parameter: "UnifiedAuditLogIngestionEnabled",
        stops_when: false,
        what: "unified audit log ingestion turned off",
        severity: Severity::High,
    },
    Switch {
        cmdlet: "Set-AdminAuditLogConfig",
        parameter: "AdminAuditLogEnabled",
        stops_when: false,
        what: "admin audit logging turned off",
        severity: Severity::High,
    },
    Switch {
        cmdlet: "Set-OrganizationConfig",
        parameter: "AuditDisabled",
        stops_when: true,
        what: "mailbox auditing turned off for the organization",
        severity: Severity::High,
    },
    Switch {
        cmdlet: "Set-MailboxAuditBypassAssociation",
        parameter: "AuditBypassEnabled",
        stops_when: true,
        what: "mailbox audit bypass granted",
        severity: Severity::High,
    },
    Switch {
        cmdlet: "Set-Mailbox",
        parameter: "AuditEnabled",
        stops_when: false,
        what: "mailbox auditing turned off",
        severity: Severity::Medium,
    },
];

/// A boolean as Exchange logs a parameter's value (`True`, `$false`, `0`); `None` otherwise.
fn boolean(value: &str) -> Option<bool> {
    let value = value.trim();
    let value = value.strip_prefix('$').unwrap_or(value);
    if value.eq_ignore_ascii_case("true") || value == "1" {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") || value == "0" {
        Some(false)
    } else {
        None
    }
}

fn on_admin(admin: &ExchangeAdmin, report: &mut Report) {
    if !admin.success
        || admin.by_exchange_service()
        || report.allowlist.service_account(&admin.actor)
    {
        return;
    }
    let stopped: Vec<&Switch> = SWITCHES
        .iter()
        .filter(|switch| {
            admin.cmdlet.eq_ignore_ascii_case(switch.cmdlet)
                && admin
                    .parameter(switch.parameter)
                    .and_then(boolean)
                    .is_some_and(|value| value == switch.stops_when)
        })
        .collect();
    let Some(severity) = stopped.iter().map(|switch| switch.severity).max() else {
        return;
    };
    let what = stopped
        .iter()
        .map(|switch| switch.what)
        .collect::<Vec<_>>()
        .join(", ");
    let object = admin
        .parameter("Identity")
        .or(admin.object.as_deref())
        .unwrap_or("")
        .trim();
    let actor = if admin.actor.is_empty() {
        "an unrecorded account"
    } else {
        &admin.actor
    };
    let on = if object.is_empty() || !admin.cmdlet.to_ascii_lowercase().contains("mailbox") {
        String::new()
    } else {
        format!(" on {object}")
    };
    let key = format!(
        "{}|{}|{object}",
        admin.actor,
        admin.cmdlet.to_ascii_lowercase()
    );
    report.report(
        &key,
        admin.time,
        |uid| {
            let mut finding =
                AuditOff::META.finding(uid, admin.time, format!("Exchange {what}{on} by {actor}"));
            finding.severity = severity;
            finding.message = format!(
                "{actor} ran {} ({}): {what}{on}",
                admin.cmdlet,
                stopped
                    .iter()
                    .map(|switch| format!(
                        "{} {}",
                        switch.parameter,
                        admin.parameter(switch.parameter).unwrap_or("").trim()
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            finding.observe("actor.user.name", ObservableKind::UserName, &admin.actor);
            if !on.is_empty() {
                finding.observe("mailbox", ObservableKind::EmailAddress, object);
            }
            finding.set("cmdlet", json!(admin.cmdlet));
            finding.set("object", json!(object));
            finding.set(
                "parameters",
                json!(admin
                    .parameters
                    .iter()
                    .map(|(k, v)| json!({"name": k, "value": v}))
                    .collect::<Vec<_>>()),
            );
            finding.add_evidence(&admin.id);
            finding
        },
        |finding| finding.add_evidence(&admin.id),
    );
}

#[cfg(test)]
mod tests {
    use super::boolean;

    #[test]
    fn booleans_read_in_every_form_exchange_logs() {
        for yes in ["True", "true", "$true", " $True ", "1"] {
            assert_eq!(boolean(yes), Some(true), "{yes}");
        }
        for no in ["False", "$false", "FALSE", "0"] {
            assert_eq!(boolean(no), Some(false), "{no}");
        }
        for neither in ["", "Yes", "MailItemsAccessed", "$null"] {
            assert_eq!(boolean(neither), None, "{neither}");
        }
    }
}
