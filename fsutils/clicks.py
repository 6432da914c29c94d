"""Pointing at a garment: a click on the photo chooses the garment under it.

Naming a garment asks the models *what* it is, and they confuse kinds (a blazer called full body,
a top with a skirt called a dress); a click asks only *where* it is, which they know far better.
A point selects, from what the pipeline already has for the photo (the cloth model's label map
and the garment detector's items with their mask probabilities), by this rule:

1. each pixel belongs to the item whose ``score × mask probability`` is highest there, where that
   probability is at least :data:`MIN_PROBABILITY` (a coat whose mask spills over the dress
   keeps only the pixels where it is the likelier item);
2. the point picks the item that owns its pixel, when that item's probability there is at least
   :data:`SURE` or the cloth model labels the pixel as a garment; the garment is the item's pixels that the
   cloth model also labels as a garment (shoes and bags, which the cloth model does not label,
   keep their own pixels);
3. else, the connected piece of the cloth model's class under the point;
4. else there is no garment at the point (:class:`NoGarmentAt`).

The rule and its two numbers were chosen on the validation photos with
``python -m fsutils.evaluate clicks --split val`` (:mod:`fsutils.evaluation.clicks`). Everything
per photo (:func:`owners`) is computed once; a click is a look-up and a comparison
(``benchmarks/click_benchmark.py``).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .garments import Point
from .sources import GarmentNotFound

__all__ = ["MIN_PROBABILITY", "SURE", "NoGarmentAt", "Owners", "owners", "pick", "pick_points",
           "to_working"]

#: A pixel can belong to an item where the item's mask probability is at least this.
MIN_PROBABILITY = 0.15
#: A point picks the item that owns its pixel where the item's mask probability is at least this.
SURE = 0.5
_SELF_CONTAINED = ("shoe", "bag")  # items the cloth model does not label as garments


class NoGarmentAt(GarmentNotFound):
    """A point on the photo where no model finds a garment."""

    def __init__(self, point: Point):
        self.point = point
        super().__init__(f"no garment at {point}: neither the cloth model nor the garment "
                         "detector finds one there; point at a garment")


@dataclass(frozen=True)
class Owners:
    """Which detected item owns each pixel of a photo: ``item`` (int16 H×W, the item's index in
    ``classes``, -1 where none), ``sure`` (bool H×W: the owner's mask probability there is at
    least :data:`SURE`), ``classes`` (each item's instance class) and ``garment`` (bool H×W: the
    cloth model's garment pixels)."""

    item: np.ndarray
    sure: np.ndarray
    classes: tuple[str, ...]
    garment: np.ndarray


def _probability(item: Any) -> np.ndarray:
    """An item's mask probability as uint8 0..255 (its bool mask when it has no probability)."""
    p = getattr(item, "probability", None)
    return np.asarray(p, np.uint8) if p is not None else np.asarray(item.mask, np.uint8) * 255


def owners(labels: np.ndarray, items: Iterable[Any]) -> Owners:
    """The :class:`Owners` of a photo from the cloth model's ``labels`` (uint8 H×W) and the
    detector's ``items`` (each with ``cls``, ``score``, a bool ``mask`` and, where the detector
    gives it, ``probability``, uint8 0..255, both at the labels' size)."""
    labels = np.asarray(labels)
    items = list(items)
    shape = labels.shape
    item = np.full(shape, -1, np.int16)
    sure = np.zeros(shape, bool)
    best = np.zeros(shape, np.float32)
    low, high = round(MIN_PROBABILITY * 255), round(SURE * 255)
    for k, it in enumerate(items):
        p = _probability(it)
        if p.shape != shape:
            raise ValueError(f"item {k} ({it.cls}) has a {p.shape} mask for a {shape} label map; "
                             "the detector's masks must have the photo's size")
        weight = p.astype(np.float32) * np.float32(it.score)
        wins = (p >= low) & (weight > best)
        best[wins], item[wins], sure[wins] = weight[wins], k, p[wins] >= high
    return Owners(item, sure, tuple(it.cls for it in items), labels > 0)


def _piece(mask: np.ndarray, x: int, y: int) -> np.ndarray:
    """The connected piece (8-connectivity) of ``mask`` that holds pixel (x, y)."""
    filled = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), np.uint8)
    cv2.floodFill(mask.astype(np.uint8), filled, (x, y), 2, 0, 0, 8 | (1 << 8) |
                  cv2.FLOODFILL_MASK_ONLY)
    return filled[1:-1, 1:-1].astype(bool)


def pick(labels: np.ndarray, own: Owners, x: int, y: int) -> np.ndarray | None:
    """The garment at pixel (``x``, ``y``) of the working photo (bool H×W) by the rule of this
    module, or None when there is none."""
    k = int(own.item[y, x])
    if k >= 0 and (own.sure[y, x] or own.garment[y, x]):
        mine = own.item == k
        if own.classes[k] not in _SELF_CONTAINED:
            mine &= own.garment
        if mine.any():
            return mine
    if labels[y, x]:
        return _piece(labels == labels[y, x], x, y)
    return None


def to_working(point: Point, given: tuple[int, int], working: tuple[int, int]) -> tuple[int, int]:
    """A point of the photo as given (``given``: width, height) as a pixel (x, y) of the working
    photo (``working``: width, height)."""
    (gw, gh), (w, h) = given, working
    return (min(w - 1, max(0, int(point.x * w / gw))), min(h - 1, max(0, int(point.y * h / gh))))


def pick_points(labels: np.ndarray, own: Owners, points: Sequence[Point],
                given: tuple[int, int] | None = None) -> np.ndarray:
    """The union of the garments at ``points`` (of a photo of size ``given``, width × height;
    default: the labels' own size); raises :class:`NoGarmentAt` for the first point on no
    garment."""
    labels = np.asarray(labels)
    working = (labels.shape[1], labels.shape[0])
    out = np.zeros(labels.shape, bool)
    for p in points:
        chosen = pick(labels, own, *to_working(p, given or working, working))
        if chosen is None:
            raise NoGarmentAt(p)
        out |= chosen
    return out
