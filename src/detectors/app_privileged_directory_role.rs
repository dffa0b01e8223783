//! `app-privileged-directory-role`: a service principal is given a privileged directory role.
//!
//! **What.** `Add member to role`, `Add eligible member to role` or `Add scoped member to role`
//! (and their completed PIM forms) where the member (`targetResources[0]`) is a
//! `ServicePrincipal` and the role (`Role.DisplayName` / `Role.TemplateId`) is privileged: Global
//! Administrator (`Company Administrator` in older logs), Privileged Role Administrator,
//! Application / Cloud Application Administrator, Exchange Administrator, Privileged
//! Authentication, Security or Hybrid Identity Administrator. High.
//!
//! **Why.** An application holding a directory role keeps the actor's privileges without any
//! user account, and survives password resets and MFA.
//!
//! **False positives.** Automation accounts deliberately given roles: allow-list their app ids.
//!
//! **ATT&CK.** T1098.003.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::oauth_app_created::observe_actor;
use super::{Context, Detector, StateStats, Suppression};
use crate::allowlist::Allowlist;
use crate::attack::ADDITIONAL_CLOUD_ROLES;
use crate::event::{AuditActivity, DirectoryAudit, Event};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::reference::privileged_role;
use crate::time::HOUR;

/// The detector id.
pub const ID: &str = "app-privileged-directory-role";

super::window_config!(
    "app-privileged-directory-role",
    HOUR,
    "Suppression window per service principal and role (default `1h`)."
);

/// The `app-privileged-directory-role` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct AppPrivilegedDirectoryRole {
    #[serde(skip)]
    config: Config,
    #[serde(skip)]
    allowlist: Arc<Allowlist>,
    open: Suppression,
}

impl AppPrivilegedDirectoryRole {
    /// A detector with these settings.
    pub fn new(config: Config, allowlist: Arc<Allowlist>) -> Self {
        AppPrivilegedDirectoryRole {
            config: config.clone(),
            allowlist,
            open: Suppression::new(ID, config.window.0),
        }
    }

    fn on_audit(&mut self, audit: &DirectoryAudit, context: &mut Context) {
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
        if self.allowlist.known_app(&member_id)
            || (!app_id.is_empty() && self.allowlist.known_app(&app_id))
        {
            return;
        }
        let actor = &audit.actor;
        let eligible = audit.activity_name.to_lowercase().contains("eligible");
        self.open.report(
            &format!("{member_id}|{role}"),
            audit.time,
            context,
            |uid| {
                let mut finding = Finding::new(
                    ID,
                    uid,
                    Severity::High,
                    audit.time,
                    format!("Service principal {member_name} added to {role}"),
                    &[ADDITIONAL_CLOUD_ROLES],
                );
                finding.message = format!(
                    "{} made service principal {member_name} ({member_id}) {}{role}",
                    actor.name(),
                    if eligible { "eligible for " } else { "" }
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
}

impl Detector for AppPrivilegedDirectoryRole {
    super::persist!(keep: [config, allowlist], after: |this, hasher| {
        let _ = hasher;
        this.open.configure(ID, this.config.window.0);
    });

    fn id(&self) -> &'static str {
        ID
    }

    fn on_event(&mut self, event: &Event, context: &mut Context) {
        if let Event::DirectoryAudit(audit) = event {
            self.on_audit(audit, context);
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
