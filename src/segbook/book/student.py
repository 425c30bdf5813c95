"""Write student versions of the chapter notebooks: the same notebooks with the solutions taken out.

An instructor runs ``segbook-student`` (or ``python -m segbook.book.student``) and hands out ``student/``:

* in code cells, each region from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` becomes one line,
  ``raise NotImplementedError("Exercise 1.2 (one_hot): write your solution here")``, at the
  indentation of the BEGIN marker; the label comes from a ``# Exercise 1.2 (one_hot)`` comment
  earlier in the same cell (a top-level region, a question's answer, becomes ``answer_3_4 = None``);
* cells tagged ``solution`` are dropped, and cells that held a solution lose the tags that hide
  them on the website (``hide-input`` and friends) so the student sees the whole cell;
* MyST ``{solution}`` directives are removed from markdown cells (backtick and colon fences, and
  the gated ``{solution-start}`` ... ``{solution-end}`` form, with every cell between them);
  ``{exercise}`` directives stay;
* in the Colab edition (``segbook-colab-edition``, MyST already turned into plain Markdown), the
  collapsed ``<details>`` block of each solution (``<summary>Solution...``) is removed;
* outputs, execution counts and saved widget state are cleared; the Colab badge, the edition's note and the
  setup cell name the student version (:mod:`segbook.book.handout_cells`).

By default the handouts are made from the Colab edition, ``_build/colab/chapters/*.ipynb``, when it
exists (after ``make book``), so they show no MyST either; otherwise from ``chapters/*.ipynb``.

Example::

    segbook-student                                   # the Colab edition (or chapters/) -> student/
    segbook-student --from-sources                    # chapters/*.ipynb, MyST and all -> student/
    segbook-student chapters/01_task.ipynb -o /tmp/handout

This module imports no torch: it only rewrites JSON.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import nbformat

from segbook.book.handout_cells import HandoutError, stamp_handout
from segbook.book.solution_markers import near_miss

__all__ = ["StudentNotebookError", "StripReport", "strip_code_cell", "strip_markdown", "make_student_notebook"]
__all__ += ["write_student_notebooks", "main"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SOLUTION_TAG = "solution"
# Tags that hide a cell or its code on the website; a student must see a cell that held a solution.
HIDING_TAGS = ("hide-input", "hide-cell", "remove-input", "remove-cell")
_LABEL = re.compile(r"^\s*#+\s*(?P<label>Exercise\s+[\w.\-]+\s+\([^()\n]+\))")
# A fence line: up to any indentation, 3+ backticks, tildes or colons, then the info string.
_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*?)\s*$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w:-]+)\}")
_LITERAL_DIRECTIVES = ("code", "code-block", "code-cell", "sourcecode")  # their content is code, not markdown
# A solution in the Colab edition: a collapsed <details> block whose summary starts with "Solution".
_DETAILS_SOLUTION = re.compile(r"^<details>\s*\n<summary>Solution\b.*?^</details>[ \t]*\n?", re.M | re.S)
#: Where the Colab edition's chapters are written by ``segbook-colab-edition``.
COLAB_EDITION = Path("_build") / "colab" / "chapters"


class StudentNotebookError(ValueError):
    """A notebook's solution markers are malformed; the message names the notebook and the cell."""


@dataclass
class StripReport:
    """What was taken out of one notebook."""

    exercises: "list[str]" = field(default_factory=list)  # one label per code solution region
    markdown_solutions: int = 0
    cells_dropped: int = 0


def strip_code_cell(source: str, where: str = "cell") -> "tuple[str, list[str]]":
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region of a code cell.

    Args:
        source: the cell's source.
        where: how to name the cell in error messages, e.g. ``"chapters/01.ipynb, cell 12"``.

    Returns:
        ``(new_source, labels)``: the source with each region replaced by a ``raise
        NotImplementedError`` line (``<name> = None`` at the top level), and each region's label, in order.

    Raises:
        StudentNotebookError: a BEGIN marker with no ``# Exercise <id> (<name>)`` label before it,
            a BEGIN without END, an END without BEGIN, or nested markers.

    Example:
        >>> src = "# Exercise 1.2 (one_hot)\\ndef f(x):\\n    ### BEGIN SOLUTION\\n    return x\\n    ### END SOLUTION"
        >>> print(strip_code_cell(src)[0])
        # Exercise 1.2 (one_hot)
        def f(x):
            raise NotImplementedError("Exercise 1.2 (one_hot): write your solution here")
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    out: list[str] = []
    labels: list[str] = []
    label: Optional[str] = None
    open_line: Optional[int] = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if open_line is not None:
                raise StudentNotebookError(
                    f"{where}: nested '{BEGIN}' on line {number} (the one on line {open_line} has no '{END}' yet)"
                )
            if label is None:
                raise StudentNotebookError(
                    f"{where}: '{BEGIN}' on line {number} has no exercise label before it; "
                    f"add a comment line such as '# Exercise 1.2 (one_hot)' above it"
                )
            indent = line[: len(line) - len(line.lstrip())]
            newline = "\n" if line.endswith("\n") else ""
            name = label[label.index("(") + 1 : -1]  # top level: a question's answer, None so "Run all" goes on
            placeholder = f'raise NotImplementedError("{label}: write your solution here")' if indent else None
            out.append(f"{indent}{placeholder or f'{name} = None  # {label}: write your answer here'}{newline}")
            labels.append(label)
            open_line = number
        elif marker == END:
            if open_line is None:
                raise StudentNotebookError(f"{where}: '{END}' on line {number} without a '{BEGIN}' before it")
            open_line = None
        elif open_line is None:
            found = _LABEL.match(line)
            if found:
                label = " ".join(found.group("label").split())
            out.append(line)
    if open_line is not None:
        raise StudentNotebookError(f"{where}: '{BEGIN}' on line {open_line} has no '{END}'")
    text = "".join(out)
    if text.endswith("\n") and not source.endswith("\n"):
        text = text[:-1]  # the END marker was the last line
    return text, labels


@dataclass
class _Fence:
    char: str
    length: int


def _fence(line: str) -> "tuple[Optional[_Fence], str]":
    """``(fence, info)`` if ``line`` is a fence line, else ``(None, "")``.

    Fences: ```` ```python ````, ``:::{note}``, ``~~~``.
    """
    found = _FENCE.match(line)
    if not found:
        return None, ""
    run = found.group("fence")
    return _Fence(run[0], len(run)), found.group("info").strip()


def _closes(fence: Optional[_Fence], info: str, opened: _Fence) -> bool:
    """Whether a fence line closes the block ``opened``: same character, at least as long, no info."""
    return fence is not None and fence.char == opened.char and fence.length >= opened.length and not info


class _MarkdownStripper:
    """Removes solution directives from markdown, with state that carries across cells (gated form)."""

    def __init__(self) -> None:
        self.gated = False  # between {solution-start} and {solution-end}: everything is dropped
        self.gate_opened_at = ""
        self.removed = 0

    def strip(self, source: str, where: str) -> str:
        out: list[str] = []
        literal: Optional[_Fence] = None  # inside a code fence nothing is a directive
        solution: Optional[_Fence] = None  # inside a dropped directive block
        inner: list[_Fence] = []  # fences opened inside the dropped block
        gate_after = False  # the dropped block is a {solution-start}: keep dropping after it
        for line in source.splitlines(keepends=True):
            fence, info = _fence(line)
            directive = _DIRECTIVE.match(info)
            name = directive.group("name") if directive else ""
            if solution is not None:
                if inner and _closes(fence, info, inner[-1]):
                    inner.pop()
                elif not inner and _closes(fence, info, solution):
                    solution, self.gated = None, gate_after
                elif fence is not None and (fence.char != ":" or info):  # a nested block opens
                    inner.append(fence)
            elif self.gated:
                if fence is not None and name == "solution-end":
                    solution, inner, gate_after = fence, [], False
            elif literal is not None:
                if _closes(fence, info, literal):
                    literal = None
                out.append(line)
            elif fence is not None and name in ("solution", "solution-start"):
                self.removed += 1
                solution, inner, gate_after = fence, [], name == "solution-start"
                if gate_after:
                    self.gate_opened_at = where
            elif fence is not None and name == "solution-end":
                raise StudentNotebookError(f"{where}: '{{solution-end}}' without a '{{solution-start}}' before it")
            else:
                if fence is not None and fence.char != ":" and (not directive or name in _LITERAL_DIRECTIVES):
                    literal = fence
                out.append(line)
        if solution is not None:
            raise StudentNotebookError(
                f"{where}: a solution directive is not closed; end it with a line "
                f"of {solution.length} or more '{solution.char}'"
            )
        return "".join(out)


def strip_markdown(source: str, where: str = "cell") -> "tuple[str, int]":
    """Remove MyST ``{solution}`` directive blocks (and the Colab edition's solution ``<details>``) from a cell.

    Both fence forms are recognised (```` ```{solution} ```` with 3 or more backticks and
    ``:::{solution}`` with 3 or more colons), with any options; ``{exercise}`` blocks and text
    inside plain code fences are left alone.

    Returns:
        ``(new_source, number_of_blocks_removed)``.

    Raises:
        StudentNotebookError: an unclosed solution fence or an unmatched gated directive.

    Example:
        >>> strip_markdown("Try it.\\n:::{solution} ex-1\\nThe answer.\\n:::\\n")
        ('Try it.\\n', 1)
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    stripper = _MarkdownStripper()
    text = stripper.strip(source, where)
    text, details = _DETAILS_SOLUTION.subn("", text)
    stripper.removed += details
    if stripper.gated:
        raise StudentNotebookError(f"{where}: '{{solution-start}}' without a '{{solution-end}}' in the same cell")
    return text, stripper.removed


def _remove_tags(cell: nbformat.NotebookNode, tags: Sequence[str]) -> None:
    current = cell.get("metadata", {}).get("tags")
    if current:
        cell.metadata["tags"] = [t for t in current if t not in tags]
        if not cell.metadata["tags"]:
            del cell.metadata["tags"]


def make_student_notebook(
    nb: nbformat.NotebookNode, name: str = "notebook"
) -> "tuple[nbformat.NotebookNode, StripReport]":
    """Return a student copy of a v4 notebook (the input is not changed) and what was stripped.

    Args:
        nb: the chapter notebook, as read by ``nbformat.read(path, as_version=4)``.
        name: how to name the notebook in error messages (usually its path).

    Raises:
        StudentNotebookError: malformed solution markers, naming the notebook and the cell index.
        HandoutError: a badge, note or setup cell not as the book stamps it (segbook.book.handout_cells).

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title")])
        >>> make_student_notebook(nb)[1].exercises
        []
    """
    if not isinstance(nb, nbformat.NotebookNode) or nb.get("nbformat") != 4:
        raise TypeError(f"{name}: expected an nbformat v4 NotebookNode (nbformat.read(path, as_version=4))")
    student = nbformat.from_dict(nb)  # a deep copy
    report = StripReport()
    markdown = _MarkdownStripper()
    kept = []
    for index, cell in enumerate(student.cells):
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
        where = f"{name}, cell {index} ({cell.cell_type}, first line {first[:60]!r})"
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []) or (
            markdown.gated and cell.cell_type != "markdown"
        ):
            report.cells_dropped += 1
            continue
        if cell.cell_type == "markdown":
            before = markdown.removed
            cell.source, details = _DETAILS_SOLUTION.subn("", markdown.strip(cell.source, where))
            report.markdown_solutions += markdown.removed - before + details
            if not cell.source.strip():
                report.cells_dropped += 1
                continue
        elif cell.cell_type == "code":
            cell.source, labels = strip_code_cell(cell.source, where)
            if labels:
                report.exercises += labels
                _remove_tags(cell, HIDING_TAGS)
                cell.metadata.get("jupyter", {}).pop("source_hidden", None)
            cell.outputs = []
            cell.execution_count = None
        leak = near_miss(cell.cell_type, cell.source)
        if leak is not None:
            raise StudentNotebookError(
                f"{where}: line {leak[0]} {leak[1]!r} looks like a solution marker but is not exactly '{BEGIN}' / "
                f"'{END}' (code) or a {{solution}} directive (markdown): fix it, or the solution would leak"
            )
        cell.get("metadata", {}).pop("execution", None)  # timings recorded by the last run
        kept.append(cell)
    if markdown.gated:
        raise StudentNotebookError(
            f"{markdown.gate_opened_at}: '{{solution-start}}' has no '{{solution-end}}' after it in the notebook"
        )
    student.cells = kept
    stamp_handout(student, name)
    student.metadata.pop("widgets", None)
    nbformat.validate(student)
    return student, report


def _default_sources(from_sources: bool = False) -> "list[Path]":
    """The Colab edition's chapters when it was built (and not ``from_sources``), else ``chapters/*.ipynb``."""
    edition = sorted(COLAB_EDITION.glob("*.ipynb"))
    if edition and not from_sources:
        return edition
    return sorted(Path("chapters").glob("*.ipynb"))


def write_student_notebooks(sources: Sequence[Path], out_dir: Path) -> "list[tuple[Path, StripReport]]":
    """Make the student version of each notebook and write it, under the same file name, to ``out_dir``.

    Every notebook is converted before anything is written, so an error leaves ``out_dir`` untouched.

    Returns:
        ``(written_path, report)`` for each notebook, in order.

    Raises:
        StudentNotebookError: missing or duplicate sources, a source inside the output directory's
            target file, or malformed solution markers.
    """
    sources = [Path(s) for s in sources]
    out_dir = Path(out_dir)
    if not sources:
        raise StudentNotebookError(
            "no notebooks to convert (chapters/*.ipynb is empty; run from the repository root or name the notebooks)"
        )
    names: dict[str, Path] = {}
    converted = []
    for src in sources:
        if src.suffix != ".ipynb" or not src.is_file():
            raise StudentNotebookError(f"{src}: not an existing .ipynb notebook")
        if src.name in names:
            raise StudentNotebookError(f"{src} and {names[src.name]} would both be written to {out_dir / src.name}")
        names[src.name] = src
        dst = out_dir / src.name
        if dst.resolve() == src.resolve():
            raise StudentNotebookError(f"{src}: the output would overwrite the source; choose another -o directory")
        nb = nbformat.read(src, as_version=4)
        converted.append((dst, *make_student_notebook(nb, str(src))))
    out_dir.mkdir(parents=True, exist_ok=True)
    for dst, nb, _ in converted:
        nbformat.write(nb, dst)
    return [(dst, report) for dst, _, report in converted]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line entry point of ``segbook-student``; returns the exit code (0 on success)."""
    parser = argparse.ArgumentParser(prog="segbook-student", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "sources", nargs="*", type=Path, metavar="SRC", help="chapter notebooks (default: every chapters/*.ipynb)"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("student"),
        help="directory for the student notebooks (default: student)",
    )
    parser.add_argument(
        "--from-sources",
        action="store_true",
        help=f"without SRC, read chapters/*.ipynb even when the Colab edition ({COLAB_EDITION}) exists",
    )
    args = parser.parse_args(argv)
    try:
        results = write_student_notebooks(args.sources or _default_sources(args.from_sources), args.output)
    except (StudentNotebookError, HandoutError) as exc:
        print(f"segbook-student: error: {exc}", file=sys.stderr)
        return 1
    for dst, report in results:
        n = len(report.exercises)
        extra = []
        if report.markdown_solutions:
            extra.append(f"{report.markdown_solutions} markdown solution(s) removed")
        if report.cells_dropped:
            extra.append(f"{report.cells_dropped} cell(s) dropped")
        detail = f" ({', '.join(extra)})" if extra else ""
        print(f"{dst}: {n} exercise{'s' if n != 1 else ''} stripped{detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
