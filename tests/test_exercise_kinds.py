"""The exercise kinds beyond "write this function": derived gradients and short questions.

``check_gradient`` must accept a hand-derived gradient, reject a wrong one and any use of autograd, and report the
placeholder; ``check_choice``/``check_number`` must accept the right answer (printing the reasoning), reject each
wrong one with its own hint, refuse values of the wrong kind, and report ``None`` as not attempted. The student
generator turns a question's solution into ``None``.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from segbook.book.student import strip_code_cell
from segbook.exercises import (
    ExerciseError,
    autograd_gradient,
    check_choice,
    check_gradient,
    check_number,
    numerical_gradient,
)
from segbook.losses import cross_entropy

LABEL = "Exercise 0.4 (ce_grad)"


def reference(logits, target):
    return F.cross_entropy(logits, target)


def _cases():
    g = torch.Generator().manual_seed(0)
    return [
        (
            "a random (2, 3, 2, 2) batch",
            (torch.randn(2, 3, 2, 2, generator=g), torch.randint(0, 3, (2, 2, 2), generator=g)),
        ),
        ("one pixel", (torch.tensor([[[[2.0]], [[-1.0]]]]), torch.tensor([[[1]]]))),
    ]


def _one_hot(target, classes, like):
    return F.one_hot(target, classes).movedim(-1, 1).to(like.dtype)


def ce_grad(logits, target):
    return (logits.softmax(1) - _one_hot(target, logits.shape[1], logits)) / target.numel()


def ce_grad_unscaled(logits, target):  # forgot the mean's 1/(number of pixels)
    return logits.softmax(1) - _one_hot(target, logits.shape[1], logits)


def ce_grad_by_autograd(logits, target):
    z = logits.clone().requires_grad_()
    return torch.autograd.grad(F.cross_entropy(z, target), z)[0]


def ce_grad_by_backward(logits, target):
    z = logits.clone().requires_grad_()
    F.cross_entropy(z, target).backward()
    return z.grad


def test_references_agree_with_a_hand_worked_gradient():
    # d/dx of sum(x^3) is 3x^2
    x = torch.tensor([1.0, -2.0, 0.5])
    expected = 3 * x.double() ** 2
    assert torch.allclose(autograd_gradient(lambda t: (t**3).sum(), (x,)), expected)
    assert torch.allclose(numerical_gradient(lambda t: (t**3).sum(), (x,)), expected, atol=1e-6)


def test_gradient_check_accepts_the_derived_gradient(capsys):
    assert check_gradient(LABEL, ce_grad, reference, _cases()) is True
    out = capsys.readouterr().out
    assert "all 2 cases passed" in out and "finite differences" in out


def test_gradient_check_rejects_a_wrong_scale():
    with pytest.raises(ExerciseError, match="case 1 of 2 failed") as info:
        check_gradient(LABEL, ce_grad_unscaled, reference, _cases(), hint="re-derive the mean")
    assert "re-derive the mean" in str(info.value)


@pytest.mark.parametrize("cheat", [ce_grad_by_autograd, ce_grad_by_backward])
def test_gradient_check_refuses_autograd(cheat):
    with pytest.raises(ExerciseError, match="asked autograd for the gradient"):
        check_gradient(LABEL, cheat, reference, _cases())


def test_gradient_check_refuses_the_package_and_reports_the_placeholder(capsys):
    with pytest.raises(ExerciseError, match="segbook's own"):
        check_gradient(LABEL, cross_entropy, reference, _cases())

    def placeholder(logits, target):
        raise NotImplementedError(f"{LABEL}: write your solution here")

    assert check_gradient(LABEL, placeholder, reference, _cases()) is False
    assert "not attempted yet" in capsys.readouterr().out


def test_gradient_check_refuses_a_case_where_its_references_disagree():
    # round() has a zero gradient for autograd, but a step of 1e-6 moves round(x * 1e7) by 20: the case is broken
    broken = [("a staircase", (torch.tensor([0.3]),))]
    with pytest.raises(RuntimeError, match="not differentiable"):
        check_gradient(LABEL, torch.zeros_like, lambda x: torch.round(x * 1e7).sum(), broken)


OPTIONS = {"a": "FCN-32s", "b": "FCN-8s", "c": "both the same"}
WRONG = {"a": "a coarser grid is not a wider view", "c": "count the layers each pixel's score sees"}


def choice(answer):
    return check_choice("Exercise 0.5 (answer_0_5)", answer, options=OPTIONS, correct="b", why="BECAUSE", wrong=WRONG)


@pytest.mark.parametrize("answer", ["b", "B", " b "])
def test_choice_accepts_the_right_letter_and_prints_why(answer, capsys):
    assert choice(answer) is True
    assert "correct. Why: BECAUSE" in capsys.readouterr().out


@pytest.mark.parametrize("letter", ["a", "c"])
def test_choice_rejects_each_wrong_option_with_its_own_hint(letter):
    with pytest.raises(ExerciseError) as info:
        choice(letter)
    assert WRONG[letter] in str(info.value) and OPTIONS[letter] in str(info.value)
    assert "BECAUSE" not in str(info.value)


@pytest.mark.parametrize(
    "answer, words",
    [(["b"], "one option letter as a string"), (2, "one option letter"), ("d", "not an option"), ("", "not an option")],
)
def test_choice_refuses_values_of_the_wrong_kind(answer, words):
    with pytest.raises(ExerciseError, match=words):
        choice(answer)


def test_the_explanation_is_filled_to_the_notebooks_88_columns(capsys):
    long_why = "a reason that goes on " * 20
    check_choice("Exercise 0.5 (answer_0_5)", "b", options=OPTIONS, correct="b", why=long_why, wrong=WRONG)
    check_number("Exercise 0.7 (answer_0_7)", 22, expected=22, why=long_why, hint="H")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 4 and max(map(len, lines)) <= 88
    assert " ".join(lines).count("goes on") == 40


def test_choice_reports_none_as_not_attempted(capsys):
    assert choice(None) is False
    assert "not attempted yet" in capsys.readouterr().out


def test_choice_needs_a_hint_for_every_wrong_option():
    with pytest.raises(ValueError, match="missing"):
        check_choice("Exercise 0.5 (answer_0_5)", "b", options=OPTIONS, correct="b", why="w", wrong={"a": "x"})


def several(answer):
    return check_choice(
        "Exercise 0.6 (answer_0_6)",
        answer,
        options=OPTIONS,
        correct=frozenset("ab"),
        why="W",
        wrong={"c": "they differ", "b": "B counts too"},
    )


def test_several_true_options_need_all_and_only_them(capsys):
    assert several({"a", "B"}) is True
    with pytest.raises(ExerciseError, match="is true too: B counts too"):
        several({"a"})
    with pytest.raises(ExerciseError, match="is not true: they differ"):
        several({"a", "b", "c"})
    with pytest.raises(ExerciseError, match="set of option letters"):
        several(["a", "b"])


def number(answer, **kwargs):
    return check_number(
        "Exercise 0.7 (answer_0_7)", answer, expected=22, why="W", hint="H", near={21: "off by one"}, **kwargs
    )


def test_number_accepts_the_value_and_prints_why(capsys):
    assert number(22, integer=True) is True
    assert number(22.00001) is True
    assert "correct. Why: W" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, integer, words",
    [
        (21, True, "off by one"),
        (30, True, "Hint: H"),
        (22.0, True, "expected an int"),
        (torch.tensor(22), False, r"\.item\(\)"),
        (True, True, "expected an int"),
        (math.nan, False, "finite"),
        ("22", False, "expected a number"),
    ],
)
def test_number_rejects_wrong_values_and_kinds(answer, integer, words):
    with pytest.raises(ExerciseError, match=words):
        number(answer, integer=integer)


def test_number_reports_none_as_not_attempted(capsys):
    assert number(None) is False
    assert "not attempted yet" in capsys.readouterr().out
    check_number("Exercise 10.13 (answer_10_13)", None, expected=1, why="W", hint="H")
    assert len(capsys.readouterr().out.rstrip("\n")) <= 88  # a student notebook's line, as Colab shows it


def test_student_generator_turns_a_question_answer_into_none():
    source = '# Exercise 3.4 (answer_3_4)\n### BEGIN SOLUTION\nanswer_3_4 = "b"  # the reason\n### END SOLUTION\n'
    stripped, labels = strip_code_cell(source)
    assert labels == ["Exercise 3.4 (answer_3_4)"]
    assert '"b"' not in stripped and "the reason" not in stripped
    scope: dict = {}
    exec(stripped, scope)
    assert scope["answer_3_4"] is None
