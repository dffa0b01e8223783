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

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Context, Detector, StateStats, Suppression};
use crate::allowlist::Allowlist;
use crate::attack::CLOUD_ACCOUNT_CREATION;
use crate::config::{positive, Duration};
use crate::event::{AuditActivity, AuditTarget, DirectoryAudit, Event};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::time::MINUTE;
use crate::Error;

/// The detector id.
pub const ID: &str = "oauth-app-created";

/// Settings of `oauth-app-created`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Report findings at this severity instead of `low` / `medium`.
    pub severity: Option<Severity>,
    /// More apps than this by one actor within the window is a burst (default 3).
    pub burst: usize,
    /// The window (default `10m`).
    pub window: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            severity: None,
            burst: 3,
            window: Duration(10 * MINUTE),
        }
    }
}

impl Config {
    /// Checks the settings; errors name the field under `path`.
    pub fn validate(&self, path: &str) -> Result<(), Error> {
        positive(&format!("{path}.burst"), self.burst)
    }
}

/// The `oauth-app-created` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct OauthAppCreated {
    #[serde(skip)]
    config: Config,
    #[serde(skip)]
    allowlist: Arc<Allowlist>,
    open: Suppression,
}

impl OauthAppCreated {
    /// A detector with these settings.
    pub fn new(config: Config, allowlist: Arc<Allowlist>) -> Self {
        let open = Suppression::new(ID, config.window.0);
        OauthAppCreated {
            config,
            allowlist,
            open,
        }
    }

    fn on_audit(&mut self, audit: &DirectoryAudit, context: &mut Context) {
        if !matches!(
            audit.activity,
            AuditActivity::AddApplication | AuditActivity::AddServicePrincipal
        ) || !audit.success
        {
            return;
        }
        let actor = &audit.actor;
        if actor
            .app_id
            .as_deref()
            .is_some_and(|app| self.allowlist.known_app(app))
            || actor
                .user
                .as_deref()
                .is_some_and(|user| self.allowlist.service_account(user))
            || actor.name() == "unknown"
        {
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
        let burst = self.config.burst;
        let add = |finding: &mut Finding| {
            finding.add_evidence(&audit.id);
            finding.add_to("apps", json!({"name": app_name, "object_id": object_id, "app_id": app_id, "activity": audit.activity_name}));
            finding.observe("resources.uid", ObservableKind::ResourceUid, &object_id);
            finding.observe("resources.uid", ObservableKind::ResourceUid, &app_id);
            let names: std::collections::BTreeSet<String> = finding
                .unmapped
                .get("apps")
                .and_then(|apps| apps.as_array())
                .map(|apps| {
                    apps.iter()
                        .filter_map(|app| {
                            app.get("name")
                                .and_then(|n| n.as_str())
                                .map(str::to_lowercase)
                        })
                        .collect()
                })
                .unwrap_or_default();
            finding.set("app_count", json!(names.len()));
            if names.len() > burst {
                finding.severity = Severity::Medium;
                finding.title = format!(
                    "{} created {} applications in a burst",
                    actor.name(),
                    names.len()
                );
            }
            finding.message = format!(
                "{} created or registered {} application(s)",
                actor.name(),
                names.len()
            );
        };
        self.open.report(
            actor.name(),
            audit.time,
            context,
            |uid| {
                let mut finding = Finding::new(
                    ID,
                    uid,
                    Severity::Low,
                    audit.time,
                    format!("{} created application {app_name}", actor.name()),
                    &[CLOUD_ACCOUNT_CREATION],
                );
                observe_actor(&mut finding, actor);
                finding.set("actor", json!(actor.name()));
                add(&mut finding);
                finding
            },
            |finding| add(finding),
        );
    }
}

/// Names the actor of a directory change as observables.
pub fn observe_actor(finding: &mut Finding, actor: &crate::event::Actor) {
    if let Some(user) = &actor.user {
        finding.observe("actor.user.name", ObservableKind::UserName, user);
    }
    if let Some(app) = &actor.app_id {
        finding.observe("actor.app_uid", ObservableKind::ResourceUid, app);
    }
    if let Some(sp) = &actor.service_principal_id {
        finding.observe("actor.app_uid", ObservableKind::ResourceUid, sp);
    }
    if let Some(ip) = &actor.ip {
        finding.observe("src_endpoint.ip", ObservableKind::IpAddress, ip);
    }
}

impl Detector for OauthAppCreated {
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
