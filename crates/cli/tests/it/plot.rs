//! Charts from real short runs: SVG structure (series, axis labels, SLA
//! miss marks iff there are misses), PNG signature and size, determinism,
//! and bad input through `fleetsim plot`.

use crate::common;

use fleetsim::plot::{self, ImageFormat, ParetoPoint, PlotError, RunData};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The embedded quickstart cut to `duration_s`, with `sets`.
fn quickstart(duration_s: u32, sets: &[&str]) -> fleetsim::core::RunResult {
    let mut all = vec![format!("workload.duration_s={duration_s}")];
    all.extend(sets.iter().map(|s| s.to_string()));
    let s = fleetsim::scenario::load_str(
        fleetsim::scenario::QUICKSTART_TOML,
        "quickstart",
        Path::new("."),
        &all,
    )
    .expect("quickstart loads");
    fleetsim::run::run(&s).expect("quickstart runs")
}

/// SLA thresholds no request misses, and ones every request misses.
const NO_MISSES: [&str; 2] = ["sla.ttft_ms=1e9", "sla.tpot_ms=1e9"];
const ALL_MISS: [&str; 1] = ["sla.ttft_ms=0.001"];

fn scratch(test: &str) -> PathBuf {
    let dir = common::scratch_dir(test);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text of every `<text>` element.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

fn count(svg: &str, needle: &str) -> usize {
    svg.matches(needle).count()
}

/// Root element, closed, one of it; returns the SVG.
fn assert_svg(path: &Path) -> String {
    let svg = read_text(path);
    assert!(
        svg.starts_with("<svg width=\"1000\" height=\"620\""),
        "{}: {}",
        path.display(),
        &svg[..svg.len().min(80)]
    );
    assert!(svg.trim_end().ends_with("</svg>"), "{}", path.display());
    assert_eq!(count(&svg, "<svg"), 1);
    // Every opened text element is closed.
    assert_eq!(count(&svg, "<text"), count(&svg, "</text>"));
    svg
}

/// Rectangles in the miss colour: shaded windows, miss bars, and the
/// legend's swatch.
fn miss_marks(svg: &str) -> usize {
    count(svg, "fill=\"#D62728\"")
}

#[test]
fn fleet_chart_marks_misses_only_when_there_are_some() {
    let dir = scratch("plot-misses");
    for (sets, misses) in [(&NO_MISSES[..], false), (&ALL_MISS[..], true)] {
        let r = quickstart(60, sets);
        let total: u64 = r.timeseries.iter().map(|w| w.sla_misses).sum();
        assert_eq!(total > 0, misses, "{sets:?}: {total} misses");
        let data = RunData::from_result(&r);
        let path = dir.join(format!("fleet-{misses}.svg"));
        plot::fleet_chart(&data.windows, "quickstart", &path).expect("fleet chart");
        let svg = assert_svg(&path);
        let t = texts(&svg);
        for label in [
            "replicas",
            "arrivals/s",
            "time (s)",
            "missed %",
            "replicas ready",
            "replicas starting",
            "replicas draining",
            "arrivals/s (right axis)",
        ] {
            assert!(t.iter().any(|x| x == label), "{label:?} in {t:?}");
        }
        // Three stacked replica areas.
        assert_eq!(count(&svg, "<polygon"), 3);
        let windows_missing = r.timeseries.iter().filter(|w| w.sla_misses > 0).count();
        if misses {
            // A shaded band and a bar per window with misses, and the
            // legend's swatch.
            assert_eq!(miss_marks(&svg), 2 * windows_missing + 1);
            assert!(t.iter().any(|x| x == "SLA misses (shade ∝ share)"));
            assert!(t
                .iter()
                .any(|x| x.starts_with(&format!("SLA misses: {total} "))));
        } else {
            assert_eq!(miss_marks(&svg), 0);
            assert!(t.iter().any(|x| x.starts_with("SLA misses: 0 ")));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The `x` of the `<text>` element whose text is `label`.
fn text_x(svg: &str, label: &str) -> Option<i32> {
    svg.split("<text").skip(1).find_map(|t| {
        let body = &t[t.find('>')? + 1..];
        if body[..body.find("</text>")?].trim() != label {
            return None;
        }
        let x = &t[t.find("x=\"")? + 3..];
        x[..x.find('"')?].parse().ok()
    })
}

/// `(opacity, fill)` of every `<rect>`.
fn rects(svg: &str) -> Vec<(f64, String)> {
    svg.split("<rect")
        .skip(1)
        .filter_map(|r| {
            let attr = |name: &str| {
                let at = r.find(&format!(" {name}=\""))? + name.len() + 3;
                Some(r[at..at + r[at..].find('"')?].to_string())
            };
            Some((attr("opacity")?.parse().ok()?, attr("fill")?))
        })
        .collect()
}

/// Ten-second windows of one ready replica with `arrivals` and `misses`
/// each, from `start_s`.
fn windows(start_s: f64, counts: &[(u64, u64)]) -> Vec<plot::Window> {
    (counts.iter().enumerate())
        .map(|(i, &(arrivals, sla_misses))| plot::Window {
            start_s: start_s + 10.0 * i as f64,
            end_s: start_s + 10.0 * (i + 1) as f64,
            arrivals,
            replicas_ready: 1,
            replicas_starting: 0,
            replicas_draining: 0,
            sla_misses,
            gpu_s: [0.0; fleetsim_core::cost::GpuState::COUNT],
        })
        .collect()
}

#[test]
fn miss_shading_follows_the_share_that_missed_and_the_legend_stays_outside() {
    let dir = scratch("plot-shading");
    // 1 %, 10 %, 50 % and all of the arrivals missed; one window without.
    let w = windows(0.0, &[(100, 1), (100, 10), (0, 0), (100, 50), (40, 40)]);
    let path = dir.join("fleet.svg");
    plot::fleet_chart(&w, "shading", &path).expect("fleet chart");
    let svg = assert_svg(&path);
    let shades: Vec<f64> = (rects(&svg).into_iter())
        .filter(|(o, fill)| fill == "#D62728" && *o < 1.0)
        .map(|(o, _)| o)
        .collect();
    // Four bands, then the legend's swatch at the darkest shade.
    let max = plot::MISS_SHADE_MAX;
    let expect = [0.01 * max, 0.1 * max, 0.5 * max, max, max];
    assert_eq!(shades.len(), expect.len(), "{shades:?}");
    for (got, want) in shades.iter().zip(expect) {
        assert!((got - want).abs() < 1e-9, "{shades:?}");
    }
    // The legend is right of the data: every entry starts beyond the
    // plotted areas' rightmost point.
    let rightmost = (svg.split("<polygon").skip(1))
        .filter_map(|p| {
            let at = p.find("points=\"")? + 8;
            let points = &p[at..at + p[at..].find('"')?];
            points
                .split_whitespace()
                .filter_map(|xy| xy.split(',').next()?.parse::<i32>().ok())
                .max()
        })
        .max()
        .expect("replica areas");
    for label in [
        "replicas ready",
        "replicas starting",
        "arrivals/s (right axis)",
    ] {
        let x = text_x(&svg, label).unwrap_or_else(|| panic!("no {label:?}"));
        assert!(
            x > rightmost + 50,
            "{label:?} at x {x}, data up to {rightmost}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn axes_of_long_runs_separate_thousands() {
    let dir = scratch("plot-thousands");
    // A day of windows from 80,000 s: the time axis runs past 1,000 min.
    let w = windows(86_400.0 - 600.0, &[(100, 0); 60]);
    let path = dir.join("fleet.svg");
    plot::fleet_chart(&w, "a day", &path).expect("fleet chart");
    let t = texts(&assert_svg(&path));
    assert!(
        t.iter().any(|x| x.len() == 5 && x.starts_with("1,4")),
        "a tick like 1,440 min: {t:?}"
    );
    assert!(
        !t.iter().any(|x| x.starts_with("14") && x.len() == 4),
        "{t:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_pareto_attainment_axis_ends_at_100_percent() {
    let dir = scratch("plot-pareto-axis");
    let point = |label: &str, cost: f64, sla_attainment: f64| ParetoPoint {
        label: label.to_string(),
        cost,
        sla_attainment,
        on_front: true,
    };
    let points = [
        point("replicas=4", 1_200.0, 0.995),
        point("replicas=5", 1_500.0, 1.0),
        point("replicas=6", 1_800.0, 1.0),
    ];
    let path = dir.join("pareto.svg");
    plot::pareto_chart(&points, "USD", "sweep", &path).expect("pareto");
    let t = texts(&assert_svg(&path));
    let numbers: Vec<f64> = (t.iter())
        .filter_map(|x| x.replace(',', "").parse::<f64>().ok())
        .collect();
    let attainment: Vec<f64> = numbers.iter().copied().filter(|x| *x < 1_000.0).collect();
    assert!(!attainment.is_empty(), "{t:?}");
    assert!(
        attainment.iter().all(|x| (0.0..=100.0).contains(x)),
        "{t:?}"
    );
    // Costs are labelled with a thousands separator.
    assert!(t.iter().any(|x| x.contains(',')), "{t:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn run_charts_have_their_series_and_labels() {
    let dir = scratch("plot-run");
    let r = quickstart(60, &[]);
    let data = RunData::from_result(&r);
    let paths =
        plot::write_run_charts(&data, "quickstart", &dir, ImageFormat::Svg).expect("charts");
    let names: Vec<String> = (paths.iter())
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(names, ["fleet.svg", "latency-cdf.svg", "gpu-hours.svg"]);

    let latency = assert_svg(&paths[1]);
    let t = texts(&latency);
    for label in [
        "TTFT (ms)",
        "TPOT (ms)",
        "end to end (ms)",
        "quickstart: latency CDFs",
    ] {
        assert!(t.iter().any(|x| x == label), "{label:?} in {t:?}");
    }
    let completed = r.summary.requests.completed;
    assert!(completed > 100);
    // One curve per panel, each labelled with its sample size: every
    // completed request has a TTFT and an e2e time.
    let l = &data.latency;
    assert_eq!(
        (l.ttft_ms.len() as u64, l.e2e_ms.len() as u64),
        (completed, completed)
    );
    let n_labels = |n: usize| {
        let label = format!(
            "{} requests",
            fleetsim_core::summary::display::thousands(n as f64, 0)
        );
        t.iter().filter(|x| **x == label).count()
    };
    if l.tpot_ms.len() == l.ttft_ms.len() {
        assert_eq!(n_labels(l.ttft_ms.len()), 3);
    } else {
        assert_eq!(n_labels(l.ttft_ms.len()), 2);
        assert_eq!(n_labels(l.tpot_ms.len()), 1);
    }
    // 3 curves (and 3 legend lines).
    let curves = count(&latency, "stroke=\"#1F77B4\" stroke-width=\"2\"");
    assert_eq!(curves, 6, "curves and legend lines");
    // Quickstart's two percentile targets (p95 TTFT and TPOT).
    assert!(t.iter().any(|x| x == "p95 ≤ 300 ms"));
    assert!(t.iter().any(|x| x == "p95 ≤ 40 ms"));

    let gpu = assert_svg(&paths[2]);
    let t = texts(&gpu);
    // A fixed fleet without placement: busy and idle GPUs only.
    let present = plot::states_present(&data.windows);
    let names: Vec<&str> = present.iter().map(|(_, s, _)| s.name()).collect();
    assert_eq!(names, ["busy", "idle_ready"]);
    assert_eq!(count(&gpu, "<polygon"), 2);
    let gpu_hours: f64 = present.iter().map(|(_, _, h)| h).sum();
    assert!((gpu_hours - r.summary.gpu_hours.billed).abs() < 1e-9);
    assert!(t
        .iter()
        .any(|x| x.starts_with("busy ") && x.ends_with(" GPU-h")));
    assert!(t.iter().any(|x| x == "GPUs (GPU-hours per hour)"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_autoscaled_run_shows_every_state_it_went_through() {
    let Some(_) = common::shared_dir("plot autoscaled") else {
        return;
    };
    let path = common::workspace_root().join("scenarios/azure-conv-step.toml");
    let s = fleetsim::scenario::load_file(&path, &[]).expect("loads");
    let r = fleetsim::run::run(&s).expect("runs");
    let data = RunData::from_result(&r);
    let dir = scratch("plot-step");
    let gpu_path = dir.join("gpu.svg");
    plot::gpu_states_chart(&data.windows, "step", &gpu_path).expect("gpu chart");
    let present = plot::states_present(&data.windows);
    assert!(
        present.len() >= 5,
        "cold-start stages, busy, draining: {present:?}"
    );
    assert_eq!(count(&assert_svg(&gpu_path), "<polygon"), present.len());
    let fleet_path = dir.join("fleet.svg");
    plot::fleet_chart(&data.windows, "step", &fleet_path).expect("fleet chart");
    let t = texts(&assert_svg(&fleet_path));
    assert!(
        t.iter().any(|x| x == "time (min)"),
        "a 33-minute run: {t:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn png_charts_are_pngs_of_the_chart_size() {
    let dir = scratch("plot-png");
    let data = RunData::from_result(&quickstart(30, &ALL_MISS));
    let paths =
        plot::write_run_charts(&data, "quickstart", &dir, ImageFormat::Png).expect("charts");
    for path in &paths {
        assert_eq!(path.extension().and_then(|e| e.to_str()), Some("png"));
        let bytes = std::fs::read(path).expect("png");
        assert_eq!(png_size(&bytes), (1000, 620), "{}", path.display());
        assert!(bytes.len() > 10_000, "{}: drawn, not blank", path.display());
        assert_eq!(&bytes[bytes.len() - 8..bytes.len() - 4], b"IEND");
    }
    // Drawn beside and renamed: only the three charts are left.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["fleet.png", "gpu-hours.png", "latency-cdf.png"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_same_run_plots_to_the_same_bytes() {
    let dir = scratch("plot-determinism");
    for format in [ImageFormat::Svg, ImageFormat::Png] {
        let mut outputs: Vec<Vec<Vec<u8>>> = Vec::new();
        for k in 0..2 {
            // Two runs of the same scenario and seed, plotted separately.
            let data = RunData::from_result(&quickstart(30, &ALL_MISS));
            let sub = dir.join(format!("{k}"));
            let paths = plot::write_run_charts(&data, "q", &sub, format).expect("charts");
            outputs.push(
                paths
                    .iter()
                    .map(|p| std::fs::read(p).expect("chart"))
                    .collect(),
            );
        }
        assert_eq!(outputs[0], outputs[1], "{format:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn pareto_chart_draws_every_point_and_joins_the_front() {
    let dir = scratch("plot-pareto");
    let point = |label: &str, cost: f64, sla_attainment: f64, on_front: bool| ParetoPoint {
        label: label.to_string(),
        cost,
        sla_attainment,
        on_front,
    };
    let points = [
        point("replicas=2", 10.0, 0.80, true),
        point("replicas=3", 15.0, 0.95, true),
        point("replicas=4", 20.0, 0.99, true),
        point("kpa target=5", 18.0, 0.90, false),
        point("hpa", 25.0, 0.97, false),
    ];
    let svg_path = dir.join("pareto.svg");
    plot::pareto_chart(&points, "USD", "sweep", &svg_path).expect("pareto");
    let svg = assert_svg(&svg_path);
    let t = texts(&svg);
    for label in [
        "cost (USD)",
        "SLA attainment (%)",
        "replicas=2",
        "replicas=3",
        "replicas=4",
        "Pareto front",
    ] {
        assert!(t.iter().any(|x| x == label), "{label:?} in {t:?}");
    }
    // Front points are labelled, the others are not.
    assert!(!t.iter().any(|x| x == "hpa"));
    // 5 points and 2 legend markers.
    assert_eq!(count(&svg, "<circle"), 5 + 2);
    let png = dir.join("pareto.png");
    plot::pareto_chart(&points, "USD", "sweep", &png).expect("png");
    assert_eq!(png_size(&std::fs::read(&png).expect("png")), (1000, 620));
    let bad = [point("broken", f64::NAN, 0.5, true)];
    match plot::pareto_chart(&bad, "USD", "sweep", &dir.join("bad.svg")) {
        Err(PlotError::BadPoint { label, .. }) => assert_eq!(label, "broken"),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_unknown_extension_is_an_error_naming_the_file() {
    let dir = scratch("plot-ext");
    let data = RunData::from_result(&quickstart(10, &[]));
    for name in ["fleet.jpg", "fleet", "fleet.svg.txt"] {
        let path = dir.join(name);
        let e = plot::fleet_chart(&data.windows, "q", &path).expect_err(name);
        assert!(matches!(e, PlotError::UnknownFormat { .. }), "{e:?}");
        assert!(e.to_string().contains(name), "{e}");
        assert!(!path.exists());
    }
    assert_eq!(
        ImageFormat::from_path(Path::new("A.SVG")).ok(),
        Some(ImageFormat::Svg)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_empty_run_plots_with_a_message() {
    let dir = scratch("plot-empty");
    let r = quickstart(1, &["workload.duration_s=0.001"]);
    assert_eq!(r.summary.requests.arrived, 0);
    let data = RunData::from_result(&r);
    let paths = plot::write_run_charts(&data, "empty", &dir, ImageFormat::Svg).expect("charts");
    let latency = texts(&assert_svg(&paths[1]));
    assert!(
        latency
            .iter()
            .any(|x| x.starts_with("no completed requests")),
        "{latency:?}"
    );
    let gpu = texts(&assert_svg(&paths[2]));
    assert!(gpu.iter().any(|x| x.starts_with("no GPU time")), "{gpu:?}");
    assert_svg(&paths[0]);
    // No windows at all (a notebook's empty selection).
    plot::fleet_chart(&[], "none", &dir.join("none.png")).expect("png");
    let none = dir.join("none.svg");
    plot::fleet_chart(&[], "none", &none).expect("svg");
    assert!(texts(&read_text(&none))
        .iter()
        .any(|x| x.starts_with("no time-series windows")));
    plot::pareto_chart(&[], "USD", "none", &dir.join("pareto.svg")).expect("empty sweep");
    // Numbers no run makes, from a notebook: drawn or left out, no panic.
    let mut odd = RunData::from_result(&quickstart(10, &[]));
    odd.latency
        .ttft_ms
        .extend([f64::NAN, -1.0, f64::INFINITY, 0.0]);
    odd.latency.targets.push(plot::Target {
        metric: fleetsim::core::metrics::LatencyMetric::TtftMs,
        percentile: 95.0,
        max_ms: f64::INFINITY,
    });
    if let Some(w) = odd.windows.first_mut() {
        w.gpu_s[0] = f64::NAN;
        w.end_s = w.start_s; // a zero-length window
    }
    plot::write_run_charts(&odd, "odd", &dir.join("odd"), ImageFormat::Png).expect("odd");
    std::fs::remove_dir_all(&dir).ok();
}

fn fleetsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .output()
        .expect("run fleetsim")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn run_plot_and_plot_dir_write_the_charts() {
    let dir = scratch("plot-cli");
    let out_dir = dir.join("out");
    let out = out_dir.to_str().expect("utf-8 path");
    let run = fleetsim(&[
        "run",
        "--set",
        "workload.duration_s=20",
        "--out",
        out,
        "--plot",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    for name in plot::RUN_CHARTS {
        assert_svg(&out_dir.join(format!("{name}.svg")));
    }
    let fleet = read_text(&out_dir.join("fleet.svg"));
    assert!(texts(&fleet).iter().any(|x| x.starts_with("quickstart: ")));

    let png_dir = dir.join("png");
    let png = png_dir.to_str().expect("utf-8 path");
    let p = fleetsim(&["plot", out, "--format", "png", "--plot-dir", png]);
    assert!(p.status.success(), "{}", stderr(&p));
    let printed = String::from_utf8_lossy(&p.stdout);
    assert_eq!(printed.lines().count(), 3, "{printed}");
    for name in plot::RUN_CHARTS {
        let bytes = std::fs::read(png_dir.join(format!("{name}.png"))).expect("png");
        assert_eq!(png_size(&bytes), (1000, 620));
    }
    // Charts read back from the files are the charts of the run in memory.
    let again_dir = dir.join("again");
    let again = again_dir.to_str().expect("utf-8 path");
    let p = fleetsim(&["plot", out, "--plot-dir", again, "--title", "quickstart"]);
    assert!(p.status.success(), "{}", stderr(&p));
    for name in plot::RUN_CHARTS {
        let file = format!("{name}.svg");
        let from_run = std::fs::read(out_dir.join(&file)).expect("chart");
        assert!(
            from_run == std::fs::read(again_dir.join(&file)).expect("chart"),
            "{file}"
        );
    }
    // --plot needs somewhere to write.
    let refused = fleetsim(&["run", "--set", "workload.duration_s=5", "--plot"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--out"), "{}", stderr(&refused));
    std::fs::remove_dir_all(&dir).ok();
}

/// A `run --out` directory of a short quickstart run.
fn out_dir(test: &str) -> PathBuf {
    let dir = scratch(test);
    let r = quickstart(20, &[]);
    fleetsim::report::write_out_dir(&dir, &r).expect("out dir");
    dir
}

/// `fleetsim plot DIR` fails, without a panic, with a message holding
/// every one of `expect`.
fn assert_plot_fails(dir: &Path, expect: &[&str]) {
    let out = fleetsim(&["plot", dir.to_str().expect("utf-8 path")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for e in expect {
        assert!(err.contains(e), "{e:?} in {err}");
    }
}

#[test]
fn bad_run_directories_are_errors_naming_the_file_and_line() {
    // Missing directory, missing file.
    let missing = common::scratch_dir("plot-nowhere");
    assert_plot_fails(&missing, &["summary.json", "cannot read"]);
    let dir = out_dir("plot-bad");
    std::fs::remove_file(dir.join("timeseries.csv")).expect("remove");
    assert_plot_fails(&dir, &["timeseries.csv", "cannot read"]);
    std::fs::remove_dir_all(&dir).ok();

    // A number that is not one, on line 3 of requests.csv.
    let dir = out_dir("plot-bad");
    let requests = read_text(&dir.join("requests.csv"));
    let mut lines: Vec<String> = requests.lines().map(String::from).collect();
    let fields: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(fields[3], "completed");
    let mut broken: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    broken[7] = "fast".to_string(); // ttft_ms
    lines[2] = broken.join(",");
    std::fs::write(dir.join("requests.csv"), lines.join("\n")).expect("write");
    assert_plot_fails(&dir, &["requests.csv:3", "ttft_ms", "\"fast\""]);
    std::fs::remove_dir_all(&dir).ok();

    // A short row in timeseries.csv.
    let dir = out_dir("plot-bad");
    let mut ts = read_text(&dir.join("timeseries.csv"));
    ts.push_str("1,2,3\n");
    std::fs::write(dir.join("timeseries.csv"), &ts).expect("write");
    let line = ts.lines().count().to_string();
    assert_plot_fails(&dir, &[&format!("timeseries.csv:{line}")]);
    std::fs::remove_dir_all(&dir).ok();

    // A time series from before the per-window columns.
    let dir = out_dir("plot-bad");
    let old: String = read_text(&dir.join("timeseries.csv"))
        .lines()
        .map(|l| l.split(',').take(8).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    std::fs::write(dir.join("timeseries.csv"), old).expect("write");
    assert_plot_fails(&dir, &["timeseries.csv:1", "replicas_starting"]);
    std::fs::remove_dir_all(&dir).ok();

    // Corrupt JSON.
    let dir = out_dir("plot-bad");
    std::fs::write(dir.join("summary.json"), "{\n  \"requests\": [\n").expect("write");
    assert_plot_fails(&dir, &["summary.json:"]);
    std::fs::remove_dir_all(&dir).ok();

    // An unwritable chart directory: a file where the directory should be.
    let dir = out_dir("plot-bad");
    let blocker = dir.join("charts");
    std::fs::write(&blocker, "not a directory").expect("write");
    let out = fleetsim(&[
        "plot",
        dir.to_str().expect("utf-8 path"),
        "--plot-dir",
        blocker.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("charts: cannot create the chart directory"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_run_written_without_requests_csv_plots_with_a_latency_message() {
    let dir = out_dir("plot-no-requests");
    std::fs::remove_file(dir.join("requests.csv")).expect("remove");
    let out = fleetsim(&["plot", dir.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let latency = read_text(&dir.join("latency-cdf.svg"));
    assert!(
        texts(&latency)
            .iter()
            .any(|t| t.contains("no requests.csv")),
        "{:?}",
        texts(&latency)
    );
    // The other two charts are drawn from the summary and the time series.
    let fleet = read_text(&dir.join("fleet.svg"));
    assert!(!texts(&fleet).iter().any(|t| t.contains("no requests.csv")));
    assert!(count(&fleet, "<polyline") + count(&fleet, "<path") > 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_streamed_run_plots_the_fleet_and_says_why_latency_is_missing() {
    let dir = scratch("plot-streamed");
    let out = dir.join("run");
    let run = fleetsim(&[
        "run",
        "--set",
        "workload.duration_s=10",
        "--set",
        "output.records=\"stream\"",
        "--out",
        out.to_str().expect("utf-8 path"),
        "--plot",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let latency = read_text(&out.join("latency-cdf.svg"));
    assert!(
        texts(&latency)
            .iter()
            .any(|t| t.contains("records streamed")),
        "{:?}",
        texts(&latency)
    );
    let fleet = read_text(&out.join("fleet.svg"));
    assert!(!texts(&fleet).iter().any(|t| t.contains("records streamed")));
    std::fs::remove_dir_all(&dir).ok();
}

/// The `y` of the `<text>` element whose text is `label`.
fn text_y(svg: &str, label: &str) -> Option<i32> {
    svg.split("<text").skip(1).find_map(|t| {
        let body = &t[t.find('>')? + 1..];
        if body[..body.find("</text>")?].trim() != label {
            return None;
        }
        let y = &t[t.find("y=\"")? + 3..];
        y[..y.find('"')?].parse().ok()
    })
}

#[test]
fn latency_legends_sit_below_each_panel_not_on_its_curve() {
    let dir = scratch("plot-latency-legend");
    let r = quickstart(20, &[]);
    let data = plot::RunData::from_result(&r);
    let path = dir.join("latency.svg");
    plot::latency_cdf_chart(&data.latency, "legend", &path).expect("latency chart");
    let svg = assert_svg(&path);
    // The lowest point a CDF curve reaches (largest y in SVG coordinates):
    // the curves are the traffic-blue lines of more than two points (the
    // legend's mark has two).
    let lowest = (svg.split("<polyline").skip(1))
        .filter(|p| p.contains("stroke=\"#1F77B4\""))
        .filter_map(|p| {
            let at = p.find("points=\"")? + 8;
            let points = &p[at..at + p[at..].find('"')?];
            let ys: Vec<i32> = (points.split_whitespace())
                .filter_map(|xy| xy.split(',').nth(1)?.parse::<i32>().ok())
                .collect();
            (ys.len() > 2).then(|| ys.into_iter().max()).flatten()
        })
        .max()
        .expect("CDF curves");
    let completed = r.summary.requests.completed as f64;
    let label = format!(
        "{} requests",
        fleetsim_core::summary::display::thousands(completed, 0)
    );
    let y = text_y(&svg, &label).unwrap_or_else(|| panic!("no {label:?} in {:?}", texts(&svg)));
    assert!(y > lowest, "{label:?} at y {y}, curves down to {lowest}");
    std::fs::remove_dir_all(&dir).ok();
}
