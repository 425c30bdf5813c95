"""Chapter 11's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import pytest
from exercise_helpers import assert_rejected, notebook_solutions, returning, standard_exercise_tests

from segbook.exercises import ch11

SOLUTIONS = notebook_solutions("11_comparison.ipynb", 11)
CHECKS = [(ch11.check_pareto_front, "pareto_front"), (ch11.check_conv2d_flops, "conv2d_flops")]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


# --- Exercise 11.1 -----------------------------------------------------------------------------------------


def front_strict_in_both(costs, scores):
    pts = list(zip(costs, scores))
    keep = [i for i, (c, s) in enumerate(pts) if not any(c2 < c and s2 > s for c2, s2 in pts)]
    return sorted(keep, key=lambda i: (costs[i], i))


def front_by_position(costs, scores):
    pts = list(zip(costs, scores))
    return [i for i, (c, s) in enumerate(pts) if not any(c2 <= c and s2 >= s and (c2 < c or s2 > s) for c2, s2 in pts)]


def front_sweep_drops_ties(costs, scores):
    keep, best = [], float("-inf")
    for i in sorted(range(len(costs)), key=lambda i: (costs[i], -scores[i], i)):
        if scores[i] > best:
            keep.append(i)
            best = scores[i]
    return keep


def front_no_strict_part(costs, scores):
    pts = list(zip(costs, scores))
    return [i for i, (c, s) in enumerate(pts) if not any(c2 <= c and s2 >= s for c2, s2 in pts)]


@pytest.mark.parametrize(
    "wrong, words",
    [
        (front_strict_in_both, ["worked by hand", "costs no more AND scores no less"]),
        (front_by_position, ["sorted by cost"]),
        (front_sweep_drops_ties, ["identical models", "keep both"]),
        (front_no_strict_part, ["worked by hand"]),
    ],
)
def test_pareto_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch11.check_pareto_front, wrong, "Exercise 11.1 (pareto_front)", *words)


# --- Exercise 11.2 -----------------------------------------------------------------------------------------


def _flops(c_in, c_out, k, h, w, stride=1, padding=0, factor=2, square=True, use_stride=True, use_pad=True):
    s = stride if use_stride else 1
    p = padding if use_pad else 0
    h_out, w_out = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return factor * c_in * c_out * (k**2 if square else k) * h_out * w_out


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda *a, **k: _flops(*a, **k, factor=1), ["worked by hand", "two (a multiply and an add)"]),
        (lambda *a, **k: _flops(*a, **k, square=False), ["worked by hand", "k²"]),
        (lambda *a, **k: _flops(*a, **k, use_stride=False), ["stride 2", "OUTPUT pixels"]),
        (lambda *a, **k: _flops(*a, **k, use_pad=False), ["worked by hand"]),
        (lambda *a, **k: float(_flops(*a, **k)), ["expected an int"]),
    ],
)
def test_conv_flops_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch11.check_conv2d_flops, wrong, "Exercise 11.2 (conv2d_flops)", *words)


# --- types: what the statement says is checked ---------------------------------------------------------------


@pytest.mark.parametrize(
    "check, name, label, convert, words",
    [
        (ch11.check_pareto_front, "pareto_front", "Exercise 11.1", tuple, ["asks for a list"]),
        (ch11.check_conv2d_flops, "conv2d_flops", "Exercise 11.2", float, ["expected an int"]),
    ],
)
def test_results_of_another_type_than_the_statement_says_are_rejected(check, name, label, convert, words):
    assert_rejected(check, returning(SOLUTIONS[name], convert), label, *words)
