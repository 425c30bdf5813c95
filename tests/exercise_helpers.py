"""Shared by the tests/test_exercises_chNN.py files: run a chapter's own solutions through its checks.

Every chapter's checks must accept the notebook's solutions and report (not raise) an exercise that still has its
``NotImplementedError`` placeholder; the wrong answers each check must reject stay in the chapter's own test file.
"""

from pathlib import Path
from typing import Callable, Sequence, Tuple

import nbformat
import pytest
import torch

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"


def notebook_solutions(notebook: str, chapter: int, **namespace) -> dict:
    """Execute the ``# Exercise <chapter>.K`` cells of ``chapters/<notebook>`` and return what they define.

    ``namespace`` holds the names the cells use without importing them (the notebook imported them earlier).
    """
    path = CHAPTERS / notebook
    scope = {"torch": torch, **namespace}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith(f"# Exercise {chapter}."):
            exec(compile(cell.source, str(path), "exec"), scope)
    return scope


def placeholder(*args, **kwargs):
    """What the student notebook holds before the student writes anything."""
    raise NotImplementedError("Exercise: write your solution here")


def is_question(name: str) -> bool:
    """A short question's answer is a value named ``answer_<chapter>_<k>``; every other exercise is a function."""
    return name.startswith("answer_")


def standard_exercise_tests(checks: Sequence[Tuple[Callable, str]], solutions: dict):
    """The two tests every chapter's checks must pass, parametrized over ``checks`` ((check, function name)).

    A question (``answer_...``) starts as ``None`` in the student notebook; a function as :func:`placeholder`.
    """

    @pytest.mark.parametrize("check, name", checks)
    def test_check_accepts_the_notebook_solution(check, name, capsys):
        assert name in solutions, f"the notebook defines no exercise function or answer {name!r}"
        assert check(solutions[name]) is True
        out = capsys.readouterr().out
        assert ("correct. Why:" if is_question(name) else "passed") in out, out

    @pytest.mark.parametrize("check, name", checks)
    def test_unattempted_exercise_is_reported_not_raised(check, name, capsys):
        assert check(None if is_question(name) else placeholder) is False
        assert "not attempted yet" in capsys.readouterr().out

    return test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised


def assert_rejected(check: Callable, wrong: Callable, label: str, *words: str) -> None:
    """``check`` must reject the wrong answer ``wrong`` with a message naming ``label``, a hint and ``words``."""
    from segbook.exercises import ExerciseError

    with pytest.raises(ExerciseError) as info:
        check(wrong)
    message = str(info.value)
    assert label in message and "hint" in message.lower(), message  # "hint:" of a case, "Hint:" of a question
    for word in words:
        assert word in message, (word, message)


def returning(fn: Callable, convert: Callable) -> Callable:
    """``fn`` with its result passed through ``convert``: the right values in a type the statement does not ask for."""

    def wrong(*args, **kwargs):
        return convert(fn(*args, **kwargs))

    wrong.__name__ = getattr(fn, "__name__", "wrong")
    return wrong
