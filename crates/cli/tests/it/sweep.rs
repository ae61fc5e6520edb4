//! Sweeps: row counts, determinism across thread counts, shards and merge,
//! resume after a crash, selection, and bad input.
#![allow(clippy::unwrap_used)]

use crate::common;

use crate::common::scratch_dir;
use fleetsim::sweep::{self, select, Knob, RunOptions, Shard, Sweep, SweepSpec};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary's command-line definitions, to parse a command line as
/// `fleetsim` does (the library has no clap).
#[allow(dead_code)]
#[path = "../../src/bin/fleetsim/args.rs"]
mod cli_args;

/// The quickstart, shortened so a sweep of a few configurations is quick.
fn quickstart_sweep(grids: &[&str], seeds: u32) -> Sweep {
    let spec = SweepSpec {
        knobs: grids.iter().map(|g| Knob::parse_grid(g).unwrap()).collect(),
        random: None,
        sample_seed: 1,
        seeds,
    };
    Sweep::from_str(
        fleetsim::scenario::QUICKSTART_TOML,
        "quickstart.toml",
        Path::new("."),
        &["workload.duration_s=20".to_string()],
        spec,
    )
    .unwrap()
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

fn options(threads: usize) -> RunOptions {
    RunOptions {
        threads: Some(threads),
        ..RunOptions::default()
    }
}

#[test]
fn one_row_per_configuration_and_seed_each_equal_to_a_single_run() {
    let sweep = quickstart_sweep(
        &[
            "deployment.replicas=1,2,3",
            "router.kind=round_robin,random",
        ],
        2,
    );
    let dir = scratch_dir("sweep-rows");
    let rows = sweep.run(&dir, &options(2), &mut |_| {}).unwrap();
    assert_eq!(rows.len(), 12);
    let keys: Vec<(usize, u64)> = rows.iter().map(|r| (r.config, r.seed)).collect();
    let expect: Vec<(usize, u64)> = (0..6).flat_map(|c| [(c, 42), (c, 43)]).collect();
    assert_eq!(
        keys, expect,
        "sorted by (config, seed); seeds from the scenario's"
    );

    // Row 7 is configuration 3 (replicas 2, random) on seed 43: exactly
    // what `run` gives with those settings.
    let row = &rows[7];
    assert_eq!(row.knob("deployment.replicas").unwrap().as_f64(), Some(2.0));
    let sets: Vec<String> = [
        "workload.duration_s=20",
        "deployment.replicas=2",
        "router.kind=random",
        "seed=43",
    ]
    .map(String::from)
    .to_vec();
    let s = fleetsim::scenario::load_str(
        fleetsim::scenario::QUICKSTART_TOML,
        "q",
        Path::new("."),
        &sets,
    )
    .unwrap();
    let single = fleetsim::run::run(&s).unwrap();
    let summary = serde_json::to_string(&single.summary).unwrap();
    assert!(row.line.ends_with(&format!(",\"summary\":{summary}}}")));
    // The CSV cells are the JSON numbers exactly (no precision lost on
    // the way through a parser).
    let mut cells = Vec::new();
    row.value
        .get("summary")
        .unwrap()
        .flatten_into("", &mut cells);
    let busy = cells
        .iter()
        .find(|(k, _)| k == "fleet.busy_fraction_mean")
        .unwrap();
    assert_eq!(busy.1, single.summary.fleet.busy_fraction_mean.to_string());

    // The CSV: a header, then one line per row, with knob and summary columns.
    let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(csv.lines().count(), 13);
    for column in [
        "config",
        "seed",
        "knob.deployment.replicas",
        "knob.router.kind",
        "requests.arrived",
        "latency.ttft_ms.p95",
        "sla.attainment",
        "gpu_hours.billed",
        "sim.events",
    ] {
        assert!(header.contains(&column), "no column {column}: {header:?}");
    }
    assert!(!dir.join("results.jsonl.partial").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rows_stream_to_partial_files_and_only_the_finish_writes_final_names() {
    let sweep = quickstart_sweep(&["deployment.replicas=1,2,3"], 1);
    let dir = scratch_dir("sweep-stream");
    let mut seen = Vec::new();
    sweep
        .run(&dir, &options(1), &mut |p| {
            let jsonl =
                std::fs::read_to_string(dir.join("results.jsonl.partial")).unwrap_or_default();
            let csv = std::fs::read_to_string(dir.join("results.csv.partial")).unwrap_or_default();
            let finals = dir.join("results.jsonl").exists() || dir.join("results.csv").exists();
            seen.push((p.done, jsonl.lines().count(), csv.lines().count(), finals));
        })
        .unwrap();
    // Before each run, after each: the partial files grow row by row (the
    // CSV with its header line), and no final file exists yet.
    assert_eq!(
        seen,
        [
            (0, 0, 0, false),
            (1, 1, 2, false),
            (2, 2, 3, false),
            (3, 3, 4, false)
        ]
    );
    assert!(!dir.join("results.jsonl.partial").exists());
    assert!(!dir.join("results.csv.partial").exists());
    let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let sweep = quickstart_sweep(&["deployment.replicas=1,2,3,4"], 2);
    let (a, b) = (scratch_dir("sweep-threads"), scratch_dir("sweep-threads"));
    sweep.run(&a, &options(1), &mut |_| {}).unwrap();
    sweep.run(&b, &options(2), &mut |_| {}).unwrap();
    assert_eq!(files(&a), files(&b));
    std::fs::remove_dir_all(&a).unwrap();
    std::fs::remove_dir_all(&b).unwrap();
}

#[test]
fn merged_shards_equal_the_unsharded_sweep_byte_for_byte() {
    let sweep = quickstart_sweep(
        &[
            "deployment.replicas=1,2,3",
            "router.kind=round_robin,random",
        ],
        2,
    );
    let whole = scratch_dir("sweep-whole");
    sweep.run(&whole, &options(2), &mut |_| {}).unwrap();
    let shard_dirs: Vec<PathBuf> = (0..4).map(|_| scratch_dir("sweep-shard")).collect();
    for (i, dir) in shard_dirs.iter().enumerate() {
        let shard = Shard::parse(&format!("{i}/4")).unwrap();
        let opts = RunOptions {
            shard: Some(shard),
            ..options(1)
        };
        let rows = sweep.run(dir, &opts, &mut |_| {}).unwrap();
        assert!(rows.iter().all(|r| shard.contains(r.config)));
        assert_eq!(
            rows.len(),
            if i < 2 { 4 } else { 2 },
            "6 configs over 4 shards"
        );
    }
    let merged = scratch_dir("sweep-merged");
    // Any order of shard directories.
    let reversed: Vec<PathBuf> = shard_dirs.iter().rev().cloned().collect();
    sweep::merge(&merged, &reversed).unwrap();
    assert_eq!(files(&merged), files(&whole));

    // A missing shard, a shard given twice, an unfinished shard.
    let err = sweep::merge(&scratch_dir("m"), &shard_dirs[..3]).unwrap_err();
    assert!(err.to_string().contains("missing shard(s) 3/4"), "{err}");
    let twice = [&shard_dirs[..], &shard_dirs[..1]].concat();
    let err = sweep::merge(&scratch_dir("m"), &twice).unwrap_err();
    assert!(err.to_string().contains("shard 0/4 is also in"), "{err}");
    std::fs::remove_file(shard_dirs[1].join("results.jsonl")).unwrap();
    let err = sweep::merge(&scratch_dir("m"), &shard_dirs).unwrap_err();
    assert!(err.to_string().contains("has not finished"), "{err}");
    // Shards of another sweep do not mix.
    let other = quickstart_sweep(
        &[
            "deployment.replicas=1,2,3",
            "router.kind=round_robin,random",
        ],
        3,
    );
    let foreign = scratch_dir("sweep-foreign");
    let opts = RunOptions {
        shard: Some(Shard::parse("1/4").unwrap()),
        ..options(1)
    };
    other.run(&foreign, &opts, &mut |_| {}).unwrap();
    let mixed = vec![
        shard_dirs[0].clone(),
        foreign.clone(),
        shard_dirs[2].clone(),
        shard_dirs[3].clone(),
    ];
    let err = sweep::merge(&scratch_dir("m"), &mixed).unwrap_err();
    assert!(err.to_string().contains("a different sweep"), "{err}");
    for d in shard_dirs.iter().chain([&whole, &merged, &foreign]) {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn resume_after_a_crash_skips_finished_rows_and_gives_the_same_files() {
    let sweep = quickstart_sweep(&["deployment.replicas=1,2,3,4,5"], 1);
    let reference = scratch_dir("sweep-ref");
    sweep.run(&reference, &options(2), &mut |_| {}).unwrap();
    let lines: Vec<String> = std::fs::read_to_string(reference.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();

    // A crashed sweep: the manifest, two whole rows (out of order, as
    // threads finish them) and a row cut off mid-write.
    let crashed = scratch_dir("sweep-crashed");
    std::fs::create_dir_all(&crashed).unwrap();
    std::fs::copy(reference.join("sweep.json"), crashed.join("sweep.json")).unwrap();
    let torn = &lines[1][..lines[1].len() / 2];
    std::fs::write(
        crashed.join("results.jsonl.partial"),
        format!("{}\n{}\n{torn}", lines[3], lines[0]),
    )
    .unwrap();
    assert!(
        !crashed.join("results.jsonl").exists(),
        "nothing looks complete"
    );

    // Without --resume the directory is refused.
    let err = sweep.run(&crashed, &options(2), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err}");

    let mut first = None;
    let resume = RunOptions {
        resume: true,
        ..options(2)
    };
    sweep
        .run(&crashed, &resume, &mut |p| {
            first.get_or_insert(p.done);
        })
        .unwrap();
    assert_eq!(
        first,
        Some(2),
        "two whole rows were kept, the torn one rerun"
    );
    assert_eq!(files(&crashed), files(&reference));

    // Resuming a finished sweep runs nothing and changes nothing.
    let mut runs = 0;
    sweep
        .run(&crashed, &resume, &mut |p| runs = p.total - p.done)
        .unwrap();
    assert_eq!(runs, 0);
    assert_eq!(files(&crashed), files(&reference));

    // Another sweep in the same directory is refused, even with --resume.
    let other = quickstart_sweep(&["deployment.replicas=1,2"], 1);
    let err = other.run(&crashed, &resume, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("different sweep"), "{err}");
    std::fs::remove_dir_all(&reference).unwrap();
    std::fs::remove_dir_all(&crashed).unwrap();
}

#[test]
fn a_partial_file_holds_one_row_per_run_of_the_sweep() {
    let sweep = quickstart_sweep(&["deployment.replicas=1,2"], 2);
    let reference = scratch_dir("sweep-dup-ref");
    sweep.run(&reference, &options(2), &mut |_| {}).unwrap();
    let lines: Vec<String> = std::fs::read_to_string(reference.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 4);
    let resume = RunOptions {
        resume: true,
        ..options(2)
    };
    // `partial` in a crashed copy of the sweep, then --resume: the rows,
    // or the error.
    let resumed = |name: &str, partial: String| {
        let dir = scratch_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(reference.join("sweep.json"), dir.join("sweep.json")).unwrap();
        std::fs::write(dir.join("results.jsonl.partial"), partial).unwrap();
        let out = sweep.run(&dir, &resume, &mut |_| {});
        let same = out.is_ok() && files(&dir) == files(&reference);
        std::fs::remove_dir_all(&dir).unwrap();
        out.map(|rows| (rows.len(), same))
            .map_err(|e| e.to_string())
    };
    // The same row twice (a run written twice) is one row: 4 rows for 4
    // runs, not 5, and the same files as the uninterrupted sweep.
    let twice = format!("{}\n{}\n{}\n", lines[0], lines[2], lines[0]);
    assert_eq!(resumed("sweep-dup-twice", twice), Ok((4, true)));
    // The same run with other figures is an error at the second line.
    let other = lines[0].replacen("\"events\":", "\"events\":1", 1);
    assert_ne!(other, lines[0]);
    let err = resumed("sweep-dup-other", format!("{}\n{other}\n", lines[0])).unwrap_err();
    assert!(
        err.contains("results.jsonl.partial:2")
            && err.contains("configuration 0, seed 42 again, with other figures than on line 1"),
        "{err}"
    );
    // A row of a run the sweep does not have is an error at its line.
    let foreign = lines[3].replacen("\"config\":1", "\"config\":7", 1);
    let err = resumed("sweep-dup-foreign", format!("{}\n{foreign}\n", lines[0])).unwrap_err();
    assert!(
        err.contains("results.jsonl.partial:2")
            && err.contains("configuration 7, seed 43 is not a run of this sweep (configurations 0 to 1, seeds 42 to 43)"),
        "{err}"
    );
    std::fs::remove_dir_all(&reference).unwrap();
}

#[test]
fn selection_on_a_real_sweep_picks_the_fewest_replicas_that_meet_the_sla() {
    // The quickstart at 40 req/s for 60 s with a p95 TTFT target: few
    // replicas queue and miss it, many meet it at a higher price.
    let sweep = {
        let spec = SweepSpec {
            knobs: vec![Knob::parse_grid("deployment.replicas=1,2,3,4,6").unwrap()],
            random: None,
            sample_seed: 1,
            seeds: 2,
        };
        Sweep::from_str(
            fleetsim::scenario::QUICKSTART_TOML,
            "quickstart.toml",
            Path::new("."),
            &["workload.duration_s=60".to_string()],
            spec,
        )
        .unwrap()
    };
    let dir = scratch_dir("sweep-select");
    let rows = sweep.run(&dir, &options(2), &mut |_| {}).unwrap();
    let candidates = select::candidates(&rows);
    assert_eq!(candidates.len(), 5);
    // Cost grows with replicas.
    assert!(candidates.windows(2).all(|w| w[0].cost < w[1].cost));
    let meets: Vec<bool> = candidates.iter().map(|c| c.meets_sla).collect();
    let first_ok = meets
        .iter()
        .position(|&m| m)
        .expect("some configuration meets the SLA");
    assert!(first_ok > 0, "one replica cannot meet it: {meets:?}");
    assert!(meets[first_ok..].iter().all(|&m| m), "{meets:?}");
    assert_eq!(select::cheapest_meeting_sla(&candidates), Some(first_ok));
    let text = select::render(&candidates);
    let replicas = candidates[first_ok].knobs[0].1.as_f64().unwrap();
    assert!(
        text.contains(&format!("[deployment]\nreplicas = {replicas}\n")),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs the binary in `dir`; returns (exit code, stdout, stderr).
fn fleetsim(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .current_dir(dir)
        .env("CI", "true")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_sweeps_shards_and_merges() {
    let dir = scratch_dir("sweep-cli");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("scenario.toml"),
        fleetsim::scenario::QUICKSTART_TOML,
    )
    .unwrap();
    let common = [
        "--set",
        "workload.duration_s=10",
        "--random",
        "3",
        "--range",
        "deployment.replicas=1..4",
        "--grid",
        "router.kind=round_robin,least_outstanding",
    ];
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["sweep", "scenario.toml", "--out", out];
        args.extend(common);
        args.extend(extra);
        fleetsim(&dir, &args)
    };
    let (code, stdout, stderr) = run("whole", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("Pareto front"), "{stdout}");
    assert!(stderr.contains("6 runs"), "{stderr}");
    assert!(
        !stderr.contains('\r'),
        "no progress bar under CI: {stderr:?}"
    );
    for i in 0..2 {
        let shard = format!("{i}/2");
        let (code, _, stderr) = run(&format!("s{i}"), &["--shard", &shard]);
        assert_eq!(code, Some(0), "{stderr}");
    }
    let (code, stdout, stderr) = fleetsim(&dir, &["merge", "--out", "merged", "s1", "s0"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("Pareto front"));
    assert_eq!(files(&dir.join("merged")), files(&dir.join("whole")));
    // The merged sweep's Pareto front, drawn; each front point is labelled
    // with its knobs.
    let (code, stdout, stderr) = fleetsim(&dir, &["plot", "merged"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout.trim(),
        Path::new("merged").join("pareto.svg").to_str().unwrap()
    );
    let svg = std::fs::read_to_string(dir.join("merged/pareto.svg")).unwrap();
    let rows =
        fleetsim::sweep::results::read_rows(&dir.join("merged/results.jsonl"), false).unwrap();
    let candidates = select::candidates(&rows);
    for i in select::pareto_front(&candidates) {
        let kind = candidates[i].knobs[0].1.clone();
        let label = format!(
            "kind={}",
            match kind {
                fleetsim::sweep::results::Json::String(s) => s,
                other => panic!("{other:?}"),
            }
        );
        assert!(
            svg.contains(&label),
            "front point {i} ({label}) not labelled"
        );
    }
    assert!(svg.contains("quickstart: cost against SLA attainment"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_sweep_flags_fail_with_a_clear_message() {
    let dir = scratch_dir("sweep-bad");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("scenario.toml"),
        fleetsim::scenario::QUICKSTART_TOML,
    )
    .unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--grid", "deployment.replica=1,2"],
            &[
                "scenario.toml:",
                "field `deployment.replica`",
                "unknown field",
            ],
        ),
        (
            &["--grid", "deployment.replicas="],
            &["--grid", "the grid is empty"],
        ),
        (
            &["--random", "2", "--range", "deployment.replicas=4..2"],
            &["--range deployment.replicas=4..2", "lo > hi"],
        ),
        (
            &["--grid", "deployment.replicas=1", "--shard", "3/3"],
            &["--shard 3/3", "out of range"],
        ),
        (&["--grid", "seed=1,2"], &["--seeds"]),
        (
            &["--grid", "deployment.replicas=2,0"],
            &[
                "configuration 1",
                "field `deployment.replicas`",
                "(from --set deployment.replicas=0)",
            ],
        ),
        (&["--range", "deployment.replicas=1..3"], &["--random N"]),
    ];
    for (extra, fragments) in cases {
        let mut args = vec!["sweep", "scenario.toml", "--out", "out"];
        args.extend(*extra);
        let (code, _, stderr) = fleetsim(&dir, &args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        for f in *fragments {
            assert!(stderr.contains(f), "{args:?}: {stderr:?} lacks {f:?}");
        }
        assert!(
            !dir.join("out").exists(),
            "{args:?}: nothing written before the flags are checked"
        );
    }
    let (code, _, stderr) = fleetsim(&dir, &["merge", "--out", "m", "nowhere"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("nowhere/sweep.json"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_kubernetes_manifest_runs_a_valid_sharded_sweep() {
    use clap::Parser;
    let root = common::workspace_root();
    let yaml = std::fs::read_to_string(root.join("docs/k8s/sweep-indexed-job.yaml")).unwrap();
    let completions: u32 = (yaml.lines())
        .find_map(|l| l.trim().strip_prefix("completions:"))
        .and_then(|v| v.split('#').next())
        .map(|v| v.trim().parse().unwrap())
        .unwrap();
    // The folded `args` block: from `fleetsim sweep` to the end of the
    // indented lines, as the shell would see it for completion index 3.
    let start = yaml.find("fleetsim sweep /").unwrap();
    let command: String = yaml[start..]
        .lines()
        .take_while(|l| !l.trim().is_empty() && !l.trim_start().starts_with("resources:"))
        .collect::<Vec<_>>()
        .join(" ")
        .replace("${JOB_COMPLETION_INDEX}", "3")
        .replace('"', "");
    let mut words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[..2], ["fleetsim", "sweep"]);
    words.remove(0);
    words[0] = "fleetsim-sweep";
    let args = cli_args::SweepArgs::try_parse_from(&words).unwrap();
    let shard = Shard::parse(args.shard.as_deref().unwrap()).unwrap();
    assert_eq!(
        (shard.index, shard.count),
        (3, completions),
        "--shard I/N matches completions"
    );
    assert!(args.resume, "a retried pod must skip finished runs");
    assert_eq!(args.out, Path::new("/results/shard-3"));
    // Every configuration of the manifest's sweep is a valid scenario.
    let scenario = root
        .join("scenarios/autoscaling")
        .join(args.scenario.file_name().unwrap());
    let mut knobs = Vec::new();
    for g in &args.grids {
        knobs.push(Knob::parse_grid(g).unwrap());
    }
    for r in &args.ranges {
        knobs.push(Knob::parse_range(r).unwrap());
    }
    let spec = SweepSpec {
        knobs,
        random: args.random,
        sample_seed: args.sample_seed,
        seeds: args.seeds,
    };
    let sweep = Sweep::from_file(&scenario, &args.sets, spec).unwrap();
    assert!(sweep.configurations().len() >= completions as usize);
}

/// A scenario reading `workload` (a TOML `[workload]` body) from `dir`.
fn file_scenario(workload: &str) -> String {
    format!(
        "name = \"shared\"\nseed = 3\n\n[workload]\n{workload}\n\n[deployment]\n\
         model = \"llama-3.1-8b\"\ngpu = \"h100-sxm\"\nreplicas = 1\n"
    )
}

const SERVEGEN_ROWS: &str =
    "client_id,window_start_s,rate_rps,iat_cv,iat_dist,dist_shape,dist_scale
0,0,0.05,1.0,Gamma,0.5,2.0
0,600,0.1,1.0,Weibull,0.6,1.0
1,0,0.02,1.0,,0,0
1,600,0,0,,0,0
";

#[test]
fn a_sweep_over_a_file_shares_its_parse_and_gives_what_single_runs_give() {
    let dir = scratch_dir("sweep-shared-inputs");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = common::workspace_root().join("traces/example-azure.csv");
    std::fs::copy(&trace, dir.join("trace.csv")).unwrap();
    std::fs::write(dir.join("windows.csv"), SERVEGEN_ROWS).unwrap();
    let lengths = "input_tokens = { kind = \"fixed\", tokens = 100 }\n\
                   output_tokens = { kind = \"fixed\", tokens = 20 }";
    for workload in [
        "kind = \"trace\"\npath = \"trace.csv\"".to_string(),
        "kind = \"trace\"\npath = \"trace.csv\"\nsort = true".to_string(),
        format!("kind = \"servegen\"\npath = \"windows.csv\"\nend_s = 1200\n{lengths}"),
        format!("kind = \"servegen\"\npath = \"windows.csv\"\nstart_s = 600\n{lengths}"),
    ] {
        let text = file_scenario(&workload);
        let spec = SweepSpec {
            knobs: vec![Knob::parse_grid("deployment.replicas=1,2").unwrap()],
            random: None,
            sample_seed: 1,
            seeds: 2,
        };
        let sweep = Sweep::from_str(&text, "shared.toml", &dir, &[], spec).unwrap();
        let out = dir.join("out");
        let _ = std::fs::remove_dir_all(&out);
        let rows = sweep.run(&out, &options(2), &mut |_| {}).unwrap();
        assert_eq!(rows.len(), 4);
        for row in &rows {
            // Each row is what a run of its own (reading the file itself)
            // gives.
            let replicas = row.knob("deployment.replicas").unwrap().as_f64().unwrap();
            let sets = [
                format!("deployment.replicas={replicas}"),
                format!("seed={}", row.seed),
            ];
            let s = fleetsim::scenario::load_str(&text, "shared.toml", &dir, &sets).unwrap();
            let single = fleetsim::run::run(&s).unwrap();
            assert!(single.summary.requests.arrived > 0, "{workload}");
            let summary = serde_json::to_string(&single.summary).unwrap();
            assert!(
                row.line.ends_with(&format!(",\"summary\":{summary}}}")),
                "{workload}: row {} seed {}",
                row.config,
                row.seed
            );
        }
    }

    // Read once: with the parse shared, a second run needs no file (with
    // the format given; detecting it reads the file's first 4 KiB).
    let text = file_scenario("kind = \"trace\"\nformat = \"azure\"\npath = \"trace.csv\"");
    let s = fleetsim::scenario::load_str(&text, "shared.toml", &dir, &[]).unwrap();
    let shared = fleetsim::workload::SharedInputs::new();
    let first = fleetsim::run::run_shared(&s, Some(&shared)).unwrap();
    std::fs::rename(dir.join("trace.csv"), dir.join("moved.csv")).unwrap();
    let second = fleetsim::run::run_shared(&s, Some(&shared)).unwrap();
    assert_eq!(
        serde_json::to_string(&first.summary).unwrap(),
        serde_json::to_string(&second.summary).unwrap()
    );
    assert!(
        fleetsim::run::run(&s).is_err(),
        "an unshared run reads the file"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sweep_over_a_malformed_trace_fails_as_a_single_run_does() {
    // Not shared: every run reads the file and meets the error at its line.
    let dir = scratch_dir("sweep-shared-bad");
    std::fs::create_dir_all(&dir).unwrap();
    let mut trace =
        std::fs::read_to_string(common::workspace_root().join("traces/example-azure.csv")).unwrap();
    trace.push_str("2024-03-01 00:00:30.0000000,abc,5\n");
    std::fs::write(dir.join("trace.csv"), trace).unwrap();
    let text = file_scenario("kind = \"trace\"\nformat = \"azure\"\npath = \"trace.csv\"");
    let s = fleetsim::scenario::load_str(&text, "bad.toml", &dir, &[]).unwrap();
    let single = fleetsim::run::run(&s).unwrap_err().to_string();
    assert!(single.contains("line 22"), "{single}");
    let spec = SweepSpec {
        knobs: vec![Knob::parse_grid("deployment.replicas=1,2").unwrap()],
        random: None,
        sample_seed: 1,
        seeds: 1,
    };
    let sweep = Sweep::from_str(&text, "bad.toml", &dir, &[], spec).unwrap();
    let err = sweep
        .run(&dir.join("out"), &options(1), &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().ends_with(&single), "{err} / {single}");
    std::fs::remove_dir_all(&dir).unwrap();
}
