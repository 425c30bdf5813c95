"""The transforms of the translated sites that concern a page's content (see :mod:`segbook.book.sphinx_i18n`).

* an exercise's title is a message, and its solution's title shows the translation;
* glued numbers group their digits as the page's language does;
* a notebook's outputs are not messages (the gettext build drops them).

Registered by :mod:`segbook.book.sphinx_i18n`; this module imports no torch.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from docutils.utils import get_source_line
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.i18n import docname_to_domain

__all__ = [
    "SOURCE_LANGUAGE",
    "language_of",
    "in_translation",
    "ExerciseTitlesAreMessages",
    "TranslatedExercisesForSolutions",
    "THOUSANDS",
    "GluedNumbersInLocalStyle",
    "OutputsAreNotMessages",
]

SOURCE_LANGUAGE = "en"


def language_of(app: Any) -> str:
    """The language of the build (Sphinx's ``language``; English when unset)."""
    return str(app.config.language or SOURCE_LANGUAGE)


def in_translation(document: nodes.document) -> bool:
    """Whether ``document`` is a translated message parsed on its own (Sphinx names its source so)."""
    return str(document.current_source or document.get("source") or "").endswith("<translated>")


class ExerciseTitlesAreMessages(SphinxTransform):
    """Make an exercise's title (sphinx-exercise's subtitle, ``{exercise} Its title``) a message.

    sphinx-exercise builds the subtitle without a source, which Sphinx takes for a built-in text and neither
    extracts nor translates; and it rebuilds the exercise in a post-transform, whose copies the gettext builder
    skips. So the subtitle gets its text as its source (the titles are plain text), the whole title line
    ("Exercise" + subtitle) is not a message, and in the gettext build the subtitle is added to the page's
    catalog here, while the page is read.
    """

    default_priority = 5  # before Sphinx keeps the original messages (10) and translates them (20)

    def apply(self, **kwargs: Any) -> None:
        from sphinx_exercise.nodes import exercise_subtitle, exercise_title, solution_title

        for title in self.document.findall(lambda n: isinstance(n, (exercise_title, solution_title))):
            title["translatable"] = False
        for node in self.document.findall(exercise_subtitle):
            text = node.astext().strip()
            if not text:
                continue
            source, line = get_source_line(node.parent)
            node.rawsource, node.source, node.line = text, source or self.document.get("source"), line
            if self.app.builder.name == "gettext":
                from sphinx.builders.gettext import MsgOrigin

                domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
                catalogs = self.app.builder.catalogs  # type: ignore[attr-defined]  # the gettext builder's
                catalogs[domain].add(text, MsgOrigin(str(node.source), line or 0))


class TranslatedExercisesForSolutions(SphinxTransform):
    """Let each solution's title ("Solution to Exercise 7.2 (its title)") show the exercise's translated title.

    sphinx-exercise keeps a copy of every exercise, made when its directive ran (before Sphinx translated the
    page), and builds the solutions' titles from that copy: replace it by a copy of the translated exercise.
    """

    default_priority = 25  # after Sphinx translated the page (20)

    def apply(self, **kwargs: Any) -> None:
        if language_of(self.app) == SOURCE_LANGUAGE or in_translation(self.document):
            return
        from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node

        registry = getattr(self.env, "sphinx_exercise_registry", {})
        kinds = (exercise_enumerable_node, exercise_node)
        for node in self.document.findall(lambda n: isinstance(n, kinds)):
            entry = registry.get(node.get("label", ""))
            if entry is not None and entry.get("docname") == self.env.docname:
                entry["node"] = node.deepcopy()


# Thousands separators of glued numbers, by language: Vietnamese reads "1,290" as 1.29 (the comma is its decimal
# mark), so its site groups digits with a no-break space, "1 290", as Vietnamese typography does. The prose keeps
# the decimal point of the code's outputs.
THOUSANDS = {"vi": "\u00a0"}
_GROUPED = re.compile(r"^[-+−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?\s*%?$")


class GluedNumbersInLocalStyle(SphinxPostTransform):
    """Group the digits of the glued numbers (``{glue:text}`n:,```) as the page's language does."""

    default_priority = 6  # after myst-nb resolved the glue references (5)

    def run(self, **kwargs: Any) -> None:
        separator = THOUSANDS.get(language_of(self.app))
        if separator is None:
            return
        for node in self.document.findall(nodes.inline):
            text = node.astext()
            if "pasted-text" in node.get("classes", []) and _GROUPED.match(text):
                node.children = [nodes.Text(text.replace(",", separator))]


class OutputsAreNotMessages(SphinxTransform):
    """In the gettext build (the extraction of the catalogs), drop the notebooks' outputs: they are not translated.

    The notebooks are stored without outputs, but one stored with them must not put its outputs in a catalog.
    """

    default_priority = 19

    def apply(self, **kwargs: Any) -> None:
        if self.app.builder.name != "gettext":
            return
        for node in list(self.document.findall(nodes.Element)):
            if "cell_output" in node.get("classes", []) and node.parent is not None:
                node.parent.remove(node)
