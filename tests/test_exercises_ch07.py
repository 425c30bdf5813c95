"""Chapter 7's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import inspect

import pytest
import torch
import torch.nn.functional as F
from exercise_helpers import assert_rejected, notebook_solutions, returning, standard_exercise_tests
from torch import nn

from segbook import ops
from segbook.exercises import ch07

SOLUTIONS = notebook_solutions("07_fcn.ipynb", 7, F=F, nn=nn, ops=ops)
CHECKS = [
    (ch07.check_score_map_size, "score_map_size"),
    (ch07.check_fuse_skip, "fuse_skip"),
    (ch07.check_zero_score_layer, "zero_score_layer"),
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
