#![allow(clippy::unwrap_used)]
#![allow(clippy::float_cmp)] // exact values

use super::*;
use crate::metrics::PercentileTarget;
use crate::time::SimTime;

/// A record of request `id` that ended with `outcome`; a completed one has
/// a TTFT of `ttft_ms` and, with more than one output token, a TPOT.
pub(super) fn record(id: u64, outcome: Outcome, ttft_ms: u64, output_tokens: u32) -> RequestRecord {
    let done = outcome == Outcome::Completed;
    RequestRecord {
        id,
        arrival: SimTime(id * 1_000_000),
        class: 0,
        deployment: 0,
        pipeline: None,
        kv_transfer_bytes: None,
        replica: done.then_some(0),
        outcome,
        input_tokens: 10,
        output_tokens,
        queue_ns: done.then_some(0),
        ttft_ns: done.then_some(ttft_ms * 1_000_000),
        tpot_ns: (done && output_tokens > 1).then_some(1_000_000),
        itl_max_ns: (done && output_tokens > 1).then_some(1_000_000),
        e2e_ns: done.then_some(ttft_ms * 1_000_000 + 1_000_000),
        preemptions: 0,
    }
}

/// Completed requests with the given TTFTs (ms), then `lost` rejected ones.
fn records(ttfts_ms: &[u64], lost: u64) -> Vec<RequestRecord> {
    let n = ttfts_ms.len() as u64;
    (ttfts_ms.iter().enumerate())
        .map(|(i, &t)| record(i as u64, Outcome::Completed, t, 2))
        .chain((0..lost).map(|i| record(n + i, Outcome::Rejected, 0, 2)))
        .collect()
}

/// The `p`-th percentile TTFT target with bound `max_ms` over `records`:
/// (actual_ms, met, reason fragment).
fn check(records: &[RequestRecord], p: f64, max_ms: f64, expect: (Option<f64>, bool, &str)) {
    let target = PercentileTarget {
        metric: LatencyMetric::TtftMs,
        percentile: p,
        max_ms,
    };
    let got = TargetResult::measure(&target, records);
    assert_eq!(got.actual_ms, expect.0, "{got:?}");
    assert_eq!(got.met, expect.1, "{got:?}");
    match (&got.reason, expect.2) {
        (None, "") => {}
        (Some(why), fragment) if !fragment.is_empty() && why.contains(fragment) => {}
        _ => panic!("reason {:?}, expected {:?}", got.reason, expect.2),
    }
}

#[test]
fn targets_count_every_arrived_request() {
    // Everything completed: the plain percentile.
    check(
        &records(&[10, 20, 30, 40, 50], 0),
        50.0,
        30.0,
        (Some(30.0), true, ""),
    );
    check(
        &records(&[10, 20, 30, 40, 50], 0),
        100.0,
        30.0,
        (Some(50.0), false, ""),
    );
    // Nothing completed: not measured, not met, and the reason says so.
    check(
        &records(&[], 5),
        95.0,
        300.0,
        (None, false, "no request completed (5 rejected"),
    );
    // Nothing arrived.
    check(&[], 95.0, 300.0, (None, false, "no request arrived"));
    // Half the requests lost: the median falls between a served request
    // and a lost one, the p25 on served ones.
    check(
        &records(&[10, 20], 2),
        50.0,
        300.0,
        (None, false, "2 of 4 requests did not complete"),
    );
    check(&records(&[10, 20], 2), 25.0, 300.0, (Some(17.5), true, ""));
    // One lost request in 21 moves the p95 up a rank but stays served.
    let mut fast: Vec<u64> = (1..=20).collect();
    fast[19] = 100;
    check(&records(&fast, 1), 95.0, 50.0, (Some(100.0), false, ""));
}

#[test]
fn a_tpot_target_over_one_token_answers_only_is_not_met() {
    let one_token: Vec<RequestRecord> = (0..3)
        .map(|i| record(i, Outcome::Completed, 5, 1))
        .collect();
    let target = PercentileTarget {
        metric: LatencyMetric::TpotMs,
        percentile: 95.0,
        max_ms: 40.0,
    };
    let got = TargetResult::measure(&target, &one_token);
    assert_eq!((got.actual_ms, got.met), (None, false));
    assert!(got
        .reason
        .unwrap()
        .contains("no completed request has a tpot_ms"));
}

#[test]
fn a_run_that_served_nothing_meets_no_target() {
    let sla = SlaConfig {
        ttft_ms: Some(500.0),
        targets: vec![PercentileTarget {
            metric: LatencyMetric::TtftMs,
            percentile: 95.0,
            max_ms: 300.0,
        }],
        ..SlaConfig::default()
    };
    let s = Summary::from_records(&records(&[], 4), &sla, 10.0);
    assert_eq!(s.sla.attainment, 0.0);
    assert_eq!(s.sla.misses, 4);
    assert!(!s.sla.all_targets_met);
    assert!(!s.sla.targets[0].met);
}

/// A consistent summary of four served requests and one rejected, with
/// one deployment holding two classes and a median TTFT target.
fn consistent() -> Summary {
    let sla = SlaConfig {
        ttft_ms: Some(500.0),
        targets: vec![PercentileTarget {
            metric: LatencyMetric::TtftMs,
            percentile: 50.0,
            max_ms: 300.0,
        }],
        ..SlaConfig::default()
    };
    let mut records = records(&[10, 20, 30, 40], 1);
    records[4].class = 1;
    let mut s = Summary::from_records(&records, &sla, 10.0);
    s.deployments = vec![DeploymentReport {
        name: "d".into(),
        requests: s.requests.clone(),
        latency: s.latency.clone(),
        sla: s.sla.clone(),
        classes: vec![
            ClassReport::from_records("a", 0, &records, &sla, 10.0),
            ClassReport::from_records("b", 1, &records, &sla, 10.0),
        ],
        ..DeploymentReport::default()
    }];
    s.gpu_hours = GpuHours {
        billed: 2.0,
        busy: 0.5,
        idle: 1.5,
        by_state: None,
    };
    s.sim.simulated_s = 10.0;
    s
}

/// Breaks the consistent summary with `mutate` and expects exactly the
/// inconsistencies whose messages start with `expect` (`path: …`).
fn check_broken(mutate: impl Fn(&mut Summary), expect: &[&str]) {
    let mut s = consistent();
    mutate(&mut s);
    let found: Vec<String> = match s.check_consistency(Some(5)) {
        Ok(()) => Vec::new(),
        Err(found) => found.iter().map(|i| i.to_string()).collect(),
    };
    assert_eq!(found.len(), expect.len(), "{found:#?}");
    for (f, e) in found.iter().zip(expect) {
        assert!(f.starts_with(e), "{f:?} does not start with {e:?}");
    }
}

#[test]
fn the_consistency_check_passes_a_consistent_summary() {
    check_broken(|_| {}, &[]);
}

#[test]
fn the_consistency_check_catches_a_broken_summary() {
    // The outcomes of the run, its deployment and a class stop adding up.
    check_broken(
        |s| s.requests.completed += 1,
        &[
            "`requests`: arrived 5 is not completed 5 + rejected 1",
            // Nothing lost now, so the target must equal the latency p50.
            "`sla.targets[0]`: 30 ms, but the latency section's p50 is 25 ms",
            "`requests.completed`: 4 over the deployments, but 5 here",
            "`throughput.requests_per_s`: 0.4 but 5 completed in 10 s",
        ],
    );
    check_broken(
        |s| s.deployments[0].classes[1].requests.rejected = 0,
        &[
            "`deployments[0].requests.rejected`: 0 over its classes, but 1 here",
            "`deployments[0].classes[1].requests`: arrived 1 is not completed 0 + rejected 0",
        ],
    );
    // Against the input.
    let s = consistent();
    let found = s.check_consistency(Some(6)).unwrap_err();
    assert_eq!(
        found[0].to_string(),
        "`requests.arrived`: 5, but 6 requests were fed in"
    );
    // Percentiles out of order, and a first token after the last.
    check_broken(
        |s| s.latency.ttft_ms.p50 = 39.0,
        &[
            "`latency.ttft_ms`: p50 39 is above p90 37",
            "`latency.ttft_ms.p50`: 39 is above e2e_ms.p50 26",
            "`sla.targets[0]`: 30 ms, but the latency section's p50 is 39 ms",
        ],
    );
    check_broken(
        |s| s.latency.e2e_ms.max = 1.0,
        &[
            "`latency.e2e_ms`: p99",
            "`latency.e2e_ms`: mean",
            "`latency.ttft_ms.max`: 40 is above e2e_ms.max 1",
        ],
    );
    // Fractions outside [0, 1].
    check_broken(
        |s| s.fleet.busy_fraction_max = 1.5,
        &["`fleet.busy_fraction_max`: 1.5 is not a fraction"],
    );
    // Negative or non-finite time and money.
    check_broken(
        |s| s.sim.simulated_s = f64::NAN,
        &[
            "`throughput.requests_per_s`",
            "`sim.simulated_s`: NaN is not a finite number",
        ],
    );
    check_broken(
        |s| {
            s.cost = Some(crate::cost::CostReport {
                total_usd: -1.0,
                ..Default::default()
            })
        },
        &["`cost.total_usd`: -1 is negative"],
    );
    // The deployments' dollars must add up to the bill.
    let billed = |total_usd: f64, per_deployment: f64| {
        move |s: &mut Summary| {
            s.cost = Some(crate::cost::CostReport {
                total_usd,
                ..Default::default()
            });
            s.deployments[0].cost_usd = Some(per_deployment);
        }
    };
    check_broken(billed(2.0, 2.0), &[]);
    check_broken(
        billed(2.0, 1.5),
        &["`deployments`: the deployments cost 1.5 USD of 2 billed"],
    );
    // SLA verdicts that do not follow from the counts.
    check_broken(
        |s| s.sla.attainment = 1.0,
        &["`sla.attainment`: 1 but 1 misses of 5 arrived requests make 0.8"],
    );
    check_broken(
        |s| s.sla.misses = 0,
        &[
            "`sla.misses`: 0 misses of 5 arrived requests, 1 of which did not complete",
            "`sla.attainment`: 0.8 but 0 misses",
        ],
    );
    check_broken(
        |s| {
            // The old wrong result: nothing measured, yet met.
            s.sla.targets[0].actual_ms = None;
            s.sla.targets[0].met = true;
        },
        &["`sla.targets[0]`: met without a measured value"],
    );
    check_broken(
        |s| s.sla.targets[0].met = false,
        &[
            "`sla.targets[0]`: met is false for 30 ms against 300 ms",
            "`sla.all_targets_met`: true but the targets say false",
        ],
    );
}

#[test]
fn a_run_that_served_nothing_is_consistent_only_when_it_meets_nothing() {
    let sla = SlaConfig {
        targets: vec![PercentileTarget {
            metric: LatencyMetric::TtftMs,
            percentile: 95.0,
            max_ms: 300.0,
        }],
        ..SlaConfig::default()
    };
    let mut s = Summary::from_records(&records(&[], 3), &sla, 1.0);
    s.sim.simulated_s = 1.0;
    assert_eq!(s.check_consistency(Some(3)), Ok(()));
    // What the summary used to say.
    s.sla.targets[0].actual_ms = Some(0.0);
    s.sla.targets[0].met = true;
    s.sla.targets[0].reason = None;
    s.sla.all_targets_met = true;
    let found = s.check_consistency(Some(3)).unwrap_err();
    assert_eq!(
        found[0].to_string(),
        "`sla.targets[0]`: measured over no completed request"
    );
}

#[test]
fn ready_replicas_over_time_have_a_min_a_time_weighted_mean_and_a_peak() {
    use super::ready_replica_stats;
    let s = 1_000_000_000u64; // ns
    for (spans, end, expect) in [
        // Two replicas from 0 to the end: 2 throughout.
        (vec![(0, 100 * s), (0, 100 * s)], 100 * s, (2, 2.0, 2)),
        // One from 0; a second from 20 s to 60 s: 1 to 2 and back.
        (vec![(0, 100 * s), (20 * s, 60 * s)], 100 * s, (1, 1.4, 2)),
        // One replaced at 50 s by another: no dip at the instant.
        (vec![(0, 50 * s), (50 * s, 100 * s)], 100 * s, (1, 1.0, 1)),
        // None ready until 30 s (a cold fleet), then one.
        (vec![(30 * s, 100 * s)], 100 * s, (0, 0.7, 1)),
        // A span past the end counts up to the end only.
        (vec![(0, 200 * s)], 100 * s, (1, 1.0, 1)),
        // A zero-length run: the count at time 0.
        (vec![(0, 0), (0, 0)], 0, (2, 2.0, 2)),
        // No replica at all.
        (vec![], 10 * s, (0, 0.0, 0)),
    ] {
        let (min, mean, peak) = ready_replica_stats(&spans, end);
        assert_eq!((min, peak), (expect.0, expect.2), "{spans:?}");
        assert!((mean - expect.1).abs() < 1e-12, "{spans:?}: mean {mean}");
    }
}
