"""The website's translations: gettext catalogs per page, kept in ``locales/<lang>/LC_MESSAGES/``.

The English notebooks and pages are the source. Sphinx's translation mechanism (gettext) extracts every
paragraph, heading, list item, table cell, admonition and exercise text of a page as a *message*; the catalog
``locales/vi/LC_MESSAGES/chapters/07_fcn.po`` gives each message of ``chapters/07_fcn`` its Vietnamese text, and
the Vietnamese build (``language: vi``) replaces the messages by their translations. Code, outputs, figures and
the numbers glued from the notebooks are not messages: they come from the same execution in both languages.

Commands (``python -m segbook.book.i18n ...``, run from the book's directory)::

    update     extract the messages of every page (a gettext build, nothing executed, ~10 s) into
               _build/gettext and merge them into locales/<lang>/ (sphinx-intl: new messages are added
               empty, changed ones marked fuzzy, so both count as untranslated until a translator fills them)
    check      list every catalog entry that is empty or fuzzy, and every translation whose MyST markup
               ({term}, {glue:text}, {cite}, {ref}, inline code, maths) differs from its English message;
               exit 1 when there is any
    export chapters/07_fcn FILE [--all]
               write the page's untranslated messages (every message with --all) to a plain text file:
               each after a line "=== N", N its number in the catalog (easier to translate in bulk than a .po)
    import chapters/07_fcn FILE
               put the texts of such a file, translated under the same "=== N" lines, into the page's
               catalog, and check them (a line "=== N" followed by nothing leaves entry N as it was)
    languages  print the codes of the translations _config.yml declares (segbook.languages), one per line
    config vi  write the configuration of the Vietnamese build (_build/i18n/_config.vi.yml: _config.yml
               with ``language: vi`` and the title of segbook.languages.vi), print its path

The Vietnamese build itself fails (``-W``) on any message of a page without a translation, listing them: see
:mod:`segbook.book.sphinx_i18n`. This module imports no torch.
"""

from __future__ import annotations

import argparse
import copy
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

from segbook.book.myst_roles import EXPLICIT, INLINE

__all__ = [
    "LOCALE_DIR",
    "Problem",
    "read_config",
    "languages",
    "language_config",
    "write_language_config",
    "markup",
    "check_entry",
    "check_catalogs",
    "extract_messages",
    "update_catalogs",
    "export_text",
    "import_text",
    "main",
]

LOCALE_DIR = "locales"
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\s](?:[^$]*?[^$\s])?\$", re.S)
_LINK = re.compile(r"\]\((?P<url>[^)\s]+)\)")
# Roles whose visible text a translation may change, as long as the target stays the English one.
_TEXT_ROLES = {"term", "ref", "doc", "numref", "download"}


def read_config(book: Path) -> Dict[str, Any]:
    """The book's ``_config.yml``, parsed."""
    return yaml.safe_load((book / "_config.yml").read_text(encoding="utf-8")) or {}


def languages(config: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """The translations the book declares: ``segbook.languages`` of ``_config.yml`` (``{"vi": {"title": ...}}``)."""
    declared = (config.get("segbook") or {}).get("languages") or {}
    if not isinstance(declared, dict) or not all(isinstance(v, dict) for v in declared.values()):
        raise ValueError("_config.yml: segbook.languages must map a language code to its settings (vi: {title: ...})")
    return declared


def language_config(config: Dict[str, Any], language: str) -> Dict[str, Any]:
    """The Jupyter Book configuration of the build in ``language``: ``config`` with Sphinx's ``language`` set.

    The language's settings may give the site's ``title`` and ``sphinx_config``, Sphinx settings of this build only
    (labels that extensions take from their configuration rather than from a catalog).

    Example:
        >>> config = {"title": "Book", "segbook": {"languages": {"vi": {"title": "Sách"}}}, "sphinx": {"config": {}}}
        >>> vi = language_config(config, "vi")
        >>> vi["title"], vi["sphinx"]["config"]["language"]
        ('Sách', 'vi')
        >>> config["segbook"]["languages"]["vi"]["sphinx_config"] = {"nb_code_prompt_show": "Hiện mã"}
        >>> language_config(config, "vi")["sphinx"]["config"]["nb_code_prompt_show"]
        'Hiện mã'
        >>> language_config(config, "fr")
        Traceback (most recent call last):
        ...
        ValueError: _config.yml declares no language 'fr' under segbook.languages (declared: vi)
    """
    declared = languages(config)
    if language not in declared:
        raise ValueError(
            f"_config.yml declares no language {language!r} under segbook.languages "
            f"(declared: {', '.join(sorted(declared)) or 'none'})"
        )
    result = copy.deepcopy(config)  # in order: the order of some settings matters (nb_ipywidgets_js's scripts)
    settings = declared[language]
    if "title" in settings:
        result["title"] = settings["title"]
    sphinx_config = result.setdefault("sphinx", {}).setdefault("config", {})
    overrides = settings.get("sphinx_config") or {}
    if not isinstance(overrides, dict):
        raise ValueError(f"_config.yml: segbook.languages.{language}.sphinx_config must map Sphinx settings to values")
    sphinx_config.update(overrides)
    sphinx_config["language"] = language
    return result


def write_language_config(book: Path, language: str) -> Path:
    """Write the configuration of the build in ``language`` to ``_build/i18n/_config.<language>.yml``."""
    config = read_config(book)
    path = book / "_build" / "i18n" / f"_config.{language}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(language_config(config, language), allow_unicode=True, sort_keys=False)
    path.write_text(f"# Written by `python -m segbook.book.i18n config {language}` from _config.yml.\n{text}")
    return path


def markup(text: str) -> Counter:
    """The MyST markup a translation must keep: roles (with their targets), inline code, maths and links.

    A role whose visible text may be translated ({term}, {ref}, ...) counts by its target; a term's target is
    compared in lower case, as Sphinx looks glossary terms up.

    Example:
        >>> sorted(markup("the {term}`stride` of `conv` is $s$ ({glue:text}`s:.0f`)").elements())
        ['$s$', '`conv`', '{glue:text}`s:.0f`', '{term}stride']
        >>> markup("{term}`bước nhảy <Stride>`") == markup("{term}`stride`")
        True
        >>> sorted(markup("a `{solution}` block with `:class: dropdown`").elements())
        ['`:class: dropdown`', '`{solution}`']
    """
    found: Counter = Counter()

    def inline(match: "re.Match[str]") -> str:
        name, content = match["role"], match["content"]
        if name is None:  # inline code
            found[match.group(0)] += 1
        elif name in _TEXT_ROLES:
            explicit = EXPLICIT.match(content)
            target = explicit["target"] if explicit else content
            found[f"{{{name}}}{target.strip().lower() if name == 'term' else target.strip()}"] += 1
        else:
            found[match.group(0)] += 1
        return " "

    rest = INLINE.sub(inline, text)
    for math in _MATH.findall(rest):
        found["$" + " ".join(math.strip("$").split()) + "$"] += 1
    for url in _LINK.findall(rest):
        found[f"]({url})"] += 1
    return found


@dataclass(frozen=True)
class Problem:
    """One catalog entry that is not a usable translation."""

    catalog: str
    msgid: str
    reason: str

    def __str__(self) -> str:
        shown = self.msgid if len(self.msgid) <= 100 else self.msgid[:97] + "..."
        return f"{self.catalog}: {self.reason}: {shown!r}"


def check_entry(msgid: str, msgstr: str, fuzzy: bool = False) -> Optional[str]:
    """Why the translation ``msgstr`` of ``msgid`` cannot be used, or None when it can.

    Example:
        >>> check_entry("The {term}`stride`", "")
        'not translated'
        >>> check_entry("The {term}`stride`", "Bước nhảy")
        'markup differs: missing {term}stride'
        >>> check_entry("The {term}`stride`", "{term}`Bước nhảy <stride>`") is None
        True
    """
    if fuzzy:
        return "fuzzy (the English changed since it was translated): check it, then remove the fuzzy flag"
    if not msgstr.strip():
        return "not translated"
    source, target = markup(msgid), markup(msgstr)
    if source == target:
        return None
    missing, extra = source - target, target - source
    parts = []
    if missing:
        parts.append("missing " + ", ".join(sorted(missing.elements())))
    if extra:
        parts.append("not in the English " + ", ".join(sorted(extra.elements())))
    return "markup differs: " + "; ".join(parts)


def check_catalogs(locales: Path, language: str) -> List[Problem]:
    """Every unusable entry of the catalogs ``locales/<language>/LC_MESSAGES/**/*.po`` (empty, fuzzy, markup)."""
    from babel.messages.pofile import read_po

    root = locales / language / "LC_MESSAGES"
    if not root.is_dir():
        raise ValueError(f"{root}: no catalogs for language {language!r} (run: python -m segbook.book.i18n update)")
    problems = []
    for path in sorted(root.rglob("*.po")):
        name = path.relative_to(locales).as_posix()
        with path.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id or not isinstance(message.id, str):
                continue
            reason = check_entry(message.id, str(message.string or ""), message.fuzzy)
            if reason:
                problems.append(Problem(name, message.id, reason))
    return problems


def extract_messages(book: Path, out: Path) -> Path:
    """Extract every page's messages into ``.pot`` templates under ``out`` (a gettext build, nothing executed).

    Returns the folder of the templates (``<out>/_build/gettext``, one ``chapters/<page>.pot`` per page).
    """
    config = read_config(book)
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    out.mkdir(parents=True, exist_ok=True)
    extract = out / "_config.gettext.yml"
    extract.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(book), "--config", str(extract)]
    command += ["--path-output", str(out), "--builder", "custom", "--custom-builder", "gettext", "--all", "-qq"]
    subprocess.run(command, check=True, cwd=book)
    return out / "_build" / "gettext"


def update_catalogs(book: Path, language: str) -> Path:
    """Extract every page's messages and merge them into the catalogs (``locales/<language>``)."""
    pot = extract_messages(book, book / "_build" / "i18n" / "gettext")
    command = [sys.executable, "-m", "sphinx_intl", "update", "-p", str(pot), "-d", str(book / LOCALE_DIR)]
    subprocess.run(command + ["-l", language, "-w", "0"], check=True, cwd=book)
    return pot


_MARKER = re.compile(r"^=== (\d+)$", re.M)


def _catalog_path(book: Path, language: str, page: str) -> Path:
    path = book / LOCALE_DIR / language / "LC_MESSAGES" / f"{page.removesuffix('.ipynb').removesuffix('.md')}.po"
    if not path.is_file():
        raise ValueError(f"{path}: no catalog for page {page!r} (run: python -m segbook.book.i18n update)")
    return path


def export_text(catalog_path: Path, everything: bool = False) -> str:
    """The catalog's messages (only the untranslated or fuzzy ones unless ``everything``) as "=== N" + text."""
    from sphinx_intl.catalog import load_po

    blocks = []
    for number, message in enumerate(list(load_po(str(catalog_path)))[1:], start=1):
        if everything or message.fuzzy or not str(message.string or "").strip():
            blocks.append(f"=== {number}\n{message.id}\n")
    return "".join(blocks)


def import_text(catalog_path: Path, text: str) -> List[Problem]:
    """Put the translations of ``text`` ("=== N" + text, as :func:`export_text` writes) into the catalog.

    Returns the problems of the entries it wrote (see :func:`check_entry`); they are written anyway, so that a
    translator can fix them in place.
    """
    from sphinx_intl.catalog import dump_po, load_po

    catalog = load_po(str(catalog_path))
    messages = list(catalog)[1:]
    parts = _MARKER.split(text)
    if parts[0].strip():
        raise ValueError(f"text before the first '=== N' line: {parts[0].strip()[:60]!r}")
    problems = []
    for number, body in zip(parts[1::2], parts[2::2]):
        index = int(number) - 1
        if not 0 <= index < len(messages):
            raise ValueError(f"=== {number}: the catalog {catalog_path.name} has entries 1 to {len(messages)}")
        translation = body.strip("\n")
        if not translation.strip():
            continue
        message = messages[index]
        msgid = str(message.id)
        # A formula's message keeps the line breaks around it (the export shows them as blank lines).
        lead, trail = msgid[: len(msgid) - len(msgid.lstrip("\n"))], msgid[len(msgid.rstrip("\n")) :]
        translation = lead + translation + trail
        message.string = translation
        message.flags.discard("fuzzy")
        reason = check_entry(str(message.id), translation)
        if reason:
            problems.append(Problem(f"{catalog_path.name} entry {number}", str(message.id), reason))
    dump_po(str(catalog_path), catalog, line_width=0)
    return problems


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segbook.book.i18n", description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", type=Path, default=Path("."), help="the book's directory (default: .)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("update", "check", "config"):
        command = commands.add_parser(name)
        command.add_argument("language", nargs="?" if name != "config" else None, default="vi")
    commands.add_parser("languages")
    for name in ("export", "import"):
        command = commands.add_parser(name)
        command.add_argument("page", help="the page, e.g. chapters/07_fcn")
        command.add_argument("file", type=Path, help="the text file to write (export) or read (import)")
        command.add_argument("--language", default="vi")
        if name == "export":
            command.add_argument("--all", action="store_true", help="every message, translated or not")
    args = parser.parse_args(argv)
    book = args.book.resolve()
    if args.command == "languages":
        config = read_config(book)
        print("\n".join(languages(config)))
        return 0
    if args.command == "export":
        args.file.write_text(export_text(_catalog_path(book, args.language, args.page), args.all), encoding="utf-8")
        return 0
    if args.command == "import":
        problems = import_text(_catalog_path(book, args.language, args.page), args.file.read_text(encoding="utf-8"))
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) in the imported entries")
        return 1 if problems else 0
    if args.command == "config":
        print(write_language_config(book, args.language))
        return 0
    if args.command == "update":
        update_catalogs(book, args.language)
    problems = check_catalogs(book / LOCALE_DIR, args.language)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} catalog entr{'y' if len(problems) == 1 else 'ies'} to fix in {LOCALE_DIR}/{args.language}")
    return 1 if problems and args.command == "check" else 0


if __name__ == "__main__":
    sys.exit(main())
