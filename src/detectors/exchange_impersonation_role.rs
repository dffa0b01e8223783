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

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Context, Detector, StateStats, Suppression};
use crate::allowlist::Allowlist;
use crate::attack::ADDITIONAL_EMAIL_DELEGATE;
use crate::event::{Event, ExchangeAdmin};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::time::HOUR;

/// The detector id.
pub const ID: &str = "exchange-impersonation-role";

super::window_config!(
    "exchange-impersonation-role",
    HOUR,
    "Suppression window per actor and grantee (default `1h`)."
);

const DANGEROUS_RIGHTS: [&str; 3] = ["FullAccess", "ChangePermission", "ChangeOwner"];

/// The `exchange-impersonation-role` detector.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExchangeImpersonationRole {
    #[serde(skip)]
    config: Config,
    #[serde(skip)]
    allowlist: Arc<Allowlist>,
    open: Suppression,
}

impl ExchangeImpersonationRole {
    /// A detector with these settings.
    pub fn new(config: Config, allowlist: Arc<Allowlist>) -> Self {
        ExchangeImpersonationRole {
            config: config.clone(),
            allowlist,
            open: Suppression::new(ID, config.window.0),
        }
    }

    fn on_admin(&mut self, admin: &ExchangeAdmin, context: &mut Context) {
        if !admin.success || self.allowlist.service_account(&admin.actor) {
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
        self.open.report(
            &key,
            admin.time,
            context,
            |uid| {
                let mut finding = Finding::new(
                    ID,
                    uid,
                    Severity::High,
                    admin.time,
                    format!("{what} granted to {grantee} by {}", admin.actor),
                    &[ADDITIONAL_EMAIL_DELEGATE],
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
}

impl Detector for ExchangeImpersonationRole {
    super::persist!(keep: [config, allowlist], after: |this, hasher| {
        let _ = hasher;
        this.open.configure(ID, this.config.window.0);
    });

    fn id(&self) -> &'static str {
        ID
    }

    fn on_event(&mut self, event: &Event, context: &mut Context) {
        if let Event::ExchangeAdmin(admin) = event {
            self.on_admin(admin, context);
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
