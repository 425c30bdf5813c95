"""fit, evaluate and predict on the outputs practitioners' models return: torchvision's dicts ``{"out", "aux"}``
(the loss is L(out) + aux_weight * L(aux)) and segmentation_models_pytorch's tensors, on tiny 64x64 data."""

from collections import OrderedDict

import pytest
import torch
import torchvision
from torch import nn
from training_helpers import NUM_CLASSES, banded_task, batches

from segbook.training import evaluate, fit, predict


class DictNet(nn.Module):
    """Two 1x1 heads returning ``{"out": ..., "aux": ...}``; ``keys`` picks which (and how many) are returned."""

    def __init__(self, keys=("out", "aux"), ordered=False, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.heads = nn.ModuleDict({key: nn.Conv2d(1, NUM_CLASSES, 1) for key in keys})
        self.ordered = ordered

    def forward(self, x):
        out = {key: head(x) for key, head in self.heads.items()}
        return OrderedDict(out) if self.ordered else out


@torch.no_grad()
def head_logits(model, images):
    """Each head's logits, without gradients, for the losses computed by hand."""
    return {key: head(images) for key, head in model.heads.items()}


def ce(logits, masks):
    return nn.functional.cross_entropy(logits, masks, ignore_index=255)


def train_loss_of_one_step(model, data, **kwargs):
    """The reported training loss of one epoch in which the weights do not move (SGD with lr 0)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    history = fit(model, data, num_classes=NUM_CLASSES, epochs=1, optimizer=optimizer, progress=False, **kwargs)
    return history.last()["train_loss"]


def rgb_task(n=2, size=64, seed=0):
    """Three-channel 64x64 images for the practitioners' models, labelled by the first channel's bands."""
    images, masks = banded_task(n, seed=seed, size=size)  # (N, 1, H, W), (N, H, W)
    return [(images.expand(-1, 3, -1, -1).contiguous(), masks)]


# ---------------------------------------------------------------- the loss of a dict output
DATA = batches(*banded_task(4, seed=0), 4)


@pytest.mark.parametrize("aux_weight", [0.5, 0.0, 2.0])
def test_dict_loss_is_the_out_loss_plus_the_weighted_aux_loss(aux_weight):
    model = DictNet()
    images, masks = DATA[0]
    expected = ce(head_logits(model, images)["out"], masks) + aux_weight * ce(head_logits(model, images)["aux"], masks)
    reported = train_loss_of_one_step(model, DATA, aux_weight=aux_weight)
    assert reported == pytest.approx(float(expected), rel=1e-6)
    assert evaluate(model, DATA, num_classes=NUM_CLASSES, aux_weight=aux_weight)["loss"] == pytest.approx(reported)


def test_aux_weight_defaults_to_torchvisions_half():
    model = DictNet()
    images, masks = DATA[0]
    expected = ce(head_logits(model, images)["out"], masks) + 0.5 * ce(head_logits(model, images)["aux"], masks)
    assert train_loss_of_one_step(model, DATA) == pytest.approx(float(expected), rel=1e-6)


def test_aux_weight_zero_gives_the_out_loss_and_no_gradient_to_the_aux_head():
    model = DictNet()
    aux_before = model.heads["aux"].weight.detach().clone()
    fit(model, DATA, num_classes=NUM_CLASSES, epochs=2, lr=0.1, aux_weight=0.0, progress=False)
    assert torch.equal(model.heads["aux"].weight, aux_before)  # the aux head is ignored
    assert not torch.equal(model.heads["out"].weight, DictNet().heads["out"].weight)  # the out head trained


def test_dict_with_only_out_is_trained_on_out():
    model = DictNet(keys=("out",))
    images, masks = DATA[0]
    assert train_loss_of_one_step(model, DATA) == pytest.approx(float(ce(head_logits(model, images)["out"], masks)))


def test_an_ordered_dict_counts_as_a_dict():
    plain, ordered = DictNet(), DictNet(ordered=True)
    assert train_loss_of_one_step(plain, DATA) == train_loss_of_one_step(ordered, DATA)


def test_loss_fn_is_given_each_head_as_a_tensor():
    model, seen = DictNet(), []

    def double_ce(logits, masks):
        seen.append(type(logits))
        return 2 * ce(logits, masks)

    images, masks = DATA[0]
    expected = 2 * ce(head_logits(model, images)["out"], masks) + 0.25 * 2 * ce(
        head_logits(model, images)["aux"], masks
    )
    assert train_loss_of_one_step(model, DATA, loss_fn=double_ce, aux_weight=0.25) == pytest.approx(float(expected))
    assert seen == [torch.Tensor, torch.Tensor]


def test_pixel_weighted_triples_weight_both_heads():
    model = DictNet()
    images, masks = DATA[0]
    weights = torch.rand(masks.shape, generator=torch.Generator().manual_seed(3))

    def weighted_ce(logits, y, w):
        return (nn.functional.cross_entropy(logits, y, reduction="none") * w).mean()

    expected = weighted_ce(head_logits(model, images)["out"], masks, weights) + 0.5 * weighted_ce(
        head_logits(model, images)["aux"], masks, weights
    )
    reported = train_loss_of_one_step(model, [(images, masks, weights)], loss_fn=weighted_ce)
    assert reported == pytest.approx(float(expected), rel=1e-6)


def test_dict_output_is_scored_and_predicted_on_out():
    model = DictNet()
    images, masks = DATA[0]
    out = head_logits(model, images)["out"]
    scored = evaluate(model, DATA, num_classes=NUM_CLASSES)
    accuracy = float((out.argmax(1) == masks).float().mean())
    assert scored["pixel_accuracy"] == pytest.approx(accuracy)
    assert torch.equal(predict(model, images), out.argmax(1))
    assert torch.equal(predict(model, images[0]), out[0].argmax(0))


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "keys, found",
    [(("logits",), r"\['logits'\]"), (("out", "extra"), r"\['out', 'extra'\]"), (("aux",), r"\['aux'\]")],
)
def test_a_dict_with_other_keys_is_refused_naming_the_keys(keys, found):
    model = DictNet(keys=keys)
    message = f"the model returned a dict with keys {found}; expected {{'out': logits}} or {{'out': logits, 'aux'"
    with pytest.raises(ValueError, match=message):
        fit(model, DATA, num_classes=NUM_CLASSES, epochs=1, progress=False)
    with pytest.raises(ValueError, match=message):
        evaluate(model, DATA, num_classes=NUM_CLASSES)
    with pytest.raises(ValueError, match=message):
        predict(model, DATA[0][0])


def test_aux_logits_of_another_size_are_refused():
    class SmallAux(DictNet):
        def forward(self, x):
            return {"out": self.heads["out"](x), "aux": self.heads["aux"](x)[..., ::2, ::2]}

    with pytest.raises(ValueError, match=r"output\['aux'\] has shape \(4, 3, 4, 4\) but output\['out'\] has shape"):
        fit(SmallAux(), DATA, num_classes=NUM_CLASSES, epochs=1, progress=False)


def test_an_empty_list_output_is_refused():
    class Empty(nn.Module):
        def forward(self, x):
            return []

    with pytest.raises(ValueError, match="the model returned an empty list"):
        predict(Empty(), DATA[0][0])


@pytest.mark.parametrize(
    "value, error, message",
    [
        (-0.5, ValueError, "aux_weight must be >= 0, got -0.5"),
        ("0.5", TypeError, "aux_weight must be a number, got str '0.5'"),
        (float("nan"), ValueError, "aux_weight must be a number, got nan"),
        (None, TypeError, "aux_weight must be a number"),
    ],
)
def test_aux_weight_is_checked(value, error, message):
    with pytest.raises(error, match=message):
        fit(DictNet(), DATA, num_classes=NUM_CLASSES, epochs=1, progress=False, aux_weight=value)
    with pytest.raises(error, match=message):
        evaluate(DictNet(), DATA, num_classes=NUM_CLASSES, aux_weight=value)


# ---------------------------------------------------------------- practitioners' models, 64x64, one epoch
def test_torchvision_deeplab_with_aux_head_trains_evaluates_and_predicts():
    torch.manual_seed(0)
    model = torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=NUM_CLASSES, aux_loss=True
    )
    data = rgb_task()
    history = fit(model, data, num_classes=NUM_CLASSES, epochs=1, val_data=data, progress=False)
    assert history.stop_reason == "epochs" and not model.training
    images, masks = data[0]
    # in eval mode the model still returns its aux head: evaluate's loss is L(out) + w * L(aux), by hand
    with torch.no_grad():
        output = model(images)
    assert set(output) == {"out", "aux"}
    for aux_weight in (0.5, 0.0):
        expected = ce(output["out"], masks) + aux_weight * ce(output["aux"], masks)
        scored = evaluate(model, data, num_classes=NUM_CLASSES, aux_weight=aux_weight)
        assert scored["loss"] == pytest.approx(float(expected), rel=1e-5)
    assert history.last()["val_loss"] == pytest.approx(evaluate(model, data, num_classes=NUM_CLASSES)["loss"])
    assert torch.equal(predict(model, images), output["out"].argmax(1))


def test_torchvision_lraspp_trains_evaluates_and_predicts():
    torch.manual_seed(0)
    model = torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=NUM_CLASSES
    )
    data = rgb_task()
    history = fit(model, data, num_classes=NUM_CLASSES, epochs=1, progress=False)
    assert len(history) == 1
    assert 0.0 <= evaluate(model, data, num_classes=NUM_CLASSES)["miou"] <= 1.0
    assert predict(model, data[0][0]).shape == (2, 64, 64)


def test_smp_unet_trains_evaluates_and_predicts():
    import segmentation_models_pytorch as smp

    torch.manual_seed(0)
    model = smp.Unet("resnet18", encoder_weights=None, classes=NUM_CLASSES)
    data = rgb_task()
    history = fit(model, data, num_classes=NUM_CLASSES, epochs=1, val_data=data, progress=False)
    assert history.last()["val_loss"] > 0
    assert set(evaluate(model, data, num_classes=NUM_CLASSES)) >= {"miou", "loss"}
    assert predict(model, data[0][0]).shape == (2, 64, 64)
