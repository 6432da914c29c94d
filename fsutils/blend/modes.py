"""The blend modes by name, their parameters in one typed object, and one call that blends."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields

import numpy as np

from .compose import (DEFAULT_STRENGTH, DEFAULT_WIDTH, _feather, _image, _plane, feathered_blend,
                      hard_paste, saliency_blend, weighted_blend)
from .masks import DEFAULT_EPS, DEFAULT_RADIUS, refine_mask, soft_mask
from .poisson import poisson_blend

__all__ = ["MODES", "MODE_TITLES", "DEFAULT_MODE", "SALIENCY_OF", "BlendParams", "BLEND_LIMITS",
           "blend_weight", "compose"]

#: Every blend mode, in the order the tables and panels show them.
MODES: tuple[str, ...] = ("hard", "saliency", "feathered", "soft", "soft_saliency", "guided",
                          "guided_saliency", "poisson")
#: A short human title per mode (figures, panels, CLI help).
MODE_TITLES: dict[str, str] = {
    "hard": "hard paste",
    "saliency": "saliency blend (eq. 2)",
    "feathered": "feathered mask",
    "soft": "soft mask",
    "soft_saliency": "soft mask × saliency",
    "guided": "guided mask",
    "guided_saliency": "guided mask × saliency",
    "poisson": "Poisson blending",
}
#: The mode used when none is chosen (CLI, panels, pipeline); see README "Blending" for the
#: measurement that chose it.
DEFAULT_MODE = "guided_saliency"

# Which parameters each mode reads (the others do not change its result).
_USES: dict[str, tuple[str, ...]] = {
    "hard": (), "saliency": ("strength",), "feathered": ("width",), "soft": (),
    "soft_saliency": ("strength",), "guided": ("radius", "eps"),
    "guided_saliency": ("strength", "radius", "eps"), "poisson": (),
}
# What each mode needs besides the photo and the stylised image.
NEEDS_SALIENCY = frozenset({"saliency", "soft_saliency", "guided_saliency"})
NEEDS_PROBABILITY = frozenset({"soft", "soft_saliency", "guided", "guided_saliency"})
#: The saliency modes: each one's weight is the named mode's weight × ``clip(strength·saliency)``,
#: so the strength never changes the named mode's (possibly expensive) weight.
SALIENCY_OF: dict[str, str] = {"saliency": "hard", "soft_saliency": "soft",
                               "guided_saliency": "guided"}


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
        if self.mode not in MODES:
            raise ValueError(f"unknown blend mode {self.mode!r}; choose from {', '.join(MODES)}.")
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
        return tuple((n, getattr(self, n)) for n in _USES[self.mode])

    @property
    def title(self) -> str:
        """The mode's title with the parameters it reads, e.g. ``feathered mask (width 8)``."""
        extra = ", ".join(f"{n} {v:g}" for n, v in self.used)
        return MODE_TITLES[self.mode] + (f" ({extra})" if extra else "")

    def replace(self, **changes: object) -> "BlendParams":
        """A copy with some fields changed (checked again)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return BlendParams(**values)  # type: ignore[arg-type]


def _require(name: str, value: np.ndarray | None, mode: str) -> np.ndarray:
    if value is None:
        raise ValueError(f"blend mode {mode!r} needs the {name}; pass {name}= (see "
                         "fsutils.blend.garment_probability for the probability).")
    return value


def blend_weight(params: BlendParams, photo: np.ndarray, mask: np.ndarray, *,
                 probability: np.ndarray | None = None,
                 saliency: np.ndarray | None = None) -> np.ndarray:
    """The weight map ``W`` (float32 H×W in 0..1) of a weight mode: ``C_final = W·S + (1−W)·C``.

    ``mask`` is the chosen garments' bool mask, ``probability`` their soft probability
    (:func:`garment_probability`), ``saliency`` the saliency map. Poisson blending has no weight
    map (it solves for colours) and raises ``ValueError``.
    """
    mode = params.mode
    photo = _image("photo", photo)
    m = _plane("mask", mask, photo.shape[:2])
    if mode in SALIENCY_OF:  # clip(strength·saliency) × the base mode's weight
        sal = _require("saliency", saliency, mode)
        # equation 2 multiplies the mask as given (a float mask too, as saliency_blend does)
        base = m if mode == "saliency" else blend_weight(params.replace(mode=SALIENCY_OF[mode]),
                                                         photo, m, probability=probability)
        return soft_mask(base, sal, params.strength)
    if mode == "hard":
        return (m > 0.5).astype(np.float32)
    if mode == "feathered":
        return _feather(m, params.width)
    if mode == "soft":
        return soft_mask(_require("probability", probability, mode))
    if mode == "guided":
        return refine_mask(photo, _require("probability", probability, mode), params.radius,
                           params.eps)
    raise ValueError(f"blend mode {mode!r} has no weight map (it solves for the colours); "
                     "use compose() for the blended image.")


def compose(params: BlendParams, content: np.ndarray, stylized: np.ndarray, mask: np.ndarray, *,
            probability: np.ndarray | None = None,
            saliency: np.ndarray | None = None) -> np.ndarray:
    """The stylised image blended into the photo by ``params.mode`` (float32 H×W×3 in 0..1)."""
    # The three original modes through their own functions (equation 2 exactly as it was).
    if params.mode == "hard":
        return hard_paste(content, stylized, mask)
    if params.mode == "saliency":
        return saliency_blend(content, stylized, _require("saliency", saliency, "saliency"), mask,
                              params.strength)
    if params.mode == "feathered":
        return feathered_blend(content, stylized, mask, params.width)
    if params.mode == "poisson":
        return poisson_blend(content, stylized, mask)
    weight = blend_weight(params, content, mask, probability=probability, saliency=saliency)
    return weighted_blend(content, stylized, weight)

