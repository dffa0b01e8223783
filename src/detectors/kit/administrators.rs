//! Known administrators: the accounts that make a tenant's administrative changes day after day.
//!
//! Most of what the admin detectors see is administrators at work: a help desk delegating a shared
//! mailbox, an identity team moving users off per-user MFA, a pipeline rotating secrets. An
//! intruder's account is new to that work (Midnight Blizzard's was a legacy test account). So each
//! tenant's lane keeps, per account, the days on which it made administrative changes, and tells
//! the detectors, with each event, on how many earlier days its actor did (within
//! `administrators.baseline`, default 30 days) once that reaches `administrators.days` (default
//! 3). Detectors that grade by it report such an account's change a level lower and say why; its
//! first changes, and every change in a new deployment's first days, keep their grade.
//!
//! An administrative change is a successful directory change or Exchange admin cmdlet, except
//! what an ordinary user does for itself: consenting to an application (and the grants and
//! service principal that consent writes), and changes to its own account (a role activation
//! excepted: activating one's own role is an administrator's act).

use ahash::RandomState;
use serde::{Deserialize, Serialize};

use super::routine::Routine;
use crate::config;
use crate::event::{AuditActivity, DirectoryAudit, Event};
use crate::finding::{Finding, Severity};
use crate::time::Timestamp;

/// The days each account made administrative changes (see the module docs).
#[derive(Debug, Serialize, Deserialize)]
pub struct Administrators {
    routine: Routine,
}

impl Administrators {
    /// An empty history of at most `settings.max_accounts` accounts.
    pub fn new(settings: &config::Administrators, hasher: &RandomState) -> Self {
        Administrators {
            routine: Routine::new(settings.max_accounts.get(), hasher),
        }
    }

    /// Takes in an event: for a directory change or Exchange cmdlet, returns on how many earlier
    /// days its actor made administrative changes if that makes it a known administrator (a
    /// consent is graded by its actor's history too), and marks the day when the change is an
    /// administrative one.
    pub fn observe(&mut self, settings: &config::Administrators, event: &Event) -> Option<u32> {
        let (actor, time, administrative) = actor(event)?;
        let baseline = settings.baseline.0;
        let earlier = self.routine.days_before(&actor, time, baseline);
        if administrative {
            self.routine
                .mark(&actor, time, time.saturating_sub(baseline));
        }
        (earlier as usize >= settings.days.get()).then_some(earlier)
    }

    /// Accounts held.
    pub fn len(&self) -> usize {
        self.routine.len()
    }

    /// Whether no account is held.
    pub fn is_empty(&self) -> bool {
        self.routine.is_empty()
    }

    /// Accounts dropped for the cap while still live.
    pub fn evicted(&self) -> u64 {
        self.routine.evicted()
    }

    /// Re-seeds the table after a restore.
    pub fn reseed(&mut self, hasher: &RandomState) {
        self.routine.reseed(hasher);
    }
}

/// The account that made a directory change or ran a cmdlet, as it is remembered (lowercased),
/// when, and whether the change is an administrative one.
fn actor(event: &Event) -> Option<(String, Timestamp, bool)> {
    match event {
        Event::DirectoryAudit(audit) if audit.success => {
            let name = audit.actor.name();
            (name != "unknown").then(|| (name.to_lowercase(), audit.time, !for_itself(audit)))
        }
        Event::ExchangeAdmin(admin) if admin.success && !admin.actor.is_empty() => {
            Some((admin.actor.to_lowercase(), admin.time, true))
        }
        _ => None,
    }
}

/// What any user may do for itself: consent, and changes to its own account but a role
/// activation.
fn for_itself(audit: &DirectoryAudit) -> bool {
    if matches!(
        audit.activity,
        AuditActivity::ConsentToApplication
            | AuditActivity::AddDelegatedPermissionGrant
            | AuditActivity::AddServicePrincipal
    ) && !audit.actor.is_app()
    {
        return true;
    }
    let own = |target: &crate::event::AuditTarget| {
        let user = audit.actor.user.as_deref();
        let object = audit.actor.object_id.as_deref();
        (user.is_some() && target.user.as_deref() == user)
            || (object.is_some() && target.id.as_deref() == object)
    };
    audit.targets.iter().any(own) && !audit.activity_name.to_ascii_lowercase().contains(" role")
}

/// `severity`, a level lower when a known administrator (`days`, from
/// [`crate::detectors::kit::Report::administrator`]) made the change.
pub fn graded(severity: Severity, days: Option<u32>) -> Severity {
    if days.is_some() {
        severity.lower()
    } else {
        severity
    }
}

/// Says on a finding that a known administrator made the change (it was graded by
/// [`graded`]): `administrator_days` and a note in the message.
pub fn note(finding: &mut Finding, days: Option<u32>) {
    if let Some(days) = days {
        finding.set("administrator_days", serde_json::json!(days));
        finding.message.push_str(&format!(
            " (by an account that made administrative changes on {days} earlier days: routine \
             administration, or an administrator's account in other hands)"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, AuditTarget, ExchangeAdmin, Shape};
    use crate::time::DAY;

    const T0: Timestamp = 1_740_531_600_000; // 2025-02-26T01:00:00Z

    fn audit(actor: &str, activity: &str, target: &str, time: Timestamp) -> Event {
        Event::DirectoryAudit(DirectoryAudit {
            time,
            id: format!("{actor}{time}"),
            shape: Shape::Graph,
            activity: AuditActivity::of(activity),
            activity_name: activity.into(),
            success: true,
            actor: Actor {
                user: Some(actor.into()),
                ..Actor::default()
            },
            targets: vec![AuditTarget {
                user: Some(target.into()),
                ..AuditTarget::default()
            }],
            modified: Vec::new(),
            details: Vec::new(),
            reason: None,
            tenant_id: None,
        })
    }

    #[test]
    fn three_earlier_days_of_changes_to_others_make_an_administrator() {
        let settings = config::Administrators::default();
        let mut known = Administrators::new(&settings, &crate::state::hasher(1));
        let admin = "hd.ana@contoso.com";
        for day in 0..3 {
            let event = audit(admin, "Reset password", "bo@contoso.com", T0 + day * DAY);
            assert_eq!(known.observe(&settings, &event), None, "day {day}");
        }
        // Twice on one day is still one day.
        let again = audit(
            admin,
            "Update user",
            "cy@contoso.com",
            T0 + 2 * DAY + 60_000,
        );
        assert_eq!(known.observe(&settings, &again), None);
        let exchange = Event::ExchangeAdmin(ExchangeAdmin {
            time: T0 + 3 * DAY,
            id: "x".into(),
            shape: Shape::UnifiedAudit,
            cmdlet: "Set-Mailbox".into(),
            parameters: Vec::new(),
            actor: admin.to_uppercase(),
            object: None,
            tenant_id: None,
            success: true,
        });
        assert_eq!(known.observe(&settings, &exchange), Some(3));
        // Past the baseline the days no longer count.
        let late = audit(admin, "Update user", "bo@contoso.com", T0 + 33 * DAY);
        assert_eq!(known.observe(&settings, &late), None);
    }

    #[test]
    fn what_users_do_for_themselves_is_no_administration() {
        let settings = config::Administrators::default();
        let mut known = Administrators::new(&settings, &crate::state::hasher(1));
        let user = "bo@contoso.com";
        for day in 0..4 {
            let time = T0 + day * DAY;
            for event in [
                audit(user, "Consent to application", "", time),
                audit(user, "Add delegated permission grant", "", time),
                audit(user, "Update user", user, time),
                audit(user, "Change user password", user, time),
            ] {
                assert_eq!(known.observe(&settings, &event), None);
            }
        }
        assert!(known.is_empty());
        // Consent does not make an administrator, but an administrator's consent is graded.
        let admin = "hd.ana@contoso.com";
        for day in 0..3 {
            let event = audit(admin, "Reset password", "bo@contoso.com", T0 + day * DAY);
            assert_eq!(known.observe(&settings, &event), None);
        }
        let consent = audit(admin, "Consent to application", "", T0 + 3 * DAY);
        assert_eq!(known.observe(&settings, &consent), Some(3));
        known.observe(
            &settings,
            &audit(admin, "Consent to application", "", T0 + 4 * DAY),
        );
        let later = audit(admin, "Consent to application", "", T0 + 5 * DAY);
        assert_eq!(
            known.observe(&settings, &later),
            Some(3),
            "consent days do not count"
        );
        // Activating one's own role is an administrator's act.
        for day in 0..4 {
            let event = audit(
                user,
                "Add member to role completed (PIM activation)",
                user,
                T0 + day * DAY,
            );
            let expected = (day == 3).then_some(3);
            assert_eq!(known.observe(&settings, &event), expected);
        }
    }

    #[test]
    fn grading_lowers_a_level_and_says_why() {
        assert_eq!(graded(Severity::High, Some(3)), Severity::Medium);
        assert_eq!(graded(Severity::High, None), Severity::High);
        let mut finding = Finding::new("x", "u".into(), Severity::High, T0, "t".into(), &[]);
        finding.message = "m".into();
        note(&mut finding, Some(4));
        assert!(finding
            .message
            .starts_with("m (by an account that made administrative changes on 4 earlier days"));
        note(&mut finding, None);
        assert!(finding.message.ends_with("other hands)"));
    }
}
