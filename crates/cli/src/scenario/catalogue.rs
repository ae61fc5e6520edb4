//! GPUs and models a scenario describes (`[[gpus]]`, `[[models]]`) beside
//! the catalogue's (`docs/catalogue.md`): each figure checked against what a
//! real part could have, converted to the catalogue's units, then looked up
//! with the catalogue's entries by the deployments.

use super::raw::{RawGpu, RawModel};
use fleetsim_core::field::FieldError;
use fleetsim_core::model::hardware::{self, Attention, Generation, GpuSpec, ModelSpec};
use std::borrow::Cow;

/// Accepted tensor peaks, TFLOPS. The catalogue spans 121 (L4, BF16) to
/// 10,000 (GB200, FP4); the bounds are far outside it either way, so only a
/// slip (a unit, a digit) fails, and iterations stay within the simulated
/// clock.
const TFLOPS: (f64, f64) = (1.0, 1e6);
/// Accepted device memory, GB (catalogue: 24 to 186).
const MEMORY_GB: (f64, f64) = (1.0, 1e5);
/// Accepted memory bandwidth, TB/s (catalogue: 0.3 to 8).
const BANDWIDTH_TB_PER_S: (f64, f64) = (0.01, 1e3);
/// Accepted GPU-to-GPU bandwidth per direction, GB/s (catalogue: 32 to 900).
const INTERCONNECT_GB_PER_S: (f64, f64) = (0.1, 1e5);
/// Accepted parameter counts, billions (catalogue: 7.25 to 671): from a
/// million parameters to a hundred trillion.
const PARAMS_B: (f64, f64) = (1e-3, 1e5);

/// The catalogue with a scenario's own GPUs and models.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    gpus: Vec<GpuSpec>,
    models: Vec<ModelSpec>,
}

impl Catalogue {
    /// Checks and converts the scenario's `[[gpus]]` and `[[models]]`.
    pub fn resolve(gpus: &[RawGpu], models: &[RawModel]) -> Result<Self, FieldError> {
        let mut own = Catalogue::default();
        for (i, raw) in gpus.iter().enumerate() {
            let gpu = resolve_gpu(raw).map_err(|e| e.within(&format!("gpus[{i}]")))?;
            let earlier = own.gpus.iter().map(|g| &*g.name);
            check_name(&gpu.name, "GPU", hardware::gpu_names(), earlier)
                .map_err(|e| e.within(&format!("gpus[{i}]")))?;
            own.gpus.push(gpu);
        }
        for (i, raw) in models.iter().enumerate() {
            let model = resolve_model(raw).map_err(|e| e.within(&format!("models[{i}]")))?;
            let earlier = own.models.iter().map(|m| &*m.name);
            check_name(&model.name, "model", hardware::model_names(), earlier)
                .map_err(|e| e.within(&format!("models[{i}]")))?;
            own.models.push(model);
        }
        Ok(own)
    }

    /// The GPU named `name` (case-insensitive), from the catalogue or the
    /// scenario; the error says which names exist.
    pub fn gpu(&self, name: &str) -> Result<&GpuSpec, String> {
        hardware::gpu(name)
            .or_else(|| self.gpus.iter().find(|g| g.name.eq_ignore_ascii_case(name)))
            .ok_or_else(|| {
                let own = self.gpus.iter().map(|g| &*g.name);
                unknown("GPU", name, hardware::gpu_names(), own, "gpus")
            })
    }

    /// The model named `name` (case-insensitive), from the catalogue or the
    /// scenario; the error says which names exist.
    pub fn model(&self, name: &str) -> Result<&ModelSpec, String> {
        hardware::model(name)
            .or_else(|| {
                self.models
                    .iter()
                    .find(|m| m.name.eq_ignore_ascii_case(name))
            })
            .ok_or_else(|| {
                let own = self.models.iter().map(|m| &*m.name);
                unknown("model", name, hardware::model_names(), own, "models")
            })
    }
}

/// The message for a name neither the catalogue nor the scenario defines.
fn unknown<'a>(
    what: &str,
    name: &str,
    catalogue: Vec<&str>,
    own: impl Iterator<Item = &'a str>,
    table: &str,
) -> String {
    let own: Vec<&str> = own.collect();
    let scenario = if own.is_empty() {
        format!("describe your own in a [[{table}]] table")
    } else {
        format!("this scenario's [[{table}]] define {}", own.join(", "))
    };
    format!(
        "unknown {what} {name:?}; the catalogue has {} (docs/catalogue.md); {scenario}",
        catalogue.join(", ")
    )
}

/// A scenario's name must be new: not blank, not a catalogue entry's (a
/// deployment naming it would otherwise depend on which one wins), and not
/// one given earlier in the scenario.
fn check_name<'a>(
    name: &str,
    what: &str,
    catalogue: Vec<&str>,
    mut earlier: impl Iterator<Item = &'a str>,
) -> Result<(), FieldError> {
    if name.trim().is_empty() {
        return Err(FieldError::new(
            "name",
            format!("missing: every {what} needs a name for deployments to refer to"),
        ));
    }
    if let Some(entry) = catalogue.iter().find(|c| c.eq_ignore_ascii_case(name)) {
        return Err(FieldError::new(
            "name",
            format!(
                "{name:?} is the catalogue's {entry}: a scenario may not redefine a catalogue {what}; \
                 give yours another name"
            ),
        ));
    }
    if earlier.any(|e| e.eq_ignore_ascii_case(name)) {
        return Err(FieldError::new(
            "name",
            format!("{what} {name:?} is defined twice"),
        ));
    }
    Ok(())
}

/// `value` if it lies in `range`, else an error naming `field`, the range
/// and `unit`.
fn in_range(
    field: &str,
    value: f64,
    (min, max): (f64, f64),
    unit: &str,
) -> Result<f64, FieldError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            format!("must be a number of {unit} from {min} to {max}, got {value}"),
        ))
    }
}

fn resolve_gpu(raw: &RawGpu) -> Result<GpuSpec, FieldError> {
    let tflops = |field: &str, v: f64| in_range(field, v, TFLOPS, "TFLOPS").map(|v| v * 1e12);
    let bf16 = tflops("bf16_tflops", raw.bf16_tflops)?;
    let fp8 = raw
        .fp8_tflops
        .map(|v| tflops("fp8_tflops", v))
        .transpose()?;
    let fp4 = raw
        .fp4_tflops
        .map(|v| tflops("fp4_tflops", v))
        .transpose()?;
    if let Some(fp8_tflops) = raw.fp8_tflops.filter(|&v| v < raw.bf16_tflops) {
        return Err(FieldError::new(
            "fp8_tflops",
            format!(
                "must be at least bf16_tflops ({}), got {fp8_tflops}: FP8 tensor cores are never \
                 slower than BF16 ones (omit it for a GPU without FP8)",
                raw.bf16_tflops
            ),
        ));
    }
    if let Some(fp4_tflops) = raw.fp4_tflops {
        let Some(fp8_tflops) = raw.fp8_tflops else {
            return Err(FieldError::new(
                "fp8_tflops",
                "missing: a GPU with FP4 tensor cores has FP8 ones too; give their peak",
            ));
        };
        if fp4_tflops < fp8_tflops {
            return Err(FieldError::new(
                "fp4_tflops",
                format!("must be at least fp8_tflops ({fp8_tflops}), got {fp4_tflops}"),
            ));
        }
    }
    Ok(GpuSpec {
        name: Cow::Owned(raw.name.clone()),
        bf16_flops_per_s: bf16,
        fp8_flops_per_s: fp8,
        memory_bytes: in_range("memory_gb", raw.memory_gb, MEMORY_GB, "GB")? * 1e9,
        memory_bandwidth_bytes_per_s: in_range(
            "memory_bandwidth_tb_per_s",
            raw.memory_bandwidth_tb_per_s,
            BANDWIDTH_TB_PER_S,
            "TB/s",
        )? * 1e12,
        interconnect_bytes_per_s: in_range(
            "interconnect_gb_per_s",
            raw.interconnect_gb_per_s,
            INTERCONNECT_GB_PER_S,
            "GB/s",
        )? * 1e9,
        fp4_flops_per_s: fp4,
        link: raw.link,
        generation: raw.generation,
        // vLLM gives the A100 its small-GPU batch defaults; the A100 is the
        // only Ampere GPU with the 70 GiB that earns the large ones.
        is_a100: raw.generation == Generation::Ampere,
    })
}

/// A parameter count given in billions, as a whole number of parameters
/// (so `8.03` is exactly the catalogue's `8.03e9`).
fn params(field: &str, billions: f64) -> Result<f64, FieldError> {
    Ok((in_range(field, billions, PARAMS_B, "billion parameters")? * 1e9).round())
}

fn at_least_one(field: &str, value: u32) -> Result<u32, FieldError> {
    if value >= 1 {
        Ok(value)
    } else {
        Err(FieldError::new(field, "must be at least 1, got 0"))
    }
}

fn resolve_model(raw: &RawModel) -> Result<ModelSpec, FieldError> {
    let params_total = params("params_b", raw.params_b)?;
    let params_active = match raw.active_params_b {
        None => params_total,
        Some(active) => {
            let active_params = params("active_params_b", active)?;
            if active_params > params_total {
                return Err(FieldError::new(
                    "active_params_b",
                    format!(
                        "must be at most params_b ({}), got {active}: the parameters a token \
                         touches are part of the total",
                        raw.params_b
                    ),
                ));
            }
            active_params
        }
    };
    let layers = at_least_one("layers", raw.layers)?;
    let hidden_size = at_least_one("hidden_size", raw.hidden_size)?;
    let query_heads = at_least_one("query_heads", raw.query_heads)?;
    let head_dim = at_least_one("head_dim", raw.head_dim)?;
    let max_context_tokens = at_least_one("max_context_tokens", raw.max_context_tokens)?;
    let (attention, kv_heads) = match raw.kv_latent_dim {
        Some(latent) => {
            let latent_dim = at_least_one("kv_latent_dim", latent)?;
            if let Some(kv) = raw.kv_heads.filter(|&kv| kv != 1) {
                return Err(FieldError::new(
                    "kv_heads",
                    format!(
                        "must be 1 (or left out) with kv_latent_dim, got {kv}: under multi-head \
                         latent attention every query head reads the one cached latent \
                         (config.json's num_key_value_heads counts decompressed heads)"
                    ),
                ));
            }
            (Attention::Latent { latent_dim }, 1)
        }
        None => {
            let kv = raw.kv_heads.ok_or_else(|| {
                FieldError::new(
                    "kv_heads",
                    "missing: the key/value heads (config.json's num_key_value_heads); for \
                     multi-head latent attention give kv_latent_dim instead",
                )
            })?;
            (Attention::Grouped, at_least_one("kv_heads", kv)?)
        }
    };
    if query_heads % kv_heads != 0 {
        return Err(FieldError::new(
            "kv_heads",
            format!(
                "must divide query_heads ({query_heads}), got {kv_heads}: each KV head serves a \
                 whole group of query heads"
            ),
        ));
    }
    Ok(ModelSpec {
        name: Cow::Owned(raw.name.clone()),
        params_total,
        params_active,
        layers,
        hidden_size,
        query_heads,
        kv_heads,
        head_dim,
        max_context_tokens,
        attention,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `g` as a `[[gpus]]` entry named `name`, in a scenario's units.
    fn raw_gpu(g: &GpuSpec, name: &str) -> RawGpu {
        RawGpu {
            name: name.to_string(),
            generation: g.generation,
            link: g.link,
            bf16_tflops: g.bf16_flops_per_s / 1e12,
            fp8_tflops: g.fp8_flops_per_s.map(|f| f / 1e12),
            fp4_tflops: g.fp4_flops_per_s.map(|f| f / 1e12),
            memory_gb: g.memory_bytes / 1e9,
            memory_bandwidth_tb_per_s: g.memory_bandwidth_bytes_per_s / 1e12,
            interconnect_gb_per_s: g.interconnect_bytes_per_s / 1e9,
        }
    }

    /// `m` as a `[[models]]` entry named `name`, in a scenario's units.
    fn raw_model(m: &ModelSpec, name: &str) -> RawModel {
        let latent = match m.attention {
            Attention::Grouped => None,
            Attention::Latent { latent_dim } => Some(latent_dim),
        };
        RawModel {
            name: name.to_string(),
            params_b: m.params_total / 1e9,
            active_params_b: Some(m.params_active / 1e9),
            layers: m.layers,
            hidden_size: m.hidden_size,
            query_heads: m.query_heads,
            kv_heads: Some(m.kv_heads),
            head_dim: m.head_dim,
            max_context_tokens: m.max_context_tokens,
            kv_latent_dim: latent,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs()
    }

    fn close_opt(a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => close(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }

    #[test]
    fn every_catalogue_entry_passes_as_a_scenario_entry() {
        // The checks accept every real part, and the units convert back.
        let gpus: Vec<RawGpu> = hardware::GPUS
            .iter()
            .map(|g| raw_gpu(g, &format!("own-{}", g.name)))
            .collect();
        let models: Vec<RawModel> = hardware::MODELS
            .iter()
            .map(|m| raw_model(m, &format!("own-{}", m.name)))
            .collect();
        let own = Catalogue::resolve(&gpus, &models).unwrap();
        for g in hardware::GPUS {
            let o = own.gpu(&format!("own-{}", g.name)).unwrap();
            let name = &g.name;
            assert!(close(o.bf16_flops_per_s, g.bf16_flops_per_s), "{name}");
            assert!(close_opt(o.fp8_flops_per_s, g.fp8_flops_per_s), "{name}");
            assert!(close_opt(o.fp4_flops_per_s, g.fp4_flops_per_s), "{name}");
            assert!(close(o.memory_bytes, g.memory_bytes), "{name}");
            let bandwidth = o.memory_bandwidth_bytes_per_s;
            assert!(close(bandwidth, g.memory_bandwidth_bytes_per_s), "{name}");
            assert!(
                close(o.interconnect_bytes_per_s, g.interconnect_bytes_per_s),
                "{name}"
            );
            assert_eq!((o.link, o.generation), (g.link, g.generation), "{name}");
            assert_eq!(o.is_a100, g.is_a100, "{name}: vLLM's A100 defaults");
        }
        for m in hardware::MODELS {
            let o = own.model(&format!("own-{}", m.name)).unwrap();
            let name = &m.name;
            assert!(close(o.params_total, m.params_total), "{name}");
            assert!(close(o.params_active, m.params_active), "{name}");
            let shape = |m: &ModelSpec| {
                (
                    m.layers,
                    m.hidden_size,
                    m.query_heads,
                    m.kv_heads,
                    m.head_dim,
                    m.max_context_tokens,
                    m.attention,
                )
            };
            assert_eq!(shape(o), shape(m), "{name}");
        }
    }

    #[test]
    fn parameters_in_billions_are_whole_parameters() {
        // 8.03 × 10⁹ in floating point is 8,029,999,999.999999: rounding to
        // whole parameters gives the catalogue's figure to the bit.
        assert_ne!((8.03_f64 * 1e9).to_bits(), 8.03e9_f64.to_bits());
        for (billions, exact) in [(8.03, 8.03e9), (33.7, 33.7e9), (70.6, 70.6e9), (0.5, 5e8)] {
            let p = params("params_b", billions).unwrap();
            assert_eq!(p.to_bits(), f64::to_bits(exact), "{billions}");
        }
    }

    #[test]
    fn lookups_fold_case_and_unknown_names_list_both_sources() {
        let h100 = hardware::gpu("h100-sxm").unwrap();
        let own = Catalogue::resolve(&[raw_gpu(h100, "My-GPU")], &[]).unwrap();
        assert_eq!(own.gpu("my-gpu").map(|g| &*g.name), Ok("My-GPU"));
        assert_eq!(own.gpu("H100-SXM").map(|g| &*g.name), Ok("h100-sxm"));
        let e = own.gpu("h900").unwrap_err();
        for fragment in [
            "\"h900\"",
            "h100-sxm",
            "gb200",
            "this scenario's [[gpus]] define My-GPU",
        ] {
            assert!(e.contains(fragment), "{fragment:?} in {e}");
        }
        let e = own.model("llama-9").unwrap_err();
        for fragment in [
            "llama-3.1-8b",
            "deepseek-r1",
            "describe your own in a [[models]] table",
        ] {
            assert!(e.contains(fragment), "{fragment:?} in {e}");
        }
    }

    #[test]
    fn a_latent_model_has_one_kv_head() {
        let v3 = hardware::model("deepseek-v3").unwrap();
        let mut raw = raw_model(v3, "my-mla");
        raw.kv_heads = None;
        let own = Catalogue::resolve(&[], &[raw.clone()]).unwrap();
        let m = own.model("my-mla").unwrap();
        assert_eq!(
            (m.kv_heads, m.attention),
            (1, Attention::Latent { latent_dim: 576 })
        );
        let kv = m.kv_bytes_per_token(2.0);
        assert!((kv - 70_272.0).abs() < 0.5, "{kv}");
        // config.json's 128 "KV heads" are the decompressed ones.
        raw.kv_heads = Some(128);
        let e = Catalogue::resolve(&[], &[raw]).unwrap_err();
        assert_eq!(e.field, "models[0].kv_heads");
    }
}
