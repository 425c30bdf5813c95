"""Checks for the exercises of chapter 11 (comparing the architectures).

Each ``check_*`` runs the student's function on several cases, edge cases included, and explains the first
failure. Expected values come from :func:`segbook.compare.pareto_front` and PyTorch's FLOP counter
(:func:`segbook.ops.receptive_field.count_flops`) or are worked out by hand.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from segbook.compare import pareto_front
from segbook.exercises._core import Case, run_checks
from segbook.exercises._values import exact
from segbook.ops import count_flops

__all__ = ["check_pareto_front", "check_conv2d_flops"]


def check_pareto_front(fn: Callable) -> bool:
    """Exercise 11.1: ``pareto_front(costs, scores)``: two lists of numbers → the undominated indices by cost."""
    g = torch.Generator().manual_seed(11)
    costs = torch.randint(1, 20, (12,), generator=g).tolist()
    scores = (torch.randint(0, 10, (12,), generator=g) / 10).tolist()
    cases = [
        Case(
            "four models, worked by hand: 1 is beaten by 0, 3 by 2",
            ([1, 2, 3, 4], [0.5, 0.4, 0.7, 0.7]),
            expected=[0, 2],
            compare=exact,
            hint="a point is dominated when another costs no more AND scores no less, and is strictly better in "
            "at least one of the two: model 3 scores the same as model 2 but costs more, so it is dominated; "
            "return a list of int indices",
        ),
        Case(
            "costs not in order: return the front sorted by cost",
            ([3, 1, 2], [0.9, 0.1, 0.5]),
            expected=[1, 2, 0],
            compare=exact,
            hint="sort the indices you keep by their cost (cheapest first), not by position",
        ),
        Case(
            "two identical models: neither dominates the other",
            ([1, 1, 2], [0.5, 0.5, 0.4]),
            expected=[0, 1],
            compare=exact,
            hint="a point never dominates an equal point (it is strictly better in neither): keep both; a sweep "
            "that keeps only a strictly higher score than the best so far drops the second one",
        ),
        Case(
            "same cost, one scores higher",
            ([2, 2, 5], [0.3, 0.6, 0.6]),
            expected=[1],
            compare=exact,
            hint="at equal cost the higher score dominates; at equal score the lower cost dominates",
        ),
        Case(
            "twelve random models with ties",
            (costs, scores),
            expected=pareto_front(costs, scores),
            compare=exact,
            hint="check every pair: i is out if some j has costs[j] <= costs[i] and scores[j] >= scores[i] with "
            "one of the two strict",
        ),
    ]
    return run_checks("Exercise 11.1 (pareto_front)", fn, cases)


def _conv_flops(c_in: int, c_out: int, k: int, h: int, w: int, stride: int = 1, padding: int = 0) -> int:
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=False)
    return count_flops(conv, torch.zeros(1, c_in, h, w))


def check_conv2d_flops(fn: Callable) -> bool:
    """Exercise 11.2: ``conv2d_flops(c_in, c_out, kernel_size, height, width, stride=1, padding=0)`` → an int."""
    cases = [
        Case(
            "3x3, padding 1, 3 → 8 channels on 10x10 (worked by hand: 2·3·8·9·100 = 43200)",
            (3, 8, 3, 10, 10),
            {"padding": 1},
            expected=43200,
            compare=exact,
            hint="FLOPs = 2 · C_in · C_out · k² · H_out · W_out: two (a multiply and an add) per "
            "multiply-accumulate, k² weights per input channel, one output pixel at a time",
        ),
        Case(
            "stride 2 halves the output: 3x3, stride 2, padding 1, 16 → 32 channels on 32x32",
            (16, 32, 3, 32, 32),
            {"stride": 2, "padding": 1},
            expected=_conv_flops(16, 32, 3, 32, 32, 2, 1),
            compare=exact,
            hint="count the OUTPUT pixels: H_out = (H + 2·padding - k) // stride + 1 (16 here, not 32)",
        ),
        Case(
            "no padding shrinks the map: 5x5 on 12x12, 4 → 4 channels",
            (4, 4, 5, 12, 12),
            expected=_conv_flops(4, 4, 5, 12, 12),
            compare=exact,
            hint="without padding a k x k kernel fits H - k + 1 times: H_out = (12 + 0 - 5) // 1 + 1 = 8",
        ),
        Case(
            "a 1x1 convolution on a non-square 6x9 map, 8 → 5 channels",
            (8, 5, 1, 6, 9),
            expected=_conv_flops(8, 5, 1, 6, 9),
            compare=exact,
            hint="use the height for H_out and the width for W_out; a 1x1 kernel costs 2 · C_in · C_out per pixel",
        ),
        Case(
            "the result is a Python int",
            (3, 8, 3, 10, 10),
            {"padding": 1},
            expected=43200,
            compare=exact,
            hint="use integer arithmetic (// for the output size) and return an int, not a float or a tensor",
        ),
    ]
    return run_checks("Exercise 11.2 (conv2d_flops)", fn, cases)
