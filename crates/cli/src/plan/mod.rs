//! `fleetsim plan`: what to run and what it costs, answered from the
//! scenario's workload, model, SLA targets and pools (`docs/plan.md`).
//!
//! The steps, one file each: the traffic the plan sizes for
//! ([`traffic`]); a first estimate per GPU type and tensor-parallel degree
//! by Little's law from the performance model ([`littles_law`]), and over
//! batch caps too, with the tokens/s per GPU vs per user Pareto front
//! ([`layouts`]); the
//! cheapest fixed fleet meeting every SLA target per GPU type, by a
//! bisection of simulations on common random numbers ([`fixed`]); the
//! offline oracle's lower bound and its schedule, replayed as a
//! `scheduled` policy ([`oracle`]); the scenario's own policy beside it
//! as regret; break-even against a pay-per-token API ([`break_even`]); and
//! the verdict with a TOML fragment to paste ([`verdict`]). Beside the
//! oracle compete a `scheduled` policy fitted from the time-of-day profile
//! ([`fitted`]) and, for each kind asked for, an autoscaler with its knobs
//! tuned by successive halving and local refinement ([`tuning`]).
//! Candidates are edited, loaded and run by [`evaluate`]; [`render`]
//! prints the table.

pub mod break_even;
pub mod evaluate;
pub mod fitted;
pub mod fixed;
pub mod layouts;
pub mod littles_law;
pub mod oracle;
pub mod render;
pub mod traffic;
pub mod tuning;
pub mod verdict;

mod steps;

use crate::run::RunError;
use crate::scenario::ScenarioError;
use crate::workload::OpenError;
use serde::Serialize;
use std::path::PathBuf;

pub use steps::plan;

/// What `fleetsim plan` is asked.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanOptions {
    /// The scenario file.
    pub scenario: PathBuf,
    /// `--set` overrides, applied before anything else.
    pub sets: Vec<String>,
    /// A trace replacing the scenario's workload.
    pub trace: Option<PathBuf>,
    /// With `trace`: sort it by arrival first.
    pub sort: bool,
    /// GPU types to size for (empty: the scenario's).
    pub gpus: Vec<String>,
    /// Seeds every candidate runs on: the scenario's, +1, …
    pub seeds: u32,
    /// Wall-clock seconds the plan may spend running simulations; a step
    /// that would start after it is left out (and the plan says so).
    pub budget_s: f64,
    /// Width of the arrival-rate windows, seconds.
    pub window_s: f64,
    /// Runs at once (0: one per core). Results do not depend on it.
    pub jobs: usize,
    /// Autoscaler kinds whose knobs are tuned ([`tuning::TUNABLE`]).
    pub policies: Vec<String>,
}

impl PlanOptions {
    /// Options for `scenario` with the defaults of the command line.
    pub fn new(scenario: PathBuf) -> PlanOptions {
        PlanOptions {
            scenario,
            sets: Vec::new(),
            trace: None,
            sort: false,
            gpus: Vec::new(),
            seeds: 1,
            budget_s: DEFAULT_BUDGET_S,
            window_s: DEFAULT_WINDOW_S,
            jobs: 0,
            policies: Vec::new(),
        }
    }
}

/// Seconds `plan` spends by default.
pub const DEFAULT_BUDGET_S: f64 = 50.0;
/// Width of a rate window by default, seconds.
pub const DEFAULT_WINDOW_S: f64 = 60.0;
/// Tensor-parallel degrees the plan tries (those the model and GPU allow).
pub const TENSOR_PARALLEL_DEGREES: [u32; 4] = [1, 2, 4, 8];
/// The most replicas the fixed-fleet search tries.
pub const MAX_PLAN_REPLICAS: u32 = 4_096;

/// Why a plan could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum PlanError {
    /// The scenario (or `--trace`) could not be loaded.
    Scenario(Box<ScenarioError>),
    /// A candidate the plan built could not be loaded.
    Candidate {
        /// Which candidate.
        what: String,
        /// The loader's error.
        error: Box<ScenarioError>,
    },
    /// A candidate's run stopped.
    Run {
        /// Which candidate.
        what: String,
        /// Why.
        error: Box<RunError>,
    },
    /// The workload could not be read for its rate profile.
    Workload(Box<OpenError>),
    /// A run had no cost section to price it by.
    NoCost {
        /// Which candidate.
        what: String,
    },
    /// The scenario asks something the planner does not answer.
    Unsupported {
        /// The scenario file.
        file: String,
        /// What, and what is allowed.
        message: String,
    },
}

impl PlanError {
    fn unsupported(file: &str, message: &str) -> PlanError {
        PlanError::Unsupported {
            file: file.to_string(),
            message: message.to_string(),
        }
    }
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Scenario(e) => write!(f, "{e}"),
            PlanError::Candidate { what, error } => write!(f, "plan candidate {what}: {error}"),
            PlanError::Run { what, error } => write!(f, "plan candidate {what}: {error}"),
            PlanError::Workload(e) => write!(f, "{e}"),
            PlanError::NoCost { what } => write!(
                f,
                "plan candidate {what}: the run has no monthly cost (a fleet is priced by its node pools)"
            ),
            PlanError::Unsupported { file, message } => write!(f, "{file}: {message}"),
        }
    }
}

impl std::error::Error for PlanError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlanError::Scenario(e) | PlanError::Candidate { error: e, .. } => e.source(),
            _ => None,
        }
    }
}

impl From<ScenarioError> for PlanError {
    fn from(e: ScenarioError) -> Self {
        PlanError::Scenario(Box::new(e))
    }
}

/// A (GPU, degree) the plan could not size, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Skipped {
    /// GPU type.
    pub gpu: String,
    /// GPUs per replica.
    pub tensor_parallel: u32,
    /// The loader's reason.
    pub reason: String,
}

/// The cheapest fixed fleet of one (GPU type, degree).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FixedPlan {
    /// GPU type.
    pub gpu: String,
    /// GPUs per replica.
    pub tensor_parallel: u32,
    /// The fewest replicas meeting every SLA target (`null`: none up to
    /// the search's maximum, or none before the budget ran out).
    pub replicas: Option<u32>,
    /// `replicas` met the SLA on every seed.
    pub meets_sla: bool,
    /// `replicas`' billed cost extrapolated to a month, USD.
    pub monthly_usd: Option<f64>,
    /// The monthly cost equation's total for `replicas`, USD (`null`
    /// when a run measured no SLA-feasible concurrency).
    pub equation_monthly_usd: Option<f64>,
    /// The search closed its bracket (`replicas − 1` failed).
    pub complete: bool,
    /// Every replica count simulated, in order.
    pub probes: Vec<fixed::Probe>,
    /// The pool the fleet was priced on (`null`: none billed it).
    pub pool: Option<PricedPool>,
}

/// The node pool a plan's costs come from, so that a price can be traced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PricedPool {
    /// The pool's name.
    pub name: String,
    /// GPUs on one node, billed whole.
    pub gpus_per_node: u32,
    /// Price of one GPU for one hour, USD.
    pub usd_per_gpu_hour: f64,
    /// The scenario names no pool: the plan added one of one replica per
    /// node (with any `--set pool.<key>`).
    pub added_by_plan: bool,
}

/// The oracle's bound and its replay.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OraclePlan {
    /// GPU type (the cheapest fixed fleet's).
    pub gpu: String,
    /// GPUs per replica.
    pub tensor_parallel: u32,
    /// The computed lower bound: replicas each window needs, billed for
    /// exactly that time up to the last arrival, extrapolated to a month,
    /// USD.
    pub monthly_usd: f64,
    /// Requests per second one replica carries within the SLA: the peak
    /// rate over the cheapest fixed fleet's replicas.
    pub replica_capacity_per_s: f64,
    /// How early a replica is asked for: the p95 cold start of the fixed
    /// fleet started cold at time 0 (the whole span if none was ready
    /// within it), seconds; `null` when the budget ran out first (the
    /// schedule then has no lead and is not replayed).
    pub lead_s: Option<f64>,
    /// Dips up to this long keep their replicas: a cold start plus the
    /// billing unit, seconds.
    pub hold_s: Option<f64>,
    /// Width of a window, seconds.
    pub window_s: f64,
    /// The schedule, as a `scheduled` policy's entries.
    pub schedule: Vec<oracle::Step>,
    /// The schedule replayed: did it meet the SLA, and at what cost.
    pub replay: Option<Replay>,
}

/// A simulated policy's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Replay {
    /// Every seed met every SLA target.
    pub meets_sla: bool,
    /// Billed cost extrapolated to a month, USD.
    pub monthly_usd: f64,
    /// Mean SLA attainment over seeds.
    pub sla_attainment: f64,
}

/// A policy beside the oracle.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyPlan {
    /// `fixed`, `scheduled` or the autoscaler's kind.
    pub kind: String,
    /// Where it comes from: `cheapest fixed fleet`, `oracle schedule`,
    /// `time-of-day fit`, `scenario`, `tuned`.
    pub source: String,
    /// Its `[deployment]` shape and `[scaling]` knobs.
    pub knobs: serde_json::Value,
    /// Every seed met every SLA target.
    pub meets_sla: bool,
    /// Billed cost extrapolated to a month, USD.
    pub monthly_usd: f64,
    /// `monthly_usd` minus the oracle's bound (`null` without an oracle).
    pub regret_usd: Option<f64>,
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// The scenario's name.
    pub scenario: String,
    /// Seeds every candidate ran on.
    pub seeds: Vec<u64>,
    /// What was sized for.
    pub traffic: traffic::Traffic,
    /// Little's-law estimates, one per (GPU, degree).
    pub littles_law: Vec<littles_law::Estimate>,
    /// Every (GPU, degree, batch cap) layout with its tokens/s per GPU and
    /// per user, on the Pareto front or not.
    pub layouts: Vec<layouts::Layout>,
    /// The layout with the fewest GPUs for the peak rate within the
    /// per-request SLA thresholds (`null`: none is).
    pub fewest_gpus: Option<layouts::Layout>,
    /// (GPU, degree) pairs that could not be sized or were not searched.
    pub skipped: Vec<Skipped>,
    /// The cheapest fixed fleet per (GPU type, degree) searched.
    pub fixed: Vec<FixedPlan>,
    /// The offline oracle (`null` when no fixed fleet met the SLA or the
    /// budget ran out first).
    pub oracle: Option<OraclePlan>,
    /// The `scheduled` policy fitted from the time-of-day profile (`null`
    /// without an oracle's capacity and lead).
    pub fitted: Option<fitted::FittedSchedule>,
    /// The knob search of each autoscaler kind asked for.
    pub tuned: Vec<tuning::Tuned>,
    /// Policies beside the oracle.
    pub policies: Vec<PolicyPlan>,
    /// `null` without an `[api]` price (or without a verdict).
    pub api_break_even: Option<break_even::BreakEven>,
    /// The cheapest plan meeting the SLA (`null`: none did).
    pub verdict: Option<verdict::Verdict>,
    /// Wall-clock seconds the plan could spend.
    pub budget_s: f64,
    /// Some step was left out because the budget ran out (the answer then
    /// depends on the machine's speed).
    pub budget_exhausted: bool,
    /// Simulations run.
    pub runs: u64,
}
