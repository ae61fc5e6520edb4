//! Cold-start distributions: durations and bandwidths as written in a
//! scenario file, their inverse-CDF samplers, and the checks and
//! conversions they share with the configuration.

use super::*;

/// A distribution of durations, as written in a scenario file.
///
/// ```toml
/// provisioning = { dist = "lognormal", median_s = 240, p99_s = 840 }
/// engine_startup_cached = { dist = "fixed", value_s = 60 }
/// engine_startup_uncached = { dist = "empirical", values_s = [95, 120, 180] }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum DurationDist {
    /// Always the same.
    Fixed {
        /// The duration, seconds (> 0).
        value_s: f64,
    },
    /// Lognormal given by its median and 99th percentile:
    /// `median_s · exp(σ·Z)`, `σ = ln(p99_s / median_s) / Φ⁻¹(0.99)`.
    Lognormal {
        /// Median, seconds (> 0).
        median_s: f64,
        /// 99th percentile, seconds (≥ `median_s`; equal gives a fixed value).
        p99_s: f64,
    },
    /// Observed durations; a draw is the inverse of their empirical CDF (no
    /// interpolation), i.e. each observation equally likely.
    Empirical {
        /// The observations, seconds (at least one, each > 0).
        values_s: Vec<f64>,
    },
}

impl DurationDist {
    /// Checks every parameter; errors name the field as `{prefix}.{name}`
    /// (`{name}` when the prefix is empty).
    pub fn validate(&self, prefix: &str) -> Result<(), FieldError> {
        match self {
            DurationDist::Fixed { value_s } => check_positive_s(prefix, "value_s", *value_s),
            DurationDist::Lognormal { median_s, p99_s } => {
                check_positive_s(prefix, "median_s", *median_s)?;
                check_positive_s(prefix, "p99_s", *p99_s)?;
                if p99_s < median_s {
                    return Err(FieldError::new(
                        "p99_s",
                        format!("must be at least median_s ({median_s}), got {p99_s}"),
                    )
                    .within(prefix));
                }
                Ok(())
            }
            DurationDist::Empirical { values_s } => {
                if values_s.is_empty() {
                    return Err(
                        FieldError::new("values_s", "must hold at least one observation")
                            .within(prefix),
                    );
                }
                for (i, v) in values_s.iter().enumerate() {
                    check_positive_s(prefix, &format!("values_s[{i}]"), *v)?;
                }
                Ok(())
            }
        }
    }

    /// The `p`-quantile in seconds, clamped to `[0, MAX_STAGE_S]`. `p` is
    /// clamped into the open interval (0, 1). An unvalidated empty empirical
    /// list gives 0.
    pub fn quantile_s(&self, p: f64) -> f64 {
        let p = open_p(p);
        let s = match self {
            DurationDist::Fixed { value_s } => *value_s,
            DurationDist::Lognormal { median_s, p99_s } => {
                let sigma = (p99_s / median_s).ln() / Z_P99;
                median_s * (sigma * inverse_normal_cdf(p)).exp()
            }
            DurationDist::Empirical { values_s } => empirical_quantile(values_s, p),
        };
        clamp_s(s)
    }

    /// The `p`-quantile as a [`SimDuration`] (see [`DurationDist::quantile_s`]).
    pub fn quantile(&self, p: f64) -> SimDuration {
        secs_to_duration(self.quantile_s(p))
    }

    /// The median (for empirical lists of even length, the upper middle).
    pub fn median(&self) -> SimDuration {
        self.quantile(0.5)
    }

    /// One draw; consumes exactly one `u64` from `rng`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        self.quantile(open_unit(rng))
    }
}

/// A distribution of transfer bandwidths, GB/s (GB = 10⁹ bytes).
///
/// The slow tail is what hurts, so the lognormal is given by its median and
/// its 1st percentile: 1 % of transfers run slower than `p1_gb_per_s`, which
/// makes the transfer *time* lognormal with its p99 at `bytes / p1`.
///
/// ```toml
/// object_store = { dist = "lognormal", median_gb_per_s = 2.0, p1_gb_per_s = 0.75 }
/// hub = { dist = "fixed", gb_per_s = 0.5 }
/// node_nvme = { dist = "empirical", values_gb_per_s = [0.9, 1.5, 2.0] }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum BandwidthDist {
    /// Always the same.
    Fixed {
        /// Bandwidth, GB/s (> 0).
        gb_per_s: f64,
    },
    /// Lognormal given by its median and its slow 1st percentile:
    /// `median · exp(σ·Z)`, `σ = ln(median / p1) / Φ⁻¹(0.99)`.
    Lognormal {
        /// Median bandwidth, GB/s (> 0).
        median_gb_per_s: f64,
        /// 1st percentile (the slow tail), GB/s (> 0, ≤ the median; equal
        /// gives a fixed value).
        p1_gb_per_s: f64,
    },
    /// Observed bandwidths; each equally likely.
    Empirical {
        /// The observations, GB/s (at least one, each > 0).
        values_gb_per_s: Vec<f64>,
    },
}

impl BandwidthDist {
    /// Checks every parameter; errors name the field as `{prefix}.{name}`.
    pub fn validate(&self, prefix: &str) -> Result<(), FieldError> {
        match self {
            BandwidthDist::Fixed { gb_per_s } => check_bandwidth(prefix, "gb_per_s", *gb_per_s),
            BandwidthDist::Lognormal {
                median_gb_per_s,
                p1_gb_per_s,
            } => {
                check_bandwidth(prefix, "median_gb_per_s", *median_gb_per_s)?;
                check_bandwidth(prefix, "p1_gb_per_s", *p1_gb_per_s)?;
                if p1_gb_per_s > median_gb_per_s {
                    return Err(FieldError::new(
                        "p1_gb_per_s",
                        format!(
                            "must be at most median_gb_per_s ({median_gb_per_s}): the 1st \
                             percentile is the slow tail, got {p1_gb_per_s}"
                        ),
                    )
                    .within(prefix));
                }
                Ok(())
            }
            BandwidthDist::Empirical { values_gb_per_s } => {
                if values_gb_per_s.is_empty() {
                    return Err(FieldError::new(
                        "values_gb_per_s",
                        "must hold at least one observation",
                    )
                    .within(prefix));
                }
                for (i, v) in values_gb_per_s.iter().enumerate() {
                    check_bandwidth(prefix, &format!("values_gb_per_s[{i}]"), *v)?;
                }
                Ok(())
            }
        }
    }

    /// The `p`-quantile of the bandwidth, GB/s (`p = 0.01` is the slow
    /// tail). `p` is clamped into (0, 1); an unvalidated empty list gives 0.
    pub fn quantile_gb_per_s(&self, p: f64) -> f64 {
        let p = open_p(p);
        match self {
            BandwidthDist::Fixed { gb_per_s } => *gb_per_s,
            BandwidthDist::Lognormal {
                median_gb_per_s,
                p1_gb_per_s,
            } => {
                let sigma = (median_gb_per_s / p1_gb_per_s).ln() / Z_P99;
                median_gb_per_s * (sigma * inverse_normal_cdf(p)).exp()
            }
            BandwidthDist::Empirical { values_gb_per_s } => empirical_quantile(values_gb_per_s, p),
        }
    }

    /// The median bandwidth, GB/s.
    pub fn median_gb_per_s(&self) -> f64 {
        self.quantile_gb_per_s(0.5)
    }

    /// Time to move `bytes` at the `p`-quantile of the transfer *time*, i.e.
    /// at bandwidth quantile `1 − p`: `p` near 1 is slow.
    pub fn transfer_time_at(&self, bytes: u64, p: f64) -> SimDuration {
        transfer_time(bytes, self.quantile_gb_per_s(1.0 - open_p(p)))
    }

    /// One bandwidth draw, GB/s; consumes exactly one `u64` from `rng`.
    pub fn sample_gb_per_s<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.quantile_gb_per_s(1.0 - open_unit(rng))
    }

    /// Time to move `bytes` at one bandwidth draw; one `u64` from `rng`.
    pub fn sample_transfer_time<R: Rng + ?Sized>(&self, bytes: u64, rng: &mut R) -> SimDuration {
        self.transfer_time_at(bytes, open_unit(rng))
    }
}

/// Time to move `bytes` at `gb_per_s`, clamped to [`MAX_STAGE_S`]. Zero
/// bytes take no time; a zero, negative or NaN bandwidth takes the maximum.
pub fn transfer_time(bytes: u64, gb_per_s: f64) -> SimDuration {
    if bytes == 0 {
        return SimDuration::ZERO;
    }
    if gb_per_s.is_nan() || gb_per_s <= 0.0 {
        return secs_to_duration(MAX_STAGE_S);
    }
    secs_to_duration(bytes as f64 / (gb_per_s * BYTES_PER_GB))
}

/// The per-pool node provisioning time the reference suggests: lognormal,
/// median 4 min, p99 14 min (`docs/cold-start.md`). Node pools are
/// configured elsewhere; they use this as the default of their
/// provisioning-time field and draw from [`provisioning_rng`].
pub fn default_provisioning_time() -> DurationDist {
    DurationDist::Lognormal {
        median_s: 240.0,
        p99_s: 840.0,
    }
}

/// The inverse empirical CDF of `values` at `p`: the value of rank
/// `floor(p·n)` in ascending order. Zero for an empty list.
pub(super) fn empirical_quantile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let n = values.len();
    let idx = ((p * n as f64).floor() as usize).min(n - 1);
    let mut sorted = values.to_vec();
    let (_, v, _) = sorted.select_nth_unstable_by(idx, f64::total_cmp);
    *v
}

pub(super) fn clamp_s(s: f64) -> f64 {
    if s.is_nan() {
        0.0
    } else {
        s.clamp(0.0, MAX_STAGE_S)
    }
}

pub(super) fn secs_to_duration(s: f64) -> SimDuration {
    SimDuration::try_from_secs_f64(clamp_s(s)).unwrap_or(SimDuration::ZERO)
}

pub(super) fn lognormal_bw(median_gb_per_s: f64, p1_gb_per_s: f64) -> BandwidthDist {
    BandwidthDist::Lognormal {
        median_gb_per_s,
        p1_gb_per_s,
    }
}

pub(super) fn check_positive_s(prefix: &str, name: &str, v: f64) -> Result<(), FieldError> {
    if v > 0.0 && v <= MAX_STAGE_S {
        Ok(())
    } else {
        Err(FieldError::new(
            name,
            format!("must be a finite number of seconds > 0 and ≤ {MAX_STAGE_S}, got {v}"),
        )
        .within(prefix))
    }
}

pub(super) fn check_non_negative_s(prefix: &str, name: &str, v: f64) -> Result<(), FieldError> {
    if (0.0..=MAX_STAGE_S).contains(&v) {
        Ok(())
    } else {
        Err(FieldError::new(
            name,
            format!("must be a finite number of seconds ≥ 0 and ≤ {MAX_STAGE_S}, got {v}"),
        )
        .within(prefix))
    }
}

pub(super) fn check_bandwidth(prefix: &str, name: &str, v: f64) -> Result<(), FieldError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(FieldError::new(
            name,
            format!("must be a finite number of GB/s > 0, got {v}"),
        )
        .within(prefix))
    }
}
