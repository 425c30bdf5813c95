"""Every runnable example in the package's docstrings runs and prints what it claims."""

import doctest
import importlib
import pkgutil

import pytest
import torch

import segbook

MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(segbook.__path__, "segbook."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    torch.manual_seed(0)
    result = doctest.testmod(
        module, extraglobs={"torch": torch, "nn": torch.nn}, optionflags=doctest.ELLIPSIS, report=False
    )
    assert result.failed == 0, (
        f"{result.failed} of {result.attempted} docstring examples of {name} failed "
        f"(run: python -m doctest -v src/{name.replace('.', '/')}.py)"
    )
