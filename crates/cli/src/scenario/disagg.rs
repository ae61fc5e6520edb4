//! `[pipelines.kv_transfer]`: a two-stage pipeline as a disaggregated
//! prefill/decode pair, the prompt's KV cache sent over a link between
//! them (`fleetsim_core::engine::KvTransferSpec`).

use super::DeploymentInfo;
use fleetsim_core::engine::KvTransferSpec;
use fleetsim_core::field::FieldError;
use serde::{Deserialize, Serialize};

/// The `[pipelines.kv_transfer]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKvTransfer {
    /// Bandwidth of the link a prompt's KV cache crosses from a prefill
    /// replica to a decode replica, GB/s (10^9 bytes per second).
    pub link_gbytes_per_s: f64,
}

/// The KV transfer of pipeline `i` over `stages` (deployment indices),
/// checked: two stages of one model on batching replicas with the same KV
/// cache precision (the decode stage holds the prefill stage's KV as it
/// is), and a finite positive bandwidth.
pub(super) fn resolve(
    i: usize,
    raw: &RawKvTransfer,
    stages: &[u16],
    infos: &[DeploymentInfo],
) -> Result<KvTransferSpec, FieldError> {
    let field = |f: &str| format!("pipelines[{i}].{f}");
    let &[prefill, decode] = stages else {
        return Err(FieldError::new(
            field("stages"),
            format!(
                "a pipeline with [pipelines.kv_transfer] is a disaggregated pair: exactly two stages (prefill, decode), got {}",
                stages.len()
            ),
        ));
    };
    let (p, d) = (&infos[usize::from(prefill)], &infos[usize::from(decode)]);
    if p.kv_bytes_per_token == 0 || d.kv_bytes_per_token == 0 {
        return Err(FieldError::new(
            field("stages"),
            "both stages of a disaggregated pair must serve a model (not [deployment.slots]): the KV cache is the model's",
        ));
    }
    if p.model != d.model {
        return Err(FieldError::new(
            field("stages"),
            format!(
                "the prefill stage serves {:?} and the decode stage {:?}: a disaggregated pair serves one model",
                p.model, d.model
            ),
        ));
    }
    if p.kv_bytes_per_token != d.kv_bytes_per_token {
        return Err(FieldError::new(
            field("stages"),
            format!(
                "the stages' KV caches differ ({} and {} bytes per token): give both the same engine.kv_cache_dtype",
                p.kv_bytes_per_token, d.kv_bytes_per_token
            ),
        ));
    }
    let gb = raw.link_gbytes_per_s;
    let bytes_per_s = gb * 1e9;
    if !(gb.is_finite() && bytes_per_s >= 1.0 && bytes_per_s < u64::MAX as f64) {
        return Err(FieldError::new(
            field("kv_transfer.link_gbytes_per_s"),
            format!("must be a finite number of GB/s > 0 (at least 1e-9), got {gb}"),
        ));
    }
    Ok(KvTransferSpec {
        bytes_per_token: p.kv_bytes_per_token,
        link_bytes_per_s: bytes_per_s.round() as u64,
    })
}
