//! Running a candidate configuration: the scenario document with the
//! plan's edits (GPU, tensor-parallel degree, the fleet's policy), loaded
//! once per seed and run on every seed with common random numbers (the
//! workload draws from its own streams, so each seed's requests are the
//! same for every candidate). Traces are parsed once for all runs.

use super::{oracle::Step, PlanError, PlanOptions};
use crate::run::{parallel_map, run_shared};
use crate::scenario::{self, edit, Scenario, WorkloadSpec};
use crate::workload::SharedInputs;
use fleetsim_core::cost::HOURS_PER_MONTH;
use fleetsim_core::summary::Summary;
use fleetsim_core::workload::transforms::Transform;
use std::path::PathBuf;
use std::time::Instant;
use toml_edit::{value, Array, DocumentMut, InlineTable, Item, Table};

/// How a candidate's fleet changes over the run.
#[derive(Clone, Debug, PartialEq)]
pub enum FleetPolicy {
    /// `replicas` for the whole run.
    Fixed(u32),
    /// A `scheduled` policy: `initial` ready at 0, then the steps.
    Scheduled {
        /// Replicas ready at time 0.
        initial: u32,
        /// The schedule's entries.
        steps: Vec<Step>,
    },
    /// The scenario's own `[scaling]`, as written.
    AsWritten,
    /// An autoscaler: `initial` replicas at 0, `[scaling]` replaced by
    /// `scaling` (its `kind` and knobs).
    Autoscaler {
        /// Replicas at time 0.
        initial: u32,
        /// The `[scaling]` table.
        scaling: toml::Table,
    },
}

/// One configuration the plan runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// GPU type.
    pub gpu: String,
    /// GPUs per replica.
    pub tensor_parallel: u32,
    /// The fleet's policy.
    pub policy: FleetPolicy,
}

/// A candidate's result over the plan's seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Every seed met every SLA target (with at least one request
    /// completed: a target over nothing is not met).
    pub meets_sla: bool,
    /// Mean over seeds of the billed cost extrapolated to a 730-hour
    /// month (`cost.total_usd` × 730 h ÷ simulated hours, as
    /// `cost.monthly_equation.billed_monthly_usd`), USD.
    pub monthly_usd: f64,
    /// Mean over seeds of the monthly cost equation's total, USD (`None`
    /// when a run has no equation: no window met the TTFT threshold, so
    /// no SLA-feasible concurrency was measured).
    pub equation_monthly_usd: Option<f64>,
    /// Mean SLA attainment over seeds.
    pub sla_attainment: f64,
    /// The largest p95 cold start over seeds, seconds (0 without one).
    pub cold_start_p95_s: f64,
}

/// The scenario as the plan edits and runs it.
#[derive(Debug)]
pub struct Evaluator {
    file: String,
    base_dir: PathBuf,
    /// The scenario file with the user's `--set` applied.
    base: DocumentMut,
    /// The scenario names a `[pool]` or `[[pools]]`; if not, the plan adds
    /// a pool of one replica per node, so every candidate is billed.
    has_pool: bool,
    trace: Option<(PathBuf, bool)>,
    /// The seeds every candidate runs on.
    pub seeds: Vec<u64>,
    shared: SharedInputs,
    jobs: usize,
    /// When the budget is spent (`None`: a budget too long to matter).
    deadline: Option<Instant>,
    /// A probe was refused because the budget was spent.
    pub exhausted: bool,
    /// Simulations run.
    pub runs: u64,
}

impl Evaluator {
    /// Reads the scenario, applies `--set` and checks it loads.
    pub fn new(options: &PlanOptions, start: Instant) -> Result<(Evaluator, Scenario), PlanError> {
        let path = &options.scenario;
        let file = path.display().to_string();
        if options.budget_s.is_nan() || options.budget_s < 0.0 {
            return Err(PlanError::unsupported(
                &file,
                &format!(
                    "the time budget must be a number of seconds >= 0, got {}",
                    options.budget_s
                ),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            PlanError::Scenario(Box::new(scenario::ScenarioError {
                file: file.clone(),
                line: None,
                field: None,
                message: "cannot read".into(),
                cause: Some(std::sync::Arc::new(e)),
            }))
        })?;
        // Errors in the file or the flags, located as `run` locates them.
        let mut loaded = scenario::load_file(path, &options.sets)?;
        let mut base: DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| PlanError::unsupported(&file, e.message().trim()))?;
        edit::apply_sets(&mut base, &options.sets)
            .map_err(|m| PlanError::unsupported(&file, &m))?;
        if let Some(trace) = &options.trace {
            loaded.replace_workload_with_trace(trace, options.sort)?;
        }
        // Whether the file names a pool: a `--set pool.<key>` alone does not,
        // and then only tunes the pool the plan adds.
        let has_pool = (text.parse::<DocumentMut>().ok())
            .is_some_and(|d| d.contains_key("pool") || d.contains_key("pools"));
        let first = loaded.sim.seed;
        let seeds = (0..u64::from(options.seeds.max(1)))
            .map(|i| first.saturating_add(i).min(scenario::MAX_SEED))
            .collect();
        let evaluator = Evaluator {
            base_dir: path.parent().map(PathBuf::from).unwrap_or_default(),
            file,
            base,
            has_pool,
            trace: options.trace.clone().map(|t| (t, options.sort)),
            seeds,
            shared: SharedInputs::new(),
            jobs: options.jobs,
            deadline: std::time::Duration::try_from_secs_f64(options.budget_s)
                .ok()
                .and_then(|d| start.checked_add(d)),
            exhausted: false,
            runs: 0,
        };
        Ok((evaluator, loaded))
    }

    /// Whether the scenario file names its own pool.
    pub fn has_pool(&self) -> bool {
        self.has_pool
    }

    /// The scenario document of `c` ([`edit()`] of the scenario).
    pub fn document(&self, c: &Candidate) -> DocumentMut {
        edit(&self.base, self.has_pool, c)
    }

    /// The scenario's own `[scaling]`: its kind (`fixed` when absent) and
    /// its keys as JSON.
    pub fn own_scaling(&self) -> Option<(String, serde_json::Value)> {
        let whole: toml::Table = toml::from_str(&self.base.to_string()).ok()?;
        let scaling = whole.get("scaling").and_then(toml::Value::as_table);
        let kind = (scaling.and_then(|t| t.get("kind")))
            .and_then(toml::Value::as_str)
            .unwrap_or("fixed");
        let knobs = serde_json::to_value(scaling.cloned().unwrap_or_default()).ok()?;
        Some((kind.to_string(), knobs))
    }

    /// `c` loaded for `seed`, its workload replaced by `--trace`.
    pub fn load(&self, c: &Candidate, seed: u64) -> Result<Scenario, PlanError> {
        let text = self.document(c).to_string();
        let mut s =
            scenario::load_str(&text, &self.file, &self.base_dir, &[format!("seed={seed}")])
                .map_err(|e| PlanError::Candidate {
                    what: describe(c),
                    error: Box::new(e),
                })?;
        if let Some((trace, sort)) = &self.trace {
            s.replace_workload_with_trace(trace, *sort)?;
        }
        Ok(s)
    }

    /// Runs `c` on every seed; `None` once the time budget is spent.
    pub fn evaluate(&mut self, c: &Candidate) -> Result<Option<Evaluation>, PlanError> {
        self.evaluate_until(c, None)
    }

    /// The budget is spent.
    pub fn out_of_time(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// [`Self::evaluate`] on the requests arriving before `horizon_s`
    /// only (a `slice` transform after the workload's own), or all of
    /// them with `None`.
    pub fn evaluate_until(
        &mut self,
        c: &Candidate,
        horizon_s: Option<f64>,
    ) -> Result<Option<Evaluation>, PlanError> {
        if self.out_of_time() {
            self.exhausted = true;
            return Ok(None);
        }
        let mut scenarios = (self.seeds.iter())
            .map(|&seed| self.load(c, seed))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(end_s) = horizon_s {
            for s in &mut scenarios {
                let slice = Transform::Slice {
                    start_s: 0.0,
                    end_s: Some(end_s),
                };
                match &mut s.workload {
                    WorkloadSpec::Synthetic { transforms, .. }
                    | WorkloadSpec::Trace { transforms, .. }
                    | WorkloadSpec::Servegen { transforms, .. } => transforms.push(slice),
                }
            }
        }
        let results = parallel_map(&scenarios, self.jobs, |s| run_shared(s, Some(&self.shared)));
        self.runs += results.len() as u64;
        let mut summaries = Vec::with_capacity(results.len());
        for r in results {
            let r = r.map_err(|error| PlanError::Run {
                what: describe(c),
                error: Box::new(error),
            })?;
            summaries.push(r.summary);
        }
        summarize(&summaries)
            .map(Some)
            .ok_or_else(|| PlanError::NoCost { what: describe(c) })
    }
}

/// `base` with the candidate's GPU, degree and policy (its `[scaling]`
/// replaced whole, but for [`FleetPolicy::AsWritten`]), and a pool of one
/// replica per node unless the scenario `has_pool` (so every run is
/// billed).
pub fn edit(base: &DocumentMut, has_pool: bool, c: &Candidate) -> DocumentMut {
    let mut doc = base.clone();
    if let Some(d) = doc.get_mut("deployment").and_then(Item::as_table_like_mut) {
        d.insert("gpu", value(c.gpu.as_str()));
        d.insert("tensor_parallel", value(i64::from(c.tensor_parallel)));
        match &c.policy {
            FleetPolicy::Fixed(n) => d.insert("replicas", value(i64::from(*n))),
            FleetPolicy::Scheduled { initial, .. } => {
                d.insert("replicas", value(i64::from(*initial)))
            }
            FleetPolicy::Autoscaler { initial, .. } => {
                d.insert("replicas", value(i64::from(*initial)))
            }
            FleetPolicy::AsWritten => None,
        };
    }
    match &c.policy {
        FleetPolicy::Fixed(_) => {
            let mut t = Table::new();
            t.insert("kind", value("fixed"));
            doc.insert("scaling", Item::Table(t));
        }
        FleetPolicy::Scheduled { steps, .. } => {
            let mut schedule = Array::new();
            for s in steps {
                let mut entry = InlineTable::new();
                entry.insert("at_s", s.at_s.into());
                entry.insert("replicas", i64::from(s.replicas).into());
                schedule.push(entry);
            }
            let mut t = Table::new();
            t.insert("kind", value("scheduled"));
            t.insert("schedule", value(schedule));
            doc.insert("scaling", Item::Table(t));
        }
        FleetPolicy::Autoscaler { scaling, .. } => {
            let text = toml::to_string(&toml::Table::from_iter([(
                "scaling".to_string(),
                toml::Value::Table(scaling.clone()),
            )]))
            .unwrap_or_default();
            if let Some(item) =
                (text.parse::<DocumentMut>().ok()).and_then(|mut d| d.remove("scaling"))
            {
                doc.insert("scaling", item);
            }
        }
        FleetPolicy::AsWritten => {}
    }
    if !has_pool {
        // One replica per node, keeping any pool key a `--set` gave.
        let pool = doc
            .entry("pool")
            .or_insert_with(|| Item::Table(Table::new()));
        if let Some(t) = pool.as_table_like_mut() {
            if !t.contains_key("gpus_per_node") {
                t.insert("gpus_per_node", value(i64::from(c.tensor_parallel)));
            }
        }
    }
    doc
}

/// The plan's figures from the summaries of one candidate's seeds; `None`
/// when a run has no monthly cost (it was not billed).
pub fn summarize(summaries: &[Summary]) -> Option<Evaluation> {
    let n = summaries.len().max(1) as f64;
    let mut e = Evaluation {
        meets_sla: !summaries.is_empty(),
        monthly_usd: 0.0,
        equation_monthly_usd: Some(0.0),
        sla_attainment: 0.0,
        cold_start_p95_s: 0.0,
    };
    for s in summaries {
        let cost = s.cost.as_ref()?;
        let hours = s.sim.simulated_s / 3_600.0;
        if hours <= 0.0 {
            return None;
        }
        e.meets_sla &=
            !s.sla.targets.is_empty() && s.sla.all_targets_met && s.requests.completed > 0;
        e.monthly_usd += cost.total_usd * HOURS_PER_MONTH / hours / n;
        e.equation_monthly_usd = (e.equation_monthly_usd)
            .zip(cost.monthly_equation.as_ref())
            .map(|(sum, m)| sum + m.equation_total_usd / n);
        e.sla_attainment += s.sla.attainment / n;
        if let Some(c) = &s.cold_start {
            e.cold_start_p95_s = e.cold_start_p95_s.max(c.p95_s);
        }
    }
    Some(e)
}

/// `h100-sxm TP1, 3 fixed replicas`: a candidate in messages.
pub fn describe(c: &Candidate) -> String {
    let policy = match &c.policy {
        FleetPolicy::Fixed(n) => format!("{n} fixed replica(s)"),
        FleetPolicy::Scheduled { steps, .. } => {
            format!("a schedule of {} entries", steps.len())
        }
        FleetPolicy::AsWritten => "the scenario's [scaling]".to_string(),
        FleetPolicy::Autoscaler { scaling, .. } => format!(
            "`{}` {}",
            scaling
                .get("kind")
                .and_then(toml::Value::as_str)
                .unwrap_or("?"),
            toml::Value::Table(scaling.clone())
        ),
    };
    format!("{} TP{}, {policy}", c.gpu, c.tensor_parallel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::cost::CostReport;
    use fleetsim_core::summary::TargetResult;

    const BASE: &str = r#"[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 1

[scaling]
kind = "hpa"
max_replicas = 8

[scaling.scrape]
interval_s = 15
"#;

    /// `(policy, has_pool)` → the edited document's deployment, scaling
    /// and pool, as TOML values.
    fn check(policy: FleetPolicy, has_pool: bool, expect: &str) {
        let c = Candidate {
            gpu: "h200".into(),
            tensor_parallel: 2,
            policy,
        };
        let doc = edit(&BASE.parse().unwrap(), has_pool, &c);
        let got: toml::Table = toml::from_str(&doc.to_string()).unwrap();
        let expect: toml::Table = toml::from_str(expect).unwrap();
        assert_eq!(got, expect, "{c:?} has_pool {has_pool}:\n{doc}");
    }

    #[test]
    fn candidates_edit_the_deployment_replace_the_scaling_and_add_a_pool() {
        let deployment =
            "[deployment]\nmodel = \"llama-3.1-8b\"\ngpu = \"h200\"\ntensor_parallel = 2\n";
        // A fixed fleet drops the autoscaler's knobs and sub-tables.
        check(
            FleetPolicy::Fixed(4),
            false,
            &format!("{deployment}replicas = 4\n[scaling]\nkind = \"fixed\"\n[pool]\ngpus_per_node = 2\n"),
        );
        // A pool key set on the command line joins the plan's pool, which
        // still holds one replica per node.
        let mut with_set: DocumentMut = BASE.parse().unwrap();
        crate::scenario::edit::apply_sets(&mut with_set, &["pool.idle_release_delay_s=60".into()])
            .unwrap();
        let c = Candidate {
            gpu: "h200".into(),
            tensor_parallel: 2,
            policy: FleetPolicy::Fixed(4),
        };
        let got: toml::Table = toml::from_str(&edit(&with_set, false, &c).to_string()).unwrap();
        let expect: toml::Table =
            toml::from_str("gpus_per_node = 2\nidle_release_delay_s = 60\n").unwrap();
        assert_eq!(got["pool"].as_table(), Some(&expect));
        // A scenario's own pool is kept as it is.
        check(
            FleetPolicy::Fixed(4),
            true,
            &format!("{deployment}replicas = 4\n[scaling]\nkind = \"fixed\"\n"),
        );
        check(
            FleetPolicy::Scheduled {
                initial: 0,
                steps: vec![
                    Step {
                        at_s: 0.0,
                        replicas: 1,
                    },
                    Step {
                        at_s: 90.0,
                        replicas: 3,
                    },
                ],
            },
            true,
            &format!(
                "{deployment}replicas = 0\n[scaling]\nkind = \"scheduled\"\n\
                 schedule = [{{ at_s = 0.0, replicas = 1 }}, {{ at_s = 90.0, replicas = 3 }}]\n"
            ),
        );
        // As written: only the shape changes.
        check(
            FleetPolicy::AsWritten,
            true,
            &format!("{deployment}replicas = 1\n[scaling]\nkind = \"hpa\"\nmax_replicas = 8\n[scaling.scrape]\ninterval_s = 15\n"),
        );
    }

    /// A billed run of half an hour (1,800 s) that
    /// cost `usd` and met its one target or not.
    fn summary(usd: f64, met: bool, completed: u64) -> Summary {
        let mut s = Summary::default();
        s.sim.simulated_s = 1_800.0;
        s.requests.completed = completed;
        s.sla.targets = vec![TargetResult {
            met,
            ..serde_json::from_str(
                r#"{"metric":"ttft_ms","percentile":95.0,"max_ms":300.0,"actual_ms":null,"met":false,"reason":null}"#,
            )
            .unwrap()
        }];
        s.sla.all_targets_met = met;
        s.sla.attainment = if met { 1.0 } else { 0.5 };
        s.cost = Some(CostReport {
            total_usd: usd,
            ..CostReport::default()
        });
        s
    }

    #[test]
    fn seeds_are_averaged_and_all_must_meet_the_sla() {
        let e = summarize(&[summary(1.0, true, 10), summary(3.0, true, 10)]).unwrap();
        // $2 per half hour is $2,920 a month.
        assert!((e.monthly_usd - 2_920.0).abs() < 1e-9, "{e:?}");
        assert!(e.meets_sla);
        assert_eq!(e.equation_monthly_usd, None, "no run had the equation");
        let e = summarize(&[summary(1.0, true, 10), summary(1.0, false, 10)]).unwrap();
        assert!(!e.meets_sla && (e.sla_attainment - 0.75).abs() < 1e-12);
        // A target "met" over zero completed requests is not met.
        assert!(!summarize(&[summary(1.0, true, 0)]).unwrap().meets_sla);
        // Nothing to average, or a run without cost: no evaluation.
        assert!(!summarize(&[]).unwrap().meets_sla);
        let mut unbilled = summary(1.0, true, 10);
        unbilled.cost = None;
        assert_eq!(summarize(&[unbilled]), None);
    }
}
