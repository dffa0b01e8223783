//! `mailbox-access-by-app`: an application reads mail for the first time.
//!
//! **What.** `MailItemsAccessed` by an OAuth application — through EWS (`ClientInfoString`
//! `Client=WebServices;ExchangeWebServices…`, `AppId` = `ClientAppId` = the app) or Graph
//! (`AppId` is Graph, `ClientAppId` the app) — whose `ClientAppId` is neither Microsoft
//! first-party nor allow-listed and was not seen reading mail within the horizon (default 7 d).
//! Medium.
//!
//! **Why.** The last stage of the intrusion: the actor's app reading corporate mailboxes.
//!
//! **Logic.** Apps seen reading mail are remembered (bounded); the first read opens a finding
//! that lists the mailboxes the app reads while it stays open.
//!
//! **False positives.** A newly deployed archiving or CRM integration: review once, then
//! allow-list its app id.
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
use crate::event::{Event, MailClient, MailboxAccess};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::state::BoundedMap;
use crate::time::{Timestamp, DAY, HOUR};
use crate::Error;

/// The detector id.
pub const ID: &str = "mailbox-access-by-app";

/// Settings of `mailbox-access-by-app`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Report findings at this severity instead of `medium`.
    pub severity: Option<Severity>,
    /// An app not seen reading mail for this long is new again (default `7d`).
    pub horizon: Duration,
    /// The finding stays open (listing mailboxes) this long after the app's last read (default
    /// `1h`).
    pub window: Duration,
    /// Apps remembered (default 100000).
    pub max_apps: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            severity: None,
            horizon: Duration(7 * DAY),
            window: Duration(HOUR),
            max_apps: 100_000,
        }
    }
}

impl Config {
    /// Checks the settings; errors name the field under `path`.
    pub fn validate(&self, path: &str) -> Result<(), Error> {
        positive(&format!("{path}.max_apps"), self.max_apps)
    }
}

/// The application behind an app-based mail read, if it is one.
pub fn reading_app(access: &MailboxAccess) -> Option<&str> {
    match access.client {
        MailClient::Ews | MailClient::Graph => access.client_app_id.as_deref(),
        MailClient::Other => None,
    }
}

/// The `mailbox-access-by-app` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct MailboxAccessByApp {
    #[serde(skip)]
    config: Config,
    #[serde(skip)]
    allowlist: Arc<Allowlist>,
    seen: BoundedMap<Timestamp>,
    open: Suppression,
}

impl MailboxAccessByApp {
    /// A detector with these settings.
    pub fn new(config: Config, allowlist: Arc<Allowlist>, hasher: &RandomState) -> Self {
        MailboxAccessByApp {
            seen: BoundedMap::new(config.max_apps, hasher),
            open: Suppression::new(ID, config.window.0),
            allowlist,
            config,
        }
    }

    fn on_access(&mut self, access: &MailboxAccess, context: &mut Context) {
        let Some(app) = reading_app(access) else {
            return;
        };
        if self.allowlist.known_app(app) {
            return;
        }
        let horizon = self.config.horizon.0;
        let live_since = context.watermark.saturating_sub(horizon);
        let mut new = false;
        let last = self.seen.get_or_insert_with(app, live_since, || {
            new = true;
            access.time
        });
        let lapsed = access.time.saturating_sub(*last) > horizon;
        *last = (*last).max(access.time);
        if !(new || lapsed || self.open.get(app).is_some()) {
            return;
        }
        let via = if access.client == MailClient::Ews {
            "EWS"
        } else {
            "Microsoft Graph"
        };
        let add = |finding: &mut Finding| {
            finding.add_evidence(&access.id);
            finding.observe("mailbox", ObservableKind::EmailAddress, &access.mailbox);
            finding.add_to("mailboxes", json!(access.mailbox));
            if let Some(ip) = &access.ip {
                finding.observe("src_endpoint.ip", ObservableKind::IpAddress, ip);
            }
            let count = finding
                .unmapped
                .get("mailboxes")
                .and_then(|m| m.as_array())
                .map_or(0, Vec::len);
            finding.message = format!(
                "application {app} read {count} mailbox(es) through {via}, for the first time"
            );
        };
        self.open.report(
            app,
            access.time,
            context,
            |uid| {
                let mut finding = Finding::new(
                    ID,
                    uid,
                    Severity::Medium,
                    access.time,
                    format!("Application {app} reads mail"),
                    &[REMOTE_EMAIL_COLLECTION],
                );
                finding.observe("resources.uid", ObservableKind::ResourceUid, app);
                finding.set("client_app_id", json!(app));
                finding.set("via", json!(via));
                add(&mut finding);
                finding
            },
            |finding| add(finding),
        );
    }
}

impl Detector for MailboxAccessByApp {
    super::persist!(keep: [config, allowlist], after: |this, hasher| {
        this.seen.reseed(hasher);
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
            entries: self.seen.len(),
            evicted: self.seen.evicted(),
            open_findings: self.open.len(),
            ..StateStats::default()
        }
    }
}
