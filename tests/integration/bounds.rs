//! Every table of the engine is bounded and counted: the golden data of every detector
//! (`tests/golden/*/fires.ndjson`), copied forty times over with fresh users, addresses, ids,
//! domains and apps, is pushed under caps of 8. Each detector's tables stay within their caps all
//! along, each one that keeps keys counts what its caps dropped, and the engine says so in a
//! `state-pressure` finding. A detector added later is driven the same way through its folder.

use std::fs;
use std::path::Path;

use serde_json::Value;
use snowyowl::detectors::DETECTORS;
use snowyowl::Engine;

/// The caps every detector's tables run under here.
const CAP: u64 = 8;

/// Every cap (`max_*` settings that bound a table, not a threshold) at [`CAP`].
fn small_caps() -> String {
    serde_json::json!({
        "limits": {"max_open_findings": CAP, "max_dedup_ids": 1000},
        "administrators": {"max_accounts": CAP},
        "detectors": {
            "password-spray": {"max_ips": CAP, "max_egress_ips": CAP, "max_attempts_per_ip": CAP},
            "distributed-password-spray": {"max_known_ips": CAP, "max_failures": CAP},
            "low-and-slow-spray": {"max_ips": CAP, "max_failures": CAP},
            "spray-then-success": {"max_users": CAP, "max_baseline_users": CAP},
            "single-factor-legacy-signin": {"max_users": CAP},
            "oauth-credential-added": {"max_objects": CAP},
            "mailbox-access-by-app": {"max_apps": CAP},
            "multi-mailbox-access": {"max_apps": CAP, "max_reads_per_app": CAP},
            "mail-access-throttled": {"max_apps": CAP},
            "domain-federation": {"max_domains": CAP},
            "attack-chain": {"max_entities": CAP},
        }
    })
    .to_string()
}

/// The tables each detector keeps: the most entries (keys, open findings) it may hold under
/// [`small_caps`], counted as `stats` counts them.
fn most_entries(detector: &str) -> u64 {
    match detector {
        // Windows and egress (and its open sprays, counted apart).
        "password-spray" => 2 * CAP,
        // Unresolved failures, known IPs, users signalled, and open findings.
        "distributed-password-spray" | "low-and-slow-spray" => 4 * CAP,
        // Targets, familiar places, the sign-in log and sprays' addresses, open findings.
        "spray-then-success" => 5 * CAP,
        // Last sign-ins, sprayed users, open findings; apps' windows, their days, open findings.
        "single-factor-legacy-signin" | "multi-mailbox-access" => 3 * CAP,
        // The index may pass the cap by one finding's entities until the next sweep prunes.
        "attack-chain" => 2 * CAP + 64,
        // One table of its own and open findings, or open findings alone.
        _ => 2 * CAP,
    }
}

/// Whether the GUID that starts after `before` is a tenant id (kept: each tenant has caps of its
/// own, so copies stay in the golden data's few tenants).
fn names_a_tenant(before: &str) -> bool {
    let key = before.trim_end_matches(['"', ':', ' ']);
    let key = key.get(key.len().saturating_sub(16)..).unwrap_or(key);
    let key = key.to_ascii_lowercase();
    key.ends_with("tenantid") || key.ends_with("organizationid")
}

/// `text` with every user, address, id, GUID (but tenant ids) and domain made copy `copy`'s own.
fn copy_of(text: &str, copy: usize) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = text.get(i..).unwrap_or("");
        // A GUID: its last twelve hex digits become the copy's.
        if rest.len() >= 36
            && is_guid(rest.get(..36).unwrap_or(""))
            && !names_a_tenant(text.get(..i).unwrap_or(""))
        {
            out.push_str(rest.get(..24).unwrap_or(""));
            out.push_str(&format!("{:012x}", 0xc0de_0000_0000_u64 + copy as u64));
            i += 36;
            continue;
        }
        // A user name or mailbox: the local part gets the copy's number.
        if rest.starts_with('@') {
            out.push_str(&format!("-{copy}@"));
            i += 1;
            continue;
        }
        // A domain named alone in a string (`"contoso-sso.com"`): the copy's own subdomain.
        if let Some(domain) = domain_at(rest) {
            out.push_str(&format!("\"c{copy}.{domain}"));
            i += 1 + domain.len();
            continue;
        }
        // An IPv4 address's third octet (never a time: those have no dots between digits).
        if let Some(ip) = ipv4_at(rest) {
            let parts: Vec<&str> = ip.split('.').collect();
            out.push_str(&format!(
                "{}.{}.{}.{}",
                parts[0],
                parts[1],
                copy % 250,
                parts[3]
            ));
            i += ip.len();
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The domain in a string that starts at `text` (its opening quote) and holds a `.com` domain
/// name alone.
fn domain_at(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('"')?;
    let domain = inner.get(..inner.find('"')?)?;
    (domain.ends_with(".com")
        && domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'))
    .then_some(domain)
}

fn is_guid(text: &str) -> bool {
    text.char_indices().all(|(i, c)| {
        if [8, 13, 18, 23].contains(&i) {
            c == '-'
        } else {
            c.is_ascii_hexdigit()
        }
    })
}

fn ipv4_at(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let candidate = text.get(..end)?;
    let parts: Vec<&str> = candidate.split('.').collect();
    (parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok()))
    .then_some(candidate)
}

#[test]
fn every_table_stays_within_its_cap_and_counts_what_it_drops() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut engine = Engine::from_json(&small_caps(), crate::helpers::SEED).expect("valid config");
    let mut findings = Vec::new();
    let mut peak = std::collections::BTreeMap::<String, u64>::new();
    for detector in DETECTORS {
        let fires = fs::read_to_string(golden.join(detector).join("fires.ndjson"))
            .unwrap_or_else(|error| panic!("{detector}: {error}"));
        for copy in 0..40 {
            let pushed = engine.push(copy_of(&fires, copy).as_bytes());
            assert!(
                pushed.rejected.is_empty(),
                "{detector}: {:?}",
                pushed.rejected
            );
            findings.extend(pushed.findings);
            let stats = engine.stats();
            // Caps hold per tenant; `stats.detectors` sums the tenants held.
            let tenants = stats.tenants.held as u64;
            assert!(
                stats.administrators as u64 <= CAP * tenants,
                "{} administrators held > {CAP} a tenant",
                stats.administrators
            );
            for (id, state) in &stats.detectors {
                let entries = state.entries as u64;
                let most = most_entries(id) * tenants;
                assert!(
                    entries <= most,
                    "{id} holds {entries} entries > {most} (while pushing {detector}'s copy {copy})"
                );
                assert!(
                    state.open_findings as u64 <= CAP * tenants,
                    "{id} keeps {} findings open > {CAP}",
                    state.open_findings
                );
                let top = peak.entry(id.clone()).or_default();
                *top = (*top).max(entries);
            }
        }
    }
    findings.extend(engine.flush());
    let stats = engine.stats();
    // The known administrators' table dropped accounts for its cap, and counted them.
    assert!(stats.administrators_evicted > 0, "{stats:?}");
    // Each detector whose keys outnumber its caps here counted what they dropped.
    let evicting: Vec<&str> = stats
        .detectors
        .iter()
        .filter(|(_, state)| state.evicted > 0)
        .map(|(id, _)| id.as_str())
        .collect();
    for id in DETECTORS {
        if peak.get(*id).copied().unwrap_or(0) >= CAP {
            assert!(
                evicting.contains(id),
                "{id} reached its cap and counted no eviction: {peak:?}"
            );
        }
    }
    assert_eq!(
        evicting.len(),
        DETECTORS.len(),
        "evicting: {evicting:?}, peaks {peak:?}"
    );
    let reported = findings
        .iter()
        .rfind(|f| f.detector == "state-pressure")
        .expect("a state-pressure finding");
    let total = reported.unmapped["evicted_total"].as_u64().unwrap_or(0);
    assert!(total > 0, "{:?}", reported.unmapped);
}

#[test]
fn copies_are_distinct_and_well_formed() {
    let line = r#"{"id":"0a1b2c3d-0000-4000-8000-00000000abcd","userPrincipalName":"ann@contoso.com","ipAddress":"203.0.113.66","createdDateTime":"2024-03-04T09:00:00Z"}"#;
    let copy = copy_of(line, 7);
    assert_eq!(
        copy,
        r#"{"id":"0a1b2c3d-0000-4000-8000-c0de00000007","userPrincipalName":"ann-7@contoso.com","ipAddress":"203.0.7.66","createdDateTime":"2024-03-04T09:00:00Z"}"#
    );
    assert!(serde_json::from_str::<Value>(&copy).is_ok());
}
