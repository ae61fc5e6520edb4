//! The cheapest fixed fleet: the fewest replicas that meet every SLA
//! target, found by galloping from the first estimate to a bracket (one
//! count that fails, one that meets) and bisecting it. Meeting the SLA is
//! taken to be monotone in replicas; each probe is a simulation, so the
//! search spends O(log distance) of them rather than a grid.

use serde::Serialize;

/// One simulated replica count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Probe {
    /// Replicas run.
    pub replicas: u32,
    /// Every seed met every SLA target.
    pub meets_sla: bool,
    /// Mean over seeds of the billed cost extrapolated to a month, USD.
    pub monthly_usd: f64,
    /// Mean over seeds of the share of requests meeting the thresholds.
    pub sla_attainment: f64,
}

/// What the search found.
#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    /// The fewest replicas that met the SLA, or, when `complete` is false,
    /// the fewest that met it before the budget ran out.
    pub replicas: Option<u32>,
    /// Every probe, in the order run.
    pub probes: Vec<Probe>,
    /// The bracket closed (`replicas − 1` failed, or `replicas` is 1), or
    /// no count up to the maximum met the SLA.
    pub complete: bool,
}

impl Search {
    /// The probe of `replicas`, if one was run.
    pub fn probe(&self, replicas: u32) -> Option<&Probe> {
        self.probes.iter().find(|p| p.replicas == replicas)
    }
}

/// Finds the fewest replicas in `1..=max` for which `probe` meets the SLA,
/// starting at `start`. `probe` returns `Ok(None)` when the time budget is
/// spent; the search then stops with what it has.
pub fn search<E>(
    start: u32,
    max: u32,
    mut probe: impl FnMut(u32) -> Result<Option<Probe>, E>,
) -> Result<Search, E> {
    let max = max.max(1);
    let mut probes: Vec<Probe> = Vec::new();
    // `fails` < `meets`: the bracket; 0 replicas fail without a run.
    let (mut fails, mut meets): (u32, Option<u32>) = (0, None);
    let mut run = |n: u32, probes: &mut Vec<Probe>| -> Result<Option<bool>, E> {
        Ok(probe(n)?.map(|p| {
            let met = p.meets_sla;
            probes.push(p);
            met
        }))
    };
    let stopped = |meets, probes| Search {
        replicas: meets,
        probes,
        complete: false,
    };
    let first = start.clamp(1, max);
    match run(first, &mut probes)? {
        None => return Ok(stopped(None, probes)),
        Some(true) => {
            meets = Some(first);
            // Gallop down: first − 1, − 3, − 7, … until one fails.
            let mut step = 1u32;
            while let Some(hi) = meets.filter(|&hi| hi > fails + 1) {
                let n = hi.saturating_sub(step).max(fails + 1);
                match run(n, &mut probes)? {
                    None => return Ok(stopped(meets, probes)),
                    Some(true) => meets = Some(n),
                    Some(false) => {
                        fails = n;
                        break;
                    }
                }
                step = step.saturating_mul(2);
            }
        }
        Some(false) => {
            fails = first;
            // Gallop up: first + 1, + 3, + 7, … until one meets.
            let mut step = 1u32;
            while meets.is_none() && fails < max {
                let n = fails.saturating_add(step).min(max);
                match run(n, &mut probes)? {
                    None => return Ok(stopped(None, probes)),
                    Some(true) => meets = Some(n),
                    Some(false) => fails = n,
                }
                step = step.saturating_mul(2);
            }
        }
    }
    // Bisect the bracket.
    while let Some(hi) = meets.filter(|&hi| hi > fails + 1) {
        let n = fails + (hi - fails) / 2;
        match run(n, &mut probes)? {
            None => return Ok(stopped(meets, probes)),
            Some(true) => meets = Some(n),
            Some(false) => fails = n,
        }
    }
    Ok(Search {
        replicas: meets,
        probes,
        complete: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe_at(threshold: Option<u32>) -> impl FnMut(u32) -> Result<Option<Probe>, ()> {
        move |n| {
            Ok(Some(Probe {
                replicas: n,
                meets_sla: threshold.is_some_and(|t| n >= t),
                monthly_usd: f64::from(n),
                sla_attainment: 0.0,
            }))
        }
    }

    /// `(threshold, start, max)`: the search finds the threshold, has run
    /// threshold − 1 (failing) unless it is 1, runs no count twice and
    /// stays within `limit` probes.
    fn check(threshold: Option<u32>, start: u32, max: u32, limit: usize) {
        let s = search(start, max, probe_at(threshold)).unwrap();
        let case = format!("threshold {threshold:?} start {start} max {max}: {s:?}");
        assert!(s.complete, "{case}");
        assert_eq!(s.replicas, threshold.filter(|&t| t <= max), "{case}");
        if let Some(t) = s.replicas.filter(|&t| t > 1) {
            assert_eq!(s.probe(t - 1).map(|p| p.meets_sla), Some(false), "{case}");
        }
        let mut seen: Vec<u32> = s.probes.iter().map(|p| p.replicas).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), s.probes.len(), "a count run twice: {case}");
        assert!(s.probes.len() <= limit, "{} probes: {case}", s.probes.len());
    }

    #[test]
    fn the_search_finds_the_fewest_replicas_meeting_the_sla() {
        // An exact estimate costs two runs: it, and one fewer.
        check(Some(5), 5, 1000, 2);
        check(Some(1), 1, 1000, 1);
        // Estimates too low and too high.
        check(Some(5), 4, 1000, 2);
        check(Some(5), 1, 1000, 6);
        check(Some(5), 9, 1000, 6);
        check(Some(700), 3, 1000, 20);
        check(Some(3), 900, 1000, 20);
        check(Some(1), 900, 1000, 20);
        // The start is clamped into 1..=max.
        check(Some(2), 0, 1000, 3);
        check(Some(8), 5000, 10, 6);
        // Nothing up to the maximum meets.
        check(None, 3, 50, 10);
        check(Some(60), 3, 50, 10);
    }

    #[test]
    fn a_spent_budget_stops_the_search_with_the_best_so_far() {
        for (allowed, expect) in [(0, None), (1, None), (2, Some(5)), (3, Some(5))] {
            let mut calls = 0;
            let mut inner = probe_at(Some(5));
            let s = search(4, 100, |n| {
                calls += 1;
                match calls > allowed {
                    true => Ok(None),
                    false => inner(n),
                }
            })
            .unwrap();
            // 4 fails, 5 meets, then the bracket is closed.
            assert_eq!(s.replicas, expect, "{allowed} runs allowed");
            assert_eq!(s.complete, allowed >= 2, "{allowed} runs allowed");
        }
    }
}
