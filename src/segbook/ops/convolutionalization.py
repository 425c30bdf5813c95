"""The sliding-window classifier rewritten as a fully convolutional network (chapter 2, "Tích chập hoàn toàn").

The sliding window of :mod:`segbook.ops.sliding_window` runs the whole classifier once per pixel, although
neighbouring patches share all but one row or column. The cure (Long, Shelhamer and Darrell, *Fully
Convolutional Networks*, 2015, section 3.1; Sermanet et al., *OverFeat*, 2014): a fully connected layer that sees
a :math:`C \\times h \\times w` feature map is a convolution with an :math:`h \\times w` kernel. Rewriting every
``Linear`` layer that way (:func:`linear_to_conv`) turns the patch classifier into a network that slides *itself*
over the image, computing each shared feature once (:func:`convolutionalize`). When the patch classifier's layers
are unpadded ("valid") and the image is padded the same way as for patch extraction, the two give the same
logits at every pixel, up to float rounding.

Example:
    >>> import torch
    >>> from segbook.models import PatchClassifier
    >>> from segbook.ops.sliding_window import sliding_window_predict
    >>> clf = PatchClassifier(5, patch_size=9).eval()
    >>> x = torch.rand(1, 3, 12, 12)
    >>> slow = sliding_window_predict(clf, x, 9)             # one forward pass per pixel
    >>> fast = convolutionalize(clf)(x)                      # one pass for the whole image
    >>> slow.shape, bool((slow - fast).abs().max() < 1e-5)
    (torch.Size([1, 5, 12, 12]), True)
"""

from __future__ import annotations

import copy
from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn

from segbook.conventions import check_choice, check_int
from segbook.ops._common import check_patch_size, leaf_layers, square_size
from segbook.ops.sliding_window import PADDING_MODES, pad_for_patches

__all__ = ["linear_to_conv", "ConvolutionalizedClassifier", "convolutionalize"]

# Layers that act on every position (or channel) alone, so they are copied unchanged into the convolutional
# network. BatchNorm acts per channel with fixed statistics only in eval mode: compare the two networks in eval mode.
_POINTWISE = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Identity,
    nn.Dropout,
    nn.Dropout2d,
    nn.BatchNorm2d,
)


def linear_to_conv(
    linear: nn.Linear,
    in_shape: Sequence[int],
    *,
    dilation: int = 1,
) -> nn.Conv2d:
    """The convolution that computes what ``linear`` computes on a flattened ``(C, h, w)`` feature map.

    A fully connected layer on a flattened map, :math:`y_o = b_o + \\sum_{c,u,v} W_{o,(c,u,v)}\\, x_{c,u,v}`, is a
    convolution with ``C`` input channels and an ``h x w`` kernel :math:`K_{o,c,u,v} = W_{o,(c,u,v)}` evaluated
    at one position. The weights are only reshaped, ``(O, C*h*w) -> (O, C, h, w)`` (``Flatten``'s row-major order),
    and the bias is kept. On a larger input the convolution slides, evaluating the fully connected layer at every
    position at once.

    Args:
        linear: the ``nn.Linear`` layer.
        in_shape: ``(C, h, w)``, the shape of the map that was flattened into ``linear``'s input
            (``(C, 1, 1)`` for a Linear layer that follows another one).
        dilation: spacing of the kernel's taps (see :func:`convolutionalize` for pooling layers).

    Returns:
        A new ``nn.Conv2d(C, O, (h, w), dilation=dilation)`` with the same dtype and device as ``linear``.

    Example:
        >>> fc = nn.Linear(2 * 3 * 3, 4)
        >>> x = torch.rand(5, 2, 3, 3)
        >>> conv = linear_to_conv(fc, (2, 3, 3))
        >>> torch.allclose(conv(x).flatten(1), fc(x.flatten(1)), atol=1e-6)
        True
    """
    if not isinstance(linear, nn.Linear):
        raise TypeError(
            f"linear must be a torch.nn.Linear, got {type(linear).__name__}",
        )
    if (
        not isinstance(in_shape, (tuple, list, torch.Size))
        or len(in_shape) != 3
        or not all(isinstance(s, int) and s >= 1 for s in in_shape)
    ):
        raise ValueError(
            f"in_shape must be (C, h, w), three positive ints, got {in_shape!r}",
        )
    c, h, w = (int(s) for s in in_shape)
    if c * h * w != linear.in_features:
        raise ValueError(
            f"linear has in_features={linear.in_features} but in_shape "
            f"{tuple(in_shape)} flattens to {c} * {h} * {w} = {c * h * w}"
        )
    dilation = check_int(dilation, "dilation", minimum=1)
    weight = linear.weight
    conv = nn.Conv2d(
        c,
        linear.out_features,
        (h, w),
        dilation=dilation,
        bias=linear.bias is not None,
        device=weight.device,
        dtype=weight.dtype,
    )
    with torch.no_grad():
        # (O, C*h*w) -> (O, C, h, w): Flatten's order is the kernel's memory order
        conv.weight.copy_(weight.reshape(linear.out_features, c, h, w))
        if linear.bias is not None and conv.bias is not None:
            conv.bias.copy_(linear.bias)
    return conv


class ConvolutionalizedClassifier(nn.Module):
    """A patch classifier rewritten as a fully convolutional network (made by :func:`convolutionalize`).

    ``forward`` pads the image by ``r = patch_size // 2`` exactly as
    :func:`~segbook.ops.sliding_window.extract_patches` does, runs the converted layers once over the padded image,
    and keeps the top-left ``H x W`` outputs: output ``(i, j)`` is the classifier's answer for the patch of pixel
    ``(i, j)``.

    Attributes:
        body: the converted layers, an ``nn.Sequential`` of convolutions (and pooling, activations, batch norm).
        patch_size: ``P``.
        padding_mode: the border padding, as in :func:`~segbook.ops.sliding_window.extract_patches`.

    Shapes: ``(N, C, H, W) -> (N, K, H, W)``.
    """

    def __init__(self, body: nn.Sequential, patch_size: int, padding_mode: str = "zeros") -> None:
        super().__init__()
        self.body = body
        self.patch_size = check_patch_size(patch_size)
        check_choice(padding_mode, "padding_mode", PADDING_MODES)
        self.padding_mode = padding_mode

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        padded = pad_for_patches(images, self.patch_size, self.padding_mode)  # (N, C, H + 2r, W + 2r)
        out = self.body(padded)  # (N, K, >= H, >= W): one output per patch position
        return out[..., : images.shape[-2], : images.shape[-1]]

    def extra_repr(self) -> str:
        return f"patch_size={self.patch_size}, padding_mode={self.padding_mode!r}"


def convolutionalize(
    classifier: nn.Module, patch_size: Optional[int] = None, *, padding_mode: str = "zeros"
) -> ConvolutionalizedClassifier:
    """Rewrite a patch classifier as a fully convolutional network that classifies every pixel in one pass.

    The classifier must be an ``nn.Sequential`` (nested ones are flattened) of:

    * ``Conv2d`` / ``MaxPool2d`` / ``AvgPool2d`` with ``padding=0`` ("valid": a padded layer would see zeros
      *inside* the image in the convolutional version, where the patch had real pixels);
    * layers that act per position: activations, ``Dropout``, ``BatchNorm2d`` (exact in eval mode, where it
      uses its running statistics);
    * then ``Flatten`` and ``Linear`` layers (the fully connected head).

    Each ``Linear`` becomes a convolution (:func:`linear_to_conv`): the first with the kernel size of the feature
    map it used to see, the later ones 1x1.

    **Strides become dilations** (the *à trous* trick; OverFeat's and DeepLab's). A layer with stride :math:`s`
    keeps only every :math:`s`-th position of a patch's map. Run densely over the image, neighbouring pixels'
    patches need the positions *in between*, so the converted layer uses stride 1, and every later kernel
    spreads its taps :math:`s` times further apart (dilation :math:`\\times s`) to read the same inputs as in the
    patch. Layer :math:`l` then gets the dilation :math:`D_l = \\prod_{m<l} s_m` (times its own). The result is the
    exact dense output, with no stride anywhere, at full resolution.

    Args:
        classifier: the patch classifier, mapping ``(B, C, P, P)`` to ``(B, K)``.
        patch_size: ``P``; default ``classifier.patch_size``.
        padding_mode: the border padding the sliding window used (:func:`~segbook.ops.sliding_window.extract_patches`).

    Returns:
        A :class:`ConvolutionalizedClassifier` with copied weights (the classifier is not changed), in the same
        train/eval mode as the classifier. Then ``convolutionalize(clf)(x)`` equals
        ``sliding_window_predict(clf, x, P)`` up to float rounding.

    Raises:
        TypeError: not a Sequential, or a layer it cannot convert (the message names it).
        ValueError: padded or non-square layers, a patch too small for the layers, a Linear that does not fit.

    Example:
        >>> clf = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        ...                     nn.Linear(8 * 3 * 3, 5)).eval()        # on 9x9 patches: 9 -> 7 -> 3
        >>> fcn = convolutionalize(clf, 9)
        >>> from segbook.ops.sliding_window import sliding_window_predict
        >>> x = torch.rand(1, 3, 10, 10)
        >>> bool((fcn(x) - sliding_window_predict(clf, x, 9)).abs().max() < 1e-5)
        True
    """
    if not isinstance(classifier, nn.Module):
        raise TypeError(f"classifier must be a torch.nn.Module, got {type(classifier).__name__}")
    if not isinstance(classifier, nn.Sequential):
        raise TypeError(
            f"convolutionalize needs an nn.Sequential of layers (so that their order is known), got "
            f"{type(classifier).__name__}"
        )
    if patch_size is None:
        patch_size = getattr(classifier, "patch_size", None)
        if patch_size is None:
            raise ValueError("give patch_size: the classifier has no patch_size attribute")
    patch_size = check_patch_size(patch_size)
    check_choice(padding_mode, "padding_mode", PADDING_MODES)

    size, channels = patch_size, None  # spatial size of one patch's map at this layer; its channels once known
    dilation = 1  # product of the strides so far: how far apart the converted layer's taps are
    flat_shape: Optional[Tuple[int, int, int]] = None  # (C, h, w) once Flatten has been seen
    converted: List[nn.Module] = []
    for index, layer in enumerate(leaf_layers(classifier)):
        name = f"layer {index} ({type(layer).__name__})"
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            if flat_shape is not None:
                raise ValueError(f"{name} comes after Flatten; spatial layers must come before the head")
            if isinstance(layer.padding, str):
                raise ValueError(
                    f"{name}: padding={layer.padding!r} is not supported; the patch classifier must use padding=0"
                )
            k = square_size(layer.kernel_size, "kernel_size", name, tool="convolutionalize")
            s = square_size(layer.stride, "stride", name, tool="convolutionalize")
            p = square_size(layer.padding, "padding", name, tool="convolutionalize")
            d = square_size(getattr(layer, "dilation", 1), "dilation", name, tool="convolutionalize")
            if p != 0:
                raise ValueError(
                    f"{name} has padding={p}; the patch classifier's layers must be unpadded "
                    f"('valid'), or the converted network would differ near every patch's border"
                )
            if getattr(layer, "ceil_mode", False):
                raise ValueError(f"{name} has ceil_mode=True; use ceil_mode=False (the default)")
            span = d * (k - 1) + 1
            if span > size:
                raise ValueError(
                    f"{name}: its kernel spans {span} pixels but a {patch_size}x{patch_size} patch "
                    f"is only {size}x{size} here; use a larger patch_size"
                )
            new: nn.Module
            if isinstance(layer, nn.Conv2d):
                new = nn.Conv2d(
                    layer.in_channels,
                    layer.out_channels,
                    k,
                    stride=1,
                    dilation=d * dilation,
                    groups=layer.groups,
                    bias=layer.bias is not None,
                    device=layer.weight.device,
                    dtype=layer.weight.dtype,
                )
                new.load_state_dict(layer.state_dict())
                channels = layer.out_channels
            elif isinstance(layer, nn.MaxPool2d):
                new = nn.MaxPool2d(k, stride=1, dilation=d * dilation)
            else:  # AvgPool2d has no dilation argument: a fixed depthwise convolution averages dilated taps
                if channels is None:
                    raise ValueError(f"{name}: the number of channels is unknown here; put a Conv2d before AvgPool2d")
                new = _average_as_conv(channels, k, dilation, layer.divisor_override)
            converted.append(new)
            size = (size - span) // s + 1
            dilation *= s
        elif isinstance(layer, nn.Flatten):
            if layer.start_dim != 1 or layer.end_dim != -1:
                raise ValueError(
                    f"{name} must flatten dims 1..-1 (the default), got start_dim={layer.start_dim}, "
                    f"end_dim={layer.end_dim}"
                )
            if channels is None:
                raise ValueError(f"{name}: put at least one Conv2d before Flatten (the channel count is unknown)")
            flat_shape = (channels, size, size)
        elif isinstance(layer, nn.Linear):
            if flat_shape is None:
                raise ValueError(f"{name}: put an nn.Flatten() between the spatial layers and the Linear head")
            converted.append(linear_to_conv(layer, flat_shape, dilation=dilation))
            flat_shape = (layer.out_features, 1, 1)  # later Linear layers see one position: 1x1 convolutions
            channels = layer.out_features
        elif isinstance(layer, _POINTWISE):
            converted.append(copy.deepcopy(layer))
        else:
            raise TypeError(
                f"convolutionalize cannot convert {name}: supported are Conv2d, MaxPool2d, AvgPool2d "
                f"(unpadded), Flatten, Linear and per-position layers (activations, Dropout, "
                f"BatchNorm2d)"
            )
    if flat_shape is None:
        raise ValueError("the classifier has no Flatten + Linear head; it is already fully convolutional")
    converted_model = ConvolutionalizedClassifier(nn.Sequential(*converted), patch_size, padding_mode)
    return converted_model.train(classifier.training)  # same mode as the classifier, wrapper included


def _average_as_conv(channels: int, kernel_size: int, dilation: int, divisor: Optional[int]) -> nn.Conv2d:
    """A depthwise convolution with fixed weights ``1 / k**2``: average pooling with dilated taps, stride 1.

    (With padding 0, ``count_include_pad`` changes nothing; ``divisor_override`` replaces ``k**2``.)
    """
    conv = nn.Conv2d(channels, channels, kernel_size, dilation=dilation, groups=channels, bias=False)
    conv.weight.data.fill_(1.0 / (divisor or kernel_size**2))
    conv.weight.requires_grad_(False)
    return conv
