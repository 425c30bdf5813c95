"""The "decide and train" exercise of chapter 5 (5.6): the student's loss trains a network, and the result is checked.

The student writes the loss; :func:`check_imbalanced_loss` trains a small network with it on a small, seeded,
heavily imbalanced task (:func:`imbalanced_task_scores`) and requires a foreground IoU on held-out scenes. The
task is the chapter's experiment made smaller: foreground against background on scenes with small objects, the
``SmallSegNet`` starting from PyTorch's default initialisation (no prior bias), a fixed number of epochs. Plain
cross entropy spends that budget predicting background everywhere, and the balancing weight
:math:`\\beta = \\#\\text{background} / \\#\\text{foreground}` over-segments; both stay below the threshold
(``tests/test_exercises_ch05.py`` trains both). Training runs on one CPU thread, seeded, so the result is the same
at every call; the caller's random states and thread count are restored afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import random
import time
from typing import Callable, Dict, Iterator

import numpy as np
import torch

from segbook import data, metrics, training
from segbook.exercises._core import Case, describe, run_checks
from segbook.models import SmallSegNet

__all__ = ["check_imbalanced_loss", "imbalanced_task_scores", "imbalanced_task_data", "IMBALANCED_TASK"]

#: The task and the budget of exercise 5.6 (the statement quotes them; the notebook asserts they agree).
IMBALANCED_TASK: Dict[str, float] = {
    "size": 24,  # 24x24 scenes
    "object_scale": 0.4,  # small objects: about 4 % of the pixels are foreground
    "train_images": 256,
    "test_images": 100,
    "width": 8,  # SmallSegNet(2, width=8)
    "epochs": 8,
    "batch_size": 16,
    "lr": 1e-2,  # Adam with the one-cycle schedule of training.fit
    "min_iou": 0.5,  # the foreground IoU the loss must reach on the test scenes
}


@contextlib.contextmanager
def _one_thread_seeded() -> Iterator[None]:
    """One CPU thread (the same sums in the same order at every call); the caller's random states kept."""
    # fit reseeds Python's, NumPy's global and torch's generators (seed_everything): those are the states to keep
    threads, python_state = torch.get_num_threads(), random.getstate()
    numpy_state = np.random.get_state()  # noqa: NPY002 -- the global generator that seed_everything reseeds
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        torch.set_num_threads(threads)
        random.setstate(python_state)
        np.random.set_state(numpy_state)  # noqa: NPY002 -- given back as it was


@functools.lru_cache(maxsize=1)
def imbalanced_task_data() -> "tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]":
    """Exercise 5.6's scenes: training images and foreground masks, test images and foreground masks.

    Scenes of :class:`segbook.data.SceneDataset` (seeds 11 and 12) with small objects; any object is foreground
    (1), the rest background (0). Built once, then cached: do not modify them.

    Example:
        >>> train_images, train_fg, test_images, test_fg = imbalanced_task_data()
        >>> tuple(train_images.shape), tuple(test_fg.shape), bool(train_fg.float().mean() < 0.07)
        ((256, 3, 24, 24), (100, 24, 24), True)
    """
    config = data.SceneConfig(size=int(IMBALANCED_TASK["size"]), object_scale=IMBALANCED_TASK["object_scale"])
    train_images, train_masks = data.SceneDataset(
        int(IMBALANCED_TASK["train_images"]), seed=11, config=config
    ).tensors()
    test_images, test_masks = data.SceneDataset(int(IMBALANCED_TASK["test_images"]), seed=12, config=config).tensors()
    return train_images, (train_masks != 0).long(), test_images, (test_masks != 0).long()


def imbalanced_task_scores(loss_fn: Callable) -> Dict[str, float]:
    """Train exercise 5.6's network with ``loss_fn`` and score its foreground on the test scenes.

    ``SmallSegNet(2, width=8)`` (seed 0, PyTorch's default initialisation) is trained with
    ``training.fit(loss_fn=loss_fn)`` on the 256 training scenes of :func:`imbalanced_task_data` (24x24 pixels)
    for 8 epochs (batches of 16, Adam, one-cycle schedule peaking at ``lr = 0.01``, seed 0), on one CPU thread;
    then it predicts the 100 test scenes. About 3 s of CPU time.

    Args:
        loss_fn: ``loss_fn(logits, target) -> 0-dim tensor``, with logits ``(N, 2, H, W)`` (background,
            foreground) and target ``(N, H, W)`` int64 in ``{0, 1}``.

    Returns:
        ``{"fg_iou", "precision", "recall", "predicted_share", "true_share", "seconds"}``: the foreground's IoU,
        precision and recall, the share of test pixels predicted foreground and truly foreground, and the wall
        time of the training.

    Example (not run by the doctests: it trains for a few seconds)::

        from segbook import losses
        scores = imbalanced_task_scores(losses.cross_entropy)  # plain CE: background everywhere
        scores["fg_iou"] < IMBALANCED_TASK["min_iou"]  # True
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function loss_fn(logits, target), got {describe(loss_fn)}")
    train_images, train_fg, test_images, test_fg = imbalanced_task_data()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(train_images, train_fg),
        batch_size=int(IMBALANCED_TASK["batch_size"]),
        shuffle=True,
    )
    start = time.perf_counter()
    with _one_thread_seeded():
        torch.manual_seed(0)
        model = SmallSegNet(2, width=int(IMBALANCED_TASK["width"]))
        training.fit(
            model,
            loader,
            num_classes=2,
            loss_fn=loss_fn,
            epochs=int(IMBALANCED_TASK["epochs"]),
            lr=IMBALANCED_TASK["lr"],
            schedule="one-cycle",
            device="cpu",
            seed=0,
            progress=False,
        )
        predicted = training.predict(model, test_images)
    cm = metrics.confusion_matrix(predicted, test_fg, 2)
    return {
        "fg_iou": float(metrics.iou_per_class(cm)[1]),
        "precision": float(metrics.precision_per_class(cm)[1].nan_to_num(0.0)),
        "recall": float(metrics.recall_per_class(cm)[1]),
        "predicted_share": float((predicted == 1).float().mean()),
        "true_share": float(test_fg.float().mean()),
        "seconds": time.perf_counter() - start,
    }


def _a_differentiable_number(loss: object, args: tuple, kwargs: dict) -> bool:
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0 or not loss.is_floating_point():
        raise TypeError(f"the loss must be a 0-dim float tensor (the mean over the batch), got {describe(loss)}")
    if loss.grad_fn is None:
        raise TypeError(
            "the loss must be computed from the logits with tensor operations (no .item(), .detach() or "
            "torch.no_grad()), so that training can differentiate it"
        )
    if not torch.isfinite(loss):
        raise ValueError(f"the loss of a batch of random logits is {loss.item()}, not a finite number")
    return True


def _diagnosis(scores: Dict[str, float]) -> str:
    said, true = scores["predicted_share"], scores["true_share"]
    where = f"the network calls {said:.1%} of the test pixels foreground, where {true:.1%} are"
    if said < 0.7 * true:
        return f"{where}: it misses most of the foreground (recall {scores['recall']:.2f})"
    if said > 1.3 * true:
        return f"{where}: far too many (precision {scores['precision']:.2f})"
    return f"{where}, but not the right ones (precision {scores['precision']:.2f}, recall {scores['recall']:.2f})"


def check_imbalanced_loss(fn: Callable) -> bool:
    """Exercise 5.6: ``imbalanced_loss(logits, target)``: a loss that trains the imbalanced task to the asked IoU."""
    g = torch.Generator().manual_seed(56)
    logits = torch.randn(2, 2, 24, 24, generator=g, requires_grad=True)
    target = (torch.rand(2, 24, 24, generator=g) < 0.05).long()
    scores: Dict[str, float] = {}
    needed = IMBALANCED_TASK["min_iou"]

    def train(loss: object, args: tuple, kwargs: dict) -> Dict[str, float]:
        scores.update(imbalanced_task_scores(fn))
        return scores

    def reaches(expected: object, got: object) -> "tuple[bool, str]":
        assert isinstance(got, dict)
        if got["fg_iou"] >= needed:
            return True, ""
        return False, f"foreground IoU {got['fg_iou']:.2f} on the test scenes, below {needed}: {_diagnosis(got)}"

    cases = [
        Case(
            "the loss of a batch of random logits, (2, 2, 24, 24), with 5 % foreground",
            (logits, target),
            expected=True,
            derive=_a_differentiable_number,
            hint="return the mean loss over the batch as a 0-dim tensor computed from the logits",
        ),
        Case(
            f"training SmallSegNet with your loss for {IMBALANCED_TASK['epochs']} epochs: foreground IoU >= {needed}",
            (logits, target),
            expected=needed,
            derive=train,
            compare=reaches,
            hint="compare the share of pixels the network calls foreground with the true share: too few means the "
            "many background pixels dominate the loss, too many means the foreground weighs too much",
        ),
    ]
    ok = run_checks("Exercise 5.6 (imbalanced_loss)", fn, cases)
    if ok:
        print(
            f"    foreground IoU {scores['fg_iou']:.2f} (asked: {needed}); precision {scores['precision']:.2f}, "
            f"recall {scores['recall']:.2f}\n    predicted foreground: {scores['predicted_share']:.1%} of the "
            f"pixels (truth: {scores['true_share']:.1%})"
        )
    return ok
