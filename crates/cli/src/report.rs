//! Human-readable tables and the `--out` directory.

use crate::scenario::Scenario;
use fleetsim_core::metrics::LatencyStats;
use fleetsim_core::summary::{SlaReport, Summary};
use fleetsim_core::RunResult;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

/// The run summary as a terminal table.
pub fn render_table(scenario: &Scenario, summary: &Summary) -> String {
    let mut out = String::new();
    let fleets: Vec<String> = (scenario.deployments.iter())
        .map(|d| {
            format!(
                "{} on {} × {} (TP{})",
                d.model, d.replicas, d.gpu, d.tensor_parallel
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "scenario   {}: {}, seed {}",
        scenario.name,
        fleets.join("; "),
        summary.sim.seed
    );
    let r = &summary.requests;
    let _ = writeln!(
        out,
        "requests   arrived {}  completed {}  rejected {}  timed out {}  failed {}",
        r.arrived, r.completed, r.rejected, r.timed_out, r.failed
    );
    let _ = writeln!(
        out,
        "latency    {:<9}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}",
        "(ms)", "mean", "p50", "p90", "p95", "p99", "max"
    );
    for (name, s) in [
        ("queue", &summary.latency.queue_ms),
        ("ttft", &summary.latency.ttft_ms),
        ("tpot", &summary.latency.tpot_ms),
        ("itl max", &summary.latency.itl_max_ms),
        ("e2e", &summary.latency.e2e_ms),
    ] {
        if s.count == 0 {
            // Zeros here would read as instant answers.
            let _ = writeln!(out, "           {name:<9}(no completed request to measure)");
            continue;
        }
        let _ = writeln!(
            out,
            "           {:<9}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}",
            name, s.mean, s.p50, s.p90, s.p95, s.p99, s.max
        );
    }
    let sla = &scenario.sim.sla;
    let mut thresholds: Vec<String> = Vec::new();
    for (name, v) in [
        ("ttft", sla.ttft_ms),
        ("tpot", sla.tpot_ms),
        ("e2e", sla.e2e_ms),
    ] {
        if let Some(v) = v {
            thresholds.push(format!("{name} ≤ {v} ms"));
        }
    }
    let thresholds = if thresholds.is_empty() {
        "completed".to_string()
    } else {
        thresholds.join(", ")
    };
    let _ = writeln!(
        out,
        "sla        attainment {:.2} % ({}), misses {}",
        summary.sla.attainment * 100.0,
        thresholds,
        summary.sla.misses
    );
    for t in &summary.sla.targets {
        let verdict = match (t.actual_ms, &t.reason) {
            (Some(ms), _) => format!("{ms:.1} ms {}", if t.met { "met" } else { "MISSED" }),
            (None, why) => format!(
                "MISSED, not measured: {}",
                why.as_deref().unwrap_or("no value")
            ),
        };
        let _ = writeln!(
            out,
            "           p{} {} ≤ {} ms: {verdict}",
            t.percentile,
            t.metric.name(),
            t.max_ms,
        );
    }
    if summary.deployments.len() > 1 {
        for d in &summary.deployments {
            let r = &d.requests;
            let _ = writeln!(
                out,
                "deployment {}: arrived {}  completed {}  rejected {}  timed out {}  failed {}; ttft p95 {}; sla {:.2} %{}; {:.3} GPU-hours held",
                d.name,
                r.arrived,
                r.completed,
                r.rejected,
                r.timed_out,
                r.failed,
                ms_of(&d.latency.ttft_ms, |l| l.p95),
                d.sla.attainment * 100.0,
                targets_verdict(&d.sla),
                d.gpu_hours.billed
            );
        }
    }
    let several = summary.deployments.len() > 1;
    for d in &summary.deployments {
        for c in &d.classes {
            let r = &c.requests;
            let name = if several {
                format!("{} / {}", d.name, c.name)
            } else {
                c.name.clone()
            };
            let _ = writeln!(
                out,
                "class      {name}: arrived {}  completed {}  rejected {}  timed out {}; queue p99 {}, ttft p95 {}; sla {:.2} %{}",
                r.arrived,
                r.completed,
                r.rejected,
                r.timed_out,
                ms_of(&c.latency.queue_ms, |l| l.p99),
                ms_of(&c.latency.ttft_ms, |l| l.p95),
                c.sla.attainment * 100.0,
                targets_verdict(&c.sla)
            );
        }
    }
    let g = &summary.gpu_hours;
    let _ = writeln!(
        out,
        "gpu hours  billed {:.3}  busy {:.3}  idle {:.3}",
        g.billed, g.busy, g.idle
    );
    let f = &summary.fleet;
    let _ = writeln!(
        out,
        "fleet      busy fraction min {:.2} / mean {:.2} / max {:.2}, {} iterations, {} preemptions",
        f.busy_fraction_min, f.busy_fraction_mean, f.busy_fraction_max, f.iterations, f.preemptions
    );
    if f.preemption_bound {
        let _ = writeln!(
            out,
            "warning    preemption-bound: {:.0} % of the engine's token work was recomputing \
             {} tokens that {} preemptions threw away; the KV cache cannot hold the batch \
             (lower max_num_seqs, add memory or GPUs, or on TensorRT-LLM reserve KV with \
             capacity_scheduler = \"guaranteed_no_evict\")",
            f.recompute_share * 100.0,
            f.recomputed_tokens,
            f.preemptions
        );
    }
    if let Some(p) = summary.prefix_cache.as_ref().filter(|p| p.query_blocks > 0) {
        let _ = writeln!(
            out,
            "prefix     hit rate {:.1} % of blocks, {:.1} % of prompt tokens ({} cached prefill tokens); \
             per replica min {:.1} / mean {:.1} / max {:.1} %",
            p.block_hit_rate * 100.0,
            p.token_hit_rate * 100.0,
            p.cached_prefill_tokens,
            p.replica_block_hit_rate_min * 100.0,
            p.replica_block_hit_rate_mean * 100.0,
            p.replica_block_hit_rate_max * 100.0
        );
    }
    if let Some(a) = &summary.adapters {
        let _ = writeln!(
            out,
            "lora       {} adapter loads, {} evictions (max_loras {}, {} ms a load)",
            a.loads, a.evictions, a.max_loras, a.adapter_load_ms
        );
    }
    let _ = writeln!(
        out,
        "throughput {:.2} req/s, {:.0} output tok/s",
        summary.throughput.requests_per_s, summary.throughput.output_tokens_per_s
    );
    let wall = summary
        .sim
        .wall_s
        .map(|w| format!(" in {w:.3} s wall"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "sim        {} events, {:.1} s simulated{}",
        summary.sim.events, summary.sim.simulated_s, wall
    );
    out
}

/// A latency figure in ms, or a dash when no completed request had it (a
/// zero would read as an instant answer).
fn ms_of(stats: &LatencyStats, pick: impl Fn(&LatencyStats) -> f64) -> String {
    match stats.count {
        0 => "– ms (none completed)".to_string(),
        _ => format!("{:.1} ms", pick(stats)),
    }
}

/// `; targets met` or `; targets MISSED (1 of 2)` for a section with
/// percentile targets, nothing without.
fn targets_verdict(sla: &SlaReport) -> String {
    let missed = sla.targets.iter().filter(|t| !t.met).count();
    match (sla.targets.len(), missed) {
        (0, _) => String::new(),
        (_, 0) => "; targets met".to_string(),
        (n, k) => format!("; targets MISSED ({k} of {n})"),
    }
}

/// The summary as pretty JSON with a trailing newline.
pub fn summary_json(summary: &Summary) -> String {
    let mut s =
        serde_json::to_string_pretty(summary).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// Writes `summary.json`, `requests.csv`, `timeseries.csv` and
/// `replicas.csv` into `dir` as a set: into a sibling directory renamed
/// into place, replacing an earlier run's set ([`crate::out_dir`]). The
/// binary prepares the directory before the run instead
/// ([`crate::out_dir::OutDir::prepare`]), so a path it cannot write fails
/// first.
pub fn write_out_dir(dir: &Path, result: &RunResult) -> Result<(), crate::out_dir::OutDirError> {
    let out = crate::out_dir::OutDir::prepare(dir)?;
    out.write_run(result)?;
    out.commit()
}

/// Writes a file via a temporary sibling and a rename.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut io::BufWriter<std::fs::File>) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let file = std::fs::File::create(&tmp)?;
    let mut w = io::BufWriter::new(file);
    write(&mut w)?;
    w.flush()?;
    w.get_ref().sync_all()?;
    drop(w);
    std::fs::rename(&tmp, path)
}
