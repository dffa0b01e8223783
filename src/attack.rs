//! MITRE ATT&CK (Enterprise) techniques that snowyowl's findings name, with their tactics.

/// One technique as OCSF `attacks[]` wants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Technique {
    /// Technique or sub-technique id, e.g. `T1110.003`.
    pub uid: &'static str,
    /// Its name.
    pub name: &'static str,
    /// The tactic id, e.g. `TA0006`.
    pub tactic_uid: &'static str,
    /// The tactic name.
    pub tactic_name: &'static str,
}

const fn technique(
    uid: &'static str,
    name: &'static str,
    tactic_uid: &'static str,
    tactic_name: &'static str,
) -> Technique {
    Technique {
        uid,
        name,
        tactic_uid,
        tactic_name,
    }
}

/// T1110.003 Password Spraying.
pub const PASSWORD_SPRAYING: Technique = technique(
    "T1110.003",
    "Brute Force: Password Spraying",
    "TA0006",
    "Credential Access",
);
/// T1078.004 Valid Accounts: Cloud Accounts.
pub const CLOUD_ACCOUNTS: Technique = technique(
    "T1078.004",
    "Valid Accounts: Cloud Accounts",
    "TA0001",
    "Initial Access",
);
/// T1090.002 Proxy: External Proxy.
pub const EXTERNAL_PROXY: Technique = technique(
    "T1090.002",
    "Proxy: External Proxy",
    "TA0011",
    "Command and Control",
);
/// T1136.003 Create Account: Cloud Account.
pub const CLOUD_ACCOUNT_CREATION: Technique = technique(
    "T1136.003",
    "Create Account: Cloud Account",
    "TA0003",
    "Persistence",
);
/// T1098 Account Manipulation.
pub const ACCOUNT_MANIPULATION: Technique =
    technique("T1098", "Account Manipulation", "TA0003", "Persistence");
/// T1098.001 Account Manipulation: Additional Cloud Credentials.
pub const ADDITIONAL_CLOUD_CREDENTIALS: Technique = technique(
    "T1098.001",
    "Account Manipulation: Additional Cloud Credentials",
    "TA0003",
    "Persistence",
);
/// T1098.002 Account Manipulation: Additional Email Delegate Permissions.
pub const ADDITIONAL_EMAIL_DELEGATE: Technique = technique(
    "T1098.002",
    "Account Manipulation: Additional Email Delegate Permissions",
    "TA0003",
    "Persistence",
);
/// T1098.003 Account Manipulation: Additional Cloud Roles.
pub const ADDITIONAL_CLOUD_ROLES: Technique = technique(
    "T1098.003",
    "Account Manipulation: Additional Cloud Roles",
    "TA0004",
    "Privilege Escalation",
);
/// T1528 Steal Application Access Token.
pub const STEAL_APPLICATION_TOKEN: Technique = technique(
    "T1528",
    "Steal Application Access Token",
    "TA0006",
    "Credential Access",
);
/// T1199 Trusted Relationship.
pub const TRUSTED_RELATIONSHIP: Technique =
    technique("T1199", "Trusted Relationship", "TA0001", "Initial Access");
/// T1114.002 Email Collection: Remote Email Collection.
pub const REMOTE_EMAIL_COLLECTION: Technique = technique(
    "T1114.002",
    "Email Collection: Remote Email Collection",
    "TA0009",
    "Collection",
);

/// T1562 Impair Defenses: flooding a detector's state to blind it.
pub const IMPAIR_DEFENSES: Technique =
    technique("T1562", "Impair Defenses", "TA0005", "Defense Evasion");

/// T1562.008 Impair Defenses: Disable or Modify Cloud Logs.
pub const DISABLE_CLOUD_LOGS: Technique = technique(
    "T1562.008",
    "Impair Defenses: Disable or Modify Cloud Logs",
    "TA0005",
    "Defense Evasion",
);

/// T1484.002 Domain or Tenant Policy Modification: Trust Modification.
pub const TRUST_MODIFICATION: Technique = technique(
    "T1484.002",
    "Domain or Tenant Policy Modification: Trust Modification",
    "TA0004",
    "Privilege Escalation",
);

/// T1556.006 Modify Authentication Process: Multi-Factor Authentication.
pub const MODIFY_MFA: Technique = technique(
    "T1556.006",
    "Modify Authentication Process: Multi-Factor Authentication",
    "TA0005",
    "Defense Evasion",
);

/// Every technique a finding may name (snapshots find them here by id).
pub const ALL: [Technique; 15] = [
    IMPAIR_DEFENSES,
    MODIFY_MFA,
    DISABLE_CLOUD_LOGS,
    TRUST_MODIFICATION,
    PASSWORD_SPRAYING,
    CLOUD_ACCOUNTS,
    EXTERNAL_PROXY,
    CLOUD_ACCOUNT_CREATION,
    ACCOUNT_MANIPULATION,
    ADDITIONAL_CLOUD_CREDENTIALS,
    ADDITIONAL_EMAIL_DELEGATE,
    ADDITIONAL_CLOUD_ROLES,
    STEAL_APPLICATION_TOKEN,
    TRUSTED_RELATIONSHIP,
    REMOTE_EMAIL_COLLECTION,
];
