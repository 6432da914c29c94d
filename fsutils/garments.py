"""The chosen garments: one name (``garments``) and one parser for every part of the kit.

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
from typing import Union

import numpy as np

__all__ = ["Garments", "DEFAULT_GARMENTS", "resolve_garments", "is_instance_choice",
           "garment_names", "vocabularies"]

#: What a ``garments=`` argument takes: a class name or index, several of them, or None (all).
Garments = Union[Iterable[Union[int, str]], int, str, Hashable, None]
#: Garment classes used when none are chosen: upper body, lower body, full body.
DEFAULT_GARMENTS: tuple[int, ...] = (1, 2, 3)


def _instance_classes() -> tuple[str, ...]:
    from .data import INSTANCE_CLASSES

    return INSTANCE_CLASSES


def vocabularies(names: Sequence[str] | None = None) -> str:
    """Both vocabularies in words, for messages: ``"semantic classes upper, lower, full (or 1-3)
    or instance classes top, outer, …"``."""
    from .segment import CLASS_NAMES

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
    from .segment import CLASS_NAMES, class_index  # one parser of class names (imports torch)

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
