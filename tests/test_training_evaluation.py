"""Tests of segbook.training.evaluate, predict and History (CPU, seconds)."""

import math

import pytest
import torch
from torch import nn
from training_helpers import NUM_CLASSES, ModeSpy, banded_task, batches, tiny_net

from segbook.metrics import SegmentationMetrics
from segbook.training import History, evaluate, predict


# ---------------------------------------------------------------- evaluate and predict
@pytest.mark.parametrize("batch_size", [1, 3])
def test_evaluate_matches_segmentation_metrics_computed_by_hand(batch_size):
    images, masks = banded_task(5, seed=2)
    masks[:, 0, :] = 255  # an unlabelled row in every image
    model = tiny_net(seed=1)
    data = batches(images, masks, batch_size)
    result = evaluate(model, data, num_classes=NUM_CLASSES)
    expected = SegmentationMetrics(NUM_CLASSES)
    loss = 0.0
    with torch.no_grad():
        for x, y in data:
            expected.update(model(x), y)
            loss += nn.functional.cross_entropy(model(x), y, ignore_index=255).item() * len(x)
    expected = expected.compute()
    assert torch.equal(result["confusion_matrix"], expected["confusion_matrix"])
    assert result["miou"] == expected["miou"] and result["pixel_accuracy"] == expected["pixel_accuracy"]
    assert result["loss"] == pytest.approx(loss / 5)


@pytest.mark.parametrize("training", [True, False])
def test_evaluate_runs_in_eval_mode_and_restores_the_mode(training):
    model = ModeSpy()
    model.train(training)
    evaluate(model, batches(*banded_task(2, seed=0), 2), num_classes=NUM_CLASSES)
    assert model.modes == [False]
    assert model.training is training


def test_evaluate_on_a_named_device_moves_the_model_there():
    model = tiny_net()
    result = evaluate(model, batches(*banded_task(2, seed=0), 2), num_classes=NUM_CLASSES, device="cpu")
    assert 0.0 <= result["miou"] <= 1.0 and next(model.parameters()).device == torch.device("cpu")


def test_evaluate_uses_the_given_loss_fn():
    data = batches(*banded_task(2, seed=0), 2)
    result = evaluate(tiny_net(), data, num_classes=NUM_CLASSES, loss_fn=lambda out, y: torch.tensor(7.0))
    assert result["loss"] == 7.0


@pytest.mark.parametrize("batch_size", [1, 2, 16])
def test_predict_returns_the_argmax_label_maps(batch_size):
    model = tiny_net()
    images, _ = banded_task(5, seed=0)
    labels = predict(model, images, batch_size=batch_size)
    with torch.no_grad():
        expected = model(images).argmax(dim=1)
    assert labels.dtype == torch.int64 and torch.equal(labels, expected)


def test_predict_on_one_image_returns_one_label_map():
    images, _ = banded_task(2, seed=0)
    model = tiny_net()
    assert torch.equal(predict(model, images[0]), predict(model, images)[0])
    assert predict(model, images[0]).shape == (8, 8)


@pytest.mark.parametrize("training", [True, False])
def test_predict_runs_in_eval_mode_and_restores_the_mode(training):
    model = ModeSpy()
    model.train(training)
    predict(model, banded_task(3, seed=0)[0], batch_size=2)
    assert model.modes == [False, False] and model.training is training


# ---------------------------------------------------------------- History
def test_history_views_and_best_epoch():
    h = History(
        [
            {"epoch": 1, "train_loss": 0.9, "val_miou": 0.4},
            {"epoch": 2, "train_loss": 0.5, "val_miou": 0.6},
            {"epoch": 3, "train_loss": 0.4, "val_miou": 0.5},
        ],
        stop_reason="epochs",
    )
    assert h.as_dict() == {"epoch": [1, 2, 3], "train_loss": [0.9, 0.5, 0.4], "val_miou": [0.4, 0.6, 0.5]}
    assert h.to_rows() == h.records and h.to_rows()[0] is not h.records[0]
    assert h.last()["epoch"] == 3
    assert h.best("val_miou")["epoch"] == 2  # higher is better for mIoU
    assert h.best("train_loss")["epoch"] == 3  # lower is better for a loss
    assert h.best("val_miou", mode="min")["epoch"] == 1
    assert repr(h).startswith("History(3 epochs, stopped by epochs; last: train_loss=0.4")


def test_history_best_skips_nan_and_explains_missing_values():
    h = History([{"epoch": 1, "val_miou": math.nan}, {"epoch": 2, "val_miou": 0.3}])
    assert h.best()["epoch"] == 2
    with pytest.raises(ValueError, match="metric must be one of epoch, val_miou; got 'miou'"):
        h.best("miou")
    with pytest.raises(ValueError, match="no epoch has a value for 'val_miou' .was val_data given"):
        History([{"epoch": 1, "val_miou": math.nan}]).best()
    with pytest.raises(ValueError, match="mode must be 'max' or 'min'"):
        h.best("val_miou", mode="up")


def test_empty_history_says_so():
    with pytest.raises(ValueError, match="History is empty"):
        History().last()
    assert repr(History()) == "History(0 epochs)"
