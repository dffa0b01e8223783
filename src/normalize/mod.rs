//! Normalization: one raw record in, one typed [`Event`] out (or a reason why not).
//!
//! The shape is sniffed from the keys present (log-reference §1): an Azure Monitor export has an
//! envelope with `category` / `operationName` and the record under `properties`; a Graph resource
//! has `createdDateTime` and `status` at the top; a Log Analytics row has PascalCase columns with
//! `OperationName` / `Type`; a unified audit log record has `Operation`, `CreationTime` and
//! `Workload` / `RecordType`. Wrappers (`{"records":[…]}`, `{"value":[…]}`) yield their elements.
//!
//! A record of a known source that no detector reads (another audit category, a SharePoint
//! operation) is *ignored* and counted; a record of no known shape is *rejected* with a reason.

mod audit;
mod office;
mod raw;
mod risk;
mod scan;

pub use office::GRAPH_APP_ID;
/// For the `scan` fuzz target (`make fuzz`): the record scanner against serde_json.
#[cfg(fuzzing)]
pub use scan::agrees_with_serde as scanner_agrees_with_serde;

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;

use memchr::memmem;
use serde_json::value::RawValue;

use crate::event::{Event, FactorRequirement, Shape, SignIn, SignInCategory, SignInFields};
use crate::finding::stable_uid;
use crate::time;
use raw::{first, Properties, Raw, Record, Text};

/// Why a record was not turned into an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectionKind {
    /// Not JSON, or not valid UTF-8.
    Malformed,
    /// JSON, but not an object.
    NotAnObject,
    /// An object of no known log shape.
    UnknownShape,
    /// A known shape with a missing or invalid field that detection needs.
    InvalidField,
}

impl RejectionKind {
    /// A short stable name, used in stats.
    pub fn name(self) -> &'static str {
        match self {
            RejectionKind::Malformed => "malformed",
            RejectionKind::NotAnObject => "not-an-object",
            RejectionKind::UnknownShape => "unknown-shape",
            RejectionKind::InvalidField => "invalid-field",
        }
    }
}

/// A record that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The class of problem.
    pub kind: RejectionKind,
    /// What was wrong, naming the field where there is one.
    pub reason: String,
}

impl Rejection {
    fn new(kind: RejectionKind, reason: impl Into<String>) -> Self {
        Rejection {
            kind,
            reason: reason.into(),
        }
    }
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq)]
// Events are the common case; boxing them would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Normalized {
    /// A typed event.
    Event(Event),
    /// A known source that no detector reads; the name of what it was.
    Ignored(&'static str),
    /// Not readable.
    Rejected(Rejection),
}

/// How deep wrappers may nest (`{"records":[{"value":[…]}]}`).
const MAX_WRAPPER_DEPTH: usize = 2;

/// Normalizes one JSON record (an object, or a wrapper of objects), calling `emit` once for each
/// record it holds.
pub fn normalize(text: &str, emit: &mut dyn FnMut(Normalized)) {
    normalize_at(text, 0, emit);
}

fn normalize_at(text: &str, depth: usize, emit: &mut dyn FnMut(Normalized)) {
    let trimmed = text.trim_start();
    match trimmed.as_bytes().first() {
        Some(b'{') => {}
        Some(b'[') if depth < MAX_WRAPPER_DEPTH => {
            match serde_json::from_str::<Vec<&RawValue>>(trimmed) {
                Ok(elements) => elements
                    .iter()
                    .for_each(|element| normalize_at(element.get(), depth + 1, emit)),
                Err(error) => emit(Normalized::Rejected(Rejection::new(
                    RejectionKind::Malformed,
                    format!("invalid JSON: {error}"),
                ))),
            }
            return;
        }
        _ => {
            let what = describe_non_object(trimmed);
            emit(Normalized::Rejected(Rejection::new(
                RejectionKind::NotAnObject,
                format!("expected a JSON object, found {what}"),
            )));
            return;
        }
    }
    let mut raw = Record::default();
    if scan::record(trimmed, &mut raw).is_none() {
        // What the scanner leaves to serde_json: odd forms, and every broken record.
        match by_serde(trimmed) {
            Ok(parsed) => raw = parsed,
            Err(rejection) => return emit(Normalized::Rejected(rejection)),
        }
    }
    if let Some(elements) = raw.records.as_ref().or(raw.value.as_ref()) {
        if depth < MAX_WRAPPER_DEPTH {
            elements
                .iter()
                .for_each(|element| normalize_at(element.get(), depth + 1, emit));
            return;
        }
    }
    emit(classify(&raw, trimmed));
}

/// Reads a record with serde_json; a rejection names the field at fault.
fn by_serde(text: &str) -> Result<Record<'_>, Rejection> {
    serde_json::from_str(text).map_err(|error| {
        if !error.is_data() {
            return Rejection::new(RejectionKind::Malformed, format!("invalid JSON: {error}"));
        }
        // Parse again, only on this rare path, to name the field that is wrong.
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let reason = match serde_path_to_error::deserialize::<_, Record>(deserializer) {
            Err(located) if located.path().to_string() != "." => {
                format!("invalid field {}: {}", located.path(), located.inner())
            }
            _ => format!("invalid field: {error}"),
        };
        Rejection::new(RejectionKind::InvalidField, reason)
    })
}

fn describe_non_object(text: &str) -> &'static str {
    match text.as_bytes().first() {
        None => "nothing",
        Some(b'[') => "an array nested too deep",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9') => "a number",
        Some(_) => "text that is not JSON",
    }
}

/// Log Analytics table names of the sign-in logs.
const LA_SIGNIN_TABLES: [&str; 4] = [
    "SigninLogs",
    "AADNonInteractiveUserSignInLogs",
    "AADServicePrincipalSignInLogs",
    "AADManagedIdentitySignInLogs",
];

fn signin_category(name: &str) -> Option<SignInCategory> {
    Some(match name {
        "SignInLogs" | "SigninLogs" => SignInCategory::Interactive,
        "NonInteractiveUserSignInLogs" | "AADNonInteractiveUserSignInLogs" => {
            SignInCategory::NonInteractive
        }
        "ServicePrincipalSignInLogs" | "AADServicePrincipalSignInLogs" => {
            SignInCategory::ServicePrincipal
        }
        "ManagedIdentitySignInLogs" | "AADManagedIdentitySignInLogs" => {
            SignInCategory::ManagedIdentity
        }
        _ => return None,
    })
}

fn is_signin_operation(name: Option<&Text>) -> bool {
    name.is_some_and(|name| name.as_str().eq_ignore_ascii_case("Sign-in activity"))
}

fn eq(text: Option<&str>, wanted: &str) -> bool {
    text.is_some_and(|text| text.eq_ignore_ascii_case(wanted))
}

fn classify(raw: &Record, text: &str) -> Normalized {
    // Azure Monitor export: envelope + properties.
    if let Some(properties) = raw.properties.as_ref() {
        let category = raw.category.as_ref().map(Text::as_str);
        let signin = category.and_then(signin_category);
        if signin.is_some() || is_signin_operation(raw.operation_name.as_ref()) {
            let category = signin.unwrap_or(SignInCategory::Interactive);
            return done(azure_monitor_signin(raw, properties, category, text));
        }
        if properties.activity_display_name.is_some() || eq(category, "AuditLogs") {
            return audit::graph(properties, Shape::AzureMonitor, Some(raw), text);
        }
        if properties.risk_event_type.is_some() || eq(category, "UserRiskEvents") {
            return risk::risk_detection(properties, Shape::AzureMonitor, Some(raw), text);
        }
        if category.is_some() || raw.operation_name.is_some() {
            return Normalized::Ignored("azure-monitor record of another category");
        }
    }
    // Unified audit log, and Log Analytics `OfficeActivity` rows that carry its fields.
    if let Some(operation) = raw.ual_operation.as_ref().map(Text::as_str) {
        let workload = first(&[&raw.ual_workload, &raw.la_office_workload]);
        let record_type = raw.ual_record_type.as_ref().map(Text::as_str);
        let audit_marker =
            workload.is_some() || record_type.is_some() || raw.ual_creation_time.is_some();
        if audit_marker {
            if matches!(operation, "UserLoggedIn" | "UserLoginFailed") {
                return done(unified_audit_signin(raw, operation, text));
            }
            if operation.eq_ignore_ascii_case("MailItemsAccessed") {
                return office::mailbox_access(raw, text);
            }
            if eq(workload, "Exchange") && raw.ual_parameters.is_some() {
                return office::exchange_admin(raw, operation, text);
            }
            if eq(workload, "AzureActiveDirectory") || record_type == Some("8") {
                return audit::unified(raw, operation, text);
            }
            return Normalized::Ignored("unified audit log operation no detector reads");
        }
    }
    // Log Analytics row.
    let la_table = raw.la_type.as_ref().map(Text::as_str);
    let la_category = raw.la_category.as_ref().map(Text::as_str);
    if la_table.is_some_and(|table| LA_SIGNIN_TABLES.contains(&table))
        || (is_signin_operation(raw.la_operation_name.as_ref())
            && (raw.la_time_generated.is_some() || raw.la_created.is_some()))
    {
        let category = la_table
            .and_then(signin_category)
            .or_else(|| la_category.and_then(signin_category))
            .unwrap_or(SignInCategory::Interactive);
        return done(log_analytics_signin(raw, category, text));
    }
    if eq(la_table, "AuditLogs") {
        return audit::graph(raw, Shape::LogAnalytics, None, text);
    }
    if eq(la_table, "AADUserRiskEvents") {
        return risk::risk_detection(raw, Shape::LogAnalytics, None, text);
    }
    if la_table.is_some() && raw.la_time_generated.is_some() {
        return Normalized::Ignored("log analytics table no detector reads");
    }
    // Graph resources.
    if raw.activity_display_name.is_some() && raw.activity_date_time.is_some() {
        return audit::graph(raw, Shape::Graph, None, text);
    }
    if raw.risk_event_type.is_some()
        && (raw.detected_date_time.is_some() || raw.activity_date_time.is_some())
    {
        return risk::risk_detection(raw, Shape::Graph, None, text);
    }
    // A signIn has an object `status` (other Graph resources, such as alerts, a string).
    if raw.created.is_some() && raw.status.is_some_and(|status| status.0.starts_with('{')) {
        let types = raw
            .sign_in_event_types
            .as_ref()
            .map(|types| types.0)
            .unwrap_or_default();
        let category = if types.service_principal {
            SignInCategory::ServicePrincipal
        } else if types.managed_identity {
            SignInCategory::ManagedIdentity
        } else if types.non_interactive_user || raw.is_interactive == Some(false) {
            SignInCategory::NonInteractive
        } else {
            SignInCategory::Interactive
        };
        return done(graph_signin(raw, category, Shape::Graph, None, text));
    }
    Normalized::Rejected(Rejection::new(
        RejectionKind::UnknownShape,
        "unknown event shape: no sign-in, audit, Exchange or risk marker (category + properties, \
         createdDateTime + status, activityDisplayName, OperationName / Type, Operation + \
         Workload / RecordType)",
    ))
}

fn done(result: Result<SignIn, Rejection>) -> Normalized {
    match result {
        Ok(signin) => Normalized::Event(Event::SignIn(signin)),
        Err(rejection) => Normalized::Rejected(rejection),
    }
}

fn invalid(reason: String) -> Rejection {
    Rejection::new(RejectionKind::InvalidField, reason)
}

fn parse_time(value: Option<&str>, fields: &str) -> Result<i64, Rejection> {
    let text = value.ok_or_else(|| invalid(format!("missing time ({fields})")))?;
    time::parse(text).ok_or_else(|| {
        invalid(format!(
            "invalid time {:?} in {fields}: expected an ISO 8601 time between 2000 and 2100",
            truncate(text, 64)
        ))
    })
}

fn truncate(text: &str, max: usize) -> &str {
    // No more bytes than `max`: no more characters either (the common case, without a scan).
    if text.len() <= max {
        return text;
    }
    match text.char_indices().nth(max) {
        Some((index, _)) => text.get(..index).unwrap_or(text),
        None => text,
    }
}

fn code_of(code: Option<i64>, fields: &str) -> Result<u32, Rejection> {
    let code = code.ok_or_else(|| invalid(format!("missing result code ({fields})")))?;
    u32::try_from(code).map_err(|_| invalid(format!("result code {code} out of range in {fields}")))
}

/// The IP in canonical form; accepts `ip:port` and `[v6]:port` as the unified audit log writes.
pub fn canonical_ip(text: &str) -> Option<String> {
    canonical_ip_text(text).map(Cow::into_owned)
}

/// [`canonical_ip`], borrowing the text when it is already the canonical form.
fn canonical_ip_text(text: &str) -> Option<Cow<'_, str>> {
    let text = text.trim();
    match text.parse::<IpAddr>() {
        // The IPv4 parser takes only the canonical dotted decimal form: the text is the form.
        Ok(IpAddr::V4(_)) => return Some(Cow::Borrowed(text)),
        Ok(ip) => return Some(Cow::Owned(ip.to_string())),
        Err(_) => {}
    }
    text.parse::<SocketAddr>()
        .ok()
        .map(|address| Cow::Owned(address.ip().to_string()))
}

/// A string field as kept: none when empty, at most 512 characters.
fn kept(text: Option<&str>) -> Option<Cow<'_, str>> {
    text.filter(|text| !text.is_empty())
        .map(|text| Cow::Borrowed(truncate(text, 512)))
}

fn owned(text: Option<&str>) -> Option<String> {
    kept(text).map(Cow::into_owned)
}

/// Lowercased, borrowed when it already is (user principal names often are).
fn lowercase(text: &str) -> Cow<'_, str> {
    if text.is_ascii() && !text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

fn synthesized_id(text: &str) -> String {
    format!("record-{}", stable_uid(&[text]))
}

const MODERN_CLIENT_APPS: [&str; 2] = ["Browser", "Mobile Apps and Desktop clients"];

fn is_legacy(client_app: Option<&str>, protocol: Option<&str>, user_agent: Option<&str>) -> bool {
    let legacy_client = client_app.is_some_and(|app| {
        !app.is_empty()
            && !app.eq_ignore_ascii_case("unknown")
            && !MODERN_CLIENT_APPS
                .iter()
                .any(|modern| modern.eq_ignore_ascii_case(app))
    });
    legacy_client
        || protocol.is_some_and(|protocol| protocol.eq_ignore_ascii_case("ropc"))
        || user_agent.is_some_and(|agent| ROPC_AGENT.find(agent.as_bytes()).is_some())
}

/// The user agent of Exchange's legacy ROPC clients, searched for in every sign-in's user agent
/// with memchr's vector search (`str::contains` has one natively but not in WebAssembly, where
/// it built a two-way searcher for every sign-in).
static ROPC_AGENT: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new("BAV2ROPC"));

fn factor(requirement: Option<&str>) -> FactorRequirement {
    match requirement {
        Some(text) if text.eq_ignore_ascii_case("singleFactorAuthentication") => {
            FactorRequirement::Single
        }
        Some(text) if text.eq_ignore_ascii_case("multiFactorAuthentication") => {
            FactorRequirement::Multi
        }
        _ => FactorRequirement::Unknown,
    }
}

fn correct_password_step(steps: Option<&raw::MaybeEncoded<raw::CorrectPasswordStep>>) -> bool {
    steps.is_some_and(|steps| steps.0 .0)
}

fn user_of<'a>(
    category: SignInCategory,
    upn: Option<&'a str>,
    sp_name: Option<&'a str>,
    sp_id: Option<&'a str>,
    fields: &str,
) -> Result<Cow<'a, str>, Rejection> {
    let user = if category.is_user() {
        upn
    } else {
        sp_name.or(sp_id).or(upn)
    };
    user.map(lowercase)
        .ok_or_else(|| invalid(format!("missing user ({fields})")))
}

/// Builds a sign-in from Graph-named fields: the Graph resource itself, or the `properties` of an
/// Azure Monitor export (`envelope` then supplies fallbacks).
fn graph_signin<P>(
    record: &Raw<P>,
    category: SignInCategory,
    shape: Shape,
    envelope: Option<&Record>,
    text: &str,
) -> Result<SignIn, Rejection> {
    let (time_fields, code_fields) = match shape {
        Shape::AzureMonitor => (
            "properties.createdDateTime or time",
            "properties.status.errorCode or resultType",
        ),
        _ => ("createdDateTime", "status.errorCode"),
    };
    let time_text = first(&[&record.created, envelope.map_or(&None, |e| &e.time)]);
    let time = parse_time(time_text, time_fields)?;
    let status = raw::decode_status(record.status, "status").map_err(invalid)?;
    let code = status
        .and_then(|status| status.error_code.0)
        .or_else(|| envelope.and_then(|e| raw::result_type_code(e.result_type.as_ref())));
    let result_code = code_of(code, code_fields)?;
    let user = user_of(
        category,
        first(&[&record.user_principal_name]),
        first(&[&record.service_principal_name]),
        first(&[&record.service_principal_id]),
        "userPrincipalName",
    )?;
    let ip = first(&[&record.ip_address, envelope.map_or(&None, |e| &e.caller_ip)]);
    let user_agent = first(&[&record.user_agent]);
    let client_app = first(&[&record.client_app_used]);
    let protocol = first(&[&record.authentication_protocol]);
    let id = first(&[&record.id, &record.original_request_id]);
    Ok(SignIn::from(SignInFields {
        time,
        id: id.map_or_else(|| Cow::Owned(synthesized_id(text)), Cow::Borrowed),
        shape,
        category,
        user,
        ip: ip.and_then(canonical_ip_text),
        result_code,
        correct_password_step: correct_password_step(record.authentication_details.as_ref()),
        app_id: kept(first(&[&record.app_id])),
        app_name: kept(first(&[&record.app_display_name])),
        user_agent: kept(user_agent),
        factor: factor(first(&[&record.authentication_requirement])),
        legacy: is_legacy(client_app, protocol, user_agent),
        asn: record.asn.0.and_then(|asn| u32::try_from(asn).ok()),
        tenant_id: kept(first(&[
            &record.resource_tenant_id,
            envelope.map_or(&None, |e| &e.tenant_id),
        ])),
        home_tenant_id: kept(first(&[&record.home_tenant_id])),
        app_owner_tenant_id: kept(first(&[&record.app_owner_tenant_id])),
        risk_event_types: record
            .risk_event_types
            .as_ref()
            .map(|r| r.0.clone())
            .unwrap_or_default(),
    }))
}

fn azure_monitor_signin(
    envelope: &Record,
    properties: &Properties,
    category: SignInCategory,
    text: &str,
) -> Result<SignIn, Rejection> {
    graph_signin(
        properties,
        category,
        Shape::AzureMonitor,
        Some(envelope),
        text,
    )
}

fn log_analytics_signin(
    raw: &Record,
    category: SignInCategory,
    text: &str,
) -> Result<SignIn, Rejection> {
    let time = parse_time(
        first(&[&raw.la_created, &raw.la_time_generated]),
        "CreatedDateTime or TimeGenerated",
    )?;
    let status = raw::decode_status(raw.la_status, "Status").map_err(invalid)?;
    let code = status.and_then(|status| status.error_code.0);
    let result_code = code_of(
        code.or(raw.la_result_type.0),
        "Status.errorCode or ResultType",
    )?;
    let user = user_of(
        category,
        first(&[&raw.la_user_principal_name]),
        first(&[&raw.la_service_principal_name]),
        first(&[&raw.la_service_principal_id]),
        "UserPrincipalName",
    )?;
    let user_agent = first(&[&raw.la_user_agent]);
    let client_app = first(&[&raw.la_client_app_used]);
    let protocol = first(&[&raw.la_authentication_protocol]);
    let id = first(&[&raw.la_id, &raw.la_original_request_id]);
    Ok(SignIn::from(SignInFields {
        time,
        id: id.map_or_else(|| Cow::Owned(synthesized_id(text)), Cow::Borrowed),
        shape: Shape::LogAnalytics,
        category,
        user,
        ip: first(&[&raw.la_ip_address]).and_then(canonical_ip_text),
        result_code,
        correct_password_step: correct_password_step(raw.la_authentication_details.as_ref()),
        app_id: kept(first(&[&raw.la_app_id])),
        app_name: kept(first(&[&raw.la_app_display_name])),
        user_agent: kept(user_agent),
        factor: factor(first(&[&raw.la_authentication_requirement])),
        legacy: is_legacy(client_app, protocol, user_agent),
        asn: raw.la_asn.0.and_then(|asn| u32::try_from(asn).ok()),
        tenant_id: kept(first(&[&raw.la_resource_tenant_id, &raw.la_tenant_id])),
        home_tenant_id: kept(first(&[&raw.la_home_tenant_id])),
        app_owner_tenant_id: kept(first(&[&raw.app_owner_tenant_id])),
        risk_event_types: raw
            .la_risk_event_types
            .as_ref()
            .map(|r| r.0.clone())
            .unwrap_or_default(),
    }))
}

/// `LogonError` names of the unified audit log and the codes they stand for.
const LOGON_ERRORS: [(&str, u32); 9] = [
    ("InvalidUserNameOrPassword", 50126),
    ("IdsLocked", 50053),
    ("InvalidPasswordExpiredPassword", 50055),
    ("InvalidPasswordNullPassword", 50056),
    ("UserAccountNotFound", 50034),
    ("UserAccountDisabled", 50057),
    ("UserStrongAuthClientAuthNRequiredInterrupt", 50074),
    ("UserStrongAuthClientAuthNRequired", 50076),
    ("DeviceAuthenticationRequired", 50097),
];

fn unified_audit_signin(raw: &Record, operation: &str, text: &str) -> Result<SignIn, Rejection> {
    let time = parse_time(first(&[&raw.ual_creation_time]), "CreationTime")?;
    let result_code = match raw.ual_error_number.0 {
        Some(code) => code_of(Some(code), "ErrorNumber")?,
        None if operation == "UserLoggedIn" => 0,
        None => {
            let name = first(&[&raw.ual_logon_error]).unwrap_or("");
            LOGON_ERRORS
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(name))
                .map_or(1, |(_, code)| *code)
        }
    };
    let user = first(&[&raw.ual_user_id])
        .map(lowercase)
        .ok_or_else(|| invalid("missing user (UserId)".to_owned()))?;
    let user_agent = raw.ual_extended_properties.as_ref().and_then(|properties| {
        properties.iter().find_map(|property| {
            let name = property.name.as_ref()?.as_str();
            name.eq_ignore_ascii_case("UserAgent")
                .then_some(property.value.as_ref())
                .flatten()
        })
    });
    let user_agent = user_agent.map(Text::as_str);
    let id = first(&[&raw.la_id]);
    Ok(SignIn::from(SignInFields {
        time,
        id: id.map_or_else(|| Cow::Owned(synthesized_id(text)), Cow::Borrowed),
        shape: Shape::UnifiedAudit,
        category: SignInCategory::Interactive,
        user,
        ip: first(&[&raw.ual_client_ip, &raw.ual_actor_ip]).and_then(canonical_ip_text),
        result_code,
        correct_password_step: false,
        app_id: kept(first(&[&raw.ual_application_id])),
        app_name: None,
        user_agent: kept(user_agent),
        factor: FactorRequirement::Unknown,
        legacy: is_legacy(None, None, user_agent),
        asn: None,
        tenant_id: kept(first(&[&raw.ual_organization_id])),
        home_tenant_id: None,
        app_owner_tenant_id: None,
        risk_event_types: Vec::new(),
    }))
}

#[cfg(test)]
pub(crate) mod tests;
