//! `oauth-app-created`: a user adds an application or service principal.
//!
//! **What.** `Add application` or `Add service principal` by a user or an application that is not
//! a Microsoft first-party service. One finding per actor per window (default 10 min) lists the
//! apps; more than `burst` apps (default 3) raise it from low to medium.
//!
//! **Why.** Midnight Blizzard used the compromised account to create OAuth applications it then
//! armed with credentials and permissions.
//!
//! **Logic.** Counts distinct app names per actor inside the window; the burst raises severity.
//!
//! **False positives.** Administrators and deployment pipelines create apps: allow-list their
//! service accounts (`allowlist.service_accounts`) or app ids (`allowlist.app_ids`).
//!
//! **ATT&CK.** T1136.003.

use super::kit::{self, observe_actor, Distinct, Meta, Report, Rule, Stage};
use crate::attack::CLOUD_ACCOUNT_CREATION;
use crate::config::{Count, Duration};
use crate::event::{AuditActivity, AuditTarget, DirectoryAudit, Event};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::time::MINUTE;
use serde_json::json;

kit::config! {
    "oauth-app-created";
    /// More apps than this by one actor within the window is a burst (default 3).
    burst: Count = Count::new(3),
    /// The window (default `10m`).
    window: Duration = Duration(10 * MINUTE),
}

kit::rule! {
    /// The rule of `oauth-app-created`.
    AppCreated as OauthAppCreated keeping Distinct,
    Meta { id: "oauth-app-created", stage: Some(Stage::Foothold),
           attack: &[CLOUD_ACCOUNT_CREATION], severity: Severity::Low },
    |config, event, report| if let Event::DirectoryAudit(audit) = event { on_audit(config, audit, report) }
}

fn on_audit(config: &Config, audit: &DirectoryAudit, report: &mut Report<Distinct>) {
    if !matches!(
        audit.activity,
        AuditActivity::AddApplication | AuditActivity::AddServicePrincipal
    ) || !audit.success
    {
        return;
    }
    let actor = &audit.actor;
    if report.allowlist.trusted_actor(actor) || actor.name() == "unknown" {
        return;
    }
    let target = audit.targets.first();
    let app_name = target.map(AuditTarget::label).unwrap_or_default();
    let object_id = target.and_then(|t| t.id.clone()).unwrap_or_default();
    let app_id = audit
        .new_value("AppId")
        .or(audit.detail("AppId"))
        .unwrap_or("")
        .to_owned();
    let burst = config.burst.get();
    let add = |finding: &mut Finding, names: &mut Distinct| {
        finding.add_evidence(&audit.id);
        finding.add_to("apps", json!({"name": app_name, "object_id": object_id, "app_id": app_id, "activity": audit.activity_name}));
        finding.observe("resources.uid", ObservableKind::ResourceUid, &object_id);
        finding.observe("resources.uid", ObservableKind::ResourceUid, &app_id);
        names.add(&app_name.to_lowercase());
        finding.set("app_count", json!(names.count()));
        if names.count() > burst {
            finding.severity = Severity::Medium;
            finding.title = format!(
                "{} created {} applications in a burst",
                actor.name(),
                names.said()
            );
        }
        finding.message = format!(
            "{} created or registered {} application(s)",
            actor.name(),
            names.said()
        );
    };
    report.report_with(
        actor.name(),
        audit.time,
        |uid, names| {
            let mut finding = Finding::new(
                AppCreated::META.id,
                uid,
                Severity::Low,
                audit.time,
                format!("{} created application {app_name}", actor.name()),
                AppCreated::META.attack,
            );
            observe_actor(&mut finding, actor);
            finding.set("actor", json!(actor.name()));
            add(&mut finding, names);
            finding
        },
        add,
    );
}
