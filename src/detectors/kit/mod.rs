//! The detector kit: what every detector is built from.
//!
//! - [`Detector`], the trait the engine drives, with the [`Context`] it hands over and the
//!   [`Signal`]s detectors tell each other;
//! - [`Meta`], what a detector declares about itself once (id, stage of the chain, ATT&CK,
//!   default severity), and [`config!`], its settings with `enabled` and `severity`;
//! - [`Rule`] and [`Keyed`]: a detector that reports matching events under a key is a small rule
//!   (does it match, its key, the finding, how a repeat merges) run by a generic wrapper;
//! - the bounded machinery detectors share: [`Suppression`] (one open finding per key),
//!   [`unresolved_failures`], [`familiar_places`], [`routine`] (what a key did on earlier days),
//!   [`administrators`] (who the tenant's known administrators are, which the lane tells each
//!   event's detectors), and [`persist!`] for snapshots.
//!
//! Every table a detector keeps is capped; what a cap drops while still live is counted as
//! evicted, which `stats` reports and the engine's `state-pressure` finding raises.

pub mod administrators;
pub mod familiar_places;
pub mod routine;
mod suppression;
pub mod unresolved_failures;

pub use suppression::{idle_longest, Suppression};

use std::sync::Arc;

use ahash::RandomState;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::allowlist::Allowlist;
use crate::attack::Technique;
use crate::event::{Actor, Event};
use crate::finding::{stable_uid, Finding, ObservableKind, Severity};
use crate::time::Timestamp;
use crate::Error;

/// The stages of the intrusion, in order: where a detector's findings sit in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// Password spraying.
    Spray,
    /// An account broken into.
    Compromise,
    /// An OAuth application created, credentialed, owned, consented or opened to other tenants.
    Foothold,
    /// High privileges granted to an application or identity.
    Privilege,
    /// Mail read.
    Collection,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 5] = [
        Stage::Spray,
        Stage::Compromise,
        Stage::Foothold,
        Stage::Privilege,
        Stage::Collection,
    ];

    /// The stage's name in incidents.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Spray => "spray",
            Stage::Compromise => "compromised-account",
            Stage::Foothold => "oauth-foothold",
            Stage::Privilege => "privilege",
            Stage::Collection => "mail-collection",
        }
    }

    /// The stage's bit in a set of stages.
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// How much the stage weighs in an incident's score.
    pub fn weight(self) -> u32 {
        match self {
            Stage::Spray => 10,
            Stage::Compromise => 25,
            Stage::Foothold => 20,
            Stage::Privilege => 25,
            Stage::Collection => 20,
        }
    }
}

/// What a detector declares about itself, once.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// The detector id (`password-spray`): its findings' analytic, its settings' key.
    pub id: &'static str,
    /// Where its findings sit in the intrusion chain (none: the chain does not link them).
    pub stage: Option<Stage>,
    /// The ATT&CK techniques its findings carry.
    pub attack: &'static [Technique],
    /// The severity of its findings unless the rule grades them otherwise.
    pub severity: Severity,
}

impl Meta {
    /// A new finding of this detector, at its default severity.
    pub fn finding(&self, uid: String, time: Timestamp, title: String) -> Finding {
        Finding::new(self.id, uid, self.severity, time, title, self.attack)
    }
}

/// The settings every detector has (`enabled`, `severity`) and its own checks; [`config!`]
/// writes it.
pub trait Settings: Default + Clone + Serialize + DeserializeOwned {
    /// Run this detector.
    fn enabled(&self) -> bool;
    /// Report its findings at this severity instead of its own.
    fn severity(&self) -> Option<Severity>;
    /// Checks what types cannot (a range, a relation between two fields); errors name the
    /// field under `path`.
    fn validate(&self, path: &str) -> Result<(), Error>;
}

/// Declares a detector's `Config`: `enabled`, `severity`, then its own fields with their
/// defaults, and optionally checks that types cannot express:
///
/// ```ignore
/// kit::config! {
///     "oauth-app-created";
///     /// More apps than this by one actor within the window is a burst (default 3).
///     burst: Count = Count::new(3),
///     /// The window (default `10m`).
///     window: Duration = Duration(10 * MINUTE),
/// }
/// ```
///
/// A count or cap is a [`crate::config::Count`] (never 0), a span a [`crate::config::Duration`]
/// (never 0 or negative), so most settings need no check at all.
macro_rules! config {
    (
        $id:literal;
        $( $(#[$doc:meta])* $field:ident : $type:ty = $default:expr ),* $(,)?
        $(; check |$config:ident, $path:ident| $check:block)?
    ) => {
        #[doc = concat!("Settings of `", $id, "`.")]
        #[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct Config {
            /// Run this detector.
            pub enabled: bool,
            /// Report findings at this severity instead of the detector's own.
            pub severity: Option<crate::finding::Severity>,
            $( $(#[$doc])* pub $field: $type, )*
        }

        impl Default for Config {
            fn default() -> Self {
                Config {
                    enabled: true,
                    severity: None,
                    $( $field: $default, )*
                }
            }
        }

        impl $crate::detectors::kit::Settings for Config {
            fn enabled(&self) -> bool {
                self.enabled
            }

            fn severity(&self) -> Option<crate::finding::Severity> {
                self.severity
            }

            #[allow(unused_variables)]
            fn validate(&self, path: &str) -> Result<(), crate::Error> {
                $( let ($config, $path) = (self, path); $check )?
                Ok(())
            }
        }
    };
}
pub(crate) use config;

/// What every detector is built with, besides its settings.
pub struct Parts<'a> {
    /// The allow-lists shared by every detector.
    pub allowlist: &'a Arc<Allowlist>,
    /// The engine's seeded hasher, for tables keyed by attacker-chosen strings.
    pub hasher: &'a RandomState,
    /// The most findings one detector keeps open at once (`limits.max_open_findings`).
    pub max_open: usize,
}

/// A detector as the registry knows it: its metadata, its settings, how to build it.
pub trait Registrable: Detector + Sized + 'static {
    /// What the detector declares about itself.
    const META: Meta;
    /// Its settings.
    type Config: Settings;
    /// A detector with these settings.
    fn build(config: Self::Config, parts: &Parts) -> Self;
}

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
    /// The tenant whose events these are (`None`: events that name none).
    tenant: Option<Arc<str>>,
    /// The current event's actor is a known administrator: its earlier days of administrative
    /// changes (see [`administrators`]).
    administrator: Option<u32>,
    findings: Vec<Finding>,
    offered: usize,
    signals: Vec<Signal>,
}

impl Context {
    /// A context at `watermark`, for `tenant`'s events.
    pub fn new(watermark: Timestamp, tenant: Option<Arc<str>>) -> Self {
        Context {
            watermark,
            tenant,
            administrator: None,
            findings: Vec::new(),
            offered: 0,
            signals: Vec::new(),
        }
    }

    /// A finding's stable uid from what identifies it within the tenant (detector, key, first
    /// time): the tenant is mixed in, so two tenants' findings never share a uid (the same proxy
    /// spraying two customers at once makes two findings).
    pub fn uid(&self, parts: &[&str]) -> String {
        match &self.tenant {
            None => stable_uid(parts),
            Some(tenant) => {
                let mut all = Vec::with_capacity(parts.len() + 1);
                all.push(&**tenant);
                all.extend_from_slice(parts);
                stable_uid(&all)
            }
        }
    }

    /// Whether the current event's actor is a known administrator: on how many earlier days it
    /// made administrative changes (see [`administrators`]); `None` for anyone else, and for
    /// events that are no administrative change.
    pub fn administrator(&self) -> Option<u32> {
        self.administrator
    }

    /// Sets what [`Context::administrator`] says, for the event about to be offered.
    pub(crate) fn set_administrator(&mut self, days: Option<u32>) {
        self.administrator = days;
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

impl StateStats {
    /// These figures with an open-findings table's added in (its keys and the closed findings it
    /// keeps for late occurrences, evictions, findings).
    pub fn with_open<S>(mut self, open: &Suppression<S>) -> StateStats {
        self.entries += open.len() + open.closed_len();
        self.evicted += open.evicted();
        self.open_findings += open.len();
        self
    }
}

/// One detector.
pub trait Detector {
    /// The detector id (`password-spray`).
    fn id(&self) -> &'static str;
    /// Offers an event, in event-time order.
    fn on_event(&mut self, event: &Event, context: &mut Context);
    /// Offers a signal raised by a detector while handling the current event.
    fn on_signal(&mut self, _signal: &Signal, _context: &mut Context) {}
    /// Offers a finding another detector emitted (only to a detector that [reads
    /// findings](Detector::reads_findings): the chain).
    fn on_finding(&mut self, _finding: &Finding, _context: &mut Context) {}
    /// A detector of findings is offered every other detector's findings, and closes after
    /// every other detector's closing findings reached it.
    fn reads_findings(&self) -> bool {
        false
    }
    /// Event time has moved to `context.watermark`: close what lies before it.
    fn on_watermark(&mut self, context: &mut Context);
    /// Closes everything still open (end of input).
    fn flush(&mut self, context: &mut Context);
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

/// A detector that reports matching events under a key, one finding per key while the activity
/// goes on: the rule says what matches and what it adds; [`Keyed`] does the rest (settings,
/// suppression, severity, state figures, snapshots). The rule's own fields are its state (most
/// rules have none); they are saved in snapshots.
pub trait Rule: Serialize + DeserializeOwned + 'static {
    /// What the detector declares about itself.
    const META: Meta;
    /// Its settings.
    type Config: Settings;
    /// What it keeps of each open finding besides the finding (a count, the distinct values
    /// seen; `()` for nothing): typed, never read back from the finding's output.
    type Open: Default + Clone + std::fmt::Debug + Serialize + DeserializeOwned + 'static;
    /// The rule's state, for these settings.
    fn new(config: &Self::Config, parts: &Parts) -> Self;
    /// How long a finding stays open after its last occurrence.
    fn window(config: &Self::Config) -> Timestamp;
    /// Offers an event; matches go to `report`.
    fn on_event(&mut self, config: &Self::Config, event: &Event, report: &mut Report<Self::Open>);
    /// Offers a signal another detector raised.
    fn on_signal(&mut self, _config: &Self::Config, _signal: &Signal, _watermark: Timestamp) {}
    /// The rule's own state figures (its tables; the open findings are counted by [`Keyed`]).
    fn state(&self) -> StateStats {
        StateStats::default()
    }
    /// Re-seeds the rule's tables after a restore.
    fn reseed(&mut self, _hasher: &RandomState) {}
}

/// Declares a rule without state of its own, whose findings stay open for its `window`
/// setting, and the detector that runs it: its metadata, then what it does with an event.
///
/// ```ignore
/// kit::rule! {
///     /// The rule of `oauth-owner-added`.
///     OwnerAdded as OauthOwnerAdded,
///     Meta { id: "oauth-owner-added", stage: Some(Stage::Foothold),
///            attack: &[ACCOUNT_MANIPULATION], severity: Severity::Medium },
///     |_config, event, report| if let Event::DirectoryAudit(audit) = event { on_audit(audit, report) }
/// }
/// ```
macro_rules! rule {
    (
        $(#[$doc:meta])* $rule:ident as $detector:ident $(keeping $open:ty)?,
        $meta:expr,
        |$config:pat_param, $event:ident, $report:ident| $body:expr
    ) => {
        $(#[$doc])*
        #[derive(Debug, serde::Serialize)]
        pub struct $rule;

        // A rule without state reads whatever a snapshot holds for it: a version of the rule that
        // kept state (mfa-tampering's days, before the known administrators) still restores.
        impl<'de> serde::Deserialize<'de> for $rule {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                serde::de::IgnoredAny::deserialize(deserializer).map(|_| $rule)
            }
        }

        #[doc = concat!("The detector that runs [`", stringify!($rule), "`].")]
        pub type $detector = $crate::detectors::kit::Keyed<$rule>;

        impl $crate::detectors::kit::Rule for $rule {
            const META: $crate::detectors::kit::Meta = $meta;
            type Config = Config;
            #[allow(unused_parens)]
            type Open = ($($open)?);

            fn new(_: &Config, _: &$crate::detectors::kit::Parts) -> Self {
                $rule
            }

            fn window(config: &Config) -> $crate::time::Timestamp {
                config.window.0
            }

            fn on_event(
                &mut self,
                $config: &Config,
                $event: &$crate::event::Event,
                $report: &mut $crate::detectors::kit::Report<Self::Open>,
            ) {
                $body
            }
        }
    };
}
pub(crate) use rule;

/// Where a [`Rule`] reports what it matched.
pub struct Report<'a, S = ()> {
    open: &'a mut Suppression<S>,
    context: &'a mut Context,
    kept_back: &'a mut u64,
    /// The allow-lists shared by every detector.
    pub allowlist: &'a Allowlist,
}

impl<S: Default> Report<'_, S> {
    /// Counts an occurrence kept back at informational instead of reported (in `stats`, as
    /// `informational`), as the rule's settings ask.
    pub fn keep_back(&mut self) {
        *self.kept_back += 1;
    }

    /// Reports an occurrence of `key` at `time`: `create` builds a new finding (given its uid),
    /// `update` adds this occurrence to an open one (see [`Suppression::report`]).
    pub fn report(
        &mut self,
        key: &str,
        time: Timestamp,
        create: impl FnOnce(String) -> Finding,
        update: impl FnOnce(&mut Finding),
    ) {
        self.open.report(key, time, self.context, create, update);
    }

    /// [`Report::report`] with the finding's typed state (see [`Suppression::report_with`]).
    pub fn report_with(
        &mut self,
        key: &str,
        time: Timestamp,
        create: impl FnOnce(String, &mut S) -> Finding,
        update: impl FnOnce(&mut Finding, &mut S),
    ) {
        self.open
            .report_with(key, time, self.context, create, update);
    }

    /// The open finding of `key`, if any.
    pub fn open(&self, key: &str) -> Option<&Finding> {
        self.open.get(key)
    }

    /// Tells the other detectors something.
    pub fn signal(&mut self, signal: Signal) {
        self.context.signal(signal);
    }

    /// The watermark.
    pub fn watermark(&self) -> Timestamp {
        self.context.watermark
    }

    /// Whether the event's actor is a known administrator (see [`Context::administrator`]).
    pub fn administrator(&self) -> Option<u32> {
        self.context.administrator()
    }
}

/// A [`Rule`] run as a detector.
#[derive(Debug)]
pub struct Keyed<R: Rule> {
    config: R::Config,
    allowlist: Arc<Allowlist>,
    open: Suppression<R::Open>,
    rule: R,
    /// Occurrences kept back at informational ([`Report::keep_back`]).
    kept_back: u64,
}

/// A [`Keyed`] detector's state in a snapshot: the open findings, the rule's own, and how many
/// occurrences it kept back (absent in older snapshots).
#[derive(Serialize, Deserialize)]
struct SavedKeyed<O, R> {
    open: O,
    rule: R,
    #[serde(default)]
    kept_back: u64,
}

impl<R: Rule> Registrable for Keyed<R> {
    const META: Meta = R::META;
    type Config = R::Config;

    fn build(config: R::Config, parts: &Parts) -> Self {
        Keyed {
            open: Suppression::new(R::META.id, R::window(&config), parts.max_open),
            rule: R::new(&config, parts),
            allowlist: Arc::clone(parts.allowlist),
            config,
            kept_back: 0,
        }
    }
}

impl<R: Rule> Detector for Keyed<R> {
    fn id(&self) -> &'static str {
        R::META.id
    }

    fn on_event(&mut self, event: &Event, context: &mut Context) {
        let mut report = Report {
            open: &mut self.open,
            context,
            kept_back: &mut self.kept_back,
            allowlist: &self.allowlist,
        };
        self.rule.on_event(&self.config, event, &mut report);
    }

    fn on_signal(&mut self, signal: &Signal, context: &mut Context) {
        self.rule.on_signal(&self.config, signal, context.watermark);
    }

    fn on_watermark(&mut self, context: &mut Context) {
        self.open.sweep(context);
    }

    fn flush(&mut self, context: &mut Context) {
        self.open.flush(context);
    }

    fn state(&self) -> StateStats {
        let mut stats = self.rule.state().with_open(&self.open);
        stats.informational += self.kept_back;
        stats
    }

    fn save(&self) -> Result<serde_json::Value, String> {
        let saved = SavedKeyed {
            open: &self.open,
            rule: &self.rule,
            kept_back: self.kept_back,
        };
        serde_json::to_value(saved).map_err(|error| error.to_string())
    }

    fn load(&mut self, state: serde_json::Value, hasher: &RandomState) -> Result<(), String> {
        let saved: SavedKeyed<Suppression<R::Open>, R> =
            serde_json::from_value(state).map_err(|error| error.to_string())?;
        let max_open = self.open.cap();
        self.open = saved.open;
        self.open
            .configure(R::META.id, R::window(&self.config), max_open);
        self.rule = saved.rule;
        self.rule.reseed(hasher);
        self.kept_back = saved.kept_back;
        Ok(())
    }
}

/// How many distinct values [`Distinct`] tells apart exactly; past it, its count is a lower bound.
pub const DISTINCT_EXACT: usize = 1024;

/// The distinct values a finding has seen (mailboxes, app names), counted exactly up to
/// [`DISTINCT_EXACT`] (by a fixed 64-bit hash of each, 8 bytes apiece), then as a lower bound:
/// the finding's own lists stop at 200 names, its counts do not.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Distinct {
    seen: std::collections::BTreeSet<u64>,
    /// Values arrived after the exact count was full.
    more: bool,
}

impl Distinct {
    /// Counts `value`; whether it was new (past the exact count: whether it is not known).
    pub fn add(&mut self, value: &str) -> bool {
        let hash = crate::state::fnv1a([value.as_bytes()], crate::state::FNV_OFFSET);
        if self.seen.contains(&hash) {
            return false;
        }
        if self.seen.len() < DISTINCT_EXACT {
            self.seen.insert(hash);
        } else {
            self.more = true;
        }
        true
    }

    /// Distinct values seen (a lower bound when not [`Distinct::exact`]).
    pub fn count(&self) -> usize {
        self.seen.len()
    }

    /// Whether [`Distinct::count`] is exact.
    pub fn exact(&self) -> bool {
        !self.more
    }

    /// The count as a finding says it: `12`, or `at least 1024`.
    pub fn said(&self) -> String {
        if self.exact() {
            self.count().to_string()
        } else {
            format!("at least {}", self.count())
        }
    }
}

/// Names the actor of a directory change as observables.
pub fn observe_actor(finding: &mut Finding, actor: &Actor) {
    if let Some(user) = &actor.user {
        finding.observe("actor.user.name", ObservableKind::UserName, user);
    }
    if let Some(app) = &actor.app_id {
        finding.observe("actor.app_uid", ObservableKind::ResourceUid, app);
    }
    if let Some(sp) = &actor.service_principal_id {
        finding.observe("actor.app_uid", ObservableKind::ResourceUid, sp);
    }
    if let Some(ip) = &actor.ip {
        finding.observe("src_endpoint.ip", ObservableKind::IpAddress, ip);
    }
}

/// Keeps at most `cap` items in a list that records what a finding covers, counting the rest.
pub fn push_capped<T: PartialEq>(list: &mut Vec<T>, item: T, cap: usize) -> bool {
    if list.len() >= cap || list.contains(&item) {
        return false;
    }
    list.push(item);
    true
}
