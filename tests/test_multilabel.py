"""Multi-label losses and MONAI's options, checked against the libraries they come from."""

from __future__ import annotations

import warnings

import pytest
import torch

import segbook.losses as L

warnings.filterwarnings("ignore", category=DeprecationWarning)
monai_losses = pytest.importorskip("monai.losses")
smp_losses = pytest.importorskip("segmentation_models_pytorch.losses")


def batch(seed=0, n=2, c=3, h=5, w=6):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, h, w, generator=g) * 2, torch.randint(0, 2, (n, c, h, w), generator=g)


@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("smooth", [(1e-5, 1e-5), (1.0, 1.0), (0.0, 1e-3), (0.5, 2.0)])
def test_multilabel_dice_matches_monai(smooth, include_background):
    logits, target = batch()
    nr, dr = smooth
    ours = L.multilabel_dice_loss(
        logits, target, smooth_nr=nr, smooth_dr=dr, include_background=include_background, ignore_index=None
    )
    monai = monai_losses.DiceLoss(sigmoid=True, smooth_nr=nr, smooth_dr=dr, include_background=include_background)
    torch.testing.assert_close(ours, monai(logits, target.float()))


@pytest.mark.parametrize("activation", ["softmax", None])
def test_dice_softmax_and_raw_inputs_match_monai(activation):
    logits, _ = batch(1)
    classes = torch.randint(0, 3, (2, 5, 6), generator=torch.Generator().manual_seed(2))
    onehot = torch.nn.functional.one_hot(classes, 3).movedim(-1, 1)
    x = logits if activation == "softmax" else torch.softmax(logits, 1)
    ours = L.multilabel_dice_loss(x, onehot, activation=activation, smooth_nr=1e-5, smooth_dr=1e-5)
    monai = monai_losses.DiceLoss(softmax=activation == "softmax", smooth_nr=1e-5, smooth_dr=1e-5)
    torch.testing.assert_close(ours, monai(x, onehot.float()))
    # softmax + one-hot target with smooth_nr = smooth_dr = s is segbook's multi-class soft Dice with smooth=s
    if activation == "softmax":
        torch.testing.assert_close(
            L.multilabel_dice_loss(logits, onehot, activation="softmax"), L.soft_dice_loss(logits, classes)
        )


def test_raw_inputs_must_be_probabilities():
    logits, target = batch()
    with pytest.raises(ValueError, match=r"inputs must hold probabilities \(activation=None takes no logits\)"):
        L.multilabel_dice_loss(logits, target, activation=None)


@pytest.mark.parametrize("weights", [(0.3, 0.7), (0.5, 0.5), (0.9, 0.1)])
def test_multilabel_tversky_matches_monai(weights):
    logits, target = batch(3)
    a, b = weights
    ours = L.multilabel_tversky_loss(logits, target, fp_weight=a, fn_weight=b, smooth_nr=1e-5, smooth_dr=1e-5)
    monai = monai_losses.TverskyLoss(sigmoid=True, alpha=a, beta=b, smooth_nr=1e-5, smooth_dr=1e-5)
    torch.testing.assert_close(ours, monai(logits, target.float()))


@pytest.mark.parametrize("alpha", [0.25, None])
@pytest.mark.parametrize("gamma", [0.0, 2.0, 0.5])
def test_multilabel_focal_matches_torchvision(alpha, gamma):
    from torchvision.ops import sigmoid_focal_loss

    logits, target = batch(4)
    ours = L.multilabel_focal_loss(logits, target, alpha=alpha, gamma=gamma)
    theirs = sigmoid_focal_loss(logits, target.float(), alpha=-1 if alpha is None else alpha, gamma=gamma)
    torch.testing.assert_close(ours, theirs.mean())


def test_multilabel_dice_matches_smp_per_image_with_ignore():
    """smp's DiceLoss(mode="multilabel") sums over the batch and drops channels with no target pixel; per image
    and channel with every channel present, and the same ignore rule (element by element), they agree."""
    logits, target = batch(5, n=1)
    target[0, :, 0, 0] = 1  # every channel present
    target[0, 1, 2, 3] = 255
    ours = L.multilabel_dice_loss(logits, target, smooth_nr=0.0, smooth_dr=1e-7)
    smp = smp_losses.DiceLoss("multilabel", from_logits=True, smooth=0.0, eps=1e-7, ignore_index=255)
    torch.testing.assert_close(ours, smp(logits, target.float()), rtol=1e-5, atol=1e-6)


def test_a_pixel_in_two_classes_or_none():
    target = torch.tensor([[[[1, 0]], [[1, 0]]]])  # pixel 0 in both classes, pixel 1 in none
    logits = 30.0 * (2 * target.float() - 1)
    assert float(L.multilabel_dice_loss(logits, target)) < 1e-6
    assert float(L.multilabel_focal_loss(logits, target)) < 1e-9
    assert float(L.multilabel_dice_loss(-logits, target)) > 0.6


def test_multilabel_ignored_elements_count_nowhere():
    logits, target = batch(6)
    ignored = target.clone()
    ignored[:, :, :2] = 255
    for fn in (L.multilabel_dice_loss, L.multilabel_tversky_loss, L.multilabel_focal_loss):
        z = logits.clone().requires_grad_()
        fn(z, ignored).backward()
        assert (z.grad[:, :, :2] == 0).all(), fn.__name__
        changed = logits.clone()
        changed[:, :, :2] = 9.0
        torch.testing.assert_close(fn(changed, ignored), fn(logits, ignored))


def test_multilabel_bad_inputs_are_refused():
    logits, target = batch()
    with pytest.raises(ValueError, match=r"target must be 4-D \(N, C, H, W\), one channel per class"):
        L.multilabel_dice_loss(logits, target[:, 0])
    with pytest.raises(ValueError, match=r"needs a target of the logits' shape \(2, 3, 5, 6\)"):
        L.multilabel_dice_loss(logits, target[:, :2])
    with pytest.raises(ValueError, match="a multi-label target must hold 0 or 1 per class or the ignore index 255"):
        L.multilabel_dice_loss(logits, target * 2)
    with pytest.raises(ValueError, match="ignore_index=1 is a label"):
        L.multilabel_focal_loss(logits, target, ignore_index=1)
    with pytest.raises(ValueError, match="activation must be one of"):
        L.multilabel_dice_loss(logits, target, activation="relu")
    with pytest.raises(ValueError, match="smooth_dr must be a finite number"):
        L.MultilabelDiceLoss(smooth_dr=float("inf"))
    with pytest.raises(ValueError, match=r"alpha must hold one value in \[0, 1\] per class"):
        L.MultilabelFocalLoss(alpha=[0.5, 2.0])
    with pytest.raises(ValueError, match=r"alpha must have one entry per class \(C=3\)"):
        L.MultilabelFocalLoss(alpha=[0.5, 0.2])(logits, target)
    torch.testing.assert_close(
        L.MultilabelFocalLoss(alpha=[0.25, 0.25, 0.25])(logits, target), L.multilabel_focal_loss(logits, target)
    )


def test_multilabel_modules_match_their_functions():
    logits, target = batch(7)
    pairs = [
        (L.MultilabelDiceLoss(smooth_nr=0.1), lambda: L.multilabel_dice_loss(logits, target, smooth_nr=0.1)),
        (L.MultilabelTverskyLoss(fn_weight=0.7), lambda: L.multilabel_tversky_loss(logits, target, fn_weight=0.7)),
        (L.MultilabelFocalLoss(gamma=1.0), lambda: L.multilabel_focal_loss(logits, target, gamma=1.0)),
    ]
    for module, function in pairs:
        assert torch.equal(module(logits, target), function())


def test_one_hot_logits_pass_with_validate_false():
    logits = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])  # exactly one-hot: looks like probabilities
    target = torch.tensor([[[0, 1]]])
    with pytest.raises(ValueError, match="pass with validate=False"):
        L.cross_entropy(logits, target)
    assert torch.isclose(L.cross_entropy(logits, target, validate=False), torch.tensor(0.3133), atol=1e-4)
    assert torch.isfinite(L.SoftDiceLoss(validate=False)(logits, target))
