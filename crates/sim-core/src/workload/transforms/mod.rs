//! Transformations of any workload: rescale time, slice, concatenate, repeat.
//!
//! Each is a lazy iterator adaptor: it pulls one request from its input per
//! request it yields (a slice may skip some first) and keeps O(1) state.
//! Errors from the input pass through unchanged and in place; the adaptors
//! only fail on their own account when a shifted or scaled arrival no longer
//! fits the nanosecond clock (about 584 years), after which they end.
//!
//! [`Transform`] is the scenario-file form; [`apply_transforms`] and
//! [`apply_transforms_with_factory`] apply a list of them in order:
//!
//! ```toml
//! transforms = [
//!   { kind = "slice", start_s = 600, end_s = 4200 },
//!   { kind = "rate_multiplier", factor = 2.0 },
//!   { kind = "repeat", times = 24, gap_s = 0.5 },
//! ]
//! ```

use super::lengths::{check_non_negative, check_positive, join_field};
use super::{BoxedWorkload, Workload, WorkloadError};
use crate::request::Request;
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One transformation, as written in a scenario file (tagged by `kind`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Transform {
    /// Multiply every arrival time by `factor` (> 0): 2 stretches the
    /// workload to twice its length at half the rate.
    ///
    /// TOML: `{ kind = "time_scale", factor = 2.0 }`
    TimeScale {
        /// Time multiplier (dimensionless, > 0).
        factor: f64,
    },
    /// Multiply the arrival rate by `factor` (> 0) by compressing time:
    /// the same as `time_scale` with `1 / factor`. Lengths are unchanged.
    ///
    /// TOML: `{ kind = "rate_multiplier", factor = 1.5 }`
    RateMultiplier {
        /// Rate multiplier (dimensionless, > 0).
        factor: f64,
    },
    /// A step in rate: from `at_s` on, multiply the arrival rate by
    /// `factor` (> 0) by compressing time after `at_s`; arrivals before it
    /// are unchanged.
    ///
    /// TOML: `{ kind = "rate_step", at_s = 1800, factor = 2.0 }`
    RateStep {
        /// When the step happens, seconds of the input's time.
        at_s: f64,
        /// Rate multiplier after the step (dimensionless, > 0).
        factor: f64,
    },
    /// Keep the requests arriving in `[start_s, end_s)` and shift them so
    /// that `start_s` becomes 0. Reading stops at the first arrival at or
    /// after `end_s`.
    ///
    /// TOML: `{ kind = "slice", start_s = 600, end_s = 4200 }`
    Slice {
        /// Start of the kept span, seconds; default 0.
        #[serde(default)]
        start_s: f64,
        /// End of the kept span (exclusive), seconds; default: the end of
        /// the input.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_s: Option<f64>,
    },
    /// Play the workload built so far `times` times back to back: each
    /// replay is shifted to start `gap_s` after the last arrival before it
    /// (so a replay whose first request arrives at `t0` begins
    /// `gap_s + t0` after the previous replay's last request). A play that
    /// yields no request ends the repeat (every later play is the same).
    ///
    /// TOML: `{ kind = "repeat", times = 24, gap_s = 0.5 }`
    Repeat {
        /// Number of plays, at least 1 (1 = no repetition).
        times: u64,
        /// Pause between the last arrival of one play and the start of the
        /// next, seconds; default 0.
        #[serde(default)]
        gap_s: f64,
    },
}

impl Transform {
    /// Checks the parameters; errors name the field as
    /// `{field_prefix}.{name}`, e.g. `transforms[2].factor`.
    pub fn validate(&self, field_prefix: &str) -> Result<(), WorkloadError> {
        match self {
            Transform::TimeScale { factor } | Transform::RateMultiplier { factor } => {
                check_factor(field_prefix, *factor)
            }
            Transform::RateStep { at_s, factor } => {
                check_non_negative(field_prefix, "at_s", *at_s)?;
                check_factor(field_prefix, *factor)
            }
            Transform::Slice { start_s, end_s } => {
                check_slice(field_prefix, *start_s, *end_s).map(|_| ())
            }
            Transform::Repeat { times, gap_s } => {
                check_repeat(field_prefix, *times, *gap_s).map(|_| ())
            }
        }
    }
}

/// Something that creates a fresh copy of a workload each time it is called;
/// [`Transform::Repeat`] needs it because readers cannot rewind. Creating it
/// twice must give the same requests (true of every deterministic source).
pub type WorkloadFactory = Arc<dyn Fn() -> Result<BoxedWorkload, WorkloadError> + Send + Sync>;

/// Applies `transforms` in order to `workload`.
///
/// A [`Transform::Repeat`] cannot be applied to a workload that exists only
/// once; it gives an [`WorkloadError::InvalidParameter`] here (use
/// [`apply_transforms_with_factory`]). `field_prefix` names the list, e.g.
/// `workload.transforms`, so errors read `workload.transforms[1].factor`.
pub fn apply_transforms(
    workload: BoxedWorkload,
    transforms: &[Transform],
    field_prefix: &str,
) -> Result<BoxedWorkload, WorkloadError> {
    validate_all(transforms, field_prefix)?;
    if let Some(i) = transforms
        .iter()
        .position(|t| matches!(t, Transform::Repeat { .. }))
    {
        return Err(WorkloadError::invalid(
            &item_prefix(field_prefix, i),
            "`repeat` needs a workload that can be re-created; this one can be read only once",
        ));
    }
    apply_linear(workload, transforms, field_prefix, 0)
}

/// Applies `transforms` in order to the workload `factory` creates.
///
/// Each [`Transform::Repeat`] replays everything before it in the list,
/// calling `factory` once per play (lazily, when the previous play ends).
/// Errors are named as in [`apply_transforms`].
pub fn apply_transforms_with_factory(
    factory: WorkloadFactory,
    transforms: &[Transform],
    field_prefix: &str,
) -> Result<BoxedWorkload, WorkloadError> {
    validate_all(transforms, field_prefix)?;
    build(factory, transforms.into(), field_prefix.into(), false)
}

fn validate_all(transforms: &[Transform], field_prefix: &str) -> Result<(), WorkloadError> {
    for (i, t) in transforms.iter().enumerate() {
        t.validate(&item_prefix(field_prefix, i))?;
    }
    Ok(())
}

/// `prefix[i]`, or `[i]` for an empty prefix.
fn item_prefix(prefix: &str, i: usize) -> String {
    format!("{prefix}[{i}]")
}

/// Builds the chain for `transforms`; the last `repeat` wraps a factory
/// that rebuilds everything before it. `sliced_later`: a `slice` after
/// this list may end the stream early.
fn build(
    factory: WorkloadFactory,
    transforms: Arc<[Transform]>,
    prefix: Arc<str>,
    sliced_later: bool,
) -> Result<BoxedWorkload, WorkloadError> {
    let last_repeat = transforms
        .iter()
        .rposition(|t| matches!(t, Transform::Repeat { .. }));
    match last_repeat {
        None => {
            let w = factory()?;
            apply_linear(w, &transforms, &prefix, 0)
        }
        Some(r) => {
            let (times, gap_s) = match transforms.get(r) {
                Some(Transform::Repeat { times, gap_s }) => (*times, *gap_s),
                _ => (1, 0.0),
            };
            let before: Arc<[Transform]> = transforms.get(..r).unwrap_or_default().into();
            let after = transforms.get(r + 1..).unwrap_or_default();
            let sliced_later =
                sliced_later || after.iter().any(|t| matches!(t, Transform::Slice { .. }));
            let (f, p) = (factory.clone(), prefix.clone());
            let inner = move || build(f.clone(), before.clone(), p.clone(), sliced_later);
            let field = item_prefix(&prefix, r);
            let mut repeat = Repeat::build(inner, times, gap_s, &field)?;
            if !sliced_later {
                // Every play is yielded whole: the first one's size tells
                // the total before a run simulates more than it can take.
                repeat.request_limit = Some(crate::engine::MAX_REQUESTS);
            }
            let repeated: BoxedWorkload = Box::new(repeat);
            apply_linear(repeated, after, &prefix, r + 1)
        }
    }
}

/// Applies transforms that need no factory; `first_index` is the position
/// of `transforms[0]` in the full list, for error names.
fn apply_linear(
    mut w: BoxedWorkload,
    transforms: &[Transform],
    prefix: &str,
    first_index: usize,
) -> Result<BoxedWorkload, WorkloadError> {
    for (i, t) in transforms.iter().enumerate() {
        let field = item_prefix(prefix, first_index + i);
        w = match t {
            Transform::TimeScale { factor } => Box::new(TimeScale::build(w, *factor, &field)?),
            Transform::RateMultiplier { factor } => {
                check_factor(&field, *factor)?;
                Box::new(TimeScale::build(w, 1.0 / factor, &field)?)
            }
            Transform::RateStep { at_s, factor } => {
                check_factor(&field, *factor)?;
                let from = SimDuration::try_from_secs_f64(*at_s).ok_or_else(|| {
                    WorkloadError::invalid(
                        &join_field(&field, "at_s"),
                        format!("must be a finite number of seconds ≥ 0, got {at_s}"),
                    )
                })?;
                let mut warp = TimeScale::build(w, 1.0 / factor, &field)?;
                warp.from_ns = from.as_nanos();
                Box::new(warp)
            }
            Transform::Slice { start_s, end_s } => {
                Box::new(Slice::build(w, *start_s, *end_s, &field)?)
            }
            Transform::Repeat { .. } => {
                return Err(WorkloadError::invalid(
                    &field,
                    "`repeat` needs a workload that can be re-created",
                ))
            }
        };
    }
    Ok(w)
}

fn check_factor(prefix: &str, factor: f64) -> Result<(), WorkloadError> {
    check_positive(prefix, "factor", factor)
}

/// Validated slice bounds in ns: `(start, end)`.
fn check_slice(
    prefix: &str,
    start_s: f64,
    end_s: Option<f64>,
) -> Result<(u64, Option<u64>), WorkloadError> {
    check_non_negative(prefix, "start_s", start_s)?;
    let start = SimDuration::try_from_secs_f64(start_s)
        .ok_or_else(|| {
            WorkloadError::invalid(
                &join_field(prefix, "start_s"),
                "is beyond the clock's range",
            )
        })?
        .as_nanos();
    let end = match end_s {
        None => None,
        Some(end_s) => {
            if !end_s.is_finite() || end_s <= start_s {
                return Err(WorkloadError::invalid(
                    &join_field(prefix, "end_s"),
                    format!("must be a finite time after start_s ({start_s} s), got {end_s}"),
                ));
            }
            // Ends past the clock's range mean "no end".
            SimDuration::try_from_secs_f64(end_s).map(SimDuration::as_nanos)
        }
    };
    Ok((start, end))
}

/// The most plays a [`Transform::Repeat`] makes: every play that goes on
/// to the next yields a request (an empty play ends the repeat, since every
/// later play is the same), and a run takes at most
/// [`crate::engine::MAX_REQUESTS`] requests, so more plays could only fail
/// later, after reading that many.
pub const MAX_REPEAT_TIMES: u64 = crate::engine::MAX_REQUESTS;

/// Validated repeat parameters: `(times, gap_ns)`.
fn check_repeat(prefix: &str, times: u64, gap_s: f64) -> Result<(u64, u64), WorkloadError> {
    if times == 0 || times > MAX_REPEAT_TIMES {
        return Err(WorkloadError::invalid(
            &join_field(prefix, "times"),
            format!(
                "must be from 1 to {MAX_REPEAT_TIMES} (a run takes at most {} requests, and a play yields at least one: an empty play ends the repeat), got {times}",
                crate::engine::MAX_REQUESTS
            ),
        ));
    }
    Ok((times, check_gap(prefix, gap_s)?))
}

fn check_gap(prefix: &str, gap_s: f64) -> Result<u64, WorkloadError> {
    check_non_negative(prefix, "gap_s", gap_s)?;
    SimDuration::try_from_secs_f64(gap_s)
        .map(SimDuration::as_nanos)
        .ok_or_else(|| {
            WorkloadError::invalid(&join_field(prefix, "gap_s"), "is beyond the clock's range")
        })
}

fn overflow(field: &str) -> WorkloadError {
    WorkloadError::invalid(
        field,
        "a transformed arrival time is beyond the clock's range (about 584 years)",
    )
}

/// Multiplies arrival times by a constant; see [`time_scale`].
#[derive(Debug)]
pub struct TimeScale<W> {
    inner: W,
    factor: f64,
    /// Arrivals before this instant are left alone; later ones are scaled
    /// relative to it (0 for a plain time scale, the step for `rate_step`).
    from_ns: u64,
    field: Box<str>,
    done: bool,
}

/// Multiplies every arrival time by `factor` (> 0, dimensionless), rounding
/// to the nearest nanosecond. Order is preserved.
pub fn time_scale<W: Workload>(inner: W, factor: f64) -> Result<TimeScale<W>, WorkloadError> {
    TimeScale::build(inner, factor, "")
}

/// Multiplies the arrival rate by `factor` (> 0): [`time_scale`] with
/// `1 / factor`.
pub fn rate_multiplier<W: Workload>(inner: W, factor: f64) -> Result<TimeScale<W>, WorkloadError> {
    check_factor("", factor)?;
    TimeScale::build(inner, 1.0 / factor, "")
}

impl<W: Workload> TimeScale<W> {
    fn build(inner: W, factor: f64, prefix: &str) -> Result<Self, WorkloadError> {
        check_factor(prefix, factor)?;
        Ok(TimeScale {
            inner,
            factor,
            from_ns: 0,
            field: join_field(prefix, "factor").into(),
            done: false,
        })
    }
}

impl<W: Workload> Iterator for TimeScale<W> {
    type Item = Result<Request, WorkloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut request = match self.inner.next()? {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let t = request.arrival.as_nanos();
        if t < self.from_ns {
            return Some(Ok(request));
        }
        let scaled = ((t - self.from_ns) as f64 * self.factor).round();
        // `as` would saturate silently; an arrival past the clock is an error.
        let shifted = (scaled.is_finite() && scaled < u64::MAX as f64)
            .then(|| self.from_ns.checked_add(scaled as u64))
            .flatten();
        let Some(shifted) = shifted else {
            self.done = true;
            return Some(Err(overflow(&self.field)));
        };
        request.arrival = SimTime(shifted);
        Some(Ok(request))
    }
}

/// Keeps a time span of a workload; see [`slice()`].
#[derive(Debug)]
pub struct Slice<W> {
    inner: W,
    start_ns: u64,
    end_ns: Option<u64>,
    done: bool,
}

/// Keeps the requests arriving in `[start_s, end_s)` (seconds; `None` = to
/// the end) and shifts them so `start_s` becomes time 0. Stops reading the
/// input at the first arrival at or after `end_s`, so slicing the first hour
/// of a long trace reads only that hour.
pub fn slice<W: Workload>(
    inner: W,
    start_s: f64,
    end_s: Option<f64>,
) -> Result<Slice<W>, WorkloadError> {
    Slice::build(inner, start_s, end_s, "")
}

impl<W: Workload> Slice<W> {
    fn build(
        inner: W,
        start_s: f64,
        end_s: Option<f64>,
        prefix: &str,
    ) -> Result<Self, WorkloadError> {
        let (start_ns, end_ns) = check_slice(prefix, start_s, end_s)?;
        Ok(Slice {
            inner,
            start_ns,
            end_ns,
            done: false,
        })
    }
}

impl<W: Workload> Iterator for Slice<W> {
    type Item = Result<Request, WorkloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let mut request = match self.inner.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(r)) => r,
            };
            let t = request.arrival.as_nanos();
            if self.end_ns.is_some_and(|end| t >= end) {
                self.done = true;
                return None;
            }
            if t >= self.start_ns {
                request.arrival = SimTime(t - self.start_ns);
                return Some(Ok(request));
            }
        }
        None
    }
}

/// One workload after another; see [`concatenate`].
#[derive(Debug)]
pub struct Concatenate<A, B> {
    first: Option<A>,
    second: B,
    gap_ns: u64,
    /// Latest arrival yielded so far (absolute), ns.
    last_ns: u64,
    /// Shift applied to `second`, fixed when `first` ends.
    offset_ns: u64,
    done: bool,
}

/// Yields all of `a`, then all of `b` shifted to start `gap_s` seconds after
/// `a`'s last arrival (after time 0 if `a` is empty): a request of `b` at
/// `t` arrives at `last(a) + gap_s + t`.
pub fn concatenate<A: Workload, B: Workload>(
    a: A,
    b: B,
    gap_s: f64,
) -> Result<Concatenate<A, B>, WorkloadError> {
    let gap_ns = check_gap("", gap_s)?;
    Ok(Concatenate {
        first: Some(a),
        second: b,
        gap_ns,
        last_ns: 0,
        offset_ns: 0,
        done: false,
    })
}

impl<A: Workload, B: Workload> Iterator for Concatenate<A, B> {
    type Item = Result<Request, WorkloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(first) = &mut self.first {
            match first.next() {
                Some(Ok(r)) => {
                    self.last_ns = self.last_ns.max(r.arrival.as_nanos());
                    return Some(Ok(r));
                }
                Some(Err(e)) => return Some(Err(e)),
                None => {
                    self.first = None;
                    match self.last_ns.checked_add(self.gap_ns) {
                        Some(o) => self.offset_ns = o,
                        None => {
                            self.done = true;
                            return Some(Err(overflow("gap_s")));
                        }
                    }
                }
            }
        }
        let mut request = match self.second.next()? {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        match request.arrival.as_nanos().checked_add(self.offset_ns) {
            Some(t) => {
                request.arrival = SimTime(t);
                Some(Ok(request))
            }
            None => {
                self.done = true;
                Some(Err(overflow("gap_s")))
            }
        }
    }
}

/// A workload played several times back to back; see [`repeat`].
pub struct Repeat<F, W> {
    factory: F,
    current: Option<W>,
    /// Plays not started yet.
    plays_left: u64,
    gap_ns: u64,
    /// Shift of the current play, ns.
    offset_ns: u64,
    /// Latest arrival yielded so far (absolute), ns.
    last_ns: u64,
    /// The current play has yielded a request.
    play_yielded: bool,
    /// Plays asked for.
    times: u64,
    /// Requests the first play yielded so far (counted during that play).
    first_play_requests: u64,
    /// Plays started.
    plays_started: u64,
    /// When every play is yielded whole: the most requests all plays may
    /// make, checked when the first play ends.
    request_limit: Option<u64>,
    /// The transform, e.g. `workload.transforms[1]`.
    prefix: Box<str>,
    field: Box<str>,
    done: bool,
}

impl<F, W> std::fmt::Debug for Repeat<F, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repeat")
            .field("plays_left", &self.plays_left)
            .field("gap_ns", &self.gap_ns)
            .field("offset_ns", &self.offset_ns)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Plays the workload `factory` creates `times` times (1 to
/// [`MAX_REPEAT_TIMES`]), each play shifted to start `gap_s` seconds (≥ 0)
/// after the previous play's last arrival. `factory` is called once per
/// play, lazily; its errors are yielded and end the workload. `factory`
/// must make the same play each time: a play that yields no request ends
/// the repeat.
pub fn repeat<F, W>(factory: F, times: u64, gap_s: f64) -> Result<Repeat<F, W>, WorkloadError>
where
    F: FnMut() -> Result<W, WorkloadError>,
    W: Workload,
{
    Repeat::build(factory, times, gap_s, "")
}

impl<F, W> Repeat<F, W>
where
    F: FnMut() -> Result<W, WorkloadError>,
    W: Workload,
{
    fn build(factory: F, times: u64, gap_s: f64, prefix: &str) -> Result<Self, WorkloadError> {
        let (times, gap_ns) = check_repeat(prefix, times, gap_s)?;
        Ok(Repeat {
            factory,
            current: None,
            plays_left: times,
            gap_ns,
            offset_ns: 0,
            last_ns: 0,
            play_yielded: false,
            times,
            first_play_requests: 0,
            plays_started: 0,
            request_limit: None,
            prefix: prefix.into(),
            field: join_field(prefix, "gap_s").into(),
            done: false,
        })
    }
}

impl<F, W> Iterator for Repeat<F, W>
where
    F: FnMut() -> Result<W, WorkloadError>,
    W: Workload,
{
    type Item = Result<Request, WorkloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if let Some(current) = &mut self.current {
                match current.next() {
                    Some(Ok(mut r)) => {
                        let Some(t) = r.arrival.as_nanos().checked_add(self.offset_ns) else {
                            self.done = true;
                            return Some(Err(overflow(&self.field)));
                        };
                        r.arrival = SimTime(t);
                        self.last_ns = self.last_ns.max(t);
                        self.play_yielded = true;
                        if self.plays_started == 1 {
                            self.first_play_requests += 1;
                        }
                        return Some(Ok(r));
                    }
                    Some(Err(e)) => return Some(Err(e)),
                    None => {
                        self.current = None;
                        if let Some(limit) = self.request_limit.filter(|_| self.plays_started == 1)
                        {
                            let total = self.first_play_requests.saturating_mul(self.times);
                            if total > limit {
                                self.done = true;
                                return Some(Err(WorkloadError::invalid(
                                    &join_field(&self.prefix, "times"),
                                    format!(
                                        "a play yields {} requests, so {} plays make {total}, more than a run takes ({limit}); lower `times` or slice the workload",
                                        self.first_play_requests, self.times
                                    ),
                                )));
                            }
                        }
                        if !std::mem::take(&mut self.play_yielded) {
                            // Every play yields the same requests: an empty
                            // one means the rest are empty too.
                            self.done = true;
                            continue;
                        }
                        // The next play starts after this one's last arrival
                        // (or the previous shift, if this play was empty).
                        let base = self.last_ns.max(self.offset_ns);
                        match base.checked_add(self.gap_ns) {
                            Some(o) => self.offset_ns = o,
                            None => {
                                self.done = true;
                                return Some(Err(overflow(&self.field)));
                            }
                        }
                    }
                }
            } else if self.plays_left == 0 {
                self.done = true;
            } else {
                self.plays_left -= 1;
                self.plays_started += 1;
                match (self.factory)() {
                    Ok(w) => self.current = Some(w),
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
