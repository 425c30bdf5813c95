"""Sliding-window segmentation: classify every pixel's patch on its own (chapter 2, slide "Trượt cửa sổ").

The slide "Trượt cửa sổ" (sliding window): cut a patch around every pixel (*trích từ vùng ảnh*), classify the
centre pixel with a CNN (*phân lớp điểm ảnh trung tâm bằng mạng CNN*), and write the class into the label map.
It works, and the slide's verdict is right: *không hiệu quả! không tái sử dụng được đặc trưng các vùng trùng
nhau* (inefficient: the features of overlapping regions are not reused). Neighbouring patches share all but one
row or column of pixels, yet every patch goes through the whole network on its own. The cure, the same
classifier rewritten as a fully convolutional network, is in :mod:`segbook.ops.convolutionalization`.

Conventions:

* Patches have an odd size :math:`P = 2r + 1`, centred on their pixel. The image is padded by :math:`r` on every
  side first (``padding_mode``: ``"zeros"``, ``"reflect"`` or ``"replicate"``), so border pixels get full patches.
* Patch ``n * H * W + i * W + j`` is the patch of pixel ``(i, j)`` of image ``n``: the order of ``F.unfold``.

Example:
    >>> import torch
    >>> from segbook.models import PatchClassifier
    >>> clf = PatchClassifier(5, patch_size=9).eval()
    >>> sliding_window_predict(clf, torch.rand(1, 3, 12, 12), 9).shape   # one forward pass per pixel
    torch.Size([1, 5, 12, 12])
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple, Union

import torch
from torch import nn
from torch.nn import functional as F

from segbook.conventions import check_bool, check_choice, check_int, check_tensor
from segbook.ops._common import check_patch_size

__all__ = [
    "PADDING_MODES",
    "pad_for_patches",
    "extract_patches",
    "sample_patches",
    "SlidingWindowCounts",
    "sliding_window_predict",
]

#: Padding modes for the image border (the names of ``torch.nn.functional.pad``, with ``"zeros"`` for constant 0).
PADDING_MODES = ("zeros", "reflect", "replicate")


def _check_images(images: object) -> torch.Tensor:
    return check_tensor(images, "images", ndim=4, dtype="float", shape_hint="(N, C, H, W)")


def pad_for_patches(images: torch.Tensor, patch_size: int, padding_mode: str = "zeros") -> torch.Tensor:
    """Pad images by ``r = patch_size // 2`` on every side, so that every pixel has a centred ``P x P`` patch.

    Shapes: ``(N, C, H, W) -> (N, C, H + 2r, W + 2r)``.
    """
    _check_images(images)
    r = check_patch_size(patch_size) // 2
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
    patch_size = check_patch_size(patch_size)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    check_bool(return_counts, "return_counts")
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
