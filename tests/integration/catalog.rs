//! Golden cases for the stage 1–3 catalog beyond the spray slice: for every detector, in every
//! shape it reads, a case that fires and benign look-alikes that do not, and the exact-string
//! traps (en dash and trailing space, hyphen, trailing period, app-initiated grant without
//! consent, grantee read from `ServicePrincipal.*`).

use snowyowl::event::{Event, MailClient, Shape};
use snowyowl::{Finding, Severity};

use crate::helpers::{
    app, apps_added, audit, cmdlet, detect, mail, risk, signin, target, user, user_target, SHAPES,
};

const OFFICE_ONLINE: &str = "00000002-0000-0ff1-ce00-000000000000";
const EVIL_APP: &str = "a1b2c3d4-0000-4000-8000-00000000e711";
const EVIL_SP: &str = "sp-0000-evil";
const CRED_EN_DASH: &str = "Update application \u{2013} Certificates and secrets management ";
const MAIL_SHAPES: [Shape; 2] = [Shape::UnifiedAudit, Shape::LogAnalytics];

fn app_target() -> Vec<snowyowl::event::AuditTarget> {
    vec![target("Application", "obj-evil", "Evil Mail Sync")]
}

#[test]
fn oauth_app_created_fires_and_bursts() {
    for shape in SHAPES {
        let one = [audit(
            "Add application",
            user("test@contoso.com"),
            app_target(),
            &[],
            0.0,
        )];
        let found = detect("", &one, shape, "oauth-app-created");
        assert_eq!(found.len(), 1, "{shape:?}");
        assert_eq!(found[0].severity, Severity::Low);
        let found = detect("", &apps_added(5, 1.0), shape, "oauth-app-created");
        assert_eq!(found.len(), 1, "{shape:?}: one finding per actor");
        assert_eq!(
            found[0].severity,
            Severity::Medium,
            "{shape:?}: a burst of five"
        );
        assert_eq!(found[0].unmapped["app_count"], 5);
    }
}

#[test]
fn oauth_app_created_look_alikes() {
    let first_party = app(OFFICE_ONLINE, "sp-exo", "Office 365 Exchange Online");
    for shape in SHAPES {
        let by_microsoft = [audit(
            "Add service principal",
            first_party.clone(),
            app_target(),
            &[],
            0.0,
        )];
        assert!(
            detect("", &by_microsoft, shape, "oauth-app-created").is_empty(),
            "{shape:?}"
        );
        let other = [audit(
            "Add applications to gallery",
            user("a@contoso.com"),
            app_target(),
            &[],
            0.0,
        )];
        assert!(
            detect("", &other, shape, "oauth-app-created").is_empty(),
            "{shape:?}"
        );
        let config = r#"{"allowlist":{"service_accounts":["deploy@contoso.com"]}}"#;
        let pipeline = [audit(
            "Add application",
            user("deploy@contoso.com"),
            app_target(),
            &[],
            0.0,
        )];
        assert!(
            detect(config, &pipeline, shape, "oauth-app-created").is_empty(),
            "{shape:?}"
        );
    }
}

#[test]
fn oauth_credential_added_matches_every_spelling() {
    let first_secret = [(
        "KeyDescription",
        "[]",
        r#"["KeyIdentifier=1d4c,KeyType=Password,KeyUsage=Verify,DisplayName=x"]"#,
    )];
    for name in [
        CRED_EN_DASH,
        "Update application - Certificates and secrets management",
        "Update application \u{2014} Certificates and secrets management",
        "Add service principal credentials",
    ] {
        for shape in SHAPES {
            let events = [audit(
                name,
                user("test@contoso.com"),
                app_target(),
                &first_secret,
                0.0,
            )];
            let found = detect("", &events, shape, "oauth-credential-added");
            assert_eq!(found.len(), 1, "{name:?} {shape:?}");
            assert_eq!(
                found[0].severity,
                Severity::High,
                "first credential: {name:?} {shape:?}"
            );
            assert!(found[0].unmapped["reasons"]
                .to_string()
                .contains("first-credential"));
            assert_eq!(found[0].unmapped["credentials"][0]["key_type"], "Password");
        }
    }
}

#[test]
fn oauth_credential_added_grades_by_owner() {
    let rotation = [(
        "KeyDescription",
        r#"["KeyIdentifier=old,KeyType=Password"]"#,
        r#"["KeyIdentifier=old,KeyType=Password","KeyIdentifier=new,KeyType=Password"]"#,
    )];
    for shape in SHAPES {
        // The owner who created the app rotates a secret: medium.
        let by_owner = [
            audit(
                "Add application",
                user("dev@contoso.com"),
                app_target(),
                &[],
                0.0,
            ),
            audit(
                CRED_EN_DASH,
                user("dev@contoso.com"),
                app_target(),
                &rotation,
                5.0,
            ),
        ];
        let found = detect("", &by_owner, shape, "oauth-credential-added");
        assert_eq!(found[0].severity, Severity::Medium, "{shape:?}");
        // Someone who is not an owner: high.
        let by_stranger = [
            audit(
                "Add application",
                user("dev@contoso.com"),
                app_target(),
                &[],
                0.0,
            ),
            audit(
                CRED_EN_DASH,
                user("test@contoso.com"),
                app_target(),
                &rotation,
                5.0,
            ),
        ];
        let found = detect("", &by_stranger, shape, "oauth-credential-added");
        assert_eq!(found[0].severity, Severity::High, "{shape:?}");
        assert!(found[0].unmapped["reasons"]
            .to_string()
            .contains("actor-not-owner"));
    }
}

#[test]
fn oauth_owner_added_by_someone_else_only() {
    for shape in SHAPES {
        let targets = vec![
            user_target("bob@contoso.com"),
            target("Application", "obj-evil", "Evil Mail Sync"),
        ];
        let events = [audit(
            "Add owner to application",
            user("test@contoso.com"),
            targets.clone(),
            &[],
            0.0,
        )];
        let found = detect("", &events, shape, "oauth-owner-added");
        assert_eq!(found.len(), 1, "{shape:?}");
        assert_eq!(found[0].severity, Severity::Medium);
        let own = [audit(
            "Add owner to application",
            user("bob@contoso.com"),
            targets,
            &[],
            0.0,
        )];
        assert!(
            detect("", &own, shape, "oauth-owner-added").is_empty(),
            "{shape:?}: self"
        );
    }
}

#[test]
fn oauth_consent_grant_tenant_wide_or_high_risk() {
    let sp = vec![target("ServicePrincipal", "sp-evil", "Evil Mail Sync")];
    for shape in SHAPES {
        let risky = [("ConsentContext.IsAdminConsent", "", "True"), ("ConsentAction.Permissions", "", "[] => [[Id: x, ClientId: y, ConsentType: AllPrincipals, Scope: openid Mail.Read offline_access]]; ")];
        let found = detect(
            "",
            &[audit(
                "Consent to application",
                user("admin@contoso.com"),
                sp.clone(),
                &risky,
                0.0,
            )],
            shape,
            "oauth-consent-grant",
        );
        assert_eq!(found.len(), 1, "{shape:?}");
        assert_eq!(found[0].severity, Severity::High);
        assert_eq!(found[0].unmapped["high_risk_permissions"][0], "Mail.Read");
        let tenant_wide = [
            ("ConsentContext.IsAdminConsent", "", "True"),
            (
                "ConsentAction.Permissions",
                "",
                "ConsentType: AllPrincipals, Scope: User.Read",
            ),
        ];
        let found = detect(
            "",
            &[audit(
                "Consent to application",
                user("admin@contoso.com"),
                sp.clone(),
                &tenant_wide,
                0.0,
            )],
            shape,
            "oauth-consent-grant",
        );
        assert_eq!(found[0].severity, Severity::Medium, "{shape:?}");
        let user_low_risk = [
            ("ConsentContext.IsAdminConsent", "", "False"),
            (
                "ConsentAction.Permissions",
                "",
                "ConsentType: Principal, Scope: User.Read openid",
            ),
        ];
        let events = [audit(
            "Consent to application",
            user("ann@contoso.com"),
            sp.clone(),
            &user_low_risk,
            0.0,
        )];
        assert!(
            detect("", &events, shape, "oauth-consent-grant").is_empty(),
            "{shape:?}"
        );
    }
}

fn app_role_assignment(actor: snowyowl::event::Actor, role: &str) -> Event {
    // targetResources[0] is the resource API; the grantee is in ServicePrincipal.*.
    let targets = vec![
        target(
            "ServicePrincipal",
            "sp-exchange",
            "Office 365 Exchange Online",
        ),
        target("ServicePrincipal", EVIL_SP, "Evil Mail Sync"),
    ];
    let modified = [
        ("AppRole.Id", "", "dc890d15-9560-4a4c-9b7f-a736ec74ec40"),
        ("AppRole.Value", "", role),
        ("ServicePrincipal.ObjectID", "", EVIL_SP),
        ("ServicePrincipal.AppId", "", EVIL_APP),
        ("ServicePrincipal.DisplayName", "", "Evil Mail Sync"),
    ];
    audit(
        "Add app role assignment to service principal",
        actor,
        targets,
        &modified,
        0.0,
    )
}

#[test]
fn oauth_high_privilege_grant_by_an_app_is_critical_and_names_the_grantee() {
    for shape in SHAPES {
        let by_app = [app_role_assignment(
            app(EVIL_APP, EVIL_SP, "Evil Mail Sync"),
            "full_access_as_app",
        )];
        let found = detect("", &by_app, shape, "oauth-high-privilege-grant");
        assert_eq!(found.len(), 1, "{shape:?}");
        assert_eq!(found[0].severity, Severity::Critical, "{shape:?}");
        assert_eq!(
            found[0].unmapped["grantee"]["app_id"], EVIL_APP,
            "not targetResources[0]"
        );
        assert_eq!(found[0].unmapped["grantee"]["object_id"], EVIL_SP);
        assert_eq!(found[0].unmapped["permissions"][0], "full_access_as_app");
        let by_user = [app_role_assignment(
            user("admin@contoso.com"),
            "full_access_as_app",
        )];
        assert_eq!(
            detect("", &by_user, shape, "oauth-high-privilege-grant")[0].severity,
            Severity::High
        );
        let harmless = app_role_assignment(user("admin@contoso.com"), "User.Read.All");
        let Event::DirectoryAudit(mut harmless) = harmless else {
            unreachable!()
        };
        harmless.modified.retain(|m| m.name != "AppRole.Id");
        let found = detect(
            "",
            &[Event::DirectoryAudit(harmless)],
            shape,
            "oauth-high-privilege-grant",
        );
        assert!(found.is_empty(), "{shape:?}");
    }
}

#[test]
fn oauth_high_privilege_grant_requested_and_delegated() {
    let requested = r#"[{"ResourceAppId":"00000002-0000-0ff1-ce00-000000000000","RequiredAppPermissions":[{"EntitlementId":"dc890d15-9560-4a4c-9b7f-a736ec74ec40","DirectAccessGrant":true,"ImpersonationAccessGrants":[]}],"EncodingVersion":1}]"#;
    for shape in SHAPES {
        let update = [audit(
            "Update application",
            user("test@contoso.com"),
            app_target(),
            &[("RequiredResourceAccess", "[]", requested)],
            0.0,
        )];
        let found = detect("", &update, shape, "oauth-high-privilege-grant");
        assert_eq!(found.len(), 1, "{shape:?}");
        assert!(found[0].title.contains("permission requested"));
        let already = [audit(
            "Update application",
            user("test@contoso.com"),
            app_target(),
            &[("RequiredResourceAccess", requested, requested)],
            0.0,
        )];
        assert!(
            detect("", &already, shape, "oauth-high-privilege-grant").is_empty(),
            "{shape:?}"
        );
        let delegated = [audit(
            "Add delegated permission grant",
            user("test@contoso.com"),
            vec![
                target("ServicePrincipal", "sp-graph", "Microsoft Graph"),
                target("ServicePrincipal", EVIL_SP, "Evil"),
            ],
            &[
                (
                    "DelegatedPermissionGrant.Scope",
                    "",
                    " Mail.ReadWrite User.Read",
                ),
                ("ServicePrincipal.ObjectID", "", EVIL_SP),
            ],
            0.0,
        )];
        let found = detect("", &delegated, shape, "oauth-high-privilege-grant");
        assert_eq!(
            found[0].unmapped["permissions"][0], "Mail.ReadWrite",
            "{shape:?}"
        );
    }
}

#[test]
fn app_privileged_directory_role_for_service_principals_only() {
    for shape in SHAPES {
        let sp = vec![target("ServicePrincipal", EVIL_SP, "Evil Mail Sync")];
        let global = [
            ("Role.DisplayName", "", "Company Administrator"),
            (
                "Role.TemplateId",
                "",
                "62e90394-69f5-4237-9190-012177145e10",
            ),
        ];
        let found = detect(
            "",
            &[audit(
                "Add member to role",
                user("test@contoso.com"),
                sp.clone(),
                &global,
                0.0,
            )],
            shape,
            "app-privileged-directory-role",
        );
        assert_eq!(found.len(), 1, "{shape:?}");
        assert_eq!(found[0].unmapped["role"], "Global Administrator");
        let eligible = [audit(
            "Add eligible member to role",
            user("test@contoso.com"),
            sp.clone(),
            &[("Role.DisplayName", "", "Exchange Administrator")],
            0.0,
        )];
        assert_eq!(
            detect("", &eligible, shape, "app-privileged-directory-role").len(),
            1,
            "{shape:?}"
        );
        let a_user = [audit(
            "Add member to role",
            user("test@contoso.com"),
            vec![user_target("bob@contoso.com")],
            &global,
            0.0,
        )];
        assert!(
            detect("", &a_user, shape, "app-privileged-directory-role").is_empty(),
            "{shape:?}"
        );
        let minor = [audit(
            "Add member to role",
            user("test@contoso.com"),
            sp,
            &[("Role.DisplayName", "", "Reports Reader")],
            0.0,
        )];
        assert!(
            detect("", &minor, shape, "app-privileged-directory-role").is_empty(),
            "{shape:?}"
        );
    }
}

#[test]
fn exchange_impersonation_role_cmdlets() {
    for shape in MAIL_SHAPES {
        let impersonation = [cmdlet(
            "New-ManagementRoleAssignment",
            "test@contoso.com",
            &[
                ("Role", "ApplicationImpersonation"),
                ("User", "evil-sync@contoso.com"),
            ],
            0.0,
        )];
        assert_eq!(
            detect("", &impersonation, shape, "exchange-impersonation-role").len(),
            1,
            "{shape:?}"
        );
        let full = [cmdlet(
            "Add-MailboxPermission",
            "test@contoso.com",
            &[
                ("Identity", "ceo@contoso.com"),
                ("User", "test@contoso.com"),
                ("AccessRights", "FullAccess"),
            ],
            0.0,
        )];
        let found = detect("", &full, shape, "exchange-impersonation-role");
        assert_eq!(found.len(), 1, "{shape:?}");
        assert_eq!(found[0].severity, Severity::High);
        let read_only = [cmdlet(
            "Add-MailboxPermission",
            "test@contoso.com",
            &[("AccessRights", "ReadPermission")],
            0.0,
        )];
        assert!(
            detect("", &read_only, shape, "exchange-impersonation-role").is_empty(),
            "{shape:?}"
        );
        let other_role = [cmdlet(
            "New-ManagementRoleAssignment",
            "test@contoso.com",
            &[("Role", "Mail Recipients")],
            0.0,
        )];
        assert!(
            detect("", &other_role, shape, "exchange-impersonation-role").is_empty(),
            "{shape:?}"
        );
    }
}

#[test]
fn multitenant_app_crossings() {
    for shape in SHAPES {
        let opened = [audit(
            "Update application",
            user("test@contoso.com"),
            app_target(),
            &[("AvailableToOtherTenants", "[false]", "[true]")],
            0.0,
        )];
        assert_eq!(
            detect("", &opened, shape, "multitenant-app").len(),
            1,
            "{shape:?}"
        );
        let unchanged = [audit(
            "Update application",
            user("test@contoso.com"),
            app_target(),
            &[("AvailableToOtherTenants", "[true]", "[true]")],
            0.0,
        )];
        assert!(
            detect("", &unchanged, shape, "multitenant-app").is_empty(),
            "{shape:?}"
        );
    }
    // An app owned by another tenant signs in (sign-in shapes that carry appOwnerTenantId).
    for shape in [Shape::AzureMonitor, Shape::Graph, Shape::LogAnalytics] {
        let mut foreign = signin("evil-sync", "203.0.113.9", 0, 0.0);
        foreign.category = snowyowl::event::SignInCategory::ServicePrincipal;
        foreign.app_id = Some(EVIL_APP.into());
        foreign.app_owner_tenant_id = Some("tenant-of-the-actor".into());
        let found = detect(
            "",
            &[Event::SignIn(foreign.pack())],
            shape,
            "multitenant-app",
        );
        assert_eq!(found.len(), 1, "{shape:?}");
        foreign.app_id = Some(OFFICE_ONLINE.into());
        assert!(
            detect(
                "",
                &[Event::SignIn(foreign.into())],
                shape,
                "multitenant-app"
            )
            .is_empty(),
            "first party"
        );
    }
    // Mail read with a token from another tenant.
    for shape in MAIL_SHAPES {
        let Event::MailboxAccess(mut access) =
            mail(EVIL_APP, MailClient::Ews, "ceo@contoso.com", 0.0)
        else {
            unreachable!()
        };
        access.token_tenant_id = Some("tenant-of-the-actor".into());
        assert_eq!(
            detect(
                "",
                &[Event::MailboxAccess(access)],
                shape,
                "multitenant-app"
            )
            .len(),
            1,
            "{shape:?}"
        );
    }
}

#[test]
fn mailbox_access_by_app_first_sighting() {
    for shape in MAIL_SHAPES {
        for client in [MailClient::Ews, MailClient::Graph] {
            let reads = [
                mail(EVIL_APP, client, "ceo@contoso.com", 0.0),
                mail(EVIL_APP, client, "cfo@contoso.com", 1.0),
            ];
            let found = detect("", &reads, shape, "mailbox-access-by-app");
            assert_eq!(found.len(), 1, "{shape:?} {client:?}");
            assert_eq!(
                found[0].unmapped["mailboxes"].as_array().map(Vec::len),
                Some(2)
            );
            assert_eq!(found[0].unmapped["client_app_id"], EVIL_APP);
        }
        // Outlook reading its user's own mailbox is not an app read.
        let outlook = [mail(
            "d3590ed6-52b3-4102-aeff-aad2292ab01c",
            MailClient::Other,
            "ann@contoso.com",
            0.0,
        )];
        assert!(
            detect("", &outlook, shape, "mailbox-access-by-app").is_empty(),
            "{shape:?}"
        );
        let config = format!(r#"{{"allowlist":{{"app_ids":["{EVIL_APP}"]}}}}"#);
        let known = [mail(EVIL_APP, MailClient::Ews, "ceo@contoso.com", 0.0)];
        assert!(
            detect(&config, &known, shape, "mailbox-access-by-app").is_empty(),
            "{shape:?}"
        );
        // Seen yesterday, reads again today: not new.
        let daily = [
            mail(EVIL_APP, MailClient::Ews, "a@contoso.com", 0.0),
            mail(EVIL_APP, MailClient::Ews, "a@contoso.com", 24.0 * 60.0),
        ];
        assert_eq!(
            detect("", &daily, shape, "mailbox-access-by-app").len(),
            1,
            "{shape:?}"
        );
    }
}

#[test]
fn multi_mailbox_access_threshold_and_window() {
    for shape in MAIL_SHAPES {
        let six: Vec<Event> = (0..6)
            .map(|i| {
                mail(
                    EVIL_APP,
                    MailClient::Graph,
                    &format!("exec{i}@contoso.com"),
                    i as f64,
                )
            })
            .collect();
        let found = detect("", &six, shape, "multi-mailbox-access");
        assert_eq!(found.len(), 1, "{shape:?}");
        assert_eq!(found[0].unmapped["mailbox_count"], 6);
        let five: Vec<Event> = six.iter().take(5).cloned().collect();
        assert!(
            detect("", &five, shape, "multi-mailbox-access").is_empty(),
            "{shape:?}"
        );
        let slow: Vec<Event> = (0..6)
            .map(|i| {
                mail(
                    EVIL_APP,
                    MailClient::Graph,
                    &format!("exec{i}@contoso.com"),
                    i as f64 * 20.0,
                )
            })
            .collect();
        assert!(
            detect("", &slow, shape, "multi-mailbox-access").is_empty(),
            "{shape:?}"
        );
    }
}

#[test]
fn a_nightly_sweep_is_routine_from_its_fourth_night() {
    // A backup app reads every mailbox each night at 01:00, in bulk; the intruder's app reads the
    // executives once, on the fifth night. The backup's first three nights are raised, then its
    // sweep is routine (low, with the days counted); the intruder's first sweep is raised.
    const BACKUP: &str = "0b5e4c1a-9d8f-4e7a-b6c5-2a1f3e4d5c6b";
    const DAY: f64 = 24.0 * 60.0;
    let mut reads = Vec::new();
    for night in 0..5 {
        for i in 0..8 {
            let minute = night as f64 * DAY + 60.0 + i as f64;
            let Event::MailboxAccess(mut read) = mail(
                BACKUP,
                MailClient::Graph,
                &format!("user{i}@contoso.com"),
                minute,
            ) else {
                unreachable!()
            };
            read.operation_count = 400;
            reads.push(Event::MailboxAccess(read));
        }
    }
    for i in 0..6 {
        reads.push(mail(
            EVIL_APP,
            MailClient::Ews,
            &format!("exec{i}@contoso.com"),
            4.0 * DAY + 90.0 + i as f64,
        ));
    }
    for shape in MAIL_SHAPES {
        for detector in ["multi-mailbox-access", "mail-access-throttled"] {
            let mut found = detect("", &reads, shape, detector);
            found.sort_by_key(|finding| finding.first_seen);
            let backup: Vec<(Severity, Option<u64>)> = found
                .iter()
                .filter(|finding| finding.to_json().contains(BACKUP))
                .map(|finding| {
                    (
                        finding.severity,
                        finding
                            .unmapped
                            .get("routine_days")
                            .and_then(|d| d.as_u64()),
                    )
                })
                .collect();
            let raised = if detector == "multi-mailbox-access" {
                Severity::High
            } else {
                Severity::Medium
            };
            assert_eq!(
                backup,
                [
                    (raised, None),
                    (raised, None),
                    (raised, None),
                    (Severity::Low, Some(3)),
                    (Severity::Low, Some(4))
                ],
                "{shape:?} {detector}"
            );
            if detector == "multi-mailbox-access" {
                let intruder: Vec<&Finding> = found
                    .iter()
                    .filter(|f| f.to_json().contains(EVIL_APP))
                    .collect();
                assert_eq!(intruder.len(), 1, "{shape:?}");
                assert_eq!(intruder[0].severity, Severity::High, "{shape:?}");
            }
        }
        // Raised every night when routine is switched off (more days than are kept).
        let config = r#"{"detectors":{"multi-mailbox-access":{"routine_days":64}}}"#;
        assert!(detect(config, &reads, shape, "multi-mailbox-access")
            .iter()
            .all(|finding| finding.severity == Severity::High));
    }
}

#[test]
fn mail_access_throttled_or_bulk() {
    for shape in MAIL_SHAPES {
        let Event::MailboxAccess(base) = mail(EVIL_APP, MailClient::Ews, "ceo@contoso.com", 0.0)
        else {
            unreachable!()
        };
        let throttled = snowyowl::event::MailboxAccess {
            throttled: true,
            ..base.clone()
        };
        assert_eq!(
            detect(
                "",
                &[Event::MailboxAccess(throttled)],
                shape,
                "mail-access-throttled"
            )
            .len(),
            1,
            "{shape:?}"
        );
        let bulk = snowyowl::event::MailboxAccess {
            operation_count: 150,
            ..base.clone()
        };
        assert_eq!(
            detect(
                "",
                &[Event::MailboxAccess(bulk)],
                shape,
                "mail-access-throttled"
            )
            .len(),
            1,
            "{shape:?}"
        );
        let normal = snowyowl::event::MailboxAccess {
            operation_count: 20,
            ..base
        };
        assert!(
            detect(
                "",
                &[Event::MailboxAccess(normal)],
                shape,
                "mail-access-throttled"
            )
            .is_empty(),
            "{shape:?}"
        );
    }
}

#[test]
fn identity_protection_risk_passes_through() {
    for shape in [Shape::Graph, Shape::AzureMonitor, Shape::LogAnalytics] {
        let found = detect(
            "",
            &[risk("ann@contoso.com", "passwordSpray", "medium", 0.0)],
            shape,
            "identity-protection-risk",
        );
        assert_eq!(found.len(), 1, "{shape:?}");
        assert_eq!(found[0].severity, Severity::Medium);
        let high = detect(
            "",
            &[risk("ann@contoso.com", "unfamiliarFeatures", "high", 0.0)],
            shape,
            "identity-protection-risk",
        );
        assert_eq!(high[0].severity, Severity::High, "{shape:?}");
        let only_spray =
            r#"{"detectors":{"identity-protection-risk":{"risk_types":["passwordSpray"]}}}"#;
        let filtered = detect(
            only_spray,
            &[risk("ann@contoso.com", "unfamiliarFeatures", "high", 0.0)],
            shape,
            "identity-protection-risk",
        );
        assert!(filtered.is_empty(), "{shape:?}");
    }
    for shape in [Shape::AzureMonitor, Shape::Graph, Shape::LogAnalytics] {
        let mut flagged = signin("ann@contoso.com", "203.0.113.9", 50126, 0.0);
        flagged.risk_event_types = vec!["passwordSpray".into()];
        assert_eq!(
            detect(
                "",
                &[Event::SignIn(flagged.pack())],
                shape,
                "identity-protection-risk"
            )
            .len(),
            1,
            "{shape:?}"
        );
        flagged.risk_event_types = vec!["unlikelyTravel".into()];
        assert!(
            detect(
                "",
                &[Event::SignIn(flagged.into())],
                shape,
                "identity-protection-risk"
            )
            .is_empty(),
            "{shape:?}"
        );
    }
}

#[test]
fn single_factor_legacy_signin_when_it_matters() {
    use snowyowl::event::FactorRequirement;
    for shape in SHAPES {
        let mut legacy = signin("scanner@contoso.com", "198.51.100.20", 0, 0.0);
        legacy.user_agent = Some("BAV2ROPC".into());
        legacy.legacy = true;
        let found = detect(
            "",
            &[Event::SignIn(legacy.into())],
            shape,
            "single-factor-legacy-signin",
        );
        assert_eq!(found.len(), 1, "{shape:?}");
        assert_eq!(found[0].severity, Severity::Low);
    }
    for shape in [Shape::AzureMonitor, Shape::Graph, Shape::LogAnalytics] {
        // Sprayed, then a single-factor success: medium.
        let mut events: Vec<Event> = crate::helpers::spray("203.0.113.66", 8, 0.0)
            .into_iter()
            .map(|signin| Event::SignIn(signin.into()))
            .collect();
        let mut hit = signin("user3@contoso.com", "192.0.2.50", 0, 60.0);
        hit.factor = FactorRequirement::Single;
        events.push(Event::SignIn(hit.pack()));
        let found = detect("", &events, shape, "single-factor-legacy-signin");
        assert_eq!(found.len(), 1, "{shape:?}");
        assert_eq!(found[0].severity, Severity::Medium);
        assert!(found[0].unmapped["reasons"]
            .to_string()
            .contains("sprayed-account"));
        // The same single-factor browser sign-in of an active, unsprayed account: nothing.
        hit.user = "ann@contoso.com".into();
        assert!(detect(
            "",
            &[Event::SignIn(hit.pack())],
            shape,
            "single-factor-legacy-signin"
        )
        .is_empty());
        // A guest: nothing.
        let mut guest = hit.clone();
        guest.legacy = true;
        guest.home_tenant_id = Some("partner-tenant".into());
        assert!(detect(
            "",
            &[Event::SignIn(guest.into())],
            shape,
            "single-factor-legacy-signin"
        )
        .is_empty());
        // Dormant for 40 days, then a single-factor sign-in: medium.
        let mut before = signin("old.test@contoso.com", "192.0.2.60", 0, 0.0);
        before.factor = FactorRequirement::Multi;
        let mut after = signin("old.test@contoso.com", "192.0.2.61", 0, 40.0 * 24.0 * 60.0);
        after.factor = FactorRequirement::Single;
        let found = detect(
            "",
            &[Event::SignIn(before.into()), Event::SignIn(after.into())],
            shape,
            "single-factor-legacy-signin",
        );
        assert_eq!(found.len(), 1, "{shape:?}");
        assert!(found[0].unmapped["reasons"]
            .to_string()
            .contains("dormant-account"));
    }
}
