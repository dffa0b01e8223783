//! Dress-up: the transformations real exports apply to records, applied to ours. A record read
//! in any of these dresses must give the same findings as the plain record ([`crate::helpers::run`]
//! checks it for every golden case).
//!
//! What an export may do, and what each [`Dress`] does:
//! - re-case keys (`userPrincipalName`, `UserPrincipalName`, `userprincipalname`) and reorder them;
//! - write nested values as JSON strings (Log Analytics), or twice as `X_dynamic` and `X_string`;
//! - add `_` copies of columns (`OrganizationId_`), and the typed suffixes of custom tables
//!   (`_s`, `_d`, `_b`);
//! - put another table's name in `Type`, or none;
//! - write `TimeGenerated [UTC]` in the portal's time format;
//! - start with a byte-order mark, end lines with CRLF;
//! - go through a CSV export (every cell text, nested values JSON, booleans `True` / `False`).
//!
//! Keys are re-cased at the top of a record and of an Azure Monitor `properties` (where exports
//! differ); nested objects keep their keys.

use serde_json::Value;
use snowyowl::time;

/// Every dress, the plain one first.
pub const DRESSES: [Dress; 6] = [
    Dress::Plain,
    Dress::PascalReversedBomCrlf,
    Dress::LowercaseStringified,
    Dress::CopiesAndDoubles,
    Dress::CustomTable,
    Dress::Csv,
];

/// One way of dressing a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dress {
    /// As rendered.
    Plain,
    /// Keys in PascalCase, in reverse order; a byte-order mark; CRLF line ends.
    PascalReversedBomCrlf,
    /// Keys in lowercase; nested values as JSON strings.
    LowercaseStringified,
    /// Every column followed by an `_` copy (the first empty, then the value); nested values twice,
    /// as `X_dynamic` (the value) and `X_string` (JSON text); `Type` naming another table.
    CopiesAndDoubles,
    /// The typed suffixes of a custom table (`_s`, `_d`, `_b`); `TimeGenerated [UTC]` in the
    /// portal's format; no `Type`.
    CustomTable,
    /// Through a CSV export, when no record has an Azure Monitor envelope (whose `properties`
    /// no export flattens into columns); otherwise as [`Dress::LowercaseStringified`].
    Csv,
}

/// Keys that hold the records of a wrapper, or the record of an envelope: kept as they are.
const STRUCTURAL: [&str; 3] = ["properties", "records", "value"];

fn is_structural(key: &str) -> bool {
    STRUCTURAL.contains(&key)
}

fn pascal(key: &str) -> String {
    let mut chars = key.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Writes members in the order given (serde_json's own maps would sort them), duplicates kept.
fn object(members: &[(String, Value)]) -> String {
    let members: Vec<String> = members
        .iter()
        .map(|(key, value)| format!("{}:{}", Value::from(key.as_str()), write(value)))
        .collect();
    format!("{{{}}}", members.join(","))
}

fn write(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let members: Vec<(String, Value)> =
                map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            object(&members)
        }
        other => other.to_string(),
    }
}

fn nested(value: &Value) -> bool {
    matches!(value, Value::Object(_) | Value::Array(_))
}

/// The members of one record (or `properties`) in a dress, as written.
fn dress_members(members: Vec<(String, Value)>, dress: Dress) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (key, value) in members {
        if is_structural(&key) {
            // An envelope's record is dressed as a record of its own.
            let value = match value {
                Value::Object(map) if key == "properties" => {
                    let inner: Vec<(String, Value)> = map.into_iter().collect();
                    let dressed = dress_members(inner, dress);
                    Value::String(object(&dressed))
                }
                other => other,
            };
            out.push((key, value));
            continue;
        }
        match dress {
            Dress::Plain | Dress::Csv => out.push((key, value)),
            Dress::PascalReversedBomCrlf => out.push((pascal(&key), value)),
            Dress::LowercaseStringified => {
                let value = if nested(&value) {
                    Value::String(value.to_string())
                } else {
                    value
                };
                out.push((key.to_lowercase(), value));
            }
            Dress::CopiesAndDoubles => {
                if key == "Type" {
                    out.push((key, Value::from("Application")));
                } else if nested(&value) {
                    out.push((format!("{key}_dynamic"), value.clone()));
                    out.push((format!("{key}_string"), Value::String(value.to_string())));
                } else {
                    out.push((key.clone(), Value::from("")));
                    out.push((format!("{key}_"), value));
                }
            }
            Dress::CustomTable => match &value {
                _ if key == "Type" => {}
                Value::String(text) if key == "TimeGenerated" => {
                    let portal = time::parse(text).map_or_else(|| text.clone(), portal_time);
                    out.push(("TimeGenerated [UTC]".to_owned(), Value::String(portal)));
                }
                Value::String(_) => out.push((format!("{key}_s"), value)),
                Value::Number(_) => out.push((format!("{key}_d"), value)),
                Value::Bool(_) => out.push((format!("{key}_b"), value)),
                _ => out.push((key, value)),
            },
        }
    }
    if dress == Dress::PascalReversedBomCrlf {
        out.reverse();
    }
    out
}

/// `4/28/2021, 2:08:45.221 PM`, as the Log Analytics portal exports a time.
fn portal_time(millis: time::Timestamp) -> String {
    let iso = time::format(millis);
    let (date, clock) = iso.split_once('T').unwrap();
    let date: Vec<u32> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let clock = clock.trim_end_matches('Z');
    let (hms, fraction) = clock.split_once('.').unwrap();
    let parts: Vec<u32> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    let (hour, half) = match parts[0] {
        0 => (12, "AM"),
        h if h < 12 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{}/{}/{}, {hour}:{:02}:{:02}.{fraction} {half}",
        date[1], date[2], date[0], parts[1], parts[2]
    )
}

/// The properties of an envelope go back in as an object (a dressed `properties` is written as
/// text above, to keep its members' order and duplicates).
fn write_record(members: &[(String, Value)]) -> String {
    let members: Vec<String> = members
        .iter()
        .map(|(key, value)| match value {
            Value::String(text) if key == "properties" => {
                format!("{}:{text}", Value::from(key.as_str()))
            }
            other => format!("{}:{}", Value::from(key.as_str()), write(other)),
        })
        .collect();
    format!("{{{}}}", members.join(","))
}

/// A batch of NDJSON in a dress.
pub fn dress(text: &str, dress: Dress) -> Vec<u8> {
    let records: Vec<Value> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    if dress == Dress::Csv {
        if records
            .iter()
            .all(|record| record.get("properties").is_none())
        {
            return csv(&records);
        }
        return self::dress(text, Dress::LowercaseStringified);
    }
    let mut out = String::new();
    if dress == Dress::PascalReversedBomCrlf {
        out.push('\u{feff}');
    }
    let end = if dress == Dress::PascalReversedBomCrlf {
        "\r\n"
    } else {
        "\n"
    };
    for record in records {
        let Value::Object(map) = record else {
            out += &record.to_string();
            out += end;
            continue;
        };
        let members = dress_members(map.into_iter().collect(), dress);
        out += &write_record(&members);
        out += end;
    }
    out.into_bytes()
}

/// The records as a CSV export: one column per key, every cell text.
fn csv(records: &[Value]) -> Vec<u8> {
    let mut columns: Vec<String> = Vec::new();
    for record in records {
        for key in record.as_object().into_iter().flatten().map(|(k, _)| k) {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
    }
    let header: Vec<String> = columns
        .iter()
        .map(|column| {
            if column == "TimeGenerated" {
                "TimeGenerated [UTC]".to_owned()
            } else {
                column.clone()
            }
        })
        .collect();
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(&header).unwrap();
    for record in records {
        let cells: Vec<String> = columns
            .iter()
            .map(|column| match record.get(column) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) if column == "TimeGenerated" => {
                    time::parse(text).map_or_else(|| text.clone(), portal_time)
                }
                Some(Value::String(text)) => text.clone(),
                Some(Value::Bool(true)) => "True".to_owned(),
                Some(Value::Bool(false)) => "False".to_owned(),
                Some(other) => other.to_string(),
            })
            .collect();
        writer.write_record(&cells).unwrap();
    }
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(writer.into_inner().unwrap());
    bytes
}

/// A batch's bytes as the records a host pushes: CSV read as the CLI reads it, the rest as is.
pub fn as_pushed(bytes: Vec<u8>, dress: Dress) -> Vec<u8> {
    if dress != Dress::Csv || !bytes.starts_with(b"\xEF\xBB\xBF") {
        return bytes;
    }
    let mut out = Vec::new();
    snowyowl_input::read_batches(
        &mut &bytes[..],
        "dressed.csv",
        snowyowl_input::Format::Csv,
        usize::MAX,
        &mut |batch| {
            assert!(batch.host_rejected.is_empty(), "{:?}", batch.host_rejected);
            out.extend_from_slice(&batch.bytes);
            Ok(())
        },
    )
    .unwrap();
    out
}

#[test]
fn portal_times_read_back() {
    for text in [
        "2024-03-04T00:00:00.000Z",
        "2024-03-04T12:30:05.120Z",
        "2024-03-04T23:59:59.999Z",
    ] {
        let millis = time::parse(text).unwrap();
        assert_eq!(time::parse(&portal_time(millis)), Some(millis), "{text}");
    }
}

#[test]
fn every_dress_changes_the_text() {
    let line = r#"{"TimeGenerated":"2024-03-04T09:00:00.000Z","Type":"SigninLogs","Status":{"errorCode":0},"UserPrincipalName":"a@b.c","IsInteractive":true}"#;
    let plain = dress(line, Dress::Plain);
    for each in &DRESSES[1..] {
        let dressed = as_pushed(dress(line, *each), *each);
        assert_ne!(dressed, plain, "{each:?}");
    }
}
