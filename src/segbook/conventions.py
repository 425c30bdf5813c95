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

**Logits and targets.** :func:`check_segmentation_inputs` is the one check every loss runs on its
``(logits, target)`` pair. Its shape and dtype checks are always on; its value checks (class range, a
binary target of 0/1, softmax outputs passed as logits) follow the ``validate`` argument that every
loss takes: ``None`` (the default) checks values of CPU tensors only, so a training step on a GPU never
waits for the host; ``True`` checks them anywhere; ``False`` never (bad values then give torch's own
error or a wrong number).

**Ratios.** :func:`safe_divide` is the one division by a count that may be zero: it says what an empty
denominator means (an undefined metric is NaN, an empty class in a loss scores 1) instead of hiding it.

**Evaluation mode.** :func:`evaluating` switches a model to ``eval()`` for a block and restores its mode.
"""

from __future__ import annotations

import contextlib
from typing import Iterable, Iterator, NamedTuple, Optional, Sequence, Tuple, Union

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
    "check_ignore_index",
    "values_checked",
    "SegmentationInputs",
    "check_segmentation_inputs",
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


def check_ignore_index(ignore_index: object, num_classes: int) -> Optional[int]:
    """Check that ``ignore_index`` is ``None`` or an int that is *not* a class index ``0..C-1``."""
    if ignore_index is None:
        return None
    value = check_int(ignore_index, "ignore_index")
    if 0 <= value < num_classes:
        raise ValueError(
            f"ignore_index={value} is a class index (C={num_classes}, classes "
            f"0..{num_classes - 1}); use a value outside that range such as 255, or None"
        )
    return value


def check_class_indices(
    target: torch.Tensor,
    name: str,
    num_classes: int,
    ignore_index: Optional[int] = None,
    *,
    counted_by: str = "",
) -> None:
    """Check that every value of an integer class map lies in ``[0, num_classes)`` or is ``ignore_index``.

    The one class-range check of segbook, so the message reads the same everywhere:
    ``"target has class 7 and is not the ignore index 255, but there are only 5 classes (C=5, ...)"``.
    ``counted_by`` replaces "there are only 5 classes" when the classes come from somewhere the
    reader knows, e.g. ``"logits have 5 channels"``. Reads values: one pass (``aminmax``) and one
    device->host synchronisation when every value is in range, a second pass otherwise.
    """
    if target.numel() == 0:
        return
    low, high = (int(v) for v in torch.aminmax(target))
    if low >= 0 and high < num_classes:
        return
    if ignore_index is not None:  # out of range: is it only the ignore index?
        values = target[target != ignore_index]
        if values.numel() == 0:
            return
        low, high = (int(v) for v in torch.aminmax(values))
    if low < 0:
        raise ValueError(
            f"{name} has class {low}, but class indices must be >= 0"
            + (f" (or the ignore index {ignore_index})" if ignore_index is not None else "")
        )
    if high >= num_classes:
        extra = f" and is not the ignore index {ignore_index}" if ignore_index is not None else ""
        counted_by = counted_by or f"there are only {num_classes} classes"
        raise ValueError(
            f"{name} has class {high}{extra}, but {counted_by} (C={num_classes}, valid indices 0..{num_classes - 1})"
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
    empty_den = den == 0
    ratio = num / torch.where(empty_den, torch.ones_like(den), den)  # never 0/0, even in the unused branch
    return torch.where(empty_den, torch.full_like(ratio, empty), ratio)


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


def values_checked(validate: object, tensor: torch.Tensor) -> bool:
    """Whether checks that read tensor *values* run: ``validate`` if it is a bool, else (``None``) on the CPU only.

    Reading a value of a GPU tensor (``int(x.max())``) makes the host wait for the device; on the CPU it is
    a plain read. So by default values are checked where that is cheap, and never on other devices
    (``"meta"`` included, where there are no values).
    """
    if validate is None:
        return tensor.device.type == "cpu"
    return check_bool(validate, "validate")


class SegmentationInputs(NamedTuple):
    """What :func:`check_segmentation_inputs` hands a loss: checked tensors, ready to compute with."""

    logits: torch.Tensor
    """``(N, C, H, W)`` multi-class logits, or ``(N, H, W)`` binary ones (the channel dimension dropped)."""
    target: torch.Tensor
    """``(N, H, W)`` int64 class indices, 0 at ignored pixels (so it can index and one-hot safely)."""
    valid: torch.Tensor
    """``(N, H, W)`` bool, the counted pixels (target not the ignore index)."""
    num_classes: int
    """``C``; 2 for binary inputs (background and foreground)."""
    binary: bool
    """One logit per pixel (sigmoid) rather than ``C >= 2`` (softmax)."""


def _refuse_probabilities(logits: torch.Tensor) -> None:
    """Raise if ``logits`` (N, C, H, W) look like softmax outputs: all in [0, 1] and summing to 1 per pixel."""
    x = logits.detach()
    if x.numel() == 0:
        return
    first = x[0, :, 0, 0].double()  # one pixel first: raw logits almost never pass, and this costs nothing
    if float(first.min()) < 0 or float(first.max()) > 1 or abs(float(first.sum()) - 1) > 1e-4:
        return
    low, high = (float(v) for v in torch.aminmax(x))
    if low < 0 or high > 1:
        return
    sums = x.sum(1).double()
    if torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
        raise ValueError(
            "logits look like probabilities (every pixel's C values are in [0, 1] and sum to 1): "
            "pass the network's raw outputs, before softmax; the loss applies softmax itself"
        )


def check_segmentation_inputs(
    logits: object,
    target: object,
    *,
    ignore_index: object = IGNORE_INDEX,
    binary: Optional[bool] = None,
    validate: Optional[bool] = None,
    name: str = "the loss",
) -> SegmentationInputs:
    """Check a loss's ``(logits, target)`` pair once and return what the loss computes with.

    Multi-class: logits ``(N, C, H, W)`` float with ``C >= 2``, target ``(N, H, W)`` integer class indices
    in ``[0, C)`` or ``ignore_index``. Binary: logits ``(N, 1, H, W)`` or ``(N, H, W)``, target of the same
    spatial shape (``(N, 1, H, W)`` or ``(N, H, W)``), integer or bool, 0 / 1 / ``ignore_index``.
    ``binary=None`` picks by the logits' shape (one channel or none: binary), ``True``/``False`` insist.

    **Which checks read values.** Types, shapes, devices and the ignore index are metadata: always checked,
    free. The class range (one ``aminmax`` of the target) and "these logits look like softmax outputs"
    (one pixel, then the whole tensor only if that pixel sums to 1) read values; they run when
    :func:`values_checked` says so (``validate=None``: on the CPU only).

    Args:
        logits, target: the loss's inputs.
        ignore_index: target value of pixels left out (not a class index), or ``None``.
        binary: ``None`` (by shape), ``True`` (binary loss) or ``False`` (multi-class loss).
        validate: ``None``, ``True`` or ``False``, see above.
        name: the loss's name, for messages.

    Returns:
        A :class:`SegmentationInputs` ``(logits, target, valid, num_classes, binary)``.

    Example:
        >>> inputs = check_segmentation_inputs(torch.zeros(1, 3, 1, 2), torch.tensor([[[2, 255]]]))
        >>> inputs.target, inputs.valid, inputs.num_classes, inputs.binary
        (tensor([[[2, 0]]]), tensor([[[ True, False]]]), 3, False)
    """
    x = check_tensor(logits, "logits", ndim=(3, 4), dtype="float", shape_hint="(N, C, H, W), (N, 1, H, W) or (N, H, W)")
    t = check_tensor(target, "target", ndim=(3, 4), shape_hint="(N, H, W) of int64 class indices")
    if binary is None:
        binary = x.ndim == 3 or x.shape[1] == 1
    if x.device != t.device:
        raise ValueError(f"logits and target must be on the same device, got {x.device} and {t.device}")
    if binary:
        return _binary_inputs(x, t, ignore_index, validate, name)
    return _multiclass_inputs(x, t, ignore_index, validate, name)


def _multiclass_inputs(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: object, validate: Optional[bool], name: str
) -> SegmentationInputs:
    check_tensor(logits, "logits", ndim=4, shape_hint="(N, C, H, W)")
    check_tensor(target, "target", ndim=3, dtype="int", shape_hint="(N, H, W) of int64 class indices")
    n, c, h, w = logits.shape
    if c < 2:
        raise ValueError(
            f"{name} needs logits with C >= 2 channels, got shape {tuple(logits.shape)}; "
            f"for one foreground channel use the binary version"
        )
    if target.shape != (n, h, w):
        raise ValueError(
            f"logits {tuple(logits.shape)} and target {tuple(target.shape)} do not match: "
            f"expected target of shape {(n, h, w)} (N, H, W)"
        )
    ignore = check_ignore_index(ignore_index, c)
    if values_checked(validate, target):
        check_class_indices(target, "target", c, ignore, counted_by=f"logits have {c} channels")
        _refuse_probabilities(logits)
    return _with_mask(logits, target.long(), ignore, c, False)


def _binary_inputs(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: object, validate: Optional[bool], name: str
) -> SegmentationInputs:
    if logits.ndim == 4 and logits.shape[1] != 1:
        raise ValueError(
            f"{name} takes one logit per pixel, (N, 1, H, W) or (N, H, W), got shape "
            f"{tuple(logits.shape)}; for C={logits.shape[1]} classes use the multi-class version"
        )
    if target.dtype.is_floating_point or target.dtype.is_complex:
        raise TypeError(
            f"target must be an integer (or bool) tensor of 0/1 labels, got {target.dtype}; "
            "soft (floating-point) targets are not supported: use .long() on a 0/1 mask"
        )
    z = logits[:, 0] if logits.ndim == 4 else logits  # (N, H, W)
    t = target[:, 0] if target.ndim == 4 and target.shape[1] == 1 else target
    if t.shape != z.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and target {tuple(target.shape)} do not match: "
            f"expected target of shape {tuple(z.shape)} (N, H, W)"
        )
    ignore = check_ignore_index(ignore_index, 2)
    t = t.long()
    if values_checked(validate, t) and t.numel():
        low, high = (int(v) for v in torch.aminmax(t))
        if low < 0 or high > 1:
            counted = t[t != ignore] if ignore is not None else t
            if counted.numel() and (int(counted.min()) < 0 or int(counted.max()) > 1):
                bad = int(counted.min()) if int(counted.min()) < 0 else int(counted.max())
                extra = f" (nor the ignore index {ignore})" if ignore is not None else ""
                raise ValueError(
                    f"a binary target must hold 0 (background) or 1 (foreground){extra}, got the value {bad}; "
                    f"for several classes use the multi-class version with (N, C, H, W) logits"
                )
    return _with_mask(z, t, ignore, 2, True)


def _with_mask(
    logits: torch.Tensor, target: torch.Tensor, ignore: Optional[int], num_classes: int, binary: bool
) -> SegmentationInputs:
    """The counted-pixel mask, and the target with 0 at ignored pixels (one pass each, no value read)."""
    if ignore is None:
        return SegmentationInputs(logits, target, torch.ones_like(target, dtype=torch.bool), num_classes, binary)
    valid = target != ignore
    return SegmentationInputs(logits, torch.where(valid, target, 0), valid, num_classes, binary)
