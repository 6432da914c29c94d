"""The chosen garments: one name (``garments``) and one parser for every part of the kit, and the
kit's vocabulary of garments (the cloth model's class names, the CCP labels of each class, the
detector's instance classes) — a leaf module without torch, so reading a choice is quick.

Garments come in two vocabularies, never mixed in one choice:

- **semantic classes** of the cloth segmenter: class names (``"upper body"``, ``"upper"``,
  ``"full-body"`` …), their label indices (1-3), or a mix of the two; resolved to sorted label
  indices, e.g. ``(1, 3)``;
- **instance classes** of the garment detector (:data:`fsutils.data.INSTANCE_CLASSES`: top,
  outer, dress, pants, skirt, shoe, bag); resolved to their names in that order, e.g.
  ``("outer", "shoe")``, and the mask is the union of the detected instances of those classes.

Or garments are **pointed at**: a list of points ``[(x, y), …]`` in pixels of the photo as given
(x to the right, y down from the top-left corner), resolved to :class:`Point` s; each point chooses
the garment under it (:mod:`fsutils.clicks`), several points their union.

``None`` means every semantic garment (:data:`DEFAULT_GARMENTS`).
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from functools import lru_cache
from numbers import Real
from typing import NamedTuple, Union

import numpy as np

__all__ = ["Garments", "DEFAULT_GARMENTS", "CLASS_NAMES", "GARMENT_GROUPS", "INSTANCE_GROUPS",
           "INSTANCE_CLASSES", "GARMENT_INSTANCE_CLASSES", "Point", "class_index",
           "resolve_garments", "is_instance_choice", "is_point_choice", "garment_names",
           "vocabularies", "check_points"]

#: What a ``garments=`` argument takes: a class name or index, several of them, or None (all).
Garments = Union[Iterable[Union[int, str]], int, str, Hashable, None]
#: Garment classes used when none are chosen: upper body, lower body, full body.
DEFAULT_GARMENTS: tuple[int, ...] = (1, 2, 3)

#: Label index → name.
CLASS_NAMES: tuple[str, ...] = ("background", "upper body", "lower body", "full body")
#: CCP label names for each garment class; every other label (skin, hair, shoes, bags,
#: accessories, tights, socks …) is background (0).
GARMENT_GROUPS: dict[int, tuple[str, ...]] = {
    1: ("blazer", "blouse", "cardigan", "hoodie", "jacket", "jumper", "shirt", "sweater",
        "sweatshirt", "t-shirt", "top", "vest"),
    2: ("jeans", "leggings", "pants", "shorts", "skirt"),
    3: ("coat", "cape", "dress", "romper", "bodysuit", "suit", "swimwear"),
}

#: The instance classes (1-based in the detector, 0 is background) and the CCP labels of each.
INSTANCE_GROUPS: dict[str, tuple[str, ...]] = {
    "top": ("blouse", "shirt", "t-shirt", "top", "sweater", "sweatshirt", "jumper", "hoodie", "vest"),
    "outer": ("coat", "blazer", "jacket", "cape", "cardigan", "suit"),
    "dress": ("dress", "romper", "bodysuit", "swimwear"),
    "pants": ("pants", "jeans", "leggings", "shorts"),
    "skirt": ("skirt",),
    "shoe": ("boots", "clogs", "flats", "heels", "loafers", "pumps", "sandals", "shoes", "sneakers",
             "wedges"),
    "bag": ("bag", "purse", "wallet"),
}
INSTANCE_CLASSES: tuple[str, ...] = tuple(INSTANCE_GROUPS)
#: The garment classes among them (the others are shoes and bags).
GARMENT_INSTANCE_CLASSES: tuple[str, ...] = ("top", "outer", "dress", "pants", "skirt")


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


@lru_cache(maxsize=8)
def _name_table(names: tuple[str, ...]) -> dict[str, int]:
    table = {_key(n): i for i, n in enumerate(names)}
    table.update({_key(n.split()[0]): i for i, n in enumerate(names) if n.split()})  # "upper"…
    return table


def class_index(cls: int | str, names: Sequence[str] = CLASS_NAMES, *, what: str = "class") -> int:
    """A class given by index (0–3) or name (``"upper body"``, ``"upper_body"``, ``"Upper"``…).

    ``names`` are the model's class names (the kit's four by default); a name is matched without
    case, spaces, ``_`` or ``-``, and by its first word alone. ``what`` names the value in error
    messages (e.g. ``"garment class"``).
    """
    if isinstance(cls, (bool, np.bool_)):
        raise TypeError(f"a class is an index or a name, got the bool {cls!r}")
    if isinstance(cls, (int, np.integer)):
        idx = int(cls)
    elif isinstance(cls, str):
        key = _key(cls)
        table = _name_table(tuple(names))
        if key.isdigit():
            idx = int(key)
        elif key in table:
            idx = table[key]
        else:
            raise ValueError(f"unknown {what} {cls!r}; choose from "
                             f"{', '.join(repr(n) for n in names)} or their indices 0–{len(names) - 1}")
    else:
        raise TypeError(f"a class is an index or a name, got {type(cls).__name__}")
    if not 0 <= idx < len(names):
        raise ValueError(f"class index {idx} is out of range 0–{len(names) - 1} "
                         f"({', '.join(names)})")
    return idx



class Point(NamedTuple):
    """A point on the photo as given, in pixels: ``x`` to the right, ``y`` down from the top-left
    corner (fractions allowed: a click on a scaled picture)."""

    x: float
    y: float

    def __str__(self) -> str:
        return f"({self.x:g}, {self.y:g})"


def _is_pair(item: object) -> bool:
    return (isinstance(item, (tuple, list)) and len(item) == 2
            and all(isinstance(v, Real) and not isinstance(v, bool) for v in item))


def _points(garments: list) -> tuple[Point, ...] | None:
    """The points of a choice made of ``(x, y)`` pairs (sorted, each once), or None when it has
    no pair; a choice that mixes pairs and class names is refused."""
    pairs = [g for g in garments if _is_pair(g)]
    if not pairs:
        return None
    if len(pairs) < len(garments):
        others = [g for g in garments if not _is_pair(g)]
        raise ValueError(f"garments {', '.join(map(str, garments))} mix points and classes "
                         f"({', '.join(map(str, others))}); give either points [(x, y), …] or "
                         f"{vocabularies()}")
    bad = [p for p in pairs if not all(np.isfinite(v) for v in p)]
    if bad:
        raise ValueError(f"the point {tuple(bad[0])} is not a pixel of the photo; give (x, y) in "
                         "pixels, x to the right and y down from the top-left corner")
    return tuple(sorted({Point(*(v.item() if isinstance(v, np.generic) else v for v in p))
                         for p in pairs}))


def is_point_choice(key: Hashable) -> bool:
    """Whether a resolved choice (:func:`resolve_garments`) is made of points."""
    return isinstance(key, tuple) and bool(key) and all(isinstance(k, Point) for k in key)


def check_points(key: Hashable, size: tuple[int, int]) -> None:
    """Refuse (``ValueError``) a point of ``key`` outside a photo of ``size`` (width, height)."""
    if not is_point_choice(key):
        return
    w, h = size
    for p in key:
        if not (0 <= p.x < w and 0 <= p.y < h):
            raise ValueError(f"the point {p} is outside the photo ({w}×{h} px): x must be in "
                             f"0..{w - 1} and y in 0..{h - 1}")


def _instance_classes() -> tuple[str, ...]:
    return INSTANCE_CLASSES


def vocabularies(names: Sequence[str] | None = None) -> str:
    """Both vocabularies in words, for messages: ``"semantic classes upper, lower, full (or 1-3)
    or instance classes top, outer, …"``."""
    names = CLASS_NAMES if names is None else names
    semantic = ", ".join(n.split()[0] for n in names[1:])
    return (f"semantic classes {semantic} (or 1-{len(names) - 1}) or instance classes "
            f"{', '.join(_instance_classes())}")


def is_instance_choice(key: Hashable) -> bool:
    """Whether a resolved choice (:func:`resolve_garments`) names instance classes."""
    return isinstance(key, tuple) and bool(key) and all(isinstance(k, str) for k in key)


def resolve_garments(garments: Garments, names: Sequence[str] | None = None
                     ) -> tuple[int, ...] | tuple[str, ...]:
    """Garments as sorted label indices of ``names`` (default :data:`fsutils.segment.CLASS_NAMES`;
    names matched as :func:`fsutils.segment.class_index` does), or as instance class names in
    the order of :data:`fsutils.data.INSTANCE_CLASSES`, or as :class:`Point` s (a list of
    ``(x, y)`` pairs; sorted, each once). ``None`` means all semantic garments
    (:data:`DEFAULT_GARMENTS`). A choice that mixes the two vocabularies, or names a class of
    neither, is refused (``ValueError`` naming both)."""
    if garments is None:
        return DEFAULT_GARMENTS
    if isinstance(garments, (int, np.integer, str)):
        garments = [garments]
    garments = list(garments)
    points = _points(garments)
    if points is not None:
        return points
    instances = _instance_classes()
    picked = [g for g in garments if isinstance(g, str) and g.strip().lower() in instances]
    if picked and len(picked) < len(garments):
        others = [g for g in garments if g not in picked]
        raise ValueError(f"garments {', '.join(map(str, garments))} mix two vocabularies "
                         f"({', '.join(map(str, picked))}: instance classes, "
                         f"{', '.join(map(str, others))}: not); choose either "
                         f"{vocabularies(names)}")
    if picked:
        chosen = {g.strip().lower() for g in picked}
        return tuple(c for c in instances if c in chosen)
    try:
        return tuple(sorted({class_index(c, CLASS_NAMES if names is None else names,
                                         what="garment class") for c in garments}))
    except ValueError as e:
        raise ValueError(f"{e}; or the garment detector's instance classes "
                         f"{', '.join(instances)}") from None


def garment_names(key: Hashable, names: Sequence[str]) -> list[str]:
    """A resolved choice in words: the class names of label indices, the instance classes, or
    the points (``"garment at (210, 340)"``)."""
    if is_point_choice(key):
        return [f"garment at {p}" for p in key]
    return list(key) if is_instance_choice(key) else [names[c] for c in key]
