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
                if *cv > MAX_GAMMA_CV {
                    return Err(WorkloadError::invalid(
                        &f("cv"),
                        format!("must be at most {MAX_GAMMA_CV}, got {cv}"),
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

/// The arrival instants of an [`ArrivalProcess`], in order, without end
/// (until the process can produce no more, e.g. a final zero-rate step, or
/// the clock would overflow).
///
/// Every random number comes from the stream passed to [`ArrivalTimes::new`].
#[derive(Debug)]
pub struct ArrivalTimes {
    rng: StreamRng,
    /// The process clock, ns: the last arrival, or a later state boundary.
    now_ns: u64,
    /// No arrival at or after this instant is wanted: the loops that skip
    /// rejected candidates or empty states stop here instead of running on
    /// to the end of the clock.
    horizon_ns: u64,
    kind: Kind,
    done: bool,
}

#[derive(Debug)]
enum Kind {
    /// Renewal process: i.i.d. gaps.
    Renewal(Gap),
    /// Sinusoidal rate, by thinning a Poisson process at `max_rate`.
    Sinusoid {
        mean_rate: f64,
        amplitude: f64,
        period_s: f64,
        phase_s: f64,
        max_rate: f64,
    },
    /// Piecewise-constant rate: `(start_ns, rate)`, sorted, first at 0.
    Piecewise {
        segments: Box<[(u64, f64)]>,
        index: usize,
    },
    Mmpp {
        /// `(rate, mean_dwell_s)` per state.
        states: Box<[(f64, f64)]>,
        switching: MmppSwitching,
        state: usize,
        state_end_ns: u64,
    },
}

#[derive(Debug)]
enum Gap {
    /// Exponential with this rate (per second).
    Exp(f64),
    Gamma(Gamma<f64>),
    Weibull(Weibull<f64>),
}

impl Gap {
    fn sample(&self, rng: &mut StreamRng) -> f64 {
        match self {
            Gap::Exp(rate) => exp_gap(rng, *rate),
            Gap::Gamma(d) => d.sample(rng),
            Gap::Weibull(d) => d.sample(rng),
        }
    }
}

/// An exponential gap in seconds with the given (positive) rate per second.
fn exp_gap(rng: &mut StreamRng, rate: f64) -> f64 {
    let e: f64 = Exp1.sample(rng);
    e / rate
}

impl ArrivalTimes {
    /// Validates `process` (errors named under `field_prefix`) and builds its
    /// generator, drawing from `rng` (use a `workload.*` stream).
    pub fn new(
        process: &ArrivalProcess,
        rng: StreamRng,
        field_prefix: &str,
    ) -> Result<Self, WorkloadError> {
        process.validate(field_prefix)?;
        let f = |name: &str| join_field(field_prefix, name);
        let kind = match process {
            ArrivalProcess::Poisson { rate_per_s } => Kind::Renewal(Gap::Exp(*rate_per_s)),
            ArrivalProcess::Gamma { rate_per_s, cv } => {
                let shape = 1.0 / (cv * cv);
                let scale = 1.0 / (rate_per_s * shape);
                let d = Gamma::new(shape, scale)
                    .map_err(|e| WorkloadError::invalid(&f("cv"), e.to_string()))?;
                Kind::Renewal(Gap::Gamma(d))
            }
            ArrivalProcess::Weibull { rate_per_s, shape } => {
                // Mean of Weibull(k, λ) is λ·Γ(1 + 1/k); pick λ for mean 1/rate.
                let scale = 1.0 / (rate_per_s * crate::special::ln_gamma(1.0 + 1.0 / shape).exp());
                let d = Weibull::new(scale, *shape)
                    .map_err(|e| WorkloadError::invalid(&f("shape"), e.to_string()))?;
                Kind::Renewal(Gap::Weibull(d))
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
            } => Kind::Sinusoid {
                mean_rate: *mean_rate_per_s,
                amplitude: *amplitude,
                period_s: *period_s,
                phase_s: *phase_s,
                max_rate: mean_rate_per_s * (1.0 + amplitude),
            },
            ArrivalProcess::Steps { steps } => {
                let mut segments: Vec<(u64, f64)> = Vec::with_capacity(steps.len() + 1);
                for step in steps {
                    segments.push((secs_to_ns(step.at_s), step.rate_per_s));
                }
                if segments.first().is_some_and(|s| s.0 > 0) {
                    segments.insert(0, (0, 0.0));
                }
                Kind::Piecewise {
                    segments: segments.into(),
                    index: 0,
                }
            }
            ArrivalProcess::Spike {
                base_rate_per_s,
                spike_rate_per_s,
                start_s,
                duration_s,
            } => {
                let start = secs_to_ns(*start_s);
                let end = secs_to_ns(start_s + duration_s);
                let mut segments = vec![(start, *spike_rate_per_s), (end, *base_rate_per_s)];
                if start > 0 {
                    segments.insert(0, (0, *base_rate_per_s));
                }
                Kind::Piecewise {
                    segments: segments.into(),
                    index: 0,
                }
            }
            ArrivalProcess::Mmpp { states, switching } => {
                let states: Box<[(f64, f64)]> = states
                    .iter()
                    .map(|s| (s.rate_per_s, s.mean_dwell_s))
                    .collect();
                Kind::Mmpp {
                    states,
                    switching: *switching,
                    state: 0,
                    // Drawn just below, once the stream is in place.
                    state_end_ns: 0,
                }
            }
        };
        let mut times = ArrivalTimes {
            rng,
            now_ns: 0,
            horizon_ns: u64::MAX,
            kind,
            done: false,
        };
        if let Kind::Mmpp {
            states,
            state_end_ns,
            ..
        } = &mut times.kind
        {
            let dwell = states.first().map_or(1.0, |s| s.1);
            *state_end_ns = secs_to_ns(exp_gap(&mut times.rng, 1.0 / dwell));
        }
        Ok(times)
    }

    /// Stops the process at `horizon_ns`: [`Iterator::next`] returns `None`
    /// instead of an arrival at or after it (and instead of searching
    /// beyond it for one).
    pub fn with_horizon(mut self, horizon_ns: u64) -> Self {
        self.horizon_ns = horizon_ns;
        self
    }

    /// `now + gap` for a gap in seconds; `None` if it leaves the clock.
    fn advance(now_ns: u64, gap_s: f64) -> Option<u64> {
        let gap = SimDuration::try_from_secs_f64(gap_s)?;
        now_ns.checked_add(gap.as_nanos())
    }
}

impl Iterator for ArrivalTimes {
    type Item = SimTime;

    fn next(&mut self) -> Option<SimTime> {
        if self.done {
            return None;
        }
        let next = match &mut self.kind {
            Kind::Renewal(gap) => {
                let g = gap.sample(&mut self.rng);
                Self::advance(self.now_ns, g)
            }
            Kind::Sinusoid {
                mean_rate,
                amplitude,
                period_s,
                phase_s,
                max_rate,
            } => loop {
                // Thinning (Lewis & Shedler): candidates at the peak rate,
                // each kept with probability λ(t)/λmax. Exact for any
                // bounded rate, and it uses the one stream in a fixed way.
                let Some(candidate) = Self::advance(self.now_ns, exp_gap(&mut self.rng, *max_rate))
                else {
                    break None;
                };
                if candidate >= self.horizon_ns {
                    break None;
                }
                self.now_ns = candidate;
                let t_s = candidate as f64 / 1.0e9;
                // Reduce to one period before `sin` so its argument stays
                // small and accurate however long the run.
                let cycle = ((t_s - *phase_s) / *period_s).rem_euclid(1.0);
                let rate = *mean_rate * (1.0 + *amplitude * (std::f64::consts::TAU * cycle).sin());
                let u: f64 = self.rng.random();
                if u * *max_rate < rate {
                    break Some(candidate);
                }
            },
            Kind::Piecewise { segments, index } => loop {
                if self.now_ns >= self.horizon_ns {
                    break None;
                }
                let Some(&(_, rate)) = segments.get(*index) else {
                    break None;
                };
                let end = segments.get(*index + 1).map(|s| s.0);
                if rate <= 0.0 {
                    match end {
                        Some(end) => {
                            self.now_ns = self.now_ns.max(end);
                            *index += 1;
                            continue;
                        }
                        None => break None,
                    }
                }
                let candidate = Self::advance(self.now_ns, exp_gap(&mut self.rng, rate));
                match (candidate, end) {
                    (Some(c), Some(end)) if c < end => break Some(c),
                    (Some(c), None) => break Some(c),
                    (None, None) => break None,
                    // The gap ran past the segment: by memorylessness the
                    // process simply restarts at the boundary with the new
                    // rate, which keeps it exact.
                    (_, Some(end)) => {
                        self.now_ns = self.now_ns.max(end);
                        *index += 1;
                    }
                }
            },
            Kind::Mmpp {
                states,
                switching,
                state,
                state_end_ns,
            } => loop {
                if self.now_ns >= self.horizon_ns {
                    break None;
                }
                let (rate, _) = states.get(*state).copied().unwrap_or((0.0, 1.0));
                let candidate = if rate > 0.0 {
                    Self::advance(self.now_ns, exp_gap(&mut self.rng, rate))
                } else {
                    None
                };
                if let Some(c) = candidate {
                    if c < *state_end_ns {
                        break Some(c);
                    }
                }
                if *state_end_ns == u64::MAX {
                    // The current state lasts forever (its dwell overflowed
                    // the clock) and produced no arrival before the clock's
                    // end: nothing more can come.
                    break None;
                }
                // Leave the state at its end (memoryless, as for steps).
                self.now_ns = self.now_ns.max(*state_end_ns);
                let n = states.len();
                *state = match switching {
                    MmppSwitching::Cycle => (*state + 1) % n.max(1),
                    MmppSwitching::Uniform if n > 1 => {
                        let j = self.rng.random_range(0..n - 1);
                        if j >= *state {
                            j + 1
                        } else {
                            j
                        }
                    }
                    MmppSwitching::Uniform => *state,
                };
                let dwell = states.get(*state).map_or(1.0, |s| s.1);
                let d = exp_gap(&mut self.rng, 1.0 / dwell);
                *state_end_ns = Self::advance(self.now_ns, d).unwrap_or(u64::MAX);
            },
        };
        match next {
            Some(t) => {
                self.now_ns = t;
                Some(SimTime(t))
            }
            None => {
                self.done = true;
                None
            }
        }
    }
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
mod tests {
    use super::*;

    fn config(arrival: ArrivalProcess, duration_s: f64) -> SyntheticConfig {
        SyntheticConfig {
            arrival,
            input_tokens: TokenLengths::Fixed { tokens: 10 },
            output_tokens: TokenLengths::Fixed { tokens: 5 },
            duration_s,
            max_requests: None,
        }
    }

    fn arrivals_s(arrival: ArrivalProcess, duration_s: f64, seed: u64) -> Vec<f64> {
        SyntheticWorkload::new(&config(arrival, duration_s), seed)
            .unwrap()
            .map(|r| r.unwrap().arrival.as_secs_f64())
            .collect()
    }

    /// (arrival rate over the duration, inter-arrival CV)
    fn rate_and_cv(times: &[f64], duration_s: f64) -> (f64, f64) {
        let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        let n = gaps.len() as f64;
        let mean = gaps.iter().sum::<f64>() / n;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (times.len() as f64 / duration_s, var.sqrt() / mean)
    }

    fn count_in(times: &[f64], from: f64, to: f64) -> usize {
        times.iter().filter(|&&t| t >= from && t < to).count()
    }

    fn assert_close(what: &str, got: f64, expect: f64, rel_tol: f64) {
        assert!(
            ((got - expect) / expect).abs() <= rel_tol,
            "{what}: got {got}, expected {expect} ± {:.1} %",
            rel_tol * 100.0
        );
    }

    #[test]
    fn poisson_rate_and_cv() {
        // 200k arrivals: rate s.e. 0.22 %, CV s.e. about 0.3 %.
        let t = arrivals_s(ArrivalProcess::Poisson { rate_per_s: 1000.0 }, 200.0, 1);
        let (rate, cv) = rate_and_cv(&t, 200.0);
        assert_close("rate", rate, 1000.0, 0.01);
        assert_close("cv", cv, 1.0, 0.02);
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "sorted");
        assert!(t.iter().all(|&x| x < 200.0));
    }

    #[test]
    fn gamma_rate_and_cv() {
        for cv_target in [0.5, 3.0] {
            let t = arrivals_s(
                ArrivalProcess::Gamma {
                    rate_per_s: 1000.0,
                    cv: cv_target,
                },
                200.0,
                2,
            );
            let (rate, cv) = rate_and_cv(&t, 200.0);
            assert_close("rate", rate, 1000.0, 0.03);
            assert_close("cv", cv, cv_target, 0.04);
        }
    }

    #[test]
    fn weibull_rate_and_cv() {
        // Shape 0.5: CV² = Γ(5)/Γ(3)² − 1 = 5.
        let t = arrivals_s(
            ArrivalProcess::Weibull {
                rate_per_s: 1000.0,
                shape: 0.5,
            },
            200.0,
            3,
        );
        let (rate, cv) = rate_and_cv(&t, 200.0);
        assert_close("rate", rate, 1000.0, 0.03);
        assert_close("cv", cv, 5f64.sqrt(), 0.06);
    }

    /// Expected arrivals of the sinusoid over `[a, b)`.
    fn sinusoid_integral(mean: f64, amp: f64, period: f64, phase: f64, a: f64, b: f64) -> f64 {
        let w = std::f64::consts::TAU / period;
        mean * ((b - a) + amp / w * ((w * (a - phase)).cos() - (w * (b - phase)).cos()))
    }

    #[test]
    fn diurnal_counts_follow_the_sinusoid() {
        let (mean, amp, period, phase) = (20.0, 0.8, 1000.0, 250.0);
        let periods = 10.0;
        let t = arrivals_s(
            ArrivalProcess::Diurnal {
                mean_rate_per_s: mean,
                amplitude: amp,
                period_s: period,
                phase_s: phase,
            },
            period * periods,
            4,
        );
        // Fold into 10 phase bins; each holds 4k–36k arrivals.
        for bin in 0..10 {
            let (a, b) = (bin as f64 * 100.0, (bin + 1) as f64 * 100.0);
            let got = t
                .iter()
                .filter(|&&x| (x % period) >= a && (x % period) < b)
                .count();
            let expect = periods * sinusoid_integral(mean, amp, period, phase, a, b);
            // 5 Poisson standard deviations.
            let tol = 5.0 * expect.sqrt() / expect;
            assert_close(&format!("bin {bin}"), got as f64, expect, tol);
        }
    }

    #[test]
    fn weekly_defaults_to_a_week() {
        let w: ArrivalProcess =
            serde_json::from_str(r#"{"kind":"weekly","mean_rate_per_s":1,"amplitude":0.5}"#)
                .unwrap();
        let d: ArrivalProcess =
            serde_json::from_str(r#"{"kind":"diurnal","mean_rate_per_s":1,"amplitude":0.5}"#)
                .unwrap();
        assert!(
            matches!(w, ArrivalProcess::Weekly { period_s, phase_s, .. } if period_s == WEEK_S && phase_s == 0.0)
        );
        assert!(matches!(d, ArrivalProcess::Diurnal { period_s, .. } if period_s == DAY_S));
    }

    #[test]
    fn steps_change_rate_at_the_right_times() {
        let steps = vec![
            RateStep {
                at_s: 50.0,
                rate_per_s: 100.0,
            },
            RateStep {
                at_s: 100.0,
                rate_per_s: 1000.0,
            },
            RateStep {
                at_s: 150.0,
                rate_per_s: 0.0,
            },
            RateStep {
                at_s: 200.0,
                rate_per_s: 400.0,
            },
        ];
        let t = arrivals_s(ArrivalProcess::Steps { steps }, 250.0, 5);
        assert_eq!(count_in(&t, 0.0, 50.0), 0, "rate 0 before the first step");
        assert_eq!(count_in(&t, 150.0, 200.0), 0, "zero-rate step");
        for (a, b, rate) in [
            (50.0, 100.0, 100.0),
            (100.0, 150.0, 1000.0),
            (200.0, 250.0, 400.0),
        ] {
            let expect = rate * (b - a);
            let tol = 5.0 / f64::sqrt(expect);
            assert_close(
                &format!("[{a},{b})"),
                count_in(&t, a, b) as f64,
                expect,
                tol,
            );
        }
        // The switch is sharp: the 1 s on either side of t = 100 differ 10×.
        let before = count_in(&t, 99.0, 100.0) as f64;
        let after = count_in(&t, 100.0, 101.0) as f64;
        assert!(after > 5.0 * before, "{before} then {after}");
    }

    #[test]
    fn spike_raises_the_rate_only_during_the_spike() {
        let t = arrivals_s(
            ArrivalProcess::Spike {
                base_rate_per_s: 50.0,
                spike_rate_per_s: 2000.0,
                start_s: 40.0,
                duration_s: 10.0,
            },
            100.0,
            6,
        );
        for (a, b, expect) in [
            (0.0, 40.0, 2000.0),
            (40.0, 50.0, 20_000.0),
            (50.0, 100.0, 2500.0),
        ] {
            let tol = 5.0 / f64::sqrt(expect);
            assert_close(
                &format!("[{a},{b})"),
                count_in(&t, a, b) as f64,
                expect,
                tol,
            );
        }
    }

    #[test]
    fn mmpp_mean_rate_is_dwell_weighted() {
        for switching in [MmppSwitching::Cycle, MmppSwitching::Uniform] {
            let process = ArrivalProcess::Mmpp {
                states: vec![
                    MmppState {
                        rate_per_s: 2.0,
                        mean_dwell_s: 5.0,
                    },
                    MmppState {
                        rate_per_s: 20.0,
                        mean_dwell_s: 1.0,
                    },
                    MmppState {
                        rate_per_s: 0.0,
                        mean_dwell_s: 2.0,
                    },
                ],
                switching,
            };
            let expect = process.long_run_rate_per_s();
            assert_close("formula", expect, 30.0 / 8.0, 1e-12);
            // About 5000 state cycles; the rate's s.e. is about 1.5 %.
            let duration = 40_000.0;
            let t = arrivals_s(process, duration, 7);
            let (rate, cv) = rate_and_cv(&t, duration);
            assert_close(&format!("{switching:?} rate"), rate, expect, 0.06);
            // Modulation makes arrivals burstier than Poisson.
            assert!(cv > 1.3, "{switching:?} cv {cv}");
        }
    }

    #[test]
    fn same_seed_same_requests_other_seed_other_requests() {
        let c = SyntheticConfig {
            arrival: ArrivalProcess::Gamma {
                rate_per_s: 10.0,
                cv: 2.0,
            },
            input_tokens: TokenLengths::Uniform {
                min_tokens: 1,
                max_tokens: 1000,
            },
            output_tokens: TokenLengths::Lognormal {
                median_tokens: 100.0,
                sigma: 1.0,
                min_tokens: None,
                max_tokens: None,
            },
            duration_s: 100.0,
            max_requests: None,
        };
        let run = |seed| -> Vec<Request> {
            SyntheticWorkload::new(&c, seed)
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn lengths_do_not_move_arrivals() {
        let mut a = config(ArrivalProcess::Poisson { rate_per_s: 50.0 }, 20.0);
        a.input_tokens = TokenLengths::Uniform {
            min_tokens: 1,
            max_tokens: 100,
        };
        let mut b = a.clone();
        b.output_tokens = TokenLengths::Lognormal {
            median_tokens: 300.0,
            sigma: 1.5,
            min_tokens: None,
            max_tokens: None,
        };
        let ra: Vec<Request> = SyntheticWorkload::new(&a, 9)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let rb: Vec<Request> = SyntheticWorkload::new(&b, 9)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(ra.len(), rb.len());
        assert!(ra.len() > 500);
        for (x, y) in ra.iter().zip(&rb) {
            assert_eq!((x.arrival, x.input_tokens), (y.arrival, y.input_tokens));
        }
        assert!(ra
            .iter()
            .zip(&rb)
            .any(|(x, y)| x.output_tokens != y.output_tokens));

        // And the arrival process does not change the i-th request's lengths.
        let mut c = a.clone();
        c.arrival = ArrivalProcess::Gamma {
            rate_per_s: 50.0,
            cv: 4.0,
        };
        let rc: Vec<Request> = SyntheticWorkload::new(&c, 9)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for (x, y) in ra.iter().zip(&rc) {
            assert_eq!(x.input_tokens, y.input_tokens);
        }
    }

    #[test]
    fn max_requests_and_duration_stop_the_workload() {
        let mut c = config(ArrivalProcess::Poisson { rate_per_s: 100.0 }, 1000.0);
        c.max_requests = Some(7);
        let mut w = SyntheticWorkload::new(&c, 1).unwrap();
        assert_eq!(w.by_ref().count(), 7);
        assert!(w.next().is_none());
    }

    #[test]
    fn a_final_zero_step_ends_the_workload() {
        let steps = vec![
            RateStep {
                at_s: 0.0,
                rate_per_s: 100.0,
            },
            RateStep {
                at_s: 1.0,
                rate_per_s: 0.0,
            },
        ];
        // Would take forever if the zero step were sampled to the horizon.
        let t = arrivals_s(ArrivalProcess::Steps { steps }, 1.0e9, 1);
        assert!(!t.is_empty() && t.iter().all(|&x| x < 1.0));
    }

    fn check_invalid(c: SyntheticConfig, field: &str) {
        match SyntheticWorkload::new(&c, 0) {
            Err(WorkloadError::InvalidParameter { field: f, message }) => {
                assert_eq!(f, field, "{message}")
            }
            other => panic!("expected InvalidParameter on {field}, got {other:?}"),
        }
    }

    #[test]
    fn bad_parameters_name_the_field() {
        use ArrivalProcess as A;
        let c = |a| config(a, 10.0);
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, 2.0e6] {
            check_invalid(c(A::Poisson { rate_per_s: rate }), "arrival.rate_per_s");
        }
        check_invalid(
            c(A::Gamma {
                rate_per_s: 1.0,
                cv: 0.0,
            }),
            "arrival.cv",
        );
        check_invalid(
            c(A::Gamma {
                rate_per_s: 1.0,
                cv: 1000.0,
            }),
            "arrival.cv",
        );
        check_invalid(
            c(A::Weibull {
                rate_per_s: 1.0,
                shape: 0.01,
            }),
            "arrival.shape",
        );
        check_invalid(
            c(A::Diurnal {
                mean_rate_per_s: 1.0,
                amplitude: 1.5,
                period_s: 10.0,
                phase_s: 0.0,
            }),
            "arrival.amplitude",
        );
        check_invalid(
            c(A::Weekly {
                mean_rate_per_s: 1.0,
                amplitude: 0.5,
                period_s: 0.0,
                phase_s: 0.0,
            }),
            "arrival.period_s",
        );
        check_invalid(
            c(A::Diurnal {
                mean_rate_per_s: 1.0,
                amplitude: 0.5,
                period_s: 10.0,
                phase_s: f64::NAN,
            }),
            "arrival.phase_s",
        );
        check_invalid(c(A::Steps { steps: vec![] }), "arrival.steps");
        check_invalid(
            c(A::Steps {
                steps: vec![
                    RateStep {
                        at_s: 5.0,
                        rate_per_s: 1.0,
                    },
                    RateStep {
                        at_s: 5.0,
                        rate_per_s: 2.0,
                    },
                ],
            }),
            "arrival.steps[1].at_s",
        );
        check_invalid(
            c(A::Steps {
                steps: vec![RateStep {
                    at_s: 0.0,
                    rate_per_s: -2.0,
                }],
            }),
            "arrival.steps[0].rate_per_s",
        );
        check_invalid(
            c(A::Steps {
                steps: vec![RateStep {
                    at_s: 0.0,
                    rate_per_s: 0.0,
                }],
            }),
            "arrival.steps",
        );
        check_invalid(
            c(A::Spike {
                base_rate_per_s: 1.0,
                spike_rate_per_s: 5.0,
                start_s: 1.0,
                duration_s: 0.0,
            }),
            "arrival.duration_s",
        );
        check_invalid(
            c(A::Mmpp {
                states: vec![MmppState {
                    rate_per_s: 1.0,
                    mean_dwell_s: 0.0,
                }],
                switching: MmppSwitching::Cycle,
            }),
            "arrival.states[0].mean_dwell_s",
        );
        check_invalid(
            c(A::Mmpp {
                states: vec![MmppState {
                    rate_per_s: 0.0,
                    mean_dwell_s: 1.0,
                }],
                switching: MmppSwitching::Uniform,
            }),
            "arrival.states",
        );
        let mut bad = c(A::Poisson { rate_per_s: 1.0 });
        bad.duration_s = -1.0;
        check_invalid(bad.clone(), "duration_s");
        bad.duration_s = 1e30;
        check_invalid(bad, "duration_s");
        let mut bad = c(A::Poisson { rate_per_s: 1.0 });
        bad.max_requests = Some(0);
        check_invalid(bad, "max_requests");
        let mut bad = c(A::Poisson { rate_per_s: 1.0 });
        bad.output_tokens = TokenLengths::Fixed { tokens: 0 };
        check_invalid(bad, "output_tokens.tokens");

        // The prefix is used as given.
        let err = config(A::Poisson { rate_per_s: 0.0 }, 1.0)
            .validate("workload")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("field `workload.arrival.rate_per_s`"),
            "{err}"
        );
    }

    #[test]
    fn serde_rejects_unknown_fields_and_kinds() {
        let ok = r#"{"arrival":{"kind":"mmpp","states":[{"rate_per_s":1,"mean_dwell_s":2}]},
            "input_tokens":{"kind":"fixed","tokens":1},"output_tokens":{"kind":"fixed","tokens":1},
            "duration_s":5}"#;
        let c: SyntheticConfig = serde_json::from_str(ok).unwrap();
        assert!(matches!(
            c.arrival,
            ArrivalProcess::Mmpp {
                switching: MmppSwitching::Cycle,
                ..
            }
        ));
        for bad in [
            r#"{"kind":"poisson","rate_per_s":1,"rate":2}"#,
            r#"{"kind":"poison","rate_per_s":1}"#,
            r#"{"kind":"steps","steps":[{"at_s":0,"rate_per_s":1,"x":0}]}"#,
            r#"{"kind":"mmpp","states":[],"switching":"random"}"#,
        ] {
            assert!(
                serde_json::from_str::<ArrivalProcess>(bad).is_err(),
                "{bad}"
            );
        }
    }

    /// Regression: near-silent MMPP states used to be stepped through one
    /// dwell at a time to the end of the clock (about 10¹³ iterations).
    #[test]
    fn silent_states_stop_at_the_horizon() {
        let silent = MmppState {
            rate_per_s: 1e-300,
            mean_dwell_s: 1e-3,
        };
        let c = SyntheticConfig {
            arrival: ArrivalProcess::Mmpp {
                states: vec![silent.clone(), silent],
                switching: MmppSwitching::Cycle,
            },
            input_tokens: TokenLengths::Fixed { tokens: 1 },
            output_tokens: TokenLengths::Fixed { tokens: 1 },
            duration_s: 100.0,
            max_requests: None,
        };
        assert_eq!(SyntheticWorkload::new(&c, 1).unwrap().count(), 0);
        let too_long = SyntheticConfig {
            duration_s: 1e6,
            ..c
        };
        let e = SyntheticWorkload::new(&too_long, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("arrival.states[0].mean_dwell_s"), "{e}");
    }

    mod never_panics {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = f64> {
            prop_oneof![
                Just(f64::NAN),
                Just(f64::INFINITY),
                Just(-1.0),
                Just(0.0),
                Just(1e-300),
                Just(1e-3),
                Just(0.5),
                Just(1.0),
                Just(3.0),
                Just(1e6),
                Just(1e300),
                0.0..100.0f64,
            ]
        }

        fn process() -> impl Strategy<Value = ArrivalProcess> {
            let (a, b, c, d) = (value(), value(), value(), value());
            (0..8usize, a, b, c, d).prop_map(|(kind, a, b, c, d)| match kind {
                0 => ArrivalProcess::Poisson { rate_per_s: a },
                1 => ArrivalProcess::Gamma {
                    rate_per_s: a,
                    cv: b,
                },
                2 => ArrivalProcess::Weibull {
                    rate_per_s: a,
                    shape: b,
                },
                3 => ArrivalProcess::Diurnal {
                    mean_rate_per_s: a,
                    amplitude: b,
                    period_s: c,
                    phase_s: d,
                },
                4 => ArrivalProcess::Steps {
                    steps: vec![
                        RateStep {
                            at_s: a,
                            rate_per_s: b,
                        },
                        RateStep {
                            at_s: c,
                            rate_per_s: d,
                        },
                    ],
                },
                5 => ArrivalProcess::Spike {
                    base_rate_per_s: a,
                    spike_rate_per_s: b,
                    start_s: c,
                    duration_s: d,
                },
                6 => ArrivalProcess::Mmpp {
                    states: vec![
                        MmppState {
                            rate_per_s: a,
                            mean_dwell_s: b,
                        },
                        MmppState {
                            rate_per_s: c,
                            mean_dwell_s: d,
                        },
                    ],
                    switching: MmppSwitching::Uniform,
                },
                _ => ArrivalProcess::Weekly {
                    mean_rate_per_s: a,
                    amplitude: b,
                    period_s: c,
                    phase_s: d,
                },
            })
        }

        proptest! {
            #[test]
            fn any_parameters_give_an_error_or_sorted_arrivals(
                arrival in process(),
                duration_s in value(),
                seed in any::<u64>(),
            ) {
                let c = SyntheticConfig {
                    arrival,
                    input_tokens: TokenLengths::Fixed { tokens: 1 },
                    output_tokens: TokenLengths::Fixed { tokens: 1 },
                    duration_s,
                    max_requests: Some(200),
                };
                if let Ok(w) = SyntheticWorkload::new(&c, seed) {
                    let end = SimTime(secs_to_ns(duration_s));
                    let t: Vec<SimTime> = w.map(|r| r.unwrap().arrival).collect();
                    prop_assert!(t.windows(2).all(|w| w[0] <= w[1]));
                    prop_assert!(t.iter().all(|&x| x < end));
                }
            }
        }
    }
}
