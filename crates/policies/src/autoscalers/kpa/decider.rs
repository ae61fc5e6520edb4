//! The KPA decider (`pkg/autoscaler/scaling/autoscaler.go`): one revision's
//! `autoscaler.Scale` with its panic state and scale-down delay window.

// Target burst capacity uses exact sentinels (-1, 0), compared exactly as
// upstream does.
#![allow(clippy::float_cmp)]

use super::{AutoscalerError, DeciderSpec};
use fleetsim_core::{SimDuration, SimTime};

/// Why the ready pods could not be counted (the endpoints lister's error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodCountError {
    /// The endpoints object does not exist (yet): upstream carries on with
    /// the count the lister returned (0), i.e. one pod for the rate limits
    /// and none for the burst capacity.
    NotFound,
    /// Any other lister error: no decision at `Scale`, and a decider
    /// created then starts with 0 pods (no panic).
    Other,
}
/// Knative's `max.TimeWindow`: the maximum of values recorded in the last
/// `ceil(duration / granularity)` buckets, bucket index `floor(t / g)`; an
/// entry leaves when `index_now - index_entry >= size`.
#[derive(Clone, Debug)]
pub struct MaxTimeWindow {
    size: u64,
    granularity: u64,
    /// (index, value), values strictly decreasing from the front.
    entries: std::collections::VecDeque<(u64, i64)>,
}

impl MaxTimeWindow {
    /// A window of `duration` in `granularity` buckets (both > 0).
    pub fn new(duration: SimDuration, granularity: SimDuration) -> Self {
        let g = granularity.as_nanos().max(1);
        MaxTimeWindow {
            size: duration.as_nanos().div_ceil(g).max(1),
            granularity: g,
            entries: Default::default(),
        }
    }

    /// Record `value` at `now`.
    pub fn record(&mut self, now: SimTime, value: i64) {
        let index = now.as_nanos() / self.granularity;
        while let Some(&(i, _)) = self.entries.front() {
            if i + self.size <= index {
                self.entries.pop_front();
            } else {
                break;
            }
        }
        while let Some(&(_, v)) = self.entries.back() {
            if v <= value {
                self.entries.pop_back();
            } else {
                break;
            }
        }
        self.entries.push_back((index, value));
    }

    /// The current maximum (0 when empty).
    pub fn current(&self) -> i64 {
        self.entries.front().map_or(0, |&(_, v)| v)
    }
}

/// One decision (`ScaleResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleResult {
    /// False when there was no data (no decision).
    pub valid: bool,
    /// Desired pods.
    pub desired_pod_count: i32,
    /// Excess burst capacity (-1 = activator always in path).
    pub excess_burst_capacity: i32,
}

impl ScaleResult {
    const INVALID: ScaleResult = ScaleResult {
        valid: false,
        desired_pod_count: 0,
        excess_burst_capacity: 0,
    };
}

/// The KPA decider of one revision, with its panic state and delay window.
#[derive(Clone, Debug)]
pub struct KpaDecider {
    spec: DeciderSpec,
    panic_time: Option<SimTime>,
    max_panic_pods: i32,
    delay_window: Option<MaxTimeWindow>,
}

impl KpaDecider {
    /// A decider created at `now` when `ready_pods` pods are ready: with
    /// more than one it starts in panic mode holding that count.
    pub fn new(spec: DeciderSpec, ready_pods: u32, now: SimTime) -> Result<Self, AutoscalerError> {
        Self::new_counted(spec, Ok(ready_pods), now)
    }

    /// [`KpaDecider::new`] when counting the ready pods may fail: a failed
    /// count is 0 pods (upstream `newAutoscaler`), so no panic mode and a
    /// max panic pod count of 0.
    pub fn new_counted(
        spec: DeciderSpec,
        ready_pods: Result<u32, PodCountError>,
        now: SimTime,
    ) -> Result<Self, AutoscalerError> {
        spec.validate()?;
        let ready_pods = ready_pods.unwrap_or(0);
        let delay_window = Self::delay_window_for(&spec);
        let panic = ready_pods > 1;
        Ok(KpaDecider {
            spec,
            panic_time: panic.then_some(now),
            max_panic_pods: ready_pods.min(i32::MAX as u32) as i32,
            delay_window,
        })
    }

    fn delay_window_for(spec: &DeciderSpec) -> Option<MaxTimeWindow> {
        (spec.scale_down_delay_s > 0).then(|| {
            MaxTimeWindow::new(
                crate::autoscalers::secs(spec.scale_down_delay_s),
                crate::autoscalers::secs(spec.tick_interval_s),
            )
        })
    }

    /// The spec in force.
    pub fn spec(&self) -> &DeciderSpec {
        &self.spec
    }

    /// Replace the spec (`Update`). As upstream, the scale-down delay window
    /// is the one made at creation: a new `scale_down_delay_s` (or tick)
    /// does not resize, add or remove it.
    pub fn update(&mut self, spec: DeciderSpec) -> Result<(), AutoscalerError> {
        spec.validate()?;
        self.spec = spec;
        Ok(())
    }

    /// Force the panic state (tests and restarts).
    pub fn set_panic_state(&mut self, panic_time: Option<SimTime>, max_panic_pods: i32) {
        self.panic_time = panic_time;
        self.max_panic_pods = max_panic_pods;
    }

    /// Whether the decider is in panic mode.
    pub fn in_panic(&self) -> bool {
        self.panic_time.is_some()
    }

    /// The most pods asked for since panic mode began (0 outside panic
    /// once it has ended; the creation count before the first decision).
    pub fn max_panic_pods(&self) -> i32 {
        self.max_panic_pods
    }

    /// `autoscaler.Scale` at `now` with `ready_pods` ready and the observed
    /// `(stable, panic)` window averages (`None` = no data → invalid).
    pub fn scale(
        &mut self,
        now: SimTime,
        ready_pods: u32,
        observed: Option<(f64, f64)>,
    ) -> ScaleResult {
        self.scale_counted(now, Ok(ready_pods), observed)
    }

    /// [`KpaDecider::scale`] when counting the ready pods may fail: any
    /// error but not-found is no decision (checked before the metrics);
    /// not-found counts 0 ready pods.
    pub fn scale_counted(
        &mut self,
        now: SimTime,
        ready_pods: Result<u32, PodCountError>,
        observed: Option<(f64, f64)>,
    ) -> ScaleResult {
        let ready_pods = match ready_pods {
            Ok(n) => n,
            Err(PodCountError::NotFound) => 0,
            Err(PodCountError::Other) => return ScaleResult::INVALID,
        };
        let Some((stable, panic)) = observed else {
            return ScaleResult::INVALID;
        };
        let s = &self.spec;
        let ready = f64::from(ready_pods.max(1));
        let max_up = (s.max_scale_up_rate * ready).ceil();
        let max_down = if s.reachable {
            (ready / s.max_scale_down_rate).floor()
        } else {
            0.0
        };
        let dspc = (stable / s.target).ceil();
        let dppc = (panic / s.target).ceil();
        let clamp = |x: f64| x.max(max_down).min(max_up) as i32;
        let mut dsp = clamp(dspc);
        let mut dpp = clamp(dppc);
        if s.activation_scale > 1 {
            let act = s.activation_scale.min(i32::MAX as u32) as i32;
            if dspc > 0.0 && dsp < act {
                dsp = act;
            }
            if dppc > 0.0 && dpp < act {
                dpp = act;
            }
        }
        let over = dppc / ready >= s.panic_threshold;
        if over {
            self.panic_time = Some(now);
        } else if let Some(pt) = self.panic_time {
            if pt + crate::autoscalers::secs(s.stable_window_s) < now {
                self.panic_time = None;
                self.max_panic_pods = 0;
            }
        }
        let mut desired = dsp;
        if self.panic_time.is_some() {
            desired = desired.max(dpp);
            if desired > self.max_panic_pods {
                self.max_panic_pods = desired;
            } else {
                desired = self.max_panic_pods;
            }
        }
        if s.reachable {
            if let Some(w) = &mut self.delay_window {
                w.record(now, i64::from(desired));
                desired = w.current() as i32;
            }
        }
        let ebc = if s.target_burst_capacity == 0.0 {
            0.0
        } else if s.target_burst_capacity > 0.0 {
            (f64::from(ready_pods) * s.total - s.target_burst_capacity - panic).floor()
        } else {
            -1.0
        };
        ScaleResult {
            valid: true,
            desired_pod_count: desired,
            excess_burst_capacity: ebc as i32,
        }
    }
}
