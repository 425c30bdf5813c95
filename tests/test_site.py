"""The built website, checked in a headless browser as a reader would see it, with no network.

Every page listed in ``_toc.yml`` is served from ``_build/html`` by a local HTTP server and opened in Chromium
(driven by Playwright). Any request to a host other than this machine is blocked and reported, so the tests also
prove that the site needs no network: MathJax and the Jupyter widget manager must come from the site itself.

The site's root leads to the first page. Per page (one test case each, named after the page):
- it loads with no console error, no uncaught exception and no failed request;
- it asks no other host for anything;
- its math is typeset by MathJax (no raw ``\\(``, no TeX error);
- its images (figures from notebook outputs included) are decoded;
- its widgets are drawn by the vendored widget manager from the state stored in the page.
Then: notebook pages have a Colab launch link computed from ``_config.yml`` and link their student notebook (in
Colab, as a download, and the archive of them all, which the site holds), solutions are hidden until clicked,
``hide-input`` cells show their output but not their code, and the chapters that must show math, figures,
widgets and solutions do; the glossary and the references list their entries, and every chapter's {term} and
{cite} links land on an entry. In the theme's dark mode, notebook figures sit on a light background.

Every translation of the site (``segbook.languages`` of ``_config.yml``: the Vietnamese one, in ``vi/``) gets the
same tests, page by page, and: every page exists in every language, says so (``<html lang>``), switches to the
same page in the other language and back, and shows the same figures and the same glued numbers as in English.

Environment variables:
    SEGBOOK_BOOK_DIR: the book's source (``_toc.yml``, ``_config.yml``); default: the repository root.
    SEGBOOK_SITE_DIR: the built site; default: ``$SEGBOOK_BOOK_DIR/_build/html``.
    SEGBOOK_CHROMIUM: the Chromium executable; default: ``/usr/bin/chromium``.
"""

from __future__ import annotations

import contextlib
import functools
import html
import http.server
import json
import os
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
BOOK_DIR = Path(os.environ.get("SEGBOOK_BOOK_DIR", REPO_ROOT)).resolve()
SITE_DIR = Path(os.environ.get("SEGBOOK_SITE_DIR", BOOK_DIR / "_build" / "html")).resolve()
CHROMIUM = Path(os.environ.get("SEGBOOK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
LOAD_TIMEOUT_MS = 60_000  # a page and everything it asks for
MATH_TIMEOUT_MS = 30_000  # MathJax's first typesetting of a page
WIDGET_TIMEOUT_MS = 30_000  # the widget manager drawing every widget of a page
IMAGE_TIMEOUT_MS = 10_000  # decoding one image

# What some pages must show; a page that lost one of these fails test_page_shows_what_it_must.
REQUIRED_FEATURES: dict[str, set[str]] = {
    "chapters/intro": {"math"},
    "chapters/01_segmentation_task": {"math", "output_figure", "widget", "solution", "hide_input", "colab"},
    "chapters/02_sliding_window": {"math", "output_figure", "widget", "solution", "hide_input", "colab"},
    "chapters/03_fully_convolutional": {"math", "output_figure", "widget", "solution", "hide_input", "colab"},
    "chapters/04_upsampling": {"math", "output_figure", "widget", "solution", "hide_input", "colab"},
    "chapters/05_distribution_losses": {"math", "output_figure", "widget", "solution", "hide_input", "colab"},
    "chapters/06_region_boundary_losses": {"math", "output_figure", "widget", "solution", "hide_input", "colab"},
    "chapters/07_fcn": {"math", "output_figure", "widget", "solution", "hide_input", "colab"},
    "chapters/08_unet": {"math", "output_figure", "widget", "solution", "hide_input", "colab"},
    "chapters/09_unet_plus_plus": {"math", "output_figure", "widget", "solution", "hide_input", "colab"},
    "chapters/10_stacked_coupled_unets": {"math", "output_figure", "widget", "solution", "hide_input", "colab"},
    "chapters/11_comparison": {"math", "output_figure", "widget", "solution", "hide_input", "colab"},
    "chapters/12_practice": {"math", "output_figure", "widget", "solution", "hide_input", "colab"},
    "chapters/appendix_debugging": {"math", "output_figure", "colab"},
    "chapters/glossary": {"glossary"},
    "chapters/references": {"bibliography"},
}
# The glossary must define at least this many terms (English and Vietnamese entries), and the references page
# list at least this many works: a page that lost its entries (a broken directive) fails.
MIN_GLOSSARY_TERMS = 150
MIN_BIBLIOGRAPHY_ENTRIES = 20
NO_STATE_HINT = (
    "the build stores widget state only when a notebook runs to its end: did its execution fail? see the build log"
)
BUILD_HINT = "build the site first: `make book` (or `bash tools/build_book.sh`)"
CHROMIUM_HINT = "install Chromium: `apt-get install chromium` (or point SEGBOOK_CHROMIUM at a Chromium binary)"


def toc_pages(toc_path: Path) -> list[str]:
    """Return the document names (paths without extension) of every page in a jb-book ``_toc.yml``, in order.

    Args:
        toc_path: the table of contents, in Jupyter Book's ``jb-book`` format (``root`` and ``parts`` or
            ``chapters``, each entry with ``file`` and optional nested ``sections``).

    Returns:
        e.g. ``["chapters/intro", "chapters/01_segmentation_task", ...]``.

    Raises:
        ValueError: if the file is not a ``jb-book`` table of contents.
    """
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    if not isinstance(toc, dict) or toc.get("format") != "jb-book" or "root" not in toc:
        raise ValueError(f"{toc_path} is not a jb-book table of contents (format: jb-book, root: ...)")

    def strip(name: str) -> str:
        return re.sub(r"\.(md|ipynb|rst)$", "", name)

    pages = [strip(toc["root"])]

    def walk(entries: list[dict[str, Any]]) -> None:
        for entry in entries or []:
            if "file" in entry:
                pages.append(strip(entry["file"]))
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    return pages


def expected_colab_url(config_path: Path, docname: str) -> str:
    """Return the Colab URL that the launch button of notebook ``docname`` must carry, from ``_config.yml``.

    The button opens the notebook's Colab edition (``segbook.book.sphinx_colab``): ``repository.url``
    (``https://github.com/<owner>/<repo>``), ``segbook.colab_branch`` (the branch the Pages workflow publishes the
    edition to, with the book's directory at its root) and ``launch_buttons.colab_url`` give
    ``<colab_url>/github/<owner>/<repo>/blob/<colab_branch>/<docname>.ipynb``. Without ``segbook.colab_branch`` the
    button opens the source notebook: ``blob/<repository.branch>/<path_to_book>/<docname>.ipynb``.

    Raises:
        ValueError: if the repository URL is not a GitHub repository URL.
    """
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    repository = config["repository"]
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", repository["url"])
    if match is None:
        raise ValueError(
            f"repository.url in {config_path} is not https://github.com/<owner>/<repo>: {repository['url']!r}"
        )
    owner, repo = match.groups()
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    edition_branch = (config.get("segbook") or {}).get("colab_branch")
    if edition_branch:
        return f"{colab}/github/{owner}/{repo}/blob/{edition_branch}/{docname}.ipynb"
    book_path = str(repository.get("path_to_book") or "").strip("/")
    notebook = f"{book_path}/{docname}.ipynb" if book_path else f"{docname}.ipynb"
    return f"{colab}/github/{owner}/{repo}/blob/{repository['branch']}/{notebook}"


PAGES = toc_pages(BOOK_DIR / "_toc.yml")
NOTEBOOK_PAGES = [page for page in PAGES if (BOOK_DIR / f"{page}.ipynb").exists()]
# The translations, each a site in SITE_DIR/<code>/ with the same pages: "vi/chapters/07_fcn" is the Vietnamese
# chapter 7. The per-page tests run on SITE_PAGES, every page in every language.
TRANSLATIONS = list(
    ((yaml.safe_load((BOOK_DIR / "_config.yml").read_text(encoding="utf-8")) or {}).get("segbook") or {}).get(
        "languages"
    )
    or {}
)
# A preview (tools/preview.sh: SEGBOOK_SITE_DIR elsewhere) builds the English pages only: its translations are
# not tested. The repository's own build (make book, CI) always is.
BUILT_TRANSLATIONS = [
    code for code in TRANSLATIONS if (SITE_DIR / code).is_dir() or SITE_DIR == (BOOK_DIR / "_build" / "html").resolve()
]
SITE_PAGES = PAGES + [f"{code}/{page}" for code in BUILT_TRANSLATIONS for page in PAGES]
SITE_NOTEBOOK_PAGES = NOTEBOOK_PAGES + [f"{code}/{page}" for code in BUILT_TRANSLATIONS for page in NOTEBOOK_PAGES]


def language_of(page: str) -> str:
    """The language of a page of SITE_PAGES: ``"vi"`` for ``vi/chapters/07_fcn``, ``"en"`` for ``chapters/07_fcn``."""
    first = page.split("/", 1)[0]
    return first if first in TRANSLATIONS else "en"


def source_page(page: str) -> str:
    """The book's page (its _toc.yml name) that a page of SITE_PAGES shows, in whatever language."""
    return page.split("/", 1)[1] if language_of(page) != "en" else page


def translated(pages: list[str]) -> list[str]:
    """``pages`` in every language of the site."""
    return pages + [f"{code}/{page}" for code in BUILT_TRANSLATIONS for page in pages]


# ---------------------------------------------------------------------------------------------------- fixtures


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging every request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # the base class names it `format`
        pass


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    """Serve the built site on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    if not (SITE_DIR / "index.html").is_file():
        pytest.fail(f"no built site at {SITE_DIR} (index.html is missing): {BUILD_HINT}", pytrace=False)
    handler = functools.partial(_QuietHandler, directory=str(SITE_DIR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium (the system's: Playwright cannot download its own here)."""
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: {CHROMIUM_HINT}", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageLog:
    """What happened while a page was open."""

    url: str
    status: int | None = None
    requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS


def open_page(browser: Any, url: str, *, mode: str | None = None, width: int = 1280) -> tuple[Any, PageLog]:
    """Open ``url`` in a fresh browser context, ``width`` px wide, that blocks and records every request to another
    host.

    ``mode`` (``"light"`` or ``"dark"``) is stored where pydata-sphinx-theme's switch stores the reader's choice
    (``localStorage`` keys ``mode`` and ``theme``) before the page runs, so the page opens in that mode.

    Returns the Playwright page (its context must be closed by the caller: ``page.context.close()``) and the
    log, which keeps filling while the page stays open.
    """
    context = browser.new_context(viewport={"width": width, "height": 900}, service_workers="block")
    if mode is not None:
        context.add_init_script(f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}');")
    context.set_default_timeout(LOAD_TIMEOUT_MS)
    log = PageLog(url=url)

    def route(route: Any) -> None:
        request_url = route.request.url
        if _is_local(request_url):
            route.continue_()
        else:
            log.external_requests.append(f"{route.request.method} {request_url}")
            route.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    page.on("request", lambda request: log.requests.append(request.url))
    page.on("websocket", lambda ws: None if _is_local(ws.url) else log.external_requests.append(f"WS {ws.url}"))
    page.on(
        "requestfailed",
        lambda request: (
            None if not _is_local(request.url) else log.failed_requests.append(f"{request.url}: {request.failure}")
        ),
    )
    page.on(
        "response",
        lambda response: (
            log.failed_requests.append(f"{response.url}: HTTP {response.status}") if response.status >= 400 else None
        ),
    )
    page.on(
        "console",
        lambda message: (
            log.console_errors.append(f"{message.text} ({message.location.get('url')})")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    response = page.goto(url, wait_until="load")
    log.status = response.status if response is not None else None
    return page, log


# What a page shows once MathJax and the widget manager are done, computed in the browser.
_INSPECT_JS = r"""
async (imageTimeout) => {
  const article = document.querySelector("article") || document.body;
  const maths = [...article.querySelectorAll(".math")];
  const rawMath = maths
    .filter((el) => !el.querySelector("mjx-container"))
    .map((el) => el.textContent.trim().slice(0, 80));
  const texErrors = [...article.querySelectorAll("mjx-merror")]
    .map((el) => el.getAttribute("data-mjx-error") || el.textContent.slice(0, 80));
  const images = [...article.querySelectorAll("img")];
  const timeout = () => new Promise((resolve) => setTimeout(resolve, imageTimeout));
  await Promise.all(images.map((img) => {
    img.loading = "eager";
    return Promise.race([img.decode().catch(() => null), timeout()]);
  }));
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  return {
    mathCount: maths.length,
    rawMath: rawMath,
    texErrors: texErrors,
    mathjaxVersion: (window.MathJax && window.MathJax.version) || null,
    images: images.map((img) => ({
      src: (img.currentSrc || img.src).slice(0, 120),
      width: img.naturalWidth,
      output: !!img.closest(".cell_output, .widget-subarea, .jupyter-widgets"),
    })),
    widgetViews: views.length,
    widgetState: !!document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]'),
    widgetsDrawn: [...document.querySelectorAll(".widget-subarea")]
      .filter((el) => el.querySelector(".jupyter-widgets, .lm-Widget")).length,
    widgetErrors: [...document.querySelectorAll(".widget-subarea, .jupyter-widgets")]
      .map((el) => el.textContent)
      .filter((text) => /error (displaying|rendering|loading)/i.test(text))
      .map((text) => text.trim().slice(0, 200)),
    solutions: document.querySelectorAll(".solution").length,
    hideInput: document.querySelectorAll(".cell.tag_hide-input").length,
    colabLinks: [...document.querySelectorAll('a[href*="colab.research.google.com"]')].map((a) => a.href),
    glossaryTerms: article.querySelectorAll("dl.glossary > dt").length,
    bibliographyEntries: article.querySelectorAll("div.citation, .bibliography li").length,
    reader: readerFacts(article),
  };
}
"""

# What a reader trips over (see the "what the reader sees" tests), computed in the browser on a typeset page.
# Prose text is every text node of the article outside code, maths, scripts and styles; output text is the text
# of notebook outputs (printed or rendered), where a table printed as Markdown or TeX printed raw shows up.
_READER_JS = r"""
function readerFacts(article) {
  const SKIP = "pre, code, script, style, mjx-container, .MathJax, .math, .highlight, .cell_input, .jupyter-widgets";
  const textOutside = (root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: (node) => node.parentElement && node.parentElement.closest(SKIP)
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
    });
    const parts = [];
    while (walker.nextNode()) parts.push(walker.currentNode.textContent);
    return parts.join("\n");
  };
  const snippet = (text, match) => text.slice(Math.max(0, match.index - 30), match.index + 50).replace(/\s+/g, " ");
  const find = (text, regex) => [...text.matchAll(regex)].map((m) => snippet(text, m));
  const PIPE_TABLE = /\|\s*:?-{3,}:?\s*\|/g;
  const RAW_TEX = /\$\$?[^$\n]{1,200}\$\$?|\\\(|\\\[|\\begin\{/g;
  const RAW_MYST = /\{(glue|glue:text|glue:figure|term|cite|cite:t|cite:p|ref|numref|doc|math|eq)\}`?|^`{3}\{/gm;
  const prose = textOutside(article);
  const outputs = [...article.querySelectorAll(".cell_output")].map((el) => el.textContent).join("\n");
  const images = [...article.querySelectorAll("img")].filter((img) => img.naturalWidth > 0 && img.offsetParent)
    .map((img) => ({src: (img.currentSrc || img.src).split("/").pop().slice(0, 60),
                    scale: img.getBoundingClientRect().width / img.naturalWidth, natural: img.naturalWidth}));
  const wideCode = [...article.querySelectorAll(".cell_input pre, .cell_output pre, div.highlight pre")]
    .filter((pre) => pre.offsetParent && pre.scrollWidth > pre.clientWidth + 2)
    .map((pre) => pre.textContent.trim().split("\n")[0].slice(0, 70));
  const wideTables = [...article.querySelectorAll(".cell_output table, .cell_output .dataframe")]
    .filter((table) => table.offsetParent)
    .filter((table) => table.getBoundingClientRect().width > table.closest(".cell_output").clientWidth + 2)
    .map((table) => "table: " + table.textContent.trim().replace(/\s+/g, " ").slice(0, 60));
  const markdownWriters = [...article.querySelectorAll(".cell_input")]
    .filter((el) => /\bMarkdown\s*\(/.test(el.textContent))
    .map((el) => el.textContent.trim().split("\n")[0].slice(0, 70));
  const repeatedCitations = [];
  for (const block of article.querySelectorAll("p, li, dd, td")) {
    const seen = new Map();
    for (const a of block.querySelectorAll(':scope a[href*="references.html#"]')) {
      if (a.closest("li, dd, td, p") !== block) continue;  // counted in its own innermost block
      const target = a.getAttribute("href").split("#")[1];
      seen.set(target, (seen.get(target) || 0) + 1);
    }
    for (const [target, count] of seen) {
      if (count > 1) repeatedCitations.push(`${target} x${count}: ${block.textContent.trim().slice(0, 80)}`);
    }
  }
  return {
    pipeTables: find(prose, PIPE_TABLE).concat(find(outputs, PIPE_TABLE)),
    rawTex: find(prose, RAW_TEX).concat(find(outputs, RAW_TEX)),
    rawMyst: find(prose, RAW_MYST).concat(find(outputs, RAW_MYST)),
    images: images,
    wideCode: wideCode.concat(wideTables),
    markdownWriters: markdownWriters,
    repeatedCitations: repeatedCitations,
  };
}
"""


@dataclass
class PageReport:
    """A page after loading, typesetting and drawing widgets: its log and what it shows."""

    log: PageLog
    facts: dict[str, Any]
    waits: list[str]  # bounded waits that ran out


def _wait(
    page: Any,
    condition_js: str,
    timeout_ms: int,
    what: str,
    waits: list[str],
    give_up: Callable[[], str | None] = lambda: None,
) -> bool:
    """Poll ``condition_js`` in the page until it is true, ``give_up()`` names a reason, or the time runs out.

    Returns whether the condition became true; otherwise appends why not to ``waits``.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        if page.evaluate(condition_js):
            return True
        reason = give_up()
        if reason:
            waits.append(f"{what} gave up: {reason}")
            return False
        if time.monotonic() > deadline:
            waits.append(f"{what} did not finish within {timeout_ms / 1000:.0f} s")
            return False
        page.wait_for_timeout(100)


def _request_problem(log: PageLog, fragment: str) -> Callable[[], str | None]:
    """A ``give_up`` for :func:`_wait`: the first failed or blocked request whose URL contains ``fragment``."""

    def check() -> str | None:
        for line in log.failed_requests + log.external_requests:
            if fragment in line:
                return line
        return None

    return check


def inspect_page(browser: Any, url: str) -> PageReport:
    """Load ``url``, wait (bounded) for MathJax and the widget manager, and report what the page shows."""
    page, log = open_page(browser, url)
    waits: list[str] = []
    try:
        if page.locator(".math").count():
            started = _wait(
                page,
                "() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)",
                MATH_TIMEOUT_MS,
                "loading MathJax",
                waits,
                _request_problem(log, "tex-chtml.js"),
            )
            if started:
                page.evaluate(
                    "() => MathJax.startup.promise.then(() => { window.__segbookMath = 'done'; },"
                    " (e) => { window.__segbookMath = String(e); })"
                )
                _wait(page, "() => window.__segbookMath !== undefined", MATH_TIMEOUT_MS, "MathJax typesetting", waits)
        views = 'script[type="application/vnd.jupyter.widget-view+json"]'
        state = 'script[type="application/vnd.jupyter.widget-state+json"]'
        if page.locator(views).count() and not page.locator(state).count():
            waits.append(f"the page has widget views but no widget state to draw them from ({NO_STATE_HINT})")
        elif page.locator(views).count():
            _wait(
                page,
                "() => [...document.querySelectorAll('.widget-subarea')].filter("
                "(el) => el.querySelector('.jupyter-widgets, .lm-Widget')).length >= "
                f"document.querySelectorAll('{views}').length",
                WIDGET_TIMEOUT_MS,
                "drawing the widgets",
                waits,
                lambda: _request_problem(log, "/vendor/")() or (log.page_errors[0] if log.page_errors else None),
            )
        try:
            page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
        except PlaywrightTimeoutError:  # a page that never goes idle is reported, not raised
            waits.append(f"the network did not go idle within {LOAD_TIMEOUT_MS / 1000:.0f} s")
        facts = page.evaluate(f"(() => {{ {_READER_JS}; return ({_INSPECT_JS}); }})()", IMAGE_TIMEOUT_MS)
        return PageReport(log=log, facts=facts, waits=waits)
    finally:
        page.context.close()


@pytest.fixture(scope="module")
def report(browser: Any, site_url: str) -> Any:
    """``report(page)``: the (cached) :class:`PageReport` of a page of the book; fails if it was not built."""
    cache: dict[str, PageReport] = {}

    def get(docname: str) -> PageReport:
        if not (SITE_DIR / f"{docname}.html").is_file():
            pytest.fail(
                f"{docname} is listed in _toc.yml but {SITE_DIR / (docname + '.html')} does not exist: {BUILD_HINT}",
                pytrace=False,
            )
        if docname not in cache:
            cache[docname] = inspect_page(browser, site_url + docname + ".html")
        return cache[docname]

    return get


def _listing(title: str, items: list[str]) -> str:
    return f"{title}:\n" + "\n".join(f"  - {item}" for item in items)


# ---------------------------------------------------------------------------------------------------- per page


def test_site_is_built() -> None:
    """The site exists, with the redirect page and every page of the table of contents, in every language."""
    if not (SITE_DIR / "index.html").is_file():
        pytest.fail(f"no built site at {SITE_DIR}: {BUILD_HINT}", pytrace=False)
    missing = [page for page in SITE_PAGES if not (SITE_DIR / f"{page}.html").is_file()]
    missing += [f"{code}/index.html" for code in BUILT_TRANSLATIONS if not (SITE_DIR / code / "index.html").is_file()]
    assert not missing, _listing(f"pages of _toc.yml missing from {SITE_DIR} ({BUILD_HINT})", missing)


@pytest.mark.parametrize("language", ["en", *BUILT_TRANSLATIONS])
def test_site_root_opens_the_first_page(language: str, browser: Any, site_url: str) -> None:
    """The site's address (index.html) leads to the root page of _toc.yml; a translation's (vi/) to its own."""
    root = "" if language == "en" else f"{language}/"
    tab, log = open_page(browser, site_url + root)
    try:
        tab.wait_for_url(f"**/{root}{PAGES[0]}.html", timeout=10_000)
        problems = log.console_errors + log.page_errors + log.failed_requests + log.external_requests
        assert not problems, _listing("opening the site's root", problems)
    finally:
        tab.context.close()


@pytest.mark.parametrize("page", SITE_PAGES)
def test_page_loads_without_errors(page: str, report: Any) -> None:
    """The page answers 200 and logs no console error, throws nothing, and every request it makes succeeds."""
    result = report(page)
    problems = []
    if result.log.status != 200:
        problems.append(f"the page itself answered HTTP {result.log.status}")
    problems += [f"console error: {text}" for text in result.log.console_errors]
    problems += [f"uncaught exception: {text}" for text in result.log.page_errors]
    problems += [f"failed request: {text}" for text in result.log.failed_requests]
    problems += result.waits
    assert not problems, _listing(f"{page} did not load cleanly", problems)


@pytest.mark.parametrize("page", SITE_PAGES)
def test_page_requests_nothing_from_other_hosts(page: str, report: Any) -> None:
    """Every request goes to the local server: the site works offline (no CDN, no fonts, no badges)."""
    log = report(page).log
    requests, external = log.requests, log.external_requests
    assert requests, f"{page}: the browser recorded no request at all; the request log is broken"
    assert not external, _listing(
        f"{page} asked other hosts for (blocked) — vendor the asset (tools/vendor.sh) or remove it", external
    )


@pytest.mark.parametrize("page", SITE_PAGES)
def test_math_is_typeset(page: str, report: Any) -> None:
    """Every math element was typeset by the vendored MathJax 3, with no TeX error and no raw delimiters left."""
    result = report(page)
    facts, waits = result.facts, "; ".join(result.waits)
    if facts["mathCount"] == 0:
        assert "math" not in REQUIRED_FEATURES.get(source_page(page), set()), f"{page} must show math but has none"
        return
    loaded = [url for url in result.log.requests if "/_static/vendor/mathjax/tex-chtml.js" in url]
    assert loaded, f"{page} has math but did not load the vendored _static/vendor/mathjax/tex-chtml.js. {waits}"
    version = facts["mathjaxVersion"]
    assert version and version.startswith("3."), (
        f"{page}: MathJax 3 is not running (window.MathJax.version = {version!r}). {waits}"
    )
    raw, errors = facts["rawMath"], facts["texErrors"]
    assert not raw, _listing(f"{page}: math left untypeset (raw TeX shown)", raw)
    assert not errors, _listing(f"{page}: MathJax reported TeX errors", errors)


@pytest.mark.parametrize("page", SITE_PAGES)
def test_images_are_decoded(page: str, report: Any) -> None:
    """Every image of the page's article (notebook figures included) loaded and decoded: naturalWidth > 0."""
    images = report(page).facts["images"]
    broken = [image["src"] for image in images if image["width"] <= 0]
    assert not broken, _listing(f"{page}: images that did not load or decode", broken)
    if "output_figure" in REQUIRED_FEATURES.get(source_page(page), set()):
        outputs = [image["src"] for image in images if image["output"]]
        assert outputs, f"{page} must show a figure from a notebook output but shows none"


@pytest.mark.parametrize("page", SITE_PAGES)
def test_widgets_are_drawn_by_the_vendored_manager(page: str, report: Any) -> None:
    """Every widget view stored in the page is drawn, by the widget manager the site serves itself."""
    result = report(page)
    facts, waits = result.facts, "; ".join(result.waits)
    views, drawn, errors = facts["widgetViews"], facts["widgetsDrawn"], facts["widgetErrors"]
    if views == 0:
        assert "widget" not in REQUIRED_FEATURES.get(source_page(page), set()), (
            f"{page} must show a widget but stores none"
        )
        return
    assert facts["widgetState"], f"{page} has {views} widget views but stores no widget state: {NO_STATE_HINT}"
    manager = [url for url in result.log.requests if "/_static/vendor/widgets/embed-amd.js" in url]
    assert manager, f"{page} has widgets but did not load the vendored _static/vendor/widgets/embed-amd.js. {waits}"
    assert not errors, _listing(f"{page}: the widget manager reported errors", errors)
    assert drawn >= views, f"{page}: {drawn} of {views} widgets drawn. {waits}"


@pytest.mark.parametrize("page", translated(sorted(REQUIRED_FEATURES)))
def test_page_shows_what_it_must(page: str, report: Any) -> None:
    """The pages that teach with math, figures, widgets, solutions and hidden code still show them."""
    if source_page(page) not in PAGES:
        pytest.fail(f"{source_page(page)} is in REQUIRED_FEATURES but not in _toc.yml", pytrace=False)
    facts = report(page).facts
    present = {
        "math": facts["mathCount"] > 0,
        "output_figure": any(image["output"] and image["width"] > 0 for image in facts["images"]),
        "widget": facts["widgetViews"] > 0 and facts["widgetsDrawn"] >= facts["widgetViews"],
        "solution": facts["solutions"] > 0,
        "hide_input": facts["hideInput"] > 0,
        "colab": bool(facts["colabLinks"]),
        "glossary": facts["glossaryTerms"] >= MIN_GLOSSARY_TERMS,
        "bibliography": facts["bibliographyEntries"] >= MIN_BIBLIOGRAPHY_ENTRIES,
    }
    missing = sorted(feature for feature in REQUIRED_FEATURES[source_page(page)] if not present[feature])
    counts = (
        f"math elements: {facts['mathCount']}, output images: {sum(i['output'] for i in facts['images'])}, "
        f"widgets drawn/stored: {facts['widgetsDrawn']}/{facts['widgetViews']}, solutions: "
        f"{facts['solutions']}, hide-input cells: {facts['hideInput']}, Colab links: {len(facts['colabLinks'])}, "
        f"glossary terms: {facts['glossaryTerms']} (>= {MIN_GLOSSARY_TERMS}), bibliography entries: "
        f"{facts['bibliographyEntries']} (>= {MIN_BIBLIOGRAPHY_ENTRIES})"
    )
    assert not missing, f"{page} must show {', '.join(missing)} but does not ({counts})"


# ------------------------------------------------------------------------------------- what the reader sees

MIN_IMAGE_SCALE = 0.7  # a figure shown below this fraction of its natural width has unreadable labels
PHONE_WIDTH = 390  # px: a phone's viewport


def reader_problems(reader: dict[str, Any]) -> dict[str, list[str]]:
    """The defects a reader trips over, by kind, from the ``reader`` facts that ``_READER_JS`` computes."""
    return {
        "Markdown pipe tables shown as text (show a DataFrame, not Markdown printed by code)": reader["pipeTables"],
        "raw TeX shown as text (write maths in a Markdown cell, not in a printed or generated string)": reader[
            "rawTex"
        ],
        "raw MyST shown as text (a role or directive that was not parsed)": reader["rawMyst"],
        f"figures shown below {MIN_IMAGE_SCALE:.0%} of their natural width (draw them at most 7 in wide)": [
            f"{image['src']} at {image['scale']:.2f} of {image['natural']} px"
            for image in reader["images"]
            if image["scale"] < MIN_IMAGE_SCALE
        ],
        "code, printed output or a table wider than its column "
        "(keep lines within 88 columns; split wide tables)": reader["wideCode"],
        "code cells that write prose with Markdown(...) (write it in a Markdown cell, glue the numbers)": reader[
            "markdownWriters"
        ],
        "a citation printed twice in one paragraph": reader["repeatedCitations"],
    }


def phone_scroll(browser: Any, url: str) -> tuple[int, list[str]]:
    """Open ``url`` at a phone's width; return how far the page scrolls sideways (px) and what sticks out."""
    page, _ = open_page(browser, url, width=PHONE_WIDTH)
    try:
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
        return page.evaluate(r"""() => {
          const width = window.innerWidth;
          const culprits = [...document.querySelectorAll("article *")]
            .filter((el) => el.getBoundingClientRect().right > width + 1 && el.offsetParent
                    && !el.closest("pre, .highlight, .table-wrapper, .cell_output, mjx-container, .MathJax"))
            .filter((el) => ![...el.children].some((child) => child.getBoundingClientRect().right > width + 1))
            .slice(0, 8)
            .map((el) => `<${el.tagName.toLowerCase()}> ${el.textContent.trim().slice(0, 60)}`);
          return [document.documentElement.scrollWidth - width, culprits];
        }""")
    finally:
        page.context.close()


@pytest.mark.parametrize("page", SITE_PAGES)
def test_reader_sees_rendered_tables_maths_and_legible_figures(page: str, report: Any) -> None:
    """No pipe-table or TeX text, no raw MyST, no figure shrunk below 0.7, no code wider than the column, no
    Markdown() prose from code, no citation printed twice in a paragraph (at 1280 px)."""
    problems = {kind: items for kind, items in reader_problems(report(page).facts["reader"]).items() if items}
    assert not problems, f"{page}:\n" + "\n".join(_listing(kind, items) for kind, items in problems.items())


@pytest.mark.parametrize("page", SITE_PAGES)
def test_page_does_not_scroll_sideways_on_a_phone(page: str, browser: Any, site_url: str, report: Any) -> None:
    """At 390 px the page fits the screen: wide code and tables scroll inside their own box, never the page."""
    report(page)  # fails with the build hint when the page is missing
    scroll, culprits = phone_scroll(browser, site_url + page + ".html")
    assert scroll <= 1, _listing(f"{page} scrolls {scroll} px sideways at {PHONE_WIDTH} px; what sticks out", culprits)


def test_a_figure_opens_full_size_on_click_and_closes_with_escape(browser: Any, site_url: str, report: Any) -> None:
    """Click to enlarge (_static/segbook-zoom.js, served by the site): a notebook figure opens at its natural
    width over the page; Escape closes it and gives the focus back to the figure."""
    page = NOTEBOOK_PAGES[0]
    report(page)
    tab, log = open_page(browser, site_url + page + ".html")
    try:
        tab.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
        figure = tab.locator("article .cell_output img.segbook-zoomable").first
        assert figure.count() == 1, f"{page}: no figure is marked zoomable (is _static/segbook-zoom.js loaded?)"
        figure.scroll_into_view_if_needed()
        natural = figure.evaluate("(img) => img.naturalWidth")
        figure.click()
        big = tab.locator("div.segbook-zoom img")
        big.wait_for(state="visible", timeout=5_000)
        shown = big.evaluate("(img) => img.getBoundingClientRect().width")
        assert abs(shown - natural) <= 1, f"{page}: the enlarged figure is {shown:.0f} px wide, not its {natural} px"
        tab.keyboard.press("Escape")
        big.wait_for(state="detached", timeout=5_000)
        assert figure.evaluate("(img) => document.activeElement === img"), "the focus did not return to the figure"
        assert not log.page_errors, _listing(f"{page}: exceptions while zooming", log.page_errors)
    finally:
        tab.context.close()


_BROKEN_PAGE = """<!doctype html><html><head><meta name="viewport" content="width=device-width"></head><body>
<article>
<p>| model | mIoU |
|---|---:|
| FCN | 0.5 |</p>
<p>The focal loss with $\\gamma = 2$ and {glue:text}`miou:.3f`.</p>
<p>As <a href="references.html#id1">Long (2015)</a> showed (<a href="references.html#id1">Long, 2015</a>).</p>
<img src="data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='2000' height='100'/>"
     style="max-width: 100%">
<div class="cell_input"><pre>display(Markdown(f"mIoU {x}"))</pre></div>
<div class="cell_output"><pre style="overflow:auto; width: 300px">LONG_OUTPUT</pre></div>
<div class="cell_output" style="width: 300px; overflow: auto"><table style="width: 3000px">
<tr><td>a table wider than the page</td></tr></table></div>
<p><code style="white-space: nowrap">LONG_CODE</code></p>
</article></body></html>"""


def test_the_reader_checks_fail_on_a_broken_page(tmp_path: Path, browser: Any) -> None:
    """Each check above finds its defect on a page made to have it (and the phone check sees the page scroll)."""
    (tmp_path / "broken.html").write_text(
        _BROKEN_PAGE.replace("LONG_OUTPUT", "x" * 200).replace("LONG_CODE", "y" * 120), encoding="utf-8"
    )
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/broken.html"
        facts = inspect_page(browser, url).facts
        problems = reader_problems(facts["reader"])
        empty = [kind for kind, items in problems.items() if not items]
        assert any(item.startswith("table:") for item in facts["reader"]["wideCode"]), "the wide table was not seen"
        assert not empty, _listing("defects the checks did not see on the broken page", empty)
        scroll, culprits = phone_scroll(browser, url)
        assert scroll > 1 and culprits, f"the phone check did not see the page scroll ({scroll} px)"
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------------------------------- features


def test_toc_pages_lists_every_file_in_order(tmp_path: Path) -> None:
    """Root, parts, chapters and nested sections all count, in reading order, without extensions."""
    toc = tmp_path / "_toc.yml"
    toc.write_text(
        "format: jb-book\nroot: chapters/intro\nparts:\n  - caption: A\n    chapters:\n"
        "      - file: chapters/one.ipynb\n        sections:\n          - file: chapters/one_a\n"
        "      - file: chapters/two.md\n  - caption: B\n    chapters:\n      - file: chapters/app\n",
        encoding="utf-8",
    )
    assert toc_pages(toc) == ["chapters/intro", "chapters/one", "chapters/one_a", "chapters/two", "chapters/app"]
    toc.write_text("format: jb-article\nroot: intro\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a jb-book"):
        toc_pages(toc)


def test_expected_colab_url_follows_the_config(tmp_path: Path) -> None:
    """Owner, repository, branch and book path all come from _config.yml; a trailing .git is dropped."""
    config = tmp_path / "_config.yml"
    config.write_text(
        "repository:\n  url: https://github.com/someone/course.git\n  branch: dev\n"
        "  path_to_book: book/\nlaunch_buttons:\n  colab_url: https://colab.research.google.com/\n",
        encoding="utf-8",
    )
    assert expected_colab_url(config, "chapters/x") == (
        "https://colab.research.google.com/github/someone/course/blob/dev/book/chapters/x.ipynb"
    )
    config.write_text(
        "repository:\n  url: https://gitlab.com/someone/course\n  branch: main\n"
        "launch_buttons:\n  colab_url: https://colab.research.google.com\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="not https://github.com"):
        expected_colab_url(config, "chapters/x")
    config.write_text(
        "repository:\n  url: https://github.com/someone/course\n  branch: dev\n  path_to_book: book\n"
        "segbook:\n  colab_branch: colab\nlaunch_buttons:\n  colab_url: https://colab.research.google.com\n",
        encoding="utf-8",
    )
    assert expected_colab_url(config, "chapters/x") == (
        "https://colab.research.google.com/github/someone/course/blob/colab/chapters/x.ipynb"
    )


@pytest.mark.parametrize("page", SITE_NOTEBOOK_PAGES)
def test_colab_link_points_at_the_notebook_in_the_configured_repository(page: str, report: Any) -> None:
    """The launch button opens this notebook's Colab edition, from the repository and branch of _config.yml (in
    every language: the notebooks themselves are the English ones)."""
    expected = expected_colab_url(BOOK_DIR / "_config.yml", source_page(page))
    links: list[str] = report(page).facts["colabLinks"]
    assert expected in links, _listing(f"{page}: no Colab link to {expected}; Colab links on the page", links)


def test_the_first_chapter_is_a_notebook_page() -> None:
    """The Colab test above really runs: chapter 1 is a notebook listed in the table of contents."""
    assert "chapters/01_segmentation_task" in NOTEBOOK_PAGES, (
        f"chapters/01_segmentation_task.ipynb is not in {BOOK_DIR / '_toc.yml'} or does not exist"
    )


# The student notebooks (handouts): where the site and the Colab edition's branch publish them (make book runs
# segbook.book.handouts), and the archive of them all.
HANDOUT_DIR = "student"
HANDOUT_ARCHIVE = f"{HANDOUT_DIR}/segbook-student-notebooks.zip"


def expected_student_colab_url(config_path: Path, docname: str) -> str:
    """Return the Colab URL of the student notebook of notebook page ``docname``, from ``_config.yml``.

    The handouts are published flat, ``student/<notebook>.ipynb``, on the branch ``segbook.colab_branch`` (default
    ``colab``) beside the Colab edition: ``https://colab.research.google.com/github/<owner>/<repo>/blob/
    <colab_branch>/student/<name>.ipynb``, whatever the page's folder.
    """
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", config["repository"]["url"])
    if match is None:
        raise ValueError(f"repository.url in {config_path} is not https://github.com/<owner>/<repo>")
    branch = (config.get("segbook") or {}).get("colab_branch") or "colab"
    name = docname.rsplit("/", 1)[-1]
    return f"https://colab.research.google.com/github/{match[1]}/{match[2]}/blob/{branch}/{HANDOUT_DIR}/{name}.ipynb"


def test_expected_student_colab_url_follows_the_config(tmp_path: Path) -> None:
    """Owner, repository and the edition's branch come from _config.yml; the handout sits in student/, flat."""
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/someone/course.git\n  branch: dev\n", encoding="utf-8")
    assert expected_student_colab_url(config, "chapters/x") == (
        "https://colab.research.google.com/github/someone/course/blob/colab/student/x.ipynb"
    )
    config.write_text(
        "repository:\n  url: https://github.com/someone/course\nsegbook:\n  colab_branch: handouts\n", encoding="utf-8"
    )
    assert expected_student_colab_url(config, "a/b/y") == (
        "https://colab.research.google.com/github/someone/course/blob/handouts/student/y.ipynb"
    )


def _preview_without_handouts() -> bool:
    """A site built by tools/preview.sh, which does not run make book's handout step: no student/ folder at all.

    The repository's own build (``make book``, CI) is never one: there a missing folder fails the tests below.
    """
    return not (SITE_DIR / HANDOUT_DIR).is_dir() and SITE_DIR != (BOOK_DIR / "_build" / "html").resolve()


PREVIEW_HANDOUTS_HINT = (
    "this preview has no student notebooks; to check them too, run in the repository: "
    "`.venv/bin/python -m segbook.book.colab_edition --config PREVIEW/_config.yml` then "
    "`.venv/bin/python -m segbook.book.handouts --config PREVIEW/_config.yml`"
)


def _built_page(page: str) -> str:
    path = SITE_DIR / f"{page}.html"
    if not path.is_file():
        pytest.fail(f"{page} is listed in _toc.yml but {path} does not exist: {BUILD_HINT}", pytrace=False)
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("page", SITE_NOTEBOOK_PAGES)
def test_notebook_page_links_its_student_notebook_and_the_archive(page: str) -> None:
    """Under its title, the page links its student notebook in Colab, as a download, and the archive of every
    student notebook; the header's menus hold the same links; the files are in the site, and the notebook is the
    student version (no solution left, its badge opens itself)."""
    html_text = _built_page(page)
    line = re.search(r'<p class="segbook-handout">(.*?)</p>', html_text, re.S)
    assert line is not None, f"{page}: no 'Student notebook' line (p.segbook-handout) under the title"
    hrefs = [html.unescape(href) for href in re.findall(r'href="([^"]*)"', line.group(1))]
    colab = expected_student_colab_url(BOOK_DIR / "_config.yml", page)
    name = page.rsplit("/", 1)[-1] + ".ipynb"
    problems = [] if colab in hrefs else [f"no link to {colab} (links: {hrefs})"]
    local = {os.path.normpath((SITE_DIR / page).parent / href) for href in hrefs if not urlsplit(href).scheme}
    preview = _preview_without_handouts()
    for target in (SITE_DIR / HANDOUT_DIR / name, SITE_DIR / HANDOUT_ARCHIVE):
        if str(target) not in local:
            problems.append(f"no link to {target.relative_to(SITE_DIR)} (links: {hrefs})")
        elif not target.is_file() and not preview:
            problems.append(f"{target.relative_to(SITE_DIR)} is linked but not in the site (make book runs handouts)")
    for href in hrefs:
        if html_text.count(f'href="{html.escape(href)}"') < 2:
            problems.append(f"{href} is not in the header's menus too")
    assert not problems, _listing(f"{page}: the student notebook's links", problems)
    if preview:
        pytest.skip(f"{page}: the links are right, the files not checked: {PREVIEW_HANDOUTS_HINT}")
    handout = json.loads((SITE_DIR / HANDOUT_DIR / name).read_text(encoding="utf-8"))
    sources = ["".join(cell["source"]) for cell in handout["cells"]]
    assert not any("### BEGIN SOLUTION" in source or "<summary>Solution" in source for source in sources), (
        f"{HANDOUT_DIR}/{name} still holds a solution"
    )
    assert sources[0].endswith(f"({colab})"), f"{HANDOUT_DIR}/{name}: its badge does not open it: {sources[0]!r}"


def test_the_archive_holds_the_student_notebook_of_every_notebook_page() -> None:
    """The archive the chapter pages link holds a README and, byte for byte, each page's student notebook."""
    archive = SITE_DIR / HANDOUT_ARCHIVE
    if _preview_without_handouts():
        pytest.skip(PREVIEW_HANDOUTS_HINT)
    if not archive.is_file():
        pytest.fail(f"no {HANDOUT_ARCHIVE} in {SITE_DIR}: {BUILD_HINT}", pytrace=False)
    with zipfile.ZipFile(archive) as bundle:
        members = {name.split("/", 1)[-1]: name for name in bundle.namelist()}
        missing = [page for page in NOTEBOOK_PAGES if page.rsplit("/", 1)[-1] + ".ipynb" not in members]
        assert not missing, _listing(f"{HANDOUT_ARCHIVE} lacks the student notebook of", missing)
        assert "README.md" in members, f"{HANDOUT_ARCHIVE} has no README.md: {sorted(members)}"
        for page in NOTEBOOK_PAGES:
            name = page.rsplit("/", 1)[-1] + ".ipynb"
            assert bundle.read(members[name]) == (SITE_DIR / HANDOUT_DIR / name).read_bytes(), (
                f"{HANDOUT_ARCHIVE}'s {name} differs from the download {HANDOUT_DIR}/{name}"
            )


@pytest.mark.parametrize(
    "page", translated([page for page, features in REQUIRED_FEATURES.items() if "solution" in features])
)
def test_solutions_are_hidden_until_clicked(page: str, browser: Any, site_url: str, report: Any) -> None:
    """Every solution's text is invisible when the page opens and visible once its "Click to show" is clicked."""
    report(page)  # fails with the build hint when the page is missing
    tab, log = open_page(browser, site_url + page + ".html")
    try:
        solutions = tab.locator(".solution")
        count = solutions.count()
        assert count > 0, f"{page} has no solution block"
        for index in range(count):
            solution = solutions.nth(index)
            body = solution.locator(":scope > :not(.admonition-title)").first
            button = solution.locator("button.toggle-button")
            solution.scroll_into_view_if_needed()
            assert not body.is_visible(), f"{page}: solution {index + 1} is visible before it is clicked"
            assert button.count() == 1, (
                f"{page}: solution {index + 1} has no 'Click to show' button (is it `:class: dropdown`?)"
            )
            button.click()
            with contextlib.suppress(PlaywrightTimeoutError):  # a solution that stays hidden fails just below
                body.wait_for(state="visible", timeout=5_000)
            assert body.is_visible(), f"{page}: solution {index + 1} is still hidden after a click on its button"
        errors = log.page_errors
        assert not errors, _listing(f"{page}: exceptions while clicking", errors)
    finally:
        tab.context.close()


@pytest.mark.parametrize(
    "page", translated([page for page, features in REQUIRED_FEATURES.items() if "hide_input" in features])
)
def test_hide_input_cells_show_output_but_not_code(page: str, browser: Any, site_url: str, report: Any) -> None:
    """A cell tagged hide-input shows its output while its code stays collapsed until asked for."""
    report(page)
    tab, _ = open_page(browser, site_url + page + ".html")
    try:
        cells = tab.locator(".cell.tag_hide-input")
        assert cells.count() > 0, f"{page} has no hide-input cell"
        for index in range(cells.count()):
            cell = cells.nth(index)
            cell.scroll_into_view_if_needed()
            assert not cell.locator(".cell_input").first.is_visible(), f"{page}: hide-input cell {index + 1} shows code"
            if cell.locator(".cell_output").count():
                assert cell.locator(".cell_output").first.is_visible(), (
                    f"{page}: hide-input cell {index + 1} hides its output too"
                )
    finally:
        tab.context.close()


# ---------------------------------------------------------------------------------------------------- dark mode

# Computed in the browser: the page's mode and background, and each notebook output image's own background
# (walking up to the first ancestor that paints one) and its box on the page.
_DARK_JS = r"""
() => {
  const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
  const painted = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const images = [...document.querySelectorAll("article .cell_output img")];
  return {
    theme: document.documentElement.dataset.theme,
    page: painted(document.querySelector(".bd-main") || document.body),
    images: images.map((img) => ({src: (img.currentSrc || img.src).slice(-40), background: painted(img),
                                  filter: getComputedStyle(img).filter})),
  };
}
"""


def _luminance(rgb: list[float]) -> float:
    """Relative luminance (WCAG) of an sRGB colour given as 0-255 channels: 0 black, 1 white."""

    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


DARK_PAGES = [page for page, features in REQUIRED_FEATURES.items() if "output_figure" in features]
LIGHT_BACKGROUND = 0.5  # luminance a figure's background must exceed in dark mode (white is 1, the page ~0.01)
SAMPLED_IMAGES = 3  # images per page whose pixels are sampled from a screenshot (the rest: computed style only)


@pytest.mark.parametrize("page", translated(DARK_PAGES))
def test_figures_sit_on_a_light_background_in_dark_mode(page: str, browser: Any, site_url: str, report: Any) -> None:
    """With the theme switched to dark, every notebook figure keeps a light background (its dark labels stay
    readable): by the computed style of the image's box, and by the screenshot pixels at its edges."""
    from io import BytesIO

    from PIL import Image

    report(page)  # fails with the build hint when the page is missing
    tab, log = open_page(browser, site_url + page + ".html", mode="dark")
    try:
        tab.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
        facts = tab.evaluate(_DARK_JS)
        assert facts["theme"] == "dark", f"{page}: the page did not switch to dark mode (data-theme={facts['theme']})"
        assert _luminance(facts["page"]) < 0.1, f"{page}: the page background is not dark in dark mode: {facts['page']}"
        assert facts["images"], f"{page} shows no notebook figure"
        dark = [
            f"{image['src']}: background rgb{tuple(image['background'])}"
            for image in facts["images"]
            if _luminance(image["background"]) < LIGHT_BACKGROUND
        ]
        assert not dark, _listing(f"{page}: figures on a dark background in dark mode", dark)
        problems = []
        images = tab.locator("article .cell_output img")
        for index in range(min(images.count(), SAMPLED_IMAGES)):
            image = images.nth(index)
            image.scroll_into_view_if_needed()
            shot = Image.open(BytesIO(image.screenshot(animations="disabled"))).convert("RGB")
            w, h = shot.size
            # The outermost pixel rows and columns, away from the rounded corners: the figure's margin and the
            # box around it, what the figure's dark labels are drawn on.
            edges = [shot.getpixel((x, y)) for x in range(w // 10, w - w // 10, max(w // 20, 1)) for y in (1, h - 2)]
            edges += [shot.getpixel((x, y)) for y in range(h // 10, h - h // 10, max(h // 20, 1)) for x in (1, w - 2)]
            light = sum(_luminance(list(p)) > LIGHT_BACKGROUND for p in edges) / len(edges)
            if light < 0.9:
                problems.append(f"image {index + 1}: only {light:.0%} of its edge pixels are light")
        assert not problems, _listing(f"{page}: figures not on a light background (screenshot)", problems)
        assert not log.page_errors, _listing(f"{page}: exceptions in dark mode", log.page_errors)
    finally:
        tab.context.close()


@pytest.mark.parametrize("page", translated(["chapters/glossary", "chapters/references"]))
def test_term_and_cite_links_land_on_an_entry(page: str, browser: Any, site_url: str, report: Any) -> None:
    """Every {term} link of every page of the book points at a term of the glossary, and every {cite} link at an
    entry of the references page (Sphinx warns about unknown ones; this checks the built HTML's anchors)."""
    report(page)
    target_html = (SITE_DIR / f"{page}.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'id="([^"]+)"', target_html))
    kind = "term" if page.endswith("glossary") else "cite"
    name = Path(page).name + ".html"
    broken, found = [], 0
    prefix = page[: len(page) - len(source_page(page))]  # "vi/" on a translation's page
    for docname in (prefix + name for name in PAGES):
        html_path = SITE_DIR / f"{docname}.html"
        if not html_path.is_file():
            continue
        for href in re.findall(r'href="([^"]*' + re.escape(name) + r'#[^"]+)"', html_path.read_text("utf-8")):
            anchor = href.split("#", 1)[1]
            if kind == "term" and not anchor.startswith("term-"):
                continue
            found += 1
            if anchor not in ids:
                broken.append(f"{docname}: {href}")
    assert found, f"no page links to {page} ({kind} links)"
    assert not broken, _listing(f"links to {page} without a target", broken)


# ---------------------------------------------------------------------------------------------------- languages

_SWITCH = re.compile(r'<a class="btn btn-sm segbook-language-link" href="([^"]+)" hreflang="([^"]+)"')
_GLUED = re.compile(r'<span class="pasted-text">(.*?)</span>', re.S)
_OUTPUT_IMAGE = re.compile(r'<div class="cell_output[^"]*">.*?(?=<div class="cell[ "]|</article>)', re.S)


@pytest.mark.parametrize("page", SITE_PAGES)
def test_every_page_says_its_language_and_switches_to_the_others(page: str) -> None:
    """The page declares its language (<html lang>) and its header links the same page in every other language;
    each link leads to a page of the site."""
    html_text = _built_page(page)
    language = language_of(page)
    declared = re.search(r'<html lang="([^"]+)"', html_text)
    assert declared and declared.group(1) == language, (
        f"{page}: <html lang={declared.group(1) if declared else None!r}>, expected {language!r}"
    )
    links = {code: href for href, code in _SWITCH.findall(html_text)}
    expected = {code for code in ["en", *TRANSLATIONS] if code != language}
    assert set(links) == expected, f"{page}: the language switch links {sorted(links)}, expected {sorted(expected)}"
    for code, href in links.items():
        target = Path(os.path.normpath((SITE_DIR / page).parent / href))
        other = source_page(page) if code == "en" else f"{code}/{source_page(page)}"
        assert target == SITE_DIR / f"{other}.html", f"{page}: the {code} link {href} leads to {target}, not {other}"
        if code in BUILT_TRANSLATIONS or code == "en":
            assert target.is_file(), f"{page}: the {code} link {href} leads to a missing page ({BUILD_HINT})"


@pytest.mark.parametrize("page", [f"{code}/{page}" for code in BUILT_TRANSLATIONS for page in NOTEBOOK_PAGES])
def test_a_translation_shows_the_same_numbers_and_figures(page: str) -> None:
    """A translated notebook page shows the numbers glued from the same execution and the same output figures as
    the English page (the build executes each notebook once)."""
    english, translation = _built_page(source_page(page)), _built_page(page)
    # A translation groups digits in its own style (segbook.book.i18n_transforms.THOUSANDS: "1 290" in Vietnamese).
    local = [number.replace("&nbsp;", ",").replace("\u00a0", ",") for number in _GLUED.findall(translation)]
    assert sorted(local) == sorted(_GLUED.findall(english)), f"{page}: its glued numbers differ from the English page's"
    assert _GLUED.findall(english) or "{glue" not in (BOOK_DIR / f"{source_page(page)}.ipynb").read_text("utf-8")

    def figures(text: str) -> list[str]:
        return [src for block in _OUTPUT_IMAGE.findall(text) for src in re.findall(r'<img[^>]* src="([^"]+)"', block)]

    assert figures(translation) == figures(english), f"{page}: its output figures differ from the English page's"
    assert figures(english), f"{source_page(page)}: no output figure found (is the pattern still right?)"


@pytest.mark.parametrize("language", BUILT_TRANSLATIONS)
def test_the_language_switch_works_both_ways_in_the_browser(language: str, browser: Any, site_url: str) -> None:
    """Clicking the header's switch on a chapter opens it in the other language, and the switch there brings the
    reader back to the page they started from (at a phone's width the switch is visible too)."""
    page = NOTEBOOK_PAGES[0]
    for width in (1280, PHONE_WIDTH):
        tab, log = open_page(browser, site_url + page + ".html", width=width)
        try:
            switch = tab.locator(f'a.segbook-language-link[hreflang="{language}"]')
            assert switch.is_visible(), f"{page}: the switch to {language} is not visible at {width} px"
            switch.click()
            tab.wait_for_url(f"**/{language}/{page}.html", timeout=10_000)
            assert tab.evaluate("document.documentElement.lang") == language
            tab.locator('a.segbook-language-link[hreflang="en"]').click()
            tab.wait_for_url(f"**/{page}.html", timeout=10_000)
            assert f"/{language}/" not in tab.url and tab.evaluate("document.documentElement.lang") == "en"
            assert not log.failed_requests + log.page_errors, _listing("switching languages", log.failed_requests)
        finally:
            tab.context.close()
