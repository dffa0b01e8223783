//! Exact-string traps in records written by hand the way the services write them (not by our own
//! renderer): the en dash and trailing space of the credential activity, the unified audit log's
//! trailing period and unquoted values, the Graph shape's JSON-encoded values, and the
//! app-initiated grant with no consent event.

use snowyowl::{Engine, Finding, Severity};

use crate::helpers::{latest, of};

fn scan(text: &str) -> Vec<Finding> {
    let mut engine = Engine::from_json("", 1).unwrap();
    let pushed = engine.push(text.as_bytes());
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
    let mut findings = pushed.findings;
    findings.extend(engine.flush());
    findings
}

const GRAPH_CREDENTIAL: &str = r#"{"id":"Directory_0c5a9a2e-1b2c-4d5e-8f90-123456789abc","category":"ApplicationManagement","correlationId":"5d2a8b9c-0000-4000-8000-000000000001","result":"success","resultReason":"","activityDisplayName":"Update application – Certificates and secrets management ","activityDateTime":"2024-01-12T21:04:09.1234567Z","loggedByService":"Core Directory","operationType":"Update","initiatedBy":{"user":{"id":"7e1b0c2d-0000-4000-8000-00000000aaaa","displayName":null,"userPrincipalName":"svc-legacy-test@contoso.com","ipAddress":"203.0.113.66"}},"targetResources":[{"id":"9a8b7c6d-0000-4000-8000-00000000bbbb","displayName":"Mail Sync Test","type":"Application","userPrincipalName":null,"modifiedProperties":[{"displayName":"KeyDescription","oldValue":"[]","newValue":"[\"KeyIdentifier=2f1e0d9c-0000-4000-8000-00000000cccc,KeyType=Password,KeyUsage=Verify,DisplayName=sync\"]"},{"displayName":"Included Updated Properties","oldValue":null,"newValue":"\"KeyDescription\""}],"groupType":null}],"additionalDetails":[{"key":"User-Agent","value":"python-requests/2.31.0"},{"key":"AppId","value":"4f3e2d1c-0000-4000-8000-00000000dddd"}]}"#;

#[test]
fn the_en_dash_and_trailing_space_credential_activity() {
    let findings = scan(GRAPH_CREDENTIAL);
    let found = latest(&of(&findings, "oauth-credential-added"));
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].severity,
        Severity::High,
        "old KeyDescription [] is the first credential"
    );
    assert_eq!(
        found[0].unmapped["app_id"],
        "4f3e2d1c-0000-4000-8000-00000000dddd"
    );
    // A rule matching the hyphenated name would miss it: so does a hyphen-only matcher here.
    assert!(GRAPH_CREDENTIAL
        .contains("Update application \u{2013} Certificates and secrets management \""));
}

#[test]
fn the_unified_audit_log_trailing_period_and_unquoted_values() {
    let ual = r#"{"CreationTime":"2024-01-12T21:10:44","Id":"8e4b6a2c-0000-4000-8000-00000000eeee","Operation":"Add app role assignment to service principal.","OrganizationId":"6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","RecordType":8,"ResultStatus":"Success","UserKey":"Not Available","UserType":4,"Version":1,"Workload":"AzureActiveDirectory","ObjectId":"sp-exchange","UserId":"ServicePrincipal_3c2b1a09-0000-4000-8000-00000000ffff","AzureActiveDirectoryEventType":1,"ExtendedProperties":[{"Name":"additionalDetails","Value":"{}"},{"Name":"extendedAuditEventCategory","Value":"ServicePrincipal"}],"ModifiedProperties":[{"Name":"AppRole.Id","NewValue":"dc890d15-9560-4a4c-9b7f-a736ec74ec40","OldValue":""},{"Name":"AppRole.Value","NewValue":"full_access_as_app","OldValue":""},{"Name":"ServicePrincipal.ObjectID","NewValue":"3c2b1a09-0000-4000-8000-00000000ffff","OldValue":""},{"Name":"ServicePrincipal.AppId","NewValue":"4f3e2d1c-0000-4000-8000-00000000dddd","OldValue":""},{"Name":"ServicePrincipal.DisplayName","NewValue":"Mail Sync Test","OldValue":""}],"Actor":[{"ID":"Mail Sync Test","Type":1},{"ID":"4f3e2d1c-0000-4000-8000-00000000dddd","Type":2},{"ID":"ServicePrincipal_3c2b1a09-0000-4000-8000-00000000ffff","Type":2}],"Target":[{"ID":"ServicePrincipal_1f2e3d4c-0000-4000-8000-000000000001","Type":2},{"ID":"Office 365 Exchange Online","Type":1}]}"#;
    let findings = scan(ual);
    let found = latest(&of(&findings, "oauth-high-privilege-grant"));
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].severity,
        Severity::Critical,
        "an app granted it: consent bypass"
    );
    assert_eq!(
        found[0].unmapped["grantee"]["app_id"],
        "4f3e2d1c-0000-4000-8000-00000000dddd"
    );
    assert_eq!(
        found[0].unmapped["grantee"]["name"], "Mail Sync Test",
        "not Exchange (Target[0])"
    );
}

#[test]
fn graph_json_encoded_values_are_decoded() {
    let graph = r#"{"id":"Directory_1","activityDisplayName":"Add app role assignment to service principal","activityDateTime":"2024-01-12T21:10:44Z","result":"success","initiatedBy":{"app":{"appId":"4f3e2d1c-0000-4000-8000-00000000dddd","displayName":"Mail Sync Test","servicePrincipalId":"3c2b1a09-0000-4000-8000-00000000ffff","servicePrincipalName":null}},"targetResources":[{"id":"1f2e3d4c-0000-4000-8000-000000000001","displayName":"Office 365 Exchange Online","type":"ServicePrincipal","modifiedProperties":[{"displayName":"AppRole.Value","oldValue":null,"newValue":"\"full_access_as_app\""},{"displayName":"ServicePrincipal.AppId","oldValue":null,"newValue":"\"4f3e2d1c-0000-4000-8000-00000000dddd\""}]},{"id":"3c2b1a09-0000-4000-8000-00000000ffff","displayName":"Mail Sync Test","type":"ServicePrincipal","modifiedProperties":[]}],"additionalDetails":[]}"#;
    let findings = scan(graph);
    let found = latest(&of(&findings, "oauth-high-privilege-grant"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].severity, Severity::Critical);
    assert_eq!(found[0].unmapped["permissions"][0], "full_access_as_app");
    assert_eq!(
        found[0].unmapped["grantee"]["object_id"],
        "3c2b1a09-0000-4000-8000-00000000ffff"
    );
}

#[test]
fn panther_service_principal_credentials_sample() {
    // Panther's test event (tests/data/samples, Apache-2.0): KeyDescription old value null, so
    // not provably the first credential, and no owner known: medium.
    let text = include_str!("../data/samples/panther-rule-tests.jsonl");
    let line = text
        .lines()
        .find(|line| line.contains("\"Add Service Principal Credentials\""))
        .unwrap();
    let wrapper: serde_json::Value = serde_json::from_str(line).unwrap();
    let findings = scan(&wrapper["log"].to_string());
    let found = latest(&of(&findings, "oauth-credential-added"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].severity, Severity::Medium);
    assert_eq!(found[0].unmapped["object_name"], "Production API Service");
}

#[test]
fn no_detector_fires_on_the_benign_msticpy_tenant() {
    let text = include_str!("../data/samples/msticpy-aad-logons.jsonl");
    assert!(scan(text).is_empty());
    // And on the whole set of 86 rows when the team's shared/ is beside the checkout.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/samples/msticpy-aad-logons.jsonl");
    if let Ok(all) = std::fs::read_to_string(path) {
        assert_eq!(all.lines().count(), 86);
        assert!(scan(&all).is_empty());
    }
}
