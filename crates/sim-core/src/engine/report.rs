//! The end of a run: requests still waiting fail, the records are
//! checked (and, when kept, put in order), and the summary is built from
//! the streaming state (exact percentiles from the kept records) (requests, latency, SLA,
//! fleet, deployments, classes, pipelines, caches, cold starts, cost and
//! the monthly cost equation).

use super::config::*;
use super::error::SimError;
use super::outcomes::{check_conservation, order_by_id};
use super::records::Records;
use super::windows::TimeseriesRow;
use super::Simulation;
use crate::cost::CostReport;
use crate::metrics::RequestRecord;
use crate::nodes::Placement;
use crate::replica::{Aborted, Seq};
use crate::summary::attribution::{self, CostAttribution, DeploymentUsage};
use crate::summary::{
    AdapterReport, ClassReport, ColdStartStages, ColdStartSummary, DeploymentReport, FleetReport,
    GpuHours, PipelineReport, PrefixCacheReport, ReplicaRow, SimReport, Summary,
    PREEMPTION_BOUND_SHARE,
};
use crate::time::{SimTime, NANOS_PER_SEC};

/// Everything a run produces.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// Headline figures.
    pub summary: Summary,
    /// One record per arrived request, in id (arrival) order, when the run
    /// keeps them ([`Records::Keep`]); empty when it streams.
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

impl Simulation {
    pub(super) fn finish(mut self) -> Result<RunResult, SimError> {
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
        // The last instant a request or a pipeline stage visit ended (a
        // pipeline request turned away at a later stage has no end-to-end
        // time, but the stages it passed served it until then) or a
        // request arrived, or the fleet changed.
        let end = self.outcomes.stats.end_ns.max(self.lifecycle_end.0);
        if self.windows.open.arrivals > 0 || self.windows.open.completed > 0 {
            self.on_tick();
        }
        let total = self.fleet.gpu_ns_until(SimTime(end));
        self.windows.close_gpu_windows(total);
        if self.outcomes.mode == Records::Keep {
            order_by_id(&mut self.outcomes.records);
            check_conservation(&self.outcomes.records, self.next_id, self.in_flight.len())?;
        } else {
            check_conservation(&[], 0, self.in_flight.len())?;
        }
        self.outcomes.stats.check_conservation(self.next_id)?;
        let end_time = SimTime(end);
        let simulated_s = end as f64 / NANOS_PER_SEC as f64;
        let exact = self.exact_records();
        let mut summary = (self.outcomes.stats.run).summary(&self.config.sla, simulated_s, exact);
        (summary.fleet, summary.gpu_hours) = self.fleet_figures(end_time, None);
        summary.deployments = (0..self.deployments.len())
            .map(|d| self.deployment_report(d, end_time, simulated_s, &summary))
            .collect();
        summary.pipelines = (self.config.pipelines.iter().enumerate())
            .map(|(p, spec)| {
                let mine: Option<Vec<RequestRecord>> = exact.map(|records| {
                    (records.iter())
                        .filter(|r| r.pipeline == Some(p as u16))
                        .cloned()
                        .collect()
                });
                let s = self.outcomes.stats.pipelines[p].summary(
                    &self.config.sla,
                    simulated_s,
                    mine.as_deref(),
                );
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
            let tokens = self.outcomes.stats.run.output_tokens();
            let report = self
                .fleet
                .cost_report(&p, end_time, completed, tokens)
                .map_err(|e| SimError::Accounting(e.to_string()))?;
            summary.gpu_hours.billed = report.billed_gpu_hours;
            summary.gpu_hours.by_state = Some(crate::cost::ByState::from_fn(|line| {
                report.by_state.get(line).gpu_hours
            }));
            summary.gpu_hours.idle = (report.billed_gpu_hours - summary.gpu_hours.busy).max(0.0);
            let mut report = report;
            report.monthly_equation = self.monthly_equation(&p, end_time, &summary, &report);
            let attribution = self.cost_attribution(&p, &report, end_time);
            // Every deployment's dollars, by the attribution's rule (its
            // busy dollars and its share of the rest): the cost per model.
            if let Some(a) = &attribution {
                for (d, a) in summary.deployments.iter_mut().zip(&a.deployments) {
                    d.cost_usd = Some(a.total_usd);
                }
            }
            // The section itself is reported only when classes are
            // configured: it is the chargeback among them.
            let classes =
                (self.config.deployments.iter()).any(|d| !d.fleet.queue.classes.is_empty());
            summary.cost_attribution = attribution.filter(|_| classes);
            summary.cost = Some(report);
        }
        summary.cold_start = self.cold_start_summary().map(|mut c| {
            if let Some(cost) = &summary.cost {
                let b = &cost.by_state;
                let usd = b.provisioning.usd
                    + b.pulling_image.usd
                    + b.loading_weights.usd
                    + b.starting_engine.usd
                    + b.warming_up.usd;
                c.usd = Some(usd);
                c.usd_per_cold_start = Some(usd / c.count.max(1) as f64);
            }
            c
        });
        let replicas = self.replica_rows(end_time);
        self.cache_reports(&mut summary, &replicas);
        // A summary that contradicts itself is never reported.
        summary
            .check_consistency(Some(self.next_id))
            .map_err(SimError::Inconsistent)?;
        if let Some(sink) = &mut self.outcomes.sink {
            sink.finish()
                .map_err(|e| SimError::RecordSink(e.to_string()))?;
        }
        Ok(RunResult {
            summary,
            records: self.outcomes.records,
            timeseries: self.windows.rows,
            replicas,
            warnings: Vec::new(),
        })
    }

    /// The billed cost of `report` split among the deployments and their
    /// priority classes (one unclassified entry for a deployment without).
    fn cost_attribution(
        &self,
        p: &crate::nodes::Placement,
        report: &CostReport,
        end: SimTime,
    ) -> Option<CostAttribution> {
        let deployments = &self.config.deployments;
        let weights = self.fleet.usd_by_deployment(p, deployments.len(), end);
        let usage: Vec<DeploymentUsage> = (deployments.iter().zip(weights))
            .zip(&self.outcomes.stats.usage)
            .map(|((d, (busy_weight_usd, held_weight_usd)), used)| {
                let names: Vec<String> = match d.fleet.queue.classes.is_empty() {
                    true => vec![attribution::UNCLASSIFIED.to_string()],
                    false => (d.fleet.queue.classes.iter())
                        .map(|c| c.name.to_string())
                        .collect(),
                };
                DeploymentUsage {
                    name: d.name.to_string(),
                    busy_weight_usd,
                    held_weight_usd,
                    classes: names.into_iter().zip(used.iter().copied()).collect(),
                }
            })
            .collect();
        attribution::attribute(report.by_state.busy.usd, report.total_usd, &usage)
    }

    /// The records, when the run keeps them (exact percentiles come from
    /// them); `None` when it streams.
    fn exact_records(&self) -> Option<&[RequestRecord]> {
        (self.outcomes.mode == Records::Keep).then_some(&self.outcomes.records[..])
    }

    /// Fleet counters and GPU time (from replicas' held time; the cost
    /// report refines billed time with a placement) of deployment `d`, or
    /// of all deployments. `gpus_per_replica` is 0 when deployments differ.
    pub(super) fn fleet_figures(&self, end: SimTime, d: Option<usize>) -> (FleetReport, GpuHours) {
        let mine = |dep: usize| d.is_none_or(|d| d == dep);
        let gpus_of = |dep: usize| self.fleet.gpus_per_replica[dep];
        let deps: Vec<usize> = (0..self.deployments.len()).filter(|&x| mine(x)).collect();
        let mut fleet = FleetReport {
            replicas: deps.iter().map(|&x| self.spec(x).replicas).sum(),
            gpus_per_replica: if deps.iter().all(|&x| gpus_of(x) == gpus_of(deps[0])) {
                gpus_of(deps[0])
            } else {
                0
            },
            ..FleetReport::default()
        };
        let (mut busy_gpu_ns, mut held_gpu_ns) = (0u128, 0u128);
        let mut ready_spans: Vec<(u64, u64)> = Vec::new();
        let (mut fmin, mut fmax, mut fsum, mut counted) = (f64::INFINITY, 0.0f64, 0.0f64, 0u32);
        for (i, (r, life)) in self
            .fleet
            .replicas
            .iter()
            .zip(&self.fleet.lives)
            .enumerate()
        {
            let dep = self.dep(i as u32);
            if !mine(dep) {
                continue;
            }
            // In GPU units: a MIG instance holds its compute slices.
            let gpus = u128::from(self.fleet.units_of(dep));
            let c = r.counters();
            fleet.iterations += c.iterations;
            fleet.preemptions += c.preemptions;
            fleet.recomputed_tokens += c.recomputed_tokens;
            busy_gpu_ns += u128::from(c.busy_ns) * gpus;
            let held = life.held_ns(end);
            held_gpu_ns += u128::from(held) * gpus;
            if life.cold {
                fleet.replicas_started += 1;
            }
            if let Some((from, to)) = life.ready_span(end) {
                ready_spans.push((from.0, to.0));
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
        (
            fleet.ready_replicas_min,
            fleet.ready_replicas_mean,
            fleet.ready_replicas_peak,
        ) = crate::summary::ready_replica_stats(&ready_spans, end.0);
        fleet.busy_fraction_min = if fmin.is_finite() { fmin } else { 0.0 };
        fleet.busy_fraction_max = fmax;
        // The tokens completed requests needed in scope: each plain
        // request's prompt and output, and each pipeline stage visit's
        // (a pipeline's end-to-end record adds nothing of its own).
        let needed_tokens = &self.outcomes.stats.needed_tokens;
        let needed: u64 = match d {
            Some(d) => needed_tokens[d],
            None => needed_tokens.iter().sum(),
        };
        let work = needed + fleet.recomputed_tokens;
        fleet.recompute_share = if work > 0 {
            fleet.recomputed_tokens as f64 / work as f64
        } else {
            0.0
        };
        fleet.preemption_bound = fleet.recompute_share >= PREEMPTION_BOUND_SHARE;
        fleet.busy_fraction_mean = if counted > 0 {
            fsum / f64::from(counted)
        } else {
            0.0
        };
        let gpu_ns_per_hour = 3600.0 * NANOS_PER_SEC as f64;
        let units = f64::from(self.fleet.units_per_gpu);
        let billed = held_gpu_ns as f64 / gpu_ns_per_hour / units;
        let busy = busy_gpu_ns as f64 / gpu_ns_per_hour / units;
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
    pub(super) fn deployment_report(
        &self,
        d: usize,
        end: SimTime,
        simulated_s: f64,
        run: &Summary,
    ) -> DeploymentReport {
        let fleet = self.spec(d);
        let alone = self.deployments.len() == 1 && self.config.pipelines.is_empty();
        // Stage-level records (a request's own, or each stage visit of a
        // pipeline request), when the run keeps them: all of them when the
        // deployment is the run.
        let mine: Vec<RequestRecord>;
        let records: Option<&[RequestRecord]> = match self.exact_records() {
            Some(all) if alone => Some(all),
            Some(all) => {
                mine = (all.iter())
                    .filter(|r| r.pipeline.is_none())
                    .chain(&self.outcomes.stage_records)
                    .filter(|r| usize::from(r.deployment) == d)
                    .cloned()
                    .collect();
                Some(&mine)
            }
            None => None,
        };
        let computed;
        let s = if alone {
            run
        } else {
            computed =
                self.outcomes.stats.deployments[d].summary(&self.config.sla, simulated_s, records);
            &computed
        };
        let (fleet_report, gpu_hours) = self.fleet_figures(end, Some(d));
        let classes = &self.outcomes.stats.classes[d];
        DeploymentReport {
            name: self.config.deployments[d].name.to_string(),
            requests: s.requests.clone(),
            latency: s.latency.clone(),
            sla: s.sla.clone(),
            classes: (fleet.queue.classes.iter().zip(classes).enumerate())
                .map(|(i, (c, stats))| {
                    let theirs: Option<Vec<RequestRecord>> = records.map(|records| {
                        (records.iter())
                            .filter(|r| usize::from(r.class) == i)
                            .cloned()
                            .collect()
                    });
                    let s = stats.summary(&c.sla, simulated_s, theirs.as_deref());
                    ClassReport {
                        name: c.name.to_string(),
                        requests: s.requests,
                        latency: s.latency,
                        sla: s.sla,
                    }
                })
                .collect(),
            fleet: fleet_report,
            gpu_hours,
            cost_usd: None,
        }
    }

    /// Per-replica figures for `replicas.csv` and the cache reports.
    pub(super) fn replica_rows(&self, end: SimTime) -> Vec<ReplicaRow> {
        let completed = |i: usize| {
            (self.outcomes.stats.completed_by_replica.get(i))
                .copied()
                .unwrap_or(0)
        };
        self.fleet
            .replicas
            .iter()
            .zip(&self.fleet.lives)
            .enumerate()
            .map(|(i, (r, life))| {
                let c = r.counters();
                ReplicaRow {
                    deployment: self.fleet.deployment_of[i],
                    replica: i as u32,
                    held_ns: life.held_ns(end),
                    busy_ns: c.busy_ns,
                    iterations: c.iterations,
                    preemptions: c.preemptions,
                    completed: completed(i),
                    counters: c,
                }
            })
            .collect()
    }

    /// The summary's `prefix_cache` and `adapters` sections, when the
    /// replicas have them.
    /// (With several deployments, over all replicas, in the first
    /// deployment's prefix-block size and capacity.)
    pub(super) fn cache_reports(&self, summary: &mut Summary, rows: &[ReplicaRow]) {
        let ReplicaSpec::Batching { config, .. } = &self.spec(0).replica else {
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

    /// The monthly cost equation's inputs, gathered from the run. The
    /// SLA-feasible concurrency per replica is the busiest per-replica load
    /// (running requests ÷ ready replicas at a window's end) among the
    /// time-series windows whose p95 TTFT met the SLA's TTFT threshold (all
    /// windows when there is none): a measured, not a modelled, capacity.
    pub(super) fn monthly_equation(
        &self,
        p: &Placement,
        end: SimTime,
        summary: &Summary,
        report: &CostReport,
    ) -> Option<crate::cost::MonthlyEquation> {
        if self.deployments.len() > 1 {
            return None; // one replica shape per equation; see docs/cost.md
        }
        let gpus = f64::from(self.fleet.units_of(0)) / f64::from(self.fleet.units_per_gpu);
        let ready_replica_ns: u128 = self
            .fleet
            .lives
            .iter()
            .map(|l| u128::from(l.ready_ns(end)))
            .sum();
        let (mut scale_ups, mut cold_ns) = (0u64, 0u128);
        for life in self
            .fleet
            .lives
            .iter()
            .filter(|l| l.cold && l.ready_at.is_some())
        {
            scale_ups += 1;
            cold_ns += life.stage_ns[1..]
                .iter()
                .map(|&ns| u128::from(ns))
                .sum::<u128>();
        }
        let ttft_limit_ns = self.config.sla.ttft_ms.map(|ms| ms * 1e6);
        let sla_concurrency = self
            .windows
            .rows
            .iter()
            .filter(|w| w.replicas > 0)
            .filter(|w| match (ttft_limit_ns, w.ttft_p95_ns) {
                (Some(limit), Some(p95)) => p95 <= limit,
                _ => true,
            })
            .map(|w| w.running as f64 / f64::from(w.replicas))
            .fold(0.0f64, f64::max);
        let (service_ns, n) = (
            self.outcomes.stats.service_ns,
            self.outcomes.stats.service_n,
        );
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
    pub(super) fn ready_weighted_price(&self, p: &Placement, end: SimTime) -> f64 {
        let (mut weighted, mut total) = (0.0f64, 0.0f64);
        for life in &self.fleet.lives {
            let Some(node) = life.node else { continue };
            let ready = life.ready_ns(end) as f64;
            weighted += ready
                * p.pools[self.fleet.nodes[node as usize].pool as usize]
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
    pub(super) fn cold_start_summary(&self) -> Option<ColdStartSummary> {
        let mut totals: Vec<u64> = Vec::new();
        let mut by_stage = [0u128; 4];
        for life in self.fleet.lives.iter().filter(|l| l.cold) {
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
            usd: None,
            usd_per_cold_start: None,
        })
    }
}
