"""A Sphinx extension: the website's Colab launch button opens the notebook's Colab edition, and every notebook
page links its student notebook.

sphinx-book-theme builds the button's URL from ``repository.branch``
(``https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/<page>.ipynb``), which would open
the source notebook, MyST and all. This extension runs after the theme on every page (``html-page-context``,
priority 900) and points that one button at ``segbook.colab_branch`` (see :mod:`segbook.book.colab`), where the
Pages workflow publishes the Colab edition. The repository and issue buttons keep ``repository.branch``.

On every notebook page it also links the chapter's **student notebook** (the handout, without the solutions,
published by :mod:`segbook.book.handouts`): a line under the page's title (and its slide heading), "Student
notebook: open in Colab · download .ipynb · every chapter (.zip)", and the same three links in the launch menu
(next to Colab) and the download menu of the page's header. Colab opens the handout from
``student/<notebook>.ipynb`` on the edition's branch; the downloads are ``student/<notebook>.ipynb`` and
``student/segbook-student-notebooks.zip`` of the site.

Registered in ``_config.yml`` under ``sphinx: config: extensions:`` as ``segbook.book.sphinx_colab``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Callable, Dict

from sphinx.locale import _

from segbook.book.colab import Repository, read_repository
from segbook.book.handout_cells import ARCHIVE, STUDENT_DIR, student_path
from segbook.book.sphinx_i18n import root_prefix

__all__ = [
    "LABELS",
    "colab_edition_url",
    "HandoutLinks",
    "handout_links",
    "handout_line",
    "edit_page_context",
    "setup",
]

# The texts this extension writes into the pages. A translated site (segbook.book.sphinx_i18n) shows them through
# Sphinx's own catalog, so each translation's locales/<code>/LC_MESSAGES/sphinx.po translates every one of them
# (tests/test_i18n_catalogs.py checks it).
LABELS = (
    "Open this notebook in Colab",
    "Student notebook",
    "(the exercises without their solutions)",
    "open in Colab",
    "download .ipynb",
    "every chapter (.zip)",
    "Colab (student)",
    "Open the student notebook in Colab",
    "student .ipynb",
    "Download the student notebook",
    "student .zip (every chapter)",
    "Download every student notebook",
)

_COLAB = "https://colab.research.google.com/github/"
# The page's title, and the chapter's slide heading right under it (a <p class="slide-heading">) if it has one.
_TITLE = re.compile(r"</h1>(?:\s*<p class=\"slide-heading\"[^>]*>.*?</p>)?", re.S)
_COLAB_ICON = "_static/images/logo_colab.png"  # the theme's, as on its own Colab button


def colab_edition_url(url: str, branch: str, colab_branch: str, path_to_book: str = "") -> str:
    """Rewrite a Colab launch URL of the source notebook to the same notebook on the Colab edition's branch.

    The edition's branch holds the book's directory at its root, so ``path_to_book`` is dropped.

    Example:
        >>> colab_edition_url("https://colab.research.google.com/github/o/r/blob/main/chapters/a.ipynb",
        ...                   "main", "colab")
        'https://colab.research.google.com/github/o/r/blob/colab/chapters/a.ipynb'
    """
    if not url.startswith(_COLAB):
        return url
    owner, repo, blob, rest = url[len(_COLAB) :].split("/", 3)
    if blob != "blob" or not rest.startswith(branch + "/"):
        return url
    path = rest[len(branch) + 1 :]
    prefix = path_to_book.strip("/")
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) + 1 :]
    return f"{_COLAB}{owner}/{repo}/blob/{colab_branch}/{path}"


@dataclass(frozen=True)
class HandoutLinks:
    """Where a notebook page's student notebook is: in Colab, and on the site (relative to the page)."""

    colab: str
    notebook: str
    archive: str


def handout_links(repo: Repository, pagename: str, pathto: Callable[..., str], site_root: str = "") -> HandoutLinks:
    """The links to the student notebook of the notebook page ``pagename`` (``chapters/07_fcn``).

    ``pathto`` is the page context's: ``pathto("student/07_fcn.ipynb", 1)`` is the file's URL relative to the page.
    ``site_root`` leads from this build's root to the site's, where ``student/`` is: ``"../"`` from a
    translation's (``vi/``).

    Example:
        >>> repo = Repository("https://github.com/o/r", "o", "r", "main", Path("."))
        >>> links = handout_links(repo, "chapters/07_fcn", lambda path, _: "../" + path)
        >>> links.colab
        'https://colab.research.google.com/github/o/r/blob/colab/student/07_fcn.ipynb'
        >>> links.notebook, links.archive
        ('../student/07_fcn.ipynb', '../student/segbook-student-notebooks.zip')
        >>> handout_links(repo, "chapters/07_fcn", lambda path, _: "../" + path, "../").notebook
        '../../student/07_fcn.ipynb'
    """
    handout = student_path(f"{pagename}.ipynb")
    return HandoutLinks(
        f"{_COLAB}{repo.owner}/{repo.name}/blob/{repo.colab_branch}/{handout}",
        pathto(site_root + handout, 1),
        pathto(f"{site_root}{STUDENT_DIR}/{ARCHIVE}", 1),
    )


def handout_line(links: HandoutLinks) -> str:
    """The HTML line, under a notebook page's title, that links its student notebook."""
    return (
        f'<p class="segbook-handout"><strong>{_("Student notebook")}</strong> '
        f"{_('(the exercises without their solutions)')}: "
        f'<a class="reference external" href="{escape(links.colab)}">{_("open in Colab")}</a> · '
        f'<a class="reference download" href="{escape(links.notebook)}" download>{_("download .ipynb")}</a> · '
        f'<a class="reference download" href="{escape(links.archive)}" download>{_("every chapter (.zip)")}</a></p>'
    )


def _link_the_handout(context: Dict[str, Any], links: HandoutLinks) -> None:
    """Add the handout's line under the page's first heading, and its links to the header's menus."""
    body = context.get("body", "")
    title = _TITLE.search(body)
    if title is not None:
        context["body"] = body[: title.end()] + "\n" + handout_line(links) + body[title.end() :]
    colab = (_("Colab (student)"), _("Open the student notebook in Colab"), links.colab, _COLAB_ICON, "handout-colab")
    notebook = (
        _("student .ipynb"),
        _("Download the student notebook"),
        links.notebook,
        "fas fa-download",
        "handout-notebook",
    )
    archive = (
        _("student .zip (every chapter)"),
        _("Download every student notebook"),
        links.archive,
        "fas fa-download",
        "handout-archive",
    )
    add = {"launch-buttons": [colab], "download-buttons": [notebook, archive]}
    for group in context.get("header_buttons", []):
        for text, tooltip, url, icon, label in add.get(group.get("label", ""), []):
            group["buttons"].append(
                {"type": "link", "text": text, "tooltip": tooltip, "icon": icon, "url": url, "label": label}
            )


def edit_page_context(app: Any, pagename: str, templatename: str, context: Dict[str, Any], doctree: Any) -> None:
    """Point the launch button at the Colab edition; on a notebook page, link its student notebook."""
    config = Path(app.srcdir) / "_config.yml"
    if not config.is_file():
        return
    repo = read_repository(config)
    book = repo.book.relative_to(repo.root).as_posix() if repo.book != repo.root else ""
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("text") == "Colab" and "url" in button:
                button["url"] = colab_edition_url(button["url"], repo.branch, repo.colab_branch, book)
                button["tooltip"] = str(_("Open this notebook in Colab"))
    if context.get("page_source_suffix") == ".ipynb":
        site_root = root_prefix(str(getattr(getattr(app, "config", None), "language", None) or "en"))
        _link_the_handout(context, handout_links(repo, pagename, context["pathto"], site_root))


def setup(app: Any) -> Dict[str, Any]:
    """Sphinx's entry point."""
    app.connect("html-page-context", edit_page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
