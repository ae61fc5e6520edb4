//! The arrival-time sampler: [`ArrivalTimes`] turns an [`ArrivalProcess`]
//! into arrival instants drawn from one stream.

use super::*;

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
