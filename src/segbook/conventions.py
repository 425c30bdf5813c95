"""The conventions every layer of segbook shares: one home for them.

**The ignore index.** :data:`IGNORE_INDEX` (255) marks pixels a target does not label (object borders
in PASCAL VOC, padding after a crop). Losses leave them out of the average, metrics out of the counts.

**Shape letters**, used in every docstring:

====  ==========================================================
N     batch size (images in a batch)
C     channels; for logits and probabilities, one per class
K     number of classes when it differs from the channel count
H, W  height and width in pixels
====  ==========================================================

So logits are ``(N, C, H, W)`` floats, a target is ``(N, H, W)`` int64 class indices (or
:data:`IGNORE_INDEX`), a binary target is ``(N, 1, H, W)`` or ``(N, H, W)`` with values 0/1.

**Argument checks.** Bad input fails early, at the public boundary, with a message a student can act on
(``"target must be an int64 tensor of class indices, got torch.float32"``) instead of a shape error from
deep inside torch. Every module validates through these helpers so the messages read the same
everywhere. Shape and dtype checks read only metadata and are free; checks that read *values* (class
ranges, probabilities passed as logits) need the data on the host, which on a GPU means a device->host
synchronisation, so the functions that do them say so.

**Ratios.** :func:`safe_divide` is the one division by a count that may be zero: it says what an empty
denominator means (an undefined metric is NaN, an empty class in a loss scores 1) instead of hiding it.

**Evaluation mode.** :func:`evaluating` switches a model to ``eval()`` for a block and restores its mode.
"""

from __future__ import annotations

import contextlib
from typing import Iterable, Iterator, Optional, Sequence, Tuple, Union

import torch
from torch import nn

__all__ = [
    "IGNORE_INDEX",
    "safe_divide",
    "evaluating",
    "check_pair",
    "check_bool",
    "check_tensor",
    "check_int",
    "check_positive_int",
    "check_float",
    "check_probability",
    "check_choice",
    "check_same_shape",
    "check_class_indices",
]

IGNORE_INDEX: int = 255
"""Target value of pixels that are not labelled: left out of every loss and metric."""

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
            value = int(value.__index__())  # type: ignore[union-attr]
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
) -> float:
    """Check that ``value`` is a real number within the given bounds and return it as ``float``."""
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


def check_class_indices(target: torch.Tensor, name: str, num_classes: int, ignore_index: Optional[int] = None) -> None:
    """Check that every value of an integer class map lies in ``[0, num_classes)`` or is ``ignore_index``."""
    values = target
    if ignore_index is not None:
        values = target[target != ignore_index]
    if values.numel() == 0:
        return
    low, high = int(values.min()), int(values.max())
    if low < 0:
        raise ValueError(
            f"{name} has class {low}, but class indices must be >= 0"
            + (f" (or the ignore index {ignore_index})" if ignore_index is not None else "")
        )
    if high >= num_classes:
        extra = f" and is not the ignore index {ignore_index}" if ignore_index is not None else ""
        raise ValueError(
            f"{name} has class {high}{extra}, but there are only {num_classes} classes "
            f"(C={num_classes}, valid indices 0..{num_classes - 1})"
        )


def safe_divide(num: torch.Tensor, den: torch.Tensor, *, empty: float = float("nan")) -> torch.Tensor:
    """``num / den`` elementwise, and ``empty`` where ``den == 0``.

    The one place segbook divides by a count that can be zero. A metric of a class that never occurs
    is undefined (``empty=nan``, the default: never a fake 0 or 1); a loss term with nothing to find and
    nothing predicted is perfect (``empty=1.0``). A NaN denominator stays NaN (it is not "empty"), so
    a NaN in the input is never hidden. The denominator is clamped away from 0 before dividing, so the
    gradient of the unused branch is finite too.

        >>> safe_divide(torch.tensor([1.0, 0.0]), torch.tensor([2.0, 0.0]))
        tensor([0.5000,    nan])
        >>> safe_divide(torch.tensor([0.0]), torch.tensor([0.0]), empty=1.0)
        tensor([1.])
    """
    tiny = torch.finfo(num.dtype).tiny if num.dtype.is_floating_point else 1
    ratio = num / den.clamp_min(tiny)
    filled = torch.full_like(ratio, empty)
    return torch.where(den == 0, filled, ratio)


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in evaluation mode for a ``with`` block, then restore the mode it had.

    Batch normalisation uses its running statistics and dropout is off inside the block; a model
    that was training goes on training afterwards, also when the block raises. Gradients are not
    switched off: combine with ``torch.no_grad()`` where none are needed.

        >>> model = nn.Dropout()
        >>> with evaluating(model):
        ...     model.training
        False
        >>> model.training
        True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


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
