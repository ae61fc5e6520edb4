//! The query a `prometheus`-style trigger names: a small PromQL subset
//! over the signals the engine scrapes, so a KEDA trigger reads as it
//! would in production (`sum(rate(http_requests_total[2m]))`). The engine
//! has one series per metric and deployment, so `sum` is the identity and
//! a query always returns one value.
//!
//! ```text
//! query    := expr
//! expr     := "sum" [by] "(" expr ")" [by]
//!           | "rate" "(" counter "[" duration "]" ")"
//!           | "histogram_quantile" "(" number "," expr ")"
//!           | gauge
//! by       := "by" "(" "le" ")"        (only inside histogram_quantile)
//! counter  := requests_total | http_requests_total
//!           | vllm:prompt_tokens_total | vllm:generation_tokens_total
//!           | vllm:time_to_first_token_seconds_bucket   (only inside histogram_quantile)
//! gauge    := vllm:num_requests_waiting | vllm:num_requests_running
//!           | vllm:kv_cache_usage_perc | concurrency | gpu_busy_fraction
//! duration := one or more <integer><unit>, unit ms | s | m | h | d  ("1m30s")
//! ```
//!
//! The `vllm:` prefix may be left out. A gauge reads the newest visible
//! scrape, summed over the deployment ([`Signal::total`]); a rate or a
//! quantile reads the window ([`WindowedSignal`]). Label matchers (`{...}`)
//! are rejected: a trigger's query covers its own deployment. Errors give
//! the 1-based column of the offending token.

use super::adapter::{Signal, WindowedSignal};
use fleetsim_core::autoscale::Observation;
use fleetsim_core::SimDuration;
use std::fmt;

/// A parsed query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Query {
    /// A gauge of the newest visible scrape, summed over the deployment.
    Gauge(Signal),
    /// A rate or TTFT quantile over a window.
    Windowed {
        /// What is read.
        signal: WindowedSignal,
        /// The range (`[1m]`).
        window: SimDuration,
    },
}

impl Query {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        let toks = lex(text)?;
        let mut p = Parser { toks, i: 0 };
        let node = p.expr()?;
        match p.peek() {
            (Tok::End, _) => {}
            (t, at) => {
                return Err(QueryError::new(
                    at,
                    format!("unexpected {t} after the query"),
                ))
            }
        }
        compile(&node)
    }

    /// The query's value at the observation (`None`: no data — no visible
    /// scrape, fewer than two in the window, or no request completed in it
    /// for a quantile).
    pub fn eval(&self, obs: &Observation<'_>) -> Option<f64> {
        match *self {
            Query::Gauge(s) => obs.latest().map(|x| s.total(x)),
            Query::Windowed { signal, window } => signal.value(obs, window),
        }
    }

    /// The range the query reads (`None` for a gauge).
    pub fn window(&self) -> Option<SimDuration> {
        match *self {
            Query::Gauge(_) => None,
            Query::Windowed { window, .. } => Some(window),
        }
    }
}

/// Why a query was rejected, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    /// 1-based character column of the offending token.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl QueryError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        QueryError {
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Number(f64),
    /// Digits followed by letters (`1m30s`), as written.
    Duration(String),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Comma,
    End,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::Number(n) => write!(f, "`{n}`"),
            Tok::Duration(d) => write!(f, "`{d}`"),
            Tok::Open => f.write_str("`(`"),
            Tok::Close => f.write_str("`)`"),
            Tok::OpenBracket => f.write_str("`[`"),
            Tok::CloseBracket => f.write_str("`]`"),
            Tok::Comma => f.write_str("`,`"),
            Tok::End => f.write_str("the end of the query"),
        }
    }
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        let word = |j: &mut usize, ok: &dyn Fn(char) -> bool| {
            let start = *j;
            while *j < chars.len() && ok(chars[*j]) {
                *j += 1;
            }
            chars[start..*j].iter().collect::<String>()
        };
        let tok =
            match c {
                ' ' | '\t' | '\n' | '\r' => {
                    i += 1;
                    continue;
                }
                '(' => Tok::Open,
                ')' => Tok::Close,
                '[' => Tok::OpenBracket,
                ']' => Tok::CloseBracket,
                ',' => Tok::Comma,
                '{' => return Err(QueryError::new(
                    col,
                    "label matchers are not supported: a trigger's query covers its own deployment",
                )),
                c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                    let w = word(&mut i, &|c| {
                        c.is_ascii_alphanumeric() || c == '_' || c == ':'
                    });
                    out.push((Tok::Ident(w), col));
                    continue;
                }
                c if c.is_ascii_digit() || c == '.' => {
                    let w = word(&mut i, &|c| c.is_ascii_alphanumeric() || c == '.');
                    let tok = if w.chars().any(|c| c.is_ascii_alphabetic()) {
                        Tok::Duration(w)
                    } else {
                        let n = w
                            .parse::<f64>()
                            .map_err(|_| QueryError::new(col, format!("`{w}` is not a number")))?;
                        Tok::Number(n)
                    };
                    out.push((tok, col));
                    continue;
                }
                other => {
                    return Err(QueryError::new(
                        col,
                        format!("unexpected character `{other}`"),
                    ))
                }
            };
        out.push((tok, col));
        i += 1;
    }
    out.push((Tok::End, chars.len() + 1));
    Ok(out)
}

/// The syntax tree, with each node's column.
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Sum {
        inner: Box<Node>,
        by_le: Option<usize>,
    },
    Rate {
        metric: String,
        metric_at: usize,
        window: SimDuration,
    },
    Quantile {
        q: f64,
        q_at: usize,
        inner: Box<Node>,
    },
    Name {
        name: String,
        at: usize,
    },
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> (Tok, usize) {
        // `lex` always ends with `End`, and `next` never moves past it.
        self.toks[self.i.min(self.toks.len() - 1)].clone()
    }

    fn next(&mut self) -> (Tok, usize) {
        let t = self.peek();
        if t.0 != Tok::End {
            self.i += 1;
        }
        t
    }

    fn expect(&mut self, want: Tok, context: &str) -> Result<(), QueryError> {
        match self.next() {
            (t, _) if t == want => Ok(()),
            (t, at) => Err(QueryError::new(
                at,
                format!("expected {want} {context}, found {t}"),
            )),
        }
    }

    /// `by (le)` if it comes next: its column.
    fn by(&mut self) -> Result<Option<usize>, QueryError> {
        match self.peek() {
            (Tok::Ident(w), at) if w == "by" => {
                self.next();
                self.expect(Tok::Open, "after `by`")?;
                match self.next() {
                    (Tok::Ident(l), _) if l == "le" => {}
                    (t, at) => {
                        return Err(QueryError::new(
                            at,
                            format!(
                            "only `by (le)` is supported (one series per deployment), found {t}"
                        ),
                        ))
                    }
                }
                self.expect(Tok::Close, "to close `by (le`")?;
                Ok(Some(at))
            }
            _ => Ok(None),
        }
    }

    fn expr(&mut self) -> Result<Node, QueryError> {
        match self.next() {
            (Tok::Ident(f), _) if f == "sum" => {
                let before = self.by()?;
                self.expect(Tok::Open, "after `sum`")?;
                let inner = Box::new(self.expr()?);
                self.expect(Tok::Close, "to close `sum(`")?;
                let after = self.by()?;
                Ok(Node::Sum {
                    inner,
                    by_le: before.or(after),
                })
            }
            (Tok::Ident(f), _) if f == "rate" => {
                self.expect(Tok::Open, "after `rate`")?;
                let (metric, metric_at) = match self.next() {
                    (Tok::Ident(m), at) => (m, at),
                    (t, at) => {
                        return Err(QueryError::new(
                            at,
                            format!("expected a counter name, found {t}"),
                        ))
                    }
                };
                self.expect(Tok::OpenBracket, "(a range such as `[1m]`)")?;
                let window = match self.next() {
                    (Tok::Duration(d), at) => duration(&d, at)?,
                    (t, at) => {
                        return Err(QueryError::new(
                            at,
                            format!("expected a duration such as `1m` or `30s`, found {t}"),
                        ))
                    }
                };
                self.expect(Tok::CloseBracket, "after the range")?;
                self.expect(Tok::Close, "to close `rate(`")?;
                Ok(Node::Rate {
                    metric,
                    metric_at,
                    window,
                })
            }
            (Tok::Ident(f), _) if f == "histogram_quantile" => {
                self.expect(Tok::Open, "after `histogram_quantile`")?;
                let (q, q_at) = match self.next() {
                    (Tok::Number(q), at) => (q, at),
                    (t, at) => {
                        return Err(QueryError::new(
                            at,
                            format!("expected the quantile, a number in [0, 1], found {t}"),
                        ))
                    }
                };
                self.expect(Tok::Comma, "after the quantile")?;
                let inner = Box::new(self.expr()?);
                self.expect(Tok::Close, "to close `histogram_quantile(`")?;
                Ok(Node::Quantile { q, q_at, inner })
            }
            (Tok::Ident(name), at) if self.peek().0 == Tok::Open => Err(QueryError::new(
                at,
                format!(
                    "unknown metric or function `{name}`; functions: sum, rate, histogram_quantile"
                ),
            )),
            (Tok::Ident(name), at) => Ok(Node::Name { name, at }),
            (t, at) => Err(QueryError::new(
                at,
                format!("expected a metric or a function, found {t}"),
            )),
        }
    }
}

/// A PromQL duration: `<integer><unit>` segments, units ms s m h d.
fn duration(text: &str, at: usize) -> Result<SimDuration, QueryError> {
    let bad = || {
        QueryError::new(
            at,
            format!("`{text}` is not a duration (integers with units ms, s, m, h, d: `1m`, `90s`, `1m30s`)"),
        )
    };
    let mut ns: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_ns: u64 = match &rest[..unit_len] {
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        ns = n
            .checked_mul(unit_ns)
            .and_then(|x| ns.checked_add(x))
            .ok_or_else(|| QueryError::new(at, format!("`{text}` is too long a range")))?;
    }
    if ns == 0 {
        return Err(QueryError::new(at, "the range must be longer than 0"));
    }
    Ok(SimDuration::from_nanos(ns))
}

const TTFT_BUCKET: &str = "time_to_first_token_seconds_bucket";

/// A metric name without its optional `vllm:` prefix.
fn bare(name: &str) -> &str {
    name.strip_prefix("vllm:").unwrap_or(name)
}

fn counter(name: &str) -> Option<WindowedSignal> {
    match name {
        "requests_total" | "http_requests_total" => Some(WindowedSignal::RequestRate),
        _ => match bare(name) {
            "prompt_tokens_total" => Some(WindowedSignal::PromptTokensPerS),
            "generation_tokens_total" => Some(WindowedSignal::GenerationTokensPerS),
            _ => None,
        },
    }
}

fn gauge(name: &str) -> Option<Signal> {
    match bare(name) {
        "num_requests_waiting" => Some(Signal::NumRequestsWaiting),
        "num_requests_running" => Some(Signal::NumRequestsRunning),
        "kv_cache_usage_perc" => Some(Signal::KvCacheUsagePerc),
        "concurrency" => Some(Signal::Concurrency),
        "gpu_busy_fraction" => Some(Signal::GpuBusyFraction),
        _ => None,
    }
}

const COUNTERS: &str =
    "requests_total, http_requests_total, vllm:prompt_tokens_total, vllm:generation_tokens_total";
const GAUGES: &str = "vllm:num_requests_waiting, vllm:num_requests_running, vllm:kv_cache_usage_perc, concurrency, gpu_busy_fraction";

/// The query a node means.
fn compile(node: &Node) -> Result<Query, QueryError> {
    match node {
        Node::Sum { by_le: Some(at), .. } => Err(QueryError::new(
            *at,
            "`by (le)` keeps one series per bucket: use it inside histogram_quantile",
        )),
        Node::Sum { inner, .. } => compile(inner),
        Node::Rate {
            metric,
            metric_at,
            window,
        } => match counter(metric) {
            Some(signal) => Ok(Query::Windowed {
                signal,
                window: *window,
            }),
            None if bare(metric) == TTFT_BUCKET => Err(QueryError::new(
                *metric_at,
                "a rate of histogram buckets is one series per bucket: wrap it in histogram_quantile(q, ...)",
            )),
            None if gauge(metric).is_some() => Err(QueryError::new(
                *metric_at,
                format!("`{metric}` is a gauge, not a counter: use it without rate()"),
            )),
            None => Err(QueryError::new(
                *metric_at,
                format!("unknown counter `{metric}`; expected one of {COUNTERS}"),
            )),
        },
        Node::Quantile { q, q_at, inner } => {
            if !(0.0..=1.0).contains(q) {
                return Err(QueryError::new(
                    *q_at,
                    format!("the quantile must be in [0, 1], got {q}"),
                ));
            }
            Ok(Query::Windowed {
                signal: WindowedSignal::TtftQuantileS(*q),
                window: bucket_rate(inner)?,
            })
        }
        Node::Name { name, at } => match gauge(name) {
            Some(s) => Ok(Query::Gauge(s)),
            None if counter(name).is_some() || bare(name) == TTFT_BUCKET => Err(QueryError::new(
                *at,
                format!("`{name}` is a counter: read it as rate({name}[1m])"),
            )),
            None => Err(QueryError::new(
                *at,
                format!("unknown metric or function `{name}`; gauges: {GAUGES}; counters (inside rate): {COUNTERS}"),
            )),
        },
    }
}

/// The range of the TTFT-bucket rate `histogram_quantile` reads (through
/// any `sum`, with or without `by (le)`).
fn bucket_rate(node: &Node) -> Result<SimDuration, QueryError> {
    let (found, at) = match node {
        Node::Sum { inner, .. } => return bucket_rate(inner),
        Node::Rate {
            metric,
            metric_at,
            window,
        } => {
            if bare(metric) == TTFT_BUCKET {
                return Ok(*window);
            }
            (metric.as_str(), *metric_at)
        }
        Node::Quantile { q_at, .. } => ("histogram_quantile", *q_at),
        Node::Name { name, at } => (name.as_str(), *at),
    };
    Err(QueryError::new(
        at,
        format!("histogram_quantile needs the rate of vllm:{TTFT_BUCKET}, found `{found}`"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscalers::adapter::testing::*;
    use fleetsim_core::autoscale::MetricsStore;

    fn secs(s: u64) -> SimDuration {
        SimDuration::from_secs(s)
    }

    #[test]
    fn queries_a_keda_user_writes_parse() {
        let w = |signal, s| Query::Windowed {
            signal,
            window: secs(s),
        };
        let cases = [
            ("sum(rate(http_requests_total[2m]))", w(WindowedSignal::RequestRate, 120)),
            ("rate(requests_total[30s])", w(WindowedSignal::RequestRate, 30)),
            (
                "sum(rate(vllm:generation_tokens_total[1m]))",
                w(WindowedSignal::GenerationTokensPerS, 60),
            ),
            ("rate(prompt_tokens_total[1m30s])", w(WindowedSignal::PromptTokensPerS, 90)),
            (
                "histogram_quantile(0.95, sum(rate(vllm:time_to_first_token_seconds_bucket[1m])) by (le))",
                w(WindowedSignal::TtftQuantileS(0.95), 60),
            ),
            (
                "histogram_quantile(0.5, sum by (le) (rate(time_to_first_token_seconds_bucket[5m])))",
                w(WindowedSignal::TtftQuantileS(0.5), 300),
            ),
            ("sum(vllm:num_requests_waiting)", Query::Gauge(Signal::NumRequestsWaiting)),
            ("  vllm:kv_cache_usage_perc ", Query::Gauge(Signal::KvCacheUsagePerc)),
        ];
        for (text, want) in cases {
            assert_eq!(Query::parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_queries_say_where_and_why() {
        // (query, column, fragment)
        let cases = [
            ("", 1, "expected a metric or a function, found the end"),
            (
                "sum(rate(http_requests_total[2m])",
                34,
                "expected `)` to close `sum(`",
            ),
            ("rate(http_requests_total)", 25, "a range such as `[1m]`"),
            (
                "rate(http_requests_total[2x])",
                26,
                "`2x` is not a duration",
            ),
            ("rate(http_requests_total[0s])", 26, "longer than 0"),
            (
                "rate(http_requests_total{job=\"x\"}[1m])",
                25,
                "label matchers",
            ),
            (
                "rate(vllm:num_requests_waiting[1m])",
                6,
                "is a gauge, not a counter",
            ),
            (
                "rate(tokens_total[1m])",
                6,
                "unknown counter `tokens_total`",
            ),
            (
                "vllm:generation_tokens_total",
                1,
                "is a counter: read it as rate(",
            ),
            (
                "avg_over_time(x[1m])",
                1,
                "unknown metric or function `avg_over_time`",
            ),
            (
                "rate(vllm:time_to_first_token_seconds_bucket[1m])",
                6,
                "wrap it in histogram_quantile",
            ),
            (
                "histogram_quantile(1.5, rate(time_to_first_token_seconds_bucket[1m]))",
                20,
                "in [0, 1]",
            ),
            (
                "histogram_quantile(0.9, rate(requests_total[1m]))",
                30,
                "needs the rate of vllm:time_to_first",
            ),
            (
                "sum(rate(requests_total[1m])) by (le)",
                31,
                "inside histogram_quantile",
            ),
            ("sum by (pod) (concurrency)", 9, "only `by (le)`"),
            (
                "concurrency concurrency",
                13,
                "unexpected `concurrency` after the query",
            ),
            (
                "rate(requests_total[1m]) * 2",
                26,
                "unexpected character `*`",
            ),
        ];
        for (text, col, frag) in cases {
            let e = Query::parse(text).expect_err(text);
            assert!(
                e.column == col && e.to_string().contains(frag),
                "{text}: {e} (want column {col}, `{frag}`)"
            );
        }
    }

    #[test]
    #[allow(clippy::float_cmp)] // exact rates and sums
    fn queries_read_the_window_or_the_newest_scrape() {
        let mut store = MetricsStore::default();
        for t in [0u64, 15, 30] {
            let mut s = scrape(t as f64, fleet(2, 6, 0.5), 1);
            s.arrivals_total = 4 * t;
            store.record(s, secs(600));
        }
        let obs = store.observe(at(30.0), SimDuration::ZERO, 2);
        let q = |text: &str| Query::parse(text).unwrap().eval(&obs);
        assert_eq!(q("sum(rate(requests_total[1m]))"), Some(4.0));
        assert_eq!(q("rate(requests_total[10s])"), None, "one scrape in 10 s");
        assert_eq!(q("concurrency"), Some(7.0));
        assert_eq!(
            q("histogram_quantile(0.95, rate(time_to_first_token_seconds_bucket[1m]))"),
            None,
            "no request completed"
        );
    }
}
