"""Property-based tests (hypothesis) of every public loss and of the metrics, against plain float64 references."""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import segbook.losses as L
from segbook.metrics import confusion_matrix, scores_per_image

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True)

MULTICLASS = {
    "cross_entropy": L.cross_entropy,
    "focal_loss": lambda z, t: L.focal_loss(z, t, gamma=2.0),
    "focal_loss_small_gamma": lambda z, t: L.focal_loss(z, t, gamma=0.5, alpha=[0.2] * z.shape[1]),
    "soft_dice_loss": L.soft_dice_loss,
    "soft_dice_loss_no_smooth": lambda z, t: L.soft_dice_loss(z, t, smooth=0.0),
    "tversky_loss": lambda z, t: L.tversky_loss(z, t, fp_weight=0.3, fn_weight=0.7),
    "dice_ce_loss": L.dice_ce_loss,
    "dice_focal_loss": L.dice_focal_loss,
    "boundary_loss": L.boundary_loss,
    "dice_boundary_loss": lambda z, t: L.dice_boundary_loss(z, t, region_weight=0.5),
}
BINARY = {
    "binary_cross_entropy": lambda z, t: L.binary_cross_entropy(z, t, pos_weight=2.0),
    "binary_focal_loss": L.binary_focal_loss,
    "soft_dice_loss_binary": L.soft_dice_loss,
}
MULTILABEL = {
    "multilabel_dice_loss": L.multilabel_dice_loss,
    "multilabel_tversky_loss": lambda z, t: L.multilabel_tversky_loss(z, t, fp_weight=0.2, fn_weight=0.8),
    "multilabel_focal_loss": L.multilabel_focal_loss,
}


@st.composite
def batches(draw, kind: str):
    n, h, w = draw(st.integers(0, 2)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    c = 1 if kind == "binary" else draw(st.integers(2, 4))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    scale = draw(st.sampled_from([0.1, 3.0, 30.0, 1e4]))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, c, h, w, generator=g, dtype=torch.float64) * scale).to(dtype)
    high = 2 if kind in ("binary", "multilabel") else c
    shape = (n, c, h, w) if kind == "multilabel" else (n, h, w)
    target = torch.randint(0, high, shape, generator=g)
    ignored = torch.rand(shape, generator=g) < draw(st.sampled_from([0.0, 0.3, 1.0]))
    return logits, torch.where(ignored, 255, target)


def _check_loss(fn, logits, target, signed=False):
    z = logits.clone().requires_grad_()
    loss = fn(z, target)
    assert loss.ndim == 0 and loss.dtype == logits.dtype
    assert torch.isfinite(loss), loss.item()
    assert signed or loss.item() >= -1e-6  # the boundary loss is signed (negative inside the object)
    loss.backward()
    assert torch.isfinite(z.grad).all(), "a finite loss with a non-finite gradient"
    if target.numel() == 0 or bool((target == 255).all()):  # nothing counted: 0, and a zero gradient
        assert loss.item() == 0 and (z.grad == 0).all()


@SETTINGS
@given(batches("multiclass"))
def test_multiclass_losses_finite_with_finite_gradients(batch):
    for name, fn in MULTICLASS.items():
        _check_loss(fn, *batch, signed="boundary" in name)


@SETTINGS
@given(batches("binary"))
def test_binary_losses_finite_with_finite_gradients(batch):
    for fn in BINARY.values():
        _check_loss(fn, *batch)


@SETTINGS
@given(batches("multilabel"))
def test_multilabel_losses_finite_with_finite_gradients(batch):
    for fn in MULTILABEL.values():
        _check_loss(fn, *batch)


def _reference_pixels(logits, target):
    """Plain float64 loops: per counted pixel (n, h, w) the log-softmax and class."""
    z = logits.double()
    out = []
    for n in range(z.shape[0]):
        for i in range(z.shape[2]):
            for j in range(z.shape[3]):
                t = int(target[n, i, j])
                if t != 255:
                    values = [float(v) for v in z[n, :, i, j]]
                    top = max(values)
                    lse = top + math.log(sum(math.exp(v - top) for v in values))
                    out.append((n, [v - lse for v in values], t))
    return out


@SETTINGS
@given(batches("multiclass"))
def test_cross_entropy_focal_and_dice_match_a_float64_reference(batch):
    logits, target = batch
    pixels = _reference_pixels(logits, target)
    tol = 1e-4 if logits.dtype == torch.float32 else 1e-9
    ce = sum(-log_p[t] for _, log_p, t in pixels) / max(len(pixels), 1)
    assert math.isclose(float(L.cross_entropy(logits, target)), ce, rel_tol=tol, abs_tol=tol)
    focal = sum(-((1 - math.exp(log_p[t])) ** 2) * log_p[t] for _, log_p, t in pixels) / max(len(pixels), 1)
    assert math.isclose(float(L.focal_loss(logits, target)), focal, rel_tol=tol * 10, abs_tol=tol)
    n, c = logits.shape[:2]
    dice = []
    for image in range(n):
        for k in range(c):
            p = [math.exp(log_p[k]) for m, log_p, _ in pixels if m == image]
            g = [1.0 if t == k else 0.0 for m, _, t in pixels if m == image]
            inter = sum(a * b for a, b in zip(p, g))
            dice.append(1 - (2 * inter + 1) / (sum(p) + sum(g) + 1))
    expected = sum(dice) / len(dice) if dice else 0.0
    assert math.isclose(float(L.soft_dice_loss(logits, target)), expected, rel_tol=tol, abs_tol=tol)


@SETTINGS
@given(batches("binary"))
def test_binary_cross_entropy_matches_a_float64_reference(batch):
    logits, target = batch
    z, t = logits[:, 0].double().flatten().tolist(), target.flatten().tolist()
    terms = []
    for v, y in zip(z, t):
        if y != 255:  # log sigma(v) = -softplus(-v), stable
            log_p, log_not_p = -math.log1p(math.exp(-abs(v))) + min(v, 0), -math.log1p(math.exp(-abs(v))) + min(-v, 0)
            terms.append(-(2.0 * y * log_p + (1 - y) * log_not_p))
    expected = sum(terms) / max(len(terms), 1)
    tol = 1e-4 if logits.dtype == torch.float32 else 1e-9
    got = float(L.binary_cross_entropy(logits, target, pos_weight=2.0))
    assert math.isclose(got, expected, rel_tol=tol, abs_tol=tol)


@SETTINGS
@given(batches("multiclass"))
def test_confusion_matrix_and_per_image_scores_match_a_plain_loop(batch):
    logits, target = batch
    c = logits.shape[1]
    pred = logits.argmax(1)
    counts = [[0] * c for _ in range(c)]
    per_image = []
    for n in range(target.shape[0]):
        image = [[0] * c for _ in range(c)]
        for t, p in zip(target[n].flatten().tolist(), pred[n].flatten().tolist()):
            if t != 255:
                counts[t][p] += 1
                image[t][p] += 1
        iou = []
        for k in range(c):
            union = sum(image[k]) + sum(row[k] for row in image) - image[k][k]
            iou.append(image[k][k] / union if union else math.nan)
        per_image.append(iou)
    assert confusion_matrix(logits, target, c).tolist() == counts
    ours = scores_per_image(logits, target, c)
    assert ours.shape == (target.shape[0], c)
    expected = torch.tensor(per_image, dtype=torch.float64).reshape(target.shape[0], c)
    torch.testing.assert_close(ours, expected, equal_nan=True)
