//! What a sweep varies: `--grid` lists, `--range` intervals sampled
//! `--random N` times, and the seeds; enumerated into numbered
//! configurations and split into shards.

use super::SweepError;
use fleetsim_core::rng;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One knob as given on the command line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Knob {
    /// `--grid key=v1,v2,...`: every value, in order.
    Grid {
        /// Dotted scenario key, as `--set` takes it.
        key: String,
        /// Values in `--set` syntax (TOML values; bare words are strings).
        values: Vec<String>,
    },
    /// `--range key=lo..hi`: a uniform draw per random configuration,
    /// integer when both ends are integers, float otherwise.
    Range {
        /// Dotted scenario key.
        key: String,
        /// Lower end, inclusive.
        lo: Bound,
        /// Upper end, inclusive.
        hi: Bound,
    },
}

/// One end of a `--range`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Bound {
    /// An integer knob (`deployment.replicas=1..8`).
    Int(i64),
    /// A real-valued knob (`scaling.target=0.5..2.5`).
    Float(f64),
}

impl Knob {
    /// The scenario key it sets.
    pub fn key(&self) -> &str {
        match self {
            Knob::Grid { key, .. } | Knob::Range { key, .. } => key,
        }
    }

    /// Parses `--grid key=v1,v2,...`. Commas inside brackets, braces or
    /// quotes do not split (`--grid 'deployment.x=[1,2],[3,4]'`).
    pub fn parse_grid(arg: &str) -> Result<Knob, SweepError> {
        let (key, list) = split_key(arg, "--grid", "deployment.replicas=2,4,8")?;
        let values: Vec<String> = split_top_level(list)
            .into_iter()
            .map(|v| v.trim().to_string())
            .collect();
        if values.iter().all(String::is_empty) {
            return Err(SweepError::Knob {
                flag: format!("--grid {arg}"),
                message: "the grid is empty: give at least one value, e.g. key=2,4,8".into(),
            });
        }
        if let Some(i) = values.iter().position(String::is_empty) {
            return Err(SweepError::Knob {
                flag: format!("--grid {arg}"),
                message: format!("value {} is empty (two commas in a row?)", i + 1),
            });
        }
        Ok(Knob::Grid { key, values })
    }

    /// Parses `--range key=lo..hi`.
    pub fn parse_range(arg: &str) -> Result<Knob, SweepError> {
        let (key, range) = split_key(arg, "--range", "deployment.replicas=1..8")?;
        let flag = || format!("--range {arg}");
        let Some((lo, hi)) = range.split_once("..") else {
            return Err(SweepError::Knob {
                flag: flag(),
                message: "expected lo..hi, e.g. 1..8 or 0.5..2.5".into(),
            });
        };
        let bound = |text: &str, end: &str| -> Result<Bound, SweepError> {
            let text = text.trim();
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Bound::Int(i));
            }
            match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Bound::Float(x)),
                _ => Err(SweepError::Knob {
                    flag: flag(),
                    message: format!("the {end} end {text:?} is not a finite number"),
                }),
            }
        };
        let (lo, hi) = (bound(lo, "lower")?, bound(hi, "upper")?);
        if lo.as_f64() > hi.as_f64() {
            return Err(SweepError::Knob {
                flag: flag(),
                message: format!(
                    "lo > hi ({} > {}): write the lower end first",
                    lo.as_f64(),
                    hi.as_f64()
                ),
            });
        }
        Ok(Knob::Range { key, lo, hi })
    }
}

impl Bound {
    fn as_f64(self) -> f64 {
        match self {
            Bound::Int(i) => i as f64,
            Bound::Float(x) => x,
        }
    }
}

/// `key=rest`, with the key checked.
fn split_key<'a>(arg: &'a str, flag: &str, example: &str) -> Result<(String, &'a str), SweepError> {
    let Some((key, rest)) = arg.split_once('=') else {
        return Err(SweepError::Knob {
            flag: format!("{flag} {arg}"),
            message: format!("expected KEY=VALUES, e.g. {flag} {example}"),
        });
    };
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|p| p.trim().is_empty()) {
        return Err(SweepError::Knob {
            flag: format!("{flag} {arg}"),
            message: format!("{key:?} is not a dotted scenario key like deployment.replicas"),
        });
    }
    if key == "seed" {
        return Err(SweepError::Knob {
            flag: format!("{flag} {arg}"),
            message: "the seed is not a knob: use --seeds K to run every configuration on K seeds"
                .into(),
        });
    }
    Ok((key.to_string(), rest))
}

/// Splits on commas outside `[]`, `{}` and quotes.
fn split_top_level(list: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    for (i, c) in list.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[start..]);
    parts
}

/// What to sweep, as resolved from the command line. It is recorded in the
/// output directory (`sweep.json`) so `--resume` and `merge` can tell
/// whether results belong to the same sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    /// Grid knobs (cartesian product, first knob slowest) and range knobs.
    pub knobs: Vec<Knob>,
    /// Random configurations drawn from the range knobs (`--random N`);
    /// each is combined with every grid point.
    pub random: Option<u32>,
    /// Seed of the stream the random configurations are drawn from.
    pub sample_seed: u64,
    /// Seeds per configuration (`--seeds K`): base, base + 1, ...
    pub seeds: u32,
}

/// A configuration: the knob assignments, in knob order.
#[derive(Clone, Debug, PartialEq)]
pub struct Configuration {
    /// Position in the sweep's enumeration (stable across runs and shards).
    pub index: usize,
    /// `(key, value)` in `--set` syntax.
    pub values: Vec<(String, String)>,
}

impl Configuration {
    /// The `--set` arguments that make a scenario this configuration.
    pub fn sets(&self) -> impl Iterator<Item = String> + '_ {
        self.values.iter().map(|(k, v)| format!("{k}={v}"))
    }
}

/// Most configurations one sweep enumerates (a guard against a typo'd
/// grid that would run for days).
pub const MAX_CONFIGURATIONS: usize = 10_000_000;

impl SweepSpec {
    /// Checks the combination of flags.
    pub fn validate(&self) -> Result<(), SweepError> {
        let mut seen: Vec<&str> = Vec::new();
        for k in &self.knobs {
            if seen.contains(&k.key()) {
                return Err(SweepError::Knob {
                    flag: k.key().to_string(),
                    message: "the key is swept twice".into(),
                });
            }
            seen.push(k.key());
        }
        let ranges = self
            .knobs
            .iter()
            .filter(|k| matches!(k, Knob::Range { .. }))
            .count();
        match (self.random, ranges) {
            (None, r) if r > 0 => Err(SweepError::Knob {
                flag: "--range".into(),
                message: "ranges are sampled: add --random N (how many configurations to draw)"
                    .into(),
            }),
            (Some(_), 0) => Err(SweepError::Knob {
                flag: "--random".into(),
                message: "nothing to sample: add --range key=lo..hi".into(),
            }),
            (Some(0), _) => Err(SweepError::Knob {
                flag: "--random 0".into(),
                message: "draw at least one configuration".into(),
            }),
            _ if self.seeds == 0 => Err(SweepError::Knob {
                flag: "--seeds 0".into(),
                message: "run at least one seed".into(),
            }),
            _ => Ok(()),
        }
    }

    /// Every configuration, numbered: the grid's cartesian product (first
    /// knob varies slowest), each point combined with the `--random`
    /// draws. Draws come from one named stream of `sample_seed`, so the
    /// enumeration is the same on every machine and every shard.
    pub fn configurations(&self) -> Result<Vec<Configuration>, SweepError> {
        self.validate()?;
        let grid: Vec<(&str, &[String])> = (self.knobs.iter())
            .filter_map(|k| match k {
                Knob::Grid { key, values } => Some((key.as_str(), values.as_slice())),
                Knob::Range { .. } => None,
            })
            .collect();
        let ranges: Vec<(&str, Bound, Bound)> = (self.knobs.iter())
            .filter_map(|k| match k {
                Knob::Range { key, lo, hi } => Some((key.as_str(), *lo, *hi)),
                Knob::Grid { .. } => None,
            })
            .collect();
        let draws = self.random.unwrap_or(1) as usize;
        let total = grid
            .iter()
            .try_fold(draws, |n, (_, v)| n.checked_mul(v.len()))
            .filter(|&n| n <= MAX_CONFIGURATIONS)
            .ok_or_else(|| SweepError::Knob {
                flag: "--grid".into(),
                message: format!("more than {MAX_CONFIGURATIONS} configurations"),
            })?;
        let mut sampler = rng::stream(self.sample_seed, "sweep.random", 0);
        let samples: Vec<Vec<(String, String)>> = (0..draws)
            .map(|_| {
                (ranges.iter())
                    .map(|&(key, lo, hi)| (key.to_string(), draw(&mut sampler, lo, hi)))
                    .collect()
            })
            .collect();
        let mut out = Vec::with_capacity(total);
        for index in 0..total {
            // Mixed radix: the last grid knob varies fastest, then the draw.
            let mut rest = index / draws;
            let mut values: Vec<(String, String)> =
                vec![(String::new(), String::new()); grid.len()];
            for (slot, (key, list)) in values.iter_mut().zip(&grid).rev() {
                *slot = (key.to_string(), list[rest % list.len()].clone());
                rest /= list.len();
            }
            values.extend(samples[index % draws].iter().cloned());
            out.push(Configuration { index, values });
        }
        Ok(out)
    }
}

/// A uniform value in `[lo, hi]` as `--set` text: an integer when both
/// ends are integers; otherwise a float that always reads back as a float.
fn draw(rng: &mut rng::StreamRng, lo: Bound, hi: Bound) -> String {
    match (lo, hi) {
        (Bound::Int(lo), Bound::Int(hi)) => rng.random_range(lo..=hi).to_string(),
        (lo, hi) => {
            let (lo, hi) = (lo.as_f64(), hi.as_f64());
            let x = if hi > lo {
                rng.random_range(lo..=hi)
            } else {
                lo
            };
            let text = x.to_string();
            if text.contains(['.', 'e', 'E']) {
                text
            } else {
                format!("{text}.0")
            }
        }
    }
}

/// `--shard i/n`: the configurations with `index % n == i`. Round robin
/// rather than blocks, so neighbouring (often similarly slow) grid points
/// spread over the shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based shard index (a Kubernetes Indexed Job's completion index).
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Shard {
    /// Parses `i/n`.
    pub fn parse(arg: &str) -> Result<Shard, SweepError> {
        let err = |message: String| SweepError::Knob {
            flag: format!("--shard {arg}"),
            message,
        };
        let Some((i, n)) = arg.split_once('/') else {
            return Err(err(
                "expected INDEX/COUNT, e.g. 0/8 (indices count from 0)".into()
            ));
        };
        let parse = |t: &str, what: &str| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| err(format!("the {what} {t:?} is not a whole number")))
        };
        let (index, count) = (parse(i, "index")?, parse(n, "count")?);
        if count == 0 {
            return Err(err("the count must be at least 1".into()));
        }
        if index >= count {
            return Err(err(format!(
                "index {index} is out of range: shards of {count} are numbered 0 to {}",
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }

    /// Whether configuration `index` belongs to this shard.
    pub fn contains(&self, index: usize) -> bool {
        index % self.count as usize == self.index as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(args: &[&str]) -> SweepSpec {
        SweepSpec {
            knobs: args.iter().map(|a| Knob::parse_grid(a).unwrap()).collect(),
            random: None,
            sample_seed: 1,
            seeds: 1,
        }
    }

    fn check_grid(args: &[&str], expect: &[&str]) {
        let configs = grid(args).configurations().unwrap();
        let got: Vec<String> = configs
            .iter()
            .map(|c| c.sets().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(got, expect);
        assert!(configs.iter().enumerate().all(|(i, c)| c.index == i));
    }

    #[test]
    fn grids_are_cartesian_with_the_first_knob_slowest() {
        check_grid(&["a=1,2"], &["a=1", "a=2"]);
        check_grid(
            &["a=1,2", "b.c=x,y,z"],
            &[
                "a=1 b.c=x",
                "a=1 b.c=y",
                "a=1 b.c=z",
                "a=2 b.c=x",
                "a=2 b.c=y",
                "a=2 b.c=z",
            ],
        );
        check_grid(&[], &[""]);
    }

    #[test]
    fn commas_inside_brackets_and_quotes_do_not_split() {
        check_grid(&["a=[1,2],[3]"], &["a=[1,2]", "a=[3]"]);
        check_grid(&[r#"a="x,y",z"#], &[r#"a="x,y""#, "a=z"]);
        check_grid(&["a={ k = 1, j = 2 }"], &["a={ k = 1, j = 2 }"]);
    }

    fn check_error(result: Result<Knob, SweepError>, expect: &str) {
        let message = result.unwrap_err().to_string();
        assert!(message.contains(expect), "{message:?} lacks {expect:?}");
    }

    #[test]
    fn bad_knobs_are_errors() {
        check_error(Knob::parse_grid("a="), "the grid is empty");
        check_error(Knob::parse_grid("a=1,,2"), "value 2 is empty");
        check_error(Knob::parse_grid("a"), "expected KEY=VALUES");
        check_error(Knob::parse_grid("=1"), "not a dotted scenario key");
        check_error(Knob::parse_grid("a..b=1"), "not a dotted scenario key");
        check_error(Knob::parse_grid("seed=1,2"), "--seeds");
        check_error(Knob::parse_range("a=5..1"), "lo > hi");
        check_error(Knob::parse_range("a=1-5"), "expected lo..hi");
        check_error(Knob::parse_range("a=x..5"), "lower end");
        check_error(Knob::parse_range("a=1..inf"), "upper end");
    }

    #[test]
    fn flag_combinations_are_checked() {
        let mut s = grid(&["a=1", "a=2"]);
        assert!(s.validate().unwrap_err().to_string().contains("twice"));
        s = grid(&[]);
        s.knobs.push(Knob::parse_range("b=1..2").unwrap());
        assert!(s.validate().unwrap_err().to_string().contains("--random"));
        s.random = Some(0);
        assert!(s.validate().is_err());
        s.random = Some(3);
        assert!(s.validate().is_ok());
        s.seeds = 0;
        assert!(s.validate().is_err());
        let mut only_random = grid(&["a=1"]);
        only_random.random = Some(2);
        assert!(only_random
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--range"));
    }

    #[test]
    fn random_draws_stay_in_range_keep_their_type_and_repeat() {
        let spec = SweepSpec {
            knobs: vec![
                Knob::parse_grid("g=a,b").unwrap(),
                Knob::parse_range("i=2..4").unwrap(),
                Knob::parse_range("f=0.5..1").unwrap(),
                Knob::parse_range("one=3.0..3").unwrap(),
            ],
            random: Some(50),
            sample_seed: 7,
            seeds: 1,
        };
        let configs = spec.configurations().unwrap();
        assert_eq!(configs.len(), 100);
        let mut ints = std::collections::BTreeSet::new();
        for c in &configs {
            let i: i64 = c.values[1].1.parse().unwrap();
            assert!((2..=4).contains(&i));
            ints.insert(i);
            let f = &c.values[2].1;
            assert!(f.contains('.'), "{f}");
            let f: f64 = f.parse().unwrap();
            assert!((0.5..=1.0).contains(&f));
            assert_eq!(c.values[3].1, "3.0");
        }
        assert_eq!(ints.len(), 3, "every integer in 2..=4 drawn");
        // Each grid point sees the same draws.
        assert_eq!(configs[0].values[1..], configs[50].values[1..]);
        assert_eq!(configs[0].values[0].1, "a");
        assert_eq!(configs[50].values[0].1, "b");
        assert_eq!(spec.configurations().unwrap(), configs);
        let other = SweepSpec {
            sample_seed: 8,
            ..spec
        };
        assert_ne!(other.configurations().unwrap(), configs);
    }

    #[test]
    fn shards_partition_the_configurations() {
        for count in 1..5u32 {
            let shards: Vec<Shard> = (0..count)
                .map(|i| Shard::parse(&format!("{i}/{count}")).unwrap())
                .collect();
            for index in 0..20 {
                assert_eq!(shards.iter().filter(|s| s.contains(index)).count(), 1);
            }
        }
        for (arg, expect) in [
            ("2/2", "numbered 0 to 1"),
            ("0/0", "at least 1"),
            ("1", "INDEX/COUNT"),
            ("-1/2", "whole number"),
            ("a/2", "whole number"),
        ] {
            let message = Shard::parse(arg).unwrap_err().to_string();
            assert!(message.contains(expect), "{arg}: {message}");
        }
    }
}
