//! End to end: the `fleetsim` binary on bad input. Every case must fail
//! with exit status 1 and one line on stderr that starts with `error:`
//! and names the file, the line and the field at fault; nothing may panic.
//!
//! The cases are a table; [`check`] runs one in a fresh directory holding
//! the case's files, with that directory as the working directory, so the
//! messages name the files as the table does.

use crate::common;
use std::path::PathBuf;
use std::process::Command;

/// A trace scenario reading `trace.csv` (line 4 holds `path`).
pub(crate) const TRACE_SCENARIO: &str = r#"name = "bad-input"
[workload]
kind = "trace"
path = "trace.csv"

[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 1
"#;

/// A small synthetic scenario; the line numbers in the table refer to it.
pub(crate) const SYNTHETIC_SCENARIO: &str = r#"name = "bad-input"
seed = 7

[workload]
kind = "synthetic"
duration_s = 10
arrival = { kind = "poisson", rate_per_s = 2.0 }
input_tokens = { kind = "fixed", tokens = 100 }
output_tokens = { kind = "fixed", tokens = 10 }

[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 2

[deployment.engine]
max_num_seqs = 64
"#;

pub(crate) const GENERIC_HEADER: &str = "time_s,input_tokens,output_tokens\n";

/// One bad input and what its error must say.
pub(crate) struct Case {
    pub(crate) name: &'static str,
    /// Files written into the case's directory: (name, contents).
    files: Vec<(&'static str, String)>,
    /// Arguments of `fleetsim`.
    args: Vec<String>,
    /// The file the message must name.
    file: &'static str,
    /// The line it must name (as `FILE:LINE:` or `FILE: line LINE,`);
    /// `None` only where no line exists (a file that cannot be opened, a
    /// malformed `--set` flag).
    line: Option<usize>,
    /// The field it must name, in backquotes; `None` only where no field
    /// exists.
    field: Option<&'static str>,
    /// Further fragments the message must contain.
    also: Vec<&'static str>,
}

impl Case {
    pub(crate) fn new(name: &'static str, args: &[&str]) -> Case {
        Case {
            name,
            files: Vec::new(),
            args: args.iter().map(|a| a.to_string()).collect(),
            file: "scenario.toml",
            line: None,
            field: None,
            also: Vec::new(),
        }
    }

    pub(crate) fn file(mut self, name: &'static str, contents: impl Into<String>) -> Case {
        self.files.push((name, contents.into()));
        self
    }

    pub(crate) fn at(
        mut self,
        file: &'static str,
        line: Option<usize>,
        field: Option<&'static str>,
    ) -> Case {
        self.file = file;
        self.line = line;
        self.field = field;
        self
    }

    pub(crate) fn also(mut self, fragments: &[&'static str]) -> Case {
        self.also.extend_from_slice(fragments);
        self
    }
}

/// `fleetsim run scenario.toml` on the trace scenario with `trace.csv`.
pub(crate) fn trace_case(name: &'static str, trace: &str) -> Case {
    Case::new(name, &["run", "scenario.toml"])
        .file("scenario.toml", TRACE_SCENARIO)
        .file("trace.csv", trace)
}

/// A generic CSV trace with one good row before `rows`, so errors are on
/// line 3 and later.
pub(crate) fn generic(rows: &str) -> String {
    format!("{GENERIC_HEADER}0,12,5\n{rows}")
}

/// The synthetic scenario with `from` replaced by `to`.
pub(crate) fn synthetic(from: &str, to: &str) -> String {
    assert!(
        SYNTHETIC_SCENARIO.contains(from),
        "{from:?} is not in the scenario"
    );
    SYNTHETIC_SCENARIO.replacen(from, to, 1)
}

/// `fleetsim run scenario.toml [extra…]` on a scenario file.
pub(crate) fn scenario_case(name: &'static str, scenario: String, extra: &[&str]) -> Case {
    let mut args = vec!["run", "scenario.toml"];
    args.extend_from_slice(extra);
    Case::new(name, &args).file("scenario.toml", scenario)
}

/// The synthetic scenario's workload (lines 1–10) with two
/// `[[deployments]]` named `a` and `b` from line 11, five lines each, or
/// six with `share = 1` after `replicas`.
pub(crate) fn two_deployments(a: &str, b: &str, shares: bool) -> String {
    let workload = SYNTHETIC_SCENARIO
        .split("[deployment]")
        .next()
        .unwrap_or_default();
    let share = if shares { "share = 1\n" } else { "" };
    let one = |name: &str| {
        format!("[[deployments]]\nname = \"{name}\"\nreplicas = 1\n{share}model = \"llama-3.1-8b\"\ngpu = \"h100-sxm\"\n")
    };
    format!("{workload}{}{}", one(a), one(b))
}

/// The synthetic scenario on `my-model` and `my-gpu`, defined in tables
/// after it in which `from` is replaced by `to`.
pub(crate) fn own(from: &str, to: &str) -> String {
    assert!(
        common::OWN_HARDWARE.contains(from),
        "{from:?} is not in the tables"
    );
    let scenario = synthetic(
        "model = \"llama-3.1-8b\"\ngpu = \"h100-sxm\"",
        "model = \"my-model\"\ngpu = \"my-gpu\"",
    );
    format!("{scenario}{}", common::OWN_HARDWARE.replacen(from, to, 1))
}

/// `fleetsim run` on `own(from, to)`, failing at `field` on the first line
/// that starts with `line_prefix`.
pub(crate) fn own_case(
    name: &'static str,
    (from, to): (&str, &str),
    line_prefix: &str,
    field: &'static str,
) -> Case {
    let text = own(from, to);
    let line = line_starting(&text, line_prefix);
    scenario_case(name, text, &[]).at("scenario.toml", Some(line), Some(field))
}

/// 1-based line of the first line of `text` that starts with `prefix`.
pub(crate) fn line_starting(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .map(|i| i + 1)
        .expect("prefix present")
}

pub(crate) fn cases() -> Vec<Case> {
    let s = "scenario.toml";
    let t = "trace.csv";
    let quickstart = include_str!("../../../../scenarios/quickstart.toml");
    vec![
        // Malformed trace rows.
        trace_case("non_numeric_tokens", &generic("0.5,twelve,5\n"))
            .at(t, Some(3), Some("input_tokens"))
            .also(&["\"twelve\""]),
        trace_case("missing_column", &generic("0.5,12\n"))
            .at(t, Some(3), Some("output_tokens"))
            .also(&["missing field"]),
        trace_case("extra_column", &generic("0.5,12,5,7\n"))
            .at(t, Some(3), Some("column 4"))
            .also(&["extra field"]),
        trace_case("negative_time", &format!("{GENERIC_HEADER}-1,12,5\n"))
            .at(t, Some(2), Some("time_s"))
            .also(&["negative"]),
        // Timestamps going backwards (sort = true is tested below).
        trace_case("timestamps_backwards", &generic("1,12,5\n0.5,12,5\n"))
            .at(t, Some(4), Some("time_s"))
            .also(&["earlier than the previous", "sort = true"]),
        // Zero, negative and absurd token counts.
        trace_case("zero_tokens", &generic("0.5,0,5\n"))
            .at(t, Some(3), Some("input_tokens"))
            .also(&["at least 1, got 0"]),
        trace_case("negative_tokens", &generic("0.5,12,-3\n"))
            .at(t, Some(3), Some("output_tokens"))
            .also(&["at least 1, got -3"]),
        trace_case("absurd_tokens", &generic("0.5,10000001,5\n"))
            .at(t, Some(3), Some("input_tokens"))
            .also(&["larger than the limit of 10000000"]),
        Case::new("mooncake_bad_value", &["run", "--trace", "trace.jsonl"])
            .file(
                "trace.jsonl",
                "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\n\
                 {\"timestamp\": 3000, \"input_length\": \"many\", \"output_length\": 1}\n",
            )
            .at("trace.jsonl", Some(2), Some("input_length")),
        Case::new("azure_backwards", &["run", "--trace", "azure.csv"])
            .file(
                "azure.csv",
                "TIMESTAMP,ContextTokens,GeneratedTokens\n\
                 2023-11-16 18:15:46.0,10,5\n2023-11-16 18:15:45.0,10,5\n",
            )
            .at("azure.csv", Some(3), Some("TIMESTAMP"))
            .also(&["earlier than the previous"]),
        // Unknown scenario keys, at the top level and nested.
        scenario_case(
            "unknown_top_level_key",
            synthetic("seed = 7\n", "seed = 7\nreplicas = 4\n"),
            &[],
        )
        .at(s, Some(3), Some("replicas"))
        .also(&["unknown field"]),
        scenario_case(
            "unknown_deployment_key",
            synthetic("replicas = 2\n", "replicas = 2\nreplicaz = 2\n"),
            &[],
        )
        .at(s, Some(15), Some("deployment.replicaz"))
        .also(&["unknown field", "`replicas`"]),
        scenario_case(
            "unknown_engine_key",
            synthetic("max_num_seqs = 64", "max_num_seq = 3"),
            &[],
        )
        .at(s, Some(17), Some("deployment.engine.max_num_seq"))
        .also(&["`max_num_seqs`"]),
        scenario_case(
            "unknown_key_in_tagged_section",
            synthetic("rate_per_s = 2.0", "rate = 2.0"),
            &[],
        )
        .at(s, Some(7), Some("workload.arrival.rate"))
        .also(&["`rate_per_s`"]),
        // Engines and parallelism a real engine would refuse.
        scenario_case(
            "tensor_parallel_the_heads_do_not_split_over",
            synthetic("replicas = 2\n", "replicas = 2\ntensor_parallel = 3\n"),
            &[],
        )
        .at(s, Some(15), Some("deployment.tensor_parallel"))
        .also(&["32 query heads", "8 KV heads", "1, 2, 4, 8, 16, 32"]),
        scenario_case(
            "fp4_weights_on_a_gpu_without_fp4",
            synthetic("max_num_seqs = 64", "weights_dtype = \"fp4\""),
            &[],
        )
        .at(s, Some(17), Some("deployment.engine.weights_dtype"))
        .also(&["h100-sxm has no FP4 tensor cores", "fp8 or bf16"]),
        scenario_case(
            "fp8_weights_on_a_gpu_without_fp8",
            synthetic("gpu = \"h100-sxm\"", "gpu = \"a100-80gb\"")
                .replacen("max_num_seqs = 64", "weights_dtype = \"fp8\"", 1),
            &[],
        )
        .at(s, Some(17), Some("deployment.engine.weights_dtype"))
        .also(&["a100-80gb has no FP8 tensor cores"]),
        scenario_case(
            "unknown_engine_kind",
            synthetic("max_num_seqs = 64", "kind = \"tgi\""),
            &[],
        )
        .at(s, Some(17), Some("deployment.engine.kind"))
        .also(&["`tgi`", "`vllm`", "`trtllm`"]),
        scenario_case(
            "vllm_setting_on_trtllm",
            synthetic(
                "max_num_seqs = 64",
                "kind = \"trtllm\"\ngpu_memory_utilization = 0.8",
            ),
            &[],
        )
        .at(s, Some(18), Some("deployment.engine.gpu_memory_utilization"))
        .also(&["not a trtllm setting", "kv_cache_free_gpu_mem_fraction"]),
        scenario_case(
            "trtllm_setting_on_vllm",
            synthetic("max_num_seqs = 64", "kv_cache_free_gpu_mem_fraction = 0.8"),
            &[],
        )
        .at(s, Some(17), Some("deployment.engine.kv_cache_free_gpu_mem_fraction"))
        .also(&["not a vllm setting", "gpu_memory_utilization"]),
        scenario_case(
            "no_evict_on_vllm",
            synthetic(
                "max_num_seqs = 64",
                "capacity_scheduler = \"guaranteed_no_evict\"",
            ),
            &[],
        )
        .at(s, Some(17), Some("deployment.engine.capacity_scheduler"))
        .also(&["vLLM has no guaranteed_no_evict"]),
        scenario_case(
            "kv_fraction_out_of_range",
            synthetic(
                "max_num_seqs = 64",
                "kind = \"trtllm\"\nkv_cache_free_gpu_mem_fraction = 1.5",
            ),
            &[],
        )
        .at(s, Some(18), Some("deployment.engine.kv_cache_free_gpu_mem_fraction"))
        .also(&["must be in (0, 1], got 1.5"]),
        // Wrong types.
        scenario_case(
            "replicas_is_a_string",
            synthetic("replicas = 2", "replicas = \"four\""),
            &[],
        )
        .at(s, Some(14), Some("deployment.replicas"))
        .also(&["\"four\"", "expected u32"]),
        scenario_case(
            "unknown_arrival_kind",
            synthetic("kind = \"poisson\"", "kind = \"poison\""),
            &[],
        )
        .at(s, Some(7), Some("workload.arrival.kind"))
        .also(&["`poison`"]),
        // NaN and negative durations, negative rates.
        scenario_case(
            "negative_duration",
            synthetic("duration_s = 10", "duration_s = -1"),
            &[],
        )
        .at(s, Some(6), Some("workload.duration_s"))
        .also(&["got -1"]),
        scenario_case(
            "nan_duration",
            synthetic("duration_s = 10", "duration_s = nan"),
            &[],
        )
        .at(s, Some(6), Some("workload.duration_s"))
        .also(&["NaN"]),
        scenario_case(
            "negative_rate",
            synthetic("rate_per_s = 2.0", "rate_per_s = -2.0"),
            &[],
        )
        .at(s, Some(7), Some("workload.arrival.rate_per_s"))
        .also(&["got -2"]),
        scenario_case(
            "negative_rate_multiplier",
            synthetic(
                "duration_s = 10\n",
                "duration_s = 10\ntransforms = [{ kind = \"rate_multiplier\", factor = -2 }]\n",
            ),
            &[],
        )
        .at(s, Some(7), Some("workload.transforms[0].factor")),
        // Token counts of a synthetic workload.
        scenario_case(
            "synthetic_zero_tokens",
            synthetic("tokens = 100", "tokens = 0"),
            &[],
        )
        .at(s, Some(8), Some("workload.input_tokens.tokens"))
        .also(&["at least 1"]),
        scenario_case(
            "synthetic_negative_tokens",
            synthetic("tokens = 10 ", "tokens = -10 "),
            &[],
        )
        .at(s, Some(9), Some("workload.output_tokens.tokens"))
        .also(&["-10"]),
        scenario_case(
            "synthetic_absurd_tokens",
            synthetic("tokens = 100", "tokens = 20000000"),
            &[],
        )
        .at(s, Some(8), Some("workload.input_tokens.tokens"))
        .also(&["larger than the limit"]),
        // The deployment.
        scenario_case(
            "zero_replicas",
            synthetic("replicas = 2", "replicas = 0"),
            &[],
        )
        .at(s, Some(14), Some("deployment.replicas")),
        scenario_case(
            "absurd_replicas",
            synthetic("replicas = 2", "replicas = 4000000000"),
            &[],
        )
        .at(s, Some(14), Some("deployment.replicas"))
        .also(&["between 1 and 100000"]),
        scenario_case(
            "unknown_gpu",
            synthetic("gpu = \"h100-sxm\"", "gpu = \"h900\""),
            &[],
        )
        .at(s, Some(13), Some("deployment.gpu"))
        .also(&["\"h900\"", "h100-sxm", "describe your own in a [[gpus]] table"]),
        scenario_case(
            "unknown_model",
            synthetic("model = \"llama-3.1-8b\"", "model = \"llama-9\""),
            &[],
        )
        .at(s, Some(12), Some("deployment.model"))
        .also(&["\"llama-9\"", "llama-3.1-8b", "describe your own in a [[models]] table"]),
        scenario_case(
            "model_does_not_fit",
            synthetic("llama-3.1-8b\"\ngpu = \"h100-sxm", "llama-3.1-70b\"\ngpu = \"l4"),
            &[],
        )
        .at(s, Some(13), Some("deployment.gpu"))
        .also(&["cannot hold llama-3.1-70b", "weights"]),
        scenario_case(
            "absurd_step_overhead",
            synthetic(
                "max_num_seqs = 64\n",
                "max_num_seqs = 64\n\n[deployment.perf]\nkind = \"roofline\"\nstep_overhead_s = 1e300\n",
            ),
            &[],
        )
        .at(s, Some(21), Some("deployment.perf.step_overhead_s")),
        scenario_case(
            "negative_sla_threshold",
            format!("{SYNTHETIC_SCENARIO}\n[sla]\nttft_ms = -1\n"),
            &[],
        )
        .at(s, Some(20), Some("sla.ttft_ms")),
        scenario_case(
            "misspelt_section",
            synthetic("[deployment]", "[deploymentt]")
                .split("\n[deployment.engine]")
                .next()
                .unwrap_or_default()
                .to_string(),
            &[],
        )
        .at(s, Some(11), Some("deploymentt"))
        .also(&["unknown field", "`deployment`"]),
        scenario_case(
            "missing_section",
            SYNTHETIC_SCENARIO
                .split("[deployment]")
                .next()
                .unwrap_or_default()
                .to_string(),
            &[],
        )
        // A missing section has no line.
        .at(s, None, Some("deployment"))
        .also(&["missing", "[deployment]"]),
        // --set.
        scenario_case(
            "set_unknown_key",
            SYNTHETIC_SCENARIO.to_string(),
            &["--set", "deployment.replicaz=3"],
        )
        // No line holds the key; the message points at its section.
        .at(s, Some(11), Some("deployment.replicaz"))
        .also(&["unknown field", "--set deployment.replicaz=3"]),
        scenario_case(
            "set_bad_type",
            SYNTHETIC_SCENARIO.to_string(),
            &["--set", "deployment.replicas=four"],
        )
        .at(s, Some(14), Some("deployment.replicas"))
        .also(&["\"four\"", "--set deployment.replicas=four"]),
        scenario_case(
            "set_bad_value",
            SYNTHETIC_SCENARIO.to_string(),
            &["--set", "workload.duration_s=-5"],
        )
        .at(s, Some(6), Some("workload.duration_s"))
        .also(&["got -5", "--set workload.duration_s=-5"]),
        scenario_case(
            "set_new_key_bad_value",
            SYNTHETIC_SCENARIO.to_string(),
            &["--set", "output.timeseries_resolution_s=0"],
        )
        // Neither the key nor its section is in the file: no line.
        .at(s, None, Some("output.timeseries_resolution_s"))
        .also(&["--set output.timeseries_resolution_s=0"]),
        scenario_case(
            "set_without_value",
            SYNTHETIC_SCENARIO.to_string(),
            &["--set", "replicas"],
        )
        .at(s, None, None)
        .also(&["--set \"replicas\"", "KEY=VALUE"]),
        Case::new(
            "set_on_embedded_quickstart",
            &["run", "--set", "deployment.replicas=four"],
        )
        .at(
            "<embedded quickstart>",
            Some(line_starting(quickstart, "replicas =")),
            Some("deployment.replicas"),
        )
        .also(&["--set deployment.replicas=four"]),
        // Files that do not exist or are in no known format.
        Case::new("trace_file_missing", &["run", "scenario.toml"])
            .file("scenario.toml", TRACE_SCENARIO)
            .at(s, Some(4), Some("workload.path"))
            // The operating system's reason is the error's source, printed
            // after the located message.
            .also(&["cannot open trace.csv: No such file or directory"]),
        Case::new("trace_flag_file_missing", &["run", "--trace", "nope.csv"])
            .at("nope.csv", None, None)
            .also(&["--trace nope.csv: cannot open"]),
        Case::new("scenario_file_missing", &["run", "nope.toml"])
            .at("nope.toml", None, None)
            .also(&["cannot read: No such file or directory"]),
        Case::new("stats_file_missing", &["trace", "stats", "nope.csv"])
            .at("nope.csv", None, None)
            .also(&["nope.csv: cannot open"]),
        trace_case("unrecognised_format", "request,prompt,answer\n0,12,5\n")
            .at(t, Some(1), Some("header"))
            .also(&[
                "unrecognised trace format",
                "\"request,prompt,answer\"",
                "time_s,input_tokens,output_tokens",
            ]),
        // Node pools and cold starts.
        scenario_case(
            "negative_price",
            format!("{SYNTHETIC_SCENARIO}[pool]\nusd_per_gpu_hour = -1\n"),
            &[],
        )
        .at(s, Some(19), Some("pool.usd_per_gpu_hour")),
        scenario_case(
            "pool_gpu_differs_from_the_deployment",
            format!("{SYNTHETIC_SCENARIO}[pool]\ngpu = \"l4\"\n"),
            &[],
        )
        .at(s, Some(19), Some("pool.gpu"))
        .also(&["one GPU type"]),
        scenario_case(
            "negative_provisioning_time",
            format!("{SYNTHETIC_SCENARIO}[pool]\nprovisioning = {{ dist = \"fixed\", value_s = -5 }}\n"),
            &[],
        )
        .at(s, Some(19), Some("pool.provisioning.value_s")),
        scenario_case(
            "zero_extract_rate",
            format!("{SYNTHETIC_SCENARIO}[pool]\n[cold_start]\nextract_gb_per_s = 0\n"),
            &[],
        )
        .at(s, Some(20), Some("cold_start.extract_gb_per_s")),
        scenario_case(
            "zero_pull_bandwidth",
            format!("{SYNTHETIC_SCENARIO}[pool]\n[cold_start]\npull_bandwidth = {{ dist = \"fixed\", gb_per_s = 0 }}\n"),
            &[],
        )
        .at(s, Some(20), Some("cold_start.pull_bandwidth.gb_per_s")),
        scenario_case(
            "replica_larger_than_a_node",
            format!(
                "{}[pool]\ngpus_per_node = 2\n",
                synthetic("replicas = 2", "replicas = 2\ntensor_parallel = 4")
            ),
            &[],
        )
        .at(s, Some(20), Some("pool.gpus_per_node"))
        .also(&["needs 4 GPUs on one node"]),
        scenario_case(
            "quota_below_initial_replicas",
            format!("{SYNTHETIC_SCENARIO}[pool]\ngpus_per_node = 1\nmax_nodes = 1\n"),
            &[],
        )
        .at(s, Some(20), Some("pool.max_nodes"))
        .also(&["fewer than the 2 initial replicas"]),
        // Queueing.
        scenario_case(
            "cap_without_a_central_queue",
            format!("{SYNTHETIC_SCENARIO}[queue]\nmax_concurrency_per_replica = 4\n"),
            &[],
        )
        .at(s, Some(19), Some("queue.max_concurrency_per_replica"))
        .also(&["central"]),
        scenario_case(
            "zero_concurrency_cap",
            format!("{SYNTHETIC_SCENARIO}[queue]\nmode = \"central\"\nmax_concurrency_per_replica = 0\n"),
            &[],
        )
        .at(s, Some(20), Some("queue.max_concurrency_per_replica")),
        scenario_case(
            "unknown_queue_mode",
            format!("{SYNTHETIC_SCENARIO}[queue]\nmode = \"gateway\"\n"),
            &[],
        )
        .at(s, Some(19), Some("queue.mode")),
        scenario_case(
            "duplicate_class",
            format!("{SYNTHETIC_SCENARIO}[[queue.classes]]\nname = \"paid\"\n[[queue.classes]]\nname = \"paid\"\n"),
            &[],
        )
        .at(s, Some(21), Some("queue.classes[1].name"))
        .also(&["listed twice"]),
        scenario_case(
            "negative_queue_timeout",
            format!("{SYNTHETIC_SCENARIO}[[queue.classes]]\nname = \"paid\"\ntimeout_s = -1\n"),
            &[],
        )
        .at(s, Some(20), Some("queue.classes[0].timeout_s")),
        Case::new("unknown_priority_class", &["run", "scenario.toml"])
            .file(
                "scenario.toml",
                format!("{TRACE_SCENARIO}[[queue.classes]]\nname = \"paid\"\n"),
            )
            .file(
                "trace.csv",
                "time_s,input_tokens,output_tokens,priority_class\n0,12,5,paid\n0.5,12,5,gold\n",
            )
            .at(t, Some(3), Some("priority_class"))
            .also(&["\"gold\" is not configured", "paid"]),
        // Static and dynamic batching: each mode's keys, checked.
        scenario_case(
            "batch_size_without_static_batching",
            synthetic("max_num_seqs = 64", "max_num_seqs = 64\nbatch_size = 8"),
            &[],
        )
        .at(s, Some(18), Some("deployment.engine.batch_size"))
        .also(&["applies only to batching = \"static\"", "\"continuous\""]),
        scenario_case(
            "static_batch_above_max_num_seqs",
            synthetic(
                "max_num_seqs = 64",
                "max_num_seqs = 64\nbatching = \"static\"\nmax_batch_wait_s = 5\nbatch_size = 128",
            ),
            &[],
        )
        .at(s, Some(20), Some("deployment.engine.batch_size"))
        .also(&["between 1 and max_num_seqs (64)", "got 128"]),
        scenario_case(
            "dynamic_batching_without_a_delay",
            synthetic("max_num_seqs = 64", "max_num_seqs = 64\nbatching = \"dynamic\""),
            &[],
        )
        .at(s, Some(18), Some("deployment.engine.batching"))
        .also(&["needs max_queue_delay_ms"]),
        scenario_case(
            "preferred_batch_sizes_not_increasing",
            synthetic(
                "max_num_seqs = 64",
                "max_num_seqs = 64\nbatching = \"dynamic\"\npreferred_batch_sizes = [8, 4]\nmax_queue_delay_ms = 5",
            ),
            &[],
        )
        .at(s, Some(19), Some("deployment.engine.preferred_batch_sizes"))
        .also(&["increasing", "got 4 after 8"]),
        scenario_case(
            "negative_queue_delay",
            synthetic(
                "max_num_seqs = 64",
                "max_num_seqs = 64\nbatching = \"dynamic\"\nmax_queue_delay_ms = -1",
            ),
            &[],
        )
        .at(s, Some(19), Some("deployment.engine.max_queue_delay_ms"))
        .also(&["finite number of ms", "got -1"]),
        scenario_case(
            "unknown_batching_mode",
            synthetic("max_num_seqs = 64", "max_num_seqs = 64\nbatching = \"inflight\""),
            &[],
        )
        .at(s, Some(18), Some("deployment.engine.batching"))
        .also(&["continuous", "dynamic", "static"]),
        // Prefix caching, LoRA and the cache-aware routers.
        scenario_case(
            "prefix_block_tokens_zero",
            synthetic("max_num_seqs = 64", "max_num_seqs = 64\nprefix_block_tokens = 0"),
            &[],
        )
        .at(s, Some(18), Some("deployment.engine.prefix_block_tokens"))
        .also(&["between 1 and", "got 0"]),
        scenario_case(
            "prefix_caching_not_a_bool",
            synthetic("max_num_seqs = 64", "max_num_seqs = 64\nprefix_caching = \"yes\""),
            &[],
        )
        .at(s, Some(18), Some("deployment.engine.prefix_caching"))
        .also(&["bool"]),
        scenario_case(
            "max_loras_zero",
            format!("{SYNTHETIC_SCENARIO}[deployment.lora]\nmax_loras = 0\n"),
            &[],
        )
        .at(s, Some(19), Some("deployment.lora.max_loras"))
        .also(&["between 1 and 256, got 0"]),
        scenario_case(
            "adapter_load_negative",
            format!("{SYNTHETIC_SCENARIO}[deployment.lora]\nadapter_load_ms = -5\n"),
            &[],
        )
        .at(s, Some(19), Some("deployment.lora.adapter_load_ms"))
        .also(&["≥ 0, got -5"]),
        scenario_case(
            "unknown_lora_key",
            format!("{SYNTHETIC_SCENARIO}[deployment.lora]\nmax_lora = 2\n"),
            &[],
        )
        .at(s, Some(19), Some("deployment.lora.max_lora"))
        .also(&["`max_loras`"]),
        scenario_case(
            "lora_with_slots",
            format!(
                "{}[deployment.lora]\nmax_loras = 2\n",
                synthetic(
                    "[deployment.engine]\nmax_num_seqs = 64\n",
                    "[deployment.slots]\nslots = 2\nservice = { dist = \"exponential\", mean_s = 1.0 }\n",
                )
            ),
            &[],
        )
        .at(s, Some(19), Some("deployment.lora"))
        .also(&["slots"]),
        scenario_case(
            "engine_with_slots",
            synthetic(
                "[deployment.engine]\n",
                "[deployment.slots]\nslots = 2\nservice = { dist = \"exponential\", mean_s = 1.0 }\n[deployment.engine]\n",
            ),
            &[],
        )
        .at(s, Some(19), Some("deployment.engine"))
        .also(&["slots"]),
        scenario_case(
            "prefix_router_negative_imbalance",
            format!(
                "{SYNTHETIC_SCENARIO}[router]\nkind = \"prefix_aware\"\nmax_outstanding_imbalance = -1\n"
            ),
            &[],
        )
        .at(s, Some(20), Some("router.max_outstanding_imbalance")),
        scenario_case(
            "lora_router_unknown_knob",
            format!("{SYNTHETIC_SCENARIO}[router]\nkind = \"lora_aware\"\nimbalance = 3\n"),
            &[],
        )
        .at(s, Some(20), Some("router.imbalance"))
        .also(&["`max_outstanding_imbalance`"]),
        // Autoscalers: knobs outside their upstream ranges.
        scenario_case(
            "kpa_panic_threshold_at_most_one",
            format!("{SYNTHETIC_SCENARIO}[scaling]\nkind = \"kpa\"\nmax_replicas = 4\npanic_threshold_percentage = 100\n"),
            &[],
        )
        .at(s, Some(21), Some("scaling.panic_threshold_percentage"))
        .also(&["Knative"]),
        scenario_case(
            "autoscaler_min_above_max",
            format!("{SYNTHETIC_SCENARIO}[scaling]\nkind = \"concurrency\"\nmax_replicas = 2\nmin_replicas = 3\n"),
            &[],
        )
        .at(s, Some(21), Some("scaling.min_replicas"))
        .also(&["min_replicas > max_replicas"]),
        scenario_case(
            "negative_autoscaler_window",
            format!("{SYNTHETIC_SCENARIO}[scaling]\nkind = \"hpa\"\ndownscale_stabilization_s = -5\n"),
            &[],
        )
        .at(s, Some(20), Some("scaling.downscale_stabilization_s")),
        scenario_case(
            "unknown_scaling_kind",
            format!("{SYNTHETIC_SCENARIO}[scaling]\nkind = \"autopilot\"\n"),
            &[],
        )
        .at(s, Some(19), Some("scaling.kind"))
        .also(&["`autopilot`", "scheduled", "kpa"]),
        // Several deployments.
        scenario_case(
            "deployment_and_deployments",
            format!("{SYNTHETIC_SCENARIO}[[deployments]]\nname = \"b\"\nreplicas = 1\n"),
            &[],
        )
        .at(s, Some(18), Some("deployments"))
        .also(&["not both"]),
        scenario_case(
            "router_inside_a_single_deployment",
            synthetic("replicas = 2", "replicas = 2\nrouter = { kind = \"random\" }"),
            &[],
        )
        .at(s, Some(15), Some("deployment.router"))
        .also(&["top level"]),
        scenario_case(
            "top_level_router_with_deployments",
            format!("{}[router]\nkind = \"random\"\n", two_deployments("a", "b", true)),
            &[],
        )
        .at(s, Some(23), Some("router"))
        .also(&["its own"]),
        scenario_case(
            "duplicate_deployment_name",
            two_deployments("a", "a", true),
            &[],
        )
        .at(s, Some(18), Some("deployments[1].name"))
        .also(&["listed twice"]),
        scenario_case(
            "generated_workload_without_shares",
            two_deployments("a", "b", false),
            &[],
        )
        .at(s, Some(11), Some("deployments"))
        .also(&["share"]),
        scenario_case(
            "bad_field_inside_a_deployment",
            two_deployments("a", "b", true).replacen("replicas = 1", "replicas = 0", 1),
            &[],
        )
        .at(s, Some(13), Some("deployments[0].replicas")),
        scenario_case(
            "pipeline_with_a_cycle",
            format!("{}[[pipelines]]\nname = \"p\"\nstages = [\"a\", \"b\", \"a\"]\nhops_ms = [1, 1]\n", two_deployments("a", "b", true)),
            &[],
        )
        .at(s, Some(25), Some("pipelines[0].stages"))
        .also(&["cycle"]),
        scenario_case(
            "pipeline_unknown_stage",
            format!("{}[[pipelines]]\nname = \"p\"\nstages = [\"a\", \"c\"]\nhops_ms = [1]\n", two_deployments("a", "b", true)),
            &[],
        )
        .at(s, Some(25), Some("pipelines[0].stages"))
        .also(&["\"c\" is not a deployment"]),
        scenario_case(
            "pipeline_hops_do_not_match",
            format!("{}[[pipelines]]\nname = \"p\"\nstages = [\"a\", \"b\"]\nhops_ms = [1, 2]\n", two_deployments("a", "b", true)),
            &[],
        )
        .at(s, Some(26), Some("pipelines[0].hops_ms"))
        .also(&["1 for 2 stages, got 2"]),
        scenario_case(
            "pipeline_named_like_a_deployment",
            format!("{}[[pipelines]]\nname = \"a\"\nstages = [\"b\"]\n", two_deployments("a", "b", true)),
            &[],
        )
        .at(s, Some(24), Some("pipelines[0].name"))
        .also(&["already names"]),
        scenario_case(
            "model_route_to_nowhere",
            format!("{}[[model_routers]]\nname = \"auto\"\ndefault = \"a\"\n[[model_routers.routes]]\nto = \"c\"\nmin_input_tokens = 10\n", two_deployments("a", "b", true)),
            &[],
        )
        .at(s, Some(27), Some("model_routers[0].routes[0].to"))
        .also(&["\"c\" is not a deployment or pipeline (they are: a, b)"]),
        scenario_case(
            "model_route_without_a_condition",
            format!("{}[[model_routers]]\nname = \"auto\"\ndefault = \"a\"\n[[model_routers.routes]]\nto = \"b\"\n", two_deployments("a", "b", true)),
            &[],
        )
        .at(s, Some(26), Some("model_routers[0].routes[0]"))
        .also(&["needs a condition"]),
        scenario_case(
            "model_route_fraction_out_of_range",
            format!("{}[[model_routers]]\nname = \"auto\"\ndefault = \"a\"\n[[model_routers.routes]]\nto = \"b\"\nfraction = 1.5\n", two_deployments("a", "b", true)),
            &[],
        )
        .at(s, Some(28), Some("model_routers[0].routes[0].fraction"))
        .also(&["(0, 1], got 1.5"]),
        scenario_case(
            "model_route_unknown_key",
            format!("{}[[model_routers]]\nname = \"auto\"\ndefault = \"a\"\n[[model_routers.routes]]\nto = \"b\"\nmin_prompt_tokens = 10\n", two_deployments("a", "b", true)),
            &[],
        )
        .at(s, Some(28), Some("model_routers[0].routes[0].min_prompt_tokens"))
        .also(&["unknown field"]),
        scenario_case(
            "model_route_unknown_class",
            format!("{}[[deployments.queue.classes]]\nname = \"paid\"\n[[model_routers]]\nname = \"auto\"\ndefault = \"a\"\n[[model_routers.routes]]\nto = \"b\"\nclasses = [\"piad\"]\n", two_deployments("a", "b", true)),
            &[],
        )
        .at(s, Some(30), Some("model_routers[0].routes[0].classes"))
        .also(&["\"piad\" is not a class of any deployment (classes: paid)"]),
        scenario_case(
            "model_router_named_like_a_deployment",
            format!("{}[[model_routers]]\nname = \"b\"\ndefault = \"a\"\n", two_deployments("a", "b", true)),
            &[],
        )
        .at(s, Some(24), Some("model_routers[0].name"))
        .also(&["already names"]),
        Case::new("model_outside_the_deployments", &["run", "scenario.toml"])
            .file(
                "scenario.toml",
                TRACE_SCENARIO.replace(
                    "[deployment]\n",
                    "[[deployments]]\nname = \"llama-3.1-8b\"\n",
                ) + "[[deployments]]\nname = \"small\"\nmodel = \"llama-3.1-8b\"\ngpu = \"h100-sxm\"\nreplicas = 1\n",
            )
            .file(
                "trace.csv",
                "time_s,input_tokens,output_tokens,model\n0,12,5,small\n0.5,12,5,mistral\n",
            )
            .at(t, Some(3), Some("model"))
            .also(&["\"mistral\" is not configured", "small"]),
        // `fleetsim trace stats` on malformed files.
        Case::new("stats_non_numeric", &["trace", "stats", "trace.csv"])
            .file("trace.csv", generic("0.5,twelve,5\n"))
            .at(t, Some(3), Some("input_tokens")),
        Case::new("stats_missing_column", &["trace", "stats", "trace.csv"])
            .file("trace.csv", generic("0.5,12\n"))
            .at(t, Some(3), Some("output_tokens")),
        Case::new("stats_backwards", &["trace", "stats", "trace.csv"])
            .file("trace.csv", generic("1,12,5\n0.5,12,5\n"))
            .at(t, Some(4), Some("time_s")),
        Case::new("stats_unrecognised", &["trace", "stats", "trace.csv"])
            .file("trace.csv", "\n{\"time\": 0, \"prompt\": 3}\n")
            .at(t, Some(2), Some("record"))
            .also(&["unrecognised trace format"]),
        // Sweeps, comparisons and checks name the scenario file and field.
        Case::new(
            "sweep_unknown_knob",
            &["sweep", "scenario.toml", "--out", "o", "--grid", "deployment.replica=1,2"],
        )
        .file("scenario.toml", quickstart)
        .at(s, Some(line_starting(quickstart, "[deployment]")), Some("deployment.replica"))
        .also(&["unknown field", "(from --set deployment.replica=1)"]),
        Case::new(
            "sweep_value_out_of_range",
            &["sweep", "scenario.toml", "--out", "o", "--grid", "deployment.replicas=2,0"],
        )
        .file("scenario.toml", quickstart)
        .at(s, Some(line_starting(quickstart, "replicas")), Some("deployment.replicas"))
        .also(&["configuration 1"]),
        // A scenario's own GPUs ([[gpus]]) and models ([[models]]).
        own_case(
            "own_gpu_negative_peak",
            ("bf16_tflops = 989.4", "bf16_tflops = -1"),
            "bf16_tflops",
            "gpus[0].bf16_tflops",
        )
        .also(&["TFLOPS from 1 to", "got -1"]),
        own_case(
            "own_gpu_nan_bandwidth",
            ("_tb_per_s = 3.35", "_tb_per_s = nan"),
            "memory_bandwidth_tb_per_s",
            "gpus[0].memory_bandwidth_tb_per_s",
        )
        .also(&["got NaN"]),
        own_case(
            "own_gpu_bandwidth_in_the_wrong_unit",
            ("_tb_per_s = 3.35", "_tb_per_s = 3350"),
            "memory_bandwidth_tb_per_s",
            "gpus[0].memory_bandwidth_tb_per_s",
        )
        .also(&["TB/s from 0.01 to 1000", "got 3350"]),
        own_case(
            "own_gpu_zero_memory",
            ("memory_gb = 80", "memory_gb = 0"),
            "memory_gb",
            "gpus[0].memory_gb",
        )
        .also(&["GB from 1 to", "got 0"]),
        own_case(
            "own_gpu_zero_interconnect",
            ("interconnect_gb_per_s = 450", "interconnect_gb_per_s = 0"),
            "interconnect_gb_per_s",
            "gpus[0].interconnect_gb_per_s",
        )
        .also(&["GB/s from", "got 0"]),
        own_case(
            "own_gpu_fp8_below_bf16",
            ("fp8_tflops = 1978.9", "fp8_tflops = 500"),
            "fp8_tflops",
            "gpus[0].fp8_tflops",
        )
        .also(&["at least bf16_tflops (989.4), got 500"]),
        own_case(
            "own_gpu_fp4_without_fp8",
            ("fp8_tflops = 1978.9", "fp4_tflops = 4000"),
            "[[gpus]]",
            "gpus[0].fp8_tflops",
        )
        .also(&["missing", "FP4 tensor cores"]),
        own_case(
            "own_gpu_unknown_link",
            ("link = \"nvlink\"", "link = \"infiniband\""),
            "link",
            "gpus[0].link",
        )
        .also(&["`infiniband`", "`nvlink`", "`pcie`"]),
        own_case(
            "own_gpu_unknown_generation",
            ("generation = \"hopper\"", "generation = \"volta\""),
            "generation",
            "gpus[0].generation",
        )
        .also(&["`volta`", "`ampere`", "`blackwell`"]),
        own_case(
            "own_gpu_missing_figure",
            ("memory_gb = 80\n", ""),
            "[[gpus]]",
            "gpus[0].memory_gb",
        )
        .also(&["missing field `memory_gb`"]),
        own_case(
            "own_gpu_shadows_the_catalogue",
            ("name = \"my-gpu\"", "name = \"H100-SXM\""),
            "name = \"H100-SXM\"",
            "gpus[0].name",
        )
        .also(&["the catalogue's h100-sxm", "another name"]),
        own_case(
            "own_model_active_above_total",
            ("params_b = 8.03", "params_b = 8.03\nactive_params_b = 9"),
            "active_params_b",
            "models[0].active_params_b",
        )
        .also(&["at most params_b (8.03), got 9"]),
        own_case(
            "own_model_negative_params",
            ("params_b = 8.03", "params_b = -8"),
            "params_b",
            "models[0].params_b",
        )
        .also(&["billion parameters", "got -8"]),
        own_case(
            "own_model_heads_do_not_group",
            ("kv_heads = 8", "kv_heads = 6"),
            "kv_heads",
            "models[0].kv_heads",
        )
        .also(&["divide query_heads (32), got 6"]),
        own_case(
            "own_model_zero_context",
            ("max_context_tokens = 131072", "max_context_tokens = 0"),
            "max_context_tokens",
            "models[0].max_context_tokens",
        )
        .also(&["at least 1, got 0"]),
        own_case(
            "own_model_zero_layers",
            ("layers = 32", "layers = 0"),
            "layers",
            "models[0].layers",
        )
        .also(&["at least 1, got 0"]),
        own_case(
            "own_model_negative_heads",
            ("query_heads = 32", "query_heads = -32"),
            "query_heads",
            "models[0].query_heads",
        )
        .also(&["-32", "u32"]),
        own_case(
            "own_model_latent_with_kv_heads",
            ("head_dim = 128", "head_dim = 128\nkv_latent_dim = 576"),
            "kv_heads",
            "models[0].kv_heads",
        )
        .also(&["must be 1 (or left out) with kv_latent_dim, got 8"]),
        own_case(
            "own_model_missing_kv_heads",
            ("kv_heads = 8\n", ""),
            "[[models]]",
            "models[0].kv_heads",
        )
        .also(&["missing", "kv_latent_dim"]),
        own_case(
            "own_model_config_json_key",
            ("kv_heads = 8", "num_key_value_heads = 8"),
            "num_key_value_heads",
            "models[0].num_key_value_heads",
        )
        .also(&["unknown field", "`kv_heads`"]),
        own_case(
            "own_model_defined_twice",
            ("max_context_tokens = 131072\n", "max_context_tokens = 131072\n\n[[models]]\nname = \"MY-MODEL\"\nparams_b = 1\nlayers = 1\nhidden_size = 64\nquery_heads = 1\nkv_heads = 1\nhead_dim = 64\nmax_context_tokens = 64\n"),
            "name = \"MY-MODEL\"",
            "models[1].name",
        )
        .also(&["\"MY-MODEL\" is defined twice"]),
        own_case(
            "own_model_does_not_fit",
            ("params_b = 8.03", "params_b = 800"),
            "gpu = \"my-gpu\"",
            "deployment.gpu",
        )
        .also(&["1 × my-gpu cannot hold my-model", "weights 1600.0 GB"]),
        own_case(
            "unknown_gpu_lists_the_catalogue_and_the_scenario",
            ("name = \"my-gpu\"", "name = \"other-gpu\""),
            "gpu = \"my-gpu\"",
            "deployment.gpu",
        )
        .also(&["\"my-gpu\"", "h100-sxm", "gb200", "[[gpus]] define other-gpu"]),
        own_case(
            "unknown_model_lists_the_catalogue_and_the_scenario",
            ("name = \"my-model\"", "name = \"other-model\""),
            "model = \"my-model\"",
            "deployment.model",
        )
        .also(&["\"my-model\"", "llama-3.1-8b", "[[models]] define other-model"]),
        Case::new("compare_missing_scenario", &["compare", "scenario.toml", "b.toml"])
            .file("b.toml", quickstart)
            .also(&["cannot read"]),
        Case::new(
            "check_missing_scenario",
            &["check", "--baseline", "b.toml", "scenario.toml"],
        )
        .file("b.toml", "version = 1\n")
        .also(&["cannot read: No such file or directory"]),
    ]
}

/// A fresh, empty directory for one case.
pub(crate) fn scratch(test: &str, case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleetsim-{test}-{}-{case}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// Runs one case; returns what is wrong with its outcome, if anything.
pub(crate) fn check(case: &Case) -> Result<(), String> {
    let dir = scratch("bad-input", case.name);
    for (name, contents) in &case.files {
        std::fs::write(dir.join(name), contents).expect("write case file");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(&case.args)
        .current_dir(&dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run fleetsim");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.status.code() != Some(1) {
        problems.push(format!("exit status {:?}, expected 1", out.status.code()));
    }
    if stderr.contains("panicked") {
        problems.push("panicked".to_string());
    }
    if !stderr.starts_with("error: ") {
        problems.push("stderr does not start with `error: `".to_string());
    }
    let parts: Vec<&str> = stderr
        .trim_end()
        .split(": ")
        .filter(|p| p.len() >= 12)
        .collect();
    if (1..parts.len()).any(|i| parts[..i].contains(&parts[i])) {
        problems.push("repeats itself".to_string());
    }
    if stderr.trim_end().lines().count() != 1 {
        problems.push("stderr is not one line".to_string());
    }
    if !stderr.contains(case.file) {
        problems.push(format!("does not name the file {:?}", case.file));
    }
    if let Some(line) = case.line {
        let as_prefix = format!("{}:{line}:", case.file);
        let in_trace = format!("{}: line {line},", case.file);
        if !stderr.contains(&as_prefix) && !stderr.contains(&in_trace) {
            problems.push(format!("does not name line {line} of {}", case.file));
        }
    }
    if let Some(field) = case.field {
        if !stderr.contains(&format!("field `{field}`")) {
            problems.push(format!("does not name field `{field}`"));
        }
    }
    for fragment in &case.also {
        if !stderr.contains(fragment) {
            problems.push(format!("does not contain {fragment:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}\n  fleetsim {}\n  stderr: {}",
            case.name,
            problems.join("; "),
            case.args.join(" "),
            stderr.trim_end()
        ))
    }
}

#[test]
fn bad_inputs_fail_with_a_located_message() {
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names must be unique");
    let failures: Vec<String> = cases.iter().filter_map(|c| check(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Runs `fleetsim` in a scratch directory holding `files`, requires success
/// and returns stdout.
pub(crate) fn run_ok(test: &str, files: &[(&str, &str)], args: &[&str]) -> String {
    let dir = scratch(test, "ok");
    for (name, contents) in files {
        std::fs::write(dir.join(name), contents).expect("write file");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .current_dir(&dir)
        .output()
        .expect("run fleetsim");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "fleetsim {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn arrived(json: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(json).expect("summary JSON");
    v["requests"]["arrived"].as_u64().expect("requests.arrived")
}

#[test]
fn sort_true_replays_a_trace_whose_timestamps_go_backwards() {
    let backwards = generic("1,12,5\n0.5,12,5\n");
    let sorted =
        TRACE_SCENARIO.replace("path = \"trace.csv\"", "path = \"trace.csv\"\nsort = true");
    let out = run_ok(
        "sort-generic",
        &[("scenario.toml", &sorted), ("trace.csv", &backwards)],
        &["run", "scenario.toml", "--format", "json"],
    );
    assert_eq!(arrived(&out), 3);
    // The same through --set.
    let out = run_ok(
        "sort-set",
        &[("scenario.toml", TRACE_SCENARIO), ("trace.csv", &backwards)],
        &[
            "run",
            "scenario.toml",
            "--set",
            "workload.sort=true",
            "--format",
            "json",
        ],
    );
    assert_eq!(arrived(&out), 3);
    // Azure traces count from their earliest request once sorted.
    let azure = "TIMESTAMP,ContextTokens,GeneratedTokens\n\
                 2023-11-16 18:15:46.0,10,5\n2023-11-16 18:15:45.0,10,5\n";
    let out = run_ok(
        "sort-azure",
        &[("scenario.toml", &sorted), ("trace.csv", azure)],
        &["run", "scenario.toml", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("summary JSON");
    assert_eq!(v["requests"]["arrived"], 2);
    assert_eq!(v["requests"]["completed"], 2);
    let simulated = v["sim"]["simulated_s"].as_f64().expect("simulated_s");
    assert!(
        (1.0..2.0).contains(&simulated),
        "the earliest request arrives at 0 and the other 1 s later: {simulated} s simulated"
    );
}
