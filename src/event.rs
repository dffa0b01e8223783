//! Typed events: what the normalizer makes of raw log records, and all that detectors ever read.
//!
//! Each raw record is parsed once into one of these. Detectors never see JSON. Strings that name
//! entities are normalised here once (user principal names lowercased, IPs in canonical form) so
//! that every detector keys on the same text.

use crate::time::Timestamp;

/// Which of the four delivery shapes of log-reference §1 a record came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// A sign-in attempt, from any of the four shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct SignIn {
    /// Event time.
    pub time: Timestamp,
    /// The sign-in id (`id` / `Id` / `originalRequestId`), used to de-duplicate; synthesized from
    /// the record's bytes when the record has none.
    pub id: String,
    /// The shape the record came in.
    pub shape: Shape,
    /// The sign-in log it belongs to.
    pub category: SignInCategory,
    /// The user principal name, lowercased (for service principals: their name or id).
    pub user: String,
    /// The source IP in canonical form, if the record has one that parses.
    pub ip: Option<String>,
    /// The result code: 0 for success.
    pub result_code: u32,
    /// `authenticationDetails` said `Correct password` at some step.
    pub correct_password_step: bool,
    /// The application signed in to (`appId` / `ApplicationId`).
    pub app_id: Option<String>,
    /// The application's display name.
    pub app_name: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// Single- or multi-factor.
    pub factor: FactorRequirement,
    /// The client app or protocol is a legacy one (basic authentication, ROPC, `BAV2ROPC`).
    pub legacy: bool,
    /// The autonomous system of the source IP, when the log carries it.
    pub asn: Option<u32>,
    /// The tenant the record was written in (resource tenant, or `OrganizationId`).
    pub tenant_id: Option<String>,
    /// The user's home tenant, when it differs by design (guests, cross-tenant access).
    pub home_tenant_id: Option<String>,
    /// Entra ID Protection risk event types (`riskEventTypes_v2`).
    pub risk_event_types: Vec<String>,
}

impl SignIn {
    /// The sign-in failed with one of the codes a password spray produces.
    pub fn is_spray_failure(&self) -> bool {
        SPRAY_FAILURE_CODES.contains(&self.result_code)
    }

    /// The sign-in proved the password right: success, a "password was correct" code, an
    /// expired password (50055), or `authenticationDetails` saying `Correct password`.
    pub fn password_correct(&self) -> bool {
        self.result_code == 0
            || self.result_code == 50055
            || PASSWORD_CORRECT_CODES.contains(&self.result_code)
            || self.correct_password_step
    }

    /// The sign-in completed.
    pub fn succeeded(&self) -> bool {
        self.result_code == 0
    }
}

/// A normalized event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A sign-in attempt.
    SignIn(SignIn),
}

impl Event {
    /// The event's own time.
    pub fn time(&self) -> Timestamp {
        match self {
            Event::SignIn(signin) => signin.time,
        }
    }

    /// The event's id, as listed in a finding's evidence.
    pub fn id(&self) -> &str {
        match self {
            Event::SignIn(signin) => &signin.id,
        }
    }
}
