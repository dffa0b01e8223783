//! The detectors and their one registry.
//!
//! A detector is a small state machine over typed events, built from the [`kit`]: `on_event`
//! decides whether an event matters, which key it belongs to and what it adds; `on_watermark`
//! closes what event time has moved past. Detectors tell each other what they learned through
//! [`Signal`]s (a spray detector names its targets; `spray-then-success` listens), never by
//! reaching into each other's state.
//!
//! The registry ([`registry!`] below) is the one ordered list of detectors: it generates the
//! settings, their validation, the ids, construction and the chain's stages. Its order is the
//! order in which each event is offered, and so part of the output's deterministic order.
//! Adding a detector is one file, one line here and its golden folder (`tests/golden/<id>/`).

pub mod app_privileged_directory_role;
pub mod attack_chain;
pub mod audit_tampering;
pub mod distributed_password_spray;
pub mod domain_federation;
pub mod exchange_impersonation_role;
pub mod identity_protection_risk;
pub mod kit;
pub mod low_and_slow_spray;
pub mod mail_access_throttled;
pub mod mailbox_access_by_app;
pub mod mfa_tampering;
pub mod multi_mailbox_access;
pub mod multitenant_app;
pub mod oauth_app_created;
pub mod oauth_consent_grant;
pub mod oauth_credential_added;
pub mod oauth_high_privilege_grant;
pub mod oauth_owner_added;
pub mod partner_trust;
pub mod password_spray;
pub mod single_factor_legacy_signin;
pub mod spray_then_success;

pub use kit::{
    push_capped, Context, Detector, Meta, Parts, Registrable, Signal, Stage, StateStats,
    Suppression,
};

use crate::finding::Severity;
use crate::Error;

/// The registry: generates [`Settings`] (one field per detector, keyed by its id in JSON),
/// their validation, [`DETECTORS`], [`build`] and [`stage_of`] from one list.
macro_rules! registry {
    ($( $module:ident :: $detector:ident ),* $(,)?) => {
        /// Settings of every detector, keyed by detector id (an unknown id is an error).
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct Settings {
            $(
                #[doc = concat!("`", stringify!($module), "`.")]
                pub $module: <$module::$detector as Registrable>::Config,
            )*
        }

        /// Every detector id, in registry order.
        pub const DETECTORS: &[&str] = &[$( <$module::$detector as Registrable>::META.id ),*];

        /// Every detector id, in registry order, and the engine's own `state-pressure`.
        pub const IDS: &[&str] =
            &[$( <$module::$detector as Registrable>::META.id, )* STATE_PRESSURE];

        impl Settings {
            /// Checks every detector's settings; errors name the field.
            pub fn validate(&self) -> Result<(), Error> {
                $(
                    kit::Settings::validate(
                        &self.$module,
                        &format!("detectors.{}", <$module::$detector as Registrable>::META.id),
                    )?;
                )*
                Ok(())
            }
        }

        impl serde::Serialize for Settings {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(DETECTORS.len()))?;
                $( map.serialize_entry(<$module::$detector as Registrable>::META.id, &self.$module)?; )*
                map.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for Settings {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl<'de> serde::de::Visitor<'de> for Visitor {
                    type Value = Settings;

                    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                        formatter.write_str("an object of detector settings keyed by detector id")
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<Settings, A::Error> {
                        let mut settings = Settings::default();
                        while let Some(id) = map.next_key::<String>()? {
                            $(
                                if id == <$module::$detector as Registrable>::META.id {
                                    settings.$module = map.next_value()?;
                                    continue;
                                }
                            )*
                            // Refused while reading its value, so the error's path names it.
                            map.next_value_seed(Unknown(&id))?;
                        }
                        Ok(settings)
                    }
                }
                deserializer.deserialize_map(Visitor)
            }
        }

        /// Builds the enabled detectors, in registry order.
        pub fn build(settings: &Settings, parts: &Parts) -> Vec<Registered> {
            let mut registry = Vec::new();
            $( add::<$module::$detector>(&mut registry, &settings.$module, parts); )*
            registry
        }

        /// The stage of the chain a detector's findings belong to.
        pub fn stage_of(id: &str) -> Option<Stage> {
            $(
                if id == <$module::$detector as Registrable>::META.id {
                    return <$module::$detector as Registrable>::META.stage;
                }
            )*
            None
        }
    };
}

// The one list: stage 1 sign-ins, stage 2 the OAuth foothold, stage 3 mail, then the chain that
// links them.
registry! {
    password_spray::PasswordSpray,
    distributed_password_spray::DistributedPasswordSpray,
    low_and_slow_spray::LowAndSlowSpray,
    identity_protection_risk::IdentityProtectionRisk,
    spray_then_success::SprayThenSuccess,
    single_factor_legacy_signin::SingleFactorLegacySignin,
    oauth_app_created::OauthAppCreated,
    oauth_credential_added::OauthCredentialAdded,
    oauth_owner_added::OauthOwnerAdded,
    oauth_consent_grant::OauthConsentGrant,
    oauth_high_privilege_grant::OauthHighPrivilegeGrant,
    app_privileged_directory_role::AppPrivilegedDirectoryRole,
    exchange_impersonation_role::ExchangeImpersonationRole,
    audit_tampering::AuditTampering,
    domain_federation::DomainFederation,
    mfa_tampering::MfaTampering,
    partner_trust::PartnerTrust,
    multitenant_app::MultitenantApp,
    mailbox_access_by_app::MailboxAccessByApp,
    multi_mailbox_access::MultiMailboxAccess,
    mail_access_throttled::MailAccessThrottled,
    attack_chain::AttackChain,
}

/// The settings of an id no detector has: refused, naming the ids there are.
struct Unknown<'a>(&'a str);

impl<'de> serde::de::DeserializeSeed<'de> for Unknown<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        Err(serde::de::Error::unknown_field(self.0, DETECTORS))
    }
}

fn add<D: Registrable>(registry: &mut Vec<Registered>, config: &D::Config, parts: &Parts) {
    use kit::Settings as _;
    if config.enabled() {
        registry.push(Registered {
            detector: Box::new(D::build(config.clone(), parts)),
            severity: config.severity(),
        });
    }
}

/// The id of the engine's own finding when a cap forces it to drop live state.
pub const STATE_PRESSURE: &str = "state-pressure";

/// A detector in the registry with its severity override.
pub struct Registered {
    /// The detector.
    pub detector: Box<dyn Detector>,
    /// Report its findings at this severity instead of its own.
    pub severity: Option<Severity>,
}
