#!/usr/bin/env python3
"""Write a fleetsim step-time profile from NVIDIA aiconfigurator's
measured-operator database.

aiconfigurator (the pip package ``aiconfigurator-core``, Apache-2.0) ships
per-operator timings (GEMM, attention, all-reduce, MoE, ...) measured per
GPU system, engine and engine version, and composes them into the time of
one prefill (context) step and one decode (generation) step of a model. This
script asks the INSTALLED package for those step times over a grid and
writes them in the format of ``[deployment.perf] kind = "table"``
(``crates/sim-core/src/model/table.rs``). Nothing of the package's data is
copied into this repository: run the script where the package is installed
and keep its output outside the repository.

The output starts with ``#`` comment lines recording the provenance: the
package version, system, backend and the literal data version, the model and
quantisation, the grid, and for every operator whether its times came from
measurements ("silicon") or from the package's own fallbacks (its empirical
formulas or speed-of-light estimates), counted over the grid.

Rows:

* ``decode,B,B*s,ms``: one decode step of B sequences that each attend to s
  tokens (the package's decode step at per-sequence context s), for every
  batch size B and context s of the grid.
* ``prefill,,T,ms``: one prefill step of T prompt tokens. By default the T
  tokens are one prompt; with ``--prefill-prompt-tokens N`` a step of T >= N
  tokens is T/N prompts of N tokens (rounded down to a multiple of N), which
  matches a workload whose prompts are N tokens long.

Example (see tools/aiconfigurator/README.md):

    python tools/aiconfigurator/convert.py --model meta-llama/Meta-Llama-3.1-8B \
        --system h100_sxm --backend trtllm --tp 1 --dtype fp8 \
        --out /tmp/tables/llama-3.1-8b-h100-fp8.csv
"""

from __future__ import annotations

import argparse
import collections
import datetime
import importlib.metadata
import logging
import pathlib
import sys

DEFAULT_BATCHES = "1,2,4,8,16,32,64,128,256,512,1024,2048"
DEFAULT_CONTEXTS = "32,128,512,1024,2048,4096,8192,16384,32768"
DEFAULT_PREFILL = "16,32,64,128,256,512,1024,2048,4096,8192,16384"

# --dtype -> (GEMM, KV cache, attention) quantisation modes of the package.
DTYPES = {
    "bf16": ("bfloat16", "bfloat16", "bfloat16"),
    "fp16": ("bfloat16", "bfloat16", "bfloat16"),
    "fp8": ("fp8", "fp8", "fp8"),
    "fp4": ("nvfp4", "fp8", "fp8"),
}


def ints(text: str) -> list[int]:
    values = sorted({int(v) for v in text.split(",") if v.strip()})
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="the package's model id, e.g. meta-llama/Meta-Llama-3.1-8B")
    p.add_argument("--system", required=True, help="the package's GPU system, e.g. h100_sxm")
    p.add_argument("--backend", default="trtllm", help="trtllm, vllm or sglang (default trtllm)")
    p.add_argument("--backend-version", default=None, help="data version (default: the package's current one)")
    p.add_argument("--tp", type=int, default=1, help="tensor-parallel degree")
    p.add_argument("--moe-tp", type=int, default=None, help="MoE tensor parallelism (default: --tp)")
    p.add_argument("--moe-ep", type=int, default=1, help="MoE expert parallelism (default 1)")
    p.add_argument("--dtype", choices=sorted(DTYPES), required=True, help="weights precision")
    p.add_argument("--kv-dtype", default=None, help="override the KV-cache mode (bfloat16, fp8)")
    p.add_argument("--batches", type=ints, default=ints(DEFAULT_BATCHES), help="decode batch sizes")
    p.add_argument("--contexts", type=ints, default=ints(DEFAULT_CONTEXTS), help="decode per-sequence contexts")
    p.add_argument("--prefill-tokens", type=ints, default=ints(DEFAULT_PREFILL), help="prefill step sizes")
    p.add_argument("--prefill-prompt-tokens", type=int, default=0, help="prompt length of multi-prompt prefill steps")
    p.add_argument("--out", required=True, type=pathlib.Path, help="output CSV")
    return p.parse_args(argv)


class Sources:
    """Per operator, how many grid points took its time from which source."""

    def __init__(self) -> None:
        self.by_op: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

    def add(self, per_op) -> float:
        total = 0.0
        for name, latency_ms, _energy, source in per_op:
            total += latency_ms
            if latency_ms > 0.0:
                self.by_op[name][source] += 1
        return total

    def lines(self) -> list[str]:
        measured, partly, fallback = [], [], []
        for name in sorted(self.by_op):
            counts = self.by_op[name]
            n = sum(counts.values())
            desc = ", ".join(f"{s} {c}/{n}" for s, c in sorted(counts.items()))
            if counts.get("silicon", 0) == n:
                measured.append(name)
            elif counts.get("silicon", 0) == 0:
                fallback.append(f"{name} ({desc})")
            else:
                partly.append(f"{name} ({desc})")
        return [
            "measured operators (silicon at every grid point): " + (", ".join(measured) or "none"),
            "partly measured operators: " + ("; ".join(partly) or "none"),
            "operators from the package's fallbacks (never measured here): " + ("; ".join(fallback) or "none"),
        ]


def data_directories(system: str, backend: str, version: str) -> list[str]:
    """The package's operator families collected for this system/backend/version."""
    import aiconfigurator_core

    root = pathlib.Path(aiconfigurator_core.__file__).parent / "systems" / "data" / system
    found = []
    for family in sorted(p for p in root.iterdir() if p.is_dir()):
        if (family / backend / version).is_dir():
            found.append(family.name)
    return found


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.disable(logging.WARNING)  # the package logs lane-order notes on stderr
    from aiconfigurator_core.sdk import perf_database
    from aiconfigurator_core.sdk.engine import EngineHandle

    gemm, kv, fmha = DTYPES[args.dtype]
    if args.kv_dtype:
        kv = args.kv_dtype
    version = perf_database.resolve_query_version(
        args.system, args.backend, args.backend_version or "current"
    )
    handle = EngineHandle.compile(
        args.model,
        args.system,
        args.backend,
        backend_version=version,
        tp_size=args.tp,
        moe_tp_size=args.moe_tp if args.moe_tp is not None else args.tp,
        moe_ep_size=args.moe_ep,
        gemm_quant_mode=gemm,
        moe_quant_mode=gemm,
        kvcache_quant_mode=kv,
        fmha_quant_mode=fmha,
    )

    sources = Sources()
    rows: list[tuple[str, str, int, float]] = []
    raised = 0
    for b in args.batches:
        previous = 0.0
        for s in args.contexts:
            # The package's decode step attends to isl + osl//2 + 1 tokens.
            ms = sources.add(handle.decode_step_per_op(b, s - 1, 0))
            if ms < previous:  # the table requires non-decreasing times
                ms, raised = previous, raised + 1
            previous = ms
            rows.append(("decode", str(b), b * s, ms))
    n = args.prefill_prompt_tokens
    seen = set()
    for t in args.prefill_tokens:
        prompts, length = (t // n, n) if n and t >= n else (1, t)
        if prompts * length in seen:
            continue
        seen.add(prompts * length)
        context, _generation = handle.run_static_per_op(batch_size=prompts, isl=length, osl=1)
        rows.append(("prefill", "", prompts * length, sources.add(context)))

    pkg = importlib.metadata.version("aiconfigurator-core")
    header = [
        "fleetsim step-time profile from aiconfigurator's measured-operator database",
        f"generated by tools/aiconfigurator/convert.py on {datetime.date.today().isoformat()}",
        f"command: convert.py {' '.join(argv)}",
        f"package: aiconfigurator-core {pkg}",
        f"database: system {args.system}, backend {args.backend}, data version {version}",
        "operator families with data for this version: "
        + ", ".join(data_directories(args.system, args.backend, version)),
        f"model: {args.model}, tp {args.tp}, gemm {gemm}, kv cache {kv}, attention {fmha}",
        f"decode grid: batch sizes {','.join(map(str, args.batches))} x per-sequence contexts "
        f"{','.join(map(str, args.contexts))}; rows raised to keep times non-decreasing: {raised}",
        "prefill grid: "
        + (f"prompts of {n} tokens (one shorter prompt below {n})" if n else "one prompt per step"),
        *sources.lines(),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as f:
        for line in header:
            f.write(f"# {line}\n")
        f.write("phase,batch_size,tokens,step_ms\n")
        for phase, batch, tokens, ms in rows:
            f.write(f"{phase},{batch},{tokens},{ms:.6f}\n")
    print(f"{args.out}: {len(rows)} rows, data version {version}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
