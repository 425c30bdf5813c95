"""Checks for the exercises of chapter 9 (U-Net++).

Each ``check_*`` runs the student's function on several cases and explains the first failure. Expected values come
from :class:`segbook.models.UNetPlusPlus` itself (the channels of its convolutions, the nodes its pruned forward
computes) and from :func:`segbook.losses.deep_supervision_loss`; the averaged heads are compared with the log of the
mean probability computed in float64. ``check_answer_9_5`` is a short question: one option, with the reasoning
printed once it is right.
"""

from __future__ import annotations

from typing import Callable

import torch

from segbook.exercises._core import Case, allclose, run_checks
from segbook.exercises._questions import check_choice
from segbook.exercises._values import exact
from segbook.losses import deep_supervision_loss
from segbook.models import UNetPlusPlus

__all__ = [
    "check_node_input_channels",
    "check_deep_supervision_ce",
    "check_pruned_nodes",
    "check_average_heads",
    "check_answer_9_5",
]


def _model_in_channels(i: int, j: int, width: int, in_channels: int = 3) -> int:
    """The input channels of node X^{i,j}'s first convolution in segbook's UNetPlusPlus."""
    model = UNetPlusPlus(2, in_channels=in_channels, width=width, depth=max(i + j, 1))
    return int(next(iter(model.nodes[f"{i}_{j}"].children())).in_channels)  # type: ignore[arg-type]


def check_node_input_channels(fn: Callable) -> bool:
    """Exercise 9.1: ``node_input_channels(i, j, width, in_channels=3)``: the channels entering node X^{i,j}."""
    cases = [
        Case(
            "X^{0,0}, the first encoder node, width 16: it sees the image",
            (0, 0, 16),
            expected=_model_in_channels(0, 0, 16),
            compare=exact,
            hint="for j = 0 the node is the encoder: X^{0,0} gets the image (in_channels), X^{i,0} the pooled "
            "X^{i-1,0}, which has width * 2**(i - 1) channels; return a Python int",
        ),
        Case(
            "X^{2,0}, an encoder node, width 16",
            (2, 0, 16),
            expected=_model_in_channels(2, 0, 16),
            compare=exact,
            hint="X^{i,0} = H(pool(X^{i-1,0})): pooling keeps the channels of level i - 1, width * 2**(i - 1)",
        ),
        Case(
            "X^{0,1}, width 16: one same-level input and one up-sampled input",
            (0, 1, 16),
            expected=_model_in_channels(0, 1, 16),
            compare=exact,
            hint="X^{0,1} concatenates X^{0,0} (width channels) with up(X^{1,0}); segbook's 2x2 transposed "
            "convolution halves the channels of level i + 1 to those of level i",
        ),
        Case(
            "X^{0,3}, width 8: three dense skips and the up-sampled input",
            (0, 3, 8),
            expected=_model_in_channels(0, 3, 8),
            compare=exact,
            hint="node X^{i,j} concatenates ALL of X^{i,0} ... X^{i,j-1} (j maps of width * 2**i channels), "
            "not only the latest one, plus up(X^{i+1,j-1}) (also width * 2**i after the up-convolution)",
        ),
        Case(
            "X^{1,2}, width 4: level 1 has twice the width",
            (1, 2, 4),
            expected=_model_in_channels(1, 2, 4),
            compare=exact,
            hint="level i has width * 2**i channels: (j + 1) * width * 2**i for j > 0",
        ),
        Case(
            "X^{0,0} of a model for one-channel (grey) images",
            (0, 0, 8),
            {"in_channels": 1},
            expected=_model_in_channels(0, 0, 8, in_channels=1),
            compare=exact,
            hint="use the in_channels argument for X^{0,0}, not a hard-coded 3",
        ),
    ]
    return run_checks("Exercise 9.1 (node_input_channels)", fn, cases)


def _computed_nodes(depth: int, level: int) -> set:
    """The nodes UNetPlusPlus(depth).pruned(level) computes, read from the model's own forward."""
    model = UNetPlusPlus(2, width=1, depth=depth).eval()
    with torch.no_grad():
        return set(model._features(torch.zeros(1, 3, 2**depth, 2**depth), level))


def check_pruned_nodes(fn: Callable) -> bool:
    """Exercise 9.3: ``pruned_nodes(depth, level)``: the set of nodes (i, j) computed when pruning at ``level``."""
    cases = [
        Case(
            "depth 3 pruned at level 1: a U-Net of depth 1",
            (3, 1),
            expected=_computed_nodes(3, 1),
            compare=exact,
            hint="head L reads X^{0,L}; trace back what X^{0,L} needs: nodes X^{i,j} with i + j <= L "
            "(the triangle up to the L-th anti-diagonal), encoder nodes X^{0,0} ... X^{L,0} included; "
            "return a set of (i, j) tuples of ints",
        ),
        Case(
            "depth 4 pruned at level 2",
            (4, 2),
            expected=_computed_nodes(4, 2),
            compare=exact,
            hint="keep (i, j) with i + j <= level, and no node with i + j > level: those feed only deeper heads",
        ),
        Case(
            "depth 3 pruned at level 3: nothing is pruned",
            (3, 3),
            expected=_computed_nodes(3, 3),
            compare=exact,
            hint="at level = depth every one of the (D + 1)(D + 2) / 2 nodes is computed",
        ),
        Case(
            "depth 5 pruned at level 3 (the depth must not matter)",
            (5, 3),
            expected=_computed_nodes(5, 3),
            compare=exact,
            hint="the kept nodes depend on the level only: i + j <= level (the depth only bounds the level)",
        ),
    ]
    return run_checks("Exercise 9.3 (pruned_nodes)", fn, cases)


def check_deep_supervision_ce(fn: Callable) -> bool:
    """Exercise 9.2: ``deep_supervision_ce(outputs, target)``: the mean over heads of the cross entropy."""
    g = torch.Generator().manual_seed(9)
    target = torch.randint(0, 3, (2, 4, 4), generator=g)
    three = [2 * torch.randn(2, 3, 4, 4, generator=g) for _ in range(3)]
    one = [three[0]]
    sure = torch.nn.functional.one_hot(target, 3).movedim(-1, 1).float() * 8 - 4  # confident and right
    mixed = [sure, -sure]  # one head right, one head confidently wrong
    cases = [
        Case(
            "one head: the plain cross entropy",
            (one, target),
            expected=deep_supervision_loss(one, target),
            compare=allclose(rtol=1e-4, atol=1e-6),
            hint="with one head the loss is torch.nn.functional.cross_entropy(outputs[0], target); "
            "return a 0-dim tensor",
        ),
        Case(
            "three heads with random logits",
            (three, target),
            expected=deep_supervision_loss(three, target),
            compare=allclose(rtol=1e-4, atol=1e-6),
            hint="compute one cross entropy per head, each against the same target, and average them (divide "
            "the sum by the number of heads); only the last head, the sum, or one cross entropy of the "
            "logits first averaged over the heads is another loss",
        ),
        Case(
            "a right head and a wrong head: each head is scored on its own",
            (mixed, target),
            expected=deep_supervision_loss(mixed, target),
            compare=allclose(rtol=1e-4, atol=1e-6),
            hint="average the LOSSES of the heads, not their logits: averaging the logits first lets the two "
            "heads cancel, and the wrong head gets no gradient of its own",
        ),
    ]
    return run_checks("Exercise 9.2 (deep_supervision_ce)", fn, cases)


def _log_mean_probability(outputs: "list[torch.Tensor]") -> torch.Tensor:
    """log(mean over heads of softmax), in float64 then float32: the accurate mode's logits (reference of 9.4)."""
    probs = torch.stack([torch.softmax(o.double(), dim=1) for o in outputs]).mean(0)
    return probs.log().float()


def _finite_and_probability(result: object, args: tuple, kwargs: dict) -> "tuple[bool, torch.Tensor]":
    """What case 4 of 9.4 compares: whether every value is finite, and the softmax of the result."""
    if not isinstance(result, torch.Tensor) or not result.is_floating_point():
        raise TypeError(f"expected a float tensor of logits, got {type(result).__name__}")
    return bool(torch.isfinite(result).all()), torch.softmax(result.float(), dim=1)


def check_average_heads(fn: Callable) -> bool:
    """Exercise 9.4: ``average_heads(outputs)``: list of (N, C, H, W) logits → log of the heads' mean probability."""
    g = torch.Generator().manual_seed(94)
    one = [2 * torch.randn(2, 3, 4, 4, generator=g)]
    three = [2 * torch.randn(2, 3, 4, 4, generator=g) for _ in range(3)]
    pixel = [
        torch.tensor([[[[0.0]], [[10.0]]]]),
        torch.tensor([[[[2.0]], [[0.0]]]]),
        torch.tensor([[[[2.0]], [[0.0]]]]),
    ]
    sure = [torch.full((1, 3, 2, 2), -100.0) for _ in range(2)]
    sure[0][:, 0], sure[1][:, 1] = 100.0, 100.0  # certain of class 0, certain of class 1; both rule out class 2
    half = torch.tensor([0.5, 0.5, 0.0])[None, :, None, None].expand(1, 3, 2, 2)
    close = allclose(rtol=1e-4, atol=1e-5)
    cases = [
        Case(
            "one head: the mean is that head's own probabilities",
            (one,),
            expected=_log_mean_probability(one),
            compare=close,
            hint="with one head the averaged probability is that head's softmax over the classes (dim 1); return "
            "its log, log-probabilities, which are valid logits (not the probabilities, not the raw logits); "
            "a (N, C, H, W) float tensor",
        ),
        Case(
            "one pixel, worked by hand: a head with logits (0, 10) against two with (2, 0)",
            (pixel,),
            expected=_log_mean_probability(pixel),
            compare=close,
            hint="average the heads' PROBABILITIES, so that a head's vote at a pixel weighs at most 1: averaged "
            "logits or log-probabilities let the one confident head outvote the other two (here they pick class "
            "1, the probabilities class 0); and a mean divides the sum by the number of heads",
        ),
        Case(
            "three heads with random logits, a batch of 2, 3 classes",
            (three,),
            expected=_log_mean_probability(three),
            compare=close,
            hint="the softmax runs over the classes (dim 1) of each head, the mean over the heads (not over the "
            "batch or the classes)",
        ),
        Case(
            "two heads certain of different classes (logits +-100): class 2 is ruled out by both",
            (sure,),
            expected=(True, half),
            compare=close,
            derive=_finite_and_probability,
            hint="compared: (every value finite, the softmax of your result). Class 2's mean probability, "
            "e^-200, underflows to 0 in float32 and log(0) = -inf, which makes a cross entropy infinite; "
            "stay in log space across the heads, or keep the mean above 0 before taking its log",
        ),
    ]
    return run_checks("Exercise 9.4 (average_heads)", fn, cases)


def check_answer_9_5(answer: object) -> bool:
    """Exercise 9.5: ``answer_9_5``: the FLOPs of the accurate mode (averaged heads) against head D alone."""
    label = "Exercise 9.5 (answer_9_5)"
    why = (
        "head 3 reads X^{0,3}, and X^{0,3} reads X^{0,1} and X^{0,2} through the dense skips: the network pruned "
        "at L = 3 computes every node of the grid, the top nodes of heads 1 and 2 included. Averaging adds two "
        "1x1 convolutions on X^{0,1} and X^{0,2} and a mean. The nested U-Nets share their nodes, so the accurate "
        "mode costs what the full network costs, and only pruning saves computation."
    )
    return check_choice(
        label,
        answer,
        options={
            "a": "about three times as many",
            "b": "about the pruned networks' FLOPs at L = 1, 2 and 3 added up",
            "c": "about the same",
            "d": "fewer",
        },
        correct="c",
        why=why,
        wrong={
            "a": "the three nested U-Nets are not run one after the other: they share their nodes. Which nodes "
            "does head 3 need (exercise 9.3), and which of them do heads 1 and 2 read?",
            "b": "adding up the pruned networks counts the nodes they share several times, but a forward pass "
            "computes each node once",
            "d": "the average needs head 3 as well, and head 3 needs the whole grid: the shallow heads add to its "
            "cost, they cannot replace it",
        },
    )
