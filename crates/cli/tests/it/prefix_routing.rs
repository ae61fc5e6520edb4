//! Prefix caching, LoRA and the cache-aware routers end to end: the
//! once-per-run warnings about ignored request fields, the Mooncake
//! conversation evidence (prefix-aware routing beats round robin on the same
//! fleet) and determinism with the caches on.
#![allow(clippy::unwrap_used)]

use crate::common;

use fleetsim::report::summary_json;
use fleetsim::scenario::load_file;
use fleetsim_core::output::{write_replicas_csv, write_requests_csv};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleetsim-prefix-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A Mooncake trace of `n` requests sharing a first block.
fn mooncake(n: u64) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"timestamp\": {}, \"input_length\": 1500, \"output_length\": 4, \"hash_ids\": [0, {}, {}]}}\n",
                i * 500,
                2 * i + 1,
                2 * i + 2
            )
        })
        .collect()
}

const SCENARIO: &str = r#"[workload]
kind = "trace"
path = "trace.jsonl"

[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 2
"#;

/// Runs `fleetsim run scenario.toml` with `extra` TOML appended and the
/// trace, requires success, returns stderr.
fn stderr_of(test: &str, extra: &str, trace: &str, trace_name: &str) -> String {
    let dir = scratch(test);
    let scenario = SCENARIO.replace("trace.jsonl", trace_name);
    std::fs::write(dir.join("scenario.toml"), format!("{scenario}{extra}")).unwrap();
    std::fs::write(dir.join(trace_name), trace).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(["run", "scenario.toml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{test}: {stderr}");
    assert!(!stderr.contains("panicked"), "{test}: {stderr}");
    stderr
}

#[test]
fn ignored_prefix_hashes_and_adapters_are_warned_about_once() {
    // (test, extra scenario text, expected warning fragments; none = silent)
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "round_robin",
            "[router]\nkind = \"round_robin\"\n",
            &["router `round_robin` ignores", "replicas still cache"],
        ),
        (
            "caching_off",
            "[deployment.engine]\nprefix_caching = false\n",
            &["neither prefix caching nor router `least_outstanding`"],
        ),
        ("prefix_aware", "[router]\nkind = \"prefix_aware\"\n", &[]),
        (
            "session_affinity",
            "[router]\nkind = \"session_affinity\"\n",
            &[],
        ),
    ];
    let trace = mooncake(20);
    for (test, extra, expect) in cases {
        let stderr = stderr_of(test, extra, &trace, "trace.jsonl");
        let lines: Vec<&str> = stderr.lines().collect();
        if expect.is_empty() {
            assert!(lines.is_empty(), "{test}: {stderr}");
            continue;
        }
        assert_eq!(
            lines.len(),
            1,
            "{test}: one warning for 20 requests: {stderr}"
        );
        assert!(lines[0].starts_with("warning: "), "{test}: {stderr}");
        for fragment in *expect {
            assert!(
                lines[0].contains(fragment),
                "{test}: {fragment:?} in {stderr}"
            );
        }
    }
}

#[test]
fn adapters_without_lora_are_warned_about_once() {
    let trace: String = std::iter::once("time_s,input_tokens,output_tokens,adapter\n".to_string())
        .chain((0..10).map(|i| format!("{}.0,100,4,a{}\n", i, i % 3)))
        .collect();
    let stderr = stderr_of("no_lora", "", &trace, "trace.csv");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("[deployment.lora]"), "{stderr}");
    let stderr = stderr_of(
        "with_lora",
        "[deployment.lora]\nmax_loras = 2\nadapter_load_ms = 50\n[router]\nkind = \"lora_aware\"\n",
        &trace,
        "trace.csv",
    );
    assert!(stderr.is_empty(), "{stderr}");
}

fn prefix_scenario() -> Option<PathBuf> {
    common::shared_dir("prefix_routing")?;
    Some(common::workspace_root().join("scenarios/mooncake-prefix.toml"))
}

/// The evidence in `docs/routing.md`: on the Mooncake conversation trace,
/// prefix-aware routing prefills fewer tokens and lowers mean TTFT versus
/// round robin on the same fleet.
#[test]
fn prefix_aware_beats_round_robin_on_mooncake_conversation() {
    let Some(path) = prefix_scenario() else {
        return;
    };
    let run = |router: &str| {
        let scenario = load_file(&path, &[format!("router={router}")]).unwrap();
        fleetsim::run::run(&scenario).unwrap().summary
    };
    let aware = run("{kind=\"prefix_aware\"}");
    let rr = run("{kind=\"round_robin\"}");
    let (pa, pr) = (
        aware.prefix_cache.clone().unwrap(),
        rr.prefix_cache.clone().unwrap(),
    );
    eprintln!(
        "prefix_aware: {} cached tokens, hit {:.3}, ttft mean {:.1} ms; round_robin: {} cached, hit {:.3}, ttft mean {:.1} ms",
        pa.cached_prefill_tokens,
        pa.block_hit_rate,
        aware.latency.ttft_ms.mean,
        pr.cached_prefill_tokens,
        pr.block_hit_rate,
        rr.latency.ttft_ms.mean
    );
    assert_eq!(aware.requests.arrived, 12_031);
    assert_eq!(aware.requests.completed, rr.requests.completed);
    assert!(pa.cached_prefill_tokens > pr.cached_prefill_tokens * 3 / 2);
    assert!(pa.block_hit_rate > pr.block_hit_rate);
    assert!(aware.latency.ttft_ms.mean < rr.latency.ttft_ms.mean);
    assert_eq!(pa.lookups, pr.lookups);
}

#[test]
fn prefix_runs_are_deterministic() {
    let Some(path) = prefix_scenario() else {
        return;
    };
    let outputs = || {
        let sets = ["workload.transforms=[{kind=\"slice\",start_s=0,end_s=600}]".to_string()];
        let scenario = load_file(Path::new(&path), &sets).unwrap();
        let r = fleetsim::run::run(&scenario).unwrap();
        let (mut requests, mut replicas) = (Vec::new(), Vec::new());
        write_requests_csv(&r.records, &r.summary, &mut requests).unwrap();
        write_replicas_csv(&r.replicas, &r.summary.deployments, &mut replicas).unwrap();
        (summary_json(&r.summary), requests, replicas)
    };
    let (a, b) = (outputs(), outputs());
    assert!(a.0.contains("\"cached_prefill_tokens\""));
    assert_eq!(a, b);
}
