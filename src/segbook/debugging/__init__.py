"""Checks for the five bugs that most often break a segmentation pipeline (appendix "Debugging").

Each check looks at one thing and returns a :class:`CheckReport` (``passed``, a one-line ``message`` that says
what to do, and the numbers behind it in ``details``); ``report.raise_if_failed()`` turns a failed check into a
``ValueError`` for scripts. Bad *arguments* (a mask that is not a tensor, a size that is not an int) raise
``TypeError``/``ValueError`` at once, as everywhere in ``segbook``.

- :func:`overfit_one_batch`: can the model + loss + optimizer drive the loss of ONE batch near zero? If not,
  nothing downstream matters (frozen or detached parameters, an optimizer over other parameters, a learning rate
  of zero or far too small).
- :func:`check_masks`: are the masks int64 class indices in ``[0, C)`` or the ignore index? Catches float masks,
  0/255 masks read from PNGs, RGB colour masks and stray values.
- :func:`check_collapse`: does the model predict (almost) one class everywhere? High pixel accuracy and a low
  mIoU on an imbalanced task is the signature.
- :func:`check_input_size` / :func:`probe_input_sizes`: which image sizes an encoder-decoder of depth ``d``
  accepts (H, W divisible by ``2**d``), and how much to pad or crop otherwise.
- :func:`check_ignore_index`: does a loss really ignore the pixels labelled 255 (no crash, no change when their
  logits change, no gradient)?

The checks live by topic: :mod:`~segbook.debugging.learning` (overfit one batch, collapse),
:mod:`~segbook.debugging.labels` (masks, ignore index), :mod:`~segbook.debugging.sizes` (input sizes) and
:mod:`~segbook.debugging.report` (:class:`CheckReport`); every name is importable from ``segbook.debugging``.

Example:
    >>> import torch
    >>> check_masks(torch.tensor([[0, 1], [255, 1]]), num_classes=2).passed
    True
    >>> check_input_size((100, 96), depth=3).details["pad_to"]
    (104, 96)
"""

from segbook.debugging.labels import check_ignore_index, check_masks
from segbook.debugging.learning import check_collapse, overfit_one_batch
from segbook.debugging.report import CheckReport
from segbook.debugging.sizes import check_input_size, probe_input_sizes

__all__ = [
    "CheckReport",
    "overfit_one_batch",
    "check_masks",
    "check_collapse",
    "check_input_size",
    "probe_input_sizes",
    "check_ignore_index",
]
