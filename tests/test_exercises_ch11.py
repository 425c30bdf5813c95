"""Chapter 11's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import statistics
import time

import pytest
import torch
from exercise_helpers import assert_rejected, notebook_solutions, returning, standard_exercise_tests

from segbook.exercises import ch11

SOLUTIONS = notebook_solutions("11_comparison.ipynb", 11)
CHECKS = [
    (ch11.check_pareto_front, "pareto_front"),
    (ch11.check_conv2d_flops, "conv2d_flops"),
    (ch11.check_latency_ms, "latency_ms"),
]


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


# --- Exercise 11.3 -----------------------------------------------------------------------------------------


def _latency(*, warm=True, median=True, no_grad=True, evaluate=True, restore=True, ms=True, own=(None, None)):
    """A latency_ms with one of the requirements of the statement dropped."""

    def latency_ms(model, image, repeats=10, warmup=2, clock=time.perf_counter):
        was_training = model.training
        if evaluate:
            model.eval()
        warmup_calls = warmup if own[0] is None else own[0]  # a number of its own instead of the argument
        repeat_calls = repeats if own[1] is None else own[1]
        times = []
        with torch.set_grad_enabled(not no_grad):
            for k in range(warmup_calls + repeat_calls):
                start = clock()
                model(image)
                if k >= warmup_calls or not warm:
                    times.append((1e3 if ms else 1.0) * (clock() - start))
        if restore:
            model.train(was_training)
        elif evaluate:
            model.train()  # the unconditional "put it back in training mode"
        return statistics.median(times) if median else sum(times) / len(times)

    return latency_ms


def latency_without_warmup(model, image, repeats=10, warmup=2, clock=time.perf_counter):
    times = []
    model.eval()
    with torch.no_grad():
        for _ in range(repeats):
            start = clock()
            model(image)
            times.append(1e3 * (clock() - start))
    model.train()
    return statistics.median(times)


def latency_whole_loop(model, image, repeats=10, warmup=2, clock=time.perf_counter):
    """Times the loop once and divides: a mean in disguise."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for _ in range(warmup):
            model(image)
        start = clock()
        for _ in range(repeats):
            model(image)
        total = clock() - start
    model.train(was_training)
    return 1e3 * total / repeats


def latency_ignores_the_clock(model, image, repeats=10, warmup=2, clock=time.perf_counter):
    """Times with time.perf_counter whatever clock it is given: the check's slow calls are not seen."""
    return SOLUTIONS["latency_ms"](model, image, repeats, warmup)


def latency_as_tensor(model, image, repeats=10, warmup=2, clock=time.perf_counter):
    return torch.tensor(SOLUTIONS["latency_ms"](model, image, repeats, warmup, clock))


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_latency(ms=False), ["every call takes 4 ms", "milliseconds"]),
        (_latency(median=False), ["slowed down to 50 ms", "middle of the sorted times"]),
        (latency_whole_loop, ["slowed down to 50 ms"]),
        (_latency(warm=False), ["warm-up is not timed", "one-off work"]),
        (latency_without_warmup, ["warm-up is not timed"]),
        (_latency(own=(2, None)), ["warmup=4, repeats=3", "the argument, not a number of your own"]),
        (_latency(own=(None, 10)), ["warmup=1, repeats=5", "use both arguments"]),
        (_latency(own=(2, 10)), ["warmup=1, repeats=5"]),
        (_latency(no_grad=False), ["autograd graph", "torch.no_grad()"]),
        (_latency(evaluate=False), ["evaluation mode", "dropout"]),
        (_latency(restore=False, evaluate=True), ["stays in evaluation mode", "the mode the model HAD"]),
        (latency_as_tensor, ["one-element tensor", ".item()"]),
        (latency_ignores_the_clock, ["every call takes 4 ms", "with clock()"]),
    ],
)
def test_latency_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch11.check_latency_ms, wrong, "Exercise 11.3 (latency_ms)", *words)


def test_latency_check_rejects_a_measure_that_leaves_the_model_in_evaluation_mode():
    def leaves_eval(model, image, repeats=10, warmup=2, clock=time.perf_counter):
        model.eval()
        return SOLUTIONS["latency_ms"](model, image, repeats, warmup, clock)

    assert_rejected(ch11.check_latency_ms, leaves_eval, "Exercise 11.3", "in training mode again afterwards")


def test_latency_check_accepts_inference_mode_and_the_lower_median(capsys):
    def inference_mode_version(model, image, repeats=10, warmup=2, clock=time.perf_counter):
        was_training = model.training
        model.eval()
        times = []
        with torch.inference_mode():
            for _ in range(warmup):
                model(image)
            for _ in range(repeats):
                start = clock()
                model(image)
                times.append((clock() - start) * 1000)
        model.train(was_training)
        return torch.tensor(times).median().item()  # the lower middle value: the check's middles agree

    assert ch11.check_latency_ms(inference_mode_version) is True
    assert "all 8 cases passed" in capsys.readouterr().out


def test_latency_solution_measures_a_real_model():
    model = torch.nn.Conv2d(3, 4, 3)
    value = SOLUTIONS["latency_ms"](model, torch.rand(1, 3, 16, 16), repeats=3, warmup=1)
    assert isinstance(value, float) and 0 < value < 10_000 and model.training
