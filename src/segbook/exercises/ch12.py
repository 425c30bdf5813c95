"""Checks for the exercises of chapter 12 (segmentation in practice).

Each ``check_*`` runs the student's function on several cases, edge cases included, and explains the first
failure. Expected values come from PyTorch's ``F.cross_entropy`` and from counting pixels by brute force. The
questions (12.3, 12.4) are checked by :func:`segbook.exercises.check_number` and
:func:`segbook.exercises.check_choice`, with a hint for each known slip or wrong option.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from segbook.conventions import IGNORE_INDEX
from segbook.exercises._core import Case, run_checks
from segbook.exercises._questions import check_choice, check_number
from segbook.exercises._values import allclose

__all__ = ["check_aux_loss", "check_best_threshold", "check_answer_12_3", "check_answer_12_4"]


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


def _stray_pixel_ious() -> "tuple[float, float]":
    """(torchmetrics' per-image MeanIoU, the data set's mIoU) of exercise 12.3's two 4 x 4 images, by counting."""
    target = torch.zeros(2, 4, 4, dtype=torch.long)
    target[1, 1:3, 1:3] = 1  # image B: a 2 x 2 object
    predicted = target.clone()
    predicted[0, 0, 3] = 1  # image A: one stray "object" pixel

    def iou(p: torch.Tensor, t: torch.Tensor, c: int) -> "float | None":
        union = int(((p == c) | (t == c)).sum())
        return int(((p == c) & (t == c)).sum()) / union if union else None

    per_image = [iou(p, t, c) for p, t in zip(predicted, target) for c in (0, 1)]
    present = [v for v in per_image if v is not None]
    pooled = [iou(predicted, target, c) for c in (0, 1)]
    return sum(present) / len(present), sum(v for v in pooled if v is not None) / 2


def check_answer_12_3(answer: object) -> bool:
    """Exercise 12.3: ``answer_12_3``: torchmetrics' per-image MeanIoU of two images, one with a stray pixel."""
    per_image, pooled = _stray_pixel_ious()
    return check_number(
        "Exercise 12.3 (answer_12_3)",
        answer,
        expected=per_image,
        why=f"MeanIoU scores each image alone and averages the (image, class) IoUs of the classes present in "
        f"the image's target or prediction. Image A: background 15/16, object 0/1 (absent from the target "
        f"but predicted once, so it counts, with IoU 0); image B: 1 and 1. (15/16 + 0 + 1 + 1) / 4 = "
        f"{per_image:.3f}. Over the data set the same stray pixel costs far less: background 27/28, object 4/5, "
        f"mIoU {pooled:.3f}. Averaged per image, one false pixel on an image without objects costs as much as "
        f"a whole missed object: a per-image mIoU rewards saying 'nothing here' exactly.",
        hint="MeanIoU scores each image on its own, over that image's 16 pixels, and leaves out only a class "
        "that an image has in neither its target nor its prediction: go through image A again",
        near={
            pooled: "that is the mIoU of the data set (one count for both images together, as segbook.metrics "
            "and MulticlassJaccardIndex do); MeanIoU scores each image on its own",
            (15 / 16 + 1 + 1) / 3: "in image A the object class is absent from the target, but it is in the "
            "prediction: MeanIoU leaves out only a class absent from both",
            (15 / 16 + 1 + 1 + 1) / 4: "an object predicted where there is none is not a perfect score: "
            "intersection 0, union 1",
            (1 + 0 + 1 + 1) / 4: "image A's background lost a pixel to the false object: count its IoU again",
        },
    )


_FINE_TUNING = {
    "a": "Standardise the images with ImageNet's mean and standard deviation: the encoder's first convolution "
    "was trained on inputs standardised that way.",
    "b": "Give the decoder the smaller learning rate: it has far fewer parameters than the encoder.",
    "c": "With encoder_weights=None (a random encoder), a smaller encoder learning rate protects nothing: both "
    "parts can share one rate.",
    "d": "Standardise while training only: once trained, the model takes raw [0, 1] images.",
    "e": "One rate for both parts is just as safe with pretrained weights: in its first steps a random decoder "
    "sends small, well-aimed gradients into the encoder.",
}


def check_answer_12_4(answer: object) -> bool:
    """Exercise 12.4: ``answer_12_4``: the set of true statements about fine-tuning a pretrained encoder."""
    return check_choice(
        "Exercise 12.4 (answer_12_4)",
        answer,
        options=_FINE_TUNING,
        correct=frozenset({"a", "c"}),
        why="the encoder's weights were fitted to ImageNet-standardised inputs, so its inputs must be "
        "standardised the same way, in training and at prediction (a layer in front of the model makes that "
        "automatic). The decoder starts random: its first errors are large and point nowhere in particular, and "
        "at the full rate the gradients they send back would overwrite what the encoder learned; a smaller "
        "encoder rate lets the decoder settle first. With a random encoder there is nothing to protect, so one "
        "rate serves both parts (this chapter's offline run).",
        wrong={
            "a": "what did the first convolution's weights adapt to during pretraining, and what would they see "
            "without that step?",
            "b": "the size of a part is not the point: which part starts from random weights, and which part "
            "holds what pretraining learned?",
            "c": "what would a smaller encoder rate protect when the encoder's weights are random?",
            "d": "a network computes the same function in training and at prediction: what would its first "
            "layer see if the inputs changed scale after training?",
            "e": "what does a decoder with random weights produce in its first steps, and how large are the "
            "gradients its errors send back?",
        },
    )
