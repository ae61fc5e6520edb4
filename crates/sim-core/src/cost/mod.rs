//! GPU cost accounting: billing policies, GPU time by state, dollars, and
//! the monthly inference cost equation.
//!
//! This module is bookkeeping only. The engine tells a [`GpuLedger`] how
//! many GPUs of which node pool were in which [`GpuState`] from when to
//! when, and over which interval each node was held; the ledger keeps exact
//! integer GPU·nanoseconds, applies each pool's [`BillingPolicy`] per node
//! interval, and converts to hours and dollars only in
//! [`GpuLedger::report`]. [`monthly_equation`] extrapolates run aggregates
//! to a 730-hour month and reconciles the equation with the billed cost.
//!
//! Every figure is defined in `docs/cost.md`.
//!
//! This file holds billing policies, GPU states and pool prices; `ledger`
//! the [`GpuLedger`], `report` the [`CostReport`] and `monthly` the
//! equation. Everything is re-exported here.

use crate::field::FieldError;
use crate::time::{SimDuration, SimTime, NANOS_PER_SEC};
use serde::{Deserialize, Serialize};
use std::fmt;

mod ledger;
mod monthly;
mod report;

pub use ledger::{GpuLedger, LedgerError, PoolGpuTime};
pub use monthly::{monthly_equation, MonthlyDifference, MonthlyEquation, MonthlyInputs};
pub use report::{BilledCosts, CostReport, IdleGpuHours, PoolCost, StateLine};

/// Hours in the month of the monthly cost equation (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Nanoseconds per hour.
pub const NANOS_PER_HOUR: u64 = 3_600 * NANOS_PER_SEC;

/// GPU·ns (or replica·ns) to hours. For reporting only.
fn hours(ns: u128) -> f64 {
    ns as f64 / NANOS_PER_HOUR as f64
}

/// The unit a provider bills a node in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingGranularity {
    /// Whole seconds.
    PerSecond,
    /// Whole minutes.
    PerMinute,
    /// Whole hours.
    PerHour,
}

impl BillingGranularity {
    /// The length of one billing unit.
    pub fn unit(self) -> SimDuration {
        match self {
            BillingGranularity::PerSecond => SimDuration::from_secs(1),
            BillingGranularity::PerMinute => SimDuration::from_secs(60),
            BillingGranularity::PerHour => SimDuration::from_secs(3_600),
        }
    }
}

/// How a node interval is billed: at least `minimum_s`, rounded up to a
/// whole number of `granularity` units. AWS Linux on-demand instances, for
/// example, are billed per second with a 60 s minimum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingPolicy {
    /// The billing unit.
    pub granularity: BillingGranularity,
    /// The shortest billed interval, seconds (0 when absent).
    #[serde(default)]
    pub minimum_s: f64,
}

impl BillingPolicy {
    /// Checks ranges; the error names the offending field.
    pub fn validate(&self) -> Result<(), FieldError> {
        match SimDuration::try_from_secs_f64(self.minimum_s) {
            Some(_) => Ok(()),
            None => Err(FieldError::new(
                "minimum_s",
                format!(
                    "must be a finite number of seconds >= 0, got {}",
                    self.minimum_s
                ),
            )),
        }
    }

    /// The minimum billed interval. Zero if `minimum_s` is invalid (the
    /// policy must have passed [`BillingPolicy::validate`]).
    pub fn minimum(&self) -> SimDuration {
        SimDuration::try_from_secs_f64(self.minimum_s).unwrap_or(SimDuration::ZERO)
    }

    /// The billed length of a node held for `held`: `max(held, minimum)`
    /// rounded up to a whole number of units. A node held for no time at all
    /// is not billed. Saturates at the end of the clock like [`SimTime`].
    pub fn billed(&self, held: SimDuration) -> SimDuration {
        if held == SimDuration::ZERO {
            return SimDuration::ZERO;
        }
        let at_least = held.max(self.minimum()).as_nanos();
        let unit = self.granularity.unit().as_nanos();
        SimDuration(at_least.div_ceil(unit).saturating_mul(unit))
    }
}

/// What a GPU of a held node is doing. Every GPU of a held node is in
/// exactly one state at every instant, so the GPU time of the states adds up
/// to the GPU time nodes are held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GpuState {
    /// The node is being procured and booted; no replica exists yet.
    Provisioning,
    /// A replica's container image is being pulled.
    PullingImage,
    /// A replica's model weights are being loaded into GPU memory.
    LoadingWeights,
    /// A replica's inference engine is starting (compilation, graph capture).
    StartingEngine,
    /// A replica is running warm-up work before it takes traffic.
    WarmingUp,
    /// A ready replica is executing an iteration.
    Busy,
    /// A ready replica has nothing to execute.
    IdleReady,
    /// A replica accepts no new requests and is finishing in-flight ones or
    /// waiting to be freed.
    Draining,
    /// A primed node or replica kept in a warm pool, outside the serving fleet.
    WarmPool,
    /// GPUs of a held node that no replica uses: stranded by packing, or the
    /// whole node while it waits out its release delay.
    Unallocated,
}

impl GpuState {
    /// Number of states.
    pub const COUNT: usize = 10;

    /// Every state, in report order.
    pub const ALL: [GpuState; GpuState::COUNT] = [
        GpuState::Provisioning,
        GpuState::PullingImage,
        GpuState::LoadingWeights,
        GpuState::StartingEngine,
        GpuState::WarmingUp,
        GpuState::Busy,
        GpuState::IdleReady,
        GpuState::Draining,
        GpuState::WarmPool,
        GpuState::Unallocated,
    ];

    /// The snake_case name, as serialised.
    pub fn name(self) -> &'static str {
        match self {
            GpuState::Provisioning => "provisioning",
            GpuState::PullingImage => "pulling_image",
            GpuState::LoadingWeights => "loading_weights",
            GpuState::StartingEngine => "starting_engine",
            GpuState::WarmingUp => "warming_up",
            GpuState::Busy => "busy",
            GpuState::IdleReady => "idle_ready",
            GpuState::Draining => "draining",
            GpuState::WarmPool => "warm_pool",
            GpuState::Unallocated => "unallocated",
        }
    }

    /// Provisioning, pulling the image, loading weights, starting the
    /// engine or warming up.
    pub fn is_cold_start(self) -> bool {
        matches!(
            self,
            GpuState::Provisioning
                | GpuState::PullingImage
                | GpuState::LoadingWeights
                | GpuState::StartingEngine
                | GpuState::WarmingUp
        )
    }
}

/// A line of the cost breakdown: a GPU state, or the billing-granularity
/// rounding (billed time beyond held time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CostLine {
    /// GPU time in a state.
    State(GpuState),
    /// Billed GPU time beyond held GPU time.
    BillingGranularity,
}

impl CostLine {
    /// Number of lines.
    pub const COUNT: usize = GpuState::COUNT + 1;

    /// Every line, in report order: the states, then billing granularity.
    pub const ALL: [CostLine; CostLine::COUNT] = {
        let mut all = [CostLine::BillingGranularity; CostLine::COUNT];
        let mut i = 0;
        while i < GpuState::COUNT {
            all[i] = CostLine::State(GpuState::ALL[i]);
            i += 1;
        }
        all
    };

    /// The snake_case name, as serialised.
    pub fn name(self) -> &'static str {
        match self {
            CostLine::State(s) => s.name(),
            CostLine::BillingGranularity => "billing_granularity",
        }
    }
}

/// One value per [`CostLine`], serialised as an object with the lines in
/// report order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ByState<T> {
    pub provisioning: T,
    pub pulling_image: T,
    pub loading_weights: T,
    pub starting_engine: T,
    pub warming_up: T,
    pub busy: T,
    pub idle_ready: T,
    pub draining: T,
    pub warm_pool: T,
    pub unallocated: T,
    pub billing_granularity: T,
}

impl<T> ByState<T> {
    /// Builds each line's value from `f`, called in report order.
    pub fn from_fn(mut f: impl FnMut(CostLine) -> T) -> Self {
        ByState {
            provisioning: f(CostLine::State(GpuState::Provisioning)),
            pulling_image: f(CostLine::State(GpuState::PullingImage)),
            loading_weights: f(CostLine::State(GpuState::LoadingWeights)),
            starting_engine: f(CostLine::State(GpuState::StartingEngine)),
            warming_up: f(CostLine::State(GpuState::WarmingUp)),
            busy: f(CostLine::State(GpuState::Busy)),
            idle_ready: f(CostLine::State(GpuState::IdleReady)),
            draining: f(CostLine::State(GpuState::Draining)),
            warm_pool: f(CostLine::State(GpuState::WarmPool)),
            unallocated: f(CostLine::State(GpuState::Unallocated)),
            billing_granularity: f(CostLine::BillingGranularity),
        }
    }

    /// The value of one line.
    pub fn get(&self, line: CostLine) -> &T {
        match line {
            CostLine::State(GpuState::Provisioning) => &self.provisioning,
            CostLine::State(GpuState::PullingImage) => &self.pulling_image,
            CostLine::State(GpuState::LoadingWeights) => &self.loading_weights,
            CostLine::State(GpuState::StartingEngine) => &self.starting_engine,
            CostLine::State(GpuState::WarmingUp) => &self.warming_up,
            CostLine::State(GpuState::Busy) => &self.busy,
            CostLine::State(GpuState::IdleReady) => &self.idle_ready,
            CostLine::State(GpuState::Draining) => &self.draining,
            CostLine::State(GpuState::WarmPool) => &self.warm_pool,
            CostLine::State(GpuState::Unallocated) => &self.unallocated,
            CostLine::BillingGranularity => &self.billing_granularity,
        }
    }

    /// The value of one line, mutably.
    pub fn get_mut(&mut self, line: CostLine) -> &mut T {
        match line {
            CostLine::State(GpuState::Provisioning) => &mut self.provisioning,
            CostLine::State(GpuState::PullingImage) => &mut self.pulling_image,
            CostLine::State(GpuState::LoadingWeights) => &mut self.loading_weights,
            CostLine::State(GpuState::StartingEngine) => &mut self.starting_engine,
            CostLine::State(GpuState::WarmingUp) => &mut self.warming_up,
            CostLine::State(GpuState::Busy) => &mut self.busy,
            CostLine::State(GpuState::IdleReady) => &mut self.idle_ready,
            CostLine::State(GpuState::Draining) => &mut self.draining,
            CostLine::State(GpuState::WarmPool) => &mut self.warm_pool,
            CostLine::State(GpuState::Unallocated) => &mut self.unallocated,
            CostLine::BillingGranularity => &mut self.billing_granularity,
        }
    }

    /// `(line, value)` in report order.
    pub fn iter(&self) -> impl Iterator<Item = (CostLine, &T)> + '_ {
        CostLine::ALL.into_iter().map(move |l| (l, self.get(l)))
    }
}

/// The highest price of one GPU-hour a pool may have, USD: a million
/// times any real price, and low enough that every dollar figure of a run
/// (GPU-hours by state, per request, per million tokens, per month) stays
/// a finite number.
pub const MAX_USD_PER_GPU_HOUR: f64 = 1e6;

/// A node pool's hardware and price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolPricing {
    /// Pool name, as reported.
    pub name: String,
    /// GPUs on one node.
    pub gpus_per_node: u32,
    /// Price of one GPU for one hour, USD.
    pub usd_per_gpu_hour: f64,
    /// How a node interval is billed.
    pub billing: BillingPolicy,
}

impl PoolPricing {
    /// Checks ranges; the error names the offending field (`billing.x` for
    /// a field of the billing policy).
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.gpus_per_node == 0 {
            return Err(FieldError::new(
                "gpus_per_node",
                "must be at least 1, got 0",
            ));
        }
        let price = self.usd_per_gpu_hour;
        if !(price.is_finite() && (0.0..=MAX_USD_PER_GPU_HOUR).contains(&price)) {
            return Err(FieldError::new(
                "usd_per_gpu_hour",
                format!(
                    "must be a number of USD from 0 to {MAX_USD_PER_GPU_HOUR} (a larger price \
                     overflows the run's dollar figures), got {}",
                    match price.abs() < 1e15 {
                        true => format!("{price}"),
                        false => format!("{price:e}"),
                    }
                ),
            ));
        }
        self.billing.validate().map_err(|e| e.within("billing"))
    }
}

#[cfg(test)]
mod tests;
