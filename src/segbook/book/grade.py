"""Grade students' notebooks with the book's own checks: ``segbook-grade SUBMISSION... --out grades.csv``.

For each submitted notebook (a student's copy of one chapter, any file name) and each exercise of its chapter:

* the exercise's code cell is found by its comment (``# Exercise 12.1 (aux_loss)``) or, when the comment is gone,
  as the cell that defines the function the exercise asks for (``def aux_loss``), wherever it was moved;
* that cell alone runs in a FRESH Python process, after the imports it needs (taken from the book's chapter
  notebook, then from the submission), with a time limit and its output captured and cut to a few kilobytes;
* the book's check (``segbook.exercises.ch12.check_aux_loss``) then runs on what the cell defined. The check cell
  of the submission is never run: a student can edit or delete it.

Each exercise gets one status: ``passed``, ``failed`` (the check's message is kept), ``not attempted`` (the
``raise NotImplementedError`` placeholder is still there), ``error`` (the cell raised, or the process died, e.g.
``os._exit`` or a segfault), ``timed out``, ``missing`` (no such cell) or ``unreadable`` (the file is no notebook).
The grades go to a CSV (one row per student, the file's stem; one column per exercise id; the number passed) and,
with ``--feedback DIR``, to one Markdown file per student with each exercise's status and message.

Student code runs UNSANDBOXED, with your user's rights, as with nbgrader: a fresh process and a time limit stop
accidents (loops, crashes, output floods), not malice. Grade on a machine or container you can throw away.

Example::

    segbook-grade submissions/*.ipynb --out grades.csv --feedback feedback/ --timeout 60 --jobs 2
"""

from __future__ import annotations

import argparse
import ast
import collections
import csv
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import nbformat

from segbook.book.grade_runner import Result, run_exercise
from segbook.exercises.registry import Exercise, book_exercises, exercise_sort_key

__all__ = [
    "STATUSES",
    "Result",
    "Submission",
    "find_exercise_cell",
    "needed_imports",
    "grade",
    "write_csv",
    "write_feedback",
    "main",
]

STATUSES = ("passed", "failed", "not attempted", "error", "timed out", "missing", "unreadable")
BOOK_CHAPTERS = Path(__file__).resolve().parents[3] / "chapters"  # a source checkout's chapters/
_LABEL = re.compile(r"^\s*#+\s*Exercise\s+(?P<id>\w+\.\d+)\b(?!\.)", re.M)


@dataclass
class Submission:
    """One graded notebook: the student (file stem), its chapter, and a :class:`Result` per exercise id."""

    path: Path
    student: str
    chapter: Optional[str] = None
    results: "dict[str, Result]" = field(default_factory=dict)
    note: str = ""

    @property
    def passed(self) -> int:
        return sum(r.status == "passed" for r in self.results.values())


# --------------------------------------------------------------------------- finding the cells


def _code_cells(path: Path) -> "list[str]":
    """The sources of the notebook's code cells; ValueError (naming the file) when it is no readable notebook."""
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        return [str(c.source) for c in nb.cells if c.get("cell_type") == "code"]
    except Exception as exc:  # invalid JSON, not a notebook, bad encoding: nbformat raises many kinds
        raise ValueError(f"{path}: not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})") from exc


def _defines(source: str, name: str) -> bool:
    """Whether a cell defines ``name`` at its top level (def, class or assignment), even if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return re.search(rf"^(?:(?:async\s+)?def|class)\s+{name}\b|^{name}\s*[:=]", source, re.M) is not None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
            isinstance(t, ast.Name) and t.id == name for t in targets
        ):
            return True
    return False


def find_exercise_cell(cells: Sequence[str], exercise: Exercise) -> Optional[str]:
    """The source of the exercise's code cell among ``cells``, or ``None`` when there is none.

    A cell with the ``# Exercise <id>`` comment comes first (the last one that defines the exercise's name, else
    the last one with the comment); then the last cell that defines the name. Headings and order do not matter.

    Example:
        >>> from segbook.exercises import find_exercise
        >>> cells = ["x = 1", "def pareto_front(costs, scores):\\n    return []"]
        >>> find_exercise_cell(cells, find_exercise("11.1")).splitlines()[0]
        'def pareto_front(costs, scores):'
    """
    labelled = [s for s in cells if exercise.id in (m["id"] for m in _LABEL.finditer(s))]
    defining = [s for s in cells if _defines(s, exercise.name)]
    both = [s for s in labelled if s in defining]
    for candidates in (both, labelled, defining):
        if candidates:
            return candidates[-1]
    return None


def _recognise_chapter(cells: Sequence[str], every: Sequence[Exercise]) -> Optional[str]:
    """The chapter most ``# Exercise`` comments name, else the one whose exercise names the cells define most."""
    known = {e.id: e.chapter for e in every}
    named = collections.Counter(known[m["id"]] for s in cells for m in _LABEL.finditer(s) if m["id"] in known)
    if named:
        return named.most_common(1)[0][0]
    defined = collections.Counter(e.chapter for e in every if any(_defines(s, e.name) for s in cells))
    ranked = defined.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def needed_imports(source: str, import_cells: Sequence[str]) -> "list[str]":
    """The top-level import statements of ``import_cells`` that bind a name the cell ``source`` uses.

    The first binding of a name wins. Star imports and relative imports are skipped.

    Example:
        >>> needed_imports("def f(x):\\n    return torch.relu(x)", ["import torch\\nimport pandas as pd"])
        ['import torch']
    """
    try:
        used = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    except SyntaxError:
        used = set(re.findall(r"[A-Za-z_]\w*", source))
    statements, bound = [], set()
    for cell in import_cells:
        try:
            body = ast.parse(cell).body
        except SyntaxError:
            continue
        for node in body:
            relative = isinstance(node, ast.ImportFrom) and bool(node.level)
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or relative:
                continue
            keep = []
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                if alias.name != "*" and name in used and name not in bound:
                    keep.append(alias)
                    bound.add(name)
            if keep:
                node.names = keep
                statements.append(ast.unparse(node))
    return statements


# --------------------------------------------------------------------------- grading and writing


def _book_imports(book: Optional[Path]) -> "dict[str, list[str]]":
    """For each chapter with exercises, the code cells of the book's notebook (for their imports)."""
    found: dict[str, list[str]] = {}
    for path in sorted(book.glob("*.ipynb")) if book and book.is_dir() else []:
        try:
            cells = _code_cells(path)
        except ValueError:
            continue
        for chapter in {m["id"].split(".")[0] for s in cells for m in _LABEL.finditer(s)}:
            found.setdefault(chapter, cells)
    return found


def _students(paths: Sequence[Path]) -> "list[str]":
    """Each file's stem; ``folder/stem`` where two files share a stem."""
    stems = collections.Counter(p.stem for p in paths)
    return [p.stem if stems[p.stem] == 1 else f"{p.parent.name}/{p.stem}" for p in paths]


def grade(
    paths: Sequence[Path],
    chapter: Optional[str] = None,
    book: Optional[Path] = BOOK_CHAPTERS,
    timeout: float = 60.0,
    jobs: int = 2,
) -> "tuple[list[Submission], list[str]]":
    """Grade every notebook in ``paths``; returns the submissions and the exercise ids (the CSV's columns).

    Args:
        paths: the submitted notebooks.
        chapter: grade every notebook as this chapter; by default each one's chapter is recognised.
        book: the book's chapter notebooks, for the imports an exercise cell needs.
        timeout: seconds per exercise.
        jobs: exercises run at the same time.
    """
    every = book_exercises()
    imports = _book_imports(book)
    submissions = [Submission(Path(p), s) for p, s in zip(paths, _students([Path(p) for p in paths]))]
    tasks, unreadable = [], set()
    for sub in submissions:
        try:
            cells: Optional[list[str]] = _code_cells(sub.path)
        except ValueError as exc:
            cells, sub.note = None, str(exc)
            unreadable.add(sub.student)
        sub.chapter = chapter or (_recognise_chapter(cells, every) if cells is not None else None)
        if cells is not None and sub.chapter is None:
            sub.note = "no exercise of any chapter found; name the chapter with --chapter"
        for exercise in (e for e in every if e.chapter == sub.chapter):
            source = None if cells is None else find_exercise_cell(cells, exercise)
            if cells is None:
                sub.results[exercise.id] = Result("unreadable", sub.note)
            elif source is None:
                where = f"no cell labelled `# Exercise {exercise.id}` or defining `{exercise.name}`"
                sub.results[exercise.id] = Result("missing", where)
            else:
                needed = needed_imports(source, imports.get(exercise.chapter, []) + cells)
                tasks.append((sub, exercise, source, needed))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [(sub, ex, pool.submit(run_exercise, src, ex, needed, timeout)) for sub, ex, src, needed in tasks]
        for sub, exercise, future in futures:
            sub.results[exercise.id] = future.result()
    ids = sorted({i for sub in submissions for i in sub.results}, key=exercise_sort_key)
    for sub in submissions:
        if not sub.results:  # unreadable or unrecognised: every column says so
            status = "unreadable" if sub.student in unreadable else "missing"
            sub.results = {i: Result(status, sub.note) for i in ids}
        sub.results = dict(sorted(sub.results.items(), key=lambda kv: exercise_sort_key(kv[0])))
    return submissions, ids


def write_csv(submissions: Sequence[Submission], ids: Sequence[str], out: Path) -> None:
    """One row per student: the file, each exercise's status (empty if not in its chapter), the number passed."""
    with Path(out).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "file", *ids, "passed", "of"])
        for sub in submissions:
            row = [sub.results[i].status if i in sub.results else "" for i in ids]
            writer.writerow([sub.student, str(sub.path), *row, sub.passed, len(sub.results)])


def write_feedback(sub: Submission, folder: Path) -> Path:
    """Write ``folder/<student>.md``: a table of statuses, then each exercise's message and output."""
    every = {e.id: e for e in book_exercises()}
    label = {i: every[i].label if i in every else f"Exercise {i}" for i in sub.results}
    chapter = f" (chapter {sub.chapter})" if sub.chapter else ""
    text = [f"# Feedback for {sub.student}{chapter}", "", f"Submission: `{sub.path.name}`."]
    text += [f"Passed {sub.passed} of {len(sub.results)} exercises.", ""]
    text += ([sub.note, ""] if sub.note else []) + ["| Exercise | Status |", "|---|---|"]
    text += [f"| {label[i]} | {r.status} |" for i, r in sub.results.items()]
    for i, result in sub.results.items():
        text += ["", f"## {label[i]}: {result.status}", ""]
        text += ["```text", result.message, "```"] if result.message else []
        text += ["", "Output (its start and end):", "", "```text", result.output, "```"] if result.output else []
    path = Path(folder) / (sub.student.replace("/", "_") + ".md")
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line entry point of ``segbook-grade``: 0 when grading ran (whatever the grades), 2 on usage errors."""
    parser = argparse.ArgumentParser(
        prog="segbook-grade",
        description="Grade students' notebooks with the book's own checks, each exercise cell in a fresh process "
        "with a time limit. Student code runs unsandboxed, as with nbgrader.",
    )
    parser.add_argument("submissions", nargs="*", type=Path, metavar="SUBMISSION", help="students' notebooks")
    parser.add_argument("--out", type=Path, required=True, metavar="CSV", help="the CSV of grades to write")
    parser.add_argument(
        "--feedback", type=Path, metavar="DIR", help="a folder for one Markdown feedback file per student"
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="SECONDS", help="seconds per exercise (default: 60)"
    )
    parser.add_argument("--chapter", metavar="N", help="grade every submission as this chapter (default: recognised)")
    parser.add_argument("--jobs", type=int, default=2, metavar="N", help="exercises run at the same time (default: 2)")
    parser.add_argument(
        "--book", type=Path, default=BOOK_CHAPTERS, metavar="DIR", help="the book's chapter notebooks, for imports"
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    problems = [f"{p}: no such file" for p in args.submissions if not p.is_file()]
    problems += ["no submissions given"] if not args.submissions else []
    problems += [f"--timeout must be > 0 seconds, got {args.timeout}"] if not args.timeout > 0 else []
    problems += [f"--jobs must be >= 1, got {args.jobs}"] if args.jobs < 1 else []
    if args.chapter is not None and not book_exercises(args.chapter):
        chapters = sorted({e.chapter for e in book_exercises()}, key=lambda c: exercise_sort_key(c + ".0"))
        problems.append(f"--chapter {args.chapter}: the book has no exercises there (chapters: {', '.join(chapters)})")
    if problems:
        print("\n".join(f"segbook-grade: error: {p}" for p in problems), file=sys.stderr)
        return 2
    chapter = None if args.chapter is None else book_exercises(args.chapter)[0].chapter
    submissions, ids = grade(args.submissions, chapter, args.book, args.timeout, args.jobs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(submissions, ids, args.out)
    if args.feedback:
        args.feedback.mkdir(parents=True, exist_ok=True)
        for sub in submissions:
            write_feedback(sub, args.feedback)
    print(f"segbook-grade: {len(submissions)} submission(s), {len(ids)} exercise(s); grades in {args.out}")
    for i in ids:
        counts = collections.Counter(s.results[i].status for s in submissions if i in s.results)
        print(f"  {i}: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]))
    if args.feedback:
        print(f"  feedback: {args.feedback}/ ({len(submissions)} file(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
