//! The "low" form: one borrowed pass over a record, reading only the fields some detector needs,
//! in every spelling the supported shapes and their exports use. Unknown fields are skipped
//! without being copied. Validation into typed events happens in the parent module.
//!
//! How a key finds its field (the README's "What it reads" states the same rules):
//! - as written, in any of the spellings the shapes use (`ipAddress`, `IPAddress`, `IpAddress`);
//! - failing that, *folded*: ASCII case ignored, underscores ignored, and one export suffix
//!   dropped: ` [UTC]` (portal CSV headers), `_dynamic` and `_string` (a nested column exported
//!   twice), the typed suffixes of custom tables (`_s`, `_d`, `_b`, `_g`, `_t`), and a trailing `_`
//!   (Log Analytics' copy of a column whose name is taken, `OrganizationId_`);
//! - a field named twice keeps the first non-empty value; a duplicate never rejects a record.
//!
//! Nested values (`initiatedBy`, `targetResources`, `Parameters`, …) are kept as their JSON text
//! and decoded only when the record's shape needs them, so a column the shape does not read can
//! never make a record unreadable.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

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

/// A boolean written as JSON or as text (`"True"` in CSV exports); empty or null is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flag(pub Option<bool>);

impl Flag {
    /// `true` / `false` in any case, spaces ignored; empty is none.
    pub fn from_text(text: &str) -> Option<Flag> {
        let text = text.trim();
        if text.is_empty() {
            Some(Flag(None))
        } else if text.eq_ignore_ascii_case("true") {
            Some(Flag(Some(true)))
        } else if text.eq_ignore_ascii_case("false") {
            Some(Flag(Some(false)))
        } else {
            None
        }
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagVisitor;
        impl Visitor<'_> for FlagVisitor {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean (or \"true\" / \"false\")")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(Some(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                Flag::from_text(v)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v.trim()), &self))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Flag, E> {
                Ok(Flag(None))
            }
        }
        deserializer.deserialize_any(FlagVisitor)
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
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MaybeEncoded(T::default()))
            }
        }
        deserializer.deserialize_any(EncodedVisitor(PhantomData))
    }
}

/// `status` of a sign-in.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Status {
    /// The result code.
    #[serde(
        rename = "errorCode",
        alias = "ErrorCode",
        alias = "errorcode",
        default
    )]
    pub error_code: Code,
}

/// The key of a step's result in `authenticationDetails`.
pub const STEP_RESULT: &str = "authenticationStepResultDetail";
/// The result of a step that proved the password (compared ignoring case).
pub const CORRECT: &str = "Correct password";

/// `authenticationDetails` as the detectors need it: whether a step said `Correct password`.
/// Read step by step, keeping nothing (every sign-in carries the list); steps that are not
/// objects, and keys in other cases, are read too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrectPasswordStep(pub bool);

impl<'de> Deserialize<'de> for CorrectPasswordStep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// One step: whether it says `Correct password`.
        struct Step(bool);
        impl<'de> Deserialize<'de> for Step {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct StepVisitor;
                impl<'de> Visitor<'de> for StepVisitor {
                    type Value = Step;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("an authentication step")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
                        let mut correct = false;
                        while let Some(key) = map.next_key::<Text<'de>>()? {
                            if key.as_str().eq_ignore_ascii_case(STEP_RESULT) {
                                let detail = map.next_value::<Option<Text<'de>>>()?;
                                correct |= detail.is_some_and(|d| is_correct(d.as_str()));
                            } else {
                                map.next_value::<IgnoredAny>()?;
                            }
                        }
                        Ok(Step(correct))
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Step, A::Error> {
                        while seq.next_element::<IgnoredAny>()?.is_some() {}
                        Ok(Step(false))
                    }
                    fn visit_str<E: de::Error>(self, _: &str) -> Result<Step, E> {
                        Ok(Step(false))
                    }
                    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Step, E> {
                        Ok(Step(false))
                    }
                    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Step, E> {
                        Ok(Step(false))
                    }
                    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Step, E> {
                        Ok(Step(false))
                    }
                    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Step, E> {
                        Ok(Step(false))
                    }
                    fn visit_unit<E: de::Error>(self) -> Result<Step, E> {
                        Ok(Step(false))
                    }
                }
                deserializer.deserialize_any(StepVisitor)
            }
        }
        struct StepsVisitor;
        impl<'de> Visitor<'de> for StepsVisitor {
            type Value = CorrectPasswordStep;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of authentication steps")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut correct = false;
                while let Some(Step(step)) = seq.next_element::<Step>()? {
                    correct |= step;
                }
                Ok(CorrectPasswordStep(correct))
            }
        }
        deserializer.deserialize_seq(StepsVisitor)
    }
}

/// Whether a step's result says the password was right.
pub fn is_correct(detail: &str) -> bool {
    detail.trim().eq_ignore_ascii_case(CORRECT)
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

/// Which member of a nested object a [`Pick`] reads, and what a plain string stands for.
pub trait PickKey {
    /// The member read (compared ignoring ASCII case).
    const KEY: &'static str;
    /// A plain string in place of the object, read as the member itself (a Log Analytics
    /// `Location` column holds the country code), or `None`.
    fn plain(text: &str) -> Option<&str>;
}

/// `countryOrRegion` of a sign-in's `location` (`LocationDetails`; the `Location` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CountryKey;

impl PickKey for CountryKey {
    const KEY: &'static str = "countryOrRegion";
    fn plain(text: &str) -> Option<&str> {
        let text = text.trim();
        (text.len() == 2 && text.bytes().all(|b| b.is_ascii_alphabetic())).then_some(text)
    }
}

/// `deviceId` of a sign-in's `deviceDetail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceKey;

impl PickKey for DeviceKey {
    const KEY: &'static str = "deviceId";
    fn plain(_: &str) -> Option<&str> {
        None
    }
}

/// One member of a nested object, read out of the object (or of a JSON string holding it, or of
/// a plain string, see [`PickKey::plain`]) without keeping the rest. Never a type error: anything
/// else is no value.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick<'a, K>(pub Option<Text<'a>>, pub PhantomData<K>);

impl<K> Default for Pick<'_, K> {
    fn default() -> Self {
        Pick(None, PhantomData)
    }
}

impl<'a, K: PickKey> Pick<'a, K> {
    /// The value, trimmed; none when empty.
    pub fn get(&self) -> Option<&str> {
        self.0
            .as_ref()
            .map(Text::as_str)
            .filter(|text| !text.is_empty())
    }

    /// A string in place of the object, borrowed where it is the value itself.
    pub fn from_borrowed(text: &'a str) -> Self {
        match K::plain(text) {
            Some(value) => Pick(Some(Text(Cow::Borrowed(value))), PhantomData),
            None => Pick::from_plain(text),
        }
    }

    fn from_plain(text: &str) -> Self {
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            if let Ok(Pick(value, _)) = serde_json::from_str::<Pick<'_, K>>(trimmed) {
                return Pick(
                    value.map(|v| Text(Cow::Owned(v.0.into_owned()))),
                    PhantomData,
                );
            }
            return Pick::default();
        }
        Pick(
            K::plain(trimmed).map(|value| Text(Cow::Owned(value.to_owned()))),
            PhantomData,
        )
    }
}

impl<'de: 'a, 'a, K: PickKey> Deserialize<'de> for Pick<'a, K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PickVisitor<'a, K>(PhantomData<(&'a (), K)>);
        impl<'de: 'a, 'a, K: PickKey> Visitor<'de> for PickVisitor<'a, K> {
            type Value = Pick<'a, K>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut found: Option<Text<'a>> = None;
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    if key.0.eq_ignore_ascii_case(K::KEY)
                        && found.as_ref().is_none_or(|f| f.as_str().is_empty())
                    {
                        found = map.next_value::<Loose<'de>>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Pick(found, PhantomData))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Pick::from_borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Pick::from_plain(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Pick::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Pick::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Pick::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Pick::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Pick::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Pick::default())
            }
        }
        deserializer.deserialize_any(PickVisitor(PhantomData))
    }
}

/// A scalar as text, anything else (an object, a list, null) as none: never a type error.
struct Loose<'a>(Option<Text<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LooseVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for LooseVisitor<'a> {
            type Value = Loose<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Loose(Some(Text(Cow::Borrowed(v)))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Loose(Some(Text(Cow::Owned(v.to_owned())))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Loose(Some(Text(Cow::Owned(v.to_string())))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Loose(Some(Text(Cow::Owned(v.to_string())))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Loose(Some(Text(Cow::Owned(v.to_string())))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Loose(Some(Text(Cow::Borrowed(if v {
                    "true"
                } else {
                    "false"
                })))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Loose(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
        }
        deserializer.deserialize_any(LooseVisitor(PhantomData))
    }
}

impl<K: PickKey> Field for Pick<'_, K> {
    fn is_empty(&self) -> bool {
        self.get().is_none()
    }
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
        IgnoredAny::deserialize(deserializer).map(|_| Skipped)
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

impl Json<'_> {
    /// Whether it holds nothing: null, an empty string, object or list (also JSON-encoded).
    pub fn is_empty(&self) -> bool {
        let text = self.0.trim();
        matches!(text, "null" | "\"\"" | "{}" | "[]" | "\"{}\"" | "\"[]\"")
            || (text.starts_with('"') && text.len() <= 32 && {
                let inner = text.trim_matches('"').trim();
                inner.is_empty() || inner == "{}" || inner == "[]"
            })
    }

    /// Whether it is an object, or a string holding one (how Log Analytics writes it).
    pub fn is_object(&self) -> bool {
        let text = self.0.trim_start();
        text.starts_with('{')
            || (text.starts_with('"')
                && text
                    .get(1..)
                    .is_some_and(|t| t.trim_start().starts_with('{')))
    }

    /// Whether it is a list (not JSON-encoded: wrappers are never strings).
    pub fn is_list(&self) -> bool {
        self.0.trim_start().starts_with('[')
    }
}

/// Whether a field holds nothing, so that a later spelling of it may still fill it.
pub trait Field {
    /// True when no value was read, or the value is empty.
    fn is_empty(&self) -> bool;
}

impl Field for Option<Text<'_>> {
    fn is_empty(&self) -> bool {
        self.as_ref().is_none_or(|text| text.as_str().is_empty())
    }
}

impl Field for Code {
    fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl Field for Flag {
    fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl Field for Option<Json<'_>> {
    fn is_empty(&self) -> bool {
        self.is_none_or(|json| json.is_empty())
    }
}

impl<T: Default + PartialEq> Field for Option<MaybeEncoded<T>> {
    fn is_empty(&self) -> bool {
        self.as_ref().is_none_or(|value| value.0 == T::default())
    }
}

impl Field for Option<Skipped> {
    fn is_empty(&self) -> bool {
        self.is_none()
    }
}

impl<P> Field for Option<Raw<'_, P>> {
    fn is_empty(&self) -> bool {
        self.is_none()
    }
}

/// Keys of the supported exports that name no field, as they are spelled there: turned away at
/// once (a string match), where [`RawField::folded`] would check and fold each, a few hundred
/// WebAssembly instructions a key, about 17 keys a sign-in. Only a fast path: a test checks that
/// every one of them folds to no field.
fn is_unread(key: &str) -> bool {
    matches!(
        key,
        // Azure Monitor envelope (diagnostic settings, Event Hub).
        "Level" | "operationVersion" | "resourceId" | "durationMs" | "resultSignature"
            | "resultDescription" | "identity"
            // Sign-ins and audits, Graph spelling (inside `properties`).
            | "appliedConditionalAccessPolicies" | "conditionalAccessStatus" | "correlationId"
            | "networkLocationDetails" | "processingTimeInMilliseconds" | "resourceDisplayName"
            | "riskDetail" | "riskLevelAggregated" | "riskLevelDuringSignIn" | "riskState"
            | "tokenIssuerType" | "tokenIssuerName" | "userDisplayName"
            | "alternateSignInName" | "authenticationMethodsUsed"
            | "authenticationProcessingDetails" | "authenticationRequirementPolicies"
            | "mfaDetail" | "flaggedForReview" | "signInIdentifier" | "signInIdentifierType"
            | "sessionLifetimePolicies" | "uniqueTokenIdentifier" | "incomingTokenType"
            | "crossTenantAccessType" | "authenticationContextClassReferences" | "operationType"
            // The same columns in Log Analytics (`SigninLogs`, `AuditLogs`).
            | "SourceSystem" | "OperationVersion" | "ResultSignature" | "ResultDescription"
            | "DurationMs" | "CorrelationId" | "Resource" | "ResourceGroup" | "ResourceProvider"
            | "ResourceId" | "Identity" | "UserDisplayName" | "AlternateSignInName"
            | "AuthenticationMethodsUsed" | "AuthenticationProcessingDetails"
            | "AuthenticationRequirementPolicies" | "ConditionalAccessPolicies"
            | "ConditionalAccessStatus" | "NetworkLocationDetails"
            | "ProcessingTimeInMilliseconds" | "RiskDetail" | "RiskEventTypes"
            | "RiskLevelAggregated" | "RiskLevelDuringSignIn" | "RiskState"
            | "ResourceDisplayName" | "ResourceIdentity" | "TokenIssuerName" | "TokenIssuerType"
            | "IsRisky" | "MfaDetail" | "OperationType"
            // The unified audit log (Office 365 Management Activity API).
            | "UserType" | "UserKey" | "Version" | "AzureActiveDirectoryEventType"
            | "ActorContextId" | "TargetContextId" | "InterSystemsId" | "IntraSystemId"
            | "SupportTicketId" | "OrganizationName" | "OriginatingServer" | "ExternalAccess"
            | "LogonUserSid" | "MailboxOwnerSid" | "InternalLogonType" | "MailboxGuid"
    )
}

/// The export suffixes [`fold`] drops (Log Analytics' typed custom columns, …).
const SUFFIXES: [&str; 8] = ["_dynamic", "_string", "_s", "_d", "_b", "_g", "_t", "_"];

/// The folded form of a key: lowercase, without underscores, without ` [UTC]`; `suffix` drops
/// one export suffix (`_dynamic`, `_string`, `_s`, …, a trailing `_`) as well. `None` when the
/// key has no such suffix, or is too long to be a field name.
fn fold<'b>(key: &str, suffix: bool, buffer: &'b mut [u8; 48]) -> Option<&'b str> {
    const UTC: &str = " [utc]";
    let bytes = key.as_bytes();
    if bytes.len() > buffer.len() + UTC.len() + 8 {
        return None;
    }
    let mut end = bytes.len();
    let lower_at = |i: usize| bytes.get(i).map(u8::to_ascii_lowercase);
    let ends_with = |end: usize, tail: &str| {
        end >= tail.len()
            && tail
                .bytes()
                .enumerate()
                .all(|(i, byte)| lower_at(end - tail.len() + i) == Some(byte))
    };
    if ends_with(end, UTC) {
        end -= UTC.len();
    }
    if suffix {
        let tail = SUFFIXES.iter().find(|tail| ends_with(end, tail))?;
        end -= tail.len();
    }
    let mut len = 0;
    for byte in bytes.get(..end)?.iter().filter(|&&byte| byte != b'_') {
        *buffer.get_mut(len)? = byte.to_ascii_lowercase();
        len += 1;
    }
    std::str::from_utf8(buffer.get(..len)?).ok()
}

/// The lengths of folded names (one bit per length, up to 63) by their first byte: `a`–`z`, then
/// one slot for any other byte.
type FoldedLengths = [u64; 27];

/// The slot of [`FoldedLengths`] for a name starting with `byte` (any case).
const fn first_slot(byte: u8) -> usize {
    let lower = byte.to_ascii_lowercase();
    if lower.is_ascii_lowercase() {
        (lower - b'a') as usize
    } else {
        26
    }
}

/// The [`FoldedLengths`] of `names` (folded names: lowercase, without underscores).
// Evaluated at compile time: an index out of bounds would fail the build, not a record.
#[allow(clippy::indexing_slicing)]
const fn folded_lengths(names: &[&str]) -> FoldedLengths {
    let mut lengths = [0; 27];
    let mut index = 0;
    while index < names.len() {
        let name = names[index].as_bytes();
        if !name.is_empty() && name.len() < 64 {
            lengths[first_slot(name[0])] |= 1 << name.len();
        }
        index += 1;
    }
    lengths
}

/// Whether [`fold`] could turn `key`, with or without an export suffix, into a name of a length
/// `lengths` holds: never false for a key that folds to one of those names.
fn could_fold(key: &str, lengths: &FoldedLengths) -> bool {
    const UTC: &[u8] = b" [utc]";
    let bytes = key.as_bytes();
    let Some(&first) = bytes.iter().find(|&&byte| byte != b'_') else {
        return false;
    };
    let held = lengths.get(first_slot(first)).copied().unwrap_or(0);
    let underscores = bytes.iter().filter(|&&byte| byte == b'_').count();
    let mut length = bytes.len() - underscores;
    let tail = bytes.get(bytes.len().saturating_sub(UTC.len())..);
    if tail.is_some_and(|tail| tail.eq_ignore_ascii_case(UTC)) {
        length -= UTC.len();
    }
    let holds = |length: usize| length < 64 && held & (1 << length) != 0;
    // Each suffix is one underscore and bytes that folding keeps.
    holds(length)
        || (underscores > 0
            && SUFFIXES
                .iter()
                .map(|suffix| suffix.len() - 1)
                .any(|kept| length >= kept && holds(length - kept)))
}

/// Declares [`Raw`] from one list of `"folded" | "other": "key" | "alias" => field` entries (the
/// folded forms of a field's names, then its spellings as written): the struct, the
/// field a key names (as written, then folded), and the two ways of reading a record into it, the
/// scanner's (the fast path, `scan.rs`) and serde's, which share that lookup so that they read the
/// same keys into the same fields.
macro_rules! raw_record {
    (
        $(#[$struct_meta:meta])*
        pub struct $name:ident<$a:lifetime, $p:ident> {
            $(
                $(#[$meta:meta])*
                $folded:literal $(| $other:literal)*: $key:literal $(| $alias:literal)* => pub $field:ident: $ty:ty,
            )*
        }
    ) => {
        $(#[$struct_meta])*
        pub struct $name<$a, $p> {
            $(
                $(#[$meta])*
                pub $field: $ty,
            )*
        }

        /// The fields of [`Raw`], one bit each in the set of fields seen.
        #[allow(non_camel_case_types, clippy::enum_variant_names)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum RawField {
            $($field,)*
        }

        // The bits are one `u128`.
        const _: () = assert!([$(stringify!($field)),*].len() <= 128);

        impl RawField {
            /// The field a key names, or `None` for a key no detector reads.
            #[inline(always)]
            pub(super) fn of(key: &str) -> Option<RawField> {
                match key {
                    $($key $(| $alias)* => Some(RawField::$field),)*
                    _ if is_unread(key) => None,
                    _ => Self::folded(key),
                }
            }

            /// The field a key names in another case or with an export's suffix.
            #[cold]
            fn folded(key: &str) -> Option<RawField> {
                /// Every folded name's length by its first letter (see [`folded_lengths`]).
                const LENGTHS: FoldedLengths = folded_lengths(&[$($folded $(, $other)*),*]);
                // Most keys a record holds name no field: they are turned away without folding.
                if !could_fold(key, &LENGTHS) {
                    return None;
                }
                let mut buffer = [0; 48];
                if let Some(field) = fold(key, false, &mut buffer).and_then(Self::of_folded) {
                    return Some(field);
                }
                fold(key, true, &mut buffer).and_then(Self::of_folded)
            }

            fn of_folded(folded: &str) -> Option<RawField> {
                match folded {
                    $($folded $(| $other)* => Some(RawField::$field),)*
                    _ => None,
                }
            }

            /// Every field's folded names and spellings (for the tests).
            #[cfg(test)]
            pub(super) const SPELLINGS: &[(&[&str], &[&str])] =
                &[$((&[$folded $(, $other)*], &[$key $(, $alias)*]),)*];
        }

        impl<$a, $p> $name<$a, $p>
        where
            Option<$p>: Scan<$a> + Field,
        {
            /// Reads the value at `scanner` into the field named `key` (the first non-empty value
            /// of a field named twice is kept), or steps over it if no field has that name;
            /// `None` when the record must be left to serde (a value of the wrong type).
            #[inline(always)]
            pub(super) fn scan_field(
                &mut self,
                key: &str,
                scanner: &mut Scanner<$a>,
                seen: &mut u128,
            ) -> Option<()> {
                let Some(field) = RawField::of(key) else {
                    return scanner.skip_value();
                };
                let bit = 1u128 << (field as u32);
                match field {
                    $(
                        RawField::$field => {
                            if *seen & bit != 0 {
                                if !Field::is_empty(&self.$field) {
                                    return scanner.skip_value();
                                }
                                self.$field = Default::default();
                            }
                            *seen |= bit;
                            Scan::scan(&mut self.$field, scanner)?;
                        }
                    )*
                }
                Some(())
            }
        }

        impl<'de: $a, $a, $p> Deserialize<'de> for $name<$a, $p>
        where
            $p: Deserialize<'de> + Default,
            Option<$p>: Field,
        {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct RecordVisitor<$a, $p>(PhantomData<(&$a (), $p)>);
                impl<'de: $a, $a, $p> Visitor<'de> for RecordVisitor<$a, $p>
                where
                    $p: Deserialize<'de> + Default,
                    Option<$p>: Field,
                {
                    type Value = $name<$a, $p>;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a JSON object")
                    }
                    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                        let mut raw = $name::default();
                        let mut seen = 0u128;
                        while let Some(key) = map.next_key::<Text<'de>>()? {
                            let Some(field) = RawField::of(&key.0) else {
                                map.next_value::<IgnoredAny>()?;
                                continue;
                            };
                            let bit = 1u128 << (field as u32);
                            match field {
                                $(
                                    RawField::$field => {
                                        if seen & bit != 0 && !Field::is_empty(&raw.$field) {
                                            map.next_value::<IgnoredAny>()?;
                                        } else {
                                            seen |= bit;
                                            raw.$field = map.next_value()?;
                                        }
                                    }
                                )*
                            }
                        }
                        Ok(raw)
                    }
                }
                deserializer.deserialize_map(RecordVisitor(PhantomData))
            }
        }
    };
}

raw_record! {
    /// Every field the detectors read, one per concept, in every spelling of every supported
    /// shape. A record is read into this once; which fields are present tells its shape. `P` is
    /// what an Azure Monitor `properties` is read into ([`Record`], [`Properties`]).
    #[derive(Debug, Default)]
    pub struct Raw<'a, P> {
        // Wrappers: Azure Monitor / Event Hub batches, Graph pages, Log Analytics query results.
        /// `{"records": […]}`.
        "records": "records" => pub records: Option<Json<'a>>,
        /// `{"value": […]}`.
        "value": "value" => pub value: Option<Json<'a>>,
        /// `{"tables": [{"columns": […], "rows": […]}]}` (the Log Analytics query API).
        "tables": "tables" | "Tables" => pub tables: Option<Json<'a>>,
        /// `{"log": "<a line of JSON>"}`: what Fluent Bit's `tail` (without a parser) and
        /// Docker's `json-file` write around a line. Read only when the record is of no known
        /// shape itself.
        "log": "log" => pub log: Option<Json<'a>>,

        // Azure Monitor envelope, and the Log Analytics columns of the same meaning.
        /// Envelope time.
        "time": "time" => pub time: Option<Text<'a>>,
        /// Envelope category (`SignInLogs`, `AuditLogs`, …); Log Analytics' `Category` column.
        "category": "category" | "Category" => pub category: Option<Text<'a>>,
        /// `Sign-in activity`, or the audit activity.
        "operationname": "operationName" | "OperationName" | "operationname" => pub operation_name: Option<Text<'a>>,
        /// Result: a code as text (`"50126"`), or `Success` / `Failure` in some pipelines.
        "resulttype": "resultType" | "ResultType" | "resulttype" => pub result_type: Option<Text<'a>>,
        /// Envelope caller IP.
        "calleripaddress": "callerIpAddress" | "calleripaddress" => pub caller_ip: Option<Text<'a>>,
        /// Envelope tenant; Log Analytics' workspace tenant.
        "tenantid": "tenantId" | "TenantId" | "tenantid" => pub tenant_id: Option<Text<'a>>,
        /// The Entra tenant of a Log Analytics row.
        "aadtenantid": "AADTenantId" => pub aad_tenant_id: Option<Text<'a>>,
        /// The wrapped Graph-shaped record.
        "properties": "properties" => pub properties: Option<P>,
        /// Ingestion time (Log Analytics).
        "timegenerated": "TimeGenerated" | "TimeGenerated [UTC]" => pub time_generated: Option<Text<'a>>,
        /// Table name (Log Analytics): informative only, never what decides a shape.
        "type": "Type" => pub table: Option<Text<'a>>,

        // Sign-ins (Graph names; the Log Analytics columns are the same names in PascalCase).
        /// Sign-in time.
        "createddatetime": "createdDateTime" | "CreatedDateTime" | "CreatedDateTime [UTC]" => pub created: Option<Text<'a>>,
        /// Record id (`OfficeId` in `OfficeActivity`).
        "id" | "officeid": "id" | "Id" | "OfficeId" => pub id: Option<Text<'a>>,
        /// Original request id.
        "originalrequestid": "originalRequestId" | "OriginalRequestId" => pub original_request_id: Option<Text<'a>>,
        /// User principal name.
        "userprincipalname": "userPrincipalName" | "UserPrincipalName" => pub user_principal_name: Option<Text<'a>>,
        /// Source IP (also of a risk detection).
        "ipaddress": "ipAddress" | "IPAddress" | "IpAddress" => pub ip_address: Option<Text<'a>>,
        /// Sign-in status: an object (or a JSON string holding one); other resources use `status`
        /// as a string, so it is decoded only once the shape is known.
        "status": "status" | "Status" => pub status: Option<Json<'a>>,
        /// Application id (sign-ins; the app of an Exchange record).
        "appid": "appId" | "AppId" => pub app_id: Option<Text<'a>>,
        /// Application name.
        "appdisplayname": "appDisplayName" | "AppDisplayName" => pub app_display_name: Option<Text<'a>>,
        /// User agent.
        "useragent": "userAgent" | "UserAgent" => pub user_agent: Option<Text<'a>>,
        /// Single or multi factor.
        "authenticationrequirement": "authenticationRequirement" | "AuthenticationRequirement" => pub authentication_requirement: Option<Text<'a>>,
        /// Authentication steps (a list, or a JSON string holding one).
        "authenticationdetails": "authenticationDetails" | "AuthenticationDetails" => pub authentication_details: Option<MaybeEncoded<CorrectPasswordStep>>,
        /// Client app (`Browser`, `IMAP4`, …).
        "clientappused": "clientAppUsed" | "ClientAppUsed" => pub client_app_used: Option<Text<'a>>,
        /// Protocol (`ropc`, `deviceCode`, …).
        "authenticationprotocol": "authenticationProtocol" | "AuthenticationProtocol" => pub authentication_protocol: Option<Text<'a>>,
        /// Autonomous system number.
        "autonomoussystemnumber": "autonomousSystemNumber" | "AutonomousSystemNumber" => pub asn: Code,
        /// Home tenant.
        "hometenantid": "homeTenantId" | "HomeTenantId" => pub home_tenant_id: Option<Text<'a>>,
        /// Resource tenant.
        "resourcetenantid": "resourceTenantId" | "ResourceTenantId" => pub resource_tenant_id: Option<Text<'a>>,
        /// The tenant owning the app.
        "appownertenantid": "appOwnerTenantId" | "AppOwnerTenantId" => pub app_owner_tenant_id: Option<Text<'a>>,
        /// Risk event types.
        "riskeventtypesv2": "riskEventTypes_v2" | "RiskEventTypes_V2" => pub risk_event_types: Option<MaybeEncoded<Vec<String>>>,
        /// Service principal name (service principal sign-ins).
        "serviceprincipalname": "servicePrincipalName" | "ServicePrincipalName" => pub service_principal_name: Option<Text<'a>>,
        /// Service principal id.
        "serviceprincipalid": "servicePrincipalId" | "ServicePrincipalId" => pub service_principal_id: Option<Text<'a>>,
        /// Interactive or not (Graph; `"True"` in CSV exports).
        "isinteractive": "isInteractive" | "IsInteractive" => pub is_interactive: Flag,
        /// The country a sign-in came from: `location.countryOrRegion` (Graph, Azure Monitor),
        /// `LocationDetails` (a JSON string) or the `Location` column (the code itself).
        "location" | "locationdetails": "location" | "LocationDetails" | "Location" => pub country: Pick<'a, CountryKey>,
        /// The device a sign-in came from: `deviceDetail.deviceId`.
        "devicedetail": "deviceDetail" | "DeviceDetail" => pub device: Pick<'a, DeviceKey>,
        /// Sign-in event types (Graph beta: `interactiveUser`, `nonInteractiveUser`,
        /// `servicePrincipal`, `managedIdentity`).
        "signineventtypes": "signInEventTypes" => pub sign_in_event_types: Option<MaybeEncoded<SignInEventTypes>>,

        // Unified audit log (Office 365 Management Activity API) and `OfficeActivity` rows.
        /// Record time (no zone: UTC).
        "creationtime": "CreationTime" => pub creation_time: Option<Text<'a>>,
        /// Operation (`UserLoggedIn`, `MailItemsAccessed`, `Add service principal.`, …).
        "operation": "Operation" => pub operation: Option<Text<'a>>,
        /// Workload (`AzureActiveDirectory`, `Exchange`, …).
        "workload" | "officeworkload": "Workload" | "OfficeWorkload" => pub workload: Option<Text<'a>>,
        /// Record type: a number in the unified audit log (15 sign-in, 8 directory, 50 mailbox
        /// access, 1 Exchange admin), a name in `OfficeActivity`.
        "recordtype": "RecordType" => pub record_type: Option<Text<'a>>,
        /// The acting user (a UPN, or an app or service principal id).
        "userid": "UserId" => pub user_id: Option<Text<'a>>,
        /// Client IP (may carry a port).
        "clientip": "ClientIP" => pub client_ip: Option<Text<'a>>,
        /// Actor IP.
        "actoripaddress": "ActorIpAddress" => pub actor_ip: Option<Text<'a>>,
        /// Result code (text).
        "errornumber": "ErrorNumber" => pub error_number: Code,
        /// Result of an account logon (RecordType 9): 0, or an error number.
        "loginstatus": "LoginStatus" => pub login_status: Code,
        /// Result name (`InvalidUserNameOrPassword`).
        "logonerror": "LogonError" => pub logon_error: Option<Text<'a>>,
        /// Application id.
        "applicationid": "ApplicationId" => pub application_id: Option<Text<'a>>,
        /// `{Name, Value}` extras; `UserAgent` lives here.
        "extendedproperties": "ExtendedProperties" => pub extended_properties: Option<Json<'a>>,
        /// Tenant.
        "organizationid" | "officetenantid": "OrganizationId" | "OfficeTenantId" => pub organization_id: Option<Text<'a>>,
        /// Result (`Success`, `Succeeded`, `True`, `Failed`, …).
        "resultstatus": "ResultStatus" => pub result_status: Option<Text<'a>>,
        /// Actors of a directory record (`[{ID, Type}]`).
        "actor": "Actor" => pub actor: Option<Json<'a>>,
        /// Targets of a directory record (`[{ID, Type}]`).
        "target": "Target" => pub target: Option<Json<'a>>,
        /// Modified properties (`[{Name, NewValue, OldValue}]`, or a list of names).
        "modifiedproperties": "ModifiedProperties" => pub modified_properties: Option<Json<'a>>,
        /// The object acted on.
        "objectid": "ObjectId" => pub object_id: Option<Text<'a>>,
        /// Mailbox owner.
        "mailboxownerupn": "MailboxOwnerUPN" => pub mailbox_owner: Option<Text<'a>>,
        /// Client application id (Exchange).
        "clientappid": "ClientAppId" => pub client_app_id: Option<Text<'a>>,
        /// Client IP (Exchange).
        "clientipaddress": "ClientIPAddress" | "Client_IPAddress" => pub client_ip_address: Option<Text<'a>>,
        /// Client description (`Client=WebServices;ExchangeWebServices…`).
        "clientinfostring": "ClientInfoString" => pub client_info: Option<Text<'a>>,
        /// `{Name, Value}` of a mailbox access (`MailAccessType`, `IsThrottled`).
        "operationproperties": "OperationProperties" => pub operation_properties: Option<Json<'a>>,
        /// Items in an aggregated mailbox access record.
        "operationcount": "OperationCount" => pub operation_count: Code,
        /// The app context of a newer mailbox access record.
        "appaccesscontext": "AppAccessContext" => pub app_access_context: Option<Json<'a>>,
        /// The tenant that issued the token.
        "tokentenantid": "TokenTenantId" => pub token_tenant_id: Option<Text<'a>>,
        /// Cmdlet parameters (`[{Name, Value}]`).
        "parameters": "Parameters" => pub parameters: Option<Json<'a>>,

        // Directory audit (Graph `directoryAudit`, Azure Monitor `properties`, Log Analytics).
        /// Activity name.
        "activitydisplayname": "activityDisplayName" | "ActivityDisplayName" => pub activity_display_name: Option<Text<'a>>,
        /// Activity time.
        "activitydatetime": "activityDateTime" | "ActivityDateTime" => pub activity_date_time: Option<Text<'a>>,
        /// Initiator.
        "initiatedby": "initiatedBy" | "InitiatedBy" => pub initiated_by: Option<Json<'a>>,
        /// Targets.
        "targetresources": "targetResources" | "TargetResources" => pub target_resources: Option<Json<'a>>,
        /// Additional details.
        "additionaldetails": "additionalDetails" | "AdditionalDetails" => pub additional_details: Option<Json<'a>>,
        /// Result (`success`, `failure`).
        "result": "result" | "Result" => pub result: Option<Text<'a>>,
        /// Why the result was what it was (names the method an administrator registered).
        "resultreason": "resultReason" | "ResultReason" => pub result_reason: Option<Text<'a>>,
        /// An Intune audit record's id (Intune's `AuditLogs` category shares Entra's name).
        "auditeventid": "AuditEventId" => pub audit_event_id: Option<Text<'a>>,
        /// The service that wrote a directory audit record (`Core Directory`, …).
        "loggedbyservice": "loggedByService" | "LoggedByService" => pub logged_by_service: Option<Text<'a>>,

        // Risk detections.
        /// Risk event type.
        "riskeventtype": "riskEventType" | "RiskEventType" => pub risk_event_type: Option<Text<'a>>,
        /// The risk type of older Graph beta responses, which had no `riskEventType` (newer ones
        /// carry both, `riskType` then a vaguer `generic`).
        "risktype": "riskType" | "RiskType" => pub risk_type: Option<Text<'a>>,
        /// Risk level.
        "risklevel": "riskLevel" | "RiskLevel" => pub risk_level: Option<Text<'a>>,
        /// Detection time.
        "detecteddatetime": "detectedDateTime" | "DetectedDateTime" => pub detected_date_time: Option<Text<'a>>,
        /// When a user's risk standing last changed: Graph's `riskyUser` and
        /// `riskyUserHistoryItem` have it, detections and sign-ins do not.
        "risklastupdateddatetime": "riskLastUpdatedDateTime" | "RiskLastUpdatedDateTime" => pub risk_last_updated: Option<Text<'a>>,
    }
}

/// A nested value, decoded: an object or a list, itself or JSON-encoded in a string (how Log
/// Analytics writes nested columns); null and the empty string are null. Anything else is an
/// error that names `field`.
pub fn nested(json: Option<Json>, field: &str) -> Result<Value, String> {
    let Some(Json(text)) = json else {
        return Ok(Value::Null);
    };
    let value: Value =
        serde_json::from_str(text).map_err(|error| format!("invalid field {field}: {error}"))?;
    let found = match value {
        Value::Object(_) | Value::Array(_) | Value::Null => return Ok(value),
        Value::String(inner) => {
            let inner = inner.trim();
            if inner.is_empty() {
                return Ok(Value::Null);
            }
            match serde_json::from_str::<Value>(inner) {
                Ok(decoded @ (Value::Object(_) | Value::Array(_) | Value::Null)) => {
                    return Ok(decoded)
                }
                Err(error) if inner.starts_with(['{', '[']) => {
                    return Err(format!(
                        "invalid field {field}: JSON-encoded string: {error}"
                    ))
                }
                _ => format!("the string {:?}", super::truncate(inner, 64)),
            }
        }
        other => other.to_string(),
    };
    Err(format!(
        "invalid field {field}: expected an object or a list, found {found}"
    ))
}

/// The member `key` of an object, ignoring ASCII case; of two spellings the first non-empty.
pub fn get<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    let object = value.as_object()?;
    let mut found = None;
    for (name, member) in object {
        if name.eq_ignore_ascii_case(key) {
            if !is_empty_value(member) {
                return Some(member);
            }
            found.get_or_insert(member);
        }
    }
    found
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        _ => false,
    }
}

/// The elements of a list; a single object is a list of one, anything else none.
pub fn elements(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        Value::Object(_) => std::slice::from_ref(value),
        _ => &[],
    }
}

/// A member as text (see [`value_text`]), `None` when absent or empty.
pub fn member_text(value: &Value, key: &str) -> Option<String> {
    let text = value_text(get(value, key));
    (!text.is_empty()).then_some(text)
}

/// Any JSON value as text: strings as themselves (JSON-decoded once more when they hold a quoted
/// string, as `modifiedProperties` values do), null as empty, anything else as JSON.
pub fn value_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => {
            let trimmed = text.trim();
            if trimmed.starts_with('"') {
                if let Ok(inner) = serde_json::from_str::<String>(trimmed) {
                    return inner;
                }
            }
            trimmed.to_owned()
        }
        Some(other) => other.to_string(),
    }
}

/// `{Name, Value}` pairs (the unified audit log's `Parameters`, `ExtendedProperties`,
/// `OperationProperties`) as text, names and values trimmed; entries without a name are skipped.
pub fn name_values(value: &Value) -> Vec<(String, String)> {
    elements(value)
        .iter()
        .filter_map(|entry| {
            let name = member_text(entry, "Name")?;
            Some((name, value_text(get(entry, "Value"))))
        })
        .collect()
}

/// Returns the first present, non-empty text.
pub fn first<'b>(candidates: &[&'b Option<Text<'_>>]) -> Option<&'b str> {
    candidates
        .iter()
        .filter_map(|candidate| candidate.as_ref().map(Text::as_str))
        .find(|text| !text.is_empty())
}

/// Reads a result: digits are the code, `Success` is 0, `Failure` is a failure without a code
/// (1). `Err` names what could not be read.
pub fn result_code(text: Option<&Text>) -> Result<Option<i64>, String> {
    let Some(text) = text.map(Text::as_str).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    if let Ok(code) = text.parse() {
        return Ok(Some(code));
    }
    if text.eq_ignore_ascii_case("success") {
        Ok(Some(0))
    } else if text.eq_ignore_ascii_case("failure") {
        Ok(Some(1))
    } else {
        Err(format!("{text:?} is neither a code nor Success / Failure"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_folds_to_its_field() {
        let mut buffer = [0; 48];
        for (folded, spellings) in RawField::SPELLINGS {
            for spelling in *spellings {
                let got = fold(spelling, false, &mut buffer).unwrap_or_default();
                assert!(
                    folded.contains(&got),
                    "{spelling} folds to {got}, not {folded:?}"
                );
            }
        }
    }

    #[test]
    fn keys_are_found_in_any_case_and_with_export_suffixes() {
        let cases = [
            ("ipAddress", Some(RawField::ip_address)),
            ("IPADDRESS", Some(RawField::ip_address)),
            ("ip_address", Some(RawField::ip_address)),
            ("IPAddress_s", Some(RawField::ip_address)),
            ("OrganizationId_", Some(RawField::organization_id)),
            ("UserId_", Some(RawField::user_id)),
            ("ClientIP_", Some(RawField::client_ip)),
            ("Status_dynamic", Some(RawField::status)),
            ("LocationDetails_string", Some(RawField::country)),
            ("Location", Some(RawField::country)),
            ("DeviceDetail_dynamic", Some(RawField::device)),
            ("InitiatedBy_string", Some(RawField::initiated_by)),
            ("TimeGenerated [UTC]", Some(RawField::time_generated)),
            ("timegenerated [utc]", Some(RawField::time_generated)),
            ("CreatedDateTime_t", Some(RawField::created)),
            ("ResultType_d", Some(RawField::result_type)),
            ("IsInteractive_b", Some(RawField::is_interactive)),
            ("RiskEventTypes_V2", Some(RawField::risk_event_types)),
            ("riskeventtypes_v2_s", Some(RawField::risk_event_types)),
            ("Client_IPAddress", Some(RawField::client_ip_address)),
            ("TimeGenerated [Local Time]", None),
            ("_ItemId", None),
            ("", None),
            ("_", None),
            (
                "a_very_long_key_that_is_no_field_name_at_all_of_ours_s",
                None,
            ),
        ];
        for (key, field) in cases {
            assert_eq!(RawField::of(key), field, "{key}");
        }
    }

    /// The check before folding turns no spelling away, in any case, with underscores, a
    /// ` [UTC]` or any suffix; and it does turn away keys that name no field.
    #[test]
    fn keys_turned_away_before_folding_name_no_field() {
        for (folded, _) in RawField::SPELLINGS {
            for name in *folded {
                let field = RawField::of(name);
                assert!(field.is_some(), "{name}");
                let upper = name.to_ascii_uppercase();
                let split = format!("_{}_{}", &name[..1], &name[1..]);
                let mut variants = vec![upper.clone(), split, format!("{upper} [UTC]")];
                variants.extend(SUFFIXES.iter().map(|suffix| format!("{upper}{suffix}")));
                for variant in variants {
                    assert_eq!(RawField::of(&variant), field, "{variant} ({name})");
                }
            }
        }
        const LENGTHS: FoldedLengths = folded_lengths(&["ipaddress", "status"]);
        assert!(could_fold("IP_Address_s", &LENGTHS));
        for key in [
            "displayName",
            "enforcedGrantControls",
            "result",
            "ipAddresses",
            "zstatus",
        ] {
            assert!(!could_fold(key, &LENGTHS), "{key}");
        }
    }

    /// The keys turned away at once would be turned away by folding too: none names a field.
    #[test]
    fn keys_known_to_be_unread_name_no_field() {
        let source = include_str!("raw.rs");
        let list = source
            .split_once("fn is_unread(key: &str) -> bool {")
            .and_then(|(_, rest)| rest.split_once("\n}\n"))
            .map(|(body, _)| body)
            .unwrap_or_default();
        let keys: Vec<&str> = list.split('"').skip(1).step_by(2).collect();
        assert!(keys.len() > 80, "{} keys read from is_unread", keys.len());
        for key in keys {
            assert!(is_unread(key), "{key}");
            assert_eq!(RawField::folded(key), None, "{key} names a field");
        }
    }

    #[test]
    fn the_first_non_empty_of_two_spellings_wins() {
        let text = r#"{"OrganizationId": "", "OrganizationId_": "t1", "organizationid": "t2",
            "UserId": null, "UserId_": "a@b.c", "Status_string": "", "Status_dynamic": {"errorCode": 1}}"#;
        let raw: Record = serde_json::from_str(text).unwrap();
        assert_eq!(first(&[&raw.organization_id]), Some("t1"));
        assert_eq!(first(&[&raw.user_id]), Some("a@b.c"));
        assert_eq!(raw.status, Some(Json(r#"{"errorCode": 1}"#)));
    }

    #[test]
    fn nested_values_are_read_as_objects_or_encoded() {
        let encoded = Json(r#""{\"user\":{\"UserPrincipalName\":\"a@b.c\"}}""#);
        let value = nested(Some(encoded), "InitiatedBy").unwrap();
        let user = get(&value, "user").unwrap();
        assert_eq!(
            member_text(user, "userPrincipalName").as_deref(),
            Some("a@b.c")
        );
        assert_eq!(nested(Some(Json("\"\"")), "x").unwrap(), Value::Null);
        let errors = [
            (
                "\"plain\"",
                "expected an object or a list, found the string \"plain\"",
            ),
            ("\"{broken\"", "JSON-encoded string: key must be a string"),
            ("5", "found 5"),
        ];
        for (json, reason) in errors {
            let error = nested(Some(Json(json)), "x").unwrap_err();
            assert!(
                error.starts_with("invalid field x: ") && error.contains(reason),
                "{error}"
            );
        }
        let pairs = serde_json::json!([{"Name": "A", "Value": 1}, {"name": "b", "value": "\"x\""}, {"Value": 2}]);
        assert_eq!(
            name_values(&pairs),
            vec![("A".into(), "1".into()), ("b".into(), "x".into())]
        );
    }

    #[test]
    fn json_emptiness() {
        for empty in ["null", "\"\"", "{}", "[]", "\"[]\"", "\" {} \""] {
            assert!(Json(empty).is_empty(), "{empty}");
        }
        for full in ["0", "\"x\"", "{\"a\":1}", "[1]", "\"[1]\""] {
            assert!(!Json(full).is_empty(), "{full}");
        }
    }
}
