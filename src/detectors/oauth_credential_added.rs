//! `oauth-credential-added`: a secret or certificate is added to an application or service
//! principal.
//!
//! **What.** `Update application – Certificates and secrets management ` (en dash, trailing
//! space: matched in every dash, case, space and period variant) or `Add service principal
//! credentials`. Medium; high when it is the object's first credential (old `KeyDescription` is
//! `[]`), when the actor is not a known owner of the object, or when an application added it. A
//! level lower when a known administrator added it (an account that made administrative changes
//! on 3 earlier days within 30, see `administrators` in the README), saying so.
//!
//! **Why.** Midnight Blizzard added credentials to the OAuth applications it controlled, to
//! authenticate as them without the compromised user.
//!
//! **Logic.** The same activities log a credential's removal: a credential counts as added when
//! the new `KeyDescription` lists a `KeyIdentifier` the old one does not (a change that only
//! removes or reorders keys is no finding; a `KeyDescription` that lists no identifiers, or no old
//! value, is taken as an addition). Owners are learnt from the stream: the creator of an
//! application and everyone added with `Add owner to application/service principal`. One finding
//! per object per window (default 1 h).
//!
//! **False positives.** Secret rotation by the app's owners (medium, and not first credential);
//! allow-list rotation pipelines as service accounts or app ids.
//!
//! **ATT&CK.** T1098.001.

use super::kit::{
    self, administrators, observe_actor, Meta, Parts, Report, Rule, Stage, StateStats,
};
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

/// One key of a `KeyDescription` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Key {
    id: Option<String>,
    kind: Option<String>,
    name: Option<String>,
}

/// The keys a `KeyDescription` value lists (`["KeyIdentifier=…,KeyType=Password,KeyUsage=Verify,
/// DisplayName=…"]`, each element sometimes in its own brackets), or `None` when it is not such a
/// list (some exports hold only the secret's display name there).
fn keys(text: &str) -> Option<Vec<Key>> {
    let elements: Vec<String> = serde_json::from_str(text.trim()).ok()?;
    Some(elements.iter().map(|element| key(element)).collect())
}

/// One element of a `KeyDescription` list. `DisplayName` comes last and may hold commas and `=`
/// (a certificate's subject): it runs to the element's end.
fn key(element: &str) -> Key {
    let element = element.trim().trim_start_matches('[').trim_end_matches(']');
    let (fields, name) = match element.split_once("DisplayName=") {
        Some((fields, name)) => (fields, Some(name.trim().to_owned())),
        None => (element, None),
    };
    let mut key = Key {
        name,
        ..Key::default()
    };
    for part in fields.split(',') {
        match part
            .split_once('=')
            .map(|(field, value)| (field.trim(), value.trim()))
        {
            Some(("KeyIdentifier", id)) if !id.is_empty() => key.id = Some(id.to_owned()),
            Some(("KeyType", kind)) if !kind.is_empty() => key.kind = Some(kind.to_owned()),
            _ => {}
        }
    }
    key
}

/// The keys the change added: those of `new` whose identifier `old` does not list. Without an old
/// list, or for keys without an identifier, every new key counts as added. `None` when the new
/// value is not a list of keys.
fn added_keys(old: Option<&str>, new: Option<&str>) -> Option<Vec<Key>> {
    let new = keys(new?)?;
    let Some(old) = old.and_then(keys) else {
        return Some(new);
    };
    Some(
        new.into_iter()
            .filter(|key| {
                key.id.is_none()
                    || !old
                        .iter()
                        .any(|known| known.id.is_some() && known.id == key.id)
            })
            .collect(),
    )
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
        let old_keys = audit.old_value("KeyDescription");
        let added = added_keys(old_keys, audit.new_value("KeyDescription"));
        if added.as_ref().is_some_and(Vec::is_empty) {
            // A removal (or the same keys again): nothing was added.
            return;
        }
        let added = added.and_then(|mut keys| keys.pop()).unwrap_or_default();
        let (key_type, key_name) = (added.kind, added.name);
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
        let administrator = report.administrator();
        let severity = administrators::graded(
            if reasons.is_empty() {
                Severity::Medium
            } else {
                Severity::High
            },
            administrator,
        );
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
                administrators::note(&mut finding, administrator);
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
    use super::{added_keys, keys, Key};

    fn key(id: &str, kind: &str, name: &str) -> Key {
        Key {
            id: Some(id.into()),
            kind: Some(kind.into()),
            name: Some(name.into()),
        }
    }

    #[test]
    fn key_descriptions() {
        let text = r#"["KeyIdentifier=1d4c,KeyType=Password,KeyUsage=Verify,DisplayName=backup"]"#;
        assert_eq!(keys(text), Some(vec![key("1d4c", "Password", "backup")]));
        assert_eq!(keys("[]"), Some(vec![]));
        // Each element in its own brackets, and a certificate subject with commas and `=`.
        let text = r#"["[KeyIdentifier=7dff,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=a, O=b]"]"#;
        assert_eq!(
            keys(text),
            Some(vec![key("7dff", "AsymmetricX509Cert", "CN=a, O=b")])
        );
        // Only a display name (an export that writes the secret's name): not a list of keys.
        assert_eq!(keys(r#""Client Secret for API Access""#), None);
    }

    #[test]
    fn only_new_identifiers_are_added() {
        let one = r#"["KeyIdentifier=a,KeyType=Password,KeyUsage=Verify,DisplayName=prod"]"#;
        let two = r#"["KeyIdentifier=b,KeyType=Password,KeyUsage=Verify,DisplayName=next","KeyIdentifier=a,KeyType=Password,KeyUsage=Verify,DisplayName=prod"]"#;
        // Added, in any order.
        assert_eq!(
            added_keys(Some(one), Some(two)),
            Some(vec![key("b", "Password", "next")])
        );
        assert_eq!(
            added_keys(Some("[]"), Some(one)),
            Some(vec![key("a", "Password", "prod")])
        );
        // Removed, or listed again: nothing added.
        assert_eq!(added_keys(Some(two), Some(one)), Some(vec![]));
        assert_eq!(added_keys(Some(two), Some("[]")), Some(vec![]));
        assert_eq!(added_keys(Some(one), Some(one)), Some(vec![]));
        // No old list: every new key counts; no new list: unknown.
        assert_eq!(added_keys(None, Some(one)).map(|keys| keys.len()), Some(1));
        assert_eq!(
            added_keys(Some("not json"), Some(one)).map(|keys| keys.len()),
            Some(1)
        );
        assert_eq!(added_keys(Some(one), None), None);
        assert_eq!(added_keys(Some(one), Some(r#""a secret""#)), None);
    }
}
