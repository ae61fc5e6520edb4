//! The time series' per-window accounting: replicas by state, SLA misses
//! and GPU time by state add up to the run's summary.

use crate::common;

use fleetsim::core::cost::{CostLine, GpuState};
use fleetsim::core::engine::TimeseriesRow;
use fleetsim::core::RunResult;
use fleetsim::scenario;

/// Runs `scenarios/<file>` with `sets`; `None` (skipped) when its trace
/// lives in `../shared` and that is absent.
fn run_shipped(file: &str, sets: &[&str]) -> Option<RunResult> {
    if file != "quickstart.toml" && common::shared_dir(&format!("timeseries {file}")).is_none() {
        return None;
    }
    let path = common::workspace_root().join("scenarios").join(file);
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let s = scenario::load_file(&path, &sets).unwrap_or_else(|e| panic!("{file}: {e}"));
    Some(fleetsim::run::run(&s).unwrap_or_else(|e| panic!("{file}: {e}")))
}

fn state_index(state: GpuState) -> usize {
    GpuState::ALL
        .iter()
        .position(|s| *s == state)
        .expect("a state of ALL")
}

fn window_s(w: &TimeseriesRow) -> f64 {
    (w.end.0 - w.start.0) as f64 / 1e9
}

/// Each state's GPU-seconds over the windows, against the cost report's
/// GPU-hours by state.
fn assert_gpu_states_add_up(name: &str, r: &RunResult) {
    let by_state = (r.summary.gpu_hours.by_state.as_ref())
        .unwrap_or_else(|| panic!("{name}: a placement gives GPU-hours by state"));
    for state in GpuState::ALL {
        let i = state_index(state);
        let windows_gpu_ns: u128 = r.timeseries.iter().map(|w| w.gpu_ns[i]).sum();
        let windows_s = windows_gpu_ns as f64 / 1e9;
        let summary_s = by_state.get(CostLine::State(state)) * 3600.0;
        assert!(
            (windows_s - summary_s).abs() <= 1e-9 * summary_s.max(1.0),
            "{name}: {}: windows {windows_s} GPU-s, summary {summary_s} GPU-s",
            state.name()
        );
    }
}

fn assert_misses_add_up(name: &str, r: &RunResult) {
    let misses: u64 = r.timeseries.iter().map(|w| w.sla_misses).sum();
    assert_eq!(misses, r.summary.sla.misses, "{name}: SLA misses");
    for w in &r.timeseries {
        assert!(
            w.sla_misses <= w.arrivals,
            "{name}: window ending {:?}: {} misses of {} arrivals",
            w.end,
            w.sla_misses,
            w.arrivals
        );
    }
}

#[test]
fn a_fixed_fleet_is_ready_all_along_and_its_windows_hold_its_gpus() {
    let r = run_shipped("quickstart.toml", &["workload.duration_s=60"]).expect("embedded");
    assert!(r.timeseries.len() >= 6);
    assert!(r.summary.gpu_hours.by_state.is_none(), "no placement");
    let busy = state_index(GpuState::Busy);
    let idle = state_index(GpuState::IdleReady);
    let mut total_gpu_ns = 0u128;
    for w in &r.timeseries {
        assert_eq!(
            (w.replicas, w.replicas_starting, w.replicas_draining),
            (2, 0, 0)
        );
        // Two 1-GPU replicas, ready from time 0: every window holds exactly
        // two GPUs for its length, split between busy and idle.
        let held: u128 = w.gpu_ns.iter().sum();
        let len = u128::from(w.end.0 - w.start.0);
        assert_eq!(held, w.gpu_ns[busy] + w.gpu_ns[idle]);
        total_gpu_ns += held;
        if w.end != r.timeseries.last().map_or(w.end, |l| l.end) {
            assert_eq!(held, 2 * len, "window ending {:?}", w.end);
        }
    }
    // The last window runs to the last event; the held time to the run's end.
    let billed_s = r.summary.gpu_hours.billed * 3600.0;
    let windows_s = total_gpu_ns as f64 / 1e9;
    assert!(
        (windows_s - billed_s).abs() < 1e-6,
        "{windows_s} vs {billed_s}"
    );
    let busy_s = r.timeseries.iter().map(|w| w.gpu_ns[busy]).sum::<u128>() as f64 / 1e9;
    let summary_busy_s = r.summary.gpu_hours.busy * 3600.0;
    assert!(
        (busy_s - summary_busy_s).abs() < 1e-6,
        "{busy_s} vs {summary_busy_s}"
    );
    assert_misses_add_up("quickstart", &r);
}

#[test]
fn a_scheduled_step_starts_drains_and_bills_each_state_once() {
    let Some(r) = run_shipped("azure-conv-step.toml", &[]) else {
        return;
    };
    assert_gpu_states_add_up("azure-conv-step", &r);
    assert_misses_add_up("azure-conv-step", &r);
    // 1 replica, 4 asked for at 1200 s, 1 at 1800 s.
    let at = |end_s: u64| {
        (r.timeseries.iter())
            .find(|w| w.end.0 == end_s * 1_000_000_000)
            .unwrap_or_else(|| panic!("a window ends at {end_s} s"))
    };
    let before = at(1140);
    assert_eq!(
        (
            before.replicas,
            before.replicas_starting,
            before.replicas_draining
        ),
        (1, 0, 0)
    );
    // The counts are taken at a window's end, after the fleet changes of
    // that instant (scaling events run before the metrics tick).
    let step = at(1200);
    assert_eq!((step.replicas, step.replicas_starting), (1, 3));
    let scaling_up = at(1260);
    assert_eq!(
        scaling_up.replicas + scaling_up.replicas_starting,
        4,
        "ready and starting replicas after the step up"
    );
    assert!(scaling_up.replicas_starting > 0, "cold starts take minutes");
    let cold: u128 = (GpuState::ALL.iter())
        .filter(|s| s.is_cold_start())
        .map(|s| scaling_up.gpu_ns[state_index(*s)])
        .sum();
    assert!(cold > 0, "cold-start GPU time after 1200 s");
    let cold_before: u128 = (GpuState::ALL.iter())
        .filter(|s| s.is_cold_start())
        .map(|s| step.gpu_ns[state_index(*s)] + before.gpu_ns[state_index(*s)])
        .sum();
    assert_eq!(cold_before, 0, "nothing started before 1200 s");
    let down = at(1800);
    assert_eq!(down.replicas, 1, "one replica stays ready");
    assert!(down.replicas_draining > 0, "the others drain");
    let draining = state_index(GpuState::Draining);
    let drained: u128 = (r.timeseries.iter())
        .filter(|w| w.end > down.start)
        .map(|w| w.gpu_ns[draining])
        .sum();
    assert!(drained > 0, "draining GPU time after 1800 s");
    let last = r.timeseries.last().expect("windows");
    assert_eq!((last.replicas_starting, last.replicas_draining), (0, 0));
}

#[test]
fn autoscaled_runs_add_up_per_state() {
    for file in [
        "autoscaling/kpa-concurrency.toml",
        "autoscaling/five-knob.toml",
    ] {
        let Some(r) = run_shipped(file, &[]) else {
            return;
        };
        assert_gpu_states_add_up(file, &r);
        assert_misses_add_up(file, &r);
        assert!(
            r.timeseries.iter().any(|w| w.replicas_starting > 0),
            "{file}: the autoscaler starts replicas"
        );
    }
}

#[test]
fn new_columns_come_after_the_old_ones() {
    let r = run_shipped("quickstart.toml", &["workload.duration_s=20"]).expect("embedded");
    let mut csv = Vec::new();
    fleetsim::core::output::write_timeseries_csv(&r.timeseries, &mut csv).expect("in memory");
    let text = String::from_utf8(csv).expect("utf-8");
    let header = text.lines().next().expect("a header");
    assert!(header.starts_with(
        "window_start_s,window_end_s,arrivals,completed,running,waiting,replicas,ttft_p95_ms,"
    ));
    assert!(header.ends_with(",gpu_s_warm_pool,gpu_s_unallocated"));
    let columns = header.split(',').count();
    assert_eq!(columns, 8 + 3 + GpuState::COUNT);
    for line in text.lines().skip(1) {
        assert_eq!(line.split(',').count(), columns, "{line}");
    }
    let first = text.lines().nth(1).expect("a window");
    // 10 s of two replicas: 20 GPU-seconds, busy plus idle.
    let fields: Vec<&str> = first.split(',').collect();
    let busy: f64 = fields[11 + state_index(GpuState::Busy)]
        .parse()
        .expect("busy");
    let idle: f64 = fields[11 + state_index(GpuState::IdleReady)]
        .parse()
        .expect("idle");
    assert!((busy + idle - 20.0).abs() < 1e-9, "{busy} + {idle}");
    assert!(window_s(&r.timeseries[0]) > 0.0);
}

/// Busy time is booked when an iteration (or a planned run of them)
/// starts; a window taken in the middle of one counts only what has
/// elapsed, so both stepping modes give the same windows.
#[test]
fn windows_do_not_depend_on_the_stepping_mode() {
    let every = "deployment.engine.stepping=every_iteration";
    let jump = run_shipped("quickstart.toml", &["workload.duration_s=60"]).expect("embedded");
    let each =
        run_shipped("quickstart.toml", &["workload.duration_s=60", every]).expect("embedded");
    assert!(
        jump.summary.sim.events < each.summary.sim.events,
        "the jump saves events"
    );
    assert_eq!(jump.timeseries, each.timeseries);
    // With drains too: a replica that starts draining counts as busy only
    // the part of its iteration (or planned run) already elapsed, so the
    // windows and the summary's GPU time by state are the same in both
    // modes.
    let step = "azure-conv-step.toml";
    if let (Some(jump), Some(each)) = (run_shipped(step, &[]), run_shipped(step, &[every])) {
        assert!(
            jump.summary.fleet.replicas_drained > 0,
            "the scenario drains"
        );
        assert_eq!(jump.timeseries, each.timeseries);
        let by_state = |r: &RunResult| serde_json::to_string(&r.summary.gpu_hours).unwrap();
        assert_eq!(by_state(&jump), by_state(&each));
    }
}
