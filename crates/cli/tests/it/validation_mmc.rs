//! Validation against closed-form queueing theory: an M/M/c queue.
//!
//! One replica of c = 8 slots with exponential service (mean 1 s) fed
//! Poisson arrivals at λ = 7.2/s (ρ = 0.9) through a FIFO queue, over about
//! 10 million customers (the sample mean of waits at ρ = 0.9 is strongly autocorrelated: over nine seeds its spread was 1.1 % at this length, 2.4 % at 1 million; see docs/validation.md). The mean queue wait must match Erlang C within
//! 2 %, and Little's law L = λW within 1 %, with L measured independently
//! from the time series' gauges.
#![allow(clippy::unwrap_used)]

use fleetsim::scenario::load_str;
use std::path::Path;

const SCENARIO: &str = r#"
name = "mmc"
seed = 11
[workload]
kind = "synthetic"
duration_s = 1400000
arrival = { kind = "poisson", rate_per_s = 7.2 }
input_tokens = { kind = "fixed", tokens = 1 }
output_tokens = { kind = "fixed", tokens = 1 }
[deployment]
replicas = 1
[deployment.slots]
slots = 8
service = { dist = "exponential", mean_s = 1.0 }
[output]
timeseries_resolution_s = 10
"#;

/// Erlang C: probability that an arrival waits, for c servers at offered load a = λ/μ.
fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / f64::from(c);
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let last = term * a / f64::from(c) / (1.0 - rho); // a^c / c! / (1 − ρ)
    last / (sum + last)
}

#[test]
fn erlang_c_matches_a_textbook_value() {
    // c = 2, a = 1 (ρ = 0.5): C = 1/3.
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn mmc_queue_wait_matches_erlang_c_and_littles_law() {
    let (c, lambda, mu) = (8u32, 7.2f64, 1.0f64);
    let scenario = load_str(SCENARIO, "mmc", Path::new("."), &[]).unwrap();
    let result = fleetsim::run::run(&scenario).unwrap();
    let s = &result.summary;
    assert!(
        s.requests.completed >= 10_000_000,
        "{} customers",
        s.requests.completed
    );
    assert_eq!(s.requests.arrived, s.requests.completed);

    let expected_wq_s = erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda);
    let measured_wq_s = s.latency.queue_ms.mean / 1e3;
    let wq_error = (measured_wq_s - expected_wq_s) / expected_wq_s;
    println!("M/M/8 ρ=0.9: Wq expected {expected_wq_s:.4} s, measured {measured_wq_s:.4} s, error {:+.2} %", wq_error * 100.0);
    assert!(
        wq_error.abs() < 0.02,
        "Erlang C mean wait off by {:.2} %",
        wq_error * 100.0
    );

    // Little's law: time-average number in system (gauges sampled every
    // 10 s) against observed arrival rate × mean time in system.
    let rows = &result.timeseries;
    let l_sampled = rows
        .iter()
        .map(|r| (r.running + r.waiting) as f64)
        .sum::<f64>()
        / rows.len() as f64;
    let lambda_observed = s.requests.arrived as f64 / s.sim.simulated_s;
    let w_s = s.latency.e2e_ms.mean / 1e3;
    let little_error = (l_sampled - lambda_observed * w_s) / (lambda_observed * w_s);
    println!(
        "Little: L sampled {l_sampled:.4}, λW {:.4}, error {:+.3} %",
        lambda_observed * w_s,
        little_error * 100.0
    );
    assert!(
        little_error.abs() < 0.01,
        "Little's law off by {:.3} %",
        little_error * 100.0
    );

    // And the closed form for L itself: λ(Wq + 1/μ).
    let l_theory = lambda * (expected_wq_s + 1.0 / mu);
    assert!(
        ((l_sampled - l_theory) / l_theory).abs() < 0.02,
        "L {l_sampled} vs theory {l_theory}"
    );
}
