"""What the Colab edition needs to know about the book: its URL, glossary, bibliography and pages.

:func:`read_site` reads ``_config.yml``, ``_toc.yml``, ``chapters/glossary.md``, ``references.bib`` and every
chapter's Markdown into a :class:`Site`: the glossary's terms (for ``{term}``), author and year of each reference
(for ``{cite}``), and each page's title, chapter number and labels (for ``{ref}``, ``{numref}``, ``{eq}`` and the
exercise numbers). The conversion itself is in :mod:`segbook.book.myst_roles` and
:mod:`segbook.book.myst_directives`; :mod:`segbook.book.colab_edition` writes the notebooks.

The MyST syntax the book's pages use is matched by the patterns below (:data:`FENCE`, :data:`DIRECTIVE`, ...),
shared by the index and the conversion. This module imports no torch.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import nbformat
import yaml

from segbook.book.colab import read_repository

__all__ = [
    "PathLike",
    "FENCE",
    "DIRECTIVE",
    "OPTION",
    "TARGET",
    "EQUATION",
    "HEADING",
    "Reference",
    "Page",
    "Site",
    "site_url",
    "glossary_anchor",
    "read_glossary",
    "read_references",
    "chapter_numbers",
    "page_markdown",
    "index_page",
    "read_site",
]

PathLike = Union[str, Path]
#: A fenced block's opening or closing line: ``` ``` ```, ``~~~`` or ``:::``, with its info string.
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*?)\s*$")
#: A directive's info string: ``{name} args``.
DIRECTIVE = re.compile(r"^\{(?P<name>[\w:.+-]+)\}\s*(?P<args>.*)$")
#: A directive's option line: ``:key: value``.
OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
#: A target line: ``(label)=``.
TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
#: A labelled display equation: ``$$ ... $$ (label)``.
EQUATION = re.compile(r"\$\$(?P<body>.+?)\$\$[ \t]*\((?P<label>[^()\s]+)\)", re.S)
#: A Markdown heading.
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Reference:
    """One ``references.bib`` entry, as a citation shows it."""

    authors: str  # "Long et al.", "Ronneberger and Fischer", "Long"
    year: str
    anchor: str = ""  # the id of its entry on the references page, when the site was built


@dataclass
class Page:
    """One page of the book: its title, number and labels (for numbering, ``{ref}``, ``{numref}``, ``{eq}``)."""

    name: str  # "chapters/07_fcn" (no suffix), as Sphinx names documents
    title: str = ""
    number: Optional[int] = None  # the chapter number, None on unnumbered pages (appendices)
    labels: Dict[str, Tuple[str, str]] = field(default_factory=dict)  # label -> (kind, text or number)

    def numbered(self, count: int) -> str:
        return f"{self.number}.{count}" if self.number is not None else str(count)


@dataclass
class Site:
    """Everything the conversion looks up: URLs, glossary terms, references and pages."""

    url: str  # the published website, ending in "/"
    raw_url: str = ""  # where the repository's files are served raw (images), ending in "/"
    terms: Dict[str, str] = field(default_factory=dict)  # lower-case term -> term as written in the glossary
    references: Dict[str, Reference] = field(default_factory=dict)
    pages: Dict[str, Page] = field(default_factory=dict)

    def link(self, page: str, anchor: str = "") -> str:
        return f"{self.url}{page}.html" + (f"#{anchor}" if anchor else "")


def site_url(config_path: PathLike) -> str:
    """The website's URL: ``segbook.site_url`` in ``_config.yml``, else GitHub Pages' URL of the repository.

    Example:
        >>> site_url("_config.yml")  # doctest: +SKIP
        'https://hust-soict.github.io/segbook/'
    """
    repo = read_repository(config_path)
    config = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
    explicit = (config.get("segbook") or {}).get("site_url") if isinstance(config.get("segbook"), dict) else None
    if explicit:
        return str(explicit).rstrip("/") + "/"
    return f"https://{repo.owner.lower()}.github.io/{repo.name}/"


def glossary_anchor(term: str) -> str:
    """The HTML id Sphinx gives a glossary term (``sphinx.util.nodes.make_id`` with the prefix ``term``).

    Example:
        >>> glossary_anchor("FCN với 2 kết nối tắt")
        'term-FCN-voi-2-ket-noi-tat'
    """
    text = unicodedata.normalize("NFKD", f"term-{term}").encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-zA-Z0-9._]+", "-", " ".join(text.split()))
    return re.sub(r"^[-0-9._]+|-+$", "", text)


def read_glossary(path: PathLike) -> Dict[str, str]:
    """The terms of every ``{glossary}`` directive of a Markdown page: ``{lower-case term: term}``."""
    terms: Dict[str, str] = {}
    inside = None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fence = FENCE.match(line)
        if inside is None:
            if fence and fence.group("info").startswith("{glossary}"):
                inside = fence.group("fence")
            continue
        if fence and fence.group("fence").startswith(inside) and not fence.group("info"):
            inside = None
        elif line.strip() and not line[0].isspace() and not OPTION.match(line):
            terms.setdefault(line.strip().lower(), line.strip())
    return terms


def _last_name(person: Any) -> str:
    from pybtex.richtext import Text

    return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as("text")


def _author_text(persons: Sequence[Any]) -> str:
    """sphinxcontrib-bibtex's author_year rule: "A", "A and B", "A et al."."""
    names = [_last_name(p) for p in persons]
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


def _normal(text: str) -> str:
    return re.sub(
        r"[^a-z0-9]+", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    )


def read_references(bib_path: PathLike, references_html: Optional[PathLike] = None) -> Dict[str, Reference]:
    """Author and year of every ``references.bib`` entry, and its anchor on the built references page.

    sphinxcontrib-bibtex names the entries ``id1``, ``id2``, ... in build order; the anchor of an entry is
    found by its title in ``references_html`` (``_build/html/chapters/references.html``) when that exists,
    and left empty otherwise (the link then opens the references page at its top).
    """
    from pybtex.database import parse_file
    from pybtex.richtext import Text

    bib = parse_file(str(bib_path), bib_format="bibtex")
    entries: Dict[str, Tuple[str, Optional[str]]] = {}
    if references_html and Path(references_html).is_file():
        page = Path(references_html).read_text(encoding="utf-8")
        for found in re.finditer(r'<div class="citation" id="(?P<id>[\w-]+)"[^>]*>(?P<body>.*?)</div>', page, re.S):
            entries[found.group("id")] = (_normal(html.unescape(re.sub(r"<[^>]+>", "", found.group("body")))), None)
    references = {}
    for key, entry in bib.entries.items():
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        title = _normal(Text.from_latex(entry.fields.get("title", "")).render_as("text"))
        anchor = next((ident for ident, (body, _) in entries.items() if title and title in body), "")
        references[key] = Reference(_author_text(persons), entry.fields.get("year", "n.d."), anchor)
    return references


def chapter_numbers(toc_path: PathLike) -> Dict[str, int]:
    """``{page: chapter number}`` for the pages of the numbered parts of ``_toc.yml`` (jb-book format)."""
    toc = yaml.safe_load(Path(toc_path).read_text(encoding="utf-8")) or {}
    numbers: Dict[str, int] = {}
    parts = toc.get("parts") or [{"chapters": toc.get("chapters") or [], "numbered": toc.get("numbered", False)}]
    count = 0
    for part in parts:
        for chapter in part.get("chapters") or []:
            if part.get("numbered") and "file" in chapter:
                count += 1
                numbers[
                    str(Path(chapter["file"]).with_suffix(""))
                    if chapter["file"].endswith((".md", ".ipynb"))
                    else chapter["file"]
                ] = count
    return numbers


def page_markdown(path: Path) -> List[str]:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return [c.source for c in nb.cells if c.cell_type == "markdown"]
    return [path.read_text(encoding="utf-8")]


def index_page(name: str, texts: Sequence[str], number: Optional[int] = None) -> Page:
    """A page's title and labels from its Markdown, in page order: targets, exercises, equations."""
    page = Page(name, number=number)
    exercises = equations = 0
    pending: Optional[str] = None  # a (label)= waiting for its heading
    for text in texts:
        lines = text.splitlines()
        for i, line in enumerate(lines):
            heading = HEADING.match(line)
            if heading:
                title = re.sub(r"<[^>]+>", "", heading.group("title")).strip()
                if not page.title and line.startswith("# "):
                    page.title = title
                if pending:
                    page.labels[pending] = ("section", title)
                    pending = None
            target = TARGET.match(line)
            if target:
                pending = target.group("label")
            fence = FENCE.match(line)
            directive = DIRECTIVE.match(fence.group("info")) if fence else None
            if directive and directive.group("name") in ("exercise", "math", "prf:exercise"):
                label = next(
                    (
                        m.group("value").strip()
                        for m in map(OPTION.match, lines[i + 1 : i + 8])
                        if m and m.group("key") == "label"
                    ),
                    "",
                )
                if directive.group("name") == "math":
                    if label:
                        equations += 1
                        page.labels[label] = ("equation", page.numbered(equations))
                else:
                    exercises += 1
                    if label:
                        page.labels[label] = ("exercise", page.numbered(exercises))
        for found in EQUATION.finditer(text):
            equations += 1
            page.labels[found.group("label")] = ("equation", page.numbered(equations))
    return page


def read_site(config_path: PathLike = "_config.yml", html_dir: Optional[PathLike] = None) -> Site:
    """Read the book's config, table of contents, glossary, bibliography and pages.

    Args:
        config_path: Jupyter Book's ``_config.yml``; ``_toc.yml``, ``references.bib`` and ``chapters/``
            sit beside it.
        html_dir: the built site (``_build/html``), for the references' anchors; optional.
    """
    root = Path(config_path).resolve().parent
    repo = read_repository(config_path)
    site = Site(site_url(config_path), f"https://raw.githubusercontent.com/{repo.owner}/{repo.name}/{repo.branch}/")
    glossary = root / "chapters" / "glossary.md"
    if glossary.is_file():
        site.terms = read_glossary(glossary)
    bib = root / "references.bib"
    if bib.is_file():
        html_refs = Path(html_dir) / "chapters" / "references.html" if html_dir else None
        site.references = read_references(bib, html_refs)
    numbers = chapter_numbers(root / "_toc.yml") if (root / "_toc.yml").is_file() else {}
    for path in sorted((root / "chapters").glob("*")):
        if path.suffix in (".md", ".ipynb"):
            name = f"chapters/{path.stem}"
            site.pages[name] = index_page(name, page_markdown(path), numbers.get(name))
    return site
