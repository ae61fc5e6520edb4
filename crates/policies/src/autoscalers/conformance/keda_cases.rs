//! Conformance cases of the KEDA core: the case groups, their input and
//! expected JSON shapes, and how each case runs.

use super::*;

#[derive(Deserialize)]
#[serde(untagged)]
enum CreationAge {
    Seconds(f64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecIn {
    current_replicas: u32,
    is_active: bool,
    #[serde(default)]
    is_error: bool,
    #[serde(default)]
    min_replica_count: u32,
    #[serde(default)]
    idle_replica_count: Option<u32>,
    #[serde(default)]
    max_replica_count: Option<u32>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    /// Seconds before now, `null` = never.
    #[serde(default)]
    last_active_time: Option<f64>,
    #[serde(default)]
    creation_age_s: Option<CreationAge>,
    #[serde(default)]
    cooldown_period_s: Option<u64>,
    #[serde(default)]
    initial_cooldown_period_s: Option<u64>,
    /// `spec.fallback`, when the case sets one.
    #[serde(default)]
    fallback: Option<FallbackJson>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExecOut {
    replicas_after: u32,
    scale_target_updated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    active_condition: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_active_time_set: Option<bool>,
    /// The Paused condition is True.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    paused_condition: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FallbackJson {
    failure_threshold: i32,
    replicas: i32,
    #[serde(default)]
    behavior: keda::FallbackBehavior,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HealthJson {
    number_of_failures: u32,
    status: keda::HealthStatus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FbIn {
    scaler_error: bool,
    /// `null` or absent: no `spec.fallback`.
    #[serde(default)]
    fallback: Option<FallbackJson>,
    number_of_failures_before: u32,
    /// The trigger's health before the call (default Happy).
    #[serde(default)]
    health_status_before: keda::HealthStatus,
    #[serde(default)]
    current_replicas: Option<u32>,
    metric_target_average_value: f64,
    /// The scaler's value when it succeeds (default 0).
    #[serde(default)]
    scaler_metric_value: Option<f64>,
    /// Other triggers' health (for the Fallback condition).
    #[serde(default)]
    other_metrics_health: Vec<HealthJson>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FbOut {
    error_returned: bool,
    fallback_metric_value: Option<f64>,
    number_of_failures_after: u32,
    health_status_after: keda::HealthStatus,
    /// The value returned when the scaler succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metric_value: Option<f64>,
    /// The Fallback condition is True.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fallback_condition: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerJson {
    #[serde(default)]
    name: Option<String>,
    error: bool,
    is_active: bool,
    #[serde(default)]
    resource_metric: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActIn {
    triggers: Vec<TriggerJson>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ActOut {
    is_active: bool,
    is_error: bool,
    active_triggers: Vec<String>,
}

pub(super) fn keda_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
    let now = at(0.0);
    match group {
        "executor" => {
            let c: Case<ExecIn, ExecOut> = parse(v, path)?;
            let i = &c.inputs;
            let d = keda::KedaConfig::default();
            let mut cfg = keda::KedaConfig {
                min_replica_count: i.min_replica_count,
                idle_replica_count: i.idle_replica_count,
                max_replica_count: i.max_replica_count.unwrap_or(d.max_replica_count),
                cooldown_period_s: i.cooldown_period_s.unwrap_or(d.cooldown_period_s),
                initial_cooldown_period_s: i
                    .initial_cooldown_period_s
                    .unwrap_or(d.initial_cooldown_period_s),
                fallback: i.fallback.as_ref().map(|f| keda::FallbackConfig {
                    failure_threshold: f.failure_threshold,
                    replicas: f.replicas,
                    behavior: f.behavior,
                }),
                ..d
            };
            for (k, val) in &i.annotations {
                // Boolean annotations read as KEDA reads them.
                let flag = keda::annotation_flag(val);
                match k.as_str() {
                    "autoscaling.keda.sh/paused-scale-in" => cfg.paused_scale_in = flag,
                    "autoscaling.keda.sh/paused-scale-out" => cfg.paused_scale_out = flag,
                    "autoscaling.keda.sh/paused" => cfg.paused = flag,
                    "autoscaling.keda.sh/force-activation" => cfg.force_activation = flag,
                    "autoscaling.keda.sh/paused-replicas" => {
                        cfg.paused_replicas = Some(val.trim().parse().map_err(|_| {
                            err(
                                path,
                                format!("case `{}`: paused-replicas `{val}` is not a count", c.id),
                            )
                        })?)
                    }
                    other => {
                        return Err(err(
                            path,
                            format!("case `{}`: unknown annotation `{other}` (known: autoscaling.keda.sh/paused, paused-replicas, paused-scale-in, paused-scale-out, force-activation)", c.id),
                        ))
                    }
                }
            }
            let created = match &i.creation_age_s {
                None => ago(BASE_S / 2.0),
                Some(CreationAge::Seconds(s)) => ago(*s),
                Some(CreationAge::Text(t)) if t.starts_with("large") => ago(BASE_S / 2.0),
                Some(CreationAge::Text(t)) => {
                    return Err(err(
                        path,
                        format!(
                            "case `{}`: creation_age_s `{t}` is neither seconds nor \"large …\"",
                            c.id
                        ),
                    ))
                }
            };
            let actual = match keda::KedaExecutor::new(cfg, created) {
                Err(e) => failed(e),
                Ok(mut ex) => {
                    ex.set_last_active_time(i.last_active_time.map(ago));
                    let d = ex.request_scale(now, i.current_replicas, i.is_active, i.is_error);
                    to_json(&ExecOut {
                        replicas_after: d.set_replicas.unwrap_or(i.current_replicas),
                        scale_target_updated: d.set_replicas.is_some(),
                        // Untouched conditions stay Unknown: not True.
                        active_condition: Some(d.active_condition.unwrap_or(false)),
                        last_active_time_set: Some(d.last_active_time_set),
                        paused_condition: Some(d.paused),
                    })
                }
            };
            let mut expected = to_json(&c.expected);
            // Absent expectations are not asserted.
            if c.expected.last_active_time_set.is_none() {
                if let Value::Object(m) = &mut expected {
                    m.insert("last_active_time_set".into(), Value::Null);
                }
            }
            Ok((c.id, expected, actual))
        }
        "fallback" => {
            let c: Case<FbIn, FbOut> = parse(v, path)?;
            let i = &c.inputs;
            let fb = i.fallback.as_ref().map(|f| keda::FallbackConfig {
                failure_threshold: f.failure_threshold,
                replicas: f.replicas,
                behavior: f.behavior,
            });
            let mut state = keda::FallbackState {
                failures: i.number_of_failures_before,
                status: i.health_status_before,
            };
            let scaler = (!i.scaler_error).then_some(i.scaler_metric_value.unwrap_or(0.0));
            let r = keda::metric_with_fallback(
                &mut state,
                fb.as_ref(),
                scaler,
                i.current_replicas,
                i.metric_target_average_value,
            );
            let (error_returned, value, metric) = match r {
                keda::FallbackResult::Error => (true, None, None),
                keda::FallbackResult::Fallback(v) => (false, Some(v), None),
                keda::FallbackResult::Metric(v) => (false, None, Some(v)),
            };
            // The condition is written only with a valid fallback
            // (`updateStatus` returns early otherwise): it stays False.
            let condition = fb.filter(keda::FallbackConfig::is_valid).is_some_and(|f| {
                let mut all: Vec<keda::FallbackState> = (i.other_metrics_health.iter())
                    .map(|h| keda::FallbackState {
                        failures: h.number_of_failures,
                        status: h.status,
                    })
                    .collect();
                all.push(state);
                keda::fallback_condition(&all, f.failure_threshold)
            });
            let actual = to_json(&FbOut {
                error_returned,
                fallback_metric_value: value,
                number_of_failures_after: state.failures,
                health_status_after: state.status,
                metric_value: c.expected.metric_value.and(metric),
                fallback_condition: c.expected.fallback_condition.map(|_| condition),
            });
            Ok((c.id, to_json(&c.expected), actual))
        }
        "activity" => {
            let c: Case<ActIn, ActOut> = parse(v, path)?;
            let ts: Vec<keda::TriggerState> = c
                .inputs
                .triggers
                .iter()
                .enumerate()
                .map(|(k, t)| keda::TriggerState {
                    name: t.name.clone().unwrap_or_else(|| format!("trigger-{k}")),
                    is_active: t.is_active,
                    is_error: t.error,
                    is_resource: t.resource_metric,
                })
                .collect();
            let a = keda::aggregate_activity(&ts, None);
            Ok((
                c.id,
                to_json(&c.expected),
                to_json(&ActOut {
                    is_active: a.is_active,
                    is_error: a.is_error,
                    active_triggers: a.active_triggers,
                }),
            ))
        }
        g => Err(unknown_group(path, g)),
    }
}
