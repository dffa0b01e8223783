#![allow(missing_docs, clippy::unwrap_used)]
//! Prints how each line of a JSONL file normalizes (for looking at samples).
use snowyowl::normalize::{normalize, Normalized};
fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let (event, name) = match value.get("log") {
            Some(log) => (log.to_string(), value["test_name"].to_string()),
            None => (line.to_owned(), String::new()),
        };
        normalize(&event, &mut |n| {
            let what = match n {
                Normalized::Event(e) => format!("EVENT {:?}", e.id()),
                Normalized::Ignored(why) => format!("IGNORED {why}"),
                Normalized::Rejected(r) => format!("REJECTED {:?} {}", r.kind, r.reason),
            };
            println!("{name:60.60} {what:.120}");
        });
    }
}
