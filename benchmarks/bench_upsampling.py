"""Benchmark: each from-scratch upsampling op of `segbook.ops` (chapter 4) against PyTorch's own op.

Run: python benchmarks/bench_upsampling.py [--repeat 20] [--threads 1] [--backward]
Prints one row per op: the input shape, the median time of segbook's version and of PyTorch's (forward only, or
forward + backward with --backward), and how many times slower segbook's is. The from-scratch ops are written to
be read, not to be fast: the table says what that costs. Both results are also compared (largest difference).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, List, Tuple

import torch
from torch.nn import functional as F

from segbook import ops as up


def median_ms(fn: Callable[[], torch.Tensor], repeat: int, backward: bool) -> Tuple[float, torch.Tensor]:
    """Median wall time of ``fn`` in milliseconds (after one warm-up call) and its last result."""

    def run() -> torch.Tensor:
        out = fn()
        if backward:
            out.sum().backward()
        return out

    out = run()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times), out.detach()


def cases(backward: bool) -> List[Tuple[str, str, Callable, Callable]]:
    """(name, shape text, segbook op, PyTorch op) for every benchmarked operation."""
    g = torch.Generator().manual_seed(0)
    grad = backward

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g).requires_grad_(grad)

    x_up = rand(8, 64, 64, 64)
    one_hot = torch.zeros(64, 1, 2, 2)
    one_hot[:, :, 0, 0] = 1
    x_pool = rand(8, 64, 128, 128)
    values, indices = F.max_pool2d(x_pool.detach(), 2, return_indices=True)
    values = values.requires_grad_(grad)
    x_t = rand(8, 64, 32, 32)
    w3, w2, w4 = rand(64, 64, 3, 3), rand(64, 64, 2, 2), rand(64, 64, 4, 4)
    x_1d, w_1d = rand(8, 64, 256), rand(64, 64, 3)
    x_small, k_small = rand(1, 1, 32, 32), rand(1, 1, 3, 3)
    return [
        (
            "nearest_upsample x2",
            "(8, 64, 64, 64)",
            lambda: up.nearest_upsample(x_up, 2),
            lambda: F.interpolate(x_up, scale_factor=2, mode="nearest"),
        ),
        (
            "bed_of_nails x2",
            "(8, 64, 64, 64)",
            lambda: up.bed_of_nails(x_up, 2),
            lambda: F.conv_transpose2d(x_up, one_hot, stride=2, groups=64),
        ),
        (
            "max_pool2d_with_indices 2x2",
            "(8, 64, 128, 128)",
            lambda: up.max_pool2d_with_indices(x_pool, 2)[0],
            lambda: F.max_pool2d(x_pool, 2, return_indices=True)[0],
        ),
        (
            "max_unpool2d 2x2",
            "(8, 64, 64, 64)",
            lambda: up.max_unpool2d(values, indices, 2),
            lambda: F.max_unpool2d(values, indices, 2),
        ),
        (
            "conv_transpose2d k3 s2 p1 op1",
            "(8, 64, 32, 32)",
            lambda: up.conv_transpose2d(x_t, w3, stride=2, padding=1, output_padding=1),
            lambda: F.conv_transpose2d(x_t, w3, stride=2, padding=1, output_padding=1),
        ),
        (
            "conv_transpose2d k2 s2",
            "(8, 64, 32, 32)",
            lambda: up.conv_transpose2d(x_t, w2, stride=2),
            lambda: F.conv_transpose2d(x_t, w2, stride=2),
        ),
        (
            "conv_transpose2d k4 s2 p1",
            "(8, 64, 32, 32)",
            lambda: up.conv_transpose2d(x_t, w4, stride=2, padding=1),
            lambda: F.conv_transpose2d(x_t, w4, stride=2, padding=1),
        ),
        (
            "conv_transpose1d k3 s2 p1 op1",
            "(8, 64, 256)",
            lambda: up.conv_transpose1d(x_1d, w_1d, stride=2, padding=1, output_padding=1),
            lambda: F.conv_transpose1d(x_1d, w_1d, stride=2, padding=1, output_padding=1),
        ),
        (
            "conv_matrix(w) @ x (build + multiply)",
            "(1, 1, 32, 32)",
            lambda: (up.conv_matrix(k_small, 32, padding=1) @ x_small.flatten()).view(1, 1, 32, 32),
            lambda: F.conv2d(x_small, k_small, padding=1),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per op (default 20)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--backward", action="store_true", help="time forward + backward instead of forward")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {'forward + backward' if args.backward else 'forward'}"
        f", median of {args.repeat} calls"
    )
    header = f"{'op':<38} {'input':<18} {'segbook ms':>11} {'torch ms':>9} {'slower':>7} {'max diff':>9}"
    print(header)
    print("-" * len(header))
    for name, shape, ours, theirs in cases(args.backward):
        ours_ms, ours_out = median_ms(ours, args.repeat, args.backward)
        theirs_ms, theirs_out = median_ms(theirs, args.repeat, args.backward)
        diff = (ours_out - theirs_out).abs().max().item()
        print(f"{name:<38} {shape:<18} {ours_ms:>11.2f} {theirs_ms:>9.2f} {ours_ms / theirs_ms:>6.1f}x {diff:>9.1e}")


if __name__ == "__main__":
    main()
