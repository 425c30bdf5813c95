"""Checks for the exercises of chapter 5 (distribution-based losses).

Each ``check_*`` runs the student's function on several cases, edge cases included, and explains the first
failure. Expected values come from :mod:`segbook.losses` (which the tests compare with PyTorch and
torchvision) or are worked out by hand. Exercise 5.4 is a derivation (its gradient is compared with autograd's and
with finite differences by :func:`segbook.exercises.check_gradient`), 5.5 a short question with a number for an
answer; the "decide and train" exercise 5.6 is in :mod:`segbook.exercises.ch05b`.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from segbook.conventions import IGNORE_INDEX
from segbook.exercises._core import Case, allclose, describe, run_checks
from segbook.exercises._gradients import check_gradient
from segbook.exercises._questions import check_number
from segbook.losses import binary_cross_entropy, binary_focal_loss, cross_entropy

__all__ = [
    "check_bce_with_logits",
    "check_cross_entropy_lse",
    "check_focal_loss_binary",
    "check_cross_entropy_grad",
    "check_answer_5_5",
    "check_answer_5_7",
]

_CLOSE = allclose(rtol=1e-4, atol=1e-5)


def _random_binary(seed: int, shape=(2, 4, 4), scale: float = 3.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(shape, generator=g), torch.randint(0, 2, shape, generator=g)


def check_bce_with_logits(fn: Callable) -> bool:
    """Exercise 5.1: ``bce_with_logits(logits, target)``: (N, H, W) float, (N, H, W) 0/1 int64 → 0-dim mean."""
    hand_z, hand_y = torch.tensor([[[0.0, 2.0, -1.0]]]), torch.tensor([[[1, 0, 0]]])
    # By hand: -log σ(0) = log 2, -log(1 - σ(2)) = log(1 + e^2), -log(1 - σ(-1)) = log(1 + e^-1); mean of three.
    hand = torch.tensor((math.log(2) + math.log(1 + math.e**2) + math.log(1 + math.e**-1)) / 3)
    z, y = _random_binary(5)
    extreme_z, extreme_y = torch.tensor([[[200.0, -200.0, -200.0, 30.0]]]), torch.tensor([[[1, 0, 1, 0]]])
    cases = [
        Case(
            "three pixels worked by hand: z = (0, 2, -1), labels (1, 0, 0)",
            (hand_z, hand_y),
            expected=hand,
            compare=_CLOSE,
            hint="CE = -(p log p̂ + (1 - p) log(1 - p̂)) with p̂ = sigmoid(z), averaged over all pixels; return "
            "a 0-dim tensor (use .mean(), not a Python float)",
        ),
        Case(
            "a random batch (2, 4, 4), compared with the package",
            (z, y),
            expected=binary_cross_entropy(z, y, ignore_index=None),
            compare=_CLOSE,
            hint="convert the 0/1 target to float before multiplying, and average over every pixel of the batch",
        ),
        Case(
            "logits of ±200 and 30 (confident, one badly wrong): the loss must stay finite",
            (extreme_z, extreme_y),
            expected=binary_cross_entropy(extreme_z, extreme_y, ignore_index=None),
            compare=_CLOSE,
            hint="sigmoid(-200) rounds to 0 and log(0) = -inf: use the log-sigmoid form, "
            "log p̂ = F.logsigmoid(z) and log(1 - p̂) = F.logsigmoid(-z)",
        ),
    ]
    return run_checks("Exercise 5.1 (bce_with_logits)", fn, cases)


def check_cross_entropy_lse(fn: Callable) -> bool:
    """Exercise 5.2: ``cross_entropy_lse(logits, target)``: (N, C, H, W), (N, H, W) with 255 ignored → 0-dim mean."""
    hand_logits, hand_target = torch.tensor([[[[2.0]], [[0.0]], [[0.0]]]]), torch.tensor([[[0]]])
    hand = torch.tensor(math.log(math.e**2 + 2) - 2)  # log sum_k e^{z_k} - z_t
    g = torch.Generator().manual_seed(7)
    logits = 2 * torch.randn(2, 4, 3, 3, generator=g)
    target = torch.randint(0, 4, (2, 3, 3), generator=g)
    big = 1000 * torch.randn(1, 3, 2, 2, generator=g)
    big_target = torch.randint(0, 3, (1, 2, 2), generator=g)
    ignored = target.clone()
    ignored[0, 0, :] = IGNORE_INDEX
    ignored[1, :, 2] = IGNORE_INDEX
    uneven = target.clone()  # 7 of image 0's 9 pixels ignored, none of image 1's
    uneven[0].view(-1)[:7] = IGNORE_INDEX
    cases = [
        Case(
            "one pixel worked by hand: logits (2, 0, 0), true class 0",
            (hand_logits, hand_target),
            expected=hand,
            compare=_CLOSE,
            hint="CE = log(sum_k exp(z_k)) - z_t, where t is the true class; return a 0-dim tensor",
        ),
        Case(
            "a random batch (2, 4, 3, 3), compared with F.cross_entropy",
            (logits, target),
            expected=cross_entropy(logits, target),
            compare=_CLOSE,
            hint="the class axis is dim 1: torch.logsumexp(logits, dim=1), and pick z_t with "
            "logits.gather(1, target[:, None]).squeeze(1); then average over all pixels",
        ),
        Case(
            "logits of size ~1000: exp overflows unless you subtract the maximum",
            (big, big_target),
            expected=cross_entropy(big, big_target),
            compare=_CLOSE,
            hint="exp(1000) is inf in float32: use torch.logsumexp, which subtracts the largest logit first",
        ),
        Case(
            f"pixels labelled {IGNORE_INDEX} are ignored (left out of the sum AND of the count)",
            (logits, ignored),
            expected=cross_entropy(logits, ignored, ignore_index=IGNORE_INDEX),
            compare=_CLOSE,
            hint=f"build valid = target != {IGNORE_INDEX}, gather with a safe target ({IGNORE_INDEX} replaced "
            "by 0), and average "
            "over the valid pixels only: loss[valid].mean()",
        ),
        Case(
            "unequal numbers of ignored pixels per image: the mean is pooled over all valid pixels of the batch",
            (logits, uneven),
            expected=cross_entropy(logits, uneven, ignore_index=IGNORE_INDEX),
            compare=_CLOSE,
            hint="every valid pixel of the batch counts once: one mean over all of them, not a mean per image "
            "averaged over the images (that makes each of image 0's 2 valid pixels count 4.5 times as much "
            "as a pixel of image 1)",
        ),
    ]
    return run_checks("Exercise 5.2 (cross_entropy_lse)", fn, cases)


def _gradient_wrt_logits(loss: object, args: tuple, kwargs: dict) -> torch.Tensor:
    """The gradient of the student's loss with respect to the logits it was given (args[0])."""
    if not isinstance(loss, torch.Tensor) or loss.grad_fn is None:
        raise TypeError(
            "the loss must be a tensor computed from the logits (no .item(), .detach() or torch.no_grad()), "
            f"so that it can be differentiated; got {describe(loss)}"
        )
    (grad,) = torch.autograd.grad(loss, args[0])
    return grad


def check_focal_loss_binary(fn: Callable) -> bool:
    """Exercise 5.3: ``focal_loss_binary(logits, target, alpha, gamma)``: (N, H, W), 0/1 → 0-dim mean."""
    z, y = _random_binary(3)
    extreme_z, extreme_y = torch.tensor([[[100.0, -100.0, -100.0]]]), torch.tensor([[[1, 0, 1]]])
    leaf = torch.tensor([[[100.0, -100.0, -100.0, 100.0, 3.0]]], requires_grad=True)
    leaf_y = torch.tensor([[[1, 0, 1, 0, 1]]])
    loss = binary_focal_loss(leaf, leaf_y, alpha=0.25, gamma=0.5, ignore_index=None)
    (leaf_grad,) = torch.autograd.grad(loss, leaf)

    def expected(logits, target, alpha, gamma):
        return binary_focal_loss(logits, target, alpha=alpha, gamma=gamma, ignore_index=None)

    cases = [
        Case(
            "gamma = 0 and alpha = 0.5: half the binary cross entropy",
            (z, y, 0.5, 0.0),
            expected=expected(z, y, 0.5, 0.0),
            compare=_CLOSE,
            hint="with gamma = 0 the focal loss is alpha_t * CE; with alpha = 0.5 that is half the BCE of Exercise 5.1",
        ),
        Case(
            "gamma = 0 and alpha = 0.25: alpha weighs the positive pixels",
            (z, y, 0.25, 0.0),
            expected=expected(z, y, 0.25, 0.0),
            compare=_CLOSE,
            hint="alpha multiplies the term of pixels with target 1 and (1 - alpha) the term of pixels with "
            "target 0, as on the slide (and in torchvision.ops.sigmoid_focal_loss)",
        ),
        Case(
            "gamma = 2 and alpha = 0.25 (RetinaNet's setting), compared with torchvision",
            (z, y, 0.25, 2.0),
            expected=expected(z, y, 0.25, 2.0),
            compare=_CLOSE,
            hint="the factor is (1 - p_t)^gamma where p_t is the probability of the TRUE label: (1 - p̂)^gamma "
            "for target 1 and p̂^gamma for target 0",
        ),
        Case(
            "logits of ±100: the loss must stay finite",
            (extreme_z, extreme_y, 0.25, 2.0),
            expected=expected(extreme_z, extreme_y, 0.25, 2.0),
            compare=_CLOSE,
            hint="take logs with F.logsigmoid (log p̂ = logsigmoid(z), log(1 - p̂) = logsigmoid(-z)) and write "
            "the factor as exp(gamma * log(1 - p_t)) instead of computing sigmoid(z) first",
        ),
        Case(
            "the gradient with respect to the logits stays finite at ±100 with gamma = 0.5",
            (leaf.detach().requires_grad_(), leaf_y, 0.25, 0.5),
            expected=leaf_grad,
            compare=_CLOSE,
            derive=_gradient_wrt_logits,
            hint="for a confident correct pixel sigmoid rounds to exactly 1, so 1 - p_t is 0 and the derivative "
            "of x**gamma at 0 is infinite for gamma < 1 (inf * 0 = NaN in backward): compute log(1 - p_t) "
            "from the logits with F.logsigmoid, so that no power of an exact 0 is taken",
        ),
    ]
    return run_checks("Exercise 5.3 (focal_loss_binary)", fn, cases)


def _mean_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The loss of exercise 5.4: the mean over the pixels not labelled 255 (PyTorch's F.cross_entropy)."""
    return cross_entropy(logits, target, ignore_index=IGNORE_INDEX)


def check_cross_entropy_grad(fn: Callable) -> bool:
    """Exercise 5.4: ``cross_entropy_grad(logits, target)``: dCE/dz, (N, C, H, W), 255 ignored, by hand."""
    g = torch.Generator().manual_seed(54)
    logits = 2 * torch.randn(2, 4, 3, 3, generator=g)
    target = torch.randint(0, 4, (2, 3, 3), generator=g)
    ignored = target.clone()
    ignored[0, 0, :] = IGNORE_INDEX  # 3 of image 0's 9 pixels
    ignored[1, :, 2] = IGNORE_INDEX  # and 3 of image 1's
    uneven = target.clone()  # 7 of image 0's 9 pixels ignored, none of image 1's
    uneven[0].view(-1)[:7] = IGNORE_INDEX
    big = 1000 * torch.randn(1, 3, 2, 2, generator=g)
    cases = [
        (
            "one pixel: logits (2, 0, 0), true class 0",
            (torch.tensor([[[[2.0]], [[0.0]], [[0.0]]]]), torch.tensor([[[0]]])),
        ),
        ("a batch (2, 4, 3, 3), no ignored pixel: the loss is a mean over 18 pixels", (logits, target)),
        (f"3 pixels of each image labelled {IGNORE_INDEX}", (logits, ignored)),
        ("7 of image 0's pixels ignored, none of image 1's: one mean over the batch's 11 pixels", (logits, uneven)),
        ("logits of size ~1000", (big, torch.randint(0, 3, (1, 2, 2), generator=g))),
    ]
    return check_gradient(
        "Exercise 5.4 (cross_entropy_grad)",
        fn,
        _mean_cross_entropy,
        cases,
        hint="differentiate log(sum_k exp z_k) - z_t with respect to every z_c (two terms: one from the "
        "log-sum-exp for every class, one for the true class only), then ask what the mean does to it: which "
        f"pixels it divides by, and what a pixel labelled {IGNORE_INDEX} contributes; exp of a logit of 1000 is "
        "inf in float32",
    )


# Exercise 5.5's batch: 80 background pixels with CE 0.1, 10 foreground pixels with CE 2.0, 10 ignored, w = (1, 8).
_ANSWER_5_5 = (80 * 1 * 0.1 + 10 * 8 * 2.0) / (80 * 1 + 10 * 8)


def check_answer_5_5(answer: object) -> bool:
    """Exercise 5.5: ``answer_5_5``: F.cross_entropy with class weights (1, 8) on a batch given by its pixel losses."""
    label = "Exercise 5.5 (answer_5_5)"
    return check_number(
        label,
        answer,
        expected=_ANSWER_5_5,
        rel_tol=5e-3,
        why="with per-class weights the mean is weighted: sum_i w_t CE_i / sum_i w_t = (80 * 0.1 + 8 * 10 * 2.0) / "
        "(80 + 8 * 10) = 168 / 160 = 1.05, over the 90 labelled pixels only (the 10 pixels labelled 255 are in "
        "neither sum). The divisor grows with the weights, so multiplying both weights by 10 leaves 1.05 "
        "unchanged: only their ratio matters, and a batch with more foreground gets a larger divisor. "
        "Dividing by the 90 pixels instead (1.87) is the slide's beta convention, pos_weight.",
        hint="the loss is a mean of weighted pixel losses; work out which pixels count, what each is weighted by, "
        "and what PyTorch divides the weighted sum by",
        near={
            168 / 90: "that divides the weighted sum by the number of labelled pixels: it is the slide's "
            "pos_weight convention, not what F.cross_entropy's per-class weight returns",
            168 / 100: f"the pixels labelled {IGNORE_INDEX} count in neither the sum nor the divisor",
            28 / 90: "that is the unweighted mean: the weight multiplies each pixel's loss by its true class's weight",
            168 / 9: "the divisor adds up a weight per pixel, not one per class",
        },
    )


def check_answer_5_7(answer: object) -> bool:
    """Exercise 5.7: ``answer_5_7``: the factor by which the C-class focal loss (γ = 2) scales one pixel's CE."""
    return check_number(
        "Exercise 5.7 (answer_5_7)",
        answer,
        expected=0.64,
        rel_tol=1e-3,
        why="with C classes p_t is the softmax probability of the TRUE class, here 0.2: the factor is "
        "(1 - 0.2)^2 = 0.64, so this pixel, which the network still gets wrong (it predicts class 0), keeps most "
        "of its cross entropy. A pixel whose true class had 0.9 would keep (1 - 0.9)^2 = 1 %. The other classes "
        "enter only through 1 - p_t: how the remaining 0.8 is split between them does not matter.",
        hint="the focal factor depends on one probability of the pixel: find which, then apply gamma",
        near={
            0.09: "0.7 is the probability of the class the network predicts; the factor uses the probability of "
            "the class the pixel truly belongs to",
            0.81: "class 2 has probability 0.1; which class is the pixel's true one?",
            0.04: "that factor is small for a pixel that is still wrong: the focal loss mutes the EASY pixels",
            0.8: "gamma = 2 is an exponent",
            0.36: "the factor is not a difference of squares: what is 1 - p_t here?",
        },
    )
