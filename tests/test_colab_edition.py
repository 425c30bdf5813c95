"""The Colab edition: every MyST feature the chapters use becomes plain Markdown, glued numbers are the book's run."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from segbook.book.colab_edition import (
    CLAIM_NOTE,
    LEFTOVER_MYST,
    ColabEditionError,
    convert_markdown,
    format_plain_text,
    glossary_anchor,
    main,
    read_site,
    soften_asserts,
    write_colab_edition,
)
from segbook.book.student import make_student_notebook

REPO = Path(__file__).resolve().parent.parent
# The site build to test against: the repository's _build, or another (e.g. tools/preview.sh's) via SEGBOOK_BUILD.
BUILD = Path(os.environ.get("SEGBOOK_BUILD", REPO / "_build"))
SITE = "https://hust-soict.github.io/segbook/"
GLOSSARY = SITE + "chapters/glossary.html"
# The badge segbook-stamp writes into the source chapter (it opens the Colab edition).
SOURCE_BADGE = (
    "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    "(https://colab.research.google.com/github/hust-soict/segbook/blob/colab/chapters/02_fcn.ipynb)"
)
REFERENCES = SITE + "chapters/references.html"

BIB = r"""
@inproceedings{long2015fcn, author = {Long, Jonathan and Shelhamer, Evan and Darrell, Trevor},
  title = {Fully Convolutional Networks for Semantic Segmentation}, year = {2015}}
@inproceedings{ronneberger2015unet, author = {Ronneberger, Olaf and Fischer, Philipp and Brox, Thomas},
  title = {{U-Net}: Convolutional Networks for Biomedical Image Segmentation}, year = {2015}}
@article{solo2020, author = {Cire{\c{s}}an, Dan}, title = {Alone}, year = {2020}}
@article{pair2019, author = {Milletari, Fausto and Navab, Nassir}, title = {Two}, year = {2019}}
"""
GLOSSARY_MD = """# Glossary

```{glossary}
:sorted:

FCN
  Fully convolutional network.

Mean IoU
  The mean of the classes' IoU.

FCN với 2 kết nối tắt
  Vietnamese.
```
"""
TOC = """format: jb-book
root: chapters/intro
parts:
  - caption: Chapters
    numbered: true
    chapters:
      - file: chapters/01_first
      - file: chapters/02_fcn
  - caption: Appendices
    chapters:
      - file: chapters/appendix_x
      - file: chapters/glossary
"""


def _glue_output(name: str, data: dict, hidden: bool = True) -> nbformat.NotebookNode:
    prefix = "application/papermill.record/" if hidden else ""
    return new_output(
        "display_data",
        data={prefix + k: v for k, v in data.items()},
        metadata={"scrapbook": {"name": name, "mime_prefix": prefix}},
    )


@pytest.fixture
def book(tmp_path):
    """A tiny book: config, toc, glossary, bibliography, a chapter 2 notebook and its executed copy."""
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_config.yml").write_text(
        "title: t\nrepository:\n  url: https://github.com/hust-soict/segbook\n"
        "  branch: main\nsegbook:\n  colab_branch: colab\n",
        encoding="utf-8",
    )
    (tmp_path / "_toc.yml").write_text(TOC, encoding="utf-8")
    (tmp_path / "references.bib").write_text(BIB, encoding="utf-8")
    (tmp_path / "chapters" / "glossary.md").write_text(GLOSSARY_MD, encoding="utf-8")
    (tmp_path / "chapters" / "01_first.md").write_text(
        "# The first chapter\n\n(sec-first)=\n## Pixels\n", encoding="utf-8"
    )
    cells = [
        new_markdown_cell(SOURCE_BADGE, metadata={"tags": ["colab-badge", "remove-cell"]}),
        new_code_cell("print(1)"),
        new_markdown_cell("# FCN\n\nThe mIoU is {glue:text}`miou:.3f`."),
        new_code_cell("glue('miou', 0.81234, display=False)"),
        new_markdown_cell("```{exercise} Sizes\n:label: ex-sizes\n\nWrite `f`.\n```"),
        new_markdown_cell("```{solution} ex-sizes\n:class: dropdown\n\nPad to **32**.\n```"),
        new_markdown_cell("```{exercise}\n:label: ex-two\n\nAgain.\n```"),
    ]
    cells[1].outputs = [new_output("stream", name="stdout", text="1\n")]
    cells[1].execution_count = 3
    nb = new_notebook(cells=cells)
    nbformat.write(nb, tmp_path / "chapters" / "02_fcn.ipynb")
    executed = nbformat.from_dict(nb)
    executed.cells[3].outputs = [_glue_output("shown", {"text/plain": "7"}, hidden=False)]
    (tmp_path / "_build" / "jupyter_execute" / "chapters").mkdir(parents=True)
    nbformat.write(executed, tmp_path / "_build" / "jupyter_execute" / "chapters" / "02_fcn.ipynb")
    # myst-nb moves the values glued with display=False out of the notebook, into <page>.glue.json
    hidden = _glue_output("miou", {"text/plain": "0.81234"})
    hidden["data"] = {"text/plain": "0.81234"}
    (tmp_path / "_build" / "jupyter_execute" / "chapters" / "02_fcn.glue.json").write_text(
        json.dumps({"miou": hidden}), encoding="utf-8"
    )
    return tmp_path


def _convert(book, text, glue=None, page="chapters/02_fcn"):
    site = read_site(book / "_config.yml")
    return convert_markdown(text, site, site.pages[page], glue)


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize(
    "myst, markdown",
    [
        ("{term}`FCN`", f"[**FCN**]({GLOSSARY}#term-FCN)"),
        ("{term}`mIoU <Mean IoU>`", f"[**mIoU**]({GLOSSARY}#term-Mean-IoU)"),
        ("{term}`mean iou`", f"[**mean iou**]({GLOSSARY}#term-Mean-IoU)"),  # Sphinx matches terms case-insensitively
        ("**{term}`FCN`**", f"[**FCN**]({GLOSSARY}#term-FCN)"),  # no bold inside bold
    ],
)
def test_terms_are_bold_links_to_the_glossary_entry(book, myst, markdown):
    assert _convert(book, myst) == markdown


def test_glossary_anchors_are_sphinx_ids():
    assert glossary_anchor("Mean IoU") == "term-Mean-IoU"
    assert glossary_anchor("FCN với 2 kết nối tắt") == "term-FCN-voi-2-ket-noi-tat"
    assert glossary_anchor("FCN-8s") == "term-FCN-8s"


def test_an_unknown_term_is_an_error(book):
    with pytest.raises(ColabEditionError, match="not a term of the glossary"):
        _convert(book, "{term}`Gradient`")


@pytest.mark.parametrize(
    "myst, markdown",
    [
        ("{cite:t}`long2015fcn`", f"[Long et al. (2015)]({REFERENCES})"),
        ("{cite:p}`long2015fcn`", f"([Long et al., 2015]({REFERENCES}))"),
        ("{cite}`long2015fcn`", f"([Long et al., 2015]({REFERENCES}))"),
        (
            "{cite:p}`long2015fcn,ronneberger2015unet`",
            f"([Long et al., 2015]({REFERENCES}); [Ronneberger et al., 2015]({REFERENCES}))",
        ),
        ("{cite:t}`solo2020`", f"[Cireşan (2020)]({REFERENCES})"),
        ("{cite:t}`pair2019`", f"[Milletari and Navab (2019)]({REFERENCES})"),
    ],
)
def test_citations_are_author_year_links_to_the_references(book, myst, markdown):
    assert _convert(book, myst) == markdown


def test_citations_link_to_the_entry_when_the_site_was_built(book):
    html = book / "_build" / "html" / "chapters"
    html.mkdir(parents=True)
    (html / "references.html").write_text(
        '<div class="citation" id="id7" role="doc-biblioentry"><p>Jonathan Long, Evan Shelhamer, and Trevor '
        "Darrell. Fully convolutional networks for semantic segmentation. 2015.</p>\n</div>",
        encoding="utf-8",
    )
    site = read_site(book / "_config.yml", book / "_build" / "html")
    assert convert_markdown("{cite:t}`long2015fcn`", site) == f"[Long et al. (2015)]({REFERENCES}#id7)"


def test_an_unknown_citation_key_is_an_error(book):
    with pytest.raises(ColabEditionError, match="'nobody2000', which is not in references.bib"):
        _convert(book, "{cite:p}`nobody2000`")


@pytest.mark.parametrize(
    "myst, markdown",
    [
        ("{math}`x^2`", "$x^2$"),
        ("{doc}`01_first`", f"[The first chapter]({SITE}chapters/01_first.html)"),
        ("{doc}`the glossary <glossary>`", f"[the glossary]({SITE}chapters/glossary.html)"),
        ("{ref}`sec-first`", f"[Pixels]({SITE}chapters/01_first.html#sec-first)"),
        ("{numref}`ex-sizes`", f"[Exercise 2.1]({SITE}chapters/02_fcn.html#ex-sizes)"),
        ("`{term}` in code", "`{term}` in code"),  # inline code is left alone
    ],
)
def test_math_and_cross_references(book, myst, markdown):
    assert _convert(book, myst) == markdown


def test_labelled_equations_are_numbered_and_eq_links_to_them(book):
    text = "$$ a = b $$ (eq-ab)\n\nBy {eq}`eq-ab`."
    site = read_site(book / "_config.yml")
    page = site.pages["chapters/02_fcn"]
    from segbook.book.colab_edition import index_page

    page = index_page(page.name, [text], 2)
    site.pages[page.name] = page
    assert convert_markdown(text, site, page) == (
        f"$$ a = b \\tag{{2.1}}$$\n\nBy [(2.1)]({SITE}chapters/02_fcn.html#equation-eq-ab)."
    )


def test_targets_and_comments_are_removed(book):
    assert _convert(book, "(sec-x)=\n## Title\n% a comment\nText") == "## Title\nText"


@pytest.mark.parametrize("myst", ["{abc}`x`", "```{tab-set}\nx\n```", ":::{dropdown} T\nx\n:::"])
def test_unknown_roles_and_directives_are_errors_naming_the_notebook_and_cell(book, myst):
    nb = nbformat.read(book / "chapters" / "02_fcn.ipynb", as_version=4)
    nb.cells.append(new_markdown_cell(myst))
    nbformat.write(nb, book / "chapters" / "02_fcn.ipynb")
    with pytest.raises(ColabEditionError, match=r"02_fcn.ipynb, cell 7: the (role|directive) \{[\w-]+\} is not "):
        write_colab_edition(
            [book / "chapters" / "02_fcn.ipynb"],
            book / "out",
            book / "_config.yml",
            book / "_build" / "jupyter_execute",
        )
    assert not (book / "out").exists(), "nothing is written when a notebook cannot be converted"


# --------------------------------------------------------------------------- directives


def test_admonitions_are_block_quotes_with_a_bold_title(book):
    assert _convert(book, ":::{note}\nRead {math}`x`.\n\nTwice.\n:::") == "> **Note**\n>\n> Read $x$.\n>\n> Twice."
    assert _convert(book, "```{admonition} Why 32?\n:class: tip\nBecause.\n```") == "> **Why 32?**\n>\n> Because."


def test_code_fences_are_kept_and_not_converted(book):
    text = "```python\nx = f'{term}`a`'\n```"
    assert _convert(book, text) == text
    assert _convert(book, "```{code-block} python\nx = 1\n```") == "```python\nx = 1\n```"


def test_math_directive_with_a_label_is_numbered(book):
    assert _convert(book, "```{math}\n:label: eq-y\ny = 2\n```") == "$$\ny = 2 \\tag{2.1}\n$$"


def test_a_nested_directive_is_converted_inside_its_parent(book):
    text = "````{exercise} Outer\n:label: ex-sizes\n\n```{note}\nInner {term}`FCN`.\n```\n````"
    assert _convert(book, text) == (
        f"#### Exercise 2.1: Outer\n\n> **Note**\n>\n> Inner [**FCN**]({GLOSSARY}#term-FCN)."
    )


# --------------------------------------------------------------------------- notebooks


@pytest.fixture
def edition(book):
    written = write_colab_edition(
        [book / "chapters" / "02_fcn.ipynb"],
        book / "_build" / "colab",
        book / "_config.yml",
        book / "_build" / "jupyter_execute",
    )
    assert written == [book / "_build" / "colab" / "chapters" / "02_fcn.ipynb"]
    return nbformat.read(written[0], as_version=4)


def test_exercises_are_numbered_headings_in_page_order_and_solutions_collapsed(edition):
    sources = [c.source for c in edition.cells]
    assert "#### Exercise 2.1: Sizes\n\nWrite `f`." in sources
    assert "#### Exercise 2.2\n\nAgain." in sources
    assert "<details>\n<summary>Solution to Exercise 2.1</summary>\n\nPad to **32**.\n\n</details>" in sources


def test_exercises_of_an_unnumbered_page_are_numbered_from_one(book):
    site = read_site(book / "_config.yml")
    from segbook.book.colab_edition import index_page

    page = index_page("chapters/appendix_x", ["```{exercise} A\n:label: ex-a\nx\n```"], None)
    assert convert_markdown("```{exercise} A\n:label: ex-a\nx\n```", site, page) == "#### Exercise 1: A\n\nx"


def test_glue_is_read_from_the_notebook_outputs_and_from_myst_nbs_glue_json(book):
    from segbook.book.colab_edition import read_glue

    executed = book / "_build" / "jupyter_execute" / "chapters" / "02_fcn.ipynb"
    glue = read_glue(nbformat.read(executed, as_version=4), executed.with_suffix(".glue.json"))
    assert glue == {"miou": {"text/plain": "0.81234"}, "shown": {"text/plain": "7"}}


def test_glued_text_is_the_book_runs_value_marked_and_explained(edition):
    assert "The mIoU is <em>0.812</em>." in edition.cells[3].source
    note = edition.cells[1]
    assert "colab-edition-note" in note.metadata.tags and "book's own run" in note.source
    assert f"({SITE}chapters/02_fcn.html)" in note.source


@pytest.mark.parametrize(
    "text, spec",
    [
        ("0.81234", ".3f"),
        ("0.81234", ".1%"),
        ("12", "d"),
        ("12", ""),
        ("'FCN-8s'", "s"),
        ("'FCN-8s'", ""),
        ("3.0", ".0f"),
        ("1234567.891", ",.2f"),
        ("0.000123", ".2e"),
        ("np.float64(0.5)", "s"),
        ("7", "03d"),
        ("0.5", "g"),
        ("[1, 2]", "s"),
        ("True", "s"),
        ("'0.5'", ".2f"),
        ("'7'", "d"),
        ("True", ".1f"),
    ],
)
def test_glue_formatting_is_identical_to_myst_nb(text, spec):
    myst_nb = pytest.importorskip("myst_nb.core.variables")
    assert format_plain_text(text, spec) == myst_nb.format_plain_text(text, spec)


def test_glued_html_table_and_figure_directives(book):
    glue = {
        "table": {"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "df"},
        "fig": {"image/png": "iVBOR", "text/plain": "<Figure>"},
    }
    assert _convert(book, "```{glue:} table\n```", glue) == "<table><tr><td>1</td></tr></table>"
    figure = _convert(book, "```{glue:figure} fig\n:name: fig-x\n\nThe {term}`FCN`.\n```", glue)
    assert "run the cell that makes it, above, to see it" in figure
    assert f"*The [**FCN**]({GLOSSARY}#term-FCN).*" in figure
    assert _convert(book, "{glue}`table`", glue) == "<table><tr><td>1</td></tr></table>"


def test_glue_without_an_executed_notebook_or_key_is_an_error(book):
    with pytest.raises(ColabEditionError, match="no executed notebook"):
        _convert(book, "{glue:text}`miou:.3f`")
    with pytest.raises(ColabEditionError, match="'loss', which the executed notebook does not hold"):
        _convert(book, "{glue:text}`loss:.3f`", {"miou": {"text/plain": "1"}})


def test_a_stale_executed_notebook_is_named_as_the_cause(book):
    nb = nbformat.read(book / "chapters" / "02_fcn.ipynb", as_version=4)
    nb.cells[3].source = "glue('loss', 1.5, display=False)"
    nb.cells[2].source = "The loss is {glue:text}`loss:.1f`."
    nbformat.write(nb, book / "chapters" / "02_fcn.ipynb")
    with pytest.raises(ColabEditionError, match="cell 2: glues 'loss'.*older version of this notebook"):
        write_colab_edition(
            [book / "chapters" / "02_fcn.ipynb"],
            book / "out",
            book / "_config.yml",
            book / "_build" / "jupyter_execute",
        )


def test_the_edition_has_no_outputs_and_keeps_the_code(book, edition):
    code = [c for c in edition.cells if c.cell_type == "code"]
    assert [c.source for c in code] == ["print(1)", "glue('miou', 0.81234, display=False)"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_build_guards_warn_in_the_edition_instead_of_stopping_run_all(capsys):
    """A remove-cell assert stops the book's build; in Colab the same claim prints a note and the run goes on."""
    guard = (
        "miou = 0.4\nfor seed in (0, 1):\n    assert seed < 5\nassert miou > 0.5, ('mIoU', miou)  # the claim\n"
        "x = 1; assert x\nglue('miou', miou, display=False)"
    )
    softened = soften_asserts(guard)
    assert "assert miou" not in softened and "assert seed" not in softened
    assert "x = 1; assert x" in softened  # an assert sharing its line with other code is left alone
    namespace = {"glue": lambda *args, **kwargs: None}
    exec(compile(softened, "<cell>", "exec"), namespace)  # the failing claim does not raise
    assert capsys.readouterr().out == f"{CLAIM_NOTE} ('mIoU', 0.4)\n"
    assert soften_asserts("%timeit f()") == "%timeit f()"  # not Python: left for the kernel


def test_only_remove_cell_guards_are_softened(book):
    path = book / "chapters" / "02_fcn.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells += [
        new_code_cell("assert 1 > 0, 'guard'", metadata={"tags": ["remove-cell"]}),
        new_code_cell("assert 1 > 0, 'visible'"),
    ]
    nbformat.write(nb, path)
    written = write_colab_edition([path], book / "out", book / "_config.yml", book / "_build" / "jupyter_execute")
    sources = [c.source for c in nbformat.read(written[0], as_version=4).cells if c.cell_type == "code"]
    assert "assert 1 > 0, 'visible'" in sources
    assert any(source.startswith("if not (1 > 0):") and "'guard'" in source for source in sources)


def test_the_edition_badge_opens_the_edition_on_the_colab_branch(edition):
    assert edition.cells[0].source.endswith(
        "(https://colab.research.google.com/github/hust-soict/segbook/blob/colab/chapters/02_fcn.ipynb)"
    )


def test_no_myst_is_left(edition):
    for cell in edition.cells:
        if cell.cell_type == "markdown":
            assert not LEFTOVER_MYST.search(cell.source), cell.source


def test_student_notebooks_from_the_edition_lose_the_solutions(edition):
    student, report = make_student_notebook(edition)
    assert report.markdown_solutions == 1
    assert not any("<details>" in c.source for c in student.cells)
    assert any(c.source.startswith("#### Exercise 2.1") for c in student.cells)


def test_command_line_defaults_beside_the_config(book, capsys):
    assert main(["--config", str(book / "_config.yml")]) == 0
    assert (book / "_build" / "colab" / "chapters" / "02_fcn.ipynb").is_file()
    assert "wrote 1 notebook(s)" in capsys.readouterr().out


# --------------------------------------------------------------------------- the real book


def _real_edition(tmp_path) -> "list[Path]":
    executed = BUILD / "jupyter_execute" / "chapters"
    if not executed.is_dir():
        pytest.skip(
            f"no site build ({executed} does not exist): run `make book`, or tools/preview.sh and "
            f"SEGBOOK_BUILD=<preview>/_build"
        )
    notebooks = [
        REPO / "chapters" / p.name for p in sorted(executed.glob("*.ipynb")) if (REPO / "chapters" / p.name).is_file()
    ]
    return write_colab_edition(
        notebooks, tmp_path / "colab", REPO / "_config.yml", BUILD / "jupyter_execute", BUILD / "html"
    )


def test_the_real_colab_edition_has_no_myst_left(tmp_path):
    left = []
    for path in _real_edition(tmp_path):
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "markdown":
                left += [f"{path.name}, cell {index}: {m.group(0)!r}" for m in LEFTOVER_MYST.finditer(cell.source)]
    assert not left, "MyST left in the Colab edition:\n" + "\n".join(left)


def test_the_real_glossary_and_reference_links_exist_on_the_built_site(tmp_path):
    html = BUILD / "html" / "chapters"
    if not (html / "glossary.html").is_file():
        pytest.skip(f"no built site in {html}")
    anchors = set(re.findall(r'id="([^"]+)"', (html / "glossary.html").read_text(encoding="utf-8")))
    refs = set(re.findall(r'id="([^"]+)"', (html / "references.html").read_text(encoding="utf-8")))
    missing = []
    for path in _real_edition(tmp_path):
        for cell in nbformat.read(path, as_version=4).cells:
            missing += [a for a in re.findall(r"glossary\.html#([\w.-]+)\)", cell.source) if a not in anchors]
            missing += [a for a in re.findall(r"references\.html#([\w.-]+)\)", cell.source) if a not in refs]
            # every citation ("Long et al. (2015)") found its entry; a plain link to the page ("References") is fine
            missing += re.findall(r"\[[^\]]*\b(?:1[89]|20)\d\d[a-z]?\)?\]\([^)#]*references\.html\)", cell.source)
    assert not missing


def test_one_colab_edition_notebook_runs_top_to_bottom(tmp_path):
    nbclient = pytest.importorskip("nbclient")
    if not (BUILD / "jupyter_execute" / "chapters" / "appendix_debugging.ipynb").is_file():
        pytest.skip("no executed appendix_debugging in the site build")
    path = write_colab_edition(
        [REPO / "chapters" / "appendix_debugging.ipynb"],
        tmp_path / "colab",
        REPO / "_config.yml",
        BUILD / "jupyter_execute",
        BUILD / "html",
    )[0]
    nb = nbformat.read(path, as_version=4)
    # A fresh kernel, offline: segbook is importable here, so the setup cell installs nothing.
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO / "chapters")}}
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


# --------------------------------------------------------------------------- the site's launch button


@pytest.mark.parametrize(
    "url, book, expected",
    [
        (
            "https://colab.research.google.com/github/o/r/blob/main/chapters/a.ipynb",
            "",
            "https://colab.research.google.com/github/o/r/blob/colab/chapters/a.ipynb",
        ),
        (
            "https://colab.research.google.com/github/o/r/blob/main/docs/chapters/a.ipynb",
            "docs",
            "https://colab.research.google.com/github/o/r/blob/colab/chapters/a.ipynb",
        ),
        (
            "https://mybinder.org/v2/gh/o/r/main?urlpath=tree/chapters/a.ipynb",
            "",
            "https://mybinder.org/v2/gh/o/r/main?urlpath=tree/chapters/a.ipynb",
        ),
    ],
)
def test_the_launch_button_opens_the_colab_edition(url, book, expected):
    from segbook.book.sphinx_colab import colab_edition_url

    assert colab_edition_url(url, "main", "colab", book) == expected


def test_make_student_reads_the_colab_edition_when_it_exists(book, edition, monkeypatch, capsys):
    from segbook.book.student import main as student_main

    monkeypatch.chdir(book)
    assert student_main([]) == 0
    handout = nbformat.read(book / "student" / "02_fcn.ipynb", as_version=4)
    assert any(c.source.startswith("#### Exercise 2.1") for c in handout.cells)  # no MyST
    assert not any("{solution}" in c.source or "<details>" in c.source for c in handout.cells)
    assert student_main(["--from-sources", "-o", "from-sources"]) == 0
    sources = nbformat.read(book / "from-sources" / "02_fcn.ipynb", as_version=4)
    assert any("```{exercise} Sizes" in c.source for c in sources.cells)
    for nb in (handout, sources):  # either way, the badge opens the student version
        assert nb.cells[0].source.endswith(f"({STUDENT_COLAB})")


# --------------------------------------------------------------------------- the handouts: published and linked

STUDENT_COLAB = "https://colab.research.google.com/github/hust-soict/segbook/blob/colab/student/02_fcn.ipynb"


@pytest.fixture
def site(book, edition):
    """The built website of the tiny book (only what publishing the handouts needs: its index.html)."""
    (book / "_build" / "html").mkdir(parents=True)
    (book / "_build" / "html" / "index.html").write_text("<html></html>", encoding="utf-8")
    return book / "_build" / "html"


def _publish(book):
    from segbook.book.handouts import publish_handouts

    return publish_handouts(book / "_build" / "colab", book / "_build" / "html", book / "_config.yml")


def test_the_handouts_go_to_the_colab_branch_folder_and_to_the_site_with_an_archive(book, site):
    import zipfile

    done = _publish(book)
    assert done.notebooks == [book / "_build" / "colab" / "student" / "02_fcn.ipynb"]
    assert done.downloads == [site / "student" / "02_fcn.ipynb"]
    assert done.archive == site / "student" / "segbook-student-notebooks.zip"
    handout = nbformat.read(done.notebooks[0], as_version=4)
    assert handout.cells[0].source.endswith(f"({STUDENT_COLAB})")  # it opens itself in Colab
    assert handout.cells[1].source.startswith("*This is the student version of [FCN](")  # the edition's note, rewritten
    assert not any("<details>" in c.source or "Pad to **32**" in c.source for c in handout.cells)
    assert done.downloads[0].read_bytes() == done.notebooks[0].read_bytes()
    with zipfile.ZipFile(done.archive) as bundle:
        assert bundle.namelist() == ["segbook-student-notebooks/README.md", "segbook-student-notebooks/02_fcn.ipynb"]
        assert bundle.read("segbook-student-notebooks/02_fcn.ipynb") == done.notebooks[0].read_bytes()
        readme = bundle.read("segbook-student-notebooks/README.md").decode()
    assert f"[02_fcn.ipynb]({STUDENT_COLAB})" in readme and "https://hust-soict.github.io/segbook/" in readme
    assert (book / "_build" / "colab" / "student" / "README.md").read_text(encoding="utf-8") == readme


def test_the_archive_is_the_same_bytes_when_published_again(book, site):
    import zipfile

    first = _publish(book).archive.read_bytes()
    assert _publish(book).archive.read_bytes() == first
    with zipfile.ZipFile(site / "student" / "segbook-student-notebooks.zip") as bundle:  # not today's date
        assert {info.date_time for info in bundle.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_handout_of_a_chapter_that_is_gone_is_removed(book, site):
    for folder in (book / "_build" / "colab" / "student", site / "student"):
        folder.mkdir(parents=True)
        (folder / "99_old.ipynb").write_text("{}", encoding="utf-8")
    _publish(book)
    assert not (site / "student" / "99_old.ipynb").exists()
    assert not (book / "_build" / "colab" / "student" / "99_old.ipynb").exists()
    assert (site / "student" / "02_fcn.ipynb").is_file()


def test_a_malformed_chapter_publishes_nothing(book, site):
    from segbook.book.student import StudentNotebookError

    path = book / "_build" / "colab" / "chapters" / "03_bad.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("# Exercise 3.1 (f)\n###BEGIN SOLUTION\nx = 1\n")]), path)
    with pytest.raises(StudentNotebookError, match="03_bad.ipynb, cell 0"):
        _publish(book)
    assert not (site / "student").exists() and not (book / "_build" / "colab" / "student").exists()


def test_publishing_needs_the_edition_and_the_built_site(book, edition, capsys):
    from segbook.book.handouts import main as handouts_main

    assert handouts_main(["--config", str(book / "_config.yml")]) == 1
    assert "no built website" in capsys.readouterr().err
    (book / "_build" / "html").mkdir()
    (book / "_build" / "html" / "index.html").write_text("", encoding="utf-8")
    assert handouts_main(["--config", str(book / "_config.yml"), "--edition", str(book / "nowhere")]) == 1
    assert "no Colab edition" in capsys.readouterr().err
    assert handouts_main(["--config", str(book / "_config.yml")]) == 0
    assert "1 student notebook(s)" in capsys.readouterr().out
    assert (book / "_build" / "html" / "student" / "segbook-student-notebooks.zip").is_file()


def test_two_notebooks_of_the_same_name_cannot_share_the_archive(tmp_path):
    from segbook.book.handout_cells import HandoutError
    from segbook.book.handouts import write_archive

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "01.ipynb").write_text("{}", encoding="utf-8")
    with pytest.raises(HandoutError, match="same name"):
        write_archive([tmp_path / "a" / "01.ipynb", tmp_path / "b" / "01.ipynb"], "", tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def _page_context(body: str, suffix: str = ".ipynb") -> dict:
    launch = {
        "label": "launch-buttons",
        "buttons": [
            {
                "text": "Colab",
                "url": "https://colab.research.google.com/github/hust-soict/segbook/blob/main/chapters/02_fcn.ipynb",
            }
        ],
    }
    download = {"label": "download-buttons", "buttons": []}
    return {
        "body": body,
        "page_source_suffix": suffix,
        "pathto": lambda path, _: "../" + path,
        "header_buttons": [launch, download],
    }


class _App:
    def __init__(self, srcdir):
        self.srcdir = str(srcdir)


def test_a_notebook_page_links_its_student_notebook_under_its_title_and_in_the_header_menus(book):
    from segbook.book.sphinx_colab import edit_page_context

    body = '<section><h1>FCN<a href="#">#</a></h1>\n<p class="slide-heading" lang="vi">Mạng</p>\n<p>Text</p></section>'
    context = _page_context(body)
    edit_page_context(_App(book), "chapters/02_fcn", "page.html", context, None)
    head, line, rest = context["body"].partition('<p class="segbook-handout">')
    assert head.endswith('<p class="slide-heading" lang="vi">Mạng</p>\n') and rest.endswith("<p>Text</p></section>")
    assert f'href="{STUDENT_COLAB}"' in rest.split("</p>")[0]
    assert 'href="../student/02_fcn.ipynb" download' in rest.split("</p>")[0]
    assert 'href="../student/segbook-student-notebooks.zip" download' in rest.split("</p>")[0]
    launch, download = context["header_buttons"]
    assert [b["url"] for b in launch["buttons"]] == [
        "https://colab.research.google.com/github/hust-soict/segbook/blob/colab/chapters/02_fcn.ipynb",
        STUDENT_COLAB,
    ]
    assert [b["url"] for b in download["buttons"]] == [
        "../student/02_fcn.ipynb",
        "../student/segbook-student-notebooks.zip",
    ]


def test_the_handout_line_goes_right_under_a_title_without_a_slide_heading(book):
    from segbook.book.sphinx_colab import edit_page_context

    context = _page_context("<h1>T</h1><p>Text</p>")
    edit_page_context(_App(book), "chapters/02_fcn", "page.html", context, None)
    assert context["body"].startswith('<h1>T</h1>\n<p class="segbook-handout">')
    assert context["body"].endswith("</p><p>Text</p>")


def test_a_page_that_is_not_a_notebook_links_no_student_notebook(book):
    from segbook.book.sphinx_colab import edit_page_context

    context = _page_context("<h1>Glossary</h1>", suffix=".md")
    edit_page_context(_App(book), "chapters/glossary", "page.html", context, None)
    assert context["body"] == "<h1>Glossary</h1>"
    assert len(context["header_buttons"][0]["buttons"]) == 1 and context["header_buttons"][1]["buttons"] == []
