use super::*;
use crate::render;

fn one(text: &str) -> Normalized {
    let mut out = Vec::new();
    normalize(text, &mut |normalized| out.push(normalized));
    assert_eq!(out.len(), 1, "{out:?}");
    out.remove(0)
}

fn signin_of(text: &str) -> SignIn {
    match one(text) {
        Normalized::Event(Event::SignIn(signin)) => signin,
        other => panic!("expected a sign-in, got {other:?}"),
    }
}

fn rejection_of(text: &str) -> Rejection {
    match one(text) {
        Normalized::Rejected(rejection) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// A sign-in with every field set (other modules' tests build theirs from it).
pub(crate) fn sample() -> SignInFields<&'static str> {
    SignInFields {
        time: 1_705_312_800_123,
        id: "5f2a3c4d-0000-4000-8000-000000000001",
        shape: Shape::Graph,
        category: SignInCategory::Interactive,
        user: "test.account@contoso.com",
        ip: Some("203.0.113.7"),
        result_code: 50126,
        correct_password_step: false,
        app_id: Some("00000002-0000-0ff1-ce00-000000000000"),
        app_name: Some("Office 365 Exchange Online"),
        user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
        factor: FactorRequirement::Single,
        legacy: false,
        asn: Some(64_500),
        tenant_id: Some("72f988bf-0000-0000-0000-000000000000"),
        home_tenant_id: Some("72f988bf-0000-0000-0000-000000000000"),
        app_owner_tenant_id: None,
        country: Some("NL"),
        device_id: Some("5c9e2a1b-0000-4000-8000-00000000d1ce"),
        risk_event_types: vec!["passwordSpray".into()],
    }
}

#[test]
fn every_shape_round_trips() {
    for shape in [Shape::Graph, Shape::AzureMonitor, Shape::LogAnalytics] {
        let expected = SignIn::from(SignInFields { shape, ..sample() });
        assert_eq!(
            signin_of(&render::signin(&expected, shape)),
            expected,
            "{shape:?}"
        );
    }
    // The unified audit log carries less: no factor, ASN, app name, risk, home tenant, country
    // or device.
    let expected = SignIn::from(SignInFields {
        shape: Shape::UnifiedAudit,
        factor: FactorRequirement::Unknown,
        asn: None,
        app_name: None,
        home_tenant_id: None,
        country: None,
        device_id: None,
        risk_event_types: Vec::new(),
        ..sample()
    });
    assert_eq!(
        signin_of(&render::signin(&expected, Shape::UnifiedAudit)),
        expected
    );
}

#[test]
fn categories_are_read_from_each_shape() {
    for category in [
        SignInCategory::NonInteractive,
        SignInCategory::ServicePrincipal,
    ] {
        for shape in [Shape::AzureMonitor, Shape::LogAnalytics] {
            let expected = SignIn::from(SignInFields {
                shape,
                category,
                ..sample()
            });
            let got = signin_of(&render::signin(&expected, shape));
            assert_eq!(got.category, category, "{shape:?}");
        }
    }
}

#[test]
fn wrappers_yield_their_elements() {
    let a = render::signin(
        &SignIn::from(SignInFields {
            id: "a",
            ..sample()
        }),
        Shape::AzureMonitor,
    );
    let b = render::signin(
        &SignIn::from(SignInFields {
            id: "b",
            ..sample()
        }),
        Shape::AzureMonitor,
    );
    for text in [
        format!(r#"{{"records":[{a},{b}]}}"#),
        format!(r#"{{"@odata.context":"x","value":[{a},{b}]}}"#),
        format!("[{a},{b}]"),
    ] {
        let mut ids = Vec::new();
        normalize(&text, &mut |normalized| match normalized {
            Normalized::Event(event) => ids.push(event.id().to_owned()),
            other => panic!("{other:?}"),
        });
        assert_eq!(ids, ["a", "b"]);
    }
}

#[test]
fn log_analytics_quirks() {
    // Nested columns as JSON strings, the CSV export's column name and time format, password
    // correct only visible in AuthenticationDetails.
    let text = r#"{"TimeGenerated [UTC]":"1/15/2024, 10:00:00.123 AM","OperationName":"Sign-in activity",
        "UserPrincipalName":"Ann@Contoso.com","IPAddress":"198.51.100.4","ResultType":"50074",
        "Status":"{\"errorCode\":50074,\"failureReason\":\"Strong Authentication is required.\"}",
        "AuthenticationDetails":"[{\"authenticationStepResultDetail\":\"Correct password\"}]",
        "ClientAppUsed":"IMAP4","AuthenticationRequirement":"singleFactorAuthentication"}"#;
    let signin = signin_of(&text.replace('\n', ""));
    assert_eq!(signin.time, 1_705_312_800_123);
    assert_eq!(signin.user(), "ann@contoso.com");
    assert_eq!(signin.result_code, 50074);
    assert!(signin.correct_password_step && signin.password_correct() && !signin.succeeded());
    assert!(signin.legacy);
    assert_eq!(signin.factor, FactorRequirement::Single);
    assert!(
        signin.id().starts_with("record-"),
        "synthesized id: {}",
        signin.id()
    );
}

#[test]
fn unified_audit_log_without_error_number() {
    let text = r#"{"CreationTime":"2022-12-12T15:57:57","Id":"abc","Operation":"UserLoginFailed",
        "RecordType":15,"UserId":"Sample.User@yourorg.onmicrosoft.com","ClientIP":"[2001:db8::1]:443",
        "LogonError":"InvalidUserNameOrPassword","Workload":"AzureActiveDirectory",
        "ExtendedProperties":[{"Name":"UserAgent","Value":"BAV2ROPC"}]}"#;
    let signin = signin_of(&text.replace('\n', ""));
    assert_eq!(signin.result_code, 50126);
    assert_eq!(signin.ip(), Some("2001:db8::1"));
    assert!(signin.legacy, "BAV2ROPC is ROPC");
    assert!(signin.is_spray_failure());
}

#[test]
fn bav2ropc_anywhere_in_the_user_agent_is_legacy() {
    let modern = Some("Browser");
    for agent in [
        "BAV2ROPC",
        "Mozilla/5.0 BAV2ROPC",
        "x BAV2ROPC/1.0 (Windows)",
    ] {
        assert!(is_legacy(modern, None, Some(agent)), "{agent}");
    }
    for agent in ["BAV2ROP", "bav2ropc", "Mozilla/5.0 (Windows NT 10.0)", ""] {
        assert!(!is_legacy(modern, None, Some(agent)), "{agent}");
    }
}

#[test]
fn azure_monitor_falls_back_to_the_envelope() {
    let text = r#"{"time":"2025-01-15 09:30:45.123","operationName":"Sign-in activity","category":"SignInLogs",
        "callerIpAddress":"2.2.2.2","resultType":"Success","properties":{"userPrincipalName":"a@b.c"}}"#;
    let signin = signin_of(&text.replace('\n', ""));
    assert_eq!((signin.result_code, signin.ip()), (0, Some("2.2.2.2")));
}

#[test]
fn known_sources_no_detector_reads_are_ignored() {
    let audit = r#"{"time":"2024-01-01T00:00:00Z","category":"Policy","operationName":"x","properties":{}}"#;
    assert!(matches!(one(audit), Normalized::Ignored(_)));
    let sharepoint = r#"{"CreationTime":"2024-01-01T00:00:00","Operation":"FileAccessed","Workload":"SharePoint"}"#;
    assert!(matches!(one(sharepoint), Normalized::Ignored(_)));
    // A Graph risky user is a standing, not a detection; a detection carries a state too.
    let risky_user = r#"{"id":"1","riskLevel":"none","riskState":"remediated","userPrincipalName":"a@b.c","riskLastUpdatedDateTime":"2021-03-02T12:22:54Z"}"#;
    let Normalized::Ignored(ignored) = one(risky_user) else {
        panic!("a risky user is not ignored");
    };
    assert_eq!(ignored.to_string(), "identity protection: risky user");
    let detection = r#"{"riskEventType":"unfamiliarFeatures","riskState":"atRisk","userPrincipalName":"a@b.c","detectedDateTime":"2021-03-02T12:22:54Z"}"#;
    assert!(matches!(one(detection), Normalized::Event(_)));
}

#[test]
fn every_rejection_says_why() {
    let cases = [
        (
            "42",
            RejectionKind::NotAnObject,
            "expected a JSON object, found a number",
        ),
        ("\"x\"", RejectionKind::NotAnObject, "found a string"),
        ("{\"a\":", RejectionKind::Malformed, "invalid JSON"),
        (
            "{\"hello\":\"world\"}",
            RejectionKind::UnknownShape,
            "unknown event shape",
        ),
        (
            r#"{"createdDateTime":"yesterday","status":{"errorCode":0},"userPrincipalName":"a"}"#,
            RejectionKind::InvalidField,
            "invalid time \"yesterday\" in createdDateTime",
        ),
        (
            r#"{"createdDateTime":"2024-01-01T00:00:00Z","status":{"errorCode":0}}"#,
            RejectionKind::InvalidField,
            "missing user: a sign-in needs userPrincipalName",
        ),
        (
            r#"{"createdDateTime":"2024-01-01T00:00:00Z","status":{"errorCode":"x"},"userPrincipalName":"a"}"#,
            RejectionKind::InvalidField,
            "invalid value: string \"x\"",
        ),
        (
            r#"{"createdDateTime":["2024"],"status":{},"userPrincipalName":"a"}"#,
            RejectionKind::InvalidField,
            "invalid type: sequence, expected a string",
        ),
        (
            r#"{"createdDateTime":"2024-01-01T00:00:00Z","status":{},"userPrincipalName":"a"}"#,
            RejectionKind::InvalidField,
            "missing result code",
        ),
    ];
    for (text, kind, reason) in cases {
        let rejection = rejection_of(text);
        assert_eq!(rejection.kind, kind, "{text}: {rejection:?}");
        assert!(
            rejection.reason.contains(reason),
            "{text}: {}",
            rejection.reason
        );
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    // Skipped without recursion (an unknown field), so it is simply an unknown shape.
    assert_eq!(rejection_of(&deep).kind, RejectionKind::UnknownShape);
    let deep_known = format!(
        "{{\"activityDisplayName\":\"Add application\",\"initiatedBy\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(rejection_of(&deep_known).kind, RejectionKind::InvalidField);
    let deep_wrapper = format!("{}{{}}{}", "[".repeat(10_000), "]".repeat(10_000));
    let mut count = 0;
    normalize(&deep_wrapper, &mut |_| count += 1);
    assert!(count >= 1);
}

fn event_of(text: &str) -> Event {
    match one(text) {
        Normalized::Event(event) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[test]
fn directory_audit_round_trips_in_every_shape() {
    use crate::event::{Actor, AuditActivity, AuditTarget, DirectoryAudit, Modified};
    let audit = DirectoryAudit {
        time: 1_705_312_800_000,
        id: "audit-1".into(),
        shape: Shape::Graph,
        activity: AuditActivity::ApplicationCredentials,
        activity_name: "Update application \u{2013} Certificates and secrets management ".into(),
        success: true,
        actor: Actor {
            user: Some("test@contoso.com".into()),
            object_id: Some("oid-1".into()),
            ip: Some("203.0.113.66".into()),
            ..Actor::default()
        },
        targets: vec![AuditTarget {
            id: Some("obj-1".into()),
            kind: Some("Application".into()),
            display_name: Some("Mail Sync".into()),
            user: None,
        }],
        modified: vec![Modified {
            name: "KeyDescription".into(),
            old: "[]".into(),
            new: r#"["KeyIdentifier=k,KeyType=Password"]"#.into(),
        }],
        details: Vec::new(),
        reason: Some("Admin registered temporary access pass method for user".into()),
        tenant_id: Some("tenant-1".into()),
    };
    for shape in [
        Shape::Graph,
        Shape::AzureMonitor,
        Shape::LogAnalytics,
        Shape::UnifiedAudit,
    ] {
        let Event::DirectoryAudit(got) = event_of(&render::audit(&audit, shape)) else {
            panic!("{shape:?}: not an audit")
        };
        assert_eq!(
            got.activity,
            AuditActivity::ApplicationCredentials,
            "{shape:?}"
        );
        assert_eq!(
            (got.time, got.id.as_str(), got.shape),
            (audit.time, "audit-1", shape)
        );
        assert_eq!(got.actor.user, audit.actor.user, "{shape:?}");
        assert_eq!(got.actor.ip, audit.actor.ip, "{shape:?}");
        assert_eq!(
            got.targets.first().and_then(|t| t.id.clone()),
            Some("obj-1".into()),
            "{shape:?}"
        );
        assert_eq!(got.modified, audit.modified, "{shape:?}");
        // `resultReason` (the unified audit log has none).
        let reason = audit
            .reason
            .clone()
            .filter(|_| shape != Shape::UnifiedAudit);
        assert_eq!(got.reason, reason, "{shape:?}");
    }
    // The unified audit log writes the name with a trailing period.
    assert!(render::audit(&audit, Shape::UnifiedAudit).contains("management ."));
}

#[test]
fn exchange_and_risk_records_round_trip() {
    use crate::event::{ExchangeAdmin, MailClient, MailboxAccess, RiskDetection};
    let access = MailboxAccess {
        time: 1_705_312_800_000,
        id: "mail-1".into(),
        shape: Shape::UnifiedAudit,
        user: "4f3e2d1c-app".into(),
        mailbox: "ceo@contoso.com".into(),
        client_app_id: Some("4f3e2d1c-app".into()),
        app_id: Some("00000003-0000-0000-c000-000000000000".into()),
        client: MailClient::Graph,
        ip: Some("203.0.113.9".into()),
        throttled: true,
        operation_count: 12,
        tenant_id: Some("tenant-1".into()),
        token_tenant_id: Some("tenant-2".into()),
    };
    let admin = ExchangeAdmin {
        time: 1_705_312_800_000,
        id: "admin-1".into(),
        shape: Shape::UnifiedAudit,
        cmdlet: "Add-MailboxPermission".into(),
        parameters: vec![("AccessRights".into(), "FullAccess".into())],
        actor: "test@contoso.com".into(),
        object: Some("ceo".into()),
        tenant_id: Some("tenant-1".into()),
        success: true,
    };
    for shape in [Shape::UnifiedAudit, Shape::LogAnalytics] {
        let expected = MailboxAccess {
            shape,
            ..access.clone()
        };
        assert_eq!(
            event_of(&render::mailbox_access(&expected, shape)),
            Event::MailboxAccess(expected)
        );
        let expected = ExchangeAdmin {
            shape,
            ..admin.clone()
        };
        assert_eq!(
            event_of(&render::exchange_admin(&expected, shape)),
            Event::ExchangeAdmin(expected)
        );
    }
    let risk = RiskDetection {
        time: 1_705_312_800_000,
        id: "risk-1".into(),
        shape: Shape::Graph,
        risk_type: "passwordSpray".into(),
        risk_level: "medium".into(),
        user: "ann@contoso.com".into(),
        ip: Some("203.0.113.9".into()),
        tenant_id: None,
    };
    for shape in [Shape::Graph, Shape::AzureMonitor, Shape::LogAnalytics] {
        let expected = RiskDetection {
            shape,
            ..risk.clone()
        };
        assert_eq!(
            event_of(&render::risk_detection(&expected, shape)),
            Event::RiskDetection(expected)
        );
    }
}

#[test]
fn unified_audit_actor_ids_are_guids() {
    // Microsoft's just-in-time provisioning signs its change with words where ids would be
    // (`UserId` and `Actor` Type 2 `Certificate`): no actor id, and the actor is Microsoft's own.
    let jit = r#"{"CreationTime":"2021-02-03T17:11:39","Id":"0e6ebaec-a3fc-4996-b06b-1fbc7c619afd","Operation":"Add service principal.","OrganizationId":"48622b8f-44d3-420c-b4a2-510c8165767e","RecordType":8,"ResultStatus":"Success","UserId":"Certificate","Workload":"AzureActiveDirectory","Actor":[{"ID":"Microsoft Azure AD Internal - Jit Provisioning","Type":1},{"ID":"Certificate","Type":2},{"ID":"Other","Type":2}],"Target":[{"ID":"ServicePrincipal_9d47c163-bf1f-45c5-9b7e-b7b5e88cf451","Type":2}]}"#;
    let Event::DirectoryAudit(audit) = event_of(jit) else {
        panic!("expected a directory audit");
    };
    assert_eq!(audit.actor.app_id, None);
    assert_eq!(audit.actor.service_principal_id, None);
    assert!(audit.actor.is_microsoft_internal());
    // An app that only calls itself so acts under its app id: not Microsoft's.
    let named_so = jit
        .replace(
            r#""ID":"Certificate","Type":2"#,
            r#""ID":"5C1E8A2B-0000-4000-8000-0000000000AA","Type":2"#,
        )
        .replace(
            r#""UserId":"Certificate""#,
            r#""UserId":"ServicePrincipal_7d2f0c1b-0000-4000-8000-0000000000bb""#,
        );
    let Event::DirectoryAudit(audit) = event_of(&named_so) else {
        panic!("expected a directory audit");
    };
    assert_eq!(
        audit.actor.app_id.as_deref(),
        Some("5C1E8A2B-0000-4000-8000-0000000000AA")
    );
    assert_eq!(
        audit.actor.service_principal_id.as_deref(),
        Some("7d2f0c1b-0000-4000-8000-0000000000bb")
    );
    assert!(!audit.actor.is_microsoft_internal());
}

#[test]
fn unified_audit_target_names_belong_to_their_own_target() {
    // `Add owner to application.`: the new owner, then the application, each followed by its name.
    let text = r#"{"CreationTime":"2024-03-04T11:00:00","Id":"5a1c9e3f-0000-4000-8000-0000000000c1","Operation":"Add owner to application.","OrganizationId":"3f8a2b1c-5d4e-4f6a-9b7c-1e2d3c4b5a69","RecordType":8,"ResultStatus":"Success","UserId":"it.admin@contoso.com","Workload":"AzureActiveDirectory","Actor":[{"ID":"it.admin@contoso.com","Type":5}],"Target":[{"ID":"User_8d1f0c2e-0000-4000-8000-0000000000d1","Type":2},{"ID":"User","Type":2},{"ID":"joni.sherman@contoso.com","Type":5},{"ID":"Application_0c6824f2-0000-4000-8000-0000000000d2","Type":2},{"ID":"Application","Type":2},{"ID":"HR Portal","Type":1}]}"#;
    let Event::DirectoryAudit(audit) = event_of(text) else {
        panic!("expected a directory audit");
    };
    let [owner, app] = audit.targets.as_slice() else {
        panic!("two targets: {:?}", audit.targets);
    };
    assert_eq!(owner.user.as_deref(), Some("joni.sherman@contoso.com"));
    assert_eq!(owner.display_name, None);
    assert_eq!(app.kind.as_deref(), Some("Application"));
    assert_eq!(app.display_name.as_deref(), Some("HR Portal"));
}

#[test]
fn every_directory_change_and_cmdlet_is_read() {
    // No detector reports a department changed or a mailbox's quota set, but each says who
    // administers the tenant (`administrators`).
    let record = |property: &str| {
        format!(
            r#"{{"id":"Directory_1","activityDisplayName":"Update user","activityDateTime":"2024-03-05T12:10:00Z","result":"success","initiatedBy":{{"user":{{"userPrincipalName":"a@contoso.com"}}}},"targetResources":[{{"id":"u1","type":"User","userPrincipalName":"b@contoso.com","modifiedProperties":[{{"displayName":"{property}","oldValue":"[]","newValue":"[]"}}]}}]}}"#
        )
    };
    for property in ["StrongAuthenticationRequirement", "Department"] {
        let Normalized::Event(Event::DirectoryAudit(audit)) = one(&record(property)) else {
            panic!("{property} not read");
        };
        assert_eq!(audit.activity, crate::event::AuditActivity::UpdateUser);
        assert_eq!(audit.modified[0].name, property);
    }
    let cmdlet = r#"{"CreationTime":"2024-03-05T12:10:00","Id":"x","Operation":"Set-Mailbox","RecordType":1,"Workload":"Exchange","UserId":"a@contoso.com","ResultStatus":"True","Parameters":[{"Name":"ProhibitSendQuota","Value":"49GB"}]}"#;
    assert!(matches!(
        one(cmdlet),
        Normalized::Event(Event::ExchangeAdmin(_))
    ));
}

#[test]
fn exchange_service_actors_are_known_by_their_process() {
    let admin = |actor: &str| crate::event::ExchangeAdmin {
        time: 0,
        id: String::new(),
        shape: crate::event::Shape::UnifiedAudit,
        cmdlet: "Set-Mailbox".into(),
        parameters: Vec::new(),
        actor: actor.into(),
        object: None,
        tenant_id: None,
        success: true,
    };
    assert!(admin("NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)").by_exchange_service());
    assert!(admin("nt authority\\system (MSExchangeMigrationWorkflow)").by_exchange_service());
    // The portal's front end runs what an administrator asked for; a bare SYSTEM names no service.
    assert!(!admin("NT AUTHORITY\\SYSTEM (w3wp)").by_exchange_service());
    assert!(!admin("NT AUTHORITY\\SYSTEM").by_exchange_service());
    assert!(!admin("NT AUTHORITY\\SYSTEM ()").by_exchange_service());
    assert!(!admin("svc-legacy-test@contoso.com").by_exchange_service());
}
