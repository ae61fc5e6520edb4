//! A scenario as a value to work with from Rust (a notebook, a test,
//! another tool): load it from a file or a string, change one key at a
//! time with typed values, run it, compare it with another.
//!
//! ```
//! use fleetsim::scenario::Scenario;
//! let mut s = Scenario::from_toml_str(fleetsim::scenario::QUICKSTART_TOML).unwrap();
//! s.set("workload.duration_s", 20).unwrap().set("deployment.replicas", 3).unwrap();
//! assert_eq!(s.overrides(), ["workload.duration_s=20", "deployment.replicas=3"]);
//! let result = s.run().unwrap();
//! assert!(result.summary.requests.completed > 0);
//! // A value of the wrong type is refused, located, and changes nothing.
//! let e = s.set("deployment.replicas", "three").unwrap_err();
//! assert_eq!(e.field.as_deref(), Some("deployment.replicas"));
//! assert_eq!(s.overrides().len(), 2);
//! ```

use super::{edit, load_file, load_str, Scenario, ScenarioError};
use crate::compare::{self, CompareError, Comparison};
use crate::run::{self, RunError};
use fleetsim_core::RunResult;
use std::fmt;
use std::path::{Path, PathBuf};

/// What a scenario was loaded from: its text, where it lives and the
/// `--set` overrides applied, in order.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) text: String,
    pub(crate) file: String,
    pub(crate) base_dir: PathBuf,
    pub(crate) sets: Vec<String>,
}

/// A typed value for [`Scenario::set`]: an integer, a float, a bool, a
/// string, a list of them, or TOML text ([`SetValue::toml`]) for a table.
/// The scenario's schema decides whether the key takes it; a value it
/// does not take is a located [`ScenarioError`] from `set`.
#[derive(Clone, Debug, PartialEq)]
pub struct SetValue(Repr);

#[derive(Clone, Debug, PartialEq)]
enum Repr {
    Integer(i128),
    Float(f64),
    Bool(bool),
    Str(String),
    List(Vec<SetValue>),
    Toml(String),
}

impl SetValue {
    /// A value written as TOML (`{ kind = "poisson", rate_per_s = 3 }`),
    /// checked when it is set.
    pub fn toml(text: impl Into<String>) -> SetValue {
        SetValue(Repr::Toml(text.into()))
    }

    /// The value as TOML text, or why it has none.
    fn to_toml(&self) -> Result<String, String> {
        Ok(match &self.0 {
            Repr::Integer(i) => match i64::try_from(*i) {
                Ok(i) => toml_edit::Value::from(i).to_string(),
                Err(_) => return Err(format!("{i} does not fit a TOML integer (64-bit signed)")),
            },
            Repr::Float(f) if f.is_finite() => toml_edit::Value::from(*f).to_string(),
            Repr::Float(f) => return Err(format!("{f} is not a finite number")),
            Repr::Bool(b) => b.to_string(),
            Repr::Str(s) => toml_edit::Value::from(s.as_str()).to_string(),
            Repr::List(items) => {
                let items: Result<Vec<String>, String> = items.iter().map(Self::to_toml).collect();
                format!("[{}]", items?.join(", "))
            }
            Repr::Toml(text) => match text.parse::<toml_edit::Value>() {
                Ok(v) => v.to_string(),
                Err(e) => return Err(format!("{text:?} is not a TOML value: {}", e.message())),
            },
        })
    }
}

macro_rules! set_value_from {
    ($variant:ident <- $($t:ty),*) => {$(
        impl From<$t> for SetValue {
            fn from(v: $t) -> SetValue {
                SetValue(Repr::$variant(v.into()))
            }
        }
    )*};
}
set_value_from!(Integer <- i8, i16, i32, i64, u8, u16, u32, u64);
set_value_from!(Float <- f32, f64);
set_value_from!(Bool <- bool);
set_value_from!(Str <- &str, String, &String);

impl From<usize> for SetValue {
    fn from(v: usize) -> SetValue {
        // usize is at most 64 bits on every supported target.
        SetValue(Repr::Integer(v as i128))
    }
}

impl<T: Into<SetValue>> From<Vec<T>> for SetValue {
    fn from(items: Vec<T>) -> SetValue {
        SetValue(Repr::List(items.into_iter().map(Into::into).collect()))
    }
}

impl<T: Into<SetValue> + Clone> From<&[T]> for SetValue {
    fn from(items: &[T]) -> SetValue {
        SetValue::from(items.to_vec())
    }
}

impl fmt::Display for SetValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_toml() {
            Ok(text) => f.write_str(&text),
            Err(why) => write!(f, "<{why}>"),
        }
    }
}

impl Scenario {
    /// Loads a scenario file (relative paths inside it resolve against
    /// its directory).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        load_file(path.as_ref(), &[])
    }

    /// Loads scenario text, named `<string>` in errors; relative paths
    /// inside it resolve against the current directory.
    pub fn from_toml_str(text: &str) -> Result<Scenario, ScenarioError> {
        load_str(text, "<string>", Path::new("."), &[])
    }

    /// Sets one key, as `--set key=value` does (a dotted path:
    /// `scaling.max_replicas`, `deployments[1].gpu`), and resolves the
    /// scenario again. On an error (a key the schema does not have, a value
    /// out of range or of the wrong type) the scenario is unchanged.
    ///
    /// The scenario is rebuilt from its text and overrides, so a change
    /// made to its public fields directly is replaced.
    pub fn set(
        &mut self,
        key: &str,
        value: impl Into<SetValue>,
    ) -> Result<&mut Scenario, ScenarioError> {
        let source = self.source_text()?;
        let key = key.trim();
        let error = |message: String| ScenarioError {
            file: source.file.clone(),
            line: None,
            field: Some(key.to_string()),
            message,
            cause: None,
        };
        if key.is_empty() || key.contains('=') {
            return Err(error(
                "a key is a dotted path such as `scaling.max_replicas`, without `=`".into(),
            ));
        }
        let value = value.into().to_toml().map_err(error)?;
        let mut sets = source.sets.clone();
        sets.push(format!("{key}={value}"));
        *self = load_str(&source.text, &source.file, &source.base_dir, &sets)?;
        Ok(self)
    }

    /// A copy with one more key set ([`Scenario::set`]).
    pub fn with(&self, key: &str, value: impl Into<SetValue>) -> Result<Scenario, ScenarioError> {
        let mut copy = self.clone();
        copy.set(key, value)?;
        Ok(copy)
    }

    /// The file it was loaded from (`<string>` for text), or its name when
    /// it was built without its text.
    pub fn origin(&self) -> &str {
        self.source.as_deref().map_or(&self.name, |s| &s.file)
    }

    /// The overrides applied to the text, in order, as `key=value`.
    pub fn overrides(&self) -> &[String] {
        self.source.as_deref().map_or(&[], |s| &s.sets)
    }

    /// The scenario as TOML: its text with the overrides written in, ready
    /// to save and run with `fleetsim run`.
    pub fn to_toml(&self) -> Result<String, ScenarioError> {
        let source = self.source_text()?;
        let mut doc: toml_edit::DocumentMut =
            source
                .text
                .parse()
                .map_err(|e: toml_edit::TomlError| ScenarioError {
                    file: source.file.clone(),
                    line: None,
                    field: None,
                    message: e.message().trim().to_string(),
                    cause: None,
                })?;
        edit::apply_sets(&mut doc, &source.sets).map_err(|message| ScenarioError {
            file: source.file.clone(),
            line: None,
            field: None,
            message,
            cause: None,
        })?;
        Ok(doc.to_string())
    }

    /// Runs the scenario once, with its seed ([`run::run`]).
    pub fn run(&self) -> Result<RunResult, RunError> {
        run::run(self)
    }

    /// Runs `self` (A) and `other` (B) with every seed in `seeds` (paired:
    /// both see the same random numbers per seed) and compares their
    /// headline metrics, as `fleetsim compare` does.
    pub fn compare(&self, other: &Scenario, seeds: &[u64]) -> Result<Comparison, CompareError> {
        compare::compare_scenarios(self, other, seeds, 0)
    }

    /// Where the scenario came from, or an error saying it has no text.
    pub(crate) fn source_text(&self) -> Result<&Source, ScenarioError> {
        self.source.as_deref().ok_or_else(|| ScenarioError {
            file: format!("scenario {:?}", self.name),
            line: None,
            field: None,
            message: "built by `resolve` without its text: load it with \
                      Scenario::from_file or Scenario::from_toml_str to change keys"
                .into(),
            cause: None,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn quickstart() -> Scenario {
        Scenario::from_toml_str(super::super::QUICKSTART_TOML).unwrap()
    }

    #[test]
    fn typed_values_render_as_the_toml_a_set_flag_would_write() {
        let check = |value: SetValue, expect: &str| assert_eq!(value.to_string(), expect);
        check(3.into(), "3");
        check(3u64.into(), "3");
        check(0.5.into(), "0.5");
        check(2.0f64.into(), "2.0");
        check(true.into(), "true");
        check("h200".into(), "\"h200\"");
        check("a \"quoted\" name".into(), "'a \"quoted\" name'");
        check(vec![1, 2].into(), "[1, 2]");
        check(
            SetValue::toml("{ kind = \"poisson\" }"),
            "{ kind = \"poisson\" }",
        );
        assert!(SetValue::from(u64::MAX).to_toml().is_err());
        assert!(SetValue::from(f64::NAN).to_toml().is_err());
        assert!(SetValue::toml("{ kind = ").to_toml().is_err());
    }

    #[test]
    fn set_changes_the_resolved_scenario_and_keeps_the_overrides() {
        let mut s = quickstart();
        assert_eq!(s.deployments[0].replicas, 2);
        s.set("deployment.replicas", 5).unwrap();
        assert_eq!(s.deployments[0].replicas, 5);
        s.set("seed", 7u64).unwrap();
        assert_eq!(s.sim.seed, 7);
        assert_eq!(s.overrides(), ["deployment.replicas=5", "seed=7"]);
        // The TOML it writes loads back to the same scenario.
        let again = Scenario::from_toml_str(&s.to_toml().unwrap()).unwrap();
        assert_eq!(again.deployments[0].replicas, 5);
        assert_eq!(again.sim.seed, 7);
    }

    #[test]
    fn a_refused_value_is_located_and_leaves_the_scenario_unchanged() {
        let mut s = quickstart();
        let check = |s: &mut Scenario, key: &str, value: SetValue, expect_field: &str| {
            let e = s.set(key, value).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(expect_field), "{e}");
            assert!(e.to_string().contains(expect_field), "{e}");
        };
        check(
            &mut s,
            "deployment.replicas",
            "two".into(),
            "deployment.replicas",
        );
        check(
            &mut s,
            "deployment.no_such_key",
            1.into(),
            "deployment.no_such_key",
        );
        check(&mut s, "seed", u64::MAX.into(), "seed");
        check(&mut s, "a=b", 1.into(), "a=b");
        assert!(s.overrides().is_empty());
        assert_eq!(s.deployments[0].replicas, 2);
    }

    #[test]
    fn with_leaves_the_original_alone() {
        let s = quickstart();
        let t = s.with("deployment.replicas", 4).unwrap();
        assert_eq!(
            (s.deployments[0].replicas, t.deployments[0].replicas),
            (2, 4)
        );
    }

    #[test]
    fn compare_pairs_seeds_and_sees_a_real_difference() {
        let a = quickstart().with("workload.duration_s", 60).unwrap();
        let same = a.compare(&a, &[1, 2]).unwrap();
        // Without a node pool the dollar metrics are absent, not equal.
        assert!(
            (same.metrics.iter()).all(|m| ["identical", "absent"].contains(&m.verdict())),
            "{same:?}"
        );
        assert!(same.metrics.iter().any(|m| m.verdict() == "identical"));
        assert_eq!(same.a.path, "<string>");
        let b = a.with("deployment.replicas", 1).unwrap();
        let c = a.compare(&b, &[1, 2, 3]).unwrap();
        assert_eq!(
            c.b.sets,
            ["workload.duration_s=60", "deployment.replicas=1"]
        );
        let ttft = c
            .metrics
            .iter()
            .find(|m| m.metric == "ttft_p95_ms")
            .unwrap();
        // One replica instead of two: every seed's p95 TTFT is higher.
        assert!(ttft.a.iter().zip(&ttft.b).all(|(x, y)| x < y), "{ttft:?}");
    }
}
