//! All integration tests of the core, in one test binary.

// Test code: a failed unwrap is a failed test.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod bounds;
mod catalog;
mod chain;
mod counts;
mod dress;
mod engine;
mod exports;
mod golden;
mod golden_data;
mod helpers;
mod hostile;
mod issue24;
mod issue25;
mod issue26;
mod issue26_log;
mod issue27;
mod issue28_idle;
mod properties;
mod real;
mod samples;
mod snapshot;
mod sprays;
mod traps;
