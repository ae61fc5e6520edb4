//! Manifests as a tree of nodes that remember their line and whether the
//! import read them: built from `yaml-rust2`'s event parser (which marks
//! every event with its position), so each value the import maps can be
//! cited as `file:line`, each bad value is a located error, and whatever
//! no mapping read is listed as unmapped ([`Doc::unread`]).

use super::{K8sError, Origin, Unmapped};
use std::cell::Cell;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One YAML node.
#[derive(Clone, Debug)]
pub struct Node {
    /// What it holds.
    pub kind: NodeKind,
    /// 1-based line where it starts.
    pub line: usize,
    read: Cell<bool>,
}

/// A node's contents.
#[derive(Clone, Debug)]
pub enum NodeKind {
    /// A scalar as written; `plain` when unquoted (so `null`, `~` and an
    /// empty plain scalar are null).
    Scalar { text: String, plain: bool },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, keys in file order.
    Map(Vec<(String, Node)>),
}

impl Node {
    fn new(kind: NodeKind, line: usize) -> Self {
        Node {
            kind,
            line,
            read: Cell::new(false),
        }
    }

    /// Marks the node and everything under it as read.
    pub fn consume(&self) {
        self.read.set(true);
        match &self.kind {
            NodeKind::Scalar { .. } => {}
            NodeKind::Seq(items) => items.iter().for_each(Node::consume),
            NodeKind::Map(entries) => entries.iter().for_each(|(_, n)| n.consume()),
        }
    }

    fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, plain: true }
            if text.is_empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
    }
}

/// One YAML document of one file.
#[derive(Clone, Debug)]
pub struct Doc {
    /// The file's name as the import cites it.
    pub file: String,
    /// The document's root.
    pub root: Node,
}

/// The deepest nesting read: manifests nest a dozen levels; the tree's
/// walks recurse, so a hostile file must not nest without bound.
const MAX_DEPTH: usize = 128;

/// Builds nodes from the parser's events.
#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    /// Open containers: a sequence's items, or a mapping's entries with
    /// the key waiting for its value.
    stack: Vec<Open>,
    anchors: Vec<(usize, Node)>,
    error: Option<(usize, String)>,
}

enum Open {
    Seq(Vec<Node>, usize, usize),
    Map(Vec<(String, Node)>, Option<String>, usize, usize),
}

impl Builder {
    fn push(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Open::Seq(items, _, _)) => items.push(node),
            Some(Open::Map(entries, key, _, _)) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => match node.kind {
                    NodeKind::Scalar { text, .. } => *key = Some(text),
                    _ => {
                        if self.error.is_none() {
                            self.error =
                                Some((node.line, "a mapping key must be a scalar".to_string()));
                        }
                        *key = Some(String::new());
                    }
                },
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(text, style, anchor, _) => {
                let plain = style == TScalarStyle::Plain;
                self.push(Node::new(NodeKind::Scalar { text, plain }, line), anchor);
            }
            Event::SequenceStart(..) | Event::MappingStart(..)
                if self.stack.len() >= MAX_DEPTH && self.error.is_none() =>
            {
                let message = format!("nested deeper than {MAX_DEPTH} levels");
                self.error = Some((line, message));
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Open::Seq(Vec::new(), anchor, line)),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Open::Map(Vec::new(), None, anchor, line))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Open::Seq(items, anchor, line)) => {
                        (Node::new(NodeKind::Seq(items), line), anchor)
                    }
                    Some(Open::Map(entries, _, anchor, line)) => {
                        (Node::new(NodeKind::Map(entries), line), anchor)
                    }
                    None => return,
                };
                self.push(node, anchor);
            }
            Event::Alias(id) => {
                let found = self.anchors.iter().rev().find(|(a, _)| *a == id);
                let node = found.map(|(_, n)| Node { line, ..n.clone() });
                match node {
                    Some(n) => self.push(n, 0),
                    None => {
                        if self.error.is_none() {
                            self.error = Some((line, "an alias to an unknown anchor".to_string()));
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Every document of `text` (multi-document files separated by `---`);
/// empty documents are left out.
pub fn parse(file: &str, text: &str) -> Result<Vec<Doc>, K8sError> {
    let mut builder = Builder::default();
    let text = indent_flow_continuations(text);
    let mut parser = Parser::new_from_str(&text);
    parser
        .load(&mut builder, true)
        .map_err(|e| K8sError::Yaml {
            file: file.to_string(),
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
    if let Some((line, message)) = builder.error {
        return Err(K8sError::Yaml {
            file: file.to_string(),
            line,
            col: 1,
            message,
        });
    }
    Ok((builder.docs.into_iter())
        .filter(|n| !n.is_null())
        .map(|root| Doc {
            file: file.to_string(),
            root,
        })
        .collect())
}

/// `text` with every line that continues a flow collection (`[ … ]`,
/// `{ … }`) or a quoted scalar indented past the line that opened it.
///
/// Kubernetes reads manifests with go-yaml, which (like libyaml) does not
/// check indentation inside flow collections, so manifests such as vLLM's
/// own Kubernetes guide close `args: [` with a `]` under the `a` of `args`;
/// the YAML 1.2 reader here rejects that. Leading spaces of such lines mean
/// nothing in flow context, so adding some changes no value, and lines are
/// kept, so every line number stays exact.
pub fn indent_flow_continuations(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut open_indent = 0usize;
    let mut block_indent: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let blank = line.trim().is_empty();
        if let Some(b) = block_indent {
            if blank || indent > b {
                out.push_str(line);
                continue;
            }
            block_indent = None;
        }
        if (depth > 0 || quote.is_some()) && !blank && indent <= open_indent {
            out.push_str(&" ".repeat(open_indent + 1 - indent));
        }
        out.push_str(line);
        let mut prev = ' ';
        let mut at_node_start = true;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match quote {
                Some('"') => {
                    if c == '\\' {
                        chars.next();
                    } else if c == '"' {
                        quote = None;
                    }
                }
                Some(_) => {
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            quote = None;
                        }
                    }
                }
                None => match c {
                    '#' if prev.is_whitespace() => break,
                    '"' | '\'' if prev.is_whitespace() || "[{,:".contains(prev) => {
                        if depth == 0 && quote.is_none() {
                            open_indent = indent;
                        }
                        quote = Some(c);
                    }
                    '[' | '{' if depth > 0 || at_node_start => {
                        if depth == 0 {
                            open_indent = indent;
                        }
                        depth += 1;
                    }
                    ']' | '}' if depth > 0 => depth -= 1,
                    _ => {}
                },
            }
            if !c.is_whitespace() {
                // A node starts after `- `, `: `, `? ` or at the line's start.
                at_node_start = quote.is_none() && depth == 0 && matches!(c, '-' | ':' | '?');
            }
            prev = c;
        }
        if depth == 0 && quote.is_none() {
            let code = line.split(" #").next().unwrap_or("").trim_end();
            let tail = code.trim_end_matches(|c: char| c == '+' || c == '-' || c.is_ascii_digit());
            if (tail.ends_with('|') || tail.ends_with('>'))
                && (tail.len() == 1 || tail[..tail.len() - 1].ends_with([' ', ':', '-']))
            {
                block_indent = Some(indent);
            }
        }
    }
    out
}

/// A node with the file and the path that lead to it: what the mappings
/// read, and what their errors and comments cite.
#[derive(Clone, Debug)]
pub struct Here<'a> {
    /// The file's name.
    pub file: &'a str,
    /// The node.
    pub node: &'a Node,
    /// Its path from the document's root, e.g. `spec.behavior.scaleDown`.
    pub path: String,
}

impl Doc {
    /// The document's root.
    pub fn root(&self) -> Here<'_> {
        Here {
            file: &self.file,
            node: &self.root,
            path: String::new(),
        }
    }

    /// Every node nobody read, as whole subtrees where nothing under a
    /// node was read.
    pub fn unread(&self, reason: &dyn Fn(&str) -> String) -> Vec<Unmapped> {
        let mut out = Vec::new();
        walk_unread(&self.file, &self.root, "", reason, &mut out);
        out
    }
}

fn any_read(node: &Node) -> bool {
    node.read.get()
        || match &node.kind {
            NodeKind::Scalar { .. } => false,
            NodeKind::Seq(items) => items.iter().any(any_read),
            NodeKind::Map(entries) => entries.iter().any(|(_, n)| any_read(n)),
        }
}

fn walk_unread(
    file: &str,
    node: &Node,
    path: &str,
    reason: &dyn Fn(&str) -> String,
    out: &mut Vec<Unmapped>,
) {
    if node.read.get() {
        return;
    }
    if !any_read(node) && !path.is_empty() {
        out.push(Unmapped {
            origin: Origin {
                file: file.to_string(),
                line: node.line,
                path: path.to_string(),
            },
            reason: reason(path),
        });
        return;
    }
    match &node.kind {
        NodeKind::Scalar { .. } => {}
        NodeKind::Seq(items) => {
            for (i, n) in items.iter().enumerate() {
                walk_unread(file, n, &format!("{path}[{i}]"), reason, out);
            }
        }
        NodeKind::Map(entries) => {
            for (k, n) in entries {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk_unread(file, n, &p, reason, out);
            }
        }
    }
}

impl<'a> Here<'a> {
    /// Where this node is, for a comment.
    pub fn origin(&self) -> Origin {
        Origin {
            file: self.file.to_string(),
            line: self.node.line,
            path: self.path.clone(),
        }
    }

    /// A located error about this node: `message` says what is allowed.
    pub fn error(&self, message: impl Into<String>) -> K8sError {
        K8sError::Field {
            origin: self.origin(),
            message: message.into(),
        }
    }

    /// The value under `key`, if this is a mapping that has it (null
    /// values count as absent, and are marked read).
    pub fn get(&self, key: &str) -> Option<Here<'a>> {
        let NodeKind::Map(entries) = &self.node.kind else {
            return None;
        };
        let (_, node) = entries.iter().find(|(k, _)| k == key)?;
        if node.is_null() {
            node.consume();
            return None;
        }
        let path = if self.path.is_empty() {
            key.to_string()
        } else if key.contains(['.', '/']) {
            format!("{}[{key:?}]", self.path)
        } else {
            format!("{}.{key}", self.path)
        };
        Some(Here {
            file: self.file,
            node,
            path,
        })
    }

    /// Follows `keys` from here.
    pub fn at(&self, keys: &[&str]) -> Option<Here<'a>> {
        let mut here = self.clone();
        for k in keys {
            here = here.get(k)?;
        }
        Some(here)
    }

    /// The entries of a mapping (an error for anything else).
    pub fn entries(&self) -> Result<Vec<(&'a str, Here<'a>)>, K8sError> {
        let NodeKind::Map(entries) = &self.node.kind else {
            return Err(self.error("expected a mapping"));
        };
        Ok(entries
            .iter()
            .filter_map(|(k, _)| Some((k.as_str(), self.get(k)?)))
            .collect())
    }

    /// The items of a sequence (an error for anything else).
    pub fn items(&self) -> Result<Vec<Here<'a>>, K8sError> {
        let NodeKind::Seq(items) = &self.node.kind else {
            return Err(self.error("expected a list"));
        };
        Ok((items.iter().enumerate())
            .map(|(i, node)| Here {
                file: self.file,
                node,
                path: format!("{}[{i}]", self.path),
            })
            .collect())
    }

    /// The scalar's text, marked read.
    pub fn text(&self) -> Result<&'a str, K8sError> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } => {
                self.node.read.set(true);
                Ok(text)
            }
            _ => Err(self.error("expected a single value, not a list or mapping")),
        }
    }

    /// A whole number in `range`.
    pub fn u32_in(&self, range: std::ops::RangeInclusive<u32>) -> Result<u32, K8sError> {
        let text = self.text()?;
        match text.trim().parse::<u32>() {
            Ok(v) if range.contains(&v) => Ok(v),
            _ => Err(self.error(format!(
                "`{text}` is not allowed: a whole number from {} to {}",
                range.start(),
                range.end()
            ))),
        }
    }

    /// A finite number.
    pub fn f64(&self) -> Result<f64, K8sError> {
        let text = self.text()?;
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.error(format!("`{text}` is not allowed: a number"))),
        }
    }

    /// A Kubernetes quantity (`3`, `0.5`, `500m`, `2k`): the value as a
    /// number.
    pub fn quantity(&self) -> Result<f64, K8sError> {
        let text = self.text()?;
        parse_quantity(text).ok_or_else(|| {
            self.error(format!(
                "`{text}` is not allowed: a Kubernetes quantity (a number, optionally \
                 with a suffix m, k, M, G, Ki, Mi or Gi)"
            ))
        })
    }

    /// A duration in whole seconds: Go's `time.ParseDuration` form (`90s`,
    /// `1m30s`, `2m`) or, where `bare_seconds`, a plain number of seconds.
    pub fn duration_s(&self, bare_seconds: bool) -> Result<u64, K8sError> {
        let text = self.text()?;
        let parsed = match text.trim().parse::<u64>() {
            Ok(v) if bare_seconds => Some(v),
            _ => parse_duration_s(text.trim()),
        };
        parsed.ok_or_else(|| {
            self.error(format!(
                "`{text}` is not allowed: a duration in whole seconds such as `90s`, `1m30s` or `2m`"
            ))
        })
    }

    /// `true` or `false` (also quoted).
    pub fn bool(&self) -> Result<bool, K8sError> {
        let text = self.text()?;
        match text.trim() {
            "true" | "True" | "TRUE" => Ok(true),
            "false" | "False" | "FALSE" => Ok(false),
            _ => Err(self.error(format!("`{text}` is not allowed: true or false"))),
        }
    }
}

/// A Kubernetes quantity's value (decimal and binary suffixes).
pub fn parse_quantity(text: &str) -> Option<f64> {
    let t = text.trim();
    let suffixes: [(&str, f64); 9] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("", 1.0),
    ];
    let (number, factor) = suffixes
        .iter()
        .find_map(|(s, f)| t.strip_suffix(s).map(|n| (n, *f)))?;
    let v: f64 = number.parse().ok()?;
    (v.is_finite() && !number.is_empty()).then_some(v * factor)
}

/// Whole seconds of a Go duration made of `h`, `m` and `s` segments.
pub fn parse_duration_s(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
    }
    digits.is_empty().then_some(total)
}

/// `seconds` as a Go duration (`90s`).
pub fn format_duration_s(seconds: u64) -> String {
    format!("{seconds}s")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn nodes_know_their_lines_across_documents() {
        let text = "a: 1\n---\n# c\nkind: X\nspec:\n  n: [1, 2]\n";
        let docs = parse("f.yaml", text).unwrap();
        assert_eq!(docs.len(), 2);
        let spec = docs[1].root().get("spec").unwrap();
        assert_eq!(spec.get("n").unwrap().node.line, 6);
        assert_eq!(docs[1].root().get("kind").unwrap().text().unwrap(), "X");
        let unread = docs[1].unread(&|_| "r".to_string());
        let paths: Vec<_> = unread.iter().map(|u| u.origin.path.as_str()).collect();
        assert_eq!(paths, ["spec"]);
    }

    #[test]
    fn flow_collections_closed_at_their_parent_indentation_read_as_kubectl_reads_them() {
        let text = "spec:\n  args: [\n    \"vllm serve m\"\n  ]\n  script: |\n    x = [1,\n  env: [a,\n b]\n";
        let docs = parse("f.yaml", text).unwrap();
        let spec = docs[0].root().get("spec").unwrap();
        let args = spec.get("args").unwrap().items().unwrap();
        assert_eq!(args[0].text().unwrap(), "vllm serve m");
        assert_eq!(args[0].node.line, 3);
        assert_eq!(spec.get("script").unwrap().text().unwrap(), "x = [1,\n");
        let env = spec.get("env").unwrap().items().unwrap();
        assert_eq!(env[1].text().unwrap(), "b");
        assert_eq!(env[1].node.line, 8);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = parse("deep.yaml", &text).unwrap_err().to_string();
        assert!(err.starts_with("deep.yaml:1:"), "{err}");
    }

    #[test]
    fn a_syntax_error_is_located() {
        let err = parse("bad.yaml", "a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.to_string().starts_with("bad.yaml:"), "{err}");
    }

    #[test]
    fn quantities_and_durations() {
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("3"), Some(3.0));
        assert_eq!(parse_quantity("2Ki"), Some(2048.0));
        assert_eq!(parse_quantity("x"), None);
        assert_eq!(parse_duration_s("1m30s"), Some(90));
        assert_eq!(parse_duration_s("90"), None);
        assert_eq!(parse_duration_s("1.5s"), None);
    }
}
