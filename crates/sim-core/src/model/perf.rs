//! The `PerfModel` trait: how long one engine iteration takes.
//!
//! Two kinds of iteration exist. A *mixed* step carries at least one prefill
//! chunk; it is always simulated as its own event, so its duration may come
//! from any formula. A *pure-decode* step advances every running sequence by
//! one token; a replica in steady decode jumps over many of them at once, so
//! their durations must be summable in closed form. That is why a model
//! describes pure-decode steps as a [`DecodeCurve`]: integer, piecewise-linear
//! in the batch's total context, which makes the sum over any run of steps
//! exact (see [`DecodeCurve::sum_steps`]) and so identical to stepping one
//! iteration at a time.

use crate::time::SimDuration;
use std::fmt::Debug;

/// Fixed-point fraction bits of [`DecodeCurve`] coefficients: values are in
/// units of 2⁻²⁴ ns, fine enough that rounding never shows in reported
/// latencies, coarse enough that a 1,000 s step still fits in `u64`.
pub const CURVE_FRACTION_BITS: u32 = 24;
const CURVE_ONE: u128 = 1 << CURVE_FRACTION_BITS;

/// One prefill chunk in a mixed step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefillChunk {
    /// Prompt tokens computed in this step.
    pub new_tokens: u32,
    /// Tokens of the sequence already in the KV cache before this chunk.
    pub cached_tokens: u32,
}

/// Duration of engine iterations for one replica (one deployment on one
/// GPU type and tensor-parallel degree).
pub trait PerfModel: Debug + Send + Sync {
    /// The pure-decode step time for `batch_size` sequences, as a function
    /// of the batch's total context (sum over sequences of the tokens each
    /// attends to, including the one being generated).
    fn decode_curve(&self, batch_size: u32) -> DecodeCurve;

    /// Duration of a step that carries prefill chunks, alongside
    /// `decode_seqs` decoding sequences with `decode_context_tokens` total
    /// context.
    fn mixed_step(
        &self,
        decode_seqs: u32,
        decode_context_tokens: u64,
        prefill: &[PrefillChunk],
    ) -> SimDuration;
}

/// One linear piece of a [`DecodeCurve`], valid from `from_context` up to
/// the next piece's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurvePiece {
    /// First total-context value the piece covers.
    pub from_context: u64,
    /// Step time at `from_context`, in 2⁻²⁴ ns.
    pub at_start_fp: u64,
    /// Increase of step time per context token, in 2⁻²⁴ ns.
    pub per_token_fp: u64,
}

/// Pure-decode step time as a non-decreasing piecewise-linear function of
/// total context, with fixed-point coefficients. The step time is the
/// floor of the curve's value in nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeCurve {
    pieces: Vec<CurvePiece>,
}

impl DecodeCurve {
    /// Builds a curve. Pieces must start at context 0 with a step of at
    /// least 1 ns and be sorted by `from_context`; returns `None` otherwise.
    pub fn new(pieces: Vec<CurvePiece>) -> Option<Self> {
        let first = pieces.first()?;
        if first.from_context != 0 || u128::from(first.at_start_fp) < CURVE_ONE {
            return None;
        }
        if pieces
            .windows(2)
            .any(|w| w[0].from_context >= w[1].from_context)
        {
            return None;
        }
        Some(DecodeCurve { pieces })
    }

    /// A single line `at_zero + per_token × context`, both in seconds.
    /// Negative or non-finite coefficients are clamped to zero and the step
    /// at context 0 to at least 1 ns (a zero-length iteration would stall
    /// simulated time); callers validate their inputs before building curves.
    pub fn linear_secs(at_zero_s: f64, per_token_s: f64) -> Self {
        DecodeCurve::from_fp_line(
            u128::from(secs_to_fp(at_zero_s)),
            u128::from(secs_to_fp(per_token_s)),
        )
    }

    /// The upper envelope `max(a, b)` of two lines given in seconds
    /// (`at_zero`, `per_token`): the roofline's compute and memory bounds.
    /// The step at context 0 is at least 1 ns, as in [`DecodeCurve::linear_secs`].
    pub fn max_of_lines_secs(a: (f64, f64), b: (f64, f64)) -> Self {
        let line = |(at0, per): (f64, f64)| {
            (
                u128::from(secs_to_fp(at0)).max(CURVE_ONE),
                u128::from(secs_to_fp(per)),
            )
        };
        let (a0, a1) = line(a);
        let (b0, b1) = line(b);
        // Order so that `lo` is the larger at context 0.
        let ((lo0, lo1), (hi0, hi1)) = if a0 >= b0 {
            ((a0, a1), (b0, b1))
        } else {
            ((b0, b1), (a0, a1))
        };
        if hi1 <= lo1 {
            return DecodeCurve::from_fp_line(lo0, lo1);
        }
        // First integer context where the steeper line is at least the other.
        let cross = (lo0 - hi0).div_ceil(hi1 - lo1);
        if cross == 0 {
            return DecodeCurve::from_fp_line(hi0, hi1);
        }
        let Ok(cross) = u64::try_from(cross) else {
            return DecodeCurve::from_fp_line(lo0, lo1);
        };
        let at_cross = hi0 + hi1 * u128::from(cross);
        DecodeCurve {
            pieces: vec![
                CurvePiece {
                    from_context: 0,
                    at_start_fp: clamp_u64(lo0),
                    per_token_fp: clamp_u64(lo1),
                },
                CurvePiece {
                    from_context: cross,
                    at_start_fp: clamp_u64(at_cross),
                    per_token_fp: clamp_u64(hi1),
                },
            ],
        }
    }

    fn from_fp_line(at0: u128, per: u128) -> Self {
        let at0 = at0.max(CURVE_ONE);
        DecodeCurve {
            pieces: vec![CurvePiece {
                from_context: 0,
                at_start_fp: clamp_u64(at0),
                per_token_fp: clamp_u64(per),
            }],
        }
    }

    /// The curve's pieces.
    pub fn pieces(&self) -> &[CurvePiece] {
        &self.pieces
    }

    fn piece_index(&self, context: u64) -> usize {
        self.pieces
            .partition_point(|p| p.from_context <= context)
            .saturating_sub(1)
    }

    /// Duration of one pure-decode step at `context` total tokens.
    pub fn step(&self, context: u64) -> SimDuration {
        let p = &self.pieces[self.piece_index(context)];
        let value = u128::from(p.at_start_fp)
            + u128::from(p.per_token_fp) * u128::from(context - p.from_context);
        SimDuration(clamp_u64(value >> CURVE_FRACTION_BITS))
    }

    /// Total duration of `steps` consecutive pure-decode steps whose context
    /// starts at `context0` and grows by `growth` per step (the batch size):
    /// exactly `Σ_{k<steps} step(context0 + growth·k)`, in O(pieces · log).
    pub fn sum_steps(&self, context0: u64, growth: u64, steps: u64) -> SimDuration {
        let mut total: u128 = 0;
        let mut k0: u64 = 0;
        let mut idx = self.piece_index(context0);
        while k0 < steps {
            let p = &self.pieces[idx];
            // Steps k0.. stay on this piece until the context reaches the next piece.
            let k_end = match self.pieces.get(idx + 1) {
                Some(next) if growth > 0 => {
                    let ctx_k0 = context0 + growth * k0;
                    let k_next = k0 + (next.from_context - ctx_k0).div_ceil(growth);
                    k_next.min(steps)
                }
                _ => steps,
            };
            let n = k_end - k0;
            let x0 = u128::from(context0 + growth * k0 - p.from_context);
            let b = u128::from(p.at_start_fp) + u128::from(p.per_token_fp) * x0;
            let a = u128::from(p.per_token_fp) * u128::from(growth);
            total += floor_sum(u128::from(n), CURVE_ONE, a, b);
            k0 = k_end;
            idx += 1;
        }
        SimDuration(clamp_u64(total))
    }

    /// The number of whole steps `m ≥ 1` after which the elapsed time first
    /// reaches `elapsed`, capped at `max_steps`: the step boundary at or
    /// after a given instant. Binary search over exact prefix sums.
    ///
    /// Steps never shrink as the context grows, so every step of the run
    /// lies between the first and the last, and `m` lies between
    /// `⌈elapsed / last⌉` and `⌈elapsed / first⌉`: the search starts from
    /// that bracket (a few steps wide) instead of `1..=max_steps`.
    pub fn steps_to_reach(
        &self,
        context0: u64,
        growth: u64,
        max_steps: u64,
        elapsed: SimDuration,
    ) -> u64 {
        let max_steps = max_steps.max(1);
        let first = self.step(context0).0.max(1);
        let last = self
            .step(context0.saturating_add(growth.saturating_mul(max_steps - 1)))
            .0
            .max(first);
        let at_least = elapsed.0.div_ceil(last).clamp(1, max_steps);
        let at_most = elapsed.0.div_ceil(first).clamp(at_least, max_steps);
        let (mut lo, mut hi) = (at_least, at_most);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.sum_steps(context0, growth, mid) >= elapsed {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }
}

/// `Σ_{i=0}^{n-1} ⌊(a·i + b) / m⌋` in O(log) (the classic floor-sum recursion).
///
/// As soon as the operands fit in `u64` (for decode curves, from the
/// start), the recursion continues in `floor_sum_u64`: `u128` division
/// is a library call an order of magnitude slower than the `u64` one, and
/// this is the innermost loop of every decode jump and arrival cut.
pub fn floor_sum(mut n: u128, mut m: u128, mut a: u128, mut b: u128) -> u128 {
    let mut ans: u128 = 0;
    loop {
        if n == 0 {
            return ans;
        }
        if let (Ok(n64), Ok(m64), Ok(a64), Ok(b64)) = (
            u64::try_from(n),
            u64::try_from(m),
            u64::try_from(a),
            u64::try_from(b),
        ) {
            if n64
                .checked_add(1)
                .and_then(|n1| n1.checked_mul(m64))
                .is_some()
            {
                return ans + floor_sum_u64(n64, m64, a64, b64);
            }
        }
        if a >= m {
            ans += n * (n - 1) / 2 * (a / m);
            a %= m;
        }
        if b >= m {
            ans += n * (b / m);
            b %= m;
        }
        let y_max = a * n + b;
        if y_max < m {
            return ans;
        }
        n = y_max / m;
        b = y_max % m;
        std::mem::swap(&mut m, &mut a);
    }
}

/// [`floor_sum`] with `u64` operands, for `(n + 1)·m < 2⁶⁴` and `m > 0`.
///
/// The same recursion step for step: after reducing `a` and `b` modulo
/// `m`, `a·n + b < m·(n + 1)` fits, and each step replaces `(n, m)` by
/// `(n', a)` with `n' ≤ n` and `a < m`, so the bound keeps holding. The
/// partial sums can exceed `u64` and are accumulated in `u128`.
fn floor_sum_u64(mut n: u64, mut m: u64, mut a: u64, mut b: u64) -> u128 {
    let mut ans: u128 = 0;
    loop {
        if n == 0 {
            return ans;
        }
        if a >= m {
            let n = u128::from(n);
            ans += n * (n - 1) / 2 * u128::from(a / m);
            a %= m;
        }
        if b >= m {
            ans += u128::from(n) * u128::from(b / m);
            b %= m;
        }
        let y_max = a * n + b;
        if y_max < m {
            return ans;
        }
        n = y_max / m;
        b = y_max % m;
        std::mem::swap(&mut m, &mut a);
    }
}

fn secs_to_fp(secs: f64) -> u64 {
    if !secs.is_finite() || secs <= 0.0 {
        return 0;
    }
    let fp = secs * 1e9 * CURVE_ONE as f64;
    if fp >= u64::MAX as f64 {
        u64::MAX
    } else {
        fp.round() as u64
    }
}

fn clamp_u64(x: u128) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(curve: &DecodeCurve, c0: u64, g: u64, n: u64) -> u64 {
        (0..n).map(|k| curve.step(c0 + g * k).0).sum()
    }

    /// The `u128`-only recursion `floor_sum` was before its `u64` fast path.
    fn floor_sum_u128_reference(mut n: u128, mut m: u128, mut a: u128, mut b: u128) -> u128 {
        let mut ans: u128 = 0;
        loop {
            if n == 0 {
                return ans;
            }
            if a >= m {
                ans += n * (n - 1) / 2 * (a / m);
                a %= m;
            }
            if b >= m {
                ans += n * (b / m);
                b %= m;
            }
            let y_max = a * n + b;
            if y_max < m {
                return ans;
            }
            n = y_max / m;
            b = y_max % m;
            std::mem::swap(&mut m, &mut a);
        }
    }

    #[test]
    fn floor_sum_small_cases() {
        let brute =
            |n: u128, m: u128, a: u128, b: u128| (0..n).map(|i| (a * i + b) / m).sum::<u128>();
        for (n, m, a, b) in [
            (0, 3, 1, 1),
            (5, 3, 1, 1),
            (10, 7, 13, 5),
            (1, 1, 0, 0),
            (100, 1 << 24, 123_456_789, 987_654_321),
        ] {
            assert_eq!(floor_sum(n, m, a, b), brute(n, m, a, b), "{n} {m} {a} {b}");
        }
    }

    #[test]
    fn max_of_lines_switches_at_the_crossing() {
        // 1 ms flat vs 0 + 1 µs per token: crossing at 1,000 tokens.
        let c = DecodeCurve::max_of_lines_secs((1e-3, 0.0), (0.0, 1e-6));
        assert_eq!(c.pieces().len(), 2);
        assert_eq!(c.step(0).0, 1_000_000);
        assert_eq!(c.step(999).0, 1_000_000);
        assert_eq!(
            c.step(2_000).0,
            2_000_001,
            "1 ns floor at context 0 plus 1 µs per token"
        );
    }

    #[test]
    fn dominated_line_gives_one_piece() {
        let c = DecodeCurve::max_of_lines_secs((1e-3, 2e-6), (0.5e-3, 1e-6));
        assert_eq!(c.pieces().len(), 1);
        assert_eq!(c.step(1000).0, 3_000_000);
    }

    #[test]
    fn steps_to_reach_finds_the_boundary_at_or_after() {
        let c = DecodeCurve::linear_secs(1e-3, 0.0); // 1 ms steps
        assert_eq!(c.steps_to_reach(0, 1, 100, SimDuration(1)), 1);
        assert_eq!(c.steps_to_reach(0, 1, 100, SimDuration(1_000_000)), 1);
        assert_eq!(c.steps_to_reach(0, 1, 100, SimDuration(1_000_001)), 2);
        assert_eq!(
            c.steps_to_reach(0, 1, 100, SimDuration(10_000_000_000)),
            100
        );
    }

    #[test]
    fn floor_sum_at_the_u64_boundary() {
        let big = u128::from(u64::MAX);
        for (n, m, a, b) in [
            (1, 1, big, big),
            (3, 1 << 62, big, big),
            ((1 << 40) - 1, 1 << 24, big, 12_345),
            (1 << 40, 1 << 24, (1 << 24) - 1, (1 << 24) - 1),
            (5, big, big - 1, big),
            (1 << 20, 1 << 30, 1 << 63, big + 1),
        ] {
            assert_eq!(
                floor_sum(n, m, a, b),
                floor_sum_u128_reference(n, m, a, b),
                "{n} {m} {a} {b}"
            );
        }
    }

    /// `steps_to_reach` as it was: binary search over all of `1..=max_steps`.
    fn steps_to_reach_full_search(
        curve: &DecodeCurve,
        context0: u64,
        growth: u64,
        max_steps: u64,
        elapsed: SimDuration,
    ) -> u64 {
        let (mut lo, mut hi) = (1u64, max_steps.max(1));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if curve.sum_steps(context0, growth, mid) >= elapsed {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }

    proptest! {
        #[test]
        fn steps_to_reach_equals_the_full_search(
            a0 in 0.0f64..0.05, a1 in 0.0f64..1e-6, b0 in 0.0f64..0.05, b1 in 0.0f64..1e-6,
            c0 in 0u64..200_000, g in 0u64..512, max in 0u64..3_000, frac in 0.0f64..1.2,
        ) {
            let curve = DecodeCurve::max_of_lines_secs((a0, a1), (b0, b1));
            let total = curve.sum_steps(c0, g, max.max(1)).0;
            let elapsed = SimDuration((total as f64 * frac) as u64);
            prop_assert_eq!(
                curve.steps_to_reach(c0, g, max, elapsed),
                steps_to_reach_full_search(&curve, c0, g, max, elapsed)
            );
        }

        #[test]
        fn floor_sum_equals_the_u128_recursion(
            // Ranges keep the true sum within u128 (about 2^115 at most).
            n in 0u128..(1 << 32), m in (1u128 << 20)..(1 << 70), a in 0u128..(1 << 72), b in 0u128..(1 << 72),
        ) {
            prop_assert_eq!(floor_sum(n, m, a, b), floor_sum_u128_reference(n, m, a, b));
        }

        #[test]
        fn floor_sum_equals_the_u128_recursion_on_curve_scales(
            n in 0u128..100_000, a in 0u128..(1 << 50), b in 0u128..(1 << 60),
        ) {
            prop_assert_eq!(
                floor_sum(n, CURVE_ONE, a, b),
                floor_sum_u128_reference(n, CURVE_ONE, a, b)
            );
        }

        #[test]
        fn closed_form_sum_equals_stepping(
            a0 in 0.0f64..0.05, a1 in 0.0f64..1e-6, b0 in 0.0f64..0.05, b1 in 0.0f64..1e-6,
            c0 in 0u64..200_000, g in 0u64..512, n in 0u64..3_000,
        ) {
            let curve = DecodeCurve::max_of_lines_secs((a0, a1), (b0, b1));
            prop_assert_eq!(curve.sum_steps(c0, g, n).0, naive(&curve, c0, g, n));
        }
    }
}
