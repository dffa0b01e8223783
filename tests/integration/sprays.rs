//! The tenant-wide spray detectors: the residential-proxy spray must fire, a busy benign tenant
//! must stay quiet, in every sign-in shape.

use snowyowl::event::{SignInCategory, SignInFields};
use snowyowl::Finding;

use crate::helpers::{latest, ndjson, of, run, signin, SHAPES};

/// A distinct documentation-style address for proxy `n` (spread over 198.18.0.0/15, the
/// benchmarking range, so nothing real is named).
fn proxy(n: usize) -> String {
    format!(
        "198.{}.{}.{}",
        18 + (n / 64_516) % 2,
        (n / 254) % 254,
        n % 254 + 1
    )
}

fn sorted(mut events: Vec<SignInFields<String>>) -> Vec<SignInFields<String>> {
    events.sort_by_key(|event| (event.time, event.id.clone()));
    events
}

/// 1,000 proxy IPs, each trying one or two passwords, against 50 users, within 20 minutes.
fn residential_proxy_spray() -> Vec<SignInFields<String>> {
    let mut events = Vec::new();
    let mut attempt = 0usize;
    for ip in 0..1000 {
        let tries = 1 + ip % 2;
        for _ in 0..tries {
            let user = format!("user{}@contoso.com", attempt % 50);
            let minute = 60.0 + (attempt as f64) * 20.0 / 1500.0;
            let mut event = signin(&user, &proxy(ip), 50126, minute);
            event.user_agent =
                Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/119.0".into());
            event.id = format!("spray-{attempt}");
            events.push(event);
            attempt += 1;
        }
    }
    events
}

/// A busy benign morning: NAT egress, a help-desk burst of lockouts, conference Wi-Fi, and users
/// mistyping from their own devices.
fn busy_benign_tenant() -> Vec<SignInFields<String>> {
    let mut events = Vec::new();
    let mut id = 0usize;
    let mut push = |mut event: SignInFields<String>| {
        event.id = format!("benign-{id}");
        id += 1;
        events.push(event);
    };
    // 300 users behind two NAT egress IPs all morning; 40 of them mistype first.
    for i in 0..300 {
        let ip = if i % 2 == 0 {
            "198.51.100.10"
        } else {
            "198.51.100.11"
        };
        let minute = (i as f64) * 0.5;
        if i % 7 == 0 {
            push(signin(&format!("staff{i}@contoso.com"), ip, 50126, minute));
        }
        push(signin(
            &format!("staff{i}@contoso.com"),
            ip,
            0,
            minute + 0.5,
        ));
    }
    // 60 users signed in from home at 08:00; a password policy change locks them out at 10:00
    // from the same home IPs, and the help desk unlocks them an hour later.
    for i in 0..60 {
        let home = format!("192.0.2.{}", i + 1);
        push(signin(
            &format!("remote{i}@contoso.com"),
            &home,
            0,
            -60.0 + i as f64 * 0.1,
        ));
        push(signin(
            &format!("remote{i}@contoso.com"),
            &home,
            50053,
            60.0 + i as f64 * 0.2,
        ));
    }
    // Conference Wi-Fi: one IP, 80 users, 30 mistype first.
    for i in 0..80 {
        let minute = 70.0 + (i as f64) * 0.25;
        if i % 3 == 0 {
            push(signin(
                &format!("attendee{i}@contoso.com"),
                "203.0.113.80",
                50126,
                minute,
            ));
        }
        push(signin(
            &format!("attendee{i}@contoso.com"),
            "203.0.113.80",
            0,
            minute + 0.2,
        ));
    }
    // 150 users mistype on their phones (carrier IPs never seen before) and get it right a
    // minute later.
    for i in 0..150 {
        let phone = format!("100.64.{}.{}", i / 200, i % 200 + 1);
        let minute = 65.0 + (i as f64) * 0.1;
        push(signin(
            &format!("mobile{i}@contoso.com"),
            &phone,
            50126,
            minute,
        ));
        push(signin(
            &format!("mobile{i}@contoso.com"),
            &phone,
            0,
            minute + 1.0,
        ));
    }
    events
}

fn findings(events: &[SignInFields<String>], shape: snowyowl::event::Shape) -> Vec<Finding> {
    run("", &ndjson(&sorted(events.to_vec()), shape))
}

#[test]
fn distributed_spray_from_a_thousand_proxies_fires_in_every_shape() {
    let mut events = residential_proxy_spray();
    events.extend(busy_benign_tenant());
    for shape in SHAPES {
        let all = findings(&events, shape);
        let distributed = latest(&of(&all, "distributed-password-spray"));
        assert_eq!(distributed.len(), 1, "{shape:?}");
        let finding = &distributed[0];
        assert_eq!(finding.severity, snowyowl::Severity::High);
        assert_eq!(finding.unmapped["user_count"], 50, "{shape:?}");
        assert_eq!(finding.unmapped["ip_count"], 1000, "{shape:?}");
        assert_eq!(finding.unmapped["attempts_per_ip"]["1"], 500);
        assert_eq!(finding.unmapped["attempts_per_ip"]["2"], 500);
        assert_eq!(finding.unmapped["dominant_code"]["value"], "50126");
        assert!(finding.unmapped["dominant_user_agent"]["share"].as_f64() > Some(0.99));
        // No single IP reaches the per-IP rule's threshold.
        assert!(of(&all, "password-spray").is_empty(), "{shape:?}");
    }
}

#[test]
fn a_busy_benign_tenant_stays_quiet() {
    for shape in SHAPES {
        let all = findings(&busy_benign_tenant(), shape);
        for detector in [
            "distributed-password-spray",
            "low-and-slow-spray",
            "password-spray",
            "spray-then-success",
        ] {
            assert!(
                of(&all, detector).is_empty(),
                "{shape:?} {detector}: {:#?}",
                of(&all, detector)
            );
        }
    }
}

#[test]
fn distributed_spray_targets_feed_spray_then_success() {
    let mut events = residential_proxy_spray();
    // One sprayed user's password is right: a sign-in from yet another proxy an hour later.
    let mut hit = signin("user7@contoso.com", &proxy(5000), 0, 150.0);
    hit.factor = snowyowl::event::FactorRequirement::Single;
    events.push(hit);
    let all = findings(&events, snowyowl::event::Shape::AzureMonitor);
    let hits = latest(&of(&all, "spray-then-success"));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].unmapped["user"], "user7@contoso.com");
    assert_eq!(hits[0].severity, snowyowl::Severity::Critical);
}

#[test]
fn the_asn_table_labels_the_proxies() {
    let config = r#"{"asn_table":[{"cidr":"198.18.0.0/15","asn":64512,"kind":"residential"}]}"#;
    let events = sorted(residential_proxy_spray());
    let all = run(config, &ndjson(&events, snowyowl::event::Shape::Graph));
    let distributed = latest(&of(&all, "distributed-password-spray"));
    assert_eq!(distributed[0].unmapped["asns"]["64512"], 1500);
    assert_eq!(distributed[0].unmapped["networks"]["residential"], 1500);
}

/// Twelve users, each failing once from an IP never used again, one every 100 minutes.
fn low_and_slow() -> Vec<SignInFields<String>> {
    (0..12)
        .map(|i| {
            let mut event = signin(
                &format!("target{i}@contoso.com"),
                &proxy(20_000 + i),
                50126,
                i as f64 * 100.0,
            );
            event.id = format!("slow-{i}");
            event
        })
        .collect()
}

#[test]
fn low_and_slow_spray_fires_in_every_shape() {
    for shape in SHAPES {
        let all = findings(&low_and_slow(), shape);
        let slow = latest(&of(&all, "low-and-slow-spray"));
        assert_eq!(slow.len(), 1, "{shape:?}");
        assert_eq!(slow[0].unmapped["user_count"], 12);
        assert!(
            of(&all, "distributed-password-spray").is_empty(),
            "too slow for the 30 min window"
        );
    }
}

#[test]
fn low_and_slow_look_alikes() {
    // Each failure is fixed by the user a minute later.
    let mut resolved = low_and_slow();
    for i in 0..12 {
        let mut fix = signin(
            &format!("target{i}@contoso.com"),
            &proxy(20_000 + i),
            0,
            i as f64 * 100.0 + 1.0,
        );
        fix.id = format!("fix-{i}");
        resolved.push(fix);
    }
    // The same failures from IPs that are used again (a shared egress seen all day).
    let reused: Vec<SignInFields<String>> = low_and_slow()
        .into_iter()
        .enumerate()
        .flat_map(|(i, mut event)| {
            event.ip = Some("198.51.100.50".into());
            let mut other = signin(
                &format!("colleague{i}@contoso.com"),
                "198.51.100.50",
                0,
                i as f64 * 100.0 + 30.0,
            );
            other.id = format!("other-{i}");
            [event, other]
        })
        .collect();
    // Service principals failing are not users.
    let service: Vec<SignInFields<String>> = low_and_slow()
        .into_iter()
        .map(|mut event| {
            event.category = SignInCategory::ServicePrincipal;
            event
        })
        .collect();
    for shape in SHAPES {
        for (name, events) in [
            ("resolved", &resolved),
            ("reused IPs", &reused),
            ("service principals", &service),
        ] {
            if name == "service principals" && shape == snowyowl::event::Shape::UnifiedAudit {
                continue; // the unified audit log has no service principal sign-ins
            }
            let all = findings(events, shape);
            assert!(
                of(&all, "low-and-slow-spray").is_empty(),
                "{shape:?} {name}"
            );
        }
    }
}

/// The low-and-slow failures of [`low_and_slow`], each IP used again by a colleague half an hour
/// later (so none counts), then, after all have settled, sign-ins from 40 fresh IPs.
fn low_and_slow_then_fresh_ips() -> Vec<SignInFields<String>> {
    let mut events = Vec::new();
    for (i, failure) in low_and_slow().into_iter().enumerate() {
        let ip = failure.ip.clone().unwrap_or_default();
        let mut colleague = signin(
            &format!("colleague{i}@contoso.com"),
            &ip,
            0,
            i as f64 * 100.0 + 30.0,
        );
        colleague.id = format!("colleague-{i}");
        events.push(failure);
        events.push(colleague);
    }
    for k in 0..40 {
        let mut fresh = signin(
            "roamer@contoso.com",
            &proxy(40_000 + k),
            0,
            1300.0 + k as f64,
        );
        fresh.id = format!("fresh-{k}");
        events.push(fresh);
    }
    events
}

#[test]
fn low_and_slow_counts_again_what_a_full_ip_table_forgot() {
    // Reused IPs exclude the failures; the fresh IPs then overflow a 20-IP table, which drops the
    // reuses it knew of, and the failures count as single-use again (as a full pass over the
    // horizon finds). Guards the detector's shortcut of remembering exclusions.
    let events = sorted(low_and_slow_then_fresh_ips());
    for shape in SHAPES {
        let text = ndjson(&events, shape);
        let quiet = run("", &text);
        assert!(of(&quiet, "low-and-slow-spray").is_empty(), "{shape:?}");
        let small = run(
            r#"{"detectors":{"low-and-slow-spray":{"max_ips":20}}}"#,
            &text,
        );
        let slow = latest(&of(&small, "low-and-slow-spray"));
        assert_eq!(slow.len(), 1, "{shape:?}");
        assert_eq!(slow[0].unmapped["user_count"], 12, "{shape:?}");
    }
}
