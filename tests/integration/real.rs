//! The corpus of real records (`tests/data/real/<source>/`): every record of every file, read as
//! the CLI reads it (`snowyowl-input`, then the core), is accepted as the kind of event its
//! `expected.ndjson` line says, with the key fields that line gives, or ignored for a reason this
//! test names (a directory activity or an Exchange cmdlet no detector reads, a record of another
//! source). Any rejection, any other ignore and any field that differs fails the test, which
//! lists them all. The README's per-source table is checked against what was read.
//!
//! The expectations were written from the raw records by the people who gathered them, not by
//! running snowyowl (each folder's README says how).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;
use snowyowl::event::{Event, SignInCategory};
use snowyowl::input::{self, Framed};
use snowyowl::normalize::{self, Normalized};
use snowyowl::time;
use snowyowl_input::{read_batches, Format};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/real")
}

/// Every record of a file, in order, as the CLI would read it.
pub fn read_file(path: &Path) -> Vec<Normalized> {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = std::io::BufReader::new(file);
    let name = path.to_string_lossy().into_owned();
    let mut out = Vec::new();
    read_batches(&mut reader, &name, Format::Auto, 2_000, &mut |batch| {
        for (line, reason) in &batch.host_rejected {
            out.push(Normalized::Rejected(normalize::Rejection {
                kind: normalize::RejectionKind::Malformed,
                reason: format!("line {line}: {reason}"),
            }));
        }
        input::frame(&batch.bytes, &mut |framed| match framed {
            Framed::Record { text, .. } => normalize::normalize(text, &mut |n| out.push(n)),
            Framed::Rejected { rejection, .. } => out.push(Normalized::Rejected(rejection)),
        });
        Ok(())
    })
    .unwrap();
    out
}

fn category_name(category: SignInCategory) -> &'static str {
    match category {
        SignInCategory::Interactive => "interactive",
        SignInCategory::NonInteractive => "non-interactive",
        SignInCategory::ServicePrincipal => "service-principal",
        SignInCategory::ManagedIdentity => "managed-identity",
    }
}

/// The fields of an event that an expectation may name, as text.
fn fields_of(event: &Event) -> (&'static str, BTreeMap<&'static str, Value>) {
    let mut fields = BTreeMap::new();
    let text = |value: Option<&str>| value.map_or(Value::Null, |v| Value::String(v.to_owned()));
    fields.insert("time", Value::String(time::format(event.time())));
    let kind = match event {
        Event::SignIn(signin) => {
            fields.insert("user", text(Some(signin.user())));
            fields.insert("ip", text(signin.ip()));
            fields.insert("code", Value::from(signin.result_code));
            fields.insert("category", text(Some(category_name(signin.category))));
            fields.insert("app_id", text(signin.app_id()));
            "sign-in"
        }
        Event::DirectoryAudit(audit) => {
            fields.insert("operation", text(Some(&audit.activity_name)));
            let actor = audit
                .actor
                .user
                .as_deref()
                .or(audit.actor.app_id.as_deref())
                .or(audit.actor.service_principal_id.as_deref());
            fields.insert("actor", text(actor));
            let targets: Vec<Value> = audit
                .targets
                .iter()
                .filter_map(|target| target.id.clone().map(Value::String))
                .collect();
            fields.insert("targets", Value::Array(targets));
            "directory-audit"
        }
        Event::MailboxAccess(access) => {
            fields.insert("user", text(Some(&access.user)));
            fields.insert("mailbox", text(Some(&access.mailbox)));
            fields.insert("client_app_id", text(access.client_app_id.as_deref()));
            fields.insert("ip", text(access.ip.as_deref()));
            "mailbox-access"
        }
        Event::ExchangeAdmin(admin) => {
            fields.insert("operation", text(Some(&admin.cmdlet)));
            fields.insert("actor", text(Some(&admin.actor)));
            "exchange-admin"
        }
        Event::RiskDetection(risk) => {
            fields.insert("user", text(Some(&risk.user)));
            fields.insert("ip", text(risk.ip.as_deref()));
            fields.insert("risk_type", text(Some(&risk.risk_type)));
            "risk-detection"
        }
    };
    (kind, fields)
}

/// Fields an expectation line holds that are not fields of the event.
const NOT_FIELDS: [&str; 6] = ["file", "record", "kind", "note", "what", "source"];

/// Where a record and its expectation disagree, or `None`; and whether it was accepted.
fn check(normalized: &Normalized, expected: &Value) -> (Outcome, Option<String>) {
    let kind = expected["kind"].as_str().unwrap_or("");
    let operation = expected["operation"].as_str().map(str::trim);
    match normalized {
        Normalized::Rejected(rejection) => (
            Outcome::Rejected,
            Some(format!(
                "rejected ({}): {}",
                rejection.kind.name(),
                rejection.reason
            )),
        ),
        Normalized::Ignored(ignored) => {
            // Ignored is right only for what no detector reads, and names it.
            let named = operation.is_some_and(|op| ignored.name.trim() == op);
            let fine = match kind {
                "directory-audit" => ignored.source == "directory audit" && named,
                "exchange-admin" => ignored.source == "exchange cmdlet" && named,
                "other" => true,
                _ => false,
            };
            let problem = (!fine).then(|| format!("ignored as {ignored}, expected a {kind}"));
            (Outcome::Ignored, problem)
        }
        Normalized::Event(event) => {
            let (got_kind, fields) = fields_of(event);
            if got_kind != kind {
                return (
                    Outcome::Accepted,
                    Some(format!("read as a {got_kind}, expected a {kind}")),
                );
            }
            let mut problems = Vec::new();
            for (key, want) in expected.as_object().into_iter().flatten() {
                if NOT_FIELDS.contains(&key.as_str()) {
                    continue;
                }
                let got = fields.get(key.as_str()).cloned().unwrap_or(Value::Null);
                let same = match (want, &got) {
                    // Users and actors are kept lowercased (`Terraform-Datadog-CLI` is one
                    // principal).
                    (Value::String(want), Value::String(got))
                        if key == "user" || key == "actor" =>
                    {
                        want.trim().eq_ignore_ascii_case(got.trim())
                    }
                    // An address as written (`…:aaaa:0000`) is the one read (`…:aaaa:0`).
                    (Value::String(want), Value::String(got)) if key == "ip" => {
                        match (want.parse::<IpAddr>(), got.parse::<IpAddr>()) {
                            (Ok(want), Ok(got)) => want == got,
                            _ => want.trim() == got.trim(),
                        }
                    }
                    (Value::String(want), Value::String(got)) => want.trim() == got.trim(),
                    _ => *want == got,
                };
                if !same {
                    problems.push(format!("{key}: got {got}, expected {want}"));
                }
            }
            let problem = (!problems.is_empty()).then(|| problems.join("; "));
            (Outcome::Accepted, problem)
        }
    }
}

#[derive(Clone, Copy)]
enum Outcome {
    Accepted,
    Ignored,
    Rejected,
}

/// Per source: records, accepted, ignored, rejected.
type Table = BTreeMap<String, [usize; 4]>;

fn read_corpus() -> (Table, Vec<String>) {
    let mut table = Table::new();
    let mut problems = Vec::new();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.join("expected.ndjson").exists())
        .collect();
    sources.sort();
    for source in sources {
        let name = source.file_name().unwrap().to_string_lossy().into_owned();
        let expected = std::fs::read_to_string(source.join("expected.ndjson")).unwrap();
        let mut by_file: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for line in expected.lines().filter(|line| !line.trim().is_empty()) {
            let value: Value = serde_json::from_str(line).unwrap();
            let file = value["file"].as_str().unwrap().to_owned();
            by_file.entry(file).or_default().push(value);
        }
        let row = table.entry(name.clone()).or_insert([0; 4]);
        for (file, expectations) in by_file {
            let records = read_file(&source.join(&file));
            if records.len() != expectations.len() {
                problems.push(format!(
                    "{name}/{file}: {} records read, {} expected",
                    records.len(),
                    expectations.len()
                ));
            }
            for (index, normalized) in records.iter().enumerate() {
                row[0] += 1;
                let Some(expected) = expectations.iter().find(|e| e["record"] == index) else {
                    problems.push(format!("{name}/{file} record {index}: no expectation"));
                    continue;
                };
                let (outcome, problem) = check(normalized, expected);
                row[1 + outcome as usize] += 1;
                if let Some(problem) = problem {
                    problems.push(format!("{name}/{file} record {index}: {problem}"));
                }
            }
        }
    }
    (table, problems)
}

/// The README's table, as this test reads the corpus.
fn markdown(table: &Table) -> String {
    let mut text = String::from(
        "| source | records | accepted | ignored | rejected |\n|---|---:|---:|---:|---:|\n",
    );
    let mut total = [0; 4];
    for (source, row) in table {
        text += &format!(
            "| `{source}` | {} | {} | {} | {} |\n",
            row[0], row[1], row[2], row[3]
        );
        for (sum, value) in total.iter_mut().zip(row) {
            *sum += value;
        }
    }
    text += &format!(
        "| all | {} | {} | {} | {} |\n",
        total[0], total[1], total[2], total[3]
    );
    text
}

#[test]
fn every_real_record_is_read_as_what_it_is() {
    let (table, problems) = read_corpus();
    let shown = markdown(&table);
    assert!(
        problems.is_empty(),
        "{} problems:\n{}\n\n{shown}",
        problems.len(),
        problems.join("\n")
    );
    let total: usize = table.values().map(|row| row[0]).sum();
    assert!(
        total >= 300,
        "{total} real records; the corpus needs at least 300"
    );
    assert!(
        table.len() >= 4,
        "{} sources; the corpus needs at least four",
        table.len()
    );
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains(&shown),
        "README.md's corpus table is not what the corpus reads as; it should be:\n{shown}"
    );
}
