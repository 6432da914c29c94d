"""The chosen garments: one name (``garments``) and one parser for every part of the kit.

Garments are given as class names of the segmenter (``"upper body"``, ``"upper"``,
``"full-body"`` …), their label indices (1-3), or a mix; ``None`` means every garment.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Union

import numpy as np

__all__ = ["Garments", "DEFAULT_GARMENTS", "resolve_garments"]

#: What a ``garments=`` argument takes: a class name or index, several of them, or None (all).
Garments = Union[Iterable[Union[int, str]], int, str, Hashable, None]
#: Garment classes used when none are chosen: upper body, lower body, full body.
DEFAULT_GARMENTS: tuple[int, ...] = (1, 2, 3)


def resolve_garments(garments: Garments, names: Sequence[str] | None = None) -> tuple[int, ...]:
    """Garments as sorted label indices of ``names`` (default
    :data:`fsutils.segment.CLASS_NAMES`); names are matched as :func:`fsutils.segment.class_index`
    does. ``None`` means all garments (:data:`DEFAULT_GARMENTS`)."""
    from .segment import CLASS_NAMES, class_index  # one parser of class names (imports torch)

    if garments is None:
        return DEFAULT_GARMENTS
    if isinstance(garments, (int, np.integer, str)):
        garments = [garments]
    names = CLASS_NAMES if names is None else names
    return tuple(sorted({class_index(c, names, what="garment class") for c in garments}))
