//! `fleetsim compare A.toml B.toml --seeds K`: a paired comparison of two
//! scenarios over K seeds with common random numbers.
//!
//! Seeds: `s0, s0 + 1, …, s0 + K − 1`, where `s0` is `--first-seed` or
//! else scenario A's `seed` (after `--set`). Both scenarios run with every
//! seed, each loaded as if with `--set seed=s` (so `fleetsim run B.toml
//! --seed s` reproduces any single run); B's own `seed` key is not used.
//! The workload draws only from `workload.*` streams, so two scenarios
//! with the same workload section see the same requests under the same
//! seed: the per-seed difference B − A is free of the workload's noise,
//! which is what makes the paired interval narrow.
//!
//! For each headline metric ([`crate::headline::HEADLINE`]) it reports the
//! mean of A and of B and the mean paired difference B − A with a 95 %
//! Student-t confidence interval over the seeds (`K − 1` degrees of
//! freedom; none with one seed). Means and differences are over the seeds
//! where the metric is present in both runs.

use crate::headline::{Better, Headline, HEADLINE};
use crate::run::{self, RunError};
use crate::scenario::{self, Scenario, ScenarioError};
use fleetsim_core::special::t_quantile;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Confidence level of every interval `compare` prints.
pub const CONFIDENCE: f64 = 0.95;

/// What to compare: the resolved options of `fleetsim compare`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompareOptions {
    /// Scenario A (TOML), the reference.
    pub a: PathBuf,
    /// Scenario B (TOML); differences are B − A.
    pub b: PathBuf,
    /// Number of seeds (at least 1); both scenarios run once per seed.
    pub seeds: u64,
    /// First seed (`None`: scenario A's `seed`).
    pub first_seed: Option<u64>,
    /// `KEY=VALUE` overrides of both scenarios.
    pub sets: Vec<String>,
    /// Overrides of scenario A only, applied after `sets`.
    pub sets_a: Vec<String>,
    /// Overrides of scenario B only, applied after `sets`.
    pub sets_b: Vec<String>,
    /// Runs at once (0: one per core). Results do not depend on it.
    pub jobs: usize,
}

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// A scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A run stopped.
    #[error("{path} with seed {seed}: {error}")]
    Run {
        /// The scenario file.
        path: String,
        /// The seed of the failed run.
        seed: u64,
        /// What stopped it.
        error: Box<RunError>,
    },
    /// No seeds were asked for.
    #[error("a comparison needs at least one seed")]
    NoSeeds,
    /// The seeds would go past [`crate::scenario::MAX_SEED`].
    #[error("--seeds {count} from seed {first} goes past the largest seed (2^63 − 1)")]
    SeedOverflow {
        /// First seed.
        first: u64,
        /// Number of seeds.
        count: u64,
    },
}

/// A two-sided confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// Whether 0 lies outside the interval.
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }

    /// `high − low`.
    pub fn width(&self) -> f64 {
        self.high - self.low
    }
}

/// Paired statistics of two samples of equal length.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Paired {
    /// Pairs.
    pub n: usize,
    /// Mean of A.
    pub mean_a: f64,
    /// Mean of B.
    pub mean_b: f64,
    /// Mean of the differences B − A.
    pub mean_diff: f64,
    /// Sample standard deviation of the differences (`None` with one pair).
    pub sd_diff: Option<f64>,
    /// Confidence interval of the mean difference (`None` with one pair).
    pub ci: Option<Interval>,
}

/// Paired statistics of `a` and `b` (`None` when empty or of different
/// lengths): the mean difference `d̄ = mean(b − a)` and the interval
/// `d̄ ± t(1 − α/2, n − 1) · s_d / √n` at `confidence = 1 − α`.
pub fn paired(a: &[f64], b: &[f64], confidence: f64) -> Option<Paired> {
    if a.is_empty() || a.len() != b.len() {
        return None;
    }
    let n = a.len();
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let mean_diff = mean(&diffs);
    let sd_diff = sample_variance(&diffs).map(f64::sqrt);
    let ci = sd_diff.map(|sd| {
        let half = t_quantile(0.5 + confidence / 2.0, (n - 1) as f64) * sd / (n as f64).sqrt();
        Interval {
            low: mean_diff - half,
            high: mean_diff + half,
        }
    });
    Some(Paired {
        n,
        mean_a: mean(a),
        mean_b: mean(b),
        mean_diff,
        sd_diff,
        ci,
    })
}

/// The unpaired (Welch) interval of `mean(b) − mean(a)`, treating the
/// samples as independent: what the comparison would give without common
/// random numbers. `None` unless both samples have at least two values.
pub fn welch(a: &[f64], b: &[f64], confidence: f64) -> Option<Interval> {
    let (va, vb) = (sample_variance(a)?, sample_variance(b)?);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (qa, qb) = (va / na, vb / nb);
    let diff = mean(b) - mean(a);
    let se = (qa + qb).sqrt();
    if se == 0.0 {
        return Some(Interval {
            low: diff,
            high: diff,
        });
    }
    // Welch–Satterthwaite degrees of freedom.
    let df = (qa + qb).powi(2) / (qa * qa / (na - 1.0) + qb * qb / (nb - 1.0));
    let half = t_quantile(0.5 + confidence / 2.0, df) * se;
    Some(Interval {
        low: diff - half,
        high: diff + half,
    })
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample variance (`n − 1` in the denominator); `None` below two values.
fn sample_variance(x: &[f64]) -> Option<f64> {
    if x.len() < 2 {
        return None;
    }
    let m = mean(x);
    Some(x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64)
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Side {
    /// The scenario file as given.
    pub path: String,
    /// The scenario's `name`.
    pub name: String,
    /// `--set` flags applied to it (common ones first).
    pub sets: Vec<String>,
}

/// One headline metric compared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricComparison {
    /// The metric's name.
    pub metric: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Which direction is better.
    pub better: Better,
    /// A's value per seed (`None` where absent).
    pub a: Vec<Option<f64>>,
    /// B's value per seed.
    pub b: Vec<Option<f64>>,
    /// Statistics over the seeds where both are present (`None` if none).
    pub paired: Option<Paired>,
}

impl MetricComparison {
    /// What the interval says: `B better`, `B worse`, `no clear
    /// difference`, `identical` (every pair equal), or why there is no
    /// answer.
    pub fn verdict(&self) -> &'static str {
        let Some(p) = &self.paired else {
            return "absent";
        };
        // Every pair equal (with one seed, the one pair).
        if p.mean_diff == 0.0 && p.sd_diff.unwrap_or(0.0) == 0.0 {
            return "identical";
        }
        match p.ci {
            None => "no CI (1 seed)",
            Some(ci) if !ci.excludes_zero() => "no clear difference",
            Some(_) => match (self.better, p.mean_diff > 0.0) {
                (Better::Higher, true) | (Better::Lower, false) => "B better",
                _ => "B worse",
            },
        }
    }
}

/// A paired comparison of two scenarios.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// Scenario A.
    pub a: Side,
    /// Scenario B.
    pub b: Side,
    /// The seeds, in order; both scenarios ran with each.
    pub seeds: Vec<u64>,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// One entry per headline metric, in [`HEADLINE`] order.
    pub metrics: Vec<MetricComparison>,
    /// Distinct warnings of the runs, with their scenario file.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// What one run yields: its headline values and warnings.
type RunValues = (Vec<Option<f64>>, Vec<String>);

/// Runs `a` and `b` with every seed (`--set` flags `sets_a` / `sets_b`
/// each) on up to `jobs` threads and compares their headline metrics.
pub fn compare(a: &Side, b: &Side, seeds: &[u64], jobs: usize) -> Result<Comparison, CompareError> {
    compare_with(a, b, seeds, jobs, |_, side, seed| {
        let mut sets = side.sets.clone();
        sets.push(format!("seed={seed}"));
        Ok(scenario::load_file(
            std::path::Path::new(&side.path),
            &sets,
        )?)
    })
}

/// [`compare`] on two loaded scenarios (`jobs` 0: one thread per core):
/// each runs with `seed` set to every seed in turn.
pub fn compare_scenarios(
    a: &Scenario,
    b: &Scenario,
    seeds: &[u64],
    jobs: usize,
) -> Result<Comparison, CompareError> {
    let side = |s: &Scenario| Side {
        path: s.origin().to_string(),
        name: s.name.clone(),
        sets: s.overrides().to_vec(),
    };
    let (side_a, side_b) = (side(a), side(b));
    compare_with(&side_a, &side_b, seeds, jobs, |is_b, _, seed| {
        Ok(if is_b { b } else { a }.with("seed", seed)?)
    })
}

/// The shared mechanism: `load(is_b, side, seed)` gives the scenario to
/// run.
fn compare_with(
    a: &Side,
    b: &Side,
    seeds: &[u64],
    jobs: usize,
    load: impl Fn(bool, &Side, u64) -> Result<Scenario, CompareError> + Sync,
) -> Result<Comparison, CompareError> {
    let tasks: Vec<(bool, &Side, u64)> = (seeds.iter())
        .flat_map(|&s| [(false, a, s), (true, b, s)])
        .collect();
    let results = run::parallel_map(
        &tasks,
        jobs,
        |&(is_b, side, seed)| -> Result<RunValues, CompareError> {
            let scenario = load(is_b, side, seed)?;
            let result = run::run(&scenario).map_err(|error| CompareError::Run {
                path: side.path.clone(),
                seed,
                error: Box::new(error),
            })?;
            Ok((crate::headline::values(&result.summary), result.warnings))
        },
    );
    let mut per_run = Vec::with_capacity(results.len());
    let mut warnings: Vec<String> = Vec::new();
    for ((_, side, _), r) in tasks.iter().zip(results) {
        let (values, ws) = r?;
        for w in ws {
            let w = format!("{}: {w}", side.path);
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        per_run.push(values);
    }
    // per_run alternates A, B for each seed.
    let metrics = (HEADLINE.iter().enumerate())
        .map(|(m, h)| {
            let a_values: Vec<Option<f64>> = per_run.iter().step_by(2).map(|v| v[m]).collect();
            let b_values: Vec<Option<f64>> =
                per_run.iter().skip(1).step_by(2).map(|v| v[m]).collect();
            let (pa, pb): (Vec<f64>, Vec<f64>) = (a_values.iter().zip(&b_values))
                .filter_map(|(x, y)| Some(((*x)?, (*y)?)))
                .unzip();
            MetricComparison {
                metric: h.name,
                unit: h.unit,
                better: h.better,
                paired: paired(&pa, &pb, CONFIDENCE),
                a: a_values,
                b: b_values,
            }
        })
        .collect();
    Ok(Comparison {
        a: a.clone(),
        b: b.clone(),
        seeds: seeds.to_vec(),
        confidence: CONFIDENCE,
        metrics,
        warnings,
    })
}

impl Comparison {
    /// The comparison as a terminal table.
    pub fn render_table(&self) -> String {
        let mut out = String::new();
        for (label, side) in [("A", &self.a), ("B", &self.b)] {
            let sets: String = side.sets.iter().map(|s| format!(" --set {s}")).collect();
            let _ = writeln!(out, "{label}: {} ({}){sets}", side.path, side.name);
        }
        let k = self.seeds.len();
        let seeds = match (self.seeds.first(), self.seeds.last()) {
            (Some(f), Some(l)) if k > 1 => format!("seeds {f}..={l}"),
            (Some(f), _) => format!("seed {f}"),
            _ => "no seeds".to_string(),
        };
        let runs = if k == 1 { "run" } else { "runs" };
        let _ = writeln!(
            out,
            "{seeds} ({k} paired {runs}: A and B share each seed, so they see the same requests)"
        );
        let ci_head = format!("{:.0} % CI of B − A", self.confidence * 100.0);
        let _ = writeln!(
            out,
            "{:<30} {:>6} {:>12} {:>12} {:>12}  {:<27} verdict",
            "metric", "better", "mean A", "mean B", "B − A", ci_head
        );
        for (m, h) in self.metrics.iter().zip(HEADLINE) {
            let (ma, mb, d, ci) = match &m.paired {
                Some(p) => (
                    h.format(Some(p.mean_a)),
                    h.format(Some(p.mean_b)),
                    signed(h, p.mean_diff),
                    match p.ci {
                        Some(ci) => format!("[{}, {}]", signed(h, ci.low), signed(h, ci.high)),
                        None => "n/a".to_string(),
                    },
                ),
                None => ("-".into(), "-".into(), "-".into(), "-".into()),
            };
            let partial = match &m.paired {
                Some(p) if p.n < k => format!(" ({} of {k} seeds)", p.n),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "{:<30} {:>6} {ma:>12} {mb:>12} {d:>12}  {ci:<27} {}{partial}",
                h.name,
                h.better.name(),
                m.verdict()
            );
        }
        if k == 1 {
            let _ = writeln!(
                out,
                "one seed: no confidence interval (it needs at least 2 seeds, --seeds K)"
            );
        }
        out
    }

    /// The comparison as pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }
}

/// `value` with an explicit sign and the metric's decimals; a mean
/// difference of counts gets one decimal, as it need not be whole.
fn signed(h: &Headline, value: f64) -> String {
    let decimals = if h.integer { 1 } else { h.decimals };
    format!("{value:+.*}", decimals)
}

/// `fleetsim compare`: loads both scenarios (so a bad file or override
/// fails before any run), runs them on the seeds of `options` and compares
/// them. The runs' warnings are in [`Comparison::warnings`].
pub fn compare_files(options: &CompareOptions) -> Result<Comparison, CompareError> {
    // The seed of A is the default first seed.
    let side = |path: &PathBuf, own: &[String]| -> Result<(Side, u64), CompareError> {
        let sets: Vec<String> = options.sets.iter().chain(own).cloned().collect();
        let s = scenario::load_file(path, &sets)?;
        let side = Side {
            path: path.display().to_string(),
            name: s.name,
            sets,
        };
        Ok((side, s.sim.seed))
    };
    let (a, seed_a) = side(&options.a, &options.sets_a)?;
    let (b, _) = side(&options.b, &options.sets_b)?;
    let first = options.first_seed.unwrap_or(seed_a);
    let overflow = CompareError::SeedOverflow {
        first,
        count: options.seeds,
    };
    let span = options.seeds.checked_sub(1).ok_or(CompareError::NoSeeds)?;
    let last = (first.checked_add(span))
        .filter(|&l| l <= crate::scenario::MAX_SEED)
        .ok_or(overflow)?;
    let seeds: Vec<u64> = (first..=last).collect();
    compare(&a, &b, &seeds, options.jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pair_has_no_interval_and_mismatched_samples_none() {
        let p = paired(&[1.0], &[3.0], CONFIDENCE).unwrap();
        assert_eq!((p.n, p.mean_diff, p.ci), (1, 2.0, None));
        assert_eq!(paired(&[1.0, 2.0], &[1.0], CONFIDENCE), None);
        assert_eq!(paired(&[], &[], CONFIDENCE), None);
        assert_eq!(welch(&[1.0], &[1.0, 2.0], CONFIDENCE), None);
    }
}
