//! The wasm-bindgen glue for the browser page (`host-examples/browser/web`).
//!
//! Thin by design: files are framed by `snowyowl-input` (the CLI's readers: NDJSON, JSON
//! documents, Log Analytics CSV), pushed through [`snowyowl::Engine`] in batches, and results cross
//! back as JSON text. It runs in a Web Worker, so a 100 MB file never blocks the page. A page that
//! watches a live stream pushes its batches as they come ([`Scanner::push`]) and moves quiet
//! tenants on with a timer ([`Scanner::advance_idle`]).

use std::io::Cursor;

use serde_json::{json, Map, Value};
use snowyowl::{Config, Engine, Finding};
use snowyowl_input::{read_batches, Format};
use wasm_bindgen::prelude::*;

/// Detailed rejections kept per scan; the rest are only counted (by kind).
const MAX_LISTED_REJECTIONS: usize = 500;
/// Records per batch handed to the engine.
const BATCH_RECORDS: usize = 10_000;

fn findings_json(findings: &[Finding]) -> Vec<Value> {
    findings
        .iter()
        .map(|finding| Value::String(finding.to_json()))
        .collect()
}

/// One engine for everything the analyst loads, in the order it is loaded.
#[wasm_bindgen]
pub struct Scanner {
    engine: Engine,
}

#[wasm_bindgen]
impl Scanner {
    /// An engine with `config` (the JSON the CLI reads with `--config`) and the seed of its hash
    /// tables (a BigInt: the worker draws 64 bits from `crypto.getRandomValues` for each scan).
    #[wasm_bindgen(constructor)]
    pub fn new(config: &str, seed: u64) -> Result<Scanner, JsError> {
        let engine =
            Engine::from_json(config, seed).map_err(|error| JsError::new(&error.to_string()))?;
        Ok(Scanner { engine })
    }

    /// Scans one file. `progress(bytes_done)` is called after every batch. Returns JSON:
    /// `{"findings": [ocsf json text…], "records", "accepted", "rejected_total",
    /// "rejected_by_kind": {kind: n}, "rejected": [{"file", "line", "kind", "reason"}…],
    /// "error": null | "why the file could not be read at all"}`.
    pub fn scan(&mut self, name: &str, bytes: &[u8], progress: &js_sys::Function) -> String {
        let mut findings = Vec::new();
        let mut records: u64 = 0;
        let mut accepted: u64 = 0;
        let mut rejected_total: u64 = 0;
        let mut by_kind: Map<String, Value> = Map::new();
        let mut listed: Vec<Value> = Vec::new();
        let mut reject = |line: u64, kind: &str, reason: &str| {
            rejected_total += 1;
            let count = by_kind.entry(kind.to_owned()).or_insert(Value::from(0u64));
            *count = Value::from(count.as_u64().unwrap_or(0) + 1);
            if listed.len() < MAX_LISTED_REJECTIONS {
                listed.push(json!({"file": name, "line": line, "kind": kind, "reason": reason}));
            }
        };
        let mut reader = Cursor::new(bytes);
        let engine = &mut self.engine;
        let result = read_batches(
            &mut reader,
            name,
            Format::Auto,
            BATCH_RECORDS,
            &mut |batch| {
                for (line, reason) in &batch.host_rejected {
                    records += 1;
                    reject(*line, "malformed", reason);
                }
                let pushed = engine.push(&batch.bytes);
                records +=
                    u64::from(pushed.accepted + pushed.ignored) + pushed.rejected.len() as u64;
                accepted += u64::from(pushed.accepted);
                for rejected in &pushed.rejected {
                    let line = batch.source_line(rejected.line);
                    reject(line, rejected.kind.name(), &rejected.reason);
                }
                findings.extend(findings_json(&pushed.findings));
                let _ = progress.call1(&JsValue::NULL, &JsValue::from_f64(batch.consumed as f64));
                Ok(())
            },
        );
        json!({
            "findings": findings,
            "records": records,
            "accepted": accepted,
            "rejected_total": rejected_total,
            "rejected_by_kind": by_kind,
            "rejected": listed,
            "error": result.err().map(|error| format!("{error:#}")),
        })
        .to_string()
    }

    /// A batch of a live stream (newline-delimited JSON or JSON documents, as they arrive).
    /// Returns JSON: `{"findings": [ocsf json text…], "rejected": [{"line", "kind", "reason"}…],
    /// "accepted", "ignored"}`, lines counted within the batch.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        let pushed = self.engine.push(bytes);
        let rejected: Vec<Value> = pushed
            .rejected
            .iter()
            .map(|r| json!({"line": r.line, "kind": r.kind.name(), "reason": r.reason}))
            .collect();
        json!({
            "findings": findings_json(&pushed.findings),
            "rejected": rejected,
            "accepted": pushed.accepted,
            "ignored": pushed.ignored,
        })
        .to_string()
    }

    /// For a live stream gone quiet: every tenant that took no event since the previous call
    /// moves its own watermark on by `quiet_ms` (a BigInt: the wall-clock ms since that call,
    /// which the page measures on a timer), closing the windows that ends; the others stay.
    /// Returns a JSON array of OCSF json texts.
    pub fn advance_idle(&mut self, quiet_ms: u64) -> String {
        Value::Array(findings_json(&self.engine.advance_idle(quiet_ms))).to_string()
    }

    /// End of input: closes every open window. Returns a JSON array of OCSF json texts.
    pub fn flush(&mut self) -> String {
        Value::Array(findings_json(&self.engine.flush())).to_string()
    }

    /// The engine's counters and state sizes (JSON).
    pub fn stats(&self) -> String {
        self.engine.stats_json()
    }
}

/// Checks a configuration: `""` when valid, otherwise the reason, starting with the field's
/// path (`detectors.password-spray.min_users: …`).
#[wasm_bindgen]
pub fn validate_config(config: &str) -> String {
    match Config::from_json(config) {
        Ok(_) => String::new(),
        Err(
            snowyowl::Error::InvalidConfig(message) | snowyowl::Error::InvalidSnapshot(message),
        ) => message,
    }
}

/// The default configuration, every field written out (what the settings form starts from).
#[wasm_bindgen]
pub fn default_config() -> String {
    Config::default().to_json()
}

/// The records of `bytes` whose text names one of `ids` (a JSON array of event ids), as a JSON
/// object id → record text: the evidence events of a finding.
#[wasm_bindgen]
pub fn find_evidence(name: &str, bytes: &[u8], ids: &str) -> String {
    let ids: Vec<String> = serde_json::from_str(ids).unwrap_or_default();
    let quoted: Vec<(String, String)> = ids
        .into_iter()
        .map(|id| (format!("\"{id}\""), id))
        .collect();
    let mut found = Map::new();
    let mut reader = Cursor::new(bytes);
    let _ = read_batches(
        &mut reader,
        name,
        Format::Auto,
        BATCH_RECORDS,
        &mut |batch| {
            snowyowl::input::frame(&batch.bytes, &mut |framed| {
                if let snowyowl::input::Framed::Record { text, .. } = framed {
                    for (needle, id) in &quoted {
                        if !found.contains_key(id) && text.contains(needle.as_str()) {
                            found.insert(id.clone(), Value::String(text.to_owned()));
                        }
                    }
                }
            });
            Ok(())
        },
    );
    Value::Object(found).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spray in `tenant`: 8 users failing from one IP, one a minute.
    fn sprayed(tenant: &str) -> String {
        (0..8)
            .map(|n| {
                format!(
                    r#"{{"id":"{tenant}-{n}","createdDateTime":"2024-01-15T10:0{n}:00Z","userPrincipalName":"user{n}@contoso.com","ipAddress":"203.0.113.9","tenantId":"{tenant}","status":{{"errorCode":50126}}}}"#
                ) + "\n"
            })
            .collect()
    }

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_live_page_moves_on_only_the_quiet_tenant() {
        let mut scanner = Scanner::new("", 7).ok().unwrap();
        let pushed = parse(&scanner.push((sprayed("quiet") + &sprayed("busy")).as_bytes()));
        assert_eq!(pushed["accepted"], 16);
        assert_eq!(pushed["findings"], json!([]));
        // Both took events since the engine started: neither moves.
        assert_eq!(parse(&scanner.advance_idle(30 * 60_000)), json!([]));
        let benign = r#"{"id":"busy-ann","createdDateTime":"2024-01-15T10:06:00Z","userPrincipalName":"ann@contoso.com","ipAddress":"198.51.100.7","tenantId":"busy","status":{"errorCode":0}}"#;
        assert_eq!(parse(&scanner.push(benign.as_bytes()))["accepted"], 1);
        // A whole period later only the quiet one has moved on, and its spray comes out.
        let found = parse(&scanner.advance_idle(30 * 60_000));
        let found = found.as_array().unwrap();
        assert!(!found.is_empty());
        for finding in found {
            let ocsf = parse(finding.as_str().unwrap());
            assert_eq!(ocsf["finding_info"]["analytic"]["uid"], "password-spray");
            assert_eq!(ocsf["cloud"]["account"]["uid"], "quiet");
        }
        let rejected = parse(&scanner.push(b"{\"broken\": \n"));
        assert_eq!(rejected["rejected"][0]["kind"], "malformed");
    }
}
