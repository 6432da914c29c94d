"""How the pipeline finds the chosen garments (a mixin of :class:`fsutils.pipeline.Pipeline`, which
gives it the cached stages it reads: ``labels``, ``instances``, ``_segmentation``, ``_cached``,
the photo and its size as given): a choice of garments as the mask stage's key, the garments' mask
and probability, and which detected item owns each pixel for clicks."""
from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from fsutils import stages
from fsutils.blend import garment_probability
from fsutils.garments import (Garments, check_points, is_instance_choice, is_point_choice,
                              resolve_garments)

__all__ = ["Choosing"]


class Choosing:
    """The garments a pipeline restyles: by class name, by detected item class, or by points."""

    best_source = False
    given_size: tuple[int, int] | None = None

    def garments(self, garments: Garments = None) -> Hashable:
        """The garments as the mask stage's key: the segmenter's ``resolve_garments(garments)``
        when it has one (another garment source; it gets its keys back too), else label indices
        of :attr:`class_names`, instance class names or points (:func:`fsutils.garments.resolve_garments`).
        A point outside the current photo (as given) is refused (``ValueError``)."""
        own = self.models.hook("resolve_garments")
        key = own(garments) if own is not None else resolve_garments(garments, self.class_names)
        if self.given_size is not None:
            check_points(key, self.given_size)
        return key

    def probability(self, garments: Garments = None) -> np.ndarray:
        """The garments' probability (float32 H×W), the soft :meth:`mask` (0/1 for a segmenter
        without ``predict_proba``, and for instance classes)."""
        cls = self.garments(garments)
        found = None if is_instance_choice(cls) else self._found(cls)
        from_cloth = not is_instance_choice(cls) and not is_point_choice(cls) and (
            found is None or found.source == "cloth model")
        proba = self._segmentation()[1] if from_cloth else None
        keep = 1.0 if found is None else ~found.veto  # less what the detector vetoed
        return self._cached("mask", (cls, "probability"), lambda: stages.frozen(
            self.mask(cls).astype(np.float32) if proba is None
            else garment_probability(proba, cls) * keep))

    def mask(self, garments: Garments = None) -> np.ndarray:
        """The garments as a bool H×W mask: the garments at points (:mod:`fsutils.clicks`), the
        segmenter's ``garment_mask(photo, key)`` when it has one, the union of the
        :meth:`instances` of instance classes, else those classes of :meth:`labels`."""
        cls = self.garments(garments)
        own = self.models.hook("garment_mask")

        def compute() -> np.ndarray:
            if is_point_choice(cls):
                from fsutils.clicks import pick_points

                return pick_points(self.labels(), self.owners(), cls, self.given_size)
            if own:
                return np.asarray(own(self.photo, cls), bool)
            if self._found(cls) is not None:
                return self._found(cls).mask
            if is_instance_choice(cls):
                return stages.instance_mask(self.instances(), cls, self.content.shape[:2])
            return np.isin(self.labels(), cls)

        return self._cached("mask", (cls,), lambda: stages.frozen(compute()))

    def owners(self) -> Any:
        """Which detected item owns each pixel (:func:`fsutils.clicks.owners`): made once per
        photo from :meth:`labels` and :meth:`instances`, so that a click only picks."""
        from fsutils.clicks import owners

        return self._cached("mask", ("owners",), lambda: owners(self.labels(), self.instances()))

    def _found(self, cls: Hashable) -> Any:
        """The chosen garments found through whichever model finds them
        (:func:`fsutils.sources.choose_mask`), or None when the pipeline does not combine its
        models (``best_source``) or its segmenter finds garments its own way."""
        if (not self.best_source or self.models.hook("garment_mask")
                or is_point_choice(cls)):
            return None
        from fsutils.sources import choose_mask

        return self._cached("mask", (cls, "found"), lambda: choose_mask(
            self.labels(), self.instances, tuple(cls)))
