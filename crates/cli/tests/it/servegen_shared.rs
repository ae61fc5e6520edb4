//! ServeGen generator against the real client-windows files in ../shared:
//! one generated day must reproduce the per-window aggregate rates that
//! `servegen_aggregate_rate_10min.csv` lists (the sum of the clients'
//! `rate_rps`, derived independently of this code).

// Test code: a failed unwrap is a failed test (clippy only exempts #[test] fns).
#![allow(clippy::unwrap_used)]

use crate::common;

use fleetsim_core::workload::lengths::TokenLengths;
use fleetsim_core::workload::servegen::{
    ServeGenConfig, ServeGenProfile, ServeGenWorkload, WINDOW_S,
};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// `(window_start_s, rate_rps)` of one model's column in the aggregate file.
fn aggregate(dir: &Path, model: &str) -> Vec<(f64, f64)> {
    let path = dir.join("traces/servegen/servegen_aggregate_rate_10min.csv");
    let mut csv = csv::Reader::from_path(path).unwrap();
    let column = format!("{model}_rate_rps");
    let idx = csv
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == column)
        .unwrap();
    csv.records()
        .map(|r| r.unwrap())
        .filter(|r| !r[idx].is_empty())
        .map(|r| (r[0].parse().unwrap(), r[idx].parse().unwrap()))
        .collect()
}

#[test]
fn one_day_matches_the_aggregate_rate_per_window() {
    let Some(dir) = common::shared_dir("one_day_matches_the_aggregate_rate_per_window") else {
        return;
    };
    // The two one-day models: 1.4 M and 0.8 M requests, under a second in
    // a debug build.
    for model in ["deepseek-r1", "mm-image"] {
        check_one_day(&dir, model);
    }
}

fn check_one_day(dir: &Path, model: &str) {
    let file = File::open(dir.join(format!(
        "traces/servegen/servegen_{model}_client_windows.csv"
    )))
    .unwrap();
    let mut config = ServeGenConfig::new(
        TokenLengths::Fixed { tokens: 1 },
        TokenLengths::Fixed { tokens: 1 },
    );
    config.end_s = Some(86_400.0);
    let workload = ServeGenWorkload::from_reader(BufReader::new(file), &config, 42).unwrap();

    let expect = aggregate(dir, model);
    assert_eq!(expect.len(), 144, "one day of 10-min windows");
    let mut counts = vec![0u64; expect.len()];
    let mut previous = 0;
    for request in workload {
        let t = request.unwrap().arrival.as_nanos();
        assert!(t >= previous, "arrivals out of order");
        previous = t;
        let w = (t as f64 / 1e9 / WINDOW_S) as usize;
        counts[w] += 1;
    }

    let mut total_error = 0.0;
    for ((start_s, rate), count) in expect.iter().zip(&counts) {
        let got = *count as f64 / WINDOW_S;
        let error = (got - rate).abs() / rate;
        // Each window holds the recorded count; the aggregate file rounds
        // rates to 4 decimals, hence not exactly 0.
        assert!(error < 0.01, "window {start_s}: {got} req/s vs {rate}");
        total_error += error;
    }
    let mean_error = total_error / expect.len() as f64;
    eprintln!(
        "{model}: {} requests, mean relative error {mean_error:.2e}",
        counts.iter().sum::<u64>()
    );
    assert!(mean_error < 0.01, "mean relative error {mean_error}");
}

/// Reading only a run's span of a shipped file gives the requests reading
/// all of it gives (the scenarios' spans, and one across a day boundary).
#[test]
fn a_span_of_each_shipped_file_gives_the_requests_of_the_whole_file() {
    let Some(dir) =
        common::shared_dir("a_span_of_each_shipped_file_gives_the_requests_of_the_whole_file")
    else {
        return;
    };
    for model in ["deepseek-r1", "mm-image", "m-small", "m-mid", "m-large"] {
        let path = dir.join(format!(
            "traces/servegen/servegen_{model}_client_windows.csv"
        ));
        let whole = std::sync::Arc::new(
            ServeGenProfile::from_reader(BufReader::new(File::open(&path).unwrap())).unwrap(),
        );
        for (start_s, end_s) in [
            (28_800.0, 30_600.0),
            (36_000.0, 43_200.0),
            (85_800.0, 87_000.0),
        ] {
            let mut config = ServeGenConfig::new(
                TokenLengths::Fixed { tokens: 1 },
                TokenLengths::Fixed { tokens: 1 },
            );
            config.start_s = start_s;
            config.end_s = Some(end_s);
            config.rate_multiplier = 0.1;
            config.max_requests = Some(50_000);
            let span = ServeGenProfile::from_reader_in(
                BufReader::new(File::open(&path).unwrap()),
                &config.span(),
            )
            .unwrap();
            let a: Vec<_> = ServeGenWorkload::new(std::sync::Arc::clone(&whole), &config, 7)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let b: Vec<_> = ServeGenWorkload::new(std::sync::Arc::new(span), &config, 7)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(!a.is_empty(), "{model} [{start_s}, {end_s})");
            assert!(a == b, "{model} [{start_s}, {end_s}): the span differs");
        }
    }
}
