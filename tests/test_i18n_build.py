"""The translation mechanism end to end, on a small book built here (segbook.book.i18n, segbook.book.sphinx_i18n).

The book has a Markdown page with a glossary link and an admonition, a notebook whose stored outputs glue a
number and show a Markdown output, and a glossary. Its catalogs are made as a translator makes them
(``i18n update``, ``export``, ``import``), then the English and the Vietnamese sites are built with ``-W``, as
``tools/build_book.sh`` builds the real ones. Each build runs in its own process (gettext caches catalogs per
process). About 20 s.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

pytest.importorskip("jupyter_book")
pytest.importorskip("sphinx_intl")

from segbook.book import i18n  # noqa: E402

CONFIG = """\
title: Tiny book
only_build_toc_files: true
execute:
  execute_notebooks: "off"
segbook:
  languages:
    vi:
      title: Sách nhỏ
sphinx:
  extra_extensions: [sphinx_exercise, segbook.book.sphinx_i18n]
  config:
    locale_dirs: [locales]
    gettext_compact: false
    gettext_location: false
    gettext_uuid: false
"""
TOC = """\
format: jb-book
root: intro
parts:
  - caption: Chapters
    chapters:
      - file: nb
      - file: glossary
"""
INTRO = """\
# Introduction

A {term}`stride` of two halves the size.

:::{note}
The note's text.
:::

$$
\\text{size} = 2
$$

```{exercise} The exercise's title
:label: ex-one

The statement.
```

```{solution} ex-one
The answer.
```
"""
GLOSSARY = "# Glossary\n\n```{glossary}\nStride\n  The step between two positions of a kernel.\n```\n"
TRANSLATIONS = {
    "Introduction": "Giới thiệu",
    "Chapters": "Các chương",
    "A {term}`stride` of two halves the size.": "Một {term}`bước nhảy <stride>` bằng hai làm giảm một nửa kích thước.",
    "The note's text.": "Nội dung ghi chú.",
    "\n\\text{size} = 2\n": "\\text{kích thước} = 2",
    "The exercise's title": "Tiêu đề bài tập",
    "The statement.": "Đề bài.",
    "The answer.": "Lời giải.",
    "There are {glue:text}`count:,` parameters.": "Có {glue:text}`count:,` tham số.",
    "Notebook": "Notebook",
    "The value is {glue:text}`answer:.2f`, glued.": "Giá trị là {glue:text}`answer:.2f`, được dán.",
    "Glossary": "Thuật ngữ",
    "Stride": "Stride",
    "The step between two positions of a kernel.": "Khoảng cách giữa hai vị trí liên tiếp của bộ lọc.",
}


def _notebook() -> Dict:
    glued = {
        "output_type": "display_data",
        "data": {"application/papermill.record/text/plain": "42.0"},
        "metadata": {"scrapbook": {"name": "answer", "mime_prefix": "application/papermill.record/"}},
    }
    shown = {"output_type": "display_data", "data": {"text/markdown": "An English output paragraph."}, "metadata": {}}
    count = {
        "output_type": "display_data",
        "data": {"application/papermill.record/text/plain": "1290"},
        "metadata": {"scrapbook": {"name": "count", "mime_prefix": "application/papermill.record/"}},
    }
    return {
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": "# Notebook\n\nThe value is {glue:text}`answer:.2f`, glued.\n\n"
                "There are {glue:text}`count:,` parameters.",
            },
            {
                "cell_type": "code",
                "metadata": {},
                "source": "glue('answer', 42.0)",
                "execution_count": 1,
                "outputs": [glued, count, shown],
            },
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "segbook": {"extras": ["practice"]},  # metadata fields are not text to translate
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _build(book: Path, config: Path, out: Path) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(book), "--config", str(config)]
    command += ["--path-output", str(out), "-W", "--keep-going", "--all"]
    return subprocess.run(command, cwd=book, capture_output=True, text=True, timeout=300)


def _translate(book: Path, translations: Dict[str, str]) -> List[i18n.Problem]:
    catalog = book / "locales" / "vi" / "LC_MESSAGES"
    problems = []
    for po in sorted(catalog.glob("*.po")):
        text = i18n.export_text(po, everything=True)
        numbered = re.findall(r"^=== (\d+)\n(.*?)\n(?==== |\Z)", text, re.S | re.M)
        filled = "".join(f"=== {n}\n{translations.get(msgid, '')}\n" for n, msgid in numbered)
        assert set(translations) >= {msgid for _, msgid in numbered}, "a message the test does not translate"
        problems += i18n.import_text(po, filled)
    return problems


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tinybook")
    (root / "_config.yml").write_text(CONFIG, encoding="utf-8")
    (root / "_toc.yml").write_text(TOC, encoding="utf-8")
    (root / "intro.md").write_text(INTRO, encoding="utf-8")
    (root / "glossary.md").write_text(GLOSSARY, encoding="utf-8")
    (root / "nb.ipynb").write_text(json.dumps(_notebook()), encoding="utf-8")
    i18n.update_catalogs(root, "vi")
    assert _translate(root, TRANSLATIONS) == []
    return root


@pytest.fixture(scope="module")
def sites(book: Path) -> Dict[str, Path]:
    english = _build(book, book / "_config.yml", book / "_out" / "en")
    assert english.returncode == 0, english.stdout[-3000:] + english.stderr[-3000:]
    vietnamese = _build(book, i18n.write_language_config(book, "vi"), book / "_out" / "vi")
    assert vietnamese.returncode == 0, vietnamese.stdout[-3000:] + vietnamese.stderr[-3000:]
    return {"en": book / "_out" / "en" / "_build" / "html", "vi": book / "_out" / "vi" / "_build" / "html"}


def test_update_extracts_every_message_of_every_page(book: Path) -> None:
    found = set()
    for po in (book / "locales" / "vi" / "LC_MESSAGES").glob("*.po"):
        found |= set(re.findall(r"^=== \d+\n(.*?)\n(?==== |\Z)", i18n.export_text(po, everything=True), re.S | re.M))
    assert found == set(TRANSLATIONS)
    assert i18n.check_catalogs(book / "locales", "vi") == []


def test_the_vietnamese_site_is_translated_and_keeps_the_glued_number(sites: Dict[str, Path]) -> None:
    page = (sites["vi"] / "nb.html").read_text(encoding="utf-8")
    assert '<html lang="vi"' in page
    assert 'Giá trị là <span class="pasted-text">42.00</span>, được dán.' in page
    assert "The value is" not in page
    assert 'Có <span class="pasted-text">1\u00a0290</span> tham số.' in page  # not "1,290": 1.29 in Vietnamese
    assert "An English output paragraph." in page  # outputs stay as they are
    intro = (sites["vi"] / "intro.html").read_text(encoding="utf-8")
    assert "bước nhảy" in intro and "Nội dung ghi chú." in intro and "Đề bài." in intro
    assert "Tiêu đề bài tập" in intro and "exercise's title" not in intro  # in the solution's title too
    assert "Lời giải." in intro
    assert "\\text{kích thước} = 2" in intro and "\\text{size}" not in intro
    assert re.search(r'href="glossary.html#term-Stride"', intro), "the translated term link lost its target"
    captions = re.findall(
        r'<p aria-level="2" class="caption" role="heading"><span class="caption-text">(.*?)</span>', page
    )
    assert captions == ["Các chương"], f"the navigation's captions: {captions}"
    english = (sites["en"] / "nb.html").read_text(encoding="utf-8")
    assert 'The value is <span class="pasted-text">42.00</span>, glued.' in english
    assert 'There are <span class="pasted-text">1,290</span> parameters.' in english


def test_every_page_switches_language_both_ways(sites: Dict[str, Path]) -> None:
    for page in ("intro", "nb", "glossary", "search", "genindex"):
        english = (sites["en"] / f"{page}.html").read_text(encoding="utf-8")
        vietnamese = (sites["vi"] / f"{page}.html").read_text(encoding="utf-8")
        assert f'href="vi/{page}.html" hreflang="vi"' in english, page
        assert f'href="../{page}.html" hreflang="en"' in vietnamese, page


def test_an_emptied_entry_fails_the_build_and_names_the_message(book: Path, tmp_path: Path) -> None:
    copy = tmp_path / "book"
    subprocess.run(["cp", "-r", str(book), str(copy)], check=True)
    subprocess.run(["rm", "-rf", str(copy / "_out")], check=True)
    emptied = dict(TRANSLATIONS, **{"The note's text.": ""})
    (copy / "locales" / "vi" / "LC_MESSAGES" / "intro.po").unlink()
    i18n.update_catalogs(copy, "vi")
    _translate(copy, emptied)
    assert [p.msgid for p in i18n.check_catalogs(copy / "locales", "vi")] == ["The note's text."]
    result = _build(copy, i18n.write_language_config(copy, "vi"), copy / "_out" / "vi")
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "1 message(s) of this page have no 'vi' translation in locales/vi/LC_MESSAGES/intro.po" in log
    assert '"The note\'s text."' in log
