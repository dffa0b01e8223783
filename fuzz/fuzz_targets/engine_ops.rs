//! Sequences of push, advance, snapshot/restore and flush. Never a panic, and a snapshot taken at
//! any point restores into an engine that continues with the same findings as the original.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use snowyowl::{Config, Engine};

#[derive(Arbitrary, Debug)]
enum Op {
    Push(Vec<u8>),
    Advance(i64),
    Snapshot,
    Flush,
}

fuzz_target!(|ops: Vec<Op>| {
    let Ok(config) = Config::from_json("") else { return };
    let Ok(mut engine) = Engine::new(config.clone(), 2) else { return };
    for op in ops.iter().take(64) {
        match op {
            Op::Push(bytes) => {
                let _ = engine.push(bytes);
            }
            Op::Advance(watermark) => {
                let _ = engine.advance(*watermark);
            }
            Op::Snapshot => {
                let snapshot = engine
                    .snapshot()
                    .unwrap_or_else(|error| panic!("snapshot failed: {error}"));
                // Under another seed: the tables are rebuilt, the findings must not change.
                let mut restored = Engine::restore(config.clone(), &snapshot, 3)
                    .unwrap_or_else(|error| panic!("own snapshot refused: {error}"));
                let a: Vec<String> = engine.flush().iter().map(|f| f.to_json()).collect();
                let b: Vec<String> = restored.flush().iter().map(|f| f.to_json()).collect();
                assert_eq!(a, b, "a restored engine diverged");
                engine = restored;
            }
            Op::Flush => {
                let _ = engine.flush();
            }
        }
    }
});
