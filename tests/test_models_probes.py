"""segbook.models.probes: the forward passes behind chapters 7-10's figures leave the model as they found it."""

import pytest
import torch
from torch import nn

from segbook.models import (
    FCN,
    CoupledUNets,
    UNet,
    UNetPlusPlus,
    fcn_logits_with_skip_weight,
    head_logits,
    unetpp_pruned_logits,
)


def test_head_logits_lists_every_head_and_a_single_output_once():
    torch.manual_seed(0)
    chain = CoupledUNets(2, width=4, stacks=3, order=1)
    images = torch.rand(2, 3, 16, 16)
    heads = head_logits(chain, images)
    with torch.no_grad():
        expected = chain.eval()(images)
    assert len(heads) == 3 and all(torch.equal(a, b) for a, b in zip(heads, expected))
    single = head_logits(nn.Conv2d(3, 5, 1), images)
    assert len(single) == 1 and single[0].shape == (2, 5, 16, 16)


def test_pruned_logits_are_head_level_of_the_full_model():
    torch.manual_seed(0)
    model = UNetPlusPlus(2, width=2, depth=2, deep_supervision=True)
    images = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        expected = model.eval()(images)[0]  # head 1 of the full network
    assert torch.allclose(unetpp_pruned_logits(model, images, 1), expected, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "probe",
    [
        lambda: (UNetPlusPlus(2, width=2, depth=2, deep_supervision=True), lambda m, x: unetpp_pruned_logits(m, x, 1)),
        lambda: (CoupledUNets(2, width=4, stacks=2), head_logits),
        lambda: (FCN(2, variant="8s"), lambda m, x: fcn_logits_with_skip_weight(m, x, 0.5)),
    ],
    ids=["unetpp_pruned_logits", "head_logits", "fcn_logits_with_skip_weight"],
)
def test_probes_run_in_eval_mode_and_restore_the_models_mode(probe, training):
    model, run = probe()
    model.train(training)
    seen = []
    hook = model.register_forward_pre_hook(lambda module, inputs: seen.append(module.training))
    for module in model.modules():  # the pruned U-Net++ does not call the full model's forward: watch its layers
        if isinstance(module, nn.BatchNorm2d):
            module.register_forward_pre_hook(lambda module, inputs: seen.append(module.training))
    run(model, torch.rand(1, 3, 32, 32))
    hook.remove()
    assert seen and not any(seen)  # every forward ran in eval mode
    assert all(m.training is training for m in model.modules())  # and the mode is back, in every layer


def test_probes_refuse_other_models_and_bad_images():
    with pytest.raises(TypeError, match="UNetPlusPlus"):
        unetpp_pruned_logits(UNet(2, width=2, depth=1), torch.rand(1, 3, 8, 8), 1)
    with pytest.raises(ValueError, match="images"):
        head_logits(nn.Conv2d(3, 2, 1), torch.rand(3, 8, 8))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        head_logits(lambda x: x, torch.rand(1, 3, 8, 8))
