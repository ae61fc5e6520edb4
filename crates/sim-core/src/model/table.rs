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
//! Lines starting with `#` are comments (for provenance notes).
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
//! the cache is not charged, a simplification over the roofline.

use super::perf::{CurvePiece, DecodeCurve, PerfModel, PrefillChunk, CURVE_FRACTION_BITS};
use crate::time::SimDuration;
use std::fmt;
use std::io::Read;

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
    pub fn from_reader<R: Read>(reader: R) -> Result<Self, TableError> {
        // `#` lines carry provenance notes.
        let mut csv = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(reader);
        let headers = csv
            .headers()
            .map_err(|e| TableError {
                line: Some(1),
                field: None,
                message: e.to_string(),
            })?
            .clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| TableError {
                    line: Some(1),
                    field: Some(name.to_string()),
                    message: "missing column (expected phase, batch_size, tokens, step_ms)"
                        .to_string(),
                })
        };
        let (c_phase, c_batch, c_tokens, c_ms) = (
            col("phase")?,
            col("batch_size")?,
            col("tokens")?,
            col("step_ms")?,
        );
        if let Some(extra) = headers
            .iter()
            .find(|h| !["phase", "batch_size", "tokens", "step_ms"].contains(h))
        {
            return Err(err(
                1,
                extra,
                "unknown column (expected phase, batch_size, tokens, step_ms)",
            ));
        }
        let mut decode: Vec<(u32, u64, f64, u64)> = Vec::new();
        let mut prefill: Vec<(f64, f64, u64)> = Vec::new();
        for (i, record) in csv.records().enumerate() {
            let record = record.map_err(|e| TableError {
                line: e.position().map(|p| p.line()),
                field: None,
                message: e.to_string(),
            })?;
            let line = record.position().map_or(i as u64 + 2, |p| p.line());
            let get = |c: usize| record.get(c).unwrap_or("");
            let tokens: u64 = get(c_tokens).parse().map_err(|_| {
                err(
                    line,
                    "tokens",
                    format!("expected a non-negative integer, got {:?}", get(c_tokens)),
                )
            })?;
            let ms: f64 = get(c_ms).parse().map_err(|_| {
                err(
                    line,
                    "step_ms",
                    format!("expected a number, got {:?}", get(c_ms)),
                )
            })?;
            if !(ms.is_finite() && ms > 0.0) {
                return Err(err(
                    line,
                    "step_ms",
                    format!("must be a finite number of ms > 0, got {ms}"),
                ));
            }
            match get(c_phase) {
                "decode" => {
                    let b: u32 = get(c_batch)
                        .parse()
                        .ok()
                        .filter(|&b| b > 0)
                        .ok_or_else(|| {
                            err(
                                line,
                                "batch_size",
                                format!("expected a positive integer, got {:?}", get(c_batch)),
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
                    prefill.push((tokens as f64, ms / 1e3, line));
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
        decode.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut by_batch: Vec<(u32, Polyline)> = Vec::new();
        for (b, tokens, secs, line) in decode {
            match by_batch.last_mut() {
                Some((last_b, poly)) if *last_b == b => {
                    let &(x0, y0) = poly.points.last().unwrap_or(&(0.0, 0.0));
                    if tokens as f64 == x0 {
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
        prefill.sort_by(|a, b| a.0.total_cmp(&b.0));
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
                points: prefill.into_iter().map(|(x, y, _)| (x, y)).collect(),
            },
        })
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
        let mut secs = self.prefill_secs(tokens as f64);
        if decode_seqs > 0 {
            secs += self.decode_secs(decode_seqs, decode_context_tokens as f64);
        }
        SimDuration::try_from_secs_f64(secs)
            .unwrap_or(SimDuration(u64::MAX))
            .max(SimDuration(1))
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
            "field `step_ms`: missing column",
        );
        check_error(
            "phase,batch_size,tokens,step_ms,x\n",
            "field `x`: unknown column",
        );
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
            "# note\nphase,batch_size,tokens,step_ms\n# note\ndecode,1,0,x\n",
            "line 4, field `step_ms`",
        );
        check_error(
            "phase,batch_size,tokens,step_ms\ndecode,1,0,1\n",
            "no `prefill` rows",
        );
    }
}
