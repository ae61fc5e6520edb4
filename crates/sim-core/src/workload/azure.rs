//! Reader for the Azure LLM inference trace (Azure Public Dataset, 2023):
//! a CSV with header `TIMESTAMP,ContextTokens,GeneratedTokens`.
//!
//! `TIMESTAMP` is a naive civil date-time, `YYYY-MM-DD HH:MM:SS.fffffff`.
//! It is parsed into integer nanoseconds by hand (no float on the way), via a
//! day count, so that traces crossing midnight, a month or a leap day keep
//! exact gaps. The first record arrives at [`SimTime::ZERO`]; every later one
//! at its offset from the first.

use super::csv_input::{CsvInput, Schema};
use super::trace_reader::{RecordParser, TraceReader};
use super::{parse_token_count, WorkloadError};
use crate::request::Request;
use crate::time::{SimTime, NANOS_PER_SEC};
use std::fmt;
use std::io::Read;

/// The header of an Azure trace, in file order.
pub const COLUMNS: [&str; 3] = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"];

static SCHEMA: Schema = Schema {
    format: "Azure",
    known: &COLUMNS,
    required: &COLUMNS,
};

// Slots of `COLUMNS`.
const TIMESTAMP: usize = 0;
const CONTEXT_TOKENS: usize = 1;
const GENERATED_TOKENS: usize = 2;

/// Streams the requests of an Azure LLM inference trace; see [`TraceReader`]
/// for arrival order and errors.
///
/// An empty input yields no requests; a first line that is not the header is
/// an error. With [`TraceReader::any_order`], since the first record need not
/// be the earliest, arrivals are measured from 1970-01-01 00:00:00 rather
/// than from the first record: the caller shifts the sorted records so that
/// the earliest arrives at 0.
pub type AzureReader<R> = TraceReader<AzureParser<R>>;

/// Parses the records of an Azure trace, for an [`AzureReader`].
pub struct AzureParser<R> {
    input: CsvInput<R>,
    /// Absolute time of the first record, in nanoseconds since 1970-01-01.
    origin_ns: Option<i128>,
    previous: SimTime,
    /// [`TraceReader::any_order`]: arrivals are measured from the Unix epoch.
    from_epoch: bool,
}

impl<R> fmt::Debug for AzureParser<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureParser")
            .field("input", &self.input)
            .field("previous", &self.previous)
            .finish_non_exhaustive()
    }
}

impl<R: Read> AzureReader<R> {
    /// A reader over `reader`. Nothing is read until the first `next()`;
    /// `reader` need not be buffered.
    pub fn new(reader: R) -> Self {
        TraceReader::from_parser(AzureParser {
            input: CsvInput::new(reader, &SCHEMA),
            origin_ns: None,
            previous: SimTime::ZERO,
            from_epoch: false,
        })
    }
}

impl<R: Read> RecordParser for AzureParser<R> {
    const TIMESTAMP_FIELD: &'static str = COLUMNS[TIMESTAMP];

    fn next_record(&mut self) -> Result<Option<(u64, Request)>, WorkloadError> {
        let Some(row) = self.input.next_row()? else {
            return Ok(None);
        };
        let line = row.line;
        let absolute_ns = parse_timestamp(row.required(TIMESTAMP)?)
            .map_err(|message| WorkloadError::parse(line, COLUMNS[TIMESTAMP], message))?;
        let input_tokens =
            parse_token_count(line, COLUMNS[CONTEXT_TOKENS], row.required(CONTEXT_TOKENS)?)?;
        let output_tokens = parse_token_count(
            line,
            COLUMNS[GENERATED_TOKENS],
            row.required(GENERATED_TOKENS)?,
        )?;

        let origin_ns = if self.from_epoch {
            0
        } else {
            *self.origin_ns.get_or_insert(absolute_ns)
        };
        let offset_ns = absolute_ns - origin_ns;
        if offset_ns < 0 && self.from_epoch {
            return Err(WorkloadError::parse(
                line,
                COLUMNS[TIMESTAMP],
                "is before 1970, which cannot be sorted",
            ));
        }
        if offset_ns < 0 {
            // Earlier than the first record: not representable as a SimTime,
            // and out of order by definition.
            return Err(WorkloadError::OutOfOrder {
                line,
                field: COLUMNS[TIMESTAMP].to_string(),
                previous_s: self.previous.as_secs_f64(),
                current_s: offset_ns as f64 / NANOS_PER_SEC as f64,
            });
        }
        let arrival = u64::try_from(offset_ns).map(SimTime).map_err(|_| {
            WorkloadError::parse(
                line,
                COLUMNS[TIMESTAMP],
                "more than 584 years after the first record",
            )
        })?;
        // Should the reader reject this record as out of order, it stops
        // there: `previous` is not used again.
        self.previous = arrival;
        let request = Request::new(arrival, input_tokens, output_tokens);
        Ok(Some((line, request)))
    }

    /// Measures arrivals from the Unix epoch, see [`AzureReader`].
    fn any_order(&mut self) {
        self.from_epoch = true;
    }
}

/// Parses `YYYY-MM-DD HH:MM:SS[.f…]` (0 to 9 fractional digits; `T` is
/// accepted in place of the space) into nanoseconds since 1970-01-01 of the
/// proleptic Gregorian calendar. The error is a message for the user.
fn parse_timestamp(raw: &str) -> Result<i128, String> {
    let shape = || format!("expected a date-time `YYYY-MM-DD HH:MM:SS.fffffff`, got {raw:?}");
    let b = raw.as_bytes();
    // A fixed-size array: the constant indices below are checked at compile time.
    let (Some(date_time), rest) = (b.first_chunk::<19>(), b.get(19..).unwrap_or_default()) else {
        return Err(shape());
    };
    let separators_ok = date_time[4] == b'-'
        && date_time[7] == b'-'
        && matches!(date_time[10], b' ' | b'T')
        && date_time[13] == b':'
        && date_time[16] == b':';
    let number = |range: std::ops::Range<usize>| date_time.get(range).and_then(digits);
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second), true) = (
        number(0..4),
        number(5..7),
        number(8..10),
        number(11..13),
        number(14..16),
        number(17..19),
        separators_ok,
    ) else {
        return Err(shape());
    };
    let fraction_ns = match rest {
        [] => 0,
        [b'.', frac @ ..] if frac.len() > 9 => {
            return Err(format!(
                "more than 9 fractional digits (finer than a nanosecond) in {raw:?}"
            ))
        }
        [b'.', frac @ ..] => match digits(frac) {
            // Pad to nanoseconds: `.68` is 680,000,000 ns.
            Some(value) => value * 10u64.pow(9 - frac.len() as u32),
            None if frac.is_empty() => 0,
            None => return Err(shape()),
        },
        _ => return Err(shape()),
    };
    if !(1..=12).contains(&month) {
        return Err(format!("month {month} out of range 1..=12 in {raw:?}"));
    }
    let month_days = days_in_month(year, month);
    if day < 1 || day > month_days {
        return Err(format!(
            "day {day} does not exist in {year:04}-{month:02} (it has {month_days} days) in {raw:?}"
        ));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!(
            "time of day {hour:02}:{minute:02}:{second:02} out of range in {raw:?}"
        ));
    }
    let days = days_from_civil(year as i64, month, day);
    let seconds = i128::from(days) * 86_400 + i128::from(hour * 3_600 + minute * 60 + second);
    Ok(seconds * i128::from(NANOS_PER_SEC) + i128::from(fraction_ns))
}

/// The value of an all-ASCII-digit, non-empty field.
fn digits(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 19 {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

fn is_leap_year(year: u64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `year-month-day` (proleptic Gregorian), after
/// Howard Hinnant's `days_from_civil`: count from 0000-03-01 in 400-year eras
/// so that the leap day falls at the end of each counted year.
fn days_from_civil(year: i64, month: u64, day: u64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month as i64 + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &str) -> Vec<Result<Request, String>> {
        AzureReader::new(input.as_bytes())
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    /// Reads `input` and compares the arrivals (ns) and token counts, or the
    /// error message of the last item.
    fn check(input: &str, expect: Result<&[(u64, u32, u32)], &str>) {
        let got = read(input);
        match expect {
            Ok(rows) => {
                let got: Vec<_> = got
                    .into_iter()
                    .map(|r| r.map(|r| (r.arrival.0, r.input_tokens, r.output_tokens)))
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| panic!("{input:?}: unexpected error {e}"));
                assert_eq!(got, rows, "{input:?}");
            }
            Err(message) => match got.last() {
                Some(Err(e)) => assert_eq!(e, message, "{input:?}"),
                other => panic!("{input:?}: expected error {message:?}, got {other:?}"),
            },
        }
    }

    const HEADER: &str = "TIMESTAMP,ContextTokens,GeneratedTokens\n";

    fn with_header(rows: &str) -> String {
        format!("{HEADER}{rows}")
    }

    #[test]
    fn reads_rows_relative_to_the_first() {
        check(
            &with_header(
                "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n",
            ),
            Ok(&[(0, 374, 44), (4_314_579_000, 396, 109)]),
        );
        // CRLF, no final newline, blank lines, surrounding spaces.
        check(
            "TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46.5,1,2\r\n\r\n 2023-11-16 18:15:47 , 3 , 4 ",
            Ok(&[(0, 1, 2), (500_000_000, 3, 4)]),
        );
    }

    #[test]
    fn columns_may_come_in_any_order() {
        check(
            "GeneratedTokens,TIMESTAMP,ContextTokens\n5,2023-01-01 00:00:00,7\n",
            Ok(&[(0, 7, 5)]),
        );
    }

    #[test]
    fn crossing_midnight_month_and_leap_day() {
        check(
            &with_header("2023-12-31 23:59:59.9,1,1\n2024-01-01 00:00:00.1,1,1\n"),
            Ok(&[(0, 1, 1), (200_000_000, 1, 1)]),
        );
        check(
            &with_header("2024-02-28 12:00:00,1,1\n2024-03-01 12:00:00,1,1\n"),
            Ok(&[(0, 1, 1), (2 * 86_400 * NANOS_PER_SEC, 1, 1)]),
        );
        check(
            &with_header("2023-02-28 12:00:00,1,1\n2023-03-01 12:00:00,1,1\n"),
            Ok(&[(0, 1, 1), (86_400 * NANOS_PER_SEC, 1, 1)]),
        );
    }

    #[test]
    fn fractional_digits_are_exact() {
        check(
            &with_header("2023-11-16 18:15:46,1,1\n2023-11-16 18:15:46.123456789,1,1\n"),
            Ok(&[(0, 1, 1), (123_456_789, 1, 1)]),
        );
        check(
            &with_header("2023-11-16 18:15:46.,1,1\n2023-11-16 18:15:46.1,1,1\n"),
            Ok(&[(0, 1, 1), (100_000_000, 1, 1)]),
        );
    }

    #[test]
    fn empty_inputs() {
        check("", Ok(&[]));
        check(HEADER, Ok(&[]));
        check("\n\n", Ok(&[]));
    }

    #[test]
    fn malformed_inputs_name_line_and_field() {
        check(
            "2023-11-16 18:15:46.6805900,374,44\n",
            Err("line 1, field `2023-11-16 18:15:46.6805900`: unknown column (is the header line missing or misspelt?); Azure columns: TIMESTAMP, ContextTokens, GeneratedTokens"),
        );
        check(
            "TIMESTAMP,ContextTokens\n",
            Err("line 1, field `GeneratedTokens`: required column missing from the header; Azure requires: TIMESTAMP, ContextTokens, GeneratedTokens"),
        );
        check(
            "TIMESTAMP,ContextTokens,GeneratedTokens,Model\n",
            Err("line 1, field `Model`: unknown column (is the header line missing or misspelt?); Azure columns: TIMESTAMP, ContextTokens, GeneratedTokens"),
        );
        check(
            &with_header("2023-11-16 18:15:46,1,1\n2023/11/16 18:15:47,1,1\n"),
            Err("line 3, field `TIMESTAMP`: expected a date-time `YYYY-MM-DD HH:MM:SS.fffffff`, got \"2023/11/16 18:15:47\""),
        );
        check(
            &with_header("2023-11-16 18:15:46,1,1\n2023-11-16 18:15:45.9,1,1\n"),
            Err("line 3, field `TIMESTAMP`: timestamp -0.100000 s is earlier than the previous one (0.000000 s)"),
        );
        check(
            &with_header("2023-11-16 18:15:46,1,1\n2023-11-16 18:15:48,1,1\n2023-11-16 18:15:47,1,1\n"),
            Err("line 4, field `TIMESTAMP`: timestamp 1.000000 s is earlier than the previous one (2.000000 s)"),
        );
        check(
            &with_header("2023-11-16 18:15:46,1,0\n"),
            Err("line 2, field `GeneratedTokens`: token count must be at least 1, got 0"),
        );
        check(
            &with_header("2023-11-16 18:15:46,-3,1\n"),
            Err("line 2, field `ContextTokens`: token count must be at least 1, got -3"),
        );
        check(
            &with_header("2023-11-16 18:15:46,12.5,1\n"),
            Err("line 2, field `ContextTokens`: expected a positive integer token count, got \"12.5\""),
        );
        check(
            &with_header("2023-11-16 18:15:46,1\n"),
            Err("line 2, field `GeneratedTokens`: missing field: the row has 2 fields, the header 3"),
        );
        check(
            &with_header("\n2023-11-16 18:15:46,1,1,9\n"),
            Err("line 3, field `column 4`: extra field: the row has 4 fields, the header 3"),
        );
        check(
            &with_header("2023-13-16 18:15:46,1,1\n"),
            Err("line 2, field `TIMESTAMP`: month 13 out of range 1..=12 in \"2023-13-16 18:15:46\""),
        );
        check(
            &with_header("2023-02-29 18:15:46,1,1\n"),
            Err("line 2, field `TIMESTAMP`: day 29 does not exist in 2023-02 (it has 28 days) in \"2023-02-29 18:15:46\""),
        );
        check(
            &with_header("2023-11-16 24:00:00,1,1\n"),
            Err("line 2, field `TIMESTAMP`: time of day 24:00:00 out of range in \"2023-11-16 24:00:00\""),
        );
        check(
            &with_header("2023-11-16 18:15:46.1234567891,1,1\n"),
            Err("line 2, field `TIMESTAMP`: more than 9 fractional digits (finer than a nanosecond) in \"2023-11-16 18:15:46.1234567891\""),
        );
        check(
            &with_header("2023-11-16 18:15:46.12a,1,1\n"),
            Err("line 2, field `TIMESTAMP`: expected a date-time `YYYY-MM-DD HH:MM:SS.fffffff`, got \"2023-11-16 18:15:46.12a\""),
        );
        check(
            &with_header("2023-11-16 18:15:46,1,1\n1970-01-01 00:00:00,1,1\n"),
            Err("line 3, field `TIMESTAMP`: timestamp -1700158546.000000 s is earlier than the previous one (0.000000 s)"),
        );
    }

    #[test]
    fn any_order_measures_from_the_epoch() {
        let input = with_header("2023-11-16 18:15:46,1,1\n2023-11-16 18:15:45.5,2,2\n");
        let got: Vec<(u64, u32)> = AzureReader::new(input.as_bytes())
            .any_order()
            .map(|r| r.map(|r| (r.arrival.as_nanos(), r.input_tokens)).unwrap())
            .collect();
        let first = 1_700_158_546 * NANOS_PER_SEC;
        assert_eq!(got, [(first, 1), (first - NANOS_PER_SEC / 2, 2)]);
        let before_1970 = with_header("1969-12-31 23:59:59,1,1\n");
        let err = AzureReader::new(before_1970.as_bytes())
            .any_order()
            .last()
            .unwrap()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "line 2, field `TIMESTAMP`: is before 1970, which cannot be sorted"
        );
    }

    #[test]
    fn non_utf8_garbage_is_an_error_not_a_panic() {
        let input: &[u8] = b"TIMESTAMP,ContextTokens,GeneratedTokens\n\xff\xfe\x00garbage,\x80,1\n";
        let got: Vec<_> = AzureReader::new(input)
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        assert_eq!(
            got,
            [Err(
                "line 2, field `TIMESTAMP`: value is not valid UTF-8".to_string()
            )]
        );
        let got: Vec<_> = AzureReader::new(&b"\xff\xfe\x00\x01"[..])
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        assert_eq!(
            got,
            [Err(
                "line 1, field `header`: column 1 of the header is not valid UTF-8".to_string()
            )]
        );
    }

    #[test]
    fn stops_after_the_first_error() {
        let got = read(&with_header(
            "2023-11-16 18:15:46,0,1\n2023-11-16 18:15:47,1,1\n",
        ));
        assert_eq!(got.len(), 1);
        assert!(got[0].is_err());
    }

    #[test]
    fn reader_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&AzureReader::new(std::io::empty()));
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2023, 11, 16), 19_677);
        assert_eq!(days_from_civil(0, 1, 1), -719_528);
    }
}
