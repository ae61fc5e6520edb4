//! Conformance cases of the Ray Serve core: the case groups, their input and
//! expected JSON shapes, and how each case runs.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RayCfg {
    min_replicas: u32,
    max_replicas: u32,
    target_ongoing_requests: f64,
    upscaling_factor_effective: f64,
    downscaling_factor_effective: f64,
    #[serde(default)]
    upscale_delay_s: Option<f64>,
    #[serde(default)]
    downscale_delay_s: Option<f64>,
    #[serde(default)]
    downscale_to_zero_delay_s: Option<f64>,
}

impl RayCfg {
    fn config(&self, interval: f64) -> ray_serve::RayServeConfig {
        let d = ray_serve::RayServeConfig::default();
        ray_serve::RayServeConfig {
            min_replicas: self.min_replicas,
            max_replicas: self.max_replicas,
            target_ongoing_requests: self.target_ongoing_requests,
            upscaling_factor: Some(self.upscaling_factor_effective),
            downscaling_factor: Some(self.downscaling_factor_effective),
            upscale_delay_s: self.upscale_delay_s.unwrap_or(d.upscale_delay_s),
            downscale_delay_s: self.downscale_delay_s.unwrap_or(d.downscale_delay_s),
            downscale_to_zero_delay_s: self.downscale_to_zero_delay_s,
            control_loop_interval_s: interval,
            // The vectors pin the tick-counting generation.
            delay_clock: ray_serve::DelayClock::Ticks,
            ..d
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalcIn {
    config: RayCfg,
    total_num_requests: f64,
    num_running_replicas: u32,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CalcOut {
    desired_num_replicas: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upstream_assertion: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RayStep {
    current_num_replicas: u32,
    target_num_replicas: u32,
    total_num_requests: f64,
    expected_decision: u32,
    #[serde(default)]
    repeat: Option<u32>,
    #[serde(default, alias = "notes")]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeqIn {
    config: RayCfg,
    control_loop_interval_s: f64,
    steps: Vec<RayStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Phase {
    curr_target_num_replicas: u32,
    desired_sequence: Vec<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockIn {
    #[serde(default)]
    desired_num_replicas: Option<f64>,
    #[serde(default)]
    current_num_replicas: Option<u32>,
    #[serde(default)]
    upscaling_factor: Option<f64>,
    #[serde(default)]
    downscaling_factor: Option<f64>,
    #[serde(default)]
    upscale_delay_s: Option<f64>,
    #[serde(default)]
    downscale_delay_s: Option<f64>,
    #[serde(default)]
    downscale_to_zero_delay_s: Option<f64>,
    #[serde(default)]
    control_loop_interval_s: Option<f64>,
    /// `_apply_bounds` inputs.
    #[serde(default)]
    num_replicas: Option<i64>,
    #[serde(default)]
    capacity_adjusted_min_replicas: Option<i64>,
    #[serde(default)]
    capacity_adjusted_max_replicas: Option<i64>,
    #[serde(default)]
    phase1: Option<Phase>,
    #[serde(default)]
    phase2: Option<Phase>,
    #[serde(default)]
    phase3: Option<Phase>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct BlockOut {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase1_decisions: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase2_decisions: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase3_decisions: Option<Vec<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomIn {
    current_num_replicas: u32,
    target_num_replicas: u32,
    total_num_requests: f64,
    custom_policy_raw_desired: f64,
    upscaling_factor: Option<f64>,
    downscaling_factor: Option<f64>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CustomOut {
    decision: u32,
}

pub(super) fn ray_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
    match group {
        "calculate_desired" => {
            let c: Case<CalcIn, CalcOut> = parse(v, path)?;
            let cfg = c.inputs.config.config(0.1);
            let actual = match cfg.validate().and_then(|()| {
                ray_serve::calculate_desired_num_replicas(
                    &cfg,
                    c.inputs.total_num_requests,
                    c.inputs.num_running_replicas,
                )
            }) {
                Ok(d) => to_json(&CalcOut {
                    desired_num_replicas: d,
                    upstream_assertion: None,
                }),
                Err(e) => failed(e),
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        "default_policy_sequences" => {
            let c: StepCase<SeqIn> = parse(v, path)?;
            let i = c.inputs;
            let mut expected = Vec::new();
            let mut actual = Vec::new();
            let mut p =
                match ray_serve::RayServePolicy::new(i.config.config(i.control_loop_interval_s)) {
                    Ok(p) => p,
                    Err(e) => return Ok((c.id, Value::Null, failed(e))),
                };
            for s in &i.steps {
                for _ in 0..s.repeat.unwrap_or(1) {
                    expected.push(json!(s.expected_decision));
                    actual.push(json!(p.decide(
                        s.current_num_replicas,
                        s.target_num_replicas,
                        s.total_num_requests
                    )));
                }
            }
            Ok((c.id, Value::Array(expected), Value::Array(actual)))
        }
        "building_blocks" => {
            let c: Case<BlockIn, BlockOut> = parse(v, path)?;
            let i = &c.inputs;
            let actual = if c.function.contains("_apply_scaling_factors") {
                let (Some(d), Some(cur)) = (i.desired_num_replicas, i.current_num_replicas) else {
                    return Err(err(path, format!("case `{}`: _apply_scaling_factors needs desired_num_replicas and current_num_replicas", c.id)));
                };
                let r = ray_serve::apply_scaling_factors(
                    d,
                    cur,
                    i.upscaling_factor.unwrap_or(1.0),
                    i.downscaling_factor.unwrap_or(1.0),
                );
                BlockOut {
                    result: Some(r),
                    phase1_decisions: None,
                    phase2_decisions: None,
                    phase3_decisions: None,
                }
            } else if c.function.contains("_apply_bounds") {
                let (Some(n), Some(lo), Some(hi)) = (
                    i.num_replicas,
                    i.capacity_adjusted_min_replicas,
                    i.capacity_adjusted_max_replicas,
                ) else {
                    return Err(err(path, format!("case `{}`: _apply_bounds needs num_replicas, capacity_adjusted_min_replicas and capacity_adjusted_max_replicas", c.id)));
                };
                BlockOut {
                    result: Some(ray_serve::apply_bounds(n, lo, hi)),
                    phase1_decisions: None,
                    phase2_decisions: None,
                    phase3_decisions: None,
                }
            } else if c.function.contains("_apply_delay_logic") {
                let d = ray_serve::RayServeConfig::default();
                let cfg = ray_serve::RayServeConfig {
                    upscale_delay_s: i.upscale_delay_s.unwrap_or(d.upscale_delay_s),
                    downscale_delay_s: i.downscale_delay_s.unwrap_or(d.downscale_delay_s),
                    downscale_to_zero_delay_s: i.downscale_to_zero_delay_s,
                    control_loop_interval_s: i
                        .control_loop_interval_s
                        .unwrap_or(d.control_loop_interval_s),
                    ..d
                };
                let mut st = ray_serve::DelayState::default();
                let mut run = |ph: &Option<Phase>| {
                    ph.as_ref().map(|ph| {
                        ph.desired_sequence
                            .iter()
                            .map(|&x| {
                                ray_serve::apply_delay_logic(
                                    &cfg,
                                    &mut st,
                                    x,
                                    ph.curr_target_num_replicas,
                                )
                            })
                            .collect::<Vec<u32>>()
                    })
                };
                let p1 = run(&i.phase1);
                let p2 = run(&i.phase2);
                let p3 = run(&i.phase3);
                BlockOut {
                    result: None,
                    phase1_decisions: p1,
                    phase2_decisions: p2,
                    phase3_decisions: p3,
                }
            } else {
                return Err(err(
                    path,
                    format!("case `{}`: unknown building block `{}` (known: _apply_scaling_factors, _apply_bounds, _apply_delay_logic)", c.id, c.function),
                ));
            };
            Ok((c.id, to_json(&c.expected), to_json(&actual)))
        }
        "custom_policy_with_defaults" => {
            let c: Case<CustomIn, CustomOut> = parse(v, path)?;
            let i = &c.inputs;
            // Delays 0, bounds [0, 10], as the group's function states.
            let cfg = ray_serve::RayServeConfig {
                min_replicas: 0,
                max_replicas: 10,
                upscale_delay_s: 0.0,
                downscale_delay_s: 0.0,
                upscaling_factor: i.upscaling_factor,
                downscaling_factor: i.downscaling_factor,
                ..ray_serve::RayServeConfig::default()
            };
            let actual = match ray_serve::RayServePolicy::new(cfg) {
                Ok(mut p) => to_json(&CustomOut {
                    decision: p.apply(
                        i.custom_policy_raw_desired,
                        i.current_num_replicas,
                        i.target_num_replicas,
                        i.total_num_requests,
                    ),
                }),
                Err(e) => failed(e),
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        g => Err(unknown_group(path, g)),
    }
}
