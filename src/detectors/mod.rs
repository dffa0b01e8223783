//! The detectors and their one registry.
//!
//! A detector is a small state machine over typed events: `on_event` decides whether an event
//! matters, which key it belongs to and what it adds; `on_watermark` closes what event time has
//! moved past. Detectors tell each other what they learned through [`Signal`]s (a spray detector
//! names its targets; `spray-then-success` listens), never by reaching into each other's state.
//!
//! The registry ([`build`]) is the one ordered list of detectors; its order is the order in which
//! each event is offered, and so part of the output's deterministic order.

pub mod app_privileged_directory_role;
pub mod attack_chain;
pub mod distributed_password_spray;
pub mod exchange_impersonation_role;
pub mod familiar_places;
pub mod identity_protection_risk;
pub mod low_and_slow_spray;
pub mod mail_access_throttled;
pub mod mailbox_access_by_app;
pub mod multi_mailbox_access;
pub mod multitenant_app;
pub mod oauth_app_created;
pub mod oauth_consent_grant;
pub mod oauth_credential_added;
pub mod oauth_high_privilege_grant;
pub mod oauth_owner_added;
pub mod password_spray;
pub mod single_factor_legacy_signin;
pub mod spray_then_success;
mod suppression;
mod unresolved_failures;

pub use suppression::Suppression;

use std::sync::Arc;

use ahash::RandomState;
use serde::Deserialize;

use crate::allowlist::Allowlist;
use crate::event::Event;
use crate::finding::{Finding, Severity};
use crate::time::Timestamp;
use crate::Error;

/// What a detector learned that others may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// A user was the target of a password spray.
    SprayTarget {
        /// The targeted user (lowercased UPN).
        user: String,
        /// The spraying IP, if it is the spray's own (none at a known egress).
        ip: Option<String>,
        /// The time the user was sprayed.
        time: Timestamp,
        /// The spray finding's uid.
        finding_uid: String,
    },
    /// An address a spray used that is its own (a proxy, an attacker's host), not a known
    /// egress that users share: a password proven from it, by anyone, is the spray's hit.
    SprayAddress {
        /// The address.
        ip: String,
        /// When the spray used it last.
        time: Timestamp,
        /// The spray finding's uid.
        finding_uid: String,
    },
}

/// What the engine hands a detector while it works: the watermark, and where findings and
/// signals go.
#[derive(Debug, Default)]
pub struct Context {
    /// The engine's watermark: no event before this time is still expected.
    pub watermark: Timestamp,
    findings: Vec<Finding>,
    offered: usize,
    signals: Vec<Signal>,
}

impl Context {
    /// A context at `watermark`.
    pub fn new(watermark: Timestamp) -> Self {
        Context {
            watermark,
            findings: Vec::new(),
            offered: 0,
            signals: Vec::new(),
        }
    }

    /// Emits a finding (new, or an update of one emitted before with the same uid).
    pub fn emit(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Tells the other detectors something.
    pub fn signal(&mut self, signal: Signal) {
        self.signals.push(signal);
    }

    /// Takes the findings emitted so far.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        self.offered = 0;
        std::mem::take(&mut self.findings)
    }

    /// The next finding not yet offered to the detectors of findings.
    pub fn next_to_offer(&mut self) -> Option<Finding> {
        let finding = self.findings.get(self.offered).cloned()?;
        self.offered += 1;
        Some(finding)
    }

    /// Takes the signals raised so far.
    pub fn take_signals(&mut self) -> Vec<Signal> {
        std::mem::take(&mut self.signals)
    }
}

/// How much state a detector holds, for `stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateStats {
    /// Keys tracked.
    pub entries: usize,
    /// Live keys dropped because a cap was reached.
    pub evicted: u64,
    /// Findings open (still being updated).
    pub open_findings: usize,
    /// Findings kept back at informational (not emitted; see each detector's settings).
    pub informational: u64,
}

/// One detector.
pub trait Detector {
    /// The detector id (`password-spray`).
    fn id(&self) -> &'static str;
    /// Offers an event, in event-time order.
    fn on_event(&mut self, event: &Event, context: &mut Context);
    /// Offers a signal raised by a detector while handling the current event.
    fn on_signal(&mut self, _signal: &Signal, _context: &mut Context) {}
    /// Offers a finding another detector emitted (the chain is a detector of findings).
    fn on_finding(&mut self, _finding: &Finding, _context: &mut Context) {}
    /// A detector of findings closes after every other detector's closing findings reached it.
    fn reads_findings(&self) -> bool {
        false
    }
    /// The detector's open findings, when it keeps them in one [`Suppression`] (most do): the
    /// defaults of `on_watermark` and `flush` then close them.
    fn suppression(&mut self) -> Option<&mut Suppression> {
        None
    }
    /// Event time has moved to `context.watermark`: close what lies before it.
    fn on_watermark(&mut self, context: &mut Context) {
        if let Some(open) = self.suppression() {
            open.sweep(context);
        }
    }
    /// Closes everything still open (end of input).
    fn flush(&mut self, context: &mut Context) {
        if let Some(open) = self.suppression() {
            open.flush(context);
        }
    }
    /// State held.
    fn state(&self) -> StateStats;
    /// The detector's state, for a snapshot.
    fn save(&self) -> Result<serde_json::Value, String>;
    /// Replaces the detector's state with a saved one, seeding its tables with `hasher`.
    fn load(&mut self, state: serde_json::Value, hasher: &RandomState) -> Result<(), String>;
}

/// Implements [`Detector::save`] and [`Detector::load`] for a detector whose struct derives serde:
/// `keep` names the fields carried over from the running detector (settings, allow-lists, which a
/// snapshot does not hold), `after` re-seeds tables and re-configures suppression.
macro_rules! persist {
    (keep: [$($keep:ident),*], after: |$this:ident, $hasher:ident| $after:block) => {
        fn save(&self) -> Result<serde_json::Value, String> {
            serde_json::to_value(self).map_err(|error| error.to_string())
        }

        fn load(
            &mut self,
            state: serde_json::Value,
            $hasher: &ahash::RandomState,
        ) -> Result<(), String> {
            let loaded: Self = serde_json::from_value(state).map_err(|error| error.to_string())?;
            *self = Self { $($keep: self.$keep.clone(),)* ..loaded };
            let $this = self;
            $after
            Ok(())
        }
    };
}
pub(crate) use persist;

/// Declares the `Config` of a detector tuned only by its suppression window: `enabled`,
/// `severity` and `window` (with its default and documentation).
macro_rules! window_config {
    ($detector:literal, $window:expr, $window_doc:literal) => {
        #[doc = concat!("Settings of `", $detector, "`.")]
        #[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct Config {
            /// Run this detector.
            pub enabled: bool,
            /// Report findings at this severity instead of the detector's own.
            pub severity: Option<crate::finding::Severity>,
            #[doc = $window_doc]
            pub window: crate::config::Duration,
        }

        impl Default for Config {
            fn default() -> Self {
                Config {
                    enabled: true,
                    severity: None,
                    window: crate::config::Duration($window),
                }
            }
        }

        impl Config {
            /// Checks the settings (nothing can be wrong beyond types).
            pub fn validate(&self, _path: &str) -> Result<(), crate::Error> {
                Ok(())
            }
        }
    };
}
pub(crate) use window_config;

/// Settings of every detector, keyed by detector id.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `password-spray`.
    #[serde(rename = "password-spray")]
    pub password_spray: password_spray::Config,
    /// `distributed-password-spray`.
    #[serde(rename = "distributed-password-spray")]
    pub distributed_password_spray: distributed_password_spray::Config,
    /// `low-and-slow-spray`.
    #[serde(rename = "low-and-slow-spray")]
    pub low_and_slow_spray: low_and_slow_spray::Config,
    /// `identity-protection-risk`.
    #[serde(rename = "identity-protection-risk")]
    pub identity_protection_risk: identity_protection_risk::Config,
    /// `spray-then-success`.
    #[serde(rename = "spray-then-success")]
    pub spray_then_success: spray_then_success::Config,
    /// `single-factor-legacy-signin`.
    #[serde(rename = "single-factor-legacy-signin")]
    pub single_factor_legacy_signin: single_factor_legacy_signin::Config,
    /// `oauth-app-created`.
    #[serde(rename = "oauth-app-created")]
    pub oauth_app_created: oauth_app_created::Config,
    /// `oauth-credential-added`.
    #[serde(rename = "oauth-credential-added")]
    pub oauth_credential_added: oauth_credential_added::Config,
    /// `oauth-owner-added`.
    #[serde(rename = "oauth-owner-added")]
    pub oauth_owner_added: oauth_owner_added::Config,
    /// `oauth-consent-grant`.
    #[serde(rename = "oauth-consent-grant")]
    pub oauth_consent_grant: oauth_consent_grant::Config,
    /// `oauth-high-privilege-grant`.
    #[serde(rename = "oauth-high-privilege-grant")]
    pub oauth_high_privilege_grant: oauth_high_privilege_grant::Config,
    /// `app-privileged-directory-role`.
    #[serde(rename = "app-privileged-directory-role")]
    pub app_privileged_directory_role: app_privileged_directory_role::Config,
    /// `exchange-impersonation-role`.
    #[serde(rename = "exchange-impersonation-role")]
    pub exchange_impersonation_role: exchange_impersonation_role::Config,
    /// `multitenant-app`.
    #[serde(rename = "multitenant-app")]
    pub multitenant_app: multitenant_app::Config,
    /// `mailbox-access-by-app`.
    #[serde(rename = "mailbox-access-by-app")]
    pub mailbox_access_by_app: mailbox_access_by_app::Config,
    /// `multi-mailbox-access`.
    #[serde(rename = "multi-mailbox-access")]
    pub multi_mailbox_access: multi_mailbox_access::Config,
    /// `mail-access-throttled`.
    #[serde(rename = "mail-access-throttled")]
    pub mail_access_throttled: mail_access_throttled::Config,
    /// `attack-chain`.
    #[serde(rename = "attack-chain")]
    pub attack_chain: attack_chain::Config,
}

impl Settings {
    /// Checks every detector's settings; errors name the field.
    pub fn validate(&self) -> Result<(), Error> {
        self.password_spray.validate("detectors.password-spray")?;
        self.distributed_password_spray
            .validate("detectors.distributed-password-spray")?;
        self.low_and_slow_spray
            .validate("detectors.low-and-slow-spray")?;
        self.identity_protection_risk
            .validate("detectors.identity-protection-risk")?;
        self.spray_then_success
            .validate("detectors.spray-then-success")?;
        self.single_factor_legacy_signin
            .validate("detectors.single-factor-legacy-signin")?;
        self.oauth_app_created
            .validate("detectors.oauth-app-created")?;
        self.oauth_credential_added
            .validate("detectors.oauth-credential-added")?;
        self.oauth_owner_added
            .validate("detectors.oauth-owner-added")?;
        self.oauth_consent_grant
            .validate("detectors.oauth-consent-grant")?;
        self.oauth_high_privilege_grant
            .validate("detectors.oauth-high-privilege-grant")?;
        self.app_privileged_directory_role
            .validate("detectors.app-privileged-directory-role")?;
        self.exchange_impersonation_role
            .validate("detectors.exchange-impersonation-role")?;
        self.multitenant_app.validate("detectors.multitenant-app")?;
        self.mailbox_access_by_app
            .validate("detectors.mailbox-access-by-app")?;
        self.multi_mailbox_access
            .validate("detectors.multi-mailbox-access")?;
        self.mail_access_throttled
            .validate("detectors.mail-access-throttled")
    }
}

/// The id of the engine's own finding when a cap forces it to drop live state.
pub const STATE_PRESSURE: &str = "state-pressure";

/// Every detector id, in registry order, and the engine's own `state-pressure`.
pub const IDS: [&str; 19] = [
    password_spray::ID,
    distributed_password_spray::ID,
    low_and_slow_spray::ID,
    identity_protection_risk::ID,
    spray_then_success::ID,
    single_factor_legacy_signin::ID,
    oauth_app_created::ID,
    oauth_credential_added::ID,
    oauth_owner_added::ID,
    oauth_consent_grant::ID,
    oauth_high_privilege_grant::ID,
    app_privileged_directory_role::ID,
    exchange_impersonation_role::ID,
    multitenant_app::ID,
    mailbox_access_by_app::ID,
    multi_mailbox_access::ID,
    mail_access_throttled::ID,
    attack_chain::ID,
    STATE_PRESSURE,
];

/// A detector in the registry with its severity override.
pub struct Registered {
    /// The detector.
    pub detector: Box<dyn Detector>,
    /// Report its findings at this severity instead of its own.
    pub severity: Option<Severity>,
}

/// Builds the enabled detectors: the one registry, in order (stage 1 sign-ins, stage 2 the
/// OAuth foothold, stage 3 mail, then the chain that links them).
pub fn build(
    settings: &Settings,
    allowlist: &Arc<Allowlist>,
    hasher: &RandomState,
) -> Vec<Registered> {
    let s = settings;
    let list = || Arc::clone(allowlist);
    let mut registry = Vec::new();
    let mut add =
        |enabled: bool, severity: Option<Severity>, make: &dyn Fn() -> Box<dyn Detector>| {
            if enabled {
                registry.push(Registered {
                    detector: make(),
                    severity,
                });
            }
        };
    add(s.password_spray.enabled, s.password_spray.severity, &|| {
        Box::new(password_spray::PasswordSpray::new(
            s.password_spray.clone(),
            list(),
            hasher,
        ))
    });
    add(
        s.distributed_password_spray.enabled,
        s.distributed_password_spray.severity,
        &|| {
            Box::new(distributed_password_spray::DistributedPasswordSpray::new(
                s.distributed_password_spray.clone(),
                list(),
                hasher,
            ))
        },
    );
    add(
        s.low_and_slow_spray.enabled,
        s.low_and_slow_spray.severity,
        &|| {
            Box::new(low_and_slow_spray::LowAndSlowSpray::new(
                s.low_and_slow_spray.clone(),
                list(),
                hasher,
            ))
        },
    );
    add(
        s.identity_protection_risk.enabled,
        s.identity_protection_risk.severity,
        &|| {
            Box::new(identity_protection_risk::IdentityProtectionRisk::new(
                s.identity_protection_risk.clone(),
            ))
        },
    );
    add(
        s.spray_then_success.enabled,
        s.spray_then_success.severity,
        &|| {
            Box::new(spray_then_success::SprayThenSuccess::new(
                s.spray_then_success.clone(),
                list(),
                hasher,
            ))
        },
    );
    add(
        s.single_factor_legacy_signin.enabled,
        s.single_factor_legacy_signin.severity,
        &|| {
            Box::new(single_factor_legacy_signin::SingleFactorLegacySignin::new(
                s.single_factor_legacy_signin.clone(),
                list(),
                hasher,
            ))
        },
    );
    add(
        s.oauth_app_created.enabled,
        s.oauth_app_created.severity,
        &|| {
            Box::new(oauth_app_created::OauthAppCreated::new(
                s.oauth_app_created.clone(),
                list(),
            ))
        },
    );
    add(
        s.oauth_credential_added.enabled,
        s.oauth_credential_added.severity,
        &|| {
            Box::new(oauth_credential_added::OauthCredentialAdded::new(
                s.oauth_credential_added.clone(),
                list(),
                hasher,
            ))
        },
    );
    add(
        s.oauth_owner_added.enabled,
        s.oauth_owner_added.severity,
        &|| {
            Box::new(oauth_owner_added::OauthOwnerAdded::new(
                s.oauth_owner_added.clone(),
                list(),
            ))
        },
    );
    add(
        s.oauth_consent_grant.enabled,
        s.oauth_consent_grant.severity,
        &|| {
            Box::new(oauth_consent_grant::OauthConsentGrant::new(
                s.oauth_consent_grant.clone(),
                list(),
            ))
        },
    );
    add(
        s.oauth_high_privilege_grant.enabled,
        s.oauth_high_privilege_grant.severity,
        &|| {
            Box::new(oauth_high_privilege_grant::OauthHighPrivilegeGrant::new(
                s.oauth_high_privilege_grant.clone(),
                list(),
            ))
        },
    );
    add(
        s.app_privileged_directory_role.enabled,
        s.app_privileged_directory_role.severity,
        &|| {
            Box::new(
                app_privileged_directory_role::AppPrivilegedDirectoryRole::new(
                    s.app_privileged_directory_role.clone(),
                    list(),
                ),
            )
        },
    );
    add(
        s.exchange_impersonation_role.enabled,
        s.exchange_impersonation_role.severity,
        &|| {
            Box::new(exchange_impersonation_role::ExchangeImpersonationRole::new(
                s.exchange_impersonation_role.clone(),
                list(),
            ))
        },
    );
    add(
        s.multitenant_app.enabled,
        s.multitenant_app.severity,
        &|| {
            Box::new(multitenant_app::MultitenantApp::new(
                s.multitenant_app.clone(),
                list(),
            ))
        },
    );
    add(
        s.mailbox_access_by_app.enabled,
        s.mailbox_access_by_app.severity,
        &|| {
            Box::new(mailbox_access_by_app::MailboxAccessByApp::new(
                s.mailbox_access_by_app.clone(),
                list(),
                hasher,
            ))
        },
    );
    add(
        s.multi_mailbox_access.enabled,
        s.multi_mailbox_access.severity,
        &|| {
            Box::new(multi_mailbox_access::MultiMailboxAccess::new(
                s.multi_mailbox_access.clone(),
                list(),
                hasher,
            ))
        },
    );
    add(
        s.mail_access_throttled.enabled,
        s.mail_access_throttled.severity,
        &|| {
            Box::new(mail_access_throttled::MailAccessThrottled::new(
                s.mail_access_throttled.clone(),
                list(),
            ))
        },
    );
    add(s.attack_chain.enabled, s.attack_chain.severity, &|| {
        Box::new(attack_chain::AttackChain::new(
            s.attack_chain.clone(),
            hasher,
        ))
    });
    registry
}

/// Keeps at most `cap` items in a list that records what a finding covers, counting the rest.
pub fn push_capped<T: PartialEq>(list: &mut Vec<T>, item: T, cap: usize) -> bool {
    if list.len() >= cap || list.contains(&item) {
        return false;
    }
    list.push(item);
    true
}
