"""The student-notebook generator: every solution leaves, everything else stays, errors name the cell."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from segbook.book.student import main, make_student_notebook, strip_code_cell, strip_markdown
from segbook.exercises import Case, run_checks

REPO = Path(__file__).resolve().parent.parent
SECRET = re.compile(r"secret_\w+")  # every line of every solution below carries one

EXERCISE_PROSE = """```{exercise}
:label: ex-double
Write `double(x)` that returns twice `x`.
```"""

BACKTICK_SOLUTION = """````{solution} ex-double
:class: dropdown
Multiply by two: secret_alpha.
```python
secret_beta = 2 * x
```
````
Text after the backtick solution stays."""

COLON_SOLUTION = """Before the colon solution.
:::{solution} ex-add
:label: sol-add
secret_zeta: add the numbers.
:::"""

ONLY_SOLUTION = """::::{solution} ex-box
secret_theta
:::{note}
secret_note inside a nested directive
:::
::::"""

FUNCTION_BODY = '''# Exercise 1.1 (double)
def double(x):
    """Return twice x."""
    ### BEGIN SOLUTION
    secret_gamma = 2 * x
    return secret_gamma
    ### END SOLUTION'''

TWO_EXERCISES = """# Exercise 1.2 (add)
def add(a, b):
    ### BEGIN SOLUTION
    return a + b  # secret_delta
    ### END SOLUTION


# Exercise 1.3 (Box.area)
class Box:
    def area(self):
        if True:
            ### BEGIN SOLUTION
            return 42  # secret_epsilon
            ### END SOLUTION
"""


def _chapter() -> nbformat.NotebookNode:
    executed = new_code_cell(
        FUNCTION_BODY,
        execution_count=3,
        metadata={"tags": ["hide-input"]},
        outputs=[new_output("stream", name="stdout", text="secret_output\n")],
    )
    cells = [
        new_markdown_cell("# Chapter 9"),
        new_markdown_cell(EXERCISE_PROSE),
        executed,
        new_markdown_cell(BACKTICK_SOLUTION),
        new_code_cell(TWO_EXERCISES, execution_count=4),
        new_markdown_cell(COLON_SOLUTION),
        new_code_cell("print('secret_eta')", metadata={"tags": ["solution"]}),
        new_markdown_cell(ONLY_SOLUTION),
        new_markdown_cell("```{solution-start} ex-add\n```\nsecret_iota: a gated solution"),
        new_code_cell("secret_kappa = 1"),
        new_markdown_cell("```{solution-end}\n```\nAfter the gate."),
        new_code_cell(
            "check = double",
            execution_count=5,
            outputs=[new_output("execute_result", data={"text/plain": "7"}, execution_count=5)],
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


@pytest.fixture
def chapter(tmp_path) -> Path:
    (tmp_path / "chapters").mkdir()
    path = tmp_path / "chapters" / "09_demo.ipynb"
    nbformat.write(_chapter(), path)
    return path


def _student(chapter: Path, capsys) -> nbformat.NotebookNode:
    out = chapter.parent.parent / "student"
    assert main([str(chapter), "-o", str(out)]) == 0
    return nbformat.read(out / chapter.name, as_version=4)


def test_no_line_of_any_solution_survives(chapter, capsys):
    _student(chapter, capsys)
    text = (chapter.parent.parent / "student" / chapter.name).read_text()
    assert SECRET.findall(chapter.read_text()), "the fixture must contain the solutions it checks for"
    assert SECRET.findall(text) == []
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text and "{solution" not in text


def test_each_solution_becomes_a_raise_naming_its_exercise_at_the_marker_indentation(chapter, capsys):
    nb = _student(chapter, capsys)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert '    raise NotImplementedError("Exercise 1.1 (double): write your solution here")' in code
    assert '\n    raise NotImplementedError("Exercise 1.2 (add): write your solution here")' in code
    assert '\n            raise NotImplementedError("Exercise 1.3 (Box.area): write your solution here")' in code
    assert '"""Return twice x."""' in code and "# Exercise 1.1 (double)" in code


def test_student_code_compiles_and_the_check_reports_not_attempted(chapter, capsys):
    nb = _student(chapter, capsys)
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(cell.source, namespace)
    capsys.readouterr()
    assert run_checks("Exercise 1.1 (double)", namespace["double"], [Case("two", (2,), expected=4)]) is False
    assert "Exercise 1.1 (double) is not attempted yet" in capsys.readouterr().out
    with pytest.raises(NotImplementedError, match=r"Exercise 1\.3 \(Box\.area\)"):
        namespace["Box"]().area()


def test_outputs_counts_and_widget_state_are_cleared(chapter, capsys):
    nb = _student(chapter, capsys)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert "widgets" not in nb.metadata
    nbformat.validate(nb)


def test_exercise_prose_and_other_text_stay_and_empty_cells_go(chapter, capsys):
    nb = _student(chapter, capsys)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert EXERCISE_PROSE in markdown
    assert "Text after the backtick solution stays." in markdown
    assert "Before the colon solution.\n" in markdown
    assert "After the gate." in markdown
    assert all(source.strip() for source in markdown)
    # 12 cells: dropped are the `solution`-tagged cell, the solution-only cell, the gated markdown and code
    assert len(nb.cells) == 8


def test_hide_input_tag_is_removed_from_cells_that_held_a_solution(chapter, capsys):
    nb = _student(chapter, capsys)
    cell = next(c for c in nb.cells if "def double" in c.source)
    assert "hide-input" not in cell.metadata.get("tags", [])


def test_one_line_per_notebook_with_the_number_of_exercises(chapter, capsys):
    _student(chapter, capsys)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{chapter.parent.parent / 'student' / chapter.name}: 3 exercises stripped")


def test_default_is_every_chapter_notebook_into_student(chapter, monkeypatch, capsys):
    monkeypatch.chdir(chapter.parent.parent)
    assert main([]) == 0
    assert (chapter.parent.parent / "student" / chapter.name).is_file()


def test_source_notebook_is_left_unchanged(chapter, capsys):
    before = chapter.read_bytes()
    _student(chapter, capsys)
    assert chapter.read_bytes() == before


@pytest.mark.parametrize(
    "source, message",
    [
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", "has no exercise label before it"),
        ("# Exercise 1.1 (f)\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n", "on line 3 has no '### END SOLUTION'"),
        ("# Exercise 1.1 (f)\n### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "nested"),
        ("# Exercise 1.1 (f)\nx = 1\n### END SOLUTION\n", "without a '### BEGIN SOLUTION'"),
        (
            "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n# Exercise 1.1 (f)\n",
            "no exercise label",
        ),
    ],
)
def test_malformed_code_markers_fail_naming_notebook_and_cell(tmp_path, capsys, source, message):
    path = tmp_path / "bad.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("intro"), new_code_cell(source)]), path)
    assert main([str(path), "-o", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    assert f"{path}, cell 1" in err and message in err
    assert not (tmp_path / "out").exists(), "nothing is written when a notebook is malformed"


@pytest.mark.parametrize(
    "cells, message",
    [
        (
            [new_markdown_cell(":::{solution} ex\nnever closed\n")],
            "cell 0 (markdown, first line ':::{solution} ex'): a solution directive is not closed",
        ),
        ([new_markdown_cell("```{solution-start} ex\n```\n"), new_code_cell("x = 1")], "has no '{solution-end}'"),
        ([new_markdown_cell("```{solution-end}\n```\n")], "'{solution-end}' without a '{solution-start}'"),
    ],
)
def test_malformed_markdown_solutions_fail_naming_notebook_and_cell(tmp_path, capsys, cells, message):
    path = tmp_path / "bad.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    assert main([str(path), "-o", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    assert str(path) in err and message in err


def test_refuses_to_overwrite_its_source(chapter, capsys):
    assert main([str(chapter), "-o", str(chapter.parent)]) != 0
    assert "would overwrite the source" in capsys.readouterr().err


def test_no_notebooks_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([]) != 0
    assert "no notebooks" in capsys.readouterr().err


@pytest.mark.parametrize(
    "source",
    [
        "```python\n```{solution}\nnot a directive inside a code fence\n```\n```\n",
        "````markdown\n:::{solution} ex\nliteral example\n:::\n````\n",
    ],
)
def test_solution_syntax_shown_inside_a_code_fence_is_kept(source):
    assert strip_markdown(source) == (source, 0)


def test_code_fences_inside_a_solution_do_not_end_it_early():
    source = "```{solution} ex\n```python\nsecret_a = 1\n```\nsecret_b\n```\nkept"
    assert strip_markdown(source) == ("kept", 1)


def test_cell_without_markers_is_unchanged():
    source = "# Exercise 1.1 (f)\ndef f():\n    return 1"
    assert strip_code_cell(source) == (source, [])


def test_make_student_notebook_does_not_modify_its_input():
    nb = _chapter()
    before = json.dumps(nb, sort_keys=True)
    make_student_notebook(nb, "demo")
    assert json.dumps(nb, sort_keys=True) == before


def test_real_chapters_student_versions_run_top_to_bottom_without_solutions(tmp_path, capsys):
    """Slow: generates student versions of the real chapters and executes each one with nbclient."""
    nbclient = pytest.importorskip("nbclient")
    chapters = sorted((REPO / "chapters").glob("*.ipynb"))
    if not chapters:
        pytest.skip("no chapter notebooks in chapters/ yet")
    out = tmp_path / "student"
    assert main([str(p) for p in chapters] + ["-o", str(out)]) == 0
    for chapter in chapters:
        nb = nbformat.read(out / chapter.name, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert "### BEGIN SOLUTION" not in cell.source, chapter.name
            else:
                assert "{solution}" not in cell.source and "{solution-start}" not in cell.source, chapter.name
        client = nbclient.NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO / "chapters")}}
        )
        client.execute()  # raises CellExecutionError, naming the cell, if the student version fails


@pytest.mark.parametrize(
    "cell, line",
    [
        (new_code_cell("# Exercise 1.1 (f)\n###BEGIN SOLUTION\nsecret_a = 1\n###END SOLUTION\n"), "###BEGIN SOLUTION"),
        (new_code_cell("# Exercise 1.1 (f)\n## BEGIN SOLUTION\nsecret_a = 1\n## END SOLUTION\n"), "## BEGIN SOLUTION"),
        (
            new_code_cell("# Exercise 1.1 (f)\n### begin solution\nsecret_a = 1\n"),
            "### begin solution",
        ),
        (new_code_cell("# Exercise 1.1 (f)\n#### BEGIN SOLUTION\nsecret_a = 1\n"), "#### BEGIN SOLUTION"),
        (new_code_cell("# Exercise 1.1 (f)\n### BEGIN_SOLUTION\nsecret_a = 1\n"), "### BEGIN_SOLUTION"),
        (nbformat.v4.new_raw_cell("```{solution} ex-double\nsecret_a\n```\n"), "```{solution} ex-double"),
        (nbformat.v4.new_raw_cell("### BEGIN SOLUTION\nsecret_a = 1\n"), "### BEGIN SOLUTION"),
        (new_markdown_cell("Try it.\n```{Solution} ex-double\nsecret_a\n```\n"), "```{Solution} ex-double"),
        (new_markdown_cell("Try it.\n:::{ solution } ex-double\nsecret_a\n:::\n"), ":::{ solution } ex-double"),
        (new_markdown_cell("<details>\n<summary>solution</summary>\nsecret_a\n</details>\n"), "<summary>solution"),
    ],
)
def test_near_miss_markers_are_refused_naming_notebook_cell_and_line(tmp_path, capsys, cell, line):
    path = tmp_path / "near.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("intro"), cell]), path)
    assert main([str(path), "-o", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    first = next(text for text in cell.source.splitlines() if text.strip())
    assert f"{path}, cell 1 ({cell.cell_type}, first line {first!r})" in err, err
    assert line in err and "looks like a solution marker" in err, err
    assert not SECRET.search(err.split("looks like")[1]) and not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- handouts: badge, note, setup cell

EDITION_BADGE = (
    "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    "(https://colab.research.google.com/github/o/r/blob/colab/chapters/09_demo.ipynb)"
)
STUDENT_URL = "https://colab.research.google.com/github/o/r/blob/colab/student/09_demo.ipynb"
PAGE_LINK = "[Chapter 9](https://o.github.io/r/chapters/09_demo.html)"


def _edition(badge: str = EDITION_BADGE, note: str = "", setup: str = "") -> nbformat.NotebookNode:
    """A Colab-edition notebook as segbook-stamp and segbook-colab-edition write it: badge, note, setup, exercise."""
    from segbook.book.colab import Repository, setup_source
    from segbook.book.colab_edition import EDITION_NOTE, GLUE_NOTE

    note = note or "*" + EDITION_NOTE.format(page=PAGE_LINK) + f"* *{GLUE_NOTE}*"
    setup = setup or setup_source(Repository("https://github.com/o/r", "o", "r", "main", Path(".")))
    cells = [
        new_markdown_cell(badge, metadata={"tags": ["colab-badge", "remove-cell"]}),
        new_markdown_cell(note, metadata={"tags": ["colab-edition-note"]}),
        new_code_cell(setup, metadata={"tags": ["colab-setup", "hide-cell"]}),
        new_code_cell(FUNCTION_BODY, metadata={"tags": ["hide-input"]}),
    ]
    return new_notebook(cells=cells)


def test_the_handouts_badge_note_and_setup_cell_name_the_student_version(tmp_path, capsys):
    from segbook.book.colab import STAMP_COMMENT
    from segbook.book.handout_cells import HANDOUT_COMMENT

    source = _edition()
    nbformat.write(source, tmp_path / "09_demo.ipynb")
    assert main([str(tmp_path / "09_demo.ipynb"), "-o", str(tmp_path / "student")]) == 0
    badge, note, setup = nbformat.read(tmp_path / "student" / "09_demo.ipynb", as_version=4).cells[:3]
    assert badge.source == EDITION_BADGE.replace(
        "https://colab.research.google.com/github/o/r/blob/colab/chapters/09_demo.ipynb", STUDENT_URL
    )
    assert note.source.startswith(f"*This is the student version of {PAGE_LINK}, a page of the book's website")
    assert "NotImplementedError" in note.source and note.source.endswith("your run may differ in the last digits.*")
    assert HANDOUT_COMMENT in setup.source.splitlines() and STAMP_COMMENT not in setup.source
    # only the comment differs: the same package is installed, from the same repository and branch
    assert setup.source.replace(HANDOUT_COMMENT, STAMP_COMMENT) == source.cells[2].source


def test_a_student_version_converted_again_is_unchanged():
    once = make_student_notebook(_edition(), "demo")[0]
    assert make_student_notebook(once, "again")[0] == once


@pytest.mark.parametrize(
    "cells, where, message",
    [
        ({"badge": "[![Open In Colab](x)](y)"}, "cell 0 (tag 'colab-badge')", "exactly one link to a notebook"),
        (
            {"badge": EDITION_BADGE + " " + EDITION_BADGE},
            "cell 0 (tag 'colab-badge')",
            "found 2",
        ),
        ({"note": "*Some other note.*"}, "cell 1 (tag 'colab-edition-note')", "not the note segbook-colab-edition"),
        ({"setup": "import segbook"}, "cell 2 (tag 'colab-setup')", "not the setup cell segbook-stamp writes"),
    ],
)
def test_a_badge_note_or_setup_cell_not_as_stamped_is_an_error_naming_the_cell(tmp_path, capsys, cells, where, message):
    path = tmp_path / "odd.ipynb"
    nbformat.write(_edition(**cells), path)
    assert main([str(path), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{path}, {where}" in err and message in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://colab.research.google.com/github/o/r/blob/colab/chapters/07_fcn.ipynb", "colab/student/07_fcn.ipynb"),
        ("https://colab.research.google.com/github/o/r.x/blob/dev/docs/a/b.ipynb", "dev/student/b.ipynb"),
        ("https://colab.research.google.com/github/o/r/blob/colab/student/07_fcn.ipynb", "colab/student/07_fcn.ipynb"),
    ],
)
def test_student_colab_url_keeps_repository_and_branch(url, expected):
    from segbook.book.handout_cells import student_colab_url

    assert student_colab_url(url) == url.split("/blob/")[0] + "/blob/" + expected


@pytest.mark.parametrize(
    "url",
    [
        "https://mybinder.org/v2/gh/o/r/main?urlpath=tree/chapters/a.ipynb",
        "https://colab.research.google.com/github/o/r/blob/colab/chapters/a.md",
        "https://colab.research.google.com/drive/1abc",
    ],
)
def test_student_colab_url_refuses_what_colab_does_not_open_from_github(url):
    from segbook.book.handout_cells import HandoutError, student_colab_url

    with pytest.raises(HandoutError, match="does not open a notebook from GitHub"):
        student_colab_url(url)


def test_handout_cells_leave_a_notebook_without_them_alone():
    from segbook.book.handout_cells import stamp_handout

    nb = _chapter()
    before = json.dumps(nb, sort_keys=True)
    stamp_handout(nb, "plain")
    assert json.dumps(nb, sort_keys=True) == before


def test_every_chapters_handout_opens_its_student_version_in_colab():
    """Fast (JSON only): every chapter's student version opens itself, from the repository of _config.yml."""
    from segbook.book.colab import read_repository
    from segbook.book.handout_cells import HANDOUT_COMMENT

    repo = read_repository(REPO / "_config.yml")
    chapters = sorted((REPO / "chapters").glob("*.ipynb"))
    assert chapters
    for chapter in chapters:
        nb = make_student_notebook(nbformat.read(chapter, as_version=4), str(chapter))[0]
        url = f"https://colab.research.google.com/github/{repo.owner}/{repo.name}/blob/{repo.colab_branch}/student/"
        assert nb.cells[0].source.endswith(f"({url}{chapter.name})"), chapter.name
        assert HANDOUT_COMMENT in nb.cells[1].source.splitlines(), chapter.name
