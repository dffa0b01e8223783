//! `mail-access-throttled`: mail access so heavy that auditing throttles or aggregates it.
//!
//! **What.** A `MailItemsAccessed` record with `IsThrottled` = `True` (Exchange stops auditing a
//! mailbox for 24 h after 1,000 records in 24 h, and says so), or with `OperationCount` of at
//! least `min_operations` (default 100) in one record. Medium; low when the app read so on at
//! least `routine_days` (default 3) earlier days within `routine_baseline` (default 30 d). One
//! finding per app and window lists every mailbox it read so (`mailboxes`); a record naming no app
//! is reported per mailbox.
//!
//! **Why.** Bulk collection; and a throttled mailbox is a mailbox whose further reads go unseen.
//!
//! **False positives.** Mailbox migrations, backups and mobile clients' first sync: a backup's
//! nightly run is one finding, not one per mailbox, and low from its fourth night
//! (`routine_days`); allow-list the migration or backup app to drop it; a first sync is one record
//! per device.
//!
//! **ATT&CK.** T1114.002.

use super::kit::routine::Routine;
use super::kit::{self, Meta, Parts, Report, Rule, Stage, StateStats};
use crate::attack::REMOTE_EMAIL_COLLECTION;
use crate::config::{Count, Duration};
use crate::event::{Event, MailboxAccess};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::time::{Timestamp, DAY, HOUR};
use ahash::RandomState;
use serde::{Deserialize, Serialize};
use serde_json::json;

kit::config! {
    "mail-access-throttled";
    /// Items in one record that count as bulk (default 100).
    min_operations: Count = Count::new(100),
    /// Suppression window per app (per mailbox when the record names no app) (default `1h`).
    window: Duration = Duration(HOUR),
    /// Earlier days (within `routine_baseline`) on which an app read in bulk that make its bulk
    /// read routine: low (default 3; above 63, never).
    routine_days: Count = Count::new(3),
    /// How far back the days of `routine_days` count (default `30d`, at most 63 days).
    routine_baseline: Duration = Duration(30 * DAY),
    /// Apps whose days are kept (default 10000).
    max_apps: Count = Count::new(10_000),
}

/// The detector that runs [`Throttled`].
pub type MailAccessThrottled = kit::Keyed<Throttled>;

/// The rule of `mail-access-throttled`: the days each app read in bulk.
#[derive(Debug, Serialize, Deserialize)]
pub struct Throttled {
    /// (Snapshots of earlier versions have none.)
    #[serde(default = "no_routine")]
    routine: Routine,
}

fn no_routine() -> Routine {
    Routine::new(10_000, &crate::state::unseeded())
}

impl Rule for Throttled {
    const META: Meta = Meta {
        id: "mail-access-throttled",
        stage: Some(Stage::Collection),
        attack: &[REMOTE_EMAIL_COLLECTION],
        severity: Severity::Medium,
    };
    type Config = Config;
    /// The items read so far.
    type Open = u64;

    fn new(config: &Config, parts: &Parts) -> Self {
        Throttled {
            routine: Routine::new(config.max_apps.get(), parts.hasher),
        }
    }

    fn window(config: &Config) -> Timestamp {
        config.window.0
    }

    fn on_event(&mut self, config: &Config, event: &Event, report: &mut Report<u64>) {
        if let Event::MailboxAccess(access) = event {
            on_access(&mut self.routine, config, access, report);
        }
    }

    fn state(&self) -> StateStats {
        StateStats {
            entries: self.routine.len(),
            evicted: self.routine.evicted(),
            ..StateStats::default()
        }
    }

    fn reseed(&mut self, hasher: &RandomState) {
        self.routine.reseed(hasher);
    }
}

fn on_access(
    routine: &mut Routine,
    config: &Config,
    access: &MailboxAccess,
    report: &mut Report<u64>,
) {
    let bulk = access.operation_count >= config.min_operations.get() as u64;
    if !(access.throttled || bulk) {
        return;
    }
    let app = access.client_app_id.as_deref().unwrap_or("");
    if !app.is_empty() && report.allowlist.known_app(app) && !access.throttled {
        return;
    }
    // One finding per app (a backup or an attacker's app reads many mailboxes, each in bulk:
    // one finding lists them), or per mailbox when no app is named.
    let key = if app.is_empty() {
        format!("{}|", access.mailbox)
    } else {
        format!("app|{app}")
    };
    // The days are an app's: a record naming none is never routine.
    let baseline = config.routine_baseline.0;
    let earlier = if app.is_empty() {
        0
    } else {
        let earlier = routine.days_before(app, access.time, baseline);
        routine.mark(
            app,
            access.time,
            report.watermark().saturating_sub(baseline),
        );
        earlier
    };
    let routine_days = if earlier as usize >= config.routine_days.get() {
        earlier
    } else {
        0
    };
    let add = |finding: &mut Finding, operations: &mut u64| {
        finding.add_evidence(&access.id);
        if access.throttled {
            finding.set("throttled", json!(true));
        }
        *operations = operations.saturating_add(access.operation_count);
        finding.set("operations", json!(*operations));
        finding.observe("mailbox", ObservableKind::EmailAddress, &access.mailbox);
        finding.add_to("mailboxes", json!(access.mailbox));
        finding.observe("user.name", ObservableKind::UserName, &access.user);
    };
    report.report_with(
        &key,
        access.time,
        |uid, operations| {
            let what = if access.throttled {
                "throttled"
            } else {
                "read in bulk"
            };
            let mut title = if app.is_empty() {
                format!("Mailbox {} {what}", access.mailbox)
            } else if access.throttled {
                format!("Mail access throttled for app {app}")
            } else {
                format!("Mail read in bulk by app {app}")
            };
            if routine_days > 0 {
                title = format!("{title}, as on {routine_days} earlier days");
            }
            let mut finding = Finding::new(
                Throttled::META.id,
                uid,
                if routine_days > 0 {
                    Severity::Low
                } else {
                    Severity::Medium
                },
                access.time,
                title,
                Throttled::META.attack,
            );
            if routine_days > 0 {
                finding.set("routine_days", json!(routine_days));
            }
            finding.message = format!(
                "mailbox {} {what}: {} items in one record by {}{}",
                access.mailbox,
                access.operation_count,
                access.user,
                if app.is_empty() {
                    String::new()
                } else {
                    format!(" through app {app} (the mailboxes it read so, under mailboxes)")
                }
            );
            finding.observe("mailbox", ObservableKind::EmailAddress, &access.mailbox);
            finding.observe("resources.uid", ObservableKind::ResourceUid, app);
            finding.observe("user.name", ObservableKind::UserName, &access.user);
            finding.set("mailbox", json!(access.mailbox));
            finding.set("client_app_id", json!(app));
            finding.set("throttled", json!(access.throttled));
            add(&mut finding, operations);
            finding
        },
        add,
    );
}
