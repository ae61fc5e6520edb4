//! The plan's steps in order, each within the time budget: traffic,
//! Little's law, the fixed-fleet search per GPU type, the oracle and its
//! replay, the scenario's own policy, the verdict and the break-even.

use super::evaluate::{Candidate, Evaluation, Evaluator, FleetPolicy};
use super::layouts;
use super::littles_law::{self, ReplicaShape};
use super::{
    break_even, fitted, fixed, oracle, traffic::Traffic, tuning, verdict, FixedPlan, OraclePlan,
    Plan, PlanError, PlanOptions, PolicyPlan, PricedPool, Replay, Skipped, MAX_PLAN_REPLICAS,
    TENSOR_PARALLEL_DEGREES,
};
use crate::scenario::Scenario;
use crate::workload::{self, KnownNames};
use fleetsim_core::cost::{PoolPricing, HOURS_PER_MONTH};
use fleetsim_core::engine::ReplicaSpec;
use fleetsim_core::queue::QueueMode;
use fleetsim_core::replica::batching::BatchForming;
use std::time::Instant;

/// Makes the plan; `progress` hears what is being done (for a terminal).
pub fn plan(options: &PlanOptions, progress: &mut dyn FnMut(&str)) -> Result<Plan, PlanError> {
    let (mut ev, loaded) = Evaluator::new(options, Instant::now())?;
    let file = options.scenario.display().to_string();
    supported(&loaded, &file)?;
    if let Some(k) = (options.policies.iter()).find(|k| !tuning::TUNABLE.contains(&k.as_str())) {
        return Err(PlanError::unsupported(
            &file,
            &format!(
                "--policies: `{k}` is not a kind the plan tunes; it tunes {}",
                tuning::TUNABLE.join(", ")
            ),
        ));
    }
    if !(options.window_s.is_finite() && options.window_s > 0.0) {
        return Err(PlanError::unsupported(
            &file,
            &format!(
                "the rate window must be a number of seconds > 0, got {}",
                options.window_s
            ),
        ));
    }
    progress("reading the workload's arrival rates");
    let traffic = read_traffic(&loaded, options.window_s)?;
    if traffic.requests == 0 {
        return Err(PlanError::unsupported(
            &file,
            "the workload yields no request to plan for",
        ));
    }
    let (own_gpu, own_tp) = (
        loaded.deployments[0].gpu.clone(),
        loaded.deployments[0].tensor_parallel,
    );
    let gpus: Vec<String> = match options.gpus.is_empty() {
        true => vec![own_gpu.clone()],
        false => options
            .gpus
            .iter()
            .map(|g| g.trim().to_ascii_lowercase())
            .collect(),
    };

    progress("Little's law per GPU type and tensor-parallel degree");
    let (mut estimates, mut skipped, mut layouts) = (Vec::new(), Vec::new(), Vec::new());
    for gpu in &gpus {
        for tp in TENSOR_PARALLEL_DEGREES {
            let c = candidate(gpu, tp, FleetPolicy::Fixed(1));
            match ev.load(&c, ev.seeds[0]).and_then(|s| shape(&s, &file)) {
                Ok((shape, perf)) => {
                    estimates.push(littles_law::estimate(
                        gpu,
                        &shape,
                        perf.as_ref(),
                        traffic.peak_rate_per_s,
                        traffic.mean_input_tokens,
                        traffic.mean_output_tokens,
                    ));
                    layouts.extend(layouts::layouts(
                        gpu,
                        &shape,
                        perf.as_ref(),
                        &loaded.sim.sla,
                        traffic.peak_rate_per_s,
                        traffic.mean_input_tokens,
                        traffic.mean_output_tokens,
                    ));
                }
                Err(e) => skipped.push(Skipped {
                    gpu: gpu.clone(),
                    tensor_parallel: tp,
                    reason: reason(&e),
                }),
            }
        }
    }

    let fixed_plans = fixed_step(&mut ev, &gpus, &estimates, &mut skipped, progress)?;
    let best_fixed = (fixed_plans.iter())
        .filter(|f| f.meets_sla)
        .min_by(|a, b| {
            a.monthly_usd
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.monthly_usd.unwrap_or(f64::INFINITY))
        })
        .cloned();

    // Every simulated plan, in the order a tie goes to: the fixed fleet,
    // the oracle's schedule, the scenario's own policy.
    let mut choices: Vec<verdict::Choice> = Vec::new();
    let mut oracle_plan = None;
    if let Some(bf) = &best_fixed {
        let n = bf.replicas.unwrap_or(1);
        let c = candidate(&bf.gpu, bf.tensor_parallel, FleetPolicy::Fixed(n));
        choices.push(verdict::Choice {
            kind: "fixed".into(),
            source: "cheapest fixed fleet".into(),
            knobs: serde_json::json!({ "gpu": bf.gpu, "tensor_parallel": bf.tensor_parallel, "replicas": n }),
            monthly_usd: bf.monthly_usd.unwrap_or(0.0),
            equation_monthly_usd: bf.equation_monthly_usd,
            meets_sla: true,
            document: ev.document(&c),
            gpu: bf.gpu.clone(),
            tensor_parallel: bf.tensor_parallel,
        });
        progress(&format!(
            "the oracle on {} TP{}",
            bf.gpu, bf.tensor_parallel
        ));
        if let Some(pricing) = pool_pricing(&ev.load(&c, ev.seeds[0])?) {
            oracle_plan = oracle_step(&mut ev, &traffic, bf, n, &pricing, &mut choices)?;
        }
    }
    let mut fitted_plan = None;
    let mut tuned = Vec::new();
    let oracle_fleet = (best_fixed.as_ref()).zip(oracle_plan.as_ref());
    if let Some((bf, or)) = oracle_fleet.filter(|(_, or)| or.lead_s.is_some()) {
        progress("a schedule fitted from the time-of-day profile");
        let f = fitted::fit(
            &traffic.rates_per_s().collect::<Vec<_>>(),
            traffic.window_s,
            traffic.span_s,
            or.replica_capacity_per_s,
            or.lead_s.unwrap_or(0.0),
        );
        let c = candidate(
            &bf.gpu,
            bf.tensor_parallel,
            FleetPolicy::Scheduled {
                initial: f.initial,
                steps: f.schedule.clone(),
            },
        );
        if let Some(e) = ev.evaluate(&c)? {
            let knobs = serde_json::json!({
                "gpu": bf.gpu, "tensor_parallel": bf.tensor_parallel,
                "replicas_per_slot": f.replicas_per_slot,
            });
            choices.push(choice(
                "scheduled",
                "time-of-day fit",
                knobs,
                &e,
                &ev,
                &c,
                bf,
            ));
        }
        fitted_plan = Some(f);
    }
    if let Some((kind, knobs)) = ev.own_scaling().filter(|(kind, _)| kind != "fixed") {
        progress(&format!("the scenario's own `{kind}` policy"));
        let c = candidate(&own_gpu, own_tp, FleetPolicy::AsWritten);
        if let Some(e) = ev.evaluate(&c)? {
            choices.push(verdict::Choice {
                kind,
                source: "scenario".into(),
                knobs,
                monthly_usd: e.monthly_usd,
                equation_monthly_usd: e.equation_monthly_usd,
                meets_sla: e.meets_sla,
                document: ev.document(&c),
                gpu: own_gpu.clone(),
                tensor_parallel: own_tp,
            });
        }
    }
    if let Some((bf, or)) = oracle_fleet {
        let n = bf.replicas.unwrap_or(1);
        let context = tuning::Context {
            initial: or.schedule.first().map_or(n, |s| s.replicas),
            max_replicas: (2 * n).max(n + 2),
            capacity_per_s: or.replica_capacity_per_s,
            concurrency: (estimates.iter())
                .find(|e| e.gpu == bf.gpu && e.tensor_parallel == bf.tensor_parallel)
                .map_or(1.0, |e| f64::from(e.concurrency)),
            lead_s: or.lead_s.unwrap_or(0.0),
        };
        for kind in &options.policies {
            progress(&format!("tuning `{kind}`'s knobs"));
            let Some(t) = tune(&mut ev, kind, &context, bf, traffic.span_s)? else {
                continue;
            };
            if let Some(best) = &t.best {
                let scaling: toml::Table =
                    serde_json::from_value(best.knobs.clone()).unwrap_or_default();
                let c = candidate(
                    &bf.gpu,
                    bf.tensor_parallel,
                    FleetPolicy::Autoscaler {
                        initial: context.initial,
                        scaling,
                    },
                );
                choices.push(verdict::Choice {
                    kind: kind.clone(),
                    source: "tuned".into(),
                    knobs: best.knobs.clone(),
                    monthly_usd: best.monthly_usd,
                    equation_monthly_usd: best.equation_monthly_usd,
                    meets_sla: best.meets_sla,
                    document: ev.document(&c),
                    gpu: bf.gpu.clone(),
                    tensor_parallel: bf.tensor_parallel,
                });
            }
            tuned.push(t);
        }
    }
    let bound = oracle_plan.as_ref().map(|o| o.monthly_usd);
    let policies: Vec<PolicyPlan> = (choices.iter())
        .map(|c| PolicyPlan {
            kind: c.kind.clone(),
            source: c.source.clone(),
            knobs: c.knobs.clone(),
            meets_sla: c.meets_sla,
            monthly_usd: c.monthly_usd,
            regret_usd: bound.map(|b| c.monthly_usd - b),
        })
        .collect();
    let verdict = verdict::choose(&choices);
    let api_break_even = match (&loaded.api, &verdict, &best_fixed) {
        (Some(price), Some(v), Some(bf)) => {
            let n = f64::from(bf.replicas.unwrap_or(1));
            Some(break_even::break_even(
                price,
                &break_even::Inputs {
                    mean_rate_per_s: traffic.mean_rate_per_s,
                    peak_rate_per_s: traffic.peak_rate_per_s,
                    mean_input_tokens: traffic.mean_input_tokens,
                    mean_output_tokens: traffic.mean_output_tokens,
                    replica_capacity_per_s: traffic.peak_rate_per_s / n,
                    replica_monthly_usd: bf.monthly_usd.unwrap_or(0.0) / n,
                    dedicated_monthly_usd: v.monthly_usd,
                },
            ))
        }
        _ => None,
    };
    layouts::mark_pareto(&mut layouts);
    let fewest_gpus = layouts::fewest_gpus(&layouts).cloned();
    Ok(Plan {
        scenario: loaded.name.clone(),
        seeds: ev.seeds.clone(),
        traffic,
        littles_law: estimates,
        layouts,
        fewest_gpus,
        skipped,
        fixed: fixed_plans,
        oracle: oracle_plan,
        fitted: fitted_plan,
        tuned,
        policies,
        api_break_even,
        verdict,
        budget_s: options.budget_s,
        budget_exhausted: ev.exhausted,
        runs: ev.runs,
    })
}

/// The fixed-fleet search for each GPU type, over its degrees in the
/// order of their Little's-law cost (the smaller degree on a tie). A
/// degree whose estimate already costs at least the cheapest fleet found
/// on that GPU is not searched: Little's law sizes for throughput alone,
/// so the SLA can only ask for more.
fn fixed_step(
    ev: &mut Evaluator,
    gpus: &[String],
    estimates: &[littles_law::Estimate],
    skipped: &mut Vec<Skipped>,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<FixedPlan>, PlanError> {
    let mut plans: Vec<FixedPlan> = Vec::new();
    for gpu in gpus {
        let mut shapes: Vec<&littles_law::Estimate> =
            estimates.iter().filter(|e| &e.gpu == gpu).collect();
        shapes.sort_by(|a, b| a.monthly_usd.total_cmp(&b.monthly_usd));
        let mut best = f64::INFINITY;
        for est in shapes {
            let tp = est.tensor_parallel;
            if est.monthly_usd >= best {
                skipped.push(Skipped {
                    gpu: gpu.clone(),
                    tensor_parallel: tp,
                    reason: format!(
                        "not searched: Little's law's ${:.0}/month is already at least the ${best:.0}/month of a fixed fleet found",
                        est.monthly_usd
                    ),
                });
                continue;
            }
            progress(&format!(
                "bisecting fixed replicas on {gpu} TP{tp} from {}",
                est.replicas
            ));
            let mut evaluations: Vec<(u32, Evaluation)> = Vec::new();
            let search = fixed::search(est.replicas, MAX_PLAN_REPLICAS, |n| {
                let e = ev.evaluate(&candidate(gpu, tp, FleetPolicy::Fixed(n)))?;
                Ok::<_, PlanError>(e.map(|e| {
                    let probe = fixed::Probe {
                        replicas: n,
                        meets_sla: e.meets_sla,
                        monthly_usd: e.monthly_usd,
                        sla_attainment: e.sla_attainment,
                    };
                    evaluations.push((n, e));
                    probe
                }))
            })?;
            let found = (search.replicas)
                .and_then(|n| evaluations.iter().find(|(m, _)| *m == n))
                .map(|(_, e)| e);
            let shape = candidate(gpu, tp, FleetPolicy::Fixed(search.replicas.unwrap_or(1)));
            let pool = pool_pricing(&ev.load(&shape, ev.seeds[0])?).map(|p| PricedPool {
                name: p.name,
                gpus_per_node: p.gpus_per_node,
                usd_per_gpu_hour: p.usd_per_gpu_hour,
                added_by_plan: !ev.has_pool(),
            });
            if let Some(e) = found.filter(|e| e.meets_sla) {
                best = best.min(e.monthly_usd);
            }
            plans.push(FixedPlan {
                gpu: gpu.clone(),
                tensor_parallel: tp,
                replicas: search.replicas,
                meets_sla: found.is_some_and(|e| e.meets_sla),
                monthly_usd: found.map(|e| e.monthly_usd),
                equation_monthly_usd: found.and_then(|e| e.equation_monthly_usd),
                complete: search.complete,
                probes: search.probes,
                pool,
            });
        }
    }
    Ok(plans)
}

/// The knob search of `kind` on the cheapest fixed fleet's shape, every
/// setting starting from the oracle's first count (`None`: not tunable).
fn tune(
    ev: &mut Evaluator,
    kind: &str,
    context: &tuning::Context,
    bf: &FixedPlan,
    span_s: f64,
) -> Result<Option<tuning::Tuned>, PlanError> {
    let Some(space) = tuning::space(kind, context) else {
        return Ok(None);
    };
    // The defaults: the scenario's own knobs when it is this kind, else
    // the kind's own defaults within the plan's replica bounds.
    let own = (ev.own_scaling())
        .filter(|(k, _)| k == kind)
        .and_then(|(_, knobs)| serde_json::from_value::<toml::Table>(knobs).ok());
    let defaults = own.unwrap_or_else(|| {
        let mut t = space.base.clone();
        t.retain(|k, _| matches!(k, "kind" | "min_replicas" | "max_replicas"));
        t
    });
    let seed = ev.seeds[0];
    let mut probe = |scaling: &toml::Table, fraction: Option<f64>| {
        let c = candidate(
            &bf.gpu,
            bf.tensor_parallel,
            FleetPolicy::Autoscaler {
                initial: context.initial,
                scaling: scaling.clone(),
            },
        );
        ev.evaluate_until(&c, fraction.map(|f| f * span_s))
    };
    tuning::search(kind, &space, &defaults, seed, &mut probe).map(Some)
}

/// A simulated plan for the verdict.
fn choice(
    kind: &str,
    source: &str,
    knobs: serde_json::Value,
    e: &Evaluation,
    ev: &Evaluator,
    c: &Candidate,
    bf: &FixedPlan,
) -> verdict::Choice {
    verdict::Choice {
        kind: kind.into(),
        source: source.into(),
        knobs,
        monthly_usd: e.monthly_usd,
        equation_monthly_usd: e.equation_monthly_usd,
        meets_sla: e.meets_sla,
        document: ev.document(c),
        gpu: bf.gpu.clone(),
        tensor_parallel: bf.tensor_parallel,
    }
}

fn candidate(gpu: &str, tp: u32, policy: FleetPolicy) -> Candidate {
    Candidate {
        gpu: gpu.to_string(),
        tensor_parallel: tp,
        policy,
    }
}

/// The oracle on the cheapest fixed fleet's shape: its bound, the cold
/// start measured by starting that fleet cold, then its schedule (each
/// replica asked for that much earlier) replayed.
fn oracle_step(
    ev: &mut Evaluator,
    traffic: &Traffic,
    bf: &FixedPlan,
    replicas: u32,
    pricing: &PoolPricing,
    choices: &mut Vec<verdict::Choice>,
) -> Result<Option<OraclePlan>, PlanError> {
    let rates: Vec<f64> = traffic.rates_per_s().collect();
    let capacity = traffic.peak_rate_per_s / f64::from(replicas);
    let billing_s =
        (pricing.billing.granularity.unit().as_secs_f64()).max(pricing.billing.minimum_s);
    let horizon_s = rates.len() as f64 * traffic.window_s;
    let replica_usd_per_hour = pricing.usd_per_gpu_hour * f64::from(bf.tensor_parallel);
    let scheduled = |initial: u32, steps: Vec<oracle::Step>| {
        candidate(
            &bf.gpu,
            bf.tensor_parallel,
            FleetPolicy::Scheduled { initial, steps },
        )
    };
    // The whole fleet started cold at 0: its p95 cold start is the lead.
    // None ready within the run means no replica started during it would
    // serve in time: the lead is the whole span.
    let cold = scheduled(
        0,
        vec![oracle::Step {
            at_s: 0.0,
            replicas,
        }],
    );
    let lead_s = ev.evaluate(&cold)?.map(|e| match e.cold_start_p95_s > 0.0 {
        true => e.cold_start_p95_s,
        false => horizon_s,
    });
    let hold_s = lead_s.map(|lead| lead + billing_s);
    let fleet = oracle::oracle(
        &rates,
        traffic.window_s,
        traffic.span_s,
        capacity,
        lead_s.unwrap_or(0.0),
        hold_s.unwrap_or(billing_s),
    );
    let replay = match lead_s {
        Some(_) => {
            let c = scheduled(
                fleet.wanted.first().copied().unwrap_or(0),
                fleet.schedule.clone(),
            );
            ev.evaluate(&c)?.map(|e| (c, e))
        }
        None => None,
    };
    let monthly_usd = match traffic.span_s > 0.0 {
        true => fleet.needed_replica_s / traffic.span_s * replica_usd_per_hour * HOURS_PER_MONTH,
        false => 0.0,
    };
    if let Some((c, e)) = &replay {
        choices.push(verdict::Choice {
            kind: "scheduled".into(),
            source: "oracle schedule".into(),
            knobs: serde_json::json!({
                "gpu": bf.gpu, "tensor_parallel": bf.tensor_parallel,
                "schedule_entries": fleet.schedule.len(),
            }),
            monthly_usd: e.monthly_usd,
            equation_monthly_usd: e.equation_monthly_usd,
            meets_sla: e.meets_sla,
            document: ev.document(c),
            gpu: bf.gpu.clone(),
            tensor_parallel: bf.tensor_parallel,
        });
    }
    Ok(Some(OraclePlan {
        gpu: bf.gpu.clone(),
        tensor_parallel: bf.tensor_parallel,
        monthly_usd,
        replica_capacity_per_s: capacity,
        lead_s,
        hold_s,
        window_s: traffic.window_s,
        schedule: fleet.schedule,
        replay: replay.map(|(_, e)| Replay {
            meets_sla: e.meets_sla,
            monthly_usd: e.monthly_usd,
            sla_attainment: e.sla_attainment,
        }),
    }))
}

/// The planner sizes one model deployment against SLA targets.
fn supported(s: &Scenario, file: &str) -> Result<(), PlanError> {
    let problem = if s.sim.deployments.len() != 1 || !s.sim.pipelines.is_empty() {
        Some("the planner sizes one [deployment]; this scenario has several deployments or pipelines")
    } else if !matches!(
        s.sim.deployments[0].fleet.replica,
        ReplicaSpec::Batching { .. }
    ) {
        Some("the planner sizes a model deployment; a `slots` deployment has no GPU to choose")
    } else if s.sim.sla.targets.is_empty() {
        Some("the planner needs [sla] targets to meet (e.g. targets = [{ metric = \"ttft_ms\", percentile = 95, max_ms = 500 }])")
    } else {
        None
    };
    problem.map_or(Ok(()), |m| Err(PlanError::unsupported(file, m)))
}

/// The workload's rate profile, read with the first seed.
fn read_traffic(s: &Scenario, window_s: f64) -> Result<Traffic, PlanError> {
    let requests = workload::build(&s.workload, s.sim.seed, KnownNames::any())
        .map_err(|e| PlanError::Workload(Box::new(e)))?;
    Traffic::read(requests, window_s).map_err(|error| {
        PlanError::Workload(Box::new(workload::OpenError {
            path: workload::source_path(&s.workload).map(|p| p.to_path_buf()),
            error,
        }))
    })
}

type Perf = std::sync::Arc<dyn fleetsim_core::model::PerfModel>;

/// One replica of a loaded candidate, for Little's law.
fn shape(s: &Scenario, file: &str) -> Result<(ReplicaShape, Perf), PlanError> {
    let d = &s.sim.deployments[0];
    let info = &s.deployments[0];
    let ReplicaSpec::Batching { perf, config } = &d.fleet.replica else {
        return Err(PlanError::unsupported(
            file,
            "a `slots` deployment has no performance model",
        ));
    };
    let price = pool_pricing(s)
        .map(|p| p.usd_per_gpu_hour)
        .ok_or_else(|| PlanError::NoCost {
            what: format!("{} TP{}", info.gpu, info.tensor_parallel),
        })?;
    // A static batch holds `batch_size`, whatever `max_num_seqs` allows.
    let (max_num_seqs, batch_limit) = match config.forming {
        BatchForming::Static { batch_size, .. } => (batch_size, "batch_size"),
        _ => (info.max_num_seqs, "max_num_seqs"),
    };
    let shape = ReplicaShape {
        max_num_seqs,
        batch_limit,
        max_num_batched_tokens: info.max_num_batched_tokens,
        kv_cache_tokens: info.kv_cache_tokens,
        queue_cap: match d.fleet.queue.mode {
            QueueMode::Central {
                max_concurrency_per_replica,
            } => Some(max_concurrency_per_replica),
            QueueMode::PerReplica => None,
        },
        usd_per_gpu_hour: price,
        tensor_parallel: info.tensor_parallel,
    };
    Ok((shape, std::sync::Arc::clone(perf)))
}

/// The pricing of the first pool the deployment may use.
fn pool_pricing(s: &Scenario) -> Option<PoolPricing> {
    let p = s.sim.deployments[0].fleet.placement.as_ref()?;
    (p.pools.iter().enumerate())
        .find(|(i, _)| p.may_use(*i as u32))
        .map(|(_, pool)| pool.pricing.clone())
}

/// A skipped candidate's reason: the loader's message without the file.
fn reason(e: &PlanError) -> String {
    match e {
        PlanError::Candidate { error, .. } => match &error.field {
            Some(field) => format!("{field}: {}", error.message),
            None => error.message.clone(),
        },
        other => other.to_string(),
    }
}
