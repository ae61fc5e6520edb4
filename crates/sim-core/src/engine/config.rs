//! What a run is configured with: deployments, their fleets and replicas,
//! pipelines, the SLA and the time-series resolution.

use super::error::SimError;
use crate::lifecycle::LifecycleSpec;
use crate::metrics::SlaConfig;
use crate::model::PerfModel;
use crate::nodes::Placement;
use crate::queue::QueueSpec;
use crate::replica::batching::BatchingConfig;
use crate::replica::slots::ServiceTime;
use crate::time::SimDuration;
use std::sync::Arc;

/// What every replica of the fleet is.
#[derive(Clone, Debug)]
pub enum ReplicaSpec {
    /// Continuous batching with a performance model.
    Batching {
        /// Scheduler limits and KV capacity.
        config: Arc<BatchingConfig>,
        /// Iteration durations.
        perf: Arc<dyn PerfModel>,
    },
    /// `slots` servers with batch-independent service times.
    Slots {
        /// Servers per replica.
        slots: u32,
        /// Service-time distribution.
        service: ServiceTime,
    },
}

/// A fleet of identical replicas.
#[derive(Clone, Debug)]
pub struct FleetSpec {
    /// Replicas ready at time 0.
    pub replicas: u32,
    /// GPUs each replica occupies (tensor-parallel degree), for GPU-hours.
    pub gpus_per_replica: u32,
    /// The replica model.
    pub replica: ReplicaSpec,
    /// Fixed per-request latency outside the engine (HTTP, tokenisation,
    /// detokenisation), added to queue wait, TTFT and end-to-end latency.
    /// Because every request gets the same delay, adding it afterwards is
    /// exactly equivalent to delaying every arrival by it.
    pub frontend_latency: SimDuration,
    /// How replicas are added and removed during the run.
    pub lifecycle: LifecycleSpec,
    /// Node pool, cold-start model and artifacts. With it, replicas are
    /// placed on GPU nodes, cold starts are sampled against each node's
    /// caches and the run reports GPU time by state and dollars; without
    /// it, replicas hold their GPUs on their own and cold starts take
    /// `lifecycle.cold_start`.
    pub placement: Option<Arc<Placement>>,
    /// Where requests wait and in which order (see [`crate::queue`]).
    pub queue: QueueSpec,
}

/// One deployment: a model served by its own fleet, router and queue.
#[derive(Clone, Debug)]
pub struct DeploymentSpec {
    /// Name, as a trace's model column writes it.
    pub name: Box<str>,
    /// Weight in the deployment mix for requests that name no model (with
    /// one deployment, every request goes to it and this is unused).
    pub share: f64,
    /// Its fleet.
    pub fleet: FleetSpec,
    /// The deployment whose variant group this one joins (another fleet of
    /// the same model, say on another GPU type): the group shares that
    /// deployment's gateway, queue and router over the union of their ready
    /// replicas, and its autoscaler decides every variant's count
    /// ([`crate::Autoscaler::desired_variant_replicas`]). `None`: its own.
    pub variant_of: Option<u16>,
}

impl DeploymentSpec {
    /// A deployment named `name` with a zero share.
    pub fn new(name: &str, fleet: FleetSpec) -> Self {
        DeploymentSpec {
            name: name.into(),
            share: 0.0,
            fleet,
            variant_of: None,
        }
    }
}

/// A pipeline: a request passes through the `stages` deployments in
/// order (say VAD → ASR → LLM), each serving it as its own request, with a
/// network hop before every stage after the first. The request ends once:
/// completed when its last stage completes, or with the outcome of the
/// stage that lost it.
#[derive(Clone, Debug)]
pub struct PipelineSpec {
    /// Name, as a trace's model column writes it (next to the deployments').
    pub name: Box<str>,
    /// Weight in the mix for requests that name no model.
    pub share: f64,
    /// Deployment indices, in order; each at most once (no cycles).
    pub stages: Vec<u16>,
    /// Network latency before each stage (`hops[0]` is not used: the first
    /// stage receives the request as it arrives).
    pub hops: Vec<SimDuration>,
    /// A disaggregated prefill/decode pair (two stages, `hops[1]` the
    /// handoff's fixed latency): the prompt's KV cache crosses this link
    /// ([`super::KvTransferSpec`]). `None`: an ordinary pipeline.
    pub kv_transfer: Option<super::KvTransferSpec>,
}

/// A resolved, validated run configuration.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seed of every random stream.
    pub seed: u64,
    /// The deployments, at least one. A request goes to the deployment its
    /// `model` names, else to one drawn by `share` from the stream
    /// `("workload.deployment_mix", 0)`; with one deployment, to it. With
    /// node pools, every deployment's placement must list the same pools:
    /// they share the nodes.
    pub deployments: Vec<DeploymentSpec>,
    /// Pipelines over the deployments (a request naming one passes through
    /// its stages). Their names and shares join the deployments' in the mix.
    pub pipelines: Vec<PipelineSpec>,
    /// Model routers (a request naming one goes to the deployment or
    /// pipeline its routes pick, [`crate::model_router`]). Their names and
    /// shares join the mix after the pipelines'.
    pub model_routers: Vec<crate::model_router::ModelRouterSpec>,
    /// Service-level thresholds and targets.
    pub sla: SlaConfig,
    /// Width of a time-series window.
    pub timeseries_resolution: SimDuration,
}

impl SimConfig {
    /// Checks what the engine relies on: at least one deployment (and at
    /// most 65,535), one router per deployment, pipelines over existing
    /// deployments each visited at most once, and one list of node pools
    /// shared by every deployment.
    pub fn check(&self, routers: usize) -> Result<(), SimError> {
        if self.deployments.is_empty() {
            return Err(SimError::Config("no deployment".into()));
        }
        if routers != self.deployments.len() {
            return Err(SimError::Config(format!(
                "{} routers for {} deployments",
                routers,
                self.deployments.len()
            )));
        }
        if self.deployments.len() > usize::from(u16::MAX) {
            return Err(SimError::Config("more than 65535 deployments".into()));
        }
        if let Some(p) = &self.deployments[0].fleet.placement {
            crate::nodes::units_per_gpu(&p.pools).map_err(SimError::Config)?;
        }
        for p in &self.pipelines {
            let mut seen = vec![false; self.deployments.len()];
            if p.stages.is_empty() || p.hops.len() != p.stages.len() {
                return Err(SimError::Config(format!(
                    "pipeline {:?} needs at least one stage and one hop per stage",
                    p.name
                )));
            }
            if p.kv_transfer.is_some() && p.stages.len() != 2 {
                return Err(SimError::Config(format!(
                    "pipeline {:?} transfers KV, so it needs exactly two stages (prefill, decode), got {}",
                    p.name,
                    p.stages.len()
                )));
            }
            for &stage in &p.stages {
                match seen.get_mut(usize::from(stage)) {
                    None => {
                        return Err(SimError::Config(format!(
                            "pipeline {:?} names deployment {stage}, but there are {}",
                            p.name,
                            self.deployments.len()
                        )))
                    }
                    Some(true) => {
                        return Err(SimError::Config(format!(
                            "pipeline {:?} visits deployment {:?} twice (a cycle)",
                            p.name,
                            self.deployments[usize::from(stage)].name
                        )))
                    }
                    Some(s) => *s = true,
                }
            }
        }
        self.check_variants()?;
        for m in &self.model_routers {
            (m.check(self.deployments.len(), self.pipelines.len())).map_err(SimError::Config)?;
        }
        for d in &self.deployments {
            for c in &d.fleet.queue.classes {
                if c.timeout
                    .is_some_and(|t| t > crate::queue::MAX_GATEWAY_WAIT)
                {
                    return Err(SimError::Config(format!(
                        "class {:?} of deployment {:?} times out after more than {} s, the longest wait at a gateway",
                        c.name,
                        d.name,
                        crate::queue::MAX_GATEWAY_WAIT.as_secs_f64()
                    )));
                }
            }
        }
        let pools = |d: &DeploymentSpec| d.fleet.placement.as_ref().map(|p| p.pools.clone());
        if self
            .deployments
            .iter()
            .any(|d| pools(d) != pools(&self.deployments[0]))
        {
            return Err(SimError::Config(
                "deployments must share one list of node pools (or all have none)".into(),
            ));
        }
        Ok(())
    }

    /// Variant groups: a variant names another deployment that is no
    /// variant itself, queues as it does (one gateway serves the group)
    /// and is no pipeline stage (a stage's records are its deployment's).
    fn check_variants(&self) -> Result<(), SimError> {
        for (i, d) in self.deployments.iter().enumerate() {
            let Some(g) = d.variant_of else { continue };
            let Some(head) = self.deployments.get(usize::from(g)) else {
                return Err(SimError::Config(format!(
                    "deployment {:?} is a variant of deployment {g}, but there are {}",
                    d.name,
                    self.deployments.len()
                )));
            };
            let why = if usize::from(g) == i {
                "of itself"
            } else if head.variant_of.is_some() {
                "of a variant (name the group's first deployment)"
            } else if head.fleet.queue != d.fleet.queue {
                "with a different queue (the group shares one gateway)"
            } else {
                ""
            };
            if !why.is_empty() {
                return Err(SimError::Config(format!(
                    "deployment {:?} is a variant of {:?} {why}",
                    d.name, head.name
                )));
            }
        }
        let grouped = |s: u16| in_variant_group(&self.deployments, usize::from(s));
        if let Some((p, s)) = (self.pipelines.iter())
            .find_map(|p| p.stages.iter().find(|&&s| grouped(s)).map(|&s| (p, s)))
        {
            return Err(SimError::Config(format!(
                "pipeline {:?} visits deployment {:?}, which is in a variant group",
                p.name,
                self.deployments[usize::from(s)].name
            )));
        }
        Ok(())
    }

    /// The deployment whose gateway serves deployment `d`: its group's
    /// first, or itself.
    pub fn gateway_of(&self, d: usize) -> usize {
        self.deployments[d].variant_of.map_or(d, usize::from)
    }

    /// Deployment `d`'s variant group, `d` first: itself and the
    /// deployments that name it, in order.
    pub fn variants_of(&self, d: usize) -> impl Iterator<Item = usize> + '_ {
        let mine =
            move |v: &usize| (self.deployments[*v].variant_of).is_some_and(|g| usize::from(g) == d);
        std::iter::once(d).chain((0..self.deployments.len()).filter(mine))
    }
}

/// Deployment `d` of `deployments` is in a variant group: a variant, or
/// the deployment a variant names.
pub fn in_variant_group(deployments: &[DeploymentSpec], d: usize) -> bool {
    deployments[d].variant_of.is_some()
        || (deployments.iter()).any(|v| v.variant_of.is_some_and(|g| usize::from(g) == d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replica::slots::ServiceTime;

    fn fleet() -> FleetSpec {
        FleetSpec {
            replicas: 1,
            gpus_per_replica: 1,
            replica: ReplicaSpec::Slots {
                slots: 1,
                service: ServiceTime::Fixed { duration_s: 1.0 },
            },
            frontend_latency: SimDuration::ZERO,
            lifecycle: Default::default(),
            placement: None,
            queue: Default::default(),
        }
    }

    fn config(deployments: usize, pipelines: Vec<(Vec<u16>, usize)>) -> SimConfig {
        SimConfig {
            seed: 1,
            deployments: (0..deployments)
                .map(|i| DeploymentSpec::new(&format!("d{i}"), fleet()))
                .collect(),
            pipelines: (pipelines.into_iter())
                .map(|(stages, hops)| PipelineSpec {
                    name: "p".into(),
                    share: 1.0,
                    stages,
                    hops: vec![SimDuration::ZERO; hops],
                    kv_transfer: None,
                })
                .collect(),
            model_routers: Vec::new(),
            sla: SlaConfig::default(),
            timeseries_resolution: SimDuration::from_secs(1),
        }
    }

    fn check(c: SimConfig, routers: usize, expect: &str) {
        let got = c.check(routers).map_err(|e| e.to_string());
        match got {
            Ok(()) => assert_eq!("ok", expect),
            Err(e) => assert_eq!(e, format!("invalid configuration: {expect}")),
        }
    }

    #[test]
    fn what_the_engine_relies_on_is_checked() {
        check(config(2, vec![(vec![0, 1], 2)]), 2, "ok");
        check(config(0, vec![]), 0, "no deployment");
        check(config(2, vec![]), 1, "1 routers for 2 deployments");
        check(
            config(2, vec![(vec![0], 2)]),
            2,
            "pipeline \"p\" needs at least one stage and one hop per stage",
        );
        check(
            config(2, vec![(vec![0, 2], 2)]),
            2,
            "pipeline \"p\" names deployment 2, but there are 2",
        );
        check(
            config(2, vec![(vec![1, 0, 1], 3)]),
            2,
            "pipeline \"p\" visits deployment \"d1\" twice (a cycle)",
        );
    }

    #[test]
    fn a_variant_group_is_checked() {
        let grouped = |variants: &[(usize, u16)], pipelines| {
            let mut c = config(3, pipelines);
            for &(d, g) in variants {
                c.deployments[d].variant_of = Some(g);
            }
            c
        };
        let ok = grouped(&[(1, 0), (2, 0)], vec![]);
        check(ok.clone(), 3, "ok");
        assert_eq!(ok.variants_of(0).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(ok.gateway_of(2), 0);
        assert_eq!(ok.variants_of(2).collect::<Vec<_>>(), vec![2]);
        let err = "deployment \"d1\" is a variant of";
        check(
            grouped(&[(1, 3)], vec![]),
            3,
            "deployment \"d1\" is a variant of deployment 3, but there are 3",
        );
        check(
            grouped(&[(1, 1)], vec![]),
            3,
            &format!("{err} \"d1\" of itself"),
        );
        check(
            grouped(&[(1, 0), (2, 1)], vec![]),
            3,
            "deployment \"d2\" is a variant of \"d1\" of a variant (name the group's first deployment)",
        );
        let mut queues = grouped(&[(1, 0)], vec![]);
        queues.deployments[1].fleet.queue.mode = crate::queue::QueueMode::Central {
            max_concurrency_per_replica: 4,
        };
        check(
            queues,
            3,
            &format!("{err} \"d0\" with a different queue (the group shares one gateway)"),
        );
        check(
            grouped(&[(1, 0)], vec![(vec![2, 0], 2)]),
            3,
            "pipeline \"p\" visits deployment \"d0\", which is in a variant group",
        );
    }
}
