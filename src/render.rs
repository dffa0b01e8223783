//! Rendering: a typed sign-in written back out in any of the four raw shapes.
//!
//! The inverse of normalization, used by the golden tests (one case, every shape), by the scenario
//! generator, and by the round-trip property that keeps the normalizer honest: rendering a sign-in
//! in a shape and normalizing it gives the same sign-in back.

use serde_json::{json, Value};

use crate::event::{FactorRequirement, Shape, SignIn, SignInCategory};
use crate::time::{self, Timestamp};

fn category_name(category: SignInCategory, shape: Shape) -> &'static str {
    match (shape, category) {
        (Shape::LogAnalytics, SignInCategory::Interactive) => "SigninLogs",
        (Shape::LogAnalytics, SignInCategory::NonInteractive) => "AADNonInteractiveUserSignInLogs",
        (Shape::LogAnalytics, SignInCategory::ServicePrincipal) => "AADServicePrincipalSignInLogs",
        (Shape::LogAnalytics, SignInCategory::ManagedIdentity) => "AADManagedIdentitySignInLogs",
        (_, SignInCategory::Interactive) => "SignInLogs",
        (_, SignInCategory::NonInteractive) => "NonInteractiveUserSignInLogs",
        (_, SignInCategory::ServicePrincipal) => "ServicePrincipalSignInLogs",
        (_, SignInCategory::ManagedIdentity) => "ManagedIdentitySignInLogs",
    }
}

fn requirement(factor: FactorRequirement) -> Option<&'static str> {
    match factor {
        FactorRequirement::Single => Some("singleFactorAuthentication"),
        FactorRequirement::Multi => Some("multiFactorAuthentication"),
        FactorRequirement::Unknown => None,
    }
}

fn set(value: &mut Value, key: &str, field: Value) {
    if let Some(object) = value.as_object_mut() {
        object.insert(key.to_owned(), field);
    }
}

fn iso(time: Timestamp) -> String {
    time::format(time)
}

/// The Graph `signIn` resource fields shared by the Graph and Azure Monitor shapes.
fn graph_fields(signin: &SignIn) -> Value {
    let client_app = if signin.legacy {
        "Other clients"
    } else {
        "Browser"
    };
    let details = if signin.correct_password_step {
        json!([{"authenticationStepResultDetail": "Correct password", "succeeded": true}])
    } else {
        json!([])
    };
    let mut value = json!({
        "id": signin.id,
        "createdDateTime": iso(signin.time),
        "userPrincipalName": signin.user,
        "ipAddress": signin.ip,
        "status": {"errorCode": signin.result_code},
        "appId": signin.app_id,
        "appDisplayName": signin.app_name,
        "userAgent": signin.user_agent,
        "clientAppUsed": client_app,
        "authenticationDetails": details,
        "autonomousSystemNumber": signin.asn,
        "resourceTenantId": signin.tenant_id,
        "homeTenantId": signin.home_tenant_id,
        "riskEventTypes_v2": signin.risk_event_types,
        "isInteractive": signin.category == SignInCategory::Interactive,
    });
    if let Some(requirement) = requirement(signin.factor) {
        set(&mut value, "authenticationRequirement", json!(requirement));
    }
    if !signin.category.is_user() {
        set(&mut value, "servicePrincipalName", json!(signin.user));
    }
    value
}

/// Writes a sign-in as one JSON object in `shape`.
pub fn signin(signin: &SignIn, shape: Shape) -> String {
    let value = match shape {
        Shape::Graph => graph_fields(signin),
        Shape::AzureMonitor => json!({
            "time": iso(signin.time),
            "resourceId": "/tenants/00000000-0000-0000-0000-000000000000/providers/Microsoft.aadiam",
            "operationName": "Sign-in activity",
            "operationVersion": "1.0",
            "category": category_name(signin.category, shape),
            "tenantId": signin.tenant_id,
            "resultType": signin.result_code.to_string(),
            "callerIpAddress": signin.ip,
            "Level": 4,
            "properties": graph_fields(signin),
        }),
        Shape::LogAnalytics => {
            let details = if signin.correct_password_step {
                r#"[{"authenticationStepResultDetail":"Correct password","succeeded":true}]"#
            } else {
                "[]"
            };
            let mut value = json!({
                "TenantId": signin.tenant_id,
                "TimeGenerated": iso(signin.time),
                "OperationName": "Sign-in activity",
                "Category": category_name(signin.category, Shape::AzureMonitor),
                "Type": category_name(signin.category, shape),
                "ResultType": signin.result_code.to_string(),
                "Id": signin.id,
                "UserPrincipalName": signin.user,
                "IPAddress": signin.ip,
                "AppId": signin.app_id,
                "AppDisplayName": signin.app_name,
                "UserAgent": signin.user_agent,
                "ClientAppUsed": if signin.legacy { "Other clients" } else { "Browser" },
                "AuthenticationDetails": details,
                "Status": json!({"errorCode": signin.result_code}).to_string(),
                "AutonomousSystemNumber": signin.asn.map(|asn| asn.to_string()),
                "ResourceTenantId": signin.tenant_id,
                "HomeTenantId": signin.home_tenant_id,
                "RiskEventTypes_V2": serde_json::to_string(&signin.risk_event_types).unwrap_or_default(),
            });
            if let Some(requirement) = requirement(signin.factor) {
                set(&mut value, "AuthenticationRequirement", json!(requirement));
            }
            if !signin.category.is_user() {
                set(&mut value, "ServicePrincipalName", json!(signin.user));
            }
            value
        }
        Shape::UnifiedAudit => {
            let operation = if signin.succeeded() {
                "UserLoggedIn"
            } else {
                "UserLoginFailed"
            };
            let mut extended = vec![json!({"Name": "ResultStatusDetail", "Value": "Success"})];
            if let Some(agent) = &signin.user_agent {
                extended.push(json!({"Name": "UserAgent", "Value": agent}));
            }
            json!({
                "CreationTime": iso(signin.time).trim_end_matches('Z'),
                "Id": signin.id,
                "Operation": operation,
                "OrganizationId": signin.tenant_id,
                "RecordType": 15,
                "ResultStatus": "Success",
                "UserKey": "10032001A8B7C6D5",
                "UserType": 0,
                "Version": 1,
                "Workload": "AzureActiveDirectory",
                "ClientIP": signin.ip,
                "ObjectId": "00000002-0000-0000-c000-000000000000",
                "UserId": signin.user,
                "AzureActiveDirectoryEventType": 1,
                "ExtendedProperties": extended,
                "ApplicationId": signin.app_id,
                "ErrorNumber": signin.result_code.to_string(),
            })
        }
    };
    value.to_string()
}
