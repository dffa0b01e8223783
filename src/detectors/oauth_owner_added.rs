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

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::oauth_app_created::observe_actor;
use super::{Context, Detector, StateStats, Suppression};
use crate::allowlist::Allowlist;
use crate::attack::ACCOUNT_MANIPULATION;
use crate::event::{AuditActivity, AuditTarget, DirectoryAudit, Event};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::time::HOUR;

/// The detector id.
pub const ID: &str = "oauth-owner-added";

super::window_config!(
    "oauth-owner-added",
    HOUR,
    "Suppression window per application and new owner (default `1h`)."
);

/// The `oauth-owner-added` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct OauthOwnerAdded {
    #[serde(skip)]
    config: Config,
    #[serde(skip)]
    allowlist: Arc<Allowlist>,
    open: Suppression,
}

impl OauthOwnerAdded {
    /// A detector with these settings.
    pub fn new(config: Config, allowlist: Arc<Allowlist>) -> Self {
        OauthOwnerAdded {
            config: config.clone(),
            allowlist,
            open: Suppression::new(ID, config.window.0),
        }
    }

    fn on_audit(&mut self, audit: &DirectoryAudit, context: &mut Context) {
        if !matches!(
            audit.activity,
            AuditActivity::AddOwnerToApplication | AuditActivity::AddOwnerToServicePrincipal
        ) || !audit.success
        {
            return;
        }
        let actor = &audit.actor;
        if actor
            .user
            .as_deref()
            .is_some_and(|user| self.allowlist.service_account(user))
        {
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
        self.open.report(
            &key,
            audit.time,
            context,
            |uid| {
                let mut finding = Finding::new(
                    ID,
                    uid,
                    Severity::Medium,
                    audit.time,
                    format!("{owner_name} made owner of {app_name} by {}", actor.name()),
                    &[ACCOUNT_MANIPULATION],
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
}

impl Detector for OauthOwnerAdded {
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
