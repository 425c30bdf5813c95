#!/usr/bin/env bash
# Builds the website into _build/html (what `make book` runs).
#   1. tools/env.sh creates .venv when it is absent (and reinstalls when pyproject.toml changed);
#   2. tools/vendor.sh installs MathJax and the widget manager with npm and copies them into the site;
#   3. jupyter-book runs every notebook (into the jupyter-cache _build/.jupyter_cache) and writes the English
#      site. Warnings are errors (-W); --keep-going lists them all before failing;
#   3b. then each translation of segbook.languages (_config.yml): jupyter-book builds the same pages with
#      Sphinx's `language` set, from the catalogs in locales/<code>/ and the outputs in the cache (nothing is
#      executed twice), into _build/<code>/_build/html, copied to _build/html/<code>/. A message without a
#      translation fails this build, listed page by page (segbook.book.sphinx_i18n);
#   4. segbook-colab-edition writes the Colab edition of the notebooks into _build/colab (MyST turned into
#      plain Markdown, the prose's glued numbers taken from this build's executed notebooks).
#   5. segbook.book.handouts writes the student notebooks (the Colab edition without the solutions, their badges
#      opening the student versions): into _build/colab/student (published with the edition on its branch, where
#      Colab opens them) and into _build/html/student (a download per chapter and segbook-student-notebooks.zip,
#      which every chapter page links).
# Reruns are incremental: Sphinx re-reads (and so re-executes) only the pages whose source changed, and a
# translation re-reads the pages whose catalog changed. Every page is re-executed when the package segbook
# changed (notebook outputs depend on it), after a failed build (Sphinx would not repeat the warnings of pages
# it does not re-read), or when you pass --all: the execution cache is emptied then. A change to the book's own
# tooling (src/segbook/book) only re-renders every page, from the cache.
#
# Usage: bash tools/build_book.sh [--all] [other jupyter-book build options]
set -euo pipefail
book="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$book"

# shellcheck source=tools/env.sh
source tools/env.sh
cd "$book"
bash tools/vendor.sh
export PATH="$book/.venv/bin:$PATH"
# No progress bars in the executed notebooks (the kernels inherit this environment): segbook.training.fit reads
# TQDM_DISABLE at each call, and tqdm >= 4.66 reads it for every other tqdm bar. A reader's run keeps its bars.
export TQDM_DISABLE=1

mkdir -p _build
failed_marker="_build/.segbook-build-failed"
src_stamp="_build/.segbook-src-sha256"
tools_stamp="_build/.segbook-book-tools-sha256"
hash_of() { find "$@" -type f \( -name '*.py' -o -name '*.html' \) -print0 | sort -z | xargs -0 cat | sha256sum | cut -d' ' -f1; }
src_sha="$( (hash_of src/segbook -not -path 'src/segbook/book/*'; cat pyproject.toml) | sha256sum | cut -d' ' -f1)"
tools_sha="$(hash_of src/segbook/book)"
# the execution cache the two builds share (execute.cache in _config.yml)
cache="$(python -c 'import yaml; print(yaml.safe_load(open("_config.yml"))["execute"]["cache"])')"

args=(--warningiserror --keep-going)
if [ -f "$failed_marker" ]; then
  echo "[book] the previous build failed: re-executing and rebuilding every page"
  args+=(--all); rm -rf "$cache"
elif [ ! -f "$src_stamp" ] || [ "$(cat "$src_stamp")" != "$src_sha" ]; then
  if [ -d _build/html ]; then echo "[book] src/segbook changed: re-executing and rebuilding every page"; fi
  args+=(--all); rm -rf "$cache"
elif [ ! -f "$tools_stamp" ] || [ "$(cat "$tools_stamp")" != "$tools_sha" ]; then
  echo "[book] src/segbook/book changed: rebuilding every page (outputs from the execution cache)"
  args+=(--all)
fi
for arg in "$@"; do [ "$arg" = "--all" ] && rm -rf "$cache"; done

failed() {  # a failed English build re-executes every page next time; a failed translation rebuilds itself
  echo "[book] FAILED after $(( $(date +%s) - start )) s: see the warnings above (with -W every warning is an" >&2
  echo "[book] error; a notebook that raised is listed with its traceback; a translation lists the messages its" >&2
  echo "[book] catalogs lack). The next build rebuilds every page of the site that failed." >&2
  exit 1
}
start=$(date +%s)
touch "$failed_marker"
jupyter-book build "$book" "${args[@]}" "$@" || failed
rm -f "$failed_marker"
echo "$src_sha" > "$src_stamp"
english=$(( $(date +%s) - start ))
# Each translation: the same pages and the same executed notebooks (read from the cache), another language. A
# translation that failed is rebuilt whole next time (its own marker), without re-executing anything.
timings="English ${english} s"
for language in $(python -m segbook.book.i18n languages); do
  lstart=$(date +%s)
  marker="_build/.segbook-build-failed-$language"
  largs=("${args[@]}")
  if [ -f "$marker" ]; then largs+=(--all); fi  # (args has --all already when the package or its tools changed)
  touch "$marker"
  config="$(python -m segbook.book.i18n config "$language")"
  jupyter-book build "$book" --config "$config" --path-output "_build/$language" "${largs[@]}" "$@" || failed
  rm -f "$marker"
  rm -rf "_build/html/$language"
  cp -r "_build/$language/_build/html" "_build/html/$language"
  timings="$timings, $language $(( $(date +%s) - lstart )) s"
done
echo "$tools_sha" > "$tools_stamp"
echo "[book] sites built: $timings"
# The Colab edition (MyST turned into plain Markdown, glued values from this run): _build/colab/chapters/*.ipynb.
# Pure JSON, a second or two; the Pages workflow publishes it to the branch segbook.colab_branch.
python -m segbook.book.colab_edition --config _config.yml
# The handouts, from that edition: _build/colab/student/*.ipynb (the Pages workflow pushes them with the edition)
# and _build/html/student/ (each chapter's student notebook and the archive of all of them, linked from every chapter
# page by segbook.book.sphinx_colab).
python -m segbook.book.handouts --config _config.yml

cat <<EOF
[book] built in $(( $(date +%s) - start )) s.
[book] The website is in $book/_build/html (start page: _build/html/index.html; each translation in
[book] _build/html/<language>/, e.g. _build/html/vi/index.html); the Colab edition of the
[book] notebooks in $book/_build/colab, and their student versions in $book/_build/colab/student and, with the
[book] archive segbook-student-notebooks.zip, in $book/_build/html/student.
[book] To look at it, serve it and open http://localhost:8000 in a browser:
[book]     python3 -m http.server -d _build/html 8000
[book] Then check it in a headless browser: .venv/bin/python -m pytest tests/test_site.py
EOF
