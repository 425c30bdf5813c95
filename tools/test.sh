#!/usr/bin/env bash
# Runs every test on a fresh machine: creates .venv when absent, builds the website (executing every
# notebook), then runs pytest over the package tests, every notebook (nbval), the generated student
# notebooks and the browser test of the built site.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/env.sh
bash tools/build_book.sh
# Two pytest workers run two notebooks at once on a 2-core machine: one thread each avoids oversubscription.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
.venv/bin/python -m pytest -n 2 --dist loadfile --nbval-lax -p no:cacheprovider "$@"
