//! The serving pods: a Deployment's (or a Knative Service's or an
//! InferenceService's predictor's) vLLM container — the model from `vllm
//! serve MODEL` or `--model`, the engine flags, the `nvidia.com/gpu`
//! request — and the GPU type from the node selector, mapped to
//! `[deployment]` and `[deployment.engine]` with catalogue names.

use super::yaml::{Doc, Here};
use super::{ImportOptions, K8sError, Out};
use fleetsim_core::model::hardware;

/// Node labels that name the GPU type, in the order they are tried:
/// NVIDIA GPU feature discovery, GKE, Karpenter on AWS.
pub const GPU_LABELS: [&str; 3] = [
    "nvidia.com/gpu.product",
    "cloud.google.com/gke-accelerator",
    "karpenter.k8s.aws/instance-gpu-name",
];

/// The GPU feature discovery product label of each catalogue GPU (what
/// export writes; import also reads GKE and Karpenter spellings).
pub const GPU_PRODUCTS: [(&str, &str); 8] = [
    ("h100-sxm", "NVIDIA-H100-80GB-HBM3"),
    ("h200", "NVIDIA-H200"),
    ("a100-80gb", "NVIDIA-A100-SXM4-80GB"),
    ("l40s", "NVIDIA-L40S"),
    ("l4", "NVIDIA-L4"),
    ("b200", "NVIDIA-B200"),
    ("gh200", "NVIDIA-GH200-480GB"),
    ("gb200", "NVIDIA-GB200"),
];

/// The Hugging Face repository export names for a catalogue model
/// (import maps these, and any `<org>/<catalogue name>-Instruct`-like id,
/// back); models not listed are exported under their catalogue name.
pub const MODEL_IDS: [(&str, &str); 8] = [
    ("llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct"),
    ("llama-3.1-70b", "meta-llama/Llama-3.1-70B-Instruct"),
    ("llama-3.3-70b", "meta-llama/Llama-3.3-70B-Instruct"),
    ("qwen2.5-7b", "Qwen/Qwen2.5-7B-Instruct"),
    ("qwen2.5-32b", "Qwen/Qwen2.5-32B-Instruct"),
    ("qwen2.5-72b", "Qwen/Qwen2.5-72B-Instruct"),
    ("mistral-7b", "mistralai/Mistral-7B-Instruct-v0.3"),
    ("mixtral-8x7b", "mistralai/Mixtral-8x7B-Instruct-v0.1"),
];

/// The catalogue GPU a node label value names, if any.
pub fn gpu_from_label(value: &str) -> Option<&'static str> {
    if let Some(g) = hardware::gpu(value) {
        return GPU_PRODUCTS.iter().map(|(n, _)| *n).find(|n| *n == g.name);
    }
    let lower = value.to_ascii_lowercase();
    let tokens: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    let has = |t: &str| tokens.contains(&t);
    Some(if has("gb200") {
        "gb200"
    } else if has("gh200") {
        "gh200"
    } else if has("b200") {
        "b200"
    } else if has("h200") {
        "h200"
    } else if has("h100") && !has("pcie") && !has("nvl") {
        "h100-sxm"
    } else if has("a100") && has("80gb") {
        "a100-80gb"
    } else if has("l40s") {
        "l40s"
    } else if has("l4") {
        "l4"
    } else {
        return None;
    })
}

/// Suffixes of a model id that leave the architecture as it is.
const MODEL_SUFFIXES: [&str; 8] = ["instruct", "chat", "hf", "it", "base", "v0", "v0.1", "v0.2"];

/// The catalogue model a model id (`meta-llama/Llama-3.1-8B-Instruct`,
/// `llama-3.1-8b`) names, if any.
pub fn model_from_id(id: &str) -> Option<&'static str> {
    let base = id
        .trim_end_matches('/')
        .rsplit('/')
        .next()?
        .to_ascii_lowercase();
    let base = base.strip_prefix("meta-").unwrap_or(&base);
    let names = hardware::model_names();
    let mut best: Option<&'static str> = None;
    for name in names {
        let Some(rest) = base.strip_prefix(name) else {
            continue;
        };
        let ok = rest.is_empty()
            || (rest.starts_with('-')
                && rest[1..]
                    .split('-')
                    .all(|t| MODEL_SUFFIXES.contains(&t) || t.starts_with("v0.")));
        if ok && best.is_none_or(|b| name.len() > b.len()) {
            best = Some(name);
        }
    }
    best
}

/// The model id export writes for a catalogue model.
pub fn model_id(model: &str) -> &str {
    (MODEL_IDS.iter().find(|(n, _)| *n == model)).map_or(model, |(_, id)| id)
}

/// `[deployment]` when no manifest has the pods: `--model` and `--gpu`
/// are required.
pub fn map_without_server(out: &mut Out, options: &ImportOptions) -> Result<(), K8sError> {
    let (Some(model), Some(gpu)) = (&options.model, &options.gpu) else {
        return Err(K8sError::Missing(
            "no Deployment, Knative Service or InferenceService among the manifests: \
             pass --model and --gpu (catalogue names) for the pods the autoscaler scales"
                .into(),
        ));
    };
    let model = catalogue_model(model)?;
    let gpu = catalogue_gpu(gpu)?;
    out.set("deployment", "model", model, "from --model".into());
    out.set("deployment", "gpu", gpu, "from --gpu".into());
    out.set(
        "deployment",
        "tensor_parallel",
        1,
        "no manifest: vLLM's default".into(),
    );
    out.set(
        "deployment",
        "replicas",
        1,
        "no manifest: Kubernetes' default".into(),
    );
    Ok(())
}

fn catalogue_model(name: &str) -> Result<&'static str, K8sError> {
    (hardware::model(name).map(|m| &*m.name))
        .and_then(|n| hardware::model_names().into_iter().find(|m| *m == n))
        .ok_or_else(|| {
            K8sError::Missing(format!(
                "--model {name}: not a catalogue model; allowed: {}",
                hardware::model_names().join(", ")
            ))
        })
}

fn catalogue_gpu(name: &str) -> Result<&'static str, K8sError> {
    (hardware::gpu(name).map(|g| &*g.name))
        .and_then(|n| hardware::gpu_names().into_iter().find(|g| *g == n))
        .ok_or_else(|| {
            K8sError::Missing(format!(
                "--gpu {name}: not a catalogue GPU; allowed: {}",
                hardware::gpu_names().join(", ")
            ))
        })
}

/// `[deployment]` from the object running the pods.
pub fn map(doc: &Doc, out: &mut Out, options: &ImportOptions) -> Result<(), K8sError> {
    let root = doc.root();
    let kind = (root.get("kind").and_then(|k| k.text().ok())).unwrap_or("");
    let (pod, containers) = match kind {
        "Deployment" => {
            match root.at(&["spec", "replicas"]) {
                Some(r) => {
                    let n = r.u32_in(0..=100_000)?;
                    out.from("deployment", "replicas", i64::from(n), &r);
                }
                None => out.set(
                    "deployment",
                    "replicas",
                    1,
                    "Kubernetes' default (spec.replicas not set)".into(),
                ),
            }
            let pod = root.at(&["spec", "template", "spec"]);
            let pod = pod.ok_or_else(|| root.error("a Deployment needs spec.template.spec"))?;
            let containers = pod.get("containers").map(|c| c.items()).transpose()?;
            (pod, containers.unwrap_or_default())
        }
        "Service" => {
            let pod = root.at(&["spec", "template", "spec"]);
            let pod =
                pod.ok_or_else(|| root.error("a Knative Service needs spec.template.spec"))?;
            let containers = pod.get("containers").map(|c| c.items()).transpose()?;
            (pod, containers.unwrap_or_default())
        }
        _ => {
            let predictor = (root.at(&["spec", "predictor"]))
                .ok_or_else(|| root.error("an InferenceService needs spec.predictor"))?;
            let containers = match (predictor.get("model"), predictor.get("containers")) {
                (Some(model), _) => vec![model],
                (None, Some(c)) => c.items()?,
                (None, None) => {
                    return Err(predictor.error("expected spec.predictor.model or .containers"))
                }
            };
            (predictor, containers)
        }
    };
    let container = vllm_container(&pod, &containers)?;
    let args = Args::of(&container)?;
    let tp = match args.value(&["--tensor-parallel-size", "-tp"]) {
        Some((v, here)) => {
            let tp = parse_arg::<u32>(&v, &here, "--tensor-parallel-size", "a whole number >= 1")?;
            out.set(
                "deployment",
                "tensor_parallel",
                i64::from(tp),
                args.note(&here, "--tensor-parallel-size"),
            );
            tp
        }
        None => {
            out.set(
                "deployment",
                "tensor_parallel",
                1,
                "vLLM's default (no --tensor-parallel-size)".into(),
            );
            1
        }
    };
    map_model(&container, &args, out, options)?;
    map_gpu(&pod, &container, tp, out, options)?;
    map_engine(&args, out)?;
    args.list_unmapped(out);
    Ok(())
}

/// The container running vLLM: its image or command names vLLM (KServe's
/// Hugging Face runtime runs vLLM too).
fn vllm_container<'a>(pod: &Here<'a>, containers: &[Here<'a>]) -> Result<Here<'a>, K8sError> {
    let is_vllm = |c: &Here<'a>| {
        let text = |k: &str| c.get(k).map(|h| flatten(h.node)).unwrap_or_default();
        let all = format!("{} {} {}", text("image"), text("command"), text("args"));
        all.contains("vllm") || c.get("modelFormat").is_some()
    };
    let found: Vec<&Here<'a>> = containers.iter().filter(|c| is_vllm(c)).collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(pod.error(
            "no vLLM container: expected a container whose image or command names vllm \
             (`vllm serve MODEL`, `python -m vllm.entrypoints.openai.api_server --model MODEL`)",
        )),
        [_, second, ..] => Err(second.error("a second vLLM container; a replica runs one engine")),
    }
}

/// A node's scalars joined by spaces, without marking them read.
fn flatten(node: &super::yaml::Node) -> String {
    use super::yaml::NodeKind;
    match &node.kind {
        NodeKind::Scalar { text, .. } => text.clone(),
        NodeKind::Seq(items) => items.iter().map(flatten).collect::<Vec<_>>().join(" "),
        NodeKind::Map(_) => String::new(),
    }
}

/// The container's command line, each word with the node it is in.
struct Args<'a> {
    /// Each word with its flag name normalised ([`flag_name`]).
    words: Vec<(String, Here<'a>)>,
    /// Each word as written.
    raw: Vec<String>,
    used: std::cell::RefCell<Vec<bool>>,
}

/// Flags that take no value.
const SWITCHES: [&str; 10] = [
    "--enable-prefix-caching",
    "--no-enable-prefix-caching",
    "--enable-chunked-prefill",
    "--no-enable-chunked-prefill",
    "--trust-remote-code",
    "--enforce-eager",
    "--disable-log-requests",
    "--disable-log-stats",
    "--enable-lora",
    "--enable-auto-tool-choice",
];

impl<'a> Args<'a> {
    fn of(container: &Here<'a>) -> Result<Self, K8sError> {
        let mut words = Vec::new();
        for key in ["command", "args"] {
            let Some(list) = container.get(key) else {
                continue;
            };
            for item in list.items()? {
                let text = item.text()?;
                if text.contains(char::is_whitespace) {
                    // `sh -c "vllm serve ..."`: the script's words.
                    words.extend(shell_words(text).into_iter().map(|w| (w, item.clone())));
                } else {
                    words.push((text.to_string(), item));
                }
            }
        }
        // KServe's storageUri names the model for its runtime.
        if let Some(uri) = container.get("storageUri") {
            if let Some(id) = uri.text()?.strip_prefix("hf://") {
                words.push(("--model-id".into(), uri.clone()));
                words.push((id.to_string(), uri));
            }
        }
        let n = words.len();
        let raw = words.iter().map(|(w, _)| w.clone()).collect();
        let words = (words.into_iter())
            .map(|(w, h)| (flag_name(&w), h))
            .collect();
        Ok(Args {
            words,
            raw,
            used: std::cell::RefCell::new(vec![false; n]),
        })
    }

    /// The value of the first of `flags` present (`--flag v` or
    /// `--flag=v`), marked used.
    fn value(&self, flags: &[&str]) -> Option<(String, Here<'a>)> {
        for (i, (w, here)) in self.words.iter().enumerate() {
            let (name, inline) = match w.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (w.as_str(), None),
            };
            if !flags.contains(&name) {
                continue;
            }
            let mut used = self.used.borrow_mut();
            used[i] = true;
            if let Some(v) = inline {
                return Some((v.to_string(), here.clone()));
            }
            let next = self.words.get(i + 1)?;
            used[i + 1] = true;
            return Some((next.0.clone(), here.clone()));
        }
        None
    }

    /// Whether the switch is present, marked used.
    fn switch(&self, flag: &str) -> Option<Here<'a>> {
        let i = self.words.iter().position(|(w, _)| w == flag)?;
        self.used.borrow_mut()[i] = true;
        Some(self.words[i].1.clone())
    }

    /// The model of `vllm serve MODEL`, marked used.
    fn serve_model(&self) -> Option<(String, Here<'a>)> {
        let i =
            (self.words.windows(2)).position(|w| w[0].0.ends_with("vllm") && w[1].0 == "serve")?;
        let (model, here) = self.words.get(i + 2)?;
        if model.starts_with('-') {
            return None;
        }
        self.used.borrow_mut()[i + 2] = true;
        Some((model.clone(), here.clone()))
    }

    fn note(&self, here: &Here<'_>, flag: &str) -> String {
        format!("from {} `{flag}`", here.origin())
    }

    /// Every flag not used, with its value, as unmapped; the program and
    /// subcommand words are the invocation itself.
    fn list_unmapped(&self, out: &mut Out) {
        let used = self.used.borrow();
        // Words before the first naming vLLM start it (`/bin/sh -c`).
        let start =
            (self.words.iter()).position(|(w, _)| w.contains("vllm") || w.starts_with("--"));
        let mut i = start.unwrap_or(0);
        for (_, here) in &self.words[..i] {
            here.node.consume();
        }
        while i < self.words.len() {
            let (w, here) = &self.words[i];
            here.node.consume();
            if used[i] || !w.starts_with('-') {
                i += 1;
                continue;
            }
            let mut shown = self.raw[i].clone();
            let takes_value = !w.contains('=') && !SWITCHES.contains(&w.as_str());
            if let Some((next, _)) = self.words.get(i + 1).filter(|_| takes_value) {
                if !next.starts_with('-') {
                    shown = format!("{shown} {next}");
                    i += 1;
                }
            }
            out.unmapped.push(super::Unmapped {
                origin: here.origin(),
                reason: format!("vLLM argument `{shown}` is not modelled"),
            });
            i += 1;
        }
    }
}

/// A flag with `-` for `_` in its name (vLLM and KServe's runtime read
/// both spellings), its `=value` as written; other words as they are.
fn flag_name(word: &str) -> String {
    if !word.starts_with("--") {
        return word.to_string();
    }
    match word.split_once('=') {
        Some((name, value)) => format!("{}={value}", name.replace('_', "-")),
        None => word.replace('_', "-"),
    }
}

/// Words of a shell command line: whitespace-separated, quotes removed,
/// line continuations dropped.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {}
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

fn parse_arg<T: std::str::FromStr>(
    value: &str,
    here: &Here<'_>,
    flag: &str,
    allowed: &str,
) -> Result<T, K8sError> {
    value
        .parse::<T>()
        .map_err(|_| here.error(format!("`{flag} {value}` is not allowed: {allowed}")))
}

fn map_model(
    container: &Here<'_>,
    args: &Args<'_>,
    out: &mut Out,
    options: &ImportOptions,
) -> Result<(), K8sError> {
    let found = (args.serve_model()).or_else(|| args.value(&["--model", "--model-id"]));
    let Some((id, here)) = found else {
        return match &options.model {
            Some(m) => {
                let m = catalogue_model(m)?;
                out.set("deployment", "model", m, "from --model".into());
                Ok(())
            }
            None => Err(container.error(
                "no model: expected `vllm serve MODEL`, `--model MODEL` or `--model_id MODEL`, \
                 or pass --model with a catalogue name",
            )),
        };
    };
    if let Some(m) = &options.model {
        let m = catalogue_model(m)?;
        let note = format!(
            "from --model (the manifest's {} names `{id}`)",
            here.origin()
        );
        out.set("deployment", "model", m, note);
        return Ok(());
    }
    match model_from_id(&id) {
        Some(m) => {
            out.set(
                "deployment",
                "model",
                m,
                format!("from {} `{id}`", here.origin()),
            );
            Ok(())
        }
        None => Err(here.error(format!(
            "model `{id}` is not in the catalogue; pass --model with one of: {} \
             (or describe it in a [[models]] table)",
            hardware::model_names().join(", ")
        ))),
    }
}

fn map_gpu(
    pod: &Here<'_>,
    container: &Here<'_>,
    tp: u32,
    out: &mut Out,
    options: &ImportOptions,
) -> Result<(), K8sError> {
    let resources = container.get("resources");
    let gpus = (resources.as_ref()).and_then(|r| {
        r.at(&["limits", "nvidia.com/gpu"])
            .or_else(|| r.at(&["requests", "nvidia.com/gpu"]))
    });
    match gpus {
        None => {
            let at = resources.unwrap_or_else(|| container.clone());
            return Err(at.error(
                "no `nvidia.com/gpu` in resources.limits or resources.requests: \
                 the simulator models GPU replicas",
            ));
        }
        Some(g) => {
            let n = g.u32_in(1..=64)?;
            if n < tp {
                return Err(g.error(format!(
                    "{n} GPU(s) for --tensor-parallel-size {tp}: a replica needs at least {tp}"
                )));
            }
            if n > tp {
                out.unmapped.push(super::Unmapped {
                    origin: g.origin(),
                    reason: format!(
                        "{n} GPUs for tensor parallel {tp}: the extra GPUs are not modelled"
                    ),
                });
            }
        }
    }
    // The other request of the same resource (requests beside limits).
    if let Some(r) = &resources {
        for k in ["limits", "requests"] {
            if let Some(g) = r.at(&[k, "nvidia.com/gpu"]) {
                g.node.consume();
            }
        }
    }
    let mut label = None;
    if let Some(sel) = pod.get("nodeSelector") {
        for key in GPU_LABELS {
            if let Some(v) = sel.get(key) {
                label = Some(v);
                break;
            }
        }
    }
    if let Some(gpu) = &options.gpu {
        let gpu = catalogue_gpu(gpu)?;
        let note = match &label {
            Some(l) => format!(
                "from --gpu (the manifest's {} says `{}`)",
                l.origin(),
                l.text()?
            ),
            None => "from --gpu".into(),
        };
        out.set("deployment", "gpu", gpu, note);
        return Ok(());
    }
    let Some(label) = label else {
        return Err(K8sError::Missing(format!(
            "{}: no GPU type: the pod's nodeSelector has none of {}; pass --gpu with one of: {}",
            pod.origin(),
            GPU_LABELS.join(", "),
            hardware::gpu_names().join(", ")
        )));
    };
    let value = label.text()?;
    match gpu_from_label(value) {
        Some(gpu) => {
            out.set(
                "deployment",
                "gpu",
                gpu,
                format!("from {} `{value}`", label.origin()),
            );
            Ok(())
        }
        None => Err(label.error(format!(
            "GPU `{value}` is not in the catalogue; pass --gpu with one of: {}",
            hardware::gpu_names().join(", ")
        ))),
    }
}

fn map_engine(args: &Args<'_>, out: &mut Out) -> Result<(), K8sError> {
    const T: &str = "deployment.engine";
    let whole = "a whole number >= 1";
    for (flag, key) in [
        ("--max-num-seqs", "max_num_seqs"),
        ("--max-num-batched-tokens", "max_num_batched_tokens"),
        ("--max-model-len", "max_model_len_tokens"),
        ("--block-size", "block_size_tokens"),
    ] {
        if let Some((v, here)) = args.value(&[flag]) {
            let n = parse_arg::<u32>(&v, &here, flag, whole)?;
            out.set(T, key, i64::from(n), args.note(&here, flag));
        }
    }
    let flag = "--gpu-memory-utilization";
    if let Some((v, here)) = args.value(&[flag]) {
        let f = parse_arg::<f64>(&v, &here, flag, "a fraction in (0, 1]")?;
        if !(f > 0.0 && f <= 1.0) {
            return Err(here.error(format!("`{flag} {v}` is not allowed: a fraction in (0, 1]")));
        }
        out.set(T, "gpu_memory_utilization", f, args.note(&here, flag));
    }
    let flag = "--kv-cache-dtype";
    if let Some((v, here)) = args.value(&[flag]) {
        let dtype = match v.as_str() {
            "auto" => "auto",
            v if v.starts_with("fp8") => "fp8",
            "bfloat16" | "bf16" => "bf16",
            _ => {
                return Err(here.error(format!(
                    "`{flag} {v}` is not allowed: auto, fp8 (fp8_e4m3, fp8_e5m2) or bfloat16"
                )))
            }
        };
        out.set(T, "kv_cache_dtype", dtype, args.note(&here, flag));
    }
    let flag = "--quantization";
    if let Some((v, here)) = args.value(&[flag, "-q"]) {
        if v == "fp8" {
            out.set(T, "weights_dtype", "fp8", args.note(&here, flag));
        } else {
            out.unmapped.push(super::Unmapped {
                origin: here.origin(),
                reason: format!(
                    "`{flag} {v}`: the catalogue models bf16, fp8 and fp4 weights only"
                ),
            });
        }
    }
    for (flag, key, value) in [
        (
            "--enable-prefix-caching",
            "prefix_caching",
            toml_edit::Value::from(true),
        ),
        ("--no-enable-prefix-caching", "prefix_caching", false.into()),
        ("--enable-chunked-prefill", "prefill", "chunked".into()),
        (
            "--no-enable-chunked-prefill",
            "prefill",
            "whole_prompt".into(),
        ),
    ] {
        if let Some(here) = args.switch(flag) {
            out.set(T, key, value, args.note(&here, flag));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn model_ids_map_to_the_catalogue() {
        assert_eq!(
            model_from_id("meta-llama/Llama-3.1-8B-Instruct"),
            Some("llama-3.1-8b")
        );
        assert_eq!(
            model_from_id("meta-llama/Meta-Llama-3.1-70B-Instruct"),
            Some("llama-3.1-70b")
        );
        assert_eq!(
            model_from_id("mistralai/Mistral-7B-Instruct-v0.3"),
            Some("mistral-7b")
        );
        assert_eq!(
            model_from_id("Qwen/Qwen2.5-7B-Instruct"),
            Some("qwen2.5-7b")
        );
        assert_eq!(
            model_from_id("deepseek-ai/DeepSeek-R1-Distill-Llama-8B"),
            None
        );
        assert_eq!(model_from_id("facebook/opt-125m"), None);
        for (name, id) in MODEL_IDS {
            assert_eq!(model_from_id(id), Some(name), "{id}");
        }
    }

    #[test]
    fn gpu_labels_map_to_the_catalogue() {
        assert_eq!(gpu_from_label("NVIDIA-H100-80GB-HBM3"), Some("h100-sxm"));
        assert_eq!(gpu_from_label("nvidia-h100-80gb"), Some("h100-sxm"));
        assert_eq!(gpu_from_label("NVIDIA-H100-PCIe"), None);
        assert_eq!(gpu_from_label("nvidia-tesla-a100"), None);
        assert_eq!(gpu_from_label("nvidia-l4"), Some("l4"));
        assert_eq!(gpu_from_label("NVIDIA-L40S"), Some("l40s"));
        for (name, label) in GPU_PRODUCTS {
            assert_eq!(gpu_from_label(label), Some(name), "{label}");
        }
    }

    #[test]
    fn shell_words_keep_quoted_words() {
        let w = shell_words("vllm serve m \\\n  --x 'a b' --y=\"c\"");
        assert_eq!(w, ["vllm", "serve", "m", "--x", "a b", "--y=c"]);
    }
}
