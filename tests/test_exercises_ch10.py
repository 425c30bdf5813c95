"""Chapter 10's exercise checks accept the notebook's own solutions and reject plausible wrong answers."""

import pytest
import torch
from exercise_helpers import assert_rejected, notebook_solutions, returning, standard_exercise_tests

from segbook.exercises import ExerciseError, ch10
from segbook.models import CoupledUNets, model_cost

SOLUTIONS = notebook_solutions("10_stacked_coupled_unets.ipynb", 10)
CHECKS = [
    (ch10.check_coupled_block_inputs, "coupled_block_inputs"),
    (ch10.check_coupled_in_channels, "coupled_in_channels"),
    (ch10.check_answer_10_3, "answer_10_3"),
    (ch10.check_residual_stack, "residual_stack"),
]


test_check_accepts_the_notebook_solution, test_unattempted_exercise_is_reported_not_raised = standard_exercise_tests(
    CHECKS, SOLUTIONS
)


# --- Exercise 10.1 -----------------------------------------------------------------------------------------


def _inputs(kind, n, level, order, depth, *, earlier=None, first_reads_stem=False, decoder_skip=True):
    earlier = range(max(0, n - order), n) if earlier is None else earlier(n, order)
    if kind == "E":
        first = ("stem", 0, 0) if n == 0 or first_reads_stem else ("D", n - 1, 0)
        own = ("E", n, level - 1) if level > 0 else first
        return {own} | {("E", m, level) for m in earlier}
    below = ("D", n, level + 1) if level + 1 < depth else ("E", n, depth)
    return {below} | ({("E", n, level)} if decoder_skip else set()) | {("D", m, level) for m in earlier}


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda *a: _inputs(*a, earlier=lambda n, k: range(n)), ["E_2^2", "not all earlier ones"]),
        (
            lambda *a: _inputs(*a, earlier=lambda n, k: [n - k] if n >= k else []),
            ["D_3^1 with order 2", "coupled U-Nets"],
        ),
        (lambda *a: _inputs(*a, first_reads_stem=True), ["E_1^0", "series"]),
        (lambda *a: _inputs(*a, decoder_skip=False), ["D_3^1", "U-Net's skip"]),
    ],
)
def test_block_inputs_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch10.check_coupled_block_inputs, wrong, "Exercise 10.1 (coupled_block_inputs)", *words)


def test_block_inputs_reference_counts_agree_with_the_model():
    """The check's reference gives every block as many inputs as the model's 1x1 reduction reads."""
    width, depth, stacks, order = 4, 3, 4, 2
    model = CoupledUNets(2, width=width, depth=depth, stacks=stacks, order=order)
    solution = SOLUTIONS["coupled_block_inputs"]
    for n in range(stacks):
        for level, block in enumerate(list(model.encoders[n]) + [model.bottoms[n]]):
            assert len(solution("E", n, level, order, depth)) * width == block.reduce.in_channels
        for level, block in enumerate(model.decoders[n]):
            assert len(solution("D", n, level, order, depth)) * width == block.reduce.in_channels


# --- Exercise 10.2 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrong, words",
    [
        (
            lambda kind, n, order, width: width * ((1 if kind == "E" else 2) + order),
            ["nothing before it", "min(n, order)"],
        ),
        (lambda kind, n, order, width: width * (1 + min(n, order)), ["decoder block", "2 (the up-sampled map"]),
        (lambda kind, n, order, width: width * min(n, order) or width, ["U-Net 2's encoder block", "1 own input"]),
    ],
)
def test_in_channels_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch10.check_coupled_in_channels, wrong, "Exercise 10.2 (coupled_in_channels)", *words)


# --- Exercise 10.3 -----------------------------------------------------------------------------------------

C, PIXELS = 16, 2 * (32**2 + 16**2 + 8**2) + 4**2  # U-Net 1's blocks at levels 0, 1, 2, 3, 2, 1, 0
FLOPS = 2 * C * C * PIXELS


def test_answer_10_3_is_what_model_cost_measures_on_the_models():
    """The hand count (the notebook's answer) equals the difference model_cost measures between order 1 and 0."""
    measured = [model_cost(CoupledUNets(2, width=16, depth=3, stacks=2, order=k), (3, 32, 32)).flops for k in (0, 1)]
    assert measured[1] - measured[0] == FLOPS == SOLUTIONS["answer_10_3"] == 1_384_448


@pytest.mark.parametrize(
    "wrong, words",
    [
        (C * C * PIXELS, ["multiply-adds", "two FLOPs per multiply-add"]),  # MACs
        (2 * FLOPS, ["U-Net 0 has no U-Net before it"]),  # both U-Nets coupled
        (2 * C * C * 7 * 32**2, ["only the level-0 blocks work on 32x32"]),  # every block at full resolution
        (2 * C * C * (PIXELS - 4**2), ["the bottom block", "2d + 1 blocks"]),  # 2d blocks
        (9 * FLOPS, ["1x1 reduction only"]),  # as if the coupled map entered the 3x3 convolution
        (7 * C * C, ["parameter count"]),  # the parameters
        (2 * C * C * (2 * (32 + 16 + 8) + 4), ["pixels of each level's map, not the length of its side"]),
        (FLOPS + 1, ["count the coupled inputs"]),  # anything else gets the general hint
    ],
)
def test_answer_10_3_check_rejects_wrong_answers(wrong, words):
    with pytest.raises(ExerciseError) as info:
        ch10.check_answer_10_3(wrong)
    message = str(info.value)
    assert "Exercise 10.3 (answer_10_3)" in message and "Hint:" in message, message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("answer", [float(FLOPS), torch.tensor(FLOPS), "1384448", 1.384448])
def test_answer_10_3_check_rejects_what_is_not_an_int_count(answer):
    with pytest.raises(ExerciseError, match="expected an int"):
        ch10.check_answer_10_3(answer)


def test_answer_10_3_explanation_fits_the_column(capsys):
    assert ch10.check_answer_10_3(FLOPS) is True
    out = capsys.readouterr().out
    assert "correct. Why:" in out and "1,384,448" in out, out
    assert max(len(line) for line in out.splitlines()) <= 88, out


# --- Exercise 10.4 -----------------------------------------------------------------------------------------


def stack_without_residual(x, modules, heads):
    outputs, h = [], x
    for module, head in zip(modules, heads):
        h = module(h)
        outputs.append(head(h))
    return outputs


def stack_adds_the_original_input(x, modules, heads):
    outputs, h = [], x
    for module, head in zip(modules, heads):
        h = x + module(h)
        outputs.append(head(h))
    return outputs


def stack_head_before_addition(x, modules, heads):
    outputs, h = [], x
    for module, head in zip(modules, heads):
        outputs.append(head(module(h)))
        h = h + module(h)
    return outputs


def stack_last_head_only(x, modules, heads):
    h = x
    for module in modules:
        h = h + module(h)
    return heads[-1](h)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (stack_without_residual, ["1.5 x and 2.25 x", "ADDED"]),
        (stack_adds_the_original_input, ["1.5 x and 2.25 x"]),
        (stack_head_before_addition, ["1.5 x and 2.25 x"]),
        (stack_last_head_only, ["1.5 x and 2.25 x", "as a list"]),
    ],
)
def test_residual_stack_check_rejects_wrong_answers(wrong, words):
    assert_rejected(ch10.check_residual_stack, wrong, "Exercise 10.4 (residual_stack)", *words)


class _Body(torch.nn.Module):
    """U(h) of a stacked module that computes h + U(h)."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, h):
        return self.unet(h) - h


def test_residual_stack_reference_is_the_stacked_unets_forward():
    """StackedUNets' forward is the exercise's loop over its modules and heads, after the stem."""
    from segbook.models import StackedUNets

    torch.manual_seed(0)
    model = StackedUNets(3, width=4, depth=2, stacks=3).eval()
    x = torch.rand(2, 3, 8, 8)
    with torch.no_grad():
        expected = model(x)
        bodies = [_Body(unet) for unet in model.unets]  # a StackedUNets module returns h + U(h) itself
        got = SOLUTIONS["residual_stack"](model.stem(x), bodies, [model.heads[str(k)] for k in range(3)])
    assert all(torch.allclose(e, g, atol=1e-6) for e, g in zip(expected, got))


# --- types: what the statement says is checked ---------------------------------------------------------------


@pytest.mark.parametrize(
    "check, name, label, convert, words",
    [
        (ch10.check_coupled_block_inputs, "coupled_block_inputs", "Exercise 10.1", sorted, ["asks for a set"]),
        (ch10.check_coupled_in_channels, "coupled_in_channels", "Exercise 10.2", float, ["expected an int"]),
    ],
)
def test_results_of_another_type_than_the_statement_says_are_rejected(check, name, label, convert, words):
    assert_rejected(check, returning(SOLUTIONS[name], convert), label, *words)
