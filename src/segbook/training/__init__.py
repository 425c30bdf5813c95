"""One small training loop that every chapter uses: :func:`fit`, :func:`evaluate`, :func:`predict`.

The package, in the order a chapter uses it: :mod:`~segbook.training.loop` (:func:`fit`),
:mod:`~segbook.training.schedules` (the named learning-rate schedules), :mod:`~segbook.training.history`
(:class:`History`, what ``fit`` returns) and :mod:`~segbook.training.evaluation` (:func:`evaluate`,
:func:`predict`). Notebooks write ``from segbook import training`` and ``training.fit(...)``.

The loop is the textbook one (forward, loss, backward, step), written out so that a student can
read all of it; what the chapters vary is the model and the loss. Data come as any re-iterable
collection of ``(images, masks)`` batches: a ``DataLoader``, or simply a list of pairs. A batch may
also be a triple ``(images, masks, pixel_weights)`` (the U-Net paper's weight map, chapter 8); the
loss is then ``loss_fn(output, masks, pixel_weights)``.
Shapes: images ``(N, C_in, H, W)`` float, masks ``(N, H, W)`` int64 with values in ``[0, C)`` or
the ignore index, pixel weights ``(N, H, W)`` float, model outputs (logits) ``(N, C, H, W)``. A model may also return a
deep-supervision list of logits (chapter 9), or a dict ``{"out": logits, "aux": aux_logits}`` as torchvision's
segmentation models do (the loss then adds ``aux_weight`` times the auxiliary head's); the private module
``_batches`` is the one place that knows these kinds of output, and :func:`batch_loss`, the loss of one batch
that ``fit`` and ``evaluate`` compute, is re-exported here (chapter 12 shows it).

Example:
    >>> import torch
    >>> from torch import nn
    >>> x = torch.rand(4, 1, 8, 8); y = (x[:, 0] > 0.5).long()          # threshold task
    >>> model = nn.Conv2d(1, 2, kernel_size=1)
    >>> history = fit(model, [(x, y)], num_classes=2, epochs=3, progress=False)
    >>> len(history), sorted(history.last())[:3]
    (3, ['epoch', 'lr', 'seconds'])
"""

from segbook.training._batches import AUX_WEIGHT, batch_loss
from segbook.training.evaluation import evaluate, predict
from segbook.training.history import History
from segbook.training.loop import fit
from segbook.training.schedules import SCHEDULES

__all__ = ["History", "fit", "evaluate", "predict", "SCHEDULES", "AUX_WEIGHT", "batch_loss"]
