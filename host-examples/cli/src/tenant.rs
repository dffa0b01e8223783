//! `generate --scenario tenant`: a realistic day of a large tenant, for benchmarks, with planted
//! attacks and a ground-truth file.
//!
//! The background is `events` records over 2024-01-15 (busier from 07:00 to 19:00): sign-ins
//! (80 %: interactive, non-interactive, service principal and managed identity, in the Azure
//! Monitor diagnostic shape with the fields real records carry — device, location, conditional
//! access policies — so a median record is about 2.3 KB and the largest about 8 KB), directory
//! audit records (10 %) and Exchange unified audit records (10 %). Users sign in from four office
//! NAT egress IPs, their homes, mobile carriers (a new CGNAT address each time) and, for 1 % of
//! them, hotels abroad; 2.5 % mistype a password and retry, 1 % answer an MFA prompt. Records
//! arrive up to a minute out of order.
//!
//! Planted, in time order: a single-IP spray (09:00), a distributed spray from 1,200 residential
//! proxy IPs (10:00) that breaks into a legacy test account without MFA (14:12), a low-and-slow
//! spray (one failure per user per hour from single-use IPs, 06:00–18:00), and the OAuth chain
//! (15:00 app created, secrets added, `full_access_as_app` granted by another app; 16:00 ten
//! mailboxes read). The ground truth lists each with the detectors and entities that must appear.
//!
//! Stress variants replace the background's addressing: every sign-in from a distinct IP, from a
//! distinct user, or a third of them from one very hot IP.

use std::io::{self, Write};

use serde_json::{json, Value};
use snowyowl::event::{Event, FactorRequirement};
use snowyowl::time::{self, Timestamp, HOUR, MINUTE};

use crate::generate::{
    mail_collection, oauth_foothold, uuid, Drafts, Rng, AGENTS, APPS, DEMO_DAY, MB_APP_ID,
    MB_LEGACY_APP_ID, MB_MAILBOXES, MB_VICTIM, TENANT,
};

/// How the background's sign-ins are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stress {
    /// The realistic mix.
    None,
    /// Every sign-in from an IP never seen before.
    DistinctIps,
    /// Every sign-in by a user never seen before.
    DistinctUsers,
    /// A third of all sign-ins (with their failures) from one office IP.
    HotIp,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct TenantOptions {
    /// Users in the tenant.
    pub users: u64,
    /// Background records (the planted attacks come on top, about 3,000).
    pub events: u64,
    /// Seed: the same options give the same bytes.
    pub seed: u64,
    /// Stress variant.
    pub stress: Stress,
}

const OFFICE: [&str; 4] = [
    "198.51.100.10",
    "198.51.100.11",
    "198.51.100.12",
    "198.51.100.13",
];
const SINGLE_SPRAY_IP: &str = "203.0.113.66";
const HIT_IP: &str = "198.19.77.14";
const MAIL_IP: &str = "198.19.77.15";
const CITIES: [(&str, &str, &str, f64, f64); 5] = [
    ("Seattle", "Washington", "US", 47.6, -122.3),
    ("Dublin", "Dublin", "IE", 53.3, -6.2),
    ("Munich", "Bavaria", "DE", 48.1, 11.5),
    ("Singapore", "Singapore", "SG", 1.3, 103.8),
    ("Toronto", "Ontario", "CA", 43.6, -79.4),
];

/// Item `n` (modulo the length) of a non-empty table.
fn nth<T: Copy>(items: &[T], n: u64, first: T) -> T {
    items
        .get((n % items.len().max(1) as u64) as usize)
        .copied()
        .unwrap_or(first)
}

fn user_name(n: u64) -> String {
    format!("user{n:06}@contoso.com")
}

/// Event time of background record `i` of `total`: 12.5 % before 07:00, 75 % in 07:00–19:00.
fn background_time(i: u64, total: u64) -> Timestamp {
    let u = i as f64 / total.max(1) as f64;
    let hours = if u < 0.125 {
        u / 0.125 * 7.0
    } else if u < 0.875 {
        7.0 + (u - 0.125) / 0.75 * 12.0
    } else {
        19.0 + (u - 0.875) / 0.125 * 5.0
    };
    DEMO_DAY + (hours * HOUR as f64) as i64
}

/// The fields real Azure Monitor sign-ins carry that no detector reads: device, location,
/// conditional access policies (how many varies: that makes the size tail).
fn sign_in_padding(rng: &mut Rng, user_hash: u64) -> Value {
    let (city, state, country, lat, lon) = nth(&CITIES, user_hash, CITIES[0]);
    let policies = match rng.below(100) {
        0..=49 => rng.below(2),
        50..=89 => 1 + rng.below(4),
        _ => 5 + rng.below(20),
    };
    let policy = |rng: &mut Rng, n: u64| {
        json!({
            "id": uuid(rng),
            "displayName": format!("CA{n:03} - Require compliant or hybrid joined device for admins and sensitive apps"),
            "enforcedGrantControls": ["Mfa", "CompliantDevice"],
            "enforcedSessionControls": ["SignInFrequency", "ContinuousAccessEvaluation"],
            "result": if n.is_multiple_of(3) { "success" } else { "notApplied" },
        })
    };
    let policies: Vec<Value> = (0..policies).map(|n| policy(rng, n)).collect();
    json!({
        "deviceDetail": {
            "deviceId": uuid(rng), "displayName": format!("LT-{:05}", user_hash % 100_000),
            "operatingSystem": "Windows10", "browser": "Edge 120.0.2210", "isCompliant": true,
            "isManaged": true, "trustType": "Azure AD joined",
        },
        "location": {
            "city": city, "state": state, "countryOrRegion": country,
            "geoCoordinates": { "altitude": null, "latitude": lat, "longitude": lon },
        },
        "conditionalAccessStatus": "success",
        "appliedConditionalAccessPolicies": policies,
        "networkLocationDetails": [{ "networkType": "namedNetwork", "networkNames": ["Corporate egress"] }],
        "tokenIssuerType": "AzureAD",
        "resourceDisplayName": "Office 365 Exchange Online",
        "resourceId": "00000002-0000-0ff1-ce00-000000000000",
        "correlationId": uuid(rng),
        "riskDetail": "none", "riskLevelAggregated": "none", "riskLevelDuringSignIn": "none", "riskState": "none",
        "processingTimeInMilliseconds": rng.below(400),
    })
}

#[allow(clippy::too_many_arguments)]
fn sign_in(
    rng: &mut Rng,
    time: Timestamp,
    category: &str,
    user: &str,
    ip: &str,
    code: u32,
    user_hash: u64,
) -> String {
    let (app_id, app_name) = nth(&APPS, rng.next_u64(), APPS[0]);
    let agent = nth(&AGENTS, user_hash, AGENTS[0]);
    let time = time::format(time);
    let step = match code {
        0 => "MFA successfully completed",
        50074 => "Correct password",
        _ => "Invalid username or password or Invalid on-premise username or password.",
    };
    let mut properties = json!({
        "appDisplayName": app_name, "appId": app_id, "appOwnerTenantId": null,
        "authenticationDetails": [{
            "authenticationMethod": "Password", "authenticationStepDateTime": time,
            "authenticationStepResultDetail": step, "succeeded": code == 0,
        }],
        "authenticationRequirement": "multiFactorAuthentication",
        "clientAppUsed": "Browser", "createdDateTime": time,
        "homeTenantId": TENANT, "id": uuid(rng), "ipAddress": ip,
        "isInteractive": category == "SignInLogs", "resourceTenantId": TENANT,
        "riskEventTypes_v2": [], "status": { "errorCode": code },
        "userAgent": agent, "userPrincipalName": user, "userDisplayName": user,
        "userId": format!("{:08x}-0000-4000-8000-{:012x}", user_hash as u32, user_hash),
    });
    if let (Some(target), Value::Object(padding)) =
        (properties.as_object_mut(), sign_in_padding(rng, user_hash))
    {
        target.extend(padding);
    }
    json!({
        "Level": 4, "callerIpAddress": ip, "category": category,
        "operationName": "Sign-in activity", "operationVersion": "1.0",
        "properties": properties,
        "resourceId": "/tenants/00000000-0000-0000-0000-000000000000/providers/Microsoft.aadiam",
        "resultType": code.to_string(), "tenantId": TENANT, "time": time,
    })
    .to_string()
}

fn service_sign_in(rng: &mut Rng, time: Timestamp, managed: bool, n: u64) -> String {
    let category = if managed {
        "ManagedIdentitySignInLogs"
    } else {
        "ServicePrincipalSignInLogs"
    };
    let time = time::format(time);
    let ip = format!("20.190.{}.{}", n % 200, 1 + n % 250);
    json!({
        "Level": 4, "callerIpAddress": ip, "category": category,
        "operationName": "Sign-in activity", "operationVersion": "1.0",
        "properties": {
            "appId": format!("{:08x}-1111-4000-8000-{:012x}", n as u32, n),
            "createdDateTime": time, "id": uuid(rng), "ipAddress": ip,
            "resourceDisplayName": "Microsoft Graph", "resourceId": "00000003-0000-0000-c000-000000000000",
            "servicePrincipalId": format!("{:08x}-2222-4000-8000-{:012x}", n as u32, n),
            "servicePrincipalName": format!("automation-{n}"),
            "status": { "errorCode": 0 }, "correlationId": uuid(rng),
            "homeTenantId": TENANT, "resourceTenantId": TENANT,
        },
        "resourceId": "/tenants/00000000-0000-0000-0000-000000000000/providers/Microsoft.aadiam",
        "resultType": "0", "tenantId": TENANT, "time": time,
    })
    .to_string()
}

fn audit(rng: &mut Rng, time: Timestamp, admin: u64, subject: &str) -> String {
    const ACTIVITIES: [(&str, &str); 6] = [
        ("Update user", "UserManagement"),
        ("Add member to group", "GroupManagement"),
        ("Remove member from group", "GroupManagement"),
        ("Update device", "Device"),
        ("Change user license", "UserManagement"),
        ("Reset user password", "UserManagement"),
    ];
    let (name, category) = nth(&ACTIVITIES, rng.next_u64(), ACTIVITIES[0]);
    let time = time::format(time);
    json!({
        "Level": 4, "callerIpAddress": OFFICE[0], "category": "AuditLogs", "durationMs": 0,
        "operationName": name, "operationVersion": "1.0",
        "properties": {
            "activityDateTime": time, "activityDisplayName": name, "additionalDetails": [],
            "category": category, "correlationId": uuid(rng), "id": uuid(rng),
            "initiatedBy": { "user": {
                "displayName": null, "id": null, "ipAddress": OFFICE[0],
                "userPrincipalName": format!("admin{admin:02}@contoso.com"),
            }},
            "loggedByService": "Core Directory", "operationType": "Update", "result": "success",
            "resultReason": "",
            "targetResources": [{
                "displayName": subject, "id": uuid(rng), "type": "User", "userPrincipalName": subject,
                "modifiedProperties": [{ "displayName": "AccountEnabled", "oldValue": "[true]", "newValue": "[true]" }],
            }],
        },
        "resourceId": "/tenants/00000000-0000-0000-0000-000000000000/providers/Microsoft.aadiam",
        "resultSignature": "None", "tenantId": TENANT, "time": time,
    })
    .to_string()
}

fn exchange(rng: &mut Rng, time: Timestamp, user: &str, ip: &str) -> String {
    let time = time::format(time);
    let time = time.trim_end_matches('Z');
    if rng.chance(60) {
        // Outlook reading its own user's mail.
        json!({
            "AppId": "d3590ed6-52b3-4102-aeff-aad2292ab01c", "ClientAppId": "d3590ed6-52b3-4102-aeff-aad2292ab01c",
            "ClientIPAddress": ip, "ClientInfoString": "Client=MSExchangeRPC", "CreationTime": time,
            "ExternalAccess": false, "Folders": [{ "FolderItems": [{ "InternetMessageId": "<m@contoso.com>" }], "Path": "\\Inbox" }],
            "Id": uuid(rng), "LogonType": 0, "MailboxOwnerUPN": user, "Operation": "MailItemsAccessed",
            "OperationCount": 1 + rng.below(12),
            "OperationProperties": [{ "Name": "MailAccessType", "Value": "Bind" }, { "Name": "IsThrottled", "Value": "False" }],
            "OrganizationId": TENANT, "RecordType": 50, "ResultStatus": "Succeeded", "UserId": user,
            "UserKey": format!("1003{:012X}", rng.below(1 << 40)), "UserType": 0, "Version": 1, "Workload": "Exchange",
        })
        .to_string()
    } else {
        let operation = if rng.chance(50) {
            "Send"
        } else {
            "MoveToDeletedItems"
        };
        json!({
            "ClientIP": ip, "ClientInfoString": "Client=OWA;Mozilla/5.0", "CreationTime": time, "Id": uuid(rng),
            "LogonType": 0, "MailboxOwnerUPN": user, "Operation": operation, "OrganizationId": TENANT,
            "RecordType": 2, "ResultStatus": "Succeeded", "UserId": user,
            "UserKey": format!("1003{:012X}", rng.below(1 << 40)), "UserType": 0, "Version": 1, "Workload": "Exchange",
            "Item": { "Id": uuid(rng), "Subject": "Quarterly planning", "SizeInBytes": rng.below(200_000) },
        })
        .to_string()
    }
}

/// A background record: returns (event time, line); sometimes a second record follows (a retry).
fn background(
    rng: &mut Rng,
    options: &TenantOptions,
    i: u64,
    time: Timestamp,
    out: &mut Vec<(Timestamp, String)>,
) {
    let users = options.users.max(1);
    let n = match options.stress {
        Stress::DistinctUsers => i,
        _ => rng.below(users),
    };
    let user = user_name(n);
    let hash = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 8;
    let ip = match options.stress {
        Stress::DistinctIps => format!("10.{}.{}.{}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff),
        Stress::HotIp if rng.chance(33) => OFFICE[0].to_owned(),
        _ => match rng.below(100) {
            0..=54 => nth(&OFFICE, hash, OFFICE[0]).to_owned(),
            55..=79 => format!(
                "73.{}.{}.{}",
                (hash >> 16) & 0xff,
                (hash >> 8) & 0xff,
                1 + hash % 254
            ),
            80..=98 => format!(
                "100.{}.{}.{}",
                64 + rng.below(64),
                rng.below(256),
                1 + rng.below(254)
            ),
            _ if hash % 100 == 0 => format!(
                "81.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            ),
            _ => OFFICE[0].to_owned(),
        },
    };
    match rng.below(100) {
        0..=79 => {
            let category = match rng.below(100) {
                0..=56 => "SignInLogs",
                57..=87 => "NonInteractiveUserSignInLogs",
                88..=96 => return out.push((time, service_sign_in(rng, time, false, hash % 500))),
                _ => return out.push((time, service_sign_in(rng, time, true, hash % 200))),
            };
            match rng.below(1000) {
                // A mistyped password, then the right one.
                0..=24 => {
                    out.push((time, sign_in(rng, time, category, &user, &ip, 50126, hash)));
                    let retry = time + 20_000 + rng.below(40_000) as i64;
                    out.push((retry, sign_in(rng, retry, category, &user, &ip, 0, hash)));
                }
                // An MFA prompt, then success.
                25..=34 => {
                    out.push((time, sign_in(rng, time, category, &user, &ip, 50074, hash)));
                    let done = time + 15_000;
                    out.push((done, sign_in(rng, done, category, &user, &ip, 0, hash)));
                }
                // Interrupts no detector reads (keep me signed in, device auth).
                35..=44 => out.push((time, sign_in(rng, time, category, &user, &ip, 50140, hash))),
                _ => out.push((time, sign_in(rng, time, category, &user, &ip, 0, hash))),
            }
        }
        80..=89 => {
            let admin = rng.below(20);
            out.push((time, audit(rng, time, admin, &user)));
        }
        _ => out.push((time, exchange(rng, time, &user, &ip))),
    }
}

/// The planted attacks, rendered, and the ground truth describing them.
fn planted(seed: u64) -> (Vec<(Timestamp, String)>, Value) {
    let mut drafts = Drafts::new(seed ^ 0x5eed);
    let victim_pool: Vec<String> = (0..80).map(|n| user_name(n * 37 + 11)).collect();
    // 1. A single-IP spray: 40 users in 8 minutes.
    let single: Vec<String> = victim_pool.iter().take(40).cloned().collect();
    for (k, user) in single.iter().enumerate() {
        let time = DEMO_DAY + 9 * HOUR + k as i64 * 12_000;
        let failure = drafts.signin(time, user, SINGLE_SPRAY_IP, 50126);
        drafts.push(Event::SignIn(failure.into()));
    }
    // 2. A distributed spray from 1,200 residential proxies, one or two attempts each, against 60
    //    users including the legacy test account.
    let mut targets: Vec<String> = victim_pool.iter().skip(20).take(59).cloned().collect();
    targets.insert(17, MB_VICTIM.to_owned());
    let mut attempt = 0usize;
    for ip in 0..1_200usize {
        let proxy = format!("198.18.{}.{}", ip / 250, ip % 250 + 1);
        for _ in 0..(1 + ip % 2) {
            let target = targets
                .get(attempt % targets.len())
                .cloned()
                .unwrap_or_default();
            let time = DEMO_DAY + 10 * HOUR + (attempt as i64) * 1_000;
            let code = if attempt % 17 == 3 { 50053 } else { 50126 };
            let mut failure = drafts.signin(time, &target, &proxy, code);
            failure.app_id = Some("1b730954-1685-4b74-9bfd-dac224a7b894".into());
            failure.app_name = Some("Azure Active Directory PowerShell".into());
            drafts.push(Event::SignIn(failure.into()));
            attempt += 1;
        }
    }
    // 3. Low and slow: 14 users, one failure each hour from 06:00 to 18:00, every attempt from
    //    an address used once.
    let slow: Vec<String> = (0..14).map(|n| user_name(n * 53 + 7)).collect();
    let mut single_use = 0u32;
    for hour in 6..18 {
        for (k, user) in slow.iter().enumerate() {
            single_use += 1;
            let ip = format!("2001:db8:5107::{single_use:x}");
            let time = DEMO_DAY + hour * HOUR + k as i64 * 3 * MINUTE + 17_000;
            let failure = drafts.signin(time, user, &ip, 50126);
            drafts.push(Event::SignIn(failure.into()));
        }
    }
    // 4. The test account signs in without MFA over ROPC, then the OAuth chain.
    let mut hit = drafts.signin(DEMO_DAY + 14 * HOUR + 12 * MINUTE, MB_VICTIM, HIT_IP, 0);
    hit.factor = FactorRequirement::Single;
    hit.legacy = true;
    hit.user_agent = Some("BAV2ROPC".into());
    drafts.push(Event::SignIn(hit.into()));
    oauth_foothold(&mut drafts, DEMO_DAY + 15 * HOUR, HIT_IP);
    mail_collection(&mut drafts, DEMO_DAY + 16 * HOUR);
    let at = |list: &[String], n: usize| list.get(n).cloned().unwrap_or_default();
    let truth = json!({
        "scenario": "tenant",
        "attacks": [
            { "name": "single-ip-spray", "detectors": ["password-spray"], "entities": [SINGLE_SPRAY_IP, at(&single, 0), at(&single, 39)] },
            { "name": "distributed-spray", "detectors": ["distributed-password-spray"], "entities": [at(&targets, 0), at(&targets, 59), MB_VICTIM] },
            { "name": "low-and-slow-spray", "detectors": ["low-and-slow-spray"], "entities": [at(&slow, 0), at(&slow, 13)] },
            { "name": "compromised-account", "detectors": ["spray-then-success", "single-factor-legacy-signin"], "entities": [MB_VICTIM, HIT_IP] },
            { "name": "oauth-foothold", "detectors": ["oauth-app-created", "oauth-credential-added"], "entities": [MB_APP_ID] },
            { "name": "privilege", "detectors": ["oauth-high-privilege-grant"], "entities": [MB_APP_ID] },
            { "name": "mail-collection", "detectors": ["mailbox-access-by-app", "multi-mailbox-access"], "entities": [MB_APP_ID, MB_MAILBOXES[0], MB_MAILBOXES[9]] },
            { "name": "attack-chain", "detectors": ["attack-chain"], "entities": [MB_VICTIM, MB_APP_ID, MB_MAILBOXES[0]] },
        ],
        "attack_entities": {
            "ips": [SINGLE_SPRAY_IP, HIT_IP, MAIL_IP, "198.18.0.0/22", "2001:db8:5107::/48"],
            "users": single.iter().chain(targets.iter()).chain(slow.iter()).collect::<Vec<_>>(),
            "apps": [MB_APP_ID, MB_LEGACY_APP_ID],
        },
    });
    (drafts.finish_timed(), truth)
}

/// Writes the tenant's day as NDJSON to `out` and returns the ground truth.
pub fn tenant(options: &TenantOptions, out: &mut dyn Write) -> io::Result<Value> {
    let mut rng = Rng::new(options.seed);
    let (planted, truth) = planted(options.seed);
    let mut planted = planted.into_iter().peekable();
    let mut pending: Vec<(Timestamp, String)> = Vec::new();
    let total = options.events;
    let mut written = 0u64;
    let mut i = 0u64;
    while written < total {
        let arrival = background_time(i, total);
        // Records are delivered up to a minute after they happened.
        let time = arrival - rng.below(60_000) as i64;
        let before = pending.len();
        background(&mut rng, options, i, time, &mut pending);
        written += (pending.len() - before) as u64;
        i += 1;
        if pending.len() >= 64 || written >= total {
            for (_, line) in pending.drain(..) {
                while let Some((_, planted_line)) = planted.next_if(|(t, _)| *t <= arrival) {
                    out.write_all(planted_line.as_bytes())?;
                    out.write_all(b"\n")?;
                }
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
    }
    for (_, line) in planted {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(truth)
}
