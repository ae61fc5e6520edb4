use super::*;
use proptest::prelude::*;

/// Seconds (possibly fractional) to an instant.
fn t(secs: f64) -> SimTime {
    SimTime(SimDuration::try_from_secs_f64(secs).unwrap().as_nanos())
}

fn secs(s: f64) -> SimDuration {
    SimDuration::try_from_secs_f64(s).unwrap()
}

/// `a` and `b` agree within `rel` relative (absolute near zero).
fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-12)
}

fn assert_close(what: &str, got: f64, expect: f64) {
    assert!(
        close(got, expect, 1e-9),
        "{what}: got {got}, expected {expect}"
    );
}

fn policy(granularity: BillingGranularity, minimum_s: f64) -> BillingPolicy {
    BillingPolicy {
        granularity,
        minimum_s,
    }
}

fn pool(name: &str, gpus: u32, price: f64, billing: BillingPolicy) -> PoolPricing {
    PoolPricing {
        name: name.to_string(),
        gpus_per_node: gpus,
        usd_per_gpu_hour: price,
        billing,
    }
}

// ---- billing arithmetic ----

fn check_billed(granularity: BillingGranularity, minimum_s: f64, held_s: f64, expect_s: f64) {
    let got = policy(granularity, minimum_s).billed(secs(held_s));
    assert_eq!(
        got,
        secs(expect_s),
        "{granularity:?} min {minimum_s} s, held {held_s} s"
    );
}

#[test]
fn billed_rounds_up_to_the_unit_after_the_minimum() {
    use BillingGranularity::*;
    for (g, min, held, expect) in [
        // Nothing held, nothing billed, whatever the minimum.
        (PerSecond, 0.0, 0.0, 0.0),
        (PerSecond, 60.0, 0.0, 0.0),
        (PerHour, 3600.0, 0.0, 0.0),
        // Per second, no minimum: whole seconds, rounded up.
        (PerSecond, 0.0, 0.000_000_001, 1.0),
        (PerSecond, 0.0, 1.5, 2.0),
        (PerSecond, 0.0, 2.0, 2.0),
        // Per second, 60 s minimum (AWS Linux on-demand).
        (PerSecond, 60.0, 0.000_000_001, 60.0),
        (PerSecond, 60.0, 30.0, 60.0),
        (PerSecond, 60.0, 60.0, 60.0),
        (PerSecond, 60.0, 60.2, 61.0),
        // Per minute.
        (PerMinute, 0.0, 1.0, 60.0),
        (PerMinute, 0.0, 60.0, 60.0),
        (PerMinute, 0.0, 61.0, 120.0),
        (PerMinute, 600.0, 61.0, 600.0),
        (PerMinute, 600.0, 601.0, 660.0),
        // A minimum that is not a whole number of units: max(30, 90) = 90,
        // rounded up to whole minutes = 120.
        (PerMinute, 90.0, 30.0, 120.0),
        // Per hour.
        (PerHour, 0.0, 1.0, 3600.0),
        (PerHour, 0.0, 3600.0, 3600.0),
        (PerHour, 0.0, 3601.0, 7200.0),
        (PerHour, 3600.0, 10.0, 3600.0),
    ] {
        check_billed(g, min, held, expect);
    }
}

#[test]
fn billed_saturates_at_the_end_of_the_clock() {
    let p = policy(BillingGranularity::PerHour, 0.0);
    assert_eq!(p.billed(SimDuration(u64::MAX)), SimDuration(u64::MAX));
}

#[test]
fn granularity_units() {
    for (g, expect_s) in [
        (BillingGranularity::PerSecond, 1),
        (BillingGranularity::PerMinute, 60),
        (BillingGranularity::PerHour, 3600),
    ] {
        assert_eq!(g.unit(), SimDuration::from_secs(expect_s), "{g:?}");
    }
}

// ---- serde ----

#[test]
fn billing_policy_parses_and_rejects_unknown_fields() {
    let p: BillingPolicy =
        serde_json::from_str(r#"{"granularity": "per_minute", "minimum_s": 600}"#).unwrap();
    assert_eq!(p, policy(BillingGranularity::PerMinute, 600.0));
    let p: BillingPolicy = serde_json::from_str(r#"{"granularity": "per_hour"}"#).unwrap();
    assert_eq!(p, policy(BillingGranularity::PerHour, 0.0));
    for bad in [
        r#"{"granularity": "per_second", "minimum": 60}"#,
        r#"{"granularity": "per_day"}"#,
        r#"{"minimum_s": 60}"#,
    ] {
        assert!(serde_json::from_str::<BillingPolicy>(bad).is_err(), "{bad}");
    }
}

#[test]
fn state_names_are_the_serialised_names() {
    let mut names: Vec<&str> = Vec::new();
    for s in GpuState::ALL {
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, format!("\"{}\"", s.name()));
        let back: GpuState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        names.push(s.name());
    }
    assert_eq!(
        names,
        [
            "provisioning",
            "pulling_image",
            "loading_weights",
            "starting_engine",
            "warming_up",
            "busy",
            "idle_ready",
            "draining",
            "warm_pool",
            "unallocated"
        ]
    );
}

#[test]
fn by_state_serialises_every_line_in_report_order() {
    let mut i = 0u8;
    let table = ByState::from_fn(|_| {
        i += 1;
        i
    });
    let expect: String = CostLine::ALL
        .iter()
        .enumerate()
        .map(|(k, l)| format!("\"{}\":{}", l.name(), k + 1))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        serde_json::to_string(&table).unwrap(),
        format!("{{{expect}}}")
    );
    for (k, (line, v)) in table.iter().enumerate() {
        assert_eq!(line, CostLine::ALL[k]);
        assert_eq!(usize::from(*v), k + 1, "{line:?}");
    }
}

#[test]
fn cold_start_states() {
    let cold: Vec<GpuState> = GpuState::ALL
        .into_iter()
        .filter(|s| s.is_cold_start())
        .collect();
    assert_eq!(
        cold,
        [
            GpuState::Provisioning,
            GpuState::PullingImage,
            GpuState::LoadingWeights,
            GpuState::StartingEngine,
            GpuState::WarmingUp
        ]
    );
}

// ---- validation ----

fn check_invalid_pool(p: PoolPricing, expect_field: &str) {
    match p.validate() {
        Err(e) => assert_eq!(e.field, expect_field, "{p:?}"),
        Ok(()) => panic!("{p:?} passed, expected an error on {expect_field}"),
    }
    match GpuLedger::new(vec![
        pool("ok", 1, 1.0, policy(BillingGranularity::PerSecond, 0.0)),
        p,
    ]) {
        Err(e @ LedgerError::InvalidPool { pool: 1, .. }) => {
            assert!(
                e.to_string()
                    .starts_with(&format!("pools[1].{expect_field}: ")),
                "{e}"
            );
        }
        other => panic!("expected InvalidPool on pool 1, got {other:?}"),
    }
}

#[test]
fn validation_names_the_field() {
    let per_s = policy(BillingGranularity::PerSecond, 60.0);
    check_invalid_pool(pool("a", 8, -1.0, per_s.clone()), "usd_per_gpu_hour");
    check_invalid_pool(pool("a", 8, f64::NAN, per_s.clone()), "usd_per_gpu_hour");
    check_invalid_pool(
        pool("a", 8, f64::INFINITY, per_s.clone()),
        "usd_per_gpu_hour",
    );
    // A price whose dollar figures overflow (1.7e308 made the cost
    // section's figures infinite).
    check_invalid_pool(pool("a", 8, 1.7e308, per_s.clone()), "usd_per_gpu_hour");
    check_invalid_pool(
        pool("a", 8, MAX_USD_PER_GPU_HOUR * 1.5, per_s.clone()),
        "usd_per_gpu_hour",
    );
    assert_eq!(
        pool("a", 8, MAX_USD_PER_GPU_HOUR, per_s.clone()).validate(),
        Ok(())
    );
    check_invalid_pool(pool("a", 0, 4.0, per_s), "gpus_per_node");
    for min in [-1.0, f64::NAN, f64::INFINITY, 1e30] {
        let bad = policy(BillingGranularity::PerSecond, min);
        assert_eq!(
            bad.validate().map_err(|e| e.field),
            Err("minimum_s".to_string()),
            "{min}"
        );
        check_invalid_pool(pool("a", 8, 4.0, bad), "billing.minimum_s");
    }
    // The boundaries are accepted.
    assert_eq!(
        pool("a", 1, 0.0, policy(BillingGranularity::PerHour, 0.0)).validate(),
        Ok(())
    );
}

// ---- the ledger ----

/// One H100 pool, 8 GPUs per node, $4/GPU-h, per second with a 60 s
/// minimum, and two node intervals:
///
/// Node A, held 0–100.5 s:
/// - all 8 GPUs provisioning 0–30 s;
/// - replica R1 (2 GPUs): pulling 30–40, loading 40–60, starting 60–70,
///   warming 70–75, busy 75–90, idle 90–95, draining 95–100, then its
///   GPUs unallocated 100–100.5;
/// - replica R2 (4 GPUs): pulling 30–35, loading 35–55, starting 55–65,
///   warming 65–70, idle 70–80, busy 80–100.5;
/// - the other 2 GPUs unallocated 30–100.5.
///
/// Node B, held 200–230 s, all 8 GPUs in the warm pool.
fn example_ledger() -> GpuLedger {
    use GpuState::*;
    let mut l = GpuLedger::new(vec![pool(
        "h100",
        8,
        4.0,
        policy(BillingGranularity::PerSecond, 60.0),
    )])
    .unwrap();
    let spans: &[(GpuState, u32, f64, f64)] = &[
        (Provisioning, 8, 0.0, 30.0),
        (PullingImage, 2, 30.0, 40.0),
        (LoadingWeights, 2, 40.0, 60.0),
        (StartingEngine, 2, 60.0, 70.0),
        (WarmingUp, 2, 70.0, 75.0),
        (Busy, 2, 75.0, 90.0),
        (IdleReady, 2, 90.0, 95.0),
        (Draining, 2, 95.0, 100.0),
        (Unallocated, 2, 100.0, 100.5),
        (PullingImage, 4, 30.0, 35.0),
        (LoadingWeights, 4, 35.0, 55.0),
        (StartingEngine, 4, 55.0, 65.0),
        (WarmingUp, 4, 65.0, 70.0),
        (IdleReady, 4, 70.0, 80.0),
        (Busy, 4, 80.0, 100.5),
        (Unallocated, 2, 30.0, 100.5),
        (WarmPool, 8, 200.0, 230.0),
    ];
    for &(state, gpus, from, to) in spans {
        l.add(0, state, gpus, t(from), t(to)).unwrap();
    }
    assert_eq!(l.node_held(0, t(0.0), t(100.5)), Ok(secs(101.0)));
    assert_eq!(l.node_held(0, t(200.0), t(230.0)), Ok(secs(60.0)));
    l
}

#[test]
fn state_time_adds_up_exactly_to_held_time() {
    let l = example_ledger();
    assert_eq!(l.check_balance(), Ok(()));
    let g = l.gpu_time(0).unwrap();
    let gpu_s = |s: f64| u128::from(secs(s).as_nanos());
    // Held: 8 × 100.5 + 8 × 30 = 1044 GPU·s.
    assert_eq!(g.held_gpu_ns, gpu_s(1044.0));
    assert_eq!(g.state_gpu_ns(), gpu_s(1044.0));
    // Billed: 8 × 101 + 8 × 60 = 1288 GPU·s; rounding 8 × 0.5 + 8 × 30 = 244.
    assert_eq!(g.billed_gpu_ns(), gpu_s(1288.0));
    assert_eq!(g.node_intervals, 2);
    let expect = ByState {
        provisioning: gpu_s(240.0),    // 8 × 30
        pulling_image: gpu_s(40.0),    // 2 × 10 + 4 × 5
        loading_weights: gpu_s(120.0), // 2 × 20 + 4 × 20
        starting_engine: gpu_s(60.0),  // 2 × 10 + 4 × 10
        warming_up: gpu_s(30.0),       // 2 × 5 + 4 × 5
        busy: gpu_s(112.0),            // 2 × 15 + 4 × 20.5
        idle_ready: gpu_s(50.0),       // 2 × 5 + 4 × 10
        draining: gpu_s(10.0),         // 2 × 5
        warm_pool: gpu_s(240.0),       // 8 × 30
        unallocated: gpu_s(142.0),     // 2 × 0.5 + 2 × 70.5
        billing_granularity: gpu_s(244.0),
    };
    assert_eq!(g.lines, expect);
}

#[test]
fn a_missing_span_unbalances_the_ledger() {
    let mut l = example_ledger();
    // Node C, held 300–301 s, with one GPU-second too few in states.
    l.add(0, GpuState::Unallocated, 8, t(300.0), t(301.0))
        .unwrap();
    l.add(0, GpuState::Unallocated, 1, t(300.0), t(301.0))
        .unwrap();
    l.node_held(0, t(300.0), t(301.0)).unwrap();
    let one = u128::from(NANOS_PER_SEC);
    assert_eq!(
        l.check_balance(),
        Err(LedgerError::Unbalanced {
            pool: 0,
            held_gpu_ns: 1052 * one,
            state_gpu_ns: 1053 * one,
        })
    );
}

#[test]
fn ledger_rejects_unknown_pools_and_reversed_intervals() {
    let mut l = example_ledger();
    let before = l.gpu_time(0).cloned();
    assert_eq!(
        l.add(1, GpuState::Busy, 1, t(0.0), t(1.0)),
        Err(LedgerError::UnknownPool { pool: 1, pools: 1 })
    );
    assert_eq!(
        l.node_held(3, t(0.0), t(1.0)),
        Err(LedgerError::UnknownPool { pool: 3, pools: 1 })
    );
    assert_eq!(
        l.add(0, GpuState::Busy, 1, t(2.0), t(1.0)),
        Err(LedgerError::ReversedInterval {
            from: t(2.0),
            to: t(1.0)
        })
    );
    assert_eq!(
        l.node_held(0, t(2.0), t(1.0)),
        Err(LedgerError::ReversedInterval {
            from: t(2.0),
            to: t(1.0)
        })
    );
    assert_eq!(l.gpu_time(0).cloned(), before, "errors must not record");
    assert!(l.gpu_time(1).is_none());
}

// ---- the report ----

#[test]
fn report_of_a_hand_computed_run() {
    // One 1-GPU node at $2/GPU-h, billed per hour, held 30 minutes:
    // busy 15 min, idle 15 min. Billed 1 h = $2: busy 0.25 h = $0.50,
    // idle 0.25 h = $0.50, rounding 0.5 h = $1.00. 10 requests and 1000
    // output tokens completed: $0.20 per request, $2000 per million tokens.
    let mut l = GpuLedger::new(vec![pool(
        "l4",
        1,
        2.0,
        policy(BillingGranularity::PerHour, 0.0),
    )])
    .unwrap();
    l.add(0, GpuState::Busy, 1, t(0.0), t(900.0)).unwrap();
    l.add(0, GpuState::IdleReady, 1, t(900.0), t(1800.0))
        .unwrap();
    l.node_held(0, t(0.0), t(1800.0)).unwrap();
    let r = l.report(10, 1000);
    for (what, got, expect) in [
        ("total_usd", r.total_usd, 2.0),
        ("per_request_usd", r.per_request_usd.unwrap(), 0.2),
        (
            "per_million_output_tokens_usd",
            r.per_million_output_tokens_usd.unwrap(),
            2000.0,
        ),
        ("held_gpu_hours", r.held_gpu_hours, 0.5),
        ("billed_gpu_hours", r.billed_gpu_hours, 1.0),
        ("busy_gpu_hours", r.busy_gpu_hours, 0.25),
        ("idle.total", r.idle_gpu_hours.total, 0.75),
        ("idle.idle_ready", r.idle_gpu_hours.idle_ready, 0.25),
        (
            "idle.billing_granularity",
            r.idle_gpu_hours.billing_granularity,
            0.5,
        ),
        ("busy.usd", r.by_state.busy.usd, 0.5),
        ("idle_ready.usd", r.by_state.idle_ready.usd, 0.5),
        (
            "billing_granularity.usd",
            r.by_state.billing_granularity.usd,
            1.0,
        ),
        ("pool usd", r.by_pool[0].usd, 2.0),
    ] {
        assert_close(what, got, expect);
    }
    assert_eq!(r.by_pool[0].name, "l4");
    assert_eq!(r.by_pool[0].node_intervals, 1);
    assert_eq!(r.by_state.draining, StateLine::default());

    let none = l.report(0, 0);
    assert_eq!(none.per_request_usd, None);
    assert_eq!(none.per_million_output_tokens_usd, None);
    let json = serde_json::to_value(&none).unwrap();
    assert!(json["per_request_usd"].is_null());
}

fn check_report_sums(r: &CostReport) {
    let usd: f64 = r.by_state.iter().map(|(_, l)| l.usd).sum();
    assert!(
        close(usd, r.total_usd, 1e-9),
        "by_state usd {usd} vs total {}",
        r.total_usd
    );
    let pools: f64 = r.by_pool.iter().map(|p| p.usd).sum();
    assert!(
        close(pools, r.total_usd, 1e-9),
        "by_pool usd {pools} vs {}",
        r.total_usd
    );
    let h: f64 = r.by_state.iter().map(|(_, l)| l.gpu_hours).sum();
    assert!(
        close(h, r.billed_gpu_hours, 1e-9),
        "{h} vs {}",
        r.billed_gpu_hours
    );
    let i = &r.idle_gpu_hours;
    let parts = i.cold_start
        + i.idle_ready
        + i.draining
        + i.warm_pool
        + i.unallocated
        + i.billing_granularity;
    assert!(
        close(parts, i.total, 1e-9),
        "idle parts {parts} vs {}",
        i.total
    );
    assert!(close(i.total + r.busy_gpu_hours, r.billed_gpu_hours, 1e-9));
}

#[test]
fn dollars_by_state_add_up_to_the_total() {
    let l = example_ledger();
    let r = l.report(3, 700);
    // 1288 GPU·s at $4/GPU-h.
    assert_close("total_usd", r.total_usd, 1288.0 / 3600.0 * 4.0);
    check_report_sums(&r);
}

#[test]
fn dollars_of_two_pools_are_priced_separately() {
    // Pool 0: $4/GPU-h, per second; pool 1: $1/GPU-h, per minute.
    let mut l = GpuLedger::new(vec![
        pool("h100", 2, 4.0, policy(BillingGranularity::PerSecond, 0.0)),
        pool("l4", 1, 1.0, policy(BillingGranularity::PerMinute, 0.0)),
    ])
    .unwrap();
    l.add(0, GpuState::Busy, 2, t(0.0), t(1800.0)).unwrap();
    l.node_held(0, t(0.0), t(1800.0)).unwrap();
    l.add(1, GpuState::Busy, 1, t(0.0), t(90.0)).unwrap();
    l.node_held(1, t(0.0), t(90.0)).unwrap();
    let r = l.report(1, 1);
    // Pool 0: 2 GPUs × 0.5 h × $4 = $4. Pool 1: 120 s billed = 1/30 h × $1.
    assert_close("pool 0", r.by_pool[0].usd, 4.0);
    assert_close("pool 1", r.by_pool[1].usd, 1.0 / 30.0);
    assert_close("busy usd", r.by_state.busy.usd, 4.0 + 0.025);
    assert_close(
        "granularity usd",
        r.by_state.billing_granularity.usd,
        30.0 / 3600.0,
    );
    check_report_sums(&r);
}

/// A node split into two GPU groups, each walking its own sequence of
/// states over the node's whole interval.
#[derive(Clone, Debug)]
struct NodeCase {
    pool: usize,
    start_ns: u64,
    group_a: u32,
    segments_a: Vec<(usize, u64)>,
    cut_b: u64,
    states_b: (usize, usize),
}

fn node_case() -> impl Strategy<Value = NodeCase> {
    (
        0usize..3,
        0u64..10_000_000_000_000,
        0u32..=8,
        proptest::collection::vec((0usize..GpuState::COUNT, 0u64..4_000_000_000_000), 0..6),
        any::<u64>(),
        (0usize..GpuState::COUNT, 0usize..GpuState::COUNT),
    )
        .prop_map(|(pool, start_ns, group_a, segments_a, cut, states_b)| {
            let held: u64 = segments_a.iter().map(|s| s.1).sum();
            NodeCase {
                pool,
                start_ns,
                group_a,
                segments_a,
                cut_b: if held == 0 { 0 } else { cut % (held + 1) },
                states_b,
            }
        })
}

proptest! {
    #[test]
    fn random_ledgers_balance_and_add_up(
        prices in (0.0f64..20.0, 0.0f64..20.0, 0.0f64..20.0),
        mins in (0.0f64..7200.0, 0.0f64..7200.0),
        nodes in proptest::collection::vec(node_case(), 0..20),
    ) {
        let pools = vec![
            pool("a", 8, prices.0, policy(BillingGranularity::PerSecond, mins.0)),
            pool("b", 8, prices.1, policy(BillingGranularity::PerMinute, mins.1)),
            pool("c", 8, prices.2, policy(BillingGranularity::PerHour, 0.0)),
        ];
        let mut l = GpuLedger::new(pools.clone()).unwrap();
        for n in &nodes {
            let mut at = n.start_ns;
            for &(s, len) in &n.segments_a {
                l.add(n.pool, GpuState::ALL[s], n.group_a, SimTime(at), SimTime(at + len)).unwrap();
                at += len;
            }
            let end = at;
            let b = 8 - n.group_a;
            let cut = n.start_ns + n.cut_b;
            l.add(n.pool, GpuState::ALL[n.states_b.0], b, SimTime(n.start_ns), SimTime(cut)).unwrap();
            l.add(n.pool, GpuState::ALL[n.states_b.1], b, SimTime(cut), SimTime(end)).unwrap();
            let billed = l.node_held(n.pool, SimTime(n.start_ns), SimTime(end)).unwrap();
            let held = SimDuration(end - n.start_ns);
            let p = &pools[n.pool].billing;
            prop_assert!(billed >= held);
            prop_assert_eq!(billed.as_nanos() % p.granularity.unit().as_nanos(), 0);
            if held > SimDuration::ZERO {
                prop_assert!(billed >= p.minimum());
                prop_assert!(billed.as_nanos() - held.max(p.minimum()).as_nanos() < p.granularity.unit().as_nanos());
            } else {
                prop_assert_eq!(billed, SimDuration::ZERO);
            }
        }
        prop_assert_eq!(l.check_balance(), Ok(()));
        check_report_sums(&l.report(1, 1));
    }
}

// ---- the monthly equation ----

/// A two-hour run at $6 per replica-hour ($3/GPU-h × 2 GPUs):
/// - 9 Ready replica-hours → 4.5 average Ready replicas;
/// - 10 req/s × 3 s service ÷ 10 requests per replica → 3 needed,
///   so 3 steady-state replicas and a 1.5-replica buffer;
/// - 4 cold starts of 90 s each (360 replica-s);
/// - billed $57.80 = Ready $54 + cold start $0.60 (360 s × $6/h)
///   + procurement $1.20 + draining $0.30 + packing $0.90
///   + warm pool $0.60 + rounding $0.15 + an aborted cold start $0.05.
///
/// A month is 730 h = 365 runs of 2 h:
/// - term 1 = 3 × 6 × 730 = 13 140
/// - term 2 = (4 × 365 = 1460 events) × 0.025 h × 6 = 219
/// - term 3 = 1.5 × 6 × 730 = 6 570
/// - equation = 19 929; billed = 57.80 × 365 = 21 097; difference 1 168
/// - procurement 1.20 × 365 = 438, draining 109.5, packing 328.5,
///   warm pool 219, rounding 54.75, other 0.05 × 365 = 18.25.
fn example_inputs() -> MonthlyInputs {
    MonthlyInputs {
        simulated: SimDuration::from_secs(7_200),
        ready_replica_ns: 9 * u128::from(NANOS_PER_HOUR),
        usd_per_replica_hour: 6.0,
        scale_up_events: 4,
        cold_start_replica_ns: 360 * u128::from(NANOS_PER_SEC),
        arrival_rate_per_s: 10.0,
        mean_service_s: 3.0,
        sla_concurrency_per_replica: 10.0,
        billed: BilledCosts {
            total_usd: 57.8,
            procurement_usd: 1.2,
            draining_usd: 0.3,
            packing_usd: 0.9,
            warm_pool_usd: 0.6,
            billing_granularity_usd: 0.15,
        },
    }
}

fn check_monthly(inputs: &MonthlyInputs, expect: &[(&str, f64)]) {
    let m = monthly_equation(inputs).unwrap();
    let d = &m.difference;
    for &(what, want) in expect {
        let got = match what {
            "simulated_hours" => m.simulated_hours,
            "average_ready_replicas" => m.average_ready_replicas,
            "needed_replicas" => m.needed_replicas,
            "steady_state_replicas" => m.steady_state_replicas,
            "buffer_replicas" => m.buffer_replicas,
            "scale_up_events_per_month" => m.scale_up_events_per_month,
            "model_load_s" => m.model_load_s,
            "steady_state_usd" => m.steady_state_usd,
            "scaling_overhead_usd" => m.scaling_overhead_usd,
            "overprovisioning_usd" => m.overprovisioning_usd,
            "equation_total_usd" => m.equation_total_usd,
            "billed_monthly_usd" => m.billed_monthly_usd,
            "difference.total_usd" => d.total_usd,
            "difference.procurement_usd" => d.procurement_usd,
            "difference.draining_usd" => d.draining_usd,
            "difference.packing_usd" => d.packing_usd,
            "difference.warm_pool_usd" => d.warm_pool_usd,
            "difference.billing_granularity_usd" => d.billing_granularity_usd,
            "difference.other_usd" => d.other_usd,
            other => panic!("unknown figure {other}"),
        };
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{what}: got {got}, expected {want}"
        );
    }
}

#[test]
fn monthly_equation_of_a_hand_computed_run() {
    check_monthly(
        &example_inputs(),
        &[
            ("simulated_hours", 2.0),
            ("average_ready_replicas", 4.5),
            ("needed_replicas", 3.0),
            ("steady_state_replicas", 3.0),
            ("buffer_replicas", 1.5),
            ("scale_up_events_per_month", 1460.0),
            ("model_load_s", 90.0),
            ("steady_state_usd", 13_140.0),
            ("scaling_overhead_usd", 219.0),
            ("overprovisioning_usd", 6_570.0),
            ("equation_total_usd", 19_929.0),
            ("billed_monthly_usd", 21_097.0),
            ("difference.total_usd", 1_168.0),
            ("difference.procurement_usd", 438.0),
            ("difference.draining_usd", 109.5),
            ("difference.packing_usd", 328.5),
            ("difference.warm_pool_usd", 219.0),
            ("difference.billing_granularity_usd", 54.75),
            ("difference.other_usd", 18.25),
        ],
    );
}

#[test]
fn the_buffer_is_the_ready_average_above_the_need() {
    // (average Ready, needed) → (steady state, buffer); needed = λ with
    // 1 s service and 1 request per replica.
    for (ready, needed, steady, buffer) in [
        (4.5, 3.0, 3.0, 1.5),
        (2.0, 3.0, 2.0, 0.0),
        (3.0, 3.0, 3.0, 0.0),
        (0.0, 0.0, 0.0, 0.0),
        (1.0, 0.0, 0.0, 1.0),
    ] {
        let inputs = MonthlyInputs {
            simulated: SimDuration::from_secs(3_600),
            ready_replica_ns: (ready * NANOS_PER_HOUR as f64) as u128,
            usd_per_replica_hour: 1.0,
            arrival_rate_per_s: needed,
            mean_service_s: 1.0,
            sla_concurrency_per_replica: 1.0,
            ..MonthlyInputs::default()
        };
        check_monthly(
            &inputs,
            &[
                ("average_ready_replicas", ready),
                ("needed_replicas", needed),
                ("steady_state_replicas", steady),
                ("buffer_replicas", buffer),
                // Terms 1 and 3 together price every Ready replica once.
                ("equation_total_usd", ready * 730.0),
                ("scaling_overhead_usd", 0.0),
                ("model_load_s", 0.0),
            ],
        );
    }
}

#[test]
fn a_ledger_run_reconciles_with_nothing_left_over() {
    // One 1-GPU node at $3/GPU-h held for exactly one hour: pulling 60 s,
    // loading 60 s, busy 1880 s, idle 1000 s, draining 600 s.
    // Ready 2880 s = 0.8 replicas on average; needed 0.5.
    // Terms 1 + 3 = 0.8 × 3 × 730 = 1752; term 2 = 730 events × (120 s
    // = 1/30 h) × 3 = 73; equation 1825. Billed $3 × 730 = 2190.
    // Difference 365 = draining 600 s × $3/h = $0.50 × 730; other 0.
    let mut l = GpuLedger::new(vec![pool(
        "a10g",
        1,
        3.0,
        policy(BillingGranularity::PerSecond, 60.0),
    )])
    .unwrap();
    for (state, from, to) in [
        (GpuState::PullingImage, 0.0, 60.0),
        (GpuState::LoadingWeights, 60.0, 120.0),
        (GpuState::Busy, 120.0, 2000.0),
        (GpuState::IdleReady, 2000.0, 3000.0),
        (GpuState::Draining, 3000.0, 3600.0),
    ] {
        l.add(0, state, 1, t(from), t(to)).unwrap();
    }
    l.node_held(0, t(0.0), t(3600.0)).unwrap();
    assert_eq!(l.check_balance(), Ok(()));
    let inputs = MonthlyInputs {
        simulated: SimDuration::from_secs(3_600),
        ready_replica_ns: u128::from(secs(2880.0).as_nanos()),
        usd_per_replica_hour: 3.0,
        scale_up_events: 1,
        cold_start_replica_ns: u128::from(secs(120.0).as_nanos()),
        arrival_rate_per_s: 0.5,
        mean_service_s: 2.0,
        sla_concurrency_per_replica: 2.0,
        billed: l.report(1, 1).billed_costs(),
    };
    check_monthly(
        &inputs,
        &[
            ("steady_state_replicas", 0.5),
            ("buffer_replicas", 0.3),
            ("scaling_overhead_usd", 73.0),
            ("equation_total_usd", 1825.0),
            ("billed_monthly_usd", 2190.0),
            ("difference.total_usd", 365.0),
            ("difference.draining_usd", 365.0),
            ("difference.procurement_usd", 0.0),
            ("difference.billing_granularity_usd", 0.0),
            ("difference.other_usd", 0.0),
        ],
    );
}

#[test]
fn monthly_inputs_validation_names_the_field() {
    type Edit = fn(&mut MonthlyInputs);
    let cases: Vec<(&str, Edit)> = vec![
        ("simulated", |i| i.simulated = SimDuration::ZERO),
        ("usd_per_replica_hour", |i| i.usd_per_replica_hour = -1.0),
        ("arrival_rate_per_s", |i| i.arrival_rate_per_s = f64::NAN),
        ("mean_service_s", |i| i.mean_service_s = -0.5),
        ("sla_concurrency_per_replica", |i| {
            i.sla_concurrency_per_replica = 0.0
        }),
        ("sla_concurrency_per_replica", |i| {
            i.sla_concurrency_per_replica = f64::INFINITY
        }),
        ("cold_start_replica_ns", |i| i.scale_up_events = 0),
        ("billed.total_usd", |i| i.billed.total_usd = -1.0),
        ("billed.packing_usd", |i| {
            i.billed.packing_usd = f64::INFINITY
        }),
    ];
    assert_eq!(example_inputs().validate(), Ok(()));
    for (field, edit) in cases {
        let mut inputs = example_inputs();
        edit(&mut inputs);
        assert_eq!(
            monthly_equation(&inputs).map_err(|e| e.field),
            Err(field.to_string()),
            "{inputs:?}"
        );
    }
}
