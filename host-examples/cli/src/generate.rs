//! `snowyowl generate`: deterministic, realistic scenarios in the real log shapes.
//!
//! The `demo` scenario is one day of a 300-user tenant: ordinary sign-ins from the office NAT,
//! homes and phones (mistyped passwords, MFA prompts and all), in all four sign-in shapes, with
//! timestamps slightly out of order as real pipelines deliver them; and at mid-morning two rounds
//! of a password spray from one IP against 40 accounts, the second of which finds the password of
//! a legacy test account without MFA (single-factor, over ROPC, from the spraying IP).

use std::fmt::Write as _;

use snowyowl::event::{
    Actor, AuditActivity, AuditTarget, DirectoryAudit, Event, FactorRequirement, MailClient,
    MailboxAccess, Modified, Shape, SignInCategory, SignInFields,
};
use snowyowl::render;
use snowyowl::time::{Timestamp, DAY, HOUR, MINUTE};

/// A small, seeded pseudo-random generator (SplitMix64): same seed, same scenario.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

const FIRST: [&str; 24] = [
    "ann", "ben", "carla", "dev", "elena", "femi", "gus", "hana", "ivan", "jo", "kemal", "lena",
    "marco", "nadia", "oscar", "priya", "quinn", "rosa", "sam", "tariq", "uma", "viktor", "wen",
    "yusuf",
];
const LAST: [&str; 16] = [
    "adams", "brown", "chen", "diaz", "evans", "fischer", "garcia", "hughes", "ito", "jones",
    "kowalski", "lopez", "moreau", "nguyen", "okafor", "patel",
];
pub(crate) const APPS: [(&str, &str); 5] = [
    (
        "00000002-0000-0ff1-ce00-000000000000",
        "Office 365 Exchange Online",
    ),
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"),
    ("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal"),
    ("d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office"),
    (
        "00000003-0000-0ff1-ce00-000000000000",
        "Office 365 SharePoint Online",
    ),
];
pub(crate) const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
];
/// The tenant of the demo scenario.
pub const TENANT: &str = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
/// The spraying IP of the demo scenario.
pub const SPRAY_IP: &str = "203.0.113.66";
/// The account the demo spray breaks into.
pub const VICTIM: &str = "svc-legacy-test@contoso.com";
/// 2024-01-15T00:00:00Z, the demo day.
pub const DEMO_DAY: Timestamp = 1_705_276_800_000;

fn shape(rng: &mut Rng) -> Shape {
    match rng.below(100) {
        0..=59 => Shape::AzureMonitor,
        60..=74 => Shape::LogAnalytics,
        75..=89 => Shape::Graph,
        _ => Shape::UnifiedAudit,
    }
}

pub(crate) fn uuid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

struct Draft {
    time: Timestamp,
    sequence: usize,
    shape: Shape,
    event: Event,
}

fn base(rng: &mut Rng, time: Timestamp, user: &str, ip: &str, code: u32) -> SignInFields<String> {
    let (app_id, app_name) = rng.pick(&APPS).copied().unwrap_or(APPS[0]);
    SignInFields {
        time,
        id: uuid(rng),
        shape: Shape::Graph,
        category: SignInCategory::Interactive,
        user: user.to_owned(),
        ip: Some(ip.to_owned()),
        result_code: code,
        correct_password_step: false,
        app_id: Some(app_id.to_owned()),
        app_name: Some(app_name.to_owned()),
        user_agent: rng.pick(&AGENTS).map(|agent| (*agent).to_owned()),
        factor: if code == 0 {
            FactorRequirement::Multi
        } else {
            FactorRequirement::Single
        },
        legacy: false,
        asn: None,
        tenant_id: Some(TENANT.to_owned()),
        home_tenant_id: Some(TENANT.to_owned()),
        app_owner_tenant_id: None,
        country: None,
        device_id: None,
        risk_event_types: Vec::new(),
    }
}

/// Events of a scenario, before they are written out.
pub(crate) struct Drafts {
    pub(crate) rng: Rng,
    drafts: Vec<Draft>,
}

impl Drafts {
    pub(crate) fn new(seed: u64) -> Self {
        Drafts {
            rng: Rng::new(seed),
            drafts: Vec::new(),
        }
    }

    /// Adds an event; pipelines deliver slightly out of order, so it arrives up to 90 s late.
    pub(crate) fn push(&mut self, event: Event) {
        let sequence = self.drafts.len();
        let arrival = event.time() + self.rng.below(90_000) as i64;
        let shape = shape(&mut self.rng);
        self.drafts.push(Draft {
            time: arrival,
            sequence,
            shape,
            event,
        });
    }

    pub(crate) fn signin(
        &mut self,
        time: Timestamp,
        user: &str,
        ip: &str,
        code: u32,
    ) -> SignInFields<String> {
        base(&mut self.rng, time, user, ip, code)
    }

    /// Writes the events in arrival order, sign-ins in any of their four shapes, the rest in a
    /// shape they come in.
    fn finish(self) -> String {
        let mut out = String::new();
        for (_, line) in self.finish_timed() {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// The events in arrival order as (arrival time, line), for merging into another stream.
    pub(crate) fn finish_timed(mut self) -> Vec<(Timestamp, String)> {
        self.drafts
            .sort_by_key(|draft| (draft.time, draft.sequence));
        let mut out = Vec::with_capacity(self.drafts.len());
        for draft in self.drafts {
            let shape = match (&draft.event, draft.shape) {
                (
                    Event::MailboxAccess(_) | Event::ExchangeAdmin(_),
                    Shape::AzureMonitor | Shape::Graph,
                ) => Shape::UnifiedAudit,
                (_, shape) => shape,
            };
            let event = match draft.event {
                Event::SignIn(mut signin) => {
                    signin.shape = shape;
                    Event::SignIn(signin)
                }
                other => other,
            };
            out.push((draft.time, render::event(&event, shape)));
        }
        out
    }
}

fn tenant_users() -> Vec<String> {
    (0..300)
        .map(|i| {
            let first = FIRST.get(i % FIRST.len()).copied().unwrap_or("x");
            let last = LAST
                .get((i / FIRST.len()) % LAST.len())
                .copied()
                .unwrap_or("y");
            format!("{first}.{last}@contoso.com")
        })
        .collect()
}

/// Where a user signs in from.
#[derive(Clone, Copy)]
enum Place {
    Office,
    Home,
    Phone,
}

/// A user's sign-in from one of their places: the place's IP, and the device, provider (ASN)
/// and country that come with it, the same every day (what the familiar-place baselines learn).
fn at_place(signin: &mut SignInFields<String>, user: usize, place: Place) {
    let (device, asn) = match place {
        Place::Office => (format!("laptop-{user:03}"), 64_500),
        Place::Home => (format!("laptop-{user:03}"), 64_510 + (user % 5) as u32),
        Place::Phone => (format!("phone-{user:03}"), 64_520 + (user % 3) as u32),
    };
    signin.device_id = Some(format!("{:08x}-0000-4000-8000-{device:0>12}", user));
    signin.asn = Some(asn);
    signin.country = Some("NL".to_owned());
}

fn place_ip(rng: &mut Rng, user: usize, place: Place) -> String {
    match place {
        Place::Office => ["198.51.100.10", "198.51.100.11"]
            .get(rng.below(2) as usize)
            .copied()
            .unwrap_or("198.51.100.10")
            .to_owned(),
        Place::Home => format!("192.0.2.{}", 1 + user % 250),
        Place::Phone => format!("100.64.{}.{}", user % 256, 1 + user % 254),
    }
}

/// The day before the scenario, as the engine saw it: each user's multi-factor sign-in from each
/// of their places (office, home, phone), so its baselines are a running engine's.
fn seen_before(drafts: &mut Drafts, users: &[String], day: Timestamp) {
    for (i, user) in users.iter().enumerate() {
        for (k, place) in [Place::Office, Place::Home, Place::Phone]
            .into_iter()
            .enumerate()
        {
            let time =
                day - DAY + (8 + 4 * k as i64) * HOUR + drafts.rng.below(3 * HOUR as u64) as i64;
            let ip = place_ip(&mut drafts.rng, i, place);
            let mut signin = drafts.signin(time, user, &ip, 0);
            at_place(&mut signin, i, place);
            drafts.push(Event::SignIn(signin.into()));
        }
    }
}

/// One ordinary working day of `users`: sign-ins from the office NAT, homes and phones, with
/// mistyped passwords and MFA prompts.
fn benign_day(drafts: &mut Drafts, users: &[String], day: Timestamp) {
    for (i, user) in users.iter().enumerate() {
        for _ in 0..(2 + drafts.rng.below(6)) {
            let time = day + 7 * HOUR + drafts.rng.below(12 * HOUR as u64) as i64;
            let place = match drafts.rng.below(10) {
                0..=5 => Place::Office,
                6..=8 => Place::Home,
                _ => Place::Phone,
            };
            let ip = place_ip(&mut drafts.rng, i, place);
            let attempt = |drafts: &mut Drafts, time: Timestamp, code: u32| {
                let mut signin = drafts.signin(time, user, &ip, code);
                at_place(&mut signin, i, place);
                signin
            };
            match drafts.rng.below(100) {
                // A mistyped password, then the right one.
                0..=3 => {
                    let typo = attempt(drafts, time, 50126);
                    drafts.push(Event::SignIn(typo.into()));
                    let fixed = attempt(drafts, time + 40_000, 0);
                    drafts.push(Event::SignIn(fixed.into()));
                }
                // An MFA prompt, then success.
                4..=6 => {
                    let mut prompt = attempt(drafts, time, 50074);
                    prompt.correct_password_step = true;
                    prompt.factor = FactorRequirement::Multi;
                    drafts.push(Event::SignIn(prompt.into()));
                    let done = attempt(drafts, time + 25_000, 0);
                    drafts.push(Event::SignIn(done.into()));
                }
                _ => {
                    let signin = attempt(drafts, time, 0);
                    drafts.push(Event::SignIn(signin.into()));
                }
            }
        }
    }
}

/// The `demo` scenario as NDJSON.
pub fn demo(seed: u64) -> String {
    let mut drafts = Drafts::new(seed);
    let users = tenant_users();
    seen_before(&mut drafts, &users, DEMO_DAY);
    benign_day(&mut drafts, &users, DEMO_DAY);
    // The spray: one IP, two rounds of one password each against 40 accounts (three of which do
    // not exist), 10:02 to 10:24 and 11:05 to 11:27. The test account falls in round two.
    let mut targets: Vec<String> = users.iter().step_by(8).take(36).cloned().collect();
    targets.extend(
        [
            "admin@contoso.com",
            "test@contoso.com",
            "backup@contoso.com",
        ]
        .map(String::from),
    );
    targets.insert(20, VICTIM.to_owned());
    for (round, start) in [(0, 10 * HOUR + 2 * MINUTE), (1, 11 * HOUR + 5 * MINUTE)] {
        for (i, target) in targets.iter().enumerate() {
            let time = DEMO_DAY + start + (i as i64) * 33_000 + drafts.rng.below(5_000) as i64;
            let missing = ["admin@", "test@", "backup@"]
                .iter()
                .any(|p| target.starts_with(p));
            let code = match (missing, round, i % 13) {
                (true, _, _) => 50034,
                (false, 1, 5) => 50053,
                _ => 50126,
            };
            let mut attempt = drafts.signin(time, target, SPRAY_IP, code);
            attempt.user_agent = Some("BAV2ROPC".to_owned());
            attempt.app_id = Some("1b730954-1685-4b74-9bfd-dac224a7b894".to_owned());
            attempt.app_name = Some("Azure Active Directory PowerShell".to_owned());
            attempt.legacy = true;
            if round == 1 && target == VICTIM {
                // The test account has no MFA, and this round's password is its password.
                attempt.result_code = 0;
            }
            drafts.push(Event::SignIn(attempt.into()));
        }
    }
    drafts.finish()
}

/// The account the Midnight Blizzard scenario breaks into.
pub const MB_VICTIM: &str = "svc-legacy-test@contoso.com";
/// The app the actor creates.
pub const MB_APP_ID: &str = "5f0c3a1e-7b2d-4c9e-8a61-3d2e1f0a9b7c";
/// Its application object id.
pub const MB_APP_OBJECT: &str = "a7e1c2d3-1111-4a2b-9c3d-4e5f6a7b8c9d";
/// Its service principal object id.
pub const MB_APP_SP: &str = "b8f2d3e4-2222-4b3c-8d4e-5f6a7b8c9d0e";
/// The legacy test OAuth app the actor takes over and uses to grant permissions.
pub const MB_LEGACY_APP_ID: &str = "0c9d8e7f-3333-4c4d-9e5f-6a7b8c9d0e1f";
/// Its application object id.
pub const MB_LEGACY_OBJECT: &str = "1d0e9f8a-4444-4d5e-8f6a-7b8c9d0e1f2a";
/// Its service principal object id.
pub const MB_LEGACY_SP: &str = "2e1f0a9b-5555-4e6f-9a7b-8c9d0e1f2a3b";
/// The mailboxes the actor reads.
pub const MB_MAILBOXES: [&str; 10] = [
    "ceo@contoso.com",
    "cfo@contoso.com",
    "general.counsel@contoso.com",
    "ciso@contoso.com",
    "security.team@contoso.com",
    "legal@contoso.com",
    "board@contoso.com",
    "hr.director@contoso.com",
    "cto@contoso.com",
    "comms@contoso.com",
];
/// The administrator whose ordinary app work must not join the incident (she is sprayed too).
pub const MB_ADMIN: &str = "it.admin@contoso.com";
const EXCHANGE_SP: &str = "6a5b4c3d-6666-4f7a-8b9c-0d1e2f3a4b5c";

fn mb_audit(
    drafts: &mut Drafts,
    time: Timestamp,
    name: &str,
    actor: Actor,
    targets: Vec<AuditTarget>,
    modified: &[(&str, &str, &str)],
    app_id: Option<&str>,
) {
    let id = uuid(&mut drafts.rng);
    let audit = DirectoryAudit {
        time,
        id,
        shape: Shape::Graph,
        activity: AuditActivity::of(name),
        activity_name: name.to_owned(),
        success: true,
        actor,
        targets,
        modified: modified
            .iter()
            .map(|&(name, old, new)| Modified::new(name, old, new))
            .collect(),
        details: app_id
            .map(|app| vec![("AppId".to_owned(), app.to_owned())])
            .unwrap_or_default(),
        reason: None,
        tenant_id: Some(TENANT.to_owned()),
    };
    drafts.push(Event::DirectoryAudit(audit));
}

fn user_actor(upn: &str, ip: &str) -> Actor {
    Actor {
        user: Some(upn.to_owned()),
        ip: Some(ip.to_owned()),
        ..Actor::default()
    }
}

fn app_target(kind: &str, id: &str, name: &str) -> AuditTarget {
    AuditTarget {
        id: Some(id.to_owned()),
        kind: Some(kind.to_owned()),
        display_name: Some(name.to_owned()),
        user: None,
    }
}

fn mb_mail(
    drafts: &mut Drafts,
    time: Timestamp,
    app: &str,
    client: MailClient,
    mailbox: &str,
    ip: &str,
) {
    let id = uuid(&mut drafts.rng);
    let operation_count = 1 + drafts.rng.below(20);
    let logged_app = if client == MailClient::Graph {
        snowyowl::normalize::GRAPH_APP_ID
    } else {
        app
    };
    drafts.push(Event::MailboxAccess(MailboxAccess {
        time,
        id,
        shape: Shape::UnifiedAudit,
        user: app.to_owned(),
        mailbox: mailbox.to_owned(),
        client_app_id: Some(app.to_owned()),
        app_id: Some(logged_app.to_owned()),
        client,
        ip: Some(ip.to_owned()),
        throttled: false,
        operation_count,
        tenant_id: Some(TENANT.to_owned()),
        token_tenant_id: None,
    }));
}

/// The `midnight-blizzard` scenario: three days of the 300-user tenant, and the whole intrusion.
///
/// Day 1, 10:00–10:25: a password spray from 400 residential proxy IPs (one or two attempts each)
/// against 60 accounts, among them the legacy test account and the IT administrator. 14:12: the
/// test account, which has no MFA, signs in from yet another proxy over ROPC. Day 2, 09:00–09:30:
/// as the test account the actor creates the app "Mail Sync Test", adds a secret to it and to the
/// legacy test OAuth app, and — acting *as the legacy app*, with no consent event — grants the new
/// app Exchange `full_access_as_app`. Day 3, 02:00–03:10: the new app reads ten executives'
/// mailboxes through EWS and Graph, three passes 15 min apart. Meanwhile, benign noise: the sprayed IT administrator signs in
/// with MFA as usual and registers an HR portal app with a secret and a low-risk consent; Outlook
/// reads its users' mail.
pub fn midnight_blizzard(seed: u64) -> String {
    let mut drafts = Drafts::new(seed);
    let users = tenant_users();
    seen_before(&mut drafts, &users, DEMO_DAY);
    for day in 0..3 {
        benign_day(&mut drafts, &users, DEMO_DAY + day * DAY);
    }
    // Day 1: the distributed spray.
    let mut targets: Vec<String> = users.iter().step_by(6).take(58).cloned().collect();
    targets.insert(17, MB_VICTIM.to_owned());
    targets.insert(40, MB_ADMIN.to_owned());
    let spray_start = DEMO_DAY + 10 * HOUR;
    let mut attempt = 0usize;
    for ip in 0..400usize {
        let proxy = format!(
            "198.{}.{}.{}",
            18 + ip / 64_516,
            (ip / 254) % 254,
            ip % 254 + 1
        );
        for _ in 0..(1 + ip % 2) {
            let target = targets
                .get(attempt % targets.len())
                .cloned()
                .unwrap_or_default();
            let time = spray_start + (attempt as i64) * 2_500;
            let mut failure = drafts.signin(
                time,
                &target,
                &proxy,
                if attempt % 17 == 3 { 50053 } else { 50126 },
            );
            failure.user_agent = Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36".into());
            failure.app_id = Some("1b730954-1685-4b74-9bfd-dac224a7b894".into());
            failure.app_name = Some("Azure Active Directory PowerShell".into());
            drafts.push(Event::SignIn(failure.into()));
            attempt += 1;
        }
    }
    // 14:12: the test account, no MFA, from another proxy, over ROPC.
    let hit_ip = "198.19.77.14";
    let mut hit = drafts.signin(DEMO_DAY + 14 * HOUR + 12 * MINUTE, MB_VICTIM, hit_ip, 0);
    hit.factor = FactorRequirement::Single;
    hit.legacy = true;
    hit.user_agent = Some("BAV2ROPC".into());
    drafts.push(Event::SignIn(hit.into()));
    // The IT administrator, sprayed too, signs in with MFA as every day.
    for day in 0..3 {
        let signin = drafts.signin(
            DEMO_DAY + day * DAY + 8 * HOUR + 40 * MINUTE,
            MB_ADMIN,
            "198.51.100.10",
            0,
        );
        drafts.push(Event::SignIn(signin.into()));
    }
    // Day 2: the foothold, as the test account.
    let day2 = DEMO_DAY + DAY + 9 * HOUR;
    oauth_foothold(&mut drafts, day2, hit_ip);
    // Benign: the IT administrator registers an HR portal app, adds a secret, consents to
    // User.Read for herself.
    let admin = || user_actor(MB_ADMIN, "198.51.100.10");
    let hr = "7c6b5a49-7777-4a8b-9c0d-1e2f3a4b5c6d";
    mb_audit(
        &mut drafts,
        day2 + 2 * HOUR,
        "Add application",
        admin(),
        vec![app_target(
            "Application",
            "8d7c6b5a-8888-4b9c-0d1e-2f3a4b5c6d7e",
            "HR Portal",
        )],
        &[("AppId", "", hr)],
        Some(hr),
    );
    mb_audit(
        &mut drafts,
        day2 + 2 * HOUR + 3 * MINUTE,
        "Update application \u{2013} Certificates and secrets management ",
        admin(),
        vec![app_target(
            "Application",
            "8d7c6b5a-8888-4b9c-0d1e-2f3a4b5c6d7e",
            "HR Portal",
        )],
        &[(
            "KeyDescription",
            "[]",
            r#"["KeyIdentifier=1a2b,KeyType=Password,KeyUsage=Verify,DisplayName=prod"]"#,
        )],
        Some(hr),
    );
    // Day 3, night: the app reads executives' mail, through EWS and then Graph.
    mail_collection(&mut drafts, DEMO_DAY + 2 * DAY + 2 * HOUR);
    // Benign: Outlook reading its users' own mail.
    for (i, user) in users.iter().take(40).enumerate() {
        let id = uuid(&mut drafts.rng);
        drafts.push(Event::MailboxAccess(MailboxAccess {
            time: DEMO_DAY + 2 * DAY + 9 * HOUR + (i as i64) * MINUTE,
            id,
            shape: Shape::UnifiedAudit,
            user: user.clone(),
            mailbox: user.clone(),
            client_app_id: Some("d3590ed6-52b3-4102-aeff-aad2292ab01c".into()),
            app_id: Some("d3590ed6-52b3-4102-aeff-aad2292ab01c".into()),
            client: MailClient::Other,
            ip: Some("198.51.100.10".into()),
            throttled: false,
            operation_count: 3,
            tenant_id: Some(TENANT.to_owned()),
            token_tenant_id: None,
        }));
    }
    drafts.finish()
}

/// The actor's OAuth foothold from `start`, as the compromised test account (signed in from
/// `hit_ip`): the app "Mail Sync Test" created with its service principal, a first secret added to
/// it and another to the legacy test app, and — acting *as the legacy app*, with no consent event —
/// Exchange `full_access_as_app` granted to the new app.
pub(crate) fn oauth_foothold(drafts: &mut Drafts, start: Timestamp, hit_ip: &str) {
    let actor = || user_actor(MB_VICTIM, hit_ip);
    mb_audit(
        drafts,
        start,
        "Add application",
        actor(),
        vec![app_target("Application", MB_APP_OBJECT, "Mail Sync Test")],
        &[("AppId", "", MB_APP_ID)],
        Some(MB_APP_ID),
    );
    mb_audit(
        drafts,
        start + MINUTE,
        "Add service principal",
        actor(),
        vec![app_target("ServicePrincipal", MB_APP_SP, "Mail Sync Test")],
        &[("AppId", "", MB_APP_ID)],
        Some(MB_APP_ID),
    );
    let new_secret = r#"["KeyIdentifier=9e8d7c6b-0000-4a1b-8c2d-3e4f5a6b7c8d,KeyType=Password,KeyUsage=Verify,DisplayName=sync"]"#;
    mb_audit(
        drafts,
        start + 5 * MINUTE,
        "Update application \u{2013} Certificates and secrets management ",
        actor(),
        vec![app_target("Application", MB_APP_OBJECT, "Mail Sync Test")],
        &[("KeyDescription", "[]", new_secret)],
        Some(MB_APP_ID),
    );
    let old_legacy = r#"["KeyIdentifier=0a1b2c3d-0000-4e5f-8a6b-7c8d9e0f1a2b,KeyType=Password,KeyUsage=Verify,DisplayName=test"]"#;
    let new_legacy = r#"["KeyIdentifier=0a1b2c3d-0000-4e5f-8a6b-7c8d9e0f1a2b,KeyType=Password,KeyUsage=Verify,DisplayName=test","KeyIdentifier=5b6c7d8e-0000-4f9a-8b0c-1d2e3f4a5b6c,KeyType=Password,KeyUsage=Verify,DisplayName=backup"]"#;
    mb_audit(
        drafts,
        start + 12 * MINUTE,
        "Update application \u{2013} Certificates and secrets management ",
        actor(),
        vec![app_target(
            "Application",
            MB_LEGACY_OBJECT,
            "Legacy Test App",
        )],
        &[("KeyDescription", old_legacy, new_legacy)],
        Some(MB_LEGACY_APP_ID),
    );
    let legacy_app = Actor {
        app_id: Some(MB_LEGACY_APP_ID.to_owned()),
        service_principal_id: Some(MB_LEGACY_SP.to_owned()),
        display_name: Some("Legacy Test App".to_owned()),
        ..Actor::default()
    };
    mb_audit(
        drafts,
        start + 20 * MINUTE,
        "Add app role assignment to service principal",
        legacy_app,
        vec![
            app_target(
                "ServicePrincipal",
                EXCHANGE_SP,
                "Office 365 Exchange Online",
            ),
            app_target("ServicePrincipal", MB_APP_SP, "Mail Sync Test"),
        ],
        &[
            ("AppRole.Id", "", "dc890d15-9560-4a4c-9b7f-a736ec74ec40"),
            ("AppRole.Value", "", "full_access_as_app"),
            (
                "AppRole.DisplayName",
                "",
                "Use Exchange Web Services with full access to all mailboxes",
            ),
            ("ServicePrincipal.ObjectID", "", MB_APP_SP),
            ("ServicePrincipal.AppId", "", MB_APP_ID),
            ("ServicePrincipal.DisplayName", "", "Mail Sync Test"),
        ],
        None,
    );
}

/// The new app reading ten executives' mailboxes from `start`: EWS, then Graph, three passes
/// 15 minutes apart.
pub(crate) fn mail_collection(drafts: &mut Drafts, start: Timestamp) {
    for (i, mailbox) in MB_MAILBOXES.iter().enumerate() {
        let client = if i < 6 {
            MailClient::Ews
        } else {
            MailClient::Graph
        };
        for read in 0..3 {
            let time = start + (i as i64) * 50_000 + read * 15 * MINUTE;
            mb_mail(drafts, time, MB_APP_ID, client, mailbox, "198.19.77.15");
        }
    }
}

/// The `app-abuse` scenario: no sign-in logs at all. A user adds a secret to an existing app and
/// the app then reads six mailboxes through Graph.
pub fn app_abuse(seed: u64) -> String {
    let mut drafts = Drafts::new(seed);
    let start = DEMO_DAY + 9 * HOUR;
    let app_object = "3f2e1d0c-9999-4a5b-8c7d-6e5f4a3b2c1d";
    let app_id = "4a3b2c1d-aaaa-4b6c-9d8e-7f6a5b4c3d2e";
    mb_audit(
        &mut drafts,
        start,
        "Update application \u{2013} Certificates and secrets management ",
        user_actor("contractor@contoso.com", "203.0.113.140"),
        vec![app_target("Application", app_object, "Reporting Connector")],
        &[(
            "KeyDescription",
            "[]",
            r#"["KeyIdentifier=6c5d,KeyType=Password,KeyUsage=Verify,DisplayName=x"]"#,
        )],
        Some(app_id),
    );
    for (i, mailbox) in MB_MAILBOXES.iter().take(6).enumerate() {
        mb_mail(
            &mut drafts,
            start + HOUR + (i as i64) * MINUTE,
            app_id,
            MailClient::Graph,
            mailbox,
            "203.0.113.141",
        );
    }
    drafts.finish()
}

/// The short sprays of the `flood` scenario: their address, and where in the flood they start.
pub const FLOOD_BURSTS: [(&str, f64); 3] = [
    ("203.0.113.67", 0.05),
    ("203.0.113.68", 0.5),
    ("203.0.113.69", 0.95),
];

/// Lines `first..first + count` of the `flood` scenario (of `total`): distinct users failing from
/// distinct IPs (10.x.y.z and 2001:db8::/32, never repeated), two per millisecond of event time
/// from 2024-03-04, and every 20 s of event time a spray attempt from 203.0.113.66 against a new
/// user. Three short sprays burst in early, midway and late (at 5 %, 50 % and 95 % of `total`,
/// from [`FLOOD_BURSTS`]: one attempt a second against six users). Built to push every table to
/// its cap while real sprays go on underneath, whenever they come.
pub fn flood(first: u64, count: u64, total: u64) -> String {
    const START: Timestamp = 1_709_510_400_000;
    let mut text = String::with_capacity(count as usize * 170);
    for n in first..(first + count).min(total) {
        let time = snowyowl::time::format(START + (n / 2) as i64);
        let ip = if n % 2 == 0 {
            format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
        } else {
            format!("2001:db8::{:x}:{:x}", n >> 16, n & 0xffff)
        };
        let _ = writeln!(
            text,
            r#"{{"id":"f{n}","createdDateTime":"{time}","userPrincipalName":"flood{n}@contoso.com","ipAddress":"{ip}","status":{{"errorCode":50126}}}}"#
        );
        if n % 40_000 == 0 {
            let _ = writeln!(
                text,
                r#"{{"id":"s{n}","createdDateTime":"{time}","userPrincipalName":"target{n}@contoso.com","ipAddress":"203.0.113.66","status":{{"errorCode":50126}}}}"#
            );
        }
        for (ip, at) in FLOOD_BURSTS {
            let start = (total as f64 * at) as u64;
            let k = n.wrapping_sub(start);
            if n >= start && k % 2_000 == 0 && k / 2_000 < 6 {
                let _ = writeln!(
                    text,
                    r#"{{"id":"b{n}","createdDateTime":"{time}","userPrincipalName":"burst{k}@contoso.com","ipAddress":"{ip}","status":{{"errorCode":50126}}}}"#
                );
            }
        }
    }
    text
}
