"""The book's list of exercises: for each exercise id, the name the student defines and the check that grades it.

The list is read from the chapters' check modules (``segbook.exercises.ch01``, ...), not kept by hand: every
``check_*`` function a module lists in ``__all__`` is one exercise, and its docstring starts with the exercise's
id and the name the student writes, e.g. ``Exercise 12.1: ``aux_loss(output, masks, aux_weight=0.5)``: ...``.
A check module added for a new chapter, or a new check in an existing one, joins the list by itself.

Grading (``segbook-grade``) uses it to find each exercise's cell in a submitted notebook and to run the book's
own check on it; ``tests/test_grade.py`` checks that it matches the ``# Exercise`` cells of the chapters.

Example:
    >>> exercise = find_exercise("11.1")
    >>> exercise.name, exercise.check, exercise.label
    ('pareto_front', 'check_pareto_front', 'Exercise 11.1 (pareto_front)')
    >>> exercise.check_function().__name__
    'check_pareto_front'
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import Callable, Optional

__all__ = ["Exercise", "RegistryError", "book_exercises", "find_exercise", "exercise_sort_key"]

# The first line of a check's docstring: "Exercise 12.1: ``aux_loss(...)``" (or "``answer_5_4``" for a value).
_DOC = re.compile(r"^\s*Exercise\s+(?P<id>(?P<chapter>[A-Za-z0-9]+)\.(?P<k>\d+)):\s*``(?P<name>[A-Za-z_]\w*)")
_MODULE = re.compile(r"^ch\w+$")
_PACKAGE = "segbook.exercises"


class RegistryError(LookupError):
    """An exercise id that the book does not have, or a check module whose exercises cannot be read."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of the book.

    Attributes:
        id: the exercise's number as the book prints it, e.g. ``"12.1"``.
        chapter: the part before the dot, e.g. ``"12"``.
        name: the function (or value) the student defines, e.g. ``"aux_loss"``.
        module: the module holding the check, e.g. ``"segbook.exercises.ch12"``.
        check: the check function's name in that module, e.g. ``"check_aux_loss"``.
    """

    id: str
    chapter: str
    name: str
    module: str
    check: str

    @property
    def label(self) -> str:
        """The exercise's label as the notebook's comment and the check's messages write it."""
        return f"Exercise {self.id} ({self.name})"

    def check_function(self) -> Callable:
        """Import the check module and return the check (``check(answer) -> bool``, raises ``ExerciseError``)."""
        return getattr(importlib.import_module(self.module), self.check)


def exercise_sort_key(exercise_id: str) -> "tuple":
    """Sort ids in the book's order: ``"2.1" < "10.1" < "A.1"`` (numbered chapters first, then appendices).

    Example:
        >>> sorted(["10.1", "2.3", "2.10", "A.1"], key=exercise_sort_key)
        ['2.3', '2.10', '10.1', 'A.1']
    """
    chapter, _, k = str(exercise_id).partition(".")
    return (0, int(chapter), "") if chapter.isdigit() else (1, 0, chapter), int(k) if k.isdigit() else 0


def _read_module(module_name: str) -> "list[Exercise]":
    module = importlib.import_module(module_name)
    found = []
    for check in getattr(module, "__all__", []):
        if not check.startswith("check_"):
            continue
        doc = getattr(module, check).__doc__ or ""
        match = _DOC.match(doc)
        if not match:
            raise RegistryError(
                f"{module_name}.{check}: its docstring must start with 'Exercise <id>: ``<name>...``' "
                f"(e.g. 'Exercise 12.1: ``aux_loss(output, masks)``'), got {doc.strip()[:60]!r}"
            )
        found.append(Exercise(match["id"], match["chapter"], match["name"], module_name, check))
    return found


def book_exercises(chapter: Optional[object] = None) -> "list[Exercise]":
    """Every exercise of the book (or of one chapter), in the book's order.

    Args:
        chapter: a chapter number or name (``12``, ``"12"``); ``None`` for all chapters.

    Returns:
        The exercises, sorted by id; an empty list for a chapter without exercises.

    Raises:
        RegistryError: a check's docstring does not name its exercise, or two checks claim the same id.

    Example:
        >>> [e.id for e in book_exercises(11)]
        ['11.1', '11.2', '11.3']
    """
    if isinstance(chapter, bool) or (chapter is not None and not isinstance(chapter, (int, str))):
        raise TypeError(f"chapter must be an int, a str or None, got {type(chapter).__name__}")
    package = importlib.import_module(_PACKAGE)
    found: dict[str, Exercise] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not _MODULE.match(info.name):
            continue
        for exercise in _read_module(f"{_PACKAGE}.{info.name}"):
            if exercise.id in found:
                other = found[exercise.id]
                raise RegistryError(
                    f"exercise {exercise.id} is checked twice: {other.module}.{other.check} and "
                    f"{exercise.module}.{exercise.check}"
                )
            found[exercise.id] = exercise
    wanted = None if chapter is None else str(chapter).lstrip("0") or "0"
    chosen = [e for e in found.values() if wanted is None or e.chapter.lstrip("0") == wanted]
    return sorted(chosen, key=lambda e: exercise_sort_key(e.id))


def find_exercise(exercise_id: str) -> Exercise:
    """The exercise with this id, e.g. ``find_exercise("12.1")``.

    Raises:
        RegistryError: the book has no such exercise (the message lists the chapter's exercises).
    """
    if not isinstance(exercise_id, str):
        raise TypeError(f"exercise_id must be a str such as '12.1', got {type(exercise_id).__name__}")
    every = book_exercises()
    for exercise in every:
        if exercise.id == exercise_id:
            return exercise
    chapter = exercise_id.partition(".")[0]
    same = [e.id for e in every if e.chapter == chapter]
    raise RegistryError(
        f"the book has no exercise {exercise_id!r}; "
        + (f"chapter {chapter} has {', '.join(same)}" if same else f"no chapter {chapter!r} has exercises")
    )
