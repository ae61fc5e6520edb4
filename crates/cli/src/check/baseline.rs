//! The baseline file: its TOML form with line-located errors, tolerance
//! layers (file-wide, then per scenario) and scenario paths.

use super::*;

/// A tolerance as written: either field may be left to the layer below.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToleranceOverride {
    /// Absolute allowance, in the metric's unit.
    pub abs: Option<f64>,
    /// Relative allowance, a fraction of the baseline value.
    pub rel: Option<f64>,
}

impl ToleranceOverride {
    fn apply(&self, t: &mut Tolerance) {
        if let Some(abs) = self.abs {
            t.abs = abs;
        }
        if let Some(rel) = self.rel {
            t.rel = rel;
        }
    }
}

/// Tolerance overrides by metric name, or `all`.
pub type Tolerances = BTreeMap<String, ToleranceOverride>;

/// The key of a tolerance that applies to every metric.
pub const ALL: &str = "all";

/// One scenario's entry in a baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The scenario file, normalised.
    pub path: String,
    /// The scenario's `name` when recorded.
    pub name: String,
    /// 1-based line of `name` in the baseline file.
    pub name_line: usize,
    /// The seed it ran with.
    pub seed: Option<u64>,
    /// The `--set` flags it ran with.
    pub sets: Vec<String>,
    /// Recorded values by metric name.
    pub values: BTreeMap<String, f64>,
    /// Metrics the run did not have.
    pub absent: Vec<String>,
    /// Its tolerance overrides.
    pub tolerance: Tolerances,
}

/// A parsed baseline file.
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    /// Tolerance overrides for every scenario.
    pub tolerance: Tolerances,
    /// Entries in file order.
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    version: Spanned<u32>,
    #[serde(default)]
    tolerance: BTreeMap<Spanned<String>, Spanned<ToleranceOverride>>,
    #[serde(default)]
    scenario: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    path: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    sets: Vec<String>,
    #[serde(default)]
    absent: Vec<Spanned<String>>,
    #[serde(default)]
    tolerance: BTreeMap<Spanned<String>, Spanned<ToleranceOverride>>,
    values: BTreeMap<Spanned<String>, Spanned<f64>>,
}

/// `path` without `.` components and with `a/..` folded, `/`-separated,
/// so `./scenarios/q.toml` and `scenarios/q.toml` name one entry.
pub fn normalise(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if parts.last().is_some_and(|p| p != "..") => {
                parts.pop();
            }
            Component::RootDir => parts.push(String::new()),
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    if parts == [""] {
        return "/".to_string();
    }
    parts.join("/")
}

impl Baseline {
    /// Parses baseline text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Baseline, CheckError> {
        let at =
            |span: std::ops::Range<usize>, field: String, message: String| CheckError::Malformed {
                file: file.to_string(),
                line: Some(line_of_offset(text, span.start)),
                field: Some(field),
                message,
            };
        let raw: RawBaseline = toml::from_str(text).map_err(|e| CheckError::Malformed {
            file: file.to_string(),
            line: e.span().map(|s| line_of_offset(text, s.start)),
            field: None,
            message: e.message().trim().to_string(),
        })?;
        if *raw.version.get_ref() != BASELINE_VERSION {
            return Err(at(
                raw.version.span(),
                "version".into(),
                format!(
                    "baseline version {} is not supported (this fleetsim reads version {BASELINE_VERSION})",
                    raw.version.get_ref()
                ),
            ));
        }
        let tolerances = |raw: BTreeMap<Spanned<String>, Spanned<ToleranceOverride>>,
                          section: &str|
         -> Result<Tolerances, CheckError> {
            let mut out = Tolerances::new();
            for (key, t) in raw {
                let field = format!("{section}.{}", key.get_ref());
                if key.get_ref() != ALL && Headline::by_name(key.get_ref()).is_none() {
                    return Err(at(
                        key.span(),
                        field,
                        format!(
                            "unknown metric `{}`; use `{ALL}` or one of: {}",
                            key.get_ref(),
                            Headline::names()
                        ),
                    ));
                }
                let tv = *t.get_ref();
                for (name, v) in [("abs", tv.abs), ("rel", tv.rel)] {
                    if let Some(v) = v.filter(|v| !(v.is_finite() && *v >= 0.0)) {
                        return Err(at(
                            t.span(),
                            format!("{field}.{name}"),
                            format!("a tolerance must be a finite number ≥ 0, got {v}"),
                        ));
                    }
                }
                out.insert(key.into_inner(), tv);
            }
            Ok(out)
        };
        let tolerance = tolerances(raw.tolerance, "tolerance")?;
        let mut entries: Vec<Entry> = Vec::new();
        for (i, e) in raw.scenario.into_iter().enumerate() {
            let section = format!("scenario[{i}]");
            let path = normalise(Path::new(e.path.get_ref()));
            if let Some(dup) = entries.iter().find(|d| d.path == path) {
                return Err(at(
                    e.path.span(),
                    format!("{section}.path"),
                    format!(
                        "a second entry for {path} (the first has name `{}`, line {})",
                        dup.name, dup.name_line
                    ),
                ));
            }
            let mut values = BTreeMap::new();
            for (key, v) in e.values {
                let field = format!("{section}.values.{}", key.get_ref());
                if Headline::by_name(key.get_ref()).is_none() {
                    return Err(at(
                        key.span(),
                        field,
                        format!(
                            "unknown metric `{}`; the headline metrics are: {}",
                            key.get_ref(),
                            Headline::names()
                        ),
                    ));
                }
                if !v.get_ref().is_finite() {
                    return Err(at(v.span(), field, "a value must be finite".into()));
                }
                values.insert(key.into_inner(), v.into_inner());
            }
            let mut absent = Vec::new();
            for name in e.absent {
                if Headline::by_name(name.get_ref()).is_none() {
                    return Err(at(
                        name.span(),
                        format!("{section}.absent"),
                        format!("unknown metric `{}`", name.get_ref()),
                    ));
                }
                if values.contains_key(name.get_ref()) {
                    return Err(at(
                        name.span(),
                        format!("{section}.absent"),
                        format!("`{}` is listed as absent but has a value", name.get_ref()),
                    ));
                }
                absent.push(name.into_inner());
            }
            entries.push(Entry {
                path,
                name_line: line_of_offset(text, e.name.span().start),
                name: e.name.into_inner(),
                seed: e.seed,
                sets: e.sets,
                values,
                absent,
                tolerance: tolerances(e.tolerance, &format!("{section}.tolerance"))?,
            });
        }
        Ok(Baseline { tolerance, entries })
    }

    /// Reads and parses a baseline file.
    pub fn read(path: &Path) -> Result<Baseline, CheckError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| CheckError::Read {
            file: file.clone(),
            error,
        })?;
        Baseline::parse(&text, &file)
    }

    /// The entry for a scenario file.
    pub fn entry(&self, path: &Path) -> Option<&Entry> {
        let path = normalise(path);
        self.entries.iter().find(|e| e.path == path)
    }

    /// The tolerance of `metric` in `entry` (see the module documentation
    /// for the layers).
    pub fn tolerance(&self, metric: &Headline, entry: Option<&Entry>) -> Tolerance {
        let mut t = metric.tolerance;
        let layers = [Some(&self.tolerance), entry.map(|e| &e.tolerance)];
        for layer in layers.into_iter().flatten() {
            for key in [ALL, metric.name] {
                if let Some(o) = layer.get(key) {
                    o.apply(&mut t);
                }
            }
        }
        t
    }
}
