//! Fractional GPUs (MIG): the dictation pipeline of `scenarios/mig.toml`
//! with its speech stages on MIG instances, against
//! `scenarios/mig-whole-gpus.toml` with them on whole H100s; the slice's
//! share of the GPU in latency and in cost; packing by the GPU's MIG
//! geometry; time-sliced shares with their interference penalty; and the
//! located errors of MIG and time-slicing keys. `docs/practices.md`
//! ("Fractional GPUs") quotes the figures.
#![allow(clippy::unwrap_used)]

use crate::bad_input::{check, scenario_case};
use crate::common;
use fleetsim_core::RunResult;

fn text(name: &str) -> String {
    common::shipped_scenario(name)
}

fn run(toml: &str) -> RunResult {
    common::run_beside_scenarios(toml)
}

fn deployment<'a>(r: &'a RunResult, name: &str) -> &'a fleetsim_core::summary::DeploymentReport {
    r.summary
        .deployments
        .iter()
        .find(|d| d.name == name)
        .unwrap()
}

#[test]
fn small_models_on_mig_slices_cost_less_than_whole_gpus_at_equal_sla() {
    let (mig, whole) = (run(&text("mig.toml")), run(&text("mig-whole-gpus.toml")));
    // Equal SLA: the same targets, met by both, on the same requests.
    let targets = |r: &RunResult| -> Vec<String> {
        (r.summary.sla.targets.iter())
            .map(|t| format!("p{} {} <= {} ms", t.percentile, t.metric.name(), t.max_ms))
            .collect()
    };
    assert_eq!(targets(&mig), ["p95 e2e_ms <= 4000 ms"]);
    assert_eq!(targets(&mig), targets(&whole));
    assert!(mig.summary.sla.all_targets_met, "{:?}", mig.summary.sla);
    assert!(whole.summary.sla.all_targets_met, "{:?}", whole.summary.sla);
    assert_eq!(mig.summary.requests, whole.summary.requests);
    assert_eq!(mig.summary.requests.completed, mig.summary.requests.arrived);
    // Cheaper: one MIG GPU holds both speech stages where whole GPUs
    // need one each.
    let cost = |r: &RunResult| r.summary.cost.as_ref().unwrap().total_usd;
    assert!(
        cost(&mig) < 0.75 * cost(&whole),
        "MIG ${} against whole GPUs ${}",
        cost(&mig),
        cost(&whole)
    );
    // The LLM stage runs on whole GPUs in both: the same latency within
    // the noise the upstream stages' timing adds.
    let p50 = |r: &RunResult, d: &str| deployment(r, d).latency.tpot_ms.p50;
    assert!((p50(&mig, "llm") / p50(&whole, "llm") - 1.0).abs() < 0.05);
}

#[test]
fn a_slice_shows_its_lower_compute_and_bandwidth_in_latency() {
    let (mig, whole) = (run(&text("mig.toml")), run(&text("mig-whole-gpus.toml")));
    let asr = |r: &RunResult| deployment(r, "asr").latency.clone();
    // 2g.20gb: 2/7 of the compute (prefill) and 2/8 of the bandwidth
    // (decode) of an H100.
    let (slice, gpu) = (asr(&mig), asr(&whole));
    assert!(
        slice.ttft_ms.p50 > 1.5 * gpu.ttft_ms.p50,
        "{} vs {}",
        slice.ttft_ms.p50,
        gpu.ttft_ms.p50
    );
    assert!(
        slice.tpot_ms.p50 > 2.0 * gpu.tpot_ms.p50,
        "{} vs {}",
        slice.tpot_ms.p50,
        gpu.tpot_ms.p50
    );
    assert!(mig.summary.latency.e2e_ms.p95 > whole.summary.latency.e2e_ms.p95);
}

/// A node is billed whole; a slice is charged its compute slices' share of
/// its GPU, and what no slice holds is unallocated.
#[test]
fn a_slice_is_charged_its_share_and_the_rest_of_the_node_is_unallocated() {
    let mig = run(&text("mig.toml"));
    let cost = mig.summary.cost.as_ref().unwrap();
    let pool = cost.by_pool.iter().find(|p| p.name == "h100-mig").unwrap();
    // The VAD stage never scales: one 1g.10gb instance (1 of 7 compute
    // slices) held for the whole run.
    let vad = deployment(&mig, "vad");
    assert_eq!(vad.fleet.replicas_started, 0);
    let run_hours = mig.summary.sim.simulated_s / 3600.0;
    assert!((vad.gpu_hours.billed - run_hours / 7.0).abs() < 1e-9 * run_hours);
    // The MIG pool's GPU time: the slices' and the unallocated rest.
    let asr = deployment(&mig, "asr");
    let held_by_slices = vad.gpu_hours.billed + asr.gpu_hours.billed;
    let unallocated = pool.by_state.unallocated.gpu_hours;
    assert!(
        (held_by_slices + unallocated - pool.held_gpu_hours).abs() < 1e-9 * pool.held_gpu_hours,
        "{held_by_slices} + {unallocated} != {}",
        pool.held_gpu_hours
    );
    // Two of the layout's four instances (one 2g.20gb, 5 of 7 compute
    // slices with the 1g.10gb spare) are unused most of the run.
    assert!(unallocated > 0.5 * pool.held_gpu_hours);
    // Dollars per deployment add up to the bill.
    let per: f64 = (mig.summary.deployments.iter())
        .map(|d| d.cost_usd.unwrap())
        .sum();
    assert!((per - cost.total_usd).abs() < 1e-6 * cost.total_usd);
}

/// Jumps over steady decode give what stepping every iteration gives, on
/// MIG instances too.
#[test]
fn the_mig_pipeline_is_the_same_in_both_stepping_modes() {
    let text = text("mig.toml");
    let step_each = text.replace(
        "\nreplicas = 1\n",
        "\nreplicas = 1\n\n[deployments.engine]\nstepping = \"every_iteration\"\n",
    );
    assert_eq!(step_each.matches("every_iteration").count(), 3);
    common::assert_stepping_agrees(&run(&text), &run(&step_each));
}

/// Replicas pack by the GPU's MIG geometry: a GPU partitioned into three
/// 2g.20gb and one 1g.10gb instance holds three 2g replicas, so a fourth
/// takes a second node.
#[test]
fn packing_follows_the_layout() {
    let text = text("mig.toml").replacen(
        "mig_profile = \"2g.20gb\"\nreplicas = 1\n",
        "mig_profile = \"2g.20gb\"\nreplicas = 4\n",
        1,
    );
    let r = run(&text);
    let cost = r.summary.cost.as_ref().unwrap();
    let pool = cost.by_pool.iter().find(|p| p.name == "h100-mig").unwrap();
    assert_eq!(pool.node_intervals, 2);
    // The LLM's whole GPUs stay on their own pool.
    let whole = cost.by_pool.iter().find(|p| p.name == "h100").unwrap();
    assert_eq!(whole.node_intervals, 1);
}

/// `scenarios/mig.toml` with the speech stages on shares of GPUs
/// time-sliced four ways, losing `penalty` of a share to interference.
fn time_sliced(penalty: f64) -> String {
    let share = format!("time_slice = {{ interference_penalty = {penalty} }}");
    text("mig.toml")
        .replacen("mig_profile = \"1g.10gb\"", &share, 1)
        .replacen("mig_profile = \"2g.20gb\"", &share, 1)
        .replacen(
            "mig_layout = [\"2g.20gb\", \"2g.20gb\", \"2g.20gb\", \"1g.10gb\"]",
            "time_slices_per_gpu = 4",
            1,
        )
}

/// A time slice is 1/4 of the GPU less the penalty: slower than the whole
/// GPU, slower still as the penalty grows, and charged a quarter of it.
#[test]
fn a_time_slice_is_its_share_less_the_interference_penalty() {
    let whole = run(&text("mig-whole-gpus.toml"));
    let (even, penalised) = (run(&time_sliced(0.0)), run(&time_sliced(0.3)));
    assert!(!time_sliced(0.0).contains("mig_"));
    let tpot = |r: &RunResult| deployment(r, "asr").latency.tpot_ms.p50;
    assert!(
        tpot(&even) > 2.0 * tpot(&whole),
        "{} vs {}",
        tpot(&even),
        tpot(&whole)
    );
    assert!(
        tpot(&penalised) > 1.2 * tpot(&even),
        "{} vs {}",
        tpot(&penalised),
        tpot(&even)
    );
    // The VAD never scales: a quarter of a GPU for the whole run.
    let vad = deployment(&even, "vad");
    assert_eq!(vad.fleet.replicas_started, 0);
    let run_hours = even.summary.sim.simulated_s / 3600.0;
    assert!((vad.gpu_hours.billed - run_hours / 4.0).abs() < 1e-9 * run_hours);
    assert!(even.summary.requests.completed == even.summary.requests.arrived);
}

fn mig_case(name: &'static str, from: &str, to: &str) -> crate::bad_input::Case {
    let text = text("mig.toml");
    assert!(text.contains(from), "{from:?}");
    scenario_case(name, text.replacen(from, to, 1), &[])
}

/// The line of `scenarios/mig.toml` that starts with `prefix`.
fn line_of(prefix: &str) -> usize {
    crate::bad_input::line_starting(&text("mig.toml"), prefix)
}

#[test]
fn mig_keys_fail_with_a_located_message() {
    let vad_profile = line_of("mig_profile = \"1g.10gb\"");
    let layout = line_of("mig_layout");
    let cases = [
        mig_case(
            "mig-unknown-profile",
            "mig_profile = \"1g.10gb\"",
            "mig_profile = \"1g.5gb\"",
        )
        .at(
            "scenario.toml",
            Some(vad_profile),
            Some("deployments[0].mig_profile"),
        )
        .also(&[
            "unknown MIG profile \"1g.5gb\" on h100-sxm",
            "1g.10gb, 1g.20gb",
        ]),
        mig_case(
            "mig-gpu-without-mig",
            "gpu = \"h100-sxm\"\nmig_profile = \"1g.10gb\"",
            "gpu = \"l40s\"\nmig_profile = \"1g.10gb\"",
        )
        .at("scenario.toml", None, Some("deployments[0].mig_profile"))
        .also(&["l40s has no MIG profile table", "a100-80gb, h100-sxm, h200"]),
        mig_case(
            "mig-layout-cannot-pack",
            "mig_layout = [\"2g.20gb\", \"2g.20gb\", \"2g.20gb\", \"1g.10gb\"]",
            "mig_layout = [\"3g.40gb\", \"3g.40gb\", \"1g.10gb\"]",
        )
        .at("scenario.toml", Some(layout), Some("pools[0].mig_layout"))
        .also(&["has no valid placement", "3g.40gb at {0,4}, 4 wide"]),
        mig_case(
            "mig-layout-too-much-compute",
            "mig_layout = [\"2g.20gb\", \"2g.20gb\", \"2g.20gb\", \"1g.10gb\"]",
            "mig_layout = [\"4g.40gb\", \"2g.20gb\", \"2g.20gb\"]",
        )
        .at("scenario.toml", Some(layout), Some("pools[0].mig_layout"))
        .also(&["takes 8 compute slices; a GPU has 7"]),
        mig_case(
            "mig-layout-unknown-profile",
            "mig_layout = [\"2g.20gb\", \"2g.20gb\", \"2g.20gb\", \"1g.10gb\"]",
            "mig_layout = [\"2g.20gb\", \"2g.10gb\"]",
        )
        .at("scenario.toml", None, Some("pools[0].mig_layout[1]"))
        .also(&["unknown MIG profile \"2g.10gb\" on h100-sxm"]),
        mig_case(
            "mig-profile-in-no-layout",
            "mig_profile = \"1g.10gb\"",
            "mig_profile = \"3g.40gb\"",
        )
        .at("scenario.toml", None, Some("deployments[0].mig_profile"))
        .also(&["no pool of h100-sxm GPUs is partitioned into 3g.40gb instances"]),
        mig_case(
            "mig-tensor-parallel",
            "mig_profile = \"1g.10gb\"\n",
            "mig_profile = \"1g.10gb\"\ntensor_parallel = 2\n",
        )
        .at(
            "scenario.toml",
            None,
            Some("deployments[0].tensor_parallel"),
        )
        .also(&["must be 1 with a mig_profile", "got 2"]),
        mig_case(
            "mig-every-pool-partitioned",
            "[[pools]]\nname = \"h100\"\ngpu = \"h100-sxm\"\ngpus_per_node = 1\n",
            "",
        )
        .at("scenario.toml", None, Some("deployments[2].mig_profile"))
        .also(&["every pool of h100-sxm GPUs is shared"]),
        mig_case(
            "mig-and-time-slice",
            "mig_profile = \"1g.10gb\"\n",
            "mig_profile = \"1g.10gb\"\ntime_slice = { interference_penalty = 0.1 }\n",
        )
        .at("scenario.toml", None, Some("deployments[0].time_slice"))
        .also(&["a MIG instance or a time-sliced share, not both"]),
        scenario_case("time-slice-penalty-out-of-range", time_sliced(1.0), &[])
            .at(
                "scenario.toml",
                None,
                Some("deployments[0].time_slice.interference_penalty"),
            )
            .also(&["in [0, 1), got 1"]),
        scenario_case(
            "time-slice-penalty-missing",
            time_sliced(0.1).replacen(
                "time_slice = { interference_penalty = 0.1 }",
                "time_slice = {}",
                1,
            ),
            &[],
        )
        .at(
            "scenario.toml",
            None,
            Some("deployments[0].time_slice.interference_penalty"),
        )
        .also(&["missing field"]),
        scenario_case(
            "time-slice-without-a-sliced-pool",
            time_sliced(0.1).replacen("time_slices_per_gpu = 4", "", 1),
            &[],
        )
        .at("scenario.toml", None, Some("deployments[0].time_slice"))
        .also(&["no pool of h100-sxm GPUs is time-sliced"]),
        scenario_case(
            "time-slices-per-gpu-out-of-range",
            time_sliced(0.1).replacen("time_slices_per_gpu = 4", "time_slices_per_gpu = 1", 1),
            &[],
        )
        .at("scenario.toml", None, Some("pools[0].time_slices_per_gpu"))
        .also(&["between 2 and 64, got 1"]),
        scenario_case(
            "time-slices-and-mig-layout",
            time_sliced(0.1).replacen(
                "time_slices_per_gpu = 4",
                "time_slices_per_gpu = 4\nmig_layout = [\"7g.80gb\"]",
                1,
            ),
            &[],
        )
        .at("scenario.toml", None, Some("pools[0].time_slices_per_gpu"))
        .also(&["partitioned (mig_layout) or time-sliced, not both"]),
        scenario_case(
            "mig-without-a-pool",
            crate::bad_input::synthetic(
                "gpu = \"h100-sxm\"\n",
                "gpu = \"h100-sxm\"\nmig_profile = \"3g.40gb\"\n",
            ),
            &[],
        )
        .at("scenario.toml", None, Some("deployment.mig_profile"))
        .also(&["a shared GPU lives on a node pool"]),
    ];
    let failures: Vec<String> = cases.iter().filter_map(|c| check(c).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
