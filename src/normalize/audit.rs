//! Directory audit records in their four shapes: Graph `directoryAudit` (also the `properties` of
//! an Azure Monitor `AuditLogs` export, and Log Analytics `AuditLogs` rows, whose columns are its
//! fields in PascalCase with the nested ones as JSON strings) and the unified audit log
//! (RecordType 8). Nested values are read ignoring the case of their keys.

use serde_json::Value;

use super::office::id_types;
use super::raw::{elements, first, get, member_text, nested, value_text, Raw, Record, Text};
use super::{done, invalid, owned, parse_time, synthesized_id, Normalized, Rejection};
use crate::event::{
    is_guid, Actor, AuditActivity, AuditTarget, DirectoryAudit, Event, Modified, Shape,
};

fn success(result: Option<&Text>) -> bool {
    result.map(Text::as_str).is_none_or(|result| {
        result.is_empty()
            || ["success", "succeeded", "true"]
                .iter()
                .any(|ok| result.eq_ignore_ascii_case(ok))
    })
}

fn lower(text: Option<String>) -> Option<String> {
    text.map(|text| text.to_lowercase())
}

/// A Graph-named directory audit record. `envelope` is the Azure Monitor envelope, if any.
pub fn graph<P>(
    record: &Raw<P>,
    shape: Shape,
    envelope: Option<&Record>,
    text: &str,
) -> Normalized {
    let name = first(&[
        &record.activity_display_name,
        &record.operation_name,
        envelope.map_or(&None, |e| &e.operation_name),
    ]);
    let Some(name) = name else {
        return Normalized::Rejected(invalid(
            "missing activity: a directory audit needs activityDisplayName or OperationName".into(),
        ));
    };
    let activity = AuditActivity::of(name);
    done(read_graph(record, envelope, text, name, activity, shape).map(Event::DirectoryAudit))
}

fn read_graph<P>(
    record: &Raw<P>,
    envelope: Option<&Record>,
    text: &str,
    name: &str,
    activity: AuditActivity,
    shape: Shape,
) -> Result<DirectoryAudit, Rejection> {
    let time = parse_time(
        &[
            &record.activity_date_time,
            &record.time_generated,
            envelope.map_or(&None, |e| &e.time),
            // A hand-edited Graph page (Wazuh's test data) carries `createdDateTime` instead.
            &record.created,
        ],
        "a directory audit",
        "activityDateTime, TimeGenerated or time",
    )?;
    let initiated = nested(record.initiated_by, "initiatedBy").map_err(invalid)?;
    let mut actor = Actor::default();
    if let Some(user) = get(&initiated, "user").filter(|user| user.is_object()) {
        actor.user = lower(member_text(user, "userPrincipalName"));
        actor.object_id = owned(member_text(user, "id").as_deref());
        actor.display_name = owned(member_text(user, "displayName").as_deref());
        actor.ip = member_text(user, "ipAddress").and_then(|ip| super::canonical_ip(&ip));
    }
    if let Some(app) = get(&initiated, "app").filter(|app| app.is_object()) {
        if actor.user.is_none() {
            actor.app_id = owned(member_text(app, "appId").as_deref());
            actor.service_principal_id = owned(member_text(app, "servicePrincipalId").as_deref());
            actor.display_name = member_text(app, "displayName")
                .or_else(|| member_text(app, "servicePrincipalName"));
        }
    }
    let resources = nested(record.target_resources, "targetResources").map_err(invalid)?;
    let mut targets = Vec::new();
    let mut modified = Vec::new();
    for target in elements(&resources) {
        targets.push(AuditTarget {
            id: member_text(target, "id"),
            kind: member_text(target, "type"),
            display_name: member_text(target, "displayName"),
            user: lower(member_text(target, "userPrincipalName")),
        });
        if let Some(properties) = get(target, "modifiedProperties") {
            modified.extend(modified_properties(properties));
        }
    }
    let details = nested(record.additional_details, "additionalDetails").map_err(invalid)?;
    let details = elements(&details)
        .iter()
        .filter_map(|pair| Some((member_text(pair, "key")?, value_text(get(pair, "value")))))
        .collect();
    let id = first(&[&record.id]);
    Ok(DirectoryAudit {
        time,
        id: id.map_or_else(|| synthesized_id(text), str::to_owned),
        shape,
        activity,
        activity_name: name.to_owned(),
        success: success(record.result.as_ref()),
        actor,
        targets,
        modified,
        details,
        reason: owned(first(&[&record.result_reason])),
        tenant_id: owned(first(&[
            &record.aad_tenant_id,
            envelope.map_or(&None, |e| &e.tenant_id),
            &record.tenant_id,
        ])),
    })
}

/// Modified properties in either spelling (`{displayName, oldValue, newValue}` or
/// `{Name, OldValue, NewValue}`); a plain string is a property named without values (Exchange).
fn modified_properties(value: &Value) -> Vec<Modified> {
    elements(value)
        .iter()
        .map(|property| match property {
            Value::String(name) => Modified {
                name: name.trim().to_owned(),
                old: String::new(),
                new: String::new(),
            },
            _ => Modified {
                name: member_text(property, "displayName")
                    .or_else(|| member_text(property, "Name"))
                    .unwrap_or_default(),
                old: value_text(get(property, "oldValue")),
                new: value_text(get(property, "newValue")),
            },
        })
        .collect()
}

/// A unified audit log directory record (RecordType 8).
pub fn unified(raw: &Record, operation: &str, text: &str) -> Normalized {
    let activity = AuditActivity::of(operation);
    done(read_unified(raw, operation, activity, text).map(Event::DirectoryAudit))
}

fn read_unified(
    raw: &Record,
    operation: &str,
    activity: AuditActivity,
    text: &str,
) -> Result<DirectoryAudit, Rejection> {
    let time = parse_time(
        &[&raw.creation_time, &raw.time_generated],
        "a directory audit",
        "CreationTime or TimeGenerated",
    )?;
    let mut actor = Actor::default();
    let user_id = first(&[&raw.user_id]).unwrap_or("");
    if user_id.contains('@') {
        actor.user = Some(user_id.to_lowercase());
    }
    let mut plain_ids = Vec::new();
    for (id, kind) in id_types(raw.actor, "Actor")? {
        if let Some(sp) = id.strip_prefix("ServicePrincipal_") {
            actor
                .service_principal_id
                .get_or_insert_with(|| sp.to_owned());
        } else if kind == Some(5) && id.contains('@') {
            actor.user.get_or_insert_with(|| id.to_lowercase());
        } else if kind == Some(1) {
            actor.display_name.get_or_insert(id);
        } else if kind == Some(2) && is_guid(&id) {
            plain_ids.push(id);
        }
    }
    // A plain id (Type 2) is the user's object id when a user acted, the app id when an app did.
    // Other Type 2 values are words (`Certificate`, `Other`: how Microsoft's own services sign
    // their changes), not ids.
    let plain = plain_ids.into_iter().next();
    if actor.user.is_some() {
        actor.object_id = plain;
    } else {
        actor.app_id = plain;
    }
    let user_id = user_id.strip_prefix("ServicePrincipal_").unwrap_or(user_id);
    if actor.user.is_none() && actor.service_principal_id.is_none() && is_guid(user_id) {
        actor.service_principal_id = Some(user_id.to_owned());
    }
    actor.ip = first(&[&raw.actor_ip, &raw.client_ip]).and_then(super::canonical_ip);
    let mut targets: Vec<AuditTarget> = Vec::new();
    // A name (a UPN, Type 5; a display name, Type 1) follows the typed id of its object: it
    // belongs to the target listed last before it (the first, when it comes before every one).
    let mut names = Vec::new();
    // A domain is named, not typed: by `ObjectId`, or a `Target` entry that is a domain name.
    let mut domain_named = None;
    for (id, kind) in id_types(raw.target, "Target")? {
        if activity.on_domain()
            && domain_named.is_none()
            && id.contains('.')
            && !id.contains(['@', ' ', '_'])
        {
            domain_named = Some(id.clone());
        }
        let owner = targets.len().saturating_sub(1);
        let prefixed = ["Application_", "ServicePrincipal_", "User_", "Role_"]
            .iter()
            .find_map(|prefix| {
                id.strip_prefix(prefix)
                    .map(|rest| (prefix.trim_end_matches('_'), rest))
            });
        if let Some((kind, object)) = prefixed {
            targets.push(AuditTarget {
                id: Some(object.to_owned()),
                kind: Some(kind.to_owned()),
                ..AuditTarget::default()
            });
        } else if kind == Some(5) && id.contains('@') {
            names.push((owner, true, id.to_lowercase()));
        } else if kind == Some(1) {
            names.push((owner, false, id));
        }
    }
    for (owner, is_upn, name) in names {
        if let Some(target) = targets.get_mut(owner) {
            if is_upn {
                target.user.get_or_insert(name);
            } else {
                target.display_name.get_or_insert(name);
            }
        }
    }
    if activity.on_domain() && targets.is_empty() {
        if let Some(domain) = first(&[&raw.object_id]).map(str::to_owned).or(domain_named) {
            targets.push(AuditTarget {
                display_name: Some(domain),
                kind: Some("Domain".to_owned()),
                ..AuditTarget::default()
            });
        }
    }
    let modified = nested(raw.modified_properties, "ModifiedProperties").map_err(invalid)?;
    // Details (an app's id beside its object id) are a help, not the record: unreadable ones are
    // left out, as in a sign-in.
    let extended = nested(raw.extended_properties, "ExtendedProperties").unwrap_or_default();
    Ok(DirectoryAudit {
        time,
        id: first(&[&raw.id]).map_or_else(|| synthesized_id(text), str::to_owned),
        shape: if raw.creation_time.is_some() {
            Shape::UnifiedAudit
        } else {
            Shape::LogAnalytics
        },
        activity,
        activity_name: operation.to_owned(),
        success: success(raw.result_status.as_ref()),
        actor,
        targets,
        modified: modified_properties(&modified),
        details: super::raw::name_values(&extended),
        reason: None,
        tenant_id: owned(first(&[&raw.organization_id])),
    })
}
