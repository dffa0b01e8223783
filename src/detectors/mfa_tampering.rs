//! `mfa-tampering`: multi-factor authentication taken away, for one user or by policy.
//!
//! **What.** A user's per-user MFA turned off (`Disable Strong Authentication`, or `Update user`
//! emptying its `StrongAuthenticationRequirement`, as `Set-MsolUser` and Graph do): high. A
//! Conditional Access policy that was enforced (`state` `enabled`) deleted, or updated to
//! `disabled` or report-only, or to no longer require MFA: high. An enforced policy updated to
//! exclude more users or groups: medium. Every MFA method a user had registered removed by
//! another account (`Update user` emptying `StrongAuthenticationMethod`, "require re-register
//! MFA"), or a Temporary Access Pass issued for a user by another account (`Admin registered
//! security info`, the pass named in `resultReason`): medium.
//!
//! **Why.** An intruder who holds a password keeps using it once the second factor is gone: from
//! its own account, or for the accounts it took over. MFA was what the seed's spray could not get
//! past, and what Midnight Blizzard looked for accounts without. Cleared methods and a pass are
//! the quieter ways: the next to register (the password's holder) or the pass's holder passes
//! MFA as the user.
//!
//! **Logic.** The policy's before and after are the `ConditionalAccessPolicy` property (the policy
//! as JSON, as the Conditional Access service logs it); a policy whose before is missing or
//! unreadable is reported when deleted or changed, as it may have been enforced. Deleting or
//! switching off a policy that was already off or report-only enforces nothing and is not
//! reported; nor is turning a policy on, or any change that keeps it enforced and excludes no one
//! new. Per-user MFA is off when `StrongAuthenticationRequirement` held a requirement (`Enabled` or
//! `Enforced`, for any relying party) and now holds none; the two records one change may write
//! share one finding, and so do all the users one account turns it off for within the window (a
//! script's sweep is one finding that lists its users); cleared methods and passes are grouped
//! the same way, each apart. A change counts as another account's only when a user acted on a
//! different user: a user's own changes, and a service acting as an app, do not. An
//! administrator registering a phone or app for a user is not reported. One finding per policy
//! (or acting account) per window (default 1 h). A known administrator's changes (an account that made
//! administrative changes on 3 earlier days within 30, see `administrators` in the README) are a
//! level lower (high to medium, medium to low), and say so; its cleared methods and passes, the
//! helpdesk's daily work, are informational, kept back and counted in `stats` unless
//! `report_informational` is set. An intruder's first changes, and every change in a new
//! deployment's first days, keep their grade.
//!
//! **False positives.** Conditional Access clean-ups and break-glass exclusions by the identity
//! team: allow-list the administrators who do it (`allowlist.service_accounts`). Per-user MFA
//! turned off while a tenant moves to Conditional Access: the same. The helpdesk clearing the
//! methods of users who lost a phone, or issuing passes to new starters: a known administrator's
//! work, kept back once its account is known; in a new deployment's first days, medium.
//!
//! **ATT&CK.** T1556.006.

use serde_json::{json, Value};

use super::kit::administrators;
use super::kit::{self, observe_actor, Distinct, Meta, Report, Rule, Stage};
use crate::attack::MODIFY_MFA;
use crate::config::Duration;
use crate::event::{AuditActivity, DirectoryAudit, Event};
use crate::finding::{ObservableKind, Severity};
use crate::time::HOUR;

kit::config! {
    "mfa-tampering";
    /// Suppression window per policy or user (default `1h`).
    window: Duration = Duration(HOUR),
    /// Emit the informational findings kept back: a known administrator clearing a user's MFA
    /// methods or issuing a Temporary Access Pass (helpdesk work; counted in `stats` either way).
    report_informational: bool = false,
}

kit::rule! {
    /// The rule of `mfa-tampering`.
    MfaOff as MfaTampering keeping Distinct,
    Meta { id: "mfa-tampering", stage: Some(Stage::Privilege),
           attack: &[MODIFY_MFA], severity: Severity::High },
    |config, event, report| if let Event::DirectoryAudit(audit) = event {
        on_audit(config, audit, report)
    }
}

/// A Conditional Access policy as its property holds it (a JSON object, or a string of one).
fn policy(text: Option<&str>) -> Option<Value> {
    let value: Value = serde_json::from_str(text?.trim()).ok()?;
    match value {
        Value::String(inner) => serde_json::from_str(&inner).ok(),
        Value::Object(_) => Some(value),
        _ => None,
    }
    .filter(Value::is_object)
}

fn member<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    value
        .as_object()?
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(key))
        .map(|(_, member)| member)
}

/// The policy's `state` (`enabled`, `disabled`, `enabledForReportingButNotEnforced`).
fn state(policy: &Value) -> Option<&str> {
    member(policy, "state").and_then(Value::as_str)
}

fn enforced(policy: &Value) -> bool {
    state(policy).is_some_and(|state| state.eq_ignore_ascii_case("enabled"))
}

/// The policy's grant requires MFA (`builtInControls` `mfa`, or an authentication strength).
fn requires_mfa(policy: &Value) -> bool {
    let Some(grant) = member(policy, "grantControls") else {
        return false;
    };
    member(grant, "builtInControls")
        .and_then(Value::as_array)
        .is_some_and(|controls| {
            controls
                .iter()
                .any(|c| c.as_str().is_some_and(|c| c.eq_ignore_ascii_case("mfa")))
        })
        || member(grant, "authenticationStrength").is_some_and(|strength| !strength.is_null())
}

/// How many entries a `StrongAuthenticationRequirement` or `StrongAuthenticationMethod` value
/// lists (a JSON list, or a string of one; empty or `null` is none). `None` when the value is not
/// such a list.
fn listed(text: &str) -> Option<usize> {
    let text = text.trim();
    if text.is_empty() {
        return Some(0);
    }
    match serde_json::from_str(text).ok()? {
        Value::String(inner) => listed(&inner),
        Value::Array(list) => Some(list.len()),
        Value::Null => Some(0),
        _ => None,
    }
}

/// What a change did to one user's MFA. Such changes are grouped by the account that makes them:
/// a sweep over many users is one finding that lists them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sweep {
    /// Per-user MFA turned off.
    MfaOff,
    /// Every registered MFA method removed by another account (the user must register anew,
    /// and whoever holds the password can register their own).
    MethodsCleared,
    /// A Temporary Access Pass issued by another account: a passcode that satisfies MFA.
    AccessPass,
}

impl Sweep {
    fn severity(self) -> Severity {
        match self {
            Sweep::MfaOff => Severity::High,
            Sweep::MethodsCleared | Sweep::AccessPass => Severity::Medium,
        }
    }

    /// Its part of the finding's key (`per-user` as before the other two).
    fn key(self) -> &'static str {
        match self {
            Sweep::MfaOff => "per-user",
            Sweep::MethodsCleared => "methods",
            Sweep::AccessPass => "access-pass",
        }
    }

    fn title(self, users: &str, by: &str) -> String {
        match self {
            Sweep::MfaOff => format!("Per-user MFA turned off for {users} by {by}"),
            Sweep::MethodsCleared => format!("Every MFA method of {users} removed by {by}"),
            Sweep::AccessPass => format!("Temporary Access Pass issued for {users} by {by}"),
        }
    }

    fn did(self) -> &'static str {
        match self {
            Sweep::MfaOff => "turned per-user MFA off for",
            Sweep::MethodsCleared => "removed every MFA method of",
            Sweep::AccessPass => "issued a Temporary Access Pass for",
        }
    }
}

/// The change was made to a user by another user's account. A user's own changes to its methods
/// (and the service that writes them on its behalf, which acts as an app) are not.
fn by_another(audit: &DirectoryAudit) -> bool {
    let (Some(by), Some(target)) = (audit.actor.user.as_deref(), audit.targets.first()) else {
        return false;
    };
    match (target.user.as_deref(), target.id.as_deref()) {
        (Some(user), _) => !user.eq_ignore_ascii_case(by),
        (None, Some(id)) => audit
            .actor
            .object_id
            .as_deref()
            .is_some_and(|own| !own.eq_ignore_ascii_case(id)),
        (None, None) => false,
    }
}

/// `Update user` by another account took away every MFA method the user had registered
/// (`StrongAuthenticationMethod`, a list of `{MethodType, Default}`, emptied): "require
/// re-register MFA".
fn methods_cleared(audit: &DirectoryAudit) -> bool {
    const PROPERTY: &str = "StrongAuthenticationMethod";
    let (Some(old), Some(new)) = (audit.old_value(PROPERTY), audit.new_value(PROPERTY)) else {
        return false;
    };
    listed(new) == Some(0) && listed(old).is_some_and(|had| had > 0) && by_another(audit)
}

/// `Admin registered security info` whose `resultReason` says it was a Temporary Access Pass.
fn access_pass(audit: &DirectoryAudit) -> bool {
    audit.reason.as_deref().is_some_and(|reason| {
        reason
            .to_ascii_lowercase()
            .contains("temporary access pass")
    }) && by_another(audit)
}

/// `Update user` took away every per-user MFA requirement the user had.
fn per_user_mfa_removed(audit: &DirectoryAudit) -> bool {
    const PROPERTY: &str = "StrongAuthenticationRequirement";
    let (Some(old), Some(new)) = (audit.old_value(PROPERTY), audit.new_value(PROPERTY)) else {
        return false;
    };
    listed(new) == Some(0) && listed(old).is_some_and(|had| had > 0)
}

/// The policy's `displayName`, after the change or before it.
fn policy_name(audit: &DirectoryAudit) -> Option<String> {
    [
        audit.new_value("ConditionalAccessPolicy"),
        audit.old_value("ConditionalAccessPolicy"),
    ]
    .into_iter()
    .filter_map(policy)
    .find_map(|policy| {
        member(&policy, "displayName")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
    })
}

/// Users and groups the policy excludes.
fn exclusions(policy: &Value) -> Vec<String> {
    let Some(users) = member(policy, "conditions").and_then(|c| member(c, "users")) else {
        return Vec::new();
    };
    ["excludeUsers", "excludeGroups", "excludeRoles"]
        .iter()
        .filter_map(|key| member(users, key).and_then(Value::as_array))
        .flatten()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect()
}

fn on_audit(config: &Config, audit: &DirectoryAudit, report: &mut Report<Distinct>) {
    if !audit.success || report.allowlist.service_actor(&audit.actor) {
        return;
    }
    let actor = &audit.actor;
    let target = audit.targets.first();
    let label = target.map(|t| t.label()).unwrap_or_default();
    // A policy by the name its own JSON gives it: the unified audit log's target is an id.
    let name = match audit.activity {
        AuditActivity::UpdateConditionalAccessPolicy
        | AuditActivity::DeleteConditionalAccessPolicy => policy_name(audit).unwrap_or(label),
        _ => label,
    };
    let by = actor.name();
    let sweep = match audit.activity {
        AuditActivity::DisableStrongAuthentication => Some(Sweep::MfaOff),
        AuditActivity::UpdateUser if per_user_mfa_removed(audit) => Some(Sweep::MfaOff),
        AuditActivity::UpdateUser if methods_cleared(audit) => Some(Sweep::MethodsCleared),
        AuditActivity::AdminRegisteredSecurityInfo if access_pass(audit) => Some(Sweep::AccessPass),
        _ => None,
    };
    let (severity, title, detail) = match (sweep, audit.activity) {
        (Some(sweep), _) => {
            let user = target
                .and_then(|t| t.user.clone())
                .unwrap_or_else(|| name.clone());
            (
                sweep.severity(),
                sweep.title(&user, by),
                json!({"user": user}),
            )
        }
        (_, AuditActivity::DisableStrongAuthentication | AuditActivity::UpdateUser) => return,
        (_, AuditActivity::DeleteConditionalAccessPolicy) => {
            let before = policy(audit.old_value("ConditionalAccessPolicy"));
            if before.as_ref().is_some_and(|before| !enforced(before)) {
                return;
            }
            (
                Severity::High,
                format!("Conditional Access policy {name} deleted by {by}"),
                json!({"policy": name, "state_before": before.as_ref().and_then(state)}),
            )
        }
        (_, AuditActivity::UpdateConditionalAccessPolicy) => {
            let before = policy(audit.old_value("ConditionalAccessPolicy"));
            let after = policy(audit.new_value("ConditionalAccessPolicy"));
            if before.as_ref().is_some_and(|before| !enforced(before)) {
                return;
            }
            let Some(after) = after else {
                return;
            };
            if !enforced(&after) {
                (
                    Severity::High,
                    format!(
                        "Conditional Access policy {name} switched to {} by {by}",
                        state(&after).unwrap_or("an unknown state")
                    ),
                    json!({"policy": name, "state_before": before.as_ref().and_then(state),
                           "state_after": state(&after)}),
                )
            } else if before.as_ref().is_some_and(requires_mfa) && !requires_mfa(&after) {
                (
                    Severity::High,
                    format!("Conditional Access policy {name} no longer requires MFA, by {by}"),
                    json!({"policy": name, "grant_before": before.as_ref().and_then(|b| member(b, "grantControls")),
                           "grant_after": member(&after, "grantControls")}),
                )
            } else {
                let had = before.as_ref().map(exclusions).unwrap_or_default();
                let added: Vec<String> = exclusions(&after)
                    .into_iter()
                    .filter(|id| !had.iter().any(|old| old.eq_ignore_ascii_case(id)))
                    .collect();
                if added.is_empty() || before.is_none() {
                    return;
                }
                (
                    Severity::Medium,
                    format!(
                        "Conditional Access policy {name} now excludes {} more users or groups by {by}",
                        added.len()
                    ),
                    json!({"policy": name, "excluded": added}),
                )
            }
        }
        _ => return,
    };
    // A known administrator's change: a level lower. Clearing methods and issuing passes is the
    // helpdesk's daily work: a known administrator's is informational, kept back unless asked for.
    let administrator = report.administrator();
    let severity = match sweep {
        Some(Sweep::MethodsCleared | Sweep::AccessPass) if administrator.is_some() => {
            if !config.report_informational {
                report.keep_back();
                return;
            }
            Severity::Informational
        }
        _ => administrators::graded(severity, administrator),
    };
    // A change to one user's MFA is keyed by the account that makes it: `Disable Strong
    // Authentication` and the `Update user` beside it are one change, and a script's sweep over
    // many users is one finding that lists them.
    let user = detail.get("user").and_then(Value::as_str);
    let key = match sweep {
        Some(sweep) => format!("{}|{}", sweep.key(), by.to_ascii_lowercase()),
        None => format!("{:?}|{}", audit.activity, name.to_ascii_lowercase()),
    };
    report.report_with(
        &key,
        audit.time,
        |uid, users| {
            if let Some(user) = user {
                users.add(&user.to_ascii_lowercase());
            }
            let mut finding = MfaOff::META.finding(uid, audit.time, title.clone());
            finding.severity = severity;
            finding.message = format!(
                "{by} ran {}: {title}",
                audit.activity_name.trim().trim_end_matches('.'),
            );
            administrators::note(&mut finding, administrator);
            observe_actor(&mut finding, actor);
            if let Some(user) = target.and_then(|t| t.user.as_deref()) {
                finding.observe("user.name", ObservableKind::UserName, user);
            }
            if let Some(id) = target.and_then(|t| t.id.as_deref()) {
                finding.observe("resources.uid", ObservableKind::ResourceUid, id);
            }
            finding.set("change", detail.clone());
            if let Some(user) = user {
                finding.add_to("users", json!(user));
            }
            finding.add_evidence(&audit.id);
            finding
        },
        |finding, users| {
            finding.add_evidence(&audit.id);
            finding.severity = finding.severity.max(severity);
            let (Some(user), Some(sweep)) = (user, sweep) else {
                return;
            };
            if !users.add(&user.to_ascii_lowercase()) {
                return;
            }
            finding.add_to("users", json!(user));
            finding.observe("user.name", ObservableKind::UserName, user);
            if let Some(id) = target.and_then(|t| t.id.as_deref()) {
                finding.observe("resources.uid", ObservableKind::ResourceUid, id);
            }
            let many = format!("{} users", users.said());
            finding.title = sweep.title(&many, by);
            finding.message = format!("{by} {} {many}, one after another", sweep.did());
            administrators::note(finding, administrator);
        },
    );
}

#[cfg(test)]
mod tests {
    use super::{enforced, exclusions, listed, policy, requires_mfa};

    #[test]
    fn a_snapshot_that_kept_days_still_loads() {
        // The versions before the known administrators saved the days each account changed MFA.
        let saved = r#"{"routine":{"days":{"cap":8,"map":{}}}}"#;
        assert!(serde_json::from_str::<super::MfaOff>(saved).is_ok());
        assert!(serde_json::from_str::<super::MfaOff>("null").is_ok());
    }

    #[test]
    fn per_user_requirements_are_counted_in_any_quoting() {
        let enforced = r#"[{"RelyingParty":"*","State":1,"RememberDevicesNotIssuedBefore":"2023-09-01T08:12:44Z"}]"#;
        assert_eq!(listed(enforced), Some(1));
        assert_eq!(listed(&serde_json::to_string(enforced).unwrap()), Some(1));
        assert_eq!(listed("[]"), Some(0));
        assert_eq!(listed("\"[]\""), Some(0));
        assert_eq!(listed(""), Some(0));
        assert_eq!(listed("null"), Some(0));
        assert_eq!(listed("Enforced"), None);
        assert_eq!(listed("{}"), None);
    }

    #[test]
    fn a_policy_is_read_as_json_or_a_string_of_it() {
        let object = r#"{"state":"enabled","conditions":{"users":{"excludeUsers":["a"],"excludeGroups":["g"]}}}"#;
        let read = policy(Some(object)).unwrap();
        assert!(enforced(&read));
        assert!(!requires_mfa(&read));
        assert_eq!(exclusions(&read), ["a", "g"]);
        let mfa = r#"{"grantControls":{"builtInControls":["MFA"]}}"#;
        assert!(requires_mfa(&policy(Some(mfa)).unwrap()));
        let strength = r#"{"grantControls":{"builtInControls":[],"authenticationStrength":{"id":"00000000-0000-0000-0000-000000000002"}}}"#;
        assert!(requires_mfa(&policy(Some(strength)).unwrap()));
        let quoted = serde_json::to_string(object).unwrap();
        assert!(enforced(&policy(Some(&quoted)).unwrap()));
        let off = r#"{"State":"enabledForReportingButNotEnforced"}"#;
        assert!(!enforced(&policy(Some(off)).unwrap()));
        assert!(policy(Some("")).is_none());
        assert!(policy(Some("[1]")).is_none());
        assert!(policy(None).is_none());
    }
}
