use super::*;
use crate::model::hardware;
use rand::RngCore;

const TB: u64 = 1_000_000_000_000;

fn assert_close(got: f64, expect: f64, rel: f64, what: &str) {
    let tol = rel * expect.abs().max(1e-300);
    assert!(
        (got - expect).abs() <= tol,
        "{what}: got {got}, expected {expect} (±{tol})"
    );
}

fn secs(s: f64) -> SimDuration {
    SimDuration::try_from_secs_f64(s).unwrap()
}

fn llama_8b_h100() -> Artifacts {
    Artifacts::new(
        hardware::model("llama-3.1-8b").unwrap(),
        2.0,
        hardware::gpu("h100-sxm").unwrap(),
        1,
    )
    .unwrap()
}

fn artifacts(key: &str, bytes: u64) -> Artifacts {
    Artifacts {
        weights_key: key.to_string(),
        weights_bytes: bytes,
        engine: EngineKey {
            model: key.to_string(),
            gpu: "h100-sxm".to_string(),
            tensor_parallel: 1,
        },
    }
}

fn fixed_bw(gb_per_s: f64) -> BandwidthDist {
    BandwidthDist::Fixed { gb_per_s }
}

/// Every stage fixed, so durations can be computed by hand:
/// pull 10 GB / 0.1 + 10 GB / 0.2 = 150 s; 16 GB of weights take 4 s
/// from NVMe, 8 s from the datacenter cache, 16 s from the object store,
/// 64 s from the hub; startup 30 s cached, 90 s uncached.
fn fixed_config(source: WeightTier) -> ColdStartConfig {
    ColdStartConfig {
        image: "img".to_string(),
        image_gb: 10.0,
        pull_bandwidth: fixed_bw(0.1),
        extract_gb_per_s: 0.2,
        weight_source: source,
        tiers: WeightTiers {
            node_nvme: fixed_bw(4.0),
            datacenter_cache: fixed_bw(2.0),
            object_store: fixed_bw(1.0),
            hub: fixed_bw(0.25),
        },
        engine_startup_cached: DurationDist::Fixed { value_s: 30.0 },
        engine_startup_uncached: DurationDist::Fixed { value_s: 90.0 },
        warmup: WarmupConfig::none(),
    }
}

const W16: u64 = 16_000_000_000;

fn check_duration_quantile(dist: DurationDist, p: f64, expect_s: f64) {
    assert_close(
        dist.quantile_s(p),
        expect_s,
        1e-12,
        &format!("{dist:?} at {p}"),
    );
}

#[test]
fn duration_quantiles_are_hand_computed() {
    let ln = |median_s, p99_s| DurationDist::Lognormal { median_s, p99_s };
    let emp = |v: &[f64]| DurationDist::Empirical {
        values_s: v.to_vec(),
    };
    check_duration_quantile(DurationDist::Fixed { value_s: 42.0 }, 0.3, 42.0);
    check_duration_quantile(DurationDist::Fixed { value_s: 42.0 }, 0.999, 42.0);
    check_duration_quantile(ln(100.0, 400.0), 0.5, 100.0);
    check_duration_quantile(ln(100.0, 400.0), 0.99, 400.0);
    // Symmetric in the log: p1 = median² / p99.
    check_duration_quantile(ln(100.0, 400.0), 0.01, 25.0);
    // p99 = median: no spread.
    check_duration_quantile(ln(60.0, 60.0), 0.999, 60.0);
    // Empirical: rank floor(p·n) of the sorted list [1, 2, 3, 5].
    check_duration_quantile(emp(&[5.0, 1.0, 3.0, 2.0]), 0.0, 1.0);
    check_duration_quantile(emp(&[5.0, 1.0, 3.0, 2.0]), 0.24, 1.0);
    check_duration_quantile(emp(&[5.0, 1.0, 3.0, 2.0]), 0.25, 2.0);
    check_duration_quantile(emp(&[5.0, 1.0, 3.0, 2.0]), 0.5, 3.0);
    check_duration_quantile(emp(&[5.0, 1.0, 3.0, 2.0]), 0.99, 5.0);
    check_duration_quantile(emp(&[5.0, 1.0, 3.0, 2.0]), 1.0, 5.0);
    assert_eq!(ln(240.0, 840.0).median(), SimDuration::from_secs(240));
}

#[test]
fn bandwidth_quantiles_and_transfer_times_are_hand_computed() {
    let bw = BandwidthDist::Lognormal {
        median_gb_per_s: 2.0,
        p1_gb_per_s: 0.5,
    };
    assert_close(bw.quantile_gb_per_s(0.01), 0.5, 1e-12, "p1");
    assert_close(bw.quantile_gb_per_s(0.5), 2.0, 1e-12, "median");
    assert_close(bw.quantile_gb_per_s(0.99), 8.0, 1e-12, "p99");
    // The slow tail of the time is the slow tail of the bandwidth.
    assert_eq!(
        bw.transfer_time_at(8_000_000_000, 0.5),
        SimDuration::from_secs(4)
    );
    assert_eq!(
        bw.transfer_time_at(8_000_000_000, 0.99),
        SimDuration::from_secs(16)
    );
    assert_eq!(
        bw.transfer_time_at(8_000_000_000, 0.01),
        SimDuration::from_secs(1)
    );
    assert_eq!(
        fixed_bw(0.1).transfer_time_at(10_000_000_000, 0.7),
        SimDuration::from_secs(100)
    );
    let emp = BandwidthDist::Empirical {
        values_gb_per_s: vec![4.0, 1.0, 2.0],
    };
    // Time quantile 0.9 is bandwidth quantile 0.1: the slowest.
    assert_eq!(
        emp.transfer_time_at(4_000_000_000, 0.9),
        SimDuration::from_secs(4)
    );
    assert_eq!(
        emp.transfer_time_at(4_000_000_000, 0.1),
        SimDuration::from_secs(1)
    );
    assert_eq!(transfer_time(0, 0.0), SimDuration::ZERO);
    assert_eq!(transfer_time(1, 0.0), secs(MAX_STAGE_S));
    assert_eq!(transfer_time(1, f64::NAN), secs(MAX_STAGE_S));
    assert_eq!(transfer_time(u64::MAX, 1e-12), secs(MAX_STAGE_S));
}

/// Sorted sample quantile at `p` (rank ⌈p·n⌉ − 1).
fn sample_quantile(sorted: &[f64], p: f64) -> f64 {
    sorted[((p * sorted.len() as f64).ceil() as usize).saturating_sub(1)]
}

#[test]
fn lognormal_median_and_tail_are_recovered_from_100k_samples() {
    const N: usize = 100_000;
    // Standard errors at N = 100k: ~0.2 % (median), ~0.7 % (p99 / p1).
    let dist = DurationDist::Lognormal {
        median_s: 240.0,
        p99_s: 840.0,
    };
    let mut rng = provisioning_rng(11, 0);
    let mut xs: Vec<f64> = (0..N)
        .map(|_| dist.sample(&mut rng).as_secs_f64())
        .collect();
    xs.sort_by(f64::total_cmp);
    assert_close(sample_quantile(&xs, 0.5), 240.0, 0.015, "duration median");
    assert_close(sample_quantile(&xs, 0.99), 840.0, 0.03, "duration p99");

    let bw = BandwidthDist::Lognormal {
        median_gb_per_s: 2.0,
        p1_gb_per_s: 0.75,
    };
    let mut rng = rng::stream(11, LOAD_STREAM, 0);
    let mut ys: Vec<f64> = (0..N).map(|_| bw.sample_gb_per_s(&mut rng)).collect();
    ys.sort_by(f64::total_cmp);
    assert_close(sample_quantile(&ys, 0.5), 2.0, 0.015, "bandwidth median");
    assert_close(sample_quantile(&ys, 0.01), 0.75, 0.03, "bandwidth p1");
    // And the transfer time of 16 GB has its p99 at 16 / 0.75 s.
    let mut rng = rng::stream(11, LOAD_STREAM, 1);
    let mut ts: Vec<f64> = (0..N)
        .map(|_| bw.sample_transfer_time(W16, &mut rng).as_secs_f64())
        .collect();
    ts.sort_by(f64::total_cmp);
    assert_close(sample_quantile(&ts, 0.99), 16.0 / 0.75, 0.03, "time p99");
    assert_close(sample_quantile(&ts, 0.5), 8.0, 0.015, "time median");
}

#[test]
fn every_sample_consumes_exactly_one_draw() {
    let dists = [
        DurationDist::Fixed { value_s: 1.0 },
        default_provisioning_time(),
        DurationDist::Empirical {
            values_s: vec![1.0, 2.0],
        },
    ];
    for d in dists {
        let mut a = rng::stream(3, ENGINE_STREAM, 0);
        let mut b = a.clone();
        d.sample(&mut a);
        b.next_u64();
        assert_eq!(a.next_u64(), b.next_u64(), "{d:?}");
    }
    for bw in [fixed_bw(1.0), ColdStartConfig::default().tiers.hub] {
        let mut a = rng::stream(3, LOAD_STREAM, 0);
        let mut b = a.clone();
        bw.sample_transfer_time(W16, &mut a);
        b.next_u64();
        assert_eq!(a.next_u64(), b.next_u64(), "{bw:?}");
    }
}

struct StageCase {
    source: WeightTier,
    image_cached: bool,
    weights_cached: bool,
    engine_cached: bool,
    pull_s: u64,
    load_s: u64,
    startup_s: u64,
    tier: WeightTier,
}

#[test]
fn stage_durations_with_fixed_distributions() {
    use WeightTier::*;
    let case = |source,
                (image_cached, weights_cached, engine_cached),
                (pull_s, load_s, startup_s),
                tier| StageCase {
        source,
        image_cached,
        weights_cached,
        engine_cached,
        pull_s,
        load_s,
        startup_s,
        tier,
    };
    let cases = [
        case(Hub, (false, false, false), (150, 64, 90), Hub),
        case(
            ObjectStore,
            (false, false, false),
            (150, 16, 90),
            ObjectStore,
        ),
        case(
            DatacenterCache,
            (false, false, false),
            (150, 8, 90),
            DatacenterCache,
        ),
        // A remote source of node_nvme means "weights are on every disk".
        case(NodeNvme, (false, false, false), (150, 4, 90), NodeNvme),
        case(Hub, (true, false, false), (0, 64, 90), Hub),
        case(Hub, (true, true, false), (0, 4, 90), NodeNvme),
        case(Hub, (true, true, true), (0, 4, 30), NodeNvme),
        case(
            ObjectStore,
            (false, false, true),
            (150, 16, 30),
            ObjectStore,
        ),
    ];
    for c in cases {
        let cfg = fixed_config(c.source);
        let art = artifacts("m", W16);
        let mut caches = NodeCaches::new(TB);
        if c.image_cached {
            caches.images.insert("img".to_string());
        }
        if c.weights_cached {
            caches.weights.insert("m", W16);
        }
        if c.engine_cached {
            caches.engines.insert(art.engine.clone());
        }
        let plan = cfg.plan(&art, &mut caches, &mut ColdStartRngs::new(1, 0));
        let what = format!(
            "source {:?}, cached (image, weights, engine) = ({}, {}, {})",
            c.source, c.image_cached, c.weights_cached, c.engine_cached
        );
        assert_eq!(plan.pull, SimDuration::from_secs(c.pull_s), "{what}");
        assert_eq!(plan.load, SimDuration::from_secs(c.load_s), "{what}");
        assert_eq!(plan.startup, SimDuration::from_secs(c.startup_s), "{what}");
        assert_eq!(plan.weight_tier_used, c.tier, "{what}");
        assert_eq!(
            (plan.image_hit, plan.weight_hit, plan.engine_hit),
            (c.image_cached, c.weights_cached, c.engine_cached),
            "{what}"
        );
        assert_eq!(
            plan.total(),
            SimDuration::from_secs(c.pull_s + c.load_s + c.startup_s),
            "{what}"
        );
        // Everything is cached afterwards.
        assert!(
            caches.images.contains("img") && caches.weights.contains("m"),
            "{what}"
        );
        assert!(caches.engines.contains(&art.engine), "{what}");
    }
}

#[test]
fn second_replica_on_a_node_hits_every_cache() {
    let cfg = fixed_config(WeightTier::Hub);
    let art = artifacts("m", W16);
    let mut caches = NodeCaches::new(TB);
    let first = cfg.plan(&art, &mut caches, &mut ColdStartRngs::new(1, 0));
    let second = cfg.plan(&art, &mut caches, &mut ColdStartRngs::new(1, 1));
    assert!(!first.image_hit && !first.weight_hit && !first.engine_hit);
    assert!(second.image_hit && second.weight_hit && second.engine_hit);
    assert_eq!(second.pull, SimDuration::ZERO);
    assert_eq!(second.load, SimDuration::from_secs(4)); // NVMe, not hub
    assert_eq!(second.startup, SimDuration::from_secs(30));
    assert_eq!(
        second.stages(),
        [
            (Stage::PullingImage, SimDuration::ZERO),
            (Stage::LoadingWeights, SimDuration::from_secs(4)),
            (Stage::StartingEngine, SimDuration::from_secs(30)),
        ]
    );
    // Another model on the same node: image hit, weight and engine miss.
    let other = artifacts("n", W16);
    let third = cfg.plan(&other, &mut caches, &mut ColdStartRngs::new(1, 2));
    assert!(third.image_hit && !third.weight_hit && !third.engine_hit);
    assert_eq!(third.total(), SimDuration::from_secs(64 + 90));
    // The same model with another tensor parallel degree needs its own engine.
    let mut tp2 = art.clone();
    tp2.engine.tensor_parallel = 2;
    let fourth = cfg.plan(&tp2, &mut caches, &mut ColdStartRngs::new(1, 3));
    assert!(fourth.weight_hit && !fourth.engine_hit);
}

#[test]
fn weight_hit_loads_at_the_nvme_tier_speed_of_its_draw() {
    // Lognormal tiers: a hit loads at the NVMe quantile of the same draw.
    let cfg = ColdStartConfig::default();
    let art = llama_8b_h100();
    let mut cold = NodeCaches::new(TB);
    let mut warm = NodeCaches::primed(TB, &cfg, &art);
    let miss = cfg.plan(&art, &mut cold, &mut ColdStartRngs::new(5, 9));
    let hit = cfg.plan(&art, &mut warm, &mut ColdStartRngs::new(5, 9));
    let u = open_unit(&mut rng::stream(5, LOAD_STREAM, 9));
    assert_eq!(
        hit.load,
        cfg.tiers.node_nvme.transfer_time_at(art.weights_bytes, u)
    );
    assert_eq!(
        miss.load,
        cfg.tiers
            .object_store
            .transfer_time_at(art.weights_bytes, u)
    );
    assert_eq!(hit.weight_tier_used, WeightTier::NodeNvme);
    assert!(hit.image_hit && !hit.engine_hit);
    // Same luck for the engine on both nodes (both uncached).
    assert_eq!(hit.startup, miss.startup);
}

enum Op {
    Insert(&'static str, u64, bool, &'static [&'static str]),
    Touch(&'static str, bool),
}

fn check_lru(capacity: u64, ops: &[Op], expect_keys: &[&str], expect_used: u64) {
    let mut lru = LruBytes::new(capacity);
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Insert(k, b, cached, evicted) => {
                let got = lru.insert(k, *b);
                assert_eq!(got.cached, *cached, "op {i}: insert {k}");
                assert_eq!(got.evicted, *evicted, "op {i}: insert {k}");
            }
            Op::Touch(k, hit) => assert_eq!(lru.touch(k), *hit, "op {i}: touch {k}"),
        }
        assert!(lru.used_bytes() <= lru.capacity_bytes(), "op {i}");
    }
    assert_eq!(lru.keys().collect::<Vec<_>>(), expect_keys);
    assert_eq!(lru.used_bytes(), expect_used);
    assert_eq!(lru.len(), expect_keys.len());
}

#[test]
fn lru_evicts_least_recently_used_first() {
    use Op::*;
    // Fills, then the oldest goes.
    check_lru(
        10,
        &[
            Insert("a", 4, true, &[]),
            Insert("b", 4, true, &[]),
            Insert("c", 4, true, &["a"]),
        ],
        &["b", "c"],
        8,
    );
    // A use protects an entry.
    check_lru(
        10,
        &[
            Insert("a", 4, true, &[]),
            Insert("b", 4, true, &[]),
            Touch("a", true),
            Insert("c", 4, true, &["b"]),
        ],
        &["a", "c"],
        8,
    );
    // Several go if needed, oldest first; exact fit needs no eviction.
    check_lru(
        10,
        &[
            Insert("a", 3, true, &[]),
            Insert("b", 3, true, &[]),
            Insert("c", 4, true, &[]),
            Insert("d", 6, true, &["a", "b"]),
        ],
        &["c", "d"],
        10,
    );
}

#[test]
fn lru_edge_cases() {
    use Op::*;
    // Too large: not cached, evicts nothing.
    check_lru(
        10,
        &[
            Insert("a", 4, true, &[]),
            Insert("big", 11, false, &[]),
            Touch("big", false),
        ],
        &["a"],
        4,
    );
    // Exactly the capacity fits, evicting everything else.
    check_lru(
        10,
        &[
            Insert("a", 4, true, &[]),
            Insert("b", 4, true, &[]),
            Insert("all", 10, true, &["a", "b"]),
        ],
        &["all"],
        10,
    );
    // Re-inserting a key replaces its size and makes it most recent.
    check_lru(
        10,
        &[
            Insert("a", 4, true, &[]),
            Insert("b", 4, true, &[]),
            Insert("a", 6, true, &[]),
        ],
        &["b", "a"],
        10,
    );
    // Zero capacity caches only empty entries; misses are reported.
    check_lru(
        0,
        &[
            Insert("a", 1, false, &[]),
            Touch("a", false),
            Insert("e", 0, true, &[]),
        ],
        &["e"],
        0,
    );
}

#[test]
fn weights_larger_than_the_disk_are_never_cached() {
    let cfg = fixed_config(WeightTier::ObjectStore);
    let art = artifacts("huge", W16);
    let mut caches = NodeCaches::new(W16 - 1);
    caches.weights.insert("small", 1_000);
    let first = cfg.plan(&art, &mut caches, &mut ColdStartRngs::new(1, 0));
    assert!(!first.weights_cached && first.evicted.is_empty());
    assert_eq!(caches.weights.keys().collect::<Vec<_>>(), ["small"]);
    let second = cfg.plan(&art, &mut caches, &mut ColdStartRngs::new(1, 1));
    assert!(!second.weight_hit);
    assert_eq!(second.load, SimDuration::from_secs(16)); // object store again
    assert!(second.image_hit && second.engine_hit);
}

#[test]
fn a_miss_evicts_older_weights_and_reports_them() {
    let cfg = fixed_config(WeightTier::Hub);
    let mut caches = NodeCaches::new(2 * W16);
    for (i, key) in ["a", "b", "a", "c"].into_iter().enumerate() {
        let plan = cfg.plan(
            &artifacts(key, W16),
            &mut caches,
            &mut ColdStartRngs::new(1, i as u64),
        );
        let expect: &[&str] = if key == "c" { &["b"] } else { &[] };
        assert_eq!(plan.evicted, expect, "replica {i} ({key})");
        assert!(plan.weights_cached);
    }
    assert_eq!(caches.weights.keys().collect::<Vec<_>>(), ["a", "c"]);
}

#[test]
fn same_streams_give_the_same_plan() {
    let cfg = ColdStartConfig::default();
    let art = llama_8b_h100();
    let run = |seed, index| {
        let mut caches = NodeCaches::new(TB);
        let mut rngs = ColdStartRngs::new(seed, index);
        let a = cfg.plan(&art, &mut caches, &mut rngs);
        let b = cfg.plan(&art, &mut caches, &mut rngs);
        (a, b, caches)
    };
    assert_eq!(run(7, 3), run(7, 3));
    assert_ne!(run(7, 3).0, run(7, 4).0);
    assert_ne!(run(7, 3).0, run(8, 3).0);
    let (a, _, _) = run(7, 3);
    assert!(a.pull > SimDuration::ZERO && a.load > SimDuration::ZERO);
}

#[test]
fn a_plan_draws_once_per_stream_whatever_the_caches_hold() {
    let cfg = ColdStartConfig::default();
    let art = llama_8b_h100();
    let mut on_cold = ColdStartRngs::new(2, 0);
    let mut on_warm = on_cold.clone();
    cfg.plan(&art, &mut NodeCaches::new(TB), &mut on_cold);
    let mut warm = NodeCaches::primed(TB, &cfg, &art);
    warm.engines.insert(art.engine.clone());
    cfg.plan(&art, &mut warm, &mut on_warm);
    // Both advanced each stream by exactly one draw.
    let second = |name| {
        let mut r = rng::stream(2, name, 0);
        r.next_u64();
        r.next_u64()
    };
    for (name, a, b) in [
        (PULL_STREAM, &mut on_cold.pull, &mut on_warm.pull),
        (LOAD_STREAM, &mut on_cold.load, &mut on_warm.load),
        (ENGINE_STREAM, &mut on_cold.engine, &mut on_warm.engine),
    ] {
        let expect = second(name);
        assert_eq!(a.next_u64(), expect, "{name}, cold node");
        assert_eq!(b.next_u64(), expect, "{name}, warm node");
    }
}

#[test]
fn plan_at_quantile_is_deterministic_and_leaves_the_caches_alone() {
    let cfg = ColdStartConfig::default();
    let art = llama_8b_h100();
    let caches = NodeCaches::new(TB);
    let before = caches.clone();
    let median = cfg.plan_at_quantile(0.5, &art, &caches);
    assert_eq!(caches, before);
    assert_eq!(median, cfg.plan_at_quantile(0.5, &art, &caches));
    let slow = cfg.plan_at_quantile(0.99, &art, &caches);
    assert!(slow.pull > median.pull && slow.load > median.load && slow.startup > median.startup);
    assert_eq!(slow.startup, SimDuration::from_secs(300));
}

/// The reference's end-to-end anchors for Llama-3.1-8B: on a new node
/// with nothing cached 5–10 min; on a warm node with image, weights and
/// compile cache about 60–90 s. Median path: every stage at its median.
#[test]
fn default_median_paths_meet_the_reference_anchors() {
    let art = llama_8b_h100();
    assert_eq!(art.weights_bytes, 16_060_000_000);
    for source in [
        WeightTier::DatacenterCache,
        WeightTier::ObjectStore,
        WeightTier::Hub,
    ] {
        let cfg = ColdStartConfig {
            weight_source: source,
            ..ColdStartConfig::default()
        };
        let new_node = default_provisioning_time().median()
            + cfg
                .plan_at_quantile(0.5, &art, &NodeCaches::new(TB))
                .total();
        let s = new_node.as_secs_f64();
        assert!((300.0..=600.0).contains(&s), "{source:?}: new node {s} s");

        let mut warm = NodeCaches::primed(TB, &cfg, &art);
        warm.engines.insert(art.engine.clone());
        let plan = cfg.plan_at_quantile(0.5, &art, &warm);
        assert!(plan.image_hit && plan.weight_hit && plan.engine_hit);
        let s = plan.total().as_secs_f64();
        assert!((60.0..=90.0).contains(&s), "{source:?}: warm node {s} s");
    }
    // The figures docs/cold-start.md quotes.
    let cfg = ColdStartConfig::default();
    let plan = cfg.plan_at_quantile(0.5, &art, &NodeCaches::new(TB));
    assert_close(plan.pull.as_secs_f64(), 100.0 + 200.0 / 3.0, 1e-9, "pull");
    assert_close(plan.load.as_secs_f64(), 8.03, 1e-9, "load");
    assert_eq!(plan.startup, SimDuration::from_secs(120));
}

#[test]
fn warmup_window_by_count_or_time() {
    let w = WarmupConfig {
        requests: 3,
        duration_s: 10.0,
        slowdown_factor: 2.0,
        extra_latency_s: 1.5,
    };
    for (k, t_s, factor, extra_s) in [
        (0, 0.0, 2.0, 1.5),
        (2, 100.0, 2.0, 1.5), // third request, late: by count
        (3, 9.999, 2.0, 1.5), // fourth request, early: by time
        (3, 10.0, 1.0, 0.0),  // the window is [0, 10 s)
        (100, 11.0, 1.0, 0.0),
    ] {
        let t = secs(t_s);
        assert_close(
            w.slowdown_factor(k, t),
            factor,
            0.0,
            &format!("k={k} t={t_s}"),
        );
        assert_eq!(w.extra_latency(k, t), secs(extra_s), "k={k} t={t_s}");
    }
    let off = WarmupConfig::none();
    assert!(!off.in_window(0, SimDuration::ZERO));
    let by_time_only = WarmupConfig {
        requests: 0,
        ..w.clone()
    };
    assert!(by_time_only.in_window(0, secs(9.0)) && !by_time_only.in_window(0, secs(10.0)));
    // The default: 2 s on the first request only, no slowdown.
    let d = WarmupConfig::default();
    assert_eq!(
        d.extra_latency(0, SimDuration::ZERO),
        SimDuration::from_secs(2)
    );
    assert_eq!(d.extra_latency(1, SimDuration::ZERO), SimDuration::ZERO);
    assert_close(
        d.slowdown_factor(0, SimDuration::ZERO),
        1.0,
        0.0,
        "default factor",
    );
}

fn check_invalid(edit: impl FnOnce(&mut ColdStartConfig), field: &str, message_part: &str) {
    let mut cfg = ColdStartConfig::default();
    edit(&mut cfg);
    let e = cfg.validate("cold_start").expect_err(field);
    assert_eq!(e.field, field);
    assert!(e.problem.contains(message_part), "{e}");
}

#[test]
fn validation_names_the_field() {
    assert_eq!(ColdStartConfig::default().validate("cold_start"), Ok(()));
    assert_eq!(default_provisioning_time().validate("pool"), Ok(()));
    check_invalid(
        |c| c.image = " ".into(),
        "cold_start.image",
        "name an image",
    );
    check_invalid(|c| c.image_gb = -1.0, "cold_start.image_gb", "≥ 0");
    check_invalid(|c| c.image_gb = f64::NAN, "cold_start.image_gb", "NaN");
    check_invalid(
        |c| {
            c.pull_bandwidth = BandwidthDist::Lognormal {
                median_gb_per_s: 0.1,
                p1_gb_per_s: 0.2,
            }
        },
        "cold_start.pull_bandwidth.p1_gb_per_s",
        "slow tail",
    );
    check_invalid(
        |c| c.extract_gb_per_s = 0.0,
        "cold_start.extract_gb_per_s",
        "> 0",
    );
    check_invalid(
        |c| c.extract_gb_per_s = f64::NAN,
        "cold_start.extract_gb_per_s",
        "> 0",
    );
    check_invalid(
        |c| c.tiers.hub = fixed_bw(-1.0),
        "cold_start.tiers.hub.gb_per_s",
        "> 0",
    );
    check_invalid(
        |c| {
            c.tiers.node_nvme = BandwidthDist::Empirical {
                values_gb_per_s: vec![],
            }
        },
        "cold_start.tiers.node_nvme.values_gb_per_s",
        "at least one",
    );
    check_invalid(
        |c| {
            c.tiers.datacenter_cache = BandwidthDist::Empirical {
                values_gb_per_s: vec![1.0, 0.0],
            }
        },
        "cold_start.tiers.datacenter_cache.values_gb_per_s[1]",
        "> 0",
    );
    check_invalid(
        |c| {
            c.tiers.object_store = BandwidthDist::Lognormal {
                median_gb_per_s: f64::INFINITY,
                p1_gb_per_s: 1.0,
            }
        },
        "cold_start.tiers.object_store.median_gb_per_s",
        "finite",
    );
    check_invalid(
        |c| {
            c.engine_startup_cached = DurationDist::Lognormal {
                median_s: 60.0,
                p99_s: 30.0,
            }
        },
        "cold_start.engine_startup_cached.p99_s",
        "at least median_s",
    );
    check_invalid(
        |c| {
            c.engine_startup_cached = DurationDist::Lognormal {
                median_s: 0.0,
                p99_s: 30.0,
            }
        },
        "cold_start.engine_startup_cached.median_s",
        "> 0",
    );
    check_invalid(
        |c| c.engine_startup_uncached = DurationDist::Empirical { values_s: vec![] },
        "cold_start.engine_startup_uncached.values_s",
        "at least one",
    );
    check_invalid(
        |c| {
            c.engine_startup_uncached = DurationDist::Empirical {
                values_s: vec![10.0, f64::NAN],
            }
        },
        "cold_start.engine_startup_uncached.values_s[1]",
        "NaN",
    );
    check_invalid(
        |c| c.engine_startup_uncached = DurationDist::Fixed { value_s: 0.0 },
        "cold_start.engine_startup_uncached.value_s",
        "> 0",
    );
    check_invalid(
        |c| c.engine_startup_uncached = DurationDist::Fixed { value_s: 1e9 },
        "cold_start.engine_startup_uncached.value_s",
        "≤",
    );
    check_invalid(
        |c| c.warmup.slowdown_factor = 0.5,
        "cold_start.warmup.slowdown_factor",
        "≥ 1",
    );
    check_invalid(
        |c| c.warmup.duration_s = -1.0,
        "cold_start.warmup.duration_s",
        "≥ 0",
    );
    check_invalid(
        |c| c.warmup.extra_latency_s = f64::INFINITY,
        "cold_start.warmup.extra_latency_s",
        "finite",
    );
    // An empty prefix gives the bare field name.
    assert_eq!(
        DurationDist::Fixed { value_s: -2.0 }
            .validate("")
            .map_err(|e| e.field),
        Err("value_s".to_string())
    );
}

#[test]
fn serde_shapes() {
    // What a scenario's [cold_start] table deserialises from (TOML and
    // JSON share the data model; sim-core has no TOML dependency).
    let json = r#"{
            "image": "vllm/vllm-openai:v0.10",
            "image_gb": 12,
            "pull_bandwidth": { "dist": "fixed", "gb_per_s": 0.2 },
            "weight_source": "hub",
            "tiers": { "hub": { "dist": "empirical", "values_gb_per_s": [0.26, 1.5] } },
            "engine_startup_cached": { "dist": "lognormal", "median_s": 40, "p99_s": 90 },
            "warmup": { "requests": 10, "slowdown_factor": 1.5 }
        }"#;
    let cfg: ColdStartConfig = serde_json::from_str(json).unwrap();
    let d = ColdStartConfig::default();
    assert_eq!(cfg.image, "vllm/vllm-openai:v0.10");
    assert_eq!(cfg.image_bytes(), 12_000_000_000);
    assert_eq!(cfg.pull_bandwidth, fixed_bw(0.2));
    assert_eq!(cfg.weight_source, WeightTier::Hub);
    assert_eq!(
        cfg.tiers.hub,
        BandwidthDist::Empirical {
            values_gb_per_s: vec![0.26, 1.5]
        }
    );
    // Omitted fields keep their defaults, at every level.
    assert_eq!(cfg.tiers.object_store, d.tiers.object_store);
    assert_eq!(cfg.engine_startup_uncached, d.engine_startup_uncached);
    assert_close(cfg.extract_gb_per_s, d.extract_gb_per_s, 0.0, "extract");
    assert_close(
        cfg.warmup.extra_latency_s,
        d.warmup.extra_latency_s,
        0.0,
        "extra",
    );
    assert_eq!(cfg.warmup.requests, 10);
    assert_eq!(cfg.validate(""), Ok(()));
    // Round trip.
    let back: ColdStartConfig = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
    assert_eq!(back, d);
    // Typos are errors.
    for bad in [
        r#"{ "image_bytes": 1 }"#,
        r#"{ "warmup": { "request": 1 } }"#,
        r#"{ "tiers": { "s3": { "dist": "fixed", "gb_per_s": 1 } } }"#,
        r#"{ "pull_bandwidth": { "dist": "fixed", "gb_per_s": 1, "p1_gb_per_s": 1 } }"#,
        r#"{ "engine_startup_cached": { "dist": "fixed", "seconds": 1 } }"#,
        r#"{ "engine_startup_cached": { "dist": "gamma", "value_s": 1 } }"#,
        r#"{ "weight_source": "s3" }"#,
    ] {
        assert!(
            serde_json::from_str::<ColdStartConfig>(bad).is_err(),
            "{bad}"
        );
    }
    assert_eq!(Stage::PullingImage.name(), "pulling_image");
    assert_eq!(
        serde_json::to_string(&WeightTier::DatacenterCache).unwrap(),
        r#""datacenter_cache""#
    );
    for tier in WeightTier::ALL {
        assert_eq!(
            serde_json::to_string(&tier).unwrap(),
            format!("\"{}\"", tier.name())
        );
    }
}

#[test]
fn artifacts_and_primed_nodes() {
    let art = llama_8b_h100();
    assert_eq!(art.weights_key, "llama-3.1-8b@2B/param");
    assert_eq!(art.engine.gpu, "h100-sxm");
    assert_eq!(art.engine.model, art.weights_key);
    let fp8 = Artifacts::new(
        hardware::model("llama-3.1-8b").unwrap(),
        1.0,
        hardware::gpu("h100-sxm").unwrap(),
        1,
    )
    .unwrap();
    assert_eq!(fp8.weights_bytes, 8_030_000_000);
    assert_ne!(fp8.weights_key, art.weights_key);
    assert_ne!(fp8.engine, art.engine);
    let bad = Artifacts::new(
        hardware::model("llama-3.1-8b").unwrap(),
        f64::NAN,
        hardware::gpu("h100-sxm").unwrap(),
        1,
    );
    assert!(bad.is_none());

    let cfg = ColdStartConfig::default();
    let primed = NodeCaches::primed(TB, &cfg, &art);
    assert!(primed.images.contains(&cfg.image) && primed.weights.contains(&art.weights_key));
    assert!(primed.engines.is_empty());
    // A disk too small for the weights still primes the image.
    let small = NodeCaches::primed(1_000, &cfg, &art);
    assert!(small.images.contains(&cfg.image) && small.weights.is_empty());
}

#[test]
fn far_tails_and_bad_input_clamp_instead_of_panicking() {
    let wide = DurationDist::Lognormal {
        median_s: 1e6,
        p99_s: 3e7,
    };
    assert_eq!(wide.quantile(1.0), secs(MAX_STAGE_S));
    assert_eq!(wide.quantile(0.0), SimDuration::ZERO);
    assert_eq!(
        DurationDist::Empirical { values_s: vec![] }.quantile(0.5),
        SimDuration::ZERO
    );
    assert_eq!(
        DurationDist::Fixed { value_s: f64::NAN }.quantile(0.5),
        SimDuration::ZERO
    );
    let slow = BandwidthDist::Lognormal {
        median_gb_per_s: 1e-6,
        p1_gb_per_s: 1e-9,
    };
    assert_eq!(slow.transfer_time_at(W16, 0.999_999), secs(MAX_STAGE_S));
    let mut rng = rng::stream(1, LOAD_STREAM, 0);
    for _ in 0..1_000 {
        assert!(wide.sample(&mut rng) <= secs(MAX_STAGE_S));
        assert!(slow.sample_transfer_time(W16, &mut rng) <= secs(MAX_STAGE_S));
    }
}
