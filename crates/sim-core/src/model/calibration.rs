//! The roofline's calibration: one set of factors per serving engine and
//! GPU generation, fitted to public measurements (the fit set of
//! `validation/measurements.csv`; the method and the check-set errors are
//! in `docs/validation.md`), never per row.
//!
//! An engine's factors describe its software (iteration and per-sequence
//! overheads, the all-reduce call latency, the per-request latency outside
//! the engine); a generation's describe how close its kernels come to the
//! datasheet (achieved fractions of peak FLOP/s by precision and of memory
//! bandwidth) and are shared by the engines. The generations' factors were
//! fitted on TensorRT-LLM's published tables, the engines' overheads each on
//! its own measurements: TensorRT-LLM's tables, and real vLLM v0.15 runs for
//! vLLM.

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
/// H100 (`docs/validation.md`, section 2). A precision no fit-set row runs
/// on a generation keeps its efficiencies.
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

/// Achieved fractions of peak by generation, fitted to TensorRT-LLM's fit
/// set (v0.14 online and v0.17 offline, Llama-3.1-8B; v1.0 offline,
/// Llama-3.3-70B FP4 on B200), the only tables with a fit row on every
/// generation. A precision no fit-set row runs on a generation keeps the
/// single-point value. vLLM uses them too: its fit rows (one H100) fix its
/// software costs, not the kernels of other generations.
fn generation_efficiencies(generation: Generation) -> Efficiencies {
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

/// vLLM's overheads, fitted on the fit runs of the real vLLM v0.15 table
/// (Llama-3.1-8B on one H100, `validation/README.md`) with the
/// generations' efficiencies and vLLM's async scheduling; the all-reduce
/// call latency is not fitted (no tensor-parallel run is in the fit set).
const VLLM_OVERHEADS: Overheads = Overheads {
    step_s: VLLM_STEP_S,
    per_seq_s: VLLM_PER_SEQ_S,
    allreduce_s: 20e-6,
};
const VLLM_STEP_S: f64 = 1.4952e-3;
const VLLM_PER_SEQ_S: f64 = 29.31e-6;

/// The per-request latency outside the engine (API server, tokenisation,
/// hand-over to the engine), ms, added to TTFT and end-to-end latency.
/// TensorRT-LLM's is the single-point fit's (`docs/validation.md`, section
/// 2); vLLM's was fitted with its overheads.
pub fn frontend_latency_ms(engine: EngineKind) -> f64 {
    match engine {
        EngineKind::Vllm => VLLM_FRONTEND_MS,
        EngineKind::Trtllm => 10.45,
    }
}
const VLLM_FRONTEND_MS: f64 = 6.457;

/// The single-point calibration's factors (`docs/validation.md`, section 2).
pub fn single_point() -> RooflineFactors {
    to_factors(SINGLE_POINT)
}

/// The calibrated factors for `engine` on a GPU of `generation`.
pub fn factors(engine: EngineKind, generation: Generation) -> RooflineFactors {
    let overheads = match engine {
        EngineKind::Vllm => VLLM_OVERHEADS,
        EngineKind::Trtllm => TRTLLM_OVERHEADS,
    };
    to_factors((generation_efficiencies(generation), overheads))
}

fn to_factors((e, o): (Efficiencies, Overheads)) -> RooflineFactors {
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
