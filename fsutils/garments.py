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

``None`` means every semantic garment (:data:`DEFAULT_GARMENTS`).
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from functools import lru_cache
from typing import Union

import numpy as np

__all__ = ["Garments", "DEFAULT_GARMENTS", "CLASS_NAMES", "GARMENT_GROUPS", "INSTANCE_GROUPS",
           "INSTANCE_CLASSES", "GARMENT_INSTANCE_CLASSES", "class_index", "resolve_garments",
           "is_instance_choice", "garment_names", "vocabularies"]

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
    the order of :data:`fsutils.data.INSTANCE_CLASSES`. ``None`` means all semantic garments
    (:data:`DEFAULT_GARMENTS`). A choice that mixes the two vocabularies, or names a class of
    neither, is refused (``ValueError`` naming both)."""
    if garments is None:
        return DEFAULT_GARMENTS
    if isinstance(garments, (int, np.integer, str)):
        garments = [garments]
    garments = list(garments)
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
    """A resolved choice in words: the class names of label indices, or the instance classes."""
    return list(key) if is_instance_choice(key) else [names[c] for c in key]
