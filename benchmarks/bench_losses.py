"""Benchmark: every loss of `segbook.losses` and `segbook.metrics.confusion_matrix` beside plain PyTorch.

Run: python benchmarks/bench_losses.py [--repeat 30] [--threads 1] [--limit 1.3]

Each row times segbook's function and a plain-PyTorch equivalent written out below (``F.cross_entropy``,
``F.binary_cross_entropy_with_logits``, torchvision's ``sigmoid_focal_loss``, a plain softmax Dice / Tversky,
CE + Dice, a plain boundary term, ``torch.bincount`` for the confusion matrix) on the same inputs, in one
process: forward + backward (forward only for the confusion matrix), on the CPU, with ``--threads`` torch
threads (default 1). The two are called alternately and the median of ``--repeat`` calls is reported, so load
from other processes hits both alike. Multi-class inputs are logits ``(16, 5, 64, 64)`` with a target
``(16, 64, 64)``, binary ones ``(16, 1, 64, 64)``; the top 4 rows of every target are the ignore index 255
(6% of the pixels, like the unlabelled borders of PASCAL VOC), so **both sides handle ignored pixels**: each
plain version leaves them out as a user would write it (``F.cross_entropy(..., ignore_index=255)``, or the
loss masked and averaged over the counted pixels, in the fastest plain form we found), and the "max diff"
column checks that both compute the same number. segbook's losses run with their default ``validate=None``,
i.e. *with* their value checks (class range, "probabilities passed as logits"), which run on CPU tensors.
The boundary losses get a precomputed distance map
(both sides), so the table times the loss, not scipy's distance transform.

Prints a table (loss, segbook ms, plain ms, ratio, largest difference of the two results) and **exits with
status 1 if any ratio exceeds** ``--limit`` (default 1.3), or if the two results disagree. A script, not a
timed test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Callable, List, Optional, Tuple

import torch
from torch.nn import functional as F
from torchvision.ops import sigmoid_focal_loss

from segbook import losses, metrics

N, C, H, W = 16, 5, 64, 64
IGNORE, BAND = 255, 4  # the ignore index, and the rows of every image that carry it
Case = Tuple[str, Callable[[], torch.Tensor], Callable[[], torch.Tensor], bool]


def plain_dice(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Softmax Dice loss per image and class, averaged: 1 - (2 sum p g + s) / (sum p + sum g + s), ignored
    pixels (255) out of every sum."""
    valid = (target != IGNORE)[:, None]
    p = logits.softmax(1) * valid
    g = F.one_hot(target.masked_fill(~valid[:, 0], 0), logits.shape[1]).permute(0, 3, 1, 2) * valid
    tp = (p * g).sum((2, 3))
    return (1 - (2 * tp + smooth) / (p.sum((2, 3)) + g.sum((2, 3)) + smooth)).mean()


def plain_tversky(logits: torch.Tensor, target: torch.Tensor, a: float, b: float, s: float) -> torch.Tensor:
    """Softmax Tversky loss per image and class: 1 - (TP + s) / (TP + a FP + b FN + s), averaged."""
    valid = (target != IGNORE)[:, None]
    p = logits.softmax(1) * valid
    g = F.one_hot(target.masked_fill(~valid[:, 0], 0), logits.shape[1]).permute(0, 3, 1, 2) * valid
    tp = (p * g).sum((2, 3))
    fp = p.sum((2, 3)) - tp
    fn = g.sum((2, 3)) - tp
    return (1 - (tp + s) / (tp + a * fp + b * fn + s)).mean()


def plain_binary_dice(z: torch.Tensor, y: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    valid = y != IGNORE
    p, g = torch.sigmoid(z) * valid, (y == 1).to(z.dtype)
    tp = (p * g).sum((1, 2, 3))
    return (1 - (2 * tp + smooth) / (p.sum((1, 2, 3)) + g.sum((1, 2, 3)) + smooth)).mean()


def masked_mean(loss: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """The mean of ``loss`` over the counted pixels."""
    return torch.where(valid, loss, 0.0).sum() / valid.sum()


def plain_bce(z: torch.Tensor, y: torch.Tensor, pos_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """BCE averaged over the counted pixels: the mask as ``weight`` (the fastest plain form we found)."""
    valid = (y != IGNORE).to(z.dtype)
    total = F.binary_cross_entropy_with_logits(z, y.to(z.dtype), weight=valid, pos_weight=pos_weight, reduction="sum")
    return total / valid.sum()


def plain_focal(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Multi-class focal loss -(1 - p_t)^gamma log p_t, mean over counted pixels (-log p_t = CE)."""
    ce = F.cross_entropy(logits, target, ignore_index=IGNORE, reduction="none")
    return ((1 - torch.exp(-ce)) ** gamma * ce).sum() / (target != IGNORE).sum()


def plain_boundary(phi: torch.Tensor, probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of phi * probs over the counted pixels and the K channels."""
    valid = (target != IGNORE)[:, None]
    return (phi * probs * valid).sum() / (valid.sum() * probs.shape[1])


def cases() -> List[Case]:
    """(name, segbook call, plain call, backward?) for every benchmarked function."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(N, C, H, W, generator=g).requires_grad_()
    clean_target = torch.randint(0, C, (N, H, W), generator=g)
    target = clean_target.clone()
    target[:, :BAND] = IGNORE  # the top rows of every image are not labelled
    z = torch.randn(N, 1, H, W, generator=g).requires_grad_()
    y = torch.randint(0, 2, (N, 1, H, W), generator=g)
    y[:, :, :BAND] = IGNORE
    weight = [1.0, 2.0, 0.5, 3.0, 1.5]
    w = torch.tensor(weight)
    phi = losses.signed_distance_map(target, C)  # (N, C, H, W)
    phi_z = losses.signed_distance_map(y[:, 0], 2)[:, 1:]  # (N, 1, H, W)
    pixel_w = torch.rand(N, H, W, generator=g) + 0.5
    heads = [torch.randn(N, C, H, W, generator=g).requires_grad_() for _ in range(2)]
    pred = torch.randint(0, C, (N, H, W), generator=g)
    valid_y = y != IGNORE

    def ce(x: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(x, target, ignore_index=IGNORE)

    return [
        ("binary_cross_entropy", lambda: losses.binary_cross_entropy(z, y), lambda: plain_bce(z, y), True),
        (
            "binary_cross_entropy pos_weight",
            lambda: losses.binary_cross_entropy(z, y, pos_weight=3.0),
            lambda: plain_bce(z, y, pos_weight=torch.tensor(3.0)),
            True,
        ),
        ("cross_entropy", lambda: losses.cross_entropy(logits, target), lambda: ce(logits), True),
        (
            "cross_entropy weight",
            lambda: losses.cross_entropy(logits, target, weight=weight),
            lambda: F.cross_entropy(logits, target, weight=w, ignore_index=IGNORE),
            True,
        ),
        (
            "binary_focal_loss",
            lambda: losses.binary_focal_loss(z, y),
            lambda: masked_mean(sigmoid_focal_loss(z, y.float(), alpha=0.25, gamma=2.0), valid_y),
            True,
        ),
        ("focal_loss", lambda: losses.focal_loss(logits, target), lambda: plain_focal(logits, target), True),
        ("soft_dice_loss", lambda: losses.soft_dice_loss(logits, target), lambda: plain_dice(logits, target), True),
        ("soft_dice_loss binary", lambda: losses.soft_dice_loss(z, y), lambda: plain_binary_dice(z, y), True),
        (
            "tversky_loss",
            lambda: losses.tversky_loss(logits, target, fp_weight=0.3, fn_weight=0.7),
            lambda: plain_tversky(logits, target, 0.3, 0.7, 0.5),
            True,
        ),
        (
            "dice_ce_loss",
            lambda: losses.dice_ce_loss(logits, target),
            lambda: plain_dice(logits, target) + ce(logits),
            True,
        ),
        (
            "dice_focal_loss",
            lambda: losses.dice_focal_loss(logits, target),
            lambda: plain_dice(logits, target) + plain_focal(logits, target),
            True,
        ),
        (
            "boundary_loss (given phi)",
            lambda: losses.boundary_loss(logits, target, distance_map=phi),
            lambda: plain_boundary(phi[:, 1:], logits.softmax(1)[:, 1:], target),
            True,
        ),
        (
            "boundary_loss binary (given phi)",
            lambda: losses.boundary_loss(z, y, distance_map=phi_z),
            lambda: plain_boundary(phi_z, torch.sigmoid(z), y[:, 0]),
            True,
        ),
        (
            "dice_boundary_loss (given phi)",
            lambda: losses.dice_boundary_loss(logits, target, region_weight=0.5, distance_map=phi),
            lambda: (
                0.5 * plain_dice(logits, target) + 0.5 * plain_boundary(phi[:, 1:], logits.softmax(1)[:, 1:], target)
            ),
            True,
        ),
        (
            "weighted_pixel_cross_entropy",
            lambda: losses.weighted_pixel_cross_entropy(logits, target, pixel_w),
            lambda: (
                (F.cross_entropy(logits, target, ignore_index=IGNORE, reduction="none") * pixel_w).sum()
                / (target != IGNORE).sum()
            ),
            True,
        ),
        (
            "deep_supervision_loss (2 heads)",
            lambda: losses.deep_supervision_loss(heads, target),
            lambda: (ce(heads[0]) + ce(heads[1])) / 2,
            True,
        ),
        (
            "DiceCELoss module",
            lambda: losses.DiceCELoss()(logits, target),
            lambda: plain_dice(logits, target) + ce(logits),
            True,
        ),
        (
            "confusion_matrix (forward)",
            lambda: metrics.confusion_matrix(pred, clean_target, C),
            lambda: torch.bincount((clean_target * C + pred).flatten(), minlength=C * C).reshape(C, C),
            False,
        ),
    ]


def clear_grads() -> None:
    """Nothing to clear: backward accumulates into .grad, which costs the same for both sides."""


def time_pair(
    ours: Callable[[], torch.Tensor], plain: Callable[[], torch.Tensor], backward: bool, repeat: int
) -> Tuple[float, float, float]:
    """Median ms of each (called alternately, after a warm-up) and the largest difference of the results."""

    def run(fn: Callable[[], torch.Tensor]) -> Tuple[float, torch.Tensor]:
        start = time.perf_counter()
        out = fn()
        if backward:
            out.backward()
        return time.perf_counter() - start, out.detach()

    _, a = run(ours)
    _, b = run(plain)
    ours_t, plain_t = [], []
    for _ in range(repeat):
        ours_t.append(run(ours)[0])
        plain_t.append(run(plain)[0])
    diff = (a.double() - b.double()).abs().max().item()
    return 1000 * statistics.median(ours_t), 1000 * statistics.median(plain_t), diff


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per function (default 30)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--limit", type=float, default=1.3, help="largest allowed ratio (default 1.3)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, CPU, {args.threads} thread(s), forward + backward, median of {args.repeat} "
        f"calls; logits ({N}, {C}, {H}, {W}), binary ({N}, 1, {H}, {W})"
    )
    header = f"{'loss':<34} {'segbook ms':>10} {'plain ms':>9} {'ratio':>6} {'max diff':>9}"
    print(header)
    print("-" * len(header))
    failed = []
    for name, ours, plain, backward in cases():
        ours_ms, plain_ms, diff = time_pair(ours, plain, backward, args.repeat)
        ratio = ours_ms / plain_ms
        flag = ""
        if ratio > args.limit:
            failed.append(name)
            flag = "  > limit"
        if not diff <= 1e-4:
            failed.append(name)
            flag += "  results differ"
        print(f"{name:<34} {ours_ms:>10.2f} {plain_ms:>9.2f} {ratio:>5.2f}x {diff:>9.1e}{flag}")
    if failed:
        print(f"\n{len(failed)} row(s) over the limit {args.limit}x or disagreeing: {', '.join(failed)}")
        return 1
    print(f"\nevery ratio <= {args.limit}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
