"""Parameter fields that describe themselves: a :class:`Control` (label, help, kind, range) on a
dataclass field gives the command line its ``--flag`` and a panel its control, and refuses a bad
value in Python — one description, read by all three. Style methods
(:mod:`fsutils.style.params`) and blend modes (:mod:`fsutils.blend.modes`) use it. A leaf module:
no torch, no ipywidgets.

>>> @dataclass(frozen=True)
... class Toy:
...     gamma: float = described(1.0, Control("γ", "the curve's exponent", low=0.1, high=4))
>>> controls(Toy)["gamma"][1].label
'γ'
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Control", "described", "controls", "bounds", "check_value", "KINDS"]

#: The kinds of control a parameter may have.
KINDS = ("slider", "int", "log", "number", "check", "choice")


@dataclass(frozen=True)
class Control:
    """How a parameter field shows itself: ``label`` (the panel's), ``help`` (the command line's
    ``--flag``, named after the field, with older spellings in ``aliases``) and its ``kind`` of
    control: ``"slider"`` (a number from ``low`` to ``high`` by ``step``), ``"int"`` (a whole
    number), ``"log"`` (a number on a log scale: ``low`` and ``high`` are powers of ten),
    ``"number"`` (a typed number), ``"check"`` (on or off) or ``"choice"`` (one of ``choices``).
    ``low``..``high`` is the panel's range; the command line and Python accept ``low`` (for
    ``"log"``: 0; excluded unless ``low_ok``) to ``limit`` (default ``high``).
    ``panel_default`` gives the panel's starting value where the field's default is None."""

    label: str
    help: str = ""
    kind: str = "slider"
    low: float = 0.0
    high: float = 1.0
    step: float = 0.05
    limit: float | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    panel_default: Callable[[], Any] | None = None
    low_ok: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a Control's kind is one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError("a 'choice' Control needs its choices")


def described(default: Any, control: Control) -> Any:
    """A parameter field with its :class:`Control`: ``x: float = described(1.0, Control(…))``."""
    return field(default=default, metadata={"control": control})


def controls(params: type) -> dict[str, tuple[Any, Control]]:
    """The described fields of a parameter class: name → (default, :class:`Control`)."""
    return {f.name: (f.default, f.metadata["control"]) for f in dataclasses.fields(params)
            if "control" in f.metadata}


def bounds(control: Control) -> tuple[float, bool, float]:
    """``(low, low_ok, high)``: the values a number of this control may take outside the panel
    (the command line, Python)."""
    low = 0.0 if control.kind == "log" else control.low
    return low, control.low_ok, control.high if control.limit is None else control.limit


def check_value(what: str, value: Any, control: Control) -> None:
    """Refuse a value outside its control's kind or range: ``ValueError`` naming ``what``."""
    if control.kind == "check":
        if not isinstance(value, bool):
            raise ValueError(f"{what} must be True or False, got {value!r}.")
        return
    if control.kind == "choice":
        if value not in control.choices:
            raise ValueError(f"{what} must be one of {', '.join(control.choices)}, got {value!r}.")
        return
    low, low_ok, high = bounds(control)
    whole = control.kind == "int"
    kind = numbers.Integral if whole else numbers.Real
    below = not isinstance(value, kind) or isinstance(value, bool) or not math.isfinite(value) \
        or (value < low if low_ok else value <= low) or value > high
    if below:
        word = "a whole number" if whole else "a number"
        raise ValueError(f"{what} must be {word} {'≥' if low_ok else '>'} {low:g} and ≤ {high:g}, "
                         f"got {value!r}.")
