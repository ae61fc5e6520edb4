use super::super::adapter::testing::*;
use super::*;
use fleetsim_core::autoscale::MetricsStore;
use fleetsim_core::{Autoscaler, SimDuration};

fn config() -> RayServeConfig {
    RayServeConfig {
        min_replicas: 0,
        max_replicas: 10,
        target_ongoing_requests: 2.0,
        upscale_delay_s: 0.3,
        downscale_delay_s: 0.5,
        downscale_to_zero_delay_s: Some(0.2),
        look_back_period_s: 1.0,
        ..RayServeConfig::default()
    }
}

/// Ticks at 0.1 s with a constant in-flight count over `ready`
/// replicas, starting at `desired`; the desired count after each tick.
fn ticks(a: &mut RayServeAutoscaler, n: u32, ready: u32, in_flight: u32, desired: u32) -> Vec<u32> {
    let mut store = MetricsStore::default();
    let mut d = desired;
    (1..=n)
        .map(|i| {
            let t = f64::from(i) * 0.1;
            record(&mut store, [scrape(t, fleet(ready, in_flight, 1.0), 0)]);
            d = a.desired_replicas(&store.observe(at(t), SimDuration::ZERO, d));
            d
        })
        .collect()
}

#[test]
fn upscale_fires_once_the_03_s_delay_has_passed() {
    // 16 ongoing over 2 replicas at target 2 → 8. Wall clock (the newest
    // upstream): the run starts at the 1st tick (0.1 s) and acts once
    // 0.3 s have passed, at the 4th (0.4 s). Counting ticks (older Ray):
    // int(0.3/0.1) = 2 ticks of waiting, so the 3rd decision acts, 0.2 s
    // into the delay.
    let mut a = RayServeAutoscaler::new(config()).unwrap();
    assert_eq!(a.sync_period(), SimDuration::from_millis(100));
    assert_eq!(ticks(&mut a, 4, 2, 16, 2), vec![2, 2, 2, 8]);
    let ticks_cfg = RayServeConfig {
        delay_clock: DelayClock::Ticks,
        ..config()
    };
    let mut a = RayServeAutoscaler::new(ticks_cfg).unwrap();
    assert_eq!(ticks(&mut a, 4, 2, 16, 2), vec![2, 2, 8, 8]);
}

#[test]
fn a_delay_that_is_not_a_whole_number_of_ticks_is_never_cut_short() {
    // A 0.4 s control loop and a 1 s upscale delay: counting ticks acts on
    // the 3rd decision (int(1/0.4) = 2), 0.8 s after the first; the wall
    // clock waits for the 4th, 1.2 s after it.
    let cfg = |delay_clock| RayServeConfig {
        upscale_delay_s: 1.0,
        control_loop_interval_s: 0.4,
        delay_clock,
        ..config()
    };
    let run = |clock| {
        let mut p = RayServePolicy::new(cfg(clock)).unwrap();
        let mut target = 2;
        (0..4)
            .map(|_| {
                target = p.decide(2, target, 16.0);
                target
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(DelayClock::WallClock), vec![2, 2, 2, 8]);
    assert_eq!(run(DelayClock::Ticks), vec![2, 2, 8, 8]);
}

#[test]
fn downscale_waits_and_never_skips_one() {
    // 0 ongoing on 4 replicas: int(0.5/0.1) = 5 → acts on the 6th tick,
    // to 1 (not 0); then 1 → 0 after int(0.2/0.1) + 1 = 3 more ticks.
    let mut a = RayServeAutoscaler::new(config()).unwrap();
    let out = ticks(&mut a, 6, 4, 0, 4);
    assert_eq!(out, vec![4, 4, 4, 4, 4, 1]);
    let out = ticks(&mut a, 3, 1, 0, 1);
    assert_eq!(out, vec![1, 1, 0]);
}

#[test]
fn cold_start_bypasses_the_delay() {
    let mut a = RayServeAutoscaler::new(RayServeConfig {
        upscaling_factor: Some(2.5),
        ..config()
    })
    .unwrap();
    assert_eq!(a.on_activation(at(0.0)), Some(3));
    // No ready replica, requests queued at the gateway: fast path.
    let mut store = MetricsStore::default();
    record(&mut store, [scrape(0.1, vec![], 4)]);
    assert_eq!(
        a.desired_replicas(&store.observe(at(0.1), SimDuration::ZERO, 0)),
        3
    );
    // No visible scrape: hold.
    let empty = MetricsStore::default();
    assert_eq!(
        a.desired_replicas(&empty.observe(at(0.2), SimDuration::ZERO, 5)),
        5
    );
}

#[test]
fn an_outage_keeps_the_running_replicas_and_the_last_reports() {
    // Reports up to 1.0 s show 16 ongoing on 2 ready replicas; the source
    // is down from 1.05 s. Ray's controller still knows its 2 running
    // replicas (replica state) and holds the handles' last reports, so it
    // scales to 16 / 2 = 8 once the 0.3 s upscale delay has passed. (Read
    // from the metrics, running would be 0 in the outage: the cold-start
    // path, which only holds the target.)
    let mut store = MetricsStore::default();
    store.set_outages(vec![fleetsim_core::autoscale::MetricsOutage {
        start: at(1.05),
        end: at(100.0),
    }]);
    record(
        &mut store,
        (1..=10).map(|i| scrape(f64::from(i) / 10.0, fleet(2, 16, 1.0), 0)),
    );
    let mut a = RayServeAutoscaler::new(config()).unwrap();
    let mut d = 2;
    let mut decide = |tenths: std::ops::RangeInclusive<u32>| -> Vec<u32> {
        tenths
            .map(|i| {
                let o = store.observe(at(f64::from(i) / 10.0), SimDuration::ZERO, d);
                assert!(o.metrics_down());
                d = a.desired_replicas(&o);
                d
            })
            .collect()
    };
    assert_eq!(decide(11..=15), vec![2, 2, 2, 8, 8]);
    // The handles' reports are dropped 20 s after the last one (1.0 s):
    // from 21.0 s the total is 0, and after the 0.5 s downscale delay the
    // count steps down to 1 (never past 1 at once).
    assert_eq!(decide(209..=215), vec![8, 8, 8, 8, 8, 8, 1]);
    // No report ever: hold.
    let mut empty = MetricsStore::default();
    empty.set_outages(vec![fleetsim_core::autoscale::MetricsOutage {
        start: at(0.0),
        end: at(100.0),
    }]);
    let mut a = RayServeAutoscaler::new(config()).unwrap();
    assert_eq!(
        a.desired_replicas(&empty.observe(at(5.0), SimDuration::ZERO, 3)),
        3
    );
}
