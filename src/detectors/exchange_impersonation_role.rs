//! `exchange-impersonation-role`: mailbox-wide access handed out through Exchange admin cmdlets.
//!
//! **What.** `New-ManagementRoleAssignment` with `Role` `ApplicationImpersonation`, or
//! `Add-MailboxPermission` with `AccessRights` `FullAccess`, `ChangePermission` or `ChangeOwner`.
//! High; medium when a known administrator ran it (an account that made administrative changes on
//! 3 earlier days within 30, see `administrators` in the README), saying so.
//!
//! **Why.** ApplicationImpersonation lets an identity act as any mailbox user through EWS; full
//! access delegates a mailbox. (ApplicationImpersonation was retired from Exchange Online in 2025;
//! older logs and on-premises Exchange still carry it.)
//!
//! **False positives.** Help-desk delegation of shared mailboxes (medium once the help desk is
//! known): allow-list the admin accounts that do it (`allowlist.service_accounts`). Exchange
//! Online's own eDiscovery set-up, which grants the `Discovery Management` role group full access
//! to the `DiscoverySearchMailbox{…}` system mailbox again from time to time, is left out (that
//! grant only; anyone else given access to that mailbox is reported).
//!
//! **ATT&CK.** T1098.002.

use super::kit::{self, administrators, Meta, Report, Rule, Stage};
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
        let grantee = admin.parameter("User").unwrap_or("");
        if is_ediscovery_setup(mailbox, grantee) {
            return;
        }
        (granted.join(", "), grantee.to_owned(), mailbox.to_owned())
    } else {
        return;
    };
    let key = format!("{}|{}|{grantee}", admin.actor, admin.cmdlet);
    let administrator = report.administrator();
    // Some exports leave the acting account out.
    let actor = if admin.actor.is_empty() {
        "an unrecorded account"
    } else {
        &admin.actor
    };
    report.report(
        &key,
        admin.time,
        |uid| {
            let mut finding = Finding::new(
                ImpersonationRole::META.id,
                uid,
                administrators::graded(Severity::High, administrator),
                admin.time,
                format!("{what} granted to {grantee} by {actor}"),
                ImpersonationRole::META.attack,
            );
            finding.message = format!(
                "{} ran {} granting {what} to {grantee}{}",
                actor,
                admin.cmdlet,
                if mailbox.is_empty() {
                    String::new()
                } else {
                    format!(" on mailbox {mailbox}")
                }
            );
            administrators::note(&mut finding, administrator);
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

/// Exchange Online's eDiscovery set-up: the `Discovery Management` role group given access to the
/// `DiscoverySearchMailbox{…}` system mailbox (either named bare or by its directory path).
fn is_ediscovery_setup(mailbox: &str, grantee: &str) -> bool {
    fn last(path: &str) -> &str {
        path.rsplit(['/', '\\']).next().unwrap_or("").trim()
    }
    const MAILBOX: &str = "DiscoverySearchMailbox";
    crate::event::starts_with_ignore_ascii_case(last(mailbox), MAILBOX)
        && last(grantee).eq_ignore_ascii_case("Discovery Management")
}

#[cfg(test)]
mod tests {
    use super::is_ediscovery_setup;

    #[test]
    fn only_the_discovery_group_on_the_discovery_mailbox_is_exchanges_own() {
        let mailbox = "NAMPR06A007.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com/DiscoverySearchMailbox{D919BA05-46A6-415f-80AD-7E09334BB852}";
        let group = "NAMPR06A007.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com/Discovery Management";
        assert!(is_ediscovery_setup(mailbox, group));
        assert!(is_ediscovery_setup(
            "DiscoverySearchMailbox{D919BA05-46A6-415f-80AD-7E09334BB852}",
            "Discovery Management"
        ));
        // Anyone else on that mailbox, or the group on another one, is reported.
        assert!(!is_ediscovery_setup(mailbox, "svc-archive@contoso.com"));
        assert!(!is_ediscovery_setup("ceo@contoso.com", group));
        assert!(!is_ediscovery_setup(mailbox, "Discovery Management Extra"));
    }
}
