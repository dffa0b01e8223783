//! Any bytes pushed into an engine: framed, normalized, detected; never a panic. Every record is
//! answered (accepted, ignored or rejected), and the flush after it never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut engine) = snowyowl::Engine::from_json("", 1) else { return };
    let pushed = engine.push(data);
    for rejected in &pushed.rejected {
        assert!(!rejected.reason.is_empty());
    }
    let _ = engine.flush();
    let _ = engine.stats_json();
});
