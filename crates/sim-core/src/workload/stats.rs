//! Summary statistics of a workload: arrival process and token lengths.
//!
//! The definitions follow the reference statistics of the shared traces, so
//! that a reader can be validated against them:
//!
//! - mean rate = requests ÷ (last arrival − first arrival);
//! - IAT = gaps between consecutive arrivals; CV = std ÷ mean;
//! - windowed figures use complete tumbling windows aligned to the first
//!   arrival (the tail after the last complete window is dropped); a rate is
//!   a window's count ÷ its length; the index of dispersion (IoD) is the
//!   variance ÷ mean of the counts. A workload shorter than one window
//!   gets a single partial window whose rate is the whole-workload rate;
//! - percentiles interpolate linearly between order statistics (numpy's
//!   default `linear` method).
//!
//! Every variance and standard deviation is the population one (divided by
//! n, numpy's default): the reference figures use it, and the sample
//! version would differ by 1.7 % on the 58 one-minute windows of an hour.
//!
//! Arrival figures are computed in one streaming pass (memory independent of
//! the number of windows); token counts are kept to sort for percentiles.

use super::WorkloadError;
use crate::request::Request;
use crate::time::{SimTime, NANOS_PER_SEC};
use serde::Serialize;

/// Summary of a workload, see the module docs for the definitions.
///
/// Figures that need more requests than the workload has (a rate over a
/// zero span, a CV of fewer than two gaps) are `None` (`null` in JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceStats {
    /// Number of requests.
    pub requests: u64,
    /// First arrival, seconds from the workload's time origin.
    pub first_arrival_s: Option<f64>,
    /// Last arrival minus first arrival, seconds.
    pub span_s: f64,
    /// Requests per second over the span.
    pub mean_rate_rps: Option<f64>,
    /// Mean gap between consecutive arrivals, seconds.
    pub iat_mean_s: Option<f64>,
    /// Coefficient of variation of the gaps (std ÷ mean).
    pub iat_cv: Option<f64>,
    /// Fraction of gaps that are exactly zero (simultaneous arrivals).
    pub zero_iat_fraction: Option<f64>,
    /// 1-second windows.
    pub windows_1s: WindowStats,
    /// 1-minute windows.
    pub windows_1min: WindowStats,
    /// 1-hour windows.
    pub windows_1h: WindowStats,
    /// Prompt lengths; `None` without requests.
    pub input_tokens: Option<TokenStats>,
    /// Output lengths; `None` without requests.
    pub output_tokens: Option<TokenStats>,
}

/// Request rate over tumbling windows of one length.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowStats {
    /// Window length, seconds.
    pub window_s: f64,
    /// Complete windows in the span; 0 means the figures describe a single
    /// partial window (the whole workload).
    pub complete_windows: u64,
    /// Mean rate over the windows, requests per second.
    pub mean_rate_rps: Option<f64>,
    /// Highest window rate, requests per second.
    pub peak_rate_rps: Option<f64>,
    /// Lowest window rate, requests per second.
    pub min_rate_rps: Option<f64>,
    /// Peak rate ÷ mean rate.
    pub peak_to_mean: Option<f64>,
    /// Variance ÷ mean of the per-window counts (1 for Poisson arrivals);
    /// needs a complete window with an arrival.
    pub index_of_dispersion: Option<f64>,
}

/// Distribution of a token count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenStats {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub std: f64,
    /// Smallest value.
    pub min: u32,
    /// Median (linear interpolation).
    pub p50: f64,
    /// 90th percentile (linear interpolation).
    pub p90: f64,
    /// 99th percentile (linear interpolation).
    pub p99: f64,
    /// Largest value.
    pub max: u32,
}

/// Window lengths reported, in seconds.
const WINDOWS_S: [u64; 3] = [1, 60, 3_600];

/// Summarises `workload`, consuming it. The first error of the workload is
/// returned as is; requests out of arrival order are an
/// [`WorkloadError::InvalidParameter`] (the readers never yield them).
pub fn compute(
    workload: impl Iterator<Item = Result<Request, WorkloadError>>,
) -> Result<TraceStats, WorkloadError> {
    let mut first: Option<SimTime> = None;
    let mut previous = SimTime::ZERO;
    let mut gaps = Moments::default();
    let mut zero_gaps: u64 = 0;
    let mut windows = WINDOWS_S.map(|s| WindowCounter::new(s * NANOS_PER_SEC));
    let mut input = Vec::new();
    let mut output = Vec::new();
    for (index, request) in workload.enumerate() {
        let request = request?;
        let arrival = request.arrival;
        let origin = *first.get_or_insert(arrival);
        if index > 0 {
            if arrival < previous {
                return Err(WorkloadError::invalid(
                    "workload",
                    format!(
                        "request {} arrives at {arrival}, before request {index} at {previous}; \
                         statistics need arrival order",
                        index + 1
                    ),
                ));
            }
            let gap = arrival.saturating_since(previous);
            gaps.push(gap.as_secs_f64());
            zero_gaps += u64::from(gap.as_nanos() == 0);
        }
        previous = arrival;
        let offset = arrival.saturating_since(origin).as_nanos();
        for counter in &mut windows {
            counter.push(offset);
        }
        input.push(request.input_tokens);
        output.push(request.output_tokens);
    }

    let requests = input.len() as u64;
    let span_s = first.map_or(0.0, |f| previous.saturating_since(f).as_secs_f64());
    let mean_rate_rps = (span_s > 0.0).then(|| requests as f64 / span_s);
    let iat_mean_s = (gaps.n > 0).then(|| span_s / gaps.n as f64);
    let iat_cv = match (iat_mean_s, gaps.variance()) {
        (Some(mean), Some(variance)) if mean > 0.0 => Some(variance.sqrt() / mean),
        _ => None,
    };
    let zero_iat_fraction = (gaps.n > 0).then(|| zero_gaps as f64 / gaps.n as f64);
    let [windows_1s, windows_1min, windows_1h] = windows.map(|w| w.finish(mean_rate_rps));
    Ok(TraceStats {
        requests,
        first_arrival_s: first.map(SimTime::as_secs_f64),
        span_s,
        mean_rate_rps,
        iat_mean_s,
        iat_cv,
        zero_iat_fraction,
        windows_1s,
        windows_1min,
        windows_1h,
        input_tokens: TokenStats::of(input),
        output_tokens: TokenStats::of(output),
    })
}

/// Running mean and sum of squared deviations (Welford), for the gaps.
#[derive(Debug, Default)]
struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    fn variance(&self) -> Option<f64> {
        (self.n >= 1).then(|| self.m2 / self.n as f64)
    }
}

/// Counts arrivals per tumbling window without storing the windows: the
/// arrivals are sorted, so a window is final once an arrival falls past it.
///
/// The windows closed when the stream ends are exactly the complete ones:
/// the last arrival's window index is ⌊span ÷ length⌋, the number of complete
/// windows, and that window itself is cut short by the end of the trace.
#[derive(Debug)]
struct WindowCounter {
    length_ns: u64,
    /// Index of the window the last arrival fell in.
    open: u64,
    /// Arrivals in the open window.
    count: u64,
    /// Closed windows so far, with the sum and sum of squares of their
    /// counts (integers, so the variance is exact however many windows).
    closed: u64,
    sum: u128,
    sum_sq: u128,
    peak: u64,
    min: u64,
}

impl WindowCounter {
    fn new(length_ns: u64) -> Self {
        WindowCounter {
            length_ns,
            open: 0,
            count: 0,
            closed: 0,
            sum: 0,
            sum_sq: 0,
            peak: 0,
            min: u64::MAX,
        }
    }

    /// `offset_ns` is the arrival minus the first arrival, non-decreasing.
    fn push(&mut self, offset_ns: u64) {
        let index = offset_ns / self.length_ns;
        if index > self.open {
            let count = self.count;
            self.close(count);
            // Windows skipped entirely had no arrival.
            let empty = index - self.open - 1;
            if empty > 0 {
                self.closed += empty;
                self.min = 0;
            }
            self.open = index;
            self.count = 0;
        }
        self.count += 1;
    }

    fn close(&mut self, count: u64) {
        self.closed += 1;
        self.sum += u128::from(count);
        self.sum_sq += u128::from(count) * u128::from(count);
        self.peak = self.peak.max(count);
        self.min = self.min.min(count);
    }

    /// `whole_rate` is the whole workload's mean rate, used when there is no
    /// complete window.
    fn finish(self, whole_rate: Option<f64>) -> WindowStats {
        let window_s = self.length_ns as f64 / NANOS_PER_SEC as f64;
        if self.closed == 0 {
            return WindowStats {
                window_s,
                complete_windows: 0,
                mean_rate_rps: whole_rate,
                peak_rate_rps: whole_rate,
                min_rate_rps: whole_rate,
                peak_to_mean: whole_rate.filter(|r| *r > 0.0).map(|_| 1.0),
                index_of_dispersion: None,
            };
        }
        let n = self.closed;
        let mean_count = self.sum as f64 / n as f64;
        // n·Σc² − (Σc)² is exact in integers; it only overflows past 10^12
        // requests, where the dispersion is reported as unknown.
        let index_of_dispersion = u128::from(n)
            .checked_mul(self.sum_sq)
            .and_then(|a| {
                self.sum
                    .checked_mul(self.sum)
                    .and_then(|b| a.checked_sub(b))
            })
            .filter(|_| self.sum > 0)
            .map(|numerator| {
                let variance = numerator as f64 / (n as f64 * n as f64);
                variance / mean_count
            });
        let mean_rate = mean_count / window_s;
        let peak_rate = self.peak as f64 / window_s;
        WindowStats {
            window_s,
            complete_windows: n,
            mean_rate_rps: Some(mean_rate),
            peak_rate_rps: Some(peak_rate),
            min_rate_rps: Some(self.min as f64 / window_s),
            peak_to_mean: (mean_rate > 0.0).then(|| peak_rate / mean_rate),
            index_of_dispersion,
        }
    }
}

impl TokenStats {
    fn of(mut values: Vec<u32>) -> Option<TokenStats> {
        values.sort_unstable();
        let (&min, &max) = (values.first()?, values.last()?);
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| u64::from(v)).sum::<u64>() as f64 / n;
        let squares: f64 = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum();
        let std = (squares / n).sqrt();
        Some(TokenStats {
            mean,
            std,
            min,
            p50: percentile(&values, 50.0),
            p90: percentile(&values, 90.0),
            p99: percentile(&values, 99.0),
            max,
        })
    }
}

/// numpy's `percentile(..., method="linear")` of non-empty sorted `values`,
/// including its two-sided interpolation formula so that results agree to
/// the last bit.
fn percentile(sorted: &[u32], p: f64) -> f64 {
    let rank = p / 100.0 * (sorted.len().saturating_sub(1)) as f64;
    let below = rank.floor();
    let t = rank - below;
    let value = |i: usize| {
        sorted
            .get(i)
            .or(sorted.last())
            .map_or(f64::NAN, |&v| f64::from(v))
    };
    let (a, b) = (value(below as usize), value(rank.ceil() as usize));
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ns: u64) -> Result<Request, WorkloadError> {
        Ok(Request::new(SimTime(ns), 10, 1))
    }

    fn secs(s: f64) -> Result<Request, WorkloadError> {
        at((s * 1e9).round() as u64)
    }

    fn close(got: Option<f64>, want: f64) {
        let got = got.unwrap_or(f64::NAN);
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "got {got}, want {want}"
        );
    }

    #[test]
    fn empty_workload() {
        let s = compute(std::iter::empty()).unwrap();
        assert_eq!(s.requests, 0);
        assert!(s.span_s.abs() < f64::EPSILON);
        assert_eq!(s.mean_rate_rps, None);
        assert_eq!(s.iat_cv, None);
        assert_eq!(s.windows_1s.complete_windows, 0);
        assert_eq!(s.windows_1s.mean_rate_rps, None);
        assert_eq!(s.input_tokens, None);
    }

    #[test]
    fn single_request() {
        let s = compute([at(5)].into_iter()).unwrap();
        assert_eq!(s.requests, 1);
        assert_eq!(s.mean_rate_rps, None);
        assert_eq!(s.iat_mean_s, None);
        let t = s.input_tokens.unwrap();
        assert_eq!((t.min, t.max, t.std), (10, 10, 0.0));
        close(Some(t.p99), 10.0);
    }

    #[test]
    fn windows_are_complete_tumbling_and_aligned_to_the_first_arrival() {
        // First arrival at 10 s; windows [10,11), [11,12), [12,13), [13,14);
        // the arrival at 14.5 s lies in the incomplete fifth window.
        let s = compute(
            [10.0, 10.2, 10.9, 12.0, 12.5, 13.99, 14.5]
                .map(secs)
                .into_iter(),
        )
        .unwrap();
        let w = &s.windows_1s;
        assert_eq!(w.complete_windows, 4);
        // Counts 3, 0, 2, 1: mean 1.5, variance 5/4.
        close(w.mean_rate_rps, 1.5);
        close(w.peak_rate_rps, 3.0);
        close(w.min_rate_rps, 0.0);
        close(w.peak_to_mean, 2.0);
        close(w.index_of_dispersion, 1.25 / 1.5);
        close(s.mean_rate_rps, 7.0 / 4.5);
        // Shorter than a minute: one partial window at the whole rate.
        assert_eq!(s.windows_1min.complete_windows, 0);
        close(s.windows_1min.mean_rate_rps, 7.0 / 4.5);
        close(s.windows_1min.peak_to_mean, 1.0);
        assert_eq!(s.windows_1min.index_of_dispersion, None);
    }

    #[test]
    fn an_arrival_on_a_boundary_opens_the_next_window() {
        let s = compute([0.0, 1.0, 2.0].map(secs).into_iter()).unwrap();
        assert_eq!(s.windows_1s.complete_windows, 2);
        close(s.windows_1s.peak_rate_rps, 1.0);
        close(s.windows_1s.index_of_dispersion, 0.0);
    }

    #[test]
    fn gaps() {
        let s = compute([0.0, 0.0, 1.0, 3.0].map(secs).into_iter()).unwrap();
        // Gaps 0, 1, 2: mean 1, variance 2/3.
        close(s.iat_mean_s, 1.0);
        close(s.iat_cv, (2.0f64 / 3.0).sqrt());
        close(s.zero_iat_fraction, 1.0 / 3.0);
    }

    #[test]
    fn percentiles_match_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4, 10], [50, 90, 99]) = [3, 7.6, 9.76]
        let v = [1, 2, 3, 4, 10];
        close(Some(percentile(&v, 50.0)), 3.0);
        close(Some(percentile(&v, 90.0)), 7.6);
        close(Some(percentile(&v, 99.0)), 9.76);
        close(Some(percentile(&v, 0.0)), 1.0);
        close(Some(percentile(&v, 100.0)), 10.0);
        close(Some(percentile(&[7], 90.0)), 7.0);
    }

    #[test]
    fn token_stats() {
        let requests =
            [(1, 5), (2, 6), (3, 7), (10, 8)].map(|(i, o)| Ok(Request::new(SimTime(0), i, o)));
        let s = compute(requests.into_iter()).unwrap();
        let t = s.input_tokens.unwrap();
        assert_eq!((t.min, t.max), (1, 10));
        close(Some(t.mean), 4.0);
        close(Some(t.std), 12.5f64.sqrt());
        close(Some(t.p50), 2.5);
        assert_eq!(s.output_tokens.unwrap().max, 8);
    }

    #[test]
    fn errors_pass_through_and_order_is_checked() {
        let err =
            compute([at(0), Err(WorkloadError::parse(3, "x", "bad"))].into_iter()).unwrap_err();
        assert_eq!(err.to_string(), "line 3, field `x`: bad");
        let err = compute([at(5), at(4)].into_iter()).unwrap_err();
        assert!(
            err.to_string()
                .contains("request 2 arrives at 0.000000004s, before request 1"),
            "{err}"
        );
    }
}
