//! `mail-access-throttled`: mail access so heavy that auditing throttles or aggregates it.
//!
//! **What.** A `MailItemsAccessed` record with `IsThrottled` = `True` (Exchange stops auditing a
//! mailbox for 24 h after 1,000 records in 24 h, and says so), or with `OperationCount` of at
//! least `min_operations` (default 100) in one record. Medium. One finding per app and window
//! lists every mailbox it read so (`mailboxes`); a record naming no app is reported per mailbox.
//!
//! **Why.** Bulk collection; and a throttled mailbox is a mailbox whose further reads go unseen.
//!
//! **False positives.** Mailbox migrations, backups and mobile clients' first sync: allow-list the
//! migration or backup app (its nightly run is one finding, not one per mailbox); a first sync is
//! one record per device.
//!
//! **ATT&CK.** T1114.002.

use super::kit::{self, Meta, Report, Rule, Stage};
use crate::attack::REMOTE_EMAIL_COLLECTION;
use crate::config::{Count, Duration};
use crate::event::{Event, MailboxAccess};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::time::HOUR;
use serde_json::json;

kit::config! {
    "mail-access-throttled";
    /// Items in one record that count as bulk (default 100).
    min_operations: Count = Count::new(100),
    /// Suppression window per app (per mailbox when the record names no app) (default `1h`).
    window: Duration = Duration(HOUR),
}

kit::rule! {
    /// The rule of `mail-access-throttled`.
    Throttled as MailAccessThrottled keeping u64,
    Meta { id: "mail-access-throttled", stage: Some(Stage::Collection),
           attack: &[REMOTE_EMAIL_COLLECTION], severity: Severity::Medium },
    |config, event, report| if let Event::MailboxAccess(access) = event { on_access(config, access, report) }
}

fn on_access(config: &Config, access: &MailboxAccess, report: &mut Report<u64>) {
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
            let title = if app.is_empty() {
                format!("Mailbox {} {what}", access.mailbox)
            } else if access.throttled {
                format!("Mail access throttled for app {app}")
            } else {
                format!("Mail read in bulk by app {app}")
            };
            let mut finding = Finding::new(
                Throttled::META.id,
                uid,
                Severity::Medium,
                access.time,
                title,
                Throttled::META.attack,
            );
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
