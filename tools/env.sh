#!/usr/bin/env bash
# Creates the project's virtual environment (.venv) when it is absent or when pyproject.toml changed,
# and installs segbook with the extras for building the book, running the tests and linting (ruff, mypy,
# pre-commit).
# Usage: source tools/env.sh   (or: bash tools/env.sh)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
stamp="$venv/.segbook-installed"
want="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
  echo "[env] creating $venv"
  "$python" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[env] installing segbook and its book/test/lint/read extras into $venv (first time: a few minutes)"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -e "$root[book,test,lint,read]"
  echo "$want" > "$stamp"
fi
