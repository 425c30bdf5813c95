"""The architectures of the book, at the small widths the comparison trains them with (chapter 11).

:data:`ARCHITECTURES` maps each name to an :class:`Architecture`, which builds the model for a number of
classes; :func:`resolve_names` checks a list of names against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from torch import nn

from segbook.conventions import check_positive_int
from segbook.models import (
    CoupledUNets,
    EncoderDecoder,
    FullResolutionFCN,
    SmallSegNet,
    StackedUNets,
    UNet,
    UNetPlusPlus,
    fcn8s,
    fcn16s,
    fcn32s,
)

__all__ = ["Architecture", "ARCHITECTURES", "resolve_names"]

_FCN_WIDTHS = dict(widths=(8, 16, 32, 48, 64), head_width=64)  # the small backbone at half its default widths


@dataclass(frozen=True)
class Architecture:
    """One model of the book: ``Architecture(...)(num_classes)`` builds it with the comparison's small widths."""

    name: str
    chapter: int
    build: Callable[[int], nn.Module]
    description: str

    def __call__(self, num_classes: int) -> nn.Module:
        return self.build(check_positive_int(num_classes, "num_classes"))


_LIST = [
    Architecture(
        "SmallSegNet",
        1,
        lambda c: SmallSegNet(c, width=8),
        "two poolings, bilinear upsampling, one full-resolution skip",
    ),
    Architecture(
        "FullResolutionFCN",
        3,
        lambda c: FullResolutionFCN(c, width=16, layers=4),
        "four 3x3 convolutions at full resolution, no downsampling",
    ),
    Architecture(
        "EncoderDecoder",
        3,
        lambda c: EncoderDecoder(c, width=8, depth=2, up="bilinear"),
        "down twice, bilinear up twice, no skips",
    ),
    Architecture(
        "EncoderDecoder-unpool",
        4,
        lambda c: EncoderDecoder(c, width=8, depth=2, up="max_unpool"),
        "SegNet-style: max unpooling at the remembered argmax positions, no skips",
    ),
    Architecture("FCN-32s", 7, lambda c: fcn32s(c, **_FCN_WIDTHS), "stride-32 scores upsampled 32x at once"),
    Architecture("FCN-16s", 7, lambda c: fcn16s(c, **_FCN_WIDTHS), "+ a skip from pool4"),
    Architecture("FCN-8s", 7, lambda c: fcn8s(c, **_FCN_WIDTHS), "+ skips from pool4 and pool3"),
    Architecture("UNet", 8, lambda c: UNet(c, width=8, depth=3), "concatenation skips at every level"),
    Architecture(
        "UNet++",
        9,
        lambda c: UNetPlusPlus(c, width=8, depth=3),
        "nested dense skips, deep supervision (scored on the last head)",
    ),
    Architecture(
        "StackedUNets",
        10,
        lambda c: StackedUNets(c, width=8, depth=3, stacks=2),
        "two residual U-Nets in series, intermediate supervision",
    ),
    Architecture(
        "CoupledUNets",
        10,
        lambda c: CoupledUNets(c, width=8, depth=3, stacks=2),
        "two U-Nets coupled level by level, intermediate supervision",
    ),
]
#: name → :class:`Architecture`, in the book's order.
ARCHITECTURES: Dict[str, Architecture] = {a.name: a for a in _LIST}


def resolve_names(names: Optional[Sequence[str]]) -> List[str]:
    """The architectures to compare: ``names`` checked against :data:`ARCHITECTURES` (``None``: all of them)."""
    if names is None:
        return list(ARCHITECTURES)
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise TypeError(f"names must be a list of architecture names, got {type(names).__name__}")
    unknown = [n for n in names if n not in ARCHITECTURES]
    if unknown or not names:
        raise ValueError(
            f"unknown architecture name(s) {unknown}: choose from {', '.join(ARCHITECTURES)}"
            if unknown
            else f"names is empty: choose from {', '.join(ARCHITECTURES)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"names has duplicates: {list(names)}")
    return list(names)
