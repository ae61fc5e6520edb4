//! The offline oracle: with the whole arrival-rate profile known in
//! advance, the replicas each window needs are its rate over one replica's
//! capacity. Its cost (ready replicas only, no cold start, no buffer) is
//! the lower bound the plan sets every policy beside. Its schedule asks
//! for each replica one cold start before its window and keeps it through
//! dips too short to be worth a release (a restart would pay the cold start
//! and the billing unit again); replayed as a `scheduled` policy, it
//! shows whether that foresight meets the SLA.

use serde::Serialize;

/// One entry of the oracle's schedule: from `at_s` on, `replicas` wanted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Seconds from the start of the run.
    pub at_s: f64,
    /// Replicas wanted.
    pub replicas: u32,
}

/// The oracle computed from a rate profile.
#[derive(Clone, Debug, PartialEq)]
pub struct OracleFleet {
    /// Replicas each window needs.
    pub needed: Vec<u32>,
    /// Replicas asked for in each window (lead and hold applied).
    pub wanted: Vec<u32>,
    /// `wanted` as schedule entries: one at 0, then one per change.
    pub schedule: Vec<Step>,
    /// Replica-seconds of `needed` from 0 to the span's end: the
    /// computed lower bound.
    pub needed_replica_s: f64,
}

/// Replicas per window for `rates_per_s` (windows of `window_s` covering
/// 0 to `span_s`, the last one maybe in part), each replica serving
/// `capacity_per_s`; replicas are asked for `lead_s` before their window
/// and kept through dips of up to `hold_s`.
pub fn oracle(
    rates_per_s: &[f64],
    window_s: f64,
    span_s: f64,
    capacity_per_s: f64,
    lead_s: f64,
    hold_s: f64,
) -> OracleFleet {
    // A rate a whole number of capacities needs that many, not one more
    // from rounding.
    let needed: Vec<u32> = (rates_per_s.iter())
        .map(|&r| ((r / capacity_per_s) - 1e-9).ceil().max(0.0) as u32)
        .collect();
    let windows = |s: f64| (s / window_s).ceil().max(0.0) as usize;
    let (lead, hold) = (windows(lead_s), windows(hold_s));
    let wanted: Vec<u32> = (0..needed.len())
        .map(|w| {
            let from = w.saturating_sub(hold);
            let to = (w + lead).min(needed.len() - 1);
            needed[from..=to].iter().copied().max().unwrap_or(0)
        })
        .collect();
    let mut schedule: Vec<Step> = Vec::new();
    for (w, &n) in wanted.iter().enumerate() {
        if schedule.last().is_none_or(|s| s.replicas != n) {
            schedule.push(Step {
                at_s: w as f64 * window_s,
                replicas: n,
            });
        }
    }
    // The last window counts only up to the span's end, where a run's
    // billing (and its extrapolation to a month) ends too.
    let needed_replica_s = (needed.iter().enumerate())
        .map(|(w, &n)| f64::from(n) * (span_s - w as f64 * window_s).clamp(0.0, window_s))
        .sum();
    OracleFleet {
        needed,
        wanted,
        schedule,
        needed_replica_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(rates, lead_s, hold_s)` with windows of 10 s and 2 req/s per
    /// replica → `(needed, wanted, schedule as (at_s, replicas))`.
    fn check(
        rates: &[f64],
        lead_s: f64,
        hold_s: f64,
        needed: &[u32],
        wanted: &[u32],
        steps: &[(f64, u32)],
    ) {
        let o = oracle(rates, 10.0, rates.len() as f64 * 10.0, 2.0, lead_s, hold_s);
        let got: Vec<(f64, u32)> = o.schedule.iter().map(|s| (s.at_s, s.replicas)).collect();
        assert_eq!(
            (o.needed.as_slice(), o.wanted.as_slice(), got.as_slice()),
            (needed, wanted, steps),
            "{rates:?} lead {lead_s} hold {hold_s}"
        );
        let sum: u32 = needed.iter().sum();
        assert!((o.needed_replica_s - f64::from(sum) * 10.0).abs() < 1e-9);
        // Foresight never asks for fewer than the window needs.
        assert!(o.wanted.iter().zip(&o.needed).all(|(w, n)| w >= n));
    }

    #[test]
    fn replicas_follow_the_rate_a_cold_start_ahead() {
        check(&[], 0.0, 0.0, &[], &[], &[]);
        // Exact multiples of the capacity need no extra replica.
        check(
            &[2.0, 4.0, 0.0, 1.0],
            0.0,
            0.0,
            &[1, 2, 0, 1],
            &[1, 2, 0, 1],
            &[(0.0, 1), (10.0, 2), (20.0, 0), (30.0, 1)],
        );
        // A cold start of 15 s asks two windows ahead.
        check(
            &[2.0, 2.0, 2.0, 8.0, 2.0],
            15.0,
            0.0,
            &[1, 1, 1, 4, 1],
            &[1, 4, 4, 4, 1],
            &[(0.0, 1), (10.0, 4), (40.0, 1)],
        );
        // Holding 10 s keeps a replica one window after its need.
        check(
            &[6.0, 0.0, 0.0, 6.0],
            0.0,
            10.0,
            &[3, 0, 0, 3],
            &[3, 3, 0, 3],
            &[(0.0, 3), (20.0, 0), (30.0, 3)],
        );
        // A dip shorter than the hold is ridden through.
        check(
            &[6.0, 0.0, 0.0, 6.0],
            0.0,
            20.0,
            &[3, 0, 0, 3],
            &[3, 3, 3, 3],
            &[(0.0, 3)],
        );
        // Fractions round up.
        check(
            &[0.1, 2.1],
            0.0,
            0.0,
            &[1, 2],
            &[1, 2],
            &[(0.0, 1), (10.0, 2)],
        );
    }

    #[test]
    fn the_bound_ends_with_the_span() {
        // 3 replicas for 10 s, then 5 for the 4 s the last window covers.
        let o = oracle(&[6.0, 10.0], 10.0, 14.0, 2.0, 0.0, 0.0);
        assert!((o.needed_replica_s - (30.0 + 20.0)).abs() < 1e-9, "{o:?}");
        // A span ending at a window's start gives that window nothing.
        let o = oracle(&[6.0, 10.0], 10.0, 10.0, 2.0, 0.0, 0.0);
        assert!((o.needed_replica_s - 30.0).abs() < 1e-9, "{o:?}");
    }
}
