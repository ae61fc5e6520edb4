//! Raw engine throughput on the M/M/c reference model.
//!
//! One replica of 8 slots with exponential service times of mean 1 s, fed
//! Poisson arrivals at 7.2 req/s (utilisation ρ = 0.9) with 1-token
//! lengths, routed by a router that always answers replica 0. Nothing but
//! the event loop, the heap, the slot replica, the arrival generator and the
//! end-of-run summary is measured; criterion reports events per second.
//!
//! ```text
//! CARGO_TARGET_DIR=... cargo bench -p fleetsim-core --bench engine
//! ```
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fleetsim_core::metrics::SlaConfig;
use fleetsim_core::replica::slots::ServiceTime;
use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::workload::lengths::TokenLengths;
use fleetsim_core::workload::synthetic::{ArrivalProcess, SyntheticConfig, SyntheticWorkload};
use fleetsim_core::{
    DeploymentSpec, FleetSpec, ReplicaSpec, Request, Router, SimConfig, SimDuration, Simulation,
};
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

fn simulation() -> Simulation {
    let workload = SyntheticWorkload::new(
        &SyntheticConfig {
            arrival: ArrivalProcess::Poisson {
                rate_per_s: RATE_PER_S,
            },
            input_tokens: TokenLengths::Fixed { tokens: 1 },
            output_tokens: TokenLengths::Fixed { tokens: 1 },
            // Long enough never to cut the run before `REQUESTS` arrivals.
            duration_s: 10.0 * REQUESTS as f64 / RATE_PER_S,
            max_requests: Some(REQUESTS),
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
                replica: ReplicaSpec::Slots {
                    slots: 8,
                    service: ServiceTime::Exponential { mean_s: 1.0 },
                },
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
}

criterion_group!(benches, engine);
criterion_main!(benches);
