"""Segmentation inputs: the ignore index, class indices, value checks and the one input check of every loss.

Part of :mod:`segbook.conventions` (import the names from there). :func:`check_segmentation_inputs` checks a
loss's ``(logits, target)`` pair once; :func:`values_checked` decides whether checks that read tensor values
run (``validate``); :func:`check_class_indices` and :func:`check_ignore_index` are the one wording of the
class-range and ignore-index errors.
"""

from __future__ import annotations

from typing import Optional, Union

import torch

from segbook.conventions.checks import check_bool, check_int, check_tensor
from segbook.conventions.numerics import propagate_non_finite

__all__ = [
    "IGNORE_INDEX",
    "check_ignore_index",
    "check_class_indices",
    "values_checked",
    "SegmentationInputs",
    "check_segmentation_inputs",
]

IGNORE_INDEX: int = 255
"""Target value of pixels that are not labelled: left out of every loss and metric."""


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
    if ignore_index is not None:  # out of range: is it only the ignore index? (compared in int64: a uint8
        values = target[target.long() != ignore_index]  # target would wrap ignore_index=-1 to 255)
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


def values_checked(validate: object, tensor: torch.Tensor) -> bool:
    """Whether checks that read tensor *values* run: ``validate`` if it is a bool, else (``None``) on the CPU only.

    Reading a value of a GPU tensor (``int(x.max())``) makes the host wait for the device; on the CPU it is
    a plain read. So by default values are checked where that is cheap, and never on other devices
    (``"meta"`` included, where there are no values).
    """
    if validate is None:
        return tensor.device.type == "cpu"
    return check_bool(validate, "validate")


class SegmentationInputs:
    """What :func:`check_segmentation_inputs` hands a loss: checked tensors, ready to compute with.

    ``logits``, ``given_target``, ``num_classes``, ``binary`` and ``ignore_index`` are set when checking.
    The counted-pixel ``mask``, ``valid`` and the ``target`` with 0 at ignored pixels are computed the first
    time a kernel asks for them (one pass each, at most once), so a kernel that does not need them does not
    pay for them: ``F.cross_entropy`` skips the ignored pixels itself, and without an ignore index there
    is no mask at all.
    """

    __slots__ = ("logits", "given_target", "num_classes", "binary", "ignore", "_mask", "_target", "_labels", "_weight")

    def __init__(
        self, logits: torch.Tensor, given_target: torch.Tensor, num_classes: int, binary: bool, ignore: Optional[int]
    ) -> None:
        self.logits = logits
        """``(N, C, H, W)`` multi-class logits, or ``(N, H, W)`` binary ones (the channel dimension dropped)."""
        self.given_target = given_target
        """``(N, H, W)`` int64, the target as given: ``ignore`` at ignored pixels."""
        self.num_classes = num_classes
        """``C``; 2 for binary inputs (background and foreground)."""
        self.binary = binary
        """One logit per pixel (sigmoid) rather than ``C >= 2`` (softmax)."""
        self.ignore = ignore
        """The ignore index, or ``None`` (every pixel counts)."""
        self._mask: Optional[torch.Tensor] = None
        self._target: Optional[torch.Tensor] = None
        self._labels: Optional[torch.Tensor] = None
        self._weight: Optional[torch.Tensor] = None

    @property
    def ignore_index(self) -> int:
        """The ignore index for ``F.cross_entropy(..., ignore_index=...)``: -100 (its default, never a class
        index) when there is none."""
        return -100 if self.ignore is None else self.ignore

    @property
    def mask(self) -> Optional[torch.Tensor]:
        """``(N, H, W)`` bool, the counted pixels; ``None`` when there is no ignore index (all count)."""
        if self.ignore is None:
            return None
        if self._mask is None:
            self._mask = self.given_target != self.ignore
        return self._mask

    @property
    def valid(self) -> torch.Tensor:
        """``(N, H, W)`` bool, the counted pixels (all ``True`` without an ignore index)."""
        mask = self.mask
        return torch.ones_like(self.given_target, dtype=torch.bool) if mask is None else mask

    @property
    def weight(self) -> Optional[torch.Tensor]:
        """``mask`` as 1.0 / 0.0 in the logits' dtype (e.g. ``F.binary_cross_entropy_with_logits``'s ``weight``),
        or ``None`` without an ignore index."""
        mask = self.mask
        if mask is not None and self._weight is None:
            self._weight = mask.view(torch.uint8).to(self.logits.dtype)  # via uint8: ~7x faster than bool
        return None if mask is None else self._weight

    @property
    def labels(self) -> torch.Tensor:
        """``given_target`` in the logits' dtype (the ignore index at ignored pixels: weigh them by ``weight``)."""
        if self._labels is None:
            self._labels = self.given_target.to(self.logits.dtype)
        return self._labels

    @property
    def target(self) -> torch.Tensor:
        """``(N, H, W)`` int64 class indices, 0 at ignored pixels (so it can index and one-hot safely)."""
        if self._target is None:
            mask = self.mask
            self._target = self.given_target if mask is None else torch.where(mask, self.given_target, 0)
        return self._target

    def count(self) -> Union[int, torch.Tensor]:
        """The number of counted pixels, at least 1 (a count of 0 comes with a sum of 0: means are 0 / 1)."""
        mask = self.mask
        if mask is None:
            return max(self.given_target.numel(), 1)
        return torch.count_nonzero(mask).clamp(min=1)


def _refuse_probabilities(logits: torch.Tensor) -> None:
    """Raise if ``logits`` (N, C, H, W) look like softmax outputs: all in [0, 1] and summing to 1 per pixel."""
    x = logits.detach()
    if x.numel() == 0:
        return
    first = x[0, :, 0, 0].tolist()  # one pixel first: raw logits almost never pass, and this costs nothing
    if min(first) < 0 or max(first) > 1 or abs(sum(first) - 1) > 1e-4:
        return
    low, high = (float(v) for v in torch.aminmax(x))
    if low < 0 or high > 1:
        return
    sums = x.sum(1).double()
    if torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
        raise ValueError(
            "logits look like probabilities (every pixel's C values are in [0, 1] and sum to 1): "
            "pass the network's raw outputs, before softmax; the loss applies softmax itself (logits that "
            "really are like this, e.g. exactly one-hot, pass with validate=False, which skips value checks)"
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
    :func:`values_checked` says so (``validate=None``: on the CPU only). Logits that are exactly one-hot
    (or otherwise in [0, 1] summing to 1) are real logits sometimes: pass them with ``validate=False``.

    **Non-finite logits.** The returned ``logits`` are :func:`~segbook.conventions.propagate_non_finite` of
    the given ones: a NaN or ±inf anywhere (a counted or an ignored pixel) makes every loss NaN.

    Args:
        logits, target: the loss's inputs.
        ignore_index: target value of pixels left out (not a class index), or ``None``.
        binary: ``None`` (by shape), ``True`` (binary loss) or ``False`` (multi-class loss).
        validate: ``None``, ``True`` or ``False``, see above.
        name: the loss's name, for messages.

    Returns:
        A :class:`SegmentationInputs`: ``logits``, ``num_classes``, ``binary``, the ``given_target`` and
        ``ignore_index``; ``mask`` / ``valid`` and ``target`` (0 at ignored pixels) are computed when first
        used (a value check uses them, so on the CPU they are ready).

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
    inputs = SegmentationInputs(propagate_non_finite(logits), target.long(), c, False, ignore)
    if values_checked(validate, target):  # on the target with 0 at ignored pixels (mask, where): no boolean index
        check_class_indices(inputs.target, "target", c, ignore, counted_by=f"logits have {c} channels")
        _refuse_probabilities(logits)
    return inputs


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
    z = logits.squeeze(1) if logits.ndim == 4 else logits  # (N, H, W); squeeze: its backward is a view
    t = target.squeeze(1) if target.ndim == 4 and target.shape[1] == 1 else target
    if t.shape != z.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and target {tuple(target.shape)} do not match: "
            f"expected target of shape {tuple(z.shape)} (N, H, W)"
        )
    ignore = check_ignore_index(ignore_index, 2)
    inputs = SegmentationInputs(propagate_non_finite(z), t.long(), 2, True, ignore)
    if values_checked(validate, t) and t.numel():  # on the labels (the BCE's target) times the mask: 0/1
        weight = inputs.weight
        low, high = (int(v) for v in torch.aminmax(inputs.labels if weight is None else inputs.labels * weight))
        if low < 0 or high > 1:
            extra = f" (nor the ignore index {ignore})" if ignore is not None else ""
            raise ValueError(
                f"a binary target must hold 0 (background) or 1 (foreground){extra}, got the value "
                f"{low if low < 0 else high}; for several classes use the multi-class version with (N, C, H, W) logits"
            )
    return inputs
