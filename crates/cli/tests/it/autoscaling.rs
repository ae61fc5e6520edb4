//! Autoscalers from a scenario file: `[scaling] kind = "<policy>"` builds
//! the policy, the engine scrapes and syncs it, and the activator wakes a
//! deployment scaled to zero.
#![allow(clippy::unwrap_used)]

use crate::common::run_trace;
use fleetsim_core::{Outcome, RunResult};

/// One Llama-3.1-8B replica per 1-GPU node with a fixed cold start of
/// `cold_start_s` (provisioning; image, weights and engine start take
/// 1 + 1 + 6 = 8 s more), no warm-up penalty, no frontend latency, and
/// `scaling` (the body of `[scaling]`).
fn fleet(replicas: u32, cold_start_s: f64, scaling: &str, extra: &str) -> String {
    format!(
        r#"
[workload]
kind = "trace"
path = "t.csv"
[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = {replicas}
[deployment.engine]
frontend_latency_ms = 0
[pool]
gpus_per_node = 1
idle_release_delay_s = 0
provisioning = {{ dist = "fixed", value_s = {cold_start_s} }}
[cold_start]
image_gb = 1
pull_bandwidth = {{ dist = "fixed", gb_per_s = 2 }}
extract_gb_per_s = 2
weight_source = "object_store"
engine_startup_uncached = {{ dist = "fixed", value_s = 6 }}
warmup = {{ requests = 0, duration_s = 0, slowdown_factor = 1, extra_latency_s = 0 }}
[cold_start.tiers]
object_store = {{ dist = "fixed", gb_per_s = 16.06 }}
[scaling]
{scaling}
{extra}
"#
    )
}

#[test]
fn scale_from_zero_waits_exactly_the_cold_start_plus_its_own_service() {
    // No replica; the first request (t = 3 s) wakes the activator, which
    // starts one at once: 2 s provisioning + 1 s pull + 1 s weights + 6 s
    // engine = 10 s before its first iteration.
    let scaling =
        "kind = \"concurrency\"\nmin_replicas = 0\nmax_replicas = 2\ntarget_concurrency_per_replica = 10";
    let toml = fleet(0, 2.0, scaling, "");
    let r = run_trace("time_s,input_tokens,output_tokens\n3,100,20\n", &toml).unwrap();
    let rec = &r.records[0];
    assert_eq!(rec.outcome, Outcome::Completed);
    assert_eq!(rec.queue_ns, Some(10_000_000_000));
    // Its own service: the same request on a warm replica.
    let warm = run_trace(
        "time_s,input_tokens,output_tokens\n3,100,20\n",
        &fleet(1, 2.0, "kind = \"fixed\"", ""),
    )
    .unwrap();
    let service = warm.records[0].e2e_ns.unwrap();
    assert_eq!(rec.e2e_ns, Some(10_000_000_000 + service));
    assert_eq!(r.summary.fleet.replicas_started, 1);
}

/// A spike: 2 req/s for 60 s, then 60 req/s for 120 s, then 2 req/s, each
/// request 1,500 prompt tokens and 200 output tokens.
fn spike() -> String {
    let mut s = String::from("time_s,input_tokens,output_tokens\n");
    let mut t = 0.0;
    while t < 300.0 {
        s.push_str(&format!("{t:.3},1500,200\n"));
        t += if (60.0..180.0).contains(&t) {
            1.0 / 60.0
        } else {
            0.5
        };
    }
    s
}

/// SLA attainment (TTFT ≤ 1 s) of the requests that arrived in the spike.
fn spike_attainment(r: &RunResult) -> f64 {
    let in_spike: Vec<_> = r
        .records
        .iter()
        .filter(|x| (60.0..180.0).contains(&x.arrival.as_secs_f64()))
        .collect();
    let met = in_spike
        .iter()
        .filter(|x| x.ttft_ns.is_some_and(|t| t <= 1_000_000_000))
        .count();
    met as f64 / in_spike.len() as f64
}

#[test]
fn the_cold_start_race_a_warm_buffer_keeps_the_sla_a_reactive_policy_misses_it() {
    // A five-minute cold start: a purely reactive autoscaler (one replica
    // until the load says otherwise) cannot bring capacity up within the
    // two-minute spike; keeping three replicas warm absorbs it.
    let central = "[queue]\nmode = \"central\"\nmax_concurrency_per_replica = 64";
    let reactive = "kind = \"concurrency\"\nmin_replicas = 1\nmax_replicas = 8\ntarget_concurrency_per_replica = 32";
    let buffered = "kind = \"concurrency\"\nmin_replicas = 5\nmax_replicas = 8\ntarget_concurrency_per_replica = 32";
    let r = run_trace(&spike(), &fleet(1, 300.0, reactive, central)).unwrap();
    let b = run_trace(&spike(), &fleet(5, 300.0, buffered, central)).unwrap();
    let (reactive_att, buffered_att) = (spike_attainment(&r), spike_attainment(&b));
    println!("spike TTFT ≤ 1 s: reactive {reactive_att:.3}, warm buffer {buffered_att:.3}");
    assert!(reactive_att < 0.5, "reactive {reactive_att}");
    assert!(buffered_att > 0.95, "buffered {buffered_att}");
    // The reactive policy did ask for more: it just came too late.
    assert!(r.summary.fleet.replicas_started >= 1);
    let total = |x: &RunResult| x.summary.requests.completed;
    assert_eq!(
        (total(&r), total(&b)),
        (r.records.len() as u64, b.records.len() as u64)
    );
}

#[test]
fn the_activator_does_not_wait_for_lagged_metrics() {
    // Scrapes every 5 s, visible 30 s late: the activator still starts the
    // first replica at the first request, not when the metrics show it.
    let scaling = "kind = \"concurrency\"\nmin_replicas = 0\nmax_replicas = 2\n[scaling.scrape]\ninterval_s = 5\nlag_s = 30";
    let r = run_trace(
        "time_s,input_tokens,output_tokens\n3,100,20\n",
        &fleet(0, 2.0, scaling, ""),
    )
    .unwrap();
    assert_eq!(r.records[0].queue_ns, Some(10_000_000_000));
}

#[test]
fn bad_scaling_knobs_are_errors_that_name_the_knob() {
    let trace = "time_s,input_tokens,output_tokens\n0,10,10\n";
    let err = |scaling: &str| run_trace(trace, &fleet(1, 2.0, scaling, "")).unwrap_err();
    let e = err("kind = \"kpaa\"");
    assert!(
        e.contains("unknown variant `kpaa`") && e.contains("concurrency"),
        "{e}"
    );
    let e = err("kind = \"concurrency\"\nmax_replicas = 2\ntarget_utilization = 1.5");
    assert!(e.contains("scaling.target_utilization"), "{e}");
    let e = err("kind = \"concurrency\"\nmax_replicas = 2\nwindow = 60");
    assert!(e.contains("unknown field `window`"), "{e}");
    let e = err("kind = \"fixed\"\ndrain_grace_s = 10");
    assert!(
        e.contains("scaling.drain_grace_s") && e.contains("changes size"),
        "{e}"
    );
    let e = err("kind = \"scheduled\"\nschedule = [{ at_s = 0, replicas = 1 }]\n[scaling.scrape]\nlag_s = 1");
    assert!(e.contains("only an autoscaler reads metrics"), "{e}");
    let e = err("kind = \"concurrency\"\nmax_replicas = 2\n[scaling.scrape]\ninterval_s = 0");
    assert!(e.contains("scaling.scrape.interval_s"), "{e}");
}

/// `rps_burst` req/s for the first `burst_s` seconds, then 0.2 req/s until
/// `end_s` (a lull); 1,500 prompt and 200 output tokens each.
fn burst_then_lull(rps_burst: f64, burst_s: f64, end_s: f64) -> String {
    let mut s = String::from("time_s,input_tokens,output_tokens\n");
    let mut t = 0.0;
    while t < end_s {
        s.push_str(&format!("{t:.3},1500,200\n"));
        t += if t < burst_s { 1.0 / rps_burst } else { 5.0 };
    }
    s
}

/// `rate` requests per second, evenly spaced, for `duration_s`, each with
/// `input` prompt and `output` generated tokens.
fn steady(rate: u32, duration_s: u32, input: u32, output: u32) -> String {
    let mut s = String::from("time_s,input_tokens,output_tokens\n");
    for i in 0..rate * duration_s {
        s.push_str(&format!(
            "{:.4},{input},{output}\n",
            f64::from(i) / f64::from(rate)
        ));
    }
    s
}

/// Replicas serving or starting at `t_s` (the time-series row holding it).
fn replicas_at(r: &RunResult, t_s: f64) -> u32 {
    let t = (t_s * 1e9) as u64;
    let w = (r.timeseries.iter())
        .find(|w| w.start.0 < t && t <= w.end.0)
        .unwrap_or_else(|| panic!("no time-series row at {t_s} s"));
    w.replicas + w.replicas_starting
}

/// The most replicas serving or starting at any row's end.
fn peak_replicas(r: &RunResult) -> u32 {
    (r.timeseries.iter())
        .map(|w| w.replicas + w.replicas_starting)
        .max()
        .unwrap_or(0)
}

/// A KEDA ScaledObject on running requests, 4 per replica, 1..=8.
fn keda(extra_knobs: &str) -> String {
    format!(
        "kind = \"keda\"\nmin_replicas = 1\nmax_replicas = 8\ntrigger_metric = \"num_requests_running\"\nthreshold = 4\ncooldown_period_s = 60\n{extra_knobs}"
    )
}

#[test]
fn keda_paused_scale_in_holds_replicas_through_a_lull() {
    // 8 req/s for 5 minutes scales out; 10 minutes of lull follow. Without
    // the annotation the HPA scales in after its 300 s window; with
    // `paused_scale_in` (autoscaling.keda.sh/paused-scale-in) the HPA's
    // scale-down is Disabled and the peak is held.
    let trace = burst_then_lull(8.0, 300.0, 900.0);
    let free = run_trace(&trace, &fleet(1, 2.0, &keda(""), "")).unwrap();
    let held = run_trace(&trace, &fleet(1, 2.0, &keda("paused_scale_in = true"), "")).unwrap();
    let (free_peak, held_peak) = (peak_replicas(&free), peak_replicas(&held));
    assert!(free_peak >= 3, "the burst scales out: {free_peak}");
    assert_eq!(held_peak, free_peak, "scale-out is not affected");
    assert!(
        replicas_at(&free, 880.0) < free_peak,
        "without the annotation the lull scales in: {} of {free_peak}",
        replicas_at(&free, 880.0)
    );
    assert_eq!(
        replicas_at(&held, 880.0),
        held_peak,
        "paused scale-in holds"
    );
}

#[test]
fn keda_paused_replicas_pins_the_count() {
    // autoscaling.keda.sh/paused-replicas = 3: whatever the load (a burst
    // that would want more, a lull that would want fewer), 3 replicas.
    let trace = burst_then_lull(8.0, 300.0, 900.0);
    let r = run_trace(&trace, &fleet(1, 2.0, &keda("paused_replicas = 3"), "")).unwrap();
    for t in [60.0, 200.0, 500.0, 880.0] {
        assert_eq!(replicas_at(&r, t), 3, "at {t} s");
    }
    assert_eq!(peak_replicas(&r), 3);
}

#[test]
fn keda_fallback_replicas_take_over_during_a_metrics_outage() {
    // The metrics source is down from 400 s to 800 s (in the lull). The
    // trigger errs; without a fallback the HPA gets no metric and holds
    // the count; with `fallback = { failure_threshold = 3, replicas = 6 }`
    // the fourth failed read (the HPA's every 15 s and the polls' every
    // 30 s both count) serves 6 × threshold and the HPA asks for 6.
    let trace = burst_then_lull(2.0, 300.0, 900.0);
    let outage = "[scaling.scrape]\noutages = [{ start_s = 400, end_s = 800 }]";
    let plain = run_trace(&trace, &fleet(1, 2.0, &keda(""), outage)).unwrap();
    let knobs = "fallback = { failure_threshold = 3, replicas = 6 }";
    let fb = run_trace(&trace, &fleet(1, 2.0, &keda(knobs), outage)).unwrap();
    let before = replicas_at(&plain, 395.0);
    assert!(
        before < 6,
        "the lull wants fewer than the fallback: {before}"
    );
    for t in [500.0, 650.0, 790.0] {
        assert_eq!(replicas_at(&plain, t), before, "no fallback: held at {t} s");
        assert_eq!(replicas_at(&fb, t), 6, "fallback replicas at {t} s");
    }
    // Before the fourth failure (at most 3 × 15 s into the outage) the
    // fallback has not taken over yet.
    assert_eq!(replicas_at(&fb, 420.0), replicas_at(&fb, 395.0));
    // Without an outage the fallback never acts.
    let calm = run_trace(&trace, &fleet(1, 2.0, &keda(knobs), "")).unwrap();
    assert!(replicas_at(&calm, 650.0) < 6);
}

#[test]
fn keda_value_metric_type_scales_on_the_whole_value() {
    // The same trigger (running requests, threshold 4) as a Value target:
    // the HPA reads the threshold as the whole deployment's and keeps
    // adding replicas while the total is above it, where AverageValue
    // settles near total / 4.
    let trace = burst_then_lull(8.0, 300.0, 400.0);
    let avg = run_trace(&trace, &fleet(1, 2.0, &keda(""), "")).unwrap();
    let value = run_trace(&trace, &fleet(1, 2.0, &keda("metric_type = \"Value\""), "")).unwrap();
    let (avg_peak, value_peak) = (peak_replicas(&avg), peak_replicas(&value));
    assert!((3..8).contains(&avg_peak), "AverageValue: {avg_peak}");
    assert_eq!(value_peak, 8, "Value runs to max_replicas");
    // With a fallback, a Value trigger that fails asks for the fallback
    // count too (served as the target × replicas / ready pods): a light
    // load held at 1 replica, the metrics source down from 300 s to 500 s.
    let light = burst_then_lull(0.5, 600.0, 600.0);
    let outage = "[scaling.scrape]\noutages = [{ start_s = 300, end_s = 500 }]";
    let value = "metric_type = \"Value\"";
    let knobs = format!("{value}\nfallback = {{ failure_threshold = 3, replicas = 3 }}");
    let fb = run_trace(&light, &fleet(1, 2.0, &keda(&knobs), outage)).unwrap();
    let plain = run_trace(&light, &fleet(1, 2.0, &keda(value), outage)).unwrap();
    assert_eq!(replicas_at(&fb, 290.0), 1, "before the outage");
    for t in [400.0, 490.0] {
        assert_eq!(replicas_at(&fb, t), 3, "fallback replicas at {t} s");
        assert_eq!(replicas_at(&plain, t), 1, "no fallback: held at {t} s");
    }
}

#[test]
fn aibrix_kpa_scales_up_under_a_burst_and_down_after_the_lull() {
    // AIBrix's KPA strategy on running requests per pod (target 4): the
    // burst's per-pod average jumps past twice the stable one (panic), the
    // count grows up to 2× per 10 s resync; in the lull the stable average
    // falls and the count comes down.
    let kpa = "kind = \"aibrix_kpa\"\nmin_replicas = 1\nmax_replicas = 8\ntarget_metric = \"num_requests_running\"\ntarget_value = 4";
    let mut trace = String::from("time_s,input_tokens,output_tokens\n");
    // 0.5 req/s for 2 minutes, 10 req/s for 3 minutes, then a lull.
    let mut t = 0.0;
    while t < 900.0 {
        trace.push_str(&format!("{t:.3},1500,200\n"));
        t += match t {
            x if x < 120.0 => 2.0,
            x if x < 300.0 => 0.1,
            _ => 5.0,
        };
    }
    let r = run_trace(&trace, &fleet(1, 2.0, kpa, "")).unwrap();
    assert_eq!(replicas_at(&r, 110.0), 1, "the quiet start needs one");
    let peak = peak_replicas(&r);
    assert!(peak >= 4, "the burst scales up: {peak}");
    assert!(
        replicas_at(&r, 880.0) <= 2,
        "the lull scales down: {}",
        replicas_at(&r, 880.0)
    );
}

#[test]
fn aibrix_metrics_sources_scale_on_the_busiest_metric() {
    // AIBrix `metricsSources`: KV-cache usage at a target of 1.0 never
    // asks for more than one replica; with running requests per pod
    // (target 4) as a second source, the burst scales up on it.
    let kv = "target_metric = \"kv_cache_usage_perc\", target_value = 1.0";
    let only_kv = format!(
        "kind = \"aibrix_apa\"\nmax_replicas = 8\n{}",
        kv.replace(", ", "\n")
    );
    let both = format!("kind = \"aibrix_apa\"\nmax_replicas = 8\nmetrics_sources = [{{ {kv} }}, {{ target_metric = \"num_requests_running\", target_value = 4 }}]");
    let trace = burst_then_lull(8.0, 300.0, 400.0);
    let one = run_trace(&trace, &fleet(1, 2.0, &only_kv, "")).unwrap();
    let two = run_trace(&trace, &fleet(1, 2.0, &both, "")).unwrap();
    assert_eq!(peak_replicas(&one), 1, "KV alone stays at one");
    assert!(
        peak_replicas(&two) >= 3,
        "running requests scale up: {}",
        peak_replicas(&two)
    );
}

#[test]
fn a_metrics_outage_freezes_the_hpa_and_bad_outages_are_located_errors() {
    // The HPA gets no metric during the outage and keeps its count.
    let hpa = "kind = \"hpa\"\nmin_replicas = 1\nmax_replicas = 8\nmetrics = [{ metric = \"num_requests_running\", target_average_value = 4 }]";
    let outage = "[scaling.scrape]\noutages = [{ start_s = 200, end_s = 800 }]";
    let trace = burst_then_lull(8.0, 300.0, 900.0);
    let r = run_trace(&trace, &fleet(1, 2.0, hpa, outage)).unwrap();
    let frozen = replicas_at(&r, 230.0);
    for t in [400.0, 600.0, 790.0] {
        assert_eq!(replicas_at(&r, t), frozen, "at {t} s");
    }
    let free = run_trace(&trace, &fleet(1, 2.0, hpa, "")).unwrap();
    assert_ne!(
        replicas_at(&free, 790.0),
        frozen,
        "without it the lull scales in"
    );
    let bad = "[scaling.scrape]\noutages = [{ start_s = 900, end_s = 600 }]";
    let e = run_trace(&trace, &fleet(1, 2.0, hpa, bad)).unwrap_err();
    assert!(
        e.contains("scaling.scrape.outages[0].end_s") && e.contains("must be after start_s"),
        "{e}"
    );
}

/// Replicas serving or starting at the end of the last time-series window
/// that ends by `t_s`.
fn replicas_by(r: &RunResult, t_s: f64) -> u32 {
    let row = (r.timeseries.iter())
        .rfind(|w| w.end.as_secs_f64() <= t_s)
        .expect("a window");
    row.replicas + row.replicas_starting
}

#[test]
fn hpa_on_ttft_p95_adds_replicas_when_ttft_rises() {
    // 40 req/s of 3,000-token prompts: more prefill than one replica can
    // keep up with, so TTFT climbs. The HPA on TTFT p95 (Value 0.5 s)
    // adds replicas; with a target nothing reaches, it holds one.
    let load = steady(40, 240, 3000, 50);
    let hpa = |target: f64| {
        format!("kind = \"hpa\"\nmax_replicas = 8\nmetrics = [{{ metric = \"ttft_p95_s\", target_value = {target} }}]")
    };
    let scaled = run_trace(&load, &fleet(1, 2.0, &hpa(0.5), "")).unwrap();
    let held = run_trace(&load, &fleet(1, 2.0, &hpa(100_000.0), "")).unwrap();
    let p95 = |r: &RunResult| {
        let mut v: Vec<u64> = r.records.iter().filter_map(|x| x.ttft_ns).collect();
        v.sort_unstable();
        v[v.len() * 95 / 100] as f64 / 1e9
    };
    let (s, h) = (p95(&scaled), p95(&held));
    println!(
        "TTFT p95: scaled {s:.2} s ({} started, {} at 240 s), held {h:.2} s",
        scaled.summary.fleet.replicas_started,
        replicas_by(&scaled, 240.0)
    );
    assert_eq!(held.summary.fleet.replicas_started, 0);
    assert!(
        replicas_by(&scaled, 240.0) >= 3,
        "{}",
        replicas_by(&scaled, 240.0)
    );
    assert!(s < h / 2.0, "scaled {s} s, held {h} s");
}

#[test]
fn keda_rate_trigger_scales_with_the_arrival_rate() {
    // 24 req/s of small requests: nothing queues, so a queue-depth trigger
    // holds one replica; a rate trigger at 5 req/s per replica asks for
    // ceil(24 / 5) = 5.
    let load = steady(24, 400, 200, 20);
    let keda = |trigger: &str| {
        format!("kind = \"keda\"\nmin_replicas = 1\nmax_replicas = 10\nthreshold = 5\n{trigger}")
    };
    let rate = keda("query = \"sum(rate(http_requests_total[1m]))\"");
    let by_rate = run_trace(&load, &fleet(1, 2.0, &rate, "")).unwrap();
    let queue = keda("trigger_metric = \"num_requests_waiting\"");
    let by_queue = run_trace(&load, &fleet(1, 2.0, &queue, "")).unwrap();
    assert_eq!(replicas_by(&by_rate, 400.0), 5);
    assert_eq!(replicas_by(&by_queue, 400.0), 1);
    // A bad query is an error naming the key and the column.
    let bad = keda("query = \"sum(rate(http_requests_total[1m])\"");
    let e = run_trace(&load, &fleet(1, 2.0, &bad, "")).unwrap_err();
    assert!(
        e.contains("scaling.query") && e.contains("column 34"),
        "{e}"
    );
}

#[test]
fn kpa_rps_targets_give_replicas_near_rate_over_target() {
    // 25 req/s at 10 rps per replica (utilization 100 %): ceil(2.5) = 3.
    // The concurrency metric on the same load (a few in flight, target
    // 100) keeps one.
    let load = steady(25, 300, 200, 20);
    let kpa = |metric: &str| {
        format!("kind = \"kpa\"\nmin_replicas = 1\nmax_replicas = 10\ntarget_utilization_percentage = 100\nrps_target = 10\nmetric = \"{metric}\"")
    };
    let rps = run_trace(&load, &fleet(1, 2.0, &kpa("rps"), "")).unwrap();
    let conc = run_trace(&load, &fleet(1, 2.0, &kpa("concurrency"), "")).unwrap();
    assert_eq!(replicas_by(&rps, 300.0), 3);
    assert_eq!(replicas_by(&conc, 300.0), 1);
}

#[test]
fn ray_serve_decides_on_replica_state_and_held_reports_through_an_outage() {
    // 6 req/s keeps several replicas busy; the metrics source is down from
    // 300 s to 900 s. Ray's controller knows its running replicas from
    // replica state, and drops the handles' last reports 20 s after they
    // stop: it then sees no request and, after the 60 s downscale delay,
    // steps down to min_replicas during the outage. Once reports return
    // it scales out again.
    let trace = steady(6, 1200, 1500, 200);
    let ray = "kind = \"ray_serve\"\nmin_replicas = 1\nmax_replicas = 8\ntarget_ongoing_requests = 2.0\nupscale_delay_s = 5.0\ndownscale_delay_s = 60.0\nlook_back_period_s = 15.0";
    let outage = "[scaling.scrape]\noutages = [{ start_s = 300, end_s = 900 }]";
    let r = run_trace(&trace, &fleet(1, 2.0, ray, outage)).unwrap();
    let calm = run_trace(&trace, &fleet(1, 2.0, ray, "")).unwrap();
    let before = replicas_at(&r, 290.0);
    assert!(before >= 2, "the load scales out: {before}");
    assert_eq!(
        replicas_at(&calm, 600.0),
        replicas_at(&calm, 290.0),
        "no outage: steady"
    );
    // 20 s for the reports to drop, 60 s of delay, one step per decision.
    assert_eq!(
        replicas_at(&r, 500.0),
        1,
        "stepped down to min in the outage"
    );
    assert_eq!(replicas_at(&r, 890.0), 1);
    assert!(replicas_at(&r, 1150.0) >= 2, "back up after the outage");
}

#[test]
fn keda_paused_scale_out_and_paused_hold_through_a_burst() {
    // autoscaling.keda.sh/paused-scale-out: the HPA's scale-up is Disabled,
    // so the burst that scales the free ScaledObject out leaves it at one
    // replica; autoscaling.keda.sh/paused holds the count it has.
    let trace = burst_then_lull(8.0, 300.0, 600.0);
    let free = run_trace(&trace, &fleet(1, 2.0, &keda(""), "")).unwrap();
    assert!(peak_replicas(&free) >= 3, "{}", peak_replicas(&free));
    for knob in ["paused_scale_out = true", "paused = true"] {
        let r = run_trace(&trace, &fleet(1, 2.0, &keda(knob), "")).unwrap();
        assert_eq!(peak_replicas(&r), 1, "{knob}");
        assert_eq!(r.summary.fleet.replicas_started, 0, "{knob}");
    }
}

#[test]
fn keda_force_activation_keeps_a_replica_through_a_lull() {
    // min 0 and a 60 s cooldown: after 30 s of traffic and nothing until
    // 890 s, the ScaledObject deactivates and scales to zero; with
    // autoscaling.keda.sh/force-activation it acts as active and keeps one.
    let mut trace = String::from("time_s,input_tokens,output_tokens\n");
    for i in 0..30 {
        trace.push_str(&format!("{i}.0,1500,200\n"));
    }
    trace.push_str("890.0,1500,200\n");
    let knobs = |extra: &str| {
        format!(
            "{}\nmin_replicas = 0\n{extra}",
            keda("").replace("min_replicas = 1\n", "")
        )
    };
    let free = run_trace(&trace, &fleet(1, 2.0, &knobs(""), "")).unwrap();
    let forced = run_trace(
        &trace,
        &fleet(1, 2.0, &knobs("force_activation = true"), ""),
    )
    .unwrap();
    assert_eq!(
        replicas_at(&free, 600.0),
        0,
        "deactivated after the cooldown"
    );
    assert_eq!(replicas_at(&forced, 600.0), 1, "force-activation keeps one");
    assert_eq!(forced.summary.fleet.replicas_started, 0);
}

#[test]
fn keda_scaling_modifiers_combine_triggers_and_fall_back_by_formula() {
    // Two named triggers under scalingModifiers: `running / 2` against a
    // composite target of 2 per replica asks for what the single trigger
    // on running requests at 4 per replica asks for, row by row.
    let trace = burst_then_lull(8.0, 300.0, 900.0);
    let triggers = "triggers = [{ name = \"running\", trigger_metric = \"num_requests_running\" }, { name = \"waiting\", trigger_metric = \"num_requests_waiting\" }]";
    let composite = |modifiers: &str, extra: &str| {
        format!("kind = \"keda\"\nmin_replicas = 1\nmax_replicas = 8\ncooldown_period_s = 60\n{triggers}\nscaling_modifiers = {modifiers}\n{extra}")
    };
    let single = run_trace(&trace, &fleet(1, 2.0, &keda(""), "")).unwrap();
    let half = composite("{ formula = \"running / 2\", target = \"2\" }", "");
    let combined = run_trace(&trace, &fleet(1, 2.0, &half, "")).unwrap();
    let counts = |r: &RunResult| -> Vec<u32> {
        (r.timeseries.iter())
            .map(|w| w.replicas + w.replicas_starting)
            .collect()
    };
    assert!(peak_replicas(&single) >= 3);
    assert_eq!(counts(&combined), counts(&single));
    // The metrics source is down from 400 s to 800 s. Under
    // `fallback.behavior = "scalingModifiers"` a trigger past its failure
    // threshold reads as nil, so `running ?? 24` is 24: 24 / 4 = 6
    // replicas (not the fallback's 2, which serves only a formula that is
    // nil as a whole), where the single trigger without a fallback holds.
    let outage = "[scaling.scrape]\noutages = [{ start_s = 400, end_s = 800 }]";
    let fb = "fallback = { failure_threshold = 3, replicas = 2, behavior = \"scalingModifiers\" }";
    let by_formula = composite("{ formula = \"running ?? 24\", target = \"4\" }", fb);
    let r = run_trace(&trace, &fleet(1, 2.0, &by_formula, outage)).unwrap();
    let plain = run_trace(&trace, &fleet(1, 2.0, &keda(""), outage)).unwrap();
    let before = replicas_at(&plain, 395.0);
    assert!(before < 6, "the lull wants fewer than 6: {before}");
    for t in [500.0, 650.0, 790.0] {
        assert_eq!(replicas_at(&r, t), 6, "formula fallback at {t} s");
        assert_eq!(replicas_at(&plain, t), before, "no fallback: held at {t} s");
    }
    // Without a formula the behavior is rejected, as KEDA's webhook does,
    // and a formula naming no trigger is an error naming the key.
    let no_formula = format!("{}\n{fb}", keda(""));
    let e = run_trace(&trace, &fleet(1, 2.0, &no_formula, "")).unwrap_err();
    assert!(e.contains("requires scalingModifiers.formula"), "{e}");
    let unknown = composite("{ formula = \"queue + 1\", target = \"2\" }", "");
    let e = run_trace(&trace, &fleet(1, 2.0, &unknown, "")).unwrap_err();
    assert!(
        e.contains("scaling.scaling_modifiers") && e.contains("unknown name queue"),
        "{e}"
    );
}

#[test]
fn readiness_reaches_the_autoscaler_through_a_metrics_outage() {
    // Knative's KPA counts ready pods from the endpoints, not the metrics
    // source, and scales up at most `max_scale_up_rate` × ready pods per
    // decision. Under a load that wants about five, one replica asks for
    // two at the first sync (2 s); the metrics source is down from 5 s to
    // 60 s, so the decider works on the stable window's data from before
    // it. The second replica is ready at 12 s (10 s cold start): with
    // readiness current the bound doubles as each step becomes ready (2 →
    // 4 → 5 by 30 s), where readiness read from the last scrape before the
    // outage kept the bound at 2 until the outage ended.
    let kpa = "kind = \"kpa\"\nmin_replicas = 1\nmax_replicas = 10\ntarget = 10\ntarget_utilization_percentage = 100\nmax_scale_up_rate = 2";
    let outage = "[scaling.scrape]\noutages = [{ start_s = 5, end_s = 60 }]";
    let trace = steady(20, 90, 1500, 200);
    let r = run_trace(&trace, &fleet(1, 2.0, kpa, outage)).unwrap();
    let series: Vec<(f64, u32)> = (r.timeseries.iter())
        .map(|w| (w.end.as_secs_f64(), w.replicas + w.replicas_starting))
        .collect();
    println!("replicas by row end: {series:?}");
    assert_eq!(replicas_at(&r, 4.0), 2, "one doubling before the outage");
    let mid = replicas_at(&r, 50.0);
    assert!(
        mid > 4,
        "ready pods seen during the outage let it grow: {mid}"
    );
    // The same run without the outage grows no slower.
    let calm = run_trace(&trace, &fleet(1, 2.0, kpa, "")).unwrap();
    assert!(replicas_at(&calm, 50.0) >= mid);
}

#[test]
fn keda_fallback_brings_a_deployment_up_from_zero_through_its_polls() {
    // A ScaledObject at zero replicas whose metrics source is down from
    // 1 s (no request arrives before 100 s): the HPA is disabled at zero
    // and reads nothing, so only the scale loop's polls (every 5 s) count
    // the failures; past `failure_threshold = 1` the fallback makes the
    // ScaledObject active, the executor starts one replica and the HPA
    // asks for the fallback's 3 (upstream's e2e TestFallbackFromZero).
    let knobs = "min_replicas = 0\npolling_interval_s = 5\nfallback = { failure_threshold = 1, replicas = 3 }";
    let scaling = format!(
        "kind = \"keda\"\nmax_replicas = 5\ntrigger_metric = \"num_requests_running\"\nthreshold = 4\ncooldown_period_s = 60\n{knobs}"
    );
    let outage = "[scaling.scrape]\noutages = [{ start_s = 1, end_s = 1000 }]";
    let mut trace = String::from("time_s,input_tokens,output_tokens\n");
    for t in 100..200 {
        trace.push_str(&format!("{t},100,20\n"));
    }
    let r = run_trace(&trace, &fleet(0, 2.0, &scaling, outage)).unwrap();
    assert_eq!(replicas_at(&r, 5.0), 0, "before the second failed poll");
    assert_eq!(replicas_at(&r, 60.0), 3, "the fallback count");
    assert_eq!(r.summary.fleet.replicas_started, 3);
    // Without a fallback the polls' errors keep it at zero: KEDA has no
    // activator, so the requests wake nothing.
    let plain = scaling.replace("fallback = { failure_threshold = 1, replicas = 3 }", "");
    let p = run_trace(&trace, &fleet(0, 2.0, &plain, outage)).unwrap();
    assert_eq!(p.summary.fleet.replicas_started, 0);
}
