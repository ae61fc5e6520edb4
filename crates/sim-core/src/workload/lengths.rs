//! Token length distributions for synthetic workloads.
//!
//! [`TokenLengths`] is the scenario-file form (a serde enum tagged by `kind`);
//! [`LengthSampler`] is the validated, ready-to-draw form built from it. Every
//! sample is an integer in `1..=`[`MAX_TOKENS_PER_REQUEST`], so a request
//! built from it always passes the readers' token checks.
//!
//! ```toml
//! input_tokens = { kind = "lognormal", median_tokens = 1020, sigma = 0.9, max_tokens = 16384 }
//! output_tokens = { kind = "uniform", min_tokens = 16, max_tokens = 512 }
//! ```

use super::{WorkloadError, MAX_TOKENS_PER_REQUEST};
use rand::Rng;
use rand_distr::{Distribution, LogNormal};
use serde::{Deserialize, Serialize};

/// A token length distribution, as written in a scenario file.
///
/// All counts are tokens per request and must lie in
/// `1..=`[`MAX_TOKENS_PER_REQUEST`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenLengths {
    /// Every request has the same length.
    ///
    /// TOML: `{ kind = "fixed", tokens = 512 }`
    Fixed {
        /// Tokens per request.
        tokens: u32,
    },
    /// Uniform over the integers `min_tokens..=max_tokens` (both inclusive).
    ///
    /// TOML: `{ kind = "uniform", min_tokens = 16, max_tokens = 512 }`
    Uniform {
        /// Smallest length, tokens (inclusive).
        min_tokens: u32,
        /// Largest length, tokens (inclusive).
        max_tokens: u32,
    },
    /// Log-normal: `exp(N(ln median_tokens, sigma²))`, rounded to the nearest
    /// integer, then clamped to `[min_tokens, max_tokens]`.
    ///
    /// TOML: `{ kind = "lognormal", median_tokens = 1020, sigma = 0.9, max_tokens = 16384 }`
    Lognormal {
        /// Median length, tokens (the geometric mean before clamping).
        median_tokens: f64,
        /// Standard deviation of the natural log of the length
        /// (dimensionless); 0 gives a fixed length.
        sigma: f64,
        /// Lower clamp, tokens; default 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_tokens: Option<u32>,
        /// Upper clamp, tokens; default [`MAX_TOKENS_PER_REQUEST`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_tokens: Option<u32>,
    },
    /// A uniform draw from a list of lengths, e.g. the lengths of a trace
    /// (the empirical distribution).
    ///
    /// TOML: `{ kind = "resample", values = [129, 1020, 2734] }`
    Resample {
        /// The lengths to draw from, tokens; duplicates weight a value.
        values: Vec<u32>,
    },
    /// A uniform draw from the prompt or output lengths of a trace file (its
    /// empirical distribution). The engine never opens files: the front end
    /// reads the trace and replaces this with [`TokenLengths::Resample`], so
    /// [`TokenLengths::sampler`] refuses it.
    ///
    /// TOML: `{ kind = "trace", path = "traces/example-azure.csv", side = "output" }`
    Trace {
        /// The trace file (any format `fleetsim trace stats` reads),
        /// relative to the scenario file.
        path: String,
        /// Which lengths to take.
        side: TraceSide,
    },
}

/// Which token counts of a trace a [`TokenLengths::Trace`] resamples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceSide {
    /// Prompt lengths.
    Input,
    /// Output lengths.
    Output,
}

/// A validated token length distribution, ready to draw from.
#[derive(Clone, Debug)]
pub struct LengthSampler {
    inner: SamplerKind,
}

#[derive(Clone, Debug)]
enum SamplerKind {
    Fixed(u32),
    Uniform {
        min: u32,
        max: u32,
    },
    Lognormal {
        dist: LogNormal<f64>,
        min: u32,
        max: u32,
    },
    Resample(Box<[u32]>),
}

/// The largest token count as a `u32` (it fits: the limit is 10 million).
const MAX_TOKENS: u32 = MAX_TOKENS_PER_REQUEST as u32;

impl TokenLengths {
    /// Checks every parameter; errors name the field as `{field_prefix}.{name}`
    /// (just `{name}` when the prefix is empty).
    pub fn validate(&self, field_prefix: &str) -> Result<(), WorkloadError> {
        match self {
            TokenLengths::Fixed { tokens } => check_tokens(field_prefix, "tokens", *tokens),
            TokenLengths::Uniform {
                min_tokens,
                max_tokens,
            } => {
                check_tokens(field_prefix, "min_tokens", *min_tokens)?;
                check_tokens(field_prefix, "max_tokens", *max_tokens)?;
                if max_tokens < min_tokens {
                    return Err(WorkloadError::invalid(
                        &join_field(field_prefix, "max_tokens"),
                        format!("must be at least min_tokens ({min_tokens}), got {max_tokens}"),
                    ));
                }
                Ok(())
            }
            TokenLengths::Lognormal {
                median_tokens,
                sigma,
                min_tokens,
                max_tokens,
            } => {
                check_positive(field_prefix, "median_tokens", *median_tokens)?;
                check_non_negative(field_prefix, "sigma", *sigma)?;
                // exp(N(μ, σ²)) with σ this large is all 1s and clamps; a typo.
                if *sigma > 10.0 {
                    return Err(WorkloadError::invalid(
                        &join_field(field_prefix, "sigma"),
                        format!("must be at most 10 (natural-log units), got {sigma}"),
                    ));
                }
                let min = min_tokens.unwrap_or(1);
                let max = max_tokens.unwrap_or(MAX_TOKENS);
                check_tokens(field_prefix, "min_tokens", min)?;
                check_tokens(field_prefix, "max_tokens", max)?;
                if max < min {
                    return Err(WorkloadError::invalid(
                        &join_field(field_prefix, "max_tokens"),
                        format!("must be at least min_tokens ({min}), got {max}"),
                    ));
                }
                Ok(())
            }
            TokenLengths::Resample { values } => {
                if values.is_empty() {
                    return Err(WorkloadError::invalid(
                        &join_field(field_prefix, "values"),
                        "must hold at least one length",
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    check_tokens(field_prefix, &format!("values[{i}]"), *v)?;
                }
                Ok(())
            }
            TokenLengths::Trace { path, .. } => {
                if path.trim().is_empty() {
                    return Err(WorkloadError::invalid(
                        &join_field(field_prefix, "path"),
                        "must name a trace file",
                    ));
                }
                Ok(())
            }
        }
    }

    /// Validates (see [`TokenLengths::validate`]) and builds the sampler.
    pub fn sampler(&self, field_prefix: &str) -> Result<LengthSampler, WorkloadError> {
        self.validate(field_prefix)?;
        let inner = match self {
            TokenLengths::Fixed { tokens } => SamplerKind::Fixed(*tokens),
            TokenLengths::Uniform {
                min_tokens,
                max_tokens,
            } => SamplerKind::Uniform {
                min: *min_tokens,
                max: *max_tokens,
            },
            TokenLengths::Lognormal {
                median_tokens,
                sigma,
                min_tokens,
                max_tokens,
            } => {
                let dist = LogNormal::new(median_tokens.ln(), *sigma).map_err(|e| {
                    WorkloadError::invalid(&join_field(field_prefix, "sigma"), e.to_string())
                })?;
                SamplerKind::Lognormal {
                    dist,
                    min: min_tokens.unwrap_or(1),
                    max: max_tokens.unwrap_or(MAX_TOKENS),
                }
            }
            TokenLengths::Resample { values } => SamplerKind::Resample(values.clone().into()),
            TokenLengths::Trace { .. } => {
                return Err(WorkloadError::invalid(
                    &join_field(field_prefix, "path"),
                    "trace-resampled lengths must be loaded by the front end (fleetsim's \
                     scenario loader turns them into `resample`)",
                ))
            }
        };
        Ok(LengthSampler { inner })
    }
}

impl LengthSampler {
    /// Draws one length, tokens; always in `1..=`[`MAX_TOKENS_PER_REQUEST`].
    ///
    /// The number of random draws per call is fixed by the distribution kind
    /// (none for `fixed`, one otherwise), so a stream's sequence does not
    /// depend on the values drawn.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        match &self.inner {
            SamplerKind::Fixed(tokens) => *tokens,
            SamplerKind::Uniform { min, max } => rng.random_range(*min..=*max),
            SamplerKind::Lognormal { dist, min, max } => {
                let x = dist.sample(rng).round();
                // `as` saturates and maps NaN to 0; the clamp then restores
                // the bounds, so no float can escape them.
                (x as u32).clamp(*min, *max)
            }
            SamplerKind::Resample(values) => {
                let i = rng.random_range(0..values.len());
                values.get(i).copied().unwrap_or(1)
            }
        }
    }

    /// The mean length in tokens, when it has a closed form (for reports and
    /// tests): exact for `fixed`, `uniform` and `resample`; `None` for
    /// `lognormal`, whose clamping moves the mean.
    pub fn mean_tokens(&self) -> Option<f64> {
        match &self.inner {
            SamplerKind::Fixed(t) => Some(f64::from(*t)),
            SamplerKind::Uniform { min, max } => Some((f64::from(*min) + f64::from(*max)) / 2.0),
            SamplerKind::Lognormal { .. } => None,
            SamplerKind::Resample(values) => {
                let sum: f64 = values.iter().map(|v| f64::from(*v)).sum();
                Some(sum / values.len() as f64)
            }
        }
    }
}

/// `prefix.name`, or `name` alone when the prefix is empty.
pub(crate) fn join_field(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn check_tokens(prefix: &str, name: &str, value: u32) -> Result<(), WorkloadError> {
    if value == 0 {
        return Err(WorkloadError::invalid(
            &join_field(prefix, name),
            "token count must be at least 1, got 0",
        ));
    }
    if value > MAX_TOKENS {
        return Err(WorkloadError::invalid(
            &join_field(prefix, name),
            format!("token count {value} is larger than the limit of {MAX_TOKENS_PER_REQUEST}"),
        ));
    }
    Ok(())
}

/// Rejects NaN, infinities, zero and negative values.
pub(crate) fn check_positive(prefix: &str, name: &str, value: f64) -> Result<(), WorkloadError> {
    if !value.is_finite() || value <= 0.0 {
        return Err(WorkloadError::invalid(
            &join_field(prefix, name),
            format!("must be a finite number greater than 0, got {value}"),
        ));
    }
    Ok(())
}

/// Rejects NaN, infinities and negative values.
pub(crate) fn check_non_negative(
    prefix: &str,
    name: &str,
    value: f64,
) -> Result<(), WorkloadError> {
    if !value.is_finite() || value < 0.0 {
        return Err(WorkloadError::invalid(
            &join_field(prefix, name),
            format!("must be a finite number of at least 0, got {value}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    fn draw(lengths: &TokenLengths, n: usize) -> Vec<u32> {
        let sampler = lengths.sampler("input_tokens").unwrap();
        let mut r = rng::stream(1, "workload.input_tokens", 0);
        (0..n).map(|_| sampler.sample(&mut r)).collect()
    }

    fn parse(toml_like_json: &str) -> TokenLengths {
        serde_json::from_str(toml_like_json).unwrap()
    }

    #[test]
    fn fixed_is_fixed() {
        let v = draw(&TokenLengths::Fixed { tokens: 77 }, 100);
        assert!(v.iter().all(|&x| x == 77));
    }

    #[test]
    fn uniform_stays_in_bounds_and_reaches_both_ends() {
        let v = draw(
            &TokenLengths::Uniform {
                min_tokens: 3,
                max_tokens: 7,
            },
            5000,
        );
        assert_eq!(v.iter().min(), Some(&3));
        assert_eq!(v.iter().max(), Some(&7));
        let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64;
        assert!((mean - 5.0).abs() < 0.1, "mean {mean}");
    }

    #[test]
    fn lognormal_median_and_clamp() {
        let mut v = draw(
            &TokenLengths::Lognormal {
                median_tokens: 1000.0,
                sigma: 1.0,
                min_tokens: None,
                max_tokens: None,
            },
            20_001,
        );
        v.sort_unstable();
        let median = f64::from(v[v.len() / 2]);
        assert!((median / 1000.0 - 1.0).abs() < 0.04, "median {median}");

        let v = draw(
            &TokenLengths::Lognormal {
                median_tokens: 1000.0,
                sigma: 2.0,
                min_tokens: Some(500),
                max_tokens: Some(2000),
            },
            5000,
        );
        assert_eq!(v.iter().min(), Some(&500));
        assert_eq!(v.iter().max(), Some(&2000));
    }

    #[test]
    fn lognormal_never_yields_zero() {
        // A tiny median rounds most draws to 0; the default min clamps them to 1.
        let v = draw(
            &TokenLengths::Lognormal {
                median_tokens: 0.01,
                sigma: 0.5,
                min_tokens: None,
                max_tokens: None,
            },
            1000,
        );
        assert!(v.iter().all(|&x| x == 1));
    }

    #[test]
    fn resample_draws_only_listed_values_with_their_weights() {
        let v = draw(
            &TokenLengths::Resample {
                values: vec![5, 9, 9, 9],
            },
            8000,
        );
        assert!(v.iter().all(|&x| x == 5 || x == 9));
        let nines = v.iter().filter(|&&x| x == 9).count() as f64 / v.len() as f64;
        assert!((nines - 0.75).abs() < 0.03, "{nines}");
    }

    #[test]
    fn serde_shape() {
        assert_eq!(
            parse(r#"{"kind":"fixed","tokens":4}"#),
            TokenLengths::Fixed { tokens: 4 }
        );
        assert_eq!(
            parse(r#"{"kind":"lognormal","median_tokens":100,"sigma":0.5}"#),
            TokenLengths::Lognormal {
                median_tokens: 100.0,
                sigma: 0.5,
                min_tokens: None,
                max_tokens: None
            }
        );
        assert!(
            serde_json::from_str::<TokenLengths>(r#"{"kind":"fixed","tokens":4,"extra":1}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<TokenLengths>(r#"{"kind":"fixed","tokens":-4}"#).is_err());
    }

    fn check_invalid(lengths: TokenLengths, field: &str) {
        match lengths.sampler("output_tokens") {
            Err(WorkloadError::InvalidParameter { field: f, message }) => {
                assert_eq!(f, field, "{message}")
            }
            other => panic!("expected InvalidParameter on {field}, got {other:?}"),
        }
    }

    #[test]
    fn bad_parameters_name_the_field() {
        check_invalid(TokenLengths::Fixed { tokens: 0 }, "output_tokens.tokens");
        check_invalid(
            TokenLengths::Fixed {
                tokens: MAX_TOKENS + 1,
            },
            "output_tokens.tokens",
        );
        check_invalid(
            TokenLengths::Uniform {
                min_tokens: 9,
                max_tokens: 3,
            },
            "output_tokens.max_tokens",
        );
        check_invalid(
            TokenLengths::Uniform {
                min_tokens: 0,
                max_tokens: 3,
            },
            "output_tokens.min_tokens",
        );
        for median in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            check_invalid(
                TokenLengths::Lognormal {
                    median_tokens: median,
                    sigma: 1.0,
                    min_tokens: None,
                    max_tokens: None,
                },
                "output_tokens.median_tokens",
            );
        }
        check_invalid(
            TokenLengths::Lognormal {
                median_tokens: 10.0,
                sigma: f64::NAN,
                min_tokens: None,
                max_tokens: None,
            },
            "output_tokens.sigma",
        );
        check_invalid(
            TokenLengths::Lognormal {
                median_tokens: 10.0,
                sigma: 1.0,
                min_tokens: Some(20),
                max_tokens: Some(10),
            },
            "output_tokens.max_tokens",
        );
        check_invalid(
            TokenLengths::Resample { values: vec![] },
            "output_tokens.values",
        );
        check_invalid(
            TokenLengths::Resample { values: vec![3, 0] },
            "output_tokens.values[1]",
        );
    }
}
