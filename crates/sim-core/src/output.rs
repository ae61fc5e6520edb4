//! Writers for the per-request and time-series CSV files. They take any
//! `impl Write`; times are written from integer nanoseconds with exact
//! decimal formatting, so the bytes depend on nothing but the run. Rows go
//! through a `csv::Writer`, which quotes a cell only when it must (a name
//! holding a comma, a double quote or a line break), so every other cell
//! is written as its formatted text.

use crate::cost::GpuState;
use crate::engine::{RecordSink, TimeseriesRow};
use crate::metrics::RequestRecord;
use crate::summary::{DeploymentReport, ReplicaRow, Summary};
use crate::time::NANOS_PER_MS;
use std::io::{self, Write};

/// `ns` as milliseconds with six decimals (exact).
fn ms(ns: u64) -> String {
    format!("{}.{:06}", ns / NANOS_PER_MS, ns % NANOS_PER_MS)
}

fn opt_ms(ns: Option<u64>) -> String {
    ns.map(ms).unwrap_or_default()
}

/// `ns` as seconds with nine decimals (exact).
fn secs(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// A CSV writer over `out`: comma-separated, `\n`-terminated, quoting only
/// the cells that need it.
fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out)
}

/// The names a `requests.csv` row shows for a record's indices: each
/// deployment's name and priority classes, each pipeline's name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordNames {
    /// Deployment names, in configuration order.
    pub deployments: Vec<String>,
    /// Each deployment's class names, in priority order.
    pub classes: Vec<Vec<String>>,
    /// Pipeline names, in configuration order.
    pub pipelines: Vec<String>,
}

impl RecordNames {
    /// The names a run's summary reports.
    pub fn of_summary(summary: &Summary) -> RecordNames {
        let deployments = &summary.deployments;
        RecordNames {
            deployments: deployments.iter().map(|d| d.name.clone()).collect(),
            classes: (deployments.iter())
                .map(|d| d.classes.iter().map(|c| c.name.clone()).collect())
                .collect(),
            pipelines: summary.pipelines.iter().map(|p| p.name.clone()).collect(),
        }
    }

    /// The names a run of `config` will report (known before it starts).
    pub fn of_config(config: &crate::engine::SimConfig) -> RecordNames {
        let deployments = &config.deployments;
        RecordNames {
            deployments: deployments.iter().map(|d| d.name.to_string()).collect(),
            classes: (deployments.iter())
                .map(|d| {
                    d.fleet
                        .queue
                        .classes
                        .iter()
                        .map(|c| c.name.to_string())
                        .collect()
                })
                .collect(),
            pipelines: config
                .pipelines
                .iter()
                .map(|p| p.name.to_string())
                .collect(),
        }
    }
}

/// `requests.csv` written a row at a time: the header when made, then one
/// row per [`RequestsCsv::write`]. As a [`RecordSink`] it writes each
/// request's row as the request ends (completion order), holding nothing
/// but the writer's buffer.
pub struct RequestsCsv<W: Write> {
    w: csv::Writer<W>,
    names: RecordNames,
}

impl<W: Write> std::fmt::Debug for RequestsCsv<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestsCsv")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl<W: Write> RequestsCsv<W> {
    /// Writes the header to `out`. Columns added later go at the end of a
    /// row.
    pub fn new(names: RecordNames, out: W) -> io::Result<Self> {
        let mut w = csv_writer(out);
        w.write_record([
            "id",
            "arrival_s",
            "replica",
            "outcome",
            "input_tokens",
            "output_tokens",
            "queue_ms",
            "ttft_ms",
            "tpot_ms",
            "e2e_ms",
            "preemptions",
            "class",
            "deployment",
            "pipeline",
            "itl_max_ms",
            "kv_transfer_bytes",
        ])?;
        Ok(RequestsCsv { w, names })
    }

    /// Writes `r`'s row.
    pub fn write(&mut self, r: &RequestRecord) -> io::Result<()> {
        let names = &self.names;
        let d = usize::from(r.deployment);
        let class = (names.classes.get(d))
            .and_then(|c| c.get(usize::from(r.class)))
            .map_or("", String::as_str);
        let deployment = names.deployments.get(d).map_or("", String::as_str);
        let pipeline = (r.pipeline)
            .and_then(|p| names.pipelines.get(usize::from(p)))
            .map_or("", String::as_str);
        self.w.write_record([
            r.id.to_string().as_str(),
            &secs(r.arrival.0),
            &r.replica.map(|x| x.to_string()).unwrap_or_default(),
            r.outcome.as_str(),
            &r.input_tokens.to_string(),
            &r.output_tokens.to_string(),
            &opt_ms(r.queue_ns),
            &opt_ms(r.ttft_ns),
            &opt_ms(r.tpot_ns),
            &opt_ms(r.e2e_ns),
            &r.preemptions.to_string(),
            class,
            deployment,
            pipeline,
            &opt_ms(r.itl_max_ns),
            &r.kv_transfer_bytes
                .map(|b| b.to_string())
                .unwrap_or_default(),
        ])?;
        Ok(())
    }

    /// Flushes the rows written so far.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

impl<W: Write + Send> RecordSink for RequestsCsv<W> {
    fn record(&mut self, record: &RequestRecord) -> io::Result<()> {
        self.write(record)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.flush()
    }
}

/// Writes one row per request, in the order given. The run's `summary`
/// names each record's deployment, priority class and pipeline.
pub fn write_requests_csv<W: Write>(
    records: &[RequestRecord],
    summary: &Summary,
    out: W,
) -> io::Result<()> {
    let mut w = RequestsCsv::new(RecordNames::of_summary(summary), out)?;
    for r in records {
        w.write(r)?;
    }
    w.flush()
}

/// GPU·ns as GPU-seconds with nine decimals (exact).
fn gpu_secs(gpu_ns: u128) -> String {
    format!("{}.{:09}", gpu_ns / 1_000_000_000, gpu_ns % 1_000_000_000)
}

/// Writes one row per time-series window. Columns added later go at the
/// end of a row, so the leading columns keep their bytes.
pub fn write_timeseries_csv<W: Write>(rows: &[TimeseriesRow], out: W) -> io::Result<()> {
    let mut w = csv_writer(out);
    let header = [
        "window_start_s",
        "window_end_s",
        "arrivals",
        "completed",
        "running",
        "waiting",
        "replicas",
        "ttft_p95_ms",
        "replicas_starting",
        "replicas_draining",
        "sla_misses",
    ]
    .map(String::from);
    let gpu_columns = GpuState::ALL.map(|state| format!("gpu_s_{}", state.name()));
    w.write_record(header.iter().chain(&gpu_columns))?;
    for r in rows {
        let p95 = r
            .ttft_p95_ns
            .map(|ns| format!("{:.6}", ns / NANOS_PER_MS as f64))
            .unwrap_or_default();
        let cells = [
            secs(r.start.0),
            secs(r.end.0),
            r.arrivals.to_string(),
            r.completed.to_string(),
            r.running.to_string(),
            r.waiting.to_string(),
            r.replicas.to_string(),
            p95,
            r.replicas_starting.to_string(),
            r.replicas_draining.to_string(),
            r.sla_misses.to_string(),
        ];
        let gpu = r.gpu_ns.map(gpu_secs);
        w.write_record(cells.iter().chain(&gpu))?;
    }
    w.flush()
}

/// A rate with six decimals, empty when undefined.
fn opt_rate(x: Option<f64>) -> String {
    x.map(|x| format!("{x:.6}")).unwrap_or_default()
}

/// Writes one row per replica, in replica id order.
pub fn write_replicas_csv<W: Write>(
    rows: &[ReplicaRow],
    deployments: &[DeploymentReport],
    out: W,
) -> io::Result<()> {
    let mut w = csv_writer(out);
    w.write_record([
        "replica",
        "deployment",
        "held_s",
        "busy_s",
        "busy_fraction",
        "iterations",
        "preemptions",
        "completed",
        "prefix_lookups",
        "prefix_query_blocks",
        "prefix_hit_blocks",
        "prefix_block_hit_rate",
        "prefix_query_tokens",
        "cached_prefill_tokens",
        "prefix_token_hit_rate",
        "prefix_evicted_blocks",
        "adapter_loads",
        "adapter_evictions",
    ])?;
    for r in rows {
        let c = &r.counters;
        let deployment = deployments
            .get(usize::from(r.deployment))
            .map_or("", |d| d.name.as_str());
        w.write_record([
            r.replica.to_string().as_str(),
            deployment,
            &secs(r.held_ns),
            &secs(r.busy_ns),
            &opt_rate(r.busy_fraction()),
            &r.iterations.to_string(),
            &r.preemptions.to_string(),
            &r.completed.to_string(),
            &c.prefix_lookups.to_string(),
            &c.prefix_query_blocks.to_string(),
            &c.prefix_hit_blocks.to_string(),
            &opt_rate(r.prefix_block_hit_rate()),
            &c.prefix_query_tokens.to_string(),
            &c.prefix_hit_tokens.to_string(),
            &opt_rate(r.prefix_token_hit_rate()),
            &c.prefix_evicted_blocks.to_string(),
            &c.adapter_loads.to_string(),
            &c.adapter_evictions.to_string(),
        ])?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::request::Outcome;
    use crate::summary::{ClassReport, PipelineReport};
    use crate::time::SimTime;

    /// A name that needs every kind of quoting: a comma, a double quote
    /// and a line break.
    const AWKWARD: &str = "chat, \"v2\"\nbeta";

    fn summary(deployment: &str, class: &str, pipeline: &str) -> Summary {
        Summary {
            deployments: vec![DeploymentReport {
                name: deployment.into(),
                classes: vec![ClassReport {
                    name: class.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            pipelines: vec![PipelineReport {
                name: pipeline.into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn record() -> RequestRecord {
        RequestRecord {
            id: 7,
            arrival: SimTime(1_500_000_000),
            class: 0,
            deployment: 0,
            pipeline: Some(0),
            kv_transfer_bytes: Some(4096),
            replica: Some(2),
            outcome: Outcome::Completed,
            input_tokens: 100,
            output_tokens: 20,
            queue_ns: Some(1),
            ttft_ns: Some(2_000_001),
            tpot_ns: None,
            itl_max_ns: None,
            e2e_ns: Some(3_000_000),
            preemptions: 0,
        }
    }

    fn replica_row() -> ReplicaRow {
        ReplicaRow {
            deployment: 0,
            replica: 3,
            held_ns: 2_000_000_000,
            busy_ns: 500_000_000,
            iterations: 9,
            completed: 4,
            ..Default::default()
        }
    }

    /// Reads `bytes` back: the header and every record, each checked to
    /// have the header's length.
    fn read_back(bytes: &[u8]) -> (csv::StringRecord, Vec<csv::StringRecord>) {
        let mut reader = csv::Reader::from_reader(bytes);
        let header = reader.headers().unwrap().clone();
        let rows: Vec<_> = reader.records().map(Result::unwrap).collect();
        for row in &rows {
            assert_eq!(row.len(), header.len(), "{row:?}");
        }
        (header, rows)
    }

    #[test]
    fn names_with_commas_quotes_and_newlines_round_trip() {
        let s = summary(
            AWKWARD,
            &format!("{AWKWARD} class"),
            &format!("{AWKWARD} pipe"),
        );
        let mut requests = Vec::new();
        write_requests_csv(&[record()], &s, &mut requests).unwrap();
        let (header, rows) = read_back(&requests);
        assert_eq!(header.len(), 16);
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0][11], format!("{AWKWARD} class"));
        assert_eq!(&rows[0][12], AWKWARD);
        assert_eq!(&rows[0][13], format!("{AWKWARD} pipe"));

        let mut replicas = Vec::new();
        write_replicas_csv(&[replica_row()], &s.deployments, &mut replicas).unwrap();
        let (header, rows) = read_back(&replicas);
        assert_eq!(header.len(), 18);
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0][1], AWKWARD);
    }

    #[test]
    fn ordinary_names_keep_their_bytes() {
        let s = summary("chat", "paid", "rag");
        let mut requests = Vec::new();
        write_requests_csv(&[record()], &s, &mut requests).unwrap();
        assert_eq!(
            String::from_utf8(requests).unwrap(),
            "id,arrival_s,replica,outcome,input_tokens,output_tokens,queue_ms,ttft_ms,tpot_ms,\
             e2e_ms,preemptions,class,deployment,pipeline,itl_max_ms,kv_transfer_bytes\n\
             7,1.500000000,2,completed,100,20,0.000001,2.000001,,3.000000,0,paid,chat,rag,,4096\n"
        );
        let mut replicas = Vec::new();
        write_replicas_csv(&[replica_row()], &s.deployments, &mut replicas).unwrap();
        assert_eq!(
            String::from_utf8(replicas).unwrap(),
            "replica,deployment,held_s,busy_s,busy_fraction,iterations,preemptions,completed,\
             prefix_lookups,prefix_query_blocks,prefix_hit_blocks,prefix_block_hit_rate,\
             prefix_query_tokens,cached_prefill_tokens,prefix_token_hit_rate,prefix_evicted_blocks,\
             adapter_loads,adapter_evictions\n\
             3,chat,2.000000000,0.500000000,0.250000,9,0,4,0,0,0,,0,0,,0,0,0\n"
        );
        let row = TimeseriesRow {
            start: SimTime(0),
            end: SimTime(10_000_000_000),
            arrivals: 5,
            completed: 4,
            running: 1,
            waiting: 2,
            replicas: 3,
            ttft_p95_ns: Some(1_234_567.0),
            replicas_starting: 1,
            replicas_draining: 0,
            sla_misses: 1,
            gpu_ns: [1_000_000_001; GpuState::COUNT],
        };
        let mut timeseries = Vec::new();
        write_timeseries_csv(&[row], &mut timeseries).unwrap();
        let text = String::from_utf8(timeseries).unwrap();
        let gpu_header: String = GpuState::ALL
            .iter()
            .map(|s| format!(",gpu_s_{}", s.name()))
            .collect();
        let gpu_cells = ",1.000000001".repeat(GpuState::ALL.len());
        assert_eq!(
            text,
            format!(
                "window_start_s,window_end_s,arrivals,completed,running,waiting,replicas,\
                 ttft_p95_ms,replicas_starting,replicas_draining,sla_misses{gpu_header}\n\
                 0.000000000,10.000000000,5,4,1,2,3,1.234567,1,0,1{gpu_cells}\n"
            )
        );
    }
}
