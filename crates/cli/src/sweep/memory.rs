//! A sweep kept in memory, for notebooks and other library callers: no
//! results directory, the rows and the averaged candidates returned as a
//! value that prints as a table.
//!
//! ```
//! use fleetsim::scenario::Scenario;
//! use fleetsim::sweep::Knob;
//! let s = Scenario::from_toml_str(fleetsim::scenario::QUICKSTART_TOML).unwrap()
//!     .with("workload.duration_s", 20).unwrap();
//! let table = s.sweep(&[Knob::grid("deployment.replicas", [1, 2])], 1).unwrap();
//! assert_eq!(table.rows.len(), 2);
//! // Two replicas cost more than one.
//! assert!(table.candidates[1].cost > table.candidates[0].cost);
//! assert!(table.to_string().contains("deployment.replicas"));
//! ```

use super::results::Row;
use super::select::{self, Candidate};
use super::{Knob, Sweep, SweepError, SweepSpec};
use crate::run;
use crate::scenario::{Scenario, ScenarioError, SetValue};
use crate::table::Table;
use std::fmt;

impl Knob {
    /// A grid knob from typed values (`Knob::grid("scaling.max_replicas",
    /// [2, 4, 8])`), as `--grid` makes from text.
    pub fn grid<V: Into<SetValue>>(key: &str, values: impl IntoIterator<Item = V>) -> Knob {
        Knob::Grid {
            key: key.to_string(),
            values: values.into_iter().map(|v| v.into().to_string()).collect(),
        }
    }
}

impl Sweep {
    /// Runs every (configuration, seed) pair on up to `threads` threads (0:
    /// one per core) and returns the rows in (configuration, seed) order,
    /// writing nothing. The rows are those [`Sweep::run`] writes.
    pub fn run_in_memory(&self, threads: usize) -> Result<Vec<Row>, SweepError> {
        let seeds = u64::from(self.manifest.spec.seeds);
        let base = self.manifest.base_seed;
        let todo: Vec<_> = (self.configurations.iter())
            .flat_map(|c| (0..seeds).map(move |k| (c, base + k)))
            .collect();
        let shared = crate::workload::SharedInputs::new();
        let lines = run::parallel_map(&todo, threads, |&(c, seed)| self.run_one(c, seed, &shared));
        let mut rows = Vec::with_capacity(lines.len());
        for line in lines {
            rows.push(Row::parse(&line?, &|| "a fresh row".to_string())?);
        }
        Ok(rows)
    }
}

/// A sweep's results in memory: every run's row and each configuration's
/// seeds averaged. Prints as a table of every configuration (the Pareto
/// front and the cheapest one meeting the SLA marked).
#[derive(Clone, Debug, PartialEq)]
pub struct SweepTable {
    /// One row per (configuration, seed), in that order.
    pub rows: Vec<Row>,
    /// One per configuration, seeds averaged ([`select::candidates`]).
    pub candidates: Vec<Candidate>,
}

impl SweepTable {
    /// The rows, averaged per configuration.
    pub fn new(rows: Vec<Row>) -> SweepTable {
        let candidates = select::candidates(&rows);
        SweepTable { rows, candidates }
    }

    /// The cheapest configuration meeting every SLA target, if any
    /// ([`select::cheapest_meeting_sla`]).
    pub fn cheapest(&self) -> Option<&Candidate> {
        select::cheapest_meeting_sla(&self.candidates).map(|i| &self.candidates[i])
    }

    /// The candidates as a [`Table`]: knobs, cost, attainment, whether
    /// every target was met, and a mark for the Pareto front (`front`)
    /// and the cheapest configuration meeting the SLA (`cheapest`).
    pub fn table(&self) -> Table {
        let Some(first) = self.candidates.first() else {
            return Table::new(["no results"]);
        };
        let front = select::pareto_front(&self.candidates);
        let cheapest = select::cheapest_meeting_sla(&self.candidates);
        let knobs = first.knobs.iter().map(|(k, _)| k.clone());
        let mut table = Table::new(std::iter::once("config".to_string()).chain(knobs).chain([
            format!("cost ({})", first.cost_unit),
            "SLA attainment".into(),
            "meets SLA".into(),
            "".into(),
        ]))
        .titled(format!(
            "{} configurations, {} seed(s) each",
            self.candidates.len(),
            first.seeds
        ));
        for (i, c) in self.candidates.iter().enumerate() {
            let mark = match (cheapest == Some(i), front.contains(&i)) {
                (true, _) => "cheapest",
                (false, true) => "front",
                (false, false) => "",
            };
            table.push(
                std::iter::once(c.config.to_string())
                    .chain(c.knobs.iter().map(|(_, v)| select::cell(v)))
                    .chain([
                        format!("{:.4}", c.cost),
                        format!("{:.3} %", 100.0 * c.sla_attainment),
                        if !c.has_targets {
                            "no targets".into()
                        } else if c.meets_sla {
                            "yes".into()
                        } else {
                            "no".into()
                        },
                        mark.into(),
                    ]),
            );
        }
        table
    }
}

impl fmt::Display for SweepTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.table())
    }
}

impl Scenario {
    /// Sweeps the grid `knobs` (every combination, first knob slowest)
    /// with `seeds` seeds each (the scenario's seed, seed + 1, …), in
    /// memory on every core, as `fleetsim sweep` does without a results
    /// directory.
    pub fn sweep(&self, knobs: &[Knob], seeds: u32) -> Result<SweepTable, SweepError> {
        let spec = SweepSpec {
            knobs: knobs.to_vec(),
            random: None,
            sample_seed: 0,
            seeds,
        };
        let sweep = self.sweep_with(spec)?;
        Ok(SweepTable::new(sweep.run_in_memory(0)?))
    }

    /// A copy with a sweep candidate's knob settings applied (the
    /// cheapest one, say), ready to run or to save with
    /// [`Scenario::to_toml`].
    pub fn with_candidate(&self, candidate: &Candidate) -> Result<Scenario, ScenarioError> {
        let mut copy = self.clone();
        for (key, value) in &candidate.knobs {
            copy.set(key, SetValue::toml(select::toml_text(value)))?;
        }
        Ok(copy)
    }

    /// The [`Sweep`] of `spec` over this scenario (its text and
    /// overrides), for random draws (`spec.random`) or a thread count of
    /// one's own.
    pub fn sweep_with(&self, spec: SweepSpec) -> Result<Sweep, SweepError> {
        let source = self.source_text().map_err(|e| SweepError::Configuration {
            config: 0,
            sets: Vec::new(),
            error: Box::new(e),
        })?;
        Sweep::from_str(
            source.text.as_str(),
            &source.file,
            &source.base_dir,
            &source.sets,
            spec,
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn in_memory_rows_equal_the_rows_a_results_directory_gets() {
        let s = Scenario::from_toml_str(crate::scenario::QUICKSTART_TOML)
            .unwrap()
            .with("workload.duration_s", 15)
            .unwrap();
        let spec = SweepSpec {
            knobs: vec![Knob::grid("deployment.replicas", [1, 3])],
            random: None,
            sample_seed: 0,
            seeds: 2,
        };
        let sweep = s.sweep_with(spec).unwrap();
        let in_memory = sweep.run_in_memory(2).unwrap();
        let dir = std::env::temp_dir().join(format!("fleetsim-mem-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let on_disk = sweep
            .run(&dir, &super::super::RunOptions::default(), &mut |_| {})
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(in_memory, on_disk);
        let keys: Vec<_> = in_memory.iter().map(|r| (r.config, r.seed)).collect();
        assert_eq!(keys, [(0, 42), (0, 43), (1, 42), (1, 43)]);
    }

    #[test]
    fn the_table_marks_the_cheapest_configuration_meeting_the_sla() {
        let s = Scenario::from_toml_str(crate::scenario::QUICKSTART_TOML)
            .unwrap()
            .with("workload.duration_s", 30)
            .unwrap();
        let t = s
            .sweep(&[Knob::grid("deployment.replicas", [1, 2, 4])], 1)
            .unwrap();
        let cheapest = t.cheapest().unwrap();
        // More replicas than the cheapest that meets the SLA only cost more.
        assert!(t
            .candidates
            .iter()
            .all(|c| c.cost >= cheapest.cost || !c.meets_sla));
        let table = t.table();
        let marked: Vec<_> = (table.rows.iter())
            .filter(|r| r.last().map(String::as_str) == Some("cheapest"))
            .collect();
        assert_eq!(marked.len(), 1);
        assert_eq!(marked[0][0], cheapest.config.to_string());
        // Applied to the scenario, the cheapest knobs give the same run.
        let replicas = cheapest.knobs[0].1.as_f64().unwrap() as u32;
        let applied = s.with_candidate(cheapest).unwrap();
        assert_eq!(applied.deployments[0].replicas, replicas);
        let summary = applied.run().unwrap().summary;
        let row = (t.rows.iter())
            .find(|r| r.config == cheapest.config)
            .unwrap();
        let cost = row
            .value
            .get("summary.gpu_hours.billed")
            .and_then(|v| v.as_f64());
        assert_eq!(cost, Some(summary.gpu_hours.billed));
    }
}
