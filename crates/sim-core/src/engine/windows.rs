//! The time series: fixed-width windows of arrivals, completions, queue
//! and fleet gauges, SLA misses and GPU time by state. GPU time comes from
//! the accounting room, so the windows add up to the run's totals.

use super::Simulation;
use crate::cost::GpuState;
use crate::lifecycle::Phase;
use crate::metrics::{RequestRecord, SlaConfig};
use crate::time::SimTime;

/// One window of the time series.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeseriesRow {
    /// Window start.
    pub start: SimTime,
    /// Window end.
    pub end: SimTime,
    /// Requests that arrived in the window.
    pub arrivals: u64,
    /// Requests that completed in the window.
    pub completed: u64,
    /// Requests running at the window's end, all replicas.
    pub running: u64,
    /// Requests waiting at the window's end, all replicas.
    pub waiting: u64,
    /// Replicas serving at the window's end.
    pub replicas: u32,
    /// 95th percentile TTFT of requests whose first token came in the window, ns.
    pub ttft_p95_ns: Option<f64>,
    /// Replicas coming up at the window's end (any cold-start stage, or
    /// waiting for a node).
    pub replicas_starting: u32,
    /// Replicas draining at the window's end.
    pub replicas_draining: u32,
    /// Requests counted in this window's `arrivals` that missed the SLA
    /// (the summary's headline SLA: any outcome but a completion within
    /// the thresholds is a miss).
    pub sla_misses: u64,
    /// GPU time spent in the window by state, GPU·ns, indexed like
    /// [`GpuState::ALL`]. Over all windows each state sums to the run's
    /// total (the cost report's, with a placement).
    pub gpu_ns: [u128; GpuState::COUNT],
}

#[derive(Debug, Default)]
pub(super) struct WindowAccumulator {
    pub(super) start: SimTime,
    pub(super) arrivals: u64,
    pub(super) completed: u64,
    pub(super) ttft_ns: Vec<u64>,
}

/// The windows room's state.
#[derive(Debug, Default)]
pub(super) struct Windows {
    /// The window in progress.
    pub(super) open: WindowAccumulator,
    /// The windows closed so far.
    pub(super) rows: Vec<TimeseriesRow>,
    /// GPU time by state shown in the windows so far, GPU·ns: each window
    /// shows what the running total has gained beyond it, so the windows
    /// add up to the run's totals exactly.
    pub(super) gpu_ns_shown: [u128; GpuState::COUNT],
}

impl Simulation {
    pub(super) fn on_tick(&mut self) {
        let mut running = 0u64;
        let mut waiting: u64 = self
            .deployments
            .iter()
            .map(|d| d.gateway.len() as u64)
            .sum();
        for (r, life) in self.fleet.replicas.iter().zip(&self.fleet.lives) {
            if life.phase != Phase::Terminated {
                let l = r.load();
                running += u64::from(l.running);
                waiting += u64::from(l.waiting);
            }
        }
        let (mut replicas_starting, mut replicas_draining) = (0u32, 0u32);
        for life in &self.fleet.lives {
            match life.phase {
                Phase::Starting(_) => replicas_starting += 1,
                Phase::Draining => replicas_draining += 1,
                Phase::Ready | Phase::Terminated => {}
            }
        }
        let gpu_ns = self.windows.gpu_window(self.fleet.gpu_ns_until(self.now));
        let w = std::mem::take(&mut self.windows.open);
        let mut ttft = w.ttft_ns;
        let ttft_p95_ns = crate::metrics::percentiles_unsorted(&mut ttft, &[95.0])[0];
        self.windows.rows.push(TimeseriesRow {
            start: w.start,
            end: self.now,
            arrivals: w.arrivals,
            completed: w.completed,
            running,
            waiting,
            replicas: self
                .deployments
                .iter()
                .map(|d| d.routable.len() as u32)
                .sum(),
            ttft_p95_ns,
            replicas_starting,
            replicas_draining,
            sla_misses: 0, // binned from the records at the end
            gpu_ns,
        });
        ttft.clear();
        self.windows.open = WindowAccumulator {
            start: self.now,
            ttft_ns: ttft,
            ..WindowAccumulator::default()
        };
    }
}

impl Windows {
    /// GPU time by state since the previous window's end, given the
    /// running `total` (`Fleet::gpu_ns_until` at the window's end).
    ///
    /// A running total should never shrink (a replica's busy time is
    /// frozen at drain start as elapsed, `busy_ns_at`); should one ever,
    /// the window shows zero and the shortfall is taken from the next
    /// windows, so the windows still add up to the totals.
    pub(super) fn gpu_window(&mut self, total: [u128; GpuState::COUNT]) -> [u128; GpuState::COUNT] {
        let mut window = [0u128; GpuState::COUNT];
        for ((w, t), shown) in window.iter_mut().zip(total).zip(&mut self.gpu_ns_shown) {
            *w = t.saturating_sub(*shown);
            *shown += *w;
        }
        window
    }

    /// Makes the windows add up to `total`, the GPU time by state at the
    /// run's end (where the cost report closes everything): what the running
    /// total gained after the windows goes to the last window; a shortfall
    /// (one the later windows could not absorb, see `gpu_window`) is taken
    /// from the latest windows that have some, so none goes negative.
    pub(super) fn close_gpu_windows(&mut self, total: [u128; GpuState::COUNT]) {
        for (i, (t, shown)) in total.into_iter().zip(self.gpu_ns_shown).enumerate() {
            if let Some(gain) = t.checked_sub(shown) {
                if let Some(last) = self.rows.last_mut() {
                    last.gpu_ns[i] += gain;
                }
                continue;
            }
            let mut excess = shown - t;
            for w in self.rows.iter_mut().rev() {
                let take = excess.min(w.gpu_ns[i]);
                w.gpu_ns[i] -= take;
                excess -= take;
                if excess == 0 {
                    break;
                }
            }
        }
    }

    /// Counts each record's SLA miss in the window whose `arrivals` counted
    /// it: an arrival at a window's end instant comes before that instant's
    /// tick (class 0), so it belongs to the window ending there.
    pub(super) fn bin_sla_misses(&mut self, records: &[RequestRecord], sla: &SlaConfig) {
        let Some(last) = self.rows.len().checked_sub(1) else {
            return;
        };
        for r in records {
            if sla.request_meets(r) {
                continue;
            }
            let k = self.rows.partition_point(|w| w.end < r.arrival);
            self.rows[k.min(last)].sla_misses += 1;
        }
    }
}
