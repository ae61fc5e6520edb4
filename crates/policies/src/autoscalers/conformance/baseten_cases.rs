//! Conformance cases of the Baseten core: the case groups, their input and
//! expected JSON shapes, and how each case runs.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BtIn {
    concurrency_target: u32,
    target_utilization_percent: u32,
    in_flight_requests_avg_over_window: f64,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct BtOut {
    desired_replicas: u32,
    scale_up_trigger_per_replica: f64,
}

pub(super) fn baseten_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
    match group {
        "documentation_examples" => {
            let c: Case<BtIn, BtOut> = parse(v, path)?;
            let i = &c.inputs;
            // The documented example has no max: use a large one.
            let cfg = baseten::BasetenConfig {
                max_replicas: 1000,
                concurrency_target: i.concurrency_target,
                target_utilization_percent: i.target_utilization_percent,
                ..baseten::BasetenConfig::default()
            };
            let actual = match cfg.validate() {
                Err(e) => failed(e),
                Ok(()) => to_json(&BtOut {
                    desired_replicas: cfg.desired(i.in_flight_requests_avg_over_window),
                    scale_up_trigger_per_replica: cfg.trigger_per_replica(),
                }),
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        g => Err(unknown_group(path, g)),
    }
}
