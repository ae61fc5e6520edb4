#!/usr/bin/env bash
# Runs notebooks of this folder as evcxr scripts and fails when one does.
#
#   docs/notebooks/run.sh                       # every *.ipynb here
#   docs/notebooks/run.sh tune-autoscaler.ipynb # one
#
# Each notebook's code cells are fed, in order, to `evcxr` (the evcxr_repl
# binary: `cargo install --locked evcxr_repl`, ~15 min on two cores, once).
# evcxr exits 0 even when a cell fails, so a notebook passes only when its
# output has no compile error, no `?` error and no panic, and its last cell
# printed `notebook ok: <name>`. Notebooks share one evcxr build directory
# (EVCXR_TMPDIR, outside the repository: cargo would take a build directory
# inside it for a member of this workspace), so the library and its
# dependencies compile once.
set -euo pipefail
cd "$(dirname "$0")"
command -v evcxr > /dev/null || {
  echo "notebooks: evcxr not found; install it with: cargo install --locked evcxr_repl" >&2
  exit 1
}
export EVCXR_TMPDIR="${EVCXR_TMPDIR:-${TMPDIR:-/tmp}/fleetsim-evcxr}"
mkdir -p "$EVCXR_TMPDIR"
notebooks=("$@")
[ ${#notebooks[@]} -gt 0 ] || notebooks=(*.ipynb)
failed=0
for nb in "${notebooks[@]}"; do
  name="$(basename "$nb" .ipynb)"
  script="$(mktemp)"
  log="$(mktemp)"
  # The code cells, in order (jq: the notebook is JSON). Piped evcxr reads
  # one line per command, so a cell's code is joined into one line; its
  # `:` commands stay lines of their own, and comment lines are dropped
  # (write no comment after code on a line in a cell).
  jq -r '.cells[] | select(.cell_type == "code")
    | (.source | join("") | split("\n")) as $lines
    | ($lines[] | select(startswith(":"))),
      ($lines | map(select((startswith(":") or (ltrimstr(" ") | startswith("//"))) | not)) | join(" "))' \
    "$name.ipynb" | grep -v '^ *$' > "$script"
  start=$(date +%s)
  evcxr --disable-readline < "$script" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' > "$log" || true
  took=$(( $(date +%s) - start ))
  if grep -qE '(^|[^a-z_])Error:|\[E[0-9]{4}\]|panicked at' "$log" \
      || ! grep -qE "(^|> )notebook ok: $name\$" "$log"; then
    echo "notebooks: $name FAILED after ${took} s; its output:" >&2
    grep -v '^ *Compiling ' "$log" >&2
    failed=1
  else
    echo "notebooks: $name ok in ${took} s"
  fi
  rm -f "$script" "$log"
done
exit "$failed"
