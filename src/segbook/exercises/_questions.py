"""Short questions checked automatically: a choice among options, or a number, with the reasoning shown after.

A question exercise asks the student to assign a value (``answer_3_4 = "b"``) instead of writing a function.
The chapter's check calls :func:`check_choice` or :func:`check_number`:

* ``None`` (what the student notebook starts with) prints "not attempted yet" and returns ``False``;
* a value of the wrong kind (a list for one letter, a string for a number) fails with a message saying what
  the statement asks for;
* a wrong option fails with that option's own hint, which says what the option overlooks without naming the
  right one;
* the right answer prints the explanation, so the student reads the reasoning after committing to an answer.

Example:
    >>> check_choice("Exercise 0.1 (answer_0_1)", "b", options={"a": "2", "b": "4"}, correct="b",
    ...              why="2 + 2 = 4.", wrong={"a": "that is 2 + 0"})
    Exercise 0.1 (answer_0_1): correct. Why: 2 + 2 = 4.
    True
"""

from __future__ import annotations

import math
import textwrap
from typing import Mapping, Optional, Union

import torch

from segbook.exercises._core import ExerciseError
from segbook.exercises._values import describe, type_name

__all__ = ["check_choice", "check_number"]

Letters = Union[str, "frozenset[str]"]


def _print_why(exercise: str, why: str) -> None:
    """The explanation, filled to the notebook's 88 columns (a page shows an output line as it is)."""
    print(textwrap.fill(f"{exercise}: correct. Why: {why}", 88, break_on_hyphens=False))


def _not_attempted(exercise: str) -> bool:
    print(f"{exercise} is not attempted yet: replace None with your answer.")
    return False


def _letters(exercise: str, answer: object, options: Mapping[str, str], several: bool) -> Letters:
    """The student's option letter (or set of letters), lower-cased; ExerciseError for anything else."""
    listed = ", ".join(repr(k) for k in options)
    chosen: Letters
    if several:
        if isinstance(answer, str):
            answer = {answer}
        if not isinstance(answer, (set, frozenset)) or not all(isinstance(a, str) for a in answer):
            raise ExerciseError(
                f"{exercise}: expected a set of option letters such as {{'a', 'c'}} (several may be true), "
                f"got {type_name(answer)} {describe(answer)}"
            )
        chosen = frozenset(a.strip().lower() for a in answer)
        unknown = sorted(chosen - set(options))
    else:
        if not isinstance(answer, str):
            raise ExerciseError(
                f"{exercise}: expected one option letter as a string, one of {listed}; "
                f"got {type_name(answer)} {describe(answer)}"
            )
        chosen = answer.strip().lower()
        unknown = [] if chosen in options else [chosen]
    if unknown:
        raise ExerciseError(f"{exercise}: {', '.join(map(repr, unknown))} is not an option; the options are {listed}")
    return chosen


def check_choice(
    exercise: str,
    answer: object,
    *,
    options: Mapping[str, str],
    correct: Letters,
    why: str,
    wrong: Mapping[str, str],
) -> bool:
    """Check a multiple-choice answer and show the reasoning once it is right.

    Args:
        exercise: the label, e.g. ``"Exercise 3.4 (answer_3_4)"``.
        answer: the student's value: one letter (``"b"``), or a set of letters when ``correct`` is a set
            (questions where several options may be true). Case and surrounding spaces do not matter.
        options: letter → the option's text (shown in the messages).
        correct: the right letter, or the frozenset of right letters.
        why: the explanation printed when the answer is right.
        wrong: letter → a hint for a student who chose that option (what it overlooks, without the answer).
            Every wrong letter needs one. For a set question, a hint is shown for the first wrongly chosen
            option, or for the first true option left out.

    Returns:
        ``True`` when right (after printing ``why``); ``False`` when ``answer`` is ``None`` (not attempted).

    Raises:
        ExerciseError: a wrong answer, or a value of the wrong kind.
    """
    several = not isinstance(correct, str)
    right = frozenset(correct) if several else correct
    missing_hints = sorted(set(options) - (set(right) if several else {right}) - set(wrong))
    if missing_hints and not several:
        raise ValueError(f"{exercise}: every wrong option needs a hint in `wrong`; missing {missing_hints}")
    if answer is None:
        return _not_attempted(exercise)
    chosen = _letters(exercise, answer, options, several)
    if chosen == right:
        _print_why(exercise, why)
        return True
    if several:
        assert isinstance(chosen, frozenset) and isinstance(right, frozenset)
        extra, left_out = sorted(chosen - right), sorted(right - chosen)
        if extra:
            letter = extra[0]
            text = f"option {letter!r} ({options[letter]}) is not true: {wrong.get(letter, '')}"
        else:
            letter = left_out[0]
            text = f"option {letter!r} ({options[letter]}) is true too: {wrong.get(letter, 'look at it again')}"
        raise ExerciseError(f"{exercise}: not quite. {text.rstrip(': ')}")
    assert isinstance(chosen, str)
    raise ExerciseError(f"{exercise}: {chosen!r} ({options[chosen]}) is not right. Hint: {wrong[chosen]}")


def check_number(
    exercise: str,
    answer: object,
    *,
    expected: float,
    why: str,
    hint: str,
    integer: bool = False,
    rel_tol: float = 1e-3,
    abs_tol: float = 0.0,
    near: Optional[Mapping[float, str]] = None,
) -> bool:
    """Check a numeric answer and show the reasoning once it is right.

    Args:
        exercise: the label, e.g. ``"Exercise 11.3 (answer_11_3)"``.
        answer: the student's number: a Python ``int`` when ``integer`` (a count), else an ``int`` or ``float``
            (a 0-dim tensor is refused: the statement asks for a number, ``.item()`` gives one).
        expected: the right value.
        why: the explanation printed when the answer is right.
        hint: what to reconsider when the answer is wrong (without the answer).
        integer: the answer is a count and must be an ``int`` equal to ``expected``.
        rel_tol, abs_tol: the tolerance for a float answer (:func:`math.isclose`).
        near: known wrong values → a hint naming the slip that gives each (checked with the same tolerance).

    Returns:
        ``True`` when right; ``False`` when ``answer`` is ``None`` (not attempted).

    Raises:
        ExerciseError: a wrong value, or a value of the wrong kind (NaN and infinities included).
    """
    if answer is None:
        return _not_attempted(exercise)
    kind = "an int (a count)" if integer else "a number (an int or a float)"
    if isinstance(answer, bool) or isinstance(answer, torch.Tensor) or not isinstance(answer, (int, float)):
        extra = "; use .item() to turn a 0-dim tensor into a number" if isinstance(answer, torch.Tensor) else ""
        raise ExerciseError(f"{exercise}: expected {kind}, got {type_name(answer)} {describe(answer)}{extra}")
    if integer and not isinstance(answer, int):
        raise ExerciseError(f"{exercise}: expected an int (it is a count), got the float {answer!r}")
    if not math.isfinite(answer):
        raise ExerciseError(f"{exercise}: expected a finite number, got {answer!r}")

    def close(a: float, b: float) -> bool:
        return a == b if integer else math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)

    if close(answer, expected):
        _print_why(exercise, why)
        return True
    for value, slip in (near or {}).items():
        if close(answer, value):
            raise ExerciseError(f"{exercise}: {answer!r} is not right. Hint: {slip}")
    raise ExerciseError(f"{exercise}: {answer!r} is not right. Hint: {hint}")
