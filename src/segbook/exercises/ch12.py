"""Checks for the exercises of chapter 12 (segmentation in practice).

Each ``check_*`` runs the student's function on several cases, edge cases included, and explains the first
failure. Expected values come from PyTorch's ``F.cross_entropy`` and from counting pixels by brute force.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from segbook.conventions import IGNORE_INDEX
from segbook.exercises._core import Case, run_checks
from segbook.exercises._values import allclose

__all__ = ["check_aux_loss", "check_best_threshold"]


def _logits(seed: int, n: int = 2, c: int = 3, size: int = 5) -> "tuple[torch.Tensor, torch.Tensor, torch.Tensor]":
    g = torch.Generator().manual_seed(seed)
    out = torch.randn(n, c, size, size, generator=g)
    aux = torch.randn(n, c, size, size, generator=g)
    masks = torch.randint(0, c, (n, size, size), generator=g)
    return out, aux, masks


def _expected_aux_loss(output: dict, masks: torch.Tensor, aux_weight: float) -> torch.Tensor:
    loss = F.cross_entropy(output["out"], masks, ignore_index=IGNORE_INDEX)
    if "aux" in output:
        loss = loss + aux_weight * F.cross_entropy(output["aux"], masks, ignore_index=IGNORE_INDEX)
    return loss


def check_aux_loss(fn: Callable) -> bool:
    """Exercise 12.1: ``aux_loss(output, masks, aux_weight=0.5)``: a torchvision output dict → a scalar loss."""
    out, aux, masks = _logits(12)
    ignored = masks.clone()
    ignored[:, :2] = IGNORE_INDEX
    cases = [
        Case(
            "a dict with 'out' and 'aux', weight 0.5",
            ({"out": out, "aux": aux}, masks),
            expected=_expected_aux_loss({"out": out, "aux": aux}, masks, 0.5),
            compare=allclose(1e-5, 1e-6),
            hint="the loss is CE(output['out'], masks) + aux_weight * CE(output['aux'], masks), each the mean "
            "cross entropy over the counted pixels (F.cross_entropy)",
        ),
        Case(
            "another weight: aux_weight=0.2",
            ({"out": out, "aux": aux}, masks),
            {"aux_weight": 0.2},
            expected=_expected_aux_loss({"out": out, "aux": aux}, masks, 0.2),
            compare=allclose(1e-5, 1e-6),
            hint="multiply the auxiliary head's loss by aux_weight, not the main head's",
        ),
        Case(
            "no auxiliary head: the dict holds only 'out' (aux_loss=False models)",
            ({"out": out}, masks),
            expected=_expected_aux_loss({"out": out}, masks, 0.5),
            compare=allclose(1e-5, 1e-6),
            hint="'aux' is optional: torchvision returns it only when the model was built with aux_loss=True",
        ),
        Case(
            f"pixels labelled {IGNORE_INDEX} are not counted",
            ({"out": out, "aux": aux}, ignored),
            expected=_expected_aux_loss({"out": out, "aux": aux}, ignored, 0.5),
            compare=allclose(1e-5, 1e-6),
            hint=f"pass ignore_index={IGNORE_INDEX} to F.cross_entropy for both heads",
        ),
    ]
    return run_checks("Exercise 12.1 (aux_loss)", fn, cases)


def _best_threshold(probabilities: torch.Tensor, masks: torch.Tensor, thresholds: "list[float]") -> float:
    counted = masks != IGNORE_INDEX
    truth = (masks == 1) & counted
    best, best_iou = thresholds[0], -1.0
    for t in thresholds:
        predicted = (probabilities > t) & counted
        union = int((predicted | truth).sum())
        iou = int((predicted & truth).sum()) / union if union else 1.0
        if iou > best_iou:
            best, best_iou = t, iou
    return best


def check_best_threshold(fn: Callable) -> bool:
    """Exercise 12.2: ``best_threshold(probabilities, masks, thresholds)`` → the threshold of highest IoU."""
    g = torch.Generator().manual_seed(122)
    masks = (torch.rand(3, 8, 8, generator=g) < 0.3).long()
    # a model that is right but timid: foreground probabilities around 0.35, background around 0.1
    probs = (0.1 + 0.25 * masks + 0.08 * torch.rand(3, 8, 8, generator=g)).clamp(0, 1)
    grid = [round(0.05 * k, 2) for k in range(1, 20)]
    ignored = masks.clone()
    ignored[:, :, :3] = IGNORE_INDEX
    probs_ignored = probs.clone()
    probs_ignored[:, :, :3] = 0.3  # called foreground below t = 0.3, where nothing is counted
    tie_masks = torch.tensor([[[1, 0]]])
    tie_probs = torch.tensor([[[0.9, 0.2]]])
    cases = [
        Case(
            "worked by hand: two pixels, foreground 0.9 and background 0.2",
            (tie_probs, tie_masks, [0.1, 0.5, 0.95]),
            expected=0.5,
            compare=allclose(0, 0),
            hint="at 0.1 both pixels are called foreground (IoU 1/2), at 0.5 only the right one (IoU 1), at 0.95 "
            "none (IoU 0): return the threshold, not the IoU",
        ),
        Case(
            "a timid model: the best threshold is well below 0.5",
            (probs, masks, grid),
            expected=_best_threshold(probs, masks, grid),
            compare=allclose(0, 0),
            hint="call a pixel foreground when its probability is > the threshold (as metrics.threshold_sweep "
            "does), compute the foreground IoU (intersection over union of predicted and true foreground) for "
            "every threshold, keep the best",
        ),
        Case(
            f"pixels labelled {IGNORE_INDEX} are not counted",
            (probs_ignored, ignored, grid),
            expected=_best_threshold(probs_ignored, ignored, grid),
            compare=allclose(0, 0),
            hint=f"leave the pixels whose mask is {IGNORE_INDEX} out of both the intersection and the union",
        ),
        Case(
            "ties: several thresholds give the same IoU, return the smallest",
            (tie_probs, tie_masks, [0.3, 0.5, 0.7]),
            expected=0.3,
            compare=allclose(0, 0),
            hint="keep the first threshold that reaches the best IoU (compare with >, not >=, while scanning the "
            "thresholds in the order given)",
        ),
    ]
    return run_checks("Exercise 12.2 (best_threshold)", fn, cases)
