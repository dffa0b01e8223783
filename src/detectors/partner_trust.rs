//! `partner-trust`: another organisation given a way into the tenant.
//!
//! **What.** A partner given delegated admin privileges (`Add partner to company`): high. Another
//! tenant allowed to synchronise its users into this one (a cross-tenant identity sync setting
//! created or updated to allow inbound sync): high. A tenant made a service provider (the access
//! GDAP gives a partner's technicians) in the cross-tenant access settings: high, medium when
//! Microsoft's GDAP service sets it up for a relationship an administrator approved. A partner's
//! (or, in the default setting, every tenant's) MFA newly trusted: medium; every tenant's: high. A
//! tenant added to the cross-tenant access settings with none of these: low.
//!
//! **Why.** NOBELIUM (Midnight Blizzard) went after cloud service providers to reach their
//! customers through the delegated admin rights partners hold, and a tenant the intruder controls,
//! once trusted, keeps a way in after its first account is lost: a DAP partner administers the
//! tenant as a Global Administrator, cross-tenant sync lets the other tenant create users here, and
//! trusting another tenant's MFA lets its users' own claims satisfy this tenant's MFA policies.
//!
//! **Logic.** Read by activity name. The partner is the `tenantId` (or `PartnerIdentifier`)
//! property, else the target. What a cross-tenant policy grants is read from its properties' new
//! values against their old ones, whichever JSON form they take (the Graph names `isMfaAccepted`,
//! `isServiceProvider`, `isSyncAllowed`, or the directory's `AcceptMFA`, `AllowServiceProvider`);
//! an identity sync record that names no such property grants sync when a new value turns `true`.
//! Removals, and updates that grant nothing new, are not reported. One finding per partner per
//! window (default 1 h), raised to the most severe grant seen.
//!
//! **False positives.** A new managed service provider, a merger's tenants brought together, a
//! B2B partner onboarded: list the partner tenants the organisation expects
//! (`known_partners`: tenant ids) or allow-list the administrators who set them up
//! (`allowlist.service_accounts`).
//!
//! **ATT&CK.** T1199, T1484.002.

use serde_json::json;

use super::kit::{self, observe_actor, Meta, Report, Rule, Stage};
use crate::attack::{TRUSTED_RELATIONSHIP, TRUST_MODIFICATION};
use crate::config::Duration;
use crate::event::{Actor, AuditActivity, DirectoryAudit, Event, Modified};
use crate::finding::{ObservableKind, Severity};
use crate::time::HOUR;

kit::config! {
    "partner-trust";
    /// One finding per partner while changes keep coming within this window (default `1h`).
    window: Duration = Duration(HOUR),
    /// Tenant ids of the partners the organisation expects (its service provider, its own other
    /// tenants): their changes are not reported (default none).
    known_partners: Vec<String> = Vec::new(),
}

kit::rule! {
    /// The rule of `partner-trust`.
    PartnerTrust as PartnerTrustDetector,
    Meta { id: "partner-trust", stage: Some(Stage::Privilege),
           attack: &[TRUSTED_RELATIONSHIP, TRUST_MODIFICATION], severity: Severity::High },
    |config, event, report| if let Event::DirectoryAudit(audit) = event { on_audit(config, audit, report) }
}

/// Microsoft's GDAP service principal, `Partner Customer Delegated Administration`: it sets up the
/// service-provider policy of a relationship an administrator approved.
const GDAP_APP_ID: &str = "2832473f-ec63-45fb-976f-5d45a7d4bb91";

fn gdap_service(actor: &Actor) -> bool {
    actor
        .app_id
        .as_deref()
        .is_some_and(|id| id.eq_ignore_ascii_case(GDAP_APP_ID))
        || actor.display_name.as_deref().is_some_and(|name| {
            name.trim()
                .eq_ignore_ascii_case("Partner Customer Delegated Administration")
        })
}

/// The properties that carry the change (not the list of their names), each as `name:value`,
/// flattened for matching: lowercase, without white space, quotes or backslashes (a property
/// `isServiceProvider` of `true`, `"isMfaAccepted": true` and `\"AcceptMFA\":true` in a policy's
/// JSON read `isserviceprovider:true`, `…ismfaaccepted:true`, `…acceptmfa:true`).
fn flat<'a>(modified: &'a [Modified], value: impl Fn(&'a Modified) -> &'a str) -> String {
    modified
        .iter()
        .filter(|property| {
            !property
                .name
                .eq_ignore_ascii_case("Included Updated Properties")
        })
        .flat_map(|property| {
            let name = property.name.chars().chain(std::iter::once(':'));
            name.chain(value(property).chars())
                .chain(std::iter::once('|'))
        })
        .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\\')
        .flat_map(char::to_lowercase)
        .collect()
}

/// What a cross-tenant change grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    /// Its users may be synchronised in.
    Sync,
    /// Its technicians may administer the tenant (GDAP).
    ServiceProvider,
    /// Its MFA claims are trusted.
    Mfa,
}

impl Grant {
    const ALL: [Grant; 3] = [Grant::Sync, Grant::ServiceProvider, Grant::Mfa];

    /// The flattened forms that say it is granted.
    fn said(self) -> &'static [&'static str] {
        match self {
            Grant::Sync => &["syncallowed:true"],
            Grant::ServiceProvider => &["isserviceprovider:true", "allowserviceprovider:true"],
            Grant::Mfa => &["ismfaaccepted:true", "acceptmfa:true"],
        }
    }

    fn in_text(self, text: &str) -> bool {
        self.said().iter().any(|form| text.contains(form))
    }

    fn name(self) -> &'static str {
        match self {
            Grant::Sync => "inbound user sync",
            Grant::ServiceProvider => "service provider",
            Grant::Mfa => "MFA trusted",
        }
    }
}

/// What the change grants that was not granted before.
fn grants(audit: &DirectoryAudit) -> Vec<Grant> {
    let new = flat(&audit.modified, |property| &property.new);
    let old = flat(&audit.modified, |property| &property.old);
    let mut granted: Vec<Grant> = Grant::ALL
        .into_iter()
        .filter(|grant| grant.in_text(&new) && !grant.in_text(&old))
        .collect();
    // An identity sync record names what it allows, or (as Microsoft's own query reads it) turns
    // a value `true`.
    let named = new.contains("syncallowed:") || old.contains("syncallowed:");
    if audit.activity == AuditActivity::CrossTenantSync
        && !named
        && new.contains("true")
        && !old.contains("true")
    {
        granted.push(Grant::Sync);
    }
    granted
}

/// The partner tenant a record names (lowercase), if any.
fn partner_tenant(audit: &DirectoryAudit) -> Option<String> {
    [
        "tenantId",
        "PartnerIdentifier",
        "PartnerTenantId",
        "TargetTenantId",
    ]
    .iter()
    .find_map(|name| {
        [audit.new_value(name), audit.old_value(name)]
            .into_iter()
            .flatten()
            .map(|value| value.trim().trim_matches('"').trim())
            .find(|value| !value.is_empty())
    })
    .map(str::to_ascii_lowercase)
}

fn on_audit(config: &Config, audit: &DirectoryAudit, report: &mut Report) {
    let activity = audit.activity;
    if !audit.success
        || !matches!(
            activity,
            AuditActivity::AddPartner
                | AuditActivity::AddCrossTenantPartner
                | AuditActivity::UpdateCrossTenantPartner
                | AuditActivity::UpdateCrossTenantDefault
                | AuditActivity::CrossTenantSync
        )
    {
        return;
    }
    let actor = &audit.actor;
    if report.allowlist.service_actor(actor) {
        return;
    }
    let tenant = partner_tenant(audit);
    if tenant.as_deref().is_some_and(|tenant| {
        config
            .known_partners
            .iter()
            .any(|known| known.trim().eq_ignore_ascii_case(tenant))
    }) {
        return;
    }
    let everyone = activity == AuditActivity::UpdateCrossTenantDefault;
    let partner = match (&tenant, everyone) {
        (_, true) => "every other tenant (the default setting)".to_owned(),
        (Some(tenant), false) => format!("tenant {tenant}"),
        (None, false) => audit
            .targets
            .first()
            .map(|target| format!("partner {}", target.label()))
            .unwrap_or_else(|| "an unnamed partner".to_owned()),
    };
    let by = if gdap_service(actor) {
        "Microsoft's GDAP service"
    } else {
        actor.name()
    };
    let granted = grants(audit);
    let (severity, title) = if activity == AuditActivity::AddPartner {
        (
            Severity::High,
            format!("Delegated admin rights given to {partner} by {by}"),
        )
    } else if granted.contains(&Grant::Sync) {
        (
            Severity::High,
            format!("{partner} allowed to sync users into the tenant, by {by}"),
        )
    } else if granted.contains(&Grant::ServiceProvider) {
        let severity = if gdap_service(actor) {
            Severity::Medium
        } else {
            Severity::High
        };
        (
            severity,
            format!("{partner} made a service provider of the tenant, by {by}"),
        )
    } else if granted.contains(&Grant::Mfa) {
        let severity = if everyone {
            Severity::High
        } else {
            Severity::Medium
        };
        (severity, format!("MFA of {partner} trusted, by {by}"))
    } else if activity == AuditActivity::AddCrossTenantPartner {
        (
            Severity::Low,
            format!("{partner} added to the cross-tenant access settings by {by}"),
        )
    } else {
        return;
    };
    let title = capitalized(&title);
    let key = if everyone {
        "default".to_owned()
    } else {
        tenant
            .clone()
            .unwrap_or_else(|| partner.to_ascii_lowercase())
    };
    let names: Vec<&str> = granted.iter().map(|grant| grant.name()).collect();
    report.report(
        &key,
        audit.time,
        |uid| {
            let mut finding = PartnerTrust::META.finding(uid, audit.time, title.clone());
            finding.severity = severity;
            finding.message = format!(
                "{by} ran {}: {title}. The other organisation keeps this way in after the account \
                 that opened it is lost",
                audit.activity_name.trim().trim_end_matches('.')
            );
            observe_actor(&mut finding, actor);
            if let Some(tenant) = &tenant {
                finding.observe("partner.tenant_uid", ObservableKind::ResourceUid, tenant);
                finding.set("partner_tenant", json!(tenant));
            }
            finding.set("partner", json!(partner));
            finding.set("activities", json!([audit.activity_name.trim()]));
            finding.set("grants", json!(names));
            finding.add_evidence(&audit.id);
            finding
        },
        |finding| {
            finding.add_evidence(&audit.id);
            if severity > finding.severity {
                finding.severity = severity;
                finding.title = title.clone();
            }
            finding.add_to("activities", json!(audit.activity_name.trim()));
            for name in &names {
                finding.add_to("grants", json!(name));
            }
        },
    );
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{flat, Grant};
    use crate::event::Modified;

    fn property(name: &str, old: &str, new: &str) -> Modified {
        Modified {
            name: name.into(),
            old: old.into(),
            new: new.into(),
        }
    }

    #[test]
    fn grants_are_read_in_either_json_form() {
        let graph = [property(
            "inboundTrust",
            "",
            r#"{"isMfaAccepted": true, "isCompliantDeviceAccepted": false}"#,
        )];
        let new = flat(&graph, |p| &p.new);
        assert!(Grant::Mfa.in_text(&new));
        assert!(!Grant::ServiceProvider.in_text(&new));
        let directory = [property(
            "CrossTenantAccessPolicy",
            "",
            r#"{\"ToMyTenancy\":[{\"AcceptMFA\":true,\"AllowServiceProvider\":true}]}"#,
        )];
        let new = flat(&directory, |p| &p.new);
        assert!(Grant::Mfa.in_text(&new) && Grant::ServiceProvider.in_text(&new));
        let sync = [property(
            "identitySynchronization",
            r#"{"userSyncInbound":{"isSyncAllowed":false}}"#,
            r#"{"userSyncInbound":{"isSyncAllowed":true}}"#,
        )];
        assert!(Grant::Sync.in_text(&flat(&sync, |p| &p.new)));
        assert!(!Grant::Sync.in_text(&flat(&sync, |p| &p.old)));
        let names = [property(
            "Included Updated Properties",
            "",
            "isMfaAccepted: true",
        )];
        assert!(!Grant::Mfa.in_text(&flat(&names, |p| &p.new)));
        let own = [property("IsServiceProvider", "false", "true")];
        assert!(Grant::ServiceProvider.in_text(&flat(&own, |p| &p.new)));
        assert!(!Grant::ServiceProvider.in_text(&flat(&own, |p| &p.old)));
    }
}
