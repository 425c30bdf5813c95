"""MyST's inline roles in plain Markdown, for the Colab edition: ``{term}``, ``{cite}``, ``{ref}``, ``{glue}``, ...

:func:`convert_inline` rewrites every role of a text (inline code spans are kept as they are) and
:func:`convert_text` also numbers labelled ``$$`` equations and drops ``(label)=`` targets. Both work in a
:class:`ConversionContext`, the state of one notebook's conversion (its site, page, glued values and counters).
The block directives are in :mod:`segbook.book.myst_directives`. This module imports no torch.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from segbook.book.glue_values import MIME_PRIORITY, bundle_text, format_plain_text
from segbook.book.site_index import EQUATION, TARGET, Page, Site, glossary_anchor

__all__ = [
    "ColabEditionError",
    "ConversionContext",
    "render_glued",
    "convert_inline",
    "tag_equation",
    "convert_text",
    "INLINE",
    "EXPLICIT",
]

# A role, or an inline code span (kept as it is), whichever starts first: a role's name inside a code span
# (`{solution}`) is code. Also used by segbook.book.i18n to compare a translation's markup with the English.
INLINE = re.compile(r"\{(?P<role>[\w:.+-]+)\}(?P<tick>`+)(?P<content>.+?)(?P=tick)|(?P<code>`+).+?(?P=code)", re.S)
# A role's content with an explicit target: "text <target>".
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_BOLD_LINK = re.compile(r"\*\*(\[\*\*[^\]]+\*\*\]\([^)\s]+\))\*\*")


class ColabEditionError(ValueError):
    """MyST that the Colab edition cannot convert; the message names the notebook and the cell."""


@dataclass
class ConversionContext:
    """The state of one notebook's conversion: where it is, what it has numbered and cited so far."""

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
    found = EXPLICIT.match(content.strip())
    if found and found.group("text"):
        return found.group("text"), found.group("target").strip()
    return None, content.strip()


def _role_term(ctx: ConversionContext, content: str) -> str:
    text, target = _split_explicit(content)
    term = ctx.site.terms.get(" ".join(target.split()).lower()) if ctx.site.terms else target
    if term is None:
        raise ctx.error(f"{{term}} `{target}` is not a term of the glossary (chapters/glossary.md)")
    return f"[**{text or target}**]({ctx.site.link('chapters/glossary', glossary_anchor(term))})"


def _role_cite(ctx: ConversionContext, content: str, style: str) -> str:
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


def _find_label(ctx: ConversionContext, label: str, role: str) -> Tuple[Page, str, str]:
    for page in [ctx.page] + [p for p in ctx.site.pages.values() if p.name != ctx.page.name]:
        if label in page.labels:
            kind, text = page.labels[label]
            return page, kind, text
    raise ctx.error(f"{{{role}}} `{label}`: no such label in the book's pages")


def _anchor(kind: str, label: str) -> str:
    return f"equation-{label}" if kind == "equation" else label


def _role_ref(ctx: ConversionContext, content: str, role: str) -> str:
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


def _role_doc(ctx: ConversionContext, content: str) -> str:
    text, target = _split_explicit(content)
    base = Path(ctx.page.name).parent
    name = target.lstrip("/") if target.startswith("/") else (base / target).as_posix()
    name = re.sub(r"\.(md|ipynb)$", "", name)
    page = ctx.site.pages.get(name)
    if page is None and ctx.site.pages:
        raise ctx.error(f"{{doc}} `{target}`: no such page ({name})")
    title = text or (page.title if page and page.title else Path(name).name)
    return f"[{title}]({ctx.site.link(name)})"


def _role_eq(ctx: ConversionContext, content: str) -> str:
    text, label = _split_explicit(content)
    page, kind, value = _find_label(ctx, label, "eq")
    return f"[{text or f'({value})'}]({ctx.site.link(page.name, _anchor(kind, label))})"


def render_glued(ctx: ConversionContext, bundle: Dict[str, Any], key: str, inline: bool) -> str:
    kind = next((k for k in MIME_PRIORITY if k in bundle), None)
    if kind is None:
        raise ctx.error(f"glued {key!r} has no output the Colab edition can show ({', '.join(bundle)})")
    value = bundle_text(bundle[kind]).strip()
    if kind == "text/plain":
        return f"<em>{html.escape(format_plain_text(value, ''))}</em>" if inline else f"```\n{value}\n```"
    if kind in ("text/html", "text/markdown"):
        return value
    if kind == "text/latex":
        return value
    return "*(A figure of the book's run: run the cell that makes it, above, to see it.)*"


def _role_glue(ctx: ConversionContext, content: str, role: str) -> str:
    if "::" in content:
        raise ctx.error(f"{{{role}}} `{content}` glues from another notebook; the Colab edition cannot")
    if role == "glue:text":
        key, _, spec = content.rpartition(":") if ":" in content else (content, "", "s")
        bundle = ctx.glued(key.strip())
        if "text/plain" not in bundle:
            raise ctx.error(f"glued {key!r} has no text/plain output for {{glue:text}}")
        try:
            text = format_plain_text(bundle_text(bundle["text/plain"]), spec)
        except (ValueError, TypeError) as exc:
            raise ctx.error(f"cannot format glued {key!r} with {spec!r}: {exc}") from None
        return f"<em>{html.escape(text)}</em>"
    if role == "glue:md":
        key = content.rsplit(":", 1)[0] if ":" in content else content
        bundle = ctx.glued(key.strip())
        if "text/markdown" not in bundle:
            raise ctx.error(f"glued {key!r} has no text/markdown output for {{glue:md}}")
        return bundle_text(bundle["text/markdown"]).strip()
    return render_glued(ctx, ctx.glued(content.strip()), content.strip(), inline=True)


def convert_inline(ctx: ConversionContext, text: str) -> str:
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
            f"the role {{{role}}} is not converted for Colab (in {found.group(0)!r}); add it to segbook.book.myst_roles"
        )

    text = INLINE.sub(replace, text)
    # A term set in bold, **{term}`x`**, is a bold link already (as on the website).
    return _BOLD_LINK.sub(r"\1", text)


def tag_equation(body: str, number: str) -> str:
    return f"{body.rstrip()} \\tag{{{number}}}"


def convert_text(ctx: ConversionContext, text: str) -> str:
    """Inline roles, labelled ``$$`` equations, targets and comments of text outside directives."""

    def equation(found: "re.Match[str]") -> str:
        ctx.equations += 1
        return f"$${tag_equation(found.group('body'), ctx.page.numbered(ctx.equations))}$$"

    text = EQUATION.sub(equation, text)
    lines = [line for line in text.split("\n") if not TARGET.match(line) and not line.startswith("%")]
    return convert_inline(ctx, "\n".join(lines))
