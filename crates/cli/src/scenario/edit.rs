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
            // `name[i]`: the i-th table of an array of tables (`[[name]]`).
            if let Some((name, index)) = part.strip_suffix(']').and_then(|p| p.split_once('[')) {
                let i: usize = index
                    .parse()
                    .map_err(|_| format!("--set {set:?}: `{part}`: the index must be a number"))?;
                // A list of inline tables (`policies = [{ ... }, { ... }]`)
                // is edited as the array of tables it means.
                if let Some(item) = table.get_mut(name) {
                    if let Some(tables) = inline_tables(item) {
                        *item = Item::ArrayOfTables(tables);
                    }
                }
                let Some(array) = table.get_mut(name).and_then(Item::as_array_of_tables_mut) else {
                    return Err(format!(
                        "--set {set:?}: `{name}` is not a list of [[{name}]] tables"
                    ));
                };
                let len = array.len();
                table = array.get_mut(i).ok_or_else(|| {
                    format!("--set {set:?}: `{part}`: there are {len} [[{name}]] tables, counted from 0")
                })?;
                continue;
            }
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

/// `item` as an array of tables, when it is a non-empty inline list of
/// inline tables.
fn inline_tables(item: &Item) -> Option<toml_edit::ArrayOfTables> {
    let list = item.as_array().filter(|a| !a.is_empty())?;
    let mut tables = toml_edit::ArrayOfTables::new();
    for v in list.iter() {
        tables.push(v.as_inline_table()?.clone().into_table());
    }
    Some(tables)
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
    // Owned: an element of an array of tables is a `Table`, not an `Item`
    // (this runs once per error, so the clones do not matter).
    let mut item: Item = doc.as_item().clone();
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
        let next = next.clone();
        item = match (index, next) {
            (None, next) => next,
            (Some(i), Item::ArrayOfTables(a)) => match a.get(i) {
                Some(t) => {
                    if let Some(span) = t.span() {
                        best = Some(line_of_offset(text, span.start));
                    }
                    Item::Table(t.clone())
                }
                None => return best,
            },
            (Some(i), Item::Value(Value::Array(a))) => match a.get(i) {
                Some(v) => {
                    if let Some(span) = v.span() {
                        best = Some(line_of_offset(text, span.start));
                    }
                    Item::Value(v.clone())
                }
                None => return best,
            },
            (Some(_), _) => return best,
        };
    }
    best
}

/// The dotted field (`deployment.replicas`, `sla.targets[1].max_ms`) that a
/// deserialisation error at byte range `span` of `text` is about, given the
/// error's `message`.
///
/// The key or value whose span holds the start of `span` names the field;
/// an empty span is an error about the whole document (`missing field `x``
/// names the top-level `x`). An error
/// inside a section deserialised through a `kind`-tagged enum (`[workload]`,
/// `arrival = { … }`) points at the whole section, since serde buffers it;
/// then the message is used to find the key inside: a quoted path
/// (`scaleUp.policies[0].value`) that ends the path of an item inside
/// names that item (plus the key of a `missing field` the item lacks);
/// otherwise `unknown field `x`` finds key `x`, `missing field `x``
/// appends `x`, and `invalid type` / `invalid value` / `unknown variant`
/// find the value the message quotes.
/// Returns `None` if the document does not parse or nothing holds `offset`.
pub fn field_at_span(text: &str, span: std::ops::Range<usize>, message: &str) -> Option<String> {
    let quoted = |prefix: &str| {
        let rest = message.split_once(prefix)?.1;
        rest.split_once('`').map(|(name, _)| name.to_string())
    };
    if span.is_empty() {
        return quoted("missing field `");
    }
    let doc = toml_edit::Document::parse(text.to_string()).ok()?;
    let mut path = Vec::new();
    let section = locate(doc.as_item(), span.start, &mut path)?;
    if let Some(section) = section {
        // Quotes after ", expected" list what would have been valid, not the input.
        let found = message.split(", expected").next().unwrap_or(message);
        let named = quoted_paths(message).find_map(|p| path_ending_in(&section, &p));
        if let Some((inner, item)) = named {
            path.extend(inner);
            if let Some(name) = quoted("missing field `") {
                if item.as_table_like().is_some_and(|t| !t.contains_key(&name)) {
                    path.push(name);
                }
            }
        } else if let Some(name) = quoted("unknown field `") {
            let mut inner = Vec::new();
            if search(&section, &mut inner, &|key, _| key == name) {
                path.extend(inner);
            }
        } else if let Some(name) = quoted("missing field `") {
            // The section has the key: it is missing from a table inside
            // (`arrival = { rate_per_s = 2 }` without its `kind`).
            let has = |item: &Item| item.as_table_like().is_some_and(|t| t.contains_key(&name));
            let mut inner = Vec::new();
            if has(&section)
                && search_item(&section, &mut inner, &|item| {
                    item.is_table_like() && !has(item)
                })
            {
                path.extend(inner);
            }
            path.push(name);
        } else {
            let mut inner = Vec::new();
            if search(&section, &mut inner, &|_, value| {
                value.is_some_and(|v| value_quoted_in(v, found))
            }) {
                path.extend(inner);
            }
        }
    }
    join_path(&path)
}

/// The dotted paths a message quotes (`scaleUp.policies[0]`), as path
/// segments (`scaleUp`, `policies`, `[0]`); a single key is no path.
fn quoted_paths(message: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    let path_char = |c: char| c.is_ascii_alphanumeric() || "_-.[]".contains(c);
    (message.split('`').skip(1).step_by(2))
        .filter(move |q| q.contains(['.', '[']) && q.chars().all(path_char))
        .map(|q| {
            let mut segments = Vec::new();
            for part in q.split('.') {
                let (name, rest) = part.split_at(part.find('[').unwrap_or(part.len()));
                if !name.is_empty() {
                    segments.push(name.to_string());
                }
                (rest.split_inclusive(']')).for_each(|i| segments.push(i.to_string()));
            }
            segments
        })
        .filter(|segments| segments.len() >= 2)
}

/// The path below `item` (and the item there) whose last segments are
/// `tail`, searched depth first.
fn path_ending_in(item: &Item, tail: &[String]) -> Option<(Vec<String>, Item)> {
    fn walk(item: &Item, path: &mut Vec<String>, tail: &[String]) -> Option<Item> {
        for (segment, _, child) in children(item) {
            path.push(segment);
            if path.ends_with(tail) {
                return Some(child);
            }
            if let Some(found) = walk(&child, path, tail) {
                return Some(found);
            }
            path.pop();
        }
        None
    }
    let mut path = Vec::new();
    let found = walk(item, &mut path, tail)?;
    Some((path, found))
}

/// Path segments to a dotted name; `[i]` segments attach to the one before.
fn join_path(path: &[String]) -> Option<String> {
    let mut out = String::new();
    for segment in path {
        if !out.is_empty() && !segment.starts_with('[') {
            out.push('.');
        }
        out.push_str(segment);
    }
    (!out.is_empty()).then_some(out)
}

fn contains(span: Option<std::ops::Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

/// The children of a table, inline table, array or array of tables: path
/// segment, key span (for tables) and item.
fn children(item: &Item) -> Vec<(String, Option<std::ops::Range<usize>>, Item)> {
    if let Some(table) = item.as_table_like() {
        return table
            .iter()
            .map(|(name, child)| {
                let span = table.get_key_value(name).and_then(|(k, _)| k.span());
                (name.to_string(), span, child.clone())
            })
            .collect();
    }
    match item {
        Item::ArrayOfTables(a) => a
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("[{i}]"), None, Item::Table(t.clone())))
            .collect(),
        Item::Value(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("[{i}]"), None, Item::Value(v.clone())))
            .collect(),
        _ => Vec::new(),
    }
}

/// Finds the innermost key or item holding `offset`, leaving its path in
/// `path`. Returns `Some(Some(section))` when the hit is a table's own span
/// (the error is somewhere inside it), `Some(None)` for a key or a value.
fn locate(item: &Item, offset: usize, path: &mut Vec<String>) -> Option<Option<Item>> {
    for (segment, key_span, child) in children(item) {
        path.push(segment);
        if contains(key_span, offset) {
            return Some(None);
        }
        if let Some(found) = locate(&child, offset, path) {
            return Some(found);
        }
        path.pop();
    }
    if path.is_empty() || !contains(item.span(), offset) {
        return None;
    }
    Some(item.is_table_like().then(|| item.clone()))
}

/// Depth-first search below `item` for a key (or leaf value) accepted by
/// `accept`; leaves the path to it in `path`.
fn search(
    item: &Item,
    path: &mut Vec<String>,
    accept: &dyn Fn(&str, Option<&Value>) -> bool,
) -> bool {
    for (segment, _, child) in children(item) {
        path.push(segment);
        let leaf = match &child {
            Item::Value(v) if !matches!(v, Value::Array(_) | Value::InlineTable(_)) => Some(v),
            _ => None,
        };
        if accept(&path[path.len() - 1], leaf) || search(&child, path, accept) {
            return true;
        }
        path.pop();
    }
    false
}

/// Depth-first search below `item` for an item accepted by `accept`;
/// leaves the path to it in `path`.
fn search_item(item: &Item, path: &mut Vec<String>, accept: &dyn Fn(&Item) -> bool) -> bool {
    for (segment, _, child) in children(item) {
        path.push(segment);
        if accept(&child) || search_item(&child, path, accept) {
            return true;
        }
        path.pop();
    }
    false
}

/// Whether serde's description of an unexpected value (`string "four"`,
/// ``integer `-5` ``, ``unknown variant `x` ``) quotes `value`.
fn value_quoted_in(value: &Value, message: &str) -> bool {
    match value {
        Value::String(s) => {
            message.contains(&format!("string {:?}", s.value()))
                || message.contains(&format!("`{}`", s.value()))
        }
        Value::Integer(i) => message.contains(&format!("integer `{}`", i.value())),
        // Compared as numbers: the message may spell 1e300 out in full.
        Value::Float(f) => (message.split("floating point `").skip(1))
            .filter_map(|rest| rest.split('`').next()?.parse::<f64>().ok())
            .any(|v| v.to_bits() == f.value().to_bits()),
        Value::Boolean(b) => message.contains(&format!("boolean `{}`", b.value())),
        _ => false,
    }
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
    fn set_reaches_into_arrays_of_tables() {
        let doc = "[[deployments]]\nname = \"a\"\n[[deployments]]\nname = \"b\"\nreplicas = 1\n";
        check_set(
            doc,
            &["deployments[1].replicas=3", "deployments[0].router.kind=random"],
            "[[deployments]]\nname = \"a\"\n\n[deployments.router]\nkind = \"random\"\n[[deployments]]\nname = \"b\"\nreplicas = 3\n",
        );
        let mut d: DocumentMut = doc.parse().unwrap();
        let err = apply_sets(&mut d, &["deployments[2].replicas=3".into()]).unwrap_err();
        assert!(err.contains("there are 2 [[deployments]] tables"), "{err}");
        let err = apply_sets(&mut d, &["pools[0].name=x".into()]).unwrap_err();
        assert!(err.contains("not a list"), "{err}");
        let err = apply_sets(&mut d, &["deployments[x].name=x".into()]).unwrap_err();
        assert!(err.contains("must be a number"), "{err}");
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

    /// An entry of an inline list of tables is reached by index, also
    /// inside inline tables (an HPA behavior written on one line); a list
    /// of plain values is not a list of tables.
    #[test]
    fn set_reaches_into_inline_lists_of_tables() {
        let mut doc: DocumentMut = "[scaling]\nbehavior = { scaleUp = { policies = [{ type = \"Pods\", value = 4, periodSeconds = 15 }, { type = \"Percent\", value = 100, periodSeconds = 15 }] } }\n"
            .parse()
            .unwrap();
        let sets = ["scaling.behavior.scaleUp.policies[1].value=50".to_string()];
        apply_sets(&mut doc, &sets).unwrap();
        let v: toml::Value = toml::from_str(&doc.to_string()).unwrap();
        let policies = &v["scaling"]["behavior"]["scaleUp"]["policies"];
        assert_eq!(policies[0]["value"].as_integer(), Some(4));
        assert_eq!(policies[1]["value"].as_integer(), Some(50));
        assert_eq!(policies[1]["type"].as_str(), Some("Percent"));
        let mut doc: DocumentMut = "[sla]\nlist = [1, 2]\n".parse().unwrap();
        let err = apply_sets(&mut doc, &["sla.list[0].x=1".to_string()]).unwrap_err();
        assert!(err.contains("not a list of [[list]] tables"), "{err}");
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

    /// A message quoting a path inside the section names the item there,
    /// even where another key holds the same value; a missing key is
    /// appended to the table the path names.
    #[test]
    fn a_quoted_path_names_the_item_inside_a_section() {
        let text = "[scaling]\nkind = \"hpa\"\n[scaling.behavior.scaleUp]\n\
                    stabilizationWindowSeconds = 0\n\
                    policies = [{ value = 4, periodSeconds = 15 }, { type = \"Pods\", value = 0, periodSeconds = 15 }]\n";
        let cases = [
            (
                "invalid value: integer `0`, expected `scaleUp.policies[1].value` > 0",
                Some("scaling.behavior.scaleUp.policies[1].value"),
            ),
            (
                "missing field `type` in `scaleUp.policies[0]`",
                Some("scaling.behavior.scaleUp.policies[0].type"),
            ),
            // The key is there: the path alone.
            (
                "missing field `value` in `scaleUp.policies[0]`",
                Some("scaling.behavior.scaleUp.policies[0]"),
            ),
            (
                "invalid length 0, expected `scaleUp.policies` with at least one policy",
                Some("scaling.behavior.scaleUp.policies"),
            ),
            // A path that is not in the document: the other rules.
            (
                "invalid value: integer `0`, expected `scaleDown.policies[0].value` > 0",
                Some("scaling.behavior.scaleUp.stabilizationWindowSeconds"),
            ),
            // One key is no path.
            (
                "unknown field `stabilizationWindowSeconds`",
                Some("scaling.behavior.scaleUp.stabilizationWindowSeconds"),
            ),
        ];
        for (message, want) in cases {
            assert_eq!(
                field_at(text, "[scaling]", message).as_deref(),
                want,
                "{message}"
            );
        }
    }

    /// The field `field_at_span` names for an error at the first
    /// occurrence of `at` in `text`.
    fn field_at(text: &str, at: &str, message: &str) -> Option<String> {
        let start = text.find(at).unwrap();
        field_at_span(text, start..start + at.len(), message)
    }

    #[test]
    fn error_offsets_map_to_fields() {
        let text =
            "seed = 1\n[deployment]\nreplicas = \"four\"\n[deployment.engine]\nmax_num_seq = 3\n\
                    [workload]\nkind = \"synthetic\"\narrival = { kind = \"poisson\", rate = 1 }\n\
                    input_tokens = { kind = \"fixed\", tokens = -5 }\n\
                    [[sla.targets]]\nmetric = \"ttft_ms\"\n[[sla.targets]]\nmetric = \"nope\"\n";
        let check = |at: &str, message: &str, expect: Option<&str>| {
            assert_eq!(
                field_at(text, at, message).as_deref(),
                expect,
                "{at:?} {message:?}"
            );
        };
        check(
            "\"four\"",
            "invalid type: string \"four\", expected u32",
            Some("deployment.replicas"),
        );
        check(
            "max_num_seq",
            "unknown field `max_num_seq`",
            Some("deployment.engine.max_num_seq"),
        );
        check("seed", "whatever", Some("seed"));
        // Errors inside a tagged enum point at the section; the message finds the key.
        check(
            "[workload]",
            "unknown field `rate`, expected `rate_per_s`",
            Some("workload.arrival.rate"),
        );
        check(
            "[workload]",
            "invalid value: integer `-5`, expected u32",
            Some("workload.input_tokens.tokens"),
        );
        check(
            "[workload]",
            "missing field `duration_s`",
            Some("workload.duration_s"),
        );
        // A `kind` missing inside: not `workload.kind`, which is there.
        let no_kind = "[workload]\nkind = \"synthetic\"\narrival = { rate_per_s = 2 }\n\
                       input_tokens = { kind = \"fixed\", tokens = 5 }\n";
        assert_eq!(
            field_at(no_kind, "[workload]", "missing field `kind`").as_deref(),
            Some("workload.arrival.kind")
        );
        // A float the message spells out in full.
        assert_eq!(
            field_at(
                "[scaling]\nkind = \"hpa\"\nsync_period_s = 1e300\n",
                "[scaling]",
                &format!("invalid type: floating point `{:.1}`, expected u32", 1e300)
            )
            .as_deref(),
            Some("scaling.sync_period_s")
        );
        check(
            "[workload]",
            "unknown variant `fixed`, expected one of `synthetic`, `trace`",
            Some("workload.input_tokens.kind"),
        );
        // Quotes after "expected" are not the input.
        check(
            "[workload]",
            "unknown variant `x`, expected `synthetic`",
            Some("workload"),
        );
        check(
            "\"nope\"",
            "unknown variant `nope`",
            Some("sla.targets[1].metric"),
        );
        assert_eq!(
            field_at_span(text, text.len() + 5..text.len() + 6, "x"),
            None
        );
        assert_eq!(field_at_span("a = [", 0..1, "x"), None);
        // An empty span is the whole document.
        let missing = "missing field `workload`";
        assert_eq!(
            field_at_span(text, 0..0, missing).as_deref(),
            Some("workload")
        );
        assert_eq!(field_at_span(text, 0..0, "invalid type"), None);
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
        // Keys inside an element of an array of tables.
        let text = "[[pools]]\nname = \"a\"\n[[pools]]\nname = \"b\"\nmax_nodes = 0\n";
        assert_eq!(line_of_field(text, "pools[1].max_nodes"), Some(5));
        assert_eq!(line_of_field(text, "pools[1].name"), Some(4));
        assert_eq!(line_of_field(text, "pools[0].name"), Some(2));
        assert_eq!(
            line_of_field(text, "pools[1].nothing"),
            Some(3),
            "the element"
        );
        assert_eq!(line_of_field(text, "pools[2].name"), Some(1), "the array");
    }
}
