"""Where the book runs: the device, the random seeds, and the versions a notebook reports.

Every chapter's first code cell calls :func:`print_environment` so that a result in the book
can always be traced back to the machine and library versions that produced it, and
:func:`seed_everything` so that the notebook gives the same numbers each time it runs.

Example:
    >>> from segbook.env import pick_device, seed_everything
    >>> seed_everything(0)
    >>> pick_device("cpu")
    device(type='cpu')
"""

from __future__ import annotations

import os
import platform
import random
from importlib import metadata
from typing import Optional, Union

import numpy as np
import torch

from segbook import DISTRIBUTION, HOMEPAGE
from segbook.conventions import check_int

__all__ = ["pick_device", "seed_everything", "environment", "print_environment", "user_agent", "bars_hidden"]

_DEVICE_TYPES = ("cuda", "mps", "cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(prefer: Union[str, torch.device, None] = None) -> torch.device:
    """Return the fastest available device: a CUDA GPU, then Apple's MPS, then the CPU.

    With ``prefer`` the choice is forced, and a device that this machine does not have is an
    error instead of a silent fall-back to the CPU (a notebook that asked for the GPU should
    say so when it did not get it).

    Notes:
        MPS (Apple silicon) lacks a few operations; set ``PYTORCH_ENABLE_MPS_FALLBACK=1``
        before importing torch to run those on the CPU, or pass ``prefer="cpu"``.

    Args:
        prefer: ``None`` (choose automatically), or ``"cuda"``, ``"cuda:1"``, ``"mps"``,
            ``"cpu"`` or a ``torch.device``.

    Returns:
        The chosen ``torch.device``.

    Raises:
        TypeError: ``prefer`` is neither ``None``, a string nor a ``torch.device``.
        ValueError: ``prefer`` names an unknown device type or one this machine lacks.

    Example:
        >>> pick_device("cpu")
        device(type='cpu')
        >>> pick_device().type in {"cuda", "mps", "cpu"}
        True
    """
    if prefer is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if isinstance(prefer, str):
        try:
            device = torch.device(prefer)
        except RuntimeError:
            raise ValueError(
                f"prefer must name a device such as 'cuda', 'cuda:0', 'mps' or 'cpu', got {prefer!r}"
            ) from None
    elif isinstance(prefer, torch.device):
        device = prefer
    else:
        raise TypeError(
            f"prefer must be None, a string such as 'cuda' or a torch.device, got {type(prefer).__name__} {prefer!r}"
        )
    if device.type not in _DEVICE_TYPES:
        raise ValueError(
            f"prefer must be one of {', '.join(map(repr, _DEVICE_TYPES))} "
            f"(optionally with an index, e.g. 'cuda:0'), got {prefer!r}"
        )
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"prefer={prefer!r} but no CUDA GPU is available "
                "(torch.cuda.is_available() is False); use prefer='cpu' or prefer=None. "
                "In Colab: Runtime > Change runtime type > GPU."
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"prefer={prefer!r} but this machine has only {count} CUDA device(s) (indices 0..{count - 1})"
            )
    if device.type == "mps" and not _mps_available():
        raise ValueError(
            f"prefer={prefer!r} but Apple's MPS backend is not available on this machine; "
            "use prefer='cpu' or prefer=None"
        )
    return device


def seed_everything(seed: int, *, deterministic: Optional[bool] = None) -> None:
    """Seed every random number generator a notebook uses: Python's, NumPy's and torch's.

    After ``seed_everything(s)``, weight initialisation, ``DataLoader`` shuffling, dropout and
    random augmentations repeat exactly on the same machine and library versions. On the CPU
    this is all the book needs: its notebooks run bit-for-bit the same each time.

    On a GPU some kernels (e.g. the backward pass of bilinear upsampling) add in a
    non-deterministic order, so results still differ in the last digits between runs. The
    book's convention is to accept that and keep the GPU fast: ``deterministic`` defaults to
    ``None``, which leaves torch's process-wide switch as it is. ``deterministic=True`` calls
    ``torch.use_deterministic_algorithms(True, warn_only=True)`` (operations without a
    deterministic version warn instead of failing), disables cuDNN autotuning and sets
    ``CUBLAS_WORKSPACE_CONFIG`` when it is unset; ``deterministic=False`` switches all that off.

    Notes:
        ``PYTHONHASHSEED`` cannot be changed from inside a running interpreter, so the order of
        ``set`` iteration over strings is not covered; the package never relies on it.

    Args:
        seed: an integer in ``[0, 2**32 - 1]`` (NumPy's range).
        deterministic: ``None`` to leave torch's determinism switch alone, ``True``/``False``
            to turn it on/off for the whole process.

    Raises:
        TypeError: ``seed`` is not an integer or ``deterministic`` not a bool/None.
        ValueError: ``seed`` is out of range.

    Example:
        >>> seed_everything(0); a = torch.rand(2)
        >>> seed_everything(0); b = torch.rand(2)
        >>> torch.equal(a, b)
        True
    """
    seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    if deterministic is not None and not isinstance(deterministic, bool):
        raise TypeError(
            f"deterministic must be None, True or False, got {type(deterministic).__name__} {deterministic!r}"
        )
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- seeding numpy's global generator is this function's job
    torch.manual_seed(seed)  # also seeds every CUDA and MPS device
    if deterministic is not None:
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS needs it (CUDA >= 10.2)
            torch.backends.cudnn.benchmark = False  # autotuning may pick a different kernel each run
        torch.use_deterministic_algorithms(deterministic, warn_only=True)
        torch.backends.cudnn.deterministic = deterministic


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def bars_hidden() -> bool:
    """Whether the environment variable ``TQDM_DISABLE`` asks to hide progress bars (any value but empty, ``0``
    or ``false``); the site build and the tests set it.

    :func:`segbook.training.fit` and the downloads read it here, at each call, rather than leave it to tqdm:
    tqdm >= 4.66 reads ``TQDM_*`` variables once, when it is imported, and its Jupyter bar (what ``tqdm.auto``
    picks in a notebook) overrides ``TQDM_DISABLE`` anyway.

    Example:
        >>> isinstance(bars_hidden(), bool)
        True
    """
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false")


def user_agent() -> str:
    """The User-Agent of segbook's downloads: the distribution, its version and the book's home page.

    Example:
        >>> user_agent().startswith("hust-segbook/")
        True
    """
    return f"{DISTRIBUTION}/{_version(DISTRIBUTION)} (+{HOMEPAGE})"


def environment() -> dict:
    """Return the facts :func:`print_environment` prints, as a dictionary.

    Returns:
        ``{"python", "platform", "torch", "torchvision", "numpy", "segbook", "device", "cuda",
        "gpu", "threads", "deterministic"}``: version strings, the device :func:`pick_device`
        chooses (as a string), the CUDA version torch was built with (``None`` for CPU builds),
        the GPU's name (``None`` without one), torch's CPU thread count, and whether
        deterministic algorithms are switched on.

    Example:
        >>> sorted(environment())[:3]
        ['cuda', 'deterministic', 'device']
    """
    device = pick_device()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "torch": torch.__version__,
        "torchvision": _version("torchvision"),
        "numpy": np.__version__,
        "segbook": _version(DISTRIBUTION),
        "device": str(device),
        "cuda": torch.version.cuda,
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "threads": torch.get_num_threads(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
    }


def print_environment() -> None:
    """Print Python, torch, torchvision, NumPy and segbook versions and the device, one per line.

    The first code cell of every chapter calls it, so that each notebook records where its
    numbers came from.

    Example:
        >>> print_environment()  # doctest: +ELLIPSIS
        python        3...
    """
    for key, value in environment().items():
        print(f"{key:<13} {value}")
