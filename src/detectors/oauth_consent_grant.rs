//! `oauth-consent-grant`: consent to an application that is tenant-wide or asks for high-risk
//! permissions.
//!
//! **What.** `Consent to application` that is admin / tenant-wide consent
//! (`ConsentContext.IsAdminConsent` = `True`, or `ConsentType: AllPrincipals` in
//! `ConsentAction.Permissions`): medium; or that includes a high-risk permission (mail, files,
//! directory, role management; log-reference §4): high. A user consenting to low-risk
//! permissions for themselves is not reported. A level lower when a known administrator consented
//! (an account that made administrative changes on 3 earlier days within 30, see `administrators`
//! in the README), saying so.
//!
//! **Why.** Consent gives an app standing access to data (T1528); illicit consent grants are the
//! usual way an OAuth app gets at mail.
//!
//! **Logic.** The permissions text is tokenised and matched against the high-risk names and ids.
//! One finding per application per window (default 1 h).
//!
//! **False positives.** Admins approving a new SaaS app: expected, review and allow-list its app id.
//!
//! **ATT&CK.** T1528, T1098.003.

use super::kit::{self, administrators, observe_actor, Meta, Report, Rule, Stage};
use crate::attack::{ADDITIONAL_CLOUD_ROLES, STEAL_APPLICATION_TOKEN};
use crate::config::Duration;
use crate::event::{AuditActivity, AuditTarget, DirectoryAudit, Event};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::reference::high_risk_permissions_in;
use crate::time::HOUR;
use serde_json::json;

kit::config! {
    "oauth-consent-grant";
    /// Suppression window per application (default `1h`).
    window: Duration = Duration(HOUR),
}

kit::rule! {
    /// The rule of `oauth-consent-grant`.
    ConsentGrant as OauthConsentGrant,
    Meta { id: "oauth-consent-grant", stage: Some(Stage::Foothold),
           attack: &[STEAL_APPLICATION_TOKEN, ADDITIONAL_CLOUD_ROLES], severity: Severity::High },
    |_, event, report| if let Event::DirectoryAudit(audit) = event { on_audit(audit, report) }
}

fn on_audit(audit: &DirectoryAudit, report: &mut Report) {
    if audit.activity != AuditActivity::ConsentToApplication || !audit.success {
        return;
    }
    let permissions = audit.new_value("ConsentAction.Permissions").unwrap_or("");
    let admin = audit
        .new_value("ConsentContext.IsAdminConsent")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || permissions.contains("AllPrincipals");
    let app_only = audit
        .new_value("ConsentContext.IsAppOnly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let risky = high_risk_permissions_in(permissions);
    if !admin && risky.is_empty() {
        return;
    }
    let target = audit
        .target_of_kind("ServicePrincipal")
        .or(audit.targets.first());
    let object_id = target.and_then(|t| t.id.clone()).unwrap_or_default();
    let app_name = target.map(AuditTarget::label).unwrap_or_default();
    let app_id = audit.detail("AppId").unwrap_or("").to_owned();
    if !app_id.is_empty() && report.allowlist.known_app(&app_id) {
        return;
    }
    let administrator = report.administrator();
    let severity = administrators::graded(
        if risky.is_empty() {
            Severity::Medium
        } else {
            Severity::High
        },
        administrator,
    );
    let actor = &audit.actor;
    let add = |finding: &mut Finding| {
        finding.severity = finding.severity.max(severity);
        finding.add_evidence(&audit.id);
        for permission in &risky {
            finding.add_to("high_risk_permissions", json!(permission));
        }
        observe_actor(finding, actor);
    };
    report.report(
        &object_id,
        audit.time,
        |uid| {
            let scope = if admin { "tenant-wide" } else { "user" };
            let mut finding = Finding::new(
                ConsentGrant::META.id,
                uid,
                severity,
                audit.time,
                format!("{} {scope} consent to {app_name}", actor.name()),
                ConsentGrant::META.attack,
            );
            finding.message = format!(
                "{} granted {scope} consent to {app_name} ({object_id}){}",
                actor.name(),
                if risky.is_empty() {
                    String::new()
                } else {
                    format!(" including {}", risky.join(", "))
                }
            );
            administrators::note(&mut finding, administrator);
            finding.observe("resources.uid", ObservableKind::ResourceUid, &object_id);
            finding.observe("resources.uid", ObservableKind::ResourceUid, &app_id);
            finding.set("object_id", json!(object_id));
            finding.set("object_name", json!(app_name));
            finding.set("app_id", json!(app_id));
            finding.set("tenant_wide", json!(admin));
            finding.set("app_only", json!(app_only));
            finding.set("permissions", json!(permissions));
            add(&mut finding);
            finding
        },
        |finding| add(finding),
    );
}
