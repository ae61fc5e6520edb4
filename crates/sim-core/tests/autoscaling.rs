//! The autoscaler framework in the engine: syncs at the policy's period,
//! observations through scrapes with a lag, bounds, and the activator that
//! scales a deployment up from zero at once.
#![allow(clippy::unwrap_used)]

mod common;

use fleetsim_core::autoscale::{Autoscaler, MetricsSpec, Observation};
use fleetsim_core::lifecycle::{LifecycleSpec, StageDurations};
use fleetsim_core::queue::{QueueMode, QueueSpec};
use fleetsim_core::replica::slots::ServiceTime;
use fleetsim_core::{ReplicaSpec, Request, RunResult, SimDuration, SimTime, Simulation};

/// Wants one replica per `per_replica` requests in the system (at the
/// latest visible scrape), within `[min, max]`; optionally answers the
/// activator with one replica.
#[derive(Debug)]
struct PerConcurrency {
    per_replica: u32,
    min: u32,
    max: u32,
    activate: bool,
    sync: SimDuration,
    /// `(now, desired)` of every decision, for the test to inspect.
    decisions: std::sync::Arc<std::sync::Mutex<Vec<(SimTime, u32)>>>,
}

impl Autoscaler for PerConcurrency {
    fn sync_period(&self) -> SimDuration {
        self.sync
    }
    fn replica_bounds(&self) -> (u32, u32) {
        (self.min, self.max)
    }
    fn desired_replicas(&mut self, obs: &Observation<'_>) -> u32 {
        let want = obs
            .latest()
            .map_or(obs.desired, |s| s.concurrency().div_ceil(self.per_replica));
        self.decisions.lock().unwrap().push((obs.now, want));
        want
    }
    fn on_activation(&mut self, _now: SimTime) -> Option<u32> {
        self.activate.then_some(1)
    }
}

fn secs(s: f64) -> SimTime {
    SimTime::ZERO + SimDuration::try_from_secs_f64(s).unwrap()
}

/// One-slot replicas with a fixed service time of `service_s`, a 10 s cold
/// start (1 + 2 + 3 + 4 s), `initial` replicas at time 0.
fn run(
    arrivals_s: &[f64],
    service_s: f64,
    initial: u32,
    scaler: PerConcurrency,
    metrics: MetricsSpec,
) -> RunResult {
    run_queued(
        arrivals_s,
        service_s,
        initial,
        scaler,
        metrics,
        QueueSpec::default(),
    )
}

/// [`run`] with a queue configuration.
fn run_queued(
    arrivals_s: &[f64],
    service_s: f64,
    initial: u32,
    scaler: PerConcurrency,
    metrics: MetricsSpec,
    queue: QueueSpec,
) -> RunResult {
    let mut fleet = common::fleet(
        initial,
        ReplicaSpec::Slots {
            slots: 1,
            service: ServiceTime::Fixed {
                duration_s: service_s,
            },
        },
    );
    fleet.lifecycle = LifecycleSpec {
        cold_start: StageDurations {
            provisioning: SimDuration::from_secs(1),
            pulling_image: SimDuration::from_secs(2),
            loading_weights: SimDuration::from_secs(3),
            starting_engine: SimDuration::from_secs(4),
        },
        ..LifecycleSpec::default()
    };
    fleet.queue = queue;
    let config = common::config(fleet);
    let requests: Vec<_> = arrivals_s
        .iter()
        .map(|&t| Ok(Request::new(secs(t), 1, 1)))
        .collect();
    Simulation::new(
        config,
        Box::new(requests.into_iter()),
        vec![Box::new(common::LeastOutstanding)],
    )
    .unwrap()
    .with_autoscaler(0, Box::new(scaler), metrics)
    .unwrap()
    .run()
    .unwrap()
}

fn scaler(activate: bool, min: u32, max: u32) -> PerConcurrency {
    PerConcurrency {
        per_replica: 1,
        min,
        max,
        activate,
        sync: SimDuration::from_secs(2),
        decisions: Default::default(),
    }
}

fn one_second_scrapes() -> MetricsSpec {
    MetricsSpec {
        scrape_interval: SimDuration::from_secs(1),
        lag: SimDuration::ZERO,
        lookback: SimDuration::from_secs(60),
    }
}

#[test]
fn scale_from_zero_waits_exactly_the_cold_start_plus_its_own_service() {
    // Scaled to zero; a request at t = 5.5 s wakes the activator, which
    // starts a replica at once: ready at 15.5 s, done at 16.5 s.
    let r = run(&[5.5], 1.0, 0, scaler(true, 0, 4), one_second_scrapes());
    let rec = &r.records[0];
    assert_eq!(rec.queue_ns, Some(10_000_000_000), "the cold start");
    assert_eq!(rec.e2e_ns, Some(11_000_000_000), "cold start + service");
    assert_eq!(r.summary.fleet.replicas_started, 1);
}

#[test]
fn without_the_activator_the_first_request_also_waits_for_a_scrape_and_a_sync() {
    // The same arrival seen only through metrics: the scrape at 6 s shows it
    // waiting, the sync at 6 s (syncs every 2 s run after scrapes at the
    // same instant) asks for a replica: ready at 16 s, 0.5 s later than
    // with the activator.
    let r = run(&[5.5], 1.0, 0, scaler(false, 0, 4), one_second_scrapes());
    assert_eq!(r.records[0].queue_ns, Some(10_500_000_000));
    // A 3 s lag delays the decision to the first sync that sees the 6 s
    // scrape: t = 10 s, ready at 20 s.
    let lagged = MetricsSpec {
        lag: SimDuration::from_secs(3),
        ..one_second_scrapes()
    };
    let r = run(&[5.5], 1.0, 0, scaler(false, 0, 4), lagged);
    assert_eq!(r.records[0].queue_ns, Some(14_500_000_000));
}

#[test]
fn bounds_clamp_what_the_autoscaler_asks_for() {
    // Ten requests at once on one replica behind a central queue (so new
    // replicas can take the backlog): the policy asks for 10, the bounds
    // allow 3, so three replicas serve them.
    let arrivals = vec![0.0; 10];
    let central = QueueSpec {
        mode: QueueMode::Central {
            max_concurrency_per_replica: 1,
        },
        ..QueueSpec::default()
    };
    let r = run_queued(
        &arrivals,
        5.0,
        1,
        scaler(false, 1, 3),
        one_second_scrapes(),
        central,
    );
    let replicas: std::collections::BTreeSet<u32> =
        r.records.iter().map(|x| x.replica.unwrap()).collect();
    assert_eq!(replicas.len(), 3, "{replicas:?}");
    assert_eq!(r.summary.fleet.replicas_started, 2);
    assert_eq!(r.summary.requests.completed, 10);
}

#[test]
fn the_autoscaler_is_called_at_its_sync_period_and_runs_are_deterministic() {
    let s = scaler(false, 1, 4);
    let log = std::sync::Arc::clone(&s.decisions);
    let arrivals: Vec<f64> = (0..40).map(|i| f64::from(i) * 0.5).collect();
    let a = run(&arrivals, 1.5, 1, s, one_second_scrapes());
    let times: Vec<u64> = log.lock().unwrap().iter().map(|(t, _)| t.0).collect();
    assert!(times.len() >= 10, "{times:?}");
    for (i, &t) in times.iter().enumerate() {
        assert_eq!(t, 2_000_000_000 * (i as u64 + 1), "sync {i}");
    }
    let b = run(&arrivals, 1.5, 1, scaler(false, 1, 4), one_second_scrapes());
    assert_eq!(a.records, b.records);
    assert_eq!(a.summary, b.summary);
}

/// Holds a fixed fleet and keeps what every sync saw in the newest scrape.
#[derive(Debug)]
struct Recorder {
    seen: std::sync::Arc<std::sync::Mutex<Vec<fleetsim_core::autoscale::Scrape>>>,
}

impl Autoscaler for Recorder {
    fn sync_period(&self) -> SimDuration {
        SimDuration::from_secs(1)
    }
    fn replica_bounds(&self) -> (u32, u32) {
        (4, 4)
    }
    fn desired_replicas(&mut self, obs: &Observation<'_>) -> u32 {
        self.seen.lock().unwrap().extend(obs.latest().cloned());
        4
    }
}

#[test]
fn scrapes_carry_the_token_counters_and_ttft_histogram_of_completed_requests() {
    // Completions fall at fractional seconds (arrivals at .1/.6, 1.25 s of
    // service), so "before the scrape" is unambiguous.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let rec = Recorder {
        seen: std::sync::Arc::clone(&seen),
    };
    let mut fleet = common::fleet(
        4,
        ReplicaSpec::Slots {
            slots: 1,
            service: ServiceTime::Fixed { duration_s: 1.25 },
        },
    );
    fleet.lifecycle = LifecycleSpec::default();
    let requests: Vec<_> = (0..20)
        .map(|i| Ok(Request::new(secs(0.1 + 0.5 * f64::from(i)), 7 + i, 3)))
        .collect();
    let r = Simulation::new(
        common::config(fleet),
        Box::new(requests.into_iter()),
        vec![Box::new(common::LeastOutstanding)],
    )
    .unwrap()
    .with_autoscaler(0, Box::new(rec), one_second_scrapes())
    .unwrap()
    .run()
    .unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 10, "{}", seen.len());
    let mut grew = false;
    for s in seen.iter() {
        let done: Vec<_> = (r.records.iter())
            .filter(|x| x.arrival.0 + x.e2e_ns.unwrap() < s.at.0)
            .collect();
        let prompt: u64 = done.iter().map(|x| u64::from(x.input_tokens)).sum();
        let ttft_sum: u64 = done.iter().map(|x| x.ttft_ns.unwrap()).sum();
        let c = &s.served;
        assert_eq!(c.prompt_tokens_total, prompt, "at {:?}", s.at);
        assert_eq!(c.generation_tokens_total, 3 * done.len() as u64);
        assert_eq!((c.ttft.count, c.ttft.sum_ns), (done.len() as u64, ttft_sum));
        let arrived = (r.records.iter()).filter(|x| x.arrival <= s.at).count();
        assert_eq!(s.arrivals_total, arrived as u64);
        grew |= c.ttft.count > 0;
    }
    assert!(grew, "some request completed before a scrape");
}
