"""Benchmark: how many procedural scenes per second `segbook.data.make_scene` generates on one core.

Run: python benchmarks/bench_data.py [--count 2000]
Prints a table of images/s for several sizes and settings. The book's goal is >= 1,000 images/s at 64x64 for the
scenes and >= 300 images/s for the touching cells (`segbook.data.make_cells`, chapter 8).
"""

from __future__ import annotations

import argparse
import time

import torch

from segbook.data import CellsConfig, SceneConfig, make_cells, make_scene


def images_per_second(config, count: int) -> float:
    make = make_cells if isinstance(config, CellsConfig) else make_scene
    make(config, 0, 0)  # warm-up (grid cache, imports)
    start = time.perf_counter()
    for i in range(count):
        make(config, 0, i)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="images per setting (default 2000)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = [
        ("64x64, defaults", SceneConfig(size=64)),
        ("64x64, no texture", SceneConfig(size=64, texture=False)),
        ("64x64, object_scale=0.4", SceneConfig(size=64, object_scale=0.4)),
        ("128x128, defaults", SceneConfig(size=128)),
        ("256x256, defaults", SceneConfig(size=256)),
        ("cells 64x64, defaults", CellsConfig(size=64)),
        ("cells 128x128, defaults", CellsConfig(size=128)),
    ]
    print(f"{'setting':<28} {'images/s':>10}")
    print("-" * 39)
    for name, config in settings:
        count = max(args.count * 4096 // (config.size * config.size), 50)
        print(f"{name:<28} {images_per_second(config, count):>10.0f}")


if __name__ == "__main__":
    main()
