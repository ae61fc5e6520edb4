//! Valid-but-extreme scenarios, generated: every one must end within a
//! time and memory limit with either a summary (which the engine has
//! checked with `Summary::check_consistency` before reporting it) or an
//! error that names the scenario file. A hang, an abort (out of memory), a
//! panic, an unlocated error or an inconsistent summary is a finding.
//!
//! The generator writes scenario text the way a user would (so the loader
//! is exercised too) from a seeded stream: each section draws from a mix
//! of ordinary values and the extremes of what the reference accepts
//! (rates from 10⁻⁹ to 10⁶ per second, durations to 10⁹ s, spot reclaims
//! by the thousand per hour, warm pools of billions of nodes, time-series
//! windows of a microsecond, repeats by the billion…), over fixed,
//! scheduled, autoscaled, pooled, spot and pipeline fleets, and model
//! routers in front of pipelines.
//!
//! CI runs `CASES` scenarios from `FIRST_SEED`; a longer search:
//!
//! ```text
//! FLEETSIM_EXTREME_CASES=5000 FLEETSIM_EXTREME_SEED=1000 \
//!   cargo test --release -p fleetsim --test it extreme -- --nocapture
//! ```
//!
//! A finding is kept as a regression case in
//! `crates/cli/tests/extreme-corpus/` (the scenario as generated, named
//! after its seed), which every run replays first. `docs/reliability.md`
//! describes the harness and its totals.
#![allow(clippy::unwrap_used)]

use crate::common;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Generated scenarios per CI run, and the first seed.
const CASES: u64 = 120;
const FIRST_SEED: u64 = 1;
/// Wall-time limit of one run. Generated runs are small (at most
/// `MAX_REQUESTS` requests before transforms) so an honest one ends in
/// well under a second; the limit leaves room for a loaded CI machine.
const RUN_LIMIT: Duration = Duration::from_secs(30);
/// Address-space limit of one run, KiB (`ulimit -v`): 4 GiB. A run keeps
/// a record of each request up to `MAX_REQUESTS` (20 million, about 2.5 GB
/// at 125 bytes each): an honest run at that limit must fit.
const MEMORY_LIMIT_KIB: u64 = 4 * 1024 * 1024;
const MAX_REQUESTS: u64 = 2_000;

/// SplitMix64: small, seedable and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<T: Copy>(&mut self, values: &[T]) -> T {
        values[self.below(values.len())]
    }
}

/// A float spanning ordinary and extreme magnitudes.
fn magnitude(rng: &mut Rng) -> f64 {
    rng.pick(&[
        1e-9, 1e-6, 1e-3, 0.01, 0.1, 0.5, 1.0, 2.0, 10.0, 60.0, 600.0, 3600.0, 86_400.0, 1e6, 1e9,
    ])
}

fn arrival(rng: &mut Rng) -> String {
    let rate: f64 = rng.pick(&[1e-9, 1e-3, 0.5, 5.0, 50.0, 1000.0, 1e6]);
    match rng.below(5) {
        0 => format!("{{ kind = \"poisson\", rate_per_s = {rate:e} }}"),
        1 => format!(
            "{{ kind = \"gamma\", rate_per_s = {rate:e}, cv = {} }}",
            rng.pick(&[0.01, 1.0, 10.0, 100.0])
        ),
        2 => format!(
            "{{ kind = \"diurnal\", mean_rate_per_s = {:e}, amplitude = {}, period_s = {:e} }}",
            rate.min(1e5),
            rng.pick(&[0.0, 0.5, 1.0]),
            magnitude(rng)
        ),
        3 => format!(
            "{{ kind = \"spike\", base_rate_per_s = {}, spike_rate_per_s = {rate:e}, start_s = {:e}, duration_s = {:e} }}",
            rng.pick(&[0.0, 1.0]),
            magnitude(rng),
            magnitude(rng)
        ),
        _ => format!(
            "{{ kind = \"mmpp\", states = [{{ rate_per_s = {rate:e}, mean_dwell_s = {:e} }}, {{ rate_per_s = 0, mean_dwell_s = {:e} }}] }}",
            rng.pick(&[0.001, 1.0, 1e6]),
            rng.pick(&[0.001, 1.0, 1e9])
        ),
    }
}

fn lengths(rng: &mut Rng, cap: u64) -> String {
    match rng.below(3) {
        0 => format!(
            "{{ kind = \"fixed\", tokens = {} }}",
            rng.pick(&[1, 2, 100, 2_000, 30_000, 200_000]).min(cap)
        ),
        1 => format!(
            "{{ kind = \"lognormal\", median_tokens = {}, sigma = {}, max_tokens = {} }}",
            rng.pick(&[1.0, 50.0, 1_000.0]),
            rng.pick(&[0.0, 1.0, 5.0, 10.0]),
            rng.pick(&[1, 1_000, 100_000, 10_000_000]).min(cap)
        ),
        _ => format!(
            "{{ kind = \"uniform\", min_tokens = 1, max_tokens = {} }}",
            rng.pick(&[1, 500, 50_000]).min(cap)
        ),
    }
}

fn transforms(rng: &mut Rng) -> String {
    let mut list = Vec::new();
    for _ in 0..rng.below(3) {
        list.push(match rng.below(4) {
            0 => format!("{{ kind = \"time_scale\", factor = {:e} }}", magnitude(rng)),
            1 => format!(
                "{{ kind = \"rate_multiplier\", factor = {:e} }}",
                magnitude(rng)
            ),
            2 => format!(
                "{{ kind = \"slice\", start_s = 0, end_s = {:e} }}",
                magnitude(rng)
            ),
            // At most a thousand plays of at most `MAX_REQUESTS`: a
            // million plays of a few requests is an honest run of millions
            // of requests (minutes of work, not a hang); four billion
            // exercises the limit on plays.
            _ => format!(
                "{{ kind = \"repeat\", times = {}, gap_s = {:e} }}",
                rng.pick(&[1u64, 2, 50, 1_000, 4_294_967_295]),
                rng.pick(&[0.0, 1.0, 1e9])
            ),
        });
    }
    format!("transforms = [{}]", list.join(", "))
}

fn workload(rng: &mut Rng) -> String {
    format!(
        "[workload]\nkind = \"synthetic\"\nduration_s = {:e}\nmax_requests = {}\narrival = {}\ninput_tokens = {}\noutput_tokens = {}\n{}\n",
        rng.pick(&[0.001, 1.0, 60.0, 3600.0, 1e9]),
        rng.pick(&[1, 10, 200, MAX_REQUESTS]),
        arrival(rng),
        lengths(rng, 1_000_000),
        lengths(rng, 100_000),
        transforms(rng),
    )
}

/// An engine deployment (`table` is `deployment` or `deployments`).
fn engine_deployment(rng: &mut Rng, table: &str, replicas: u32) -> String {
    let (model, gpu, tp) = rng.pick(&[
        ("llama-3.1-8b", "h100-sxm", 1),
        ("llama-3.1-8b", "l40s", 1),
        ("llama-3.1-70b", "h100-sxm", 4),
        ("llama-3.1-70b", "a100-80gb", 8),
        ("mixtral-8x7b", "h200", 2),
        ("llama-3.1-8b", "h200", 1),
    ]);
    let mut s = format!("model = \"{model}\"\ngpu = \"{gpu}\"\ntensor_parallel = {tp}\nreplicas = {replicas}\n[{table}.engine]\n");
    if rng.chance(0.3) {
        s.push_str("kind = \"trtllm\"\n");
    }
    if rng.chance(0.3) {
        let seqs = rng.pick(&[1, 4, 256, 100_000]);
        s.push_str(&format!(
            "max_num_seqs = {seqs}\nmax_num_batched_tokens = {}\n",
            seqs.max(rng.pick(&[16, 8192]))
        ));
    }
    if rng.chance(0.2) {
        s.push_str(&format!(
            "block_size_tokens = {}\n",
            rng.pick(&[1, 16, 1024])
        ));
    }
    if rng.chance(0.2) {
        s.push_str("stepping = \"every_iteration\"\n");
    }
    s
}

/// Unsplit prompts (the default budget then rises to max_model_len) on
/// about a fifth of the scenarios, drawn from a stream of their own so
/// that every other draw of a seed stays what it was.
fn with_prefill(seed: u64, text: String) -> String {
    let mut rng = Rng(seed ^ 0x5052_4546_494C_4C21);
    if !rng.chance(0.2) {
        return text;
    }
    let prefill = rng.pick(&["whole_prompt", "prefill_first"]);
    text.replace(
        ".engine]\n",
        &format!(".engine]\nprefill = \"{prefill}\"\n"),
    )
}

fn slots_deployment(rng: &mut Rng, table: &str, replicas: u32) -> String {
    format!(
        "replicas = {replicas}\n[{table}.slots]\nslots = {}\nservice = {{ dist = \"exponential\", mean_s = {:e} }}\n",
        rng.pick(&[1, 8, 100_000]),
        magnitude(rng)
    )
}

fn pool(rng: &mut Rng) -> String {
    let mut s = format!(
        "[pool]\ngpus_per_node = 8\nusd_per_gpu_hour = {:e}\nprovisioning = {{ dist = \"fixed\", value_s = {:e} }}\nidle_release_delay_s = {:e}\n",
        rng.pick(&[0.0, 2.5, 1e6, 1.7e308]),
        rng.pick(&[0.0, 1.0, 240.0, 1e6]),
        rng.pick(&[0.0, 600.0, 1e9]),
    );
    if rng.chance(0.4) {
        s.push_str(&format!("max_nodes = {}\n", rng.pick(&[1, 2, 100])));
    }
    if rng.chance(0.3) {
        s.push_str(&format!(
            "warm_nodes = {}\n",
            rng.pick(&[0u64, 1, 50, 4_000_000_000])
        ));
    }
    if rng.chance(0.4) {
        s.push_str(&format!(
            "spot = {{ interruptions_per_node_hour = {:e}, notice_s = {} }}\n",
            rng.pick(&[1e-4, 1.0, 100.0, 1000.0, 1e6]),
            rng.pick(&[0.0, 30.0, 120.0])
        ));
    }
    s
}

fn cold_start(rng: &mut Rng) -> String {
    format!(
        "[cold_start]\nengine_startup_cached = {{ dist = \"fixed\", value_s = {:e} }}\nengine_startup_uncached = {{ dist = \"fixed\", value_s = {:e} }}\nwarmup = {{ requests = {}, duration_s = {:e}, slowdown_factor = {:e}, extra_latency_s = {} }}\n",
        magnitude(rng),
        magnitude(rng),
        rng.pick(&[0, 1, 1000]),
        rng.pick(&[0.0, 2.0, 1e6]),
        rng.pick(&[1.0, 3.0, 1e6, 1e12]),
        rng.pick(&[0.0, 2.0]),
    )
}

/// A `[scaling]` table (`table` is its full name).
fn scaling(rng: &mut Rng, table: &str) -> String {
    let max = rng.pick(&[1, 2, 8, 1000]);
    match rng.below(6) {
        0 => String::new(),
        1 => format!(
            "[{table}]\nkind = \"scheduled\"\nschedule = [{{ at_s = 0, replicas = {} }}, {{ at_s = {:e}, replicas = {max} }}]\n",
            rng.pick(&[0, 1]),
            magnitude(rng)
        ),
        2 => format!(
            "[{table}]\nkind = \"hpa\"\nmin_replicas = 1\nmax_replicas = {max}\nmetrics = [{{ metric = \"gpu_busy_fraction\", target_utilization_percent = {} }}]\n",
            rng.pick(&[1, 80, 100])
        ),
        3 => format!(
            "[{table}]\nkind = \"keda\"\nmin_replicas = {}\nmax_replicas = {max}\ntrigger_metric = \"num_requests_waiting\"\nthreshold = {}\n",
            rng.pick(&[0, 1]),
            rng.pick(&[1, 5, 1000])
        ),
        4 => format!(
            "[{table}]\nkind = \"queue_depth\"\nmin_replicas = {}\nmax_replicas = {max}\n",
            rng.pick(&[0, 1])
        ),
        _ => format!(
            "[{table}]\nkind = \"kpa\"\nmin_replicas = {}\nmax_replicas = {max}\n",
            rng.pick(&[0, 1])
        ),
    }
}

fn tail(rng: &mut Rng) -> String {
    let mut s = String::new();
    if rng.chance(0.3) {
        s.push_str(&format!(
            "[[queue.classes]]\nname = \"all\"\nshare = 1\ntimeout_s = {:e}\nmax_queue_length = {}\n",
            magnitude(rng),
            rng.pick(&[1, 100, 1_000_000])
        ));
    }
    s.push_str(&format!(
        "[sla]\nttft_ms = {}\ntargets = [{{ metric = \"ttft_ms\", percentile = {}, max_ms = {} }}]\n[output]\ntimeseries_resolution_s = {:e}\n",
        rng.pick(&[1.0, 500.0, 1e9]),
        rng.pick(&[50.0, 99.0, 100.0]),
        rng.pick(&[1.0, 500.0]),
        rng.pick(&[1e-6, 0.001, 10.0, 1e9]),
    ));
    s
}

/// The scenario text for `seed`.
fn generate(seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut s = format!("seed = {}\n{}", rng.below(1000), workload(&mut rng));
    let replicas = rng.pick(&[1, 3, 100]);
    let pipeline = rng.chance(0.15);
    if pipeline {
        // A two-stage pipeline: slot servers, then an engine.
        s.push_str("[[deployments]]\nname = \"pre\"\n");
        s.push_str(&slots_deployment(&mut rng, "deployments", replicas));
        s.push_str("[[deployments]]\nname = \"llm\"\n");
        s.push_str(&engine_deployment(&mut rng, "deployments", replicas));
        s.push_str(&scaling(&mut rng, "deployments.scaling"));
        s.push_str(&format!(
            "[[pipelines]]\nname = \"p\"\nshare = 1\nstages = [\"pre\", \"llm\"]\nhops_ms = [{:e}]\n",
            rng.pick(&[0.0, 1.0, 1e6])
        ));
        if rng.chance(0.5) {
            // A model router takes half the traffic: long prompts through
            // the pipeline (a cascade), a split of the rest to the first
            // stage alone, the others to the engine.
            s.push_str(&format!(
                "[[model_routers]]\nname = \"auto\"\nshare = 1\ndefault = \"llm\"\n\
                 [[model_routers.routes]]\nto = \"p\"\nmin_input_tokens = {}\n\
                 [[model_routers.routes]]\nto = \"pre\"\nfraction = {:e}\n",
                rng.pick(&[0, 1000, u32::MAX]),
                rng.pick(&[1e-300, 0.5, 1.0])
            ));
        }
    } else if rng.chance(0.15) {
        // Slot servers scale only as a fixed fleet.
        s.push_str("[deployment]\n");
        s.push_str(&slots_deployment(&mut rng, "deployment", replicas));
    } else {
        s.push_str("[deployment]\n");
        s.push_str(&engine_deployment(&mut rng, "deployment", replicas));
        s.push_str(&scaling(&mut rng, "scaling"));
    }
    if !pipeline && rng.chance(0.6) {
        s.push_str(&pool(&mut rng));
    }
    if rng.chance(0.4) {
        s.push_str(&cold_start(&mut rng));
    }
    s.push_str(&tail(&mut rng));
    with_prefill(seed, s)
}

/// How a run ended, when it ended acceptably.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Ending {
    /// A summary (which passed the engine's consistency check).
    Result,
    /// An error naming the scenario file.
    LocatedError,
}

/// Runs the binary on `scenario` under the limits and judges how it
/// ended: `Err` describes a finding.
fn run_one(scenario: &Path) -> Result<Ending, String> {
    // `ulimit -v` bounds the address space, so an allocation beyond it
    // fails (and the process aborts) instead of the machine swapping.
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" run \"$1\" --format json"
        ))
        .arg(env!("CARGO_BIN_EXE_fleetsim"))
        .arg(scenario)
        .env("RUST_BACKTRACE", "0");
    let Some(out) = common::run_watched(&mut command, RUN_LIMIT) else {
        return Err(format!("still running after {RUN_LIMIT:?} (killed)"));
    };
    let status = out.status;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr: String = stderr.lines().take(3).collect::<Vec<_>>().join(" | ");
    if stderr.contains("panicked") {
        return Err(format!("panic: {}", stderr.trim()));
    }
    match status.code() {
        None => Err(format!("killed by a signal ({status}): {}", stderr.trim())),
        // The engine checks every summary before it reports one
        // (`Summary::check_consistency`), so a summary printed is one that
        // passed; it must still be JSON.
        Some(0) => serde_json::from_str::<serde_json::Value>(&stdout)
            .map(|_| Ending::Result)
            .map_err(|e| format!("summary is not JSON ({e}): {stdout:.200}")),
        Some(_) if stderr.contains("contradicts itself") => {
            Err(format!("inconsistent summary: {stderr}"))
        }
        Some(_) => {
            let name = scenario.file_name().unwrap().to_string_lossy();
            if stderr.contains(name.as_ref()) {
                Ok(Ending::LocatedError)
            } else {
                Err(format!("error without its location: {}", stderr.trim()))
            }
        }
    }
}

/// The kept findings, replayed before the generated cases.
fn corpus() -> Vec<PathBuf> {
    let dir = common::workspace_root().join("crates/cli/tests/extreme-corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    files
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn extreme_scenarios_end_in_bounded_time_and_memory() {
    let cases = env_u64("FLEETSIM_EXTREME_CASES", CASES);
    let first = env_u64("FLEETSIM_EXTREME_SEED", FIRST_SEED);
    let dir = common::scratch_dir("extreme");
    std::fs::create_dir_all(&dir).unwrap();
    let mut inputs = corpus();
    for seed in first..first + cases {
        let path = dir.join(format!("extreme-{seed}.toml"));
        std::fs::write(&path, generate(seed)).unwrap();
        inputs.push(path);
    }
    let start = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let endings: Vec<(PathBuf, Result<Ending, String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = inputs.get(i) else { break out };
                        out.push((path.clone(), run_one(path)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let count = |e: Ending| endings.iter().filter(|(_, r)| r == &Ok(e)).count();
    let findings: Vec<String> = endings
        .iter()
        .filter_map(|(p, r)| Some(format!("{}: {}", p.display(), r.as_ref().err()?)))
        .collect();
    println!(
        "extreme scenarios: {} run ({} kept findings, {cases} generated from seed {first}) in {:.1} s: {} results, {} located errors, {} findings",
        endings.len(),
        endings.len() as u64 - cases,
        start.elapsed().as_secs_f64(),
        count(Ending::Result),
        count(Ending::LocatedError),
        findings.len()
    );
    assert!(
        findings.is_empty(),
        "{} findings (scenarios kept in {}):\n{}",
        findings.len(),
        dir.display(),
        findings.join("\n")
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The generator covers every fleet kind it claims: over the CI seeds,
/// pipelines, model routers, slot servers, spot pools, warm pools and each scaling kind
/// all appear.
#[test]
fn generator_covers_every_fleet_kind() {
    let texts: Vec<String> = (FIRST_SEED..FIRST_SEED + CASES).map(generate).collect();
    for needle in [
        "[[pipelines]]",
        "[[model_routers]]",
        "[deployment.slots]",
        "spot = ",
        "warm_nodes = ",
        "kind = \"scheduled\"",
        "kind = \"hpa\"",
        "kind = \"keda\"",
        "kind = \"kpa\"",
        "kind = \"queue_depth\"",
        "kind = \"repeat\"",
        "kind = \"trtllm\"",
        "prefill = \"whole_prompt\"",
        "prefill = \"prefill_first\"",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(needle)),
            "no generated scenario has {needle}"
        );
    }
    assert_eq!(generate(7), generate(7), "the generator is deterministic");
}
