"""Which image sizes does an encoder-decoder accept? :func:`check_input_size` computes it, :func:`probe_input_sizes`
tries it."""

from __future__ import annotations

from typing import Dict, Sequence, Tuple, Union

import torch
from torch import nn

from segbook.conventions import check_int, check_positive_int, evaluating
from segbook.debugging.report import CheckReport

__all__ = ["check_input_size", "probe_input_sizes"]


def check_input_size(size: Sequence[int], depth: int) -> CheckReport:
    """Check that an image size (H, W) suits an encoder-decoder with ``depth`` 2x downsamplings.

    Each max pooling halves H and W (rounding down), so after ``depth`` of them the decoder's ``depth``
    doublings only give back the input size when H and W are divisible by :math:`2^{depth}`. Otherwise the
    report gives the nearest sizes that work: pad (bottom/right, then crop the output back) or crop.

    Args:
        size: (H, W) in pixels.
        depth: number of 2x downsamplings (>= 0).

    Returns:
        A :class:`CheckReport`; ``details``: ``multiple`` (2**depth), ``pad_to``, ``pad`` ((bottom, right)
        pixels to add), ``crop_to``.

    Example:
        >>> check_input_size((64, 48), depth=4).passed
        True
    """
    if isinstance(size, (str, bytes)) or not isinstance(size, Sequence) or len(size) != 2:
        raise TypeError(f"size must be a pair (H, W), got {size!r}")
    h, w = (check_positive_int(s, name) for s, name in zip(size, ("size[0] (H)", "size[1] (W)")))
    depth = check_int(depth, "depth", minimum=0)
    multiple = 2**depth
    pad_to = (h + (-h % multiple), w + (-w % multiple))
    crop_to = (h - h % multiple, w - w % multiple)
    details = {
        "size": (h, w),
        "multiple": multiple,
        "pad_to": pad_to,
        "pad": (pad_to[0] - h, pad_to[1] - w),
        "crop_to": crop_to,
    }
    if pad_to == (h, w):
        return CheckReport("input size", True, f"{h}x{w} is divisible by 2**{depth} = {multiple}", details)
    crop = f"or crop to {crop_to[0]}x{crop_to[1]}" if min(crop_to) > 0 else "(cropping would leave nothing)"
    return CheckReport(
        "input size",
        False,
        f"{h}x{w} is not divisible by 2**{depth} = {multiple}: pad to {pad_to[0]}x{pad_to[1]} "
        f"(add {details['pad'][0]} rows at the bottom, {details['pad'][1]} columns at the right, "
        f"then crop the output back to {h}x{w}) {crop}",
        details,
    )


def probe_input_sizes(
    model: nn.Module,
    sizes: Sequence[Sequence[int]],
    *,
    in_channels: int = 3,
    device: Union[str, torch.device, None] = None,
) -> Dict[Tuple[int, int], str]:
    """Run ``model`` on a zero image of each size and return ``{(H, W): "ok" or the error message}``.

    Shows which sizes a model really accepts, e.g. to confirm :func:`check_input_size` on an
    :class:`segbook.models.EncoderDecoder` (which refuses the others with a ``ValueError``). An output of another
    size than the input is reported too.

    Example:
        >>> from segbook.models import EncoderDecoder
        >>> probe_input_sizes(EncoderDecoder(2, depth=2), [(32, 32)])
        {(32, 32): 'ok'}
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    in_channels = check_positive_int(in_channels, "in_channels")
    if device is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    results: Dict[Tuple[int, int], str] = {}
    with evaluating(model):
        for size in sizes:
            h, w = (check_positive_int(s, "size") for s in size)
            try:
                with torch.no_grad():
                    out = model(torch.zeros(1, in_channels, h, w, device=device))
                out = out[-1] if isinstance(out, (list, tuple)) else out
                got = tuple(out.shape[-2:])
                results[(h, w)] = "ok" if got == (h, w) else f"output is {got[0]}x{got[1]}, not {h}x{w}"
            except (ValueError, RuntimeError) as error:
                results[(h, w)] = f"{type(error).__name__}: {error}"
    return results
