//! Reader for fleetsim's generic CSV trace: the format to convert any other
//! trace into.
//!
//! The first line is a header naming the columns, in any order:
//!
//! | column | | meaning |
//! |---|---|---|
//! | `time_s` | required | arrival, seconds from the trace start (≥ 0; not shifted) |
//! | `input_tokens` | required | prompt tokens, integer ≥ 1 |
//! | `output_tokens` | required | tokens to generate, integer ≥ 1 |
//! | `model` | optional | deployment (model) name |
//! | `adapter` | optional | LoRA adapter name |
//! | `priority_class` | optional | priority class name |
//! | `prefix_hashes` | optional | prefix block hashes (unsigned integers) separated by spaces or `;` |
//! | `difficulty` | optional | a finite difficulty score (a classifier's, say), for a model router's `min_difficulty` |
//!
//! An empty optional cell means "none". Any other column is an error naming
//! it, so that a misspelt optional column is not silently dropped.

use super::csv_input::{parse_seconds, CsvInput, Schema};
use super::trace_reader::{RecordParser, TraceReader};
use super::{parse_token_count, WorkloadError};
use crate::request::Request;
use std::fmt;
use std::io::Read;

/// Every column of the generic CSV format; the first three are required.
pub const COLUMNS: [&str; 8] = [
    "time_s",
    "input_tokens",
    "output_tokens",
    "model",
    "adapter",
    "priority_class",
    "prefix_hashes",
    "difficulty",
];

/// The columns a generic CSV must have.
pub const REQUIRED_COLUMNS: [&str; 3] = ["time_s", "input_tokens", "output_tokens"];

static SCHEMA: Schema = Schema {
    format: "generic CSV",
    known: &COLUMNS,
    required: &REQUIRED_COLUMNS,
};

// Slots of `COLUMNS`.
const TIME_S: usize = 0;
const INPUT_TOKENS: usize = 1;
const OUTPUT_TOKENS: usize = 2;
const MODEL: usize = 3;
const ADAPTER: usize = 4;
const PRIORITY_CLASS: usize = 5;
const PREFIX_HASHES: usize = 6;
const DIFFICULTY: usize = 7;

/// Streams the requests of a generic CSV trace; see [`TraceReader`] for
/// arrival order and errors. An empty input yields no requests; a first line
/// that is not a header is an error.
pub type GenericCsvReader<R> = TraceReader<GenericCsvParser<R>>;

/// Parses the records of a generic CSV trace, for a [`GenericCsvReader`].
pub struct GenericCsvParser<R> {
    input: CsvInput<R>,
    /// Reused between rows: the hashes of the row being parsed.
    hashes: Vec<u64>,
}

impl<R> fmt::Debug for GenericCsvParser<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenericCsvParser")
            .field("input", &self.input)
            .finish_non_exhaustive()
    }
}

impl<R: Read> GenericCsvReader<R> {
    /// A reader over `reader`. Nothing is read until the first `next()`;
    /// `reader` need not be buffered.
    pub fn new(reader: R) -> Self {
        TraceReader::from_parser(GenericCsvParser {
            input: CsvInput::new(reader, &SCHEMA),
            hashes: Vec::new(),
        })
    }
}

impl<R: Read> RecordParser for GenericCsvParser<R> {
    const TIMESTAMP_FIELD: &'static str = COLUMNS[TIME_S];

    fn next_record(&mut self) -> Result<Option<(u64, Request)>, WorkloadError> {
        let Some(row) = self.input.next_row()? else {
            return Ok(None);
        };
        let line = row.line;
        let arrival = parse_seconds(line, COLUMNS[TIME_S], row.required(TIME_S)?)?;
        let input_tokens =
            parse_token_count(line, COLUMNS[INPUT_TOKENS], row.required(INPUT_TOKENS)?)?;
        let output_tokens =
            parse_token_count(line, COLUMNS[OUTPUT_TOKENS], row.required(OUTPUT_TOKENS)?)?;
        let name = |slot: usize| row.optional(slot).map(|text| text.map(Box::from));
        let model = name(MODEL)?;
        let adapter = name(ADAPTER)?;
        let priority_class = name(PRIORITY_CLASS)?;
        self.hashes.clear();
        if let Some(text) = row.optional(PREFIX_HASHES)? {
            parse_hashes(line, text, &mut self.hashes)?;
        }
        let difficulty = match row.optional(DIFFICULTY)? {
            Some(text) => Some(parse_difficulty(line, text)?),
            None => None,
        };
        let request = Request {
            model,
            adapter,
            priority_class,
            prefix_hashes: self.hashes.as_slice().into(),
            difficulty,
            ..Request::new(arrival, input_tokens, output_tokens)
        };
        Ok(Some((line, request)))
    }
}

/// The score of a `difficulty` cell: any finite number (a router
/// compares it with its thresholds, so NaN or infinity would route
/// arbitrarily).
fn parse_difficulty(line: u64, text: &str) -> Result<f64, WorkloadError> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(WorkloadError::parse(
            line,
            COLUMNS[DIFFICULTY],
            format!("expected a finite number, got {text:?}"),
        )),
    }
}

/// Appends the hashes of a `prefix_hashes` cell (separated by whitespace or
/// `;`, empty pieces ignored) to `out`.
fn parse_hashes(line: u64, text: &str, out: &mut Vec<u64>) -> Result<(), WorkloadError> {
    let pieces = text
        .split(|c: char| c == ';' || c.is_ascii_whitespace())
        .filter(|p| !p.is_empty());
    for (index, piece) in pieces.enumerate() {
        let hash = piece.parse().map_err(|_| {
            WorkloadError::parse(
                line,
                COLUMNS[PREFIX_HASHES],
                format!(
                    "hash {} is {piece:?}, expected an unsigned integer (hashes are separated by spaces or `;`)",
                    index + 1
                ),
            )
        })?;
        out.push(hash);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;
    use crate::workload::trace_reader::testing;

    fn read(input: &[u8]) -> Vec<Result<Request, String>> {
        testing::read(GenericCsvReader::new(input))
    }

    fn check_ok(input: &str, expect: &[Request]) {
        testing::check_ok(GenericCsvReader::new(input.as_bytes()), input, expect);
    }

    fn check_err(input: &[u8], expect: &str) {
        testing::check_err(GenericCsvReader::new(input), input, expect);
    }

    fn req(ns: u64, input: u32, output: u32) -> Request {
        Request::new(SimTime(ns), input, output)
    }

    #[test]
    fn required_columns_only() {
        check_ok(
            "time_s,input_tokens,output_tokens\n0.5,10,20\n0.5,1,2\n2,3,4\n",
            &[
                req(500_000_000, 10, 20),
                req(500_000_000, 1, 2),
                req(2_000_000_000, 3, 4),
            ],
        );
    }

    #[test]
    fn optional_columns_in_any_order() {
        let input =
            "model,time_s,prefix_hashes,output_tokens,adapter,input_tokens,priority_class\n\
                     llama-70b,0,1 2;3,5,,7,interactive\n\
                     ,1.25,,6,lora-a,8,\n";
        check_ok(
            input,
            &[
                Request {
                    model: Some("llama-70b".into()),
                    priority_class: Some("interactive".into()),
                    prefix_hashes: vec![1, 2, 3].into(),
                    ..req(0, 7, 5)
                },
                Request {
                    adapter: Some("lora-a".into()),
                    ..req(1_250_000_000, 8, 6)
                },
            ],
        );
    }

    #[test]
    fn difficulty_is_a_finite_score() {
        check_ok(
            "time_s,input_tokens,output_tokens,difficulty\n0,1,1,0.75\n0,1,1,\n0,1,1,-2\n",
            &[
                Request {
                    difficulty: Some(0.75),
                    ..req(0, 1, 1)
                },
                req(0, 1, 1),
                Request {
                    difficulty: Some(-2.0),
                    ..req(0, 1, 1)
                },
            ],
        );
        for bad in ["hard", "NaN", "inf"] {
            check_err(
                format!("time_s,input_tokens,output_tokens,difficulty\n0,1,1,{bad}\n").as_bytes(),
                &format!("line 2, field `difficulty`: expected a finite number, got {bad:?}"),
            );
        }
    }

    #[test]
    fn hashes_accept_spaces_semicolons_and_runs_of_them() {
        check_ok(
            "time_s,input_tokens,output_tokens,prefix_hashes\n0,1,1, 18446744073709551615 ;; 0  9 \n",
            &[Request {
                prefix_hashes: vec![u64::MAX, 0, 9].into(),
                ..req(0, 1, 1)
            }],
        );
    }

    #[test]
    fn empty_inputs() {
        check_ok("", &[]);
        check_ok("time_s,input_tokens,output_tokens\n", &[]);
        check_ok("\r\n\r\n", &[]);
    }

    #[test]
    fn malformed_inputs_name_line_and_field() {
        let header = "time_s,input_tokens,output_tokens\n";
        let with = |rows: &str| format!("{header}{rows}");
        check_err(
            b"0,1,1\n",
            "line 1, field `0`: unknown column (is the header line missing or misspelt?); generic CSV columns: \
             time_s, input_tokens, output_tokens, model, adapter, priority_class, prefix_hashes, difficulty",
        );
        check_err(
            b"time_s,input_tokens,output_tokens,modle\n",
            "line 1, field `modle`: unknown column (is the header line missing or misspelt?); generic CSV columns: \
             time_s, input_tokens, output_tokens, model, adapter, priority_class, prefix_hashes, difficulty",
        );
        check_err(
            b"time_s,input_tokens,model\n",
            "line 1, field `output_tokens`: required column missing from the header; generic CSV requires: \
             time_s, input_tokens, output_tokens",
        );
        check_err(
            b"time_s,input_tokens,output_tokens,time_s\n",
            "line 1, field `time_s`: column appears twice in the header",
        );
        check_err(with("abc,1,1\n").as_bytes(), "line 2, field `time_s`: expected a time in seconds (a non-negative number), got \"abc\"");
        check_err(
            with("NaN,1,1\n").as_bytes(),
            "line 2, field `time_s`: time is NaN",
        );
        check_err(
            with("-1,1,1\n").as_bytes(),
            "line 2, field `time_s`: time must not be negative, got -1",
        );
        check_err(
            with("inf,1,1\n").as_bytes(),
            "line 2, field `time_s`: time must be finite",
        );
        check_err(
            with(",1,1\n").as_bytes(),
            "line 2, field `time_s`: expected a time in seconds (a non-negative number), got \"\"",
        );
        check_err(
            with("2,1,1\n\n1.5,1,1\n").as_bytes(),
            "line 4, field `time_s`: timestamp 1.500000 s is earlier than the previous one (2.000000 s)",
        );
        check_err(
            with("0,1,0\n").as_bytes(),
            "line 2, field `output_tokens`: token count must be at least 1, got 0",
        );
        check_err(with("0,20000000,1\n").as_bytes(), "line 2, field `input_tokens`: token count 20000000 is larger than the limit of 10000000");
        check_err(
            with("0,1\n").as_bytes(),
            "line 2, field `output_tokens`: missing field: the row has 2 fields, the header 3",
        );
        check_err(
            with("0,1,1,x\n").as_bytes(),
            "line 2, field `column 4`: extra field: the row has 4 fields, the header 3",
        );
        check_err(
            b"time_s,input_tokens,output_tokens,prefix_hashes\n0,1,1,1 2 -3\n",
            "line 2, field `prefix_hashes`: hash 3 is \"-3\", expected an unsigned integer (hashes are separated by spaces or `;`)",
        );
        check_err(
            b"time_s,input_tokens,output_tokens,model\n0,1,1,\xc3\x28\n",
            "line 2, field `model`: value is not valid UTF-8",
        );
        check_err(
            b"\x00\x01\xff\n\x02",
            "line 1, field `header`: column 1 of the header is not valid UTF-8",
        );
    }

    #[test]
    fn stops_after_the_first_error() {
        let got = read(b"time_s,input_tokens,output_tokens\n0,0,1\n1,1,1\n");
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn any_order_accepts_timestamps_going_backwards() {
        let input = b"time_s,input_tokens,output_tokens\n2,1,1\n1,2,2\n";
        let got: Vec<Request> = GenericCsvReader::new(&input[..])
            .any_order()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, [req(2_000_000_000, 1, 1), req(1_000_000_000, 2, 2)]);
    }

    #[test]
    fn reader_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&GenericCsvReader::new(std::io::empty()));
    }
}
