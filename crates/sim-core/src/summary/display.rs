//! The summary as a terminal table: `impl Display for Summary`, what
//! `fleetsim run` prints under its scenario line, and what
//! `println!("{summary}")` shows in a notebook. One line per topic, a
//! ten-character label first; units are in the text.

use super::{LatencyStats, SlaReport, Summary};
use crate::cost::{CostReport, MonthlyEquation};
use std::fmt::{self, Write as _};

/// `x` with `decimals` decimals and a comma between each group of three
/// integer digits: `thousands(12961.1, 0)` is `12,961`. Not-a-number and
/// infinities are written as Rust writes them.
pub fn thousands(x: f64, decimals: usize) -> String {
    let plain = format!("{x:.decimals$}");
    if !x.is_finite() {
        return plain;
    }
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Dollars as a reader wants them: whole dollars with separators from
/// $100 (`$12,961`), cents below (`$26.85`), three significant digits
/// under a cent (`$0.000173`); a negative amount is `-$…`, and less than
/// a billionth of a dollar (floating-point residue) is `$0.00`.
pub fn usd(x: f64) -> String {
    let a = x.abs();
    if !x.is_finite() {
        format!("${x}")
    } else if a < 1e-9 {
        "$0.00".to_string()
    } else if x < 0.0 {
        format!("-{}", usd(a))
    } else if a >= 100.0 {
        format!("${}", thousands(x, 0))
    } else if a >= 0.01 {
        format!("${x:.2}")
    } else {
        // Three significant digits: 0.000173 has its first at 10^-4.
        let decimals = (2.0 - a.log10().floor()).clamp(3.0, 12.0) as usize;
        format!("${x:.decimals$}")
    }
}

/// A line of a breakdown, in dollars: as [`usd`] from a cent up, `<$0.01`
/// below (the breakdown is for reading, the JSON has the figure).
pub fn usd_line(x: f64) -> String {
    if x > 0.0 && x < 0.005 {
        "<$0.01".to_string()
    } else if !x.is_finite() || x.abs() >= 100.0 {
        usd(x)
    } else if x.abs() < 0.005 {
        "$0.00".to_string()
    } else if x < 0.0 {
        format!("-${:.2}", -x)
    } else {
        format!("${x:.2}")
    }
}

/// A span of simulated time in the unit that reads best: seconds under two
/// minutes, minutes under two hours, else hours.
pub fn span(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else if seconds < 7_200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3_600.0)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write_table(&mut out)?;
        f.write_str(&out)
    }
}

impl Summary {
    fn write_table(&self, out: &mut String) -> fmt::Result {
        let r = &self.requests;
        writeln!(
            out,
            "requests   arrived {}  completed {}  rejected {}  timed out {}  failed {}",
            r.arrived, r.completed, r.rejected, r.timed_out, r.failed
        )?;
        self.write_latency(out)?;
        self.write_sla(out)?;
        self.write_sections(out)?;
        self.write_replicas(out)?;
        self.write_cold_start(out)?;
        let g = &self.gpu_hours;
        writeln!(
            out,
            "gpu hours  billed {:.3}  busy {:.3}  idle {:.3}",
            g.billed, g.busy, g.idle
        )?;
        if let Some(cost) = &self.cost {
            write_cost(out, cost)?;
            if let Some(a) = &self.cost_attribution {
                a.write_lines(out)?;
            }
            self.write_monthly(out, cost)?;
        }
        self.write_engine(out)?;
        let wall = (self.sim.wall_s)
            .map(|w| format!(" in {w:.3} s wall"))
            .unwrap_or_default();
        writeln!(
            out,
            "sim        {} events, {:.1} s simulated{}",
            self.sim.events, self.sim.simulated_s, wall
        )
    }

    fn write_latency(&self, out: &mut String) -> fmt::Result {
        writeln!(
            out,
            "latency    {:<9}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}",
            "(ms)", "mean", "p50", "p90", "p95", "p99", "max"
        )?;
        let l = &self.latency;
        for (name, s) in [
            ("queue", &l.queue_ms),
            ("ttft", &l.ttft_ms),
            ("tpot", &l.tpot_ms),
            ("itl max", &l.itl_max_ms),
            ("e2e", &l.e2e_ms),
        ] {
            if s.count == 0 {
                // Zeros here would read as instant answers.
                writeln!(out, "           {name:<9}(no completed request to measure)")?;
                continue;
            }
            writeln!(
                out,
                "           {:<9}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}",
                name, s.mean, s.p50, s.p90, s.p95, s.p99, s.max
            )?;
        }
        Ok(())
    }

    fn write_sla(&self, out: &mut String) -> fmt::Result {
        let t = &self.sla.thresholds;
        let thresholds: Vec<String> = [("ttft", t.ttft_ms), ("tpot", t.tpot_ms), ("e2e", t.e2e_ms)]
            .into_iter()
            .filter_map(|(name, v)| v.map(|v| format!("{name} ≤ {v} ms")))
            .collect();
        let thresholds = match thresholds.is_empty() {
            true => "completed".to_string(),
            false => thresholds.join(", "),
        };
        writeln!(
            out,
            "sla        attainment {:.2} % ({}), misses {}",
            self.sla.attainment * 100.0,
            thresholds,
            self.sla.misses
        )?;
        for t in &self.sla.targets {
            let verdict = match (t.actual_ms, &t.reason) {
                (Some(ms), _) => format!("{ms:.1} ms {}", if t.met { "met" } else { "MISSED" }),
                (None, why) => format!(
                    "MISSED, not measured: {}",
                    why.as_deref().unwrap_or("no value")
                ),
            };
            writeln!(
                out,
                "           p{} {} ≤ {} ms: {verdict}",
                t.percentile,
                t.metric.name(),
                t.max_ms,
            )?;
        }
        Ok(())
    }

    /// Deployments (when there are several) and priority classes.
    fn write_sections(&self, out: &mut String) -> fmt::Result {
        let several = self.deployments.len() > 1;
        if several {
            for d in &self.deployments {
                let r = &d.requests;
                writeln!(
                    out,
                    "deployment {}: arrived {}  completed {}  rejected {}  timed out {}  failed {}; ttft p95 {}; sla {:.2} %{}; {:.3} GPU-hours held{}",
                    d.name,
                    r.arrived,
                    r.completed,
                    r.rejected,
                    r.timed_out,
                    r.failed,
                    ms_of(&d.latency.ttft_ms, |l| l.p95),
                    d.sla.attainment * 100.0,
                    targets_verdict(&d.sla),
                    d.gpu_hours.billed,
                    d.cost_usd
                        .map_or(String::new(), |c| format!(", {}", usd_line(c)))
                )?;
            }
        }
        for d in &self.deployments {
            for c in &d.classes {
                let r = &c.requests;
                let name = match several {
                    true => format!("{} / {}", d.name, c.name),
                    false => c.name.clone(),
                };
                writeln!(
                    out,
                    "class      {name}: arrived {}  completed {}  rejected {}  timed out {}; queue p99 {}, ttft p95 {}; sla {:.2} %{}",
                    r.arrived,
                    r.completed,
                    r.rejected,
                    r.timed_out,
                    ms_of(&c.latency.queue_ms, |l| l.p99),
                    ms_of(&c.latency.ttft_ms, |l| l.p95),
                    c.sla.attainment * 100.0,
                    targets_verdict(&c.sla)
                )?;
            }
        }
        Ok(())
    }

    /// Ready replicas over the run and, when the fleet changed, its scale
    /// events.
    fn write_replicas(&self, out: &mut String) -> fmt::Result {
        let f = &self.fleet;
        writeln!(
            out,
            "replicas   started with {}; ready min {} / mean {:.2} / peak {}",
            f.replicas, f.ready_replicas_min, f.ready_replicas_mean, f.ready_replicas_peak
        )?;
        if f.replicas_started > 0 || f.replicas_drained > 0 {
            let completed = self.cold_start.as_ref().map_or(0, |c| c.count);
            let cut_short = u64::from(f.replicas_started).saturating_sub(completed);
            let cut = match cut_short {
                0 => String::new(),
                n => format!(", {n} cancelled before ready"),
            };
            writeln!(
                out,
                "scaling    {} scale-ups (replicas started{cut}), {} scale-downs (ready replicas drained)",
                f.replicas_started, f.replicas_drained
            )?;
        }
        Ok(())
    }

    fn write_cold_start(&self, out: &mut String) -> fmt::Result {
        let Some(c) = &self.cold_start else {
            return Ok(());
        };
        let s = &c.by_stage;
        writeln!(
            out,
            "cold start {} completed: p50 {:.1} s, p95 {:.1} s; mean by stage: provisioning {:.1} s, \
             image pull {:.1} s, weight load {:.1} s, engine start {:.1} s",
            c.count,
            c.p50_s,
            c.p95_s,
            s.provisioning,
            s.pulling_image,
            s.loading_weights,
            s.starting_engine
        )?;
        if let (Some(total), Some(each)) = (c.usd, c.usd_per_cold_start) {
            writeln!(
                out,
                "           {} of GPU time in cold starts, {} a completed cold start",
                usd(total),
                usd(each)
            )?;
        }
        Ok(())
    }

    /// The monthly cost equation's three terms beside the billed cost, both
    /// extrapolated from the run.
    fn write_monthly(&self, out: &mut String, cost: &CostReport) -> fmt::Result {
        let Some(m) = &cost.monthly_equation else {
            return writeln!(
                out,
                "monthly    not estimated (several deployments, or no arrival or ready replica)"
            );
        };
        let in_run = self.cold_start.as_ref().map_or(0, |c| c.count);
        write_equation(out, m, in_run)
    }

    fn write_engine(&self, out: &mut String) -> fmt::Result {
        let f = &self.fleet;
        writeln!(
            out,
            "fleet      busy fraction min {:.2} / mean {:.2} / max {:.2}, {} iterations, {} preemptions",
            f.busy_fraction_min, f.busy_fraction_mean, f.busy_fraction_max, f.iterations, f.preemptions
        )?;
        if f.preemption_bound {
            writeln!(
                out,
                "warning    preemption-bound: {:.0} % of the engine's token work was recomputing \
                 {} tokens that {} preemptions threw away; the KV cache cannot hold the batch \
                 (lower max_num_seqs, add memory or GPUs, or on TensorRT-LLM reserve KV with \
                 capacity_scheduler = \"guaranteed_no_evict\")",
                f.recompute_share * 100.0,
                f.recomputed_tokens,
                f.preemptions
            )?;
        }
        if let Some(p) = self.prefix_cache.as_ref().filter(|p| p.query_blocks > 0) {
            writeln!(
                out,
                "prefix     hit rate {:.1} % of blocks, {:.1} % of prompt tokens ({} cached prefill tokens); \
                 per replica min {:.1} / mean {:.1} / max {:.1} %",
                p.block_hit_rate * 100.0,
                p.token_hit_rate * 100.0,
                p.cached_prefill_tokens,
                p.replica_block_hit_rate_min * 100.0,
                p.replica_block_hit_rate_mean * 100.0,
                p.replica_block_hit_rate_max * 100.0
            )?;
        }
        if let Some(a) = &self.adapters {
            writeln!(
                out,
                "lora       {} adapter loads, {} evictions (max_loras {}, {} ms a load)",
                a.loads, a.evictions, a.max_loras, a.adapter_load_ms
            )?;
        }
        writeln!(
            out,
            "throughput {:.2} req/s, {:.0} output tok/s",
            self.throughput.requests_per_s, self.throughput.output_tokens_per_s
        )
    }
}

/// Total dollars, per million output tokens and per request, and where the
/// dollars went.
fn write_cost(out: &mut String, cost: &CostReport) -> fmt::Result {
    let per_mtok = (cost.per_million_output_tokens_usd)
        .map_or("no output tokens".to_string(), |x| {
            format!("{} per million output tokens", usd(x))
        });
    let per_request =
        (cost.per_request_usd).map_or(String::new(), |x| format!(", {} a request", usd(x)));
    writeln!(
        out,
        "cost       {} billed for {:.3} GPU-hours: {per_mtok}{per_request}",
        usd(cost.total_usd),
        cost.billed_gpu_hours
    )?;
    let b = &cost.by_state;
    let cold = b.provisioning.usd
        + b.pulling_image.usd
        + b.loading_weights.usd
        + b.starting_engine.usd
        + b.warming_up.usd;
    let parts: Vec<String> = [
        ("busy", b.busy.usd),
        ("idle ready", b.idle_ready.usd),
        ("cold start", cold),
        ("draining", b.draining.usd),
        ("warm pool", b.warm_pool.usd),
        ("unallocated", b.unallocated.usd),
        ("billing granularity", b.billing_granularity.usd),
    ]
    .into_iter()
    .filter(|&(_, x)| x > 0.0)
    .map(|(name, x)| format!("{name} {}", usd_line(x)))
    .collect();
    if !parts.is_empty() {
        writeln!(out, "           by state: {}", parts.join(", "))?;
    }
    Ok(())
}

/// The monthly equation, its terms, and the billed cost extrapolated the
/// same way with what the equation leaves out. `in_run` is the run's own
/// number of scale-up events.
fn write_equation(out: &mut String, m: &MonthlyEquation, in_run: u64) -> fmt::Result {
    writeln!(
        out,
        "monthly    extrapolated from {} of simulated time to a {:.0}-hour month, {} a replica-hour:",
        span(m.simulated_hours * 3_600.0),
        m.hours_per_month,
        usd(m.usd_per_replica_hour)
    )?;
    writeln!(
        out,
        "           equation {} = steady state {} ({:.2} replicas needed of {:.2} ready on average)",
        usd(m.equation_total_usd),
        usd(m.steady_state_usd),
        m.needed_replicas,
        m.average_ready_replicas
    )?;
    writeln!(
        out,
        "             + scaling overhead {} ({} scale-ups a month, {in_run} in the run; {:.0} s model load each)",
        usd(m.scaling_overhead_usd),
        thousands(m.scale_up_events_per_month, 0),
        m.model_load_s
    )?;
    writeln!(
        out,
        "             + over-provisioning {} (buffer of {:.2} replicas)",
        usd(m.overprovisioning_usd),
        m.buffer_replicas
    )?;
    let d = &m.difference;
    let parts: Vec<String> = [
        ("procurement", d.procurement_usd),
        ("packing", d.packing_usd),
        ("draining", d.draining_usd),
        ("warm pool", d.warm_pool_usd),
        ("billing granularity", d.billing_granularity_usd),
    ]
    .into_iter()
    .filter(|&(_, x)| x > 0.0)
    .map(|(name, x)| format!("{name} {}", usd_line(x)))
    .chain(std::iter::once(format!("other {}", usd_line(d.other_usd))))
    .collect();
    writeln!(
        out,
        "           billed {} a month; the equation misses {}: {}",
        usd(m.billed_monthly_usd),
        usd(d.total_usd),
        parts.join(", ")
    )
}

/// A latency figure in ms, or a dash when no completed request had it (a
/// zero would read as an instant answer).
fn ms_of(stats: &LatencyStats, pick: impl Fn(&LatencyStats) -> f64) -> String {
    match stats.count {
        0 => "– ms (none completed)".to_string(),
        _ => format!("{:.1} ms", pick(stats)),
    }
}

/// `; targets met` or `; targets MISSED (1 of 2)` for a section with
/// percentile targets, nothing without.
fn targets_verdict(sla: &SlaReport) -> String {
    let missed = sla.targets.iter().filter(|t| !t.met).count();
    match (sla.targets.len(), missed) {
        (0, _) => String::new(),
        (_, 0) => "; targets met".to_string(),
        (n, k) => format!("; targets MISSED ({k} of {n})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_integer_digits_in_threes() {
        for (x, decimals, expect) in [
            (0.0, 0, "0"),
            (999.0, 0, "999"),
            (1_000.0, 0, "1,000"),
            (12_961.1, 0, "12,961"),
            (1_234_567.891, 2, "1,234,567.89"),
            (-20_133.2, 0, "-20,133"),
            (-999.5, 1, "-999.5"),
            (100_000.0, 0, "100,000"),
        ] {
            assert_eq!(thousands(x, decimals), expect, "{x} with {decimals}");
        }
        assert_eq!(thousands(f64::NAN, 0), "NaN");
    }

    #[test]
    fn dollars_read_as_whole_dollars_cents_or_three_digits() {
        for (x, expect) in [
            (20_133.2, "$20,133"),
            (100.0, "$100"),
            (26.849, "$26.85"),
            (0.0, "$0.00"),
            (0.01, "$0.01"),
            (0.000_173_3, "$0.000173"),
            (0.004_1, "$0.00410"),
            (-8.3e-12, "$0.00"),
            (-1_205.7, "-$1,206"),
            (-0.5, "-$0.50"),
        ] {
            assert_eq!(usd(x), expect, "{x}");
        }
    }

    #[test]
    fn breakdown_lines_round_to_cents() {
        assert_eq!(usd_line(0.004), "<$0.01");
        assert_eq!(usd_line(-8.3e-12), "$0.00");
        assert_eq!(usd_line(15.024), "$15.02");
        assert_eq!(usd_line(0.00966), "$0.01");
        assert_eq!(usd_line(0.00575), "$0.01");
        assert_eq!(usd_line(-0.4), "-$0.40");
        assert_eq!(usd_line(1_487.5), "$1,488");
    }

    #[test]
    fn spans_pick_their_unit() {
        assert_eq!(span(605.4), "10.1 min");
        assert_eq!(span(59.0), "59.0 s");
        assert_eq!(span(3_504.7), "58.4 min");
        assert_eq!(span(86_400.0), "24.0 h");
    }
}
