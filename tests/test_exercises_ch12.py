"""Chapter 12's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import pytest
import torch
import torch.nn.functional as F
from exercise_helpers import assert_rejected, notebook_solutions, standard_exercise_tests

from segbook.exercises import ExerciseError, ch12

SOLUTIONS = notebook_solutions("12_practice.ipynb", 12)
CHECKS = [
    (ch12.check_aux_loss, "aux_loss"),
    (ch12.check_best_threshold, "best_threshold"),
    (ch12.check_answer_12_3, "answer_12_3"),
    (ch12.check_answer_12_4, "answer_12_4"),
]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


# --- Exercise 12.1 -----------------------------------------------------------------------------------------


def aux_weighs_the_main_head(output, masks, aux_weight=0.5):
    return aux_weight * F.cross_entropy(output["out"], masks, ignore_index=255) + F.cross_entropy(
        output["aux"], masks, ignore_index=255
    )


def aux_required(output, masks, aux_weight=0.5):
    return F.cross_entropy(output["out"], masks, ignore_index=255) + aux_weight * F.cross_entropy(
        output["aux"], masks, ignore_index=255
    )


def aux_counts_ignored_pixels(output, masks, aux_weight=0.5):
    clean = masks.clamp(max=output["out"].shape[1] - 1)
    loss = F.cross_entropy(output["out"], clean)
    if "aux" in output:
        loss = loss + aux_weight * F.cross_entropy(output["aux"], clean)
    return loss


def aux_ignores_the_weight(output, masks, aux_weight=0.5):
    loss = F.cross_entropy(output["out"], masks, ignore_index=255)
    if "aux" in output:
        loss = loss + 0.5 * F.cross_entropy(output["aux"], masks, ignore_index=255)
    return loss


@pytest.mark.parametrize(
    "wrong, words",
    [
        (aux_weighs_the_main_head, ["weight 0.5"]),
        (aux_required, ["only 'out'"]),
        (aux_counts_ignored_pixels, ["not counted"]),
        (aux_ignores_the_weight, ["aux_weight=0.2"]),
    ],
)
def test_aux_loss_rejects(wrong, words):
    assert_rejected(ch12.check_aux_loss, wrong, "Exercise 12.1", *words)


# --- Exercise 12.2 -----------------------------------------------------------------------------------------


def _iou(probabilities, masks, t, *, at_least=False, keep_ignored=False):
    counted = torch.ones_like(masks, dtype=torch.bool) if keep_ignored else masks != 255
    truth = (masks == 1) & counted
    called = ((probabilities >= t) if at_least else (probabilities > t)) & counted
    union = int((called | truth).sum())
    return int((called & truth).sum()) / union if union else 1.0


def returns_the_iou(probabilities, masks, thresholds):
    return max(_iou(probabilities, masks, t) for t in thresholds)


def last_of_ties(probabilities, masks, thresholds):
    scores = [_iou(probabilities, masks, t) for t in thresholds]
    best = max(scores)
    return [t for t, s in zip(thresholds, scores) if s == best][-1]


def counts_ignored(probabilities, masks, thresholds):
    return max(thresholds, key=lambda t: _iou(probabilities, masks, t, keep_ignored=True))


def always_half(probabilities, masks, thresholds):
    return 0.5


@pytest.mark.parametrize(
    "wrong, words",
    [
        (returns_the_iou, ["worked by hand"]),
        (last_of_ties, ["ties"]),
        (counts_ignored, ["not counted"]),
        (always_half, ["timid"]),
    ],
)
def test_best_threshold_rejects(wrong, words):
    assert_rejected(ch12.check_best_threshold, wrong, "Exercise 12.2", *words)


# --- Exercise 12.3 -----------------------------------------------------------------------------------------


def _question_rejects(check, answer, label, *words):
    with pytest.raises(ExerciseError) as info:
        check(answer)
    message = str(info.value)
    assert label in message, message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize(
    "answer, words",
    [
        ((27 / 28 + 4 / 5) / 2, ["Hint:", "mIoU of the data set", "each image on its own"]),  # the pooled mIoU
        ((15 / 16 + 1 + 1) / 3, ["Hint:", "absent from both"]),  # the predicted-only class left out
        ((15 / 16 + 1 + 1 + 1) / 4, ["Hint:", "intersection 0, union 1"]),  # a false object scored as perfect
        ((1 + 0 + 1 + 1) / 4, ["Hint:", "lost a pixel"]),  # image A's background counted as perfect
        ((15 / 16 + 0) / 2, ["Hint:", "go through image A again"]),  # image A alone
        (0.73, ["Hint:"]),  # rounded too early: the statement asks for three decimals
    ],
)
def test_answer_12_3_rejects_the_slips(answer, words):
    _question_rejects(ch12.check_answer_12_3, answer, "Exercise 12.3 (answer_12_3)", *words)


@pytest.mark.parametrize("answer", [torch.tensor(0.734375), "0.734", float("nan")])
def test_answer_12_3_rejects_values_of_the_wrong_kind(answer):
    _question_rejects(ch12.check_answer_12_3, answer, "Exercise 12.3")


def test_answer_12_3_is_what_torchmetrics_and_segbook_report():
    """The check counts by hand; the libraries must agree (a torchmetrics release that changes MeanIoU is caught)."""
    segmentation = pytest.importorskip("torchmetrics.segmentation")
    from segbook.metrics import SegmentationMetrics

    target = torch.zeros(2, 4, 4, dtype=torch.long)
    target[1, 1:3, 1:3] = 1
    predicted = target.clone()
    predicted[0, 0, 3] = 1
    per_image, pooled = ch12._stray_pixel_ious()
    mean_iou = segmentation.MeanIoU(num_classes=2, input_format="index")(predicted, target)
    assert float(mean_iou) == pytest.approx(per_image) and per_image == pytest.approx(SOLUTIONS["answer_12_3"])
    scores = SegmentationMetrics(2)
    scores.update(predicted, target)
    assert float(scores.compute()["miou"]) == pytest.approx(pooled)


# --- Exercise 12.4 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, words",
    [
        ({"a"}, ["'c'", "is true too", "protect"]),
        ({"c"}, ["'a'", "is true too", "first convolution"]),
        ({"a", "b", "c"}, ["'b'", "is not true", "which part starts from random weights"]),
        ({"a", "c", "d"}, ["'d'", "is not true", "same function in training and at prediction"]),
        ({"a", "c", "e"}, ["'e'", "is not true", "how large are the gradients"]),
        ({"a", "d", "e"}, ["'d'", "is not true"]),
        (set("abcde"), ["'b'", "is not true"]),
    ],
)
def test_answer_12_4_rejects_each_wrong_or_missing_statement(answer, words):
    _question_rejects(ch12.check_answer_12_4, answer, "Exercise 12.4 (answer_12_4)", *words)


@pytest.mark.parametrize("answer, words", [(["a", "c"], ["set of option letters"]), ({"a", "f"}, ["not an option"])])
def test_answer_12_4_rejects_values_of_the_wrong_kind(answer, words):
    _question_rejects(ch12.check_answer_12_4, answer, "Exercise 12.4", *words)


def test_answer_12_4_options_are_the_statements_options():
    """The statement in the notebook lists exactly the check's options, in its words."""
    import nbformat
    from exercise_helpers import CHAPTERS

    cells = nbformat.read(CHAPTERS / "12_practice.ipynb", as_version=4).cells
    statement = next(c.source for c in cells if "ex-ch12-fine-tuning" in c.source and "{exercise}" in c.source)
    flat = " ".join(statement.replace("`", "").split())
    for letter, text in ch12._FINE_TUNING.items():
        assert f"**{letter})** {text}" in flat, (letter, text)
