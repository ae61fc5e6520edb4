//! A log-linear histogram of non-negative integers (latencies in ns): the
//! percentile sketch of the streaming summary.
//!
//! Values below [`EXACT_BELOW`] have a bucket each. Above, each power of two
//! `[2^m, 2^(m+1))` is cut into [`SUB_BUCKETS`] equal buckets, as
//! HdrHistogram does, so a bucket is at most `2^m / SUB_BUCKETS` wide while
//! every value in it is at least `2^m`. A bucket stands for its midpoint,
//! which is within half a bucket of every value in it: the value at any
//! rank is off by less than [`RELATIVE_ERROR`] (1/1024, about three
//! significant digits) of the true value, and a percentile interpolated
//! between two ranks is off by less than that too (a convex combination of
//! two values each within the bound).
//!
//! Why our own and not the `hdrhistogram` crate: the summary needs the
//! value at an exact rank (numpy-style interpolation between two ranks,
//! and percentile targets ranked among requests that did not complete),
//! which the crate's quantile query does not expose in that form; counts
//! and merges must be integer-exact and deterministic; and the whole thing
//! is a hundred lines with no dependency. Storage grows with the largest
//! value seen (about 9,000 buckets of 8 bytes for values up to a day in
//! ns), never with the number of values.

/// Sub-buckets per power of two above [`EXACT_BELOW`] (2^9).
pub const SUB_BUCKETS: u64 = 1 << SUB_BITS;
const SUB_BITS: u32 = 9;
/// Values below this have a bucket of their own (exact).
pub const EXACT_BELOW: u64 = SUB_BUCKETS << 1;
/// Bound on the relative error of a value read back at a rank:
/// `|estimate − true| < RELATIVE_ERROR × true`.
pub const RELATIVE_ERROR: f64 = 1.0 / (2 * SUB_BUCKETS) as f64;

/// Counts of values by log-linear bucket; mergeable, order-independent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogHistogram {
    /// Count per bucket index, grown to the largest index seen.
    counts: Vec<u64>,
    total: u64,
}

/// The bucket of `v`: `v` itself below [`EXACT_BELOW`]; above, with `m`
/// the position of the top bit and `shift = m − SUB_BITS`, the top
/// `SUB_BITS + 1` bits `sub` (in `[SUB_BUCKETS, 2·SUB_BUCKETS)`) placed
/// after the buckets of the smaller shifts: `shift·SUB_BUCKETS + sub`.
fn index_of(v: u64) -> usize {
    if v < EXACT_BELOW {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - SUB_BITS;
    (u64::from(shift) * SUB_BUCKETS + (v >> shift)) as usize
}

/// The smallest value of bucket `i` and its width.
fn bucket_of(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < EXACT_BELOW {
        return (i, 1);
    }
    let shift = i / SUB_BUCKETS - 1;
    let sub = i - shift * SUB_BUCKETS;
    (sub << shift, 1 << shift)
}

impl LogHistogram {
    /// Counts `v` once.
    pub fn add(&mut self, v: u64) {
        let i = index_of(v);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.total += 1;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &LogHistogram) {
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (c, o) in self.counts.iter_mut().zip(&other.counts) {
            *c += o;
        }
        self.total += other.total;
    }

    /// Values counted.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// No value counted.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The `k`-th smallest value (0-based) as its bucket's midpoint, exact
    /// below [`EXACT_BELOW`]; `None` when `k` is not below [`Self::len`].
    pub fn value_at_rank(&self, k: u64) -> Option<f64> {
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen > k {
                let (low, width) = bucket_of(i);
                return Some(low as f64 + (width - 1) as f64 / 2.0);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_tile_the_integers() {
        // Each bucket starts where the previous one ended.
        let mut next = 0u64;
        for i in 0..(40 * SUB_BUCKETS as usize) {
            let (low, width) = bucket_of(i);
            assert_eq!(low, next, "bucket {i}");
            assert_eq!(index_of(low), i);
            assert_eq!(index_of(low + width - 1), i);
            next = low + width;
        }
        assert_eq!(index_of(u64::MAX), bucket_index_limit() - 1);
    }

    fn bucket_index_limit() -> usize {
        (64 - SUB_BITS as usize + 1) * SUB_BUCKETS as usize
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = LogHistogram::default();
        for v in [5, 0, 1023, 7] {
            h.add(v);
        }
        let got: Vec<_> = (0..5).map(|k| h.value_at_rank(k)).collect();
        assert_eq!(
            got,
            vec![Some(0.0), Some(5.0), Some(7.0), Some(1023.0), None]
        );
    }

    proptest! {
        #[test]
        fn every_rank_is_within_the_bound(
            mut values in proptest::collection::vec(0u64..u64::MAX / 2, 1..200),
        ) {
            let mut h = LogHistogram::default();
            for &v in &values {
                h.add(v);
            }
            values.sort_unstable();
            for (k, &v) in values.iter().enumerate() {
                let got = h.value_at_rank(k as u64).unwrap();
                prop_assert!((got - v as f64).abs() <= RELATIVE_ERROR * v as f64,
                    "rank {} value {} read {}", k, v, got);
            }
        }

        #[test]
        fn merging_equals_adding_all(
            a in proptest::collection::vec(0u64..1 << 40, 0..100),
            b in proptest::collection::vec(0u64..1 << 40, 0..100),
        ) {
            let (mut ha, mut hb, mut all) =
                (LogHistogram::default(), LogHistogram::default(), LogHistogram::default());
            a.iter().for_each(|&v| { ha.add(v); all.add(v) });
            b.iter().for_each(|&v| { hb.add(v); all.add(v) });
            ha.merge(&hb);
            prop_assert_eq!(ha.len(), all.len());
            for k in 0..all.len() {
                prop_assert_eq!(ha.value_at_rank(k), all.value_at_rank(k));
            }
        }
    }
}
