//! Entra ID reference data the detectors share (log-reference §4): high-risk permissions by name
//! and id, privileged directory roles by name and template id.

/// High-risk permission names (application and delegated).
pub const HIGH_RISK_PERMISSIONS: [&str; 15] = [
    "full_access_as_app",
    "Mail.Read",
    "Mail.ReadWrite",
    "Mail.Send",
    "Mail.ReadBasic",
    "Mail.Read.Shared",
    "Mail.ReadWrite.Shared",
    "EWS.AccessAsUser.All",
    "Exchange.ManageAsApp",
    "Files.ReadWrite.All",
    "Directory.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "AppRoleAssignment.ReadWrite.All",
    "Application.ReadWrite.All",
    "User.ReadWrite.All",
];

/// High-risk permission ids and their names: the application permission (app role) and the
/// delegated permission (scope) of each name above, where it has one. Microsoft Graph's, from its
/// permissions reference (`concepts/includes/permissions-ids.md` in
/// `microsoftgraph/microsoft-graph-docs-contrib`); Exchange Online's (`full_access_as_app`,
/// `Exchange.ManageAsApp`, its own `EWS.AccessAsUser.All`) from Microsoft's Exchange
/// documentation (`MicrosoftDocs/office-developer-exchange-docs`, `MicrosoftDocs/office-docs-powershell`).
pub const HIGH_RISK_PERMISSION_IDS: [(&str, &str); 26] = [
    // Exchange Online (resource 00000002-0000-0ff1-ce00-000000000000).
    ("dc890d15-9560-4a4c-9b7f-a736ec74ec40", "full_access_as_app"),
    (
        "dc50a0fb-09a3-484d-be87-e023b12c6440",
        "Exchange.ManageAsApp",
    ),
    (
        "3b5f3d61-589b-4a3c-a359-5dd4b5ee5bd5",
        "EWS.AccessAsUser.All",
    ),
    // Microsoft Graph (resource 00000003-0000-0000-c000-000000000000): application, delegated.
    ("810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Mail.Read"),
    ("570282fd-fa5c-430d-a7fd-fc8dc98a9dca", "Mail.Read"),
    ("e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Mail.ReadWrite"),
    ("024d486e-b451-40bb-833d-3e66d98c5c73", "Mail.ReadWrite"),
    ("b633e1c5-b582-4048-a93e-9f11b44c7e96", "Mail.Send"),
    ("e383f46e-2787-4529-855e-0e479a3ffac0", "Mail.Send"),
    ("6be147d2-ea4f-4b5a-a3fa-3eab6f3c140a", "Mail.ReadBasic"),
    ("a4b8392a-d8d1-4954-a029-8e668a39a170", "Mail.ReadBasic"),
    ("7b9103a5-4610-446b-9670-80643382c1fa", "Mail.Read.Shared"),
    (
        "5df07973-7d5d-46ed-9847-1271055cbd51",
        "Mail.ReadWrite.Shared",
    ),
    (
        "9769c687-087d-48ac-9cb3-c37dde652038",
        "EWS.AccessAsUser.All",
    ),
    (
        "75359482-378d-4052-8f01-80520e7db3cd",
        "Files.ReadWrite.All",
    ),
    (
        "863451e7-0667-486c-a5d6-d135439485f0",
        "Files.ReadWrite.All",
    ),
    (
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        "Directory.ReadWrite.All",
    ),
    (
        "c5366453-9fb0-48a5-a156-24f0c49a4b84",
        "Directory.ReadWrite.All",
    ),
    (
        "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
        "RoleManagement.ReadWrite.Directory",
    ),
    (
        "d01b97e9-cbc0-49fe-810a-750afd5527a3",
        "RoleManagement.ReadWrite.Directory",
    ),
    (
        "06b708a9-e830-4db3-a914-8e69da51d44f",
        "AppRoleAssignment.ReadWrite.All",
    ),
    (
        "84bccea3-f856-4a8a-967b-dbe0a3d53a64",
        "AppRoleAssignment.ReadWrite.All",
    ),
    (
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        "Application.ReadWrite.All",
    ),
    (
        "bdfbf15f-ee85-4955-8675-146e8e5296b5",
        "Application.ReadWrite.All",
    ),
    ("741f803b-c850-494e-b5df-cde7c675a1ca", "User.ReadWrite.All"),
    ("204e0828-b5ca-4ad8-b9f3-f32a958e7cc4", "User.ReadWrite.All"),
];

/// Privileged directory roles: display names (with older names) and template ids.
pub const PRIVILEGED_ROLES: [(&str, &str); 9] = [
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    (
        "Company Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    (
        "Privileged Role Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
    ),
    (
        "Application Administrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    ),
    (
        "Cloud Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
    ),
    (
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
    ),
    (
        "Privileged Authentication Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    ),
    (
        "Security Administrator",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
    ),
    (
        "Hybrid Identity Administrator",
        "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
    ),
];

/// The high-risk permission named or identified by `token` (a name or an id), canonically named.
pub fn high_risk_permission(token: &str) -> Option<&'static str> {
    let token = token.trim().trim_matches('"');
    HIGH_RISK_PERMISSIONS
        .iter()
        .copied()
        .find(|name| name.eq_ignore_ascii_case(token))
        .or_else(|| {
            HIGH_RISK_PERMISSION_IDS
                .iter()
                .find(|(id, _)| id.eq_ignore_ascii_case(token))
                .map(|(_, name)| *name)
        })
}

/// Every high-risk permission mentioned in free text (scopes separated by spaces or commas,
/// JSON arrays of ids, `Scope: Mail.Read Mail.Send`), once each, in order of appearance.
pub fn high_risk_permissions_in(text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for token in
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
    {
        if let Some(permission) = high_risk_permission(token) {
            if !found.contains(&permission) {
                found.push(permission);
            }
        }
    }
    found
}

/// The privileged role named or identified by `token`, by its current name (older names such as
/// `Company Administrator` resolve through the template id).
pub fn privileged_role(token: &str) -> Option<&'static str> {
    let token = token.trim().trim_matches('"');
    let (_, template) = PRIVILEGED_ROLES
        .iter()
        .find(|(name, id)| name.eq_ignore_ascii_case(token) || id.eq_ignore_ascii_case(token))?;
    PRIVILEGED_ROLES
        .iter()
        .find(|(_, id)| id == template)
        .map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_by_name_and_id_in_text() {
        assert_eq!(
            high_risk_permission("\"full_access_as_app\""),
            Some("full_access_as_app")
        );
        assert_eq!(
            high_risk_permission("DC890D15-9560-4A4C-9B7F-A736EC74EC40"),
            Some("full_access_as_app")
        );
        assert_eq!(high_risk_permission("Mail.ReadBasic.All"), None);
        assert_eq!(
            high_risk_permissions_in(
                "ConsentType: AllPrincipals, Scope: openid Mail.Read mail.send User.Read"
            ),
            ["Mail.Read", "Mail.Send"]
        );
        let required = r#"[{"ResourceAppId":"00000002-0000-0ff1-ce00-000000000000","RequiredAppPermissions":[{"EntitlementId":"dc890d15-9560-4a4c-9b7f-a736ec74ec40","DirectAccessGrant":true}]}]"#;
        assert_eq!(high_risk_permissions_in(required), ["full_access_as_app"]);
    }

    #[test]
    fn every_permission_has_its_ids_and_every_id_a_name() {
        for name in HIGH_RISK_PERMISSIONS {
            assert!(
                HIGH_RISK_PERMISSION_IDS
                    .iter()
                    .any(|(_, named)| *named == name),
                "{name} has no id"
            );
        }
        for (at, (id, name)) in HIGH_RISK_PERMISSION_IDS.iter().enumerate() {
            assert!(HIGH_RISK_PERMISSIONS.contains(name), "{id} names {name}");
            assert_eq!(id.len(), 36, "{id}");
            assert!(
                !HIGH_RISK_PERMISSION_IDS[..at]
                    .iter()
                    .any(|(seen, _)| seen == id),
                "{id} twice"
            );
        }
        // Mail.Send requested by id (Graph's application permission), as an app registration's
        // `RequiredResourceAccess` lists it.
        let required = r#"[{"ResourceAppId":"00000003-0000-0000-c000-000000000000","RequiredAppPermissions":[{"EntitlementId":"b633e1c5-b582-4048-a93e-9f11b44c7e96","DirectAccessGrant":true},{"EntitlementId":"e1fe6dd8-ba31-4d61-89e7-88639da4683d","DirectAccessGrant":false}]}]"#;
        assert_eq!(high_risk_permissions_in(required), ["Mail.Send"]);
    }

    #[test]
    fn roles_by_name_and_template() {
        assert_eq!(
            privileged_role("Company Administrator"),
            Some("Global Administrator")
        );
        assert_eq!(
            privileged_role("29232cdf-9323-42fd-ade2-1d097af3e4de"),
            Some("Exchange Administrator")
        );
        assert_eq!(privileged_role("Reports Reader"), None);
    }
}
