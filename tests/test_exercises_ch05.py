"""Chapter 5's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import pytest
import torch
import torch.nn.functional as F
from exercise_helpers import assert_rejected, notebook_solutions, standard_exercise_tests

from segbook import losses
from segbook.exercises import ExerciseError, ch05, ch05b

SOLUTIONS = notebook_solutions("05_distribution_losses.ipynb", 5, F=F, losses=losses)
CHECKS = [
    (ch05.check_bce_with_logits, "bce_with_logits"),
    (ch05.check_cross_entropy_lse, "cross_entropy_lse"),
    (ch05.check_focal_loss_binary, "focal_loss_binary"),
    (ch05.check_cross_entropy_grad, "cross_entropy_grad"),
    (ch05.check_answer_5_5, "answer_5_5"),
    (ch05b.check_imbalanced_loss, "imbalanced_loss"),
    (ch05.check_answer_5_7, "answer_5_7"),
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


# --- Exercise 5.4 ------------------------------------------------------------------------------------------


def _ce_grad_parts(logits, target):
    valid = target != 255
    safe = torch.where(valid, target, 0)
    one_hot = F.one_hot(safe, logits.shape[1]).permute(0, 3, 1, 2)
    return torch.softmax(logits, dim=1), one_hot, valid


def ce_grad_sum(logits, target):  # the gradient of the sum: no division by the count
    p, one_hot, valid = _ce_grad_parts(logits, target)
    return (p - one_hot) * valid[:, None]


def ce_grad_sign_flipped(logits, target):  # one-hot minus softmax: the direction that increases the loss
    p, one_hot, valid = _ce_grad_parts(logits, target)
    return (one_hot - p) * valid[:, None] / valid.sum()


def ce_grad_counts_ignored(logits, target):  # divides by every pixel, ignored ones included
    p, one_hot, valid = _ce_grad_parts(logits, target)
    return (p - one_hot) * valid[:, None] / valid.numel()


def ce_grad_ignored_not_zeroed(logits, target):  # ignored pixels still push towards class 0
    p, one_hot, valid = _ce_grad_parts(logits, target)
    return (p - one_hot) / valid.sum()


def ce_grad_per_image(logits, target):  # a mean per image, averaged over the images
    p, one_hot, valid = _ce_grad_parts(logits, target)
    per_image = valid.flatten(1).sum(1).clamp(min=1)[:, None, None, None]
    return (p - one_hot) * valid[:, None] / per_image / len(logits)


def ce_grad_naive_softmax(logits, target):  # exp(1000) = inf: nan
    _, one_hot, valid = _ce_grad_parts(logits, target)
    p = torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True)
    return (p - one_hot) * valid[:, None] / valid.sum()


def ce_grad_softmax_over_batch(logits, target):  # softmax over the batch axis
    _, one_hot, valid = _ce_grad_parts(logits, target)
    return (torch.softmax(logits, dim=0) - one_hot) * valid[:, None] / valid.sum()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (ce_grad_sign_flipped, ["case 1 of 5", "one pixel"]),
        (ce_grad_sum, ["case 2 of 5", "mean over 18 pixels"]),
        (ce_grad_softmax_over_batch, ["case 1 of 5", "one pixel"]),
        (ce_grad_counts_ignored, ["case 3 of 5", "which pixels it divides by"]),
        (ce_grad_ignored_not_zeroed, ["case 3 of 5", "labelled 255 contributes"]),
        (ce_grad_per_image, ["case 4 of 5", "one mean over the batch"]),
        (ce_grad_naive_softmax, ["case 5 of 5", "size ~1000", "inf in float32"]),
    ],
)
def test_cross_entropy_grad_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch05.check_cross_entropy_grad, wrong, "Exercise 5.4 (cross_entropy_grad)", *words)


def ce_grad_by_autograd(logits, target):
    logits = logits.clone().requires_grad_()
    F.cross_entropy(logits, target, ignore_index=255).backward()
    return logits.grad


def test_cross_entropy_grad_check_refuses_autograd():
    with pytest.raises(ExerciseError, match="asked autograd for the gradient"):
        ch05.check_cross_entropy_grad(ce_grad_by_autograd)


# --- Exercise 5.5 ------------------------------------------------------------------------------------------


def test_answer_5_5_is_what_f_cross_entropy_returns_on_the_statements_batch():
    """80 background pixels with CE 0.1, 10 foreground with CE 2.0, 10 ignored, weights (1, 8): built and run."""
    ce = torch.tensor([0.1] * 80 + [2.0] * 10 + [2.0] * 10, dtype=torch.float64)
    target = torch.tensor([0] * 80 + [1] * 10 + [255] * 10)
    logits = torch.zeros(100, 2, dtype=torch.float64)  # two classes: CE = log(1 + e^{-(z_t - z_other)})
    logits[torch.arange(100), target.clamp(max=1)] = -torch.log(torch.expm1(ce))
    weight = torch.tensor([1.0, 8.0], dtype=torch.float64)
    got = F.cross_entropy(logits, target, weight=weight, ignore_index=255).item()
    assert ch05.check_answer_5_5(got) is True
    per_pixel = F.cross_entropy(logits, target, ignore_index=255, reduction="none")[:90]
    assert torch.allclose(per_pixel, ce[:90])  # the batch is the statement's


@pytest.mark.parametrize(
    "wrong, words",
    [
        (168 / 90, ["pos_weight convention"]),
        (1.87, ["pos_weight convention"]),
        (168 / 100, ["labelled 255 count in neither"]),
        (28 / 90, ["unweighted mean"]),
        (168 / 9, ["a weight per pixel, not one per class"]),
        (1.0, ["which pixels count"]),
    ],
)
def test_answer_5_5_check_rejects_wrong_answers(wrong, words):
    with pytest.raises(ExerciseError) as info:
        ch05.check_answer_5_5(wrong)
    message = str(info.value)
    assert "Exercise 5.5 (answer_5_5)" in message and "Hint:" in message, message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("answer", [1.05, 21 / 20, 1.0500001, 1.05 * (1 + 1e-3)])
def test_answer_5_5_check_accepts_the_weighted_mean(answer, capsys):
    assert ch05.check_answer_5_5(answer) is True
    out = capsys.readouterr().out
    assert "correct. Why:" in out and max(len(line) for line in out.splitlines()) <= 88, out


@pytest.mark.parametrize("answer", ["1.05", torch.tensor(1.05), float("nan")])
def test_answer_5_5_check_rejects_other_types(answer):
    with pytest.raises(ExerciseError, match="Exercise 5.5"):
        ch05.check_answer_5_5(answer)


# --- Exercise 5.6 ------------------------------------------------------------------------------------------


def loss_plain_ce(logits, target):  # the default: background everywhere within the budget
    return F.cross_entropy(logits, target)


def loss_balancing_beta(logits, target):  # the weight that balances the classes' totals: over-segments
    _, train_fg, _, _ = ch05b.imbalanced_task_data()
    beta = losses.pos_weight_from_target(train_fg)
    return F.cross_entropy(logits, target, weight=torch.tensor([1.0, beta]))


@pytest.mark.parametrize(
    "wrong, words",
    [
        (loss_plain_ce, ["case 2 of 2", "misses most of the foreground", "too few means"]),
        (loss_balancing_beta, ["case 2 of 2", "far too many", "too many means the foreground weighs too much"]),
    ],
)
def test_imbalanced_loss_check_rejects_wrong_decisions(wrong, words):
    assert_rejected(ch05b.check_imbalanced_loss, wrong, "Exercise 5.6 (imbalanced_loss)", *words)


def loss_as_python_float(logits, target):
    return F.cross_entropy(logits, target, weight=torch.tensor([1.0, 8.0])).item()


def loss_detached(logits, target):
    return F.cross_entropy(logits.detach(), target, weight=torch.tensor([1.0, 8.0]))


def loss_per_pixel(logits, target):  # no reduction: a map, not a number
    return F.cross_entropy(logits, target, weight=torch.tensor([1.0, 8.0]), reduction="none")


@pytest.mark.parametrize(
    "wrong, words",
    [
        (loss_as_python_float, ["case 1 of 2", "0-dim float tensor"]),
        (loss_detached, ["case 1 of 2", "computed from the logits"]),
        (loss_per_pixel, ["case 1 of 2", "0-dim float tensor", "shape=(2, 24, 24)"]),
    ],
)
def test_imbalanced_loss_check_rejects_a_loss_that_cannot_train(wrong, words):
    assert_rejected(ch05b.check_imbalanced_loss, wrong, "Exercise 5.6 (imbalanced_loss)", *words)


def test_imbalanced_loss_check_refuses_segbooks_own_loss():
    with pytest.raises(ExerciseError, match="segbook's own"):
        ch05b.check_imbalanced_loss(losses.cross_entropy)


def test_imbalanced_task_keeps_the_callers_random_state_and_threads(monkeypatch):
    calls = []
    monkeypatch.setattr(ch05b.training, "fit", lambda *args, **kwargs: calls.append(torch.get_num_threads()))
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    expected = torch.rand(3)
    torch.manual_seed(123)
    scores = ch05b.imbalanced_task_scores(loss_plain_ce)  # fit replaced: the untrained network is scored
    assert calls == [1] and torch.get_num_threads() == threads
    assert torch.equal(torch.rand(3), expected)  # the caller's generator is where it was
    assert set(scores) == {"fg_iou", "precision", "recall", "predicted_share", "true_share", "seconds"}


# --- Exercise 5.7 ------------------------------------------------------------------------------------------


def test_answer_5_7_is_the_ratio_of_the_packages_focal_loss_to_its_cross_entropy():
    pixel = torch.tensor([0.7, 0.2, 0.1]).log()[None, :, None, None]
    target = torch.tensor([[[1]]])
    factor = (losses.focal_loss(pixel, target, gamma=2.0) / losses.cross_entropy(pixel, target)).item()
    assert ch05.check_answer_5_7(factor) is True


@pytest.mark.parametrize(
    "wrong, words",
    [
        (0.09, "probability of the class the network predicts"),  # p_t taken as the largest probability
        (0.81, "which class is the pixel's true one"),  # class 2's probability
        (0.04, "mutes the EASY pixels"),  # p_t^gamma
        (0.8, "exponent"),  # gamma forgotten
        (0.36, "not a difference of squares"),  # 1 - 0.8^2
        (0.5, "find which, then apply gamma"),  # anything else
    ],
)
def test_answer_5_7_check_rejects_each_slip_with_its_hint(wrong, words):
    with pytest.raises(ExerciseError, match="Hint:") as info:
        ch05.check_answer_5_7(wrong)
    assert words in str(info.value) and "0.64" not in str(info.value)


@pytest.mark.parametrize("answer", [torch.tensor(0.64), "0.64", float("nan")])
def test_answer_5_7_check_refuses_values_of_the_wrong_kind(answer):
    with pytest.raises(ExerciseError, match="expected a (finite )?number"):
        ch05.check_answer_5_7(answer)
