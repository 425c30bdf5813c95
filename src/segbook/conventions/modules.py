"""Model modes: :func:`evaluating` switches a model to ``eval()`` for a block and restores its mode.

Part of :mod:`segbook.conventions` (import :func:`evaluating` from there).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from torch import nn

__all__ = ["evaluating"]


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in evaluation mode for a ``with`` block, then restore the mode it had.

    Batch normalisation uses its running statistics and dropout is off inside the block; a model
    that was training goes on training afterwards, also when the block raises. Gradients are not
    switched off: combine with ``torch.no_grad()`` where none are needed.

        >>> model = nn.Dropout()
        >>> with evaluating(model):
        ...     model.training
        False
        >>> model.training
        True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
