"""Exercise checks: a student writes a function in the notebook and checks it at once.

Each chapter's checks (``segbook.exercises.ch01``, ...) are lists of :class:`Case` objects run by
:func:`run_checks`, which prints one line when everything passes and otherwise raises
:class:`ExerciseError` explaining the first failing case. Three other kinds of exercise share that contract:
:func:`check_gradient` (a gradient derived by hand, compared with autograd and finite differences while autograd is
off for the student), :func:`check_choice` and :func:`check_number` (a short question's answer, with the reasoning
printed once it is right).

:mod:`segbook.exercises.registry` lists the book's exercises (:func:`book_exercises`, :func:`find_exercise`): for
each exercise id, the name the student defines and the check that grades it (``segbook-grade`` uses it).
"""

from segbook.exercises._core import Case, ExerciseError, allclose, default_compare, describe, run_checks
from segbook.exercises._gradients import autograd_gradient, check_gradient, numerical_gradient
from segbook.exercises._questions import check_choice, check_number
from segbook.exercises.registry import Exercise, book_exercises, find_exercise

__all__ = [
    "Case",
    "ExerciseError",
    "run_checks",
    "default_compare",
    "allclose",
    "describe",
    "check_choice",
    "check_number",
    "check_gradient",
    "autograd_gradient",
    "numerical_gradient",
    "Exercise",
    "book_exercises",
    "find_exercise",
]
