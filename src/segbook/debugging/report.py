"""The result of a debugging check: :class:`CheckReport` (passed, a message to act on, the numbers behind it)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any, Dict

__all__ = ["CheckReport"]


@dataclass
class CheckReport:
    """The result of one check: ``passed``, a ``message`` a student can act on, and the numbers in ``details``."""

    check: str
    passed: bool
    message: str
    details: Dict[str, Any] = field(default_factory=dict)

    def raise_if_failed(self) -> "CheckReport":
        """Raise ``ValueError(message)`` if the check failed; return the report otherwise (for chaining)."""
        if not self.passed:
            raise ValueError(f"{self.check} failed: {self.message}")
        return self

    def __str__(self) -> str:
        """``[PASS] check: message`` (or ``[FAIL]``), wrapped at 88 columns like the book's code."""
        line = f"[{'PASS' if self.passed else 'FAIL'}] {self.check}: {self.message}"
        return textwrap.fill(
            line,
            width=88,
            subsequent_indent="    ",
            break_on_hyphens=False,
        )
