"""Tests of segbook.env: device choice, seeding, and the environment report."""

import random

import numpy as np
import pytest
import torch

from segbook import env
from segbook.env import environment, pick_device, print_environment, seed_everything


@pytest.fixture
def no_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(env, "_mps_available", lambda: False)


@pytest.fixture
def fake_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.fixture
def restore_determinism():
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    yield
    torch.use_deterministic_algorithms(before[0], warn_only=before[1])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2], before[3]


# ---------------------------------------------------------------- pick_device
def test_pick_device_falls_back_to_cpu_without_accelerator(no_accelerator):
    assert pick_device() == torch.device("cpu")


def test_pick_device_prefers_cuda_then_mps(monkeypatch, fake_cuda):
    monkeypatch.setattr(env, "_mps_available", lambda: True)
    assert pick_device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device() == torch.device("mps")


@pytest.mark.parametrize("prefer", ["cpu", torch.device("cpu")])
def test_pick_device_honours_prefer(prefer):
    assert pick_device(prefer) == torch.device("cpu")


def test_pick_device_accepts_a_cuda_index_that_exists(fake_cuda):
    assert pick_device("cuda:1") == torch.device("cuda", 1)


@pytest.mark.parametrize(
    "prefer, message",
    [
        ("cuda", "prefer='cuda' but no CUDA GPU is available"),
        ("cuda:0", "prefer='cuda:0' but no CUDA GPU is available"),
        ("mps", "prefer='mps' but Apple's MPS backend is not available"),
        ("tpu", "prefer must name a device such as 'cuda'"),
        ("meta", "prefer must be one of 'cuda', 'mps', 'cpu'"),
    ],
)
def test_pick_device_refuses_what_the_machine_lacks(no_accelerator, prefer, message):
    with pytest.raises(ValueError, match=message):
        pick_device(prefer)


def test_pick_device_refuses_a_cuda_index_past_the_last_gpu(fake_cuda):
    with pytest.raises(ValueError, match=r"only 2 CUDA device\(s\) \(indices 0..1\)"):
        pick_device("cuda:5")


@pytest.mark.parametrize("prefer", [0, 1.5, ["cpu"]])
def test_pick_device_refuses_non_strings(prefer):
    with pytest.raises(TypeError, match="prefer must be None, a string"):
        pick_device(prefer)


# ---------------------------------------------------------------- seed_everything
def draws():
    return random.random(), float(np.random.rand())  # noqa: NPY002 -- the global generator seed_everything seeds, torch.rand(3).tolist()


def test_seed_everything_repeats_python_numpy_and_torch_draws():
    seed_everything(123)
    first = draws()
    seed_everything(123)
    assert draws() == first
    seed_everything(124)
    assert draws() != first


def test_seed_everything_fixes_weight_initialisation():
    seed_everything(0)
    a = torch.nn.Conv2d(3, 4, 3).weight.detach().clone()
    seed_everything(0)
    assert torch.equal(a, torch.nn.Conv2d(3, 4, 3).weight)


def test_seed_everything_leaves_the_determinism_switch_alone_by_default(restore_determinism):
    torch.use_deterministic_algorithms(True, warn_only=True)
    seed_everything(0)
    assert torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    seed_everything(0)
    assert not torch.are_deterministic_algorithms_enabled()


def test_seed_everything_can_switch_deterministic_algorithms_on_and_off(restore_determinism):
    seed_everything(0, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    seed_everything(0, deterministic=False)
    assert not torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.deterministic


@pytest.mark.parametrize(
    "seed, error, message",
    [
        (-1, ValueError, "seed must be >= 0"),
        (2**32, ValueError, "seed must be <= 4294967295"),
        (1.5, TypeError, "seed must be an int"),
        ("0", TypeError, "seed must be an int"),
        (True, TypeError, "seed must be an int"),
    ],
)
def test_seed_everything_refuses_bad_seeds(seed, error, message):
    with pytest.raises(error, match=message):
        seed_everything(seed)


def test_seed_everything_refuses_a_non_bool_deterministic():
    with pytest.raises(TypeError, match="deterministic must be None, True or False"):
        seed_everything(0, deterministic="yes")


def test_seed_everything_accepts_numpy_integers():
    seed_everything(np.int64(5))
    first = draws()
    seed_everything(5)
    assert draws() == first


# ---------------------------------------------------------------- environment report
def test_environment_reports_the_running_versions_and_device():
    facts = environment()
    assert set(facts) == {
        "python",
        "platform",
        "torch",
        "torchvision",
        "numpy",
        "segbook",
        "device",
        "cuda",
        "gpu",
        "threads",
        "deterministic",
    }
    assert facts["torch"] == torch.__version__ and facts["numpy"] == np.__version__
    assert facts["device"] == str(pick_device())
    assert facts["threads"] == torch.get_num_threads()


def test_environment_names_packages_that_are_missing(monkeypatch):
    def version(name):
        raise env.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(env.metadata, "version", version)
    assert environment()["segbook"] == "not installed"


def test_print_environment_prints_one_line_per_fact(capsys):
    print_environment()
    lines = capsys.readouterr().out.splitlines()
    facts = environment()
    assert [line.split()[0] for line in lines] == list(facts)
    assert f"torch         {torch.__version__}" in lines
