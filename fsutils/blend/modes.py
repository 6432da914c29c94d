"""Blend modes as records, their parameters in one typed object, and one call that blends.

Each mode is one :class:`BlendMode` in the registry :data:`BLEND_MODES` (name, titles, the inputs
and parameters it reads, its weight function); the command line, the panels, the pipeline and the
evaluation read only these records, so a new mode is one :func:`register_mode` call with its
function.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields

import numpy as np

from .compose import (DEFAULT_STRENGTH, DEFAULT_WIDTH, _feather, _image, _plane, feathered_blend,
                      hard_paste, saliency_blend, weighted_blend)
from .masks import DEFAULT_EPS, DEFAULT_RADIUS, refine_mask, soft_mask
from .poisson import poisson_blend

__all__ = ["BlendMode", "BLEND_MODES", "TIMES_SALIENCY_JS", "register_mode", "blend_mode", "MODES", "MODE_TITLES",
           "DEFAULT_MODE", "BlendParams", "BLEND_LIMITS", "blend_weight", "compose"]

#: ``weight(params, photo, mask, *, probability, saliency) -> W`` (float32 H×W in 0..1).
WeightFn = Callable[..., np.ndarray]
#: ``compose(params, content, stylized, mask, *, probability, saliency) -> image``.
ComposeFn = Callable[..., np.ndarray]


@dataclass(frozen=True)
class BlendMode:
    """One blend mode: everything the kit knows about it, in one place.

    - ``name``: its key (``--mode``, :class:`BlendParams`); ``title``: figures, tables and the
      command line's help; ``label``: the blend panel's button (short);
    - ``weight``: its weight function ``W`` in ``C_final = W·S + (1−W)·C``
      (``weight(params, photo, mask, *, probability=None, saliency=None)``), or ``None`` for a
      mode without a weight map (Poisson blending solves for colours) — then ``compose`` is its
      only function;
    - ``reads``: the :class:`BlendParams` fields it reads (the others never change its result);
    - ``saliency``, ``probability``: whether it needs the saliency map, the garments' probability;
    - ``saliency_base``: for a "× saliency" mode, the mode whose weight it multiplies by
      ``clip(strength·saliency)`` (so a new strength never recomputes that weight);
    - ``compose``: its own compositing function (``compose(params, content, stylized, mask, *,
      probability=None, saliency=None)``) when it has one, else ``weighted_blend`` of its weight;
    - ``js``: for a pointwise mode, its weight as a JavaScript expression of ``b`` (the base
      weight: ``saliency_base``'s weight, else the mode's own), ``m`` (the saliency) and ``s``
      (the strength) at one pixel — the panels' live picture recomposes ``C + W·(S − C)`` with it
      in the browser while a slider moves; ``None``: the browser cannot recompose this mode
      (Poisson), the kernel draws it.
    """

    name: str
    title: str
    label: str
    weight: WeightFn | None
    reads: tuple[str, ...] = ()
    saliency: bool = False
    probability: bool = False
    saliency_base: str | None = None
    compose: ComposeFn | None = None
    js: str | None = None


#: The weight "base × clip(strength·saliency, 0, 1)" of the "× saliency" modes in JavaScript
#: (:attr:`BlendMode.js`; the same formula as :func:`fsutils.blend.soft_mask`).
TIMES_SALIENCY_JS = "b * Math.min(Math.max(s * m, 0), 1)"


#: Every blend mode by name, in the order the tables and panels show them.
BLEND_MODES: dict[str, BlendMode] = {}


def register_mode(mode: BlendMode) -> BlendMode:
    """Add ``mode`` to :data:`BLEND_MODES` (the command line, the panels and the pipeline then
    offer it); its parameters must be fields of :class:`BlendParams`."""
    unknown = set(mode.reads) - ({f.name for f in fields(BlendParams)} - {"mode"})
    if unknown:
        raise ValueError(f"blend mode {mode.name!r} reads {', '.join(sorted(unknown))}, which "
                         "BlendParams has not; add the field there first.")
    if mode.weight is None and mode.compose is None:
        raise ValueError(f"blend mode {mode.name!r} needs a weight or a compose function.")
    if mode.saliency_base is not None and mode.saliency_base not in BLEND_MODES:
        raise ValueError(f"blend mode {mode.name!r}: saliency_base {mode.saliency_base!r} is not "
                         "a registered mode.")
    BLEND_MODES[mode.name] = mode
    return mode


def blend_mode(name: str) -> BlendMode:
    """The record of a blend mode (an error naming the known ones otherwise)."""
    try:
        return BLEND_MODES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown blend mode {name!r}; choose from {', '.join(BLEND_MODES)}.") \
            from None


class _Titles(Mapping[str, str]):
    """A read-only view of every mode's title (follows :data:`BLEND_MODES`)."""

    def __getitem__(self, name: str) -> str:
        return BLEND_MODES[name].title

    def __iter__(self) -> Iterator[str]:
        return iter(BLEND_MODES)

    def __len__(self) -> int:
        return len(BLEND_MODES)


#: The mode names (a live view of :data:`BLEND_MODES`).
MODES = BLEND_MODES.keys()
#: A short human title per mode (figures, CLI help): a live view of the records' titles.
MODE_TITLES: Mapping[str, str] = _Titles()
#: The mode used when none is chosen (CLI, panels, pipeline); see README "Blending" for the
#: measurement that chose it.
DEFAULT_MODE = "guided_saliency"


#: The range of each numeric blend parameter, ``name: (low, high)`` (eps must be above its low
#: bound, the others may equal it), checked by :class:`BlendParams` and the command line. The high
#: bounds lie far beyond any useful value, below the ones that overflow or exhaust memory: a
#: strength of 100 already turns any visible saliency into a full weight; a feather width (σ) of
#: 200 px blurs across a whole working photo; a guided window of radius 1000 px spans a
#: 1024-px photo (the box filter costs the same whatever the radius); eps is a squared intensity,
#: so 1 already smooths the mask over its whole window.
BLEND_LIMITS: dict[str, tuple[float, float]] = {
    "strength": (0.0, 100.0), "width": (0.0, 200.0), "radius": (1, 1000), "eps": (0.0, 1.0)}


@dataclass(frozen=True)
class BlendParams:
    """How the stylised image goes into the garments: the mode and the parameters it reads.

    - ``strength`` (the ``…saliency`` modes): the saliency map is scaled by it and clipped to 1;
    - ``width`` (feathered): standard deviation in px of the Gaussian that softens the mask;
    - ``radius``, ``eps`` (guided, guided_saliency): window radius in px and regularisation
      (squared intensity) of the guided filter that snaps the garment probability to the photo's
      edges (defaults chosen on CCP training photos).

    Bad values are refused when the object is made, before any work starts.
    """

    mode: str = DEFAULT_MODE
    strength: float = DEFAULT_STRENGTH
    width: float = DEFAULT_WIDTH
    radius: int = DEFAULT_RADIUS
    eps: float = DEFAULT_EPS

    def __post_init__(self) -> None:
        blend_mode(self.mode)  # an unknown mode is refused, naming the known ones
        for name, strict in (("strength", False), ("width", False), ("eps", True)):
            v, (low, high) = getattr(self, name), BLEND_LIMITS[name]
            if (not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(v)
                    or v < low or (strict and v == low) or v > high):
                raise ValueError(f"blend {name} must be a number {'>' if strict else '≥'} {low:g} "
                                 f"and ≤ {high:g}, got {v!r}.")
        low, high = BLEND_LIMITS["radius"]
        if not isinstance(self.radius, numbers.Integral) or isinstance(self.radius, bool) \
                or not low <= self.radius <= high:
            raise ValueError(f"blend radius must be a whole number of pixels from {low:g} to "
                             f"{high:g}, got {self.radius!r}.")

    @property
    def used(self) -> tuple[tuple[str, float], ...]:
        """``(name, value)`` of the parameters this mode reads (e.g. for cache keys)."""
        return tuple((n, getattr(self, n)) for n in BLEND_MODES[self.mode].reads)

    @property
    def title(self) -> str:
        """The mode's title with the parameters it reads, e.g. ``feathered mask (width 8)``."""
        extra = ", ".join(f"{n} {v:g}" for n, v in self.used)
        return BLEND_MODES[self.mode].title + (f" ({extra})" if extra else "")

    @classmethod
    def of(cls, mode: "str | BlendParams | None" = None, **changes: object) -> "BlendParams":
        """A mode name or params object (default :data:`DEFAULT_MODE`) with some fields changed;
        ``None`` values are ignored."""
        base = mode if isinstance(mode, BlendParams) else cls(mode or DEFAULT_MODE)
        return base.replace(**{k: v for k, v in changes.items() if v is not None})

    def replace(self, **changes: object) -> "BlendParams":
        """A copy with some fields changed (checked again)."""
        if not changes:
            return self
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return BlendParams(**values)  # type: ignore[arg-type]


def _require(name: str, value: np.ndarray | None, mode: str) -> np.ndarray:
    if value is None:
        raise ValueError(f"blend mode {mode!r} needs the {name}; pass {name}= (see "
                         "fsutils.blend.garment_probability for the probability).")
    return value


# -- the modes' functions (see the package docstring for the formulas) ---------------------------

def _hard(p: BlendParams, photo: np.ndarray, mask: np.ndarray, **_: object) -> np.ndarray:
    return (mask > 0.5).astype(np.float32)


def _eq2(p: BlendParams, photo: np.ndarray, mask: np.ndarray, *, saliency=None,
         **_: object) -> np.ndarray:
    # equation 2 multiplies the mask as given (a float mask too, as saliency_blend does)
    return soft_mask(mask, _require("saliency", saliency, p.mode), p.strength)


def _feathered(p: BlendParams, photo: np.ndarray, mask: np.ndarray, **_: object) -> np.ndarray:
    return _feather(mask, p.width)


def _soft(p: BlendParams, photo: np.ndarray, mask: np.ndarray, *, probability=None,
          **_: object) -> np.ndarray:
    return soft_mask(_require("probability", probability, p.mode))


def _guided(p: BlendParams, photo: np.ndarray, mask: np.ndarray, *, probability=None,
            **_: object) -> np.ndarray:
    return refine_mask(photo, _require("probability", probability, p.mode), p.radius, p.eps)


def times_saliency(base: str) -> WeightFn:
    """The weight function "``base``'s weight × ``clip(strength·saliency)``" (set the record's
    ``saliency_base`` to ``base`` too, so the pipeline reuses the base weight)."""
    def weight(p: BlendParams, photo: np.ndarray, mask: np.ndarray, *, saliency=None,
               **inputs: object) -> np.ndarray:
        w = BLEND_MODES[base].weight(p, photo, mask, **inputs)
        return soft_mask(w, _require("saliency", saliency, p.mode), p.strength)
    weight.__name__ = f"{base}_times_saliency"
    return weight


def _eq2_blend(p: BlendParams, content, stylized, mask, *, saliency=None, **_: object):
    return saliency_blend(content, stylized, _require("saliency", saliency, p.mode), mask,
                          p.strength)


for _mode in (
    BlendMode("hard", "hard paste", "hard paste", _hard,
              compose=lambda p, c, s, m, **_: hard_paste(c, s, m), js="b"),
    BlendMode("saliency", "saliency blend (eq. 2)", "saliency (eq. 2)", _eq2, ("strength",),
              saliency=True, saliency_base="hard", compose=_eq2_blend, js=TIMES_SALIENCY_JS),
    BlendMode("feathered", "feathered mask", "feathered", _feathered, ("width",),
              compose=lambda p, c, s, m, **_: feathered_blend(c, s, m, p.width), js="b"),
    BlendMode("soft", "soft mask", "soft", _soft, probability=True, js="b"),
    BlendMode("soft_saliency", "soft mask × saliency", "soft × saliency", times_saliency("soft"),
              ("strength",), saliency=True, probability=True, saliency_base="soft",
              js=TIMES_SALIENCY_JS),
    BlendMode("guided", "guided mask", "guided", _guided, ("radius", "eps"), probability=True,
              js="b"),
    BlendMode("guided_saliency", "guided mask × saliency", "guided × saliency",
              times_saliency("guided"), ("strength", "radius", "eps"), saliency=True,
              probability=True, saliency_base="guided", js=TIMES_SALIENCY_JS),
    BlendMode("poisson", "Poisson blending", "Poisson", None,
              compose=lambda p, c, s, m, **_: poisson_blend(c, s, m)),
):
    register_mode(_mode)


def blend_weight(params: BlendParams, photo: np.ndarray, mask: np.ndarray, *,
                 probability: np.ndarray | None = None,
                 saliency: np.ndarray | None = None) -> np.ndarray:
    """The weight map ``W`` (float32 H×W in 0..1) of a weight mode: ``C_final = W·S + (1−W)·C``.

    ``mask`` is the chosen garments' bool mask, ``probability`` their soft probability
    (:func:`garment_probability`), ``saliency`` the saliency map. A mode without a weight map
    (Poisson blending solves for colours) raises ``ValueError``.
    """
    mode = blend_mode(params.mode)
    photo = _image("photo", photo)
    m = _plane("mask", mask, photo.shape[:2])
    if mode.weight is None:
        raise ValueError(f"blend mode {mode.name!r} has no weight map (it solves for the "
                         "colours); use compose() for the blended image.")
    return mode.weight(params, photo, m, probability=probability, saliency=saliency)


def compose(params: BlendParams, content: np.ndarray, stylized: np.ndarray, mask: np.ndarray, *,
            probability: np.ndarray | None = None,
            saliency: np.ndarray | None = None) -> np.ndarray:
    """The stylised image blended into the photo by ``params.mode`` (float32 H×W×3 in 0..1): the
    mode's own compose function when it has one, else :func:`weighted_blend` of its weight."""
    mode = blend_mode(params.mode)
    if mode.compose is not None:
        return mode.compose(params, content, stylized, mask, probability=probability,
                            saliency=saliency)
    weight = blend_weight(params, content, mask, probability=probability, saliency=saliency)
    return weighted_blend(content, stylized, weight)
