//! End to end: inputs that used to hang or exhaust memory now end within
//! seconds, with outcomes counted against the input or a located error.
//!
//! Each case runs the `fleetsim` binary in a scratch directory under a
//! watchdog ([`run_bounded`]), so a regression fails the test instead of
//! hanging it.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Longest a case may take; each takes well under a second.
const LIMIT: Duration = Duration::from_secs(30);

/// A one-H100 Llama-3.1-8B deployment; `{workload}` and `{rest}` are
/// filled in.
const SCENARIO: &str = r#"name = "reliability"
seed = 1
[workload]
kind = "trace"
path = "trace.csv"
{workload}
[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = {replicas}
{rest}
"#;

/// Writes the scenario (and `trace`) into a scratch directory named
/// `name` and runs `fleetsim run scenario.toml [extra…]` there, killed
/// after [`LIMIT`].
fn run_bounded(name: &str, scenario: &str, trace: &str, extra: &[&str]) -> Output {
    let dir = scratch(name);
    std::fs::write(dir.join("scenario.toml"), scenario).expect("write scenario");
    std::fs::write(dir.join("trace.csv"), trace).expect("write trace");
    let out = run_in(&dir, extra);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// A new scratch directory for case `name`.
fn scratch(name: &str) -> PathBuf {
    let dir = common::scratch_dir(&format!("reliability-{name}"));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn run_in(dir: &Path, extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fleetsim"));
    command
        .args(["run", "scenario.toml"])
        .args(extra)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE");
    common::run_watched(&mut command, LIMIT)
        .unwrap_or_else(|| panic!("fleetsim did not end within {LIMIT:?}"))
}

fn scenario(workload: &str, replicas: u32, rest: &str) -> String {
    SCENARIO
        .replace("{workload}", workload)
        .replace("{replicas}", &replicas.to_string())
        .replace("{rest}", rest)
}

/// A generic CSV trace with requests at `times_s`.
fn trace(times_s: &[&str]) -> String {
    let rows: String = times_s.iter().map(|t| format!("{t},100,10\n")).collect();
    format!("time_s,input_tokens,output_tokens\n{rows}")
}

/// The run succeeded: its summary's `requests` section.
fn requests(out: &Output) -> serde_json::Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("summary JSON on stdout");
    summary["requests"].clone()
}

/// The run failed with one located error line holding every fragment.
fn error(out: &Output, fragments: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    for f in fragments {
        assert!(stderr.contains(f), "{f:?} not in {stderr}");
    }
}

/// Spot nodes reclaimed within seconds (mean uptime 3.6 s, cold starts of
/// minutes): no replica is ever ready.
const SPOT_CHURN: &str = r#"[pool]
gpus_per_node = 1
spot = { interruptions_per_node_hour = 1000, notice_s = 1 }
[scaling]
kind = "scheduled"
schedule = [{ at_s = 0, replicas = 2 }]"#;

#[test]
fn requests_waiting_for_a_replica_that_never_comes_time_out() {
    let times = ["0", "1", "2", "30"];
    let out = run_bounded(
        "spot",
        &scenario("", 0, SPOT_CHURN),
        &trace(&times),
        &["--format", "json"],
    );
    let r = requests(&out);
    assert_eq!(r["arrived"], 4);
    assert_eq!(r["timed_out"], 4);
    assert_eq!(r["completed"], 0);
    assert_eq!(r["failed"], 0);
    assert_eq!(r["rejected"], 0);
}

#[test]
fn a_fleet_that_loses_replicas_as_fast_as_it_starts_them_stops() {
    // Nodes up in a microsecond and reclaimed at once: replicas churn with
    // no end while the requests wait.
    let churn = SPOT_CHURN
        .replace("1000, notice_s = 1", "1e9, notice_s = 1")
        .replace(
            "gpus_per_node = 1",
            "gpus_per_node = 1\nprovisioning = { dist = \"fixed\", value_s = 0.000001 }",
        );
    let out = run_bounded("churn", &scenario("", 0, &churn), &trace(&["0"]), &[]);
    error(
        &out,
        &["would start replica 100001", "interruptions_per_node_hour"],
    );
}

#[test]
fn long_simulated_spans_cost_what_happens_in_them() {
    // A day-long gap (10-s windows), a trace slowed a billionfold, 1-µs
    // windows, and a warm-up slowdown of a billion: each used to hold a
    // window per resolution step of simulated time.
    let gap = run_bounded(
        "gap",
        &scenario("", 1, ""),
        &trace(&["0", "1000000000"]),
        &["--format", "json"],
    );
    assert_eq!(requests(&gap)["completed"], 2);
    let slow = "transforms = [{ kind = \"rate_multiplier\", factor = 1e-9 }]";
    let slow = run_bounded(
        "slow",
        &scenario(slow, 1, ""),
        &trace(&["0", "1"]),
        &["--format", "json"],
    );
    assert_eq!(requests(&slow)["completed"], 2);
    let fine = "[output]\ntimeseries_resolution_s = 1e-6";
    let dir = scratch("fine");
    std::fs::write(dir.join("scenario.toml"), scenario("", 1, fine)).expect("write");
    std::fs::write(dir.join("trace.csv"), trace(&["0", "100"])).expect("write");
    let out = run_in(&dir, &["--out", "out"]);
    assert_eq!(out.status.code(), Some(0));
    let rows = std::fs::read_to_string(dir.join("out/timeseries.csv")).expect("timeseries");
    let _ = std::fs::remove_dir_all(&dir);
    // Header, and a few rows around each arrival and completion.
    assert!(rows.lines().count() <= 12, "{rows}");
    let warmup = r#"[pool]
gpus_per_node = 1
[scaling]
kind = "scheduled"
schedule = [{ at_s = 0, replicas = 1 }]
[cold_start]
warmup = { requests = 1, duration_s = 0, slowdown_factor = 1e9, extra_latency_s = 0 }"#;
    let warm = run_bounded(
        "warmup",
        &scenario("", 0, warmup),
        &trace(&["0", "1"]),
        &["--format", "json"],
    );
    assert_eq!(requests(&warm)["completed"], 2);
}

#[test]
fn limits_a_run_cannot_hold_are_located_errors() {
    let repeat = "transforms = [{ kind = \"repeat\", times = 4294967295 }]";
    let out = run_bounded("repeat", &scenario(repeat, 1, ""), &trace(&["0"]), &[]);
    error(
        &out,
        &[
            "scenario.toml:6:",
            "field `workload.transforms[0].times`",
            "must be from 1 to 20000000",
        ],
    );
    let warm = "[pool]\ngpus_per_node = 1\nwarm_nodes = 4000000000";
    let out = run_bounded("warm", &scenario("", 1, warm), &trace(&["0"]), &[]);
    error(
        &out,
        &[
            "scenario.toml:13:",
            "field `pool.warm_nodes`",
            "at most 100000",
        ],
    );
    let quota = "[pool]\ngpus_per_node = 1\nmax_nodes = 3\nwarm_nodes = 5";
    let out = run_bounded("quota", &scenario("", 1, quota), &trace(&["0"]), &[]);
    error(
        &out,
        &[
            "scenario.toml:14:",
            "field `pool.warm_nodes`",
            "`max_nodes` (3)",
        ],
    );
    let wait = "[[queue.classes]]\nname = \"a\"\nshare = 1\ntimeout_s = 1e6";
    let out = run_bounded("wait", &scenario("", 1, wait), &trace(&["0"]), &[]);
    error(
        &out,
        &[
            "scenario.toml:14:",
            "field `queue.classes[0].timeout_s`",
            "at most 86400 s",
        ],
    );
}

/// An autoscaled deployment over a 10⁹-s gap between two requests: its
/// control loop would scrape and decide about 10⁹ times. The run stops at
/// the evaluation limit, within seconds, with an error naming the file,
/// the deployment and what to change.
#[test]
fn a_control_loop_over_an_idle_eternity_stops() {
    let kpa = "[scaling]\nkind = \"kpa\"\nmin_replicas = 1\nmax_replicas = 2";
    let gap = trace(&["0", "1000000000"]);
    let out = run_bounded("control-loop", &scenario("", 1, kpa), &gap, &[]);
    error(
        &out,
        &[
            "error: scenario.toml: ",
            "deployment \"llama-3.1-8b\"",
            "scraped and decided 10000000 times",
            "`[scaling.scrape] interval_s`",
        ],
    );
}
