//! Conformance cases of the Knative KPA core: the case groups, their input and
//! expected JSON shapes, and how each case runs.

use super::*;

/// A decider spec as the cases write it: `kpa::DeciderSpec` plus upstream's
/// `activator_capacity` (part of `DeciderSpec` upstream, not read by
/// `Scale`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecIn {
    scaling_metric: kpa::ScalingMetric,
    target: f64,
    total: f64,
    target_burst_capacity: f64,
    panic_threshold: f64,
    max_scale_up_rate: f64,
    max_scale_down_rate: f64,
    stable_window_s: u64,
    reachable: bool,
    scale_down_delay_s: u64,
    activation_scale: u32,
    #[serde(default)]
    tick_interval_s: Option<u64>,
    #[serde(default)]
    #[allow(dead_code)]
    activator_capacity: Option<f64>,
}

impl SpecIn {
    fn spec(&self) -> kpa::DeciderSpec {
        kpa::DeciderSpec {
            scaling_metric: self.scaling_metric,
            target: self.target,
            total: self.total,
            target_burst_capacity: self.target_burst_capacity,
            panic_threshold: self.panic_threshold,
            max_scale_up_rate: self.max_scale_up_rate,
            max_scale_down_rate: self.max_scale_down_rate,
            stable_window_s: self.stable_window_s,
            reachable: self.reachable,
            scale_down_delay_s: self.scale_down_delay_s,
            activation_scale: self.activation_scale,
            tick_interval_s: self.tick_interval_s.unwrap_or(2),
        }
    }
}

/// Fields of the spec a step replaces (upstream `Update` swaps the whole
/// spec; fields left out keep their values).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SpecUpdate {
    scaling_metric: Option<kpa::ScalingMetric>,
    target: Option<f64>,
    total: Option<f64>,
    target_burst_capacity: Option<f64>,
    panic_threshold: Option<f64>,
    max_scale_up_rate: Option<f64>,
    max_scale_down_rate: Option<f64>,
    stable_window_s: Option<u64>,
    reachable: Option<bool>,
    scale_down_delay_s: Option<u64>,
    activation_scale: Option<u32>,
    #[allow(dead_code)]
    activator_capacity: Option<f64>,
}

impl SpecUpdate {
    fn apply(&self, s: &mut kpa::DeciderSpec) {
        fn set<T: Copy>(to: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *to = v;
            }
        }
        set(&mut s.scaling_metric, self.scaling_metric);
        set(&mut s.target, self.target);
        set(&mut s.total, self.total);
        set(&mut s.target_burst_capacity, self.target_burst_capacity);
        set(&mut s.panic_threshold, self.panic_threshold);
        set(&mut s.max_scale_up_rate, self.max_scale_up_rate);
        set(&mut s.max_scale_down_rate, self.max_scale_down_rate);
        set(&mut s.stable_window_s, self.stable_window_s);
        set(&mut s.reachable, self.reachable);
        set(&mut s.scale_down_delay_s, self.scale_down_delay_s);
        set(&mut s.activation_scale, self.activation_scale);
    }
}

/// The ready-pod counter's error (`not_found`: carry on with 0 pods;
/// `error`: no decision).
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum PodCountErr {
    NotFound,
    Error,
}

impl PodCountErr {
    fn core(self) -> kpa::PodCountError {
        match self {
            PodCountErr::NotFound => kpa::PodCountError::NotFound,
            PodCountErr::Error => kpa::PodCountError::Other,
        }
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct DeciderOut {
    scale_valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    desired_pod_count: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    excess_burst_capacity: Option<i32>,
    #[serde(default, alias = "panic_mode", skip_serializing_if = "Option::is_none")]
    in_panic_mode: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_panic_pods: Option<i32>,
}

/// The decider's panic state (after creation or a step).
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PanicState {
    #[serde(default, alias = "panic_mode", skip_serializing_if = "Option::is_none")]
    in_panic_mode: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_panic_pods: Option<i32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeciderStep {
    t_s: f64,
    ready_pods: u32,
    observed_stable: f64,
    observed_panic: f64,
    #[serde(default)]
    metric_error: bool,
    #[serde(default)]
    pod_count_error: Option<PodCountErr>,
    #[serde(default)]
    spec_update_before_step: Option<SpecUpdate>,
    expected: DeciderOut,
    #[serde(default, alias = "notes")]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PanicOverride {
    panic_started_s_before_first_step: f64,
    max_panic_pods: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeciderIn {
    spec: SpecIn,
    ready_pods_at_creation: u32,
    #[serde(default)]
    pod_count_error_at_creation: Option<PodCountErr>,
    #[serde(default)]
    expected_after_creation: Option<PanicState>,
    steps: Vec<DeciderStep>,
    #[serde(default)]
    state_override_before_first_step: Option<PanicOverride>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct S2zConfig {
    stable_window_s: u64,
    scale_to_zero_grace_period_s: u64,
    scale_to_zero_pod_retention_period_s: u64,
    progress_deadline_s: u64,
    activation_timeout_buffer_s: u64,
    enable_scale_to_zero: bool,
    target_burst_capacity: f64,
    initial_scale: u32,
    allow_zero_initial_scale: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct S2zIn {
    config: S2zConfig,
    deployment_replicas: Option<u32>,
    decider_desired_scale: i32,
    min_scale: u32,
    max_scale: u32,
    pa_active_condition: kpa::PaActive,
    pa_condition_age_s: f64,
    sks_proxy_mode_for_s: Option<f64>,
    pa_window_annotation_s: Option<u64>,
    pa_scale_to_zero_pod_retention_annotation_s: Option<u64>,
    reachability: kpa::Reachability,
    activator_probe_result: String,
    initial_scale_annotation: Option<u32>,
    scale_target_initialized: bool,
    pa_target_burst_capacity_annotation: Option<f64>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct S2zOut {
    returned_scale: i32,
    patches_deployment: bool,
    reenqueue_callbacks: u32,
    async_probes_started: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BucketIn {
    window_s: f64,
    granularity_s: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BucketStep {
    op: String,
    t_s: f64,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    expected: Option<f64>,
    #[serde(default, alias = "notes")]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BucketCase {
    id: String,
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<Source>,
    #[allow(dead_code)]
    function: String,
    inputs: BucketIn,
    steps: Vec<BucketStep>,
    #[serde(default)]
    #[allow(dead_code)]
    notes: Option<String>,
}

pub(super) fn kpa_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
    match group {
        "decider" => {
            let c: StepCase<DeciderIn> = parse(v, path)?;
            let i = c.inputs;
            let t0 = i.steps.first().map_or(0.0, |s| s.t_s);
            let mut expected: Vec<Value> = i.steps.iter().map(|s| to_json(&s.expected)).collect();
            let mut spec = i.spec.spec();
            let counted = match i.pod_count_error_at_creation {
                Some(e) => Err(e.core()),
                None => Ok(i.ready_pods_at_creation),
            };
            let mut d = match kpa::KpaDecider::new_counted(spec.clone(), counted, at(t0)) {
                Ok(d) => d,
                Err(e) => return Ok((c.id, Value::Array(expected), failed(e))),
            };
            let mut actual = Vec::new();
            if let Some(want) = &i.expected_after_creation {
                expected.insert(0, to_json(want));
                actual.push(to_json(&PanicState {
                    in_panic_mode: Some(d.in_panic()),
                    max_panic_pods: Some(d.max_panic_pods()),
                }));
            }
            if let Some(o) = &i.state_override_before_first_step {
                d.set_panic_state(
                    Some(at(t0 - o.panic_started_s_before_first_step)),
                    o.max_panic_pods,
                );
            }
            for s in &i.steps {
                if let Some(u) = &s.spec_update_before_step {
                    u.apply(&mut spec);
                    if let Err(e) = d.update(spec.clone()) {
                        actual.push(failed(e));
                        continue;
                    }
                }
                let obs = (!s.metric_error).then_some((s.observed_stable, s.observed_panic));
                let ready = match s.pod_count_error {
                    Some(e) => Err(e.core()),
                    None => Ok(s.ready_pods),
                };
                let r = d.scale_counted(at(s.t_s), ready, obs);
                // Upstream compares the burst capacity within ±1.
                let ebc = r.valid.then(|| match s.expected.excess_burst_capacity {
                    Some(want) if (want - r.excess_burst_capacity).abs() <= 1 => want,
                    _ => r.excess_burst_capacity,
                });
                actual.push(to_json(&DeciderOut {
                    scale_valid: r.valid,
                    desired_pod_count: r.valid.then_some(r.desired_pod_count),
                    excess_burst_capacity: ebc,
                    in_panic_mode: Some(d.in_panic()),
                    max_panic_pods: Some(d.max_panic_pods()),
                }));
            }
            Ok((c.id, Value::Array(expected), Value::Array(actual)))
        }
        "scale_to_zero_and_bounds" => {
            let c: Case<S2zIn, S2zOut> = parse(v, path)?;
            let i = &c.inputs;
            let cfg = kpa::KpaConfig {
                stable_window_s: i.config.stable_window_s,
                scale_to_zero_grace_period_s: i.config.scale_to_zero_grace_period_s,
                scale_to_zero_pod_retention_period_s: i.config.scale_to_zero_pod_retention_period_s,
                progress_deadline_s: i.config.progress_deadline_s,
                activation_timeout_buffer_s: i.config.activation_timeout_buffer_s,
                enable_scale_to_zero: i.config.enable_scale_to_zero,
                target_burst_capacity: i.config.target_burst_capacity,
                initial_scale: i.config.initial_scale,
                allow_zero_initial_scale: i.config.allow_zero_initial_scale,
                min_scale: i.min_scale,
                max_scale: i.max_scale,
                ..kpa::KpaConfig::default()
            };
            let probe = match i.activator_probe_result.as_str() {
                "activator" => kpa::ProbeResult::Activator,
                // A probe that must not be called answers as a failure, so
                // calling it shows up as an async probe in the result.
                "error" | "not_called" => kpa::ProbeResult::Error,
                other => return Err(err(path, format!("case `{}`: activator_probe_result `{other}` is not activator/error/not_called", c.id))),
            };
            let actual = match cfg.validate() {
                Err(e) => failed(e),
                Ok(()) => {
                    let o = kpa::scale_to_zero_step(
                        &cfg,
                        &kpa::ScalerInput {
                            desired: i.decider_desired_scale,
                            deployment_replicas: i.deployment_replicas,
                            active: i.pa_active_condition,
                            condition_age: crate::autoscalers::secs_f64(i.pa_condition_age_s),
                            proxy_for: i.sks_proxy_mode_for_s.map(crate::autoscalers::secs_f64),
                            reachability: i.reachability,
                            probe,
                            scale_target_initialized: i.scale_target_initialized,
                            initial_scale_annotation: i.initial_scale_annotation,
                            window_annotation_s: i.pa_window_annotation_s,
                            retention_annotation_s: i.pa_scale_to_zero_pod_retention_annotation_s,
                            tbc_annotation: i.pa_target_burst_capacity_annotation,
                        },
                    );
                    to_json(&S2zOut {
                        returned_scale: o.scale,
                        patches_deployment: o.patches,
                        reenqueue_callbacks: u32::from(o.requeue_after.is_some()),
                        async_probes_started: u32::from(o.async_probe),
                    })
                }
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        "window_average_buckets" => {
            let c: BucketCase = parse(v, path)?;
            let mut expected = Vec::new();
            let mut actual = Vec::new();
            let mut b = match kpa::TimedBuckets::new(
                crate::autoscalers::secs_f64(c.inputs.window_s),
                crate::autoscalers::secs_f64(c.inputs.granularity_s),
            ) {
                Ok(b) => b,
                Err(e) => return Ok((c.id, Value::Null, failed(e))),
            };
            for (k, s) in c.steps.iter().enumerate() {
                match (s.op.as_str(), s.value, s.expected) {
                    ("record", Some(val), None) => b.record(at(s.t_s), val),
                    ("avg", None, Some(e)) => {
                        expected.push(json!({ "t_s": s.t_s, "avg": e }));
                        actual.push(json!({ "t_s": s.t_s, "avg": b.window_average(at(s.t_s)) }));
                    }
                    _ => {
                        return Err(err(
                            &format!("{path}.steps[{k}]"),
                            "step must be {op: record, value} or {op: avg, expected}",
                        ))
                    }
                }
            }
            Ok((c.id, Value::Array(expected), Value::Array(actual)))
        }
        g => Err(unknown_group(path, g)),
    }
}
