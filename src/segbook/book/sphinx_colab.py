"""A Sphinx extension: the website's Colab launch button opens the notebook's Colab edition.

sphinx-book-theme builds the button's URL from ``repository.branch``
(``https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/<page>.ipynb``), which would open
the source notebook, MyST and all. This extension runs after the theme on every page (``html-page-context``,
priority 900) and points that one button at ``segbook.colab_branch`` (see :mod:`segbook.book.colab`), where the
Pages workflow publishes the Colab edition. The repository and issue buttons keep ``repository.branch``.

Registered in ``_config.yml`` under ``sphinx: config: extensions:`` as ``segbook.book.sphinx_colab``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from segbook.book.colab import read_repository

__all__ = ["colab_edition_url", "setup"]

_COLAB = "https://colab.research.google.com/github/"


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


def _point_colab_button_at_the_edition(
    app: Any, pagename: str, templatename: str, context: Dict[str, Any], doctree: Any
) -> None:
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


def setup(app: Any) -> Dict[str, Any]:
    """Sphinx's entry point."""
    app.connect("html-page-context", _point_colab_button_at_the_edition, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
