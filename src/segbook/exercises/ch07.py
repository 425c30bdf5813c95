"""Checks for the exercises of chapter 7 (FCN-32s, FCN-16s and FCN-8s).

Each ``check_*`` runs the student's function on several cases and explains the first failure. Expected values
come from :class:`segbook.models.FCN`, :mod:`segbook.ops` or are worked out by hand. Exercise 7.4 is a "make it
train" exercise: :func:`broken_fcn` is a tiny FCN-8s that cannot learn, the student repairs it, and the check
trains the repaired net (:func:`repair_task`, a few seconds at most on one thread) and checks the result.
Exercise 7.5 is a short question (:func:`segbook.exercises.check_choice`).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from segbook.data import SceneDataset
from segbook.exercises._core import Case, allclose, default_compare, run_checks
from segbook.exercises._questions import check_choice
from segbook.exercises._values import exact
from segbook.models import FCN
from segbook.ops import bilinear_kernel

__all__ = [
    "check_score_map_size",
    "check_fuse_skip",
    "check_zero_score_layer",
    "check_repair",
    "check_answer_7_5",
    "broken_fcn",
    "repair_task",
]

_CLOSE = allclose(rtol=1e-5, atol=1e-6)


def check_score_map_size(fn: Callable) -> bool:
    """Exercise 7.1: ``score_map_size(height, width, variant)`` → ``(h, w)`` of the finest scores of FCN-variant."""
    cases = [
        Case(
            "a 64x64 image, FCN-32s (worked by hand: 64 / 32)",
            (64, 64, "32s"),
            expected=(2, 2),
            compare=exact,
            hint="the finest scores of FCN-32s are the stride-32 scores of fc7: divide by the output stride "
            "32 and return a tuple (h, w) of ints",
        ),
        Case(
            "a 64x64 image, FCN-8s (worked by hand: 64 / 8)",
            (64, 64, "8s"),
            expected=(8, 8),
            compare=exact,
            hint="the output stride is the number in the variant's name: 32, 16 or 8",
        ),
        Case(
            "a 96x128 image, FCN-16s",
            (96, 128, "16s"),
            expected=(6, 8),
            compare=exact,
            hint="height and width are divided separately: (H / stride, W / stride)",
        ),
        Case(
            "a 70x50 image, FCN-8s: first padded to 96x64, a multiple of 32",
            (70, 50, "8s"),
            expected=(12, 8),
            compare=exact,
            hint="the input is padded (bottom and right) to the next multiple of 32, not of the stride, because "
            "the five poolings run in every variant: pool5 needs H and W divisible by 32. Round up, then "
            "divide: ceil(70 / 32) * 32 / 8 = 12",
        ),
        Case(
            "a 33x31 image, FCN-32s: padded to 64x32",
            (33, 31, "32s"),
            expected=(2, 1),
            compare=exact,
            hint="pad up to the next multiple of 32 (33 → 64), do not round down (33 // 32 = 1 loses the last "
            "row of pixels)",
        ),
    ]
    return run_checks("Exercise 7.1 (score_map_size)", fn, cases)


def _reference_fuse(coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    weight = bilinear_kernel(2, coarse.shape[1], dtype=coarse.dtype)  # (C, C, 4, 4), diagonal
    return F.conv_transpose2d(coarse, weight, stride=2, padding=1) + skip  # (N, C, 2h, 2w)


def check_fuse_skip(fn: Callable) -> bool:
    """Exercise 7.2: ``fuse_skip(coarse, skip)``: (N, C, h, w) and (N, C, 2h, 2w) scores → (N, C, 2h, 2w)."""
    g = torch.Generator().manual_seed(7)
    one = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])  # (1, 1, 2, 2)
    zeros4 = torch.zeros(1, 1, 4, 4)
    # By hand: the bilinear 4x4 kernel is outer([.25, .75, .75, .25]); input (0, 0) lands on output rows and
    # columns -1 ... 2, and the padding of 1 crops row/column -1.
    row = torch.tensor([0.75, 0.75, 0.25, 0.0])
    hand = (row[:, None] * row[None, :])[None, None]
    coarse = torch.randn(2, 3, 3, 5, generator=g)
    skip = torch.randn(2, 3, 6, 10, generator=g)
    flat, flat_skip = torch.full((1, 2, 3, 3), 2.0), torch.zeros(1, 2, 6, 6)
    cases = [
        Case(
            "one score of 1 in a 2x2 map, a zero skip (worked by hand)",
            (one, zeros4),
            expected=hand,
            compare=_CLOSE,
            hint="upsample with F.conv_transpose2d(coarse, segbook.ops.bilinear_kernel(2, C), stride=2, "
            "padding=1): each input score spreads over a 4x4 patch with weights 0.25/0.75 per axis; "
            "nearest-neighbour copying would give a block of ones",
        ),
        Case(
            "a zero skip: the result is the upsampled coarse scores (what a zero-initialised score layer gives)",
            (coarse, torch.zeros(2, 3, 6, 10)),
            expected=_reference_fuse(coarse, torch.zeros(2, 3, 6, 10)),
            compare=_CLOSE,
            hint="the kernel of bilinear_kernel(2, C) is (C, C, 4, 4) and diagonal: class c's scores are upsampled "
            "on their own; use stride=2 and padding=1 so that the output is exactly twice the input",
        ),
        Case(
            "random scores, 2 images and 3 classes: upsample x2, then ADD the skip scores",
            (coarse, skip),
            expected=_reference_fuse(coarse, skip),
            compare=_CLOSE,
            hint="FCN fuses by summation: up2(coarse) + skip, the same shape (N, C, 2h, 2w) as the skip. "
            "Concatenating the two along the channels is U-Net's fusion, not FCN's",
        ),
        Case(
            "constant scores 2: the transposed convolution sees zeros outside the map, so the border is lower",
            (flat, flat_skip),
            expected=_reference_fuse(flat, flat_skip),
            compare=_CLOSE,
            hint="F.interpolate(..., mode='bilinear') repeats the edge value (2 everywhere), but the transposed "
            "convolution of FCN treats outside scores as 0: its first and last rows and columns get "
            "0.75 * 2 = 1.5. Use the transposed convolution, as the model does",
        ),
    ]
    return run_checks("Exercise 7.2 (fuse_skip)", fn, cases)


def _describe_layer(layer: object, in_channels: int) -> dict:
    """The properties of a 1x1 score layer that the exercise asks for, as a dict (compared key by key)."""
    if not isinstance(layer, nn.Conv2d):
        return {"type": type(layer).__name__}
    shape = {
        "type": "Conv2d",
        "kernel_size": tuple(layer.kernel_size),
        "in_channels, out_channels": (layer.in_channels, layer.out_channels),
    }
    if layer.in_channels != in_channels:  # it cannot run on these features
        return {
            **shape,
            **dict.fromkeys(
                (
                    "has a bias",
                    "output on random features is all zero",
                    "weights trainable (requires_grad)",
                    "weights get a non-zero gradient",
                ),
                "not measured",
            ),
        }
    x = torch.randn(2, in_channels, 5, 5, generator=torch.Generator().manual_seed(0))
    layer.zero_grad(set_to_none=True)
    out = layer(x)
    if out.requires_grad:
        out.sum().backward()
    grad = layer.weight.grad
    return {
        **shape,
        "has a bias": layer.bias is not None,
        "output on random features is all zero": bool(out.detach().abs().max() == 0),
        "weights trainable (requires_grad)": bool(layer.weight.requires_grad),
        "weights get a non-zero gradient": grad is not None and bool(grad.abs().max() > 0),
    }


def _layer_compare(in_channels: int) -> Callable:
    def compare(expected: object, got: object) -> "tuple[bool, str]":
        return default_compare(expected, _describe_layer(got, in_channels))

    return compare


def check_zero_score_layer(fn: Callable) -> bool:
    """Exercise 7.3: ``zero_score_layer(in_channels, num_classes)`` → a zero-initialised, trainable 1x1 conv."""

    def expected(c_in: int, c_out: int) -> dict:
        return {
            "type": "Conv2d",
            "kernel_size": (1, 1),
            "in_channels, out_channels": (c_in, c_out),
            "has a bias": True,
            "output on random features is all zero": True,
            "weights trainable (requires_grad)": True,
            "weights get a non-zero gradient": True,
        }

    cases = [
        Case(
            "score_pool4 of the book's FCN: 96 channels in, 5 classes out",
            (96, 5),
            expected=expected(96, 5),
            compare=_layer_compare(96),
            hint="the problem line names the property that differs. The layer scores each position from that "
            "position's features only (which kernel size is that?); zero BOTH of its parameters, and keep them "
            "trainable: zero is where the layer starts, not where it stays",
        ),
        Case(
            "score_pool3: 64 channels in, 21 classes out (PASCAL VOC)",
            (64, 21),
            expected=expected(64, 21),
            compare=_layer_compare(64),
            hint="in_channels is the number of channels of the pooled features, num_classes the number of "
            "output channels",
        ),
    ]
    return run_checks("Exercise 7.3 (zero_score_layer)", fn, cases)


# --------------------------------------------------------------------------- Exercise 7.4: make a broken FCN train

REPAIR_STEPS, REPAIR_LR, REPAIR_IOU = 30, 0.02, 0.4  # full-batch Adam steps, learning rate, foreground IoU to reach
_UNTOUCHED = "the given FCN-8s, its working layers untouched"
_FIXED = "no parameter trains that did not train before"


def broken_fcn() -> FCN:
    """Exercise 7.4's tiny FCN-8s for 2 classes (background, object), with the bug the exercise asks to find.

    The same net (the same initial weights) every call. Chapter 7's solution of the exercise explains the bug.
    """
    with torch.random.fork_rng():  # the same initial weights every call, without touching the caller's seed
        torch.manual_seed(0)
        model = FCN(2, variant="8s", widths=(4, 8, 8, 16, 16), head_width=16)
    with torch.no_grad():
        model.upscore_final.weight.zero_()
    return model


def repair_task() -> "tuple[torch.Tensor, torch.Tensor]":
    """Exercise 7.4's training data: 16 images (16, 3, 32, 32) and their object masks (16, 32, 32), 1 = object."""
    images, labels = SceneDataset(16, seed=11, size=32, num_objects=(1, 2), texture=False, object_scale=2.0).tensors()
    return images, (labels != 0).long()


def _train_and_score(model: nn.Module) -> dict:
    """Train ``model`` for REPAIR_STEPS full-batch Adam steps on :func:`repair_task`; its foreground IoU after."""
    images, masks = repair_task()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=REPAIR_LR) if trainable else None
    model.train()
    losses = []
    with torch.random.fork_rng():
        torch.manual_seed(0)
        for _ in range(REPAIR_STEPS):
            loss = F.cross_entropy(model(images), masks)
            losses.append(loss.item())
            if optimizer is not None and loss.requires_grad:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        with torch.no_grad():  # scored in training mode: batch statistics, as during the steps
            predicted = model(images).argmax(1)
    overlap = ((predicted == 1) & (masks == 1)).sum().item()
    union = ((predicted == 1) | (masks == 1)).sum().item()
    return {"iou": overlap / union, "first loss": losses[0], "last loss": losses[-1]}


def _trained(model: object, args: tuple, kwargs: dict) -> object:
    """The result of :func:`_train_and_score` for a model; what came back instead, for anything else."""
    return _train_and_score(model) if isinstance(model, nn.Module) else f"{type(model).__name__}, not a model"


def _trains_well(expected: object, got: object) -> "tuple[bool, str]":
    if not isinstance(got, dict):
        return False, f"could not train the returned model: {got!r}"
    iou, first, last = got["iou"], got["first loss"], got["last loss"]
    trace = f"the training loss went from {first:.4f} to {last:.4f}"
    if not math.isfinite(last):
        return False, f"{trace}: it became NaN or infinite"
    if iou >= REPAIR_IOU:
        return True, ""
    stuck = " (log 2 = 0.6931: the logits stayed 0)" if abs(last - math.log(2)) < 1e-4 else ""
    return False, (
        f"foreground IoU {iou:.3f} after {REPAIR_STEPS} steps, below the {REPAIR_IOU} required; {trace}{stuck}"
    )


def _what_changed(model: object, args: tuple, kwargs: dict) -> str:
    """_UNTOUCHED, or what the repair changed beyond the broken layer: the type, or other layers' parameters."""
    if not isinstance(model, FCN):
        return f"the function returned {type(model).__name__}, not the repaired FCN"
    before = dict(broken_fcn().named_parameters())
    after = dict(model.named_parameters())
    changed = [
        name
        for name, value in before.items()
        if not name.startswith("upscore_final.")
        and (name not in after or after[name].shape != value.shape or not torch.equal(after[name].detach(), value))
    ]
    if model.variant != "8s" or changed:
        return f"FCN-{model.variant} returned; parameters that were not broken have changed: {', '.join(changed)}"
    return _UNTOUCHED


def _still_fixed(model: object, args: tuple, kwargs: dict) -> str:
    """_FIXED, or the parameters that train now although they did not in :func:`broken_fcn`."""
    if not isinstance(model, nn.Module):
        return f"the function returned {type(model).__name__}, not the repaired FCN"
    trained_before = {name for name, p in broken_fcn().named_parameters() if p.requires_grad}
    now = [name for name, p in model.named_parameters() if p.requires_grad and name not in trained_before]
    return f"{', '.join(now)} now {'trains' if len(now) == 1 else 'train'} (requires_grad=True)" if now else _FIXED


def _no_problem(expected: object, got: object) -> "tuple[bool, str]":
    """``got`` is ``expected`` (the property holds) or a sentence saying what is wrong instead."""
    return (True, "") if got == expected else (False, str(got))


def check_repair(fn: Callable) -> bool:
    """Exercise 7.4: ``repair(model)``: the broken FCN-8s of :func:`broken_fcn` → a repaired FCN that trains."""
    cases = [
        Case(
            "repair only what is broken: the same FCN-8s comes back, its working layers untouched",
            (broken_fcn(),),
            expected=_UNTOUCHED,
            derive=_what_changed,
            compare=_no_problem,
            hint="return the model you were given, repaired (in place is fine). The score layers score_pool4 "
            "and score_pool3 are zero on purpose (Exercise 7.3): the net must keep them, and everything else "
            "it learned or was initialised with",
        ),
        Case(
            "a layer the paper keeps fixed stays fixed (frozen)",
            (broken_fcn(),),
            expected=_FIXED,
            derive=_still_fixed,
            compare=_no_problem,
            hint="training the layer lets it escape from zero, but FCN keeps its final upsampling fixed: repair "
            "its weights so that it upsamples, and leave it frozen",
        ),
        Case(
            f"trained for {REPAIR_STEPS} full-batch Adam steps (learning rate {REPAIR_LR}) on the 16 images of "
            f"repair_task(), the foreground IoU must reach {REPAIR_IOU} (the broken net stays at 0)",
            (broken_fcn(),),
            expected=f"foreground IoU >= {REPAIR_IOU}",
            derive=_trained,
            compare=_trains_well,
            hint="find the layer that outputs 0 whatever its input: a zero layer the signal must pass through "
            "(in series) blocks it forward and backward, unlike a zero layer whose output is added to another "
            "path (in parallel). Non-zero is not enough for a layer that stays fixed: its weights must "
            "upsample the class scores, which a random kernel does not",
        ),
    ]
    return run_checks("Exercise 7.4 (repair)", fn, cases)


# --------------------------------------------------------------------------- Exercise 7.5: the wires


def check_answer_7_5(answer: object) -> bool:
    """Exercise 7.5: ``answer_7_5``: which change could let an FCN draw the 1-2 pixel wires (a letter)."""
    return check_choice(
        "Exercise 7.5 (answer_7_5)",
        answer,
        options={
            "a": "train FCN-8s for ten times as many epochs",
            "b": "make the final x8 upsampling learnable instead of fixed",
            "c": "add skips from pool2 and pool1, giving scores at stride 4 and 2 before the last upsampling",
            "d": "weight the wire class more in the cross entropy",
        },
        correct="c",
        why="the stride-ceiling table kept the wires only at stride 2: averaged over an 8 x 8 block, a 1-2 pixel "
        "line is a small share of every block it crosses. The table is not a strict bound, but the limit it shows "
        "is the grid's: FCN-8s has C numbers per 8 x 8 block to say where a wire runs through it, whatever the "
        "training and whatever upsampling follows. Scores computed at a finer stride, from features that still "
        "resolve the wire (skips from pool2 and pool1), can hold it. That is what the U-Net of chapter 8 does, "
        "with a skip at every level.",
        wrong={
            "a": "longer training improves the scores, not the grid they live on: how many numbers per 8 x 8 "
            "block does FCN-8s have to say where a wire runs, and what did the stride-ceiling table keep at "
            "stride 8?",
            "b": "the final upsampling sees only the stride-8 scores, C numbers per 8 x 8 block: learned or fixed, "
            "it has nothing more to go on, and where inside the block a thin line ran is lost before it",
            "d": "a class weight makes wire mistakes cost more, but the scores still live on the stride-8 grid: "
            "at best the net paints wire over the 8 x 8 cells a wire crosses, not a 1-2 pixel line",
        },
    )
