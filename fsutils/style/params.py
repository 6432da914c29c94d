"""The parameters of each style method as one typed object, the single place of their defaults.

The command line, the style panel and :meth:`fsutils.pipeline.Pipeline.stylize` all build one of
these; a bad value is refused when the object is made, before any work starts. A field made with
:func:`described` carries its :class:`Control` — label, help, range, kind of control — from which
the command line makes its ``--flag`` and the style panel its control; a field without one is a
Python-only setting.

>>> GatysParams(steps=50).replace(style_weight=1e5)          # doctest: +SKIP
GatysParams(content_weight=1.0, style_weight=100000.0, tv_weight=0.0, steps=50, …)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Union

from fsutils.controls import Control, controls, described

__all__ = ["Params", "MagentaParams", "FastParams", "AdainParams", "GatysParams", "StyleParams",
           "Control", "described", "controls", "OPTIMIZERS", "INITS", "PRESERVE",
           "MAX_LOSS_WEIGHT", "MAX_STEPS"]

OPTIMIZERS: tuple[str, ...] = ("lbfgs", "adam")
INITS: tuple[str, ...] = ("content", "noise")
PRESERVE: tuple[str, ...] = ("color", "shading")
#: Upper bounds of Gatys' loss weights and step count: far above useful values (style weight 1e6
#: by default, a few hundred steps), below the ones that overflow float32 losses or run for days.
MAX_LOSS_WEIGHT = 1e12
MAX_STEPS = 100_000


def _gatys_steps() -> int:
    from fsutils.env import default_gatys_steps

    return default_gatys_steps()


_STRENGTH = Control("style strength", "0..1: how much of the painting's style a one-pass method "
                    "(magenta, adain) applies, from the photo's own style (0) to the painting's "
                    "(1)", aliases=("--alpha",))
_PRESERVE_COLOR = Control("keep the photo's colours", "keep the photo's colours and take only the "
                          "painting's texture (every method: the stylised lightness with the "
                          "photo's colour, CIELAB)", kind="check")


class Params:
    """What every parameter class shares: ``replace`` with a clear error for unknown names."""

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed (``None`` values are ignored)."""
        names = {f.name for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        unknown = set(changes) - names
        if unknown:
            method = type(self).__name__.removesuffix("Params")
            raise TypeError(f"{method} takes no parameter(s) {', '.join(sorted(unknown))}; its "
                            f"parameters are {', '.join(sorted(names)) or 'none'}")
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes) if changes else self  # type: ignore[type-var]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


def _fraction(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")
    return float(value)


def _flag(name: str, value: bool) -> bool:
    if not isinstance(value, (bool, int)) or value not in (0, 1):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _non_negative(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not 0 <= float(value) <= MAX_LOSS_WEIGHT:
        raise ValueError(f"{name} must be a number ≥ 0 and ≤ {MAX_LOSS_WEIGHT:g}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class MagentaParams(Params):
    """Magenta: ``style_strength`` 0..1 moves from the photo's own style (0) to the painting's
    (1) (named apart from the blend's ``strength``); ``preserve_color``: keep the photo's colours
    and take only the painting's texture (:func:`fsutils.style.color.keep_photo_color`)."""

    style_strength: float = described(1.0, _STRENGTH)
    preserve_color: bool = described(False, _PRESERVE_COLOR)

    def __post_init__(self) -> None:
        object.__setattr__(self, "style_strength", _fraction("style_strength", self.style_strength))
        object.__setattr__(self, "preserve_color", _flag("preserve_color", self.preserve_color))


@dataclass(frozen=True)
class FastParams(Params):
    """The fast (pretrained feed-forward) models: the model is the style; ``preserve_color``
    keeps the photo's colours and takes only the model's texture."""

    preserve_color: bool = described(False, _PRESERVE_COLOR)

    def __post_init__(self) -> None:
        object.__setattr__(self, "preserve_color", _flag("preserve_color", self.preserve_color))


@dataclass(frozen=True)
class AdainParams(Params):
    """AdaIN: ``style_strength`` 0..1, how much of the painting's feature statistics replace the
    photo's (the paper's α: features ``α·AdaIN(c, s) + (1−α)·c``); ``preserve_color``: keep the
    photo's colours and take only the painting's texture."""

    style_strength: float = described(1.0, _STRENGTH)
    preserve_color: bool = described(False, _PRESERVE_COLOR)

    def __post_init__(self) -> None:
        object.__setattr__(self, "style_strength",
                           _fraction("style_strength", self.style_strength))
        object.__setattr__(self, "preserve_color", _flag("preserve_color", self.preserve_color))


@dataclass(frozen=True)
class GatysParams(Params):
    """Gatys optimisation.

    ``content_weight``, ``style_weight``, ``tv_weight``: weights α, β of the content and style
    losses and of the total variation; ``steps``: loss evaluations (``None``:
    :func:`fsutils.env.default_gatys_steps`, 100 on a CPU, 300 on a GPU); ``optimizer``:
    ``"lbfgs"`` (default learning rate 1) or ``"adam"`` (0.02), ``lr`` to change it; ``init``:
    start from the ``"content"`` photo or from ``"noise"`` (drawn from ``seed``);
    ``preserve_color``: keep the photo's colours (luminance-only transfer, as every method's
    ``preserve_color``); ``preserve``: ``"shading"`` (the garment's folds and shadows) and/or
    ``"color"`` (the same as ``preserve_color=True``: either one sets the other),
    ``shading_sigma`` the blur separating shading from texture.
    """

    content_weight: float = described(1.0, Control("content weight α", "content weight α",
                                                   "log", -3, 3, 0.25, MAX_LOSS_WEIGHT))
    style_weight: float = described(1e6, Control("style weight β", "style weight β", "log", 2, 9,
                                                 0.25, MAX_LOSS_WEIGHT))
    tv_weight: float = described(0.0, Control("TV weight", "total-variation weight", "number", 0,
                                               1e6, 1e-6, MAX_LOSS_WEIGHT))
    steps: int | None = described(None, Control("steps", "optimisation steps (default 100 CPU / "
                                                 "300 GPU)", "int", 1, 1000, 1, MAX_STEPS,
                                                 panel_default=_gatys_steps))
    optimizer: str = described("lbfgs", Control("optimizer", "lbfgs (the original method's "
                                                 "choice: few steps) or adam (cheaper steps, more "
                                                 "of them)", "choice", choices=OPTIMIZERS))
    lr: float | None = None
    init: str = "content"
    preserve: tuple[str, ...] = ()
    seed: int | None = None
    shading_sigma: float | None = None
    preserve_color: bool = described(False, _PRESERVE_COLOR)

    def __post_init__(self) -> None:
        for name in ("content_weight", "style_weight", "tv_weight"):
            object.__setattr__(self, name, _non_negative(name, getattr(self, name)))
        if self.steps is not None and (not isinstance(self.steps, int)
                                       or not 1 <= self.steps <= MAX_STEPS):
            raise ValueError(f"steps must be a whole number from 1 to {MAX_STEPS}, got "
                             f"{self.steps!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, got {self.init!r}")
        preserve = (self.preserve,) if isinstance(self.preserve, str) else tuple(self.preserve or ())
        unknown = set(preserve) - set(PRESERVE)
        if unknown:
            raise ValueError(f"preserve must be None, 'color', 'shading' or both, got {sorted(unknown)}")
        keep = _flag("preserve_color", self.preserve_color) or "color" in preserve
        object.__setattr__(self, "preserve_color", keep)
        preserve = {*preserve, "color"} if keep else set(preserve)
        object.__setattr__(self, "preserve", tuple(p for p in PRESERVE if p in preserve))


StyleParams = Union[MagentaParams, FastParams, AdainParams, GatysParams]
