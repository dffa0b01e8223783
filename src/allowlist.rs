//! Allow-lists shared by every detector, and the host-supplied IP → ASN table.
//!
//! Trusted networks (CIDR), known application ids, service accounts, and a built-in list of
//! Microsoft first-party application ids that the config extends. Validated once at start:
//! a malformed CIDR is a config error naming its index.

use std::net::IpAddr;

use ahash::{AHashSet, RandomState};
use serde::Deserialize;

use crate::Error;

/// Microsoft first-party applications and service identities (resource APIs and Microsoft's own
/// clients). Mail read, apps created or grants made by these are Microsoft's own work.
pub const FIRST_PARTY_APP_IDS: [&str; 28] = [
    "00000003-0000-0000-c000-000000000000", // Microsoft Graph
    "00000002-0000-0000-c000-000000000000", // Azure AD Graph (legacy)
    "00000002-0000-0ff1-ce00-000000000000", // Office 365 Exchange Online
    "00000003-0000-0ff1-ce00-000000000000", // Office 365 SharePoint Online
    "00000004-0000-0ff1-ce00-000000000000", // Skype for Business Online
    "00000006-0000-0ff1-ce00-000000000000", // Microsoft Office 365 Portal
    "0000000c-0000-0000-c000-000000000000", // Microsoft App Access Panel
    "797f4846-ba00-4fd7-ba43-dac1f8f63013", // Windows Azure Service Management API
    "1fec8e78-bce4-4aaf-ab1b-5451cc387264", // Microsoft Teams
    "5e3ce6c0-2b1f-4285-8d4b-75ee78787346", // Microsoft Teams Web Client
    "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", // Microsoft Teams Services
    "d3590ed6-52b3-4102-aeff-aad2292ab01c", // Microsoft Office
    "27922004-5251-4030-b22d-91ecd9a37ea4", // Outlook Mobile
    "00000005-0000-0ff1-ce00-000000000000", // Microsoft Yammer
    "4765445b-32c6-49b0-83e6-1d93765276ca", // OfficeHome
    "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", // Office365 Shell WCSS-Client
    "0ec893e0-5785-4de6-99da-4ed124e5296c", // Office UWP PWA
    "57fb890c-0dab-4253-a5e0-7188c88b2bb4", // SharePoint Online Client
    "ab9b8c07-8f02-4f72-87fa-80105867a763", // OneDrive SyncEngine
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", // Azure Portal
    "04b07795-8ddb-461a-bbee-02f9e1bf7b46", // Microsoft Azure CLI
    "1950a258-227b-4e31-a9cf-717495945fc2", // Microsoft Azure PowerShell
    "fb78d390-0c51-40cd-8e17-fdbfab77341b", // Microsoft Exchange REST API Based PowerShell
    "a0c73c16-a7e3-4564-9a95-2bdf47383716", // Microsoft Exchange Online Remote PowerShell
    "9ba1a5c7-f17a-4de9-a1f1-6178c8d51223", // Microsoft Intune Company Portal
    "d4ebce55-015a-49b5-a083-c84d1797ae8c", // Microsoft Intune Enrollment
    "26a7ee05-5602-4d76-a7ba-eae8b7b67941", // Windows Search
    "0000000a-0000-0000-c000-000000000000", // Microsoft Intune
];

/// A network in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: u128,
    prefix: u8,
    v4: bool,
}

fn bits(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), true),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (u128::from(u32::from(v4)), true),
            None => (u128::from(v6), false),
        },
    }
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::y/n`, or a single address.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let (network, v4) = bits(address.parse().ok()?);
        let width = if v4 { 32 } else { 128 };
        let prefix = prefix.unwrap_or(width);
        if prefix > width {
            return None;
        }
        let mask = mask(prefix, width);
        Some(Cidr {
            network: network & mask,
            prefix,
            v4,
        })
    }

    /// Whether `ip` is in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (address, v4) = bits(ip);
        let width = if v4 { 32 } else { 128 };
        v4 == self.v4 && address & mask(self.prefix, width) == self.network
    }
}

fn mask(prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let full = if width == 32 {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    };
    full & (full << (width - prefix))
}

/// An entry of the host-supplied IP → ASN table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AsnEntry {
    /// The network.
    pub cidr: String,
    /// Its autonomous system number.
    pub asn: u32,
    /// What kind of network: `residential`, `mobile`, `hosting`, `business`, …
    #[serde(default)]
    pub kind: Option<String>,
}

/// Allow-list settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Networks whose sign-ins no spray detector counts (your egress, VPN), in CIDR.
    pub trusted_cidrs: Vec<String>,
    /// Application ids known and approved in this tenant (no app detector fires on them).
    pub app_ids: Vec<String>,
    /// Service accounts (UPNs) whose activity no detector reports.
    pub service_accounts: Vec<String>,
    /// More first-party application ids, added to the built-in list.
    pub first_party_app_ids: Vec<String>,
}

/// The validated allow-lists and ASN table.
#[derive(Debug, Clone)]
pub struct Allowlist {
    trusted: Vec<Cidr>,
    apps: AHashSet<String>,
    first_party: AHashSet<String>,
    service_accounts: AHashSet<String>,
    asn_table: Vec<(Cidr, u32, Option<String>)>,
}

impl Default for Allowlist {
    /// No lists but the built-in first-party apps (a placeholder until the real lists are set).
    fn default() -> Self {
        let hasher = crate::state::hasher(0);
        let mut first_party = AHashSet::with_hasher(hasher.clone());
        first_party.extend(FIRST_PARTY_APP_IDS.iter().map(|id| (*id).to_owned()));
        Allowlist {
            trusted: Vec::new(),
            apps: AHashSet::with_hasher(hasher.clone()),
            first_party,
            service_accounts: AHashSet::with_hasher(hasher),
            asn_table: Vec::new(),
        }
    }
}

impl Allowlist {
    /// Validates the settings; errors name the field and index.
    pub fn new(
        settings: &Settings,
        asn_table: &[AsnEntry],
        hasher: &RandomState,
    ) -> Result<Self, Error> {
        let mut trusted = Vec::new();
        for (index, text) in settings.trusted_cidrs.iter().enumerate() {
            trusted.push(Cidr::parse(text).ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "allowlist.trusted_cidrs[{index}]: invalid CIDR {text:?}"
                ))
            })?);
        }
        let mut table = Vec::new();
        for (index, entry) in asn_table.iter().enumerate() {
            let cidr = Cidr::parse(&entry.cidr).ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "asn_table[{index}].cidr: invalid CIDR {:?}",
                    entry.cidr
                ))
            })?;
            table.push((cidr, entry.asn, entry.kind.clone()));
        }
        // Longest prefix first, so the first match is the most specific.
        table.sort_by_key(|entry| std::cmp::Reverse(entry.0.prefix));
        let set = |items: &mut dyn Iterator<Item = &str>| {
            let mut set = AHashSet::with_hasher(hasher.clone());
            set.extend(items.map(|item| item.trim().to_lowercase()));
            set
        };
        Ok(Allowlist {
            trusted,
            apps: set(&mut settings.app_ids.iter().map(String::as_str)),
            first_party: set(&mut FIRST_PARTY_APP_IDS
                .iter()
                .copied()
                .chain(settings.first_party_app_ids.iter().map(String::as_str))),
            service_accounts: set(&mut settings.service_accounts.iter().map(String::as_str)),
            asn_table: table,
        })
    }

    /// The IP is in a trusted network.
    pub fn trusted_ip(&self, ip: &str) -> bool {
        !self.trusted.is_empty()
            && ip
                .parse::<IpAddr>()
                .is_ok_and(|ip| self.trusted.iter().any(|cidr| cidr.contains(ip)))
    }

    /// The app is Microsoft first-party.
    pub fn first_party(&self, app_id: &str) -> bool {
        self.first_party.contains(&app_id.to_lowercase())
    }

    /// The app is first-party or allow-listed.
    pub fn known_app(&self, app_id: &str) -> bool {
        let app_id = app_id.to_lowercase();
        self.first_party.contains(&app_id) || self.apps.contains(&app_id)
    }

    /// The user is an allow-listed service account.
    pub fn service_account(&self, user: &str) -> bool {
        !self.service_accounts.is_empty() && self.service_accounts.contains(&user.to_lowercase())
    }

    /// The actor of a directory change is a user who is an allow-listed service account.
    pub fn service_actor(&self, actor: &crate::event::Actor) -> bool {
        actor
            .user
            .as_deref()
            .is_some_and(|user| self.service_account(user))
    }

    /// The actor of a directory change is an allow-listed or first-party app, one of Microsoft's
    /// internal directory services, or an allow-listed service account: its changes are routine.
    pub fn trusted_actor(&self, actor: &crate::event::Actor) -> bool {
        actor.is_microsoft_internal()
            || actor
                .app_id
                .as_deref()
                .is_some_and(|app| self.known_app(app))
            || self.service_actor(actor)
    }

    /// The ASN and network kind of an IP, from the host's table.
    pub fn asn(&self, ip: &str) -> Option<(u32, Option<&str>)> {
        if self.asn_table.is_empty() {
            return None;
        }
        let ip = ip.parse::<IpAddr>().ok()?;
        self.asn_table
            .iter()
            .find(|(cidr, _, _)| cidr.contains(ip))
            .map(|(_, asn, kind)| (*asn, kind.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_match_v4_v6_and_mapped() {
        let net = Cidr::parse("198.51.100.0/24").unwrap();
        assert!(net.contains("198.51.100.200".parse().unwrap()));
        assert!(net.contains("::ffff:198.51.100.7".parse().unwrap()));
        assert!(!net.contains("198.51.101.1".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("198.51.100.1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("nonsense/8"), None);
    }

    #[test]
    fn lists_and_table() {
        let settings = Settings {
            trusted_cidrs: vec!["198.51.100.0/24".into()],
            app_ids: vec!["AAAA".into()],
            service_accounts: vec!["Svc@Contoso.com".into()],
            first_party_app_ids: vec![],
        };
        let table = [
            AsnEntry {
                cidr: "203.0.0.0/8".into(),
                asn: 1,
                kind: None,
            },
            AsnEntry {
                cidr: "203.0.113.0/24".into(),
                asn: 64500,
                kind: Some("residential".into()),
            },
        ];
        let list = Allowlist::new(&settings, &table, &crate::state::hasher(0)).unwrap();
        assert!(list.trusted_ip("198.51.100.9") && !list.trusted_ip("192.0.2.1"));
        assert!(list.known_app("aaaa") && list.known_app("00000002-0000-0FF1-CE00-000000000000"));
        assert!(list.service_account("svc@contoso.com"));
        assert_eq!(list.asn("203.0.113.5"), Some((64500, Some("residential"))));
        assert_eq!(list.asn("203.1.1.1"), Some((1, None)));
        let bad = Settings {
            trusted_cidrs: vec!["10.0.0.0/8".into(), "x".into()],
            ..Settings::default()
        };
        let error = Allowlist::new(&bad, &[], &crate::state::hasher(0)).err();
        assert_eq!(
            error,
            Some(Error::InvalidConfig(
                "allowlist.trusted_cidrs[1]: invalid CIDR \"x\"".into()
            ))
        );
    }
}
