//! The cost report: GPU-hours and dollars by line, by pool and in total, as
//! the `cost` section of the summary JSON carries them.

use super::*;

/// GPU-hours and dollars of one cost line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateLine {
    /// GPU-hours.
    pub gpu_hours: f64,
    /// USD.
    pub usd: f64,
}

/// Billed GPU-hours not spent serving a request, by reason.
/// `total` is billed minus busy and equals the sum of the other fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdleGpuHours {
    /// Billed minus busy GPU-hours.
    pub total: f64,
    /// Provisioning, pulling the image, loading weights, starting the engine
    /// and warming up.
    pub cold_start: f64,
    /// Ready replicas with nothing to execute.
    pub idle_ready: f64,
    /// Draining replicas.
    pub draining: f64,
    /// Warm pool.
    pub warm_pool: f64,
    /// GPUs of held nodes that no replica uses.
    pub unallocated: f64,
    /// Billed beyond held.
    pub billing_granularity: f64,
}

/// Cost of one node pool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolCost {
    /// Pool name.
    pub name: String,
    /// GPUs on one node.
    pub gpus_per_node: u32,
    /// Price of one GPU-hour, USD.
    pub usd_per_gpu_hour: f64,
    /// Node intervals billed.
    pub node_intervals: u64,
    /// GPU-hours nodes were held.
    pub held_gpu_hours: f64,
    /// GPU-hours billed.
    pub billed_gpu_hours: f64,
    /// USD billed.
    pub usd: f64,
    /// GPU-hours and USD by line.
    pub by_state: ByState<StateLine>,
}

/// What a run's GPUs cost: the `cost` section of the summary JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostReport {
    /// USD billed, all pools.
    pub total_usd: f64,
    /// `total_usd` per completed request; `null` when none completed.
    pub per_request_usd: Option<f64>,
    /// `total_usd` per million output tokens of completed requests; `null`
    /// when there are none.
    pub per_million_output_tokens_usd: Option<f64>,
    /// GPU-hours nodes were held.
    pub held_gpu_hours: f64,
    /// GPU-hours billed (held plus billing granularity).
    pub billed_gpu_hours: f64,
    /// GPU-hours of ready replicas executing iterations.
    pub busy_gpu_hours: f64,
    /// Billed GPU-hours not serving, by reason.
    pub idle_gpu_hours: IdleGpuHours,
    /// GPU-hours and USD by line, all pools.
    pub by_state: ByState<StateLine>,
    /// Per pool, in pool order.
    pub by_pool: Vec<PoolCost>,
    /// The monthly cost equation beside the billed cost extrapolated to a
    /// month (`null` when it cannot be computed: no arrival, no ready
    /// replica time).
    pub monthly_equation: Option<MonthlyEquation>,
}

impl CostReport {
    /// The billed dollars the monthly equation is reconciled with.
    pub fn billed_costs(&self) -> BilledCosts {
        BilledCosts {
            total_usd: self.total_usd,
            procurement_usd: self.by_state.provisioning.usd,
            draining_usd: self.by_state.draining.usd,
            packing_usd: self.by_state.unallocated.usd,
            warm_pool_usd: self.by_state.warm_pool.usd,
            billing_granularity_usd: self.by_state.billing_granularity.usd,
        }
    }
}

/// Billed dollars of a run, in total and on the lines the monthly equation
/// leaves out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BilledCosts {
    /// Everything billed, USD.
    pub total_usd: f64,
    /// `provisioning` GPU time: nodes being procured before a replica exists, USD.
    pub procurement_usd: f64,
    /// `draining` GPU time, USD.
    pub draining_usd: f64,
    /// `unallocated` GPU time (packing and release delay), USD.
    pub packing_usd: f64,
    /// `warm_pool` GPU time, USD.
    pub warm_pool_usd: f64,
    /// Billing-granularity rounding, USD.
    pub billing_granularity_usd: f64,
}
