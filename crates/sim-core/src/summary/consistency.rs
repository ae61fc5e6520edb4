//! The summary's consistency check: what must hold of any summary the
//! engine reports, whatever the scenario. The engine runs it at the end of
//! every run (a summary that fails it is an engine bug and the run fails
//! with `SimError::Inconsistent` rather than report it), and tests run it
//! against the number of requests they fed in.
//!
//! It checks that outcomes add up (in the run, each deployment, each
//! priority class and each pipeline, deployments to the run and classes to
//! their deployment), that percentiles are ordered (p50 ≤ p90 ≤ p95 ≤ p99 ≤
//! max, queue ≤ TTFT ≤ end-to-end), that fractions lie in [0, 1], that no
//! time, count or money is negative or not finite, and that SLA verdicts
//! agree with the counts (misses, attainment, targets met only when
//! measured and within their bound).

use super::numbers::numbers_of;
use super::{Latency, RequestCounts, SlaReport, Summary, PREEMPTION_BOUND_SHARE};
use crate::metrics::LatencyStats;
use std::fmt;

/// One way a summary contradicts itself or the input.
#[derive(Clone, Debug, PartialEq)]
pub struct Inconsistency {
    /// Dotted path of the figure or section, as in the summary JSON
    /// (`deployments[0].classes[1].requests`).
    pub path: String,
    /// What does not hold, with the figures.
    pub message: String,
}

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.path, self.message)
    }
}

/// Paths under which a number may be negative: the monthly equation's
/// differences (billed minus equation) are signed.
const SIGNED: &[&str] = &["cost.monthly_equation.difference."];

/// Relative slack for figures computed in floating point from the same
/// integers along different routes (interpolated percentiles, ratios).
const SLACK: f64 = 1e-9;

fn at_most(a: f64, b: f64) -> bool {
    a <= b + SLACK * b.abs().max(1.0)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= SLACK * a.abs().max(b.abs()).max(1.0)
}

#[derive(Default)]
struct Checker {
    found: Vec<Inconsistency>,
}

impl Checker {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.found.push(Inconsistency {
            path: path.into(),
            message: message.into(),
        });
    }

    fn counts(&mut self, path: &str, c: &RequestCounts) {
        let sum = [c.completed, c.rejected, c.timed_out, c.failed]
            .iter()
            .try_fold(0u64, |a, &b| a.checked_add(b));
        if sum != Some(c.arrived) {
            self.fail(
                path,
                format!(
                    "arrived {} is not completed {} + rejected {} + timed out {} + failed {}",
                    c.arrived, c.completed, c.rejected, c.timed_out, c.failed
                ),
            );
        }
    }

    /// `parts` add up to `whole`, outcome by outcome.
    fn sum_of(&mut self, path: &str, whole: &RequestCounts, parts: &[&RequestCounts], what: &str) {
        let total = |f: fn(&RequestCounts) -> u64| parts.iter().map(|c| f(c)).sum::<u64>();
        type Field = (&'static str, fn(&RequestCounts) -> u64);
        let fields: [Field; 5] = [
            ("arrived", |c| c.arrived),
            ("completed", |c| c.completed),
            ("rejected", |c| c.rejected),
            ("timed_out", |c| c.timed_out),
            ("failed", |c| c.failed),
        ];
        for (name, f) in fields {
            if total(f) != f(whole) {
                self.fail(
                    format!("{path}.{name}"),
                    format!("{} over {what}, but {} here", total(f), f(whole)),
                );
            }
        }
    }

    fn stats(&mut self, path: &str, s: &LatencyStats, completed: u64) {
        if s.count > completed {
            self.fail(
                path,
                format!("{} values but {completed} completed requests", s.count),
            );
        }
        let ordered = [
            ("p50", s.p50),
            ("p90", s.p90),
            ("p95", s.p95),
            ("p99", s.p99),
            ("max", s.max),
        ];
        if s.count == 0 {
            if let Some((name, v)) = ordered.iter().find(|(_, v)| *v != 0.0) {
                self.fail(format!("{path}.{name}"), format!("{v} over no values"));
            }
            return;
        }
        for w in ordered.windows(2) {
            if !at_most(w[0].1, w[1].1) {
                self.fail(
                    path,
                    format!("{} {} is above {} {}", w[0].0, w[0].1, w[1].0, w[1].1),
                );
            }
        }
        if !at_most(s.mean, s.max) {
            self.fail(path, format!("mean {} is above max {}", s.mean, s.max));
        }
    }

    fn latency(&mut self, path: &str, l: &Latency, completed: u64) {
        let metrics = [
            ("queue_ms", &l.queue_ms),
            ("ttft_ms", &l.ttft_ms),
            ("tpot_ms", &l.tpot_ms),
            ("itl_max_ms", &l.itl_max_ms),
            ("e2e_ms", &l.e2e_ms),
        ];
        for (name, s) in metrics {
            self.stats(&format!("{path}.{name}"), s, completed);
        }
        // Each request's queue wait ends before its first token, which
        // comes no later than its last, and its mean wait between tokens
        // is at most its longest: so does every order statistic.
        for (a, b) in [
            (metrics[0], metrics[1]),
            (metrics[1], metrics[4]),
            (metrics[2], metrics[3]),
        ] {
            if a.1.count != b.1.count {
                continue;
            }
            let pairs = [
                ("p50", a.1.p50, b.1.p50),
                ("p90", a.1.p90, b.1.p90),
                ("p95", a.1.p95, b.1.p95),
                ("p99", a.1.p99, b.1.p99),
                ("max", a.1.max, b.1.max),
                ("mean", a.1.mean, b.1.mean),
            ];
            for (q, x, y) in pairs {
                if !at_most(x, y) {
                    self.fail(
                        format!("{path}.{}.{q}", a.0),
                        format!("{x} is above {}.{q} {y}", b.0),
                    );
                }
            }
        }
    }

    fn sla(&mut self, path: &str, sla: &SlaReport, c: &RequestCounts, latency: &Latency) {
        if !(0.0..=1.0).contains(&sla.attainment) {
            self.fail(
                format!("{path}.attainment"),
                format!("{} is not a fraction", sla.attainment),
            );
        }
        let lost = c.arrived.saturating_sub(c.completed);
        if sla.misses > c.arrived || sla.misses < lost {
            self.fail(
                format!("{path}.misses"),
                format!(
                    "{} misses of {} arrived requests, {lost} of which did not complete \
                     (each is a miss)",
                    sla.misses, c.arrived
                ),
            );
        }
        let expect = match c.arrived {
            0 => 1.0,
            n => (n - sla.misses.min(n)) as f64 / n as f64,
        };
        if !close(sla.attainment, expect) {
            self.fail(
                format!("{path}.attainment"),
                format!(
                    "{} but {} misses of {} arrived requests make {expect}",
                    sla.attainment, sla.misses, c.arrived
                ),
            );
        }
        for (i, t) in sla.targets.iter().enumerate() {
            let here = format!("{path}.targets[{i}]");
            match (t.actual_ms, &t.reason) {
                (Some(a), _) if t.met != (a <= t.max_ms) => self.fail(
                    &here,
                    format!("met is {} for {a} ms against {} ms", t.met, t.max_ms),
                ),
                (Some(_), Some(why)) => {
                    self.fail(&here, format!("measured, yet not measured because {why}"))
                }
                (Some(_), None) if c.completed == 0 => {
                    self.fail(&here, "measured over no completed request")
                }
                (None, _) if t.met => self.fail(&here, "met without a measured value"),
                (None, None) => self.fail(&here, "not measured and no reason given"),
                _ => {}
            }
            // Over every arrived request a percentile is at least the one
            // over the completed ones, and the same when all completed.
            let stat = latency.of(t.metric);
            let reported = [
                (50.0, stat.p50),
                (90.0, stat.p90),
                (95.0, stat.p95),
                (99.0, stat.p99),
                (100.0, stat.max),
            ]
            .into_iter()
            .find(|&(q, _)| close(q, t.percentile))
            .map(|(_, v)| v);
            if let (Some(a), Some(r), true) = (t.actual_ms, reported, stat.count > 0) {
                let agrees = match lost {
                    0 => close(a, r),
                    _ => at_most(r, a),
                };
                if !agrees {
                    self.fail(
                        &here,
                        format!(
                            "{a} ms, but the latency section's p{} is {r} ms with {lost} \
                             requests not completed",
                            t.percentile
                        ),
                    );
                }
            }
        }
        let all = sla.targets.iter().all(|t| t.met);
        if sla.all_targets_met != all {
            self.fail(
                format!("{path}.all_targets_met"),
                format!("{} but the targets say {all}", sla.all_targets_met),
            );
        }
    }

    fn fraction(&mut self, path: &str, v: f64) {
        if !(0.0..=1.0).contains(&v) {
            self.fail(path, format!("{v} is not a fraction in [0, 1]"));
        }
    }

    fn numbers(&mut self, summary: &Summary) {
        let numbers = match numbers_of(summary) {
            Ok(n) => n,
            Err(e) => return self.fail("", format!("cannot walk the summary: {e}")),
        };
        for (path, v) in numbers {
            if !v.is_finite() {
                self.fail(path, format!("{v} is not a finite number"));
            } else if v < 0.0 && !SIGNED.iter().any(|p| path.starts_with(p)) {
                self.fail(path, format!("{v} is negative"));
            }
        }
    }

    fn fleet(&mut self, path: &str, f: &super::FleetReport) {
        for (name, v) in [
            ("busy_fraction_min", f.busy_fraction_min),
            ("busy_fraction_mean", f.busy_fraction_mean),
            ("busy_fraction_max", f.busy_fraction_max),
            ("recompute_share", f.recompute_share),
        ] {
            self.fraction(&format!("{path}.{name}"), v);
        }
        if !(at_most(f.busy_fraction_min, f.busy_fraction_mean)
            && at_most(f.busy_fraction_mean, f.busy_fraction_max))
        {
            self.fail(
                path,
                format!(
                    "busy fractions min {} / mean {} / max {} are not ordered",
                    f.busy_fraction_min, f.busy_fraction_mean, f.busy_fraction_max
                ),
            );
        }
        if f.preemption_bound != (f.recompute_share >= PREEMPTION_BOUND_SHARE) {
            self.fail(
                format!("{path}.preemption_bound"),
                format!(
                    "{} with a recompute share of {}",
                    f.preemption_bound, f.recompute_share
                ),
            );
        }
    }
}

impl Summary {
    /// Checks that the summary agrees with itself and, given
    /// `input_requests` (the requests the workload yielded), with its
    /// input; every inconsistency found, or `Ok`. See the module
    /// documentation for the list.
    ///
    /// ```
    /// use fleetsim_core::summary::Summary;
    /// let mut s = Summary::default();
    /// s.requests.arrived = 2;
    /// s.requests.completed = 2;
    /// s.sla.attainment = 1.0;
    /// s.sla.all_targets_met = true; // none to miss
    /// assert_eq!(s.check_consistency(Some(2)), Ok(()));
    /// let found = s.check_consistency(Some(3)).unwrap_err();
    /// assert_eq!(found[0].to_string(), "`requests.arrived`: 2, but 3 requests were fed in");
    /// ```
    pub fn check_consistency(&self, input_requests: Option<u64>) -> Result<(), Vec<Inconsistency>> {
        let mut c = Checker::default();
        if let Some(n) = input_requests.filter(|&n| n != self.requests.arrived) {
            c.fail(
                "requests.arrived",
                format!("{}, but {n} requests were fed in", self.requests.arrived),
            );
        }
        c.counts("requests", &self.requests);
        c.latency("latency", &self.latency, self.requests.completed);
        c.sla("sla", &self.sla, &self.requests, &self.latency);
        c.fleet("fleet", &self.fleet);
        if self.pipelines.is_empty() && !self.deployments.is_empty() {
            let parts: Vec<&RequestCounts> = self.deployments.iter().map(|d| &d.requests).collect();
            c.sum_of("requests", &self.requests, &parts, "the deployments");
        }
        for (i, d) in self.deployments.iter().enumerate() {
            let path = format!("deployments[{i}]");
            c.counts(&format!("{path}.requests"), &d.requests);
            c.latency(&format!("{path}.latency"), &d.latency, d.requests.completed);
            c.sla(&format!("{path}.sla"), &d.sla, &d.requests, &d.latency);
            c.fleet(&format!("{path}.fleet"), &d.fleet);
            if !d.classes.is_empty() {
                let parts: Vec<&RequestCounts> = d.classes.iter().map(|k| &k.requests).collect();
                c.sum_of(
                    &format!("{path}.requests"),
                    &d.requests,
                    &parts,
                    "its classes",
                );
            }
            for (j, k) in d.classes.iter().enumerate() {
                let path = format!("{path}.classes[{j}]");
                c.counts(&format!("{path}.requests"), &k.requests);
                c.latency(&format!("{path}.latency"), &k.latency, k.requests.completed);
                c.sla(&format!("{path}.sla"), &k.sla, &k.requests, &k.latency);
            }
        }
        if let (Some(a), Some(cost)) = (&self.cost_attribution, &self.cost) {
            let classes = || a.deployments.iter().flat_map(|d| &d.classes);
            let total: f64 = classes().map(|k| k.total_usd).sum();
            if !close(total, cost.total_usd) {
                c.fail(
                    "cost_attribution",
                    format!(
                        "the classes are charged {total} USD of {} billed",
                        cost.total_usd
                    ),
                );
            }
        }
        if let Some(cost) = &self.cost {
            let per: Option<f64> = self.deployments.iter().map(|d| d.cost_usd).sum();
            if per.is_some_and(|total| !close(total, cost.total_usd)) {
                c.fail(
                    "deployments",
                    format!(
                        "the deployments cost {} USD of {} billed",
                        per.unwrap_or(0.0),
                        cost.total_usd
                    ),
                );
            }
        }
        let mut in_pipelines = 0u64;
        for (i, p) in self.pipelines.iter().enumerate() {
            let path = format!("pipelines[{i}]");
            c.counts(&format!("{path}.requests"), &p.requests);
            c.latency(&format!("{path}.latency"), &p.latency, p.requests.completed);
            c.sla(&format!("{path}.sla"), &p.sla, &p.requests, &p.latency);
            in_pipelines = in_pipelines.saturating_add(p.requests.arrived);
        }
        if in_pipelines > self.requests.arrived {
            c.fail(
                "pipelines",
                format!(
                    "{in_pipelines} requests arrived at pipelines, {} in all",
                    self.requests.arrived
                ),
            );
        }
        if let Some(p) = &self.prefix_cache {
            for (name, v) in [
                ("block_hit_rate", p.block_hit_rate),
                ("token_hit_rate", p.token_hit_rate),
                ("replica_block_hit_rate_min", p.replica_block_hit_rate_min),
                ("replica_block_hit_rate_mean", p.replica_block_hit_rate_mean),
                ("replica_block_hit_rate_max", p.replica_block_hit_rate_max),
            ] {
                c.fraction(&format!("prefix_cache.{name}"), v);
            }
            if p.hit_blocks > p.query_blocks || p.cached_prefill_tokens > p.query_tokens {
                c.fail(
                    "prefix_cache",
                    format!(
                        "{} of {} blocks and {} of {} tokens hit",
                        p.hit_blocks, p.query_blocks, p.cached_prefill_tokens, p.query_tokens
                    ),
                );
            }
        }
        if let Some(cs) = &self.cold_start {
            if !at_most(cs.p50_s, cs.p95_s) {
                c.fail(
                    "cold_start",
                    format!("p50 {} s is above p95 {} s", cs.p50_s, cs.p95_s),
                );
            }
        }
        let sections = std::iter::once(("gpu_hours".to_string(), &self.gpu_hours)).chain(
            (self.deployments.iter().enumerate())
                .map(|(i, d)| (format!("deployments[{i}].gpu_hours"), &d.gpu_hours)),
        );
        for (path, g) in sections {
            if !close(g.idle, (g.billed - g.busy).max(0.0)) {
                c.fail(
                    format!("{path}.idle"),
                    format!("{} but billed {} − busy {}", g.idle, g.billed, g.busy),
                );
            }
        }
        let t = &self.throughput;
        let rate = match self.sim.simulated_s {
            s if s > 0.0 => self.requests.completed as f64 / s,
            _ => 0.0,
        };
        if !close(t.requests_per_s, rate) {
            c.fail(
                "throughput.requests_per_s",
                format!(
                    "{} but {} completed in {} s",
                    t.requests_per_s, self.requests.completed, self.sim.simulated_s
                ),
            );
        }
        c.numbers(self);
        match c.found.is_empty() {
            true => Ok(()),
            false => Err(c.found),
        }
    }
}
