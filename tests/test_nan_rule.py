"""The NaN rule of segbook.conventions, for every loss and metric, and the small input fixes of issue 15."""

from __future__ import annotations

import pytest
import torch

import segbook.losses as L
from segbook.conventions import accumulation_dtype, check_finite, check_unit_interval, propagate_non_finite
from segbook.metrics import SegmentationMetrics, confusion_matrix, iou_per_class, mean_iou

MULTICLASS = {
    "cross_entropy": L.cross_entropy,
    "weighted_cross_entropy": lambda z, t: L.cross_entropy(z, t, weight=[1.0, 2.0, 0.5]),
    "focal_loss": L.focal_loss,
    "soft_dice_loss": L.soft_dice_loss,
    "tversky_loss": L.tversky_loss,
    "dice_ce_loss": L.dice_ce_loss,
    "dice_focal_loss": L.dice_focal_loss,
    "boundary_loss": L.boundary_loss,
    "dice_boundary_loss": lambda z, t: L.dice_boundary_loss(z, t, region_weight=0.5),
    "CrossEntropyLoss": L.CrossEntropyLoss(),
    "FocalLoss": L.FocalLoss(),
    "SoftDiceLoss": L.SoftDiceLoss(),
    "TverskyLoss": L.TverskyLoss(),
    "DiceCELoss": L.DiceCELoss(),
    "DiceFocalLoss": L.DiceFocalLoss(),
    "BoundaryLoss": L.BoundaryLoss(),
    "DiceBoundaryLoss": L.DiceBoundaryLoss(),
    "weighted_pixel_cross_entropy": lambda z, t: L.weighted_pixel_cross_entropy(z, t, torch.ones(t.shape)),
}
BINARY = {
    "binary_cross_entropy": L.binary_cross_entropy,
    "weighted_binary_cross_entropy": lambda z, t: L.binary_cross_entropy(z, t, pos_weight=3.0),
    "binary_focal_loss": L.binary_focal_loss,
    "soft_dice_loss_binary": L.soft_dice_loss,
    "tversky_loss_binary": L.tversky_loss,
    "dice_ce_loss_binary": L.dice_ce_loss,
    "BinaryCrossEntropyLoss": L.BinaryCrossEntropyLoss(),
    "BinaryFocalLoss": L.BinaryFocalLoss(),
}


def _batch(channels: int, bad: float, where: str):
    logits = torch.randn(2, channels, 4, 4, generator=torch.Generator().manual_seed(0))
    classes = max(channels, 2)
    target = torch.randint(0, classes, (2, 4, 4), generator=torch.Generator().manual_seed(1))
    target[0, 0, 0] = 255  # an ignored pixel
    pixel = (0, 0, 0) if where == "ignored" else (1, 2, 2)
    logits[pixel[0], 0, pixel[1], pixel[2]] = bad
    return logits.requires_grad_(), target


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("where", ["counted", "ignored"])
@pytest.mark.parametrize("name", [*MULTICLASS, *BINARY])
def test_a_non_finite_logit_makes_every_loss_nan(name, where, bad):
    fn = MULTICLASS.get(name) or BINARY[name]
    logits, target = _batch(3 if name in MULTICLASS else 1, bad, where)
    loss = fn(logits, target)
    assert torch.isnan(loss).all(), f"{name}: a {bad} logit at a {where} pixel gave {loss}"


@pytest.mark.parametrize("name", ["cross_entropy", "soft_dice_loss", "binary_cross_entropy", "focal_loss"])
def test_reduction_none_is_nan_everywhere(name):
    fn = getattr(L, name)
    logits, target = _batch(1 if name.startswith("binary") else 3, float("nan"), "ignored")
    out = fn(logits, target, reduction="none")  # (N, H, W), or (N, K) for the Dice loss
    counted = target != 255 if out.shape == target.shape else torch.ones_like(out, dtype=torch.bool)
    assert torch.isnan(out[counted]).all()


def test_finite_logits_are_unchanged_with_their_gradient():
    x = torch.randn(3, 4, requires_grad=True)
    y = propagate_non_finite(x)
    assert torch.equal(y, x)
    (y * torch.arange(4.0)).sum().backward()
    assert torch.equal(x.grad, torch.arange(4.0).expand(3, 4))
    assert propagate_non_finite(torch.zeros(0, 2)).shape == (0, 2)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_confusion_matrix_refuses_non_finite_logits(bad):
    logits = torch.full((1, 3, 2, 2), bad)
    target = torch.zeros(1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match=r"pred \(logits\) holds .* argmax would count a NaN pixel as class 0"):
        confusion_matrix(logits, target, 3)
    with pytest.raises(ValueError, match="expected finite numbers"):
        SegmentationMetrics(3).update(logits, target)
    # validate=False: the user opted out of value checks; the counts are argmax's (documented)
    assert int(confusion_matrix(logits, target, 3, validate=False).sum()) == 4


@pytest.mark.parametrize("score", [iou_per_class, mean_iou])
def test_scores_refuse_a_non_finite_confusion_matrix(score):
    cm = torch.tensor([[3.0, 1.0], [float("nan"), 2.0]])
    with pytest.raises(ValueError, match="confusion matrix holds 1 NaN"):
        score(cm)


def test_check_finite_and_unit_interval_messages():
    with pytest.raises(ValueError, match="x holds 1 NaN and 2 infinite values"):
        check_finite(torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0]), "x")
    check_finite(torch.tensor([1, 2]), "ints")  # integers are always finite
    with pytest.raises(ValueError, match=r"p must hold probabilities in \[0, 1\], got values in \[-0.5, 1\]"):
        check_unit_interval(torch.tensor([-0.5, 1.0]), "p")


# ----------------------------------------------------------------------------- soft_counts checks its inputs


def test_soft_counts_refuses_bad_values_and_masks():
    p, g = torch.full((1, 2, 2, 2), 0.5), torch.zeros(1, 2, 2, 2)
    with pytest.raises(ValueError, match=r"probs must hold probabilities in \[0, 1\]"):
        L.soft_counts(p * 3, g)
    with pytest.raises(ValueError, match=r"probs holds 1 NaN"):
        L.soft_counts(torch.where(torch.arange(8).reshape(1, 2, 2, 2) == 0, float("nan"), p), g)
    with pytest.raises(ValueError, match="target must be one-hot: every value 0 or 1"):
        L.soft_counts(p, g + 0.5)
    with pytest.raises(TypeError, match="valid must be a boolean tensor"):
        L.soft_counts(p, g, torch.ones(1, 2, 2))
    with pytest.raises(ValueError, match=r"valid must be \(N, H, W\) = \(1, 2, 2\)"):
        L.soft_counts(p, g, torch.ones(1, 3, 2, dtype=torch.bool))
    L.soft_counts(p * 3, g, validate=False)  # value checks off: no error
    tp, fp, fn = L.soft_counts(p, g, torch.tensor([[[True, False], [True, True]]]))
    assert tp.tolist() == [[0.0, 0.0]] and fp.tolist() == [[1.5, 1.5]] and fn.tolist() == [[0.0, 0.0]]


# ----------------------------------------------------------------------------- half precision


def test_half_precision_sums_do_not_overflow():
    assert accumulation_dtype(torch.zeros(1, dtype=torch.float16)) == torch.float32
    assert accumulation_dtype(torch.zeros(1)) is None and accumulation_dtype(torch.zeros(1).double()) is None
    logits = torch.full((1, 1, 300, 300), 3.0)  # 90,000 pixels: their float16 sum of losses ~ 4,400, of p ~ 86,000
    target = torch.zeros(1, 300, 300, dtype=torch.long)
    for fn in (L.binary_cross_entropy, L.binary_focal_loss, L.soft_dice_loss):
        full, half = fn(logits, target), fn(logits.half(), target)
        assert torch.isfinite(half), fn.__name__
        assert abs(float(half) - float(full)) < 1e-2 * float(full) + 1e-3, (fn.__name__, float(half), float(full))
    multi = torch.cat([logits, torch.zeros_like(logits), -logits], 1)
    for fn in (L.cross_entropy, L.focal_loss, L.soft_dice_loss, L.dice_ce_loss):
        full, half = fn(multi, target), fn(multi.half(), target)
        assert abs(float(half) - float(full)) < 1e-2 * float(full) + 1e-3, (fn, float(half), float(full))
    weighted = L.cross_entropy(multi.half(), target, weight=[1.0, 2.0, 3.0])
    assert abs(float(weighted) - float(L.cross_entropy(multi, target, weight=[1.0, 2.0, 3.0]))) < 1e-3
    total = L.binary_cross_entropy(-logits.half(), target, reduction="sum")  # 90,000 x 0.0486: fits float16
    assert total.dtype == torch.float16 and abs(float(total) - 90000 * 0.048587) < 50  # float16 per-pixel rounding
