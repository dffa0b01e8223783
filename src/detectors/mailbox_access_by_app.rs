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

use super::kit::{self, Distinct, Meta, Parts, Report, Rule, Stage, StateStats};
use crate::attack::REMOTE_EMAIL_COLLECTION;
use crate::config::{Count, Duration};
use crate::event::{Event, MailClient, MailboxAccess};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::state::BoundedMap;
use crate::time::{Timestamp, DAY, HOUR};
use ahash::RandomState;
use serde::{Deserialize, Serialize};
use serde_json::json;

kit::config! {
    "mailbox-access-by-app";
    /// An app not seen reading mail for this long is new again (default `7d`).
    horizon: Duration = Duration(7 * DAY),
    /// The finding stays open (listing mailboxes) this long after the app's last read (default
    /// `1h`).
    window: Duration = Duration(HOUR),
    /// Apps remembered (default 100000).
    max_apps: Count = Count::new(100_000),
}

/// The application behind an app-based mail read, if it is one.
pub fn reading_app(access: &MailboxAccess) -> Option<&str> {
    match access.client {
        MailClient::Ews | MailClient::Graph => access.client_app_id.as_deref(),
        MailClient::Other => None,
    }
}

/// The `mailbox-access-by-app` detector.
pub type MailboxAccessByApp = kit::Keyed<ByApp>;

/// The rule of `mailbox-access-by-app`: its tables.
#[derive(Debug, Serialize, Deserialize)]
pub struct ByApp {
    seen: BoundedMap<Timestamp>,
}

impl Rule for ByApp {
    const META: Meta = Meta {
        id: "mailbox-access-by-app",
        stage: Some(Stage::Collection),
        attack: &[REMOTE_EMAIL_COLLECTION],
        severity: Severity::Medium,
    };
    type Config = Config;
    type Open = Distinct;

    fn new(config: &Config, parts: &Parts) -> Self {
        ByApp {
            seen: BoundedMap::new(config.max_apps.get(), parts.hasher),
        }
    }

    fn window(config: &Config) -> Timestamp {
        config.window.0
    }

    fn on_event(&mut self, config: &Config, event: &Event, report: &mut Report<Distinct>) {
        if let Event::MailboxAccess(access) = event {
            self.on_access(config, access, report);
        }
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.seen.len(),
            evicted: self.seen.evicted(),
            ..StateStats::default()
        }
    }

    fn reseed(&mut self, hasher: &RandomState) {
        self.seen.reseed(hasher);
    }
}

impl ByApp {
    fn on_access(
        &mut self,
        config: &Config,
        access: &MailboxAccess,
        report: &mut Report<Distinct>,
    ) {
        let Some(app) = reading_app(access) else {
            return;
        };
        if report.allowlist.known_app(app) {
            return;
        }
        let horizon = config.horizon.0;
        let live_since = report.watermark().saturating_sub(horizon);
        let mut new = false;
        let last = self.seen.get_or_insert_with(app, live_since, || {
            new = true;
            access.time
        });
        let lapsed = access.time.saturating_sub(*last) > horizon;
        *last = (*last).max(access.time);
        if !(new || lapsed || report.open(app).is_some()) {
            return;
        }
        let via = if access.client == MailClient::Ews {
            "EWS"
        } else {
            "Microsoft Graph"
        };
        let add = |finding: &mut Finding, mailboxes: &mut Distinct| {
            finding.add_evidence(&access.id);
            finding.observe("mailbox", ObservableKind::EmailAddress, &access.mailbox);
            finding.add_to("mailboxes", json!(access.mailbox));
            if let Some(ip) = &access.ip {
                finding.observe("src_endpoint.ip", ObservableKind::IpAddress, ip);
            }
            mailboxes.add(&access.mailbox);
            finding.message = format!(
                "application {app} read {} mailbox(es) through {via}, for the first time",
                mailboxes.said()
            );
        };
        report.report_with(
            app,
            access.time,
            |uid, mailboxes| {
                let mut finding = Finding::new(
                    ByApp::META.id,
                    uid,
                    Severity::Medium,
                    access.time,
                    format!("Application {app} reads mail"),
                    ByApp::META.attack,
                );
                finding.observe("resources.uid", ObservableKind::ResourceUid, app);
                finding.set("client_app_id", json!(app));
                finding.set("via", json!(via));
                add(&mut finding, mailboxes);
                finding
            },
            add,
        );
    }
}
