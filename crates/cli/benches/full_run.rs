//! A whole run through the library: the Azure LLM 2023 conversation trace
//! (19,366 requests, CC-BY-4.0, Patel et al., Splitwise, ISCA 2024) read
//! from `../shared` and replayed on 4 × H100 serving Llama-3.1-8B with
//! continuous batching. Measures what `fleetsim run` does between loading
//! the scenario and printing: reading and parsing the CSV, the simulation
//! and the summary. Criterion reports simulated requests per second.
//!
//! Skipped, with a message, when `../shared` is not next to the workspace.
//!
//! ```text
//! CARGO_TARGET_DIR=... cargo bench -p fleetsim --bench full_run
//! ```
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::PathBuf;
use std::time::Duration;

const TRACE: &str = "../shared/traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv";

/// The same deployment as `scenarios/azure-conv.toml`, with the trace path
/// relative to the workspace root.
const SCENARIO: &str = r#"
name = "bench-azure-conv"
seed = 1

[workload]
kind = "trace"
format = "azure"
path = "../shared/traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv"

[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
tensor_parallel = 1
replicas = 4

[router]
kind = "least_outstanding"

[sla]
ttft_ms = 500
tpot_ms = 50
targets = [{ metric = "ttft_ms", percentile = 95, max_ms = 500 }]
"#;

fn full_run(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    if !root.join(TRACE).is_file() {
        println!(
            "full_run: skipped, {} not found (../shared must sit next to the workspace)",
            root.join(TRACE).display()
        );
        return;
    }
    let scenario = fleetsim::scenario::load_str(SCENARIO, "full_run bench", &root, &[]).unwrap();
    let requests = fleetsim::run::run(&scenario)
        .unwrap()
        .summary
        .requests
        .arrived;
    let mut group = c.benchmark_group("full_run");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(requests));
    group.bench_function("azure_conv_4xh100_llama8b", |b| {
        b.iter(|| fleetsim::run::run(&scenario).unwrap())
    });
    group.finish();
}

criterion_group!(benches, full_run);
criterion_main!(benches);
