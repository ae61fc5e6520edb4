//! The run summary: the JSON document `fleetsim run --format json` prints.
//! Its schema is documented in `docs/summary-schema.md`; field order is
//! fixed by these struct definitions, so serialising is deterministic.
//! The figures derived from request records come from [`OutcomeStats`],
//! streaming state fed one record at a time (percentiles exact from the
//! records when they are kept, else from the [`sketch`]).

use crate::metrics::{LatencyMetric, LatencyStats, PercentileTarget, RequestRecord, SlaConfig};
use crate::request::Outcome;
use serde::{Deserialize, Serialize};

mod accumulator;
pub mod attribution;
mod consistency;
pub mod display;
mod numbers;
pub mod sketch;

pub use accumulator::{sketch_bound, LatencyAccumulator, OutcomeStats};
pub use consistency::Inconsistency;

/// Request counts by outcome. `arrived` always equals the sum of the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Requests the workload produced.
    pub arrived: u64,
    /// Finished every output token.
    pub completed: u64,
    /// Refused (queue full, or larger than the replica can ever hold).
    pub rejected: u64,
    /// Gave up waiting in a queue.
    pub timed_out: u64,
    /// Lost while running.
    pub failed: u64,
}

/// Latency statistics of completed requests, ms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Arrival to first iteration.
    pub queue_ms: LatencyStats,
    /// Time to first token.
    pub ttft_ms: LatencyStats,
    /// Time per output token after the first.
    pub tpot_ms: LatencyStats,
    /// Longest wait between two consecutive output tokens of a request:
    /// the stalls a mean TPOT hides (a decode paused behind a whole
    /// prefill, a preemption).
    #[serde(default)]
    pub itl_max_ms: LatencyStats,
    /// Arrival to last token.
    pub e2e_ms: LatencyStats,
}

impl Latency {
    /// The statistics of `metric`.
    pub fn of(&self, metric: LatencyMetric) -> &LatencyStats {
        match metric {
            LatencyMetric::QueueMs => &self.queue_ms,
            LatencyMetric::TtftMs => &self.ttft_ms,
            LatencyMetric::TpotMs => &self.tpot_ms,
            LatencyMetric::ItlMaxMs => &self.itl_max_ms,
            LatencyMetric::E2eMs => &self.e2e_ms,
        }
    }
}

/// One percentile target and whether the run met it.
///
/// A target speaks of every arrived request: one that did not complete
/// (rejected, timed out, failed) never had the metric, so it ranks above
/// any bound. The percentile is taken over the completed requests that
/// have the metric plus those that did not complete; a completed request
/// without the metric (the TPOT of a one-token answer) is left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetResult {
    /// Latency metric name.
    pub metric: LatencyMetric,
    /// Percentile, 0–100.
    pub percentile: f64,
    /// Bound, ms.
    pub max_ms: f64,
    /// Measured percentile, ms; `None` when it cannot be measured: no
    /// request completed with the metric, or the percentile falls on a
    /// request that did not complete ([`TargetResult::reason`] says which).
    pub actual_ms: Option<f64>,
    /// `actual_ms` is measured and at most `max_ms`.
    pub met: bool,
    /// Why `actual_ms` could not be measured (`None` when it was).
    #[serde(default)]
    pub reason: Option<String>,
}

impl TargetResult {
    /// The target measured over `records` (every arrived request),
    /// exactly.
    pub fn measure(target: &PercentileTarget, records: &[RequestRecord]) -> TargetResult {
        let mut values: Vec<u64> = (records.iter())
            .filter(|r| r.outcome == Outcome::Completed)
            .filter_map(|r| target.metric.of(r))
            .collect();
        let sla = SlaConfig::default();
        OutcomeStats::of(records, &sla).target(target, Some(&mut values))
    }

    /// The verdict on `target` given its measured value (`None` when the
    /// percentile cannot be measured), the scope's `counts` and the number
    /// of completed requests that have the metric (`measured`).
    pub(crate) fn judge(
        target: &PercentileTarget,
        actual_ms: Option<f64>,
        counts: &RequestCounts,
        measured: u64,
    ) -> TargetResult {
        let (completed, unfinished) = (counts.completed, counts.arrived - counts.completed);
        let p = target.percentile;
        let reason = match actual_ms {
            Some(_) => None,
            None if counts.arrived == 0 => Some("no request arrived".to_string()),
            None if completed == 0 => Some(format!(
                "no request completed ({unfinished} rejected, timed out or failed)"
            )),
            None if measured == 0 => Some(format!(
                "no completed request has a {} (one-token answers have no time per output token)",
                target.metric.name()
            )),
            None => Some(format!(
                "{unfinished} of {} requests did not complete and count as over the bound; \
                 the p{p} falls on one of them",
                measured + unfinished
            )),
        };
        TargetResult {
            metric: target.metric,
            percentile: p,
            max_ms: target.max_ms,
            met: actual_ms.is_some_and(|a| a <= target.max_ms),
            actual_ms,
            reason,
        }
    }
}

/// Service-level results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaReport {
    /// Fraction of arrived requests that completed within every per-request
    /// threshold (all completed requests when no threshold is set).
    pub attainment: f64,
    /// Arrived requests that did not meet the SLA (including those that did
    /// not complete).
    pub misses: u64,
    /// Percentile targets with their measured values.
    pub targets: Vec<TargetResult>,
    /// Every percentile target was met.
    pub all_targets_met: bool,
    /// The per-request thresholds `attainment` was judged against (all
    /// `null`: a request meets the SLA by completing).
    #[serde(default)]
    pub thresholds: SlaThresholds,
}

/// The per-request SLA thresholds of a scope, ms (`null`: not set).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaThresholds {
    /// Time to first token at most this, ms.
    pub ttft_ms: Option<f64>,
    /// Time per output token at most this, ms.
    pub tpot_ms: Option<f64>,
    /// End-to-end latency at most this, ms.
    pub e2e_ms: Option<f64>,
}

impl SlaThresholds {
    /// The thresholds of `sla`.
    pub fn of(sla: &SlaConfig) -> Self {
        SlaThresholds {
            ttft_ms: sla.ttft_ms,
            tpot_ms: sla.tpot_ms,
            e2e_ms: sla.e2e_ms,
        }
    }
}

/// GPU time, hours (GPU count × wall-clock hours).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuHours {
    /// GPU time paid for.
    pub billed: f64,
    /// GPU time spent executing iterations.
    pub busy: f64,
    /// Billed minus busy.
    pub idle: f64,
    /// GPU-hours by state (with a node pool; `null` otherwise): the same
    /// figures as `cost.by_state`, without dollars.
    pub by_state: Option<crate::cost::ByState<f64>>,
}

/// Throughput over the simulated span.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Completed requests per second.
    pub requests_per_s: f64,
    /// Output tokens of completed requests per second.
    pub output_tokens_per_s: f64,
}

/// The recompute share at and above which a run is reported as
/// preemption-bound: a tenth of the engine's work redone.
pub const PREEMPTION_BOUND_SHARE: f64 = 0.1;

/// Fleet-level engine counters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetReport {
    /// Replicas in the fleet.
    pub replicas: u32,
    /// GPUs per replica (tensor-parallel degree).
    pub gpus_per_replica: u32,
    /// Engine iterations executed, all replicas.
    pub iterations: u64,
    /// Recompute preemptions, all replicas.
    pub preemptions: u64,
    /// Tokens whose KV entries preemptions discarded (computed again when
    /// the request resumed).
    pub recomputed_tokens: u64,
    /// Recomputed tokens over the tokens computed for completed requests'
    /// prompts and outputs plus the recomputed ones: the share of the
    /// engine's work spent redoing what preemptions threw away.
    pub recompute_share: f64,
    /// The run is preemption-bound: the recompute share is at least
    /// [`PREEMPTION_BOUND_SHARE`] (the KV cache cannot hold the batch the
    /// scheduler admits; fewer sequences, more memory or a scheduler that
    /// reserves KV would serve more).
    pub preemption_bound: bool,
    /// Replicas started during the run (each paid a cold start).
    pub replicas_started: u32,
    /// Replicas that were drained.
    pub replicas_drained: u32,
    /// Busy fraction of the least busy replica (of the time it held GPUs).
    pub busy_fraction_min: f64,
    /// Mean busy fraction over replicas.
    pub busy_fraction_mean: f64,
    /// Busy fraction of the busiest replica.
    pub busy_fraction_max: f64,
    /// The fewest Ready replicas at any time of the run (0 while none was
    /// ready).
    #[serde(default)]
    pub ready_replicas_min: u32,
    /// Ready replicas averaged over the simulated span (time-weighted).
    #[serde(default)]
    pub ready_replicas_mean: f64,
    /// The most Ready replicas at any time of the run.
    #[serde(default)]
    pub ready_replicas_peak: u32,
}

/// The fewest, time-weighted mean and most of replicas ready at once over
/// `[0, end_ns)`, given each replica's Ready span `[start_ns, stop_ns)`:
/// `(min, mean, peak)`. Spans that meet at an instant do not dip the count
/// (a replica replaced at the instant another leaves). With `end_ns` 0
/// the count at time 0 is all three.
pub fn ready_replica_stats(spans: &[(u64, u64)], end_ns: u64) -> (u32, f64, u32) {
    // (instant, change), starts and stops of spans that hold for a while.
    let mut changes: Vec<(u64, i64)> = Vec::with_capacity(spans.len() * 2);
    for &(start, stop) in spans {
        let stop = stop.min(end_ns.max(start));
        if stop > start || (end_ns == 0 && start == 0) {
            changes.push((start, 1));
            if stop > start {
                changes.push((stop, -1));
            }
        }
    }
    changes.sort_unstable();
    let (mut count, mut min, mut peak) = (0i64, i64::MAX, 0i64);
    let mut integral: u128 = 0;
    let mut i = 0;
    let mut at = 0u64;
    loop {
        // Every change at instant `at`, then the count holds until the next.
        while i < changes.len() && changes[i].0 <= at {
            count += changes[i].1;
            i += 1;
        }
        let next = changes.get(i).map_or(end_ns, |c| c.0.min(end_ns));
        if next > at || end_ns == 0 {
            min = min.min(count);
            peak = peak.max(count);
            integral += u128::from(next - at) * count.max(0) as u128;
        }
        if next >= end_ns {
            break;
        }
        at = next;
    }
    let to_u32 = |c: i64| u32::try_from(c.max(0)).unwrap_or(u32::MAX);
    let mean = if end_ns > 0 {
        integral as f64 / end_ns as f64
    } else {
        count.max(0) as f64
    };
    (
        to_u32(if min == i64::MAX { 0 } else { min }),
        mean,
        to_u32(peak),
    )
}

/// Simulation bookkeeping.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SimReport {
    /// Events processed by the event loop.
    pub events: u64,
    /// Simulated span, seconds: from 0 to the later of the last arrival and
    /// the last completion.
    pub simulated_s: f64,
    /// Wall-clock seconds the run took. Measured by the front end (the
    /// engine never reads the clock) and the only field that differs between
    /// two runs of the same scenario and seed; `null` when not measured.
    pub wall_s: Option<f64>,
    /// The seed of every random stream.
    pub seed: u64,
}

/// The run summary. It displays as the table `fleetsim run` prints under
/// its scenario line (`println!("{summary}")`; [`display`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Counts by outcome.
    pub requests: RequestCounts,
    /// Latency statistics of completed requests.
    pub latency: Latency,
    /// Throughput.
    pub throughput: Throughput,
    /// SLA results.
    pub sla: SlaReport,
    /// GPU time.
    pub gpu_hours: GpuHours,
    /// Fleet counters.
    pub fleet: FleetReport,
    /// Cold starts of replicas started during the run (`null` when none
    /// became ready).
    pub cold_start: Option<ColdStartSummary>,
    /// Dollars and GPU time by state (`null` without a node pool).
    pub cost: Option<crate::cost::CostReport>,
    /// The billed cost split among each deployment's priority classes
    /// (`null` without a cost or without classes).
    #[serde(default)]
    pub cost_attribution: Option<attribution::CostAttribution>,
    /// Automatic prefix caching (`null` when it is off).
    pub prefix_cache: Option<PrefixCacheReport>,
    /// LoRA adapter slots (`null` when LoRA is not configured).
    pub adapters: Option<AdapterReport>,
    /// One section per deployment, in configuration order (one entry for a
    /// single-deployment run).
    pub deployments: Vec<DeploymentReport>,
    /// One section per pipeline, in configuration order (empty without
    /// pipelines): its requests end to end, against the run's SLA.
    pub pipelines: Vec<PipelineReport>,
    /// Simulation bookkeeping.
    pub sim: SimReport,
}

/// The results of one deployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentReport {
    /// Deployment name.
    pub name: String,
    /// Counts by outcome of the requests it received; summed over
    /// deployments they equal the run's.
    pub requests: RequestCounts,
    /// Latency statistics of its completed requests.
    pub latency: Latency,
    /// Its requests against the run's SLA.
    pub sla: SlaReport,
    /// One entry per configured priority class, in priority order (empty
    /// when the deployment configures no classes).
    pub classes: Vec<ClassReport>,
    /// Its replicas' counters.
    pub fleet: FleetReport,
    /// Its replicas' GPU time (held, busy, idle; without node-level
    /// billing effects, which the run's `cost` section has).
    pub gpu_hours: GpuHours,
    /// Its dollars with node pools: its busy dollars and its share of
    /// every other billed dollar, by the cost attribution's rule
    /// ([`attribution::ALLOCATION_RULE`]); summed over deployments, the
    /// run's `cost.total_usd`. `None` without node pools.
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

/// The results of one pipeline, end to end (first arrival to the last
/// stage's response, hops included).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineReport {
    /// Pipeline name.
    pub name: String,
    /// Its stages' deployment names, in order.
    pub stages: Vec<String>,
    /// Counts by outcome (a request lost at any stage counts once, with
    /// that stage's outcome).
    pub requests: RequestCounts,
    /// End-to-end latency statistics of its completed requests: queue is
    /// the sum over stages, TTFT the last stage's first token.
    pub latency: Latency,
    /// Its requests against the run's SLA, end to end.
    pub sla: SlaReport,
}

/// The results of one priority class, against its own SLA.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    /// Class name.
    pub name: String,
    /// Counts by outcome; `arrived` is the sum of the rest.
    pub requests: RequestCounts,
    /// Latency statistics of the class's completed requests.
    pub latency: Latency,
    /// The class's SLA results.
    pub sla: SlaReport,
}

impl ClassReport {
    /// The report of the records whose class index is `class`.
    pub fn from_records(
        name: &str,
        class: u8,
        records: &[RequestRecord],
        sla: &SlaConfig,
        simulated_s: f64,
    ) -> ClassReport {
        let mine: Vec<RequestRecord> = records
            .iter()
            .filter(|r| r.class == class)
            .cloned()
            .collect();
        let s = Summary::from_records(&mine, sla, simulated_s);
        ClassReport {
            name: name.to_string(),
            requests: s.requests,
            latency: s.latency,
            sla: s.sla,
        }
    }
}

/// One replica's figures: a row of `replicas.csv`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplicaRow {
    /// Index of the replica's deployment.
    pub deployment: u16,
    /// Replica id (0-based, in the order replicas were created).
    pub replica: u32,
    /// Time it held its GPUs, ns.
    pub held_ns: u64,
    /// Time it spent executing iterations, ns.
    pub busy_ns: u64,
    /// Engine iterations.
    pub iterations: u64,
    /// Recompute preemptions.
    pub preemptions: u64,
    /// Requests it completed.
    pub completed: u64,
    /// Prefix-cache counters and adapter counters.
    pub counters: crate::replica::ReplicaCounters,
}

impl ReplicaRow {
    /// Busy time over held time (`None` if it never held GPUs).
    pub fn busy_fraction(&self) -> Option<f64> {
        (self.held_ns > 0).then(|| self.busy_ns as f64 / self.held_ns as f64)
    }

    /// Prefix blocks found over prefix blocks looked up (`None` without lookups).
    pub fn prefix_block_hit_rate(&self) -> Option<f64> {
        let c = &self.counters;
        (c.prefix_query_blocks > 0)
            .then(|| c.prefix_hit_blocks as f64 / c.prefix_query_blocks as f64)
    }

    /// Cached prefill tokens over prompt tokens looked up (`None` without lookups).
    pub fn prefix_token_hit_rate(&self) -> Option<f64> {
        let c = &self.counters;
        (c.prefix_query_tokens > 0)
            .then(|| c.prefix_hit_tokens as f64 / c.prefix_query_tokens as f64)
    }
}

/// Automatic prefix caching over the run, all replicas. A lookup happens
/// each time a sequence moves from waiting to running (again after a
/// preemption); see `docs/routing.md`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PrefixCacheReport {
    /// Tokens per prefix block.
    pub block_tokens: u32,
    /// Prefix blocks each replica's cache may hold.
    pub capacity_blocks_per_replica: u32,
    /// Lookups.
    pub lookups: u64,
    /// Prefix blocks looked up.
    pub query_blocks: u64,
    /// Leading prefix blocks found.
    pub hit_blocks: u64,
    /// `hit_blocks / query_blocks` (0 without queries).
    pub block_hit_rate: f64,
    /// Prompt tokens looked up.
    pub query_tokens: u64,
    /// Prompt tokens that were not computed because their prefix was cached.
    pub cached_prefill_tokens: u64,
    /// `cached_prefill_tokens / query_tokens` (0 without queries).
    pub token_hit_rate: f64,
    /// Prefix blocks evicted, all replicas.
    pub evicted_blocks: u64,
    /// Block hit rate of the replica with the lowest (replicas with lookups).
    pub replica_block_hit_rate_min: f64,
    /// Mean block hit rate over replicas with lookups.
    pub replica_block_hit_rate_mean: f64,
    /// Block hit rate of the replica with the highest.
    pub replica_block_hit_rate_max: f64,
}

impl PrefixCacheReport {
    /// Sums the replicas' counters, in replica order.
    pub fn from_rows(rows: &[ReplicaRow], block_tokens: u32, capacity_blocks: u32) -> Self {
        let mut r = PrefixCacheReport {
            block_tokens,
            capacity_blocks_per_replica: capacity_blocks,
            ..PrefixCacheReport::default()
        };
        let ratio = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
        let (mut min, mut max, mut sum, mut n) = (f64::INFINITY, 0.0f64, 0.0f64, 0u32);
        for row in rows {
            let c = &row.counters;
            r.lookups += c.prefix_lookups;
            r.query_blocks += c.prefix_query_blocks;
            r.hit_blocks += c.prefix_hit_blocks;
            r.query_tokens += c.prefix_query_tokens;
            r.cached_prefill_tokens += c.prefix_hit_tokens;
            r.evicted_blocks += c.prefix_evicted_blocks;
            if let Some(rate) = row.prefix_block_hit_rate() {
                min = min.min(rate);
                max = max.max(rate);
                sum += rate;
                n += 1;
            }
        }
        r.block_hit_rate = ratio(r.hit_blocks, r.query_blocks);
        r.token_hit_rate = ratio(r.cached_prefill_tokens, r.query_tokens);
        if n > 0 {
            r.replica_block_hit_rate_min = min;
            r.replica_block_hit_rate_max = max;
            r.replica_block_hit_rate_mean = sum / f64::from(n);
        }
        r
    }
}

/// LoRA adapter slots over the run, all replicas.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdapterReport {
    /// Adapters a replica holds at once.
    pub max_loras: u32,
    /// Time to load an adapter, ms.
    pub adapter_load_ms: f64,
    /// Adapters loaded.
    pub loads: u64,
    /// Adapters evicted.
    pub evictions: u64,
    /// Loads of the replica with the most.
    pub replica_loads_max: u64,
}

impl AdapterReport {
    /// Sums the replicas' counters.
    pub fn from_rows(rows: &[ReplicaRow], config: &crate::replica::adapters::LoraConfig) -> Self {
        let mut r = AdapterReport {
            max_loras: config.max_loras,
            adapter_load_ms: config.adapter_load_ns as f64 / 1e6,
            ..AdapterReport::default()
        };
        for row in rows {
            r.loads += row.counters.adapter_loads;
            r.evictions += row.counters.adapter_evictions;
            r.replica_loads_max = r.replica_loads_max.max(row.counters.adapter_loads);
        }
        r
    }
}

/// Cold starts: from the moment a replica was asked for to the moment it
/// was ready.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ColdStartSummary {
    /// Replicas that completed a cold start.
    pub count: u64,
    /// Median cold start, seconds.
    pub p50_s: f64,
    /// 95th percentile cold start, seconds.
    pub p95_s: f64,
    /// Mean time in each stage, seconds.
    pub by_stage: ColdStartStages,
    /// GPU dollars of every cold-start state (provisioning through warming
    /// up, cold starts cut short included), USD; `null` without prices
    /// (no node pool).
    #[serde(default)]
    pub usd: Option<f64>,
    /// `usd` over `count`: what one completed cold start cost, USD; `null`
    /// without prices.
    #[serde(default)]
    pub usd_per_cold_start: Option<f64>,
}

/// A figure per cold-start stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ColdStartStages {
    /// Node provisioning (or waiting on a provisioning node).
    pub provisioning: f64,
    /// Image pull and extract.
    pub pulling_image: f64,
    /// Weight load.
    pub loading_weights: f64,
    /// Engine start-up.
    pub starting_engine: f64,
}

impl Summary {
    /// Fills counts, latency, throughput and SLA from the request records
    /// (exact percentiles; [`OutcomeStats`] fed the records, in any
    /// order); the caller fills GPU hours, fleet and sim.
    pub fn from_records(records: &[RequestRecord], sla: &SlaConfig, simulated_s: f64) -> Summary {
        OutcomeStats::of(records, sla).summary(sla, simulated_s, Some(records))
    }
}

#[cfg(test)]
mod tests;
