//! `generate --scenario tenant`: a realistic day of a large tenant that the engine has been
//! watching, for benchmarks, with planted attacks, benign look-alikes and a ground-truth file.
//!
//! **The week before.** The output opens with a warm-up: the previous week (2024-01-08..14)
//! compressed into one successful multi-factor sign-in per user from each of their usual places
//! (office, home, phone), in time order, so that the engine's baselines (known IPs, known egress,
//! each user's familiar places) are a deployed engine's, not those of an engine started that
//! morning. That is three records per user (150,000 at 50,000 users) on top of `events`.
//!
//! **The day.** `events` background records over 2024-01-15 (busier from 07:00 to 19:00):
//! sign-ins (80 %: interactive, non-interactive, service principal and managed identity, in the
//! Azure Monitor diagnostic shape with the fields real records carry — device, location, ASN,
//! conditional access policies — so a median record is about 2.3 KB and the largest about 8 KB),
//! directory audit records (10 %) and Exchange unified audit records (10 %). Every user has stable
//! places: a laptop and a phone (device ids derived from the user), the office (one of four NAT
//! egress IPs, ASN 64500, the country of the user's city), a home (one fixed IP at one of six
//! ISPs), a mobile carrier (one of three, a new CGNAT address each time) and, for 1 % of users,
//! hotels abroad (another country, a hotel's ASN). 2.5 % of sign-ins are a mistyped password and
//! a retry, 1 % an MFA prompt answered. Records arrive up to a minute out of order.
//!
//! **Benign look-alikes** in the day (the truth lists them under `look_alikes`; none of their
//! users or IPs is an attack entity):
//! - a lockout wave after a password-policy change (08:30): 30 users behind the office NAT
//!   `198.51.100.11` each fail three times within seconds (50126, 50126, 50053), the wave spread
//!   over 9 minutes; each signs in with MFA 5 to 20 minutes later;
//! - conference Wi-Fi (13:00–13:45): one new IP that 40 users sign in from with MFA, 6 of them
//!   after one mistyped password;
//! - travellers and new phones: 15 users sign in with MFA from a hotel abroad in a browser on an
//!   unregistered device, 15 from a brand-new phone on a carrier they never used (network, device
//!   and provider all new to them);
//! - a VPN egress, new that day, shared by thousands: 2,000 users (at most half the tenant) sign
//!   in with MFA from one IP over the day, 2 % of them after one mistyped password.
//!
//! **Planted attacks**, in time order: a single-IP spray (09:00); a distributed spray from 1,200
//! residential proxy IPs (10:00–10:48, a proxy used twice comes back three minutes later) in which,
//! 41 minutes in, a user the spray never tried signs in single-factor from one of its proxies,
//! between two of that proxy's failures for other users (the first-try hit); the spray's break-in
//! into a legacy test account without MFA (14:12); a low-and-slow spray (one failure per user per
//! hour from single-use IPs, 06:00–18:00); and the OAuth chain (15:00 app created, secrets added,
//! `full_access_as_app` granted by another app; 16:00 ten mailboxes read). The ground truth lists
//! each with the detectors and entities that must appear, and every attacker entity.
//!
//! **Without attacks** (`attacks: false`, `--scenario tenant-benign`): the same warm-up,
//! background and look-alikes, byte for byte, and no planted attack (the truth lists none): the
//! day an analyst's queue should be empty.
//!
//! Stress variants replace the background's addressing: every sign-in from a distinct IP, from a
//! distinct user, or a third of them from one very hot IP.

use std::io::{self, Write};

use serde_json::{json, Value};
use snowyowl::event::{Event, FactorRequirement, Shape};
use snowyowl::render;
use snowyowl::time::{self, Timestamp, DAY, HOUR, MINUTE};

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
    /// Background records of the day (the warm-up, about three per user, the look-alikes, about
    /// 2,200, and the planted attacks, about 3,000, come on top).
    pub events: u64,
    /// Seed: the same options give the same bytes.
    pub seed: u64,
    /// Stress variant.
    pub stress: Stress,
    /// Plant the attacks (false: the benign-only day).
    pub attacks: bool,
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
/// Where the lockout wave happens: one of the office NATs.
const WAVE_IP: &str = OFFICE[1];
const CONFERENCE_IP: &str = "192.0.2.150";
const VPN_IP: &str = "192.0.2.10";
/// The user whose password the distributed spray guesses at the first try (never one of its
/// targets).
const FIRST_TRY_USER: u64 = 2_024;

/// The office's ASN; homes' ISPs; mobile carriers; a carrier no user had; hotels'; the VPN's;
/// the conference venue's.
const OFFICE_ASN: u32 = 64_500;
const HOME_ISPS: [u32; 6] = [64_510, 64_511, 64_512, 64_513, 64_514, 64_515];
const CARRIERS: [u32; 3] = [64_520, 64_521, 64_522];
const NEW_CARRIER: u32 = 64_529;
const HOTELS: [u32; 4] = [64_530, 64_531, 64_532, 64_533];
const VPN_ASN: u32 = 64_540;
const CONFERENCE_ASN: u32 = 64_550;

type City = (&'static str, &'static str, &'static str, f64, f64);
const CITIES: [City; 5] = [
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

/// A user's fixed hash: their places, devices and providers derive from it.
fn user_hash(n: u64) -> u64 {
    n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 8
}

/// Users of the planted attacks, by number: the pool the single-IP and distributed sprays take
/// their targets from, the low-and-slow spray's targets, and the first-try hit's user.
fn attack_user(n: u64) -> bool {
    let pool = n >= 11 && (n - 11).is_multiple_of(37) && (n - 11) / 37 < 80;
    let slow = n >= 7 && (n - 7).is_multiple_of(53) && (n - 7) / 53 < 14;
    pool || slow || n == FIRST_TRY_USER
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

/// Where a user signs in from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Office,
    Home,
    Mobile,
    Hotel,
}

/// The device a sign-in comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Device {
    /// The user's company laptop.
    Laptop,
    /// The user's phone.
    Phone,
    /// A phone enrolled today.
    NewPhone,
    /// A browser on a device not registered (no device id).
    Unregistered,
}

/// A sign-in's place as the log shows it: IP, device, provider, location.
#[derive(Debug, Clone)]
struct Whereabouts {
    ip: String,
    device: Device,
    asn: u32,
    city: City,
}

/// The user's home city.
fn home_city(hash: u64) -> City {
    nth(&CITIES, hash, CITIES[0])
}

/// A city in another country than the user's.
fn abroad(rng: &mut Rng, hash: u64) -> City {
    nth(&CITIES, hash % 5 + 1 + rng.below(4), CITIES[0])
}

/// A mobile carrier's CGNAT address: a new one each time.
fn cgnat(rng: &mut Rng) -> String {
    format!(
        "100.{}.{}.{}",
        64 + rng.below(64),
        rng.below(256),
        1 + rng.below(254)
    )
}

/// A user's usual place (or a hotel abroad).
fn whereabouts(rng: &mut Rng, place: Place, hash: u64) -> Whereabouts {
    match place {
        Place::Office => Whereabouts {
            ip: nth(&OFFICE, hash, OFFICE[0]).to_owned(),
            device: Device::Laptop,
            asn: OFFICE_ASN,
            city: home_city(hash),
        },
        Place::Home => Whereabouts {
            ip: format!(
                "73.{}.{}.{}",
                (hash >> 16) & 0xff,
                (hash >> 8) & 0xff,
                1 + hash % 254
            ),
            device: Device::Laptop,
            asn: nth(&HOME_ISPS, hash >> 20, HOME_ISPS[0]),
            city: home_city(hash),
        },
        Place::Mobile => Whereabouts {
            ip: cgnat(rng),
            device: Device::Phone,
            asn: nth(&CARRIERS, hash >> 24, CARRIERS[0]),
            city: home_city(hash),
        },
        Place::Hotel => Whereabouts {
            ip: format!(
                "81.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            ),
            device: Device::Laptop,
            asn: nth(&HOTELS, rng.next_u64(), HOTELS[0]),
            city: abroad(rng, hash),
        },
    }
}

/// The stable id of one of a user's devices.
fn device_id(hash: u64, device: Device) -> String {
    let kind = match device {
        Device::Laptop => 1,
        _ => 2,
    };
    uuid(&mut Rng::new(
        hash ^ 0xd1b5_4a32_d192_ed03_u64.wrapping_mul(kind),
    ))
}

/// `deviceDetail` of a sign-in, and its user agent.
fn device_detail(rng: &mut Rng, hash: u64, device: Device) -> (Value, &'static str) {
    let laptop_agent = nth(&[AGENTS[0], AGENTS[1], AGENTS[3]], hash, AGENTS[0]);
    match device {
        Device::Laptop => (
            json!({
                "deviceId": device_id(hash, device), "displayName": format!("LT-{:05}", hash % 100_000),
                "operatingSystem": "Windows10", "browser": "Edge 120.0.2210", "isCompliant": true,
                "isManaged": true, "trustType": "Azure AD joined",
            }),
            laptop_agent,
        ),
        Device::Phone | Device::NewPhone => {
            let id = if device == Device::Phone {
                device_id(hash, device)
            } else {
                uuid(rng)
            };
            (
                json!({
                    "deviceId": id, "displayName": format!("iPhone-{:05}", hash % 100_000),
                    "operatingSystem": "Ios 17.2", "browser": "Mobile Safari 17.2", "isCompliant": true,
                    "isManaged": true, "trustType": "Azure AD registered",
                }),
                AGENTS[2],
            )
        }
        Device::Unregistered => (
            json!({
                "deviceId": "", "displayName": "", "operatingSystem": "Windows10",
                "browser": "Chrome 120.0.0", "isCompliant": false, "isManaged": false, "trustType": "",
            }),
            AGENTS[0],
        ),
    }
}

/// The fields real Azure Monitor sign-ins carry that the detectors read little or nothing of:
/// device, location, conditional access policies (how many varies: that makes the size tail).
fn sign_in_padding(rng: &mut Rng, at: &Whereabouts, device: Value) -> Value {
    let (city, state, country, lat, lon) = at.city;
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
    let network = if at.asn == OFFICE_ASN {
        json!([{ "networkType": "namedNetwork", "networkNames": ["Corporate egress"] }])
    } else {
        json!([])
    };
    json!({
        "deviceDetail": device,
        "location": {
            "city": city, "state": state, "countryOrRegion": country,
            "geoCoordinates": { "altitude": null, "latitude": lat, "longitude": lon },
        },
        "autonomousSystemNumber": at.asn,
        "conditionalAccessStatus": "success",
        "appliedConditionalAccessPolicies": policies,
        "networkLocationDetails": network,
        "tokenIssuerType": "AzureAD",
        "resourceDisplayName": "Office 365 Exchange Online",
        "resourceId": "00000002-0000-0ff1-ce00-000000000000",
        "correlationId": uuid(rng),
        "riskDetail": "none", "riskLevelAggregated": "none", "riskLevelDuringSignIn": "none", "riskState": "none",
        "processingTimeInMilliseconds": rng.below(400),
    })
}

/// A user's sign-in (MFA required) from `at`.
#[allow(clippy::too_many_arguments)]
fn sign_in(
    rng: &mut Rng,
    time: Timestamp,
    category: &str,
    user: &str,
    code: u32,
    user_hash: u64,
    at: &Whereabouts,
) -> String {
    let (app_id, app_name) = nth(&APPS, rng.next_u64(), APPS[0]);
    let (device, agent) = device_detail(rng, user_hash, at.device);
    let time = time::format(time);
    let step = match code {
        0 => "MFA successfully completed",
        50074 => "Correct password",
        50053 => "Account is locked",
        _ => "Invalid username or password or Invalid on-premise username or password.",
    };
    let ip = at.ip.as_str();
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
        (properties.as_object_mut(), sign_in_padding(rng, at, device))
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
    let hash = user_hash(n);
    let place = match rng.below(100) {
        0..=54 => Place::Office,
        55..=79 => Place::Home,
        80..=98 => Place::Mobile,
        _ if hash.is_multiple_of(100) => Place::Hotel,
        _ => Place::Office,
    };
    let mut at = whereabouts(rng, place, hash);
    match options.stress {
        Stress::DistinctIps => {
            at.ip = format!("10.{}.{}.{}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
        }
        Stress::HotIp if rng.chance(33) => {
            at = whereabouts(rng, Place::Office, hash);
            at.ip = OFFICE[0].to_owned();
        }
        _ => {}
    }
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
                    out.push((time, sign_in(rng, time, category, &user, 50126, hash, &at)));
                    let retry = time + 20_000 + rng.below(40_000) as i64;
                    out.push((retry, sign_in(rng, retry, category, &user, 0, hash, &at)));
                }
                // An MFA prompt, then success.
                25..=34 => {
                    out.push((time, sign_in(rng, time, category, &user, 50074, hash, &at)));
                    let done = time + 15_000;
                    out.push((done, sign_in(rng, done, category, &user, 0, hash, &at)));
                }
                // Interrupts no detector reads (keep me signed in, device auth).
                35..=44 => out.push((time, sign_in(rng, time, category, &user, 50140, hash, &at))),
                _ => out.push((time, sign_in(rng, time, category, &user, 0, hash, &at))),
            }
        }
        80..=89 => {
            let admin = rng.below(20);
            out.push((time, audit(rng, time, admin, &user)));
        }
        _ => out.push((time, exchange(rng, time, &user, &at.ip))),
    }
}

/// The week before the day, compressed (2024-01-08..14): each user's successful multi-factor
/// sign-in from each of their usual places (office, home, phone), in time order. Returns the
/// records written.
fn warm_up(options: &TenantOptions, out: &mut dyn Write) -> io::Result<u64> {
    let mut rng = Rng::new(options.seed ^ 0x3a4d_0c1e_5eed);
    let users = options.users.max(1);
    let count = 3 * users;
    let week = 7 * DAY;
    let start = DEMO_DAY - week;
    let step = (week / count as i64).max(1);
    for k in 0..count {
        let n = k % users;
        let hash = user_hash(n);
        // Each user's three places, one in each pass over the users, in a different order.
        let place = match (k / users + n) % 3 {
            0 => Place::Office,
            1 => Place::Home,
            _ => Place::Mobile,
        };
        let time = start + k as i64 * week / count as i64 + rng.below(step as u64) as i64;
        let at = whereabouts(&mut rng, place, hash);
        let line = sign_in(&mut rng, time, "SignInLogs", &user_name(n), 0, hash, &at);
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(count)
}

/// Users of the VPN look-alike (at most half the tenant).
const VPN_USERS: u64 = 2_000;

/// The benign look-alikes of the day, as (arrival time, line) in arrival order, and what the
/// truth says of them (see the module docs).
fn look_alikes(options: &TenantOptions) -> (Vec<(Timestamp, String)>, Value) {
    let mut rng = Rng::new(options.seed ^ 0x1007_a11c_e5e5);
    let users = options.users.max(1);
    let vpn_users = VPN_USERS.min(users / 2);
    // Their users, from the top of the tenant down, never an attack's: the wave's are those
    // whose office is the wave's NAT.
    let mut wave = Vec::new();
    let mut others = Vec::new();
    for n in (0..users)
        .rev()
        .filter(|n| !attack_user(*n))
        .take(vpn_users as usize + 600)
    {
        if wave.len() < 30 && nth(&OFFICE, user_hash(n), OFFICE[0]) == WAVE_IP {
            wave.push(n);
        } else {
            others.push(n);
        }
    }
    let mut others = others.into_iter();
    let conference: Vec<u64> = others.by_ref().take(40).collect();
    let travellers: Vec<u64> = others.by_ref().take(30).collect();
    let vpn: Vec<u64> = others.by_ref().take(vpn_users as usize).collect();
    let mut lines = Vec::new();
    let names = |list: &[u64]| list.iter().map(|n| user_name(*n)).collect::<Vec<_>>();

    // A lockout wave after a password-policy change: three failures within seconds each, a user
    // every 18 s, delivered promptly; each user back with MFA 5 to 20 minutes later.
    let wave_at = DEMO_DAY + 8 * HOUR + 30 * MINUTE;
    for (k, n) in wave.iter().enumerate() {
        let (user, hash) = (user_name(*n), user_hash(*n));
        let at = whereabouts(&mut rng, Place::Office, hash);
        let first = wave_at + k as i64 * 18_000 + rng.below(5_000) as i64;
        let second = first + 2_000 + rng.below(2_000) as i64;
        let locked = second + 2_000 + rng.below(2_000) as i64;
        for (time, code) in [(first, 50126), (second, 50126), (locked, 50053)] {
            let line = sign_in(&mut rng, time, "SignInLogs", &user, code, hash, &at);
            lines.push((time + rng.below(1_000) as i64, line));
        }
        let back = locked + 5 * MINUTE + rng.below(15 * MINUTE as u64) as i64;
        let line = sign_in(&mut rng, back, "SignInLogs", &user, 0, hash, &at);
        lines.push((back + rng.below(60_000) as i64, line));
    }

    // Conference Wi-Fi: 40 users on their own laptops and phones, 6 mistyping once (7 minutes
    // apart), the rest any time in the 45 minutes.
    let conference_at = DEMO_DAY + 13 * HOUR;
    for (k, n) in conference.iter().enumerate() {
        let (user, hash) = (user_name(*n), user_hash(*n));
        let at = Whereabouts {
            ip: CONFERENCE_IP.to_owned(),
            device: if k % 2 == 0 {
                Device::Laptop
            } else {
                Device::Phone
            },
            asn: CONFERENCE_ASN,
            city: CITIES[1],
        };
        let mut time = conference_at + rng.below(45 * MINUTE as u64) as i64;
        if k < 6 {
            time = conference_at + 4 * MINUTE + k as i64 * 7 * MINUTE + rng.below(120_000) as i64;
            let line = sign_in(&mut rng, time, "SignInLogs", &user, 50126, hash, &at);
            lines.push((time + rng.below(60_000) as i64, line));
            time += 20_000 + rng.below(20_000) as i64;
        }
        let line = sign_in(&mut rng, time, "SignInLogs", &user, 0, hash, &at);
        lines.push((time + rng.below(60_000) as i64, line));
    }

    // Travellers at a hotel abroad in an unregistered browser, and new phones on a new carrier.
    let mut traveller_ips = Vec::new();
    for (k, n) in travellers.iter().enumerate() {
        let (user, hash) = (user_name(*n), user_hash(*n));
        let at = if k < 15 {
            Whereabouts {
                device: Device::Unregistered,
                ..whereabouts(&mut rng, Place::Hotel, hash)
            }
        } else {
            Whereabouts {
                ip: cgnat(&mut rng),
                device: Device::NewPhone,
                asn: NEW_CARRIER,
                city: home_city(hash),
            }
        };
        let time = DEMO_DAY + 7 * HOUR + rng.below(12 * HOUR as u64) as i64;
        let line = sign_in(&mut rng, time, "SignInLogs", &user, 0, hash, &at);
        lines.push((time + rng.below(60_000) as i64, line));
        traveller_ips.push(at.ip);
    }

    // The VPN egress: its users through the working day, 2 % mistyping once first.
    let spacing = (12 * HOUR / vpn_users.max(1) as i64).max(1);
    let vpn_at = Whereabouts {
        ip: VPN_IP.to_owned(),
        device: Device::Laptop,
        asn: VPN_ASN,
        city: CITIES[0],
    };
    for (k, n) in vpn.iter().enumerate() {
        let (user, hash) = (user_name(*n), user_hash(*n));
        let mut time = DEMO_DAY + 7 * HOUR + k as i64 * spacing + rng.below(spacing as u64) as i64;
        if k % 50 == 17 {
            let line = sign_in(&mut rng, time, "SignInLogs", &user, 50126, hash, &vpn_at);
            lines.push((time + rng.below(60_000) as i64, line));
            time += 20_000 + rng.below(20_000) as i64;
        }
        let line = sign_in(&mut rng, time, "SignInLogs", &user, 0, hash, &vpn_at);
        lines.push((time + rng.below(60_000) as i64, line));
    }

    lines.sort_by_key(|(time, _)| *time);
    let truth = json!([
        { "name": "lockout-wave", "ips": [WAVE_IP], "users": names(&wave) },
        { "name": "conference-wifi", "ips": [CONFERENCE_IP], "users": names(&conference) },
        { "name": "travellers-and-new-phones", "ips": traveller_ips, "users": names(&travellers) },
        { "name": "vpn-egress", "ips": [VPN_IP], "user_count": vpn.len(), "users": names(vpn.get(..10).unwrap_or(&vpn)) },
    ]);
    (lines, truth)
}

/// The planted attacks, rendered in arrival order; the truth's attacks, and every attacker
/// entity.
fn planted(seed: u64) -> (Vec<(Timestamp, String)>, Value, Value) {
    let mut drafts = Drafts::new(seed ^ 0x5eed);
    let victim_pool: Vec<String> = (0..80).map(|n| user_name(n * 37 + 11)).collect();
    // 1. A single-IP spray: 40 users in 8 minutes.
    let single: Vec<String> = victim_pool.iter().take(40).cloned().collect();
    for (k, user) in single.iter().enumerate() {
        let time = DEMO_DAY + 9 * HOUR + k as i64 * 12_000;
        let failure = drafts.signin(time, user, SINGLE_SPRAY_IP, 50126);
        drafts.push(Event::SignIn(failure.into()));
    }
    // 2. A distributed spray from 1,200 residential proxies, one or two attempts each (a proxy
    //    used twice comes back three minutes later), an attempt every 1.5 s against 60 users
    //    including the legacy test account.
    let mut targets: Vec<String> = victim_pool.iter().skip(20).take(59).cloned().collect();
    targets.insert(17, MB_VICTIM.to_owned());
    let spray_at = DEMO_DAY + 10 * HOUR;
    let first_try_at = spray_at + 41 * MINUTE;
    let mut first_try_proxy = String::new();
    let mut attempt = 0usize;
    for ip in 0..1_200usize {
        let proxy = format!("198.18.{}.{}", ip / 250, ip % 250 + 1);
        let tries = 1 + ip % 2;
        let first = spray_at + (attempt as i64) * 1_500;
        // The first-try hit comes from a proxy that fails before it and after it.
        if tries == 2 && first_try_proxy.is_empty() && first >= first_try_at - 2 * MINUTE {
            first_try_proxy.clone_from(&proxy);
        }
        for k in 0..tries {
            let target = targets
                .get(attempt % targets.len())
                .cloned()
                .unwrap_or_default();
            let time = first + k as i64 * 3 * MINUTE;
            let code = if attempt % 17 == 3 { 50053 } else { 50126 };
            let mut failure = drafts.signin(time, &target, &proxy, code);
            failure.app_id = Some("1b730954-1685-4b74-9bfd-dac224a7b894".into());
            failure.app_name = Some("Azure Active Directory PowerShell".into());
            drafts.push(Event::SignIn(failure.into()));
            attempt += 1;
        }
    }
    // The first-try hit: a user the spray never tried, whose password it guessed at once: a
    // password alone, through the spray's proxy, with the spray's tool. Written in the Azure
    // Monitor shape, which says the factor.
    let first_try = user_name(FIRST_TRY_USER);
    let mut lucky = drafts.signin(first_try_at, &first_try, &first_try_proxy, 0);
    lucky.factor = FactorRequirement::Single;
    lucky.shape = Shape::AzureMonitor;
    lucky.app_id = Some("1b730954-1685-4b74-9bfd-dac224a7b894".into());
    lucky.app_name = Some("Azure Active Directory PowerShell".into());
    let lucky = render::event(&Event::SignIn(lucky.into()), Shape::AzureMonitor);
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
    let attacks = json!([
        { "name": "single-ip-spray", "detectors": ["password-spray"], "entities": [SINGLE_SPRAY_IP, at(&single, 0), at(&single, 39)] },
        { "name": "distributed-spray", "detectors": ["distributed-password-spray"], "entities": [at(&targets, 0), at(&targets, 59), MB_VICTIM] },
        { "name": "first-try-hit", "detectors": ["spray-then-success"], "entities": [first_try, first_try_proxy] },
        { "name": "low-and-slow-spray", "detectors": ["low-and-slow-spray"], "entities": [at(&slow, 0), at(&slow, 13)] },
        { "name": "compromised-account", "detectors": ["spray-then-success", "single-factor-legacy-signin"], "entities": [MB_VICTIM, HIT_IP] },
        { "name": "oauth-foothold", "detectors": ["oauth-app-created", "oauth-credential-added"], "entities": [MB_APP_ID] },
        { "name": "privilege", "detectors": ["oauth-high-privilege-grant"], "entities": [MB_APP_ID] },
        { "name": "mail-collection", "detectors": ["mailbox-access-by-app", "multi-mailbox-access"], "entities": [MB_APP_ID, MB_MAILBOXES[0], MB_MAILBOXES[9]] },
        { "name": "attack-chain", "detectors": ["attack-chain"], "entities": [MB_VICTIM, MB_APP_ID, MB_MAILBOXES[0]] },
    ]);
    let entities = json!({
        "ips": [SINGLE_SPRAY_IP, HIT_IP, MAIL_IP, "198.18.0.0/21", "2001:db8:5107::/48"],
        "users": single.iter().chain(targets.iter()).chain(slow.iter()).chain([&first_try]).collect::<Vec<_>>(),
        "apps": [MB_APP_ID, MB_LEGACY_APP_ID],
    });
    let mut lines = drafts.finish_timed();
    lines.push((first_try_at + 30_000, lucky));
    lines.sort_by_key(|(time, _)| *time);
    (lines, attacks, entities)
}

/// Writes the warm-up and the tenant's day as NDJSON to `out` and returns the ground truth.
pub fn tenant(options: &TenantOptions, out: &mut dyn Write) -> io::Result<Value> {
    let warm_up = warm_up(options, out)?;
    let mut rng = Rng::new(options.seed);
    let (mut planted, attacks, entities) = if options.attacks {
        planted(options.seed)
    } else {
        let none = json!({ "ips": [], "users": [], "apps": [] });
        (Vec::new(), json!([]), none)
    };
    let attack_records = planted.len();
    let (look_alikes, look_alike_truth) = look_alikes(options);
    let look_alike_records = look_alikes.len();
    planted.extend(look_alikes);
    planted.sort_by_key(|(time, _)| *time);
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
    Ok(json!({
        "scenario": if options.attacks { "tenant" } else { "tenant-benign" },
        "users": options.users,
        "records": {
            "warm_up": warm_up, "background": written,
            "look_alikes": look_alike_records, "attacks": attack_records,
        },
        "attacks": attacks,
        "attack_entities": entities,
        "look_alikes": look_alike_truth,
    }))
}
