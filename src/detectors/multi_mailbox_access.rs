//! `multi-mailbox-access`: one application reads many mailboxes in a short time.
//!
//! **What.** One `ClientAppId` reads more than `max_mailboxes` (default 5) distinct mailboxes
//! within the window (default 10 min). High.
//!
//! **Why.** Collection at scale: the actor's app sweeping executives' mailboxes.
//!
//! **Logic.** A sliding distinct count of mailboxes per app (bounded); Microsoft first-party and
//! allow-listed apps are skipped.
//!
//! **False positives.** Backup, archiving and e-discovery tools: allow-list their app ids.
//!
//! **ATT&CK.** T1114.002.

use super::kit::{self, Distinct, Meta, Parts, Report, Rule, Stage, StateStats};
use crate::attack::REMOTE_EMAIL_COLLECTION;
use crate::config::{Count, Duration};
use crate::event::{Event, MailboxAccess};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::state::{BoundedMap, DistinctWindow};
use crate::time::{Timestamp, MINUTE};
use ahash::RandomState;
use serde::{Deserialize, Serialize};
use serde_json::json;

kit::config! {
    "multi-mailbox-access";
    /// More distinct mailboxes than this within the window fires (default 5).
    max_mailboxes: Count = Count::new(5),
    /// The sliding window (default `10m`).
    window: Duration = Duration(10 * MINUTE),
    /// Apps tracked at once (default 10000).
    max_apps: Count = Count::new(10_000),
    /// Reads kept per app within the window (default 10000).
    max_reads_per_app: Count = Count::new(10_000),
}

/// What an open finding keeps: the mailboxes it has seen read, and the most read within one
/// window (its title).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reads {
    mailboxes: Distinct,
    most_in_window: usize,
}

/// The `multi-mailbox-access` detector.
pub type MultiMailboxAccess = kit::Keyed<ManyMailboxes>;

/// The rule of `multi-mailbox-access`: its tables.
#[derive(Debug, Serialize, Deserialize)]
pub struct ManyMailboxes {
    windows: BoundedMap<DistinctWindow>,
    dropped: u64,
}

impl Rule for ManyMailboxes {
    const META: Meta = Meta {
        id: "multi-mailbox-access",
        stage: Some(Stage::Collection),
        attack: &[REMOTE_EMAIL_COLLECTION],
        severity: Severity::High,
    };
    type Config = Config;
    type Open = Reads;

    fn new(config: &Config, parts: &Parts) -> Self {
        ManyMailboxes {
            windows: BoundedMap::new(config.max_apps.get(), parts.hasher),
            dropped: 0,
        }
    }

    fn window(config: &Config) -> Timestamp {
        config.window.0
    }

    fn on_event(&mut self, config: &Config, event: &Event, report: &mut Report<Reads>) {
        if let Event::MailboxAccess(access) = event {
            self.on_access(config, access, report);
        }
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.windows.len(),
            evicted: self.windows.evicted() + self.dropped,
            ..StateStats::default()
        }
    }

    fn reseed(&mut self, hasher: &RandomState) {
        self.windows.reseed(hasher);
    }
}

impl ManyMailboxes {
    fn on_access(&mut self, config: &Config, access: &MailboxAccess, report: &mut Report<Reads>) {
        let Some(app) = access.client_app_id.as_deref() else {
            return;
        };
        if report.allowlist.known_app(app) || access.mailbox.is_empty() {
            return;
        }
        let window = config.window.0;
        let live_since = report.watermark().saturating_sub(window);
        let entry = self
            .windows
            .get_or_insert_with(app, live_since, DistinctWindow::default);
        self.dropped += entry.add(
            access.time,
            &access.mailbox,
            window,
            config.max_reads_per_app.get(),
        );
        let distinct = entry.distinct();
        if distinct <= config.max_mailboxes.get() && report.open(app).is_none() {
            return;
        }
        let mailboxes: Vec<String> = entry.members().map(str::to_owned).collect();
        let add = |finding: &mut Finding, reads: &mut Reads| {
            finding.add_evidence(&access.id);
            for mailbox in &mailboxes {
                finding.observe("mailbox", ObservableKind::EmailAddress, mailbox);
                finding.add_to("mailboxes", json!(mailbox));
                reads.mailboxes.add(mailbox);
            }
            reads.most_in_window = reads.most_in_window.max(distinct);
            finding.title = format!(
                "Application {app} read {} mailboxes within {} min",
                reads.most_in_window,
                window / MINUTE
            );
            finding.set("mailbox_count", json!(reads.mailboxes.count()));
            finding.message = format!(
                "application {app} read {} distinct mailboxes",
                reads.mailboxes.said()
            );
        };
        report.report_with(
            app,
            access.time,
            |uid, reads| {
                let mut finding = Finding::new(
                    ManyMailboxes::META.id,
                    uid,
                    Severity::High,
                    access.time,
                    format!(
                        "Application {app} read {distinct} mailboxes within {} min",
                        window / MINUTE
                    ),
                    ManyMailboxes::META.attack,
                );
                finding.observe("resources.uid", ObservableKind::ResourceUid, app);
                finding.set("client_app_id", json!(app));
                finding.set("window_ms", json!(window));
                add(&mut finding, reads);
                finding
            },
            add,
        );
    }
}
