"""Command-line arguments, checked before any work: the one parser class and the value types every
command shares (``python -m fsutils``, ``python -m fsutils.evaluate``, ``python -m fsutils.train``).

A bad value stops the command with one line on stderr, ``<command>: error: <what is wrong> (see
--help)``, and exit status 2, before any model loads or any file is written::

    p = Parser(prog="python -m fsutils.train")
    p.add_argument("--steps", type=whole(1), default=100)
    p.add_argument("--lr", type=number(low=0, low_ok=False), default=1e-3)
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

__all__ = ["Parser", "number", "whole", "multiple_of", "device", "DEVICE_HELP",
           "add_config_arguments"]

#: The help of every ``--device`` option.
DEVICE_HELP = "cpu, cuda, cuda:N or mps (default: best available)"


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (``python -m fsutils.evaluate blend: error: …
    (see --help)``, exit status 2); the subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def number(kind: type = float, *, low: float | None = None, low_ok: bool = True,
           high: float | None = None, high_ok: bool = True) -> Callable[[str], int | float]:
    """An argparse type: a ``kind`` (``int``: a whole number; ``float``) number ≥ ``low`` (> ``low``
    unless ``low_ok``) and ≤ ``high`` (< ``high`` unless ``high_ok``), None being no bound; NaN
    and infinities are refused."""
    word = "a whole number" if kind is int else "a number"
    bounds = ([] if low is None else [f"≥ {low:g}" if low_ok else f"> {low:g}"]) + \
        ([] if high is None else [f"≤ {high:g}" if high_ok else f"< {high:g}"])
    bound = " and ".join(bounds) or "that is finite"

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {word}") from None
        below = low is not None and (value < low if low_ok else value <= low)
        above = high is not None and (value > high if high_ok else value >= high)
        if not math.isfinite(value) or below or above:
            raise argparse.ArgumentTypeError(f"{text} is out of range: give {word} {bound}")
        return value

    parse.__name__ = "whole number" if kind is int else "number"
    return parse


def whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number ≥ ``low`` (and ≤ ``high``)."""
    return number(int, low=low, high=high)  # type: ignore[return-value]


def multiple_of(step: int, low: int) -> Callable[[str], int]:
    """An argparse type: a whole number ≥ ``low`` that ``step`` divides (a network's input side)."""
    check = whole(low)

    def parse(text: str) -> int:
        value = check(text)
        if value % step:
            raise argparse.ArgumentTypeError(f"{text} is not a multiple of {step}: give a whole "
                                             f"number ≥ {low} that {step} divides")
        return value

    parse.__name__ = "whole number"
    return parse


def device(text: str) -> str:
    """An argparse type: a device this machine has (``cpu``, ``cuda``, ``cuda:N``, ``mps``,
    ``auto``; :func:`fsutils.env.check_device`), lower-cased."""
    from fsutils import env

    try:
        return env.check_device(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).rstrip(".")) from None


device.__name__ = "device"


def add_config_arguments(p: argparse.ArgumentParser, config: Any, names: Iterable[str],
                         helps: Mapping[str, str],
                         types: Mapping[str, Callable[[str], Any]] | None = None,
                         aliases: Mapping[str, Iterable[str]] | None = None) -> None:
    """One ``--option`` per field ``name`` of the settings object ``config``, its value there the
    default; the type is ``types[name]`` (for numbers, a range-checking type of this module),
    else the default's type (``int`` for a ``None`` default); ``aliases[name]`` lists older
    spellings of the option that still work. Shared by the training commands of the cloth model
    and the garment-swap GAN."""
    for name in names:
        default = getattr(config, name)
        kind = (types or {}).get(name) or (type(default) if default is not None else int)
        p.add_argument("--" + name.replace("_", "-"), *(aliases or {}).get(name, ()), dest=name,
                       type=kind, default=default, help=helps.get(name))
