//! The measured-operator path beside the roofline: step-time profiles
//! converted from NVIDIA aiconfigurator's per-operator database
//! (`tools/aiconfigurator/`), used with `[deployment.perf] kind = "table",
//! fallback = "roofline"`.
//!
//! Without the package, `a_table_with_roofline_fallback_*` checks the
//! fallback and the provenance notes on a tiny synthetic table. With
//! profiles generated for the check set (they are never committed):
//!
//! ```text
//! python tools/aiconfigurator/check_set_tables.py --out /work/aic-tables
//! FLEETSIM_AIC_TABLES=/work/aic-tables \
//!   cargo test --release -p fleetsim --test it validation_operators -- --nocapture
//! ```
//!
//! the opt-in test simulates every check-set row that has a profile three
//! times, with the roofline, with the profile, and with the profile and
//! `mixed_steps = "merged"`, and prints the three MAPEs per table and per
//! configuration on the same rows.
#![allow(clippy::unwrap_used)]

use crate::common;
use crate::validation_tables::{measurements, Configuration, Figure};
use fleetsim::scenario::load_str;
use fleetsim_core::model::MeasuredTable;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A profile covering decode batches 1–4 and prefill steps up to 512 tokens,
/// with provenance notes as the converter writes them.
const TINY_TABLE: &str = "# package: example-operators 1.0\n\
    # measured operators (silicon at every grid point): gemm\n\
    phase,batch_size,tokens,step_ms\n\
    decode,1,128,4.0\n\
    decode,1,4096,5.0\n\
    decode,4,512,4.5\n\
    decode,4,16384,8.0\n\
    prefill,,128,6.0\n\
    prefill,,512,12.0\n";

fn tiny_scenario(rate: f64, perf: &str) -> String {
    format!(
        r#"seed = 7
[workload]
kind = "synthetic"
duration_s = 200
max_requests = 200
arrival = {{ kind = "poisson", rate_per_s = {rate} }}
input_tokens = {{ kind = "fixed", tokens = 256 }}
output_tokens = {{ kind = "fixed", tokens = 64 }}
[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 1
[deployment.engine]
weights_dtype = "fp8"
prefix_caching = false
[deployment.perf]
{perf}"#
    )
}

fn run(dir: &Path, toml: &str) -> Result<fleetsim_core::RunResult, String> {
    let scenario = load_str(toml, "s.toml", dir, &[]).map_err(|e| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    })?;
    fleetsim::run::run(&scenario).map_err(|e| e.to_string())
}

#[test]
fn a_table_with_roofline_fallback_times_only_the_unmeasured_steps_by_the_roofline() {
    let dir = common::scratch_dir("validation-operators");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tiny.csv"), TINY_TABLE).unwrap();
    let t = MeasuredTable::from_reader(TINY_TABLE.as_bytes()).unwrap();
    assert_eq!(t.notes()[0], "package: example-operators 1.0");
    let table = "kind = \"table\"\npath = \"tiny.csv\"\n";
    let fallback = format!("{table}fallback = \"roofline\"\n");
    let e2e = |rate: f64, perf: &str| {
        let s = run(&dir, &tiny_scenario(rate, perf)).unwrap().summary;
        assert_eq!(s.requests.completed, s.requests.arrived);
        // Bit patterns: the runs are deterministic, so equal means identical.
        s.latency.e2e_ms.mean.to_bits()
    };
    // At 0.05 req/s requests never overlap: one sequence decodes, prefill
    // steps are 256 tokens, all inside the table, so the fallback changes
    // nothing.
    assert_eq!(e2e(0.05, table), e2e(0.05, &fallback));
    assert_ne!(e2e(0.05, table), e2e(0.05, ""));
    // Saturated, batches pass 4 sequences and prefill chunks pass 512
    // tokens: those steps are the roofline's, so the runs differ, and they
    // differ from the roofline alone too (the small steps are the table's).
    let (extrapolated, mixed, roofline) = (e2e(1e6, table), e2e(1e6, &fallback), e2e(1e6, ""));
    assert!(
        extrapolated != mixed && mixed != roofline,
        "{extrapolated} {mixed} {roofline}"
    );
    // Roofline factors tune the fallback, so they are accepted only with it.
    let tuned = format!("{fallback}step_overhead_s = 0.01\n");
    assert!(f64::from_bits(e2e(1e6, &tuned)) > f64::from_bits(mixed));
    let e = run(
        &dir,
        &tiny_scenario(1.0, &format!("{table}step_overhead_s = 0.01\n")),
    )
    .unwrap_err();
    assert!(
        e.contains("deployment.perf.step_overhead_s") && e.contains("fallback"),
        "{e}"
    );
    let e = run(&dir, &tiny_scenario(1.0, "fallback = \"roofline\"\n")).unwrap_err();
    assert!(e.contains("deployment.perf.fallback"), "{e}");
    let e = run(&dir, &tiny_scenario(1.0, "mixed_steps = \"merged\"\n")).unwrap_err();
    assert!(e.contains("deployment.perf.mixed_steps"), "{e}");
    // Merged mixed steps are cheaper than the sum at load, where prefill
    // chunks join running decodes.
    let merged = format!("{table}mixed_steps = \"merged\"\n");
    assert!(f64::from_bits(e2e(1.0, &merged)) < f64::from_bits(e2e(1.0, table)));
    let e = run(
        &dir,
        &tiny_scenario(1.0, &format!("{table}fallback = \"nope\"\n")),
    )
    .unwrap_err();
    assert!(e.contains("fallback"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The profile `check_set_tables.py` writes for a configuration.
fn profile(config: &Configuration, dir: &Path) -> Option<PathBuf> {
    if config.engine != "trtllm" {
        return None;
    }
    let path = dir.join(format!(
        "{}__{}__tp{}__{}__isl{}.csv",
        config.model, config.gpu, config.tp?, config.dtype, config.isl?
    ));
    path.is_file().then_some(path)
}

/// Absolute relative errors of the roofline and of the profile (mixed
/// steps summed, and merged), same rows.
#[derive(Default)]
struct Errors {
    roofline: Vec<f64>,
    operators: Vec<f64>,
    merged: Vec<f64>,
}

impl Errors {
    fn push(&mut self, published: f64, simulated: [f64; 3]) {
        let e = simulated.map(|v| ((v - published) / published).abs());
        self.roofline.push(e[0]);
        self.operators.push(e[1]);
        self.merged.push(e[2]);
    }

    fn cells(&self) -> String {
        let mape = |e: &[f64]| e.iter().sum::<f64>() / e.len() as f64 * 100.0;
        format!(
            "{} | {:.1} % | {:.1} % | {:.1} %",
            self.roofline.len(),
            mape(&self.roofline),
            mape(&self.operators),
            mape(&self.merged)
        )
    }
}

#[test]
fn check_set_mape_with_measured_operator_profiles() {
    let Some(dir) = std::env::var_os("FLEETSIM_AIC_TABLES").map(PathBuf::from) else {
        eprintln!("FLEETSIM_AIC_TABLES unset: skipped (see tools/aiconfigurator/README.md)");
        return;
    };
    // The rows and scenarios of `validation_tables`, so both tests simulate
    // a row the same way.
    let mut configurations: BTreeMap<Configuration, Vec<Figure>> = BTreeMap::new();
    for m in measurements() {
        if m.figure.set == "check" {
            configurations.entry(m.config).or_default().push(m.figure);
        }
    }
    let mut by_table: BTreeMap<String, Errors> = BTreeMap::new();
    let mut by_config: BTreeMap<(String, String, String, u32, String), Errors> = BTreeMap::new();
    let mut all = Errors::default();
    let mut skipped: BTreeMap<(String, String), usize> = BTreeMap::new();
    println!("| table | model | GPU | TP | dtype | ISL/OSL | load | metric | published | roofline | operators | merged |");
    println!("|---|---|---|---:|---|---|---|---|---:|---:|---:|---:|");
    for (config, figures) in &configurations {
        let Some(profile) = profile(config, &dir) else {
            for f in figures {
                *skipped
                    .entry((f.table.clone(), "no profile".into()))
                    .or_default() += 1;
            }
            continue;
        };
        // Every profile carries the converter's provenance notes.
        let text = std::fs::read(&profile).unwrap();
        let notes = MeasuredTable::from_reader(text.as_slice())
            .unwrap()
            .notes()
            .join("\n");
        assert!(
            notes.contains("package: aiconfigurator-core") && notes.contains("data version"),
            "{}: {notes}",
            profile.display()
        );
        let table = format!(
            "kind = \"table\"\npath = {:?}\nfallback = \"roofline\"\n",
            profile.display().to_string()
        );
        let runs = [
            config.simulate(None),
            config.simulate(Some(&table)),
            config.simulate(Some(&format!("{table}mixed_steps = \"merged\"\n"))),
        ];
        for f in figures {
            let (Ok(r), Ok(o), Ok(m)) = (&runs[0], &runs[1], &runs[2]) else {
                let why = runs.iter().find_map(|r| r.as_ref().err()).unwrap();
                *skipped.entry((f.table.clone(), why.clone())).or_default() += 1;
                continue;
            };
            let metric = f.metric.as_str();
            let simulated = [r[metric], o[metric], m[metric]];
            println!(
                "| {} | {} | {} | {} | {} | {}/{} | {} {} | {} | {} | {:.1} | {:.1} | {:.1} |",
                f.table,
                config.model,
                config.gpu,
                config.tp.unwrap_or(0),
                config.dtype,
                config.isl.unwrap_or(0),
                config.osl.unwrap_or(0),
                config.mode,
                config.load.as_deref().unwrap_or(""),
                f.metric,
                f.published,
                simulated[0],
                simulated[1],
                simulated[2],
            );
            let key = (
                f.table.clone(),
                config.model.clone(),
                config.gpu.clone(),
                config.tp.unwrap_or(0),
                config.dtype.clone(),
            );
            by_table
                .entry(f.table.clone())
                .or_default()
                .push(f.published, simulated);
            by_config
                .entry(key)
                .or_default()
                .push(f.published, simulated);
            all.push(f.published, simulated);
        }
    }
    assert!(
        !all.roofline.is_empty(),
        "no check-set row has a profile in {}",
        dir.display()
    );
    println!(
        "\n| table | figures | roofline MAPE | measured-operator MAPE | same, mixed steps merged |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (table, e) in &by_table {
        println!("| {table} | {} |", e.cells());
    }
    println!("| all covered | {} |", all.cells());
    println!("\n| table | model | GPU | TP | dtype | figures | roofline MAPE | measured-operator MAPE | merged |");
    println!("|---|---|---|---:|---|---:|---:|---:|---:|");
    for ((table, model, gpu, tp, dtype), e) in &by_config {
        println!(
            "| {table} | {model} | {gpu} | {tp} | {dtype} | {} |",
            e.cells()
        );
    }
    println!("\n| table | rows not compared | why |\n|---|---:|---|");
    for ((table, why), n) in &skipped {
        println!("| {table} | {n} | {why} |");
    }
}
