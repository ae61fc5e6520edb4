//! Shared GPUs in a scenario: a deployment's `mig_profile` or `time_slice`
//! (the GPU its replica sees is the instance or the share), and a pool's
//! `mig_layout` (how every GPU of its nodes is partitioned, checked against
//! the GPU's placement rules) or `time_slices_per_gpu`.

use super::*;
use fleetsim_core::model::hardware::mig::{self, MigProfile};
use fleetsim_core::model::hardware::time_slicing::MAX_TIME_SLICES;

/// How a deployment's replica holds its GPU.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum GpuShare {
    /// Whole GPUs (its tensor-parallel degree).
    #[default]
    Whole,
    /// One MIG instance.
    Mig(&'static MigProfile),
    /// One share of a GPU time-sliced between this many replicas.
    TimeSlice(u32),
}

/// The deployment's share of a GPU and the GPU its replica's performance
/// and memory model see (the instance or the share, else `gpu`). A
/// time-sliced deployment takes its number of shares from the pools of its
/// GPU (`pools`), which must agree.
pub(super) fn deployment_slice(
    raw: &RawDeployment,
    gpu: &GpuSpec,
    pools: &[(String, RawPool)],
) -> Result<(GpuShare, GpuSpec), FieldError> {
    let key = match (&raw.mig_profile, &raw.time_slice) {
        (None, None) => return Ok((GpuShare::Whole, gpu.clone())),
        (Some(_), Some(_)) => {
            return Err(FieldError::new(
                "deployment.time_slice",
                "a replica takes a MIG instance or a time-sliced share, not both: remove \
                 mig_profile or time_slice",
            ))
        }
        (Some(_), None) => "mig_profile",
        (None, Some(_)) => "time_slice",
    };
    if raw.tensor_parallel != 1 {
        return Err(FieldError::new(
            "deployment.tensor_parallel",
            format!(
                "must be 1 with a {key} (a replica on a shared GPU spans no other GPU), got {}",
                raw.tensor_parallel
            ),
        ));
    }
    if let Some(name) = raw.mig_profile.as_deref() {
        let profile = mig::profile(&gpu.name, name)
            .map_err(|m| FieldError::new("deployment.mig_profile", m))?;
        return Ok((GpuShare::Mig(profile), gpu.mig_slice(profile)));
    }
    let penalty = raw
        .time_slice
        .as_ref()
        .map_or(0.0, |t| t.interference_penalty);
    if !(0.0..1.0).contains(&penalty) {
        return Err(FieldError::new(
            "deployment.time_slice.interference_penalty",
            format!(
                "must be a fraction of the share lost to interference, in [0, 1), got {penalty}"
            ),
        ));
    }
    let of_gpu = |raw: &RawPool| {
        raw.gpu
            .as_ref()
            .is_none_or(|g| g.eq_ignore_ascii_case(&gpu.name))
    };
    let mut slices = (pools.iter())
        .filter(|(_, raw)| of_gpu(raw))
        .filter_map(|(prefix, raw)| raw.time_slices_per_gpu.map(|n| (prefix, n)));
    let Some((first, n)) = slices.next() else {
        return Err(FieldError::new(
            "deployment.time_slice",
            format!(
                "no pool of {} GPUs is time-sliced: give one `time_slices_per_gpu`",
                gpu.name
            ),
        ));
    };
    if let Some((other, m)) = slices.find(|&(_, m)| m != n) {
        return Err(FieldError::new(
            format!("{other}.time_slices_per_gpu"),
            format!(
                "is {m} but {first} has {n}: a time-sliced deployment sees one share, so the \
                 pools of its GPU must slice it alike"
            ),
        ));
    }
    Ok((GpuShare::TimeSlice(n), gpu.time_share(n, penalty)))
}

/// A deployment on a shared GPU needs a pool to share it on.
pub(super) fn needs_pool(info: &DeploymentInfo) -> Option<FieldError> {
    let key = match info.share {
        GpuShare::Whole => return None,
        GpuShare::Mig(_) => "mig_profile",
        GpuShare::TimeSlice(_) => "time_slice",
    };
    Some(FieldError::new(
        format!("deployment.{key}"),
        "a shared GPU lives on a node pool: add a [pool] (or [[pools]]) that shares it",
    ))
}

/// A pool's `mig_layout` on `gpu`: each name a profile of the GPU, and the
/// whole a partition the GPU can hold. And its `time_slices_per_gpu`, not
/// both.
pub(super) fn pool_sharing(
    raw: &RawPool,
    prefix: &str,
    gpu: &str,
) -> Result<(Vec<&'static MigProfile>, Option<u32>), FieldError> {
    if let Some(n) = raw.time_slices_per_gpu {
        if raw.mig_layout.is_some() {
            return Err(FieldError::new(
                format!("{prefix}.time_slices_per_gpu"),
                "a pool's GPUs are partitioned (mig_layout) or time-sliced, not both",
            ));
        }
        if !(2..=MAX_TIME_SLICES).contains(&n) {
            return Err(FieldError::new(
                format!("{prefix}.time_slices_per_gpu"),
                format!("must be between 2 and {MAX_TIME_SLICES}, got {n}"),
            ));
        }
        return Ok((Vec::new(), Some(n)));
    }
    let Some(names) = &raw.mig_layout else {
        return Ok((Vec::new(), None));
    };
    let field = format!("{prefix}.mig_layout");
    if names.is_empty() {
        return Err(FieldError::new(
            &field,
            "must list at least one MIG profile (omit it for whole GPUs)",
        ));
    }
    let layout = (names.iter().enumerate())
        .map(|(i, n)| mig::profile(gpu, n).map_err(|m| FieldError::new(format!("{field}[{i}]"), m)))
        .collect::<Result<Vec<_>, _>>()?;
    mig::place(&layout)
        .map_err(|why| FieldError::new(&field, format!("{names:?} on one {gpu} {why}")))?;
    Ok((layout, None))
}

/// A pool takes the deployment's replicas: the same sharing (a MIG
/// deployment needs its profile in the layout, a time-sliced one a
/// time-sliced pool, a whole-GPU one a pool of whole GPUs).
pub(super) fn pool_fits(spec: &PoolSpec, deployment: &DeploymentInfo) -> bool {
    match deployment.share {
        GpuShare::Mig(p) => spec.mig_layout.iter().any(|q| **q == *p),
        GpuShare::TimeSlice(n) => spec.time_slices_per_gpu == Some(n),
        GpuShare::Whole => spec.mig_layout.is_empty() && spec.time_slices_per_gpu.is_none(),
    }
}

/// Replicas one node of a pool holds.
pub(super) fn replicas_per_node(spec: &PoolSpec, deployment: &DeploymentInfo) -> u64 {
    let per_node = u64::from(spec.pricing.gpus_per_node);
    match deployment.share {
        GpuShare::Mig(p) => per_node * spec.mig_layout.iter().filter(|q| ***q == *p).count() as u64,
        GpuShare::TimeSlice(n) => per_node * u64::from(n),
        GpuShare::Whole => per_node / u64::from(deployment.tensor_parallel.max(1)),
    }
}

/// Why no pool takes a MIG deployment (its GPU's pools all lack its
/// profile), or `None` when one does or it is no MIG deployment (a
/// time-sliced one found its pools when it was resolved).
pub(super) fn no_pool_error(
    specs: &[PoolSpec],
    usable: &[bool],
    deployment: &DeploymentInfo,
) -> Option<FieldError> {
    let GpuShare::Mig(p) = deployment.share else {
        return None;
    };
    let any = (specs.iter().zip(usable)).any(|(s, &u)| u && pool_fits(s, deployment));
    (!any).then(|| {
        FieldError::new(
            "deployment.mig_profile",
            format!(
                "no pool of {} GPUs is partitioned into {} instances: add it to a pool's \
                 `mig_layout`",
                deployment.gpu, p.name
            ),
        )
    })
}
