"""The package's layout: the map in segbook's docstring, the layers, no private names across modules, file sizes.

These read the source (no imports of torch), so they take milliseconds.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import segbook

SRC = Path(segbook.__file__).resolve().parent

# Bottom layer first. A module may import its own layer and the layers below it, never one above.
LAYERS = [
    {"conventions", "env"},
    {"data", "ops"},
    {"losses", "metrics"},
    {"models"},
    {"training"},
    {"compare", "debugging"},
    {"notebook", "viz", "exercises"},
    {"book"},
]
MAX_LINES = 400


def top_level_parts() -> list:
    """The modules and subpackages directly under segbook (``losses``, ``conventions``...)."""
    names = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    return sorted(names)


def source_files() -> list:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    for index, layer in enumerate(LAYERS):
        if top in layer:
            return index
    raise AssertionError(f"{module}: its top-level part {top!r} is in no layer of tests/test_package_layout.LAYERS")


def segbook_imports(path: Path) -> list:
    """``(line, imported module, imported names)`` for every import of segbook in the file, nested ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("segbook"):
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("segbook."):
                    found.append((node.lineno, alias.name, []))
    return found


def test_every_top_level_part_is_in_a_layer():
    for name in top_level_parts():
        layer_of(f"segbook.{name}")


@pytest.mark.parametrize("name", top_level_parts())
def test_the_package_docstring_maps_every_part(name):
    assert f"``{name}" in segbook.__doc__, f"segbook's docstring (the package map) does not mention {name}"


def test_no_module_imports_a_layer_above_its_own():
    upward = []
    for path in source_files():
        here = module_name(path)
        if here == "segbook":
            continue
        for line, module, _ in segbook_imports(path):
            if module != "segbook" and layer_of(module) > layer_of(here):
                upward.append(f"{path.relative_to(SRC)}:{line} ({here}) imports {module}")
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_private_name_is_imported_from_another_module():
    crossing = []
    for path in source_files():
        for line, module, names in segbook_imports(path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and module != module_name(path):
                crossing.append(f"{path.relative_to(SRC)}:{line} imports {', '.join(private)} from {module}")
    assert not crossing, "private names used outside their module:\n" + "\n".join(crossing)


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_source_files_stay_short(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(SRC)} has {lines} lines (> {MAX_LINES}): split it by topic"
