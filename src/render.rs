//! Rendering: a typed event written back out in the raw shapes it comes in.
//!
//! The inverse of normalization, used by the golden tests (one case, every shape), by the scenario
//! generator, and by the round-trip property that keeps the normalizer honest: rendering a sign-in
//! in a shape and normalizing it gives the same sign-in back.

use serde_json::{json, Value};

use crate::event::{
    Actor, DirectoryAudit, Event, ExchangeAdmin, FactorRequirement, MailClient, MailboxAccess,
    RiskDetection, Shape, SignIn, SignInCategory,
};
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
        "id": signin.id(),
        "createdDateTime": iso(signin.time),
        "userPrincipalName": signin.user(),
        "ipAddress": signin.ip(),
        "status": {"errorCode": signin.result_code},
        "appId": signin.app_id(),
        "appDisplayName": signin.app_name(),
        "userAgent": signin.user_agent(),
        "clientAppUsed": client_app,
        "authenticationDetails": details,
        "autonomousSystemNumber": signin.asn,
        "resourceTenantId": signin.tenant_id(),
        "homeTenantId": signin.home_tenant_id(),
        "appOwnerTenantId": signin.app_owner_tenant_id(),
        "riskEventTypes_v2": signin.risk_event_types,
        "location": {"countryOrRegion": signin.country()},
        "deviceDetail": {"deviceId": signin.device_id()},
        "isInteractive": signin.category == SignInCategory::Interactive,
        "signInEventTypes": [match signin.category {
            SignInCategory::Interactive => "interactiveUser",
            SignInCategory::NonInteractive => "nonInteractiveUser",
            SignInCategory::ServicePrincipal => "servicePrincipal",
            SignInCategory::ManagedIdentity => "managedIdentity",
        }],
    });
    if let Some(requirement) = requirement(signin.factor) {
        set(&mut value, "authenticationRequirement", json!(requirement));
    }
    if !signin.category.is_user() {
        set(&mut value, "servicePrincipalName", json!(signin.user()));
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
            "tenantId": signin.tenant_id(),
            "resultType": signin.result_code.to_string(),
            "callerIpAddress": signin.ip(),
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
                "TenantId": signin.tenant_id(),
                "TimeGenerated": iso(signin.time),
                "OperationName": "Sign-in activity",
                "Category": category_name(signin.category, Shape::AzureMonitor),
                "Type": category_name(signin.category, shape),
                "ResultType": signin.result_code.to_string(),
                "Id": signin.id(),
                "UserPrincipalName": signin.user(),
                "IPAddress": signin.ip(),
                "AppId": signin.app_id(),
                "AppDisplayName": signin.app_name(),
                "UserAgent": signin.user_agent(),
                "ClientAppUsed": if signin.legacy { "Other clients" } else { "Browser" },
                "AuthenticationDetails": details,
                "Status": json!({"errorCode": signin.result_code}).to_string(),
                "AutonomousSystemNumber": signin.asn.map(|asn| asn.to_string()),
                "ResourceTenantId": signin.tenant_id(),
                "HomeTenantId": signin.home_tenant_id(),
                "AppOwnerTenantId": signin.app_owner_tenant_id(),
                "RiskEventTypes_V2": serde_json::to_string(&signin.risk_event_types).unwrap_or_default(),
                "Location": signin.country(),
                "LocationDetails": json!({"countryOrRegion": signin.country()}).to_string(),
                "DeviceDetail": json!({"deviceId": signin.device_id()}).to_string(),
            });
            if let Some(requirement) = requirement(signin.factor) {
                set(&mut value, "AuthenticationRequirement", json!(requirement));
            }
            if !signin.category.is_user() {
                set(&mut value, "ServicePrincipalName", json!(signin.user()));
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
            if let Some(agent) = signin.user_agent() {
                extended.push(json!({"Name": "UserAgent", "Value": agent}));
            }
            json!({
                "CreationTime": iso(signin.time).trim_end_matches('Z'),
                "Id": signin.id(),
                "Operation": operation,
                "OrganizationId": signin.tenant_id(),
                "RecordType": 15,
                "ResultStatus": "Success",
                "UserKey": "10032001A8B7C6D5",
                "UserType": 0,
                "Version": 1,
                "Workload": "AzureActiveDirectory",
                "ClientIP": signin.ip(),
                "ObjectId": "00000002-0000-0000-c000-000000000000",
                "UserId": signin.user(),
                "AzureActiveDirectoryEventType": 1,
                "ExtendedProperties": extended,
                "ApplicationId": signin.app_id(),
                "ErrorNumber": signin.result_code.to_string(),
            })
        }
    };
    value.to_string()
}

/// Writes any event as one JSON object in `shape`. Exchange records exist only in the unified
/// audit log and Log Analytics; asked for another shape, they are written as unified audit log.
pub fn event(event: &Event, shape: Shape) -> String {
    match event {
        Event::SignIn(event) => signin(event, shape),
        Event::DirectoryAudit(event) => audit(event, shape),
        Event::MailboxAccess(event) => mailbox_access(event, shape),
        Event::ExchangeAdmin(event) => exchange_admin(event, shape),
        Event::RiskDetection(event) => risk_detection(event, shape),
    }
}

/// A modified value as the Graph shapes write it: JSON-encoded, so a string is quoted; arrays
/// and objects are already JSON text.
fn encoded(value: &str) -> Value {
    if value.is_empty() {
        return Value::Null;
    }
    if value.starts_with('[') || value.starts_with('{') {
        return json!(value);
    }
    json!(serde_json::to_string(value).unwrap_or_default())
}

fn initiated_by(actor: &Actor) -> Value {
    if actor.is_app() {
        json!({"app": {
            "appId": actor.app_id, "displayName": actor.display_name,
            "servicePrincipalId": actor.service_principal_id, "servicePrincipalName": actor.display_name,
        }})
    } else {
        json!({"user": {
            "id": actor.object_id, "displayName": actor.display_name,
            "userPrincipalName": actor.user, "ipAddress": actor.ip,
        }})
    }
}

fn audit_graph(audit: &DirectoryAudit) -> Value {
    let targets: Vec<Value> = audit
        .targets
        .iter()
        .enumerate()
        .map(|(index, target)| {
            let modified: Vec<Value> = if index == 0 {
                audit
                    .modified
                    .iter()
                    .map(|m| json!({"displayName": m.name, "oldValue": encoded(&m.old), "newValue": encoded(&m.new)}))
                    .collect()
            } else {
                Vec::new()
            };
            json!({
                "id": target.id, "displayName": target.display_name, "type": target.kind,
                "userPrincipalName": target.user, "modifiedProperties": modified,
            })
        })
        .collect();
    let details: Vec<Value> = audit
        .details
        .iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect();
    json!({
        "id": audit.id,
        "category": "ApplicationManagement",
        "correlationId": "7b2f1c7e-0000-4000-8000-000000000000",
        "result": if audit.success { "success" } else { "failure" },
        "resultReason": audit.reason.as_deref().unwrap_or_default(),
        "activityDisplayName": audit.activity_name,
        "activityDateTime": iso(audit.time),
        "loggedByService": "Core Directory",
        "operationType": "Add",
        "initiatedBy": initiated_by(&audit.actor),
        "targetResources": targets,
        "additionalDetails": details,
    })
}

/// Writes a directory audit record in `shape`.
pub fn audit(audit: &DirectoryAudit, shape: Shape) -> String {
    let value = match shape {
        Shape::Graph => audit_graph(audit),
        Shape::AzureMonitor => json!({
            "time": iso(audit.time),
            "resourceId": "/tenants/00000000-0000-0000-0000-000000000000/providers/Microsoft.aadiam",
            "operationName": audit.activity_name,
            "operationVersion": "1.0",
            "category": "AuditLogs",
            "tenantId": audit.tenant_id,
            "resultSignature": "None",
            "durationMs": 0,
            "callerIpAddress": audit.actor.ip,
            "Level": 4,
            "properties": audit_graph(audit),
        }),
        Shape::LogAnalytics => {
            let graph = audit_graph(audit);
            let field = |name: &str| graph.get(name).map(Value::to_string).unwrap_or_default();
            json!({
                "TenantId": audit.tenant_id,
                "TimeGenerated": iso(audit.time),
                "OperationName": audit.activity_name,
                "Category": "ApplicationManagement",
                "Result": if audit.success { "success" } else { "failure" },
                "ResultReason": audit.reason.as_deref().unwrap_or_default(),
                "Type": "AuditLogs",
                "Id": audit.id,
                "LoggedByService": "Core Directory",
                "InitiatedBy": field("initiatedBy"),
                "TargetResources": field("targetResources"),
                "AdditionalDetails": field("additionalDetails"),
            })
        }
        Shape::UnifiedAudit => {
            let mut actors = Vec::new();
            let user_id = match (&audit.actor.user, &audit.actor.service_principal_id) {
                (Some(user), _) => {
                    actors.push(json!({"ID": user, "Type": 5}));
                    if let Some(id) = &audit.actor.object_id {
                        actors.push(json!({"ID": id, "Type": 2}));
                    }
                    user.clone()
                }
                (None, Some(sp)) => {
                    actors.push(json!({"ID": format!("ServicePrincipal_{sp}"), "Type": 2}));
                    if let Some(app_id) = &audit.actor.app_id {
                        actors.push(json!({"ID": app_id, "Type": 2}));
                    }
                    if let Some(name) = &audit.actor.display_name {
                        actors.push(json!({"ID": name, "Type": 1}));
                    }
                    format!("ServicePrincipal_{sp}")
                }
                (None, None) => String::new(),
            };
            // Each target's typed id, then its names, as the unified audit log lists them.
            let mut targets = Vec::new();
            for target in &audit.targets {
                if let (Some(kind), Some(id)) = (&target.kind, &target.id) {
                    targets.push(json!({"ID": format!("{kind}_{id}"), "Type": 2}));
                    if let Some(name) = &target.display_name {
                        targets.push(json!({"ID": name, "Type": 1}));
                    }
                    if let Some(user) = &target.user {
                        targets.push(json!({"ID": user, "Type": 5}));
                    }
                }
            }
            let modified: Vec<Value> = audit
                .modified
                .iter()
                .map(|m| json!({"Name": m.name, "NewValue": m.new, "OldValue": m.old}))
                .collect();
            let extended: Vec<Value> = audit
                .details
                .iter()
                .map(|(k, v)| json!({"Name": k, "Value": v}))
                .collect();
            json!({
                "CreationTime": iso(audit.time).trim_end_matches('Z'),
                "Id": audit.id,
                "Operation": format!("{}.", audit.activity_name),
                "OrganizationId": audit.tenant_id,
                "RecordType": 8,
                "ResultStatus": if audit.success { "Success" } else { "Failure" },
                "UserKey": "Not Available",
                "UserType": if audit.actor.is_app() { 4 } else { 0 },
                "Version": 1,
                "Workload": "AzureActiveDirectory",
                "ObjectId": audit.targets.first().and_then(|t| t.id.clone()),
                "UserId": user_id,
                "AzureActiveDirectoryEventType": 1,
                "ActorIpAddress": audit.actor.ip,
                "Actor": actors,
                "Target": targets,
                "ModifiedProperties": modified,
                "ExtendedProperties": extended,
            })
        }
    };
    value.to_string()
}

/// Writes a `MailItemsAccessed` record (unified audit log, or Log Analytics `OfficeActivity`).
pub fn mailbox_access(access: &MailboxAccess, shape: Shape) -> String {
    let client_info = match access.client {
        MailClient::Ews => "Client=WebServices;ExchangeWebServices/1.0;",
        MailClient::Graph => "Client=REST;Client=RESTSystem;;",
        MailClient::Other => "Client=Microsoft Outlook 16.0;",
    };
    let properties = json!([
        {"Name": "MailAccessType", "Value": "Bind"},
        {"Name": "IsThrottled", "Value": if access.throttled { "True" } else { "False" }},
    ]);
    let value = if shape == Shape::LogAnalytics {
        json!({
            "TimeGenerated": iso(access.time),
            "Type": "OfficeActivity",
            "OfficeWorkload": "Exchange",
            "RecordType": "ExchangeItemAggregated",
            "Operation": "MailItemsAccessed",
            "OfficeId": access.id,
            "OrganizationId": access.tenant_id,
            "UserId": access.user,
            "UserType": "Regular",
            "ClientIP": access.ip,
            "MailboxOwnerUPN": access.mailbox,
            "AppId": access.app_id,
            "ClientAppId": access.client_app_id,
            "ClientInfoString": client_info,
            "OperationProperties": properties.to_string(),
            "OperationCount": access.operation_count,
            "TokenTenantId": access.token_tenant_id,
        })
    } else {
        json!({
            "CreationTime": iso(access.time).trim_end_matches('Z'),
            "Id": access.id,
            "Operation": "MailItemsAccessed",
            "OrganizationId": access.tenant_id,
            "RecordType": 50,
            "ResultStatus": "Succeeded",
            "UserKey": "10030000A1B2C3D4",
            "UserType": 0,
            "Version": 1,
            "Workload": "Exchange",
            "UserId": access.user,
            "AppId": access.app_id,
            "ClientAppId": access.client_app_id,
            "ClientIPAddress": access.ip,
            "ClientInfoString": client_info,
            "ExternalAccess": false,
            "LogonType": 0,
            "MailboxOwnerUPN": access.mailbox,
            "OperationProperties": properties,
            "OperationCount": access.operation_count,
            "Folders": [{"Path": "\\Inbox", "FolderItems": [{"InternetMessageId": "<a@b>"}]}],
            "TokenTenantId": access.token_tenant_id,
        })
    };
    value.to_string()
}

/// Writes an Exchange admin cmdlet record (unified audit log, or Log Analytics `OfficeActivity`).
pub fn exchange_admin(admin: &ExchangeAdmin, shape: Shape) -> String {
    let parameters: Vec<Value> = admin
        .parameters
        .iter()
        .map(|(name, value)| json!({"Name": name, "Value": value}))
        .collect();
    let result = if admin.success { "True" } else { "False" };
    let value = if shape == Shape::LogAnalytics {
        json!({
            "TimeGenerated": iso(admin.time),
            "Type": "OfficeActivity",
            "OfficeWorkload": "Exchange",
            "RecordType": "ExchangeAdmin",
            "Operation": admin.cmdlet,
            "OfficeId": admin.id,
            "OrganizationId": admin.tenant_id,
            "UserId": admin.actor,
            "ObjectId": admin.object,
            "Parameters": Value::Array(parameters).to_string(),
            "ResultStatus": result,
        })
    } else {
        json!({
            "CreationTime": iso(admin.time).trim_end_matches('Z'),
            "Id": admin.id,
            "Operation": admin.cmdlet,
            "OrganizationId": admin.tenant_id,
            "RecordType": 1,
            "ResultStatus": result,
            "UserKey": "10030000A1B2C3D4",
            "UserType": 2,
            "Version": 1,
            "Workload": "Exchange",
            "ObjectId": admin.object,
            "UserId": admin.actor,
            "ExternalAccess": false,
            "OrganizationName": "contoso.onmicrosoft.com",
            "Parameters": parameters,
        })
    };
    value.to_string()
}

/// Writes a risk detection in `shape` (Graph `riskDetection`, Azure Monitor `UserRiskEvents`,
/// Log Analytics `AADUserRiskEvents`; asked for the unified audit log, written as Graph).
pub fn risk_detection(risk: &RiskDetection, shape: Shape) -> String {
    let graph = json!({
        "id": risk.id,
        "riskEventType": risk.risk_type,
        "riskState": "atRisk",
        "riskLevel": risk.risk_level,
        "riskDetail": "none",
        "source": "IdentityProtection",
        "detectionTimingType": "offline",
        "activity": "signin",
        "ipAddress": risk.ip,
        "activityDateTime": iso(risk.time),
        "detectedDateTime": iso(risk.time),
        "lastUpdatedDateTime": iso(risk.time),
        "userPrincipalName": risk.user,
    });
    let value = match shape {
        Shape::AzureMonitor => json!({
            "time": iso(risk.time),
            "category": "UserRiskEvents",
            "operationName": "User Risk Detection",
            "tenantId": risk.tenant_id,
            "properties": graph,
        }),
        Shape::LogAnalytics => json!({
            "TimeGenerated": iso(risk.time),
            "Type": "AADUserRiskEvents",
            "Id": risk.id,
            "RiskEventType": risk.risk_type,
            "RiskLevel": risk.risk_level,
            "DetectedDateTime": iso(risk.time),
            "UserPrincipalName": risk.user,
            "IpAddress": risk.ip,
            "TenantId": risk.tenant_id,
        }),
        Shape::Graph | Shape::UnifiedAudit => graph,
    };
    value.to_string()
}
