"""What a picture of a pipeline's blend shows: a crop and/or a display size, blending only the
pixels shown (the blend panel's close-ups and thumbnails).

Every mode with a weight ends with the pixel-wise ``W·S + (1−W)·C``, and a "× saliency" mode's
weight is a pixel-wise function of maps that do not read the strength (its record's
``saliency_base``); so a view is computed from views of those maps (each cached), and a new
saliency strength costs a thumbnail's worth of work, not a full-resolution blend. A crop equals the
crop of :meth:`fsutils.pipeline.Pipeline.blend`; a resized view differs from resizing the blend
only by the resampling of the maps.

>>> views = BlendViews(pipe)                                            # doctest: +SKIP
>>> views.blend("guided_saliency", garments="upper", box=(0, 0, 64, 64))  # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import cv2
import numpy as np

from fsutils.blend import BlendParams, blend_mode, finish_weight, weight_base, weighted_blend
from fsutils.cache import LRU
from fsutils.garments import Garments

__all__ = ["BlendViews"]

Box = tuple[int, int, int, int]


class BlendViews:
    """Crops and display sizes of a :class:`~fsutils.pipeline.Pipeline`'s blend and weight,
    cached (``cache_size`` views: small, and several per redraw)."""

    def __init__(self, pipe: Any, cache_size: int = 32) -> None:
        self.pipe = pipe
        self._cache = LRU(cache_size)

    def blend(self, mode: str | BlendParams | None = None, *, garments: Garments = None,
              box: Box | None = None, size: tuple[int, int] | None = None,
              **changes: Any) -> np.ndarray:
        """The pixels of ``box`` ``(left, top, right, bottom)`` (default: the whole photo) of the
        pipeline's blend, resized to ``size`` ``(width, height)`` (default: the box's own size),
        float32 h×w×3, for the latest stylised image."""
        pipe = self.pipe
        p, cls = BlendParams.of(mode, **changes), pipe.garments(garments)
        box, size = self._geometry(box, size)
        if blend_mode(p.mode).weight is None:  # no weight map: crop the full blend
            return self._view("blend", lambda: pipe.blend(p, garments=cls), box, size,
                              (pipe.style_key, cls, p.mode, p.used))
        content = self._view("content", lambda: pipe.content, box, size)
        stylized = self._view("stylized", lambda: pipe.stylized, box, size, pipe.style_key)
        return weighted_blend(content, stylized, self.weight(p, garments=cls, box=box, size=size))

    def weight(self, mode: str | BlendParams | None = None, *, garments: Garments = None,
               box: Box | None = None, size: tuple[int, int] | None = None,
               **changes: Any) -> np.ndarray | None:
        """The blend weight ``W`` seen like :meth:`blend` (float32 h×w), or ``None`` for a mode
        without a weight map."""
        pipe = self.pipe
        p, cls = BlendParams.of(mode, **changes), pipe.garments(garments)
        record = blend_mode(p.mode)
        if record.weight is None:
            return None
        box, size = self._geometry(box, size)
        q = weight_base(p)  # q's weight does not read the strength
        plane = self._view("weight", lambda: pipe.weight(q, garments=cls), box, size,
                           (cls, q.mode, q.used))
        if q == p:
            return plane
        return finish_weight(p, plane, self._view("saliency", pipe.saliency, box, size))

    def layers(self, mode: str | BlendParams | None = None, *, garments: Garments = None,
               size: tuple[int, int] | None = None, **changes: Any
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """What a pointwise recomposition of the whole photo at ``size`` needs: the photo ``C``,
        the stylised image ``S``, the base weight ``b`` (the ``saliency_base`` mode's weight for
        a "× saliency" mode, else the mode's own) and the saliency ``m`` (``None`` for a mode
        that does not read it); ``C + W·(S − C)`` with ``W`` the mode's
        :attr:`~fsutils.blend.BlendMode.js` of ``b``, ``m`` and the strength equals
        :meth:`blend`. A mode without a weight map raises ``ValueError``."""
        pipe = self.pipe
        p, cls = BlendParams.of(mode, **changes), pipe.garments(garments)
        record = blend_mode(p.mode)
        if record.weight is None:
            raise ValueError(f"blend mode {p.mode!r} has no weight map to recompose.")
        box, size = self._geometry(None, size)
        base = self.weight(weight_base(p), garments=cls, size=size)
        return (self._view("content", lambda: pipe.content, box, size),
                self._view("stylized", lambda: pipe.stylized, box, size, pipe.style_key),
                base, self._view("saliency", pipe.saliency, box, size) if record.saliency
                else None)

    def _geometry(self, box: Box | None, size: tuple[int, int] | None
                  ) -> tuple[Box, tuple[int, int]]:
        content = self.pipe.content
        if content is None:
            raise RuntimeError("no photo yet: call pipe.set_image(photo)")
        h, w = content.shape[:2]
        box = (0, 0, w, h) if box is None else tuple(int(v) for v in box)
        x0, y0, x1, y1 = box
        if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
            raise ValueError(f"view box {box} is not inside the {w}×{h} photo; give (left, top, "
                             "right, bottom) with left < right ≤ width, top < bottom ≤ height.")
        size = (x1 - x0, y1 - y0) if size is None else (int(size[0]), int(size[1]))
        if min(size) < 1:
            raise ValueError(f"view size {size} must be at least 1×1 px (width, height).")
        return box, size

    def _view(self, what: str, full: Callable[[], np.ndarray], box: Box, size: tuple[int, int],
              key: Hashable = None) -> np.ndarray:
        """``full()`` (an H×W or H×W×3 map at the photo's size) cropped to ``box`` and resized to
        ``size`` (area averaging when shrinking, bilinear when enlarging), cached."""
        cache_key = (self.pipe.image_key, what, key, box, size)
        hit = self._cache.get(cache_key)
        if hit is not None:
            return hit
        x0, y0, x1, y1 = box
        crop = np.ascontiguousarray(np.asarray(full(), dtype=np.float32)[y0:y1, x0:x1])
        if size != (x1 - x0, y1 - y0):
            shrink = size[0] * size[1] < crop.shape[0] * crop.shape[1]
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if shrink
                              else cv2.INTER_LINEAR)
        crop.setflags(write=False)
        self._cache.put(cache_key, crop)
        return crop
