//! `oauth-high-privilege-grant`: a high-risk permission is granted to (or requested by) an app.
//!
//! **What.** `Add app role assignment to service principal` (application permission granted),
//! `Add delegated permission grant` (delegated permission granted) or `Update application` with
//! `RequiredResourceAccess` (permission requested) for a high-risk permission such as Exchange
//! `full_access_as_app` or Graph `Mail.Read` (by name or id). High; **critical when an
//! application made the change**: an app granting itself or another app permissions without any
//! consent event is the consent bypass Midnight Blizzard used.
//!
//! **Logic.** For an app role assignment `targetResources[0]` is the resource API (Exchange
//! Online, Graph); the app that *receives* the permission is read from `ServicePrincipal.AppId` /
//! `ServicePrincipal.ObjectID` / `ServicePrincipal.DisplayName`, else `targetResources[1]`. For a
//! requested permission, only ids not already in the old value count. One finding per grantee
//! per window (default 1 h).
//!
//! **False positives.** Legitimate mail-processing apps being set up (archiving, migration):
//! allow-list their app ids once reviewed.
//!
//! **ATT&CK.** T1098.003.

use super::kit::{self, observe_actor, Meta, Report, Rule, Stage};
use crate::attack::ADDITIONAL_CLOUD_ROLES;
use crate::config::Duration;
use crate::event::{AuditActivity, AuditTarget, DirectoryAudit, Event};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::reference::{high_risk_permission, high_risk_permissions_in};
use crate::time::HOUR;
use serde_json::json;

kit::config! {
    "oauth-high-privilege-grant";
    /// Suppression window per grantee (default `1h`).
    window: Duration = Duration(HOUR),
}

kit::rule! {
    /// The rule of `oauth-high-privilege-grant`.
    HighPrivilegeGrant as OauthHighPrivilegeGrant,
    Meta { id: "oauth-high-privilege-grant", stage: Some(Stage::Privilege),
           attack: &[ADDITIONAL_CLOUD_ROLES], severity: Severity::High },
    |_, event, report| if let Event::DirectoryAudit(audit) = event { on_audit(audit, report) }
}

/// What the grant was.
struct Grant {
    kind: &'static str,
    permissions: Vec<&'static str>,
    grantee_app_id: String,
    grantee_object_id: String,
    grantee_name: String,
    resource: String,
}

fn grant_of(audit: &DirectoryAudit) -> Option<Grant> {
    let grantee = |index: usize| {
        let fallback = audit.targets.get(index);
        (
            audit
                .new_value("ServicePrincipal.AppId")
                .unwrap_or("")
                .to_owned(),
            audit
                .new_value("ServicePrincipal.ObjectID")
                .map(str::to_owned)
                .or_else(|| fallback.and_then(|t| t.id.clone()))
                .unwrap_or_default(),
            audit
                .new_value("ServicePrincipal.DisplayName")
                .filter(|name| !name.trim().is_empty())
                .map(str::to_owned)
                .or_else(|| fallback.and_then(|t| t.display_name.clone()))
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_default(),
        )
    };
    let (kind, permissions, (app_id, object_id, name), resource) = match audit.activity {
        AuditActivity::AddAppRoleAssignment => {
            let mut permissions: Vec<&'static str> = ["AppRole.Value", "AppRole.Id"]
                .iter()
                .filter_map(|name| audit.new_value(name).and_then(high_risk_permission))
                .collect();
            permissions.dedup();
            let resource = audit
                .targets
                .first()
                .and_then(|t| t.display_name.clone())
                .unwrap_or_default();
            (
                "application permission granted",
                permissions,
                grantee(1),
                resource,
            )
        }
        AuditActivity::AddDelegatedPermissionGrant => {
            let scope = audit
                .new_value("DelegatedPermissionGrant.Scope")
                .unwrap_or("");
            let resource = audit
                .targets
                .first()
                .and_then(|t| t.display_name.clone())
                .unwrap_or_default();
            (
                "delegated permission granted",
                high_risk_permissions_in(scope),
                grantee(1),
                resource,
            )
        }
        AuditActivity::UpdateApplication => {
            let new = audit.new_value("RequiredResourceAccess")?;
            let old = audit.old_value("RequiredResourceAccess").unwrap_or("");
            let before = high_risk_permissions_in(old);
            let permissions = high_risk_permissions_in(new)
                .into_iter()
                .filter(|p| !before.contains(p))
                .collect();
            let app = audit.targets.first();
            let grantee = (
                audit.detail("AppId").unwrap_or("").to_owned(),
                app.and_then(|t| t.id.clone()).unwrap_or_default(),
                app.map(AuditTarget::label).unwrap_or_default(),
            );
            ("permission requested", permissions, grantee, String::new())
        }
        _ => return None,
    };
    // A null display name (common in real records) is shown as the id the record has.
    let name = [&name, &object_id, &app_id]
        .into_iter()
        .find(|name| !name.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| "(unnamed)".to_owned());
    Some(Grant {
        kind,
        permissions,
        grantee_app_id: app_id,
        grantee_object_id: object_id,
        grantee_name: name,
        resource,
    })
}

fn on_audit(audit: &DirectoryAudit, report: &mut Report) {
    if !audit.success {
        return;
    }
    let Some(grant) = grant_of(audit) else { return };
    if grant.permissions.is_empty()
        || (!grant.grantee_app_id.is_empty() && report.allowlist.known_app(&grant.grantee_app_id))
    {
        return;
    }
    let actor = &audit.actor;
    if report.allowlist.service_actor(actor) {
        return;
    }
    let by_app = actor.is_app();
    let severity = if by_app {
        Severity::Critical
    } else {
        Severity::High
    };
    let key = if grant.grantee_object_id.is_empty() {
        &grant.grantee_app_id
    } else {
        &grant.grantee_object_id
    };
    let add = |finding: &mut Finding| {
        finding.severity = finding.severity.max(severity);
        finding.add_evidence(&audit.id);
        for permission in &grant.permissions {
            finding.add_to("permissions", json!(permission));
        }
        finding.add_to("grants", json!({"kind": grant.kind, "permissions": grant.permissions, "resource": grant.resource, "by": actor.name(), "by_application": by_app, "time": audit.time}));
        observe_actor(finding, actor);
    };
    report.report(
        key,
        audit.time,
        |uid| {
            let mut finding = Finding::new(
                HighPrivilegeGrant::META.id,
                uid,
                severity,
                audit.time,
                format!("{} to {}: {}", grant.kind, grant.grantee_name, grant.permissions.join(", ")),
                HighPrivilegeGrant::META.attack,
            );
            finding.message = format!(
                "{} {} ({}) {} {}{}",
                if by_app { "application" } else { "user" },
                actor.name(),
                grant.kind,
                grant.permissions.join(", "),
                if grant.resource.is_empty() { String::new() } else { format!("on {} ", grant.resource) },
                format_args!("to {} ({})", grant.grantee_name, grant.grantee_app_id),
            );
            finding.observe("resources.uid", ObservableKind::ResourceUid, &grant.grantee_app_id);
            finding.observe("resources.uid", ObservableKind::ResourceUid, &grant.grantee_object_id);
            finding.set("grantee", json!({"app_id": grant.grantee_app_id, "object_id": grant.grantee_object_id, "name": grant.grantee_name}));
            finding.set("initiated_by_application", json!(by_app));
            add(&mut finding);
            finding
        },
        |finding| add(finding),
    );
}
