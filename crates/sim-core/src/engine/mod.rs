//! The engine: a thin coordinator over rooms, one file each.
//!
//! `Simulation` holds the rooms' state and runs the event loop (`run`): it
//! takes the earliest of the pending arrival and the kernel's next event
//! and hands it to the room that owns it. A room with state of its own
//! declares it as a struct (`Fleet`, `Outcomes`, `Windows`, `Kernel`) whose
//! methods need nothing else; handlers that cross rooms are `impl
//! Simulation` blocks in the room that starts them. Each room reads on its
//! own:
//!
//! - `kernel`: events and their `(time, class, sequence)` order;
//! - `gateway`: arrivals, deployment and class, routing, gateway queues,
//!   queue timeouts;
//! - `fleet`: replicas, cold-start stages, nodes and their caches,
//!   placement, warm pools, spot, drains;
//! - `scaling`: schedule entries, scrapes, autoscaler syncs, the
//!   activator, the scale-up rate limit, `reconcile`;
//! - `pipelines`: requests that pass through several deployments;
//! - `outcomes`: one record per request, checked against the requests
//!   pulled; `records` (keep them, or stream them to a sink) and `stats`
//!   (the streaming state the summary is built from);
//! - `windows`: the time series;
//! - `accounting`: GPU time by state, for the windows and the cost ledger;
//! - `report`: the end of a run and the summary;
//! - `config`, `error`: what a run is given, and why it stops early.
//!
//! Arrivals are pulled from the workload one at a time, never the trace:
//! the next arrival waits beside the event queue (it is the only class-0
//! event, so comparing its time with the queue's earliest event keeps the
//! order), and the queue holds one pending wake-up per busy replica (plus
//! superseded ones waiting to be discarded), fleet and scaling events and
//! the next time-series tick.

use crate::autoscale::{Autoscaler, MetricsSpec, MetricsStore};
use crate::lifecycle::{Phase, ReplicaLife};
use crate::names::NameMix;
use crate::nodes::Placement;
use crate::queue::{class_assigner, GatewayQueue};
use crate::replica::batching::Stepping;
use crate::replica::ReplicaLoad;
use crate::request::Request;
use crate::router::Router;
use crate::time::{SimDuration, SimTime};
use crate::workload::BoxedWorkload;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

mod accounting;
mod config;
mod disagg;
mod error;
mod fleet;
mod gateway;
mod kernel;
mod outcomes;
mod pipelines;
mod records;
mod report;
mod scaling;
mod stats;
mod windows;

pub use config::{
    in_variant_group, DeploymentSpec, FleetSpec, PipelineSpec, ReplicaSpec, SimConfig,
};
pub use disagg::KvTransferSpec;
pub use error::SimError;
pub use fleet::MAX_REPLICAS_STARTED;
use fleet::{new_replica, Fleet};
use kernel::{Event, EventKind, Kernel};
use outcomes::Outcomes;
use pipelines::Flight;
pub use records::{RecordSink, Records};
pub use report::RunResult;
pub use scaling::MAX_CONTROL_EVALUATIONS;
pub use windows::TimeseriesRow;
use windows::Windows;
pub use windows::MAX_TIMESERIES_ROWS;

/// What the engine keeps per deployment: its router, the replicas it may
/// route to, its gateway queue and its scaling state. Replicas themselves
/// live in the simulation's global lists (ids are global, so events and
/// nodes need no deployment), and `Simulation::deployment_of` maps back.
/// In a variant group the routing half (router, routable set, gateway) of
/// the group's first deployment serves every variant; the variants' own
/// stay empty.
struct DeploymentState {
    router: Box<dyn Router>,
    /// Ready replicas, in the order they became ready: what the router
    /// chooses among (of the whole variant group, at its first
    /// deployment). `loads[i]` is the load of `routable[i]`.
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
    /// Its metrics are scraped: it or its variant group's first deployment
    /// has an autoscaler.
    scraped: bool,
    /// Requests that reached the deployment so far (for rates; a variant
    /// group's at its first deployment, whose gateway they reach).
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
    /// The model routers, for arrivals the mix sends to one.
    model_routers: Vec<crate::model_router::ModelRouter>,
    /// Replicas, their lives and the nodes they run on (the `fleet` room).
    fleet: Fleet,
    /// One outcome per request, counted and kept or streamed (the
    /// `outcomes` room).
    outcomes: Outcomes,
    /// The time series (the `windows` room).
    windows: Windows,
    /// Pipeline requests between their first arrival and their end, by id.
    in_flight: std::collections::BTreeMap<u64, Flight>,
    /// The latest instant a replica or node changed state.
    lifecycle_end: SimTime,
    /// Every request has its outcome: fleet events are no longer simulated.
    fleet_frozen: bool,
    /// The scheduled events.
    kernel: Kernel,
    /// The next arrival, pulled from the workload but not yet handled.
    pending: Option<Request>,
    /// Requests pulled from the workload so far (the next one's id).
    next_id: u64,
    now: SimTime,
    /// Events handled so far (arrivals included).
    events: u64,
    /// Why the run must stop, found by a handler that cannot return it.
    halted: Option<SimError>,
    /// Scrapes and autoscaler decisions taken so far, all deployments
    /// (bounded by [`MAX_CONTROL_EVALUATIONS`]).
    control_evaluations: u64,
    /// The most requests the run takes from its workload, if lowered
    /// (`with_max_requests`).
    max_requests: Option<u64>,
    /// Wake-ups handled at replicas that step every iteration (bounded by
    /// [`MAX_STEPPED_ITERATIONS`]); `None` when no deployment does.
    stepped_iterations: Option<u64>,
    /// Queue length above which the next tick looks at every event.
    full_look_above: usize,
}

/// The most iterations one run steps one by one (`stepping =
/// "every_iteration"`, one event each). That mode exists to check the jump
/// over steady decode, which gives the same results; its cost grows with
/// tokens, so a day of a saturated fleet is hundreds of millions of events.
/// Twenty million took 1.5 s with one sequence per batch
/// (`extreme-1858.toml`); large batches cost more per iteration.
pub const MAX_STEPPED_ITERATIONS: u64 = 20_000_000;

/// The most requests one run takes from its workload when it keeps every
/// record ([`Records::Keep`]): a record is about 125 bytes at peak with the
/// summary's sorted latencies, so this bounds its memory to a few GB; a
/// workload that yields more stops the run with
/// [`SimError::TooManyRequests`] rather than exhausting memory. A run that
/// streams its records ([`Records::Stream`]) holds only the requests in
/// flight and takes any number.
pub const MAX_REQUESTS: u64 = 20_000_000;

impl fmt::Debug for Simulation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulation")
            .field("now", &self.now)
            .field("events", &self.events)
            .field("deployments", &self.deployments.len())
            .field("replicas", &self.fleet.replicas.len())
            .finish_non_exhaustive()
    }
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
        config.check(routers.len())?;
        let mut sim = Simulation {
            deployments: Vec::with_capacity(routers.len()),
            deployment_mix: NameMix::new(
                (config.deployments.iter().map(|d| (&*d.name, d.share)))
                    .chain(config.pipelines.iter().map(|p| (&*p.name, p.share)))
                    .chain(config.model_routers.iter().map(|m| (&*m.name, m.share))),
                config.seed,
                "workload.deployment_mix",
                false,
            ),
            model_routers: (config.model_routers.iter().enumerate())
                .map(|(i, m)| {
                    crate::model_router::ModelRouter::new(m.clone(), config.seed, i as u64)
                })
                .collect(),
            workload,
            fleet: Fleet::new(&config),
            outcomes: Outcomes {
                records_classes: config
                    .deployments
                    .iter()
                    .any(|d| !d.fleet.queue.classes.is_empty()),
                stats: stats::RunStats::new(&config),
                ..Outcomes::default()
            },
            windows: Windows::default(),
            in_flight: std::collections::BTreeMap::new(),
            lifecycle_end: SimTime::ZERO,
            fleet_frozen: false,
            kernel: Kernel::default(),
            pending: None,
            next_id: 0,
            now: SimTime::ZERO,
            events: 0,
            halted: None,
            control_evaluations: 0,
            max_requests: None,
            stepped_iterations: config
                .deployments
                .iter()
                .any(|d| match &d.fleet.replica {
                    ReplicaSpec::Batching { config, .. } => {
                        config.stepping == Stepping::EveryIteration
                    }
                    ReplicaSpec::Slots { .. } => false,
                })
                .then_some(0),
            full_look_above: 0,
            config,
        };
        for (d, router) in routers.into_iter().enumerate() {
            let fleet = &sim.config.deployments[d].fleet;
            let class_count = fleet.queue.classes.len().max(1);
            sim.deployments.push(DeploymentState {
                router,
                loads: Vec::new(),
                routable: Vec::new(),
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
                scraped: false,
                arrivals_total: 0,
            });
        }
        // Once every deployment has its state: a variant may name a later
        // deployment, whose routable set takes its replicas.
        for d in 0..sim.deployments.len() {
            let fleet = &sim.config.deployments[d].fleet;
            let g = sim.config.gateway_of(d);
            let first = sim.fleet.replicas.len() as u32;
            for id in first..first + fleet.replicas {
                sim.fleet
                    .add_replica(new_replica(&fleet.replica, sim.config.seed, id));
                sim.fleet.lives.push(ReplicaLife::ready_at_start());
                sim.fleet.deployment_of.push(d as u16);
                sim.fleet.busy_at_scrape.push(0);
                let group = &mut sim.deployments[g];
                sim.fleet.route_pos.push(group.routable.len() as u32);
                group.routable.push(id);
                group.loads.push(ReplicaLoad::default());
            }
        }
        sim.place_initial_fleet();
        Ok(sim)
    }

    /// Lets `autoscaler` decide deployment `d`'s replica count, seeing its
    /// metrics through `metrics`; with variants, every variant's count
    /// (each scraped through `metrics`). Replaces a `scheduled` lifecycle's
    /// decisions only in that both set the desired count: give one or the
    /// other.
    pub fn with_autoscaler(
        mut self,
        d: usize,
        autoscaler: Box<dyn Autoscaler>,
        metrics: MetricsSpec,
    ) -> Result<Self, SimError> {
        if let Some(g) = self.config.deployments.get(d).and_then(|s| s.variant_of) {
            return Err(SimError::Config(format!(
                "deployment {:?} is a variant: its group's autoscaler is deployment {g}'s",
                self.config.deployments[d].name
            )));
        }
        for v in self.config.variants_of(d).skip(1).collect::<Vec<_>>() {
            self.deployments[v].scraped = true;
            self.deployments[v].metrics_spec = metrics;
        }
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
        dep.scraped = true;
        Ok(self)
    }

    /// Makes deployment `d`'s metrics source (its variants' too) go down
    /// during `outages` (no scrape is taken, a read at a sync fails); see
    /// [`crate::autoscale::MetricsOutage`].
    pub fn with_metrics_outages(
        mut self,
        d: usize,
        outages: Vec<crate::autoscale::MetricsOutage>,
    ) -> Result<Self, SimError> {
        if d >= self.deployments.len() {
            return Err(SimError::Config(format!("no deployment {d} to autoscale")));
        }
        if let Some(o) = outages.iter().find(|o| o.end <= o.start) {
            return Err(SimError::Config(format!(
                "a metrics outage must end after it starts ({} s to {} s)",
                o.start.as_secs_f64(),
                o.end.as_secs_f64()
            )));
        }
        for v in self.config.variants_of(d).collect::<Vec<_>>() {
            self.deployments[v].metrics.set_outages(outages.clone());
        }
        Ok(self)
    }

    /// Lowers the most requests the run takes from its workload (at most
    /// [`MAX_REQUESTS`] when it keeps its records): one more is an error.
    pub fn with_max_requests(mut self, max: u64) -> Self {
        self.max_requests = Some(max);
        self
    }

    /// Keeps every record to the end of the run (the default) or only
    /// counts it into the streaming summary ([`Records`]).
    pub fn with_records(mut self, mode: Records) -> Self {
        self.outcomes.mode = mode;
        self
    }

    /// Hands each request's record to `sink` as the request ends, in
    /// completion order ([`RecordSink`]).
    pub fn with_record_sink(mut self, sink: Box<dyn RecordSink>) -> Self {
        self.outcomes.sink = Some(sink);
        self
    }

    /// The most requests the run takes from its workload.
    fn request_limit(&self) -> u64 {
        let cap = match self.outcomes.mode {
            Records::Keep => MAX_REQUESTS,
            Records::Stream => u64::MAX,
        };
        self.max_requests.unwrap_or(cap).min(cap)
    }

    /// The fleet of deployment `d`.
    fn spec(&self, d: usize) -> &FleetSpec {
        &self.config.deployments[d].fleet
    }

    /// The deployment of `replica`.
    fn dep(&self, replica: u32) -> usize {
        usize::from(self.fleet.deployment_of[replica as usize])
    }

    /// The node pools every deployment shares, with the first deployment's
    /// cold-start model (for warm nodes, primed with its artifacts).
    fn shared_placement(&self) -> Option<Arc<Placement>> {
        self.fleet.placement.clone()
    }

    fn push(&mut self, time: SimTime, kind: EventKind) {
        self.kernel.push(time, kind);
    }

    fn pull_arrival(&mut self) -> Result<(), SimError> {
        match self.workload.next() {
            None => Ok(()),
            Some(Err(e)) => Err(SimError::Workload(e)),
            Some(Ok(request)) => {
                let limit = self.request_limit();
                if self.next_id >= limit {
                    return Err(SimError::TooManyRequests {
                        limit,
                        arrival_s: request.arrival.as_secs_f64(),
                    });
                }
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
        while let Some(w) = self.fleet.wakes.pop() {
            self.push(
                w.at,
                EventKind::Wake {
                    replica,
                    token: w.token,
                },
            );
        }
        let pos = self.fleet.route_pos[replica as usize];
        if pos != NOT_ROUTABLE {
            let d = self.config.gateway_of(self.dep(replica));
            self.deployments[d].loads[pos as usize] = self.fleet.replicas[replica as usize].load();
        } else if self.fleet.lives[replica as usize].phase == Phase::Draining
            && self.fleet.replicas[replica as usize].load().outstanding() == 0
        {
            self.terminate(replica);
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

    /// When something besides stale events (a wake-up a decode run cut by
    /// an arrival leaves behind in jump mode, a node release that no longer
    /// applies) and the day-long gateway wait of classes with no timeout of
    /// their own happens next, if anything can: the time series goes on
    /// while something can happen, and skips the windows before it. When
    /// nothing can, the run ends (requests still at a gateway fail then,
    /// `finish`): the day-long wait bounds a run only while its fleet still
    /// changes. Called by a tick after it has left the queue.
    ///
    /// The earliest event is the answer when it counts (one look); else,
    /// and whenever the queue has doubled since the last full look, every
    /// event is looked at, and stale events are dropped once they are most
    /// of the queue, so the queue holds live work, not a history of the
    /// fleet (a node released a day from now and reclaimed meanwhile, many
    /// times over).
    fn next_activity(&mut self) -> Option<SimTime> {
        let arrival = self.pending.as_ref().map(|r| r.arrival);
        if self.kernel.len() <= self.full_look_above {
            if let Some(top) = self.kernel.peek().filter(|e| self.counts_as_activity(e)) {
                return Some(arrival.map_or(SimTime(top.time), |a| a.min(SimTime(top.time))));
            }
        }
        let mut stale = 0;
        let mut next = arrival;
        for e in self.kernel.iter() {
            if self.counts_as_activity(e) {
                if next.is_none_or(|t| e.time < t.0) {
                    next = Some(SimTime(e.time));
                }
            } else if !self.is_current(e) {
                stale += 1;
            }
        }
        if stale > 64 && stale * 2 > self.kernel.len() {
            let mut kernel = std::mem::take(&mut self.kernel);
            kernel.retain(|e| self.is_current(e));
            self.kernel = kernel;
        }
        self.full_look_above = 2 * self.kernel.len() + 64;
        next
    }

    /// `e` keeps the time series (and so the run) going: not a tick, not
    /// stale, not the day-long wait of a class without its own timeout.
    fn counts_as_activity(&self, e: &Event) -> bool {
        match e.kind {
            EventKind::Tick => false,
            EventKind::QueueTimeout { deployment, class } => {
                own_timeout(&self.config.deployments, deployment, class)
            }
            _ => self.is_current(e),
        }
    }

    /// Whether handling `e` would still do something: a wake-up for the
    /// replica's current step, a node release not superseded since.
    fn is_current(&self, e: &Event) -> bool {
        match e.kind {
            EventKind::Wake { replica, token } => {
                self.fleet.replicas[replica as usize].wake_is_current(SimTime(e.time), token)
            }
            EventKind::NodeRelease { node, epoch } => {
                self.fleet.nodes[node as usize].release_epoch == epoch
            }
            _ => true,
        }
    }

    /// Counts a wake-up against [`MAX_STEPPED_ITERATIONS`] when some
    /// deployment steps every iteration (a wake-up is at most one
    /// iteration there; jump-mode deployments of the same run count too,
    /// which only makes the bound earlier).
    fn count_stepped_iteration(&mut self) {
        let Some(n) = &mut self.stepped_iterations else {
            return;
        };
        *n += 1;
        if *n > MAX_STEPPED_ITERATIONS && self.halted.is_none() {
            self.halted = Some(SimError::SteppedIterations {
                iterations: MAX_STEPPED_ITERATIONS,
                at_s: self.now.as_secs_f64(),
            });
        }
    }

    /// The workload is exhausted and every request has its outcome.
    fn finished_work(&self) -> bool {
        self.pending.is_none()
            && self.deployments.iter().all(|d| d.gateway.is_empty())
            && self.next_id == self.outcomes.stats.ended
    }

    /// Runs to the end of the workload and until every request has ended.
    pub fn run(mut self) -> Result<RunResult, SimError> {
        for d in 0..self.deployments.len() {
            let fleet = self.spec(d);
            if fleet.replicas == 0
                && fleet.lifecycle.schedule.is_empty()
                && !self.deployments[d].scraped
            {
                return Err(SimError::EmptyFleet {
                    deployment: self.config.deployments[d].name.to_string(),
                });
            }
            let deployment = d as u16;
            if self.deployments[d].scraped {
                self.push(SimTime::ZERO, EventKind::Scrape { deployment });
            }
            if let Some(a) = &self.deployments[d].autoscaler {
                let first_sync = SimTime::ZERO + a.sync_period();
                self.push(first_sync, EventKind::Sync { deployment });
            }
        }
        self.pull_arrival()?;
        for node in 0..self.fleet.nodes.len() as u32 {
            self.schedule_interruption(node);
        }
        for d in 0..self.deployments.len() {
            let schedule = self.spec(d).lifecycle.schedule.clone();
            for (i, &(at, _)) in schedule.iter().enumerate() {
                let (deployment, index) = (d as u16, i as u32);
                self.push(at, EventKind::Scale { deployment, index });
            }
        }
        let resolution = self.config.timeseries_resolution.max(SimDuration(1));
        // The tick just handled found nothing left to happen.
        let mut idle = false;
        self.push(SimTime::ZERO + resolution, EventKind::Tick);
        loop {
            if let Some(e) = self.halted.take() {
                return Err(e);
            }
            // The run ends with its last request: once every request has an
            // outcome, fleet changes still queued (later schedule entries,
            // releases, spot reclaims) can no longer matter to a request and
            // are dropped, so they neither extend the billed span nor loop.
            if !self.fleet_frozen && self.finished_work() {
                self.fleet_frozen = true;
                let replicas = &self.fleet.replicas;
                self.kernel.retain(|e| match e.kind {
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
            if let Some(at) = arrival.filter(|at| self.kernel.next_time().is_none_or(|t| *at <= t))
            {
                self.now = at;
                self.events += 1;
                self.on_arrival()?;
                continue;
            }
            let Some(event) = self.kernel.take() else {
                break;
            };
            self.now = SimTime(event.time);
            self.events += 1;
            match event.kind {
                EventKind::Wake { replica, token } => {
                    self.count_stepped_iteration();
                    self.fleet.replicas[replica as usize].on_wake(
                        self.now,
                        token,
                        &mut self.fleet.finished,
                        &mut self.fleet.wakes,
                    );
                    let freed = !self.fleet.finished.is_empty();
                    self.record_finished(replica);
                    self.drain_wakes(replica);
                    let d = self.config.gateway_of(self.dep(replica));
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
                    // The tick leaves the queue first, so the earliest event
                    // is the next one and the queue may be compacted.
                    self.kernel.handled();
                    if let Some(next) = self.next_activity() {
                        let at = Windows::next_tick(self.now, next, resolution);
                        self.push(at, EventKind::Tick);
                    } else {
                        idle = true;
                    }
                }
            }
            self.kernel.handled();
            if std::mem::take(&mut idle) {
                // Nothing can happen any more: the day-long waits at the
                // gateways would only keep an idle run going.
                let deployments = &self.config.deployments;
                self.kernel.retain(|e| match e.kind {
                    EventKind::QueueTimeout { deployment, class } => {
                        own_timeout(deployments, deployment, class)
                    }
                    _ => true,
                });
            }
        }
        self.finish()
    }
}

/// `class` of `deployment` has a timeout of its own (not only the day-long
/// limit on every wait at a gateway).
fn own_timeout(deployments: &[DeploymentSpec], deployment: u16, class: u32) -> bool {
    let queue = &deployments[usize::from(deployment)].fleet.queue;
    (queue.classes.get(class as usize)).is_some_and(|c| c.timeout.is_some())
}

/// `route_pos` of a replica that is not ready.
const NOT_ROUTABLE: u32 = u32::MAX;
