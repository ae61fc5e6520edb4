//! The headline metrics of a run: the fixed list of figures that
//! `fleetsim compare` and `fleetsim check` report, each with its unit,
//! which direction is better and a default tolerance for `check`.
//!
//! The list is [`HEADLINE`]; its order is the order of every table and
//! JSON array that shows it. A metric is *absent* (`None`) when the run
//! has nothing to measure it on: latency percentiles when no request
//! completed, dollars without a node pool (`[pool]`), so a run is never
//! credited with a 0 ms p95 it did not have.
//!
//! ```
//! use fleetsim::headline::{Headline, HEADLINE};
//! let s = fleetsim::scenario::load_str(fleetsim::scenario::QUICKSTART_TOML, "quickstart",
//!     std::path::Path::new("."), &["workload.duration_s=10".to_string()]).unwrap();
//! let summary = fleetsim::run::run(&s).unwrap().summary;
//! let ttft = Headline::by_name("ttft_p95_ms").unwrap();
//! assert_eq!(ttft.value(&summary), Some(summary.latency.ttft_ms.p95));
//! assert!(HEADLINE.iter().any(|h| h.name == "sla_attainment"));
//! ```

use fleetsim_core::metrics::LatencyStats;
use fleetsim_core::summary::Summary;
use serde::Serialize;
use std::fmt;

/// Which way a metric should move.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Larger values are better (e.g. SLA attainment).
    Higher,
    /// Smaller values are better (e.g. latency, cost).
    Lower,
}

impl Better {
    /// `higher` or `lower`.
    pub fn name(self) -> &'static str {
        match self {
            Better::Higher => "higher",
            Better::Lower => "lower",
        }
    }

    /// Whether moving from `from` to `to` is an improvement (false when
    /// equal).
    pub fn improved(self, from: f64, to: f64) -> bool {
        match self {
            Better::Higher => to > from,
            Better::Lower => to < from,
        }
    }
}

/// How far a value may move from its baseline and still count as
/// unchanged: `|now − baseline| ≤ max(abs, rel × |baseline|)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Tolerance {
    /// Absolute allowance, in the metric's unit.
    pub abs: f64,
    /// Relative allowance, a fraction of the baseline value (0.02 = 2 %).
    pub rel: f64,
}

impl Tolerance {
    /// No movement allowed at all.
    pub const EXACT: Tolerance = Tolerance { abs: 0.0, rel: 0.0 };

    /// The largest change from `baseline` this tolerance accepts.
    pub fn allowance(&self, baseline: f64) -> f64 {
        self.abs.max(self.rel * baseline.abs())
    }

    /// Whether `now` is within the tolerance of `baseline`.
    pub fn accepts(&self, baseline: f64, now: f64) -> bool {
        (now - baseline).abs() <= self.allowance(baseline)
    }
}

impl fmt::Display for Tolerance {
    /// `±0.5 or 2 %`, `±0`, `2 %`: only the parts that are set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.abs > 0.0, self.rel > 0.0) {
            (false, false) => write!(f, "exact"),
            (true, false) => write!(f, "±{}", short(self.abs)),
            (false, true) => write!(f, "±{} %", short(self.rel * 100.0)),
            (true, true) => write!(
                f,
                "±max({}, {} %)",
                short(self.abs),
                short(self.rel * 100.0)
            ),
        }
    }
}

/// `x` with at most 9 decimals and no trailing zeros, so `0.07 × 100`
/// prints as `7`, not `7.000000000000001`.
fn short(x: f64) -> String {
    let s = format!("{x:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// One headline metric.
#[derive(Clone, Copy, Debug)]
pub struct Headline {
    /// Name, ending in its unit where it has one (`ttft_p95_ms`, `cost_usd`).
    pub name: &'static str,
    /// Unit, for tables (`ms`, `USD`, `requests`, `fraction`, …).
    pub unit: &'static str,
    /// What it measures, and where in the summary it comes from.
    pub description: &'static str,
    /// Which direction is an improvement.
    pub better: Better,
    /// The default tolerance of `fleetsim check`.
    pub tolerance: Tolerance,
    /// The metric is a count (written as an integer in baselines).
    pub integer: bool,
    /// Decimals shown in tables.
    pub decimals: usize,
    extract: fn(&Summary) -> Option<f64>,
}

impl Headline {
    /// The metric's value in `summary` (`None` when the run has nothing to
    /// measure it on). Never NaN or infinite: such a value is absent, so
    /// baselines and means only ever hold numbers.
    pub fn value(&self, summary: &Summary) -> Option<f64> {
        (self.extract)(summary).filter(|v| v.is_finite())
    }

    /// The metric named `name`.
    pub fn by_name(name: &str) -> Option<&'static Headline> {
        HEADLINE.iter().find(|h| h.name == name)
    }

    /// Every metric's name, comma-separated, for error messages.
    pub fn names() -> String {
        HEADLINE
            .iter()
            .map(|h| h.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `value` with the metric's decimals (`-` when absent).
    pub fn format(&self, value: Option<f64>) -> String {
        match value {
            Some(v) => format!("{v:.*}", self.decimals),
            None => "-".to_string(),
        }
    }
}

/// Metrics are equal when their names are (names are unique in
/// [`HEADLINE`]).
impl PartialEq for Headline {
    fn eq(&self, other: &Headline) -> bool {
        self.name == other.name
    }
}

/// A latency percentile, absent when no request completed (the summary
/// then holds 0, which would look like a perfect latency).
fn pct(stats: &LatencyStats, pick: fn(&LatencyStats) -> f64) -> Option<f64> {
    (stats.count > 0).then(|| pick(stats))
}

/// Tolerance of latencies: 2 %, or 0.5 ms on small values (a few requests
/// moving between percentiles shifts them by less than that).
const LATENCY: Tolerance = Tolerance {
    abs: 0.5,
    rel: 0.02,
};
/// Tolerance of request counts: 0.5 % of the baseline, or 1 request.
const COUNT: Tolerance = Tolerance {
    abs: 1.0,
    rel: 0.005,
};
/// Tolerance of GPU time and dollars: 1 %.
const MONEY: Tolerance = Tolerance {
    abs: 0.0,
    rel: 0.01,
};

/// The headline metrics, in table order. Names are stable: baselines and
/// other tools refer to them.
pub const HEADLINE: &[Headline] = &[
    Headline {
        name: "sla_attainment",
        unit: "fraction",
        description: "share of arrived requests that completed within every per-request SLA threshold (`sla.attainment`)",
        better: Better::Higher,
        // Half a percentage point.
        tolerance: Tolerance { abs: 0.005, rel: 0.0 },
        integer: false,
        decimals: 4,
        extract: |s| Some(s.sla.attainment),
    },
    Headline {
        name: "completed",
        unit: "requests",
        description: "requests that produced every output token (`requests.completed`)",
        better: Better::Higher,
        tolerance: COUNT,
        integer: true,
        decimals: 0,
        extract: |s| Some(s.requests.completed as f64),
    },
    Headline {
        name: "rejected",
        unit: "requests",
        description: "requests refused on arrival (`requests.rejected`)",
        better: Better::Lower,
        tolerance: COUNT,
        integer: true,
        decimals: 0,
        extract: |s| Some(s.requests.rejected as f64),
    },
    Headline {
        name: "timed_out",
        unit: "requests",
        description: "requests that gave up waiting at the gateway (`requests.timed_out`)",
        better: Better::Lower,
        tolerance: COUNT,
        integer: true,
        decimals: 0,
        extract: |s| Some(s.requests.timed_out as f64),
    },
    Headline {
        name: "failed",
        unit: "requests",
        description: "requests lost while running or never served (`requests.failed`)",
        better: Better::Lower,
        tolerance: COUNT,
        integer: true,
        decimals: 0,
        extract: |s| Some(s.requests.failed as f64),
    },
    Headline {
        name: "queue_p99_ms",
        unit: "ms",
        description: "99th percentile of arrival to first iteration, completed requests (`latency.queue_ms.p99`)",
        better: Better::Lower,
        tolerance: LATENCY,
        integer: false,
        decimals: 1,
        extract: |s| pct(&s.latency.queue_ms, |l| l.p99),
    },
    Headline {
        name: "ttft_p50_ms",
        unit: "ms",
        description: "median time to first token, completed requests (`latency.ttft_ms.p50`)",
        better: Better::Lower,
        tolerance: LATENCY,
        integer: false,
        decimals: 1,
        extract: |s| pct(&s.latency.ttft_ms, |l| l.p50),
    },
    Headline {
        name: "ttft_p95_ms",
        unit: "ms",
        description: "95th percentile time to first token (`latency.ttft_ms.p95`)",
        better: Better::Lower,
        tolerance: LATENCY,
        integer: false,
        decimals: 1,
        extract: |s| pct(&s.latency.ttft_ms, |l| l.p95),
    },
    Headline {
        name: "tpot_p95_ms",
        unit: "ms",
        description: "95th percentile time per output token after the first (`latency.tpot_ms.p95`)",
        better: Better::Lower,
        tolerance: LATENCY,
        integer: false,
        decimals: 2,
        extract: |s| pct(&s.latency.tpot_ms, |l| l.p95),
    },
    Headline {
        name: "e2e_p99_ms",
        unit: "ms",
        description: "99th percentile arrival to last token (`latency.e2e_ms.p99`)",
        better: Better::Lower,
        tolerance: LATENCY,
        integer: false,
        decimals: 1,
        extract: |s| pct(&s.latency.e2e_ms, |l| l.p99),
    },
    Headline {
        name: "gpu_hours_billed",
        unit: "GPU-hours",
        description: "GPU time paid for (`gpu_hours.billed`)",
        better: Better::Lower,
        tolerance: MONEY,
        integer: false,
        decimals: 3,
        extract: |s| Some(s.gpu_hours.billed),
    },
    Headline {
        name: "gpu_hours_idle",
        unit: "GPU-hours",
        description: "billed GPU time not executing iterations (`gpu_hours.idle`)",
        better: Better::Lower,
        // Idle time is a difference of two large figures: allow 1 % of
        // the idle time or 0.01 GPU-hours (36 GPU-seconds).
        tolerance: Tolerance { abs: 0.01, rel: 0.01 },
        integer: false,
        decimals: 3,
        extract: |s| Some(s.gpu_hours.idle),
    },
    Headline {
        name: "cost_usd",
        unit: "USD",
        description: "dollars billed, all pools (`cost.total_usd`; absent without a node pool)",
        better: Better::Lower,
        tolerance: MONEY,
        integer: false,
        decimals: 2,
        extract: |s| s.cost.as_ref().map(|c| c.total_usd),
    },
    Headline {
        name: "usd_per_million_output_tokens",
        unit: "USD",
        description: "dollars per million output tokens of completed requests (`cost.per_million_output_tokens_usd`; absent without a node pool or a completed request)",
        better: Better::Lower,
        tolerance: MONEY,
        integer: false,
        decimals: 2,
        extract: |s| s.cost.as_ref().and_then(|c| c.per_million_output_tokens_usd),
    },
    Headline {
        name: "replicas_started",
        unit: "replicas",
        description: "replicas started during the run, each through a cold start (`fleet.replicas_started`)",
        better: Better::Lower,
        tolerance: Tolerance::EXACT,
        integer: true,
        decimals: 0,
        extract: |s| Some(f64::from(s.fleet.replicas_started)),
    },
    Headline {
        name: "preemptions",
        unit: "preemptions",
        description: "recompute preemptions, all replicas (`fleet.preemptions`)",
        better: Better::Lower,
        tolerance: COUNT,
        integer: true,
        decimals: 0,
        extract: |s| Some(s.fleet.preemptions as f64),
    },
];

/// The headline metrics of `summary`, in [`HEADLINE`] order.
pub fn values(summary: &Summary) -> Vec<Option<f64>> {
    HEADLINE.iter().map(|h| h.value(summary)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_say_their_unit() {
        for (i, h) in HEADLINE.iter().enumerate() {
            assert!(
                HEADLINE[..i].iter().all(|o| o.name != h.name),
                "{} twice",
                h.name
            );
            if h.unit == "ms" {
                assert!(h.name.ends_with("_ms"), "{}", h.name);
            }
            if h.unit == "USD" {
                assert!(h.name.contains("usd"), "{}", h.name);
            }
        }
    }

    #[test]
    fn absent_when_nothing_to_measure() {
        let empty = Summary::default();
        for name in ["ttft_p95_ms", "e2e_p99_ms", "cost_usd"] {
            let h = Headline::by_name(name).unwrap();
            assert_eq!(h.value(&empty), None, "{name}");
        }
        assert_eq!(
            Headline::by_name("completed").unwrap().value(&empty),
            Some(0.0)
        );
    }

    /// `docs/ci.md` lists every metric with its unit, direction and
    /// default tolerance, in this order.
    #[test]
    fn the_documented_table_matches() {
        let doc = include_str!("../../../docs/ci.md");
        let mut at = 0;
        for h in HEADLINE {
            let row = format!(
                "| `{}` | {} | {} | {} |",
                h.name,
                h.unit,
                h.better.name(),
                h.tolerance
            );
            let found = doc[at..].find(&row);
            assert!(found.is_some(), "docs/ci.md lacks (in order) {row}");
            at += found.unwrap_or_default();
        }
    }

    #[test]
    fn tolerance_is_the_larger_allowance() {
        let t = Tolerance { abs: 1.0, rel: 0.1 };
        assert!(t.accepts(100.0, 110.0));
        assert!(!t.accepts(100.0, 110.5));
        assert!(t.accepts(2.0, 3.0));
        assert!(!t.accepts(2.0, 3.01));
        assert!(Tolerance::EXACT.accepts(5.0, 5.0));
        assert!(!Tolerance::EXACT.accepts(5.0, 5.000001));
        assert_eq!(t.to_string(), "±max(1, 10 %)");
        assert_eq!(Tolerance::EXACT.to_string(), "exact");
        let odd = Tolerance {
            abs: 0.0,
            rel: 0.07,
        };
        assert_eq!(odd.to_string(), "±7 %");
    }
}
