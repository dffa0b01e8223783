//! Reading log exports into batches: newline-delimited JSON, JSON documents and Log Analytics CSV
//! exports, from files or stdin. Batches end on record boundaries and remember which source line
//! each of their lines came from, so rejections can name `file:line`.

use std::io::BufRead;

use anyhow::{Context as _, Result};
use serde_json::{Map, Value};

/// How an input is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Format {
    /// Decide from the content (and a `.csv` extension): JSON lines or documents when it starts
    /// with `{` or `[`, CSV when it starts with a header row, else lines (each reported).
    Auto,
    /// One JSON record (or wrapper) per line.
    Ndjson,
    /// JSON documents: pretty-printed objects, arrays, `{"records": […]}`, `{"value": […]}`.
    Json,
    /// A CSV export with a header row (Log Analytics portal export).
    Csv,
}

/// A batch of records ready to push.
#[derive(Debug, Default)]
pub struct Batch {
    /// The bytes to push (NDJSON or a JSON document).
    pub bytes: Vec<u8>,
    /// For each line of `bytes` (1-based, index 0 unused), its line in the source; empty when
    /// the batch's lines map to the source by an offset.
    pub line_table: Vec<u64>,
    /// Source line of the batch's first line, when no table is used.
    pub first_line: u64,
    /// Records the host itself could not read (CSV rows): source line and reason.
    pub host_rejected: Vec<(u64, String)>,
    /// Source bytes consumed so far (for progress).
    pub consumed: u64,
}

impl Batch {
    /// The source line of line `line` (1-based) of this batch.
    pub fn source_line(&self, line: u32) -> u64 {
        if self.line_table.is_empty() {
            self.first_line + u64::from(line.saturating_sub(1))
        } else {
            self.line_table.get(line as usize).copied().unwrap_or(0)
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Bytes a batch may grow to before it is pushed, whatever its record count.
const MAX_BATCH_BYTES: usize = 16 << 20;

/// Reads `reader` as `format` (with `name` for auto-detection), calling `emit` for each batch of
/// at most `batch_size` records.
pub fn read_batches(
    reader: &mut dyn BufRead,
    name: &str,
    format: Format,
    batch_size: usize,
    emit: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    let format = match format {
        Format::Auto => detect(reader, name)?,
        other => other,
    };
    match format {
        Format::Ndjson | Format::Auto => read_ndjson(reader, batch_size, emit),
        Format::Json => {
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .with_context(|| format!("reading {name}"))?;
            let consumed = bytes.len() as u64;
            emit(Batch {
                bytes,
                first_line: 1,
                consumed,
                ..Batch::default()
            })
        }
        Format::Csv => read_csv(reader, batch_size, emit),
    }
}

fn detect(reader: &mut dyn BufRead, name: &str) -> Result<Format> {
    if name.to_ascii_lowercase().ends_with(".csv") {
        return Ok(Format::Csv);
    }
    let head = reader
        .fill_buf()
        .with_context(|| format!("reading {name}"))?;
    let head = head.strip_prefix(BOM).unwrap_or(head);
    let first = head.iter().find(|byte| !byte.is_ascii_whitespace());
    Ok(match first {
        None => Format::Ndjson,
        Some(b'{' | b'[') => {
            // NDJSON if the first line is a complete JSON value, else one or more documents.
            let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
            let line = head.get(..line_end).unwrap_or(head);
            if serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok() {
                Format::Ndjson
            } else if line_end == head.len() && head.len() >= 8192 {
                // A first line longer than the peek: assume NDJSON, the common case.
                Format::Ndjson
            } else {
                Format::Json
            }
        }
        Some(_) => {
            // A CSV export starts with a header row: printable text with delimiters (a comma, or
            // what `delimiter` also reads). Anything else is read as lines, so that each line
            // that is not JSON is reported where it is.
            let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
            let line = head.get(..line_end).unwrap_or(head);
            let printable = line.iter().all(|&b| b >= 0x20 || b == b'\t' || b == b'\r');
            if printable && DELIMITERS.iter().any(|d| line.contains(d)) {
                Format::Csv
            } else {
                Format::Ndjson
            }
        }
    })
}

fn read_ndjson(
    reader: &mut dyn BufRead,
    batch_size: usize,
    emit: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    let mut batch = Batch {
        first_line: 1,
        ..Batch::default()
    };
    let mut lines_in_batch = 0usize;
    let mut records = 0usize;
    let mut next_line = 1u64;
    let mut consumed = 0u64;
    loop {
        let before = batch.bytes.len();
        let read = reader
            .read_until(b'\n', &mut batch.bytes)
            .context("reading input")?;
        if read == 0 {
            break;
        }
        consumed += read as u64;
        next_line += 1;
        lines_in_batch += 1;
        if batch
            .bytes
            .get(before..)
            .is_some_and(|line| !line.iter().all(u8::is_ascii_whitespace))
        {
            records += 1;
        }
        if !batch.bytes.ends_with(b"\n") {
            batch.bytes.push(b'\n');
        }
        if records >= batch_size || batch.bytes.len() >= MAX_BATCH_BYTES {
            batch.consumed = consumed;
            // The next batch is likely the size of this one: allocated once, not grown by copies.
            let size = batch.bytes.len().saturating_add(batch.bytes.len() / 4);
            let full = std::mem::replace(
                &mut batch,
                Batch {
                    bytes: Vec::with_capacity(size.min(MAX_BATCH_BYTES)),
                    first_line: next_line,
                    ..Batch::default()
                },
            );
            emit(full)?;
            lines_in_batch = 0;
            records = 0;
        }
    }
    if lines_in_batch > 0 {
        batch.consumed = consumed;
        emit(batch)?;
    }
    Ok(())
}

/// The delimiter of a CSV export, told from its header row: a comma, or a semicolon or tab when
/// the header has more of those (spreadsheets saved in locales whose decimal mark is a comma).
fn delimiter(reader: &mut dyn BufRead) -> Result<u8> {
    let head = reader.fill_buf().context("reading the CSV header row")?;
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let header = head.get(..line_end).unwrap_or(head);
    let count = |delimiter: u8| header.iter().filter(|&&b| b == delimiter).count();
    let [comma, others @ ..] = DELIMITERS;
    Ok(others
        .into_iter()
        .find(|&other| count(other) > count(comma))
        .unwrap_or(comma))
}

/// The delimiters of CSV exports, the usual one first.
const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

fn read_csv(
    reader: &mut dyn BufRead,
    batch_size: usize,
    emit: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    let delimiter = delimiter(reader)?;
    // Rows end at `\n` (a `\r` before it is dropped from the last cell): the csv crate's own CRLF
    // handling reports each row one line early.
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader);
    let headers: Vec<String> = csv
        .byte_headers()
        .context("reading the CSV header row")?
        .iter()
        .enumerate()
        .map(|(i, header)| {
            let header = if i == 0 {
                header.strip_prefix(BOM).unwrap_or(header)
            } else {
                header
            };
            String::from_utf8_lossy(header).trim().to_owned()
        })
        .collect();
    let mut batch = Batch {
        line_table: vec![0],
        ..Batch::default()
    };
    let mut records = 0usize;
    let mut row = csv::ByteRecord::new();
    loop {
        let line = csv.position().line() + 1;
        match csv.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {
                let line = row.position().map_or(line, |p| p.line());
                match row_to_json(&headers, &row) {
                    Ok(json) => {
                        batch.bytes.extend_from_slice(json.as_bytes());
                        batch.bytes.push(b'\n');
                        batch.line_table.push(line);
                        records += 1;
                    }
                    Err(reason) => batch.host_rejected.push((line, reason)),
                }
            }
            Err(error) => {
                let line = error.position().map_or(line, |p| p.line());
                batch
                    .host_rejected
                    .push((line, format!("invalid CSV: {error}")));
                if matches!(error.kind(), csv::ErrorKind::Io(_)) {
                    return Err(anyhow::Error::new(error).context("reading CSV"));
                }
            }
        }
        if records >= batch_size {
            batch.consumed = csv.position().byte();
            emit(std::mem::replace(
                &mut batch,
                Batch {
                    line_table: vec![0],
                    ..Batch::default()
                },
            ))?;
            records = 0;
        }
    }
    if records > 0 || !batch.host_rejected.is_empty() {
        batch.consumed = csv.position().byte();
        emit(batch)?;
    }
    Ok(())
}

/// One CSV row as a JSON object keyed by the header; empty cells are left out, and of two columns
/// with one name the first non-empty cell is kept.
fn row_to_json(headers: &[String], row: &csv::ByteRecord) -> std::result::Result<String, String> {
    let mut object = Map::new();
    let last = row.len().saturating_sub(1);
    for (i, cell) in row.iter().enumerate() {
        let cell = if i == last {
            cell.strip_suffix(b"\r").unwrap_or(cell)
        } else {
            cell
        };
        if cell.is_empty() {
            continue;
        }
        let text = std::str::from_utf8(cell).map_err(|error| {
            format!(
                "invalid UTF-8 in column {} at byte {}",
                i + 1,
                error.valid_up_to()
            )
        })?;
        let Some(header) = headers.get(i) else {
            return Err(format!(
                "row has more cells ({}) than the header ({})",
                row.len(),
                headers.len()
            ));
        };
        if !object.contains_key(header) {
            object.insert(header.clone(), Value::String(text.to_owned()));
        }
    }
    Ok(Value::Object(object).to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn rows(text: &[u8]) -> (Vec<Value>, Vec<u64>) {
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        read_batches(&mut &text[..], "x.csv", Format::Auto, 2, &mut |batch| {
            for (index, line) in batch.bytes.split(|&b| b == b'\n').enumerate() {
                if !line.is_empty() {
                    rows.push(serde_json::from_slice(line).unwrap());
                    lines.push(batch.source_line(u32::try_from(index + 1).unwrap()));
                }
            }
            Ok(())
        })
        .unwrap();
        (rows, lines)
    }

    #[test]
    fn a_portal_export_with_its_quirks() {
        // A byte order mark, CRLF, a quoted cell over two lines, a nested column as JSON text,
        // two columns of one name (the first non-empty cell wins), an empty cell left out.
        let text = "\u{feff}TimeGenerated [UTC],UserId,UserId,Status,Empty\r\n\
            \"4/28/2021, 2:08:45.221 PM\",,a@b.c,\"{\"\"errorCode\"\":50126,\r\n\"\"x\"\":1}\",\r\n\
            \"4/28/2021, 2:09:00.000 PM\",first@b.c,second@b.c,{},\r\n";
        let (rows, lines) = rows(text.as_bytes());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["TimeGenerated [UTC]"], "4/28/2021, 2:08:45.221 PM");
        assert_eq!(rows[0]["UserId"], "a@b.c");
        assert_eq!(rows[0]["Status"], "{\"errorCode\":50126,\r\n\"x\":1}");
        assert!(rows[0].get("Empty").is_none());
        assert_eq!(rows[1]["UserId"], "first@b.c");
        assert_eq!(lines, vec![2, 4]);
    }

    #[test]
    fn semicolon_and_tab_separated_exports() {
        for text in ["a;b;c\n1;2,5;3\n", "a\tb\tc\n1\t2,5\t3\n"] {
            let (rows, _) = rows(text.as_bytes());
            assert_eq!(rows[0]["b"], "2,5", "{text:?}");
        }
        let (rows, _) = rows(b"a,b;c\n1,2;3\n");
        assert_eq!(rows[0]["b;c"], "2;3");
        // Told from their content too, without the `.csv` name.
        let mut found = Vec::new();
        read_batches(
            &mut &b"a;b\n1;2\n"[..],
            "<stdin>",
            Format::Auto,
            10,
            &mut |batch| {
                found.extend_from_slice(&batch.bytes);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(found, b"{\"a\":\"1\",\"b\":\"2\"}\n");
    }
}
