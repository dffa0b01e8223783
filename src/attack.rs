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
