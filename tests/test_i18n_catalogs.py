"""The Vietnamese catalogs of the website (locales/vi): complete, current, consistent with the English.

The Vietnamese build fails on any untranslated message (segbook.book.sphinx_i18n, tested end to end in
tests/test_i18n_build.py); these tests find the same problems in seconds, without building anything but the
message extraction, so `make fast` reports them before the long build.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po

from segbook.book import i18n
from segbook.book.sphinx_colab import LABELS

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / i18n.LOCALE_DIR
TRANSLATIONS = list(i18n.languages(yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))))


def _toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part.get("chapters", [])]
    return pages


def _read(path: Path) -> dict[str, str]:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {str(m.id): "" if m.fuzzy else str(m.string or "") for m in catalog if m.id and isinstance(m.id, str)}


def test_the_book_declares_vietnamese() -> None:
    assert "vi" in TRANSLATIONS


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_every_page_has_a_catalog(language: str) -> None:
    missing = [page for page in _toc_pages() if not (LOCALES / language / "LC_MESSAGES" / f"{page}.po").is_file()]
    assert not missing, f"pages without a {language} catalog (run: python -m segbook.book.i18n update): {missing}"


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_no_entry_is_empty_fuzzy_or_inconsistent(language: str) -> None:
    problems = i18n.check_catalogs(LOCALES, language)
    assert not problems, "\n".join(str(problem) for problem in problems[:30]) + f"\n({len(problems)} in all)"


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_the_site_labels_are_translated(language: str) -> None:
    """The texts segbook's extensions write into the pages are in the language's sphinx.po."""
    labels = _read(LOCALES / language / "LC_MESSAGES" / "sphinx.po")
    missing = [label for label in LABELS if not labels.get(label, "").strip()]
    assert not missing, f"labels of segbook.book.sphinx_colab not in {language}/LC_MESSAGES/sphinx.po: {missing}"


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_every_message_of_every_page_is_translated(language: str, tmp_path: Path) -> None:
    """Extract the pages' messages afresh (a gettext build, ~10 s): each must be translated in its catalog. An
    English paragraph changed without `i18n update` (and a translation) fails here, listed."""
    templates = i18n.extract_messages(ROOT, tmp_path / "gettext")
    missing = []
    for template in sorted(templates.rglob("*.pot")):
        page = template.relative_to(templates).with_suffix("").as_posix()
        catalog_path = LOCALES / language / "LC_MESSAGES" / f"{page}.po"
        catalog = _read(catalog_path) if catalog_path.is_file() else {}
        missing += [f"{page}: {msgid[:90]!r}" for msgid in _read(template) if not catalog.get(msgid, "").strip()]
    assert not missing, (
        f"{len(missing)} message(s) without a {language} translation (run `python -m segbook.book.i18n update`, "
        "translate, `... check`):\n" + "\n".join(missing[:30])
    )


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_a_translation_is_built_with_the_english_settings_in_their_order(language: str) -> None:
    """The translation's configuration is _config.yml with its language, title and own Sphinx settings; every
    other setting is the same, in the same order (the widget scripts must load in _config.yml's order: sorted,
    the manager ran before its setup and fetched its fonts from the page's folder)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    translated = i18n.language_config(config, language)
    sphinx, english = translated["sphinx"]["config"], config["sphinx"]["config"]
    assert list(sphinx["nb_ipywidgets_js"]) == list(english["nb_ipywidgets_js"])
    assert list(sphinx)[: len(english)] == list(english)
    own = set(config["segbook"]["languages"][language].get("sphinx_config") or {}) | {"language"}
    assert {key: value for key, value in sphinx.items() if key not in own} == {
        key: value for key, value in english.items() if key not in own
    }
    assert sphinx["language"] == language and translated["title"] != config["title"]
