//! The first estimate, by Little's law: one replica holding `C` requests
//! that each take `L` seconds serves `C ÷ L` requests per second, so the
//! peak rate needs `⌈peak ÷ (C ÷ L)⌉` replicas. `C` is the replica's
//! concurrency cap and `L` the latency of a mean request at that
//! concurrency, both from the performance model; every input is kept so
//! the table can show the reasoning.

use fleetsim_core::cost::HOURS_PER_MONTH;
use fleetsim_core::model::{PerfModel, PrefillChunk};
use serde::Serialize;

/// What one replica of a (GPU, tensor-parallel) shape is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplicaShape {
    /// `max_num_seqs`, or a static batch's `batch_size` (what a batch
    /// holds at most).
    pub max_num_seqs: u32,
    /// Which key `max_num_seqs` comes from: `max_num_seqs` or
    /// `batch_size`.
    pub batch_limit: &'static str,
    /// `max_num_batched_tokens`: prompts longer than this take several chunks.
    pub max_num_batched_tokens: u32,
    /// KV cache capacity, tokens.
    pub kv_cache_tokens: u64,
    /// A central queue's `max_concurrency_per_replica`, if any.
    pub queue_cap: Option<u32>,
    /// Price of one GPU-hour, USD.
    pub usd_per_gpu_hour: f64,
    /// GPUs per replica.
    pub tensor_parallel: u32,
}

/// The estimate for one (GPU, tensor-parallel) shape, with its inputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// GPU type.
    pub gpu: String,
    /// GPUs per replica.
    pub tensor_parallel: u32,
    /// `⌈peak_rate_per_s ÷ per_replica_rate_per_s⌉`, at least 1.
    pub replicas: u32,
    /// Requests per second in the busiest window of the workload.
    pub peak_rate_per_s: f64,
    /// Mean prompt, tokens.
    pub mean_input_tokens: f64,
    /// Mean answer, tokens.
    pub mean_output_tokens: f64,
    /// Requests a replica holds at once: the least of `max_num_seqs`, a
    /// central queue's cap, and the mean requests its KV cache holds.
    pub concurrency: u32,
    /// Which limit set `concurrency`: `max_num_seqs` (`batch_size` for
    /// static batching), `queue` or `kv_cache`.
    pub concurrency_limit: &'static str,
    /// Prefill of a mean prompt beside `concurrency − 1` decoding
    /// sequences, seconds.
    pub prefill_s: f64,
    /// One decode step at `concurrency` sequences of mean context, ms.
    pub decode_step_ms: f64,
    /// `prefill_s` + (mean answer − 1) decode steps, seconds.
    pub latency_s: f64,
    /// `concurrency ÷ latency_s`, requests per second.
    pub per_replica_rate_per_s: f64,
    /// Price of one GPU-hour, USD.
    pub usd_per_gpu_hour: f64,
    /// `replicas × tensor_parallel × usd_per_gpu_hour × 730`.
    pub monthly_usd: f64,
}

/// The estimate for `gpu` from its replica `shape` and performance model.
pub fn estimate(
    gpu: &str,
    shape: &ReplicaShape,
    perf: &dyn PerfModel,
    peak_rate_per_s: f64,
    mean_input_tokens: f64,
    mean_output_tokens: f64,
) -> Estimate {
    let per_request_tokens = (mean_input_tokens + mean_output_tokens).max(1.0);
    let kv_fit = (shape.kv_cache_tokens as f64 / per_request_tokens).floor() as u32;
    let mut limits = vec![
        (shape.batch_limit, shape.max_num_seqs),
        ("kv_cache", kv_fit),
    ];
    if let Some(cap) = shape.queue_cap {
        limits.push(("queue", cap));
    }
    // The first of equal limits names it: the engine's own cap before the
    // memory it happens to match.
    let (concurrency_limit, c) =
        (limits.iter().copied()).fold(limits[0], |best, l| if l.1 < best.1 { l } else { best });
    let c = c.max(1);
    // Tokens each sequence attends to, on average over its answer.
    let context = (mean_input_tokens + mean_output_tokens / 2.0).round() as u64;
    let step_s = perf
        .decode_curve(c)
        .step(u64::from(c) * context)
        .as_secs_f64();
    let prompt = mean_input_tokens.round().max(1.0) as u32;
    let chunk = prompt.min(shape.max_num_batched_tokens.max(1));
    let chunks = prompt.div_ceil(chunk);
    let others = c - 1;
    let mixed = perf.mixed_step(
        others,
        u64::from(others) * context,
        &[PrefillChunk {
            new_tokens: chunk,
            cached_tokens: 0,
        }],
    );
    let prefill_s = f64::from(chunks) * mixed.as_secs_f64();
    let latency_s = prefill_s + (mean_output_tokens - 1.0).max(0.0) * step_s;
    let per_replica_rate_per_s = f64::from(c) / latency_s;
    let replicas = ((peak_rate_per_s / per_replica_rate_per_s).ceil() as u32).max(1);
    Estimate {
        gpu: gpu.to_string(),
        tensor_parallel: shape.tensor_parallel,
        replicas,
        peak_rate_per_s,
        mean_input_tokens,
        mean_output_tokens,
        concurrency: c,
        concurrency_limit,
        prefill_s,
        decode_step_ms: step_s * 1e3,
        latency_s,
        per_replica_rate_per_s,
        usd_per_gpu_hour: shape.usd_per_gpu_hour,
        monthly_usd: f64::from(replicas)
            * f64::from(shape.tensor_parallel)
            * shape.usd_per_gpu_hour
            * HOURS_PER_MONTH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::model::DecodeCurve;
    use fleetsim_core::SimDuration;

    /// Decode steps of 10 ms whatever the batch; a mixed step of 1 ms per
    /// prompt token.
    #[derive(Debug)]
    struct Flat;

    impl PerfModel for Flat {
        fn decode_curve(&self, _batch_size: u32) -> DecodeCurve {
            DecodeCurve::linear_secs(0.010, 0.0)
        }
        fn mixed_step(&self, _seqs: u32, _ctx: u64, prefill: &[PrefillChunk]) -> SimDuration {
            SimDuration(u64::from(prefill[0].new_tokens) * 1_000_000)
        }
    }

    fn shape(max_num_seqs: u32, kv_cache_tokens: u64, queue_cap: Option<u32>) -> ReplicaShape {
        ReplicaShape {
            max_num_seqs,
            batch_limit: "max_num_seqs",
            max_num_batched_tokens: 512,
            kv_cache_tokens,
            queue_cap,
            usd_per_gpu_hour: 2.0,
            tensor_parallel: 2,
        }
    }

    /// `(shape, peak, mean in, mean out)` → `(concurrency, limit, latency_s, replicas)`.
    fn check(s: ReplicaShape, peak: f64, input: f64, output: f64, expect: (u32, &str, f64, u32)) {
        let e = estimate("g", &s, &Flat, peak, input, output);
        let got = (e.concurrency, e.concurrency_limit, e.latency_s, e.replicas);
        assert!(
            got.0 == expect.0
                && got.1 == expect.1
                && (got.2 - expect.2).abs() < 1e-9
                && got.3 == expect.3,
            "{s:?} {peak} {input} {output}: got {got:?}, expected {expect:?}"
        );
        assert!((e.monthly_usd - f64::from(e.replicas) * 2.0 * 2.0 * 730.0).abs() < 1e-9);
        assert!((e.per_replica_rate_per_s - f64::from(e.concurrency) / e.latency_s).abs() < 1e-9);
    }

    #[test]
    fn replicas_are_the_peak_over_concurrency_per_latency() {
        // 100-token prompts (0.1 s) + 10 − 1 steps of 10 ms = 0.19 s at 10
        // requests: 52.6 req/s per replica, so 100 req/s needs 2.
        check(
            shape(10, 1 << 30, None),
            100.0,
            100.0,
            10.0,
            (10, "max_num_seqs", 0.19, 2),
        );
        check(
            shape(10, 1 << 30, None),
            52.0,
            100.0,
            10.0,
            (10, "max_num_seqs", 0.19, 1),
        );
        // A prompt over max_num_batched_tokens takes two chunks of 512.
        check(
            shape(10, 1 << 30, None),
            1.0,
            1000.0,
            1.0,
            (10, "max_num_seqs", 1.024, 1),
        );
        // The KV cache holds 4 mean requests of 110 tokens.
        check(
            shape(10, 440, None),
            100.0,
            100.0,
            10.0,
            (4, "kv_cache", 0.19, 5),
        );
        // A central queue's cap below both.
        check(
            shape(10, 1 << 30, Some(2)),
            100.0,
            100.0,
            10.0,
            (2, "queue", 0.19, 10),
        );
        // No traffic still needs one replica; a cache too small for one
        // mean request still holds one.
        check(
            shape(10, 1 << 30, None),
            0.0,
            100.0,
            10.0,
            (10, "max_num_seqs", 0.19, 1),
        );
        check(
            shape(10, 5, None),
            1.0,
            100.0,
            10.0,
            (1, "kv_cache", 0.19, 1),
        );
    }
}
