//! `exchange-impersonation-role`: mailbox-wide access handed out through Exchange admin cmdlets.
//!
//! **What.** `New-ManagementRoleAssignment` with `Role` `ApplicationImpersonation`, or
//! `Add-MailboxPermission` with `AccessRights` `FullAccess`, `ChangePermission` or `ChangeOwner`.
//! High.
//!
//! **Why.** ApplicationImpersonation lets an identity act as any mailbox user through EWS; full
//! access delegates a mailbox. (ApplicationImpersonation was retired from Exchange Online in 2025;
//! older logs and on-premises Exchange still carry it.)
//!
//! **False positives.** Help-desk delegation of shared mailboxes: allow-list the admin accounts
//! that do it (`allowlist.service_accounts`).
//!
//! **ATT&CK.** T1098.002.

use super::kit::{self, Meta, Report, Rule, Stage};
use crate::attack::ADDITIONAL_EMAIL_DELEGATE;
use crate::config::Duration;
use crate::event::{Event, ExchangeAdmin};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::time::HOUR;
use serde_json::json;

kit::config! {
    "exchange-impersonation-role";
    /// Suppression window per actor and grantee (default `1h`).
    window: Duration = Duration(HOUR),
}

kit::rule! {
    /// The rule of `exchange-impersonation-role`.
    ImpersonationRole as ExchangeImpersonationRole,
    Meta { id: "exchange-impersonation-role", stage: Some(Stage::Privilege),
           attack: &[ADDITIONAL_EMAIL_DELEGATE], severity: Severity::High },
    |_, event, report| if let Event::ExchangeAdmin(admin) = event { on_admin(admin, report) }
}

const DANGEROUS_RIGHTS: [&str; 3] = ["FullAccess", "ChangePermission", "ChangeOwner"];

fn on_admin(admin: &ExchangeAdmin, report: &mut Report) {
    if !admin.success || report.allowlist.service_account(&admin.actor) {
        return;
    }
    let (what, grantee, mailbox) = if admin
        .cmdlet
        .eq_ignore_ascii_case("New-ManagementRoleAssignment")
    {
        if !admin
            .parameter("Role")
            .is_some_and(|role| role.trim().eq_ignore_ascii_case("ApplicationImpersonation"))
        {
            return;
        }
        let grantee = admin
            .parameter("User")
            .or(admin.parameter("App"))
            .or(admin.parameter("SecurityGroup"));
        (
            "ApplicationImpersonation".to_owned(),
            grantee.unwrap_or("").to_owned(),
            String::new(),
        )
    } else if admin.cmdlet.eq_ignore_ascii_case("Add-MailboxPermission") {
        let rights = admin.parameter("AccessRights").unwrap_or("");
        let granted: Vec<&str> = DANGEROUS_RIGHTS
            .iter()
            .copied()
            .filter(|right| {
                rights
                    .split([',', ' ', ';'])
                    .any(|r| r.trim().eq_ignore_ascii_case(right))
            })
            .collect();
        if granted.is_empty() {
            return;
        }
        let mailbox = admin
            .parameter("Identity")
            .or(admin.object.as_deref())
            .unwrap_or("");
        (
            granted.join(", "),
            admin.parameter("User").unwrap_or("").to_owned(),
            mailbox.to_owned(),
        )
    } else {
        return;
    };
    let key = format!("{}|{}|{grantee}", admin.actor, admin.cmdlet);
    report.report(
        &key,
        admin.time,
        |uid| {
            let mut finding = Finding::new(
                ImpersonationRole::META.id,
                uid,
                Severity::High,
                admin.time,
                format!("{what} granted to {grantee} by {}", admin.actor),
                ImpersonationRole::META.attack,
            );
            finding.message = format!(
                "{} ran {} granting {what} to {grantee}{}",
                admin.actor,
                admin.cmdlet,
                if mailbox.is_empty() {
                    String::new()
                } else {
                    format!(" on mailbox {mailbox}")
                }
            );
            finding.observe("actor.user.name", ObservableKind::UserName, &admin.actor);
            finding.observe("user.name", ObservableKind::UserName, &grantee);
            finding.observe("mailbox", ObservableKind::EmailAddress, &mailbox);
            finding.set("cmdlet", json!(admin.cmdlet));
            finding.set(
                "parameters",
                json!(admin
                    .parameters
                    .iter()
                    .map(|(k, v)| json!({"name": k, "value": v}))
                    .collect::<Vec<_>>()),
            );
            finding.add_evidence(&admin.id);
            finding
        },
        |finding| {
            finding.add_evidence(&admin.id);
            finding.observe("mailbox", ObservableKind::EmailAddress, &mailbox);
        },
    );
}
