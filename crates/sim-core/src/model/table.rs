//! A measured performance profile: step times read from a CSV table and
//! interpolated linearly.
//!
//! Columns (header required, any order):
//!
//! | column | meaning |
//! |---|---|
//! | `phase` | `decode` or `prefill` |
//! | `batch_size` | decode: sequences in the batch; prefill: leave empty |
//! | `tokens` | decode: total context tokens of the batch; prefill: prompt tokens computed in the step |
//! | `step_ms` | measured iteration time, ms |
//!
//! Decode time is interpolated linearly in total context within each
//! measured batch size (flat below the first point, extended along the last
//! segment above the last), then linearly between the two nearest measured
//! batch sizes (extrapolated from the last two above the largest). Each
//! batch size's times must not decrease with context, so the result is a
//! valid [`DecodeCurve`]. Prefill time is interpolated over the chunk's
//! tokens (proportional below the first point, extended above the last). A
//! mixed step costs the decode time of its decoding sequences plus the
//! prefill time of all its chunk tokens together; prompt context already in
//! the cache is not charged, a simplification over the roofline. With
//! [`MixedSteps::Merged`] a mixed step instead runs its decoding sequences
//! through the prefill time as extra tokens (the weights are read and the
//! fixed costs paid once) and adds only the context-dependent part of their
//! decode time: `prefill(chunk tokens + d) + decode(d, C) − decode(d, 0)`.
//!
//! Lines whose first non-blank character is `#` are comments, anywhere in
//! the file; their text is kept as the table's notes
//! ([`MeasuredTable::notes`]), which is where a converter records where the
//! times came from. Comment lines still count for error line numbers.
//!
//! Beyond the measured range a table extrapolates as described above.
//! [`TableWithFallback`] instead hands every step that lies outside it (a
//! decode batch larger than the largest measured batch size, or a step
//! whose prefill tokens exceed the largest measured prefill row) to another
//! model, typically the roofline.

use super::perf::{CurvePiece, DecodeCurve, PerfModel, PrefillChunk, CURVE_FRACTION_BITS};
use crate::time::SimDuration;
use crate::workload::csv_input::{CsvInput, Schema};
use crate::workload::WorkloadError;
use std::fmt;
use std::io::Read;
use std::sync::Arc;

/// A malformed profile table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableError {
    /// 1-based line (the header is line 1), if the problem is on one line.
    pub line: Option<u64>,
    /// The column at fault, if any.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}, ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for TableError {}

/// Points `(x, y)` sorted by x, with linear interpolation.
#[derive(Clone, Debug, PartialEq)]
struct Polyline {
    points: Vec<(f64, f64)>,
}

impl Polyline {
    /// Value at `x`: flat below the first point, along the last segment above the last.
    fn at(&self, x: f64) -> f64 {
        let p = &self.points;
        if p.len() == 1 || x <= p[0].0 {
            return p[0].1;
        }
        let i = p.partition_point(|q| q.0 <= x).clamp(1, p.len() - 1);
        let (x0, y0) = p[i - 1];
        let (x1, y1) = p[i];
        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }
}

/// A measured step-time profile.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasuredTable {
    /// Per measured batch size, decode seconds over total context.
    decode: Vec<(u32, Polyline)>,
    /// Prefill seconds over chunk tokens.
    prefill: Polyline,
    /// The text of the comment lines, in file order, without the `#`.
    notes: Vec<String>,
    /// How a step with both prefill and decode work is timed.
    mixed: MixedSteps,
}

/// How a [`MeasuredTable`] times a step that carries both prefill chunks
/// and decoding sequences.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MixedSteps {
    /// The prefill time of the chunk tokens plus the decode time.
    #[default]
    Sum,
    /// The prefill time of the chunk tokens plus one token per decoding
    /// sequence, plus the decode time's growth with context above its
    /// value at context 0.
    Merged,
}

/// Splits `bytes` into the comment lines' text and the CSV with every
/// comment line emptied (so that line numbers are unchanged).
fn strip_comments(bytes: &[u8]) -> (Vec<u8>, Vec<String>) {
    let mut csv = Vec::with_capacity(bytes.len());
    let mut notes = Vec::new();
    for (k, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if k > 0 {
            csv.push(b'\n');
        }
        match line.trim_ascii_start().strip_prefix(b"#") {
            Some(text) => notes.push(String::from_utf8_lossy(text.trim_ascii()).into_owned()),
            None => csv.extend_from_slice(line),
        }
    }
    (csv, notes)
}

static SCHEMA: Schema = Schema {
    format: "performance profile",
    known: &["phase", "batch_size", "tokens", "step_ms"],
    required: &["phase", "batch_size", "tokens", "step_ms"],
};
const PHASE: usize = 0;
const BATCH_SIZE: usize = 1;
const TOKENS: usize = 2;
const STEP_MS: usize = 3;

impl From<WorkloadError> for TableError {
    fn from(e: WorkloadError) -> Self {
        match e {
            WorkloadError::Parse {
                line,
                field,
                message,
            } => TableError {
                line: Some(line),
                field: Some(field),
                message,
            },
            other => TableError {
                line: None,
                field: None,
                message: other.to_string(),
            },
        }
    }
}

fn err(line: u64, field: &str, message: impl Into<String>) -> TableError {
    TableError {
        line: Some(line),
        field: Some(field.to_string()),
        message: message.into(),
    }
}

impl MeasuredTable {
    /// Parses a profile table.
    pub fn from_reader<R: Read>(mut reader: R) -> Result<Self, TableError> {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(|e| TableError {
            line: None,
            field: None,
            message: format!("cannot read the table: {e}"),
        })?;
        let (csv, notes) = strip_comments(&bytes);
        let mut input = CsvInput::new(csv.as_slice(), &SCHEMA);
        let mut decode: Vec<(u32, u64, f64, u64)> = Vec::new();
        let mut prefill: Vec<(u64, f64, u64)> = Vec::new();
        while let Some(row) = input.next_row().map_err(TableError::from)? {
            let line = row.line;
            let tokens_text = row.required(TOKENS).map_err(TableError::from)?;
            let tokens: u64 = tokens_text.parse().map_err(|_| {
                err(
                    line,
                    "tokens",
                    format!("expected a non-negative integer, got {tokens_text:?}"),
                )
            })?;
            let ms_text = row.required(STEP_MS).map_err(TableError::from)?;
            let ms: f64 = ms_text.parse().map_err(|_| {
                err(
                    line,
                    "step_ms",
                    format!("expected a number, got {ms_text:?}"),
                )
            })?;
            if !(ms.is_finite() && ms > 0.0) {
                return Err(err(
                    line,
                    "step_ms",
                    format!("must be a finite number of ms > 0, got {ms}"),
                ));
            }
            match row.required(PHASE).map_err(TableError::from)? {
                "decode" => {
                    let b_text = row.required(BATCH_SIZE).map_err(TableError::from)?;
                    let b: u32 = b_text.parse().ok().filter(|&b| b > 0).ok_or_else(|| {
                        err(
                            line,
                            "batch_size",
                            format!("expected a positive integer, got {b_text:?}"),
                        )
                    })?;
                    decode.push((b, tokens, ms / 1e3, line));
                }
                "prefill" => {
                    if tokens == 0 {
                        return Err(err(
                            line,
                            "tokens",
                            "a prefill step computes at least 1 token",
                        ));
                    }
                    prefill.push((tokens, ms / 1e3, line));
                }
                other => {
                    return Err(err(
                        line,
                        "phase",
                        format!("expected `decode` or `prefill`, got {other:?}"),
                    ))
                }
            }
        }
        if decode.is_empty() {
            return Err(TableError {
                line: None,
                field: Some("phase".into()),
                message: "no `decode` rows".into(),
            });
        }
        if prefill.is_empty() {
            return Err(TableError {
                line: None,
                field: Some("phase".into()),
                message: "no `prefill` rows".into(),
            });
        }
        decode.sort_by_key(|d| (d.0, d.1));
        let mut by_batch: Vec<(u32, Polyline)> = Vec::new();
        let mut previous: Option<(u32, u64)> = None;
        for (b, tokens, secs, line) in decode {
            let duplicate = previous == Some((b, tokens));
            previous = Some((b, tokens));
            match by_batch.last_mut() {
                Some((last_b, poly)) if *last_b == b => {
                    let y0 = poly.points.last().map_or(0.0, |p| p.1);
                    if duplicate {
                        return Err(err(
                            line,
                            "tokens",
                            format!("duplicate decode row for batch_size {b} and tokens {tokens}"),
                        ));
                    }
                    if secs < y0 {
                        return Err(err(
                            line,
                            "step_ms",
                            format!("decode time must not decrease with context (batch_size {b})"),
                        ));
                    }
                    poly.points.push((tokens as f64, secs));
                }
                _ => by_batch.push((
                    b,
                    Polyline {
                        points: vec![(tokens as f64, secs)],
                    },
                )),
            }
        }
        prefill.sort_by_key(|p| p.0);
        for w in prefill.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(err(
                    w[1].2,
                    "tokens",
                    format!("duplicate prefill row for {} tokens", w[1].0),
                ));
            }
        }
        Ok(MeasuredTable {
            decode: by_batch,
            prefill: Polyline {
                points: prefill.into_iter().map(|(x, y, _)| (x as f64, y)).collect(),
            },
            notes,
            mixed: MixedSteps::Sum,
        })
    }

    /// The same table, timing mixed steps by `mixed`.
    pub fn with_mixed_steps(mut self, mixed: MixedSteps) -> Self {
        self.mixed = mixed;
        self
    }

    /// The prefill tokens a step with `decode_seqs` decoding sequences and
    /// `chunk_tokens` prompt tokens is charged for.
    fn prefill_tokens_charged(&self, decode_seqs: u32, chunk_tokens: u64) -> u64 {
        match self.mixed {
            MixedSteps::Merged if chunk_tokens > 0 => chunk_tokens + u64::from(decode_seqs),
            _ => chunk_tokens,
        }
    }

    /// The comment lines' text (without `#`), in file order.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The largest measured decode batch size.
    pub fn max_batch_size(&self) -> u32 {
        self.decode.last().map_or(0, |d| d.0)
    }

    /// The largest measured prefill step, in tokens.
    pub fn max_prefill_tokens(&self) -> u64 {
        self.prefill.points.last().map_or(0, |p| p.0 as u64)
    }

    /// Whether a step with `decode_seqs` decoding sequences and
    /// `prefill_tokens` chunk tokens lies within the measured batch sizes
    /// and prefill sizes.
    pub fn covers(&self, decode_seqs: u32, prefill_tokens: u64) -> bool {
        decode_seqs <= self.max_batch_size()
            && self.prefill_tokens_charged(decode_seqs, prefill_tokens) <= self.max_prefill_tokens()
    }

    /// The two measured batch sizes around `b` and the weight of the second.
    fn batch_bracket(&self, b: f64) -> (usize, usize, f64) {
        let n = self.decode.len();
        if n == 1 {
            return (0, 0, 0.0);
        }
        let i = self
            .decode
            .partition_point(|(bb, _)| f64::from(*bb) <= b)
            .clamp(1, n - 1);
        let (b0, b1) = (f64::from(self.decode[i - 1].0), f64::from(self.decode[i].0));
        let w = if b < b0 { 0.0 } else { (b - b0) / (b1 - b0) };
        (i - 1, i, w)
    }

    fn decode_secs(&self, batch: u32, context: f64) -> f64 {
        let (i, j, w) = self.batch_bracket(f64::from(batch));
        let y = (1.0 - w) * self.decode[i].1.at(context) + w * self.decode[j].1.at(context);
        y.max(1e-9)
    }

    fn prefill_secs(&self, tokens: f64) -> f64 {
        let (x0, y0) = self.prefill.points[0];
        if tokens < x0 {
            y0 * tokens / x0
        } else {
            self.prefill.at(tokens)
        }
    }
}

impl PerfModel for MeasuredTable {
    fn decode_curve(&self, batch_size: u32) -> DecodeCurve {
        // Breakpoints: every measured context of the two bracketing batch sizes.
        let (i, j, _) = self.batch_bracket(f64::from(batch_size));
        let mut xs: Vec<f64> = self.decode[i]
            .1
            .points
            .iter()
            .chain(&self.decode[j].1.points)
            .map(|p| p.0.round())
            .collect();
        xs.push(0.0);
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let scale = (1u64 << CURVE_FRACTION_BITS) as f64 * 1e9;
        let mut pieces = Vec::with_capacity(xs.len());
        for (k, &x) in xs.iter().enumerate() {
            let y = self.decode_secs(batch_size, x);
            let slope = match xs.get(k + 1) {
                Some(&x1) => (self.decode_secs(batch_size, x1) - y) / (x1 - x),
                // Past the last point: the last measured segment's slope.
                None => (self.decode_secs(batch_size, x + 1e6) - y) / 1e6,
            };
            pieces.push(CurvePiece {
                from_context: x as u64,
                at_start_fp: (y * scale).round().max(scale / 1e9) as u64,
                per_token_fp: (slope.max(0.0) * scale).round() as u64,
            });
        }
        DecodeCurve::new(pieces)
            .unwrap_or_else(|| DecodeCurve::linear_secs(self.decode_secs(batch_size, 0.0), 0.0))
    }

    fn mixed_step(
        &self,
        decode_seqs: u32,
        decode_context_tokens: u64,
        prefill: &[PrefillChunk],
    ) -> SimDuration {
        let tokens: u64 = prefill.iter().map(|c| u64::from(c.new_tokens)).sum();
        let charged = self.prefill_tokens_charged(decode_seqs, tokens);
        let mut secs = self.prefill_secs(charged as f64);
        if decode_seqs > 0 {
            secs += self.decode_secs(decode_seqs, decode_context_tokens as f64);
            if charged > tokens {
                // Merged: the decode's time at context 0 is in the prefill
                // time already. Decode time does not decrease with context.
                secs -= self.decode_secs(decode_seqs, 0.0);
            }
        }
        SimDuration::try_from_secs_f64(secs)
            .unwrap_or(SimDuration(u64::MAX))
            .max(SimDuration(1))
    }
}

/// A measured table that hands the steps outside its measured range to
/// another model (see [`MeasuredTable::covers`]): a pure-decode batch
/// larger than the largest measured batch size, or a mixed step with more
/// decoding sequences or more prefill tokens than measured, is timed whole
/// by `fallback`. Context beyond a batch size's last row stays
/// extrapolated along its last segment, because a decode curve must not
/// jump down where one model hands over to the other.
#[derive(Clone, Debug)]
pub struct TableWithFallback {
    table: MeasuredTable,
    fallback: Arc<dyn PerfModel>,
}

impl TableWithFallback {
    /// `table` within its measured range, `fallback` outside it.
    pub fn new(table: MeasuredTable, fallback: Arc<dyn PerfModel>) -> Self {
        TableWithFallback { table, fallback }
    }

    /// The measured table.
    pub fn table(&self) -> &MeasuredTable {
        &self.table
    }
}

impl PerfModel for TableWithFallback {
    fn decode_curve(&self, batch_size: u32) -> DecodeCurve {
        if self.table.covers(batch_size, 0) {
            self.table.decode_curve(batch_size)
        } else {
            self.fallback.decode_curve(batch_size)
        }
    }

    fn mixed_step(
        &self,
        decode_seqs: u32,
        decode_context_tokens: u64,
        prefill: &[PrefillChunk],
    ) -> SimDuration {
        let tokens: u64 = prefill.iter().map(|c| u64::from(c.new_tokens)).sum();
        let model: &dyn PerfModel = if self.table.covers(decode_seqs, tokens) {
            &self.table
        } else {
            self.fallback.as_ref()
        };
        model.mixed_step(decode_seqs, decode_context_tokens, prefill)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "phase,batch_size,tokens,step_ms\n\
        decode,1,0,10\n\
        decode,1,1000,12\n\
        decode,8,0,11\n\
        decode,8,8000,19\n\
        prefill,,512,20\n\
        prefill,,2048,60\n";

    fn table() -> MeasuredTable {
        MeasuredTable::from_reader(TABLE.as_bytes()).unwrap()
    }

    fn check_decode(batch: u32, context: u64, expect_ms: f64) {
        let ms = table().decode_curve(batch).step(context).as_millis_f64();
        assert!(
            (ms - expect_ms).abs() < 1e-3,
            "B={batch} ctx={context}: {ms} vs {expect_ms}"
        );
    }

    #[test]
    fn decode_interpolates_in_context_and_batch() {
        check_decode(1, 0, 10.0);
        check_decode(1, 500, 11.0);
        check_decode(1, 2000, 14.0); // extended along the last segment
        check_decode(8, 4000, 15.0);
        // Halfway between batch 1 and 8 (4.5) at context 0: 10.5 ms.
        check_decode(8, 0, 11.0);
    }

    #[test]
    fn decode_curve_sums_match_stepping() {
        let c = table().decode_curve(4);
        let naive: u64 = (0..500u64).map(|k| c.step(100 + 4 * k).0).sum();
        assert_eq!(c.sum_steps(100, 4, 500).0, naive);
    }

    #[test]
    fn prefill_interpolates_and_mixed_adds_decode() {
        let t = table();
        let chunk = |n| {
            [PrefillChunk {
                new_tokens: n,
                cached_tokens: 0,
            }]
        };
        assert!((t.mixed_step(0, 0, &chunk(1280)).as_millis_f64() - 40.0).abs() < 1e-6);
        assert!((t.mixed_step(0, 0, &chunk(256)).as_millis_f64() - 10.0).abs() < 1e-6);
        assert!((t.mixed_step(1, 0, &chunk(512)).as_millis_f64() - 30.0).abs() < 1e-6);
    }

    #[test]
    fn comment_lines_are_notes_and_keep_line_numbers() {
        let text = format!("# source: example 1.0\n{TABLE}  # measured: gemm, attention\n");
        let t = MeasuredTable::from_reader(text.as_bytes()).unwrap();
        assert_eq!(
            t.notes(),
            ["source: example 1.0", "measured: gemm, attention"]
        );
        // The same times as without the comments.
        assert_eq!(
            t.decode_curve(4).step(900),
            table().decode_curve(4).step(900)
        );
        assert!(table().notes().is_empty());
        // A comment line still counts: the bad row is on line 3.
        check_error(
            "phase,batch_size,tokens,step_ms\n# note\ndecode,1,0,x\n",
            "line 3, field `step_ms`",
        );
        // `#` inside a field is not a comment.
        check_error(
            "phase,batch_size,tokens,step_ms\ndecode,1,0,#5\n",
            "line 2, field `step_ms`",
        );
    }

    #[test]
    fn merged_mixed_steps_charge_decode_tokens_as_prefill_and_only_context_growth() {
        let t = table().with_mixed_steps(MixedSteps::Merged);
        let chunk = [PrefillChunk {
            new_tokens: 504,
            cached_tokens: 0,
        }];
        // prefill(504 + 8) = 20 ms; decode(8, 4000) − decode(8, 0) = 15 − 11.
        let ms = t.mixed_step(8, 4000, &chunk).as_millis_f64();
        assert!((ms - 24.0).abs() < 1e-6, "{ms}");
        // Sum: prefill(504) + decode(8, 4000).
        let sum = table().mixed_step(8, 4000, &chunk).as_millis_f64();
        assert!((sum - (20.0 * 504.0 / 512.0 + 15.0)).abs() < 1e-6, "{sum}");
        // Pure prefill and pure decode steps are the same under both rules.
        assert_eq!(t.mixed_step(0, 0, &chunk), table().mixed_step(0, 0, &chunk));
        assert_eq!(t.decode_curve(8), table().decode_curve(8));
        // The decode tokens count against the measured prefill range.
        assert!(table().covers(8, 2044) && !t.covers(8, 2044) && t.covers(8, 2040));
    }

    /// Every step takes 1 s: easy to tell apart from the table.
    #[derive(Debug)]
    struct OneSecond;

    impl PerfModel for OneSecond {
        fn decode_curve(&self, _batch_size: u32) -> DecodeCurve {
            DecodeCurve::linear_secs(1.0, 0.0)
        }
        fn mixed_step(&self, _: u32, _: u64, _: &[PrefillChunk]) -> SimDuration {
            SimDuration::try_from_secs_f64(1.0).unwrap()
        }
    }

    #[test]
    fn fallback_times_the_steps_outside_the_measured_range() {
        let t = table();
        assert_eq!((t.max_batch_size(), t.max_prefill_tokens()), (8, 2048));
        assert!(t.covers(8, 2048) && !t.covers(9, 0) && !t.covers(1, 2049));
        let f = TableWithFallback::new(t.clone(), Arc::new(OneSecond));
        // Inside: the table's times, exactly.
        assert_eq!(f.decode_curve(8), t.decode_curve(8));
        let chunk = |n| {
            [PrefillChunk {
                new_tokens: n,
                cached_tokens: 0,
            }]
        };
        assert_eq!(
            f.mixed_step(8, 100, &chunk(2048)),
            t.mixed_step(8, 100, &chunk(2048))
        );
        // Outside: the fallback's, for the whole step.
        let one = SimDuration::try_from_secs_f64(1.0).unwrap();
        assert_eq!(f.decode_curve(9).step(0), one);
        assert_eq!(f.mixed_step(9, 100, &chunk(16)), one);
        assert_eq!(f.mixed_step(1, 100, &chunk(2049)), one);
        // Two chunks together beyond the largest prefill row fall back too.
        let two = [chunk(1500)[0], chunk(1000)[0]];
        assert_eq!(f.mixed_step(0, 0, &two), one);
        // Without a fallback the table extrapolates (batch 16 from 1 and 8).
        assert!(t.decode_curve(16).step(0).as_millis_f64() < 20.0);
    }

    fn check_error(text: &str, expect: &str) {
        let e = MeasuredTable::from_reader(text.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains(expect), "{e:?} should contain {expect:?}");
    }

    #[test]
    fn bad_tables_name_line_and_field() {
        check_error(
            "phase,batch_size,tokens\n",
            "line 1, field `step_ms`: required column missing",
        );
        check_error("phase,batch_size,tokens,step_ms,x\n", "line 1, field `x`");
        check_error(
            "phase,batch_size,tokens,step_ms\ndecode,1,0,abc\n",
            "line 2, field `step_ms`: expected a number",
        );
        check_error(
            "phase,batch_size,tokens,step_ms\ndecode,0,0,1\n",
            "line 2, field `batch_size`",
        );
        check_error(
            "phase,batch_size,tokens,step_ms\nfoo,1,0,1\n",
            "line 2, field `phase`",
        );
        check_error(
            "phase,batch_size,tokens,step_ms\ndecode,1,0,-1\n",
            "must be a finite number of ms > 0",
        );
        check_error(
            "phase,batch_size,tokens,step_ms\ndecode,1,0,5\ndecode,1,10,4\nprefill,,1,1\n",
            "line 3, field `step_ms`: decode time must not decrease",
        );
        check_error(
            "phase,batch_size,tokens,step_ms\nprefill,,1,1\n",
            "no `decode` rows",
        );
        check_error(
            "phase,batch_size,tokens,step_ms\n\r\ndecode,1,0,x\r\n",
            "line 3, field `step_ms`",
        );
        check_error(
            "phase,batch_size,tokens,step_ms\ndecode,1,0,1\n",
            "no `prefill` rows",
        );
    }
}
