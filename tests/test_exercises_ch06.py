"""Chapter 6's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import numpy as np
import pytest
import torch
from exercise_helpers import assert_rejected, notebook_solutions, returning, standard_exercise_tests
from scipy import ndimage

from segbook.exercises import ExerciseError, ch06, ch06b

SOLUTIONS = notebook_solutions("06_region_boundary_losses.ipynb", 6, np=np, ndimage=ndimage)
CHECKS = [
    (ch06.check_dice_from_counts, "dice_from_counts"),
    (ch06.check_soft_dice_loss, "soft_dice_loss"),
    (ch06.check_tversky_index, "tversky_index"),
    (ch06.check_signed_distance, "signed_distance"),
    (ch06.check_boundary_loss_grad, "boundary_loss_grad"),
    (ch06b.check_boundary_f1_score, "boundary_f1_score"),
    (ch06b.check_answer_6_7, "answer_6_7"),
]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


# --- Exercise 6.1 ------------------------------------------------------------------------------------------


def dice_is_iou(tp, fp, fn):
    return tp / (tp + fp + fn) if tp + fp + fn else float("nan")


def dice_empty_is_zero(tp, fp, fn):
    return 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0


def dice_integer_division(tp, fp, fn):
    return float(2 * tp // (2 * tp + fp + fn)) if 2 * tp + fp + fn else float("nan")


@pytest.mark.parametrize(
    "wrong, words",
    [
        (dice_is_iou, ["worked by hand", "is the IoU"]),
        (dice_empty_is_zero, ["undefined (NaN)"]),
        (dice_integer_division, ["worked by hand", "//"]),
    ],
)
def test_dice_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch06.check_dice_from_counts, wrong, "Exercise 6.1 (dice_from_counts)", *words)


# --- Exercise 6.2 ------------------------------------------------------------------------------------------


def dice_batch_sums(probs, target, smooth=1.0):
    dims = (0, 2, 3)
    dice = (2 * (probs * target).sum(dims) + smooth) / (probs.sum(dims) + target.sum(dims) + smooth)
    return (1 - dice).mean()


def dice_smooth_ignored(probs, target, smooth=1.0):
    dice = (2 * (probs * target).sum((2, 3)) + 1) / (probs.sum((2, 3)) + target.sum((2, 3)) + 1)
    return (1 - dice).mean()


def dice_not_one_minus(probs, target, smooth=1.0):
    return ((2 * (probs * target).sum((2, 3)) + smooth) / (probs.sum((2, 3)) + target.sum((2, 3)) + smooth)).mean()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (dice_batch_sums, ["sums per image and class", "dims 2 and 3"]),
        (dice_smooth_ignored, ["smooth = 0", "numerator AND the denominator"]),
        (dice_not_one_minus, ["worked by hand"]),
    ],
)
def test_soft_dice_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch06.check_soft_dice_loss, wrong, "Exercise 6.2 (soft_dice_loss)", *words)


# --- Exercise 6.3 ------------------------------------------------------------------------------------------


def tversky_swapped(probs, target, fp_weight, fn_weight, smooth=0.0):
    tp, fp, fn = (probs * target).sum(), (probs * (1 - target)).sum(), ((1 - probs) * target).sum()
    return (tp + smooth) / (tp + fn_weight * fp + fp_weight * fn + smooth)


def tversky_smooth_numerator_only(probs, target, fp_weight, fn_weight, smooth=0.0):
    tp, fp, fn = (probs * target).sum(), (probs * (1 - target)).sum(), ((1 - probs) * target).sum()
    return (tp + smooth) / (tp + fp_weight * fp + fn_weight * fn)


def tversky_hard_counts(probs, target, fp_weight, fn_weight, smooth=0.0):
    pred = (probs > 0.5).float()
    tp, fp, fn = (pred * target).sum(), (pred * (1 - target)).sum(), ((1 - pred) * target).sum()
    return (tp + smooth) / (tp + fp_weight * fp + fn_weight * fn + smooth)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (tversky_swapped, ["under-segmentation", "letter trap"]),
        (tversky_smooth_numerator_only, ["smoothing"]),
        (tversky_hard_counts, ["soft Dice coefficient", "soft counts"]),
    ],
)
def test_tversky_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch06.check_tversky_index, wrong, "Exercise 6.3 (tversky_index)", *words)


# --- Exercise 6.4 ------------------------------------------------------------------------------------------


def _sdm(mask, sign=1.0, minus_one=True, special_cases=True):
    m = mask.numpy()
    if special_cases and (not m.any() or m.all()):
        return torch.zeros(mask.shape, dtype=torch.float32)
    inside = ndimage.distance_transform_edt(m) - (1 if minus_one else 0)
    phi = ndimage.distance_transform_edt(~m) * ~m - inside * m
    return torch.from_numpy(sign * phi).float()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda mask: _sdm(mask, sign=-1.0), ["worked by hand", "outside: + the distance"]),
        (lambda mask: _sdm(mask, minus_one=False), ["worked by hand", "- 1"]),
        (lambda mask: _sdm(mask, special_cases=False), ["empty mask", "zeros"]),
        (lambda mask: _sdm(mask).double(), ["dtype", "float32"]),
    ],
)
def test_signed_distance_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch06.check_signed_distance, wrong, "Exercise 6.4 (signed_distance)", *words)


# --- Exercise 6.5: the boundary loss's gradient ----------------------------------------------------------------


def _sigmoid_slope(z):
    s = torch.sigmoid(z)
    return s * (1 - s)


def grad_of_the_sum(logits, phi):  # forgets the mean's 1 / |Omega|
    return phi * _sigmoid_slope(logits)


def grad_per_image_mean(logits, phi):  # divides by H W only: the mean of each image, summed over the batch
    return phi * _sigmoid_slope(logits) / (logits.shape[-2] * logits.shape[-1])


def grad_through_exp(logits, phi):  # the textbook sigma' written with exp: inf / inf = NaN at z = -100 in float32
    e = torch.exp(-logits)
    return phi * e / (1 + e) ** 2 / logits.numel()


def grad_without_the_sigmoid(logits, phi):  # differentiates phi * z instead of phi * sigmoid(z)
    return phi / logits.numel()


def grad_sigmoid_not_its_slope(logits, phi):
    return phi * torch.sigmoid(logits) / logits.numel()


def grad_wrong_sign(logits, phi):
    return -phi * _sigmoid_slope(logits) / logits.numel()


def grad_by_autograd(logits, phi):
    z = logits.clone().requires_grad_()
    (phi * torch.sigmoid(z)).mean().backward()
    return z.grad


@pytest.mark.parametrize(
    "wrong, words",
    [
        (grad_of_the_sum, ["case 1 of 3", "mean over the N x H x W pixels"]),
        (grad_per_image_mean, ["case 2 of 3", "two 6x6 images", "all N x H x W pixels"]),
        (grad_through_exp, ["case 3 of 3", "must stay finite", "got nan", "exp(100) overflows"]),
        (grad_without_the_sigmoid, ["case 1 of 3", "through the sigmoid"]),
        (grad_sigmoid_not_its_slope, ["case 1 of 3"]),
        (grad_wrong_sign, ["case 1 of 3", "sign of phi"]),
    ],
)
def test_boundary_loss_grad_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch06.check_boundary_loss_grad, wrong, "Exercise 6.5 (boundary_loss_grad)", *words)


def test_boundary_loss_grad_check_refuses_autograd():
    with pytest.raises(ExerciseError, match="asked autograd for the gradient"):
        ch06.check_boundary_loss_grad(grad_by_autograd)


def test_the_gradient_checks_reference_is_the_packages_boundary_loss():
    """The loss the student differentiates is segbook's boundary loss: the mean of phi * sigmoid(z) over N H W."""
    g = torch.Generator().manual_seed(0)
    logits, phi = torch.randn(2, 1, 5, 5, generator=g), torch.randn(2, 1, 5, 5, generator=g)
    assert torch.allclose(ch06._boundary_loss(logits, phi), (phi * torch.sigmoid(logits)).mean())


# --- Exercise 6.6: boundary F1 ----------------------------------------------------------------------------------


def _bf(strict=False, to_region=False, frame_is_contour=False, structure=None, undefined=0, one_sided=0):
    """A boundary F1 written with one of the usual slips (the defaults give the right score)."""

    def boundary_f1_score(pred, target, tolerance):
        def contour(mask):
            m = mask.numpy()
            return m & ~ndimage.binary_erosion(m, border_value=0 if frame_is_contour else 1)

        p, g = pred.numpy(), target.numpy()
        b_p, b_g = contour(pred), contour(target)
        if not b_p.any() and not b_g.any():
            return [float("nan"), 0.0][undefined]
        if not b_p.any() or not b_g.any():
            return [0.0, float("nan")][one_sided]
        if structure is not None:  # "within the tolerance" as a dilation: a chessboard or city-block distance
            grow = ndimage.generate_binary_structure(2, structure)
            steps = int(tolerance)
            near_g = ndimage.binary_dilation(b_g, grow, iterations=steps) if steps else b_g
            near_p = ndimage.binary_dilation(b_p, grow, iterations=steps) if steps else b_p
        else:
            d_g = ndimage.distance_transform_edt(~(g if to_region else b_g))
            d_p = ndimage.distance_transform_edt(~(p if to_region else b_p))
            near_g = d_g < tolerance if strict else d_g <= tolerance
            near_p = d_p < tolerance if strict else d_p <= tolerance
        precision, recall = near_g[b_p].mean(), near_p[b_g].mean()
        return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))

    return boundary_f1_score


def test_the_slip_free_boundary_f1_is_accepted():
    """The helper below is right with its defaults, so each slip test changes exactly one thing."""
    assert ch06b.check_boundary_f1_score(_bf()) is True


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_bf(strict=True), ["case 2 of 9", "moved one pixel right, tolerance 1", "equal to the tolerance counts"]),
        (_bf(to_region=True), ["case 3 of 9", "left half", "not from the true region"]),
        (_bf(structure=2), ["case 5 of 9", "sqrt(2) away", "chessboard distance"]),
        (_bf(structure=1), ["case 6 of 9", "tolerance 1.5", "4-neighbour cross"]),
        (_bf(frame_is_contour=True), ["case 7 of 9", "image frame is not a contour", "binary_erosion"]),
        (_bf(undefined=1), ["case 8 of 9", "undefined (NaN)", "float('nan')"]),
        (_bf(one_sided=1), ["case 9 of 9", "empty prediction", "not NaN"]),
        (returning(_bf(), torch.tensor), ["case 1 of 9", "one-element tensor", ".item()"]),
    ],
)
def test_boundary_f1_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch06b.check_boundary_f1_score, wrong, "Exercise 6.6 (boundary_f1_score)", *words)


def test_boundary_f1_check_refuses_the_packages_metric_wrapped():
    from functools import wraps

    from segbook.metrics import boundary_f1

    @wraps(boundary_f1)
    def boundary_f1_score(pred, target, tolerance):
        return boundary_f1(pred.long(), target.long(), 2, tolerance=tolerance)[1].item()

    with pytest.raises(ExerciseError, match="segbook's own"):
        ch06b.check_boundary_f1_score(boundary_f1_score)


# --- Exercise 6.7: good IoU, poor contours ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, words",
    [
        ("a", ["'a'", "boundary loss alone pull", "'empty' row"]),
        ("c", ["'c'", "grow or shrink as a whole"]),
        ("d", ["'d'", "changes the measurement, not the contours"]),
        (["b"], ["one option letter"]),
        ("e", ["not an option"]),
    ],
)
def test_contours_question_rejects_wrong_answers(answer, words):
    with pytest.raises(ExerciseError) as info:
        ch06b.check_answer_6_7(answer)
    message = str(info.value)
    assert "Exercise 6.7 (answer_6_7)" in message
    for word in words:
        assert word in message, (word, message)


def test_contours_question_explains_once_right(capsys):
    assert ch06b.check_answer_6_7(" B ") is True
    out = capsys.readouterr().out
    assert "correct. Why:" in out and "empty prediction" in out and "Exercise 6.5" in out


def test_dice_from_counts_must_return_a_python_float_not_an_int():
    # 2 * tp // denominator gives the right 1 and 0 for the perfect and the empty overlap, as ints
    def dice_ints(tp, fp, fn):
        denominator = 2 * tp + fp + fn
        return float("nan") if denominator == 0 else (1 if fp + fn == 0 else (0 if tp == 0 else 2 * tp / denominator))

    with pytest.raises(ExerciseError, match="expected a Python float, got an int 1"):
        ch06.check_dice_from_counts(dice_ints)
