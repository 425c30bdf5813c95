"""Chapter 9's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import pytest
import torch
from exercise_helpers import assert_rejected, notebook_solutions, returning, standard_exercise_tests
from torch.nn import functional as F

from segbook.exercises import ch09

SOLUTIONS = notebook_solutions("09_unet_plus_plus.ipynb", 9, F=F)
CHECKS = [
    (ch09.check_node_input_channels, "node_input_channels"),
    (ch09.check_deep_supervision_ce, "deep_supervision_ce"),
    (ch09.check_pruned_nodes, "pruned_nodes"),
]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


# --- Exercise 9.1 ------------------------------------------------------------------------------------------


def channels_papers_upsampling(i, j, width, in_channels=3):  # the paper's up keeps level i + 1's channels
    if j == 0:
        return in_channels if i == 0 else width * 2 ** (i - 1)
    return j * width * 2**i + width * 2 ** (i + 1)


def channels_latest_skip_only(i, j, width, in_channels=3):  # a U-Net-like node: one skip, not all of them
    if j == 0:
        return in_channels if i == 0 else width * 2 ** (i - 1)
    return 2 * width * 2**i


def channels_hard_coded_rgb(i, j, width, in_channels=3):
    if j == 0:
        return 3 if i == 0 else width * 2 ** (i - 1)
    return (j + 1) * width * 2**i


def channels_encoder_same_level(i, j, width, in_channels=3):  # forgets that pooling keeps level i - 1's width
    if j == 0:
        return in_channels if i == 0 else width * 2**i
    return (j + 1) * width * 2**i


@pytest.mark.parametrize(
    "wrong, words",
    [
        (channels_papers_upsampling, ["X^{0,1}", "halves the channels"]),
        (channels_latest_skip_only, ["X^{0,3}", "ALL of X^{i,0}"]),
        (channels_hard_coded_rgb, ["one-channel", "in_channels argument"]),
        (channels_encoder_same_level, ["X^{2,0}", "width * 2**(i - 1)"]),
    ],
)
def test_node_input_channels_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch09.check_node_input_channels, wrong, "Exercise 9.1 (node_input_channels)", *words)


# --- Exercise 9.2 ------------------------------------------------------------------------------------------


def ds_last_head_only(outputs, target):
    return F.cross_entropy(outputs[-1], target)


def ds_sum(outputs, target):
    return sum(F.cross_entropy(o, target) for o in outputs)


def ds_mean_of_logits(outputs, target):
    return F.cross_entropy(torch.stack(outputs).mean(0), target)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (ds_last_head_only, ["three heads", "only the last head"]),
        (ds_sum, ["three heads", "average them"]),
        (ds_mean_of_logits, ["three heads", "logits first averaged"]),
    ],
)
def test_deep_supervision_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch09.check_deep_supervision_ce, wrong, "Exercise 9.2 (deep_supervision_ce)", *words)


# --- Exercise 9.3 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda depth, level: {(i, j) for i in range(level) for j in range(level - i)}, ["level 1", "missing ["]),
        (lambda depth, level: {(i, j) for i in range(level + 1) for j in range(level + 1)}, ["not expected", "i + j"]),
        (
            lambda depth, level: {(i, j) for i in range(depth + 1) for j in range(level + 1 - min(i, level))},
            ["not expected"],
        ),
        (lambda depth, level: (level + 1) * (level + 2) // 2, ["asks for a set"]),
    ],
)
def test_pruned_nodes_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch09.check_pruned_nodes, wrong, "Exercise 9.3 (pruned_nodes)", *words)


# --- types: what the statement says is checked ---------------------------------------------------------------


@pytest.mark.parametrize(
    "check, name, label, convert, words",
    [
        (ch09.check_node_input_channels, "node_input_channels", "Exercise 9.1", float, ["expected an int"]),
        (ch09.check_pruned_nodes, "pruned_nodes", "Exercise 9.3", sorted, ["asks for a set"]),
        (
            ch09.check_pruned_nodes,
            "pruned_nodes",
            "Exercise 9.3",
            lambda r: {(float(i), j) for i, j in r},
            ["expected an int"],
        ),
    ],
)
def test_results_of_another_type_than_the_statement_says_are_rejected(check, name, label, convert, words):
    assert_rejected(check, returning(SOLUTIONS[name], convert), label, *words)
