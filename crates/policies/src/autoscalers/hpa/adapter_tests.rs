//! Tests of the HPA adapter (`adapter.rs`).

use super::*;
use crate::autoscalers::adapter::testing::*;
use fleetsim_core::autoscale::{MetricsStore, PodPhase as P, PodSample};
use fleetsim_core::Autoscaler;

fn waiting(target: f64) -> HpaMetric {
    HpaMetric::NumRequestsWaiting {
        target_average_value: target,
    }
}

fn config(metrics: Vec<HpaMetric>) -> HpaAutoscalerConfig {
    HpaAutoscalerConfig {
        metrics,
        ..serde_json::from_str("{}").unwrap()
    }
}

fn pods_waiting(w: &[u32]) -> Vec<PodSample> {
    (0..).zip(w).map(|(i, &w)| ready(i, 1, w, 0.5)).collect()
}

fn decide(a: &mut dyn Autoscaler, t: f64, desired: u32, pods: Vec<PodSample>) -> u32 {
    let mut store = MetricsStore::default();
    record(&mut store, [scrape(t, pods, 0)]);
    a.desired_replicas(&store.observe(at(t), SimDuration::ZERO, desired))
}

#[test]
fn defaults_and_sync() {
    let c: HpaAutoscalerConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(
        (c.min_replicas, c.max_replicas, c.sync_period_s),
        (1, 10, 15)
    );
    assert_eq!(c.metrics, default_hpa_metrics());
    let a = c.build().unwrap();
    assert_eq!(a.sync_period(), SimDuration::from_secs(15));
    assert_eq!(a.replica_bounds(), (1, 10));
}

#[test]
fn per_metric_decisions() {
    let gpu = HpaMetric::GpuBusyFraction {
        target_utilization_percent: 80,
    };
    // (metrics, desired now, per-pod waiting, expected)
    let cases: Vec<(Vec<HpaMetric>, u32, Vec<u32>, u32)> = vec![
        // avg 5.33 at target 5: ratio 1.07, inside the 10 % band.
        (vec![waiting(5.0)], 3, vec![5, 5, 6], 3),
        // avg 10 at target 5 → ceil(2 · 3) = 6.
        (vec![waiting(5.0)], 3, vec![10, 10, 10], 6),
        // gpu 50 % of 80 → ceil(0.625 · 3) = 2 (legacy path: stored
        // recommendations start at the current 3, so held at 3).
        (vec![gpu.clone()], 3, vec![0, 0, 0], 3),
        // Two metrics: max(waiting → 6, gpu → held 3).
        (vec![gpu, waiting(5.0)], 3, vec![10, 10, 10], 6),
    ];
    for (metrics, desired, w, want) in cases {
        let mut a = config(metrics.clone()).build().unwrap();
        assert_eq!(
            decide(a.as_mut(), 0.0, desired, pods_waiting(&w)),
            want,
            "{metrics:?} {w:?}"
        );
    }
}

/// `groupPods` takes its pods from the lister and their samples from
/// the metrics API: a pod gone since the scrape keeps its sample among
/// the samples but does not count.
#[test]
fn pods_come_from_the_listing_and_samples_from_the_scrape() {
    use fleetsim_core::autoscale::PodStatus as Listed;
    let listed = |ids: &[u32]| -> Vec<Listed> {
        (ids.iter())
            .map(|&replica| Listed {
                replica,
                phase: P::Ready,
                created: at(0.0),
                ready_since: Some(at(50.0)),
            })
            .collect()
    };
    let mut store = MetricsStore::default();
    record(&mut store, [scrape(200.0, pods_waiting(&[10, 10]), 0)]);
    // (pods listed now, expected), with 2 replicas asked for.
    let cases: [(&[u32], u32); 2] = [
        // Both listed: avg 10 at target 5 → ceil(2 · 2) = 4.
        (&[0, 1], 4),
        // Pod 1 gone since the scrape: its sample still averages in
        // (ratio 2) but only pod 0 counts → ceil(2 · 1) = 2.
        (&[0], 2),
    ];
    for (ids, want) in cases {
        let mut a = config(vec![waiting(5.0)]).build().unwrap();
        let pods = listed(ids);
        let obs = store
            .observe(at(200.0), SimDuration::ZERO, 2)
            .with_pods(&pods);
        assert_eq!(a.desired_replicas(&obs), want, "listed {ids:?}");
    }
}

#[test]
fn starting_pods_are_unready_and_draining_pods_ignored() {
    let mut a = config(vec![waiting(5.0)]).build().unwrap();
    // Two ready pods at 10 waiting and two starting: on a scale-up the
    // unready pods count as 0 → avg 5 → ratio 1 → hold at 4.
    let mut pods = pods_waiting(&[10, 10]);
    pods.extend([starting(2), starting(3)]);
    assert_eq!(decide(a.as_mut(), 0.0, 4, pods), 4);
    // A draining pod's queue is ignored: 2 ready at 5 → hold 2.
    let mut b = config(vec![waiting(5.0)]).build().unwrap();
    let mut pods = pods_waiting(&[5, 5]);
    pods.push(PodSample {
        phase: P::Draining,
        ..ready(9, 0, 100, 0.0)
    });
    assert_eq!(decide(b.as_mut(), 0.0, 2, pods), 2);
}

#[test]
fn legacy_stabilization_holds_scale_down_for_300_s() {
    let mut a = config(vec![waiting(5.0)]).build().unwrap();
    assert_eq!(decide(a.as_mut(), 0.0, 3, pods_waiting(&[10, 10, 10])), 6);
    // Load falls: avg 1 → ceil(0.2 · 6) = 2, held by the 6 at t = 0
    // while it is at most 300 s old.
    let low = || pods_waiting(&[1, 1, 1, 1, 1, 1]);
    assert_eq!(decide(a.as_mut(), 150.0, 6, low()), 6);
    assert_eq!(decide(a.as_mut(), 300.0, 6, low()), 6);
    assert_eq!(decide(a.as_mut(), 301.0, 6, low()), 2);
}

#[test]
fn behavior_path_rate_limits_scale_up() {
    let c = HpaAutoscalerConfig {
        behavior: Some(BehaviorConfig::default()),
        ..config(vec![waiting(1.0)])
    };
    let mut a = c.build().unwrap();
    // Wants 20 from 2: max(+4 pods, +100 %) per 15 s → 6.
    assert_eq!(decide(a.as_mut(), 0.0, 2, pods_waiting(&[10, 10])), 6);
}

#[test]
fn kubernetes_spelled_behavior_rate_limits_scale_up() {
    let c: HpaAutoscalerConfig = toml::from_str(
        "metrics = [{ metric = \"num_requests_waiting\", target_average_value = 1.0 }]\n\
         behavior = { scaleUp = { policies = [{ type = \"Pods\", value = 1, periodSeconds = 60 }] } }\n",
    )
    .unwrap();
    let mut a = c.build().unwrap();
    // Wants 20 from 2; one pod per 60 s → 3, where the default
    // max(+4 pods, +100 %) would give 6.
    assert_eq!(decide(a.as_mut(), 0.0, 2, pods_waiting(&[10, 10])), 3);
}

#[test]
fn no_scrape_holds() {
    let mut a = config(vec![waiting(5.0)]).build().unwrap();
    let store = MetricsStore::default();
    assert_eq!(
        a.desired_replicas(&store.observe(at(20.0), SimDuration::ZERO, 4)),
        4
    );
}

fn external(json: &str) -> HpaMetric {
    serde_json::from_str(json).unwrap()
}

/// Scrapes at 0 and 30 s of `ready` pods: `rps` arrivals per second and,
/// between them, 20 requests completed with TTFT `ttft_ms` each.
fn windowed(ready: u32, rps: u64, ttft_ms: u64) -> MetricsStore {
    let mut store = MetricsStore::default();
    let take = |store: &mut MetricsStore, t: u64| {
        let mut s = scrape(t as f64, pods_waiting(&vec![0; ready as usize]), 0);
        s.arrivals_total = rps * t;
        s.served = store.served();
        record(store, [s]);
    };
    take(&mut store, 0);
    for _ in 0..20 {
        store.note_completion(1000, 100, ttft_ms * 1_000_000, None);
    }
    take(&mut store, 30);
    store
}

#[test]
fn external_metrics_on_observed_rates_and_latency() {
    let decide_on = |m: &str, store: &MetricsStore, desired: u32| {
        let mut a = config(vec![external(m)]).build().unwrap();
        a.desired_replicas(&store.observe(at(30.0), SimDuration::ZERO, desired))
    };
    // TTFT 0.9 s in (0.75, 1]: p95 = 0.75 + 0.25 · 0.95 = 0.9875 s, at
    // a 0.5 s Value target r = 1.975 → ceil(1.975 · 3 ready) = 6.
    let slow = windowed(3, 10, 900);
    let p95 = r#"{"metric":"ttft_p95_s","target_value":0.5}"#;
    assert_eq!(decide_on(p95, &slow, 3), 6);
    // Fast requests (p95 0.25 · 0.95 / 1 → 0.2375 s): r = 0.475, down
    // to ceil(1.425) = 2, held by the legacy 300 s stabilization at 3.
    assert_eq!(decide_on(p95, &windowed(3, 10, 200), 3), 3);
    // 45 req/s at an AverageValue of 10 per replica: ceil(4.5) = 5
    // (within the legacy scale-up limit max(2 · 3, 4)).
    let rate = r#"{"metric":"request_rate","target_average_value":10}"#;
    assert_eq!(decide_on(rate, &windowed(3, 45, 100), 3), 5);
    // 20 · 100 generation tokens in 30 s = 66.7/s; target 20 per
    // replica → ceil(3.33) = 4.
    let gen = r#"{"metric":"generation_tokens_per_s","target_average_value":20}"#;
    assert_eq!(decide_on(gen, &slow, 3), 4);
    // p50 of the slow ones: 0.75 + 0.25 · 0.5 = 0.875 s; Value 0.25 →
    // r = 3.5 → ceil(3.5 · 3) = 11, limited to max(2 · 3, 4) = 6.
    let p50 = r#"{"metric":"ttft_quantile_s","quantile":0.5,"target_value":0.25}"#;
    assert_eq!(decide_on(p50, &slow, 3), 6);
    // p95 at 0.99 s against a 1 s target: within the 10 % band, held.
    let p95_1s = r#"{"metric":"ttft_p95_s","target_value":1}"#;
    assert_eq!(decide_on(p95_1s, &slow, 3), 3);
    // Inter-token latency: 20 requests of 100 tokens at a mean 60 ms,
    // 1,980 intervals in (0.05, 0.075]: p95 = 0.05 + 0.025 · 0.95 =
    // 0.07375 s; at a 0.05 s target r = 1.475 → ceil(1.475 · 2) = 3.
    let mut decode = MetricsStore::default();
    let take = |store: &mut MetricsStore, t: u64| {
        let mut s = scrape(t as f64, pods_waiting(&[0, 0]), 0);
        s.served = store.served();
        record(store, [s]);
    };
    take(&mut decode, 0);
    for _ in 0..20 {
        decode.note_completion(1000, 100, 100_000_000, Some(60_000_000));
    }
    take(&mut decode, 30);
    let itl = r#"{"metric":"itl_p95_s","target_value":0.05}"#;
    assert_eq!(decide_on(itl, &decode, 2), 3);
    // A window with one scrape has no rate: the metric is invalid and
    // the count is held.
    let short = r#"{"metric":"request_rate","target_average_value":10,"window_s":20}"#;
    assert_eq!(decide_on(short, &windowed(2, 45, 100), 2), 2);
    // The longest window sets the lookback.
    let long = config(vec![external(
        r#"{"metric":"prompt_tokens_per_s","target_average_value":1000,"window_s":1200}"#,
    )]);
    assert_eq!(
        long.default_metrics().lookback,
        SimDuration::from_secs(1200)
    );
}

#[test]
fn bad_external_metrics_name_the_field() {
    // (metric, fragment)
    let cases = [
        (
            r#"{"metric":"request_rate"}"#,
            "metrics[0].target_value: set exactly one",
        ),
        (
            r#"{"metric":"request_rate","target_value":1,"target_average_value":1}"#,
            "set exactly one",
        ),
        (
            r#"{"metric":"ttft_p95_s","target_value":-0.5}"#,
            "metrics[0].target_value: must be > 0",
        ),
        (
            r#"{"metric":"request_rate","target_value":1,"window_s":0}"#,
            "metrics[0].window_s: must be in 1..=3600",
        ),
        (
            r#"{"metric":"ttft_quantile_s","target_value":1}"#,
            "metrics[0].quantile: ttft_quantile_s needs a quantile",
        ),
        (
            r#"{"metric":"ttft_quantile_s","target_value":1,"quantile":0}"#,
            "must be in (0, 1]",
        ),
        (
            r#"{"metric":"ttft_p95_s","target_value":1,"quantile":0.9}"#,
            "only ttft_quantile_s takes a quantile",
        ),
    ];
    for (m, frag) in cases {
        let e = config(vec![external(m)]).build().expect_err(m).to_string();
        assert!(
            e.contains("invalid metrics") && e.contains(frag),
            "{m}: {e}"
        );
    }
    let unknown =
        serde_json::from_str::<HpaMetric>(r#"{"metric":"ttft_p95_s","target_value":1,"target":2}"#);
    assert!(unknown
        .unwrap_err()
        .to_string()
        .contains("unknown field `target`"));
}

#[test]
fn bad_knobs_name_the_rule() {
    let gpu0 = HpaMetric::GpuBusyFraction {
        target_utilization_percent: 0,
    };
    // (config, knob, fragment)
    let cases = [
        (
            HpaAutoscalerConfig {
                min_replicas: 0,
                ..config(vec![waiting(5.0)])
            },
            "min_replicas",
            "HPAScaleToZero",
        ),
        (
            HpaAutoscalerConfig {
                min_replicas: 5,
                max_replicas: 4,
                ..config(vec![waiting(5.0)])
            },
            "min_replicas",
            "maxReplicas must be greater than or equal to minReplicas",
        ),
        (config(vec![]), "metrics", "at least one metric"),
        (
            config(vec![gpu0]),
            "metrics[0].target_utilization_percent",
            "averageUtilization must be greater than 0",
        ),
        (
            config(vec![waiting(-1.0)]),
            "metrics[0].target_average_value",
            "averageValue must be positive",
        ),
        (
            HpaAutoscalerConfig {
                downscale_stabilization_s: 4000,
                ..config(vec![waiting(5.0)])
            },
            "downscale_stabilization_s",
            "3600",
        ),
    ];
    for (c, knob, frag) in cases {
        let e = c.build().expect_err(knob).to_string();
        assert!(e.contains(knob) && e.contains(frag), "{knob}: {e}");
    }
}
