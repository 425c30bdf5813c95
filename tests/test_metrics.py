"""Tests of segbook.metrics: the FCN paper's metrics, the absent-class rule, the value checks (validate=) and the
errors."""

import math

import pytest
import torch

from segbook.metrics import (
    SegmentationMetrics,
    confusion_matrix,
    dice_per_class,
    frequency_weighted_iou,
    iou_per_class,
    mean_accuracy,
    mean_iou,
    pixel_accuracy,
    precision_per_class,
    recall_per_class,
)

IGNORE = 255


# ---------------------------------------------------------------- plain-loop references
def loop_confusion(pred, target, num_classes, ignore_index=IGNORE):
    """n[i][j] counted pixel by pixel, with Python ints."""
    n = [[0] * num_classes for _ in range(num_classes)]
    for p, t in zip(pred.flatten().tolist(), target.flatten().tolist()):
        if t != ignore_index:
            n[t][p] += 1
    return n


def loop_metrics(n):
    """The FCN paper's section-5 formulas and the absent-class rule, written with explicit loops."""
    ncl = len(n)
    t = [sum(n[i]) for i in range(ncl)]  # pixels of class i in the target
    col = [sum(n[j][i] for j in range(ncl)) for i in range(ncl)]  # pixels predicted as class i
    iou, dice, recall, precision = [], [], [], []
    for i in range(ncl):
        union = t[i] + col[i] - n[i][i]
        iou.append(n[i][i] / union if union else math.nan)
        dice.append(2 * n[i][i] / (t[i] + col[i]) if t[i] + col[i] else math.nan)
        recall.append(n[i][i] / t[i] if t[i] else math.nan)
        precision.append(n[i][i] / col[i] if col[i] else math.nan)

    def nanmean(values):
        kept = [v for v in values if not math.isnan(v)]
        return sum(kept) / len(kept) if kept else math.nan

    return {
        "pixel_accuracy": sum(n[i][i] for i in range(ncl)) / sum(t),
        "mean_accuracy": nanmean(recall),
        "miou": nanmean(iou),
        "fwiou": sum(t[i] * iou[i] for i in range(ncl) if t[i]) / sum(t),
        "iou": iou,
        "dice": dice,
        "recall": recall,
        "precision": precision,
    }


def random_case(shape, num_classes, ignore_fraction, seed, absent=()):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, num_classes, shape, generator=g)
    pred = torch.randint(0, num_classes, shape, generator=g)
    for c in absent:  # make class c absent from the target (it may still be predicted)
        target[target == c] = (c + 1) % num_classes
    target[torch.rand(shape, generator=g) < ignore_fraction] = IGNORE
    return pred, target


def assert_close_with_nan(actual, expected):
    expected = torch.tensor(expected, dtype=torch.float64)
    torch.testing.assert_close(actual, expected, equal_nan=True)


# ---------------------------------------------------------------- a 3-class example worked by hand
# target           pred
# 0 0 0 1          0 0 1 1
# 1 1 2 2          1 2 2 2
# 255 255 0 1      0 2 0 1      (first two pixels unlabelled: not counted)
HAND_TARGET = torch.tensor([[[0, 0, 0, 1], [1, 1, 2, 2], [IGNORE, IGNORE, 0, 1]]])
HAND_PRED = torch.tensor([[[0, 0, 1, 1], [1, 2, 2, 2], [0, 2, 0, 1]]])
HAND_CM = torch.tensor(
    [
        [3, 1, 0],  # four 0s: three right, one called 1
        [0, 3, 1],  # four 1s: three right, one called 2
        [0, 0, 2],
    ]
)  # two 2s: both right


def test_confusion_matrix_of_hand_worked_example():
    assert torch.equal(confusion_matrix(HAND_PRED, HAND_TARGET, 3), HAND_CM)


def test_metrics_of_hand_worked_example():
    # TP = (3, 3, 2), FN = (1, 1, 0), FP = (0, 1, 1); t = (4, 4, 2); 10 counted pixels
    assert pixel_accuracy(HAND_CM) == pytest.approx(8 / 10)
    assert mean_accuracy(HAND_CM) == pytest.approx((3 / 4 + 3 / 4 + 2 / 2) / 3)
    assert_close_with_nan(iou_per_class(HAND_CM), [3 / 4, 3 / 5, 2 / 3])
    assert mean_iou(HAND_CM) == pytest.approx((3 / 4 + 3 / 5 + 2 / 3) / 3)
    assert frequency_weighted_iou(HAND_CM) == pytest.approx((4 * 3 / 4 + 4 * 3 / 5 + 2 * 2 / 3) / 10)
    assert_close_with_nan(dice_per_class(HAND_CM), [6 / 7, 6 / 8, 4 / 5])
    assert_close_with_nan(precision_per_class(HAND_CM), [3 / 3, 3 / 4, 2 / 3])
    assert_close_with_nan(recall_per_class(HAND_CM), [3 / 4, 3 / 4, 2 / 2])


# ---------------------------------------------------------------- against the plain loop
@pytest.mark.parametrize("num_classes", [2, 3, 6])
@pytest.mark.parametrize("shape", [(1, 4, 4), (3, 5, 7), (6, 9)])
@pytest.mark.parametrize("ignore_fraction", [0.0, 0.3])
@pytest.mark.parametrize("validate", [None, True, False])
def test_confusion_matrix_matches_plain_loop(num_classes, shape, ignore_fraction, validate):
    """Both paths: no pixel ignored (checked values: no mask at all) and some ignored (the extra bin)."""
    pred, target = random_case(shape, num_classes, ignore_fraction, seed=num_classes)
    expected = torch.tensor(loop_confusion(pred, target, num_classes))
    assert torch.equal(confusion_matrix(pred, target, num_classes, validate=validate), expected)


@pytest.mark.parametrize("num_classes", [2, 3, 6])
@pytest.mark.parametrize("shape", [(2, 4, 4), (3, 5, 7)])
@pytest.mark.parametrize("ignore_fraction", [0.0, 0.3])
@pytest.mark.parametrize("absent", [(), (1,)])
def test_metrics_match_plain_loop(num_classes, shape, ignore_fraction, absent):
    pred, target = random_case(shape, num_classes, ignore_fraction, seed=7, absent=absent)
    cm = confusion_matrix(pred, target, num_classes)
    expected = loop_metrics(loop_confusion(pred, target, num_classes))
    for name, fn in [
        ("pixel_accuracy", pixel_accuracy),
        ("mean_accuracy", mean_accuracy),
        ("miou", mean_iou),
        ("fwiou", frequency_weighted_iou),
    ]:
        assert fn(cm) == pytest.approx(expected[name]), name
    for name, fn in [
        ("iou", iou_per_class),
        ("dice", dice_per_class),
        ("recall", recall_per_class),
        ("precision", precision_per_class),
    ]:
        assert_close_with_nan(fn(cm), expected[name])


def test_dice_equals_two_iou_over_one_plus_iou():
    pred, target = random_case((4, 8, 8), 5, 0.1, seed=3)
    cm = confusion_matrix(pred, target, 5)
    iou = iou_per_class(cm)
    torch.testing.assert_close(dice_per_class(cm), 2 * iou / (1 + iou))


# ---------------------------------------------------------------- inputs: logits, ignore, dtypes
@pytest.mark.parametrize("batched", [True, False])
def test_logits_are_argmaxed_over_the_class_dimension(batched):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 5, 6, generator=g)
    target = torch.randint(0, 4, (2, 5, 6), generator=g)
    if not batched:
        logits, target = logits[0], target[0]  # (C, H, W) with an (H, W) target
    expected = confusion_matrix(logits.argmax(dim=-3), target, 4)
    assert torch.equal(confusion_matrix(logits, target, 4), expected)


def test_ignored_pixels_are_not_counted_whatever_is_predicted_there():
    pred, target = random_case((2, 6, 6), 3, 0.4, seed=1)
    ignored = target == IGNORE
    other = pred.clone()
    other[ignored] = (other[ignored] + 1) % 3
    before = pred.clone(), target.clone()
    cm = confusion_matrix(pred, target, 3)
    assert int(cm.sum()) == int((~ignored).sum())
    assert torch.equal(confusion_matrix(other, target, 3), cm)
    assert torch.equal(pred, before[0]) and torch.equal(target, before[1])  # the inputs are left alone


@pytest.mark.parametrize("validate", [None, False])
def test_prediction_equal_to_target_scores_one_even_with_ignore_values(validate):
    _, target = random_case((2, 6, 6), 3, 0.3, seed=2)
    cm = confusion_matrix(target.clone(), target, 3, validate=validate)  # pred holds 255 at ignored pixels
    assert mean_iou(cm) == 1.0 and pixel_accuracy(cm) == 1.0
    assert int(cm.sum()) == int((target != IGNORE).sum())


def test_empty_batch_counts_nothing():
    empty = torch.zeros(0, 4, 4, dtype=torch.long)
    assert torch.equal(confusion_matrix(empty, empty, 3), torch.zeros(3, 3, dtype=torch.long))
    assert torch.equal(confusion_matrix(empty, empty, 3, ignore_index=None), torch.zeros(3, 3, dtype=torch.long))


def test_ignore_index_none_counts_every_pixel():
    pred, target = random_case((2, 5, 5), 4, 0.0, seed=4)
    assert int(confusion_matrix(pred, target, 4, ignore_index=None).sum()) == target.numel()


def test_negative_ignore_index_is_allowed():
    target = torch.tensor([[0, 1, -1]])
    cm = confusion_matrix(torch.tensor([[0, 1, 1]]), target, 2, ignore_index=-1)
    assert torch.equal(cm, torch.tensor([[1, 0], [0, 1]]))


def test_uint8_masks_do_not_overflow():
    pred, target = random_case((2, 8, 8), 20, 0.2, seed=5)
    expected = confusion_matrix(pred, target, 20)
    assert torch.equal(confusion_matrix(pred.to(torch.uint8), target.to(torch.uint8), 20), expected)


# ---------------------------------------------------------------- the absent-class rule
def test_class_absent_from_target_and_prediction_is_nan_and_left_out_of_the_means():
    target = torch.tensor([[0, 0, 1, 1]])
    pred = torch.tensor([[0, 1, 1, 1]])
    cm = confusion_matrix(pred, target, 3)  # class 2 appears nowhere
    iou, dice = iou_per_class(cm), dice_per_class(cm)
    assert math.isnan(iou[2]) and math.isnan(dice[2])
    assert mean_iou(cm) == pytest.approx((1 / 2 + 2 / 3) / 2)  # not divided by 3
    assert mean_accuracy(cm) == pytest.approx((1 / 2 + 1) / 2)
    assert mean_iou(cm) == pytest.approx(mean_iou(confusion_matrix(pred, target, 2)))


def test_class_predicted_but_absent_from_target_counts_zero_against_the_mean():
    target = torch.tensor([[0, 0, 1, 1]])
    pred = torch.tensor([[0, 2, 1, 1]])
    cm = confusion_matrix(pred, target, 3)
    assert iou_per_class(cm)[2] == 0.0 and dice_per_class(cm)[2] == 0.0
    assert mean_iou(cm) == pytest.approx((1 / 2 + 1 + 0) / 3)


def test_mean_accuracy_averages_only_classes_present_in_the_target():
    target = torch.tensor([[0, 0, 1, 1]])
    pred = torch.tensor([[0, 2, 1, 1]])  # class 2 predicted, never true
    cm = confusion_matrix(pred, target, 3)
    assert math.isnan(recall_per_class(cm)[2])
    assert mean_accuracy(cm) == pytest.approx((1 / 2 + 1) / 2)


def test_precision_is_nan_for_a_class_never_predicted():
    cm = confusion_matrix(torch.tensor([[0, 0]]), torch.tensor([[0, 1]]), 2)
    assert math.isnan(precision_per_class(cm)[1]) and recall_per_class(cm)[1] == 0.0


def test_empty_confusion_matrix_gives_nan():
    cm = torch.zeros(3, 3, dtype=torch.long)
    assert all(math.isnan(f(cm)) for f in (pixel_accuracy, mean_accuracy, mean_iou, frequency_weighted_iou))


# ---------------------------------------------------------------- the accumulator
@pytest.mark.parametrize("num_classes", [2, 5])
@pytest.mark.parametrize("batches", [1, 3])
def test_accumulating_batches_equals_computing_on_the_concatenation(num_classes, batches):
    cases = [random_case((2, 6, 7), num_classes, 0.2, seed=10 + b) for b in range(batches)]
    metrics = SegmentationMetrics(num_classes)
    for pred, target in cases:
        metrics.update(pred, target)
    whole = torch.cat([p for p, _ in cases]), torch.cat([t for _, t in cases])
    cm = confusion_matrix(*whole, num_classes)
    result = metrics.compute()
    assert torch.equal(result["confusion_matrix"], cm)
    assert result["miou"] == pytest.approx(mean_iou(cm))
    assert result["fwiou"] == pytest.approx(frequency_weighted_iou(cm))
    torch.testing.assert_close(result["iou"], iou_per_class(cm), equal_nan=True)


def test_accumulated_miou_is_not_the_mean_of_batch_mious():
    first = torch.tensor([[0, 0, 0, 1]]), torch.tensor([[0, 0, 0, 0]])
    second = torch.tensor([[1, 1, 1, 1]]), torch.tensor([[1, 1, 1, 1]])
    metrics = SegmentationMetrics(2)
    per_batch = []
    for pred, target in (first, second):
        metrics.update(pred, target)
        per_batch.append(mean_iou(confusion_matrix(pred, target, 2)))
    assert metrics.compute()["miou"] == pytest.approx((3 / 4 + 4 / 5) / 2)
    assert sum(per_batch) / 2 == pytest.approx((3 / 8 + 1) / 2)


def test_compute_returns_every_documented_key():
    metrics = SegmentationMetrics(3)
    metrics.update(HAND_PRED, HAND_TARGET)
    result = metrics.compute()
    assert set(result) == {
        "pixel_accuracy",
        "mean_accuracy",
        "miou",
        "fwiou",
        "mean_dice",
        "iou",
        "dice",
        "precision",
        "recall",
        "confusion_matrix",
    }
    assert all(isinstance(result[k], float) for k in ("pixel_accuracy", "mean_accuracy", "miou", "fwiou"))
    assert result["mean_dice"] == pytest.approx((6 / 7 + 6 / 8 + 4 / 5) / 3)


def test_reset_forgets_everything():
    metrics = SegmentationMetrics(3)
    metrics.update(HAND_PRED, HAND_TARGET)
    metrics.reset()
    assert int(metrics.confusion.sum()) == 0
    metrics.update(HAND_PRED, HAND_TARGET)
    assert torch.equal(metrics.confusion, HAND_CM)


def test_update_accepts_logits_that_require_grad():
    logits = torch.randn(1, 3, 3, 4, requires_grad=True)
    metrics = SegmentationMetrics(3)
    metrics.update(logits, HAND_TARGET)
    assert torch.equal(metrics.confusion, confusion_matrix(logits.detach().argmax(1), HAND_TARGET, 3))


def test_update_refuses_a_list_with_the_usual_message():
    with pytest.raises(TypeError, match="pred must be a torch.Tensor"):
        SegmentationMetrics(3).update([[0, 1]], HAND_TARGET)


def test_table_lists_every_class_and_the_four_summaries():
    metrics = SegmentationMetrics(3, class_names=["sky", "grass", "cat"])
    metrics.update(HAND_PRED, HAND_TARGET)
    table = metrics.table(digits=2)
    assert [line.split()[0] for line in table.splitlines()[1:4]] == ["sky", "grass", "cat"]
    assert "mIoU 0.67" in table and "pixel accuracy 0.80" in table
    assert repr(metrics).startswith("SegmentationMetrics(num_classes=3, ignore_index=255, pixels=10)")


def test_table_before_any_update_says_so():
    assert "no pixels" in SegmentationMetrics(2).table()


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "pred, target, error, message",
    [
        (torch.tensor([[0, 7]]), torch.tensor([[0, 1]]), ValueError, "pred has class 7"),
        (torch.tensor([[0, -1]]), torch.tensor([[0, 1]]), ValueError, "pred has class -1"),
        (
            torch.tensor([[0, 1]]),
            torch.tensor([[0, 9]]),
            ValueError,
            "target has class 9 and is not the ignore index 255",
        ),
        (torch.tensor([[0, 1]]), torch.tensor([[0, -3]]), ValueError, "target has class -3"),
        (torch.tensor([[0, 1, 2]]), torch.tensor([[0, 1]]), ValueError, "pred must have target's shape (1, 2)"),
        (torch.zeros(1, 4, 1, 2), torch.tensor([[[0, 1]]]), ValueError, "with 4 channels, but num_classes is 5"),
        (torch.zeros(2, 5, 1, 2), torch.tensor([[[0, 1]]]), ValueError, "do not match target (1, 1, 2)"),
        (torch.tensor([[0.0, 1.0]]), torch.tensor([[0, 1]]), TypeError, "must hold integer class indices"),
        (torch.tensor([[0, 1]]), torch.tensor([[0.0, 1.0]]), TypeError, "target must be an? integer tensor"),
        ([[0, 1]], torch.tensor([[0, 1]]), TypeError, "pred must be a torch.Tensor"),
        (torch.tensor([0, 1]), torch.tensor([0, 1]), ValueError, "target must be 2-D or 3-D"),
    ],
)
def test_confusion_matrix_error_names_the_problem(pred, target, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        confusion_matrix(pred, target, 5)


@pytest.mark.parametrize("validate", [None, True])
def test_pred_is_checked_at_counted_pixels_only_when_some_are_ignored(validate):
    target = torch.tensor([[0, IGNORE, 1]])
    assert int(confusion_matrix(torch.tensor([[0, 9, 1]]), target, 5, validate=validate).sum()) == 2
    with pytest.raises(ValueError, match="pred has class 7"):
        confusion_matrix(torch.tensor([[7, 0, 1]]), target, 5, validate=validate)
    with pytest.raises(ValueError, match="target has class 6 and is not the ignore index 255"):
        confusion_matrix(torch.tensor([[0, 0, 1]]), torch.tensor([[6, IGNORE, 1]]), 5, validate=validate)


def test_validate_false_skips_the_class_range_check():
    pred, target = torch.tensor([[0, 7]]), torch.tensor([[0, 1]])
    with pytest.raises(ValueError, match="pred has class 7"):
        confusion_matrix(pred, target, 5, validate=True)
    confusion_matrix(pred, target, 5, validate=False)  # no check: 7 lands in another bin (a wrong count)


@pytest.mark.parametrize("validate", ["yes", 1, 0.0])
def test_validate_must_be_a_bool_or_none(validate):
    with pytest.raises(TypeError, match="validate must be True or False"):
        confusion_matrix(HAND_PRED, HAND_TARGET, 3, validate=validate)
    with pytest.raises(TypeError, match="validate must be True or False"):
        SegmentationMetrics(3, validate=validate)


@pytest.mark.parametrize("ignore_index", [IGNORE, None, -1])
@pytest.mark.parametrize("logits", [False, True])
def test_no_value_is_read_off_the_cpu_by_default(ignore_index, logits):
    """On the meta device a tensor has no values: reading one (int(x.max()), a bool of a tensor) raises.
    With the default validate=None confusion_matrix reads none, so counting a batch on a GPU never waits."""
    target = torch.zeros(2, 4, 5, dtype=torch.long, device="meta")
    pred = torch.zeros(2, 3, 4, 5, device="meta") if logits else torch.zeros_like(target)
    cm = confusion_matrix(pred, target, 3, ignore_index=ignore_index)
    assert cm.device.type == "meta" and cm.shape == (3, 3) and cm.dtype == torch.long
    with pytest.raises(RuntimeError, match="meta"):  # asking for the value checks does read values
        confusion_matrix(pred, target, 3, ignore_index=ignore_index, validate=True)


def test_segmentation_metrics_passes_validate_on():
    bad_pred = torch.tensor([[0, 1, 1, 7]])  # class 7 of 3, at a counted pixel
    target = torch.tensor([[0, 1, 1, 0]])
    with pytest.raises(ValueError, match="pred has class 7"):
        SegmentationMetrics(3).update(bad_pred, target)  # CPU: checked by default
    unchecked = SegmentationMetrics(3, validate=False)
    unchecked.update(bad_pred, target)  # not checked: the code 0 * 3 + 7 is the bin of (2, 1), a wrong count
    assert int(unchecked.confusion[2, 1]) == 1


def test_out_of_range_message_names_the_number_of_classes():
    with pytest.raises(ValueError, match=r"only 5 classes \(C=5, valid indices 0..4\)"):
        confusion_matrix(torch.tensor([[0, 7]]), torch.tensor([[0, 1]]), 5)


@pytest.mark.parametrize("ignore_index", [0, 2])
def test_ignore_index_that_is_a_class_is_refused(ignore_index):
    with pytest.raises(ValueError, match=f"ignore_index={ignore_index} is a class index"):
        SegmentationMetrics(3, ignore_index=ignore_index)


@pytest.mark.parametrize("num_classes, error", [(0, ValueError), (2.5, TypeError), ("3", TypeError)])
def test_num_classes_must_be_a_positive_int(num_classes, error):
    with pytest.raises(error, match="num_classes"):
        confusion_matrix(HAND_PRED, HAND_TARGET, num_classes)


@pytest.mark.parametrize(
    "cm, error, message",
    [
        (torch.zeros(2, 3), ValueError, "must be square"),
        (torch.zeros(3), ValueError, "must be 2-D"),
        (torch.tensor([[1, -1], [0, 1]]), ValueError, "counts >= 0"),
        (torch.ones(2, 2, dtype=torch.bool), TypeError, "must hold counts"),
    ],
)
def test_metric_functions_reject_a_bad_confusion_matrix(cm, error, message):
    with pytest.raises(error, match=message):
        mean_iou(cm)


def test_compute_before_update_explains_what_to_do():
    with pytest.raises(ValueError, match=r"counted no pixels: call update\(pred, target\) first"):
        SegmentationMetrics(3).compute()


@pytest.mark.parametrize(
    "names, error, message",
    [
        (["a", "b"], ValueError, "class_names has 2 names but num_classes is 3"),
        ("abc", TypeError, "sequence of strings"),
        (["a", "b", 3], TypeError, "sequence of strings"),
    ],
)
def test_class_names_are_checked(names, error, message):
    with pytest.raises(error, match=message):
        SegmentationMetrics(3, class_names=names)


# ---------------------------------------------------------------- against torchmetrics
@pytest.fixture
def tm():
    return pytest.importorskip("torchmetrics.classification")


@pytest.mark.parametrize("num_classes", [2, 4, 7])
@pytest.mark.parametrize("ignore_fraction", [0.0, 0.25])
@pytest.mark.parametrize("absent", [(), (1,), (0, 2)])
def test_matches_torchmetrics_where_conventions_agree(tm, num_classes, ignore_fraction, absent):
    absent = tuple(c for c in absent if c < num_classes - 1)
    pred, target = random_case((3, 11, 13), num_classes, ignore_fraction, seed=num_classes, absent=absent)
    for c in absent[:1]:  # one class in neither target nor prediction: the 0/0 case
        pred[pred == c] = (c + 1) % num_classes
    kw = dict(num_classes=num_classes, ignore_index=IGNORE)
    ours = SegmentationMetrics(num_classes)
    ours.update(pred, target)
    r = ours.compute()

    def theirs(metric, average):
        return metric(average=average, **kw)(pred, target).double()

    assert torch.equal(tm.MulticlassConfusionMatrix(**kw)(pred, target), r["confusion_matrix"])
    assert r["miou"] == pytest.approx(float(theirs(tm.MulticlassJaccardIndex, "macro")), abs=1e-6)
    assert r["fwiou"] == pytest.approx(float(theirs(tm.MulticlassJaccardIndex, "weighted")), abs=1e-6)
    assert r["mean_dice"] == pytest.approx(float(theirs(tm.MulticlassF1Score, "macro")), abs=1e-6)
    assert r["pixel_accuracy"] == pytest.approx(float(theirs(tm.MulticlassAccuracy, "micro")), abs=1e-6)
    # per class they write 0 where we write NaN (undefined): compare where both are defined
    for key, metric in [
        ("iou", tm.MulticlassJaccardIndex),
        ("dice", tm.MulticlassF1Score),
        ("recall", tm.MulticlassRecall),
        ("precision", tm.MulticlassPrecision),
    ]:
        defined = ~r[key].isnan()
        torch.testing.assert_close(r[key][defined], theirs(metric, None)[defined], atol=1e-6, rtol=0)
    # mean accuracy agrees when every predicted class is also in the target
    if not set(pred[target != IGNORE].unique().tolist()) - set(target[target != IGNORE].unique().tolist()):
        assert r["mean_accuracy"] == pytest.approx(float(theirs(tm.MulticlassAccuracy, "macro")), abs=1e-6)


@pytest.mark.parametrize("num_classes", [2, 5])
@pytest.mark.parametrize("ignore_fraction", [0.0, 0.3])
@pytest.mark.parametrize("validate", [None, False])
@pytest.mark.parametrize("dtype", [torch.long, torch.uint8])
def test_confusion_matrix_equals_torchmetrics(tm, num_classes, ignore_fraction, validate, dtype):
    pred, target = random_case((4, 9, 10), num_classes, ignore_fraction, seed=20 + num_classes)
    theirs = tm.MulticlassConfusionMatrix(num_classes=num_classes, ignore_index=IGNORE)(pred, target)
    ours = confusion_matrix(pred.to(dtype), target.to(dtype), num_classes, validate=validate)
    assert torch.equal(ours, theirs)
    logits = torch.nn.functional.one_hot(pred, num_classes).permute(0, 3, 1, 2).float()  # argmax = pred
    assert torch.equal(confusion_matrix(logits, target, num_classes, validate=validate), theirs)


def test_differs_from_torchmetrics_on_a_class_predicted_but_absent_from_the_target(tm):
    target = torch.tensor([[0, 0, 1, 1, IGNORE]])
    pred = torch.tensor([[0, 2, 1, 1, 1]])  # class 2 predicted once, never true; class 3 nowhere
    r = SegmentationMetrics(4)
    r.update(pred, target)
    r = r.compute()
    kw = dict(num_classes=4, ignore_index=IGNORE)
    # ours: mean accuracy over classes 0 and 1 only; torchmetrics also counts class 2 as recall 0
    assert r["mean_accuracy"] == pytest.approx((1 / 2 + 1) / 2)
    assert float(tm.MulticlassAccuracy(average="macro", **kw)(pred, target)) == pytest.approx((1 / 2 + 1 + 0) / 3)
    # per class: ours NaN for the undefined class 3, torchmetrics 0
    assert math.isnan(r["iou"][3])
    assert float(tm.MulticlassJaccardIndex(average=None, **kw)(pred, target)[3]) == 0.0
    # the means of IoU agree: class 2 counts 0 in both, class 3 is left out of both
    assert r["miou"] == pytest.approx(float(tm.MulticlassJaccardIndex(average="macro", **kw)(pred, target)))


# ---------------------------------------------------------------- threshold_sweep (chapter 8)
# probabilities        target (255: not counted)
# 0.1  0.4  0.6        0  1  0
# 0.5  0.8  0.95       1  1  255
# Five counted pixels. t = 0.3: 0.4, 0.6, 0.5, 0.8 are foreground -> FP = {0.6}, FN = {} -> 1/5.
# t = 0.5: 0.6, 0.8 (0.5 is not > 0.5) -> FP = {0.6}, FN = {0.4, 0.5} -> 3/5.
# t = 0.7: 0.8 -> FP = {}, FN = {0.4, 0.5} -> 2/5. t = 0.0: all five -> FP = {0.1, 0.6} -> 2/5.
SWEEP_P = torch.tensor([[0.1, 0.4, 0.6], [0.5, 0.8, 0.95]])
SWEEP_Y = torch.tensor([[0, 1, 0], [1, 1, IGNORE]])


def test_threshold_sweep_matches_the_example_worked_by_hand():
    from segbook.metrics import threshold_sweep

    sweep = threshold_sweep(SWEEP_P, SWEEP_Y, [0.3, 0.5, 0.7, 0.0])
    expected = {
        "threshold": [0.3, 0.5, 0.7, 0.0],
        "false_positive": [1 / 5, 1 / 5, 0.0, 2 / 5],
        "false_negative": [0.0, 2 / 5, 2 / 5, 0.0],
        "pixel_error": [1 / 5, 3 / 5, 2 / 5, 2 / 5],
    }
    for key, values in expected.items():
        torch.testing.assert_close(sweep[key], torch.tensor(values, dtype=torch.float64), msg=key)


def test_threshold_sweep_at_one_half_is_the_argmax_error_of_two_classes():
    from segbook.metrics import pixel_accuracy, threshold_sweep

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 2, 8, 8, generator=g)
    target = torch.randint(0, 2, (3, 8, 8), generator=g)
    target[0, :2] = IGNORE
    p = torch.softmax(logits, dim=1)[:, 1]
    error = threshold_sweep(p, target, torch.tensor([0.5]))["pixel_error"]
    accuracy = pixel_accuracy(confusion_matrix(logits.argmax(1), target, 2))
    assert error.item() == pytest.approx(1 - accuracy)


def test_threshold_sweep_without_ignore_index_counts_every_pixel_and_nan_when_none_counts():
    from segbook.metrics import threshold_sweep

    y = torch.tensor([[0, 1]])
    assert threshold_sweep(torch.tensor([[0.9, 0.9]]), y, [0.5], ignore_index=None)["pixel_error"].item() == 0.5
    empty = threshold_sweep(torch.tensor([[0.9]]), torch.tensor([[IGNORE]]), [0.5])
    assert math.isnan(empty["pixel_error"].item())


@pytest.mark.parametrize(
    "p, y, thresholds, kwargs, error, message",
    [
        (torch.tensor([[2.0]]), torch.tensor([[1]]), [0.5], {}, ValueError, r"in \[0, 1\].*not logits"),
        (torch.tensor([[0.5]]), torch.tensor([[2]]), [0.5], {}, ValueError, "got the value 2"),
        (torch.tensor([[0.5]]), torch.tensor([[1.0]]), [0.5], {}, TypeError, "target must be an integer"),
        (torch.tensor([[1]]), torch.tensor([[1]]), [0.5], {}, TypeError, "probabilities must be a floating"),
        (torch.tensor([[0.5, 0.5]]), torch.tensor([[1]]), [0.5], {}, ValueError, "same shape"),
        (torch.tensor([[0.5]]), torch.tensor([[1]]), [], {}, ValueError, "at least one"),
        (torch.tensor([[0.5]]), torch.tensor([[1]]), [1.5], {}, ValueError, r"thresholds\[0\] must be <= 1"),
        (torch.tensor([[0.5]]), torch.tensor([[1]]), 0.5, {}, TypeError, "sequence of numbers"),
        (torch.tensor([[0.5]]), torch.tensor([[1]]), [0.5], {"ignore_index": 1}, ValueError, "binary target"),
    ],
)
def test_threshold_sweep_errors_name_the_problem(p, y, thresholds, kwargs, error, message):
    from segbook.metrics import threshold_sweep

    with pytest.raises(error, match=message):
        threshold_sweep(p, y, thresholds, **kwargs)
