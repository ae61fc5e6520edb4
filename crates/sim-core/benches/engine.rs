//! Raw engine throughput on the M/M/c reference model.
//!
//! One replica of 8 slots with exponential service times of mean 1 s, fed
//! Poisson arrivals at 7.2 req/s (utilisation ρ = 0.9) with 1-token
//! lengths, routed by a router that always answers replica 0. Nothing but
//! the event loop, the heap, the slot replica, the arrival generator and the
//! end-of-run summary is measured; criterion reports events per second.
//!
//! A second case, `batching/large_batch_…`, runs one continuous-batching
//! replica (Llama-3.1-8B on one H100, roofline) fed Poisson arrivals at
//! 100 req/s of 200 prompt and 500 output tokens each, with `max_num_seqs`
//! 1024 and KV room for 1024 sequences: the KV cache never binds, but the
//! replica serves fewer requests per second than arrive, so the batch stays
//! near `max_num_seqs` (a mean of 1,004.6, printed below) while the rest
//! wait (every request in it for its 500 decode steps). Each steady decode run ends at the next completion or
//! arrival, so planning and ending runs over a large batch dominate;
//! criterion reports simulated requests per second. Before it, the bench
//! prints the case's mean batch (the time-average number of requests
//! between their first iteration and their last token).
//!
//! ```text
//! CARGO_TARGET_DIR=... cargo bench -p fleetsim-core --bench engine
//! ```
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fleetsim_core::metrics::SlaConfig;
use fleetsim_core::model::hardware::{gpu, model};
use fleetsim_core::model::{Roofline, RooflineFactors};
use fleetsim_core::replica::batching::{
    BatchForming, BatchingConfig, CapacityScheduler, PrefillScheduling, Stepping,
};
use fleetsim_core::replica::slots::ServiceTime;
use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::workload::lengths::TokenLengths;
use fleetsim_core::workload::synthetic::{ArrivalProcess, SyntheticConfig, SyntheticWorkload};
use fleetsim_core::{
    DeploymentSpec, FleetSpec, ReplicaSpec, Request, Router, SimConfig, SimDuration, Simulation,
};
use std::sync::Arc;
use std::time::Duration;

/// Requests per simulated run.
const REQUESTS: u64 = 100_000;
/// 8 slots × 1 req/s each × ρ 0.9.
const RATE_PER_S: f64 = 7.2;

/// Every request to replica 0.
#[derive(Debug)]
struct First;

impl Router for First {
    fn route(&mut self, _: &Request, _: &[ReplicaLoad]) -> usize {
        0
    }
}

/// Requests of the large-batch case.
const BATCH_REQUESTS: u64 = 20_000;
/// Arrivals of the large-batch case: each request stays for 500 decode
/// steps, so the batch holds the arrivals of that many steps.
const BATCH_RATE_PER_S: f64 = 100.0;

fn simulation() -> Simulation {
    simulation_of(
        REQUESTS,
        RATE_PER_S,
        (1, 1),
        ReplicaSpec::Slots {
            slots: 8,
            service: ServiceTime::Exponential { mean_s: 1.0 },
        },
    )
}

fn large_batch() -> Simulation {
    let config = BatchingConfig {
        max_num_seqs: 1024,
        max_num_batched_tokens: 8192,
        block_size_tokens: 16,
        // 40 k tokens for each of 1024 sequences: the cache never binds.
        kv_cache_blocks: 1024 * 2_500,
        max_model_len_tokens: 131_072,
        stepping: Stepping::Jump,
        capacity_scheduler: CapacityScheduler::MaxUtilization,
        prefill: PrefillScheduling::Chunked,
        async_scheduling: false,
        prefix_cache: None,
        lora: None,
        forming: BatchForming::Continuous,
    };
    let perf = Arc::new(Roofline::new(
        gpu("h100-sxm").unwrap(),
        model("llama-3.1-8b").unwrap(),
        1,
        2.0,
        2.0,
        RooflineFactors::default(),
    ));
    simulation_of(
        BATCH_REQUESTS,
        BATCH_RATE_PER_S,
        (200, 500),
        ReplicaSpec::Batching {
            config: Arc::new(config),
            perf,
        },
    )
}

/// One replica of `replica` fed `requests` Poisson arrivals at `rate_per_s`
/// of fixed (input, output) token lengths.
fn simulation_of(
    requests: u64,
    rate_per_s: f64,
    (input, output): (u32, u32),
    replica: ReplicaSpec,
) -> Simulation {
    let workload = SyntheticWorkload::new(
        &SyntheticConfig {
            arrival: ArrivalProcess::Poisson { rate_per_s },
            input_tokens: TokenLengths::Fixed { tokens: input },
            output_tokens: TokenLengths::Fixed { tokens: output },
            // Long enough never to cut the run before `requests` arrivals.
            duration_s: 10.0 * requests as f64 / rate_per_s,
            max_requests: Some(requests),
        },
        7,
    )
    .unwrap();
    let config = SimConfig {
        seed: 7,
        deployments: vec![DeploymentSpec::new(
            "default",
            FleetSpec {
                replicas: 1,
                gpus_per_replica: 1,
                replica,
                frontend_latency: SimDuration::ZERO,
                lifecycle: Default::default(),
                placement: None,
                queue: Default::default(),
            },
        )],
        pipelines: Vec::new(),
        model_routers: Vec::new(),
        sla: SlaConfig::default(),
        timeseries_resolution: SimDuration::from_secs(60),
    };
    Simulation::new(config, Box::new(workload), vec![Box::new(First)]).unwrap()
}

fn engine(c: &mut Criterion) {
    // The run is deterministic: count its events once.
    let events = simulation().run().unwrap().summary.sim.events;
    let mut group = c.benchmark_group("engine");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(events));
    group.bench_function("mmc_slots8_rho0.9_100k_requests", |b| {
        b.iter_batched(simulation, |sim| sim.run().unwrap(), BatchSize::LargeInput)
    });
    group.finish();

    // The large-batch case's mean batch: the time-average number of
    // requests between their first iteration and their last token.
    let records = large_batch().run().unwrap().records;
    let in_batch_ns: u64 = (records.iter())
        .filter_map(|r| Some(r.e2e_ns? - r.queue_ns?))
        .sum();
    let span_ns = (records.iter())
        .filter_map(|r| Some(r.arrival.0 + r.e2e_ns?))
        .max()
        .unwrap()
        - records[0].arrival.0;
    eprintln!(
        "batching/large_batch: mean batch {:.1} requests over {:.1} s",
        in_batch_ns as f64 / span_ns as f64,
        span_ns as f64 / 1e9
    );
    let mut group = c.benchmark_group("batching");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(BATCH_REQUESTS));
    group.bench_function("large_batch_100rps_200in_500out_20k_requests", |b| {
        b.iter_batched(large_batch, |sim| sim.run().unwrap(), BatchSize::LargeInput)
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
