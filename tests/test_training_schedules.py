"""Tests of fit's learning-rate schedules (named and your own, per epoch or per batch), lr and callbacks."""

import math

import pytest
import torch
from torch import nn
from training_helpers import NUM_CLASSES, banded_task, batches, tiny_net

from segbook.training import fit


def test_scheduler_step_batch_steps_once_per_batch():
    x, y = banded_task(8, seed=0)
    batches = [(x[:4], y[:4]), (x[4:], y[4:])]
    model = torch.nn.Conv2d(1, NUM_CLASSES, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=3 * len(batches))
    history = fit(
        model,
        batches,
        num_classes=NUM_CLASSES,
        optimizer=optimizer,
        scheduler=scheduler,
        scheduler_step="batch",
        epochs=3,
        progress=False,
    )
    assert scheduler.last_epoch == 3 * len(batches)  # one step per batch
    assert len({r["lr"] for r in history.records}) == 3  # the learning rate changed between epochs


def test_scheduler_step_must_be_epoch_or_batch():
    x, y = banded_task(4, seed=0)
    with pytest.raises(ValueError, match="scheduler_step must be one of 'epoch', 'batch'"):
        fit(
            torch.nn.Conv2d(1, NUM_CLASSES, 1),
            [(x, y)],
            num_classes=NUM_CLASSES,
            epochs=1,
            scheduler_step="step",
            progress=False,
        )


# ---------------------------------------------------------------- named schedules, lr and callbacks
def _lrs_of(schedule, epochs=3, nbatches=4, lr=0.02):
    """The learning rate at every optimizer step of fit(schedule=...), read by the loss of each batch."""
    model, seen = tiny_net(), []
    train = batches(*banded_task(4 * nbatches, seed=0), 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def loss_fn(logits, masks):
        seen.append(optimizer.param_groups[0]["lr"])
        return nn.functional.cross_entropy(logits, masks)

    fit(
        model,
        train,
        num_classes=NUM_CLASSES,
        epochs=epochs,
        optimizer=optimizer,
        schedule=schedule,
        loss_fn=loss_fn,
        progress=False,
    )
    return seen


def test_one_cycle_schedule_is_torchs_one_cycle_stepped_per_batch():
    got = _lrs_of("one-cycle")
    reference_opt = torch.optim.Adam(tiny_net().parameters(), lr=0.02)
    reference = torch.optim.lr_scheduler.OneCycleLR(reference_opt, max_lr=0.02, total_steps=12)
    expected = []
    for _ in range(12):
        expected.append(reference_opt.param_groups[0]["lr"])
        reference_opt.step()
        reference.step()
    assert got == pytest.approx(expected)
    assert max(got) == pytest.approx(0.02, rel=0.01) and got[0] < 0.002 and got[-1] < 1e-5


def test_cosine_schedule_anneals_from_lr_to_zero_over_all_steps():
    got = _lrs_of("cosine")
    expected = [0.01 * (1 + math.cos(math.pi * t / 12)) for t in range(12)]  # 0.02 * (1 + cos) / 2
    assert got == pytest.approx(expected)


@pytest.mark.parametrize("schedule", [None, "constant"])
def test_constant_schedule_keeps_the_learning_rate(schedule):
    assert _lrs_of(schedule) == [0.02] * 12


def test_lr_sets_the_default_optimizers_learning_rate():
    model = tiny_net()
    history = fit(
        model, batches(*banded_task(8, seed=0), 4), num_classes=NUM_CLASSES, epochs=2, lr=0.05, progress=False
    )
    assert [r["lr"] for r in history.records] == [0.05, 0.05]


def test_named_one_cycle_gives_the_history_of_a_hand_built_one():
    """What the chapters used to type out (Adam + OneCycleLR per batch) and schedule='one-cycle' agree."""
    train = batches(*banded_task(16, seed=0), 4)
    model = tiny_net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    by_hand = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=3 * len(train))
    a = fit(
        model,
        train,
        num_classes=NUM_CLASSES,
        epochs=3,
        optimizer=optimizer,
        scheduler=by_hand,
        scheduler_step="batch",
        progress=False,
    )
    b = fit(tiny_net(), train, num_classes=NUM_CLASSES, epochs=3, lr=1e-2, schedule="one-cycle", progress=False)
    assert [r["train_loss"] for r in a.records] == [r["train_loss"] for r in b.records]


def test_on_epoch_start_runs_before_each_epoch_and_can_change_the_loss():
    train = batches(*banded_task(8, seed=0), 4)
    calls, weights = [], {"w": 0.0}

    def loss_fn(logits, masks):
        calls.append(("loss", weights["w"]))
        return weights["w"] * nn.functional.cross_entropy(logits, masks) + logits.sum() * 0

    def start(epoch):
        calls.append(("start", epoch))
        weights["w"] = float(epoch)

    history = fit(
        tiny_net(), train, num_classes=NUM_CLASSES, epochs=2, loss_fn=loss_fn, on_epoch_start=start, progress=False
    )
    assert calls == [("start", 1), ("loss", 1.0), ("loss", 1.0), ("start", 2), ("loss", 2.0), ("loss", 2.0)]
    assert history.records[1]["train_loss"] == pytest.approx(
        2 * nn.functional.cross_entropy(tiny_net()(train[0][0]), train[0][1]).item(), rel=0.5
    )  # the weight of epoch 2 is in its loss


def test_on_epoch_end_sees_each_record_and_stops_when_it_returns_true():
    seen = []

    def end(record):
        seen.append(record["epoch"])
        return record["epoch"] >= 2

    history = fit(
        tiny_net(),
        batches(*banded_task(8, seed=0), 4),
        num_classes=NUM_CLASSES,
        epochs=5,
        on_epoch_end=end,
        progress=False,
    )
    assert seen == [1, 2] and len(history) == 2 and history.stop_reason == "callback"


def test_on_epoch_end_returning_none_or_a_truthy_non_bool_does_not_stop():
    history = fit(
        tiny_net(),
        batches(*banded_task(8, seed=0), 4),
        num_classes=NUM_CLASSES,
        epochs=3,
        on_epoch_end=lambda record: "yes",
        progress=False,
    )
    assert len(history) == 3 and history.stop_reason == "epochs"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"schedule": "one_cycle", "epochs": 2}, ValueError, "schedule must be one of"),
        ({"schedule": "one-cycle", "time_budget": 1.0}, ValueError, "give epochs"),
        ({"schedule": "cosine", "epochs": 2, "scheduler": "x"}, ValueError, "not both"),
        ({"lr": 0.0, "epochs": 1}, ValueError, "lr"),
        ({"lr": "0.1", "epochs": 1}, TypeError, "lr"),
        ({"on_epoch_start": 3, "epochs": 1}, TypeError, "on_epoch_start must be a function"),
        ({"on_epoch_end": "stop", "epochs": 1}, TypeError, "on_epoch_end must be a function"),
    ],
)
def test_schedule_lr_and_callback_errors_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        fit(tiny_net(), batches(*banded_task(8, seed=0), 4), num_classes=NUM_CLASSES, progress=False, **kwargs)


def test_lr_with_your_own_optimizer_is_refused():
    model = tiny_net()
    with pytest.raises(ValueError, match="your own optimizer"):
        fit(
            model,
            batches(*banded_task(8, seed=0), 4),
            num_classes=NUM_CLASSES,
            epochs=1,
            lr=0.1,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            progress=False,
        )


def test_a_named_schedule_needs_data_with_a_length():
    class Reiterable:
        def __iter__(self):
            return iter(batches(*banded_task(8, seed=0), 4))

    with pytest.raises(TypeError, match="has no len"):
        fit(tiny_net(), Reiterable(), num_classes=NUM_CLASSES, epochs=1, schedule="one-cycle", progress=False)
