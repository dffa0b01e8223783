//! `oauth-credential-added`: a secret or certificate is added to an application or service
//! principal.
//!
//! **What.** `Update application – Certificates and secrets management ` (en dash, trailing
//! space: matched in every dash, case, space and period variant) or `Add service principal
//! credentials`. Medium; high when it is the object's first credential (old `KeyDescription` is
//! `[]`), when the actor is not a known owner of the object, or when an application added it.
//!
//! **Why.** Midnight Blizzard added credentials to the OAuth applications it controlled, to
//! authenticate as them without the compromised user.
//!
//! **Logic.** Owners are learnt from the stream: the creator of an application and everyone added
//! with `Add owner to application/service principal`. One finding per object per window
//! (default 1 h).
//!
//! **False positives.** Secret rotation by the app's owners (medium, and not first credential);
//! allow-list rotation pipelines as service accounts or app ids.
//!
//! **ATT&CK.** T1098.001.

use super::kit::{self, observe_actor, Meta, Parts, Report, Rule, Stage, StateStats};
use crate::attack::ADDITIONAL_CLOUD_CREDENTIALS;
use crate::config::{Count, Duration};
use crate::event::{AuditActivity, AuditTarget, DirectoryAudit, Event};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::state::{BoundedMap, Expiring};
use crate::time::{Timestamp, HOUR};
use ahash::RandomState;
use serde::{Deserialize, Serialize};
use serde_json::json;

kit::config! {
    "oauth-credential-added";
    /// Credentials added to one object within this window update one finding (default `1h`).
    window: Duration = Duration(HOUR),
    /// Objects whose owners are remembered (default 100000).
    max_objects: Count = Count::new(100_000),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Owners {
    names: Vec<String>,
    last_seen: Timestamp,
}

impl Expiring for Owners {
    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }
}

/// Parses `KeyDescription` (`["KeyIdentifier=…,KeyType=Password,KeyUsage=Verify,DisplayName=…"]`)
/// into the key type and display name of the last key listed.
fn key_description(text: &str) -> (Option<String>, Option<String>) {
    let (mut kind, mut name) = (None, None);
    for part in text.split([',', '[', ']', '"']) {
        if let Some((key, value)) = part.split_once('=') {
            match key.trim() {
                "KeyType" => kind = Some(value.trim().to_owned()),
                "DisplayName" => name = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    (kind, name)
}

/// The `oauth-credential-added` detector.
pub type OauthCredentialAdded = kit::Keyed<CredentialAdded>;

/// The rule of `oauth-credential-added`: its tables.
#[derive(Debug, Serialize, Deserialize)]
pub struct CredentialAdded {
    owners: BoundedMap<Owners>,
}

impl Rule for CredentialAdded {
    const META: Meta = Meta {
        id: "oauth-credential-added",
        stage: Some(Stage::Foothold),
        attack: &[ADDITIONAL_CLOUD_CREDENTIALS],
        severity: Severity::Medium,
    };
    type Config = Config;
    type Open = ();

    fn new(config: &Config, parts: &Parts) -> Self {
        CredentialAdded {
            owners: BoundedMap::new(config.max_objects.get(), parts.hasher),
        }
    }

    fn window(config: &Config) -> Timestamp {
        config.window.0
    }

    fn on_event(&mut self, _: &Config, event: &Event, report: &mut Report) {
        if let Event::DirectoryAudit(audit) = event {
            self.on_audit(audit, report);
        }
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.owners.len(),
            evicted: self.owners.evicted(),
            ..StateStats::default()
        }
    }

    fn reseed(&mut self, hasher: &RandomState) {
        self.owners.reseed(hasher);
    }
}

impl CredentialAdded {
    fn learn_owner(&mut self, object: Option<&str>, owner: Option<&str>, time: Timestamp) {
        let (Some(object), Some(owner)) = (object, owner) else {
            return;
        };
        let entry = self
            .owners
            .get_or_insert_with(object, Timestamp::MIN, Owners::default);
        entry.last_seen = entry.last_seen.max(time);
        super::push_capped(&mut entry.names, owner.to_lowercase(), 64);
    }

    fn on_audit(&mut self, audit: &DirectoryAudit, report: &mut Report) {
        if !audit.success {
            return;
        }
        match audit.activity {
            AuditActivity::AddApplication | AuditActivity::AddServicePrincipal => {
                let object = audit.targets.first().and_then(|t| t.id.as_deref());
                self.learn_owner(object, Some(audit.actor.name()), audit.time);
                return;
            }
            AuditActivity::AddOwnerToApplication | AuditActivity::AddOwnerToServicePrincipal => {
                let owner = audit
                    .targets
                    .first()
                    .and_then(|t| t.user.as_deref().or(t.id.as_deref()));
                let object = audit.targets.get(1).and_then(|t| t.id.as_deref());
                self.learn_owner(object, owner, audit.time);
                return;
            }
            AuditActivity::ApplicationCredentials | AuditActivity::ServicePrincipalCredentials => {}
            _ => return,
        }
        let actor = &audit.actor;
        if report.allowlist.trusted_actor(actor) {
            return;
        }
        let target = audit
            .target_of_kind("Application")
            .or_else(|| audit.target_of_kind("ServicePrincipal"))
            .or(audit.targets.first());
        let object_id = target.and_then(|t| t.id.clone()).unwrap_or_default();
        let object_name = target.map(AuditTarget::label).unwrap_or_default();
        let app_id = audit.detail("AppId").unwrap_or("").to_owned();
        let new_keys = audit.new_value("KeyDescription").unwrap_or("");
        let old_keys = audit.old_value("KeyDescription");
        let (key_type, key_name) = key_description(new_keys);
        let mut reasons = Vec::new();
        if old_keys.is_some_and(|old| old.trim() == "[]") {
            reasons.push("first-credential");
        }
        let owners = self.owners.get(&object_id);
        if let (Some(owners), Some(user)) = (owners, actor.user.as_deref()) {
            if !owners.names.iter().any(|owner| owner == user) {
                reasons.push("actor-not-owner");
            }
        }
        if actor.is_app() {
            reasons.push("added-by-application");
        }
        let severity = if reasons.is_empty() {
            Severity::Medium
        } else {
            Severity::High
        };
        let add = |finding: &mut Finding| {
            finding.add_evidence(&audit.id);
            finding.severity = finding.severity.max(severity);
            for reason in &reasons {
                finding.add_to("reasons", json!(reason));
            }
            finding.add_to("credentials", json!({"key_type": key_type, "key_name": key_name, "by": actor.name(), "time": audit.time}));
            observe_actor(finding, actor);
        };
        report.report(
            &object_id,
            audit.time,
            |uid| {
                let mut finding = Finding::new(
                    CredentialAdded::META.id,
                    uid,
                    severity,
                    audit.time,
                    format!("Credential added to {object_name}"),
                    CredentialAdded::META.attack,
                );
                finding.message = format!(
                    "{} added a {} credential to {} {object_name} ({object_id})",
                    actor.name(),
                    key_type.as_deref().unwrap_or("new"),
                    target.and_then(|t| t.kind.as_deref()).unwrap_or("object"),
                );
                finding.observe("resources.uid", ObservableKind::ResourceUid, &object_id);
                finding.observe("resources.uid", ObservableKind::ResourceUid, &app_id);
                finding.set("object_id", json!(object_id));
                finding.set("object_name", json!(object_name));
                finding.set("app_id", json!(app_id));
                add(&mut finding);
                finding
            },
            |finding| add(finding),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_descriptions() {
        let text = r#"["KeyIdentifier=1d4c,KeyType=Password,KeyUsage=Verify,DisplayName=backup"]"#;
        assert_eq!(
            super::key_description(text),
            (Some("Password".into()), Some("backup".into()))
        );
        assert_eq!(super::key_description("[]"), (None, None));
    }
}
