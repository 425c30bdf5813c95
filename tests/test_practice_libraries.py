"""Chapter 12: the practitioners' libraries beside the book's from-scratch losses, metrics and models.

Each test pins how one library call relates to segbook's: the arguments that make the two agree (to 1e-5), or,
where a convention differs so that no arguments agree, the exact relation (and a comment saying why). The
installed versions are the reference (smp 0.6, MONAI 1.6, torchmetrics 1.9, torchvision 0.29): a new version
that changes a convention fails here first, and the chapter's table must change with it.

Inputs are logits ``(N, C, H, W)`` (or ``(N, 1, H, W)``, binary) and integer targets ``(N, H, W)``, some with
ignored pixels (255), some with a class absent from an image or from the whole batch.

``python tests/test_practice_libraries.py`` prints the model table (parameters, FLOPs, forward time): measured,
not tested.
"""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, Dict, List, Tuple, Union

import pytest
import torch
import torch.nn.functional as F

smp = pytest.importorskip("segmentation_models_pytorch", reason="chapter 12's libraries: pip install '.[practice]'")
monai_losses = pytest.importorskip("monai.losses", reason="chapter 12's libraries: pip install '.[practice]'")
tmc = pytest.importorskip("torchmetrics.classification", reason="chapter 12's libraries: pip install '.[practice]'")
tms = pytest.importorskip("torchmetrics.segmentation", reason="chapter 12's libraries: pip install '.[practice]'")
tvs = pytest.importorskip("torchvision.models.segmentation")
smp_losses = smp.losses
from segmentation_models_pytorch.losses._functional import softmax_focal_loss_with_logits  # noqa: E402

from segbook.losses import (  # noqa: E402
    binary_focal_loss,
    cross_entropy,
    dice_ce_loss,
    focal_loss,
    soft_dice_loss,
    tversky_loss,
)
from segbook.metrics import SegmentationMetrics, confusion_matrix, iou_per_class  # noqa: E402
from segbook.models import UNet, UNetPlusPlus, count_parameters  # noqa: E402
from segbook.ops import count_flops  # noqa: E402

IGNORE = 255
C = 4
SEEDS = (0, 1, 2)
VARIANTS = ("plain", "ignore", "absent")


# ---------------------------------------------------------------- inputs and helpers
def make_case(seed: int, variant: str, *, n: int = 3, size: int = 8) -> Tuple[torch.Tensor, torch.Tensor]:
    """Logits (n, C, size, size) and targets (n, size, size).

    ``"plain"``: every class in every image (almost surely); ``"ignore"``: about 20% of the pixels are 255;
    ``"absent"``: class C - 1 is nowhere in the batch and class 1 is missing from image 0.
    """
    g = torch.Generator().manual_seed(seed)
    logits = 2 * torch.randn(n, C, size, size, generator=g)
    target = torch.randint(0, C, (n, size, size), generator=g)
    if variant == "ignore":
        target[torch.rand(n, size, size, generator=g) < 0.2] = IGNORE
    elif variant == "absent":
        target[target == C - 1] = 0
        target[0][target[0] == 1] = 2
    return logits, target


def make_binary_case(seed: int, ignore: bool, *, n: int = 3, size: int = 8) -> Tuple[torch.Tensor, torch.Tensor]:
    """Binary logits (n, 1, size, size) and 0/1 targets (n, size, size), ~20% ignored if asked."""
    g = torch.Generator().manual_seed(100 + seed)
    logits = 2 * torch.randn(n, 1, size, size, generator=g)
    target = torch.randint(0, 2, (n, size, size), generator=g)
    if ignore:
        target[torch.rand(n, size, size, generator=g) < 0.2] = IGNORE
    return logits, target


def as_one_image(logits: torch.Tensor, target: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The batch laid out as one tall image, (1, C, N*H, W) and (1, N*H, W): a sum over the batch and the pixels
    (smp's Dice, MONAI's ``batch=True``) becomes segbook's sum over one image's pixels."""
    n, c, h, w = logits.shape
    return logits.transpose(0, 1).reshape(1, c, n * h, w), target.reshape(1, n * h, w)


def one_vs_rest_focal(logits: torch.Tensor, target: torch.Tensor, **options: Any) -> torch.Tensor:
    """segbook's binary (sigmoid) focal loss of every channel against "this class or not" (ignored pixels kept
    ignored), one value per class (C,)."""
    per_class = []
    for c in range(logits.shape[1]):
        is_c = torch.where(target == IGNORE, IGNORE, (target == c).long())
        per_class.append(binary_focal_loss(logits[:, c], is_c, **options))
    return torch.stack(per_class)


def present_in_batch(target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(C,) float: 1 for the classes with a counted pixel somewhere in the batch."""
    return torch.stack([(target == c).any() for c in range(num_classes)]).float()


def close(theirs: object, ours: object, tol: float = 1e-5) -> None:
    torch.testing.assert_close(torch.as_tensor(theirs).double(), torch.as_tensor(ours).double(), rtol=0, atol=tol)


def far(theirs: Union[float, torch.Tensor], ours: Union[float, torch.Tensor], gap: float = 1e-3) -> None:
    """The two differ clearly: the convention matters on these inputs."""
    assert abs(float(theirs) - float(ours)) > gap, (float(theirs), float(ours))


cases = pytest.mark.parametrize("seed, variant", [(s, v) for s in SEEDS for v in VARIANTS])


# ---------------------------------------------------------------- MONAI's region losses: the same per-image mean
@cases
@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("smooth", [1.0, 1e-5])
def test_monai_dice_equals_soft_dice_per_image(seed, variant, include_background, smooth):
    # both sum per (image, class) and average the N*K fractions; both put smooth_nr = smooth_dr = s on the top and
    # the bottom of 2TP/(2TP + FP + FN); MONAI 1.6 masks ignore_index in prediction and target as segbook does
    logits, target = make_case(seed, variant)
    theirs = monai_losses.DiceLoss(
        softmax=True,
        to_onehot_y=True,
        include_background=include_background,
        smooth_nr=smooth,
        smooth_dr=smooth,
        ignore_index=IGNORE,
    )(logits, target[:, None])
    ours = soft_dice_loss(logits, target, smooth=smooth, include_background=include_background)
    close(theirs, ours)


@cases
def test_monai_dice_batch_true_sums_over_the_batch_first(seed, variant):
    # batch=True adds the counts of all images before dividing: segbook has no such option, but the same batch laid
    # out as one image gives it exactly
    logits, target = make_case(seed, variant)
    monai = monai_losses.DiceLoss(
        softmax=True, to_onehot_y=True, smooth_nr=1.0, smooth_dr=1.0, batch=True, ignore_index=IGNORE
    )
    theirs = monai(logits, target[:, None])
    close(theirs, soft_dice_loss(*as_one_image(logits, target), smooth=1.0))
    far(theirs, soft_dice_loss(logits, target, smooth=1.0))  # not the per-image mean


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ignore", [False, True])
def test_monai_dice_binary_sigmoid_equals_soft_dice(seed, ignore):
    logits, target = make_binary_case(seed, ignore)
    monai = monai_losses.DiceLoss(sigmoid=True, smooth_nr=1.0, smooth_dr=1.0, ignore_index=IGNORE)
    close(monai(logits, target[:, None].float()), soft_dice_loss(logits, target, smooth=1.0))


@cases
@pytest.mark.parametrize("include_background", [True, False])
def test_monai_tversky_equals_tversky_loss(seed, variant, include_background):
    # MONAI's alpha weighs false positives, beta false negatives (Salehi et al.): segbook's fp_weight, fn_weight.
    # Compared per (image, class) pair (reduction="none", (N, K) in both).
    logits, target = make_case(seed, variant)
    theirs = monai_losses.TverskyLoss(
        softmax=True,
        to_onehot_y=True,
        include_background=include_background,
        alpha=0.3,
        beta=0.7,
        smooth_nr=1.0,
        smooth_dr=1.0,
        ignore_index=IGNORE,
        reduction="none",
    )(logits, target[:, None])
    options = dict(smooth=1.0, include_background=include_background, reduction="none")
    close(theirs, tversky_loss(logits, target, fp_weight=0.3, fn_weight=0.7, **options))
    swapped = tversky_loss(logits, target, fp_weight=0.7, fn_weight=0.3, **options)
    far((theirs - swapped).abs().max(), 0.0)  # the letters matter: MONAI's alpha is *not* the slide's beta


# ---------------------------------------------------------------- MONAI's focal loss: softmax, sigmoid, and a factor C
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("gamma", [2.0, 0.5])
def test_monai_softmax_focal_is_segbook_focal_over_c_without_ignore_index(seed, gamma):
    # MONAI's loss map is (N, C, H, W), non-zero only in the true class's channel; "mean" divides its sum by
    # N*C*H*W, segbook's by the N*H*W pixels: a factor C
    logits, target = make_case(seed, "plain")
    theirs = monai_losses.FocalLoss(to_onehot_y=True, use_softmax=True, gamma=gamma)(logits, target[:, None])
    close(theirs, focal_loss(logits, target, gamma=gamma) / C)
    # a scalar alpha a becomes the class weights (1 - a, a, a, ...): background 1 - a, every other class a
    theirs = monai_losses.FocalLoss(to_onehot_y=True, use_softmax=True, gamma=gamma, alpha=0.25)(
        logits, target[:, None]
    )
    close(theirs, focal_loss(logits, target, gamma=gamma, alpha=[0.75] + [0.25] * (C - 1)) / C)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("variant", ["plain", "ignore"])
def test_monai_softmax_focal_with_ignore_index_is_segbook_focal(seed, variant):
    # with ignore_index set, MONAI's mean divides by the (N, 1, H, W) mask's sum, the counted pixels: no factor C,
    # even when no pixel is ignored. The same loss is C times larger once ignore_index is given.
    logits, target = make_case(seed, variant)
    theirs = monai_losses.FocalLoss(to_onehot_y=True, use_softmax=True, gamma=2.0, ignore_index=IGNORE)(
        logits, target[:, None]
    )
    close(theirs, focal_loss(logits, target, gamma=2.0))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("variant", ["plain", "ignore"])
def test_monai_default_focal_is_sigmoid_one_vs_rest(seed, variant):
    # MONAI's default FocalLoss (use_softmax=False) is a sigmoid focal loss per channel, "class c or not": the mean
    # over classes of segbook's binary focal loss; with ignore_index the same factor-C switch gives their sum
    logits, target = make_case(seed, variant)
    per_class = one_vs_rest_focal(logits, target, alpha=0.25, gamma=2.0)
    if variant == "plain":
        theirs = monai_losses.FocalLoss(to_onehot_y=True, gamma=2.0, alpha=0.25)(logits, target[:, None])
        close(theirs, per_class.mean())
    theirs = monai_losses.FocalLoss(to_onehot_y=True, gamma=2.0, alpha=0.25, ignore_index=IGNORE)(
        logits, target[:, None]
    )
    close(theirs, per_class.sum())
    far(theirs, focal_loss(logits, target, gamma=2.0))  # no setting of segbook's softmax focal loss gives it


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ignore", [False, True])
def test_monai_binary_focal_equals_binary_focal_loss(seed, ignore):
    # one channel: the alpha conventions agree (alpha on foreground pixels, 1 - alpha on background) and C = 1
    logits, target = make_binary_case(seed, ignore)
    theirs = monai_losses.FocalLoss(gamma=2.0, alpha=0.25, ignore_index=IGNORE if ignore else None)(
        logits, target[:, None].float()
    )
    close(theirs, binary_focal_loss(logits, target, alpha=0.25, gamma=2.0))


# ---------------------------------------------------------------- MONAI's combined losses
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("variant", ["plain", "absent"])
def test_monai_dice_ce_equals_dice_ce_loss_without_ignored_pixels(seed, variant):
    logits, target = make_case(seed, variant)
    theirs = monai_losses.DiceCELoss(
        softmax=True, to_onehot_y=True, smooth_nr=1.0, smooth_dr=1.0, lambda_dice=0.5, lambda_ce=2.0
    )(logits, target[:, None])
    close(theirs, dice_ce_loss(logits, target, smooth=1.0, dice_weight=0.5, ce_weight=2.0))


@pytest.mark.parametrize("seed", SEEDS)
def test_monai_dice_ce_has_no_ignore_index(seed):
    # MONAI 1.6's DiceCELoss takes no ignore_index (its DiceLoss does) and fails on a 255 in the target; with the
    # ignored pixels removed by hand (one image: its counted pixels as a (1, C, P, 1) column) it equals segbook's
    logits, target = make_case(seed, "ignore", n=1)
    with pytest.raises(TypeError, match="ignore_index"):
        monai_losses.DiceCELoss(ignore_index=IGNORE)
    monai = monai_losses.DiceCELoss(softmax=True, to_onehot_y=True, smooth_nr=1.0, smooth_dr=1.0)
    with pytest.raises(RuntimeError, match="255 is out of bounds"):
        monai(logits, target[:, None])
    counted = target[0] != IGNORE
    column = logits[0][:, counted].reshape(1, C, -1, 1)
    close(monai(column, target[0][counted].reshape(1, 1, -1, 1)), dice_ce_loss(logits, target, smooth=1.0))


@pytest.mark.parametrize("seed", SEEDS)
def test_monai_dice_focal_uses_a_sigmoid_focal_term(seed):
    # MONAI's DiceFocalLoss has no use_softmax: its focal term is the sigmoid one-vs-rest loss of its default
    # FocalLoss, so it is segbook's soft Dice + the class mean of binary focal losses (alpha None), never
    # segbook's dice_focal_loss (softmax focal)
    logits, target = make_case(seed, "plain")
    theirs = monai_losses.DiceFocalLoss(softmax=True, to_onehot_y=True, smooth_nr=1.0, smooth_dr=1.0, gamma=2.0)(
        logits, target[:, None]
    )
    dice = soft_dice_loss(logits, target, smooth=1.0)
    close(theirs, dice + one_vs_rest_focal(logits, target, alpha=None, gamma=2.0).mean())
    far(theirs, dice + focal_loss(logits, target, gamma=2.0))


# ---------------------------------------------------------------- smp's region losses: batch sums, absent classes 0
def smp_relation(per_class: torch.Tensor, target: torch.Tensor, classes: List[int]) -> torch.Tensor:
    """smp's region loss from segbook's per-class losses of the batch as one image: a class with no counted pixel
    in the whole batch contributes 0 (smp zeroes it) and still counts in the mean over ``classes``."""
    return (per_class * present_in_batch(target, C))[classes].mean()


@cases
@pytest.mark.parametrize("classes", [None, [1, 2, 3]])
def test_smp_dice_is_a_batch_dice_with_double_smoothing(seed, variant, classes):
    # smp: counts summed over the batch (dims (0, 2)), fraction (TP + s)/(TP + (FP + FN)/2 + s), i.e. the Dice
    # fraction with 2s on top and bottom: smp smooth=s is segbook smooth=2s; absent classes give 0; classes=[1..]
    # is include_background=False
    logits, target = make_case(seed, variant)
    theirs = smp_losses.DiceLoss("multiclass", classes=classes, smooth=0.5, ignore_index=IGNORE)(logits, target)
    one_logits, one_target = as_one_image(logits, target)
    per_class = soft_dice_loss(one_logits, one_target, smooth=1.0, reduction="none")[0]
    close(theirs, smp_relation(per_class, target, classes or list(range(C))))
    ours = soft_dice_loss(one_logits, one_target, smooth=1.0, include_background=classes is None)
    if variant == "absent":
        far(theirs, ours)  # segbook's smoothed Dice of an absent class is about 1, smp's 0
    else:
        close(theirs, ours)  # every class present: plain equality


@cases
def test_smp_jaccard_and_tversky_are_batch_tversky_losses(seed, variant):
    # Jaccard = Tversky with weights (1, 1); smp's alpha weighs FP, beta FN; smooth is the same s here
    logits, target = make_case(seed, variant)
    one = as_one_image(logits, target)
    everything = list(range(C))
    jaccard = smp_losses.JaccardLoss("multiclass", smooth=1.0, ignore_index=IGNORE)(logits, target)
    per_class = tversky_loss(*one, fp_weight=1.0, fn_weight=1.0, smooth=1.0, reduction="none")[0]
    close(jaccard, smp_relation(per_class, target, everything))
    tversky = smp_losses.TverskyLoss("multiclass", alpha=0.3, beta=0.7, smooth=1.0, ignore_index=IGNORE)(logits, target)
    per_class = tversky_loss(*one, fp_weight=0.3, fn_weight=0.7, smooth=1.0, reduction="none")[0]
    close(tversky, smp_relation(per_class, target, everything))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ignore", [False, True])
def test_smp_binary_dice_is_a_batch_dice(seed, ignore):
    logits, target = make_binary_case(seed, ignore)
    theirs = smp_losses.DiceLoss("binary", smooth=0.5, ignore_index=IGNORE)(logits, target[:, None])
    one_logits, one_target = as_one_image(logits, target)
    close(theirs, soft_dice_loss(one_logits, one_target, smooth=1.0))


# ---------------------------------------------------------------- smp's focal and cross-entropy losses
@cases
def test_smp_multiclass_focal_is_sigmoid_one_vs_rest(seed, variant):
    # smp's FocalLoss("multiclass") runs the binary (sigmoid) focal loss on each channel, "class c or not", and
    # averages the C values: segbook's binary_focal_loss per channel, averaged; ignored pixels are dropped in both
    logits, target = make_case(seed, variant)
    theirs = smp_losses.FocalLoss("multiclass", alpha=0.25, gamma=2.0, ignore_index=IGNORE)(logits, target)
    close(theirs, one_vs_rest_focal(logits, target, alpha=0.25, gamma=2.0).mean())
    far(theirs, focal_loss(logits, target, gamma=2.0))


@pytest.mark.parametrize("seed", SEEDS)
def test_smp_softmax_focal_function_equals_focal_loss(seed):
    # smp's only softmax focal loss is a function without alpha and ignore_index, and it is segbook's focal_loss
    logits, target = make_case(seed, "plain")
    for gamma in (0.0, 2.0):
        theirs = softmax_focal_loss_with_logits(logits, target, gamma=gamma)
        close(theirs, focal_loss(logits, target, gamma=gamma, ignore_index=None))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ignore", [False, True])
def test_smp_binary_focal_equals_binary_focal_loss(seed, ignore):
    logits, target = make_binary_case(seed, ignore)
    theirs = smp_losses.FocalLoss("binary", alpha=0.25, gamma=2.0, ignore_index=IGNORE)(logits, target[:, None])
    close(theirs, binary_focal_loss(logits, target, alpha=0.25, gamma=2.0))
    no_alpha = smp_losses.FocalLoss("binary", gamma=2.0)(logits, target.clamp(max=1)[:, None])  # smp: alpha=None
    close(no_alpha, binary_focal_loss(logits, target.clamp(max=1), alpha=None, gamma=2.0))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("variant", ["plain", "ignore"])
def test_cross_entropies(seed, variant):
    logits, target = make_case(seed, variant)
    ours = cross_entropy(logits, target)
    close(F.cross_entropy(logits, target, ignore_index=IGNORE), ours)  # torch: mean over the counted pixels
    # smp's SoftCrossEntropyLoss averages over *all* pixels, ignored ones counting 0: segbook's value times the
    # counted fraction. Its default smooth_factor=None fails (1.0 - None): pass 0.0.
    theirs = smp_losses.SoftCrossEntropyLoss(smooth_factor=0.0, ignore_index=IGNORE)(logits, target)
    counted = (target != IGNORE).double().mean()
    close(theirs, ours * counted)
    if variant == "ignore":
        far(theirs, ours)
    with pytest.raises(TypeError):
        smp_losses.SoftCrossEntropyLoss(ignore_index=IGNORE)(logits, target)


# ---------------------------------------------------------------- metrics: torchmetrics
def batches(seed: int, count: int = 4) -> List[Tuple[torch.Tensor, torch.Tensor]]:
    """A small data set in ``count`` batches: logits (2, C, 6, 7), targets with ~15% ignored pixels; class C - 1
    is neither a target nor a prediction (IoU 0/0: left out of both means, counting it as 0 would differ)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        logits = torch.randn(2, C, 6, 7, generator=g)
        logits[:, C - 1] -= 10.0  # never predicted either
        target = torch.randint(0, C - 1, (2, 6, 7), generator=g)
        target[torch.rand(2, 6, 7, generator=g) < 0.15] = IGNORE
        out.append((logits, target))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_data_set_miou_and_pixel_accuracy_equal_torchmetrics(seed):
    ours = SegmentationMetrics(C)
    jaccard = tmc.MulticlassJaccardIndex(num_classes=C, ignore_index=IGNORE, average="macro")
    accuracy = tmc.MulticlassAccuracy(num_classes=C, ignore_index=IGNORE, average="micro")
    for logits, target in batches(seed):
        ours.update(logits, target)
        jaccard.update(logits, target)
        accuracy.update(logits, target)
    result = ours.compute()
    close(jaccard.compute(), result["miou"])
    close(accuracy.compute(), result["pixel_accuracy"])


# Two 2x2 images, C = 3. Image 0 is perfect (classes 0, 1, 2 all IoU 1); image 1 is all class 1, half of it
# predicted as class 0 (class 1: IoU 2/4; class 0: IoU 0/2; class 2 nowhere). Four different "mean IoUs":
#   data set (segbook, MulticlassJaccardIndex): class 0 1/3, class 1 3/5, class 2 1 -> 0.6444
#   MeanIoU(per_class=False): the mean over the 5 (image, class) pairs whose union is not empty: 3.5/5 = 0.7
#   mean over images of each image's mIoU: (1 + 0.25) / 2 = 0.625
#   MeanIoU(per_class=True), then the mean over classes: (0.5 + 0.75 + 1) / 3 = 0.75
EXAMPLE_TARGET = torch.tensor([[[0, 1], [2, 2]], [[1, 1], [1, 1]]])
EXAMPLE_PRED = torch.tensor([[[0, 1], [2, 2]], [[1, 1], [0, 0]]])


def per_image_iou(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N, C) per-image IoU by segbook, NaN where a class is in neither the image's target nor its prediction."""
    return torch.stack([iou_per_class(confusion_matrix(p, t, num_classes)) for p, t in zip(pred, target)])


def test_mean_iou_of_torchmetrics_on_the_example():
    pred, target = EXAMPLE_PRED, EXAMPLE_TARGET
    data_set = SegmentationMetrics(3)
    data_set.update(pred, target)
    assert data_set.compute()["miou"] == pytest.approx((1 / 3 + 3 / 5 + 1) / 3)
    jaccard = tmc.MulticlassJaccardIndex(num_classes=3, average="macro")(pred, target)
    assert float(jaccard) == pytest.approx((1 / 3 + 3 / 5 + 1) / 3, abs=1e-6)
    pooled = tms.MeanIoU(num_classes=3, input_format="index")(pred, target)
    assert float(pooled) == pytest.approx(3.5 / 5, abs=1e-6)
    per_image = per_image_iou(pred, target, 3)
    assert float(per_image.nanmean(1).mean()) == pytest.approx(0.625)  # not what MeanIoU computes
    per_class = tms.MeanIoU(num_classes=3, per_class=True, input_format="index")(pred, target)
    close(per_class, torch.tensor([0.5, 0.75, 1.0]), tol=1e-6)
    no_background = tms.MeanIoU(num_classes=3, include_background=False, input_format="index")(pred, target)
    assert float(no_background) == pytest.approx((1 + 1 + 0.5) / 3, abs=1e-6)  # pairs (0,1), (0,2), (1,1)


@pytest.mark.parametrize("seed", SEEDS)
def test_mean_iou_of_torchmetrics_is_a_mean_over_image_class_pairs(seed):
    # torchmetrics.segmentation.MeanIoU scores each image on its own: per (image, class) IoU, a pair whose union is
    # empty (class in neither the image's target nor its prediction) left out. per_class=False: the mean over all
    # remaining pairs of the data set (not the mean over images of per-image means); per_class=True: per class,
    # the mean over the images where it is defined, -1 for a class defined in no image.
    g = torch.Generator().manual_seed(seed)
    pooled = tms.MeanIoU(num_classes=C, input_format="index")
    by_class = tms.MeanIoU(num_classes=C, per_class=True, input_format="index")
    data_set = SegmentationMetrics(C)
    images = []
    for _ in range(3):
        target = torch.randint(0, C - 1, (2, 5, 5), generator=g)
        noise = torch.randint(0, C - 1, (2, 5, 5), generator=g)
        pred = torch.where(torch.rand(2, 5, 5, generator=g) < 0.7, target, noise)
        target[0][target[0] == 1], pred[0][pred[0] == 1] = 0, 0  # class 1 not in image 0: 2 pairs there, not 3
        for metric in (pooled, by_class, data_set):
            metric.update(pred, target)
        images.append(per_image_iou(pred, target, C))
    iou = torch.cat(images)  # (6, C), NaN where undefined
    close(pooled.compute(), iou.nanmean())
    close(by_class.compute(), iou.nanmean(0).nan_to_num(-1.0))
    assert float(by_class.compute()[C - 1]) == -1.0
    far(pooled.compute(), data_set.compute()["miou"])
    far(pooled.compute(), iou.nanmean(1).mean())


def test_mean_iou_of_torchmetrics_has_no_ignore_index():
    target = EXAMPLE_TARGET.clone()
    target[0, 0, 0] = IGNORE
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        tms.MeanIoU(num_classes=3, input_format="index")(EXAMPLE_PRED, target)


# ---------------------------------------------------------------- models: the chapter's mapping table
MODELS: Dict[str, Callable[[], torch.nn.Module]] = {
    "segbook UNet(3)": lambda: UNet(3),
    "segbook UNet(3, width=64, depth=4)": lambda: UNet(3, width=64, depth=4),
    "segbook UNetPlusPlus(3)": lambda: UNetPlusPlus(3),
    "segbook UNetPlusPlus(3, deep_supervision=False)": lambda: UNetPlusPlus(3, deep_supervision=False),
    "smp Unet resnet18": lambda: smp.Unet("resnet18", encoder_weights=None, classes=3),
    "smp Unet resnet18 depth 3": lambda: smp.Unet(
        "resnet18", encoder_weights=None, encoder_depth=3, decoder_channels=(64, 32, 16), classes=3
    ),
    "smp UnetPlusPlus resnet18": lambda: smp.UnetPlusPlus("resnet18", encoder_weights=None, classes=3),
    "smp UnetPlusPlus resnet18 depth 3": lambda: smp.UnetPlusPlus(
        "resnet18", encoder_weights=None, encoder_depth=3, decoder_channels=(64, 32, 16), classes=3
    ),
    "torchvision fcn_resnet50": lambda: tvs.fcn_resnet50(weights=None, weights_backbone=None, num_classes=3),
    "torchvision fcn_resnet50 aux": lambda: tvs.fcn_resnet50(
        weights=None, weights_backbone=None, num_classes=3, aux_loss=True
    ),
    "torchvision deeplabv3_mobilenet_v3_large": lambda: tvs.deeplabv3_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=3
    ),
    "torchvision lraspp_mobilenet_v3_large": lambda: tvs.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=3
    ),
}
# name: (parameters, output kind); counted with the installed smp 0.6 / torchvision 0.29
EXPECTED = {
    "segbook UNet(3)": (482_771, "tensor"),
    "segbook UNet(3, width=64, depth=4)": (31_037_763, "tensor"),  # the paper's U-Net (with batch norm)
    "segbook UNetPlusPlus(3)": (553_081, "list"),
    "segbook UNetPlusPlus(3, deep_supervision=False)": (552_979, "tensor"),
    "smp Unet resnet18": (14_328_499, "tensor"),
    "smp Unet resnet18 depth 3": (11_377_843, "tensor"),
    "smp UnetPlusPlus resnet18": (15_970_739, "tensor"),
    "smp UnetPlusPlus resnet18 depth 3": (11_507_123, "tensor"),
    "torchvision fcn_resnet50": (32_947_779, "dict out"),
    "torchvision fcn_resnet50 aux": (35_308_358, "dict out aux"),
    "torchvision deeplabv3_mobilenet_v3_large": (11_020_851, "dict out"),
    "torchvision lraspp_mobilenet_v3_large": (3_218_478, "dict out"),
}


@pytest.fixture(scope="module")
def built():
    """Every model of the table, built while the network is refused; also returns every attempt to reach it."""
    attempts: List[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network refused by test_practice_libraries")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        torch.manual_seed(0)
        models = {name: build().eval() for name, build in MODELS.items()}
    return models, attempts


def kind(output: object) -> str:
    if isinstance(output, torch.Tensor):
        return "tensor"
    if isinstance(output, dict):
        return " ".join(["dict", *output])
    assert isinstance(output, list), type(output)
    return "list"


def outputs(output: object) -> List[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, dict):
        return list(output.values())
    assert isinstance(output, list), type(output)
    return output


def test_models_build_offline_with_weights_none(built):
    models, attempts = built
    assert attempts == []
    assert set(models) == set(EXPECTED)


@pytest.mark.parametrize("name", list(MODELS))
def test_model_parameters_and_outputs(built, name):
    model = built[0][name]
    parameters, expected_kind = EXPECTED[name]
    assert count_parameters(model) == parameters
    sizes = [64] if name.startswith("smp UnetPlusPlus") else [64, 100]  # see test_smp_input_size_rule
    with torch.no_grad():
        for size in sizes:
            out = model(torch.rand(1, 3, size, size))
            assert kind(out) == expected_kind
            assert [tuple(o.shape) for o in outputs(out)] == [(1, 3, size, size)] * len(outputs(out))


def test_smp_input_size_rule(built):
    # smp checks that H and W are multiples of the encoder's output stride 2**encoder_depth, except for models
    # that declare requires_divisible_input_shape = False: in smp 0.6 Unet does (its decoder resizes to each
    # skip), UnetPlusPlus does not. The error names the padded size; pad, predict, crop back.
    assert smp.Unet.requires_divisible_input_shape is False
    assert smp.UnetPlusPlus.requires_divisible_input_shape is True
    image = torch.rand(1, 3, 100, 100)
    with torch.no_grad():
        for name, stride, padded in [
            ("smp UnetPlusPlus resnet18", 32, 128),
            ("smp UnetPlusPlus resnet18 depth 3", 8, 104),
        ]:
            model = built[0][name]
            assert model.encoder.output_stride == stride
            with pytest.raises(
                RuntimeError,
                match=rf"divisible by {stride}\. Consider pad your images to shape "
                rf"\({padded}, {padded}\)",
            ):
                model(image)
            logits = model(F.pad(image, (0, padded - 100, 0, padded - 100)))[..., :100, :100]
            assert logits.shape == (1, 3, 100, 100)


# ---------------------------------------------------------------- measured, not tested
def model_table(repeats: int = 5) -> List[Tuple[str, int, int, int, float, str]]:
    """(name, parameters, FLOPs at 64x64, FLOPs at 128x128, best forward ms at 64x64 on one CPU thread, output)."""
    torch.set_num_threads(1)
    rows = []
    for name, build in MODELS.items():
        torch.manual_seed(0)
        model = build().eval()
        x = torch.rand(1, 3, 64, 64)
        flops = [count_flops(model, torch.rand(1, 3, s, s)) for s in (64, 128)]
        with torch.no_grad():
            out = model(x)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - start)
        rows.append((name, count_parameters(model), flops[0], flops[1], 1000 * min(times), kind(out)))
    return rows


if __name__ == "__main__":
    print(f"{'model':48s} {'params':>12s} {'GFLOPs 64':>10s} {'GFLOPs 128':>11s} {'ms 64':>7s}  output")
    for name, params, f64, f128, ms, out in model_table():
        print(f"{name:48s} {params:>12,d} {f64 / 1e9:>10.3f} {f128 / 1e9:>11.3f} {ms:>7.1f}  {out}")
