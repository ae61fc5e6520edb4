//! The monthly inference cost equation: run aggregates extrapolated to a
//! 730-hour month and reconciled with the billed cost (`docs/cost.md`).

use super::*;

/// Run aggregates the monthly cost equation is computed from. The caller
/// (the engine) gathers them; units are in the field names.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MonthlyInputs {
    /// The simulated span the aggregates cover; must be > 0.
    pub simulated: SimDuration,
    /// Time integral of the number of Ready replicas (busy or idle_ready),
    /// replica·ns. Divided by `simulated` it is the average number of
    /// concurrent Ready replicas.
    pub ready_replica_ns: u128,
    /// GPU price of one replica for one hour, USD: price per GPU-hour ×
    /// GPUs per replica. With several pools, the Ready-time-weighted mean.
    pub usd_per_replica_hour: f64,
    /// Replicas that finished a cold start (reached Ready) in the run.
    pub scale_up_events: u64,
    /// Sum over those replicas of their cold-start duration (pulling image
    /// through warming up, node provisioning excluded), replica·ns.
    pub cold_start_replica_ns: u128,
    /// Mean arrival rate over `simulated`, requests per second.
    pub arrival_rate_per_s: f64,
    /// Mean time a request occupies a replica (start of service to last
    /// token), seconds.
    pub mean_service_s: f64,
    /// Concurrent requests per replica at which the replica still meets
    /// the SLA (computed by the caller); must be > 0.
    pub sla_concurrency_per_replica: f64,
    /// Billed dollars of the run ([`CostReport::billed_costs`]).
    pub billed: BilledCosts,
}

impl MonthlyInputs {
    /// Checks ranges; the error names the offending field.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.simulated == SimDuration::ZERO {
            return Err(FieldError::new(
                "simulated",
                "must be > 0 to extrapolate to a month",
            ));
        }
        if self.scale_up_events == 0 && self.cold_start_replica_ns != 0 {
            return Err(FieldError::new(
                "cold_start_replica_ns",
                format!(
                    "must be 0 when scale_up_events is 0, got {}",
                    self.cold_start_replica_ns
                ),
            ));
        }
        for (field, v) in [
            ("usd_per_replica_hour", self.usd_per_replica_hour),
            ("arrival_rate_per_s", self.arrival_rate_per_s),
            ("mean_service_s", self.mean_service_s),
            ("billed.total_usd", self.billed.total_usd),
            ("billed.procurement_usd", self.billed.procurement_usd),
            ("billed.draining_usd", self.billed.draining_usd),
            ("billed.packing_usd", self.billed.packing_usd),
            ("billed.warm_pool_usd", self.billed.warm_pool_usd),
            (
                "billed.billing_granularity_usd",
                self.billed.billing_granularity_usd,
            ),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(FieldError::new(
                    field,
                    format!("must be a finite number >= 0, got {v}"),
                ));
            }
        }
        let c = self.sla_concurrency_per_replica;
        if !(c.is_finite() && c > 0.0) {
            return Err(FieldError::new(
                "sla_concurrency_per_replica",
                format!("must be a finite number > 0, got {c}"),
            ));
        }
        Ok(())
    }
}

/// The monthly inference cost equation, extrapolated from a run, beside the
/// billed cost extrapolated the same way. All `_usd` figures are per
/// 730-hour month.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthlyEquation {
    /// Hours in the month (730).
    pub hours_per_month: f64,
    /// Simulated hours the run covers.
    pub simulated_hours: f64,
    /// GPU price of one replica-hour, USD.
    pub usd_per_replica_hour: f64,
    /// Time average of Ready replicas.
    pub average_ready_replicas: f64,
    /// Replicas Little's law needs at the SLA-feasible concurrency:
    /// arrival rate × mean service time ÷ per-replica concurrency.
    pub needed_replicas: f64,
    /// The part of `average_ready_replicas` the load needs:
    /// `min(average_ready_replicas, needed_replicas)`.
    pub steady_state_replicas: f64,
    /// The rest of `average_ready_replicas`: the over-provisioning buffer.
    pub buffer_replicas: f64,
    /// Scale-up events extrapolated to a month.
    pub scale_up_events_per_month: f64,
    /// Mean cold-start duration of replicas that reached Ready, seconds.
    pub model_load_s: f64,
    /// Term 1: steady-state replicas × $/replica-hour × 730.
    pub steady_state_usd: f64,
    /// Term 2: scale-up events per month × model load time × $/replica-hour.
    pub scaling_overhead_usd: f64,
    /// Term 3: buffer replicas × $/replica-hour × 730.
    pub overprovisioning_usd: f64,
    /// Sum of the three terms.
    pub equation_total_usd: f64,
    /// Billed USD × 730 ÷ simulated hours.
    pub billed_monthly_usd: f64,
    /// Billed minus equation, by what the equation leaves out.
    pub difference: MonthlyDifference,
}

/// `billed_monthly_usd − equation_total_usd`, broken down. Every field is
/// per month; `other_usd` is what the named lines do not explain.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthlyDifference {
    /// Billed minus equation.
    pub total_usd: f64,
    /// Node provisioning before a replica exists.
    pub procurement_usd: f64,
    /// Draining replicas.
    pub draining_usd: f64,
    /// Unallocated GPUs (packing, release delay).
    pub packing_usd: f64,
    /// Warm pool.
    pub warm_pool_usd: f64,
    /// Billing-granularity rounding.
    pub billing_granularity_usd: f64,
    /// The remainder: `total_usd` minus the lines above.
    pub other_usd: f64,
}

/// Computes the monthly inference cost equation from run aggregates and
/// reconciles it with the billed cost (`docs/cost.md`).
pub fn monthly_equation(inputs: &MonthlyInputs) -> Result<MonthlyEquation, FieldError> {
    inputs.validate()?;
    let simulated_ns = inputs.simulated.as_nanos() as f64;
    let simulated_hours = inputs.simulated.as_nanos() as f64 / NANOS_PER_HOUR as f64;
    let to_month = HOURS_PER_MONTH / simulated_hours;
    let price = inputs.usd_per_replica_hour;

    let average_ready_replicas = inputs.ready_replica_ns as f64 / simulated_ns;
    let needed_replicas =
        inputs.arrival_rate_per_s * inputs.mean_service_s / inputs.sla_concurrency_per_replica;
    let steady_state_replicas = average_ready_replicas.min(needed_replicas);
    let buffer_replicas = average_ready_replicas - steady_state_replicas;
    let scale_up_events_per_month = inputs.scale_up_events as f64 * to_month;
    let model_load_hours = if inputs.scale_up_events == 0 {
        0.0
    } else {
        hours(inputs.cold_start_replica_ns) / inputs.scale_up_events as f64
    };

    let steady_state_usd = steady_state_replicas * price * HOURS_PER_MONTH;
    let scaling_overhead_usd = scale_up_events_per_month * model_load_hours * price;
    let overprovisioning_usd = buffer_replicas * price * HOURS_PER_MONTH;
    let equation_total_usd = steady_state_usd + scaling_overhead_usd + overprovisioning_usd;

    let b = &inputs.billed;
    let billed_monthly_usd = b.total_usd * to_month;
    let total_usd = billed_monthly_usd - equation_total_usd;
    let procurement_usd = b.procurement_usd * to_month;
    let draining_usd = b.draining_usd * to_month;
    let packing_usd = b.packing_usd * to_month;
    let warm_pool_usd = b.warm_pool_usd * to_month;
    let billing_granularity_usd = b.billing_granularity_usd * to_month;
    let other_usd = total_usd
        - procurement_usd
        - draining_usd
        - packing_usd
        - warm_pool_usd
        - billing_granularity_usd;

    Ok(MonthlyEquation {
        hours_per_month: HOURS_PER_MONTH,
        simulated_hours,
        usd_per_replica_hour: price,
        average_ready_replicas,
        needed_replicas,
        steady_state_replicas,
        buffer_replicas,
        scale_up_events_per_month,
        model_load_s: model_load_hours * 3_600.0,
        steady_state_usd,
        scaling_overhead_usd,
        overprovisioning_usd,
        equation_total_usd,
        billed_monthly_usd,
        difference: MonthlyDifference {
            total_usd,
            procurement_usd,
            draining_usd,
            packing_usd,
            warm_pool_usd,
            billing_granularity_usd,
            other_usd,
        },
    })
}
