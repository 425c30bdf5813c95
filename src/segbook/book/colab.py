"""Stamp every chapter notebook with an "Open in Colab" badge and a setup cell, from ``_config.yml``.

The first two cells of each notebook are made to be

0. a markdown cell with the Colab badge, tagged ``colab-badge`` and ``remove-cell`` (the website
   has its own launch button; Colab and GitHub show the badge), linking to the notebook's **Colab
   edition** (MyST turned into plain Markdown, see :mod:`segbook.book.colab_edition`), which the Pages
   workflow publishes to its own branch:
   ``https://colab.research.google.com/github/<owner>/<repo>/blob/<colab branch>/<notebook path>``;
1. a code cell, tagged ``colab-setup`` and ``hide-cell``, that installs segbook only when it cannot
   be imported (pip leaves an installed ``torch>=2.1`` alone) and prints the environment. A notebook that
   needs more (chapter 12: smp, MONAI, torchmetrics) names an extra in its metadata,
   ``"segbook": {"extras": ["practice"]}``, and its cell installs ``hust-segbook[practice]`` when any of
   those libraries is missing.

The repository URL and branch come from ``repository.url`` and ``repository.branch`` in Jupyter
Book's ``_config.yml``, the Colab edition's branch from ``segbook.colab_branch`` (default ``colab``),
so moving the repository means editing one line and re-stamping.
Stamping is idempotent; ``--check`` (used by the tests and CI) writes nothing and fails when a
notebook disagrees with the config.

Example::

    segbook-stamp                      # stamp every chapters/*.ipynb
    segbook-stamp --check              # exit 1 and list the notebooks that need stamping

This module imports no torch: it only rewrites JSON.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Optional, Sequence, Union
from urllib.parse import quote

import nbformat
import yaml

from segbook import DISTRIBUTION

__all__ = [
    "Repository",
    "read_repository",
    "badge_source",
    "EXTRA_MODULES",
    "check_extras",
    "setup_source",
    "STAMP_COMMENT",
    "notebook_extras",
    "expected_cells",
    "stamp_notebook",
    "stamp",
    "check_notebook",
    "check",
    "main",
]

BADGE_TAGS = ["colab-badge", "remove-cell"]
#: The setup cell's line that says who wrote it (a handout says so in its own words: segbook.book.handout_cells).
STAMP_COMMENT = "# Stamped by `segbook-stamp` from _config.yml: edit the config, not this cell."
SETUP_TAGS = ["colab-setup", "hide-cell"]
_GITHUB = re.compile(r"^https://github\.com/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?$")
PathLike = Union[str, Path]


@dataclass(frozen=True)
class Repository:
    """Where the book lives on GitHub, as ``_config.yml`` says."""

    url: str  # https://github.com/<owner>/<name>, without .git or a trailing slash
    owner: str
    name: str
    branch: str
    root: Path  # the repository's root directory on this machine
    colab_branch: str = "colab"  # the branch that holds the Colab edition (segbook.colab_branch)
    book: Path = Path(".")  # the book's directory (where _config.yml is) on this machine


def read_repository(config_path: PathLike) -> Repository:
    """Read ``repository.url``, ``repository.branch`` (default ``main``) and ``path_to_book``.

    Raises:
        ValueError: the file is missing, is not YAML, or has no GitHub ``repository.url``.

    Example:
        >>> read_repository("_config.yml").url  # doctest: +SKIP
        'https://github.com/hust-soict/segbook'
    """
    config_path = Path(config_path)
    if not config_path.is_file():
        raise ValueError(f"{config_path}: config file not found (expected Jupyter Book's _config.yml)")
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{config_path}: not valid YAML: {exc}") from exc
    repository = config.get("repository") if isinstance(config, dict) else None
    if not isinstance(repository, dict) or not isinstance(repository.get("url"), str):
        raise ValueError(
            f"{config_path}: expected a 'repository:' section with 'url: https://github.com/<owner>/<repo>'"
        )
    found = _GITHUB.match(repository["url"].strip())
    if not found:
        raise ValueError(
            f"{config_path}: repository.url must look like https://github.com/<owner>/<repo> "
            f"(Colab opens notebooks from GitHub), got {repository['url']!r}"
        )
    branch = str(repository.get("branch") or "main").strip()
    if not branch or any(c.isspace() for c in branch):
        raise ValueError(f"{config_path}: repository.branch must be a branch name, got {branch!r}")
    # path_to_book: where the book (this config) sits inside the repository; default the root.
    book = PurePosixPath(str(repository.get("path_to_book") or "."))
    if book.is_absolute() or ".." in book.parts:
        raise ValueError(
            f"{config_path}: repository.path_to_book must be a relative path inside the repository, got {str(book)!r}"
        )
    root = config_path.resolve().parent
    for _ in book.parts:
        root = root.parent
    segbook = config.get("segbook") or {}
    if not isinstance(segbook, dict):
        raise ValueError(f"{config_path}: 'segbook:' must be a section (colab_branch: ..., site_url: ...)")
    colab_branch = str(segbook.get("colab_branch") or "colab").strip()
    if not colab_branch or any(c.isspace() for c in colab_branch):
        raise ValueError(f"{config_path}: segbook.colab_branch must be a branch name, got {colab_branch!r}")
    owner, name = found.group("owner"), found.group("name")
    return Repository(
        f"https://github.com/{owner}/{name}", owner, name, branch, root, colab_branch, config_path.resolve().parent
    )


def _notebook_path_in_book(notebook_path: PathLike, repo: Repository) -> str:
    path = Path(notebook_path).resolve()
    try:
        return path.relative_to(repo.book).as_posix()
    except ValueError:
        raise ValueError(f"{notebook_path}: notebook is outside the book's directory {repo.book}") from None


def badge_source(repo: Repository, path_in_book: str) -> str:
    """The markdown of the badge cell for the notebook at ``path_in_book`` (posix, from the book's root).

    The badge opens the notebook's Colab edition, published at the same path on ``repo.colab_branch``.

    Example:
        >>> repo = Repository("https://github.com/o/r", "o", "r", "main", Path("."))
        >>> badge_source(repo, "chapters/01_task.ipynb")  # doctest: +NORMALIZE_WHITESPACE
        '[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/o/r/blob/colab/chapters/01_task.ipynb)'
    """
    target = f"{repo.owner}/{repo.name}/blob/{quote(repo.colab_branch)}/{quote(path_in_book)}"
    return (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"(https://colab.research.google.com/github/{target})"
    )


#: The extras a notebook may ask its setup cell for (``metadata.segbook.extras``), and the modules that show
#: they are installed. pyproject.toml's ``[project.optional-dependencies]`` defines the same extras.
EXTRA_MODULES = {"practice": ("segmentation_models_pytorch", "monai", "torchmetrics")}


def check_extras(extras: object, where: str = "extras") -> "tuple[str, ...]":
    """``extras`` as a tuple of names from :data:`EXTRA_MODULES`; anything else is an error naming them."""
    if not isinstance(extras, (list, tuple)) or not all(isinstance(e, str) for e in extras):
        raise ValueError(f"{where} must be a list of extra names (e.g. ['practice']), got {extras!r}")
    unknown = [e for e in extras if e not in EXTRA_MODULES]
    if unknown:
        raise ValueError(f"{where}: unknown extra(s) {unknown}; known: {sorted(EXTRA_MODULES)}")
    return tuple(extras)


def setup_source(repo: Repository, extras: Sequence[str] = ()) -> str:
    """The code of the setup cell: install segbook (with ``extras``) only if something is missing, then print
    the environment.

    The install line names the git repository, so pip cannot pick up the unrelated PyPI project called
    ``segbook``. No IPython magics, so the cell is plain Python that tests can ``exec``.

    Example:
        >>> repo = Repository("https://github.com/o/r", "o", "r", "main", Path("."))
        >>> "hust-segbook @ git+https://github.com/o/r@main" in setup_source(repo)
        True
        >>> "hust-segbook[practice] @ git+" in setup_source(repo, ["practice"])
        True
    """
    extras = check_extras(extras)
    modules = ("segbook",) + tuple(m for e in extras for m in EXTRA_MODULES[e])
    wanted = f"{DISTRIBUTION}[{','.join(extras)}]" if extras else DISTRIBUTION
    if extras:
        what = (
            "# segbook, and the libraries this chapter uses, only if one of them cannot be\n"
            "# imported yet. pip keeps the runtime's own torch, which already satisfies\n"
            '# segbook\'s "torch>=2.1".'
        )
        needed = "NEEDED = (\n" + "".join(f'    "{m}",\n' for m in modules) + ")"
    else:
        what = (
            "# segbook, only if it cannot be imported yet. pip keeps the runtime's own torch, which\n"
            '# already satisfies segbook\'s "torch>=2.1".'
        )
        needed = 'NEEDED = ("segbook",)'
    return f"""# Setup for Google Colab (and any fresh environment): install this book's package,
{what}
{STAMP_COMMENT}
import importlib
import importlib.util
import subprocess
import sys

PACKAGE = "{wanted} @ git+{repo.url}@{repo.branch}"
{needed}
if any(importlib.util.find_spec(name) is None for name in NEEDED):
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE], check=True)
    importlib.invalidate_caches()  # let this running kernel see the new package

from segbook.env import print_environment

print_environment()"""


def notebook_extras(nb: nbformat.NotebookNode, notebook_path: PathLike) -> "tuple[str, ...]":
    """The extras ``nb`` asks its setup cell for: ``metadata.segbook.extras`` (default none)."""
    own = nb.get("metadata", {}).get("segbook", {})
    if not isinstance(own, dict):
        raise ValueError(f"{notebook_path}: metadata.segbook must be a mapping, e.g. {{'extras': ['practice']}}")
    return check_extras(own.get("extras", []), f"{notebook_path}: metadata.segbook.extras")


def expected_cells(notebook_path: PathLike, config_path: PathLike) -> "tuple[str, str]":
    """The ``(badge_cell_source, setup_cell_source)`` that ``notebook_path`` should start with.

    Example:
        >>> badge, setup = expected_cells("chapters/01_task.ipynb", "_config.yml")  # doctest: +SKIP
    """
    repo = read_repository(config_path)
    extras = notebook_extras(nbformat.read(notebook_path, as_version=4), notebook_path)
    return badge_source(repo, _notebook_path_in_book(notebook_path, repo)), setup_source(repo, extras)


def _tagged(cell: nbformat.NotebookNode, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def _new_cell(
    nb: nbformat.NotebookNode, cell_type: str, source: str, tags: "list[str]", old: Optional[nbformat.NotebookNode]
) -> nbformat.NotebookNode:
    """Build the stamped cell, keeping the old cell's id, other metadata and (if unchanged) outputs."""
    if cell_type == "markdown":
        cell = nbformat.v4.new_markdown_cell(source)
    else:
        cell = nbformat.v4.new_code_cell(source)
    if old is not None:
        extra = {k: v for k, v in old.get("metadata", {}).items() if k != "tags"}
        cell.metadata.update(extra)
        if old.cell_type == cell_type == "code" and old.source == source:
            cell.outputs, cell.execution_count = old.outputs, old.execution_count
    cell.metadata["tags"] = list(tags)
    uses_ids = (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    cell.pop("id", None)
    if uses_ids:
        taken = {c.get("id") for c in nb.cells if c is not old}
        if old is not None and old.get("id") and old.get("id") not in taken:
            cell["id"] = old["id"]
        elif tags[0] not in taken:
            cell["id"] = tags[0]  # a stable id ("colab-badge", "colab-setup"): stamping is reproducible
        else:
            cell["id"] = nbformat.v4.new_code_cell().id
    return cell


def _stamped(nb: nbformat.NotebookNode, badge: str, setup: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose first two cells are the badge and the setup cell."""
    nb = nbformat.from_dict(nb)
    old_badge = next((c for c in nb.cells if _tagged(c, BADGE_TAGS[0])), None)
    old_setup = next((c for c in nb.cells if _tagged(c, SETUP_TAGS[0])), None)
    badge_cell = _new_cell(nb, "markdown", badge, BADGE_TAGS, old_badge)
    setup_cell = _new_cell(nb, "code", setup, SETUP_TAGS, old_setup)
    rest = [c for c in nb.cells if not (_tagged(c, BADGE_TAGS[0]) or _tagged(c, SETUP_TAGS[0]))]
    nb.cells = [badge_cell, setup_cell] + rest
    return nb


def stamp_notebook(notebook_path: PathLike, config_path: PathLike) -> bool:
    """Stamp one notebook in place; write it only if it changes. Returns whether it was written.

    Example:
        >>> stamp_notebook("chapters/01_task.ipynb", "_config.yml")  # doctest: +SKIP
        False
    """
    badge, setup = expected_cells(notebook_path, config_path)
    nb = nbformat.read(notebook_path, as_version=4)
    new = _stamped(nb, badge, setup)
    if new == nb:
        return False
    nbformat.validate(new)
    nbformat.write(new, notebook_path)  # nbformat's own layout: indent 1, sorted keys, final newline
    return True


def stamp(notebooks: Iterable[PathLike], config_path: PathLike) -> "list[Path]":
    """Stamp every notebook; return the ones that were rewritten."""
    return [Path(p) for p in notebooks if stamp_notebook(p, config_path)]


def check_notebook(notebook_path: PathLike, config_path: PathLike) -> "list[str]":
    """Say how ``notebook_path`` disagrees with ``_config.yml``; an empty list means it is up to date.

    Example:
        >>> check_notebook("chapters/01_task.ipynb", "_config.yml")  # doctest: +SKIP
        []
    """
    badge, setup = expected_cells(notebook_path, config_path)
    nb = nbformat.read(notebook_path, as_version=4)
    cells = nb.cells
    problems = []
    badges = [i for i, c in enumerate(cells) if _tagged(c, BADGE_TAGS[0])]
    setups = [i for i, c in enumerate(cells) if _tagged(c, SETUP_TAGS[0])]
    if not badges:
        problems.append("no Colab badge cell (tag 'colab-badge')")
    elif cells[badges[0]].source != badge:
        problems.append(f"the Colab badge is stale: expected {badge!r}, found {cells[badges[0]].source!r}")
    if not setups:
        problems.append("no setup cell (tag 'colab-setup')")
    elif cells[setups[0]].source != setup:
        problems.append("the setup cell differs from the one stamped from _config.yml (edited or stale)")
    if not problems and _stamped(nb, badge, setup) != nb:
        problems.append(
            "the badge and setup cells are not the first two cells, are duplicated, or have the wrong type or tags"
        )
    return problems


def check(notebooks: Iterable[PathLike], config_path: PathLike) -> "dict[Path, list[str]]":
    """Check every notebook; return ``{notebook: problems}`` for those that need stamping."""
    report = {Path(p): check_notebook(p, config_path) for p in notebooks}
    return {p: problems for p, problems in report.items() if problems}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line entry point of ``segbook-stamp``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="segbook-stamp", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        metavar="NOTEBOOK",
        help="notebooks to stamp (default: every chapters/*.ipynb beside the config)",
    )
    parser.add_argument(
        "--config", type=Path, default=Path("_config.yml"), help="Jupyter Book config (default: %(default)s)"
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any notebook needs stamping")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((args.config.parent / "chapters").glob("*.ipynb"))
    try:
        read_repository(args.config)  # a broken config is an error even when there is nothing to stamp
        for path in notebooks:
            if not Path(path).is_file():
                raise ValueError(f"{path}: notebook not found")
        if args.check:
            stale = check(notebooks, args.config)
            for path, problems in stale.items():
                print(f"{path}: {'; '.join(problems)}")
            if stale:
                print(
                    f"segbook-stamp: {len(stale)} notebook(s) disagree with {args.config}; run segbook-stamp",
                    file=sys.stderr,
                )
                return 1
            print(f"segbook-stamp: {len(notebooks)} notebook(s) agree with {args.config}")
            return 0
        for path in stamp(notebooks, args.config):
            print(f"stamped {path}")
    except (ValueError, nbformat.ValidationError) as exc:
        print(f"segbook-stamp: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
