//! The time series: fixed-width windows of arrivals, completions, queue
//! and fleet gauges, SLA misses and GPU time by state. GPU time comes from
//! the accounting room, so the windows add up to the run's totals.

use super::{SimError, Simulation};
use crate::cost::GpuState;
use crate::lifecycle::Phase;
use crate::time::{SimDuration, SimTime};

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
    /// Requests that arrived in the window, have ended and missed the SLA.
    pub(super) sla_misses: u64,
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

/// The most time-series rows one run keeps (about 150 bytes each). Quiet
/// stretches cost one row however long, so only busy time counts: two
/// million rows are 231 days of traffic at the default 10-s resolution,
/// 33 minutes at a millisecond.
pub const MAX_TIMESERIES_ROWS: usize = 2_000_000;

impl Simulation {
    pub(super) fn on_tick(&mut self) {
        let mut running = 0u64;
        let mut waiting: u64 = self
            .deployments
            .iter()
            .map(|d| d.gateway.len() as u64)
            .sum();
        let (mut replicas_starting, mut replicas_draining) = (0u32, 0u32);
        for r in self.fleet.live_replicas() {
            let l = self.fleet.replicas[r as usize].load();
            running += u64::from(l.running);
            waiting += u64::from(l.waiting);
            match self.fleet.lives[r as usize].phase {
                Phase::Starting(_) => replicas_starting += 1,
                Phase::Draining => replicas_draining += 1,
                Phase::Ready | Phase::Terminated => {}
            }
        }
        self.fleet.settle_gpu_ns();
        let gpu_ns = self.windows.gpu_window(self.fleet.gpu_ns_until(self.now));
        let w = std::mem::take(&mut self.windows.open);
        let mut ttft = w.ttft_ns;
        let ttft_p95_ns = crate::metrics::percentiles_unsorted(&mut ttft, &[95.0])[0];
        let row = TimeseriesRow {
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
            sla_misses: w.sla_misses,
            gpu_ns,
        };
        self.windows.close(row);
        if self.windows.rows.len() > MAX_TIMESERIES_ROWS && self.halted.is_none() {
            self.halted = Some(SimError::TimeSeries {
                rows: MAX_TIMESERIES_ROWS,
                at_s: self.now.as_secs_f64(),
                resolution_s: self.config.timeseries_resolution.as_secs_f64(),
            });
        }
        ttft.clear();
        self.windows.open = WindowAccumulator {
            start: self.now,
            ttft_ns: ttft,
            ..WindowAccumulator::default()
        };
    }
}

impl TimeseriesRow {
    /// No request arrived, completed or got its first token in the row.
    fn is_quiet(&self) -> bool {
        self.arrivals == 0 && self.completed == 0 && self.ttft_p95_ns.is_none()
    }

    /// The gauges taken at the row's end.
    fn gauges(&self) -> (u64, u64, u32, u32, u32) {
        (
            self.running,
            self.waiting,
            self.replicas,
            self.replicas_starting,
            self.replicas_draining,
        )
    }
}

impl Windows {
    /// Adds a closed window. A quiet window (no arrival, completion or
    /// first token) whose gauges equal those of a quiet row before it
    /// extends that row: a stretch in which nothing changes is one row
    /// spanning it, with the GPU time of the whole stretch, so the memory
    /// of the time series grows with what happens, not with simulated time.
    /// The decision reads only the rows, so both stepping modes agree.
    pub(super) fn close(&mut self, row: TimeseriesRow) {
        if let Some(last) = self.rows.last_mut() {
            if row.is_quiet() && last.is_quiet() && row.gauges() == last.gauges() {
                last.end = row.end;
                for (l, g) in last.gpu_ns.iter_mut().zip(row.gpu_ns) {
                    *l += g;
                }
                return;
            }
        }
        self.rows.push(row);
    }

    /// When to close the window after the one that ends `now`: one
    /// `resolution` on, or, when the next event or arrival (`next`) is
    /// further off, at the last window boundary before it. The windows in
    /// between hold no event, so nothing in them changes and one tick
    /// closes them all (they would be one row anyway, `close`): an idle
    /// stretch costs one event however many windows it spans.
    pub(super) fn next_tick(now: SimTime, next: SimTime, resolution: SimDuration) -> SimTime {
        let whole = next.0.saturating_sub(now.0).saturating_sub(1) / resolution.0;
        now + SimDuration(resolution.0 * whole.max(1))
    }

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

    /// Counts an ended request's SLA miss in the window whose `arrivals`
    /// counted it (closed, or the one in progress), as the request ends: an
    /// arrival at a window's end instant comes before that instant's tick
    /// (class 0), so it belongs to the window ending there. Rows that
    /// counted an arrival are never merged (`close`), so the row stays.
    pub(super) fn note_miss(&mut self, arrival: SimTime) {
        match self.rows.last() {
            Some(last) if arrival <= last.end => {
                let k = self.rows.partition_point(|w| w.end < arrival);
                self.rows[k].sla_misses += 1;
            }
            _ => self.open.sla_misses += 1,
        }
    }
}
