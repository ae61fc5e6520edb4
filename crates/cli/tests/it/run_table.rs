//! The run table: `impl Display for Summary` line by line on hand-made
//! summaries (`check(input, expect)`), the scenario line of fixed,
//! autoscaled and scheduled fleets, and `fleetsim run`'s table being the
//! scenario line over the summary's own display.
#![allow(clippy::unwrap_used)]

use crate::common::scratch_dir;
use fleetsim_core::cost::{monthly_equation, BilledCosts, CostReport, MonthlyInputs, StateLine};
use fleetsim_core::summary::{ColdStartStages, ColdStartSummary, Summary};
use fleetsim_core::SimDuration;
use std::path::Path;
use std::process::Command;

/// A fleet of 2 replicas autoscaled between 1 and 6 on 1-GPU nodes, with
/// more traffic than 2 replicas serve: it scales up through cold starts.
const AUTOSCALED: &str = r#"
name = "step-up"
seed = 7

[workload]
kind = "synthetic"
duration_s = 900
arrival = { kind = "poisson", rate_per_s = 30.0 }
input_tokens = { kind = "lognormal", median_tokens = 1000, sigma = 0.8, max_tokens = 14000 }
output_tokens = { kind = "lognormal", median_tokens = 130, sigma = 0.8, max_tokens = 1000 }

[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 2

[pool]
gpus_per_node = 1

[scaling]
kind = "concurrency"
min_replicas = 1
max_replicas = 6
target_concurrency_per_replica = 32
window_s = 60
scale_down_delay_s = 300

[sla]
ttft_ms = 500
tpot_ms = 50
"#;

/// The same fleet on a schedule: 1 replica, 4 from 120 s, 2 from 240 s.
const SCHEDULED: &str = r#"
name = "stepped"
seed = 3

[workload]
kind = "synthetic"
duration_s = 60
arrival = { kind = "poisson", rate_per_s = 5.0 }
input_tokens = { kind = "fixed", tokens = 500 }
output_tokens = { kind = "fixed", tokens = 100 }

[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 1

[scaling]
kind = "scheduled"
schedule = [{ at_s = 120, replicas = 4 }, { at_s = 240, replicas = 2 }]
"#;

fn load(toml: &str) -> fleetsim::scenario::Scenario {
    fleetsim::scenario::load_str(toml, "scenario.toml", Path::new("."), &[]).unwrap()
}

/// Renders `summary` and requires every line of `expect` to be a whole
/// line of it and no line to start with a prefix of `absent`.
fn check(case: &str, summary: &Summary, expect: &[&str], absent: &[&str]) {
    let table = summary.to_string();
    let lines: Vec<&str> = table.lines().collect();
    for e in expect {
        assert!(lines.contains(e), "{case}: no line\n{e}\nin\n{table}");
    }
    for a in absent {
        assert!(
            !lines.iter().any(|l| l.starts_with(a)),
            "{case}: a line starts with {a:?}\n{table}"
        );
    }
}

fn line(usd: f64) -> StateLine {
    StateLine {
        gpu_hours: 0.0,
        usd,
    }
}

/// The cost of the five-knob example: $26.85 for 6.884 GPU-hours.
fn cost() -> CostReport {
    let mut c = CostReport {
        total_usd: 26.849,
        per_request_usd: Some(0.000_173_3),
        per_million_output_tokens_usd: Some(0.8208),
        billed_gpu_hours: 6.884,
        ..CostReport::default()
    };
    c.by_state.busy = line(20.30);
    c.by_state.idle_ready = line(0.004);
    c.by_state.provisioning = line(1.98);
    c.by_state.pulling_image = line(1.27);
    c.by_state.starting_engine = line(1.54);
    c.by_state.unallocated = line(1.608);
    c
}

/// The worked example of `docs/cost.md` §5: a two-hour run, 4 cold starts
/// of 90 s on $6 replica-hours.
fn documented_equation() -> fleetsim_core::cost::MonthlyEquation {
    let hours = |h: f64| (h * 3_600e9) as u128;
    monthly_equation(&MonthlyInputs {
        simulated: SimDuration::from_secs(7_200),
        ready_replica_ns: hours(9.0),
        usd_per_replica_hour: 6.0,
        scale_up_events: 4,
        cold_start_replica_ns: hours(0.1),
        arrival_rate_per_s: 10.0,
        mean_service_s: 3.0,
        sla_concurrency_per_replica: 10.0,
        billed: BilledCosts {
            total_usd: 57.80,
            procurement_usd: 1.20,
            draining_usd: 0.30,
            packing_usd: 0.90,
            warm_pool_usd: 0.60,
            billing_granularity_usd: 0.15,
        },
    })
    .unwrap()
}

fn cold_start(count: u64) -> ColdStartSummary {
    ColdStartSummary {
        count,
        p50_s: 460.94,
        p95_s: 753.23,
        by_stage: ColdStartStages {
            provisioning: 152.59,
            pulling_image: 97.8,
            loading_weights: 8.97,
            starting_engine: 118.72,
        },
        usd: Some(4.92),
        usd_per_cold_start: Some(0.41),
    }
}

#[test]
fn the_table_shows_what_the_summary_knows() {
    let plain = Summary::default();
    check(
        "no pool",
        &plain,
        &["gpu hours  billed 0.000  busy 0.000  idle 0.000"],
        &["cost", "monthly", "cold start", "scaling"],
    );

    let priced = Summary {
        cost: Some(cost()),
        ..Summary::default()
    };
    check(
        "cost",
        &priced,
        &[
            "cost       $26.85 billed for 6.884 GPU-hours: $0.82 per million output tokens, $0.000173 a request",
            "           by state: busy $20.30, idle ready <$0.01, cold start $4.79, unallocated $1.61",
            "monthly    not estimated (several deployments, or no arrival or ready replica)",
        ],
        &[],
    );

    let monthly = Summary {
        cost: Some(CostReport {
            monthly_equation: Some(documented_equation()),
            ..cost()
        }),
        cold_start: Some(cold_start(4)),
        ..Summary::default()
    };
    check(
        "monthly equation",
        &monthly,
        &[
            "monthly    extrapolated from 2.0 h of simulated time to a 730-hour month, $6.00 a replica-hour:",
            "           equation $19,929 = steady state $13,140 (3.00 replicas needed of 4.50 ready on average)",
            "             + scaling overhead $219 (1,460 scale-ups a month, 4 in the run; 90 s model load each)",
            "             + over-provisioning $6,570 (buffer of 1.50 replicas)",
        ],
        &[],
    );
    let table = monthly.to_string();
    let billed = (table.lines())
        .find(|l| l.starts_with("           billed "))
        .unwrap();
    assert!(
        billed.starts_with(
            "           billed $21,097 a month; the equation misses $1,168: procurement $438, "
        ),
        "{billed}"
    );
    assert!(
        billed.ends_with("billing granularity $54.75, other $18.25"),
        "{billed}"
    );

    let mut started = Summary::default();
    started.fleet.replicas = 2;
    started.fleet.replicas_started = 5;
    started.fleet.replicas_drained = 3;
    (
        started.fleet.ready_replicas_min,
        started.fleet.ready_replicas_mean,
    ) = (1, 3.254);
    started.fleet.ready_replicas_peak = 6;
    started.cold_start = Some(cold_start(4));
    check(
        "scaled fleet",
        &started,
        &[
            "replicas   started with 2; ready min 1 / mean 3.25 / peak 6",
            "scaling    5 scale-ups (replicas started, 1 cancelled before ready), 3 scale-downs (ready replicas drained)",
            "cold start 4 completed: p50 460.9 s, p95 753.2 s; mean by stage: provisioning 152.6 s, image pull 97.8 s, weight load 9.0 s, engine start 118.7 s",
            "           $4.92 of GPU time in cold starts, $0.41 a completed cold start",
        ],
        &[],
    );

    let mut fixed = Summary::default();
    fixed.fleet.replicas = 2;
    (
        fixed.fleet.ready_replicas_min,
        fixed.fleet.ready_replicas_peak,
    ) = (2, 2);
    fixed.fleet.ready_replicas_mean = 2.0;
    check(
        "fixed fleet",
        &fixed,
        &["replicas   started with 2; ready min 2 / mean 2.00 / peak 2"],
        &["scaling", "cold start"],
    );
}

#[test]
fn the_scenario_line_says_how_the_fleet_changes() {
    let quickstart = fleetsim::scenario::load_str(
        fleetsim::scenario::QUICKSTART_TOML,
        "quickstart.toml",
        Path::new("."),
        &[],
    )
    .unwrap();
    let summary = |seed| {
        let mut s = Summary::default();
        s.sim.seed = seed;
        s
    };
    for (scenario, seed, expect) in [
        (
            quickstart,
            42,
            "scenario   quickstart: llama-3.1-8b on 2 × h100-sxm (TP1), seed 42\n",
        ),
        (
            load(AUTOSCALED),
            7,
            "scenario   step-up: llama-3.1-8b on h100-sxm (TP1), autoscaled 1–6 replicas (started with 2), seed 7\n",
        ),
        (
            load(SCHEDULED),
            3,
            "scenario   stepped: llama-3.1-8b on h100-sxm (TP1), scheduled 1–4 replicas (started with 1), seed 3\n",
        ),
    ] {
        assert_eq!(
            fleetsim::report::render_header(&scenario, &summary(seed)),
            expect
        );
    }
}

#[test]
fn an_autoscaled_run_reports_its_dollars_and_cold_starts() {
    let scenario = load(AUTOSCALED);
    let result = fleetsim::run::run(&scenario).unwrap();
    let s = &result.summary;
    let table = fleetsim::report::render_table(&scenario, s);
    let cold = s.cold_start.as_ref().expect("the fleet scaled up");
    assert!(
        cold.count > 0 && cold.usd_per_cold_start.unwrap() > 0.0,
        "{cold:?}"
    );
    let f = &s.fleet;
    assert!(
        f.ready_replicas_min <= 2 && f.ready_replicas_peak > 2 && f.ready_replicas_peak <= 6,
        "{f:?}"
    );
    assert!(
        f64::from(f.ready_replicas_min) <= f.ready_replicas_mean
            && f.ready_replicas_mean <= f64::from(f.ready_replicas_peak),
        "{f:?}"
    );
    // The mean of ready replicas is the monthly equation's average.
    let m = s.cost.as_ref().unwrap().monthly_equation.as_ref().unwrap();
    assert!(
        (m.average_ready_replicas - f.ready_replicas_mean).abs() < 1e-9,
        "{} vs {}",
        m.average_ready_replicas,
        f.ready_replicas_mean
    );
    let minutes = s.sim.simulated_s / 60.0;
    for expect in [
        "scenario   step-up: llama-3.1-8b on h100-sxm (TP1), autoscaled 1–6 replicas (started with 2), seed 7\n".to_string(),
        format!("\ncost       ${:.2} billed for ", s.cost.as_ref().unwrap().total_usd),
        format!("\nmonthly    extrapolated from {minutes:.1} min of simulated time"),
        format!(" in the run; {:.0} s model load each)\n", m.model_load_s),
        format!(", {} in the run;", cold.count),
        format!("\ncold start {} completed: p50 {:.1} s", cold.count, cold.p50_s),
        format!(
            "\nreplicas   started with 2; ready min {} / mean {:.2} / peak {}\n",
            f.ready_replicas_min, f.ready_replicas_mean, f.ready_replicas_peak
        ),
    ] {
        assert!(table.contains(&expect), "no {expect:?} in\n{table}");
    }
}

/// `fleetsim ARGS` in `dir`: its stdout, which must be a success.
fn fleetsim(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .current_dir(dir)
        .env("CI", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `text` with the wall-clock part of its `sim` line cut, the one thing
/// that differs between two runs.
fn without_wall(text: &str) -> String {
    (text.lines())
        .map(|l| match (l.starts_with("sim "), l.find(" in ")) {
            (true, Some(at)) => &l[..at],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_cli_table_is_the_scenario_line_over_the_summary_display() {
    let dir = scratch_dir("run-table-display");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("step-up.toml"), AUTOSCALED).unwrap();
    for args in [
        &["run", "--set", "workload.duration_s=20"][..],
        &["run", "step-up.toml", "--set", "workload.duration_s=300"][..],
    ] {
        let table = fleetsim(&dir, args);
        let json = fleetsim(&dir, &[args, &["--format", "json"]].concat());
        let summary: Summary = serde_json::from_str(&json).unwrap();
        let (header, body) = table.split_once('\n').unwrap();
        assert!(header.starts_with("scenario   "), "{header}");
        assert_eq!(
            without_wall(body),
            without_wall(&summary.to_string()),
            "{args:?}"
        );
        assert!(body.contains("\nreplicas   started with "), "{body}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn run_flags_skip_requests_csv_draw_png_and_keep_stderr_quiet_in_ci() {
    let dir = scratch_dir("run-flags");
    std::fs::create_dir_all(&dir).unwrap();
    let files = |out: &str| {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(out))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    // Long enough for several progress reports (4,800 requests).
    let args = ["run", "--set", "workload.duration_s=200", "--out"];
    let cases: [(&str, &[&str], &[&str]); 3] = [
        (
            "all",
            &[],
            &[
                "replicas.csv",
                "requests.csv",
                "summary.json",
                "timeseries.csv",
            ],
        ),
        (
            "no-requests",
            &["--no-requests-csv"],
            &["replicas.csv", "summary.json", "timeseries.csv"],
        ),
        (
            "png",
            &["--no-requests-csv", "--plot", "--plot-format", "png"],
            &[
                "fleet.png",
                "gpu-hours.png",
                "latency-cdf.png",
                "replicas.csv",
                "summary.json",
                "timeseries.csv",
            ],
        ),
    ];
    for (out, extra, expect) in cases {
        let result = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
            .args(args)
            .arg(out)
            .args(extra)
            .current_dir(&dir)
            .env("CI", "true")
            .output()
            .unwrap();
        assert!(result.status.success(), "{out}");
        // No progress (nor anything else) on stderr under CI.
        assert_eq!(String::from_utf8_lossy(&result.stderr), "", "{out}");
        assert!(
            String::from_utf8_lossy(&result.stdout).starts_with("scenario   quickstart"),
            "{out}"
        );
        assert_eq!(files(out), expect, "{out}");
    }
    // The flag needs --out, and --plot-format needs --plot.
    for bad in [
        &["run", "--no-requests-csv"][..],
        &["run", "--out", "x", "--plot-format", "png"][..],
    ] {
        let result = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
            .args(bad)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(!result.status.success(), "{bad:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
