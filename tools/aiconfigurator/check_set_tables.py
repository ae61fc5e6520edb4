#!/usr/bin/env python3
"""Generate, with convert.py, one profile per check-set configuration of
validation/measurements.csv that aiconfigurator's database covers, into a
directory outside the repository; print which rows are covered and why the
others are not.

    python tools/aiconfigurator/check_set_tables.py --out /work/aic-tables

Files are named ``{model}__{gpu}__tp{tp}__{dtype}__isl{isl}.csv`` with the
fleetsim names, the name the opt-in validation test
(crates/cli/tests/it/validation_operators.rs) looks for. One table per
prompt length, because a prefill step is costed as prompts of that length
(convert.py --prefill-prompt-tokens). MoE layers are split by MoE tensor
parallelism = TP, or with --moe-ep by expert parallelism = TP.
"""

from __future__ import annotations

import argparse
import collections
import csv
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import convert  # noqa: E402

# fleetsim GPU name -> the package's system name.
SYSTEMS = {
    "h100-sxm": "h100_sxm",
    "h200": "h200_sxm",
    "b200": "b200_sxm",
    "gb200": "gb200",
    "l40s": "l40s",
    "a100-80gb": "a100_sxm",
}
# fleetsim model name -> the package's model id (Llama 3.3 70B has 3.1 70B's architecture).
MODELS = {
    "llama-3.1-8b": "meta-llama/Meta-Llama-3.1-8B",
    "llama-3.1-70b": "meta-llama/Meta-Llama-3.1-70B",
    "llama-3.3-70b": "meta-llama/Meta-Llama-3.1-70B",
    "llama-3.1-405b": "meta-llama/Meta-Llama-3.1-405B",
    "mixtral-8x7b": "mistralai/Mixtral-8x7B-v0.1",
    "mixtral-8x22b": "mistralai/Mixtral-8x22B-v0.1",
    "qwen3-30b-a3b": "Qwen/Qwen3-30B-A3B",
    "qwen3-235b-a22b": "Qwen/Qwen3-235B-A22B",
    "llama-4-scout": "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "llama-4-maverick": "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
}

# Why the rest has no mapping.
UNMAPPED = {
    "gh200": "GH200: no such system in the package",
    "rtx-pro-6000": "RTX PRO 6000: not in fleetsim's catalogue",
    "mistral-7b": "Mistral-7B: no configuration in the package",
    "llama-2-70b": "Llama-2-70B: no configuration in the package",
    "llama-7b": "LLaMA-7B: no configuration in the package",
}

MOE = {"mixtral-8x7b", "mixtral-8x22b", "qwen3-30b-a3b", "qwen3-235b-a22b", "llama-4-scout", "llama-4-maverick"}


def table_name(model: str, gpu: str, tp: str, dtype: str, isl: str) -> str:
    return f"{model}__{gpu}__tp{tp}__{dtype}__isl{isl}.csv"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--measurements", type=pathlib.Path, default=HERE.parent.parent / "validation/measurements.csv")
    p.add_argument("--out", type=pathlib.Path, required=True)
    p.add_argument("--backend", default="trtllm")
    p.add_argument("--force", action="store_true", help="regenerate profiles that exist already")
    p.add_argument(
        "--moe-ep",
        action="store_true",
        help="MoE models: experts split by expert parallelism = TP (default: MoE tensor parallelism = TP)",
    )
    args = p.parse_args(argv)

    covered = collections.Counter()
    missing = collections.Counter()
    failed: dict[str, str] = {}
    done: set[str] = set()
    with args.measurements.open() as f:
        for row in csv.DictReader(f):
            if row["set"] != "check":
                continue
            why = None
            if row["engine"] not in ("trtllm",):
                why = f"engine {row['engine']} (only TensorRT-LLM tables generated)"
            elif row["gpu"] not in SYSTEMS:
                why = UNMAPPED.get(row["gpu"], f"GPU {row['gpu']} not mapped")
            elif row["model"] not in MODELS:
                why = UNMAPPED.get(row["model"], f"model {row['model']} not mapped")
            elif row["pp"] != "1" or not row["tp"] or not row["isl"]:
                why = "pipeline parallelism or unpublished TP/prompt length"
            elif row["dtype"] not in convert.DTYPES:
                why = f"{row['dtype']} weights"
            if why:
                missing[(row["table"], why)] += 1
                continue
            name = table_name(row["model"], row["gpu"], row["tp"], row["dtype"], row["isl"])
            if name not in done and (args.out / name).is_file() and not args.force:
                done.add(name)
            if name not in done and name not in failed:
                cli = [
                    "--model", MODELS[row["model"]],
                    "--system", SYSTEMS[row["gpu"]],
                    "--backend", args.backend,
                    "--tp", row["tp"],
                    "--dtype", row["dtype"],
                    "--prefill-prompt-tokens", row["isl"],
                    "--out", str(args.out / name),
                ]
                if args.moe_ep and row["model"] in MOE:
                    cli += ["--moe-tp", "1", "--moe-ep", row["tp"]]
                try:
                    convert.main(cli)
                    done.add(name)
                except Exception as e:  # the package refuses this configuration
                    failed[name] = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
            if name in failed:
                missing[(row["table"], f"package: {failed[name]}")] += 1
            else:
                covered[row["table"]] += 1
    print("| table | check rows with a profile |")
    for table, n in sorted(covered.items()):
        print(f"| {table} | {n} |")
    print("\n| table | rows without a profile | why |")
    for (table, why), n in sorted(missing.items()):
        print(f"| {table} | {n} | {why} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
