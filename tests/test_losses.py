"""segbook.losses against PyTorch, torchvision, brute-force counting and hand-worked examples; properties."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import distance_transform_edt
from torchvision.ops import sigmoid_focal_loss

from segbook import losses as L
from segbook import metrics


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def multiclass_batch(seed=0, n=2, c=4, h=5, w=6, scale=3.0, ignore=0.0, dtype=torch.float32):
    g = _gen(seed)
    logits = (scale * torch.randn(n, c, h, w, generator=g)).to(dtype)
    target = torch.randint(0, c, (n, h, w), generator=g)
    if ignore:
        target[torch.rand(n, h, w, generator=g) < ignore] = 255
    return logits, target


def binary_batch(seed=0, n=2, h=5, w=6, scale=3.0, ignore=0.0, dtype=torch.float32):
    g = _gen(seed)
    logits = (scale * torch.randn(n, h, w, generator=g)).to(dtype)
    target = torch.randint(0, 2, (n, h, w), generator=g)
    if ignore:
        target[torch.rand(n, h, w, generator=g) < ignore] = 255
    return logits, target


def perfect_logits(target, c, margin=20.0):
    onehot = F.one_hot(target.clamp(max=c - 1), c).movedim(-1, 1).float()
    return margin * (2 * onehot - 1)


# ----------------------------------------------------------------------------- cross entropy


@pytest.mark.parametrize("weight", [None, [1.0, 2.0, 0.5, 4.0]])
@pytest.mark.parametrize("ignore", [0.0, 0.3])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_equals_torch(weight, ignore, reduction):
    logits, target = multiclass_batch(seed=1, ignore=ignore)
    w = None if weight is None else torch.tensor(weight)
    ours = L.cross_entropy(logits, target, weight=weight, reduction=reduction)
    ref = F.cross_entropy(logits, target, weight=w, ignore_index=255, reduction=reduction)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("weight", [None, [1.0, 3.0, 0.5]])
def test_cross_entropy_gradient_equals_torch(weight):
    logits, target = multiclass_batch(seed=2, c=3, ignore=0.2)
    w = None if weight is None else torch.tensor(weight)
    a = logits.clone().requires_grad_()
    b = logits.clone().requires_grad_()
    L.cross_entropy(a, target, weight=weight).backward()
    F.cross_entropy(b, target, weight=w, ignore_index=255).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-7)


def test_cross_entropy_without_ignore_index_counts_every_pixel():
    logits, target = multiclass_batch(seed=4, c=3, ignore=0.0)
    for weight in (None, [1.0, 2.0, 0.5]):
        w = None if weight is None else torch.tensor(weight)
        ours = L.cross_entropy(logits, target, weight=weight, ignore_index=None)
        torch.testing.assert_close(ours, F.cross_entropy(logits, target, weight=w))


def test_weighted_cross_entropy_with_zero_weight_everywhere_counted_is_zero_with_finite_gradients():
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    target = torch.tensor([[[0, 0], [255, 0]]])  # only class 0 is counted, and it weighs 0
    loss = L.cross_entropy(logits, target, weight=[0.0, 1.0, 1.0])
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(logits.grad).all()


def test_cross_entropy_gradcheck_float64():
    logits, target = multiclass_batch(seed=3, n=1, c=3, h=2, w=3, ignore=0.2, dtype=torch.float64)
    logits.requires_grad_()
    assert torch.autograd.gradcheck(lambda z: L.cross_entropy(z, target, weight=[1.0, 2.0, 3.0]), (logits,))


def test_cross_entropy_hand_example():
    logits = torch.tensor([[[[2.0]], [[0.0]], [[0.0]]]])
    assert math.isclose(
        L.cross_entropy(logits, torch.tensor([[[0]]])).item(), math.log(math.e**2 + 2) - 2, rel_tol=1e-6
    )


def test_weighted_ce_is_a_weighted_mean_not_the_slide_wce():
    """Per-class weights (1, beta) with the weighted mean differ from the slide's WCE mean; the sums agree."""
    logits, target = multiclass_batch(seed=4, c=2)
    z = logits[:, 1] - logits[:, 0]
    beta = 3.0
    weighted_mean = L.cross_entropy(logits, target, weight=[1.0, beta])
    slide = L.binary_cross_entropy(z, target, pos_weight=beta)
    assert not torch.isclose(weighted_mean, slide)
    torch.testing.assert_close(
        L.cross_entropy(logits, target, weight=[1.0, beta], reduction="sum"),
        L.binary_cross_entropy(z, target, pos_weight=beta, reduction="sum"),
    )


# ----------------------------------------------------------------------------- binary cross entropy


@pytest.mark.parametrize("pos_weight", [None, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("channel_dim", [False, True])
def test_binary_cross_entropy_equals_torch(pos_weight, reduction, channel_dim):
    z, y = binary_batch(seed=5)
    inp = z[:, None] if channel_dim else z
    ours = L.binary_cross_entropy(inp, y, pos_weight=pos_weight, reduction=reduction)
    pw = None if pos_weight is None else torch.tensor(pos_weight)
    ref = F.binary_cross_entropy_with_logits(z, y.float(), pos_weight=pw, reduction=reduction)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pos_weight", [None, 4.0])
def test_binary_cross_entropy_ignore_index_is_the_loss_of_the_kept_pixels(pos_weight):
    z, y = binary_batch(seed=6, ignore=0.3)
    keep = y != 255
    pw = None if pos_weight is None else torch.tensor(pos_weight)
    ref = F.binary_cross_entropy_with_logits(z[keep], y[keep].float(), pos_weight=pw)
    torch.testing.assert_close(L.binary_cross_entropy(z, y, pos_weight=pos_weight), ref)
    none = L.binary_cross_entropy(z, y, pos_weight=pos_weight, reduction="none")
    assert (none[~keep] == 0).all()


def test_binary_cross_entropy_gradient_equals_torch():
    z, y = binary_batch(seed=7)
    a, b = z.clone().requires_grad_(), z.clone().requires_grad_()
    L.binary_cross_entropy(a, y, pos_weight=2.5).backward()
    F.binary_cross_entropy_with_logits(b, y.float(), pos_weight=torch.tensor(2.5)).backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_binary_cross_entropy_is_two_class_cross_entropy():
    logits, target = multiclass_batch(seed=8, c=2, ignore=0.2)
    torch.testing.assert_close(
        L.binary_cross_entropy(logits[:, 1] - logits[:, 0], target), L.cross_entropy(logits, target)
    )


def test_binary_cross_entropy_accepts_bool_target_and_channel_target():
    z, y = binary_batch(seed=9)
    ref = L.binary_cross_entropy(z, y)
    torch.testing.assert_close(L.binary_cross_entropy(z, y.bool(), ignore_index=None), ref)
    torch.testing.assert_close(L.binary_cross_entropy(z[:, None], y[:, None]), ref)


# ----------------------------------------------------------------------------- focal loss


@pytest.mark.parametrize("alpha", [0.25, 0.75, None])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_focal_loss_equals_torchvision(alpha, gamma, reduction):
    z, y = binary_batch(seed=10)
    ours = L.binary_focal_loss(z, y, alpha=alpha, gamma=gamma, reduction=reduction)
    ref = sigmoid_focal_loss(z, y.float(), alpha=-1 if alpha is None else alpha, gamma=gamma, reduction=reduction)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_binary_focal_loss_gradient_equals_torchvision():
    z, y = binary_batch(seed=11)
    a, b = z.clone().requires_grad_(), z.clone().requires_grad_()
    L.binary_focal_loss(a, y, alpha=0.3, gamma=2.0).backward()
    sigmoid_focal_loss(b, y.float(), alpha=0.3, gamma=2.0, reduction="mean").backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-7)


def test_binary_focal_loss_gradcheck_float64():
    z, y = binary_batch(seed=12, n=1, h=2, w=3, dtype=torch.float64)
    z.requires_grad_()
    assert torch.autograd.gradcheck(lambda x: L.binary_focal_loss(x, y, alpha=0.25, gamma=1.5), (z,))


def test_binary_focal_loss_slide_formula_by_hand():
    """FL = -(a (1 - p)^g p log p + (1 - a) p^g (1 - p) log(1 - p)) on two pixels."""
    z, y = torch.tensor([[[0.5, 0.5]]]), torch.tensor([[[1, 0]]])
    p, a, g = torch.sigmoid(torch.tensor(0.5)).item(), 0.25, 2.0
    expected = [-a * (1 - p) ** g * math.log(p), -(1 - a) * p**g * math.log(1 - p)]
    got = L.binary_focal_loss(z, y, alpha=a, gamma=g, reduction="none")[0, 0].tolist()
    assert got == pytest.approx(expected, rel=1e-6)


def brute_force_focal(logits, target, alpha, gamma, ignore_index=255):
    """A plain loop over pixels: -alpha_t (1 - p_t)^gamma log p_t, mean over kept pixels."""
    n, c, h, w = logits.shape
    total, count = 0.0, 0
    for i, y, x in itertools.product(range(n), range(h), range(w)):
        t = int(target[i, y, x])
        if t == ignore_index:
            continue
        p = torch.softmax(logits[i, :, y, x].double(), 0)[t].item()
        a = 1.0 if alpha is None else alpha[t]
        total += -a * (1 - p) ** gamma * math.log(p)
        count += 1
    return total / count


@pytest.mark.parametrize("alpha", [None, [0.1, 0.2, 0.3, 0.4]])
@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.0])
def test_focal_loss_equals_a_pixel_loop(alpha, gamma):
    logits, target = multiclass_batch(seed=13, n=1, h=3, w=4, ignore=0.2, scale=2.0)
    got = L.focal_loss(logits, target, alpha=alpha, gamma=gamma).item()
    assert got == pytest.approx(brute_force_focal(logits, target, alpha, gamma), rel=1e-5)


def test_focal_loss_with_gamma_zero_is_cross_entropy():
    logits, target = multiclass_batch(seed=14, ignore=0.2)
    torch.testing.assert_close(L.focal_loss(logits, target, gamma=0.0), L.cross_entropy(logits, target))


def test_two_class_focal_loss_is_binary_focal_loss():
    logits, target = multiclass_batch(seed=15, c=2, ignore=0.2)
    a = 0.3
    torch.testing.assert_close(
        L.focal_loss(logits, target, alpha=[1 - a, a], gamma=2.0),
        L.binary_focal_loss(logits[:, 1] - logits[:, 0], target, alpha=a, gamma=2.0),
    )


def test_focal_loss_gradcheck_float64():
    logits, target = multiclass_batch(seed=16, n=1, c=3, h=2, w=2, dtype=torch.float64)
    logits.requires_grad_()
    assert torch.autograd.gradcheck(lambda z: L.focal_loss(z, target, gamma=2.0, alpha=[1.0, 0.5, 2.0]), (logits,))


def test_focal_loss_is_at_most_cross_entropy():
    logits, target = multiclass_batch(seed=17)
    fl = L.focal_loss(logits, target, gamma=2.0, reduction="none")
    ce = L.cross_entropy(logits, target, reduction="none")
    assert (fl <= ce + 1e-6).all()


# ----------------------------------------------------------------------------- class weights


def test_pos_weight_and_inverse_frequency_weights():
    y = torch.tensor([[[0, 0, 0, 1, 255]]])
    assert L.pos_weight_from_target(y) == 3.0
    w = L.inverse_frequency_weights(torch.tensor([[0, 0, 0, 1, 255]]), 3)
    torch.testing.assert_close(w, torch.tensor([4 / 9, 4 / 3, 0.0]))
    with pytest.raises(ValueError, match="no positive"):
        L.pos_weight_from_target(torch.zeros(1, 2, 2, dtype=torch.long))


# ----------------------------------------------------------------------------- Dice and IoU as metrics


def brute_force_sets(pred_mask, true_mask):
    """TP, FP, FN by counting pixel coordinates in Python sets: |X ∩ Y|, |Y \\ X|, |X \\ Y|."""
    xs = {tuple(p) for p in torch.nonzero(true_mask).tolist()}
    ys = {tuple(p) for p in torch.nonzero(pred_mask).tolist()}
    return len(xs & ys), len(ys - xs), len(xs - ys), xs, ys


@pytest.mark.parametrize("seed", range(6))
def test_dice_and_iou_from_counts_equal_set_overlap(seed):
    g = _gen(seed)
    true_mask = torch.rand(7, 9, generator=g) < 0.3
    pred_mask = torch.rand(7, 9, generator=g) < 0.4
    tp, fp, fn, xs, ys = brute_force_sets(pred_mask, true_mask)
    assert L.dice_coefficient(tp, fp, fn) == pytest.approx(2 * len(xs & ys) / (len(xs) + len(ys)))
    assert L.iou_score(tp, fp, fn) == pytest.approx(len(xs & ys) / len(xs | ys))
    j = L.iou_score(tp, fp, fn)
    assert L.dice_coefficient(tp, fp, fn) == pytest.approx(2 * j / (1 + j))


def test_dice_and_iou_agree_with_metrics_module():
    g = _gen(3)
    pred, target = torch.randint(0, 4, (2, 6, 6), generator=g), torch.randint(0, 4, (2, 6, 6), generator=g)
    cm = metrics.confusion_matrix(pred, target, 4)
    tp = cm.diagonal()
    fp, fn = cm.sum(0) - tp, cm.sum(1) - tp
    torch.testing.assert_close(L.dice_coefficient(tp, fp, fn), metrics.dice_per_class(cm))
    torch.testing.assert_close(L.iou_score(tp, fp, fn), metrics.iou_per_class(cm))


def test_dice_of_two_empty_sets_is_nan_unless_smoothed():
    assert math.isnan(L.dice_coefficient(0, 0, 0))
    assert math.isnan(L.iou_score(0, 0, 0))
    assert L.dice_coefficient(0, 0, 0, smooth=1.0) == 1.0
    assert L.dice_coefficient(3, 1, 2) == pytest.approx(2 / 3)
    assert isinstance(L.dice_coefficient(3, 1, 2), float)


# ----------------------------------------------------------------------------- soft Dice


def reference_soft_dice(logits, target, smooth=1.0, include_background=True, ignore_index=255):
    """Loop over images and classes with explicit sums."""
    n, c = logits.shape[:2]
    probs = torch.softmax(logits.double(), 1)
    values = []
    for i in range(n):
        keep = target[i] != ignore_index
        for k in range(0 if include_background else 1, c):
            p = probs[i, k][keep]
            g = (target[i][keep] == k).double()
            values.append(1 - (2 * (p * g).sum() + smooth) / (p.sum() + g.sum() + smooth))
    return torch.stack(values).mean()


@pytest.mark.parametrize("smooth", [0.0, 1.0, 5.0])
@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("ignore", [0.0, 0.3])
def test_soft_dice_equals_a_loop_over_images_and_classes(smooth, include_background, ignore):
    logits, target = multiclass_batch(seed=20, ignore=ignore)
    got = L.soft_dice_loss(logits, target, smooth=smooth, include_background=include_background)
    ref = reference_soft_dice(logits, target, smooth, include_background)
    assert got.item() == pytest.approx(ref.item(), rel=1e-5)


def test_soft_dice_hand_example_with_the_slides_plus_one():
    """One image, binary: p = sigmoid(z) = (0.9, 0.2, 0.6, 0.1), g = (1, 0, 0, 0): 1 - (1.8 + 1) / (2.8 + 1)."""
    p = torch.tensor([[0.9, 0.2], [0.6, 0.1]])
    z = torch.logit(p)[None]
    y = torch.tensor([[[1, 0], [0, 0]]])
    assert L.soft_dice_loss(z, y).item() == pytest.approx(1 - 2.8 / 3.8, rel=1e-5)
    assert L.soft_dice_loss(z, y, smooth=0.0).item() == pytest.approx(1 - 1.8 / 2.8, rel=1e-5)


def test_soft_dice_is_per_image_then_averaged():
    logits, target = multiclass_batch(seed=21, n=3)
    per_image = [L.soft_dice_loss(logits[i : i + 1], target[i : i + 1]) for i in range(3)]
    torch.testing.assert_close(L.soft_dice_loss(logits, target), torch.stack(per_image).mean())
    assert L.soft_dice_loss(logits, target, reduction="none").shape == (3, 4)


def test_region_losses_ignore_the_prediction_at_ignored_pixels():
    logits, target = multiclass_batch(seed=22, ignore=0.3)
    changed = logits.clone()
    changed[(target == 255)[:, None].expand_as(logits)] = 50.0
    for fn in (L.soft_dice_loss, L.tversky_loss, L.boundary_loss, L.cross_entropy, L.focal_loss):
        torch.testing.assert_close(fn(logits, target), fn(changed, target))


def test_absent_class_with_no_prediction_costs_almost_nothing_with_smoothing():
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    logits = perfect_logits(target, 3)
    per_class = L.soft_dice_loss(logits, target, reduction="none")[0]
    assert (per_class < 1e-6).all()
    # without smoothing, the two absent classes score Dice 0 / tiny = 0 (loss 1 each), however small the tiny
    without = L.soft_dice_loss(logits, target, smooth=0.0, reduction="none")[0]
    assert without.tolist() == pytest.approx([0.0, 1.0, 1.0], abs=1e-6)


def test_binary_soft_dice_equals_two_class_foreground_dice():
    logits, target = multiclass_batch(seed=23, c=2, ignore=0.2)
    torch.testing.assert_close(
        L.soft_dice_loss(logits[:, 1] - logits[:, 0], target),
        L.soft_dice_loss(logits, target, include_background=False),
    )


# ----------------------------------------------------------------------------- Tversky


def test_tversky_index_hand_example_and_both_notations():
    """TP=3, FP=1, FN=2. The slide's beta weighs FP: beta=0.7 -> 3 / (3 + 0.7 + 0.6). Salehi's (alpha, beta) =
    (0.3, 0.7) weighs FP by 0.3 and FN by 0.7 -> 3 / (3 + 0.3 + 1.4)."""
    assert L.tversky_index(3, 1, 2, fp_weight=0.7, fn_weight=0.3) == pytest.approx(3 / 4.3)
    assert L.tversky_index(3, 1, 2, fp_weight=0.3, fn_weight=0.7) == pytest.approx(3 / 4.7)
    assert L.tversky_index(3, 1, 2, fp_weight=1, fn_weight=1) == pytest.approx(L.iou_score(3, 1, 2))
    assert L.tversky_index(3, 1, 2) == pytest.approx(L.dice_coefficient(3, 1, 2))
    assert L.tversky_index(3, 1, 2, smooth=0.5) == pytest.approx(L.dice_coefficient(3, 1, 2, smooth=1.0))


def test_tversky_loss_with_equal_weights_is_dice_loss():
    logits, target = multiclass_batch(seed=24, ignore=0.2)
    torch.testing.assert_close(L.tversky_loss(logits, target), L.soft_dice_loss(logits, target))
    torch.testing.assert_close(
        L.tversky_loss(logits, target, smooth=2.0, include_background=False),
        L.soft_dice_loss(logits, target, smooth=4.0, include_background=False),
    )


def test_fn_heavy_tversky_punishes_under_segmentation_more():
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[0, 2:6, 2:6] = 1
    under = torch.zeros_like(target)
    under[0, 3:5, 3:5] = 1  # misses 12 of 16 pixels
    over = torch.zeros_like(target)
    over[0, 1:7, 1:7] = 1  # 20 false positives
    fn_heavy = dict(fp_weight=0.3, fn_weight=0.7)
    fp_heavy = dict(fp_weight=0.7, fn_weight=0.3)
    u, o = perfect_logits(under, 2), perfect_logits(over, 2)
    assert L.tversky_loss(u, target, **fn_heavy) > L.tversky_loss(o, target, **fn_heavy)
    assert L.tversky_loss(u, target, **fp_heavy) < L.tversky_loss(o, target, **fp_heavy)


def test_tversky_weights_named_by_what_they_punish():
    p = torch.tensor([[[[0.8, 0.6, 0.1, 0.3]]]])
    g = torch.tensor([[[[1.0, 0.0, 1.0, 0.0]]]])
    tp, fp, fn = (x.item() for x in L.soft_counts(p, g))
    assert (tp, fp, fn) == pytest.approx((0.9, 0.9, 1.1))
    z = torch.logit(p[:, 0])
    y = g[:, 0].long()
    got = L.tversky_loss(z, y, fp_weight=0.2, fn_weight=0.9, smooth=0.0).item()
    assert got == pytest.approx(1 - 0.9 / (0.9 + 0.2 * 0.9 + 0.9 * 1.1), rel=1e-5)


# ----------------------------------------------------------------------------- combined


def test_combined_losses_are_weighted_sums():
    logits, target = multiclass_batch(seed=25, ignore=0.1)
    dice = L.soft_dice_loss(logits, target)
    torch.testing.assert_close(
        L.dice_ce_loss(logits, target, dice_weight=0.3, ce_weight=2.0),
        0.3 * dice + 2.0 * L.cross_entropy(logits, target),
    )
    torch.testing.assert_close(
        L.dice_focal_loss(logits, target, dice_weight=2.0, focal_weight=0.5, gamma=1.0),
        2.0 * dice + 0.5 * L.focal_loss(logits, target, gamma=1.0),
    )
    z, y = binary_batch(seed=26)
    torch.testing.assert_close(
        L.dice_ce_loss(z, y, pos_weight=3.0), L.soft_dice_loss(z, y) + L.binary_cross_entropy(z, y, pos_weight=3.0)
    )
    torch.testing.assert_close(
        L.dice_focal_loss(z, y, alpha=0.25), L.soft_dice_loss(z, y) + L.binary_focal_loss(z, y, alpha=0.25)
    )


def test_combined_loss_refuses_the_wrong_kind_of_weight():
    logits, target = multiclass_batch(seed=27)
    with pytest.raises(ValueError, match="pos_weight is for binary"):
        L.dice_ce_loss(logits, target, pos_weight=2.0)
    z, y = binary_batch(seed=27)
    with pytest.raises(ValueError, match="class_weight is for multi-class"):
        L.dice_ce_loss(z, y, class_weight=[1.0, 2.0])


# ----------------------------------------------------------------------------- signed distance map


def reference_one_hot2dist(label, num_classes):
    """The reference (Kervadec et al.'s one_hot2dist), with whole-image classes set to 0 as documented."""
    res = np.zeros((num_classes,) + label.shape)
    for k in range(num_classes):
        pos = label == k
        if pos.any() and not pos.all():
            neg = ~pos
            res[k] = distance_transform_edt(neg) * neg - (distance_transform_edt(pos) - 1) * pos
    return res


def test_signed_distance_map_hand_example():
    label = torch.zeros(5, 5, dtype=torch.long)
    label[1:4, 1:4] = 1
    r2 = math.sqrt(2)
    expected = torch.tensor(
        [[r2, 1, 1, 1, r2], [1, 0, 0, 0, 1], [1, 0, -1, 0, 1], [1, 0, 0, 0, 1], [r2, 1, 1, 1, r2]], dtype=torch.float32
    )
    phi = L.signed_distance_map(label, 2)
    torch.testing.assert_close(phi[1], expected)
    np.testing.assert_allclose(phi[0].numpy(), reference_one_hot2dist(label.numpy(), 2)[0], atol=1e-6)
    assert phi[1][label == 1].max() <= 0 and phi[1][label == 0].min() >= 1  # inside <= 0, outside >= 1


@pytest.mark.parametrize("seed", range(4))
def test_signed_distance_map_equals_the_reference_per_image(seed):
    g = _gen(seed)
    labels = torch.randint(0, 3, (3, 9, 11), generator=g)
    labels[1] = 0  # an image with one class covering everything
    labels[2, :, :5] = 2  # and one where class 1 may be absent on the left
    phi = L.signed_distance_map(labels, 4)  # class 3 absent everywhere
    for n in range(3):
        np.testing.assert_allclose(phi[n].numpy(), reference_one_hot2dist(labels[n].numpy(), 4), atol=1e-5)
    assert (phi[:, 3] == 0).all() and (phi[1] == 0).all()


def test_signed_distance_map_ignores_ignored_pixels_and_keeps_the_device():
    label = torch.zeros(6, 6, dtype=torch.long)
    label[2:4, 2:4] = 1
    label[0, 0] = 255
    phi = L.signed_distance_map(label, 2)
    assert phi.shape == (2, 6, 6) and phi.dtype == torch.float32 and phi.device == label.device
    expected = reference_one_hot2dist(np.where(label.numpy() == 255, -1, label.numpy()), 2)
    np.testing.assert_allclose(phi.numpy(), expected, atol=1e-6)


# ----------------------------------------------------------------------------- boundary loss


def test_boundary_loss_is_the_mean_of_probability_times_distance():
    logits, target = multiclass_batch(seed=30, c=3, h=8, w=8)
    phi = L.signed_distance_map(target, 3)
    probs = torch.softmax(logits, 1)
    torch.testing.assert_close(L.boundary_loss(logits, target), (phi[:, 1:] * probs[:, 1:]).mean())
    torch.testing.assert_close(L.boundary_loss(logits, target, include_background=True), (phi * probs).mean())
    torch.testing.assert_close(L.boundary_loss(logits, target, distance_map=phi), (phi[:, 1:] * probs[:, 1:]).mean())


def test_boundary_loss_is_smallest_at_the_perfect_prediction_and_its_gap_is_the_slides_distance():
    g = _gen(31)
    target = torch.zeros(2, 10, 10, dtype=torch.long)
    target[0, 2:7, 3:8] = 1
    target[1, 5:9, 1:4] = 1
    perfect = perfect_logits(target, 2, margin=40.0)
    best = L.boundary_loss(perfect, target)
    phi = L.signed_distance_map(target, 2)[:, 1]
    torch.testing.assert_close(best, (phi * (target == 1)).mean())  # mean of phi_G * g  (<= 0)
    assert best < 0
    for _ in range(5):
        other = L.boundary_loss(3 * torch.randn(2, 2, 10, 10, generator=g), target)
        assert other > best


def test_binary_boundary_loss_equals_two_class_version():
    logits, target = multiclass_batch(seed=32, c=2, h=8, w=8, ignore=0.1)
    torch.testing.assert_close(L.boundary_loss(logits[:, 1] - logits[:, 0], target), L.boundary_loss(logits, target))


def test_boundary_loss_without_foreground_is_zero_and_differentiable():
    logits = torch.randn(1, 2, 4, 4, requires_grad=True)
    loss = L.boundary_loss(logits, torch.zeros(1, 4, 4, dtype=torch.long))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_rebalance_schedule_and_dice_boundary_loss():
    assert [L.rebalance_weight(e) for e in (0, 1, 50, 200)] == pytest.approx([1.0, 0.99, 0.5, 0.01])
    assert L.rebalance_weight(10, step=0.05, minimum=0.2) == pytest.approx(0.5)
    logits, target = multiclass_batch(seed=33, c=3, h=8, w=8)
    dice, boundary = L.soft_dice_loss(logits, target), L.boundary_loss(logits, target)
    torch.testing.assert_close(L.dice_boundary_loss(logits, target, region_weight=1.0), dice)
    torch.testing.assert_close(L.dice_boundary_loss(logits, target, region_weight=0.0), boundary)
    torch.testing.assert_close(L.dice_boundary_loss(logits, target, region_weight=0.3), 0.3 * dice + 0.7 * boundary)
    module = L.DiceBoundaryLoss()
    module.region_weight = 0.3
    torch.testing.assert_close(module(logits, target), 0.3 * dice + 0.7 * boundary)


# ----------------------------------------------------------------------------- modules


@pytest.mark.parametrize(
    "module, fn, kwargs, binary",
    [
        (L.CrossEntropyLoss, L.cross_entropy, {"weight": [1.0, 2.0, 1.0, 0.5]}, False),
        (L.BinaryCrossEntropyLoss, L.binary_cross_entropy, {"pos_weight": 2.0}, True),
        (L.FocalLoss, L.focal_loss, {"gamma": 1.0, "alpha": [0.1, 0.2, 0.3, 0.4]}, False),
        (L.BinaryFocalLoss, L.binary_focal_loss, {"gamma": 1.0, "alpha": 0.4}, True),
        (L.SoftDiceLoss, L.soft_dice_loss, {"include_background": False}, False),
        (L.TverskyLoss, L.tversky_loss, {"fp_weight": 0.3, "fn_weight": 0.7}, False),
        (L.DiceCELoss, L.dice_ce_loss, {"ce_weight": 0.5}, False),
        (L.DiceFocalLoss, L.dice_focal_loss, {"gamma": 1.0}, False),
        (L.BoundaryLoss, L.boundary_loss, {"include_background": True}, False),
    ],
)
def test_modules_equal_their_functions(module, fn, kwargs, binary):
    logits, target = binary_batch(seed=40) if binary else multiclass_batch(seed=40)
    torch.testing.assert_close(module(**kwargs)(logits, target), fn(logits, target, **kwargs))


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda: L.TverskyLoss(fp_weight=-1.0), "fp_weight must be >= 0"),
        (lambda: L.TverskyLoss(fp_weight=0.0, fn_weight=0.0), "both 0"),
        (lambda: L.BinaryFocalLoss(alpha=1.5), "alpha must be <= 1"),
        (lambda: L.FocalLoss(gamma=-1.0), "gamma must be >= 0"),
        (lambda: L.SoftDiceLoss(smooth=-1.0), "smooth must be >= 0"),
        (lambda: L.CrossEntropyLoss(reduction="avg"), "reduction must be one of"),
        (lambda: L.BinaryCrossEntropyLoss(ignore_index=1), "ignore_index=1 is a class index"),
        (lambda: L.CrossEntropyLoss(weight=[1.0, -2.0]), "finite numbers >= 0"),
        (lambda: L.DiceBoundaryLoss(region_weight=2.0), "region_weight must be <= 1"),
        # a number where a per-class vector belongs: the message says so (was len() of a number)
        (lambda: L.FocalLoss(alpha=0.25), "alpha must be a sequence or tensor of per-class numbers, got float"),
        (lambda: L.CrossEntropyLoss(weight=5), "weight must be a sequence or tensor of per-class numbers, got int"),
    ],
)
def test_modules_check_their_options_at_construction(build, words):
    with pytest.raises((ValueError, TypeError), match=words):
        build()


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, error, words",
    [
        (
            lambda: L.cross_entropy(torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 5))),
            ValueError,
            r"do not match: expected target of shape \(2, 4, 4\)",
        ),
        (
            lambda: L.cross_entropy(torch.randn(1, 3, 2, 2), torch.tensor([[[0, 7], [1, 2]]])),
            ValueError,
            "target has class 7 and is not the ignore index 255, but logits have 3 channels",
        ),
        (
            lambda: L.cross_entropy(torch.softmax(torch.randn(1, 3, 2, 2), 1), torch.zeros(1, 2, 2, dtype=torch.long)),
            ValueError,
            "look like probabilities",
        ),
        (
            lambda: L.soft_dice_loss(torch.softmax(torch.randn(1, 3, 2, 2), 1), torch.zeros(1, 2, 2, dtype=torch.long)),
            ValueError,
            "before softmax",
        ),
        (lambda: L.cross_entropy(torch.randn(1, 3, 2, 2), torch.zeros(1, 2, 2)), TypeError, "integer tensor"),
        (
            lambda: L.cross_entropy(torch.randint(0, 3, (1, 3, 2, 2)), torch.zeros(1, 2, 2, dtype=torch.long)),
            TypeError,
            "logits must be a floating-point tensor",
        ),
        (
            lambda: L.cross_entropy(torch.randn(1, 1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long)),
            ValueError,
            "C >= 2 channels",
        ),
        (
            lambda: L.binary_cross_entropy(torch.randn(1, 3, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long)),
            ValueError,
            "one logit per pixel",
        ),
        (
            lambda: L.binary_cross_entropy(torch.randn(1, 2, 2), torch.tensor([[[0, 2], [1, 0]]])),
            ValueError,
            "binary target must hold 0 .background. or 1 .foreground.",
        ),
        (lambda: L.binary_cross_entropy(torch.randn(1, 2, 2), torch.rand(1, 2, 2)), TypeError, "soft"),
        (
            lambda: L.binary_cross_entropy(torch.randn(1, 2, 2), torch.zeros(1, 3, 2, dtype=torch.long)),
            ValueError,
            "do not match",
        ),
        (
            lambda: L.focal_loss(torch.randn(1, 3, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), alpha=[1.0, 2.0]),
            ValueError,
            r"alpha must have one entry per class \(C=3\)",
        ),
        (
            lambda: L.cross_entropy(torch.randn(1, 3, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), ignore_index=2),
            ValueError,
            "ignore_index=2 is a class index",
        ),
        (lambda: L.cross_entropy([[1.0]], torch.zeros(1, 2, 2, dtype=torch.long)), TypeError, "must be a torch.Tensor"),
        (
            lambda: L.boundary_loss(
                torch.randn(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), distance_map=torch.zeros(1, 5, 4, 4)
            ),
            ValueError,
            "distance_map has 5 channels",
        ),
        (lambda: L.signed_distance_map(torch.tensor([[0, 3]]), 2), ValueError, "target has class 3"),
        (lambda: L.dice_coefficient("3", 1, 2), TypeError, "tp must be a number"),
        (lambda: L.dice_coefficient(3, -1, 2), ValueError, "fp must be a count >= 0, got -1"),
        (lambda: L.iou_score(torch.tensor([3.0, -2.0]), 1, 2), ValueError, "tp must hold counts >= 0, got -2"),
        (lambda: L.tversky_index(3, 1, torch.tensor([-1])), ValueError, "fn must hold counts >= 0, got -1"),
    ],
)
def test_bad_input_gives_a_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()


U8 = torch.tensor([[[0, 1], [2, 255]]], dtype=torch.uint8)  # 255 is a value, not the ignore index -1
U8_LOGITS = torch.randn(1, 3, 2, 2, generator=_gen(0))


@pytest.mark.parametrize(
    "call",
    [
        lambda: L.cross_entropy(U8_LOGITS, U8, ignore_index=-1),
        lambda: L.soft_dice_loss(U8_LOGITS, U8, ignore_index=-1),
        lambda: metrics.confusion_matrix(U8_LOGITS, U8, 3, ignore_index=-1),
        lambda: L.inverse_frequency_weights(U8, 3, ignore_index=-1),
        lambda: L.pos_weight_from_target(torch.tensor([[[0, 1], [1, 255]]], dtype=torch.uint8), ignore_index=-1),
    ],
    ids=["cross_entropy", "soft_dice_loss", "confusion_matrix", "inverse_frequency_weights", "pos_weight_from_target"],
)
def test_ignore_index_is_compared_in_int64_not_in_a_narrow_target_dtype(call):
    # in uint8, -1 wraps to 255: the 255s would be silently ignored instead of refused
    with pytest.raises(
        ValueError, match="255 and is not the ignore index -1|nor the ignore index -1.*got the value 255"
    ):
        call()


def test_no_counted_pixel_gives_zero_not_nan():
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    target = torch.full((1, 2, 2), 255)
    for fn in (L.cross_entropy, L.focal_loss):
        loss = fn(logits, target)
        assert loss.item() == 0.0
        loss.backward()
    assert L.binary_cross_entropy(torch.randn(1, 2, 2), target).item() == 0.0


# ----------------------------------------------------------------------------- properties (hypothesis)

MULTICLASS = [
    ("cross_entropy", lambda z, t: L.cross_entropy(z, t), (0.0, math.inf)),
    ("weighted_cross_entropy", lambda z, t: L.cross_entropy(z, t, weight=[1.0, 3.0, 0.5]), (0.0, math.inf)),
    ("focal_loss", lambda z, t: L.focal_loss(z, t, gamma=2.0), (0.0, math.inf)),
    ("focal_loss_alpha", lambda z, t: L.focal_loss(z, t, gamma=0.5, alpha=[0.2, 0.3, 0.5]), (0.0, math.inf)),
    ("soft_dice_loss", lambda z, t: L.soft_dice_loss(z, t), (0.0, 1.0)),
    (
        "soft_dice_loss_fg_unsmoothed",
        lambda z, t: L.soft_dice_loss(z, t, include_background=False, smooth=0.0),
        (0.0, 1.0),
    ),
    ("tversky_loss", lambda z, t: L.tversky_loss(z, t, fp_weight=0.3, fn_weight=0.7), (0.0, 1.0)),
    ("dice_ce_loss", lambda z, t: L.dice_ce_loss(z, t), (0.0, math.inf)),
    ("dice_focal_loss", lambda z, t: L.dice_focal_loss(z, t), (0.0, math.inf)),
]
BINARY = [
    ("binary_cross_entropy", lambda z, t: L.binary_cross_entropy(z, t), (0.0, math.inf)),
    ("weighted_binary_ce", lambda z, t: L.binary_cross_entropy(z, t, pos_weight=5.0), (0.0, math.inf)),
    ("binary_focal_loss", lambda z, t: L.binary_focal_loss(z, t, alpha=0.25, gamma=2.0), (0.0, math.inf)),
    ("binary_focal_loss_small_gamma", lambda z, t: L.binary_focal_loss(z, t, alpha=None, gamma=0.3), (0.0, math.inf)),
    ("binary_soft_dice", lambda z, t: L.soft_dice_loss(z, t), (0.0, 1.0)),
    ("binary_tversky", lambda z, t: L.tversky_loss(z, t, fp_weight=0.2, fn_weight=0.8), (0.0, 1.0)),
]
ALL = [(name, fn, rng, False) for name, fn, rng in MULTICLASS] + [(name, fn, rng, True) for name, fn, rng in BINARY]
IDS = [case[0] for case in ALL]
EMPTY_BATCH = ALL + [
    ("boundary_loss", lambda z, t: L.boundary_loss(z, t), (0.0, math.inf), False),
    ("dice_boundary_loss", lambda z, t: L.dice_boundary_loss(z, t, region_weight=0.5), (0.0, math.inf), False),
    ("SoftDiceLoss", lambda z, t: L.SoftDiceLoss()(z, t), (0.0, 1.0), False),
    ("TverskyLoss", lambda z, t: L.TverskyLoss()(z, t), (0.0, 1.0), False),
    ("DiceCELoss", lambda z, t: L.DiceCELoss()(z, t), (0.0, math.inf), False),
    ("DiceFocalLoss", lambda z, t: L.DiceFocalLoss()(z, t), (0.0, math.inf), False),
]


@pytest.mark.parametrize("name, fn, bounds, binary", EMPTY_BATCH, ids=[case[0] for case in EMPTY_BATCH])
def test_every_loss_is_zero_with_a_finite_gradient_on_an_empty_batch(name, fn, bounds, binary):
    logits = torch.randn((0, 4, 4) if binary else (0, 3, 4, 4), requires_grad=True)
    loss = fn(logits, torch.zeros(0, 4, 4, dtype=torch.long))
    assert loss.item() == 0.0, name
    (grad,) = torch.autograd.grad(loss, logits)
    assert grad.shape == logits.shape and torch.isfinite(grad).all()


inputs = st.tuples(
    st.integers(0, 2**31 - 1),
    st.integers(1, 3),
    st.integers(1, 5),
    st.integers(1, 5),
    st.sampled_from([0.5, 3.0, 30.0]),
    st.sampled_from([0.0, 0.3]),
)


def make_inputs(binary, seed, n, h, w, scale, ignore):
    g = _gen(seed)
    if binary:
        logits, target = scale * torch.randn(n, h, w, generator=g), torch.randint(0, 2, (n, h, w), generator=g)
    else:
        logits, target = scale * torch.randn(n, 3, h, w, generator=g), torch.randint(0, 3, (n, h, w), generator=g)
    if ignore:
        target[torch.rand(n, h, w, generator=g) < ignore] = 255
    return logits, target


@pytest.mark.parametrize("name, fn, bounds, binary", ALL, ids=IDS)
@settings(max_examples=25, deadline=None, database=None)
@given(args=inputs)
def test_losses_stay_in_their_documented_ranges(name, fn, bounds, binary, args):
    logits, target = make_inputs(binary, *args)
    value = fn(logits, target).item()
    assert bounds[0] - 1e-6 <= value <= bounds[1] + 1e-6


@pytest.mark.parametrize("name, fn, bounds, binary", ALL, ids=IDS)
@settings(max_examples=15, deadline=None, database=None)
@given(args=inputs)
def test_a_perfect_prediction_gives_near_zero(name, fn, bounds, binary, args):
    if "unsmoothed" in name:  # without smoothing a class absent from an image scores 1 even when perfect:
        return  # test_absent_class_with_no_prediction_costs_almost_nothing_with_smoothing
    _, target = make_inputs(binary, *args)
    if binary:
        logits = 30.0 * (2 * (target == 1).float() - 1)
    else:
        logits = perfect_logits(target, 3, margin=30.0)
    assert fn(logits, target).item() == pytest.approx(0.0, abs=1e-5)


@settings(max_examples=30, deadline=None, database=None)
@given(args=inputs, smooth=st.sampled_from([0.0, 0.5, 2.0]), include_background=st.booleans())
def test_tversky_with_equal_weights_equals_dice(args, smooth, include_background):
    logits, target = make_inputs(False, *args)
    torch.testing.assert_close(
        L.tversky_loss(
            logits, target, fp_weight=0.5, fn_weight=0.5, smooth=smooth, include_background=include_background
        ),
        L.soft_dice_loss(logits, target, smooth=2 * smooth, include_background=include_background),
    )


@pytest.mark.parametrize(
    "name, fn, bounds, binary",
    ALL
    + [
        ("boundary_loss", lambda z, t: L.boundary_loss(z, t), None, False),
        ("binary_boundary_loss", lambda z, t: L.boundary_loss(z, t), None, True),
        ("dice_boundary_loss", lambda z, t: L.dice_boundary_loss(z, t, region_weight=0.5), None, False),
    ],
    ids=IDS + ["boundary_loss", "binary_boundary_loss", "dice_boundary_loss"],
)
@settings(max_examples=10, deadline=None, database=None)
@given(args=inputs, sign=st.sampled_from([1.0, -1.0]))
def test_values_and_gradients_stay_finite_for_logits_of_1e4(name, fn, bounds, binary, args, sign):
    logits, target = make_inputs(binary, *args)
    huge = (sign * 1e4 * torch.sign(logits + 1e-3)).requires_grad_()  # every logit is +-1e4
    value = fn(huge, target)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(huge.grad).all()


@pytest.mark.parametrize(
    "name, fn, bounds, binary",
    ALL
    + [
        ("boundary_loss", lambda z, t: L.boundary_loss(z, t), None, False),
    ],
    ids=IDS + ["boundary_loss"],
)
@settings(max_examples=10, deadline=None, database=None)
@given(args=inputs, order_seed=st.integers(0, 1000))
def test_batch_order_does_not_change_the_loss(name, fn, bounds, binary, args, order_seed):
    logits, target = make_inputs(binary, *args)
    order = torch.randperm(logits.shape[0], generator=_gen(order_seed))
    torch.testing.assert_close(fn(logits[order], target[order]), fn(logits, target), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 1, 5, 7), (3, 4, 6), (1, 1, 1, 1)])
@pytest.mark.parametrize("pos_weight", [None, 3.0, 0.25])
@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
def test_binary_cross_entropy_map_equals_the_fused_loss_path(shape, pos_weight, scale):
    """The book's from-scratch map is what the loss computes with PyTorch's fused op: values and gradients."""
    from segbook.losses.distribution import binary_cross_entropy_map

    g = torch.Generator().manual_seed(len(shape) + int(scale))
    z = (torch.randn(shape, generator=g) * scale).requires_grad_()
    y = torch.randint(0, 2, shape, generator=g)
    y.view(-1)[::3] = 255  # ignored pixels
    beta = 1.0 if pos_weight is None else pos_weight
    for reduction in ("none", "sum", "mean"):
        fused = L.binary_cross_entropy(z, y, pos_weight=pos_weight, reduction=reduction)
        (grad_fused,) = torch.autograd.grad(fused.sum(), z)
        zz, yy = (z.squeeze(1), y.squeeze(1)) if z.ndim == 4 else (z, y)
        valid = yy != 255
        loss = torch.where(valid, binary_cross_entropy_map(zz, torch.where(valid, yy, 0), beta), 0.0)
        ref = {"none": loss, "sum": loss.sum(), "mean": loss.sum() / valid.sum().clamp(min=1)}[reduction]
        (grad_ref,) = torch.autograd.grad(ref.sum(), z)
        torch.testing.assert_close(fused, ref)
        torch.testing.assert_close(grad_fused, grad_ref)
