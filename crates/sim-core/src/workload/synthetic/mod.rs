//! Synthetic workloads: an arrival process plus token length distributions.
//!
//! [`ArrivalProcess`] is the scenario-file form of an arrival process,
//! [`ArrivalTimes`] the validated generator of its arrival instants, and
//! [`SyntheticWorkload`] (built from a [`SyntheticConfig`] and a seed) the
//! workload that pairs each arrival with an input and an output length.
//!
//! Determinism: arrival instants, input lengths and output lengths come from
//! three separate named streams (`workload.arrivals`,
//! `workload.input_tokens`, `workload.output_tokens`, index 0), so changing a
//! length distribution never moves an arrival, and changing the arrival
//! process never changes the i-th request's lengths. Time accumulates in
//! integer nanoseconds: each inter-arrival gap is drawn in seconds, rounded to
//! the nearest nanosecond and added to a `u64`, so no floating-point drift
//! builds up over a long run.
//!
//! ```toml
//! [workload]
//! duration_s = 3600
//! arrival = { kind = "gamma", rate_per_s = 5.5, cv = 3 }
//! input_tokens = { kind = "lognormal", median_tokens = 1020, sigma = 0.9 }
//! output_tokens = { kind = "fixed", tokens = 128 }
//! ```

use super::lengths::{check_non_negative, check_positive, join_field, LengthSampler, TokenLengths};
use super::WorkloadError;
use crate::request::Request;
use crate::rng::{self, StreamRng};
use crate::time::{SimDuration, SimTime};
use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma, Weibull};
use serde::{Deserialize, Serialize};

mod arrivals;

pub use arrivals::ArrivalTimes;

/// The highest arrival rate any process may have, requests per second.
///
/// Far above any single LLM fleet; it keeps the mean gap (1 µs) well above
/// the 1 ns clock tick, so rounding gaps to nanoseconds stays unbiased and
/// time always advances.
pub const MAX_RATE_PER_S: f64 = 1.0e6;

/// The largest inter-arrival CV a `gamma` process accepts (dimensionless).
/// Beyond it almost every gap rounds to zero and the rest are astronomically
/// long, which is no longer a traffic model.
pub const MAX_GAMMA_CV: f64 = 100.0;

/// The smallest gamma CV accepted: gaps are then constant to a thousandth.
/// Smaller ones make the shape 1/cv² overflow (at 1e-200) and the
/// distribution undefined.
pub const MIN_GAMMA_CV: f64 = 0.001;

/// The smallest Weibull shape accepted (dimensionless); 0.1 already gives an
/// inter-arrival CV of about 430.
pub const MIN_WEIBULL_SHAPE: f64 = 0.1;

/// The shortest mean dwell time of an MMPP state, seconds. Shorter states
/// would make the generator loop through many empty states per arrival.
pub const MIN_MMPP_DWELL_S: f64 = 1.0e-3;

/// The most state changes an MMPP may make over a workload's duration
/// (duration / mean dwell), so generation time stays bounded.
pub const MAX_MMPP_SWITCHES: f64 = 1.0e8;

/// Seconds in a day: the default period of [`ArrivalProcess::Diurnal`].
pub const DAY_S: f64 = 86_400.0;

/// Seconds in a week: the default period of [`ArrivalProcess::Weekly`].
pub const WEEK_S: f64 = 604_800.0;

fn default_day_s() -> f64 {
    DAY_S
}

fn default_week_s() -> f64 {
    WEEK_S
}

/// How requests arrive, as written in a scenario file (tagged by `kind`).
///
/// Rates are requests per second, times are seconds from the start of the
/// workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArrivalProcess {
    /// Homogeneous Poisson process: exponential gaps, CV 1.
    ///
    /// TOML: `{ kind = "poisson", rate_per_s = 5.0 }`
    Poisson {
        /// Mean arrival rate, requests/s.
        rate_per_s: f64,
    },
    /// Gamma renewal process: gaps drawn from a Gamma distribution with mean
    /// `1 / rate_per_s` and coefficient of variation `cv` (shape `1/cv²`).
    /// `cv = 1` is Poisson; larger is burstier.
    ///
    /// TOML: `{ kind = "gamma", rate_per_s = 5.0, cv = 3.0 }`
    Gamma {
        /// Mean arrival rate, requests/s.
        rate_per_s: f64,
        /// Inter-arrival coefficient of variation (std / mean), in
        /// `(0, 100]`.
        cv: f64,
    },
    /// Weibull renewal process: gaps drawn from a Weibull distribution with
    /// this shape, scaled so the mean gap is `1 / rate_per_s`. Shape 1 is
    /// Poisson; below 1 is bursty.
    ///
    /// TOML: `{ kind = "weibull", rate_per_s = 5.0, shape = 0.5 }`
    Weibull {
        /// Mean arrival rate, requests/s.
        rate_per_s: f64,
        /// Weibull shape `k` (dimensionless), at least 0.1.
        shape: f64,
    },
    /// Non-homogeneous Poisson process with a daily sinusoidal rate
    /// `λ(t) = mean_rate_per_s · (1 + amplitude · sin(2π (t − phase_s) / period_s))`.
    /// The rate rises through the mean at `t = phase_s` and peaks a quarter
    /// period later. Generated exactly by thinning.
    ///
    /// TOML: `{ kind = "diurnal", mean_rate_per_s = 20.0, amplitude = 0.6, phase_s = 21600 }`
    Diurnal {
        /// Time-average rate, requests/s.
        mean_rate_per_s: f64,
        /// Relative swing around the mean, in `[0, 1]` (1: the rate touches 0).
        amplitude: f64,
        /// Period, seconds; default 86 400 (one day).
        #[serde(default = "default_day_s")]
        period_s: f64,
        /// Shift of the sinusoid, seconds; default 0.
        #[serde(default)]
        phase_s: f64,
    },
    /// Same as [`ArrivalProcess::Diurnal`] with a default period of one week
    /// (604 800 s).
    ///
    /// TOML: `{ kind = "weekly", mean_rate_per_s = 20.0, amplitude = 0.3 }`
    Weekly {
        /// Time-average rate, requests/s.
        mean_rate_per_s: f64,
        /// Relative swing around the mean, in `[0, 1]`.
        amplitude: f64,
        /// Period, seconds; default 604 800 (one week).
        #[serde(default = "default_week_s")]
        period_s: f64,
        /// Shift of the sinusoid, seconds; default 0.
        #[serde(default)]
        phase_s: f64,
    },
    /// Piecewise-constant Poisson rate: from each step's `at_s` until the
    /// next step's, arrivals are Poisson at that step's rate. The rate is 0
    /// before the first step; the last step lasts until the end.
    ///
    /// TOML:
    /// ```toml
    /// arrival = { kind = "steps", steps = [
    ///   { at_s = 0, rate_per_s = 10.0 },
    ///   { at_s = 600, rate_per_s = 40.0 },
    /// ] }
    /// ```
    Steps {
        /// The steps, with strictly increasing `at_s`.
        steps: Vec<RateStep>,
    },
    /// A Poisson base rate with one rectangular spike (or dip): the rate is
    /// `spike_rate_per_s` during `[start_s, start_s + duration_s)` and
    /// `base_rate_per_s` elsewhere.
    ///
    /// TOML: `{ kind = "spike", base_rate_per_s = 5.0, spike_rate_per_s = 50.0, start_s = 600, duration_s = 60 }`
    Spike {
        /// Rate outside the spike, requests/s.
        base_rate_per_s: f64,
        /// Rate during the spike, requests/s.
        spike_rate_per_s: f64,
        /// Start of the spike, seconds.
        start_s: f64,
        /// Length of the spike, seconds.
        duration_s: f64,
    },
    /// Markov-modulated Poisson process. The process starts in state 0 and
    /// stays in a state for an exponentially distributed time with that
    /// state's `mean_dwell_s`, producing Poisson arrivals at its rate; then
    /// it moves on as `switching` says (default: cycle through the states in
    /// order). The long-run rate is the dwell-weighted mean of the rates.
    ///
    /// TOML:
    /// ```toml
    /// arrival = { kind = "mmpp", switching = "cycle", states = [
    ///   { rate_per_s = 2.0, mean_dwell_s = 300 },
    ///   { rate_per_s = 40.0, mean_dwell_s = 30 },
    /// ] }
    /// ```
    Mmpp {
        /// The states; at least one needs a positive rate.
        states: Vec<MmppState>,
        /// Which state comes next; default `cycle`.
        #[serde(default)]
        switching: MmppSwitching,
    },
}

/// One step of [`ArrivalProcess::Steps`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStep {
    /// When this rate starts, seconds from the start of the workload.
    pub at_s: f64,
    /// Rate from `at_s` until the next step, requests/s (0 pauses arrivals).
    pub rate_per_s: f64,
}

/// One state of [`ArrivalProcess::Mmpp`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MmppState {
    /// Poisson rate while in this state, requests/s (0 is an off state).
    pub rate_per_s: f64,
    /// Mean of the exponential time spent in this state per visit, seconds.
    pub mean_dwell_s: f64,
}

/// How an MMPP picks its next state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MmppSwitching {
    /// State `i` is followed by state `(i + 1) mod n`.
    #[default]
    Cycle,
    /// The next state is drawn uniformly among the *other* states (with one
    /// state, it stays).
    Uniform,
}

impl ArrivalProcess {
    /// Checks every parameter; errors name the field as
    /// `{field_prefix}.{name}` (list items as `steps[1].at_s`).
    pub fn validate(&self, field_prefix: &str) -> Result<(), WorkloadError> {
        let f = |name: &str| join_field(field_prefix, name);
        match self {
            ArrivalProcess::Poisson { rate_per_s } => check_rate(&f("rate_per_s"), *rate_per_s),
            ArrivalProcess::Gamma { rate_per_s, cv } => {
                check_rate(&f("rate_per_s"), *rate_per_s)?;
                check_positive(field_prefix, "cv", *cv)?;
                if !(MIN_GAMMA_CV..=MAX_GAMMA_CV).contains(cv) {
                    return Err(WorkloadError::invalid(
                        &f("cv"),
                        format!("must be from {MIN_GAMMA_CV} to {MAX_GAMMA_CV}, got {cv}"),
                    ));
                }
                // The gamma's scale, 1 / (rate × shape), must be a number.
                let scale = 1.0 / (rate_per_s * (1.0 / (cv * cv)));
                if !(scale.is_finite() && scale > 0.0) {
                    return Err(WorkloadError::invalid(
                        &f("rate_per_s"),
                        format!("is too small for cv {cv}: the gap distribution's scale overflows, got {rate_per_s:e}"),
                    ));
                }
                Ok(())
            }
            ArrivalProcess::Weibull { rate_per_s, shape } => {
                check_rate(&f("rate_per_s"), *rate_per_s)?;
                check_positive(field_prefix, "shape", *shape)?;
                if *shape < MIN_WEIBULL_SHAPE {
                    return Err(WorkloadError::invalid(
                        &f("shape"),
                        format!("must be at least {MIN_WEIBULL_SHAPE}, got {shape}"),
                    ));
                }
                Ok(())
            }
            ArrivalProcess::Diurnal {
                mean_rate_per_s,
                amplitude,
                period_s,
                phase_s,
            }
            | ArrivalProcess::Weekly {
                mean_rate_per_s,
                amplitude,
                period_s,
                phase_s,
            } => {
                check_rate(&f("mean_rate_per_s"), *mean_rate_per_s)?;
                if !(0.0..=1.0).contains(amplitude) {
                    return Err(WorkloadError::invalid(
                        &f("amplitude"),
                        format!("must be between 0 and 1, got {amplitude}"),
                    ));
                }
                if mean_rate_per_s * (1.0 + amplitude) > MAX_RATE_PER_S {
                    return Err(WorkloadError::invalid(
                        &f("mean_rate_per_s"),
                        format!(
                            "the peak rate mean_rate_per_s × (1 + amplitude) must be at most {MAX_RATE_PER_S}"
                        ),
                    ));
                }
                check_positive(field_prefix, "period_s", *period_s)?;
                if !phase_s.is_finite() {
                    return Err(WorkloadError::invalid(
                        &f("phase_s"),
                        format!("must be a finite number, got {phase_s}"),
                    ));
                }
                Ok(())
            }
            ArrivalProcess::Steps { steps } => {
                if steps.is_empty() {
                    return Err(WorkloadError::invalid(
                        &f("steps"),
                        "must hold at least one step",
                    ));
                }
                let mut previous: Option<f64> = None;
                for (i, step) in steps.iter().enumerate() {
                    let item = f(&format!("steps[{i}]"));
                    check_non_negative(&item, "at_s", step.at_s)?;
                    check_time(&join_field(&item, "at_s"), step.at_s)?;
                    if let Some(prev) = previous {
                        if step.at_s <= prev {
                            return Err(WorkloadError::invalid(
                                &join_field(&item, "at_s"),
                                format!(
                                    "steps must be in increasing at_s order; {} follows {prev}",
                                    step.at_s
                                ),
                            ));
                        }
                    }
                    previous = Some(step.at_s);
                    check_rate_or_zero(&join_field(&item, "rate_per_s"), step.rate_per_s)?;
                }
                if steps.iter().all(|s| s.rate_per_s <= 0.0) {
                    return Err(WorkloadError::invalid(
                        &f("steps"),
                        "at least one step needs a positive rate_per_s",
                    ));
                }
                Ok(())
            }
            ArrivalProcess::Spike {
                base_rate_per_s,
                spike_rate_per_s,
                start_s,
                duration_s,
            } => {
                check_rate_or_zero(&f("base_rate_per_s"), *base_rate_per_s)?;
                check_rate_or_zero(&f("spike_rate_per_s"), *spike_rate_per_s)?;
                if *base_rate_per_s <= 0.0 && *spike_rate_per_s <= 0.0 {
                    return Err(WorkloadError::invalid(
                        &f("spike_rate_per_s"),
                        "base_rate_per_s or spike_rate_per_s must be positive",
                    ));
                }
                check_non_negative(field_prefix, "start_s", *start_s)?;
                check_time(&f("start_s"), *start_s)?;
                check_positive(field_prefix, "duration_s", *duration_s)?;
                check_time(&f("duration_s"), start_s + duration_s)?;
                Ok(())
            }
            ArrivalProcess::Mmpp { states, .. } => {
                if states.is_empty() {
                    return Err(WorkloadError::invalid(
                        &f("states"),
                        "must hold at least one state",
                    ));
                }
                for (i, state) in states.iter().enumerate() {
                    let item = f(&format!("states[{i}]"));
                    check_rate_or_zero(&join_field(&item, "rate_per_s"), state.rate_per_s)?;
                    check_positive(&item, "mean_dwell_s", state.mean_dwell_s)?;
                    if state.mean_dwell_s < MIN_MMPP_DWELL_S {
                        return Err(WorkloadError::invalid(
                            &join_field(&item, "mean_dwell_s"),
                            format!(
                                "must be at least {MIN_MMPP_DWELL_S} s, got {}",
                                state.mean_dwell_s
                            ),
                        ));
                    }
                    check_time(&join_field(&item, "mean_dwell_s"), state.mean_dwell_s)?;
                }
                if states.iter().all(|s| s.rate_per_s <= 0.0) {
                    return Err(WorkloadError::invalid(
                        &f("states"),
                        "at least one state needs a positive rate_per_s",
                    ));
                }
                Ok(())
            }
        }
    }

    /// The long-run mean arrival rate, requests/s: the rate of a renewal
    /// process, the mean of a sinusoid, the dwell-weighted mean of MMPP
    /// rates (both switching rules visit states equally often). For `steps`
    /// and `spike` it is the rate that lasts forever (the last step's, or
    /// the base rate), since their mean depends on the duration.
    pub fn long_run_rate_per_s(&self) -> f64 {
        match self {
            ArrivalProcess::Poisson { rate_per_s }
            | ArrivalProcess::Gamma { rate_per_s, .. }
            | ArrivalProcess::Weibull { rate_per_s, .. } => *rate_per_s,
            ArrivalProcess::Diurnal {
                mean_rate_per_s, ..
            }
            | ArrivalProcess::Weekly {
                mean_rate_per_s, ..
            } => *mean_rate_per_s,
            ArrivalProcess::Steps { steps } => steps.last().map_or(0.0, |s| s.rate_per_s),
            ArrivalProcess::Spike {
                base_rate_per_s, ..
            } => *base_rate_per_s,
            ArrivalProcess::Mmpp { states, .. } => {
                let dwell: f64 = states.iter().map(|s| s.mean_dwell_s).sum();
                let weighted: f64 = states.iter().map(|s| s.rate_per_s * s.mean_dwell_s).sum();
                if dwell > 0.0 {
                    weighted / dwell
                } else {
                    0.0
                }
            }
        }
    }
}

fn check_rate(field: &str, rate: f64) -> Result<(), WorkloadError> {
    if !rate.is_finite() || rate <= 0.0 || rate > MAX_RATE_PER_S {
        return Err(WorkloadError::invalid(
            field,
            format!(
                "must be a rate greater than 0 and at most {MAX_RATE_PER_S} requests/s, got {rate}"
            ),
        ));
    }
    Ok(())
}

fn check_rate_or_zero(field: &str, rate: f64) -> Result<(), WorkloadError> {
    if !rate.is_finite() || !(0.0..=MAX_RATE_PER_S).contains(&rate) {
        return Err(WorkloadError::invalid(
            field,
            format!("must be a rate between 0 and {MAX_RATE_PER_S} requests/s, got {rate}"),
        ));
    }
    Ok(())
}

/// Rejects times that do not fit the nanosecond clock (about 584 years).
fn check_time(field: &str, secs: f64) -> Result<(), WorkloadError> {
    if SimDuration::try_from_secs_f64(secs).is_none() {
        return Err(WorkloadError::invalid(
            field,
            format!("{secs} s is not a representable time (must be finite, at least 0 and below 584 years)"),
        ));
    }
    Ok(())
}

/// Seconds → nanoseconds for validated times; `u64::MAX` ("never") if the
/// value is out of range, which validation has already excluded.
fn secs_to_ns(secs: f64) -> u64 {
    SimDuration::try_from_secs_f64(secs).map_or(u64::MAX, SimDuration::as_nanos)
}

/// A synthetic workload's parameters, as written in a scenario file.
///
/// TOML:
/// ```toml
/// duration_s = 3600
/// max_requests = 100000          # optional
/// arrival = { kind = "poisson", rate_per_s = 5.5 }
/// input_tokens = { kind = "lognormal", median_tokens = 1020, sigma = 0.9 }
/// output_tokens = { kind = "uniform", min_tokens = 16, max_tokens = 600 }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// How requests arrive.
    pub arrival: ArrivalProcess,
    /// Prompt lengths, tokens.
    pub input_tokens: TokenLengths,
    /// Output lengths, tokens.
    pub output_tokens: TokenLengths,
    /// Length of the workload, seconds: arrivals at or after it are not
    /// generated.
    pub duration_s: f64,
    /// Stop after this many requests, if set (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u64>,
}

impl SyntheticConfig {
    /// Checks every parameter; errors name the field as
    /// `{field_prefix}.arrival.rate_per_s` and so on.
    pub fn validate(&self, field_prefix: &str) -> Result<(), WorkloadError> {
        self.arrival
            .validate(&join_field(field_prefix, "arrival"))?;
        self.input_tokens
            .validate(&join_field(field_prefix, "input_tokens"))?;
        self.output_tokens
            .validate(&join_field(field_prefix, "output_tokens"))?;
        check_positive(field_prefix, "duration_s", self.duration_s)?;
        check_time(&join_field(field_prefix, "duration_s"), self.duration_s)?;
        // Each MMPP state change is a loop iteration, arrivals or not: bound
        // them so a tiny dwell over a long horizon cannot stall generation.
        if let ArrivalProcess::Mmpp { states, .. } = &self.arrival {
            for (i, state) in states.iter().enumerate() {
                let switches = self.duration_s / state.mean_dwell_s;
                if switches > MAX_MMPP_SWITCHES {
                    return Err(WorkloadError::invalid(
                        &join_field(field_prefix, &format!("arrival.states[{i}].mean_dwell_s")),
                        format!(
                            "{} s over duration_s = {} s means about {switches:.1e} state changes; \
                             keep duration_s / mean_dwell_s at most {MAX_MMPP_SWITCHES:.0e}",
                            state.mean_dwell_s, self.duration_s
                        ),
                    ));
                }
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

/// A synthetic workload: requests from an [`ArrivalProcess`] with lengths
/// from two [`TokenLengths`], lazily, in O(1) memory (plus the list of a
/// `resample` distribution).
#[derive(Debug)]
pub struct SyntheticWorkload {
    arrivals: ArrivalTimes,
    input: LengthSampler,
    output: LengthSampler,
    input_rng: StreamRng,
    output_rng: StreamRng,
    /// First instant not generated.
    end: SimTime,
    remaining: Option<u64>,
}

/// Stream of the arrival instants.
pub const ARRIVALS_STREAM: &str = "workload.arrivals";
/// Stream of the input (prompt) lengths.
pub const INPUT_TOKENS_STREAM: &str = "workload.input_tokens";
/// Stream of the output lengths.
pub const OUTPUT_TOKENS_STREAM: &str = "workload.output_tokens";

impl SyntheticWorkload {
    /// Validates `config` (field names without prefix, e.g.
    /// `arrival.rate_per_s`) and builds the workload for `seed`.
    pub fn new(config: &SyntheticConfig, seed: u64) -> Result<Self, WorkloadError> {
        config.validate("")?;
        let end_ns = secs_to_ns(config.duration_s);
        let arrivals = ArrivalTimes::new(
            &config.arrival,
            rng::stream(seed, ARRIVALS_STREAM, 0),
            "arrival",
        )?
        .with_horizon(end_ns);
        Ok(SyntheticWorkload {
            arrivals,
            input: config.input_tokens.sampler("input_tokens")?,
            output: config.output_tokens.sampler("output_tokens")?,
            input_rng: rng::stream(seed, INPUT_TOKENS_STREAM, 0),
            output_rng: rng::stream(seed, OUTPUT_TOKENS_STREAM, 0),
            end: SimTime(end_ns),
            remaining: config.max_requests,
        })
    }
}

impl Iterator for SyntheticWorkload {
    type Item = Result<Request, WorkloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == Some(0) {
            return None;
        }
        let arrival = self.arrivals.next()?;
        if arrival >= self.end {
            // Stop for good; later calls keep returning None.
            self.remaining = Some(0);
            return None;
        }
        if let Some(r) = &mut self.remaining {
            *r -= 1;
        }
        let input = self.input.sample(&mut self.input_rng);
        let output = self.output.sample(&mut self.output_rng);
        Some(Ok(Request::new(arrival, input, output)))
    }
}

#[cfg(test)]
mod tests;
