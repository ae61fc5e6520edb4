//! A small table of text cells that prints aligned for a terminal and as
//! HTML for a notebook: the one renderer behind the notebook views of a
//! run's headline metrics, a sweep and a comparison.
//!
//! ```
//! use fleetsim::table::Table;
//! let mut t = Table::new(["replicas", "cost (USD)"]);
//! t.push(["2", "1.50"]);
//! t.push(["10", "7.25"]);
//! assert_eq!(t.to_string(), "replicas  cost (USD)\n       2        1.50\n      10        7.25\n");
//! assert!(t.to_html().contains("<td>7.25</td>"));
//! ```

use std::fmt;

/// Rows of cells under a header; cells right-aligned in text (numbers
/// line up), escaped in HTML.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// An optional line above the table (a caption in HTML).
    pub title: Option<String>,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows; a row shorter than the header leaves its last cells empty.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these headers.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Table {
        Table {
            title: None,
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// The same table with a title.
    pub fn titled(mut self, title: impl Into<String>) -> Table {
        self.title = Some(title.into());
        self
    }

    /// Appends a row.
    pub fn push<S: Into<String>>(&mut self, row: impl IntoIterator<Item = S>) {
        self.rows.push(row.into_iter().map(Into::into).collect());
    }

    /// The table as an HTML `<table>`.
    pub fn to_html(&self) -> String {
        let mut out = String::from("<table>\n");
        if let Some(title) = &self.title {
            out += &format!("<caption>{}</caption>\n", escape(title));
        }
        out += "<thead><tr>";
        for h in &self.headers {
            out += &format!("<th>{}</th>", escape(h));
        }
        out += "</tr></thead>\n<tbody>\n";
        for row in &self.rows {
            out += "<tr>";
            for i in 0..self.headers.len().max(row.len()) {
                out += &format!("<td>{}</td>", escape(row.get(i).map_or("", String::as_str)));
            }
            out += "</tr>\n";
        }
        out + "</tbody>\n</table>\n"
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(title) = &self.title {
            writeln!(f, "{title}")?;
        }
        let columns = (self.rows.iter().map(Vec::len)).fold(self.headers.len(), usize::max);
        let cell = |row: &[String], i: usize| row.get(i).map_or("", String::as_str).to_string();
        let widths: Vec<usize> = (0..columns)
            .map(|i| {
                (std::iter::once(&self.headers).chain(&self.rows))
                    .map(|r| cell(r, i).chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let line: Vec<String> = (widths.iter().enumerate())
                .map(|(i, &w)| format!("{:>w$}", cell(row, i)))
                .collect();
            writeln!(f, "{}", line.join("  ").trim_end())?;
        }
        Ok(())
    }
}

/// `text` with the characters HTML gives a meaning escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_cells_and_fills_short_rows() {
        let mut t = Table::new(["a", "b"]).titled("x < y");
        t.push(["<b>&"]);
        let html = t.to_html();
        assert!(html.contains("<caption>x &lt; y</caption>"), "{html}");
        assert!(
            html.contains("<tr><td>&lt;b&gt;&amp;</td><td></td></tr>"),
            "{html}"
        );
    }

    #[test]
    fn text_aligns_on_the_widest_cell_including_unicode() {
        let mut t = Table::new(["metric", "v"]);
        t.push(["ttft p95", "1"]);
        t.push(["≤ 5 ms", "100"]);
        assert_eq!(
            t.to_string(),
            "  metric    v\nttft p95    1\n  ≤ 5 ms  100\n"
        );
    }
}
