//! The CLI crate's integration tests, one module per area, built as a
//! single test binary: a binary per file linked the whole library once per
//! file, and that linking dominated `cargo test --release`.
//!
//! The modules share one process: a test must not change the process's
//! environment or current directory, and scratch files go under a name no
//! other test uses (`common::scratch_dir`).

mod common;

mod autoscaling;
mod bad_input;
mod batching_modes;
mod cascade;
mod check;
mod cli_run;
mod closed_stdout;
mod compare;
mod cost_attribution;
mod deployments;
mod determinism;
mod disaggregated;
mod docs_scaling_examples;
mod example_traces;
mod extreme;
mod hpa_behavior;
mod k8s;
mod k8s_fuzz;
mod lengths_from_trace;
mod lifecycle;
mod mig;
mod misplaced_errors;
mod own_hardware;
mod perf_table;
mod pipelines;
mod plan;
mod plan_oracle;
mod plot;
mod prefill_scheduling;
mod prefix_routing;
mod queueing;
mod reliability;
mod routers;
mod run_table;
mod scenarios;
mod servegen_shared;
mod shared_traces;
mod stepping;
mod streaming;
mod sweep;
mod timeseries;
mod validation_mmc;
mod validation_operators;
mod validation_roofline;
mod validation_tables;
mod variants;
mod verify_policies;
mod vertical_scaling;
mod workload_toml;
mod wrong_results;
