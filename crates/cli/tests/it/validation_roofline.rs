//! Validation against published measurements of a real engine: TensorRT-LLM
//! v0.14 online serving of Llama-3.1-8B (BF16) on one H100, 500 requests
//! with Poisson arrivals (NVIDIA's perf-overview, reference table §7.5-B).
//!
//! With its default calibration factors, the roofline model must reproduce
//! mean TTFT and mean inter-token latency at QPS 2–16, and the achieved
//! request rate at QPS ∞, each within 20 %. The engine's batch capacity in
//! those runs is not published; the scenario uses `max_num_seqs = 320`
//! (see `docs/validation.md` for why).
#![allow(clippy::unwrap_used)]

use fleetsim::scenario::load_str;
use std::path::Path;

struct Row {
    isl: u32,
    osl: u32,
    /// `None` is QPS ∞: all requests at once.
    qps: Option<f64>,
    ttft_ms: f64,
    itl_ms: f64,
    achieved_rps: f64,
}

const fn row(
    isl: u32,
    osl: u32,
    qps: Option<f64>,
    achieved_rps: f64,
    ttft_ms: f64,
    itl_ms: f64,
) -> Row {
    Row {
        isl,
        osl,
        qps,
        ttft_ms,
        itl_ms,
        achieved_rps,
    }
}

/// The published rows: ISL, OSL, QPS, achieved req/s, mean TTFT ms, mean ITL ms.
const ROWS: [Row; 15] = [
    row(467, 256, Some(2.0), 2.0, 23.0, 8.0),
    row(467, 256, Some(4.0), 4.0, 24.0, 9.0),
    row(467, 256, Some(8.0), 8.0, 26.0, 9.0),
    row(467, 256, Some(16.0), 15.0, 30.0, 11.0),
    row(467, 256, None, 37.0, 3335.0, 39.0),
    row(202, 214, Some(2.0), 2.0, 19.0, 7.0),
    row(202, 214, Some(4.0), 4.0, 20.0, 8.0),
    row(202, 214, Some(8.0), 7.0, 21.0, 9.0),
    row(202, 214, Some(16.0), 13.0, 23.0, 10.0),
    row(202, 214, None, 39.0, 1657.0, 21.0),
    row(467, 16, Some(2.0), 2.0, 19.0, 7.0),
    row(467, 16, Some(4.0), 4.0, 20.0, 7.0),
    row(467, 16, Some(8.0), 8.0, 22.0, 7.0),
    row(467, 16, Some(16.0), 16.0, 24.0, 8.0),
    row(467, 16, None, 79.0, 3280.0, 193.0),
];

/// Simulated (mean TTFT ms, mean ITL ms, achieved req/s) for one row.
fn simulate(r: &Row) -> (f64, f64, f64) {
    // QPS ∞: Poisson at the generator's maximum rate puts all 500 requests
    // within a millisecond.
    let rate = r.qps.unwrap_or(1e6);
    let toml = format!(
        r#"
seed = 3
[workload]
kind = "synthetic"
duration_s = 100000
max_requests = 500
arrival = {{ kind = "poisson", rate_per_s = {rate} }}
input_tokens = {{ kind = "fixed", tokens = {isl} }}
output_tokens = {{ kind = "fixed", tokens = {osl} }}
[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 1
[deployment.engine]
max_num_seqs = 320
frontend_latency_ms = 10.45
async_scheduling = false
[deployment.perf]
compute_efficiency = 0.81
memory_efficiency = 0.88
step_overhead_s = 0.00128
per_seq_overhead_s = 0.000041
"#,
        isl = r.isl,
        osl = r.osl
    );
    let scenario = load_str(&toml, "trtllm-row", Path::new("."), &[]).unwrap();
    let s = fleetsim::run::run(&scenario).unwrap().summary;
    assert_eq!(s.requests.completed, 500);
    (
        s.latency.ttft_ms.mean,
        s.latency.tpot_ms.mean,
        s.requests.completed as f64 / s.sim.simulated_s,
    )
}

#[test]
fn roofline_reproduces_trtllm_online_serving_within_20_percent() {
    let mut worst: f64 = 0.0;
    let mut failures = Vec::new();
    println!("| ISL→OSL | QPS | metric | published | simulated | error |");
    println!("|---|---|---|---:|---:|---:|");
    for r in &ROWS {
        let (ttft, itl, rps) = simulate(r);
        let qps = r
            .qps
            .map(|q| q.to_string())
            .unwrap_or_else(|| "∞".to_string());
        let checks: Vec<(&str, f64, f64)> = match r.qps {
            Some(_) => vec![
                ("mean TTFT ms", r.ttft_ms, ttft),
                ("mean ITL ms", r.itl_ms, itl),
            ],
            None => vec![("achieved req/s", r.achieved_rps, rps)],
        };
        for (metric, published, simulated) in checks {
            let error = (simulated - published) / published;
            worst = worst.max(error.abs());
            println!(
                "| {}→{} | {qps} | {metric} | {published} | {simulated:.1} | {:+.0} % |",
                r.isl,
                r.osl,
                error * 100.0
            );
            if error.abs() > 0.20 {
                failures.push(format!(
                    "{}→{} QPS {qps} {metric}: {simulated:.1} vs {published}",
                    r.isl, r.osl
                ));
            }
        }
    }
    println!("worst error {:.1} %", worst * 100.0);
    assert!(failures.is_empty(), "rows outside 20 %: {failures:#?}");
}
