//! `fleetsim compare`: the statistics against hand-computed examples, and
//! the paired runs end to end (common random numbers, seeds, output,
//! independence from the number of threads, bad input).

use fleetsim::compare::{self, paired, welch, Side, CONFIDENCE};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The quickstart shortened to a minute of arrivals: 24 req/s on 2 × H100.
const SHORT: &str = "workload.duration_s=60";

fn quickstart() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/quickstart.toml")
}

fn fleetsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .output()
        .expect("run fleetsim")
}

/// Runs `fleetsim compare …` with `--format json`, requires success.
fn compare_json(args: &[&str]) -> Value {
    let mut all = vec!["compare"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = fleetsim(&all);
    assert!(
        out.status.success(),
        "fleetsim {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("compare prints JSON")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn paired_interval_matches_a_hand_computed_example() {
    // Differences 1, 2, 3, 4, 5: mean 3, s = sqrt(2.5) = 1.58114,
    // s/√5 = 0.70711, t(0.975, 4) = 2.776445, half-width 1.963243.
    let a = [10.0, 20.0, 30.0, 40.0, 50.0];
    let b = [11.0, 22.0, 33.0, 44.0, 55.0];
    let p = paired(&a, &b, CONFIDENCE).expect("five pairs");
    assert_eq!(p.n, 5);
    assert!(close(p.mean_a, 30.0) && close(p.mean_b, 33.0) && close(p.mean_diff, 3.0));
    assert!(close(p.sd_diff.expect("n > 1"), 2.5f64.sqrt()));
    let ci = p.ci.expect("n > 1");
    assert!(close(ci.low, 1.036_756_838_5), "{ci:?}");
    assert!(close(ci.high, 4.963_243_161_5), "{ci:?}");
}

#[test]
fn welch_interval_matches_a_hand_computed_example() {
    // Equal variances (2.5) and sizes: Welch's df is 2(n − 1) = 8, the
    // standard error sqrt(2.5/5 + 2.5/5) = 1, the difference 13 − 3 = 10,
    // t(0.975, 8) = 2.306004135.
    let a = [1.0, 2.0, 3.0, 4.0, 5.0];
    let b = [12.0, 11.0, 13.0, 15.0, 14.0];
    let ci = welch(&a, &b, CONFIDENCE).expect("two samples of five");
    assert!((ci.low - (10.0 - 2.306_004_135)).abs() < 1e-8, "{ci:?}");
    assert!((ci.high - (10.0 + 2.306_004_135)).abs() < 1e-8, "{ci:?}");
}

#[test]
fn a_scenario_compared_with_itself_differs_by_exactly_zero() {
    let q = quickstart();
    let q = q.to_str().expect("utf-8 path");
    let json = compare_json(&[q, q, "--seeds", "3", "--set", SHORT]);
    assert_eq!(json["seeds"], serde_json::json!([42, 43, 44]));
    let metrics = json["metrics"].as_array().expect("metrics");
    assert_eq!(metrics.len(), fleetsim::headline::HEADLINE.len());
    let mut present = 0;
    for m in metrics {
        assert_eq!(m["a"], m["b"], "{}: same seed, same scenario", m["metric"]);
        if m["paired"].is_null() {
            continue;
        }
        present += 1;
        let p = &m["paired"];
        assert_eq!(p["mean_diff"].as_f64(), Some(0.0), "{}", m["metric"]);
        assert_eq!(p["ci"]["low"].as_f64(), Some(0.0), "{}", m["metric"]);
        assert_eq!(p["ci"]["high"].as_f64(), Some(0.0), "{}", m["metric"]);
    }
    assert!(present >= 12, "only {present} metrics present");
    // The seeds do change the requests: otherwise zero would prove nothing.
    let ttft = metrics
        .iter()
        .find(|m| m["metric"] == "ttft_p95_ms")
        .expect("ttft_p95_ms");
    let per_seed = ttft["a"].as_array().expect("values");
    assert!(
        per_seed[0] != per_seed[1] && per_seed[1] != per_seed[2],
        "{per_seed:?}"
    );
}

#[test]
fn pairing_narrows_the_interval_of_a_real_difference() {
    // Three against four replicas: the workload's own noise (how bursty
    // each seed's arrivals are) moves both runs of a seed together, so
    // the paired interval is narrower than the unpaired one.
    let q = quickstart().display().to_string();
    let side = |replicas: u32| Side {
        path: q.clone(),
        name: "quickstart".into(),
        sets: vec![SHORT.into(), format!("deployment.replicas={replicas}")],
    };
    let seeds: Vec<u64> = (1..=8).collect();
    let c = compare::compare(&side(3), &side(4), &seeds, 0).expect("runs");
    for name in [
        "ttft_p95_ms",
        "tpot_p95_ms",
        "e2e_p99_ms",
        "gpu_hours_billed",
    ] {
        let m = c.metrics.iter().find(|m| m.metric == name).expect("metric");
        let a: Vec<f64> = m.a.iter().map(|v| v.expect("present")).collect();
        let b: Vec<f64> = m.b.iter().map(|v| v.expect("present")).collect();
        let p = m.paired.as_ref().expect("paired").ci.expect("8 seeds");
        let u = welch(&a, &b, CONFIDENCE).expect("8 seeds");
        assert!(
            p.width() < u.width(),
            "{name}: paired {p:?} is not narrower than unpaired {u:?}"
        );
        assert!(
            p.excludes_zero(),
            "{name}: 3 vs 4 replicas not told apart: {p:?}"
        );
    }
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let q = quickstart();
    let q = q.to_str().expect("utf-8 path");
    let args = |jobs| {
        compare_json(&[
            q,
            q,
            "--seeds",
            "4",
            "--first-seed",
            "7",
            "--set",
            "workload.duration_s=30",
            "--set-b",
            "deployment.replicas=3",
            "--jobs",
            jobs,
        ])
    };
    let one = args("1");
    assert_eq!(one["seeds"], serde_json::json!([7, 8, 9, 10]));
    assert_eq!(one, args("3"));
}

#[test]
fn one_seed_has_no_interval_and_says_so() {
    let q = quickstart();
    let q = q.to_str().expect("utf-8 path");
    let out = fleetsim(&[
        "compare",
        q,
        q,
        "--seeds",
        "1",
        "--set",
        "workload.duration_s=20",
        "--set-a",
        "deployment.replicas=3",
    ]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("no confidence interval"), "{table}");
    assert!(table.contains("no CI (1 seed)"), "{table}");
    let json = compare_json(&[
        q,
        q,
        "--seeds",
        "1",
        "--set",
        "workload.duration_s=20",
        "--set-a",
        "deployment.replicas=3",
    ]);
    let m = &json["metrics"][0];
    assert!(m["paired"]["ci"].is_null(), "{m}");
    assert!(m["paired"]["mean_diff"].is_number(), "{m}");
}

#[test]
fn the_table_names_each_metric_and_the_verdicts() {
    let q = quickstart();
    let q = q.to_str().expect("utf-8 path");
    let out = fleetsim(&[
        "compare",
        q,
        q,
        "--seeds",
        "3",
        "--set",
        "workload.duration_s=30",
        "--set-a",
        "deployment.replicas=1",
    ]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    for h in fleetsim::headline::HEADLINE {
        assert!(table.contains(h.name), "{} missing:\n{table}", h.name);
    }
    // One replica against two at 24 req/s: B (two) is clearly better on
    // SLA attainment and costs more GPU time.
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("sla_attainment").ends_with("B better"), "{table}");
    assert!(line("gpu_hours_billed").ends_with("B worse"), "{table}");
    assert!(line("cost_usd").ends_with("absent"), "{table}");
    assert!(table.contains("seeds 42..=44"), "{table}");
}

#[test]
fn bad_input_fails_with_the_file_named() {
    let q = quickstart();
    let q = q.to_str().expect("utf-8 path");
    for (args, fragments) in [
        (
            vec!["compare", q, "missing.toml", "--seeds", "2"],
            vec!["missing.toml", "cannot read"],
        ),
        (
            vec![
                "compare",
                q,
                q,
                "--seeds",
                "2",
                "--set-b",
                "deployment.replicas=-1",
            ],
            vec!["quickstart.toml", "deployment.replicas"],
        ),
        (
            vec![
                "compare",
                q,
                q,
                "--seeds",
                "3",
                "--first-seed",
                "9223372036854775806",
            ],
            vec!["goes past the largest seed (2^63 − 1)"],
        ),
    ] {
        let out = fleetsim(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        for f in fragments {
            assert!(stderr.contains(f), "{args:?}: {f:?} not in {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // Zero seeds is refused by the argument parser.
    let out = fleetsim(&["compare", q, q, "--seeds", "0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seeds"));
}

#[test]
fn seeds_follow_scenario_a() {
    let dir = std::env::temp_dir().join(format!("fleetsim-compare-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    let text = std::fs::read_to_string(quickstart()).expect("quickstart");
    let a = dir.join("a.toml");
    let b = dir.join("b.toml");
    std::fs::write(&a, text.replace("seed = 42", "seed = 100")).expect("write");
    std::fs::write(&b, text.replace("seed = 42", "seed = 5")).expect("write");
    let path = |p: &Path| p.to_str().expect("utf-8").to_string();
    let json = compare_json(&[
        &path(&a),
        &path(&b),
        "--seeds",
        "2",
        "--set",
        "workload.duration_s=10",
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(json["seeds"], serde_json::json!([100, 101]));
    // Same workload and fleet: B's own seed is not used, so the runs agree.
    assert_eq!(json["metrics"][0]["a"], json["metrics"][0]["b"]);
}
