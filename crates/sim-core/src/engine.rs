//! The event loop.
//!
//! A SimPy-style kernel: one binary heap of events ordered by
//! `(time, class, sequence)`. `class` fixes the order of different kinds of
//! events at the same nanosecond (arrivals before replica wake-ups before
//! metric ticks), and `sequence`, a counter, keeps same-class events in the
//! order they were scheduled. Nothing else influences the order, so a run is
//! a pure function of its inputs.
//!
//! Arrivals are pulled from the workload one at a time, never the trace:
//! the next arrival waits beside the heap (it is the only class-0 event, so
//! comparing its time with the heap's earliest event keeps the order), and
//! the heap holds one pending wake-up per busy replica (plus superseded ones
//! waiting to be discarded) and the next metrics tick.

use crate::autoscale::{Autoscaler, MetricsSpec, MetricsStore, PodPhase, PodSample, Scrape};
use crate::coldstart::{provisioning_rng, ColdStartRngs, NodeCaches};
use crate::cost::{CostReport, GpuLedger, GpuState};
use crate::lifecycle::{LifecycleSpec, Phase, ReplicaLife, Stage};
use crate::metrics::{RequestRecord, SlaConfig};
use crate::model::PerfModel;
use crate::names::{NameError, NameMix};
use crate::nodes::{Node, Placement};
use crate::queue::{class_assigner, GatewayQueue, QueueMode, QueueSpec};
use crate::replica::batching::{BatchingConfig, BatchingReplica};
use crate::replica::slots::{ServiceTime, SlotReplica};
use crate::replica::{Aborted, Finished, Replica, ReplicaLoad, Seq, Wake};
use crate::request::{Outcome, Request};
use crate::rng;
use crate::router::Router;
use crate::summary::{
    AdapterReport, ClassReport, ColdStartStages, ColdStartSummary, DeploymentReport, FleetReport,
    GpuHours, PipelineReport, PrefixCacheReport, ReplicaRow, SimReport, Summary,
};
use crate::time::{SimDuration, SimTime, NANOS_PER_SEC};
use crate::workload::{BoxedWorkload, WorkloadError};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
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

/// Why a run stopped early.
#[derive(Debug)]
#[non_exhaustive]
pub enum SimError {
    /// The workload could not produce its next request.
    Workload(WorkloadError),
    /// The workload produced a request earlier than one before it.
    ArrivalInThePast {
        /// Arrival of the offending request, seconds.
        arrival_s: f64,
        /// Simulated time already reached, seconds.
        now_s: f64,
    },
    /// A deployment has no replica and no way to get one.
    EmptyFleet {
        /// The deployment's name.
        deployment: String,
    },
    /// The configuration is inconsistent (no deployment, a router count
    /// that differs from the deployment count, deployments on different
    /// node pools).
    Config(String),
    /// A request's deployment could not be decided.
    Deployment {
        /// The request's arrival-order id.
        request: u64,
        /// Its arrival, seconds.
        arrival_s: f64,
        /// What was wrong.
        error: NameError,
    },
    /// GPU time did not add up (an engine bug; please report it).
    Accounting(String),
    /// A request pulled from the workload ended with no outcome or with
    /// more than one (an engine bug; please report it).
    RequestAccounting(String),
    /// A request's priority class could not be decided.
    Class {
        /// The request's arrival-order id.
        request: u64,
        /// Its arrival, seconds.
        arrival_s: f64,
        /// What was wrong.
        error: NameError,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Workload(e) => write!(f, "workload: {e}"),
            SimError::ArrivalInThePast { arrival_s, now_s } => {
                write!(f, "workload produced a request at {arrival_s:.6} s after the simulation reached {now_s:.6} s")
            }
            SimError::EmptyFleet { deployment } => write!(
                f,
                "deployment {deployment:?} has no replica and no scaling that would start one"
            ),
            SimError::Config(m) => write!(f, "invalid configuration: {m}"),
            SimError::Deployment {
                request,
                arrival_s,
                error: NameError::Unknown { name, configured },
            } => write!(
                f,
                "request {request} (arrival {arrival_s:.6} s) names model {name:?}, which is not one of the deployments: {}",
                configured.join(", ")
            ),
            SimError::Deployment {
                request,
                arrival_s,
                error: NameError::Missing,
            } => write!(
                f,
                "request {request} (arrival {arrival_s:.6} s) names no model and no deployment has a positive `share` to draw one from"
            ),
            SimError::Accounting(m) => write!(f, "internal error, GPU time does not add up: {m}"),
            SimError::RequestAccounting(m) => {
                write!(f, "internal error, requests do not add up: {m}")
            }
            SimError::Class {
                request,
                arrival_s,
                error: NameError::Unknown { name, configured },
            } => {
                write!(
                    f,
                    "request {request} (arrival {arrival_s:.6} s) names priority class {name:?}, which is not one of the configured classes: {}",
                    configured.join(", ")
                )
            }
            SimError::Class {
                request,
                arrival_s,
                error: NameError::Missing,
            } => write!(
                f,
                "request {request} (arrival {arrival_s:.6} s) names no priority class and no [[queue.classes]] entry has a positive `share` to draw one from"
            ),
        }
    }
}

impl std::error::Error for SimError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SimError::Workload(e) => Some(e),
            _ => None,
        }
    }
}

/// One window of the time series.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeseriesRow {
    /// Window start.
    pub start: SimTime,
    /// Window end.
    pub end: SimTime,
    /// Requests that arrived in the window.
    pub arrivals: u64,
    /// Requests that completed in the window.
    pub completed: u64,
    /// Requests running at the window's end, all replicas.
    pub running: u64,
    /// Requests waiting at the window's end, all replicas.
    pub waiting: u64,
    /// Replicas serving at the window's end.
    pub replicas: u32,
    /// 95th percentile TTFT of requests whose first token came in the window, ns.
    pub ttft_p95_ns: Option<f64>,
    /// Replicas coming up at the window's end (any cold-start stage, or
    /// waiting for a node).
    pub replicas_starting: u32,
    /// Replicas draining at the window's end.
    pub replicas_draining: u32,
    /// Requests counted in this window's `arrivals` that missed the SLA
    /// (the summary's headline SLA: any outcome but a completion within
    /// the thresholds is a miss).
    pub sla_misses: u64,
    /// GPU time spent in the window by state, GPU·ns, indexed like
    /// [`GpuState::ALL`]. Over all windows each state sums to the run's
    /// total (the cost report's, with a placement).
    pub gpu_ns: [u128; GpuState::COUNT],
}

/// Everything a run produces.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// Headline figures.
    pub summary: Summary,
    /// One record per arrived request, in id (arrival) order.
    pub records: Vec<RequestRecord>,
    /// Fixed-resolution time series.
    pub timeseries: Vec<TimeseriesRow>,
    /// One row per replica created during the run, in id order.
    pub replicas: Vec<ReplicaRow>,
    /// Things the input carries that the configuration ignores (prefix
    /// hashes no router or cache uses, priority classes with none
    /// configured), each said once. The engine adds none: the front end
    /// that builds the workload fills them, and shows them.
    pub warnings: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventKind {
    Wake {
        replica: u32,
        token: u64,
    },
    /// A cold-start stage of `replica` ends.
    StageDone {
        replica: u32,
    },
    /// Schedule entry `index` of `deployment` takes effect.
    Scale {
        deployment: u16,
        index: u32,
    },
    /// `replica`'s drain grace period ends.
    DrainDeadline {
        replica: u32,
    },
    /// The cloud warns that spot `node` will be reclaimed.
    SpotNotice {
        node: u32,
    },
    /// Spot `node` is reclaimed now.
    SpotKill {
        node: u32,
    },
    /// Pipeline request `request` reaches its next stage.
    StageArrival {
        request: u64,
    },
    /// `node` finished provisioning.
    NodeUp {
        node: u32,
    },
    /// `node` has been empty for its release delay (if `epoch` is current).
    NodeRelease {
        node: u32,
        epoch: u64,
    },
    /// The scale-up rate limit lets `deployment`'s next waiting start through.
    StartRelease {
        deployment: u16,
    },
    Tick,
    /// Scrape `deployment`'s metrics.
    Scrape {
        deployment: u16,
    },
    /// `deployment`'s autoscaler decides.
    Sync {
        deployment: u16,
    },
    /// The oldest request of `deployment`'s gateway class `class` may have
    /// waited its class's timeout.
    QueueTimeout {
        deployment: u16,
        class: u32,
    },
}

impl EventKind {
    /// Order of event kinds at the same instant: a request arriving at the
    /// instant an iteration ends is seen by the scheduler of the next one.
    /// Class 0, arrivals, never enters the heap: the one pending arrival
    /// waits in `Simulation::pending` and goes before any queued event at
    /// the same time. A replica that becomes ready at an instant serves the
    /// requests of later instants; scaling acts after the instant's work.
    fn class(self) -> u64 {
        match self {
            // Class 0 in the heap: after the workload's own arrival at the
            // same instant (which waits outside the heap), before wake-ups.
            EventKind::StageArrival { .. } => 0,
            EventKind::Wake { .. } => 1,
            EventKind::StageDone { .. } => 2,
            EventKind::Scale { .. } => 3,
            EventKind::DrainDeadline { .. } => 4,
            EventKind::StartRelease { .. } => 5,
            EventKind::NodeUp { .. } => 6,
            EventKind::NodeRelease { .. } => 7,
            EventKind::SpotNotice { .. } => 8,
            EventKind::SpotKill { .. } => 9,
            EventKind::Tick => 10,
            EventKind::Scrape { .. } => 12,
            EventKind::Sync { .. } => 13,
            EventKind::QueueTimeout { .. } => 11,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Event {
    time: u64,
    /// `class << 56 | sequence`.
    order: u64,
    kind: EventKind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.order) == (other.time, other.order)
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    /// Reversed, so `BinaryHeap` (a max-heap) pops the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.order).cmp(&(self.time, self.order))
    }
}

/// A pipeline request on its way through the stages.
#[derive(Clone, Debug)]
struct Flight {
    pipeline: u16,
    /// Index in the pipeline's stages of the stage it is at (or heading to).
    stage: u16,
    /// Its arrival at the first stage.
    origin: SimTime,
    /// Queue waits of the stages it has left, ns.
    queue_ns: u64,
    /// Preemptions in the stages it has left.
    preemptions: u32,
    /// The request, for the next stage.
    request: Request,
}

/// What the engine keeps per deployment: its router, the replicas it may
/// route to, its gateway queue and its scaling state. Replicas themselves
/// live in the simulation's global lists (ids are global, so events and
/// nodes need no deployment), and `Simulation::deployment_of` maps back.
struct DeploymentState {
    router: Box<dyn Router>,
    /// Ready replicas, in the order they became ready: what the router
    /// chooses among. `loads[i]` is the load of `routable[i]`.
    routable: Vec<u32>,
    loads: Vec<ReplicaLoad>,
    /// Requests waiting at the gateway: while no replica is ready, or (in
    /// central mode) while every ready replica is at its concurrency cap.
    gateway: GatewayQueue,
    /// A `QueueTimeout` event is queued, by class.
    timeout_armed: Vec<bool>,
    /// Decides each arrival's priority class.
    classes: NameMix,
    /// Scratch for central-mode routing: positions in `routable` of the
    /// replicas below their cap, and their loads.
    eligible: Vec<usize>,
    eligible_loads: Vec<ReplicaLoad>,
    /// Replica starts the rate limit has not let through yet.
    pending_starts: u32,
    /// Instants of the starts within the last minute (rate limit).
    recent_starts: VecDeque<SimTime>,
    /// A `StartRelease` event is queued.
    release_queued: bool,
    /// Replicas wanted now (the schedule's latest entry, the autoscaler's
    /// last decision, or the initial fleet).
    desired: u32,
    /// The autoscaler, its metrics pipeline and the scrapes it sees.
    autoscaler: Option<Box<dyn Autoscaler>>,
    metrics_spec: MetricsSpec,
    metrics: MetricsStore,
    /// Requests that reached the deployment so far (for rates).
    arrivals_total: u64,
}

/// A single simulation run: configuration, workload and routers in,
/// results out.
pub struct Simulation {
    config: SimConfig,
    workload: BoxedWorkload,
    deployments: Vec<DeploymentState>,
    /// Decides each arrival's deployment.
    deployment_mix: NameMix,
    /// Every replica ever created, all deployments, by global id.
    replicas: Vec<Replica>,
    lives: Vec<ReplicaLife>,
    /// The deployment of each replica.
    deployment_of: Vec<u16>,
    /// Each replica's busy time at its deployment's last scrape, ns.
    busy_at_scrape: Vec<u64>,
    /// Index of each replica in its deployment's `routable`, or `NOT_ROUTABLE`.
    route_pos: Vec<u32>,
    /// Class of every arrived request, by id (empty when no deployment
    /// configures classes: every request is in class 0).
    class_by_id: Vec<u8>,
    /// Pipeline requests between their first arrival and their end, by id.
    in_flight: std::collections::BTreeMap<u64, Flight>,
    /// One record per stage visit of pipeline requests (their deployments'
    /// sections count these; `records` holds the end-to-end record).
    stage_records: Vec<RequestRecord>,
    /// Some deployment configures priority classes: `class_by_id` is kept.
    records_classes: bool,
    /// GPU nodes (with a placement), in the order they were requested.
    nodes: Vec<Node>,
    /// Replicas waiting for a node with free GPUs, oldest first.
    unplaced: VecDeque<u32>,
    /// The latest instant a replica or node changed state.
    lifecycle_end: SimTime,
    /// Every request has its outcome: fleet events are no longer simulated.
    fleet_frozen: bool,
    /// Warm-up penalties of requests served by a freshly started replica,
    /// ns, by request id (few: the first requests of each new replica).
    warmup_penalty: std::collections::BTreeMap<u64, u64>,
    heap: BinaryHeap<Event>,
    /// The event being handled is still the heap's top: the first event it
    /// schedules takes its place (one sift-down) instead of a pop and a
    /// push (two sifts). Keys are unique, so the pop order is the same.
    handling_top: bool,
    sequence: u64,
    pending: Option<Request>,
    next_id: u64,
    now: SimTime,
    events: u64,
    records: Vec<RequestRecord>,
    wakes: Vec<Wake>,
    finished: Vec<Finished>,
    window: WindowAccumulator,
    timeseries: Vec<TimeseriesRow>,
    /// GPU time by state shown in the windows so far, GPU·ns: each window
    /// shows what the running total has gained beyond it, so the windows
    /// add up to the run's totals exactly.
    gpu_ns_so_far: [u128; GpuState::COUNT],
}

impl fmt::Debug for Simulation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulation")
            .field("now", &self.now)
            .field("events", &self.events)
            .field("deployments", &self.deployments.len())
            .field("replicas", &self.replicas.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct WindowAccumulator {
    start: SimTime,
    arrivals: u64,
    completed: u64,
    ttft_ns: Vec<u64>,
}

impl Simulation {
    /// Prepares a run with one router per deployment, in order. Replica
    /// `i` (global id, in creation order over all deployments) draws its
    /// randomness from the stream `("model.replica", i)` of the seed.
    pub fn new(
        config: SimConfig,
        workload: BoxedWorkload,
        routers: Vec<Box<dyn Router>>,
    ) -> Result<Self, SimError> {
        if config.deployments.is_empty() {
            return Err(SimError::Config("no deployment".into()));
        }
        if routers.len() != config.deployments.len() {
            return Err(SimError::Config(format!(
                "{} routers for {} deployments",
                routers.len(),
                config.deployments.len()
            )));
        }
        if config.deployments.len() > usize::from(u16::MAX) {
            return Err(SimError::Config("more than 65535 deployments".into()));
        }
        for p in &config.pipelines {
            let mut seen = vec![false; config.deployments.len()];
            if p.stages.is_empty() || p.hops.len() != p.stages.len() {
                return Err(SimError::Config(format!(
                    "pipeline {:?} needs at least one stage and one hop per stage",
                    p.name
                )));
            }
            for &stage in &p.stages {
                match seen.get_mut(usize::from(stage)) {
                    None => {
                        return Err(SimError::Config(format!(
                            "pipeline {:?} names deployment {stage}, but there are {}",
                            p.name,
                            config.deployments.len()
                        )))
                    }
                    Some(true) => {
                        return Err(SimError::Config(format!(
                            "pipeline {:?} visits deployment {:?} twice (a cycle)",
                            p.name,
                            config.deployments[usize::from(stage)].name
                        )))
                    }
                    Some(s) => *s = true,
                }
            }
        }
        let pools = |d: &DeploymentSpec| d.fleet.placement.as_ref().map(|p| p.pools.clone());
        if config
            .deployments
            .iter()
            .any(|d| pools(d) != pools(&config.deployments[0]))
        {
            return Err(SimError::Config(
                "deployments must share one list of node pools (or all have none)".into(),
            ));
        }
        let mut sim = Simulation {
            deployments: Vec::with_capacity(routers.len()),
            deployment_mix: NameMix::new(
                (config.deployments.iter().map(|d| (&*d.name, d.share)))
                    .chain(config.pipelines.iter().map(|p| (&*p.name, p.share))),
                config.seed,
                "workload.deployment_mix",
                false,
            ),
            workload,
            replicas: Vec::new(),
            lives: Vec::new(),
            deployment_of: Vec::new(),
            busy_at_scrape: Vec::new(),
            route_pos: Vec::new(),
            class_by_id: Vec::new(),
            in_flight: std::collections::BTreeMap::new(),
            stage_records: Vec::new(),
            records_classes: config
                .deployments
                .iter()
                .any(|d| !d.fleet.queue.classes.is_empty()),
            nodes: Vec::new(),
            unplaced: VecDeque::new(),
            lifecycle_end: SimTime::ZERO,
            fleet_frozen: false,
            warmup_penalty: std::collections::BTreeMap::new(),
            heap: BinaryHeap::new(),
            handling_top: false,
            sequence: 0,
            pending: None,
            next_id: 0,
            now: SimTime::ZERO,
            events: 0,
            records: Vec::new(),
            wakes: Vec::new(),
            finished: Vec::new(),
            window: WindowAccumulator::default(),
            timeseries: Vec::new(),
            gpu_ns_so_far: [0; GpuState::COUNT],
            config,
        };
        for (d, router) in routers.into_iter().enumerate() {
            let fleet = &sim.config.deployments[d].fleet;
            let class_count = fleet.queue.classes.len().max(1);
            let first = sim.replicas.len() as u32;
            let routable: Vec<u32> = (first..first + fleet.replicas).collect();
            sim.deployments.push(DeploymentState {
                router,
                loads: vec![ReplicaLoad::default(); routable.len()],
                routable,
                gateway: GatewayQueue::new(class_count),
                timeout_armed: vec![false; class_count],
                classes: class_assigner(&fleet.queue.classes, sim.config.seed),
                eligible: Vec::new(),
                eligible_loads: Vec::new(),
                pending_starts: 0,
                recent_starts: VecDeque::new(),
                release_queued: false,
                desired: fleet.replicas,
                autoscaler: None,
                metrics_spec: MetricsSpec::default(),
                metrics: MetricsStore::default(),
                arrivals_total: 0,
            });
            for i in 0..fleet.replicas {
                let id = first + i;
                sim.replicas
                    .push(new_replica(&fleet.replica, sim.config.seed, id));
                sim.lives.push(ReplicaLife::ready_at_start());
                sim.deployment_of.push(d as u16);
                sim.busy_at_scrape.push(0);
                sim.route_pos.push(i);
            }
        }
        sim.place_initial_fleet();
        Ok(sim)
    }

    /// Lets `autoscaler` decide deployment `d`'s replica count, seeing its
    /// metrics through `metrics`. Replaces a `scheduled` lifecycle's
    /// decisions only in that both set the desired count: give one or the
    /// other.
    pub fn with_autoscaler(
        mut self,
        d: usize,
        autoscaler: Box<dyn Autoscaler>,
        metrics: MetricsSpec,
    ) -> Result<Self, SimError> {
        let Some(dep) = self.deployments.get_mut(d) else {
            return Err(SimError::Config(format!("no deployment {d} to autoscale")));
        };
        if metrics.scrape_interval.0 == 0 {
            return Err(SimError::Config("the scrape interval must be > 0".into()));
        }
        if autoscaler.sync_period().0 == 0 {
            return Err(SimError::Config(
                "the autoscaler's sync period must be > 0".into(),
            ));
        }
        dep.autoscaler = Some(autoscaler);
        dep.metrics_spec = metrics;
        Ok(self)
    }

    /// The fleet of deployment `d`.
    fn fleet(&self, d: usize) -> &FleetSpec {
        &self.config.deployments[d].fleet
    }

    /// The deployment of `replica`.
    fn dep(&self, replica: u32) -> usize {
        usize::from(self.deployment_of[replica as usize])
    }

    /// The node pools every deployment shares, with the first deployment's
    /// cold-start model (for warm nodes, primed with its artifacts).
    fn shared_placement(&self) -> Option<Arc<Placement>> {
        self.config.deployments[0].fleet.placement.clone()
    }

    /// With a placement, the replicas ready at time 0 sit on nodes that are
    /// up at time 0 with the image and weights cached, packed first-fit
    /// over the pools in order; then each pool's warm nodes are added.
    fn place_initial_fleet(&mut self) {
        let Some(p) = self.shared_placement() else {
            return;
        };
        for r in 0..self.replicas.len() as u32 {
            let d = self.dep(r);
            let need = self.fleet(d).gpus_per_replica.max(1);
            // Validation guarantees room for the initial fleet.
            let Some(node) = self.node_with_room(need, true, d) else {
                break;
            };
            let per_node = p.pools[self.nodes[node].pool as usize]
                .pricing
                .gpus_per_node;
            let n = &mut self.nodes[node];
            n.set_used(n.used_gpus + need, per_node, SimTime::ZERO);
            self.lives[r as usize].node = Some(node as u32);
        }
        for (pi, pool) in p.pools.iter().enumerate() {
            for _ in 0..pool.warm_nodes {
                let caches =
                    NodeCaches::primed(pool.weight_disk_bytes, &p.cold_start, &p.artifacts);
                let mut node = Node::new(pi as u32, SimTime::ZERO, Some(SimTime::ZERO), caches);
                node.warm = true;
                self.nodes.push(node);
            }
        }
    }

    /// A node with `need` free GPUs: an existing one first (pools in order,
    /// nodes in order), else a new node in the first pool under its quota.
    /// A new node is up at once and primed (with deployment `d`'s artifacts)
    /// when `initial`, else it starts provisioning now. `None` when every
    /// pool is full.
    fn node_with_room(&mut self, need: u32, initial: bool, d: usize) -> Option<usize> {
        let p = self.fleet(d).placement.clone()?;
        for pi in 0..p.pools.len() as u32 {
            let per_node = p.pools[pi as usize].pricing.gpus_per_node;
            if let Some(n) = self.nodes.iter().position(|n| {
                n.pool == pi
                    && n.is_held()
                    && !n.doomed
                    && per_node.saturating_sub(n.used_gpus) >= need
            }) {
                return Some(n);
            }
        }
        for (pi, pool) in p.pools.iter().enumerate() {
            if pool.pricing.gpus_per_node < need {
                continue;
            }
            let held = self
                .nodes
                .iter()
                .filter(|n| n.pool == pi as u32 && n.is_held())
                .count() as u32;
            if pool.max_nodes.is_some_and(|max| held >= max) {
                continue;
            }
            let id = self.nodes.len() as u32;
            if initial {
                let caches =
                    NodeCaches::primed(pool.weight_disk_bytes, &p.cold_start, &p.artifacts);
                self.nodes.push(Node::new(
                    pi as u32,
                    SimTime::ZERO,
                    Some(SimTime::ZERO),
                    caches,
                ));
            } else {
                let d = pool
                    .provisioning
                    .sample(&mut provisioning_rng(self.config.seed, u64::from(id)));
                let caches = NodeCaches::new(pool.weight_disk_bytes);
                self.nodes
                    .push(Node::new(pi as u32, self.now, None, caches));
                self.push(self.now + d, EventKind::NodeUp { node: id });
            }
            return Some(id as usize);
        }
        None
    }

    fn push(&mut self, time: SimTime, kind: EventKind) {
        self.sequence += 1;
        let event = Event {
            time: time.0,
            order: (kind.class() << 56) | self.sequence,
            kind,
        };
        if self.handling_top {
            self.handling_top = false;
            if let Some(mut top) = self.heap.peek_mut() {
                *top = event; // sifts down when `top` drops
                return;
            }
        }
        self.heap.push(event);
    }

    fn pull_arrival(&mut self) -> Result<(), SimError> {
        match self.workload.next() {
            None => Ok(()),
            Some(Err(e)) => Err(SimError::Workload(e)),
            Some(Ok(request)) => {
                if request.arrival < self.now {
                    return Err(SimError::ArrivalInThePast {
                        arrival_s: request.arrival.as_secs_f64(),
                        now_s: self.now.as_secs_f64(),
                    });
                }
                self.pending = Some(request);
                Ok(())
            }
        }
    }

    fn drain_wakes(&mut self, replica: u32) {
        while let Some(w) = self.wakes.pop() {
            self.push(
                w.at,
                EventKind::Wake {
                    replica,
                    token: w.token,
                },
            );
        }
        let pos = self.route_pos[replica as usize];
        if pos != NOT_ROUTABLE {
            let d = self.dep(replica);
            self.deployments[d].loads[pos as usize] = self.replicas[replica as usize].load();
        } else if self.lives[replica as usize].phase == Phase::Draining
            && self.replicas[replica as usize].load().outstanding() == 0
        {
            self.terminate(replica);
        }
    }

    /// Makes `replica` routable (it just became ready) and hands it the
    /// gateway's backlog at once (in central mode, up to its cap).
    fn add_routable(&mut self, replica: u32) {
        let d = self.dep(replica);
        let load = self.replicas[replica as usize].load();
        let dep = &mut self.deployments[d];
        self.route_pos[replica as usize] = dep.routable.len() as u32;
        dep.routable.push(replica);
        dep.loads.push(load);
        self.serve_gateway(d);
    }

    /// Takes `replica` out of routing, keeping the others' order.
    fn remove_routable(&mut self, replica: u32) {
        let pos = self.route_pos[replica as usize];
        if pos == NOT_ROUTABLE {
            return;
        }
        let d = self.dep(replica);
        let dep = &mut self.deployments[d];
        dep.routable.remove(pos as usize);
        dep.loads.remove(pos as usize);
        self.route_pos[replica as usize] = NOT_ROUTABLE;
        for (i, &r) in dep.routable.iter().enumerate().skip(pos as usize) {
            self.route_pos[r as usize] = i as u32;
        }
    }

    /// An arrival goes to a replica if one can take it now, else waits at
    /// the gateway (or is rejected if its class's gateway queue is full).
    fn dispatch(&mut self, d: usize, request: Request, class: u32) {
        // A backlog means no replica has room: the arrival queues behind it.
        if self.deployments[d].gateway.is_empty() && self.has_room(d) {
            let pos = self.choose_replica(d, &request);
            self.send(d, request, pos);
        } else {
            self.enqueue(d, request, class);
        }
    }

    /// Some ready replica may take a request now: any, in per-replica mode;
    /// one below its concurrency cap, in central mode.
    fn has_room(&self, d: usize) -> bool {
        let dep = &self.deployments[d];
        match self.fleet(d).queue.mode {
            QueueMode::PerReplica => !dep.routable.is_empty(),
            QueueMode::Central {
                max_concurrency_per_replica: cap,
            } => dep.loads.iter().any(|l| l.outstanding() < cap),
        }
    }

    /// The position in `routable` of the replica `request` goes to. Only
    /// called when [`Self::has_room`]; the router chooses among the
    /// replicas that may take it.
    fn choose_replica(&mut self, d: usize, request: &Request) -> usize {
        self.annotate_loads(d, request);
        let mode = self.config.deployments[d].fleet.queue.mode;
        let dep = &mut self.deployments[d];
        let cap = match mode {
            QueueMode::PerReplica => {
                let pos = dep.router.route(request, &dep.loads);
                return pos.min(dep.routable.len() - 1);
            }
            QueueMode::Central {
                max_concurrency_per_replica,
            } => max_concurrency_per_replica,
        };
        dep.eligible.clear();
        dep.eligible_loads.clear();
        for (pos, load) in dep.loads.iter().enumerate() {
            if load.outstanding() < cap {
                dep.eligible.push(pos);
                dep.eligible_loads.push(*load);
            }
        }
        let i = dep.router.route(request, &dep.eligible_loads);
        dep.eligible[i.min(dep.eligible.len() - 1)]
    }

    /// Queues `request` at the gateway, or rejects it when its class's
    /// gateway queue is at its length limit.
    fn enqueue(&mut self, d: usize, request: Request, class: u32) {
        self.activate(d);
        let spec = self.config.deployments[d]
            .fleet
            .queue
            .classes
            .get(class as usize);
        let limit = spec.and_then(|c| c.max_queue_length);
        let timeout = spec.and_then(|c| c.timeout);
        let gateway = &mut self.deployments[d].gateway;
        if limit.is_some_and(|l| gateway.class_len(class) >= l as usize) {
            self.record_unserved(d, &request, Outcome::Rejected, None);
            return;
        }
        gateway.push(request, class);
        if let Some(t) = timeout {
            self.arm_timeout(d, class, t);
        }
    }

    /// Queues a `QueueTimeout` for the head of `class` unless one is queued.
    fn arm_timeout(&mut self, d: usize, class: u32, timeout: SimDuration) {
        let dep = &mut self.deployments[d];
        if dep.timeout_armed[class as usize] {
            return;
        }
        if let Some(head) = dep.gateway.head(class) {
            dep.timeout_armed[class as usize] = true;
            let at = head.arrival + timeout;
            let deployment = d as u16;
            self.push(at, EventKind::QueueTimeout { deployment, class });
        }
    }

    /// Times out every request of `class` that has waited its timeout, then
    /// re-arms for the next head.
    fn on_queue_timeout(&mut self, d: usize, class: u32) {
        self.deployments[d].timeout_armed[class as usize] = false;
        let Some(timeout) = self.fleet(d).queue.classes[class as usize].timeout else {
            return;
        };
        while let Some(head) = self.deployments[d].gateway.head(class) {
            if head.arrival + timeout > self.now {
                break;
            }
            let r = (self.deployments[d].gateway.pop_class(class)).expect("head exists");
            let waited = self.now.saturating_since(r.arrival).0;
            self.record_unserved(d, &r, Outcome::TimedOut, Some(waited));
        }
        self.arm_timeout(d, class, timeout);
    }

    /// Hands waiting requests to replicas while any can take one, in the
    /// order of the queue discipline.
    fn serve_gateway(&mut self, d: usize) {
        let discipline = self.fleet(d).queue.discipline;
        while !self.deployments[d].gateway.is_empty() && self.has_room(d) {
            let Some(next) = self.deployments[d].gateway.pop(discipline) else {
                return;
            };
            let pos = self.choose_replica(d, &next.request);
            self.send(d, next.request, pos);
        }
    }

    /// Admits `request` to the replica at position `pos` of `routable`.
    fn send(&mut self, d: usize, request: Request, pos: usize) {
        let r = self.deployments[d].routable[pos];
        self.note_warmup(r, request.id);
        let seq = Seq::from_request(&request);
        self.replicas[r as usize].admit(seq, self.now, &mut self.wakes);
        self.drain_wakes(r);
    }

    /// Fills the per-request fields of the routable replicas' loads (cached
    /// prefix blocks, adapter held) when the router asks for them.
    fn annotate_loads(&mut self, d: usize, request: &Request) {
        let dep = &mut self.deployments[d];
        let prefix = dep.router.wants_prefix_match();
        let adapters = dep.router.wants_adapters();
        if !prefix && !adapters {
            return;
        }
        for (load, &r) in dep.loads.iter_mut().zip(&dep.routable) {
            let replica = &self.replicas[r as usize];
            if prefix {
                load.cached_prefix_blocks = if request.prefix_hashes.is_empty() {
                    0
                } else {
                    replica.cached_prefix_blocks(&request.prefix_hashes)
                };
            }
            if adapters {
                load.has_adapter = request
                    .adapter
                    .as_deref()
                    .is_some_and(|name| replica.has_adapter(name));
            }
        }
    }

    /// Starts as many waiting replicas as the scale-up rate limit allows and
    /// queues a `StartRelease` for when the next one may go.
    fn release_starts(&mut self, d: usize) {
        let window = SimDuration::from_secs(60);
        let limit = self.fleet(d).lifecycle.max_starts_per_minute;
        while self.deployments[d].pending_starts > 0 {
            let now = self.now;
            let dep = &mut self.deployments[d];
            while dep
                .recent_starts
                .front()
                .is_some_and(|&t| t + window <= now)
            {
                dep.recent_starts.pop_front();
            }
            if let (Some(limit), Some(&oldest)) = (limit, dep.recent_starts.front()) {
                if dep.recent_starts.len() as u32 >= limit {
                    if !dep.release_queued {
                        dep.release_queued = true;
                        let deployment = d as u16;
                        self.push(oldest + window, EventKind::StartRelease { deployment });
                    }
                    return;
                }
            }
            dep.pending_starts -= 1;
            dep.recent_starts.push_back(now);
            self.start_replica(d);
        }
    }

    /// A replica started during the run is slower on its first requests
    /// (lazy kernels, graphs): the placement's warm-up penalty is added to
    /// their TTFT and end-to-end latency.
    fn note_warmup(&mut self, replica: u32, request: u64) {
        let d = self.dep(replica);
        let Some(p) = self.config.deployments[d].fleet.placement.as_ref() else {
            return;
        };
        let life = &mut self.lives[replica as usize];
        let (true, Some(ready)) = (life.cold, life.ready_at) else {
            return;
        };
        let k = life.dispatched;
        life.dispatched += 1;
        let extra = p
            .cold_start
            .warmup
            .extra_latency(k, self.now.saturating_since(ready));
        if extra.0 > 0 {
            self.warmup_penalty.insert(request, extra.0);
        }
    }

    /// Asks for a new replica: it starts its cold start now.
    fn start_replica(&mut self, d: usize) {
        let id = self.replicas.len() as u32;
        let fleet = &self.config.deployments[d].fleet;
        self.replicas
            .push(new_replica(&fleet.replica, self.config.seed, id));
        let durations = fleet.lifecycle.cold_start.clone();
        let placed = fleet.placement.is_some();
        self.lives.push(ReplicaLife::starting(self.now, durations));
        self.deployment_of.push(d as u16);
        self.busy_at_scrape.push(0);
        self.route_pos.push(NOT_ROUTABLE);
        if placed {
            if !self.place(id) {
                self.unplaced.push_back(id);
            }
        } else {
            self.enter_stage(id, Stage::Provisioning);
        }
    }

    fn enter_stage(&mut self, replica: u32, stage: Stage) {
        self.lives[replica as usize].enter(Phase::Starting(stage), self.now);
        let d = match self.begin_placed_stage(replica, stage) {
            Some(d) => d,
            None => self.lives[replica as usize].durations.of(stage),
        };
        self.push(self.now + d, EventKind::StageDone { replica });
    }

    /// With a placement, how long `stage` takes for `replica` on its node,
    /// against what the node holds or is fetching now; `None` without one.
    fn begin_placed_stage(&mut self, replica: u32, stage: Stage) -> Option<SimDuration> {
        let p = self.fleet(self.dep(replica)).placement.clone()?;
        let life = &mut self.lives[replica as usize];
        let (Some(node), Some(draws)) = (life.node, life.draws) else {
            return None;
        };
        let caches = &mut self.nodes[node as usize].caches;
        let cs = &p.cold_start;
        let start = match stage {
            Stage::Provisioning => return Some(SimDuration::ZERO),
            Stage::PullingImage => cs.begin_pull(caches, self.now, draws.pull),
            Stage::LoadingWeights => cs.begin_load(&p.artifacts, caches, self.now, draws.load),
            Stage::StartingEngine => cs.begin_startup(&p.artifacts, caches, draws.engine),
        };
        life.waits_for = start.waits_for;
        Some(start.duration)
    }

    /// `replica` no longer waits for its node's transfer in progress (its
    /// stage ended, or it was cancelled): a transfer nobody waits for stops
    /// and leaves nothing in the node's caches.
    fn stop_waiting(&mut self, replica: u32) {
        let life = &mut self.lives[replica as usize];
        if let (Some(t), Some(node)) = (life.waits_for.take(), life.node) {
            self.nodes[node as usize].caches.stop_waiting(&t, self.now);
        }
    }

    /// Puts a starting replica on the first node with enough free GPUs, or
    /// on a newly requested node within a pool's quota. Returns false when
    /// neither is possible (the replica waits for GPUs to free up).
    fn place(&mut self, replica: u32) -> bool {
        let d = self.dep(replica);
        let Some(p) = self.fleet(d).placement.clone() else {
            return false;
        };
        let need = self.fleet(d).gpus_per_replica.max(1);
        let Some(node) = self.node_with_room(need, false, d) else {
            return false;
        };
        let pool = self.nodes[node].pool;
        let per_node = p.pools[pool as usize].pricing.gpus_per_node;
        if self.nodes[node].warm {
            self.nodes[node].leave_warm_pool(per_node, self.now);
            self.replenish_warm_pool(pool);
        }
        let n = &mut self.nodes[node];
        n.set_used(n.used_gpus + need, per_node, self.now);
        n.release_epoch += 1; // a queued release no longer applies
        let up = n.up_at.is_some();
        let life = &mut self.lives[replica as usize];
        life.node = Some(node as u32);
        life.placed_after_waiting(self.now);
        if up {
            self.begin_transfer_stages(replica);
        }
        true
    }

    /// Requests a primed node for `pool`'s warm pool (within its quota).
    fn replenish_warm_pool(&mut self, pool: u32) {
        let Some(p) = self.shared_placement() else {
            return;
        };
        let spec = &p.pools[pool as usize];
        let held = self
            .nodes
            .iter()
            .filter(|n| n.pool == pool && n.is_held())
            .count() as u32;
        if spec.max_nodes.is_some_and(|max| held >= max) {
            return;
        }
        let id = self.nodes.len() as u32;
        let d = spec
            .provisioning
            .sample(&mut provisioning_rng(self.config.seed, u64::from(id)));
        let caches = NodeCaches::primed(spec.weight_disk_bytes, &p.cold_start, &p.artifacts);
        let mut node = Node::new(pool, self.now, None, caches);
        node.warm = true;
        self.nodes.push(node);
        self.push(self.now + d, EventKind::NodeUp { node: id });
    }

    /// The replica's node is up: take the draws of its pull, load and
    /// start-up (each stage is then planned as it begins, against what the
    /// node holds or is fetching then) and start pulling.
    fn begin_transfer_stages(&mut self, replica: u32) {
        let mut rngs = ColdStartRngs::new(self.config.seed, u64::from(replica));
        self.lives[replica as usize].draws = Some(rngs.draw());
        self.enter_stage(replica, Stage::PullingImage);
    }

    fn on_node_up(&mut self, node: u32) {
        if !self.nodes[node as usize].is_held() {
            return; // released (its replicas were cancelled) before it came up
        }
        self.nodes[node as usize].up_at = Some(self.now);
        self.schedule_interruption(node);
        for r in 0..self.lives.len() as u32 {
            let life = &self.lives[r as usize];
            if life.node == Some(node) && life.phase == Phase::Starting(Stage::Provisioning) {
                self.begin_transfer_stages(r);
            }
        }
    }

    /// A change to the fleet: replicas, nodes, scaling. Marks the instant as
    /// part of the simulated span.
    fn on_fleet_event(&mut self, kind: EventKind) {
        self.lifecycle_end = self.now;
        match kind {
            EventKind::StageDone { replica } => self.on_stage_done(replica),
            EventKind::Scale { deployment, index } => self.on_scale(deployment.into(), index),
            EventKind::DrainDeadline { replica } => self.on_drain_deadline(replica),
            EventKind::StartRelease { deployment } => {
                let d = usize::from(deployment);
                self.deployments[d].release_queued = false;
                self.release_starts(d);
            }
            EventKind::NodeUp { node } => self.on_node_up(node),
            EventKind::NodeRelease { node, epoch } => self.on_node_release(node, epoch),
            EventKind::SpotNotice { node } => self.on_spot_notice(node),
            EventKind::SpotKill { node } => self.on_spot_kill(node),
            EventKind::Wake { .. }
            | EventKind::Tick
            | EventKind::QueueTimeout { .. }
            | EventKind::StageArrival { .. }
            | EventKind::Scrape { .. }
            | EventKind::Sync { .. } => {}
        }
    }

    /// Something besides the tick being handled and stale wake-ups (which
    /// a decode run cut by an arrival leaves behind in jump mode only) can
    /// still happen: the time series goes on while it can.
    fn anything_left(&self) -> bool {
        self.pending.is_some()
            || self.heap.iter().any(|e| match e.kind {
                EventKind::Tick => false,
                EventKind::Wake { replica, token } => {
                    self.replicas[replica as usize].wake_is_current(SimTime(e.time), token)
                }
                _ => true,
            })
    }

    /// The workload is exhausted and every request has its outcome.
    fn finished_work(&self) -> bool {
        self.pending.is_none()
            && self.deployments.iter().all(|d| d.gateway.is_empty())
            && self.next_id == self.records.len() as u64
    }

    /// A spot node's reclaim notice comes after an exponential time at the
    /// pool's interruption rate, drawn from the stream `("model.spot", node)`.
    fn schedule_interruption(&mut self, node: u32) {
        let Some(spot) = self.shared_placement().and_then(|p| {
            p.pools[self.nodes[node as usize].pool as usize]
                .spot
                .clone()
        }) else {
            return;
        };
        if self.finished_work() {
            return; // nothing left to serve: reclaims would only churn nodes forever
        }
        let mut rng = rng::stream(self.config.seed, "model.spot", u64::from(node));
        let per_s = spot.interruptions_per_node_hour / 3600.0;
        if let Some(gap) = crate::coldstart::exponential_gap(&mut rng, per_s) {
            self.push(self.now + gap, EventKind::SpotNotice { node });
        }
    }

    /// A spot node will go away after the pool's notice: its ready replicas
    /// drain until then, replicas still starting are dropped, no new
    /// replica is placed on it, and replacements are requested at once.
    fn on_spot_notice(&mut self, node: u32) {
        let Some(spot) = self.shared_placement().and_then(|p| {
            p.pools[self.nodes[node as usize].pool as usize]
                .spot
                .clone()
        }) else {
            return;
        };
        if !self.nodes[node as usize].is_held() {
            return;
        }
        self.nodes[node as usize].doomed = true;
        self.push(self.now + spot.notice, EventKind::SpotKill { node });
        for r in 0..self.lives.len() as u32 {
            if self.lives[r as usize].node != Some(node) {
                continue;
            }
            match self.lives[r as usize].phase {
                Phase::Ready => self.begin_drain(r),
                Phase::Starting(_) => self.terminate(r),
                Phase::Draining | Phase::Terminated => {}
            }
        }
        for d in 0..self.deployments.len() {
            self.reconcile(d);
        }
    }

    /// The node is gone: whatever still runs on it fails.
    fn on_spot_kill(&mut self, node: u32) {
        for r in 0..self.lives.len() as u32 {
            if self.lives[r as usize].node == Some(node)
                && self.lives[r as usize].phase == Phase::Draining
            {
                let aborted = self.replicas[r as usize].abort_all(self.now);
                for a in aborted {
                    self.record_failed(a, self.dep(r), Some(r));
                }
                self.terminate(r);
            }
        }
        let Some(p) = self.shared_placement() else {
            return;
        };
        let per_node = p.pools[self.nodes[node as usize].pool as usize]
            .pricing
            .gpus_per_node;
        let n = &mut self.nodes[node as usize];
        if n.is_held() {
            n.close_unallocated(per_node, self.now);
            n.released = Some(self.now);
            n.release_epoch += 1; // a queued idle release no longer applies
        }
    }

    /// Gives the replica's GPUs back to its node; an empty node is released
    /// after the pool's delay. Replicas waiting for GPUs get a new chance.
    fn free_gpus(&mut self, replica: u32) {
        let Some(p) = self.shared_placement() else {
            return;
        };
        let Some(node) = self.lives[replica as usize].node else {
            return;
        };
        let need = self.fleet(self.dep(replica)).gpus_per_replica.max(1);
        let pool = &p.pools[self.nodes[node as usize].pool as usize];
        let n = &mut self.nodes[node as usize];
        n.set_used(
            n.used_gpus.saturating_sub(need),
            pool.pricing.gpus_per_node,
            self.now,
        );
        if n.used_gpus == 0 && !n.warm {
            n.release_epoch += 1;
            let epoch = n.release_epoch;
            self.push(
                self.now + pool.idle_release_delay,
                EventKind::NodeRelease { node, epoch },
            );
        }
        while let Some(&waiting) = self.unplaced.front() {
            if self.lives[waiting as usize].phase != Phase::Starting(Stage::Provisioning) {
                self.unplaced.pop_front(); // cancelled while waiting
                continue;
            }
            if !self.place(waiting) {
                break;
            }
            self.unplaced.pop_front();
        }
    }

    fn on_node_release(&mut self, node: u32, epoch: u64) {
        let Some(p) = self.shared_placement() else {
            return;
        };
        let per_node = p.pools[self.nodes[node as usize].pool as usize]
            .pricing
            .gpus_per_node;
        let n = &mut self.nodes[node as usize];
        if n.release_epoch == epoch && n.used_gpus == 0 && n.is_held() {
            n.close_unallocated(per_node, self.now);
            n.released = Some(self.now);
        }
    }

    fn on_stage_done(&mut self, replica: u32) {
        let Phase::Starting(stage) = self.lives[replica as usize].phase else {
            return; // cancelled while starting
        };
        self.stop_waiting(replica);
        match stage.next() {
            Some(next) => self.enter_stage(replica, next),
            None => {
                self.lives[replica as usize].enter(Phase::Ready, self.now);
                if let Some(p) = self.fleet(self.dep(replica)).placement.clone() {
                    if let Some(node) = self.lives[replica as usize].node {
                        self.nodes[node as usize].caches.engine_built(&p.artifacts);
                    }
                    let w = &p.cold_start.warmup;
                    self.lives[replica as usize].warms_up = w.slowdown_factor > 1.0;
                    self.replicas[replica as usize].begin_warmup(
                        self.now,
                        w.requests,
                        w.duration(),
                        w.slowdown_factor,
                    );
                }
                self.add_routable(replica);
            }
        }
    }

    /// Applies schedule entry `index`: starts or removes replicas to reach
    /// its desired count. Starting replicas are cancelled first (newest
    /// first, they hold no request), then ready ones drain, least loaded
    /// first (newest on a tie).
    fn on_scale(&mut self, d: usize, index: u32) {
        let Some(&(_, desired)) = self.fleet(d).lifecycle.schedule.get(index as usize) else {
            return;
        };
        self.deployments[d].desired = desired;
        self.reconcile(d);
    }

    /// Starts or removes replicas to reach `desired`.
    fn reconcile(&mut self, d: usize) {
        let desired = self.deployments[d].desired;
        let active: Vec<u32> = (0..self.replicas.len() as u32)
            .filter(|&r| {
                self.dep(r) == d
                    && matches!(
                        self.lives[r as usize].phase,
                        Phase::Starting(_) | Phase::Ready
                    )
            })
            .collect();
        let count = active.len() as u32 + self.deployments[d].pending_starts;
        if desired > count {
            self.deployments[d].pending_starts += desired - count;
            self.release_starts(d);
            return;
        }
        let mut excess = count - desired;
        // Starts still waiting for the rate limit are the cheapest to drop.
        let dropped = excess.min(self.deployments[d].pending_starts);
        self.deployments[d].pending_starts -= dropped;
        excess -= dropped;
        for &r in active.iter().rev() {
            if excess == 0 {
                return;
            }
            if matches!(self.lives[r as usize].phase, Phase::Starting(_)) {
                self.terminate(r);
                excess -= 1;
            }
        }
        let mut ready: Vec<u32> = active
            .into_iter()
            .filter(|&r| self.lives[r as usize].phase == Phase::Ready)
            .collect();
        ready.sort_by_key(|&r| {
            (
                self.replicas[r as usize].load().outstanding(),
                std::cmp::Reverse(r),
            )
        });
        for r in ready.into_iter().take(excess as usize) {
            self.begin_drain(r);
        }
    }

    fn begin_drain(&mut self, replica: u32) {
        self.remove_routable(replica);
        // Busy time elapsed so far: in jump mode the counter has already
        // booked the rest of a planned run, which happens while draining.
        self.lives[replica as usize].busy_at_drain =
            Some(self.replicas[replica as usize].busy_ns_at(self.now));
        self.lives[replica as usize].enter(Phase::Draining, self.now);
        if self.replicas[replica as usize].load().outstanding() == 0 {
            self.terminate(replica);
        } else {
            let grace = self.fleet(self.dep(replica)).lifecycle.drain_grace;
            self.push(self.now + grace, EventKind::DrainDeadline { replica });
        }
    }

    /// The grace period is over: whatever the replica still holds fails.
    fn on_drain_deadline(&mut self, replica: u32) {
        if self.lives[replica as usize].phase != Phase::Draining {
            return;
        }
        let aborted = self.replicas[replica as usize].abort_all(self.now);
        for a in aborted {
            self.record_failed(a, self.dep(replica), Some(replica));
        }
        self.terminate(replica);
    }

    fn terminate(&mut self, replica: u32) {
        self.stop_waiting(replica);
        self.remove_routable(replica);
        self.lives[replica as usize].enter(Phase::Terminated, self.now);
        self.free_gpus(replica);
    }

    /// Records a request lost while on `replica` (or, with `None`, still
    /// at deployment `d`'s gateway when the run ended).
    fn record_failed(&mut self, a: Aborted, d: usize, replica: Option<u32>) {
        let frontend = self.fleet(d).frontend_latency.0;
        let since_arrival = |t: Option<SimTime>| {
            t.map(|t| t.0.saturating_sub(a.seq.arrival.0).saturating_add(frontend))
        };
        self.keep_record(RequestRecord {
            id: a.seq.id,
            arrival: a.seq.arrival,
            class: self.class_of_id(a.seq.id),
            deployment: d as u16,
            replica,
            outcome: Outcome::Failed,
            input_tokens: a.seq.input_tokens,
            output_tokens: a.seq.output_tokens,
            queue_ns: since_arrival(a.first_scheduled),
            ttft_ns: since_arrival(a.first_token),
            tpot_ns: None,
            e2e_ns: None,
            preemptions: a.preemptions,
            pipeline: None,
        });
    }

    fn record_finished(&mut self, replica: u32) {
        let d = self.dep(replica);
        let frontend = self.fleet(d).frontend_latency.0;
        let mut finished = std::mem::take(&mut self.finished);
        for f in finished.drain(..) {
            let warmup = self.warmup_penalty.remove(&f.id).unwrap_or(0);
            let ttft = (f.first_token.0 - f.arrival.0).saturating_add(frontend + warmup);
            self.keep_record(RequestRecord {
                id: f.id,
                arrival: f.arrival,
                class: self.class_by_id.get(f.id as usize).copied().unwrap_or(0),
                deployment: d as u16,
                replica: Some(replica),
                outcome: Outcome::Completed,
                input_tokens: f.input_tokens,
                output_tokens: f.output_tokens,
                queue_ns: Some((f.first_scheduled.0 - f.arrival.0).saturating_add(frontend)),
                ttft_ns: Some(ttft),
                tpot_ns: (f.output_tokens > 1)
                    .then(|| (f.finished.0 - f.first_token.0) / u64::from(f.output_tokens - 1)),
                e2e_ns: Some((f.finished.0 - f.arrival.0).saturating_add(frontend + warmup)),
                preemptions: f.preemptions,
                pipeline: None,
            });
        }
        self.finished = finished;
    }

    /// Records a request that never reached a replica: rejected, or timed
    /// out after waiting `waited_ns` at the gateway.
    fn record_unserved(
        &mut self,
        d: usize,
        request: &Request,
        outcome: Outcome,
        waited_ns: Option<u64>,
    ) {
        let frontend = self.fleet(d).frontend_latency.0;
        self.keep_record(RequestRecord {
            id: request.id,
            arrival: request.arrival,
            class: self.class_of_id(request.id),
            deployment: d as u16,
            replica: None,
            outcome,
            input_tokens: request.input_tokens,
            output_tokens: request.output_tokens,
            queue_ns: waited_ns.map(|w| w.saturating_add(frontend)),
            ttft_ns: None,
            tpot_ns: None,
            e2e_ns: None,
            preemptions: 0,
            pipeline: None,
        });
    }

    /// The class index of request `id` (0 when no classes are configured).
    fn class_of_id(&self, id: u64) -> u8 {
        self.class_by_id.get(id as usize).copied().unwrap_or(0)
    }

    fn on_arrival(&mut self) -> Result<(), SimError> {
        let Some(mut request) = self.pending.take() else {
            return Ok(());
        };
        request.id = self.next_id;
        self.next_id += 1;
        self.window.arrivals += 1;
        if self.records_classes {
            self.class_by_id.push(0); // set when it reaches a deployment
        }
        let route = (self.deployment_mix.pick(request.model.as_deref())).map_err(|error| {
            SimError::Deployment {
                request: request.id,
                arrival_s: request.arrival.as_secs_f64(),
                error,
            }
        })? as usize;
        let d = match route.checked_sub(self.deployments.len()) {
            None => route,
            Some(p) => {
                let first = self.config.pipelines[p].stages[0];
                self.in_flight.insert(
                    request.id,
                    Flight {
                        pipeline: p as u16,
                        stage: 0,
                        origin: request.arrival,
                        queue_ns: 0,
                        preemptions: 0,
                        request: request.clone(),
                    },
                );
                usize::from(first)
            }
        };
        self.reach_deployment(d, request)?;
        self.pull_arrival()
    }

    /// `request` arrives at deployment `d` (from the workload, or from the
    /// previous stage of its pipeline): its class is decided there, and it
    /// is dispatched, or rejected if it can never fit a replica.
    fn reach_deployment(&mut self, d: usize, request: Request) -> Result<(), SimError> {
        self.deployments[d].arrivals_total += 1;
        let class = (self.deployments[d].classes)
            .pick(request.priority_class.as_deref())
            .map_err(|error| SimError::Class {
                request: request.id,
                arrival_s: request.arrival.as_secs_f64(),
                error,
            })?;
        if self.records_classes {
            // Validation keeps the class count within `u8`.
            self.class_by_id[request.id as usize] = class as u8;
        }
        let fits = match &self.fleet(d).replica {
            ReplicaSpec::Batching { config, .. } => {
                config.fits(request.input_tokens, request.output_tokens)
            }
            ReplicaSpec::Slots { .. } => true,
        };
        if fits {
            self.dispatch(d, request, class);
        } else {
            self.record_unserved(d, &request, Outcome::Rejected, None);
        }
        Ok(())
    }

    /// A pipeline request reaches its next stage.
    fn on_stage_arrival(&mut self, id: u64) -> Result<(), SimError> {
        let Some(flight) = self.in_flight.get(&id) else {
            return Ok(());
        };
        let d = usize::from(
            self.config.pipelines[usize::from(flight.pipeline)].stages[usize::from(flight.stage)],
        );
        let mut request = flight.request.clone();
        request.arrival = self.now;
        self.reach_deployment(d, request)
    }

    /// Keeps a stage's record: the request's own, unless it is a pipeline
    /// request. Then the stage record goes to `stage_records`, and the
    /// request either travels on (completed, more stages: its next stage
    /// gets it after this stage's response and the hop) or ends with an
    /// end-to-end record measured from its first arrival.
    fn keep_record(&mut self, rec: RequestRecord) {
        let dep = &mut self.deployments[usize::from(rec.deployment)];
        if let (Some(_), Outcome::Completed, Some(ttft)) =
            (&dep.autoscaler, rec.outcome, rec.ttft_ns)
        {
            dep.metrics.note_completion(self.now, ttft, rec.tpot_ns);
        }
        let Some(flight) = self.in_flight.get_mut(&rec.id) else {
            if rec.outcome == Outcome::Completed {
                self.window.completed += 1;
                self.window.ttft_ns.extend(rec.ttft_ns);
            }
            self.records.push(rec);
            return;
        };
        let pipeline = &self.config.pipelines[usize::from(flight.pipeline)];
        let next = usize::from(flight.stage) + 1;
        let stage_queue = rec.queue_ns.unwrap_or(0);
        if rec.outcome == Outcome::Completed && next < pipeline.stages.len() {
            // Its response leaves this stage at arrival + end-to-end.
            let left = rec.arrival.0.saturating_add(rec.e2e_ns.unwrap_or(0));
            let at = SimTime(left) + pipeline.hops[next];
            flight.stage = next as u16;
            flight.queue_ns = flight.queue_ns.saturating_add(stage_queue);
            flight.preemptions += rec.preemptions;
            let request = rec.id;
            self.stage_records.push(rec);
            self.push(at, EventKind::StageArrival { request });
            return;
        }
        let Some(flight) = self.in_flight.remove(&rec.id) else {
            return;
        };
        let offset = rec.arrival.saturating_since(flight.origin).0;
        let end = RequestRecord {
            arrival: flight.origin,
            pipeline: Some(flight.pipeline),
            queue_ns: rec
                .queue_ns
                .map(|q| q.saturating_add(flight.queue_ns))
                .or((flight.queue_ns > 0).then_some(flight.queue_ns)),
            ttft_ns: rec.ttft_ns.map(|t| t.saturating_add(offset)),
            e2e_ns: rec.e2e_ns.map(|t| t.saturating_add(offset)),
            preemptions: rec.preemptions + flight.preemptions,
            ..rec.clone()
        };
        self.stage_records.push(rec);
        if end.outcome == Outcome::Completed {
            self.window.completed += 1;
            self.window.ttft_ns.extend(end.ttft_ns);
        }
        self.records.push(end);
    }

    fn on_tick(&mut self) {
        let mut running = 0u64;
        let mut waiting: u64 = self
            .deployments
            .iter()
            .map(|d| d.gateway.len() as u64)
            .sum();
        for (r, life) in self.replicas.iter().zip(&self.lives) {
            if life.phase != Phase::Terminated {
                let l = r.load();
                running += u64::from(l.running);
                waiting += u64::from(l.waiting);
            }
        }
        let (mut replicas_starting, mut replicas_draining) = (0u32, 0u32);
        for life in &self.lives {
            match life.phase {
                Phase::Starting(_) => replicas_starting += 1,
                Phase::Draining => replicas_draining += 1,
                Phase::Ready | Phase::Terminated => {}
            }
        }
        let gpu_ns = self.gpu_window(self.now);
        let w = std::mem::take(&mut self.window);
        let mut ttft = w.ttft_ns;
        let ttft_p95_ns = crate::metrics::percentiles_unsorted(&mut ttft, &[95.0])[0];
        self.timeseries.push(TimeseriesRow {
            start: w.start,
            end: self.now,
            arrivals: w.arrivals,
            completed: w.completed,
            running,
            waiting,
            replicas: self
                .deployments
                .iter()
                .map(|d| d.routable.len() as u32)
                .sum(),
            ttft_p95_ns,
            replicas_starting,
            replicas_draining,
            sla_misses: 0, // binned from the records at the end
            gpu_ns,
        });
        ttft.clear();
        self.window = WindowAccumulator {
            start: self.now,
            ttft_ns: ttft,
            ..WindowAccumulator::default()
        };
    }

    /// GPU time by state since the previous window's end up to `now`.
    ///
    /// A running total should never shrink (a replica's busy time is
    /// frozen at drain start as elapsed, `busy_ns_at`); should one ever,
    /// the window shows zero and the shortfall is taken from the next
    /// windows, so the windows still add up to the totals.
    fn gpu_window(&mut self, now: SimTime) -> [u128; GpuState::COUNT] {
        let total = self.gpu_ns_until(now);
        let mut window = [0u128; GpuState::COUNT];
        for ((w, t), shown) in window.iter_mut().zip(total).zip(&mut self.gpu_ns_so_far) {
            *w = t.saturating_sub(*shown);
            *shown += *w;
        }
        window
    }

    /// GPU time by state from time 0 to `now`, GPU·ns, indexed like
    /// [`GpuState::ALL`]: the cost report's accounting (`cost_report`)
    /// evaluated at `now` without closing anything. With a placement, only
    /// replicas that got a node hold GPUs, and nodes add their unassigned
    /// GPUs (warm pool while the node is in it, else unallocated); without
    /// one, every replica holds its GPUs from its creation.
    fn gpu_ns_until(&self, now: SimTime) -> [u128; GpuState::COUNT] {
        let mut out = [0u128; GpuState::COUNT];
        let mut add = |state: GpuState, gpu_ns: u128| {
            if let Some(i) = GpuState::ALL.iter().position(|s| *s == state) {
                out[i] += gpu_ns;
            }
        };
        let placement = self.shared_placement();
        if let Some(p) = &placement {
            for n in &self.nodes {
                let per_node = p.pools[n.pool as usize].pricing.gpus_per_node;
                let open = if n.released.is_none() {
                    let free = u128::from(per_node.saturating_sub(n.used_gpus));
                    free * u128::from(now.saturating_since(n.used_since).0)
                } else {
                    0
                };
                let unused = n.unallocated_gpu_ns + open;
                if n.warm {
                    add(GpuState::WarmPool, n.warm_pool_gpu_ns + unused);
                } else {
                    add(GpuState::WarmPool, n.warm_pool_gpu_ns);
                    add(GpuState::Unallocated, unused);
                }
            }
        }
        for (i, (replica, life)) in self.replicas.iter().zip(&self.lives).enumerate() {
            if placement.is_some() && life.node.is_none() {
                continue; // waiting for a node: no GPU held yet
            }
            let d = usize::from(self.deployment_of[i]);
            let gpus = u128::from(self.config.deployments[d].fleet.gpus_per_replica.max(1));
            // The phase in progress has not been added to the life's
            // counters yet.
            let open = now.saturating_since(life.since).0;
            let mut stage_ns = life.stage_ns;
            let mut draining_ns = life.draining_ns;
            match life.phase {
                Phase::Starting(stage) => {
                    if let Some(k) = Stage::ALL.iter().position(|s| *s == stage) {
                        stage_ns[k] += open;
                    }
                }
                Phase::Draining => draining_ns += open,
                Phase::Ready | Phase::Terminated => {}
            }
            for (stage, ns) in Stage::ALL.iter().zip(stage_ns) {
                add(stage_state(*stage), gpus * u128::from(ns));
            }
            let ready = match life.ready_at {
                Some(at) => {
                    (life.ended.unwrap_or(now).saturating_since(at).0).saturating_sub(draining_ns)
                }
                None => 0,
            };
            let warming = match (life.warms_up, life.ready_at) {
                (true, Some(at)) => (replica.warmup_ended(now).unwrap_or(now))
                    .saturating_since(at)
                    .0
                    .min(ready),
                _ => 0,
            };
            let busy_total = (life.busy_at_drain).unwrap_or_else(|| replica.busy_ns_at(now));
            let busy = busy_total.saturating_sub(warming).min(ready - warming);
            for (state, ns) in [
                (GpuState::WarmingUp, warming),
                (GpuState::Busy, busy),
                (GpuState::IdleReady, ready - warming - busy),
                (GpuState::Draining, draining_ns),
            ] {
                add(state, gpus * u128::from(ns));
            }
        }
        out
    }

    /// Makes the windows add up to the GPU time by state at the run's end
    /// `end` (where the cost report closes everything): what the running
    /// total gained after the windows goes to the last window; a shortfall
    /// (one the later windows could not absorb, see `gpu_window`) is taken
    /// from the latest windows that have some, so none goes negative.
    fn close_gpu_windows(&mut self, end: SimTime) {
        let total = self.gpu_ns_until(end);
        for (i, (t, shown)) in total.into_iter().zip(self.gpu_ns_so_far).enumerate() {
            if let Some(gain) = t.checked_sub(shown) {
                if let Some(last) = self.timeseries.last_mut() {
                    last.gpu_ns[i] += gain;
                }
                continue;
            }
            let mut excess = shown - t;
            for w in self.timeseries.iter_mut().rev() {
                let take = excess.min(w.gpu_ns[i]);
                w.gpu_ns[i] -= take;
                excess -= take;
                if excess == 0 {
                    break;
                }
            }
        }
    }

    /// Counts each record's SLA miss in the window whose `arrivals` counted
    /// it: an arrival at a window's end instant comes before that instant's
    /// tick (class 0), so it belongs to the window ending there.
    fn bin_sla_misses(&mut self) {
        let Some(last) = self.timeseries.len().checked_sub(1) else {
            return;
        };
        for r in &self.records {
            if self.config.sla.request_meets(r) {
                continue;
            }
            let k = self.timeseries.partition_point(|w| w.end < r.arrival);
            self.timeseries[k.min(last)].sla_misses += 1;
        }
    }

    /// Runs to the end of the workload and until every request has ended.
    pub fn run(mut self) -> Result<RunResult, SimError> {
        for d in 0..self.deployments.len() {
            let fleet = self.fleet(d);
            if fleet.replicas == 0
                && fleet.lifecycle.schedule.is_empty()
                && self.deployments[d].autoscaler.is_none()
            {
                return Err(SimError::EmptyFleet {
                    deployment: self.config.deployments[d].name.to_string(),
                });
            }
            if let Some(a) = &self.deployments[d].autoscaler {
                let deployment = d as u16;
                let first_sync = SimTime::ZERO + a.sync_period();
                self.push(SimTime::ZERO, EventKind::Scrape { deployment });
                self.push(first_sync, EventKind::Sync { deployment });
            }
        }
        self.pull_arrival()?;
        for node in 0..self.nodes.len() as u32 {
            self.schedule_interruption(node);
        }
        for d in 0..self.deployments.len() {
            let schedule = self.fleet(d).lifecycle.schedule.clone();
            for (i, &(at, _)) in schedule.iter().enumerate() {
                let (deployment, index) = (d as u16, i as u32);
                self.push(at, EventKind::Scale { deployment, index });
            }
        }
        let resolution = self.config.timeseries_resolution.max(SimDuration(1));
        self.push(SimTime::ZERO + resolution, EventKind::Tick);
        loop {
            // The run ends with its last request: once every request has an
            // outcome, fleet changes still queued (later schedule entries,
            // releases, spot reclaims) can no longer matter to a request and
            // are dropped, so they neither extend the billed span nor loop.
            if !self.fleet_frozen && self.finished_work() {
                self.fleet_frozen = true;
                let replicas = &self.replicas;
                self.heap.retain(|e| match e.kind {
                    EventKind::Tick => true,
                    EventKind::Wake { replica, token } => {
                        replicas[replica as usize].wake_is_current(SimTime(e.time), token)
                    }
                    _ => false,
                });
                // (No `QueueTimeout` can matter: the gateway is empty.)
            }
            // The next arrival waits outside the heap: arrivals come first
            // at equal times (class 0) and only one is ever pending, so
            // comparing its time with the heap's earliest event gives the
            // `(time, class, sequence)` order with half the heap traffic.
            let arrival = self.pending.as_ref().map(|r| r.arrival);
            if let Some(at) = arrival.filter(|at| self.heap.peek().is_none_or(|e| at.0 <= e.time)) {
                self.now = at;
                self.events += 1;
                self.on_arrival()?;
                continue;
            }
            let Some(&event) = self.heap.peek() else {
                break;
            };
            self.handling_top = true;
            self.now = SimTime(event.time);
            self.events += 1;
            match event.kind {
                EventKind::Wake { replica, token } => {
                    self.replicas[replica as usize].on_wake(
                        self.now,
                        token,
                        &mut self.finished,
                        &mut self.wakes,
                    );
                    let freed = !self.finished.is_empty();
                    self.record_finished(replica);
                    self.drain_wakes(replica);
                    let d = self.dep(replica);
                    if freed && !self.deployments[d].gateway.is_empty() {
                        self.serve_gateway(d);
                    }
                }
                kind @ (EventKind::StageDone { .. }
                | EventKind::Scale { .. }
                | EventKind::DrainDeadline { .. }
                | EventKind::StartRelease { .. }
                | EventKind::NodeUp { .. }
                | EventKind::NodeRelease { .. }
                | EventKind::SpotNotice { .. }
                | EventKind::SpotKill { .. }) => self.on_fleet_event(kind),
                EventKind::StageArrival { request } => self.on_stage_arrival(request)?,
                EventKind::Scrape { deployment } => self.on_scrape(deployment.into()),
                EventKind::Sync { deployment } => self.on_sync(deployment.into()),
                EventKind::QueueTimeout { deployment, class } => {
                    self.on_queue_timeout(deployment.into(), class)
                }
                EventKind::Tick => {
                    self.on_tick();
                    if self.anything_left() {
                        self.push(self.now + resolution, EventKind::Tick);
                    }
                }
            }
            if self.handling_top {
                self.handling_top = false;
                self.heap.pop();
            }
        }
        self.finish()
    }

    fn finish(mut self) -> Result<RunResult, SimError> {
        // Requests still at a gateway had no replica to go to before the
        // run ended.
        for d in 0..self.deployments.len() {
            for q in self.deployments[d].gateway.drain_all() {
                let aborted = Aborted {
                    seq: Seq::from_request(&q.request),
                    first_scheduled: None,
                    first_token: None,
                    preemptions: 0,
                };
                self.record_failed(aborted, d, None);
            }
        }
        let end = self
            .records
            .iter()
            .filter_map(|r| r.e2e_ns.map(|e| r.arrival.0.saturating_add(e)))
            .max()
            .unwrap_or(0);
        let end = end
            .max(self.records.iter().map(|r| r.arrival.0).max().unwrap_or(0))
            .max(self.lifecycle_end.0);
        if self.window.arrivals > 0 || self.window.completed > 0 {
            self.on_tick();
        }
        self.close_gpu_windows(SimTime(end));
        order_by_id(&mut self.records);
        check_conservation(&self.records, self.next_id, self.in_flight.len())?;
        self.bin_sla_misses();
        let end_time = SimTime(end);
        let simulated_s = end as f64 / NANOS_PER_SEC as f64;
        let mut summary = Summary::from_records(&self.records, &self.config.sla, simulated_s);
        (summary.fleet, summary.gpu_hours) = self.fleet_figures(end_time, None);
        summary.deployments = (0..self.deployments.len())
            .map(|d| self.deployment_report(d, end_time, simulated_s, &summary))
            .collect();
        summary.pipelines = (self.config.pipelines.iter().enumerate())
            .map(|(p, spec)| {
                let mine: Vec<RequestRecord> = (self.records.iter())
                    .filter(|r| r.pipeline == Some(p as u16))
                    .cloned()
                    .collect();
                let s = Summary::from_records(&mine, &self.config.sla, simulated_s);
                PipelineReport {
                    name: spec.name.to_string(),
                    stages: (spec.stages.iter())
                        .map(|&d| self.config.deployments[usize::from(d)].name.to_string())
                        .collect(),
                    requests: s.requests,
                    latency: s.latency,
                    sla: s.sla,
                }
            })
            .collect();
        summary.sim = SimReport {
            events: self.events,
            simulated_s,
            wall_s: None,
            seed: self.config.seed,
        };
        if let Some(p) = self.shared_placement() {
            let completed = summary.requests.completed;
            let tokens: u64 = self
                .records
                .iter()
                .filter(|r| r.outcome == Outcome::Completed)
                .map(|r| u64::from(r.output_tokens))
                .sum();
            let report = self
                .cost_report(&p, end_time, completed, tokens)
                .map_err(|e| SimError::Accounting(e.to_string()))?;
            summary.gpu_hours.billed = report.billed_gpu_hours;
            summary.gpu_hours.by_state = Some(crate::cost::ByState::from_fn(|line| {
                report.by_state.get(line).gpu_hours
            }));
            summary.gpu_hours.idle = (report.billed_gpu_hours - summary.gpu_hours.busy).max(0.0);
            let mut report = report;
            report.monthly_equation = self.monthly_equation(&p, end_time, &summary, &report);
            summary.cost = Some(report);
        }
        summary.cold_start = self.cold_start_summary();
        let replicas = self.replica_rows(end_time);
        self.cache_reports(&mut summary, &replicas);
        Ok(RunResult {
            summary,
            records: self.records,
            timeseries: self.timeseries,
            replicas,
            warnings: Vec::new(),
        })
    }

    /// Fleet counters and GPU time (from replicas' held time; the cost
    /// report refines billed time with a placement) of deployment `d`, or
    /// of all deployments. `gpus_per_replica` is 0 when deployments differ.
    fn fleet_figures(&self, end: SimTime, d: Option<usize>) -> (FleetReport, GpuHours) {
        let mine = |dep: usize| d.is_none_or(|d| d == dep);
        let gpus_of = |dep: usize| self.fleet(dep).gpus_per_replica.max(1);
        let deps: Vec<usize> = (0..self.deployments.len()).filter(|&x| mine(x)).collect();
        let mut fleet = FleetReport {
            replicas: deps.iter().map(|&x| self.fleet(x).replicas).sum(),
            gpus_per_replica: if deps.iter().all(|&x| gpus_of(x) == gpus_of(deps[0])) {
                gpus_of(deps[0])
            } else {
                0
            },
            ..FleetReport::default()
        };
        let (mut busy_gpu_ns, mut held_gpu_ns) = (0u128, 0u128);
        let (mut fmin, mut fmax, mut fsum, mut counted) = (f64::INFINITY, 0.0f64, 0.0f64, 0u32);
        for (i, (r, life)) in self.replicas.iter().zip(&self.lives).enumerate() {
            let dep = self.dep(i as u32);
            if !mine(dep) {
                continue;
            }
            let gpus = u128::from(gpus_of(dep));
            let c = r.counters();
            fleet.iterations += c.iterations;
            fleet.preemptions += c.preemptions;
            busy_gpu_ns += u128::from(c.busy_ns) * gpus;
            let held = life.held_ns(end);
            held_gpu_ns += u128::from(held) * gpus;
            if life.cold {
                fleet.replicas_started += 1;
            }
            // Every ready replica the fleet let go of, idle ones too (they
            // drain in no time).
            if life.busy_at_drain.is_some() {
                fleet.replicas_drained += 1;
            }
            if held > 0 {
                let frac = c.busy_ns as f64 / held as f64;
                fmin = fmin.min(frac);
                fmax = fmax.max(frac);
                fsum += frac;
                counted += 1;
            }
        }
        fleet.busy_fraction_min = if fmin.is_finite() { fmin } else { 0.0 };
        fleet.busy_fraction_max = fmax;
        fleet.busy_fraction_mean = if counted > 0 {
            fsum / f64::from(counted)
        } else {
            0.0
        };
        let gpu_ns_per_hour = 3600.0 * NANOS_PER_SEC as f64;
        let billed = held_gpu_ns as f64 / gpu_ns_per_hour;
        let busy = busy_gpu_ns as f64 / gpu_ns_per_hour;
        let hours = GpuHours {
            billed,
            busy,
            idle: (billed - busy).max(0.0),
            by_state: None,
        };
        (fleet, hours)
    }

    /// Deployment `d`'s own section of the summary: its requests against
    /// the run's SLA, its classes against theirs, its fleet and GPU time.
    /// (`run` is the run's summary: with one deployment and no pipelines,
    /// the deployment's figures are the run's and are not computed twice.)
    fn deployment_report(
        &self,
        d: usize,
        end: SimTime,
        simulated_s: f64,
        run: &Summary,
    ) -> DeploymentReport {
        let fleet = self.fleet(d);
        // Stage-level records: a request's own, or each stage visit of a
        // pipeline request.
        let alone = self.deployments.len() == 1 && self.config.pipelines.is_empty();
        let mine: Vec<RequestRecord>;
        let records: &[RequestRecord] = if alone {
            &self.records
        } else {
            mine = (self.records.iter())
                .filter(|r| r.pipeline.is_none())
                .chain(&self.stage_records)
                .filter(|r| usize::from(r.deployment) == d)
                .cloned()
                .collect();
            &mine
        };
        let computed;
        let s = if alone {
            run
        } else {
            computed = Summary::from_records(records, &self.config.sla, simulated_s);
            &computed
        };
        let (fleet_report, gpu_hours) = self.fleet_figures(end, Some(d));
        DeploymentReport {
            name: self.config.deployments[d].name.to_string(),
            requests: s.requests.clone(),
            latency: s.latency.clone(),
            sla: s.sla.clone(),
            classes: (fleet.queue.classes.iter().enumerate())
                .map(|(i, c)| {
                    ClassReport::from_records(&c.name, i as u8, records, &c.sla, simulated_s)
                })
                .collect(),
            fleet: fleet_report,
            gpu_hours,
        }
    }

    /// The activator: a request waits at deployment `d`'s gateway while it
    /// is scaled to zero; its autoscaler hears of it now, not at its next
    /// sync.
    fn activate(&mut self, d: usize) {
        let now = self.now;
        let dep = &mut self.deployments[d];
        if dep.desired > 0 {
            return; // replicas are wanted already: they are starting
        }
        let Some(a) = dep.autoscaler.as_mut() else {
            return;
        };
        let Some(want) = a.on_activation(now) else {
            return;
        };
        let (min, max) = a.replica_bounds();
        let want = want.clamp(min, max.max(min));
        if want > 0 {
            dep.desired = want;
            self.lifecycle_end = self.now;
            self.reconcile(d);
        }
    }

    /// Takes a scrape of deployment `d` and queues the next.
    fn on_scrape(&mut self, d: usize) {
        let interval = self.deployments[d].metrics_spec.scrape_interval;
        let mut pods = Vec::new();
        for r in 0..self.replicas.len() {
            if self.dep(r as u32) != d {
                continue;
            }
            let life = &self.lives[r];
            let phase = match life.phase {
                Phase::Starting(_) => PodPhase::Starting,
                Phase::Ready => PodPhase::Ready,
                Phase::Draining => PodPhase::Draining,
                Phase::Terminated => continue,
            };
            let replica = &self.replicas[r];
            let load = replica.load();
            // As of now in both stepping modes: the counter books an
            // iteration or a planned decode run whole when it starts.
            let busy = replica.busy_ns_at(self.now);
            let last = std::mem::replace(&mut self.busy_at_scrape[r], busy);
            let busy_fraction =
                (busy.saturating_sub(last) as f64 / interval.0 as f64).clamp(0.0, 1.0);
            pods.push(PodSample {
                replica: r as u32,
                phase,
                created: life.created,
                ready_since: life.ready_at,
                num_requests_running: load.running,
                num_requests_waiting: load.waiting,
                kv_cache_usage_perc: replica.kv_cache_usage_at(self.now),
                gpu_busy_fraction: if phase == PodPhase::Starting {
                    0.0
                } else {
                    busy_fraction
                },
            });
        }
        let dep = &mut self.deployments[d];
        let scrape = Scrape {
            at: self.now,
            pods,
            gateway_waiting: dep.gateway.len() as u32,
            arrivals_total: dep.arrivals_total,
        };
        let lookback = dep.metrics_spec.lookback;
        dep.metrics.record(scrape, lookback);
        if !self.fleet_frozen {
            let deployment = d as u16;
            self.push(self.now + interval, EventKind::Scrape { deployment });
        }
    }

    /// Deployment `d`'s autoscaler decides from what its metrics show; the
    /// count, clamped to its bounds, is applied like a schedule entry.
    fn on_sync(&mut self, d: usize) {
        let now = self.now;
        let dep = &mut self.deployments[d];
        let Some(a) = dep.autoscaler.as_mut() else {
            return;
        };
        let obs = dep.metrics.observe(now, dep.metrics_spec.lag, dep.desired);
        let (min, max) = a.replica_bounds();
        let want = a.desired_replicas(&obs).clamp(min, max.max(min));
        let period = a.sync_period();
        if !self.fleet_frozen {
            let deployment = d as u16;
            self.push(now + period, EventKind::Sync { deployment });
        }
        if want != self.deployments[d].desired {
            self.deployments[d].desired = want;
            self.lifecycle_end = now;
            self.reconcile(d);
        }
    }

    /// Per-replica figures for `replicas.csv` and the cache reports.
    fn replica_rows(&self, end: SimTime) -> Vec<ReplicaRow> {
        let mut completed = vec![0u64; self.replicas.len()];
        for r in &self.records {
            if let (Outcome::Completed, Some(i)) = (r.outcome, r.replica) {
                completed[i as usize] += 1;
            }
        }
        self.replicas
            .iter()
            .zip(&self.lives)
            .enumerate()
            .map(|(i, (r, life))| {
                let c = r.counters();
                ReplicaRow {
                    deployment: self.deployment_of[i],
                    replica: i as u32,
                    held_ns: life.held_ns(end),
                    busy_ns: c.busy_ns,
                    iterations: c.iterations,
                    preemptions: c.preemptions,
                    completed: completed[i],
                    counters: c,
                }
            })
            .collect()
    }

    /// The summary's `prefix_cache` and `adapters` sections, when the
    /// replicas have them.
    /// (With several deployments, over all replicas, in the first
    /// deployment's prefix-block size and capacity.)
    fn cache_reports(&self, summary: &mut Summary, rows: &[ReplicaRow]) {
        let ReplicaSpec::Batching { config, .. } = &self.fleet(0).replica else {
            return;
        };
        summary.prefix_cache = config.prefix_cache.map(|p| {
            PrefixCacheReport::from_rows(
                rows,
                p.block_tokens,
                config.prefix_cache_capacity_blocks(),
            )
        });
        summary.adapters = config
            .lora
            .as_ref()
            .map(|l| AdapterReport::from_rows(rows, l));
    }

    /// GPU time by state and dollars, from the nodes' and replicas' lives.
    fn cost_report(
        &mut self,
        p: &Placement,
        end: SimTime,
        completed: u64,
        output_tokens: u64,
    ) -> Result<CostReport, crate::cost::LedgerError> {
        let mut ledger = GpuLedger::new(p.pools.iter().map(|pool| pool.pricing.clone()).collect())?;
        let span = |ns: u64| (SimTime::ZERO, SimTime(ns));
        for n in &mut self.nodes {
            let pool = n.pool as usize;
            let stop = n.released.unwrap_or(end).max(n.requested);
            if n.released.is_none() {
                n.close_unallocated(p.pools[pool].pricing.gpus_per_node, stop);
            }
            ledger.node_held(pool, n.requested, stop)?;
            let (warm, unallocated) = if n.warm {
                (n.warm_pool_gpu_ns + n.unallocated_gpu_ns, 0)
            } else {
                (n.warm_pool_gpu_ns, n.unallocated_gpu_ns)
            };
            for (state, mut left) in [
                (GpuState::WarmPool, warm),
                (GpuState::Unallocated, unallocated),
            ] {
                while left > 0 {
                    let chunk = u64::try_from(left).unwrap_or(u64::MAX);
                    let (from, to) = span(chunk);
                    ledger.add(pool, state, 1, from, to)?;
                    left -= u128::from(chunk);
                }
            }
        }
        for (i, (replica, life)) in self.replicas.iter().zip(self.lives.iter_mut()).enumerate() {
            let Some(node) = life.node else {
                continue; // never held GPUs
            };
            let d = usize::from(self.deployment_of[i]);
            let gpus = self.config.deployments[d].fleet.gpus_per_replica.max(1);
            let pool = self.nodes[node as usize].pool as usize;
            if life.phase != Phase::Terminated {
                life.enter(Phase::Terminated, end);
            }
            for (i, stage) in Stage::ALL.iter().enumerate() {
                let (from, to) = span(life.stage_ns[i]);
                ledger.add(pool, stage_state(*stage), gpus, from, to)?;
            }
            let ready = life.ready_ns(end);
            // A warm-up window is its own state; the rest of the ready time
            // splits into busy and idle.
            let warming = match (life.warms_up, life.ready_at) {
                (true, Some(at)) => replica
                    .warmup_ended(end)
                    .unwrap_or(end)
                    .saturating_since(at)
                    .0
                    .min(ready),
                _ => 0,
            };
            let busy_total = life.busy_at_drain.unwrap_or(replica.counters().busy_ns);
            let busy = busy_total.saturating_sub(warming).min(ready - warming);
            for (state, ns) in [
                (GpuState::WarmingUp, warming),
                (GpuState::Busy, busy),
                (GpuState::IdleReady, ready - warming - busy),
                (GpuState::Draining, life.draining_ns),
            ] {
                let (from, to) = span(ns);
                ledger.add(pool, state, gpus, from, to)?;
            }
        }
        ledger.check_balance()?;
        Ok(ledger.report(completed, output_tokens))
    }

    /// The monthly cost equation's inputs, gathered from the run. The
    /// SLA-feasible concurrency per replica is the busiest per-replica load
    /// (running requests ÷ ready replicas at a window's end) among the
    /// time-series windows whose p95 TTFT met the SLA's TTFT threshold (all
    /// windows when there is none): a measured, not a modelled, capacity.
    fn monthly_equation(
        &self,
        p: &Placement,
        end: SimTime,
        summary: &Summary,
        report: &CostReport,
    ) -> Option<crate::cost::MonthlyEquation> {
        if self.deployments.len() > 1 {
            return None; // one replica shape per equation; see docs/cost.md
        }
        let gpus = f64::from(self.fleet(0).gpus_per_replica.max(1));
        let ready_replica_ns: u128 = self.lives.iter().map(|l| u128::from(l.ready_ns(end))).sum();
        let (mut scale_ups, mut cold_ns) = (0u64, 0u128);
        for life in self.lives.iter().filter(|l| l.cold && l.ready_at.is_some()) {
            scale_ups += 1;
            cold_ns += life.stage_ns[1..]
                .iter()
                .map(|&ns| u128::from(ns))
                .sum::<u128>();
        }
        let ttft_limit_ns = self.config.sla.ttft_ms.map(|ms| ms * 1e6);
        let sla_concurrency = self
            .timeseries
            .iter()
            .filter(|w| w.replicas > 0)
            .filter(|w| match (ttft_limit_ns, w.ttft_p95_ns) {
                (Some(limit), Some(p95)) => p95 <= limit,
                _ => true,
            })
            .map(|w| w.running as f64 / f64::from(w.replicas))
            .fold(0.0f64, f64::max);
        let completed = self
            .records
            .iter()
            .filter(|r| r.outcome == Outcome::Completed);
        let (mut service_ns, mut n) = (0u128, 0u64);
        for r in completed {
            if let (Some(e2e), Some(q)) = (r.e2e_ns, r.queue_ns) {
                service_ns += u128::from(e2e.saturating_sub(q));
                n += 1;
            }
        }
        let inputs = crate::cost::MonthlyInputs {
            simulated: end.saturating_since(SimTime::ZERO),
            ready_replica_ns,
            usd_per_replica_hour: self.ready_weighted_price(p, end) * gpus,
            scale_up_events: scale_ups,
            cold_start_replica_ns: cold_ns,
            arrival_rate_per_s: summary.requests.arrived as f64
                / summary.sim.simulated_s.max(f64::MIN_POSITIVE),
            mean_service_s: if n > 0 {
                service_ns as f64 / n as f64 / 1e9
            } else {
                0.0
            },
            sla_concurrency_per_replica: sla_concurrency,
            billed: report.billed_costs(),
        };
        crate::cost::monthly_equation(&inputs).ok()
    }

    /// Price per GPU-hour averaged over replicas' Ready time (the pools
    /// their nodes belong to); the first pool's price with no Ready time.
    fn ready_weighted_price(&self, p: &Placement, end: SimTime) -> f64 {
        let (mut weighted, mut total) = (0.0f64, 0.0f64);
        for life in &self.lives {
            let Some(node) = life.node else { continue };
            let ready = life.ready_ns(end) as f64;
            weighted += ready
                * p.pools[self.nodes[node as usize].pool as usize]
                    .pricing
                    .usd_per_gpu_hour;
            total += ready;
        }
        if total > 0.0 {
            weighted / total
        } else {
            p.pools
                .first()
                .map_or(0.0, |pool| pool.pricing.usd_per_gpu_hour)
        }
    }

    /// Cold starts of replicas that became ready during the run.
    fn cold_start_summary(&self) -> Option<ColdStartSummary> {
        let mut totals: Vec<u64> = Vec::new();
        let mut by_stage = [0u128; 4];
        for life in self.lives.iter().filter(|l| l.cold) {
            let Some(ready) = life.ready_at else { continue };
            totals.push(ready.saturating_since(life.created).0);
            for (sum, ns) in by_stage.iter_mut().zip(life.stage_ns) {
                *sum += u128::from(ns);
            }
        }
        if totals.is_empty() {
            return None;
        }
        let n = totals.len() as f64;
        let ps = crate::metrics::percentiles_unsorted(&mut totals, &[50.0, 95.0]);
        let secs = |ns: f64| ns / NANOS_PER_SEC as f64;
        let mean_s = |i: usize| secs(by_stage[i] as f64 / n);
        Some(ColdStartSummary {
            count: totals.len() as u64,
            p50_s: ps[0].map(secs).unwrap_or(0.0),
            p95_s: ps[1].map(secs).unwrap_or(0.0),
            by_stage: ColdStartStages {
                provisioning: mean_s(0),
                pulling_image: mean_s(1),
                loading_weights: mean_s(2),
                starting_engine: mean_s(3),
            },
        })
    }
}

/// The GPU state of a cold-start stage.
fn stage_state(stage: Stage) -> GpuState {
    match stage {
        Stage::Provisioning => GpuState::Provisioning,
        Stage::PullingImage => GpuState::PullingImage,
        Stage::LoadingWeights => GpuState::LoadingWeights,
        Stage::StartingEngine => GpuState::StartingEngine,
    }
}

/// `route_pos` of a replica that is not ready.
const NOT_ROUTABLE: u32 = u32::MAX;

/// Replica `i` of the fleet; it draws its randomness from the stream
/// `("model.replica", i)` of the seed.
fn new_replica(spec: &ReplicaSpec, seed: u64, i: u32) -> Replica {
    match spec {
        ReplicaSpec::Batching { config, perf } => {
            Replica::Batching(BatchingReplica::new(Arc::clone(config), Arc::clone(perf)))
        }
        ReplicaSpec::Slots { slots, service } => Replica::Slots(SlotReplica::new(
            *slots,
            service,
            rng::stream(seed, "model.replica", u64::from(i)),
        )),
    }
}

/// Puts the records in id order. Every arrival gets exactly one record and
/// ids are assigned 0, 1, 2, … in arrival order, so the record with id `i`
/// belongs at index `i`: cycle placement does it in at most `n` swaps, where
/// a comparison sort of the (nearly sorted) completion order took a third
/// of a short run's time. Falls back to sorting if the ids are not exactly
/// `0..n`, so the result is the same either way.
fn order_by_id(records: &mut [RequestRecord]) {
    let n = records.len();
    for i in 0..n {
        loop {
            let j = records[i].id;
            if j == i as u64 {
                break;
            }
            let Ok(j) = usize::try_from(j) else { break };
            if j >= n || records[j].id == j as u64 {
                break; // not a permutation of 0..n
            }
            records.swap(i, j);
        }
    }
    if records.iter().enumerate().any(|(i, r)| r.id != i as u64) {
        records.sort_unstable_by_key(|r| r.id);
    }
}

/// Every request pulled from the workload (ids `0..pulled`) ends with
/// exactly one record, and no pipeline request is still on its way: checked
/// against the count of requests pulled, never against the records alone.
/// `records` must be in id order.
fn check_conservation(
    records: &[RequestRecord],
    pulled: u64,
    in_flight: usize,
) -> Result<(), SimError> {
    if in_flight > 0 {
        return Err(SimError::RequestAccounting(format!(
            "{in_flight} pipeline request(s) never ended"
        )));
    }
    if let Some(i) = (0..records.len()).find(|&i| records[i].id != i as u64) {
        return Err(SimError::RequestAccounting(format!(
            "request {i} has no record or more than one (record {i} is request {})",
            records[i].id
        )));
    }
    if records.len() as u64 != pulled {
        return Err(SimError::RequestAccounting(format!(
            "{} records for {pulled} requests pulled from the workload",
            records.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conservation_is_checked_against_the_requests_pulled() {
        let ok: Vec<_> = (0..4).map(record).collect();
        assert!(check_conservation(&ok, 4, 0).is_ok());
        let msg = |r: Result<(), SimError>| r.map_err(|e| e.to_string()).unwrap_err();
        assert_eq!(
            msg(check_conservation(&ok, 5, 0)),
            "internal error, requests do not add up: 4 records for 5 requests pulled from the workload"
        );
        let twice: Vec<_> = [0, 1, 1, 2].into_iter().map(record).collect();
        assert_eq!(
            msg(check_conservation(&twice, 4, 0)),
            "internal error, requests do not add up: request 2 has no record or more than one (record 2 is request 1)"
        );
        assert_eq!(
            msg(check_conservation(&ok, 4, 1)),
            "internal error, requests do not add up: 1 pipeline request(s) never ended"
        );
    }

    fn record(id: u64) -> RequestRecord {
        RequestRecord {
            id,
            class: 0,
            deployment: 0,
            pipeline: None,
            arrival: SimTime(id),
            replica: None,
            outcome: Outcome::Completed,
            input_tokens: 1,
            output_tokens: 1,
            queue_ns: None,
            ttft_ns: None,
            tpot_ns: None,
            e2e_ns: None,
            preemptions: 0,
        }
    }

    fn ids(records: &[RequestRecord]) -> Vec<u64> {
        records.iter().map(|r| r.id).collect()
    }

    #[test]
    fn order_by_id_places_a_permutation() {
        let mut records: Vec<_> = [3, 0, 4, 1, 2, 6, 5].into_iter().map(record).collect();
        order_by_id(&mut records);
        assert_eq!(ids(&records), vec![0, 1, 2, 3, 4, 5, 6]);
        assert!(records.iter().all(|r| r.arrival == SimTime(r.id)));
    }

    #[test]
    fn order_by_id_sorts_ids_that_are_not_0_to_n() {
        let mut records: Vec<_> = [7, 1, 1, 0, 42].into_iter().map(record).collect();
        order_by_id(&mut records);
        assert_eq!(ids(&records), vec![0, 1, 1, 7, 42]);
        let mut empty: Vec<RequestRecord> = Vec::new();
        order_by_id(&mut empty);
        assert!(empty.is_empty());
    }
}
