//! Replicas that come and go: the `scheduled` policy, cold-start stages,
//! scale from zero, and draining with a grace period.
#![allow(clippy::unwrap_used)]
// Stage times are integer nanoseconds, so these means are exact.
#![allow(clippy::float_cmp)]

use fleetsim::scenario::load_str;
use fleetsim_core::{Outcome, RunResult};
use std::path::Path;

/// A fresh scratch directory: tests run in parallel and must not share one.
fn scratch_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("fleetsim-lifecycle-{}-{n}", std::process::id()))
}

/// A scheduled fleet on 1-GPU nodes with fixed, fast cold starts (1 s
/// provisioning, 2 s pull, 1 s weights, 6 s engine), billed per second.
fn run(trace_rows: &str, replicas: u32, scaling: &str) -> RunResult {
    run_with(
        trace_rows,
        replicas,
        1,
        "gpus_per_node = 1\nidle_release_delay_s = 0\nbilling = { granularity = \"per_second\", minimum_s = 0 }",
        &format!("[scaling]\nkind = \"scheduled\"\n{scaling}"),
    )
}

#[test]
fn scale_from_zero_waits_exactly_the_cold_start() {
    // No replica at first; the schedule asks for one at t = 0. The cold
    // start is 1 s provisioning + 2 s pull (1 GB at 1 GB/s, extracted at
    // 1 GB/s) + 1 s weights (16.06 GB at 16.06 GB/s) + 6 s engine = 10 s, so
    // a request arriving at t = 1 s waits 9 s before its first iteration.
    let r = run("1,100,10\n", 0, "schedule = [{ at_s = 0, replicas = 1 }]");
    let rec = &r.records[0];
    assert_eq!(rec.outcome, Outcome::Completed);
    assert_eq!(rec.queue_ns, Some(9_000_000_000));
    assert_eq!(r.summary.fleet.replicas_started, 1);
}

#[test]
fn a_new_replica_takes_requests_only_once_ready() {
    // One ready replica; a second is asked for at t = 10 s and is ready at
    // 20 s. Least-outstanding routing sends the t = 15 s request to the old
    // replica (the new one is not routable yet) and the t = 25 s request to
    // the new one (both idle by then? no: the first holds a long request).
    let r = run(
        "0,100,4000\n15,100,10\n25,100,10\n",
        1,
        "schedule = [{ at_s = 10, replicas = 2 }]",
    );
    let replicas: Vec<Option<u32>> = r.records.iter().map(|x| x.replica).collect();
    assert_eq!(replicas, vec![Some(0), Some(0), Some(1)]);
    // GPU time: node 0 for the whole run, node 1 from t = 10 s, each
    // billed per started second.
    let end_s = r.summary.sim.simulated_s;
    let expect_hours = (end_s.ceil() + (end_s - 10.0).ceil()) / 3600.0;
    assert!(
        (r.summary.gpu_hours.billed - expect_hours).abs() < 1e-9,
        "{} vs {expect_hours}",
        r.summary.gpu_hours.billed
    );
}

#[test]
fn a_short_grace_period_fails_exactly_the_requests_still_running() {
    // Two replicas each get a long request at t = 0; at t = 1 s the fleet
    // scales to one. The drained replica's request needs far more than the
    // 0.5 s grace, so it fails; the other completes.
    let r = run(
        "0,100,2000\n0,100,2000\n",
        2,
        "drain_grace_s = 0.5\nschedule = [{ at_s = 1, replicas = 1 }]",
    );
    let s = &r.summary.requests;
    assert_eq!((s.arrived, s.completed, s.failed), (2, 1, 1));
    assert_eq!(r.summary.fleet.replicas_drained, 1);
    // The drained replica (the newer, index 1, on a tie) held its GPU until
    // the grace period ended at 1.5 s.
    let failed = r
        .records
        .iter()
        .find(|x| x.outcome == Outcome::Failed)
        .unwrap();
    assert_eq!(failed.replica, Some(1));
}

#[test]
fn a_long_grace_period_loses_nothing() {
    let r = run(
        "0,100,2000\n0,100,2000\n",
        2,
        "drain_grace_s = 600\nschedule = [{ at_s = 1, replicas = 1 }]",
    );
    let s = &r.summary.requests;
    assert_eq!((s.completed, s.failed), (2, 0));
    assert_eq!(r.summary.fleet.replicas_drained, 1);
}

#[test]
fn requests_with_no_replica_ever_fail_and_are_counted() {
    let r = run("1,100,10\n", 0, "schedule = [{ at_s = 0, replicas = 0 }]");
    assert_eq!(
        (r.summary.requests.arrived, r.summary.requests.failed),
        (1, 1)
    );
}

#[test]
fn schedule_errors_name_the_entry() {
    let toml = |schedule: &str| {
        format!("[workload]\nkind = \"trace\"\npath = \"x.csv\"\n[deployment]\nmodel = \"llama-3.1-8b\"\ngpu = \"h100-sxm\"\nreplicas = 1\n[scaling]\nkind = \"scheduled\"\nschedule = {schedule}\n")
    };
    let dir = std::env::temp_dir();
    std::fs::write(
        dir.join("x.csv"),
        "time_s,input_tokens,output_tokens\n0,1,1\n",
    )
    .unwrap();
    let e = load_str(
        &toml("[{ at_s = 5, replicas = 1 }, { at_s = 2, replicas = 2 }]"),
        "s.toml",
        Path::new(&dir),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("scaling.schedule[1].at_s") && e.contains("time order"),
        "{e}"
    );
    let e = load_str(
        &toml("[{ at_s = -1, replicas = 1 }]"),
        "s.toml",
        Path::new(&dir),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("scaling.schedule[0].at_s"), "{e}");
    let e = load_str(&toml("[]"), "s.toml", Path::new(&dir), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("at least one entry"), "{e}");
}

#[test]
fn the_scale_up_rate_limit_spreads_starts_over_minutes() {
    // Ten replicas wanted at once, at most four started per minute, a 10 s
    // cold start: 4 ready at 10 s, 8 at 70 s, 10 at 130 s.
    let r = run(
        "200,10,1\n",
        0,
        "max_replicas_started_per_minute = 4\nschedule = [{ at_s = 0, replicas = 10 }]",
    );
    let ready_at = |t_s: u64| {
        r.timeseries
            .iter()
            // The row holding the instant (a row spans the windows in
            // which nothing changed).
            .find(|w| w.start.0 < t_s * 1_000_000_000 && t_s * 1_000_000_000 <= w.end.0)
            .map(|w| w.replicas)
            .unwrap()
    };
    assert_eq!(
        [ready_at(10), ready_at(60), ready_at(70), ready_at(130)],
        [4, 4, 8, 10]
    );
    assert_eq!(r.summary.fleet.replicas_started, 10);
}

/// The scenario of `run` with extra `[pool]` and `[cold_start]` lines.
fn run_with(trace_rows: &str, replicas: u32, tp: u32, pool: &str, scaling: &str) -> RunResult {
    run_with_sets(trace_rows, replicas, tp, pool, scaling, &[])
}

/// [`run_with`] plus `--set` overrides.
fn run_with_sets(
    trace_rows: &str,
    replicas: u32,
    tp: u32,
    pool: &str,
    scaling: &str,
    sets: &[String],
) -> RunResult {
    let dir = scratch_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("t.csv"),
        format!("time_s,input_tokens,output_tokens\n{trace_rows}"),
    )
    .unwrap();
    let toml = format!(
        r#"
[workload]
kind = "trace"
path = "t.csv"
[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = {replicas}
tensor_parallel = {tp}
[deployment.engine]
frontend_latency_ms = 0
[pool]
usd_per_gpu_hour = 3.6
provisioning = {{ dist = "fixed", value_s = 1 }}
{pool}
[cold_start]
image_gb = 1
pull_bandwidth = {{ dist = "fixed", gb_per_s = 1 }}
extract_gb_per_s = 1
weight_source = "object_store"
engine_startup_uncached = {{ dist = "fixed", value_s = 6 }}
engine_startup_cached = {{ dist = "fixed", value_s = 3 }}
[cold_start.tiers]
object_store = {{ dist = "fixed", gb_per_s = 16.06 }}
node_nvme = {{ dist = "fixed", gb_per_s = 8.03 }}
{scaling}
"#
    );
    let scenario = load_str(&toml, "pool.toml", &dir, sets).unwrap();
    fleetsim::run::run(&scenario).unwrap()
}

fn line(r: &RunResult, state: fleetsim_core::cost::GpuState) -> f64 {
    let cost = r.summary.cost.as_ref().unwrap();
    cost.by_state
        .get(fleetsim_core::cost::CostLine::State(state))
        .gpu_hours
}

#[test]
fn replicas_starting_together_on_a_node_share_its_transfers_and_later_ones_hit_its_caches() {
    // Two replicas wanted at once on one 3-GPU node: the first pulls the
    // image (2 s), downloads weights from the object store (1 s) and
    // compiles (6 s). The second waits for that pull (2 s), reads the
    // weights as they land, done no earlier than its own read at NVMe speed
    // (16.06 GB at 8.03 GB/s = 2 s), and compiles too: no build has
    // completed when it starts its engine. A third, wanted at 20 s, finds
    // everything cached: no pull, weights at NVMe speed, cached engine 3 s.
    let r = run_with(
        "30,10,1\n",
        0,
        1,
        "gpus_per_node = 3",
        "[scaling]\nkind = \"scheduled\"\nschedule = [{ at_s = 0, replicas = 2 }, { at_s = 20, replicas = 3 }]",
    );
    let c = r.summary.cold_start.as_ref().unwrap();
    assert_eq!(c.count, 3);
    assert_eq!(c.by_stage.provisioning, (1.0 + 1.0 + 0.0) / 3.0);
    assert_eq!(c.by_stage.pulling_image, (2.0 + 2.0 + 0.0) / 3.0);
    assert_eq!(c.by_stage.loading_weights, (1.0 + 2.0 + 2.0) / 3.0);
    assert_eq!(c.by_stage.starting_engine, (6.0 + 6.0 + 3.0) / 3.0);
    assert_eq!(r.summary.cost.as_ref().unwrap().by_pool.len(), 1);
}

#[test]
fn gpu_time_by_state_adds_up_to_billed_time_and_shows_stranded_gpus() {
    // Two TP-4 replicas packed on one 10-GPU node: 2 GPUs stranded all run.
    let r = run_with(
        "0,100,50\n1,100,50\n",
        2,
        4,
        "gpus_per_node = 10\nbilling = { granularity = \"per_second\", minimum_s = 0 }",
        "",
    );
    let cost = r.summary.cost.as_ref().unwrap();
    let end_h = r.summary.sim.simulated_s / 3600.0;
    assert_eq!(cost.by_pool[0].node_intervals, 1);
    assert!(
        (cost.held_gpu_hours - 10.0 * end_h).abs() < 1e-12,
        "{} vs {}",
        cost.held_gpu_hours,
        10.0 * end_h
    );
    assert!((line(&r, fleetsim_core::cost::GpuState::Unallocated) - 2.0 * end_h).abs() < 1e-12);
    let states: f64 = cost.by_state.iter().map(|(_, l)| l.gpu_hours).sum();
    assert!(
        (states - cost.billed_gpu_hours).abs() < 1e-12,
        "{states} vs {}",
        cost.billed_gpu_hours
    );
    assert!((cost.total_usd - cost.billed_gpu_hours * 3.6).abs() < 1e-9);
}

#[test]
fn per_hour_billing_rounds_a_short_run_up_to_an_hour() {
    let r = run_with(
        "0,100,50\n",
        1,
        1,
        "gpus_per_node = 1\nbilling = { granularity = \"per_hour\" }",
        "",
    );
    let cost = r.summary.cost.as_ref().unwrap();
    assert!(r.summary.sim.simulated_s < 60.0);
    assert_eq!(cost.billed_gpu_hours, 1.0);
    assert!((cost.total_usd - 3.6).abs() < 1e-12);
    assert_eq!(r.summary.gpu_hours.billed, 1.0);
}

#[test]
fn a_full_quota_makes_new_replicas_wait_without_billing_them() {
    // One node allowed, already used by the initial replica: the second
    // replica waits for GPUs, holds none, and is cancelled at t = 5 s.
    let r = run_with(
        "0,100,50\n",
        1,
        1,
        "gpus_per_node = 1\nmax_nodes = 1",
        "[scaling]\nkind = \"scheduled\"\nschedule = [{ at_s = 0, replicas = 2 }, { at_s = 5, replicas = 1 }]",
    );
    let cost = r.summary.cost.as_ref().unwrap();
    assert_eq!(cost.by_pool[0].node_intervals, 1);
    assert_eq!(line(&r, fleetsim_core::cost::GpuState::Provisioning), 0.0);
    assert!(
        r.summary.cold_start.is_none(),
        "the waiting replica never became ready"
    );
}

#[test]
fn sampled_cold_starts_are_deterministic_per_seed() {
    let scenario = |seed: u64| {
        let toml = format!(
            "seed = {seed}\n[workload]\nkind = \"synthetic\"\nduration_s = 120\narrival = {{ kind = \"poisson\", rate_per_s = 2 }}\n\
             input_tokens = {{ kind = \"fixed\", tokens = 100 }}\noutput_tokens = {{ kind = \"fixed\", tokens = 20 }}\n\
             [deployment]\nmodel = \"llama-3.1-8b\"\ngpu = \"h100-sxm\"\nreplicas = 1\n[pool]\ngpus_per_node = 1\n\
             [scaling]\nkind = \"scheduled\"\nschedule = [{{ at_s = 10, replicas = 3 }}]\n"
        );
        let s = load_str(&toml, "seeded.toml", Path::new("."), &[]).unwrap();
        let r = fleetsim::run::run(&s).unwrap();
        serde_json::to_string(&r.summary).unwrap()
    };
    let a = scenario(5);
    assert_eq!(a, scenario(5));
    assert_ne!(a, scenario(6), "a different seed gives a different run");
    assert!(a.contains("\"monthly_equation\":{"), "{a}");
}

/// One replica on a spot node reclaimed often (mean uptime 10 s), three
/// long requests at t = 0 and two short ones at t = 100 s.
fn spot_run(notice_s: f64, grace_s: f64) -> RunResult {
    run_with(
        "0,100,3000\n0,100,3000\n0,100,3000\n100,100,10\n100,100,10\n",
        1,
        1,
        &format!(
            "gpus_per_node = 1\nspot = {{ interruptions_per_node_hour = 360, notice_s = {notice_s} }}"
        ),
        &format!("[scaling]\nkind = \"scheduled\"\ndrain_grace_s = {grace_s}\nschedule = [{{ at_s = 0, replicas = 1 }}]"),
    )
}

#[test]
fn a_spot_notice_shorter_than_the_requests_fails_exactly_those_running() {
    let r = spot_run(0.001, 600.0);
    let s = &r.summary.requests;
    assert!(
        r.summary.fleet.replicas_drained >= 1,
        "the node was reclaimed"
    );
    // The three long requests ran on the reclaimed replica and failed; the
    // two later ones waited for the replacement and completed.
    let failed: Vec<u64> = r
        .records
        .iter()
        .filter(|x| x.outcome == Outcome::Failed)
        .map(|x| x.id)
        .collect();
    assert_eq!(failed, vec![0, 1, 2]);
    assert_eq!((s.arrived, s.completed, s.failed), (5, 2, 3));
    assert!(
        r.summary.fleet.replicas_started >= 1,
        "a replacement was requested"
    );
}

#[test]
fn a_spot_notice_longer_than_the_longest_request_loses_nothing() {
    let r = spot_run(600.0, 600.0);
    let s = &r.summary.requests;
    assert!(
        r.summary.fleet.replicas_drained >= 1,
        "the node was reclaimed"
    );
    assert_eq!((s.arrived, s.completed, s.failed), (5, 5, 0));
}

#[test]
fn a_warm_node_skips_procurement_and_pull_and_its_idle_time_is_warm_pool() {
    // One warm 1-GPU node waits from t = 0; the replica asked for at t = 10 s
    // lands on it: no provisioning, no pull, weights from NVMe (2 s), engine
    // not cached (6 s): ready at 18 s. The node's 10 idle seconds are
    // warm-pool time.
    let r = run_with(
        "30,10,1\n",
        1,
        1,
        "gpus_per_node = 1\nwarm_nodes = 1\nmax_nodes = 2\nbilling = { granularity = \"per_second\", minimum_s = 0 }",
        "[scaling]\nkind = \"scheduled\"\nschedule = [{ at_s = 10, replicas = 2 }]",
    );
    let c = r.summary.cold_start.as_ref().unwrap();
    assert_eq!(c.count, 1);
    assert_eq!(c.p50_s, 8.0);
    assert_eq!(c.by_stage.provisioning, 0.0);
    assert_eq!(c.by_stage.pulling_image, 0.0);
    assert_eq!(c.by_stage.loading_weights, 2.0);
    let warm_h = line(&r, fleetsim_core::cost::GpuState::WarmPool);
    assert!((warm_h - 10.0 / 3600.0).abs() < 1e-12, "{warm_h}");
    assert_eq!(
        r.summary.cost.as_ref().unwrap().by_pool[0].node_intervals,
        2
    );
}

#[test]
fn an_on_demand_baseline_with_spot_burst_uses_the_pools_in_order() {
    // Pool 0: on-demand, one 1-GPU node at most (the baseline, $3.6/h).
    // Pool 1: spot, $1.2/h, reclaims rare enough not to happen here.
    // Scaling to 3 puts the two new replicas on spot nodes.
    let dir = scratch_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("t.csv"),
        "time_s,input_tokens,output_tokens\n30,10,1\n",
    )
    .unwrap();
    let toml = r#"
[workload]
kind = "trace"
path = "t.csv"
[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 1
[[pools]]
name = "on-demand"
gpus_per_node = 1
max_nodes = 1
usd_per_gpu_hour = 3.6
provisioning = { dist = "fixed", value_s = 1 }
[[pools]]
name = "spot"
gpus_per_node = 1
usd_per_gpu_hour = 1.2
provisioning = { dist = "fixed", value_s = 1 }
spot = { interruptions_per_node_hour = 0.0001, notice_s = 120 }
[scaling]
kind = "scheduled"
schedule = [{ at_s = 0, replicas = 3 }]
"#;
    let scenario = load_str(toml, "pools.toml", &dir, &[]).unwrap();
    let r = fleetsim::run::run(&scenario).unwrap();
    let cost = r.summary.cost.as_ref().unwrap();
    let pools: Vec<(&str, u64)> = cost
        .by_pool
        .iter()
        .map(|p| (p.name.as_str(), p.node_intervals))
        .collect();
    assert_eq!(pools, vec![("on-demand", 1), ("spot", 2)]);
    let by_pool_usd: f64 = cost.by_pool.iter().map(|p| p.usd).sum();
    assert!((by_pool_usd - cost.total_usd).abs() < 1e-9);
    // Both pools' prices enter the bill.
    assert!(cost.by_pool[1].usd > 0.0 && cost.by_pool[0].usd > 0.0);
}

#[test]
fn the_first_request_on_a_new_replica_pays_the_warm_up_penalty() {
    let run_extra = |extra_s: f64| {
        run_with(
            "1,100,10\n30,100,10\n",
            0,
            1,
            &format!(
                "gpus_per_node = 1\n[cold_start.warmup]\nrequests = 1\nextra_latency_s = {extra_s}"
            ),
            "[scaling]\nkind = \"scheduled\"\nschedule = [{ at_s = 0, replicas = 1 }]",
        )
    };
    let (plain, warm) = (run_extra(0.0), run_extra(2.0));
    let ttft = |r: &RunResult, i: usize| r.records[i].ttft_ns.unwrap();
    let e2e = |r: &RunResult, i: usize| r.records[i].e2e_ns.unwrap();
    assert_eq!(ttft(&warm, 0) - ttft(&plain, 0), 2_000_000_000);
    assert_eq!(e2e(&warm, 0) - e2e(&plain, 0), 2_000_000_000);
    assert_eq!(
        ttft(&warm, 1),
        ttft(&plain, 1),
        "only the first request is slower"
    );
    assert_eq!(warm.records[0].queue_ns, plain.records[0].queue_ns);
}

#[test]
fn a_replica_cancelled_while_its_node_provisions_frees_the_node() {
    // The node for the second replica is asked for at t = 0 and would be up
    // at 1 s; the schedule cancels the replica at 0.5 s, so the node is
    // released at once (no idle delay): 0.5 GPU-seconds of provisioning.
    let r = run(
        "5,10,1\n",
        1,
        "schedule = [{ at_s = 0, replicas = 2 }, { at_s = 0.5, replicas = 1 }]",
    );
    let cost = r.summary.cost.as_ref().unwrap();
    assert_eq!(cost.by_pool[0].node_intervals, 2);
    let provisioning_s = line(&r, fleetsim_core::cost::GpuState::Provisioning) * 3600.0;
    assert!((provisioning_s - 0.5).abs() < 1e-9, "{provisioning_s}");
    assert!(r.summary.cold_start.is_none());
}

#[test]
fn warm_up_slows_the_first_requests_and_has_its_own_gpu_state() {
    let run_factor = |factor: f64, stepping: &str| {
        run_with_sets(
            "11,300,50\n30,300,50\n",
            0,
            1,
            &format!(
                "gpus_per_node = 1\n[cold_start.warmup]\nrequests = 1\nextra_latency_s = 0\nslowdown_factor = {factor}"
            ),
            "[scaling]\nkind = \"scheduled\"\nschedule = [{ at_s = 0, replicas = 1 }]",
            &[format!("deployment.engine.stepping={stepping}")],
        )
    };
    let plain = run_factor(1.0, "jump");
    let slow = run_factor(2.0, "jump");
    let service =
        |r: &RunResult, i: usize| r.records[i].e2e_ns.unwrap() - r.records[i].queue_ns.unwrap();
    // The first request (the replica is ready at 10 s) runs at half speed;
    // the second, after the first completed, at full speed.
    let ratio = service(&slow, 0) as f64 / service(&plain, 0) as f64;
    assert!((ratio - 2.0).abs() < 1e-3, "{ratio}");
    assert_eq!(service(&slow, 1), service(&plain, 1));
    // Warm-up iterations are stepped one by one in both modes: same results.
    assert_eq!(slow.records, run_factor(2.0, "every_iteration").records);
    // The warm-up window is GPU time of its own.
    assert!(line(&slow, fleetsim_core::cost::GpuState::WarmingUp) > 0.0);
    assert_eq!(line(&plain, fleetsim_core::cost::GpuState::WarmingUp), 0.0);
}

#[test]
fn a_taken_warm_node_is_replaced_and_the_replacement_serves_the_next_start() {
    // Warm pool of one 1-GPU node, no quota. At 10 s a replica takes the
    // warm node and a replacement is provisioned (1 s) and primed; the
    // replica asked for at 20 s lands on it, again skipping the pull.
    let r = run_with(
        "40,10,1\n",
        1,
        1,
        "gpus_per_node = 1\nwarm_nodes = 1",
        "[scaling]\nkind = \"scheduled\"\nschedule = [{ at_s = 10, replicas = 2 }, { at_s = 20, replicas = 3 }]",
    );
    let c = r.summary.cold_start.as_ref().unwrap();
    assert_eq!(c.count, 2);
    assert_eq!(
        c.by_stage.pulling_image, 0.0,
        "both started on primed warm nodes"
    );
    assert_eq!(c.by_stage.provisioning, 0.0);
    // Initial node, the first warm node, its replacement, and the
    // replacement of the replacement (requested at 20 s).
    assert_eq!(
        r.summary.cost.as_ref().unwrap().by_pool[0].node_intervals,
        4
    );
}
