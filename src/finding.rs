//! Findings and their one output form: the OCSF Detection Finding (class 2004).
//!
//! A finding has a stable `uid`: when a detector learns more about the same activity (more users
//! sprayed, another success) it emits the finding again with the same uid and
//! `activity_id` 2 (Update), so consumers keep the latest version per uid.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::attack::Technique;
use crate::time::Timestamp;

/// OCSF schema version the findings follow.
pub const OCSF_VERSION: &str = "1.3.0";

/// Severity, as OCSF `severity_id` 1–5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 1.
    Informational,
    /// 2.
    Low,
    /// 3.
    Medium,
    /// 4.
    High,
    /// 5.
    Critical,
}

impl Severity {
    /// OCSF `severity_id`.
    pub fn id(self) -> u8 {
        match self {
            Severity::Informational => 1,
            Severity::Low => 2,
            Severity::Medium => 3,
            Severity::High => 4,
            Severity::Critical => 5,
        }
    }

    /// One level lower (informational stays informational).
    pub fn lower(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            Severity::Low | Severity::Informational => Severity::Informational,
        }
    }

    /// OCSF `severity` caption.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

/// OCSF `activity_id` of a Detection Finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activity {
    /// 1: first emitted.
    Create,
    /// 2: the same finding, with more evidence.
    Update,
}

impl Activity {
    fn id(self) -> u8 {
        match self {
            Activity::Create => 1,
            Activity::Update => 2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Activity::Create => "Create",
            Activity::Update => "Update",
        }
    }
}

/// An entity named by a finding (OCSF `observables[]`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Observable {
    /// Where in the finding it appears, e.g. `src_endpoint.ip`, `user.name`.
    pub name: Cow<'static, str>,
    /// The kind of entity.
    pub kind: ObservableKind,
    /// The value.
    pub value: String,
}

/// OCSF observable types that findings use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ObservableKind {
    /// 1 Hostname (domains).
    Hostname,
    /// 2 IP Address.
    IpAddress,
    /// 4 User Name (user principal names).
    UserName,
    /// 5 Email Address (mailboxes).
    EmailAddress,
    /// 10 Resource UID (app ids, service principal ids, tenant ids).
    ResourceUid,
    /// 99 Other (ASNs, user agents).
    Other,
}

impl ObservableKind {
    fn id(self) -> u8 {
        match self {
            ObservableKind::Hostname => 1,
            ObservableKind::IpAddress => 2,
            ObservableKind::UserName => 4,
            ObservableKind::EmailAddress => 5,
            ObservableKind::ResourceUid => 10,
            ObservableKind::Other => 99,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ObservableKind::Hostname => "Hostname",
            ObservableKind::IpAddress => "IP Address",
            ObservableKind::UserName => "User Name",
            ObservableKind::EmailAddress => "Email Address",
            ObservableKind::ResourceUid => "Resource UID",
            ObservableKind::Other => "Other",
        }
    }
}

/// A finding, before serialization to OCSF. (Its own serde form, [`SavedFinding`], is for
/// snapshots.)
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Stable id: the same activity updated keeps it.
    pub uid: String,
    /// The detector id (`password-spray`).
    pub detector: &'static str,
    /// One-line title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Create or Update.
    pub activity: Activity,
    /// Event time of the latest event the finding covers.
    pub time: Timestamp,
    /// Event time of the first event it covers.
    pub first_seen: Timestamp,
    /// A sentence for the analyst.
    pub message: String,
    /// ATT&CK techniques.
    pub techniques: Vec<Technique>,
    /// Entities.
    pub observables: Vec<Observable>,
    /// Ids of the events that caused it.
    pub evidence: Vec<String>,
    /// The detector's own figures.
    pub unmapped: Map<String, Value>,
    /// The tenant the finding belongs to (set by the engine as the finding leaves; `None` for
    /// events that name no tenant). OCSF `cloud.account.uid`.
    pub tenant: Option<std::sync::Arc<str>>,
}

/// Most observables and evidence ids a finding lists.
pub const MAX_LISTED: usize = 200;

impl Finding {
    /// A new finding (activity Create) covering one event at `time`.
    pub fn new(
        detector: &'static str,
        uid: String,
        severity: Severity,
        time: Timestamp,
        title: String,
        techniques: &[Technique],
    ) -> Finding {
        Finding {
            uid,
            detector,
            message: title.clone(),
            title,
            severity,
            activity: Activity::Create,
            time,
            first_seen: time,
            techniques: techniques.to_vec(),
            observables: Vec::new(),
            evidence: Vec::new(),
            unmapped: Map::new(),
            tenant: None,
        }
    }

    /// Names an entity (once; at most [`MAX_LISTED`]).
    pub fn observe(&mut self, name: &'static str, kind: ObservableKind, value: &str) {
        if value.is_empty() || self.observables.len() >= MAX_LISTED {
            return;
        }
        if !self
            .observables
            .iter()
            .any(|o| o.name == name && o.value == value)
        {
            self.observables.push(Observable {
                name: Cow::Borrowed(name),
                kind,
                value: value.to_owned(),
            });
        }
    }

    /// Lists an evidence event id (once; at most [`MAX_LISTED`]).
    pub fn add_evidence(&mut self, id: &str) {
        if self.evidence.len() < MAX_LISTED && !self.evidence.iter().any(|e| e == id) {
            self.evidence.push(id.to_owned());
        }
    }

    /// Sets one of the detector's figures.
    pub fn set(&mut self, key: &str, value: Value) {
        self.unmapped.insert(key.to_owned(), value);
    }

    /// Adds a value to a list among the detector's figures (once; at most [`MAX_LISTED`]).
    pub fn add_to(&mut self, key: &str, value: Value) {
        let entry = self
            .unmapped
            .entry(key.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = entry {
            if items.len() < MAX_LISTED && !items.contains(&value) {
                items.push(value);
            }
        }
    }

    /// The finding as an OCSF Detection Finding JSON object.
    pub fn to_ocsf(&self) -> Value {
        let attacks: Vec<Value> = self
            .techniques
            .iter()
            .map(|technique| {
                let (parent, _) = technique.uid.split_once('.').unwrap_or((technique.uid, ""));
                let mut attack = json!({
                    "tactic": {"uid": technique.tactic_uid, "name": technique.tactic_name},
                    "technique": {"uid": parent, "name": technique.name.split(':').next().unwrap_or(technique.name)},
                    "version": "v16",
                });
                if let (true, Some(object)) = (parent != technique.uid, attack.as_object_mut()) {
                    object.insert(
                        "sub_technique".into(),
                        json!({"uid": technique.uid, "name": technique.name}),
                    );
                }
                attack
            })
            .collect();
        let observables: Vec<Value> = self
            .observables
            .iter()
            .map(|observable| {
                json!({
                    "name": observable.name,
                    "type_id": observable.kind.id(),
                    "type": observable.kind.name(),
                    "value": observable.value,
                })
            })
            .collect();
        let evidences: Vec<Value> = self
            .evidence
            .iter()
            .map(|id| json!({"data": {"event_uid": id}}))
            .collect();
        let mut cloud = json!({"provider": "Microsoft"});
        if let (Some(tenant), Some(object)) = (&self.tenant, cloud.as_object_mut()) {
            object.insert("account".into(), json!({"uid": &**tenant}));
        }
        json!({
            "class_uid": 2004,
            "class_name": "Detection Finding",
            "category_uid": 2,
            "category_name": "Findings",
            "activity_id": self.activity.id(),
            "activity_name": self.activity.name(),
            "type_uid": 200_400 + u32::from(self.activity.id()),
            "type_name": format!("Detection Finding: {}", self.activity.name()),
            "severity_id": self.severity.id(),
            "severity": self.severity.name(),
            "status_id": 1,
            "status": "New",
            "time": self.time,
            "message": self.message,
            "cloud": cloud,
            "metadata": {
                "version": OCSF_VERSION,
                "product": {"name": "snowyowl", "vendor_name": "snowyowl", "version": env!("CARGO_PKG_VERSION")},
            },
            "finding_info": {
                "uid": self.uid,
                "title": self.title,
                "analytic": {"uid": self.detector, "name": self.detector, "type_id": 1, "type": "Rule"},
                "attacks": attacks,
                "first_seen_time": self.first_seen,
                "last_seen_time": self.time,
            },
            "observables": observables,
            "evidences": evidences,
            "unmapped": self.unmapped,
        })
    }

    /// The OCSF JSON as one line of text.
    pub fn to_json(&self) -> String {
        self.to_ocsf().to_string()
    }
}

/// A [`Finding`] in a snapshot: the detector and techniques by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedFinding {
    uid: String,
    detector: String,
    title: String,
    severity: Severity,
    activity: Activity,
    time: Timestamp,
    first_seen: Timestamp,
    message: String,
    techniques: Vec<String>,
    observables: Vec<Observable>,
    evidence: Vec<String>,
    unmapped: Map<String, Value>,
}

impl From<Finding> for SavedFinding {
    fn from(finding: Finding) -> Self {
        SavedFinding {
            uid: finding.uid,
            detector: finding.detector.to_owned(),
            title: finding.title,
            severity: finding.severity,
            activity: finding.activity,
            time: finding.time,
            first_seen: finding.first_seen,
            message: finding.message,
            techniques: finding
                .techniques
                .iter()
                .map(|t| t.uid.to_owned())
                .collect(),
            observables: finding.observables,
            evidence: finding.evidence,
            unmapped: finding.unmapped,
        }
    }
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SavedFinding::from(self.clone()).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Finding {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Finding::try_from(SavedFinding::deserialize(deserializer)?)
            .map_err(serde::de::Error::custom)
    }
}

impl TryFrom<SavedFinding> for Finding {
    type Error = String;

    fn try_from(saved: SavedFinding) -> Result<Self, String> {
        let detector = crate::detectors::IDS
            .iter()
            .copied()
            .find(|id| *id == saved.detector)
            .ok_or_else(|| format!("unknown detector {:?}", saved.detector))?;
        let techniques = saved
            .techniques
            .iter()
            .map(|uid| {
                crate::attack::ALL
                    .iter()
                    .find(|technique| technique.uid == uid)
                    .copied()
                    .ok_or_else(|| format!("unknown technique {uid:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Finding {
            uid: saved.uid,
            detector,
            title: saved.title,
            severity: saved.severity,
            activity: saved.activity,
            time: saved.time,
            first_seen: saved.first_seen,
            message: saved.message,
            techniques,
            observables: saved.observables,
            evidence: saved.evidence,
            unmapped: saved.unmapped,
            tenant: None,
        })
    }
}

/// A stable, platform-independent id built from the parts that identify a finding (detector,
/// key, start time): two FNV-1a 64 passes, formatted like a UUID.
pub fn stable_uid(parts: &[&str]) -> String {
    use crate::state::{fnv1a, FNV_OFFSET};
    let hash = |offset: u64| fnv1a(parts.iter().map(|part| part.as_bytes()), offset);
    crate::state::guid_text(hash(FNV_OFFSET), hash(0x6c62_272e_07bb_0142))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::PASSWORD_SPRAYING;

    #[test]
    fn uid_is_stable_and_separates_parts() {
        assert_eq!(stable_uid(&["a", "b"]), stable_uid(&["a", "b"]));
        assert_ne!(stable_uid(&["ab", ""]), stable_uid(&["a", "b"]));
        assert_eq!(stable_uid(&["x"]).len(), 36);
    }

    #[test]
    fn ocsf_shape() {
        let finding = Finding {
            uid: stable_uid(&["password-spray", "203.0.113.7", "0"]),
            detector: "password-spray",
            title: "Password spray from 203.0.113.7".into(),
            severity: Severity::Medium,
            activity: Activity::Create,
            time: 1_700_000_000_000,
            first_seen: 1_699_999_000_000,
            message: "m".into(),
            techniques: vec![PASSWORD_SPRAYING],
            observables: vec![Observable {
                name: Cow::Borrowed("src_endpoint.ip"),
                kind: ObservableKind::IpAddress,
                value: "203.0.113.7".into(),
            }],
            evidence: vec!["e1".into()],
            unmapped: Map::new(),
            tenant: Some("72f988bf-86f1-41af-91ab-2d7cd011db47".into()),
        };
        let value = finding.to_ocsf();
        assert_eq!(value["class_uid"], 2004);
        assert_eq!(value["category_uid"], 2);
        assert_eq!(value["type_uid"], 200_401);
        assert_eq!(value["severity_id"], 3);
        assert_eq!(value["finding_info"]["analytic"]["uid"], "password-spray");
        assert_eq!(
            value["finding_info"]["attacks"][0]["technique"]["uid"],
            "T1110"
        );
        assert_eq!(
            value["finding_info"]["attacks"][0]["sub_technique"]["uid"],
            "T1110.003"
        );
        assert_eq!(
            value["finding_info"]["attacks"][0]["tactic"]["uid"],
            "TA0006"
        );
        assert_eq!(value["observables"][0]["type_id"], 2);
        assert_eq!(value["evidences"][0]["data"]["event_uid"], "e1");
        assert_eq!(value["cloud"]["provider"], "Microsoft");
        assert_eq!(
            value["cloud"]["account"]["uid"],
            "72f988bf-86f1-41af-91ab-2d7cd011db47"
        );
    }
}
