//! What a run is configured with: deployments, their fleets and replicas,
//! pipelines, the SLA and the time-series resolution.

use crate::lifecycle::LifecycleSpec;
use crate::metrics::SlaConfig;
use crate::model::PerfModel;
use crate::nodes::Placement;
use crate::queue::QueueSpec;
use crate::replica::batching::BatchingConfig;
use crate::replica::slots::ServiceTime;
use crate::time::SimDuration;
use std::sync::Arc;

/// What every replica of the fleet is.
#[derive(Clone, Debug)]
pub enum ReplicaSpec {
    /// Continuous batching with a performance model.
    Batching {
        /// Scheduler limits and KV capacity.
        config: Arc<BatchingConfig>,
        /// Iteration durations.
        perf: Arc<dyn PerfModel>,
    },
    /// `slots` servers with batch-independent service times.
    Slots {
        /// Servers per replica.
        slots: u32,
        /// Service-time distribution.
        service: ServiceTime,
    },
}

/// A fleet of identical replicas.
#[derive(Clone, Debug)]
pub struct FleetSpec {
    /// Replicas ready at time 0.
    pub replicas: u32,
    /// GPUs each replica occupies (tensor-parallel degree), for GPU-hours.
    pub gpus_per_replica: u32,
    /// The replica model.
    pub replica: ReplicaSpec,
    /// Fixed per-request latency outside the engine (HTTP, tokenisation,
    /// detokenisation), added to queue wait, TTFT and end-to-end latency.
    /// Because every request gets the same delay, adding it afterwards is
    /// exactly equivalent to delaying every arrival by it.
    pub frontend_latency: SimDuration,
    /// How replicas are added and removed during the run.
    pub lifecycle: LifecycleSpec,
    /// Node pool, cold-start model and artifacts. With it, replicas are
    /// placed on GPU nodes, cold starts are sampled against each node's
    /// caches and the run reports GPU time by state and dollars; without
    /// it, replicas hold their GPUs on their own and cold starts take
    /// `lifecycle.cold_start`.
    pub placement: Option<Arc<Placement>>,
    /// Where requests wait and in which order (see [`crate::queue`]).
    pub queue: QueueSpec,
}

/// One deployment: a model served by its own fleet, router and queue.
#[derive(Clone, Debug)]
pub struct DeploymentSpec {
    /// Name, as a trace's model column writes it.
    pub name: Box<str>,
    /// Weight in the deployment mix for requests that name no model (with
    /// one deployment, every request goes to it and this is unused).
    pub share: f64,
    /// Its fleet.
    pub fleet: FleetSpec,
}

impl DeploymentSpec {
    /// A deployment named `name` with a zero share.
    pub fn new(name: &str, fleet: FleetSpec) -> Self {
        DeploymentSpec {
            name: name.into(),
            share: 0.0,
            fleet,
        }
    }
}

/// A pipeline: a request passes through the `stages` deployments in
/// order (say VAD → ASR → LLM), each serving it as its own request, with a
/// network hop before every stage after the first. The request ends once:
/// completed when its last stage completes, or with the outcome of the
/// stage that lost it.
#[derive(Clone, Debug)]
pub struct PipelineSpec {
    /// Name, as a trace's model column writes it (next to the deployments').
    pub name: Box<str>,
    /// Weight in the mix for requests that name no model.
    pub share: f64,
    /// Deployment indices, in order; each at most once (no cycles).
    pub stages: Vec<u16>,
    /// Network latency before each stage (`hops[0]` is not used: the first
    /// stage receives the request as it arrives).
    pub hops: Vec<SimDuration>,
}

/// A resolved, validated run configuration.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seed of every random stream.
    pub seed: u64,
    /// The deployments, at least one. A request goes to the deployment its
    /// `model` names, else to one drawn by `share` from the stream
    /// `("workload.deployment_mix", 0)`; with one deployment, to it. With
    /// node pools, every deployment's placement must list the same pools:
    /// they share the nodes.
    pub deployments: Vec<DeploymentSpec>,
    /// Pipelines over the deployments (a request naming one passes through
    /// its stages). Their names and shares join the deployments' in the mix.
    pub pipelines: Vec<PipelineSpec>,
    /// Service-level thresholds and targets.
    pub sla: SlaConfig,
    /// Width of a time-series window.
    pub timeseries_resolution: SimDuration,
}
