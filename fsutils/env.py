"""Where the kit runs: Colab or not, which device, and defaults that suit it.

- :func:`device` — CUDA, then Apple MPS, then CPU; ``FSUTILS_DEVICE=cpu|cuda|cuda:1|mps`` or the
  ``prefer`` argument overrides the choice; :func:`check_device` checks a name a user typed.
- :func:`report` — one call that prints torch/torchvision versions, the device and the GPU, and on
  Colab without a GPU how to switch the runtime type.
- :func:`tiny_mode` — ``FSUTILS_TINY=1``: notebooks and the main job use tiny sizes and iteration
  counts so that headless test runs finish in seconds.
- :func:`default_style_size`, :func:`default_work_size`, :func:`default_gatys_steps` — CPU-aware
  working resolutions and iteration counts.
- :func:`needs_weights` — for notebook cells that need a checkpoint this machine may not be able
  to obtain: a short message instead of a traceback, and the notebook carries on.
"""
from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Iterator

__all__ = ["is_colab", "device", "check_device", "report", "tiny_mode", "default_style_size", "default_work_size",
           "default_gatys_steps", "needs_weights"]

_TRUE = {"1", "true", "yes", "on"}
COLAB_GPU_HINT = ("No GPU in this Colab session: everything runs on the CPU and style transfer is "
                  "slow. Switch with Runtime → Change runtime type → Hardware accelerator: GPU "
                  "(e.g. T4), then run the notebook again from the top.")


def is_colab() -> bool:
    """True inside Google Colab (the ``google.colab`` module has been imported by the runtime)."""
    return "google.colab" in sys.modules


def _mps_available(torch) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _here(torch) -> str:
    """The devices this machine can compute on, as a user would type them."""
    cuda = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() \
        else []
    return ", ".join(["cpu", *(["cuda"] if cuda else []), *cuda[1:],
                      *(["mps"] if _mps_available(torch) else [])])


def device(prefer: str | None = None):
    """The ``torch.device`` to compute on.

    ``prefer`` (or else ``$FSUTILS_DEVICE``) forces one (``"cpu"``, ``"cuda"``, ``"cuda:1"``,
    ``"mps"``); asking for one that is unknown or not available raises ``RuntimeError`` naming the
    devices this machine has. Otherwise CUDA, then Apple MPS, then CPU.
    """
    import torch

    choice = (prefer or os.environ.get("FSUTILS_DEVICE", "")).strip().lower()
    if choice and choice != "auto":
        try:
            dev = torch.device(choice)
        except RuntimeError:
            dev = None
        if dev is None or dev.type not in {"cpu", "cuda", "mps"}:
            raise RuntimeError(f"Unknown device {choice!r}: use cpu, cuda, cuda:N or mps "
                               f"(available here: {_here(torch)}).")
        if dev.type == "cuda":
            if not torch.cuda.is_available():
                raise RuntimeError(f"Device {choice!r} was requested but CUDA is not available "
                                   f"here; use one of: {_here(torch)}.")
            if dev.index is not None and dev.index >= torch.cuda.device_count():
                raise RuntimeError(f"Device {choice!r} was requested but only "
                                   f"{torch.cuda.device_count()} CUDA device(s) exist; use one "
                                   f"of: {_here(torch)}.")
        elif dev.type == "mps" and not _mps_available(torch):
            raise RuntimeError(f"Device {choice!r} was requested but Apple MPS is not available "
                               f"here; use one of: {_here(torch)}.")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available(torch):
        return torch.device("mps")
    return torch.device("cpu")


def check_device(name: str) -> str:
    """A device name as a user typed it (``--device``), checked against this machine before any
    work: returned lower-cased when usable here (``auto``: the best available), else
    ``ValueError`` with the message of :func:`device` (which names the devices there are)."""
    try:
        device(name.strip() or "auto")
    except RuntimeError as e:
        raise ValueError(str(e)) from None
    return name.strip().lower()


def _is_accelerated(dev) -> bool:
    return getattr(dev, "type", str(dev)) != "cpu"


def tiny_mode() -> bool:
    """``FSUTILS_TINY=1``: use tiny sizes and step counts (headless test runs of the notebooks)."""
    return os.environ.get("FSUTILS_TINY", "").strip().lower() in _TRUE


def default_style_size(dev=None) -> int:
    """Longest side for style transfer: 512 on a GPU, 256 on a CPU, 64 in tiny mode."""
    if tiny_mode():
        return 64
    return 512 if _is_accelerated(dev if dev is not None else device()) else 256


def default_work_size(dev=None) -> int:
    """Longest side the photo is worked on (segmentation/blending output): 1024 on a GPU, 512 on a
    CPU, 256 in tiny mode (the cloth model needs about that many pixels to find the garments)."""
    if tiny_mode():
        return 256
    return 1024 if _is_accelerated(dev if dev is not None else device()) else 512


def default_gatys_steps(dev=None) -> int:
    """Optimisation steps for Gatys style transfer: 300 on a GPU, 100 on a CPU, 3 in tiny mode."""
    if tiny_mode():
        return 3
    return 300 if _is_accelerated(dev if dev is not None else device()) else 100


def report(file=None) -> str:
    """Print (and return) versions, the device, the GPU, and on Colab without a GPU what to do."""
    import torch
    import torchvision

    dev = device()
    lines = [
        f"fsutils on Python {platform.python_version()} ({platform.system()}), "
        f"{'Google Colab' if is_colab() else 'not Colab'}",
        f"torch {torch.__version__}, torchvision {torchvision.__version__}",
        f"device: {dev}",
    ]
    if dev.type == "cuda":
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        lines.append(f"GPU: {props.name}, {props.total_memory / 2**30:.1f} GiB")
    elif dev.type == "mps":
        lines.append("GPU: Apple Silicon (MPS)")
    else:
        lines.append(f"GPU: none (CPU with {torch.get_num_threads()} threads)")
        if is_colab():
            lines.append(COLAB_GPU_HINT)
    if tiny_mode():
        lines.append("FSUTILS_TINY is set: tiny sizes and step counts")
    lines.append(f"defaults: style size {default_style_size(dev)}, work size "
                 f"{default_work_size(dev)}")
    text = "\n".join(lines)
    print(text, file=file or sys.stdout)
    return text


@contextlib.contextmanager
def needs_weights(what: str, *, instead: str = "") -> Iterator[None]:
    """For a notebook cell whose work needs weights that may not be obtainable here (offline, no
    mirror): a :class:`fsutils.weights.WeightsError` raised inside the ``with`` block ends the
    block with a short message — what was skipped, why (the error's first line), what to do and,
    if given, ``instead`` (what still works) — and the notebook goes on with its next cell. Any
    other error is raised as usual.

    >>> with env.needs_weights("Gatys style transfer", instead="The fast models below work."):
    ...     result = gatys_transfer(photo, painting)               # doctest: +SKIP
    """
    from fsutils.weights import WeightsError

    try:
        yield
    except WeightsError as err:
        text = str(err).strip()
        why = text.splitlines()[0].rstrip(":") if text else type(err).__name__
        print(f"Skipped {what}: its weights could not be obtained here ({why}). To run it, use a "
              "machine with internet access (the file is downloaded once and cached) or set "
              "FSUTILS_WEIGHTS_MIRROR to a folder that holds it."
              + (f" {instead}" if instead else ""))
