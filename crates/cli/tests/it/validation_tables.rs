//! Validation of the performance model against every public measurement in
//! `validation/measurements.csv`, split into a fit set and a check set
//! before any fitting (the split rule is in `validation/README.md`).
//!
//! Each configuration (engine, model, GPU, TP, dtype, shape, load) is
//! simulated once as a scenario built the way a user would write it; each
//! published metric of it is compared with the simulated one. Rows the
//! model cannot express (a model or GPU outside the catalogue, FP4,
//! pipeline parallelism, closed-loop clients) are counted and named, never
//! silently dropped. The test prints, per table and set, the mean absolute
//! percentage error (MAPE) and asserts the check set's stays within
//! `CHECK_MAPE_BOUND`, the figure `docs/validation.md` documents.
//!
//! ```text
//! cargo test --release -p fleetsim --test it validation_tables -- --nocapture
//! ```
#![allow(clippy::unwrap_used)]

use fleetsim::scenario::load_str;
use fleetsim_core::model::hardware;
use std::collections::BTreeMap;
use std::path::Path;

/// The check set's MAPE may not exceed this (as a fraction). Lowered as
/// the model improves; the issue's goal is 0.15.
const CHECK_MAPE_BOUND: f64 = 0.19;

/// The table of real vLLM runs (`validation/README.md`), reported apart
/// from the published tables.
const VLLM_RUNS: &str = "vllm-0.15-inference-perf";

/// The real vLLM runs' check-set MAPE of each latency (end-to-end, TTFT,
/// time per output token) may not exceed this.
const VLLM_RUNS_CHECK_MAPE_BOUND: f64 = 0.11;

/// One published figure: what was measured (read from the same CSV row
/// as its configuration) and under which configuration.
#[derive(Clone, Debug)]
pub(crate) struct Measurement {
    pub(crate) config: Configuration,
    pub(crate) figure: Figure,
}

/// A row's columns besides its configuration.
#[derive(Clone, Debug, serde::Deserialize)]
pub(crate) struct Figure {
    pub(crate) table: String,
    pub(crate) metric: String,
    pub(crate) published: f64,
    pub(crate) set: String,
}

/// What is simulated once for all the metrics published about it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
pub(crate) struct Configuration {
    pub(crate) engine: String,
    pub(crate) model: String,
    pub(crate) gpu: String,
    pub(crate) tp: Option<u32>,
    pub(crate) pp: u32,
    pub(crate) dtype: String,
    pub(crate) isl: Option<u32>,
    pub(crate) osl: Option<u32>,
    pub(crate) requests: Option<u32>,
    pub(crate) mode: String,
    pub(crate) load: Option<String>,
    // The columns below are set only for runs whose workload shape and
    // engine settings the source gives (`validation/README.md`).
    /// Tokens of the shared system prompt that opens every prompt.
    pub(crate) prefix_tokens: Option<u32>,
    /// Distinct system prompts.
    pub(crate) prefix_groups: Option<u32>,
    /// Distinct prompts (system prompt + question) per system prompt.
    pub(crate) prompts_per_group: Option<u32>,
    /// Length of a constant-rate stage, s.
    pub(crate) duration_s: Option<u32>,
    pub(crate) max_num_batched_tokens: Option<u32>,
    pub(crate) max_num_seqs: Option<u32>,
    /// Kept as written (an `f64` is not `Ord`).
    pub(crate) gpu_memory_utilization: Option<String>,
    pub(crate) max_model_len: Option<u32>,
    /// TensorRT-LLM's `enable_attention_dp`, where the source turns it on.
    pub(crate) attention_dp: Option<bool>,
}

/// How the trace files this test writes (and deletes) are named.
const TRACE_FILE_PREFIX: &str = "fleetsim-validation-trace-";

/// Distinguishes the trace files of configurations simulated at once.
static TRACE_FILES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// KV-cache block of vLLM, tokens: the unit its prefix cache hashes.
const VLLM_BLOCK_TOKENS: u32 = 16;

impl Configuration {
    /// The scenario a user would write for this configuration, or why the
    /// model cannot express it.
    fn scenario(&self, perf: Option<&str>) -> Result<String, String> {
        // A fitted frontend latency belongs to the engine's table.
        let (frontend, perf): (Vec<&str>, Vec<&str>) = perf
            .unwrap_or_default()
            .lines()
            .partition(|l| l.starts_with("frontend_latency_ms"));
        let perf = perf.join("\n");
        let perf = (!perf.is_empty()).then_some(perf.as_str());
        if hardware::model(&self.model).is_none() {
            return Err(format!("model {} not in the catalogue", self.model));
        }
        if hardware::gpu(&self.gpu).is_none() {
            return Err(format!("GPU {} not in the catalogue", self.gpu));
        }
        let (Some(tp), Some(isl), Some(osl)) = (self.tp, self.isl, self.osl) else {
            return Err("dataset prompts or TP degree not published".into());
        };
        if self.pp > 1 {
            return Err("pipeline parallelism".into());
        }
        let dtype = match self.dtype.as_str() {
            "fp4" => "fp4",
            "fp8" => "fp8",
            "bf16" | "fp16" => "bf16",
            other => return Err(format!("{other} weights")),
        };
        // Requests, their arrival rate and the engine's batch cap.
        let (requests, rate, max_num_seqs) = match (self.mode.as_str(), self.load.as_deref()) {
            ("offline", _) => (self.requests.unwrap_or(1000), 1e6, None),
            ("poisson", Some("inf")) => (self.requests.unwrap_or(500), 1e6, None),
            ("poisson", Some(qps)) => (
                self.requests.unwrap_or(500),
                qps.parse::<f64>()
                    .map_err(|e| format!("load {qps:?}: {e}"))?,
                None,
            ),
            ("static_batch", Some(b)) => {
                let b: u32 = b.parse().map_err(|e| format!("load {b:?}: {e}"))?;
                (b, 1e6, Some(b))
            }
            ("constant", None) => return Err("stage rate not published".into()),
            ("constant", Some(rate)) => {
                let rate: f64 = rate.parse().map_err(|e| format!("load {rate:?}: {e}"))?;
                let duration = self.duration_s.ok_or("stage length not published")?;
                // Whole requests over the stage, as the load generator sends them.
                (
                    (rate * f64::from(duration)).round() as u32,
                    rate,
                    self.max_num_seqs,
                )
            }
            (mode, _) => return Err(format!("{mode} clients")),
        };
        // Each engine with its defaults, plus what the source says it
        // changed: TensorRT-LLM's offline runs give 95 % of free memory to
        // the KV cache (`validation/README.md`).
        let mut engine = match self.engine.as_str() {
            "trtllm" | "nim" => "kind = \"trtllm\"\n".to_string(),
            _ => String::new(),
        };
        if self.engine == "trtllm" && self.mode == "offline" {
            engine.push_str("kv_cache_free_gpu_mem_fraction = 0.95\n");
        }
        if self.attention_dp == Some(true) {
            engine.push_str("attention_data_parallel = true\n");
        }
        for line in frontend {
            engine.push_str(line);
            engine.push('\n');
        }
        if let Some(b) = max_num_seqs {
            engine.push_str(&format!("max_num_seqs = {b}\n"));
        }
        if let Some(t) = self.max_num_batched_tokens {
            engine.push_str(&format!("max_num_batched_tokens = {t}\n"));
        }
        if let Some(u) = &self.gpu_memory_utilization {
            engine.push_str(&format!("gpu_memory_utilization = {u}\n"));
        }
        if let Some(l) = self.max_model_len {
            engine.push_str(&format!("max_model_len_tokens = {l}\n"));
        }
        if self.mode == "constant" {
            let workload = self.constant_rate_trace(requests, rate, isl, osl)?;
            return Ok(format!(
                r#"seed = 1
{workload}
[deployment]
model = "{model}"
gpu = "{gpu}"
tensor_parallel = {tp}
replicas = 1
[deployment.engine]
weights_dtype = "{dtype}"
prefix_caching = true
prefix_block_tokens = {VLLM_BLOCK_TOKENS}
{engine}{perf}"#,
                model = self.model,
                gpu = self.gpu,
                perf = perf
                    .map(|p| format!("[deployment.perf]\n{p}"))
                    .unwrap_or_default(),
            ));
        }
        Ok(format!(
            r#"seed = 1
[workload]
kind = "synthetic"
duration_s = 1000000
max_requests = {requests}
arrival = {{ kind = "poisson", rate_per_s = {rate} }}
input_tokens = {{ kind = "fixed", tokens = {isl} }}
output_tokens = {{ kind = "fixed", tokens = {osl} }}
[deployment]
model = "{model}"
gpu = "{gpu}"
tensor_parallel = {tp}
replicas = 1
[deployment.engine]
weights_dtype = "{dtype}"
prefix_caching = false
{engine}{perf}"#,
            model = self.model,
            gpu = self.gpu,
            perf = perf
                .map(|p| format!("[deployment.perf]\n{p}"))
                .unwrap_or_default(),
        ))
    }

    /// The `[workload]` of a constant-rate stage with reused prompts, as a
    /// generic-CSV trace written to a temporary file: `requests` arrivals
    /// `1/rate` apart, cycling through `prefix_groups × prompts_per_group`
    /// distinct prompts. Each prompt's full 16-token blocks carry vLLM-style
    /// prefix hashes: the blocks inside the system prompt are shared by its
    /// group, the rest belong to the prompt alone, so a repeated prompt hits
    /// its whole prefix and a new one of the same group its system prompt.
    fn constant_rate_trace(
        &self,
        requests: u32,
        rate: f64,
        isl: u32,
        osl: u32,
    ) -> Result<String, String> {
        let (Some(prefix), Some(groups), Some(per_group)) = (
            self.prefix_tokens,
            self.prefix_groups,
            self.prompts_per_group,
        ) else {
            return Err("prompt reuse not published".into());
        };
        let prompts = groups * per_group;
        let blocks = isl / VLLM_BLOCK_TOKENS;
        let shared = prefix / VLLM_BLOCK_TOKENS;
        let mut csv = String::from("time_s,input_tokens,output_tokens,prefix_hashes\n");
        for i in 0..requests {
            let prompt = u64::from(i % prompts);
            let group = prompt / u64::from(per_group);
            let hashes: Vec<String> = (0..u64::from(blocks))
                .map(|b| {
                    if b < u64::from(shared) {
                        ((group << 32) | b).to_string()
                    } else {
                        ((1 << 63) | (prompt << 32) | b).to_string()
                    }
                })
                .collect();
            csv.push_str(&format!(
                "{:.6},{isl},{osl},{}\n",
                f64::from(i) / rate,
                hashes.join(";")
            ));
        }
        let n = TRACE_FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("{TRACE_FILE_PREFIX}{}-{n}.csv", std::process::id()));
        std::fs::write(&path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(format!(
            "[workload]\nkind = \"trace\"\nformat = \"generic_csv\"\npath = {:?}",
            path.display().to_string()
        ))
    }

    /// Simulated value of every metric this configuration publishes.
    pub(crate) fn simulate(
        &self,
        perf: Option<&str>,
    ) -> Result<BTreeMap<&'static str, f64>, String> {
        let toml = self.scenario(perf)?;
        let loaded = load_str(&toml, "measurement", Path::new("."), &[]);
        // The trace file `constant_rate_trace` wrote, to delete after the
        // run; never another `path` (a measured profile in `perf`).
        let trace = toml
            .lines()
            .find_map(|l| l.strip_prefix("path = \""))
            .map(|p| p.trim_end_matches('"').to_string())
            .filter(|p| {
                Path::new(p)
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(TRACE_FILE_PREFIX))
            });
        let run = loaded
            .map_err(|e| format!("scenario: {e}"))
            .and_then(|scenario| fleetsim::run::run(&scenario).map_err(|e| format!("run: {e}")));
        if let Some(trace) = trace {
            let _ = std::fs::remove_file(trace);
        }
        let s = run?.summary;
        if s.requests.completed != s.requests.arrived {
            return Err(format!(
                "{} of {} requests completed",
                s.requests.completed, s.requests.arrived
            ));
        }
        let span_s = s.sim.simulated_s;
        let tokens = s.requests.completed as f64 * f64::from(self.osl.unwrap_or(0));
        Ok(BTreeMap::from([
            ("output_tok_s", tokens / span_s),
            ("req_s", s.requests.completed as f64 / span_s),
            ("ttft_ms_mean", s.latency.ttft_ms.mean),
            ("ttft_ms_p99", s.latency.ttft_ms.p99),
            ("itl_ms_mean", s.latency.tpot_ms.mean),
            ("tpot_ms_mean", s.latency.tpot_ms.mean),
            ("tpot_ms_p99", s.latency.tpot_ms.p99),
            ("latency_ms_mean", s.latency.e2e_ms.mean),
        ]))
    }
}

pub(crate) fn measurements() -> Vec<Measurement> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../validation/measurements.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|row| {
            let row = row.unwrap();
            Measurement {
                config: row.deserialize(Some(&headers)).unwrap(),
                figure: row.deserialize(Some(&headers)).unwrap(),
            }
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    abs_errors: Vec<f64>,
    not_expressible: BTreeMap<String, usize>,
}

impl Tally {
    fn mape(&self) -> Option<f64> {
        (!self.abs_errors.is_empty())
            .then(|| self.abs_errors.iter().sum::<f64>() / self.abs_errors.len() as f64)
    }
}

#[test]
fn check_set_mape_stays_within_the_documented_bound() {
    let rows = measurements();
    assert!(rows.len() > 100, "{} measurements", rows.len());
    for r in &rows {
        assert!(
            r.figure.set == "fit" || r.figure.set == "check",
            "set {:?}",
            r.figure.set
        );
        assert!(r.figure.published > 0.0, "{r:?}");
    }
    let mut configurations: BTreeMap<Configuration, Vec<&Measurement>> = BTreeMap::new();
    for r in &rows {
        configurations.entry(r.config.clone()).or_default().push(r);
    }
    // (table, set) → tally; (group, set) → tally, the real vLLM runs apart
    // from the published tables; their (set, metric) → tally.
    let mut by_table: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut by_set: BTreeMap<(&str, String), Tally> = BTreeMap::new();
    let mut vllm_runs: BTreeMap<(String, String), Tally> = BTreeMap::new();
    println!("| table | set | model | GPU | TP | dtype | ISL/OSL | load | metric | published | simulated | error |");
    println!("|---|---|---|---|---:|---|---|---|---|---:|---:|---:|");
    for (config, published) in &configurations {
        let simulated = config.simulate(None);
        for m in published {
            let key = (m.figure.table.clone(), m.figure.set.clone());
            let group = if m.figure.table == VLLM_RUNS {
                "real vLLM runs"
            } else {
                "all"
            };
            let set_key = (group, m.figure.set.clone());
            let metric_key = (m.figure.set.clone(), m.figure.metric.clone());
            let run_tally = (m.figure.table == VLLM_RUNS).then_some(&mut vllm_runs);
            match &simulated {
                Err(why) => {
                    if let Some(runs) = run_tally {
                        *runs
                            .entry(metric_key)
                            .or_default()
                            .not_expressible
                            .entry(why.clone())
                            .or_default() += 1;
                    }
                    for t in [
                        by_table.entry(key).or_default(),
                        by_set.entry(set_key).or_default(),
                    ] {
                        *t.not_expressible.entry(why.clone()).or_default() += 1;
                    }
                }
                Ok(values) => {
                    let Some(&value) = values.get(m.figure.metric.as_str()) else {
                        panic!("unknown metric {:?}", m.figure.metric);
                    };
                    let error = (value - m.figure.published) / m.figure.published;
                    println!(
                        "| {} | {} | {} | {} | {} | {} | {}/{} | {} {} | {} | {} | {value:.1} | {:+.0} % |",
                        m.figure.table,
                        m.figure.set,
                        config.model,
                        config.gpu,
                        config.tp.unwrap_or(0),
                        config.dtype,
                        config.isl.unwrap_or(0),
                        config.osl.unwrap_or(0),
                        config.mode,
                        config.load.as_deref().unwrap_or(""),
                        m.figure.metric,
                        m.figure.published,
                        error * 100.0
                    );
                    by_table
                        .entry(key)
                        .or_default()
                        .abs_errors
                        .push(error.abs());
                    by_set
                        .entry(set_key)
                        .or_default()
                        .abs_errors
                        .push(error.abs());
                    if let Some(runs) = run_tally {
                        runs.entry(metric_key)
                            .or_default()
                            .abs_errors
                            .push(error.abs());
                    }
                }
            }
        }
    }
    println!();
    println!("| table | set | figures | MAPE | not expressible |");
    println!("|---|---|---:|---:|---|");
    let summary = |name: &str, set: &str, t: &Tally| {
        let missing: Vec<String> = t
            .not_expressible
            .iter()
            .map(|(why, n)| format!("{n}: {why}"))
            .collect();
        println!(
            "| {name} | {set} | {} | {} | {} |",
            t.abs_errors.len(),
            t.mape()
                .map(|m| format!("{:.1} %", m * 100.0))
                .unwrap_or_else(|| "–".into()),
            missing.join("; ")
        );
    };
    for ((table, set), t) in &by_table {
        summary(table, set, t);
    }
    for ((group, set), t) in &by_set {
        summary(group, set, t);
    }
    println!();
    println!("| real vLLM runs | set | figures | MAPE | not expressible |");
    println!("|---|---|---:|---:|---|");
    for ((set, metric), t) in &vllm_runs {
        summary(metric, set, t);
    }
    let check = by_set
        .get(&("all", "check".to_string()))
        .and_then(Tally::mape)
        .unwrap();
    assert!(
        check <= CHECK_MAPE_BOUND,
        "check-set MAPE {:.1} % exceeds the documented bound {:.0} %",
        check * 100.0,
        CHECK_MAPE_BOUND * 100.0
    );
    for metric in ["latency_ms_mean", "ttft_ms_mean", "tpot_ms_mean"] {
        let t = &vllm_runs[&("check".to_string(), metric.to_string())];
        let mape = t.mape().unwrap();
        assert!(
            mape <= VLLM_RUNS_CHECK_MAPE_BOUND,
            "real vLLM runs, {metric}: check-set MAPE {:.1} % exceeds the documented bound {:.0} %",
            mape * 100.0,
            VLLM_RUNS_CHECK_MAPE_BOUND * 100.0
        );
        // Every run whose stage rate is published is expressible.
        assert!(
            t.not_expressible
                .keys()
                .all(|why| why == "stage rate not published"),
            "{metric}: {:?}",
            t.not_expressible
        );
    }
}

/// The highest share of datasheet memory bandwidth a fit may claim: the
/// 92 % Azure measured on ND GB200 v6 (7.35 of 8 TB/s,
/// `../shared/reference/hardware.md` §4).
const MAX_MEMORY_EFFICIENCY: f64 = 0.92;

/// The calibration's free parameters, starting at the values
/// `crates/sim-core/src/model/calibration.rs` holds: achieved fractions
/// of peak per GPU generation and precision, and the engine's overheads.
const PARAMETERS: [(&str, f64, f64, f64); 10] = [
    // (name, start, lower bound, upper bound)
    ("hopper.compute_efficiency", 0.665, 0.2, 1.0),
    ("hopper.fp8_compute_efficiency", 0.615, 0.2, 1.0),
    ("hopper.memory_efficiency", 0.92, 0.3, MAX_MEMORY_EFFICIENCY),
    ("ampere.compute_efficiency", 0.81, 0.2, 1.0),
    ("ampere.memory_efficiency", 0.82, 0.3, MAX_MEMORY_EFFICIENCY),
    ("ada.fp8_compute_efficiency", 0.486, 0.2, 1.0),
    ("ada.memory_efficiency", 0.828, 0.3, MAX_MEMORY_EFFICIENCY),
    ("blackwell.fp4_compute_efficiency", 0.227, 0.1, 1.0),
    ("trtllm.step_overhead_s", 2.139e-3, 0.0, 5e-3),
    ("trtllm.per_seq_overhead_s", 19.49e-6, 0.0, 100e-6),
];

/// vLLM's free parameters, fitted on the real vLLM runs' fit set with the
/// generations' efficiencies above held: its overheads per iteration and
/// per scheduled sequence and its per-request frontend latency.
const VLLM_PARAMETERS: [(&str, f64, f64, f64); 3] = [
    ("vllm.step_overhead_s", 1.4952e-3, 0.0, 5e-3),
    ("vllm.per_seq_overhead_s", 29.31e-6, 0.0, 100e-6),
    ("vllm.frontend_latency_ms", 6.457, 0.0, 50.0),
];

/// The `[deployment.perf]` keys for a configuration under `parameters`
/// at values `x` (a `frontend_latency_ms` line is moved to the engine's
/// table by [`Configuration::scenario`]).
fn perf_keys(
    config: &Configuration,
    parameters: &[(&str, f64, f64, f64)],
    x: &[f64],
) -> Option<String> {
    let generation = format!("{:?}", hardware::gpu(&config.gpu)?.generation).to_lowercase();
    let mut keys = String::new();
    for ((name, ..), v) in parameters.iter().zip(x) {
        let (scope, key) = name.split_once('.')?;
        if scope == generation || scope == config.engine {
            keys.push_str(&format!("{key} = {v:e}\n"));
        }
    }
    Some(keys)
}

/// Mean absolute relative error over `figures` under `parameters` at
/// values `x`, simulating the configurations on two threads.
fn fit_error(
    figures: &[(Configuration, Vec<&Measurement>)],
    parameters: &[(&str, f64, f64, f64)],
    x: &[f64],
) -> f64 {
    let errors: Vec<f64> = std::thread::scope(|scope| {
        let halves: Vec<_> = [0, 1]
            .into_iter()
            .map(|h| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for (config, published) in figures.iter().skip(h).step_by(2) {
                        let perf = perf_keys(config, parameters, x);
                        let values = config.simulate(perf.as_deref());
                        for m in published {
                            let e = match &values {
                                Ok(v) => ((v[m.figure.metric.as_str()] - m.figure.published)
                                    / m.figure.published)
                                    .abs(),
                                Err(_) => 1.0,
                            };
                            out.push(e);
                        }
                    }
                    out
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    errors.iter().sum::<f64>() / errors.len() as f64
}

/// Fits `PARAMETERS` to the published tables' fit set by coordinate
/// descent (each parameter in turn scaled by ±30 %, ±10 %, ±3 % within its
/// bounds, kept when the fit-set MAPE drops), from the current calibration.
/// Prints the result; `crates/sim-core/src/model/calibration.rs` holds
/// what it found.
///
/// ```text
/// cargo test --release -p fleetsim --test it fit_calibration -- --ignored --nocapture
/// ```
#[test]
#[ignore = "a fit, minutes long: run by hand when the model changes"]
fn fit_calibration() {
    fit(&PARAMETERS, |r| r.figure.table != VLLM_RUNS);
}

/// Fits `VLLM_PARAMETERS` the same way to the fit runs of the real vLLM
/// table only.
///
/// ```text
/// cargo test --release -p fleetsim --test it fit_vllm_calibration -- --ignored --nocapture
/// ```
#[test]
#[ignore = "a fit, minutes long: run by hand when the model changes"]
fn fit_vllm_calibration() {
    fit(&VLLM_PARAMETERS, |r| r.figure.table == VLLM_RUNS);
}

fn fit(parameters: &[(&str, f64, f64, f64)], table: impl Fn(&Measurement) -> bool) {
    let rows = measurements();
    let mut grouped: BTreeMap<Configuration, Vec<&Measurement>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.figure.set == "fit" && table(r)) {
        let c = r.config.clone();
        if c.scenario(None).is_ok() {
            grouped.entry(c).or_default().push(r);
        }
    }
    let figures: Vec<(Configuration, Vec<&Measurement>)> = grouped.into_iter().collect();
    println!(
        "{} fit figures",
        figures.iter().map(|f| f.1.len()).sum::<usize>()
    );
    let mut x: Vec<f64> = parameters.iter().map(|p| p.1).collect();
    let mut best = fit_error(&figures, parameters, &x);
    println!("start: fit MAPE {:.2} %", best * 100.0);
    for step in [0.3, 0.1, 0.03] {
        for _round in 0..3 {
            let mut improved = false;
            for (i, &(name, _, lo, hi)) in parameters.iter().enumerate() {
                for factor in [1.0 - step, 1.0 + step] {
                    let mut y = x.clone();
                    y[i] = (x[i] * factor).clamp(lo, hi);
                    if (y[i] - x[i]).abs() <= f64::EPSILON * x[i].abs() {
                        continue;
                    }
                    let e = fit_error(&figures, parameters, &y);
                    if e < best {
                        best = e;
                        x = y;
                        improved = true;
                        println!("{name} = {:e}: fit MAPE {:.2} %", x[i], best * 100.0);
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }
    println!("fitted (fit MAPE {:.2} %):", best * 100.0);
    for ((name, ..), v) in parameters.iter().zip(&x) {
        println!("  {name} = {v:e}");
    }
}
