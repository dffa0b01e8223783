//! Exchange Online records: `MailItemsAccessed` (unified audit log RecordType 50, Log Analytics
//! `OfficeActivity`) and admin cmdlets (RecordType 1).

use super::raw::{first, value_text, Record};
use super::{canonical_ip, invalid, owned, parse_time, synthesized_id, Normalized};
use crate::event::{Event, ExchangeAdmin, MailClient, MailboxAccess, Shape};

/// Microsoft Graph's app id: mail read through Graph logs it as `AppId`.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Cmdlets a detector reads.
const ADMIN_CMDLETS: [&str; 2] = ["New-ManagementRoleAssignment", "Add-MailboxPermission"];

fn shape_of(raw: &Record) -> Shape {
    if raw.ual_creation_time.is_some() {
        Shape::UnifiedAudit
    } else {
        Shape::LogAnalytics
    }
}

fn record_time(raw: &Record) -> Result<i64, super::Rejection> {
    parse_time(
        first(&[&raw.ual_creation_time, &raw.la_time_generated]),
        "CreationTime or TimeGenerated",
    )
}

/// A `MailItemsAccessed` record.
pub fn mailbox_access(raw: &Record, text: &str) -> Normalized {
    let time = match record_time(raw) {
        Ok(time) => time,
        Err(rejection) => return Normalized::Rejected(rejection),
    };
    let Some(mailbox) = first(&[&raw.ual_mailbox_owner]) else {
        return Normalized::Rejected(invalid("missing mailbox (MailboxOwnerUPN)".into()));
    };
    let app_id = owned(first(&[&raw.la_app_id]));
    let context_app = raw
        .ual_app_access_context
        .as_ref()
        .and_then(|c| c.0.client_app_id.clone())
        .filter(|a| !a.is_empty());
    let client_app_id = owned(first(&[&raw.ual_client_app_id]))
        .or(context_app)
        .or_else(|| app_id.clone());
    let client_info = first(&[&raw.ual_client_info]).unwrap_or("");
    let client = if client_info
        .get(..38)
        .is_some_and(|head| head.eq_ignore_ascii_case("Client=WebServices;ExchangeWebServices"))
    {
        MailClient::Ews
    } else if app_id
        .as_deref()
        .is_some_and(|app| app.eq_ignore_ascii_case(GRAPH_APP_ID))
    {
        MailClient::Graph
    } else {
        MailClient::Other
    };
    let properties = raw
        .ual_operation_properties
        .as_ref()
        .map(|p| p.0.as_slice())
        .unwrap_or(&[]);
    let throttled = properties.iter().any(|property| {
        property
            .name
            .as_deref()
            .is_some_and(|name| name.eq_ignore_ascii_case("IsThrottled"))
            && value_text(property.value.as_ref()).eq_ignore_ascii_case("true")
    });
    Normalized::Event(Event::MailboxAccess(MailboxAccess {
        time,
        id: first(&[&raw.la_id]).map_or_else(|| synthesized_id(text), str::to_owned),
        shape: shape_of(raw),
        user: first(&[&raw.ual_user_id]).unwrap_or("").to_lowercase(),
        mailbox: mailbox.to_lowercase(),
        client_app_id: client_app_id.map(|app| app.to_lowercase()),
        app_id: app_id.map(|app| app.to_lowercase()),
        client,
        ip: first(&[&raw.ual_client_ip_address, &raw.ual_client_ip]).and_then(canonical_ip),
        throttled,
        operation_count: raw
            .ual_operation_count
            .0
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(1),
        tenant_id: owned(first(&[&raw.ual_organization_id])),
        token_tenant_id: owned(first(&[&raw.ual_token_tenant_id])),
    }))
}

/// An Exchange admin cmdlet record.
pub fn exchange_admin(raw: &Record, cmdlet: &str, text: &str) -> Normalized {
    if !ADMIN_CMDLETS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(cmdlet))
    {
        return Normalized::Ignored("exchange cmdlet no detector reads");
    }
    let time = match record_time(raw) {
        Ok(time) => time,
        Err(rejection) => return Normalized::Rejected(rejection),
    };
    let parameters = raw
        .ual_parameters
        .iter()
        .flat_map(|p| p.0.iter())
        .filter_map(|p| Some((p.name.clone()?, value_text(p.value.as_ref()))))
        .collect();
    let success = raw.ual_result_status.as_ref().is_none_or(|status| {
        ["true", "succeeded", "success", ""]
            .iter()
            .any(|ok| status.as_str().eq_ignore_ascii_case(ok))
    });
    Normalized::Event(Event::ExchangeAdmin(ExchangeAdmin {
        time,
        id: first(&[&raw.la_id]).map_or_else(|| synthesized_id(text), str::to_owned),
        shape: shape_of(raw),
        cmdlet: cmdlet.to_owned(),
        parameters,
        actor: first(&[&raw.ual_user_id]).unwrap_or("").to_lowercase(),
        object: owned(first(&[&raw.ual_object_id])),
        tenant_id: owned(first(&[&raw.ual_organization_id])),
        success,
    }))
}
