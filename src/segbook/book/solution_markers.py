"""Near misses of the student generator's solution markers, which would otherwise leak a solution.

:mod:`segbook.book.student` strips exactly ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` from code cells and
``{solution}`` directives from markdown cells; :func:`near_miss` finds what is left in a stripped cell that looks
like a marker (another number of ``#``, no space, another case, ``{Solution}``, a lowercase ``<summary>solution``,
any marker in a raw cell), so that the generator refuses the notebook instead of handing the solution out.
"""

from __future__ import annotations

import re
from typing import Optional

__all__ = ["near_miss"]

# Near misses of the markers above, which would otherwise leak a solution: another number of #, no space,
# another case ("## BEGIN SOLUTION", "###begin solution"), a {Solution} or { solution} directive, a lowercase
# <summary>solution, or any solution marker in a raw cell.
_NEAR_CODE_MARKER = re.compile(r"^\s*#+\s*(begin|end)[\s_-]*solution\b", re.I)
_NEAR_DIRECTIVE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*\{\s*solution[\w-]*\s*\}", re.I)
_EXACT_DIRECTIVE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\{solution(-start|-end)?\}")
_NEAR_DETAILS = re.compile(r"<summary>\s*solution", re.I)
_RAW_MARKER = re.compile(r"\{\s*solution|(begin|end)[\s_-]*solution", re.I)


def near_miss(cell_type: str, source: str) -> "Optional[tuple[int, str]]":
    """The first line ``(number, text)`` of an already stripped cell that still looks like a solution marker.

    Example:
        >>> near_miss("code", "x = 1\\n## BEGIN SOLUTION\\n")
        (2, '## BEGIN SOLUTION')
        >>> near_miss("markdown", "```{solution} ex\\n```") is None  # the exact form is stripped, not a near miss
        True
    """
    for number, line in enumerate(source.splitlines(), start=1):
        if cell_type == "raw":
            bad = bool(_RAW_MARKER.search(line))
        elif cell_type == "markdown":
            bad = bool(_NEAR_DIRECTIVE.match(line) and not _EXACT_DIRECTIVE.match(line)) or bool(
                _NEAR_DETAILS.search(line)
            )
        else:
            bad = bool(_NEAR_CODE_MARKER.match(line))
        if bad:
            return number, line.strip()
    return None
