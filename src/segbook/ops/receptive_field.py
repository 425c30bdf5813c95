"""Receptive fields, and what a network costs: FLOPs and activation memory.

The slide "Tích chập hoàn toàn" (fully convolutional) says a stack of convolutions can classify all pixels at
once, and then: *Vấn đề: tích chập với các lớp đầu vào có độ phân giải cao đòi hỏi nhiều chi phí tính toán*
(convolutions on high-resolution inputs cost a lot). Its fix, downsampling inside the network, also makes each
output see more of the image. This module measures both sides:

* :func:`receptive_field`: how many input pixels one output pixel sees, by the standard arithmetic. Going through
  a layer with kernel :math:`k`, stride :math:`s`, dilation :math:`d` and padding :math:`p`, starting from
  :math:`r_0 = 1, j_0 = 1, c_0 = 0`:

  .. math::

      r_{out} = r_{in} + d\\,(k - 1)\\,j_{in}, \\qquad j_{out} = j_{in}\\, s, \\qquad
      c_{out} = c_{in} + \\left(\\tfrac{d\\,(k - 1)}{2} - p\\right) j_{in},

  where :math:`r` is the field's size, :math:`j` the *jump* (input pixels between neighbouring outputs) and
  :math:`c` the centre of output pixel 0's field in input pixel coordinates (Dumoulin and Visin, *A guide to
  convolution arithmetic*, 2016; Araujo et al., *Computing receptive fields of CNNs*, Distill 2019).
* :func:`empirical_receptive_field`: the same, measured: back-propagate from one output pixel and see which
  input pixels get a non-zero gradient.
* :func:`count_flops` (with ``torch.utils.flop_counter.FlopCounterMode``) and :func:`activation_memory` (bytes of
  every tensor the forward pass creates).

Example:
    >>> from torch import nn
    >>> stack = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3))
    >>> receptive_field(stack)
    ReceptiveField(size=8, jump=2, start=2.5)
    >>> empirical_receptive_field(stack, (32, 32)).size
    (8, 8)
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from functools import partial
from typing import Iterable, Iterator, List, NamedTuple, Optional, Tuple, Union

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from segbook.conventions import check_int, check_tensor
from segbook.ops._common import Layers, leaf_layers, square_size

__all__ = [
    "ReceptiveField",
    "receptive_field",
    "receptive_field_steps",
    "EmpiricalReceptiveField",
    "empirical_receptive_field",
    "count_flops",
    "activation_memory",
]

# Layers that act on each position alone: they leave the receptive field as it is.
_PASS_THROUGH = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Hardswish,
    nn.Identity,
    nn.Dropout,
    nn.Dropout2d,
    nn.BatchNorm2d,
    nn.GroupNorm,
    nn.InstanceNorm2d,
)


class ReceptiveField(NamedTuple):
    """The receptive field of the output of a stack of layers (one spatial axis; square layers).

    Attributes:
        size: :math:`r`, how many input pixels (per side) one output pixel depends on.
        jump: :math:`j`, input pixels between the fields of two neighbouring output pixels (product of strides).
        start: :math:`c`, the centre of output pixel 0's field, in input pixel coordinates (negative when the
            field hangs over the padded border). Output pixel ``i``'s field is centred at ``start + i * jump``.
    """

    size: int
    jump: int
    start: float


def _geometry(layer: Union[nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d], name: str) -> Tuple[int, int, int, float]:
    """(kernel, stride, dilation, padding) of a spatial layer."""
    square = partial(square_size, layer=name, tool="receptive_field")
    k = square(layer.kernel_size, "kernel_size")
    s = square(layer.stride if layer.stride is not None else k, "stride")
    d = square(getattr(layer, "dilation", 1), "dilation")
    padding = layer.padding
    if padding == "valid":
        p: float = 0
    elif padding == "same":
        p = d * (k - 1) / 2  # PyTorch's "same" pads d(k-1) in total, the extra pixel (if odd) at the end
    else:
        p = square(padding, "padding")
    return k, s, d, p


def receptive_field_steps(layers: Layers) -> List[Tuple[str, ReceptiveField]]:
    """The receptive field after each layer of a stack: a list of ``(layer description, ReceptiveField)``.

    The first entry is the input itself (``size=1, jump=1, start=0``). See :func:`receptive_field` for the
    formulas and the supported layers.

    Example:
        >>> for name, rf in receptive_field_steps([nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, stride=2)]):
        ...     print(f"{name:<32} {rf.size:>2} {rf.jump}")
        input                             1 1
        Conv2d(k=3, s=1, d=1, p=0)        3 1
        Conv2d(k=3, s=2, d=1, p=0)        5 2
    """
    r, j, c = 1, 1, 0.0
    steps = [("input", ReceptiveField(r, j, c))]
    for index, layer in enumerate(leaf_layers(layers)):
        name = f"layer {index} ({type(layer).__name__})"
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, d, p = _geometry(layer, name)
            c = c + (d * (k - 1) / 2 - p) * j  # uses j_in: before the stride is applied
            r = r + d * (k - 1) * j
            j = j * s
            p_text = f"{p:g}"
            steps.append((f"{type(layer).__name__}(k={k}, s={s}, d={d}, p={p_text})", ReceptiveField(r, j, c)))
        elif isinstance(layer, _PASS_THROUGH):
            continue
        else:
            raise TypeError(
                f"receptive_field cannot handle {name}: it knows Conv2d, MaxPool2d, AvgPool2d and "
                f"per-position layers (activations, normalisation, dropout). For networks with "
                f"upsampling or skip connections, measure with empirical_receptive_field"
            )
    return steps


def receptive_field(layers: Layers) -> ReceptiveField:
    """The receptive field of a stack of layers, by the standard arithmetic.

    For each layer with kernel :math:`k`, stride :math:`s`, dilation :math:`d`, padding :math:`p`:

    .. math::

        r_{out} = r_{in} + d\\,(k - 1)\\,j_{in}, \\qquad j_{out} = j_{in}\\, s, \\qquad
        c_{out} = c_{in} + \\left(\\tfrac{d\\,(k - 1)}{2} - p\\right) j_{in}

    starting from the input, :math:`r = 1, j = 1, c = 0`. A kernel of :math:`k` taps adds :math:`k - 1` steps of
    the current jump: after a stride-2 layer, each later 3x3 kernel widens the field by 4 input pixels, not 2.
    That is why downsampling grows the receptive field so much faster than stacking full-resolution layers.

    Args:
        layers: an ``nn.Sequential`` (nested ones are flattened), a single layer, or a list of layers, applied in
            order. Known: ``Conv2d`` (integer, ``"same"`` or ``"valid"`` padding), ``MaxPool2d``, ``AvgPool2d``,
            and layers that act per position (activations, batch/group/instance norm, dropout, identity).

    Returns:
        A :class:`ReceptiveField` ``(size, jump, start)``.

    Raises:
        TypeError: a layer it does not know (upsampling, Linear, ...) or not a module.
        ValueError: a non-square kernel, stride, dilation or padding.

    Example (the hand-worked values: three 3x3 convolutions see 7 pixels; with a 2x2 pooling after the first
    the last two see 2 pixels per step, 3 + 1 + 2·2 + 2·2 = 12):
        >>> receptive_field([nn.Conv2d(1, 1, 3)] * 3).size
        7
        >>> receptive_field([nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)])
        ReceptiveField(size=12, jump=2, start=5.5)
    """
    return receptive_field_steps(layers)[-1][1]


@dataclass
class EmpiricalReceptiveField:
    """The receptive field of one output pixel, measured by back-propagation.

    Attributes:
        size: ``(height, width)`` of the smallest box holding every input pixel with a non-zero gradient.
        box: ``(top, left, bottom, right)``, inclusive input pixel coordinates of that box.
        mask: bool ``(H, W)``: which input pixels influence the output pixel (dilated kernels leave holes).
        position: the output pixel ``(i, j)`` that was measured.
        clipped: the box touches the input's border, so the true field may be larger: use a larger input.
    """

    size: Tuple[int, int]
    box: Tuple[int, int, int, int]
    mask: torch.Tensor
    position: Tuple[int, int]
    clipped: bool


def _in_channels(model: nn.Module) -> int:
    channels = getattr(model, "in_channels", None)
    if isinstance(channels, int):
        return channels
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.in_channels
    raise ValueError("cannot tell how many input channels the model takes: pass in_channels")


def empirical_receptive_field(
    model: nn.Module,
    input_size: Tuple[int, int],
    *,
    in_channels: Optional[int] = None,
    position: Optional[Tuple[int, int]] = None,
    trials: int = 16,
    seed: int = 0,
) -> EmpiricalReceptiveField:
    """Measure which input pixels one output pixel depends on: the non-zero region of its input gradient.

    For output pixel :math:`(i, j)`, compute :math:`g = \\partial \\big(\\sum_k z_{k,i,j}\\big) / \\partial x` and
    keep the pixels where :math:`g \\ne 0` (summed over input channels). This works for any network, upsampling
    and skip connections included, and checks :func:`receptive_field`'s arithmetic.

    Some pixels of the field get a zero gradient by chance: a ReLU that is off, a max pooling that picked
    another position. So the model runs on ``trials`` random inputs and the non-zero masks are joined. It runs on
    a float64 copy of the model in eval mode (in train mode, batch norm's batch statistics would make every pixel
    depend on every other); the model itself is not changed.

    Args:
        model: maps ``(1, C, H, W)`` to ``(1, K, H', W')``.
        input_size: ``(H, W)``; make it larger than the field (see ``clipped``).
        in_channels: ``C``; default ``model.in_channels`` or the first ``Conv2d``'s.
        position: the output pixel ``(i, j)``; default the centre of the output.
        trials: random inputs whose masks are joined (>= 1). Narrow networks (a few channels) have few paths
            from an input pixel to the output, and may need more trials before every path has been open once.
        seed: seed of the random inputs.

    Returns:
        An :class:`EmpiricalReceptiveField`.

    Raises:
        ValueError: ``position`` outside the output, or no input pixel influences it.

    Example:
        >>> erf = empirical_receptive_field(nn.Conv2d(1, 1, 3, dilation=2), (9, 9))
        >>> erf.size, int(erf.mask.sum())              # a 5x5 box with only 3x3 taps in it
        ((5, 5), 9)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(input_size, (tuple, list)) or len(input_size) != 2:
        raise TypeError(f"input_size must be a pair (H, W), got {input_size!r}")
    h = check_int(input_size[0], "input_size[0]", minimum=1)
    w = check_int(input_size[1], "input_size[1]", minimum=1)
    channels = _in_channels(model) if in_channels is None else check_int(in_channels, "in_channels", minimum=1)
    trials = check_int(trials, "trials", minimum=1)
    probe = copy.deepcopy(model).double().eval()
    generator = torch.Generator().manual_seed(check_int(seed, "seed", minimum=0))
    mask = torch.zeros(h, w, dtype=torch.bool)
    for _ in range(trials):
        x = torch.randn(1, channels, h, w, dtype=torch.float64, generator=generator).requires_grad_(True)
        out = probe(x)
        check_tensor(out, "the model's output", ndim=4, shape_hint="(1, K, H', W')")
        out_h, out_w = out.shape[-2:]
        i, j = (out_h // 2, out_w // 2) if position is None else position
        if not (0 <= i < out_h and 0 <= j < out_w):
            raise ValueError(f"position {(i, j)} is outside the output of size {(out_h, out_w)}")
        (grad,) = torch.autograd.grad(out[0, :, i, j].sum(), x)
        mask |= grad[0].abs().sum(0) > 0
    if not mask.any():
        raise ValueError(f"no input pixel influences output pixel {(i, j)}: is the network's output constant?")
    rows, cols = mask.any(1).nonzero()[:, 0], mask.any(0).nonzero()[:, 0]
    top, bottom, left, right = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    clipped = top == 0 or left == 0 or bottom == h - 1 or right == w - 1
    return EmpiricalReceptiveField(
        size=(bottom - top + 1, right - left + 1),
        box=(top, left, bottom, right),
        mask=mask,
        position=(int(i), int(j)),
        clipped=clipped,
    )


@contextlib.contextmanager
def _every_submodule_evaluating(model: nn.Module) -> Iterator[None]:
    """``model.eval()`` for a block, then every submodule's own train/eval flag back as it was.

    Finer than :func:`segbook.conventions.evaluating`, which restores one mode for the whole model: a model
    being measured may hold parts in different modes (e.g. a frozen encoder in eval mode inside a training model).
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


def _check_model_input(model: object, inputs: object) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(inputs, "inputs", dtype="float")


@torch.no_grad()
def count_flops(model: nn.Module, inputs: torch.Tensor) -> int:
    """Floating-point operations of one forward pass, counted by ``torch.utils.flop_counter.FlopCounterMode``.

    PyTorch's counter counts matrix products and convolutions, two operations (a multiply and an add) per
    multiply-accumulate: a convolution with :math:`C_{in}` input and :math:`C_{out}` output channels and a
    :math:`k \\times k` kernel producing an :math:`H' \\times W'` map costs

    .. math:: 2\\, C_{in}\\, C_{out}\\, k^2\\, H' W' \\quad \\text{FLOPs per image.}

    Element-wise layers (ReLU, batch norm, pooling, interpolation) are not counted; they are a small share.
    The model runs in eval mode (so batch norm's running statistics are not updated); every submodule's mode is
    put back as it was.

    Example:
        >>> count_flops(nn.Conv2d(3, 8, 3, padding=1, bias=False), torch.rand(1, 3, 10, 10))  # 2·3·8·9·100
        43200
    """
    _check_model_input(model, inputs)
    with _every_submodule_evaluating(model), FlopCounterMode(display=False) as counter:
        model(inputs)
    return int(counter.get_total_flops())


class _NewTensorBytes(TorchDispatchMode):
    """Adds up the bytes of every storage created by an operation, each storage once, keeping them alive."""

    def __init__(self, known: Iterable[torch.Tensor]) -> None:
        super().__init__()
        self.seen = {t.untyped_storage().data_ptr() for t in known}  # inputs, weights: not activations
        self.kept: List[torch.Tensor] = []  # alive until the end, so no address is reused and counted twice
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                storage = t.untyped_storage()
                if storage.data_ptr() not in self.seen and storage.nbytes() > 0:
                    self.seen.add(storage.data_ptr())
                    self.kept.append(t)
                    self.total += storage.nbytes()
        return out


@torch.no_grad()
def activation_memory(model: nn.Module, inputs: torch.Tensor) -> int:
    """Bytes of the activations of one forward pass: every tensor the forward creates, each storage once.

    For a layer whose output has :math:`N \\times C \\times H \\times W` elements of :math:`b` bytes, that is
    :math:`N C H W b` bytes. Training keeps these maps for the backward pass, so this is (close to) the memory
    that training needs beyond the weights, and it grows with :math:`H W` like the FLOPs do.

    Counted from the tensors themselves (a ``TorchDispatchMode`` sees every operation's output), so functional
    calls inside ``forward`` (``F.max_pool2d``, ``F.interpolate``) count too; views and in-place operations
    (``ReLU(inplace=True)``) share their input's storage and add nothing. The input, weights and buffers are not
    counted. Eval mode, no gradients; the model is put back as it was.

    Example:
        >>> activation_memory(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True)),
        ...                   torch.rand(2, 3, 10, 10))     # one (2, 8, 10, 10) float32 map: 1600 * 4 bytes
        6400
    """
    _check_model_input(model, inputs)
    known = [inputs, *model.parameters(), *model.buffers()]
    with _every_submodule_evaluating(model), _NewTensorBytes(known) as counter:
        model(inputs)
    total = counter.total
    counter.kept.clear()
    return int(total)
