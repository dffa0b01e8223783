//! `snowyowl scan`: inputs through the engine, findings out, a summary for the operator.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::sync::mpsc;

use anyhow::{anyhow, Context as _, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use snowyowl::NO_TENANT;

use crate::input::{read_batches, Batch, Format};
use crate::runtime::{Backend, HostFinding};

/// Records per batch pushed to the engine unless told otherwise (`--batch-size`); the benchmark's
/// in-memory modes push batches of this size too.
pub const DEFAULT_BATCH_SIZE: u32 = 2_000;

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Files to read; empty or `-` means stdin.
    pub inputs: Vec<PathBuf>,
    /// Input framing.
    pub format: Format,
    /// Records per batch pushed to the engine.
    pub batch_size: usize,
    /// Draw a progress bar on stderr for inputs of at least this many bytes (when stderr is a
    /// terminal); `None` never.
    pub progress_from: Option<u64>,
    /// Also write one human-readable line per finding to the `brief` writer, at the end: each
    /// finding once as it stands last, the most severe first, then by when it began.
    pub brief: bool,
    /// In the brief, list informational findings too (hidden otherwise).
    pub informational: bool,
    /// Close every open window at the end (end of input). Off when the state is kept for the
    /// next run.
    pub flush_at_end: bool,
}

/// When a finding began (`finding_info.first_seen_time`, else its time), ms.
fn began(finding: &HostFinding) -> i64 {
    let value: serde_json::Value = serde_json::from_str(&finding.json).unwrap_or_default();
    value
        .pointer("/finding_info/first_seen_time")
        .or_else(|| value.pointer("/time"))
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(i64::MAX)
}

/// A severity's rank, the most severe first.
fn rank(severity: &str) -> u8 {
    match severity {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 4,
    }
}

/// One line for a person: when it began, severity, detector, title.
pub fn brief_line(finding: &HostFinding) -> String {
    let value: serde_json::Value = serde_json::from_str(&finding.json).unwrap_or_default();
    let title = value
        .pointer("/finding_info/title")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    let time = snowyowl::time::format(began(finding));
    format!(
        "{time}  {:<8}  {:<28}  {title}",
        finding.severity, finding.detector
    )
}

/// The brief: each finding once, as it stands last, the most severe first, then by when it
/// began (then by uid, so the order is the same every run); informational ones only when asked.
pub fn brief_lines(findings: &BTreeMap<String, HostFinding>, informational: bool) -> Vec<String> {
    let mut shown: Vec<(u8, i64, &String, &HostFinding)> = findings
        .iter()
        .filter(|(_, finding)| informational || rank(finding.severity) < 4)
        .map(|(uid, finding)| (rank(finding.severity), began(finding), uid, finding))
        .collect();
    shown.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    shown
        .into_iter()
        .map(|(.., finding)| brief_line(finding))
        .collect()
}

/// How many kinds of ignored records the summary names.
const IGNORED_SHOWN: usize = 5;

/// What the summary reads from the engine's `stats`: ignored records by what they were, and
/// findings kept back at informational.
#[derive(Default)]
struct Counted {
    ignored: BTreeMap<String, u64>,
    informational: u64,
    /// Events taken in, by tenant (`(none)`: events that named none).
    tenants: BTreeMap<String, u64>,
}

impl Counted {
    fn of(backend: &mut dyn Backend) -> Result<Counted> {
        let stats: serde_json::Value = serde_json::from_str(&backend.stats()?)?;
        let object = |key: &str| stats.get(key).and_then(serde_json::Value::as_object);
        Ok(Counted {
            ignored: object("ignored_by_name")
                .into_iter()
                .flatten()
                .filter_map(|(name, n)| Some((name.clone(), n.as_u64()?)))
                .collect(),
            informational: object("detectors")
                .into_iter()
                .flatten()
                .filter_map(|(_, detector)| detector.get("informational")?.as_u64())
                .sum(),
            tenants: stats
                .pointer("/tenants/by_tenant")
                .and_then(serde_json::Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(tenant, lane)| {
                    Some((tenant.clone(), lane.get("accepted")?.as_u64()?))
                })
                .collect(),
        })
    }
}

/// What a scan saw, for the summary.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Inputs read.
    pub inputs: usize,
    /// Records accepted as events.
    pub accepted: u64,
    /// Records of known sources no detector reads.
    pub ignored: u64,
    /// Those records by what they were (from the engine's `stats`).
    pub ignored_by_name: BTreeMap<String, u64>,
    /// Records rejected, by kind.
    pub rejected: BTreeMap<String, u64>,
    /// Rejections with where and why, in input order: `file:line: kind: reason`.
    pub rejections: Vec<String>,
    /// Findings written, by detector (creates and updates).
    pub findings: BTreeMap<String, u64>,
    /// Distinct findings (by uid), by detector.
    pub distinct: BTreeMap<String, u64>,
    /// Findings kept back at informational in this run (from the engine's `stats`).
    pub informational: u64,
    /// When events that named no tenant were watched apart from the one tenant all the others
    /// named: how many, and that tenant (from the engine's `stats`).
    pub untenanted: Option<(u64, String)>,
    seen_uids: std::collections::BTreeSet<String>,
    /// The latest version of each finding, by uid (kept for the brief only).
    latest: BTreeMap<String, HostFinding>,
}

impl Summary {
    fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    fn add_findings(
        &mut self,
        findings: &[HostFinding],
        out: &mut dyn Write,
        keep: bool,
    ) -> Result<()> {
        for finding in findings {
            out.write_all(finding.json.as_bytes())?;
            out.write_all(b"\n")?;
            *self.findings.entry(finding.detector.clone()).or_insert(0) += 1;
            if self.seen_uids.insert(finding.uid.clone()) {
                *self.distinct.entry(finding.detector.clone()).or_insert(0) += 1;
            }
            if keep {
                self.latest.insert(finding.uid.clone(), finding.clone());
            }
        }
        Ok(())
    }

    /// The summary as lines for stderr, showing at most `show` rejections.
    pub fn render(&self, show: usize) -> String {
        let mut text = String::new();
        let total = self.accepted + self.ignored + self.rejected_total();
        text.push_str(&format!(
            "snowyowl: read {total} records from {} input(s): {} accepted, {} ignored (no detector reads them), {} rejected\n",
            self.inputs, self.accepted, self.ignored, self.rejected_total()
        ));
        if !self.ignored_by_name.is_empty() {
            let mut names: Vec<(&String, &u64)> = self.ignored_by_name.iter().collect();
            names.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let top: Vec<String> = names
                .iter()
                .take(IGNORED_SHOWN)
                .map(|(name, n)| format!("{name} ({n})"))
                .collect();
            let more = names.len().saturating_sub(IGNORED_SHOWN);
            text.push_str(&format!(
                "  ignored, most often: {}{}\n",
                top.join(", "),
                if more > 0 {
                    format!(", and {more} more kinds (--stats lists them)")
                } else {
                    String::new()
                }
            ));
        }
        if !self.rejected.is_empty() {
            let kinds: Vec<String> = self
                .rejected
                .iter()
                .map(|(kind, n)| format!("{kind} {n}"))
                .collect();
            text.push_str(&format!("  rejected by kind: {}\n", kinds.join(", ")));
            for line in self.rejections.iter().take(show) {
                text.push_str(&format!("  {line}\n"));
            }
            if self.rejections.len() > show {
                text.push_str(&format!(
                    "  … and {} more (--show-rejections N to see more)\n",
                    self.rejections.len() - show
                ));
            }
        }
        if self.distinct.is_empty() {
            text.push_str("snowyowl: no findings\n");
        } else {
            let per: Vec<String> = self
                .distinct
                .iter()
                .map(|(detector, n)| format!("{detector} {n}"))
                .collect();
            let distinct: u64 = self.distinct.values().sum();
            let written: u64 = self.findings.values().sum();
            text.push_str(&format!(
                "snowyowl: {distinct} findings ({written} records with updates): {}\n",
                per.join(", ")
            ));
        }
        if self.informational > 0 {
            text.push_str(&format!(
                "snowyowl: {} more kept back at informational (a sprayed user's password proven from a familiar place; \
                 \"report_informational\": true in spray-then-success's settings emits them)\n",
                self.informational
            ));
        }
        if let Some((events, tenant)) = &self.untenanted {
            text.push_str(&format!(
                "snowyowl: {events} event(s) named no tenant (Graph API records carry no tenant id) and \
                 went to a lane of their own, apart from tenant {tenant}, which every other event \
                 named; if they are its events, set \"tenants\": {{\"default\": \"{tenant}\"}} in \
                 the config to watch them together\n"
            ));
        }
        text
    }
}

/// The events that named no tenant and the one tenant every other event named, when a stream
/// holds exactly those: most likely one tenant whose Graph API records (which carry no tenant id)
/// are mixed with records that name it.
fn untenanted(tenants: &BTreeMap<String, u64>) -> Option<(u64, String)> {
    let none = tenants.get(NO_TENANT).copied().filter(|&n| n > 0)?;
    let mut named = tenants
        .iter()
        .filter(|(tenant, &n)| tenant.as_str() != NO_TENANT && n > 0);
    match (named.next(), named.next()) {
        (Some((tenant, _)), None) => Some((none, tenant.clone())),
        _ => None,
    }
}

/// Writes `bytes` to `path` atomically: to a temporary file beside it, synced, then renamed over
/// it, so a crash leaves either the old state or the new one, never half of one.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> Result<()> {
        let mut file = File::create(&temporary)
            .with_context(|| format!("creating {}", temporary.display()))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
            .with_context(|| format!("replacing {}", path.display()))?;
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// Runs every input through `backend`, writing findings to `out` as NDJSON (and, with
/// `options.brief`, a readable line per finding to `brief`).
pub fn scan(
    backend: &mut dyn Backend,
    options: &ScanOptions,
    out: &mut dyn Write,
    brief: &mut dyn Write,
) -> Result<Summary> {
    let mut summary = Summary::default();
    // A restored state has counted records before this run: only this run's are shown.
    let before = Counted::of(backend)?;
    let inputs: Vec<Option<PathBuf>> = if options.inputs.is_empty() {
        vec![None]
    } else {
        options
            .inputs
            .iter()
            .map(|path| (path.as_os_str() != "-").then(|| path.clone()))
            .collect()
    };
    for input in inputs {
        summary.inputs += 1;
        let (name, size, reader): (String, u64, Box<dyn BufRead + Send>) = match &input {
            Some(path) => {
                let file =
                    File::open(path).with_context(|| format!("opening {}", path.display()))?;
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                (
                    path.display().to_string(),
                    size,
                    Box::new(BufReader::with_capacity(1 << 20, file)),
                )
            }
            None => (
                "<stdin>".to_owned(),
                0,
                Box::new(BufReader::with_capacity(1 << 20, io::stdin())),
            ),
        };
        let progress = match options.progress_from {
            Some(from) if size >= from => {
                let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template(
                    "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_message(name.clone());
                bar
            }
            _ => ProgressBar::hidden(),
        };
        let prepare = backend.reads_ahead();
        let mut push = |batch: Batch, prepared: Option<snowyowl::Prepared>| -> Result<()> {
            for (line, reason) in &batch.host_rejected {
                *summary.rejected.entry("malformed".to_owned()).or_insert(0) += 1;
                summary
                    .rejections
                    .push(format!("{name}:{line}: malformed: {reason}"));
            }
            if !batch.bytes.is_empty() {
                let pushed = backend.push_batch(&batch.bytes, prepared)?;
                summary.accepted += u64::from(pushed.accepted);
                summary.ignored += u64::from(pushed.ignored);
                for rejected in &pushed.rejected {
                    *summary
                        .rejected
                        .entry(rejected.kind.to_owned())
                        .or_insert(0) += 1;
                    summary.rejections.push(format!(
                        "{name}:{}: {}: {}",
                        batch.source_line(rejected.line),
                        rejected.kind,
                        rejected.reason
                    ));
                }
                summary.add_findings(&pushed.findings, out, options.brief)?;
            }
            progress.set_position(batch.consumed);
            Ok(())
        };
        read_ahead(reader, &name, options, prepare, &mut push)?;
        progress.finish_and_clear();
    }
    if options.flush_at_end {
        let findings = backend.flush()?;
        summary.add_findings(&findings, out, options.brief)?;
    }
    if options.brief {
        for line in brief_lines(&summary.latest, options.informational) {
            writeln!(brief, "{line}")?;
        }
    }
    // This run's share: a restored state counted records and findings before it.
    let after = Counted::of(backend)?;
    summary.informational = after.informational.saturating_sub(before.informational);
    summary.untenanted = untenanted(&after.tenants);
    for (name, n) in after.ignored {
        let earlier = before.ignored.get(&name).copied().unwrap_or(0);
        if n > earlier {
            summary.ignored_by_name.insert(name, n - earlier);
        }
    }
    out.flush()?;
    brief.flush()?;
    Ok(summary)
}

/// Reads `reader` into batches on a thread of its own, handing each to `push` on this one: the
/// next batch is read and framed (and with `prepare`, read into events too) while the engine
/// works on the current one. At most one batch waits between them. An error on either side stops
/// both; the engine's is reported first.
fn read_ahead(
    mut reader: Box<dyn BufRead + Send>,
    name: &str,
    options: &ScanOptions,
    prepare: bool,
    push: &mut dyn FnMut(Batch, Option<snowyowl::Prepared>) -> Result<()>,
) -> Result<()> {
    let (format, batch_size) = (options.format, options.batch_size);
    std::thread::scope(|scope| {
        let (sender, batches) = mpsc::sync_channel(1);
        let reading = scope.spawn(move || {
            read_batches(&mut *reader, name, format, batch_size, &mut |batch| {
                let prepared = prepare.then(|| snowyowl::prepare(&batch.bytes));
                // A closed channel means the engine side failed; its error is the one reported.
                sender
                    .send((batch, prepared))
                    .map_err(|_| anyhow!("stopped reading {name}"))
            })
        });
        let pushed = batches
            .iter()
            .try_for_each(|(batch, prepared)| push(batch, prepared));
        drop(batches);
        let read = reading
            .join()
            .map_err(|_| anyhow!("the thread reading {name} failed"))?;
        pushed.and(read)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::untenanted;

    fn lanes(counts: &[(&str, u64)]) -> BTreeMap<String, u64> {
        counts.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect()
    }

    #[test]
    fn events_without_a_tenant_beside_exactly_one_tenant_are_pointed_out() {
        let one = lanes(&[("(none)", 3), ("t1", 100)]);
        assert_eq!(untenanted(&one), Some((3, "t1".to_owned())));
        // Nothing to say: no such events, no tenant named, or several tenants (a provider's
        // stream, where which tenant they belong to cannot be guessed).
        for counts in [
            &[("t1", 100)][..],
            &[("(none)", 3)],
            &[("(none)", 0), ("t1", 100)],
            &[("(none)", 3), ("t1", 100), ("t2", 5)],
        ] {
            assert_eq!(untenanted(&lanes(counts)), None, "{counts:?}");
        }
    }
}
