//! Resolving the fleet around the deployments: node pools and their
//! placement, pipelines, the gateway queue and the scaling policy.

use super::*;

/// Default price per GPU-hour, USD, for the GPUs the reference has prices
/// for (`../shared/reference/hardware.md` §3): H100 at AWS's P5 rate after
/// the June 2025 cut, H200 at AWS Capacity Blocks, A100-80GB, L40S and L4
/// at Modal's per-second rates. Other GPUs have no default.
fn default_usd_per_gpu_hour(gpu: &str) -> Option<f64> {
    match gpu {
        "h100-sxm" => Some(3.90),
        "h200" => Some(5.41),
        "a100-80gb" => Some(2.50),
        "l40s" => Some(1.95),
        "l4" => Some(0.80),
        _ => None,
    }
}

pub(super) fn resolve_placement(
    pools: &[(String, RawPool)],
    cold_start: &fleetsim_core::coldstart::ColdStartConfig,
    artifacts: Artifacts,
    deployment: &DeploymentInfo,
) -> Result<Placement, FieldError> {
    // A pool with a `gpu` serves only deployments on that GPU (deployments
    // on several GPU types share the list); one without serves any. With
    // no pool for its GPU, the first pool says why.
    let of_gpu: Vec<bool> = (pools.iter())
        .map(|(_, raw)| {
            (raw.gpu.as_ref()).is_none_or(|gpu| gpu.eq_ignore_ascii_case(&deployment.gpu))
        })
        .collect();
    let none_usable = !of_gpu.contains(&true);
    let mut specs = Vec::with_capacity(pools.len());
    for (i, (prefix, raw)) in pools.iter().enumerate() {
        let spec = resolve_pool(raw, prefix, i, deployment, of_gpu[i] || none_usable)?;
        // Names key the cost report's pools: two pools of one name would
        // be reported as one.
        if let Some(j) = specs
            .iter()
            .position(|s: &PoolSpec| s.pricing.name == spec.pricing.name)
        {
            let (named, other) = match raw.name.is_some() {
                true => (i, j),
                false => (j, i),
            };
            return Err(FieldError::new(
                format!("{}.name", pools[named].0),
                format!(
                    "`{}` is also the name of {}: pool names must differ",
                    spec.pricing.name, pools[other].0
                ),
            ));
        }
        specs.push(spec);
    }
    // GPU time is counted in units every share is a whole number of.
    if let Err(m) = fleetsim_core::nodes::units_per_gpu(&specs) {
        let at = (pools.iter().zip(&specs))
            .find(|(_, s)| s.time_slices_per_gpu.is_some())
            .map_or("pools".to_string(), |((p, _), _)| {
                format!("{p}.time_slices_per_gpu")
            });
        return Err(FieldError::new(at, m));
    }
    // A pool of its GPU takes the deployment only in its sharing mode.
    if let Some(e) = sharing::no_pool_error(&specs, &of_gpu, deployment) {
        return Err(e);
    }
    let usable: Vec<bool> = (specs.iter().zip(&of_gpu))
        .map(|(s, &g)| g && sharing::pool_fits(s, deployment))
        .collect();
    if of_gpu.contains(&true) && !usable.contains(&true) {
        return Err(FieldError::new(
            "deployment.mig_profile",
            format!(
                "missing: every pool of {} GPUs is shared (`mig_layout` or `time_slices_per_gpu`): \
                 take an instance or a slice, or add a pool of whole GPUs",
                deployment.gpu
            ),
        ));
    }
    // The initial replicas must fit the pools' quotas.
    let room: Option<u64> = (specs.iter().zip(&usable))
        .filter(|(_, &u)| u)
        .map(|(p, _)| p)
        .try_fold(0u64, |acc, p| {
            (p.max_nodes)
                .map(|max| acc + u64::from(max) * sharing::replicas_per_node(p, deployment))
        });
    if let Some(room) = room {
        if room < u64::from(deployment.replicas) {
            let field = if usable.iter().filter(|&&u| u).count() == 1 {
                format!("{}.max_nodes", pools[0].0)
            } else {
                "pools".to_string()
            };
            return Err(FieldError::new(
                &field,
                format!(
                    "the quotas hold {room} replicas of {} GPUs, fewer than the {} initial replicas",
                    deployment.tensor_parallel, deployment.replicas
                ),
            ));
        }
    }
    cold_start.validate("cold_start")?;
    Ok(Placement {
        pools: specs,
        cold_start: cold_start.clone(),
        artifacts,
        usable_pools: match usable.contains(&false) {
            true => (0..usable.len() as u32)
                .filter(|&i| usable[i as usize])
                .collect(),
            false => Vec::new(),
        },
        mig_profile: match deployment.share {
            sharing::GpuShare::Mig(p) => Some(p),
            _ => None,
        },
        time_slices_per_gpu: match deployment.share {
            sharing::GpuShare::TimeSlice(n) => Some(n),
            _ => None,
        },
    })
}

fn resolve_pool(
    raw: &RawPool,
    prefix: &str,
    index: usize,
    deployment: &DeploymentInfo,
    usable: bool,
) -> Result<PoolSpec, FieldError> {
    // A pool of another GPU type, resolved the same for every deployment
    // (they share the list): priced by its own GPU.
    let gpu = match (&raw.gpu, usable) {
        (Some(gpu), false) => gpu.to_ascii_lowercase(),
        _ => deployment.gpu.clone(),
    };
    if let Some(gpu) = raw.gpu.as_ref().filter(|_| usable) {
        if !gpu.eq_ignore_ascii_case(&deployment.gpu) {
            return Err(FieldError::new(
                format!("{prefix}.gpu"),
                format!(
                    "the pool's nodes have {gpu} but the deployment runs on {}: a deployment uses one GPU type",
                    deployment.gpu
                ),
            ));
        }
    }
    let gpus_per_node = raw.gpus_per_node.unwrap_or(8);
    if usable && gpus_per_node < deployment.tensor_parallel {
        return Err(FieldError::new(
            format!("{prefix}.gpus_per_node"),
            format!(
                "a replica needs {} GPUs on one node (tensor_parallel) but a node has {gpus_per_node}",
                deployment.tensor_parallel
            ),
        ));
    }
    let usd_per_gpu_hour = match raw.usd_per_gpu_hour {
        Some(p) => p,
        None => default_usd_per_gpu_hour(&gpu).ok_or_else(|| {
            FieldError::new(
                format!("{prefix}.usd_per_gpu_hour"),
                format!("missing: no default price is known for {gpu}"),
            )
        })?,
    };
    let pricing = PoolPricing {
        name: raw.name.clone().unwrap_or_else(|| {
            if index == 0 {
                "default".to_string()
            } else {
                format!("pool-{index}")
            }
        }),
        gpus_per_node,
        usd_per_gpu_hour,
        billing: raw.billing.clone().unwrap_or(BillingPolicy {
            granularity: BillingGranularity::PerSecond,
            minimum_s: 60.0,
        }),
    };
    pricing.validate().map_err(|e| e.within(prefix))?;
    let provisioning = raw
        .provisioning
        .clone()
        .unwrap_or_else(default_provisioning_time);
    provisioning.validate(&format!("{prefix}.provisioning"))?;
    if raw.max_nodes == Some(0) {
        return Err(FieldError::new(
            format!("{prefix}.max_nodes"),
            "must be at least 1 (omit it for no quota)",
        ));
    }
    let idle_release_delay = seconds(
        &format!("{prefix}.idle_release_delay_s"),
        raw.idle_release_delay_s.unwrap_or(600.0),
    )?;
    let disk_gb = raw.weight_disk_gb.unwrap_or(500.0);
    let weight_disk_bytes = fleetsim_core::coldstart::bytes_from_f64(disk_gb * BYTES_PER_GB)
        .filter(|_| disk_gb.is_finite() && disk_gb >= 0.0)
        .ok_or_else(|| {
            FieldError::new(
                format!("{prefix}.weight_disk_gb"),
                format!("must be a finite number of GB ≥ 0, got {disk_gb}"),
            )
        })?;
    let spot = match &raw.spot {
        None => None,
        Some(spot) => {
            let rate = spot.interruptions_per_node_hour;
            if !(rate.is_finite() && rate >= 0.0) {
                return Err(FieldError::new(
                    format!("{prefix}.spot.interruptions_per_node_hour"),
                    format!("must be a finite number ≥ 0, got {rate}"),
                ));
            }
            Some(SpotSpec {
                interruptions_per_node_hour: rate,
                notice: seconds(
                    &format!("{prefix}.spot.notice_s"),
                    spot.notice_s.unwrap_or(120.0),
                )?,
            })
        }
    };
    let warm_nodes = raw.warm_nodes.unwrap_or(0);
    let most = raw.max_nodes.unwrap_or(MAX_WARM_NODES).min(MAX_WARM_NODES);
    if warm_nodes > most {
        let why = match raw.max_nodes {
            Some(max) if max <= MAX_WARM_NODES => format!("the pool's `max_nodes` ({max})"),
            _ => format!("{MAX_WARM_NODES}, the most warm nodes a pool holds"),
        };
        return Err(FieldError::new(
            format!("{prefix}.warm_nodes"),
            format!("must be at most {why}, got {warm_nodes}"),
        ));
    }
    let (mig_layout, time_slices_per_gpu) = sharing::pool_sharing(raw, prefix, &gpu)?;
    Ok(PoolSpec {
        mig_layout,
        time_slices_per_gpu,
        pricing,
        provisioning,
        max_nodes: raw.max_nodes,
        idle_release_delay,
        weight_disk_bytes,
        spot,
        warm_nodes,
    })
}

/// The pipelines, with stage names resolved to deployment indices.
pub(super) fn resolve_pipelines(
    raw: &[raw::RawPipeline],
    deployments: &[DeploymentSpec],
    infos: &[super::DeploymentInfo],
) -> Result<Vec<PipelineSpec>, FieldError> {
    let mut out: Vec<PipelineSpec> = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let field = |f: &str| format!("pipelines[{i}].{f}");
        if p.name.trim().is_empty() {
            return Err(FieldError::new(field("name"), "must not be empty"));
        }
        if deployments.iter().any(|d| *d.name == *p.name) || out.iter().any(|o| *o.name == *p.name)
        {
            return Err(FieldError::new(
                field("name"),
                format!("{:?} already names a deployment or pipeline", p.name),
            ));
        }
        if let Some(share) = p.share.filter(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(FieldError::new(
                field("share"),
                format!("must be a finite number ≥ 0, got {share}"),
            ));
        }
        if p.stages.is_empty() {
            return Err(FieldError::new(
                field("stages"),
                "must list at least one deployment",
            ));
        }
        let mut stages: Vec<u16> = Vec::with_capacity(p.stages.len());
        for name in &p.stages {
            let Some(d) = deployments.iter().position(|d| *d.name == **name) else {
                let names: Vec<&str> = deployments.iter().map(|d| &*d.name).collect();
                return Err(FieldError::new(
                    field("stages"),
                    format!(
                        "{name:?} is not a deployment (deployments: {})",
                        names.join(", ")
                    ),
                ));
            };
            if fleetsim_core::engine::in_variant_group(deployments, d) {
                return Err(FieldError::new(
                    field("stages"),
                    format!("{name:?} is in a variant group: a pipeline stage is one deployment (its records are that deployment's), not a group"),
                ));
            }
            if stages.contains(&(d as u16)) {
                return Err(FieldError::new(
                    field("stages"),
                    format!("{name:?} appears twice: a pipeline may not visit a deployment again (a cycle)"),
                ));
            }
            stages.push(d as u16);
        }
        if p.hops_ms.len() + 1 != p.stages.len() {
            return Err(FieldError::new(
                field("hops_ms"),
                format!(
                    "needs one latency per hop: {} for {} stages, got {}",
                    p.stages.len() - 1,
                    p.stages.len(),
                    p.hops_ms.len()
                ),
            ));
        }
        let mut hops = vec![SimDuration::ZERO];
        for (h, ms) in p.hops_ms.iter().enumerate() {
            hops.push(SimDuration::try_from_secs_f64(ms / 1e3).ok_or_else(|| {
                FieldError::new(
                    format!("pipelines[{i}].hops_ms[{h}]"),
                    format!("must be a finite number of ms ≥ 0, got {ms}"),
                )
            })?);
        }
        let kv_transfer = match &p.kv_transfer {
            Some(kv) => Some(super::disagg::resolve(i, kv, &stages, infos)?),
            None => None,
        };
        out.push(PipelineSpec {
            name: p.name.as_str().into(),
            share: p.share.unwrap_or(0.0),
            stages,
            hops,
            kv_transfer,
        });
    }
    Ok(out)
}

/// The most priority classes a deployment may have (class indices are
/// stored in one byte per request).
const MAX_CLASSES: usize = 255;

pub(super) fn resolve_queue(
    raw: &RawQueue,
    sla: &fleetsim_core::metrics::SlaConfig,
    deployment: &DeploymentInfo,
) -> Result<QueueSpec, FieldError> {
    let mode = match (raw.mode, raw.max_concurrency_per_replica) {
        (RawQueueMode::PerReplica, Some(_)) => {
            return Err(FieldError::new(
                "queue.max_concurrency_per_replica",
                "applies only to `mode = \"central\"` (per-replica queues have no cap)",
            ))
        }
        (RawQueueMode::PerReplica, None) => QueueMode::PerReplica,
        (RawQueueMode::Central, Some(0)) => {
            return Err(FieldError::new(
                "queue.max_concurrency_per_replica",
                "must be at least 1",
            ))
        }
        (RawQueueMode::Central, cap) => QueueMode::Central {
            max_concurrency_per_replica: cap.unwrap_or(deployment.max_num_seqs),
        },
    };
    if raw.classes.len() > MAX_CLASSES {
        return Err(FieldError::new(
            "queue.classes",
            format!("at most {MAX_CLASSES} classes, got {}", raw.classes.len()),
        ));
    }
    let mut classes: Vec<ClassSpec> = Vec::with_capacity(raw.classes.len());
    for (i, c) in raw.classes.iter().enumerate() {
        let field = |f: &str| format!("queue.classes[{i}].{f}");
        if c.name.trim().is_empty() {
            return Err(FieldError::new(field("name"), "must not be empty"));
        }
        if classes.iter().any(|k| *k.name == *c.name) {
            return Err(FieldError::new(
                field("name"),
                format!("class {:?} is listed twice", c.name),
            ));
        }
        let share = c.share.unwrap_or(0.0);
        if !(share.is_finite() && share >= 0.0) {
            return Err(FieldError::new(
                field("share"),
                format!("must be a finite number ≥ 0, got {share}"),
            ));
        }
        let timeout = c
            .timeout_s
            .map(|t| seconds(&field("timeout_s"), t))
            .transpose()?;
        let most = fleetsim_core::queue::MAX_GATEWAY_WAIT;
        if timeout.is_some_and(|t| t > most) {
            return Err(FieldError::new(
                field("timeout_s"),
                format!(
                    "must be at most {} s (a day, the longest any request waits at a gateway), got {}",
                    most.as_secs_f64(),
                    c.timeout_s.unwrap_or_default()
                ),
            ));
        }
        let sla = c.sla.clone().unwrap_or_else(|| sla.clone());
        sla.validate().map_err(|e| e.within(&field("sla")))?;
        classes.push(ClassSpec {
            name: c.name.as_str().into(),
            share,
            timeout,
            max_queue_length: c.max_queue_length,
            sla,
        });
    }
    Ok(QueueSpec {
        mode,
        discipline: match raw.discipline {
            RawDiscipline::Fifo => Discipline::Fifo,
            RawDiscipline::Priority => Discipline::Priority,
        },
        classes,
    })
}

fn seconds(field: &str, value: f64) -> Result<SimDuration, FieldError> {
    SimDuration::try_from_secs_f64(value).ok_or_else(|| {
        FieldError::new(
            field,
            format!("must be a finite number of seconds ≥ 0, got {value}"),
        )
    })
}

/// What `[scaling]` resolves to: the engine's lifecycle, and an autoscaler
/// with its metrics pipeline when the kind is one.
type ResolvedScaling = (LifecycleSpec, Option<super::ResolvedAutoscaler>);

pub(super) fn resolve_scaling(scaling: &RawScaling) -> Result<ResolvedScaling, FieldError> {
    let mut spec = LifecycleSpec::default();
    let dynamic = !matches!(scaling.policy, RawPolicy::Fixed);
    for (key, given) in [
        ("drain_grace_s", scaling.drain_grace_s.is_some()),
        (
            "max_replicas_started_per_minute",
            scaling.max_replicas_started_per_minute.is_some(),
        ),
    ] {
        if given && !dynamic {
            return Err(FieldError::new(
                format!("scaling.{key}"),
                "applies only to a fleet that changes size (`kind = \"scheduled\"` or an autoscaler)",
            ));
        }
    }
    if let Some(g) = scaling.drain_grace_s {
        spec.drain_grace = seconds("scaling.drain_grace_s", g)?;
    }
    if scaling.max_replicas_started_per_minute == Some(0) {
        return Err(FieldError::new(
            "scaling.max_replicas_started_per_minute",
            "must be at least 1 (omit it for no limit)",
        ));
    }
    spec.max_starts_per_minute = scaling.max_replicas_started_per_minute;
    let config = match &scaling.policy {
        RawPolicy::Fixed => None,
        RawPolicy::Scheduled { schedule } => {
            let mut previous = SimTime::ZERO;
            for (i, step) in schedule.iter().enumerate() {
                let at =
                    SimTime::ZERO + seconds(&format!("scaling.schedule[{i}].at_s"), step.at_s)?;
                if at < previous {
                    return Err(FieldError::new(
                        format!("scaling.schedule[{i}].at_s"),
                        format!(
                            "entries must be in time order; {} s comes after {} s",
                            step.at_s,
                            previous.as_secs_f64()
                        ),
                    ));
                }
                if step.replicas > MAX_REPLICAS {
                    return Err(FieldError::new(
                        format!("scaling.schedule[{i}].replicas"),
                        format!("must be at most {MAX_REPLICAS}, got {}", step.replicas),
                    ));
                }
                previous = at;
                spec.schedule.push((at, step.replicas));
            }
            if schedule.is_empty() {
                return Err(FieldError::new(
                    "scaling.schedule",
                    "a scheduled policy needs at least one entry",
                ));
            }
            None
        }
        RawPolicy::Autoscaler(config) => {
            // The policy's own checks, with the upstream rule in the message.
            config.build().map_err(|e| {
                let field = match &e {
                    AutoscalerError::InvalidKnob { knob, .. } => format!("scaling.{knob}"),
                    _ => "scaling".to_string(),
                };
                FieldError::new(field, e.to_string())
            })?;
            let mut metrics = config.default_metrics();
            let mut outages = Vec::new();
            if let Some(m) = &scaling.scrape {
                for (i, o) in m.outages.iter().enumerate() {
                    let field = |k: &str| format!("scaling.scrape.outages[{i}].{k}");
                    let start = seconds(&field("start_s"), o.start_s)?;
                    let end = seconds(&field("end_s"), o.end_s)?;
                    if end <= start {
                        return Err(FieldError::new(
                            field("end_s"),
                            format!("must be after start_s ({} s), got {} s", o.start_s, o.end_s),
                        ));
                    }
                    outages.push(MetricsOutage {
                        start: SimTime(start.0),
                        end: SimTime(end.0),
                    });
                }
                if let Some(v) = m.interval_s {
                    metrics.scrape_interval = seconds("scaling.scrape.interval_s", v)?;
                    if metrics.scrape_interval.0 == 0 {
                        return Err(FieldError::new(
                            "scaling.scrape.interval_s",
                            "must be > 0 seconds",
                        ));
                    }
                }
                if let Some(v) = m.lag_s {
                    metrics.lag = seconds("scaling.scrape.lag_s", v)?;
                }
                if let Some(v) = m.lookback_s {
                    metrics.lookback = seconds("scaling.scrape.lookback_s", v)?;
                }
            }
            Some((config.clone(), metrics, outages))
        }
    };
    if scaling.scrape.is_some() && config.is_none() {
        return Err(FieldError::new(
            "scaling.scrape",
            "only an autoscaler reads metrics",
        ));
    }
    Ok((spec, config))
}
