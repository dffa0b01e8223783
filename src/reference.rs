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

/// High-risk permission ids and their names.
pub const HIGH_RISK_PERMISSION_IDS: [(&str, &str); 8] = [
    ("dc890d15-9560-4a4c-9b7f-a736ec74ec40", "full_access_as_app"),
    ("810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Mail.Read"),
    ("e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Mail.ReadWrite"),
    ("024d486e-b451-40bb-833d-3e66d98c5c73", "Mail.ReadWrite"),
    (
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        "Directory.ReadWrite.All",
    ),
    (
        "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
        "RoleManagement.ReadWrite.Directory",
    ),
    (
        "06b708a9-e830-4db3-a914-8e69da51d44f",
        "AppRoleAssignment.ReadWrite.All",
    ),
    (
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        "Application.ReadWrite.All",
    ),
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
