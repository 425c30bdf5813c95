"""The chapters' sources, read as the reader will meet them (no kernel, no build: milliseconds).

What ``../shared/STYLE.md`` asks of a notebook, checked on every page of ``chapters/``:
- notebooks are stored without outputs;
- code is at most 88 columns wide (the site's code column; wider lines scroll sideways), and a
  visible code cell at most 15 lines (longer code goes into ``segbook``, or into a ``hide-input`` cell);
- no code cell writes prose (``Markdown(...)``): sentences are Markdown cells, numbers come through
  ``glue``, and every ``{glue:...}`` key the prose quotes is glued by the same notebook;
- headings are short and English; a slide section carries the slide's Vietnamese heading on its own line
  just under its heading (``<p class="slide-heading" lang="vi">...</p>``), never inside it;
- a glossary term is linked once per page (at first use), not on every line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
MARKDOWN_PAGES = sorted(CHAPTERS.glob("*.md"))
MAX_COLUMNS = 88
MAX_VISIBLE_LINES = 15
MAX_HEADING_CHARS = 60
HIDDEN_TAGS = {"hide-input", "hide-cell", "remove-cell", "remove-input"}
SLIDE_HEADING = re.compile(r'^<p class="slide-heading" lang="vi">[^<>]+</p>$')
# Letters only Vietnamese uses among the book's languages (the tone marks and đ, ă, ơ, ư ...).
VIETNAMESE = re.compile("[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]")
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")
GLUE_DIRECTIVE = re.compile(r"^[`:]{3,}\{glue(?::\w+)?\}\s+(\S+)", re.MULTILINE)
GLUE_CALL = re.compile(r"""\bglue\(\s*["']([^"']+)["']""")
TERM_ROLE = re.compile(r"\{term\}`([^`]+)`")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _markdown_sources(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    return [_source(cell) for cell in _cells(path) if cell["cell_type"] == "markdown"]


def _without_code_blocks(markdown: str) -> str:
    """Markdown without fenced code blocks (```python ... ```), whose lines are not headings."""
    return re.sub(r"^(`{3,}|~{3,})(?!\{).*?^\1\s*$", "", markdown, flags=re.MULTILINE | re.DOTALL)


def _ids(paths: list[Path]) -> list[str]:
    return [path.name for path in paths]


def test_there_are_pages_to_check():
    assert len(NOTEBOOKS) >= 12 and MARKDOWN_PAGES, f"no chapters found under {CHAPTERS}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stored_without_outputs(path):
    dirty = [
        index
        for index, cell in enumerate(_cells(path))
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have stored outputs or execution counts; clear them "
        "(e.g. `jupyter nbconvert --clear-output --inplace`)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_code_fits_the_column(path):
    wide = [
        f"cell {index}, line {number}: {len(line)} columns: {line[:60]}..."
        for index, cell in enumerate(_cells(path))
        if cell["cell_type"] == "code"
        for number, line in enumerate(_source(cell).splitlines(), start=1)
        if len(line) > MAX_COLUMNS
    ]
    assert not wide, f"{path.name}: code lines over {MAX_COLUMNS} columns:\n" + "\n".join(wide)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_visible_code_cells_are_short(path):
    long = [
        f"cell {index}: {len(_source(cell).splitlines())} lines, starting {_source(cell)[:50]!r}"
        for index, cell in enumerate(_cells(path))
        if cell["cell_type"] == "code"
        and not _tags(cell) & HIDDEN_TAGS
        and len(_source(cell).splitlines()) > MAX_VISIBLE_LINES
    ]
    assert not long, (
        f"{path.name}: visible code cells over {MAX_VISIBLE_LINES} lines (move the plotting into a "
        "segbook figure function or a hide-input cell, or split the idea):\n" + "\n".join(long)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_code_cell_writes_prose(path):
    writers = [
        index
        for index, cell in enumerate(_cells(path))
        if cell["cell_type"] == "code" and re.search(r"\bMarkdown\b", _source(cell))
    ]
    assert not writers, (
        f"{path.name}: cells {writers} write Markdown from code; write the sentence in a "
        "Markdown cell and glue the numbers into it ({glue:text}`name:.3f`)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_glued_name_the_prose_quotes_is_glued(path):
    cells = _cells(path)
    glued = [name for cell in cells if cell["cell_type"] == "code" for name in GLUE_CALL.findall(_source(cell))]
    quoted = {
        match.split(":", 1)[0]
        for text in _markdown_sources(path)
        for match in GLUE_ROLE.findall(text) + GLUE_DIRECTIVE.findall(text)
    }
    duplicated = sorted({name for name in glued if glued.count(name) > 1})
    assert not duplicated, f"{path.name}: names glued twice (the prose would quote one of them): {duplicated}"
    missing = sorted(quoted - set(glued))
    assert not missing, f"{path.name}: the prose quotes names no code cell glues: {missing}"


PAGES = NOTEBOOKS + MARKDOWN_PAGES


@pytest.mark.parametrize("path", PAGES, ids=_ids(PAGES))
def test_headings_are_short_and_english_with_the_slide_heading_below(path):
    problems = []
    for text in _markdown_sources(path):
        lines = _without_code_blocks(text).splitlines()
        for number, line in enumerate(lines):
            heading = re.match(r"^(#{1,6})\s+(.*)$", line)
            if heading:
                title = heading.group(2)
                if VIETNAMESE.search(title):
                    problems.append(
                        f"Vietnamese inside a heading (put it on the next line as "
                        f'<p class="slide-heading" lang="vi">...</p>): {line}'
                    )
                if len(title) > MAX_HEADING_CHARS:
                    problems.append(f"heading over {MAX_HEADING_CHARS} characters: {line}")
            if line.startswith('<p class="slide-heading"'):
                if not SLIDE_HEADING.match(line):
                    problems.append(f"malformed slide heading (one line, no markup inside): {line}")
                if number == 0 or not re.match(r"^#{1,6}\s", lines[number - 1]):
                    problems.append(f"a slide heading must come right under a heading: {line}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_chapters_name_their_slides_in_vietnamese(path):
    if not path.name[:2].isdigit():
        return  # appendices follow no slide
    headings = [
        line
        for text in _markdown_sources(path)
        for line in text.splitlines()
        if line.startswith('<p class="slide-heading"')
    ]
    assert headings, f'{path.name}: no slide heading (<p class="slide-heading" lang="vi">) on any section'


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_chapters_show_the_package_code_they_explain_with_show_source(path):
    """Every chapter explains code that lives in segbook: it shows that code (show_source), never a pasted copy
    or inspect.getsource with its docstring."""
    code = "\n".join(_source(cell) for cell in _cells(path) if cell["cell_type"] == "code")
    assert "inspect.getsource" not in code, f"{path.name}: use segbook.notebook.show_source, not inspect.getsource"
    assert re.search(r"\bshow_source\(", code), f"{path.name}: no show_source(...) of the package code it explains"


def _term_target(text: str) -> str:
    match = re.match(r"^(.*?)\s*<([^<>]+)>$", text)
    return (match.group(2) if match else text).strip().lower()


@pytest.mark.parametrize("path", PAGES, ids=_ids(PAGES))
def test_a_glossary_term_is_linked_once_per_page(path):
    if path.name == "glossary.md":
        return
    targets = [_term_target(text) for source in _markdown_sources(path) for text in TERM_ROLE.findall(source)]
    repeated = sorted({target for target in targets if targets.count(target) > 1})
    assert not repeated, (
        f"{path.name}: glossary terms linked more than once (link the first use only; later "
        f"uses are plain words): {repeated}"
    )


def test_the_checks_see_the_defects_they_name(tmp_path):
    """Each check above fails on a page that has its defect."""
    bad = tmp_path / "99_bad.ipynb"
    cells = [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": "## Kiến trúc (Architecture)\n\n{glue:text}`nope`\n"
            "{term}`FCN` and {term}`fully convolutional <FCN>`",
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 3,
            "outputs": [],
            "source": "display(Markdown(f'mIoU {x}'))\n" + "y = 1\n" * 16 + "z" * 89 + "\ninspect.getsource(f)",
        },
    ]
    bad.write_text(json.dumps({"cells": cells}), encoding="utf-8")
    checks = [
        test_notebook_is_stored_without_outputs,
        test_code_fits_the_column,
        test_visible_code_cells_are_short,
        test_no_code_cell_writes_prose,
        test_every_glued_name_the_prose_quotes_is_glued,
        test_headings_are_short_and_english_with_the_slide_heading_below,
        test_chapters_name_their_slides_in_vietnamese,
        test_a_glossary_term_is_linked_once_per_page,
        test_chapters_show_the_package_code_they_explain_with_show_source,
    ]
    for check in checks:
        with pytest.raises(AssertionError):
            check(bad)
