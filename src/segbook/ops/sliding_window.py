"""Sliding-window segmentation, and the same classifier rewritten as a fully convolutional network.

The slide "Trượt cửa sổ" (sliding window): cut a patch around every pixel (*trích từ vùng ảnh*), classify the
centre pixel with a CNN (*phân lớp điểm ảnh trung tâm bằng mạng CNN*), and write the class into the label map.
It works, and the slide's verdict is right: *không hiệu quả! không tái sử dụng được đặc trưng các vùng trùng
nhau* (inefficient: the features of overlapping regions are not reused). Neighbouring patches share all but one
row or column of pixels, yet every patch goes through the whole network on its own.

The cure (Long, Shelhamer and Darrell, *Fully Convolutional Networks*, 2015, section 3.1; Sermanet et al.,
*OverFeat*, 2014): a fully connected layer that sees a :math:`C \\times h \\times w` feature map is a convolution
with an :math:`h \\times w` kernel. Rewriting every ``Linear`` layer that way (:func:`linear_to_conv`) turns the
patch classifier into a network that slides *itself* over the image, computing each shared feature once
(:func:`convolutionalize`). When the patch classifier's layers are unpadded ("valid") and the image is padded
the same way as for patch extraction, the two give the same logits at every pixel, up to float rounding.

Conventions:

* Patches have an odd size :math:`P = 2r + 1`, centred on their pixel. The image is padded by :math:`r` on every
  side first (``padding_mode``: ``"zeros"``, ``"reflect"`` or ``"replicate"``), so border pixels get full patches.
* Patch ``n * H * W + i * W + j`` is the patch of pixel ``(i, j)`` of image ``n``: the order of ``F.unfold``.

Example:
    >>> import torch
    >>> from segbook.models import PatchClassifier
    >>> clf = PatchClassifier(5, patch_size=9).eval()
    >>> x = torch.rand(1, 3, 12, 12)
    >>> slow = sliding_window_predict(clf, x, 9)             # one forward pass per pixel
    >>> fast = convolutionalize(clf)(x)                      # one pass for the whole image
    >>> slow.shape, bool((slow - fast).abs().max() < 1e-5)
    (torch.Size([1, 5, 12, 12]), True)
"""

from __future__ import annotations

import copy
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.nn import functional as F

from segbook.conventions import check_choice, check_int, check_tensor

__all__ = [
    "PADDING_MODES",
    "pad_for_patches",
    "extract_patches",
    "sample_patches",
    "SlidingWindowCounts",
    "sliding_window_predict",
    "linear_to_conv",
    "ConvolutionalizedClassifier",
    "convolutionalize",
]

#: Padding modes for the image border (the names of ``torch.nn.functional.pad``, with ``"zeros"`` for constant 0).
PADDING_MODES = ("zeros", "reflect", "replicate")

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


def _check_patch_size(patch_size: object) -> int:
    patch_size = check_int(patch_size, "patch_size", minimum=1)
    if patch_size % 2 == 0:
        raise ValueError(
            f"patch_size must be odd so that the patch has a centre pixel, got {patch_size} "
            f"(use {patch_size - 1} or {patch_size + 1})"
        )
    return patch_size


def _check_images(images: object) -> torch.Tensor:
    return check_tensor(images, "images", ndim=4, dtype="float", shape_hint="(N, C, H, W)")


def pad_for_patches(images: torch.Tensor, patch_size: int, padding_mode: str = "zeros") -> torch.Tensor:
    """Pad images by ``r = patch_size // 2`` on every side, so that every pixel has a centred ``P x P`` patch.

    Shapes: ``(N, C, H, W) -> (N, C, H + 2r, W + 2r)``.
    """
    _check_images(images)
    r = _check_patch_size(patch_size) // 2
    check_choice(padding_mode, "padding_mode", PADDING_MODES)
    if padding_mode == "reflect" and r >= min(images.shape[-2:]):
        raise ValueError(
            f"padding_mode='reflect' needs r = patch_size // 2 = {r} smaller than the image's height "
            f"and width {tuple(images.shape[-2:])}; use 'zeros' or 'replicate', or a smaller patch"
        )
    if r == 0:
        return images
    mode = "constant" if padding_mode == "zeros" else padding_mode
    return F.pad(images, (r, r, r, r), mode=mode)


def _patch_view(padded: torch.Tensor, patch_size: int) -> torch.Tensor:
    """A view (no copy) of every patch: (N, C, H', W') padded -> (N, C, H, W, P, P)."""
    return padded.unfold(2, patch_size, 1).unfold(3, patch_size, 1)


def extract_patches(images: torch.Tensor, patch_size: int, *, padding_mode: str = "zeros") -> torch.Tensor:
    """Every pixel's ``P x P`` patch, centred on it: the slide's *trích từ vùng ảnh* (extract a region).

    The image is padded by :math:`r = \\lfloor P/2 \\rfloor` first, so the patch of pixel :math:`(i, j)` is the
    padded image's window :math:`[i, i + P) \\times [j, j + P)`, whose centre is the original pixel :math:`(i, j)`.

    Args:
        images: float ``(N, C, H, W)``.
        patch_size: ``P``, odd, >= 1.
        padding_mode: ``"zeros"`` (default), ``"reflect"`` or ``"replicate"``: what lies beyond the border.

    Returns:
        ``(N * H * W, C, P, P)``: patch ``n * H * W + i * W + j`` belongs to pixel ``(i, j)`` of image ``n`` (the
        order of ``torch.nn.functional.unfold``). This copies every pixel ``P**2`` times, so for many or large
        images work image by image, as :func:`sliding_window_predict` does.

    Raises:
        ValueError: even ``patch_size``, wrong number of dimensions, unknown ``padding_mode``.
        TypeError: ``images`` is not a floating-point tensor.

    Example:
        >>> x = torch.arange(9.).reshape(1, 1, 3, 3)
        >>> extract_patches(x, 3)[4, 0]                      # the centre pixel's patch is the whole image
        tensor([[0., 1., 2.],
                [3., 4., 5.],
                [6., 7., 8.]])
        >>> extract_patches(x, 3)[0, 0]                      # the top-left pixel's patch has zeros outside
        tensor([[0., 0., 0.],
                [0., 0., 1.],
                [0., 3., 4.]])
    """
    padded = pad_for_patches(images, patch_size, padding_mode)
    n, c, h, w = images.shape
    patches = _patch_view(padded, patch_size)  # (N, C, H, W, P, P), a view
    return patches.permute(0, 2, 3, 1, 4, 5).reshape(n * h * w, c, patch_size, patch_size)  # copies here


def sample_patches(
    images: torch.Tensor,
    masks: torch.Tensor,
    patch_size: int,
    per_class: int,
    *,
    num_classes: int,
    padding_mode: str = "zeros",
    generator: Optional[torch.Generator] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """A class-balanced training set for a patch classifier: ``per_class`` patches centred on pixels of each class.

    Most pixels are background, so patches drawn uniformly would teach a classifier to answer "background".
    Here each class gets the same number of patches, drawn uniformly (with replacement) among its pixels.
    Classes absent from ``masks`` and ignored pixels (any value outside ``[0, num_classes)``) give no patch.

    Args:
        images: float ``(N, C, H, W)``.
        masks: integer ``(N, H, W)`` label maps.
        patch_size: ``P``, odd.
        per_class: patches per class (>= 1).
        num_classes: ``K``.
        padding_mode: as in :func:`extract_patches`.
        generator: a ``torch.Generator`` for reproducible draws.

    Returns:
        ``(patches (M, C, P, P), labels (M,) int64)`` with ``M = per_class *`` (number of classes present),
        grouped by class (shuffle them, e.g. with a ``DataLoader``).

    Example:
        >>> x = torch.rand(2, 3, 8, 8); y = torch.zeros(2, 8, 8, dtype=torch.long); y[0, 2, 3] = 1
        >>> p, labels = sample_patches(x, y, 5, 4, num_classes=2)
        >>> tuple(p.shape), labels.tolist()
        ((8, 3, 5, 5), [0, 0, 0, 0, 1, 1, 1, 1])
    """
    _check_images(images)
    check_tensor(masks, "masks", ndim=3, dtype="int", shape_hint="(N, H, W)")
    if masks.shape != (images.shape[0], *images.shape[-2:]):
        raise ValueError(
            f"masks must have shape (N, H, W) = {(images.shape[0], *images.shape[-2:])} to match "
            f"images, got {tuple(masks.shape)}"
        )
    per_class = check_int(per_class, "per_class", minimum=1)
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    view = _patch_view(pad_for_patches(images, patch_size, padding_mode), patch_size)  # (N, C, H, W, P, P)
    patches, labels = [], []
    for c in range(num_classes):
        where = (masks == c).nonzero()  # (count, 3): rows (n, i, j)
        if len(where) == 0:
            continue
        pick = where[torch.randint(len(where), (per_class,), generator=generator)]
        patches.append(view[pick[:, 0], :, pick[:, 1], pick[:, 2]])  # (per_class, C, P, P): copies only these
        labels.append(torch.full((per_class,), c, dtype=torch.long))
    if not patches:
        raise ValueError(f"masks contain no pixel of any class 0..{num_classes - 1}")
    return torch.cat(patches), torch.cat(labels)


class SlidingWindowCounts(NamedTuple):
    """What :func:`sliding_window_predict` did: ``patches`` classified (one per pixel) in ``calls`` batches."""

    patches: int
    calls: int


@torch.no_grad()
def sliding_window_predict(
    classifier: nn.Module,
    images: torch.Tensor,
    patch_size: int,
    *,
    batch_size: int = 1024,
    padding_mode: str = "zeros",
    return_counts: bool = False,
) -> Union[torch.Tensor, Tuple[torch.Tensor, SlidingWindowCounts]]:
    """Segment by classifying every pixel's patch on its own: the slide's sliding window.

    For each image, every pixel's patch is cut out (:func:`extract_patches`), the patches go through
    ``classifier`` ``batch_size`` at a time, and the ``K`` logits of patch ``(i, j)`` become the logits of pixel
    ``(i, j)``. The classifier runs once per pixel: :math:`N \\cdot H \\cdot W` patch classifications.

    Args:
        classifier: maps ``(B, C, P, P)`` patches to ``(B, K)`` logits. It is used as it is: put it in eval mode
            first if it has batch norm or dropout.
        images: float ``(N, C, H, W)``.
        patch_size: ``P``, odd: the classifier's input size.
        batch_size: patches per forward call (memory, not result: any value gives the same logits).
        padding_mode: as in :func:`extract_patches`.
        return_counts: also return a :class:`SlidingWindowCounts`.

    Returns:
        Logits ``(N, K, H, W)`` on the images' device; with ``return_counts``, ``(logits, counts)``.

    Example:
        >>> clf = nn.Sequential(nn.Flatten(), nn.Linear(3 * 5 * 5, 4))
        >>> logits, counts = sliding_window_predict(clf, torch.rand(2, 3, 6, 7), 5, batch_size=50,
        ...                                         return_counts=True)
        >>> tuple(logits.shape), counts
        ((2, 4, 6, 7), SlidingWindowCounts(patches=84, calls=2))
    """
    if not isinstance(classifier, nn.Module):
        raise TypeError(f"classifier must be a torch.nn.Module, got {type(classifier).__name__}")
    _check_images(images)
    patch_size = _check_patch_size(patch_size)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    n, _, h, w = images.shape
    outputs, calls = [], 0
    for image in images.split(1):  # one image at a time: its patches hold H * W * P * P copies of its pixels
        patches = extract_patches(image, patch_size, padding_mode=padding_mode)  # (H*W, C, P, P)
        logits = []
        for chunk in patches.split(batch_size):
            out = classifier(chunk)
            calls += 1
            if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != chunk.shape[0]:
                shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                raise ValueError(
                    f"classifier must map (B, C, P, P) patches to (B, K) logits; for B={chunk.shape[0]}"
                    f" patches of size {patch_size} it returned {shape}"
                )
            logits.append(out)
        outputs.append(torch.cat(logits).T.reshape(1, -1, h, w))  # (H*W, K) -> (1, K, H, W)
    result = torch.cat(outputs)
    if return_counts:
        return result, SlidingWindowCounts(patches=n * h * w, calls=calls)
    return result


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
        if linear.bias is not None:
            conv.bias.copy_(linear.bias)
    return conv


class ConvolutionalizedClassifier(nn.Module):
    """A patch classifier rewritten as a fully convolutional network (made by :func:`convolutionalize`).

    ``forward`` pads the image by ``r = patch_size // 2`` exactly as :func:`extract_patches` does, runs the
    converted layers once over the padded image, and keeps the top-left ``H x W`` outputs: output ``(i, j)`` is
    the classifier's answer for the patch of pixel ``(i, j)``.

    Attributes:
        body: the converted layers, an ``nn.Sequential`` of convolutions (and pooling, activations, batch norm).
        patch_size: ``P``.
        padding_mode: the border padding, as in :func:`extract_patches`.

    Shapes: ``(N, C, H, W) -> (N, K, H, W)``.
    """

    def __init__(self, body: nn.Sequential, patch_size: int, padding_mode: str = "zeros") -> None:
        super().__init__()
        self.body = body
        self.patch_size = _check_patch_size(patch_size)
        self.padding_mode = check_choice(padding_mode, "padding_mode", PADDING_MODES)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        padded = pad_for_patches(images, self.patch_size, self.padding_mode)  # (N, C, H + 2r, W + 2r)
        out = self.body(padded)  # (N, K, >= H, >= W): one output per patch position
        return out[..., : images.shape[-2], : images.shape[-1]]

    def extra_repr(self) -> str:
        return f"patch_size={self.patch_size}, padding_mode={self.padding_mode!r}"


def _leaf_layers(module: nn.Module) -> List[nn.Module]:
    """The layers of a (nested) ``nn.Sequential``, in order."""
    if isinstance(module, nn.Sequential):
        return [leaf for child in module for leaf in _leaf_layers(child)]
    return [module]


def _pair(value: Union[int, Tuple[int, ...]], name: str, layer: str) -> int:
    """One int from a square kernel/stride/padding/dilation setting, or a clear error."""
    if isinstance(value, str):
        raise ValueError(f"{layer}: padding={value!r} is not supported; the patch classifier must use padding=0")
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise ValueError(
                f"{layer}: {name}={tuple(value)} is not square; convolutionalize handles square "
                f"kernels, strides and dilations only"
            )
        value = value[0]
    return int(value)


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
        padding_mode: the border padding the sliding window used (:func:`extract_patches`).

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
    patch_size = _check_patch_size(patch_size)
    check_choice(padding_mode, "padding_mode", PADDING_MODES)

    size, channels = patch_size, None  # spatial size of one patch's map at this layer; its channels once known
    dilation = 1  # product of the strides so far: how far apart the converted layer's taps are
    flat_shape: Optional[Tuple[int, int, int]] = None  # (C, h, w) once Flatten has been seen
    converted: List[nn.Module] = []
    for index, layer in enumerate(_leaf_layers(classifier)):
        name = f"layer {index} ({type(layer).__name__})"
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            if flat_shape is not None:
                raise ValueError(f"{name} comes after Flatten; spatial layers must come before the head")
            k = _pair(layer.kernel_size, "kernel_size", name)
            s = _pair(layer.stride, "stride", name)
            p = _pair(layer.padding, "padding", name)
            d = _pair(getattr(layer, "dilation", 1), "dilation", name)
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
