//! `oauth-owner-added`: someone is made owner of an application or service principal by
//! someone else.
//!
//! **What.** `Add owner to application` / `Add owner to service principal` where the new owner
//! (`targetResources[0]`, a user or a service principal) is not the actor. Medium.
//!
//! **Why.** An owner can add credentials to the app without any admin role: a quiet way to keep
//! control of an app the actor armed.
//!
//! **Logic.** The application is `targetResources[1]`. One finding per application and new owner
//! per window (default 1 h).
//!
//! **False positives.** Hand-overs between developers; allow-list the administrators who do this
//! routinely as service accounts.
//!
//! **ATT&CK.** T1098.

use serde_json::json;

use super::kit::{self, observe_actor, Meta, Report, Rule, Stage};
use crate::attack::ACCOUNT_MANIPULATION;
use crate::config::Duration;
use crate::event::{AuditActivity, AuditTarget, DirectoryAudit, Event};
use crate::finding::{ObservableKind, Severity};
use crate::time::HOUR;

kit::config! {
    "oauth-owner-added";
    /// Suppression window per application and new owner (default `1h`).
    window: Duration = Duration(HOUR),
}

kit::rule! {
    /// The rule of `oauth-owner-added`.
    OwnerAdded as OauthOwnerAdded,
    Meta { id: "oauth-owner-added", stage: Some(Stage::Foothold),
           attack: &[ACCOUNT_MANIPULATION], severity: Severity::Medium },
    |_, event, report| if let Event::DirectoryAudit(audit) = event { on_audit(audit, report) }
}

fn on_audit(audit: &DirectoryAudit, report: &mut Report) {
    if !matches!(
        audit.activity,
        AuditActivity::AddOwnerToApplication | AuditActivity::AddOwnerToServicePrincipal
    ) || !audit.success
    {
        return;
    }
    let actor = &audit.actor;
    if report.allowlist.service_actor(actor) {
        return;
    }
    let Some(owner) = audit.targets.first() else {
        return;
    };
    let owner_name = owner
        .user
        .clone()
        .or_else(|| owner.display_name.clone())
        .unwrap_or_default();
    let owner_id = owner.id.clone().unwrap_or_default();
    let same = [
        actor.user.as_deref(),
        actor.object_id.as_deref(),
        actor.service_principal_id.as_deref(),
    ]
    .iter()
    .flatten()
    .any(|who| who.eq_ignore_ascii_case(&owner_name) || who.eq_ignore_ascii_case(&owner_id));
    if same {
        return;
    }
    let app = audit.targets.get(1);
    let app_id = app.and_then(|t| t.id.clone()).unwrap_or_default();
    let app_name = app.map(AuditTarget::label).unwrap_or_default();
    let key = format!("{app_id}|{owner_name}{owner_id}");
    report.report(
        &key,
        audit.time,
        |uid| {
            let mut finding = OwnerAdded::META.finding(
                uid,
                audit.time,
                format!("{owner_name} made owner of {app_name} by {}", actor.name()),
            );
            finding.message = format!(
                "{} added {} {owner_name} as owner of {app_name} ({app_id})",
                actor.name(),
                owner.kind.as_deref().unwrap_or("an identity"),
            );
            observe_actor(&mut finding, actor);
            finding.observe(
                "user.name",
                ObservableKind::UserName,
                owner.user.as_deref().unwrap_or(""),
            );
            finding.observe("resources.uid", ObservableKind::ResourceUid, &owner_id);
            finding.observe("resources.uid", ObservableKind::ResourceUid, &app_id);
            finding.set(
                "owner",
                json!({"name": owner_name, "id": owner_id, "type": owner.kind}),
            );
            finding.set("object_id", json!(app_id));
            finding.set("object_name", json!(app_name));
            finding.add_evidence(&audit.id);
            finding
        },
        |finding| finding.add_evidence(&audit.id),
    );
}
