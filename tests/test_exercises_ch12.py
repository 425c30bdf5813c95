"""Chapter 12's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import pytest
import torch
import torch.nn.functional as F
from exercise_helpers import assert_rejected, notebook_solutions, standard_exercise_tests

from segbook.exercises import ch12

SOLUTIONS = notebook_solutions("12_practice.ipynb", 12)
CHECKS = [(ch12.check_aux_loss, "aux_loss"), (ch12.check_best_threshold, "best_threshold")]


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
