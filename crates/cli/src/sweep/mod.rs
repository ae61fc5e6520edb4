//! Knob sweeps: run a scenario over a grid or random sample of knob
//! settings, times seeds, in parallel, into resumable, shardable result
//! files; then pick the Pareto front and the cheapest configuration that
//! meets the SLA.
//!
//! A knob is any scenario key `--set` takes (`deployment.replicas`,
//! `scaling.scale_down_delay_s`, `deployments[1].gpu`). Configurations are
//! numbered in a fixed order ([`SweepSpec::configurations`]); seeds are the
//! scenario's seed, seed + 1, ... Each run is the same pure function of
//! (scenario, knobs, seed) that `fleetsim run` computes, so results do not
//! depend on the thread count, the shard split, or resuming.
//!
//! ```
//! use fleetsim::sweep::{Knob, Sweep, SweepSpec, RunOptions};
//! let spec = SweepSpec {
//!     knobs: vec![Knob::parse_grid("deployment.replicas=1,2").unwrap()],
//!     random: None,
//!     sample_seed: 1,
//!     seeds: 1,
//! };
//! let sweep = Sweep::from_str(fleetsim::scenario::QUICKSTART_TOML, "quickstart",
//!     std::path::Path::new("."), &["workload.duration_s=20".to_string()], spec).unwrap();
//! let dir = std::env::temp_dir().join(format!("fleetsim-doc-sweep-{}", std::process::id()));
//! let _ = std::fs::remove_dir_all(&dir);
//! let rows = sweep.run(&dir, &RunOptions::default(), &mut |_| {}).unwrap();
//! assert_eq!(rows.len(), 2);
//! let candidates = fleetsim::sweep::select::candidates(&rows);
//! // Two replicas cost more than one.
//! assert!(candidates[1].cost > candidates[0].cost);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod knobs;
mod memory;
pub mod results;
pub mod select;

pub use knobs::{Bound, Configuration, Knob, Shard, SweepSpec, MAX_CONFIGURATIONS};
pub use memory::SweepTable;

use crate::run;
use crate::scenario::{self, ScenarioError};
use results::{PartialWriter, Row};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

/// Why a sweep or a merge could not go on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SweepError {
    /// A `--grid`, `--range`, `--random`, `--seeds` or `--shard` flag is
    /// malformed or the flags do not fit together.
    Knob {
        /// The flag as given.
        flag: String,
        /// What is wrong.
        message: String,
    },
    /// A configuration does not make a valid scenario (e.g. a grid key
    /// that names no knob, or a value out of range).
    Configuration {
        /// Configuration index.
        config: usize,
        /// Its knob settings, `key=value`.
        sets: Vec<String>,
        /// The scenario loader's error (file, line, field).
        error: Box<ScenarioError>,
    },
    /// A run stopped with an error.
    Run {
        /// Configuration index.
        config: usize,
        /// The seed.
        seed: u64,
        /// The engine's or workload's error.
        message: String,
    },
    /// The output directory holds something else: another sweep, a
    /// finished sweep without `--resume`, an incomplete shard.
    OutDir {
        /// The directory.
        dir: PathBuf,
        /// What is there and what to do.
        message: String,
    },
    /// A results or manifest file is malformed.
    Results {
        /// `file:line`, or the file.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        error: String,
    },
}

impl std::fmt::Display for SweepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SweepError::Knob { flag, message } => write!(f, "{flag}: {message}"),
            SweepError::Configuration {
                config,
                sets,
                error,
            } => write!(f, "configuration {config} ({}): {error}", sets.join(" ")),
            SweepError::Run {
                config,
                seed,
                message,
            } => write!(f, "configuration {config}, seed {seed}: {message}"),
            SweepError::OutDir { dir, message } => write!(f, "{}: {message}", dir.display()),
            SweepError::Results { at, message } => write!(f, "{at}: {message}"),
            SweepError::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

/// A configuration's scenario error is shown in the display; its cause
/// (a file that cannot be read) is the source.
impl std::error::Error for SweepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SweepError::Configuration { error, .. } => std::error::Error::source(error.as_ref()),
            _ => None,
        }
    }
}

/// What `sweep.json` records: enough to tell whether a results file, a
/// resumed run or a shard belongs to this sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The scenario's `name`.
    pub scenario: String,
    /// FNV-1a 64 of the scenario file's text, hex: a changed file is a
    /// different sweep.
    pub scenario_fnv64: String,
    /// `--set` overrides applied to every configuration.
    pub sets: Vec<String>,
    /// The first seed (the scenario's, after `--set`).
    pub base_seed: u64,
    /// Knobs, random draws and seeds.
    pub spec: SweepSpec,
    /// Configurations in the whole sweep.
    pub configurations: usize,
    /// This directory's shard, if the sweep is split.
    pub shard: Option<Shard>,
}

/// A scenario and the knobs to sweep over it, checked.
#[derive(Debug)]
pub struct Sweep {
    text: String,
    file: String,
    base_dir: PathBuf,
    sets: Vec<String>,
    configurations: Vec<Configuration>,
    manifest: Manifest,
}

/// How to run a sweep.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Only this shard's configurations.
    pub shard: Option<Shard>,
    /// Continue a sweep in the directory, skipping rows already there.
    pub resume: bool,
    /// Worker threads (`None`: one per core).
    pub threads: Option<usize>,
}

/// Progress of a running sweep.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Runs finished (including those found when resuming).
    pub done: usize,
    /// Runs in this sweep (or shard).
    pub total: usize,
}

impl Sweep {
    /// Reads the scenario file and checks every configuration.
    pub fn from_file(path: &Path, sets: &[String], spec: SweepSpec) -> Result<Sweep, SweepError> {
        let text = std::fs::read_to_string(path).map_err(|e| SweepError::Io {
            path: path.to_path_buf(),
            error: format!("cannot read the scenario: {e}"),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Sweep::from_str(&text, &path.display().to_string(), &base, sets, spec)
    }

    /// Checks every configuration of `spec` over scenario text (`file`
    /// names it in errors; relative paths resolve against `base_dir`), so
    /// a key that names no knob or a value out of range fails before the
    /// first run.
    pub fn from_str(
        text: &str,
        file: &str,
        base_dir: &Path,
        sets: &[String],
        spec: SweepSpec,
    ) -> Result<Sweep, SweepError> {
        // A knob applied after a --set of the same key (or a key inside
        // it, or a section holding it) would override it in silence.
        for knob in &spec.knobs {
            let key = knob.key();
            let nested = |outer: &str, inner: &str| {
                (inner.strip_prefix(outer))
                    .is_some_and(|r| r.starts_with('.') || r.starts_with('['))
            };
            if let Some(set) = sets.iter().find(|s| {
                let k = s.split('=').next().unwrap_or("").trim();
                k == key || nested(k, key) || nested(key, k)
            }) {
                let flag = match knob {
                    Knob::Grid { .. } => "--grid",
                    Knob::Range { .. } => "--range",
                };
                return Err(SweepError::Knob {
                    flag: format!("{flag} {key}"),
                    message: format!(
                        "--set {set} sets the same key, and the knob would override it; drop one of the two"
                    ),
                });
            }
        }
        let configurations = spec.configurations()?;
        let config_error = |c: &Configuration, error| SweepError::Configuration {
            config: c.index,
            sets: c.sets().collect(),
            error: Box::new(error),
        };
        let mut base: Option<scenario::Scenario> = None;
        for c in &configurations {
            let all: Vec<String> = sets.iter().cloned().chain(c.sets()).collect();
            let s =
                scenario::load_str(text, file, base_dir, &all).map_err(|e| config_error(c, e))?;
            base.get_or_insert(s);
        }
        let base = match base {
            Some(s) => s,
            None => scenario::load_str(text, file, base_dir, sets).map_err(|error| {
                SweepError::Configuration {
                    config: 0,
                    sets: Vec::new(),
                    error: Box::new(error),
                }
            })?,
        };
        let base_seed = base.sim.seed;
        // Seeds are applied as `--set seed=N`, a TOML integer.
        let last = base_seed.checked_add(u64::from(spec.seeds).saturating_sub(1));
        if last.is_none_or(|l| l > scenario::MAX_SEED) {
            return Err(SweepError::Knob {
                flag: format!("--seeds {}", spec.seeds),
                message: format!(
                    "seeds {base_seed} to {base_seed} + {} go past the largest seed, {}",
                    spec.seeds.saturating_sub(1),
                    scenario::MAX_SEED
                ),
            });
        }
        let manifest = Manifest {
            scenario: base.name.clone(),
            scenario_fnv64: format!("{:016x}", fleetsim_core::rng::fnv1a64(text.as_bytes())),
            sets: sets.to_vec(),
            base_seed,
            configurations: configurations.len(),
            spec,
            shard: None,
        };
        Ok(Sweep {
            text: text.to_string(),
            file: file.to_string(),
            base_dir: base_dir.to_path_buf(),
            sets: sets.to_vec(),
            configurations,
            manifest,
        })
    }

    /// The configurations, in order.
    pub fn configurations(&self) -> &[Configuration] {
        &self.configurations
    }

    /// What `sweep.json` will say (without a shard).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Runs (configuration, seed) pairs of `options.shard` not yet in `dir`
    /// in parallel, appending rows to `dir/results.jsonl.partial`, then
    /// writes the final, sorted `results.jsonl` and `results.csv`. Returns
    /// every row of the shard, sorted. `progress` is called on this thread
    /// after each run.
    pub fn run(
        &self,
        dir: &Path,
        options: &RunOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<Row>, SweepError> {
        let manifest = Manifest {
            shard: options.shard,
            ..self.manifest.clone()
        };
        let mut rows = prepare_dir(dir, &manifest, options.resume)?;
        let seeds = u64::from(manifest.spec.seeds);
        let done: std::collections::BTreeSet<(usize, u64)> =
            rows.iter().map(|r| (r.config, r.seed)).collect();
        let todo: Vec<(&Configuration, u64)> = (self.configurations.iter())
            .filter(|c| options.shard.is_none_or(|s| s.contains(c.index)))
            .flat_map(|c| (0..seeds).map(move |k| (c, manifest.base_seed + k)))
            .filter(|(c, seed)| !done.contains(&(c.index, *seed)))
            .collect();
        let total = rows.len() + todo.len();
        progress(Progress {
            done: rows.len(),
            total,
        });
        let mut writer = PartialWriter::open(dir, &rows)?;
        let abort = AtomicBool::new(false);
        // Every run reads the same trace: parse it once for all of them.
        let shared = &crate::workload::SharedInputs::new();
        let (tx, rx) = mpsc::channel::<Result<String, SweepError>>();
        let mut first_error: Option<SweepError> = None;
        let threads = options.threads.unwrap_or(0);
        std::thread::scope(|scope| {
            let abort = &abort;
            let todo = &todo;
            scope.spawn(move || {
                // `tx` is dropped when the runs are done, ending `rx`.
                run::parallel_for_each(todo, threads, |&(c, seed)| {
                    if !abort.load(Ordering::Relaxed) {
                        let _ = tx.send(self.run_one(c, seed, shared));
                    }
                });
            });
            // The receiving end writes: one writer, whole lines.
            for result in rx {
                let row = result.and_then(|line| {
                    let row = Row::parse(&line, &|| "a fresh row".to_string())?;
                    writer.append(&row)?;
                    Ok(row)
                });
                match row {
                    Ok(row) => {
                        rows.push(row);
                        progress(Progress {
                            done: rows.len(),
                            total,
                        });
                    }
                    Err(e) => {
                        abort.store(true, Ordering::Relaxed);
                        first_error.get_or_insert(e);
                    }
                }
            }
        });
        if let Some(e) = first_error {
            return Err(e);
        }
        results::finish(dir, &mut rows)?;
        Ok(rows)
    }

    /// One run, as its results line.
    fn run_one(
        &self,
        c: &Configuration,
        seed: u64,
        shared: &crate::workload::SharedInputs,
    ) -> Result<String, SweepError> {
        let sets: Vec<String> = (self.sets.iter().cloned())
            .chain(c.sets())
            .chain([format!("seed={seed}")])
            .collect();
        let s =
            scenario::load_str(&self.text, &self.file, &self.base_dir, &sets).map_err(|error| {
                SweepError::Configuration {
                    config: c.index,
                    sets: c.sets().collect(),
                    error: Box::new(error),
                }
            })?;
        let result = run::run_shared(&s, Some(shared)).map_err(|e| SweepError::Run {
            config: c.index,
            seed,
            message: e.to_string(),
        })?;
        let knobs: serde_json::Map<String, serde_json::Value> = (c.values.iter())
            .map(|(k, v)| (k.clone(), knob_json(v)))
            .collect();
        let line = RowOut {
            config: c.index,
            seed,
            knobs: &c
                .values
                .iter()
                .map(|(k, _)| (k.as_str(), &knobs[k]))
                .collect(),
            summary: &result.summary,
        };
        serde_json::to_string(&line).map_err(|e| SweepError::Run {
            config: c.index,
            seed,
            message: e.to_string(),
        })
    }
}

/// A results line as written: knobs keep their command-line order.
#[derive(Serialize)]
struct RowOut<'a> {
    config: usize,
    seed: u64,
    #[serde(serialize_with = "ordered_map")]
    knobs: &'a Vec<(&'a str, &'a serde_json::Value)>,
    summary: &'a fleetsim_core::summary::Summary,
}

fn ordered_map<S: serde::Serializer>(
    entries: &&Vec<(&str, &serde_json::Value)>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(entries.iter().map(|(k, v)| (*k, *v)))
}

/// A knob value (in `--set` syntax) as JSON: TOML numbers, booleans and
/// strings map across; arrays, tables and bare words stay text.
fn knob_json(text: &str) -> serde_json::Value {
    use toml_edit::Value;
    match text.trim().parse::<Value>() {
        Ok(Value::Integer(i)) => (*i.value()).into(),
        Ok(Value::Float(x)) => serde_json::Number::from_f64(*x.value())
            .map_or_else(|| text.into(), serde_json::Value::Number),
        Ok(Value::Boolean(b)) => (*b.value()).into(),
        Ok(Value::String(s)) => s.value().clone().into(),
        _ => text.trim().into(),
    }
}

/// Makes `dir` ready: creates it and its manifest, or, when resuming,
/// checks the manifest and reads the rows already there.
fn prepare_dir(dir: &Path, manifest: &Manifest, resume: bool) -> Result<Vec<Row>, SweepError> {
    let out_err = |message: String| SweepError::OutDir {
        dir: dir.to_path_buf(),
        message,
    };
    let manifest_path = dir.join(results::MANIFEST);
    let finished = dir.join(results::RESULTS_JSONL);
    let partial = dir.join(results::PARTIAL_JSONL);
    if manifest_path.exists() {
        let found = read_manifest(&manifest_path)?;
        if found != *manifest {
            return Err(out_err(format!(
                "holds results of a different sweep ({}); use another --out directory{}",
                manifest_difference(&found, manifest),
                if resume {
                    ""
                } else {
                    " or --resume the same sweep"
                }
            )));
        }
        if !resume {
            return Err(out_err(
                "already holds this sweep: add --resume to continue (or skip) it".into(),
            ));
        }
        // A row must be a run of this sweep (and of this shard).
        let belongs = |r: &Row| {
            let seeds = u64::from(manifest.spec.seeds);
            let seed_ok = r.seed.wrapping_sub(manifest.base_seed) < seeds;
            if r.config >= manifest.configurations || !seed_ok {
                return Err(format!(
                    "configuration {}, seed {} is not a run of this sweep (configurations 0 to \
                     {}, seeds {} to {})",
                    r.config,
                    r.seed,
                    manifest.configurations.saturating_sub(1),
                    manifest.base_seed,
                    manifest.base_seed.wrapping_add(seeds.saturating_sub(1))
                ));
            }
            match manifest.shard {
                Some(s) if !s.contains(r.config) => Err(format!(
                    "configuration {} is not in shard {}/{}",
                    r.config, s.index, s.count
                )),
                _ => Ok(()),
            }
        };
        if partial.exists() {
            return results::read_rows_of(&partial, true, &belongs);
        }
        if finished.exists() {
            return results::read_rows_of(&finished, false, &belongs);
        }
        return Ok(Vec::new());
    }
    if finished.exists() || partial.exists() {
        return Err(out_err(format!(
            "has results but no {}: not a fleetsim sweep directory",
            results::MANIFEST
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| SweepError::Io {
        path: dir.to_path_buf(),
        error: e.to_string(),
    })?;
    write_manifest(&manifest_path, manifest)?;
    Ok(Vec::new())
}

/// Reads `sweep.json`.
pub fn read_manifest(path: &Path) -> Result<Manifest, SweepError> {
    let text = std::fs::read_to_string(path).map_err(|e| SweepError::Io {
        path: path.to_path_buf(),
        error: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| SweepError::Results {
        at: format!("{}:{}", path.display(), e.line()),
        message: e.to_string(),
    })
}

fn write_manifest(path: &Path, manifest: &Manifest) -> Result<(), SweepError> {
    let mut text = serde_json::to_string_pretty(manifest).map_err(|e| SweepError::Results {
        at: path.display().to_string(),
        message: e.to_string(),
    })?;
    text.push('\n');
    results::write_atomic(path, text.as_bytes())
}

/// The first field in which two manifests differ, for error messages.
fn manifest_difference(found: &Manifest, wanted: &Manifest) -> String {
    let field = if found.scenario != wanted.scenario {
        format!("scenario {:?}, not {:?}", found.scenario, wanted.scenario)
    } else if found.scenario_fnv64 != wanted.scenario_fnv64 {
        "the scenario file has changed since".to_string()
    } else if found.sets != wanted.sets {
        format!("--set {:?}, not {:?}", found.sets, wanted.sets)
    } else if found.base_seed != wanted.base_seed {
        format!("base seed {}, not {}", found.base_seed, wanted.base_seed)
    } else if found.spec != wanted.spec {
        "other knobs, draws or seeds".to_string()
    } else {
        format!("shard {:?}, not {:?}", found.shard, wanted.shard)
    };
    format!("it has {field}")
}

/// Combines finished shard directories into `out`: checks that they are
/// shards of one sweep, that every shard of `0..n` is there once and
/// complete, and writes the same `sweep.json`, `results.jsonl` and
/// `results.csv` the unsharded sweep writes.
pub fn merge(out: &Path, shard_dirs: &[PathBuf]) -> Result<Vec<Row>, SweepError> {
    let mut manifests: Vec<(Manifest, &PathBuf)> = Vec::new();
    for dir in shard_dirs {
        manifests.push((read_manifest(&dir.join(results::MANIFEST))?, dir));
    }
    let Some((first, _)) = manifests.first() else {
        return Err(SweepError::Knob {
            flag: "merge".into(),
            message: "give the shard directories to merge".into(),
        });
    };
    let whole = Manifest {
        shard: None,
        ..first.clone()
    };
    let count = match first.shard {
        Some(s) => s.count,
        None => {
            return Err(SweepError::OutDir {
                dir: manifests[0].1.clone(),
                message: "is not a shard (it was run without --shard)".into(),
            })
        }
    };
    let mut seen: Vec<Option<&PathBuf>> = vec![None; count as usize];
    let mut rows = Vec::new();
    for (m, dir) in &manifests {
        let out_err = |message: String| SweepError::OutDir {
            dir: dir.to_path_buf(),
            message,
        };
        let shard = m
            .shard
            .ok_or_else(|| out_err("is not a shard (it was run without --shard)".into()))?;
        let as_whole = Manifest {
            shard: None,
            ..m.clone()
        };
        if as_whole != whole || shard.count != count {
            return Err(out_err(format!(
                "is a shard of a different sweep than {} ({})",
                manifests[0].1.display(),
                manifest_difference(m, first)
            )));
        }
        if let Some(other) = seen[shard.index as usize].replace(dir) {
            return Err(out_err(format!(
                "shard {}/{count} is also in {}",
                shard.index,
                other.display()
            )));
        }
        let finished = dir.join(results::RESULTS_JSONL);
        if !finished.exists() {
            return Err(out_err(format!(
                "shard {}/{count} has not finished (no {}); --resume it first",
                shard.index,
                results::RESULTS_JSONL
            )));
        }
        let shard_rows = results::read_rows(&finished, false)?;
        let expected = (0..whole.configurations)
            .filter(|&c| shard.contains(c))
            .count()
            * whole.spec.seeds as usize;
        if shard_rows.len() != expected
            || shard_rows.iter().any(|r| {
                !shard.contains(r.config)
                    || r.seed.wrapping_sub(whole.base_seed) >= u64::from(whole.spec.seeds)
            })
        {
            return Err(out_err(format!(
                "{} has {} rows, expected {expected} of shard {}/{count}",
                results::RESULTS_JSONL,
                shard_rows.len(),
                shard.index
            )));
        }
        rows.extend(shard_rows);
    }
    let missing: Vec<String> = (seen.iter().enumerate())
        .filter(|(_, d)| d.is_none())
        .map(|(i, _)| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(SweepError::Knob {
            flag: "merge".into(),
            message: format!("missing shard(s) {}", missing.join(", ")),
        });
    }
    let manifest_path = out.join(results::MANIFEST);
    if manifest_path.exists() || out.join(results::RESULTS_JSONL).exists() {
        return Err(SweepError::OutDir {
            dir: out.to_path_buf(),
            message: "already holds a sweep; merge into an empty directory".into(),
        });
    }
    std::fs::create_dir_all(out).map_err(|e| SweepError::Io {
        path: out.to_path_buf(),
        error: e.to_string(),
    })?;
    write_manifest(&manifest_path, &whole)?;
    results::finish(out, &mut rows)?;
    Ok(rows)
}
