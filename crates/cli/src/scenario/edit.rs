//! `--set key=value` overrides and mapping dotted field names back to lines.

use toml_edit::{DocumentMut, Item, Table, Value};

/// Applies `key=value` overrides to a TOML document. `key` is a dotted path
/// (`deployment.replicas`); `value` is parsed as a TOML value (`4`, `0.9`,
/// `"h200"`, `[1, 2]`, `{ kind = "poisson", rate_per_s = 3 }`) and taken as
/// a plain string if it does not parse (`gpu=h200`).
pub fn apply_sets(doc: &mut DocumentMut, sets: &[String]) -> Result<(), String> {
    for set in sets {
        let Some((key, raw)) = set.split_once('=') else {
            return Err(format!(
                "--set {set:?}: expected KEY=VALUE, e.g. deployment.replicas=4"
            ));
        };
        let key = key.trim();
        let parts: Vec<&str> = key.split('.').map(str::trim).collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(format!("--set {set:?}: empty key segment in {key:?}"));
        }
        let value = raw
            .trim()
            .parse::<Value>()
            .unwrap_or_else(|_| Value::from(raw.trim()));
        let mut table: &mut Table = doc.as_table_mut();
        for part in &parts[..parts.len() - 1] {
            let entry = table.entry(part).or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            });
            if let Some(inline) = entry.as_inline_table().cloned() {
                *entry = Item::Table(inline.into_table());
            }
            table = match entry.as_table_mut() {
                Some(t) => t,
                None => return Err(format!("--set {set:?}: `{part}` is a value, not a section")),
            };
        }
        let last = parts[parts.len() - 1];
        table.insert(last, Item::Value(value));
    }
    Ok(())
}

/// 1-based line of `offset` in `text`.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The line on which a dotted field (`deployment.engine.max_num_seqs`,
/// `sla.targets[0].max_ms`) is written, or the closest enclosing section
/// that is written, if any.
pub fn line_of_field(text: &str, field: &str) -> Option<usize> {
    let doc = toml_edit::Document::parse(text.to_string()).ok()?;
    let mut best: Option<usize> = None;
    let mut item: &Item = doc.as_item();
    for segment in field.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let Some((key, next)) = item.as_table_like().and_then(|t| t.get_key_value(name)) else {
            return best;
        };
        if let Some(span) = key.span() {
            best = Some(line_of_offset(text, span.start));
        }
        item = next;
        if let Some(i) = index {
            match item {
                Item::ArrayOfTables(a) => match a.get(i) {
                    Some(t) => {
                        if let Some(span) = t.span() {
                            best = Some(line_of_offset(text, span.start));
                        }
                        return best;
                    }
                    None => return best,
                },
                Item::Value(Value::Array(a)) => {
                    if let Some(span) = a.get(i).and_then(|v| v.span()) {
                        best = Some(line_of_offset(text, span.start));
                    }
                    return best;
                }
                _ => return best,
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_set(input: &str, sets: &[&str], expect: &str) {
        let mut doc: DocumentMut = input.parse().unwrap();
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        apply_sets(&mut doc, &sets).unwrap();
        assert_eq!(doc.to_string(), expect);
    }

    #[test]
    fn set_replaces_and_creates_keys() {
        check_set(
            "[deployment]\nreplicas = 2\n",
            &["deployment.replicas=4"],
            "[deployment]\nreplicas = 4\n",
        );
        check_set(
            "[deployment]\ngpu = \"h100-sxm\"\n",
            &["deployment.gpu=h200"],
            "[deployment]\ngpu = \"h200\"\n",
        );
        check_set("seed = 1\n", &["seed=7"], "seed = 7\n");
        check_set(
            "",
            &["output.timeseries_resolution_s=5"],
            "[output]\ntimeseries_resolution_s = 5\n",
        );
    }

    #[test]
    fn set_reaches_into_inline_tables() {
        let mut doc: DocumentMut =
            "[workload]\narrival = { kind = \"poisson\", rate_per_s = 1.0 }\n"
                .parse()
                .unwrap();
        apply_sets(&mut doc, &["workload.arrival.rate_per_s=3.5".to_string()]).unwrap();
        let text = doc.to_string();
        assert!(text.contains("rate_per_s = 3.5"), "{text}");
    }

    #[test]
    fn bad_set_syntax_is_an_error() {
        let mut doc = DocumentMut::new();
        assert!(apply_sets(&mut doc, &["replicas".to_string()])
            .unwrap_err()
            .contains("KEY=VALUE"));
        assert!(apply_sets(&mut doc, &["a..b=1".to_string()])
            .unwrap_err()
            .contains("empty key segment"));
        let mut doc: DocumentMut = "seed = 1\n".parse().unwrap();
        assert!(apply_sets(&mut doc, &["seed.x=1".to_string()])
            .unwrap_err()
            .contains("not a section"));
    }

    #[test]
    fn fields_map_to_their_lines() {
        let text = "seed = 1\n\n[deployment]\nreplicas = 0\n[deployment.engine]\nmax_num_seqs = 9\n[sla]\ntargets = [\n  { metric = \"ttft_ms\", percentile = 95, max_ms = 1 },\n  { metric = \"ttft_ms\", percentile = 101, max_ms = 1 },\n]\n";
        assert_eq!(line_of_field(text, "seed"), Some(1));
        assert_eq!(line_of_field(text, "deployment.replicas"), Some(4));
        assert_eq!(
            line_of_field(text, "deployment.engine.max_num_seqs"),
            Some(6)
        );
        assert_eq!(
            line_of_field(text, "deployment.engine.nothing"),
            Some(5),
            "falls back to the section"
        );
        assert_eq!(line_of_field(text, "nothing"), None);
        assert_eq!(line_of_field(text, "sla.targets[1].percentile"), Some(10));
    }
}
