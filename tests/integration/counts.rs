//! A finding's counts come from what its detector kept, not from the lists it shows: those stop
//! at 200 entries (`finding::MAX_LISTED`), the counts do not (issue 26: one count stopped at 200
//! without a word).

use snowyowl::event::{MailClient, Shape};

use crate::helpers::{apps_added, detect, mail};

#[test]
fn an_app_burst_is_counted_past_the_listed_two_hundred() {
    // 300 applications by one account within a minute and a half.
    let found = detect(
        "",
        &apps_added(300, 0.005),
        Shape::Graph,
        "oauth-app-created",
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].unmapped["app_count"], 300);
    assert_eq!(
        found[0].unmapped["apps"].as_array().map(Vec::len),
        Some(200)
    );
    assert!(
        found[0].title.contains("300 applications"),
        "{}",
        found[0].title
    );
}

#[test]
fn mailboxes_read_by_a_new_app_are_counted_past_the_listed_two_hundred() {
    let events: Vec<_> = (0..250)
        .map(|i| {
            mail(
                "9d1f2e3c-4b5a-4c6d-8e7f-0a1b2c3d4e5f",
                MailClient::Ews,
                &format!("user{i}@contoso.com"),
                i as f64 * 0.01,
            )
        })
        .collect();
    let found = detect("", &events, Shape::UnifiedAudit, "multi-mailbox-access");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].unmapped["mailbox_count"], 250);
    assert!(
        found[0].message.contains("250 distinct"),
        "{}",
        found[0].message
    );
    let found = detect("", &events, Shape::UnifiedAudit, "mailbox-access-by-app");
    assert!(
        found[0].message.contains("read 250 mailbox"),
        "{}",
        found[0].message
    );
}

#[test]
fn distinct_counts_exactly_then_says_it_is_a_lower_bound() {
    use snowyowl::detectors::kit::{Distinct, DISTINCT_EXACT};
    let mut seen = Distinct::default();
    assert!(seen.add("a") && !seen.add("a"));
    for i in 0..2 * DISTINCT_EXACT {
        seen.add(&format!("v{i}"));
    }
    assert_eq!(seen.count(), DISTINCT_EXACT);
    assert!(!seen.exact());
    assert_eq!(seen.said(), format!("at least {DISTINCT_EXACT}"));
}
