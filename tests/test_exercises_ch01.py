"""Chapter 1's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import pytest
import torch
from exercise_helpers import assert_rejected, notebook_solutions, standard_exercise_tests

from segbook import metrics
from segbook.exercises import ExerciseError, ch01

SOLUTIONS = notebook_solutions("01_segmentation_task.ipynb", 1)


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    [
        (ch01.check_one_hot, "one_hot"),
        (ch01.check_semantic_from_instances, "semantic_from_instances"),
        (ch01.check_iou_from_confusion, "iou_from_confusion"),
        (ch01.check_confusion_matrix, "confusion_matrix"),
        (ch01.check_answer_1_5, "answer_1_5"),
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


# --- Exercise 1.4 ---------------------------------------------------------------------------------------------


def cm_rows_predicted(pred, target, num_classes):
    kept = target != 255
    codes = pred[kept] * num_classes + target[kept]  # rows and columns swapped
    return torch.bincount(codes, minlength=num_classes**2).reshape(num_classes, num_classes)


def cm_ignored_as_background(pred, target, num_classes):
    target = torch.where(target == 255, 0, target)
    return torch.bincount((target * num_classes + pred).flatten(), minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def cm_without_minlength(pred, target, num_classes):
    kept = target != 255
    return torch.bincount(target[kept] * num_classes + pred[kept]).reshape(num_classes, num_classes)


def cm_float_counts(pred, target, num_classes):
    kept = target != 255
    rows = torch.nn.functional.one_hot(target[kept], num_classes).float()
    columns = torch.nn.functional.one_hot(pred[kept], num_classes).float()
    return rows.T @ columns  # the right counts, as float32


def cm_masks_the_prediction(pred, target, num_classes):
    kept = pred != 255  # the ignore index is in the target, not in the prediction
    return torch.bincount(target[kept] * num_classes + pred[kept], minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def cm_zeroes_ignored_in_place(pred, target, num_classes):
    target[target == 255] = 0  # changes the caller's tensor
    return cm_ignored_as_background(pred, target, num_classes)


@pytest.mark.parametrize(
    "wrong, case_words",
    [
        (cm_rows_predicted, "rows are the truth"),
        (cm_ignored_as_background, "count nowhere"),
        (cm_without_minlength, "classes 3 and 4 occur nowhere"),
        (cm_float_counts, "dtype differs"),
        (cm_masks_the_prediction, "count nowhere"),
        (cm_zeroes_ignored_in_place, "in place"),
    ],
)
def test_confusion_matrix_check_rejects_wrong_answers(wrong, case_words):
    assert_rejected(ch01.check_confusion_matrix, wrong, "Exercise 1.4 (confusion_matrix)", case_words)


def test_confusion_matrix_check_refuses_the_packages_own():
    with pytest.raises(ExerciseError, match="segbook's own segbook.metrics"):
        ch01.check_confusion_matrix(metrics.confusion_matrix)


def test_confusion_matrix_check_accepts_a_loop_over_classes(capsys):
    def loop(pred, target, num_classes):
        cm = torch.zeros(num_classes, num_classes, dtype=torch.int64)
        for i in range(num_classes):
            for j in range(num_classes):
                cm[i, j] = ((target == i) & (pred == j)).sum()
        return cm

    assert ch01.check_confusion_matrix(loop) is True


def test_confusion_matrix_slips_fail_on_the_case_meant_for_them():
    # each slip passes every case before its own, so the student reads the hint written for that slip
    for wrong, description in [
        (cm_without_minlength, "case 4 of 5"),
        (cm_ignored_as_background, "case 3 of 5"),
        (cm_rows_predicted, "case 1 of 5"),
    ]:
        with pytest.raises(ExerciseError) as info:
            ch01.check_confusion_matrix(wrong)
        assert description in str(info.value), str(info.value)


# --- Exercise 1.5 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, words",
    [
        ({"a"}, ["'c'", "is true too", "predicted the object class"]),
        ("a", ["'c'", "is true too"]),
        ({"c"}, ["'a'", "is true too", "enter any row"]),
        ({"a", "b", "c"}, ["'b'", "is not true", "0/0"]),
        ({"a", "c", "d"}, ["'d'", "is not true", "one (row, column) pair"]),
        ({"b", "d"}, ["'b'", "is not true"]),
        (["a", "c"], ["expected a set of option letters"]),
        ({"a", "e"}, ["'e' is not an option"]),
    ],
)
def test_ignore_question_rejects_wrong_answers(answer, words):
    with pytest.raises(ExerciseError) as info:
        ch01.check_answer_1_5(answer)
    message = str(info.value)
    assert "Exercise 1.5 (answer_1_5)" in message
    for word in words:
        assert word in message, (word, message)


def test_ignore_question_statements_hold_on_an_example():
    """What the explanation says, measured: (a) predictions at ignored pixels change nothing, (b) a class
    predicted only there is left out of the mean (NaN), (c) 255 -> 0 lowers an object class's IoU."""
    target = torch.tensor([[[0, 0, 255, 1, 1], [0, 0, 255, 1, 1]]])
    pred = torch.tensor([[[0, 0, 1, 1, 1], [0, 0, 2, 1, 1]]])  # class 2 only under the band
    cm = metrics.confusion_matrix(pred, target, 3)
    other = pred.clone()
    other[target == 255] = 0
    assert torch.equal(cm, metrics.confusion_matrix(other, target, 3))  # (a)
    iou = metrics.iou_per_class(cm)
    assert torch.isnan(iou[2]) and metrics.mean_iou(cm) == 1.0  # (b): left out, not a 0
    as_background = metrics.iou_per_class(metrics.confusion_matrix(pred, torch.where(target == 255, 0, target), 3))
    assert as_background[1] < iou[1] and as_background[2] == 0  # (c)


@pytest.mark.parametrize(
    "check, name",
    [
        (ch01.check_answer_1_5, "answer_1_5"),
    ],
)
def test_question_explanations_fit_the_notebooks_88_columns(check, name, capsys):
    assert check(SOLUTIONS[name]) is True
    out = capsys.readouterr().out
    assert "correct. Why:" in out and max(len(line) for line in out.splitlines()) <= 88, out
