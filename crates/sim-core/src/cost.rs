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

use crate::time::{SimDuration, SimTime, NANOS_PER_SEC};
use serde::{Deserialize, Serialize};
use std::fmt;

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
    /// Checks ranges; returns the offending field and a message.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        match SimDuration::try_from_secs_f64(self.minimum_s) {
            Some(_) => Ok(()),
            None => Err((
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
    /// Checks ranges; returns the offending field and a message.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.gpus_per_node == 0 {
            return Err(("gpus_per_node", "must be at least 1, got 0".to_string()));
        }
        if !(self.usd_per_gpu_hour.is_finite() && self.usd_per_gpu_hour >= 0.0) {
            return Err((
                "usd_per_gpu_hour",
                format!(
                    "must be a finite number of USD >= 0, got {}",
                    self.usd_per_gpu_hour
                ),
            ));
        }
        self.billing.validate().map_err(|(field, message)| {
            let field = match field {
                "minimum_s" => "billing.minimum_s",
                _ => "billing",
            };
            (field, message)
        })
    }
}

/// A misuse of a [`GpuLedger`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerError {
    /// A pool failed [`PoolPricing::validate`].
    InvalidPool {
        /// Index of the pool.
        pool: usize,
        /// The field at fault, e.g. `usd_per_gpu_hour`.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A pool index beyond the ledger's pools.
    UnknownPool {
        /// The index given.
        pool: usize,
        /// Number of pools.
        pools: usize,
    },
    /// An interval that ends before it starts.
    ReversedInterval {
        /// Start.
        from: SimTime,
        /// End.
        to: SimTime,
    },
    /// A pool's GPU time in states differs from the GPU time its nodes were
    /// held.
    Unbalanced {
        /// Index of the pool.
        pool: usize,
        /// GPU·ns its nodes were held.
        held_gpu_ns: u128,
        /// GPU·ns recorded in states.
        state_gpu_ns: u128,
    },
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerError::InvalidPool {
                pool,
                field,
                message,
            } => write!(f, "pools[{pool}].{field}: {message}"),
            LedgerError::UnknownPool { pool, pools } => {
                write!(f, "pool index {pool} out of range ({pools} pools)")
            }
            LedgerError::ReversedInterval { from, to } => {
                write!(f, "interval ends at {to} before it starts at {from}")
            }
            LedgerError::Unbalanced {
                pool,
                held_gpu_ns,
                state_gpu_ns,
            } => write!(
                f,
                "pool {pool}: nodes held for {held_gpu_ns} GPU·ns but states add up to {state_gpu_ns} GPU·ns"
            ),
        }
    }
}

impl std::error::Error for LedgerError {}

/// Exact GPU time of one pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolGpuTime {
    /// Node intervals closed with [`GpuLedger::node_held`].
    pub node_intervals: u64,
    /// GPU·ns nodes were held (node time × GPUs per node).
    pub held_gpu_ns: u128,
    /// GPU·ns by state, and billed beyond held (`billing_granularity`).
    pub lines: ByState<u128>,
}

impl PoolGpuTime {
    /// GPU·ns recorded in states (every line but billing granularity).
    pub fn state_gpu_ns(&self) -> u128 {
        GpuState::ALL
            .iter()
            .map(|&s| *self.lines.get(CostLine::State(s)))
            .sum()
    }

    /// GPU·ns billed: held plus the billing-granularity rounding.
    pub fn billed_gpu_ns(&self) -> u128 {
        self.held_gpu_ns + self.lines.billing_granularity
    }
}

/// Accumulates GPU time by pool and state, and billed node time.
///
/// Feed it with [`add`](GpuLedger::add) for every span a group of GPUs
/// spends in one state, and [`node_held`](GpuLedger::node_held) once per
/// node interval (acquisition to release; an engine closes intervals still
/// open at the end of a run at that instant). When the engine has recorded
/// every GPU of every held node, [`check_balance`](GpuLedger::check_balance)
/// holds.
#[derive(Clone, Debug)]
pub struct GpuLedger {
    pools: Vec<PoolPricing>,
    time: Vec<PoolGpuTime>,
}

impl GpuLedger {
    /// An empty ledger over `pools`; a pool is named by its index.
    pub fn new(pools: Vec<PoolPricing>) -> Result<GpuLedger, LedgerError> {
        for (pool, p) in pools.iter().enumerate() {
            p.validate()
                .map_err(|(field, message)| LedgerError::InvalidPool {
                    pool,
                    field,
                    message,
                })?;
        }
        let time = vec![PoolGpuTime::default(); pools.len()];
        Ok(GpuLedger { pools, time })
    }

    /// The pools, by index.
    pub fn pools(&self) -> &[PoolPricing] {
        &self.pools
    }

    /// Exact GPU time of a pool; `None` for an unknown index.
    pub fn gpu_time(&self, pool: usize) -> Option<&PoolGpuTime> {
        self.time.get(pool)
    }

    fn account(&mut self, pool: usize) -> Result<&mut PoolGpuTime, LedgerError> {
        let pools = self.time.len();
        self.time
            .get_mut(pool)
            .ok_or(LedgerError::UnknownPool { pool, pools })
    }

    /// Records `gpus` GPUs of `pool` in `state` from `from` to `to`.
    pub fn add(
        &mut self,
        pool: usize,
        state: GpuState,
        gpus: u32,
        from: SimTime,
        to: SimTime,
    ) -> Result<(), LedgerError> {
        if to < from {
            return Err(LedgerError::ReversedInterval { from, to });
        }
        let span = u128::from(to.saturating_since(from).as_nanos());
        let account = self.account(pool)?;
        *account.lines.get_mut(CostLine::State(state)) += span * u128::from(gpus);
        Ok(())
    }

    /// Records one node of `pool` held from `start` to `end`, bills it with
    /// the pool's policy and returns the billed length.
    pub fn node_held(
        &mut self,
        pool: usize,
        start: SimTime,
        end: SimTime,
    ) -> Result<SimDuration, LedgerError> {
        if end < start {
            return Err(LedgerError::ReversedInterval {
                from: start,
                to: end,
            });
        }
        let (gpus, billed, held) = {
            let p = self.pools.get(pool).ok_or(LedgerError::UnknownPool {
                pool,
                pools: self.pools.len(),
            })?;
            let held = end.saturating_since(start);
            (u128::from(p.gpus_per_node), p.billing.billed(held), held)
        };
        let account = self.account(pool)?;
        account.node_intervals += 1;
        account.held_gpu_ns += u128::from(held.as_nanos()) * gpus;
        account.lines.billing_granularity +=
            u128::from(billed.as_nanos().saturating_sub(held.as_nanos())) * gpus;
        Ok(billed)
    }

    /// Checks that every pool's GPU time in states equals the GPU time its
    /// nodes were held, to the nanosecond.
    pub fn check_balance(&self) -> Result<(), LedgerError> {
        for (pool, t) in self.time.iter().enumerate() {
            let state_gpu_ns = t.state_gpu_ns();
            if state_gpu_ns != t.held_gpu_ns {
                return Err(LedgerError::Unbalanced {
                    pool,
                    held_gpu_ns: t.held_gpu_ns,
                    state_gpu_ns,
                });
            }
        }
        Ok(())
    }

    /// Hours and dollars. `completed_requests` and `output_tokens` (of
    /// completed requests) give the unit costs.
    pub fn report(&self, completed_requests: u64, output_tokens: u64) -> CostReport {
        let by_pool: Vec<PoolCost> = self
            .pools
            .iter()
            .zip(&self.time)
            .map(|(p, t)| {
                let price = p.usd_per_gpu_hour;
                PoolCost {
                    name: p.name.clone(),
                    gpus_per_node: p.gpus_per_node,
                    usd_per_gpu_hour: price,
                    node_intervals: t.node_intervals,
                    held_gpu_hours: hours(t.held_gpu_ns),
                    billed_gpu_hours: hours(t.billed_gpu_ns()),
                    usd: hours(t.billed_gpu_ns()) * price,
                    by_state: ByState::from_fn(|line| {
                        let gpu_hours = hours(*t.lines.get(line));
                        StateLine {
                            gpu_hours,
                            usd: gpu_hours * price,
                        }
                    }),
                }
            })
            .collect();
        let sum_ns = |f: &dyn Fn(&PoolGpuTime) -> u128| -> u128 { self.time.iter().map(f).sum() };
        let line_ns = |line: CostLine| sum_ns(&|t| *t.lines.get(line));
        let by_state = ByState::from_fn(|line| StateLine {
            gpu_hours: hours(line_ns(line)),
            usd: by_pool.iter().map(|p| p.by_state.get(line).usd).sum(),
        });
        let held = sum_ns(&|t| t.held_gpu_ns);
        let billed = sum_ns(&|t| t.billed_gpu_ns());
        let busy = line_ns(CostLine::State(GpuState::Busy));
        let cold_start: u128 = GpuState::ALL
            .iter()
            .filter(|s| s.is_cold_start())
            .map(|&s| line_ns(CostLine::State(s)))
            .sum();
        let total_usd: f64 = by_pool.iter().map(|p| p.usd).sum();
        let per = |n: u64, scale: f64| (n > 0).then(|| total_usd / n as f64 * scale);
        CostReport {
            total_usd,
            per_request_usd: per(completed_requests, 1.0),
            per_million_output_tokens_usd: per(output_tokens, 1e6),
            held_gpu_hours: hours(held),
            billed_gpu_hours: hours(billed),
            busy_gpu_hours: hours(busy),
            idle_gpu_hours: IdleGpuHours {
                total: hours(billed.saturating_sub(busy)),
                cold_start: hours(cold_start),
                idle_ready: by_state.idle_ready.gpu_hours,
                draining: by_state.draining.gpu_hours,
                warm_pool: by_state.warm_pool.gpu_hours,
                unallocated: by_state.unallocated.gpu_hours,
                billing_granularity: by_state.billing_granularity.gpu_hours,
            },
            by_state,
            by_pool,
            monthly_equation: None,
        }
    }
}

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
    /// Checks ranges; returns the offending field and a message.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.simulated == SimDuration::ZERO {
            return Err((
                "simulated",
                "must be > 0 to extrapolate to a month".to_string(),
            ));
        }
        if self.scale_up_events == 0 && self.cold_start_replica_ns != 0 {
            return Err((
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
                return Err((field, format!("must be a finite number >= 0, got {v}")));
            }
        }
        let c = self.sla_concurrency_per_replica;
        if !(c.is_finite() && c > 0.0) {
            return Err((
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
pub fn monthly_equation(inputs: &MonthlyInputs) -> Result<MonthlyEquation, (&'static str, String)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Seconds (possibly fractional) to an instant.
    fn t(secs: f64) -> SimTime {
        SimTime(SimDuration::try_from_secs_f64(secs).unwrap().as_nanos())
    }

    fn secs(s: f64) -> SimDuration {
        SimDuration::try_from_secs_f64(s).unwrap()
    }

    /// `a` and `b` agree within `rel` relative (absolute near zero).
    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-12)
    }

    fn assert_close(what: &str, got: f64, expect: f64) {
        assert!(
            close(got, expect, 1e-9),
            "{what}: got {got}, expected {expect}"
        );
    }

    fn policy(granularity: BillingGranularity, minimum_s: f64) -> BillingPolicy {
        BillingPolicy {
            granularity,
            minimum_s,
        }
    }

    fn pool(name: &str, gpus: u32, price: f64, billing: BillingPolicy) -> PoolPricing {
        PoolPricing {
            name: name.to_string(),
            gpus_per_node: gpus,
            usd_per_gpu_hour: price,
            billing,
        }
    }

    // ---- billing arithmetic ----

    fn check_billed(granularity: BillingGranularity, minimum_s: f64, held_s: f64, expect_s: f64) {
        let got = policy(granularity, minimum_s).billed(secs(held_s));
        assert_eq!(
            got,
            secs(expect_s),
            "{granularity:?} min {minimum_s} s, held {held_s} s"
        );
    }

    #[test]
    fn billed_rounds_up_to_the_unit_after_the_minimum() {
        use BillingGranularity::*;
        for (g, min, held, expect) in [
            // Nothing held, nothing billed, whatever the minimum.
            (PerSecond, 0.0, 0.0, 0.0),
            (PerSecond, 60.0, 0.0, 0.0),
            (PerHour, 3600.0, 0.0, 0.0),
            // Per second, no minimum: whole seconds, rounded up.
            (PerSecond, 0.0, 0.000_000_001, 1.0),
            (PerSecond, 0.0, 1.5, 2.0),
            (PerSecond, 0.0, 2.0, 2.0),
            // Per second, 60 s minimum (AWS Linux on-demand).
            (PerSecond, 60.0, 0.000_000_001, 60.0),
            (PerSecond, 60.0, 30.0, 60.0),
            (PerSecond, 60.0, 60.0, 60.0),
            (PerSecond, 60.0, 60.2, 61.0),
            // Per minute.
            (PerMinute, 0.0, 1.0, 60.0),
            (PerMinute, 0.0, 60.0, 60.0),
            (PerMinute, 0.0, 61.0, 120.0),
            (PerMinute, 600.0, 61.0, 600.0),
            (PerMinute, 600.0, 601.0, 660.0),
            // A minimum that is not a whole number of units: max(30, 90) = 90,
            // rounded up to whole minutes = 120.
            (PerMinute, 90.0, 30.0, 120.0),
            // Per hour.
            (PerHour, 0.0, 1.0, 3600.0),
            (PerHour, 0.0, 3600.0, 3600.0),
            (PerHour, 0.0, 3601.0, 7200.0),
            (PerHour, 3600.0, 10.0, 3600.0),
        ] {
            check_billed(g, min, held, expect);
        }
    }

    #[test]
    fn billed_saturates_at_the_end_of_the_clock() {
        let p = policy(BillingGranularity::PerHour, 0.0);
        assert_eq!(p.billed(SimDuration(u64::MAX)), SimDuration(u64::MAX));
    }

    #[test]
    fn granularity_units() {
        for (g, expect_s) in [
            (BillingGranularity::PerSecond, 1),
            (BillingGranularity::PerMinute, 60),
            (BillingGranularity::PerHour, 3600),
        ] {
            assert_eq!(g.unit(), SimDuration::from_secs(expect_s), "{g:?}");
        }
    }

    // ---- serde ----

    #[test]
    fn billing_policy_parses_and_rejects_unknown_fields() {
        let p: BillingPolicy =
            serde_json::from_str(r#"{"granularity": "per_minute", "minimum_s": 600}"#).unwrap();
        assert_eq!(p, policy(BillingGranularity::PerMinute, 600.0));
        let p: BillingPolicy = serde_json::from_str(r#"{"granularity": "per_hour"}"#).unwrap();
        assert_eq!(p, policy(BillingGranularity::PerHour, 0.0));
        for bad in [
            r#"{"granularity": "per_second", "minimum": 60}"#,
            r#"{"granularity": "per_day"}"#,
            r#"{"minimum_s": 60}"#,
        ] {
            assert!(serde_json::from_str::<BillingPolicy>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn state_names_are_the_serialised_names() {
        let mut names: Vec<&str> = Vec::new();
        for s in GpuState::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
            let back: GpuState = serde_json::from_str(&json).unwrap();
            assert_eq!(back, s);
            names.push(s.name());
        }
        assert_eq!(
            names,
            [
                "provisioning",
                "pulling_image",
                "loading_weights",
                "starting_engine",
                "warming_up",
                "busy",
                "idle_ready",
                "draining",
                "warm_pool",
                "unallocated"
            ]
        );
    }

    #[test]
    fn by_state_serialises_every_line_in_report_order() {
        let mut i = 0u8;
        let table = ByState::from_fn(|_| {
            i += 1;
            i
        });
        let expect: String = CostLine::ALL
            .iter()
            .enumerate()
            .map(|(k, l)| format!("\"{}\":{}", l.name(), k + 1))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            serde_json::to_string(&table).unwrap(),
            format!("{{{expect}}}")
        );
        for (k, (line, v)) in table.iter().enumerate() {
            assert_eq!(line, CostLine::ALL[k]);
            assert_eq!(usize::from(*v), k + 1, "{line:?}");
        }
    }

    #[test]
    fn cold_start_states() {
        let cold: Vec<GpuState> = GpuState::ALL
            .into_iter()
            .filter(|s| s.is_cold_start())
            .collect();
        assert_eq!(
            cold,
            [
                GpuState::Provisioning,
                GpuState::PullingImage,
                GpuState::LoadingWeights,
                GpuState::StartingEngine,
                GpuState::WarmingUp
            ]
        );
    }

    // ---- validation ----

    fn check_invalid_pool(p: PoolPricing, expect_field: &str) {
        match p.validate() {
            Err((field, _)) => assert_eq!(field, expect_field, "{p:?}"),
            Ok(()) => panic!("{p:?} passed, expected an error on {expect_field}"),
        }
        match GpuLedger::new(vec![
            pool("ok", 1, 1.0, policy(BillingGranularity::PerSecond, 0.0)),
            p,
        ]) {
            Err(e @ LedgerError::InvalidPool { pool: 1, .. }) => {
                assert!(
                    e.to_string()
                        .starts_with(&format!("pools[1].{expect_field}: ")),
                    "{e}"
                );
            }
            other => panic!("expected InvalidPool on pool 1, got {other:?}"),
        }
    }

    #[test]
    fn validation_names_the_field() {
        let per_s = policy(BillingGranularity::PerSecond, 60.0);
        check_invalid_pool(pool("a", 8, -1.0, per_s.clone()), "usd_per_gpu_hour");
        check_invalid_pool(pool("a", 8, f64::NAN, per_s.clone()), "usd_per_gpu_hour");
        check_invalid_pool(
            pool("a", 8, f64::INFINITY, per_s.clone()),
            "usd_per_gpu_hour",
        );
        check_invalid_pool(pool("a", 0, 4.0, per_s), "gpus_per_node");
        for min in [-1.0, f64::NAN, f64::INFINITY, 1e30] {
            let bad = policy(BillingGranularity::PerSecond, min);
            assert_eq!(bad.validate().map_err(|e| e.0), Err("minimum_s"), "{min}");
            check_invalid_pool(pool("a", 8, 4.0, bad), "billing.minimum_s");
        }
        // The boundaries are accepted.
        assert_eq!(
            pool("a", 1, 0.0, policy(BillingGranularity::PerHour, 0.0)).validate(),
            Ok(())
        );
    }

    // ---- the ledger ----

    /// One H100 pool, 8 GPUs per node, $4/GPU-h, per second with a 60 s
    /// minimum, and two node intervals:
    ///
    /// Node A, held 0–100.5 s:
    /// - all 8 GPUs provisioning 0–30 s;
    /// - replica R1 (2 GPUs): pulling 30–40, loading 40–60, starting 60–70,
    ///   warming 70–75, busy 75–90, idle 90–95, draining 95–100, then its
    ///   GPUs unallocated 100–100.5;
    /// - replica R2 (4 GPUs): pulling 30–35, loading 35–55, starting 55–65,
    ///   warming 65–70, idle 70–80, busy 80–100.5;
    /// - the other 2 GPUs unallocated 30–100.5.
    ///
    /// Node B, held 200–230 s, all 8 GPUs in the warm pool.
    fn example_ledger() -> GpuLedger {
        use GpuState::*;
        let mut l = GpuLedger::new(vec![pool(
            "h100",
            8,
            4.0,
            policy(BillingGranularity::PerSecond, 60.0),
        )])
        .unwrap();
        let spans: &[(GpuState, u32, f64, f64)] = &[
            (Provisioning, 8, 0.0, 30.0),
            (PullingImage, 2, 30.0, 40.0),
            (LoadingWeights, 2, 40.0, 60.0),
            (StartingEngine, 2, 60.0, 70.0),
            (WarmingUp, 2, 70.0, 75.0),
            (Busy, 2, 75.0, 90.0),
            (IdleReady, 2, 90.0, 95.0),
            (Draining, 2, 95.0, 100.0),
            (Unallocated, 2, 100.0, 100.5),
            (PullingImage, 4, 30.0, 35.0),
            (LoadingWeights, 4, 35.0, 55.0),
            (StartingEngine, 4, 55.0, 65.0),
            (WarmingUp, 4, 65.0, 70.0),
            (IdleReady, 4, 70.0, 80.0),
            (Busy, 4, 80.0, 100.5),
            (Unallocated, 2, 30.0, 100.5),
            (WarmPool, 8, 200.0, 230.0),
        ];
        for &(state, gpus, from, to) in spans {
            l.add(0, state, gpus, t(from), t(to)).unwrap();
        }
        assert_eq!(l.node_held(0, t(0.0), t(100.5)), Ok(secs(101.0)));
        assert_eq!(l.node_held(0, t(200.0), t(230.0)), Ok(secs(60.0)));
        l
    }

    #[test]
    fn state_time_adds_up_exactly_to_held_time() {
        let l = example_ledger();
        assert_eq!(l.check_balance(), Ok(()));
        let g = l.gpu_time(0).unwrap();
        let gpu_s = |s: f64| u128::from(secs(s).as_nanos());
        // Held: 8 × 100.5 + 8 × 30 = 1044 GPU·s.
        assert_eq!(g.held_gpu_ns, gpu_s(1044.0));
        assert_eq!(g.state_gpu_ns(), gpu_s(1044.0));
        // Billed: 8 × 101 + 8 × 60 = 1288 GPU·s; rounding 8 × 0.5 + 8 × 30 = 244.
        assert_eq!(g.billed_gpu_ns(), gpu_s(1288.0));
        assert_eq!(g.node_intervals, 2);
        let expect = ByState {
            provisioning: gpu_s(240.0),    // 8 × 30
            pulling_image: gpu_s(40.0),    // 2 × 10 + 4 × 5
            loading_weights: gpu_s(120.0), // 2 × 20 + 4 × 20
            starting_engine: gpu_s(60.0),  // 2 × 10 + 4 × 10
            warming_up: gpu_s(30.0),       // 2 × 5 + 4 × 5
            busy: gpu_s(112.0),            // 2 × 15 + 4 × 20.5
            idle_ready: gpu_s(50.0),       // 2 × 5 + 4 × 10
            draining: gpu_s(10.0),         // 2 × 5
            warm_pool: gpu_s(240.0),       // 8 × 30
            unallocated: gpu_s(142.0),     // 2 × 0.5 + 2 × 70.5
            billing_granularity: gpu_s(244.0),
        };
        assert_eq!(g.lines, expect);
    }

    #[test]
    fn a_missing_span_unbalances_the_ledger() {
        let mut l = example_ledger();
        // Node C, held 300–301 s, with one GPU-second too few in states.
        l.add(0, GpuState::Unallocated, 8, t(300.0), t(301.0))
            .unwrap();
        l.add(0, GpuState::Unallocated, 1, t(300.0), t(301.0))
            .unwrap();
        l.node_held(0, t(300.0), t(301.0)).unwrap();
        let one = u128::from(NANOS_PER_SEC);
        assert_eq!(
            l.check_balance(),
            Err(LedgerError::Unbalanced {
                pool: 0,
                held_gpu_ns: 1052 * one,
                state_gpu_ns: 1053 * one,
            })
        );
    }

    #[test]
    fn ledger_rejects_unknown_pools_and_reversed_intervals() {
        let mut l = example_ledger();
        let before = l.gpu_time(0).cloned();
        assert_eq!(
            l.add(1, GpuState::Busy, 1, t(0.0), t(1.0)),
            Err(LedgerError::UnknownPool { pool: 1, pools: 1 })
        );
        assert_eq!(
            l.node_held(3, t(0.0), t(1.0)),
            Err(LedgerError::UnknownPool { pool: 3, pools: 1 })
        );
        assert_eq!(
            l.add(0, GpuState::Busy, 1, t(2.0), t(1.0)),
            Err(LedgerError::ReversedInterval {
                from: t(2.0),
                to: t(1.0)
            })
        );
        assert_eq!(
            l.node_held(0, t(2.0), t(1.0)),
            Err(LedgerError::ReversedInterval {
                from: t(2.0),
                to: t(1.0)
            })
        );
        assert_eq!(l.gpu_time(0).cloned(), before, "errors must not record");
        assert!(l.gpu_time(1).is_none());
    }

    // ---- the report ----

    #[test]
    fn report_of_a_hand_computed_run() {
        // One 1-GPU node at $2/GPU-h, billed per hour, held 30 minutes:
        // busy 15 min, idle 15 min. Billed 1 h = $2: busy 0.25 h = $0.50,
        // idle 0.25 h = $0.50, rounding 0.5 h = $1.00. 10 requests and 1000
        // output tokens completed: $0.20 per request, $2000 per million tokens.
        let mut l = GpuLedger::new(vec![pool(
            "l4",
            1,
            2.0,
            policy(BillingGranularity::PerHour, 0.0),
        )])
        .unwrap();
        l.add(0, GpuState::Busy, 1, t(0.0), t(900.0)).unwrap();
        l.add(0, GpuState::IdleReady, 1, t(900.0), t(1800.0))
            .unwrap();
        l.node_held(0, t(0.0), t(1800.0)).unwrap();
        let r = l.report(10, 1000);
        for (what, got, expect) in [
            ("total_usd", r.total_usd, 2.0),
            ("per_request_usd", r.per_request_usd.unwrap(), 0.2),
            (
                "per_million_output_tokens_usd",
                r.per_million_output_tokens_usd.unwrap(),
                2000.0,
            ),
            ("held_gpu_hours", r.held_gpu_hours, 0.5),
            ("billed_gpu_hours", r.billed_gpu_hours, 1.0),
            ("busy_gpu_hours", r.busy_gpu_hours, 0.25),
            ("idle.total", r.idle_gpu_hours.total, 0.75),
            ("idle.idle_ready", r.idle_gpu_hours.idle_ready, 0.25),
            (
                "idle.billing_granularity",
                r.idle_gpu_hours.billing_granularity,
                0.5,
            ),
            ("busy.usd", r.by_state.busy.usd, 0.5),
            ("idle_ready.usd", r.by_state.idle_ready.usd, 0.5),
            (
                "billing_granularity.usd",
                r.by_state.billing_granularity.usd,
                1.0,
            ),
            ("pool usd", r.by_pool[0].usd, 2.0),
        ] {
            assert_close(what, got, expect);
        }
        assert_eq!(r.by_pool[0].name, "l4");
        assert_eq!(r.by_pool[0].node_intervals, 1);
        assert_eq!(r.by_state.draining, StateLine::default());

        let none = l.report(0, 0);
        assert_eq!(none.per_request_usd, None);
        assert_eq!(none.per_million_output_tokens_usd, None);
        let json = serde_json::to_value(&none).unwrap();
        assert!(json["per_request_usd"].is_null());
    }

    fn check_report_sums(r: &CostReport) {
        let usd: f64 = r.by_state.iter().map(|(_, l)| l.usd).sum();
        assert!(
            close(usd, r.total_usd, 1e-9),
            "by_state usd {usd} vs total {}",
            r.total_usd
        );
        let pools: f64 = r.by_pool.iter().map(|p| p.usd).sum();
        assert!(
            close(pools, r.total_usd, 1e-9),
            "by_pool usd {pools} vs {}",
            r.total_usd
        );
        let h: f64 = r.by_state.iter().map(|(_, l)| l.gpu_hours).sum();
        assert!(
            close(h, r.billed_gpu_hours, 1e-9),
            "{h} vs {}",
            r.billed_gpu_hours
        );
        let i = &r.idle_gpu_hours;
        let parts = i.cold_start
            + i.idle_ready
            + i.draining
            + i.warm_pool
            + i.unallocated
            + i.billing_granularity;
        assert!(
            close(parts, i.total, 1e-9),
            "idle parts {parts} vs {}",
            i.total
        );
        assert!(close(i.total + r.busy_gpu_hours, r.billed_gpu_hours, 1e-9));
    }

    #[test]
    fn dollars_by_state_add_up_to_the_total() {
        let l = example_ledger();
        let r = l.report(3, 700);
        // 1288 GPU·s at $4/GPU-h.
        assert_close("total_usd", r.total_usd, 1288.0 / 3600.0 * 4.0);
        check_report_sums(&r);
    }

    #[test]
    fn dollars_of_two_pools_are_priced_separately() {
        // Pool 0: $4/GPU-h, per second; pool 1: $1/GPU-h, per minute.
        let mut l = GpuLedger::new(vec![
            pool("h100", 2, 4.0, policy(BillingGranularity::PerSecond, 0.0)),
            pool("l4", 1, 1.0, policy(BillingGranularity::PerMinute, 0.0)),
        ])
        .unwrap();
        l.add(0, GpuState::Busy, 2, t(0.0), t(1800.0)).unwrap();
        l.node_held(0, t(0.0), t(1800.0)).unwrap();
        l.add(1, GpuState::Busy, 1, t(0.0), t(90.0)).unwrap();
        l.node_held(1, t(0.0), t(90.0)).unwrap();
        let r = l.report(1, 1);
        // Pool 0: 2 GPUs × 0.5 h × $4 = $4. Pool 1: 120 s billed = 1/30 h × $1.
        assert_close("pool 0", r.by_pool[0].usd, 4.0);
        assert_close("pool 1", r.by_pool[1].usd, 1.0 / 30.0);
        assert_close("busy usd", r.by_state.busy.usd, 4.0 + 0.025);
        assert_close(
            "granularity usd",
            r.by_state.billing_granularity.usd,
            30.0 / 3600.0,
        );
        check_report_sums(&r);
    }

    /// A node split into two GPU groups, each walking its own sequence of
    /// states over the node's whole interval.
    #[derive(Clone, Debug)]
    struct NodeCase {
        pool: usize,
        start_ns: u64,
        group_a: u32,
        segments_a: Vec<(usize, u64)>,
        cut_b: u64,
        states_b: (usize, usize),
    }

    fn node_case() -> impl Strategy<Value = NodeCase> {
        (
            0usize..3,
            0u64..10_000_000_000_000,
            0u32..=8,
            proptest::collection::vec((0usize..GpuState::COUNT, 0u64..4_000_000_000_000), 0..6),
            any::<u64>(),
            (0usize..GpuState::COUNT, 0usize..GpuState::COUNT),
        )
            .prop_map(|(pool, start_ns, group_a, segments_a, cut, states_b)| {
                let held: u64 = segments_a.iter().map(|s| s.1).sum();
                NodeCase {
                    pool,
                    start_ns,
                    group_a,
                    segments_a,
                    cut_b: if held == 0 { 0 } else { cut % (held + 1) },
                    states_b,
                }
            })
    }

    proptest! {
        #[test]
        fn random_ledgers_balance_and_add_up(
            prices in (0.0f64..20.0, 0.0f64..20.0, 0.0f64..20.0),
            mins in (0.0f64..7200.0, 0.0f64..7200.0),
            nodes in proptest::collection::vec(node_case(), 0..20),
        ) {
            let pools = vec![
                pool("a", 8, prices.0, policy(BillingGranularity::PerSecond, mins.0)),
                pool("b", 8, prices.1, policy(BillingGranularity::PerMinute, mins.1)),
                pool("c", 8, prices.2, policy(BillingGranularity::PerHour, 0.0)),
            ];
            let mut l = GpuLedger::new(pools.clone()).unwrap();
            for n in &nodes {
                let mut at = n.start_ns;
                for &(s, len) in &n.segments_a {
                    l.add(n.pool, GpuState::ALL[s], n.group_a, SimTime(at), SimTime(at + len)).unwrap();
                    at += len;
                }
                let end = at;
                let b = 8 - n.group_a;
                let cut = n.start_ns + n.cut_b;
                l.add(n.pool, GpuState::ALL[n.states_b.0], b, SimTime(n.start_ns), SimTime(cut)).unwrap();
                l.add(n.pool, GpuState::ALL[n.states_b.1], b, SimTime(cut), SimTime(end)).unwrap();
                let billed = l.node_held(n.pool, SimTime(n.start_ns), SimTime(end)).unwrap();
                let held = SimDuration(end - n.start_ns);
                let p = &pools[n.pool].billing;
                prop_assert!(billed >= held);
                prop_assert_eq!(billed.as_nanos() % p.granularity.unit().as_nanos(), 0);
                if held > SimDuration::ZERO {
                    prop_assert!(billed >= p.minimum());
                    prop_assert!(billed.as_nanos() - held.max(p.minimum()).as_nanos() < p.granularity.unit().as_nanos());
                } else {
                    prop_assert_eq!(billed, SimDuration::ZERO);
                }
            }
            prop_assert_eq!(l.check_balance(), Ok(()));
            check_report_sums(&l.report(1, 1));
        }
    }

    // ---- the monthly equation ----

    /// A two-hour run at $6 per replica-hour ($3/GPU-h × 2 GPUs):
    /// - 9 Ready replica-hours → 4.5 average Ready replicas;
    /// - 10 req/s × 3 s service ÷ 10 requests per replica → 3 needed,
    ///   so 3 steady-state replicas and a 1.5-replica buffer;
    /// - 4 cold starts of 90 s each (360 replica-s);
    /// - billed $57.80 = Ready $54 + cold start $0.60 (360 s × $6/h)
    ///   + procurement $1.20 + draining $0.30 + packing $0.90
    ///   + warm pool $0.60 + rounding $0.15 + an aborted cold start $0.05.
    ///
    /// A month is 730 h = 365 runs of 2 h:
    /// - term 1 = 3 × 6 × 730 = 13 140
    /// - term 2 = (4 × 365 = 1460 events) × 0.025 h × 6 = 219
    /// - term 3 = 1.5 × 6 × 730 = 6 570
    /// - equation = 19 929; billed = 57.80 × 365 = 21 097; difference 1 168
    /// - procurement 1.20 × 365 = 438, draining 109.5, packing 328.5,
    ///   warm pool 219, rounding 54.75, other 0.05 × 365 = 18.25.
    fn example_inputs() -> MonthlyInputs {
        MonthlyInputs {
            simulated: SimDuration::from_secs(7_200),
            ready_replica_ns: 9 * u128::from(NANOS_PER_HOUR),
            usd_per_replica_hour: 6.0,
            scale_up_events: 4,
            cold_start_replica_ns: 360 * u128::from(NANOS_PER_SEC),
            arrival_rate_per_s: 10.0,
            mean_service_s: 3.0,
            sla_concurrency_per_replica: 10.0,
            billed: BilledCosts {
                total_usd: 57.8,
                procurement_usd: 1.2,
                draining_usd: 0.3,
                packing_usd: 0.9,
                warm_pool_usd: 0.6,
                billing_granularity_usd: 0.15,
            },
        }
    }

    fn check_monthly(inputs: &MonthlyInputs, expect: &[(&str, f64)]) {
        let m = monthly_equation(inputs).unwrap();
        let d = &m.difference;
        for &(what, want) in expect {
            let got = match what {
                "simulated_hours" => m.simulated_hours,
                "average_ready_replicas" => m.average_ready_replicas,
                "needed_replicas" => m.needed_replicas,
                "steady_state_replicas" => m.steady_state_replicas,
                "buffer_replicas" => m.buffer_replicas,
                "scale_up_events_per_month" => m.scale_up_events_per_month,
                "model_load_s" => m.model_load_s,
                "steady_state_usd" => m.steady_state_usd,
                "scaling_overhead_usd" => m.scaling_overhead_usd,
                "overprovisioning_usd" => m.overprovisioning_usd,
                "equation_total_usd" => m.equation_total_usd,
                "billed_monthly_usd" => m.billed_monthly_usd,
                "difference.total_usd" => d.total_usd,
                "difference.procurement_usd" => d.procurement_usd,
                "difference.draining_usd" => d.draining_usd,
                "difference.packing_usd" => d.packing_usd,
                "difference.warm_pool_usd" => d.warm_pool_usd,
                "difference.billing_granularity_usd" => d.billing_granularity_usd,
                "difference.other_usd" => d.other_usd,
                other => panic!("unknown figure {other}"),
            };
            assert!(
                (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{what}: got {got}, expected {want}"
            );
        }
    }

    #[test]
    fn monthly_equation_of_a_hand_computed_run() {
        check_monthly(
            &example_inputs(),
            &[
                ("simulated_hours", 2.0),
                ("average_ready_replicas", 4.5),
                ("needed_replicas", 3.0),
                ("steady_state_replicas", 3.0),
                ("buffer_replicas", 1.5),
                ("scale_up_events_per_month", 1460.0),
                ("model_load_s", 90.0),
                ("steady_state_usd", 13_140.0),
                ("scaling_overhead_usd", 219.0),
                ("overprovisioning_usd", 6_570.0),
                ("equation_total_usd", 19_929.0),
                ("billed_monthly_usd", 21_097.0),
                ("difference.total_usd", 1_168.0),
                ("difference.procurement_usd", 438.0),
                ("difference.draining_usd", 109.5),
                ("difference.packing_usd", 328.5),
                ("difference.warm_pool_usd", 219.0),
                ("difference.billing_granularity_usd", 54.75),
                ("difference.other_usd", 18.25),
            ],
        );
    }

    #[test]
    fn the_buffer_is_the_ready_average_above_the_need() {
        // (average Ready, needed) → (steady state, buffer); needed = λ with
        // 1 s service and 1 request per replica.
        for (ready, needed, steady, buffer) in [
            (4.5, 3.0, 3.0, 1.5),
            (2.0, 3.0, 2.0, 0.0),
            (3.0, 3.0, 3.0, 0.0),
            (0.0, 0.0, 0.0, 0.0),
            (1.0, 0.0, 0.0, 1.0),
        ] {
            let inputs = MonthlyInputs {
                simulated: SimDuration::from_secs(3_600),
                ready_replica_ns: (ready * NANOS_PER_HOUR as f64) as u128,
                usd_per_replica_hour: 1.0,
                arrival_rate_per_s: needed,
                mean_service_s: 1.0,
                sla_concurrency_per_replica: 1.0,
                ..MonthlyInputs::default()
            };
            check_monthly(
                &inputs,
                &[
                    ("average_ready_replicas", ready),
                    ("needed_replicas", needed),
                    ("steady_state_replicas", steady),
                    ("buffer_replicas", buffer),
                    // Terms 1 and 3 together price every Ready replica once.
                    ("equation_total_usd", ready * 730.0),
                    ("scaling_overhead_usd", 0.0),
                    ("model_load_s", 0.0),
                ],
            );
        }
    }

    #[test]
    fn a_ledger_run_reconciles_with_nothing_left_over() {
        // One 1-GPU node at $3/GPU-h held for exactly one hour: pulling 60 s,
        // loading 60 s, busy 1880 s, idle 1000 s, draining 600 s.
        // Ready 2880 s = 0.8 replicas on average; needed 0.5.
        // Terms 1 + 3 = 0.8 × 3 × 730 = 1752; term 2 = 730 events × (120 s
        // = 1/30 h) × 3 = 73; equation 1825. Billed $3 × 730 = 2190.
        // Difference 365 = draining 600 s × $3/h = $0.50 × 730; other 0.
        let mut l = GpuLedger::new(vec![pool(
            "a10g",
            1,
            3.0,
            policy(BillingGranularity::PerSecond, 60.0),
        )])
        .unwrap();
        for (state, from, to) in [
            (GpuState::PullingImage, 0.0, 60.0),
            (GpuState::LoadingWeights, 60.0, 120.0),
            (GpuState::Busy, 120.0, 2000.0),
            (GpuState::IdleReady, 2000.0, 3000.0),
            (GpuState::Draining, 3000.0, 3600.0),
        ] {
            l.add(0, state, 1, t(from), t(to)).unwrap();
        }
        l.node_held(0, t(0.0), t(3600.0)).unwrap();
        assert_eq!(l.check_balance(), Ok(()));
        let inputs = MonthlyInputs {
            simulated: SimDuration::from_secs(3_600),
            ready_replica_ns: u128::from(secs(2880.0).as_nanos()),
            usd_per_replica_hour: 3.0,
            scale_up_events: 1,
            cold_start_replica_ns: u128::from(secs(120.0).as_nanos()),
            arrival_rate_per_s: 0.5,
            mean_service_s: 2.0,
            sla_concurrency_per_replica: 2.0,
            billed: l.report(1, 1).billed_costs(),
        };
        check_monthly(
            &inputs,
            &[
                ("steady_state_replicas", 0.5),
                ("buffer_replicas", 0.3),
                ("scaling_overhead_usd", 73.0),
                ("equation_total_usd", 1825.0),
                ("billed_monthly_usd", 2190.0),
                ("difference.total_usd", 365.0),
                ("difference.draining_usd", 365.0),
                ("difference.procurement_usd", 0.0),
                ("difference.billing_granularity_usd", 0.0),
                ("difference.other_usd", 0.0),
            ],
        );
    }

    #[test]
    fn monthly_inputs_validation_names_the_field() {
        type Edit = fn(&mut MonthlyInputs);
        let cases: Vec<(&str, Edit)> = vec![
            ("simulated", |i| i.simulated = SimDuration::ZERO),
            ("usd_per_replica_hour", |i| i.usd_per_replica_hour = -1.0),
            ("arrival_rate_per_s", |i| i.arrival_rate_per_s = f64::NAN),
            ("mean_service_s", |i| i.mean_service_s = -0.5),
            ("sla_concurrency_per_replica", |i| {
                i.sla_concurrency_per_replica = 0.0
            }),
            ("sla_concurrency_per_replica", |i| {
                i.sla_concurrency_per_replica = f64::INFINITY
            }),
            ("cold_start_replica_ns", |i| i.scale_up_events = 0),
            ("billed.total_usd", |i| i.billed.total_usd = -1.0),
            ("billed.packing_usd", |i| {
                i.billed.packing_usd = f64::INFINITY
            }),
        ];
        assert_eq!(example_inputs().validate(), Ok(()));
        for (field, edit) in cases {
            let mut inputs = example_inputs();
            edit(&mut inputs);
            assert_eq!(
                monthly_equation(&inputs).map_err(|e| e.0),
                Err(field),
                "{inputs:?}"
            );
        }
    }
}
