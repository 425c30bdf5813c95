"""Tests of segbook.training.fit on tiny synthetic tasks (CPU, seconds): learning, determinism, stopping, modes,
argument errors and per-pixel weights. Evaluation, History and schedules have their own test files."""

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from training_helpers import NUM_CLASSES, ModeSpy, banded_task, batches, tiny_net

from segbook.metrics import SegmentationMetrics
from segbook.training import evaluate, fit, predict


# ---------------------------------------------------------------- learning
def test_fit_learns_a_separable_task():
    train, val = batches(*banded_task(32, seed=0), 8), batches(*banded_task(8, seed=1), 8)
    model = tiny_net()
    history = fit(
        model,
        train,
        num_classes=NUM_CLASSES,
        epochs=40,
        val_data=val,
        progress=False,
        optimizer=torch.optim.Adam(model.parameters(), lr=0.05),
    )
    losses = [r["train_loss"] for r in history.records]
    assert losses[-1] < 0.5 * losses[0]
    assert history.last()["val_miou"] > 0.85
    assert history.best("val_miou")["val_miou"] >= history.last()["val_miou"]


def test_fit_records_one_complete_row_per_epoch():
    train = batches(*banded_task(8, seed=0), 4)
    history = fit(tiny_net(), train, num_classes=NUM_CLASSES, epochs=2, val_data=train, progress=False)
    assert [r["epoch"] for r in history.records] == [1, 2]
    assert set(history.records[0]) == {
        "epoch",
        "train_loss",
        "train_miou",
        "val_loss",
        "val_miou",
        "val_pixel_accuracy",
        "seconds",
        "lr",
    }
    assert all(r["seconds"] > 0 and r["lr"] == 1e-3 for r in history.records)
    assert history.stop_reason == "epochs"


def test_fit_without_val_data_records_nan_validation():
    history = fit(tiny_net(), batches(*banded_task(4, seed=0), 4), num_classes=NUM_CLASSES, epochs=1, progress=False)
    assert math.isnan(history.last()["val_miou"]) and math.isnan(history.last()["val_loss"])


def test_train_loss_is_the_batch_size_weighted_mean_of_batch_losses():
    images, masks = banded_task(5, seed=0)
    model = tiny_net()
    reference = tiny_net()  # same initial weights: replay the same steps by hand
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    expected = 0.0
    for x, y in batches(images, masks, 2):  # batch sizes 2, 2, 1
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(reference(x), y, ignore_index=255)
        loss.backward()
        optimizer.step()
        expected += loss.item() * len(x)
    history = fit(
        model,
        batches(images, masks, 2),
        num_classes=NUM_CLASSES,
        epochs=1,
        progress=False,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
    )
    assert history.last()["train_loss"] == pytest.approx(expected / 5)


# ---------------------------------------------------------------- determinism
def fit_shuffled(seed):
    images, masks = banded_task(16, seed=0)
    loader = DataLoader(TensorDataset(images, masks), batch_size=4, shuffle=True)
    model = nn.Sequential(tiny_net(), nn.Dropout2d(0.2), nn.Conv2d(NUM_CLASSES, NUM_CLASSES, 1))
    return fit(model, loader, num_classes=NUM_CLASSES, epochs=2, val_data=loader, seed=seed, progress=False)


def test_same_seed_gives_identical_history():
    first, second = fit_shuffled(seed=3), fit_shuffled(seed=3)
    keys = ("train_loss", "train_miou", "val_loss", "val_miou")
    assert [[r[k] for k in keys] for r in first.records] == [[r[k] for k in keys] for r in second.records]


def test_different_seed_gives_a_different_history():
    assert fit_shuffled(seed=3).as_dict()["train_loss"] != fit_shuffled(seed=4).as_dict()["train_loss"]


# ---------------------------------------------------------------- stopping
def test_time_budget_stops_after_the_epoch_in_which_it_runs_out():
    model = ModeSpy(sleep=0.05)  # one batch per epoch: >= 50 ms per epoch
    budget = 0.12
    history = fit(
        model, batches(*banded_task(2, seed=0), 2), num_classes=NUM_CLASSES, time_budget=budget, progress=False
    )
    seconds = history.as_dict()["seconds"]
    assert history.stop_reason == "time_budget"
    assert sum(seconds[:-1]) < budget <= sum(seconds) + 0.01
    assert 2 <= len(history) <= 3


def test_epochs_stop_first_when_they_come_before_the_time_budget():
    history = fit(
        tiny_net(),
        batches(*banded_task(2, seed=0), 2),
        num_classes=NUM_CLASSES,
        epochs=2,
        time_budget=3600,
        progress=False,
    )
    assert len(history) == 2 and history.stop_reason == "epochs"


def test_tiny_time_budget_still_runs_one_epoch():
    history = fit(
        tiny_net(), batches(*banded_task(2, seed=0), 2), num_classes=NUM_CLASSES, time_budget=1e-9, progress=False
    )
    assert len(history) == 1 and history.stop_reason == "time_budget"


# ---------------------------------------------------------------- modes, schedulers, outputs
def test_fit_trains_in_train_mode_validates_in_eval_mode_and_ends_in_eval_mode():
    model = ModeSpy().eval()  # fit must switch it to train mode itself
    data = batches(*banded_task(4, seed=0), 2)  # 2 batches
    fit(model, data, num_classes=NUM_CLASSES, epochs=2, val_data=data[:1], progress=False)
    assert model.modes == [True, True, False] * 2
    assert not model.training


def test_scheduler_is_stepped_once_per_epoch_and_lr_recorded():
    model = tiny_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    history = fit(
        model,
        batches(*banded_task(4, seed=0), 2),
        num_classes=NUM_CLASSES,
        epochs=3,
        optimizer=optimizer,
        scheduler=scheduler,
        progress=False,
    )
    assert history.as_dict()["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_reduce_on_plateau_gets_the_validation_loss():
    model = tiny_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # no progress at all: the loss plateaus
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    train, val = batches(*banded_task(4, seed=0), 4), batches(*banded_task(4, seed=1), 4)
    history = fit(
        model,
        train,
        num_classes=NUM_CLASSES,
        epochs=3,
        val_data=val,
        optimizer=optimizer,
        scheduler=scheduler,
        progress=False,
    )
    assert history.last()["train_loss"] != pytest.approx(history.last()["val_loss"])
    assert scheduler.best == pytest.approx(history.last()["val_loss"])


def test_deep_supervision_list_is_scored_on_its_last_output():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(1, NUM_CLASSES, 1), nn.Conv2d(1, NUM_CLASSES, 1)

        def forward(self, x):
            return [self.a(x), self.b(x)]

    model = TwoHeads()
    data = batches(*banded_task(4, seed=0), 4)
    mean_ce = lambda outputs, y: sum(nn.functional.cross_entropy(o, y) for o in outputs) / len(outputs)  # noqa: E731
    fit(model, data, num_classes=NUM_CLASSES, epochs=1, loss_fn=mean_ce, progress=False)
    images, masks = data[0]
    expected = SegmentationMetrics(NUM_CLASSES)
    expected.update(model.b(images), masks)
    assert evaluate(model, data, num_classes=NUM_CLASSES, loss_fn=mean_ce)["miou"] == expected.compute()["miou"]
    assert torch.equal(predict(model, images), model.b(images).argmax(1))


def test_dataloader_and_list_of_batches_give_the_same_history():
    images, masks = banded_task(8, seed=0)
    as_list = fit(tiny_net(), batches(images, masks, 4), num_classes=NUM_CLASSES, epochs=2, progress=False)
    loader = DataLoader(TensorDataset(images, masks), batch_size=4)
    as_loader = fit(tiny_net(), loader, num_classes=NUM_CLASSES, epochs=2, progress=False)
    assert as_list.as_dict()["train_loss"] == as_loader.as_dict()["train_loss"]


# ---------------------------------------------------------------- argument errors
GOOD = batches(*banded_task(2, seed=0), 2)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(), ValueError, "give epochs"),
        (dict(epochs=0), ValueError, "epochs must be >= 1"),
        (dict(epochs=1.5), TypeError, "epochs must be an int"),
        (dict(time_budget=0), ValueError, "time_budget must be > 0"),
        (dict(time_budget="10"), TypeError, "time_budget must be a number"),
        (dict(epochs=1, num_classes=0), ValueError, "num_classes must be >= 1"),
        (dict(epochs=1, device="tpu"), ValueError, "prefer must name a device"),
        (dict(epochs=1, seed=-1), ValueError, "seed must be >= 0"),
        (dict(epochs=1, val_data=iter(GOOD)), TypeError, "val_data is an iterator"),
        (dict(epochs=1, loss_fn="ce"), TypeError, "loss_fn must be a function loss_fn.output, masks."),
        (dict(epochs=1, optimizer="adam"), TypeError, "optimizer must be a torch.optim.Optimizer .* got str 'adam'"),
        (dict(epochs=1, scheduler="cosine"), TypeError, "scheduler must be .* .step.. .* pass schedule='cosine'"),
        (dict(epochs=1, scheduler=object()), TypeError, r"scheduler must be .* with a .step\(\) method"),
    ],
)
def test_fit_argument_errors_name_the_argument(kwargs, error, message):
    kwargs = {"num_classes": NUM_CLASSES, "progress": False, **kwargs}
    with pytest.raises(error, match=message):
        fit(tiny_net(), GOOD, **kwargs)


@pytest.mark.parametrize("value", ["False", 0, None])
def test_fit_progress_must_be_bool(value):
    # the string "False" is truthy: taken as a flag it would draw the progress bar it asks to hide
    with pytest.raises(TypeError, match="progress must be True or False"):
        fit(tiny_net(), GOOD, num_classes=NUM_CLASSES, epochs=1, progress=value)


images_ok, masks_ok = GOOD[0]


@pytest.mark.parametrize(
    "data, error, message",
    [
        ((b for b in GOOD), TypeError, "train_data is an iterator, which is used up after one pass"),
        (images_ok, TypeError, "train_data must be a DataLoader or a list"),
        ([], ValueError, "train_data yielded no batches"),
        ([(images_ok,)], TypeError, r"must be a pair \(images, masks\) or a triple .*got tuple of length 1"),
        ([(images_ok, masks_ok.float())], TypeError, "masks in train_data must be an? integer"),
        ([(images_ok[0], masks_ok)], ValueError, "images in train_data must be 4-D"),
        ([(images_ok, masks_ok + 5)], ValueError, "target has class 7 and is not the ignore index 255"),
        ([(images_ok[:, :, :4], masks_ok)], ValueError, r"output has shape \(2, 3, 4, 8\) but masks have shape"),
    ],
)
def test_fit_batch_errors_say_what_is_wrong(data, error, message):
    with pytest.raises(error, match=message):
        fit(tiny_net(), data, num_classes=NUM_CLASSES, epochs=1, progress=False)


def test_fit_refuses_a_model_that_is_not_a_module():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        fit(lambda x: x, GOOD, num_classes=NUM_CLASSES, epochs=1)


def test_wrong_number_of_output_channels_is_explained():
    with pytest.raises(ValueError, match=r"expected logits \(2, 5, 8, 8\)"):
        fit(tiny_net(), GOOD, num_classes=5, epochs=1, progress=False)


def test_list_output_with_the_default_loss_asks_for_a_loss_fn():
    class Listy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, NUM_CLASSES, 1)

        def forward(self, x):
            return [self.conv(x), self.conv(x)]

    with pytest.raises(TypeError, match="returned a list of 2 outputs .deep supervision.; pass a loss_fn"):
        fit(Listy(), GOOD, num_classes=NUM_CLASSES, epochs=1, progress=False)


def test_nan_loss_stops_training_with_advice():
    with pytest.raises(FloatingPointError, match="loss became nan at epoch 1, batch 1; lower the learning rate"):
        fit(
            tiny_net(),
            GOOD,
            num_classes=NUM_CLASSES,
            epochs=1,
            progress=False,
            loss_fn=lambda out, y: out.sum() * float("nan"),
        )


def test_a_model_whose_output_turns_nan_stops_with_the_loss_advice():
    # the metrics refuse NaN logits; fit checks the output first, so the message is about training
    class Diverged(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, NUM_CLASSES, 1)

        def forward(self, x):
            return self.conv(x) * float("nan")

    with pytest.raises(FloatingPointError, match="output became NaN or infinite at epoch 1, batch 1; lower the learn"):
        fit(Diverged(), GOOD, num_classes=NUM_CLASSES, epochs=1, progress=False)


def test_a_non_finite_gradient_stops_training_before_the_weights_are_touched():
    # sqrt at 0 has an infinite derivative: the loss is finite but the gradient is not
    model = tiny_net()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(FloatingPointError, match=r"gradient of \S+ became NaN or infinite at epoch 1, batch 1.*finite"):
        fit(
            model,
            GOOD,
            num_classes=NUM_CLASSES,
            epochs=1,
            progress=False,
            loss_fn=lambda out, y: (out * 0).sqrt().sum(),
        )
    assert all(torch.equal(b, p) for b, p in zip(before, model.parameters()))


def test_a_batch_with_no_counted_pixel_is_named_as_the_reason_for_a_nan_loss():
    # the default cross entropy of an all-ignored batch is 0/0: the advice is about the masks, not the learning rate
    images, masks = GOOD[0]
    with pytest.raises(FloatingPointError, match="batch 1: the batch has no counted pixel .every mask value is the"):
        fit(tiny_net(), [(images, torch.full_like(masks, 255))], num_classes=NUM_CLASSES, epochs=1, progress=False)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: evaluate(tiny_net(), [], num_classes=NUM_CLASSES), ValueError, "data yielded no batches"),
        (lambda: evaluate("model", GOOD, num_classes=NUM_CLASSES), TypeError, "model must be a torch.nn.Module"),
        (lambda: predict(tiny_net(), images_ok[0, 0]), ValueError, r"images must be 3-D or 4-D \(N, C_in, H, W\)"),
        (lambda: predict(tiny_net(), masks_ok), TypeError, "images must be a floating-point tensor"),
        (lambda: predict(tiny_net(), images_ok, batch_size=0), ValueError, "batch_size must be >= 1"),
    ],
)
def test_evaluate_and_predict_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------- per-pixel weights (chapter 8)
def test_triple_batches_pass_the_pixel_weights_to_the_loss():
    images, masks = banded_task(4, seed=0)
    weights = torch.rand(4, 8, 8, generator=torch.Generator().manual_seed(1))
    seen = []

    def weighted_ce(out, y, w):
        seen.append(w)
        return (nn.functional.cross_entropy(out, y, reduction="none") * w).mean()

    fit(tiny_net(), [(images, masks, weights)], num_classes=NUM_CLASSES, epochs=2, loss_fn=weighted_ce, progress=False)
    assert len(seen) == 2 and all(torch.equal(w, weights) for w in seen)


def test_unit_pixel_weights_give_the_unweighted_history():
    images, masks = banded_task(8, seed=0)

    def weighted_ce(out, y, w=None):
        per_pixel = nn.functional.cross_entropy(out, y, reduction="none")
        return per_pixel.mean() if w is None else (per_pixel * w).mean()

    plain = fit(
        tiny_net(),
        batches(images, masks, 4),
        num_classes=NUM_CLASSES,
        epochs=3,
        loss_fn=weighted_ce,
        val_data=batches(images, masks, 4),
        progress=False,
    )
    ones = [(x, y, torch.ones(y.shape)) for x, y in batches(images, masks, 4)]
    weighted = fit(
        tiny_net(), ones, num_classes=NUM_CLASSES, epochs=3, loss_fn=weighted_ce, val_data=ones, progress=False
    )
    for a, b in zip(plain.records, weighted.records):
        assert a["train_loss"] == pytest.approx(b["train_loss"]) and a["val_miou"] == pytest.approx(b["val_miou"])
    doubled = [(x, y, 2 * w) for x, y, w in ones]
    assert evaluate(tiny_net(), doubled, num_classes=NUM_CLASSES, loss_fn=weighted_ce)["loss"] == pytest.approx(
        2 * evaluate(tiny_net(), ones, num_classes=NUM_CLASSES, loss_fn=weighted_ce)["loss"]
    )


@pytest.mark.parametrize(
    "weights, loss_fn, error, message",
    [
        (torch.ones(2, 8, 8), None, TypeError, r"carry pixel weights .*pass a loss_fn\(output, masks, pixel_weights\)"),
        (
            torch.ones(2, 8, 7),
            lambda o, y, w: o.sum(),
            ValueError,
            "pixel_weights in train_data and masks must have the same shape",
        ),
        (
            torch.ones(2, 8, 8, dtype=torch.long),
            lambda o, y, w: o.sum(),
            TypeError,
            "pixel_weights in train_data must be a floating-point tensor",
        ),
    ],
)
def test_pixel_weight_errors_say_what_is_wrong(weights, loss_fn, error, message):
    with pytest.raises(error, match=message):
        fit(
            tiny_net(),
            [(images_ok, masks_ok, weights)],
            num_classes=NUM_CLASSES,
            epochs=1,
            loss_fn=loss_fn,
            progress=False,
        )


def test_a_batch_of_four_tensors_is_refused():
    with pytest.raises(TypeError, match=r"pair \(images, masks\) or a triple .* got tuple of length 4"):
        fit(tiny_net(), [(images_ok, masks_ok, masks_ok, masks_ok)], num_classes=NUM_CLASSES, epochs=1, progress=False)
