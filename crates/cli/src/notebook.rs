//! Notebooks: what a Jupyter notebook on the evcxr kernel (or the
//! `evcxr_repl` terminal) needs beyond the library itself, namely rich
//! display. Values that end a cell print as HTML tables, and charts as
//! inline SVG, through evcxr's display protocol: a value whose type has an
//! `evcxr_display` method is shown by calling it, and the method prints
//! `EVCXR_BEGIN_CONTENT <mime type>` … `EVCXR_END_CONTENT` blocks. This
//! module is the one place in the library that prints, because that is
//! what the protocol is.
//!
//! ```no_run
//! // In a notebook cell (docs/notebooks/ has whole notebooks):
//! // :dep fleetsim = { path = "crates/cli", default-features = false }
//! use fleetsim::notebook::prelude::*;
//! let mut s = Scenario::from_file("scenarios/quickstart.toml").unwrap();
//! s.set("deployment.replicas", 3).unwrap();
//! let result = s.run().unwrap();
//! result.metrics() // the headline metrics, as an HTML table
//! # ;
//! ```
//!
//! Every view also has a plain-text form (`to_text`), which `evcxr_repl`
//! shows and tests compare.

use crate::compare::Comparison;
use crate::headline::HEADLINE;
use crate::plot::{self, PlotError};
use crate::sweep::SweepTable;
use crate::table::{self, Table};
use fleetsim_core::summary::Summary;
use fleetsim_core::RunResult;

/// What a notebook cell needs: `use fleetsim::notebook::prelude::*;`.
pub mod prelude {
    pub use super::{Charts, EvcxrDisplay, Metrics, Report, Rich, RunView, Svg};
    pub use crate::scenario::{Scenario, SetValue};
    pub use crate::sweep::{Knob, SweepSpec, SweepTable};
    pub use crate::table::Table;
}

/// A value with a plain-text and an HTML form.
pub trait Rich {
    /// Plain text, for a terminal.
    fn to_text(&self) -> String;
    /// An HTML fragment, for a notebook.
    fn to_html(&self) -> String;
}

/// evcxr's display protocol, for every [`Rich`] value: the HTML form for
/// Jupyter and the text form for the terminal REPL.
pub trait EvcxrDisplay {
    /// Prints the value's content blocks on stdout (evcxr reads them).
    fn evcxr_display(&self);
}

impl<T: Rich + ?Sized> EvcxrDisplay for T {
    fn evcxr_display(&self) {
        println!("{}", content_blocks(self));
    }
}

/// The protocol's blocks for `value`: text first, then HTML.
pub fn content_blocks(value: &(impl Rich + ?Sized)) -> String {
    format!(
        "EVCXR_BEGIN_CONTENT text/plain\n{}\nEVCXR_END_CONTENT\n\
         EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT",
        value.to_text().trim_end(),
        value.to_html().trim_end()
    )
}

impl Rich for Table {
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn to_html(&self) -> String {
        Table::to_html(self)
    }
}

/// A run's headline metrics ([`HEADLINE`]): the figures `fleetsim
/// compare` and `check` report, with units; absent ones shown as `-`.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics(pub Table);

impl Metrics {
    /// The metrics of `summary`.
    pub fn of(summary: &Summary) -> Metrics {
        let mut t = Table::new(["metric", "value", "unit"]);
        for h in HEADLINE {
            t.push([
                h.name.to_string(),
                h.format(h.value(summary)),
                h.unit.into(),
            ]);
        }
        Metrics(t)
    }
}

impl Rich for Metrics {
    fn to_text(&self) -> String {
        self.0.to_string()
    }
    fn to_html(&self) -> String {
        self.0.to_html()
    }
}

/// Views of a finished run for a notebook.
pub trait RunView {
    /// The run's headline metrics, as a table.
    fn metrics(&self) -> Metrics;
    /// The whole report `fleetsim run` prints (without its scenario
    /// line): latency, SLA, replicas, cold starts, cost and the monthly
    /// equation.
    fn report(&self) -> Report;
    /// The fleet, latency-CDF and GPU-hours charts, as inline SVG (a run
    /// that streamed its records gets a latency chart saying it has none).
    fn charts(&self, title: &str) -> Result<Charts, PlotError>;
}

impl RunView for RunResult {
    fn metrics(&self) -> Metrics {
        Metrics::of(&self.summary)
    }
    fn report(&self) -> Report {
        Report(self.summary.to_string())
    }
    fn charts(&self, title: &str) -> Result<Charts, PlotError> {
        let data = plot::RunData::from_result(self);
        Ok(Charts(plot::run_charts_svg(&data, title)?.map(Svg)))
    }
}

/// A run's report, the text `fleetsim run` prints (preformatted in HTML).
#[derive(Clone, Debug, PartialEq)]
pub struct Report(pub String);

impl Rich for Report {
    fn to_text(&self) -> String {
        self.0.clone()
    }
    fn to_html(&self) -> String {
        pre(&self.0)
    }
}

/// A run shows its headline metrics, with the whole report folded below
/// them in HTML.
impl Rich for RunResult {
    fn to_text(&self) -> String {
        self.summary.to_string()
    }
    fn to_html(&self) -> String {
        format!(
            "{}<details><summary>report</summary>{}</details>",
            Metrics::of(&self.summary).to_html(),
            pre(&self.summary.to_string())
        )
    }
}

impl Rich for SweepTable {
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn to_html(&self) -> String {
        self.table().to_html()
    }
}

impl Rich for Comparison {
    fn to_text(&self) -> String {
        self.render_table()
    }
    fn to_html(&self) -> String {
        let confidence = format!("{:.0} % CI of B − A", 100.0 * self.confidence);
        let mut t = Table::new([
            "metric",
            "better",
            "mean A",
            "mean B",
            "B − A",
            &confidence,
            "verdict",
        ])
        .titled(format!(
            "A: {} ({}) vs B: {} ({}), {} paired seed(s)",
            self.a.path,
            self.a.name,
            self.b.path,
            self.b.name,
            self.seeds.len()
        ));
        for (m, h) in self.metrics.iter().zip(HEADLINE) {
            let cells = match &m.paired {
                Some(p) => [
                    h.format(Some(p.mean_a)),
                    h.format(Some(p.mean_b)),
                    h.format(Some(p.mean_diff)),
                    p.ci.map_or("-".into(), |ci| {
                        format!("[{}, {}]", h.format(Some(ci.low)), h.format(Some(ci.high)))
                    }),
                ],
                None => ["-".into(), "-".into(), "-".into(), "-".into()],
            };
            t.push(
                [format!("{} ({})", m.metric, m.unit), m.better.name().into()]
                    .into_iter()
                    .chain(cells)
                    .chain([m.verdict().to_string()]),
            );
        }
        t.to_html()
    }
}

/// An SVG image (a chart), shown inline.
#[derive(Clone, Debug, PartialEq)]
pub struct Svg(pub String);

impl EvcxrDisplay for Svg {
    fn evcxr_display(&self) {
        println!("{}", svg_block(&self.0));
    }
}

/// A run's charts ([`plot::RUN_CHARTS`] order), shown one below another.
#[derive(Clone, Debug, PartialEq)]
pub struct Charts(pub [Svg; 3]);

impl EvcxrDisplay for Charts {
    fn evcxr_display(&self) {
        for svg in &self.0 {
            println!("{}", svg_block(&svg.0));
        }
    }
}

/// The protocol's block for an SVG image.
fn svg_block(svg: &str) -> String {
    format!("EVCXR_BEGIN_CONTENT image/svg+xml\n{svg}\nEVCXR_END_CONTENT")
}

/// `text` escaped and kept preformatted, for text that is already laid
/// out (a report) inside HTML.
pub fn pre(text: &str) -> String {
    format!("<pre>{}</pre>", table::escape(text))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::prelude::*;
    use super::*;

    fn quickstart() -> Scenario {
        Scenario::from_toml_str(crate::scenario::QUICKSTART_TOML)
            .unwrap()
            .with("workload.duration_s", 20)
            .unwrap()
    }

    #[test]
    fn a_run_displays_its_headline_metrics_as_text_and_html() {
        let result = quickstart().run().unwrap();
        let blocks = content_blocks(&result);
        let p95 = HEADLINE.iter().find(|h| h.name == "ttft_p95_ms").unwrap();
        let value = p95.format(p95.value(&result.summary));
        assert!(
            blocks.starts_with("EVCXR_BEGIN_CONTENT text/plain\n"),
            "{blocks}"
        );
        assert!(
            blocks.contains(&format!("<td>ttft_p95_ms</td><td>{value}</td><td>ms</td>")),
            "{blocks}"
        );
        assert_eq!(result.to_text(), result.summary.to_string());
        let text_line = (result.metrics().to_text().lines())
            .find(|l| l.trim_start().starts_with("ttft_p95_ms"))
            .unwrap()
            .to_string();
        assert!(text_line.contains(&value), "{text_line}");
        assert_eq!(blocks.matches("EVCXR_END_CONTENT").count(), 2);
    }

    #[test]
    fn a_run_draws_its_three_charts_in_memory_and_reports_as_the_cli_does() {
        let result = quickstart().run().unwrap();
        let charts = result.charts("quickstart").unwrap();
        for svg in &charts.0 {
            assert!(
                svg.0.starts_with("<svg"),
                "{}",
                &svg.0[..80.min(svg.0.len())]
            );
            assert!(svg.0.trim_end().ends_with("</svg>"));
        }
        assert!(
            charts.0[0].0.contains("quickstart: "),
            "the fleet chart's title"
        );
        let report = result.report();
        assert_eq!(report.0, result.summary.to_string());
        assert!(report.0.contains("gpu hours"), "{}", report.0);
        assert!(result
            .to_html()
            .contains("<details><summary>report</summary><pre>"));
        let streamed = quickstart()
            .with("output.records", "stream")
            .unwrap()
            .run()
            .unwrap();
        let charts = streamed.charts("x").unwrap();
        assert!(charts.0[1].0.contains("records streamed"));
        assert!(!charts.0[0].0.contains("records streamed"));
    }

    #[test]
    fn a_comparison_in_html_has_one_row_per_headline_metric() {
        let a = quickstart();
        let b = a.with("deployment.replicas", 1).unwrap();
        let html = a.compare(&b, &[1, 2]).unwrap().to_html();
        assert_eq!(html.matches("<tr><td>").count(), HEADLINE.len(), "{html}");
        assert!(html.contains("<caption>A: &lt;string&gt;"), "{html}");
    }
}
