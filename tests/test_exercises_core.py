"""The exercise-check machinery: what a student sees when an exercise passes, fails or is not attempted."""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pytest
import torch

from segbook.exercises import Case, ExerciseError, allclose, default_compare, describe, run_checks

LABEL = "Exercise 9.1 (double)"


def double(x):
    return 2 * x


def placeholder(x):
    raise NotImplementedError(f"{LABEL}: write your solution here")


# --------------------------------------------------------------------------- run_checks outcomes


def test_all_cases_passing_prints_one_line_and_returns_true(capsys):
    cases = [Case("an int", (2,), expected=4), Case("a tensor", (torch.tensor([1, 2]),), expected=torch.tensor([2, 4]))]
    assert run_checks(LABEL, double, cases) is True
    assert capsys.readouterr().out == f"{LABEL}: all 2 cases passed.\n"


def test_placeholder_prints_not_attempted_and_returns_false_without_raising(capsys):
    assert run_checks(LABEL, placeholder, [Case("an int", (2,), expected=4)]) is False
    out = capsys.readouterr().out
    assert out.startswith(f"{LABEL} is not attempted yet: replace `raise NotImplementedError(...)`")
    assert "run this cell again" in out


def test_bare_not_implemented_error_in_the_function_counts_as_not_attempted(capsys):
    def one_hot(x):
        raise NotImplementedError

    assert run_checks(LABEL, one_hot, [Case("an int", (2,), expected=4)]) is False
    assert "not attempted yet" in capsys.readouterr().out


def test_not_implemented_error_from_a_called_library_is_reported_as_a_failure():
    def helper(x):
        raise NotImplementedError("this op has no kernel for that dtype")

    def student(x):
        return helper(x)

    with pytest.raises(ExerciseError, match="no kernel for that dtype") as info:
        run_checks(LABEL, student, [Case("an int", (2,), expected=4)])
    assert "not from the exercise placeholder" in str(info.value)


def test_exercise_error_is_an_assertion_error():
    assert issubclass(ExerciseError, AssertionError)


def test_failure_message_names_exercise_case_inputs_expected_got_and_hint():
    cases = [
        Case("an int", (2,), expected=4),
        Case(
            "a 2x2 map",
            (torch.tensor([[0, 1], [2, 0]]),),
            expected=torch.tensor([[0, 2], [4, 0]]),
            hint="multiply, do not add",
        ),
    ]

    def wrong(x):
        return x + 2 if isinstance(x, torch.Tensor) else 2 * x

    with pytest.raises(ExerciseError) as info:
        run_checks(LABEL, wrong, cases)
    message = str(info.value)
    assert message.startswith(f'{LABEL}: case 2 of 2 failed: "a 2x2 map"')
    assert "wrong(tensor(shape=(2, 2), dtype=torch.int64, values=[[0, 1], [2, 0]]))" in message
    assert "expected: tensor(shape=(2, 2), dtype=torch.int64, values=[[0, 2], [4, 0]])" in message
    assert "got:      tensor(shape=(2, 2), dtype=torch.int64, values=[[2, 3], [4, 2]])" in message
    assert "values differ at index (0, 0): expected 0, got 2 (3 of 4 elements differ)" in message
    assert "hint:     multiply, do not add" in message


def test_checking_stops_at_the_first_failing_case():
    calls = []

    def student(x):
        calls.append(x)
        return 0

    with pytest.raises(ExerciseError, match="case 1 of 3"):
        run_checks(LABEL, student, [Case(f"case {i}", (i,), expected=2 * i + 1) for i in range(3)])
    assert calls == [0]


def test_exception_in_student_code_is_reported_with_type_message_and_chained():
    def student(x):
        return x[5]

    with pytest.raises(ExerciseError) as info:
        run_checks(
            LABEL,
            student,
            [Case("a short tensor", (torch.arange(3),), expected=torch.tensor(0), hint="index within bounds")],
        )
    message = str(info.value)
    assert "raised:   IndexError: index 5 is out of bounds" in message
    assert "hint:     index within bounds" in message
    assert isinstance(info.value.__cause__, IndexError)


def test_raises_case_passes_when_the_expected_error_is_raised(capsys):
    def student(x):
        if x < 0:
            raise ValueError("x must be >= 0")
        return 2 * x

    assert run_checks(LABEL, student, [Case("negative", (-1,), raises=ValueError)]) is True
    assert "all 1 case passed" in capsys.readouterr().out


def test_raises_case_fails_when_nothing_is_raised():
    with pytest.raises(
        ExerciseError,
        match=r"expected: an exception of type ValueError\n.*no exception; "
        r"the function returned -2",
    ):
        run_checks(LABEL, double, [Case("negative", (-1,), raises=ValueError)])


def test_raises_case_fails_when_another_error_is_raised():
    def student(x):
        raise TypeError("wrong kind")

    with pytest.raises(ExerciseError, match=r"an exception of type ValueError\n.*raised:   TypeError: wrong kind"):
        run_checks(LABEL, student, [Case("negative", (-1,), raises=ValueError)])


def test_modifying_an_input_tensor_in_place_is_reported_with_its_name():
    def student(target, value):
        target[target == 255] = value  # in place: the caller's tensor changes
        return target

    target = torch.tensor([0, 255, 1])
    with pytest.raises(ExerciseError, match=r"changed its input `target` in place"):
        run_checks(LABEL, student, [Case("ignore pixels", (target, 0), expected=torch.tensor([0, 0, 1]))])
    assert torch.equal(target, torch.tensor([0, 255, 1])), "the case's own tensor must be left untouched"


def test_in_place_check_covers_keyword_and_nested_arguments():
    def student(xs, *, scale):
        xs[0].mul_(scale)
        return xs[0]

    with pytest.raises(ExerciseError, match=r"changed its input `xs` in place"):
        run_checks(LABEL, student, [Case("a list", ([torch.ones(2)],), {"scale": 3.0}, expected=3 * torch.ones(2))])

    def student_np(a):
        a += 1
        return a

    with pytest.raises(ExerciseError, match=r"changed its input `a` in place"):
        run_checks(LABEL, student_np, [Case("an array", (np.zeros(2),), expected=np.ones(2))])


def test_each_case_gets_fresh_copies_of_its_inputs():
    shared = torch.zeros(2)
    seen = []

    def student(x):
        seen.append(x)
        return x + 1

    run_checks(
        LABEL,
        student,
        [Case("first", (shared,), expected=torch.ones(2)), Case("second", (shared,), expected=torch.ones(2))],
    )
    assert seen[0] is not shared and seen[1] is not shared and seen[0] is not seen[1]


def test_custom_compare_is_used_and_its_reason_shown():
    def same_sign(expected, got):
        return (math.copysign(1, expected) == math.copysign(1, got), "the sign is wrong")

    assert run_checks(LABEL, double, [Case("sign only", (3,), expected=1.0, compare=same_sign)])
    with pytest.raises(ExerciseError, match="problem:  the sign is wrong"):
        run_checks(LABEL, double, [Case("sign only", (3,), expected=-1.0, compare=same_sign)])


def test_derive_compares_a_value_computed_from_the_result_and_the_arguments(capsys):
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    cases = [
        Case(
            "the gradient of sum(x**2) is 2x",
            (x,),
            expected=torch.tensor([2.0, -4.0]),
            derive=lambda loss, args, kwargs: torch.autograd.grad(loss, args[0])[0],
            hint="differentiable",
        )
    ]
    assert run_checks(LABEL, lambda t: (t**2).sum(), cases) is True
    with pytest.raises(ExerciseError, match="gradient of sum"):
        run_checks(LABEL, lambda t: (t**3).sum(), cases)
    with pytest.raises(ExerciseError, match="problem:  RuntimeError"):  # a result without a graph
        run_checks(LABEL, lambda t: (t.detach() ** 2).sum(), cases)


def test_compare_that_does_not_return_ok_and_reason_is_a_type_error():
    with pytest.raises(TypeError, match=r"must return \(ok, reason\)"):
        run_checks(LABEL, double, [Case("bad compare", (3,), expected=6, compare=lambda e, g: True)])


def test_messages_are_plain_text_without_ansi_escapes(capsys):
    with pytest.raises(ExerciseError) as info:
        run_checks(LABEL, double, [Case("x", (torch.ones(3),), expected=torch.ones(3), hint="h")])
    run_checks(LABEL, placeholder, [Case("x", (1,), expected=2)])
    assert "\x1b" not in str(info.value) and "\x1b" not in capsys.readouterr().out


# --------------------------------------------------------------------------- argument checking


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(description="", args=()), TypeError, "description must be a non-empty str"),
        (dict(description="x", args=[1]), TypeError, "args must be a tuple"),
        (dict(description="x", args=(1,), kwargs=4), TypeError, "pass the result as expected="),
        (dict(description="x", raises="ValueError"), TypeError, "raises must be an exception class"),
        (dict(description="x", compare=3), TypeError, "compare must be a callable"),
        (dict(description="x", hint=None), TypeError, "hint must be a str"),
    ],
)
def test_case_rejects_bad_fields_with_a_message(kwargs, error, message):
    with pytest.raises(error, match=message):
        Case(**kwargs)


@pytest.mark.parametrize(
    "exercise, fn, cases, message",
    [
        ("", double, [Case("x", (1,), expected=2)], "exercise must be a non-empty str"),
        (LABEL, "double", [Case("x", (1,), expected=2)], "expected a function to check"),
        (LABEL, double, [], "non-empty list of Case objects"),
        (LABEL, double, [("x", (1,), 2)], "only Case objects"),
    ],
)
def test_run_checks_rejects_bad_arguments_with_a_message(exercise, fn, cases, message):
    with pytest.raises(TypeError, match=message):
        run_checks(exercise, fn, cases)


# --------------------------------------------------------------------------- default_compare

NAN = float("nan")


@pytest.mark.parametrize(
    "expected, got, reason",
    [
        (torch.zeros(2, 3), torch.zeros(3, 2), "shape differs: expected (2, 3), got (3, 2)"),
        (torch.zeros(2, dtype=torch.int64), torch.zeros(2), "dtype differs: expected torch.int64, got torch.float32"),
        (torch.tensor([10**6]), torch.tensor([10**6 + 1]), "values differ at index 0: expected 1000000, got 1000001"),
        (torch.tensor([True, False]), torch.tensor([True, True]), "values differ at index 1: expected False, got True"),
        (torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.001]), "largest absolute difference 0.001"),
        (torch.tensor([NAN]), torch.tensor([0.0]), "values differ at index 0: expected nan, got 0.0"),
        (
            torch.tensor(0.5),
            torch.tensor(0.75),
            "value differs: expected 0.5, got 0.75 (largest absolute difference 0.25)",
        ),
        (torch.zeros(2), np.zeros(2, dtype=np.float32), "expected a torch.Tensor, got a numpy.ndarray"),
        (np.zeros((2, 2)), np.zeros((2, 2), dtype=np.float32), "dtype differs: expected float64, got float32"),
        (np.array([1, 2, 3]), np.array([1, 2, 4]), "values differ at index 2: expected 3, got 4"),
        (np.zeros(2), torch.zeros(2, dtype=torch.float64), "expected a numpy.ndarray, got a torch.Tensor"),
        (3.0, torch.tensor(3.0), "use .item() to turn it into a number"),
        (0.5, 0.6, "expected 0.5, got 0.6"),
        (2, "2", "expected a number, got a str"),
        (True, 1, "expected the bool True, got an int"),
        ((1, 2), (1, 2, 3), "expected 2 items, got 3"),
        ([1, (2, torch.zeros(1))], [1, (2, torch.ones(1))], "at [1][1]: values differ at index 0"),
        ({"a": 1, "b": 2}, {"a": 1, "c": 2}, "missing keys ['b']; unexpected keys ['c']"),
        ({"iou": 0.5}, {"iou": 0.25}, "at ['iou']: expected 0.5, got 0.25"),
        ("max", "min", "expected 'max', got 'min'"),
        (None, 0, "expected None (None), got 0 (an int)"),
        (3, torch.tensor([3, 3]), "expected a number, got a torch.Tensor"),
        ("ab", np.array(["ab"]), "expected a str 'ab', got a numpy.ndarray"),
    ],
)
def test_default_compare_rejects_and_explains(expected, got, reason):
    ok, message = default_compare(expected, got)
    assert not ok
    assert reason in message


@pytest.mark.parametrize(
    "expected, got",
    [
        (torch.tensor([1.0, NAN]), torch.tensor([1.0 + 1e-7, NAN])),
        (torch.tensor([[1, 2]]), torch.tensor([[1, 2]])),
        (torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True) * 1.0),
        (np.array([0.1, NAN]), np.array([0.1 + 1e-9, NAN])),
        (1.0, 1.0 + 1e-7),
        (NAN, NAN),
        (2, 2.0),
        (3, np.int64(3)),
        ([1, (2.0, "a")], (1, [2.0, "a"])),
        ({"a": torch.zeros(1)}, {"a": torch.zeros(1)}),
        (None, None),
        (False, np.bool_(False)),
    ],
)
def test_default_compare_accepts_equal_values(expected, got):
    assert default_compare(expected, got) == (True, "")


def test_allclose_factory_sets_the_float_tolerance():
    expected, got = torch.tensor([1.0]), torch.tensor([1.01])
    assert not default_compare(expected, got)[0]
    assert allclose(rtol=0.0, atol=0.02)(expected, got) == (True, "")
    assert not allclose(rtol=0.0, atol=0.001)(expected, got)[0]
    assert allclose(atol=0.1)(1.0, 1.05) == (True, "")


def test_allclose_rejects_negative_tolerance():
    with pytest.raises(ValueError, match="atol must be >= 0.0"):
        allclose(atol=-1.0)


def test_describe_shows_shape_dtype_and_a_short_preview_of_large_tensors():
    text = describe(torch.arange(1000).reshape(10, 100))
    assert text.startswith("tensor(shape=(10, 100), dtype=torch.int64, values=[0, 1, 2, 3, 4, 5, 6, 7, ...]")
    assert "first 8 of 1000 values" in text
    assert len(describe(list(range(1000)))) <= 120
    assert re.fullmatch(
        r"array\(shape=\(2,\), dtype=float64, values=\[0\.5, 0\.25\]\)", describe(np.array([0.5, 0.25]))
    )


# --------------------------------------------------------------------------- segbook's own function as the answer


def _own_function_cases():
    import segbook.data
    import segbook.losses
    import segbook.metrics
    from segbook.exercises import ch01, ch05

    @functools.wraps(segbook.data.one_hot)
    def wrapped(*args, **kwargs):
        return segbook.data.one_hot(*args, **kwargs)

    return [
        (ch01.check_one_hot, segbook.data.one_hot, "segbook.data"),
        (ch01.check_one_hot, wrapped, "one_hot"),
        (ch01.check_iou_from_confusion, segbook.metrics.iou_per_class, "iou_per_class"),
        (ch05.check_cross_entropy_lse, functools.partial(segbook.losses.cross_entropy), "cross_entropy"),
        (ch05.check_bce_with_logits, segbook.losses.BinaryCrossEntropyLoss(), "BinaryCrossEntropyLoss"),
        (ch05.check_cross_entropy_lse, segbook.losses.CrossEntropyLoss().forward, "CrossEntropyLoss.forward"),
    ]


@pytest.mark.parametrize("check, own, name", _own_function_cases())
def test_passing_segbooks_own_implementation_is_refused(check, own, name):
    with pytest.raises(ExerciseError) as info:
        check(own)
    message = str(info.value)
    assert "you passed segbook's own" in message and name in message and "write your own" in message, message


def test_a_students_function_that_calls_torch_is_not_mistaken_for_segbooks(capsys):
    assert run_checks(LABEL, functools.partial(double), [Case("two", (2,), expected=4)]) is True
