//! knative/serving `pkg/reconciler/autoscaling/kpa/kpa.go` and
//! `kpa_test.go` (at `98e5ef90`): the PodAutoscaler's Active condition
//! after a reconcile ([`compute_active_condition`]). Facts only: the
//! table in `computeActiveCondition`'s doc comment, row by row, and the
//! `TestReconcile` rows about an under- or overscaled revision with
//! `minScale` 11 (`defaultScale`): the decider's desired scale through
//! the scaler ([`scale_to_zero_step`]: the deployment patch each row
//! asserts) and its answer through the condition (the status asserted).
//!
//! Not ported, with the reason: the rows about objects the simulation
//! does not keep (bad keys, the SKS, the Metric object, status update
//! retries, activator counts in `TestComputeActivatorNum`, the pod
//! metrics of `TestMetricsReporter`, `TestResolveScrapeTarget`); the
//! rows that only check a Deployment patch to `minScale` (the scale
//! bounds alone); the initial-scale rows
//! ("initial scale > minScale …", "initial scale zero: …"), whose active
//! threshold before initialisation is the initial scale: the adapter
//! starts with its scale target initialised (the scenario's replica
//! count is the initial scale), so `activeThreshold` is max(minScale, 1).

use super::*;
use PaActive::*;

/// `computeActiveCondition`'s table: (want, got vs min, min, status,
/// new status). "got < min" is 0 ready of threshold 1, ">= min" 1 of 1
/// (or 0 of 0 for the `min` 0 rows).
#[test]
fn compute_active_condition_table() {
    // (row, want, ready, min_ready, status, new status)
    let rows: [(&str, i32, u32, u32, PaActive, PaActive); 15] = [
        (
            "0 | <any> | <any> | <any> (inactive)",
            0,
            1,
            1,
            Inactive,
            Inactive,
        ),
        (
            "0 | <any> | <any> | <any> (activating)",
            0,
            0,
            1,
            Activating,
            Inactive,
        ),
        (
            "0 | <any> | <any> | <any> (active)",
            0,
            1,
            1,
            Active,
            Inactive,
        ),
        (
            ">0 | < min | <any> | <any> (inactive)",
            3,
            0,
            1,
            Inactive,
            Activating,
        ),
        (
            ">0 | < min | <any> | <any> (active)",
            3,
            0,
            1,
            Active,
            Activating,
        ),
        (
            ">0 | >= min | <any> | <any> (inactive)",
            3,
            1,
            1,
            Inactive,
            Active,
        ),
        (
            ">0 | >= min | <any> | <any> (activating)",
            3,
            1,
            1,
            Activating,
            Active,
        ),
        (
            "-1 | < min | <any> | inactive",
            -1,
            0,
            1,
            Inactive,
            Inactive,
        ),
        (
            "-1 | < min | <any> | activating",
            -1,
            0,
            1,
            Activating,
            Activating,
        ),
        ("-1 | < min | <any> | active", -1, 0, 1, Active, Activating),
        (
            "-1 | >= min | <any> | inactive",
            -1,
            1,
            1,
            Inactive,
            Inactive,
        ),
        (
            "-1 | >= min | 0 | activating",
            -1,
            0,
            0,
            Activating,
            Inactive,
        ),
        ("-1 | >= min | 0 | active", -1, 0, 0, Active, Inactive),
        (
            "-1 | >= min | >0 | activating",
            -1,
            1,
            1,
            Activating,
            Active,
        ),
        ("-1 | >= min | >0 | active", -1, 1, 1, Active, Active),
    ];
    for (row, want, ready, min_ready, was, now) in rows {
        assert_eq!(
            compute_active_condition(want, ready, min_ready, was),
            now,
            "kpa.go computeActiveCondition: {row}"
        );
    }
}

/// `TestReconcile`'s under/overscaled rows (`minScale` 11: underscale 10
/// ready, overscale 12), through the scaler ([`scale_to_zero_step`] with
/// `kpa_test.go`'s `defaultConfig`) and then the condition: (name, the
/// decider's desired scale, deployment replicas, ready pods, minScale,
/// status, scale target initialised, SKS in proxy mode, the deployment
/// patched to 11 (`minScalePatch`), the status asserted; a row without a
/// status update keeps its status).
#[test]
fn reconcile_rows_with_min_scale() {
    type Row = (
        &'static str,
        i32,
        u32,
        u32,
        u32,
        PaActive,
        bool,
        bool,
        bool,
        PaActive,
    );
    let rows: [Row; 10] = [
        (
            "want=-1, underscaled, PA inactive",
            -1,
            10,
            10,
            11,
            Inactive,
            true,
            true,
            false,
            Inactive,
        ),
        (
            "want=1, underscaled, PA inactive",
            1,
            10,
            10,
            11,
            Inactive,
            true,
            true,
            true,
            Activating,
        ),
        (
            "underscaled, PA activating",
            2,
            10,
            10,
            11,
            Activating,
            false,
            false,
            true,
            Activating,
        ),
        (
            "underscaled, PA active",
            11,
            10,
            10,
            11,
            Active,
            true,
            false,
            true,
            Activating,
        ),
        (
            "overscaled, PA inactive",
            0,
            12,
            12,
            11,
            Inactive,
            true,
            true,
            true,
            Active,
        ),
        // Built with `inactiveKPAMinScale` upstream despite its name.
        (
            "overscaled, PA activating",
            1,
            12,
            12,
            11,
            Inactive,
            true,
            true,
            true,
            Active,
        ),
        (
            "over maxScale for real, PA active",
            12,
            12,
            12,
            11,
            Active,
            true,
            false,
            false,
            Active,
        ),
        (
            "over maxScale, need to scale down, PA active",
            1,
            12,
            12,
            11,
            Active,
            true,
            false,
            true,
            Active,
        ),
        // No minScale (the threshold is 1); `defaultDeployment` has 11
        // replicas. No data and no pod ready; then 11 wanted, 1 ready.
        (
            "scaled-to-0-no-scale-data",
            -1,
            11,
            0,
            0,
            Inactive,
            true,
            true,
            false,
            Inactive,
        ),
        (
            "steady not enough capacity",
            11,
            11,
            1,
            0,
            Active,
            true,
            true,
            false,
            Active,
        ),
    ];
    for (name, desired, deploy, ready, min, was, initialized, proxy, patched, now) in rows {
        let cfg = KpaConfig {
            min_scale: min,
            ..super::scaler_tests::default_config()
        };
        let input = ScalerInput {
            desired,
            deployment_replicas: Some(deploy),
            active: was,
            condition_age: SimDuration::ZERO,
            proxy_for: proxy.then_some(SimDuration::ZERO),
            reachability: Reachability::Reachable,
            probe: ProbeResult::Activator,
            scale_target_initialized: initialized,
            initial_scale_annotation: None,
            window_annotation_s: None,
            retention_annotation_s: None,
            tbc_annotation: None,
        };
        let out = scale_to_zero_step(&cfg, &input);
        assert_eq!(
            out.patches, patched,
            "kpa_test.go TestReconcile: {name}: {out:?}"
        );
        if patched {
            assert_eq!(out.scale, 11, "{name}: patched to minScale");
        }
        let min_ready = min.max(1);
        assert_eq!(
            compute_active_condition(out.scale, ready, min_ready, was),
            now,
            "kpa_test.go TestReconcile: {name}: {out:?}"
        );
    }
}
