//! The layout search: for each (GPU, tensor-parallel) shape, the batch cap
//! (`max_num_seqs`) from 1 to the engine's, each priced by Little's law
//! on the performance model ([`littles_law::estimate`]) — output tokens/s
//! per GPU against tokens/s each user sees — with the Pareto front of the
//! two and the layout with the fewest GPUs for the peak rate whose
//! latencies stay inside the per-request SLA thresholds. Analytic, like
//! the peers' layout searches: no queue and no traffic over time, which
//! the simulated steps add.

use super::littles_law::{self, ReplicaShape};
use fleetsim_core::metrics::{LatencyMetric, SlaConfig};
use fleetsim_core::model::PerfModel;
use serde::Serialize;
use std::cmp::Ordering;

/// One (GPU, degree, batch cap) layout.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Layout {
    /// GPU type.
    pub gpu: String,
    /// GPUs per replica.
    pub tensor_parallel: u32,
    /// The batch cap tried.
    pub max_num_seqs: u32,
    /// Requests a replica holds at once (the cap, or less when the KV
    /// cache or a central queue limits it first).
    pub concurrency: u32,
    /// Output tokens per second per GPU: `concurrency ÷ latency × mean
    /// answer ÷ tensor_parallel`.
    pub output_tokens_per_s_per_gpu: f64,
    /// Output tokens per second one request sees while decoding:
    /// `1000 ÷ tpot_ms`.
    pub output_tokens_per_s_per_user: f64,
    /// A mean prompt's prefill beside the rest of the batch, ms (a TTFT
    /// without queueing).
    pub ttft_ms: f64,
    /// One decode step at `concurrency`, ms.
    pub tpot_ms: f64,
    /// Whether `ttft_ms` and `tpot_ms` are within the SLA's bounds on
    /// them (per-request thresholds and percentile targets, each that is
    /// set): a mean without queueing against a bound, so a necessary
    /// condition, not a sufficient one.
    pub within_sla_thresholds: bool,
    /// Not beaten on both tokens/s per GPU and per user by another layout.
    pub pareto: bool,
    /// Replicas the peak rate needs (Little's law).
    pub replicas: u32,
    /// `replicas × tensor_parallel`.
    pub gpus: u32,
    /// `gpus` at the shape's price for a month, USD.
    pub monthly_usd: f64,
}

/// Batch caps tried under `engine_max`: powers of two, then the cap.
fn caps(engine_max: u32) -> Vec<u32> {
    let mut v: Vec<u32> = (0..32)
        .map(|i| 1u32 << i)
        .take_while(|&c| c < engine_max)
        .collect();
    v.push(engine_max.max(1));
    v
}

/// The layouts of one shape, up to the first cap that does not bind,
/// Pareto flags unset ([`mark_pareto`] sets
/// them over every shape's).
pub fn layouts(
    gpu: &str,
    shape: &ReplicaShape,
    perf: &dyn PerfModel,
    sla: &SlaConfig,
    peak_rate_per_s: f64,
    mean_input_tokens: f64,
    mean_output_tokens: f64,
) -> Vec<Layout> {
    let mut out: Vec<Layout> = Vec::new();
    for cap in caps(shape.max_num_seqs) {
        // Once the KV cache or a queue binds before the cap, a larger cap
        // is the same layout again.
        if out.last().is_some_and(|l| l.concurrency < l.max_num_seqs) {
            break;
        }
        out.push({
            let capped = ReplicaShape {
                max_num_seqs: cap,
                ..*shape
            };
            let e = littles_law::estimate(
                gpu,
                &capped,
                perf,
                peak_rate_per_s,
                mean_input_tokens,
                mean_output_tokens,
            );
            let ttft_ms = e.prefill_s * 1e3;
            let within = bound_ms(sla, LatencyMetric::TtftMs).is_none_or(|t| ttft_ms <= t)
                && bound_ms(sla, LatencyMetric::TpotMs).is_none_or(|t| e.decode_step_ms <= t);
            Layout {
                gpu: gpu.to_string(),
                tensor_parallel: shape.tensor_parallel,
                max_num_seqs: cap,
                concurrency: e.concurrency,
                output_tokens_per_s_per_gpu: e.per_replica_rate_per_s * mean_output_tokens
                    / f64::from(shape.tensor_parallel),
                output_tokens_per_s_per_user: 1e3 / e.decode_step_ms,
                ttft_ms,
                tpot_ms: e.decode_step_ms,
                within_sla_thresholds: within,
                pareto: false,
                replicas: e.replicas,
                gpus: e.replicas * shape.tensor_parallel,
                monthly_usd: e.monthly_usd,
            }
        });
    }
    out
}

/// The tightest bound the SLA sets on `metric`, ms: its per-request
/// threshold or any percentile target's (`None`: neither is set).
fn bound_ms(sla: &SlaConfig, metric: LatencyMetric) -> Option<f64> {
    let threshold = match metric {
        LatencyMetric::TtftMs => sla.ttft_ms,
        LatencyMetric::TpotMs => sla.tpot_ms,
        _ => None,
    };
    (sla.targets.iter())
        .filter(|t| t.metric == metric)
        .map(|t| t.max_ms)
        .chain(threshold)
        .min_by(f64::total_cmp)
}

/// Flags the layouts no other beats on both tokens/s per GPU and per user
/// (at least as good on both, better on one).
pub fn mark_pareto(layouts: &mut [Layout]) {
    let points: Vec<(f64, f64)> = (layouts.iter())
        .map(|l| {
            (
                l.output_tokens_per_s_per_gpu,
                l.output_tokens_per_s_per_user,
            )
        })
        .collect();
    for (l, &(g, u)) in layouts.iter_mut().zip(&points) {
        l.pareto = !points
            .iter()
            .any(|&(g2, u2)| g2 >= g && u2 >= u && (g2 > g || u2 > u));
    }
}

/// The layout with the fewest GPUs for the peak among those within the
/// SLA thresholds; of equal counts the cheaper, then the faster per user.
pub fn fewest_gpus(layouts: &[Layout]) -> Option<&Layout> {
    (layouts.iter())
        .filter(|l| l.within_sla_thresholds)
        .min_by(|a, b| {
            a.gpus
                .cmp(&b.gpus)
                .then(a.monthly_usd.total_cmp(&b.monthly_usd))
                .then(
                    b.output_tokens_per_s_per_user
                        .total_cmp(&a.output_tokens_per_s_per_user),
                )
                .then(Ordering::Equal)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::model::{DecodeCurve, PrefillChunk};
    use fleetsim_core::SimDuration;

    /// Decode steps of 10 ms + 1 ms per sequence; prefill 1 ms per prompt
    /// token.
    #[derive(Debug)]
    struct Linear;

    impl PerfModel for Linear {
        fn decode_curve(&self, batch_size: u32) -> DecodeCurve {
            DecodeCurve::linear_secs(0.010 + 0.001 * f64::from(batch_size), 0.0)
        }
        fn mixed_step(&self, _seqs: u32, _ctx: u64, prefill: &[PrefillChunk]) -> SimDuration {
            SimDuration(u64::from(prefill[0].new_tokens) * 1_000_000)
        }
    }

    fn shape(max_num_seqs: u32) -> ReplicaShape {
        ReplicaShape {
            max_num_seqs,
            batch_limit: "max_num_seqs",
            max_num_batched_tokens: 4096,
            kv_cache_tokens: 1 << 40,
            queue_cap: None,
            usd_per_gpu_hour: 2.0,
            tensor_parallel: 2,
        }
    }

    #[test]
    fn caps_stop_once_the_kv_cache_binds_first() {
        // 111 tokens per mean request in a cache of 600: five at once, so
        // caps of 8 and up are the same layout; only the first is kept.
        let small = ReplicaShape {
            kv_cache_tokens: 600,
            ..shape(64)
        };
        let none = SlaConfig {
            ttft_ms: None,
            tpot_ms: None,
            e2e_ms: None,
            targets: Vec::new(),
        };
        let l = layouts("g", &small, &Linear, &none, 10.0, 100.0, 11.0);
        let got: Vec<(u32, u32)> = l.iter().map(|x| (x.max_num_seqs, x.concurrency)).collect();
        assert_eq!(got, vec![(1, 1), (2, 2), (4, 4), (8, 5)]);
    }

    #[test]
    fn caps_are_powers_of_two_up_to_the_engines() {
        assert_eq!(caps(1), vec![1]);
        assert_eq!(caps(8), vec![1, 2, 4, 8]);
        assert_eq!(caps(10), vec![1, 2, 4, 8, 10]);
    }

    #[test]
    fn a_larger_batch_trades_speed_per_user_for_tokens_per_gpu() {
        let sla = SlaConfig {
            ttft_ms: None,
            tpot_ms: Some(25.0),
            e2e_ms: None,
            targets: Vec::new(),
        };
        // 100-token prompts (100 ms), 11-token answers: at a cap of c,
        // a step is 10 + c ms and a request takes 100 + 10 (10 + c) ms.
        let mut l = layouts("g", &shape(16), &Linear, &sla, 50.0, 100.0, 11.0);
        mark_pareto(&mut l);
        let caps: Vec<u32> = l.iter().map(|l| l.max_num_seqs).collect();
        assert_eq!(caps, vec![1, 2, 4, 8, 16]);
        for x in &l {
            let c = f64::from(x.max_num_seqs);
            let step_ms = 10.0 + c;
            let latency_s = (100.0 + 10.0 * step_ms) / 1e3;
            let per_gpu = c / latency_s * 11.0 / 2.0;
            assert!((x.tpot_ms - step_ms).abs() < 1e-6, "{x:?}");
            assert!(
                (x.output_tokens_per_s_per_gpu - per_gpu).abs() < 1e-6,
                "{x:?}"
            );
            assert!((x.output_tokens_per_s_per_user - 1e3 / step_ms).abs() < 1e-6);
            // Every cap trades one for the other: all on the front.
            assert!(x.pareto, "{x:?}");
            assert_eq!(x.within_sla_thresholds, step_ms <= 25.0, "{x:?}");
            assert_eq!(x.gpus, x.replicas * 2);
        }
        // The fewest GPUs within a 25 ms TPOT: the largest cap whose step
        // fits, 8 (18 ms; 16 would take 26 ms).
        let best = fewest_gpus(&l).unwrap();
        assert_eq!(best.max_num_seqs, 8);
        assert_eq!(
            best.replicas,
            (50.0_f64 / (8.0 / ((100.0 + 10.0 * 18.0) / 1e3))).ceil() as u32
        );
        // A p95 TPOT target tighter than the threshold bounds it instead.
        let p95 = SlaConfig {
            targets: vec![fleetsim_core::metrics::PercentileTarget {
                metric: LatencyMetric::TpotMs,
                percentile: 95.0,
                max_ms: 15.0,
            }],
            ..sla.clone()
        };
        let tight = layouts("g", &shape(16), &Linear, &p95, 50.0, 100.0, 11.0);
        assert_eq!(fewest_gpus(&tight).unwrap().max_num_seqs, 4);
        // A dominated layout leaves the front: a copy slower on both.
        let mut worse = l[2].clone();
        worse.output_tokens_per_s_per_gpu -= 1.0;
        worse.output_tokens_per_s_per_user -= 1.0;
        l.push(worse);
        mark_pareto(&mut l);
        assert!(!l.last().unwrap().pareto);
        assert!(l[2].pareto);
    }
}
