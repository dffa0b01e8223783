//! The WIT glue: exports [`crate::Engine`] as the `snowyowl:detect/engine` resource.
//!
//! Thin by design: it converts types and nothing else. Built only with the `component` feature,
//! for `wasm32-unknown-unknown`, then wrapped into the component by `tools/wasm` (the
//! `wit-component` crate, as `wasm-tools component new`).

#![allow(missing_docs, unsafe_code)]

use std::cell::RefCell;

use crate::finding::Severity;
use crate::normalize::RejectionKind;

wit_bindgen::generate!({
    world: "detector",
    path: "wit",
});

use exports::snowyowl::detect::engine as wit;

struct Component;

/// The exported resource: the engine behind a `RefCell`, since WIT methods take `&self`.
struct EngineResource(RefCell<crate::Engine>);

fn severity(severity: Severity) -> wit::Severity {
    match severity {
        Severity::Informational => wit::Severity::Informational,
        Severity::Low => wit::Severity::Low,
        Severity::Medium => wit::Severity::Medium,
        Severity::High => wit::Severity::High,
        Severity::Critical => wit::Severity::Critical,
    }
}

fn kind(kind: RejectionKind) -> wit::RejectionKind {
    match kind {
        RejectionKind::Malformed => wit::RejectionKind::Malformed,
        RejectionKind::NotAnObject => wit::RejectionKind::NotAnObject,
        RejectionKind::UnknownShape => wit::RejectionKind::UnknownShape,
        RejectionKind::InvalidField => wit::RejectionKind::InvalidField,
    }
}

fn findings(findings: Vec<crate::Finding>) -> Vec<wit::Finding> {
    findings
        .into_iter()
        .map(|finding| wit::Finding {
            detector: finding.detector.to_owned(),
            severity: severity(finding.severity),
            uid: finding.uid.clone(),
            time_ms: finding.time,
            json: finding.to_json(),
            tenant: finding.tenant.as_deref().map(str::to_owned),
        })
        .collect()
}

fn wit_error(error: crate::Error) -> wit::Error {
    match error {
        crate::Error::InvalidConfig(message) => wit::Error::InvalidConfig(message),
        crate::Error::InvalidSnapshot(message) => wit::Error::InvalidSnapshot(message),
    }
}

impl wit::Guest for Component {
    type Engine = EngineResource;
}

impl wit::GuestEngine for EngineResource {
    fn create(config_json: String, seed: u64) -> Result<wit::Engine, wit::Error> {
        match crate::Engine::from_json(&config_json, seed) {
            Ok(engine) => Ok(wit::Engine::new(EngineResource(RefCell::new(engine)))),
            Err(error) => Err(wit_error(error)),
        }
    }

    fn push(&self, events: Vec<u8>) -> wit::Pushed {
        let pushed = self.0.borrow_mut().push(&events);
        wit::Pushed {
            findings: findings(pushed.findings),
            rejected: pushed
                .rejected
                .into_iter()
                .map(|rejected| wit::Rejected {
                    line: rejected.line,
                    kind: kind(rejected.kind),
                    reason: rejected.reason,
                })
                .collect(),
            accepted: pushed.accepted,
            ignored: pushed.ignored,
        }
    }

    fn advance(&self, watermark_ms: i64) -> Vec<wit::Finding> {
        findings(self.0.borrow_mut().advance(watermark_ms))
    }

    fn advance_idle(&self, quiet_ms: u64) -> Vec<wit::Finding> {
        findings(self.0.borrow_mut().advance_idle(quiet_ms))
    }

    fn flush(&self) -> Vec<wit::Finding> {
        findings(self.0.borrow_mut().flush())
    }

    fn stats(&self) -> String {
        self.0.borrow().stats_json()
    }

    fn snapshot(&self) -> Result<Vec<u8>, wit::Error> {
        self.0.borrow().snapshot().map_err(wit_error)
    }

    fn restore(
        config_json: String,
        snapshot: Vec<u8>,
        seed: u64,
    ) -> Result<wit::Engine, wit::Error> {
        let engine = crate::Config::from_json(&config_json)
            .and_then(|config| crate::Engine::restore(config, &snapshot, seed));
        match engine {
            Ok(engine) => Ok(wit::Engine::new(EngineResource(RefCell::new(engine)))),
            Err(error) => Err(wit_error(error)),
        }
    }
}

export!(Component);
