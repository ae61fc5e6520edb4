//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

use fleetsim_core::metrics::SlaConfig;
use fleetsim_core::model::hardware::{gpu, model};
use fleetsim_core::model::{PerfModel, Roofline, RooflineFactors};
use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::{DeploymentSpec, FleetSpec, ReplicaSpec, Request, SimConfig, SimDuration};
use std::sync::Arc;

/// Least outstanding, lowest index on ties: enough routing for engine tests.
#[derive(Debug)]
pub struct LeastOutstanding;

impl fleetsim_core::Router for LeastOutstanding {
    fn route(&mut self, _: &Request, loads: &[ReplicaLoad]) -> usize {
        least_outstanding(loads)
    }
}

/// The least loaded replica, lowest index on ties.
pub fn least_outstanding(loads: &[ReplicaLoad]) -> usize {
    (0..loads.len())
        .min_by_key(|&i| (loads[i].outstanding(), i))
        .unwrap_or(0)
}

/// The calibrated roofline of Llama-3.1-8B on one H100 (BF16).
pub fn roofline() -> Arc<dyn PerfModel> {
    Arc::new(Roofline::new(
        gpu("h100-sxm").unwrap(),
        model("llama-3.1-8b").unwrap(),
        1,
        2.0,
        2.0,
        RooflineFactors::default(),
    ))
}

/// A fixed fleet of `replicas` one-GPU replicas of `replica`, no frontend
/// latency, default lifecycle and queue, no placement.
pub fn fleet(replicas: u32, replica: ReplicaSpec) -> FleetSpec {
    FleetSpec {
        replicas,
        gpus_per_replica: 1,
        replica,
        frontend_latency: SimDuration::ZERO,
        lifecycle: Default::default(),
        placement: None,
        queue: Default::default(),
    }
}

/// A run of one deployment, seed 1, no SLA, 10 s time-series windows.
pub fn config(fleet: FleetSpec) -> SimConfig {
    SimConfig {
        seed: 1,
        deployments: vec![DeploymentSpec::new("default", fleet)],
        pipelines: Vec::new(),
        model_routers: Vec::new(),
        sla: SlaConfig::default(),
        timeseries_resolution: SimDuration::from_secs(10),
    }
}
