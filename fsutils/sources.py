"""The best garment source: a chosen garment found through whichever model finds it.

The kit has two garment sources: the cloth model's label map (semantic classes upper, lower, full
body) and the garment detector's items (instance classes top, outer, dress, pants, skirt, shoe,
bag). :func:`choose_mask` combines them for one choice (a key of
:func:`fsutils.garments.resolve_garments`):

1. instance classes (top, outer …) are the detector's: the union of its items of those classes;
2. semantic classes (upper, lower, full body) are the cloth model's label-map region, less the
   pixels the detector sees as a garment of a kind that does not match the choice (a detected
   top and skirt, where the cloth model says full body) — unless a detection of a matching kind
   (:data:`MATCHING`) covers them too;
3. when what is left covers less than :data:`MIN_SHOWN` of the photo, the detector's matching
   items are used (a coat over a dress is full body to the
   cloth model, but the detector's *outer* is the upper garment the swap needs); when no model
   finds the garment, :class:`GarmentNotFound` says so in one line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["MIN_SHOWN", "MATCHING", "GarmentNotFound", "Found", "choose_mask", "find_garment"]

#: A model shows a semantic garment when it covers at least this share of the photo's pixels.
MIN_SHOWN = 0.02
#: For each semantic class (label index), the instance classes that are that garment: an upper
#: garment is a top or an outer one (a jacket, a coat), a lower one trousers or a skirt, a
#: full-body one a dress or an outer one (CCP counts a coat as full body).
MATCHING: dict[int, tuple[str, ...]] = {1: ("top", "outer"), 2: ("pants", "skirt"),
                                        3: ("dress", "outer")}
_SEMANTIC_WORDS = {1: "upper-body", 2: "lower-body", 3: "full-body"}


class GarmentNotFound(ValueError):
    """Neither the cloth model nor the garment detector found the chosen garment in the photo."""


@dataclass(frozen=True)
class Found:
    """A chosen garment: its bool ``mask``, the model it came from (``"cloth model"`` or
    ``"detector"``), ``veto``, the pixels the other model took out of it (bool, same size), and
    for semantic classes ``parts``, the mask split by class (``{1: …, 2: …}``; their union is
    ``mask``)."""

    mask: np.ndarray
    source: str
    veto: np.ndarray
    parts: dict[int, np.ndarray] = field(default_factory=dict)


class _Lazy:
    """Detections made on first iteration (``find()`` called once)."""

    def __init__(self, find: Any):
        self.find, self.items = find, None

    def __iter__(self):
        self.items = list(self.find()) if self.items is None else self.items
        return iter(self.items)


def _union(items: Any, classes: set[str], shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, bool)
    for item in items or ():
        if item.cls in classes:
            out |= np.asarray(item.mask, bool)
    return out


def _words(key: tuple) -> str:
    if all(isinstance(k, str) for k in key):
        return " or ".join(key)
    return " or ".join(_SEMANTIC_WORDS.get(int(k), f"class {k}") for k in key) + " garment"


def choose_mask(labels: np.ndarray, items: Any, key: tuple, *,
                min_shown: float = MIN_SHOWN) -> Found:
    """The chosen garments ``key`` (semantic label indices 1–3, or instance class names) from the
    cloth model's ``labels`` (uint8 H×W) and the detector's ``items`` (anything with ``cls`` and a
    bool ``mask`` at the labels' size, e.g. :class:`fsutils.instances.Instances`, or a function
    that finds them, called only when they are needed), by the rules of this module; raises
    :class:`GarmentNotFound` when no model finds them."""
    from .data import GARMENT_INSTANCE_CLASSES

    labels = np.asarray(labels)
    shape = labels.shape
    if callable(items):  # found on demand: a choice of every garment may never need them
        items = _Lazy(items)
    if all(isinstance(k, str) for k in key):  # the detector's own classes: it alone tells them apart
        own = _union(items, set(key), shape)
        if own.any():
            return Found(own, "detector", np.zeros(shape, bool))
        raise GarmentNotFound(f"no {_words(key)} was found in this photo by the garment detector; "
                              "choose another garment.")
    matching = {kind for c in key for kind in MATCHING.get(int(c), ())}
    contradicting = set(GARMENT_INSTANCE_CLASSES) - matching
    veto = (_union(items, contradicting, shape) & ~_union(items, matching, shape) if contradicting
            else np.zeros(shape, bool))
    own = np.isin(labels, key)
    kept = own & ~veto
    if kept.sum() >= max(1.0, min_shown * labels.size):
        return Found(kept, "cloth model", own & veto, {c: kept & (labels == c) for c in key})
    # an item above the detector's score, of any size (an outer one stands in for upper and
    # full body alike: on the validation photos that finds more full-body garments than a
    # dress alone, and misses fewer)
    parts = {c: _union(items, set(MATCHING.get(int(c), ())), shape) for c in key}
    backup = np.any(list(parts.values()), axis=0)
    if backup.any():
        return Found(backup, "detector", np.zeros(shape, bool), parts)
    if own.any() and not (own & veto).any():  # small, but nothing contradicts it
        return Found(own, "cloth model", own & veto, {c: labels == c for c in key})
    raise GarmentNotFound(f"no {_words(key)} was found in this photo by the cloth model or the "
                          "garment detector; choose another garment.")


def find_garment(photo: Any, key: tuple, *, segmenter: Any = None, detector: Any = None) -> Found:
    """:func:`choose_mask` of ``photo`` (anything :func:`fsutils.io.to_rgb` reads) with the cloth
    model ``segmenter`` (``.predict`` or a function; default :class:`fsutils.segment.ClothSegmenter`)
    and the garment detector ``detector`` (default :class:`fsutils.instances.InstanceSegmenter`)."""
    from . import io as fio
    from . import stages

    rgb = fio.to_rgb(photo)
    segmenter = segmenter or stages.default_segmenter()
    detector = detector or stages.default_instances()
    labels = (segmenter.predict if hasattr(segmenter, "predict") else segmenter)(rgb)
    return choose_mask(np.asarray(labels), stages.instances(detector, rgb), tuple(key))
