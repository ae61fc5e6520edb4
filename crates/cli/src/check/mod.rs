//! `fleetsim check --baseline FILE SCENARIO...`: reruns scenarios and
//! compares their headline metrics with a saved baseline, for CI.
//!
//! The baseline is TOML (`docs/ci.md` shows one). Each `[[scenario]]`
//! entry records the scenario's file path as given on the command line
//! (lexically normalised: `./a/../b.toml` is `b.toml`), its `name` (the
//! identity checked: a baseline entry recorded from another scenario is
//! an error naming both), the seed and `--set` flags it ran with, and its
//! headline values (`[scenario.values]`; metrics the run did not have are
//! listed in `absent`).
//!
//! Tolerances (`{ abs = …, rel = … }`, see [`Tolerance`]) are resolved
//! field by field, each layer overriding only the fields it sets: the
//! built-in default of the metric, then `[tolerance] all`, `[tolerance]
//! METRIC`, then the entry's `[scenario.tolerance] all` and `METRIC`.
//!
//! Verdicts, per metric: `ok` (within tolerance), `REGRESSION` (worse
//! beyond tolerance), `better` (better beyond tolerance), `changed` (present
//! in one of baseline and run, absent in the other), `new` (the baseline
//! does not mention the metric: it predates it). Regressions and changes
//! fail the check; so does `better` unless `--allow-better`, because a
//! change in behaviour, even a welcome one, should be accepted on purpose
//! (`--update` and a commit). `new` does not fail.
//!
//! `--update` prints the same table, then writes the run's values into the
//! baseline (adding entries for scenarios it lacks) and leaves everything
//! else in the file as it was: tolerances, comments, other entries. The
//! file is written to a temporary sibling and renamed into place.

use crate::headline::{Headline, Tolerance, HEADLINE};
use crate::report::write_atomically;
use crate::run::{self, RunError};
use crate::scenario::edit::line_of_offset;
use crate::scenario::{self, ScenarioError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use toml::Spanned;

mod baseline;

pub use baseline::{normalise, Baseline, Entry, ToleranceOverride, Tolerances, ALL};

/// The baseline format this version reads and writes.
pub const BASELINE_VERSION: u32 = 1;

/// What to check: the resolved options of `fleetsim check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// Baseline file (TOML).
    pub baseline: PathBuf,
    /// Scenario files (TOML) to rerun and check.
    pub scenarios: Vec<PathBuf>,
    /// Accept the run's values: the baseline may be missing (it is then
    /// created) and entries are not checked for identity before the runs;
    /// [`CheckRun::write_baseline`] writes the new values.
    pub update: bool,
    /// `KEY=VALUE` overrides applied to every scenario.
    pub sets: Vec<String>,
    /// Runs at once (0: one per core). Results do not depend on it.
    pub jobs: usize,
}

/// Why a check could not be made, or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The baseline file cannot be read.
    #[error("{file}: cannot read the baseline: {error} (`--update` writes a new one)")]
    Read {
        /// The baseline file.
        file: String,
        /// Why.
        error: std::io::Error,
    },
    /// The baseline file is malformed.
    #[error("{}", located(file, *line, field.as_deref(), message))]
    Malformed {
        /// The baseline file.
        file: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// Dotted field, when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A scenario has no entry in the baseline.
    #[error(
        "{file}: no baseline for scenario {path} (`{name}`); the baseline has: {known}; \
         add it with --update"
    )]
    NotInBaseline {
        /// The baseline file.
        file: String,
        /// The scenario file.
        path: String,
        /// The scenario's name.
        name: String,
        /// The entries the baseline has, as `path (name)`.
        known: String,
    },
    /// The baseline entry for a path was recorded from another scenario.
    #[error(
        "{file}:{line}: field `scenario.name`: the baseline for {path} was recorded from \
         scenario `{recorded}`, but {path} is scenario `{actual}` (a baseline of a different \
         scenario? accept with --update if it was renamed)"
    )]
    WrongScenario {
        /// The baseline file.
        file: String,
        /// Line of the entry's `name`.
        line: usize,
        /// The scenario file.
        path: String,
        /// The name in the baseline.
        recorded: String,
        /// The scenario's name now.
        actual: String,
    },
    /// A scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A run stopped.
    #[error("{path}: {error}")]
    Run {
        /// The scenario file.
        path: String,
        /// What stopped it.
        error: Box<RunError>,
    },
    /// The baseline could not be written.
    #[error("{file}: cannot write the baseline: {error}")]
    Write {
        /// The baseline file.
        file: String,
        /// Why.
        error: std::io::Error,
    },
    /// The check found differences that fail it.
    #[error(
        "{failing} metric(s) differ from {file} beyond tolerance ({summary}); \
         accept the new values with --update and commit the baseline"
    )]
    Failed {
        /// The baseline file.
        file: String,
        /// Failing metrics over all scenarios.
        failing: usize,
        /// Counts by verdict.
        summary: String,
    },
}

fn located(file: &str, line: Option<usize>, field: Option<&str>, message: &str) -> String {
    let mut s = file.to_string();
    if let Some(line) = line {
        let _ = write!(s, ":{line}");
    }
    if let Some(field) = field {
        let _ = write!(s, ": field `{field}`");
    }
    let _ = write!(s, ": {message}");
    s
}

/// The verdict on one metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within tolerance (or absent in both).
    Ok,
    /// Better beyond tolerance.
    Better,
    /// Worse beyond tolerance.
    Regression,
    /// Present in one of baseline and run only.
    Changed,
    /// Not in the baseline.
    New,
}

impl Verdict {
    /// How the table shows it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Better => "better",
            Verdict::Regression => "REGRESSION",
            Verdict::Changed => "changed",
            Verdict::New => "new",
        }
    }

    /// Whether it fails the check.
    pub fn fails(self, allow_better: bool) -> bool {
        match self {
            Verdict::Regression | Verdict::Changed => true,
            Verdict::Better => !allow_better,
            Verdict::Ok | Verdict::New => false,
        }
    }
}

/// What a metric was in a baseline entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Recorded {
    /// A value.
    Value(f64),
    /// Listed in `absent`.
    Absent,
    /// Not mentioned.
    Missing,
}

/// One metric of one scenario, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricCheck {
    /// The metric.
    pub metric: &'static Headline,
    /// What the baseline holds.
    pub baseline: Recorded,
    /// The value now.
    pub now: Option<f64>,
    /// The tolerance applied.
    pub tolerance: Tolerance,
    /// The verdict.
    pub verdict: Verdict,
}

/// Checks one metric.
pub fn judge(
    metric: &'static Headline,
    baseline: Recorded,
    now: Option<f64>,
    tolerance: Tolerance,
) -> MetricCheck {
    let verdict = match (baseline, now) {
        (Recorded::Missing, _) => Verdict::New,
        (Recorded::Absent, None) => Verdict::Ok,
        (Recorded::Absent, Some(_)) | (Recorded::Value(_), None) => Verdict::Changed,
        (Recorded::Value(b), Some(n)) if tolerance.accepts(b, n) => Verdict::Ok,
        (Recorded::Value(b), Some(n)) if metric.better.improved(b, n) => Verdict::Better,
        (Recorded::Value(_), Some(_)) => Verdict::Regression,
    };
    MetricCheck {
        metric,
        baseline,
        now,
        tolerance,
        verdict,
    }
}

/// One scenario checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioCheck {
    /// The scenario file, normalised.
    pub path: String,
    /// Its name.
    pub name: String,
    /// The seed it ran with.
    pub seed: u64,
    /// The `--set` flags it ran with.
    pub sets: Vec<String>,
    /// The baseline entry's flags and seed, when they differ from the run's.
    pub note: Option<String>,
    /// One per headline metric, in [`HEADLINE`] order.
    pub metrics: Vec<MetricCheck>,
}

impl fmt::Display for ScenarioCheck {
    /// The scenario's diff table, every metric.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.render(f, false)
    }
}

impl ScenarioCheck {
    /// The scenario's diff table; with `changes_only`, only the rows whose
    /// verdict is not `ok` (one line when there are none).
    pub fn render(&self, f: &mut impl fmt::Write, changes_only: bool) -> fmt::Result {
        let sets: String = self.sets.iter().map(|s| format!(" --set {s}")).collect();
        let shown: Vec<&MetricCheck> = (self.metrics.iter())
            .filter(|m| !changes_only || m.verdict != Verdict::Ok)
            .collect();
        if shown.is_empty() {
            return writeln!(
                f,
                "{} ({}), seed {}{sets}: {} metrics ok",
                self.path,
                self.name,
                self.seed,
                self.metrics.len()
            );
        }
        writeln!(f, "{} ({}), seed {}{sets}", self.path, self.name, self.seed)?;
        if let Some(note) = &self.note {
            writeln!(f, "  note: {note}")?;
        }
        writeln!(
            f,
            "  {:<30} {:>12} {:>12} {:>22}  {:<20} verdict",
            "metric", "baseline", "now", "change", "tolerance"
        )?;
        for m in shown {
            let h = m.metric;
            let baseline = match m.baseline {
                Recorded::Value(v) => h.format(Some(v)),
                Recorded::Absent => "-".to_string(),
                Recorded::Missing => "(none)".to_string(),
            };
            let change = match (m.baseline, m.now) {
                (Recorded::Value(b), Some(n)) if n - b == 0.0 => "0".to_string(),
                (Recorded::Value(b), Some(n)) => {
                    let decimals = h.decimals.max(1);
                    let rel = if b != 0.0 {
                        format!(" ({:+.1} %)", (n - b) / b.abs() * 100.0)
                    } else {
                        String::new()
                    };
                    format!("{:+.*}{rel}", decimals, n - b)
                }
                _ => String::new(),
            };
            writeln!(
                f,
                "  {:<30} {baseline:>12} {:>12} {change:>22}  {:<20} {}",
                h.name,
                h.format(m.now),
                m.tolerance.to_string(),
                m.verdict.label()
            )?;
        }
        Ok(())
    }
}

/// `--set a --set b`, or `no --set`.
fn flags(sets: &[String]) -> String {
    if sets.is_empty() {
        return "no --set".to_string();
    }
    let flags: Vec<String> = sets.iter().map(|s| format!("--set {s}")).collect();
    flags.join(" ")
}

/// What to run: a scenario file with the flags of the check.
#[derive(Clone, Debug)]
struct Job {
    path: PathBuf,
    scenario: scenario::Scenario,
}

/// Loads the scenarios, checks their identity against `baseline` (unless
/// `update`), runs them and judges every metric.
pub fn check(
    baseline: &Baseline,
    baseline_file: &str,
    paths: &[PathBuf],
    sets: &[String],
    update: bool,
    jobs: usize,
) -> Result<(Vec<ScenarioCheck>, Vec<String>), CheckError> {
    let mut loaded = Vec::with_capacity(paths.len());
    for path in paths {
        let scenario = scenario::load_file(path, sets)?;
        if !update {
            // Identity first, so a wrong baseline fails before any run.
            match baseline.entry(path) {
                None => {
                    let known: Vec<String> = (baseline.entries.iter())
                        .map(|e| format!("{} (`{}`)", e.path, e.name))
                        .collect();
                    return Err(CheckError::NotInBaseline {
                        file: baseline_file.to_string(),
                        path: normalise(path),
                        name: scenario.name,
                        known: if known.is_empty() {
                            "no entries".to_string()
                        } else {
                            known.join(", ")
                        },
                    });
                }
                Some(e) if e.name != scenario.name => {
                    return Err(CheckError::WrongScenario {
                        file: baseline_file.to_string(),
                        line: e.name_line,
                        path: normalise(path),
                        recorded: e.name.clone(),
                        actual: scenario.name,
                    })
                }
                Some(_) => {}
            }
        }
        loaded.push(Job {
            path: path.clone(),
            scenario,
        });
    }
    let results = run::parallel_map(&loaded, jobs, |job| run::run(&job.scenario));
    let mut checks = Vec::with_capacity(loaded.len());
    let mut warnings = Vec::new();
    for (job, result) in loaded.iter().zip(results) {
        let result = result.map_err(|error| CheckError::Run {
            path: job.path.display().to_string(),
            error: Box::new(error),
        })?;
        let path = normalise(&job.path);
        warnings.extend(result.warnings.iter().map(|w| format!("{path}: {w}")));
        let entry = baseline.entry(&job.path);
        let seed = job.scenario.sim.seed;
        let note = entry.and_then(|e| {
            let mut differs = Vec::new();
            if e.name != job.scenario.name {
                differs.push(format!(
                    "recorded from scenario `{}`, now `{}`",
                    e.name, job.scenario.name
                ));
            }
            if e.sets != sets {
                differs.push(format!(
                    "recorded with {}, now {}",
                    flags(&e.sets),
                    flags(sets)
                ));
            }
            if e.seed.is_some_and(|s| s != seed) {
                differs.push(format!(
                    "recorded with seed {}, now {seed}",
                    e.seed.unwrap_or_default()
                ));
            }
            (!differs.is_empty()).then(|| differs.join("; "))
        });
        let metrics = HEADLINE
            .iter()
            .map(|h| {
                let recorded = match entry {
                    None => Recorded::Missing,
                    Some(e) => match e.values.get(h.name) {
                        Some(v) => Recorded::Value(*v),
                        None if e.absent.iter().any(|a| a == h.name) => Recorded::Absent,
                        None => Recorded::Missing,
                    },
                };
                judge(
                    h,
                    recorded,
                    h.value(&result.summary),
                    baseline.tolerance(h, entry),
                )
            })
            .collect();
        checks.push(ScenarioCheck {
            path,
            name: job.scenario.name.clone(),
            seed,
            sets: sets.to_vec(),
            note,
            metrics,
        });
    }
    Ok((checks, warnings))
}

/// The header of a baseline file `--update` creates.
const NEW_BASELINE: &str = "\
# fleetsim check baseline: the headline metrics of each scenario, as
# `fleetsim check --baseline FILE SCENARIO...` compares them.
# `fleetsim check --update` rewrites the values and keeps the rest of this
# file (tolerances, comments). See docs/ci.md.
version = 1

# Tolerances for every scenario: a metric name, or `all`, with `abs` (in the
# metric's unit) and/or `rel` (a fraction of the baseline value). A value
# passes if |now - baseline| <= max(abs, rel * |baseline|). Per-scenario
# overrides go in [scenario.tolerance]. For example:
#   all = { rel = 0.05 }
#   ttft_p95_ms = { abs = 2.0 }
[tolerance]
";

/// The baseline text with `checks`' values written in: existing entries
/// (matched by path) get new `name`, `seed`, `sets`, `absent` and
/// `values`; new entries are appended. Everything else is kept as written.
pub fn updated_text(old: Option<&str>, checks: &[ScenarioCheck]) -> Result<String, String> {
    use toml_edit::{value, Array, ArrayOfTables, DocumentMut, Item, Table};
    let mut doc: DocumentMut = old
        .unwrap_or(NEW_BASELINE)
        .parse()
        .map_err(|e: toml_edit::TomlError| e.to_string())?;
    if !doc.contains_key("scenario") {
        doc.insert("scenario", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let entries = doc["scenario"]
        .as_array_of_tables_mut()
        .ok_or("`scenario` is not an array of tables ([[scenario]])")?;
    for c in checks {
        let existing = entries.iter_mut().position(|t| {
            t.get("path")
                .and_then(|p| p.as_str())
                .is_some_and(|p| normalise(Path::new(p)) == c.path)
        });
        let table: &mut Table = match existing {
            Some(i) => entries.get_mut(i).ok_or("entry vanished while updating")?,
            None => {
                let mut t = Table::new();
                t.insert("path", value(c.path.as_str()));
                entries.push(t);
                let last = entries.len() - 1;
                entries
                    .get_mut(last)
                    .ok_or("entry vanished while updating")?
            }
        };
        table.insert("name", value(c.name.as_str()));
        // TOML integers are signed 64-bit: a seed above i64::MAX cannot be
        // written, so it is left out (the seed is only informational).
        match i64::try_from(c.seed) {
            Ok(seed) => {
                table.insert("seed", value(seed));
            }
            Err(_) => {
                table.remove("seed");
            }
        }
        table.insert(
            "sets",
            value(c.sets.iter().map(String::as_str).collect::<Array>()),
        );
        let absent: Array = (c.metrics.iter())
            .filter(|m| m.now.is_none())
            .map(|m| m.metric.name)
            .collect();
        table.insert("absent", value(absent));
        // An existing `[scenario.values]` table is refilled in place, so
        // its position and the comments above it stay; anything else
        // (an inline table) is replaced by a table.
        if !table.get("values").is_some_and(Item::is_table) {
            table.remove("values");
            table.insert("values", Item::Table(Table::new()));
        }
        let values = table["values"]
            .as_table_mut()
            .ok_or("`values` is not a table")?;
        values.clear();
        for m in &c.metrics {
            if let Some(v) = m.now {
                // Counts as integers; f64 is exact for them below 2^53.
                let item = if m.metric.integer && v.fract() == 0.0 && v.abs() < 9.0e15 {
                    value(v as i64)
                } else {
                    value(v)
                };
                values.insert(m.metric.name, item);
            }
        }
    }
    Ok(doc.to_string())
}

/// A finished check: every scenario rerun and judged against the baseline.
#[derive(Clone, Debug)]
pub struct CheckRun {
    /// The baseline file, as named in messages.
    pub file: String,
    /// One entry per scenario, in the order given.
    pub checks: Vec<ScenarioCheck>,
    /// The runs' warnings, each prefixed with its scenario file.
    pub warnings: Vec<String>,
    /// The baseline's text as read (`None` when `update` started without a file).
    old_text: Option<String>,
}

/// `fleetsim check`: reads the baseline (with `update`, a missing file is
/// an empty baseline), reruns the scenarios and judges every metric. Writes
/// nothing: see [`CheckRun::write_baseline`] and [`CheckRun::verdict`].
pub fn run_check(options: &CheckOptions) -> Result<CheckRun, CheckError> {
    let file = options.baseline.display().to_string();
    let old_text = match std::fs::read_to_string(&options.baseline) {
        Ok(text) => Some(text),
        // Only --update may start from nothing.
        Err(e) if options.update && e.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(CheckError::Read { file, error }),
    };
    let baseline = match &old_text {
        Some(text) => Baseline::parse(text, &file)?,
        None => Baseline {
            tolerance: Tolerances::new(),
            entries: Vec::new(),
        },
    };
    let (checks, warnings) = check(
        &baseline,
        &file,
        &options.scenarios,
        &options.sets,
        options.update,
        options.jobs,
    )?;
    Ok(CheckRun {
        file,
        checks,
        warnings,
        old_text,
    })
}

impl CheckRun {
    /// Counts by verdict, worst first, e.g. `1 REGRESSION, 11 ok`.
    pub fn summary(&self) -> String {
        let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        for m in self.checks.iter().flat_map(|c| &c.metrics) {
            *counts.entry(m.verdict.label()).or_default() += 1;
        }
        let summary: Vec<String> = ["REGRESSION", "better", "changed", "new", "ok"]
            .iter()
            .filter_map(|l| counts.get(l).map(|n| format!("{n} {l}")))
            .collect();
        summary.join(", ")
    }

    /// Metrics over all scenarios whose verdict fails the check.
    pub fn failing(&self, allow_better: bool) -> usize {
        (self.checks.iter().flat_map(|c| &c.metrics))
            .filter(|m| m.verdict.fails(allow_better))
            .count()
    }

    /// The diff table of every scenario (blank lines between them unless
    /// `changes_only`), then the line `check: N scenario(s) against FILE:
    /// SUMMARY`.
    pub fn render(&self, changes_only: bool) -> String {
        let mut out = String::new();
        for (i, c) in self.checks.iter().enumerate() {
            if i > 0 && !changes_only {
                out.push('\n');
            }
            let _ = c.render(&mut out, changes_only);
        }
        let _ = writeln!(
            out,
            "\ncheck: {} scenario(s) against {}: {}",
            self.checks.len(),
            self.file,
            self.summary()
        );
        out
    }

    /// Writes the run's values into the baseline file at `path` (the one
    /// the check read), keeping everything else in it; through a temporary
    /// sibling and a rename.
    pub fn write_baseline(&self, path: &Path) -> Result<(), CheckError> {
        let text = updated_text(self.old_text.as_deref(), &self.checks).map_err(|message| {
            CheckError::Malformed {
                file: self.file.clone(),
                line: None,
                field: None,
                message,
            }
        })?;
        write_atomically(path, |w| w.write_all(text.as_bytes())).map_err(|error| {
            CheckError::Write {
                file: self.file.clone(),
                error,
            }
        })
    }

    /// `Ok` unless a metric fails the check ([`CheckError::Failed`]);
    /// `better` fails unless `allow_better`.
    pub fn verdict(&self, allow_better: bool) -> Result<(), CheckError> {
        match self.failing(allow_better) {
            0 => Ok(()),
            failing => Err(CheckError::Failed {
                file: self.file.clone(),
                failing,
                summary: self.summary(),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
