//! Simulated time: integer nanoseconds.
//!
//! Floating-point time accumulates rounding error that differs with the order
//! of additions; integer nanoseconds make every sum exact and every ordering
//! total, which is what the determinism contract needs. `u64` nanoseconds
//! cover 584 years.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Nanoseconds per second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;
/// Nanoseconds per millisecond.
pub const NANOS_PER_MS: u64 = 1_000_000;

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The latest representable instant; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Nanoseconds since the start of the run.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the start of the run (lossy; for reporting only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// `self + d`, saturating at [`SimTime::MAX`].
    pub fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// From whole nanoseconds.
    pub const fn from_nanos(ns: u64) -> Self {
        SimDuration(ns)
    }

    /// From whole milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms * NANOS_PER_MS)
    }

    /// From whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * NANOS_PER_SEC)
    }

    /// From fractional seconds, rounded to the nearest nanosecond.
    ///
    /// Returns `None` for NaN, negative or infinite input and for spans that
    /// do not fit in `u64` nanoseconds, so callers can turn bad input into a
    /// clear error instead of a silent clamp.
    pub fn try_from_secs_f64(secs: f64) -> Option<Self> {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        let ns = secs * NANOS_PER_SEC as f64;
        if ns >= u64::MAX as f64 {
            return None;
        }
        // Round half away from zero, as `f64::round`, without the libm call
        // (a hot path: every service time and synthetic gap). `ns - t` is
        // exact: below 2⁵³ both are representable, above it `ns` has no
        // fraction.
        let t = ns as u64;
        let rounded = if ns - t as f64 >= 0.5 { t + 1 } else { t };
        Some(SimDuration(rounded))
    }

    /// Nanoseconds.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds (lossy; for reporting only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// Milliseconds (lossy; for reporting only).
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_MS as f64
    }
}

// Additions saturate: `SimTime::MAX` means "never", and a run that reaches
// the end of the clock (584 years) stops there instead of wrapping to 0 or
// panicking.
impl std::ops::Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl std::ops::Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl std::ops::AddAssign for SimDuration {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl fmt::Debug for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "t={}.{:09}s",
            self.0 / NANOS_PER_SEC,
            self.0 % NANOS_PER_SEC
        )
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}s",
            self.0 / NANOS_PER_SEC,
            self.0 % NANOS_PER_SEC
        )
    }
}

impl fmt::Debug for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ns", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_secs(input: f64, expect: Option<u64>) {
        assert_eq!(
            SimDuration::try_from_secs_f64(input).map(|d| d.0),
            expect,
            "{input}"
        );
    }

    #[test]
    fn from_secs_f64_rounds_to_nanos() {
        check_secs(1.5, Some(1_500_000_000));
        check_secs(0.000_000_000_4, Some(0));
        check_secs(0.000_000_000_6, Some(1));
        check_secs(0.0, Some(0));
    }

    #[test]
    fn from_secs_f64_rejects_bad_input() {
        check_secs(-1.0, None);
        check_secs(f64::NAN, None);
        check_secs(f64::INFINITY, None);
        check_secs(1e30, None);
    }

    proptest::proptest! {
        #[test]
        fn rounding_equals_f64_round(secs in 0.0f64..1.0e10) {
            let expected = (secs * NANOS_PER_SEC as f64).round() as u64;
            proptest::prop_assert_eq!(SimDuration::try_from_secs_f64(secs).map(|d| d.0), Some(expected));
        }
    }

    #[test]
    fn additions_saturate_at_the_end_of_the_clock() {
        assert_eq!(SimTime(u64::MAX - 1) + SimDuration(5), SimTime::MAX);
        assert_eq!(
            SimDuration(u64::MAX) + SimDuration(1),
            SimDuration(u64::MAX)
        );
    }

    #[test]
    fn display_is_exact() {
        assert_eq!(SimTime(1_000_000_001).to_string(), "1.000000001s");
    }
}
