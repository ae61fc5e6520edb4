//! Requests and their outcomes.

use crate::time::SimTime;
use serde::{Deserialize, Serialize};

/// Index of a request in arrival order (0-based), unique within a run.
pub type RequestId = u64;

/// One inference request as the workload produces it.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Position in arrival order; assigned by the engine, not the reader.
    pub id: RequestId,
    /// Arrival instant.
    pub arrival: SimTime,
    /// Prompt length in tokens (at least 1).
    pub input_tokens: u32,
    /// Tokens to generate (at least 1).
    pub output_tokens: u32,
    /// Target deployment (model) name, if the trace names one.
    pub model: Option<Box<str>>,
    /// LoRA adapter name, if any.
    pub adapter: Option<Box<str>>,
    /// Priority class name, if any.
    pub priority_class: Option<Box<str>>,
    /// Hashes of the prompt's prefix blocks (Mooncake `hash_ids`), oldest first.
    pub prefix_hashes: Box<[u64]>,
    /// How hard the request is, a finite score the trace gives (say a
    /// classifier's); only a model router reads it
    /// ([`crate::model_router`]).
    pub difficulty: Option<f64>,
}

impl Request {
    /// A request with only the fields every workload has.
    pub fn new(arrival: SimTime, input_tokens: u32, output_tokens: u32) -> Self {
        Request {
            id: 0,
            arrival,
            input_tokens,
            output_tokens,
            model: None,
            adapter: None,
            priority_class: None,
            prefix_hashes: Box::new([]),
            difficulty: None,
        }
    }
}

/// How a request ended. Every request ends with exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Every output token was generated.
    Completed,
    /// Refused on arrival: the queue was full, or the request can never fit
    /// the replica (prompt plus output larger than the KV cache).
    Rejected,
    /// Waited in a queue longer than the queue timeout.
    TimedOut,
    /// Lost while running (replica killed without drain).
    Failed,
}

impl Outcome {
    /// The lowercase name used in CSV and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Rejected => "rejected",
            Outcome::TimedOut => "timed_out",
            Outcome::Failed => "failed",
        }
    }
}
