//! The engine's architecture invariants over random fleets of every kind:
//! fixed, scheduled (drains), autoscaled on every signal a policy can read
//! (through metrics outages, on the pods' phases the API server lists),
//! on node pools with cold starts, warm nodes and spot reclaims (whole
//! GPUs, MIG instances of a partitioned H100 or time slices), behind
//! per-replica or central queues, pipelines across deployments, variant
//! groups (two deployments behind one gateway, scaled by one autoscaler),
//! and model routers (by prompt length, difficulty and a seeded split, to a
//! deployment or a cascade pipeline).
//!
//! - Jumping over steady decode gives exactly what stepping every
//!   iteration gives: per-request records, the time series, the per-replica
//!   rows and the summary (all but the event count).
//! - Every request the workload yields ends with exactly one record,
//!   checked against the input, not against the records themselves.
#![allow(clippy::unwrap_used)]

mod common;

use common::{roofline, LeastOutstanding};
use fleetsim_core::autoscale::{Autoscaler, MetricsSpec, Observation, PodPhase, PodSample};
use fleetsim_core::coldstart::{
    Artifacts, BandwidthDist, ColdStartConfig, DurationDist, WarmupConfig, WeightTier, WeightTiers,
};
use fleetsim_core::cost::{BillingGranularity, BillingPolicy, PoolPricing};
use fleetsim_core::lifecycle::LifecycleSpec;
use fleetsim_core::model::hardware::{self, mig};
use fleetsim_core::model_router::{ModelRoute, ModelRouterSpec, RouteCondition, RouteTarget};
use fleetsim_core::nodes::{Placement, PoolSpec, SpotSpec};
use fleetsim_core::queue::{QueueMode, QueueSpec};
use fleetsim_core::replica::batching::{
    BatchForming, BatchingConfig, CapacityScheduler, PrefillScheduling, Stepping,
};
use fleetsim_core::{
    DeploymentSpec, FleetSpec, KvTransferSpec, PipelineSpec, ReplicaSpec, Request, RunResult,
    SimDuration, SimTime, Simulation,
};
use proptest::prelude::*;
use std::sync::Arc;

/// What a test autoscaler reads from each ready pod.
#[derive(Clone, Copy, Debug)]
enum Signal {
    GpuBusy,
    KvCache,
    Running,
    Waiting,
    Concurrency,
}

/// Wants `ceil(sum over ready pods of the signal / target)` replicas (the
/// HPA's proportional rule in its simplest form), plus one while the
/// gateway holds requests.
#[derive(Debug)]
struct SignalScaler {
    signal: Signal,
    target: f64,
    max: u32,
    sync: SimDuration,
}

impl SignalScaler {
    fn value(&self, p: &PodSample) -> f64 {
        match self.signal {
            Signal::GpuBusy => p.gpu_busy_fraction,
            Signal::KvCache => p.kv_cache_usage_perc,
            Signal::Running => f64::from(p.num_requests_running),
            Signal::Waiting => f64::from(p.num_requests_waiting),
            Signal::Concurrency => f64::from(p.num_requests_running + p.num_requests_waiting),
        }
    }
}

impl Autoscaler for SignalScaler {
    fn sync_period(&self) -> SimDuration {
        self.sync
    }
    fn replica_bounds(&self) -> (u32, u32) {
        (0, self.max)
    }
    fn desired_replicas(&mut self, obs: &Observation<'_>) -> u32 {
        let pods = obs.pods().expect("the engine lists the pods at every sync");
        // While the metrics are down, one more than the ready pods the API
        // server lists: readiness alone moves the count.
        if obs.metrics_down() {
            return 1 + pods.iter().filter(|p| p.phase == PodPhase::Ready).count() as u32;
        }
        let Some(s) = obs.latest() else {
            return obs.desired;
        };
        let sum: f64 = (s.pods.iter())
            .filter(|p| p.phase == PodPhase::Ready)
            .map(|p| self.value(p))
            .sum();
        let want = (sum / self.target).ceil() as u32;
        want + u32::from(s.gateway_waiting > 0)
    }
    /// Each variant on its own signal: so both counts move.
    fn desired_variant_replicas(&mut self, obs: &[Observation<'_>]) -> Vec<u32> {
        obs.iter().map(|o| self.desired_replicas(o)).collect()
    }
    fn on_activation(&mut self, _now: SimTime) -> Option<u32> {
        Some(1)
    }
}

#[derive(Clone, Debug)]
enum Scaling {
    Fixed,
    /// `(at_s, desired)` entries.
    Scheduled(Vec<(u64, u32)>),
    Auto {
        signal: Signal,
        target: f64,
        max: u32,
        sync_s: u64,
        scrape_s: u64,
        /// The metrics source is down for `(start_s, length_s)`.
        outage: Option<(u64, u64)>,
    },
}

/// The second deployment of a case.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Second {
    None,
    /// The first is chained into it as a pipeline that takes half the
    /// traffic.
    Pipeline,
    /// A variant of the first with half its KV cache (a smaller GPU), one
    /// replica at the start, behind the first's gateway and autoscaler.
    Variant,
    /// A model router takes every request: long prompts
    /// ([`LONG_PROMPT`] tokens or more) to the second deployment, hard
    /// ones (difficulty ≥ 0.6) through a cascade pipeline (first, then
    /// second), 30 % of the rest to the second by a seeded split, the
    /// others to the first.
    ModelRouted,
    /// Every request through a disaggregated pair: the first deployment
    /// prefills, the second decodes with the prompt's KV sent over a link
    /// ([`DISAGG_KV`]).
    Disaggregated,
}

/// The KV transfer of the disaggregated cases: 4 KiB per token over
/// 1 GB/s, so a prompt of a few hundred tokens takes about a millisecond.
const DISAGG_KV: KvTransferSpec = KvTransferSpec {
    bytes_per_token: 4096,
    link_bytes_per_s: 1_000_000_000,
};

/// The prompt length from which a model-routed case's router sends a
/// request to the second deployment.
const LONG_PROMPT: u32 = 1_800;

/// The trace difficulty of request `i` of a model-routed case: spread over
/// [0, 1) without a draw of its own.
fn difficulty(i: usize) -> f64 {
    (i * 37 % 100) as f64 / 100.0
}

#[derive(Clone, Debug)]
struct Pool {
    gpus_per_node: u32,
    max_nodes: Option<u32>,
    warm_nodes: u32,
    spot_per_node_hour: Option<f64>,
    provisioning_s: f64,
    startup_s: f64,
    warmup_slowdown: f64,
    /// Shared GPUs (`None`: whole GPUs): `Some(i)` below 3, every GPU
    /// partitioned into `MIG_LAYOUT`, each replica taking the instance
    /// `MIG_LAYOUT[i]`; from 3, every GPU time-sliced between `i - 1`
    /// replicas.
    mig: Option<usize>,
}

impl Pool {
    fn mig_profile(&self) -> Option<&'static mig::MigProfile> {
        let i = self.mig.filter(|&i| i < 3)?;
        Some(mig::profile("h100-sxm", MIG_LAYOUT[i]).unwrap())
    }

    fn time_slices(&self) -> Option<u32> {
        let i = self.mig.filter(|&i| i >= 3)?;
        Some(i as u32 - 1)
    }
}

/// The MIG partition of a pooled case's H100s (a valid placement).
const MIG_LAYOUT: [&str; 4] = ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"];

/// One random scenario.
#[derive(Clone, Debug)]
struct Case {
    /// `(arrival_ms, input, output)`, sorted by arrival.
    requests: Vec<(u64, u32, u32)>,
    initial: u32,
    scaling: Scaling,
    pool: Option<Pool>,
    central_cap: Option<u32>,
    max_num_seqs: u32,
    kv_cache_blocks: u32,
    /// How long a draining replica may finish its work, seconds.
    drain_grace_s: u64,
    /// The scale-up rate limit.
    starts_per_minute: Option<u32>,
    /// A second deployment, and what it is to the first.
    second: Second,
    /// Replicas reserve each request's whole KV at admission instead of
    /// preempting.
    no_evict: bool,
    /// How prompts are scheduled.
    prefill: PrefillScheduling,
    /// Iterations planned while the previous one runs.
    async_scheduling: bool,
    /// Continuous batching, or batches run to completion (a static batch
    /// larger than `max_num_seqs` is cut to it).
    forming: BatchForming,
}

fn batching(case: &Case, stepping: Stepping) -> Arc<BatchingConfig> {
    Arc::new(BatchingConfig {
        max_num_seqs: case.max_num_seqs,
        // Unsplit prompts need a budget that holds the longest request.
        max_num_batched_tokens: match case.prefill {
            PrefillScheduling::Chunked => 2048,
            PrefillScheduling::WholePrompt | PrefillScheduling::PrefillFirst => 4096,
        },
        block_size_tokens: 16,
        kv_cache_blocks: case.kv_cache_blocks,
        max_model_len_tokens: 131_072,
        stepping,
        capacity_scheduler: if case.no_evict {
            CapacityScheduler::GuaranteedNoEvict
        } else {
            CapacityScheduler::MaxUtilization
        },
        prefill: case.prefill,
        async_scheduling: case.async_scheduling,
        prefix_cache: None,
        lora: None,
        forming: match &case.forming {
            BatchForming::Static {
                batch_size,
                max_batch_wait,
            } => BatchForming::Static {
                batch_size: (*batch_size).min(case.max_num_seqs),
                max_batch_wait: *max_batch_wait,
            },
            other => other.clone(),
        },
    })
}

fn placement(pool: &Pool) -> Arc<Placement> {
    let fixed_bw = |gb_per_s| BandwidthDist::Fixed { gb_per_s };
    let gpu = hardware::gpu("h100-sxm").unwrap();
    let model = hardware::model("llama-3.1-8b").unwrap();
    Arc::new(Placement {
        pools: vec![PoolSpec {
            pricing: PoolPricing {
                name: "gpu".into(),
                gpus_per_node: pool.gpus_per_node,
                usd_per_gpu_hour: 2.0,
                billing: BillingPolicy {
                    granularity: BillingGranularity::PerSecond,
                    minimum_s: 0.0,
                },
            },
            provisioning: DurationDist::Fixed {
                value_s: pool.provisioning_s,
            },
            max_nodes: pool.max_nodes,
            idle_release_delay: SimDuration::from_secs(20),
            weight_disk_bytes: 100_000_000_000,
            spot: pool.spot_per_node_hour.map(|rate| SpotSpec {
                interruptions_per_node_hour: rate,
                notice: SimDuration::from_secs(5),
            }),
            warm_nodes: pool.warm_nodes,
            time_slices_per_gpu: pool.time_slices(),
            mig_layout: match pool.mig_profile() {
                Some(_) => MIG_LAYOUT
                    .map(|n| mig::profile("h100-sxm", n).unwrap())
                    .to_vec(),
                None => Vec::new(),
            },
        }],
        cold_start: ColdStartConfig {
            image_gb: 2.0,
            pull_bandwidth: fixed_bw(0.5),
            extract_gb_per_s: 1.0,
            weight_source: WeightTier::ObjectStore,
            tiers: WeightTiers {
                node_nvme: fixed_bw(4.0),
                datacenter_cache: fixed_bw(2.0),
                object_store: fixed_bw(1.0),
                hub: fixed_bw(0.5),
            },
            engine_startup_cached: DurationDist::Fixed {
                value_s: pool.startup_s / 2.0,
            },
            engine_startup_uncached: DurationDist::Fixed {
                value_s: pool.startup_s,
            },
            warmup: WarmupConfig {
                requests: 2,
                duration_s: 5.0,
                slowdown_factor: pool.warmup_slowdown,
                extra_latency_s: 0.5,
            },
            ..ColdStartConfig::default()
        },
        artifacts: Artifacts::new(model, 2.0, gpu, 1).unwrap(),
        usable_pools: Vec::new(),
        mig_profile: pool.mig_profile(),
        time_slices_per_gpu: pool.time_slices(),
    })
}

fn fleet(case: &Case, stepping: Stepping, replicas: u32) -> FleetSpec {
    let mut f = common::fleet(
        replicas,
        ReplicaSpec::Batching {
            config: batching(case, stepping),
            perf: roofline(),
        },
    );
    f.lifecycle = LifecycleSpec {
        schedule: match &case.scaling {
            Scaling::Scheduled(entries) => entries
                .iter()
                .map(|&(at_s, n)| (SimTime::ZERO + SimDuration::from_secs(at_s), n))
                .collect(),
            _ => Vec::new(),
        },
        cold_start: fleetsim_core::lifecycle::StageDurations {
            provisioning: SimDuration::from_secs(3),
            pulling_image: SimDuration::from_secs(2),
            loading_weights: SimDuration::from_secs(4),
            starting_engine: SimDuration::from_secs(5),
        },
        drain_grace: SimDuration::from_secs(case.drain_grace_s),
        max_starts_per_minute: case.starts_per_minute,
    };
    f.placement = case.pool.as_ref().map(placement);
    if let Some(cap) = case.central_cap {
        f.queue = QueueSpec {
            mode: QueueMode::Central {
                max_concurrency_per_replica: cap,
            },
            ..QueueSpec::default()
        };
    }
    f
}

fn run(case: &Case, stepping: Stepping) -> RunResult {
    let mut config = common::config(fleet(case, stepping, case.initial));
    config.timeseries_resolution = SimDuration::from_secs(7);
    let mut routers: Vec<Box<dyn fleetsim_core::Router>> = vec![Box::new(LeastOutstanding)];
    if case.second == Second::Variant {
        config.deployments[0].share = 1.0;
        let small = Case {
            kv_cache_blocks: case.kv_cache_blocks / 2 + 100,
            ..case.clone()
        };
        let mut variant = DeploymentSpec::new("variant", fleet(&small, stepping, 1));
        variant.variant_of = Some(0);
        config.deployments.push(variant);
        routers.push(Box::new(LeastOutstanding));
    }
    if case.second == Second::ModelRouted {
        config
            .deployments
            .push(DeploymentSpec::new("second", fleet(case, stepping, 1)));
        config.pipelines.push(PipelineSpec {
            name: "cascade".into(),
            share: 0.0,
            stages: vec![0, 1],
            hops: vec![SimDuration::ZERO, SimDuration::from_millis(2)],
            kv_transfer: None,
        });
        let route = |when, to| ModelRoute { when, to };
        config.model_routers.push(ModelRouterSpec {
            name: "auto".into(),
            share: 1.0,
            routes: vec![
                route(
                    RouteCondition {
                        min_input_tokens: Some(LONG_PROMPT),
                        ..Default::default()
                    },
                    RouteTarget::Deployment(1),
                ),
                route(
                    RouteCondition {
                        min_difficulty: Some(0.6),
                        ..Default::default()
                    },
                    RouteTarget::Pipeline(0),
                ),
                route(
                    RouteCondition {
                        fraction: Some(0.3),
                        ..Default::default()
                    },
                    RouteTarget::Deployment(1),
                ),
            ],
            default: RouteTarget::Deployment(0),
        });
        routers.push(Box::new(LeastOutstanding));
    }
    if case.second == Second::Pipeline {
        config.deployments[0].share = 1.0;
        config
            .deployments
            .push(DeploymentSpec::new("second", fleet(case, stepping, 1)));
        config.deployments[1].share = 0.0;
        config.pipelines.push(PipelineSpec {
            name: "chain".into(),
            share: 1.0,
            stages: vec![0, 1],
            hops: vec![SimDuration::ZERO, SimDuration::from_millis(3)],
            kv_transfer: None,
        });
        routers.push(Box::new(LeastOutstanding));
    }
    if case.second == Second::Disaggregated {
        config.deployments[0].share = 0.0;
        config
            .deployments
            .push(DeploymentSpec::new("decode", fleet(case, stepping, 1)));
        config.pipelines.push(PipelineSpec {
            name: "disaggregated".into(),
            share: 1.0,
            stages: vec![0, 1],
            hops: vec![SimDuration::ZERO, SimDuration(100_000)],
            kv_transfer: Some(DISAGG_KV),
        });
        routers.push(Box::new(LeastOutstanding));
    }
    let routed = case.second == Second::ModelRouted;
    let requests: Vec<_> = (case.requests.iter().enumerate())
        .map(|(n, &(ms, i, o))| {
            Ok(Request {
                difficulty: routed.then(|| difficulty(n)),
                ..Request::new(SimTime(ms * 1_000_000), i, o)
            })
        })
        .collect();
    let mut sim = Simulation::new(config, Box::new(requests.into_iter()), routers).unwrap();
    if let Scaling::Auto {
        signal,
        target,
        max,
        sync_s,
        scrape_s,
        outage,
    } = case.scaling
    {
        let metrics = MetricsSpec {
            scrape_interval: SimDuration::from_secs(scrape_s),
            lag: SimDuration::from_secs(1),
            lookback: SimDuration::from_secs(60),
        };
        let scaler = SignalScaler {
            signal,
            target,
            max,
            sync: SimDuration::from_secs(sync_s),
        };
        sim = sim.with_autoscaler(0, Box::new(scaler), metrics).unwrap();
        if let Some((start_s, length_s)) = outage {
            let start = SimTime::ZERO + SimDuration::from_secs(start_s);
            let end = start + SimDuration::from_secs(length_s);
            let outages = vec![fleetsim_core::autoscale::MetricsOutage { start, end }];
            sim = sim.with_metrics_outages(0, outages).unwrap();
        }
    }
    sim.run().unwrap()
}

fn arb_signal() -> impl Strategy<Value = Signal> {
    prop_oneof![
        Just(Signal::GpuBusy),
        Just(Signal::KvCache),
        Just(Signal::Running),
        Just(Signal::Waiting),
        Just(Signal::Concurrency),
    ]
}

fn arb_scaling() -> impl Strategy<Value = Scaling> {
    prop_oneof![
        1 => Just(Scaling::Fixed),
        1 => prop::collection::vec((1u64..240, 0u32..5), 1..5).prop_map(|mut v| {
            v.sort_by_key(|e| e.0);
            Scaling::Scheduled(v)
        }),
        3 => (
            arb_signal(),
            1u32..5,
            1u64..20,
            1u64..10,
            2u32..6,
            prop::option::of((0u64..300, 1u64..120)),
        )
            .prop_map(|(signal, t, sync_s, scrape_s, max, outage)| {
                let target = match signal {
                    Signal::GpuBusy | Signal::KvCache => f64::from(t) * 0.2,
                    _ => f64::from(t) * 2.0,
                };
                Scaling::Auto { signal, target, max, sync_s, scrape_s, outage }
            }),
    ]
}

fn arb_pool() -> impl Strategy<Value = Option<Pool>> {
    let pool = (
        1u32..5,
        prop::option::of(1u32..4),
        0u32..2,
        prop::option::of(prop_oneof![Just(30.0), Just(200.0)]),
        1u32..40,
        1u32..30,
        prop_oneof![Just(1.0), Just(1.5)],
        prop::option::weighted(0.4, 0usize..5),
    )
        .prop_map(
            |(gpus_per_node, max_nodes, warm, spot, prov, startup, slow, mig)| Pool {
                gpus_per_node,
                max_nodes: max_nodes.map(|m| m + 2),
                warm_nodes: warm,
                spot_per_node_hour: spot,
                provisioning_s: f64::from(prov),
                startup_s: f64::from(startup),
                warmup_slowdown: slow,
                mig,
            },
        );
    prop::option::weighted(0.6, pool)
}

/// Bursty traffic over up to five minutes: quiet spells let autoscalers
/// scale in, bursts make them scale out.
fn arb_requests() -> impl Strategy<Value = Vec<(u64, u32, u32)>> {
    prop::collection::vec((0u64..300_000, 1u32..2_500, 1u32..1_500), 1..90).prop_map(|mut v| {
        v.sort_by_key(|r| r.0);
        v
    })
}

/// Mostly continuous batching; static and dynamic batches with waits
/// from none to longer than the gaps between bursts.
fn arb_forming() -> impl Strategy<Value = BatchForming> {
    prop_oneof![
        3 => Just(BatchForming::Continuous),
        1 => (prop::collection::btree_set(1u32..12, 0..3), 0u64..3_000).prop_map(|(sizes, ms)| {
            BatchForming::Dynamic {
                preferred_batch_sizes: sizes.into_iter().collect(),
                max_queue_delay: SimDuration(ms * 1_000_000),
            }
        }),
        1 => (1u32..10, 1u64..60_000).prop_map(|(batch_size, ms)| BatchForming::Static {
            batch_size,
            max_batch_wait: SimDuration(ms * 1_000_000),
        }),
    ]
}

fn arb_case() -> impl Strategy<Value = Case> {
    (
        arb_requests(),
        0u32..3,
        arb_scaling(),
        arb_pool(),
        prop::option::weighted(0.3, 1u32..8),
        2u32..48,
        200u32..2_000,
        prop_oneof![
            2 => Just(Second::None),
            1 => Just(Second::Pipeline),
            1 => Just(Second::Variant),
            1 => Just(Second::ModelRouted),
            1 => Just(Second::Disaggregated),
        ],
        (
            1u64..8,
            prop::option::of(1u32..4),
            prop::bool::ANY,
            prop::bool::ANY,
        ),
        prop_oneof![
            2 => Just(PrefillScheduling::Chunked),
            1 => Just(PrefillScheduling::WholePrompt),
            1 => Just(PrefillScheduling::PrefillFirst),
        ],
        arb_forming(),
    )
        .prop_map(
            |(
                requests,
                initial,
                scaling,
                pool,
                central_cap,
                seqs,
                kv,
                second,
                (grace, rate, no_evict, async_scheduling),
                prefill,
                forming,
            )| {
                Case {
                    // A fixed fleet needs a replica.
                    initial: if matches!(scaling, Scaling::Fixed) {
                        initial.max(1)
                    } else {
                        initial
                    },
                    requests,
                    scaling,
                    pool,
                    central_cap,
                    max_num_seqs: seqs,
                    kv_cache_blocks: kv,
                    drain_grace_s: grace,
                    starts_per_minute: rate,
                    second,
                    no_evict,
                    prefill,
                    async_scheduling,
                    forming,
                }
            },
        )
}

/// Every request the workload yielded (ids 0..n in arrival order) has
/// exactly one record, in id order, with the input's arrival and lengths,
/// and the outcome counts add up to the input's count.
fn check_conservation(case: &Case, r: &RunResult) -> Result<(), TestCaseError> {
    let n = case.requests.len();
    prop_assert_eq!(r.records.len(), n, "one record per input request");
    for (i, (rec, &(ms, input, output))) in r.records.iter().zip(&case.requests).enumerate() {
        prop_assert_eq!(rec.id, i as u64);
        prop_assert_eq!(rec.arrival, SimTime(ms * 1_000_000));
        prop_assert_eq!(rec.input_tokens, input);
        if rec.outcome == fleetsim_core::Outcome::Completed {
            prop_assert_eq!(rec.output_tokens, output);
        }
    }
    let s = &r.summary.requests;
    prop_assert_eq!(s.arrived, n as u64);
    prop_assert_eq!(s.completed + s.rejected + s.timed_out + s.failed, n as u64);
    if let Err(found) = r.summary.check_consistency(Some(n as u64)) {
        return Err(TestCaseError::fail(format!(
            "inconsistent summary: {found:?}"
        )));
    }
    if case.second == Second::ModelRouted {
        check_model_routes(case, r)?;
    }
    if case.second == Second::Disaggregated {
        check_disaggregated(r)?;
    }
    Ok(())
}

/// A disaggregated request that reached its decode stage carries its
/// prompt's KV bytes, its first token came at the prefill stage before the
/// decode stage could start (so the longest inter-token wait spans at
/// least the transfer), and one of a single output token never left the
/// prefill stage.
fn check_disaggregated(r: &RunResult) -> Result<(), TestCaseError> {
    for rec in &r.records {
        prop_assert_eq!(rec.pipeline, Some(0));
        let decoded = rec.deployment == 1;
        let bytes = DISAGG_KV.bytes(rec.input_tokens);
        prop_assert_eq!(rec.kv_transfer_bytes, decoded.then_some(bytes), "{:?}", rec);
        if rec.output_tokens == 1 {
            prop_assert!(!decoded, "a one-token answer is done at prefill: {:?}", rec);
        }
        if let (true, Some(itl)) = (
            decoded && rec.outcome == fleetsim_core::Outcome::Completed,
            rec.itl_max_ns,
        ) {
            let transfer = DISAGG_KV.duration(bytes).0;
            prop_assert!(
                itl >= transfer,
                "itl max {} < transfer {}: {:?}",
                itl,
                transfer,
                rec
            );
            prop_assert!(rec.ttft_ns <= rec.e2e_ns);
            prop_assert!(rec.queue_ns <= rec.ttft_ns);
        }
    }
    Ok(())
}

/// A model-routed case's router kept its rules, checked against the
/// input: long prompts ended at the second deployment on their own, hard
/// short ones went through the cascade, easy short ones never did.
fn check_model_routes(case: &Case, r: &RunResult) -> Result<(), TestCaseError> {
    for (i, (rec, &(_, input, _))) in r.records.iter().zip(&case.requests).enumerate() {
        if input >= LONG_PROMPT {
            prop_assert_eq!((rec.deployment, rec.pipeline), (1, None), "request {}", i);
        } else if difficulty(i) >= 0.6 {
            prop_assert_eq!(rec.pipeline, Some(0), "request {}", i);
        } else {
            prop_assert_eq!(rec.pipeline, None, "request {}", i);
        }
    }
    Ok(())
}

/// `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Equal lists, or the first element that differs (whole lists are too
/// long to read in a failure).
fn same<T: PartialEq + std::fmt::Debug>(
    jump: &[T],
    step: &[T],
    what: &str,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(jump.len(), step.len(), "{} counts differ", what);
    if let Some(i) = (0..jump.len()).find(|&i| jump[i] != step[i]) {
        prop_assert!(
            false,
            "{what} differ first at {i}:\n jump {:?}\n step {:?}",
            jump[i],
            step[i]
        );
    }
    Ok(())
}

proptest! {
    // PROPTEST_CASES=5000 for a long search.
    #![proptest_config(ProptestConfig::with_cases(cases(96)))]

    /// Jump stepping equals stepping every iteration for every kind of
    /// fleet, and every request ends exactly once.
    #[test]
    fn jump_equals_step_for_every_kind_of_fleet(case in arb_case()) {
        let jump = run(&case, Stepping::Jump);
        let step = run(&case, Stepping::EveryIteration);
        check_conservation(&case, &jump)?;
        same(&jump.records, &step.records, "records")?;
        same(&jump.timeseries, &step.timeseries, "time-series windows")?;
        same(&jump.replicas, &step.replicas, "replica rows")?;
        let (mut a, mut b) = (jump.summary.clone(), step.summary.clone());
        prop_assert!(a.sim.events <= b.sim.events, "the jump never adds events");
        (a.sim.events, b.sim.events) = (0, 0);
        prop_assert_eq!(a, b);
    }
}

/// The generator reaches what the property is about: scale-ups with cold
/// starts, drains, spot losses, pipelines and autoscaled fleets, in a
/// fixed sample of its cases.
#[test]
fn the_generator_covers_every_kind_of_fleet() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(Config::default().rng_algorithm),
    );
    let (mut started, mut drained, mut failed, mut piped, mut auto, mut pooled) =
        (0, 0, 0, 0, 0, 0);
    let (mut variants_served, mut batched, mut outages, mut routed_everywhere) = (0, 0, 0, 0);
    let mut disaggregated = 0;
    let (mut sliced, mut time_sliced) = (0, 0);
    for _ in 0..200 {
        let case = arb_case().new_tree(&mut runner).unwrap().current();
        let r = run(&case, Stepping::Jump);
        started += u32::from(r.summary.fleet.replicas_started > 0);
        drained += u32::from(r.summary.fleet.replicas_drained > 0);
        failed += u32::from(r.summary.requests.failed > 0);
        piped += u32::from(case.second == Second::Pipeline);
        // Disaggregated requests reached the decode stage with their KV.
        disaggregated += u32::from(
            case.second == Second::Disaggregated
                && r.records.iter().any(|x| x.kv_transfer_bytes.is_some()),
        );
        // Both variants of a group served requests through its one gateway.
        variants_served += u32::from(
            case.second == Second::Variant
                && r.summary
                    .deployments
                    .iter()
                    .all(|d| d.requests.completed > 0),
        );
        // The router sent requests to both deployments directly and
        // through the cascade.
        routed_everywhere += u32::from(
            case.second == Second::ModelRouted
                && r.summary.pipelines[0].requests.arrived > 0
                && r.records
                    .iter()
                    .any(|x| x.pipeline.is_none() && x.deployment == 0)
                && r.records
                    .iter()
                    .any(|x| x.pipeline.is_none() && x.deployment == 1),
        );
        auto += u32::from(matches!(case.scaling, Scaling::Auto { .. }));
        batched +=
            u32::from(case.forming != BatchForming::Continuous && r.summary.requests.completed > 0);
        outages += u32::from(matches!(
            case.scaling,
            Scaling::Auto {
                outage: Some(_),
                ..
            }
        ));
        pooled += u32::from(case.pool.is_some());
        // Replicas on MIG instances or time slices, some started during
        // the run.
        let shared = |p: &Pool| (p.mig_profile(), p.time_slices());
        let started = r.summary.fleet.replicas_started > 0;
        if let Some((m, t)) = case.pool.as_ref().map(shared).filter(|_| started) {
            sliced += u32::from(m.is_some());
            time_sliced += u32::from(t.is_some());
        }
    }
    eprintln!("of 200: {started} started replicas, {drained} drained, {failed} lost requests, {piped} pipelines, {disaggregated} disaggregated, {variants_served} variant groups serving on both, {routed_everywhere} model routers sending everywhere, {auto} autoscaled ({outages} through a metrics outage), {pooled} pooled ({sliced} starting MIG instances, {time_sliced} time slices), {batched} static or dynamic batching");
    for (n, what) in [
        (started, "scale-ups"),
        (drained, "drains"),
        (failed, "lost requests"),
        (piped, "pipelines"),
        (disaggregated, "disaggregated requests decoded"),
        (variants_served, "variant groups serving on both variants"),
        (routed_everywhere, "model routers sending to every target"),
        (auto, "autoscaled"),
        (outages, "metrics outages"),
        (pooled, "pooled"),
        (sliced, "MIG instances started during the run"),
        (time_sliced, "time slices started during the run"),
        (batched, "static or dynamic batching"),
    ] {
        assert!(n >= 10, "only {n} of 200 cases have {what}");
    }
}

/// `requests` on `initial` replicas scaled by `scaling`, no pool, plenty of
/// KV cache: the fixed part of the hand-written cases below.
fn plain(requests: Vec<(u64, u32, u32)>, initial: u32, scaling: Scaling) -> Case {
    Case {
        requests,
        initial,
        scaling,
        pool: None,
        central_cap: None,
        max_num_seqs: 8,
        kv_cache_blocks: 1_000,
        drain_grace_s: 5,
        starts_per_minute: None,
        second: Second::None,
        no_evict: false,
        prefill: PrefillScheduling::Chunked,
        async_scheduling: false,
        forming: BatchForming::Continuous,
    }
}

/// A scale-down counts every replica it removes as drained, idle ones too
/// (they drain in no time): a scheduled 3 → 1 on an idle fleet drains two.
#[test]
fn idle_replicas_removed_by_a_scale_down_count_as_drained() {
    let requests = vec![(0, 100, 10), (30_000, 100, 10)];
    let case = plain(requests, 3, Scaling::Scheduled(vec![(10, 1)]));
    let r = run(&case, Stepping::Jump);
    assert_eq!(r.summary.fleet.replicas_drained, 2);
    assert_eq!(r.summary.requests.completed, 2);
}

/// A pooled fleet that scales from zero on a schedule, with two requests
/// late enough to see it through.
fn scheduled_on_a_pool(schedule: Vec<(u64, u32)>, gpus_per_node: u32) -> Case {
    let requests = vec![(150_000, 100, 10), (151_000, 100, 10)];
    Case {
        pool: Some(Pool {
            gpus_per_node,
            max_nodes: None,
            warm_nodes: 0,
            spot_per_node_hour: None,
            provisioning_s: 30.0,
            startup_s: 20.0,
            warmup_slowdown: 1.0,
            mig: None,
        }),
        ..plain(requests, 0, Scaling::Scheduled(schedule))
    }
}

/// `placement`'s stages: a 2 GB image at 0.5 GB/s plus extraction at 1 GB/s
/// (6 s), Llama-3.1-8B's 16.06 GB of weights from the object store at 1 GB/s
/// or from the node's disk at 4 GB/s.
const PULL_S: f64 = 6.0;
const DOWNLOAD_S: f64 = 16.06;

fn assert_close(got: f64, expect: f64, what: &str) {
    assert!(
        (got - expect).abs() < 1e-6,
        "{what}: {got} s, expected {expect} s"
    );
}

/// Eight replicas asked for at once land on one new 8-GPU node: one pulls
/// the image and downloads the weights, the other seven wait for those
/// transfers instead of finding them cached the moment the first began.
/// None has a compiled engine to start from (none has finished building
/// one), so all eight are ready together.
#[test]
fn replicas_on_one_node_share_the_transfers_in_progress() {
    let case = scheduled_on_a_pool(vec![(10, 8)], 8);
    let r = run(&case, Stepping::Jump);
    let cs = r.summary.cold_start.expect("eight cold starts");
    assert_eq!(cs.count, 8);
    let each = 30.0 + PULL_S + DOWNLOAD_S + 20.0;
    assert_close(cs.p50_s, each, "median cold start");
    assert_close(cs.p95_s, each, "p95 cold start");
    assert_close(cs.by_stage.pulling_image, PULL_S, "mean pull");
    assert_close(cs.by_stage.loading_weights, DOWNLOAD_S, "mean load");
    assert_close(cs.by_stage.starting_engine, 20.0, "mean engine start");
    assert_eq!(r.summary.requests.completed, 2);
}

/// A start cancelled during its image pull leaves nothing on the node: the
/// next replica placed there pulls, downloads and builds from scratch.
#[test]
fn a_cancelled_pull_leaves_nothing_in_the_node_cache() {
    // Node asked for at 10 s, up at 40 s; the pull (40–46 s) is cancelled
    // at 43 s; the node is still held (released 20 s after it empties)
    // when the next replica is placed on it at 48 s.
    let case = scheduled_on_a_pool(vec![(10, 1), (43, 0), (48, 1)], 1);
    let r = run(&case, Stepping::Jump);
    let cs = r.summary.cold_start.expect("one replica became ready");
    assert_eq!(cs.count, 1);
    assert_eq!(r.summary.fleet.replicas_started, 2);
    assert_close(
        cs.p50_s,
        PULL_S + DOWNLOAD_S + 20.0,
        "cold start on the held node",
    );
    assert_close(cs.by_stage.provisioning, 0.0, "no new node");
}

/// Events grow with requests, not tokens: 300 requests with 64 or 4,096
/// output tokens each take at most six events per request either way
/// (steady decode is jumped over; longer answers overlap more, so more
/// arrivals cut a planned run), where stepping every iteration would take
/// one per generated token.
#[test]
fn events_per_request_do_not_grow_with_output_length() {
    let events = |output: u32| {
        // One request every 0.5 s, 1,000-token prompts.
        let requests = (0..300).map(|i| (i * 500, 1_000, output)).collect();
        let case = Case {
            max_num_seqs: 64,
            kv_cache_blocks: 100_000,
            ..plain(requests, 4, Scaling::Fixed)
        };
        let r = run(&case, Stepping::Jump);
        assert_eq!(r.summary.requests.completed, 300);
        assert_eq!(r.summary.fleet.preemptions, 0);
        // Without the time-series ticks, which grow with simulated time.
        r.summary.sim.events - r.timeseries.len() as u64
    };
    let (short, long) = (events(64), events(4_096));
    assert!(short <= 6 * 300, "{short} events for 300 short requests");
    assert!(long <= 6 * 300, "{long} events for 300 long requests");
}
