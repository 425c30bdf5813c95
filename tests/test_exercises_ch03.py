"""Chapter 3's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import inspect

import pytest
from exercise_helpers import assert_rejected, notebook_solutions, returning, standard_exercise_tests

from segbook.exercises import ExerciseError, ch03

SOLUTIONS = notebook_solutions("03_fully_convolutional.ipynb", 3)
CHECKS = [
    (ch03.check_conv_output_size, "conv_output_size"),
    (ch03.check_conv2d_flops, "conv2d_flops"),
    (ch03.check_receptive_field_size, "receptive_field_size"),
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
