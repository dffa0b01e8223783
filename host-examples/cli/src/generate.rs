//! `snowyowl generate`: deterministic, realistic scenarios in the real log shapes.
//!
//! The `demo` scenario is one day of a 300-user tenant: ordinary sign-ins from the office NAT,
//! homes and phones (mistyped passwords, MFA prompts and all), in all four sign-in shapes, with
//! timestamps slightly out of order as real pipelines deliver them; and at mid-morning two rounds
//! of a password spray from one IP against 40 accounts, the second of which finds the password of
//! a legacy test account without MFA (single-factor, over ROPC, from the spraying IP).

use std::fmt::Write as _;

use snowyowl::event::{FactorRequirement, Shape, SignIn, SignInCategory};
use snowyowl::render;
use snowyowl::time::{Timestamp, HOUR, MINUTE};

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
const APPS: [(&str, &str); 5] = [
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
const AGENTS: [&str; 4] = [
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

fn uuid(rng: &mut Rng) -> String {
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
    signin: SignIn,
}

fn base(rng: &mut Rng, time: Timestamp, user: &str, ip: &str, code: u32) -> SignIn {
    let (app_id, app_name) = rng.pick(&APPS).copied().unwrap_or(APPS[0]);
    SignIn {
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
        risk_event_types: Vec::new(),
    }
}

/// The `demo` scenario as NDJSON.
pub fn demo(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut drafts: Vec<Draft> = Vec::new();
    let mut push = |rng: &mut Rng, signin: SignIn| {
        let sequence = drafts.len();
        // Pipelines deliver slightly out of order: up to 90 s of jitter in arrival.
        let arrival = signin.time + rng.below(90_000) as i64;
        drafts.push(Draft {
            time: arrival,
            sequence,
            shape: shape(rng),
            signin,
        });
    };
    let users: Vec<String> = (0..300)
        .map(|i| {
            let first = FIRST.get(i % FIRST.len()).copied().unwrap_or("x");
            let last = LAST
                .get((i / FIRST.len()) % LAST.len())
                .copied()
                .unwrap_or("y");
            format!("{first}.{last}@contoso.com")
        })
        .collect();
    let office = ["198.51.100.10", "198.51.100.11"];
    for (i, user) in users.iter().enumerate() {
        let home = format!("192.0.2.{}", 1 + i % 250);
        let phone = format!("100.64.{}.{}", rng.below(256), 1 + rng.below(254));
        for _ in 0..(2 + rng.below(6)) {
            let time = DEMO_DAY + 7 * HOUR + rng.below(12 * HOUR as u64) as i64;
            let ip = match rng.below(10) {
                0..=5 => office
                    .get(rng.below(2) as usize)
                    .copied()
                    .unwrap_or("198.51.100.10")
                    .to_owned(),
                6..=8 => home.clone(),
                _ => phone.clone(),
            };
            match rng.below(100) {
                // A mistyped password, then the right one.
                0..=3 => {
                    {
                        let signin = base(&mut rng, time, user, &ip, 50126);
                        push(&mut rng, signin);
                    }
                    {
                        let signin = base(&mut rng, time + 40_000, user, &ip, 0);
                        push(&mut rng, signin);
                    }
                }
                // An MFA prompt, then success.
                4..=6 => {
                    let mut prompt = base(&mut rng, time, user, &ip, 50074);
                    prompt.correct_password_step = true;
                    push(&mut rng, prompt);
                    {
                        let signin = base(&mut rng, time + 25_000, user, &ip, 0);
                        push(&mut rng, signin);
                    }
                }
                _ => {
                    let signin = base(&mut rng, time, user, &ip, 0);
                    push(&mut rng, signin);
                }
            }
        }
    }
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
            let time = DEMO_DAY + start + (i as i64) * 33_000 + rng.below(5_000) as i64;
            let missing = ["admin@", "test@", "backup@"]
                .iter()
                .any(|p| target.starts_with(p));
            let code = match (missing, round, i % 13) {
                (true, _, _) => 50034,
                (false, 1, 5) => 50053,
                _ => 50126,
            };
            let mut attempt = base(&mut rng, time, target, SPRAY_IP, code);
            attempt.user_agent = Some("BAV2ROPC".to_owned());
            attempt.app_id = Some("1b730954-1685-4b74-9bfd-dac224a7b894".to_owned());
            attempt.app_name = Some("Azure Active Directory PowerShell".to_owned());
            attempt.legacy = true;
            if round == 1 && target == VICTIM {
                // The test account has no MFA, and this round's password is its password.
                attempt.result_code = 0;
            }
            push(&mut rng, attempt);
        }
    }
    drafts.sort_by_key(|draft| (draft.time, draft.sequence));
    let mut out = String::new();
    for draft in drafts {
        let signin = SignIn {
            shape: draft.shape,
            ..draft.signin
        };
        let _ = writeln!(out, "{}", render::signin(&signin, draft.shape));
    }
    out
}
