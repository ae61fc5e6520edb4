//! The traffic the plan sizes for, read once from the workload: arrivals
//! per window (the rate profile the oracle follows), the peak window's
//! rate (what Little's law sizes for) and the mean token counts.

use fleetsim_core::workload::WorkloadError;
use fleetsim_core::Request;
use serde::Serialize;

/// What the plan knows of the workload. Memory grows with the number of
/// windows the trace spans, not with its requests.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Traffic {
    /// Width of a rate window, seconds.
    pub window_s: f64,
    /// Requests arriving in each window, from time 0.
    #[serde(skip)]
    pub arrivals_per_window: Vec<u64>,
    /// Requests in all.
    pub requests: u64,
    /// From time 0 to the last arrival, seconds.
    pub span_s: f64,
    /// Requests per second over the span (0 without requests).
    pub mean_rate_per_s: f64,
    /// Requests per second in the busiest window.
    pub peak_rate_per_s: f64,
    /// Mean prompt length, tokens.
    pub mean_input_tokens: f64,
    /// Mean answer length, tokens.
    pub mean_output_tokens: f64,
}

impl Traffic {
    /// Reads `requests` (in arrival order, as every workload yields them)
    /// into windows of `window_s` seconds (> 0); stops at the first error.
    pub fn read(
        requests: impl Iterator<Item = Result<Request, WorkloadError>>,
        window_s: f64,
    ) -> Result<Traffic, WorkloadError> {
        let window_ns = (window_s * 1e9).round().max(1.0) as u64;
        let mut windows: Vec<u64> = Vec::new();
        let (mut n, mut input, mut output, mut last_ns) = (0u64, 0u64, 0u64, 0u64);
        for r in requests {
            let r = r?;
            let at = r.arrival.as_nanos();
            let w = (at / window_ns) as usize;
            if windows.len() <= w {
                windows.resize(w + 1, 0);
            }
            windows[w] += 1;
            n += 1;
            input += u64::from(r.input_tokens);
            output += u64::from(r.output_tokens);
            last_ns = last_ns.max(at);
        }
        let span_s = last_ns as f64 / 1e9;
        let per_request = |tokens: u64| match n {
            0 => 0.0,
            _ => tokens as f64 / n as f64,
        };
        Ok(Traffic {
            window_s,
            requests: n,
            span_s,
            mean_rate_per_s: match span_s > 0.0 {
                true => n as f64 / span_s,
                false => 0.0,
            },
            peak_rate_per_s: windows.iter().copied().max().unwrap_or(0) as f64 / window_s,
            mean_input_tokens: per_request(input),
            mean_output_tokens: per_request(output),
            arrivals_per_window: windows,
        })
    }

    /// Requests per second in each window.
    pub fn rates_per_s(&self) -> impl Iterator<Item = f64> + '_ {
        (self.arrivals_per_window.iter()).map(|&n| n as f64 / self.window_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::SimTime;

    /// Requests at `arrivals_s` with 100 input and 10 output tokens, but
    /// the first with 300 and 30.
    fn check(arrivals_s: &[f64], window_s: f64, windows: &[u64], peak: f64, mean_in: f64) {
        let requests = arrivals_s.iter().enumerate().map(|(i, &t)| {
            let tokens = if i == 0 { (300, 30) } else { (100, 10) };
            Ok(Request::new(SimTime((t * 1e9) as u64), tokens.0, tokens.1))
        });
        let t = Traffic::read(requests, window_s).unwrap();
        assert_eq!(t.arrivals_per_window, windows, "{arrivals_s:?}");
        assert!((t.peak_rate_per_s - peak).abs() < 1e-12, "{arrivals_s:?}");
        assert!(
            (t.mean_input_tokens - mean_in).abs() < 1e-9,
            "{arrivals_s:?}"
        );
        assert!(
            (t.mean_output_tokens - mean_in / 10.0).abs() < 1e-9,
            "{arrivals_s:?}"
        );
        assert_eq!(t.requests, arrivals_s.len() as u64);
    }

    #[test]
    fn windows_count_arrivals_and_the_busiest_sets_the_peak() {
        check(&[], 60.0, &[], 0.0, 0.0);
        check(&[0.0], 60.0, &[1], 1.0 / 60.0, 300.0);
        // A window boundary belongs to the next window.
        check(
            &[0.0, 59.9, 60.0, 61.0, 62.0],
            60.0,
            &[2, 3],
            3.0 / 60.0,
            140.0,
        );
        // Empty windows in between are kept (the oracle releases there).
        check(&[0.5, 3.5, 3.6], 1.0, &[1, 0, 0, 2], 2.0, 500.0 / 3.0);
    }

    #[test]
    fn the_mean_rate_is_over_the_span_and_an_error_stops_the_read() {
        let at = |s: f64| Ok(Request::new(SimTime((s * 1e9) as u64), 1, 1));
        let t = Traffic::read([at(0.0), at(5.0), at(10.0)].into_iter(), 60.0).unwrap();
        assert_eq!((t.span_s, t.mean_rate_per_s), (10.0, 0.3));
        let broken = [
            at(0.0),
            Err(WorkloadError::InvalidParameter {
                field: "x".into(),
                message: "bad".into(),
            }),
        ];
        assert!(Traffic::read(broken.into_iter(), 60.0).is_err());
    }
}
