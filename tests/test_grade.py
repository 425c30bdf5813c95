"""segbook-grade on generated submissions of chapter 11, and the exercise registry it reads.

One grading run (module fixture) covers every kind of submission; each test asserts one of them on the CSV and the
feedback. Each graded exercise is a fresh Python process, so the run takes some 20-30 s on a loaded machine.
"""

from __future__ import annotations

import copy
import csv
import re
from pathlib import Path

import nbformat
import pytest

from segbook.book import grade
from segbook.book.student import make_student_notebook
from segbook.exercises import book_exercises, find_exercise
from segbook.exercises.registry import RegistryError

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
BOOK = CHAPTERS / "11_comparison.ipynb"
LABEL = re.compile(r"^# (Exercise (\S+) \((\w+)\))$", re.M)
CHAPTER_11 = ["11.1", "11.2", "11.3"]


def book() -> nbformat.NotebookNode:
    return nbformat.read(BOOK, as_version=4)


def cell_index(nb, text: str) -> int:
    """The index of the only code cell whose source contains ``text``."""
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and text in c.source]
    assert len(found) == 1, (text, found)
    return found[0]


def with_cell(nb, label: str, source: str):
    """``nb`` with the exercise cell ``label`` (e.g. "# Exercise 11.1") replaced by ``source``."""
    nb = copy.deepcopy(nb)
    nb.cells[cell_index(nb, label)].source = source
    return nb


def without_cell(nb, label: str):
    nb = copy.deepcopy(nb)
    del nb.cells[cell_index(nb, label)]
    return nb


SPAM = '\nprint("x" * 50_000_000)\n'  # 50 MB of output
WRONG_11_1 = "# Exercise 11.1 (pareto_front)\ndef pareto_front(costs, scores):\n    return list(range(len(costs)))\n"


def submissions(folder: Path) -> "dict[str, Path]":
    """Write one notebook per kind of submission into ``folder``; returns {student: path}."""
    nb = book()
    kinds = {
        "correct": nb,
        "wrong": without_cell(with_cell(nb, "# Exercise 11.1", WRONG_11_1), "# Exercise 11.2"),
        "unattempted": make_student_notebook(nb)[0],
        "loop": without_cell(
            with_cell(nb, "# Exercise 11.1", "# Exercise 11.1 (pareto_front)\nwhile True:\n    pass\n"),
            "# Exercise 11.2",
        ),
        "spam": with_cell(
            with_cell(nb, "# Exercise 11.2", nb.cells[cell_index(nb, "# Exercise 11.2")].source + SPAM),
            "# Exercise 11.1",
            f"# Exercise 11.1 (pareto_front){SPAM}raise ValueError('after the spam')\n",
        ),
        "crash": with_cell(
            with_cell(nb, "# Exercise 11.1", "# Exercise 11.1 (pareto_front)\nimport os\nos._exit(1)\n"),
            "# Exercise 11.2",
            '# Exercise 11.2 (conv2d_flops)\nraise RuntimeError("boom at the top of the cell")\n',
        ),
    }
    tampered = without_cell(with_cell(nb, "# Exercise 11.1", WRONG_11_1), "# Exercise 11.2")
    tampered.cells[cell_index(tampered, "check_pareto_front")].source = 'print("all cases passed")'
    kinds["tampered"] = tampered
    # The 11.1 cell moved to the end without its comment, headings renamed, the 11.2 cell deleted.
    moved = without_cell(nb, "# Exercise 11.2")
    cell = moved.cells.pop(cell_index(moved, "# Exercise 11.1"))
    cell.source = cell.source.replace("# Exercise 11.1 (pareto_front)\n", "")
    moved.cells.append(cell)
    for md in moved.cells:
        if md.cell_type == "markdown":
            md.source = md.source.replace("#", "# Renamed:", 1)
    kinds["moved"] = moved
    paths = {}
    for student, notebook in kinds.items():
        paths[student] = folder / f"{student}.ipynb"
        nbformat.write(notebook, paths[student])
    paths["unreadable"] = folder / "unreadable.ipynb"
    paths["unreadable"].write_text('{"cells": [ this is not JSON', encoding="utf-8")
    return paths


def run_grading(paths, folder: Path, timeout: str):
    out, feedback = folder / "grades.csv", folder / "feedback"
    args = [*map(str, paths), "--out", str(out), "--feedback", str(feedback), "--timeout", timeout, "--jobs", "2"]
    code = grade.main(args)
    with out.open(encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return code, rows, feedback


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every kind of submission but the infinite loop, graded in one run with a generous time limit."""
    folder = tmp_path_factory.mktemp("grading")
    paths = submissions(folder)
    del paths["loop"]
    return run_grading(paths.values(), folder, "60")


def test_an_infinite_loop_times_out(tmp_path):
    paths = submissions(tmp_path)
    code, rows, feedback = run_grading([paths["loop"]], tmp_path / "out", "3")
    assert code == 0
    assert (rows["loop"]["11.1"], rows["loop"]["11.2"], rows["loop"]["11.3"]) == ("timed out", "missing", "passed")
    assert rows["loop"]["passed"] == "1"
    assert "time limit of 3 s" in feedback_of(feedback, "loop")


def feedback_of(feedback: Path, student: str) -> str:
    return (feedback / f"{student}.md").read_text(encoding="utf-8")


def test_grading_runs_and_writes_one_row_and_one_feedback_file_per_student(graded):
    code, rows, feedback = graded
    assert code == 0
    assert set(rows) == {"correct", "wrong", "unattempted", "spam", "crash", "tampered", "moved", "unreadable"}
    assert list(rows["correct"]) == ["student", "file", *CHAPTER_11, "passed", "of"]
    assert sorted(p.stem for p in feedback.glob("*.md")) == sorted(rows)
    assert not any("Exercise" in r["student"] for r in rows.values())


@pytest.mark.parametrize(
    "student, expected, passed",
    [
        # 11.3, left as the book has it in every submission but the student version, passes
        ("correct", ("passed", "passed", "passed"), "3"),
        ("wrong", ("failed", "missing", "passed"), "1"),
        ("unattempted", ("not attempted", "not attempted", "not attempted"), "0"),
        ("tampered", ("failed", "missing", "passed"), "1"),  # its check cell prints "all cases passed": not run
        ("spam", ("error", "passed", "passed"), "2"),  # 50 MB of output each, still graded
        ("crash", ("error", "error", "passed"), "1"),
        ("moved", ("passed", "missing", "passed"), "2"),  # found by its def, at the end, without its comment
        ("unreadable", ("unreadable", "unreadable", "unreadable"), "0"),
    ],
)
def test_each_kind_of_submission_gets_its_status(graded, student, expected, passed):
    _, rows, _ = graded
    assert tuple(rows[student][i] for i in CHAPTER_11) == expected, rows[student]
    assert rows[student]["passed"] == passed


def test_feedback_keeps_the_checks_message(graded):
    _, _, feedback = graded
    text = feedback_of(feedback, "wrong")
    assert "| Exercise 11.1 (pareto_front) | failed |" in text
    assert "Exercise 11.1 (pareto_front): case 1 of 5 failed" in text and "hint:" in text
    assert "Passed 1 of 3 exercises." in text
    assert "no cell labelled `# Exercise 11.2` or defining `conv2d_flops`" in text
    assert "Exercise 11.2 (conv2d_flops): all 5 cases passed." in feedback_of(feedback, "correct")
    assert "not attempted yet" in feedback_of(feedback, "unattempted")


def test_feedback_explains_crashes_timeouts_and_unreadable_files(graded):
    _, _, feedback = graded
    crash = feedback_of(feedback, "crash")
    assert "exit code 1" in crash
    assert "RuntimeError: boom at the top of the cell" in crash
    assert "not a readable notebook" in feedback_of(feedback, "unreadable")


def test_output_spam_is_cut_not_kept(graded):
    _, _, feedback = graded
    text = feedback_of(feedback, "spam")
    assert "ValueError: after the spam" in text
    assert "bytes of output cut" in text and len(text) < 20_000


def test_usage_errors_exit_with_2(tmp_path, capsys):
    out = str(tmp_path / "g.csv")
    assert grade.main(["--out", out]) == 2
    assert grade.main([str(tmp_path / "nobody.ipynb"), "--out", out]) == 2
    assert "nobody.ipynb: no such file" in capsys.readouterr().err
    nbformat.write(book(), tmp_path / "a.ipynb")
    assert grade.main([str(tmp_path / "a.ipynb"), "--out", out, "--chapter", "99"]) == 2
    assert "the book has no exercises there" in capsys.readouterr().err
    assert grade.main([str(tmp_path / "a.ipynb"), "--out", out, "--timeout", "0"]) == 2
    assert not (tmp_path / "g.csv").exists()


def test_a_notebook_with_no_exercise_is_missing_everything(tmp_path):
    path = tmp_path / "empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    subs, ids = grade.grade([path], chapter="11", book=None)
    assert ids == CHAPTER_11
    assert {r.status for r in subs[0].results.values()} == {"missing"}


# --------------------------------------------------------------------------- finding cells, imports


def test_the_labelled_cell_wins_and_the_def_is_the_fallback():
    exercise = find_exercise("11.1")
    cells = [
        "def pareto_front(c, s):\n    return 1",
        "# Exercise 11.1 (pareto_front)\ndef pareto_front(c, s):\n    return 2",
    ]
    assert grade.find_exercise_cell(cells, exercise) == cells[1]
    assert grade.find_exercise_cell(cells[:1], exercise) == cells[0]
    assert grade.find_exercise_cell(["# Exercise 11.10 (other)\nx = 1", "pareto_front(1, 2)"], exercise) is None
    broken = "def pareto_front(c, s):\n    return (("  # does not parse: still found
    assert grade.find_exercise_cell(["x = 1", broken], exercise) == broken


def test_needed_imports_keeps_only_what_the_cell_uses():
    cells = ["import torch\nimport pandas as pd\nfrom torch import nn", "import numpy as np\nfrom . import local"]
    source = "def f(x):\n    return nn.ReLU()(torch.as_tensor(np.ones(2)))"
    assert grade.needed_imports(source, cells) == ["import torch", "from torch import nn", "import numpy as np"]


# --------------------------------------------------------------------------- the registry


def chapter_labels() -> "dict[str, str]":
    """{exercise id: function name} from the ``# Exercise`` comments of every chapter notebook."""
    found = {}
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                for _, exercise_id, name in LABEL.findall(cell.source):
                    found[exercise_id] = name
    return found


def test_the_registry_matches_the_chapters_exercise_cells():
    assert {e.id: e.name for e in book_exercises()} == chapter_labels()


def test_each_chapter_checks_its_exercises_with_the_registrys_check():
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        sources = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        labelled = {i for s in sources for _, i, _ in LABEL.findall(s)}
        for exercise in (e for e in book_exercises() if e.id in labelled):
            module = exercise.module.rsplit(".", 1)[1]
            call = f"{module}.{exercise.check}({exercise.name})"
            assert any(call in s for s in sources), f"{path.name}: no cell calls {call}"


def test_registry_lookups():
    assert [e.id for e in book_exercises("11")] == [e.id for e in book_exercises(11)] == CHAPTER_11
    assert book_exercises(99) == []
    with pytest.raises(RegistryError, match="chapter 11 has 11.1, 11.2, 11.3"):
        find_exercise("11.9")
    with pytest.raises(TypeError, match="chapter must be"):
        book_exercises(1.5)


def test_each_chapters_exercises_appear_in_the_order_of_their_ids():
    # the site (sphinx-exercise) numbers a page's exercises in their order: the ids must follow it, 1, 2, 3, ...
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        ids = [i for c in cells if c.cell_type == "code" for _, i, _ in LABEL.findall(c.source)]
        if ids:
            chapter = ids[0].split(".")[0]
            assert ids == [f"{chapter}.{k}" for k in range(1, len(ids) + 1)], (path.name, ids)


def book_cell(notebook: str, label: str) -> str:
    nb = nbformat.read(CHAPTERS / notebook, as_version=4)
    return nb.cells[cell_index(nb, label)].source


def test_questions_and_the_appendixs_exercises_are_graded_like_functions(tmp_path):
    # a question's answer is a value: None (what the student version holds) is "not attempted", a wrong value
    # "failed" with its hint; the appendix's D.k ids are recognised from the labels alone
    right_12, right_d2 = (
        book_cell("12_practice.ipynb", "# Exercise 12.3"),
        book_cell("appendix_debugging.ipynb", "# Exercise D.2"),
    )
    answers = {"right": right_12, "none": "# Exercise 12.3 (answer_12_3)\nanswer_12_3 = None\n"}
    answers["wrong"] = "# Exercise 12.3 (answer_12_3)\nanswer_12_3 = (2 / 3 + 1 + 1) / 3\n"
    paths = []
    for name, source in answers.items():
        paths.append(tmp_path / f"{name}.ipynb")
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), paths[-1])
    paths.append(tmp_path / "appendix.ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(right_d2)]), paths[-1])
    subs, _ = grade.grade(paths, book=CHAPTERS, timeout=60, jobs=2)
    status = {s.student: {i: r.status for i, r in s.results.items()} for s in subs}
    assert [status[n]["12.3"] for n in ("right", "none", "wrong")] == ["passed", "not attempted", "failed"]
    assert status["appendix"]["D.2"] == "passed" and status["appendix"]["D.1"] == "missing"
    wrong = next(s for s in subs if s.student == "wrong").results["12.3"].message
    assert "Hint:" in wrong and "0.734" not in wrong
