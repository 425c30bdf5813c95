"""Chapter 5's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import pytest
import torch
import torch.nn.functional as F
from exercise_helpers import assert_rejected, notebook_solutions, standard_exercise_tests

from segbook.exercises import ch05

SOLUTIONS = notebook_solutions("05_distribution_losses.ipynb", 5, F=F)
CHECKS = [
    (ch05.check_bce_with_logits, "bce_with_logits"),
    (ch05.check_cross_entropy_lse, "cross_entropy_lse"),
    (ch05.check_focal_loss_binary, "focal_loss_binary"),
]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


# --- Exercise 5.1 ------------------------------------------------------------------------------------------


def bce_naive(logits, target):
    p_hat, p = torch.sigmoid(logits), target.float()
    return -(p * torch.log(p_hat) + (1 - p) * torch.log(1 - p_hat)).mean()


def bce_sum(logits, target):
    p = target.float()
    return -(p * F.logsigmoid(logits) + (1 - p) * F.logsigmoid(-logits)).sum()


def bce_swapped(logits, target):
    p = target.float()
    return -(p * F.logsigmoid(-logits) + (1 - p) * F.logsigmoid(logits)).mean()


def bce_float(logits, target):
    p = target.float()
    return float(-(p * F.logsigmoid(logits) + (1 - p) * F.logsigmoid(-logits)).mean())


@pytest.mark.parametrize(
    "wrong, words",
    [
        (bce_naive, ["must stay finite", "logsigmoid"]),
        (bce_sum, ["worked by hand"]),
        (bce_swapped, ["worked by hand"]),
        (bce_float, ["expected a torch.Tensor", "0-dim tensor"]),
    ],
)
def test_bce_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch05.check_bce_with_logits, wrong, "Exercise 5.1 (bce_with_logits)", *words)


# --- Exercise 5.2 ------------------------------------------------------------------------------------------


def ce_naive_softmax(logits, target):
    valid = target != 255
    safe = torch.where(valid, target, 0)
    p = torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True)
    return -torch.log(p.gather(1, safe[:, None]).squeeze(1))[valid].mean()


def ce_counts_ignored(logits, target):
    valid = target != 255
    safe = torch.where(valid, target, 0)
    loss = torch.logsumexp(logits, 1) - logits.gather(1, safe[:, None]).squeeze(1)
    return (loss * valid).mean()  # ignored pixels still in the count


def ce_wrong_axis(logits, target):
    safe = torch.where(target != 255, target, 0)
    return (torch.logsumexp(logits, 0).mean(0) - logits.gather(1, safe[:, None]).squeeze(1)).mean()


def ce_per_image_mean(logits, target):
    valid = target != 255
    safe = torch.where(valid, target, 0)
    loss = torch.logsumexp(logits, 1) - logits.gather(1, safe[:, None]).squeeze(1)
    return torch.stack([loss[n][valid[n]].mean() for n in range(len(loss))]).mean()  # mean of image means


@pytest.mark.parametrize(
    "wrong, words",
    [
        (ce_per_image_mean, ["unequal", "pooled"]),
        (ce_naive_softmax, ["~1000", "torch.logsumexp"]),
        (ce_counts_ignored, ["ignored", "valid pixels only"]),
        (ce_wrong_axis, ["worked by hand"]),
    ],
)
def test_cross_entropy_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch05.check_cross_entropy_lse, wrong, "Exercise 5.2 (cross_entropy_lse)", *words)


# --- Exercise 5.3 ------------------------------------------------------------------------------------------


def focal_alpha_swapped(logits, target, alpha, gamma):
    s = torch.where(target == 1, logits, -logits)
    alpha_t = torch.where(target == 1, 1 - alpha, alpha)
    return -(alpha_t * torch.exp(gamma * F.logsigmoid(-s)) * F.logsigmoid(s)).mean()


def focal_wrong_factor(logits, target, alpha, gamma):
    s = torch.where(target == 1, logits, -logits)
    alpha_t = torch.where(target == 1, alpha, 1 - alpha)
    return -(alpha_t * torch.sigmoid(s) ** gamma * F.logsigmoid(s)).mean()  # p_t^gamma, not (1 - p_t)^gamma


def focal_naive(logits, target, alpha, gamma):
    p = torch.sigmoid(logits)
    t = target.float()
    pt = p * t + (1 - p) * (1 - t)
    alpha_t = alpha * t + (1 - alpha) * (1 - t)
    return -(alpha_t * (1 - pt) ** gamma * torch.log(pt)).mean()


def focal_nan_gradient(logits, target, alpha, gamma):
    p_t = torch.where(target == 1, torch.sigmoid(logits), 1 - torch.sigmoid(logits))  # rounds to exactly 1
    alpha_t = torch.where(target == 1, alpha, 1 - alpha)
    ce = F.binary_cross_entropy_with_logits(logits, target.float(), reduction="none")
    return (alpha_t * (1 - p_t) ** gamma * ce).mean()  # finite value, but d/dx x**0.5 at 0 is inf: NaN gradient


@pytest.mark.parametrize(
    "wrong, words",
    [
        (focal_nan_gradient, ["gradient", "finite"]),
        (focal_alpha_swapped, ["alpha weighs the positive pixels"]),
        (focal_wrong_factor, ["RetinaNet", "probability of the TRUE label"]),
        (focal_naive, ["must stay finite", "F.logsigmoid"]),
    ],
)
def test_focal_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch05.check_focal_loss_binary, wrong, "Exercise 5.3 (focal_loss_binary)", *words)
