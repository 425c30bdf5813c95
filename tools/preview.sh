#!/usr/bin/env bash
# Builds a few pages of the book into their own site, fast, for looking at them while writing a chapter.
# The pages are executed and rendered exactly as in `make book` (same _config.yml, -W), but alone: the glossary,
# references and intro pages come along so that {term}, {cite} and links resolve. The build lives outside the
# repository (default /tmp/segbook-preview-<pages>), so several previews can run side by side.
#
# With --vi, the pages are also built in Vietnamese from locales/vi (into DIR/_build/html/vi/, from the same
# execution), as make book builds the translation: the way to look at a page's translation.
#
# Usage: bash tools/preview.sh chapters/07_fcn [chapters/08_unet ...] [--out DIR] [--vi]
#   then: .venv/bin/python tools/screenshot.py chapters/07_fcn --site DIR/_build/html --out DIR/shots
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pages=()
out=""
vi=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --vi) vi=1; shift ;;
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
# The preview executes its pages afresh, into its own execution cache (not the book's _build/.jupyter_cache).
sed -i "s#^  cache: _build/.jupyter_cache#  cache: $out/_build/.jupyter_cache#" "$out/_config.yml"
grep -q "^  cache: $out/_build/.jupyter_cache" "$out/_config.yml" || { echo "[preview] execute.cache not found" >&2; exit 1; }
rm -rf "$out/_build/.jupyter_cache"
for dir in _static _vendor locales; do ln -sfn "$root/$dir" "$out/$dir"; done
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
if [ -n "$vi" ]; then
  config="$("$root/.venv/bin/python" -m segbook.book.i18n --book "$out" config vi)"
  "$root/.venv/bin/jupyter-book" build "$out" --config "$config" --path-output "$out/_build/vi" --keep-going \
    > "$out/build-vi.log" 2>&1 || true
  grep -E "WARNING|ERROR|Error|Traceback" "$out/build-vi.log" | grep -v "chapters/intro.md" \
    || echo "[preview] no warnings in Vietnamese"
  rm -rf "$out/_build/html/vi" && cp -r "$out/_build/vi/_build/html" "$out/_build/html/vi"
fi
echo "[preview] built in $(( $(date +%s) - start )) s: $out/_build/html"
echo "[preview] screenshots: $root/.venv/bin/python tools/screenshot.py ${pages[*]} --site $out/_build/html --out $out/shots"
