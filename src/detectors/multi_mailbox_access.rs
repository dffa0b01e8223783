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

use std::sync::Arc;

use ahash::RandomState;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Context, Detector, StateStats, Suppression};
use crate::allowlist::Allowlist;
use crate::attack::REMOTE_EMAIL_COLLECTION;
use crate::config::{positive, Duration};
use crate::event::{Event, MailboxAccess};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::state::{BoundedMap, DistinctWindow};
use crate::time::MINUTE;
use crate::Error;

/// The detector id.
pub const ID: &str = "multi-mailbox-access";

/// Settings of `multi-mailbox-access`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Report findings at this severity instead of `high`.
    pub severity: Option<Severity>,
    /// More distinct mailboxes than this within the window fires (default 5).
    pub max_mailboxes: usize,
    /// The sliding window (default `10m`).
    pub window: Duration,
    /// Apps tracked at once (default 10000).
    pub max_apps: usize,
    /// Reads kept per app within the window (default 10000).
    pub max_reads_per_app: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            severity: None,
            max_mailboxes: 5,
            window: Duration(10 * MINUTE),
            max_apps: 10_000,
            max_reads_per_app: 10_000,
        }
    }
}

impl Config {
    /// Checks the settings; errors name the field under `path`.
    pub fn validate(&self, path: &str) -> Result<(), Error> {
        positive(&format!("{path}.max_mailboxes"), self.max_mailboxes)?;
        positive(&format!("{path}.max_apps"), self.max_apps)?;
        positive(&format!("{path}.max_reads_per_app"), self.max_reads_per_app)
    }
}

/// The `multi-mailbox-access` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct MultiMailboxAccess {
    #[serde(skip)]
    config: Config,
    #[serde(skip)]
    allowlist: Arc<Allowlist>,
    windows: BoundedMap<DistinctWindow>,
    dropped: u64,
    open: Suppression,
}

impl MultiMailboxAccess {
    /// A detector with these settings.
    pub fn new(config: Config, allowlist: Arc<Allowlist>, hasher: &RandomState) -> Self {
        MultiMailboxAccess {
            windows: BoundedMap::new(config.max_apps, hasher),
            open: Suppression::new(ID, config.window.0),
            dropped: 0,
            allowlist,
            config,
        }
    }

    fn on_access(&mut self, access: &MailboxAccess, context: &mut Context) {
        let Some(app) = access.client_app_id.as_deref() else {
            return;
        };
        if self.allowlist.known_app(app) || access.mailbox.is_empty() {
            return;
        }
        let window = self.config.window.0;
        let live_since = context.watermark.saturating_sub(window);
        let entry = self
            .windows
            .get_or_insert_with(app, live_since, DistinctWindow::default);
        self.dropped += entry.add(
            access.time,
            &access.mailbox,
            window,
            self.config.max_reads_per_app,
        );
        let distinct = entry.distinct();
        if distinct <= self.config.max_mailboxes && self.open.get(app).is_none() {
            return;
        }
        let mailboxes: Vec<String> = entry.members().map(str::to_owned).collect();
        let add = |finding: &mut Finding| {
            finding.add_evidence(&access.id);
            for mailbox in &mailboxes {
                finding.observe("mailbox", ObservableKind::EmailAddress, mailbox);
                finding.add_to("mailboxes", json!(mailbox));
            }
            let count = finding
                .unmapped
                .get("mailboxes")
                .and_then(|m| m.as_array())
                .map_or(0, Vec::len);
            finding.set("mailbox_count", json!(count));
            finding.message = format!("application {app} read {count} distinct mailboxes");
        };
        self.open.report(
            app,
            access.time,
            context,
            |uid| {
                let mut finding = Finding::new(
                    ID,
                    uid,
                    Severity::High,
                    access.time,
                    format!(
                        "Application {app} read {distinct} mailboxes within {} min",
                        window / MINUTE
                    ),
                    &[REMOTE_EMAIL_COLLECTION],
                );
                finding.observe("resources.uid", ObservableKind::ResourceUid, app);
                finding.set("client_app_id", json!(app));
                finding.set("window_ms", json!(window));
                add(&mut finding);
                finding
            },
            |finding| add(finding),
        );
    }
}

impl Detector for MultiMailboxAccess {
    super::persist!(keep: [config, allowlist], after: |this, hasher| {
        this.windows.reseed(hasher);
        this.open.configure(ID, this.config.window.0);
    });

    fn id(&self) -> &'static str {
        ID
    }

    fn on_event(&mut self, event: &Event, context: &mut Context) {
        if let Event::MailboxAccess(access) = event {
            self.on_access(access, context);
        }
    }

    fn suppression(&mut self) -> Option<&mut Suppression> {
        Some(&mut self.open)
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.windows.len(),
            evicted: self.windows.evicted() + self.dropped,
            open_findings: self.open.len(),
            ..StateStats::default()
        }
    }
}
