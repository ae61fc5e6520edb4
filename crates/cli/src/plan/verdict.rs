//! The verdict: the cheapest plan that met every SLA target on every seed,
//! and the scenario tables that reproduce it, as TOML to paste.

use serde::Serialize;
use std::path::Path;
use toml_edit::DocumentMut;

/// The tables a plan may change, in the order the fragment lists them.
/// Pasting the fragment replaces each of them whole.
pub const TABLES: [&str; 3] = ["deployment", "scaling", "pool"];

/// A plan the verdict chooses among.
#[derive(Clone, Debug)]
pub struct Choice {
    /// `fixed`, `scheduled` or an autoscaler kind.
    pub kind: String,
    /// Where it comes from (`cheapest fixed fleet`, `oracle schedule`, …).
    pub source: String,
    /// Its shape and knobs, as JSON.
    pub knobs: serde_json::Value,
    /// Billed cost extrapolated to a month, USD.
    pub monthly_usd: f64,
    /// The monthly cost equation's total, USD (`None`: not measured).
    pub equation_monthly_usd: Option<f64>,
    /// Met every target on every seed.
    pub meets_sla: bool,
    /// The scenario document it ran.
    pub document: DocumentMut,
    /// GPU type.
    pub gpu: String,
    /// GPUs per replica.
    pub tensor_parallel: u32,
}

/// The chosen plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// `fixed`, `scheduled` or an autoscaler kind.
    pub kind: String,
    /// Where it comes from.
    pub source: String,
    /// GPU type.
    pub gpu: String,
    /// GPUs per replica.
    pub tensor_parallel: u32,
    /// Billed cost extrapolated to a 730-hour month, USD.
    pub monthly_usd: f64,
    /// The monthly cost equation (steady state, scaling overhead, buffer)
    /// for the same runs, USD (`null` when a run measured no SLA-feasible
    /// concurrency).
    pub equation_monthly_usd: Option<f64>,
    /// The scenario's tables for this plan, to paste in place of its own.
    pub toml: String,
    /// The whole scenario the plan ran (the file's text with the `--set`
    /// overrides and these tables written in, `--trace` as its workload),
    /// to save and run (`plan --write-scenario`, [`scenario_file`]).
    #[serde(skip)]
    pub scenario_toml: String,
}

/// The cheapest choice meeting the SLA; of equal costs the first listed.
pub fn choose(choices: &[Choice]) -> Option<Verdict> {
    let best = (choices.iter().filter(|c| c.meets_sla)).reduce(|best, c| {
        match c.monthly_usd < best.monthly_usd {
            true => c,
            false => best,
        }
    })?;
    Some(Verdict {
        kind: best.kind.clone(),
        source: best.source.clone(),
        gpu: best.gpu.clone(),
        tensor_parallel: best.tensor_parallel,
        monthly_usd: best.monthly_usd,
        equation_monthly_usd: best.equation_monthly_usd,
        toml: fragment(&best.document),
        scenario_toml: best.document.to_string(),
    })
}

/// The verdict's whole scenario with `trace` (`--trace FILE`, sorted or
/// not) as its workload, headed by a comment saying where it came from.
pub fn scenario_file(
    verdict: &Verdict,
    source: &str,
    trace: Option<(&Path, bool)>,
) -> Result<String, String> {
    let mut doc: DocumentMut = (verdict.scenario_toml.parse())
        .map_err(|e: toml_edit::TomlError| format!("the verdict's scenario: {e}"))?;
    if let Some((path, sort)) = trace {
        let mut workload = toml_edit::Table::new();
        workload.insert("kind", toml_edit::value("trace"));
        workload.insert("path", toml_edit::value(path.display().to_string()));
        if sort {
            workload.insert("sort", toml_edit::value(true));
        }
        doc.insert("workload", toml_edit::Item::Table(workload));
    }
    Ok(format!(
        "# The plan's verdict for {source}: {} on {} (TP{}), ${:.0} a month.\n\
         # Written by `fleetsim plan --write-scenario`; run it with `fleetsim run`.\n{doc}",
        verdict.kind, verdict.gpu, verdict.tensor_parallel, verdict.monthly_usd
    ))
}

/// Writes the verdict's whole scenario ([`scenario_file`]) to `path`,
/// after checking that it loads from there: relative paths inside it (a
/// trace, a profile) resolve against `path`'s directory, so a file that
/// would not find them is an error and nothing is written.
pub fn write_scenario(
    verdict: &Verdict,
    options: &super::PlanOptions,
    path: &Path,
) -> Result<(), super::PlanError> {
    let unsupported = |message: String| super::PlanError::Unsupported {
        file: path.display().to_string(),
        message,
    };
    // A command-line path is relative to the working directory, a path in
    // the file to the file's: write it absolute.
    let trace = (options.trace.as_deref())
        .map(|t| std::path::absolute(t).map(|t| (t, options.sort)))
        .transpose()
        .map_err(|e| unsupported(format!("--trace: {e}")))?;
    let trace = trace.as_ref().map(|(t, sort)| (t.as_path(), *sort));
    let text = scenario_file(verdict, &options.scenario.display().to_string(), trace)
        .map_err(unsupported)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::scenario::load_str(&text, &path.display().to_string(), dir, &[]).map_err(|e| {
        unsupported(format!(
            "the verdict's scenario would not load from there (relative paths in it resolve \
             against the file's directory; write it beside {}): {e}",
            options.scenario.display()
        ))
    })?;
    std::fs::write(path, text).map_err(|e| unsupported(format!("cannot write: {e}")))
}

/// The [`TABLES`] of `doc` that it has, as a TOML document of their own.
pub fn fragment(doc: &DocumentMut) -> String {
    let mut out = DocumentMut::new();
    for name in TABLES {
        if let Some(item) = doc.get(name) {
            out.insert(name, item.clone());
        }
    }
    let names: Vec<String> = (TABLES.iter())
        .filter(|n| doc.contains_key(n))
        .map(|n| format!("[{n}]"))
        .collect();
    format!(
        "# Replace the scenario's {} tables with these.\n{}",
        names.join(", "),
        out.to_string().trim_start()
    )
}

/// Pastes `fragment` into `doc` as [`fragment`] means it: each of its
/// tables replaces the document's table of that name.
pub fn apply_fragment(doc: &mut DocumentMut, fragment: &str) -> Result<(), String> {
    let parsed: DocumentMut = fragment
        .parse()
        .map_err(|e: toml_edit::TomlError| e.to_string())?;
    for (name, item) in parsed.iter() {
        if !TABLES.contains(&name) {
            return Err(format!(
                "the fragment's `{name}` is not a table the plan sets"
            ));
        }
        doc.insert(name, item.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"# A scenario with comments.
name = "s"

[workload]
kind = "synthetic"

[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"   # the GPU
replicas = 2

[scaling]
kind = "hpa"
min_replicas = 1

[sla]
ttft_ms = 500
"#;

    fn choice(source: &str, monthly_usd: f64, meets_sla: bool) -> Choice {
        Choice {
            kind: "fixed".into(),
            source: source.into(),
            knobs: serde_json::Value::Null,
            monthly_usd,
            equation_monthly_usd: Some(monthly_usd),
            meets_sla,
            document: SCENARIO.parse().unwrap(),
            gpu: "h100-sxm".into(),
            tensor_parallel: 1,
        }
    }

    #[test]
    fn the_cheapest_meeting_the_sla_is_chosen_and_ties_keep_the_first() {
        let chosen = |cs: &[Choice]| choose(cs).map(|v| v.source);
        assert_eq!(chosen(&[]), None);
        assert_eq!(chosen(&[choice("a", 1.0, false)]), None);
        assert_eq!(
            chosen(&[
                choice("a", 1.0, false),
                choice("b", 3.0, true),
                choice("c", 2.0, true)
            ])
            .as_deref(),
            Some("c")
        );
        assert_eq!(
            chosen(&[choice("a", 2.0, true), choice("b", 2.0, true)]).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn the_fragment_is_toml_that_pasted_reproduces_the_document() {
        let original: DocumentMut = SCENARIO.parse().unwrap();
        let mut edited = original.clone();
        edited["deployment"]["replicas"] = toml_edit::value(5);
        edited["scaling"] = toml_edit::Item::Table(toml_edit::Table::new());
        edited["scaling"]["kind"] = toml_edit::value("scheduled");
        let mut schedule = toml_edit::Array::new();
        let mut entry = toml_edit::InlineTable::new();
        entry.insert("at_s", 60.0.into());
        entry.insert("replicas", 3.into());
        schedule.push(entry);
        edited["scaling"]["schedule"] = toml_edit::value(schedule);
        let text = fragment(&edited);
        assert!(
            text.starts_with("# Replace the scenario's [deployment], [scaling] tables"),
            "{text}"
        );
        // Valid TOML, with only the plan's tables.
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed.keys().collect::<Vec<_>>(), ["deployment", "scaling"]);
        let mut pasted = original.clone();
        apply_fragment(&mut pasted, &text).unwrap();
        let table = |d: &DocumentMut| toml::from_str::<toml::Table>(&d.to_string()).unwrap();
        assert_eq!(table(&pasted), table(&edited));
        assert_ne!(table(&pasted), table(&original));
        assert!(apply_fragment(&mut pasted, "[workload]\nkind = \"x\"\n").is_err());
        assert!(apply_fragment(&mut pasted, "[deployment\n").is_err());
    }
}
