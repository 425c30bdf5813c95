"""Per-image averaging, MONAI's ignore_empty and multi-label scores, checked against torchmetrics and MONAI."""

from __future__ import annotations

import warnings

import pytest
import torch

from segbook.metrics import confusion_matrix, mean_iou, mean_per_image, multilabel_scores, scores_per_image

warnings.filterwarnings("ignore", category=DeprecationWarning)
tm_seg = pytest.importorskip("torchmetrics.functional.segmentation")
tm_cls = pytest.importorskip("torchmetrics.classification")
monai_metrics = pytest.importorskip("monai.metrics")


def classes(seed, n=4, c=4, h=6, w=7):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, c, (n, h, w), generator=g), torch.randint(0, c, (n, h, w), generator=g)


@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_image_miou_matches_torchmetrics(seed, include_background):
    pred, target = classes(seed)
    target[0][target[0] == 3] = 2  # image 0 lacks class 3 in its target
    ours = scores_per_image(pred, target, 4, include_background=include_background, ignore_index=None)
    theirs = tm_seg.mean_iou(pred, target, num_classes=4, include_background=include_background, input_format="index")
    torch.testing.assert_close(ours.nanmean(1), theirs.double())
    assert mean_per_image(ours) == pytest.approx(float(theirs.mean()))


@pytest.mark.parametrize("ignore_empty", [True, False])
def test_ignore_empty_matches_monai_dice(ignore_empty):
    pred, target = classes(3, c=3)
    target[1][target[1] == 2] = 0  # image 1: class 2 absent from the target (but predicted)
    pred[2][pred[2] == 1] = 0
    target[2][target[2] == 1] = 0  # image 2: class 1 in neither
    onehot = lambda x: torch.nn.functional.one_hot(x, 3).movedim(-1, 1).float()  # noqa: E731
    monai = monai_metrics.DiceMetric(include_background=True, reduction="none", ignore_empty=ignore_empty)
    theirs = monai(onehot(pred), onehot(target)).double()
    ours = scores_per_image(pred, target, 3, metric="dice", ignore_empty=ignore_empty)
    torch.testing.assert_close(ours, theirs, equal_nan=True)
    default = scores_per_image(pred, target, 3, metric="dice")  # segbook's rule: NaN only where both are empty
    assert torch.isnan(default[2, 1]) and default[1, 2] == 0


def test_pooled_and_per_image_differ_and_pooled_stays_the_default():
    target = torch.zeros(2, 10, 10, dtype=torch.long)
    target[0, :8, :8] = 1  # a large object, found
    target[1, 0, 0] = 1  # a one-pixel object, missed
    pred = target.clone()
    pred[1, 0, 0] = 0
    pooled = mean_iou(confusion_matrix(pred, target, 2))
    per_image = mean_per_image(scores_per_image(pred, target, 2))
    assert pooled == pytest.approx((135 / 136 + 64 / 65) / 2) and per_image == pytest.approx((1 + 99 / 100 / 2) / 2)
    assert pooled > 0.98 > 0.75 > per_image


@pytest.mark.parametrize("metric", ["iou", "dice"])
def test_multilabel_scores_match_torchmetrics(metric):
    g = torch.Generator().manual_seed(5)
    logits, target = torch.randn(3, 4, 5, 6, generator=g), torch.randint(0, 2, (3, 4, 5, 6), generator=g)
    ours = multilabel_scores(logits, target, metric=metric)
    kind = tm_cls.MultilabelJaccardIndex if metric == "iou" else tm_cls.MultilabelF1Score
    theirs = kind(num_labels=4, average=None)(torch.sigmoid(logits), target)
    torch.testing.assert_close(ours, theirs.double())
    per_image = multilabel_scores(logits, target, metric=metric, per_image=True)
    assert per_image.shape == (3, 4)
    assert torch.equal(multilabel_scores((logits > 0).long(), target, metric=metric), ours)


def test_multilabel_scores_ignore_and_refuse():
    target = torch.tensor([[[[1, 255]], [[0, 1]]]])
    pred = torch.tensor([[[[1, 0]], [[1, 1]]]])
    assert multilabel_scores(pred, target).tolist() == [1.0, 0.5]
    with pytest.raises(ValueError, match=r"pred \(logits\) holds 1 NaN"):
        multilabel_scores(torch.tensor([[[[float("nan"), 0.0]], [[1.0, 1.0]]]]), target)
    with pytest.raises(ValueError, match="pred must hold 0 or 1"):
        multilabel_scores(pred * 2, target)
    with pytest.raises(ValueError, match="metric must be one of"):
        scores_per_image(pred[:, 0], target[:, 0], 2, metric="f2")
    with pytest.raises(ValueError, match=r"pred \(logits\) holds"):
        scores_per_image(torch.full((1, 2, 1, 2), float("nan")), target[:, 0].clamp(max=1), 2)
