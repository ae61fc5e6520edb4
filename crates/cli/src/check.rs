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

/// A tolerance as written: either field may be left to the layer below.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToleranceOverride {
    /// Absolute allowance, in the metric's unit.
    pub abs: Option<f64>,
    /// Relative allowance, a fraction of the baseline value.
    pub rel: Option<f64>,
}

impl ToleranceOverride {
    fn apply(&self, t: &mut Tolerance) {
        if let Some(abs) = self.abs {
            t.abs = abs;
        }
        if let Some(rel) = self.rel {
            t.rel = rel;
        }
    }
}

/// Tolerance overrides by metric name, or `all`.
pub type Tolerances = BTreeMap<String, ToleranceOverride>;

/// The key of a tolerance that applies to every metric.
pub const ALL: &str = "all";

/// One scenario's entry in a baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The scenario file, normalised.
    pub path: String,
    /// The scenario's `name` when recorded.
    pub name: String,
    /// 1-based line of `name` in the baseline file.
    pub name_line: usize,
    /// The seed it ran with.
    pub seed: Option<u64>,
    /// The `--set` flags it ran with.
    pub sets: Vec<String>,
    /// Recorded values by metric name.
    pub values: BTreeMap<String, f64>,
    /// Metrics the run did not have.
    pub absent: Vec<String>,
    /// Its tolerance overrides.
    pub tolerance: Tolerances,
}

/// A parsed baseline file.
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    /// Tolerance overrides for every scenario.
    pub tolerance: Tolerances,
    /// Entries in file order.
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    version: Spanned<u32>,
    #[serde(default)]
    tolerance: BTreeMap<Spanned<String>, Spanned<ToleranceOverride>>,
    #[serde(default)]
    scenario: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    path: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    sets: Vec<String>,
    #[serde(default)]
    absent: Vec<Spanned<String>>,
    #[serde(default)]
    tolerance: BTreeMap<Spanned<String>, Spanned<ToleranceOverride>>,
    values: BTreeMap<Spanned<String>, Spanned<f64>>,
}

/// `path` without `.` components and with `a/..` folded, `/`-separated,
/// so `./scenarios/q.toml` and `scenarios/q.toml` name one entry.
pub fn normalise(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if parts.last().is_some_and(|p| p != "..") => {
                parts.pop();
            }
            Component::RootDir => parts.push(String::new()),
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    if parts == [""] {
        return "/".to_string();
    }
    parts.join("/")
}

impl Baseline {
    /// Parses baseline text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Baseline, CheckError> {
        let at =
            |span: std::ops::Range<usize>, field: String, message: String| CheckError::Malformed {
                file: file.to_string(),
                line: Some(line_of_offset(text, span.start)),
                field: Some(field),
                message,
            };
        let raw: RawBaseline = toml::from_str(text).map_err(|e| CheckError::Malformed {
            file: file.to_string(),
            line: e.span().map(|s| line_of_offset(text, s.start)),
            field: None,
            message: e.message().trim().to_string(),
        })?;
        if *raw.version.get_ref() != BASELINE_VERSION {
            return Err(at(
                raw.version.span(),
                "version".into(),
                format!(
                    "baseline version {} is not supported (this fleetsim reads version {BASELINE_VERSION})",
                    raw.version.get_ref()
                ),
            ));
        }
        let tolerances = |raw: BTreeMap<Spanned<String>, Spanned<ToleranceOverride>>,
                          section: &str|
         -> Result<Tolerances, CheckError> {
            let mut out = Tolerances::new();
            for (key, t) in raw {
                let field = format!("{section}.{}", key.get_ref());
                if key.get_ref() != ALL && Headline::by_name(key.get_ref()).is_none() {
                    return Err(at(
                        key.span(),
                        field,
                        format!(
                            "unknown metric `{}`; use `{ALL}` or one of: {}",
                            key.get_ref(),
                            Headline::names()
                        ),
                    ));
                }
                let tv = *t.get_ref();
                for (name, v) in [("abs", tv.abs), ("rel", tv.rel)] {
                    if let Some(v) = v.filter(|v| !(v.is_finite() && *v >= 0.0)) {
                        return Err(at(
                            t.span(),
                            format!("{field}.{name}"),
                            format!("a tolerance must be a finite number ≥ 0, got {v}"),
                        ));
                    }
                }
                out.insert(key.into_inner(), tv);
            }
            Ok(out)
        };
        let tolerance = tolerances(raw.tolerance, "tolerance")?;
        let mut entries: Vec<Entry> = Vec::new();
        for (i, e) in raw.scenario.into_iter().enumerate() {
            let section = format!("scenario[{i}]");
            let path = normalise(Path::new(e.path.get_ref()));
            if let Some(dup) = entries.iter().find(|d| d.path == path) {
                return Err(at(
                    e.path.span(),
                    format!("{section}.path"),
                    format!(
                        "a second entry for {path} (the first has name `{}`, line {})",
                        dup.name, dup.name_line
                    ),
                ));
            }
            let mut values = BTreeMap::new();
            for (key, v) in e.values {
                let field = format!("{section}.values.{}", key.get_ref());
                if Headline::by_name(key.get_ref()).is_none() {
                    return Err(at(
                        key.span(),
                        field,
                        format!(
                            "unknown metric `{}`; the headline metrics are: {}",
                            key.get_ref(),
                            Headline::names()
                        ),
                    ));
                }
                if !v.get_ref().is_finite() {
                    return Err(at(v.span(), field, "a value must be finite".into()));
                }
                values.insert(key.into_inner(), v.into_inner());
            }
            let mut absent = Vec::new();
            for name in e.absent {
                if Headline::by_name(name.get_ref()).is_none() {
                    return Err(at(
                        name.span(),
                        format!("{section}.absent"),
                        format!("unknown metric `{}`", name.get_ref()),
                    ));
                }
                if values.contains_key(name.get_ref()) {
                    return Err(at(
                        name.span(),
                        format!("{section}.absent"),
                        format!("`{}` is listed as absent but has a value", name.get_ref()),
                    ));
                }
                absent.push(name.into_inner());
            }
            entries.push(Entry {
                path,
                name_line: line_of_offset(text, e.name.span().start),
                name: e.name.into_inner(),
                seed: e.seed,
                sets: e.sets,
                values,
                absent,
                tolerance: tolerances(e.tolerance, &format!("{section}.tolerance"))?,
            });
        }
        Ok(Baseline { tolerance, entries })
    }

    /// Reads and parses a baseline file.
    pub fn read(path: &Path) -> Result<Baseline, CheckError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| CheckError::Read {
            file: file.clone(),
            error,
        })?;
        Baseline::parse(&text, &file)
    }

    /// The entry for a scenario file.
    pub fn entry(&self, path: &Path) -> Option<&Entry> {
        let path = normalise(path);
        self.entries.iter().find(|e| e.path == path)
    }

    /// The tolerance of `metric` in `entry` (see the module documentation
    /// for the layers).
    pub fn tolerance(&self, metric: &Headline, entry: Option<&Entry>) -> Tolerance {
        let mut t = metric.tolerance;
        let layers = [Some(&self.tolerance), entry.map(|e| &e.tolerance)];
        for layer in layers.into_iter().flatten() {
            for key in [ALL, metric.name] {
                if let Some(o) = layer.get(key) {
                    o.apply(&mut t);
                }
            }
        }
        t
    }
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
mod tests {
    use super::*;

    fn metric(name: &str) -> &'static Headline {
        Headline::by_name(name).unwrap()
    }

    #[test]
    fn verdicts() {
        let t = Tolerance { abs: 1.0, rel: 0.0 };
        let ttft = metric("ttft_p95_ms");
        let sla = metric("sla_attainment");
        let v = |h, b, n| judge(h, b, n, t).verdict;
        for (h, b, n, expect) in [
            (ttft, Recorded::Value(100.0), Some(100.5), Verdict::Ok),
            (
                ttft,
                Recorded::Value(100.0),
                Some(102.0),
                Verdict::Regression,
            ),
            (ttft, Recorded::Value(100.0), Some(98.0), Verdict::Better),
            (sla, Recorded::Value(0.5), Some(2.0), Verdict::Better),
            (sla, Recorded::Value(2.0), Some(0.5), Verdict::Regression),
            (ttft, Recorded::Value(100.0), None, Verdict::Changed),
            (ttft, Recorded::Absent, Some(1.0), Verdict::Changed),
            (ttft, Recorded::Absent, None, Verdict::Ok),
            (ttft, Recorded::Missing, Some(1.0), Verdict::New),
        ] {
            assert_eq!(v(h, b, n), expect, "{} {b:?} {n:?}", h.name);
        }
        assert!(Verdict::Better.fails(false));
        assert!(!Verdict::Better.fails(true));
        assert!(Verdict::Regression.fails(true));
        assert!(!Verdict::New.fails(false));
    }

    #[test]
    fn tolerance_layers_override_field_by_field() {
        let text = r#"version = 1
[tolerance]
all = { rel = 0.5 }
ttft_p95_ms = { abs = 7.0 }
[[scenario]]
path = "./a/../q.toml"
name = "q"
values = { ttft_p95_ms = 1.0 }
[scenario.tolerance]
ttft_p95_ms = { rel = 0.25 }
"#;
        let b = Baseline::parse(text, "b.toml").unwrap();
        let e = b.entry(Path::new("q.toml"));
        assert!(e.is_some());
        let ttft = metric("ttft_p95_ms");
        assert_eq!(
            b.tolerance(ttft, e),
            Tolerance {
                abs: 7.0,
                rel: 0.25
            }
        );
        assert_eq!(b.tolerance(ttft, None), Tolerance { abs: 7.0, rel: 0.5 });
        let cost = metric("cost_usd");
        assert_eq!(
            b.tolerance(cost, e),
            Tolerance {
                abs: cost.tolerance.abs,
                rel: 0.5
            }
        );
    }

    #[test]
    fn normalise_folds_dots() {
        assert_eq!(normalise(Path::new("./a/./b/../c.toml")), "a/c.toml");
        assert_eq!(normalise(Path::new("../x.toml")), "../x.toml");
        assert_eq!(normalise(Path::new("/abs/x.toml")), "/abs/x.toml");
    }
}
