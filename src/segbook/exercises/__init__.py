"""Exercise checks: a student writes a function in the notebook and checks it at once.

Each chapter's checks (``segbook.exercises.ch01``, ...) are lists of :class:`Case` objects run by
:func:`run_checks`, which prints one line when everything passes and otherwise raises
:class:`ExerciseError` explaining the first failing case.

:mod:`segbook.exercises.registry` lists the book's exercises (:func:`book_exercises`, :func:`find_exercise`): for
each exercise id, the name the student defines and the check that grades it (``segbook-grade`` uses it).
"""

from segbook.exercises._core import Case, ExerciseError, allclose, default_compare, describe, run_checks
from segbook.exercises.registry import Exercise, book_exercises, find_exercise

__all__ = [
    "Case",
    "ExerciseError",
    "run_checks",
    "default_compare",
    "allclose",
    "describe",
    "Exercise",
    "book_exercises",
    "find_exercise",
]
