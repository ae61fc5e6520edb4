//! The workload configuration types read from TOML exactly as their docs
//! show, and build workloads.

// Test code: a failed unwrap is a failed test (clippy only exempts #[test] fns).
#![allow(clippy::unwrap_used)]

use fleetsim_core::workload::lengths::TokenLengths;
use fleetsim_core::workload::servegen::{ServeGenConfig, ServeGenWorkload};
use fleetsim_core::workload::synthetic::{ArrivalProcess, SyntheticConfig, SyntheticWorkload};
use fleetsim_core::workload::transforms::{apply_transforms_with_factory, Transform};
use fleetsim_core::workload::BoxedWorkload;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
struct Holder<T> {
    x: T,
}

fn parse<T: for<'de> Deserialize<'de>>(inline: &str) -> T {
    toml::from_str::<Holder<T>>(&format!("x = {inline}"))
        .unwrap()
        .x
}

#[test]
fn every_arrival_process_reads_from_toml_and_runs() {
    let cases = [
        r#"{ kind = "poisson", rate_per_s = 5.0 }"#,
        r#"{ kind = "gamma", rate_per_s = 5.0, cv = 3.0 }"#,
        r#"{ kind = "weibull", rate_per_s = 5.0, shape = 0.5 }"#,
        r#"{ kind = "diurnal", mean_rate_per_s = 20.0, amplitude = 0.6, phase_s = 21600 }"#,
        r#"{ kind = "weekly", mean_rate_per_s = 20.0, amplitude = 0.3 }"#,
        r#"{ kind = "steps", steps = [ { at_s = 0, rate_per_s = 10.0 }, { at_s = 600, rate_per_s = 40.0 } ] }"#,
        r#"{ kind = "spike", base_rate_per_s = 5.0, spike_rate_per_s = 50.0, start_s = 600, duration_s = 60 }"#,
        r#"{ kind = "mmpp", switching = "cycle", states = [ { rate_per_s = 2.0, mean_dwell_s = 300 }, { rate_per_s = 40.0, mean_dwell_s = 30 } ] }"#,
        r#"{ kind = "mmpp", switching = "uniform", states = [ { rate_per_s = 2.0, mean_dwell_s = 300 } ] }"#,
    ];
    for case in cases {
        let arrival: ArrivalProcess = parse(case);
        let config = SyntheticConfig {
            arrival,
            input_tokens: TokenLengths::Fixed { tokens: 1 },
            output_tokens: TokenLengths::Fixed { tokens: 1 },
            duration_s: 1200.0,
            max_requests: Some(50),
        };
        let w: BoxedWorkload = Box::new(SyntheticWorkload::new(&config, 1).unwrap());
        assert_eq!(w.count(), 50, "{case}");
    }
}

#[test]
fn token_lengths_and_transforms_read_from_toml() {
    let lengths = [
        r#"{ kind = "fixed", tokens = 512 }"#,
        r#"{ kind = "uniform", min_tokens = 16, max_tokens = 512 }"#,
        r#"{ kind = "lognormal", median_tokens = 1020, sigma = 0.9, max_tokens = 16384 }"#,
        r#"{ kind = "resample", values = [129, 1020, 2734] }"#,
    ];
    for case in lengths {
        let l: TokenLengths = parse(case);
        l.validate("x").unwrap();
    }
    let transforms: Vec<Transform> = parse(
        r#"[
          { kind = "slice", start_s = 600, end_s = 4200 },
          { kind = "time_scale", factor = 2.0 },
          { kind = "rate_multiplier", factor = 1.5 },
          { kind = "repeat", times = 3, gap_s = 0.5 },
        ]"#,
    );
    assert_eq!(transforms.len(), 4);
    let factory = Arc::new(|| {
        let c: SyntheticConfig = toml::from_str(
            r#"
            duration_s = 5000
            arrival = { kind = "poisson", rate_per_s = 0.1 }
            input_tokens = { kind = "fixed", tokens = 1 }
            output_tokens = { kind = "fixed", tokens = 1 }
            "#,
        )
        .unwrap();
        Ok(Box::new(SyntheticWorkload::new(&c, 3)?) as BoxedWorkload)
    });
    let w = apply_transforms_with_factory(factory, &transforms, "transforms").unwrap();
    let mut n = 0;
    for r in w {
        r.unwrap();
        n += 1;
    }
    // 3 plays of ~360 requests (3600 s at 0.1/s).
    assert!((900..1300).contains(&n), "{n}");
}

#[test]
fn synthetic_and_servegen_configs_read_from_toml() {
    let s: SyntheticConfig = toml::from_str(
        r#"
        duration_s = 3600
        max_requests = 100000
        arrival = { kind = "gamma", rate_per_s = 5.5, cv = 3 }
        input_tokens = { kind = "lognormal", median_tokens = 1020, sigma = 0.9 }
        output_tokens = { kind = "uniform", min_tokens = 16, max_tokens = 600 }
        "#,
    )
    .unwrap();
    s.validate("workload").unwrap();
    let bad = toml::from_str::<SyntheticConfig>("duration_s = 1\nduration = 2\n");
    assert!(bad.is_err());

    let g: ServeGenConfig = toml::from_str(
        r#"
        start_s = 0
        end_s = 86400
        skip_zero_windows = true
        rate_multiplier = 0.5
        time_scale = 1.0
        input_tokens = { kind = "lognormal", median_tokens = 1020, sigma = 0.9 }
        output_tokens = { kind = "lognormal", median_tokens = 129, sigma = 1.0, max_tokens = 4096 }
        "#,
    )
    .unwrap();
    let csv = "client_id,window_start_s,rate_rps,iat_cv,iat_dist,dist_shape,dist_scale\n\
               0,0,1,1,Gamma,1,1\n0,600,0,0,,0,0\n0,1200,1,1,Weibull,0.5,1\n";
    let w: BoxedWorkload = Box::new(ServeGenWorkload::from_reader(csv.as_bytes(), &g, 1).unwrap());
    let times: Vec<f64> = w.map(|r| r.unwrap().arrival.as_secs_f64()).collect();
    // 0.5 × 600 per active window; the idle window is cut out.
    assert_eq!(times.len(), 600);
    assert!(times.iter().all(|&t| t < 1200.0));
}
