"""Chapter 9's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import pytest
import torch
from exercise_helpers import assert_rejected, notebook_solutions, returning, standard_exercise_tests
from torch.nn import functional as F

from segbook.exercises import ExerciseError, ch09

SOLUTIONS = notebook_solutions("09_unet_plus_plus.ipynb", 9, F=F)
CHECKS = [
    (ch09.check_node_input_channels, "node_input_channels"),
    (ch09.check_deep_supervision_ce, "deep_supervision_ce"),
    (ch09.check_pruned_nodes, "pruned_nodes"),
    (ch09.check_average_heads, "average_heads"),
    (ch09.check_answer_9_5, "answer_9_5"),
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


# --- Exercise 9.4 ------------------------------------------------------------------------------------------


def average_logits(outputs):  # the mean of the logits: a confident head outvotes the others
    return torch.stack(outputs).mean(0)


def average_probabilities_without_log(outputs):  # the right average, not logits
    return torch.stack([F.softmax(o, dim=1) for o in outputs]).mean(0)


def average_log_probabilities(outputs):  # a geometric mean of the probabilities
    return torch.stack([F.log_softmax(o, dim=1) for o in outputs]).mean(0)


def log_of_the_sum(outputs):  # the same softmax, but not the log of the mean
    return torch.stack([F.log_softmax(o, dim=1) for o in outputs]).logsumexp(0)


def softmax_over_the_batch(outputs):
    return torch.stack([F.softmax(o, dim=0) for o in outputs]).mean(0).log()


def mean_over_the_batch(outputs):  # heads concatenated along the batch, then averaged over it
    return torch.cat([F.softmax(o, dim=1) for o in outputs]).mean(0, keepdim=True).log()


def log_of_the_mean_underflows(outputs):  # right, except that log(0) = -inf
    return torch.stack([F.softmax(o, dim=1) for o in outputs]).mean(0).log()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (average_logits, ["one head", "not the raw logits"]),
        (average_probabilities_without_log, ["one head", "return its log"]),
        (average_log_probabilities, ["worked by hand", "outvote the other two"]),
        (log_of_the_sum, ["worked by hand", "divides the sum by the number of heads"]),
        (softmax_over_the_batch, ["one head", "over the classes (dim 1)"]),
        (mean_over_the_batch, ["one head", "shape differs"]),
        (log_of_the_mean_underflows, ["+-100", "underflows to 0", "-inf", "at [0]: expected True, got False"]),
    ],
)
def test_average_heads_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch09.check_average_heads, wrong, "Exercise 9.4 (average_heads)", *words)


def test_average_heads_check_accepts_the_clamped_mean_of_segbooks_averageheads():
    """The package clamps the mean above 0 instead of staying in log space: both are right."""

    def clamped(outputs):
        probs = torch.stack([F.softmax(o, dim=1) for o in outputs]).mean(0)
        return probs.clamp_min(torch.finfo(probs.dtype).tiny).log()

    assert ch09.check_average_heads(clamped) is True


# --- Exercise 9.5 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrong, words",
    [
        ("a", ["share their nodes", "exercise 9.3"]),
        ("b", ["counts the nodes they share several times"]),
        ("d", ["head 3 needs the whole grid"]),
    ],
)
def test_answer_9_5_check_rejects_wrong_answers(wrong, words):
    with pytest.raises(ExerciseError) as info:
        ch09.check_answer_9_5(wrong)
    message = str(info.value)
    assert "Exercise 9.5 (answer_9_5)" in message and "Hint:" in message, message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("answer", [["c"], 3, "e"])
def test_answer_9_5_check_rejects_what_is_not_one_option_letter(answer):
    with pytest.raises(ExerciseError, match="Exercise 9.5"):
        ch09.check_answer_9_5(answer)


def test_answer_9_5_explanation_fits_the_column(capsys):
    assert ch09.check_answer_9_5(" C ") is True
    out = capsys.readouterr().out
    assert "correct. Why:" in out and max(len(line) for line in out.splitlines()) <= 88, out


def test_answer_9_5_is_what_the_model_measures():
    """The accurate mode costs about what head D costs: the heads share every node of the grid."""
    from segbook.models import AverageHeads, UNetPlusPlus, model_cost

    model = UNetPlusPlus(2, width=4, depth=3).eval()
    averaged = model_cost(AverageHeads(model), (3, 16, 16)).flops
    head_3 = model_cost(model.pruned(3), (3, 16, 16)).flops
    summed = sum(model_cost(model.pruned(level), (3, 16, 16)).flops for level in (1, 2, 3))
    assert head_3 <= averaged < 1.02 * head_3 < summed


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
