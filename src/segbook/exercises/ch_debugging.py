"""Checks for the exercises of the debugging appendix: find and fix the bug in a given piece of a pipeline.

Each exercise shows a broken function (a training step, a resize of an image and its mask, a Dice loss) and asks
for the fixed one. The checks run it and check what it DOES (the loss it returns, the weights after two steps,
whether it memorises one batch, the labels of the resized mask, the gradient reaching ignored pixels), so any
correct fix passes and the broken original fails. Expected values come from PyTorch (``F.cross_entropy``,
``F.interpolate``, a reference training step run on a copy of the same model) and from the appendix's own Dice
formula applied to the counted pixels only.
"""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from segbook.conventions import IGNORE_INDEX
from segbook.exercises._core import Case, run_checks
from segbook.exercises._values import allclose, compare_values, describe
from segbook.models import SmallSegNet

__all__ = ["check_train_step", "check_resize_pair", "check_dice_loss"]

# --------------------------------------------------------------------------- D.1: a training step

_CLASSES, _WIDTH = 5, 8
_OVERFIT_STEPS, _OVERFIT_LIMIT = 50, 0.5  # the softmax slip cannot go below log(1 + 4/e) = 0.905 (5 classes)


def _two_images(size: int = 16) -> "tuple[torch.Tensor, torch.Tensor]":
    """Two images of coloured rectangles (one colour per class, plus noise) and their masks, first row 255."""
    g = torch.Generator().manual_seed(7)
    masks = torch.zeros(2, size, size, dtype=torch.long)
    for n in range(2):
        for c in range(1, _CLASSES):
            h, w = torch.randint(3, 7, (2,), generator=g).tolist()
            y, x = torch.randint(0, size - 3, (2,), generator=g).tolist()
            masks[n, y : y + h, x : x + w] = c
    colours = torch.rand(_CLASSES, 3, generator=g)
    images = colours[masks].permute(0, 3, 1, 2) + 0.1 * torch.randn(2, 3, size, size, generator=g)
    masks[:, 0] = IGNORE_INDEX  # an unlabelled first row, as at the borders of real masks
    return images.clamp(0, 1), masks


class _Net(SmallSegNet):
    def __repr__(self) -> str:  # one line in the check's messages
        return f"SmallSegNet({_CLASSES}, width={_WIDTH})"


class _SGD(torch.optim.SGD):
    def __repr__(self) -> str:
        return f"SGD(model.parameters(), lr={self.defaults['lr']})"


class _Adam(torch.optim.Adam):
    def __repr__(self) -> str:
        return f"Adam(model.parameters(), lr={self.defaults['lr']})"


def _model(seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):  # the notebook's own random state is left as it was
        torch.manual_seed(seed)
        return _Net(_CLASSES, width=_WIDTH)


def _reference_step(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor, masks: torch.Tensor):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), masks, ignore_index=IGNORE_INDEX)
    loss.backward()
    optimizer.step()
    return loss.item()


def _weights(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _below(limit: float):
    def compare(expected: object, got: object) -> "tuple[bool, str]":
        if isinstance(got, float) and got < limit:
            return True, ""
        return False, f"the last step's loss is {describe(got)}, not below {limit}"

    return compare


def check_train_step(fn: Callable) -> bool:
    """Exercise D.1: ``train_step(model, optimizer, images, masks)``: one step → the batch's loss, a float."""
    images, masks = _two_images()
    model = _model(0)
    sgd = _SGD(model.parameters(), lr=0.1)
    one, two = copy.deepcopy((model, sgd)), copy.deepcopy((model, sgd))
    first_loss = _reference_step(*one, images, masks)
    for _ in range(2):
        _reference_step(*two, images, masks)
    adam_model = _model(0)
    adam = _Adam(adam_model.parameters(), lr=1e-2)

    def second_step(result: object, args: tuple, kwargs: dict) -> torch.Tensor:
        fn(*args, **kwargs)
        return _weights(args[0])

    def overfit(result: object, args: tuple, kwargs: dict) -> object:
        for _ in range(_OVERFIT_STEPS - 1):
            result = fn(*args, **kwargs)
        return result

    cases = [
        Case(
            "one step on two images (their first rows labelled 255): the cross entropy of the batch before the "
            "update, a float",
            (model, sgd, images, masks),
            expected=first_loss,
            compare=allclose(1e-5, 1e-6),
            hint="compare what F.cross_entropy expects as its first argument (its documentation: unnormalised "
            "scores, it normalises them itself) with what you pass it; return the loss as a Python float",
        ),
        Case(
            "two steps in a row (SGD, lr 0.1): the weights after them, each step moved by its own gradient",
            (model, sgd, images, masks),
            expected=_weights(two[0]),
            compare=allclose(1e-4, 1e-6),
            derive=second_step,
            hint="backward() ADDS the new gradient to what .grad already holds: without clearing it, the second "
            "step also applies the first step's gradient again",
        ),
        Case(
            f"overfit one batch: {_OVERFIT_STEPS} steps of Adam (lr 0.01) bring the loss below {_OVERFIT_LIMIT}",
            (adam_model, adam, images, masks),
            expected=f"a loss below {_OVERFIT_LIMIT}",
            compare=_below(_OVERFIT_LIMIT),
            derive=overfit,
            hint="a healthy step memorises two images: check that every step clears the old gradients, "
            "computes the loss of the logits and calls optimizer.step()",
        ),
    ]
    return run_checks("Exercise D.1 (train_step)", fn, cases)


# --------------------------------------------------------------------------- D.2: resizing an image and its mask


def _resized(image: torch.Tensor, mask: torch.Tensor, size: "tuple[int, int]") -> "list[tuple]":
    """The right answers: the image resized bilinearly, the mask by nearest neighbour (either PyTorch rule)."""
    smooth = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False)[0]
    return [
        (smooth, F.interpolate(mask[None, None].float(), size=size, mode=mode)[0, 0].long())
        for mode in ("nearest", "nearest-exact")
    ]


def _resize_compare(mask: torch.Tensor, answers: "list[tuple]"):
    """Accept either nearest-neighbour rule; otherwise say what went wrong, invented labels first."""

    def compare(expected: object, got: object) -> "tuple[bool, str]":
        if not isinstance(got, tuple) or len(got) != 2:
            return False, f"expected a tuple (image, mask), got {describe(got)}"
        ok_image, why_image = compare_values(answers[0][0], got[0], 1e-5, 1e-6)
        if not ok_image:
            return False, f"the image: {why_image}"
        got_mask = got[1]
        if isinstance(got_mask, torch.Tensor):
            invented = sorted(set(got_mask.unique().tolist()) - set(mask.unique().tolist()))
            if invented:
                shown = ", ".join(f"{v:g}" for v in invented[:8])
                return False, f"the mask holds labels that the input mask does not have: {shown}"
        reasons = [compare_values(answer[1], got_mask, 0.0, 0.0) for answer in answers]
        if any(ok for ok, _ in reasons):
            return True, ""
        return False, f"the mask: {reasons[0][1]}"

    return compare


def _mask_with_borders(height: int, width: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(height, width, dtype=torch.long)
    mask[:, width // 2 :] = 3
    mask[1 : height - 1, 1 : width // 2] = 1  # class 1 next to class 3: their average is the class 2
    mask[(torch.rand(height, width, generator=g) < 0.15)] = IGNORE_INDEX
    return mask


def check_resize_pair(fn: Callable) -> bool:
    """Exercise D.2: ``resize_pair(image, mask, size)``: an image and its mask resized to ``size`` → a tuple."""
    g = torch.Generator().manual_seed(22)
    cases = []
    for description, (h, w), size, hint in [
        (
            "a 4 x 4 mask with classes 1 and 3 side by side and some 255, doubled to 8 x 8",
            (4, 4),
            (8, 8),
            "a mask holds labels, not intensities: a weighted average of the labels 1 and 3 is 2, a class "
            "that is not there, and next to 255 it gives values such as 128; a mask needs an interpolation "
            "that gives every output pixel the label of one input pixel",
        ),
        (
            "6 x 6 to 9 x 7 (not a whole factor): every output label is a label of the input",
            (6, 6),
            (9, 7),
            "any rounding of an average still invents labels between two classes (1 and 3 give 2); pick one "
            "input pixel's label instead",
        ),
        (
            "shrinking 8 x 8 to 4 x 4: the image stays bilinear, the mask int64",
            (8, 8),
            (4, 4),
            "leave the image's line as it was (bilinear suits an image: its values are intensities) and return "
            "the mask as int64 class indices, the dtype F.cross_entropy wants",
        ),
    ]:
        image = torch.rand(3, h, w, generator=g)
        mask = _mask_with_borders(h, w, seed=h * 10 + w)
        answers = _resized(image, mask, size)
        cases.append(
            Case(
                description, (image, mask, size), expected=answers[0], compare=_resize_compare(mask, answers), hint=hint
            )
        )
    return run_checks("Exercise D.2 (resize_pair)", fn, cases)


# --------------------------------------------------------------------------- D.3: a Dice loss and the ignore index


def _dice_of_counted(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The appendix's global soft Dice loss, over the pixels not labelled ``IGNORE_INDEX`` only."""
    counted = target != IGNORE_INDEX
    p = logits.detach().softmax(1).movedim(1, -1)[counted]  # (K, C): the counted pixels only
    onehot = F.one_hot(target[counted], logits.shape[1]).float()  # (K, C)
    return 1 - 2 * (p * onehot).sum() / (p.sum() + onehot.sum())


def _logits_and_target(seed: int, ignored: float, n: int = 2, c: int = 4, size: int = 6):
    g = torch.Generator().manual_seed(seed)
    logits = (2 * torch.randn(n, c, size, size, generator=g)).requires_grad_()
    target = torch.randint(0, c, (n, size, size), generator=g)
    target[torch.rand(n, size, size, generator=g) < ignored] = IGNORE_INDEX
    target[0, 0, 0] = 0 if ignored == 0 else IGNORE_INDEX
    return logits, target


def _ignored_gradient(result: object, args: tuple, kwargs: dict) -> float:
    if not isinstance(result, torch.Tensor) or not result.requires_grad:
        raise TypeError(f"the loss must be a tensor that autograd can differentiate, got {describe(result)}")
    (grad,) = torch.autograd.grad(result, args[0])
    ignored = (args[1] == IGNORE_INDEX).unsqueeze(1).expand_as(grad)
    return float(grad[ignored].abs().max())


def check_dice_loss(fn: Callable) -> bool:
    """Exercise D.3: ``dice_loss(logits, target)``: the appendix's Dice loss, with pixels labelled 255 ignored."""
    clean = _logits_and_target(31, ignored=0.0)
    quarter = _logits_and_target(32, ignored=0.25)
    close = allclose(1e-5, 1e-6)
    cases: "Sequence[Case]" = [
        Case(
            "no pixel labelled 255: the same value as the broken function",
            clean,
            expected=_dice_of_counted(*clean),
            compare=close,
            hint="on a mask without 255 the fixed loss must equal the original (a 0-dim tensor): change only "
            "what happens to the ignored pixels",
        ),
        Case(
            "a quarter of the pixels labelled 255: the Dice loss of the counted pixels alone",
            quarter,
            expected=_dice_of_counted(*quarter),
            compare=close,
            hint="an ignored pixel must count nowhere: not in the overlap, not in the sum of the probabilities "
            "and not in the sum of the one-hot target; mapping 255 to a class counts it as that class",
        ),
        Case(
            "the logits of ignored pixels get no gradient (largest absolute gradient there)",
            quarter,
            expected=0.0,
            compare=allclose(0.0, 0.0),
            derive=_ignored_gradient,
            hint="autograd must be able to differentiate the loss: build new tensors (torch.where, a product "
            "with the mask of counted pixels) instead of writing zeros into a tensor in place",
        ),
    ]
    return run_checks("Exercise D.3 (dice_loss)", fn, cases)
