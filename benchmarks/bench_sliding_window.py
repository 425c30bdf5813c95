"""Benchmark: sliding-window segmentation against the same patch classifier convolutionalized (chapter 2).

Run: python benchmarks/bench_sliding_window.py [--patch-size 15] [--threads 1] [--sizes 32 64 128 256]
Prints, per image size, the best-of-3 wall time per image of `segbook.ops.sliding_window.sliding_window_predict` and of
`convolutionalize(classifier)`, their ratio, the FLOPs of both (FlopCounterMode) and the largest logit difference.
The weights are random (an untrained PatchClassifier in eval mode): the cost does not depend on them.
"""

from __future__ import annotations

import argparse
import time

import torch

from segbook.models import PatchClassifier
from segbook.ops.convolutionalization import convolutionalize
from segbook.ops.receptive_field import count_flops
from segbook.ops.sliding_window import sliding_window_predict


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patch-size", type=int, default=15, help="odd patch size P (default 15)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128, 256], help="image sides")
    parser.add_argument("--pool", action="store_true", help="a classifier with a 2x2 max pooling (dilation trick)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    classifier = PatchClassifier(5, patch_size=args.patch_size, hidden=32, pool=args.pool).eval()
    fcn = convolutionalize(classifier).eval()
    patch_flops = count_flops(classifier, torch.zeros(1, 3, args.patch_size, args.patch_size))
    print(f"PatchClassifier(patch_size={args.patch_size}, pool={args.pool}), {args.threads} thread(s)")
    print(
        f"{'image':>9} {'sliding ms':>11} {'conv. ms':>9} {'speed-up':>9} {'sliding GFLOP':>14} "
        f"{'conv. GFLOP':>12} {'max |diff|':>11}"
    )
    for size in args.sizes:
        x = torch.rand(1, 3, size, size)
        repeats = 3 if size <= 128 else 1
        slow = best_time(lambda x=x: sliding_window_predict(classifier, x, args.patch_size), repeats)
        fast = best_time(lambda x=x: fcn(x), 3)
        gap = (fcn(x) - sliding_window_predict(classifier, x, args.patch_size)).abs().max().item()
        print(
            f"{f'{size}x{size}':>9} {slow * 1e3:>11.1f} {fast * 1e3:>9.2f} {slow / fast:>9.1f} "
            f"{patch_flops * size * size / 1e9:>14.3f} {count_flops(fcn, x) / 1e9:>12.3f} {gap:>11.1e}"
        )


if __name__ == "__main__":
    main()
