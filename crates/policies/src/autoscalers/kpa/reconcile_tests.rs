//! knative/serving `pkg/reconciler/autoscaling/kpa/kpa.go` and
//! `kpa_test.go` (at `98e5ef90`): the PodAutoscaler's Active condition
//! after a reconcile ([`compute_active_condition`]). Facts only: the
//! table in `computeActiveCondition`'s doc comment, row by row, and the
//! `TestReconcile` rows about an under- or overscaled revision with
//! `minScale` 11 (`defaultScale`), each with the condition it asserts.
//! `want` is the scaler's answer, which the reconciler passes on: the
//! decider's desired scale raised to `minScale` by the scaler's bounds
//! (the rows' `decider(…, 1 or 0, …)` give 11), or -1 when the decider
//! has no data (`unknownScale`, passed through).
//!
//! Not ported, with the reason: the rows about objects the simulation
//! does not keep (bad keys, the SKS, the Metric object, status update
//! retries, activator counts in `TestComputeActivatorNum`, the pod
//! metrics of `TestMetricsReporter`, `TestResolveScrapeTarget`); the
//! rows that only check a Deployment patch to `minScale` (the scale
//! bounds the engine applies, `replica_bounds`); the initial-scale rows
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
/// ready, overscale 12): (name, want, ready, min_ready, status, status
/// asserted). A row without a status update keeps its status.
#[test]
fn reconcile_rows_with_min_scale() {
    const MIN: u32 = 11;
    let rows: [(&str, i32, u32, u32, PaActive, PaActive); 10] = [
        (
            "want=-1, underscaled, PA inactive",
            -1,
            10,
            MIN,
            Inactive,
            Inactive,
        ),
        (
            "want=1, underscaled, PA inactive",
            11,
            10,
            MIN,
            Inactive,
            Activating,
        ),
        (
            "underscaled, PA activating",
            11,
            10,
            MIN,
            Activating,
            Activating,
        ),
        ("underscaled, PA active", 11, 10, MIN, Active, Activating),
        ("overscaled, PA inactive", 11, 12, MIN, Inactive, Active),
        // Built with `inactiveKPAMinScale` upstream despite its name.
        ("overscaled, PA activating", 11, 12, MIN, Inactive, Active),
        (
            "over maxScale for real, PA active",
            12,
            12,
            MIN,
            Active,
            Active,
        ),
        (
            "over maxScale, need to scale down, PA active",
            11,
            12,
            MIN,
            Active,
            Active,
        ),
        // No minScale: the threshold is 1; no data and no pod.
        ("scaled-to-0-no-scale-data", -1, 0, 1, Inactive, Inactive),
        ("steady not enough capacity", 11, 1, 1, Active, Active),
    ];
    for (name, want, ready, min_ready, was, now) in rows {
        assert_eq!(
            compute_active_condition(want, ready, min_ready, was),
            now,
            "kpa_test.go TestReconcile: {name}"
        );
    }
}
