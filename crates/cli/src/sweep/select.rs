//! Choosing among a sweep's configurations: the Pareto front of cost
//! against SLA attainment, and the cheapest configuration that meets the
//! scenario's SLA targets, with the TOML to paste into the scenario.

use super::results::{Json, Row};
use std::fmt::Write as _;

/// One configuration, its seeds averaged.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Configuration index.
    pub config: usize,
    /// Knob assignments `(key, value)`, values as JSON text.
    pub knobs: Vec<(String, Json)>,
    /// Mean cost over seeds, in [`Candidate::cost_unit`]s.
    pub cost: f64,
    /// `"USD"` when every run has a cost section, else `"GPU-h"` billed.
    pub cost_unit: &'static str,
    /// Mean SLA attainment over seeds, 0..1.
    pub sla_attainment: f64,
    /// The scenario's `[sla]` has percentile targets and every seed met
    /// every one (a target no request could be measured on is not met; a
    /// scenario without targets meets nothing, so no configuration is
    /// recommended for it).
    pub meets_sla: bool,
    /// The scenario's `[sla]` has percentile targets.
    pub has_targets: bool,
    /// Seeds averaged.
    pub seeds: usize,
}

/// Averages each configuration's rows (rows sorted by configuration, as in
/// a finished results file). Cost is `cost.total_usd` when every row has
/// it, else `gpu_hours.billed`, so all candidates share one unit.
pub fn candidates(rows: &[Row]) -> Vec<Candidate> {
    let usd = rows
        .iter()
        .all(|r| r.value.get("summary.cost.total_usd").is_some());
    let (cost_path, cost_unit) = match usd {
        true => ("summary.cost.total_usd", "USD"),
        false => ("summary.gpu_hours.billed", "GPU-h"),
    };
    let number = |r: &Row, path: &str| r.value.get(path).and_then(Json::as_f64).unwrap_or(0.0);
    let mut out: Vec<Candidate> = Vec::new();
    for r in rows {
        let has_targets = matches!(
            r.value.get("summary.sla.targets"),
            Some(Json::Array(targets)) if !targets.is_empty()
        );
        let met = has_targets
            && matches!(
                r.value.get("summary.sla.all_targets_met"),
                Some(Json::Bool(true))
            );
        let (cost, attainment) = (number(r, cost_path), number(r, "summary.sla.attainment"));
        match out.last_mut() {
            Some(c) if c.config == r.config => {
                c.cost += cost;
                c.sla_attainment += attainment;
                c.meets_sla &= met;
                c.has_targets &= has_targets;
                c.seeds += 1;
            }
            _ => out.push(Candidate {
                config: r.config,
                knobs: match r.value.get("knobs") {
                    Some(Json::Object(entries)) => entries.clone(),
                    _ => Vec::new(),
                },
                cost,
                cost_unit,
                sla_attainment: attainment,
                meets_sla: met,
                has_targets,
                seeds: 1,
            }),
        }
    }
    for c in &mut out {
        c.cost /= c.seeds as f64;
        c.sla_attainment /= c.seeds as f64;
    }
    out
}

/// Indices (into `candidates`) of the Pareto front: no other candidate is
/// at most as expensive and at least as good with one of the two strictly
/// better. Of identical points the lowest configuration stays. Ordered by
/// cost.
pub fn pareto_front(candidates: &[Candidate]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&candidates[a], &candidates[b]);
        (a.cost.total_cmp(&b.cost))
            .then(b.sla_attainment.total_cmp(&a.sla_attainment))
            .then(a.config.cmp(&b.config))
    });
    let mut front = Vec::new();
    let mut best = f64::NEG_INFINITY;
    for i in order {
        if candidates[i].sla_attainment > best {
            best = candidates[i].sla_attainment;
            front.push(i);
        }
    }
    front
}

/// The cheapest candidate that meets the SLA (ties: higher attainment,
/// then lower configuration index).
pub fn cheapest_meeting_sla(candidates: &[Candidate]) -> Option<usize> {
    (0..candidates.len())
        .filter(|&i| candidates[i].meets_sla)
        .min_by(|&a, &b| {
            let (a, b) = (&candidates[a], &candidates[b]);
            (a.cost.total_cmp(&b.cost))
                .then(b.sla_attainment.total_cmp(&a.sla_attainment))
                .then(a.config.cmp(&b.config))
        })
}

/// The candidates that tie with `chosen`: they meet the SLA at the same
/// cost and attainment (to a relative 1e-9, what summing the same
/// floating-point figures in another order can change), `chosen` first.
pub fn ties(candidates: &[Candidate], chosen: usize) -> Vec<usize> {
    let c = &candidates[chosen];
    let same = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    std::iter::once(chosen)
        .chain((0..candidates.len()).filter(|&i| {
            let o = &candidates[i];
            i != chosen
                && o.meets_sla
                && same(o.cost, c.cost)
                && same(o.sla_attainment, c.sla_attainment)
        }))
        .collect()
}

/// The knobs that take more than one value among `tied` candidates: they
/// did not change the result there.
pub fn indifferent_knobs(candidates: &[Candidate], tied: &[usize]) -> Vec<String> {
    let Some(&first) = tied.first() else {
        return Vec::new();
    };
    (candidates[first].knobs.iter().enumerate())
        .filter(|(k, (_, v))| {
            tied.iter()
                .any(|&i| candidates[i].knobs.get(*k).is_some_and(|(_, w)| w != v))
        })
        .map(|(_, (key, _))| key.clone())
        .collect()
}

/// The candidates as points of [`crate::plot::pareto_chart`] (cost in
/// the candidates' `cost_unit`), labelled with their knob settings.
pub fn pareto_points(candidates: &[Candidate]) -> Vec<crate::plot::ParetoPoint> {
    let front = pareto_front(candidates);
    (candidates.iter().enumerate())
        .map(|(i, c)| crate::plot::ParetoPoint {
            label: (c.knobs.iter())
                .map(|(k, v)| format!("{}={}", k.rsplit('.').next().unwrap_or(k), cell(v)))
                .collect::<Vec<_>>()
                .join(" "),
            cost: c.cost,
            sla_attainment: c.sla_attainment,
            on_front: front.contains(&i),
        })
        .collect()
}

/// A knob value as TOML text (strings quoted).
pub(crate) fn toml_text(v: &Json) -> String {
    match v {
        Json::String(s) => {
            // `--set` takes unparsable text as a string; a value that is
            // TOML already (an inline table written as text) stays as is.
            if s.parse::<toml_edit::Value>().is_ok() {
                s.clone()
            } else {
                toml_edit::Value::from(s.as_str()).to_string()
            }
        }
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        Json::Null => "\"\"".to_string(),
        other => format!("{other:?}"),
    }
}

/// The knobs as TOML to paste into the scenario: grouped under the section
/// each key belongs to (`deployment.replicas = 3` becomes `replicas = 3`
/// under `[deployment]`; `deployments[1].x` notes which `[[deployments]]`
/// table).
pub fn toml_snippet(knobs: &[(String, Json)]) -> String {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for (key, value) in knobs {
        let (section, leaf) = match key.rsplit_once('.') {
            Some((s, l)) => (s.to_string(), l),
            None => (String::new(), key.as_str()),
        };
        let line = format!("{leaf} = {}", toml_text(value));
        match sections.iter_mut().find(|(s, _)| *s == section) {
            Some((_, lines)) => lines.push(line),
            None => sections.push((section, vec![line])),
        }
    }
    // Top-level keys must come before any table header.
    sections.sort_by_key(|(s, _)| !s.is_empty());
    let mut out = String::new();
    for (section, lines) in sections {
        if !section.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", section_header(&section));
        }
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// `[deployment.engine]`, or for `deployments[1].engine` the header with a
/// note saying which array element it is.
fn section_header(section: &str) -> String {
    let mut plain = Vec::new();
    let mut notes = Vec::new();
    for part in section.split('.') {
        match part.strip_suffix(']').and_then(|p| p.split_once('[')) {
            Some((name, i)) => {
                plain.push(name);
                notes.push(format!("[[{name}]] number {i} (from 0)"));
            }
            None => plain.push(part),
        }
    }
    let header = format!("[{}]", plain.join("."));
    match notes.is_empty() {
        true => header,
        false => format!("{header}  # in {}", notes.join(", ")),
    }
}

/// The Pareto front and the cheapest configuration meeting the SLA, as
/// text for the terminal.
pub fn render(candidates: &[Candidate]) -> String {
    let mut out = String::new();
    let Some(first) = candidates.first() else {
        return "no results\n".into();
    };
    let unit = first.cost_unit;
    let keys: Vec<&str> = first.knobs.iter().map(|(k, _)| k.as_str()).collect();
    let widths: Vec<usize> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (candidates.iter())
                .map(|c| c.knobs.get(i).map_or(0, |(_, v)| cell(v).len()))
                .max()
                .unwrap_or(0)
                .max(k.len())
        })
        .collect();
    let cost_header = format!("cost ({unit})");
    let _ = writeln!(
        out,
        "Pareto front of cost against SLA attainment ({} configurations, {} seed(s) each):",
        candidates.len(),
        first.seeds
    );
    let mut header = format!("  {:>7}", "config");
    for (k, w) in keys.iter().zip(&widths) {
        let _ = write!(header, "  {k:>w$}");
    }
    let _ = write!(
        header,
        "  {cost_header:>12}  {:>14}  meets SLA",
        "SLA attainment"
    );
    let _ = writeln!(out, "{header}");
    for i in pareto_front(candidates) {
        let c = &candidates[i];
        let mut line = format!("  {:>7}", c.config);
        for ((_, v), w) in c.knobs.iter().zip(&widths) {
            let _ = write!(line, "  {:>w$}", cell(v));
        }
        let _ = write!(
            line,
            "  {:>12.4}  {:>13.3}%  {}",
            c.cost,
            100.0 * c.sla_attainment,
            if c.meets_sla { "yes" } else { "no" }
        );
        let _ = writeln!(out, "{line}");
    }
    match cheapest_meeting_sla(candidates) {
        Some(i) => {
            let c = &candidates[i];
            let _ = writeln!(
                out,
                "\ncheapest configuration meeting the SLA targets on every seed: config {} \
                 ({:.4} {unit}, attainment {:.3}%). In the scenario:\n",
                c.config,
                c.cost,
                100.0 * c.sla_attainment
            );
            out.push_str(&toml_snippet(&c.knobs));
            let tied = ties(candidates, i);
            if tied.len() > 1 {
                let others: Vec<String> = tied[1..]
                    .iter()
                    .map(|&j| candidates[j].config.to_string())
                    .collect();
                let _ = write!(
                    out,
                    "\nties: config {} give{} the same cost and attainment",
                    others.join(", "),
                    if others.len() == 1 { "s" } else { "" }
                );
                let knobs = indifferent_knobs(candidates, &tied);
                if knobs.is_empty() {
                    let _ = writeln!(out, ".");
                } else {
                    let _ = writeln!(
                        out,
                        "; among them these knobs do not change the result: {}.",
                        knobs.join(", ")
                    );
                }
            }
        }
        None if !candidates.iter().any(|c| c.has_targets) => {
            let _ = writeln!(
                out,
                "\nno configuration is recommended: the scenario's [sla] has no targets, \
                 so there is nothing to meet (add [sla] targets)"
            );
        }
        None => {
            let _ = writeln!(
                out,
                "\nno configuration meets the SLA targets on every seed"
            );
        }
    }
    out
}

pub(crate) fn cell(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => toml_text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(config: usize, cost: f64, sla_attainment: f64, meets_sla: bool) -> Candidate {
        Candidate {
            config,
            knobs: Vec::new(),
            cost,
            cost_unit: "USD",
            sla_attainment,
            meets_sla,
            has_targets: true,
            seeds: 1,
        }
    }

    fn check_front(points: &[(f64, f64)], expect: &[usize]) {
        let cs: Vec<Candidate> = (points.iter().enumerate())
            .map(|(i, &(c, a))| candidate(i, c, a, false))
            .collect();
        assert_eq!(pareto_front(&cs), expect);
    }

    #[test]
    fn pareto_fronts() {
        check_front(&[], &[]);
        check_front(&[(1.0, 0.5)], &[0]);
        // Cheaper and better dominates.
        check_front(&[(2.0, 0.5), (1.0, 0.9)], &[1]);
        // A trade-off keeps both, ordered by cost.
        check_front(&[(2.0, 0.9), (1.0, 0.5)], &[1, 0]);
        // Same cost, worse attainment: dominated.
        check_front(&[(1.0, 0.5), (1.0, 0.7)], &[1]);
        // Same attainment, dearer: dominated.
        check_front(&[(1.0, 0.7), (2.0, 0.7)], &[0]);
        // Identical points: the lower configuration stays.
        check_front(&[(1.0, 0.7), (1.0, 0.7)], &[0]);
        check_front(
            &[(5.0, 1.0), (3.0, 0.8), (4.0, 0.7), (1.0, 0.2), (2.0, 0.9)],
            &[3, 4, 0],
        );
    }

    #[test]
    fn the_cheapest_meeting_the_sla() {
        let cs = [
            candidate(0, 3.0, 0.99, true),
            candidate(1, 1.0, 0.80, false),
            candidate(2, 2.0, 0.95, true),
            candidate(3, 2.0, 0.97, true),
        ];
        assert_eq!(cheapest_meeting_sla(&cs), Some(3));
        assert_eq!(cheapest_meeting_sla(&cs[..2]), Some(0));
        assert_eq!(cheapest_meeting_sla(&cs[1..2]), None);
    }

    fn with_knobs(mut c: Candidate, knobs: &[(&str, &str)]) -> Candidate {
        c.knobs = (knobs.iter())
            .map(|(k, v)| (k.to_string(), serde_json::from_str(v).unwrap()))
            .collect();
        c
    }

    #[test]
    fn ties_are_reported_with_the_knobs_that_do_not_matter() {
        let knobs = |floor: &'static str, delay: &'static str| {
            [("scaling.min_replicas", floor), ("scaling.delay_s", delay)]
        };
        let cs = [
            with_knobs(candidate(0, 2.0, 1.0, true), &knobs("4", "30")),
            with_knobs(candidate(1, 2.0, 1.0, true), &knobs("4", "60")),
            with_knobs(
                candidate(2, 2.0 * (1.0 + 1e-12), 1.0, true),
                &knobs("4", "90"),
            ),
            // Same cost but worse attainment, or missing the SLA: no tie.
            with_knobs(candidate(3, 2.0, 0.99, true), &knobs("4", "120")),
            with_knobs(candidate(4, 2.0, 1.0, false), &knobs("3", "30")),
            with_knobs(candidate(5, 3.0, 1.0, true), &knobs("5", "30")),
        ];
        let chosen = cheapest_meeting_sla(&cs).unwrap();
        assert_eq!(chosen, 0);
        assert_eq!(ties(&cs, chosen), [0, 1, 2]);
        assert_eq!(indifferent_knobs(&cs, &[0, 1, 2]), ["scaling.delay_s"]);
        assert!(indifferent_knobs(&cs, &[0]).is_empty());
        assert_eq!(ties(&cs, 5), [5]);
        let text = render(&cs);
        assert!(
            text.contains("ties: config 1, 2 give the same cost and attainment; among them these knobs do not change the result: scaling.delay_s."),
            "{text}"
        );
    }

    /// A results row of configuration `config` whose SLA section is `sla`.
    fn row(config: usize, cost: f64, sla: &str) -> Row {
        let line = format!(
            r#"{{"config":{config},"seed":1,"knobs":{{"deployment.replicas":{config}}},"summary":{{"sla":{sla},"gpu_hours":{{"billed":{cost}}}}}}}"#
        );
        Row::parse(&line, &|| "row".to_string()).unwrap()
    }

    #[test]
    fn a_configuration_without_measured_targets_is_not_recommended() {
        // Config 0 is the cheapest but served nothing: its target could not
        // be measured, so it is not met and config 1 is the cheapest.
        let none = r#"{"attainment":0.0,"targets":[{"metric":"ttft_ms","percentile":95.0,"max_ms":300.0,"actual_ms":null,"met":false,"reason":"no request completed"}],"all_targets_met":false}"#;
        let ok = r#"{"attainment":1.0,"targets":[{"metric":"ttft_ms","percentile":95.0,"max_ms":300.0,"actual_ms":100.0,"met":true,"reason":null}],"all_targets_met":true}"#;
        let cs = candidates(&[row(0, 1.0, none), row(1, 2.0, ok)]);
        assert_eq!(cheapest_meeting_sla(&cs), Some(1));
        // Without targets nothing is met vacuously, and the text says why.
        let no_targets = r#"{"attainment":0.0,"targets":[],"all_targets_met":true}"#;
        let cs = candidates(&[row(0, 1.0, no_targets), row(1, 2.0, no_targets)]);
        assert_eq!(cheapest_meeting_sla(&cs), None);
        let text = render(&cs);
        assert!(
            text.contains("no configuration is recommended: the scenario's [sla] has no targets"),
            "{text}"
        );
    }

    fn check_snippet(knobs: &[(&str, &str)], expect: &str) {
        let knobs: Vec<(String, Json)> = knobs
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::from_str(v).unwrap()))
            .collect();
        assert_eq!(toml_snippet(&knobs), expect);
    }

    #[test]
    fn snippets_group_keys_by_section() {
        check_snippet(
            &[("deployment.replicas", "3"), ("deployment.gpu", "\"h200\"")],
            "[deployment]\nreplicas = 3\ngpu = \"h200\"\n",
        );
        check_snippet(
            &[
                ("scaling.scrape.interval_s", "15"),
                ("seedless", "true"),
                ("scaling.kind", "\"kpa\""),
            ],
            "seedless = true\n\n[scaling.scrape]\ninterval_s = 15\n\n[scaling]\nkind = \"kpa\"\n",
        );
        check_snippet(
            &[("deployments[1].replicas", "2")],
            "[deployments]  # in [[deployments]] number 1 (from 0)\nreplicas = 2\n",
        );
        check_snippet(&[("sla.ttft_ms", "0.5")], "[sla]\nttft_ms = 0.5\n");
        check_snippet(&[], "");
    }
}
