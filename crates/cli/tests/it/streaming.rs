//! A run that streams its records (`[output] records = "stream"`) reports
//! what a run that keeps them reports: counts, sums, SLA attainment, means,
//! maxima, the time series and the replicas exactly; latency percentiles
//! and percentile targets within the sketch's documented bound
//! (`fleetsim_core::summary::sketch::RELATIVE_ERROR`). Its `requests.csv`,
//! streamed in completion order, holds the same rows as the kept one.
#![allow(clippy::unwrap_used)]

use crate::common;
use crate::scenarios::{load, name_of, scenario_files};

use fleetsim::scenario::Scenario;
use fleetsim_core::output::{write_requests_csv, RecordNames, RequestsCsv};
use fleetsim_core::summary::sketch_bound;
use fleetsim_core::RunResult;
use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A `Write` whose bytes the test reads back after the run.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether `path` names a sketched figure: a latency percentile below the
/// maximum, or a target's measured value.
fn sketched(path: &str) -> bool {
    [".p50", ".p90", ".p95", ".p99", ".actual_ms"]
        .iter()
        .any(|s| path.ends_with(s))
}

fn within_bound(exact: f64, streamed: f64) -> bool {
    (exact - streamed).abs() <= sketch_bound(exact) + 1e-9
}

/// Asserts `streamed` equals `exact` but for sketched figures, which must
/// be within the bound, and target verdicts, which may differ only when
/// the exact percentile lies within the bound of the target's `max_ms`.
fn assert_equivalent(exact: &Value, streamed: &Value, path: &str, what: &str) {
    match (exact, streamed) {
        (Value::Object(a), Value::Object(b)) => {
            let keys = |o: &Object| o.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(a), keys(b), "{what}: keys of {path}");
            for (k, va) in a {
                let here = format!("{path}.{k}");
                let vb = &b[k];
                let verdict = k == "met" || k == "all_targets_met";
                if verdict && va != vb {
                    assert_verdict_near_bound(a, b, &here, what);
                    continue;
                }
                assert_equivalent(va, vb, &here, what);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{what}: length of {path}");
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                assert_equivalent(va, vb, &format!("{path}[{i}]"), what);
            }
        }
        (Value::Number(a), Value::Number(b)) if sketched(path) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(within_bound(a, b), "{what}: {path} is {b}, exact {a}");
        }
        _ => assert_eq!(exact, streamed, "{what}: {path}"),
    }
}

type Object = serde_json::Map<String, Value>;

/// A verdict differs: every target whose verdict differs in `exact`'s
/// section (a target, or an SLA report with targets) is within the bound
/// of its bound.
fn assert_verdict_near_bound(exact: &Object, streamed: &Object, path: &str, what: &str) {
    let pairs: Vec<(&Object, &Object)> = match (exact.get("targets"), streamed.get("targets")) {
        (Some(Value::Array(a)), Some(Value::Array(b))) => (a.iter().zip(b))
            .map(|(a, b)| (a.as_object().unwrap(), b.as_object().unwrap()))
            .collect(),
        _ => vec![(exact, streamed)],
    };
    for (a, b) in pairs.into_iter().filter(|(a, b)| a["met"] != b["met"]) {
        let max_ms = a["max_ms"].as_f64().unwrap();
        let actual = a["actual_ms"].as_f64().unwrap();
        assert!(
            (actual - max_ms).abs() <= sketch_bound(actual) + 1e-9,
            "{what}: {path} differs ({:?} against {:?}) with the exact p{} {actual} ms \
             not within the bound of {max_ms} ms",
            b["met"],
            a["met"],
            a["percentile"]
        );
    }
}

/// The rows of a `requests.csv` after its header, by request id.
fn rows_by_id(csv: &[u8]) -> (String, Vec<String>) {
    let text = String::from_utf8(csv.to_vec()).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let mut rows: Vec<String> = lines.map(str::to_string).collect();
    rows.sort_by_key(|r| r.split(',').next().unwrap().parse::<u64>().unwrap());
    (header, rows)
}

/// Runs `scenario` keeping its records and streaming them; checks the two
/// agree and returns the kept run.
fn check_streaming_agrees(mut scenario: Scenario, what: &str) -> RunResult {
    use fleetsim_core::Records;
    scenario.output.records = Records::Keep;
    let kept = fleetsim::run::run(&scenario).unwrap_or_else(|e| panic!("{what}: {e}"));
    scenario.output.records = Records::Stream;
    let csv = Shared::default();
    let sink = RequestsCsv::new(RecordNames::of_config(&scenario.sim), csv.clone()).unwrap();
    let streamed = fleetsim::run::run_with_sink(&scenario, None, Some(Box::new(sink)))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        streamed.records.is_empty(),
        "{what}: a streamed run keeps no record"
    );
    assert_eq!(kept.records.len() as u64, kept.summary.requests.arrived);
    let json = |r: &RunResult| serde_json::to_value(&r.summary).unwrap();
    assert_equivalent(&json(&kept), &json(&streamed), "summary", what);
    assert_eq!(kept.timeseries, streamed.timeseries, "{what}: time series");
    assert_eq!(kept.replicas, streamed.replicas, "{what}: replicas");
    let mut exact_csv = Vec::new();
    write_requests_csv(&kept.records, &kept.summary, &mut exact_csv).unwrap();
    let streamed_csv = csv.0.lock().unwrap().clone();
    assert_eq!(
        rows_by_id(&exact_csv),
        rows_by_id(&streamed_csv),
        "{what}: requests.csv rows"
    );
    kept
}

#[test]
fn streaming_summaries_equal_the_exact_ones_on_the_shipped_scenarios() {
    let mut checked = 0;
    for path in scenario_files() {
        let name = name_of(&path);
        // The largest (a few seconds in a release build) adds nothing the
        // other ServeGen profiles do not check.
        if name == "servegen-m-large.toml" {
            continue;
        }
        // Whole scenarios in a release build; their first minute in a
        // debug build (as `scenarios.rs` cuts them).
        let sets: Vec<String> = match cfg!(debug_assertions) {
            false => Vec::new(),
            true => vec![
                "workload.transforms=[{ kind = \"slice\", start_s = 0, end_s = 60 }]".to_string(),
            ],
        };
        let sets = match load(&path, &[]) {
            Some(s)
                if matches!(
                    s.workload,
                    fleetsim::scenario::WorkloadSpec::Synthetic { .. }
                ) && !sets.is_empty() =>
            {
                vec!["workload.duration_s=60".to_string()]
            }
            Some(_) => sets,
            None => continue,
        };
        let scenario = load(&path, &sets).unwrap();
        let kept = check_streaming_agrees(scenario, &name);
        assert!(
            kept.summary.requests.completed > 0,
            "{name}: nothing completed"
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} scenarios checked");
}

#[test]
fn streaming_agrees_with_pipelines_classes_and_losses() {
    // A voice pipeline (VAD → LLM) beside direct LLM traffic, the LLM with
    // two priority classes of their own SLA and a short queue, so stage
    // records, end-to-end records, classes and rejections all count.
    let toml = r#"
[workload]
kind = "trace"
path = "t.csv"

[[deployments]]
name = "vad"
replicas = 1
[deployments.slots]
slots = 2
service = { dist = "exponential", mean_s = 0.05 }

[[deployments]]
name = "llm"
replicas = 2
[deployments.slots]
slots = 2
service = { dist = "exponential", mean_s = 0.4 }
[deployments.queue]
mode = "central"
max_concurrency_per_replica = 2
[[deployments.queue.classes]]
name = "interactive"
share = 0.3
max_queue_length = 4
sla = { e2e_ms = 800, targets = [{ metric = "e2e_ms", percentile = 90, max_ms = 1500 }] }
[[deployments.queue.classes]]
name = "batch"
share = 0.7
max_queue_length = 20

[[pipelines]]
name = "voice"
stages = ["vad", "llm"]
hops_ms = [5]

[sla]
e2e_ms = 1000
targets = [{ metric = "e2e_ms", percentile = 95, max_ms = 2000 }]
"#;
    let mut trace = String::from("time_s,input_tokens,output_tokens,model\n");
    for i in 0..3000u32 {
        let model = if i % 3 == 0 { "voice" } else { "llm" };
        let at_s = f64::from(i) * 0.09;
        trace.push_str(&format!("{at_s:.3},{},5,{model}\n", 10 + i % 7));
    }
    let dir = common::scratch_dir("streaming");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.csv"), &trace).unwrap();
    let scenario = fleetsim::scenario::load_str(toml, "scenario.toml", &dir, &[]).unwrap();
    let kept = check_streaming_agrees(scenario, "pipelines");
    std::fs::remove_dir_all(&dir).ok();
    let s = &kept.summary;
    assert_eq!(s.requests.arrived, 3000);
    assert!(s.requests.rejected > 0, "{:?}", s.requests);
    assert_eq!(s.pipelines[0].requests.arrived, 1000);
    assert!(s.deployments[1]
        .classes
        .iter()
        .all(|c| c.requests.arrived > 0));
}

/// Runs `fleetsim args…`; returns success, stdout and stderr.
fn fleetsim(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn run_out_streams_requests_csv_or_skips_it() {
    let dir = common::scratch_dir("streaming-out");
    let (kept, streamed, skipped) = (dir.join("kept"), dir.join("streamed"), dir.join("skipped"));
    let short = "workload.duration_s=120";
    let run = |out: &std::path::Path, sets: &[&str]| {
        let mut args = vec!["run", "--set", short, "--out", out.to_str().unwrap()];
        for s in sets {
            args.extend(["--set", s]);
        }
        let (ok, _, stderr) = fleetsim(&args);
        assert!(ok, "{stderr}");
    };
    run(&kept, &[]);
    run(&streamed, &["output.records=stream"]);
    run(
        &skipped,
        &["output.records=stream", "output.requests_csv=false"],
    );
    let read = |d: &std::path::Path, f: &str| std::fs::read(d.join(f)).unwrap();
    // The same rows, in id order once kept, in completion order streamed.
    let (kept_rows, streamed_rows) = (read(&kept, "requests.csv"), read(&streamed, "requests.csv"));
    assert_eq!(rows_by_id(&kept_rows), rows_by_id(&streamed_rows));
    assert_ne!(
        kept_rows, streamed_rows,
        "completion order is not id order here"
    );
    for f in ["timeseries.csv", "replicas.csv"] {
        assert_eq!(read(&kept, f), read(&streamed, f), "{f}");
        assert_eq!(read(&kept, f), read(&skipped, f), "{f}");
    }
    assert!(!skipped.join("requests.csv").exists());
    assert!(skipped.join("summary.json").exists());
    // Streamed, --plot draws the charts the time series holds; the
    // latency chart says why it has no curves (tests/it/plot.rs).
    let plotted = dir.join("plotted");
    let out = plotted.to_str().unwrap();
    let (ok, _, stderr) = fleetsim(&[
        "run",
        "--set",
        short,
        "--set",
        "output.records=stream",
        "--out",
        out,
        "--plot",
    ]);
    assert!(ok, "{stderr}");
    for chart in ["fleet.svg", "latency-cdf.svg", "gpu-hours.svg"] {
        assert!(plotted.join(chart).exists(), "{chart}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_records_key_names_its_values() {
    let (ok, _, stderr) = fleetsim(&["run", "--set", "output.records=\"all\""]);
    assert!(!ok);
    assert!(
        stderr.contains("output.records") && stderr.contains("keep") && stderr.contains("stream"),
        "{stderr}"
    );
}

/// A sink that takes `left` records, then fails like a full disk.
struct FailingSink {
    left: u32,
}

impl fleetsim_core::RecordSink for FailingSink {
    fn record(&mut self, _: &fleetsim_core::metrics::RequestRecord) -> std::io::Result<()> {
        match self.left.checked_sub(1) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(std::io::Error::other("no space left on device")),
        }
    }
}

#[test]
fn a_sink_that_fails_stops_the_run_with_its_error() {
    let sets = [
        "workload.duration_s=30".to_string(),
        "output.records=stream".to_string(),
    ];
    let scenario = fleetsim::scenario::load_str(
        fleetsim::scenario::QUICKSTART_TOML,
        "quickstart",
        std::path::Path::new("."),
        &sets,
    )
    .unwrap();
    let sink = Box::new(FailingSink { left: 3 });
    let e = fleetsim::run::run_with_sink(&scenario, None, Some(sink)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot write a request's record: no space left on device"
    );
}
