//! Golden data beside the catalog: `tests/golden/<detector id>/` holds, for every registered
//! detector, records that make it fire (`fires.ndjson`) with the findings they must give
//! (`expected.ndjson`), and benign look-alikes (`lookalikes.ndjson`) that must not fire it (what
//! other detectors make of them is in `expected-others.ndjson`, absent when nothing fires). Every
//! file runs through [`run`] with the default config, so in every dress too.
//!
//! `SNOWYOWL_BLESS=1` rewrites the expectations from what the engine gives (then review the diff);
//! `SNOWYOWL_GOLDEN=<id>` runs one folder. tests/golden/README.md says how to add a folder.

use std::fmt::Write as _;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use serde_json::Value;
use snowyowl::detectors::IDS;
use snowyowl::finding::Activity;
use snowyowl::{time, Finding};

use crate::helpers::run;

/// Registered ids without a folder, and why.
const WITHOUT_FOLDER: [(&str, &str); 1] = [(
    "state-pressure",
    "the engine's own finding when a cap drops live state; the smallest default cap holds 10,000 \
     attempts of one IP (or reads of one app) in a window, so a case under the default config is \
     tens of thousands of records. It is made to fire under small caps in chain.rs \
     (the_entity_cap_prunes_incidents_counted_and_reported) and by the flood test",
)];

/// The files a folder may hold.
const FILES: [&str; 5] = [
    "README.md",
    "fires.ndjson",
    "expected.ndjson",
    "lookalikes.ndjson",
    "expected-others.ndjson",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn blessing() -> bool {
    std::env::var_os("SNOWYOWL_BLESS").is_some_and(|value| !value.is_empty() && value != "0")
}

/// The detectors with a folder, or the one `SNOWYOWL_GOLDEN` names.
fn detectors() -> Vec<&'static str> {
    let only = std::env::var("SNOWYOWL_GOLDEN").ok();
    IDS.iter()
        .copied()
        .filter(|id| !WITHOUT_FOLDER.iter().any(|(without, _)| without == id))
        .filter(|id| only.as_deref().is_none_or(|only| only == *id))
        .collect()
}

fn records(text: &str) -> usize {
    text.lines().filter(|line| !line.trim().is_empty()).count()
}

fn read(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// A finding in the form kept in `expected.ndjson`: what identifies it and what it says, without
/// the parts that only restate the records (the full OCSF is tested elsewhere). `finding` numbers
/// the distinct uids in order of appearance, so an update names the finding it updates.
fn project(findings: &[Finding]) -> Vec<String> {
    let mut uids: Vec<&str> = Vec::new();
    findings
        .iter()
        .map(|finding| {
            let number = match uids.iter().position(|uid| *uid == finding.uid) {
                Some(index) => index + 1,
                None => {
                    uids.push(&finding.uid);
                    uids.len()
                }
            };
            let activity = match finding.activity {
                Activity::Create => "create",
                Activity::Update => "update",
            };
            let entities: Vec<String> = finding
                .observables
                .iter()
                .map(|observable| format!("{}={}", observable.name, observable.value))
                .collect();
            let mut line = format!(
                "{{\"detector\":{},\"finding\":{number},\"activity\":{},\"severity\":{},\"time\":{},\"title\":{}",
                json(&finding.detector),
                json(&activity),
                json(&finding.severity),
                json(&time::format(finding.time)),
                json(&finding.title),
            );
            if let Some(reasons) = finding.unmapped.get("reasons") {
                let _ = write!(line, ",\"reasons\":{reasons}");
            }
            if let Some(stages) = stages(finding) {
                let _ = write!(line, ",\"stages\":{}", json(&stages));
            }
            let _ = write!(
                line,
                ",\"entities\":{},\"evidence\":{}}}",
                json(&entities),
                json(&finding.evidence)
            );
            line
        })
        .collect()
}

/// An incident's stages with the detectors whose findings make each (`spray: password-spray`).
fn stages(finding: &Finding) -> Option<Vec<String>> {
    let stages = finding.unmapped.get("stages")?.as_array()?;
    Some(
        stages
            .iter()
            .map(|stage| {
                let mut detectors: Vec<&str> = Vec::new();
                for member in stage["findings"].as_array().into_iter().flatten() {
                    let detector = member["detector"].as_str().unwrap_or_default();
                    if !detectors.contains(&detector) {
                        detectors.push(detector);
                    }
                }
                format!(
                    "{}: {}",
                    stage["stage"].as_str().unwrap_or_default(),
                    detectors.join(", ")
                )
            })
            .collect(),
    )
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}

/// The lines of an expectation file (none when it is absent).
fn expected_lines(path: &Path) -> Vec<String> {
    read(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// A line diff (longest common subsequence): `-` expected only, `+` got only.
fn diff(expected: &[String], got: &[String]) -> String {
    let (n, m) = (expected.len(), got.len());
    let mut common = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if expected[i] == got[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == got[j] {
            let _ = writeln!(out, "  {}", expected[i]);
            i += 1;
            j += 1;
        } else if i < n && (j == m || common[i + 1][j] >= common[i][j + 1]) {
            let _ = writeln!(out, "- {}", expected[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "+ {}", got[j]);
            j += 1;
        }
    }
    out
}

/// Writes `lines` to `path`, or removes it when there are none and `keep_empty` is false.
fn bless(path: &Path, lines: &[String], keep_empty: bool) {
    if lines.is_empty() && !keep_empty {
        let _ = fs::remove_file(path);
        return;
    }
    let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
    fs::write(path, text).unwrap();
}

/// Runs a file through [`run`] (every dress), naming the file if that fails.
fn findings_of(path: &Path) -> Result<Vec<Finding>, String> {
    let text = read(path).ok_or_else(|| format!("cannot read {}", path.display()))?;
    catch_unwind(AssertUnwindSafe(|| run("", &text))).map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        format!("{}: {message}", path.display())
    })
}

/// Fails with every problem found, one paragraph each.
fn report(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s) in tests/golden (SNOWYOWL_BLESS=1 rewrites expectations; review the diff):\n\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn golden_folders_cover_every_registered_detector() {
    let root = root();
    let mut problems = Vec::new();
    for (id, _) in WITHOUT_FOLDER {
        if !IDS.contains(&id) {
            problems.push(format!(
                "{id}: excluded from golden data but not registered"
            ));
        }
        if root.join(id).exists() {
            problems.push(format!(
                "{id}: has a folder but is excluded (WITHOUT_FOLDER)"
            ));
        }
    }
    for id in detectors() {
        let folder = root.join(id);
        if !folder.is_dir() {
            problems.push(format!("{id}: no folder tests/golden/{id}/"));
            continue;
        }
        for file in ["fires.ndjson", "lookalikes.ndjson"] {
            if records(&read(&folder.join(file)).unwrap_or_default()) == 0 {
                problems.push(format!("{id}: {file} is missing or has no records"));
            }
        }
        if !folder.join("README.md").is_file() {
            problems.push(format!("{id}: README.md is missing"));
        }
        // Blessing writes it.
        if !folder.join("expected.ndjson").is_file() && !blessing() {
            problems.push(format!("{id}: expected.ndjson is missing"));
        }
    }
    for entry in fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !path.is_dir() {
            if name != "README.md" {
                problems.push(format!(
                    "tests/golden/{name}: only folders and README.md belong here"
                ));
            }
            continue;
        }
        if !IDS.contains(&name) {
            problems.push(format!(
                "tests/golden/{name}/ names no registered detector (snowyowl::detectors::IDS)"
            ));
            continue;
        }
        for file in fs::read_dir(&path).unwrap() {
            let file = file.unwrap().file_name();
            let file = file.to_string_lossy();
            if !FILES.contains(&file.as_ref()) {
                problems.push(format!("tests/golden/{name}/{file}: not one of {FILES:?}"));
            }
        }
    }
    report(&problems);
}

#[test]
fn golden_fires_give_the_expected_findings() {
    let mut problems = Vec::new();
    for id in detectors() {
        let folder = root().join(id);
        let findings = match findings_of(&folder.join("fires.ndjson")) {
            Ok(findings) => findings,
            Err(error) => {
                problems.push(format!("{id}: {error}"));
                continue;
            }
        };
        if !findings.iter().any(|finding| finding.detector == id) {
            problems.push(format!("{id}: fires.ndjson does not make {id} fire"));
        }
        let got = project(&findings);
        let path = folder.join("expected.ndjson");
        if blessing() {
            bless(&path, &got, true);
            continue;
        }
        let expected = expected_lines(&path);
        if got != expected {
            problems.push(format!(
                "{id}: fires.ndjson gives other findings than expected.ndjson:\n{}",
                diff(&expected, &got)
            ));
        }
    }
    report(&problems);
}

#[test]
fn golden_lookalikes_do_not_fire_their_detector() {
    let mut problems = Vec::new();
    for id in detectors() {
        let folder = root().join(id);
        let findings = match findings_of(&folder.join("lookalikes.ndjson")) {
            Ok(findings) => findings,
            Err(error) => {
                problems.push(format!("{id}: {error}"));
                continue;
            }
        };
        let own: Vec<Finding> = findings
            .iter()
            .filter(|finding| finding.detector == id)
            .cloned()
            .collect();
        if !own.is_empty() {
            problems.push(format!(
                "{id}: lookalikes.ndjson fires {id}:\n{}",
                project(&own).join("\n")
            ));
        }
        let others = project(&findings);
        let path = folder.join("expected-others.ndjson");
        if blessing() {
            bless(&path, &others, false);
            continue;
        }
        let expected = expected_lines(&path);
        if others != expected {
            problems.push(format!(
                "{id}: lookalikes.ndjson gives other findings than expected-others.ndjson \
                 (absent: none):\n{}",
                diff(&expected, &others)
            ));
        }
    }
    report(&problems);
}

#[test]
fn the_projection_numbers_findings_and_keeps_its_key_order() {
    let text = r#"{"id":"a","createdDateTime":"2024-01-15T10:00:00Z","userPrincipalName":"x@contoso.com","ipAddress":"203.0.113.9","status":{"errorCode":50126}}"#;
    let mut batch = String::new();
    for (n, user) in ["ann", "bob", "cat", "dan", "eve", "fay"]
        .iter()
        .enumerate()
    {
        batch += &text
            .replace("\"a\"", &format!("\"s{n}\""))
            .replace("x@", &format!("{user}@"))
            .replace("10:00", &format!("10:0{n}"));
        batch.push('\n');
    }
    let lines = project(&run("", &batch));
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let first: Value = serde_json::from_str(&lines[0]).unwrap();
    let second: Value = serde_json::from_str(&lines[1]).unwrap();
    assert!(lines[0].starts_with(
        r#"{"detector":"password-spray","finding":1,"activity":"create","severity":"medium","#
    ));
    assert_eq!(
        second["finding"], 1,
        "the update names the finding it updates"
    );
    assert_eq!(second["activity"], "update");
    assert_eq!(
        first["evidence"],
        serde_json::json!(["s0", "s1", "s2", "s3", "s4"])
    );
    assert_eq!(
        diff(&lines, &lines[..1]),
        format!("  {}\n- {}\n", lines[0], lines[1])
    );
}
