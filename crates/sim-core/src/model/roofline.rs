//! Roofline performance model: an iteration takes the longer of its compute
//! time and its memory-traffic time at calibrated fractions of the GPU's
//! peak, plus a fixed scheduling overhead and tensor-parallel all-reduces.
//!
//! Per iteration with `T` batched tokens over `S` sequences:
//! - FLOPs  = 2·P_active·T + A·(attended context), A = 4·layers·q_heads·head_dim
//! - bytes  = weights touched + KV bytes per token · (context read and written)
//! - time   = max(FLOPs / (TP·η_c·F), bytes / (TP·η_m·BW))
//!   + overhead_step + overhead_seq·S + 2·layers·(α + ring all-reduce of T·hidden·2 B)
//!
//! Only η_c, η_m and the overheads are calibrated; everything else is the
//! published GPU and model specification (`docs/validation.md`).

use super::collective::ring_allreduce_s;
use super::hardware::{GpuSpec, LinkKind, ModelSpec};
use super::perf::{DecodeCurve, PerfModel, PrefillChunk};
use crate::field::FieldError;
use crate::time::SimDuration;
use serde::{Deserialize, Serialize};

/// Calibration factors of the roofline model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RooflineFactors {
    /// Achieved fraction of peak BF16/FP16 tensor FLOP/s (0, 1].
    pub compute_efficiency: f64,
    /// Achieved fraction of peak FP8 tensor FLOP/s (0, 1], for FP8
    /// weights on a GPU with FP8 tensor cores.
    pub fp8_compute_efficiency: f64,
    /// Achieved fraction of peak FP4 tensor FLOP/s (0, 1], for FP4
    /// weights on a GPU with FP4 tensor cores.
    pub fp4_compute_efficiency: f64,
    /// Achieved fraction of peak memory bandwidth (0, 1].
    pub memory_efficiency: f64,
    /// Fixed CPU/launch overhead per iteration, seconds.
    pub step_overhead_s: f64,
    /// Extra overhead per scheduled sequence, seconds.
    pub per_seq_overhead_s: f64,
    /// Fixed latency of one all-reduce call under tensor parallelism
    /// (launch and synchronisation), seconds; each ring step adds the
    /// link's hop latency and the message its transfer time.
    pub allreduce_latency_s: f64,
}

impl Default for RooflineFactors {
    /// The single-point calibration (TensorRT-LLM's online-serving
    /// measurements of Llama-3.1-8B on one H100, `docs/validation.md`
    /// section 2); deployments take
    /// [`calibration::factors`](super::calibration::factors) for their
    /// engine and GPU generation instead.
    fn default() -> Self {
        super::calibration::single_point()
    }
}

/// The lowest accepted efficiency. Real engines reach tens of percent of
/// peak; a factor near zero makes iterations last for centuries and the
/// simulated clock overflow.
pub const MIN_EFFICIENCY: f64 = 0.01;

/// The largest accepted overhead, seconds (real ones are micro- to
/// milliseconds); larger values would overflow the simulated clock.
pub const MAX_OVERHEAD_S: f64 = 1.0;

impl RooflineFactors {
    /// Checks ranges; the error names the offending field.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (name, v) in [
            ("compute_efficiency", self.compute_efficiency),
            ("fp8_compute_efficiency", self.fp8_compute_efficiency),
            ("fp4_compute_efficiency", self.fp4_compute_efficiency),
            ("memory_efficiency", self.memory_efficiency),
        ] {
            if !(MIN_EFFICIENCY..=1.0).contains(&v) {
                return Err(FieldError::new(
                    name,
                    format!("must be between {MIN_EFFICIENCY} and 1, got {v}"),
                ));
            }
        }
        for (name, v) in [
            ("step_overhead_s", self.step_overhead_s),
            ("per_seq_overhead_s", self.per_seq_overhead_s),
            ("allreduce_latency_s", self.allreduce_latency_s),
        ] {
            if !(0.0..=MAX_OVERHEAD_S).contains(&v) {
                return Err(FieldError::new(
                    name,
                    format!("must be between 0 and {MAX_OVERHEAD_S} s, got {v}"),
                ));
            }
        }
        Ok(())
    }
}

/// The roofline model for one (GPU, model, tensor-parallel degree, dtype).
#[derive(Clone, Debug)]
pub struct Roofline {
    factors: RooflineFactors,
    tensor_parallel: u32,
    /// Peak tensor FLOP/s at the weights' precision times its achieved
    /// fraction, per GPU.
    achieved_flops_per_s: f64,
    bandwidth_bytes_per_s: f64,
    link_bytes_per_s: f64,
    link: LinkKind,
    params_active: f64,
    params_total: f64,
    bytes_per_param: f64,
    kv_bytes_per_token: f64,
    attention_flops_per_context_token: f64,
    layers: f64,
    hidden_size: f64,
    /// GPUs that schedule sequences side by side: the tensor-parallel
    /// degree under attention data parallelism, else 1.
    attention_ranks: f64,
    /// Attention weights every GPU reads beyond its tensor-parallel shard
    /// (the copies attention data parallelism keeps), bytes.
    replicated_attention_bytes: f64,
}

impl Roofline {
    /// Builds the model. `bytes_per_param` is 2 for BF16 weights, 1 for FP8
    /// and 0.5 for FP4, which select the FP8 or FP4 tensor peak (and its
    /// efficiency) when the GPU has one; otherwise the BF16 peak is used.
    pub fn new(
        gpu: &GpuSpec,
        model: &ModelSpec,
        tensor_parallel: u32,
        bytes_per_param: f64,
        kv_bytes_per_element: f64,
        factors: RooflineFactors,
    ) -> Self {
        let bf16 = (gpu.bf16_flops_per_s, factors.compute_efficiency);
        let fp8 = gpu
            .fp8_flops_per_s
            .map(|peak| (peak, factors.fp8_compute_efficiency));
        let fp4 = gpu
            .fp4_flops_per_s
            .map(|peak| (peak, factors.fp4_compute_efficiency));
        let (peak, efficiency) = if bytes_per_param <= 0.5 {
            fp4.or(fp8).unwrap_or(bf16)
        } else if bytes_per_param <= 1.0 {
            fp8.unwrap_or(bf16)
        } else {
            bf16
        };
        Roofline {
            tensor_parallel: tensor_parallel.max(1),
            achieved_flops_per_s: peak * efficiency,
            bandwidth_bytes_per_s: gpu.memory_bandwidth_bytes_per_s,
            link_bytes_per_s: gpu.interconnect_bytes_per_s,
            link: gpu.link,
            factors,
            params_active: model.params_active,
            params_total: model.params_total,
            bytes_per_param,
            // With more GPUs than KV heads, each GPU reads its own copy.
            kv_bytes_per_token: model.kv_bytes_per_token(kv_bytes_per_element)
                * (f64::from(tensor_parallel) / f64::from(model.kv_heads.max(1))).max(1.0),
            attention_flops_per_context_token: model.attention_flops_per_context_token(),
            layers: f64::from(model.layers),
            hidden_size: f64::from(model.hidden_size),
            attention_ranks: 1.0,
            replicated_attention_bytes: 0.0,
        }
    }

    /// Attention data parallelism (TensorRT-LLM's `enable_attention_dp`):
    /// each of the tensor-parallel GPUs runs attention for its own share
    /// of the sequences with a full copy of the attention weights and
    /// schedules them itself, while the experts stay sharded. So every GPU
    /// reads the attention weights whole, the KV cache is split by request
    /// (no head is copied) and the per-sequence overhead is paid on each
    /// rank for its share only.
    pub fn with_attention_data_parallel(
        mut self,
        model: &ModelSpec,
        kv_bytes_per_element: f64,
    ) -> Self {
        let tp = f64::from(self.tensor_parallel);
        self.attention_ranks = tp;
        self.replicated_attention_bytes =
            model.attention_params() * self.bytes_per_param * (tp - 1.0);
        self.kv_bytes_per_token = model.kv_bytes_per_token(kv_bytes_per_element);
        self
    }

    fn compute_rate(&self) -> f64 {
        f64::from(self.tensor_parallel) * self.achieved_flops_per_s
    }

    fn memory_rate(&self) -> f64 {
        f64::from(self.tensor_parallel)
            * self.factors.memory_efficiency
            * self.bandwidth_bytes_per_s
    }

    /// Weight bytes read for `tokens` batched tokens. Dense models read all
    /// weights; a mixture-of-experts reads the expected share of experts that
    /// at least one token routes to (independent routing per token).
    fn weight_bytes_touched(&self, tokens: f64) -> f64 {
        let active_fraction = (self.params_active / self.params_total).clamp(0.0, 1.0);
        let touched = 1.0 - (1.0 - active_fraction).powf(tokens.max(1.0));
        self.params_total * self.bytes_per_param * touched.max(active_fraction)
            + self.replicated_attention_bytes
    }

    /// Scheduling, launch and tensor-parallel communication time.
    fn overhead_s(&self, tokens: f64, seqs: f64) -> f64 {
        let f = &self.factors;
        f.step_overhead_s
            + f.per_seq_overhead_s * seqs / self.attention_ranks
            + self.allreduce_s(tokens)
    }

    /// The two all-reduces per layer of tensor parallelism over `tokens`
    /// batched tokens' activations (BF16, `hidden` wide): each costs the
    /// engine's call latency plus NCCL's ring time for the message
    /// ([`ring_allreduce_s`]).
    fn allreduce_s(&self, tokens: f64) -> f64 {
        if self.tensor_parallel <= 1 {
            return 0.0;
        }
        let bytes = tokens * self.hidden_size * 2.0;
        let ring = ring_allreduce_s(
            self.link,
            self.link_bytes_per_s,
            self.tensor_parallel,
            bytes,
        );
        2.0 * self.layers * (self.factors.allreduce_latency_s + ring)
    }
}

impl PerfModel for Roofline {
    fn decode_curve(&self, batch_size: u32) -> DecodeCurve {
        let b = f64::from(batch_size);
        let overhead = self.overhead_s(b, b);
        let compute = (
            2.0 * self.params_active * b / self.compute_rate() + overhead,
            self.attention_flops_per_context_token / self.compute_rate(),
        );
        let memory = (
            self.weight_bytes_touched(b) / self.memory_rate() + overhead,
            self.kv_bytes_per_token / self.memory_rate(),
        );
        DecodeCurve::max_of_lines_secs(compute, memory)
    }

    fn mixed_step(
        &self,
        decode_seqs: u32,
        decode_context_tokens: u64,
        prefill: &[PrefillChunk],
    ) -> SimDuration {
        let mut tokens = f64::from(decode_seqs);
        let mut attended = decode_context_tokens as f64;
        let mut kv_touched = decode_context_tokens as f64;
        for chunk in prefill {
            let n = f64::from(chunk.new_tokens);
            let c0 = f64::from(chunk.cached_tokens);
            tokens += n;
            // Causal attention: token j of the chunk attends to c0 + j + 1 tokens.
            attended += n * (c0 + (n + 1.0) / 2.0);
            kv_touched += c0 + n;
        }
        let seqs = f64::from(decode_seqs) + prefill.len() as f64;
        let flops =
            2.0 * self.params_active * tokens + self.attention_flops_per_context_token * attended;
        let bytes = self.weight_bytes_touched(tokens) + self.kv_bytes_per_token * kv_touched;
        let t = (flops / self.compute_rate()).max(bytes / self.memory_rate())
            + self.overhead_s(tokens, seqs);
        SimDuration::try_from_secs_f64(t).unwrap_or(SimDuration(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::hardware::{gpu, model};

    fn ideal() -> RooflineFactors {
        RooflineFactors {
            compute_efficiency: 1.0,
            fp8_compute_efficiency: 1.0,
            fp4_compute_efficiency: 1.0,
            memory_efficiency: 1.0,
            step_overhead_s: 0.0,
            per_seq_overhead_s: 0.0,
            allreduce_latency_s: 0.0,
        }
    }

    fn check_decode_ms(gpu_name: &str, model_name: &str, tp: u32, bpp: f64, expect_ms: f64) {
        let r = Roofline::new(
            gpu(gpu_name).unwrap(),
            model(model_name).unwrap(),
            tp,
            bpp,
            bpp,
            ideal(),
        );
        // The anchors are weights only: tensor-parallel communication
        // (link latencies, not a calibration factor) comes on top.
        let ms = r.decode_curve(1).step(0).as_millis_f64() - r.allreduce_s(1.0) * 1e3;
        assert!(
            (ms - expect_ms).abs() / expect_ms < 0.01,
            "{gpu_name} {model_name} TP{tp}: {ms} ms vs {expect_ms} ms"
        );
    }

    /// The weights-only anchor numbers of the reference roofline table (§7.2).
    #[test]
    fn weight_roofline_matches_reference_anchors() {
        check_decode_ms("h100-sxm", "llama-3.1-8b", 1, 2.0, 4.79);
        check_decode_ms("h100-sxm", "llama-3.1-8b", 1, 1.0, 2.40);
        check_decode_ms("h200", "llama-3.1-8b", 1, 2.0, 3.35);
        check_decode_ms("a100-80gb", "llama-3.1-8b", 1, 2.0, 7.88);
        check_decode_ms("l40s", "llama-3.1-8b", 1, 2.0, 18.6);
        check_decode_ms("b200", "llama-3.1-8b", 1, 2.0, 2.09);
        check_decode_ms("h100-sxm", "llama-3.1-70b", 4, 2.0, 10.54);
    }

    #[test]
    fn prefill_of_1000_tokens_matches_reference_anchor() {
        // §7.2: 1,000-token prefill of Llama-3.1-8B BF16 on H100 at 100 % ≈ 16.2 ms.
        let r = Roofline::new(
            gpu("h100-sxm").unwrap(),
            model("llama-3.1-8b").unwrap(),
            1,
            2.0,
            2.0,
            ideal(),
        );
        let ms = r
            .mixed_step(
                0,
                0,
                &[PrefillChunk {
                    new_tokens: 1000,
                    cached_tokens: 0,
                }],
            )
            .as_millis_f64();
        assert!((ms - 16.2).abs() < 0.6, "{ms}");
    }

    /// Tensor parallelism costs two all-reduces per layer: 160 calls for
    /// a 70B model, each the call latency plus the ring time; PCIe's
    /// slower link costs more than NVLink and each TP degree more than the
    /// last.
    #[test]
    fn allreduce_time_follows_the_link_and_the_degree() {
        let at = |gpu_name: &str, tp: u32, tokens: f64| {
            let r = Roofline::new(
                gpu(gpu_name).unwrap(),
                model("llama-3.1-70b").unwrap(),
                tp,
                1.0,
                1.0,
                RooflineFactors::default(),
            );
            r.allreduce_s(tokens)
        };
        let call = RooflineFactors::default().allreduce_latency_s;
        let h100 = gpu("h100-sxm").unwrap();
        let expect = 160.0
            * (call + ring_allreduce_s(h100.link, h100.interconnect_bytes_per_s, 4, 16_384.0));
        assert!((at("h100-sxm", 4, 1.0) - expect).abs() < 1e-12);
        assert!(
            at("h100-sxm", 1, 1.0).abs() < f64::MIN_POSITIVE,
            "one GPU has no all-reduce"
        );
        assert!(at("h100-sxm", 2, 1.0) < at("h100-sxm", 4, 1.0));
        assert!(at("h100-sxm", 4, 1.0) < at("h100-sxm", 8, 1.0));
        assert!(at("l40s", 4, 1.0) > at("h100-sxm", 4, 1.0));
        assert!(at("l40s", 4, 8192.0) > 10.0 * at("h100-sxm", 4, 8192.0));
    }

    #[test]
    fn decode_time_grows_with_context() {
        let r = Roofline::new(
            gpu("h100-sxm").unwrap(),
            model("llama-3.1-8b").unwrap(),
            1,
            2.0,
            2.0,
            RooflineFactors::default(),
        );
        let c = r.decode_curve(32);
        assert!(c.step(100_000) > c.step(0));
    }

    #[test]
    fn factor_validation_names_the_field() {
        let bad = RooflineFactors {
            memory_efficiency: 1.5,
            ..RooflineFactors::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "memory_efficiency");
        let bad = RooflineFactors {
            step_overhead_s: f64::NAN,
            ..RooflineFactors::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "step_overhead_s");
        let bad = RooflineFactors {
            compute_efficiency: 1e-300,
            ..RooflineFactors::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "compute_efficiency");
        let bad = RooflineFactors {
            per_seq_overhead_s: 1e300,
            ..RooflineFactors::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "per_seq_overhead_s");
    }

    #[test]
    fn attention_data_parallel_reads_attention_copies_and_shares_the_per_sequence_cost() {
        // Qwen3-235B FP8 on 8 H200s, decoding 1,024 sequences with no
        // context: every expert is touched, so the weights read are all
        // 235.1e9 bytes, plus, with attention data parallelism, 7 more
        // copies of the attention projections; the per-sequence overhead
        // is paid on each rank for 128 sequences instead of 1,024.
        let per_seq_s = 20e-6;
        let factors = RooflineFactors {
            per_seq_overhead_s: per_seq_s,
            ..ideal()
        };
        let (g, m) = (gpu("h200").unwrap(), model("qwen3-235b-a22b").unwrap());
        let tp = Roofline::new(g, m, 8, 1.0, 1.0, factors.clone());
        let dp = Roofline::new(g, m, 8, 1.0, 1.0, factors).with_attention_data_parallel(m, 1.0);
        let step_ms = |r: &Roofline| r.decode_curve(1024).step(0).as_millis_f64();
        let rate = 8.0 * 4.8e12;
        let attention = 94.0 * 4096.0 * 2.0 * (64.0 + 4.0) * 128.0;
        let comms_ms = tp.allreduce_s(1024.0) * 1e3;
        let expect_tp = 235.1e9 / rate * 1e3 + 1024.0 * per_seq_s * 1e3 + comms_ms;
        let expect_dp =
            (235.1e9 + 7.0 * attention) / rate * 1e3 + 128.0 * per_seq_s * 1e3 + comms_ms;
        for (got, expect) in [(step_ms(&tp), expect_tp), (step_ms(&dp), expect_dp)] {
            assert!((got / expect - 1.0).abs() < 1e-3, "{got} ms vs {expect} ms");
        }
        // The KV cache is split by request: no head is read twice.
        assert!((dp.kv_bytes_per_token * 2.0 / tp.kv_bytes_per_token - 1.0).abs() < 1e-12);
    }
}
