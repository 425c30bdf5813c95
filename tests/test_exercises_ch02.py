"""Chapter 2's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import copy

import pytest
import torch
from exercise_helpers import assert_rejected, notebook_solutions, standard_exercise_tests
from torch import nn
from torch.nn import functional as F

from segbook.exercises import ExerciseError, ch02
from segbook.models import PatchClassifier
from segbook.ops import convolutionalize, count_flops, pad_for_patches, sliding_window_predict

SOLUTIONS = notebook_solutions("02_sliding_window.ipynb", 2, nn=nn)
CHECKS = [
    (ch02.check_extract_patches, "extract_patches"),
    (ch02.check_shared_fraction, "shared_fraction"),
    (ch02.check_linear_to_conv, "linear_to_conv"),
    (ch02.check_answer_2_4, "answer_2_4"),
    (ch02.check_answer_2_5, "answer_2_5"),
]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


def test_checks_leave_the_global_random_state_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    for check, name in CHECKS:  # linear_to_conv's solution builds a Conv2d, which draws random weights
        check(SOLUTIONS[name])
    assert torch.equal(torch.rand(3), expected)  # so a student version's later cells see the book's random numbers


# --- Exercise 2.1: plausible wrong answers --------------------------------------------------------------------


def patches_unfold_without_permute(images, patch_size):
    if patch_size % 2 == 0:
        raise ValueError("odd")
    n, c, h, w = images.shape
    return F.unfold(images, patch_size, padding=patch_size // 2).reshape(n * h * w, c, patch_size, patch_size)


def patches_without_padding(images, patch_size):
    if patch_size % 2 == 0:
        raise ValueError("odd")
    n, c = images.shape[:2]
    windows = images.unfold(2, patch_size, 1).unfold(3, patch_size, 1)  # valid windows only
    return windows.permute(0, 2, 3, 1, 4, 5).reshape(-1, c, patch_size, patch_size)


def patches_replicate_padding(images, patch_size):
    if patch_size % 2 == 0:
        raise ValueError("odd")
    r = patch_size // 2
    n, c, h, w = images.shape
    padded = F.pad(images, (r, r, r, r), mode="replicate")
    return (
        padded.unfold(2, patch_size, 1)
        .unfold(3, patch_size, 1)
        .permute(0, 2, 3, 1, 4, 5)
        .reshape(n * h * w, c, patch_size, patch_size)
    )


def patches_no_even_check(images, patch_size):
    r = patch_size // 2
    n, c, h, w = images.shape
    padded = F.pad(images, (r, r, r, r))
    return (
        padded.unfold(2, patch_size, 1)
        .unfold(3, patch_size, 1)[:, :, :h, :w]
        .permute(0, 2, 3, 1, 4, 5)
        .reshape(n * h * w, c, patch_size, patch_size)
    )


def patches_channels_last(images, patch_size):
    if patch_size % 2 == 0:
        raise ValueError("odd")
    r = patch_size // 2
    n, c, h, w = images.shape
    padded = F.pad(images, (r, r, r, r))
    windows = padded.unfold(2, patch_size, 1).unfold(3, patch_size, 1)  # (N, C, H, W, P, P)
    return windows.permute(0, 2, 3, 4, 5, 1).reshape(n * h * w, patch_size, patch_size, c)


@pytest.mark.parametrize(
    "wrong, case_words",
    [
        (patches_unfold_without_permute, "patch n*H*W + i*W + j belongs to pixel"),
        (patches_without_padding, "the centre pixel's patch is the whole image"),
        (patches_replicate_padding, "zeros on every side"),
        (patches_no_even_check, "raise ValueError"),
        (patches_channels_last, "shape differs"),
    ],
)
def test_extract_patches_check_rejects_wrong_answers(wrong, case_words):
    with pytest.raises(ExerciseError) as info:
        ch02.check_extract_patches(wrong)
    message = str(info.value)
    assert "Exercise 2.1 (extract_patches)" in message and "hint" in message
    assert case_words in message


# --- Exercise 2.2 ------------------------------------------------------------------------------------------------


def shared_no_clamp(patch_size, dy, dx):
    return (patch_size - abs(dy)) * (patch_size - abs(dx)) / patch_size**2


def shared_signed(patch_size, dy, dx):
    return max(0, patch_size - dy) * max(0, patch_size - dx) / patch_size**2


def shared_one_axis(patch_size, dy, dx):
    return max(0, patch_size - abs(dy) - abs(dx)) / patch_size


def shared_pixels_not_fraction(patch_size, dy, dx):
    return max(0, patch_size - abs(dy)) * max(0, patch_size - abs(dx))


@pytest.mark.parametrize(
    "wrong, case_words",
    [
        (shared_no_clamp, "far apart share nothing"),
        (shared_signed, "negative shifts"),
        (shared_one_axis, "diagonal neighbour"),
        (shared_pixels_not_fraction, "right-hand neighbour"),
    ],
)
def test_shared_fraction_check_rejects_wrong_answers(wrong, case_words):
    assert_rejected(ch02.check_shared_fraction, wrong, "Exercise 2.2 (shared_fraction)", case_words)


# --- Exercise 2.3 ------------------------------------------------------------------------------------------------


def conv_wrong_order(linear, in_shape):
    c, h, w = in_shape
    conv = nn.Conv2d(c, linear.out_features, (h, w), bias=linear.bias is not None)
    with torch.no_grad():  # treats the features as (h, w, c): channels last
        conv.weight.copy_(linear.weight.reshape(linear.out_features, h, w, c).permute(0, 3, 1, 2))
        if linear.bias is not None:
            conv.bias.copy_(linear.bias)
    return conv


def conv_forgets_bias(linear, in_shape):
    c, h, w = in_shape
    conv = nn.Conv2d(c, linear.out_features, (h, w))
    with torch.no_grad():
        conv.weight.copy_(linear.weight.reshape(linear.out_features, c, h, w))
    return conv


def conv_one_by_one(linear, in_shape):
    conv = nn.Conv2d(linear.in_features, linear.out_features, 1)
    with torch.no_grad():
        conv.weight.copy_(linear.weight[:, :, None, None])
        conv.bias.copy_(linear.bias)
    return conv


def conv_square_kernel(linear, in_shape):
    c, h, w = in_shape
    conv = nn.Conv2d(c, linear.out_features, h, bias=linear.bias is not None)
    if h == w:
        with torch.no_grad():
            conv.weight.copy_(linear.weight.reshape(linear.out_features, c, h, w))
            if linear.bias is not None:
                conv.bias.copy_(linear.bias)
    return conv


def returns_the_linear(linear, in_shape):
    return linear


@pytest.mark.parametrize(
    "wrong, case_words",
    [
        (conv_wrong_order, "(2, 3, 3) map"),
        (conv_forgets_bias, "and the bias"),
        (conv_one_by_one, "kernel_size=(1, 1)"),
        (conv_square_kernel, "non-square"),
        (returns_the_linear, "expected an nn.Conv2d"),
    ],
)
def test_linear_to_conv_check_rejects_wrong_answers(wrong, case_words):
    assert_rejected(ch02.check_linear_to_conv, wrong, "Exercise 2.3 (linear_to_conv)", case_words)


def test_linear_to_conv_failure_says_what_is_expected_not_none():
    with pytest.raises(ExerciseError) as info:
        ch02.check_linear_to_conv(conv_square_kernel)
    message = str(info.value)
    assert "expected: None" not in message, message
    assert "expected: an nn.Conv2d(" in message and "that computes the Linear layer" in message, message


# --- Exercise 2.4 ------------------------------------------------------------------------------------------------


def test_repeated_work_answer_is_the_measured_first_layer_flop_ratio():
    """The expected ratio is what FlopCounterMode measures on the chapter's classifier and its conversion."""
    torch.manual_seed(0)
    classifier = PatchClassifier(5, patch_size=15, hidden=32).eval()
    image = torch.rand(1, 3, 64, 64)
    window = count_flops(classifier[0], torch.zeros(1, 3, 15, 15)) * 64 * 64
    dense = count_flops(convolutionalize(classifier).body[0], pad_for_patches(image, 15))
    assert ch02.check_answer_2_4(window / dense) is True


@pytest.mark.parametrize("answer", [120, 119.8, 64 * 64 * 13**2 / 76**2])
def test_repeated_work_accepts_the_ratio_to_three_digits(answer):
    assert ch02.check_answer_2_4(answer) is True


@pytest.mark.parametrize(
    "answer, words",
    [
        (169, "inside the image is computed"),  # the interior count, border of the dense map forgotten
        (64 * 64 * 169 / 78**2, "the first convolution is valid"),  # the padded image's size, not the map's
        (64 * 64 * 169 / 62**2, "not over the bare image"),  # no padding in the dense network
        (64 * 64 * 225 / 76**2, "not the patch's pixels"),  # P^2 per patch
        (64 * 64 * 225 / 78**2, "not pixels"),
        (225, "copied into"),
        (4096, "forward passes"),
        (64 * 64 * 169, "count alone; divide"),
        (76 * 76, "convolutionalized network's count alone"),
        (76**2 / (64 * 64 * 169), "upside down"),
        (100.0, "count each side on its own"),  # no known slip: the general hint
    ],
)
def test_repeated_work_rejects_each_slip_with_its_hint(answer, words):
    with pytest.raises(ExerciseError) as info:
        ch02.check_answer_2_4(answer)
    message = str(info.value)
    assert "Exercise 2.4 (answer_2_4)" in message and "Hint" in message and words in message, message


def test_repeated_work_refuses_a_tensor():
    with pytest.raises(ExerciseError, match=r"\.item\(\)"):
        ch02.check_answer_2_4(torch.tensor(119.84))


# --- Exercise 2.5 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, words",
    [
        ("a", "how many positions does each compute"),
        ("c", "still has a stride of 2"),
        ("d", "no stride left anywhere"),
    ],
)
def test_atrous_question_rejects_each_wrong_option(answer, words):
    with pytest.raises(ExerciseError) as info:
        ch02.check_answer_2_5(answer)
    message = str(info.value)
    assert "Exercise 2.5 (answer_2_5)" in message and "Hint" in message and words in message, message


def test_atrous_question_accepts_the_letter_in_upper_case():
    assert ch02.check_answer_2_5(" B ") is True


@pytest.mark.parametrize("answer", [{"b"}, 2, "e"])
def test_atrous_question_refuses_other_kinds_of_answer(answer):
    with pytest.raises(ExerciseError):
        ch02.check_answer_2_5(answer)


def _undilated(fcn, keep_stride):
    """The two shortcuts of Exercise 2.5: A keeps the pooling's stride (keep_stride), B drops it; no dilation."""
    body = copy.deepcopy(fcn.body)
    for layer in body:
        if isinstance(layer, nn.MaxPool2d):
            layer.stride, layer.dilation = (2 if keep_stride else 1), 1
        elif isinstance(layer, nn.Conv2d):
            layer.dilation = (1, 1)
    return body


def test_atrous_question_explanation_holds_for_the_pooled_classifier():
    """A: the classifier's logits at even rows and columns only; B: a value everywhere, not the classifier's."""
    torch.manual_seed(0)
    pooled = PatchClassifier(5, patch_size=15, pool=True).eval()
    images = torch.rand(2, 3, 32, 32)
    fcn = convolutionalize(pooled)
    padded = pad_for_patches(images, 15)
    with torch.no_grad():
        window = sliding_window_predict(pooled, images, 15)
        assert (fcn(images) - window).abs().max() < 1e-5  # with the dilations: exact everywhere
        a = _undilated(fcn, keep_stride=True)(padded)
        b = _undilated(fcn, keep_stride=False)(padded)
    assert a.shape[-1] < 32 // 2 + 2  # about a quarter of the positions
    assert (a[..., :16, :16] - window[..., ::2, ::2]).abs().max() < 1e-5
    assert b.shape[-1] >= 32  # every pixel has a value ...
    assert (b[..., :32, :32] - window).abs().max() > 1e-3  # ... but not the sliding window's


@pytest.mark.parametrize(
    "check, name",
    [
        (ch02.check_answer_2_4, "answer_2_4"),
        (ch02.check_answer_2_5, "answer_2_5"),
    ],
)
def test_question_explanations_fit_the_notebooks_88_columns(check, name, capsys):
    assert check(SOLUTIONS[name]) is True
    out = capsys.readouterr().out
    assert "correct. Why:" in out and max(len(line) for line in out.splitlines()) <= 88, out
