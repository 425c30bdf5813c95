"""Colab stamping: the badge points at the notebook on GitHub, the setup cell installs only what is missing."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from segbook.book.colab import check_notebook, expected_cells, main, read_repository, stamp, stamp_notebook

REPO = Path(__file__).resolve().parent.parent
URL = "https://github.com/hust-soict/segbook"
BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"


def _write_config(root: Path, url: str = URL, extra: str = "") -> Path:
    config = root / "_config.yml"
    config.write_text(f"title: Test book\nrepository:\n  url: {url}\n{extra}", encoding="utf-8")
    return config


@pytest.fixture
def book(tmp_path) -> "tuple[Path, Path]":
    """A tiny repository: ``_config.yml`` and one chapter notebook; returns (config, notebook)."""
    (tmp_path / "chapters").mkdir()
    notebook = tmp_path / "chapters" / "01_task.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("# The task"), new_code_cell("x = 1")]), notebook)
    return _write_config(tmp_path), notebook


def test_stamp_puts_badge_with_repository_url_and_notebook_path_first(book):
    config, notebook = book
    assert stamp_notebook(notebook, config) is True
    cells = nbformat.read(notebook, as_version=4).cells
    assert cells[0].cell_type == "markdown" and cells[0].metadata.tags == ["colab-badge", "remove-cell"]
    assert cells[0].source == (
        f"[![Open In Colab]({BADGE_SVG})](https://colab.research.google.com/github/"
        f"hust-soict/segbook/blob/colab/chapters/01_task.ipynb)"
    )  # the Colab edition's branch
    assert cells[1].cell_type == "code" and cells[1].metadata.tags == ["colab-setup", "hide-cell"]
    assert f'"hust-segbook @ git+{URL}@main"' in cells[1].source
    assert [c.source for c in cells[2:]] == ["# The task", "x = 1"]


def test_branch_and_path_to_book_from_config_are_used(tmp_path):
    book_dir = tmp_path / "docs"
    (book_dir / "chapters").mkdir(parents=True)
    notebook = book_dir / "chapters" / "02_window.ipynb"
    nbformat.write(new_notebook(cells=[]), notebook)
    config = _write_config(book_dir, url=URL + ".git", extra="  branch: fall-2024\n  path_to_book: docs\n")
    badge, setup = expected_cells(notebook, config)
    # The badge opens the Colab edition (its branch holds the book's directory, _build/colab, at its root);
    # the setup cell installs the package from the book's branch.
    assert "/github/hust-soict/segbook/blob/colab/chapters/02_window.ipynb)" in badge
    assert f"git+{URL}@fall-2024" in setup


def test_the_colab_branch_comes_from_the_segbook_section_of_the_config(book):
    config, notebook = book
    _write_config(config.parent, extra="segbook:\n  colab_branch: colab-edition\n")
    badge, setup = expected_cells(notebook, config)
    assert "/github/hust-soict/segbook/blob/colab-edition/chapters/01_task.ipynb)" in badge
    assert f"git+{URL}@main" in setup
    assert read_repository(config).colab_branch == "colab-edition"


def test_setup_cell_lines_fit_the_88_column_code_style(book):
    setup = expected_cells(book[1], book[0])[1]
    assert max(len(line) for line in setup.splitlines()) <= 88


def test_the_stamp_comment_is_one_line_of_the_setup_cell_that_a_handout_rewrites_within_88_columns(book):
    """segbook.book.handout_cells finds the setup cell's STAMP_COMMENT line and puts HANDOUT_COMMENT in its place."""
    from segbook.book.colab import STAMP_COMMENT
    from segbook.book.handout_cells import HANDOUT_COMMENT, student_setup

    for extras in ([], ["practice"]):
        nbformat.write(new_notebook(cells=[], metadata={"segbook": {"extras": extras}}), book[1])
        setup = expected_cells(book[1], book[0])[1]
        assert setup.splitlines().count(STAMP_COMMENT) == 1
        handout = student_setup(setup)
        assert handout.splitlines().count(HANDOUT_COMMENT) == 1 and STAMP_COMMENT not in handout
        assert max(len(line) for line in handout.splitlines()) <= 88


def test_stamping_twice_gives_byte_identical_files(book):
    config, notebook = book
    stamp([notebook], config)
    first = notebook.read_bytes()
    assert stamp([notebook], config) == []
    assert notebook.read_bytes() == first
    assert first.endswith(b"}\n") and b'\n "cells": [\n  {\n' in first  # nbformat layout, indent 1


def test_stamping_copies_of_a_notebook_gives_identical_files(book, tmp_path):
    config, notebook = book
    copy = notebook.with_name("01_copy.ipynb")
    copy.write_bytes(notebook.read_bytes())
    stamp([notebook, copy], config)
    assert notebook.read_text().replace("01_task", "01_copy") == copy.read_text()


def test_notebooks_without_cell_ids_stay_without_ids(book):
    config, notebook = book
    nb = nbformat.read(notebook, as_version=4)
    nb.nbformat_minor = 4
    for cell in nb.cells:
        del cell["id"]
    nbformat.write(nb, notebook)
    stamp_notebook(notebook, config)
    stamped = nbformat.read(notebook, as_version=4)
    assert stamped.nbformat_minor == 4 and all("id" not in cell for cell in stamped.cells)
    assert check_notebook(notebook, config) == []


def test_existing_tagged_cells_are_replaced_not_duplicated(book):
    config, notebook = book
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(new_markdown_cell("[old badge](https://example.org)", metadata={"tags": ["colab-badge"]}))
    nb.cells.insert(0, new_code_cell("!pip install segbook", metadata={"tags": ["colab-setup"]}))
    nbformat.write(nb, notebook)
    stamp_notebook(notebook, config)
    cells = nbformat.read(notebook, as_version=4).cells
    assert [c.source for c in cells[2:]] == ["# The task", "x = 1"]
    assert "example.org" not in cells[0].source and "!pip" not in cells[1].source
    assert check_notebook(notebook, config) == []


def test_check_passes_after_stamp_and_writes_nothing(book, capsys):
    config, notebook = book
    stamp_notebook(notebook, config)
    before = notebook.stat().st_mtime_ns, notebook.read_bytes()
    assert main(["--check", "--config", str(config), str(notebook)]) == 0
    assert (notebook.stat().st_mtime_ns, notebook.read_bytes()) == before


def test_check_fails_on_unstamped_notebook_without_writing(book, capsys):
    config, notebook = book
    before = notebook.read_bytes()
    assert main(["--check", "--config", str(config), str(notebook)]) == 1
    assert f"{notebook}: no Colab badge cell" in capsys.readouterr().out
    assert notebook.read_bytes() == before


def test_check_fails_naming_the_notebook_when_the_config_url_changes(book, capsys):
    config, notebook = book
    stamp_notebook(notebook, config)
    _write_config(config.parent, url="https://github.com/someone-else/segbook")
    assert main(["--check", "--config", str(config)]) == 1  # default notebooks: chapters/ beside the config
    out = capsys.readouterr().out
    assert str(notebook) in out and "badge is stale" in out and "someone-else" in out


def test_check_fails_when_the_setup_cell_was_edited(book, capsys):
    config, notebook = book
    stamp_notebook(notebook, config)
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[1].source += "\nimport torch  # edited by hand"
    nbformat.write(nb, notebook)
    assert main(["--check", "--config", str(config), str(notebook)]) == 1
    assert "setup cell differs" in capsys.readouterr().out


def test_check_fails_when_the_stamped_cells_are_not_first(book):
    config, notebook = book
    stamp_notebook(notebook, config)
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = nb.cells[2:] + nb.cells[:2]
    nbformat.write(nb, notebook)
    assert check_notebook(notebook, config) == [
        "the badge and setup cells are not the first two cells, are duplicated, or have the wrong type or tags"
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("title: x\n", "expected a 'repository:' section"),
        ("repository:\n  url: https://gitlab.com/a/b\n", "must look like https://github.com/<owner>/<repo>"),
        ("repository: [\n", "not valid YAML"),
        ("repository:\n  url: https://github.com/a/b\n  path_to_book: ../x\n", "relative path inside the repository"),
        (
            "repository:\n  url: https://github.com/a/b\nsegbook:\n  colab_branch: a b\n",
            "colab_branch must be a branch",
        ),
    ],
)
def test_bad_config_is_a_value_error_naming_the_file(tmp_path, text, message):
    config = tmp_path / "_config.yml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        read_repository(config)
    assert str(config) in str(info.value)


def test_missing_config_exits_with_an_error(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "_config.yml"), "--check"]) == 2
    assert "config file not found" in capsys.readouterr().err


# --------------------------------------------------------------------------- the setup cell itself


@pytest.fixture
def setup_cell(book, monkeypatch):
    """Run the generated setup source with pip calls recorded and print_environment replaced."""
    config, notebook = book
    source = expected_cells(notebook, config)[1]
    calls: dict = {"run": [], "print_environment": 0}
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: calls["run"].append((args, kwargs)))
    env = types.ModuleType("segbook.env")

    def print_environment():
        calls["print_environment"] += 1

    env.print_environment = print_environment
    monkeypatch.setitem(sys.modules, "segbook.env", env)

    def run(segbook_installed: bool, missing: str = "segbook", extras: "tuple[str, ...]" = ()) -> dict:
        code = source
        if extras:
            nb = nbformat.read(notebook, as_version=4)
            nb.metadata["segbook"] = {"extras": list(extras)}
            nbformat.write(nb, notebook)
            code = expected_cells(notebook, config)[1]
        if not segbook_installed:
            real = importlib.util.find_spec
            monkeypatch.setattr(
                importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a)
            )
        exec(compile(code, "<setup cell>", "exec"), {})
        return calls

    return run


def test_setup_cell_installs_nothing_when_segbook_is_importable(setup_cell):
    calls = setup_cell(segbook_installed=True)
    assert calls["run"] == []
    assert calls["print_environment"] == 1


def test_setup_cell_pip_installs_the_git_url_and_never_torch_when_segbook_is_missing(setup_cell):
    calls = setup_cell(segbook_installed=False)
    assert len(calls["run"]) == 1
    (command,), kwargs = calls["run"][0]
    assert command == [sys.executable, "-m", "pip", "install", "-q", f"hust-segbook @ git+{URL}@main"]
    assert kwargs == {"check": True}
    assert not any(arg.startswith(("torch", "--upgrade", "-U", "--force")) for arg in command)
    assert calls["print_environment"] == 1


@pytest.mark.parametrize("missing", ["segbook", "segmentation_models_pytorch", "monai", "torchmetrics"])
def test_setup_cell_with_the_practice_extra_installs_it_when_any_of_its_libraries_is_missing(setup_cell, missing):
    calls = setup_cell(segbook_installed=False, missing=missing, extras=("practice",))
    (command,), _ = calls["run"][0]
    assert command[-1] == f"hust-segbook[practice] @ git+{URL}@main"


def test_setup_cell_with_the_practice_extra_installs_nothing_when_everything_is_importable(setup_cell):
    assert setup_cell(segbook_installed=True, extras=("practice",))["run"] == []


def test_an_unknown_extra_in_the_notebook_metadata_is_an_error_naming_the_known_ones(book):
    config, notebook = book
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata["segbook"] = {"extras": ["pratice"]}
    nbformat.write(nb, notebook)
    with pytest.raises(ValueError, match=r"unknown extra\(s\) \['pratice'\]; known: \['practice'\]"):
        expected_cells(notebook, config)


def test_every_setup_cell_extra_is_a_pyproject_extra_that_installs_its_modules():
    import tomllib

    from segbook.book.colab import EXTRA_MODULES

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["name"] == "hust-segbook"
    for extra, modules in EXTRA_MODULES.items():
        requirements = " ".join(project["optional-dependencies"][extra]).lower().replace("-", "_")
        for module in modules:
            assert module.split(".")[0] in requirements, (extra, module)
            assert importlib.util.find_spec(module) is not None, f"{module} ({extra}) is not installed in the venv"


def test_setup_cell_uses_no_ipython_magics(book):
    source = expected_cells(book[1], book[0])[1]
    assert not any(line.lstrip().startswith(("!", "%")) for line in source.splitlines())
    compile(source, "<setup cell>", "exec")


def test_student_and_colab_tools_do_not_import_torch():
    code = "import sys, segbook.book.colab, segbook.book.student; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_real_chapters_agree_with_the_real_config(capsys):
    config = REPO / "_config.yml"
    notebooks = sorted((REPO / "chapters").glob("*.ipynb"))
    if not notebooks or not config.is_file():
        pytest.skip("no chapter notebooks or no _config.yml in the repository yet")
    assert main(["--check", "--config", str(config)] + [str(p) for p in notebooks]) == 0, capsys.readouterr().out
