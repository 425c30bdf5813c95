"""segbook.metrics.boundary_f1 against a brute-force reference and hand-worked contours."""

import itertools
import math

import pytest
import torch

from segbook.metrics import boundary_f1


def brute_boundary(mask):
    """Pixels of the mask with a 4-neighbour inside the image that is outside the mask."""
    h, w = mask.shape
    out = set()
    for y, x in itertools.product(range(h), range(w)):
        if not mask[y, x]:
            continue
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            yy, xx = y + dy, x + dx
            if 0 <= yy < h and 0 <= xx < w and not mask[yy, xx]:
                out.add((y, x))
                break
    return out


def brute_bf(pred, target, num_classes, tolerance, ignore_index=255):
    """Per-class BF averaged over images, by enumerating pixel pairs."""
    totals, counts = [0.0] * num_classes, [0] * num_classes
    for p_img, t_img in zip(pred, target):
        keep = {
            (y, x)
            for y, x in itertools.product(range(t_img.shape[0]), range(t_img.shape[1]))
            if int(t_img[y, x]) != ignore_index
        }
        for c in range(num_classes):
            bp = brute_boundary((p_img == c).numpy()) & keep
            bg = brute_boundary((t_img == c).numpy()) & keep
            if not bp and not bg:
                continue
            counts[c] += 1
            if not bp or not bg:
                continue

            def near(a, others):
                return min(math.dist(a, b) for b in others) <= tolerance

            precision = sum(near(a, bg) for a in bp) / len(bp)
            recall = sum(near(b, bp) for b in bg) / len(bg)
            if precision + recall:
                totals[c] += 2 * precision * recall / (precision + recall)
    return [totals[c] / counts[c] if counts[c] else math.nan for c in range(num_classes)]


def square(size=10, top=2, left=2, side=4):
    label = torch.zeros(1, size, size, dtype=torch.long)
    label[0, top : top + side, left : left + side] = 1
    return label


def test_a_perfect_prediction_scores_one_and_absent_classes_are_nan():
    target = square()
    scores = boundary_f1(target, target, 3)
    assert scores[:2].tolist() == [1.0, 1.0] and math.isnan(scores[2])
    assert scores.dtype == torch.float64 and scores.shape == (3,)


@pytest.mark.parametrize("tolerance, expected", [(0.0, 0.5), (1.0, 1.0), (2.0, 1.0)])
def test_a_contour_shifted_by_one_pixel(tolerance, expected):
    """Rings of 12 pixels, shifted one column: 6 pixels coincide, every pixel is within 1 of the other ring."""
    assert boundary_f1(square(left=3), square(), 2, tolerance=tolerance)[1].item() == pytest.approx(expected)


def test_a_contour_shifted_by_two_pixels_hand_worked():
    """Rings shifted two columns, tolerance 1: of each ring's 12 pixels, 8 are within one pixel of the other
    (the 4 on the far vertical side are 2 away), so P = R = 2/3."""
    assert boundary_f1(square(left=4), square(), 2, tolerance=1.0)[1].item() == pytest.approx(2 / 3)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("tolerance", [0.0, 1.0, 1.5, 3.0])
def test_equals_brute_force_reference(seed, tolerance):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, 3, (2, 7, 8), generator=g)
    target[0, :3, :3] = 0
    pred = torch.where(torch.rand(2, 7, 8, generator=g) < 0.3, torch.randint(0, 4, (2, 7, 8), generator=g), target)
    target[1, 0, :4] = 255
    got = boundary_f1(pred, target, 4, tolerance=tolerance).tolist()
    assert got == pytest.approx(brute_bf(pred, target, 4, tolerance), nan_ok=True)


def test_only_one_side_with_a_contour_scores_zero():
    target = square()
    nothing = torch.zeros_like(target)
    assert boundary_f1(nothing, target, 2)[1].item() == 0.0
    assert boundary_f1(target, nothing, 2)[1].item() == 0.0


def test_the_image_edge_is_not_a_boundary():
    target = torch.zeros(1, 6, 6, dtype=torch.long)
    target[0, :, :3] = 1  # the left half: its only contour is the column x = 2
    pred = target.clone()
    pred[0, :, 3] = 1  # one column too wide: contour at x = 3
    assert boundary_f1(pred, target, 2, tolerance=0.0)[1].item() == 0.0
    assert boundary_f1(pred, target, 2, tolerance=1.0)[1].item() == 1.0


def test_logits_are_argmaxed_and_single_images_accepted():
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(2, 3, 6, 6, generator=g)
    target = torch.randint(0, 3, (2, 6, 6), generator=g)
    torch.testing.assert_close(boundary_f1(logits, target, 3), boundary_f1(logits.argmax(1), target, 3))
    torch.testing.assert_close(boundary_f1(logits[0], target[0], 3), boundary_f1(logits[:1], target[:1], 3))


def test_images_are_averaged_per_class():
    a, b = square(), square(left=4)
    pred = torch.cat([a, a])
    target = torch.cat([a, b])
    both = boundary_f1(pred, target, 2, tolerance=1.0)[1].item()
    assert both == pytest.approx((1.0 + 2 / 3) / 2)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (
            lambda: boundary_f1(torch.zeros(1, 4, 4, dtype=torch.long), torch.zeros(1, 4, 5, dtype=torch.long), 2),
            ValueError,
            "pred must have target's shape",
        ),
        (lambda: boundary_f1(torch.zeros(1, 4, 4, dtype=torch.long), torch.zeros(1, 4, 4), 2), TypeError, "target"),
        (
            lambda: boundary_f1(torch.zeros(1, 4, 4, dtype=torch.long), torch.full((1, 4, 4), 3), 2),
            ValueError,
            "only 2 classes",
        ),
        (
            lambda: boundary_f1(
                torch.zeros(1, 4, 4, dtype=torch.long), torch.zeros(1, 4, 4, dtype=torch.long), 2, tolerance=-1
            ),
            ValueError,
            "tolerance must be >= 0",
        ),
    ],
)
def test_bad_input_gives_a_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()
