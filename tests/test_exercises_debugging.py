"""The debugging appendix's exercises (D.1-D.3, find and fix the bug): the checks accept the notebook's fixes,
reject the broken originals shown in the appendix and each plausible half-fix, and the registry and the grader
know the appendix's exercise ids."""

import copy

import nbformat
import pytest
import torch
import torch.nn.functional as F
from exercise_helpers import CHAPTERS, assert_rejected, notebook_solutions, returning, standard_exercise_tests

from segbook.book import grade
from segbook.book.student import make_student_notebook
from segbook.exercises import ch_debugging
from segbook.exercises.registry import book_exercises, exercise_sort_key, find_exercise

NOTEBOOK = "appendix_debugging.ipynb"
SOLUTIONS = notebook_solutions(NOTEBOOK, "D", F=F)
CHECKS = [
    (ch_debugging.check_train_step, "train_step"),
    (ch_debugging.check_resize_pair, "resize_pair"),
    (ch_debugging.check_dice_loss, "dice_loss"),
]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


def appendix_function(name: str):
    """A function the appendix defines in a (non-exercise) code cell, e.g. the broken originals."""
    scope = {"torch": torch, "F": F}
    for cell in nbformat.read(CHAPTERS / NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.startswith(f"def {name}("):
            exec(compile(cell.source, NOTEBOOK, "exec"), scope)
            return scope[name]
    raise AssertionError(f"{NOTEBOOK} defines no {name}")


# --- Exercise D.1 ------------------------------------------------------------------------------------------


def _step(*, softmax=False, zero=True, clear_between=False, as_tensor=False, ignore=True, step=True):
    """A training step with one of the fixes undone or done wrong."""

    def train_step(model, optimizer, images, masks):
        model.train()
        if zero:
            optimizer.zero_grad()
        scores = model(images)
        if softmax:
            scores = scores.softmax(dim=1)
        loss = F.cross_entropy(scores, masks, ignore_index=255) if ignore else F.cross_entropy(scores, masks)
        loss.backward()
        if clear_between:
            optimizer.zero_grad()  # between backward and step: nothing is left to apply
        if step:
            optimizer.step()
        return loss if as_tensor else loss.item()

    return train_step


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_step(softmax=True, zero=False), ["case 1 of 3", "unnormalised scores"]),  # the broken original
        (_step(softmax=True), ["case 1 of 3", "unnormalised scores"]),  # only zero_grad fixed
        (_step(zero=False), ["case 2 of 3", "ADDS the new gradient"]),  # only the softmax fixed
        (_step(clear_between=True, zero=False), ["case 2 of 3"]),  # zero_grad in the wrong place
        (_step(step=False), ["case 2 of 3"]),  # the optimizer never steps
        (_step(ignore=False), ["case 1 of 3", "Target 255 is out of bounds"]),  # ignore_index dropped
        (_step(as_tensor=True), ["case 1 of 3", "one-element tensor"]),  # the loss tensor, not a float
    ],
)
def test_train_step_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch_debugging.check_train_step, wrong, "Exercise D.1 (train_step)", *words)


def test_train_step_check_rejects_the_appendix_broken_step():
    broken = appendix_function("train_step_broken")
    assert_rejected(ch_debugging.check_train_step, broken, "Exercise D.1", "unnormalised scores")


def test_train_step_overfit_case_rejects_a_step_that_cannot_reach_zero():
    """The softmax slip passes no case but the first; the overfit case alone also catches it (loss floor 0.905)."""
    check = ch_debugging.check_train_step
    images, masks = ch_debugging._two_images()
    model = ch_debugging._model(0)
    adam = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = [_step(softmax=True)(model, adam, images, masks) for _ in range(ch_debugging._OVERFIT_STEPS)]
    assert min(losses) > 0.9 > ch_debugging._OVERFIT_LIMIT
    assert check(SOLUTIONS["train_step"])


def test_train_step_check_leaves_the_global_random_state_alone(capsys):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ch_debugging.check_train_step(SOLUTIONS["train_step"])
    assert torch.equal(torch.rand(3), expected)


# --- Exercise D.2 ------------------------------------------------------------------------------------------


def _resize(mask_mode="nearest", image_mode="bilinear", *, round_mask=False, long=True, as_list=False):
    def resize_pair(image, mask, size):
        corners = {"align_corners": False} if image_mode == "bilinear" else {}
        image = F.interpolate(image[None], size=size, mode=image_mode, **corners)[0]
        corners = {"align_corners": False} if mask_mode == "bilinear" else {}
        mask = F.interpolate(mask[None, None].float(), size=size, mode=mask_mode, **corners)[0, 0]
        if round_mask:
            mask = mask.round()
        result = (image, mask.long() if long else mask)
        return list(result) if as_list else result

    return resize_pair


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_resize("bilinear"), ["case 1 of 3", "labels that the input mask does not have", "not intensities"]),
        (_resize("bilinear", round_mask=True), ["case 1 of 3", "labels that the input mask does not have"]),
        (_resize("bicubic", round_mask=True), ["case 1 of 3", "labels that the input mask does not have"]),
        (_resize(image_mode="nearest"), ["case 1 of 3", "the image", "values differ"]),
        (_resize(long=False), ["case 1 of 3", "dtype differs"]),
        (_resize(as_list=True), ["case 1 of 3", "expected a tuple (image, mask)"]),
    ],
)
def test_resize_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch_debugging.check_resize_pair, wrong, "Exercise D.2 (resize_pair)", *words)


def test_resize_check_rejects_the_appendix_broken_resize():
    broken = appendix_function("resize_pair_broken")
    assert_rejected(ch_debugging.check_resize_pair, broken, "Exercise D.2", "labels that the input mask does not have")


def test_resize_check_accepts_either_nearest_neighbour_rule(capsys):
    assert ch_debugging.check_resize_pair(_resize("nearest-exact")) is True
    assert ch_debugging.check_resize_pair(_resize("nearest")) is True


def test_resize_check_covers_a_size_where_the_two_nearest_rules_differ():
    """Otherwise accepting either rule would be accepting one."""
    image, mask = torch.rand(3, 6, 6), ch_debugging._mask_with_borders(6, 6, seed=66)
    a, b = (_resize(mode)(image, mask, (9, 7))[1] for mode in ("nearest", "nearest-exact"))
    assert not torch.equal(a, b)


# --- Exercise D.3 ------------------------------------------------------------------------------------------


def _dice(*, mask_p=True, mask_onehot=True, fill=0, in_place=False):
    def dice_loss(logits, target):
        counted = (target != 255).unsqueeze(1)
        safe = torch.where(target == 255, fill, target)
        onehot = F.one_hot(safe, logits.shape[1]).movedim(-1, 1).float()
        if mask_onehot:
            onehot = onehot * counted
        p = logits.softmax(1)
        if in_place:
            p[~counted.expand_as(p)] = 0
        elif mask_p:
            p = p * counted
        return 1 - 2 * (p * onehot).sum() / (p.sum() + onehot.sum())

    return dice_loss


def dice_target_cleaned_in_place(logits, target):
    counted = (target != 255).unsqueeze(1)
    target[target == 255] = 0
    onehot = F.one_hot(target, logits.shape[1]).movedim(-1, 1).float() * counted
    p = logits.softmax(1) * counted
    return 1 - 2 * (p * onehot).sum() / (p.sum() + onehot.sum())


def dice_per_class_mean(logits, target):
    """Another Dice (the mean over classes): right about the ignored pixels, not the loss asked for."""
    counted = (target != 255).unsqueeze(1)
    onehot = F.one_hot(torch.where(target == 255, 0, target), logits.shape[1]).movedim(-1, 1).float() * counted
    p = logits.softmax(1) * counted
    inter, total = (p * onehot).sum((0, 2, 3)), p.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return (1 - 2 * inter / total).mean()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_dice(mask_p=False, mask_onehot=False), ["case 2 of 3", "mapping 255 to a class"]),  # 255 → background
        (_dice(mask_p=False, mask_onehot=False, fill=3), ["case 2 of 3"]),  # 255 → the last class
        (_dice(mask_p=False), ["case 2 of 3", "sum of the probabilities"]),  # the probabilities still count
        (_dice(mask_onehot=False), ["case 2 of 3", "one-hot target"]),  # the made-up class still counts
        (_dice(in_place=True), ["case 3 of 3", "in place", "modified by an inplace operation"]),
        (dice_target_cleaned_in_place, ["case 2 of 3", "changed its input `target` in place"]),
        (dice_per_class_mean, ["case 1 of 3", "same value as the broken function"]),
        (returning(_dice(), lambda loss: loss.item()), ["case 1 of 3", "expected a torch.Tensor"]),
    ],
)
def test_dice_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch_debugging.check_dice_loss, wrong, "Exercise D.3 (dice_loss)", *words)


def test_dice_check_rejects_the_appendix_broken_dice():
    broken = appendix_function("dice_with_raw_one_hot")
    assert_rejected(ch_debugging.check_dice_loss, broken, "Exercise D.3", "Class values must be smaller")


def test_the_fixed_dice_passes_the_appendix_own_probe():
    from segbook.debugging import check_ignore_index

    assert check_ignore_index(SOLUTIONS["dice_loss"], 5).passed


def test_dice_check_refuses_segbooks_own_dice():
    from segbook.exercises import ExerciseError
    from segbook.losses import soft_dice_loss

    with pytest.raises(ExerciseError, match="segbook's own"):
        ch_debugging.check_dice_loss(soft_dice_loss)


# --- the registry and the grader know the appendix ---------------------------------------------------------


def test_the_registry_lists_the_appendix_exercises_after_the_numbered_chapters():
    assert [(e.id, e.name) for e in book_exercises("D")] == [
        ("D.1", "train_step"),
        ("D.2", "resize_pair"),
        ("D.3", "dice_loss"),
    ]
    ids = [e.id for e in book_exercises()]
    first_appendix = ids.index("D.1")
    assert all(i[0].isdigit() for i in ids[:first_appendix]) and ids[first_appendix:] == ["D.1", "D.2", "D.3"]
    assert sorted(["D.2", "12.4", "D.10", "2.1", "D.1"], key=exercise_sort_key) == ["2.1", "12.4", "D.1", "D.2", "D.10"]
    assert find_exercise("D.2").label == "Exercise D.2 (resize_pair)"
    assert find_exercise("D.1").check_function() is ch_debugging.check_train_step


@pytest.fixture(scope="module")
def graded_appendix(tmp_path_factory):
    """One submission of the appendix, graded: D.1 solved, D.2 the broken original, D.3 left as handed out."""
    folder = tmp_path_factory.mktemp("appendix")
    book = nbformat.read(CHAPTERS / NOTEBOOK, as_version=4)
    handout = make_student_notebook(book)[0]
    (placeholder,) = [c.source for c in handout.cells if c.source.startswith("# Exercise D.3")]
    assert "raise NotImplementedError" in placeholder
    mixed = copy.deepcopy(book)
    for cell in mixed.cells:
        if cell.cell_type != "code":
            continue
        if cell.source.startswith("# Exercise D.2"):
            broken = appendix_source("resize_pair_broken").replace("resize_pair_broken", "resize_pair")
            cell.source = "# Exercise D.2 (resize_pair)\n" + broken
        elif cell.source.startswith("# Exercise D.3"):
            cell.source = placeholder
    path = folder / "student.ipynb"
    nbformat.write(mixed, path)
    submissions, ids = grade.grade([path], book=CHAPTERS, timeout=120, jobs=1)
    return submissions[0], ids


def appendix_source(name: str) -> str:
    for cell in nbformat.read(CHAPTERS / NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.startswith(f"def {name}("):
            return cell.source
    raise AssertionError(name)


def test_the_grader_recognises_and_grades_the_appendix(graded_appendix):
    submission, ids = graded_appendix
    assert ids == ["D.1", "D.2", "D.3"] and submission.chapter == "D"
    status = [submission.results[i].status for i in ids]
    assert status == ["passed", "failed", "not attempted"], submission.results
    assert "labels that the input mask does not have" in submission.results["D.2"].message
