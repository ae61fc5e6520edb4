//! Per-request records, percentiles, SLA attainment and the run summary.

use crate::field::FieldError;
use crate::request::{Outcome, RequestId};
use crate::time::{SimTime, NANOS_PER_MS};
use serde::{Deserialize, Serialize};

/// Everything measured about one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// Arrival-order id.
    pub id: RequestId,
    /// Arrival instant.
    pub arrival: SimTime,
    /// Priority class, an index into the configured classes (0 when none
    /// are configured).
    pub class: u8,
    /// Deployment, an index into the configured deployments (for a
    /// pipeline request, the stage where it ended).
    pub deployment: u16,
    /// Pipeline, an index into the configured pipelines, if the request
    /// went through one (its latencies then run from its first arrival to
    /// its last stage).
    pub pipeline: Option<u16>,
    /// Replica that served it (`None` if it never reached one).
    pub replica: Option<u32>,
    /// How it ended.
    pub outcome: Outcome,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens requested.
    pub output_tokens: u32,
    /// Arrival to the start of its first iteration, ns.
    pub queue_ns: Option<u64>,
    /// Arrival to its first output token, ns.
    pub ttft_ns: Option<u64>,
    /// Mean time per output token after the first, ns (floor).
    pub tpot_ns: Option<u64>,
    /// Longest wait between two consecutive output tokens, ns: the stall
    /// a reader of the stream sees (`None` for a one-token answer).
    pub itl_max_ns: Option<u64>,
    /// Arrival to its last output token, ns.
    pub e2e_ns: Option<u64>,
    /// Times it was preempted and recomputed.
    pub preemptions: u32,
    /// KV-cache bytes sent from its prefill stage to its decode stage
    /// (`None` unless a disaggregated pipeline transferred its KV).
    pub kv_transfer_bytes: Option<u64>,
}

/// The latency metrics fleetsim reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyMetric {
    /// Queue wait before the first iteration.
    QueueMs,
    /// Time to first token.
    TtftMs,
    /// Time per output token.
    TpotMs,
    /// Longest wait between two consecutive output tokens of a request.
    ItlMaxMs,
    /// End-to-end latency.
    E2eMs,
}

impl LatencyMetric {
    /// All metrics, in report order.
    pub const ALL: [LatencyMetric; 5] = [
        LatencyMetric::QueueMs,
        LatencyMetric::TtftMs,
        LatencyMetric::TpotMs,
        LatencyMetric::ItlMaxMs,
        LatencyMetric::E2eMs,
    ];

    /// The value of this metric for a record, ns.
    pub fn of(self, r: &RequestRecord) -> Option<u64> {
        match self {
            LatencyMetric::QueueMs => r.queue_ns,
            LatencyMetric::TtftMs => r.ttft_ns,
            LatencyMetric::TpotMs => r.tpot_ns,
            LatencyMetric::ItlMaxMs => r.itl_max_ns,
            LatencyMetric::E2eMs => r.e2e_ns,
        }
    }

    /// Name in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            LatencyMetric::QueueMs => "queue_ms",
            LatencyMetric::TtftMs => "ttft_ms",
            LatencyMetric::TpotMs => "tpot_ms",
            LatencyMetric::ItlMaxMs => "itl_max_ms",
            LatencyMetric::E2eMs => "e2e_ms",
        }
    }
}

/// The `q`-th percentile (0–100) of sorted values with linear interpolation
/// between closest ranks (numpy's default), exact over all values.
pub fn percentile_sorted(sorted: &[u64], q: f64) -> Option<f64> {
    let (lo, hi, frac) = rank_of(sorted.len() as u64, q)?;
    let (a, b) = (sorted[lo as usize] as f64, sorted[hi as usize] as f64);
    Some(a + (b - a) * frac)
}

/// Where the `q`-th percentile (0–100) of `n` ranked values falls: the
/// ranks below and above (0-based) and the fraction of the way between
/// them (numpy's linear interpolation); `None` for no values. Every
/// percentile fleetsim reports, exact or sketched, is ranked here.
pub fn rank_of(n: u64, q: f64) -> Option<(u64, u64, f64)> {
    let last = n.checked_sub(1)?;
    let rank = (q.clamp(0.0, 100.0) / 100.0) * last as f64;
    let lo = rank.floor() as u64;
    Some((lo, rank.ceil() as u64, rank - lo as f64))
}

/// The `q`-th percentiles (0–100) of `values`, exactly as
/// [`percentile_sorted`] gives them for the sorted values, but found by
/// selection: O(n) per distinct rank instead of a sort. `values` is left
/// reordered. Every summary and time-series percentile goes through here.
pub fn percentiles_unsorted(values: &mut [u64], qs: &[f64]) -> Vec<Option<f64>> {
    let n = values.len();
    if n == 0 {
        return vec![None; qs.len()];
    }
    // The same ranks and interpolation as `percentile_sorted`.
    let ranks: Vec<(usize, usize, f64)> = (qs.iter())
        .filter_map(|&q| rank_of(n as u64, q))
        .map(|(lo, hi, frac)| (lo as usize, hi as usize, frac))
        .collect();
    let mut needed: Vec<usize> = ranks.iter().flat_map(|r| [r.0, r.1]).collect();
    needed.sort_unstable();
    needed.dedup();
    // Ascending ranks: each selection leaves everything above its rank in
    // the suffix, so the next one only searches there.
    let mut start = 0;
    for k in needed {
        values[start..].select_nth_unstable(k - start);
        start = k + 1;
    }
    ranks
        .iter()
        .map(|&(lo, hi, frac)| {
            let (a, b) = (values[lo] as f64, values[hi] as f64);
            Some(a + (b - a) * frac)
        })
        .collect()
}

/// The `q`-th percentile (0–100) of `values` together with `unbounded`
/// further values larger than any bound (requests that never produced the
/// metric because they did not complete), ranked as [`percentile_sorted`]
/// ranks `values.len() + unbounded` values. `None` when the percentile
/// falls on, or is interpolated towards, an unbounded value. With
/// `unbounded == 0` it equals [`percentiles_unsorted`] bit for bit.
/// `values` is left reordered.
pub fn percentile_with_unbounded(values: &mut [u64], unbounded: u64, q: f64) -> Option<f64> {
    let m = values.len();
    let (lo, hi, frac) = rank_of((m as u64).saturating_add(unbounded), q)?;
    if hi >= m as u64 {
        return None;
    }
    let (lo, hi) = (lo as usize, hi as usize);
    let (_, a, rest) = values.select_nth_unstable(lo);
    let a = *a;
    // `hi` is `lo` or `lo + 1`, whose value is the least of the rest.
    let b = match hi > lo {
        true => rest.iter().copied().min().unwrap_or(a),
        false => a,
    };
    let (a, b) = (a as f64, b as f64);
    Some(a + (b - a) * frac)
}

/// Mean, percentiles and maximum of one latency metric, in ms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Requests that have a value.
    pub count: u64,
    /// Mean, ms.
    pub mean: f64,
    /// Median, ms.
    pub p50: f64,
    /// 90th percentile, ms.
    pub p90: f64,
    /// 95th percentile, ms.
    pub p95: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Maximum, ms.
    pub max: f64,
}

impl LatencyStats {
    /// Statistics of `values_ns`, which this reorders.
    /// (The streaming accumulator fed the values, with the percentiles
    /// taken exactly from them.)
    pub fn from_nanos(values_ns: &mut [u64]) -> Self {
        let mut acc = crate::summary::LatencyAccumulator::default();
        for &v in values_ns.iter() {
            acc.add(v);
        }
        acc.stats(Some(values_ns))
    }
}

/// Per-request service-level thresholds and percentile targets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    /// A request meets the SLA only if its TTFT is at most this, ms.
    pub ttft_ms: Option<f64>,
    /// … and its TPOT at most this, ms.
    pub tpot_ms: Option<f64>,
    /// … and its end-to-end latency at most this, ms.
    pub e2e_ms: Option<f64>,
    /// Fleet-level targets such as "p95 TTFT ≤ 300 ms".
    #[serde(default)]
    pub targets: Vec<PercentileTarget>,
}

/// "The `percentile`-th percentile of `metric` is at most `max_ms`."
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PercentileTarget {
    /// Which latency.
    pub metric: LatencyMetric,
    /// Percentile, 0–100.
    pub percentile: f64,
    /// Bound, ms.
    pub max_ms: f64,
}

impl SlaConfig {
    /// Checks ranges; the error names the offending field (`ttft_ms`,
    /// `targets[i].max_ms`, …).
    pub fn validate(&self) -> Result<(), FieldError> {
        for (name, v) in [
            ("ttft_ms", self.ttft_ms),
            ("tpot_ms", self.tpot_ms),
            ("e2e_ms", self.e2e_ms),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0) {
                    return Err(FieldError::new(
                        name,
                        format!("must be a finite number of ms > 0, got {v}"),
                    ));
                }
            }
        }
        for (i, t) in self.targets.iter().enumerate() {
            if !(t.percentile.is_finite() && t.percentile > 0.0 && t.percentile <= 100.0) {
                return Err(FieldError::new(
                    format!("targets[{i}].percentile"),
                    format!("must be in (0, 100], got {}", t.percentile),
                ));
            }
            if !(t.max_ms.is_finite() && t.max_ms > 0.0) {
                return Err(FieldError::new(
                    format!("targets[{i}].max_ms"),
                    format!("must be a finite number of ms > 0, got {}", t.max_ms),
                ));
            }
        }
        Ok(())
    }

    /// Whether a completed request meets every per-request threshold.
    pub fn request_meets(&self, r: &RequestRecord) -> bool {
        let ok = |limit: Option<f64>, value: Option<u64>| match (limit, value) {
            (None, _) => true,
            (Some(ms), Some(ns)) => ns as f64 <= ms * NANOS_PER_MS as f64,
            (Some(_), None) => true, // e.g. TPOT of a one-token answer
        };
        r.outcome == Outcome::Completed
            && ok(self.ttft_ms, r.ttft_ns)
            && ok(self.tpot_ms, r.tpot_ns)
            && ok(self.e2e_ms, r.e2e_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn selection_equals_sorting(
            mut values in proptest::collection::vec(0u64..1_000, 0..300),
            qs in proptest::collection::vec(0.0f64..=100.0, 1..6),
        ) {
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let expected: Vec<Option<u64>> =
                qs.iter().map(|&q| percentile_sorted(&sorted, q).map(f64::to_bits)).collect();
            let got: Vec<Option<u64>> =
                percentiles_unsorted(&mut values, &qs).into_iter().map(|p| p.map(f64::to_bits)).collect();
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn unbounded_values_rank_above_every_value(
            values in proptest::collection::vec(0u64..1_000, 0..100),
            unbounded in 0u64..20,
            q in 0.0f64..=100.0,
        ) {
            // The reference: sort with the unbounded values as `None` on
            // top; a percentile that touches one of them is `None`.
            let mut all: Vec<Option<u64>> = values.iter().copied().map(Some).collect();
            all.sort_unstable();
            all.extend((0..unbounded).map(|_| None));
            let expected = (!all.is_empty()).then(|| {
                let rank = (q / 100.0) * (all.len() - 1) as f64;
                let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
                let (a, b) = (all[lo]? as f64, all[hi]? as f64);
                Some(a + (b - a) * (rank - lo as f64))
            }).flatten();
            let got = percentile_with_unbounded(&mut values.clone(), unbounded, q);
            prop_assert_eq!(got.map(f64::to_bits), expected.map(f64::to_bits));
            if unbounded == 0 {
                let plain = percentiles_unsorted(&mut values.clone(), &[q])[0];
                prop_assert_eq!(got.map(f64::to_bits), plain.map(f64::to_bits));
            }
        }
    }

    #[test]
    fn percentiles_at_the_ends_and_between() {
        let mut v = vec![5, 1, 4, 2, 3];
        assert_eq!(
            percentiles_unsorted(&mut v, &[0.0, 100.0, 95.0, 50.0]),
            vec![Some(1.0), Some(5.0), Some(4.8), Some(3.0)]
        );
        assert_eq!(percentiles_unsorted(&mut [], &[95.0]), vec![None]);
    }

    #[test]
    fn sla_validation_names_the_field() {
        let target = |percentile, max_ms| PercentileTarget {
            metric: LatencyMetric::TtftMs,
            percentile,
            max_ms,
        };
        assert_eq!(SlaConfig::default().validate(), Ok(()));
        // (config, field, problem)
        let cases = [
            (
                SlaConfig {
                    tpot_ms: Some(0.0),
                    ..SlaConfig::default()
                },
                "tpot_ms",
                "must be a finite number of ms > 0, got 0",
            ),
            (
                SlaConfig {
                    targets: vec![target(99.0, 100.0), target(100.5, 100.0)],
                    ..SlaConfig::default()
                },
                "targets[1].percentile",
                "must be in (0, 100], got 100.5",
            ),
            (
                SlaConfig {
                    targets: vec![target(50.0, f64::NAN)],
                    ..SlaConfig::default()
                },
                "targets[0].max_ms",
                "must be a finite number of ms > 0, got NaN",
            ),
        ];
        for (sla, field, problem) in cases {
            assert_eq!(sla.validate(), Err(FieldError::new(field, problem)));
        }
    }
}
