"""Chapter 3's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import inspect

import pytest
import torch
from exercise_helpers import assert_rejected, notebook_solutions, returning, standard_exercise_tests
from torch import nn

from segbook.exercises import ExerciseError, ch03
from segbook.ops import count_flops, receptive_field

SOLUTIONS = notebook_solutions("03_fully_convolutional.ipynb", 3)
CHECKS = [
    (ch03.check_conv_output_size, "conv_output_size"),
    (ch03.check_conv2d_flops, "conv2d_flops"),
    (ch03.check_receptive_field_size, "receptive_field_size"),
    (ch03.check_answer_3_4, "answer_3_4"),
]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


# --- Exercise 3.1 ------------------------------------------------------------------------------------------------


def size_true_division(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1


def size_one_sided_padding(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + padding - dilation * (kernel_size - 1) - 1) // stride + 1


def size_ignores_dilation(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - kernel_size) // stride + 1


def size_rounds_up(size, kernel_size, stride=1, padding=0, dilation=1):
    return -(-(size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride) + 1


def size_forgets_plus_one(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride


@pytest.mark.parametrize(
    "wrong, case_words",
    [
        (size_true_division, "a true division /"),
        (size_one_sided_padding, "the slide's recap"),
        (size_ignores_dilation, "dilated kernel"),
        (size_rounds_up, "keep one in two"),
        (size_forgets_plus_one, "keeps 4"),
    ],
)
def test_conv_output_size_check_rejects_wrong_answers(wrong, case_words):
    assert_rejected(ch03.check_conv_output_size, wrong, "Exercise 3.1 (conv_output_size)", case_words)


# --- Exercise 3.2 ------------------------------------------------------------------------------------------------


def flops_macs(c_in, c_out, kernel_size, out_h, out_w):
    return c_in * c_out * kernel_size**2 * out_h * out_w


def flops_no_kernel_area(c_in, c_out, kernel_size, out_h, out_w):
    return 2 * c_in * c_out * kernel_size * out_h * out_w


def flops_float(c_in, c_out, kernel_size, out_h, out_w):
    return 2.0 * c_in * c_out * kernel_size**2 * out_h * out_w


def flops_square_output(c_in, c_out, kernel_size, out_h, out_w):
    return 2 * c_in * c_out * kernel_size**2 * out_h * out_h


@pytest.mark.parametrize(
    "wrong, case_words",
    [
        (flops_macs, "a multiply and an add"),
        (flops_no_kernel_area, "3x3 kernel"),
        (flops_float, "expected an int"),
        (flops_square_output, "non-square output"),
    ],
)
def test_conv2d_flops_check_rejects_wrong_answers(wrong, case_words):
    assert_rejected(ch03.check_conv2d_flops, wrong, "Exercise 3.2 (conv2d_flops)", case_words)


# --- Exercise 3.3 ------------------------------------------------------------------------------------------------


def field_jump_updated_first(layers):
    size, jump = 1, 1
    for k, s, d in layers:
        jump *= s
        size += d * (k - 1) * jump
    return size, jump


def field_ignores_jump(layers):
    size, jump = 1, 1
    for k, s, d in layers:
        size += d * (k - 1)
        jump *= s
    return size, jump


def field_ignores_dilation(layers):
    size, jump = 1, 1
    for k, s, _d in layers:
        size += (k - 1) * jump
        jump *= s
    return size, jump


def field_sums_kernels(layers):
    return sum(k for k, _, _ in layers) or 1, 1


def field_dilation_multiplies_jump(layers):
    size, jump = 1, 1
    for k, s, d in layers:
        size += d * (k - 1) * jump
        jump *= s * d
    return size, jump


@pytest.mark.parametrize(
    "wrong, case_words",
    [
        (field_jump_updated_first, "a stride-2 3x3 convolution"),
        (field_ignores_jump, "stride-2"),
        (field_ignores_dilation, "dilations 1, 2, 4"),
        (field_sums_kernels, "three 3x3 convolutions"),
        (field_dilation_multiplies_jump, "dilations 1, 2, 4"),
    ],
)
def test_receptive_field_check_rejects_wrong_answers(wrong, case_words):
    assert_rejected(ch03.check_receptive_field_size, wrong, "Exercise 3.3 (receptive_field_size)", case_words)


# --- types: what the statement says is checked ---------------------------------------------------------------


@pytest.mark.parametrize(
    "check, name, label, convert, words",
    [
        (ch03.check_receptive_field_size, "receptive_field_size", "Exercise 3.3", list, ["asks for a tuple"]),
        (
            ch03.check_receptive_field_size,
            "receptive_field_size",
            "Exercise 3.3",
            lambda r: (float(r[0]), r[1]),
            ["expected an int"],
        ),
    ],
)
def test_results_of_another_type_than_the_statement_says_are_rejected(check, name, label, convert, words):
    assert_rejected(check, returning(SOLUTIONS[name], convert), label, *words)


def flops_float_constant(c_in, c_out, kernel_size, out_h, out_w):
    return 2.0 * c_in * c_out * kernel_size**2 * out_h * out_w  # right value, no division anywhere


def test_conv2d_flops_float_without_a_division_is_not_told_to_use_floor_division():
    assert_rejected(
        ch03.check_conv2d_flops, flops_float_constant, "Exercise 3.2 (conv2d_flops)", "expected an int", "2.0"
    )
    with pytest.raises(ExerciseError) as info:
        ch03.check_conv2d_flops(flops_float_constant)
    assert "use //" not in str(info.value) and "instead of /" not in str(info.value)


def test_conv_output_size_hints_do_not_give_the_formula():
    source = inspect.getsource(ch03.check_conv_output_size)
    for formula in ["// stride + 1", "// s + 1", "// 2 + 1", "dilation * (kernel_size - 1) - 1"]:
        assert formula not in source, formula


# --- Exercise 3.4 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, words",
    [
        ({"a", "c"}, ["'e'", "is true too", "(4u, 4v)"]),
        ({"c", "e"}, ["'a'", "is true too", "layer by layer"]),
        ({"a", "e"}, ["'c'", "is true too", "halves the side"]),
        ({"a", "b", "c", "e"}, ["'b'", "is not true", "apply the recurrence to A too"]),
        ({"a", "c", "d", "e"}, ["'d'", "is not true", "does it add any"]),
        ({"a", "c", "e", "f"}, ["'f'", "is not true", "how large a map"]),
        ({"b", "d", "f"}, ["'b'", "is not true"]),
        ("a", ["'c'", "is true too"]),
        (["a", "c", "e"], ["expected a set of option letters"]),
    ],
)
def test_atrous_question_rejects_wrong_answers(answer, words):
    with pytest.raises(ExerciseError) as info:
        ch03.check_answer_3_4(answer)
    message = str(info.value)
    assert "Exercise 3.4 (answer_3_4)" in message
    for word in words:
        assert word in message, (word, message)


def _network(atrous: bool) -> nn.Sequential:
    """Exercise 3.4's A (3x3 max poolings with stride 2) or B (stride 1, dilations 1, 1, 2, 2, 4), all padded."""

    def pool(dilation):
        if not atrous:
            return [nn.MaxPool2d(3, stride=2, padding=1)]
        # PyTorch pads a pooling by at most half its (undilated) kernel: pad with -inf explicitly, as max pooling does
        return [nn.ConstantPad2d(dilation, float("-inf")), nn.MaxPool2d(3, stride=1, dilation=dilation)]

    def conv(c_in, c_out, dilation):
        d = dilation if atrous else 1
        return [nn.Conv2d(c_in, c_out, 3, padding=d, dilation=d)]

    return nn.Sequential(
        *conv(3, 8, 1), nn.ReLU(), *pool(1), *conv(8, 8, 2), nn.ReLU(), *pool(2), *conv(8, 5, 4)
    ).eval()


def test_atrous_question_explanation_holds_for_the_two_networks():
    """a, c, e true and b, d, f false, measured on the two networks built as the statement says."""
    torch.manual_seed(0)
    a, b = _network(atrous=False), _network(atrous=True)
    convs_a, convs_b = ([m for m in net if isinstance(m, nn.Conv2d)] for net in (a, b))
    for conv_a, conv_b in zip(convs_a, convs_b):  # the same weights (d: and the same number of them)
        conv_b.load_state_dict(conv_a.state_dict())
    assert sum(p.numel() for p in a.parameters()) == sum(p.numel() for p in b.parameters())
    spatial = [m for m in a if isinstance(m, (nn.Conv2d, nn.MaxPool2d))]
    dilated = [m for m in b if isinstance(m, (nn.Conv2d, nn.MaxPool2d))]
    field_a, field_b = receptive_field(spatial), receptive_field(dilated)
    assert (field_a.size, field_a.jump, field_b.size, field_b.jump) == (21, 4, 21, 1)  # a (and not b)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        out_a, out_b = a(x), b(x)
    assert out_a.shape[-2:] == (16, 16) and out_b.shape[-2:] == (64, 64)  # c
    assert torch.allclose(out_b[..., ::4, ::4], out_a, atol=1e-6)  # e
    last_a = count_flops(a[-1], torch.zeros(1, 8, 16, 16))
    last_b = count_flops(b[-1], torch.zeros(1, 8, 64, 64))
    assert last_b == 16 * last_a  # f is false


def test_atrous_question_networks_are_the_books_receptive_field_arithmetic():
    a_layers = [(3, 1, 1), (3, 2, 1), (3, 1, 1), (3, 2, 1), (3, 1, 1)]
    b_layers = [(3, 1, 1), (3, 1, 1), (3, 1, 2), (3, 1, 2), (3, 1, 4)]
    solve = SOLUTIONS["receptive_field_size"]
    assert solve(a_layers) == (21, 4) and solve(b_layers) == (21, 1)


@pytest.mark.parametrize(
    "check, name",
    [
        (ch03.check_answer_3_4, "answer_3_4"),
    ],
)
def test_question_explanations_fit_the_notebooks_88_columns(check, name, capsys):
    assert check(SOLUTIONS[name]) is True
    out = capsys.readouterr().out
    assert "correct. Why:" in out and max(len(line) for line in out.splitlines()) <= 88, out
