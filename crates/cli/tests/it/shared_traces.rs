//! The trace readers and the statistics against the real traces in
//! `../shared/traces` and their reference figures (`stats.json`, computed
//! independently with pandas/numpy). Skipped when `../shared` is absent.

use crate::common;

use fleetsim::core::workload::azure::AzureReader;
use fleetsim::core::workload::detect::{detect, TraceFormat};
use fleetsim::core::workload::mooncake::MooncakeReader;
use fleetsim::core::workload::stats::{compute, TokenStats, TraceStats, WindowStats};
use serde_json::Value;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The reference entry of `file` (a path relative to `traces/`).
fn reference(traces: &Path, file: &str) -> Value {
    let text = std::fs::read_to_string(traces.join("stats.json")).expect("read stats.json");
    let json: Value = serde_json::from_str(&text).expect("parse stats.json");
    json["traces"][file].clone()
}

/// Compares `got` with the reference number `want`. The reference is
/// rounded for display, so `got` must round to the same printed digits;
/// figures printed at full precision (six decimals or more) must agree
/// within 10⁻⁶ relative (numpy and we sum in different orders).
fn check_number(what: &str, got: f64, want: &Value) {
    let Some(expected) = want.as_f64() else {
        panic!("{what}: reference is {want}, got {got}");
    };
    let printed = want.to_string();
    let decimals = printed.split_once('.').map_or(0, |(_, frac)| frac.len());
    let tolerance = if decimals >= 6 {
        1e-6 * expected.abs()
    } else {
        0.5 * 10f64.powi(-(decimals as i32)) * (1.0 + 1e-9)
    };
    assert!(
        (got - expected).abs() <= tolerance,
        "{what}: got {got}, reference {printed} (tolerance {tolerance:e})"
    );
}

fn check_option(what: &str, got: Option<f64>, want: &Value) {
    match (got, want) {
        (None, Value::Null) => {}
        (Some(got), want) => check_number(what, got, want),
        (None, want) => panic!("{what}: got none, reference {want}"),
    }
}

fn check_windows(what: &str, got: &WindowStats, want: &Value) {
    assert_eq!(
        Some(got.complete_windows),
        want["complete_windows"].as_u64(),
        "{what}: complete windows"
    );
    check_option(
        &format!("{what} mean rate"),
        got.mean_rate_rps,
        &want["mean_rate_rps"],
    );
    check_option(
        &format!("{what} peak rate"),
        got.peak_rate_rps,
        &want["peak_rate_rps"],
    );
    check_option(
        &format!("{what} min rate"),
        got.min_rate_rps,
        &want["min_rate_rps"],
    );
    check_option(
        &format!("{what} peak/mean"),
        got.peak_to_mean,
        &want["peak_to_mean"],
    );
    check_option(
        &format!("{what} IoD"),
        got.index_of_dispersion,
        &want["index_of_dispersion"],
    );
}

fn check_tokens(what: &str, got: Option<&TokenStats>, want: &Value) {
    let Some(got) = got else {
        panic!("{what}: no token statistics");
    };
    check_number(&format!("{what} mean"), got.mean, &want["mean"]);
    check_number(&format!("{what} std"), got.std, &want["std"]);
    assert_eq!(Some(u64::from(got.min)), want["min"].as_u64(), "{what} min");
    check_number(&format!("{what} p50"), got.p50, &want["p50"]);
    check_number(&format!("{what} p90"), got.p90, &want["p90"]);
    check_number(&format!("{what} p99"), got.p99, &want["p99"]);
    assert_eq!(Some(u64::from(got.max)), want["max"].as_u64(), "{what} max");
}

fn check_stats(file: &str, got: &TraceStats, want: &Value) {
    assert_eq!(Some(got.requests), want["rows"].as_u64(), "{file}: rows");
    let arrivals = &want["arrivals"];
    assert_eq!(
        Some(got.requests),
        arrivals["requests"].as_u64(),
        "{file}: requests"
    );
    check_number(&format!("{file}: span"), got.span_s, &arrivals["span_s"]);
    check_option(
        &format!("{file}: mean rate"),
        got.mean_rate_rps,
        &arrivals["mean_rate_rps"],
    );
    check_option(
        &format!("{file}: IAT mean"),
        got.iat_mean_s,
        &arrivals["iat_mean_s"],
    );
    check_option(&format!("{file}: IAT CV"), got.iat_cv, &arrivals["iat_cv"]);
    check_option(
        &format!("{file}: zero-IAT fraction"),
        got.zero_iat_fraction,
        &arrivals["zero_iat_fraction"],
    );
    check_windows(
        &format!("{file}: 1-s windows"),
        &got.windows_1s,
        &arrivals["windows_1s"],
    );
    check_windows(
        &format!("{file}: 1-min windows"),
        &got.windows_1min,
        &arrivals["windows_1min"],
    );
    check_windows(
        &format!("{file}: 1-h windows"),
        &got.windows_1h,
        &arrivals["windows_1h"],
    );
    check_tokens(
        &format!("{file}: input tokens"),
        got.input_tokens.as_ref(),
        &want["input_tokens"],
    );
    check_tokens(
        &format!("{file}: output tokens"),
        got.output_tokens.as_ref(),
        &want["output_tokens"],
    );
}

fn traces_dir(test: &str) -> Option<PathBuf> {
    common::shared_dir(test).map(|dir| dir.join("traces"))
}

#[test]
fn azure_conversation_matches_reference_stats() {
    let Some(traces) = traces_dir("azure_conversation_matches_reference_stats") else {
        return;
    };
    let file = "azure_llm_2023/AzureLLMInferenceTrace_conv.csv";
    let start = Instant::now();
    let reader = AzureReader::new(File::open(traces.join(file)).expect("open the Azure trace"));
    let stats = compute(reader).expect("read the Azure trace");
    eprintln!(
        "{file}: read + stats in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    eprintln!("{}", fleetsim::trace_stats::render_table(&stats));
    check_stats(file, &stats, &reference(&traces, file));
}

#[test]
fn mooncake_traces_match_reference_stats() {
    let Some(traces) = traces_dir("mooncake_traces_match_reference_stats") else {
        return;
    };
    for file in [
        "mooncake_fast25/conversation_trace.jsonl",
        "mooncake_fast25/synthetic_trace.jsonl",
    ] {
        let start = Instant::now();
        let reader =
            MooncakeReader::new(File::open(traces.join(file)).expect("open a Mooncake trace"));
        let stats = compute(reader).expect("read a Mooncake trace");
        eprintln!(
            "{file}: read + stats in {:.1} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
        check_stats(file, &stats, &reference(&traces, file));
    }
}

#[test]
fn mooncake_prefix_hashes_are_kept() {
    let Some(traces) = traces_dir("mooncake_prefix_hashes_are_kept") else {
        return;
    };
    let file = "mooncake_fast25/conversation_trace.jsonl";
    let want = reference(&traces, file);
    let reader = MooncakeReader::new(File::open(traces.join(file)).expect("open a Mooncake trace"));
    let (mut refs, mut first_block_zero, mut requests) = (0u64, 0u64, 0u64);
    for request in reader {
        let request = request.expect("read a Mooncake trace");
        // Upstream blocks are 512 tokens: one hash per started block.
        assert_eq!(
            request.prefix_hashes.len(),
            (request.input_tokens as usize).div_ceil(512)
        );
        refs += request.prefix_hashes.len() as u64;
        first_block_zero += u64::from(request.prefix_hashes.first() == Some(&0));
        requests += 1;
    }
    assert_eq!(Some(refs), want["total_block_refs"].as_u64());
    assert_eq!(
        Some(first_block_zero),
        want["top_first_block_ids"]["0"].as_u64()
    );
    assert_eq!(Some(requests), want["rows"].as_u64());
}

/// What `detect` must say about a shared file, from its name.
fn expected_format(path: &Path) -> Option<TraceFormat> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.starts_with("AzureLLMInferenceTrace") {
        Some(TraceFormat::Azure)
    } else if name.ends_with(".jsonl") {
        Some(TraceFormat::Mooncake)
    } else if name.ends_with("_client_windows.csv") {
        Some(TraceFormat::ServeGenWindows)
    } else if name.starts_with("servegen_aggregate") {
        // A derived rate table, not a trace any reader takes.
        None
    } else {
        panic!("no expected format for {}", path.display());
    }
}

#[test]
fn detect_recognises_every_shared_trace() {
    let Some(traces) = traces_dir("detect_recognises_every_shared_trace") else {
        return;
    };
    let mut checked = 0;
    let mut dirs = vec![traces];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("list the traces") {
            let path = entry.expect("list the traces").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let extension = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            if !matches!(extension, "csv" | "jsonl") {
                continue;
            }
            let mut head = Vec::new();
            File::open(&path)
                .and_then(|f| f.take(8192).read_to_end(&mut head))
                .expect("read the head of a trace");
            let got = detect(&head).map_err(|e| e.to_string());
            match expected_format(&path) {
                Some(format) => assert_eq!(got, Ok(format), "{}", path.display()),
                None => assert!(
                    matches!(&got, Err(message) if message.contains("unrecognised trace format")),
                    "{}: {got:?}",
                    path.display()
                ),
            }
            checked += 1;
        }
    }
    // Azure, two Mooncake, five ServeGen client windows and the aggregate.
    assert!(checked >= 9, "only {checked} trace files found");
}
