//! Tidy checks over the workspace's own sources (issue 11).
//!
//! 1. fleetsim-core's code (`crates/sim-core/src`, outside test code) names
//!    nothing that reads the wall clock, spawns threads, touches the file
//!    system, draws from an unnamed random source or keeps a hash
//!    container: see [`FORBIDDEN`]. A `HashMap` / `HashSet` that is only
//!    looked up, never iterated, is allowed per file in [`HASH_ALLOWED`],
//!    with the reason.
//! 2. No source file under `crates/*/src` outside test code is longer than
//!    [`MAX_LINES`] lines unless one of its first lines is a reason comment
//!    `//! Long file: <reason>` or it is in [`LONG_ALLOWED`].
//!
//! Test code is a file named `tests.rs` or under a `tests/` directory, and
//! any item behind `#[cfg(test)]`. Comments, string and character literals
//! are blanked before matching, so a forbidden word in a doc comment or a
//! message does not count.

use std::fs;
use std::path::{Path, PathBuf};

/// What fleetsim-core's non-test code must not name: (text, why).
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "std::fs",
        "the engine touches no file system: readers take `impl Read`",
    ),
    ("std::time::Instant", "the engine reads no wall clock"),
    ("Instant::now", "the engine reads no wall clock"),
    ("SystemTime", "the engine reads no wall clock"),
    ("thread::", "the engine spawns no threads"),
    (
        "thread_rng",
        "every draw comes from a named stream (`rng::stream`)",
    ),
    (
        "StdRng",
        "every draw comes from a named stream (`rng::stream`)",
    ),
    (
        "rand::rng()",
        "every draw comes from a named stream (`rng::stream`)",
    ),
    (
        "HashMap",
        "iteration order is not reproducible: use a BTreeMap",
    ),
    (
        "HashSet",
        "iteration order is not reproducible: use a BTreeSet",
    ),
];

/// Files of `crates/sim-core/src` (relative to it) that may use `HashMap` /
/// `HashSet`, and why: (file, reason).
const HASH_ALLOWED: &[(&str, &str)] = &[(
    "replica/prefix_cache.rs",
    "block hash → slot lookups only, never iterated; recency is an intrusive list",
)];

/// The longest a non-test source file may be without a reason comment.
const MAX_LINES: usize = 800;

/// The reason comment that lets a file be longer, within its first
/// [`LONG_MARKER_LINES`] lines: `//! Long file: <reason>`.
const LONG_MARKER: &str = "//! Long file: ";
const LONG_MARKER_LINES: usize = 5;

/// Files (relative to the workspace root) allowed over [`MAX_LINES`]
/// without a reason comment, because they cannot be edited right now:
/// (file, reason).
const LONG_ALLOWED: &[(&str, &str)] = &[];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, sorted, as paths relative to `base` with
/// `/` separators.
fn rust_files(base: &Path, dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(dir, &mut paths);
    let mut names: Vec<String> = (paths.iter())
        .map(|p| {
            let rel = p.strip_prefix(base).expect("under base");
            let parts: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            parts.join("/")
        })
        .collect();
    names.sort();
    names
}

/// Test code: a file named `tests.rs` or under a `tests/` directory.
fn is_test_file(rel: &str) -> bool {
    let mut parts = rel.split('/').rev();
    parts.next() == Some("tests.rs") || parts.any(|d| d == "tests")
}

/// `source` with the text of comments, string literals and character
/// literals replaced by spaces (line breaks kept, so line numbers hold).
fn blank_comments_and_strings(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (i == 0
                || !is_ident(chars[i - 1])
                || (chars[i - 1] == 'b' && (i < 2 || !is_ident(chars[i - 2]))))
            && matches!(next, Some('"') | Some('#'))
        {
            // Raw string r"…", r#"…"#, br"…" (the `b` went out as code).
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            out.extend(std::iter::repeat_n(' ', j - i + 1));
            i = j + 1;
            while i < chars.len() {
                if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() {
                let d = chars[i];
                if d == '\\' {
                    out.push(' ');
                    if let Some(&e) = chars.get(i + 1) {
                        out.push(blank(e));
                    }
                    i += 2;
                    continue;
                }
                out.push(blank(d));
                i += 1;
                if d == '"' {
                    break;
                }
            }
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let end = if next == Some('\\') {
                (i + 3..chars.len()).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.extend(std::iter::repeat_n(' ', end - i + 1));
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `code` (already blanked) with every item behind `#[cfg(test)]` blanked
/// too: up to its first `;` or through the braces it opens.
fn blank_cfg_test_items(code: &str) -> String {
    const ATTR: &str = "#[cfg(test)]";
    let mut bytes = code.as_bytes().to_vec();
    let mut from = 0;
    while let Some(at) = code[from..].find(ATTR).map(|k| k + from) {
        let mut depth = 0usize;
        let mut end = code.len();
        for (k, b) in code.bytes().enumerate().skip(at + ATTR.len()) {
            match b {
                b';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        for b in &mut bytes[at..end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        from = end;
    }
    // Only ASCII bytes were replaced by ASCII spaces, whole characters at a
    // time outside string contents, which are blank already.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The forbidden uses in one file's `source`: (line, text, why), in order.
fn forbidden_uses(source: &str, allow_hash: bool) -> Vec<(usize, &'static str, &'static str)> {
    let code = blank_cfg_test_items(&blank_comments_and_strings(source));
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        for &(text, why) in FORBIDDEN {
            if allow_hash && text.starts_with("Hash") {
                continue;
            }
            if line.contains(text) {
                found.push((n + 1, text, why));
            }
        }
    }
    found
}

/// Whether one of the first lines of `source` gives a reason to be long.
fn has_long_reason(source: &str) -> bool {
    (source.lines().take(LONG_MARKER_LINES)).any(|l| {
        l.strip_prefix(LONG_MARKER)
            .is_some_and(|r| !r.trim().is_empty())
    })
}

#[test]
fn core_names_no_clock_threads_files_or_hash_containers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src, &src);
    assert!(
        files.iter().any(|f| f == "lib.rs"),
        "walked {}",
        src.display()
    );
    let mut problems = Vec::new();
    for rel in files.iter().filter(|f| !is_test_file(f)) {
        let source = fs::read_to_string(src.join(rel)).expect("read source");
        let allow_hash = HASH_ALLOWED.iter().any(|(f, _)| f == rel);
        for (line, text, why) in forbidden_uses(&source, allow_hash) {
            problems.push(format!("crates/sim-core/src/{rel}:{line}: `{text}`: {why}"));
        }
    }
    for (file, _) in HASH_ALLOWED {
        let source = fs::read_to_string(src.join(file)).unwrap_or_default();
        if forbidden_uses(&source, false)
            .iter()
            .all(|(_, t, _)| !t.starts_with("Hash"))
        {
            problems.push(format!(
                "HASH_ALLOWED names crates/sim-core/src/{file}, which no longer uses a hash container: remove the entry"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_source_file_is_long_without_a_reason() {
    let root = workspace_root();
    let mut crates: Vec<PathBuf> = (fs::read_dir(root.join("crates")).expect("crates/"))
        .map(|e| e.expect("directory entry").path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    crates.sort();
    assert!(crates.len() >= 3, "walked {}", root.display());
    let mut problems = Vec::new();
    for src in &crates {
        for rel in rust_files(&root, src).iter().filter(|f| !is_test_file(f)) {
            let source = fs::read_to_string(root.join(rel)).expect("read source");
            let lines = source.lines().count();
            let allowed = LONG_ALLOWED.iter().any(|(f, _)| f == rel);
            if lines > MAX_LINES && !allowed && !has_long_reason(&source) {
                problems.push(format!(
                    "{rel}: {lines} lines (> {MAX_LINES}): move its tests to a `tests.rs`, split it, \
                     or start it with `{LONG_MARKER}<reason>`"
                ));
            }
        }
    }
    for (file, _) in LONG_ALLOWED {
        let lines = fs::read_to_string(root.join(file)).map_or(0, |s| s.lines().count());
        if lines <= MAX_LINES {
            problems.push(format!(
                "LONG_ALLOWED names {file}, which is gone or not over {MAX_LINES} lines: remove the entry"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// The scanner itself.

fn lines_found(source: &str) -> Vec<(usize, &'static str)> {
    (forbidden_uses(source, false).into_iter())
        .map(|(line, text, _)| (line, text))
        .collect()
}

#[test]
fn scanner_finds_forbidden_uses_with_their_lines() {
    let source = "use std::collections::HashMap;\n\nfn f() {\n    let t = std::time::Instant::now();\n    std::thread::spawn(|| ());\n}\n";
    assert_eq!(
        lines_found(source),
        [
            (1, "HashMap"),
            (4, "std::time::Instant"),
            (4, "Instant::now"),
            (5, "thread::")
        ]
    );
    assert_eq!(lines_found("let r = rand::rng();"), [(1, "rand::rng()")]);
    assert_eq!(lines_found("let f = std::fs::read(p);"), [(1, "std::fs")]);
    assert_eq!(
        lines_found("let x = 'a'; let s: HashSet<u8>;"),
        [(1, "HashSet")]
    );
    assert_eq!(lines_found("fn f<'a>(x: &'a StdRng) {}"), [(1, "StdRng")]);
    assert!(lines_found("use std::collections::BTreeMap;").is_empty());
}

#[test]
fn scanner_ignores_comments_strings_and_test_items() {
    for source in [
        "// a HashMap would do\nfn f() {}",
        "/// uses `thread_rng`\nfn f() {}",
        "/* SystemTime /* nested */ std::fs */ fn f() {}",
        "let s = \"std::fs and \\\"HashMap\\\"\";",
        "let s = r#\"Instant::now \"quoted\" thread::\"#;",
        "let c = '\"'; let s = \"HashSet\";",
        "let q = '\\''; let s = \"HashMap\"; let t = '\\u{1F600}';",
        "#[cfg(test)]\nmod tests {\n    use std::collections::HashMap;\n    fn f() { let _ = std::fs::read(\"x\"); }\n}\n",
        "#[cfg(test)]\nuse std::collections::HashSet;\n",
    ] {
        assert!(lines_found(source).is_empty(), "{source}: {:?}", lines_found(source));
    }
    // Code after a test module or on the line after a comment still counts.
    assert_eq!(
        lines_found("#[cfg(test)]\nmod tests {\n}\nuse std::collections::HashMap;"),
        [(4, "HashMap")]
    );
    assert_eq!(
        lines_found("// HashMap\nlet _: HashSet<u8>;"),
        [(2, "HashSet")]
    );
    assert_eq!(
        lines_found("let s = \"a\"; let t = SystemTime::now();"),
        [(1, "SystemTime")]
    );
}

#[test]
fn long_reason_and_test_files() {
    assert!(has_long_reason(
        "//! Long file: one table of constants.\nfn f() {}"
    ));
    assert!(has_long_reason(
        "//! Docs.\n//!\n//! Long file: one table.\n"
    ));
    assert!(!has_long_reason("//! Long file: \nfn f() {}"));
    assert!(!has_long_reason(
        "//! Docs.\n\n\n\n\n//! Long file: too late.\n"
    ));
    assert!(is_test_file("crates/sim-core/src/cost/tests.rs"));
    assert!(is_test_file("crates/cli/src/tests/helpers.rs"));
    assert!(!is_test_file("crates/cli/src/tests_common.rs"));
    assert!(!is_test_file("crates/sim-core/src/cost/mod.rs"));
}
