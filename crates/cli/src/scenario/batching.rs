//! `[deployment.engine] batching`: how a replica forms its batches
//! (continuous, Triton-style dynamic, or static), and the keys each mode
//! takes. A key of another mode is an error, not ignored.

use super::*;
use fleetsim_core::replica::batching::BatchForming;

/// The scenario's `batching` values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchingMode {
    /// New sequences join every iteration (vLLM, TensorRT-LLM).
    #[default]
    Continuous,
    /// Triton's dynamic batcher: preferred sizes, a bounded queue delay.
    Dynamic,
    /// A full batch of `batch_size`, or a partial one after `max_batch_wait_s`.
    Static,
}

impl BatchingMode {
    fn name(self) -> &'static str {
        match self {
            BatchingMode::Continuous => "continuous",
            BatchingMode::Dynamic => "dynamic",
            BatchingMode::Static => "static",
        }
    }
}

fn field(key: &str) -> String {
    format!("deployment.engine.{key}")
}

/// A duration key's value: finite and ≥ 0, in `unit_s` seconds.
fn duration(key: &str, value: f64, unit_s: f64, unit: &str) -> Result<SimDuration, FieldError> {
    SimDuration::try_from_secs_f64(value * unit_s)
        .filter(|_| value.is_finite() && value >= 0.0)
        .ok_or_else(|| {
            FieldError::new(
                field(key),
                format!("must be a finite number of {unit} ≥ 0, got {value}"),
            )
        })
}

/// A batch size: between 1 and `max_num_seqs`, the engine's largest batch.
fn batch_size(key: &str, size: u32, max_num_seqs: u32) -> Result<u32, FieldError> {
    if (1..=max_num_seqs).contains(&size) {
        Ok(size)
    } else {
        Err(FieldError::new(
            field(key),
            format!(
                "batch sizes must be between 1 and max_num_seqs ({max_num_seqs}), got {size}; \
                 raise max_num_seqs for larger batches"
            ),
        ))
    }
}

/// The batch-forming rule of `e`, checked against `max_num_seqs`.
pub(super) fn batch_forming(
    e: &raw::RawEngine,
    max_num_seqs: u32,
) -> Result<BatchForming, FieldError> {
    let mode = e.batching.unwrap_or_default();
    let keys: [(&str, bool, BatchingMode); 4] = [
        (
            "preferred_batch_sizes",
            e.preferred_batch_sizes.is_some(),
            BatchingMode::Dynamic,
        ),
        (
            "max_queue_delay_ms",
            e.max_queue_delay_ms.is_some(),
            BatchingMode::Dynamic,
        ),
        ("batch_size", e.batch_size.is_some(), BatchingMode::Static),
        (
            "max_batch_wait_s",
            e.max_batch_wait_s.is_some(),
            BatchingMode::Static,
        ),
    ];
    if let Some((key, _, owner)) = keys.iter().find(|(_, set, owner)| *set && *owner != mode) {
        return Err(FieldError::new(
            field(key),
            format!(
                "applies only to batching = \"{}\"; this deployment has batching = \"{}\"",
                owner.name(),
                mode.name()
            ),
        ));
    }
    let missing = |key: &str, what: &str| {
        FieldError::new(
            field("batching"),
            format!("batching = \"{}\" needs {key} ({what})", mode.name()),
        )
    };
    match mode {
        BatchingMode::Continuous => Ok(BatchForming::Continuous),
        BatchingMode::Dynamic => {
            let ms = e.max_queue_delay_ms.ok_or_else(|| {
                missing(
                    "max_queue_delay_ms",
                    "the longest a request waits for its batch to grow, ms",
                )
            })?;
            let sizes = e.preferred_batch_sizes.clone().unwrap_or_default();
            for (i, &size) in sizes.iter().enumerate() {
                batch_size("preferred_batch_sizes", size, max_num_seqs)?;
                if i > 0 && size <= sizes[i - 1] {
                    return Err(FieldError::new(
                        field("preferred_batch_sizes"),
                        format!("must be increasing, got {size} after {}", sizes[i - 1]),
                    ));
                }
            }
            Ok(BatchForming::Dynamic {
                preferred_batch_sizes: sizes,
                max_queue_delay: duration("max_queue_delay_ms", ms, 1e-3, "ms")?,
            })
        }
        BatchingMode::Static => {
            let size = e
                .batch_size
                .ok_or_else(|| missing("batch_size", "sequences per batch"))?;
            let wait_s = e.max_batch_wait_s.ok_or_else(|| {
                missing(
                    "max_batch_wait_s",
                    "the longest a request waits for a full batch before a partial one runs, s",
                )
            })?;
            Ok(BatchForming::Static {
                batch_size: batch_size("batch_size", size, max_num_seqs)?,
                max_batch_wait: duration("max_batch_wait_s", wait_s, 1.0, "s")?,
            })
        }
    }
}
