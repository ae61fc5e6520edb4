//! The roofline's calibration: one set of factors per serving engine and
//! GPU generation, fitted to public measurements (the fit set of
//! `validation/measurements.csv`; the method and the check-set errors are
//! in `docs/validation.md`), never per row. Until a generation or engine
//! has its own fit, it takes the one calibration fitted so far
//! (TensorRT-LLM v0.14, Llama-3.1-8B BF16 on one H100).
//!
//! An engine's factors describe its software (iteration and per-sequence
//! overheads, the all-reduce call latency); a generation's describe how
//! close its kernels come to the datasheet (achieved fractions of peak
//! FLOP/s by precision and of memory bandwidth).

use super::hardware::Generation;
use super::roofline::RooflineFactors;
use serde::{Deserialize, Serialize};

/// A serving engine, as far as its defaults and its calibration go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// vLLM (V1 engine).
    #[default]
    Vllm,
    /// NVIDIA TensorRT-LLM.
    Trtllm,
}

impl EngineKind {
    /// Every engine, for error messages.
    pub const ALL: [EngineKind; 2] = [EngineKind::Vllm, EngineKind::Trtllm];

    /// The name a scenario writes.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Vllm => "vllm",
            EngineKind::Trtllm => "trtllm",
        }
    }
}

/// Achieved fractions of a generation's peaks.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Efficiencies {
    bf16: f64,
    fp8: f64,
    fp4: f64,
    memory: f64,
}

/// An engine's software costs.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Overheads {
    step_s: f64,
    per_seq_s: f64,
    allreduce_s: f64,
}

/// The single-point calibration the model had before per-generation
/// fits: TensorRT-LLM v0.14 online serving of Llama-3.1-8B BF16 on one
/// H100 (`docs/validation.md`, section 2). vLLM keeps it until vLLM
/// measurements are fitted.
const SINGLE_POINT: (Efficiencies, Overheads) = (
    Efficiencies {
        bf16: 0.81,
        fp8: 0.81,
        fp4: 0.81,
        memory: 0.88,
    },
    Overheads {
        step_s: 1.28e-3,
        per_seq_s: 41e-6,
        allreduce_s: 20e-6,
    },
);

/// TensorRT-LLM's achieved fractions of peak by generation, fitted to the
/// fit set (TensorRT-LLM v0.14 online and v0.17 offline, Llama-3.1-8B;
/// v1.0 offline, Llama-3.3-70B FP4 on B200). A precision no fit-set row
/// runs on a generation keeps the single-point value.
fn trtllm_efficiencies(generation: Generation) -> Efficiencies {
    let single = SINGLE_POINT.0;
    match generation {
        Generation::Hopper => Efficiencies {
            bf16: 0.665,
            fp8: 0.615,
            fp4: single.fp4,
            memory: 0.92,
        },
        Generation::Ampere => Efficiencies {
            bf16: 0.81,
            fp8: single.fp8,
            fp4: single.fp4,
            memory: 0.82,
        },
        Generation::Ada => Efficiencies {
            bf16: single.bf16,
            fp8: 0.486,
            fp4: single.fp4,
            memory: 0.828,
        },
        // FP8 and memory as Azure measured them on ND GB200 v6 (2,744 of
        // 5,000 dense FP8 TFLOPS sustained in GEMM, 7.35 of 8 TB/s;
        // `../shared/reference/hardware.md` §4); BF16 as fitted for the
        // nearest generation, Hopper (no Blackwell BF16 row is in the fit
        // set); FP4 fitted on B200's Llama-3.3-70B rows.
        Generation::Blackwell => Efficiencies {
            bf16: 0.665,
            fp8: 2744.0 / 5000.0,
            fp4: 0.227,
            memory: 0.92,
        },
    }
}

/// TensorRT-LLM's overheads, fitted with its efficiencies; the all-reduce
/// call latency is not fitted (no tensor-parallel row is in the fit set).
const TRTLLM_OVERHEADS: Overheads = Overheads {
    step_s: 2.139e-3,
    per_seq_s: 19.49e-6,
    allreduce_s: 20e-6,
};

/// The calibrated factors for `engine` on a GPU of `generation`.
pub fn factors(engine: EngineKind, generation: Generation) -> RooflineFactors {
    let (e, o) = match engine {
        EngineKind::Vllm => SINGLE_POINT,
        EngineKind::Trtllm => (trtllm_efficiencies(generation), TRTLLM_OVERHEADS),
    };
    RooflineFactors {
        compute_efficiency: e.bf16,
        fp8_compute_efficiency: e.fp8,
        fp4_compute_efficiency: e.fp4,
        memory_efficiency: e.memory,
        step_overhead_s: o.step_s,
        per_seq_overhead_s: o.per_seq_s,
        allreduce_latency_s: o.allreduce_s,
    }
}
