//! Normalization: one raw record in, one typed [`Event`] out (or a reason why not).
//!
//! A record's shape is recognised by the keys that define it (log-reference §1), never by a side
//! column such as `Type`, `SourceSystem` or `Category`, which vary between exports or are missing:
//! - an Azure Monitor export has an envelope with the record under `properties`;
//! - a unified audit log record (or an `OfficeActivity` row) has `Operation` and one of
//!   `Workload`, `RecordType`, `CreationTime`, `OrganizationId`, or is an Exchange cmdlet
//!   (`Verb-Noun`) with its `Parameters`;
//! - a directory audit has `activityDisplayName`, or an `OperationName` with `initiatedBy`,
//!   `targetResources`, `activityDateTime` or `loggedByService`;
//! - a risk detection has `riskEventType`;
//! - a sign-in has `OperationName` `Sign-in activity`, a sign-in table or category, `createdDateTime`
//!   with an object `status`, or a user (`userPrincipalName`, `servicePrincipalId`, …) with a
//!   result (`status`, `ResultType`).
//!
//! Keys are read in any case and with the suffixes exports add (see `raw.rs`). Wrappers
//! (`{"records":[…]}`, `{"value":[…]}`, the Log Analytics API's `{"tables":[…]}`) yield their
//! records; a record of no known shape with a line of JSON under `log` (Fluent Bit's `tail`
//! without a parser, Docker's `json-file`) yields what that line holds. A record of a known source whose activity or operation no detector reads is
//! *ignored*, naming what it was; anything else that cannot be read is *rejected* with a reason.

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
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;

use memchr::memmem;
use serde_json::value::RawValue;
use smol_str::SmolStr;

use crate::event::{Event, FactorRequirement, Shape, SignIn, SignInCategory, SignInFields};
use crate::finding::stable_uid;
use crate::time;
use raw::{first, Json, Raw, Record, Text};

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

/// A record of a known source that no detector reads: what it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The source (`directory audit`, `unified audit log`, `azure monitor`, `log analytics`).
    pub source: &'static str,
    /// The activity, operation, category or table, as the record names it (`Update user`,
    /// `SharePoint FileAccessed`); empty when it names none.
    pub name: SmolStr,
}

/// A record no detector reads: its source and what it names.
fn ignored(source: &'static str, name: &str) -> Normalized {
    Normalized::Ignored(Ignored {
        source,
        name: SmolStr::new(truncate(name.trim(), 96)),
    })
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            f.write_str(self.source)
        } else {
            write!(f, "{}: {}", self.source, self.name)
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
    /// A known source that no detector reads.
    Ignored(Ignored),
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
        Some(b'[') if depth < MAX_WRAPPER_DEPTH => return each_element(trimmed, depth, emit),
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
    if depth < MAX_WRAPPER_DEPTH {
        if let Some(Json(elements)) = [raw.records, raw.value]
            .into_iter()
            .flatten()
            .find(Json::is_list)
        {
            return each_element(elements, depth, emit);
        }
        if let Some(tables) = raw.tables.filter(Json::is_list) {
            return query_tables(tables.0, depth, emit);
        }
    }
    let normalized = classify(&raw, trimmed);
    if depth < MAX_WRAPPER_DEPTH && is_unknown(&normalized) {
        if let Some(line) = raw.log.as_ref().and_then(logged_json) {
            return normalize_at(line.as_str(), depth + 1, emit);
        }
    }
    emit(normalized);
}

fn is_unknown(normalized: &Normalized) -> bool {
    matches!(normalized, Normalized::Rejected(rejection) if rejection.kind == RejectionKind::UnknownShape)
}

/// The line under `log` when it is JSON text (an object or a list of them); a line of plain text
/// leaves the record what it was, of no known shape.
fn logged_json<'a>(log: &Json<'a>) -> Option<Text<'a>> {
    serde_json::from_str::<Text>(log.0)
        .ok()
        .filter(|line| matches!(line.as_str().as_bytes().first(), Some(b'{' | b'[')))
}

/// The elements of a JSON array, each normalized.
fn each_element(text: &str, depth: usize, emit: &mut dyn FnMut(Normalized)) {
    match serde_json::from_str::<Vec<&RawValue>>(text) {
        Ok(elements) => elements
            .iter()
            .for_each(|element| normalize_at(element.get(), depth + 1, emit)),
        Err(error) => emit(Normalized::Rejected(Rejection::new(
            RejectionKind::Malformed,
            format!("invalid JSON: {error}"),
        ))),
    }
}

/// A table of the Log Analytics query API (`{"name", "columns": [{"name", "type"}], "rows"}`; the
/// Kusto form `{"TableName", "Columns": [{"ColumnName"}], "Rows"}` too).
#[derive(serde::Deserialize)]
struct QueryTable<'a> {
    #[serde(alias = "Columns", default)]
    columns: Vec<QueryColumn>,
    #[serde(alias = "Rows", borrow, default)]
    rows: Vec<Vec<&'a RawValue>>,
}

#[derive(serde::Deserialize)]
struct QueryColumn {
    #[serde(alias = "ColumnName", alias = "Name")]
    name: String,
}

/// Each row of each table of a query result, as the object it stands for (a null cell left out).
fn query_tables(text: &str, depth: usize, emit: &mut dyn FnMut(Normalized)) {
    let tables = match serde_json::from_str::<Vec<QueryTable>>(text) {
        Ok(tables) => tables,
        Err(error) => {
            return emit(Normalized::Rejected(Rejection::new(
                RejectionKind::InvalidField,
                format!("invalid field tables: {error}"),
            )))
        }
    };
    let mut object = String::new();
    for table in tables {
        for row in table.rows {
            object.clear();
            object.push('{');
            for (column, cell) in table.columns.iter().zip(&row) {
                if cell.get() == "null" {
                    continue;
                }
                if object.len() > 1 {
                    object.push(',');
                }
                object.push_str(&serde_json::Value::from(column.name.as_str()).to_string());
                object.push(':');
                object.push_str(cell.get());
            }
            object.push('}');
            normalize_at(&object, depth + 1, emit);
        }
    }
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

/// The sign-in category a table or Azure Monitor category names.
fn signin_category(name: &str) -> Option<SignInCategory> {
    const NAMES: [(&str, SignInCategory); 10] = [
        ("SignInLogs", SignInCategory::Interactive),
        ("SigninLogs", SignInCategory::Interactive),
        // AD FS sign-ins that Entra Connect Health sends to Entra ID: users at the federation
        // server.
        ("ADFSSignInLogs", SignInCategory::Interactive),
        (
            "NonInteractiveUserSignInLogs",
            SignInCategory::NonInteractive,
        ),
        (
            "AADNonInteractiveUserSignInLogs",
            SignInCategory::NonInteractive,
        ),
        (
            "ServicePrincipalSignInLogs",
            SignInCategory::ServicePrincipal,
        ),
        (
            "AADServicePrincipalSignInLogs",
            SignInCategory::ServicePrincipal,
        ),
        // Sign-ins of Microsoft's own service principals.
        (
            "MicrosoftServicePrincipalSignInLogs",
            SignInCategory::ServicePrincipal,
        ),
        ("ManagedIdentitySignInLogs", SignInCategory::ManagedIdentity),
        (
            "AADManagedIdentitySignInLogs",
            SignInCategory::ManagedIdentity,
        ),
    ];
    let name = name.trim();
    NAMES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, category)| *category)
}

fn is_signin_operation(name: Option<&Text>) -> bool {
    name.is_some_and(|name| name.as_str().eq_ignore_ascii_case("Sign-in activity"))
}

fn eq(text: Option<&str>, wanted: &str) -> bool {
    text.is_some_and(|text| text.eq_ignore_ascii_case(wanted))
}

fn text<'b>(field: &'b Option<Text>) -> Option<&'b str> {
    first(&[field])
}

/// The keys that make a record a sign-in, in whichever shape (see the module docs).
fn is_signin<P>(record: &Raw<P>, envelope: Option<&Record>) -> bool {
    let named =
        |raw_category: &Option<Text>| text(raw_category).and_then(signin_category).is_some();
    let has_user = record.user_principal_name.is_some()
        || record.service_principal_id.is_some()
        || record.service_principal_name.is_some();
    let has_result = record.status.is_some() || record.result_type.is_some();
    is_signin_operation(record.operation_name.as_ref())
        || envelope
            .is_some_and(|e| is_signin_operation(e.operation_name.as_ref()) || named(&e.category))
        || named(&record.category)
        || named(&record.table)
        || (record.created.is_some() && record.status.as_ref().is_some_and(Json::is_object))
        || (has_user && has_result && record.activity_display_name.is_none())
}

/// The keys that make a record a directory audit.
fn is_directory_audit<P>(record: &Raw<P>) -> bool {
    record.activity_display_name.is_some()
        || (record.operation_name.is_some()
            && !is_signin_operation(record.operation_name.as_ref())
            // A risk event (`AADUserRiskEvents` has `OperationName` "User Risk Detection" and
            // `ActivityDateTime` too) is no directory audit.
            && record.risk_event_type.is_none()
            && record.risk_type.is_none()
            && (record.initiated_by.is_some()
                || record.target_resources.is_some()
                || record.activity_date_time.is_some()
                || record.logged_by_service.is_some()))
}

fn classify(raw: &Record, text: &str) -> Normalized {
    // Azure Monitor export: envelope + properties.
    if let Some(properties) = raw.properties.as_ref() {
        let category = self::text(&raw.category);
        if is_signin(properties, Some(raw)) {
            return done(
                signin(properties, Shape::AzureMonitor, Some(raw), text).map(Event::SignIn),
            );
        }
        if properties.audit_event_id.is_some() && !is_directory_audit(properties) {
            // Intune's audit log: its own PascalCase shape under the same category name.
            let name = self::text(&raw.operation_name).unwrap_or_default();
            return ignored("intune audit", name);
        }
        if is_directory_audit(properties) || eq(category, "AuditLogs") {
            return audit::graph(properties, Shape::AzureMonitor, Some(raw), text);
        }
        if properties.risk_event_type.is_some()
            || properties.risk_type.is_some()
            || eq(category, "UserRiskEvents")
        {
            return risk::risk_detection(properties, Shape::AzureMonitor, Some(raw), text);
        }
        if category.is_some() || raw.operation_name.is_some() {
            let name = category.or_else(|| self::text(&raw.operation_name));
            return ignored("azure monitor category", name.unwrap_or_default());
        }
    }
    // Unified audit log, and Log Analytics `OfficeActivity` rows that carry its fields.
    if let Some(operation) = self::text(&raw.operation) {
        let workload = self::text(&raw.workload);
        let record_type = self::text(&raw.record_type);
        if workload.is_some()
            || record_type.is_some()
            || raw.creation_time.is_some()
            || raw.organization_id.is_some()
            || (raw.parameters.is_some() && office::looks_like_cmdlet(operation))
        {
            return office::unified(raw, operation, workload, record_type, text);
        }
    }
    let shape = if raw.time_generated.is_some() || raw.table.is_some() {
        Shape::LogAnalytics
    } else {
        Shape::Graph
    };
    if is_directory_audit(raw) {
        return audit::graph(raw, shape, None, text);
    }
    if raw.risk_event_type.is_some() || raw.risk_type.is_some() {
        return risk::risk_detection(raw, shape, None, text);
    }
    if is_signin(raw, None) {
        return done(signin(raw, shape, None, text).map(Event::SignIn));
    }
    if let Some(table) = self::text(&raw.table).or_else(|| self::text(&raw.operation_name)) {
        return ignored("log analytics table", table);
    }
    // Graph `riskyUser` / `riskyUserHistoryItem` (a page of `identityProtection/riskyUsers`): a
    // user's risk standing, which Identity Protection derives from the detections read above.
    if raw.risk_last_updated.is_some() && raw.user_principal_name.is_some() {
        return ignored("identity protection", "risky user");
    }
    Normalized::Rejected(Rejection::new(
        RejectionKind::UnknownShape,
        "unknown event shape: no sign-in, audit, Exchange or risk marker (category + properties, \
         createdDateTime + status, userPrincipalName + ResultType, activityDisplayName, \
         OperationName, Operation + Workload / RecordType, riskEventType)",
    ))
}

/// An event read, or why not: what becomes of the record.
fn done(result: Result<Event, Rejection>) -> Normalized {
    match result {
        Ok(event) => Normalized::Event(event),
        Err(rejection) => Normalized::Rejected(rejection),
    }
}

fn invalid(reason: String) -> Rejection {
    Rejection::new(RejectionKind::InvalidField, reason)
}

/// The time of a record: the first of `candidates` present, else a rejection naming what was
/// looked for (`what` is the kind of record, `fields` the names of the candidates).
fn parse_time(candidates: &[&Option<Text>], what: &str, fields: &str) -> Result<i64, Rejection> {
    let text =
        first(candidates).ok_or_else(|| invalid(format!("missing time: {what} needs {fields}")))?;
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

/// The category of a sign-in: the table or category that names it, else what the record says of
/// itself (`signInEventTypes`, `isInteractive`), else a service principal when it names one and
/// no user.
fn category_of<P>(record: &Raw<P>, envelope: Option<&Record>) -> SignInCategory {
    let named = [
        envelope.and_then(|e| text(&e.category)),
        text(&record.table),
        text(&record.category),
    ]
    .into_iter()
    .flatten()
    .find_map(signin_category);
    if let Some(category) = named {
        return category;
    }
    let types = record
        .sign_in_event_types
        .as_ref()
        .map(|types| types.0)
        .unwrap_or_default();
    if types.service_principal {
        SignInCategory::ServicePrincipal
    } else if types.managed_identity {
        SignInCategory::ManagedIdentity
    } else if types.non_interactive_user || record.is_interactive.0 == Some(false) {
        SignInCategory::NonInteractive
    } else if record.user_principal_name.is_none()
        && (record.service_principal_id.is_some() || record.service_principal_name.is_some())
    {
        SignInCategory::ServicePrincipal
    } else {
        SignInCategory::Interactive
    }
}

/// A sign-in from Graph-named fields (in any case): the Graph resource, a Log Analytics row, or
/// the `properties` of an Azure Monitor export (`envelope` then supplies fallbacks).
fn signin<P>(
    record: &Raw<P>,
    shape: Shape,
    envelope: Option<&Record>,
    text: &str,
) -> Result<SignIn, Rejection> {
    let envelope_time = envelope.map_or(&None, |e| &e.time);
    let time = parse_time(
        &[
            &record.created,
            &record.time_generated,
            envelope_time,
            &record.time,
        ],
        "a sign-in",
        "createdDateTime, TimeGenerated or time",
    )?;
    let status = raw::decode_status(record.status, "status").map_err(invalid)?;
    let mut code = status.and_then(|status| status.error_code.0);
    if code.is_none() {
        let result = record
            .result_type
            .as_ref()
            .or(envelope.and_then(|e| e.result_type.as_ref()));
        code = raw::result_code(result)
            .map_err(|e| invalid(format!("invalid field resultType: {e}")))?;
    }
    let result_code = code_of(code, "status.errorCode or ResultType")?;
    let category = category_of(record, envelope);
    let upn = self::text(&record.user_principal_name);
    let principal = first(&[&record.service_principal_name, &record.service_principal_id]);
    let user = if category.is_user() {
        upn.or(principal)
    } else {
        principal.or(upn)
    }
    .or_else(|| self::text(&record.user_id))
    .map(lowercase)
    .ok_or_else(|| {
        invalid("missing user: a sign-in needs userPrincipalName, servicePrincipalName or servicePrincipalId".into())
    })?;
    let ip = first(&[&record.ip_address, envelope.map_or(&None, |e| &e.caller_ip)]);
    let user_agent = self::text(&record.user_agent);
    let client_app = self::text(&record.client_app_used);
    let protocol = self::text(&record.authentication_protocol);
    let id = first(&[&record.id, &record.original_request_id]);
    Ok(SignIn::from(SignInFields {
        time,
        id: id.map_or_else(|| Cow::Owned(synthesized_id(text)), Cow::Borrowed),
        shape,
        category,
        user,
        ip: ip.and_then(canonical_ip_text),
        result_code,
        correct_password_step: record
            .authentication_details
            .as_ref()
            .is_some_and(|steps| steps.0 .0),
        app_id: kept(self::text(&record.app_id)),
        app_name: kept(self::text(&record.app_display_name)),
        user_agent: kept(user_agent),
        factor: factor(self::text(&record.authentication_requirement)),
        legacy: is_legacy(client_app, protocol, user_agent),
        asn: record.asn.0.and_then(|asn| u32::try_from(asn).ok()),
        tenant_id: kept(first(&[
            &record.resource_tenant_id,
            &record.aad_tenant_id,
            envelope.map_or(&None, |e| &e.tenant_id),
            &record.tenant_id,
        ])),
        home_tenant_id: kept(self::text(&record.home_tenant_id)),
        app_owner_tenant_id: kept(self::text(&record.app_owner_tenant_id)),
        country: kept(record.country.get()),
        device_id: kept(record.device.get()),
        risk_event_types: record
            .risk_event_types
            .as_ref()
            .map(|r| r.0.clone())
            .unwrap_or_default(),
    }))
}

#[cfg(test)]
pub(crate) mod tests;
