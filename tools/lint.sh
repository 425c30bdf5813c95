#!/usr/bin/env bash
# The static checks, as `make lint`, tools/test.sh (so `make test` and CI) and CI's fast job run them:
#   ruff check .            lint rules            } settings in pyproject.toml: [tool.ruff], 120 columns
#   ruff format --check .   formatting            }
#   mypy                    types of the lower layers (the files listed in [tool.mypy])
#   tools/check_notebook_outputs.py   chapters stored without outputs
# Every check runs even when an earlier one fails, so one run shows every problem; the exit status is 1 if any
# failed. To fix formatting: .venv/bin/ruff format .   To fix what ruff can: .venv/bin/ruff check --fix .
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/env.sh
failed=()
check() {
  echo "[lint] $*"
  "$@" || failed+=("$*")
}
check .venv/bin/ruff check .
check .venv/bin/ruff format --check .
check .venv/bin/mypy
check .venv/bin/python tools/check_notebook_outputs.py
if [ "${#failed[@]}" -gt 0 ]; then
  printf '[lint] FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "[lint] all checks passed"
