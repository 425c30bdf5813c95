"""The networks of the slides (FCN, U-Net, U-Net++, stacked and coupled U-Nets): shapes for any input size,
gradient flow, the papers' properties (zero-initialised skips, unpadded sizes, pruning, overlap-tile), errors."""

import pytest
import torch
from torch.nn import functional as F

from segbook.losses import DeepSupervisionLoss, cross_entropy, deep_supervision_loss
from segbook.models import (
    FCN,
    AverageHeads,
    CoupledUNets,
    StackedUNets,
    UNet,
    UNetPlusPlus,
    count_parameters,
    fcn8s,
    fcn16s,
    fcn32s,
    model_cost,
    overlap_tile_predict,
)
from segbook.ops import bilinear_kernel
from segbook.training import fit

SMALL = dict(widths=(4, 4, 8, 8, 8), head_width=8)
BUILDERS = {
    "fcn32s": lambda: fcn32s(3, **SMALL),
    "fcn16s": lambda: fcn16s(3, **SMALL),
    "fcn8s": lambda: fcn8s(3, **SMALL),
    "unet": lambda: UNet(3, width=4, depth=3),
    "unet_bilinear": lambda: UNet(3, width=4, depth=2, up="bilinear"),
    "unet_no_bn": lambda: UNet(3, width=4, depth=2, batch_norm=False),
    "unetpp": lambda: UNetPlusPlus(3, width=4, depth=3),
    "unetpp_single_head": lambda: UNetPlusPlus(3, width=4, depth=2, deep_supervision=False),
    "stacked": lambda: StackedUNets(3, width=4, depth=2, stacks=3),
    "stacked_last_head": lambda: StackedUNets(3, width=4, depth=2, stacks=2, intermediate_supervision=False),
    "coupled": lambda: CoupledUNets(3, width=4, depth=2, stacks=3, order=2),
    "coupled_order0": lambda: CoupledUNets(3, width=4, depth=2, stacks=2, order=0),
}
HEADS = {"unetpp": 3, "stacked": 3, "coupled": 3, "coupled_order0": 2}


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


@pytest.mark.parametrize("size", [(32, 32), (29, 45), (7, 12)])
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_output_has_the_input_size_for_any_size(name, size):
    torch.manual_seed(0)
    out = BUILDERS[name]()(torch.rand(2, 3, *size))
    outs = _as_list(out)
    assert isinstance(out, list) == (name in HEADS)
    assert len(outs) == HEADS.get(name, 1)
    assert all(o.shape == (2, 3, *size) for o in outs)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_trainable_parameter_gets_a_gradient(name):
    torch.manual_seed(0)
    model = BUILDERS[name]()
    loss = sum(o.square().mean() for o in _as_list(model(torch.rand(2, 3, 32, 32))))
    loss.backward()
    missing = [
        n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)
    ]
    assert not missing, missing


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_same_seed_same_model_and_output(name):
    x = torch.rand(1, 3, 16, 16)
    outputs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = BUILDERS[name]().eval()
        outputs.append(torch.cat(_as_list(model(x))))
    assert torch.equal(outputs[0], outputs[1])


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_wrong_channels_and_dtype_are_refused(name):
    model = BUILDERS[name]()
    with pytest.raises(ValueError, match="expects in_channels=3"):
        model(torch.rand(1, 1, 16, 16))
    with pytest.raises(TypeError, match="floating-point"):
        model(torch.zeros(1, 3, 16, 16, dtype=torch.uint8))
    with pytest.raises(ValueError, match="4-D"):
        model(torch.rand(3, 16, 16))


# --------------------------------------------------------------------------------------------------- FCN


def test_fcn_skip_scores_start_at_zero_and_upsamplings_start_bilinear():
    model = fcn8s(5, **SMALL)
    for layer in (model.score_pool4, model.score_pool3):
        assert torch.count_nonzero(layer.weight) == 0 and torch.count_nonzero(layer.bias) == 0
    assert torch.equal(model.upscore2.weight, bilinear_kernel(2, 5))
    diagonal = bilinear_kernel(8, 5)[torch.arange(5), torch.arange(5)].unsqueeze(1)  # per class (depthwise)
    assert torch.equal(model.upscore_final.weight, diagonal) and model.upscore_final.groups == 5
    assert model.upscore2.weight.requires_grad and not model.upscore_final.weight.requires_grad
    assert [fcn32s(5).output_stride, fcn16s(5).output_stride, model.output_stride] == [32, 16, 8]


@pytest.mark.parametrize("coarse, fine", [("32s", "16s"), ("16s", "8s"), ("32s", "8s")])
def test_fcn_from_coarser_starts_out_with_the_coarser_prediction(coarse, fine):
    torch.manual_seed(0)
    coarser = FCN(4, variant=coarse, **SMALL)
    coarser(torch.rand(8, 3, 128, 128))  # one training-mode pass moves batch-norm statistics off their defaults
    coarser.eval()
    finer = FCN.from_coarser(coarser, fine).eval()
    x = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        a, b = coarser(x), finer(x)
    # Same class scores, upsampled in steps instead of at once: bilinear interpolation through different points,
    # equal to the last digit only where the scores vary linearly. Away from the zero-padded border they agree:
    inner = (slice(None), slice(None), slice(32, -32), slice(32, -32))
    spread = a[inner].amax() - a[inner].amin()
    assert (a[inner] - b[inner]).abs().max() < 0.2 * spread
    assert (a[inner].argmax(1) == b[inner].argmax(1)).float().mean() > 0.9
    # ... and the new skip really adds nothing yet: zeroing pool3/pool4 features changes nothing.
    shared = {k for k in coarser.state_dict() if not k.startswith("upscore_final")}
    assert all(torch.equal(coarser.state_dict()[k], finer.state_dict()[k]) for k in shared)


def test_fcn_skip_changes_the_output_once_trained():
    torch.manual_seed(0)
    model = fcn16s(2, **SMALL)
    x, y = torch.rand(4, 3, 64, 64), (torch.rand(4, 64, 64) > 0.5).long()
    cross_entropy(model(x), y).backward()
    assert model.score_pool4.weight.grad.abs().sum() > 0  # the zero-initialised skip learns


def test_fcn_from_coarser_keeps_the_coarser_options():
    coarser = FCN(3, variant="32s", widths=(4, 4, 8, 8, 8), convs_per_stage=2, head_width=8, dropout=0.25)
    finer = FCN.from_coarser(coarser, "8s")
    assert (finer.widths, finer.convs_per_stage, finer.head_width, finer.dropout) == ((4, 4, 8, 8, 8), 2, 8, 0.25)
    assert finer.fc[2].p == 0.25 and len(finer.stages[0]) == 3  # two conv blocks, then the pooling


def test_fcn_widths_name_the_stage_that_is_wrong():
    with pytest.raises(ValueError, match=r"widths\[2\] must be >= 1, got 0"):
        FCN(3, widths=(4, 4, 0, 8, 8))
    with pytest.raises(TypeError, match=r"widths\[4\] must be an int"):
        FCN(3, widths=(4, 4, 8, 8, True))


def test_fcn_from_coarser_refuses_a_coarser_target():
    with pytest.raises(ValueError, match="FCN-8s can become nothing finer"):
        FCN.from_coarser(fcn8s(3), "16s")
    with pytest.raises(TypeError, match="must be an FCN"):
        FCN.from_coarser(UNet(3), "16s")


def test_fcn_vgg16_backbone_falls_back_with_a_warning_when_weights_cannot_load(monkeypatch):
    import torchvision.models

    real = torchvision.models.vgg16

    def offline_vgg16(*, weights=None, **kwargs):
        if weights is not None:
            raise OSError("no network")
        return real(weights=None, **kwargs)

    monkeypatch.setattr(torchvision.models, "vgg16", offline_vgg16)
    with pytest.warns(RuntimeWarning, match="random weights"):
        model = FCN(3, variant="8s", backbone="vgg16", pretrained=True, head_width=16)
    assert model.widths == (64, 128, 256, 512, 512)
    assert model(torch.rand(1, 3, 40, 36)).shape == (1, 3, 40, 36)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(variant="4s"), "variant must be one of"),
        (dict(widths=(4, 8)), "5 positive ints"),
        (dict(pretrained=True), "needs backbone='vgg16'"),
        (dict(backbone="vgg16", in_channels=1), "in_channels=3"),
        (dict(dropout=1.5), "dropout"),
    ],
)
def test_fcn_bad_options_are_refused(options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        FCN(3, **options)


# --------------------------------------------------------------------------------------------------- U-Net


def test_unet_valid_sizes_match_the_paper():
    paper = UNet(2, width=2, depth=4, padding="valid")
    assert paper.output_size(572) == 388 and paper.border == 92  # the paper's Fig. 1
    net = UNet(2, width=2, depth=2, padding="valid")
    assert net(torch.rand(1, 3, 76, 84)).shape == (1, 2, 36, 44)


def test_unet_valid_refuses_sizes_that_do_not_pool_evenly_and_names_the_nearest():
    net = UNet(2, width=2, depth=2, padding="valid")
    with pytest.raises(ValueError, match="nearest sizes that work are 76 and 80"):
        net(torch.rand(1, 3, 77, 76))
    with pytest.raises(ValueError, match="needs size >= 44"):
        net.output_size(20)


def test_unet_same_padding_keeps_pixel_alignment():
    # A 1-pixel dot must be segmented where it is, whatever the padding to a multiple of 2**depth does.
    torch.manual_seed(0)
    net = UNet(1, width=4, depth=2, in_channels=1).eval()
    x = torch.zeros(1, 1, 30, 30)
    full = net(F.pad(x, (0, 2, 0, 2)))[..., :30, :30]  # what the net computes on the padded image
    assert torch.allclose(net(x), full)


def test_overlap_tile_equals_the_whole_mirrored_image_for_an_unpadded_unet():
    torch.manual_seed(0)
    net = UNet(3, width=4, depth=2, padding="valid").eval()
    image = torch.rand(2, 3, 72, 108)  # multiples of the 36-pixel kept centre of a 76-pixel tile
    with torch.no_grad():
        whole = net(F.pad(image, (net.border,) * 4, mode="reflect"))
    tiled = overlap_tile_predict(net, image, tile_size=76, batch_size=4)
    assert tiled.shape == (2, 3, 72, 108)
    assert torch.allclose(tiled, whole, atol=1e-5)


def test_overlap_tile_covers_any_size_with_a_padded_model():
    torch.manual_seed(0)
    net = UNet(3, width=4, depth=2)
    out = overlap_tile_predict(net, torch.rand(1, 3, 50, 70), tile_size=32, margin=8)
    assert out.shape == (1, 3, 50, 70) and torch.isfinite(out).all()
    assert net.training  # put back as it was


def test_overlap_tile_restores_the_mode_when_the_model_fails():
    class Failing(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("broken model")

    model = Failing()
    with pytest.raises(RuntimeError, match="broken model"):
        overlap_tile_predict(model, torch.rand(1, 3, 40, 40), tile_size=16, margin=4)
    assert model.training


def test_overlap_tile_refuses_an_empty_batch():
    with pytest.raises(ValueError, match=r"at least one image \(N >= 1\)"):
        overlap_tile_predict(UNet(3, width=4, depth=2), torch.rand(0, 3, 40, 40), tile_size=16, margin=4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(tile_size=16, margin=8), "leaves nothing"),
        (dict(tile_size=128, margin=4), "smaller than one tile"),
    ],
)
def test_overlap_tile_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        overlap_tile_predict(UNet(3, width=4, depth=2), torch.rand(1, 3, 40, 40), **kwargs)


# --------------------------------------------------------------------------------------------------- U-Net++


def test_unetpp_has_the_nested_grid_of_nodes():
    model = UNetPlusPlus(2, width=4, depth=3)
    assert len(model.nodes) == (3 + 1) * (3 + 2) // 2
    # X^{0,2} concatenates X^{0,0}, X^{0,1} and up(X^{1,1}): three inputs of 4 channels.
    assert model.nodes["0_2"][0].in_channels == 3 * 4


@pytest.mark.parametrize("level", [1, 2, 3])
def test_pruned_unetpp_equals_its_head_and_costs_less(level):
    torch.manual_seed(0)
    model = UNetPlusPlus(3, width=4, depth=3).eval()
    x = torch.rand(2, 3, 24, 40)
    with torch.no_grad():
        heads = model(x)
        pruned = model.pruned(level)(x)
    assert torch.equal(pruned, heads[level - 1])
    full_flops = model_cost(model, (3, 32, 32)).flops
    pruned_flops = model_cost(model.pruned(level), (3, 32, 32)).flops
    assert pruned_flops < full_flops if level < 3 else pruned_flops <= full_flops


def test_pruning_needs_deep_supervision():
    with pytest.raises(ValueError, match="deep_supervision=True"):
        UNetPlusPlus(2, depth=3, deep_supervision=False).pruned(2)
    with pytest.raises(ValueError, match="level"):
        UNetPlusPlus(2, depth=3).pruned(4)


def test_average_heads_is_the_log_of_the_mean_probability():
    torch.manual_seed(0)
    model = UNetPlusPlus(3, width=4, depth=2).eval()
    x = torch.rand(1, 3, 16, 16)
    heads = model(x)
    expected = torch.stack([h.softmax(1) for h in heads]).mean(0)
    assert torch.allclose(AverageHeads(model)(x).exp(), expected, atol=1e-6)
    with pytest.raises(TypeError, match="returns a list"):
        AverageHeads(UNet(3))(x)


# --------------------------------------------------------------------------------------------------- stacked


def test_stacked_modules_are_residual():
    torch.manual_seed(0)
    model = StackedUNets(2, width=4, depth=2, stacks=2).eval()
    module = model.unets[0]
    for p in module.parameters():
        torch.nn.init.zeros_(p)  # a module that computes nothing passes its input through
    h = torch.rand(1, 4, 8, 8)
    assert torch.equal(module(h), h)


def test_coupled_blocks_take_the_same_level_outputs_of_earlier_unets():
    width = 4
    model = CoupledUNets(2, width=width, depth=2, stacks=3, order=2)
    # U-Net n's blocks are coupled to min(n, order) earlier U-Nets: reductions from (1 + k) * width channels.
    assert [model.encoders[n][1].reduce.in_channels for n in range(3)] == [width, 2 * width, 3 * width]
    assert [model.decoders[n][0].reduce.in_channels for n in range(3)] == [2 * width, 3 * width, 4 * width]
    plain = CoupledUNets(2, width=width, depth=2, stacks=3, order=0)
    assert count_parameters(plain) < count_parameters(model)


def test_coupling_carries_a_gradient_from_the_last_head_to_the_first_unets_deep_blocks():
    torch.manual_seed(0)
    model = CoupledUNets(2, width=4, depth=2, stacks=2, order=1, intermediate_supervision=False)
    model(torch.rand(2, 3, 16, 16)).square().mean().backward()
    assert model.bottoms[0].body[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: CoupledUNets(2, stacks=2, order=2), "order must be"),
        (lambda: StackedUNets(2, stacks=0), "stacks must be"),
        (lambda: StackedUNets(2, intermediate_supervision="yes"), "True or False"),
        (lambda: UNetPlusPlus(2, depth=6), "depth must be"),
        (lambda: UNet(2, padding="reflect"), "padding must be one of"),
        (lambda: UNet(2, up="nearest"), "up must be one of"),
    ],
)
def test_bad_options_are_refused(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()


# --------------------------------------------------------------------------------------------------- cost


def test_model_cost_counts_parameters_and_convolution_flops():
    conv = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
    cost = model_cost(conv, (3, 10, 10))
    assert (cost.parameters, cost.trainable, cost.flops) == (216, 216, 2 * 3 * 8 * 9 * 100)
    fcn = fcn32s(3, **SMALL)
    assert model_cost(fcn).parameters - model_cost(fcn).trainable == fcn.upscore_final.weight.numel()
    with pytest.raises(ValueError, match=r"\(C_in, H, W\)"):
        model_cost(conv, (10, 10))


def test_deeper_fcn_variants_cost_a_little_more():
    flops = [model_cost(b(3, **SMALL)).flops for b in (fcn32s, fcn16s, fcn8s)]
    assert flops[0] < flops[1] < flops[2]


# --------------------------------------------------------------------------------------------------- loss


def test_deep_supervision_loss_is_the_weighted_mean_of_the_heads_losses():
    torch.manual_seed(0)
    heads = [torch.randn(2, 3, 4, 4) for _ in range(3)]
    target = torch.randint(0, 3, (2, 4, 4))
    target[0, 0, 0] = 255
    each = [F.cross_entropy(h, target, ignore_index=255) for h in heads]
    assert torch.allclose(deep_supervision_loss(heads, target), sum(each) / 3)
    assert torch.allclose(deep_supervision_loss(heads, target, weights=[0, 1, 3]), (each[1] + 3 * each[2]) / 4)
    with pytest.raises(ValueError, match="one value per head"):
        deep_supervision_loss(heads, target, weights=[1, 1])
    with pytest.raises(TypeError, match="single tensor"):
        deep_supervision_loss(heads[0], target)


def test_fit_trains_a_deep_supervision_model_with_the_loss_module():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 16, 16)
    y = (x[:, 0] > 0.5).long()
    history = fit(
        UNetPlusPlus(2, width=4, depth=2),
        [(x, y)],
        num_classes=2,
        epochs=2,
        progress=False,
        loss_fn=DeepSupervisionLoss(),
    )
    assert len(history) == 2
