#!/usr/bin/env bash
# Regenerates every fixture under testdata/models/ with the repo's pinned venv
# (scripts/pyenv.sh). Deterministic: a rerun leaves `git status` clean.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$("$here/../../scripts/pyenv.sh")"
export PYTHONHASHSEED=0
for gen in "$here"/*/gen.py; do
  "$py" "$gen"
done
