//! Any text through the record scanner, the parse's fast path: what it reads must be exactly what
//! serde_json reads (anything else it leaves to serde_json), and it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        snowyowl::normalize::scanner_agrees_with_serde(text);
    }
});
