"""Segmentation losses from scratch: every loss on the slides "Hàm mục tiêu cho bài toán phân đoạn ảnh".

The slides (after the losses post they cite, lars76.github.io) group the losses in four families, and so does
this package, one module per family:

* **distribution-based** (*dựa trên phân phối*, chapter 5, :mod:`~segbook.losses.distribution`): cross
  entropy (:func:`binary_cross_entropy`, :func:`cross_entropy`), weighted cross entropy (the slide's β =
  ``pos_weight``; per-class ``weight``) and the focal loss (:func:`binary_focal_loss`, :func:`focal_loss`);
* **region-based** (*dựa trên vùng*, chapter 6, :mod:`~segbook.losses.region`): Dice coefficient and IoU from
  TP/FP/FN (:func:`dice_coefficient`, :func:`iou_score`), the soft Dice loss (:func:`soft_dice_loss`), the
  Tversky index and loss (:func:`tversky_index`, :func:`tversky_loss`);
* **combined** (*kết hợp*, :mod:`~segbook.losses.combined`): :func:`dice_ce_loss`, :func:`dice_focal_loss`;
* **boundary loss** (Kervadec et al., :mod:`~segbook.losses.boundary`): :func:`signed_distance_map`,
  :func:`boundary_loss`, :func:`dice_boundary_loss` and the paper's weight schedule :func:`rebalance_weight`.

**Multi-label** (:mod:`~segbook.losses.multilabel`, :mod:`~segbook.losses.multilabel_modules`): a pixel in
several classes or none, one sigmoid per class (:func:`multilabel_dice_loss`, :func:`multilabel_tversky_loss`,
:func:`multilabel_focal_loss`), with MONAI's ``smooth_nr``/``smooth_dr`` and ``activation`` options.

Beside them: the U-Net paper's border weight map (chapter 8, :mod:`~segbook.losses.weight_map`), deep
supervision (chapters 9-10, :mod:`~segbook.losses.deep_supervision`) and every loss as an ``nn.Module``
(:mod:`~segbook.losses.modules`).

**Conventions, the same for every loss here.**

* Inputs are **logits** (raw network outputs, before softmax/sigmoid): ``(N, C, H, W)`` with ``C >= 2`` for
  multi-class losses (softmax over ``C``), ``(N, 1, H, W)`` or ``(N, H, W)`` for binary ones (sigmoid).
  Working on logits lets every loss use log-sum-exp / log-sigmoid forms that stay finite for logits of ±1e4.
  Passing softmax outputs where logits are expected is caught when it is detectable (every pixel's ``C``
  values in [0, 1] summing to 1).
* Targets are integer class maps ``(N, H, W)`` (values in ``[0, C)``), or ``{0, 1}`` maps for binary losses
  (``(N, H, W)`` or ``(N, 1, H, W)``). Floating-point targets are refused: soft labels are not supported.
* Pixels whose target is ``ignore_index`` (default 255, PASCAL VOC's border) count nowhere: not in the loss,
  not in its normaliser, not in a Dice sum (the *prediction* is masked there too). ``None`` disables it.
* ``reduction="mean"`` averages over the counted pixels (pixel losses) or over the (image, class) pairs
  (region losses); ``"sum"`` adds up; ``"none"`` returns the per-pixel map ``(N, H, W)`` (0 at ignored pixels)
  or the per-(image, class) values ``(N, K)``. A batch with no counted pixel gives a loss of 0, not NaN.
* Every loss checks its inputs once, with :func:`segbook.conventions.check_segmentation_inputs`, then calls a
  kernel that does not check again. Shape and dtype checks are free and always on; the checks that read
  values (class range, 0/1 binary targets, softmax outputs passed as logits) follow ``validate``: ``None``
  (the default) runs them on CPU tensors only, so a training step on a GPU never waits for the host;
  ``True`` always, ``False`` never.

Example:
    >>> import torch
    >>> logits = torch.tensor([[[[2.0, -1.0]], [[0.0, 3.0]]]])    # (N=1, C=2, H=1, W=2)
    >>> target = torch.tensor([[[0, 1]]])
    >>> round(float(cross_entropy(logits, target)), 4)
    0.0725
    >>> round(float(soft_dice_loss(logits, target)), 4)
    0.0458
"""

from __future__ import annotations

from segbook.losses.boundary import *  # noqa: F401,F403
from segbook.losses.boundary import __all__ as _boundary
from segbook.losses.class_weights import *  # noqa: F401,F403
from segbook.losses.class_weights import __all__ as _class_weights
from segbook.losses.combined import *  # noqa: F401,F403
from segbook.losses.combined import __all__ as _combined
from segbook.losses.deep_supervision import *  # noqa: F401,F403
from segbook.losses.deep_supervision import __all__ as _deep_supervision
from segbook.losses.distribution import *  # noqa: F401,F403
from segbook.losses.distribution import __all__ as _distribution
from segbook.losses.modules import *  # noqa: F401,F403
from segbook.losses.modules import __all__ as _modules
from segbook.losses.multilabel import *  # noqa: F401,F403
from segbook.losses.multilabel import __all__ as _multilabel
from segbook.losses.multilabel_modules import *  # noqa: F401,F403
from segbook.losses.multilabel_modules import __all__ as _multilabel_modules
from segbook.losses.region import *  # noqa: F401,F403
from segbook.losses.region import __all__ as _region
from segbook.losses.weight_map import *  # noqa: F401,F403
from segbook.losses.weight_map import __all__ as _weight_map

__all__ = [
    *_distribution,
    *_class_weights,
    *_region,
    *_combined,
    *_boundary,
    *_deep_supervision,
    *_modules,
    *_weight_map,
    *_multilabel,
    *_multilabel_modules,
]
