//! Records of the unified audit log (the Office 365 Management Activity API) and the Log Analytics
//! `OfficeActivity` rows that carry its fields: logons (RecordType 15), directory changes
//! (RecordType 8, in `audit.rs`), `MailItemsAccessed` (RecordType 50) and Exchange admin cmdlets
//! (RecordType 1).

use std::borrow::Cow;

use super::raw::{self, first, get, member_text, name_values, nested, value_text, Record};
use super::{
    audit, canonical_ip, canonical_ip_text, code_of, done, ignored, invalid, is_legacy, kept,
    lowercase, owned, parse_time, synthesized_id, Normalized, Rejection,
};
use crate::event::{
    Event, ExchangeAdmin, FactorRequirement, MailClient, MailboxAccess, Shape, SignIn,
    SignInCategory, SignInFields,
};

/// Microsoft Graph's app id: mail read through Graph logs it as `AppId`.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// The `RecordType` of directory records: the number, or its name in `OfficeActivity`.
const DIRECTORY_RECORD_TYPES: [&str; 2] = ["8", "AzureActiveDirectory"];

/// A unified audit log record, by its operation.
pub fn unified(
    raw: &Record,
    operation: &str,
    workload: Option<&str>,
    record_type: Option<&str>,
    text: &str,
) -> Normalized {
    if is_logon(operation) {
        return done(signin(raw, operation, text).map(Event::SignIn));
    }
    if operation.eq_ignore_ascii_case("MailItemsAccessed") {
        return done(mailbox_access(raw, text).map(Event::MailboxAccess));
    }
    let is = |wanted: &str| workload.is_some_and(|w| w.eq_ignore_ascii_case(wanted));
    // A cmdlet with its parameters is Exchange's, also in a projection that dropped `Workload`.
    if looks_like_cmdlet(operation)
        && (is("Exchange") || (workload.is_none() && raw.parameters.is_some()))
    {
        return exchange_admin(raw, operation, text);
    }
    if is("AzureActiveDirectory")
        || record_type.is_some_and(|kind| {
            DIRECTORY_RECORD_TYPES
                .iter()
                .any(|known| known.eq_ignore_ascii_case(kind))
        })
    {
        return audit::unified(raw, operation, text);
    }
    let name = format!("{} {operation}", workload.unwrap_or("(no workload)"));
    ignored("unified audit log", &name)
}

/// The logons of the unified audit log: `UserLoggedIn` and `UserLoginFailed` (RecordType 15), and
/// the older account logons (RecordType 9, `PasswordLogonInitialAuthUsingPassword`).
fn is_logon(operation: &str) -> bool {
    ["UserLoggedIn", "UserLoginFailed"]
        .iter()
        .any(|logon| logon.eq_ignore_ascii_case(operation))
        || operation
            .get(..13)
            .is_some_and(|head| head.eq_ignore_ascii_case("PasswordLogon"))
}

/// `Verb-Noun`, as Exchange's cmdlets are named.
pub fn looks_like_cmdlet(operation: &str) -> bool {
    operation.split_once('-').is_some_and(|(verb, noun)| {
        !verb.is_empty() && !noun.is_empty() && !operation.contains(' ')
    })
}

fn shape_of(raw: &Record) -> Shape {
    if raw.creation_time.is_some() {
        Shape::UnifiedAudit
    } else {
        Shape::LogAnalytics
    }
}

fn record_time(raw: &Record, what: &str) -> Result<i64, Rejection> {
    parse_time(
        &[&raw.creation_time, &raw.time_generated],
        what,
        "CreationTime or TimeGenerated",
    )
}

fn record_id(raw: &Record, text: &str) -> String {
    first(&[&raw.id]).map_or_else(|| synthesized_id(text), str::to_owned)
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

fn signin(raw: &Record, operation: &str, text: &str) -> Result<SignIn, Rejection> {
    let time = record_time(raw, "a logon")?;
    // `ExtendedProperties` only adds the user agent and a failure's name: one that is not a list
    // (a string of cmdlet syntax in an edited export) costs those, not the sign-in.
    let extended = nested(raw.extended_properties, "ExtendedProperties").unwrap_or_default();
    let extended = name_values(&extended);
    let extra = |name: &str| {
        extended
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    };
    let result_code = match raw.error_number.0 {
        Some(code) => code_of(Some(code), "ErrorNumber")?,
        None if operation.eq_ignore_ascii_case("UserLoggedIn") => 0,
        // An account logon (RecordType 9): `LoginStatus` 0 is a success.
        None if raw.login_status.0 == Some(0) => 0,
        None => {
            let name = first(&[&raw.logon_error])
                .or_else(|| extra("LogonError"))
                .unwrap_or("");
            let account_logon_error = extra("LoginError").unwrap_or("");
            LOGON_ERRORS
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(name))
                .map(|(_, code)| *code)
                // `-2147217390;PP_E_BAD_PASSWORD;The entered and stored passwords do not match.`
                .or_else(|| {
                    account_logon_error
                        .contains("PP_E_BAD_PASSWORD")
                        .then_some(50126)
                })
                .unwrap_or(1)
        }
    };
    let user = first(&[&raw.user_id])
        .map(lowercase)
        .ok_or_else(|| invalid("missing user (UserId)".to_owned()))?;
    let user_agent = extra("UserAgent");
    Ok(SignIn::from(SignInFields {
        time,
        id: first(&[&raw.id]).map_or_else(|| Cow::Owned(synthesized_id(text)), Cow::Borrowed),
        shape: shape_of(raw),
        category: SignInCategory::Interactive,
        user,
        ip: first(&[&raw.client_ip, &raw.actor_ip]).and_then(canonical_ip_text),
        result_code,
        correct_password_step: false,
        app_id: kept(first(&[&raw.application_id])),
        app_name: None,
        user_agent: kept(user_agent),
        factor: FactorRequirement::Unknown,
        legacy: is_legacy(None, None, user_agent),
        asn: None,
        tenant_id: kept(first(&[&raw.organization_id])),
        home_tenant_id: None,
        app_owner_tenant_id: None,
        country: None,
        device_id: None,
        risk_event_types: Vec::new(),
    }))
}

/// A `MailItemsAccessed` record.
fn mailbox_access(raw: &Record, text: &str) -> Result<MailboxAccess, Rejection> {
    let time = record_time(raw, "a mailbox access")?;
    let mailbox = first(&[&raw.mailbox_owner])
        .ok_or_else(|| invalid("missing mailbox (MailboxOwnerUPN)".into()))?;
    let app_id = owned(first(&[&raw.app_id]));
    let context = nested(raw.app_access_context, "AppAccessContext").map_err(invalid)?;
    let context_app = member_text(&context, "ClientAppId");
    let client_app_id = owned(first(&[&raw.client_app_id]))
        .or(context_app)
        .or_else(|| app_id.clone());
    let client_info = first(&[&raw.client_info]).unwrap_or("");
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
    let properties = nested(raw.operation_properties, "OperationProperties").map_err(invalid)?;
    let throttled = name_values(&properties).iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("IsThrottled") && value.eq_ignore_ascii_case("true")
    });
    Ok(MailboxAccess {
        time,
        id: record_id(raw, text),
        shape: shape_of(raw),
        user: first(&[&raw.user_id]).unwrap_or("").to_lowercase(),
        mailbox: mailbox.to_lowercase(),
        client_app_id: client_app_id.map(|app| app.to_lowercase()),
        app_id: app_id.map(|app| app.to_lowercase()),
        client,
        ip: first(&[&raw.client_ip_address, &raw.client_ip]).and_then(canonical_ip),
        throttled,
        operation_count: raw
            .operation_count
            .0
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(1),
        tenant_id: owned(first(&[&raw.organization_id])),
        token_tenant_id: owned(first(&[&raw.token_tenant_id])),
    })
}

/// An Exchange admin cmdlet record.
fn exchange_admin(raw: &Record, cmdlet: &str, text: &str) -> Normalized {
    let time = match record_time(raw, "an Exchange cmdlet") {
        Ok(time) => time,
        Err(rejection) => return Normalized::Rejected(rejection),
    };
    let parameters = match nested(raw.parameters, "Parameters") {
        Ok(parameters) => name_values(&parameters),
        Err(reason) => match raw.parameters.and_then(|json| command_line(json.0)) {
            Some(parameters) => parameters,
            None => return Normalized::Rejected(invalid(reason)),
        },
    };
    let success = raw.result_status.as_ref().is_none_or(|status| {
        ["true", "succeeded", "success", ""]
            .iter()
            .any(|ok| status.as_str().eq_ignore_ascii_case(ok))
    });
    Normalized::Event(Event::ExchangeAdmin(ExchangeAdmin {
        time,
        id: record_id(raw, text),
        shape: shape_of(raw),
        cmdlet: cmdlet.to_owned(),
        parameters,
        actor: first(&[&raw.user_id]).unwrap_or("").to_lowercase(),
        object: owned(first(&[&raw.object_id])),
        tenant_id: owned(first(&[&raw.organization_id])),
        success,
    }))
}

/// `Parameters` given as one string of cmdlet syntax (`-Identity "ceo" -AuditEnabled $false`),
/// as some pipelines flatten them: `-Name value`, `-Name:value`, a switch alone is `True`; quoted
/// values keep their spaces. `None` when the text is not that (no leading `-`).
fn command_line(json: &str) -> Option<Vec<(String, String)>> {
    let text: String = serde_json::from_str(json).ok()?;
    let text = text.trim();
    if !text.starts_with('-') {
        return None;
    }
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut token = String::new();
        let mut quoted = false;
        let mut depth = 0usize;
        let mut quote = None;
        while let Some(&c) = chars.peek() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => token.push(c),
                None if c == '"' || c == '\'' => {
                    quote = Some(c);
                    quoted = true;
                }
                None if c.is_whitespace() && depth == 0 => break,
                None => {
                    match c {
                        '(' => depth += 1,
                        ')' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    token.push(c);
                }
            }
            chars.next();
        }
        tokens.push((token, quoted));
    }
    let mut parameters: Vec<(String, String)> = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    while let Some((token, quoted)) = tokens.next() {
        let Some(name) = token
            .strip_prefix('-')
            .filter(|_| !quoted && is_parameter_name(&token))
        else {
            // A value with no name before it: kept under the empty name, as positional.
            parameters.push((String::new(), token));
            continue;
        };
        if let Some((name, value)) = name.split_once(':') {
            parameters.push((name.to_owned(), value.to_owned()));
            continue;
        }
        let value = match tokens.peek() {
            Some((next, next_quoted)) if *next_quoted || !is_parameter_name(next) => {
                tokens.next().map(|(value, _)| value).unwrap_or_default()
            }
            _ => "True".to_owned(),
        };
        parameters.push((name.to_owned(), value));
    }
    Some(parameters)
}

/// `-Name`, not a negative number.
fn is_parameter_name(token: &str) -> bool {
    token
        .strip_prefix('-')
        .and_then(|rest| rest.chars().next())
        .is_some_and(char::is_alphabetic)
}

/// The unified audit log's `{ID, Type}` entries (`Actor`, `Target`) of a record.
pub fn id_types(
    raw: Option<raw::Json>,
    field: &str,
) -> Result<Vec<(String, Option<i64>)>, Rejection> {
    let value = nested(raw, field).map_err(invalid)?;
    Ok(raw::elements(&value)
        .iter()
        .map(|entry| {
            let kind = get(entry, "Type").and_then(|kind| match kind {
                serde_json::Value::Number(n) => n.as_i64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            });
            (value_text(get(entry, "ID")), kind)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::command_line;

    fn parse(text: &str) -> Option<Vec<(String, String)>> {
        command_line(&serde_json::to_string(text).unwrap())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn cmdlet_syntax_parameters_are_read_as_names_and_values() {
        assert_eq!(
            parse(r#"-Identity "Adele Vance" -AuditEnabled $false -Force"#),
            Some(pairs(&[
                ("Identity", "Adele Vance"),
                ("AuditEnabled", "$false"),
                ("Force", "True"),
            ]))
        );
        // Elastic's flattened record: lists in brackets stay one value, `-Name:value` splits.
        assert_eq!(
            parse(r#"-PageSize "100" -QuarantineTypes ("Bulk","Spam") -Confirm:$false -Offset -1"#),
            Some(pairs(&[
                ("PageSize", "100"),
                ("QuarantineTypes", "(Bulk,Spam)"),
                ("Confirm", "$false"),
                ("Offset", "-1"),
            ]))
        );
        assert_eq!(parse("Identity ceo"), None);
        assert_eq!(parse(""), None);
        assert_eq!(command_line("[1]"), None);
    }
}
