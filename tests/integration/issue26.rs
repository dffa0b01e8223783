//! Issue 26, item 4, "the seed is required": the hash seed is an argument of `Engine::new` and
//! `Engine::restore`, not configuration. A configuration that still carries it is refused, naming
//! the field; and the seed changes nothing an engine reports, only where its tables put keys.

use snowyowl::{Config, Engine, Error, Finding};

const SCENARIO: &str = include_str!("../data/midnight-blizzard.ndjson");

/// Allow-lists too, so that their seeded sets are part of the comparison.
const CONFIG: &str = r#"{"allowlist": {"trusted_cidrs": ["10.0.0.0/8"],
    "app_ids": ["11111111-2222-3333-4444-555555555555"],
    "service_accounts": ["svc-backup@contoso.com"]}}"#;

/// Seeds as unlike one another as u64s get.
const SEEDS: [u64; 4] = [0, 1, 0x9e37_79b9_7f4a_7c15, u64::MAX];

/// What an engine reports on the scenario pushed in batches of `batch` lines.
#[derive(Debug, PartialEq)]
struct Run {
    /// Findings made while pushing.
    pushed: Vec<String>,
    /// The snapshot taken after the last push.
    snapshot: Vec<u8>,
    /// Findings the flush made.
    flushed: Vec<String>,
    /// The stats at the end.
    stats: String,
}

fn run(seed: u64, batch: usize) -> Run {
    let mut engine = Engine::from_json(CONFIG, seed).unwrap();
    let lines: Vec<&str> = SCENARIO.lines().collect();
    let mut pushed = Vec::new();
    for chunk in lines.chunks(batch) {
        let batch = engine.push(chunk.join("\n").as_bytes());
        assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
        pushed.extend(batch.findings.iter().map(Finding::to_json));
    }
    let snapshot = engine.snapshot().expect("a snapshot");
    let flushed = engine.flush().iter().map(Finding::to_json).collect();
    Run {
        pushed,
        snapshot,
        flushed,
        stats: engine.stats_json(),
    }
}

#[test]
fn a_config_with_a_seed_is_refused_naming_the_field() {
    for config in [r#"{"seed": 7}"#, r#"{"seed": 7, "allowed_lateness": "2m"}"#] {
        let error = Engine::from_json(config, 7).err();
        let Some(Error::InvalidConfig(message)) = error else {
            panic!("{config} accepted: {error:?}")
        };
        assert!(message.starts_with("seed: "), "{message}");
        assert!(message.contains("create/restore"), "{message}");
        assert!(message.contains("--seed"), "{message}");
        assert_eq!(
            Config::from_json(config).err(),
            Some(Error::InvalidConfig(message))
        );
    }
    assert!(!Config::default().to_json().contains("seed"));
}

#[test]
fn engines_under_different_seeds_report_the_same() {
    let reference = run(SEEDS[0], 10_000);
    assert!(reference.pushed.len() > 10, "{:?}", reference.pushed);
    assert!(!reference.flushed.is_empty());
    for seed in &SEEDS[1..] {
        // The snapshots too: they hold no seed, and tables are written in key order.
        assert!(run(*seed, 10_000) == reference, "seed {seed:#x}");
        let batched = run(*seed, 97);
        let all = |run: &Run| [run.pushed.clone(), run.flushed.clone()].concat();
        assert_eq!(
            all(&batched),
            all(&reference),
            "seed {seed:#x}, batches of 97"
        );
    }
}

#[test]
fn a_snapshot_continues_under_any_seed() {
    let reference = run(SEEDS[0], 10_000);
    for seed in SEEDS {
        let config = Config::from_json(CONFIG).unwrap();
        let mut restored = Engine::restore(config, &reference.snapshot, seed).unwrap();
        let flushed: Vec<String> = restored.flush().iter().map(Finding::to_json).collect();
        assert_eq!(flushed, reference.flushed, "seed {seed:#x}");
    }
}
