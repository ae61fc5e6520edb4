use super::*;

fn cfg(min: u32, max: u32, target: f64) -> RayServeConfig {
    RayServeConfig {
        min_replicas: min,
        max_replicas: max,
        target_ongoing_requests: target,
        ..RayServeConfig::default()
    }
}

#[test]
fn calculate_desired_table() {
    // (min, max, target, up, down, requests, running) -> desired
    let check = |min, max, target, up, down, req, run, want| {
        let c = RayServeConfig {
            upscaling_factor: Some(up),
            downscaling_factor: Some(down),
            ..cfg(min, max, target)
        };
        assert_eq!(
            calculate_desired_num_replicas(&c, req, run).expect("ok"),
            want,
            "req={req} run={run}"
        );
    };
    check(0, 100, 2.0, 1.0, 1.0, 40.0, 10, 20);
    check(0, 100, 2.0, 1.0, 1.0, 10.0, 10, 5);
    check(0, 100, 2.0, 0.5, 1.0, 40.0, 10, 15); // halfway up
    check(0, 100, 2.0, 1.0, 0.5, 10.0, 10, 8); // 10 + 0.5*(5-10) = 7.5 -> 8
    check(0, 100, 2.0, 1.0, 0.1, 18.0, 10, 9); // 9.9 -> 10 would stick: 9
    check(3, 6, 2.0, 1.0, 1.0, 100.0, 10, 6); // clamp
                                              // Upstream's own arithmetic, n · (1 + (ratio − 1) · f), where
                                              // n + f · (n · ratio − n) rounds to the integer below:
    check(0, 100, 2.0, 1.0, 2.0, 36.0, 34, 3); // 2.0000000000000004
    check(0, 100, 0.5, 2.0, 1.0, 11.0, 21, 24); // 23.000000000000004
    assert!(calculate_desired_num_replicas(&cfg(0, 5, 1.0), 1.0, 0).is_err());
}

#[test]
fn delay_ticks_follow_ieee() {
    let check = |d: f64, want: i64| assert_eq!(delay_ticks(d, 0.1), want, "{d}");
    check(0.3, 2);
    check(0.4, 4);
    check(30.0, 300);
    check(0.0, 0);
}

#[test]
fn upscale_waits_delay_ticks() {
    let c = RayServeConfig {
        upscale_delay_s: 0.2,
        ..cfg(1, 10, 1.0)
    };
    let mut p = RayServePolicy::new(c).expect("valid");
    // int(0.2/0.1) = 2 ticks: the 3rd consecutive decision acts.
    let got: Vec<u32> = (0..3).map(|_| p.decide(1, 1, 5.0)).collect();
    assert_eq!(got, vec![1, 1, 5]);
    // A neutral decision resets the counter.
    assert_eq!(p.decide(5, 5, 5.0), 5);
    assert_eq!(p.state().counter, 0);
}

#[test]
fn downscale_stops_at_one_then_zero_step() {
    let c = RayServeConfig {
        downscale_delay_s: 0.0,
        downscale_to_zero_delay_s: Some(0.1),
        ..cfg(0, 10, 1.0)
    };
    let mut p = RayServePolicy::new(c).expect("valid");
    assert_eq!(p.decide(4, 4, 0.0), 1); // never past 1
    assert_eq!(p.decide(1, 1, 0.0), 1); // 1 -> 0 waits 1 tick
    assert_eq!(p.decide(1, 1, 0.0), 0);
}

#[test]
fn cold_start_bypasses_delays() {
    let c = RayServeConfig {
        upscaling_factor: Some(3.5),
        ..cfg(0, 2, 1.0)
    };
    let mut p = RayServePolicy::new(c).expect("valid");
    assert_eq!(p.decide(0, 0, 1.0), 4); // ceil(3.5), not clipped to max
    assert_eq!(p.decide(0, 0, 0.0), 0);
    assert_eq!(p.decide(0, 6, 1.0), 6);
}

#[test]
fn validation_rejects_bad_knobs() {
    let bad = |c: RayServeConfig, needle: &str| {
        let e = c.validate().expect_err("invalid").to_string();
        assert!(e.contains(needle), "{e}");
    };
    bad(cfg(5, 2, 1.0), "min_replicas > max_replicas");
    bad(cfg(0, 0, 1.0), "max_replicas");
    bad(cfg(0, 2, 0.0), "target_ongoing_requests");
    bad(
        RayServeConfig {
            upscale_delay_s: -1.0,
            ..cfg(0, 2, 1.0)
        },
        "upscale_delay_s",
    );
    bad(
        RayServeConfig {
            downscaling_factor: Some(f64::INFINITY),
            ..cfg(0, 2, 1.0)
        },
        "downscaling_factor",
    );
    bad(
        RayServeConfig {
            initial_replicas: Some(9),
            ..cfg(0, 2, 1.0)
        },
        "initial_replicas",
    );
    bad(
        RayServeConfig {
            upscale_smoothing_factor: Some(0.0),
            ..cfg(0, 2, 1.0)
        },
        "upscale_smoothing_factor",
    );
    // get_upscaling_factor / get_downscaling_factor fall back through
    // the per-direction smoothing factor to smoothing_factor.
    let c = RayServeConfig {
        upscale_smoothing_factor: Some(3.0),
        downscale_smoothing_factor: Some(0.25),
        smoothing_factor: 0.5,
        ..cfg(0, 2, 1.0)
    };
    assert_eq!(c.effective_upscaling_factor().to_bits(), 3.0f64.to_bits());
    assert_eq!(
        c.effective_downscaling_factor().to_bits(),
        0.25f64.to_bits()
    );
    let c = RayServeConfig {
        upscaling_factor: Some(2.0),
        ..c
    };
    assert_eq!(c.effective_upscaling_factor().to_bits(), 2.0f64.to_bits());
    assert_eq!(
        RayServeConfig {
            smoothing_factor: 0.5,
            ..cfg(0, 2, 1.0)
        }
        .effective_downscaling_factor()
        .to_bits(),
        0.5f64.to_bits()
    );
    assert!(RayServeConfig::default().validate().is_ok());
}
