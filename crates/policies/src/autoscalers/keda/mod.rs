//! KEDA ScaledObject (`kedacore/keda`): trigger activity aggregation
//! (`getScaledObjectState`), the executor's 0 ↔ min/idle decisions
//! (`RequestScale`: activation, cooldown, idle replicas, pause
//! annotations), the fallback metric (`GetMetricsWithFallback`), and the
//! HPA KEDA creates (external metric, AverageValue = threshold), which
//! owns scaling between 1 and max.
//!
//! Adapter mapping: every `polling_interval_s` (30 s) compute each
//! trigger's value (e.g. the sum over replicas of `num_requests_waiting`),
//! build [`TriggerState`]s (`is_active = value > activation_threshold`),
//! call [`aggregate_activity`] and [`KedaExecutor::request_scale`]; every
//! HPA sync (15 s) call [`crate::autoscalers::hpa::per_pod_replicas`] per
//! trigger with the value and the threshold, and [`crate::autoscalers::hpa::Hpa::reconcile`]
//! with the config from [`KedaConfig::hpa_config`]. Several triggers under
//! scaling modifiers give the HPA one composite metric instead
//! (`modifiers.rs`, the adapter's side in `composite.rs`).

mod composite;
mod executor;
mod fallback;
pub mod formula;
mod modifiers;
mod trigger;

pub use composite::NamedTrigger;
pub use executor::*;
pub use fallback::*;
pub use modifiers::*;

use super::hpa::{Behavior, BehaviorConfig, HpaConfig};
use super::{invalid, AutoscalerError};
use fleetsim_core::SimTime;
use serde::{Deserialize, Serialize};
use trigger::Trigger;

const NAME: &str = "keda";

/// Fallback behavior (`fallback.behavior`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FallbackBehavior {
    /// `fallback.replicas` (default).
    #[default]
    Static,
    /// The current replica count.
    CurrentReplicas,
    /// `max(current, fallback.replicas)`.
    CurrentReplicasIfHigher,
    /// `min(current, fallback.replicas)`.
    CurrentReplicasIfLower,
    /// With scaling modifiers only: a failing trigger reads as nil in the
    /// formula, and a nil formula serves `replicas × target`
    /// ([`modifiers`](ScalingModifiers)).
    ScalingModifiers,
}

/// `spec.fallback` (`failure_threshold` and `replicas` as a scenario
/// writes them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackConfig {
    /// Consecutive failures tolerated before the fallback metric is
    /// served (`failureThreshold`, int32, >= 0).
    pub failure_threshold: i32,
    /// Replicas to fall back to (`replicas`, int32, >= 0; 0 leaves the
    /// executor free to scale to zero on errors).
    pub replicas: i32,
    /// How the fallback count is chosen.
    #[serde(default)]
    pub behavior: FallbackBehavior,
}

impl FallbackConfig {
    /// `HasValidFallback`: both numbers are >= 0.
    pub fn is_valid(&self) -> bool {
        self.failure_threshold >= 0 && self.replicas >= 0
    }
}

/// ScaledObject knobs with KEDA's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KedaConfig {
    /// `pollingInterval`: 30 s between activity checks.
    pub polling_interval_s: u64,
    /// `cooldownPeriod`: 300 s after the last active time before scaling to
    /// 0 (or idle).
    pub cooldown_period_s: u64,
    /// `initialCooldownPeriod`: 0 s from creation while never active.
    pub initial_cooldown_period_s: u64,
    /// `minReplicaCount`: 0.
    pub min_replica_count: u32,
    /// `maxReplicaCount`: 100.
    pub max_replica_count: u32,
    /// `idleReplicaCount`: unset; must be below min.
    pub idle_replica_count: Option<u32>,
    /// `fallback`: unset.
    pub fallback: Option<FallbackConfig>,
    /// `autoscaling.keda.sh/paused-scale-in`: blocks scaling to 0/idle.
    pub paused_scale_in: bool,
    /// `autoscaling.keda.sh/paused-scale-out`: blocks scaling from 0/idle.
    pub paused_scale_out: bool,
    /// `autoscaling.keda.sh/paused-replicas`: the ScaledObject is paused
    /// (the executor does nothing) and the controller holds this count.
    pub paused_replicas: Option<u32>,
    /// `autoscaling.keda.sh/paused`: paused at the current count.
    pub paused: bool,
    /// `autoscaling.keda.sh/force-activation`: act as if a trigger were
    /// active.
    pub force_activation: bool,
    /// `advanced.horizontalPodAutoscalerConfig.behavior` for the HPA.
    pub hpa_behavior: Option<Behavior>,
}

impl Default for KedaConfig {
    fn default() -> Self {
        KedaConfig {
            polling_interval_s: 30,
            cooldown_period_s: 300,
            initial_cooldown_period_s: 0,
            min_replica_count: 0,
            max_replica_count: 100,
            idle_replica_count: None,
            fallback: None,
            paused_scale_in: false,
            paused_scale_out: false,
            paused_replicas: None,
            paused: false,
            force_activation: false,
            hpa_behavior: None,
        }
    }
}

impl KedaConfig {
    /// ScaledObject validation (`ValidateScaledObject` / `CheckReplicaCountBoundsAreValid`).
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        if self.min_replica_count > self.max_replica_count {
            return Err(invalid(NAME, "min_replica_count", format!(
                "min_replicas > max_replicas ({} > {}) (KEDA: MinReplicaCount must be less than MaxReplicaCount)",
                self.min_replica_count, self.max_replica_count
            )));
        }
        if let Some(idle) = self.idle_replica_count {
            if idle >= self.min_replica_count {
                return Err(invalid(NAME, "idle_replica_count", format!(
                    "{idle} must be below min_replica_count {} (KEDA: IdleReplicaCount must be less than MinReplicaCount)",
                    self.min_replica_count
                )));
            }
        }
        if self.polling_interval_s == 0 {
            return Err(invalid(NAME, "polling_interval_s", "must be > 0"));
        }
        if let Some(f) = &self.fallback {
            if !f.is_valid() {
                return Err(invalid(
                    NAME,
                    if f.failure_threshold < 0 {
                        "fallback.failure_threshold"
                    } else {
                        "fallback.replicas"
                    },
                    format!("must be >= 0 (KEDA: FailureThreshold={} & Replicas={} must both be greater than or equal to 0)", f.failure_threshold, f.replicas),
                ));
            }
        }
        self.hpa_config().validate()
    }

    /// The HPA KEDA creates (`newHPAForScaledObject`): `minReplicas =
    /// max(min, 1)`, `maxReplicas = max`, the configured behavior, with
    /// the scale-down (scale-up) select policy `Disabled` under
    /// `paused-scale-in` (`paused-scale-out`); a direction the behavior
    /// leaves out gets the API defaults first.
    pub fn hpa_config(&self) -> HpaConfig {
        use super::hpa::{ScalingRules, SelectPolicy};
        let d = HpaConfig::default();
        let mut behavior = self.hpa_behavior.clone();
        if self.paused_scale_in {
            let b = behavior.get_or_insert_with(Behavior::default);
            (b.scale_down)
                .get_or_insert_with(|| {
                    ScalingRules::default_scale_down(d.downscale_stabilization_s)
                })
                .select_policy = SelectPolicy::Disabled;
        }
        if self.paused_scale_out {
            let b = behavior.get_or_insert_with(Behavior::default);
            (b.scale_up)
                .get_or_insert_with(ScalingRules::default_scale_up)
                .select_policy = SelectPolicy::Disabled;
        }
        HpaConfig {
            min_replicas: self.min_replica_count.max(1),
            max_replicas: self.max_replica_count.max(1),
            behavior,
            ..d
        }
    }
}

fn default_max() -> u32 {
    100
}
fn default_polling_s() -> u64 {
    30
}
fn default_cooldown_s() -> u64 {
    300
}
fn yes() -> bool {
    true
}
fn default_threshold() -> f64 {
    5.0
}

/// `[scaling] kind = "keda"`: a ScaledObject with one Prometheus-style
/// trigger: a vLLM gauge summed over the deployment (`trigger_metric`), or
/// a `query` over the observed signals ([`super::promql`]); or several
/// named `triggers` combined by `scaling_modifiers` ([`ScalingModifiers`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KedaAutoscalerConfig {
    /// `minReplicaCount`, default 0 (scale to zero).
    #[serde(default)]
    pub min_replicas: u32,
    /// `maxReplicaCount`, default 100.
    #[serde(default = "default_max")]
    pub max_replicas: u32,
    /// `pollingInterval`, default 30 s.
    #[serde(default = "default_polling_s")]
    pub polling_interval_s: u64,
    /// `cooldownPeriod`, default 300 s.
    #[serde(default = "default_cooldown_s")]
    pub cooldown_period_s: u64,
    /// `initialCooldownPeriod`, default 0 s.
    #[serde(default)]
    pub initial_cooldown_period_s: u64,
    /// `idleReplicaCount`, unset by default (must be below min).
    #[serde(default)]
    pub idle_replicas: Option<u32>,
    /// The trigger's signal (`num_requests_waiting`, the default when
    /// `query` is unset, includes the gateway queue; also `concurrency`,
    /// `num_requests_running`, `kv_cache_usage_perc`, `gpu_busy_fraction`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_metric: Option<super::adapter::Signal>,
    /// The `prometheus` trigger's `query` instead of `trigger_metric`
    /// (`sum(rate(http_requests_total[1m]))`; grammar in
    /// [`super::promql`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `ignoreNullValues` (default true): a query without a value (fewer
    /// than two scrapes in its range, no request for a quantile) reads 0;
    /// false: a scaler error.
    #[serde(default = "yes")]
    pub ignore_null_values: bool,
    /// The trigger's `threshold`, the HPA's AverageValue target per
    /// replica (the Value target under `metric_type = "Value"`), > 0.
    /// Default 5 (vLLM production-stack).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// `activationThreshold`: active when the value is strictly above it.
    /// Default 0.
    #[serde(default)]
    pub activation_threshold: f64,
    /// The trigger's `metricType`: `AverageValue` (default, `threshold`
    /// per replica) or `Value` (`threshold` for the whole value: the HPA
    /// asks for `ceil(value / threshold × ready pods)`).
    #[serde(default)]
    pub metric_type: MetricType,
    /// `advanced.horizontalPodAutoscalerConfig.behavior`, snake_case or
    /// autoscaling/v2 spelling, fields left out taking the API defaults
    /// (the scale-down window the controller's 300 s); absent = the HPA's
    /// legacy path.
    #[serde(default)]
    pub hpa_behavior: Option<Box<BehaviorConfig>>,
    /// `spec.fallback`: `{ failure_threshold, replicas, behavior }`
    /// (`static`, `currentReplicas`, `currentReplicasIfHigher`,
    /// `currentReplicasIfLower`); unset by default. Once the trigger has
    /// failed more than `failure_threshold` reads in a row (the HPA's and
    /// the executor's polls both count), the HPA gets `replicas ×
    /// threshold` and so asks for the fallback count, and the poll finds
    /// the ScaledObject active.
    #[serde(default)]
    pub fallback: Option<FallbackConfig>,
    /// `autoscaling.keda.sh/paused-scale-in`: the executor does not scale
    /// to 0 (or idle) and the HPA's scale-down is `Disabled`.
    #[serde(default)]
    pub paused_scale_in: bool,
    /// `autoscaling.keda.sh/paused-scale-out`: the executor does not
    /// activate from 0 (or idle) and the HPA's scale-up is `Disabled`.
    #[serde(default)]
    pub paused_scale_out: bool,
    /// `autoscaling.keda.sh/paused-replicas`: the ScaledObject is paused
    /// and the deployment held at this count.
    #[serde(default)]
    pub paused_replicas: Option<u32>,
    /// `autoscaling.keda.sh/paused`: paused at the current count.
    #[serde(default)]
    pub paused: bool,
    /// `autoscaling.keda.sh/force-activation`: the executor acts as if the
    /// trigger were active.
    #[serde(default)]
    pub force_activation: bool,
    /// Several named triggers (`{ name, trigger_metric | query }`) combined
    /// by `scaling_modifiers`, instead of `trigger_metric` / `query`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<NamedTrigger>,
    /// `advanced.scalingModifiers`: `{ formula, target, activation_target,
    /// metric_type }` over `triggers`; the composite metric's `target` and
    /// `metric_type` replace `threshold` and `metric_type`, and
    /// `activation_target` replaces `activation_threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_modifiers: Option<Box<ScalingModifiers>>,
}

impl KedaAutoscalerConfig {
    /// The core's knobs, the HPA behavior defaulted as the API server would.
    pub(crate) fn core(&self) -> KedaConfig {
        KedaConfig {
            polling_interval_s: self.polling_interval_s,
            cooldown_period_s: self.cooldown_period_s,
            initial_cooldown_period_s: self.initial_cooldown_period_s,
            min_replica_count: self.min_replicas,
            max_replica_count: self.max_replicas,
            idle_replica_count: self.idle_replicas,
            hpa_behavior: (self.hpa_behavior.as_ref())
                .map(|b| b.defaulted(HpaConfig::default().downscale_stabilization_s)),
            fallback: self.fallback,
            paused_scale_in: self.paused_scale_in,
            paused_scale_out: self.paused_scale_out,
            paused_replicas: self.paused_replicas,
            paused: self.paused,
            force_activation: self.force_activation,
        }
    }

    fn trigger(&self) -> Result<Trigger, AutoscalerError> {
        Trigger::resolve(self.query.as_deref(), self.trigger_metric)
    }

    /// The HPA's target: the composite's `target` under scaling
    /// modifiers, else `threshold`.
    fn target(&self) -> f64 {
        (self.scaling_modifiers.as_deref())
            .and_then(|m| m.target_value().ok())
            .unwrap_or(self.threshold)
    }

    /// The composite of `triggers` under `scaling_modifiers` (`None`: the
    /// single trigger). Both or neither must be set, and a composite
    /// leaves `trigger_metric` and `query` unset.
    fn composite(&self) -> Result<Option<composite::Composite>, AutoscalerError> {
        let Some(m) = &self.scaling_modifiers else {
            if !self.triggers.is_empty() {
                return Err(invalid(NAME, "triggers", "several triggers need scaling_modifiers (their formula makes the one metric the HPA scales on)"));
            }
            return Ok(None);
        };
        if self.triggers.is_empty() {
            return Err(invalid(
                NAME,
                "scaling_modifiers",
                "needs triggers = [{ name, trigger_metric | query }, ...] for its formula",
            ));
        }
        if self.trigger_metric.is_some() || self.query.is_some() {
            let key = if self.query.is_some() {
                "query"
            } else {
                "trigger_metric"
            };
            return Err(invalid(
                NAME,
                key,
                "with triggers, each trigger names its own metric; leave this unset",
            ));
        }
        composite::Composite::new(&self.triggers, m).map(Some)
    }

    /// ScaledObject validation plus the trigger's.
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        self.core().validate()?;
        self.trigger()?;
        self.composite()?;
        check_fallback(self.fallback.as_ref(), self.scaling_modifiers.as_deref())
            .map_err(|e| invalid(NAME, "fallback.behavior", e.to_string()))?;
        if !self.threshold.is_finite() || self.threshold <= 0.0 {
            return Err(invalid(NAME, "threshold", format!("must be > 0, got {} (KEDA: the trigger threshold is the HPA's AverageValue target, or Value target with metric_type Value, which must be positive)", self.threshold)));
        }
        if !self.activation_threshold.is_finite() || self.activation_threshold < 0.0 {
            return Err(invalid(
                NAME,
                "activation_threshold",
                format!(
                    "must be a finite value >= 0, got {} (KEDA: activationThreshold)",
                    self.activation_threshold
                ),
            ));
        }
        Ok(())
    }

    /// The autoscaler.
    pub fn build(&self) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        self.validate()?;
        let core = self.core();
        let hpa = super::hpa::Hpa::new(core.hpa_config())?;
        let polling = super::secs(self.polling_interval_s);
        let hpa_sync = super::secs(u64::from(hpa.config().sync_period_s));
        let gcd = gcd(polling.as_nanos(), hpa_sync.as_nanos());
        Ok(Box::new(KedaAutoscaler {
            executor: KedaExecutor::new(core, SimTime::ZERO)?,
            hpa,
            trigger: self.trigger()?,
            composite: self.composite()?,
            ignore_null_values: self.ignore_null_values,
            threshold_milli: super::adapter::milli(self.target()),
            metric_type: (self.scaling_modifiers.as_deref())
                .map_or(self.metric_type, |m| m.metric_type),
            activation_threshold: self.activation_threshold,
            polling,
            hpa_sync,
            sync: fleetsim_core::SimDuration::from_nanos(gcd),
            next_poll: SimTime::ZERO,
            next_hpa: SimTime::ZERO,
            fallback_state: FallbackState::default(),
        }))
    }

    /// The trigger queries Prometheus live (reference §3.1), so the
    /// pipeline is Prometheus's: 15 s scrapes, no further lag (assumed
    /// scrape interval; vLLM production-stack polls every 15 s), 10
    /// minutes kept or the query's range if longer.
    pub fn default_metrics(&self) -> fleetsim_core::autoscale::MetricsSpec {
        let composite = self.composite().ok().flatten();
        let range = match composite {
            Some(c) => c.range(),
            None => self.trigger().ok().and_then(|t| t.range()),
        };
        fleetsim_core::autoscale::MetricsSpec {
            scrape_interval: fleetsim_core::SimDuration::from_secs(15),
            lag: fleetsim_core::SimDuration::ZERO,
            lookback: range.map_or(fleetsim_core::SimDuration::from_secs(600), |r| {
                r.max(fleetsim_core::SimDuration::from_secs(600))
            }),
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Engine adapter: the executor every `polling_interval_s` (active =
/// trigger value `> activation_threshold`, or the fallback served; no
/// visible scrape, e.g. during a metrics outage, is a scaler error; a query without a value reads 0
/// under `ignore_null_values`, as the prometheus scaler's
/// `ignoreNullValues`, else is an error) and the HPA KEDA creates every
/// 15 s ([`super::hpa::per_pod_replicas`] with the value
/// [`metric_with_fallback`] serves, the threshold and the pod counts of
/// [`super::adapter::ApiPods`], or the count asked for before any scrape).
/// It syncs at the gcd of the two periods. When the executor changes the scale, that is the answer of
/// the sync. No activation hook: KEDA has no activator, so a request
/// arriving at zero replicas waits for the next poll.
#[derive(Clone, Debug)]
pub struct KedaAutoscaler {
    executor: KedaExecutor,
    hpa: super::hpa::Hpa,
    trigger: Trigger,
    /// Several triggers under scaling modifiers (then `trigger` is unused).
    composite: Option<composite::Composite>,
    ignore_null_values: bool,
    threshold_milli: i64,
    metric_type: MetricType,
    activation_threshold: f64,
    polling: fleetsim_core::SimDuration,
    hpa_sync: fleetsim_core::SimDuration,
    sync: fleetsim_core::SimDuration,
    next_poll: SimTime,
    next_hpa: SimTime,
    /// The trigger's health as the metrics server keeps it.
    fallback_state: FallbackState,
}

impl fleetsim_core::Autoscaler for KedaAutoscaler {
    fn sync_period(&self) -> fleetsim_core::SimDuration {
        self.sync
    }

    fn replica_bounds(&self) -> (u32, u32) {
        let c = self.executor.config();
        (
            c.idle_replica_count
                .unwrap_or(c.min_replica_count)
                .min(c.min_replica_count),
            c.max_replica_count,
        )
    }

    fn desired_replicas(&mut self, obs: &fleetsim_core::autoscale::Observation<'_>) -> u32 {
        let now = obs.now;
        let value = self.trigger.value(obs, self.ignore_null_values);
        let mut current = obs.desired;
        // Pod counts come from the API server, not the metrics pipeline
        // (`status.replicas`; pods Running and Ready for a Value target
        // and its fallback): an outage leaves them readable. Without a pod
        // list (an observation from scrapes alone) before any scrape, the
        // count asked for.
        let super::adapter::ApiPods { status, ready } = (super::adapter::ApiPods::of(obs))
            .unwrap_or(super::adapter::ApiPods {
                status: current,
                ready: current,
            });
        let fallback = self.executor.config().fallback;
        // A paused ScaledObject: the controller holds the paused-replicas
        // count (or the current one) and nothing else acts.
        let cfg = self.executor.config();
        if let Some(p) = cfg.paused_replicas {
            return p;
        }
        if cfg.paused {
            return current;
        }
        let threshold = self.threshold_milli as f64 / 1000.0;
        let target = match self.metric_type {
            MetricType::AverageValue => FallbackTarget::AverageValue(threshold),
            MetricType::Value => FallbackTarget::Value {
                target: threshold,
                ready_replicas: Some(ready),
            },
        };
        // The scale loop's poll (`getScalerState`) reads each trigger
        // through `GetMetricsWithFallback` too, so it counts failures and
        // resets them on success as the HPA's reads do; a trigger served
        // its fallback is active and not in error.
        if now >= self.next_poll {
            self.next_poll = now + self.polling;
            let (active, error) = match &mut self.composite {
                // The composite's activity: above `activation_target`,
                // never on an error.
                Some(c) => {
                    let v = c.value(
                        obs,
                        self.ignore_null_values,
                        fallback.as_ref(),
                        current,
                        ready,
                    );
                    match v.and_then(|v| c.modifiers().is_active(v)) {
                        Ok(a) => (a, false),
                        Err(_) => (false, true),
                    }
                }
                None => match metric_with_fallback_to(
                    &mut self.fallback_state,
                    fallback.as_ref(),
                    value,
                    Some(current),
                    target,
                ) {
                    FallbackResult::Metric(v) => (v > self.activation_threshold, false),
                    FallbackResult::Fallback(_) => (true, false),
                    FallbackResult::Error => (false, true),
                },
            };
            let d = self.executor.request_scale(now, current, active, error);
            if let Some(n) = d.set_replicas {
                return n;
            }
        }
        if now >= self.next_hpa {
            self.next_hpa = now + self.hpa_sync;
            // The metrics server answers the HPA through
            // `GetMetricsWithFallback`: the trigger's value, the fallback
            // value once it has failed too often, or the error (no
            // recommendation: the HPA holds).
            // With scaling modifiers, the composite metric. At 0 replicas
            // the HPA is disabled and reads no metric (so counts no
            // failure): only the executor's polls can bring it back.
            let served = match &mut self.composite {
                _ if current == 0 => None,
                Some(c) => (c.value(
                    obs,
                    self.ignore_null_values,
                    fallback.as_ref(),
                    current,
                    ready,
                ))
                .ok(),
                None => match metric_with_fallback_to(
                    &mut self.fallback_state,
                    fallback.as_ref(),
                    value,
                    Some(current),
                    target,
                ) {
                    FallbackResult::Metric(v) | FallbackResult::Fallback(v) => Some(v),
                    FallbackResult::Error => None,
                },
            };
            let tolerance = self.hpa.config().tolerance;
            let rec = served.and_then(|v| {
                let v = super::adapter::milli(v);
                match self.metric_type {
                    MetricType::AverageValue => {
                        super::hpa::per_pod_replicas(status, v, self.threshold_milli, tolerance)
                    }
                    // `GetExternalMetricReplicas`: spec replicas and the
                    // ready pods.
                    MetricType::Value => super::hpa::object_value_replicas(
                        current,
                        v,
                        self.threshold_milli,
                        ready,
                        tolerance,
                    ),
                }
                .ok()
                .map(|r| r.replicas)
            });
            if let Ok(d) = self.hpa.reconcile(now, current, &[rec]) {
                current = d.desired;
            }
        }
        current
    }
}

/// `[scaling] kind = "keda"`: this file's entry in the autoscaler
/// registry (`autoscalers/mod.rs`).
#[derive(Debug)]
pub struct KedaKind;

impl super::AutoscalerKind for KedaKind {
    const NAME: &'static str = "keda";
    type Config = KedaAutoscalerConfig;
    const KNOB_NAMES: &'static [(&'static str, &'static str)] = &[
        ("min_replica_count", "min_replicas"),
        ("max_replica_count", "max_replicas"),
        ("idle_replica_count", "idle_replicas"),
        ("behavior.scale_up", "hpa_behavior.scale_up"),
        ("behavior.scale_down", "hpa_behavior.scale_down"),
    ];

    fn validate(config: &KedaAutoscalerConfig) -> Result<(), AutoscalerError> {
        config.validate()
    }

    fn build(
        config: &KedaAutoscalerConfig,
    ) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        config.build()
    }

    fn default_metrics(config: &KedaAutoscalerConfig) -> fleetsim_core::autoscale::MetricsSpec {
        config.default_metrics()
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod adapter_tests;

#[cfg(test)]
mod upstream_executor_tests;

#[cfg(test)]
mod upstream_modifiers_tests;

#[cfg(test)]
mod upstream_types_tests;
