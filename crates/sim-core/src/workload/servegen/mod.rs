//! ServeGen per-client rate windows: reader and request generator.
//!
//! Alibaba's ServeGen data (see `traces/README.md`, §3) is not per-request:
//! for each client and each 600 s window it gives the client's mean rate and
//! a fitted inter-arrival distribution. The CSV has the columns
//!
//! ```text
//! client_id,window_start_s,rate_rps,iat_cv,iat_dist,dist_shape,dist_scale
//! 0,0,1.3316666666666668,8.598,Weibull,0.3753,0.3967
//! 0,600,0,0,,0,0
//! ```
//!
//! Rows are grouped by client (the shipped files list clients in
//! lexicographic order of their ids, `0, 1, 10, 100, …`), so a merged arrival
//! stream needs every client's windows at once: [`ServeGenProfile`] parses
//! the file into a compact table of the *active* windows (O(windows), the
//! rate profile, not per-request data). [`ServeGenWorkload`] then generates
//! requests lazily, merging clients with a binary heap of one pending arrival
//! per client (O(clients) memory).
//!
//! A run over part of a long file reads it with
//! [`ServeGenProfile::from_reader_in`] and the configuration's
//! [`ServeGenConfig::span`]: only the rows of windows in the span are
//! parsed and validated in full; the others give only their key columns
//! (`client_id`, `window_start_s`, still checked, as is each client's time
//! order). Their other columns are not validated.
//!
//! # How a window becomes arrivals
//!
//! For a client's window with rate `r` (requests/s) and fitted distribution
//! `D` (scipy's `gamma(a = shape, scale)` or `weibull_min(c = shape, scale)`):
//!
//! 1. The number of arrivals is `n = r × 600 × rate_multiplier`. It is an
//!    integer in the shipped data (ServeGen's rates are counts / 600); a
//!    fractional `n` is rounded down or up at random with the probability
//!    that keeps its mean exact (stochastic rounding).
//! 2. `n + 1` gaps `X₁ … Xₙ₊₁` are drawn i.i.d. from `D`, and the arrivals
//!    are placed at `window_start + 600 s × (X₁ + … + Xᵢ) / (X₁ + … + Xₙ₊₁)`
//!    for `i = 1 … n`. This is upstream's "sample inter-arrival times from the
//!    fitted distribution, then rescale them to fill the window at
//!    `rate_rps`": the window holds exactly the recorded count, the gaps keep
//!    the fitted shape (hence its burstiness), and with the extra `(n+1)`-th
//!    gap no arrival lands on the window boundary. For exponential gaps this
//!    is exactly a Poisson process conditioned on `n` arrivals. Because the
//!    gaps are normalised, `dist_scale` cancels out; only `dist_shape`
//!    matters (it is still validated).
//! 3. To stay O(1) in memory the sum is found in a first pass over a copy of
//!    the client's random stream, and the gaps are drawn again, identically,
//!    while arrivals are emitted.
//!
//! An active window with an empty `iat_dist` is treated as exponential gaps
//! (Poisson). Idle windows (`rate_rps = 0`) produce nothing. If a window's
//! gap sum overflows (Weibull shapes far below any in the data), that window
//! falls back to exponential gaps. Each client draws from its own stream
//! `rng::stream(seed, "workload.servegen.client", client_id)`, so adding or
//! removing a client never changes another's arrivals; lengths come from
//! `workload.input_tokens` / `workload.output_tokens` in arrival order.

use super::lengths::{check_non_negative, check_positive, join_field, LengthSampler, TokenLengths};
use super::synthetic::{INPUT_TOKENS_STREAM, OUTPUT_TOKENS_STREAM};
use super::WorkloadError;
use crate::request::Request;
use crate::rng::{self, StreamRng};
use crate::time::{SimDuration, SimTime, NANOS_PER_SEC};
use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma, Weibull};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Read;
use std::sync::Arc;

mod read;
pub use read::WindowSpan;

/// Length of a ServeGen window, seconds.
pub const WINDOW_S: f64 = 600.0;

const WINDOW_NS: u64 = 600 * NANOS_PER_SEC;

/// The largest [`ServeGenConfig::rate_multiplier`] accepted (dimensionless).
pub const MAX_RATE_MULTIPLIER: f64 = 1000.0;

/// Name of each client's random stream; the index is the client id.
pub const CLIENT_STREAM: &str = "workload.servegen.client";

/// The fitted inter-arrival distribution of one window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum IatDist {
    /// No distribution given: exponential gaps (Poisson arrivals).
    Exponential,
    /// scipy `gamma(a = shape, scale = scale)`; scale in seconds.
    Gamma {
        /// Shape `a` (dimensionless, > 0).
        shape: f64,
        /// Scale, seconds (> 0).
        scale: f64,
    },
    /// scipy `weibull_min(c = shape, scale = scale)`; scale in seconds.
    Weibull {
        /// Shape `c` (dimensionless, > 0).
        shape: f64,
        /// Scale, seconds (> 0).
        scale: f64,
    },
}

/// One active window of one client.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServeGenWindow {
    /// Start of the window in the trace's time, from its origin.
    pub start: SimTime,
    /// Mean rate in the window, requests/s (> 0).
    pub rate_rps: f64,
    /// Fitted inter-arrival distribution.
    pub dist: IatDist,
}

/// One client's active windows, in time order, at least 600 s apart.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeGenClient {
    /// The `client_id` column.
    pub client_id: u64,
    /// Windows with `rate_rps > 0`; idle windows are not stored.
    pub windows: Vec<ServeGenWindow>,
}

/// A parsed ServeGen client-windows file: the rate profile of every client.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeGenProfile {
    /// Sorted by client id.
    clients: Vec<ServeGenClient>,
    /// Every window start listed in the file with the summed `rate_rps` of
    /// all clients, sorted by start.
    totals: Vec<(SimTime, f64)>,
}

fn one() -> f64 {
    1.0
}

fn is_one(v: &f64) -> bool {
    (*v - 1.0).abs() < f64::EPSILON
}

/// How to turn a [`ServeGenProfile`] into requests, as written in a
/// scenario file. The file itself is opened by the caller.
///
/// Order of operations: windows are selected by their start in the trace's
/// time (`[start_s, end_s)`), times are shifted so `start_s` becomes 0,
/// windows where no client is active are cut out (`skip_zero_windows`), and
/// the result is multiplied by `time_scale`.
///
/// TOML:
/// ```toml
/// start_s = 0
/// end_s = 86400
/// skip_zero_windows = true
/// rate_multiplier = 0.5
/// time_scale = 1.0
/// input_tokens = { kind = "lognormal", median_tokens = 1020, sigma = 0.9 }
/// output_tokens = { kind = "lognormal", median_tokens = 129, sigma = 1.0, max_tokens = 4096 }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeGenConfig {
    /// Prompt lengths, tokens (ServeGen has no per-request lengths).
    pub input_tokens: TokenLengths,
    /// Output lengths, tokens.
    pub output_tokens: TokenLengths,
    /// Multiplies every output time (dimensionless, > 0; default 1): 2 plays
    /// the profile at half speed, windows becoming 1200 s long.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub time_scale: f64,
    /// Multiplies every window's request count (dimensionless, in
    /// `(0, 1000]`; default 1), keeping the 600 s windows: more load with the same daily
    /// shape. (The generic [`super::transforms::Transform::RateMultiplier`]
    /// compresses time instead.)
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub rate_multiplier: f64,
    /// Keep windows starting at or after this time of the trace, seconds;
    /// default 0. Output time 0 is this instant.
    #[serde(default)]
    pub start_s: f64,
    /// Keep windows starting before this time of the trace, seconds;
    /// default: to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_s: Option<f64>,
    /// Cut out windows where the summed rate of all clients is 0 (ServeGen's
    /// collection gaps), shifting later windows earlier; default false.
    #[serde(default)]
    pub skip_zero_windows: bool,
    /// Stop after this many requests, if set (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u64>,
}

impl ServeGenConfig {
    /// A configuration with every option at its default.
    pub fn new(input_tokens: TokenLengths, output_tokens: TokenLengths) -> Self {
        ServeGenConfig {
            input_tokens,
            output_tokens,
            time_scale: 1.0,
            rate_multiplier: 1.0,
            start_s: 0.0,
            end_s: None,
            skip_zero_windows: false,
            max_requests: None,
        }
    }

    /// The windows this configuration plays: those starting in
    /// `[start_s, end_s)` of the trace's clock.
    pub fn span(&self) -> WindowSpan {
        WindowSpan {
            start_ns: SimDuration::try_from_secs_f64(self.start_s).map_or(0, SimDuration::as_nanos),
            end_ns: self
                .end_s
                .and_then(SimDuration::try_from_secs_f64)
                .map(SimDuration::as_nanos),
        }
    }

    /// Checks every parameter; errors name the field as
    /// `{field_prefix}.{name}`.
    pub fn validate(&self, field_prefix: &str) -> Result<(), WorkloadError> {
        self.input_tokens
            .validate(&join_field(field_prefix, "input_tokens"))?;
        self.output_tokens
            .validate(&join_field(field_prefix, "output_tokens"))?;
        check_positive(field_prefix, "time_scale", self.time_scale)?;
        check_positive(field_prefix, "rate_multiplier", self.rate_multiplier)?;
        if self.rate_multiplier > MAX_RATE_MULTIPLIER {
            // Each window's gaps are summed before its first arrival is
            // emitted; an absurd multiplier would stall the generator.
            return Err(WorkloadError::invalid(
                &join_field(field_prefix, "rate_multiplier"),
                format!(
                    "must be at most {MAX_RATE_MULTIPLIER}, got {}",
                    self.rate_multiplier
                ),
            ));
        }
        check_non_negative(field_prefix, "start_s", self.start_s)?;
        if SimDuration::try_from_secs_f64(self.start_s).is_none() {
            return Err(WorkloadError::invalid(
                &join_field(field_prefix, "start_s"),
                "is beyond the clock's range",
            ));
        }
        if let Some(end) = self.end_s {
            if !end.is_finite() || end <= self.start_s {
                return Err(WorkloadError::invalid(
                    &join_field(field_prefix, "end_s"),
                    format!(
                        "must be a finite time after start_s ({} s), got {end}",
                        self.start_s
                    ),
                ));
            }
        }
        if self.max_requests == Some(0) {
            return Err(WorkloadError::invalid(
                &join_field(field_prefix, "max_requests"),
                "must be at least 1 (omit it for no limit)",
            ));
        }
        Ok(())
    }
}

/// Requests generated from a [`ServeGenProfile`]; see the module docs.
#[derive(Debug)]
pub struct ServeGenWorkload {
    profile: Arc<ServeGenProfile>,
    cursors: Vec<ClientCursor>,
    /// One pending arrival per client: (time ns, client id, cursor index).
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    plan: WindowPlan,
    input: LengthSampler,
    output: LengthSampler,
    input_rng: StreamRng,
    output_rng: StreamRng,
    remaining: Option<u64>,
}

/// Which windows play and where they land on the output clock.
#[derive(Debug)]
struct WindowPlan {
    start_ns: u64,
    end_ns: Option<u64>,
    /// Starts of the windows cut out by `skip_zero_windows`, sorted.
    skipped: Vec<u64>,
    time_scale: f64,
    /// Output length of a window, ns.
    window_len_ns: f64,
    rate_multiplier: f64,
}

impl WindowPlan {
    fn selects(&self, start: u64) -> bool {
        start >= self.start_ns && self.end_ns.is_none_or(|end| start < end)
    }

    /// Output start of a selected window that starts at `start` in the
    /// trace, ns; `None` if it does not fit the clock.
    fn output_start(&self, start: u64) -> Option<u64> {
        let skipped = self.skipped.partition_point(|&s| s < start) as u64;
        // Saturating: with windows off the 600 s grid the cut could exceed
        // the span; each client's clock never goes backwards anyway.
        let shifted =
            (start.saturating_sub(self.start_ns)).saturating_sub(skipped.saturating_mul(WINDOW_NS));
        let scaled = (shifted as f64 * self.time_scale).round();
        (scaled < u64::MAX as f64).then_some(scaled as u64)
    }
}

/// Per-client generator state.
#[derive(Debug)]
struct ClientCursor {
    client: usize,
    client_id: u64,
    /// Index of the next window to start.
    next_window: usize,
    rng: StreamRng,
    /// The stream after the current window's n + 1 draws.
    rng_after: StreamRng,
    sampler: IatSampler,
    /// Arrivals still to emit in the current window.
    remaining: u64,
    /// Sum of the gaps drawn so far in the current window.
    cum: f64,
    /// Output ns per unit of gap sum in the current window.
    ns_per_unit: f64,
    window_base_ns: u64,
    window_len_ns: u64,
    last_ns: u64,
}

/// Gap distribution of the current window, scale 1 (the scale cancels).
#[derive(Clone, Copy, Debug)]
enum IatSampler {
    Exp,
    Gamma(Gamma<f64>),
    Weibull(Weibull<f64>),
    /// Evenly spaced arrivals: the last resort when even exponential gaps
    /// give an unusable sum. Draws nothing.
    Even,
}

impl IatSampler {
    fn new(dist: IatDist) -> Self {
        let s = match dist {
            IatDist::Exponential => Ok(IatSampler::Exp),
            IatDist::Gamma { shape, .. } => Gamma::new(shape, 1.0)
                .map(IatSampler::Gamma)
                .map_err(|_| ()),
            IatDist::Weibull { shape, .. } => Weibull::new(1.0, shape)
                .map(IatSampler::Weibull)
                .map_err(|_| ()),
        };
        // Parsing rejected the parameters these constructors refuse.
        s.unwrap_or(IatSampler::Exp)
    }

    fn sample(&self, rng: &mut StreamRng) -> f64 {
        match self {
            IatSampler::Exp => Exp1.sample(rng),
            IatSampler::Gamma(d) => d.sample(rng),
            IatSampler::Weibull(d) => d.sample(rng),
            IatSampler::Even => 1.0,
        }
    }

    /// Sum of `count` draws from a copy of `rng`, and the copy afterwards.
    fn probe(&self, rng: &StreamRng, count: u64) -> (f64, StreamRng) {
        let mut probe = rng.clone();
        let mut sum = 0.0;
        for _ in 0..count {
            sum += self.sample(&mut probe);
        }
        (sum, probe)
    }
}

impl ClientCursor {
    /// The client's next arrival (ns, output clock), or `None` when done.
    fn next_arrival(&mut self, profile: &ServeGenProfile, plan: &WindowPlan) -> Option<u64> {
        while self.remaining == 0 {
            self.start_next_window(profile, plan)?;
        }
        self.remaining -= 1;
        self.cum += self.sampler.sample(&mut self.rng);
        let offset = (self.cum * self.ns_per_unit).round();
        // cum ≤ total by construction, so offset ≤ window length. It equals
        // it when the last gaps are negligible against the sum (tiny gamma
        // shapes); clamping to 1 ns before the end keeps every arrival in
        // its own window. `as` saturates, so no overflow either way.
        let offset = (offset.max(0.0) as u64).min(self.window_len_ns.saturating_sub(1));
        let t = self.window_base_ns.saturating_add(offset).max(self.last_ns);
        self.last_ns = t;
        if self.remaining == 0 {
            // Skip the (n+1)-th draw so the next window starts on fresh numbers.
            self.rng = self.rng_after.clone();
        }
        Some(t)
    }

    /// Moves to the next selected window with at least one arrival;
    /// `None` when the client has no more.
    fn start_next_window(&mut self, profile: &ServeGenProfile, plan: &WindowPlan) -> Option<()> {
        let windows = &profile.clients.get(self.client)?.windows;
        loop {
            let window = windows.get(self.next_window)?;
            self.next_window += 1;
            let start = window.start.as_nanos();
            if start < plan.start_ns {
                continue;
            }
            if !plan.selects(start) {
                return None;
            }
            let base = plan.output_start(start)?;
            let mean = window.rate_rps * WINDOW_S * plan.rate_multiplier;
            let n = self.stochastic_round(mean);
            if n == 0 {
                continue;
            }
            let mut sampler = IatSampler::new(window.dist);
            let count = n.saturating_add(1);
            let (mut total, mut after) = sampler.probe(&self.rng, count);
            if !(total.is_finite() && total > 0.0) {
                sampler = IatSampler::Exp;
                (total, after) = sampler.probe(&self.rng, count);
            }
            if !(total.is_finite() && total > 0.0) {
                sampler = IatSampler::Even;
                (total, after) = sampler.probe(&self.rng, count);
            }
            self.sampler = sampler;
            self.rng_after = after;
            self.remaining = n;
            self.cum = 0.0;
            self.ns_per_unit = plan.window_len_ns / total;
            self.window_base_ns = base;
            self.window_len_ns = plan.window_len_ns.round() as u64;
            return Some(());
        }
    }

    /// `floor(x)` or `ceil(x)` with the probability that makes the mean `x`.
    /// Counts within 1e-6 of an integer (all of the shipped data) are used
    /// as they are, without a draw.
    fn stochastic_round(&mut self, x: f64) -> u64 {
        if !(x.is_finite() && x > 0.0) {
            return 0;
        }
        let nearest = x.round();
        if (x - nearest).abs() < 1e-6 {
            return nearest as u64;
        }
        let floor = x.floor();
        let u: f64 = self.rng.random();
        (floor as u64).saturating_add(u64::from(u < x - floor))
    }
}

impl ServeGenWorkload {
    /// Builds the generator over `profile` for `seed`, validating `config`
    /// (field names without prefix, e.g. `time_scale`).
    pub fn new(
        profile: Arc<ServeGenProfile>,
        config: &ServeGenConfig,
        seed: u64,
    ) -> Result<Self, WorkloadError> {
        config.validate("")?;
        let WindowSpan { start_ns, end_ns } = config.span();
        let mut plan = WindowPlan {
            start_ns,
            end_ns,
            skipped: Vec::new(),
            time_scale: config.time_scale,
            window_len_ns: WINDOW_NS as f64 * config.time_scale,
            rate_multiplier: config.rate_multiplier,
        };
        if config.skip_zero_windows {
            plan.skipped = profile
                .totals
                .iter()
                .filter(|(start, total)| plan.selects(start.as_nanos()) && *total <= 0.0)
                .map(|(start, _)| start.as_nanos())
                .collect();
        }
        let mut workload = ServeGenWorkload {
            cursors: Vec::with_capacity(profile.clients.len()),
            heap: BinaryHeap::with_capacity(profile.clients.len()),
            plan,
            input: config.input_tokens.sampler("input_tokens")?,
            output: config.output_tokens.sampler("output_tokens")?,
            input_rng: rng::stream(seed, INPUT_TOKENS_STREAM, 0),
            output_rng: rng::stream(seed, OUTPUT_TOKENS_STREAM, 0),
            remaining: config.max_requests,
            profile,
        };
        for (i, client) in workload.profile.clients.iter().enumerate() {
            let rng = rng::stream(seed, CLIENT_STREAM, client.client_id);
            let mut cursor = ClientCursor {
                client: i,
                client_id: client.client_id,
                next_window: client
                    .windows
                    .partition_point(|w| w.start.as_nanos() < workload.plan.start_ns),
                rng_after: rng.clone(),
                rng,
                sampler: IatSampler::Exp,
                remaining: 0,
                cum: 0.0,
                ns_per_unit: 0.0,
                window_base_ns: 0,
                window_len_ns: 0,
                last_ns: 0,
            };
            if let Some(t) = cursor.next_arrival(&workload.profile, &workload.plan) {
                workload.heap.push(Reverse((t, cursor.client_id, i)));
            }
            workload.cursors.push(cursor);
        }
        Ok(workload)
    }

    /// Parses a client-windows CSV ([`ServeGenProfile::from_reader`]) and
    /// builds the generator over it.
    pub fn from_reader<R: Read>(
        reader: R,
        config: &ServeGenConfig,
        seed: u64,
    ) -> Result<Self, WorkloadError> {
        config.validate("")?;
        let profile = ServeGenProfile::from_reader(reader)?;
        Self::new(Arc::new(profile), config, seed)
    }
}

impl Iterator for ServeGenWorkload {
    type Item = Result<Request, WorkloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == Some(0) {
            return None;
        }
        let Reverse((t, client_id, i)) = self.heap.pop()?;
        if let Some(cursor) = self.cursors.get_mut(i) {
            if let Some(next) = cursor.next_arrival(&self.profile, &self.plan) {
                self.heap.push(Reverse((next, client_id, i)));
            }
        }
        if let Some(r) = &mut self.remaining {
            *r -= 1;
        }
        let input = self.input.sample(&mut self.input_rng);
        let output = self.output.sample(&mut self.output_rng);
        Some(Ok(Request::new(SimTime(t), input, output)))
    }
}

#[cfg(test)]
mod tests;
