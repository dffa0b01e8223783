//! `partner-trust`: another organisation given a way into the tenant.
//!
//! **What.** A partner given delegated admin privileges (`Add partner to company`): high. Another
//! tenant allowed to synchronise its users into this one (a cross-tenant identity sync setting
//! created or updated to allow inbound sync): high. A tenant made a service provider (the access
//! GDAP gives a partner's technicians) in the cross-tenant access settings: high, medium when
//! Microsoft's GDAP service sets it up for a relationship an administrator approved. A partner's
//! MFA newly trusted: medium; every tenant's (the default setting): high. A tenant added to the
//! cross-tenant access settings with none of these: low. Each a level lower when a known
//! administrator made the change (an account that made administrative changes on 3 earlier days
//! within 30, see `administrators` in the README), saying so.
//!
//! **Why.** NOBELIUM (Midnight Blizzard) went after cloud service providers to reach their
//! customers through the delegated admin rights partners hold, and a tenant the intruder controls,
//! once trusted, keeps a way in after its first account is lost: a DAP partner administers the
//! tenant as a Global Administrator, cross-tenant sync lets the other tenant create users here, and
//! trusting another tenant's MFA lets its users' own claims satisfy this tenant's MFA policies.
//!
//! **Logic.** Read by activity name. The partner is the `tenantId` (or `PartnerIdentifier`,
//! `PartnerTenantId`, `TargetTenantId`) property, else, for `Add partner to company`, its target's
//! id. What a cross-tenant policy grants is read property by property, its new value against its
//! old one, whichever JSON form it takes (the Graph names `isMfaAccepted`, `isServiceProvider`,
//! `isSyncAllowed`, or the directory's `AcceptMFA`, `AllowServiceProvider`); an identity sync
//! property that names no `isSyncAllowed` grants sync when its value turns `true`. Microsoft's
//! GDAP service is known by its app id (by its name only when no app id is logged). Removals, and
//! updates that grant nothing new, are not reported. One finding per partner per window (default
//! 1 h), raised to the most severe grant seen, naming every actor.
//!
//! **False positives.** A new managed service provider, a merger's tenants brought together, a
//! B2B partner onboarded: list the partner tenants the organisation expects
//! (`known_partners`: tenant ids) or allow-list the administrators who set them up
//! (`allowlist.service_accounts`).
//!
//! **ATT&CK.** T1199, T1484.002.

use serde_json::json;

use super::kit::{self, administrators, observe_actor, Meta, Report, Rule, Stage};
use crate::attack::{TRUSTED_RELATIONSHIP, TRUST_MODIFICATION};
use crate::config::Duration;
use crate::event::{is_guid, AuditActivity, DirectoryAudit, Event};
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
    TrustGiven as PartnerTrust,
    Meta { id: "partner-trust", stage: Some(Stage::Privilege),
           attack: &[TRUSTED_RELATIONSHIP, TRUST_MODIFICATION], severity: Severity::High },
    |config, event, report| if let Event::DirectoryAudit(audit) = event { on_audit(config, audit, report) }
}

/// A property as `name:value`, flattened for matching: lowercase, without white space, quotes or
/// backslashes (a property `isServiceProvider` of `true`, `"isMfaAccepted": true` and
/// `\"AcceptMFA\":true` in a policy's JSON read `isserviceprovider:true`, `…ismfaaccepted:true`,
/// `…acceptmfa:true`).
fn flat(name: &str, value: &str) -> String {
    name.chars()
        .chain(std::iter::once(':'))
        .chain(value.chars())
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

/// What the change grants that a property did not grant before (property by property, so that one
/// partner already trusted does not hide another newly trusted in the same record).
fn grants(audit: &DirectoryAudit) -> Vec<Grant> {
    let mut granted = Vec::new();
    let properties = audit.modified.iter().filter(|property| {
        !property
            .name
            .eq_ignore_ascii_case("Included Updated Properties")
    });
    for property in properties {
        let new = flat(&property.name, &property.new);
        let old = flat(&property.name, &property.old);
        let mut found: Vec<Grant> = Grant::ALL
            .into_iter()
            .filter(|grant| grant.in_text(&new) && !grant.in_text(&old))
            .collect();
        // An identity sync property that does not name `isSyncAllowed` allows sync, as
        // Microsoft's own query reads it, when its value turns `true`.
        let value = |text: &str| flat("", text).contains("true");
        if audit.activity == AuditActivity::CrossTenantSync
            && property.name.to_ascii_lowercase().contains("sync")
            && !new.contains("syncallowed:")
            && !old.contains("syncallowed:")
            && value(&property.new)
            && !value(&property.old)
        {
            found.push(Grant::Sync);
        }
        for grant in found {
            if !granted.contains(&grant) {
                granted.push(grant);
            }
        }
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
    .or_else(|| {
        // `Add partner to company` names its partner by the target (no property is known to).
        let target = audit.targets.first()?.id.as_deref()?.trim();
        (audit.activity == AuditActivity::AddPartner && is_guid(target))
            .then(|| target.to_ascii_lowercase())
    })
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
    // A DAP partner by its name when the record gives one.
    let named = audit
        .targets
        .first()
        .and_then(|target| target.display_name.as_deref())
        .map(str::trim)
        .filter(|name| activity == AuditActivity::AddPartner && !name.is_empty());
    let partner = match (everyone, named, &tenant) {
        (true, _, _) => "every other tenant (the default setting)".to_owned(),
        (false, Some(name), _) => format!("partner {name}"),
        (false, None, Some(tenant)) => format!("tenant {tenant}"),
        (false, None, None) => audit
            .targets
            .first()
            .map(|target| format!("partner {}", target.label()))
            .unwrap_or_else(|| "an unnamed partner".to_owned()),
    };
    let gdap = actor.is_gdap_service();
    let by = if gdap {
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
        let severity = if gdap {
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
    let administrator = report.administrator();
    let severity = administrators::graded(severity, administrator);
    let title = capitalized(&title);
    let key = if everyone {
        "default".to_owned()
    } else {
        tenant
            .clone()
            .unwrap_or_else(|| partner.to_ascii_lowercase())
    };
    let names: Vec<&str> = granted.iter().map(|grant| grant.name()).collect();
    let message = format!(
        "{by} ran {}: {title}. The other organisation keeps this way in after the account that \
         opened it is lost",
        audit.activity_name.trim().trim_end_matches('.')
    );
    report.report(
        &key,
        audit.time,
        |uid| {
            let mut finding = TrustGiven::META.finding(uid, audit.time, title.clone());
            finding.severity = severity;
            finding.message = message.clone();
            administrators::note(&mut finding, administrator);
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
            // Whoever made this change is named too, even when another made the first.
            observe_actor(finding, actor);
            if severity > finding.severity {
                finding.severity = severity;
                finding.title = title.clone();
                finding.message = message.clone();
                administrators::note(finding, administrator);
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
    use super::{flat, grants, Grant};
    use crate::event::{Actor, AuditActivity, DirectoryAudit, Modified, Shape};

    fn sync_record(properties: &[(&str, &str, &str)]) -> DirectoryAudit {
        DirectoryAudit {
            time: 0,
            id: "x".into(),
            shape: Shape::Graph,
            activity: AuditActivity::CrossTenantSync,
            activity_name: "Update a partner cross-tenant identity sync setting".into(),
            success: true,
            actor: Actor::default(),
            targets: Vec::new(),
            modified: properties
                .iter()
                .map(|&(name, old, new)| Modified::new(name, old, new))
                .collect(),
            details: Vec::new(),
            reason: None,
            tenant_id: None,
        }
    }

    #[test]
    fn an_unnamed_sync_grant_is_a_sync_property_turning_true() {
        assert_eq!(
            grants(&sync_record(&[("userSyncInbound", "", "true")])),
            [Grant::Sync]
        );
        assert_eq!(
            grants(&sync_record(&[("UserSyncInbound", "false", "True")])),
            [Grant::Sync]
        );
        // Not a sync property, however true its value; nor a sync already allowed.
        assert!(grants(&sync_record(&[("displayName", "", "TrueNorth Ltd")])).is_empty());
        assert!(grants(&sync_record(&[("userSyncInbound", "true", "true")])).is_empty());
        // An old value elsewhere does not hide the grant.
        let both = [("userSyncInbound", "", "true"), ("note", "true", "")];
        assert_eq!(grants(&sync_record(&both)), [Grant::Sync]);
        // Named, it is read by its name: switched off is no grant.
        let named = [(
            "identitySynchronization",
            r#"{"isSyncAllowed":true}"#,
            r#"{"isSyncAllowed":false}"#,
        )];
        assert!(grants(&sync_record(&named)).is_empty());
    }

    #[test]
    fn grants_are_read_in_either_json_form() {
        let new = flat(
            "inboundTrust",
            r#"{"isMfaAccepted": true, "isCompliantDeviceAccepted": false}"#,
        );
        assert!(Grant::Mfa.in_text(&new));
        assert!(!Grant::ServiceProvider.in_text(&new));
        let directory = flat(
            "CrossTenantAccessPolicy",
            r#"{\"ToMyTenancy\":[{\"AcceptMFA\":true,\"AllowServiceProvider\":true}]}"#,
        );
        assert!(Grant::Mfa.in_text(&directory) && Grant::ServiceProvider.in_text(&directory));
        let on = flat(
            "identitySynchronization",
            r#"{"userSyncInbound":{"isSyncAllowed":true}}"#,
        );
        let off = flat(
            "identitySynchronization",
            r#"{"userSyncInbound":{"isSyncAllowed":false}}"#,
        );
        assert!(Grant::Sync.in_text(&on) && !Grant::Sync.in_text(&off));
        assert!(Grant::ServiceProvider.in_text(&flat("IsServiceProvider", "true")));
        assert!(!Grant::ServiceProvider.in_text(&flat("IsServiceProvider", "false")));
    }
}
