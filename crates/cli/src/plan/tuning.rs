//! Tuning an autoscaler's knobs: the cheapest setting of one kind that
//! meets every SLA target, found within the time budget.
//!
//! The knobs that matter for cost and latency (a per-replica target, the
//! averaging window, the scale-down delay, …; [`space`]) are drawn at
//! random in a box around the fleet the plan found ([`Context`]), from a
//! stream seeded by the scenario's seed and the kind, so a plan is a
//! function of its input. Successive halving: every draw, and the kind's
//! defaults, run on the first quarter of the workload; the best third
//! ([`rank`]: meeting the SLA first, then cheaper; of those missing it,
//! the higher attainment) run on the first half; the best third of those
//! on the whole workload. The defaults always run on the whole workload
//! too, as the reference the answer is compared with. Then a local
//! refinement around the best drawn setting: each knob one step
//! (an eighth of its range) down and up, a move kept when it ranks better.
//! Every run uses the plan's seeds, the same for every setting (common
//! random numbers). Settings that meet the SLA at the best cost are ties;
//! the knobs whose values differ among them are named as not mattering.

use super::evaluate::Evaluation;
use fleetsim_core::rng;
use rand::Rng;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Random settings drawn per kind (the defaults run besides).
pub const DRAWS: usize = 9;
/// The shorter horizons of successive halving, fractions of the workload.
pub const RUNGS: [f64; 2] = [0.25, 0.5];
/// A refinement step, a fraction of a knob's range.
pub const REFINE_STEP: f64 = 0.125;

/// What the plan knows when it tunes.
#[derive(Clone, Debug, PartialEq)]
pub struct Context {
    /// Replicas at time 0 (the oracle's first entry).
    pub initial: u32,
    /// The most replicas a policy may ask for.
    pub max_replicas: u32,
    /// Requests per second one replica carried within the SLA.
    pub capacity_per_s: f64,
    /// Requests one replica holds at once (Little's law's concurrency).
    pub concurrency: f64,
    /// The cold start the oracle measured, seconds.
    pub lead_s: f64,
}

/// One knob's range.
#[derive(Clone, Debug, PartialEq)]
pub enum Dim {
    /// Whole numbers in `lo..=hi`.
    Int(&'static str, i64, i64),
    /// Reals in `[lo, hi]`; drawn on a log scale when `log`.
    Float(&'static str, f64, f64, bool),
    /// `true` or `false`.
    Bool(&'static str),
    /// One of the values.
    Choice(&'static str, &'static [i64]),
}

impl Dim {
    fn key(&self) -> &'static str {
        match self {
            Dim::Int(k, ..) | Dim::Float(k, ..) | Dim::Bool(k) | Dim::Choice(k, _) => k,
        }
    }

    /// The value at `u` in [0, 1].
    fn value(&self, u: f64) -> toml::Value {
        let u = u.clamp(0.0, 1.0);
        match *self {
            Dim::Int(_, lo, hi) => toml::Value::Integer(lo + ((hi - lo) as f64 * u).round() as i64),
            Dim::Float(_, lo, hi, log) => {
                let v = match log {
                    true => lo * (hi / lo).powf(u),
                    false => lo + (hi - lo) * u,
                };
                // Four significant digits: a knob a person would write.
                toml::Value::Float(format!("{v:.3e}").parse().unwrap_or(v))
            }
            Dim::Bool(_) => toml::Value::Boolean(u >= 0.5),
            Dim::Choice(_, values) => {
                let i = ((values.len() as f64 * u).floor() as usize).min(values.len() - 1);
                toml::Value::Integer(values[i])
            }
        }
    }
}

/// A kind's knobs: the fixed part of its `[scaling]` table and the
/// ranges searched.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    /// `kind` and the knobs held fixed.
    pub base: toml::Table,
    /// The knobs searched.
    pub dims: Vec<Dim>,
}

/// Sets `path` (`a.0.b`: table keys and array indices) in `t`.
fn set_path(t: &mut toml::Table, path: &str, v: toml::Value) {
    let mut parts = path.split('.');
    let Some(first) = parts.next() else { return };
    let mut cur: &mut toml::Value = match t.get_mut(first) {
        Some(c) => c,
        None => {
            t.insert(first.to_string(), v);
            return;
        }
    };
    for p in parts {
        let next = match cur {
            toml::Value::Table(t) => {
                if !t.contains_key(p) {
                    t.insert(p.to_string(), toml::Value::Boolean(false));
                }
                t.get_mut(p)
            }
            toml::Value::Array(a) => p.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        };
        let Some(n) = next else { return };
        cur = n;
    }
    *cur = v;
}

impl Space {
    /// The `[scaling]` table at `point` (one coordinate in [0, 1] per dim).
    pub fn table(&self, point: &[f64]) -> toml::Table {
        let mut t = self.base.clone();
        for (d, &u) in self.dims.iter().zip(point) {
            set_path(&mut t, d.key(), d.value(u));
        }
        t
    }
}

/// The kinds [`space`] knows.
pub const TUNABLE: [&str; 12] = [
    "concurrency",
    "hpa",
    "kpa",
    "keda",
    "predictive",
    "queue_depth",
    "kv_cache",
    "gpu_utilization",
    "ray_serve",
    "aibrix_apa",
    "aibrix_kpa",
    "llmd_wva",
];

/// The knobs searched for `kind`, or `None` when it is not tunable.
pub fn space(kind: &str, c: &Context) -> Option<Space> {
    let mut base = toml::Table::new();
    base.insert("kind".into(), kind.into());
    base.insert("min_replicas".into(), 1.into());
    base.insert("max_replicas".into(), i64::from(c.max_replicas).into());
    let conc = c.concurrency.max(1.0);
    let per_replica = Dim::Float("", (conc / 16.0).max(1.0), conc.max(2.0), true);
    let with_key = |k: &'static str| match per_replica {
        Dim::Float(_, lo, hi, log) => Dim::Float(k, lo, hi, log),
        ref d => d.clone(),
    };
    let window = Dim::Int("window_s", 10, 600);
    let delay = Dim::Int("scale_down_delay_s", 0, 1800);
    let dims = match kind {
        "concurrency" => vec![
            with_key("target_concurrency_per_replica"),
            window,
            delay,
            Dim::Float("target_utilization", 0.5, 1.0, false),
        ],
        "hpa" => {
            let metric: toml::Table =
                toml::from_str("metric = \"num_requests_running\"\ntarget_average_value = 1.0")
                    .ok()?;
            base.insert("metrics".into(), vec![toml::Value::Table(metric)].into());
            vec![
                with_key("metrics.0.target_average_value"),
                Dim::Int("downscale_stabilization_s", 0, 1800),
            ]
        }
        "kpa" => vec![
            with_key("target"),
            Dim::Float("target_utilization_percentage", 50.0, 100.0, false),
            Dim::Int("stable_window_s", 10, 600),
            delay,
        ],
        "keda" => {
            base.insert("trigger_metric".into(), "num_requests_waiting".into());
            vec![
                Dim::Float("threshold", 1.0, 64.0, true),
                Dim::Int("cooldown_period_s", 0, 1800),
                Dim::Int("polling_interval_s", 5, 60),
            ]
        }
        "predictive" => vec![
            Dim::Float(
                "target_rate_per_replica_rps",
                0.5 * c.capacity_per_s,
                c.capacity_per_s,
                false,
            ),
            Dim::Float("lead_s", 0.0, (2.0 * c.lead_s).clamp(60.0, 86_400.0), false),
            Dim::Choice("bucket_s", &[60, 300, 900]),
            Dim::Float("alpha", 0.05, 0.8, false),
            Dim::Float("gamma_daily", 0.05, 0.8, false),
            Dim::Bool("reactive_floor"),
        ],
        "ray_serve" => vec![
            with_key("target_ongoing_requests"),
            Dim::Int("upscale_delay_s", 0, 120),
            Dim::Int("downscale_delay_s", 0, 1800),
            Dim::Int("look_back_period_s", 5, 120),
        ],
        // Both strategies on requests running per pod, the signal the
        // other concurrency-driven kinds read; KPA adds its panic mode.
        "aibrix_apa" | "aibrix_kpa" => {
            base.insert("target_metric".into(), "num_requests_running".into());
            let mut dims = vec![
                with_key("target_value"),
                Dim::Int("observe_window_s", 60, 600),
                Dim::Int("scale_down_cooldown_window_s", 0, 1800),
                Dim::Float("max_scale_up_rate", 1.0, 4.0, false),
            ];
            if kind == "aibrix_kpa" {
                dims.push(Dim::Float("panic_threshold", 1.1, 4.0, false));
            }
            dims
        }
        // The spare triggers' boxes sit below their thresholds' boxes, so
        // every draw is valid (a trigger may not exceed its threshold).
        "llmd_wva" => vec![
            Dim::Float("kv_cache_threshold", 0.4, 1.0, false),
            Dim::Float("kv_spare_trigger", 0.0, 0.4, false),
            Dim::Float("queue_length_threshold", 4.0, 64.0, true),
            Dim::Float("queue_spare_trigger", 0.0, 4.0, false),
            Dim::Choice("reconcile_interval_s", &[15, 30, 60]),
        ],
        "queue_depth" => vec![
            Dim::Float("target_waiting_per_replica", 1.0, 64.0, true),
            window,
            delay,
        ],
        "kv_cache" => vec![
            Dim::Float("target_kv_cache_usage", 0.3, 1.0, false),
            window,
            delay,
        ],
        "gpu_utilization" => vec![
            Dim::Float("target_gpu_busy_fraction", 0.3, 1.0, false),
            window,
            delay,
        ],
        _ => return None,
    };
    Some(Space { base, dims })
}

/// `a` before `b`: meeting the SLA first; then the cheaper; of two
/// missing it, the higher attainment, then the cheaper.
pub fn rank(a: &Evaluation, b: &Evaluation) -> Ordering {
    b.meets_sla
        .cmp(&a.meets_sla)
        .then_with(|| match a.meets_sla {
            true => a.monthly_usd.total_cmp(&b.monthly_usd),
            false => (b.sla_attainment.total_cmp(&a.sla_attainment))
                .then(a.monthly_usd.total_cmp(&b.monthly_usd)),
        })
}

/// One setting run on the whole workload.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trial {
    /// The `[scaling]` table, as JSON.
    pub knobs: serde_json::Value,
    /// Met every target on every seed.
    pub meets_sla: bool,
    /// Billed cost extrapolated to a month, USD.
    pub monthly_usd: f64,
    /// The monthly cost equation's total, USD (`null`: not measured).
    pub equation_monthly_usd: Option<f64>,
    /// Mean SLA attainment over seeds.
    pub sla_attainment: f64,
    /// How it was found: `defaults`, `draw`, `refined`.
    pub found_by: &'static str,
}

/// The search's answer for one kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tuned {
    /// The autoscaler kind.
    pub kind: String,
    /// The best setting (cheapest meeting the SLA, else the best ranked);
    /// `null` when the budget allowed no whole run.
    pub best: Option<Trial>,
    /// The kind's defaults (with the plan's replica bounds) on the whole
    /// workload.
    pub defaults: Option<Trial>,
    /// Other settings meeting the SLA at the best's cost.
    pub ties: Vec<serde_json::Value>,
    /// Knobs whose values differ among the tied settings.
    pub knobs_that_do_not_matter: Vec<String>,
    /// Runs by horizon: (fraction of the workload, settings run).
    pub runs_by_horizon: Vec<(f64, usize)>,
    /// Every step ran (the budget did not cut it short).
    pub complete: bool,
    /// Whole-workload runs, in order.
    pub trials: Vec<Trial>,
}

/// Evaluates a `[scaling]` table on the workload up to a fraction of it
/// (`None`: all); `Ok(None)` once the budget is spent.
pub type Probe<'a, E> = dyn FnMut(&toml::Table, Option<f64>) -> Result<Option<Evaluation>, E> + 'a;

fn key(t: &toml::Table) -> String {
    toml::to_string(t).unwrap_or_default()
}

fn trial(t: &toml::Table, e: &Evaluation, found_by: &'static str) -> Trial {
    Trial {
        knobs: serde_json::to_value(t).unwrap_or_default(),
        meets_sla: e.meets_sla,
        monthly_usd: e.monthly_usd,
        equation_monthly_usd: e.equation_monthly_usd,
        sla_attainment: e.sla_attainment,
        found_by,
    }
}

/// Searches `space` (see the module docs); `defaults` is the kind's
/// `[scaling]` table to compare with, `seed` seeds the draws.
pub fn search<E>(
    kind: &str,
    space: &Space,
    defaults: &toml::Table,
    seed: u64,
    probe: &mut Probe<'_, E>,
) -> Result<Tuned, E> {
    let mut draws = rng::stream(seed, &format!("plan.tune.{kind}"), 0);
    // (point, table); the defaults have no point.
    let mut alive: Vec<(Option<Vec<f64>>, toml::Table)> = vec![(None, defaults.clone())];
    for _ in 0..DRAWS {
        let point: Vec<f64> = space.dims.iter().map(|_| draws.random::<f64>()).collect();
        let t = space.table(&point);
        if alive.iter().all(|(_, a)| key(a) != key(&t)) {
            alive.push((Some(point), t));
        }
    }
    let mut out = Tuned {
        kind: kind.to_string(),
        best: None,
        defaults: None,
        ties: Vec::new(),
        knobs_that_do_not_matter: Vec::new(),
        runs_by_horizon: Vec::new(),
        complete: false,
        trials: Vec::new(),
    };
    for fraction in RUNGS {
        let mut scored = Vec::new();
        for (i, (_, t)) in alive.iter().enumerate() {
            match probe(t, Some(fraction))? {
                Some(e) => scored.push((i, e)),
                None => return Ok(finish(out)),
            }
        }
        out.runs_by_horizon.push((fraction, scored.len()));
        scored.sort_by(|(i, a), (j, b)| rank(a, b).then(i.cmp(j)));
        let keep = alive.len().div_ceil(3).max(2);
        let mut kept: Vec<usize> = scored.iter().take(keep).map(|(i, _)| *i).collect();
        if !kept.contains(&0) {
            kept.push(0); // the defaults run to the end
        }
        kept.sort_unstable();
        alive = kept.into_iter().map(|i| alive[i].clone()).collect();
    }
    let mut full: Vec<(Option<Vec<f64>>, toml::Table, Evaluation)> = Vec::new();
    for (point, t) in &alive {
        let Some(e) = probe(t, None)? else {
            return Ok(finish(out));
        };
        let by = if point.is_none() { "defaults" } else { "draw" };
        out.trials.push(trial(t, &e, by));
        if point.is_none() {
            out.defaults = Some(trial(t, &e, by));
        }
        full.push((point.clone(), t.clone(), e));
    }
    out.runs_by_horizon.push((1.0, full.len()));
    // Refinement around the best drawn setting.
    let best_drawn = (full.iter())
        .filter(|(p, ..)| p.is_some())
        .min_by(|a, b| rank(&a.2, &b.2))
        .cloned();
    if let Some((Some(mut point), _, mut best)) = best_drawn {
        for d in 0..space.dims.len() {
            for dir in [-1.0, 1.0] {
                let mut p = point.clone();
                p[d] = (p[d] + dir * REFINE_STEP).clamp(0.0, 1.0);
                let t = space.table(&p);
                if full.iter().any(|(_, f, _)| key(f) == key(&t)) {
                    continue;
                }
                let Some(e) = probe(&t, None)? else {
                    return Ok(finish(out));
                };
                out.trials.push(trial(&t, &e, "refined"));
                full.push((Some(p.clone()), t, e.clone()));
                if rank(&e, &best) == Ordering::Less {
                    (point, best) = (p, e);
                }
            }
        }
    }
    out.complete = true;
    Ok(finish(out))
}

/// The best of the whole-workload trials, its ties and the knobs that do
/// not matter among them.
fn finish(mut out: Tuned) -> Tuned {
    let best = (out.trials.iter()).min_by(|a, b| {
        b.meets_sla.cmp(&a.meets_sla).then(match a.meets_sla {
            true => a.monthly_usd.total_cmp(&b.monthly_usd),
            false => b.sla_attainment.total_cmp(&a.sla_attainment),
        })
    });
    let Some(best) = best.cloned() else {
        return out;
    };
    if best.meets_sla {
        let same = |t: &&Trial| {
            t.meets_sla && (t.monthly_usd - best.monthly_usd).abs() <= 1e-9 * best.monthly_usd.abs()
        };
        let tied: Vec<&Trial> = out.trials.iter().filter(same).collect();
        out.ties = (tied.iter())
            .filter(|t| t.knobs != best.knobs)
            .map(|t| t.knobs.clone())
            .collect();
        let mut differ: BTreeMap<String, ()> = BTreeMap::new();
        for t in &tied {
            if let (Some(a), Some(b)) = (t.knobs.as_object(), best.knobs.as_object()) {
                for (k, v) in a {
                    if b.get(k) != Some(v) {
                        differ.insert(k.clone(), ());
                    }
                }
            }
        }
        out.knobs_that_do_not_matter = differ.into_keys().collect();
    }
    out.best = Some(best);
    out
}

#[cfg(test)]
#[path = "tuning_tests.rs"]
mod tests;
