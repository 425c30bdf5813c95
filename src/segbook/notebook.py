"""What a chapter notebook needs to talk to its reader: :func:`glue` and :func:`show_source`.

- :func:`glue` hands a value computed by the notebook to the prose around it. The book's Markdown
  cells write ``{glue:text}`miou:.3f``` where the number belongs; the website (myst-nb) puts the
  value of this run there. It is myst-nb's own ``glue`` when myst-nb is installed (the book's build),
  and the same display otherwise (Colab, plain Jupyter), so a chapter runs anywhere.
- :func:`show_source` shows the code of a package function or class, highlighted, without its
  docstring: the book explains code that lives in ``segbook``, and shows that very code instead of
  a copy that could drift.

Example:
    >>> from segbook.notebook import show_source
    >>> from segbook.ops.shapes import conv_output_size
    >>> where = show_source(conv_output_size).where  # e.g. 'segbook/ops/shapes.py, lines 31-45'
    >>> where.startswith("segbook/ops/shapes.py, lines ")
    True
    >>> first, last = map(int, where.rsplit(" ", 1)[1].split("-"))
    >>> first < last
    True
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

from segbook.conventions import check_bool

__all__ = ["GLUE_PREFIX", "glue", "Source", "show_source"]

#: The prefix of the MIME types under which a value glued with ``display=False`` is stored
#: (myst-nb's, inherited from papermill's scrapbook): front ends show nothing for them.
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, variable: Any, display: bool = True) -> None:
    """Store ``variable`` in the cell's output under ``name``, for the prose to quote.

    In a Markdown cell, ``{glue:text}`name``` (optionally with a format: ``name:.3f``, ``name:.1%``)
    shows its plain-text form, ``{glue}`name``` its richest form (a table, a figure); the website puts
    the values of the run that built it there. ``display=False`` stores the value without showing it
    in the cell's output. This is ``myst_nb.glue`` when myst-nb is installed; without it (Colab),
    the very same output, so the notebook runs unchanged.

    Args:
        name: the key the prose uses; unique within the notebook.
        variable: any object Jupyter can display (a number, a string, a DataFrame, a figure).
        display: also show the value as the cell's output.

    Example:
        >>> glue("answer", 42, display=False)  # then write {glue:text}`answer` in the prose
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string (the key the prose quotes), got {name!r}")
    check_bool(display, "display")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # Colab or plain Jupyter: the same output, written here
        from IPython.core.formatters import format_display_data
        from IPython.display import display as ipy_display

        mimebundle, metadata = format_display_data(variable)
        prefix = "" if display else GLUE_PREFIX
        metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
        ipy_display({prefix + kind: value for kind, value in mimebundle.items()}, raw=True, metadata=metadata)
    else:
        myst_glue(name, variable, display=display)


class Source:
    """Python code to show in a notebook, highlighted (a fenced Markdown code block).

    ``code`` is the text; ``where`` names the file and lines it comes from (a comment on top).
    """

    def __init__(self, code: str, where: str = "") -> None:
        self.code, self.where = code, where

    def text(self) -> str:
        """The code, with the line saying where it comes from."""
        return (f"# {self.where}\n" if self.where else "") + self.code

    def _repr_markdown_(self) -> str:
        fence = "````" if "```" in self.code else "```"
        return f"{fence}python\n{self.text()}\n{fence}\n"

    def __repr__(self) -> str:
        return self.text()


def _docstring_lines(tree: ast.AST) -> set[int]:
    """The (1-based) line numbers of every docstring of a module, class or function in ``tree``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
                if len(node.body) == 1:  # a body that is only a docstring would become invalid code
                    lines.discard(first.lineno)
    return lines


def show_source(obj: Any, *, docstring: bool = False) -> Source:
    """The source code of a function, method or class of the package, to display in a notebook.

    Docstrings are left out (the chapter around the code is its explanation; ``docstring=True``
    keeps them); comments stay. The first line says which file and lines the code comes from.
    The result displays as a highlighted code block in Jupyter, Colab and on the website.

    Args:
        obj: a function, method, class or module, e.g. ``segbook.models.UNet.forward``.
        docstring: keep the docstrings.

    Returns:
        A :class:`Source`; its ``code`` attribute is the text.

    Raises:
        TypeError: ``obj`` has no Python source (a builtin, or an object defined in the notebook).

    Example:
        >>> from segbook.metrics import confusion_matrix
        >>> code = show_source(confusion_matrix).code
        >>> code.startswith("def confusion_matrix(") and "Args:" not in code
        True
    """
    check_bool(docstring, "docstring")
    target = inspect.unwrap(obj)
    try:
        lines, start = inspect.getsourcelines(target)
        path = inspect.getsourcefile(target)
    except (TypeError, OSError) as exc:
        raise TypeError(
            f"show_source needs a function, method, class or module written in Python, got {obj!r} ({exc})"
        ) from None
    start = max(start, 1)  # a module starts at line 0
    code = textwrap.dedent("".join(lines))
    if not docstring:
        drop = _docstring_lines(ast.parse(code))
        code = "".join(line for number, line in enumerate(code.splitlines(True), start=1) if number not in drop)
    module = inspect.getmodule(target)
    if module is not None and module.__name__ != "__main__":
        shown = module.__name__.replace(".", "/") + ("/__init__.py" if path and path.endswith("__init__.py") else ".py")
    else:
        shown = path.replace("\\", "/").rsplit("/", 1)[-1] if path else "?"
    where = f"{shown}, lines {start}-{start + len(lines) - 1}"
    return Source(code.rstrip("\n"), where)
