#!/usr/bin/env bash
# Creates (idempotently) the repo's Python venv at .venv with the pinned packages from
# scripts/requirements.txt, then prints the venv's python path on stdout.
# Fast path: a stamp file in .venv records the sha256 of requirements.txt; when it matches,
# nothing is installed. All progress goes to stderr so `PY=$(scripts/pyenv.sh)` works.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
req="$root/scripts/requirements.txt"
stamp="$venv/.vouch-requirements.sha256"
py="$venv/bin/python"

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$py" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$py"
  exit 0
fi

base="${PYTHON:-python3}"
if [[ ! -x "$py" ]]; then
  echo "pyenv: creating $venv with $("$base" --version 2>&1)" >&2
  "$base" -m venv "$venv"
fi
echo "pyenv: installing pinned packages from scripts/requirements.txt" >&2
"$py" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
echo "$want" >"$stamp"
echo "$py"
