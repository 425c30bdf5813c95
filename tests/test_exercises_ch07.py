"""Chapter 7's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import inspect

import pytest
import torch
import torch.nn.functional as F
from exercise_helpers import assert_rejected, notebook_solutions, returning, standard_exercise_tests
from torch import nn

from segbook import ops
from segbook.exercises import ExerciseError, ch07

SOLUTIONS = notebook_solutions("07_fcn.ipynb", 7, F=F, nn=nn, ops=ops)
CHECKS = [
    (ch07.check_score_map_size, "score_map_size"),
    (ch07.check_fuse_skip, "fuse_skip"),
    (ch07.check_zero_score_layer, "zero_score_layer"),
    (ch07.check_repair, "repair"),
    (ch07.check_answer_7_5, "answer_7_5"),
]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


# --- Exercise 7.1 ------------------------------------------------------------------------------------------


def size_without_padding(height, width, variant):
    stride = int(variant[:-1])
    return height // stride, width // stride


def size_padded_to_the_stride(height, width, variant):
    stride = int(variant[:-1])
    return -(-height // stride), -(-width // stride)


def size_always_stride_32(height, width, variant):
    return -(-height // 32), -(-width // 32)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (size_without_padding, ["70x50", "multiple of 32"]),
        (size_padded_to_the_stride, ["70x50", "not of the stride"]),
        (size_always_stride_32, ["FCN-8s", "number in the variant's name"]),
    ],
)
def test_score_map_size_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch07.check_score_map_size, wrong, "Exercise 7.1 (score_map_size)", *words)


# --- Exercise 7.2 ------------------------------------------------------------------------------------------


def fuse_nearest(coarse, skip):
    return coarse.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3) + skip


def fuse_interpolate(coarse, skip):
    return F.interpolate(coarse, scale_factor=2, mode="bilinear", align_corners=False) + skip


def fuse_concatenate(coarse, skip):
    weight = ops.bilinear_kernel(2, coarse.shape[1])
    return torch.cat([F.conv_transpose2d(coarse, weight, stride=2, padding=1), skip], dim=1)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (fuse_nearest, ["worked by hand", "nearest-neighbour"]),
        (fuse_interpolate, ["worked by hand", "bilinear_kernel(2, C)"]),
        (fuse_concatenate, ["shape differs"]),
    ],
)
def test_fuse_skip_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch07.check_fuse_skip, wrong, "Exercise 7.2 (fuse_skip)", *words)


def test_fuse_skip_border_case_names_the_interpolate_trap():
    """A bilinear F.interpolate that passes the interior cases still fails on the border, with its own hint."""
    cases_hint = "F.interpolate(..., mode='bilinear') repeats the edge value"

    def fuse_interpolate_but_hand_case(coarse, skip):  # right on the first three cases, wrong on the border
        if coarse.shape[-1] == 3 and coarse.shape[-2] == 3:
            return fuse_interpolate(coarse, skip)
        weight = ops.bilinear_kernel(2, coarse.shape[1])
        return F.conv_transpose2d(coarse, weight, stride=2, padding=1) + skip

    assert_rejected(ch07.check_fuse_skip, fuse_interpolate_but_hand_case, "Exercise 7.2 (fuse_skip)", cases_hint)


# --- Exercise 7.3 ------------------------------------------------------------------------------------------


def score_layer_3x3(in_channels, num_classes):
    layer = nn.Conv2d(in_channels, num_classes, 3, padding=1)
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def score_layer_random_bias(in_channels, num_classes):
    layer = nn.Conv2d(in_channels, num_classes, 1)
    nn.init.zeros_(layer.weight)
    return layer


def score_layer_frozen(in_channels, num_classes):
    layer = nn.Conv2d(in_channels, num_classes, 1)
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer.requires_grad_(False)


def score_layer_swapped(in_channels, num_classes):
    layer = nn.Conv2d(num_classes, in_channels, 1)
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


@pytest.mark.parametrize(
    "wrong, words",
    [
        (score_layer_3x3, ["kernel_size", "which kernel size"]),
        (score_layer_random_bias, ["output on random features is all zero", "BOTH of its parameters"]),
        (score_layer_frozen, ["trainable", "not where it stays"]),
        (score_layer_swapped, ["in_channels, out_channels", "expected 96, got 5"]),
    ],
)
def test_zero_score_layer_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch07.check_zero_score_layer, wrong, "Exercise 7.3 (zero_score_layer)", *words)


# --- types: what the statement says is checked ---------------------------------------------------------------


@pytest.mark.parametrize(
    "check, name, label, convert, words",
    [
        (ch07.check_score_map_size, "score_map_size", "Exercise 7.1", lambda r: (r[0] / 1, r[1] / 1), ["an int"]),
        (ch07.check_score_map_size, "score_map_size", "Exercise 7.1", list, ["asks for a tuple"]),
    ],
)
def test_results_of_another_type_than_the_statement_says_are_rejected(check, name, label, convert, words):
    assert_rejected(check, returning(SOLUTIONS[name], convert), label, *words)


def test_zero_score_layer_hints_do_not_give_the_code():
    source = inspect.getsource(ch07.check_zero_score_layer)
    for code in ["nn.Conv2d(in_channels, num_classes", "kernel_size=1", "nn.init.zeros_", ".zero_()"]:
        assert code not in source, code


# --- Exercise 7.4: make a broken FCN train ----------------------------------------------------------------------


def repair_unchanged(model):  # returns the broken net as it is
    return model


def repair_unfrozen(model):  # lets the zero layer train: it escapes from zero, but the paper keeps it fixed
    model.upscore_final.weight.requires_grad_(True)
    return model


def repair_random(model):  # non-zero, still frozen: random weights scramble the scores
    model.upscore_final.reset_parameters()
    return model


def repair_the_skips(model):  # "fixes" the zero score layers, which are zero by design
    for layer in (model.score_pool4, model.score_pool3):
        nn.init.normal_(layer.weight, std=0.1)
    return model


def repair_with_a_new_net(model):  # throws the given net away
    from segbook.models import FCN

    return FCN(2, variant="8s", widths=(4, 8, 8, 16, 16), head_width=16)


def repair_without_return(model):
    SOLUTIONS["repair"](model)


def repair_learnable_bilinear(model):  # the right weights, but now trained
    model.upscore_final = ops.bilinear_conv_transpose2d(model.num_classes, 8)
    return model


@pytest.mark.parametrize(
    "wrong, words",
    [
        (repair_unchanged, ["case 3 of 3", "foreground IoU 0.000", "log 2", "in series"]),
        (repair_unfrozen, ["case 2 of 3", "upscore_final.weight now trains", "leave it frozen"]),
        (repair_learnable_bilinear, ["case 2 of 3", "upscore_final.weight now trains"]),
        (repair_random, ["case 3 of 3", "below the 0.4 required", "random kernel"]),
        (repair_the_skips, ["case 1 of 3", "score_pool4.weight, score_pool3.weight", "zero on purpose"]),
        (repair_with_a_new_net, ["case 1 of 3", "stages.0.0.0.weight", "return the model you were given"]),
        (repair_without_return, ["case 1 of 3", "returned NoneType"]),
    ],
)
def test_repair_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch07.check_repair, wrong, "Exercise 7.4 (repair)", *words)


def test_repair_check_judges_the_result_not_the_code(capsys):
    """Another fixed upsampling that trains (the full C x C bilinear layer, in a new module) is accepted too."""

    def repair_by_replacing(model):
        model.upscore_final = ops.bilinear_conv_transpose2d(model.num_classes, 8, trainable=False)
        return model

    assert ch07.check_repair(repair_by_replacing) is True
    assert "all 3 cases passed" in capsys.readouterr().out


def test_broken_fcn_is_the_same_net_every_time_and_leaves_the_callers_seed_alone():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    first, second = ch07.broken_fcn(), ch07.broken_fcn()
    assert torch.equal(torch.random.get_rng_state(), state)
    for (name, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        assert torch.equal(a, b), name
    assert first.upscore_final.weight.abs().max() == 0 and not first.upscore_final.weight.requires_grad


def test_the_repair_statement_states_the_checks_budget():
    """The numbers the statement gives are the ones the check uses."""
    import nbformat
    from exercise_helpers import CHAPTERS

    cells = nbformat.read(CHAPTERS / "07_fcn.ipynb", as_version=4).cells
    (statement,) = [c.source for c in cells if c.cell_type == "markdown" and ":label: ex-ch7-repair" in c.source]
    text = " ".join(statement.split())
    for phrase in [
        f"{ch07.REPAIR_STEPS} full-batch Adam steps (learning rate {ch07.REPAIR_LR})",
        f"the {len(ch07.repair_task()[0])} images of `ch07.repair_task()`",
        f"foreground IoU of at least {ch07.REPAIR_IOU}",
    ]:
        assert phrase in text, phrase


# --- Exercise 7.5: the wires ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, words",
    [
        ("a", ["'a'", "not the grid they live on"]),
        ("b", ["'b'", "nothing more to go on"]),
        ("d", ["'d'", "stride-8 grid"]),
        ({"c"}, ["one option letter"]),
    ],
)
def test_wires_question_rejects_wrong_answers(answer, words):
    with pytest.raises(ExerciseError) as info:
        ch07.check_answer_7_5(answer)
    message = str(info.value)
    assert "Exercise 7.5 (answer_7_5)" in message
    for word in words:
        assert word in message, (word, message)
