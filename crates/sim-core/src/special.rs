//! Special functions: ln Γ, the inverse of the standard normal CDF and the
//! quantile of Student's t distribution (with the regularised incomplete
//! beta function it is computed from).
//!
//! `std` has none of them. Each is a published algorithm with its
//! reference values in the tests; callers depend on the exact bits (a
//! seeded run's output must not change), so any change here must keep
//! every result bit-identical.

/// Natural log of the Gamma function for `x > 0` (Lanczos, g = 7, n = 9;
/// relative error about 1e-15). `std` has no stable gamma function.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFS[0];
    for (i, c) in COEFFS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Clamps a probability into (0, 1); NaN becomes 0.5.
pub(crate) fn open_p(p: f64) -> f64 {
    if p.is_nan() {
        0.5
    } else {
        p.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0)
    }
}

// AS241 (PPND16) coefficients as published by Wichura (1988), highest power
// first; the extra digits are the published ones.
#[allow(clippy::excessive_precision)]
const AS241_A: [f64; 8] = [
    2.5090809287301226727e+3,
    3.3430575583588128105e+4,
    6.7265770927008700853e+4,
    4.5921953931549871457e+4,
    1.3731693765509461125e+4,
    1.9715909503065514427e+3,
    1.3314166789178437745e+2,
    3.3871328727963666080e+0,
];
#[allow(clippy::excessive_precision)]
const AS241_B: [f64; 8] = [
    5.2264952788528545610e+3,
    2.8729085735721942674e+4,
    3.9307895800092710610e+4,
    2.1213794301586595867e+4,
    5.3941960214247511077e+3,
    6.8718700749205790830e+2,
    4.2313330701600911252e+1,
    1.0,
];
#[allow(clippy::excessive_precision)]
const AS241_C: [f64; 8] = [
    7.74545014278341407640e-4,
    2.27238449892691845833e-2,
    2.41780725177450611770e-1,
    1.27045825245236838258e+0,
    3.64784832476320460504e+0,
    5.76949722146069140550e+0,
    4.63033784615654529590e+0,
    1.42343711074968357734e+0,
];
#[allow(clippy::excessive_precision)]
const AS241_D: [f64; 8] = [
    1.05075007164441684324e-9,
    5.47593808499534494600e-4,
    1.51986665636164571966e-2,
    1.48103976427480074590e-1,
    6.89767334985100004550e-1,
    1.67638483018380384940e+0,
    2.05319162663775882187e+0,
    1.0,
];
#[allow(clippy::excessive_precision)]
const AS241_E: [f64; 8] = [
    2.01033439929228813265e-7,
    2.71155556874348757815e-5,
    1.24266094738807843860e-3,
    2.65321895265761230930e-2,
    2.96560571828504891230e-1,
    1.78482653991729133580e+0,
    5.46378491116411436990e+0,
    6.65790464350110377720e+0,
];
#[allow(clippy::excessive_precision)]
const AS241_F: [f64; 8] = [
    2.04426310338993978564e-15,
    1.42151175831644588870e-7,
    1.84631831751005468180e-5,
    7.86869131145613259100e-4,
    1.48753612908506148525e-2,
    1.36929880922735805310e-1,
    5.99832206555887937690e-1,
    1.0,
];

/// Evaluates a polynomial given highest power first (Horner's rule).
fn horner(coefficients: &[f64], x: f64) -> f64 {
    coefficients.iter().fold(0.0, |acc, c| acc * x + c)
}

/// The inverse of the standard normal CDF for `p` in (0, 1): Wichura's
/// algorithm AS241 (PPND16), relative error about 1e-16. Out-of-range `p`
/// is clamped into (0, 1); NaN gives 0.
pub fn inverse_normal_cdf(p: f64) -> f64 {
    let p = open_p(p);
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * horner(&AS241_A, r) / horner(&AS241_B, r);
    }
    let tail = if q <= 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let x = if r <= 5.0 {
        let r = r - 1.6;
        horner(&AS241_C, r) / horner(&AS241_D, r)
    } else {
        let r = r - 5.0;
        horner(&AS241_E, r) / horner(&AS241_F, r)
    };
    if q < 0.0 {
        -x
    } else {
        x
    }
}

/// The `p` quantile of Student's t distribution with `df` degrees of
/// freedom (`df > 0`, `0 < p < 1`), by bisection on the distribution
/// function to about 1e-12.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    let mut high = 1.0;
    while t_cdf(high, df) < p && high < 1e12 {
        high *= 2.0;
    }
    let mut low = 0.0;
    while high - low > 1e-12 * high.max(1.0) {
        let mid = 0.5 * (low + high);
        if t_cdf(mid, df) < p {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

/// Student's t distribution function at `t >= 0`:
/// `1 − I_x(df/2, 1/2) / 2` with `x = df / (df + t²)`.
fn t_cdf(t: f64, df: f64) -> f64 {
    1.0 - 0.5 * regularized_beta(df / (df + t * t), df / 2.0, 0.5)
}

/// The regularized incomplete beta function `I_x(a, b)`, by its continued
/// fraction (modified Lentz), on the side of `x` where it converges fast.
pub fn regularized_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_fraction(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_fraction(1.0 - x, b, a) / b
    }
}

/// The continued fraction of the incomplete beta function.
fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..10_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coldstart::Z_P99;

    fn assert_close(got: f64, expect: f64, rel: f64, what: &str) {
        let tol = rel * expect.abs().max(1e-300);
        assert!(
            (got - expect).abs() <= tol,
            "{what}: got {got}, expected {expect} (±{tol})"
        );
    }

    #[test]
    fn ln_gamma_matches_known_values() {
        for (x, g) in [
            (1.0, 1.0),
            (2.0, 1.0),
            (5.0, 24.0),
            (0.5, std::f64::consts::PI.sqrt()),
        ] {
            assert!((ln_gamma(x).exp() - g).abs() < 1e-12 * g, "Γ({x})");
        }
        assert!((ln_gamma(11.0) - 3_628_800f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn inverse_normal_cdf_matches_reference_values() {
        // Reference values: Python's statistics.NormalDist().inv_cdf.
        for (p, expect) in [
            (0.7, 0.524_400_512_708_040_7),
            (0.975, 1.959_963_984_540_053_6),
            (0.99, 2.326_347_874_040_840_8),
            (0.01, -2.326_347_874_040_840_8),
            (0.999_999, 4.753_424_308_817_089),
            (1e-10, -6.361_340_902_404_056),
            (1e-20, -9.262_340_089_798_405),
            (1e-300, -37.047_096_299_361_2),
        ] {
            assert_close(inverse_normal_cdf(p), expect, 1e-14, &format!("p={p}"));
        }
        assert!(inverse_normal_cdf(0.5).abs() < 1e-300);
        assert_close(inverse_normal_cdf(0.99), Z_P99, 1e-15, "Z_P99");
        // Out of range is clamped, never NaN or infinite.
        assert!(inverse_normal_cdf(0.0).is_finite() && inverse_normal_cdf(0.0) < -37.0);
        assert!(inverse_normal_cdf(1.0).is_finite() && inverse_normal_cdf(1.0) > 8.0);
        assert!(inverse_normal_cdf(f64::NAN).abs() < 1e-300);
    }

    #[test]
    fn t_quantiles_match_published_tables() {
        // Two-sided 95 % critical values, e.g. NIST/SEMATECH e-Handbook
        // table 1.3.6.7.2, to the digits printed there and beyond.
        for (df, t) in [
            (1.0, 12.706_204_736),
            (2.0, 4.302_652_730),
            (3.0, 3.182_446_305),
            (4.0, 2.776_445_105),
            (5.0, 2.570_581_836),
            (9.0, 2.262_157_163),
            (10.0, 2.228_138_852),
            (30.0, 2.042_272_456),
            (100.0, 1.983_971_519),
            (1000.0, 1.962_339_081),
        ] {
            let got = t_quantile(0.975, df);
            assert!((got - t).abs() < 1e-8, "df {df}: {got} vs {t}");
        }
        assert!((t_quantile(0.95, 10.0) - 1.812_461_123).abs() < 1e-8);
        assert!((t_quantile(0.025, 4.0) + 2.776_445_105).abs() < 1e-8);
    }
}
