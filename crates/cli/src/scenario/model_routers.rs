//! `[[model_routers]]`: a routing stage in front of the deployments that
//! picks a request's deployment (model) or pipeline by its prompt length,
//! class, trace difficulty or a seeded split
//! ([`fleetsim_core::model_router`]). The raw tables as written and their
//! resolution against the deployments' and pipelines' names.

use fleetsim_core::engine::{DeploymentSpec, PipelineSpec};
use fleetsim_core::field::FieldError;
use fleetsim_core::model_router::{ModelRoute, ModelRouterSpec, RouteCondition, RouteTarget};
use serde::{Deserialize, Serialize};

/// One `[[model_routers]]` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModelRouter {
    /// Name, as a trace's model column writes it.
    pub name: String,
    /// Weight in the mix for requests that name no model.
    #[serde(default)]
    pub share: Option<f64>,
    /// The deployment or pipeline a request no route takes goes to.
    pub default: String,
    /// Routes, tried in order (`[[model_routers.routes]]`).
    #[serde(default)]
    pub routes: Vec<RawRoute>,
}

/// One `[[model_routers.routes]]` entry: requests meeting every condition
/// given go to `to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// A deployment or pipeline name.
    pub to: String,
    /// Prompts of at least this many tokens.
    #[serde(default)]
    pub min_input_tokens: Option<u32>,
    /// Requests whose trace class is one of these.
    #[serde(default)]
    pub classes: Vec<String>,
    /// Requests whose trace difficulty is at least this.
    #[serde(default)]
    pub min_difficulty: Option<f64>,
    /// This fraction, in (0, 1], of the requests meeting the other
    /// conditions (a seeded draw).
    #[serde(default)]
    pub fraction: Option<f64>,
}

/// The model routers, with target names resolved to deployment or
/// pipeline indices; names must be new (not a deployment's or pipeline's).
pub(super) fn resolve_model_routers(
    raw: &[RawModelRouter],
    deployments: &[DeploymentSpec],
    pipelines: &[PipelineSpec],
) -> Result<Vec<ModelRouterSpec>, FieldError> {
    let mut out: Vec<ModelRouterSpec> = Vec::with_capacity(raw.len());
    for (i, m) in raw.iter().enumerate() {
        let field = |f: &str| format!("model_routers[{i}].{f}");
        let taken = (deployments.iter().map(|d| &*d.name))
            .chain(pipelines.iter().map(|p| &*p.name))
            .chain(out.iter().map(|o| &*o.name))
            .any(|n| n == m.name);
        if m.name.trim().is_empty() {
            return Err(FieldError::new(field("name"), "must not be empty"));
        }
        if taken {
            return Err(FieldError::new(
                field("name"),
                format!(
                    "{:?} already names a deployment, pipeline or model router",
                    m.name
                ),
            ));
        }
        if let Some(share) = m.share.filter(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(FieldError::new(
                field("share"),
                format!("must be a finite number ≥ 0, got {share}"),
            ));
        }
        let default = target(&m.default, deployments, pipelines)
            .map_err(|p| FieldError::new(field("default"), p))?;
        let mut routes = Vec::with_capacity(m.routes.len());
        for (j, r) in m.routes.iter().enumerate() {
            let at = |f: &str| field(&format!("routes[{j}].{f}"));
            let to =
                target(&r.to, deployments, pipelines).map_err(|p| FieldError::new(at("to"), p))?;
            if r.min_input_tokens.is_none()
                && r.classes.is_empty()
                && r.min_difficulty.is_none()
                && r.fraction.is_none()
            {
                return Err(FieldError::new(
                    field(&format!("routes[{j}]")),
                    "needs a condition: `min_input_tokens`, `classes`, `min_difficulty` or `fraction` (the router's `default` takes the rest)",
                ));
            }
            // With classes configured, a trace may name no other class, so
            // a route naming another could never match: a typo.
            let configured: Vec<&str> = (deployments.iter())
                .flat_map(|d| d.fleet.queue.classes.iter().map(|c| &*c.name))
                .collect();
            if let Some(c) = (r.classes.iter())
                .find(|c| !configured.is_empty() && !configured.contains(&c.as_str()))
            {
                return Err(FieldError::new(
                    at("classes"),
                    format!(
                        "{c:?} is not a class of any deployment (classes: {})",
                        configured.join(", ")
                    ),
                ));
            }
            if let Some(d) = r.min_difficulty.filter(|d| !d.is_finite()) {
                return Err(FieldError::new(
                    at("min_difficulty"),
                    format!("must be a finite number, got {d}"),
                ));
            }
            if let Some(f) = r.fraction.filter(|f| !(*f > 0.0 && *f <= 1.0)) {
                return Err(FieldError::new(
                    at("fraction"),
                    format!("must be a number in (0, 1], got {f}"),
                ));
            }
            routes.push(ModelRoute {
                when: RouteCondition {
                    min_input_tokens: r.min_input_tokens,
                    classes: r.classes.iter().map(|c| c.as_str().into()).collect(),
                    min_difficulty: r.min_difficulty,
                    fraction: r.fraction,
                },
                to,
            });
        }
        out.push(ModelRouterSpec {
            name: m.name.as_str().into(),
            share: m.share.unwrap_or(0.0),
            routes,
            default,
        });
    }
    Ok(out)
}

/// The deployment or pipeline `name` names, or what the names are.
fn target(
    name: &str,
    deployments: &[DeploymentSpec],
    pipelines: &[PipelineSpec],
) -> Result<RouteTarget, String> {
    if let Some(d) = deployments.iter().position(|d| &*d.name == name) {
        return Ok(RouteTarget::Deployment(d as u16));
    }
    if let Some(p) = pipelines.iter().position(|p| &*p.name == name) {
        return Ok(RouteTarget::Pipeline(p as u16));
    }
    let names: Vec<&str> = (deployments.iter().map(|d| &*d.name))
        .chain(pipelines.iter().map(|p| &*p.name))
        .collect();
    Err(format!(
        "{name:?} is not a deployment or pipeline (they are: {})",
        names.join(", ")
    ))
}
