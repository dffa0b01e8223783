//! `domain-federation`: a domain made federated, or a federated domain's trust changed.
//!
//! **What.** `Set domain authentication` that makes a domain federated, and `Set federation
//! settings on domain` (its issuer, signing certificates, sign-in addresses, MFA behaviour): high.
//! Critical when the domain was added or verified within `new_domain` (default 7 d) before: a
//! domain brought in to be federated, with the add and verify records as evidence. A level lower
//! when a known administrator made the change (an account that made administrative changes on 3
//! earlier days within 30, see `administrators` in the README), saying so. A domain made managed
//! (a move off AD FS) is not reported.
//!
//! **Why.** Whoever holds the signing key of a federated domain's identity provider can sign in as
//! any of the tenant's users, past passwords and MFA: APT29 added federation trusts, and a second
//! token-signing certificate, to keep access to tenants it had entered (Solorigate; AADInternals'
//! `ConvertTo-AADIntBackdoor` does it in one call).
//!
//! **Logic.** The domain is the target (a `Domain` resource, or the unified audit log's
//! `ObjectId`). `Set domain authentication` is reported unless its `LiveType` says the domain is
//! now `Managed`; Microsoft Graph's federation calls log it together with `Set federation settings
//! on domain`, and neither carries the issuer or the certificate, so both are read by activity
//! alone and one finding per domain per window (default 1 h) holds them. Domains added or
//! verified are remembered for `new_domain` (capped, `max_domains`).
//!
//! **False positives.** Planned token-signing certificate renewals pushed by an administrator
//! (`Update-MgDomainFederationSettings`) look the same (medium once the administrator is known):
//! allow-list the account that runs them (`allowlist.service_accounts`). A new subsidiary's domain
//! federated in its first week is critical by design.
//!
//! **ATT&CK.** T1484.002.

use ahash::RandomState;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::kit::{
    self, administrators, observe_actor, Meta, Parts, Report, Rule, Stage, StateStats,
};
use crate::attack::TRUST_MODIFICATION;
use crate::config::{Count, Duration};
use crate::event::{AuditActivity, DirectoryAudit, Event};
use crate::finding::{ObservableKind, Severity};
use crate::state::{BoundedMap, Expiring};
use crate::time::{Timestamp, DAY, HOUR};

kit::config! {
    "domain-federation";
    /// One finding per domain while changes keep coming within this window (default `1h`).
    window: Duration = Duration(HOUR),
    /// A domain added or verified this recently before its federation is a new domain
    /// (default `7d`).
    new_domain: Duration = Duration(7 * DAY),
    /// Domains added or verified, remembered at once (default 10000).
    max_domains: Count = Count::new(10_000),
}

/// The `domain-federation` detector.
pub type DomainFederation = kit::Keyed<FederationTrust>;

/// The rule of `domain-federation`: when each domain was last added or verified, and by which
/// records.
#[derive(Debug, Serialize, Deserialize)]
pub struct FederationTrust {
    added: BoundedMap<Added>,
}

/// The most add and verify records kept of one domain, for evidence.
const MOST_RECORDS: usize = 4;

/// A domain added or verified: when last, and the records that did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "SavedAdded")]
struct Added {
    time: Timestamp,
    records: Vec<String>,
}

/// An [`Added`] in a snapshot: its time alone in snapshots from before the records were kept.
#[derive(Deserialize)]
#[serde(untagged)]
enum SavedAdded {
    Time(Timestamp),
    Added {
        time: Timestamp,
        records: Vec<String>,
    },
}

impl From<SavedAdded> for Added {
    fn from(saved: SavedAdded) -> Self {
        match saved {
            SavedAdded::Time(time) => Added {
                time,
                records: Vec::new(),
            },
            SavedAdded::Added { time, records } => Added { time, records },
        }
    }
}

impl Expiring for Added {
    fn last_seen(&self) -> Timestamp {
        self.time
    }
}

impl Rule for FederationTrust {
    const META: Meta = Meta {
        id: "domain-federation",
        stage: Some(Stage::Privilege),
        attack: &[TRUST_MODIFICATION],
        severity: Severity::High,
    };
    type Config = Config;
    type Open = ();

    fn new(config: &Config, parts: &Parts) -> Self {
        FederationTrust {
            added: BoundedMap::new(config.max_domains.get(), parts.hasher),
        }
    }

    fn window(config: &Config) -> Timestamp {
        config.window.0
    }

    fn on_event(&mut self, config: &Config, event: &Event, report: &mut Report) {
        if let Event::DirectoryAudit(audit) = event {
            self.on_audit(config, audit, report);
        }
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.added.len(),
            evicted: self.added.evicted(),
            ..StateStats::default()
        }
    }

    fn reseed(&mut self, hasher: &RandomState) {
        self.added.reseed(hasher);
    }
}

/// The domain an audit record acts on.
fn domain(audit: &DirectoryAudit) -> Option<String> {
    let target = audit
        .targets
        .iter()
        .find(|target| {
            target
                .kind
                .as_deref()
                .is_some_and(|kind| kind.eq_ignore_ascii_case("Domain"))
        })
        .or(audit.targets.first())?;
    target
        .display_name
        .as_deref()
        .or(target.id.as_deref())
        .map(|name| name.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|name| !name.is_empty())
}

/// `LiveType` says the domain is now managed (and not federated).
fn made_managed(audit: &DirectoryAudit) -> bool {
    audit.new_value("LiveType").is_some_and(|value| {
        let value = value.to_ascii_lowercase();
        value.contains("managed") && !value.contains("federated")
    })
}

impl FederationTrust {
    fn on_audit(&mut self, config: &Config, audit: &DirectoryAudit, report: &mut Report) {
        if !audit.success || !audit.activity.on_domain() {
            return;
        }
        // A record that names no domain is still a trust changed (some pipelines drop targets).
        let named = domain(audit);
        let domain = named
            .clone()
            .unwrap_or_else(|| "an unnamed domain".to_owned());
        match audit.activity {
            AuditActivity::AddDomain | AuditActivity::VerifyDomain => {
                let Some(domain) = named else {
                    return;
                };
                let live_since = audit.time.saturating_sub(config.new_domain.0);
                let added = self
                    .added
                    .get_or_insert_with(&domain, live_since, || Added {
                        time: audit.time,
                        records: Vec::new(),
                    });
                added.time = added.time.max(audit.time);
                if added.records.len() < MOST_RECORDS && !added.records.contains(&audit.id) {
                    added.records.push(audit.id.clone());
                }
                return;
            }
            AuditActivity::SetDomainAuthentication if made_managed(audit) => return,
            _ => {}
        }
        let actor = &audit.actor;
        if report.allowlist.service_actor(actor) {
            return;
        }
        let added = named
            .as_deref()
            .and_then(|domain| self.added.get(domain))
            .filter(|added| {
                added.time <= audit.time && audit.time - added.time <= config.new_domain.0
            });
        let administrator = report.administrator();
        let key = match &named {
            Some(domain) => domain.clone(),
            None => format!("?|{}", actor.name()),
        };
        report.report(
            &key,
            audit.time,
            |uid| {
                let by = actor.name();
                let title = match (audit.activity, added.is_some()) {
                    (AuditActivity::SetDomainAuthentication, true) => {
                        format!("New domain {domain} made federated by {by}")
                    }
                    (AuditActivity::SetDomainAuthentication, false) => {
                        format!("Domain {domain} made federated by {by}")
                    }
                    (_, true) => {
                        format!("Federation settings of new domain {domain} changed by {by}")
                    }
                    (_, false) => format!("Federation settings of {domain} changed by {by}"),
                };
                let severity = administrators::graded(
                    if added.is_some() {
                        Severity::Critical
                    } else {
                        Severity::High
                    },
                    administrator,
                );
                let mut finding = FederationTrust::META.finding(uid, audit.time, title);
                finding.severity = severity;
                finding.message = format!(
                    "{} ran {} on {domain}{}: whoever holds the signing key of its identity \
                     provider can sign in as the tenant's users",
                    actor.name(),
                    audit.activity_name.trim().trim_end_matches('.'),
                    match added {
                        Some(added) => format!(
                            ", a domain added or verified at {}",
                            crate::time::format(added.time)
                        ),
                        None => String::new(),
                    }
                );
                administrators::note(&mut finding, administrator);
                observe_actor(&mut finding, actor);
                if let Some(domain) = &named {
                    finding.observe("domain", ObservableKind::Hostname, domain);
                    finding.set("domain", json!(domain));
                }
                finding.set("activities", json!([audit.activity_name.trim()]));
                if let Some(live_type) = audit.new_value("LiveType") {
                    finding.set("live_type", json!(live_type));
                }
                if let Some(added) = added {
                    finding.set("domain_added", json!(crate::time::format(added.time)));
                    for record in &added.records {
                        finding.add_evidence(record);
                    }
                }
                finding.add_evidence(&audit.id);
                finding
            },
            |finding| {
                finding.add_evidence(&audit.id);
                let name = audit.activity_name.trim();
                if let Some(serde_json::Value::Array(seen)) = finding.unmapped.get_mut("activities")
                {
                    if !seen.iter().any(|known| known == name) {
                        seen.push(json!(name));
                    }
                }
            },
        );
    }
}
