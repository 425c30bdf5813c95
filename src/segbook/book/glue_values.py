"""Glued values: read them from myst-nb's executed notebooks and format them as myst-nb does.

A chapter glues a value (:func:`segbook.notebook.glue`) and its prose quotes it (``{glue:text}`miou:.3f```).
myst-nb stores the values of the book's run in ``_build/jupyter_execute`` (:func:`read_glue` reads them) and
formats them with :func:`format_plain_text`'s rule; the Colab edition quotes the same numbers. This module
imports no torch.
"""

from __future__ import annotations

import json
from ast import literal_eval
from pathlib import Path
from typing import Any, Dict, Optional, Union

import nbformat

__all__ = ["MIME_PRIORITY", "format_plain_text", "read_glue", "bundle_text"]

# myst-nb's render priority for the HTML builder (myst_nb.core.config), richest first.
MIME_PRIORITY = ("text/html", "image/svg+xml", "image/png", "image/jpeg", "text/markdown", "text/latex", "text/plain")


def format_plain_text(text: str, fmt_spec: str) -> str:
    """Format a glued ``text/plain`` value as myst-nb's ``{glue:text}`` does (``myst_nb.core.variables``).

    Example:
        >>> format_plain_text("0.81234", ".3f"), format_plain_text("'FCN-8s'", "s")
        ('0.812', 'FCN-8s')
    """
    try:
        value = literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if fmt_spec == "":
        return str(value)
    type_char = fmt_spec[-1]
    if type_char == "s":
        value = str(value)
    elif type_char in ("b", "c", "d", "o", "x", "X"):
        value = int(value)
    elif type_char in ("e", "E", "f", "F", "g", "G", "n", "%"):
        value = float(value)
    return format(value, fmt_spec)


def read_glue(
    executed: nbformat.NotebookNode, glue_json: Optional[Union[str, Path]] = None
) -> Dict[str, Dict[str, Any]]:
    """``{name: mime bundle}`` of every value glued in an executed notebook (the prefix of hidden ones removed).

    myst-nb takes the values glued with ``display=False`` out of the notebook it writes to
    ``_build/jupyter_execute`` and stores them beside it, in ``<page>.glue.json`` (``glue_json``); the
    displayed ones stay in the notebook's outputs. Both are read.
    """
    glued: Dict[str, Dict[str, Any]] = {}
    if glue_json is not None and Path(glue_json).is_file():
        for name, output in json.loads(Path(glue_json).read_text(encoding="utf-8")).items():
            glued[name] = dict(output.get("data", {}))
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if output.get("output_type") in ("display_data", "execute_result") and meta:
                prefix = len(meta.get("mime_prefix", ""))
                glued[meta["name"]] = {k[prefix:]: v for k, v in output.get("data", {}).items()}
    return glued


def bundle_text(value: Any) -> str:
    """A MIME bundle's value as one string (notebooks may store it as a list of lines)."""
    return "".join(value) if isinstance(value, list) else str(value)
