//! Serving stacks beside plain Kubernetes objects (`fleetsim export
//! --stack`): values for llm-d's `llm-d-modelservice` Helm chart and an
//! NVIDIA Dynamo `DynamoGraphDeployment`, written from the same vLLM
//! settings as the Deployment export.
//!
//! llm-d: the chart's `vllmServe` command adds the model, the port and
//! `--tensor-parallel-size` from `decode.parallelism.tensor`, and requests
//! that many GPUs (`llm-d-modelservice/templates/_helpers.tpl`), so the
//! container carries only the engine flags. Its decode Deployment is named
//! `<fullname>-decode`; the values set `fullnameOverride` to the scenario's
//! name so that an exported HPA or ScaledObject can aim at it.
//!
//! Dynamo: a `Frontend` service and a vLLM worker (`python3 -m
//! dynamo.vllm` with vLLM's flags, `resources.limits.gpu`), as in Dynamo's
//! `examples/backends/vllm/deploy/agg.yaml`. Dynamo scales workers with
//! its own planner, which no scenario kind describes, so a scenario's
//! autoscaler is listed as not exported.

use super::deployment::GPU_LABELS;
use super::export::{emit, s, ymap, Exporter, Stack};
use super::K8sError;
use toml::Table;
use yaml_rust2::Yaml;

/// llm-d's vLLM image (the header asks to pin a release).
const LLMD_IMAGE: &str = "ghcr.io/llm-d/llm-d-cuda:latest";

/// Dynamo's vLLM runtime image (the header asks to pin a release).
const DYNAMO_IMAGE: &str = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:latest";

impl Exporter<'_> {
    /// The files of `stack` (not [`Stack::Kubernetes`]) for one deployment.
    pub(super) fn stack_files(
        &mut self,
        stack: Stack,
        dep: &Table,
        scaling: &Table,
        kind: &str,
        replicas: i64,
        gpu_label: Option<String>,
    ) -> Result<Vec<(String, String)>, K8sError> {
        match stack {
            Stack::Kubernetes => Ok(Vec::new()),
            Stack::LlmD => self.llmd_files(dep, scaling, kind, replicas, gpu_label),
            Stack::Dynamo => self.dynamo_files(dep, kind, replicas, gpu_label),
        }
    }

    fn llmd_files(
        &mut self,
        dep: &Table,
        scaling: &Table,
        kind: &str,
        replicas: i64,
        gpu_label: Option<String>,
    ) -> Result<Vec<(String, String)>, K8sError> {
        if kind == "kpa" {
            return Err(self.error(
                &["scaling", "kind"],
                "`kpa` is Knative's autoscaler; llm-d serves from its own Deployments: \
                 export it with --stack kubernetes, or scale with `hpa` or `keda`",
            ));
        }
        self.image = LLMD_IMAGE;
        self.target = format!("{}-decode", self.name);
        let engine = self.vllm_args(dep)?;
        let mut decode = vec![
            ("create", Yaml::Boolean(true)),
            ("replicas", Yaml::Integer(replicas)),
            (
                "parallelism",
                ymap(vec![("tensor", Yaml::Integer(engine.tensor_parallel))]),
            ),
        ];
        if let Some(label) = gpu_label {
            decode.push((
                "acceleratorTypes",
                ymap(vec![
                    ("labelKey", s(GPU_LABELS[0])),
                    ("labelValues", Yaml::Array(vec![s(&label)])),
                ]),
            ));
        }
        decode.push((
            "containers",
            Yaml::Array(vec![ymap(vec![
                ("name", s("vllm")),
                ("image", s(self.image)),
                ("modelCommand", s("vllmServe")),
                ("args", Yaml::Array(engine.flags)),
                ("mountModelVolume", Yaml::Boolean(true)),
            ])]),
        ));
        let values = ymap(vec![
            ("fullnameOverride", s(self.name)),
            (
                "modelArtifacts",
                ymap(vec![
                    ("name", s(&engine.model_id)),
                    ("uri", s(&format!("hf://{}", engine.model_id))),
                ]),
            ),
            ("decode", ymap(decode)),
            ("prefill", ymap(vec![("create", Yaml::Boolean(false))])),
        ]);
        let mut files = vec![("llm-d-values.yaml".to_string(), emit(&[values]))];
        files.extend(self.autoscaler_file(scaling, kind)?);
        Ok(files)
    }

    fn dynamo_files(
        &mut self,
        dep: &Table,
        kind: &str,
        replicas: i64,
        gpu_label: Option<String>,
    ) -> Result<Vec<(String, String)>, K8sError> {
        if kind != "fixed" {
            self.skip(
                "scaling.kind",
                "Dynamo scales workers with its own planner, which no scenario kind describes; \
                 the graph runs `deployment.replicas` workers",
            );
        }
        self.image = DYNAMO_IMAGE;
        let engine = self.vllm_args(dep)?;
        let mut args = vec![s("--model"), s(&engine.model_id)];
        if engine.tensor_parallel > 1 {
            args.extend([
                s("--tensor-parallel-size"),
                s(&engine.tensor_parallel.to_string()),
            ]);
        }
        args.extend(engine.flags);
        let main = |command: Option<Vec<Yaml>>, args: Option<Vec<Yaml>>| {
            let mut c = vec![("image", s(self.image))];
            if let Some(command) = command {
                c.push(("command", Yaml::Array(command)));
            }
            if let Some(args) = args {
                c.push(("args", Yaml::Array(args)));
            }
            ymap(vec![("mainContainer", ymap(c))])
        };
        let mut worker_pod = main(
            Some(vec![s("python3"), s("-m"), s("dynamo.vllm")]),
            Some(args),
        );
        if let (Some(label), Yaml::Hash(h)) = (gpu_label, &mut worker_pod) {
            h.insert(s("nodeSelector"), ymap(vec![(GPU_LABELS[0], s(&label))]));
        }
        let graph = ymap(vec![
            ("apiVersion", s("nvidia.com/v1alpha1")),
            ("kind", s("DynamoGraphDeployment")),
            ("metadata", ymap(vec![("name", s(self.name))])),
            (
                "spec",
                ymap(vec![(
                    "services",
                    ymap(vec![
                        (
                            "Frontend",
                            ymap(vec![
                                ("componentType", s("frontend")),
                                ("replicas", Yaml::Integer(1)),
                                ("extraPodSpec", main(None, None)),
                            ]),
                        ),
                        (
                            "VllmWorker",
                            ymap(vec![
                                ("componentType", s("worker")),
                                ("replicas", Yaml::Integer(replicas)),
                                (
                                    "resources",
                                    ymap(vec![(
                                        "limits",
                                        ymap(vec![("gpu", s(&engine.tensor_parallel.to_string()))]),
                                    )]),
                                ),
                                ("extraPodSpec", worker_pod),
                            ]),
                        ),
                    ]),
                )]),
            ),
        ]);
        Ok(vec![("dynamo-graph.yaml".to_string(), emit(&[graph]))])
    }
}
