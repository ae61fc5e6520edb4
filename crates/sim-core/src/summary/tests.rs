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
        replica: done.then_some(0),
        outcome,
        input_tokens: 10,
        output_tokens,
        queue_ns: done.then_some(0),
        ttft_ns: done.then_some(ttft_ms * 1_000_000),
        tpot_ns: (done && output_tokens > 1).then_some(1_000_000),
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
