"""The comparison's command line: ``python -m segbook.compare`` / ``segbook-compare`` (see :mod:`segbook.compare`)."""

from __future__ import annotations

import argparse
import sys
from typing import Dict, Optional, Sequence

from segbook.compare.architectures import ARCHITECTURES, resolve_names
from segbook.compare.results import COST_COLUMNS, plot_comparison
from segbook.compare.run import LOSSES, TARGETS, compare_architectures
from segbook.data import DATASET_NAMES, FOLDER_PREFIX, check_dataset_name, folder_pairs

__all__ = ["main"]

#: How many images the comparison trains and scores on when not told (a folder: all of each split).
DEFAULT_IMAGES = {"train": 256, "val": 64}


def _dataset_name(value: str) -> str:
    """``--dataset``'s type: a built-in name or ``folder:<path>``."""
    try:
        return check_dataset_name(value, "--dataset")
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"invalid choice: {error}") from None


def _image_counts(parser: argparse.ArgumentParser, dataset: str, requested: Dict[str, Optional[int]]) -> Dict[str, int]:
    """How many training and validation images to use; a folder's layout and size are checked here, before any
    training, so that a bad folder is a one-line error."""
    if not dataset.startswith(FOLDER_PREFIX):
        return {split: DEFAULT_IMAGES[split] if n is None else n for split, n in requested.items()}
    counts = {}
    for split, n in requested.items():
        try:
            available = len(folder_pairs(dataset[len(FOLDER_PREFIX) :], split))
        except (OSError, ValueError) as error:
            parser.error(f"--dataset {dataset}: {error}")
        if n is not None and n > available:
            parser.error(
                f"--{split}-images {n}, but the {split} split of {dataset} holds {available} "
                f"image{'' if available == 1 else 's'}: pass --{split}-images {available} or fewer "
                "(or leave it out to use them all)"
            )
        counts[split] = available if n is None else n
    return counts


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m segbook.compare`` / ``segbook-compare``: print the Markdown table; optionally save it and the
    figure."""
    parser = argparse.ArgumentParser(
        prog="segbook-compare",
        description=(
            "Train every architecture of the book on the same data with the same budget and print a table of "
            "parameters, FLOPs, CPU latency, mIoU and boundary F1."
        ),
    )
    parser.add_argument(
        "--names", nargs="+", metavar="NAME", help=f"architectures (default: all): {', '.join(ARCHITECTURES)}"
    )
    parser.add_argument(
        "--dataset",
        default="scenes",
        type=_dataset_name,
        metavar="NAME",
        help=f"{', '.join(DATASET_NAMES)}, or {FOLDER_PREFIX}PATH: a folder of your own images/ and masks/ "
        "(see segbook.data.folder)",
    )
    parser.add_argument(
        "--target",
        default="classes",
        choices=TARGETS,
        help="the data set's classes, or foreground (every class but 0) against background",
    )
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument(
        "--train-images", type=int, help=f"default {DEFAULT_IMAGES['train']}; a folder: all its training images"
    )
    parser.add_argument(
        "--val-images", type=int, help=f"default {DEFAULT_IMAGES['val']}; a folder: all its validation images"
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-2, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--loss", default="dice_ce", choices=list(LOSSES), help="the loss of every model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: the best available)")
    parser.add_argument("--out", metavar="TABLE.md", help="also write the table to this file")
    parser.add_argument("--figure", metavar="FIG.png", help="save the accuracy-against-cost figure")
    parser.add_argument("--x", default="flops", choices=COST_COLUMNS, help="cost axis of the figure")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    for option in ("size", "epochs", "train_images", "val_images", "batch_size"):
        if getattr(args, option) is not None and getattr(args, option) < (8 if option == "size" else 1):
            parser.error(
                f"--{option.replace('_', '-')} must be >= {8 if option == 'size' else 1}, got {getattr(args, option)}"
            )
    if not args.lr > 0:
        parser.error(f"--lr must be > 0, got {args.lr}")
    if args.names:
        try:
            resolve_names(args.names)
        except ValueError as error:
            parser.error(str(error))
    images = _image_counts(parser, args.dataset, {"train": args.train_images, "val": args.val_images})
    comparison = compare_architectures(
        args.names,
        dataset=args.dataset,
        target=args.target,
        size=args.size,
        epochs=args.epochs,
        train_images=images["train"],
        val_images=images["val"],
        batch_size=args.batch_size,
        lr=args.lr,
        loss=args.loss,
        seed=args.seed,
        device=args.device,
        progress=not args.quiet,
    )
    table = comparison.to_markdown()
    s = comparison.settings
    caption = (
        f"Data: {s['dataset']}, target {s['target']} ({s['num_classes']} classes; {s['train_images']} "
        f"training and {s['val_images']} validation images, {s['size']} px); {s['epochs']} epochs, "
        f"batch {s['batch_size']}, Adam one-cycle lr {s['lr']}, loss {s['loss']}, seed {s['seed']}; "
        f"latency on the CPU with {s['threads']} thread(s)."
    )
    print(table + "\n\n" + caption)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(table + "\n\n" + caption + "\n")
    if args.figure:
        import matplotlib.pyplot as plt

        fig = plot_comparison(comparison, x=args.x)
        fig.savefig(args.figure, dpi=120)
        plt.close(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
