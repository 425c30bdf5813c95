"""A Sphinx extension for the website's translations (see :mod:`segbook.book.i18n` for the catalogs).

It does three things, in every language's build:

* **A language switch on every page**: a link in the page's header from ``chapters/07_fcn.html`` of the English
  site to ``vi/chapters/07_fcn.html`` of the Vietnamese one, and back. The links are relative, so the switch
  works offline and wherever the site is served. The languages are ``segbook.languages`` of ``_config.yml``; the
  English site is the root, each translation lives in ``<root>/<code>/``.
* **Glued numbers in translated text**: a translated paragraph is parsed on its own by Sphinx, without the
  notebook it belongs to, so myst-nb's ``{glue:text}`key``` would find no value there. In a translation the role
  becomes a reference to the same key of the same notebook (myst-nb's ``{glue:text}`path::key```), resolved from
  the values this build's execution stored: both languages show the numbers of one execution.
* **No untranslated text** in a translation's build: every message of a page (a paragraph, heading, list item,
  table cell, admonition or exercise text) must have a translation in the page's catalog
  (``locales/<lang>/LC_MESSAGES/<page>.po``); the text of a notebook's outputs is not checked (outputs stay as
  they are). A message left empty, fuzzy or missing from the catalog is a warning listing every such message of
  the page, so the ``-W`` build fails with the list of what is missing. An entry whose translation is the
  English text itself (a formula, a name) counts as translated. A formula's translation (its ``\\text{...}``) is
  put in place as LaTeX; an exercise's title is a message too, and its solution's title shows the translation.
* **Numbers in the language's style**: a translated site groups the digits of glued numbers as its language does
  (``i18n_transforms.THOUSANDS``: "1 290" in Vietnamese, where "1,290" reads as 1.29).

Registered in ``_config.yml`` under ``sphinx: config: extensions:`` as ``segbook.book.sphinx_i18n``.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from docutils import nodes
from sphinx import addnodes
from sphinx.locale import _
from sphinx.locale import init as init_locale
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.i18n import docname_to_domain
from sphinx.util.nodes import extract_messages

from segbook.book.i18n import languages, read_config
from segbook.book.i18n_transforms import (
    SOURCE_LANGUAGE,
    ExerciseTitlesAreMessages,
    GluedNumbersInLocalStyle,
    OutputsAreNotMessages,
    TranslatedExercisesForSolutions,
    in_translation,
    language_of,
)

__all__ = [
    "SOURCE_LANGUAGE",
    "LANGUAGE_NAMES",
    "site_languages",
    "root_prefix",
    "language_links",
    "switch_html",
    "UntranslatedMessages",
    "TranslatedTocCaptions",
    "setup",
]

logger = logging.getLogger(__name__)

# Each language's name, written in that language (what a reader looks for in the switch).
LANGUAGE_NAMES = {"en": "English", "vi": "Tiếng Việt"}
_TEMPLATE = "segbook-language.html"
_SHOWN = 8  # untranslated messages quoted in the warning of one page


def site_languages(srcdir: Path) -> List[str]:
    """The site's languages: English first, then ``segbook.languages`` of ``<srcdir>/_config.yml``."""
    if not (Path(srcdir) / "_config.yml").is_file():
        return [SOURCE_LANGUAGE]
    declared = languages(read_config(Path(srcdir)))
    return [SOURCE_LANGUAGE] + [code for code in declared if code != SOURCE_LANGUAGE]


def root_prefix(language: str) -> str:
    """From the root of ``language``'s site to the root of the whole site (where the English pages are).

    Example:
        >>> root_prefix("en"), root_prefix("vi")
        ('', '../')
    """
    return "" if language == SOURCE_LANGUAGE else "../"


def language_links(pagename: str, current: str, languages: List[str]) -> List[Tuple[str, str, str]]:
    """``(code, name, url)`` of ``pagename`` in each other language, relative to the page in ``current``.

    Example:
        >>> language_links("chapters/07_fcn", "en", ["en", "vi"])
        [('vi', 'Tiếng Việt', '../vi/chapters/07_fcn.html')]
        >>> language_links("chapters/07_fcn", "vi", ["en", "vi"])
        [('en', 'English', '../../chapters/07_fcn.html')]
        >>> language_links("search", "vi", ["en", "vi"])
        [('en', 'English', '../search.html')]
    """
    if current not in languages:
        raise ValueError(f"the page's language {current!r} is not one of the site's languages {languages}")
    to_root = "../" * pagename.count("/") + root_prefix(current)
    links = []
    for code in languages:
        if code == current:
            continue
        folder = "" if code == SOURCE_LANGUAGE else f"{code}/"
        links.append((code, LANGUAGE_NAMES.get(code, code), f"{to_root}{folder}{pagename}.html"))
    return links


def switch_html(links: List[Tuple[str, str, str]]) -> str:
    """The header's language switch: a link per other language, named in that language."""
    anchors = "".join(
        f'<a class="btn btn-sm segbook-language-link" href="{escape(url)}" hreflang="{code}" lang="{code}" '
        f'title="{escape(name)}"><i class="fas fa-language"></i> <span class="segbook-language-name">{escape(name)}'
        f'</span><span class="segbook-language-code">{code.upper()}</span></a>'
        for code, name, url in links
    )
    return f'<div class="segbook-language">{anchors}</div>' if anchors else ""


def _add_switch(app: Any, pagename: str, templatename: str, context: Dict[str, Any], doctree: Any) -> None:
    if len(app.config.segbook_site_languages) > 1:
        links = language_links(pagename, language_of(app), app.config.segbook_site_languages)
        context["segbook_language_switch"] = switch_html(links)


def _add_template(app: Any, config: Any) -> None:
    """Read the site's languages once, and put the switch's component into the header, before the theme's buttons
    (``article_header_end``)."""
    config.segbook_site_languages = site_languages(Path(app.srcdir))
    config.templates_path.append(str(Path(__file__).with_name("templates")))
    options = config.html_theme_options
    end = options.get("article_header_end", ["article-header-buttons.html"])
    end = [end] if isinstance(end, str) else list(end)
    if _TEMPLATE not in end:
        options["article_header_end"] = [_TEMPLATE, *end]
    # sphinx-book-theme writes its search box's placeholder from this option, untranslated.
    if language_of(app) != SOURCE_LANGUAGE and options.get("search_bar_text") == "Search this book...":
        options["search_bar_text"] = str(_("Search this book..."))


def _patch_glue_role() -> None:
    """In a translated message, ``{glue:text}`key``` reads the key of the page's own notebook by reference."""
    from myst_nb.ext.glue.domain import NbGlueDomain
    from myst_nb.ext.glue.roles import PasteTextRole

    class TranslatedPasteTextRole(PasteTextRole):
        def run(self) -> Tuple[List[nodes.Node], List[nodes.system_message]]:
            text = str(self.text)  # type: ignore[has-type]
            if "::" not in text and "nb_renderer" not in self.document and in_translation(self.document):
                env = self.document.settings.env
                key, _, spec = text.partition(":")
                self.text = f"/{env.doc2path(env.docname, False)}::{key}:{spec or 's'}"
            return super().run()

    if not isinstance(NbGlueDomain.roles["text"], TranslatedPasteTextRole):
        NbGlueDomain.roles = {**NbGlueDomain.roles, "text": TranslatedPasteTextRole()}


def _catalog_messages(translator: Any) -> Dict[str, str]:
    """Every msgid -> msgstr of a gettext translator and its fallbacks."""
    found: Dict[str, str] = {}
    while translator is not None:
        for msgid, msgstr in getattr(translator, "_catalog", {}).items():
            if isinstance(msgid, str) and msgid and isinstance(msgstr, str):
                found.setdefault(msgid, msgstr)
        translator = getattr(translator, "_fallback", None)
    return found


def _not_text(node: nodes.Node) -> bool:
    """Whether ``node`` is in a notebook's output or in the page's metadata (a notebook's metadata fields, which
    Sphinx keeps out of the page): neither is text to translate."""
    parent: Optional[nodes.Node] = node
    while parent is not None:
        if isinstance(parent, nodes.docinfo):
            return True
        if isinstance(parent, nodes.field_list) and isinstance(parent.parent, nodes.document):
            return True  # the page's metadata, before docutils turns it into a docinfo
        if isinstance(parent, nodes.Element) and "cell_output" in parent.get("classes", []):
            return True
        parent = parent.parent
    return False


class UntranslatedMessages(SphinxTransform):
    """Warn, listing them, about the messages of a page that its catalog does not translate.

    Runs just before Sphinx's ``Locale`` transform (priority 20), on the page's original messages.
    """

    default_priority = 19

    def apply(self, **kwargs: Any) -> None:
        language = language_of(self.app)
        if language == SOURCE_LANGUAGE or in_translation(self.document):
            return
        catalog = _page_catalog(self)
        missing: List[str] = []
        for node, message in extract_messages(self.document):
            if _not_text(node):
                continue
            translation = catalog.get(message, "")
            if translation.strip():
                if isinstance(node, nodes.math_block) and translation != message:
                    # Sphinx would parse a translated formula as a paragraph: put the LaTeX in place here.
                    node.children = [nodes.Text(translation)]
                    node.rawsource = translation
                    node["translated"] = True
                continue
            if message not in missing:
                missing.append(message)
        if missing:
            _report_untranslated(self, missing)


def _page_catalog(transform: SphinxTransform) -> Dict[str, str]:
    """The translations (msgid -> msgstr) of the page ``transform`` works on, in the build's language."""
    domain = docname_to_domain(transform.env.docname, transform.config.gettext_compact)
    dirs = [os.path.join(transform.env.srcdir, folder) for folder in transform.config.locale_dirs]
    translator, has_catalog = init_locale(dirs, language_of(transform.app), domain)
    return _catalog_messages(translator) if has_catalog else {}


def _report_untranslated(transform: SphinxTransform, missing: List[str]) -> None:
    """One warning for the page, listing its messages that have no translation."""
    language = language_of(transform.app)
    domain = docname_to_domain(transform.env.docname, transform.config.gettext_compact)
    folder = transform.config.locale_dirs[0] if transform.config.locale_dirs else "locales"
    where = f"{folder}/{language}/LC_MESSAGES/{domain}.po"
    shown = "\n".join(f"  - {m if len(m) <= 120 else m[:117] + '...'!r}" for m in missing[:_SHOWN])
    more = f"\n  ... and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
    logger.warning(
        f"{len(missing)} message(s) of this page have no {language!r} translation in {where} (empty, fuzzy or "
        f"not in the catalog; `python -m segbook.book.i18n update` adds new ones, `... check` lists them):\n"
        f"{shown}{more}",
        location=transform.env.docname,
        type="i18n",
        subtype="untranslated",
    )


class TranslatedTocCaptions(SphinxTransform):
    """Translate the captions of the table of contents ("Chapters", "Appendices" of ``_toc.yml``).

    sphinx-external-toc inserts the root page's toctrees from ``_toc.yml`` (priority 100) after Sphinx has
    translated the page (priority 20), so their captions would stay English in the navigation of every page. They
    are messages of the root page's catalog (the gettext build extracts them); this puts their translations in.
    """

    default_priority = 101

    def apply(self, **kwargs: Any) -> None:
        if language_of(self.app) == SOURCE_LANGUAGE or in_translation(self.document):
            return
        toctrees = [t for t in self.document.findall(addnodes.toctree) if t.get("caption")]
        if not toctrees:
            return
        catalog, missing = _page_catalog(self), []
        for toctree in toctrees:
            translation = catalog.get(toctree["caption"], "").strip()
            if translation:
                toctree["caption"] = toctree["rawcaption"] = translation
            else:
                missing.append(toctree["caption"])
        if missing:
            _report_untranslated(self, missing)


# The theme's own message catalog: sphinx-book-theme translates its buttons and search box with it, and its
# Vietnamese catalog lacks some of them. locales/<lang>/LC_MESSAGES/booktheme.po adds those; the theme's own
# translations come first.
THEME_CATALOGS = ("booktheme",)


def _add_theme_translations(app: Any) -> None:
    """Compile the book's catalogs of the theme's domains and put them behind the theme's own."""
    language = language_of(app)
    if language == SOURCE_LANGUAGE:
        return
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for folder in app.config.locale_dirs:
        locale_dir = Path(app.srcdir) / folder
        for domain in THEME_CATALOGS:
            po = locale_dir / language / "LC_MESSAGES" / f"{domain}.po"
            if not po.is_file():
                continue
            with po.open("rb") as source:
                catalog = read_po(source, locale=language)
            with po.with_suffix(".mo").open("wb") as target:
                write_mo(target, catalog)
            app.add_message_catalog(domain, str(locale_dir))


def setup(app: Any) -> Dict[str, Any]:
    """Sphinx's entry point."""
    _patch_glue_role()
    app.connect("builder-inited", _add_theme_translations)
    app.add_config_value("segbook_site_languages", [SOURCE_LANGUAGE], "", types=[list])
    app.connect("config-inited", _add_template)
    app.connect("html-page-context", _add_switch)
    app.add_transform(UntranslatedMessages)
    app.add_transform(OutputsAreNotMessages)
    app.add_transform(ExerciseTitlesAreMessages)
    app.add_transform(TranslatedTocCaptions)
    app.add_transform(TranslatedExercisesForSolutions)
    app.add_post_transform(GluedNumbersInLocalStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
