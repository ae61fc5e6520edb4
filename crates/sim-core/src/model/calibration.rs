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

fn efficiencies(generation: Generation) -> Efficiencies {
    match generation {
        Generation::Ampere | Generation::Ada | Generation::Hopper | Generation::Blackwell => {
            Efficiencies {
                bf16: 0.81,
                fp8: 0.81,
                fp4: 0.81,
                memory: 0.88,
            }
        }
    }
}

fn overheads(engine: EngineKind) -> Overheads {
    match engine {
        EngineKind::Vllm | EngineKind::Trtllm => Overheads {
            step_s: 1.28e-3,
            per_seq_s: 41e-6,
            allreduce_s: 20e-6,
        },
    }
}

/// The calibrated factors for `engine` on a GPU of `generation`.
pub fn factors(engine: EngineKind, generation: Generation) -> RooflineFactors {
    let e = efficiencies(generation);
    let o = overheads(engine);
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
