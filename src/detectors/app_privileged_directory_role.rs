//! `app-privileged-directory-role`: a service principal is given a privileged directory role.
//!
//! **What.** `Add member to role`, `Add eligible member to role` or `Add scoped member to role`
//! (and their completed PIM forms) where the member (`targetResources[0]`) is a
//! `ServicePrincipal` and the role (`Role.DisplayName` / `Role.TemplateId`) is privileged: Global
//! Administrator (`Company Administrator` in older logs), Privileged Role Administrator,
//! Application / Cloud Application Administrator, Exchange Administrator, Privileged
//! Authentication, Security or Hybrid Identity Administrator. High; medium when Microsoft's GDAP
//! service made the assignment (what a partner relationship an administrator approved grants,
//! which `partner-trust` reports).
//!
//! **Why.** An application holding a directory role keeps the actor's privileges without any
//! user account, and survives password resets and MFA.
//!
//! **False positives.** Automation accounts deliberately given roles: allow-list their app ids.
//!
//! **ATT&CK.** T1098.003.

use super::kit::{self, observe_actor, Meta, Report, Rule, Stage};
use crate::attack::ADDITIONAL_CLOUD_ROLES;
use crate::config::Duration;
use crate::event::{AuditActivity, DirectoryAudit, Event};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::reference::privileged_role;
use crate::time::HOUR;
use serde_json::json;

kit::config! {
    "app-privileged-directory-role";
    /// Suppression window per service principal and role (default `1h`).
    window: Duration = Duration(HOUR),
}

kit::rule! {
    /// The rule of `app-privileged-directory-role`.
    PrivilegedRole as AppPrivilegedDirectoryRole,
    Meta { id: "app-privileged-directory-role", stage: Some(Stage::Privilege),
           attack: &[ADDITIONAL_CLOUD_ROLES], severity: Severity::High },
    |_, event, report| if let Event::DirectoryAudit(audit) = event { on_audit(audit, report) }
}

fn on_audit(audit: &DirectoryAudit, report: &mut Report) {
    if audit.activity != AuditActivity::AddMemberToRole || !audit.success {
        return;
    }
    let Some(member) = audit.targets.first() else {
        return;
    };
    if !member
        .kind
        .as_deref()
        .is_some_and(|kind| kind.eq_ignore_ascii_case("ServicePrincipal"))
    {
        return;
    }
    let role = [
        "Role.DisplayName",
        "Role.TemplateId",
        "Role.WellKnownObjectName",
    ]
    .iter()
    .find_map(|name| audit.new_value(name).and_then(privileged_role));
    let Some(role) = role else { return };
    let member_id = member.id.clone().unwrap_or_default();
    let member_name = member.label();
    let app_id = audit
        .new_value("TargetId.ServicePrincipalNames")
        .unwrap_or("")
        .to_owned();
    if report.allowlist.known_app(&member_id)
        || (!app_id.is_empty() && report.allowlist.known_app(&app_id))
    {
        return;
    }
    let actor = &audit.actor;
    let eligible = audit.activity_name.to_lowercase().contains("eligible");
    // Microsoft's GDAP service assigns what a relationship an administrator approved grants.
    let (severity, by, approved) = if actor.is_gdap_service() {
        (
            Severity::Medium,
            "Microsoft's GDAP service",
            ", for a partner relationship an administrator approved",
        )
    } else {
        (Severity::High, actor.name(), "")
    };
    report.report(
        &format!("{member_id}|{role}"),
        audit.time,
        |uid| {
            let mut finding = Finding::new(
                PrivilegedRole::META.id,
                uid,
                severity,
                audit.time,
                format!("Service principal {member_name} added to {role}"),
                PrivilegedRole::META.attack,
            );
            finding.message = format!(
                "{by} made service principal {member_name} ({member_id}) {}{role}{approved}",
                if eligible { "eligible for " } else { "" },
            );
            observe_actor(&mut finding, actor);
            finding.observe("resources.uid", ObservableKind::ResourceUid, &member_id);
            finding.set("role", json!(role));
            finding.set("eligible", json!(eligible));
            finding.set(
                "service_principal",
                json!({"object_id": member_id, "name": member_name, "app_id": app_id}),
            );
            finding.add_evidence(&audit.id);
            finding
        },
        |finding| finding.add_evidence(&audit.id),
    );
}
