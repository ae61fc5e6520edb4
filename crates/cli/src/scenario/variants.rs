//! Variant groups: `[[deployments]]` entries that name another as
//! `variant_of` (the same model on another GPU type). A variant comes in
//! through its group's gateway, router and queue, so it sets none of its
//! own; an `llmd_wva` autoscaler on the group's first deployment scales
//! every variant, cheapest first up and dearest first down, by each
//! variant's cost per replica (`variant_cost`, else its GPUs × its pool's
//! price per GPU-hour). In a `scheduled` group each variant may have a
//! schedule of its own (vertical scaling: the model moved between GPU
//! types at set instants).

use super::raw::RawPolicy;
use super::{DeploymentEntry, DeploymentInfo};
use fleetsim_core::engine::DeploymentSpec;
use fleetsim_core::field::FieldError;
use fleetsim_policies::autoscalers::llmd_wva::WvaVariant;
use fleetsim_policies::AutoscalerConfig;

/// Each entry's group: the index of the deployment it is a variant of.
/// Checks what can be checked before deployments resolve: the name
/// exists, is no variant itself, and the variant sets nothing its group
/// decides (but its own schedule in a `scheduled` group); a group is
/// scaled by `llmd_wva`, by schedules or not at all; `variant_cost`
/// only in an `llmd_wva` group, finite and ≥ 0.
pub(super) fn groups(entries: &[DeploymentEntry]) -> Result<Vec<Option<u16>>, FieldError> {
    let single = entries.len() == 1 && entries[0].prefix == "deployment";
    let mut heads = Vec::with_capacity(entries.len());
    for e in entries {
        let at = |key: &str| format!("{}.{key}", e.prefix);
        let Some(of) = e.raw.variant_of.as_deref() else {
            heads.push(None);
            continue;
        };
        if single {
            return Err(FieldError::new(
                at("variant_of"),
                "only for [[deployments]]: a variant group lists several deployments",
            ));
        }
        let Some(g) = entries
            .iter()
            .position(|h| h.raw.name.as_deref() == Some(of))
        else {
            let names: Vec<&str> = entries
                .iter()
                .filter_map(|h| h.raw.name.as_deref())
                .collect();
            return Err(FieldError::new(
                at("variant_of"),
                format!(
                    "no deployment is named {of:?} (the deployments: {})",
                    names.join(", ")
                ),
            ));
        };
        let head = &entries[g];
        if std::ptr::eq(head, e) {
            return Err(FieldError::new(
                at("variant_of"),
                "a deployment cannot be a variant of itself",
            ));
        }
        if head.raw.variant_of.is_some() {
            return Err(FieldError::new(
                at("variant_of"),
                format!("{of:?} is itself a variant: name its group's first deployment"),
            ));
        }
        for (key, given, what) in [
            (
                "share",
                e.raw.share.is_some(),
                "its requests come through the group's gateway: give the share",
            ),
            (
                "router",
                e.raw.router.is_some(),
                "the group's router chooses among every variant's replicas: give the router",
            ),
            (
                "queue",
                e.raw.queue.is_some(),
                "the group queues at one gateway: give the queue",
            ),
        ] {
            if given {
                return Err(FieldError::new(
                    at(key),
                    format!("a variant sets no {key}: {what} on {of:?}"),
                ));
            }
        }
        own_schedule(e, head, of)?;
        heads.push(Some(g as u16));
    }
    for (i, e) in entries.iter().enumerate() {
        let grouped = heads[i].is_some() || heads.contains(&Some(i as u16));
        let wva = |g: usize| {
            matches!(
                entries[g].scaling.policy,
                RawPolicy::Autoscaler(AutoscalerConfig::LlmdWva(_))
            )
        };
        if grouped
            && heads[i].is_none()
            && !wva(i)
            && !matches!(
                e.scaling.policy,
                RawPolicy::Fixed | RawPolicy::Scheduled { .. }
            )
        {
            return Err(FieldError::new(
                format!("{}.scaling.kind", e.prefix),
                "a deployment with variants is scaled by `llmd_wva` (one decision over every variant), by a schedule per variant (`scheduled`) or not at all (`fixed`)",
            ));
        }
        if let Some(cost) = e.raw.variant_cost {
            let in_wva_group = grouped && wva(heads[i].map_or(i, usize::from));
            let why = if !in_wva_group {
                "applies only to a deployment of a variant group scaled by `llmd_wva`".to_string()
            } else if !(cost.is_finite() && cost >= 0.0) {
                format!("must be a finite number ≥ 0 (cost per replica), got {cost}")
            } else {
                continue;
            };
            return Err(FieldError::new(format!("{}.variant_cost", e.prefix), why));
        }
    }
    Ok(heads)
}

/// Once deployments resolved: every variant serves its group's model and
/// queues at its group's gateway (the queue resolved for the group's first
/// deployment), and an `llmd_wva` group's autoscaler learns each
/// variant's name and cost per replica.
pub(super) fn join(
    entries: &[DeploymentEntry],
    heads: &[Option<u16>],
    infos: &[DeploymentInfo],
    deployments: &mut [DeploymentSpec],
    autoscalers: &mut [Option<super::ResolvedAutoscaler>],
) -> Result<(), FieldError> {
    for (i, head) in heads.iter().enumerate() {
        let Some(g) = head.map(usize::from) else {
            continue;
        };
        if infos[i].model != infos[g].model {
            return Err(FieldError::new(
                format!("{}.model", entries[i].prefix),
                format!(
                    "a variant serves its group's model: {:?} runs {}, this one {}",
                    deployments[g].name, infos[g].model, infos[i].model
                ),
            ));
        }
        // One gateway, and the group's scaling knobs (drain grace, start
        // rate limit) for every variant it scales; the variant's own
        // schedule (empty unless the group is `scheduled`).
        deployments[i].fleet.queue = deployments[g].fleet.queue.clone();
        let schedule = std::mem::take(&mut deployments[i].fleet.lifecycle.schedule);
        deployments[i].fleet.lifecycle = deployments[g].fleet.lifecycle.clone();
        deployments[i].fleet.lifecycle.schedule = schedule;
        deployments[i].variant_of = Some(g as u16);
    }
    for (g, autoscaler) in autoscalers.iter_mut().enumerate() {
        let members: Vec<usize> = std::iter::once(g)
            .chain((0..heads.len()).filter(|&v| heads[v] == Some(g as u16)))
            .collect();
        if members.len() < 2 {
            continue;
        }
        let Some((AutoscalerConfig::LlmdWva(config), _, _)) = autoscaler.as_mut() else {
            continue;
        };
        config.variants = members
            .iter()
            .map(|&v| {
                let cost = match entries[v].raw.variant_cost {
                    Some(cost) => cost,
                    None => price_per_replica(&deployments[v], &infos[v]).ok_or_else(|| {
                        FieldError::new(
                            format!("{}.variant_cost", entries[v].prefix),
                            "missing: the deployment has no pool price to cost its replicas by",
                        )
                    })?,
                };
                Ok(WvaVariant {
                    name: deployments[v].name.to_string(),
                    cost,
                })
            })
            .collect::<Result<_, FieldError>>()?;
    }
    Ok(())
}

/// A replica's GPUs × the price per GPU-hour of the first pool it may use.
fn price_per_replica(d: &DeploymentSpec, info: &DeploymentInfo) -> Option<f64> {
    let p = d.fleet.placement.as_ref()?;
    let pool = (0..p.pools.len() as u32).find(|&i| p.may_use(i))?;
    Some(f64::from(info.tensor_parallel) * p.pools[pool as usize].pricing.usd_per_gpu_hour)
}

/// A variant's `[deployments.scaling]`: only in a group whose first
/// deployment is `scheduled`, and then only `kind = "scheduled"` with its
/// own `schedule` (vertical scaling by time: each GPU type brought up and
/// down at its own instants); drain grace, start rate limit and scrapes
/// are the group's.
fn own_schedule(e: &DeploymentEntry, head: &DeploymentEntry, of: &str) -> Result<(), FieldError> {
    let Some(raw) = &e.raw.scaling else {
        return Ok(());
    };
    let at = |key: &str| format!("{}.scaling.{key}", e.prefix);
    if !matches!(head.scaling.policy, RawPolicy::Scheduled { .. }) {
        return Err(FieldError::new(
            format!("{}.scaling", e.prefix),
            format!("a variant sets no scaling: the group's autoscaler scales every variant: give the scaling on {of:?} (a variant has a schedule of its own only when {of:?} is `scheduled`)"),
        ));
    }
    if !matches!(raw.policy, RawPolicy::Scheduled { .. }) {
        return Err(FieldError::new(
            at("kind"),
            format!("a variant of the scheduled {of:?} is `scheduled` (its own schedule) or has no scaling table (fixed)"),
        ));
    }
    for (key, given) in [
        ("drain_grace_s", raw.drain_grace_s.is_some()),
        (
            "max_replicas_started_per_minute",
            raw.max_replicas_started_per_minute.is_some(),
        ),
        ("scrape", raw.scrape.is_some()),
    ] {
        if given {
            return Err(FieldError::new(
                at(key),
                format!("a variant takes its group's {key}: give it on {of:?}"),
            ));
        }
    }
    Ok(())
}
