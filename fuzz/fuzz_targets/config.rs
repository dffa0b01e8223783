//! Any text as configuration: a valid config or an `InvalidConfig` that names a field; never a
//! panic. Restoring any bytes as a snapshot is refused or accepted, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match snowyowl::Config::from_json(text) {
            Ok(config) => {
                let _ = snowyowl::Engine::new(config, 1);
            }
            Err(error) => assert!(!error.to_string().is_empty()),
        }
    }
    if let Ok(config) = snowyowl::Config::from_json("") {
        let _ = snowyowl::Engine::restore(config, data, 1);
    }
});
