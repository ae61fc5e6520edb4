//! knative/serving `pkg/reconciler/autoscaling/kpa/scaler_test.go` (at
//! `98e5ef90`): every row of `TestScaler` and `TestDisableScaleToZero`,
//! through [`scale_to_zero_step`] (`scaler.scale`). Facts only: the
//! inputs each row sets and what it asserts: the scale returned, whether
//! the deployment is patched (upstream's `wantScaling`: a patch happens
//! only when the scale is applied and differs from the current one), the
//! re-enqueue callback count and the async probe count.
//!
//! Conventions of the port, from the test file and `kpa_test.go`'s
//! `defaultConfig`: stable window 5 min, grace period 60 s, target burst
//! capacity 200, progress deadline 121 s (+ the 30 s activation timeout
//! buffer), scale-to-zero enabled, pod retention 0, initial scale 1. A
//! PodAutoscaler made by `newKPA` is Activating (conditions initialised)
//! since now, with reachability Unknown (`MakePA` of a revision without a
//! routing state) and its scale target not yet initialised; the SKS is in
//! Serve mode unless a row puts it in Proxy mode. The activator probe
//! answers true unless a row says otherwise (a failing probe and a wrong
//! answer are both "not in the path"). `paMark*(pa, now − d)` is a
//! condition age of `d`. The per-revision progress deadline annotation
//! (`serving.knative.dev/progress-deadline: 5s`) of one row is the
//! configuration's deadline here: the scaler reads the annotation in its
//! place.

use super::*;

const STABLE_WINDOW_S: u64 = 300;
const PA_STABLE_WINDOW_S: u64 = 45;
const GRACE_S: u64 = 60;
const PROGRESS_DEADLINE_S: u64 = 121;
const ACTIVATION_TIMEOUT_S: u64 = PROGRESS_DEADLINE_S + 30;

/// `kpa_test.go` `defaultConfig()`.
pub(super) fn default_config() -> KpaConfig {
    KpaConfig {
        stable_window_s: STABLE_WINDOW_S,
        scale_to_zero_grace_period_s: GRACE_S,
        target_burst_capacity: 200.0,
        progress_deadline_s: PROGRESS_DEADLINE_S,
        max_scale_up_rate: 12.0,
        min_scale: 0,
        ..KpaConfig::default()
    }
}

struct Row {
    label: &'static str,
    start_replicas: u32,
    scale_to: i32,
    min_scale: u32,
    max_scale: u32,
    /// The PA's Active condition and its age, s (`newKPA`: Activating, 0).
    active: (PaActive, u64),
    reachability: Reachability,
    initialized: bool,
    initial_scale_annotation: Option<u32>,
    window_annotation_s: Option<u64>,
    retention_annotation_s: Option<u64>,
    tbc_annotation: Option<f64>,
    /// SKS in Proxy mode for this long, s.
    proxy_for_s: Option<u64>,
    probe: ProbeResult,
    config: fn(&mut KpaConfig),
    want_replicas: i32,
    want_scaling: bool,
    want_cb_count: u32,
    want_async_probe_count: u32,
}

fn row(label: &'static str, start: u32, scale_to: i32, want: i32, scaling: bool) -> Row {
    Row {
        label,
        start_replicas: start,
        scale_to,
        min_scale: 0,
        max_scale: 0,
        active: (PaActive::Activating, 0),
        reachability: Reachability::Unknown,
        initialized: false,
        initial_scale_annotation: None,
        window_annotation_s: None,
        retention_annotation_s: None,
        tbc_annotation: None,
        proxy_for_s: None,
        probe: ProbeResult::Activator,
        config: |_| {},
        want_replicas: want,
        want_scaling: scaling,
        want_cb_count: 0,
        want_async_probe_count: 0,
    }
}

impl Row {
    fn active(mut self, age_s: u64) -> Self {
        self.active = (PaActive::Active, age_s);
        self
    }
    fn inactive(mut self, age_s: u64) -> Self {
        self.active = (PaActive::Inactive, age_s);
        self
    }
    fn activating(mut self, age_s: u64) -> Self {
        self.active = (PaActive::Activating, age_s);
        self
    }
    fn min(mut self, n: u32) -> Self {
        self.min_scale = n;
        self
    }
    fn max(mut self, n: u32) -> Self {
        self.max_scale = n;
        self
    }
    fn reach(mut self, r: Reachability) -> Self {
        self.reachability = r;
        self
    }
    fn initialized(mut self) -> Self {
        self.initialized = true;
        self
    }
    fn initial(mut self, n: u32) -> Self {
        self.initial_scale_annotation = Some(n);
        self
    }
    fn window(mut self, s: u64) -> Self {
        self.window_annotation_s = Some(s);
        self
    }
    fn retention(mut self, s: u64) -> Self {
        self.retention_annotation_s = Some(s);
        self
    }
    fn tbc(mut self, v: f64) -> Self {
        self.tbc_annotation = Some(v);
        self
    }
    fn proxy(mut self, s: u64) -> Self {
        self.proxy_for_s = Some(s);
        self
    }
    fn probe_fails(mut self) -> Self {
        self.probe = ProbeResult::Error;
        self
    }
    fn config(mut self, f: fn(&mut KpaConfig)) -> Self {
        self.config = f;
        self
    }
    fn cb(mut self) -> Self {
        self.want_cb_count = 1;
        self
    }
    fn async_probe(mut self) -> Self {
        self.want_async_probe_count = 1;
        self
    }
}

/// `TestScaler`, in upstream order.
fn scaler_rows() -> Vec<Row> {
    use Reachability::{Reachable, Unknown, Unreachable};
    let (sw, psw, grace) = (STABLE_WINDOW_S, PA_STABLE_WINDOW_S, GRACE_S);
    vec![
        row("waits to scale to zero (just before idle period)", 1, 0, 1, false)
            .active(sw - 1)
            .cb(),
        row("waits to scale to zero (just before idle period), custom PA window", 1, 0, 1, false)
            .window(psw)
            .active(psw - 1)
            .cb(),
        row("custom PA window, check for standard window, no probe", 1, 0, 0, false)
            .window(psw)
            .active(sw),
        row("scale to 1 waiting for idle expires", 10, 0, 1, true)
            .active(sw - 1)
            .cb(),
        row("waits to scale to zero after idle period", 1, 0, 0, false).active(sw),
        row("waits to scale to zero after idle period; sks in proxy mode", 1, 0, 0, false)
            .active(sw)
            .proxy(0)
            .cb(),
        row("waits to scale to zero after idle period (custom PA window)", 1, 0, 0, false)
            .window(psw)
            .active(psw),
        row("can scale to zero after grace period, but 0 PA retention", 1, 0, 0, true)
            .inactive(grace)
            .retention(0)
            .config(|c| c.scale_to_zero_pod_retention_period_s = 2 * GRACE_S),
        row("can't scale to zero after grace period, but before last pod retention", 1, 0, 0, false)
            .inactive(grace)
            .config(|c| c.scale_to_zero_pod_retention_period_s = 2 * GRACE_S)
            .cb(),
        row("can't scale to zero after grace period, but before last pod retention, pa defined", 1, 0, 0, false)
            .inactive(grace)
            .retention(2 * grace)
            .config(|c| c.scale_to_zero_pod_retention_period_s = 0)
            .cb(),
        row("scale to zero after grace period, and after last pod retention", 1, 0, 0, true)
            .inactive(grace)
            .config(|c| c.scale_to_zero_pod_retention_period_s = GRACE_S),
        row("scale to zero after grace period", 1, 0, 0, true).inactive(grace),
        row("waits to scale to zero (just before grace period)", 1, 0, 0, false)
            .inactive(grace - 1)
            .cb(),
        row("waits to scale to zero (just before grace period, sks short)", 1, 0, 0, false)
            .inactive(grace - 1)
            .proxy(grace - 1)
            .cb(),
        row("waits to scale to zero (just before grace period, sks in proxy long) and last pod timeout positive", 1, 0, 0, true)
            .inactive(grace - 1)
            .config(|c| c.scale_to_zero_pod_retention_period_s = 42)
            .proxy(grace),
        row("waits to scale to zero (just before grace period, sks in proxy long)", 1, 0, 0, true)
            .inactive(grace - 1)
            .proxy(grace),
        // The probe is never called (upstream's prober panics).
        row("scale to zero with TBC=-1", 1, 0, 0, true)
            .tbc(-1.0)
            .inactive(grace)
            .probe_fails(),
        row("scale to zero after grace period, but fail prober", 1, 0, 0, false)
            .inactive(grace)
            .probe_fails()
            .async_probe(),
        row("scale to zero after grace period, but wrong prober response", 1, 0, 0, false)
            .inactive(grace)
            .probe_fails()
            .async_probe(),
        row("waits to scale to zero while activating until after deadline exceeded", 1, 0, -1, false)
            .activating(ACTIVATION_TIMEOUT_S / 2)
            .cb(),
        row("scale to zero while activating after deadline exceeded", 1, 0, 0, true)
            .activating(ACTIVATION_TIMEOUT_S + 1),
        row("scale to zero while activating after revision deadline exceeded", 1, 0, 0, true)
            .config(|c| c.progress_deadline_s = 5)
            .activating(5 + 30 + 1),
        row("scale down to minScale before grace period", 10, 0, 2, true)
            .min(2)
            .inactive(grace - 1)
            .reach(Reachable),
        row("scale down to minScale after grace period", 10, 0, 2, true)
            .min(2)
            .inactive(grace)
            .reach(Reachable),
        row("scale to zero ignore last pod retention if  revision is unreachable", 1, 0, 0, true)
            .inactive(grace)
            .reach(Unreachable)
            .config(|c| c.scale_to_zero_pod_retention_period_s = 10 * GRACE_S),
        row("can't scale to zero if revision is unreachable, but before deadline", 1, 0, 0, false)
            .inactive(grace - 1)
            .reach(Unreachable)
            .config(|c| c.scale_to_zero_pod_retention_period_s = 10 * GRACE_S)
            .cb(),
        row("ignore minScale if unreachable", 10, 0, 0, true)
            .min(2)
            .inactive(grace)
            .reach(Unreachable),
        row("observe minScale if reachability unknown", 10, 0, 2, true)
            .min(2)
            .inactive(grace)
            .reach(Unknown),
        row("scales up", 1, 10, 10, true),
        row("scales up to maxScale", 1, 10, 8, true).max(8),
        row("scale up inactive revision", 1, 10, 10, true).inactive(grace / 2),
        row("does not scale up from zero with no metrics", 0, -1, -1, false).inactive(0),
        row("scales up from zero to desired one", 0, 1, 1, true),
        row("scales up from zero to desired high scale", 0, 10, 10, true),
        row("negative scale does not scale", 12, -1, -1, false).active(0),
        row("initial scale attained, but now time to scale down", 2, 0, 1, true)
            .active(120)
            .initialized()
            .initial(2)
            .cb(),
        row("haven't scaled to initial scale, override desired scale with initial scale", 0, 1, 2, true)
            .activating(0)
            .initial(2),
        row("initial scale reached for the first time", 5, 1, 5, false)
            .activating(0)
            .initial(5),
        row("reaching initial scale zero", 0, 0, 0, false)
            .inactive(0)
            .initial(0)
            .config(|c| c.allow_zero_initial_scale = true)
            .cb(),
        row("unreachable revision with initialScale > 1 can scale to 0", 2, 0, 1, true)
            .active(120)
            .initial(2)
            .reach(Unreachable)
            .cb(),
    ]
}

/// `TestDisableScaleToZero`: `enable-scale-to-zero: false`, the PA active
/// since now and reachable.
fn disable_scale_to_zero_rows() -> Vec<Row> {
    let off = |c: &mut KpaConfig| c.enable_scale_to_zero = false;
    let base = |label, scale_to, want, scaling| {
        row(label, 10, scale_to, want, scaling)
            .active(0)
            .reach(Reachability::Reachable)
            .config(off)
    };
    vec![
        base("EnableScaleToZero == false and minScale == 0", 0, 1, true),
        base("EnableScaleToZero == false and minScale == 2", 0, 2, true).min(2),
        base(
            "EnableScaleToZero == false and desire pod is -1(initial value)",
            -1,
            -1,
            false,
        ),
    ]
}

fn check(test: &str, r: &Row) -> Result<(), String> {
    let mut cfg = default_config();
    cfg.min_scale = r.min_scale;
    cfg.max_scale = r.max_scale;
    (r.config)(&mut cfg);
    let input = ScalerInput {
        desired: r.scale_to,
        deployment_replicas: Some(r.start_replicas),
        active: r.active.0,
        condition_age: SimDuration::from_secs(r.active.1),
        proxy_for: r.proxy_for_s.map(SimDuration::from_secs),
        reachability: r.reachability,
        probe: r.probe,
        scale_target_initialized: r.initialized,
        initial_scale_annotation: r.initial_scale_annotation,
        window_annotation_s: r.window_annotation_s,
        retention_annotation_s: r.retention_annotation_s,
        tbc_annotation: r.tbc_annotation,
    };
    let o = scale_to_zero_step(&cfg, &input);
    let got = (
        o.scale,
        o.patches,
        u32::from(o.requeue_after.is_some()),
        u32::from(o.async_probe),
    );
    let want = (
        r.want_replicas,
        r.want_scaling,
        r.want_cb_count,
        r.want_async_probe_count,
    );
    match got == want {
        true => Ok(()),
        false => Err(format!(
            "scaler_test.go {test}/{}: (scale, patched, callbacks, async probes) = {got:?}, want {want:?}",
            r.label
        )),
    }
}

#[test]
fn scaler_test_rows() {
    let scaler = scaler_rows();
    let disable = disable_scale_to_zero_rows();
    assert_eq!((scaler.len(), disable.len()), (40, 3));
    let failures: Vec<String> = (scaler.iter().map(|r| check("TestScaler", r)))
        .chain(disable.iter().map(|r| check("TestDisableScaleToZero", r)))
        .filter_map(Result::err)
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The re-enqueue delays the rows imply (upstream asserts only the count):
/// the rest of the stable window, 3 s when the SKS is already proxying
/// (`handleScaleToZero`: "long enough to ensure current iteration is
/// finished"), the rest of the pod retention, the rest of the grace period
/// after the proxy time, the activation timeout.
#[test]
fn requeue_delays() {
    let rows = scaler_rows();
    let delay = |label: &str| {
        let r = rows.iter().find(|r| r.label == label).expect(label);
        let mut cfg = default_config();
        cfg.min_scale = r.min_scale;
        (r.config)(&mut cfg);
        let input = ScalerInput {
            desired: r.scale_to,
            deployment_replicas: Some(r.start_replicas),
            active: r.active.0,
            condition_age: SimDuration::from_secs(r.active.1),
            proxy_for: r.proxy_for_s.map(SimDuration::from_secs),
            reachability: r.reachability,
            probe: r.probe,
            scale_target_initialized: r.initialized,
            initial_scale_annotation: r.initial_scale_annotation,
            window_annotation_s: r.window_annotation_s,
            retention_annotation_s: r.retention_annotation_s,
            tbc_annotation: r.tbc_annotation,
        };
        scale_to_zero_step(&cfg, &input).requeue_after
    };
    let s = |n| Some(SimDuration::from_secs(n));
    assert_eq!(
        delay("waits to scale to zero (just before idle period)"),
        s(1)
    );
    assert_eq!(
        delay("waits to scale to zero after idle period; sks in proxy mode"),
        s(3)
    );
    assert_eq!(
        delay("can't scale to zero after grace period, but before last pod retention"),
        s(60)
    );
    assert_eq!(
        delay("waits to scale to zero (just before grace period, sks short)"),
        s(1)
    );
    assert_eq!(
        delay("waits to scale to zero (just before grace period)"),
        s(60)
    );
    assert_eq!(
        delay("waits to scale to zero while activating until after deadline exceeded"),
        s(ACTIVATION_TIMEOUT_S)
    );
}
