//! The plan as a table for the terminal, and as JSON (`--format json`:
//! the [`Plan`] serialized).

use super::Plan;
use std::fmt::Write as _;

/// The plan as pretty JSON, one object and a newline.
pub fn to_json(p: &Plan) -> String {
    let mut s =
        serde_json::to_string_pretty(p).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// A figure rounded to a whole number, or `-` when there is none.
fn whole(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.0}"))
}

/// The plan's reasoning and answer, step by step.
pub fn render(p: &Plan) -> String {
    let mut o = String::new();
    let t = &p.traffic;
    let _ = writeln!(
        o,
        "plan for {}: {} requests over {:.0} s; mean {:.3} req/s, peak {:.3} req/s ({} s windows); \
         mean prompt {:.0}, answer {:.0} tokens; seeds {:?}",
        p.scenario, t.requests, t.span_s, t.mean_rate_per_s, t.peak_rate_per_s, t.window_s,
        t.mean_input_tokens, t.mean_output_tokens, p.seeds
    );
    let _ = writeln!(
        o,
        "\n1. Little's law: replicas = ⌈peak ÷ (concurrency ÷ latency at that concurrency)⌉"
    );
    let _ = writeln!(
        o,
        "  {:<12} {:>3} {:>12} {:<13} {:>10} {:>10} {:>13} {:>9} {:>10}",
        "gpu",
        "TP",
        "concurrency",
        "(limit)",
        "prefill s",
        "step ms",
        "req/s/replica",
        "replicas",
        "$/month"
    );
    for e in &p.littles_law {
        let _ = writeln!(
            o,
            "  {:<12} {:>3} {:>12} {:<13} {:>10.3} {:>10.2} {:>13.3} {:>9} {:>10.0}",
            e.gpu,
            e.tensor_parallel,
            e.concurrency,
            format!("({})", e.concurrency_limit),
            e.prefill_s,
            e.decode_step_ms,
            e.per_replica_rate_per_s,
            e.replicas,
            e.monthly_usd
        );
    }
    for s in &p.skipped {
        let _ = writeln!(
            o,
            "  skipped {} TP{}: {}",
            s.gpu, s.tensor_parallel, s.reason
        );
    }
    render_layouts(&mut o, p);
    let _ = writeln!(
        o,
        "\n2. Cheapest fixed fleet meeting every SLA target (bisection, simulated)"
    );
    let _ = writeln!(
        o,
        "  {:<12} {:>3} {:>9} {:>10} {:>10} {:>9} {:>7}  probes (replicas: met)",
        "gpu", "TP", "replicas", "meets SLA", "$/month", "GPUs/node", "$/GPU-h"
    );
    for f in &p.fixed {
        let probes: Vec<String> = (f.probes.iter())
            .map(|q| format!("{}:{}", q.replicas, yes(q.meets_sla)))
            .collect();
        let _ = writeln!(
            o,
            "  {:<12} {:>3} {:>9} {:>10} {:>10} {:>9} {:>7}  {}{}",
            f.gpu,
            f.tensor_parallel,
            f.replicas.map_or("-".to_string(), |n| n.to_string()),
            yes(f.meets_sla),
            whole(f.monthly_usd),
            (f.pool.as_ref()).map_or("-".to_string(), |q| q.gpus_per_node.to_string()),
            (f.pool.as_ref()).map_or("-".to_string(), |q| q.usd_per_gpu_hour.to_string()),
            probes.join(" "),
            if f.complete {
                ""
            } else {
                " (stopped by the budget)"
            }
        );
    }
    if p.fixed
        .iter()
        .any(|f| f.pool.as_ref().is_some_and(|q| q.added_by_plan))
    {
        let _ = writeln!(
            o,
            "  node pool: added by the plan (the scenario names none), one replica per node"
        );
    }
    let _ = writeln!(o, "\n3. Offline oracle");
    match &p.oracle {
        Some(or) => {
            let _ = writeln!(
                o,
                "  {} TP{}: {:.3} req/s per replica, lead {} s, hold {} s; lower bound ${:.0}/month; \
                 schedule of {} entries",
                or.gpu, or.tensor_parallel, or.replica_capacity_per_s, whole(or.lead_s), whole(or.hold_s),
                or.monthly_usd, or.schedule.len()
            );
            match &or.replay {
                Some(r) => {
                    let _ = writeln!(
                        o,
                        "  replayed as `scheduled`: meets SLA {}, ${:.0}/month",
                        yes(r.meets_sla),
                        r.monthly_usd
                    );
                }
                None => {
                    let _ = writeln!(o, "  not replayed (budget spent)");
                }
            }
        }
        None => {
            let _ = writeln!(o, "  not computed: no fixed fleet met the SLA");
        }
    }
    if let Some(f) = &p.fitted {
        let per: Vec<String> = f.replicas_per_slot.iter().map(u32::to_string).collect();
        let _ = writeln!(
            o,
            "  time-of-day fit ({} hourly slots, p95 rate ÷ capacity, asked {:.0} s early): {}",
            f.slots,
            f.lead_s,
            per.join(" ")
        );
    }
    let _ = writeln!(o, "\n4. Policies beside the oracle");
    let _ = writeln!(
        o,
        "  {:<12} {:<22} {:>10} {:>10} {:>10}",
        "kind", "source", "meets SLA", "$/month", "regret $"
    );
    for q in &p.policies {
        let _ = writeln!(
            o,
            "  {:<12} {:<22} {:>10} {:>10.0} {:>10}",
            q.kind,
            q.source,
            yes(q.meets_sla),
            q.monthly_usd,
            whole(q.regret_usd)
        );
    }
    for t in &p.tuned {
        render_tuned(&mut o, t);
    }
    let _ = writeln!(o, "\n5. Pay-per-token API");
    match &p.api_break_even {
        Some(b) => {
            let _ = writeln!(
                o,
                "  the same traffic through the API: ${:.0}/month against ${:.0}/month dedicated ({} is cheaper)",
                b.api_monthly_usd, b.dedicated_monthly_usd,
                if b.dedicated_is_cheaper { "dedicated" } else { "the API" }
            );
            let _ = match b.break_even_mean_rate_per_s {
                Some(r) => writeln!(o, "  dedicated is cheaper from {r:.3} req/s mean ({:.2} × this traffic)", b.break_even_traffic_multiple.unwrap_or(f64::NAN)),
                None => writeln!(o, "  dedicated is cheaper at no traffic level: a replica costs more than the tokens it can serve"),
            };
        }
        None => {
            let _ = writeln!(o, "  not computed: give [api] usd_per_million_input_tokens and usd_per_million_output_tokens");
        }
    }
    let _ = writeln!(o, "\n6. Verdict");
    match &p.verdict {
        Some(v) => {
            let _ = writeln!(
                o,
                "  {} ({}) on {} TP{}: ${:.0}/month billed (monthly cost equation ${}/month)\n",
                v.kind,
                v.source,
                v.gpu,
                v.tensor_parallel,
                v.monthly_usd,
                whole(v.equation_monthly_usd)
            );
            o.push_str(&v.toml);
        }
        None => {
            let _ = writeln!(o, "  no plan met every SLA target");
        }
    }
    let _ = writeln!(
        o,
        "\n{} simulations{}",
        p.runs,
        if p.budget_exhausted {
            format!(
                "; the {} s budget ran out, so later steps were left out (raise --budget-s)",
                p.budget_s
            )
        } else {
            String::new()
        }
    );
    o
}

/// `{"a": 1, "b": 2}` as `a=1 b=2`, `kind` left out.
fn knobs(v: &serde_json::Value) -> String {
    let Some(m) = v.as_object() else {
        return v.to_string();
    };
    (m.iter())
        .filter(|(k, _)| k.as_str() != "kind")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One kind's knob search: the best setting, the defaults, the runs and
/// the ties.
fn render_tuned(o: &mut String, t: &super::tuning::Tuned) {
    let runs: Vec<String> = (t.runs_by_horizon.iter())
        .map(|(f, n)| format!("{n} at {:.0} %", f * 100.0))
        .collect();
    let _ = writeln!(
        o,
        "  tuned `{}`: runs {}{}, {} on the whole workload",
        t.kind,
        runs.join(", "),
        if t.complete {
            ""
        } else {
            " (stopped by the budget)"
        },
        t.trials.len()
    );
    if let Some(b) = &t.best {
        let _ = writeln!(
            o,
            "    best ({}): {}: meets SLA {}, ${:.0}/month",
            b.found_by,
            knobs(&b.knobs),
            yes(b.meets_sla),
            b.monthly_usd
        );
    }
    if let Some(d) = &t.defaults {
        let _ = writeln!(
            o,
            "    defaults: {}: meets SLA {}, ${:.0}/month",
            knobs(&d.knobs),
            yes(d.meets_sla),
            d.monthly_usd
        );
    }
    if !t.ties.is_empty() {
        let _ = writeln!(
            o,
            "    tied with {} other setting(s); knobs that do not matter there: {}",
            t.ties.len(),
            t.knobs_that_do_not_matter.join(", ")
        );
    }
}

/// The layouts on the Pareto front and the fewest-GPU pick.
fn render_layouts(o: &mut String, p: &Plan) {
    let _ = writeln!(
        o,
        "\n1b. Layouts on the Pareto front of output tokens/s per GPU vs per user \
         (performance model, {} layouts tried)",
        p.layouts.len()
    );
    let _ = writeln!(
        o,
        "  {:<12} {:>3} {:>12} {:>11} {:>12} {:>9} {:>9} {:>6} {:>10}",
        "gpu",
        "TP",
        "max_num_seqs",
        "tok/s/GPU",
        "tok/s/user",
        "TTFT ms",
        "TPOT ms",
        "GPUs",
        "in SLA"
    );
    for l in p.layouts.iter().filter(|l| l.pareto) {
        let _ = writeln!(
            o,
            "  {:<12} {:>3} {:>12} {:>11.0} {:>12.1} {:>9.0} {:>9.1} {:>6} {:>10}",
            l.gpu,
            l.tensor_parallel,
            l.max_num_seqs,
            l.output_tokens_per_s_per_gpu,
            l.output_tokens_per_s_per_user,
            l.ttft_ms,
            l.tpot_ms,
            l.gpus,
            if l.within_sla_thresholds { "yes" } else { "no" }
        );
    }
    match &p.fewest_gpus {
        Some(l) => {
            let _ = writeln!(
                o,
                "  fewest GPUs within the SLA thresholds: {} × {} TP{} at max_num_seqs = {} ({} GPUs, ${:.0}/month)",
                l.replicas, l.gpu, l.tensor_parallel, l.max_num_seqs, l.gpus, l.monthly_usd
            );
        }
        None => {
            let _ = writeln!(o, "  no layout is within the SLA thresholds");
        }
    }
}
