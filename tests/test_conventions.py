"""segbook.conventions: the one input check of every loss, safe division, evaluation mode, flags and pairs."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from segbook import losses as L
from segbook.conventions import (
    check_bool,
    check_float,
    check_pair,
    check_segmentation_inputs,
    evaluating,
    safe_divide,
)

# ----------------------------------------------------------------------------- check_segmentation_inputs


def test_check_segmentation_inputs_returns_what_a_loss_needs():
    logits, target = torch.zeros(2, 3, 4, 5), torch.randint(0, 3, (2, 4, 5))
    target[0, 0, 0] = 255
    out = check_segmentation_inputs(logits, target)
    assert torch.equal(out.logits, logits) and out.num_classes == 3 and out.binary is False  # NaN rule: a copy
    assert out.valid.dtype == torch.bool and out.valid.sum() == 2 * 4 * 5 - 1
    assert out.target[0, 0, 0] == 0 and out.target.dtype == torch.int64
    binary = check_segmentation_inputs(torch.zeros(2, 1, 4, 5), torch.ones(2, 1, 4, 5, dtype=torch.bool))
    assert binary.binary and binary.num_classes == 2 and binary.logits.shape == (2, 4, 5)
    assert binary.target.shape == (2, 4, 5) and binary.valid.all()


@pytest.mark.parametrize(
    "logits, target, kwargs, error, words",
    [
        ([[1.0]], torch.zeros(1, 2, 2, dtype=torch.long), {}, TypeError, "logits must be a torch.Tensor"),
        (torch.zeros(1, 3, 2, 2, dtype=torch.long), torch.zeros(1, 2, 2), {}, TypeError, "floating-point"),
        (torch.zeros(3, 2, 2, 2, 2), torch.zeros(3, 2, 2, dtype=torch.long), {}, ValueError, "3-D or 4-D"),
        (torch.zeros(1, 3, 2, 2), torch.zeros(1, 2, 2), {}, TypeError, "integer tensor"),
        (torch.zeros(1, 3, 2, 2), torch.zeros(1, 2, 3, dtype=torch.long), {}, ValueError, "do not match"),
        (torch.zeros(1, 1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), {"binary": False}, ValueError, "C >= 2"),
        (torch.zeros(1, 3, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), {"binary": True}, ValueError, "one logit"),
        (torch.zeros(1, 2, 2), torch.rand(1, 2, 2), {}, TypeError, "soft .floating-point. targets"),
        (
            torch.zeros(1, 3, 1, 2),
            torch.tensor([[[0, 7]]]),
            {},
            ValueError,
            r"target has class 7 and is not the ignore index 255, but logits have 3 channels \(C=3",
        ),
        (torch.zeros(1, 3, 1, 2), torch.tensor([[[0, -2]]]), {}, ValueError, "target has class -2, but class"),
        (torch.zeros(1, 2), torch.tensor([[0, 1]]), {}, ValueError, "logits must be 3-D or 4-D"),
        (torch.zeros(1, 1, 2), torch.tensor([[[0, 3]]]), {}, ValueError, "binary target must hold 0"),
        (torch.zeros(1, 3, 1, 2), torch.tensor([[[0, 1]]]), {"ignore_index": 1}, ValueError, "ignore_index=1 is a"),
        (torch.zeros(1, 3, 1, 2), torch.tensor([[[0, 1]]]), {"validate": "False"}, TypeError, "validate must be"),
        (
            torch.tensor([[[[0.2]], [[0.8]]]]),
            torch.tensor([[[0]]]),
            {},
            ValueError,
            "look like probabilities",
        ),
    ],
)
def test_check_segmentation_inputs_names_what_is_wrong(logits, target, kwargs, error, words):
    with pytest.raises(error, match=words):
        check_segmentation_inputs(logits, target, **kwargs)


# ----------------------------------------------------------------------------- value checks: validate=

MULTICLASS_LOSSES = [
    ("cross_entropy", L.cross_entropy, {}),
    ("cross_entropy_weight", L.cross_entropy, {"weight": [1.0, 2.0, 3.0]}),
    ("focal_loss", L.focal_loss, {"alpha": [1.0, 2.0, 3.0]}),
    ("soft_dice_loss", L.soft_dice_loss, {}),
    ("tversky_loss", L.tversky_loss, {"fp_weight": 0.3, "fn_weight": 0.7}),
    ("dice_ce_loss", L.dice_ce_loss, {}),
    ("dice_focal_loss", L.dice_focal_loss, {}),
    ("boundary_loss", L.boundary_loss, {"distance_map": "phi"}),
    ("dice_boundary_loss", L.dice_boundary_loss, {"region_weight": 0.5, "distance_map": "phi"}),
    ("weighted_pixel_cross_entropy", L.weighted_pixel_cross_entropy, {"pixel_weights": "weights"}),
    ("CrossEntropyLoss", lambda z, t, **k: L.CrossEntropyLoss(**k)(z, t), {}),
    ("FocalLoss", lambda z, t, **k: L.FocalLoss(**k)(z, t), {}),
    ("SoftDiceLoss", lambda z, t, **k: L.SoftDiceLoss(**k)(z, t), {}),
    ("TverskyLoss", lambda z, t, **k: L.TverskyLoss(**k)(z, t), {}),
    ("DiceCELoss", lambda z, t, **k: L.DiceCELoss(**k)(z, t), {}),
    ("DiceFocalLoss", lambda z, t, **k: L.DiceFocalLoss(**k)(z, t), {}),
    ("deep_supervision_loss", lambda z, t, **k: L.deep_supervision_loss([z, z], t), {}),
]
BINARY_LOSSES = [
    ("binary_cross_entropy", L.binary_cross_entropy, {"pos_weight": 2.0}),
    ("binary_focal_loss", L.binary_focal_loss, {}),
    ("binary_soft_dice_loss", L.soft_dice_loss, {}),
    ("binary_tversky_loss", L.tversky_loss, {}),
    ("binary_dice_ce_loss", L.dice_ce_loss, {"pos_weight": 2.0}),
    ("binary_dice_focal_loss", L.dice_focal_loss, {"alpha": 0.25}),
    ("binary_boundary_loss", L.boundary_loss, {"distance_map": "phi"}),
    ("BinaryCrossEntropyLoss", lambda z, t, **k: L.BinaryCrossEntropyLoss(**k)(z, t), {}),
    ("BinaryFocalLoss", lambda z, t, **k: L.BinaryFocalLoss(**k)(z, t), {}),
]


def _inputs(binary, device, kwargs):
    n, c, h, w = 2, 3, 4, 5
    logits = torch.zeros(n, 1 if binary else c, h, w, device=device, requires_grad=True)
    target = torch.zeros(n, h, w, dtype=torch.long, device=device)
    extra = dict(kwargs)
    if extra.get("distance_map") == "phi":
        extra["distance_map"] = torch.zeros(n, 1 if binary else c, h, w, device=device)
    if extra.get("pixel_weights") == "weights":
        extra["pixel_weights"] = torch.ones(n, h, w, device=device)
    return logits, target, extra


@pytest.mark.parametrize(
    "name, fn, kwargs, binary",
    [(*case, False) for case in MULTICLASS_LOSSES] + [(*case, True) for case in BINARY_LOSSES],
    ids=[case[0] for case in MULTICLASS_LOSSES + BINARY_LOSSES],
)
def test_no_value_is_read_off_the_cpu_by_default(name, fn, kwargs, binary):
    """On the meta device a tensor has no values: reading one (int(x.max()), a bool of a tensor) raises.
    With the default validate=None a loss reads none, so a training step on a GPU never waits for the host."""
    logits, target, extra = _inputs(binary, "meta", kwargs)
    loss = fn(logits, target, **extra)
    assert loss.device.type == "meta" and loss.ndim == 0
    loss.backward()  # the backward pass reads nothing either
    if name != "deep_supervision_loss":
        with pytest.raises(RuntimeError, match="meta"):  # the same call asking for value checks does read values
            fn(logits, target, validate=True, **extra)


@pytest.mark.parametrize(
    "name, fn, kwargs, binary",
    [(*case, False) for case in MULTICLASS_LOSSES[:10]] + [(*case, True) for case in BINARY_LOSSES[:7]],
    ids=[case[0] for case in MULTICLASS_LOSSES[:10] + BINARY_LOSSES[:7]],
)
def test_validate_true_catches_an_out_of_range_class_and_false_skips_the_check(name, fn, kwargs, binary):
    logits, target, extra = _inputs(binary, "cpu", kwargs)
    target[0, 0, 0] = 2 if binary else 7
    with pytest.raises(ValueError, match="target has class 7|binary target must hold 0"):
        fn(logits, target, validate=True, **extra)
    with pytest.raises(ValueError, match="target has class 7|binary target must hold 0"):
        fn(logits, target, **extra)  # None: checked on the CPU
    target[0, 0, 0] = 1 if binary else 2  # in range for the kernels; now a bad value that only a value check sees:
    logits = torch.full_like(logits, 0.5 if not binary else 0.0)
    fn(logits, target, validate=False, **extra)


def test_validate_false_skips_the_probability_check_and_true_keeps_it():
    probs = torch.softmax(torch.randn(1, 3, 2, 2), 1)
    target = torch.zeros(1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="look like probabilities"):
        L.cross_entropy(probs, target, validate=True)
    assert torch.isfinite(L.cross_entropy(probs, target, validate=False))
    with pytest.raises(ValueError, match="look like probabilities"):
        L.CrossEntropyLoss(validate=True)(probs, target)


@pytest.mark.parametrize(
    "call",
    [
        lambda: L.soft_dice_loss(torch.zeros(1, 2, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long), validate="False"),
        lambda: L.soft_dice_loss(
            torch.zeros(1, 2, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long), include_background="False"
        ),
        lambda: L.SoftDiceLoss(include_background="False"),
        lambda: L.TverskyLoss(include_background=0),
        lambda: L.DiceCELoss(include_background="yes"),
        lambda: L.BoundaryLoss(include_background="False"),
        lambda: L.DiceBoundaryLoss(include_background="False"),
        lambda: L.CrossEntropyLoss(validate="True"),
        lambda: check_bool("False", "flag"),
    ],
)
def test_string_flags_are_refused(call):
    with pytest.raises(TypeError, match="must be True or False"):
        call()


# ----------------------------------------------------------------------------- safe_divide


def test_safe_divide_fills_empty_denominators_and_keeps_nan():
    num = torch.tensor([1.0, 0.0, 3.0, 2.0])
    den = torch.tensor([2.0, 0.0, float("nan"), -4.0])
    out = safe_divide(num, den)
    assert out[0] == 0.5 and torch.isnan(out[1]) and torch.isnan(out[2]) and out[3] == -0.5
    assert safe_divide(num, den, empty=1.0)[1] == 1.0
    assert torch.isnan(safe_divide(num, den, empty=1.0)[2])  # a NaN denominator is not "empty"


def test_safe_divide_has_finite_gradients_in_the_empty_branch():
    num = torch.tensor([1.0, 0.0], requires_grad=True)
    den = torch.tensor([2.0, 0.0], requires_grad=True)
    safe_divide(num, den, empty=1.0).sum().backward()
    assert torch.isfinite(num.grad).all() and torch.isfinite(den.grad).all()
    assert num.grad.tolist() == [0.5, 0.0] and den.grad.tolist() == [-0.25, 0.0]


def test_a_nan_logit_is_not_hidden_by_the_region_losses():
    logits = torch.zeros(1, 2, 2, 2)
    logits[0, 0, 0, 0] = float("nan")
    target = torch.zeros(1, 2, 2, dtype=torch.long)
    for fn in (L.soft_dice_loss, L.tversky_loss, L.cross_entropy, L.dice_ce_loss):
        assert torch.isnan(fn(logits, target)), fn.__name__


# ----------------------------------------------------------------------------- evaluating, check_pair


@pytest.mark.parametrize("training", [True, False])
def test_evaluating_restores_the_mode(training):
    model = nn.Sequential(nn.Dropout(), nn.BatchNorm1d(2)).train(training)
    with evaluating(model):
        assert not model.training and not model[0].training
    assert model.training is training and model[1].training is training


def test_evaluating_restores_the_mode_after_an_exception():
    model = nn.Dropout().train()
    with pytest.raises(RuntimeError), evaluating(model):
        raise RuntimeError("boom")
    assert model.training
    with pytest.raises(TypeError, match="torch.nn.Module"), evaluating("model"):
        pass


def test_check_pair():
    assert check_pair(3, "k") == (3, 3) and check_pair([2, 4], "k") == (2, 4)
    with pytest.raises(ValueError, match="pair of ints"):
        check_pair((1, 2, 3), "k")
    with pytest.raises(ValueError, match=r"stride\[1\] must be >= 1"):
        check_pair((1, 0), "stride", minimum=1)
    with pytest.raises(TypeError, match="must be an int"):
        check_pair("3", "k")


# ----------------------------------------------------------------------------- check_float: finite unless documented


@pytest.mark.parametrize("value", [math.inf, -math.inf, torch.tensor(math.inf), np.float64("inf")])
def test_check_float_refuses_infinity_unless_asked(value):
    with pytest.raises(ValueError, match="x must be a finite number, got -?inf"):
        check_float(value, "x")
    assert check_float(value, "x", allow_inf=True) == float(value)
    with pytest.raises(ValueError, match="got nan"):
        check_float(math.nan, "x", allow_inf=True)  # NaN is never a number


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda z, y: L.binary_cross_entropy(z, y, pos_weight=math.inf), "pos_weight"),
        (lambda z, y: L.soft_dice_loss(z, y, smooth=math.inf), "smooth"),
        (lambda z, y: L.tversky_loss(z, y, fn_weight=math.inf), "fn_weight"),
        (lambda z, y: L.binary_focal_loss(z, y, gamma=math.inf), "gamma"),
        (lambda z, y: L.dice_ce_loss(z, y, ce_weight=math.inf), "ce_weight"),
        (lambda z, y: L.SoftDiceLoss(smooth=-math.inf)(z, y), "smooth"),
    ],
)
def test_loss_options_refuse_infinity(call, name):
    z, y = torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match=f"{name} must be a finite number"):
        call(z, y)
