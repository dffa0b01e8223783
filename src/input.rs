//! Input framing: a batch of bytes into records, each with the line it starts on.
//!
//! A batch is newline-delimited JSON (one record or wrapper per line), or one or more JSON
//! documents (pretty-printed objects, arrays of records). The framing is decided from the first
//! non-empty line: if it is a complete JSON value the batch is read line by line, so that one
//! broken line never takes the rest with it; otherwise the whole batch is read as documents, and
//! if that fails it falls back to lines. A UTF-8 byte order mark (Log Analytics exports) is skipped.

use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::normalize::{Rejection, RejectionKind};

/// One record of a batch, or the reason a line could not be framed.
#[derive(Debug, Clone, PartialEq)]
pub enum Framed<'a> {
    /// A JSON text to normalize, with the 1-based line it starts on.
    Record {
        /// Line number within the batch.
        line: u32,
        /// The JSON text.
        text: &'a str,
    },
    /// A line that is not text.
    Rejected {
        /// Line number within the batch.
        line: u32,
        /// Why.
        rejection: Rejection,
    },
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One record as a shipper hands it (Fluent Bit's filter gets one per call): the whole of
/// `bytes`, without looking for line ends (a newline in it is JSON white space).
pub fn frame_record<'a>(bytes: &'a [u8], emit: &mut dyn FnMut(Framed<'a>)) {
    frame_line(1, bytes.strip_prefix(BOM).unwrap_or(bytes), emit);
}

/// Splits a batch into records, calling `emit` for each in order.
pub fn frame<'a>(bytes: &'a [u8], emit: &mut dyn FnMut(Framed<'a>)) {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    // One line (a shipper's single record, as Fluent Bit hands its filter) is one record: no
    // second search for line ends.
    let Some(newline) = memchr::memchr(b'\n', bytes) else {
        return frame_line(1, bytes, emit);
    };
    match documents(bytes, newline) {
        Some(text) if frame_documents(text, emit) => {}
        _ => frame_lines(bytes, emit),
    }
}

/// The batch as text, when it is to be read as documents: it has more than one line, its first
/// non-empty line is not a complete JSON value, and it is UTF-8 as a whole. A batch of lines (the
/// common case) is told from its first lines alone, without a pass over the whole batch.
/// `newline`: where the first line ends.
fn documents(bytes: &[u8], newline: usize) -> Option<&str> {
    match bytes.get(newline..)?.trim_ascii_start().first() {
        None => return None,
        Some(byte) if byte.is_ascii() => {}
        // Not ASCII after the first line: whether it is all (Unicode) white space decides.
        Some(_) => {
            if !simdutf8::basic::from_utf8(bytes)
                .ok()?
                .trim_end()
                .contains('\n')
            {
                return None;
            }
        }
    }
    for line in bytes.split(|&byte| byte == b'\n') {
        // A line that is not text makes a batch that is not: it is read line by line.
        let line = simdutf8::basic::from_utf8(line).ok()?;
        if line.trim().is_empty() {
            continue;
        }
        if serde_json::from_str::<IgnoredAny>(line).is_ok() {
            return None;
        }
        break;
    }
    simdutf8::basic::from_utf8(bytes).ok()
}

/// The byte ranges of the lines of `bytes`, split at `\n` (as `split` would, the last one possibly
/// empty), found with `memchr`'s SIMD search.
fn line_ranges(bytes: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    let mut start = 0;
    ends.map(move |end| {
        let range = start..end;
        start = end + 1;
        range
    })
}

/// Reads the batch as a sequence of JSON documents. Returns false (having emitted nothing) when
/// it is not one.
fn frame_documents<'a>(text: &'a str, emit: &mut dyn FnMut(Framed<'a>)) -> bool {
    let mut documents = Vec::new();
    for document in serde_json::Deserializer::from_str(text).into_iter::<&RawValue>() {
        match document {
            Ok(document) => documents.push(document),
            Err(_) => return false,
        }
    }
    let base = text.as_ptr() as usize;
    let mut lines = Lines::new(text);
    for document in documents {
        let json = document.get();
        let offset = (json.as_ptr() as usize).saturating_sub(base);
        let line = lines.at(offset);
        if json.starts_with('[') {
            // A top-level array of records: frame each element on its own line number.
            if let Ok(elements) = serde_json::from_str::<Vec<&RawValue>>(json) {
                for element in elements {
                    let offset = (element.get().as_ptr() as usize).saturating_sub(base);
                    emit(Framed::Record {
                        line: lines.at(offset),
                        text: element.get(),
                    });
                }
                continue;
            }
        }
        emit(Framed::Record { line, text: json });
    }
    true
}

/// Line numbers of offsets into one text, asked in increasing order: each counts the newlines
/// only since the last (a 70 MB array export has tens of thousands of records; counting from the
/// start for each was quadratic, minutes for one file).
struct Lines<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    /// The line `offset` is on (an offset before the last one asked counts from the start).
    fn at(&mut self, offset: usize) -> u32 {
        if offset < self.offset {
            (self.offset, self.line) = (0, 1);
        }
        let between = self.text.get(self.offset..offset).unwrap_or(b"");
        self.line += between.iter().filter(|&&byte| byte == b'\n').count();
        self.offset = offset.max(self.offset);
        u32::try_from(self.line).unwrap_or(u32::MAX)
    }
}

/// The lines of a batch, each checked for UTF-8 as it is framed (while it is in the cache for
/// the parse that follows): a line that is not text is reported, and the others are read.
fn frame_lines<'a>(bytes: &'a [u8], emit: &mut dyn FnMut(Framed<'a>)) {
    for (index, range) in line_ranges(bytes).enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        frame_line(number, bytes.get(range).unwrap_or_default(), emit);
    }
}

/// Line `number` of a batch (without its `\n`), unless it is blank.
fn frame_line<'a>(number: u32, line: &'a [u8], emit: &mut dyn FnMut(Framed<'a>)) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    // The fast check first; the standard library's finds where a bad line goes wrong.
    match simdutf8::basic::from_utf8(line).or_else(|_| std::str::from_utf8(line)) {
        Ok(text) => emit(Framed::Record { line: number, text }),
        Err(error) => emit(Framed::Rejected {
            line: number,
            rejection: Rejection {
                kind: RejectionKind::Malformed,
                reason: format!("invalid UTF-8 at byte {}", error.valid_up_to()),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(bytes: &[u8]) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        frame(bytes, &mut |framed| match framed {
            Framed::Record { line, text } => out.push((line, text.to_owned())),
            Framed::Rejected { line, rejection } => {
                out.push((line, format!("!{}", rejection.reason)))
            }
        });
        out
    }

    #[test]
    fn ndjson_lines_keep_their_numbers() {
        let got = frames(b"{\"a\":1}\r\n\n{\"b\":2}\n{broken\n");
        assert_eq!(
            got,
            vec![
                (1, "{\"a\":1}".into()),
                (3, "{\"b\":2}".into()),
                (4, "{broken".into())
            ]
        );
    }

    #[test]
    fn pretty_documents_and_arrays() {
        let got = frames(b"\xEF\xBB\xBF{\n  \"a\": 1\n}\n[\n {\"b\": 2},\n {\"c\": 3}\n]\n");
        assert_eq!(
            got,
            vec![
                (1, "{\n  \"a\": 1\n}".into()),
                (5, "{\"b\": 2}".into()),
                (6, "{\"c\": 3}".into())
            ]
        );
    }

    #[test]
    fn lines_count_on_from_the_last_offset_asked() {
        let text = "a\nb\n\nc\nd";
        let mut lines = Lines::new(text);
        let expected =
            |offset: usize| u32::try_from(text[..offset].matches('\n').count() + 1).unwrap();
        for offset in [0, 2, 2, 5, 6, 8, 3, 0, 8] {
            assert_eq!(lines.at(offset), expected(offset), "offset {offset}");
        }
    }

    #[test]
    fn a_single_line_is_one_record_as_it_is() {
        assert_eq!(frames(b"{\"a\":1}\n"), vec![(1, "{\"a\":1}".into())]);
        // Two documents on one line are one (malformed) record, as in NDJSON.
        assert_eq!(
            frames(b"{\"a\":1} {\"b\":2}"),
            vec![(1, "{\"a\":1} {\"b\":2}".into())]
        );
    }

    #[test]
    fn a_broken_document_falls_back_to_lines() {
        let got = frames(b"{\n \"a\": 1\n");
        assert_eq!(got, vec![(1, "{".into()), (2, " \"a\": 1".into())]);
    }

    #[test]
    fn line_ranges_split_as_split_does() {
        for text in ["", "\n", "a", "a\n", "\n\nb", "a\r\nbc\n\nd", "é\nü\n"] {
            let ours: Vec<&[u8]> = line_ranges(text.as_bytes())
                .map(|range| &text.as_bytes()[range])
                .collect();
            let split: Vec<&[u8]> = text.as_bytes().split(|&byte| byte == b'\n').collect();
            assert_eq!(ours, split, "{text:?}");
        }
    }

    #[test]
    fn text_after_the_first_line_is_checked_where_it_decides() {
        // Unicode white space after the only line: no documents, the lines as they are.
        assert_eq!(
            frames("{\"a\":1}\n\u{3000}".as_bytes()),
            vec![(1, "{\"a\":1}".into()), (2, "\u{3000}".into())]
        );
        // A document with a line that is not UTF-8: read line by line, that line reported.
        assert_eq!(
            frames(b"{\n \"a\": \"\xff\"\n}"),
            vec![
                (1, "{".into()),
                (2, "!invalid UTF-8 at byte 7".into()),
                (3, "}".into())
            ]
        );
    }

    #[test]
    fn invalid_utf8_is_rejected_per_line() {
        let got = frames(b"{\"a\":1}\n{\"b\":\"\xff\"}\n{\"c\":3}");
        assert_eq!(got.len(), 3);
        assert_eq!(got.get(1).map(|(line, _)| *line), Some(2));
        assert!(got
            .get(1)
            .is_some_and(|(_, text)| text.starts_with("!invalid UTF-8")));
    }
}
