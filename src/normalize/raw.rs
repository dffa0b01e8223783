//! The "low" form: one borrowed serde pass over a record, reading only the fields some detector
//! needs, in every spelling the supported shapes use. Unknown fields are skipped without being
//! copied. Validation into typed events happens in the parent module.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::scan::{Scan, Scanner};

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

impl Code {
    /// A code written as text: digits, spaces around them ignored; empty is no code.
    pub fn from_text(text: &str) -> Result<Code, std::num::ParseIntError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Code(None));
        }
        text.parse().map(|code| Code(Some(code)))
    }
}

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
                Code::from_text(v).map_err(|_| {
                    E::invalid_value(de::Unexpected::Str(v.trim()), &"an integer code")
                })
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

/// The key of a step's result in `authenticationDetails`.
pub const STEP_RESULT: &str = "authenticationStepResultDetail";
/// The result of a step that proved the password (compared ignoring case).
pub const CORRECT: &str = "Correct password";

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
                    correct |= step
                        .result_detail
                        .is_some_and(|detail| detail.as_str().eq_ignore_ascii_case(CORRECT));
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

/// A value kept as its JSON text (checked), to be decoded once the record's shape is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Json<'a>(pub &'a str);

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&RawValue>::deserialize(deserializer).map(|raw| Json(raw.get()))
    }
}

/// Declares [`Raw`] from one list of `"key" | "alias" => field` entries: the struct, with each
/// entry's names given to serde (`rename`, `alias`), and the scanner's reading of a field by its
/// key (the fast path, `scan.rs`), so the two read the same keys into the same fields.
macro_rules! raw_record {
    (
        $(#[$struct_meta:meta])*
        pub struct $name:ident<$a:lifetime, $p:ident> {
            $(
                $(#[$meta:meta])*
                $key:literal $(| $alias:literal)* => pub $field:ident: $ty:ty,
            )*
        }
    ) => {
        $(#[$struct_meta])*
        pub struct $name<$a, $p> {
            $(
                $(#[$meta])*
                #[serde(rename = $key $(, alias = $alias)*)]
                pub $field: $ty,
            )*
        }

        /// A bit for each field of [`Raw`], to catch a field given twice.
        #[allow(non_camel_case_types, clippy::enum_variant_names)]
        enum RawField {
            $($field,)*
        }

        // The bits are one `u128`.
        const _: () = assert!([$(stringify!($field)),*].len() <= 128);

        impl<$a, $p> $name<$a, $p>
        where
            Option<$p>: Scan<$a>,
        {
            /// Reads the value at `scanner` into the field named `key`, or steps over it if no
            /// field has that name; `None` when the record must be left to serde (a field seen
            /// twice, a value of the wrong type).
            pub(super) fn scan_field(
                &mut self,
                key: &str,
                scanner: &mut Scanner<$a>,
                seen: &mut u128,
            ) -> Option<()> {
                match key {
                    $(
                        $key $(| $alias)* => {
                            let bit = 1u128 << (RawField::$field as u32);
                            if *seen & bit != 0 {
                                return None;
                            }
                            *seen |= bit;
                            Scan::scan(&mut self.$field, scanner)?;
                        }
                    )*
                    _ => scanner.skip_value()?,
                }
                Some(())
            }
        }
    };
}

raw_record! {
    /// Every field the detectors read, in every spelling of every supported shape. A record is
    /// deserialized into this once; which fields are present tells its shape. `P` is what an Azure
    /// Monitor `properties` is read into ([`Record`], [`Properties`]).
    #[derive(Debug, Default, Deserialize)]
    #[serde(bound(deserialize = "P: Deserialize<'de>"))]
    pub struct Raw<'a, P> {
        // Wrappers: Azure Monitor / Event Hub batches and Graph pages.
        /// `{"records": […]}`.
        #[serde(borrow)]
        "records" => pub records: Option<Vec<&'a RawValue>>,
        /// `{"value": […]}`.
        #[serde(borrow)]
        "value" => pub value: Option<Vec<&'a RawValue>>,

        // Azure Monitor envelope (Panther lowercases some of these keys).
        /// Envelope time.
        #[serde(borrow)]
        "time" => pub time: Option<Text<'a>>,
        /// Envelope category (`SignInLogs`, `AuditLogs`, …).
        #[serde(borrow)]
        "category" => pub category: Option<Text<'a>>,
        /// Envelope operation name (`Sign-in activity`).
        #[serde(borrow)]
        "operationName" | "operationname" => pub operation_name: Option<Text<'a>>,
        /// Envelope result type: a code as a string, or `Success` / `Failure` in some pipelines.
        #[serde(borrow)]
        "resultType" | "resulttype" => pub result_type: Option<Text<'a>>,
        /// Envelope caller IP.
        #[serde(borrow)]
        "callerIpAddress" | "calleripaddress" => pub caller_ip: Option<Text<'a>>,
        /// Envelope tenant.
        #[serde(borrow)]
        "tenantId" | "tenantid" => pub tenant_id: Option<Text<'a>>,
        /// The wrapped Graph-shaped record.
        "properties" => pub properties: Option<P>,

        // Graph resources (also inside `properties`).
        /// Sign-in time.
        #[serde(borrow)]
        "createdDateTime" => pub created: Option<Text<'a>>,
        /// Record id.
        #[serde(borrow)]
        "id" => pub id: Option<Text<'a>>,
        /// Original request id.
        #[serde(borrow)]
        "originalRequestId" => pub original_request_id: Option<Text<'a>>,
        /// User principal name.
        #[serde(borrow)]
        "userPrincipalName" => pub user_principal_name: Option<Text<'a>>,
        /// Source IP.
        #[serde(borrow)]
        "ipAddress" => pub ip_address: Option<Text<'a>>,
        /// Sign-in status: an object for sign-ins; other Graph resources use `status` as a string,
        /// so it is decoded only once the shape is known.
        #[serde(borrow)]
        "status" => pub status: Option<Json<'a>>,
        /// Application id.
        #[serde(borrow)]
        "appId" => pub app_id: Option<Text<'a>>,
        /// Application name.
        #[serde(borrow)]
        "appDisplayName" => pub app_display_name: Option<Text<'a>>,
        /// User agent.
        #[serde(borrow)]
        "userAgent" => pub user_agent: Option<Text<'a>>,
        /// Single or multi factor.
        #[serde(borrow)]
        "authenticationRequirement" => pub authentication_requirement: Option<Text<'a>>,
        /// Authentication steps.
        "authenticationDetails" => pub authentication_details: Option<MaybeEncoded<CorrectPasswordStep>>,
        /// Client app (`Browser`, `IMAP4`, …).
        #[serde(borrow)]
        "clientAppUsed" => pub client_app_used: Option<Text<'a>>,
        /// Protocol (`ropc`, `deviceCode`, …).
        #[serde(borrow)]
        "authenticationProtocol" => pub authentication_protocol: Option<Text<'a>>,
        /// Autonomous system number.
        #[serde(default)]
        "autonomousSystemNumber" => pub asn: Code,
        /// Home tenant.
        #[serde(borrow)]
        "homeTenantId" => pub home_tenant_id: Option<Text<'a>>,
        /// Resource tenant.
        #[serde(borrow)]
        "resourceTenantId" => pub resource_tenant_id: Option<Text<'a>>,
        /// The tenant owning the app.
        #[serde(borrow)]
        "appOwnerTenantId" | "AppOwnerTenantId" => pub app_owner_tenant_id: Option<Text<'a>>,
        /// Risk event types.
        "riskEventTypes_v2" => pub risk_event_types: Option<MaybeEncoded<Vec<String>>>,
        /// Service principal name (service principal sign-ins).
        #[serde(borrow)]
        "servicePrincipalName" => pub service_principal_name: Option<Text<'a>>,
        /// Service principal id.
        #[serde(borrow)]
        "servicePrincipalId" => pub service_principal_id: Option<Text<'a>>,
        /// Interactive or not (Graph).
        "isInteractive" => pub is_interactive: Option<bool>,
        /// Sign-in event types (Graph beta: `interactiveUser`, `nonInteractiveUser`,
        /// `servicePrincipal`, `managedIdentity`).
        "signInEventTypes" => pub sign_in_event_types: Option<MaybeEncoded<SignInEventTypes>>,

        // Log Analytics columns.
        /// Ingestion time column.
        #[serde(borrow)]
        "TimeGenerated" | "TimeGenerated [UTC]" => pub la_time_generated: Option<Text<'a>>,
        /// Sign-in time column.
        #[serde(borrow)]
        "CreatedDateTime" | "CreatedDateTime [UTC]" => pub la_created: Option<Text<'a>>,
        /// Table name.
        #[serde(borrow)]
        "Type" => pub la_type: Option<Text<'a>>,
        /// Category column.
        #[serde(borrow)]
        "Category" => pub la_category: Option<Text<'a>>,
        /// Operation name column.
        #[serde(borrow)]
        "OperationName" => pub la_operation_name: Option<Text<'a>>,
        /// Record id (Log Analytics, unified audit log; `OfficeId` in `OfficeActivity`).
        #[serde(borrow)]
        "Id" | "OfficeId" => pub la_id: Option<Text<'a>>,
        /// Original request id.
        #[serde(borrow)]
        "OriginalRequestId" => pub la_original_request_id: Option<Text<'a>>,
        /// User principal name.
        #[serde(borrow)]
        "UserPrincipalName" => pub la_user_principal_name: Option<Text<'a>>,
        /// Source IP.
        #[serde(borrow)]
        "IPAddress" => pub la_ip_address: Option<Text<'a>>,
        /// Result code (string).
        #[serde(default)]
        "ResultType" => pub la_result_type: Code,
        /// Status (object or JSON string), decoded once the shape is known.
        #[serde(borrow)]
        "Status" => pub la_status: Option<Json<'a>>,
        /// Application id (Log Analytics sign-ins, Exchange records).
        #[serde(borrow)]
        "AppId" => pub la_app_id: Option<Text<'a>>,
        /// Application name.
        #[serde(borrow)]
        "AppDisplayName" => pub la_app_display_name: Option<Text<'a>>,
        /// User agent.
        #[serde(borrow)]
        "UserAgent" => pub la_user_agent: Option<Text<'a>>,
        /// Single or multi factor.
        #[serde(borrow)]
        "AuthenticationRequirement" => pub la_authentication_requirement: Option<Text<'a>>,
        /// Authentication steps (usually a JSON string).
        "AuthenticationDetails" => pub la_authentication_details: Option<MaybeEncoded<CorrectPasswordStep>>,
        /// Client app.
        #[serde(borrow)]
        "ClientAppUsed" => pub la_client_app_used: Option<Text<'a>>,
        /// Protocol.
        #[serde(borrow)]
        "AuthenticationProtocol" => pub la_authentication_protocol: Option<Text<'a>>,
        /// Autonomous system number.
        #[serde(default)]
        "AutonomousSystemNumber" => pub la_asn: Code,
        /// Home tenant.
        #[serde(borrow)]
        "HomeTenantId" => pub la_home_tenant_id: Option<Text<'a>>,
        /// Resource tenant.
        #[serde(borrow)]
        "ResourceTenantId" => pub la_resource_tenant_id: Option<Text<'a>>,
        /// Workspace tenant.
        #[serde(borrow)]
        "TenantId" => pub la_tenant_id: Option<Text<'a>>,
        /// Risk event types.
        "RiskEventTypes_V2" => pub la_risk_event_types: Option<MaybeEncoded<Vec<String>>>,
        /// Service principal name.
        #[serde(borrow)]
        "ServicePrincipalName" => pub la_service_principal_name: Option<Text<'a>>,
        /// Service principal id.
        #[serde(borrow)]
        "ServicePrincipalId" => pub la_service_principal_id: Option<Text<'a>>,

        // Unified audit log (Office 365 Management Activity API).
        /// Record time (no zone: UTC).
        #[serde(borrow)]
        "CreationTime" => pub ual_creation_time: Option<Text<'a>>,
        /// Operation (`UserLoggedIn`, `MailItemsAccessed`, `Add service principal.`, …).
        #[serde(borrow)]
        "Operation" => pub ual_operation: Option<Text<'a>>,
        /// Workload (`AzureActiveDirectory`, `Exchange`, …).
        #[serde(borrow)]
        "Workload" => pub ual_workload: Option<Text<'a>>,
        /// Record type: a number in the unified audit log (15 sign-in, 8 directory, 50 mailbox
        /// access, 1 Exchange admin), a name in Log Analytics `OfficeActivity`.
        #[serde(borrow)]
        "RecordType" => pub ual_record_type: Option<Text<'a>>,
        /// The acting user (a UPN in the unified audit log, an object id in Log Analytics).
        #[serde(borrow)]
        "UserId" => pub ual_user_id: Option<Text<'a>>,
        /// Client IP (may carry a port).
        #[serde(borrow)]
        "ClientIP" => pub ual_client_ip: Option<Text<'a>>,
        /// Actor IP.
        #[serde(borrow)]
        "ActorIpAddress" => pub ual_actor_ip: Option<Text<'a>>,
        /// Result code (string).
        #[serde(default)]
        "ErrorNumber" => pub ual_error_number: Code,
        /// Result name (`InvalidUserNameOrPassword`).
        #[serde(borrow)]
        "LogonError" => pub ual_logon_error: Option<Text<'a>>,
        /// Application id.
        #[serde(borrow)]
        "ApplicationId" => pub ual_application_id: Option<Text<'a>>,
        /// `{Name, Value}` extras; `UserAgent` lives here.
        #[serde(borrow)]
        "ExtendedProperties" => pub ual_extended_properties: Option<Vec<NameValue<'a>>>,
        /// Tenant.
        #[serde(borrow)]
        "OrganizationId" | "OfficeTenantId" => pub ual_organization_id: Option<Text<'a>>,
        /// Result (`Success`, `Succeeded`, `True`, `Failed`, …).
        #[serde(borrow)]
        "ResultStatus" => pub ual_result_status: Option<Text<'a>>,
        /// Actors of a directory record.
        "Actor" => pub ual_actor: Option<MaybeEncoded<Vec<IdType>>>,
        /// Targets of a directory record.
        "Target" => pub ual_target: Option<MaybeEncoded<Vec<IdType>>>,
        /// Modified properties (values not quoted).
        "ModifiedProperties" => pub ual_modified: Option<MaybeEncoded<Vec<UalModified>>>,
        /// The object acted on.
        #[serde(borrow)]
        "ObjectId" => pub ual_object_id: Option<Text<'a>>,
        /// Mailbox owner.
        #[serde(borrow)]
        "MailboxOwnerUPN" => pub ual_mailbox_owner: Option<Text<'a>>,
        /// Client application id (Exchange).
        #[serde(borrow)]
        "ClientAppId" => pub ual_client_app_id: Option<Text<'a>>,
        /// Client IP (Exchange).
        #[serde(borrow)]
        "ClientIPAddress" | "Client_IPAddress" => pub ual_client_ip_address: Option<Text<'a>>,
        /// Client description (`Client=WebServices;ExchangeWebServices…`).
        #[serde(borrow)]
        "ClientInfoString" => pub ual_client_info: Option<Text<'a>>,
        /// `{Name, Value}` of a mailbox access (`MailAccessType`, `IsThrottled`).
        "OperationProperties" => pub ual_operation_properties: Option<MaybeEncoded<Vec<OwnedNameValue>>>,
        /// Items in an aggregated mailbox access record.
        #[serde(default)]
        "OperationCount" => pub ual_operation_count: Code,
        /// The app context of a newer mailbox access record.
        "AppAccessContext" => pub ual_app_access_context: Option<MaybeEncoded<AppAccessContext>>,
        /// The tenant that issued the token.
        #[serde(borrow)]
        "TokenTenantId" => pub ual_token_tenant_id: Option<Text<'a>>,
        /// Cmdlet parameters.
        "Parameters" => pub ual_parameters: Option<MaybeEncoded<Vec<OwnedNameValue>>>,
        /// Workload (Log Analytics `OfficeActivity`).
        #[serde(borrow)]
        "OfficeWorkload" => pub la_office_workload: Option<Text<'a>>,

        // Directory audit (Graph `directoryAudit`, Azure Monitor `properties`, Log Analytics).
        /// Activity name (Graph).
        #[serde(borrow)]
        "activityDisplayName" => pub activity_display_name: Option<Text<'a>>,
        /// Activity time (Graph).
        #[serde(borrow)]
        "activityDateTime" => pub activity_date_time: Option<Text<'a>>,
        /// Initiator.
        "initiatedBy" | "InitiatedBy" => pub initiated_by: Option<MaybeEncoded<InitiatedBy>>,
        /// Targets.
        "targetResources" | "TargetResources" => pub target_resources: Option<MaybeEncoded<Vec<TargetResource>>>,
        /// Additional details.
        "additionalDetails" | "AdditionalDetails" => pub additional_details: Option<MaybeEncoded<Vec<KeyValue>>>,
        /// Result (`success`, `failure`).
        #[serde(borrow)]
        "result" | "Result" => pub result: Option<Text<'a>>,

        // Risk detections.
        /// Risk event type.
        #[serde(borrow)]
        "riskEventType" | "RiskEventType" => pub risk_event_type: Option<Text<'a>>,
        /// Risk level.
        #[serde(borrow)]
        "riskLevel" | "RiskLevel" => pub risk_level: Option<Text<'a>>,
        /// Detection time.
        #[serde(borrow)]
        "detectedDateTime" | "DetectedDateTime" => pub detected_date_time: Option<Text<'a>>,
        /// IP (Log Analytics risk events).
        #[serde(borrow)]
        "IpAddress" => pub la_ip_address_risk: Option<Text<'a>>,
    }
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
pub fn decode_status(raw: Option<Json>, field: &str) -> Result<Option<Status>, String> {
    let Some(Json(text)) = raw else {
        return Ok(None);
    };
    serde_json::from_str::<MaybeEncoded<Status>>(text)
        .map(|status| Some(status.0))
        .map_err(|error| format!("invalid field {field}: {error}"))
}
