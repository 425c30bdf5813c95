"""Shared pytest configuration."""

import os

import pytest
import torch

# No progress bars while testing: segbook.training.fit reads TQDM_DISABLE at each call, and tqdm >= 4.66 reads it
# for every other bar. Set at import, before any kernel starts, so that the notebooks nbval and the student test
# execute (their kernels inherit this process's environment) run without bars, as in the site build. A test of the
# bars themselves removes it with monkeypatch.
os.environ["TQDM_DISABLE"] = "1"


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tests use tiny tensors: one thread is faster than two fighting the other xdist worker for the cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
