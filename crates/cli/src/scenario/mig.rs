//! MIG in a scenario: a deployment's `mig_profile` (the GPU its replica
//! sees is the slice) and a pool's `mig_layout` (how every GPU of its nodes
//! is partitioned, checked against the GPU's placement rules).

use super::*;
use fleetsim_core::model::hardware::mig::{self, MigProfile};

/// The deployment's MIG instance, if it asks for one, and the GPU its
/// replica's performance and memory model see (the slice, else `gpu`).
pub(super) fn deployment_slice(
    raw: &RawDeployment,
    gpu: &GpuSpec,
) -> Result<(Option<&'static MigProfile>, GpuSpec), FieldError> {
    let Some(name) = raw.mig_profile.as_deref() else {
        return Ok((None, gpu.clone()));
    };
    if raw.tensor_parallel != 1 {
        return Err(FieldError::new(
            "deployment.tensor_parallel",
            format!(
                "must be 1 with a mig_profile (a MIG instance has no peer-to-peer link to \
                 another), got {}",
                raw.tensor_parallel
            ),
        ));
    }
    let profile =
        mig::profile(&gpu.name, name).map_err(|m| FieldError::new("deployment.mig_profile", m))?;
    Ok((Some(profile), gpu.mig_slice(profile)))
}

/// A pool's `mig_layout` on `gpu`: each name a profile of the GPU, and the
/// whole a partition the GPU can hold.
pub(super) fn pool_layout(
    raw: &RawPool,
    prefix: &str,
    gpu: &str,
) -> Result<Vec<&'static MigProfile>, FieldError> {
    let Some(names) = &raw.mig_layout else {
        return Ok(Vec::new());
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
    Ok(layout)
}

/// A pool takes the deployment's replicas: the same MIG mode (a MIG
/// deployment needs its profile in the layout, a whole-GPU one a pool
/// without MIG).
pub(super) fn pool_fits(layout: &[&MigProfile], deployment: &DeploymentInfo) -> bool {
    match deployment.mig_profile {
        Some(p) => layout.iter().any(|q| **q == *p),
        None => layout.is_empty(),
    }
}

/// Replicas one node of a pool holds.
pub(super) fn replicas_per_node(spec: &PoolSpec, deployment: &DeploymentInfo) -> u64 {
    let per_node = u64::from(spec.pricing.gpus_per_node);
    match deployment.mig_profile {
        Some(p) => per_node * spec.mig_layout.iter().filter(|q| ***q == *p).count() as u64,
        None => per_node / u64::from(deployment.tensor_parallel.max(1)),
    }
}

/// Why no pool takes a MIG deployment (its GPU's pools all lack its
/// profile), or `None` when one does or it is no MIG deployment.
pub(super) fn no_pool_error(
    specs: &[PoolSpec],
    usable: &[bool],
    deployment: &DeploymentInfo,
) -> Option<FieldError> {
    let p = deployment.mig_profile?;
    let any = (specs.iter().zip(usable)).any(|(s, &u)| u && pool_fits(&s.mig_layout, deployment));
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
