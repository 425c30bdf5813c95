"""Chapter 8's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import numpy as np
import pytest
import torch
from exercise_helpers import assert_rejected, notebook_solutions, returning, standard_exercise_tests
from scipy import ndimage

from segbook.exercises import ExerciseError, ch08

SOLUTIONS = notebook_solutions("08_unet.ipynb", 8, np=np, ndimage=ndimage)
CHECKS = [
    (ch08.check_centre_crop, "centre_crop"),
    (ch08.check_valid_output_size, "valid_output_size"),
    (ch08.check_border_weight_map, "border_weight_map"),
    (ch08.check_class_balance_map, "class_balance_map"),
    (ch08.check_answer_8_5, "answer_8_5"),
    (ch08.check_tile_starts, "tile_starts"),
]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


# --- Exercise 8.1 ------------------------------------------------------------------------------------------


def crop_top_left(features, size):
    return features[..., : size[0], : size[1]]


def crop_rounding_up(features, size):
    top, left = (features.shape[-2] - size[0] + 1) // 2, (features.shape[-1] - size[1] + 1) // 2
    return features[..., top : top + size[0], left : left + size[1]]


def crop_swapped(features, size):
    w, h = size
    top, left = (features.shape[-2] - h) // 2, (features.shape[-1] - w) // 2
    return features[..., top : top + h, left : left + w]


def crop_one_offset(features, size):
    h, w = size
    t = (features.shape[-2] - h) // 2  # the row offset used for the columns too
    return features[..., t : t + h, t : t + w]


@pytest.mark.parametrize(
    "wrong, words",
    [
        (crop_one_offset, ["column offset", "(W - w) // 2"]),
        (crop_top_left, ["worked by hand", "not the top-left corner"]),
        (crop_rounding_up, ["odd difference", "rounds down"]),
        (crop_swapped, ["non-square", "h applies to the rows"]),
    ],
)
def test_centre_crop_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch08.check_centre_crop, wrong, "Exercise 8.1 (centre_crop)", *words)


# --- Exercise 8.2 ------------------------------------------------------------------------------------------


def size_closed_form(size, depth):
    return size - 2 * (6 * 2**depth - 4)


def size_without_bottom(size, depth):
    for _ in range(depth):
        size -= 4
        if size <= 0 or size % 2:
            return None
        size //= 2
    for _ in range(depth):
        size = 2 * size - 4
    return size


def size_checks_only_the_first_pooling(size, depth):
    if (size - 4) % 2:
        return None
    return size_closed_form(size, depth)


def size_without_the_too_small_check(size, depth):
    for _ in range(depth):
        size -= 4
        if size % 2:
            return None
        size //= 2
    size -= 4
    for _ in range(depth):
        size = 2 * size - 4
    return size


@pytest.mark.parametrize(
    "wrong, words",
    [
        (size_closed_form, ["size 570", "return None"]),
        (size_without_bottom, ["572x572", "bottom"]),
        (size_checks_only_the_first_pooling, ["size 570", "odd"]),
        (size_without_the_too_small_check, ["too small", "0 or below"]),
    ],
)
def test_valid_output_size_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch08.check_valid_output_size, wrong, "Exercise 8.2 (valid_output_size)", *words)


# --- Exercise 8.3 ------------------------------------------------------------------------------------------


def _weights(distances, ids, w0, sigma, *, second="d2", denominator=2.0, background_only=True):
    if distances.shape[0] < 2:
        return torch.ones(ids.shape)
    d1, d2 = distances.topk(2, dim=0, largest=False).values
    d2 = d1 if second == "d1" else d2
    border = w0 * torch.exp(-((d1 + d2) ** 2) / (denominator * sigma**2))
    return 1 + border * (ids == 0) if background_only else 1 + border


def weights_twice_d1(distances, ids, w0=10.0, sigma=5.0):
    return _weights(distances, ids, w0, sigma, second="d1")


def weights_sigma_squared(distances, ids, w0=10.0, sigma=5.0):
    return _weights(distances, ids, w0, sigma, denominator=1.0)


def weights_on_cells_too(distances, ids, w0=10.0, sigma=5.0):
    return _weights(distances, ids, w0, sigma, background_only=False)


def weights_lone_cell_crashes(distances, ids, w0=10.0, sigma=5.0):
    d1, d2 = distances.topk(2, dim=0, largest=False).values
    return 1 + w0 * torch.exp(-((d1 + d2) ** 2) / (2 * sigma**2)) * (ids == 0)


def weights_first_two_cells(distances, ids, w0=10.0, sigma=5.0):
    if distances.shape[0] < 2:
        return torch.ones(ids.shape)
    d1, d2 = distances[0], distances[1]  # the first two cells, not the two nearest
    return 1 + w0 * torch.exp(-((d1 + d2) ** 2) / (2 * sigma**2)) * (ids == 0)


def test_border_weight_map_blames_the_choice_of_distances_not_the_denominator():
    assert_rejected(
        ch08.check_border_weight_map,
        weights_first_two_cells,
        "Exercise 8.3 (border_weight_map)",
        "the two nearest cells differ",
        "distances[0] and distances[1] are only right for K = 2",
    )
    with pytest.raises(ExerciseError) as info:
        ch08.check_border_weight_map(weights_first_two_cells)
    assert "denominator" not in str(info.value)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (weights_twice_d1, ["two-pixel gap", "second-nearest"]),
        (weights_sigma_squared, ["worked by hand", "w0 * exp(-(d1 + d2)**2 / (2 * sigma**2))"]),
        (weights_on_cells_too, ["worked by hand", "1 on cell pixels"]),
        (weights_lone_cell_crashes, ["lone cell", "K < 2"]),
    ],
)
def test_border_weight_map_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch08.check_border_weight_map, wrong, "Exercise 8.3 (border_weight_map)", *words)


# --- Exercise 8.4 ------------------------------------------------------------------------------------------


def _per_class_map(labels, per_class):
    return per_class.float()[labels]


def balance_over_all_classes(labels, num_classes):  # m = num_classes, not the classes present
    counts = torch.bincount(labels.flatten(), minlength=num_classes).double()
    return _per_class_map(labels, labels.numel() / (num_classes * counts))


def balance_two_classes_always(labels, num_classes):  # m = 2 as in the cells, whatever the image holds
    counts = torch.bincount(labels.flatten(), minlength=num_classes).double()
    return _per_class_map(labels, labels.numel() / (2 * counts))


def balance_inverse_counts(labels, num_classes):  # 1 / n_c: the right ratios, not averaging to 1
    counts = torch.bincount(labels.flatten(), minlength=num_classes).double()
    return _per_class_map(labels, 1 / counts)


def balance_without_m(labels, num_classes):  # HW / n_c: each class carries the whole total
    counts = torch.bincount(labels.flatten(), minlength=num_classes).double()
    return _per_class_map(labels, labels.numel() / counts)


def balance_by_frequency(labels, num_classes):  # n_c / HW: the common class weighs more, the opposite
    counts = torch.bincount(labels.flatten(), minlength=num_classes).double()
    return _per_class_map(labels, counts / labels.numel())


def balance_through_one_hot(labels, num_classes):  # right weights, but 0 * inf = NaN for an absent class
    counts = torch.bincount(labels.flatten(), minlength=num_classes).double()
    present = (counts > 0).sum()
    per_class = labels.numel() / (present * counts)  # inf for an absent class
    one_hot = torch.nn.functional.one_hot(labels, num_classes).movedim(-1, 0).double()
    return (one_hot * per_class[:, None, None]).sum(0).float()


def balance_median_frequency(labels, num_classes):  # SegNet's median frequency balancing: another convention
    counts = torch.bincount(labels.flatten(), minlength=num_classes).double()
    frequency = counts / labels.numel()
    present = frequency[counts > 0]
    return _per_class_map(labels, torch.quantile(present, 0.5) / frequency)  # numpy.median


def balance_in_float64(labels, num_classes):
    return SOLUTIONS["class_balance_map"](labels, num_classes).double()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (balance_over_all_classes, ["class 1 absent", "num_classes is how many classes exist"]),
        (balance_two_classes_always, ["all background", "single class present every pixel weighs 1"]),
        (balance_inverse_counts, ["worked by hand", "average to 1"]),
        (balance_without_m, ["worked by hand", "same total weight"]),
        (balance_by_frequency, ["worked by hand", "same total weight"]),
        (balance_through_one_hot, ["class 1 absent", "0 * inf is NaN"]),
        (balance_median_frequency, ["four classes", "a quarter of the total"]),
        (balance_in_float64, ["worked by hand", "dtype differs", "float32"]),
    ],
)
def test_class_balance_map_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch08.check_class_balance_map, wrong, "Exercise 8.4 (class_balance_map)", *words)


def test_class_balance_map_check_refuses_segbooks_own_weight_map():
    from segbook.losses import unet_weight_map

    with pytest.raises(ExerciseError, match="segbook's own"):
        ch08.check_class_balance_map(unet_weight_map)


# --- Exercise 8.5 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrong, words",
    [
        (0.5, ["plain cross entropy"]),
        (0.7, ["heavier class", "numerator"]),
        (0.3 / 0.7, ["ratio of the two weights"]),
        (0.2, ["work out the cell and background weights"]),
    ],
)
def test_answer_8_5_check_rejects_wrong_answers(wrong, words):
    with pytest.raises(ExerciseError) as info:
        ch08.check_answer_8_5(wrong)
    message = str(info.value)
    assert "Exercise 8.5 (answer_8_5)" in message and "Hint:" in message, message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("answer", [0.3, 3 / 10, 0.299, 1 / 1.4 / (1 / 1.4 + 1 / 0.6)])
def test_answer_8_5_check_accepts_the_cell_fraction_within_rounding(answer, capsys):
    assert ch08.check_answer_8_5(answer) is True
    out = capsys.readouterr().out
    assert "correct. Why:" in out and max(len(line) for line in out.splitlines()) <= 88, out


@pytest.mark.parametrize("answer", ["0.3", torch.tensor(0.3), float("nan")])
def test_answer_8_5_check_rejects_other_types(answer):
    with pytest.raises(ExerciseError, match="Exercise 8.5"):
        ch08.check_answer_8_5(answer)


# --- Exercise 8.6 ------------------------------------------------------------------------------------------


def starts_past_the_end(size, step):
    return list(range(0, size, step))


def starts_leaving_a_gap(size, step):
    return list(range(0, size - step + 1, step))


def starts_with_a_duplicate(size, step):
    return list(range(0, size - step + 1, step)) + [size - step]


@pytest.mark.parametrize(
    "wrong, words",
    [
        (starts_past_the_end, ["worked by hand", "size - step"]),
        (starts_leaving_a_gap, ["worked by hand", "ends exactly"]),
        (starts_with_a_duplicate, ["multiple of the step", "second time"]),
    ],
)
def test_tile_starts_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch08.check_tile_starts, wrong, "Exercise 8.6 (tile_starts)", *words)


# --- types: what the statement says is checked ---------------------------------------------------------------


@pytest.mark.parametrize(
    "check, name, label, convert, words",
    [
        (ch08.check_valid_output_size, "valid_output_size", "Exercise 8.2", lambda r: r / 1, ["expected an int"]),
        (ch08.check_tile_starts, "tile_starts", "Exercise 8.6", lambda r: [s / 1 for s in r], ["expected an int"]),
        (ch08.check_tile_starts, "tile_starts", "Exercise 8.6", tuple, ["asks for a list"]),
    ],
)
def test_results_of_another_type_than_the_statement_says_are_rejected(check, name, label, convert, words):
    assert_rejected(check, returning(SOLUTIONS[name], convert), label, *words)
