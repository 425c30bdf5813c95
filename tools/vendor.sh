#!/usr/bin/env bash
# Vendors the browser assets the website serves itself, so that the built site works with no network:
#   - MathJax 3 (tex-chtml) to typeset math,
#   - the Jupyter widget HTML manager (ipywidgets 8) and RequireJS, which it needs, to render widget state.
# Versions are pinned in package.json / package-lock.json. `npm ci` runs only when node_modules/ is missing
# or was installed from another package-lock.json. The needed files are copied into
# _vendor/_static/vendor/, which _config.yml's `html_extra_path` copies to _build/html/_static/vendor/.
#
# Usage: bash tools/vendor.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v npm >/dev/null 2>&1; then
  echo "[vendor] npm is missing: install Node.js with npm (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi

# 1. npm ci when node_modules/ is missing or stale.
lock_sha="$(sha256sum package-lock.json | cut -d' ' -f1)"
# The vendored copy also depends on this script (what it copies, setup.js).
copy_sha="$(cat package-lock.json "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
stamp="node_modules/.segbook-lock-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sha" ]; then
  echo "[vendor] npm ci (node_modules/ is missing or older than package-lock.json)"
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  echo "$lock_sha" > "$stamp"
fi

# 2. Copy only what the site loads. Skip the copy when the vendored tree is from this lock file and script.
out="_vendor/_static/vendor"
if [ -f "$out/.segbook-copy-sha256" ] && [ "$(cat "$out/.segbook-copy-sha256")" = "$copy_sha" ]; then
  echo "[vendor] $out is up to date"
  exit 0
fi
rm -rf "$out"
mkdir -p "$out/mathjax" "$out/widgets" "$out/requirejs"

# MathJax 3 (es5 build). What tex-chtml needs at run time, found by serving the whole es5/ tree locally and
# recording every request the browser made (tests/test_site.py fails on any request that 404s):
#   tex-chtml.js                 loader + startup + TeX input (base, ams, newcommand, noundefined, require,
#                                autoload, configmacros) + CommonHTML output + contextual menu;
#   output/chtml/fonts/woff-v2/  the CommonHTML fonts, fetched through CSS @font-face on first use;
#   input/tex/extensions/        TeX packages that autoload fetches when a page uses one of their macros
#                                (\boldsymbol, \cancel, \color, \mathtools commands, ...);
#   a11y/, sre/, ui/             loaded when a reader turns on accessibility options in the math menu
#                                (assistive MathML, explorer, speech rules).
mj="node_modules/mathjax/es5"
cp "$mj/tex-chtml.js" "$out/mathjax/"
for d in output/chtml/fonts/woff-v2 input/tex/extensions a11y sre ui; do
  mkdir -p "$out/mathjax/$d"
  cp -R "$mj/$d/." "$out/mathjax/$d/"
done
cp node_modules/mathjax/LICENSE "$out/mathjax/LICENSE"

# Widget manager: embed-amd.js defines @jupyter-widgets/{base,controls,output,html-manager} as AMD modules
# and renders the widget state stored in the page; the font files are Font Awesome's, used by widget icons.
hm="node_modules/@jupyter-widgets/html-manager"
cp "$hm/dist/embed-amd.js" "$hm/dist/embed.js.LICENSE.txt" "$out/widgets/"
find "$hm/dist" -maxdepth 1 -type f \( -name '*.woff2' -o -name '*.woff' -o -name '*.ttf' -o -name '*.eot' \
  -o -name '*.svg' \) -exec cp {} "$out/widgets/" \;
cp node_modules/requirejs/require.js "$out/requirejs/"

# setup.js runs on widget pages after require.js and before embed-amd.js (see _config.yml). It
#  1. maps each AMD module of embed-amd.js to this directory: the webpack bundles fetch their icon fonts relative
#     to the URL RequireJS gives their module, which by default is relative to the page
#     (chapters/@jupyter-widgets/...), where there are no fonts;
#  2. gives MathJax 3 the MathJax 2 call the widgets make to typeset their descriptions
#     (MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); ipywidgets issue #3829). Without it every widget
#     on a page with math throws "Cannot read properties of undefined (reading 'Queue')".
cat > "$out/widgets/setup.js" <<'JS'
// Written by tools/vendor.sh: prepares a page for the vendored Jupyter widget manager (embed-amd.js).
(function () {
  "use strict";
  // 1. Serve the manager's modules (and so their icon fonts) from the directory of this script.
  var here = document.currentScript.src.replace(/[?#].*$/, "").replace(/[^/]*$/, "");
  var names = [
    "@jupyter-widgets/base",
    "@jupyter-widgets/base7",
    "@jupyter-widgets/controls",
    "@jupyter-widgets/controls7",
    "@jupyter-widgets/output",
    "@jupyter-widgets/html-manager",
    "@jupyter-widgets/html-manager/dist/libembed-amd"
  ];
  var paths = {};
  names.forEach(function (name) {
    paths[name] = here + name.replace(/\//g, "_");
  });
  window.requirejs.config({ paths: paths });

  // 2. MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]) -> MathJax 3's typesetPromise([element]).
  // The widgets are drawn on the window's load event; this listener is registered first, so it runs first.
  function mathjaxReady() {
    return new Promise(function (resolve, reject) {
      var tries = 0;
      (function poll() {
        var mj = window.MathJax;
        if (mj && mj.startup && mj.startup.promise && typeof mj.typesetPromise === "function") {
          resolve(mj.startup.promise);
        } else if (++tries > 600) {
          reject(new Error("MathJax 3 did not start within 30 s"));
        } else {
          setTimeout(poll, 50);
        }
      })();
    });
  }
  window.addEventListener("load", function () {
    var mj = window.MathJax;
    if (!mj || mj.Hub) {
      return;  // no MathJax on this page (the widgets do not typeset), or a MathJax 2 that has Hub itself
    }
    var queue = null;
    mj.Hub = {
      Queue: function (job) {
        var element = job && job[2];
        queue = (queue || mathjaxReady()).then(function () {
          return window.MathJax.typesetPromise(element ? [element] : undefined);
        }).catch(function (error) {
          console.error("typesetting a widget's text with MathJax failed:", error);
        });
        return queue;
      }
    };
  });
})();
JS

echo "$copy_sha" > "$out/.segbook-copy-sha256"
echo "[vendor] wrote $out ($(du -sh "$out" | cut -f1))"
