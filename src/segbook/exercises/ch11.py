"""Checks for the exercises of chapter 11 (comparing the architectures).

Each ``check_*`` runs the student's function on several cases, edge cases included, and explains the first
failure. Expected values come from :func:`segbook.compare.pareto_front` and PyTorch's FLOP counter
(:func:`segbook.ops.receptive_field.count_flops`) or are worked out by hand. The latency check times nothing
real: its fake models advance a fake clock by durations the check chooses, so its cases are exact and never flaky.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from segbook.compare import pareto_front
from segbook.exercises._core import Case, run_checks
from segbook.exercises._values import allclose, exact, exact_int
from segbook.ops import count_flops

__all__ = ["check_pareto_front", "check_conv2d_flops", "check_latency_ms"]


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


class _FakeClock:
    """A clock (seconds, like ``time.perf_counter``) that moves only when a :class:`_TimedModel` runs.

    Shared, not copied, when the check's arguments are deep-copied: the model and the ``clock`` argument must
    read the same time.
    """

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def __deepcopy__(self, memo: dict) -> "_FakeClock":
        return self

    def __repr__(self) -> str:
        return "fake_clock"


class _TimedModel(nn.Module):
    """A model whose k-th call "takes" ``durations_ms[k]`` on the fake clock; it records how it was called."""

    def __init__(self, clock: _FakeClock, durations_ms: Sequence[float], training: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(()))  # so that a forward pass with autograd on records a graph
        self.clock, self.durations_ms = clock, list(durations_ms)
        self.calls: "list[tuple[bool, bool]]" = []  # (autograd on, training mode) at each call
        self.train(training)

    def __repr__(self) -> str:  # one short line in the check's messages
        return "fake_model"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = min(len(self.calls), len(self.durations_ms) - 1)
        self.calls.append((torch.is_grad_enabled(), self.training))
        self.clock.now += self.durations_ms[k] / 1e3
        return self.weight * x.mean(dim=1, keepdim=True)


def _timed(durations_ms: Sequence[float], training: bool = True) -> "tuple[_TimedModel, torch.Tensor, _FakeClock]":
    clock = _FakeClock()
    return _TimedModel(clock, durations_ms, training), torch.zeros(1, 3, 8, 8), clock


def check_latency_ms(fn: Callable) -> bool:
    """Exercise 11.3: ``latency_ms(model, image, repeats=10, warmup=2, clock=time.perf_counter)`` → ms, a float."""
    steady, steady_image, steady_clock = _timed([4.0])
    # two slow warm-up calls, then ten calls of 3 ms but one that another program slowed down to 50 ms
    hiccup, hiccup_image, hiccup_clock = _timed([30.0, 30.0, 3.0, 3.0, 3.0, 3.0, 50.0, 3.0])
    hiccup.durations_ms += [3.0] * 5
    # a model whose first four calls are slow (lazy initialisation, caches filling up)
    lazy, lazy_image, lazy_clock = _timed([40.0, 40.0, 40.0, 40.0, 5.0])
    counted, counted_image, counted_clock = _timed([2.0])
    training, training_image, training_clock = _timed([2.0], training=True)
    evaluating, evaluating_image, evaluating_clock = _timed([2.0], training=False)
    close = allclose(1e-6, 1e-9)
    cases = [
        Case(
            "every call takes 4 ms: the latency is 4.0 (milliseconds, a float)",
            (steady, steady_image),
            {"clock": steady_clock},
            expected=4.0,
            compare=close,
            hint="time each forward pass with clock() before and after it (clock() counts seconds, as "
            "time.perf_counter does) and return milliseconds as a Python float",
        ),
        Case(
            "one timed call of ten is slowed down to 50 ms by another program: the median ignores it",
            (hiccup, hiccup_image),
            {"clock": hiccup_clock},
            expected=3.0,
            compare=close,
            hint="a mean (or the total divided by the number of calls) is pulled up by one slow call; the "
            "middle of the sorted times is not",
        ),
        Case(
            "the first four calls are slow (40 ms each), warmup=4, repeats=3: the warm-up is not timed",
            (lazy, lazy_image),
            {"repeats": 3, "warmup": 4, "clock": lazy_clock},
            expected=5.0,
            compare=close,
            hint="first call the model `warmup` times (the argument, not a number of your own) without timing "
            "it: the first calls pay for one-off work; then time `repeats` calls",
        ),
        Case(
            "warmup=1, repeats=5: the model is called warmup + repeats = 6 times, no more",
            (counted, counted_image),
            {"repeats": 5, "warmup": 1, "clock": counted_clock},
            expected=6,
            compare=exact_int,
            derive=lambda result, args, kwargs: len(args[0].calls),
            hint="use both arguments: `warmup` untimed calls, then `repeats` timed ones, each one forward pass "
            "of `image`",
        ),
        Case(
            "no call builds an autograd graph (calls made with autograd on, of the 12 by default)",
            (counted, counted_image),
            {"clock": counted_clock},
            expected=0,
            compare=exact_int,
            derive=lambda result, args, kwargs: sum(grad for grad, _ in args[0].calls),
            hint="a forward pass with autograd on also records everything backward would need, which inference "
            "does not do: time the calls inside torch.no_grad()",
        ),
        Case(
            "every call runs in evaluation mode (calls made in training mode, of the 12 by default)",
            (training, training_image),
            {"clock": training_clock},
            expected=0,
            compare=exact_int,
            derive=lambda result, args, kwargs: sum(mode for _, mode in args[0].calls),
            hint="in training mode dropout and batch norm behave (and cost) differently from deployment: switch "
            "the model to evaluation mode while timing",
        ),
        Case(
            "a model that was in training mode is in training mode again afterwards (model.training)",
            (training, training_image),
            {"clock": training_clock},
            expected=True,
            derive=lambda result, args, kwargs: args[0].training,
            hint="measuring must not change the model: remember its mode (model.training) before switching to "
            "evaluation mode and put it back at the end",
        ),
        Case(
            "a model that was in evaluation mode stays in evaluation mode (model.training)",
            (evaluating, evaluating_image),
            {"clock": evaluating_clock},
            expected=False,
            derive=lambda result, args, kwargs: args[0].training,
            hint="put back the mode the model HAD: it is not always training mode",
        ),
    ]
    return run_checks("Exercise 11.3 (latency_ms)", fn, cases)
