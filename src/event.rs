//! Typed events: what the normalizer makes of raw log records, and all that detectors ever read.
//!
//! Each raw record is parsed once into one of these. Detectors never see JSON. Strings that name
//! entities are normalised here once (user principal names lowercased, IPs in canonical form) so
//! that every detector keys on the same text.

use serde::{Deserialize, Serialize};

use crate::packed::Packed;
use crate::time::Timestamp;

/// Which of the four delivery shapes of log-reference §1 a record came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Shape {
    /// Azure Monitor diagnostic export (`properties.*`, also Event Hub `{"records":[…]}`).
    AzureMonitor,
    /// Microsoft Graph resource (`signIn`, `directoryAudit`), also `{"value":[…]}` pages.
    Graph,
    /// Log Analytics table row (PascalCase columns; nested values may be JSON strings; CSV).
    LogAnalytics,
    /// Office 365 Management Activity (unified audit log) record.
    UnifiedAudit,
}

impl Shape {
    /// A short stable name, used in findings and stats.
    pub fn name(self) -> &'static str {
        match self {
            Shape::AzureMonitor => "azure-monitor",
            Shape::Graph => "graph",
            Shape::LogAnalytics => "log-analytics",
            Shape::UnifiedAudit => "unified-audit-log",
        }
    }
}

/// The sign-in log a sign-in came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SignInCategory {
    /// `SignInLogs`: a user signed in interactively.
    Interactive,
    /// `NonInteractiveUserSignInLogs`: a client signed in on a user's behalf.
    NonInteractive,
    /// `ServicePrincipalSignInLogs`: an application signed in as itself.
    ServicePrincipal,
    /// `ManagedIdentitySignInLogs`: an Azure managed identity signed in.
    ManagedIdentity,
}

impl SignInCategory {
    /// Whether the sign-in is by a user (the only kind a password spray targets).
    pub fn is_user(self) -> bool {
        matches!(
            self,
            SignInCategory::Interactive | SignInCategory::NonInteractive
        )
    }
}

/// Whether a sign-in needed one factor or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FactorRequirement {
    /// `singleFactorAuthentication`.
    Single,
    /// `multiFactorAuthentication`.
    Multi,
    /// Not recorded (the unified audit log, Graph v1.0).
    Unknown,
}

/// Failure codes that a password spray produces (log-reference §1).
pub const SPRAY_FAILURE_CODES: [u32; 6] = [50126, 50053, 50055, 50056, 50034, 50057];

/// Codes that say the password was correct even though the sign-in did not complete (MFA
/// required, Conditional Access block, not assigned, …): a spray "hit".
pub const PASSWORD_CORRECT_CODES: [u32; 14] = [
    50074, 50076, 50079, 50072, 50158, 53003, 53000, 53001, 50105, 50129, 50133, 50005, 50155,
    50173,
];

/// A sign-in's fields, its strings as plain values: the form sign-ins are built in (by the
/// normalizer, the generator and tests) and serialized in. `S` is `&str`, `String` or `Cow<str>`;
/// [`SignIn::from`] packs one into a [`SignIn`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignInFields<S> {
    /// Event time.
    pub time: Timestamp,
    /// The sign-in id (`id` / `Id` / `originalRequestId`), used to de-duplicate; synthesized from
    /// the record's bytes when the record has none.
    pub id: S,
    /// The shape the record came in.
    pub shape: Shape,
    /// The sign-in log it belongs to.
    pub category: SignInCategory,
    /// The user principal name, lowercased (for service principals: their name or id).
    pub user: S,
    /// The source IP in canonical form, if the record has one that parses.
    pub ip: Option<S>,
    /// The result code: 0 for success.
    pub result_code: u32,
    /// `authenticationDetails` said `Correct password` at some step.
    pub correct_password_step: bool,
    /// The application signed in to (`appId` / `ApplicationId`).
    pub app_id: Option<S>,
    /// The application's display name.
    pub app_name: Option<S>,
    /// The client's user agent.
    pub user_agent: Option<S>,
    /// Single- or multi-factor.
    pub factor: FactorRequirement,
    /// The client app or protocol is a legacy one (basic authentication, ROPC, `BAV2ROPC`).
    pub legacy: bool,
    /// The autonomous system of the source IP, when the log carries it.
    pub asn: Option<u32>,
    /// The tenant the record was written in (resource tenant, or `OrganizationId`).
    pub tenant_id: Option<S>,
    /// The user's home tenant, when it differs by design (guests, cross-tenant access).
    pub home_tenant_id: Option<S>,
    /// The tenant that owns the application signed in to or with (`appOwnerTenantId`).
    pub app_owner_tenant_id: Option<S>,
    /// The country the sign-in came from (`location.countryOrRegion`).
    #[serde(default)]
    pub country: Option<S>,
    /// The device's id (`deviceDetail.deviceId`), when the device is registered.
    #[serde(default)]
    pub device_id: Option<S>,
    /// Entra ID Protection risk event types (`riskEventTypes_v2`).
    pub risk_event_types: Vec<String>,
}

/// A sign-in attempt, from any of the four shapes. Its strings are packed into one allocation
/// and read through methods; [`SignInFields`] is the form to build one in.
#[derive(Clone, PartialEq)]
pub struct SignIn {
    /// Event time.
    pub time: Timestamp,
    /// The shape the record came in.
    pub shape: Shape,
    /// The sign-in log it belongs to.
    pub category: SignInCategory,
    /// The result code: 0 for success.
    pub result_code: u32,
    /// `authenticationDetails` said `Correct password` at some step.
    pub correct_password_step: bool,
    /// Single- or multi-factor.
    pub factor: FactorRequirement,
    /// The client app or protocol is a legacy one (basic authentication, ROPC, `BAV2ROPC`).
    pub legacy: bool,
    /// The autonomous system of the source IP, when the log carries it.
    pub asn: Option<u32>,
    /// Entra ID Protection risk event types (`riskEventTypes_v2`).
    pub risk_event_types: Vec<String>,
    /// id, user, ip, app id, app name, user agent, tenant, home tenant, app owner tenant.
    strings: Packed<11>,
}

impl<S: AsRef<str>> SignInFields<S> {
    /// The sign-in these fields describe.
    pub fn pack(&self) -> SignIn {
        fn text<S: AsRef<str>>(text: &Option<S>) -> Option<&str> {
            text.as_ref().map(AsRef::as_ref)
        }
        let strings = Packed::new([
            Some(self.id.as_ref()),
            Some(self.user.as_ref()),
            text(&self.ip),
            text(&self.app_id),
            text(&self.app_name),
            text(&self.user_agent),
            text(&self.tenant_id),
            text(&self.home_tenant_id),
            text(&self.app_owner_tenant_id),
            text(&self.country),
            text(&self.device_id),
        ]);
        SignIn {
            time: self.time,
            shape: self.shape,
            category: self.category,
            result_code: self.result_code,
            correct_password_step: self.correct_password_step,
            factor: self.factor,
            legacy: self.legacy,
            asn: self.asn,
            risk_event_types: self.risk_event_types.clone(),
            strings,
        }
    }
}

impl<S: AsRef<str>> From<SignInFields<S>> for SignIn {
    fn from(mut fields: SignInFields<S>) -> Self {
        let risk_event_types = std::mem::take(&mut fields.risk_event_types);
        SignIn {
            risk_event_types,
            ..fields.pack()
        }
    }
}

impl SignIn {
    /// The sign-in id (`id` / `Id` / `originalRequestId`), used to de-duplicate; synthesized from
    /// the record's bytes when the record has none.
    pub fn id(&self) -> &str {
        self.strings.get(0).unwrap_or_default()
    }

    /// The user principal name, lowercased (for service principals: their name or id).
    pub fn user(&self) -> &str {
        self.strings.get(1).unwrap_or_default()
    }

    /// The source IP in canonical form, if the record has one that parses.
    pub fn ip(&self) -> Option<&str> {
        self.strings.get(2)
    }

    /// The application signed in to (`appId` / `ApplicationId`).
    pub fn app_id(&self) -> Option<&str> {
        self.strings.get(3)
    }

    /// The application's display name.
    pub fn app_name(&self) -> Option<&str> {
        self.strings.get(4)
    }

    /// The client's user agent.
    pub fn user_agent(&self) -> Option<&str> {
        self.strings.get(5)
    }

    /// The tenant the record was written in (resource tenant, or `OrganizationId`).
    pub fn tenant_id(&self) -> Option<&str> {
        self.strings.get(6)
    }

    /// The user's home tenant, when it differs by design (guests, cross-tenant access).
    pub fn home_tenant_id(&self) -> Option<&str> {
        self.strings.get(7)
    }

    /// The tenant that owns the application signed in to or with (`appOwnerTenantId`).
    pub fn app_owner_tenant_id(&self) -> Option<&str> {
        self.strings.get(8)
    }

    /// The country the sign-in came from.
    pub fn country(&self) -> Option<&str> {
        self.strings.get(9)
    }

    /// The device's id.
    pub fn device_id(&self) -> Option<&str> {
        self.strings.get(10)
    }

    /// All fields, the strings borrowed.
    pub fn fields(&self) -> SignInFields<&str> {
        SignInFields {
            time: self.time,
            id: self.id(),
            shape: self.shape,
            category: self.category,
            user: self.user(),
            ip: self.ip(),
            result_code: self.result_code,
            correct_password_step: self.correct_password_step,
            app_id: self.app_id(),
            app_name: self.app_name(),
            user_agent: self.user_agent(),
            factor: self.factor,
            legacy: self.legacy,
            asn: self.asn,
            tenant_id: self.tenant_id(),
            home_tenant_id: self.home_tenant_id(),
            app_owner_tenant_id: self.app_owner_tenant_id(),
            country: self.country(),
            device_id: self.device_id(),
            risk_event_types: self.risk_event_types.clone(),
        }
    }
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.fields().fmt(f)
    }
}

// Serialized as its fields (snapshots hold buffered events): the same JSON as when the strings
// were fields.
impl Serialize for SignIn {
    fn serialize<Z: serde::Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        self.fields().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SignIn {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SignInFields::<String>::deserialize(deserializer).map(SignIn::from)
    }
}

impl SignIn {
    /// The sign-in failed with one of the codes a password spray produces.
    pub fn is_spray_failure(&self) -> bool {
        SPRAY_FAILURE_CODES.contains(&self.result_code)
    }

    /// The sign-in presented the user's credentials: it is not a client's non-interactive sign-in
    /// on a token it held (a refresh token or a device's primary refresh token, `Previously
    /// satisfied`), unless that sign-in was a legacy or ROPC one (Exchange logs the basic
    /// authentication it converts, `BAV2ROPC`, as non-interactive) or its steps say `Correct
    /// password`. Real tenants log token refreshes by the thousand, many single-factor: none
    /// says anything about the password.
    pub fn presented_credentials(&self) -> bool {
        self.category != SignInCategory::NonInteractive || self.legacy || self.correct_password_step
    }

    /// The sign-in proved the password right: it presented credentials (see
    /// [`presented_credentials`](Self::presented_credentials)) and succeeded, ended in a "password
    /// was correct" code or an expired password (50055), or its `authenticationDetails` say
    /// `Correct password`.
    pub fn password_correct(&self) -> bool {
        self.presented_credentials()
            && (self.result_code == 0
                || self.result_code == 50055
                || PASSWORD_CORRECT_CODES.contains(&self.result_code)
                || self.correct_password_step)
    }

    /// The sign-in completed.
    pub fn succeeded(&self) -> bool {
        self.result_code == 0
    }
}

/// The directory audit activities the detectors read, recognised after normalising the name
/// (dashes, case, surrounding spaces, the unified audit log's trailing period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditActivity {
    /// `Add application`.
    AddApplication,
    /// `Add service principal`.
    AddServicePrincipal,
    /// `Update application – Certificates and secrets management `.
    ApplicationCredentials,
    /// `Add service principal credentials`.
    ServicePrincipalCredentials,
    /// `Update application`.
    UpdateApplication,
    /// `Update service principal`.
    UpdateServicePrincipal,
    /// `Add owner to application`.
    AddOwnerToApplication,
    /// `Add owner to service principal`.
    AddOwnerToServicePrincipal,
    /// `Consent to application`.
    ConsentToApplication,
    /// `Add delegated permission grant`.
    AddDelegatedPermissionGrant,
    /// `Add app role assignment to service principal`.
    AddAppRoleAssignment,
    /// `Add member to role`, `Add eligible member to role`, `Add scoped member to role` (and their
    /// PIM forms).
    AddMemberToRole,
    /// `Remove service principal`.
    RemoveServicePrincipal,
    /// `Add unverified domain`, `Add verified domain` (the unified audit log's `Add domain to
    /// company.`).
    AddDomain,
    /// `Verify domain`, `Verify email verified domain`.
    VerifyDomain,
    /// `Set domain authentication`: a domain made federated (or managed).
    SetDomainAuthentication,
    /// `Set federation settings on domain`: a federated domain's issuer, certificates, URIs.
    SetFederationSettings,
    /// `Disable Strong Authentication`: a user's per-user MFA turned off.
    DisableStrongAuthentication,
    /// `Update user`: read for its `StrongAuthenticationRequirement` (per-user MFA) and
    /// `StrongAuthenticationMethod` (the user's registered MFA methods).
    UpdateUser,
    /// `Admin registered security info`: an authentication method registered for a user by
    /// someone else (the Authentication Methods service; `resultReason` names the method).
    AdminRegisteredSecurityInfo,
    /// `Update conditional access policy`.
    UpdateConditionalAccessPolicy,
    /// `Delete conditional access policy`.
    DeleteConditionalAccessPolicy,
    /// `Add partner to company`: a partner given delegated admin privileges (DAP).
    AddPartner,
    /// `Add a partner to cross-tenant access setting`: another tenant given its own policy.
    AddCrossTenantPartner,
    /// `Update a partner cross-tenant access setting`.
    UpdateCrossTenantPartner,
    /// `Update the company default cross-tenant access setting`: the policy of every other tenant.
    UpdateCrossTenantDefault,
    /// `Create` or `Update a partner cross-tenant identity sync setting`.
    CrossTenantSync,
    /// Anything else.
    Other,
}

/// An activity name in the form it is compared in: dashes (hyphen, en dash, em dash) as `-`,
/// lowercase, runs of spaces as one, no surrounding spaces, no trailing period.
pub fn normalize_activity_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.extend(c.to_lowercase());
    }
    let trimmed = out.trim_end().trim_end_matches('.').trim_end();
    trimmed.to_owned()
}

impl AuditActivity {
    /// Whether the activity acts on a domain (its target is the domain, by name).
    pub fn on_domain(self) -> bool {
        matches!(
            self,
            AuditActivity::AddDomain
                | AuditActivity::VerifyDomain
                | AuditActivity::SetDomainAuthentication
                | AuditActivity::SetFederationSettings
        )
    }

    /// Recognises an activity name, in any of its spellings.
    pub fn of(name: &str) -> AuditActivity {
        let name = normalize_activity_name(name);
        match name.as_str() {
            "add application" => AuditActivity::AddApplication,
            "add service principal" => AuditActivity::AddServicePrincipal,
            "update application - certificates and secrets management" => {
                AuditActivity::ApplicationCredentials
            }
            "add service principal credentials" => AuditActivity::ServicePrincipalCredentials,
            "update application" => AuditActivity::UpdateApplication,
            "update service principal" => AuditActivity::UpdateServicePrincipal,
            "add owner to application" => AuditActivity::AddOwnerToApplication,
            "add owner to service principal" => AuditActivity::AddOwnerToServicePrincipal,
            "consent to application" => AuditActivity::ConsentToApplication,
            "add delegated permission grant" => AuditActivity::AddDelegatedPermissionGrant,
            "add app role assignment to service principal" => AuditActivity::AddAppRoleAssignment,
            "remove service principal" => AuditActivity::RemoveServicePrincipal,
            "add unverified domain" | "add verified domain" | "add domain to company" => {
                AuditActivity::AddDomain
            }
            "verify domain" | "verify email verified domain" => AuditActivity::VerifyDomain,
            "set domain authentication" => AuditActivity::SetDomainAuthentication,
            "set federation settings on domain" => AuditActivity::SetFederationSettings,
            "disable strong authentication" => AuditActivity::DisableStrongAuthentication,
            "update user" => AuditActivity::UpdateUser,
            "admin registered security info" => AuditActivity::AdminRegisteredSecurityInfo,
            "add partner to company" => AuditActivity::AddPartner,
            "add a partner to cross-tenant access setting" => AuditActivity::AddCrossTenantPartner,
            "update a partner cross-tenant access setting" => {
                AuditActivity::UpdateCrossTenantPartner
            }
            "update the company default cross-tenant access setting" => {
                AuditActivity::UpdateCrossTenantDefault
            }
            "create a partner cross-tenant identity sync setting"
            | "update a partner cross-tenant identity sync setting" => {
                AuditActivity::CrossTenantSync
            }
            "update conditional access policy" => AuditActivity::UpdateConditionalAccessPolicy,
            "delete conditional access policy" => AuditActivity::DeleteConditionalAccessPolicy,
            // PIM writes a record when an assignment is requested and another when it completes;
            // only a completed (or direct) assignment grants the role.
            _ if (name.starts_with("add member to role")
                || name.starts_with("add eligible member to role")
                || name.starts_with("add scoped member to role"))
                && !name.contains("request") =>
            {
                AuditActivity::AddMemberToRole
            }
            _ => AuditActivity::Other,
        }
    }
}

/// Who did something.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The user principal name (lowercased), when a user acted.
    pub user: Option<String>,
    /// The acting application's app id, when an application acted.
    pub app_id: Option<String>,
    /// The acting service principal's object id, when an application acted.
    pub service_principal_id: Option<String>,
    /// The object id of the acting user.
    pub object_id: Option<String>,
    /// A display name.
    pub display_name: Option<String>,
    /// The actor's IP, when recorded.
    pub ip: Option<String>,
}

impl Actor {
    /// An application (not a user) acted.
    pub fn is_app(&self) -> bool {
        self.user.is_none() && (self.app_id.is_some() || self.service_principal_id.is_some())
    }

    /// Microsoft's GDAP service principal acted (`Partner Customer Delegated Administration`, app
    /// id `2832473f-…`): it sets up what a partner relationship an administrator approved grants.
    /// Known by its app id; by its name only when no app id is logged (any app can be given any
    /// name).
    pub fn is_gdap_service(&self) -> bool {
        const GDAP_APP_ID: &str = "2832473f-ec63-45fb-976f-5d45a7d4bb91";
        match self.app_id.as_deref() {
            Some(id) => id.eq_ignore_ascii_case(GDAP_APP_ID),
            None => self.display_name.as_deref().is_some_and(|name| {
                name.trim()
                    .eq_ignore_ascii_case("Partner Customer Delegated Administration")
            }),
        }
    }

    /// One of Microsoft's internal directory services acted (`Microsoft Azure AD Internal - Jit
    /// Provisioning` adding a first-party app's service principal, say): named so, with no user
    /// and no app id. An app of anyone else's acts under its app id, whatever its name.
    pub fn is_microsoft_internal(&self) -> bool {
        const PREFIX: &str = "microsoft azure ad internal";
        self.user.is_none()
            && self.app_id.is_none()
            && self
                .display_name
                .as_deref()
                .is_some_and(|name| starts_with_ignore_ascii_case(name, PREFIX))
    }

    /// The best name for the actor: UPN, app id, service principal id, display name.
    pub fn name(&self) -> &str {
        self.user
            .as_deref()
            .or(self.app_id.as_deref())
            .or(self.service_principal_id.as_deref())
            .or(self.display_name.as_deref())
            .unwrap_or("unknown")
    }
}

/// One target of a directory change (`targetResources[]`, `Target[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditTarget {
    /// Object id.
    pub id: Option<String>,
    /// `User`, `Application`, `ServicePrincipal`, `Role`, …
    pub kind: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// User principal name (lowercased), for user targets.
    pub user: Option<String>,
}

impl AuditTarget {
    /// What to call it in a finding: its display name, else its user principal name, else its
    /// id (a null display name is common in real records), else `(unnamed)`.
    pub fn label(&self) -> String {
        [&self.display_name, &self.user, &self.id]
            .into_iter()
            .flatten()
            .find(|name| !name.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| "(unnamed)".to_owned())
    }
}

/// A modified property, with values JSON-decoded when they were quoted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Modified {
    /// The property name (`KeyDescription`, `AppRole.Value`, `ServicePrincipal.AppId`, …).
    pub name: String,
    /// The old value.
    pub old: String,
    /// The new value.
    pub new: String,
}

impl Modified {
    /// A property changed from `old` to `new`.
    pub fn new(name: &str, old: &str, new: &str) -> Self {
        Modified {
            name: name.to_owned(),
            old: old.to_owned(),
            new: new.to_owned(),
        }
    }
}

/// A directory audit record (application, service principal and role changes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryAudit {
    /// Event time.
    pub time: Timestamp,
    /// The record id.
    pub id: String,
    /// The shape it came in.
    pub shape: Shape,
    /// The activity, recognised.
    pub activity: AuditActivity,
    /// The activity name as written.
    pub activity_name: String,
    /// The change succeeded (failures are kept, detectors skip them).
    pub success: bool,
    /// Who made the change.
    pub actor: Actor,
    /// What it was made to.
    pub targets: Vec<AuditTarget>,
    /// Modified properties of every target (and the unified audit log's own).
    pub modified: Vec<Modified>,
    /// `additionalDetails` key/value pairs.
    pub details: Vec<(String, String)>,
    /// `resultReason`: why the result was what it was. The Authentication Methods service names
    /// the method here (`Admin registered temporary access pass method for user`).
    pub reason: Option<String>,
    /// The tenant.
    pub tenant_id: Option<String>,
}

impl DirectoryAudit {
    /// The new value of the first modified property named `name` (case-insensitive).
    pub fn new_value(&self, name: &str) -> Option<&str> {
        self.modified
            .iter()
            .find(|modified| modified.name.eq_ignore_ascii_case(name))
            .map(|modified| modified.new.as_str())
    }

    /// The old value of the first modified property named `name` (case-insensitive).
    pub fn old_value(&self, name: &str) -> Option<&str> {
        self.modified
            .iter()
            .find(|modified| modified.name.eq_ignore_ascii_case(name))
            .map(|modified| modified.old.as_str())
    }

    /// An additional detail by key (case-insensitive).
    pub fn detail(&self, key: &str) -> Option<&str> {
        self.details
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The first target of a kind (`Application`, `ServicePrincipal`, `User`, `Role`).
    pub fn target_of_kind(&self, kind: &str) -> Option<&AuditTarget> {
        self.targets.iter().find(|target| {
            target
                .kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case(kind))
        })
    }
}

/// How an application read a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MailClient {
    /// Exchange Web Services (`ClientInfoString` `Client=WebServices;ExchangeWebServices…`).
    Ews,
    /// Microsoft Graph (`AppId` is Graph, `ClientAppId` is the app).
    Graph,
    /// A user's mail client or anything else.
    Other,
}

/// Exchange `MailItemsAccessed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailboxAccess {
    /// Event time.
    pub time: Timestamp,
    /// The record id.
    pub id: String,
    /// The shape it came in.
    pub shape: Shape,
    /// The accessing identity (`UserId`), lowercased.
    pub user: String,
    /// The mailbox read (`MailboxOwnerUPN`), lowercased.
    pub mailbox: String,
    /// The application that read it (`ClientAppId`, `AppAccessContext.ClientAppId`, or `AppId`).
    pub client_app_id: Option<String>,
    /// `AppId` as logged.
    pub app_id: Option<String>,
    /// How it was read.
    pub client: MailClient,
    /// Client IP.
    pub ip: Option<String>,
    /// `IsThrottled` was `True`.
    pub throttled: bool,
    /// `OperationCount`.
    pub operation_count: u64,
    /// The tenant (`OrganizationId`).
    pub tenant_id: Option<String>,
    /// The tenant that issued the token (`TokenTenantId`), when logged.
    pub token_tenant_id: Option<String>,
}

/// An Exchange admin cmdlet run (unified audit log RecordType 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeAdmin {
    /// Event time.
    pub time: Timestamp,
    /// The record id.
    pub id: String,
    /// The shape it came in.
    pub shape: Shape,
    /// The cmdlet (`New-ManagementRoleAssignment`, …).
    pub cmdlet: String,
    /// Its parameters.
    pub parameters: Vec<(String, String)>,
    /// Who ran it (lowercased).
    pub actor: String,
    /// The object acted on (`ObjectId`).
    pub object: Option<String>,
    /// The tenant.
    pub tenant_id: Option<String>,
    /// It succeeded.
    pub success: bool,
}

impl ExchangeAdmin {
    /// A parameter's value by name (case-insensitive).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// One of Exchange Online's own services ran the cmdlet: `NT AUTHORITY\SYSTEM` under a
    /// service's name (`Microsoft.Exchange.ServiceHost`, `MSExchangeMigrationWorkflow`,
    /// `Microsoft.Exchange.Management.ForwardSync`), as the service's housekeeping logs itself;
    /// no tenant account can act as it. Not the web front end (`w3wp`), which runs cmdlets an
    /// administrator asked for in a portal.
    pub fn by_exchange_service(&self) -> bool {
        const SYSTEM: &str = "nt authority\\system (";
        let actor = self.actor.trim().to_ascii_lowercase();
        actor
            .strip_prefix(SYSTEM)
            .and_then(|rest| rest.strip_suffix(')'))
            .is_some_and(|process| !process.trim().is_empty() && process.trim() != "w3wp")
    }
}

/// An Entra ID Protection risk detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskDetection {
    /// Event time.
    pub time: Timestamp,
    /// The record id.
    pub id: String,
    /// The shape it came in.
    pub shape: Shape,
    /// The risk event type (`passwordSpray`, …).
    pub risk_type: String,
    /// `low`, `medium`, `high`, or empty.
    pub risk_level: String,
    /// The user at risk (lowercased).
    pub user: String,
    /// The IP, when logged.
    pub ip: Option<String>,
    /// The tenant.
    pub tenant_id: Option<String>,
}

/// A normalized event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// A sign-in attempt.
    SignIn(SignIn),
    /// A directory change.
    DirectoryAudit(DirectoryAudit),
    /// Mail read.
    MailboxAccess(MailboxAccess),
    /// An Exchange admin cmdlet.
    ExchangeAdmin(ExchangeAdmin),
    /// An Identity Protection risk detection.
    RiskDetection(RiskDetection),
}

impl Event {
    /// The event's own time.
    pub fn time(&self) -> Timestamp {
        match self {
            Event::SignIn(event) => event.time,
            Event::DirectoryAudit(event) => event.time,
            Event::MailboxAccess(event) => event.time,
            Event::ExchangeAdmin(event) => event.time,
            Event::RiskDetection(event) => event.time,
        }
    }

    /// The event's id, as listed in a finding's evidence.
    pub fn id(&self) -> &str {
        match self {
            Event::SignIn(event) => event.id(),
            Event::DirectoryAudit(event) => &event.id,
            Event::MailboxAccess(event) => &event.id,
            Event::ExchangeAdmin(event) => &event.id,
            Event::RiskDetection(event) => &event.id,
        }
    }

    /// The tenant the record was written in, when it says (every shape has a field for it).
    pub fn tenant_id(&self) -> Option<&str> {
        match self {
            Event::SignIn(event) => event.tenant_id(),
            Event::DirectoryAudit(event) => event.tenant_id.as_deref(),
            Event::MailboxAccess(event) => event.tenant_id.as_deref(),
            Event::ExchangeAdmin(event) => event.tenant_id.as_deref(),
            Event::RiskDetection(event) => event.tenant_id.as_deref(),
        }
    }
}

/// `text` starts with `prefix`, ASCII letters compared without case (how the services' own names
/// are matched: their case differs between exports).
pub fn starts_with_ignore_ascii_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// Whether `id` is a GUID (`8-4-4-4-12` hex digits, either case): what directory object, app and
/// tenant ids are.
pub fn is_guid(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(at, byte)| match at {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guid_is_a_guid() {
        assert!(is_guid("9c1e4b7a-2f3d-4e5a-8b6c-7d8e9f0a1b2c"));
        assert!(is_guid("9C1E4B7A-2F3D-4E5A-8B6C-7D8E9F0A1B2C"));
        assert!(!is_guid("9c1e4b7a-2f3d-4e5a-8b6c-7d8e9f0a1b2"));
        assert!(!is_guid("9c1e4b7a_2f3d-4e5a-8b6c-7d8e9f0a1b2c"));
        assert!(!is_guid("Fabrikam Cloud Services, a partner!!"));
        assert!(!is_guid("9c1e4b7a-2f3d-4e5a-8b6c-7d8e9f0a1b2\u{e9}"));
    }

    fn fields() -> SignInFields<&'static str> {
        SignInFields {
            time: 1_705_312_800_123,
            id: "5f2a3c4d-0000-4000-8000-000000000001",
            shape: Shape::LogAnalytics,
            category: SignInCategory::NonInteractive,
            user: "ann@contoso.com",
            ip: Some("2001:db8::1"),
            result_code: 50126,
            correct_password_step: true,
            app_id: None,
            app_name: Some(""),
            user_agent: Some("Mozilla/5.0 (Ünïcode)"),
            factor: FactorRequirement::Single,
            legacy: true,
            asn: Some(64_500),
            tenant_id: None,
            home_tenant_id: Some("home"),
            app_owner_tenant_id: Some("owner"),
            country: Some("NL"),
            device_id: None,
            risk_event_types: vec!["passwordSpray".into()],
        }
    }

    #[test]
    fn a_packed_sign_in_gives_back_its_fields() {
        let fields = fields();
        let signin = fields.pack();
        assert_eq!(signin.fields(), fields);
        // An empty string stays apart from a missing one.
        assert_eq!((signin.app_id(), signin.app_name()), (None, Some("")));
        assert_eq!(SignIn::from(signin.fields()), signin);
        let bare = SignInFields {
            ip: None,
            user_agent: None,
            home_tenant_id: None,
            app_owner_tenant_id: None,
            app_name: None,
            ..fields
        };
        assert_eq!(bare.pack().fields(), bare);
    }

    #[test]
    fn a_sign_in_serializes_as_its_fields() {
        // Snapshots hold buffered sign-ins: their JSON is the fields' JSON, and reads back.
        let signin = fields().pack();
        let json = serde_json::to_string(&signin).unwrap();
        assert_eq!(json, serde_json::to_string(&fields()).unwrap());
        assert!(json.contains(r#""user":"ann@contoso.com","ip":"2001:db8::1""#));
        assert_eq!(serde_json::from_str::<SignIn>(&json).unwrap(), signin);
    }

    #[test]
    fn activity_names_match_in_every_spelling() {
        for name in [
            "Update application \u{2013} Certificates and secrets management ",
            "Update application - Certificates and secrets management",
            "Update application \u{2014} Certificates and secrets management.",
            "update application  -  certificates and secrets management",
            "Update application – Certificates and secrets management .",
        ] {
            assert_eq!(
                AuditActivity::of(name),
                AuditActivity::ApplicationCredentials,
                "{name:?}"
            );
        }
        assert_eq!(
            AuditActivity::of("Add member to role."),
            AuditActivity::AddMemberToRole
        );
        assert_eq!(
            AuditActivity::of("Add eligible member to role in PIM completed (permanent)"),
            AuditActivity::AddMemberToRole
        );
        assert_eq!(
            AuditActivity::of("Add member to role in PIM requested (permanent)"),
            AuditActivity::Other
        );
        assert_eq!(
            AuditActivity::of("Add service principal."),
            AuditActivity::AddServicePrincipal
        );
        assert_eq!(
            AuditActivity::of("Add application"),
            AuditActivity::AddApplication
        );
        assert_eq!(AuditActivity::of("Add applications"), AuditActivity::Other);
    }
}
