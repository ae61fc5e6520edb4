//! The gateway: requests arrive, are given a deployment and a priority
//! class, and go to a replica the router chooses among those that may take
//! them, or wait at the deployment's gateway queue (rejected when it is
//! full, timed out when they wait too long). A replica that becomes ready
//! or frees a slot takes the backlog at that instant.

use super::config::*;
use super::error::SimError;
use super::kernel::EventKind;
use super::pipelines::Flight;
use super::{Simulation, NOT_ROUTABLE};
use crate::model_router::RouteTarget;
use crate::queue::QueueMode;
use crate::replica::Seq;
use crate::request::{Outcome, Request};
use crate::time::SimDuration;

impl Simulation {
    /// Makes `replica` routable (it just became ready) at its variant
    /// group's gateway and hands it the backlog at once (in central mode,
    /// up to its cap).
    pub(super) fn add_routable(&mut self, replica: u32) {
        let d = self.config.gateway_of(self.dep(replica));
        let load = self.fleet.replicas[replica as usize].load();
        let dep = &mut self.deployments[d];
        self.fleet.route_pos[replica as usize] = dep.routable.len() as u32;
        dep.routable.push(replica);
        dep.loads.push(load);
        self.serve_gateway(d);
    }

    /// Takes `replica` out of routing, keeping the others' order.
    pub(super) fn remove_routable(&mut self, replica: u32) {
        let pos = self.fleet.route_pos[replica as usize];
        if pos == NOT_ROUTABLE {
            return;
        }
        let d = self.config.gateway_of(self.dep(replica));
        let dep = &mut self.deployments[d];
        dep.routable.remove(pos as usize);
        dep.loads.remove(pos as usize);
        self.fleet.route_pos[replica as usize] = NOT_ROUTABLE;
        for (i, &r) in dep.routable.iter().enumerate().skip(pos as usize) {
            self.fleet.route_pos[r as usize] = i as u32;
        }
    }

    /// An arrival goes to a replica if one can take it now, else waits at
    /// the gateway (or is rejected if its class's gateway queue is full).
    pub(super) fn dispatch(&mut self, d: usize, request: Request, class: u32) {
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
    pub(super) fn has_room(&self, d: usize) -> bool {
        let dep = &self.deployments[d];
        match self.spec(d).queue.mode {
            QueueMode::PerReplica => !dep.routable.is_empty(),
            QueueMode::Central {
                max_concurrency_per_replica: cap,
            } => dep.loads.iter().any(|l| l.outstanding() < cap),
        }
    }

    /// The position in `routable` of the replica `request` goes to. Only
    /// called when [`Self::has_room`]; the router chooses among the
    /// replicas that may take it.
    pub(super) fn choose_replica(&mut self, d: usize, request: &Request) -> usize {
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
    pub(super) fn enqueue(&mut self, d: usize, request: Request, class: u32) {
        self.activate(d);
        let spec = self.config.deployments[d]
            .fleet
            .queue
            .classes
            .get(class as usize);
        let limit = spec.and_then(|c| c.max_queue_length);
        let timeout = self.spec(d).queue.timeout(class);
        let gateway = &mut self.deployments[d].gateway;
        if limit.is_some_and(|l| gateway.class_len(class) >= l as usize) {
            self.record_unserved(d, &request, Outcome::Rejected, None);
            return;
        }
        gateway.push(request, class);
        self.arm_timeout(d, class, timeout);
    }

    /// Queues a `QueueTimeout` for the head of `class` unless one is queued.
    pub(super) fn arm_timeout(&mut self, d: usize, class: u32, timeout: SimDuration) {
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
    pub(super) fn on_queue_timeout(&mut self, d: usize, class: u32) {
        self.deployments[d].timeout_armed[class as usize] = false;
        let timeout = self.spec(d).queue.timeout(class);
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
    pub(super) fn serve_gateway(&mut self, d: usize) {
        let discipline = self.spec(d).queue.discipline;
        while !self.deployments[d].gateway.is_empty() && self.has_room(d) {
            let Some(next) = self.deployments[d].gateway.pop(discipline) else {
                return;
            };
            let pos = self.choose_replica(d, &next.request);
            self.send(d, next.request, pos);
        }
    }

    /// Admits `request` to the replica at position `pos` of `routable`.
    pub(super) fn send(&mut self, d: usize, request: Request, pos: usize) {
        let r = self.deployments[d].routable[pos];
        self.note_warmup(r, request.id);
        let mut seq = Seq::from_request(&request);
        if !self.in_flight.is_empty() {
            seq.kv_present_tokens = self.kv_arrived(request.id);
        }
        self.fleet.replicas[r as usize].admit(seq, self.now, &mut self.fleet.wakes);
        self.drain_wakes(r);
    }

    /// Fills the per-request fields of the routable replicas' loads (cached
    /// prefix blocks, adapter held) when the router asks for them.
    pub(super) fn annotate_loads(&mut self, d: usize, request: &Request) {
        let dep = &mut self.deployments[d];
        let prefix = dep.router.wants_prefix_match();
        let adapters = dep.router.wants_adapters();
        if !prefix && !adapters {
            return;
        }
        for (load, &r) in dep.loads.iter_mut().zip(&dep.routable) {
            let replica = &self.fleet.replicas[r as usize];
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

    pub(super) fn on_arrival(&mut self) -> Result<(), SimError> {
        let Some(mut request) = self.pending.take() else {
            return Ok(());
        };
        request.id = self.next_id;
        self.next_id += 1;
        self.windows.open.arrivals += 1;
        let mut route = (self.deployment_mix.pick(request.model.as_deref())).map_err(|error| {
            SimError::Deployment {
                request: request.id,
                arrival_s: request.arrival.as_secs_f64(),
                error,
            }
        })? as usize;
        let routed = self.deployments.len() + self.config.pipelines.len();
        if let Some(m) = route.checked_sub(routed) {
            // A model router picks a deployment or a pipeline; from there on
            // the request is theirs as if it had named it.
            let router = &mut self.model_routers[m];
            route = match router.route(&request) {
                Ok(RouteTarget::Deployment(d)) => usize::from(d),
                Ok(RouteTarget::Pipeline(p)) => self.deployments.len() + usize::from(p),
                Err(error) => {
                    return Err(SimError::ModelRoute {
                        request: request.id,
                        arrival_s: request.arrival.as_secs_f64(),
                        router: router.spec().name.clone(),
                        error,
                    })
                }
            };
        }
        let (d, request) = match route.checked_sub(self.deployments.len()) {
            None => (route, request),
            Some(p) => {
                let pipeline = &self.config.pipelines[p];
                let (first, staged) = (pipeline.stages[0], pipeline.stage_request(0, &request));
                self.in_flight.insert(
                    request.id,
                    Flight {
                        pipeline: p as u16,
                        stage: 0,
                        origin: request.arrival,
                        queue_ns: 0,
                        preemptions: 0,
                        request,
                        first_token: None,
                        kv_bytes: None,
                    },
                );
                (usize::from(first), staged)
            }
        };
        self.reach_deployment(d, request)?;
        self.pull_arrival()
    }

    /// `request` arrives at deployment `d` (from the workload, or from the
    /// previous stage of its pipeline), or at the gateway of its variant
    /// group: its class is decided there, and it is dispatched, or
    /// rejected if it cannot fit every replica the router may choose.
    pub(super) fn reach_deployment(&mut self, d: usize, request: Request) -> Result<(), SimError> {
        let d = self.config.gateway_of(d);
        self.deployments[d].arrivals_total += 1;
        let class = (self.deployments[d].classes)
            .pick(request.priority_class.as_deref())
            .map_err(|error| SimError::Class {
                request: request.id,
                arrival_s: request.arrival.as_secs_f64(),
                error,
            })?;
        if self.outcomes.records_classes {
            // Validation keeps the class count within `u8`.
            self.outcomes
                .class_in_flight
                .insert(request.id, class as u8);
        }
        let fits = self
            .config
            .variants_of(d)
            .all(|v| match &self.spec(v).replica {
                ReplicaSpec::Batching { config, .. } => {
                    config.fits(request.input_tokens, request.output_tokens)
                }
                ReplicaSpec::Slots { .. } => true,
            });
        if fits {
            self.dispatch(d, request, class);
        } else {
            self.record_unserved(d, &request, Outcome::Rejected, None);
        }
        Ok(())
    }
}
