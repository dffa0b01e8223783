//! `mail-access-throttled`: mail access so heavy that auditing throttles or aggregates it.
//!
//! **What.** A `MailItemsAccessed` record with `IsThrottled` = `True` (Exchange stops auditing a
//! mailbox for 24 h after 1,000 records in 24 h, and says so), or with `OperationCount` of at
//! least `min_operations` (default 100) in one record. Medium.
//!
//! **Why.** Bulk collection; and a throttled mailbox is a mailbox whose further reads go unseen.
//!
//! **False positives.** Mailbox migrations and mobile clients' first sync: allow-list the
//! migration app; a first sync is one record per device.
//!
//! **ATT&CK.** T1114.002.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Context, Detector, StateStats, Suppression};
use crate::allowlist::Allowlist;
use crate::attack::REMOTE_EMAIL_COLLECTION;
use crate::config::{positive, Duration};
use crate::event::{Event, MailboxAccess};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::time::HOUR;
use crate::Error;

/// The detector id.
pub const ID: &str = "mail-access-throttled";

/// Settings of `mail-access-throttled`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Report findings at this severity instead of `medium`.
    pub severity: Option<Severity>,
    /// Items in one record that count as bulk (default 100).
    pub min_operations: usize,
    /// Suppression window per mailbox and app (default `1h`).
    pub window: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            severity: None,
            min_operations: 100,
            window: Duration(HOUR),
        }
    }
}

impl Config {
    /// Checks the settings; errors name the field under `path`.
    pub fn validate(&self, path: &str) -> Result<(), Error> {
        positive(&format!("{path}.min_operations"), self.min_operations)
    }
}

/// The `mail-access-throttled` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct MailAccessThrottled {
    #[serde(skip)]
    config: Config,
    #[serde(skip)]
    allowlist: Arc<Allowlist>,
    open: Suppression,
}

impl MailAccessThrottled {
    /// A detector with these settings.
    pub fn new(config: Config, allowlist: Arc<Allowlist>) -> Self {
        MailAccessThrottled {
            open: Suppression::new(ID, config.window.0),
            allowlist,
            config,
        }
    }

    fn on_access(&mut self, access: &MailboxAccess, context: &mut Context) {
        let bulk = access.operation_count >= self.config.min_operations as u64;
        if !(access.throttled || bulk) {
            return;
        }
        let app = access.client_app_id.as_deref().unwrap_or("");
        if !app.is_empty() && self.allowlist.known_app(app) && !access.throttled {
            return;
        }
        let key = format!("{}|{app}", access.mailbox);
        let add = |finding: &mut Finding| {
            finding.add_evidence(&access.id);
            if access.throttled {
                finding.set("throttled", json!(true));
            }
            let total = finding
                .unmapped
                .get("operations")
                .and_then(|n| n.as_u64())
                .unwrap_or(0);
            finding.set("operations", json!(total + access.operation_count));
        };
        self.open.report(
            &key,
            access.time,
            context,
            |uid| {
                let what = if access.throttled {
                    "throttled"
                } else {
                    "read in bulk"
                };
                let mut finding = Finding::new(
                    ID,
                    uid,
                    Severity::Medium,
                    access.time,
                    format!("Mailbox {} {what}", access.mailbox),
                    &[REMOTE_EMAIL_COLLECTION],
                );
                finding.message = format!(
                    "mailbox {} {what}: {} items in one record by {}{}",
                    access.mailbox,
                    access.operation_count,
                    access.user,
                    if app.is_empty() {
                        String::new()
                    } else {
                        format!(" through app {app}")
                    }
                );
                finding.observe("mailbox", ObservableKind::EmailAddress, &access.mailbox);
                finding.observe("resources.uid", ObservableKind::ResourceUid, app);
                finding.observe("user.name", ObservableKind::UserName, &access.user);
                finding.set("mailbox", json!(access.mailbox));
                finding.set("client_app_id", json!(app));
                finding.set("throttled", json!(access.throttled));
                add(&mut finding);
                finding
            },
            |finding| add(finding),
        );
    }
}

impl Detector for MailAccessThrottled {
    super::persist!(keep: [config, allowlist], after: |this, hasher| {
        let _ = hasher;
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
            entries: self.open.len(),
            evicted: 0,
            open_findings: self.open.len(),
            ..StateStats::default()
        }
    }
}
