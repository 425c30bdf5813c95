"""Describing and comparing values, for the exercise checks: what a failed case prints.

:func:`describe` says what a value is in one line (a tensor's shape, dtype and first values);
:func:`default_compare` and :func:`allclose` compare a student's result with the expected one and say, in a
sentence, how they differ (type, shape, dtype, the first differing element). :func:`exact_int` is the compare
function for sizes and counts, which must be Python ints, and :func:`exact` checks the types an exercise's statement
names (an int, a tuple, a list, a set) all the way down. :mod:`segbook.exercises._core` runs the cases.
"""

from __future__ import annotations

import math
import reprlib
from typing import Callable

import numpy as np
import torch

from segbook.conventions import check_float

__all__ = [
    "Compare",
    "DEFAULT_RTOL",
    "DEFAULT_ATOL",
    "shorten",
    "describe",
    "type_name",
    "compare_values",
    "default_compare",
    "allclose",
    "exact_int",
    "exact",
]

Compare = Callable[[object, object], "tuple[bool, str]"]

DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-6
_PREVIEW_ELEMENTS = 8  # tensors/arrays longer than this are shown as their first few values
_PREVIEW_CHARS = 120


def shorten(text: str, limit: int = _PREVIEW_CHARS) -> str:
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
        return shorten(_fmt(values))
    head = ", ".join(_fmt(v) for v in values[:_PREVIEW_ELEMENTS])
    return shorten(f"[{head}, ...] (first {_PREVIEW_ELEMENTS} of {total} values, flattened)")


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
    return shorten(text)


def type_name(value: object) -> str:
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
        return False, f"expected a torch.Tensor, got {type_name(got)}{extra}"
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
        return False, f"expected a numpy.ndarray, got {type_name(got)}{extra}"
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


def compare_values(expected: object, got: object, rtol: float, atol: float) -> "tuple[bool, str]":
    if isinstance(expected, torch.Tensor):
        return _compare_tensors(expected, got, rtol, atol)
    if isinstance(expected, np.ndarray):
        return _compare_ndarrays(expected, got, rtol, atol)
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return False, f"expected the bool {bool(expected)}, got {type_name(got)} {describe(got)}"
        return (True, "") if bool(got) == bool(expected) else (False, f"expected {bool(expected)}, got {bool(got)}")
    if _is_real_number(expected):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            return False, (
                f"expected a Python number, got a one-element tensor {describe(got)}; "
                f"use .item() to turn it into a number"
            )
        if not _is_real_number(got):
            return False, f"expected a number, got {type_name(got)} {describe(got)}"
        e, g = float(expected), float(got)  # type: ignore[arg-type]  # both checked to be real numbers
        if (math.isnan(e) and math.isnan(g)) or math.isclose(g, e, rel_tol=rtol, abs_tol=atol):
            return True, ""
        return False, f"expected {expected!r}, got {got!r} (difference {abs(g - e):.3g})"
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return False, f"expected a {type(expected).__name__} of {len(expected)} items, got {type_name(got)}"
        if len(got) != len(expected):
            return False, f"expected {len(expected)} items, got {len(got)}"
        for i, (e_item, g_item) in enumerate(zip(expected, got)):
            ok, reason = compare_values(e_item, g_item, rtol, atol)
            if not ok:
                return False, _at(f"[{i}]", reason)
        return True, ""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return False, f"expected a dict, got {type_name(got)}"
        missing = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        if missing or extra:
            parts = ([f"missing keys {missing}"] if missing else []) + ([f"unexpected keys {extra}"] if extra else [])
            return False, "; ".join(parts)
        for key in expected:
            ok, reason = compare_values(expected[key], got[key], rtol, atol)
            if not ok:
                return False, _at(f"[{key!r}]", reason)
        return True, ""
    if isinstance(got, (torch.Tensor, np.ndarray)):
        return False, f"expected {type_name(expected)} {describe(expected)}, got {type_name(got)}"
    try:
        same = bool(expected == got)
    except Exception as exc:  # e.g. an object whose == returns something without a truth value
        return False, f"could not compare {describe(expected)} with {describe(got)}: {exc}"
    if same:
        return True, ""
    if type(expected) is not type(got):
        return False, f"expected {describe(expected)} ({type_name(expected)}), got {describe(got)} ({type_name(got)})"
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
    return compare_values(expected, got, DEFAULT_RTOL, DEFAULT_ATOL)


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
        return compare_values(expected, got, rtol, atol)

    compare.__name__ = f"allclose(rtol={rtol:g}, atol={atol:g})"
    return compare


def exact_int(expected: object, got: object) -> "tuple[bool, str]":
    """Compare function for a size or a count: ``got`` must be a Python ``int`` equal to ``expected``.

    Not a float that happens to be whole (sizes index tensors), not a tensor, not a bool.

    Example:
        >>> exact_int(4, 4.0)[1][:45]
        'expected an int, got the float 4.0: one float'
        >>> exact_int(4, 4)
        (True, '')
    """
    if isinstance(got, torch.Tensor):
        return False, f"expected a Python int, got a tensor {describe(got)}; use int(...) or .item()"
    if isinstance(got, float):
        return False, (
            f"expected an int, got the float {got!r}: one float in the arithmetic (a true division /, a constant "
            "such as 2.0, math.pow) makes the result a float; keep every step in integers"
        )
    if type(got) is not int:  # exactly int: a bool or a numpy integer is not a size
        return False, f"expected an int, got {type(got).__name__} {describe(got)}"
    return default_compare(expected, got)


def exact_float(expected: object, got: object) -> "tuple[bool, str]":
    """Compare function for a value the statement asks as a Python ``float``: not an int, a bool or a tensor.

    Example:
        >>> exact_float(1.0, 1)[1][:39]
        'expected a Python float, got an int 1: '
        >>> exact_float(0.5, 0.5)
        (True, '')
    """
    if isinstance(got, bool) or not isinstance(got, float):
        return False, f"expected a Python float, got {type_name(got)} {describe(got)}: the statement asks for a float"
    return default_compare(expected, got)


_CONTAINERS = {tuple: "tuple", list: "list", set: "set", frozenset: "set"}


def exact(expected: object, got: object) -> "tuple[bool, str]":
    """Compare function for results whose type the exercise's statement names, checked all the way down.

    A Python ``int`` must come back as an ``int`` (:func:`exact_int`), a ``tuple`` as a tuple, a ``list`` as a
    list, a ``set`` as a set (or frozenset), ``None`` as ``None``, each item again exactly; anything else (tensors,
    floats) is compared by :func:`default_compare`. This is the one rule of every chapter's checks: what the
    statement says is what is checked.

    Example:
        >>> exact((2, 3), (2.0, 3))[1][:42]
        'at [0]: expected an int, got the float 2.0'
        >>> exact([(0, 1)], [(0, 1)])
        (True, '')
        >>> exact({(0, 1)}, [(0, 1)])
        (False, 'expected a set, got a list [(0, 1)]: the statement asks for a set')
    """
    if type(expected) is int:
        return exact_int(expected, got)
    if expected is None:
        return (True, "") if got is None else (False, f"expected None, got {type_name(got)} {describe(got)}")
    kind = _CONTAINERS.get(type(expected))  # type: ignore[call-overload]  # any type may be looked up
    if kind is None:
        return default_compare(expected, got)
    if _CONTAINERS.get(type(got)) != kind:  # type: ignore[call-overload]
        return False, f"expected a {kind}, got {type_name(got)} {describe(got)}: the statement asks for a {kind}"
    if kind == "set":
        return _exact_sets(expected, got)  # type: ignore[arg-type]  # both are sets (or frozensets) here
    if len(got) != len(expected):  # type: ignore[arg-type]  # got is a tuple or list, like expected
        return False, f"expected {len(expected)} items, got {len(got)}"  # type: ignore[arg-type]
    for i, (e_item, g_item) in enumerate(zip(expected, got)):  # type: ignore[call-overload]
        ok, reason = exact(e_item, g_item)
        if not ok:
            return False, _at(f"[{i}]", reason)
    return True, ""


def _exact_sets(expected: "set | frozenset", got: "set | frozenset") -> "tuple[bool, str]":
    missing = [e for e in expected if e not in got]
    extra = [g for g in got if g not in expected]
    if missing or extra:
        parts = ([f"missing {sorted(missing, key=repr)}"] if missing else []) + (
            [f"not expected {sorted(extra, key=repr)}"] if extra else []
        )
        return False, "; ".join(parts)
    by_value = {g: g for g in got}  # equal values hash alike: find the student's own item for each expected one
    for item in sorted(expected, key=repr):
        ok, reason = exact(item, by_value[item])
        if not ok:
            return False, f"in the item {by_value[item]!r}: {reason}"
    return True, ""
