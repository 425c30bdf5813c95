"""Chapter 1's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import pytest
import torch
from exercise_helpers import notebook_solutions, standard_exercise_tests

from segbook.exercises import ExerciseError, ch01

SOLUTIONS = notebook_solutions("01_segmentation_task.ipynb", 1)


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    [
        (ch01.check_one_hot, "one_hot"),
        (ch01.check_semantic_from_instances, "semantic_from_instances"),
        (ch01.check_iou_from_confusion, "iou_from_confusion"),
    ],
    SOLUTIONS,
)


# --- plausible wrong answers -------------------------------------------------------------------------------


def one_hot_channels_last(label, num_classes):
    valid = label != 255
    return torch.nn.functional.one_hot(torch.where(valid, label, 0), num_classes).float() * valid[..., None]


def one_hot_int64(label, num_classes):
    valid = label != 255
    out = torch.nn.functional.one_hot(torch.where(valid, label, 0), num_classes) * valid[..., None]
    return out.permute(2, 0, 1)


def one_hot_ignore_as_background(label, num_classes):
    safe = torch.where(label == 255, 0, label)
    return torch.nn.functional.one_hot(safe, num_classes).float().permute(2, 0, 1)


def one_hot_channels_from_data(label, num_classes):
    return (
        torch.nn.functional.one_hot(label.clamp(max=254)).float().permute(2, 0, 1)[: int(label[label != 255].max()) + 1]
    )


@pytest.mark.parametrize(
    "wrong, expected_words",
    [
        (one_hot_channels_last, "shape"),
        (one_hot_int64, "dtype"),
        (one_hot_ignore_as_background, "ignore"),
        (one_hot_channels_from_data, "shape"),
    ],
)
def test_one_hot_check_rejects_wrong_answers(wrong, expected_words):
    with pytest.raises(ExerciseError) as info:
        ch01.check_one_hot(wrong)
    message = str(info.value)
    assert "Exercise 1.2 (one_hot)" in message and "hint" in message
    assert expected_words in message


def semantic_instance_ids(masks, classes):
    label = torch.zeros(masks.shape[1:], dtype=torch.int64)
    for k, mask in enumerate(masks):
        label[mask] = k + 1
    return label


def semantic_first_wins(masks, classes):
    label = torch.zeros(masks.shape[1:], dtype=torch.int64)
    for mask, cls in reversed(list(zip(masks, classes))):
        label[mask] = cls
    return label


def semantic_sum(masks, classes):
    return (masks.long() * classes[:, None, None]).sum(0)


def semantic_max_class(masks, classes):
    if len(masks) == 0:
        return torch.zeros(masks.shape[1:], dtype=torch.int64)
    return (masks.long() * classes[:, None, None]).amax(0)  # the higher class wins, not the later object


def semantic_float(masks, classes):
    label = torch.zeros(masks.shape[1:])
    for mask, cls in zip(masks, classes):
        label[mask] = cls.float()
    return label


@pytest.mark.parametrize(
    "wrong, case_words",
    [
        (semantic_instance_ids, "classes[k], not the object's number"),
        (semantic_first_wins, "later object is in front"),
        (semantic_sum, "later object is in front"),
        (semantic_max_class, "front object has the LOWER class"),
        (semantic_float, "dtype"),
    ],
)
def test_semantic_check_rejects_wrong_answers(wrong, case_words):
    with pytest.raises(ExerciseError) as info:
        ch01.check_semantic_from_instances(wrong)
    assert case_words in str(info.value)


def iou_is_precision(cm):
    cm = cm.double()
    return cm.diag() / cm.sum(0)


def iou_nan_to_zero(cm):
    cm = cm.double()
    return torch.nan_to_num(cm.diag() / (cm.sum(0) + cm.sum(1) - cm.diag()))


def iou_double_counts(cm):
    cm = cm.double()
    return cm.diag() / (cm.sum(0) + cm.sum(1))


def iou_integer_division(cm):
    return cm.diag() // (cm.sum(0) + cm.sum(1) - cm.diag()).clamp(min=1)


@pytest.mark.parametrize(
    "wrong, case_words",
    [
        (iou_is_precision, "hand-worked"),
        (iou_nan_to_zero, "undefined IoU (NaN)"),
        (iou_double_counts, "hand-worked"),
        (iou_integer_division, "floating-point"),
    ],
)
def test_iou_check_rejects_wrong_answers(wrong, case_words):
    with pytest.raises(ExerciseError) as info:
        ch01.check_iou_from_confusion(wrong)
    assert case_words in str(info.value)
