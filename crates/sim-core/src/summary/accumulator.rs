//! Mergeable streaming state for what the summary derives from request
//! records: counts, sums and SLA attainment exactly, latency percentiles
//! from a [`LogHistogram`] (relative error below [`RELATIVE_ERROR`]).
//!
//! One mechanism for both ways a run keeps its records: the figures come
//! from an [`OutcomeStats`] fed every record as it ends, and only the
//! percentiles differ — taken exactly from the records when they are kept
//! ([`OutcomeStats::summary`] with `Some(records)`), from the sketch when
//! they are not. Counts, token sums, SLA misses and attainment, means
//! (integer sums), maxima, and whether a percentile target can be measured
//! at all are exact either way; a percentile read from the sketch is
//! within [`RELATIVE_ERROR`] of the exact one (and a target's verdict can
//! differ only when its true percentile lies that close to its bound).
//! State is O(buckets) per scope, independent of the number of records.

use super::sketch::{LogHistogram, RELATIVE_ERROR};
use super::{Latency, RequestCounts, SlaReport, Summary, TargetResult, Throughput};
use crate::metrics::{
    percentiles_unsorted, rank_of, LatencyMetric, LatencyStats, PercentileTarget, RequestRecord,
    SlaConfig,
};
use crate::request::Outcome;
use crate::time::NANOS_PER_MS;

/// The percentiles a [`LatencyStats`] reports, then the maximum.
const REPORTED: [f64; 5] = [50.0, 90.0, 95.0, 99.0, 100.0];

/// One latency metric's values: count, exact sum, minimum and maximum, and
/// the sketch of their distribution.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencyAccumulator {
    count: u64,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
    sketch: LogHistogram,
}

impl LatencyAccumulator {
    /// Counts one value, ns.
    pub fn add(&mut self, v_ns: u64) {
        self.min_ns = if self.count == 0 {
            v_ns
        } else {
            self.min_ns.min(v_ns)
        };
        self.max_ns = self.max_ns.max(v_ns);
        self.count += 1;
        self.sum_ns += u128::from(v_ns);
        self.sketch.add(v_ns);
    }

    /// Adds everything `other` counted.
    pub fn merge(&mut self, other: &LatencyAccumulator) {
        if other.count == 0 {
            return;
        }
        self.min_ns = if self.count == 0 {
            other.min_ns
        } else {
            self.min_ns.min(other.min_ns)
        };
        self.max_ns = self.max_ns.max(other.max_ns);
        self.count += other.count;
        self.sum_ns += other.sum_ns;
        self.sketch.merge(&other.sketch);
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The `q`-th percentile (0–100) of the values together with
    /// `unbounded` values above every bound, ranked as
    /// [`crate::metrics::percentile_with_unbounded`] ranks them, from the
    /// sketch (clamped to the exact minimum and maximum); `None` when it
    /// falls on an unbounded value.
    pub fn sketch_percentile(&self, unbounded: u64, q: f64) -> Option<f64> {
        let (lo, hi, frac) = rank_of(self.count.checked_add(unbounded)?, q)?;
        if hi >= self.count {
            return None;
        }
        let a = self.sketch.value_at_rank(lo)?;
        let b = self.sketch.value_at_rank(hi)?;
        Some((a + (b - a) * frac).clamp(self.min_ns as f64, self.max_ns as f64))
    }

    /// Mean, percentiles and maximum: the percentiles from `exact` (this
    /// metric's values, reordered here) when given, else from the sketch.
    pub fn stats(&self, exact: Option<&mut [u64]>) -> LatencyStats {
        let ms = |ns: f64| ns / NANOS_PER_MS as f64;
        let ps: Vec<Option<f64>> = match exact {
            Some(values) => percentiles_unsorted(values, &REPORTED),
            None => (REPORTED.iter())
                .map(|&q| self.sketch_percentile(0, q))
                .collect(),
        };
        let p = |i: usize| ps[i].map(ms).unwrap_or(0.0);
        LatencyStats {
            count: self.count,
            mean: if self.count == 0 {
                0.0
            } else {
                ms(self.sum_ns as f64 / self.count as f64)
            },
            p50: p(0),
            p90: p(1),
            p95: p(2),
            p99: p(3),
            // The exact maximum either way (the sketch's p100 is clamped
            // to it too).
            max: if self.count == 0 {
                0.0
            } else {
                ms(self.max_ns as f64)
            },
        }
    }
}

/// The streaming state of one scope (the run, a deployment, a class, a
/// pipeline): what [`Summary::from_records`] computes, record by record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutcomeStats {
    counts: RequestCounts,
    /// Output tokens of completed requests.
    output_tokens: u64,
    /// Requests that met every per-request threshold of the scope's SLA.
    met: u64,
    /// Completed requests' values, indexed like [`LatencyMetric::ALL`].
    latency: [LatencyAccumulator; 5],
}

impl OutcomeStats {
    /// The state after `records`, against `sla`.
    pub fn of(records: &[RequestRecord], sla: &SlaConfig) -> OutcomeStats {
        let mut s = OutcomeStats::default();
        for r in records {
            s.add(r, sla);
        }
        s
    }

    /// Counts one ended request against `sla` (the scope's SLA).
    pub fn add(&mut self, r: &RequestRecord, sla: &SlaConfig) {
        self.counts.arrived += 1;
        match r.outcome {
            Outcome::Completed => {
                self.counts.completed += 1;
                self.output_tokens += u64::from(r.output_tokens);
                for (acc, metric) in self.latency.iter_mut().zip(LatencyMetric::ALL) {
                    if let Some(v) = metric.of(r) {
                        acc.add(v);
                    }
                }
            }
            Outcome::Rejected => self.counts.rejected += 1,
            Outcome::TimedOut => self.counts.timed_out += 1,
            Outcome::Failed => self.counts.failed += 1,
        }
        if sla.request_meets(r) {
            self.met += 1;
        }
    }

    /// Adds everything `other` counted (against the same SLA).
    pub fn merge(&mut self, other: &OutcomeStats) {
        let (c, o) = (&mut self.counts, &other.counts);
        c.arrived += o.arrived;
        c.completed += o.completed;
        c.rejected += o.rejected;
        c.timed_out += o.timed_out;
        c.failed += o.failed;
        self.output_tokens += other.output_tokens;
        self.met += other.met;
        for (a, b) in self.latency.iter_mut().zip(&other.latency) {
            a.merge(b);
        }
    }

    /// Counts by outcome.
    pub fn counts(&self) -> &RequestCounts {
        &self.counts
    }

    /// Output tokens of completed requests.
    pub fn output_tokens(&self) -> u64 {
        self.output_tokens
    }

    fn metric(&self, metric: LatencyMetric) -> &LatencyAccumulator {
        let i = LatencyMetric::ALL.iter().position(|&m| m == metric);
        &self.latency[i.unwrap_or(0)]
    }

    /// Counts, latency, throughput and SLA (the caller fills GPU hours,
    /// fleet and sim). With `exact`, the records this state was fed (in
    /// any order), percentiles are exact; without, from the sketches.
    pub fn summary(
        &self,
        sla: &SlaConfig,
        simulated_s: f64,
        exact: Option<&[RequestRecord]>,
    ) -> Summary {
        // The exact values of one metric, as the sketch counted them.
        let values_of = |metric: LatencyMetric| -> Option<Vec<u64>> {
            exact.map(|records| {
                (records.iter())
                    .filter(|r| r.outcome == Outcome::Completed)
                    .filter_map(|r| metric.of(r))
                    .collect()
            })
        };
        let stats = |metric: LatencyMetric| {
            let mut values = values_of(metric);
            self.metric(metric).stats(values.as_deref_mut())
        };
        let latency = Latency {
            queue_ms: stats(LatencyMetric::QueueMs),
            ttft_ms: stats(LatencyMetric::TtftMs),
            tpot_ms: stats(LatencyMetric::TpotMs),
            itl_max_ms: stats(LatencyMetric::ItlMaxMs),
            e2e_ms: stats(LatencyMetric::E2eMs),
        };
        let targets: Vec<TargetResult> = (sla.targets.iter())
            .map(|t| self.target(t, values_of(t.metric).as_deref_mut()))
            .collect();
        let per_s = |x: f64| {
            if simulated_s > 0.0 {
                x / simulated_s
            } else {
                0.0
            }
        };
        let counts = self.counts.clone();
        Summary {
            throughput: Throughput {
                requests_per_s: per_s(counts.completed as f64),
                output_tokens_per_s: per_s(self.output_tokens as f64),
            },
            sla: SlaReport {
                attainment: if counts.arrived == 0 {
                    1.0
                } else {
                    self.met as f64 / counts.arrived as f64
                },
                misses: counts.arrived - self.met,
                all_targets_met: targets.iter().all(|t| t.met),
                thresholds: super::SlaThresholds::of(sla),
                targets,
            },
            requests: counts,
            latency,
            ..Summary::default()
        }
    }

    /// `target` measured over every request counted: from `exact` (the
    /// metric's values of completed requests, reordered here) when given,
    /// else from the sketch.
    pub fn target(&self, target: &PercentileTarget, exact: Option<&mut [u64]>) -> TargetResult {
        let acc = self.metric(target.metric);
        let unfinished = self.counts.arrived - self.counts.completed;
        let p = target.percentile;
        let actual_ns = match exact {
            Some(values) => crate::metrics::percentile_with_unbounded(values, unfinished, p),
            None => acc.sketch_percentile(unfinished, p),
        };
        TargetResult::judge(
            target,
            actual_ns.map(|ns| ns / 1e6),
            &self.counts,
            acc.count(),
        )
    }
}

/// The documented bound of a sketched percentile, for tests and docs:
/// `|sketched − exact| ≤ bound(exact)`.
pub fn sketch_bound(exact: f64) -> f64 {
    RELATIVE_ERROR * exact.abs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::percentile_with_unbounded;
    use crate::summary::tests::record;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sketched_percentiles_are_within_the_bound(
            values in proptest::collection::vec(0u64..1 << 45, 0..300),
            unbounded in 0u64..30,
            q in 0.0f64..=100.0,
        ) {
            let mut acc = LatencyAccumulator::default();
            values.iter().for_each(|&v| acc.add(v));
            let exact = percentile_with_unbounded(&mut values.clone(), unbounded, q);
            let sketched = acc.sketch_percentile(unbounded, q);
            // Measurable in both or in neither, and then within the bound.
            prop_assert_eq!(exact.is_some(), sketched.is_some());
            if let (Some(e), Some(s)) = (exact, sketched) {
                prop_assert!((e - s).abs() <= sketch_bound(e), "exact {} sketched {}", e, s);
            }
        }

        #[test]
        fn merged_scopes_equal_one_scope(
            ttfts_ms in proptest::collection::vec(0u64..5_000, 0..60),
            lost in proptest::collection::vec(any::<bool>(), 0..60),
            split in 0usize..60,
        ) {
            let records: Vec<RequestRecord> = (ttfts_ms.iter().zip(lost.iter().chain(std::iter::repeat(&false))))
                .enumerate()
                .map(|(i, (&t, &l))| {
                    let outcome = if l { Outcome::Rejected } else { Outcome::Completed };
                    record(i as u64, outcome, t, 1 + (t % 3) as u32)
                })
                .collect();
            let sla = SlaConfig {
                ttft_ms: Some(1_000.0),
                targets: vec![PercentileTarget {
                    metric: LatencyMetric::TtftMs,
                    percentile: 90.0,
                    max_ms: 2_000.0,
                }],
                ..SlaConfig::default()
            };
            let (a, b) = records.split_at(split.min(records.len()));
            let mut merged = OutcomeStats::of(a, &sla);
            merged.merge(&OutcomeStats::of(b, &sla));
            let whole = OutcomeStats::of(&records, &sla);
            prop_assert_eq!(&merged, &whole);
            // Counts and attainment are the records' own.
            let lost = records.iter().filter(|r| r.outcome != Outcome::Completed).count();
            prop_assert_eq!(whole.counts().rejected, lost as u64);
            let met = records.iter().filter(|r| sla.request_meets(r)).count() as u64;
            prop_assert_eq!(whole.summary(&sla, 10.0, None).sla.misses, records.len() as u64 - met);
        }
    }
}
