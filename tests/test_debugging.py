"""Tests of segbook.debugging: each check passes the healthy case and fails the broken one with the right hint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from segbook.data import one_hot
from segbook.debugging import (
    CheckReport,
    check_collapse,
    check_ignore_index,
    check_input_size,
    check_masks,
    overfit_one_batch,
    probe_input_sizes,
)
from segbook.models import EncoderDecoder


def _batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 1, 8, 8, generator=gen)
    return x, (x[:, 0] > 0.5).long()


# ------------------------------------------------------------------------------------------- overfit one batch


def test_overfit_one_batch_passes_a_healthy_model() -> None:
    x, y = _batch()
    torch.manual_seed(0)
    report = overfit_one_batch(nn.Conv2d(1, 2, 1), x, y, num_classes=2, steps=100, lr=0.5)
    assert report.passed, report.message
    assert report.details["final_loss"] < 0.1 < report.details["initial_loss"]
    assert len(report.details["losses"]) == 100


def test_overfit_one_batch_reports_a_frozen_model() -> None:
    x, y = _batch()
    model = nn.Conv2d(1, 2, 1).requires_grad_(False)
    report = overfit_one_batch(model, x, y, num_classes=2, steps=5)
    assert not report.passed and report.details["trainable"] == 0
    assert "requires_grad" in report.message


def test_overfit_one_batch_reports_a_learning_rate_of_zero() -> None:
    x, y = _batch()
    report = overfit_one_batch(nn.Conv2d(1, 2, 1), x, y, num_classes=2, steps=5, lr=0.0)
    assert not report.passed and report.details["changed"] == 0
    assert "optimizer" in report.message


def test_overfit_one_batch_reports_an_optimizer_over_other_parameters() -> None:
    x, y = _batch()
    model, other = nn.Conv2d(1, 2, 1), nn.Conv2d(1, 2, 1)
    report = overfit_one_batch(
        model, x, y, num_classes=2, steps=5, optimizer=torch.optim.Adam(other.parameters(), lr=0.1)
    )
    assert not report.passed and report.details["changed"] == 0


def test_overfit_one_batch_reports_a_detached_branch() -> None:
    class Detached(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features, self.head = nn.Conv2d(1, 4, 1), nn.Conv2d(4, 2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(torch.relu(self.features(x)).detach())

    x, y = _batch()
    report = overfit_one_batch(Detached(), x, y, num_classes=2, steps=5, threshold=1e-4)
    assert not report.passed
    assert report.details["changed"] == 2 < report.details["trainable"] == 4
    assert "detach" in report.message


def test_overfit_one_batch_rejects_float_masks() -> None:
    x, y = _batch()
    with pytest.raises(TypeError, match="masks must be an int"):
        overfit_one_batch(nn.Conv2d(1, 2, 1), x, y.float(), num_classes=2)


# ---------------------------------------------------------------------------------------------------- masks


def test_check_masks_accepts_class_indices_and_the_ignore_index() -> None:
    report = check_masks(torch.tensor([[[0, 4], [255, 2]]]), num_classes=5)
    assert report.passed and report.details["values"] == [0, 2, 4, 255]


@pytest.mark.parametrize(
    "masks, hint",
    [
        (torch.tensor([[0.0, 1.0], [1.0, 0.0]]), "masks.long()"),
        (torch.tensor([[0.0, 0.5], [1.0, 0.25]]), "nearest-neighbour"),
        (torch.tensor([[0, 255], [255, 0]], dtype=torch.uint8), "0/255"),
        (torch.zeros(4, 4, 3, dtype=torch.uint8), "RGB"),
        (torch.zeros(2, 3, 4, 4, dtype=torch.long), "RGB"),
        (torch.tensor([[0, 7], [1, 255]]), "values [7] are >= num_classes=5"),
        (torch.tensor([[0, -1], [1, 2]]), "negative"),
        (torch.tensor([[True, False]]), "bool"),
    ],
)
def test_check_masks_names_the_mistake(masks: torch.Tensor, hint: str) -> None:
    report = check_masks(masks, num_classes=5 if "num_classes=5" in hint else 2)
    assert not report.passed
    assert hint in report.message


def test_check_masks_reads_numpy_arrays_like_a_png() -> None:
    png = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    assert "0/255" in check_masks(png, num_classes=2).message
    assert check_masks((png > 127).astype(np.int64), num_classes=2).passed


def test_raise_if_failed_raises_with_the_message() -> None:
    with pytest.raises(ValueError, match="masks failed: .*masks.long"):
        check_masks(torch.zeros(2, 2), num_classes=2).raise_if_failed()
    ok = check_masks(torch.zeros(2, 2, dtype=torch.long), num_classes=2)
    assert ok.raise_if_failed() is ok and str(ok).startswith("[PASS]")


# ------------------------------------------------------------------------------------------------- collapse


def test_check_collapse_detects_one_class_everywhere() -> None:
    target = torch.zeros(1, 10, 10, dtype=torch.long)
    target[0, :3, :3] = 1
    report = check_collapse(torch.zeros_like(target), target, 2)
    assert not report.passed and report.details["dominant"] == 0
    assert report.details["pixel_accuracy"] == pytest.approx(0.91)
    assert "collapsed" in report.message


def test_check_collapse_passes_a_good_prediction_and_takes_logits() -> None:
    target = torch.zeros(1, 10, 10, dtype=torch.long)
    target[0, :3, :3] = 1
    logits = one_hot(target, 2) * 5
    report = check_collapse(logits, target, 2)
    assert report.passed and report.details["miou"] == pytest.approx(1.0)


def test_check_collapse_accepts_a_target_that_is_itself_one_class() -> None:
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    assert check_collapse(torch.zeros_like(target), target, 2).passed


def test_check_collapse_leaves_out_ignored_pixels() -> None:
    target = torch.full((1, 10, 10), 255, dtype=torch.long)
    target[0, 0, :5], target[0, 0, 5:] = 0, 1
    pred = torch.zeros_like(target)
    pred[0, 0, 5:] = 1
    report = check_collapse(pred, target, 2)
    assert report.passed and report.details["pred_share"] == [0.5, 0.5]


# ---------------------------------------------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    "size, depth, ok, pad_to, crop_to",
    [
        ((64, 48), 4, True, (64, 48), (64, 48)),
        ((100, 96), 3, False, (104, 96), (96, 96)),
        ((33, 31), 1, False, (34, 32), (32, 30)),
    ],
)
def test_check_input_size_gives_the_sizes_to_pad_or_crop_to(size, depth, ok, pad_to, crop_to) -> None:
    report = check_input_size(size, depth)
    assert report.passed is ok
    assert report.details["pad_to"] == pad_to and report.details["crop_to"] == crop_to


def test_check_input_size_agrees_with_encoder_decoder() -> None:
    model = EncoderDecoder(2, in_channels=1, width=4, depth=2)
    sizes = [(16, 16), (20, 12), (18, 16), (17, 17)]
    probed = probe_input_sizes(model, sizes, in_channels=1)
    for size in sizes:
        assert (probed[size] == "ok") == check_input_size(size, 2).passed, (size, probed[size])
    assert "divisible by 4" in probed[(18, 16)]


def test_check_input_size_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="pair"):
        check_input_size(64, 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="depth must be >= 0"):
        check_input_size((64, 64), -1)


# ---------------------------------------------------------------------------------------------- ignore index


def test_check_ignore_index_passes_cross_entropy_with_ignore_index() -> None:
    report = check_ignore_index(lambda z, t: F.cross_entropy(z, t, ignore_index=255), 3)
    assert report.passed and report.details["max_ignored_grad"] == 0.0


def test_check_ignore_index_reports_the_default_ignore_index_crash() -> None:
    report = check_ignore_index(lambda z, t: F.cross_entropy(z, t), 3)  # ignore_index=-100, masks use 255
    assert not report.passed and report.details["error"] is not None
    assert "ignore_index=255" in report.message


def test_check_ignore_index_reports_one_hot_of_255() -> None:
    def dice(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        target = F.one_hot(t, z.shape[1]).movedim(-1, 1).float()
        p = z.softmax(1)
        return 1 - 2 * (p * target).sum() / (p.sum() + target.sum())

    report = check_ignore_index(dice, 3)
    assert not report.passed and "crashed" in report.message


def test_check_ignore_index_reports_255_mapped_to_background() -> None:
    def border_as_background(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(z, torch.where(t == 255, torch.zeros_like(t), t))

    report = check_ignore_index(border_as_background, 3)
    assert not report.passed and report.details["max_ignored_grad"] > 0
    assert "treats 255 as a class" in report.message


def test_check_ignore_index_rejects_an_ignore_index_that_is_a_class() -> None:
    with pytest.raises(ValueError, match="is a class index"):
        check_ignore_index(F.cross_entropy, 3, ignore_index=1)


def test_report_is_a_dataclass_with_readable_str() -> None:
    report = CheckReport("x", False, "do y")
    assert str(report) == "[FAIL] x: do y"
    long = CheckReport("overfit one batch", False, "the model has no trainable parameter " * 5)
    assert max(len(line) for line in str(long).splitlines()) <= 88  # fits the book's code column
    assert " ".join(str(long).split()) == " ".join(f"[FAIL] overfit one batch: {long.message}".split())
