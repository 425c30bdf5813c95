"""Receptive-field arithmetic against hand-worked values and back-propagation; FLOP and memory counters."""

import pytest
import torch
from torch import nn

from segbook.models import EncoderDecoder, FullResolutionFCN
from segbook.ops.receptive_field import (
    ReceptiveField,
    activation_memory,
    count_flops,
    empirical_receptive_field,
    receptive_field,
    receptive_field_steps,
)


def conv(k, s=1, d=1, p=0, c=4):
    """A k x k convolution from c to 4 channels."""
    return nn.Conv2d(c, 4, k, stride=s, dilation=d, padding=p)


# --- hand-worked values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layers, expected",
    [
        ([conv(3)], ReceptiveField(3, 1, 1.0)),
        ([conv(3, p=1)] * 3, ReceptiveField(7, 1, 0.0)),  # three 3x3 convolutions see 7 pixels
        ([conv(5)], ReceptiveField(5, 1, 2.0)),
        ([conv(3, d=2)], ReceptiveField(5, 1, 2.0)),  # a dilated 3x3 kernel spans 5 pixels
        ([conv(3, s=2, p=1), conv(3, p=1)], ReceptiveField(7, 2, 0.0)),  # 3, then + 2 * 2
        ([nn.MaxPool2d(2)] * 3, ReceptiveField(8, 8, 3.5)),  # three 2x2 poolings: 8x8 blocks
        (
            [conv(3, p=1), nn.MaxPool2d(2), conv(3, p=1), nn.MaxPool2d(2), conv(3, p=1)],
            ReceptiveField(18, 4, 1.5),
        ),  # 3, pool +1 = 4 (jump 2), +2*2 = 8, pool +1*2 = 10 (jump 4), +2*4 = 18
        ([conv(3, d=1, p=1), conv(3, d=2, p=2), conv(3, d=4, p=4)], ReceptiveField(15, 1, 0.0)),  # 1 + 2 + 4 + 8
        ([nn.AvgPool2d(3, stride=2, padding=1)], ReceptiveField(3, 2, 0.0)),
        ([nn.Conv2d(1, 1, 3, padding="same", dilation=3)], ReceptiveField(7, 1, 0.0)),
        ([nn.Conv2d(1, 1, 3, padding="valid")], ReceptiveField(3, 1, 1.0)),
        ([], ReceptiveField(1, 1, 0.0)),
    ],
)
def test_receptive_field_hand_worked(layers, expected):
    assert receptive_field(layers) == expected


def test_pass_through_layers_and_nesting_change_nothing():
    plain = [conv(3, p=1), nn.MaxPool2d(2), conv(3, p=1)]
    decorated = nn.Sequential(
        nn.Sequential(conv(3, p=1), nn.BatchNorm2d(4), nn.ReLU()),
        nn.Dropout(0.1),
        nn.MaxPool2d(2),
        nn.Identity(),
        nn.Sequential(conv(3, p=1), nn.GELU()),
    )
    assert receptive_field(decorated) == receptive_field(plain) == receptive_field(nn.Sequential(*plain))


def test_steps_list_every_spatial_layer():
    steps = receptive_field_steps(nn.Sequential(conv(3, p=1), nn.ReLU(), nn.MaxPool2d(2), conv(3, p=1)))
    assert [name for name, _ in steps] == [
        "input",
        "Conv2d(k=3, s=1, d=1, p=1)",
        "MaxPool2d(k=2, s=2, d=1, p=0)",
        "Conv2d(k=3, s=1, d=1, p=1)",
    ]
    assert [rf.size for _, rf in steps] == [1, 3, 4, 8]
    assert [rf.jump for _, rf in steps] == [1, 1, 2, 2]


def test_full_resolution_fcn_field_is_2L_plus_1():
    for layers in (1, 4, 6):
        model = FullResolutionFCN(5, width=4, layers=layers)
        assert receptive_field([model.body, model.head]).size == 2 * layers + 1


# --- arithmetic against back-propagation ------------------------------------------------------------------------

STACKS = {
    "three 3x3": [conv(3, p=1, c=3), nn.ReLU(), conv(3, p=1), nn.ReLU(), conv(3, p=1)],
    "strided conv": [
        conv(3, s=2, p=1, c=3),
        nn.ReLU(),
        conv(3, p=1),
        nn.ReLU(),
        conv(3, s=2, p=1),
        nn.ReLU(),
        conv(3, p=1),
    ],
    "max pooling": [
        conv(3, p=1, c=3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        conv(3, p=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        conv(3, p=1),
    ],
    "avg pooling 3/2": [conv(3, c=3), nn.AvgPool2d(3, stride=2), conv(3), nn.Tanh(), conv(5, p=2)],
    "dilated": [conv(3, d=1, p=1, c=3), nn.ReLU(), conv(3, d=2, p=2), nn.ReLU(), conv(3, d=4, p=4)],
    "5x5 and pool 3": [conv(5, p=2, c=3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(3, stride=3), conv(3, p=1)],
    "dilated pooling": [conv(3, c=3), nn.MaxPool2d(2, stride=1, dilation=2), conv(3, s=2)],
}


@pytest.mark.parametrize("name", list(STACKS))
def test_arithmetic_matches_back_propagation(name):
    torch.manual_seed(0)
    stack = nn.Sequential(*STACKS[name])
    rf = receptive_field(stack)
    measured = empirical_receptive_field(stack, (48, 48))
    assert not measured.clipped
    assert measured.size == (rf.size, rf.size)
    # the field's centre: output pixel i is centred at start + i * jump in input coordinates
    top, left, bottom, right = measured.box
    i, j = measured.position
    assert (top + bottom) / 2 == pytest.approx(rf.start + i * rf.jump)
    assert (left + right) / 2 == pytest.approx(rf.start + j * rf.jump)


@pytest.mark.parametrize("name", ["strided conv", "max pooling"])
def test_neighbouring_outputs_are_one_jump_apart(name):
    torch.manual_seed(0)
    stack = nn.Sequential(*STACKS[name])
    a = empirical_receptive_field(stack, (48, 48), position=(5, 5))
    b = empirical_receptive_field(stack, (48, 48), position=(5, 6))
    assert b.box[1] - a.box[1] == receptive_field(stack).jump


def test_dilated_field_has_holes():
    measured = empirical_receptive_field(nn.Conv2d(1, 1, 3, dilation=3), (15, 15))
    assert measured.size == (7, 7) and int(measured.mask.sum()) == 9


def test_empirical_field_of_models_with_upsampling():
    torch.manual_seed(0)
    fcn = FullResolutionFCN(5, width=8, layers=4)
    assert empirical_receptive_field(fcn, (32, 32)).size == (9, 9)
    model = EncoderDecoder(5, width=8, depth=2)
    encoder_only = [model.encoder[0], nn.MaxPool2d(2), model.encoder[1], nn.MaxPool2d(2), model.bottleneck]
    measured = empirical_receptive_field(model, (64, 64))
    assert not measured.clipped
    assert measured.size[0] > receptive_field(encoder_only).size  # the decoder's convolutions widen it further
    assert model.training  # the model itself is left as it was


def test_clipped_when_input_too_small():
    stack = nn.Sequential(conv(3, p=1, c=1), *[conv(3, p=1) for _ in range(4)])
    assert empirical_receptive_field(stack, (7, 7)).clipped
    assert not empirical_receptive_field(stack, (15, 15)).clipped


# --- errors ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layers, error, words",
    [
        ([nn.Upsample(scale_factor=2)], TypeError, "empirical_receptive_field"),
        ([nn.ConvTranspose2d(1, 1, 2)], TypeError, "layer 0 \\(ConvTranspose2d\\)"),
        ([conv(3), nn.Linear(3, 3)], TypeError, "layer 1 \\(Linear\\)"),
        ([nn.Conv2d(1, 1, (3, 5))], ValueError, "square"),
        ([nn.Conv2d(1, 1, 3, stride=(1, 2))], ValueError, "stride=\\(1, 2\\)"),
        ("conv", TypeError, "nn.Module"),
        ([conv(3), "relu"], TypeError, "only nn.Module"),
    ],
)
def test_receptive_field_errors(layers, error, words):
    with pytest.raises(error, match=words):
        receptive_field(layers)


def test_empirical_errors():
    with pytest.raises(ValueError, match="outside the output"):
        empirical_receptive_field(conv(3, c=1), (8, 8), position=(6, 0))
    with pytest.raises(TypeError, match="pair"):
        empirical_receptive_field(conv(3, c=1), 8)
    with pytest.raises(ValueError, match="pass in_channels"):
        empirical_receptive_field(nn.MaxPool2d(2), (8, 8))
    zero = nn.Conv2d(1, 1, 3)
    nn.init.zeros_(zero.weight)
    with pytest.raises(ValueError, match="no input pixel"):
        empirical_receptive_field(zero, (8, 8))


# --- FLOPs and activation memory --------------------------------------------------------------------------------


@pytest.mark.parametrize("c_in, c_out, k, size", [(3, 8, 3, 10), (4, 4, 1, 7), (2, 6, 5, 9)])
def test_count_flops_of_one_convolution(c_in, c_out, k, size):
    layer = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
    assert count_flops(layer, torch.rand(1, c_in, size, size)) == 2 * c_in * c_out * k * k * size * size


def test_flops_and_memory_grow_with_the_pixel_count():
    torch.manual_seed(0)
    model = FullResolutionFCN(5, width=8, layers=3)
    small, large = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 32, 32)
    assert count_flops(model, large) == 4 * count_flops(model, small)
    assert activation_memory(model, large) == 4 * activation_memory(model, small)


def test_activation_memory_counts_each_map_once():
    stack = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(8, 2, 1), nn.ReLU())
    x = torch.rand(2, 3, 10, 10)
    # conv (2, 8, 10, 10); in-place ReLU shares it; conv (2, 2, 10, 10); ReLU makes a new (2, 2, 10, 10)
    assert activation_memory(stack, x) == 4 * (2 * 8 * 100 + 2 * 2 * 100 + 2 * 2 * 100)
    assert activation_memory(stack.double(), x.double()) == 2 * activation_memory(stack.float(), x)


def test_activation_memory_sees_functional_calls():
    torch.manual_seed(0)
    model = EncoderDecoder(5, width=4, depth=1)  # F.max_pool2d and F.interpolate inside forward
    x = torch.rand(1, 3, 8, 8)
    leaf_outputs = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: leaf_outputs.append(o.numel() * o.element_size()))
        for m in model.modules()
        if not list(m.children()) and not isinstance(m, nn.ReLU)
    ]
    model.eval()(x)
    for h in hooks:
        h.remove()
    assert activation_memory(model, x) > sum(leaf_outputs)  # + the pooled and interpolated maps


def test_counters_restore_training_mode_and_leave_statistics_alone():
    model = FullResolutionFCN(5, width=4, layers=2).train()
    before = model.body[0][1].running_mean.clone()
    count_flops(model, torch.rand(2, 3, 8, 8) + 3)
    activation_memory(model, torch.rand(2, 3, 8, 8) + 3)
    assert model.training and torch.equal(model.body[0][1].running_mean, before)


def test_counters_restore_each_submodule_mode():
    model = FullResolutionFCN(5, width=4, layers=2).eval()
    part = model.body[:1]  # a new Sequential (in train mode) holding submodules in eval mode
    assert part.training and not part[0].training
    count_flops(part, torch.rand(1, 3, 8, 8))
    activation_memory(part, torch.rand(1, 3, 8, 8))
    assert part.training and not any(m.training for m in part[0].modules())


def test_counter_errors():
    with pytest.raises(TypeError, match="nn.Module"):
        count_flops(lambda x: x, torch.rand(1))
    with pytest.raises(TypeError, match="floating-point"):
        activation_memory(nn.Identity(), torch.zeros(2, dtype=torch.long))
