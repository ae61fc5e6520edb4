//! Workloads: where requests come from.
//!
//! A workload is an iterator of `Result<Request, WorkloadError>` in arrival
//! order. The engine pulls one request at a time (lazy arrivals), so a trace
//! of any length costs memory for the requests in flight only.
//!
//! Sources, one file each: trace readers ([`azure`], [`mooncake`],
//! [`burstgpt`], [`generic_csv`], built on [`trace_reader`]), the ServeGen
//! rate-window generator ([`servegen`]), synthetic arrival processes
//! ([`synthetic`]) with token length distributions ([`lengths`]);
//! [`transforms`] rescale, slice and loop any of them; [`detect`] recognises
//! a trace file's format from its contents; [`stats`] summarises a workload.

pub mod azure;
pub mod burstgpt;
pub(crate) mod csv_input;
pub mod detect;
pub mod generic_csv;
pub mod lengths;
pub mod mooncake;
pub mod servegen;
pub mod stats;
pub mod synthetic;
pub mod trace_reader;
pub mod transforms;

use crate::request::Request;
use crate::time::SimTime;
use std::fmt;

/// Anything that yields requests in arrival order.
pub trait Workload: Iterator<Item = Result<Request, WorkloadError>> {}
impl<T: Iterator<Item = Result<Request, WorkloadError>>> Workload for T {}

/// A boxed workload, as the engine holds it.
pub type BoxedWorkload = Box<dyn Workload + Send>;

/// The largest token count a single request may carry. Longer prompts exist
/// nowhere in practice; a larger value in a trace is a corrupted row.
pub const MAX_TOKENS_PER_REQUEST: u64 = 10_000_000;

/// Why a workload could not produce its next request.
#[derive(Debug)]
#[non_exhaustive]
pub enum WorkloadError {
    /// A record of a trace file is malformed: a missing column, a value of
    /// the wrong type, or a value out of range. `line` is 1-based and counts
    /// the header.
    Parse {
        /// 1-based line number in the file.
        line: u64,
        /// The column or JSON key at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A timestamp is earlier than the one before it (a trace must be sorted
    /// unless the scenario asks for sorting). The message states the fact
    /// only: how to ask for sorting is the front end's to say.
    OutOfOrder {
        /// 1-based line number of the offending record.
        line: u64,
        /// The timestamp column.
        field: String,
        /// Arrival of the previous record, seconds from trace start.
        previous_s: f64,
        /// Arrival of this record, seconds from trace start.
        current_s: f64,
    },
    /// A parameter of a synthetic workload or transform is invalid.
    InvalidParameter {
        /// Dotted name of the parameter, e.g. `arrival.rate_per_s`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// Reading the underlying stream failed.
    Io {
        /// 1-based line number reached, if known.
        line: Option<u64>,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkloadError::Parse { line, field, message } => {
                write!(f, "line {line}, field `{field}`: {message}")
            }
            WorkloadError::OutOfOrder { line, field, previous_s, current_s } => write!(
                f,
                "line {line}, field `{field}`: timestamp {current_s:.6} s is earlier than the previous one ({previous_s:.6} s)"
            ),
            WorkloadError::InvalidParameter { field, message } => write!(f, "field `{field}`: {message}"),
            WorkloadError::Io { line: Some(line), source } => write!(f, "line {line}: read error: {source}"),
            WorkloadError::Io { line: None, source } => write!(f, "read error: {source}"),
        }
    }
}

impl std::error::Error for WorkloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WorkloadError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl WorkloadError {
    /// Shorthand for a [`WorkloadError::Parse`].
    pub fn parse(line: u64, field: &str, message: impl Into<String>) -> Self {
        WorkloadError::Parse {
            line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Shorthand for a [`WorkloadError::InvalidParameter`].
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        WorkloadError::InvalidParameter {
            field: field.to_string(),
            message: crate::field::compact_numbers(&message.into()),
        }
    }
}

/// Checks a token count read from a trace: a positive integer no larger than
/// [`MAX_TOKENS_PER_REQUEST`].
pub fn parse_token_count(line: u64, field: &str, raw: &str) -> Result<u32, WorkloadError> {
    let trimmed = raw.trim();
    let value: i128 = trimmed.parse().map_err(|_| {
        WorkloadError::parse(
            line,
            field,
            format!("expected a positive integer token count, got {trimmed:?}"),
        )
    })?;
    check_token_count(line, field, value)
}

/// Range check shared by every reader: zero, negative and absurd counts are errors.
pub fn check_token_count(line: u64, field: &str, value: i128) -> Result<u32, WorkloadError> {
    if value <= 0 {
        return Err(WorkloadError::parse(
            line,
            field,
            format!("token count must be at least 1, got {value}"),
        ));
    }
    if value > i128::from(MAX_TOKENS_PER_REQUEST) {
        return Err(WorkloadError::parse(
            line,
            field,
            format!("token count {value} is larger than the limit of {MAX_TOKENS_PER_REQUEST}"),
        ));
    }
    Ok(value as u32)
}

/// Enforces arrival order across the records of one trace.
#[derive(Debug, Default)]
pub struct ArrivalOrder {
    previous: Option<SimTime>,
    /// Accept any order (the caller sorts the records).
    any: bool,
}

impl ArrivalOrder {
    /// An order that accepts every arrival, for readers whose records the
    /// caller sorts.
    pub fn any() -> Self {
        ArrivalOrder {
            previous: None,
            any: true,
        }
    }

    /// Accepts `arrival` if it is not earlier than the previous one.
    pub fn check(&mut self, line: u64, field: &str, arrival: SimTime) -> Result<(), WorkloadError> {
        if self.any {
            return Ok(());
        }
        if let Some(previous) = self.previous {
            if arrival < previous {
                return Err(WorkloadError::OutOfOrder {
                    line,
                    field: field.to_string(),
                    previous_s: previous.as_secs_f64(),
                    current_s: arrival.as_secs_f64(),
                });
            }
        }
        self.previous = Some(arrival);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_tokens(raw: &str, expect: Result<u32, &str>) {
        let got = parse_token_count(3, "ContextTokens", raw).map_err(|e| e.to_string());
        match (got, expect) {
            (Ok(g), Ok(e)) => assert_eq!(g, e),
            (Err(g), Err(e)) => assert!(g.contains(e), "{g:?} should contain {e:?}"),
            (g, e) => panic!("{raw:?}: got {g:?}, expected {e:?}"),
        }
    }

    #[test]
    fn token_counts() {
        check_tokens("12", Ok(12));
        check_tokens(" 7 ", Ok(7));
        check_tokens(
            "0",
            Err("line 3, field `ContextTokens`: token count must be at least 1, got 0"),
        );
        check_tokens("-5", Err("at least 1, got -5"));
        check_tokens("1e3", Err("expected a positive integer"));
        check_tokens("99999999999", Err("larger than the limit"));
        check_tokens("", Err("expected a positive integer"));
    }

    #[test]
    fn arrival_order_rejects_going_backwards() {
        let mut order = ArrivalOrder::default();
        order.check(2, "ts", SimTime(5)).unwrap();
        order.check(3, "ts", SimTime(5)).unwrap();
        let err = order.check(4, "ts", SimTime(4)).unwrap_err().to_string();
        assert!(err.starts_with("line 4, field `ts`: timestamp"), "{err}");
        let mut any = ArrivalOrder::any();
        any.check(2, "ts", SimTime(5)).unwrap();
        any.check(3, "ts", SimTime(4)).unwrap();
    }
}
