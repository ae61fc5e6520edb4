//! The GPU ledger: exact integer GPU·ns by pool and state, node time held
//! and billed, its balance check, and its conversion to a [`CostReport`].

use super::*;

/// A misuse of a [`GpuLedger`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerError {
    /// A pool failed [`PoolPricing::validate`].
    InvalidPool {
        /// Index of the pool.
        pool: usize,
        /// The field at fault, e.g. `usd_per_gpu_hour`.
        field: String,
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
    /// What [`add`](GpuLedger::add) counts a GPU as: 1 unless GPUs are
    /// shared (7 with MIG, a compute slice a unit); the ledger's "GPU·ns"
    /// are then unit·ns, turned into GPU-hours in the report.
    units_per_gpu: u32,
}

impl GpuLedger {
    /// An empty ledger over `pools`; a pool is named by its index.
    pub fn new(pools: Vec<PoolPricing>) -> Result<GpuLedger, LedgerError> {
        for (pool, p) in pools.iter().enumerate() {
            p.validate().map_err(|e| LedgerError::InvalidPool {
                pool,
                field: e.field,
                message: e.problem,
            })?;
        }
        let time = vec![PoolGpuTime::default(); pools.len()];
        Ok(GpuLedger {
            pools,
            time,
            units_per_gpu: 1,
        })
    }

    /// The same ledger counting `units` units a GPU (at least 1): `add`
    /// then takes GPU units, and a node holds `gpus_per_node × units`.
    pub fn with_units_per_gpu(mut self, units: u32) -> GpuLedger {
        self.units_per_gpu = units.max(1);
        self
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
            let units = u128::from(p.gpus_per_node) * u128::from(self.units_per_gpu);
            (units, p.billing.billed(held), held)
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
        // Dividing by 1 is exact: whole-GPU runs keep their figures bit
        // for bit.
        let units = f64::from(self.units_per_gpu);
        let hours = |ns: u128| hours(ns) / units;
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
