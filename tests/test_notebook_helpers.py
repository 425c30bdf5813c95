"""segbook.notebook: glue gives myst-nb's output with or without myst-nb; show_source shows code, not docs."""

import ast
import re
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell

import segbook.notebook as nb
from segbook.metrics import confusion_matrix
from segbook.models import UNet
from segbook.notebook import GLUE_PREFIX, Source, glue, show_source


@pytest.fixture
def published(monkeypatch):
    """Every (data, metadata) that display() publishes, in order."""
    shell = InteractiveShell.instance()
    calls = []
    monkeypatch.setattr(
        shell.display_pub, "publish", lambda data, metadata=None, **kwargs: calls.append((data, metadata))
    )
    return calls


@pytest.mark.parametrize("value", [0.723, 42, "FCN-8s", [1, 2], {"a": 1.5}])
@pytest.mark.parametrize("display", [True, False])
def test_glue_without_myst_nb_publishes_what_myst_nb_publishes(value, display, published, monkeypatch):
    from myst_nb import glue as myst_glue

    myst_glue("x", value, display=display)
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # `from myst_nb import glue` now raises ImportError
    glue("x", value, display=display)
    assert len(published) == 2
    assert published[0] == published[1]
    data, metadata = published[1]
    assert metadata["scrapbook"] == {"name": "x", "mime_prefix": "" if display else GLUE_PREFIX}
    assert all(kind.startswith(GLUE_PREFIX) != display for kind in data)


def test_glue_of_a_dataframe_stores_its_html(published, monkeypatch):
    import pandas as pd

    monkeypatch.setitem(sys.modules, "myst_nb", None)
    glue("table", pd.DataFrame({"mIoU": [0.5]}), display=False)
    ((data, _),) = published
    assert "<table" in data[GLUE_PREFIX + "text/html"] and GLUE_PREFIX + "text/plain" in data


@pytest.mark.parametrize(
    "name, display, message", [("", True, "name"), (3, True, "name"), ("x", "no", "display must be True or False")]
)
def test_glue_refuses_bad_arguments(name, display, message):
    with pytest.raises(TypeError, match=message):
        glue(name, 1, display=display)


def test_show_source_drops_docstrings_keeps_code_and_comments():
    source = show_source(UNet.forward)
    assert source.code.startswith("def forward(self, x")
    assert '"""' not in source.code and "'''" not in source.code
    assert "# 2x the size, half the channels" in source.code  # comments stay
    assert source.where.startswith("segbook/models/unet.py, lines ")


def test_show_source_of_a_class_drops_every_docstring_but_keeps_the_methods():
    code = show_source(UNet).code
    assert code.startswith("class UNet(") and "def forward(" in code and "def __init__(" in code
    assert '"""' not in code
    assert '"""' in show_source(UNet, docstring=True).code


def test_show_source_line_numbers_point_at_the_code():
    import inspect

    source = show_source(confusion_matrix)
    first, last = (int(n) for n in source.where.rsplit("lines ", 1)[1].split("-"))
    lines = open(inspect.getsourcefile(confusion_matrix), encoding="utf-8").read().splitlines()
    assert lines[first - 1].startswith("def confusion_matrix(")
    assert last - first + 1 == len(inspect.getsourcelines(confusion_matrix)[0])


def test_a_function_that_is_only_a_docstring_stays_valid_code():
    import ast

    code = show_source(nb.Source.__repr__).code  # has code; now a docstring-only function:
    assert ast.parse(code)
    tree = ast.parse('def f():\n    """Only this."""\n')
    assert nb._docstring_lines(tree) == set()


def test_source_displays_as_a_fenced_python_block():
    markdown = Source("x = 1", "here.py, lines 1-1")._repr_markdown_()
    assert markdown == "```python\n# here.py, lines 1-1\nx = 1\n```\n"
    assert Source("s = '```'")._repr_markdown_().startswith("````python\n")


def test_show_source_refuses_what_has_no_python_source():
    with pytest.raises(TypeError, match="written in Python"):
        show_source(len)
    with pytest.raises(TypeError, match="docstring must be True or False"):
        show_source(UNet, docstring="no")


# ------------------------------------------------------------------- the code the chapters show fits the column
CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.ipynb"))
SHOWN = re.compile(r"\bshow_source\(\s*([\w.]+)\s*[,)]")


def _shown_objects():
    """(notebook, expression, object) for every show_source(...) of the chapters, resolved with the notebook's
    own import lines (the Colab setup cell left out)."""
    for path in CHAPTERS:
        cells = [
            cell
            for cell in nbformat.read(path, as_version=4).cells
            if cell.cell_type == "code" and "colab-setup" not in cell.metadata.get("tags", [])
        ]
        imports = "\n".join(
            ast.unparse(node)
            for cell in cells
            for node in ast.parse(cell.source).body
            if isinstance(node, (ast.Import, ast.ImportFrom))
        )
        namespace: dict = {}
        exec(compile(imports, str(path), "exec"), namespace)
        for cell in cells:
            loops = {
                node.target.id: node.iter
                for node in ast.walk(ast.parse(cell.source))
                if isinstance(node, ast.For)
                and isinstance(node.target, ast.Name)
                and isinstance(node.iter, (ast.Tuple, ast.List))
            }
            for expression in SHOWN.findall(cell.source):
                # show_source(f) inside `for f in (a, b):` shows a and b
                parts = [ast.unparse(e) for e in loops[expression].elts] if expression in loops else [expression]
                for part in parts:
                    yield path.name, part, eval(part, namespace)


def test_the_chapters_show_package_code_that_fits_the_code_column():
    """show_source output is shown in an output box as wide as a code cell: 88 columns, like the chapters' code."""
    shown = list(_shown_objects())
    assert len({name for name, _, _ in shown}) >= 12, "every chapter shows package code with show_source"
    wide = [
        f"{name}: show_source({expression}): {len(line)} columns: {line.strip()[:60]}"
        for name, expression, obj in shown
        for line in show_source(obj).text().splitlines()
        if len(line) > 88
    ]
    assert not wide, "package code shown in the book wider than 88 columns (wrap it in the package):\n" + "\n".join(
        wide
    )
