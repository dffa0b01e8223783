//! Issue 24, "Read every real export": the exports it measured, rebuilt here from the shapes of
//! real rows (the exports themselves are kept back), each read as what it is.

use serde_json::{json, Value};
use snowyowl::event::{Event, MailClient, Shape};
use snowyowl::normalize::{normalize, Normalized, RejectionKind};
use snowyowl::{Engine, Finding};

use crate::dress::{as_pushed, dress, Dress};
use crate::helpers::{of, run};

const APP_OBJECT: &str = "7d4b1c2a-8e3f-4a6b-9c1d-2e3f4a5b6c7d";
const APP_ID: &str = "c3a1b2d4-5e6f-4708-9a1b-2c3d4e5f6a7b";
const CLIENT_SP: &str = "9f8e7d6c-5b4a-4392-8171-605f4e3d2c1b";
const GRAPH_SP: &str = "1a2b3c4d-0000-4000-8000-000000000003";
const TENANT: &str = "5611623b-9128-461e-9d7f-a0d9c270ead2";
const WORKSPACE: &str = "ab86c959-1ba3-495c-a00d-ced30d8825d3";

fn one(text: &str) -> Normalized {
    let mut out = Vec::new();
    normalize(text, &mut |n| out.push(n));
    assert_eq!(out.len(), 1, "{text}");
    out.remove(0)
}

/// A Log Analytics `AuditLogs` row as the query API returns it: nested columns as JSON strings,
/// `Type` as the export put it.
fn audit_row(
    table_type: &str,
    time: &str,
    activity: &str,
    targets: Value,
    details: Value,
) -> Value {
    json!({
        "TenantId": WORKSPACE,
        "SourceSystem": "Azure AD",
        "TimeGenerated": time,
        "ResourceId": format!("/tenants/{TENANT}/providers/Microsoft.aadiam"),
        "OperationName": activity,
        "OperationVersion": "1.0",
        "Category": "ApplicationManagement",
        "ResultType": "",
        "ResultSignature": "None",
        "DurationMs": 0,
        "CorrelationId": format!("corr-{time}"),
        "Resource": "Microsoft.aadiam",
        "ResourceGroup": "Microsoft.aadiam",
        "Level": 4,
        "AdditionalDetails": details.to_string(),
        "Id": format!("Directory_{time}"),
        "InitiatedBy": json!({"user": {"id": "4c5d6e7f-0000-4000-8000-00000000a11c",
            "displayName": null, "userPrincipalName": "svc-legacy-test@contoso.com",
            "ipAddress": "", "roles": []}}).to_string(),
        "LoggedByService": "Core Directory",
        "Result": "success",
        "ResultReason": "",
        "TargetResources": targets.to_string(),
        "AADTenantId": TENANT,
        "ActivityDisplayName": activity,
        "ActivityDateTime": time,
        "AADOperationType": "Update",
        "Type": table_type,
    })
}

fn modified(name: &str, old: &str, new: &str) -> Value {
    json!({"displayName": name, "oldValue": old, "newValue": new})
}

/// The intrusion of the issue's first export: a secret added (the en dash, the trailing space),
/// Mail.ReadWrite requested by id, a tenant-wide grant whose grantee has no display name, and the
/// app reading mail through Graph (an `OfficeActivity` row).
fn intrusion() -> Vec<Value> {
    let app_target = |props: Vec<Value>| {
        json!([{"id": APP_OBJECT, "displayName": "Backup Sync", "type": "Application",
            "modifiedProperties": props}])
    };
    let app_details = json!([{"key": "User-Agent", "value": "python-requests/2.31"},
        {"key": "AppId", "value": APP_ID}]);
    let credential = audit_row(
        "AuditLogs",
        "2024-03-05T10:00:00.000Z",
        "Update application \u{2013} Certificates and secrets management ",
        app_target(vec![modified(
            "KeyDescription",
            "[]",
            "[\"[KeyIdentifier=0b7e5c1d-1111-4222-8333-944455556666,KeyType=Password,KeyUsage=Verify,DisplayName=sync]\"]",
        )]),
        app_details.clone(),
    );
    let requested = audit_row(
        "Application",
        "2024-03-05T10:03:00.000Z",
        "Update application",
        app_target(vec![modified(
            "RequiredResourceAccess",
            "[]",
            "[{\"ResourceAppId\":\"00000003-0000-0000-c000-000000000000\",\"RequiredAppPermissions\":[{\"EntitlementId\":\"e2a3a72e-5f79-4c64-b1b1-878b674786c9\",\"DirectAccessGrant\":true,\"ImpersonationAccessGrantType\":0}],\"EncodingVersion\":1}]",
        )]),
        app_details,
    );
    let granted = audit_row(
        "ServicePrincipal",
        "2024-03-05T10:05:00.000Z",
        "Add delegated permission grant",
        json!([
            {"id": GRAPH_SP, "displayName": "Microsoft Graph", "type": "ServicePrincipal",
             "modifiedProperties": [
                modified("DelegatedPermissionGrant.Scope", "", "\"User.Read Mail.ReadWrite\""),
                modified("DelegatedPermissionGrant.ConsentType", "", "\"AllPrincipals\""),
                modified("ServicePrincipal.ObjectID", "", &format!("\"{CLIENT_SP}\"")),
             ]},
            {"id": CLIENT_SP, "displayName": null, "type": "ServicePrincipal", "modifiedProperties": []}
        ]),
        json!([]),
    );
    let mail = json!({
        "TenantId": WORKSPACE, "SourceSystem": "OfficeActivityManager",
        "TimeGenerated": "2024-03-05T11:00:00.000Z",
        "RecordType": "ExchangeItemAggregated", "Operation": "MailItemsAccessed",
        "OrganizationId": TENANT, "OrganizationId_": TENANT, "OfficeTenantId_": TENANT,
        "UserType": "Application", "UserKey": APP_ID, "OfficeWorkload": "Exchange",
        "ResultStatus": "Succeeded", "OfficeObjectId": "", "UserId": "S-1-5-21-1",
        "UserId_": "S-1-5-21-1", "ClientIP": "198.51.100.77", "ClientIP_": "198.51.100.77",
        "ExternalAccess": "false", "OfficeId": "b9b1e0c4-2f1d-4c9a-9a55-6d1d2b3c4e5f",
        "MailboxOwnerUPN": "ceo@contoso.com", "MailboxGuid": "00000000-1111-2222-3333-444444444444",
        "AppId": "00000003-0000-0000-c000-000000000000", "ClientAppId": APP_ID,
        "ClientInfoString": "Client=REST;Client=RESTSystem;;",
        "OperationProperties": "[{\"Name\":\"MailAccessType\",\"Value\":\"Bind\"},{\"Name\":\"IsThrottled\",\"Value\":\"False\"}]",
        "OperationCount": 3,
        "Type": "OfficeActivity",
    });
    vec![credential, requested, granted, mail]
}

fn scan(bytes: &[u8]) -> (Vec<Finding>, snowyowl::Pushed) {
    let mut engine = Engine::from_json("{}", 24).unwrap();
    let pushed = engine.push(bytes);
    let mut findings = pushed.findings.clone();
    findings.extend(engine.flush());
    (findings, pushed)
}

fn latest_by_detector(findings: &[Finding]) -> Vec<(String, Finding)> {
    let mut latest: Vec<(String, Finding)> = Vec::new();
    for finding in findings {
        match latest.iter_mut().find(|(_, f)| f.uid == finding.uid) {
            Some(slot) => slot.1 = finding.clone(),
            None => latest.push((finding.detector.to_string(), finding.clone())),
        }
    }
    latest
}

#[test]
fn rows_whose_type_names_another_table_are_read_by_their_keys() {
    for row in intrusion().iter().take(3) {
        match one(&row.to_string()) {
            Normalized::Event(Event::DirectoryAudit(audit)) => {
                assert_eq!(audit.shape, Shape::LogAnalytics);
                assert_eq!(
                    audit.actor.user.as_deref(),
                    Some("svc-legacy-test@contoso.com")
                );
                assert_eq!(audit.tenant_id.as_deref(), Some(TENANT), "the Entra tenant");
            }
            other => panic!("{row}: {other:?}"),
        }
    }
}

#[test]
fn the_intrusion_gives_its_four_stages_and_one_incident_in_every_export() {
    let rows = intrusion();
    let array = serde_json::to_string(&rows).unwrap();
    let ndjson: String = rows.iter().map(|row| row.to_string() + "\n").collect();
    let csv = as_pushed(dress(&ndjson, Dress::Csv), Dress::Csv);
    for (name, bytes) in [
        ("JSON array", array.into_bytes()),
        ("NDJSON", ndjson.clone().into_bytes()),
        ("CSV", csv),
    ] {
        let (findings, pushed) = scan(&bytes);
        assert!(pushed.rejected.is_empty(), "{name}: {:?}", pushed.rejected);
        assert_eq!((pushed.accepted, pushed.ignored), (4, 0), "{name}");
        let latest = latest_by_detector(&findings);
        let mut detectors: Vec<&str> = latest.iter().map(|(d, _)| d.as_str()).collect();
        detectors.sort_unstable();
        // The secret, the permission requested, the tenant-wide grant, the mail read; and the
        // incident that joins them.
        assert_eq!(
            detectors,
            [
                "attack-chain",
                "mailbox-access-by-app",
                "oauth-credential-added",
                "oauth-high-privilege-grant",
                "oauth-high-privilege-grant",
            ],
            "{name}"
        );
        let incidents = latest.iter().filter(|(d, _)| d == "attack-chain").count();
        assert_eq!(incidents, 1, "{name}: one intrusion, one incident");
        let incident = &latest.iter().find(|(d, _)| d == "attack-chain").unwrap().1;
        let joined: std::collections::BTreeSet<&str> = incident.unmapped["graph"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|edge| edge["finding"].as_str())
            .collect();
        assert_eq!(
            joined.len(),
            4,
            "{name}: the incident holds all four findings"
        );
        // The grantee has no display name: the finding names it by its id.
        for (detector, finding) in &latest {
            assert!(
                !finding.message.contains(" to :"),
                "{detector}: {}",
                finding.message
            );
            assert!(
                !finding.title.ends_with(": ") && !finding.title.contains("  "),
                "{}",
                finding.title
            );
        }
        let grant = latest
            .iter()
            .find(|(d, f)| d == "oauth-high-privilege-grant" && f.message.contains("delegated"))
            .map(|(_, f)| f.clone())
            .unwrap();
        assert!(grant.message.contains(CLIENT_SP), "{}", grant.message);
    }
}

#[test]
fn office_activity_rows_with_their_underscore_copies_are_read() {
    let mail = intrusion().pop().unwrap();
    for text in [mail.to_string(), {
        // The same row as the portal's CSV export writes it.
        let csv = as_pushed(dress(&mail.to_string(), Dress::Csv), Dress::Csv);
        String::from_utf8(csv).unwrap()
    }] {
        match one(text.trim()) {
            Normalized::Event(Event::MailboxAccess(access)) => {
                assert_eq!(access.mailbox, "ceo@contoso.com");
                assert_eq!(access.client_app_id.as_deref(), Some(APP_ID));
                assert_eq!(access.client, MailClient::Graph);
                assert_eq!(access.ip.as_deref(), Some("198.51.100.77"));
                assert_eq!(access.tenant_id.as_deref(), Some(TENANT));
                assert_eq!(access.operation_count, 3);
                assert_eq!(access.id, "b9b1e0c4-2f1d-4c9a-9a55-6d1d2b3c4e5f");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn exchange_records_whose_modified_properties_are_names_are_read() {
    let update = json!({"CreationTime": "2024-03-05T11:00:00", "Id": "x1", "Operation": "Update",
        "OrganizationId": TENANT, "RecordType": 2, "ResultStatus": "Succeeded",
        "UserId": "ann@contoso.com", "Workload": "Exchange",
        "ModifiedProperties": ["MapiEndTime", "MapiStartTime", "RecipientCollection"]});
    match one(&update.to_string()) {
        Normalized::Ignored(ignored) => {
            assert_eq!(ignored.to_string(), "unified audit log: Exchange Update")
        }
        other => panic!("{other:?}"),
    }
    let mut access = intrusion().pop().unwrap();
    access["ModifiedProperties"] = json!(["MapiEndTime"]);
    assert!(matches!(
        one(&access.to_string()),
        Normalized::Event(Event::MailboxAccess(_))
    ));
    // As a directory record, the names are read as properties without values.
    let directory = json!({"CreationTime": "2024-03-05T11:00:00", "Id": "x2",
        "Operation": "Update application.", "OrganizationId": TENANT, "RecordType": 8,
        "UserId": "ann@contoso.com", "Workload": "AzureActiveDirectory",
        "Target": [{"ID": format!("Application_{APP_OBJECT}"), "Type": 2}],
        "ModifiedProperties": ["RequiredResourceAccess"]});
    match one(&directory.to_string()) {
        Normalized::Event(Event::DirectoryAudit(audit)) => {
            assert_eq!(audit.modified.len(), 1);
            assert_eq!(audit.modified[0].name, "RequiredResourceAccess");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_hunting_query_without_a_time_column_is_rejected_naming_what_was_looked_for() {
    let csv = "\u{feff}UserPrincipalName,IPAddress,ResultType,AppDisplayName\r\n\
        ann@contoso.com,203.0.113.5,50126,Office 365 Exchange Online\r\n";
    let mut rows = Vec::new();
    snowyowl_input::read_batches(
        &mut csv.as_bytes(),
        "hunting.csv",
        snowyowl_input::Format::Auto,
        100,
        &mut |batch| {
            rows.extend_from_slice(&batch.bytes);
            Ok(())
        },
    )
    .unwrap();
    let text = String::from_utf8(rows).unwrap();
    match one(text.trim()) {
        Normalized::Rejected(rejection) => {
            assert_eq!(rejection.kind, RejectionKind::InvalidField);
            assert_eq!(
                rejection.reason,
                "missing time: a sign-in needs createdDateTime, TimeGenerated or time"
            );
        }
        other => panic!("{other:?}"),
    }
    // With the time column the portal writes, the same row is read.
    let with_time = text.trim().replacen(
        '{',
        r#"{"TimeGenerated [UTC]":"3/5/2024, 10:00:00.000 AM","#,
        1,
    );
    assert!(matches!(
        one(&with_time),
        Normalized::Event(Event::SignIn(_))
    ));
}

#[test]
fn the_log_analytics_query_api_tables_are_read_row_by_row() {
    let rows = intrusion();
    let columns: Vec<String> = {
        let mut names: Vec<String> = Vec::new();
        for row in &rows {
            for key in row.as_object().unwrap().keys() {
                if !names.contains(key) {
                    names.push(key.clone());
                }
            }
        }
        names
    };
    let table_rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            Value::Array(
                columns
                    .iter()
                    .map(|c| row.get(c).cloned().unwrap_or(Value::Null))
                    .collect(),
            )
        })
        .collect();
    let response = json!({"tables": [{"name": "PrimaryResult",
        "columns": columns.iter().map(|c| json!({"name": c, "type": "string"})).collect::<Vec<_>>(),
        "rows": table_rows}]});
    let (findings, pushed) = scan(response.to_string().as_bytes());
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
    assert_eq!(pushed.accepted, 4);
    let (ndjson_findings, _) = scan(
        rows.iter()
            .map(|row| row.to_string() + "\n")
            .collect::<String>()
            .as_bytes(),
    );
    assert_eq!(findings, ndjson_findings);
}

/// A Log Analytics `AADUserRiskEvents` row carries `OperationName` ("User Risk Detection") and
/// `ActivityDateTime` as directory audits do: it was read as an audit and ignored, so
/// `identity-protection-risk` never saw it (found while writing tests/golden).
#[test]
fn a_log_analytics_risk_event_row_is_a_risk_detection() {
    let row = r#"{"TenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","TimeGenerated":"2024-03-04T10:05:00Z","Id":"9b7a2c1e5d3f4a6b8c0d1e2f3a4b5c6d","RequestId":"4f2d8c1a-6b3e-4d5f-9a7c-1e2b3c4d5e6f","OperationName":"User Risk Detection","Source":"IdentityProtection","ActivityDateTime":"2024-03-04T10:04:12.000Z","DetectedDateTime":"2024-03-04T10:04:12.000Z","RiskEventType":"passwordSpray","RiskLevel":"high","RiskState":"atRisk","RiskDetail":"none","DetectionTimingType":"offline","UserPrincipalName":"adele.vance@contoso.com","UserDisplayName":"Adele Vance","IpAddress":"203.0.113.66","Location":"{\"city\":\"Amsterdam\",\"countryOrRegion\":\"NL\"}","Category":"UserRiskEvents","Type":"AADUserRiskEvents"}"#;
    let findings = run("", &format!("{row}\n"));
    let risks = of(&findings, "identity-protection-risk");
    assert_eq!(risks.len(), 1, "{findings:?}");
    assert_eq!(risks[0].severity, snowyowl::Severity::High);
}
