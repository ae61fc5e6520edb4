//! Reading a ServeGen client-windows CSV into a [`ServeGenProfile`]: every
//! row in full, or (for a run over a span of the trace) in full only the
//! rows whose window starts in the span, the key columns of the others.

use super::{
    IatDist, ServeGenClient, ServeGenProfile, ServeGenWindow, WorkloadError, WINDOW_NS, WINDOW_S,
};
use crate::time::{SimDuration, SimTime};
use crate::workload::synthetic::MAX_RATE_PER_S;
use std::collections::BTreeMap;
use std::io::Read;

/// The columns the reader needs, in the order of [`Columns`].
const REQUIRED: [&str; 6] = [
    "client_id",
    "window_start_s",
    "rate_rps",
    "iat_dist",
    "dist_shape",
    "dist_scale",
];

/// Column positions in a record.
struct Columns {
    client_id: usize,
    window_start_s: usize,
    rate_rps: usize,
    iat_dist: usize,
    dist_shape: usize,
    dist_scale: usize,
    iat_cv: Option<usize>,
}

impl ServeGenProfile {
    /// Parses a ServeGen client-windows CSV (header required; columns found
    /// by name, `iat_cv` optional and only checked).
    ///
    /// Errors carry the 1-based line (the header is line 1) and the column:
    /// non-numeric values, negative or non-finite rates, rates above
    /// [`MAX_RATE_PER_S`], an unknown `iat_dist`, `dist_shape`/`dist_scale`
    /// ≤ 0 when a distribution is given, and a client's windows out of time
    /// order or less than 600 s apart.
    pub fn from_reader<R: Read>(reader: R) -> Result<Self, WorkloadError> {
        Self::read(reader, &WindowSpan::ALL)
    }

    /// Parses only what a run over `span` needs: rows whose window starts
    /// inside it are read and checked in full, exactly as by
    /// [`Self::from_reader`]; of every other row only `client_id` and
    /// `window_start_s` are parsed (with the same errors) and the client's
    /// time order is checked. The rate, `iat_cv` and distribution columns
    /// of rows outside the span are **not validated**: a malformed value
    /// there is not reported (read the file with [`Self::from_reader`],
    /// or run over its whole span, to check every row). The result holds
    /// every client and the windows (and [`Self::total_rates`]) in `span`,
    /// which is all [`super::ServeGenWorkload`] reads for a configuration whose
    /// [`super::ServeGenConfig::span`] is `span`.
    pub fn from_reader_in<R: Read>(reader: R, span: &WindowSpan) -> Result<Self, WorkloadError> {
        Self::read(reader, span)
    }

    fn read<R: Read>(reader: R, span: &WindowSpan) -> Result<Self, WorkloadError> {
        // Fields are trimmed when read (`key_field`, `to_string_record`):
        // rows outside the span only have their key trimmed.
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::Headers)
            .from_reader(reader);
        let headers = csv.headers().map_err(csv_error)?.clone();
        let find = |name: &str| headers.iter().position(|h| h == name);
        let mut positions = [0usize; 6];
        for (slot, name) in positions.iter_mut().zip(REQUIRED) {
            *slot = find(name)
                .ok_or_else(|| WorkloadError::parse(1, name, "missing column in the header"))?;
        }
        let [client_id, window_start_s, rate_rps, iat_dist, dist_shape, dist_scale] = positions;
        let cols = Columns {
            client_id,
            window_start_s,
            rate_rps,
            iat_dist,
            dist_shape,
            dist_scale,
            iat_cv: find("iat_cv"),
        };

        // BTreeMaps keep the result independent of row order and sorted.
        let mut clients: BTreeMap<u64, (Option<SimTime>, Vec<ServeGenWindow>)> = BTreeMap::new();
        let mut totals: BTreeMap<SimTime, f64> = BTreeMap::new();
        let mut bytes = csv::ByteRecord::new();
        let mut record = csv::StringRecord::new();
        while csv.read_byte_record(&mut bytes).map_err(csv_error)? {
            let line = bytes.position().map_or(0, csv::Position::line);
            // The key columns first: they decide whether the row is needed.
            let (id, start) = match parse_key(&bytes, &cols, line) {
                Ok(key) => key,
                // Reading the row as text reports what reading it as text
                // always did (invalid UTF-8) before the field's error.
                Err(e) => {
                    to_string_record(&bytes, &mut record)?;
                    return Err(e);
                }
            };
            let row = if span.contains(start.as_nanos()) {
                to_string_record(&bytes, &mut record)?;
                Some(parse_row(&record, &cols, line, start)?)
            } else {
                None
            };
            let (last, windows) = clients.entry(id).or_default();
            if let Some(prev) = *last {
                if start.as_nanos() < prev.as_nanos().saturating_add(WINDOW_NS) {
                    return Err(WorkloadError::parse(
                        line,
                        "window_start_s",
                        format!(
                            "client {id}'s windows must be in time order and at least {WINDOW_S} s apart; {} s follows {} s",
                            start.as_secs_f64(),
                            prev.as_secs_f64()
                        ),
                    ));
                }
            }
            *last = Some(start);
            let Some(row) = row else { continue };
            *totals.entry(row.start).or_insert(0.0) += row.rate_rps;
            if row.rate_rps > 0.0 {
                windows.push(ServeGenWindow {
                    start: row.start,
                    rate_rps: row.rate_rps,
                    dist: row.dist,
                });
            }
        }
        Ok(ServeGenProfile {
            clients: clients
                .into_iter()
                .map(|(client_id, (_, windows))| ServeGenClient { client_id, windows })
                .collect(),
            totals: totals.into_iter().collect(),
        })
    }

    /// Every client in the file (idle ones included), sorted by id.
    pub fn clients(&self) -> &[ServeGenClient] {
        &self.clients
    }

    /// Every window start listed in the file, sorted, with the sum of
    /// `rate_rps` over all clients (requests/s).
    pub fn total_rates(&self) -> &[(SimTime, f64)] {
        &self.totals
    }
}

/// The columns of a row after its key (`client_id`, `window_start_s`).
struct Row {
    start: SimTime,
    rate_rps: f64,
    dist: IatDist,
}

/// The window selection of a run, ns on the trace's clock: windows that
/// start in `[start_ns, end_ns)` (no end: to the end of the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WindowSpan {
    /// First instant kept, ns.
    pub start_ns: u64,
    /// First instant no longer kept, ns; `None`: no end.
    pub end_ns: Option<u64>,
}

impl WindowSpan {
    /// Every window.
    pub const ALL: WindowSpan = WindowSpan {
        start_ns: 0,
        end_ns: None,
    };

    /// Whether a window starting at `start` (ns) is in the span.
    pub fn contains(&self, start: u64) -> bool {
        start >= self.start_ns && self.end_ns.is_none_or(|end| start < end)
    }
}

/// `bytes` as text, trimmed (Unicode whitespace, as a text record is), or
/// the error reading the row as text gives (the csv crate's message for
/// invalid UTF-8).
fn to_string_record(
    bytes: &csv::ByteRecord,
    record: &mut csv::StringRecord,
) -> Result<(), WorkloadError> {
    match csv::StringRecord::from_byte_record(bytes.clone()) {
        Ok(r) => {
            *record = r;
            record.trim();
            Ok(())
        }
        Err(_) => {
            // The error of the trimmed row, as the csv reader trimming
            // every field reported it (byte indexes within the field).
            let mut trimmed = bytes.clone();
            trimmed.trim();
            let e = match csv::StringRecord::from_byte_record(trimmed) {
                Err(e) => e,
                Ok(r) => {
                    *record = r;
                    record.trim();
                    return Ok(());
                }
            };
            let pos = bytes.position();
            let line = pos.map_or(0, csv::Position::line);
            let err = e.utf8_error();
            let message = match pos {
                Some(pos) => format!(
                    "CSV parse error: record {} (line {}, field: {}, byte: {}): {err}",
                    pos.record(),
                    pos.line(),
                    err.field(),
                    pos.byte(),
                ),
                None => format!("CSV parse error: field {}: {err}", err.field()),
            };
            Err(WorkloadError::parse(line, "record", message))
        }
    }
}

/// A key field as text: trimmed as a text record is (Unicode
/// whitespace); `None` if it is not UTF-8.
fn key_field(bytes: &csv::ByteRecord, i: usize) -> Option<&str> {
    std::str::from_utf8(bytes.get(i).unwrap_or(b""))
        .ok()
        .map(str::trim)
}

/// A string of at most 15 ASCII digits as an integer: exact as an `f64`
/// too, so the fast path gives what `str::parse::<f64>` gives.
fn small_integer(raw: &str) -> Option<u64> {
    if raw.is_empty() || raw.len() > 15 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(raw.bytes().fold(0, |n, b| n * 10 + u64::from(b - b'0')))
}

/// `client_id` and the window start of a row, with the errors
/// [`parse_row`] gives for them. `Err` with an unreadable (non-UTF-8) key
/// field is replaced by the caller with the row's UTF-8 error.
fn parse_key(
    bytes: &csv::ByteRecord,
    cols: &Columns,
    line: u64,
) -> Result<(u64, SimTime), WorkloadError> {
    let not_text = |field: &str| WorkloadError::parse(line, field, "not UTF-8");
    let raw_id = key_field(bytes, cols.client_id).ok_or_else(|| not_text("client_id"))?;
    let client_id = parse_client_id(line, raw_id)?;
    let raw_start =
        key_field(bytes, cols.window_start_s).ok_or_else(|| not_text("window_start_s"))?;
    let start = match small_integer(raw_start) {
        Some(s) => window_start(line, s as f64)?,
        None => window_start(line, parse_number(line, "window_start_s", raw_start)?)?,
    };
    Ok((client_id, start))
}

fn parse_client_id(line: u64, raw_id: &str) -> Result<u64, WorkloadError> {
    if let Some(id) = small_integer(raw_id) {
        return Ok(id);
    }
    raw_id.parse().map_err(|_| {
        WorkloadError::parse(
            line,
            "client_id",
            format!("expected a non-negative integer, got {raw_id:?}"),
        )
    })
}

fn window_start(line: u64, start_s: f64) -> Result<SimTime, WorkloadError> {
    let start = SimDuration::try_from_secs_f64(start_s).ok_or_else(|| {
        WorkloadError::parse(
            line,
            "window_start_s",
            format!("must be a time of at least 0 s that fits the clock, got {start_s}"),
        )
    })?;
    Ok(SimTime(start.as_nanos()))
}

/// The rest of a row whose key [`parse_key`] has read (the window starts at
/// `start`), with the errors the columns after the key give.
fn parse_row(
    record: &csv::StringRecord,
    cols: &Columns,
    line: u64,
    start: SimTime,
) -> Result<Row, WorkloadError> {
    let get = |i: usize| record.get(i).unwrap_or("");
    let rate_rps = parse_number(line, "rate_rps", get(cols.rate_rps))?;
    if !(0.0..=MAX_RATE_PER_S).contains(&rate_rps) {
        return Err(WorkloadError::parse(
            line,
            "rate_rps",
            format!("must be between 0 and {MAX_RATE_PER_S} requests/s, got {rate_rps}"),
        ));
    }
    if let Some(i) = cols.iat_cv {
        let raw = get(i);
        if !raw.is_empty() {
            let cv = parse_number(line, "iat_cv", raw)?;
            if cv < 0.0 {
                return Err(WorkloadError::parse(
                    line,
                    "iat_cv",
                    format!("must be at least 0, got {cv}"),
                ));
            }
        }
    }
    let name = get(cols.iat_dist);
    let shape_scale = || -> Result<(f64, f64), WorkloadError> {
        let shape = parse_number(line, "dist_shape", get(cols.dist_shape))?;
        let scale = parse_number(line, "dist_scale", get(cols.dist_scale))?;
        for (field, v) in [("dist_shape", shape), ("dist_scale", scale)] {
            if v <= 0.0 {
                return Err(WorkloadError::parse(
                    line,
                    field,
                    format!("must be greater than 0 when iat_dist is {name}, got {v}"),
                ));
            }
        }
        Ok((shape, scale))
    };
    let dist = if name.is_empty() {
        // Idle rows carry zeros here; still reject garbage.
        for (field, i) in [
            ("dist_shape", cols.dist_shape),
            ("dist_scale", cols.dist_scale),
        ] {
            if !get(i).is_empty() {
                parse_number(line, field, get(i))?;
            }
        }
        IatDist::Exponential
    } else if name.eq_ignore_ascii_case("gamma") {
        let (shape, scale) = shape_scale()?;
        IatDist::Gamma { shape, scale }
    } else if name.eq_ignore_ascii_case("weibull") {
        let (shape, scale) = shape_scale()?;
        IatDist::Weibull { shape, scale }
    } else {
        return Err(WorkloadError::parse(
            line,
            "iat_dist",
            format!("unknown distribution {name:?}; expected Gamma, Weibull or empty"),
        ));
    };
    Ok(Row {
        start,
        rate_rps,
        dist,
    })
}

/// A finite number.
fn parse_number(line: u64, field: &str, raw: &str) -> Result<f64, WorkloadError> {
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(WorkloadError::parse(
            line,
            field,
            format!("expected a finite number, got {raw:?}"),
        )),
    }
}

fn csv_error(e: csv::Error) -> WorkloadError {
    let line = e.position().map(csv::Position::line);
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => WorkloadError::Io { line, source },
        _ => WorkloadError::parse(line.unwrap_or(0), "record", message),
    }
}
