//! `fleetsim plan`: the fixed fleet it finds is the fewest replicas that
//! meet the SLA (one fewer fails), its verdict pasted into the scenario
//! reproduces its result, and the JSON carries the contract's fields.
#![allow(clippy::unwrap_used)]

use crate::common::scratch_dir;
use fleetsim::plan::{self, verdict, PlanOptions};
use fleetsim::scenario;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Traffic that steps from 10 to 40 req/s and back, conversation-like
/// lengths, one H100 per replica and a TTFT target that needs several.
const SCENARIO: &str = r#"
name = "plan-steps"
seed = 7

[workload]
kind = "synthetic"
duration_s = 360
arrival = { kind = "steps", steps = [{ at_s = 0, rate_per_s = 10.0 }, { at_s = 120, rate_per_s = 40.0 }, { at_s = 240, rate_per_s = 10.0 }] }
input_tokens = { kind = "lognormal", median_tokens = 1000, sigma = 0.8, max_tokens = 8000 }
output_tokens = { kind = "lognormal", median_tokens = 130, sigma = 0.8, max_tokens = 1000 }

[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 1

[sla]
ttft_ms = 300
targets = [{ metric = "ttft_ms", percentile = 95, max_ms = 300 }]
"#;

const API: &str =
    "\n[api]\nusd_per_million_input_tokens = 0.2\nusd_per_million_output_tokens = 0.6\n";

fn write(test: &str, text: &str) -> PathBuf {
    let dir = scratch_dir(test);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scenario.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn options(path: &Path, seeds: u32) -> PlanOptions {
    PlanOptions {
        seeds,
        budget_s: 600.0,
        ..PlanOptions::new(path.to_path_buf())
    }
}

/// The scenario text with `fragment` pasted, run on `seed` with `sets`:
/// (all targets met, billed USD extrapolated to a month).
fn run_pasted(fragment: &str, seed: u64, sets: &[&str]) -> (bool, f64) {
    let mut doc: toml_edit::DocumentMut = SCENARIO.parse().unwrap();
    verdict::apply_fragment(&mut doc, fragment).unwrap();
    let mut sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    sets.push(format!("seed={seed}"));
    let s = scenario::load_str(&doc.to_string(), "pasted.toml", Path::new("."), &sets).unwrap();
    let summary = fleetsim::run::run(&s).unwrap().summary;
    let cost = summary.cost.unwrap();
    let monthly = cost.total_usd * 730.0 / (summary.sim.simulated_s / 3600.0);
    (
        summary.sla.all_targets_met && summary.requests.completed > 0,
        monthly,
    )
}

#[test]
fn the_fixed_fleet_is_the_fewest_replicas_meeting_the_sla_and_its_toml_reproduces_it() {
    let path = write("plan-fixed", SCENARIO);
    let p = plan::plan(&options(&path, 2), &mut |_| {}).unwrap();
    assert_eq!(p.seeds, [7, 8]);
    // The verdict is a fixed fleet (the cheapest plan meeting the SLA
    // here: cold starts are longer than the traffic's steps).
    let v = p.verdict.as_ref().unwrap();
    assert_eq!(v.kind, "fixed", "{v:?}");
    let fixed = (p.fixed.iter())
        .find(|f| f.gpu == v.gpu && f.tensor_parallel == v.tensor_parallel)
        .unwrap();
    let n = fixed.replicas.unwrap();
    assert!(fixed.complete && fixed.meets_sla && n >= 2, "{fixed:?}");
    assert_eq!(fixed.monthly_usd, Some(v.monthly_usd));
    let fragment = &v.toml;
    // Pasted into the scenario, the fragment meets the SLA on both seeds
    // at the plan's cost; one replica fewer misses it on some seed.
    let mut mean = 0.0;
    for seed in [7, 8] {
        let (met, monthly) = run_pasted(fragment, seed, &[]);
        assert!(met, "seed {seed}: {n} replicas should meet the SLA");
        mean += monthly / 2.0;
    }
    assert!(
        (mean - v.monthly_usd).abs() <= 1e-9 * v.monthly_usd,
        "{mean} vs {}",
        v.monthly_usd
    );
    let fewer = format!("deployment.replicas={}", n - 1);
    let missed = [7, 8]
        .iter()
        .any(|&seed| !run_pasted(fragment, seed, &[&fewer]).0);
    assert!(missed, "{} replicas also meet the SLA on both seeds", n - 1);
    // The bisection ran n − 1 and saw it fail.
    let below = fixed.probes.iter().find(|q| q.replicas == n - 1).unwrap();
    assert!(!below.meets_sla);
    // The oracle's bound is below every plan that met the SLA.
    let oracle = p.oracle.as_ref().unwrap();
    for q in p.policies.iter().filter(|q| q.meets_sla) {
        assert!(oracle.monthly_usd <= q.monthly_usd, "{oracle:?} vs {q:?}");
        assert_eq!(q.regret_usd, Some(q.monthly_usd - oracle.monthly_usd));
    }
    assert!(p.api_break_even.is_none(), "no [api] price, no break-even");
}

fn plan_json(path: &Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .arg("plan")
        .arg(path)
        .args(["--format", "json", "--budget-s", "600"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn has(v: &Value, keys: &[&str], what: &str) {
    for k in keys {
        assert!(v.get(k).is_some(), "{what} lacks `{k}`: {v}");
    }
}

#[test]
fn plan_json_has_the_contract_fields_and_the_same_bytes_each_time() {
    let path = write("plan-json", &format!("{SCENARIO}{API}"));
    let text = plan_json(&path, &["--jobs", "1"]);
    assert_eq!(
        text,
        plan_json(&path, &["--jobs", "2"]),
        "the plan depends on --jobs"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    has(
        &v,
        &[
            "littles_law",
            "layouts",
            "fewest_gpus",
            "fixed",
            "oracle",
            "policies",
            "api_break_even",
            "verdict",
        ],
        "plan",
    );
    // The layouts' front: some layout is on it, and none on it is beaten
    // on both axes by another layout.
    let layouts = v["layouts"].as_array().unwrap();
    let axes = |l: &Value| {
        (
            l["output_tokens_per_s_per_gpu"].as_f64().unwrap(),
            l["output_tokens_per_s_per_user"].as_f64().unwrap(),
        )
    };
    let front: Vec<_> = layouts.iter().filter(|l| l["pareto"] == true).collect();
    assert!(!front.is_empty());
    for f in &front {
        let (g, u) = axes(f);
        assert!(!layouts.iter().any(|l| {
            let (g2, u2) = axes(l);
            g2 >= g && u2 >= u && (g2 > g || u2 > u)
        }));
    }
    let ll = &v["littles_law"][0];
    has(
        ll,
        &[
            "gpu",
            "tensor_parallel",
            "replicas",
            "peak_rate_per_s",
            "concurrency",
            "latency_s",
        ],
        "littles_law[0]",
    );
    has(
        &v["fixed"][0],
        &[
            "gpu",
            "tensor_parallel",
            "replicas",
            "meets_sla",
            "monthly_usd",
        ],
        "fixed[0]",
    );
    has(&v["oracle"], &["monthly_usd", "schedule"], "oracle");
    assert!(v["oracle"]["schedule"][0].get("at_s").is_some());
    for q in v["policies"].as_array().unwrap() {
        has(
            q,
            &["kind", "knobs", "meets_sla", "monthly_usd", "regret_usd"],
            "policies[]",
        );
    }
    has(
        &v["api_break_even"],
        &[
            "api_monthly_usd",
            "dedicated_monthly_usd",
            "break_even_mean_rate_per_s",
        ],
        "api_break_even",
    );
    let verdict = &v["verdict"];
    has(
        verdict,
        &["kind", "gpu", "tensor_parallel", "monthly_usd", "toml"],
        "verdict",
    );
    // The verdict's TOML is valid TOML.
    let toml_text = verdict["toml"].as_str().unwrap();
    toml_text.parse::<toml::Table>().unwrap();
    // The table shows each step, and the same verdict TOML.
    let out = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .arg("plan")
        .arg(&path)
        .args(["--budget-s", "600"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    for step in [
        "1. Little's law",
        "2. Cheapest fixed fleet",
        "3. Offline oracle",
        "4. Policies",
        "5. Pay-per-token API",
        "6. Verdict",
    ] {
        assert!(table.contains(step), "no `{step}` in\n{table}");
    }
    assert!(
        table.contains(toml_text),
        "the table's verdict differs from the JSON's:\n{table}"
    );
    // Without [api] the break-even is null.
    let path = write("plan-json-no-api", SCENARIO);
    let v: Value = serde_json::from_str(&plan_json(&path, &[])).unwrap();
    assert_eq!(v["api_break_even"], Value::Null);
}

#[test]
fn questions_the_planner_does_not_answer_are_errors_naming_the_file() {
    let no_targets = SCENARIO.replace(
        "targets = [{ metric = \"ttft_ms\", percentile = 95, max_ms = 300 }]",
        "",
    );
    let slots = SCENARIO.replace(
        "model = \"llama-3.1-8b\"\ngpu = \"h100-sxm\"\n",
        "slots = { slots = 4, service = { dist = \"exponential\", mean_s = 1.0 } }\n",
    );
    for (test, text, expect) in [
        ("plan-no-targets", no_targets, "needs [sla] targets"),
        ("plan-slots", slots, "a `slots` deployment"),
    ] {
        let path = write(test, &text);
        let e = plan::plan(&options(&path, 1), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&path.display().to_string()) && e.contains(expect),
            "{test}: {e}"
        );
    }
    // Options out of range are errors, not panics.
    let path = write("plan-bad-options", SCENARIO);
    for (budget_s, window_s, expect) in [
        (-1.0, 60.0, "time budget"),
        (f64::NAN, 60.0, "time budget"),
        (600.0, 0.0, "rate window"),
    ] {
        let o = PlanOptions {
            budget_s,
            window_s,
            ..options(&path, 1)
        };
        let e = plan::plan(&o, &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains(expect), "{budget_s} {window_s}: {e}");
    }
    // An endless budget is no limit.
    let o = PlanOptions {
        budget_s: f64::INFINITY,
        ..options(&path, 1)
    };
    assert!(!plan::plan(&o, &mut |_| {}).unwrap().budget_exhausted);
    // A GPU type the catalogue lacks is skipped with the loader's reason.
    let path = write("plan-unknown-gpu", SCENARIO);
    let mut o = options(&path, 1);
    o.gpus = vec!["h100-sxm".into(), "no-such-gpu".into()];
    o.budget_s = 0.0;
    let p = plan::plan(&o, &mut |_| {}).unwrap();
    assert!(
        p.skipped
            .iter()
            .any(|s| s.gpu == "no-such-gpu" && s.reason.contains("deployment.gpu")),
        "{:?}",
        p.skipped
    );
    // A zero budget runs nothing and says so.
    assert!(
        p.budget_exhausted && p.runs == 0 && p.verdict.is_none(),
        "{p:?}"
    );
}

/// The knob search on the stepped scenario: the same input gives the same
/// bytes; a tuned setting is at least as cheap as the kind's defaults
/// whenever those meet the SLA, and meets it itself; its `[scaling]` as
/// the plan prints it (array knobs included) loads and reproduces its cost.
#[test]
fn tuned_autoscalers_are_deterministic_and_no_worse_than_their_defaults() {
    let path = write("plan-tuned", SCENARIO);
    let args = ["--policies", "hpa,keda", "--jobs", "1"];
    let text = plan_json(&path, &args);
    assert_eq!(text, plan_json(&path, &args), "same input, same bytes");
    check_tuned(&path, &["hpa", "keda"]);
    // A kind the plan cannot tune is an error naming the flag.
    let bad = PlanOptions {
        policies: vec!["scheduled".into()],
        ..options(&path, 1)
    };
    let e = plan::plan(&bad, &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("--policies: `scheduled`"), "{e}");
}

#[test]
fn ray_serve_aibrix_and_wva_are_tuned_too() {
    let path = write("plan-tuned-more", SCENARIO);
    check_tuned(
        &path,
        &["ray_serve", "aibrix_apa", "aibrix_kpa", "llmd_wva"],
    );
}

/// Plans `kinds` on `path` and checks each tuned setting: the search
/// finished, it is no costlier than the kind's defaults when those meet
/// the SLA (at least one kind's do), it is listed beside the oracle with
/// its regret, and its knobs pasted into the scenario run to its cost.
#[allow(clippy::float_cmp)] // the same figure copied, not recomputed
fn check_tuned(path: &Path, kinds: &[&str]) {
    let opts = PlanOptions {
        policies: kinds.iter().map(|k| k.to_string()).collect(),
        ..options(path, 1)
    };
    let p = plan::plan(&opts, &mut |_| {}).unwrap();
    assert_eq!(p.tuned.len(), kinds.len());
    let mut defaults_met = 0;
    for t in &p.tuned {
        assert!(t.complete, "{t:?}");
        let (best, d) = (t.best.as_ref().unwrap(), t.defaults.as_ref().unwrap());
        if d.meets_sla {
            defaults_met += 1;
            assert!(best.meets_sla, "{t:?}");
            assert!(best.monthly_usd <= d.monthly_usd, "{best:?} vs {d:?}");
        }
        // The tuned policy is listed beside the oracle with its regret.
        let listed = (p.policies.iter())
            .find(|q| q.kind == t.kind && q.source == "tuned")
            .unwrap();
        assert_eq!(listed.monthly_usd, best.monthly_usd);
        let bound = p.oracle.as_ref().unwrap().monthly_usd;
        assert_eq!(listed.regret_usd, Some(best.monthly_usd - bound));
        // Its knobs pasted as `[scaling]` (with the plan's initial count
        // and shape) run to the same cost.
        let scaling: toml::Table = serde_json::from_value(best.knobs.clone()).unwrap();
        let fragment = format!(
            "[deployment]\nmodel = \"llama-3.1-8b\"\ngpu = \"h100-sxm\"\nreplicas = {}\n\n{}\n[pool]\ngpus_per_node = 1\n",
            p.oracle.as_ref().unwrap().schedule[0].replicas,
            toml::to_string(&toml::Table::from_iter([(
                "scaling".to_string(),
                toml::Value::Table(scaling)
            )]))
            .unwrap()
        );
        let (met, monthly) = run_pasted(&fragment, 7, &[]);
        assert_eq!(met, best.meets_sla, "{fragment}");
        assert!(
            (monthly - best.monthly_usd).abs() <= 1e-9 * monthly,
            "{fragment}"
        );
    }
    assert!(
        defaults_met >= 1,
        "no kind's defaults met the SLA: the test tests nothing"
    );
}

/// `SCENARIO`'s traffic as a trace file beside the scenario, at 12 req/s
/// for 60 s.
fn with_relative_trace(test: &str) -> PathBuf {
    let dir = scratch_dir(test);
    std::fs::create_dir_all(&dir).unwrap();
    let mut csv = String::from("TIMESTAMP,ContextTokens,GeneratedTokens\n");
    for i in 0..720u32 {
        let (s, us) = (i / 12, (i % 12) * 83_333);
        csv += &format!(
            "2023-11-16 18:15:{:02}.{us:06},{},{}\n",
            s % 60,
            800 + i % 400,
            100 + i % 60
        );
    }
    std::fs::write(dir.join("trace.csv"), csv).unwrap();
    let (head, rest) = SCENARIO.split_once("[workload]").unwrap();
    let (_, tail) = rest.split_once("[deployment]").unwrap();
    let text = format!(
        "{head}[workload]\nkind = \"trace\"\nformat = \"azure\"\npath = \"trace.csv\"\n\n[deployment]{tail}"
    );
    let path = dir.join("scenario.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_verdict_is_written_as_a_whole_scenario_that_runs_at_the_plans_cost() {
    let path = write("plan-write", SCENARIO);
    let options = options(&path, 1);
    let p = plan::plan(&options, &mut |_| {}).unwrap();
    let v = p.verdict.as_ref().unwrap();
    let out = path.with_file_name("verdict.toml");
    verdict::write_scenario(v, &options, &out).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("# The plan's verdict for "), "{text}");
    let s = scenario::load_file(&out, &[]).unwrap();
    let summary = fleetsim::run::run(&s).unwrap().summary;
    let cost = summary.cost.unwrap();
    let monthly = cost.total_usd * 730.0 / (summary.sim.simulated_s / 3600.0);
    assert!(summary.sla.all_targets_met);
    assert!(
        (monthly - v.monthly_usd).abs() <= 1e-6 * v.monthly_usd,
        "{monthly} vs {}",
        v.monthly_usd
    );

    // A relative trace path: beside the scenario the file loads; elsewhere
    // it would not find the trace, so nothing is written.
    let traced = with_relative_trace("plan-write-trace");
    let options = PlanOptions {
        seeds: 1,
        budget_s: 600.0,
        ..PlanOptions::new(traced.clone())
    };
    let p = plan::plan(&options, &mut |_| {}).unwrap();
    let v = p.verdict.as_ref().unwrap();
    let beside = traced.with_file_name("verdict.toml");
    verdict::write_scenario(v, &options, &beside).unwrap();
    assert!(scenario::load_file(&beside, &[]).is_ok());
    let elsewhere_dir = scratch_dir("plan-write-elsewhere");
    std::fs::create_dir_all(&elsewhere_dir).unwrap();
    let elsewhere = elsewhere_dir.join("verdict.toml");
    let err = verdict::write_scenario(v, &options, &elsewhere)
        .unwrap_err()
        .to_string();
    assert!(err.contains("would not load from there"), "{err}");
    assert!(!elsewhere.exists());
}

#[test]
fn plan_charts_draw_every_layout_and_every_policy_beside_the_bound() {
    let path = write("plan-charts", SCENARIO);
    let opts = PlanOptions {
        gpus: vec!["h100-sxm".into(), "h200".into()],
        ..options(&path, 1)
    };
    let p = plan::plan(&opts, &mut |_| {}).unwrap();
    let dir = path.with_file_name("charts");
    let written =
        fleetsim::plot::write_plan_charts(&p, &dir, fleetsim::plot::ImageFormat::Svg).unwrap();
    assert_eq!(
        written,
        vec![dir.join("layouts.svg"), dir.join("costs.svg")]
    );
    let layouts = std::fs::read_to_string(&written[0]).unwrap();
    let series = fleetsim::plot::layout_series(&p.layouts);
    assert!(series.len() >= 2, "{series:?}");
    // One dot per layout and one per legend entry of a series.
    assert_eq!(
        layouts.matches("<circle").count(),
        p.layouts.len() + series.len()
    );
    for (gpu, tp) in &series {
        let label = format!("{gpu} TP{tp}");
        assert!(layouts.lines().any(|l| l.trim() == label), "{label}");
    }
    let costs = std::fs::read_to_string(&written[1]).unwrap();
    // A bar per policy in the colour of its verdict, plus the legend's
    // two swatches; each policy named.
    let met = p.policies.iter().filter(|q| q.meets_sla).count();
    let missed = p.policies.len() - met;
    assert_eq!(costs.matches("fill=\"#2CA02C\"").count(), met + 1);
    assert_eq!(costs.matches("fill=\"#D62728\"").count(), missed + 1);
    for q in &p.policies {
        assert!(
            costs.contains(&format!("{} ({})", q.kind, q.source)),
            "{q:?}"
        );
    }
    // The bound's line and its legend mark.
    assert!(p.oracle.is_some());
    assert_eq!(
        costs
            .matches("stroke=\"#000000\" stroke-width=\"2\"")
            .count(),
        2
    );
}

#[test]
fn a_static_batch_sizes_little_s_law_by_its_batch_size() {
    // The same scenario with static batches of 8: a replica holds 8 at
    // once whatever max_num_seqs (1,024 on an H100) allows.
    let text = SCENARIO.replace(
        "replicas = 1\n\n[sla]",
        "replicas = 1\n[deployment.engine]\nbatching = \"static\"\nbatch_size = 8\nmax_batch_wait_s = 1\n\n[sla]",
    );
    assert_ne!(text, SCENARIO);
    let path = write("plan-static", &text);
    let p = plan::plan(&options(&path, 1), &mut |_| {}).unwrap();
    let ll = &p.littles_law[0];
    assert_eq!((ll.concurrency, ll.concurrency_limit), (8, "batch_size"));
    let continuous = plan::plan(
        &options(&write("plan-continuous", SCENARIO), 1),
        &mut |_| {},
    )
    .unwrap();
    assert!(continuous.littles_law[0].concurrency > 8);
}

/// A `--set pool.<key>` on a scenario without `[pool]` tunes the pool the
/// plan adds (one replica per node) instead of creating the default
/// 8-GPU pool, and the plan names the pool it priced.
#[test]
fn a_pool_key_set_on_the_command_line_keeps_one_replica_per_node() {
    let path = write("plan-pool-set", SCENARIO);
    let run = |sets: &[&str]| {
        let o = PlanOptions {
            gpus: vec!["h100-sxm".into()],
            sets: sets.iter().map(|s| s.to_string()).collect(),
            ..options(&path, 1)
        };
        plan::plan(&o, &mut |_| {}).unwrap()
    };
    let plain = run(&[]);
    let with_set = run(&["pool.usd_per_gpu_hour=5"]);
    let tp1 = |p: &plan::Plan| {
        (p.fixed.iter())
            .find(|f| f.tensor_parallel == 1)
            .cloned()
            .unwrap()
    };
    let (a, b) = (tp1(&plain), tp1(&with_set));
    for f in [&a, &b] {
        let pool = f.pool.as_ref().unwrap();
        assert_eq!(pool.gpus_per_node, 1, "{f:?}");
        assert!(pool.added_by_plan);
    }
    assert!((b.pool.as_ref().unwrap().usd_per_gpu_hour - 5.0).abs() < 1e-12);
    // Same fleet, priced per GPU: the cost scales with the price alone.
    assert_eq!(a.replicas, b.replicas);
    let ratio = b.monthly_usd.unwrap() / a.monthly_usd.unwrap();
    let price_ratio = 5.0 / a.pool.as_ref().unwrap().usd_per_gpu_hour;
    assert!(
        (ratio - price_ratio).abs() < 1e-9,
        "{ratio} vs {price_ratio}"
    );
    // The text report says which pool it priced.
    let text = plan::render::render(&with_set);
    assert!(
        text.contains("node pool: added by the plan (the scenario names none)"),
        "{text}"
    );
    // Section 2's row: gpu, TP, replicas, meets SLA, $/month, GPUs/node, $/GPU-h.
    let section = text.split("2. Cheapest fixed fleet").nth(1).unwrap();
    let row = section.lines().nth(2).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[5..7], ["1", "5"], "{row}");
}
