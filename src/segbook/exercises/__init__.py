"""Exercise checks: a student writes a function in the notebook and checks it at once.

Each chapter's checks (``segbook.exercises.ch01``, ...) are lists of :class:`Case` objects run by
:func:`run_checks`, which prints one line when everything passes and otherwise raises
:class:`ExerciseError` explaining the first failing case.
"""

from segbook.exercises._core import Case, ExerciseError, allclose, default_compare, describe, run_checks

__all__ = ["Case", "ExerciseError", "run_checks", "default_compare", "allclose", "describe"]
