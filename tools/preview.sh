#!/usr/bin/env bash
# Builds a few pages of the book into their own site, fast, for looking at them while writing a chapter.
# The pages are executed and rendered exactly as in `make book` (same _config.yml, -W), but alone: the glossary,
# references and intro pages come along so that {term}, {cite} and links resolve. The build lives outside the
# repository (default /tmp/segbook-preview-<pages>), so several previews can run side by side.
#
# Usage: bash tools/preview.sh chapters/07_fcn [chapters/08_unet ...] [--out DIR]
#   then: .venv/bin/python tools/screenshot.py chapters/07_fcn --site DIR/_build/html --out DIR/shots
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pages=()
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    *) pages+=("${1%.ipynb}"); shift ;;
  esac
done
[ ${#pages[@]} -gt 0 ] || { echo "usage: bash tools/preview.sh chapters/NAME [...] [--out DIR]" >&2; exit 2; }
if [ -z "$out" ]; then
  out="/tmp/segbook-preview-$(printf '%s\n' "${pages[@]}" | sed 's#.*/##' | tr '\n' '-' | sed 's/-$//')"
fi
cd "$root"
source tools/env.sh >/dev/null
bash tools/vendor.sh >/dev/null
rm -rf "$out/chapters" && mkdir -p "$out/chapters"
for file in _config.yml references.bib; do cp "$root/$file" "$out/$file"; done
for dir in _static _vendor; do ln -sfn "$root/$dir" "$out/$dir"; done
for page in chapters/intro chapters/glossary chapters/references "${pages[@]}"; do
  for suffix in .md .ipynb; do
    [ -f "$root/$page$suffix" ] && cp "$root/$page$suffix" "$out/$page$suffix"
  done
done
{
  echo "format: jb-book"
  echo "root: chapters/intro"
  echo "chapters:"
  for page in "${pages[@]}" chapters/glossary chapters/references; do echo "  - file: $page"; done
} > "$out/_toc.yml"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
export TQDM_DISABLE=1  # as tools/build_book.sh: no progress bars on the site
start=$(date +%s)
# The intro links to every chapter; outside the full book those links are expected to dangle (not an error here).
"$root/.venv/bin/jupyter-book" build "$out" --keep-going > "$out/build.log" 2>&1 || true
# Every warning but the intro's links to chapters that are not in this preview (the full build has them).
grep -E "WARNING|ERROR|Error|Traceback" "$out/build.log" | grep -v "chapters/intro.md" || echo "[preview] no warnings"
echo "[preview] built in $(( $(date +%s) - start )) s: $out/_build/html"
echo "[preview] screenshots: $root/.venv/bin/python tools/screenshot.py ${pages[*]} --site $out/_build/html --out $out/shots"
