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
everywhere. Numbers are finite unless a parameter documents ±inf (``check_float(..., allow_inf=True)``).
Shape and dtype checks read only metadata and are free; checks that read *values* (class
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

**Non-finite inputs (the NaN rule).** A NaN or ±inf input is never hidden, and never turned into a finite
number with a NaN gradient. Where a result can carry it, it *propagates visibly*: every loss computes on
:func:`propagate_non_finite` of its logits, so one non-finite logit anywhere in the batch, at a counted
pixel or an ignored one, makes the loss NaN (every counted entry of ``reduction="none"`` too) and the training loop
stops on it; this costs no device->host wait. Where a result cannot carry a NaN (a confusion matrix counts
pixels in integers; an argmax of NaN logits would call them class 0; ``nanmean`` would drop a NaN score),
the input is *refused* with a ``ValueError`` (:func:`check_finite`): ``confusion_matrix`` refuses
non-finite logits when values are checked (``validate``), the scores refuse a confusion matrix that is not
finite, ``soft_counts`` non-finite probabilities. Unchecked (``validate=False``, or a GPU tensor with the
default ``None``), a metric counts what ``argmax`` returns.

**Precision.** Sums over pixels are accumulated in float32 for float16/bfloat16 inputs
(:func:`accumulation_dtype`): a float16 sum overflows at 65504.

**Logits that look like probabilities.** A multi-class loss refuses logits whose every pixel lies in [0, 1]
and sums to 1 (softmax outputs passed by mistake). Logits that really are like that, e.g. exactly one-hot
``[[1., 0.], [0., 1.]]`` in a test, are passed with ``validate=False`` (no value check at all).

**Evaluation mode.** :func:`evaluating` switches a model to ``eval()`` for a block and restores its mode.

The package's modules: :mod:`~segbook.conventions.checks` (generic argument checks),
:mod:`~segbook.conventions.segmentation` (ignore index, class indices, ``validate``, the loss input check),
:mod:`~segbook.conventions.numerics` (:func:`safe_divide`, the NaN rule, precision),
:mod:`~segbook.conventions.multilabel` (one sigmoid channel per class, :func:`check_multilabel_inputs`),
:mod:`~segbook.conventions.modules` (:func:`evaluating`). Import every name from ``segbook.conventions``.
"""

from __future__ import annotations

from segbook.conventions.checks import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_pair,
    check_positive_int,
    check_probability,
    check_same_shape,
    check_tensor,
)
from segbook.conventions.modules import evaluating
from segbook.conventions.multilabel import MultilabelInputs, check_multilabel_inputs
from segbook.conventions.numerics import (
    accumulation_dtype,
    check_finite,
    check_unit_interval,
    propagate_non_finite,
    safe_divide,
)
from segbook.conventions.segmentation import (
    IGNORE_INDEX,
    SegmentationInputs,
    check_class_indices,
    check_ignore_index,
    check_segmentation_inputs,
    values_checked,
)

__all__ = [
    "IGNORE_INDEX",
    "safe_divide",
    "accumulation_dtype",
    "propagate_non_finite",
    "check_finite",
    "check_unit_interval",
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
    "MultilabelInputs",
    "check_multilabel_inputs",
]
