//! GPUs and models a scenario describes (`[[gpus]]`, `[[models]]`): a
//! copy of a catalogue entry under another name runs exactly as the
//! entry does. (Bad entries are cases of `bad_input.rs`.)
#![allow(clippy::unwrap_used)]

use crate::common;
use fleetsim::report::summary_json;
use fleetsim::scenario::{load_str, QUICKSTART_TOML};
use fleetsim_core::output::{write_replicas_csv, write_requests_csv, write_timeseries_csv};
use std::path::Path;

/// Summary JSON and the three CSV files of `toml` run with `sets`.
fn outputs(toml: &str, sets: &[&str]) -> [Vec<u8>; 4] {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let scenario = load_str(toml, "scenario.toml", Path::new("."), &sets).unwrap();
    let result = fleetsim::run::run(&scenario).unwrap();
    let mut requests = Vec::new();
    write_requests_csv(&result.records, &result.summary, &mut requests).unwrap();
    let mut timeseries = Vec::new();
    write_timeseries_csv(&result.timeseries, &mut timeseries).unwrap();
    let mut replicas = Vec::new();
    write_replicas_csv(&result.replicas, &result.summary.deployments, &mut replicas).unwrap();
    [
        summary_json(&result.summary).into_bytes(),
        requests,
        timeseries,
        replicas,
    ]
}

/// Runs the quickstart with `extra` sets on the catalogue's entries and on
/// their copies, and requires the same bytes.
fn same_as_the_catalogue(extra: &[&str]) {
    let mut sets = vec![
        "workload.duration_s=120",
        // The deployment's name would default to the model's.
        "deployment.name=\"fleet\"",
    ];
    sets.extend_from_slice(extra);
    let catalogue = outputs(QUICKSTART_TOML, &sets);
    let own_toml = QUICKSTART_TOML
        .replacen("model = \"llama-3.1-8b\"", "model = \"my-model\"", 1)
        .replacen("gpu = \"h100-sxm\"", "gpu = \"my-gpu\"", 1);
    assert_ne!(own_toml, QUICKSTART_TOML, "the quickstart names both");
    let own = outputs(&format!("{own_toml}{}", common::OWN_HARDWARE), &sets);
    assert!(catalogue[1].len() > 1000, "the run served requests");
    for (i, file) in [
        "summary.json",
        "requests.csv",
        "timeseries.csv",
        "replicas.csv",
    ]
    .iter()
    .enumerate()
    {
        assert!(catalogue[i] == own[i], "{file} differs ({extra:?})");
    }
}

#[test]
fn a_copy_of_a_catalogue_gpu_and_model_gives_the_same_bytes() {
    same_as_the_catalogue(&[]);
}

#[test]
fn a_copy_gives_the_same_bytes_with_cold_starts_and_fp8() {
    // Scheduled scaling on a node pool: weights sized from the model's
    // parameters, replicas started during the run; FP8 weights read the
    // GPU's FP8 peak.
    same_as_the_catalogue(&[
        "scaling.kind=\"scheduled\"",
        "scaling.schedule=[{ at_s = 30, replicas = 4 }, { at_s = 90, replicas = 1 }]",
        "pool.usd_per_gpu_hour=3.9",
        "deployment.engine.weights_dtype=\"fp8\"",
    ]);
}
