"""What a model costs: parameters and FLOPs, reported by one helper for every model of the book."""

from __future__ import annotations

from typing import NamedTuple, Sequence, Tuple

import torch
from torch import nn

from segbook.conventions import check_bool, check_positive_int
from segbook.ops.receptive_field import count_flops

__all__ = ["ModelCost", "count_parameters", "model_cost"]


class ModelCost(NamedTuple):
    """``parameters``: all parameters; ``trainable``: those with ``requires_grad`` (FCN's frozen bilinear
    upsampling is not); ``flops``: of one forward pass on one image of ``input_size``; ``input_size``:
    (C_in, H, W)."""

    parameters: int
    trainable: int
    flops: int
    input_size: Tuple[int, ...]

    @property
    def gflops(self) -> float:
        """FLOPs in billions."""
        return self.flops / 1e9


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """The number of parameters of ``model`` (shared parameters counted once).

    Example:
        >>> count_parameters(nn.Conv2d(3, 8, 3))  # 8·3·3·3 weights + 8 biases
        224
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_bool(trainable_only, "trainable_only")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def model_cost(model: nn.Module, input_size: Sequence[int] = (3, 64, 64)) -> ModelCost:
    """Parameters and FLOPs of ``model`` for one image of ``input_size = (C_in, H, W)``.

    FLOPs are counted by :func:`segbook.ops.receptive_field.count_flops` (PyTorch's ``FlopCounterMode``: two per
    multiply-accumulate of every convolution and matrix product; element-wise layers are not counted). The model
    runs once on zeros, in eval mode, on the device of its parameters.

    Example:
        >>> cost = model_cost(nn.Conv2d(3, 8, 3, padding=1, bias=False), (3, 10, 10))
        >>> cost.parameters, cost.flops  # 8·3·9 weights; 2·3·8·9·100 FLOPs
        (216, 43200)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(input_size, (tuple, list)) or len(input_size) != 3:
        raise ValueError(f"input_size must be (C_in, H, W), three positive ints, got {input_size!r}")
    size = tuple(check_positive_int(s, "input_size entries") for s in input_size)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    flops = count_flops(model, torch.zeros(1, *size, device=device))
    return ModelCost(count_parameters(model), count_parameters(model, trainable_only=True), flops, size)
