"""MyST's block directives in plain Markdown, for the Colab edition: exercises, admonitions, figures, ...

:func:`convert_blocks` finds every fenced block of a Markdown text (recursively: a directive may hold others),
keeps code fences as they are, converts each directive and hands the text between them to
:func:`segbook.book.myst_roles.convert_text`. :func:`convert_markdown` converts one cell on its own. Any other
directive is a :class:`~segbook.book.myst_roles.ColabEditionError` naming the notebook and the cell, and
:data:`LEFTOVER_MYST` finds MyST left unconverted (the tests use it). This module imports no torch.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from segbook.book.glue_values import bundle_text
from segbook.book.myst_roles import ConversionContext, convert_inline, convert_text, render_glued, tag_equation
from segbook.book.site_index import DIRECTIVE, FENCE, OPTION, Page, Site

__all__ = ["LEFTOVER_MYST", "convert_blocks", "convert_markdown"]

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
# What must not be left in a Colab edition (used by the tests, too).
LEFTOVER_MYST = re.compile(r"\{[\w:.+-]+\}`|^\s*(?:`{3,}|~{3,}|:{3,})\s*\{|^\s*\([^()\s]+\)=\s*$", re.M)


def _quote(body: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in body.strip("\n").split("\n"))


def _directive(ctx: ConversionContext, name: str, args: str, options: Dict[str, str], body: str, fence: str) -> str:
    inner = lambda: convert_blocks(ctx, body)  # noqa: E731 (converted only when the directive shows it)
    if name in ("exercise", "prf:exercise"):
        ctx.exercises += 1
        title = convert_inline(ctx, args.strip())
        heading = f"#### Exercise {ctx.page.numbered(ctx.exercises)}" + (f": {title}" if title else "")
        return f"{heading}\n\n{inner().strip()}"
    if name == "solution":
        label = args.strip()
        kind = ctx.page.labels.get(label, ("", ""))
        summary = f"Solution to Exercise {kind[1]}" if kind[0] == "exercise" else "Solution"
        return f"<details>\n<summary>{summary}</summary>\n\n{inner().strip()}\n\n</details>"
    if name in _ADMONITIONS:
        title = convert_inline(ctx, args.strip()) if name == "admonition" else _ADMONITIONS[name]
        return _quote(f"**{title}**\n\n{inner().strip()}")
    if name == "math":
        math = body.strip()
        if options.get("label"):
            ctx.equations += 1
            math = tag_equation(math, ctx.page.numbered(ctx.equations))
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
            shown = bundle_text(bundle.get("text/markdown", "")).strip()
        elif name == "glue:math":
            shown = f"$$\n{bundle_text(bundle.get('text/latex', bundle.get('text/plain', ''))).strip().strip('$')}\n$$"
        else:
            shown = render_glued(ctx, bundle, key, inline=False)
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
    raise ctx.error(f"the directive {{{name}}} is not converted for Colab; add it to segbook.book.myst_directives")


def _literal(directive: "Optional[re.Match[str]]") -> bool:
    """Whether a fence's content is taken literally (a code fence, a code or math directive)."""
    return directive is None or directive.group("name") in _LITERAL + ("math",)


def convert_blocks(ctx: ConversionContext, text: str) -> str:
    """Convert a Markdown text: directive blocks (recursively), code fences kept, text converted."""
    lines = text.split("\n")
    out: List[str] = []
    plain: List[str] = []
    i = 0

    def flush() -> None:
        if plain:
            out.append(convert_text(ctx, "\n".join(plain)))
            plain.clear()

    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            plain.append(lines[i])
            i += 1
            continue
        mark, info, indent = fence.group("fence"), fence.group("info").strip(), fence.group("indent")
        directive = DIRECTIVE.match(info)
        # Find the closing fence: same character, at least as long, no info. Inside a directive, a fence with
        # an info string opens a nested block; inside a code fence nothing does.
        depth: List[Tuple[str, bool]] = [(mark, _literal(directive))]  # (fence, literal)
        j = i + 1
        while j < len(lines) and depth:
            inner = FENCE.match(lines[j])
            if inner:
                imark, iinfo = inner.group("fence"), inner.group("info").strip()
                top, literal = depth[-1]
                if imark[0] == top[0] and len(imark) >= len(top) and not iinfo:
                    depth.pop()
                elif iinfo and not literal:
                    depth.append((imark, _literal(DIRECTIVE.match(iinfo))))
            j += 1
        if depth:
            raise ctx.error(f"the block opened by {lines[i].strip()!r} is not closed")
        block = lines[i + 1 : j - 1]
        flush()
        if not directive:  # a plain code fence: as it is
            out.append("\n".join(lines[i:j]))
        else:
            options: Dict[str, str] = {}
            while block and block[0].strip() and (found := OPTION.match(block[0].strip())):
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
    ctx = ConversionContext(site, page or Page("chapters/page"), glue, "notebook", where)
    return convert_blocks(ctx, source)
