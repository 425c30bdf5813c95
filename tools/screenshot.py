"""Screenshots of built pages as a reader sees them, cut into screen-sized PNGs you can look at.

Serves the built site (default ``_build/html``) on 127.0.0.1, opens each page in headless Chromium at
each width, waits for MathJax, and writes ``<out>/<page>-<width>-<k>.png`` (one PNG per screen height,
top to bottom), plus a line per page with what a reader would trip over: images shown below 0.7 of
their natural width, horizontal scroll, code blocks wider than their column.

Usage:
    .venv/bin/python tools/screenshot.py chapters/08_unet [more pages] [--width 1280 --width 390]
        [--site _build/html] [--out _build/screenshots] [--height 1800]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import threading
from io import BytesIO
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SEGBOOK_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FACTS_JS = r"""
() => {
  const article = document.querySelector("article") || document.body;
  const small = [...article.querySelectorAll("img")].filter((img) => img.naturalWidth > 0)
    .map((img) => ({src: img.src.split("/").pop(), scale: img.getBoundingClientRect().width / img.naturalWidth}))
    .filter((img) => img.scale < 0.7);
  const wide = [...article.querySelectorAll("pre")].filter((pre) => pre.scrollWidth > pre.clientWidth + 1)
    .map((pre) => pre.textContent.trim().split("\n")[0].slice(0, 60));
  return {scroll: document.documentElement.scrollWidth - window.innerWidth, small, wide};
}
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class names it format)
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pages", nargs="+", help="page names as in _toc.yml, e.g. chapters/08_unet")
    parser.add_argument("--width", type=int, action="append", help="viewport widths (default 1280 and 390)")
    parser.add_argument("--height", type=int, default=1800, help="height of each PNG (default 1800)")
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    options = parser.parse_args()
    widths = options.width or [1280, 390]
    if not (options.site / "index.html").is_file():
        parser.error(f"no built site at {options.site}: run `make book` first")
    options.out.mkdir(parents=True, exist_ok=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(options.site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for page_name in options.pages:
            page_name = page_name.removesuffix(".html").removesuffix(".ipynb")
            for width in widths:
                context = browser.new_context(viewport={"width": width, "height": 900})
                context.route(
                    "**/*", lambda route: route.continue_() if "127.0.0.1" in route.request.url else route.abort()
                )
                tab = context.new_page()
                tab.goto(base + page_name + ".html", wait_until="networkidle")
                tab.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
                tab.wait_for_timeout(500)
                facts = tab.evaluate(FACTS_JS)
                shot = Image.open(BytesIO(tab.screenshot(full_page=True)))
                stem = page_name.replace("/", "_")
                count = 0
                for count, top in enumerate(range(0, shot.height, options.height), start=1):
                    shot.crop((0, top, shot.width, min(top + options.height, shot.height))).save(
                        options.out / f"{stem}-{width}-{count:02d}.png"
                    )
                print(
                    f"{page_name} at {width} px: {count} screenshots in {options.out}; horizontal scroll "
                    f"{facts['scroll']} px; images below 0.7 scale: {len(facts['small'])}; "
                    f"code blocks wider than their column: {len(facts['wide'])}"
                )
                for image in facts["small"]:
                    print(f"    image {image['src']} at {image['scale']:.2f}")
                for line in facts["wide"]:
                    print(f"    wide block: {line}")
                context.close()
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
