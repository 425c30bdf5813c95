"""Derivation exercises: the student writes a gradient by hand and the check compares it with two references.

The student's function receives the same inputs as the loss (or the operation) and returns the gradient of the
result with respect to one of them, derived on paper. :func:`check_gradient` runs it with autograd switched off
(``torch.inference_mode``: calling ``backward`` or ``torch.autograd.grad`` inside it fails, so the answer must
come from the derivation) and compares it, on each case, with

* autograd's gradient of the reference function, in float64, and
* central finite differences of the reference function, in float64 (on every element for small inputs),

so a failure says which one disagrees and where. The two references are first compared with each other, so a
case whose reference is not differentiable where it is evaluated is a bug of the check, not of the student.

Example:
    >>> def square_grad(x):
    ...     return 2 * x
    >>> check_gradient("Exercise 0.2 (square_grad)", square_grad, lambda x: (x ** 2).sum(),
    ...                [("three numbers", (torch.tensor([1.0, -2.0, 0.5]),))], hint="d(x^2)/dx")
    Exercise 0.2 (square_grad): all 1 case passed.
        (each case compared with autograd and with finite differences)
    True
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import torch

from segbook.exercises._core import Case, ExerciseError, allclose, run_checks

__all__ = ["check_gradient", "autograd_gradient", "numerical_gradient"]

_FD_STEP = 1e-6


def _float64(args: tuple) -> tuple:
    return tuple(a.detach().double() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args)


def autograd_gradient(reference: Callable, args: tuple, wrt: int = 0) -> torch.Tensor:
    """The gradient of ``reference(*args)`` (a scalar) with respect to ``args[wrt]``, by autograd in float64."""
    inputs = list(_float64(args))
    inputs[wrt] = inputs[wrt].clone().requires_grad_()
    (grad,) = torch.autograd.grad(reference(*inputs), inputs[wrt])
    return grad


def numerical_gradient(reference: Callable, args: tuple, wrt: int = 0, step: float = _FD_STEP) -> torch.Tensor:
    """Central finite differences of ``reference(*args)`` with respect to ``args[wrt]``, every element, float64."""
    inputs = list(_float64(args))
    x = inputs[wrt].clone()
    grad = torch.zeros_like(x)
    flat, out = x.view(-1), grad.view(-1)
    with torch.no_grad():
        for i in range(flat.numel()):
            keep = flat[i].item()
            flat[i] = keep + step
            up = float(reference(*inputs[:wrt], x, *inputs[wrt + 1 :]))
            flat[i] = keep - step
            down = float(reference(*inputs[:wrt], x, *inputs[wrt + 1 :]))
            flat[i] = keep
            out[i] = (up - down) / (2 * step)
    return grad


def check_gradient(
    exercise: str,
    fn: Callable,
    reference: Callable,
    cases: Sequence["tuple[str, tuple]"],
    *,
    wrt: int = 0,
    hint: str = "",
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> bool:
    """Check a hand-derived gradient against autograd and finite differences, with autograd off for the student.

    Args:
        exercise: the label, e.g. ``"Exercise 5.4 (cross_entropy_grad)"``.
        fn: the student's function, called with each case's arguments; returns a tensor shaped like ``args[wrt]``.
        reference: the function being differentiated, returning a 0-dim tensor (e.g. a loss from
            :mod:`segbook.losses`).
        cases: ``(description, args)`` pairs; the inputs are float32 or float64, small enough for finite
            differences on every element (a few hundred elements at most).
        wrt: which argument the gradient is taken with respect to.
        hint: shown with a failure (what to re-derive, not the formula).
        rtol, atol: tolerance against the float64 references (the student may compute in float32).

    Returns:
        ``True`` when every case passes; ``False`` while the function is the not-attempted placeholder.

    Raises:
        ExerciseError: the first failing case, or a function that called autograd.
    """
    checked = []
    for description, args in cases:
        by_autograd = autograd_gradient(reference, args, wrt)
        by_differences = numerical_gradient(reference, args, wrt)
        if not torch.allclose(by_autograd, by_differences, rtol=1e-4, atol=1e-6):
            raise RuntimeError(f"{exercise}: the check's case {description!r} is not differentiable where evaluated")
        checked.append(
            Case(
                f"{description} (autograd and finite differences agree on the expected gradient)",
                args,
                expected=by_autograd.to(args[wrt].dtype),
                compare=allclose(rtol=rtol, atol=atol),
                hint=hint,
            )
        )

    @functools.wraps(fn)
    def without_autograd(*args, **kwargs):
        with torch.inference_mode():
            try:
                return fn(*args, **kwargs)
            except RuntimeError as exc:
                if "does not require grad" in str(exc) or "inference" in str(exc).lower():
                    raise ExerciseError(
                        f"{exercise}: your function asked autograd for the gradient (backward or "
                        "torch.autograd.grad); the check turns autograd off: derive the gradient on paper and "
                        "compute it with tensor operations"
                    ) from exc
                raise

    try:
        ok = run_checks(exercise, without_autograd, checked)
    except ExerciseError as exc:
        if isinstance(exc.__cause__, ExerciseError):  # autograd was called: say that, not "case 1 failed"
            raise exc.__cause__ from None
        raise
    if ok:
        print("    (each case compared with autograd and with finite differences)")
    return ok
