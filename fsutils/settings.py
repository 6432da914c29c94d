"""The kit's environment settings, read the one way: the leaf that every other module may import
(the standard library only; torch is imported when a device is asked for).

- :func:`number_setting` — a number from an environment variable (``FSUTILS_MAX_PIXELS``,
  ``FSUTILS_DOWNLOAD_TIMEOUT`` …), or a :class:`SettingError` naming the variable and the values
  it takes;
- :func:`device` — CUDA, then Apple MPS, then CPU; ``FSUTILS_DEVICE=cpu|cuda|cuda:1|mps`` or the
  ``prefer`` argument overrides the choice; :func:`check_device` checks a name a user typed.

:mod:`fsutils.env` gathers these with the rest of what concerns where the kit runs.
"""
from __future__ import annotations

import math
import os

__all__ = ["SettingError", "number_setting", "device", "check_device"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class SettingError(ValueError):
    """An environment variable of the kit holds a value it cannot use; the message names the
    variable and the values it takes."""


def number_setting(name: str, default: int | float, *, what: str, whole: bool = False,
                   low: float = 0, low_ok: bool = True) -> int | float:
    """The number in ``$name`` (``default`` when unset or blank): a finite number (a whole number
    when ``whole``) ≥ ``low`` (> ``low`` unless ``low_ok``); anything else raises
    :class:`SettingError`, one line saying which variable, what it means (``what``) and which
    values it takes."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    kind = int if whole else float
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or (value < low if low_ok else value <= low):
        word = "a whole number" if whole else "a number"
        raise SettingError(f"{name}={text!r} is not usable: it takes {what}, {word} "
                           f"{'≥' if low_ok else '>'} {low:g} (unset it for the default, "
                           f"{default:,}).")
    return value


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
