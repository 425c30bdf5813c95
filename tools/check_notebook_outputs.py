"""Refuse notebooks stored with outputs or execution counts (the pre-commit hook and `make lint` run it).

The chapters are committed clean: the site build executes them, and stored outputs would make every diff noisy
and could show numbers the code no longer produces. tests/test_notebook_style.py checks the same in the tests.

Usage: python tools/check_notebook_outputs.py [NOTEBOOK ...]   (default: chapters/*.ipynb)
Exit status 1, naming each notebook and its dirty cells, when any notebook has outputs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Sequence

ROOT = Path(__file__).resolve().parent.parent


def dirty_cells(path: Path) -> List[int]:
    """Indices of the code cells of ``path`` that have outputs or an execution count."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [
        index
        for index, cell in enumerate(notebook.get("cells", []))
        if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]


def main(argv: Sequence[str]) -> int:
    paths = [Path(arg) for arg in argv] or sorted((ROOT / "chapters").glob("*.ipynb"))
    failed = False
    for path in paths:
        try:
            dirty = dirty_cells(path)
        except (OSError, ValueError) as error:  # unreadable, or not JSON
            print(f"{path}: cannot read it as a notebook ({error})", file=sys.stderr)
            failed = True
            continue
        if dirty:
            print(
                f"{path}: cells {dirty} have stored outputs or execution counts; clear them "
                f"(jupyter nbconvert --clear-output --inplace {path})",
                file=sys.stderr,
            )
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
