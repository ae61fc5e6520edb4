//! Configuration errors that name the field at fault.
//!
//! Validators of configuration values (cold-start distributions, the SLA,
//! roofline factors, pricing) return a [`FieldError`]: the dotted name of
//! the field, as a front end's configuration file spells it, and what is
//! wrong with its value. A validator names fields relative to the value it
//! checks; whoever holds that value places the error inside its own name
//! with [`FieldError::within`]:
//!
//! ```
//! use fleetsim_core::field::FieldError;
//!
//! let e = FieldError::new("median_s", "must be > 0, got -1");
//! let e = e.within("provisioning").within("pools[2]");
//! assert_eq!(e.field, "pools[2].provisioning.median_s");
//! assert_eq!(e.to_string(), "pools[2].provisioning.median_s: must be > 0, got -1");
//! ```
//!
//! When a deeper error is the cause (a file named by the field cannot be
//! opened or parsed), [`FieldError::caused_by`] keeps it as the error's
//! [`source`](std::error::Error::source), and the display does not repeat
//! it: print the chain (`{:#}` with `anyhow`, or walk `source()`) to see
//! both, as Rust's error-handling guidelines ask.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// A configuration value outside what the model can represent: which field,
/// and what is allowed compared with what was given.
///
/// Displays as `{field}: {problem}`; a cause, if any, is its `source()`.
#[derive(Debug, Clone)]
pub struct FieldError {
    /// Dotted name of the field, e.g. `cold_start.tiers.hub.p1_gb_per_s` or
    /// `targets[0].max_ms`; relative to the value that was checked until
    /// its holder places it with [`FieldError::within`].
    pub field: String,
    /// What is wrong with the value, e.g. `must be a finite number of ms >
    /// 0, got -1`. It does not repeat the field name nor the cause.
    pub problem: String,
    /// The deeper error this one comes from, if any.
    pub cause: Option<Arc<dyn Error + Send + Sync + 'static>>,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl Error for FieldError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause.as_deref().map(|c| c as &(dyn Error + 'static))
    }
}

/// Equal when field, problem and the cause's message are.
impl PartialEq for FieldError {
    fn eq(&self, other: &Self) -> bool {
        self.field == other.field
            && self.problem == other.problem
            && self.cause.as_ref().map(ToString::to_string)
                == other.cause.as_ref().map(ToString::to_string)
    }
}

impl Eq for FieldError {}

impl FieldError {
    /// The error on `field`: `problem`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            problem: compact_numbers(&problem.into()),
            cause: None,
        }
    }

    /// The error on `field`: `problem`, because of `cause`.
    pub fn caused_by(
        field: impl Into<String>,
        problem: impl Into<String>,
        cause: impl Error + Send + Sync + 'static,
    ) -> Self {
        FieldError {
            field: field.into(),
            problem: problem.into(),
            cause: Some(Arc::new(cause)),
        }
    }

    /// The same error with its field named inside `prefix`, as [`join`]
    /// spells it: `b.c` within `a` is `a.b.c`, `[2].x` within `a` is
    /// `a[2].x`; an empty prefix changes nothing.
    #[must_use]
    pub fn within(self, prefix: &str) -> Self {
        FieldError {
            field: join(prefix, &self.field),
            ..self
        }
    }
}

/// The dotted name of `field` inside `prefix`: `prefix.field`, or
/// `prefix[i]…` when `field` starts with an index. Either part may be
/// empty; then the other is the name.
pub fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else if field.is_empty() {
        prefix.to_string()
    } else if field.starts_with('[') {
        format!("{prefix}{field}")
    } else {
        format!("{prefix}.{field}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_joins_names() {
        // (prefix, field, joined)
        let cases = [
            ("", "a", "a"),
            ("", "targets[0].max_ms", "targets[0].max_ms"),
            ("a", "b", "a.b"),
            ("a", "b.c", "a.b.c"),
            ("a", "[2].x", "a[2].x"),
            ("a.b", "c[1]", "a.b.c[1]"),
            ("deployments[3]", "queue.mode", "deployments[3].queue.mode"),
            ("a", "", "a"),
            ("", "", ""),
        ];
        for (prefix, field, joined) in cases {
            assert_eq!(join(prefix, field), joined, "{prefix:?} + {field:?}");
            let e = FieldError::new(field, "p").within(prefix);
            assert_eq!(e, FieldError::new(joined, "p"), "{prefix:?} + {field:?}");
        }
        // Nesting step by step names the same field as one long prefix.
        assert_eq!(
            FieldError::new("x", "p").within("b").within("a"),
            FieldError::new("x", "p").within("a.b")
        );
    }

    #[test]
    fn display_is_field_then_problem() {
        // (field, problem, display)
        let cases = [
            ("image", "must name an image", "image: must name an image"),
            (
                "sla.targets[0].percentile",
                "must be in (0, 100], got 0",
                "sla.targets[0].percentile: must be in (0, 100], got 0",
            ),
            ("", "no field", ": no field"),
        ];
        for (field, problem, display) in cases {
            assert_eq!(FieldError::new(field, problem).to_string(), display);
        }
    }

    #[test]
    fn a_cause_is_the_source_and_not_repeated() {
        let e = FieldError::new("a", "bad");
        assert!(e.source().is_none());
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = FieldError::caused_by("path", "cannot open t.csv", io).within("x");
        // Boxed as a trait object, as front ends report it.
        let boxed: Box<dyn Error + Send + Sync> = Box::new(e);
        assert_eq!(boxed.to_string(), "x.path: cannot open t.csv");
        let source = boxed.source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("no such file"));
        assert!(boxed.source().and_then(Error::source).is_none());
    }
}

/// `text` with every number written in full with more digits than a value
/// holds (how `{}` prints a float such as 1e300 or 1e-300: hundreds of
/// digits) in scientific form (`1e300`, `1e-300`): more than 16 digits
/// with a decimal point, more than 20 without (so any u64 stays exact);
/// other text is unchanged.
pub fn compact_numbers(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let starts_number = bytes[i].is_ascii_digit()
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
        if !starts_number {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let mut end = i;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
            end += 1;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
        }
        let number = &text[i..end];
        // Integers up to 20 digits (any u64) stay exact.
        let digits = number.bytes().filter(u8::is_ascii_digit).count();
        let long = if number.contains('.') {
            digits > 16
        } else {
            digits > 20
        };
        match number.parse::<f64>() {
            Ok(v) if long => out.push_str(&format!("{v:e}")),
            _ => out.push_str(number),
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod compact_tests {
    use super::*;

    #[test]
    fn long_numbers_are_written_in_scientific_form_and_the_rest_is_kept() {
        let huge = format!("must be from 0.001 to 100, got {}", 1e300);
        assert_eq!(
            compact_numbers(&huge),
            "must be from 0.001 to 100, got 1e300"
        );
        let tiny = format!("got -{} s", 1e-300);
        assert_eq!(compact_numbers(&tiny), "got -1e-300 s");
        for kept in [
            "at most 20000000 requests, got 20000001 (x2 h100-sxm, 1.5 s)",
            "got 18446744073709551615",
            "µs ≥ 0.25, `a1b22222222222222222` stays",
            "",
        ] {
            assert_eq!(compact_numbers(kept), kept);
        }
        let e = FieldError::new("cv", format!("got {}", 1e300));
        assert_eq!(e.problem, "got 1e300");
    }
}
