//! End to end: `fleetsim run` on good input. The embedded quickstart is
//! shortened to 60 simulated seconds with `--set workload.duration_s=60`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const SHORT: &str = "workload.duration_s=60";

/// A fresh, empty directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(test: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("fleetsim-cli-run-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    Scratch(dir)
}

/// Runs `fleetsim args…` in `dir`, requires success and returns stdout.
fn fleetsim(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run fleetsim");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "fleetsim {}: {stderr}",
        args.join(" ")
    );
    assert!(
        stderr.is_empty(),
        "fleetsim {}: stderr {stderr}",
        args.join(" ")
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The quickstart, shortened, with `extra` arguments, as parsed JSON.
fn run_json(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["run", "--set", SHORT, "--format", "json"];
    args.extend_from_slice(extra);
    let out = fleetsim(dir, &args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn number(v: &Value, path: &str) -> f64 {
    let mut at = v;
    for key in path.split('.') {
        at = &at[key];
    }
    at.as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number: {at}"))
}

fn count(v: &Value, path: &str) -> u64 {
    let mut at = v;
    for key in path.split('.') {
        at = &at[key];
    }
    at.as_u64()
        .unwrap_or_else(|| panic!("{path} is not a count: {at}"))
}

/// The summary without `sim.wall_s`, the one field that varies between runs.
fn without_wall(mut v: Value) -> Value {
    v["sim"]["wall_s"] = Value::Null;
    v
}

#[test]
fn table_reports_attainment() {
    let dir = scratch("table");
    let out = fleetsim(&dir, &["run", "--set", SHORT]);
    assert!(out.contains("attainment"), "{out}");
    assert!(out.contains("quickstart"), "{out}");
    assert!(out.contains("gpu hours"), "{out}");
}

#[test]
fn json_has_the_documented_keys_and_counts_add_up() {
    let dir = scratch("json");
    let v = run_json(&dir, &[]);
    let requests = ["arrived", "completed", "rejected", "timed_out", "failed"];
    for key in requests {
        count(&v, &format!("requests.{key}"));
    }
    for metric in ["queue_ms", "ttft_ms", "tpot_ms", "e2e_ms"] {
        let mut previous = 0.0;
        for stat in ["p50", "p90", "p95", "p99", "max"] {
            let x = number(&v, &format!("latency.{metric}.{stat}"));
            assert!(x >= previous, "latency.{metric}.{stat} = {x} < {previous}");
            previous = x;
        }
        let mean = number(&v, &format!("latency.{metric}.mean"));
        assert!(
            mean > 0.0 && mean <= previous,
            "latency.{metric}.mean = {mean}"
        );
    }
    let attainment = number(&v, "sla.attainment");
    assert!((0.0..=1.0).contains(&attainment), "attainment {attainment}");
    for key in ["billed", "busy", "idle"] {
        assert!(number(&v, &format!("gpu_hours.{key}")) >= 0.0);
    }
    let billed = number(&v, "gpu_hours.billed");
    let split = number(&v, "gpu_hours.busy") + number(&v, "gpu_hours.idle");
    assert!(
        (billed - split).abs() <= 1e-9 * billed.max(1.0),
        "{billed} vs {split}"
    );
    assert!(count(&v, "sim.events") > 0);
    assert!(number(&v, "sim.simulated_s") >= 60.0 * 0.9);
    assert!(number(&v, "sim.wall_s") >= 0.0);

    let arrived = count(&v, "requests.arrived");
    let outcomes: u64 = requests[1..]
        .iter()
        .map(|k| count(&v, &format!("requests.{k}")))
        .sum();
    assert_eq!(arrived, outcomes);
    // The quickstart's 24 req/s for 60 s: 1,440 expected, ±5 σ.
    assert!((1250..=1630).contains(&arrived), "{arrived} arrivals");
}

#[test]
fn out_dir_holds_summary_requests_timeseries_and_replicas() {
    let dir = scratch("out");
    let stdout = fleetsim(
        &dir,
        &[
            "run", "--set", SHORT, "--format", "json", "--out", "results",
        ],
    );
    let results = dir.join("results");
    let mut names: Vec<String> = std::fs::read_dir(&results)
        .expect("read --out directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "replicas.csv",
            "requests.csv",
            "summary.json",
            "timeseries.csv"
        ]
    );
    assert!(!names.iter().any(|n| n.ends_with(".tmp")));

    let summary = std::fs::read_to_string(results.join("summary.json")).expect("summary.json");
    assert_eq!(summary, stdout, "summary.json is what --format json prints");
    let v: Value = serde_json::from_str(&summary).expect("summary JSON");
    let arrived = count(&v, "requests.arrived");

    let requests = std::fs::read_to_string(results.join("requests.csv")).expect("requests.csv");
    let mut lines = requests.lines();
    assert_eq!(
        lines.next(),
        Some("id,arrival_s,replica,outcome,input_tokens,output_tokens,queue_ms,ttft_ms,tpot_ms,e2e_ms,preemptions,class,deployment,pipeline,itl_max_ms,kv_transfer_bytes")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len() as u64, arrived, "one row per arrived request");
    let completed = rows.iter().filter(|r| r.contains(",completed,")).count() as u64;
    assert_eq!(completed, count(&v, "requests.completed"));

    let timeseries =
        std::fs::read_to_string(results.join("timeseries.csv")).expect("timeseries.csv");
    let mut lines = timeseries.lines();
    // Later columns are appended; the first eight keep their names.
    assert!(lines.next().is_some_and(|h| h.starts_with(
        "window_start_s,window_end_s,arrivals,completed,running,waiting,replicas,ttft_p95_ms,"
    )));
    let windows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // 10-s windows over at least 60 s.
    assert!(windows.len() >= 6, "{} windows", windows.len());
    let arrivals: u64 = windows
        .iter()
        .map(|w| w[2].parse::<u64>().expect("arrivals"))
        .sum();
    assert_eq!(arrivals, arrived, "windows count every arrival once");

    let replicas = std::fs::read_to_string(results.join("replicas.csv")).expect("replicas.csv");
    let mut lines = replicas.lines();
    assert!(lines
        .next()
        .is_some_and(|h| h.starts_with("replica,deployment,held_s,busy_s,busy_fraction,")));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows.len() as u64,
        count(&v, "fleet.replicas"),
        "one row per replica"
    );
    let completed: u64 = rows
        .iter()
        .map(|r| r[7].parse::<u64>().expect("completed"))
        .sum();
    assert_eq!(completed, count(&v, "requests.completed"));
}

#[test]
fn seed_changes_results_and_a_seed_repeats_them() {
    let dir = scratch("seed");
    let a = without_wall(run_json(&dir, &["--seed", "1"]));
    let again = without_wall(run_json(&dir, &["--seed", "1"]));
    let b = without_wall(run_json(&dir, &["--seed", "2"]));
    assert_eq!(a, again, "same seed, same summary");
    assert_ne!(a["requests"], Value::Null);
    assert_ne!(a, b, "a different seed gives different results");
    assert_eq!(count(&a, "sim.seed"), 1);
    assert_eq!(count(&b, "sim.seed"), 2);
}

#[test]
fn one_replica_has_a_higher_p95_ttft_than_two() {
    let dir = scratch("replicas");
    let two = run_json(&dir, &["--set", "deployment.replicas=2"]);
    let one = run_json(&dir, &["--set", "deployment.replicas=1"]);
    // The workload does not depend on the fleet.
    assert_eq!(
        count(&one, "requests.arrived"),
        count(&two, "requests.arrived")
    );
    let (p95_one, p95_two) = (
        number(&one, "latency.ttft_ms.p95"),
        number(&two, "latency.ttft_ms.p95"),
    );
    assert!(
        p95_one > p95_two,
        "p95 TTFT with 1 replica {p95_one} ms should exceed 2 replicas' {p95_two} ms"
    );
    assert!(number(&one, "gpu_hours.billed") < number(&two, "gpu_hours.billed"));
}

#[test]
fn trace_flag_replaces_the_workload() {
    let dir = scratch("trace");
    let trace = "time_s,input_tokens,output_tokens\n\
                 0,100,10\n0.5,200,20\n1.25,300,30\n2,400,40\n2,50,5\n";
    std::fs::write(dir.join("tiny.csv"), trace).expect("write trace");
    let stdout = fleetsim(
        &dir,
        &[
            "run", "--trace", "tiny.csv", "--format", "json", "--out", "out",
        ],
    );
    let v: Value = serde_json::from_str(&stdout).expect("summary JSON");
    assert_eq!(count(&v, "requests.arrived"), 5);
    assert_eq!(count(&v, "requests.completed"), 5);
    let requests = std::fs::read_to_string(dir.join("out/requests.csv")).expect("requests.csv");
    let rows: Vec<(String, String, String)> = requests
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[4].to_string(), f[5].to_string())
        })
        .collect();
    let expect = [
        ("0.000000000", "100", "10"),
        ("0.500000000", "200", "20"),
        ("1.250000000", "300", "30"),
        ("2.000000000", "400", "40"),
        ("2.000000000", "50", "5"),
    ];
    let expect: Vec<(String, String, String)> = expect
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(rows, expect, "the trace's requests, not the quickstart's");
}

#[test]
fn sort_flag_orders_a_backwards_trace() {
    let dir = scratch("sort");
    let trace = "time_s,input_tokens,output_tokens\n2,100,10\n1,200,20\n";
    std::fs::write(dir.join("back.csv"), trace).expect("write trace");
    let refused = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(["run", "--trace", "back.csv"])
        .current_dir(&*dir)
        .output()
        .expect("run fleetsim");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr.contains("line 3, field `time_s`") && stderr.contains("--sort"),
        "{stderr}"
    );
    let v: Value = serde_json::from_str(&fleetsim(
        &dir,
        &["run", "--trace", "back.csv", "--sort", "--format", "json"],
    ))
    .expect("summary JSON");
    assert_eq!(count(&v, "requests.completed"), 2);
}

/// 17 requests of 9,000 + 9,000 tokens on one L4: the KV cache holds one
/// or two at a time, and vLLM's packing preempts over and over. The
/// summary says the run is preemption-bound and the table warns, with the
/// remedies; reserving KV (TensorRT-LLM's scheduler) redoes nothing.
#[test]
fn a_preemption_bound_run_says_so() {
    let toml = |engine: &str| {
        format!(
            "[workload]\nkind = \"synthetic\"\nduration_s = 1\nmax_requests = 17\n\
             arrival = {{ kind = \"poisson\", rate_per_s = 1000 }}\n\
             input_tokens = {{ kind = \"fixed\", tokens = 9000 }}\n\
             output_tokens = {{ kind = \"fixed\", tokens = 9000 }}\n\
             [deployment]\nmodel = \"llama-3.1-8b\"\ngpu = \"l4\"\nreplicas = 1\n\
             [deployment.engine]\nweights_dtype = \"fp8\"\n{engine}"
        )
    };
    let load = |engine: &str| {
        fleetsim::scenario::load_str(&toml(engine), "pb.toml", std::path::Path::new("."), &[])
            .unwrap()
    };
    let packed = load("");
    let s = fleetsim::run::run(&packed).unwrap().summary;
    assert_eq!(s.requests.completed, 17);
    assert!(s.fleet.preemption_bound, "{:?}", s.fleet);
    assert!(s.fleet.recompute_share > 0.5, "{:?}", s.fleet);
    let table = fleetsim::report::render_table(&packed, &s);
    assert!(table.contains("warning    preemption-bound:"), "{table}");
    assert!(table.contains("lower max_num_seqs"), "{table}");
    let reserved = load("kind = \"trtllm\"\n");
    let s = fleetsim::run::run(&reserved).unwrap().summary;
    assert_eq!(s.requests.completed, 17);
    assert_eq!(s.fleet.preemptions, 0);
    assert!(!s.fleet.preemption_bound);
    assert!(!fleetsim::report::render_table(&reserved, &s).contains("preemption-bound"));
}
