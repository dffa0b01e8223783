//! # snowyowl
//!
//! Finds the Midnight Blizzard (APT29) intrusion chain in Entra ID and Microsoft 365 logs as they
//! stream past: password spraying, the account it breaks into, and what follows.
//!
//! The library is the pure detection core: bytes of log records in, OCSF Detection Findings out.
//! It reads no file, clock or random source; hosts pass events, time (watermarks) and a hash seed.
//! The same core runs natively, as a WebAssembly component (feature `component`), and in every
//! host of `host-examples/`.
//!
//! The hash seed is an argument of [`Engine::new`] and [`Engine::restore`]: a host draws it from a
//! random source for every engine (a fixed one, as below, only reproduces a run).
//!
//! ```
//! let mut engine = snowyowl::Engine::from_json("{}", 7).unwrap();
//! let mut batch = String::new();
//! for (n, user) in ["ann", "bob", "cat", "dan", "eve", "fay"].iter().enumerate() {
//!     batch.push_str(&format!(
//!         r#"{{"id":"s{n}","createdDateTime":"2024-01-15T10:0{n}:00Z","userPrincipalName":"{user}@contoso.com","ipAddress":"203.0.113.9","status":{{"errorCode":50126}}}}"#
//!     ));
//!     batch.push('\n');
//! }
//! let mut findings = engine.push(batch.as_bytes()).findings;
//! findings.extend(engine.flush());
//! assert_eq!(findings[0].detector, "password-spray");
//! assert!(findings[0].to_json().contains(r#""class_uid":2004"#));
//! ```

pub mod allowlist;
pub mod attack;
pub mod config;
pub mod detectors;
pub mod engine;
pub mod error;
pub mod event;
pub mod finding;
pub mod input;
mod lane;
pub mod normalize;
mod packed;
pub mod reference;
pub mod render;
pub mod state;
pub mod time;

#[cfg(feature = "component")]
mod component;
#[cfg(feature = "fluent-bit")]
pub mod fluent_bit;

pub use config::Config;
pub use engine::{prepare, Engine, Prepared, Pushed, Rejected, Stats, TenantStats, NO_TENANT};
pub use error::Error;
pub use finding::{Finding, Severity};
