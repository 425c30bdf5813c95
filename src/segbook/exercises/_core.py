"""The machinery behind every exercise check in the book.

A chapter defines a list of :class:`Case` objects for an exercise and calls :func:`run_checks`
with the student's function. The check either prints one line (all cases passed, or the exercise
is not attempted yet) or raises :class:`ExerciseError` with a message that says which case failed,
what was expected, what came back, where the first difference is, and a hint.

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
import inspect
import math
import reprlib
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from segbook.conventions import check_float

__all__ = ["Case", "ExerciseError", "run_checks", "default_compare", "allclose", "describe"]

Compare = Callable[[object, object], "tuple[bool, str]"]

DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-6
_PREVIEW_ELEMENTS = 8  # tensors/arrays longer than this are shown as their first few values
_PREVIEW_CHARS = 120


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
    ) -> None:
        self.description, self.args, self.kwargs, self.expected = description, args, kwargs, expected
        self.hint, self.compare, self.raises = hint, compare, raises
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
        if self.raises is not None and not (isinstance(self.raises, type) and issubclass(self.raises, BaseException)):
            raise TypeError(f"Case raises must be an exception class such as ValueError, got {self.raises!r}")

    def __repr__(self) -> str:
        return f"Case({self.description!r}, args={describe(self.args)}, expected={describe(self.expected)})"


# --------------------------------------------------------------------------- describing values


def _short(text: str, limit: int = _PREVIEW_CHARS) -> str:
    text = " ".join(text.split())  # one line, whatever the original layout
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fmt(value: object) -> str:
    """Format a (nested) list of numbers compactly: floats with 4 significant digits."""
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)


def _preview_values(values: object, total: int) -> str:
    if total <= _PREVIEW_ELEMENTS or not isinstance(values, list):
        return _short(_fmt(values))
    head = ", ".join(_fmt(v) for v in values[:_PREVIEW_ELEMENTS])
    return _short(f"[{head}, ...] (first {_PREVIEW_ELEMENTS} of {total} values, flattened)")


def describe(value: object) -> str:
    """A short one-line description of ``value``: shape, dtype and a preview for tensors and arrays.

    Example:
        >>> describe(torch.tensor([[0, 1], [2, 0]]))
        'tensor(shape=(2, 2), dtype=torch.int64, values=[[0, 1], [2, 0]])'
    """
    if isinstance(value, torch.Tensor):
        head = f"tensor(shape={tuple(value.shape)}, dtype={value.dtype}"
        head += ", requires_grad=True" if value.requires_grad else ""
        try:
            t = value.detach().cpu()
            shown = t.tolist() if t.numel() <= _PREVIEW_ELEMENTS else t.flatten()[:_PREVIEW_ELEMENTS].tolist()
        except Exception:  # sparse, meta or other exotic tensors: no preview
            return head + ")"
        return f"{head}, values={_preview_values(shown, t.numel())})"
    if isinstance(value, np.ndarray):
        shown = value.tolist() if value.size <= _PREVIEW_ELEMENTS else value.ravel()[:_PREVIEW_ELEMENTS].tolist()
        return f"array(shape={value.shape}, dtype={value.dtype}, values={_preview_values(shown, value.size)})"
    if isinstance(value, (list, tuple)) and any(isinstance(v, (torch.Tensor, np.ndarray)) for v in value):
        inner = ", ".join(describe(v) for v in value[:3]) + (", ..." if len(value) > 3 else "")
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
        return f"{type(value).__name__} of {len(value)}: {opening}{inner}{closing}"
    short_repr = reprlib.Repr()
    short_repr.maxlist = short_repr.maxtuple = 8
    short_repr.maxdict, short_repr.maxstring, short_repr.maxother = 6, 60, 80
    try:
        text = short_repr.repr(value)
    except Exception:  # a student's object whose __repr__ fails must not hide the real problem
        text = f"<{type(value).__name__} object>"
    return _short(text)


def _type_name(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return "a torch.Tensor"
    if isinstance(value, np.ndarray):
        return "a numpy.ndarray"
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


# --------------------------------------------------------------------------- comparing values


def _first_difference(mismatch: np.ndarray, expected: np.ndarray, got: np.ndarray, floating: bool) -> str:
    """Say where the first differing element is, how many differ, and (floats) the largest gap."""
    notes = []
    if mismatch.ndim == 0:
        text = f"value differs: expected {expected.item()!r}, got {got.item()!r}"
    else:
        where = tuple(int(i) for i in np.argwhere(mismatch)[0])
        index = where if len(where) != 1 else where[0]
        text = f"values differ at index {index}: expected {expected[where].item()!r}, got {got[where].item()!r}"
        count = int(mismatch.sum())
        notes.append(f"{count} of {mismatch.size} elements differ{'s' if count == 1 else ''}")
    if floating:
        gaps = np.abs(expected.astype(np.complex128) - got.astype(np.complex128))[mismatch]
        gaps = gaps[np.isfinite(gaps)]
        if gaps.size:
            notes.append(f"largest absolute difference {gaps.max():.3g}")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _compare_arrays(expected: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> "tuple[bool, str]":
    """Compare two numpy arrays whose shape and dtype are already known to agree."""
    if expected.dtype.kind in "fc":
        mismatch = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
        floating = True
    else:
        mismatch = np.asarray(got != expected)
        floating = False
    if not mismatch.any():
        return True, ""
    return False, _first_difference(mismatch, expected, got, floating)


def _compare_tensors(expected: torch.Tensor, got: object, rtol: float, atol: float) -> "tuple[bool, str]":
    if not isinstance(got, torch.Tensor):
        extra = " (turn it into a tensor with torch.as_tensor)" if isinstance(got, (np.ndarray, list)) else ""
        return False, f"expected a torch.Tensor, got {_type_name(got)}{extra}"
    if got.shape != expected.shape:
        return False, f"shape differs: expected {tuple(expected.shape)}, got {tuple(got.shape)}"
    if got.dtype != expected.dtype:
        return False, f"dtype differs: expected {expected.dtype}, got {got.dtype}"
    e, g = expected.detach().cpu(), got.detach().cpu()
    if e.dtype.is_floating_point or e.dtype.is_complex:
        same = torch.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    else:
        same = torch.equal(g, e)
    if same:
        return True, ""
    if e.dtype == torch.bfloat16:  # numpy has no bfloat16
        e, g = e.float(), g.float()
    return _compare_arrays(e.numpy(), g.numpy(), rtol, atol)


def _compare_ndarrays(expected: np.ndarray, got: object, rtol: float, atol: float) -> "tuple[bool, str]":
    if not isinstance(got, np.ndarray):
        extra = " (call .numpy() on it)" if isinstance(got, torch.Tensor) else ""
        return False, f"expected a numpy.ndarray, got {_type_name(got)}{extra}"
    if got.shape != expected.shape:
        return False, f"shape differs: expected {expected.shape}, got {got.shape}"
    if got.dtype != expected.dtype:
        return False, f"dtype differs: expected {expected.dtype}, got {got.dtype}"
    return _compare_arrays(expected, got, rtol, atol)


def _is_real_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _at(position: str, reason: str) -> str:
    """Prefix a nested reason with where it happened: ``at [1]['mask']: shape differs ...``."""
    if reason.startswith("at ["):
        return f"at {position}{reason[3:]}"
    return f"at {position}: {reason}"


def _compare(expected: object, got: object, rtol: float, atol: float) -> "tuple[bool, str]":
    if isinstance(expected, torch.Tensor):
        return _compare_tensors(expected, got, rtol, atol)
    if isinstance(expected, np.ndarray):
        return _compare_ndarrays(expected, got, rtol, atol)
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return False, f"expected the bool {bool(expected)}, got {_type_name(got)} {describe(got)}"
        return (True, "") if bool(got) == bool(expected) else (False, f"expected {bool(expected)}, got {bool(got)}")
    if _is_real_number(expected):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            return False, (
                f"expected a Python number, got a one-element tensor {describe(got)}; "
                f"use .item() to turn it into a number"
            )
        if not _is_real_number(got):
            return False, f"expected a number, got {_type_name(got)} {describe(got)}"
        e, g = float(expected), float(got)  # type: ignore[arg-type]  # both checked to be real numbers
        if (math.isnan(e) and math.isnan(g)) or math.isclose(g, e, rel_tol=rtol, abs_tol=atol):
            return True, ""
        return False, f"expected {expected!r}, got {got!r} (difference {abs(g - e):.3g})"
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return False, f"expected a {type(expected).__name__} of {len(expected)} items, got {_type_name(got)}"
        if len(got) != len(expected):
            return False, f"expected {len(expected)} items, got {len(got)}"
        for i, (e_item, g_item) in enumerate(zip(expected, got)):
            ok, reason = _compare(e_item, g_item, rtol, atol)
            if not ok:
                return False, _at(f"[{i}]", reason)
        return True, ""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return False, f"expected a dict, got {_type_name(got)}"
        missing = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        if missing or extra:
            parts = ([f"missing keys {missing}"] if missing else []) + ([f"unexpected keys {extra}"] if extra else [])
            return False, "; ".join(parts)
        for key in expected:
            ok, reason = _compare(expected[key], got[key], rtol, atol)
            if not ok:
                return False, _at(f"[{key!r}]", reason)
        return True, ""
    if isinstance(got, (torch.Tensor, np.ndarray)):
        return False, f"expected {_type_name(expected)} {describe(expected)}, got {_type_name(got)}"
    try:
        same = bool(expected == got)
    except Exception as exc:  # e.g. an object whose == returns something without a truth value
        return False, f"could not compare {describe(expected)} with {describe(got)}: {exc}"
    if same:
        return True, ""
    if type(expected) is not type(got):
        return False, f"expected {describe(expected)} ({_type_name(expected)}), got {describe(got)} ({_type_name(got)})"
    return False, f"expected {describe(expected)}, got {describe(got)}"


def default_compare(expected: object, got: object) -> "tuple[bool, str]":
    """Compare a student's result with the expected one and say, in a sentence, how they differ.

    Tensors and numpy arrays must agree in type, shape and dtype; integer and bool values must be
    equal, float values close (``rtol=1e-5, atol=1e-6``, NaN equal to NaN). Python numbers are
    compared with :func:`math.isclose`, lists/tuples and dicts item by item, anything else with ``==``.

    Returns:
        ``(ok, reason)``; ``reason`` is ``""`` when ``ok``, else e.g.
        ``"dtype differs: expected torch.int64, got torch.float32"``.

    Example:
        >>> default_compare(torch.tensor([1, 2]), torch.tensor([1.0, 2.0]))
        (False, 'dtype differs: expected torch.int64, got torch.float32')
    """
    return _compare(expected, got, DEFAULT_RTOL, DEFAULT_ATOL)


def allclose(rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL) -> Compare:
    """Make a compare function like :func:`default_compare` with other float tolerances.

    Use it for results that legitimately differ in the last digits, e.g. a loss summed in another
    order: ``Case(..., compare=allclose(rtol=1e-4, atol=1e-5))``.

    Example:
        >>> allclose(atol=0.1)(1.0, 1.05)
        (True, '')
    """
    rtol = check_float(rtol, "rtol", minimum=0.0)
    atol = check_float(atol, "atol", minimum=0.0)

    def compare(expected: object, got: object) -> "tuple[bool, str]":
        return _compare(expected, got, rtol, atol)

    compare.__name__ = f"allclose(rtol={rtol:g}, atol={atol:g})"
    return compare


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
        return not _compare(original, passed, 0.0, 0.0)[0]
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
            An exception raised by ``fn`` is chained to it.

    Example:
        >>> run_checks("Exercise 0.1 (double)", lambda x: 2 * x, [Case("two", (2,), expected=4)])
        Exercise 0.1 (double): all 1 case passed.
        True
    """
    if not isinstance(exercise, str) or not exercise.strip():
        raise TypeError(f"exercise must be a non-empty str such as 'Exercise 1.2 (one_hot)', got {exercise!r}")
    if not callable(fn):
        raise TypeError(f"{exercise}: expected a function to check, got {_type_name(fn)} {describe(fn)}")
    if isinstance(cases, (str, bytes)) or not isinstance(cases, Sequence) or not cases:
        raise TypeError(f"cases must be a non-empty list of Case objects, got {describe(cases)}")
    for case in cases:
        if not isinstance(case, Case):
            raise TypeError(f"cases must contain only Case objects, got {_type_name(case)} {describe(case)}")

    total = len(cases)
    for index, case in enumerate(cases, start=1):
        kwargs = case.kwargs or {}
        args, kwargs_passed = copy.deepcopy(case.args), copy.deepcopy(kwargs)
        call = _call_text(fn, case.args, kwargs)
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
                    _failure(
                        exercise,
                        index,
                        total,
                        case,
                        call,
                        [
                            f"raised:   NotImplementedError: {exc}",
                            "note:     this came from a function your code called, not from the exercise placeholder",
                        ],
                    )
                ) from exc
            got = exc
        except Exception as exc:
            if case.raises is None or not isinstance(exc, case.raises):
                wanted = [f"expected: an exception of type {case.raises.__name__}"] if case.raises else []
                raise ExerciseError(
                    _failure(
                        exercise,
                        index,
                        total,
                        case,
                        call,
                        wanted
                        + [
                            f"raised:   {type(exc).__name__}: {_short(str(exc), 300)}",
                        ],
                    )
                ) from exc
            got = exc
        else:
            if case.raises is not None:
                raise ExerciseError(
                    _failure(
                        exercise,
                        index,
                        total,
                        case,
                        call,
                        [
                            f"expected: an exception of type {case.raises.__name__}",
                            f"got:      no exception; the function returned {describe(got)}",
                        ],
                    )
                )

        untouched = _argument_names(fn, case.args, kwargs)
        passed = _argument_names(fn, args, kwargs_passed)
        for (name, original), (_, after) in zip(untouched, passed):
            if _changed_in_place(original, after):
                raise ExerciseError(
                    _failure(
                        exercise,
                        index,
                        total,
                        case,
                        call,
                        [
                            f"problem:  your function changed its input `{name}` in place; it is now {describe(after)}",
                            "fix:      leave inputs untouched: work on a copy (x = x.clone()) or use operations "
                            "that return a new tensor instead of in-place ones (those ending in _, or x[...] = ...)",
                        ],
                    )
                )

        if case.raises is not None:
            continue
        compare = case.compare or default_compare
        try:
            result = compare(case.expected, got)
        except Exception as exc:
            raise ExerciseError(
                _failure(
                    exercise,
                    index,
                    total,
                    case,
                    call,
                    [
                        f"expected: {describe(case.expected)}",
                        f"got:      {describe(got)}",
                        f"problem:  the result could not be compared ({type(exc).__name__}: {exc})",
                    ],
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
                _failure(
                    exercise,
                    index,
                    total,
                    case,
                    call,
                    [
                        f"expected: {describe(case.expected)}",
                        f"got:      {describe(got)}",
                        f"problem:  {reason or 'the result differs from the expected value'}",
                    ],
                )
            )

    print(f"{exercise}: all {total} case{'s' if total != 1 else ''} passed.")
    return True
