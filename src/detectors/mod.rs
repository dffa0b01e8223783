//! The detectors and their one registry.
//!
//! A detector is a small state machine over typed events: `on_event` decides whether an event
//! matters, which key it belongs to and what it adds; `on_watermark` closes what event time has
//! moved past. Detectors tell each other what they learned through [`Signal`]s (a spray detector
//! names its targets; `spray-then-success` listens), never by reaching into each other's state.
//!
//! The registry ([`build`]) is the one ordered list of detectors; its order is the order in which
//! each event is offered, and so part of the output's deterministic order.

pub mod password_spray;
pub mod spray_then_success;

use ahash::RandomState;
use serde::Deserialize;

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
        /// The spraying IP, if known.
        ip: Option<String>,
        /// The time the user was sprayed.
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
    signals: Vec<Signal>,
}

impl Context {
    /// A context at `watermark`.
    pub fn new(watermark: Timestamp) -> Self {
        Context {
            watermark,
            findings: Vec::new(),
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
        std::mem::take(&mut self.findings)
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
}

/// One detector.
pub trait Detector {
    /// The detector id (`password-spray`).
    fn id(&self) -> &'static str;
    /// Offers an event, in event-time order.
    fn on_event(&mut self, event: &Event, context: &mut Context);
    /// Offers a signal raised by a detector while handling the current event.
    fn on_signal(&mut self, _signal: &Signal, _context: &mut Context) {}
    /// Event time has moved to `context.watermark`: close what lies before it.
    fn on_watermark(&mut self, _context: &mut Context) {}
    /// Closes everything still open (end of input).
    fn flush(&mut self, context: &mut Context);
    /// State held.
    fn state(&self) -> StateStats;
}

/// Settings of every detector, keyed by detector id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `password-spray`.
    #[serde(rename = "password-spray")]
    pub password_spray: password_spray::Config,
    /// `spray-then-success`.
    #[serde(rename = "spray-then-success")]
    pub spray_then_success: spray_then_success::Config,
}

impl Settings {
    /// Checks every detector's settings; errors name the field.
    pub fn validate(&self) -> Result<(), Error> {
        self.password_spray.validate("detectors.password-spray")?;
        self.spray_then_success
            .validate("detectors.spray-then-success")?;
        Ok(())
    }
}

/// Every detector id, in registry order.
pub const IDS: [&str; 2] = [password_spray::ID, spray_then_success::ID];

/// A detector in the registry with its severity override.
pub struct Registered {
    /// The detector.
    pub detector: Box<dyn Detector>,
    /// Report its findings at this severity instead of its own.
    pub severity: Option<Severity>,
}

/// Builds the enabled detectors, in registry order.
pub fn build(settings: &Settings, hasher: &RandomState) -> Vec<Registered> {
    let mut registry = Vec::new();
    let mut add = |enabled: bool, severity: Option<Severity>, detector: Box<dyn Detector>| {
        if enabled {
            registry.push(Registered { detector, severity });
        }
    };
    let spray = &settings.password_spray;
    add(
        spray.enabled,
        spray.severity,
        Box::new(password_spray::PasswordSpray::new(spray.clone(), hasher)),
    );
    let success = &settings.spray_then_success;
    add(
        success.enabled,
        success.severity,
        Box::new(spray_then_success::SprayThenSuccess::new(
            success.clone(),
            hasher,
        )),
    );
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
