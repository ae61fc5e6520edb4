//! Every run ends within time and memory that grow with what happens in
//! it, not with simulated time: idle stretches cost neither windows nor
//! events, no request waits at a gateway forever, and a workload larger
//! than a run holds is an error rather than exhausted memory.
#![allow(clippy::unwrap_used)]

mod common;

use fleetsim_core::autoscale::{Autoscaler, MetricsSpec, Observation};
use fleetsim_core::engine::MAX_REQUESTS;
use fleetsim_core::queue::MAX_GATEWAY_WAIT;
use fleetsim_core::replica::slots::ServiceTime;
use fleetsim_core::{
    Outcome, ReplicaSpec, Request, RunResult, SimDuration, SimError, SimTime, Simulation,
};

/// One replica with one slot and a fixed 1-s service time, fed requests
/// arriving at `arrivals_s`, with windows of `resolution`.
fn simulation(arrivals_s: &[f64], resolution: SimDuration) -> Simulation {
    let fleet = common::fleet(
        1,
        ReplicaSpec::Slots {
            slots: 1,
            service: ServiceTime::Fixed { duration_s: 1.0 },
        },
    );
    let mut config = common::config(fleet);
    config.timeseries_resolution = resolution;
    let requests: Vec<_> = arrivals_s
        .iter()
        .map(|&t| {
            let at = SimTime::ZERO + SimDuration::try_from_secs_f64(t).unwrap();
            Ok(Request::new(at, 1, 1))
        })
        .collect();
    Simulation::new(
        config,
        Box::new(requests.into_iter()),
        vec![Box::new(common::LeastOutstanding)],
    )
    .unwrap()
}

/// The windows tile the run from 0 without gaps and add up to its counts.
fn check_windows(r: &RunResult, arrived: u64) {
    let rows = &r.timeseries;
    assert_eq!(rows[0].start, SimTime::ZERO);
    for w in rows.windows(2) {
        assert_eq!(w[0].end, w[1].start, "windows tile the run");
    }
    assert_eq!(rows.iter().map(|w| w.arrivals).sum::<u64>(), arrived);
    assert_eq!(rows.iter().map(|w| w.completed).sum::<u64>(), arrived);
    assert_eq!(r.summary.requests.completed, arrived);
}

#[test]
fn an_idle_stretch_costs_neither_windows_nor_events() {
    // 10-s windows over a day of nothing between two requests: one row and
    // one tick for the whole stretch, not 8,640 of each.
    let r = simulation(&[0.0, 86_400.0], SimDuration::from_secs(10))
        .run()
        .unwrap();
    check_windows(&r, 2);
    assert!(r.timeseries.len() <= 5, "{} rows", r.timeseries.len());
    assert!(
        r.summary.sim.events <= 12,
        "{} events",
        r.summary.sim.events
    );
    // The quiet row spans the stretch; the replica was idle all along.
    let quiet = r.timeseries.iter().find(|w| w.arrivals == 0).unwrap();
    assert!(quiet.end.0 - quiet.start.0 > 80_000 * 1_000_000_000);
    let gpu_ns: u128 = r.timeseries.iter().flat_map(|w| w.gpu_ns).sum();
    let end_ns = (r.summary.sim.simulated_s * 1e9).round() as u128;
    assert_eq!(end_ns, 86_401_000_000_000);
    assert_eq!(gpu_ns, end_ns, "one GPU held from 0 to the end");
}

#[test]
fn a_fine_resolution_costs_rows_only_where_something_happens() {
    // 1-ms windows over 100 s: 100,000 windows, a handful of rows.
    let r = simulation(&[0.0, 50.0, 100.0], SimDuration(1_000_000))
        .run()
        .unwrap();
    check_windows(&r, 3);
    assert!(r.timeseries.len() <= 20, "{} rows", r.timeseries.len());
    assert!(
        r.summary.sim.events <= 30,
        "{} events",
        r.summary.sim.events
    );
}

/// Wants no replica until `after`, then one; scrapes and syncs go on all
/// the while, so without a bound on the wait the run would go on until
/// then.
#[derive(Debug)]
struct LateScaler {
    after: SimTime,
}

impl Autoscaler for LateScaler {
    fn sync_period(&self) -> SimDuration {
        SimDuration::from_secs(60)
    }
    fn replica_bounds(&self) -> (u32, u32) {
        (0, 1)
    }
    fn desired_replicas(&mut self, obs: &Observation<'_>) -> u32 {
        u32::from(obs.now >= self.after)
    }
}

#[test]
fn no_request_waits_at_a_gateway_longer_than_a_day() {
    // No replica for two days: the three requests time out after a day at
    // the gateway, and the run ends there.
    let mut fleet = common::fleet(
        0,
        ReplicaSpec::Slots {
            slots: 1,
            service: ServiceTime::Fixed { duration_s: 1.0 },
        },
    );
    fleet.lifecycle.cold_start = Default::default();
    let config = common::config(fleet);
    let requests: Vec<_> = (0..3)
        .map(|i| {
            Ok(Request::new(
                SimTime::ZERO + SimDuration::from_secs(i),
                1,
                1,
            ))
        })
        .collect();
    let metrics = MetricsSpec {
        scrape_interval: SimDuration::from_secs(60),
        ..MetricsSpec::default()
    };
    let two_days = SimTime::ZERO + SimDuration::from_secs(2 * 86_400);
    let r = Simulation::new(
        config,
        Box::new(requests.into_iter()),
        vec![Box::new(common::LeastOutstanding)],
    )
    .unwrap()
    .with_autoscaler(0, Box::new(LateScaler { after: two_days }), metrics)
    .unwrap()
    .run()
    .unwrap();
    assert_eq!(r.summary.requests.arrived, 3);
    assert_eq!(r.summary.requests.timed_out, 3);
    assert_eq!(r.summary.requests.completed, 0);
    for (i, rec) in r.records.iter().enumerate() {
        assert_eq!(rec.outcome, Outcome::TimedOut);
        assert_eq!(rec.queue_ns, Some(MAX_GATEWAY_WAIT.0), "request {i}");
    }
    let day = MAX_GATEWAY_WAIT.as_secs_f64();
    assert!(
        r.summary.sim.simulated_s < day + 10.0,
        "ends with its requests"
    );
}

#[test]
fn a_workload_larger_than_a_run_holds_is_an_error() {
    let arrivals: Vec<f64> = (0..11).map(f64::from).collect();
    let r = simulation(&arrivals[..10], SimDuration::from_secs(10))
        .with_max_requests(10)
        .run()
        .unwrap();
    assert_eq!(r.summary.requests.completed, 10);
    let e = simulation(&arrivals, SimDuration::from_secs(10))
        .with_max_requests(10)
        .run()
        .unwrap_err();
    assert!(
        matches!(e, SimError::TooManyRequests { limit: 10, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("more than 10 requests"), "{e}");
    // The limit only lowers the default.
    let r = simulation(&[0.0], SimDuration::from_secs(10))
        .with_max_requests(u64::MAX)
        .run()
        .unwrap();
    assert_eq!(r.summary.requests.completed, 1);
    const { assert!(MAX_REQUESTS >= 10_000_000) };
}

/// One replica of one sequence at a time, stepping as `stepping`, fed
/// `requests` of one prompt token and `output` tokens each, all at 0.
fn stepped_run(
    stepping: fleetsim_core::replica::batching::Stepping,
    requests: u32,
    output: u32,
) -> Result<RunResult, SimError> {
    use fleetsim_core::replica::batching::{
        BatchForming, BatchingConfig, CapacityScheduler, PrefillScheduling,
    };
    let config = std::sync::Arc::new(BatchingConfig {
        max_num_seqs: 1,
        max_num_batched_tokens: 8192,
        block_size_tokens: 16,
        kv_cache_blocks: 10_000,
        max_model_len_tokens: 131_072,
        stepping,
        capacity_scheduler: CapacityScheduler::MaxUtilization,
        prefill: PrefillScheduling::Chunked,
        async_scheduling: false,
        prefix_cache: None,
        lora: None,
        forming: BatchForming::Continuous,
    });
    let fleet = common::fleet(
        1,
        ReplicaSpec::Batching {
            config,
            perf: common::roofline(),
        },
    );
    let workload: Vec<_> = (0..requests)
        .map(|_| Ok(Request::new(SimTime::ZERO, 1, output)))
        .collect();
    Simulation::new(
        common::config(fleet),
        Box::new(workload.into_iter()),
        vec![Box::new(common::LeastOutstanding)],
    )?
    .run()
}

/// Stepping every iteration costs an event per token, so it stops at
/// `MAX_STEPPED_ITERATIONS` with an error that names the jump; the jump
/// runs the same workload to the end in a few events per request.
#[test]
fn stepping_every_iteration_is_bounded_and_the_jump_runs_the_same_work() {
    use fleetsim_core::engine::MAX_STEPPED_ITERATIONS;
    use fleetsim_core::replica::batching::Stepping;
    let output = 100_000u32;
    let requests = u32::try_from(MAX_STEPPED_ITERATIONS / u64::from(output)).unwrap() + 1;
    let e = stepped_run(Stepping::EveryIteration, requests, output).unwrap_err();
    assert!(
        matches!(e, SimError::SteppedIterations { iterations, .. } if iterations == MAX_STEPPED_ITERATIONS),
        "{e}"
    );
    assert!(e.to_string().contains("stepping = \"jump\""), "{e}");
    let r = stepped_run(Stepping::Jump, requests, output).unwrap();
    assert_eq!(r.summary.requests.completed, u64::from(requests));
    assert!(
        r.summary.sim.events < 20 * u64::from(requests),
        "{}",
        r.summary.sim.events
    );
    // Below the limit, stepping every iteration runs to the end.
    let r = stepped_run(Stepping::EveryIteration, 2, 1_000).unwrap();
    assert_eq!(r.summary.requests.completed, 2);
}
