//! Reader for the BurstGPT trace (HPMLL/BurstGPT): a CSV with header
//! `Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`.
//!
//! `Timestamp` is seconds from the trace start (a decimal number, kept as is:
//! the first request need not arrive at 0); `Model` names the target model
//! (e.g. `ChatGPT`, `GPT-4`) and becomes [`Request::model`]. `Total tokens`
//! and `Log Type` are optional: they are checked for shape but not used.
//!
//! The real data has rows with 0 response tokens (failed requests). Like
//! every reader, this one rejects a zero token count with an error naming
//! line and column; drop those rows before replaying the trace.

use super::csv_input::{parse_seconds, CsvInput, Schema};
use super::trace_reader::{RecordParser, TraceReader};
use super::{parse_token_count, WorkloadError};
use crate::request::Request;
use std::fmt;
use std::io::Read;

/// The header of a BurstGPT trace, in file order.
pub const COLUMNS: [&str; 6] = [
    "Timestamp",
    "Model",
    "Request tokens",
    "Response tokens",
    "Total tokens",
    "Log Type",
];

/// The columns a BurstGPT trace must have.
pub const REQUIRED_COLUMNS: [&str; 4] = ["Timestamp", "Model", "Request tokens", "Response tokens"];

static SCHEMA: Schema = Schema {
    format: "BurstGPT",
    known: &COLUMNS,
    required: &REQUIRED_COLUMNS,
};

// Slots of `COLUMNS`.
const TIMESTAMP: usize = 0;
const MODEL: usize = 1;
const REQUEST_TOKENS: usize = 2;
const RESPONSE_TOKENS: usize = 3;
const TOTAL_TOKENS: usize = 4;

/// Streams the requests of a BurstGPT trace; see [`TraceReader`] for arrival
/// order and errors. An empty input yields no requests; a first line that is
/// not the header is an error.
pub type BurstGptReader<R> = TraceReader<BurstGptParser<R>>;

/// Parses the records of a BurstGPT trace, for a [`BurstGptReader`].
pub struct BurstGptParser<R> {
    input: CsvInput<R>,
}

impl<R> fmt::Debug for BurstGptParser<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BurstGptParser")
            .field("input", &self.input)
            .finish()
    }
}

impl<R: Read> BurstGptReader<R> {
    /// A reader over `reader`. Nothing is read until the first `next()`;
    /// `reader` need not be buffered.
    pub fn new(reader: R) -> Self {
        TraceReader::from_parser(BurstGptParser {
            input: CsvInput::new(reader, &SCHEMA),
        })
    }
}

impl<R: Read> RecordParser for BurstGptParser<R> {
    const TIMESTAMP_FIELD: &'static str = COLUMNS[TIMESTAMP];

    fn next_record(&mut self) -> Result<Option<(u64, Request)>, WorkloadError> {
        let Some(row) = self.input.next_row()? else {
            return Ok(None);
        };
        let line = row.line;
        let arrival = parse_seconds(line, COLUMNS[TIMESTAMP], row.required(TIMESTAMP)?)?;
        let model = row.optional(MODEL)?.map(Box::from);
        let input_tokens =
            parse_token_count(line, COLUMNS[REQUEST_TOKENS], row.required(REQUEST_TOKENS)?)?;
        let output_tokens = parse_token_count(
            line,
            COLUMNS[RESPONSE_TOKENS],
            row.required(RESPONSE_TOKENS)?,
        )?;
        if let Some(total) = row.optional(TOTAL_TOKENS)? {
            // Not used, but a non-number here means the columns are shifted.
            if total.parse::<u64>().is_err() {
                return Err(WorkloadError::parse(
                    line,
                    COLUMNS[TOTAL_TOKENS],
                    format!("expected a non-negative integer, got {total:?}"),
                ));
            }
        }
        let request = Request {
            model,
            ..Request::new(arrival, input_tokens, output_tokens)
        };
        Ok(Some((line, request)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;
    use crate::workload::trace_reader::testing;

    const HEADER: &str = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n";

    fn check_ok(input: &str, expect: &[Request]) {
        testing::check_ok(BurstGptReader::new(input.as_bytes()), input, expect);
    }

    fn check_err(input: &[u8], expect: &str) {
        testing::check_err(BurstGptReader::new(input), input, expect);
    }

    fn req(ns: u64, model: &str, input: u32, output: u32) -> Request {
        Request {
            model: Some(model.into()),
            ..Request::new(SimTime(ns), input, output)
        }
    }

    #[test]
    fn reads_rows_with_models() {
        check_ok(
            &format!("{HEADER}5,ChatGPT,472,18,490,Conversation log\n45,GPT-4,1087,230,1317,API log\n45.5,ChatGPT,10,1,11,API log\n"),
            &[
                req(5_000_000_000, "ChatGPT", 472, 18),
                req(45_000_000_000, "GPT-4", 1087, 230),
                req(45_500_000_000, "ChatGPT", 10, 1),
            ],
        );
    }

    #[test]
    fn optional_columns_may_be_absent() {
        check_ok(
            "Timestamp,Model,Request tokens,Response tokens\r\n0,ChatGPT,1,2\r\n",
            &[req(0, "ChatGPT", 1, 2)],
        );
        check_ok(
            &format!("{HEADER}0,,1,2,,\n"),
            &[Request::new(SimTime(0), 1, 2)],
        );
    }

    #[test]
    fn empty_inputs() {
        check_ok("", &[]);
        check_ok(HEADER, &[]);
    }

    #[test]
    fn malformed_inputs_name_line_and_field() {
        let with = |rows: &str| format!("{HEADER}{rows}");
        check_err(
            with("5,ChatGPT,472,0,472,Conversation log\n").as_bytes(),
            "line 2, field `Response tokens`: token count must be at least 1, got 0",
        );
        check_err(
            with("5,ChatGPT,0,10,10,Conversation log\n").as_bytes(),
            "line 2, field `Request tokens`: token count must be at least 1, got 0",
        );
        check_err(
            with("5,ChatGPT,1,1,2,API log\n4.9,ChatGPT,1,1,2,API log\n").as_bytes(),
            "line 3, field `Timestamp`: timestamp 4.900000 s is earlier than the previous one (5.000000 s)",
        );
        check_err(
            with("soon,ChatGPT,1,1,2,API log\n").as_bytes(),
            "line 2, field `Timestamp`: expected a time in seconds (a non-negative number), got \"soon\"",
        );
        check_err(
            with("-5,ChatGPT,1,1,2,API log\n").as_bytes(),
            "line 2, field `Timestamp`: time must not be negative, got -5",
        );
        check_err(
            with("5,ChatGPT,1,1,API log\n").as_bytes(),
            "line 2, field `Log Type`: missing field: the row has 5 fields, the header 6",
        );
        check_err(
            with("5,ChatGPT,1,1,2,API log,x\n").as_bytes(),
            "line 2, field `column 7`: extra field: the row has 7 fields, the header 6",
        );
        check_err(
            with("5,ChatGPT,1,1,API log,2\n").as_bytes(),
            "line 2, field `Total tokens`: expected a non-negative integer, got \"API log\"",
        );
        check_err(
            b"5,ChatGPT,1,1,2,API log\n",
            "line 1, field `5`: unknown column (is the header line missing or misspelt?); BurstGPT columns: \
             Timestamp, Model, Request tokens, Response tokens, Total tokens, Log Type",
        );
        check_err(
            b"Timestamp,Model,Request tokens\n",
            "line 1, field `Response tokens`: required column missing from the header; BurstGPT requires: \
             Timestamp, Model, Request tokens, Response tokens",
        );
        check_err(
            &[HEADER.as_bytes(), b"5,\xff\xfe,1,1,2,x\n"].concat(),
            "line 2, field `Model`: value is not valid UTF-8",
        );
    }

    #[test]
    fn reader_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&BurstGptReader::new(std::io::empty()));
    }
}
