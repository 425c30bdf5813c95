"""Write the Colab edition of every chapter notebook: the same notebooks with their MyST turned into plain Markdown.

Opened in Colab or Jupyter, a chapter notebook would show its MyST raw (``{term}`FCN```, ```` ```{exercise} ````)
and, worse, ``{glue:text}`miou:.3f``` where the website shows a number. Like d2l's generated Colab notebooks,
the book's build therefore writes a second copy of each notebook, the **Colab edition**, in which

* ``{term}`text <Target>``` is ``[**text**](SITE/chapters/glossary.html#term-Target)``;
* ``{cite:t}`key``` is ``[Long et al. (2015)](SITE/chapters/references.html#...)``, ``{cite:p}`` (and
  ``{cite}``) the same in parentheses, author and year from ``references.bib``;
* an ``{exercise}`` is a heading ``#### Exercise 7.1: Title`` numbered as on the website, and its
  ``{solution}`` a collapsed ``<details>`` block;
* ``{glue:text}`name:fmt``` and ``{glue}`name``` are the values of the book's own run (from the executed
  notebooks that myst-nb writes to ``_build/jupyter_execute``, and their ``.glue.json``), formatted as
  myst-nb formats them and set in italics; ```` ```{glue} name ```` is the glued HTML table, or a note
  for a glued figure;
* admonitions are block quotes with a bold title, ``{math}`` is ``$...$``, labelled equations carry their
  number (``\\tag``), ``{ref}``/``{numref}``/``{doc}``/``{eq}`` link to the website, ``(label)=`` lines go.

Any other role or directive is an error naming the notebook and the cell, so a new MyST feature cannot slip
through unconverted. The edition has no outputs: the code cells are the sources', to be run.

Example::

    segbook-colab-edition                 # chapters/*.ipynb -> _build/colab/chapters/*.ipynb
    segbook-colab-edition chapters/07_fcn.ipynb --executed _build/jupyter_execute -o /tmp/colab

This module imports no torch: it only rewrites JSON.
"""

from __future__ import annotations

import argparse
import ast
import html
import re
import sys
import unicodedata
from ast import literal_eval
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import nbformat
import yaml

from segbook.book.colab import badge_source, read_repository

__all__ = [
    "ColabEditionError",
    "LEFTOVER_MYST",
    "GLUE_NOTE",
    "CLAIM_NOTE",
    "soften_asserts",
    "Site",
    "Page",
    "read_site",
    "format_plain_text",
    "glossary_anchor",
    "read_glue",
    "convert_markdown",
    "make_colab_notebook",
    "write_colab_edition",
    "main",
]

PathLike = Union[str, Path]
#: The note that opens every Colab-edition notebook that quotes numbers of the book's run.
GLUE_NOTE = "Numbers in *italics* in the text are those of the book's own run; your run may differ in the last digits."
# myst-nb's render priority for the HTML builder (myst_nb.core.config), richest first.
_MIME_PRIORITY = ("text/html", "image/svg+xml", "image/png", "image/jpeg", "text/markdown", "text/latex", "text/plain")
_ADMONITIONS = {
    "note": "Note",
    "tip": "Tip",
    "hint": "Hint",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "seealso": "See also",
    "admonition": "",
}
_LITERAL = ("code", "code-block", "sourcecode")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*?)\s*$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w:.+-]+)\}\s*(?P<args>.*)$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
# A role, or an inline code span (kept as it is), whichever starts first.
_INLINE = re.compile(r"\{(?P<role>[\w:.+-]+)\}(?P<tick>`+)(?P<content>.+?)(?P=tick)|(?P<code>`+).+?(?P=code)", re.S)
_TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
_EQUATION = re.compile(r"\$\$(?P<body>.+?)\$\$[ \t]*\((?P<label>[^()\s]+)\)", re.S)
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_BOLD_LINK = re.compile(r"\*\*(\[\*\*[^\]]+\*\*\]\([^)\s]+\))\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
# What must not be left in a Colab edition (used by the tests, too).
LEFTOVER_MYST = re.compile(r"\{[\w:.+-]+\}`|^\s*(?:`{3,}|~{3,}|:{3,})\s*\{|^\s*\([^()\s]+\)=\s*$", re.M)


class ColabEditionError(ValueError):
    """MyST that the Colab edition cannot convert; the message names the notebook and the cell."""


# ---------------------------------------------------------------------------------------------------------------
# What the conversion needs to know about the book: where the site is, the glossary, the bibliography, the pages.


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
        fence = _FENCE.match(line)
        if inside is None:
            if fence and fence.group("info").startswith("{glossary}"):
                inside = fence.group("fence")
            continue
        if fence and fence.group("fence").startswith(inside) and not fence.group("info"):
            inside = None
        elif line.strip() and not line[0].isspace() and not _OPTION.match(line):
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


def _chapter_numbers(toc_path: PathLike) -> Dict[str, int]:
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


def _page_markdown(path: Path) -> List[str]:
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
            heading = _HEADING.match(line)
            if heading:
                title = re.sub(r"<[^>]+>", "", heading.group("title")).strip()
                if not page.title and line.startswith("# "):
                    page.title = title
                if pending:
                    page.labels[pending] = ("section", title)
                    pending = None
            target = _TARGET.match(line)
            if target:
                pending = target.group("label")
            fence = _FENCE.match(line)
            directive = _DIRECTIVE.match(fence.group("info")) if fence else None
            if directive and directive.group("name") in ("exercise", "math", "prf:exercise"):
                label = next(
                    (
                        m.group("value").strip()
                        for m in map(_OPTION.match, lines[i + 1 : i + 8])
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
        for found in _EQUATION.finditer(text):
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
    numbers = _chapter_numbers(root / "_toc.yml") if (root / "_toc.yml").is_file() else {}
    for path in sorted((root / "chapters").glob("*")):
        if path.suffix in (".md", ".ipynb"):
            name = f"chapters/{path.stem}"
            site.pages[name] = index_page(name, _page_markdown(path), numbers.get(name))
    return site


# ---------------------------------------------------------------------------------------------------------------
# Glued values.


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


def read_glue(executed: nbformat.NotebookNode, glue_json: Optional[PathLike] = None) -> Dict[str, Dict[str, Any]]:
    """``{name: mime bundle}`` of every value glued in an executed notebook (the prefix of hidden ones removed).

    myst-nb takes the values glued with ``display=False`` out of the notebook it writes to
    ``_build/jupyter_execute`` and stores them beside it, in ``<page>.glue.json`` (``glue_json``); the
    displayed ones stay in the notebook's outputs. Both are read.
    """
    glued: Dict[str, Dict[str, Any]] = {}
    if glue_json is not None and Path(glue_json).is_file():
        import json

        for name, output in json.loads(Path(glue_json).read_text(encoding="utf-8")).items():
            glued[name] = dict(output.get("data", {}))
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if output.get("output_type") in ("display_data", "execute_result") and meta:
                prefix = len(meta.get("mime_prefix", ""))
                glued[meta["name"]] = {k[prefix:]: v for k, v in output.get("data", {}).items()}
    return glued


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


# ---------------------------------------------------------------------------------------------------------------
# The conversion of one Markdown cell.


@dataclass
class _Context:
    """The state of one notebook's conversion."""

    site: Site
    page: Page
    glue: Optional[Dict[str, Dict[str, Any]]]
    name: str  # the notebook, for messages
    where: str = ""
    exercises: int = 0
    equations: int = 0
    used_glue: bool = False
    stale: bool = False  # the executed notebook's code differs from the source's (an older build)
    cited: List[str] = field(default_factory=list)

    def error(self, message: str) -> ColabEditionError:
        return ColabEditionError(f"{self.where}: {message}")

    def glued(self, key: str) -> Dict[str, Any]:
        if self.glue is None:
            raise self.error(
                f"glues {key!r} but there is no executed notebook to read it from (build the "
                f"book first: make book, or pass --executed)"
            )
        if key not in self.glue:
            hint = (
                (
                    "; the executed notebook comes from an older version of this notebook (its code differs): "
                    "rebuild the book"
                )
                if self.stale
                else ""
            )
            raise self.error(
                f"glues {key!r}, which the executed notebook does not hold (glued: "
                f"{', '.join(sorted(self.glue)) or 'nothing'}){hint}"
            )
        self.used_glue = True
        return self.glue[key]


def _split_explicit(content: str) -> Tuple[Optional[str], str]:
    found = _EXPLICIT.match(content.strip())
    if found and found.group("text"):
        return found.group("text"), found.group("target").strip()
    return None, content.strip()


def _role_term(ctx: _Context, content: str) -> str:
    text, target = _split_explicit(content)
    term = ctx.site.terms.get(" ".join(target.split()).lower()) if ctx.site.terms else target
    if term is None:
        raise ctx.error(f"{{term}} `{target}` is not a term of the glossary (chapters/glossary.md)")
    return f"[**{text or target}**]({ctx.site.link('chapters/glossary', glossary_anchor(term))})"


def _role_cite(ctx: _Context, content: str, style: str) -> str:
    links = []
    for key in (k.strip() for k in content.split(",")):
        reference = ctx.site.references.get(key)
        if reference is None:
            raise ctx.error(f"cites {key!r}, which is not in references.bib")
        ctx.cited.append(key)
        target = ctx.site.link("chapters/references", reference.anchor)
        if style == "t":
            links.append(f"[{reference.authors} ({reference.year})]({target})")
        else:
            links.append(f"[{reference.authors}, {reference.year}]({target})")
    if style == "t":
        return ", ".join(links)
    return "(" + "; ".join(links) + ")"


def _find_label(ctx: _Context, label: str, role: str) -> Tuple[Page, str, str]:
    for page in [ctx.page] + [p for p in ctx.site.pages.values() if p.name != ctx.page.name]:
        if label in page.labels:
            kind, text = page.labels[label]
            return page, kind, text
    raise ctx.error(f"{{{role}}} `{label}`: no such label in the book's pages")


def _anchor(kind: str, label: str) -> str:
    return f"equation-{label}" if kind == "equation" else label


def _role_ref(ctx: _Context, content: str, role: str) -> str:
    text, label = _split_explicit(content)
    page, kind, value = _find_label(ctx, label, role)
    if role == "numref" and kind in ("exercise", "equation"):
        title = text.replace("%s", value).replace("{number}", value) if text else f"{kind.title()} {value}"
    elif kind == "exercise":
        title = text or f"Exercise {value}"
    elif kind == "equation":
        title = text or f"({value})"
    else:
        title = text or value
    return f"[{title}]({ctx.site.link(page.name, _anchor(kind, label))})"


def _role_doc(ctx: _Context, content: str) -> str:
    text, target = _split_explicit(content)
    base = Path(ctx.page.name).parent
    name = target.lstrip("/") if target.startswith("/") else (base / target).as_posix()
    name = re.sub(r"\.(md|ipynb)$", "", name)
    page = ctx.site.pages.get(name)
    if page is None and ctx.site.pages:
        raise ctx.error(f"{{doc}} `{target}`: no such page ({name})")
    title = text or (page.title if page and page.title else Path(name).name)
    return f"[{title}]({ctx.site.link(name)})"


def _role_eq(ctx: _Context, content: str) -> str:
    text, label = _split_explicit(content)
    page, kind, value = _find_label(ctx, label, "eq")
    return f"[{text or f'({value})'}]({ctx.site.link(page.name, _anchor(kind, label))})"


def _glue_any(ctx: _Context, bundle: Dict[str, Any], key: str, inline: bool) -> str:
    kind = next((k for k in _MIME_PRIORITY if k in bundle), None)
    if kind is None:
        raise ctx.error(f"glued {key!r} has no output the Colab edition can show ({', '.join(bundle)})")
    value = _text(bundle[kind]).strip()
    if kind == "text/plain":
        return f"<em>{html.escape(format_plain_text(value, ''))}</em>" if inline else f"```\n{value}\n```"
    if kind in ("text/html", "text/markdown"):
        return value
    if kind == "text/latex":
        return value
    return "*(A figure of the book's run: run the cell that makes it, above, to see it.)*"


def _role_glue(ctx: _Context, content: str, role: str) -> str:
    if "::" in content:
        raise ctx.error(f"{{{role}}} `{content}` glues from another notebook; the Colab edition cannot")
    if role == "glue:text":
        key, _, spec = content.rpartition(":") if ":" in content else (content, "", "s")
        bundle = ctx.glued(key.strip())
        if "text/plain" not in bundle:
            raise ctx.error(f"glued {key!r} has no text/plain output for {{glue:text}}")
        try:
            text = format_plain_text(_text(bundle["text/plain"]), spec)
        except (ValueError, TypeError) as exc:
            raise ctx.error(f"cannot format glued {key!r} with {spec!r}: {exc}") from None
        return f"<em>{html.escape(text)}</em>"
    if role == "glue:md":
        key = content.rsplit(":", 1)[0] if ":" in content else content
        bundle = ctx.glued(key.strip())
        if "text/markdown" not in bundle:
            raise ctx.error(f"glued {key!r} has no text/markdown output for {{glue:md}}")
        return _text(bundle["text/markdown"]).strip()
    return _glue_any(ctx, ctx.glued(content.strip()), content.strip(), inline=True)


def _convert_inline(ctx: _Context, text: str) -> str:
    def replace(found: "re.Match[str]") -> str:
        if found.group("code"):
            return found.group(0)
        role, content = found.group("role"), found.group("content")
        if role == "term":
            return _role_term(ctx, content)
        if role in ("cite", "cite:p", "cite:ps"):
            return _role_cite(ctx, content, "p")
        if role in ("cite:t", "cite:ts"):
            return _role_cite(ctx, content, "t")
        if role in ("ref", "numref"):
            return _role_ref(ctx, content, role)
        if role == "doc":
            return _role_doc(ctx, content)
        if role == "eq":
            return _role_eq(ctx, content)
        if role == "math":
            return f"${content}$"
        if role in ("glue", "glue:", "glue:any", "glue:text", "glue:md"):
            return _role_glue(ctx, content, role)
        if role in ("sub", "sup"):
            return f"<{role}>{content}</{role}>"
        if role == "abbr":
            text, title = _split_explicit(content.replace("(", "<").replace(")", ">"))
            return f'<abbr title="{html.escape(title)}">{text or title}</abbr>'
        raise ctx.error(
            f"the role {{{role}}} is not converted for Colab (in {found.group(0)!r}); "
            f"add it to segbook.book.colab_edition"
        )

    text = _INLINE.sub(replace, text)
    # A term set in bold, **{term}`x`**, is a bold link already (as on the website).
    return _BOLD_LINK.sub(r"\1", text)


def _tag(body: str, number: str) -> str:
    return f"{body.rstrip()} \\tag{{{number}}}"


def _convert_text(ctx: _Context, text: str) -> str:
    """Inline roles, labelled ``$$`` equations, targets and comments of text outside directives."""

    def equation(found: "re.Match[str]") -> str:
        ctx.equations += 1
        return f"$${_tag(found.group('body'), ctx.page.numbered(ctx.equations))}$$"

    text = _EQUATION.sub(equation, text)
    lines = [line for line in text.split("\n") if not _TARGET.match(line) and not line.startswith("%")]
    return _convert_inline(ctx, "\n".join(lines))


def _quote(body: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in body.strip("\n").split("\n"))


def _directive(ctx: _Context, name: str, args: str, options: Dict[str, str], body: str, fence: str) -> str:
    inner = lambda: _convert_blocks(ctx, body)  # noqa: E731 (converted only when the directive shows it)
    if name in ("exercise", "prf:exercise"):
        ctx.exercises += 1
        title = _convert_inline(ctx, args.strip())
        heading = f"#### Exercise {ctx.page.numbered(ctx.exercises)}" + (f": {title}" if title else "")
        return f"{heading}\n\n{inner().strip()}"
    if name == "solution":
        label = args.strip()
        kind = ctx.page.labels.get(label, ("", ""))
        summary = f"Solution to Exercise {kind[1]}" if kind[0] == "exercise" else "Solution"
        return f"<details>\n<summary>{summary}</summary>\n\n{inner().strip()}\n\n</details>"
    if name in _ADMONITIONS:
        title = _convert_inline(ctx, args.strip()) if name == "admonition" else _ADMONITIONS[name]
        return _quote(f"**{title}**\n\n{inner().strip()}")
    if name == "math":
        math = body.strip()
        if options.get("label"):
            ctx.equations += 1
            math = _tag(math, ctx.page.numbered(ctx.equations))
        return f"$$\n{math}\n$$"
    if name in _LITERAL:
        return f"{fence}{args.strip()}\n{body.rstrip()}\n{fence}"
    if name in ("figure", "image"):
        source = args.strip()
        if not re.match(r"^https?://", source):
            source = ctx.site.raw_url + (Path(ctx.page.name).parent / source).as_posix()
        alt = options.get("alt", "")
        caption = inner().strip() if name == "figure" else ""
        image = f"![{alt or caption.splitlines()[0] if caption else alt}]({source})"
        return image + (f"\n\n*{caption}*" if caption else "")
    if name in ("glue", "glue:", "glue:any", "glue:figure", "glue:md", "glue:math"):
        key = args.strip()
        bundle = ctx.glued(key)
        if name == "glue:md":
            shown = _text(bundle.get("text/markdown", "")).strip()
        elif name == "glue:math":
            shown = f"$$\n{_text(bundle.get('text/latex', bundle.get('text/plain', ''))).strip().strip('$')}\n$$"
        else:
            shown = _glue_any(ctx, bundle, key, inline=False)
        caption = inner().strip() if name == "glue:figure" and body.strip() else ""
        return shown + (f"\n\n*{caption}*" if caption else "")
    if name == "bibliography":
        keys = list(dict.fromkeys(ctx.cited))
        lines = [
            f"- {ctx.site.references[k].authors} ({ctx.site.references[k].year}), "
            f"[in the references]({ctx.site.link('chapters/references', ctx.site.references[k].anchor)})"
            for k in keys
        ]
        return "\n".join(lines) or f"[The references]({ctx.site.link('chapters/references')})"
    raise ctx.error(f"the directive {{{name}}} is not converted for Colab; add it to segbook.book.colab_edition")


def _literal(directive: "Optional[re.Match[str]]") -> bool:
    """Whether a fence's content is taken literally (a code fence, a code or math directive)."""
    return directive is None or directive.group("name") in _LITERAL + ("math",)


def _convert_blocks(ctx: _Context, text: str) -> str:
    """Convert a Markdown text: directive blocks (recursively), code fences kept, text converted."""
    lines = text.split("\n")
    out: List[str] = []
    plain: List[str] = []
    i = 0

    def flush() -> None:
        if plain:
            out.append(_convert_text(ctx, "\n".join(plain)))
            plain.clear()

    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            plain.append(lines[i])
            i += 1
            continue
        mark, info, indent = fence.group("fence"), fence.group("info").strip(), fence.group("indent")
        directive = _DIRECTIVE.match(info)
        # Find the closing fence: same character, at least as long, no info. Inside a directive, a fence with
        # an info string opens a nested block; inside a code fence nothing does.
        depth: List[Tuple[str, bool]] = [(mark, _literal(directive))]  # (fence, literal)
        j = i + 1
        while j < len(lines) and depth:
            inner = _FENCE.match(lines[j])
            if inner:
                imark, iinfo = inner.group("fence"), inner.group("info").strip()
                top, literal = depth[-1]
                if imark[0] == top[0] and len(imark) >= len(top) and not iinfo:
                    depth.pop()
                elif iinfo and not literal:
                    depth.append((imark, _literal(_DIRECTIVE.match(iinfo))))
            j += 1
        if depth:
            raise ctx.error(f"the block opened by {lines[i].strip()!r} is not closed")
        block = lines[i + 1 : j - 1]
        flush()
        if not directive:  # a plain code fence: as it is
            out.append("\n".join(lines[i:j]))
        else:
            options: Dict[str, str] = {}
            while block and _OPTION.match(block[0].strip()) and block[0].strip():
                found = _OPTION.match(block[0].strip())
                options[found.group("key")] = found.group("value")
                block = block[1:]
            body = "\n".join(block)
            converted = _directive(
                ctx,
                directive.group("name"),
                directive.group("args"),
                options,
                body,
                "`" * max(3, len(mark)) if mark[0] != "~" else mark,
            )
            out.append("\n".join(indent + line if line else line for line in converted.split("\n")))
        i = j
    flush()
    return "\n".join(out)


def convert_markdown(
    source: str,
    site: Site,
    page: Optional[Page] = None,
    glue: Optional[Dict[str, Dict[str, Any]]] = None,
    where: str = "cell",
) -> str:
    """Convert one Markdown text from MyST to plain Markdown (a single cell, numbered from 1).

    Example:
        >>> site = Site("https://o.github.io/r/", terms={"fcn": "FCN"})
        >>> convert_markdown("The {term}`FCN` is {math}`f(x)`.", site)
        'The [**FCN**](https://o.github.io/r/chapters/glossary.html#term-FCN) is $f(x)$.'
    """
    ctx = _Context(site, page or Page("chapters/page"), glue, "notebook", where)
    return _convert_blocks(ctx, source)


# ---------------------------------------------------------------------------------------------------------------
# Notebooks.

#: What a build guard of the book says in the Colab edition when its claim does not hold in the reader's run.
CLAIM_NOTE = "Note: unlike the book's run, this run does not show what the text says:"


def soften_asserts(source: str) -> str:
    """A ``remove-cell`` build guard rewritten for readers: each ``assert test, message`` becomes
    ``if not (test): print(CLAIM_NOTE, message)``.

    On the website a failing guard stops the build, because the prose around it would be wrong. In Colab the
    reader's run (another machine, a GPU, other settings) may differ in the last digits, and *Run all* should
    not stop there: it says so and goes on. Lines other than the asserts are kept as they are.

    Example:
        >>> print(soften_asserts("x = 2\\nassert x > 1, 'x is large'"))
        x = 2
        if not (x > 1):  # the book's build asserts this
            print("Note: unlike the book's run, this run does not show what the text says:", 'x is large')
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source  # not Python (a magic): left for the kernel to judge
    lines = source.splitlines()
    asserts = [node for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    for node in sorted(asserts, key=lambda node: node.lineno, reverse=True):
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        indent = lines[first][: node.col_offset]
        if indent.strip() or lines[last][node.end_col_offset or 0 :].split("#")[0].strip():
            continue  # shares its line with other code: left as it is
        message = ast.unparse(node.msg) if node.msg is not None else repr(ast.unparse(node.test))
        lines[first : last + 1] = [
            f"{indent}if not ({ast.unparse(node.test)}):  # the book's build asserts this",
            f"{indent}    print({CLAIM_NOTE!r}, {message})",
        ]
    return "\n".join(lines)


def make_colab_notebook(
    nb: nbformat.NotebookNode,
    site: Site,
    page: Page,
    glue: Optional[Dict[str, Dict[str, Any]]] = None,
    name: str = "notebook",
    badge: Optional[str] = None,
    stale: bool = False,
) -> nbformat.NotebookNode:
    """The Colab edition of one source notebook (the input is not changed).

    Markdown cells are converted; code cells keep their source and lose their outputs; a note after the
    badge says where the website is and, when the prose quotes the run, that the numbers are the book's.

    Raises:
        ColabEditionError: MyST the edition cannot convert, naming the notebook and cell.
    """
    edition = nbformat.from_dict(nb)
    ctx = _Context(site, page, glue, name, stale=stale)
    cells = []
    for index, cell in enumerate(edition.cells):
        ctx.where = f"{name}, cell {index}"
        if cell.cell_type == "markdown":
            cell.source = _convert_blocks(ctx, cell.source).strip("\n")
            if not cell.source.strip():
                continue
        elif cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if "remove-cell" in cell.get("metadata", {}).get("tags", []):
                cell.source = soften_asserts(cell.source)
        cell.get("metadata", {}).pop("execution", None)
        cells.append(cell)
    note = (
        f"*This is the Colab edition of [{page.title or page.name}]({site.link(page.name)}), a page of the "
        f"book's website: the same notebook, with the website's markup turned into plain Markdown.*"
    )
    if ctx.used_glue:
        note += f" *{GLUE_NOTE.replace('*italics*', 'italics')}*"
    note_cell = nbformat.v4.new_markdown_cell(note, metadata={"tags": ["colab-edition-note"]})
    if (edition.nbformat, edition.nbformat_minor) >= (4, 5):
        note_cell["id"] = "colab-edition-note"
    else:
        note_cell.pop("id", None)
    first = 1 if cells and "colab-badge" in cells[0].get("metadata", {}).get("tags", []) else 0
    if first and badge is not None:
        cells[0].source = badge  # the edition's own badge, whatever the source's stamp says
    cells.insert(first, note_cell)
    edition.cells = cells
    edition.metadata.pop("widgets", None)
    nbformat.validate(edition)
    return edition


def _code(nb: nbformat.NotebookNode) -> List[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def write_colab_edition(
    sources: Sequence[PathLike],
    out_dir: PathLike,
    config_path: PathLike = "_config.yml",
    executed_dir: Optional[PathLike] = None,
    html_dir: Optional[PathLike] = None,
) -> List[Path]:
    """Write the Colab edition of each notebook to ``out_dir/chapters/<name>.ipynb``.

    Every notebook is converted before anything is written, so an error leaves ``out_dir`` untouched.

    Args:
        sources: the chapter notebooks (``chapters/*.ipynb``).
        out_dir: the edition's root (``_build/colab``), which the Pages workflow publishes as a branch.
        config_path: the book's ``_config.yml``.
        executed_dir: myst-nb's executed notebooks (``_build/jupyter_execute``), for the glued values.
        html_dir: the built site (``_build/html``), for the references' anchors.
    """
    site = read_site(config_path, html_dir)
    repo = read_repository(config_path)
    root = Path(config_path).resolve().parent
    converted = []
    for source in map(Path, sources):
        if source.suffix != ".ipynb" or not source.is_file():
            raise ColabEditionError(f"{source}: not an existing .ipynb notebook")
        try:
            relative = source.resolve().relative_to(root)
        except ValueError:
            relative = Path("chapters") / source.name
        name = relative.with_suffix("").as_posix()
        page = site.pages.get(name) or index_page(name, _page_markdown(source))
        glue, stale = None, False
        nb = nbformat.read(source, as_version=4)
        executed = Path(executed_dir) / relative if executed_dir else None
        if executed is not None and executed.is_file():
            run = nbformat.read(executed, as_version=4)
            glue = read_glue(run, executed.with_suffix(".glue.json"))
            stale = _code(run) != _code(nb)
        badge = badge_source(repo, relative.as_posix())
        converted.append(
            (Path(out_dir) / relative, make_colab_notebook(nb, site, page, glue, str(source), badge, stale))
        )
    for target, nb in converted:
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    readme = Path(out_dir) / "README.md"
    readme.write_text(
        f"# Colab edition of the book's notebooks\n\nGenerated by `segbook-colab-edition` from "
        f"the book's sources: do not edit. The website: {site.url}\n",
        encoding="utf-8",
    )
    return [target for target, _ in converted]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line entry point of ``segbook-colab-edition``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="segbook-colab-edition", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        metavar="NOTEBOOK",
        help="chapter notebooks (default: every chapters/*.ipynb beside the config)",
    )
    parser.add_argument("--config", type=Path, default=Path("_config.yml"), help="default: %(default)s")
    parser.add_argument(
        "--executed",
        type=Path,
        default=None,
        help="myst-nb's executed notebooks (default: _build/jupyter_execute beside the config)",
    )
    parser.add_argument(
        "--html",
        type=Path,
        default=None,
        help="the built site, for the references' anchors (default: _build/html beside the config)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=None, help="output directory (default: _build/colab beside the config)"
    )
    args = parser.parse_args(argv)
    root = args.config.parent
    notebooks = args.notebooks or sorted((root / "chapters").glob("*.ipynb"))
    try:
        written = write_colab_edition(
            notebooks,
            args.output or root / "_build" / "colab",
            args.config,
            args.executed or root / "_build" / "jupyter_execute",
            args.html or root / "_build" / "html",
        )
    except (ColabEditionError, ValueError, nbformat.ValidationError) as exc:
        print(f"segbook-colab-edition: error: {exc}", file=sys.stderr)
        return 1
    print(f"segbook-colab-edition: wrote {len(written)} notebook(s) to {args.output or root / '_build' / 'colab'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
