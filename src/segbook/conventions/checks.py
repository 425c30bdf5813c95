"""Generic argument checks: tensors (dimensions, dtype), ints, floats, flags, choices, pairs.

Part of :mod:`segbook.conventions` (import them from there). Every module validates its arguments through
these helpers, so the messages read the same everywhere. None of them reads a tensor's values.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence, Tuple, Union

import torch

__all__ = [
    "check_tensor",
    "check_int",
    "check_bool",
    "check_positive_int",
    "check_float",
    "check_probability",
    "check_choice",
    "check_same_shape",
    "check_pair",
]

_FLOAT_KINDS = {"float", "floating"}
_INT_KINDS = {"int", "integer"}


def _kind_ok(x: torch.Tensor, kind: Union[str, torch.dtype, Sequence[torch.dtype]]) -> bool:
    if isinstance(kind, torch.dtype):
        return x.dtype == kind
    if isinstance(kind, str):
        if kind in _FLOAT_KINDS:
            return x.dtype.is_floating_point
        if kind in _INT_KINDS:
            return not x.dtype.is_floating_point and not x.dtype.is_complex and x.dtype != torch.bool
        if kind == "bool":
            return x.dtype == torch.bool
        raise ValueError(f"unknown dtype kind {kind!r}")  # programming error inside segbook
    return x.dtype in tuple(kind)


def _kind_name(kind: Union[str, torch.dtype, Sequence[torch.dtype]]) -> str:
    if isinstance(kind, torch.dtype):
        return str(kind)
    if isinstance(kind, str):
        return {
            "float": "floating-point",
            "floating": "floating-point",
            "int": "integer",
            "integer": "integer",
            "bool": "boolean",
        }[kind]
    return " or ".join(str(k) for k in kind)


def check_tensor(
    x: object,
    name: str,
    *,
    ndim: Union[int, Iterable[int], None] = None,
    dtype: Union[str, torch.dtype, Sequence[torch.dtype], None] = None,
    shape_hint: str = "",
) -> torch.Tensor:
    """Check that ``x`` is a tensor with an allowed number of dimensions and dtype.

    Args:
        x: the value to check.
        name: the argument's name, used in the message.
        ndim: an allowed number of dimensions, or several.
        dtype: ``"float"``, ``"int"``, ``"bool"``, a ``torch.dtype`` or a sequence of dtypes.
        shape_hint: the expected layout in words, e.g. ``"(N, C, H, W)"``, added to messages.

    Returns:
        ``x`` unchanged, so the call can be used inline.

    Raises:
        TypeError: ``x`` is not a tensor, or has the wrong dtype.
        ValueError: ``x`` has the wrong number of dimensions.
    """
    hint = f" {shape_hint}" if shape_hint else ""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor{hint}, got {type(x).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}{hint}, got shape {tuple(x.shape)}")
    if dtype is not None and not _kind_ok(x, dtype):
        kind = _kind_name(dtype)
        article = "an" if kind[0] in "aeiou" else "a"
        raise TypeError(f"{name} must be {article} {kind} tensor{hint}, got {x.dtype}")
    return x


def check_int(value: object, name: str, *, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """Check that ``value`` is a Python ``int`` (not a bool) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        # numpy / torch integer scalars are accepted when they hold an integer
        if hasattr(value, "__index__") and not isinstance(value, bool):
            value = int(value.__index__())
        else:
            raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_bool(value: object, name: str) -> bool:
    """Check that ``value`` is ``True`` or ``False`` (not 0/1, not a string such as ``"yes"``)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_positive_int(value: object, name: str) -> int:
    """Check that ``value`` is an ``int`` >= 1."""
    return check_int(value, name, minimum=1)


def check_float(
    value: object,
    name: str,
    *,
    minimum: Optional[float] = None,
    maximum: Optional[float] = None,
    strict_minimum: bool = False,
    allow_inf: bool = False,
) -> float:
    """Check that ``value`` is a real number within the given bounds and return it as ``float``.

    NaN is always refused, and so are ±inf unless ``allow_inf=True``, for a parameter whose docstring says
    what an infinite value means (``"pos_weight must be a finite number, got inf"``).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, torch.Tensor) and value.numel() == 1 and value.dtype.is_floating_point:
            value = float(value)
        elif hasattr(value, "__float__") and not isinstance(value, (str, bytes)):
            value = float(value)  # numpy scalars
        else:
            raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if value != value:
        raise ValueError(f"{name} must be a number, got nan")
    if not allow_inf and value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise ValueError(f"{name} must be > {minimum}, got {value}")
        if not strict_minimum and value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_probability(value: object, name: str) -> float:
    """Check that ``value`` is a number in ``[0, 1]``."""
    return check_float(value, name, minimum=0.0, maximum=1.0)


def check_choice(value: object, name: str, choices: Sequence[object]) -> object:
    """Check that ``value`` is one of ``choices``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def check_same_shape(a: torch.Tensor, a_name: str, b: torch.Tensor, b_name: str) -> None:
    """Check that two tensors have the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"{a_name} and {b_name} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def check_pair(value: object, name: str, *, minimum: int = 0) -> Tuple[int, int]:
    """An int or a pair of ints (height, width), as ``torch.nn.Conv2d`` takes its sizes, as a tuple.

    >>> check_pair(3, "kernel_size")
    (3, 3)
    >>> check_pair((2, 4), "stride", minimum=1)
    (2, 4)
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints (height, width), got {value!r}")
        first, second = value
        return (check_int(first, f"{name}[0]", minimum=minimum), check_int(second, f"{name}[1]", minimum=minimum))
    number = check_int(value, name, minimum=minimum)
    return (number, number)
