//! Token lengths resampled from a trace file (`kind = "trace"`).
#![allow(clippy::unwrap_used)]

use crate::common;

use fleetsim::scenario::{load_str, QUICKSTART_TOML};
use fleetsim_core::workload::azure::AzureReader;
use std::collections::BTreeSet;

#[test]
fn output_lengths_are_drawn_from_the_traces_values() {
    let root = common::workspace_root();
    let trace = root.join("traces/example-azure.csv");
    let in_trace: BTreeSet<u32> = AzureReader::new(std::fs::File::open(&trace).unwrap())
        .map(|r| r.unwrap().output_tokens)
        .collect();
    let sets = vec![
        "workload.duration_s=30".to_string(),
        r#"workload.output_tokens={ kind = "trace", path = "traces/example-azure.csv", side = "output" }"#.to_string(),
    ];
    let scenario = load_str(QUICKSTART_TOML, "quickstart", &root, &sets).unwrap();
    let records = fleetsim::run::run(&scenario).unwrap().records;
    let drawn: BTreeSet<u32> = records.iter().map(|r| r.output_tokens).collect();
    assert!(records.len() > 500);
    assert!(
        drawn.is_subset(&in_trace),
        "drew {drawn:?}, trace has {in_trace:?}"
    );
    assert_eq!(
        drawn, in_trace,
        "hundreds of draws should hit every one of the trace's values"
    );
}

#[test]
fn a_missing_length_trace_names_the_field() {
    let root = common::workspace_root();
    let sets = vec![
        r#"workload.input_tokens={ kind = "trace", path = "nope.csv", side = "input" }"#
            .to_string(),
    ];
    let e = load_str(QUICKSTART_TOML, "q.toml", &root, &sets)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("field `workload.input_tokens.path`") && e.contains("nope.csv"),
        "{e}"
    );
}
