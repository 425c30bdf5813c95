"""Benchmark: execute every chapter notebook in a fresh kernel and print its wall time.

Run: python benchmarks/bench_notebooks.py [NOTEBOOK ...]   (default: every chapters/*.ipynb)
Prints a Markdown table (paste it into the README) and checks the book's budget: at most 120 s per notebook
and 15 minutes for the whole book. Exits 1 when a notebook fails or the budget is exceeded.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
PER_NOTEBOOK, WHOLE_BOOK = 120.0, 15 * 60.0


def run(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    threads = os.environ.get("OMP_NUM_THREADS", f"{torch.get_num_threads()} (default)")
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads per kernel: "
        f"{threads}, device {device}, torch {torch.__version__}\n"
    )
    print("| notebook | seconds | within 120 s |")
    print("|---|---:|:---:|")
    total, ok = 0.0, True
    for path in paths:
        try:
            seconds = run(path)
        except Exception as exc:  # report every notebook, then fail
            print(f"| {path.name} | failed: {type(exc).__name__} | no |")
            ok = False
            continue
        total += seconds
        ok &= seconds <= PER_NOTEBOOK
        print(f"| {path.name} | {seconds:.1f} | {'yes' if seconds <= PER_NOTEBOOK else 'NO'} |", flush=True)
    ok &= total <= WHOLE_BOOK
    print(f"| **whole book** | **{total:.1f}** | {'yes' if total <= WHOLE_BOOK else 'NO'} (budget 900 s) |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
