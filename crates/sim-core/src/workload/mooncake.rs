//! Reader for the Mooncake traces (kvcache-ai/Mooncake, FAST'25): JSON
//! lines, one request per line, e.g.
//!
//! ```text
//! {"timestamp": 0, "input_length": 6758, "output_length": 500, "hash_ids": [0, 1, 2]}
//! ```
//!
//! `timestamp` is integer milliseconds from the trace start and is kept as
//! is (the first request need not arrive at 0). `input_length` and
//! `output_length` are token counts. `hash_ids` lists the prefix blocks of
//! the prompt (512 tokens per block upstream) and becomes
//! [`Request::prefix_hashes`]; it may be absent. Other keys are ignored, blank
//! lines are skipped.

use super::trace_reader::{RecordParser, TraceReader};
use super::{check_token_count, WorkloadError};
use crate::request::Request;
use crate::time::{SimTime, NANOS_PER_MS};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::io::{BufRead, BufReader, Read};

/// The longest line accepted, in bytes. The longest legitimate line (a
/// prompt at [`super::MAX_TOKENS_PER_REQUEST`] tokens, about 20,000 hash ids)
/// is well under 1 MiB; the cap keeps a file without newlines from
/// exhausting memory.
pub const MAX_LINE_BYTES: usize = 16 << 20;

const TIMESTAMP: &str = "timestamp";
const INPUT_LENGTH: &str = "input_length";
const OUTPUT_LENGTH: &str = "output_length";
const HASH_IDS: &str = "hash_ids";

/// Streams the requests of a Mooncake JSONL trace; see [`TraceReader`] for
/// arrival order and errors. An empty input yields no requests.
pub type MooncakeReader<R> = TraceReader<MooncakeParser<R>>;

/// Parses the records of a Mooncake trace, for a [`MooncakeReader`].
pub struct MooncakeParser<R> {
    input: BufReader<R>,
    /// Reused line buffer.
    buffer: Vec<u8>,
    /// 1-based number of the line in `buffer`.
    line: u64,
}

impl<R> fmt::Debug for MooncakeParser<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MooncakeParser")
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// The fast path: a well-formed record.
#[derive(Deserialize)]
struct Record {
    timestamp: u64,
    input_length: i64,
    output_length: i64,
    #[serde(default)]
    hash_ids: Vec<u64>,
}

impl<R: Read> MooncakeReader<R> {
    /// A reader over `reader` (buffered internally). Nothing is read until
    /// the first `next()`.
    pub fn new(reader: R) -> Self {
        TraceReader::from_parser(MooncakeParser {
            input: BufReader::new(reader),
            buffer: Vec::new(),
            line: 0,
        })
    }
}

impl<R: Read> MooncakeParser<R> {
    /// Reads the next non-blank line into `buffer`; false at the end.
    fn next_line(&mut self) -> Result<bool, WorkloadError> {
        loop {
            self.buffer.clear();
            let limit = MAX_LINE_BYTES as u64 + 1;
            let read = (&mut self.input)
                .take(limit)
                .read_until(b'\n', &mut self.buffer)
                .map_err(|source| WorkloadError::Io {
                    line: Some(self.line + 1),
                    source,
                })?;
            if read == 0 {
                return Ok(false);
            }
            self.line += 1;
            if self.buffer.len() > MAX_LINE_BYTES {
                return Err(WorkloadError::parse(
                    self.line,
                    "record",
                    format!("line longer than {MAX_LINE_BYTES} bytes; is this a JSON-lines file?"),
                ));
            }
            if !self.buffer.trim_ascii().is_empty() {
                return Ok(true);
            }
        }
    }
}

impl<R: Read> RecordParser for MooncakeParser<R> {
    const TIMESTAMP_FIELD: &'static str = TIMESTAMP;

    fn next_record(&mut self) -> Result<Option<(u64, Request)>, WorkloadError> {
        if !self.next_line()? {
            return Ok(None);
        }
        let line = self.line;
        // Without the line end, so that serde's positions stay on one line;
        // and without a UTF-8 byte order mark on the first line, which the
        // CSV readers skip too.
        let text = self.buffer.trim_ascii();
        let text = match line {
            1 => text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text),
            _ => text,
        };
        // serde would also accept `[ts, in, out]` for a struct; only objects
        // are records.
        let parsed = match text.first() {
            Some(b'{') => serde_json::from_slice::<Record>(text).map_err(Some),
            _ => Err(None),
        };
        let record = match parsed {
            Ok(record) => record,
            Err(err) => return Err(diagnose(line, text, err.as_ref())),
        };
        let ns = record.timestamp.checked_mul(NANOS_PER_MS).ok_or_else(|| {
            WorkloadError::parse(
                line,
                TIMESTAMP,
                format!(
                    "{} ms is too large (the limit is about 584 years)",
                    record.timestamp
                ),
            )
        })?;
        let arrival = SimTime(ns);
        let input_tokens = check_token_count(line, INPUT_LENGTH, i128::from(record.input_length))?;
        let output_tokens =
            check_token_count(line, OUTPUT_LENGTH, i128::from(record.output_length))?;
        let request = Request {
            prefix_hashes: record.hash_ids.into_boxed_slice(),
            ..Request::new(arrival, input_tokens, output_tokens)
        };
        Ok(Some((line, request)))
    }
}

/// The slow path, taken only for a line the fast path rejected: find which
/// key is at fault so that the message can name it.
fn diagnose(line: u64, text: &[u8], err: Option<&serde_json::Error>) -> WorkloadError {
    if text.first() != Some(&b'{') {
        let start = String::from_utf8_lossy(text.get(..24).unwrap_or(text)).into_owned();
        return WorkloadError::parse(
            line,
            "record",
            format!("expected a JSON object, one per line; the line starts with {start:?}"),
        );
    }
    let value: Value = match serde_json::from_slice(text) {
        Ok(value) => value,
        Err(err) => {
            return WorkloadError::parse(
                line,
                "record",
                format!("not valid JSON: {}", json_message(&err)),
            );
        }
    };
    let Some(object) = value.as_object() else {
        return WorkloadError::parse(line, "record", "expected a JSON object, one per line");
    };
    match object.get(TIMESTAMP) {
        None => return WorkloadError::parse(line, TIMESTAMP, "missing key"),
        Some(Value::Number(n)) if n.is_u64() => {}
        Some(Value::Number(n)) if n.is_i64() => {
            return WorkloadError::parse(line, TIMESTAMP, format!("must not be negative, got {n}"));
        }
        Some(other) => {
            return WorkloadError::parse(
                line,
                TIMESTAMP,
                format!("expected a non-negative integer number of milliseconds, got {other}"),
            );
        }
    }
    for key in [INPUT_LENGTH, OUTPUT_LENGTH] {
        let limit = super::MAX_TOKENS_PER_REQUEST;
        match object.get(key) {
            None => return WorkloadError::parse(line, key, "missing key"),
            Some(Value::Number(n)) if n.is_i64() => {}
            // Integers beyond i64 (parsed as u64 or, past u64, as f64); a
            // small number written as a float (`5.0`) is not one.
            Some(Value::Number(n))
                if n.is_u64()
                    || n.as_f64()
                        .is_some_and(|f| f.fract() == 0.0 && f > i64::MAX as f64) =>
            {
                return WorkloadError::parse(
                    line,
                    key,
                    format!("token count {n} is larger than the limit of {limit}"),
                );
            }
            Some(other) => {
                return WorkloadError::parse(
                    line,
                    key,
                    format!("expected an integer token count, got {other}"),
                );
            }
        }
    }
    match object.get(HASH_IDS) {
        None | Some(Value::Null) => {}
        Some(Value::Array(ids)) => {
            if let Some((index, bad)) = ids.iter().enumerate().find(|(_, id)| id.as_u64().is_none())
            {
                return WorkloadError::parse(
                    line,
                    HASH_IDS,
                    format!("element {index} is {bad}, expected an unsigned integer"),
                );
            }
        }
        Some(other) => {
            return WorkloadError::parse(
                line,
                HASH_IDS,
                format!("expected a list of integers, got {other}"),
            );
        }
    }
    // Something the checks above do not cover (e.g. a duplicated key).
    let message = err.map_or_else(|| "not a Mooncake record".to_string(), json_message);
    WorkloadError::parse(line, "record", message)
}

/// serde_json's message with its position given as a column only: the line
/// it counts is always 1, and the error already carries the file's line.
fn json_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let message = text
        .rfind(" at line ")
        .map_or(text.as_str(), |at| &text[..at]);
    format!("{message} (column {})", err.column())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::trace_reader::testing;

    fn check_ok(input: &str, expect: &[Request]) {
        testing::check_ok(MooncakeReader::new(input.as_bytes()), input, expect);
    }

    fn check_err(input: &[u8], expect: &str) {
        testing::check_err(MooncakeReader::new(input), input, expect);
    }

    fn req(ms: u64, input: u32, output: u32, hashes: &[u64]) -> Request {
        Request {
            prefix_hashes: hashes.into(),
            ..Request::new(SimTime(ms * NANOS_PER_MS), input, output)
        }
    }

    #[test]
    fn reads_records_without_shifting_time() {
        check_ok(
            "{\"timestamp\": 27, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [0, 1]}\n\
             \n\
             {\"timestamp\": 27, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [0]}\r\n\
             {\"hash_ids\": [], \"output_length\": 2, \"input_length\": 3, \"timestamp\": 3030, \"extra\": \"ignored\"}",
            &[req(27, 600, 5, &[0, 1]), req(27, 10, 1, &[0]), req(3030, 3, 2, &[])],
        );
        check_ok(
            "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n",
            &[req(0, 1, 1, &[])],
        );
        // A UTF-8 byte order mark before the first record, as the CSV
        // readers accept (and only there).
        check_ok(
            "\u{feff}{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n",
            &[req(0, 1, 1, &[])],
        );
        check_err(
            "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n\
             \u{feff}{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n"
                .as_bytes(),
            "line 2, field `record`: expected a JSON object, one per line; the line starts with \"\\u{feff}{\\\"timestamp\\\": 0, \\\"inp\"",
        );
    }

    #[test]
    fn empty_inputs() {
        check_ok("", &[]);
        check_ok("\n  \r\n\n", &[]);
    }

    #[test]
    fn malformed_inputs_name_line_and_field() {
        let ok = "{\"timestamp\": 5, \"input_length\": 1, \"output_length\": 1}\n";
        let with = |bad: &str| format!("{ok}\n{bad}\n");
        check_err(
            with("{\"timestamp\": 4, \"input_length\": 1, \"output_length\": 1}").as_bytes(),
            "line 3, field `timestamp`: timestamp 0.004000 s is earlier than the previous one (0.005000 s)",
        );
        check_err(
            with("{\"timestamp\": 6, \"input_length\": 1, \"output_length\": 0}").as_bytes(),
            "line 3, field `output_length`: token count must be at least 1, got 0",
        );
        check_err(
            with("{\"timestamp\": 6, \"input_length\": -4, \"output_length\": 1}").as_bytes(),
            "line 3, field `input_length`: token count must be at least 1, got -4",
        );
        check_err(
            with(
                "{\"timestamp\": 6, \"input_length\": 99999999999999999999, \"output_length\": 1}",
            )
            .as_bytes(),
            "line 3, field `input_length`: token count 1e+20 is larger than the limit of 10000000",
        );
        check_err(
            with("{\"timestamp\": 6, \"input_length\": 1, \"output_length\": 18446744073709551615}").as_bytes(),
            "line 3, field `output_length`: token count 18446744073709551615 is larger than the limit of 10000000",
        );
        check_err(
            with("{\"timestamp\": 6, \"input_length\": 1.5, \"output_length\": 1}").as_bytes(),
            "line 3, field `input_length`: expected an integer token count, got 1.5",
        );
        // A whole number written as a float is not "larger than the limit".
        check_err(
            with("{\"timestamp\": 6, \"input_length\": 5.0, \"output_length\": 1}").as_bytes(),
            "line 3, field `input_length`: expected an integer token count, got 5.0",
        );
        check_err(
            with("{\"timestamp\": -6, \"input_length\": 1, \"output_length\": 1}").as_bytes(),
            "line 3, field `timestamp`: must not be negative, got -6",
        );
        check_err(
            with("{\"timestamp\": \"6\", \"input_length\": 1, \"output_length\": 1}").as_bytes(),
            "line 3, field `timestamp`: expected a non-negative integer number of milliseconds, got \"6\"",
        );
        check_err(
            with("{\"timestamp\": 6.5, \"input_length\": 1, \"output_length\": 1}").as_bytes(),
            "line 3, field `timestamp`: expected a non-negative integer number of milliseconds, got 6.5",
        );
        check_err(
            with("{\"timestamp\": 18446744073709551615, \"input_length\": 1, \"output_length\": 1}").as_bytes(),
            "line 3, field `timestamp`: 18446744073709551615 ms is too large (the limit is about 584 years)",
        );
        check_err(
            with("{\"timestamp\": 6, \"output_length\": 1}").as_bytes(),
            "line 3, field `input_length`: missing key",
        );
        check_err(
            with("{\"timestamp\": 6, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [1, -2]}").as_bytes(),
            "line 3, field `hash_ids`: element 1 is -2, expected an unsigned integer",
        );
        check_err(
            with("{\"timestamp\": 6, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": \"1 2\"}").as_bytes(),
            "line 3, field `hash_ids`: expected a list of integers, got \"1 2\"",
        );
        check_err(
            with("[1, 2, 3]").as_bytes(),
            "line 3, field `record`: expected a JSON object, one per line; the line starts with \"[1, 2, 3]\"",
        );
        check_err(
            with("{\"timestamp\": 6, \"input_length\": 1, \"output_length\": 1} {").as_bytes(),
            "line 3, field `record`: not valid JSON: trailing characters (column 57)",
        );
        check_err(
            with("{\"timestamp\": 6,").as_bytes(),
            "line 3, field `record`: not valid JSON: EOF while parsing a value (column 16)",
        );
        check_err(
            with("{\"timestamp\": 6, \"timestamp\": 7, \"input_length\": 1, \"output_length\": 1}")
                .as_bytes(),
            "line 3, field `record`: duplicate field `timestamp` (column 28)",
        );
        check_err(
            b"\xff\xfe\x00garbage\n",
            "line 1, field `record`: expected a JSON object, one per line; the line starts with \"\u{fffd}\u{fffd}\\0garbage\"",
        );
        check_err(
            b"timestamp,input_length,output_length\n",
            "line 1, field `record`: expected a JSON object, one per line; the line starts with \"timestamp,input_length,o\"",
        );
    }

    #[test]
    fn overlong_lines_are_rejected() {
        let long = vec![b' '; MAX_LINE_BYTES + 10];
        check_err(
            &long,
            "line 1, field `record`: line longer than 16777216 bytes; is this a JSON-lines file?",
        );
    }

    #[test]
    fn reader_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&MooncakeReader::new(std::io::empty()));
    }
}
