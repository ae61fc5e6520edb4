//! Helpers shared by the integration tests.
#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use std::path::PathBuf;

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared` next to the workspace, where the real traces and reference
/// data live. Returns `None` (and says the test was skipped) when it is
/// absent, as on a user's fresh clone; under `CI=true` its absence is a
/// failure so CI always runs the tests that need it.
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    let dir = workspace_root().join("../shared");
    if dir.join("traces").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!("{test}: ../shared is missing next to the workspace, and CI=true requires it");
    }
    eprintln!("{test}: skipped, ../shared not found next to the workspace");
    None
}

/// A fresh scratch directory named after `test`: tests run in parallel and
/// must not share one.
pub fn scratch_dir(test: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("fleetsim-{test}-{}-{n}", std::process::id()))
}

/// Runs scenario text `toml` (named `scenario.toml` in errors) with a
/// trace file `t.csv` holding `trace` beside it; load and run errors as
/// their messages.
pub fn run_trace(trace: &str, toml: &str) -> Result<fleetsim_core::RunResult, String> {
    let dir = scratch_dir("trace");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.csv"), trace).unwrap();
    let result = fleetsim::scenario::load_str(toml, "scenario.toml", &dir, &[])
        .map_err(|e| e.to_string())
        .and_then(|s| fleetsim::run::run(&s).map_err(|e| e.to_string()));
    std::fs::remove_dir_all(&dir).ok();
    if let Ok(r) = &result {
        // The trace's rows (after the header) are the requests fed in.
        let rows = trace
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .count();
        check_consistent(r, Some(rows as u64));
    }
    result
}

/// Fails the test if the run's summary contradicts itself or, given
/// `input_requests`, the input. The engine runs the same check on every
/// run; this one also knows how many requests the test fed in.
pub fn check_consistent(result: &fleetsim_core::RunResult, input_requests: Option<u64>) {
    if let Err(found) = result.summary.check_consistency(input_requests) {
        let list: Vec<String> = found.iter().map(|i| i.to_string()).collect();
        panic!("inconsistent summary:\n  {}", list.join("\n  "));
    }
}

/// `[[gpus]]` and `[[models]]` entries copying `h100-sxm` and
/// `llama-3.1-8b` as `docs/catalogue.md` gives them, as `my-gpu` and
/// `my-model` (for `own_hardware.rs` and the bad-input cases).
pub const OWN_HARDWARE: &str = r#"
[[gpus]]
name = "my-gpu"
generation = "hopper"
link = "nvlink"
bf16_tflops = 989.4
fp8_tflops = 1978.9
memory_gb = 80
memory_bandwidth_tb_per_s = 3.35
interconnect_gb_per_s = 450

[[models]]
name = "my-model"
params_b = 8.03
layers = 32
hidden_size = 4096
query_heads = 32
kv_heads = 8
head_dim = 128
max_context_tokens = 131072
"#;

/// Runs `command` with piped output, killed after `limit`: its output, or
/// `None` when it was still running then (the callers' tests must end even
/// when the binary would not).
pub fn run_watched(
    command: &mut std::process::Command,
    limit: std::time::Duration,
) -> Option<std::process::Output> {
    use std::process::Stdio;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain both pipes while waiting, so a chatty child never blocks.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).ok();
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    Some(std::process::Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    })
}

/// The text of the shipped scenario `scenarios/<name>`.
pub fn shipped_scenario(name: &str) -> String {
    let path = workspace_root().join("scenarios").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs scenario text as if it sat in `scenarios/` (its relative trace
/// paths resolve there) and checks the result's consistency.
pub fn run_beside_scenarios(toml: &str) -> fleetsim_core::RunResult {
    let dir = workspace_root().join("scenarios");
    let s = fleetsim::scenario::load_str(toml, "scenario.toml", &dir, &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let r = fleetsim::run::run(&s).unwrap_or_else(|e| panic!("{e}"));
    check_consistent(&r, None);
    r
}

/// Jump stepping equals step-by-step stepping: `jump` (decode runs in
/// closed form) and `step` (the same with `stepping = "every_iteration"`)
/// give the same records, replicas and time series, the first in fewer
/// events.
pub fn assert_stepping_agrees(jump: &fleetsim_core::RunResult, step: &fleetsim_core::RunResult) {
    assert!(jump.summary.sim.events < step.summary.sim.events);
    assert_eq!(jump.records, step.records);
    assert_eq!(jump.replicas, step.replicas);
    assert_eq!(jump.timeseries, step.timeseries);
}
