use super::*;

fn config(arrival: ArrivalProcess, duration_s: f64) -> SyntheticConfig {
    SyntheticConfig {
        arrival,
        input_tokens: TokenLengths::Fixed { tokens: 10 },
        output_tokens: TokenLengths::Fixed { tokens: 5 },
        duration_s,
        max_requests: None,
    }
}

fn arrivals_s(arrival: ArrivalProcess, duration_s: f64, seed: u64) -> Vec<f64> {
    SyntheticWorkload::new(&config(arrival, duration_s), seed)
        .unwrap()
        .map(|r| r.unwrap().arrival.as_secs_f64())
        .collect()
}

/// (arrival rate over the duration, inter-arrival CV)
fn rate_and_cv(times: &[f64], duration_s: f64) -> (f64, f64) {
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let n = gaps.len() as f64;
    let mean = gaps.iter().sum::<f64>() / n;
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (times.len() as f64 / duration_s, var.sqrt() / mean)
}

fn count_in(times: &[f64], from: f64, to: f64) -> usize {
    times.iter().filter(|&&t| t >= from && t < to).count()
}

fn assert_close(what: &str, got: f64, expect: f64, rel_tol: f64) {
    assert!(
        ((got - expect) / expect).abs() <= rel_tol,
        "{what}: got {got}, expected {expect} ± {:.1} %",
        rel_tol * 100.0
    );
}

#[test]
fn poisson_rate_and_cv() {
    // 200k arrivals: rate s.e. 0.22 %, CV s.e. about 0.3 %.
    let t = arrivals_s(ArrivalProcess::Poisson { rate_per_s: 1000.0 }, 200.0, 1);
    let (rate, cv) = rate_and_cv(&t, 200.0);
    assert_close("rate", rate, 1000.0, 0.01);
    assert_close("cv", cv, 1.0, 0.02);
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "sorted");
    assert!(t.iter().all(|&x| x < 200.0));
}

#[test]
fn gamma_rate_and_cv() {
    for cv_target in [0.5, 3.0] {
        let t = arrivals_s(
            ArrivalProcess::Gamma {
                rate_per_s: 1000.0,
                cv: cv_target,
            },
            200.0,
            2,
        );
        let (rate, cv) = rate_and_cv(&t, 200.0);
        assert_close("rate", rate, 1000.0, 0.03);
        assert_close("cv", cv, cv_target, 0.04);
    }
}

#[test]
fn weibull_rate_and_cv() {
    // Shape 0.5: CV² = Γ(5)/Γ(3)² − 1 = 5.
    let t = arrivals_s(
        ArrivalProcess::Weibull {
            rate_per_s: 1000.0,
            shape: 0.5,
        },
        200.0,
        3,
    );
    let (rate, cv) = rate_and_cv(&t, 200.0);
    assert_close("rate", rate, 1000.0, 0.03);
    assert_close("cv", cv, 5f64.sqrt(), 0.06);
}

/// Expected arrivals of the sinusoid over `[a, b)`.
fn sinusoid_integral(mean: f64, amp: f64, period: f64, phase: f64, a: f64, b: f64) -> f64 {
    let w = std::f64::consts::TAU / period;
    mean * ((b - a) + amp / w * ((w * (a - phase)).cos() - (w * (b - phase)).cos()))
}

#[test]
fn diurnal_counts_follow_the_sinusoid() {
    let (mean, amp, period, phase) = (20.0, 0.8, 1000.0, 250.0);
    let periods = 10.0;
    let t = arrivals_s(
        ArrivalProcess::Diurnal {
            mean_rate_per_s: mean,
            amplitude: amp,
            period_s: period,
            phase_s: phase,
        },
        period * periods,
        4,
    );
    // Fold into 10 phase bins; each holds 4k–36k arrivals.
    for bin in 0..10 {
        let (a, b) = (bin as f64 * 100.0, (bin + 1) as f64 * 100.0);
        let got = t
            .iter()
            .filter(|&&x| (x % period) >= a && (x % period) < b)
            .count();
        let expect = periods * sinusoid_integral(mean, amp, period, phase, a, b);
        // 5 Poisson standard deviations.
        let tol = 5.0 * expect.sqrt() / expect;
        assert_close(&format!("bin {bin}"), got as f64, expect, tol);
    }
}

#[test]
fn weekly_defaults_to_a_week() {
    let w: ArrivalProcess =
        serde_json::from_str(r#"{"kind":"weekly","mean_rate_per_s":1,"amplitude":0.5}"#).unwrap();
    let d: ArrivalProcess =
        serde_json::from_str(r#"{"kind":"diurnal","mean_rate_per_s":1,"amplitude":0.5}"#).unwrap();
    assert!(
        matches!(w, ArrivalProcess::Weekly { period_s, phase_s, .. } if period_s == WEEK_S && phase_s == 0.0)
    );
    assert!(matches!(d, ArrivalProcess::Diurnal { period_s, .. } if period_s == DAY_S));
}

#[test]
fn steps_change_rate_at_the_right_times() {
    let steps = vec![
        RateStep {
            at_s: 50.0,
            rate_per_s: 100.0,
        },
        RateStep {
            at_s: 100.0,
            rate_per_s: 1000.0,
        },
        RateStep {
            at_s: 150.0,
            rate_per_s: 0.0,
        },
        RateStep {
            at_s: 200.0,
            rate_per_s: 400.0,
        },
    ];
    let t = arrivals_s(ArrivalProcess::Steps { steps }, 250.0, 5);
    assert_eq!(count_in(&t, 0.0, 50.0), 0, "rate 0 before the first step");
    assert_eq!(count_in(&t, 150.0, 200.0), 0, "zero-rate step");
    for (a, b, rate) in [
        (50.0, 100.0, 100.0),
        (100.0, 150.0, 1000.0),
        (200.0, 250.0, 400.0),
    ] {
        let expect = rate * (b - a);
        let tol = 5.0 / f64::sqrt(expect);
        assert_close(
            &format!("[{a},{b})"),
            count_in(&t, a, b) as f64,
            expect,
            tol,
        );
    }
    // The switch is sharp: the 1 s on either side of t = 100 differ 10×.
    let before = count_in(&t, 99.0, 100.0) as f64;
    let after = count_in(&t, 100.0, 101.0) as f64;
    assert!(after > 5.0 * before, "{before} then {after}");
}

#[test]
fn spike_raises_the_rate_only_during_the_spike() {
    let t = arrivals_s(
        ArrivalProcess::Spike {
            base_rate_per_s: 50.0,
            spike_rate_per_s: 2000.0,
            start_s: 40.0,
            duration_s: 10.0,
        },
        100.0,
        6,
    );
    for (a, b, expect) in [
        (0.0, 40.0, 2000.0),
        (40.0, 50.0, 20_000.0),
        (50.0, 100.0, 2500.0),
    ] {
        let tol = 5.0 / f64::sqrt(expect);
        assert_close(
            &format!("[{a},{b})"),
            count_in(&t, a, b) as f64,
            expect,
            tol,
        );
    }
}

#[test]
fn mmpp_mean_rate_is_dwell_weighted() {
    for switching in [MmppSwitching::Cycle, MmppSwitching::Uniform] {
        let process = ArrivalProcess::Mmpp {
            states: vec![
                MmppState {
                    rate_per_s: 2.0,
                    mean_dwell_s: 5.0,
                },
                MmppState {
                    rate_per_s: 20.0,
                    mean_dwell_s: 1.0,
                },
                MmppState {
                    rate_per_s: 0.0,
                    mean_dwell_s: 2.0,
                },
            ],
            switching,
        };
        let expect = process.long_run_rate_per_s();
        assert_close("formula", expect, 30.0 / 8.0, 1e-12);
        // About 5000 state cycles; the rate's s.e. is about 1.5 %.
        let duration = 40_000.0;
        let t = arrivals_s(process, duration, 7);
        let (rate, cv) = rate_and_cv(&t, duration);
        assert_close(&format!("{switching:?} rate"), rate, expect, 0.06);
        // Modulation makes arrivals burstier than Poisson.
        assert!(cv > 1.3, "{switching:?} cv {cv}");
    }
}

#[test]
fn same_seed_same_requests_other_seed_other_requests() {
    let c = SyntheticConfig {
        arrival: ArrivalProcess::Gamma {
            rate_per_s: 10.0,
            cv: 2.0,
        },
        input_tokens: TokenLengths::Uniform {
            min_tokens: 1,
            max_tokens: 1000,
        },
        output_tokens: TokenLengths::Lognormal {
            median_tokens: 100.0,
            sigma: 1.0,
            min_tokens: None,
            max_tokens: None,
        },
        duration_s: 100.0,
        max_requests: None,
    };
    let run = |seed| -> Vec<Request> {
        SyntheticWorkload::new(&c, seed)
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn lengths_do_not_move_arrivals() {
    let mut a = config(ArrivalProcess::Poisson { rate_per_s: 50.0 }, 20.0);
    a.input_tokens = TokenLengths::Uniform {
        min_tokens: 1,
        max_tokens: 100,
    };
    let mut b = a.clone();
    b.output_tokens = TokenLengths::Lognormal {
        median_tokens: 300.0,
        sigma: 1.5,
        min_tokens: None,
        max_tokens: None,
    };
    let ra: Vec<Request> = SyntheticWorkload::new(&a, 9)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let rb: Vec<Request> = SyntheticWorkload::new(&b, 9)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(ra.len(), rb.len());
    assert!(ra.len() > 500);
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!((x.arrival, x.input_tokens), (y.arrival, y.input_tokens));
    }
    assert!(ra
        .iter()
        .zip(&rb)
        .any(|(x, y)| x.output_tokens != y.output_tokens));

    // And the arrival process does not change the i-th request's lengths.
    let mut c = a.clone();
    c.arrival = ArrivalProcess::Gamma {
        rate_per_s: 50.0,
        cv: 4.0,
    };
    let rc: Vec<Request> = SyntheticWorkload::new(&c, 9)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for (x, y) in ra.iter().zip(&rc) {
        assert_eq!(x.input_tokens, y.input_tokens);
    }
}

#[test]
fn max_requests_and_duration_stop_the_workload() {
    let mut c = config(ArrivalProcess::Poisson { rate_per_s: 100.0 }, 1000.0);
    c.max_requests = Some(7);
    let mut w = SyntheticWorkload::new(&c, 1).unwrap();
    assert_eq!(w.by_ref().count(), 7);
    assert!(w.next().is_none());
}

#[test]
fn a_final_zero_step_ends_the_workload() {
    let steps = vec![
        RateStep {
            at_s: 0.0,
            rate_per_s: 100.0,
        },
        RateStep {
            at_s: 1.0,
            rate_per_s: 0.0,
        },
    ];
    // Would take forever if the zero step were sampled to the horizon.
    let t = arrivals_s(ArrivalProcess::Steps { steps }, 1.0e9, 1);
    assert!(!t.is_empty() && t.iter().all(|&x| x < 1.0));
}

fn check_invalid(c: SyntheticConfig, field: &str) {
    match SyntheticWorkload::new(&c, 0) {
        Err(WorkloadError::InvalidParameter { field: f, message }) => {
            assert_eq!(f, field, "{message}")
        }
        other => panic!("expected InvalidParameter on {field}, got {other:?}"),
    }
}

#[test]
fn bad_parameters_name_the_field() {
    use ArrivalProcess as A;
    let c = |a| config(a, 10.0);
    for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, 2.0e6] {
        check_invalid(c(A::Poisson { rate_per_s: rate }), "arrival.rate_per_s");
    }
    check_invalid(
        c(A::Gamma {
            rate_per_s: 1.0,
            cv: 0.0,
        }),
        "arrival.cv",
    );
    check_invalid(
        c(A::Gamma {
            rate_per_s: 1.0,
            cv: 1000.0,
        }),
        "arrival.cv",
    );
    check_invalid(
        c(A::Weibull {
            rate_per_s: 1.0,
            shape: 0.01,
        }),
        "arrival.shape",
    );
    check_invalid(
        c(A::Diurnal {
            mean_rate_per_s: 1.0,
            amplitude: 1.5,
            period_s: 10.0,
            phase_s: 0.0,
        }),
        "arrival.amplitude",
    );
    check_invalid(
        c(A::Weekly {
            mean_rate_per_s: 1.0,
            amplitude: 0.5,
            period_s: 0.0,
            phase_s: 0.0,
        }),
        "arrival.period_s",
    );
    check_invalid(
        c(A::Diurnal {
            mean_rate_per_s: 1.0,
            amplitude: 0.5,
            period_s: 10.0,
            phase_s: f64::NAN,
        }),
        "arrival.phase_s",
    );
    check_invalid(c(A::Steps { steps: vec![] }), "arrival.steps");
    check_invalid(
        c(A::Steps {
            steps: vec![
                RateStep {
                    at_s: 5.0,
                    rate_per_s: 1.0,
                },
                RateStep {
                    at_s: 5.0,
                    rate_per_s: 2.0,
                },
            ],
        }),
        "arrival.steps[1].at_s",
    );
    check_invalid(
        c(A::Steps {
            steps: vec![RateStep {
                at_s: 0.0,
                rate_per_s: -2.0,
            }],
        }),
        "arrival.steps[0].rate_per_s",
    );
    check_invalid(
        c(A::Steps {
            steps: vec![RateStep {
                at_s: 0.0,
                rate_per_s: 0.0,
            }],
        }),
        "arrival.steps",
    );
    check_invalid(
        c(A::Spike {
            base_rate_per_s: 1.0,
            spike_rate_per_s: 5.0,
            start_s: 1.0,
            duration_s: 0.0,
        }),
        "arrival.duration_s",
    );
    check_invalid(
        c(A::Mmpp {
            states: vec![MmppState {
                rate_per_s: 1.0,
                mean_dwell_s: 0.0,
            }],
            switching: MmppSwitching::Cycle,
        }),
        "arrival.states[0].mean_dwell_s",
    );
    check_invalid(
        c(A::Mmpp {
            states: vec![MmppState {
                rate_per_s: 0.0,
                mean_dwell_s: 1.0,
            }],
            switching: MmppSwitching::Uniform,
        }),
        "arrival.states",
    );
    let mut bad = c(A::Poisson { rate_per_s: 1.0 });
    bad.duration_s = -1.0;
    check_invalid(bad.clone(), "duration_s");
    bad.duration_s = 1e30;
    check_invalid(bad, "duration_s");
    let mut bad = c(A::Poisson { rate_per_s: 1.0 });
    bad.max_requests = Some(0);
    check_invalid(bad, "max_requests");
    let mut bad = c(A::Poisson { rate_per_s: 1.0 });
    bad.output_tokens = TokenLengths::Fixed { tokens: 0 };
    check_invalid(bad, "output_tokens.tokens");

    // The prefix is used as given.
    let err = config(A::Poisson { rate_per_s: 0.0 }, 1.0)
        .validate("workload")
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("field `workload.arrival.rate_per_s`"),
        "{err}"
    );
}

#[test]
fn serde_rejects_unknown_fields_and_kinds() {
    let ok = r#"{"arrival":{"kind":"mmpp","states":[{"rate_per_s":1,"mean_dwell_s":2}]},
            "input_tokens":{"kind":"fixed","tokens":1},"output_tokens":{"kind":"fixed","tokens":1},
            "duration_s":5}"#;
    let c: SyntheticConfig = serde_json::from_str(ok).unwrap();
    assert!(matches!(
        c.arrival,
        ArrivalProcess::Mmpp {
            switching: MmppSwitching::Cycle,
            ..
        }
    ));
    for bad in [
        r#"{"kind":"poisson","rate_per_s":1,"rate":2}"#,
        r#"{"kind":"poison","rate_per_s":1}"#,
        r#"{"kind":"steps","steps":[{"at_s":0,"rate_per_s":1,"x":0}]}"#,
        r#"{"kind":"mmpp","states":[],"switching":"random"}"#,
    ] {
        assert!(
            serde_json::from_str::<ArrivalProcess>(bad).is_err(),
            "{bad}"
        );
    }
}

/// Regression: near-silent MMPP states used to be stepped through one
/// dwell at a time to the end of the clock (about 10¹³ iterations).
#[test]
fn silent_states_stop_at_the_horizon() {
    let silent = MmppState {
        rate_per_s: 1e-300,
        mean_dwell_s: 1e-3,
    };
    let c = SyntheticConfig {
        arrival: ArrivalProcess::Mmpp {
            states: vec![silent.clone(), silent],
            switching: MmppSwitching::Cycle,
        },
        input_tokens: TokenLengths::Fixed { tokens: 1 },
        output_tokens: TokenLengths::Fixed { tokens: 1 },
        duration_s: 100.0,
        max_requests: None,
    };
    assert_eq!(SyntheticWorkload::new(&c, 1).unwrap().count(), 0);
    let too_long = SyntheticConfig {
        duration_s: 1e6,
        ..c
    };
    let e = SyntheticWorkload::new(&too_long, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("arrival.states[0].mean_dwell_s"), "{e}");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-1.0),
            Just(0.0),
            Just(1e-300),
            Just(1e-3),
            Just(0.5),
            Just(1.0),
            Just(3.0),
            Just(1e6),
            Just(1e300),
            0.0..100.0f64,
        ]
    }

    fn process() -> impl Strategy<Value = ArrivalProcess> {
        let (a, b, c, d) = (value(), value(), value(), value());
        (0..8usize, a, b, c, d).prop_map(|(kind, a, b, c, d)| match kind {
            0 => ArrivalProcess::Poisson { rate_per_s: a },
            1 => ArrivalProcess::Gamma {
                rate_per_s: a,
                cv: b,
            },
            2 => ArrivalProcess::Weibull {
                rate_per_s: a,
                shape: b,
            },
            3 => ArrivalProcess::Diurnal {
                mean_rate_per_s: a,
                amplitude: b,
                period_s: c,
                phase_s: d,
            },
            4 => ArrivalProcess::Steps {
                steps: vec![
                    RateStep {
                        at_s: a,
                        rate_per_s: b,
                    },
                    RateStep {
                        at_s: c,
                        rate_per_s: d,
                    },
                ],
            },
            5 => ArrivalProcess::Spike {
                base_rate_per_s: a,
                spike_rate_per_s: b,
                start_s: c,
                duration_s: d,
            },
            6 => ArrivalProcess::Mmpp {
                states: vec![
                    MmppState {
                        rate_per_s: a,
                        mean_dwell_s: b,
                    },
                    MmppState {
                        rate_per_s: c,
                        mean_dwell_s: d,
                    },
                ],
                switching: MmppSwitching::Uniform,
            },
            _ => ArrivalProcess::Weekly {
                mean_rate_per_s: a,
                amplitude: b,
                period_s: c,
                phase_s: d,
            },
        })
    }

    proptest! {
        #[test]
        fn any_parameters_give_an_error_or_sorted_arrivals(
            arrival in process(),
            duration_s in value(),
            seed in any::<u64>(),
        ) {
            let c = SyntheticConfig {
                arrival,
                input_tokens: TokenLengths::Fixed { tokens: 1 },
                output_tokens: TokenLengths::Fixed { tokens: 1 },
                duration_s,
                max_requests: Some(200),
            };
            if let Ok(w) = SyntheticWorkload::new(&c, seed) {
                let end = SimTime(secs_to_ns(duration_s));
                let t: Vec<SimTime> = w.map(|r| r.unwrap().arrival).collect();
                prop_assert!(t.windows(2).all(|w| w[0] <= w[1]));
                prop_assert!(t.iter().all(|&x| x < end));
            }
        }
    }
}
