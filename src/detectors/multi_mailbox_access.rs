//! `multi-mailbox-access`: one application reads many mailboxes in a short time.
//!
//! **What.** One `ClientAppId` reads more than `max_mailboxes` (default 5) distinct mailboxes
//! within the window (default 10 min). High; low when the app did so on at least `routine_days`
//! (default 3) earlier days within `routine_baseline` (default 30 d): a routine sweep.
//!
//! **Why.** Collection at scale: the actor's app sweeping executives' mailboxes.
//!
//! **Logic.** A sliding distinct count of mailboxes per app (bounded); Microsoft first-party and
//! allow-listed apps are skipped. The days each app swept mailboxes are kept (a bit a day, see
//! `kit::routine`); a finding's grade is set when it opens.
//!
//! **False positives.** Backup, archiving and e-discovery tools: their first nights are high,
//! then their nightly run is low (`routine_days`); allow-list their app ids to drop them. An
//! intruder's app that has swept mailboxes for days is low too from then on: its first days were
//! high, and the incident (`attack-chain`) keeps them.
//!
//! **ATT&CK.** T1114.002.

use super::kit::routine::Routine;
use super::kit::{self, Distinct, Meta, Parts, Report, Rule, Stage, StateStats};
use crate::attack::REMOTE_EMAIL_COLLECTION;
use crate::config::{Count, Duration};
use crate::event::{Event, MailboxAccess};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::state::{BoundedMap, DistinctWindow};
use crate::time::{Timestamp, DAY, MINUTE};
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
    /// Earlier days (within `routine_baseline`) on which an app swept mailboxes that make its
    /// sweep routine: low (default 3; above 63, never).
    routine_days: Count = Count::new(3),
    /// How far back the days of `routine_days` count (default `30d`, at most 63 days).
    routine_baseline: Duration = Duration(30 * DAY),
}

/// What an open finding keeps: the mailboxes it has seen read, and the most read within one
/// window (its title).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reads {
    mailboxes: Distinct,
    most_in_window: usize,
    /// Earlier days the app swept mailboxes, when that made this sweep routine (0: not routine).
    #[serde(default)]
    routine_days: u32,
}

/// The `multi-mailbox-access` detector.
pub type MultiMailboxAccess = kit::Keyed<ManyMailboxes>;

/// The rule of `multi-mailbox-access`: its tables.
#[derive(Debug, Serialize, Deserialize)]
pub struct ManyMailboxes {
    windows: BoundedMap<DistinctWindow>,
    dropped: u64,
    /// The days each app swept mailboxes (snapshots of earlier versions have none).
    #[serde(default = "no_routine")]
    routine: Routine,
}

fn no_routine() -> Routine {
    Routine::new(10_000, &crate::state::unseeded())
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
            routine: Routine::new(config.max_apps.get(), parts.hasher),
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
            entries: self.windows.len() + self.routine.len(),
            evicted: self.windows.evicted() + self.dropped + self.routine.evicted(),
            ..StateStats::default()
        }
    }

    fn reseed(&mut self, hasher: &RandomState) {
        self.windows.reseed(hasher);
        self.routine.reseed(hasher);
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
        let baseline = config.routine_baseline.0;
        let earlier = self.routine.days_before(app, access.time, baseline);
        let routine = if earlier as usize >= config.routine_days.get() {
            earlier
        } else {
            0
        };
        self.routine.mark(
            app,
            access.time,
            report.watermark().saturating_sub(baseline),
        );
        let add = |finding: &mut Finding, reads: &mut Reads| {
            finding.add_evidence(&access.id);
            for mailbox in &mailboxes {
                finding.observe("mailbox", ObservableKind::EmailAddress, mailbox);
                finding.add_to("mailboxes", json!(mailbox));
                reads.mailboxes.add(mailbox);
            }
            reads.most_in_window = reads.most_in_window.max(distinct);
            finding.title = title(app, reads.most_in_window, window, reads.routine_days);
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
                reads.routine_days = routine;
                let mut finding = Finding::new(
                    ManyMailboxes::META.id,
                    uid,
                    if routine > 0 {
                        Severity::Low
                    } else {
                        Severity::High
                    },
                    access.time,
                    title(app, distinct, window, routine),
                    ManyMailboxes::META.attack,
                );
                if routine > 0 {
                    finding.set("routine_days", json!(routine));
                }
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

/// A finding's title: how many mailboxes within the window, and on how many earlier days the app
/// did so when that makes it routine.
fn title(app: &str, mailboxes: usize, window: Timestamp, routine_days: u32) -> String {
    let title = format!(
        "Application {app} read {mailboxes} mailboxes within {} min",
        window / MINUTE
    );
    if routine_days > 0 {
        format!("{title}, as on {routine_days} earlier days")
    } else {
        title
    }
}
