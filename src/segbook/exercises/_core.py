"""The machinery behind every exercise check in the book.

A chapter defines a list of :class:`Case` objects for an exercise and calls :func:`run_checks`
with the student's function. The check either prints one line (all cases passed, or the exercise
is not attempted yet) or raises :class:`ExerciseError` with a message that says which case failed,
what was expected, what came back, where the first difference is, and a hint. How values are described and
compared is in :mod:`segbook.exercises._values`.

Example (what a chapter's check function looks like)::

    import torch
    from segbook.exercises import Case, run_checks

    def check_one_hot(fn):
        cases = [Case("a 2x2 map with three classes", (torch.tensor([[0, 1], [2, 0]]), 3),
                      expected=torch.tensor([[[1, 0], [0, 1]], [[0, 1], [0, 0]], [[0, 0], [1, 0]]]),
                      hint="use torch.nn.functional.one_hot, then move the class axis first")]
        return run_checks("Exercise 1.2 (one_hot)", fn, cases)
"""

from __future__ import annotations

import copy
import functools
import inspect
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from segbook.exercises._values import (
    Compare,
    allclose,
    compare_values,
    default_compare,
    describe,
    shorten,
    type_name,
)

__all__ = ["Case", "ExerciseError", "run_checks", "default_compare", "allclose", "describe"]


class ExerciseError(AssertionError):
    """Raised by :func:`run_checks` when the student's function fails a case.

    A subclass of ``AssertionError`` so that test runners treat it as a failed check.
    """


class Case:
    """One input of an exercise check and what the student's function must do with it.

    Args:
        description: what the case tests, in words (shown when it fails), e.g. ``"a 2x2 map"``.
        args: positional arguments for the function (deep-copied before every call).
        kwargs: keyword arguments for the function (deep-copied before every call).
        expected: the value the function must return (ignored when ``raises`` is set).
        hint: a sentence that helps the student fix the most likely mistake.
        compare: ``compare(expected, got) -> (ok, reason)``; defaults to :func:`default_compare`.
            Use :func:`allclose` for other float tolerances.
        raises: an exception type the function must raise for these inputs (e.g. ``ValueError``
            for bad input); the case passes only if it does.
        derive: ``derive(result, args, kwargs) -> value``: what is compared with ``expected`` instead of the
            result itself, given the arguments the function received, e.g. the gradient of the result with
            respect to an input (``torch.autograd.grad(result, args[0])[0]``). An error inside it fails the case.

    Example:
        >>> case = Case("two classes, two pixels", (torch.tensor([0, 1]), 2),
        ...             expected=torch.tensor([[1, 0], [0, 1]]), hint="the class axis comes first")
        >>> case.kwargs is None, case.raises is None
        (True, True)
    """

    def __init__(
        self,
        description: str,
        args: tuple = (),
        kwargs: Optional[dict] = None,
        expected: object = None,
        *,
        hint: str = "",
        compare: Optional[Compare] = None,
        raises: Optional[type] = None,
        derive: Optional[Callable[[object, tuple, dict], object]] = None,
    ) -> None:
        self.description, self.args, self.kwargs, self.expected = description, args, kwargs, expected
        self.hint, self.compare, self.raises, self.derive = hint, compare, raises, derive
        if not isinstance(self.description, str) or not self.description.strip():
            raise TypeError(f"Case description must be a non-empty str, got {self.description!r}")
        if not isinstance(self.args, tuple):
            raise TypeError(
                f"Case args must be a tuple of positional arguments, got "
                f"{type(self.args).__name__}; write (x,) for a single argument"
            )
        if self.kwargs is not None and not isinstance(self.kwargs, dict):
            raise TypeError(
                f"Case kwargs must be a dict or None, got {type(self.kwargs).__name__}; "
                f"the third positional argument is kwargs, pass the result as expected=..."
            )
        if not isinstance(self.hint, str):
            raise TypeError(f"Case hint must be a str, got {type(self.hint).__name__}")
        if self.compare is not None and not callable(self.compare):
            raise TypeError(
                f"Case compare must be a callable compare(expected, got) -> (ok, reason), "
                f"got {type(self.compare).__name__}"
            )
        if self.derive is not None and not callable(self.derive):
            raise TypeError(f"Case derive must be a callable derive(result, args, kwargs), got {self.derive!r}")
        if self.raises is not None and not (isinstance(self.raises, type) and issubclass(self.raises, BaseException)):
            raise TypeError(f"Case raises must be an exception class such as ValueError, got {self.raises!r}")

    def __repr__(self) -> str:
        return f"Case({self.description!r}, args={describe(self.args)}, expected={describe(self.expected)})"


# --------------------------------------------------------------------------- running the checks


def _call_text(fn: Callable, args: tuple, kwargs: dict) -> str:
    parts = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
    return f"{getattr(fn, '__name__', 'fn')}({', '.join(parts)})"


def _argument_names(fn: Callable, args: tuple, kwargs: dict) -> "list[tuple[str, object]]":
    """Pair each passed argument with its parameter name (or its position when binding fails)."""
    try:
        return list(inspect.signature(fn).bind(*args, **kwargs).arguments.items())
    except (TypeError, ValueError):
        return [(f"argument {i + 1}", a) for i, a in enumerate(args)] + list(kwargs.items())


def _changed_in_place(original: object, passed: object) -> bool:
    """True if a tensor/array inside ``passed`` no longer equals its untouched copy ``original``."""
    if isinstance(original, (torch.Tensor, np.ndarray)):
        return not compare_values(original, passed, 0.0, 0.0)[0]
    if isinstance(original, (list, tuple)) and isinstance(passed, (list, tuple)) and len(original) == len(passed):
        return any(_changed_in_place(o, p) for o, p in zip(original, passed))
    if isinstance(original, dict) and isinstance(passed, dict):
        return any(k in passed and _changed_in_place(v, passed[k]) for k, v in original.items())
    return False


def _not_attempted(exc: NotImplementedError, fn: Callable) -> bool:
    """True if the NotImplementedError is the exercise's placeholder, not one from deep inside torch."""
    if "write your solution here" in str(exc):
        return True
    code = getattr(fn, "__code__", None)
    if code is None:  # a callable object or partial: we cannot tell, assume the placeholder
        return True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code is code


def _package_function(fn: object) -> Optional[str]:
    """The dotted name of the segbook function (or class) behind ``fn``, if it is one from outside the exercises.

    Looks through bound methods (``__func__``), ``functools.partial`` (``func``) and decorators that set
    ``__wrapped__`` (``functools.wraps``); a callable object counts by its class.
    """
    todo, seen = [fn], set()
    while todo:
        f = todo.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        todo += [getattr(f, attr) for attr in ("__wrapped__", "__func__", "func") if hasattr(f, attr)]
        if inspect.ismethod(f) and _in_segbook(type(f.__self__)):  # a method of one of segbook's objects
            return f"{_dotted(type(f.__self__))}.{f.__name__}"
        owner = f if inspect.isroutine(f) or inspect.isclass(f) else type(f)
        if _in_segbook(owner):
            return _dotted(owner)
    return None


def _in_segbook(owner: object) -> bool:
    module = getattr(owner, "__module__", None) or ""
    return (module == "segbook" or module.startswith("segbook.")) and not module.startswith("segbook.exercises")


def _dotted(owner: object) -> str:
    return f"{owner.__module__}.{getattr(owner, '__qualname__', getattr(owner, '__name__', '?'))}"


def _failure(exercise: str, index: int, total: int, case: Case, call: str, lines: "list[str]") -> str:
    text = [f'{exercise}: case {index} of {total} failed: "{case.description}"', f"  call:     {call}"]
    text += [f"  {line}" for line in lines]
    if case.hint:
        text.append(f"  hint:     {case.hint}")
    return "\n".join(text)


def run_checks(exercise: str, fn: Callable, cases: Sequence[Case]) -> bool:
    """Run the student's function on every case and explain the first failure.

    Each case calls ``fn(*deepcopy(args), **deepcopy(kwargs))``. The check also fails if the function
    changed one of its input tensors or arrays in place.

    Args:
        exercise: the exercise's label as the notebook shows it, e.g. ``"Exercise 1.2 (one_hot)"``.
        fn: the student's function.
        cases: the cases to run, in order (simple ones first: the first failure is reported).

    Returns:
        ``True`` when every case passed (and prints so); ``False`` when the function still raises
        the ``NotImplementedError`` placeholder (prints a friendly line instead of raising, so
        "Run all" goes on).

    Raises:
        ExerciseError: on the first failing case, with the case, expected vs got, and the hint.
            An exception raised by ``fn`` is chained to it. Also when ``fn`` is (or wraps, or is a bound method
            or partial of) segbook's own implementation from outside ``segbook.exercises``.

    Example:
        >>> run_checks("Exercise 0.1 (double)", lambda x: 2 * x, [Case("two", (2,), expected=4)])
        Exercise 0.1 (double): all 1 case passed.
        True
    """
    if not isinstance(exercise, str) or not exercise.strip():
        raise TypeError(f"exercise must be a non-empty str such as 'Exercise 1.2 (one_hot)', got {exercise!r}")
    if not callable(fn):
        raise TypeError(f"{exercise}: expected a function to check, got {type_name(fn)} {describe(fn)}")
    if isinstance(cases, (str, bytes)) or not isinstance(cases, Sequence) or not cases:
        raise TypeError(f"cases must be a non-empty list of Case objects, got {describe(cases)}")
    for case in cases:
        if not isinstance(case, Case):
            raise TypeError(f"cases must contain only Case objects, got {type_name(case)} {describe(case)}")
    own = _package_function(fn)
    if own is not None:
        raise ExerciseError(
            f"{exercise}: you passed segbook's own {own}; write your own function (the check compares it "
            f"with segbook's, so passing segbook's proves nothing) and pass that instead"
        )

    total = len(cases)
    for index, case in enumerate(cases, start=1):
        kwargs = case.kwargs or {}
        args, kwargs_passed = copy.deepcopy(case.args), copy.deepcopy(kwargs)
        call = _call_text(fn, case.args, kwargs)
        failure = functools.partial(_failure, exercise, index, total, case, call)  # the message, given its lines
        try:
            got = fn(*args, **kwargs_passed)
        except NotImplementedError as exc:
            if case.raises is None or not isinstance(exc, case.raises):
                if _not_attempted(exc, fn):
                    print(
                        f"{exercise} is not attempted yet: replace `raise NotImplementedError(...)` "
                        f"with your code and run this cell again."
                    )
                    return False
                raise ExerciseError(
                    failure(
                        [
                            f"raised:   NotImplementedError: {exc}",
                            "note:     this came from a function your code called, not from the exercise placeholder",
                        ]
                    )
                ) from exc
            got = exc
        except Exception as exc:
            if case.raises is None or not isinstance(exc, case.raises):
                wanted = [f"expected: an exception of type {case.raises.__name__}"] if case.raises else []
                raise ExerciseError(
                    failure(
                        wanted
                        + [
                            f"raised:   {type(exc).__name__}: {shorten(str(exc), 300)}",
                        ]
                    )
                ) from exc
            got = exc
        else:
            if case.raises is not None:
                raise ExerciseError(
                    failure(
                        [
                            f"expected: an exception of type {case.raises.__name__}",
                            f"got:      no exception; the function returned {describe(got)}",
                        ]
                    )
                )

        untouched = _argument_names(fn, case.args, kwargs)
        passed = _argument_names(fn, args, kwargs_passed)
        for (name, original), (_, after) in zip(untouched, passed):
            if _changed_in_place(original, after):
                raise ExerciseError(
                    failure(
                        [
                            f"problem:  your function changed its input `{name}` in place; it is now {describe(after)}",
                            "fix:      leave inputs untouched: work on a copy (x = x.clone()) or use operations "
                            "that return a new tensor instead of in-place ones (those ending in _, or x[...] = ...)",
                        ]
                    )
                )

        if case.raises is not None:
            continue
        if case.derive is not None:
            try:
                got = case.derive(got, args, kwargs_passed)
            except Exception as exc:
                raise ExerciseError(
                    failure(
                        [
                            f"returned: {describe(got)}",
                            f"problem:  {type(exc).__name__}: {shorten(str(exc), 300)}",
                        ]
                    )
                ) from exc
        compare = case.compare or default_compare
        try:
            result = compare(case.expected, got)
        except Exception as exc:
            raise ExerciseError(
                failure(
                    [
                        f"expected: {describe(case.expected)}",
                        f"got:      {describe(got)}",
                        f"problem:  the result could not be compared ({type(exc).__name__}: {exc})",
                    ]
                )
            ) from exc
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(
                f"compare function {getattr(compare, '__name__', compare)!r} must return "
                f"(ok, reason), got {describe(result)}"
            )
        ok, reason = result
        if not ok:
            raise ExerciseError(
                failure(
                    [
                        f"expected: {describe(case.expected)}",
                        f"got:      {describe(got)}",
                        f"problem:  {reason or 'the result differs from the expected value'}",
                    ]
                )
            )

    print(f"{exercise}: all {total} case{'s' if total != 1 else ''} passed.")
    return True
