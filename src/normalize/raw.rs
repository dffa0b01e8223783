//! The "low" form: one borrowed serde pass over a record, reading only the fields some detector
//! needs, in every spelling the supported shapes use. Unknown fields are skipped without being
//! copied. Validation into typed events happens in the parent module.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// A scalar read as text: a JSON string (borrowed when it has no escapes), number or boolean.
/// Objects and arrays are type errors.
#[derive(Debug, Clone, PartialEq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'a> Text<'a> {
    /// The text, trimmed.
    pub fn as_str(&self) -> &str {
        self.0.trim()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(if v { "true" } else { "false" })))
            }
        }
        deserializer.deserialize_any(TextVisitor(PhantomData))
    }
}

/// A numeric code written as a number or as a string of digits (`"50126"`). An empty string is
/// no code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Code(pub Option<i64>);

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CodeVisitor;
        impl Visitor<'_> for CodeVisitor {
            type Value = Code;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer code (number or string of digits)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Code, E> {
                Ok(Code(Some(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Code, E> {
                i64::try_from(v)
                    .map(|v| Code(Some(v)))
                    .map_err(|_| E::custom("code out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Code, E> {
                let v = v.trim();
                if v.is_empty() {
                    return Ok(Code(None));
                }
                v.parse()
                    .map(|v| Code(Some(v)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &"an integer code"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Code, E> {
                Ok(Code(None))
            }
        }
        deserializer.deserialize_any(CodeVisitor)
    }
}

/// A value that Log Analytics may deliver either as itself or JSON-encoded in a string
/// (`"Status": "{\"errorCode\":50126}"`). An empty string is the empty value.
#[derive(Debug, Clone, PartialEq)]
pub struct MaybeEncoded<T>(pub T);

impl<'de, T: DeserializeOwned + Default> Deserialize<'de> for MaybeEncoded<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EncodedVisitor<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned + Default> Visitor<'de> for EncodedVisitor<T> {
            type Value = MaybeEncoded<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value or a string holding one")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v.trim().is_empty() {
                    return Ok(MaybeEncoded(T::default()));
                }
                serde_json::from_str(v)
                    .map(MaybeEncoded)
                    .map_err(|e| E::custom(format_args!("JSON-encoded string: {e}")))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(MaybeEncoded)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(MaybeEncoded)
            }
        }
        deserializer.deserialize_any(EncodedVisitor(PhantomData))
    }
}

/// `status` of a sign-in.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Status {
    /// The result code.
    #[serde(rename = "errorCode", default)]
    pub error_code: Code,
}

/// One step of `authenticationDetails`, borrowed while its steps are read.
#[derive(Deserialize)]
struct AuthenticationStep<'a> {
    /// E.g. `Correct password`, `MFA successfully completed`.
    #[serde(rename = "authenticationStepResultDetail", borrow, default)]
    result_detail: Option<Text<'a>>,
}

/// `authenticationDetails` as the detectors need it: whether a step said `Correct password`.
/// Read step by step, keeping nothing (every sign-in carries the list).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrectPasswordStep(pub bool);

impl<'de> Deserialize<'de> for CorrectPasswordStep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepsVisitor;
        impl<'de> Visitor<'de> for StepsVisitor {
            type Value = CorrectPasswordStep;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of authentication steps")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut correct = false;
                while let Some(step) = seq.next_element::<AuthenticationStep<'de>>()? {
                    correct |= step.result_detail.is_some_and(|detail| {
                        detail.as_str().eq_ignore_ascii_case("Correct password")
                    });
                }
                Ok(CorrectPasswordStep(correct))
            }
        }
        deserializer.deserialize_seq(StepsVisitor)
    }
}

/// `signInEventTypes` (Graph beta) as the normalizer needs it: which of the non-interactive
/// kinds it lists. Read without keeping the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignInEventTypes {
    /// `servicePrincipal`.
    pub service_principal: bool,
    /// `managedIdentity`.
    pub managed_identity: bool,
    /// `nonInteractiveUser`.
    pub non_interactive_user: bool,
}

impl<'de> Deserialize<'de> for SignInEventTypes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypesVisitor;
        impl<'de> Visitor<'de> for TypesVisitor {
            type Value = SignInEventTypes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of sign-in event types")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut types = SignInEventTypes::default();
                while let Some(kind) = seq.next_element::<Text<'de>>()? {
                    let kind = kind.as_str();
                    types.service_principal |= kind.eq_ignore_ascii_case("servicePrincipal");
                    types.managed_identity |= kind.eq_ignore_ascii_case("managedIdentity");
                    types.non_interactive_user |= kind.eq_ignore_ascii_case("nonInteractiveUser");
                }
                Ok(types)
            }
        }
        deserializer.deserialize_seq(TypesVisitor)
    }
}

/// A `{Name, Value}` pair of the unified audit log.
#[derive(Debug, Clone, Deserialize)]
pub struct NameValue<'a> {
    /// The name.
    #[serde(rename = "Name", borrow)]
    pub name: Option<Text<'a>>,
    /// The value.
    #[serde(rename = "Value", borrow)]
    pub value: Option<Text<'a>>,
}

/// A top-level record: every shape's fields, with an Azure Monitor export's `properties` held
/// inline (no allocation per record).
pub type Record<'a> = Raw<'a, Properties<'a>>;

/// The `properties` of an Azure Monitor export: a Graph-shaped record (a `properties` inside it
/// is skipped).
pub type Properties<'a> = Raw<'a, Skipped>;

/// A value that is read past and not kept.
#[derive(Debug, Default)]
pub struct Skipped;

impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        de::IgnoredAny::deserialize(deserializer).map(|_| Skipped)
    }
}

/// Every field the detectors read, in every spelling of every supported shape. A record is
/// deserialized into this once; which fields are present tells its shape. `P` is what an Azure
/// Monitor `properties` is read into ([`Record`], [`Properties`]).
#[derive(Debug, Default, Deserialize)]
#[serde(bound(deserialize = "P: Deserialize<'de>"))]
pub struct Raw<'a, P> {
    // Wrappers: Azure Monitor / Event Hub batches and Graph pages.
    /// `{"records": […]}`.
    #[serde(borrow)]
    pub records: Option<Vec<&'a RawValue>>,
    /// `{"value": […]}`.
    #[serde(borrow)]
    pub value: Option<Vec<&'a RawValue>>,

    // Azure Monitor envelope (Panther lowercases some of these keys).
    /// Envelope time.
    #[serde(borrow)]
    pub time: Option<Text<'a>>,
    /// Envelope category (`SignInLogs`, `AuditLogs`, …).
    #[serde(borrow)]
    pub category: Option<Text<'a>>,
    /// Envelope operation name (`Sign-in activity`).
    #[serde(rename = "operationName", alias = "operationname", borrow)]
    pub operation_name: Option<Text<'a>>,
    /// Envelope result type: a code as a string, or `Success` / `Failure` in some pipelines.
    #[serde(rename = "resultType", alias = "resulttype", borrow)]
    pub result_type: Option<Text<'a>>,
    /// Envelope caller IP.
    #[serde(rename = "callerIpAddress", alias = "calleripaddress", borrow)]
    pub caller_ip: Option<Text<'a>>,
    /// Envelope tenant.
    #[serde(rename = "tenantId", alias = "tenantid", borrow)]
    pub tenant_id: Option<Text<'a>>,
    /// The wrapped Graph-shaped record.
    pub properties: Option<P>,

    // Graph resources (also inside `properties`).
    /// Sign-in time.
    #[serde(rename = "createdDateTime", borrow)]
    pub created: Option<Text<'a>>,
    /// Record id.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// Original request id.
    #[serde(rename = "originalRequestId", borrow)]
    pub original_request_id: Option<Text<'a>>,
    /// User principal name.
    #[serde(rename = "userPrincipalName", borrow)]
    pub user_principal_name: Option<Text<'a>>,
    /// Source IP.
    #[serde(rename = "ipAddress", borrow)]
    pub ip_address: Option<Text<'a>>,
    /// Sign-in status: an object for sign-ins; other Graph resources use `status` as a string,
    /// so it is decoded only once the shape is known.
    #[serde(borrow)]
    pub status: Option<&'a RawValue>,
    /// Application id.
    #[serde(rename = "appId", borrow)]
    pub app_id: Option<Text<'a>>,
    /// Application name.
    #[serde(rename = "appDisplayName", borrow)]
    pub app_display_name: Option<Text<'a>>,
    /// User agent.
    #[serde(rename = "userAgent", borrow)]
    pub user_agent: Option<Text<'a>>,
    /// Single or multi factor.
    #[serde(rename = "authenticationRequirement", borrow)]
    pub authentication_requirement: Option<Text<'a>>,
    /// Authentication steps.
    #[serde(rename = "authenticationDetails")]
    pub authentication_details: Option<MaybeEncoded<CorrectPasswordStep>>,
    /// Client app (`Browser`, `IMAP4`, …).
    #[serde(rename = "clientAppUsed", borrow)]
    pub client_app_used: Option<Text<'a>>,
    /// Protocol (`ropc`, `deviceCode`, …).
    #[serde(rename = "authenticationProtocol", borrow)]
    pub authentication_protocol: Option<Text<'a>>,
    /// Autonomous system number.
    #[serde(rename = "autonomousSystemNumber", default)]
    pub asn: Code,
    /// Home tenant.
    #[serde(rename = "homeTenantId", borrow)]
    pub home_tenant_id: Option<Text<'a>>,
    /// Resource tenant.
    #[serde(rename = "resourceTenantId", borrow)]
    pub resource_tenant_id: Option<Text<'a>>,
    /// The tenant owning the app.
    #[serde(rename = "appOwnerTenantId", alias = "AppOwnerTenantId", borrow)]
    pub app_owner_tenant_id: Option<Text<'a>>,
    /// Risk event types.
    #[serde(rename = "riskEventTypes_v2")]
    pub risk_event_types: Option<MaybeEncoded<Vec<String>>>,
    /// Service principal name (service principal sign-ins).
    #[serde(rename = "servicePrincipalName", borrow)]
    pub service_principal_name: Option<Text<'a>>,
    /// Service principal id.
    #[serde(rename = "servicePrincipalId", borrow)]
    pub service_principal_id: Option<Text<'a>>,
    /// Interactive or not (Graph).
    #[serde(rename = "isInteractive")]
    pub is_interactive: Option<bool>,
    /// Sign-in event types (Graph beta: `interactiveUser`, `nonInteractiveUser`,
    /// `servicePrincipal`, `managedIdentity`).
    #[serde(rename = "signInEventTypes")]
    pub sign_in_event_types: Option<MaybeEncoded<SignInEventTypes>>,

    // Log Analytics columns.
    /// Ingestion time column.
    #[serde(rename = "TimeGenerated", alias = "TimeGenerated [UTC]", borrow)]
    pub la_time_generated: Option<Text<'a>>,
    /// Sign-in time column.
    #[serde(rename = "CreatedDateTime", alias = "CreatedDateTime [UTC]", borrow)]
    pub la_created: Option<Text<'a>>,
    /// Table name.
    #[serde(rename = "Type", borrow)]
    pub la_type: Option<Text<'a>>,
    /// Category column.
    #[serde(rename = "Category", borrow)]
    pub la_category: Option<Text<'a>>,
    /// Operation name column.
    #[serde(rename = "OperationName", borrow)]
    pub la_operation_name: Option<Text<'a>>,
    /// Record id (Log Analytics, unified audit log; `OfficeId` in `OfficeActivity`).
    #[serde(rename = "Id", alias = "OfficeId", borrow)]
    pub la_id: Option<Text<'a>>,
    /// Original request id.
    #[serde(rename = "OriginalRequestId", borrow)]
    pub la_original_request_id: Option<Text<'a>>,
    /// User principal name.
    #[serde(rename = "UserPrincipalName", borrow)]
    pub la_user_principal_name: Option<Text<'a>>,
    /// Source IP.
    #[serde(rename = "IPAddress", borrow)]
    pub la_ip_address: Option<Text<'a>>,
    /// Result code (string).
    #[serde(rename = "ResultType", default)]
    pub la_result_type: Code,
    /// Status (object or JSON string), decoded once the shape is known.
    #[serde(rename = "Status", borrow)]
    pub la_status: Option<&'a RawValue>,
    /// Application id (Log Analytics sign-ins, Exchange records).
    #[serde(rename = "AppId", borrow)]
    pub la_app_id: Option<Text<'a>>,
    /// Application name.
    #[serde(rename = "AppDisplayName", borrow)]
    pub la_app_display_name: Option<Text<'a>>,
    /// User agent.
    #[serde(rename = "UserAgent", borrow)]
    pub la_user_agent: Option<Text<'a>>,
    /// Single or multi factor.
    #[serde(rename = "AuthenticationRequirement", borrow)]
    pub la_authentication_requirement: Option<Text<'a>>,
    /// Authentication steps (usually a JSON string).
    #[serde(rename = "AuthenticationDetails")]
    pub la_authentication_details: Option<MaybeEncoded<CorrectPasswordStep>>,
    /// Client app.
    #[serde(rename = "ClientAppUsed", borrow)]
    pub la_client_app_used: Option<Text<'a>>,
    /// Protocol.
    #[serde(rename = "AuthenticationProtocol", borrow)]
    pub la_authentication_protocol: Option<Text<'a>>,
    /// Autonomous system number.
    #[serde(rename = "AutonomousSystemNumber", default)]
    pub la_asn: Code,
    /// Home tenant.
    #[serde(rename = "HomeTenantId", borrow)]
    pub la_home_tenant_id: Option<Text<'a>>,
    /// Resource tenant.
    #[serde(rename = "ResourceTenantId", borrow)]
    pub la_resource_tenant_id: Option<Text<'a>>,
    /// Workspace tenant.
    #[serde(rename = "TenantId", borrow)]
    pub la_tenant_id: Option<Text<'a>>,
    /// Risk event types.
    #[serde(rename = "RiskEventTypes_V2")]
    pub la_risk_event_types: Option<MaybeEncoded<Vec<String>>>,
    /// Service principal name.
    #[serde(rename = "ServicePrincipalName", borrow)]
    pub la_service_principal_name: Option<Text<'a>>,
    /// Service principal id.
    #[serde(rename = "ServicePrincipalId", borrow)]
    pub la_service_principal_id: Option<Text<'a>>,

    // Unified audit log (Office 365 Management Activity API).
    /// Record time (no zone: UTC).
    #[serde(rename = "CreationTime", borrow)]
    pub ual_creation_time: Option<Text<'a>>,
    /// Operation (`UserLoggedIn`, `MailItemsAccessed`, `Add service principal.`, …).
    #[serde(rename = "Operation", borrow)]
    pub ual_operation: Option<Text<'a>>,
    /// Workload (`AzureActiveDirectory`, `Exchange`, …).
    #[serde(rename = "Workload", borrow)]
    pub ual_workload: Option<Text<'a>>,
    /// Record type: a number in the unified audit log (15 sign-in, 8 directory, 50 mailbox
    /// access, 1 Exchange admin), a name in Log Analytics `OfficeActivity`.
    #[serde(rename = "RecordType", borrow)]
    pub ual_record_type: Option<Text<'a>>,
    /// The acting user (a UPN in the unified audit log, an object id in Log Analytics).
    #[serde(rename = "UserId", borrow)]
    pub ual_user_id: Option<Text<'a>>,
    /// Client IP (may carry a port).
    #[serde(rename = "ClientIP", borrow)]
    pub ual_client_ip: Option<Text<'a>>,
    /// Actor IP.
    #[serde(rename = "ActorIpAddress", borrow)]
    pub ual_actor_ip: Option<Text<'a>>,
    /// Result code (string).
    #[serde(rename = "ErrorNumber", default)]
    pub ual_error_number: Code,
    /// Result name (`InvalidUserNameOrPassword`).
    #[serde(rename = "LogonError", borrow)]
    pub ual_logon_error: Option<Text<'a>>,
    /// Application id.
    #[serde(rename = "ApplicationId", borrow)]
    pub ual_application_id: Option<Text<'a>>,
    /// `{Name, Value}` extras; `UserAgent` lives here.
    #[serde(rename = "ExtendedProperties", borrow)]
    pub ual_extended_properties: Option<Vec<NameValue<'a>>>,
    /// Tenant.
    #[serde(rename = "OrganizationId", alias = "OfficeTenantId", borrow)]
    pub ual_organization_id: Option<Text<'a>>,
    /// Result (`Success`, `Succeeded`, `True`, `Failed`, …).
    #[serde(rename = "ResultStatus", borrow)]
    pub ual_result_status: Option<Text<'a>>,
    /// Actors of a directory record.
    #[serde(rename = "Actor")]
    pub ual_actor: Option<MaybeEncoded<Vec<IdType>>>,
    /// Targets of a directory record.
    #[serde(rename = "Target")]
    pub ual_target: Option<MaybeEncoded<Vec<IdType>>>,
    /// Modified properties (values not quoted).
    #[serde(rename = "ModifiedProperties")]
    pub ual_modified: Option<MaybeEncoded<Vec<UalModified>>>,
    /// The object acted on.
    #[serde(rename = "ObjectId", borrow)]
    pub ual_object_id: Option<Text<'a>>,
    /// Mailbox owner.
    #[serde(rename = "MailboxOwnerUPN", borrow)]
    pub ual_mailbox_owner: Option<Text<'a>>,
    /// Client application id (Exchange).
    #[serde(rename = "ClientAppId", borrow)]
    pub ual_client_app_id: Option<Text<'a>>,
    /// Client IP (Exchange).
    #[serde(rename = "ClientIPAddress", alias = "Client_IPAddress", borrow)]
    pub ual_client_ip_address: Option<Text<'a>>,
    /// Client description (`Client=WebServices;ExchangeWebServices…`).
    #[serde(rename = "ClientInfoString", borrow)]
    pub ual_client_info: Option<Text<'a>>,
    /// `{Name, Value}` of a mailbox access (`MailAccessType`, `IsThrottled`).
    #[serde(rename = "OperationProperties")]
    pub ual_operation_properties: Option<MaybeEncoded<Vec<OwnedNameValue>>>,
    /// Items in an aggregated mailbox access record.
    #[serde(rename = "OperationCount", default)]
    pub ual_operation_count: Code,
    /// The app context of a newer mailbox access record.
    #[serde(rename = "AppAccessContext")]
    pub ual_app_access_context: Option<MaybeEncoded<AppAccessContext>>,
    /// The tenant that issued the token.
    #[serde(rename = "TokenTenantId", borrow)]
    pub ual_token_tenant_id: Option<Text<'a>>,
    /// Cmdlet parameters.
    #[serde(rename = "Parameters")]
    pub ual_parameters: Option<MaybeEncoded<Vec<OwnedNameValue>>>,
    /// Workload (Log Analytics `OfficeActivity`).
    #[serde(rename = "OfficeWorkload", borrow)]
    pub la_office_workload: Option<Text<'a>>,

    // Directory audit (Graph `directoryAudit`, Azure Monitor `properties`, Log Analytics).
    /// Activity name (Graph).
    #[serde(rename = "activityDisplayName", borrow)]
    pub activity_display_name: Option<Text<'a>>,
    /// Activity time (Graph).
    #[serde(rename = "activityDateTime", borrow)]
    pub activity_date_time: Option<Text<'a>>,
    /// Initiator.
    #[serde(rename = "initiatedBy", alias = "InitiatedBy")]
    pub initiated_by: Option<MaybeEncoded<InitiatedBy>>,
    /// Targets.
    #[serde(rename = "targetResources", alias = "TargetResources")]
    pub target_resources: Option<MaybeEncoded<Vec<TargetResource>>>,
    /// Additional details.
    #[serde(rename = "additionalDetails", alias = "AdditionalDetails")]
    pub additional_details: Option<MaybeEncoded<Vec<KeyValue>>>,
    /// Result (`success`, `failure`).
    #[serde(rename = "result", alias = "Result", borrow)]
    pub result: Option<Text<'a>>,

    // Risk detections.
    /// Risk event type.
    #[serde(rename = "riskEventType", alias = "RiskEventType", borrow)]
    pub risk_event_type: Option<Text<'a>>,
    /// Risk level.
    #[serde(rename = "riskLevel", alias = "RiskLevel", borrow)]
    pub risk_level: Option<Text<'a>>,
    /// Detection time.
    #[serde(rename = "detectedDateTime", alias = "DetectedDateTime", borrow)]
    pub detected_date_time: Option<Text<'a>>,
    /// IP (Log Analytics risk events).
    #[serde(rename = "IpAddress", borrow)]
    pub la_ip_address_risk: Option<Text<'a>>,
}

/// `{ID, Type}` of the unified audit log's `Actor[]` and `Target[]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IdType {
    /// The id.
    #[serde(rename = "ID", default)]
    pub id: Option<serde_json::Value>,
    /// The id's type (5 = UPN, 2 = object or service principal, 1 = name, …).
    #[serde(rename = "Type", default)]
    pub kind: Option<serde_json::Value>,
}

/// A modified property of the unified audit log.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UalModified {
    /// Name.
    #[serde(rename = "Name", default)]
    pub name: Option<String>,
    /// New value.
    #[serde(rename = "NewValue", default)]
    pub new: Option<serde_json::Value>,
    /// Old value.
    #[serde(rename = "OldValue", default)]
    pub old: Option<serde_json::Value>,
}

/// An owned `{Name, Value}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OwnedNameValue {
    /// Name.
    #[serde(rename = "Name", default)]
    pub name: Option<String>,
    /// Value (any scalar).
    #[serde(rename = "Value", default)]
    pub value: Option<serde_json::Value>,
}

/// `AppAccessContext` of a mailbox access record.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppAccessContext {
    /// The application.
    #[serde(rename = "ClientAppId", default)]
    pub client_app_id: Option<String>,
}

/// `initiatedBy` of a directory audit record.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InitiatedBy {
    /// A user acted.
    #[serde(default)]
    pub user: Option<InitiatingUser>,
    /// An application acted.
    #[serde(default)]
    pub app: Option<InitiatingApp>,
}

/// `initiatedBy.user`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InitiatingUser {
    /// Object id.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name.
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
    /// UPN.
    #[serde(rename = "userPrincipalName", default)]
    pub user_principal_name: Option<String>,
    /// IP.
    #[serde(rename = "ipAddress", default)]
    pub ip_address: Option<String>,
}

/// `initiatedBy.app`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InitiatingApp {
    /// App id.
    #[serde(rename = "appId", default)]
    pub app_id: Option<String>,
    /// Display name.
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
    /// Service principal object id.
    #[serde(rename = "servicePrincipalId", default)]
    pub service_principal_id: Option<String>,
    /// Service principal name.
    #[serde(rename = "servicePrincipalName", default)]
    pub service_principal_name: Option<String>,
}

/// One of `targetResources[]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TargetResource {
    /// Object id.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name.
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
    /// Type (`User`, `Application`, `ServicePrincipal`, …).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// UPN of a user target.
    #[serde(rename = "userPrincipalName", default)]
    pub user_principal_name: Option<String>,
    /// Modified properties.
    #[serde(rename = "modifiedProperties", default)]
    pub modified_properties: Option<Vec<ModifiedProperty>>,
}

/// One of `modifiedProperties[]` (values JSON-encoded as strings).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ModifiedProperty {
    /// Name.
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
    /// Old value.
    #[serde(rename = "oldValue", default)]
    pub old_value: Option<serde_json::Value>,
    /// New value.
    #[serde(rename = "newValue", default)]
    pub new_value: Option<serde_json::Value>,
}

/// One of `additionalDetails[]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyValue {
    /// Key.
    #[serde(default)]
    pub key: Option<String>,
    /// Value.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
}

/// Any JSON value as text: strings as themselves (JSON-decoded once more when they hold a quoted
/// string, as `modifiedProperties` values do), null as empty, anything else as JSON.
pub fn value_text(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(text)) => {
            let trimmed = text.trim();
            if trimmed.starts_with('"') {
                if let Ok(inner) = serde_json::from_str::<String>(trimmed) {
                    return inner;
                }
            }
            text.clone()
        }
        Some(other) => other.to_string(),
    }
}

/// Returns the first present, non-empty text.
pub fn first<'b>(candidates: &[&'b Option<Text<'_>>]) -> Option<&'b str> {
    candidates
        .iter()
        .filter_map(|candidate| candidate.as_ref().map(Text::as_str))
        .find(|text| !text.is_empty())
}

/// Reads an envelope `resultType`: digits are the code, `Success` is 0, `Failure` is a failure
/// without a code (1).
pub fn result_type_code(text: Option<&Text>) -> Option<i64> {
    let text = text?.as_str();
    if let Ok(code) = text.parse() {
        return Some(code);
    }
    if text.eq_ignore_ascii_case("success") {
        Some(0)
    } else if text.eq_ignore_ascii_case("failure") {
        Some(1)
    } else {
        None
    }
}

/// Decodes a sign-in `status` (an object, or a JSON string holding one); `field` names it in
/// the error.
pub fn decode_status(raw: Option<&RawValue>, field: &str) -> Result<Option<Status>, String> {
    let Some(raw) = raw else { return Ok(None) };
    serde_json::from_str::<MaybeEncoded<Status>>(raw.get())
        .map(|status| Some(status.0))
        .map_err(|error| format!("invalid field {field}: {error}"))
}
