#!/usr/bin/env bash
# Runs every test on a fresh machine: creates .venv when absent, runs the static checks (tools/lint.sh: ruff,
# mypy, notebooks stored clean; a failure stops here, before the long build), builds the website (executing
# every notebook), then runs pytest over the package tests, every notebook (nbval), the generated student
# notebooks and the browser test of the built site.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/env.sh
# One torch thread per process: two pytest workers run two notebooks at once on a 2-core machine, and with two
# threads each (or any other load on the machine) torch's thread pools oversubscribe the cores and run many
# times slower. The site build below runs alone but is kept robust the same way.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# No progress bars in the notebooks nbval and the student test execute (kernels inherit this environment), as in
# the site build; tests/conftest.py sets the same for a bare pytest.
export TQDM_DISABLE=1
bash tools/lint.sh
bash tools/build_book.sh
.venv/bin/python -m pytest -n 2 --dist loadfile --nbval-lax -p no:cacheprovider "$@"
