//! The fast path of the parse: a record read straight into [`Raw`] by a scanner over its bytes,
//! without serde's machinery for the many fields no detector reads.
//!
//! It walks the object and finds each key's field by the names the `Raw` declaration gives serde
//! (one list, in `raw_record!`). It reads plain strings, codes, booleans, `authenticationDetails`
//! and empty lists itself and hands the other known values (objects such as `status`, escaped
//! strings, JSON-encoded columns) to serde_json; values no detector reads are checked and stepped
//! over, string ends found eight bytes at a time (sixteen with WebAssembly SIMD). It is at least
//! as strict as serde_json: whenever the record is anything but valid JSON read the ordinary way
//! (a duplicate field, an escaped key, a value of the wrong type, nesting deeper than
//! [`MAX_DEPTH`], …) it gives up and returns `None`, and the caller parses with serde_json, which
//! then gives the same result or the error with its usual message. So what it returns is always
//! what serde_json would have returned (tests compare the two).

use std::borrow::Cow;

use serde::Deserialize;

use super::raw::{
    is_correct, Code, CorrectPasswordStep, Field, Flag, Json, MaybeEncoded, Pick, PickKey, Raw,
    SignInEventTypes, Skipped, Text, STEP_RESULT,
};

/// Nesting beyond this is left to serde (whose limit, 128, is then applied the usual way).
const MAX_DEPTH: usize = 100;

/// Reads a record into `raw` (empty), or returns `None` when serde must read it (`raw` is then
/// partly filled: drop it).
pub fn record<'a, P>(text: &'a str, raw: &mut Raw<'a, P>) -> Option<()>
where
    Option<P>: Scan<'a> + Field,
{
    let mut scanner = Scanner {
        text,
        pos: 0,
        depth: 0,
    };
    scanner.whitespace();
    scanner.object(raw)?;
    scanner.whitespace();
    (scanner.pos == text.len()).then_some(())
}

/// A position in a record's text.
pub struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// An object, at its `{`, into `raw` (empty).
    fn object<P>(&mut self, raw: &mut Raw<'a, P>) -> Option<()>
    where
        Option<P>: Scan<'a> + Field,
    {
        let mut seen = 0u128;
        self.members(|scanner, key| raw.scan_field(key, scanner, &mut seen))
    }

    /// An object, at its `{`: `member` reads each value (the scanner is at it) by its key.
    fn members(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.delimited(b'{', b'}', |scanner| {
            let key = scanner.key()?;
            member(scanner, key)
        })
    }

    /// An array, at its `[`: `element` reads each element (the scanner is at it).
    fn elements(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.delimited(b'[', b']', element)
    }

    /// `open`, items separated by commas (read by `item`), `close`: one level of nesting.
    fn delimited(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        self.enter()?;
        self.whitespace();
        if self.eat(close).is_none() {
            loop {
                item(self)?;
                self.whitespace();
                match self.peek()? {
                    b',' => self.pos += 1,
                    byte if byte == close => break self.pos += 1,
                    _ => return None,
                }
                self.whitespace();
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// A key without escapes and its colon; leaves the scanner at the value.
    #[inline(always)]
    fn key(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let (key, escaped) = self.string()?;
        self.whitespace();
        self.eat(b':')?;
        self.whitespace();
        (!escaped).then_some(key)
    }

    /// The rest of a string after its opening quote: its raw text (escapes not decoded) and
    /// whether it has any. Control characters and malformed escapes fail, as in serde_json.
    #[inline(always)]
    fn string(&mut self) -> Option<(&'a str, bool)> {
        let start = self.pos;
        let escaped = self.string_end()?;
        // Both ends are next to a `"`: always on a character boundary.
        Some((self.text.get(start..self.pos - 1)?, escaped))
    }

    /// [`Scanner::string`] without the text: the scanner past the closing quote, and whether the
    /// string has escapes.
    #[inline(always)]
    fn string_end(&mut self) -> Option<bool> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut pos = start;
        let mut escaped = false;
        loop {
            // To the next `"`, `\\` or control character, sixteen bytes at a time with
            // WebAssembly SIMD, eight otherwise.
            let byte = loop {
                #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                if let Some(chunk) = bytes.get(pos..).and_then(<[u8]>::first_chunk::<16>) {
                    let found = special_in_16(chunk);
                    if found == 0 {
                        pos += 16;
                        continue;
                    }
                    pos += found.trailing_zeros() as usize;
                    break *bytes.get(pos)?;
                }
                if let Some(chunk) = bytes.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
                    let found = special(u64::from_le_bytes(*chunk));
                    if found == 0 {
                        pos += 8;
                        continue;
                    }
                    pos += found.trailing_zeros() as usize / 8;
                    break *bytes.get(pos)?;
                }
                let byte = *bytes.get(pos)?;
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break byte;
                }
                pos += 1;
            };
            match byte {
                b'"' => {
                    self.pos = pos + 1;
                    return Some(escaped);
                }
                b'\\' => {
                    escaped = true;
                    match bytes.get(pos + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => pos += 2,
                        b'u' => {
                            let digits = bytes.get(pos + 2..pos + 6)?;
                            if !digits.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            pos += 6;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    /// Steps over any value, checking that it is valid JSON.
    pub fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.string_end()?;
            }
            b'{' => self.members(|scanner, _| scanner.skip_value())?,
            b'[' => self.elements(Self::skip_value)?,
            b't' => self.literal("true")?,
            b'f' => self.literal("false")?,
            b'n' => self.literal("null")?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return None,
        }
        Some(())
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.pos + word.len();
        (self.text.as_bytes().get(self.pos..end)? == word.as_bytes()).then(|| self.pos = end)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<()> {
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits()?,
            _ => return None,
        }
        if self.eat(b'.').is_some() {
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits()?;
        }
        Some(())
    }

    /// One or more digits.
    fn digits(&mut self) -> Option<()> {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        (self.pos > start).then_some(())
    }

    /// The text of the value here, checked, and the scanner past it.
    fn value_text(&mut self) -> Option<&'a str> {
        let start = self.pos;
        self.skip_value()?;
        self.text.get(start..self.pos)
    }

    /// Reads the value here into `field` with serde_json (checked first, so that nesting stays
    /// within [`MAX_DEPTH`] counted from the top of the record).
    fn by_serde<T: Deserialize<'a>>(&mut self, field: &mut T) -> Option<()> {
        *field = serde_json::from_str(self.value_text()?).ok()?;
        Some(())
    }
}

/// The bytes of `word` (little-endian) that are `"`, `\\` or a control character, as their high
/// bits; the lowest one set is exact (the bit tricks of serde_json's own string reader).
fn special(word: u64) -> u64 {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = ONES << 7;
    let zero_at = |x: u64| x.wrapping_sub(ONES) & !x;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    (zero_at(quote) | zero_at(backslash) | control) & HIGHS
}

/// The bytes of `chunk` that are `"`, `\\` or a control character, one bit each (bit `i` for
/// byte `i`): [`special`] on sixteen bytes, in WebAssembly SIMD.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn special_in_16(chunk: &[u8; 16]) -> u16 {
    use core::arch::wasm32::{u8x16, u8x16_bitmask, u8x16_eq, u8x16_lt, u8x16_splat, v128_or};
    let [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15] = *chunk;
    let v = u8x16(
        b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15,
    );
    let quote = u8x16_eq(v, u8x16_splat(b'"'));
    let backslash = u8x16_eq(v, u8x16_splat(b'\\'));
    let control = u8x16_lt(v, u8x16_splat(0x20));
    u8x16_bitmask(v128_or(v128_or(quote, backslash), control))
}

/// A field type the scanner can read.
pub trait Scan<'a> {
    /// Reads the value at the scanner into the field (empty), or returns `None` to give up on
    /// the record.
    fn scan(&mut self, scanner: &mut Scanner<'a>) -> Option<()>;
}

impl<'a> Scan<'a> for Option<Text<'a>> {
    fn scan(&mut self, scanner: &mut Scanner<'a>) -> Option<()> {
        if scanner.peek()? != b'"' {
            return scanner.by_serde(self);
        }
        let start = scanner.pos;
        scanner.pos += 1;
        let (text, escaped) = scanner.string()?;
        *self = if escaped {
            serde_json::from_str(scanner.text.get(start..scanner.pos)?).ok()?
        } else {
            Some(Text(Cow::Borrowed(text)))
        };
        Some(())
    }
}

/// A code: digits, as a number or in a string (not escaped), read here; anything else by serde.
impl<'a> Scan<'a> for Code {
    fn scan(&mut self, scanner: &mut Scanner<'a>) -> Option<()> {
        let start = scanner.pos;
        let digits = match scanner.peek()? {
            b'"' => {
                scanner.pos += 1;
                match scanner.string()? {
                    (text, false) => text,
                    (_, true) => {
                        scanner.pos = start;
                        return scanner.by_serde(self);
                    }
                }
            }
            b'0'..=b'9' => {
                scanner.number()?;
                scanner.text.get(start..scanner.pos)?
            }
            _ => return scanner.by_serde(self),
        };
        // A fraction is an error, as in `Code`'s serde reading.
        *self = Code::from_text(digits).ok()?;
        Some(())
    }
}

/// A flag: `true`, `false`, or a plain string of either (CSV exports), read here; anything else
/// by serde.
impl<'a> Scan<'a> for Flag {
    fn scan(&mut self, scanner: &mut Scanner<'a>) -> Option<()> {
        match scanner.peek()? {
            b't' => *self = Flag(Some(true)),
            b'f' => *self = Flag(Some(false)),
            b'"' => {
                let start = scanner.pos;
                scanner.pos += 1;
                match scanner.string()? {
                    (text, false) => *self = Flag::from_text(text)?,
                    (_, true) => {
                        scanner.pos = start;
                        return scanner.by_serde(self);
                    }
                }
                return Some(());
            }
            _ => return scanner.by_serde(self),
        }
        scanner.skip_value()
    }
}

/// `authenticationDetails`: an array of step objects, read here; a string holding one (Log
/// Analytics) by serde.
impl<'a> Scan<'a> for Option<MaybeEncoded<CorrectPasswordStep>> {
    fn scan(&mut self, scanner: &mut Scanner<'a>) -> Option<()> {
        if scanner.peek()? != b'[' {
            return scanner.by_serde(self);
        }
        let mut correct = false;
        scanner.elements(|scanner| {
            scanner.members(|scanner, key| {
                if !key.eq_ignore_ascii_case(STEP_RESULT) {
                    return scanner.skip_value();
                }
                let mut detail: Option<Text> = None;
                detail.scan(scanner)?;
                correct |= detail.is_some_and(|detail| is_correct(detail.as_str()));
                Some(())
            })
        })?;
        *self = Some(MaybeEncoded(CorrectPasswordStep(correct)));
        Some(())
    }
}

/// One member of a nested object: the object read here, keeping only that member; an unescaped
/// string (the member itself, or a JSON string holding the object) here too; anything else by
/// serde, which reads it as no value.
impl<'a, K: PickKey> Scan<'a> for Pick<'a, K> {
    fn scan(&mut self, scanner: &mut Scanner<'a>) -> Option<()> {
        match scanner.peek()? {
            b'{' => scanner.members(|scanner, key| {
                if !key.eq_ignore_ascii_case(K::KEY) || !Field::is_empty(self) {
                    return scanner.skip_value();
                }
                match scanner.peek()? {
                    b'"' | b'n' => self.0.scan(scanner),
                    // Numbers and structures: read by serde (as text, or as none).
                    _ => None,
                }
            }),
            b'"' => {
                let start = scanner.pos;
                scanner.pos += 1;
                match scanner.string()? {
                    (text, false) => *self = Pick::from_borrowed(text),
                    (_, true) => {
                        scanner.pos = start;
                        return scanner.by_serde(self);
                    }
                }
                Some(())
            }
            _ => scanner.by_serde(self),
        }
    }
}

/// A list that may come JSON-encoded: `[]` (every sign-in's `riskEventTypes_v2`) read here,
/// anything else by serde.
impl<'a, T> Scan<'a> for Option<MaybeEncoded<Vec<T>>>
where
    MaybeEncoded<Vec<T>>: Deserialize<'a>,
{
    fn scan(&mut self, scanner: &mut Scanner<'a>) -> Option<()> {
        let start = scanner.pos;
        if scanner.eat(b'[').is_some() {
            scanner.whitespace();
            if scanner.eat(b']').is_some() {
                *self = Some(MaybeEncoded(Vec::new()));
                return Some(());
            }
        }
        scanner.pos = start;
        scanner.by_serde(self)
    }
}

/// Field types read by serde_json.
macro_rules! scan_by_serde {
    ($($ty:ty,)*) => {
        $(
            impl<'a> Scan<'a> for $ty {
                fn scan(&mut self, scanner: &mut Scanner<'a>) -> Option<()> {
                    scanner.by_serde(self)
                }
            }
        )*
    };
}

/// A value kept as text: checked here, decoded later.
impl<'a> Scan<'a> for Option<Json<'a>> {
    fn scan(&mut self, scanner: &mut Scanner<'a>) -> Option<()> {
        if scanner.literal("null").is_none() {
            *self = Some(Json(scanner.value_text()?));
        }
        Some(())
    }
}

scan_by_serde! {
    Option<MaybeEncoded<SignInEventTypes>>,
}

/// `properties` inside `properties`: stepped over.
impl<'a> Scan<'a> for Option<Skipped> {
    fn scan(&mut self, scanner: &mut Scanner<'a>) -> Option<()> {
        if scanner.literal("null").is_none() {
            scanner.skip_value()?;
            *self = Some(Skipped);
        }
        Some(())
    }
}

/// An Azure Monitor record's `properties`: scanned like the record.
impl<'a> Scan<'a> for Option<Raw<'a, Skipped>> {
    fn scan(&mut self, scanner: &mut Scanner<'a>) -> Option<()> {
        if scanner.literal("null").is_none() {
            scanner.object(self.insert(Raw::default()))?;
        }
        Some(())
    }
}

/// Whether the scanner read `text`; panics unless what it read is what serde_json reads (the
/// promise at the top of this file). The scanner tests and the `scan` fuzz target check it.
#[cfg(any(test, fuzzing))]
#[allow(clippy::panic)]
pub fn agrees_with_serde(text: &str) -> bool {
    let mut raw = super::raw::Record::default();
    let by_serde = serde_json::from_str::<super::raw::Record>(text);
    if record(text, &mut raw).is_none() {
        return false;
    }
    match by_serde {
        Ok(expected) => assert_eq!(format!("{raw:?}"), format!("{expected:?}"), "{text}"),
        Err(error) => panic!("scanned what serde rejects ({error}): {text:?}"),
    }
    true
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SCENARIOS: [&str; 5] = [
        include_str!("../../tests/data/midnight-blizzard.ndjson"),
        include_str!("../../tests/data/demo-tenant.ndjson"),
        include_str!("../../tests/data/app-abuse.ndjson"),
        include_str!("../../tests/data/samples/msticpy-aad-logons.jsonl"),
        include_str!("../../tests/data/samples/panther-rule-tests.jsonl"),
    ];
    const HOSTILE: &[u8] = include_bytes!("../../tests/data/hostile.ndjson");

    #[test]
    fn reads_every_record_of_the_scenarios_and_samples_as_serde_does() {
        for file in SCENARIOS {
            for line in file.lines().filter(|line| line.starts_with('{')) {
                assert!(agrees_with_serde(line), "left to serde: {line}");
            }
        }
    }

    #[test]
    fn hostile_records_are_read_as_serde_reads_them_or_left_to_it() {
        for line in HOSTILE.split(|&byte| byte == b'\n') {
            if let Ok(line) = std::str::from_utf8(line) {
                agrees_with_serde(line);
            }
        }
    }

    #[test]
    fn leaves_to_serde_what_it_must() {
        for text in [
            r#"{"\u0074ime": "x"}"#,
            "{\"x\": \"a\u{1}b\"}",
            "{\"x\": \"a\tb\"}",
            r#"{"x": "\q"}"#,
            r#"{"x": "\u12"}"#,
            r#"{"time": "\ud800"}"#,
            r#"{"x": 01}"#,
            r#"{"x": 1.}"#,
            r#"{"x": -}"#,
            r#"{"x": 1e}"#,
            r#"{"x": .5}"#,
            r#"{"x": tru}"#,
            r#"{"x": 1,}"#,
            r#"{"x": [1,]}"#,
            r#"{"x": {"a" 1}}"#,
            r#"{"x": [1}"#,
            r#"{"x": {"a": 1]}"#,
            r#"{"x": {,}}"#,
            r#"{"x": [,1]}"#,
            r#"{"x": {"a": 1,}}"#,
            r#"{"x": {"a"}}"#,
            r#"{"x": {1: 2}}"#,
            r#"{"x": [[]]]}"#,
            r#"{"x": 1} trailing"#,
            r#"{"x": 1"#,
            r#"{"time": {}}"#,
            r#"{"properties": []}"#,
            r#"{"properties": "x"}"#,
            r#"{"status": }"#,
            r#"{"ErrorNumber": "abc"}"#,
            r#"{"isInteractive": "yes"}"#,
            r#"{"isInteractive": tru}"#,
            r#"{"ErrorNumber": 1.5}"#,
            r#"{"ErrorNumber": -0}"#,
            r#"{"ErrorNumber": 99999999999999999999}"#,
            r#"{"ErrorNumber": "1 2"}"#,
            r#"{"authenticationDetails": [1]}"#,
            r#"{"authenticationDetails": {}}"#,
            r#"{"riskEventTypes_v2": [1]}"#,
        ] {
            assert!(!agrees_with_serde(text), "scanned {text}");
        }
        let deep = format!(
            "{{\"x\": {}1{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert!(!agrees_with_serde(&deep));
        let shallow = format!("{{\"x\": {}1{}}}", "[".repeat(50), "]".repeat(50));
        assert!(agrees_with_serde(&shallow));
    }

    #[test]
    fn reads_escapes_numbers_and_nesting_as_serde_does() {
        for text in [
            r#"{"time": "a\"b\\c\u00e9\n", "id": 12, "category": 1.5e3, "ResultType": "50126"}"#,
            r#"{"userPrincipalName": true, "ipAddress": null, "AutonomousSystemNumber": -7}"#,
            r#"{"properties": {"properties": {"x": [1, {"y": null}]}, "ipAddress": "a"}}"#,
            r#"{"properties": null, "status": {"errorCode": 0}, "Status": "{\"errorCode\":1}"}"#,
            r#"{"x": [true, false, null, "", {}, [], -1.25E-7, 0.0, "\/"]}"#,
            " \t\r\n{ \"time\" :\t\"t\" , \"y\" : [ ] } \n",
            r#"{"TimeGenerated [UTC]": "t", "OfficeId": "o", "records": [{"a": 1}, 2]}"#,
            "{\"UserAgent\": \"caf\u{e9} \u{1f989} longer than eight bytes\"}",
            r#"{"authenticationDetails": [{"authenticationStepResultDetail": " correct PASSWORD "}, {}],
                "ResultType": " 50126 ", "AutonomousSystemNumber": "", "isInteractive": false,
                "riskEventTypes_v2": [ ], "RiskEventTypes_V2": "[\"x\"]"}"#,
            r#"{"authenticationDetails": [{"authenticationStepResultDetail": null, "x": [1]}],
                "ResultType": "\u0035", "ErrorNumber": null, "isInteractive": null}"#,
            r#"{"AuthenticationDetails": "[{\"authenticationStepResultDetail\":\"Correct password\"}]"}"#,
            // A field named twice, in one spelling or two: the first non-empty value.
            r#"{"time": null, "time": null, "time": "t", "time": "u"}"#,
            r#"{"operationName": "", "operationname": "b", "OperationName": "c"}"#,
            r#"{"OrganizationId": "a", "OrganizationId_": "b", "Status_string": "", "Status_dynamic": {}}"#,
            r#"{"authenticationDetails": [{"authenticationStepResultDetail": "a", "AuthenticationStepResultDetail": "correct password"}]}"#,
            r#"{"isInteractive": "False", "IsInteractive": true, "TimeGenerated [UTC]": "t"}"#,
        ] {
            assert!(agrees_with_serde(text), "left to serde: {text}");
        }
    }

    /// Edits that make JSON wrong, or right in another way.
    const SNIPPETS: [&str; 20] = [
        "\"",
        "\\",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "0",
        "-",
        "e",
        ".",
        "\u{1}",
        " ",
        "\\u00e9",
        "\\ud800",
        "null",
        "\"time\":null,",
        "\"id\":1,",
        "\u{e9}",
    ];

    /// Keys the scanner reads in its own ways, some of their aliases, and an unknown one.
    const KEYS: [&str; 24] = [
        "time",
        "properties",
        "status",
        "errorCode",
        "authenticationDetails",
        "authenticationStepResultDetail",
        "AuthenticationDetails",
        "ResultType",
        "AutonomousSystemNumber",
        "isInteractive",
        "riskEventTypes_v2",
        "RiskEventTypes_V2",
        "records",
        "value",
        "category",
        "operationName",
        "operationname",
        "userPrincipalName",
        "signInEventTypes",
        "initiatedBy",
        "targetResources",
        "ExtendedProperties",
        "Actor",
        "x",
    ];

    /// Valid JSON built from those keys and values of every type, each key given any of them.
    fn value() -> impl Strategy<Value = String> {
        let leaf = proptest::sample::select(vec![
            "null",
            "true",
            "false",
            "0",
            "-7",
            "1.5e3",
            "50126",
            "18446744073709551616",
            "\"Correct password\"",
            "\"\"",
            "\" 42 \"",
            "\"a\\\"b\\u00e9\"",
            "\"[]\"",
            "\"{\\\"errorCode\\\":1}\"",
            "\"\\ud800\"",
        ])
        .prop_map(str::to_owned);
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5)
                    .prop_map(|values| format!("[{}]", values.join(","))),
                object(inner),
            ]
        })
    }

    fn object(values: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        proptest::collection::vec((proptest::sample::select(KEYS.to_vec()), values), 0..8).prop_map(
            |members| {
                let members: Vec<String> = members
                    .iter()
                    .map(|(key, value)| format!("\"{key}\":{value}"))
                    .collect();
                format!("{{{}}}", members.join(","))
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn generated_records_are_read_as_serde_reads_them_or_left_to_it(text in object(value())) {
            agrees_with_serde(&text);
        }

        #[test]
        fn edited_records_are_read_as_serde_reads_them_or_left_to_it(
            file in 0usize..SCENARIOS.len(),
            line in 0usize..64,
            edits in proptest::collection::vec((0usize..4096, 0usize..4, 0usize..SNIPPETS.len()), 1..4),
        ) {
            let lines: Vec<&str> = SCENARIOS[file].lines().filter(|l| l.starts_with('{')).collect();
            let mut text = lines[line % lines.len()].to_owned();
            for (at, cut, snippet) in edits {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let mut end = (at + cut).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(at..end, SNIPPETS[snippet]);
            }
            agrees_with_serde(&text);
        }
    }
}
