//! `attack-chain`: one incident from spray to stolen mail.
//!
//! **What.** Findings of different stages that share entities within the horizon (default 14 d)
//! become one incident: spray (`password-spray`, `distributed-password-spray`,
//! `low-and-slow-spray`, `identity-protection-risk`) → compromised account (`spray-then-success`,
//! `single-factor-legacy-signin`) → OAuth foothold (`oauth-app-created`,
//! `oauth-credential-added`, `oauth-owner-added`, `oauth-consent-grant`, `multitenant-app`) →
//! privilege (`oauth-high-privilege-grant`, `app-privileged-directory-role`,
//! `exchange-impersonation-role`, `audit-tampering`, `domain-federation`, `mfa-tampering`,
//! `partner-trust`) → mail
//! collection (`mailbox-access-by-app`, `multi-mailbox-access`, `mail-access-throttled`). Emitted when a second stage links, updated
//! (same uid) as further stages arrive, once its stages rest on more than one event (one record
//! that is two stages at once, a foreign-tenant app's mail read, is no chain by itself). High;
//! critical from spray or compromise to mail.
//!
//! **Why.** No public rule links these stages; the analyst joins them by hand. The chain is the
//! intrusion.
//!
//! **Logic.** A union-find over entities: IPs, users, applications (under every id they go by:
//! application object id, service principal object id, app id — aliases learnt from the
//! directory audit stream: `ServicePrincipal.ObjectID` ↔ `ServicePrincipal.AppId`,
//! `additionalDetails.AppId` ↔ the target object, an acting app's app id ↔ its service principal)
//! and mailboxes. Each finding joins its entities: a spray its IPs and *targets* (one at a known
//! egress, whose failures may be its users' own, nothing); a compromise
//! bridges the target to the acting *user* when the sign-in was unprotected (a critical
//! `spray-then-success`, a sprayed or dormant account's single-factor sign-in), and to the sprays
//! it names (`unmapped.spray_findings`: the first-try hit from a spray's address, whose user the
//! spray never targeted, joins that spray's incident); foothold and
//! privilege findings join their actor and apps; collection joins the app (the mailboxes it read
//! are shown, but join nothing: two apps reading the same executives are two actors). A
//! sprayed user's own app work therefore links only once the account is shown compromised. Incidents idle for longer than the horizon are
//! dropped; state is capped (`max_entities`) and pruning for the cap is counted.
//!
//! **False positives.** A compromised account's owner doing ordinary app administration links
//! into the incident: the stages and evidence show what joined and why.
//!
//! **ATT&CK.** The union of the linked findings' techniques.

use std::collections::BTreeMap;

use ahash::{AHashMap, RandomState};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::kit::{self, Meta, Parts, Registrable, Stage};
use super::{Context, Detector, StateStats};
use crate::attack::Technique;
use crate::config::{Count, Duration};
use crate::event::{AuditActivity, DirectoryAudit, Event};
use crate::finding::{stable_uid, Activity, Finding, ObservableKind, Severity};
use crate::time::{self, Timestamp, DAY};

/// The detector id.
pub const ID: &str = "attack-chain";

kit::config! {
    "attack-chain";
    /// Findings link while their incident has been active within this horizon (default `14d`).
    horizon: Duration = Duration(14 * DAY),
    /// Entities (and aliases) tracked at once (default 200000); beyond it the oldest incidents
    /// are dropped, and counted.
    max_entities: Count = Count::new(200_000),
}

/// Whether a compromise finding shows the account in the actor's hands.
fn bridges(finding: &Finding) -> bool {
    match finding.detector {
        "spray-then-success" => finding.severity >= Severity::Critical,
        "single-factor-legacy-signin" => finding.severity >= Severity::Medium,
        _ => false,
    }
}

/// The entity keys a finding names, by stage (those that join: [`joins`]). Across tenants only applications join (an app id
/// is the same application in every tenant; addresses, users and mailboxes are each tenant's own).
fn entities(finding: &Finding, stage: Stage, across: bool) -> Vec<(String, Option<String>)> {
    let mut keys = entities_within(finding, stage);
    if across {
        keys.retain(|(key, _)| key.starts_with("app:"));
    }
    keys
}

/// Whether an entity joins the findings that name it into one incident. A mailbox does not: it
/// is what was read, not who read it (an intrusion's app and a backup product both read the
/// executives' mailboxes), so it is shown in the incident, never a reason for it.
fn joins(key: &str) -> bool {
    !key.starts_with("mailbox:")
}

/// The entity keys a finding names within its tenant, by stage.
fn entities_within(finding: &Finding, stage: Stage) -> Vec<(String, Option<String>)> {
    let mut keys = Vec::new();
    // A spray at a known egress (an office NAT's lockout wave, as likely as an insider) names
    // its users' own failures as much as anyone's: it joins no incident.
    if stage == Stage::Spray && finding.unmapped.get("egress") == Some(&Value::Bool(true)) {
        return keys;
    }
    // A spray is also joined by its own uid, and a compromise that bridges by the sprays behind
    // it: a password proven from a spray's address by a user it never targeted (the first-try hit)
    // joins that spray's incident.
    match stage {
        Stage::Spray => keys.push((format!("finding:{}", finding.uid), None)),
        Stage::Compromise if bridges(finding) => {
            let sprays = finding
                .unmapped
                .get("spray_findings")
                .and_then(serde_json::Value::as_array);
            for uid in sprays
                .into_iter()
                .flatten()
                .filter_map(serde_json::Value::as_str)
            {
                keys.push((format!("finding:{uid}"), None));
            }
        }
        _ => {}
    }
    for observable in &finding.observables {
        let value = observable.value.to_lowercase();
        let key = match (stage, observable.name.as_ref(), observable.kind) {
            (Stage::Spray, "src_endpoint.ip", _) => format!("ip:{value}"),
            (Stage::Spray, "user.name", _) => format!("target:{value}"),
            // A compromise bridges the sprayed target and the acting user when the sign-in was
            // unprotected (critical spray-then-success; a sprayed or dormant account's
            // single-factor sign-in). A sprayed user's ordinary MFA sign-in is no stage at all.
            (Stage::Compromise, "user.name", _) if bridges(finding) => {
                keys.push((format!("target:{value}"), None));
                format!("user:{value}")
            }
            (Stage::Foothold | Stage::Privilege, "actor.user.name" | "user.name", _) => {
                format!("user:{value}")
            }
            (
                Stage::Foothold | Stage::Privilege | Stage::Collection,
                "actor.app_uid" | "resources.uid",
                _,
            ) => {
                format!("app:{value}")
            }
            (Stage::Privilege | Stage::Collection, "mailbox", ObservableKind::EmailAddress) => {
                format!("mailbox:{value}")
            }
            _ => continue,
        };
        keys.push((key, Some(observable.value.clone())));
    }
    keys
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    uid: String,
    detector: String,
    stage: Stage,
    severity: Severity,
    first_seen: Timestamp,
    time: Timestamp,
    title: String,
    evidence: Vec<String>,
    techniques: Vec<String>,
    keys: Vec<String>,
    observed: Vec<(String, String, ObservableKind)>,
    /// The tenant whose finding it is (kept across tenants only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Incident {
    members: Vec<Member>,
    first_seen: Timestamp,
    last_seen: Timestamp,
    emitted_stages: u8,
    emitted_severity: Option<Severity>,
    /// Members joined or changed since the incident was last emitted.
    dirty: bool,
    uid: String,
}

impl Incident {
    fn stages(&self) -> u8 {
        self.members
            .iter()
            .fold(0, |bits, member| bits | member.stage.bit())
    }

    /// Every member rests on the same one event (a foreign-tenant app's mail read is a foothold
    /// and a collection at once): that is one action, not a chain of them.
    fn one_event(&self) -> bool {
        let mut events = self.members.iter().flat_map(|member| &member.evidence);
        let first = events.next();
        first.is_some() && events.all(|event| Some(event) == first)
    }

    /// The tenants its members come from (none within one tenant), in order.
    fn tenants(&self) -> Vec<&str> {
        let mut tenants: Vec<&str> = self
            .members
            .iter()
            .filter_map(|m| m.tenant.as_deref())
            .collect();
        tenants.sort_unstable();
        tenants.dedup();
        tenants
    }
}

const MAX_MEMBERS: usize = 500;

/// The `attack-chain` detector.
#[derive(Debug)]
pub struct AttackChain {
    config: Config,
    hasher: RandomState,
    index: AHashMap<String, usize>,
    parent: Vec<usize>,
    incidents: BTreeMap<usize, Incident>,
    aliases: Vec<(String, String, Timestamp)>,
    pruned: u64,
    last_prune: Timestamp,
    /// The engine's chain across tenants: it links only through apps, and reports only
    /// incidents that span two tenants or more (each tenant's own chain reports the rest).
    across: bool,
}

impl Registrable for AttackChain {
    const META: Meta = Meta {
        id: ID,
        stage: None,
        attack: &[],
        severity: Severity::High,
    };
    type Config = Config;

    fn build(config: Config, parts: &Parts) -> Self {
        AttackChain {
            config,
            hasher: parts.hasher.clone(),
            index: AHashMap::with_hasher(parts.hasher.clone()),
            parent: Vec::new(),
            incidents: BTreeMap::new(),
            aliases: Vec::new(),
            pruned: 0,
            last_prune: Timestamp::MIN,
            across: false,
        }
    }
}

/// The engine's one chain across tenants (`tenants.link_across`), with attack-chain's settings,
/// or `None` when attack-chain is off.
pub fn across_tenants(config: &Config, parts: &Parts) -> Option<super::Registered> {
    use kit::Settings as _;
    config.enabled().then(|| super::Registered {
        detector: Box::new(AttackChain {
            across: true,
            ..AttackChain::build(config.clone(), parts)
        }),
        severity: config.severity(),
    })
}

impl AttackChain {
    fn node(&mut self, key: &str) -> usize {
        if let Some(node) = self.index.get(key) {
            return *node;
        }
        let node = self.parent.len();
        self.parent.push(node);
        self.index.insert(key.to_owned(), node);
        node
    }

    fn find(&mut self, mut node: usize) -> usize {
        let mut root = node;
        while let Some(&up) = self.parent.get(root) {
            if up == root {
                break;
            }
            root = up;
        }
        // Path compression.
        while let Some(&up) = self.parent.get(node) {
            if up == root {
                break;
            }
            if let Some(slot) = self.parent.get_mut(node) {
                *slot = root;
            }
            node = up;
        }
        root
    }

    /// Joins two nodes; returns the new root.
    fn union(&mut self, a: usize, b: usize) -> usize {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        let (keep, gone) = match (self.incidents.get(&ra), self.incidents.get(&rb)) {
            (Some(x), Some(y))
                if y.first_seen < x.first_seen
                    || (y.first_seen == x.first_seen && y.uid < x.uid) =>
            {
                (rb, ra)
            }
            (None, Some(_)) => (rb, ra),
            _ => (ra, rb),
        };
        if let Some(slot) = self.parent.get_mut(gone) {
            *slot = keep;
        }
        if let Some(merged) = self.incidents.remove(&gone) {
            match self.incidents.get_mut(&keep) {
                Some(incident) => {
                    incident.first_seen = incident.first_seen.min(merged.first_seen);
                    incident.last_seen = incident.last_seen.max(merged.last_seen);
                    incident.emitted_stages |= merged.emitted_stages;
                    incident.dirty |= merged.dirty;
                    incident.emitted_severity =
                        incident.emitted_severity.max(merged.emitted_severity);
                    for member in merged.members {
                        if incident.members.len() < MAX_MEMBERS {
                            incident.members.push(member);
                        }
                    }
                    incident
                        .members
                        .sort_by(|a, b| (a.first_seen, &a.uid).cmp(&(b.first_seen, &b.uid)));
                }
                None => {
                    self.incidents.insert(keep, merged);
                }
            }
        }
        keep
    }

    fn learn_aliases(&mut self, audit: &DirectoryAudit, context: &mut Context) {
        if audit.activity == AuditActivity::Other {
            return;
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut pair = |a: Option<&str>, b: Option<&str>| {
            if let (Some(a), Some(b)) = (a, b) {
                if !a.is_empty() && !b.is_empty() && !a.eq_ignore_ascii_case(b) {
                    pairs.push((
                        format!("app:{}", a.to_lowercase()),
                        format!("app:{}", b.to_lowercase()),
                    ));
                }
            }
        };
        pair(
            audit.new_value("ServicePrincipal.ObjectID"),
            audit.new_value("ServicePrincipal.AppId"),
        );
        pair(
            audit.actor.app_id.as_deref(),
            audit.actor.service_principal_id.as_deref(),
        );
        let object = match audit.activity {
            AuditActivity::AddOwnerToApplication | AuditActivity::AddOwnerToServicePrincipal => {
                audit.targets.get(1).and_then(|t| t.id.as_deref())
            }
            AuditActivity::AddApplication
            | AuditActivity::AddServicePrincipal
            | AuditActivity::ApplicationCredentials
            | AuditActivity::ServicePrincipalCredentials
            | AuditActivity::UpdateApplication
            | AuditActivity::UpdateServicePrincipal
            | AuditActivity::ConsentToApplication
            | AuditActivity::AddDelegatedPermissionGrant
            | AuditActivity::RemoveServicePrincipal => {
                audit.targets.first().and_then(|t| t.id.as_deref())
            }
            // Not an application's object: a role, a user, a domain, a policy, a partner.
            _ => None,
        };
        pair(object, audit.detail("AppId").or(audit.new_value("AppId")));
        for (a, b) in pairs {
            let (na, nb) = (self.node(&a), self.node(&b));
            // Known already: an app acting again and again (a provisioning app's every change)
            // would otherwise fill the aliases with one pair. Once its alias ages out of the
            // horizon, the next record learns it again.
            if self.find(na) == self.find(nb) {
                continue;
            }
            let root = self.union(na, nb);
            self.aliases.push((a, b, audit.time));
            self.evaluate(root, context);
        }
    }

    fn on_member(&mut self, finding: &Finding, stage: Stage, context: &mut Context) {
        let keys = entities(finding, stage, self.across);
        let joining: Vec<&String> = keys
            .iter()
            .map(|(key, _)| key)
            .filter(|key| joins(key))
            .collect();
        if joining.is_empty() {
            return;
        }
        let nodes: Vec<usize> = joining.iter().map(|key| self.node(key)).collect();
        let Some(&anchor) = nodes.first() else { return };
        let mut root = self.find(anchor);
        for &node in nodes.iter().skip(1) {
            root = self.union(root, node);
        }
        let observed = keys
            .iter()
            .filter_map(|(key, value)| {
                let value = value.clone()?;
                let kind = match key.split_once(':').map(|(kind, _)| kind) {
                    Some("ip") => ObservableKind::IpAddress,
                    Some("mailbox") => ObservableKind::EmailAddress,
                    Some("app") => ObservableKind::ResourceUid,
                    _ => ObservableKind::UserName,
                };
                Some((key.clone(), value, kind))
            })
            .collect();
        let member = Member {
            uid: finding.uid.clone(),
            detector: finding.detector.to_owned(),
            stage,
            severity: finding.severity,
            first_seen: finding.first_seen,
            time: finding.time,
            title: finding.title.clone(),
            evidence: finding.evidence.iter().take(50).cloned().collect(),
            techniques: finding
                .techniques
                .iter()
                .map(|t| t.uid.to_owned())
                .collect(),
            keys: joining.into_iter().cloned().collect(),
            observed,
            tenant: finding.tenant.as_deref().map(str::to_owned),
        };
        let across = self.across;
        let incident = self.incidents.entry(root).or_insert_with(|| Incident {
            members: Vec::new(),
            first_seen: member.first_seen,
            last_seen: member.time,
            emitted_stages: 0,
            emitted_severity: None,
            dirty: false,
            uid: if across {
                stable_uid(&[ID, "across tenants", &member.uid])
            } else {
                stable_uid(&[ID, &member.uid])
            },
        });
        incident.first_seen = incident.first_seen.min(member.first_seen);
        incident.last_seen = incident.last_seen.max(member.time);
        // An update of a finding already in the incident replaces it.
        incident.dirty = true;
        let full = incident.members.len() >= MAX_MEMBERS;
        match incident.members.iter_mut().find(|m| m.uid == member.uid) {
            Some(existing) => *existing = member,
            None if !full => incident.members.push(member),
            None => {}
        }
        self.evaluate(root, context);
    }

    fn evaluate(&mut self, root: usize, context: &mut Context) {
        let Some(incident) = self.incidents.get_mut(&root) else {
            return;
        };
        let stages = incident.stages();
        if stages.count_ones() < 2
            || incident.one_event()
            || (self.across && incident.tenants().len() < 2)
        {
            return;
        }
        let severity = severity_of(stages);
        let grew = stages & !incident.emitted_stages != 0
            || incident
                .emitted_severity
                .is_none_or(|emitted| severity > emitted);
        if !grew {
            return;
        }
        let activity = if incident.emitted_stages == 0 {
            Activity::Create
        } else {
            Activity::Update
        };
        incident.emitted_stages |= stages;
        incident.emitted_severity = Some(severity);
        incident.dirty = false;
        context.emit(incident_finding(incident, severity, activity));
    }

    fn prune(&mut self, watermark: Timestamp, context: &mut Context) {
        let horizon = self.config.horizon.0;
        let live_since = watermark.saturating_sub(horizon);
        let mut incidents = Vec::new();
        for mut incident in std::mem::take(&mut self.incidents).into_values() {
            if incident.last_seen >= live_since {
                incidents.push(incident);
            } else if incident.emitted_stages != 0 && incident.dirty {
                // An incident going idle past the horizon is final: emit what it learnt since.
                incident.dirty = false;
                let severity = severity_of(incident.stages());
                context.emit(incident_finding(&incident, severity, Activity::Update));
            }
        }
        self.aliases.retain(|(_, _, time)| *time >= live_since);
        // Over the cap: drop the incidents idle longest, and count them.
        let keys =
            |incident: &Incident| -> usize { incident.members.iter().map(|m| m.keys.len()).sum() };
        let mut held: usize = incidents.iter().map(keys).sum::<usize>() + 2 * self.aliases.len();
        incidents.sort_by(|a, b| (b.last_seen, &a.uid).cmp(&(a.last_seen, &b.uid)));
        let mut aliases_dropped = 0;
        while held > self.config.max_entities.get() {
            if let Some(mut dropped) = incidents.pop() {
                held -= keys(&dropped);
                self.pruned += 1;
                if dropped.emitted_stages != 0 && dropped.dirty {
                    // Dropped for the cap: what it learnt since it was last emitted still goes out.
                    dropped.dirty = false;
                    let severity = severity_of(dropped.stages());
                    context.emit(incident_finding(&dropped, severity, Activity::Update));
                }
            } else if aliases_dropped < self.aliases.len() {
                // The oldest aliases first.
                aliases_dropped += 1;
                held -= 2;
                self.pruned += 1;
            } else {
                break;
            }
        }
        self.aliases.drain(..aliases_dropped);
        self.rebuild(incidents);
        self.last_prune = watermark;
    }

    /// Rebuilds the union-find from the aliases and the given incidents (after pruning or a
    /// restore: the index is derived data).
    fn rebuild(&mut self, mut incidents: Vec<Incident>) {
        self.index = AHashMap::with_hasher(self.hasher.clone());
        self.parent.clear();
        let aliases = std::mem::take(&mut self.aliases);
        for (a, b, _) in &aliases {
            let (na, nb) = (self.node(a), self.node(b));
            self.union(na, nb);
        }
        self.aliases = aliases;
        incidents.sort_by(|a, b| (a.first_seen, &a.uid).cmp(&(b.first_seen, &b.uid)));
        for incident in incidents {
            let keys: Vec<String> = incident
                .members
                .iter()
                .flat_map(|m| m.keys.iter())
                // Snapshots of earlier versions kept mailboxes among the keys.
                .filter(|key| joins(key))
                .cloned()
                .collect();
            let nodes: Vec<usize> = keys.iter().map(|key| self.node(key)).collect();
            let Some(&anchor) = nodes.first() else {
                continue;
            };
            let mut root = self.find(anchor);
            for &node in nodes.iter().skip(1) {
                root = self.union(root, node);
            }
            match self.incidents.remove(&root) {
                // Two live incidents that now share an entity: they were one already.
                Some(mut other) => {
                    other.members.extend(incident.members);
                    other.first_seen = other.first_seen.min(incident.first_seen);
                    other.last_seen = other.last_seen.max(incident.last_seen);
                    other.emitted_stages |= incident.emitted_stages;
                    self.incidents.insert(root, other);
                }
                None => {
                    self.incidents.insert(root, incident);
                }
            }
        }
    }
}

fn severity_of(stages: u8) -> Severity {
    let early = stages & (Stage::Spray.bit() | Stage::Compromise.bit()) != 0;
    if early && stages & Stage::Collection.bit() != 0 {
        Severity::Critical
    } else {
        Severity::High
    }
}

fn incident_finding(incident: &Incident, severity: Severity, activity: Activity) -> Finding {
    let mut members: Vec<&Member> = incident.members.iter().collect();
    members.sort_by(|a, b| (a.stage, a.first_seen, &a.uid).cmp(&(b.stage, b.first_seen, &b.uid)));
    let mut stages = Vec::new();
    let mut techniques: Vec<Technique> = Vec::new();
    let mut score = 0u32;
    let mut names = Vec::new();
    for stage in Stage::ALL {
        let in_stage: Vec<&&Member> = members.iter().filter(|m| m.stage == stage).collect();
        if in_stage.is_empty() {
            continue;
        }
        names.push(stage.name());
        let top = in_stage
            .iter()
            .map(|m| m.severity)
            .max()
            .unwrap_or(Severity::Low);
        score += stage.weight() * u32::from(top.id()) / 5;
        let mut entities: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for member in &in_stage {
            for uid in &member.techniques {
                let known = crate::attack::ALL.iter().find(|t| t.uid == uid.as_str());
                if let Some(technique) = known {
                    if !techniques.contains(technique) {
                        techniques.push(*technique);
                    }
                }
            }
            for (key, value, _) in &member.observed {
                let kind = key.split_once(':').map_or("entity", |(kind, _)| kind);
                let list = entities.entry(kind).or_default();
                if list.len() < 100 && !list.contains(&value.as_str()) {
                    list.push(value);
                }
            }
        }
        stages.push(json!({
            "stage": stage.name(),
            "first_seen": in_stage.iter().map(|m| m.first_seen).min(),
            "last_seen": in_stage.iter().map(|m| m.time).max(),
            "entities": entities,
            "findings": in_stage.iter().map(|m| {
                let mut listed = json!({
                    "uid": m.uid, "detector": m.detector, "severity": m.severity, "title": m.title,
                    "time": m.time, "evidence": m.evidence,
                });
                if let (Some(tenant), Some(object)) = (&m.tenant, listed.as_object_mut()) {
                    object.insert("tenant".into(), json!(tenant));
                }
                listed
            }).collect::<Vec<_>>(),
        }));
    }
    // The entity graph: every entity is a node; a finding joins its entities (first to the rest).
    let mut nodes: Vec<Value> = Vec::new();
    let mut seen_nodes: Vec<&str> = Vec::new();
    let mut edges: Vec<Value> = Vec::new();
    for member in &members {
        for (key, value, _) in &member.observed {
            if !seen_nodes.contains(&key.as_str()) && nodes.len() < 300 {
                seen_nodes.push(key);
                let kind = key.split_once(':').map_or("entity", |(kind, _)| kind);
                nodes.push(json!({"id": key, "kind": kind, "label": value}));
            }
        }
        let mut keys = member.observed.iter().map(|(key, _, _)| key);
        if let Some(first) = keys.next() {
            for other in keys {
                if edges.len() < 500 {
                    edges.push(json!({"from": first, "to": other, "detector": member.detector, "finding": member.uid}));
                }
            }
        }
    }
    let mut finding = Finding::new(
        ID,
        incident.uid.clone(),
        severity,
        incident.last_seen,
        format!("Attack chain: {}", names.join(" → ")),
        &techniques,
    );
    finding.activity = activity;
    finding.first_seen = incident.first_seen;
    finding.message = format!(
        "{} linked stages ({}) across {} findings between {} and {}",
        names.len(),
        names.join(" → "),
        members.len(),
        time::format(incident.first_seen),
        time::format(incident.last_seen)
    );
    // Observables are capped: list the stages that name the actor's own footprint (the account
    // it used, its apps, the mailboxes it read) before the spray's many IPs and targets, so a
    // large spray cannot push them out.
    let mut by_importance: Vec<&&Member> = members.iter().collect();
    by_importance.sort_by_key(|member| std::cmp::Reverse(member.stage));
    for member in by_importance {
        for (_, value, kind) in &member.observed {
            let name = match kind {
                ObservableKind::IpAddress => "src_endpoint.ip",
                ObservableKind::EmailAddress => "mailbox",
                ObservableKind::ResourceUid => "resources.uid",
                _ => "user.name",
            };
            finding.observe(name, *kind, value);
        }
        for id in &member.evidence {
            finding.add_evidence(id);
        }
    }
    finding.set("stages", json!(stages));
    finding.set("stage_names", json!(names));
    finding.set("risk_score", json!(score.min(100)));
    finding.set(
        "time_span_ms",
        json!(incident.last_seen - incident.first_seen),
    );
    finding.set("graph", json!({"nodes": nodes, "edges": edges}));
    let tenants = incident.tenants();
    if !tenants.is_empty() {
        // Across tenants: the finding belongs to no one tenant, and names each.
        finding.title = format!("Cross-tenant attack chain: {}", names.join(" → "));
        finding.message = format!("{} across tenants {}", finding.message, tenants.join(", "));
        finding.set("tenants", json!(tenants));
    }
    finding
}

/// The chain's state in a snapshot: incidents and aliases; the index is rebuilt on load.
#[derive(Serialize, Deserialize)]
struct SavedChain {
    incidents: Vec<Incident>,
    aliases: Vec<(String, String, Timestamp)>,
    pruned: u64,
    last_prune: Timestamp,
}

impl Detector for AttackChain {
    fn id(&self) -> &'static str {
        ID
    }

    fn save(&self) -> Result<Value, String> {
        let saved = SavedChain {
            incidents: self.incidents.values().cloned().collect(),
            aliases: self.aliases.clone(),
            pruned: self.pruned,
            last_prune: self.last_prune,
        };
        serde_json::to_value(saved).map_err(|error| error.to_string())
    }

    fn load(&mut self, state: Value, hasher: &RandomState) -> Result<(), String> {
        let saved: SavedChain = serde_json::from_value(state).map_err(|error| error.to_string())?;
        self.hasher = hasher.clone();
        self.aliases = saved.aliases;
        self.pruned = saved.pruned;
        self.last_prune = saved.last_prune;
        self.rebuild(saved.incidents);
        Ok(())
    }

    fn on_event(&mut self, event: &Event, context: &mut Context) {
        if let Event::DirectoryAudit(audit) = event {
            if audit.success {
                self.learn_aliases(audit, context);
            }
        }
    }

    fn reads_findings(&self) -> bool {
        true
    }

    fn on_finding(&mut self, finding: &Finding, context: &mut Context) {
        if finding.detector == ID {
            return;
        }
        if let Some(stage) = super::stage_of(finding.detector) {
            self.on_member(finding, stage, context);
            // Between sweeps too, the index never holds more than twice the cap.
            if self.index.len() > 2 * self.config.max_entities.get() {
                self.prune(context.watermark, context);
            }
        }
    }

    fn on_watermark(&mut self, context: &mut Context) {
        let over_cap = self.index.len() > self.config.max_entities.get();
        if over_cap || context.watermark.saturating_sub(self.last_prune) >= DAY {
            self.prune(context.watermark, context);
        }
    }

    fn flush(&mut self, context: &mut Context) {
        // Incidents whose members grew without a new stage get one final update.
        let roots: Vec<usize> = self.incidents.keys().copied().collect();
        for root in roots {
            let Some(incident) = self.incidents.get_mut(&root) else {
                continue;
            };
            if incident.emitted_stages != 0 && incident.dirty {
                incident.dirty = false;
                let severity = severity_of(incident.stages());
                context.emit(incident_finding(incident, severity, Activity::Update));
            }
        }
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.index.len(),
            evicted: self.pruned,
            open_findings: self
                .incidents
                .values()
                .filter(|i| i.emitted_stages != 0)
                .count(),
            ..StateStats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spray(egress: bool) -> Finding {
        let mut finding = Finding::new(
            "password-spray",
            "spray".into(),
            Severity::Medium,
            0,
            "Password spray".into(),
            &[],
        );
        finding.observe("src_endpoint.ip", ObservableKind::IpAddress, "203.0.113.9");
        finding.observe("user.name", ObservableKind::UserName, "ceo@contoso.com");
        finding.set("egress", json!(egress));
        finding
    }

    #[test]
    fn a_spray_at_a_known_egress_joins_nothing() {
        let keys = |finding: &Finding| -> Vec<String> {
            entities(finding, Stage::Spray, false)
                .into_iter()
                .map(|(key, _)| key)
                .collect()
        };
        assert_eq!(
            keys(&spray(false)),
            ["finding:spray", "ip:203.0.113.9", "target:ceo@contoso.com"]
        );
        assert!(keys(&spray(true)).is_empty());
    }

    #[test]
    fn mailboxes_are_shown_not_joined() {
        assert!(!joins("mailbox:ceo@contoso.com"));
        assert!(joins("app:5f0c3a1e-7b2d-4c9e-8a61-3d2e1f0a9b7c"));
    }
}
