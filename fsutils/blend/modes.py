"""Blend modes as records, their parameters in one typed object, and one call that blends.

Each mode is one :class:`BlendMode` in the registry :data:`BLEND_MODES` (name, titles, the inputs
and parameters it reads, its weight function); the command line, the panels, the pipeline and the
evaluation read only these records, so a new mode is one :func:`register_mode` call with its
function.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from fsutils.controls import Control, check_value, controls, described

from .compose import (DEFAULT_STRENGTH, DEFAULT_WIDTH, _feather, _image, _plane, feathered_blend,
                      hard_paste, saliency_blend, weighted_blend)
from .masks import DEFAULT_EPS, DEFAULT_RADIUS, refine_mask, soft_mask
from .poisson import poisson_blend

__all__ = ["BlendMode", "BLEND_MODES", "TIMES_SALIENCY_JS", "register_mode", "blend_mode", "MODES", "MODE_TITLES",
           "DEFAULT_MODE", "BlendParams", "blend_parameters", "blend_weight", "compose",
           "weight_base", "finish_weight"]

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
    - ``parameters``: the mode's own parameters beyond :class:`BlendParams`' fields, ``name:
      (default, Control)`` (:mod:`fsutils.controls`): registering the mode gives each its
      ``--flag``, its panel control and its range check; list them in ``reads`` too;
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
    parameters: Mapping[str, tuple[Any, Control]] = field(default_factory=dict, hash=False,
                                                          compare=False)


#: The weight "base × clip(strength·saliency, 0, 1)" of the "× saliency" modes in JavaScript
#: (:attr:`BlendMode.js`; the same formula as :func:`fsutils.blend.soft_mask`).
TIMES_SALIENCY_JS = "b * Math.min(Math.max(s * m, 0), 1)"


#: Every blend mode by name, in the order the tables and panels show them.
BLEND_MODES: dict[str, BlendMode] = {}


def register_mode(mode: BlendMode) -> BlendMode:
    """Add ``mode`` to :data:`BLEND_MODES` (the command line, the panels and the pipeline then
    offer it); the parameters it reads are fields of :class:`BlendParams` or its own
    ``parameters``."""
    taken = blend_parameters()
    clash = sorted(n for n in mode.parameters if n in taken or n in ("mode", "extra"))
    if clash:
        raise ValueError(f"blend mode {mode.name!r} declares {', '.join(clash)}, a blend parameter "
                         "already; read the existing one (list it in reads) or choose another name.")
    unknown = set(mode.reads) - set(taken) - set(mode.parameters)
    if unknown:
        raise ValueError(f"blend mode {mode.name!r} reads {', '.join(sorted(unknown))}, which is "
                         "no blend parameter; declare it in the mode's parameters.")
    if mode.weight is None and mode.compose is None:
        raise ValueError(f"blend mode {mode.name!r} needs a weight or a compose function.")
    if mode.saliency_base is not None and mode.saliency_base not in BLEND_MODES:
        raise ValueError(f"blend mode {mode.name!r}: saliency_base {mode.saliency_base!r} is not "
                         "a registered mode.")
    for name, (default, control) in mode.parameters.items():
        check_value(f"blend {name} (the default of mode {mode.name!r})", default, control)
    BLEND_MODES[mode.name] = mode
    return mode


def blend_parameters() -> dict[str, tuple[Any, Control]]:
    """Every blend parameter, ``name: (default, Control)``: :class:`BlendParams`' described
    fields, then each registered mode's own parameters — what the command line makes its flags
    of and the blend panel its controls."""
    found = dict(controls(BlendParams))
    for mode in BLEND_MODES.values():
        found.update(mode.parameters)
    return found


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


#: The blend parameters' controls. The command line and Python accept up to ``limit``, far
#: beyond any useful value, below the ones that overflow or exhaust memory: a strength of 100
#: already turns any visible saliency into a full weight; a feather width (σ) of 200 px blurs
#: across a whole working photo; a guided window of radius 1000 px spans a 1024-px photo (the box
#: filter costs the same whatever the radius); eps is a squared intensity, so 1 already smooths
#: the mask over its whole window. ``low``..``high`` is the panel's range.
_STRENGTH = Control("saliency strength", "saliency strength ≥ 0 (the …saliency modes)",
                    low=0.0, high=3.0, step=0.01, limit=100.0)
_WIDTH = Control("feather width (px)", "feather width in px ≥ 0 (feathered)", low=0.0, high=40.0,
                 step=0.5, limit=200.0)
_RADIUS = Control("guided radius (px)", "guided-filter window radius in px (the guided modes)",
                  "int", low=1, high=32, step=1, limit=1000)
_EPS = Control("guided ε", "guided-filter regularisation > 0; larger = smoother mask (the guided "
               "modes)", "log", low=-6, high=-1, step=0.25, limit=1.0, low_ok=False)


@dataclass(frozen=True)
class BlendParams:
    """How the stylised image goes into the garments: the mode and the parameters it reads.

    - ``strength`` (the ``…saliency`` modes): the saliency map is scaled by it and clipped to 1;
    - ``width`` (feathered): standard deviation in px of the Gaussian that softens the mask;
    - ``radius``, ``eps`` (guided, guided_saliency): window radius in px and regularisation
      (squared intensity) of the guided filter that snaps the garment probability to the photo's
      edges (defaults chosen on CCP training photos);
    - a registered mode's own parameters (:attr:`BlendMode.parameters`) read as attributes too
      (``BlendParams.of("mine", gamma=2).gamma``); they are kept in ``extra``.

    Each field describes itself (:mod:`fsutils.controls`); bad values are refused when the
    object is made, before any work starts.
    """

    mode: str = DEFAULT_MODE
    strength: float = described(DEFAULT_STRENGTH, _STRENGTH)
    width: float = described(DEFAULT_WIDTH, _WIDTH)
    radius: int = described(DEFAULT_RADIUS, _RADIUS)
    eps: float = described(DEFAULT_EPS, _EPS)
    extra: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        blend_mode(self.mode)  # an unknown mode is refused, naming the known ones
        known = blend_parameters()
        unknown = sorted({n for n, _ in self.extra} - set(known))
        if unknown:
            raise ValueError(f"no blend mode has the parameter(s) {', '.join(unknown)}; the blend "
                             f"parameters are {', '.join(known)}.")
        for name, (_, control) in known.items():
            check_value(f"blend {name}", getattr(self, name), control)

    def __getattr__(self, name: str) -> Any:
        """A registered mode's own parameter: its value in ``extra``, else its default."""
        if name.startswith("__"):
            raise AttributeError(name)
        for key, value in object.__getattribute__(self, "extra"):
            if key == name:
                return value
        for mode in BLEND_MODES.values():
            if name in mode.parameters:
                return mode.parameters[name][0]
        raise AttributeError(f"BlendParams has no parameter {name!r}")

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
        """A copy with some parameters changed (checked again): fields, or a registered mode's
        own parameters."""
        if not changes:
            return self
        names = {f.name for f in fields(self)} - {"extra"}
        values = {n: changes.pop(n, getattr(self, n)) for n in names}
        extra = dict(self.extra)
        extra.update(changes)
        return BlendParams(**values, extra=tuple(sorted(extra.items())))  # type: ignore[arg-type]


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


def weight_base(params: BlendParams) -> BlendParams:
    """The parameters of the weight ``params``' mode starts from: for a "× saliency" mode its
    ``saliency_base``'s (that weight does not read the strength, so one computation serves every
    strength; :func:`finish_weight` makes the mode's weight of it), else ``params`` itself."""
    base = blend_mode(params.mode).saliency_base
    return params if base is None else params.replace(mode=base)


def finish_weight(params: BlendParams, base_weight: np.ndarray,
                  saliency: np.ndarray | None = None) -> np.ndarray:
    """The weight of ``params`` from the weight of :func:`weight_base` (the one place of the
    rule): a "× saliency" mode multiplies it by ``clip(strength·saliency, 0, 1)``; any other mode's
    weight is its base weight."""
    if blend_mode(params.mode).saliency_base is None:
        return base_weight
    return soft_mask(base_weight, _require("saliency", saliency, params.mode), params.strength)


def times_saliency(base: str) -> WeightFn:
    """The weight function "``base``'s weight × ``clip(strength·saliency)``" (set the record's
    ``saliency_base`` to ``base`` too, so the pipeline reuses the base weight)."""
    def weight(p: BlendParams, photo: np.ndarray, mask: np.ndarray, *, saliency=None,
               **inputs: object) -> np.ndarray:
        return finish_weight(p, BLEND_MODES[base].weight(p, photo, mask, **inputs), saliency)
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
