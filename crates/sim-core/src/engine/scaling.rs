//! Scaling: how many replicas each deployment wants (schedule entries, the
//! autoscaler's syncs, the activator) and how the fleet gets there
//! (`reconcile`, the scale-up rate limit). An autoscaler sees scrapes of
//! per-pod gauges taken as of the scrape's instant, and the pods' phases
//! as the API server lists them at the sync (`PodStatus`); no other
//! engine state.

use super::kernel::EventKind;
use super::{SimError, Simulation};
use crate::autoscale::{PodPhase, PodSample, PodStatus, Scrape};
use crate::lifecycle::Phase;
use crate::time::SimDuration;

/// The most scrapes plus autoscaler decisions one run takes, over all
/// deployments. A control loop runs at its interval whether or not
/// anything happens, so a workload with a long idle stretch (a gap of
/// years, a rate of one request a decade) would keep it turning for hours
/// of wall time. Ten million covers 77 days of a Knative autoscaler at its
/// defaults (scrape every second, decide every two) and years of an HPA.
pub const MAX_CONTROL_EVALUATIONS: u64 = 10_000_000;

impl Simulation {
    /// Starts as many waiting replicas as the scale-up rate limit allows and
    /// queues a `StartRelease` for when the next one may go.
    pub(super) fn release_starts(&mut self, d: usize) {
        let window = SimDuration::from_secs(60);
        let limit = self.spec(d).lifecycle.max_starts_per_minute;
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

    /// Applies schedule entry `index`: starts or removes replicas to reach
    /// its desired count. Starting replicas are cancelled first (newest
    /// first, they hold no request), then ready ones drain, least loaded
    /// first (newest on a tie).
    pub(super) fn on_scale(&mut self, d: usize, index: u32) {
        let Some(&(_, desired)) = self.spec(d).lifecycle.schedule.get(index as usize) else {
            return;
        };
        self.deployments[d].desired = desired;
        self.reconcile(d);
    }

    /// Starts or removes replicas to reach `desired`.
    pub(super) fn reconcile(&mut self, d: usize) {
        let desired = self.deployments[d].desired;
        let active: Vec<u32> = (self.fleet.live_replicas().into_iter())
            .filter(|&r| {
                self.dep(r) == d
                    && matches!(
                        self.fleet.lives[r as usize].phase,
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
            if matches!(self.fleet.lives[r as usize].phase, Phase::Starting(_)) {
                self.terminate(r);
                excess -= 1;
            }
        }
        let mut ready: Vec<u32> = active
            .into_iter()
            .filter(|&r| self.fleet.lives[r as usize].phase == Phase::Ready)
            .collect();
        ready.sort_by_key(|&r| {
            (
                self.fleet.replicas[r as usize].load().outstanding(),
                std::cmp::Reverse(r),
            )
        });
        for r in ready.into_iter().take(excess as usize) {
            self.begin_drain(r);
        }
    }

    /// The activator: a request waits at deployment `d`'s gateway while it
    /// is scaled to zero; its autoscaler hears of it now, not at its next
    /// sync.
    pub(super) fn activate(&mut self, d: usize) {
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

    /// Counts one scrape or decision against [`MAX_CONTROL_EVALUATIONS`];
    /// past it the run stops (`halted`) and the control loop is not run.
    fn control_budget_left(&mut self, d: usize) -> bool {
        self.control_evaluations += 1;
        if self.control_evaluations <= MAX_CONTROL_EVALUATIONS {
            return true;
        }
        if self.halted.is_none() {
            let spec = &self.deployments[d].metrics_spec;
            self.halted = Some(SimError::ControlLoop {
                deployment: self.config.deployments[d].name.to_string(),
                evaluations: MAX_CONTROL_EVALUATIONS,
                at_s: self.now.as_secs_f64(),
                scrape_interval_s: spec.scrape_interval.as_secs_f64(),
            });
        }
        false
    }

    /// Takes a scrape of deployment `d` and queues the next.
    pub(super) fn on_scrape(&mut self, d: usize) {
        if !self.control_budget_left(d) {
            return;
        }
        let interval = self.deployments[d].metrics_spec.scrape_interval;
        // Replicas not terminated, by ascending id: a scrape costs the live
        // fleet, not every replica the run ever started.
        let live = self.fleet.live_replicas();
        let mut pods = Vec::with_capacity(live.len());
        for r in live {
            if self.dep(r) != d {
                continue;
            }
            let r = r as usize;
            let life = &self.fleet.lives[r];
            let Some(phase) = life.phase.pod_phase() else {
                continue;
            };
            let replica = &self.fleet.replicas[r];
            let load = replica.load();
            // As of now in both stepping modes: the counter books an
            // iteration or a planned decode run whole when it starts.
            let busy = replica.busy_ns_at(self.now);
            let last = std::mem::replace(&mut self.fleet.busy_at_scrape[r], busy);
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
            served: dep.metrics.served(),
        };
        let lookback = dep.metrics_spec.lookback;
        dep.metrics.record(scrape, lookback);
        if !self.fleet_frozen {
            let deployment = d as u16;
            self.push(self.now + interval, EventKind::Scrape { deployment });
        }
    }

    /// Deployment `d`'s pods as the API server lists them now, by
    /// ascending id.
    fn pod_statuses(&mut self, d: usize) -> Vec<PodStatus> {
        let live = self.fleet.live_replicas();
        (live.into_iter())
            .filter(|&r| self.dep(r) == d)
            .filter_map(|r| {
                let life = &self.fleet.lives[r as usize];
                Some(PodStatus {
                    replica: r,
                    phase: life.phase.pod_phase()?,
                    created: life.created,
                    ready_since: life.ready_at,
                })
            })
            .collect()
    }

    /// Deployment `d`'s autoscaler decides from what its metrics show (with
    /// variants, from what each variant's show, for each); each count,
    /// clamped to its bounds, is applied like a schedule entry.
    pub(super) fn on_sync(&mut self, d: usize) {
        if !self.control_budget_left(d) {
            return;
        }
        let now = self.now;
        let Some(mut a) = self.deployments[d].autoscaler.take() else {
            return;
        };
        let group: Vec<usize> = self.config.variants_of(d).collect();
        let (min, max) = a.replica_bounds();
        let pods: Vec<Vec<PodStatus>> = group.iter().map(|&v| self.pod_statuses(v)).collect();
        let wants: Vec<u32> = {
            let observe = |i: usize| {
                let dep = &self.deployments[group[i]];
                (dep.metrics)
                    .observe(now, dep.metrics_spec.lag, dep.desired)
                    .with_pods(&pods[i])
            };
            if let [_] = group[..] {
                vec![a.desired_replicas(&observe(0))]
            } else {
                let obs: Vec<_> = (0..group.len()).map(observe).collect();
                a.desired_variant_replicas(&obs)
            }
        };
        let period = a.sync_period();
        self.deployments[d].autoscaler = Some(a);
        if !self.fleet_frozen {
            let deployment = d as u16;
            self.push(now + period, EventKind::Sync { deployment });
        }
        // A short answer leaves the variants it omits as they are.
        for (v, want) in group.into_iter().zip(wants) {
            let want = want.clamp(min, max.max(min));
            if want != self.deployments[v].desired {
                self.deployments[v].desired = want;
                self.lifecycle_end = now;
                self.reconcile(v);
            }
        }
    }
}
