"""Checks for the exercises of chapter 10 (stacked U-Nets and coupled U-Nets).

Each ``check_*`` runs the student's function on several cases and explains the first failure. The block inputs
and channel counts are those of :class:`segbook.models.CoupledUNets` (the expected channels are read from a
model built for the case); the residual stack is compared with a plain loop written here. ``check_answer_10_3`` is a
short question: a count of FLOPs, measured on the models with :func:`segbook.models.model_cost`, with the
reasoning printed once it is right.
"""

from __future__ import annotations

import functools
from typing import Callable, List, Set, Tuple

import torch
from torch import nn

from segbook.exercises._core import Case, allclose, run_checks
from segbook.exercises._questions import check_number
from segbook.exercises._values import exact
from segbook.models import CoupledUNets, model_cost

__all__ = ["check_coupled_block_inputs", "check_coupled_in_channels", "check_answer_10_3", "check_residual_stack"]

_CLOSE = allclose(rtol=1e-5, atol=1e-6)
Block = Tuple[str, int, int]


def _block_inputs(kind: str, n: int, level: int, order: int, depth: int) -> Set[Block]:
    """The blocks whose outputs feed block (kind, n, level) of a CU-Net (the reference for exercise 10.1)."""
    earlier = range(max(0, n - order), n)
    if kind == "E":
        own = ("E", n, level - 1) if level > 0 else (("stem", 0, 0) if n == 0 else ("D", n - 1, 0))
        return {own} | {("E", m, level) for m in earlier}
    below = ("D", n, level + 1) if level + 1 < depth else ("E", n, depth)
    return {below, ("E", n, level)} | {("D", m, level) for m in earlier}


def check_coupled_block_inputs(fn: Callable) -> bool:
    """Exercise 10.1: ``coupled_block_inputs(kind, n, level, order, depth)`` → the set of blocks feeding it."""
    hint_order = (
        "only the `order` U-Nets just before U-Net n are coupled to it: m in range(max(0, n - order), "
        "n), not all earlier ones"
    )
    cases = [
        Case(
            "E_0^0, the first block of all, reads the stem only",
            ("E", 0, 0, 1, 3),
            expected=_block_inputs("E", 0, 0, 1, 3),
            compare=exact,
            hint="U-Net 0 has no U-Net before it: its first block reads the stem's features, ('stem', 0, 0); "
            "return a set of (kind, n, level) tuples",
        ),
        Case(
            "E_1^0 (order 1): the previous U-Net's output and the previous U-Net's E^0",
            ("E", 1, 0, 1, 3),
            expected=_block_inputs("E", 1, 0, 1, 3),
            compare=exact,
            hint="the first block of U-Net n > 0 reads U-Net n - 1's output features D_{n-1}^0 (the U-Nets are in "
            "series), plus the coupled E_m^0",
        ),
        Case(
            "E_2^2 (order 1, depth 3): the pooled E_2^1 and E_1^2",
            ("E", 2, 2, 1, 3),
            expected=_block_inputs("E", 2, 2, 1, 3),
            compare=exact,
            hint="an encoder block below the top reads its own U-Net's block one level up, ('E', n, level - 1), "
            "and the same-level encoder blocks of the coupled U-Nets; " + hint_order,
        ),
        Case(
            "D_3^1 with order 2 (depth 3): its U-Net's up-sampled and skipped maps, D_1^1 and D_2^1",
            ("D", 3, 1, 2, 3),
            expected=_block_inputs("D", 3, 1, 2, 3),
            compare=exact,
            hint="a decoder block reads the block below it, its own U-Net's skip ('E', n, level), and the "
            "same-level DECODER blocks of the coupled U-Nets; " + hint_order,
        ),
        Case(
            "D_3^1 with order 1: only U-Net 2 is coupled",
            ("D", 3, 1, 1, 3),
            expected=_block_inputs("D", 3, 1, 1, 3),
            compare=exact,
            hint=hint_order,
        ),
        Case(
            "D_1^1 at depth 2: the block below is the bottom, E_1^2",
            ("D", 1, 1, 1, 2),
            expected=_block_inputs("D", 1, 1, 1, 2),
            compare=exact,
            hint="the decoder's deepest block D_n^{depth-1} up-samples the bottom, written ('E', n, depth)",
        ),
        Case(
            "E_4^3, order 3, depth 3 (the bottom block)",
            ("E", 4, 3, 3, 3),
            expected=_block_inputs("E", 4, 3, 3, 3),
            compare=exact,
            hint="the bottom is the encoder block at level depth: it reads ('E', n, depth - 1) and the coupled "
            "U-Nets' bottoms; " + hint_order,
        ),
    ]
    return run_checks("Exercise 10.1 (coupled_block_inputs)", fn, cases)


def _model_in_channels(kind: str, n: int, order: int, width: int, stacks: int) -> int:
    model = CoupledUNets(2, width=width, depth=2, stacks=stacks, order=order)
    blocks = model.encoders[n] if kind == "E" else model.decoders[n]
    block = next(iter(blocks.children()))  # the block's first layer
    return int(block.get_submodule("reduce").in_channels)  # type: ignore[arg-type]  # a Conv2d's int


def check_coupled_in_channels(fn: Callable) -> bool:
    """Exercise 10.2: ``coupled_in_channels(kind, n, order, width)`` → channels entering a block (an int)."""
    cases = []
    for kind, n, order, width, stacks, words in [
        ("E", 0, 1, 16, 3, "U-Net 0's encoder block: nothing before it to couple to"),
        ("E", 2, 1, 16, 3, "U-Net 2's encoder block, order 1"),
        ("D", 2, 1, 16, 3, "U-Net 2's decoder block, order 1"),
        ("E", 1, 2, 8, 4, "U-Net 1's encoder block, order 2: only one U-Net exists before it"),
        ("D", 3, 2, 8, 4, "U-Net 3's decoder block, order 2"),
        ("D", 0, 3, 4, 4, "U-Net 0's decoder block, order 3"),
    ]:
        hint = (
            "a block concatenates `width` channels per input: encoder blocks have 1 own input (the pooled "
            "map, or the previous output), decoder blocks 2 (the up-sampled map and U-Net's own skip), plus "
            "one per coupled U-Net, and U-Net n has min(n, order) of them; return a Python int"
        )
        if n < order:
            hint = "U-Net n can only be coupled to the U-Nets that exist before it: min(n, order) of them; " + hint
        cases.append(
            Case(
                f"{words} (width {width})",
                (kind, n, order, width),
                expected=_model_in_channels(kind, n, order, width, stacks),
                compare=exact,
                hint=hint,
            )
        )
    return run_checks("Exercise 10.2 (coupled_in_channels)", fn, cases)


def _reference_stack(x: torch.Tensor, modules, heads) -> List[torch.Tensor]:
    outputs, h = [], x
    for module, head in zip(modules, heads):
        h = h + module(h)
        outputs.append(head(h))
    return outputs


def _scale(factor: float) -> nn.Module:
    layer = nn.Conv2d(2, 2, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(factor * torch.eye(2)[:, :, None, None])
    return layer


def check_residual_stack(fn: Callable) -> bool:
    """Exercise 10.4: ``residual_stack(x, modules, heads)`` → the list of head outputs, first module first."""
    g = torch.Generator().manual_seed(10)
    x = torch.randn(2, 2, 4, 4, generator=g)
    halves = [_scale(0.5), _scale(0.5)]  # h + 0.5 h: 1.5 x, then 2.25 x
    identity = [nn.Identity(), nn.Identity()]
    torch.manual_seed(10)
    convs = [nn.Conv2d(2, 2, 3, padding=1) for _ in range(3)]
    heads = [nn.Conv2d(2, 3, 1) for _ in range(3)]
    cases = [
        Case(
            "two modules h -> 0.5 h, identity heads: outputs 1.5 x and 2.25 x",
            (x, halves, identity),
            expected=[1.5 * x, 2.25 * x],
            compare=_CLOSE,
            hint="each module's output is ADDED to its input, h = h + module(h), and the next module reads that "
            "sum; return one head output per module, as a list",
        ),
        Case(
            "three random 3x3 conv modules and 1x1 conv heads",
            (x, convs, heads),
            expected=_reference_stack(x, convs, heads),
            compare=_CLOSE,
            hint="head k scores the features after module k's addition: outputs.append(head(h)) after "
            "h = h + module(h); the residual adds the module's own input, not the original x",
        ),
        Case(
            "one module",
            (x, convs[:1], heads[:1]),
            expected=_reference_stack(x, convs[:1], heads[:1]),
            compare=_CLOSE,
            hint="with one module the result is a list of one tensor, [head(x + module(x))]",
        ),
    ]
    return run_checks("Exercise 10.4 (residual_stack)", fn, cases)


@functools.lru_cache(maxsize=None)
def _coupled_flops(order: int) -> int:
    """FLOPs of the experiment's CU-Net (width 16, depth 3, two U-Nets) of this order on one 32x32 image."""
    return int(model_cost(CoupledUNets(2, width=16, depth=3, stacks=2, order=order), (3, 32, 32)).flops)


def check_answer_10_3(answer: object) -> bool:
    """Exercise 10.3: ``answer_10_3``: the FLOPs the order-1 coupling adds to the experiment's CU-Net (an int)."""
    label = "Exercise 10.3 (answer_10_3)"
    coupled, uncoupled = _coupled_flops(1), _coupled_flops(0)
    extra = coupled - uncoupled
    c, pixels = 16, 2 * (32**2 + 16**2 + 8**2) + 4**2  # blocks at levels 0, 1, 2, 3 (bottom), 2, 1, 0
    why = (
        f"with order 1 only U-Net 1 has a coupled input, one per block: 2d + 1 = 7 blocks at levels 0, 1, 2, 3, "
        f"2, 1, 0, that is {pixels:,} pixels. At each of them the 1x1 reduction reads c = {c} more channels for "
        f"each of its {c} outputs: {c * c} multiply-adds, {2 * c * c} FLOPs, so {2 * c * c} x {pixels:,} = "
        f"{extra:,} FLOPs, {extra / coupled:.1%} of the network's {coupled:,}. The two full-resolution blocks do "
        f"{2 * 32**2 / pixels:.0%} of it: a coupled input costs the same c^2 weights at every level, but its "
        f"computation grows with the level's number of pixels."
    )
    full_resolution = 2 * c * c * 7 * 32**2
    return check_number(
        label,
        answer,
        expected=extra,
        integer=True,
        why=why,
        hint="count the coupled inputs (which U-Nets have one, in which blocks), the pixels of the level each "
        "block works at, and the multiply-adds of the 1x1 reduction per pixel and coupled input",
        near={
            extra // 2: "that counts multiply-adds; model_cost and the table count two FLOPs per multiply-add",
            2 * extra: "U-Net 0 has no U-Net before it: with order 1 only U-Net 1's blocks have a coupled input",
            full_resolution: "only the level-0 blocks work on 32x32 maps; each level down halves the side of the map",
            extra - 2 * c * c * 4**2: "the bottom block (level 3, 4x4) has a coupled input too: every one of the "
            "2d + 1 blocks has one",
            9 * extra: "the coupled map enters the block's 1x1 reduction only; the 3x3 convolutions after it read "
            "`width` channels whatever the order",
            7 * c * c: "that is the parameter count of the coupling: each weight is used once per pixel of its "
            "block's level",
            2 * c * c * 2 * (32 + 16 + 8) + 2 * c * c * 4: "count the pixels of each level's map, not the "
            "length of its side",
        },
    )
