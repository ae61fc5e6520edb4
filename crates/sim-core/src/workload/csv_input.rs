//! CSV plumbing shared by the CSV trace readers ([`super::azure`],
//! [`super::burstgpt`], [`super::generic_csv`]): record-by-record input with
//! exact line numbers, header-to-column resolution, and per-field access that
//! turns every defect into a [`WorkloadError::Parse`] naming line and column.
//!
//! Why not the csv crate's own `position()`: it stamps a record with the
//! position reached *before* blank lines are skipped, and with CRLF endings
//! before the `\n` of the previous record, so its line numbers drift on exactly
//! the files we read (the Azure trace is CRLF). Instead we make `\n` the only
//! record terminator and append one virtual `\n` to the stream: every record
//! is then consumed together with its own `\n`, and its line is the reader's
//! newline count minus one. A `\r` stays at the end of the last field and is
//! trimmed like any other surrounding whitespace.

use super::WorkloadError;
use crate::time::{SimTime, NANOS_PER_SEC};
use std::fmt;
use std::io::{Chain, Read};

/// Every record terminated, see the module docs.
const VIRTUAL_NEWLINE: &[u8] = b"\n";

/// What a CSV format's header may and must contain.
#[derive(Debug)]
pub(crate) struct Schema {
    /// Format name for messages, e.g. `Azure`.
    pub(crate) format: &'static str,
    /// Every column the format has; a row's fields are addressed by their
    /// index in this list ("slot").
    pub(crate) known: &'static [&'static str],
    /// The columns that must be present.
    pub(crate) required: &'static [&'static str],
}

/// A CSV table read one record at a time into a reused buffer: the first
/// non-blank line is the header, resolved against a [`Schema`].
pub(crate) struct CsvInput<R> {
    reader: csv::Reader<Chain<R, &'static [u8]>>,
    record: csv::ByteRecord,
    /// Line of the record in `record` (1-based), or of the last one read.
    line: u64,
    schema: &'static Schema,
    layout: Option<Layout>,
}

impl<R> fmt::Debug for CsvInput<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvInput")
            .field("format", &self.schema.format)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

impl<R: Read> CsvInput<R> {
    /// Wraps `reader`; nothing is read yet.
    pub(crate) fn new(reader: R, schema: &'static Schema) -> Self {
        let reader = csv::ReaderBuilder::new()
            // The header is read as an ordinary record so that its defects
            // get our error messages and line numbers.
            .has_headers(false)
            // Rows of the wrong width are reported by `Layout::check_width`,
            // which can name the missing column.
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(reader.chain(VIRTUAL_NEWLINE));
        CsvInput {
            reader,
            record: csv::ByteRecord::new(),
            line: 0,
            schema,
            layout: None,
        }
    }

    /// The next data row, or `None` at the end of the input. The header is
    /// consumed (and checked) on the first call; an input without any line
    /// has no rows.
    pub(crate) fn next_row(&mut self) -> Result<Option<Row<'_>>, WorkloadError> {
        let Some(mut line) = self.advance()? else {
            return Ok(None);
        };
        if self.layout.is_none() {
            self.layout = Some(Layout::resolve(&self.record, line, self.schema)?);
            match self.advance()? {
                Some(next) => line = next,
                None => return Ok(None),
            }
        }
        match &self.layout {
            Some(layout) => {
                layout.check_width(&self.record, line)?;
                Ok(Some(Row {
                    line,
                    record: &self.record,
                    layout,
                }))
            }
            // Resolved just above.
            None => Ok(None),
        }
    }

    /// Reads the next non-blank record into `self.record` and returns its
    /// 1-based line number, or `None` at the end of the input.
    fn advance(&mut self) -> Result<Option<u64>, WorkloadError> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(err) => return Err(self.csv_error(err)),
            }
            let after = self.reader.position().line();
            let embedded = self
                .record
                .as_slice()
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            if embedded > 0 {
                return Err(self.multi_line_error(after, embedded));
            }
            self.line = after.saturating_sub(1).max(1);
            // A line holding only whitespace (typically a lone `\r` of a CRLF
            // file) is blank, as empty lines are to the csv crate.
            let blank =
                self.record.len() == 1 && self.record.iter().all(|f| f.trim_ascii().is_empty());
            if !blank {
                return Ok(Some(self.line));
            }
        }
    }

    fn csv_error(&self, err: csv::Error) -> WorkloadError {
        // The failing record starts after the last one we returned.
        let line = self.line + 1;
        match err.into_kind() {
            csv::ErrorKind::Io(source) => WorkloadError::Io {
                line: Some(line),
                source,
            },
            other => WorkloadError::parse(line, "record", format!("malformed CSV: {other:?}")),
        }
    }

    /// No supported format has values spanning lines, so a quoted field that
    /// contains a newline is almost always an unbalanced quote.
    fn multi_line_error(&mut self, after: u64, embedded: u64) -> WorkloadError {
        // If the quote never closed, the field swallowed the virtual newline
        // and no terminator was consumed; otherwise one was.
        let unterminated = self.record.as_slice().last() == Some(&b'\n')
            && matches!(
                self.reader.read_byte_record(&mut csv::ByteRecord::new()),
                Ok(false)
            );
        let consumed = if unterminated { embedded } else { embedded + 1 };
        let line = after.saturating_sub(consumed).max(1);
        let message = if unterminated {
            "a quoted field is never closed (unbalanced `\"`)"
        } else {
            "a quoted field runs over several lines, which no supported format allows (unbalanced `\"`?)"
        };
        WorkloadError::parse(line, "record", message)
    }
}

/// One data row: its line and its fields, addressed by schema slot.
#[derive(Debug)]
pub(crate) struct Row<'a> {
    /// 1-based line number (the header is line 1 when it is the first line).
    pub(crate) line: u64,
    record: &'a csv::ByteRecord,
    layout: &'a Layout,
}

impl<'a> Row<'a> {
    /// The trimmed text of the column `schema.known[slot]`, or `None` if the
    /// header lacks that column.
    pub(crate) fn text(&self, slot: usize) -> Result<Option<&'a str>, WorkloadError> {
        let Some(column) = self.layout.column(slot) else {
            return Ok(None);
        };
        let raw = self.record.get(column).unwrap_or_default();
        std::str::from_utf8(raw.trim_ascii())
            .map(Some)
            .map_err(|_| {
                WorkloadError::parse(
                    self.line,
                    self.layout.name(slot),
                    "value is not valid UTF-8",
                )
            })
    }

    /// Like [`Row::text`] for a column the schema requires (so the header
    /// has it); an empty string if it somehow does not.
    pub(crate) fn required(&self, slot: usize) -> Result<&'a str, WorkloadError> {
        self.text(slot).map(Option::unwrap_or_default)
    }

    /// Like [`Row::text`], with an empty cell read as `None`.
    pub(crate) fn optional(&self, slot: usize) -> Result<Option<&'a str>, WorkloadError> {
        self.text(slot).map(|text| text.filter(|t| !t.is_empty()))
    }
}

/// Where each column of a [`Schema`] sits in the file, resolved from the header.
#[derive(Debug)]
struct Layout {
    schema: &'static Schema,
    /// For each name of `schema.known`, its 0-based column.
    slots: Vec<Option<usize>>,
    /// The header's names, in file order.
    names: Vec<Box<str>>,
}

impl Layout {
    /// Resolves the header `record` read at `line`. Unknown and duplicated
    /// names are errors that name the column, so that a typo in a header is
    /// caught instead of the column being silently ignored.
    fn resolve(
        record: &csv::ByteRecord,
        line: u64,
        schema: &'static Schema,
    ) -> Result<Layout, WorkloadError> {
        let known = schema.known;
        let mut slots = vec![None; known.len()];
        let mut names = Vec::with_capacity(record.len());
        for (column, raw) in record.iter().enumerate() {
            let name = std::str::from_utf8(raw.trim_ascii()).map_err(|_| {
                WorkloadError::parse(
                    line,
                    "header",
                    format!("column {} of the header is not valid UTF-8", column + 1),
                )
            })?;
            let Some(slot) = known.iter().position(|k| *k == name) else {
                return Err(WorkloadError::parse(
                    line,
                    name,
                    format!(
                        "unknown column (is the header line missing or misspelt?); {} columns: {}",
                        schema.format,
                        known.join(", ")
                    ),
                ));
            };
            if slots[slot].replace(column).is_some() {
                return Err(WorkloadError::parse(
                    line,
                    name,
                    "column appears twice in the header",
                ));
            }
            names.push(Box::from(name));
        }
        for name in schema.required {
            let present = known
                .iter()
                .position(|k| k == name)
                .is_some_and(|slot| slots[slot].is_some());
            if !present {
                return Err(WorkloadError::parse(
                    line,
                    name,
                    format!(
                        "required column missing from the header; {} requires: {}",
                        schema.format,
                        schema.required.join(", ")
                    ),
                ));
            }
        }
        Ok(Layout {
            schema,
            slots,
            names,
        })
    }

    /// Checks that a data row has as many fields as the header.
    fn check_width(&self, record: &csv::ByteRecord, line: u64) -> Result<(), WorkloadError> {
        let (got, want) = (record.len(), self.names.len());
        if got < want {
            let missing = self.names.get(got).map_or("record", |n| n);
            return Err(WorkloadError::parse(
                line,
                missing,
                format!("missing field: the row has {got} fields, the header {want}"),
            ));
        }
        if got > want {
            return Err(WorkloadError::parse(
                line,
                &format!("column {}", want + 1),
                format!("extra field: the row has {got} fields, the header {want}"),
            ));
        }
        Ok(())
    }

    /// The 0-based column of `schema.known[slot]`, if the header has it.
    fn column(&self, slot: usize) -> Option<usize> {
        self.slots.get(slot).copied().flatten()
    }

    /// The name of `schema.known[slot]`.
    fn name(&self, slot: usize) -> &'static str {
        self.schema.known.get(slot).copied().unwrap_or("record")
    }
}

/// Parses non-negative decimal seconds into an instant, exactly.
///
/// Plain decimals (`12`, `12.5`, `.5`) are converted digit by digit so that
/// `0.1` is exactly 100 ms, with digits past the nanosecond rounded half up;
/// anything else (`1e3`) goes through `f64`. NaN, infinities, negative values
/// and instants past `u64` nanoseconds are errors naming `line` and `field`.
pub(crate) fn parse_seconds(line: u64, field: &str, raw: &str) -> Result<SimTime, WorkloadError> {
    if let Some(ns) = exact_decimal_nanos(raw) {
        return ns.map(SimTime).ok_or_else(|| too_large(line, field, raw));
    }
    let secs: f64 = raw.parse().map_err(|_| {
        WorkloadError::parse(
            line,
            field,
            format!("expected a time in seconds (a non-negative number), got {raw:?}"),
        )
    })?;
    if secs.is_nan() {
        return Err(WorkloadError::parse(line, field, "time is NaN"));
    }
    if secs.is_infinite() {
        return Err(WorkloadError::parse(line, field, "time must be finite"));
    }
    if secs < 0.0 {
        return Err(WorkloadError::parse(
            line,
            field,
            format!("time must not be negative, got {raw}"),
        ));
    }
    crate::time::SimDuration::try_from_secs_f64(secs)
        .map(|d| SimTime(d.as_nanos()))
        .ok_or_else(|| too_large(line, field, raw))
}

fn too_large(line: u64, field: &str, raw: &str) -> WorkloadError {
    WorkloadError::parse(
        line,
        field,
        format!("time {raw} s is too large (the limit is about 584 years)"),
    )
}

/// `None` if `raw` is not a plain decimal; `Some(None)` if it is one but
/// overflows `u64` nanoseconds.
fn exact_decimal_nanos(raw: &str) -> Option<Option<u64>> {
    let (int, frac) = raw.split_once('.').unwrap_or((raw, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let mut secs: u64 = 0;
    for b in int.bytes() {
        secs = match secs
            .checked_mul(10)
            .and_then(|s| s.checked_add(u64::from(b - b'0')))
        {
            Some(s) => s,
            None => return Some(None),
        };
    }
    let mut nanos: u64 = 0;
    let mut scale = NANOS_PER_SEC;
    for b in frac.bytes().take(9) {
        scale /= 10;
        nanos += u64::from(b - b'0') * scale;
    }
    // Round half up on the first digit past the nanosecond.
    if frac.as_bytes().get(9).is_some_and(|&b| b >= b'5') {
        nanos += 1;
    }
    Some(
        secs.checked_mul(NANOS_PER_SEC)
            .and_then(|ns| ns.checked_add(nanos)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    static TEST_SCHEMA: Schema = Schema {
        format: "test",
        known: &["a", "b"],
        required: &["a"],
    };

    /// Lines and texts of the records of `input`, or the error message.
    fn records(input: &[u8]) -> Vec<Result<(u64, Vec<String>), String>> {
        let mut csv = CsvInput::new(input, &TEST_SCHEMA);
        let mut out = Vec::new();
        loop {
            match csv.advance() {
                Ok(Some(line)) => {
                    let fields = csv
                        .record
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).trim().to_string())
                        .collect();
                    out.push(Ok((line, fields)));
                }
                Ok(None) => return out,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }

    fn lines(input: &[u8]) -> Vec<u64> {
        records(input)
            .into_iter()
            .map(|r| r.map(|(l, _)| l).unwrap_or(0))
            .collect()
    }

    #[test]
    fn line_numbers_are_exact() {
        assert_eq!(lines(b"a\nb\nc"), [1, 2, 3]);
        assert_eq!(lines(b"a\nb\nc\n"), [1, 2, 3]);
        assert_eq!(lines(b"a\n\nb\n\n\nc\n"), [1, 3, 6]);
        assert_eq!(lines(b"a\r\nb\r\n\r\nc\r\n"), [1, 2, 4]);
        assert_eq!(lines(b"a\r\nb\r\n  \r\nc"), [1, 2, 4]);
        assert_eq!(lines(b"\xEF\xBB\xBFh\n1\n"), [1, 2]);
        assert_eq!(lines(b""), Vec::<u64>::new());
        assert_eq!(lines(b"\n\r\n\n"), Vec::<u64>::new());
    }

    #[test]
    fn fields_are_split_and_quotes_removed() {
        let got = records(b"x,\"a,b\" , c\r\n");
        assert_eq!(got, [Ok((1, vec!["x".into(), "a,b".into(), "c".into()]))]);
    }

    #[test]
    fn quotes_spanning_lines_are_errors() {
        let got = records(b"h\n1\n\"unclosed\n2\n3\n");
        assert_eq!(
            got.last(),
            Some(&Err(
                "line 3, field `record`: a quoted field is never closed (unbalanced `\"`)".into()
            ))
        );
        let got = records(b"h\n\"two\nlines\"\n3\n");
        assert!(
            matches!(got.last(), Some(Err(e)) if e.starts_with("line 2, field `record`: a quoted field runs over")),
            "{got:?}"
        );
    }

    fn check_seconds(raw: &str, expect: Result<u64, &str>) {
        let got = parse_seconds(7, "time_s", raw)
            .map(|t| t.0)
            .map_err(|e| e.to_string());
        match (got, expect) {
            (Ok(g), Ok(e)) => assert_eq!(g, e, "{raw}"),
            (Err(g), Err(e)) => assert!(g.contains(e), "{raw}: {g:?} should contain {e:?}"),
            (g, e) => panic!("{raw:?}: got {g:?}, expected {e:?}"),
        }
    }

    #[test]
    fn seconds() {
        check_seconds("0", Ok(0));
        check_seconds("12", Ok(12_000_000_000));
        check_seconds("0.1", Ok(100_000_000));
        check_seconds(".5", Ok(500_000_000));
        check_seconds("5.", Ok(5_000_000_000));
        check_seconds("3501.722527", Ok(3_501_722_527_000));
        check_seconds("1.0000000004", Ok(1_000_000_000));
        check_seconds("1.0000000005", Ok(1_000_000_001));
        check_seconds("1e3", Ok(1_000_000_000_000));
        check_seconds("1.5E-3", Ok(1_500_000));
        check_seconds(
            "-0.5",
            Err("line 7, field `time_s`: time must not be negative"),
        );
        check_seconds("NaN", Err("time is NaN"));
        check_seconds("inf", Err("time must be finite"));
        check_seconds("-inf", Err("time must be finite"));
        check_seconds("99999999999999999999", Err("too large"));
        check_seconds("1e300", Err("too large"));
        check_seconds("", Err("expected a time in seconds"));
        check_seconds(".", Err("expected a time in seconds"));
        check_seconds("12s", Err("expected a time in seconds"));
    }
}
