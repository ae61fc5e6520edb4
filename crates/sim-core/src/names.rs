//! Names a request carries — its priority class, its deployment — resolved
//! against the configured ones, or drawn from a weighted mix when the
//! request names none. One mechanism for both, so a trace column and a
//! scenario's `share`s mean the same thing everywhere.

use crate::rng::{self, StreamRng};

/// Why a request's name could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The request names something the scenario does not configure.
    Unknown {
        /// The name the request carries.
        name: String,
        /// The configured names.
        configured: Vec<String>,
    },
    /// The request names nothing, and no configured entry has a positive
    /// share to draw one from.
    Missing,
}

/// Configured names with their mix weights.
#[derive(Debug)]
pub struct NameMix {
    names: Vec<Box<str>>,
    cumulative: Vec<f64>,
    /// With one choice or none, names are not checked: everything is 0.
    trivial: bool,
    rng: StreamRng,
}

impl NameMix {
    /// `entries` are `(name, share)` in index order; draws come from the
    /// stream `(stream, 0)` of `seed`, one per request that names nothing,
    /// in arrival order. With `check_single` false, a single entry takes
    /// every request whatever it names (one deployment serves a trace with
    /// any model column); with it true, only an empty list does (a class
    /// name must match the one class configured).
    pub fn new<'a>(
        entries: impl IntoIterator<Item = (&'a str, f64)>,
        seed: u64,
        stream: &str,
        check_single: bool,
    ) -> Self {
        let (names, shares): (Vec<Box<str>>, Vec<f64>) = (entries.into_iter())
            .map(|(name, share)| (name.into(), share.max(0.0)))
            .unzip();
        // Shares are weights: only their ratios matter. Summed as given
        // unless the sum overflows (two shares of 1e308), which would send
        // every draw to one entry; then each is first divided by the
        // largest, so the sum is at most the number of entries.
        let running = |scale: f64| {
            (shares.iter())
                .scan(0.0, |total, s| {
                    *total += s / scale;
                    Some(*total)
                })
                .collect::<Vec<f64>>()
        };
        let mut cumulative = running(1.0);
        if cumulative.last().is_some_and(|t| t.is_infinite()) {
            let largest = shares.iter().copied().fold(0.0, f64::max);
            cumulative = running(largest);
        }
        let trivial = names.is_empty() || (names.len() == 1 && !check_single);
        NameMix {
            names,
            cumulative,
            trivial,
            rng: rng::stream(seed, stream, 0),
        }
    }

    /// The index of `name`, or a draw from the mix when `name` is `None`.
    pub fn pick(&mut self, name: Option<&str>) -> Result<u32, NameError> {
        if self.trivial {
            return Ok(0);
        }
        if let Some(name) = name {
            return self
                .names
                .iter()
                .position(|n| &**n == name)
                .map(|i| i as u32)
                .ok_or_else(|| NameError::Unknown {
                    name: name.to_string(),
                    configured: self.names.iter().map(|n| n.to_string()).collect(),
                });
        }
        let total = *self.cumulative.last().unwrap_or(&0.0);
        if total <= 0.0 || total.is_nan() {
            return Err(NameError::Missing);
        }
        let u = rng::open_unit(&mut self.rng) * total;
        let i = self.cumulative.partition_point(|&c| c <= u);
        Ok(i.min(self.names.len() - 1) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix(entries: &[(&str, f64)], check_single: bool) -> NameMix {
        NameMix::new(
            entries.iter().copied(),
            7,
            "workload.test_mix",
            check_single,
        )
    }

    /// `(configured, check_single, name) -> expected`.
    fn check(
        entries: &[(&str, f64)],
        check_single: bool,
        name: Option<&str>,
        expect: Result<u32, NameError>,
    ) {
        assert_eq!(
            mix(entries, check_single).pick(name),
            expect,
            "{entries:?} {name:?}"
        );
    }

    fn unknown(name: &str, configured: &[&str]) -> Result<u32, NameError> {
        Err(NameError::Unknown {
            name: name.into(),
            configured: configured.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn names_resolve_by_position() {
        check(&[("paid", 0.0), ("free", 0.0)], true, Some("free"), Ok(1));
        check(&[("paid", 0.0), ("free", 0.0)], true, Some("paid"), Ok(0));
        check(
            &[("paid", 0.0), ("free", 0.0)],
            true,
            Some("gold"),
            unknown("gold", &["paid", "free"]),
        );
        check(
            &[("paid", 0.0), ("free", 0.0)],
            true,
            None,
            Err(NameError::Missing),
        );
        check(
            &[("paid", 0.0)],
            true,
            Some("gold"),
            unknown("gold", &["paid"]),
        );
    }

    #[test]
    fn huge_shares_split_by_their_ratio() {
        // Two shares of 1e308 sum past the largest float: each must still
        // take about half, not all or nothing.
        for entries in [
            [("a", 1e308), ("b", 1e308)],
            [("a", f64::MAX), ("b", f64::MAX)],
            [("a", 1e-320), ("b", 1e-320)],
        ] {
            let mut m = mix(&entries, true);
            let firsts = (0..1000).filter(|_| m.pick(None) == Ok(0)).count();
            assert!(
                (400..600).contains(&firsts),
                "{entries:?}: {firsts} of 1000"
            );
        }
        let mut m = mix(&[("a", f64::MAX), ("b", f64::MAX / 3.0)], true);
        let firsts = (0..1000).filter(|_| m.pick(None) == Ok(0)).count();
        assert!((700..800).contains(&firsts), "3:1 gave {firsts} of 1000");
    }

    #[test]
    fn trivial_mixes_take_everything() {
        check(&[], true, Some("anything"), Ok(0));
        check(&[], false, None, Ok(0));
        check(&[("llama", 0.0)], false, Some("mistral"), Ok(0));
        check(&[("llama", 0.0)], false, None, Ok(0));
    }

    #[test]
    fn draws_follow_the_shares_and_skip_zero_shares() {
        let mut x = mix(&[("a", 1.0), ("never", 0.0), ("b", 3.0)], true);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[x.pick(None).unwrap() as usize] += 1;
        }
        assert_eq!(counts[1], 0);
        let share_b = f64::from(counts[2]) / 40_000.0;
        // Binomial sd at p = 0.75, n = 40 000 is 0.0022; 5 sd.
        assert!((share_b - 0.75).abs() < 0.011, "{share_b}");
        let (mut y, mut z) = (
            mix(&[("a", 1.0), ("b", 1.0)], true),
            mix(&[("a", 1.0), ("b", 1.0)], true),
        );
        for _ in 0..100 {
            assert_eq!(y.pick(None), z.pick(None));
        }
    }
}
