//! [`ScenarioError`]: a scenario that could not be loaded, located.

use std::fmt;
use std::sync::Arc;

/// A scenario that could not be loaded.
#[derive(Debug, Clone)]
pub struct ScenarioError {
    /// The scenario file (or `<embedded quickstart>`).
    pub file: String,
    /// 1-based line of the offending key, when known.
    pub line: Option<usize>,
    /// Dotted field name, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The deeper error this one comes from (a file that cannot be read
    /// or parsed), if any: the error's `source()`, not repeated in its
    /// display.
    pub cause: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Equal when location, message and the cause's message are.
impl PartialEq for ScenarioError {
    fn eq(&self, other: &Self) -> bool {
        (&self.file, self.line, &self.field, &self.message)
            == (&other.file, other.line, &other.field, &other.message)
            && self.cause.as_ref().map(ToString::to_string)
                == other.cause.as_ref().map(ToString::to_string)
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}
