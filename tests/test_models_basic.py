"""The small models of the early chapters: shapes, gradient flow, errors."""

import pytest
import torch

from segbook.models import (
    FCN,
    CoupledUNets,
    EncoderDecoder,
    FullResolutionFCN,
    PatchClassifier,
    PixelClassifier,
    SmallSegNet,
    StackedUNets,
    UNet,
    UNetPlusPlus,
    count_parameters,
)

BUILDERS = {
    "pixel": lambda: PixelClassifier(5),
    "small": lambda: SmallSegNet(5, width=4),
    "full_res": lambda: FullResolutionFCN(5, width=4, layers=3),
    **{
        f"encdec_{down}_{up}": (lambda down=down, up=up: EncoderDecoder(5, width=4, depth=2, down=down, up=up))
        for down in ("max_pool", "strided_conv")
        for up in ("nearest", "bilinear", "transposed", "max_unpool")
        if not (up == "max_unpool" and down != "max_pool")
    },
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_output_has_input_size_and_every_parameter_gets_a_gradient(name):
    torch.manual_seed(0)
    model = BUILDERS[name]()
    x = torch.rand(2, 3, 16, 24)
    out = model(x)
    assert out.shape == (2, 5, 16, 24)
    out.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


def test_max_unpool_decoder_puts_values_only_at_remembered_positions():
    model = EncoderDecoder(2, width=2, depth=1, up="max_unpool").eval()
    seen = {}
    model.decoder[0].register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0]))
    model(torch.rand(1, 3, 8, 8))
    # After unpooling by 2, each 2x2 block holds at most one non-zero per channel.
    blocks = (seen["x"] != 0).unfold(2, 2, 2).unfold(3, 2, 2).sum((-1, -2))
    assert int(blocks.max()) <= 1


@pytest.mark.parametrize(
    "build, x, message",
    [
        (lambda: EncoderDecoder(5, depth=2), torch.rand(1, 3, 10, 8), "divisible by 4"),
        (lambda: EncoderDecoder(5, down="strided_conv", up="max_unpool"), None, "needs down='max_pool'"),
        (lambda: EncoderDecoder(5, up="cubic"), None, "up must be one of"),
        (lambda: SmallSegNet(5), torch.rand(1, 3, 10, 10), "divisible by 4"),
        (lambda: SmallSegNet(5), torch.rand(1, 1, 8, 8), "expects in_channels=3"),
        (lambda: FullResolutionFCN(5), torch.rand(3, 8, 8), "must be 4-D"),
        (lambda: PixelClassifier(5), torch.zeros(1, 3, 4, 4, dtype=torch.int64), "floating-point"),
    ],
)
def test_bad_input_gets_a_clear_error(build, x, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()(x)


EVERY_MODEL = {
    **BUILDERS,
    "fcn8s": lambda: FCN(5, widths=(4, 4, 4, 4, 4), head_width=4),
    "unet": lambda: UNet(5, width=4, depth=2),
    "unetpp": lambda: UNetPlusPlus(5, width=4, depth=2),
    "stacked": lambda: StackedUNets(5, width=4, depth=2),
    "coupled": lambda: CoupledUNets(5, width=4, depth=2),
}


@pytest.mark.parametrize("name", sorted(EVERY_MODEL))
@pytest.mark.parametrize("size", [(0, 0), (0, 16), (16, 0)])
def test_every_model_refuses_empty_images_with_a_clear_error(name, size):
    # A 0-pixel image used to reach torch's convolution ("Kernel size can't be greater than actual input size").
    # (PatchClassifier takes fixed 15 x 15 patches and says so.)
    with pytest.raises(ValueError, match=r"empty images \(H, W\) = \(\d+, \d+\).*needs H >= 1 and W >= 1"):
        EVERY_MODEL[name]()(torch.rand(1, 3, *size))


# Every True/False option of the models. The string "False" is truthy, so a flag that only tested truthiness
# would quietly switch the option *on*: each must refuse it, naming the option.
FLAGS = [
    (lambda flag: PatchClassifier(3, pool=flag), "pool"),
    (lambda flag: UNet(3, batch_norm=flag), "batch_norm"),
    (lambda flag: FCN(3, pretrained=flag), "pretrained"),
    (lambda flag: UNetPlusPlus(3, deep_supervision=flag), "deep_supervision"),
    (lambda flag: StackedUNets(3, intermediate_supervision=flag), "intermediate_supervision"),
    (lambda flag: CoupledUNets(3, intermediate_supervision=flag), "intermediate_supervision"),
    (lambda flag: count_parameters(UNet(3), trainable_only=flag), "trainable_only"),
]


@pytest.mark.parametrize("flag", ["False", "True", 0, 1, None])
@pytest.mark.parametrize("build, name", FLAGS, ids=[name for _, name in FLAGS])
def test_flags_refuse_anything_but_true_or_false(build, name, flag):
    with pytest.raises(TypeError, match=f"{name} must be True or False, got {flag!r}"):
        build(flag)
