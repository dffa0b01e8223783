//! `multitenant-app`: an application crosses a tenant boundary.
//!
//! **What.** An application is made available to other tenants (`Update application` with
//! `AvailableToOtherTenants` turning `true`, or `SignInAudience` turning multi-organisation); or
//! an application owned by another tenant signs in here as itself (a service principal sign-in
//! whose `appOwnerTenantId` differs from the resource tenant; users' sign-ins to vendors' apps name
//! the vendor's tenant by design and are not read) or reads mail here (`TokenTenantId` differs
//! from `OrganizationId`). Medium.
//!
//! **Why.** Midnight Blizzard used a multitenant app registered elsewhere to reach the target
//! tenant: the trusted-relationship step of the chain.
//!
//! **Logic.** Microsoft first-party and allow-listed apps are skipped. One finding per app per
//! window (default 24 h).
//!
//! **False positives.** Vendor SaaS apps are multitenant by design: allow-list them once reviewed.
//!
//! **ATT&CK.** T1199.

use super::kit::{self, observe_actor, Meta, Report, Rule, Stage};
use crate::attack::TRUSTED_RELATIONSHIP;
use crate::config::Duration;
use crate::event::{AuditActivity, Event, SignInCategory};
use crate::finding::{Finding, ObservableKind, Severity};
use crate::time::{Timestamp, DAY};
use serde_json::json;

kit::config! {
    "multitenant-app";
    /// Suppression window per app (default `24h`).
    window: Duration = Duration(DAY),
}

struct Crossing<'a> {
    app: &'a str,
    how: &'static str,
    home_tenant: Option<&'a str>,
    tenant: Option<&'a str>,
    event_id: &'a str,
    time: Timestamp,
}

kit::rule! {
    /// The rule of `multitenant-app`.
    Multitenant as MultitenantApp,
    Meta { id: "multitenant-app", stage: Some(Stage::Foothold),
           attack: &[TRUSTED_RELATIONSHIP], severity: Severity::Medium },
    |config, event, report| on_event(config, event, report)
}

fn on_event(_: &Config, event: &Event, report: &mut Report) {
    match event {
        Event::DirectoryAudit(audit)
            if audit.activity == AuditActivity::UpdateApplication && audit.success =>
        {
            let opened = audit
                .new_value("AvailableToOtherTenants")
                .is_some_and(|v| v.contains("true") || v.contains("True"))
                && !audit
                    .old_value("AvailableToOtherTenants")
                    .is_some_and(|v| v.contains("true") || v.contains("True"));
            let audience = audit.new_value("SignInAudience").is_some_and(|v| {
                v.contains("AzureADMultipleOrgs")
                    || v.contains("AzureADandPersonalMicrosoftAccount")
            }) && !audit
                .old_value("SignInAudience")
                .is_some_and(|v| v.contains("Multiple") || v.contains("Personal"));
            if !(opened || audience) {
                return;
            }
            let app = audit.targets.first();
            let key = audit
                .detail("AppId")
                .map(str::to_owned)
                .or_else(|| app.and_then(|t| t.id.clone()))
                .unwrap_or_default();
            let crossing = Crossing {
                app: &key,
                how: "made available to other tenants",
                home_tenant: None,
                tenant: audit.tenant_id.as_deref(),
                event_id: &audit.id,
                time: audit.time,
            };
            report_crossing(crossing, report, |finding| {
                observe_actor(finding, &audit.actor)
            });
        }
        // Only an application signing in as itself: a user's sign-in to a vendor's SaaS app names
        // the vendor's tenant as the app's owner by design.
        Event::SignIn(signin)
            if signin.category == SignInCategory::ServicePrincipal
                && differs(signin.app_owner_tenant_id(), signin.tenant_id()) =>
        {
            let crossing = Crossing {
                app: signin.app_id().unwrap_or(""),
                how: "owned by another tenant, signed in here",
                home_tenant: signin.app_owner_tenant_id(),
                tenant: signin.tenant_id(),
                event_id: signin.id(),
                time: signin.time,
            };
            report_crossing(crossing, report, |finding| {
                if let Some(ip) = signin.ip() {
                    finding.observe("src_endpoint.ip", ObservableKind::IpAddress, ip);
                }
            });
        }
        Event::MailboxAccess(access)
            if differs(
                access.token_tenant_id.as_deref(),
                access.tenant_id.as_deref(),
            ) =>
        {
            let crossing = Crossing {
                app: access.client_app_id.as_deref().unwrap_or(""),
                how: "token from another tenant, read mail here",
                home_tenant: access.token_tenant_id.as_deref(),
                tenant: access.tenant_id.as_deref(),
                event_id: &access.id,
                time: access.time,
            };
            report_crossing(crossing, report, |finding| {
                finding.observe("mailbox", ObservableKind::EmailAddress, &access.mailbox);
            });
        }
        _ => {}
    }
}

fn differs(a: Option<&str>, b: Option<&str>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() && !a.eq_ignore_ascii_case(b))
}

fn report_crossing(crossing: Crossing, report: &mut Report, decorate: impl Fn(&mut Finding)) {
    if crossing.app.is_empty() || report.allowlist.known_app(crossing.app) {
        return;
    }
    let add = |finding: &mut Finding| {
        finding.add_evidence(crossing.event_id);
        finding.add_to("how", json!(crossing.how));
        decorate(finding);
    };
    report.report(
        crossing.app,
        crossing.time,
        |uid| {
            let mut finding = Finding::new(
                Multitenant::META.id,
                uid,
                Severity::Medium,
                crossing.time,
                format!(
                    "Application {} crosses tenants: {}",
                    crossing.app, crossing.how
                ),
                Multitenant::META.attack,
            );
            finding.message = format!(
                "application {} {} (owner or token tenant {}, this tenant {})",
                crossing.app,
                crossing.how,
                crossing.home_tenant.unwrap_or("unknown"),
                crossing.tenant.unwrap_or("unknown"),
            );
            finding.observe("resources.uid", ObservableKind::ResourceUid, crossing.app);
            finding.observe(
                "cloud.org.uid",
                ObservableKind::ResourceUid,
                crossing.home_tenant.unwrap_or(""),
            );
            finding.observe(
                "cloud.org.uid",
                ObservableKind::ResourceUid,
                crossing.tenant.unwrap_or(""),
            );
            finding.set("app", json!(crossing.app));
            finding.set("other_tenant", json!(crossing.home_tenant));
            finding.set("tenant", json!(crossing.tenant));
            add(&mut finding);
            finding
        },
        |finding| add(finding),
    );
}
