"""The cells that make a student notebook a handout: its badge, its note and its setup cell name the student version.

A chapter notebook (and its Colab edition) opens with an "Open in Colab" badge that opens the chapter *with* its
solutions, a note that calls it the Colab edition, and a setup cell that tells authors to re-stamp it. The student
version (:mod:`segbook.book.student`, ``segbook-student``) rewrites those three cells:

* the badge (tag ``colab-badge``) opens the student version, which the Pages workflow publishes beside the Colab
  edition on the same branch, at ``student/<notebook>.ipynb`` (:func:`student_colab_url`);
* the note (tag ``colab-edition-note``) says it is the student version and where to write (:data:`STUDENT_NOTE`);
* the setup cell (tag ``colab-setup``) keeps its install line, since the exercises' checks come with the package,
  and says it is the student version's (:data:`HANDOUT_COMMENT`) instead of telling to edit ``_config.yml``.

The rewriting needs no config: the student URL is derived from the badge's own URL. Each function is idempotent,
so a student version converted again is unchanged. This module imports no torch: it only rewrites JSON.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Optional

import nbformat

from segbook.book.colab import BADGE_TAGS, SETUP_TAGS, STAMP_COMMENT
from segbook.book.colab_edition import EDITION_NOTE

__all__ = ["HandoutError", "STUDENT_DIR", "ARCHIVE", "STUDENT_NOTE", "HANDOUT_COMMENT", "NOTE_TAG"]
__all__ += ["student_path", "student_colab_url", "student_badge", "student_note", "student_setup", "stamp_handout"]

#: Where the student versions are published: this folder of the Colab edition's branch (beside ``chapters/``),
#: and of the website (``_build/html/student/``), flat, one ``<notebook>.ipynb`` per chapter.
STUDENT_DIR = "student"
#: The website's archive of every student notebook, in :data:`STUDENT_DIR`.
ARCHIVE = "segbook-student-notebooks.zip"
#: The tag of the Colab edition's note cell (segbook.book.colab_edition).
NOTE_TAG = "colab-edition-note"
#: The first sentence of a handout's note; ``{page}`` is the Markdown link to the chapter's page.
STUDENT_NOTE = (
    "This is the student version of {page}, a page of the book's website: its Colab edition with the "
    "solutions taken out. Write your code where a cell raises `NotImplementedError` (or sets an "
    "`answer_...` to `None`), then run the check cell below it."
)
#: The handout's setup cell says this where the chapter's says :data:`segbook.book.colab.STAMP_COMMENT`.
HANDOUT_COMMENT = "# Student version (segbook-student): the exercises' checks come with segbook."

_COLAB = re.compile(
    r"https://colab\.research\.google\.com/github/(?P<repo>[\w.-]+/[\w.-]+)/blob/(?P<branch>[^/\s()]+)/"
    r"(?P<path>[^\s()]+\.ipynb)"
)
_LINK = r"\[[^\]\n]*\]\([^)\s]*\)"  # a Markdown link, as the edition writes the page's


def _note_pattern(sentence: str) -> "re.Pattern[str]":
    before, after = sentence.split("{page}")
    return re.compile(r"\*" + re.escape(before) + f"(?P<page>{_LINK})" + re.escape(after) + r"\*")


_EDITION_NOTE = _note_pattern(EDITION_NOTE)
_STUDENT_NOTE = _note_pattern(STUDENT_NOTE)


class HandoutError(ValueError):
    """A notebook's badge, note or setup cell is not the one the book stamps; the message names the cell."""


def student_path(notebook: str) -> str:
    """Where the student version of ``notebook`` (a path on the edition's branch) is published on that branch.

    Example:
        >>> student_path("chapters/07_fcn.ipynb")
        'student/07_fcn.ipynb'
    """
    name = PurePosixPath(notebook).name
    if not name.endswith(".ipynb") or name == ".ipynb":
        raise HandoutError(f"{notebook!r} is not a notebook path (expected <name>.ipynb)")
    return f"{STUDENT_DIR}/{name}"


def student_colab_url(url: str) -> str:
    """The Colab URL of the student version of the notebook that ``url`` opens: same repository and branch,
    :func:`student_path` of its path. A student version's URL is returned as it is.

    Raises:
        HandoutError: ``url`` does not open a GitHub notebook in Colab.

    Example:
        >>> student_colab_url("https://colab.research.google.com/github/o/r/blob/colab/chapters/07_fcn.ipynb")
        'https://colab.research.google.com/github/o/r/blob/colab/student/07_fcn.ipynb'
    """
    found = _COLAB.fullmatch(url)
    if found is None:
        raise HandoutError(
            f"{url!r} does not open a notebook from GitHub in Colab "
            "(https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/<path>.ipynb)"
        )
    return (
        f"https://colab.research.google.com/github/{found['repo']}/blob/{found['branch']}/{student_path(found['path'])}"
    )


def student_badge(source: str, where: str = "badge cell") -> str:
    """The badge cell's Markdown with its one Colab link pointing at the student version.

    Raises:
        HandoutError: the cell has no Colab link to a GitHub notebook, or more than one.
    """
    links = _COLAB.findall(source)
    if len(links) != 1:
        raise HandoutError(
            f"{where}: the Colab badge should hold exactly one link to a notebook on GitHub, found {len(links)} "
            f"in {source[:120]!r} (run segbook-stamp)"
        )
    return _COLAB.sub(lambda found: student_colab_url(found.group(0)), source)


def student_note(source: str, where: str = "note cell") -> str:
    """The Colab edition's note rewritten for the student version (the rest of the note, e.g. on the run's
    numbers in italics, stays).

    Raises:
        HandoutError: the note is neither the edition's nor a student version's.
    """
    if _STUDENT_NOTE.match(source):
        return source
    found = _EDITION_NOTE.match(source)
    if found is None:
        raise HandoutError(f"{where}: not the note segbook-colab-edition writes: {source[:120]!r}")
    return "*" + STUDENT_NOTE.format(page=found["page"]) + "*" + source[found.end() :]


def student_setup(source: str, where: str = "setup cell") -> str:
    """The setup cell with :data:`HANDOUT_COMMENT` in place of the stamp's comment; the code is unchanged.

    Raises:
        HandoutError: the cell has neither comment (it was not stamped by segbook-stamp).
    """
    lines = source.split("\n")
    if HANDOUT_COMMENT in lines:
        return source
    if STAMP_COMMENT not in lines:
        raise HandoutError(f"{where}: not the setup cell segbook-stamp writes (no {STAMP_COMMENT!r}; run make stamp)")
    return "\n".join(HANDOUT_COMMENT if line == STAMP_COMMENT else line for line in lines)


def _first(nb: nbformat.NotebookNode, tag: str) -> "Optional[tuple[int, nbformat.NotebookNode]]":
    return next(((i, c) for i, c in enumerate(nb.cells) if tag in c.get("metadata", {}).get("tags", [])), None)


def stamp_handout(nb: nbformat.NotebookNode, name: str = "notebook") -> None:
    """Rewrite, in place, the badge, note and setup cells of a student notebook ``nb`` (those it has).

    Raises:
        HandoutError: one of them is not as the book stamps it, naming the notebook and the cell.

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        ...     "[![Open In Colab](b.svg)](https://colab.research.google.com/github/o/r/blob/colab/chapters/a.ipynb)",
        ...     metadata={"tags": ["colab-badge"]})])
        >>> stamp_handout(nb)
        >>> nb.cells[0].source
        '[![Open In Colab](b.svg)](https://colab.research.google.com/github/o/r/blob/colab/student/a.ipynb)'
    """
    for tag, rewrite in ((BADGE_TAGS[0], student_badge), (NOTE_TAG, student_note), (SETUP_TAGS[0], student_setup)):
        found = _first(nb, tag)
        if found is not None:
            index, cell = found
            cell.source = rewrite(cell.source, f"{name}, cell {index} (tag {tag!r})")
