//! Directory audit records in their four shapes: Graph `directoryAudit` (also the `properties`
//! of an Azure Monitor `AuditLogs` export and, through aliases, Log Analytics `AuditLogs` rows)
//! and the unified audit log (RecordType 8).

use super::raw::{first, value_text, Raw, Record, Text};
use super::{invalid, owned, parse_time, synthesized_id, Normalized};
use crate::event::{Actor, AuditActivity, AuditTarget, DirectoryAudit, Event, Modified, Shape};

fn success(result: Option<&Text>) -> bool {
    result.map(Text::as_str).is_none_or(|result| {
        result.is_empty()
            || ["success", "succeeded", "true"]
                .iter()
                .any(|ok| result.eq_ignore_ascii_case(ok))
    })
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
        &record.la_operation_name,
        envelope.map_or(&None, |e| &e.operation_name),
    ]);
    let Some(name) = name else {
        return Normalized::Rejected(invalid("missing activity (activityDisplayName)".into()));
    };
    let activity = AuditActivity::of(name);
    if activity == AuditActivity::Other {
        return Normalized::Ignored("directory audit activity no detector reads");
    }
    let time_text = first(&[
        &record.activity_date_time,
        &record.la_time_generated,
        envelope.map_or(&None, |e| &e.time),
    ]);
    let time = match parse_time(time_text, "activityDateTime") {
        Ok(time) => time,
        Err(rejection) => return Normalized::Rejected(rejection),
    };
    let mut actor = Actor::default();
    if let Some(initiated) = record.initiated_by.as_ref().map(|i| &i.0) {
        if let Some(user) = &initiated.user {
            actor.user = user
                .user_principal_name
                .as_deref()
                .filter(|upn| !upn.is_empty())
                .map(str::to_lowercase);
            actor.object_id = owned(user.id.as_deref());
            actor.display_name = owned(user.display_name.as_deref());
            actor.ip = user.ip_address.as_deref().and_then(super::canonical_ip);
        }
        if let Some(app) = &initiated.app {
            if actor.user.is_none() {
                actor.app_id = owned(app.app_id.as_deref());
                actor.service_principal_id = owned(app.service_principal_id.as_deref());
                actor.display_name = owned(app.display_name.as_deref())
                    .or_else(|| owned(app.service_principal_name.as_deref()));
            }
        }
    }
    let mut targets = Vec::new();
    let mut modified = Vec::new();
    for target in record.target_resources.iter().flat_map(|t| t.0.iter()) {
        targets.push(AuditTarget {
            id: owned(target.id.as_deref()),
            kind: owned(target.kind.as_deref()),
            display_name: owned(target.display_name.as_deref()),
            user: target
                .user_principal_name
                .as_deref()
                .filter(|upn| !upn.is_empty())
                .map(str::to_lowercase),
        });
        for property in target.modified_properties.iter().flatten() {
            modified.push(Modified {
                name: property.display_name.clone().unwrap_or_default(),
                old: value_text(property.old_value.as_ref()),
                new: value_text(property.new_value.as_ref()),
            });
        }
    }
    let details = record
        .additional_details
        .iter()
        .flat_map(|d| d.0.iter())
        .filter_map(|kv| Some((kv.key.clone()?, value_text(kv.value.as_ref()))))
        .collect();
    let id = first(&[&record.id, &record.la_id]);
    Normalized::Event(Event::DirectoryAudit(DirectoryAudit {
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
        tenant_id: owned(first(&[
            envelope.map_or(&None, |e| &e.tenant_id),
            &record.la_tenant_id,
        ])),
    }))
}

fn id_text(value: Option<&serde_json::Value>) -> String {
    value_text(value)
}

fn is_type(value: Option<&serde_json::Value>, wanted: i64) -> bool {
    match value {
        Some(serde_json::Value::Number(n)) => n.as_i64() == Some(wanted),
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok() == Some(wanted),
        _ => false,
    }
}

/// A unified audit log directory record (RecordType 8).
pub fn unified(raw: &Record, operation: &str, text: &str) -> Normalized {
    let activity = AuditActivity::of(operation);
    if activity == AuditActivity::Other {
        return Normalized::Ignored("directory audit activity no detector reads");
    }
    let time = match parse_time(
        first(&[&raw.ual_creation_time, &raw.la_time_generated]),
        "CreationTime",
    ) {
        Ok(time) => time,
        Err(rejection) => return Normalized::Rejected(rejection),
    };
    let mut actor = Actor::default();
    let user_id = first(&[&raw.ual_user_id]).unwrap_or("");
    if user_id.contains('@') {
        actor.user = Some(user_id.to_lowercase());
    }
    let mut plain_ids = Vec::new();
    for entry in raw.ual_actor.iter().flat_map(|a| a.0.iter()) {
        let id = id_text(entry.id.as_ref());
        if let Some(sp) = id.strip_prefix("ServicePrincipal_") {
            actor
                .service_principal_id
                .get_or_insert_with(|| sp.to_owned());
        } else if is_type(entry.kind.as_ref(), 5) && id.contains('@') {
            actor.user.get_or_insert_with(|| id.to_lowercase());
        } else if is_type(entry.kind.as_ref(), 1) {
            actor.display_name.get_or_insert(id);
        } else if is_type(entry.kind.as_ref(), 2) && !id.contains('@') && !id.contains('_') {
            plain_ids.push(id);
        }
    }
    // A plain id (Type 2) is the user's object id when a user acted, the app id when an app did.
    let plain = plain_ids.into_iter().next();
    if actor.user.is_some() {
        actor.object_id = plain;
    } else {
        actor.app_id = plain;
    }
    if actor.user.is_none() && actor.service_principal_id.is_none() && !user_id.is_empty() {
        actor.service_principal_id = Some(
            user_id
                .strip_prefix("ServicePrincipal_")
                .unwrap_or(user_id)
                .to_owned(),
        );
    }
    actor.ip = first(&[&raw.ual_actor_ip, &raw.ual_client_ip]).and_then(super::canonical_ip);
    let mut targets: Vec<AuditTarget> = Vec::new();
    let mut names = Vec::new();
    for entry in raw.ual_target.iter().flat_map(|t| t.0.iter()) {
        let id = id_text(entry.id.as_ref());
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
        } else if is_type(entry.kind.as_ref(), 5) && id.contains('@') {
            names.push((true, id.to_lowercase()));
        } else if is_type(entry.kind.as_ref(), 1) {
            names.push((false, id));
        }
    }
    for (is_upn, name) in names {
        if let Some(target) = targets.first_mut() {
            if is_upn {
                target.user.get_or_insert(name);
            } else {
                target.display_name.get_or_insert(name);
            }
        }
    }
    let modified = raw
        .ual_modified
        .iter()
        .flat_map(|m| m.0.iter())
        .map(|property| Modified {
            name: property.name.clone().unwrap_or_default(),
            old: value_text(property.old.as_ref()),
            new: value_text(property.new.as_ref()),
        })
        .collect();
    let details = raw
        .ual_extended_properties
        .iter()
        .flatten()
        .filter_map(|nv| {
            Some((
                nv.name.as_ref()?.as_str().to_owned(),
                nv.value.as_ref()?.as_str().to_owned(),
            ))
        })
        .collect();
    Normalized::Event(Event::DirectoryAudit(DirectoryAudit {
        time,
        id: first(&[&raw.la_id]).map_or_else(|| synthesized_id(text), str::to_owned),
        shape: Shape::UnifiedAudit,
        activity,
        activity_name: operation.to_owned(),
        success: success(raw.ual_result_status.as_ref()),
        actor,
        targets,
        modified,
        details,
        tenant_id: owned(first(&[&raw.ual_organization_id])),
    }))
}
