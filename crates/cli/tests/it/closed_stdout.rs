//! End to end: `fleetsim … | head -1`. When the reader of stdout has gone,
//! a command stops quietly with exit status 0 (`print!` would panic with
//! "failed printing to stdout"), after doing its work: files are written and
//! a failing check still fails.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `fleetsim args…` in `dir` with stdout a pipe whose reading end is
/// closed as soon as the process starts (before it can print anything:
/// every command reads a file or runs a simulation first).
fn with_closed_stdout(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fleetsim");
    drop(child.stdout.take());
    child.wait_with_output().expect("wait for fleetsim")
}

fn assert_quiet_success(dir: &Path, args: &[&str]) {
    let out = with_closed_stdout(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(
        out.status.success(),
        "{args:?}: {:?} (a signal, or a failure), stderr: {stderr}",
        out.status
    );
}

#[test]
fn trace_stats_and_run_stop_quietly_when_stdout_is_closed() {
    let root = common::workspace_root();
    for trace in ["traces/example-azure.csv", "traces/example-generic.csv"] {
        for format in ["table", "json"] {
            // Repeated: the outcome must not depend on when the pipe closes.
            for _ in 0..3 {
                assert_quiet_success(&root, &["trace", "stats", trace, "--format", format]);
            }
        }
    }
    for format in ["table", "json"] {
        let args = ["run", "--set", "workload.duration_s=60", "--format", format];
        assert_quiet_success(&root, &args);
    }
}

#[test]
fn a_closed_stdout_neither_skips_the_work_nor_hides_a_failure() {
    let dir = common::scratch_dir("closed-stdout");
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = common::workspace_root().join("scenarios/quickstart.toml");
    let scenario = scenario.to_str().unwrap();
    let short = "workload.duration_s=20";
    // --update writes the baseline although its table cannot be shown.
    let update = [
        "check",
        "--baseline",
        "b.toml",
        scenario,
        "--set",
        short,
        "--update",
    ];
    assert_quiet_success(&dir, &update);
    assert!(dir.join("b.toml").is_file(), "the baseline was written");
    // Unchanged: passes.
    assert_quiet_success(
        &dir,
        &["check", "--baseline", "b.toml", scenario, "--set", short],
    );
    // A longer run differs from the baseline: the check fails all the same.
    let longer = [
        "check",
        "--baseline",
        "b.toml",
        scenario,
        "--set",
        "workload.duration_s=40",
    ];
    let out = with_closed_stdout(&dir, &longer);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("beyond tolerance"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
