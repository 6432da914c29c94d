"""The pipeline's stages as plain functions of a photo (:class:`fsutils.pipeline.Pipeline` caches
their results): the segmenter's pass, the saliency map, one style run, and the working size."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import cv2
import numpy as np
from PIL import Image

from fsutils import io as fio

__all__ = ["Models", "shrink", "frozen", "default_segmenter", "default_saliency", "default_instances",
           "class_names", "segment", "instances", "instance_mask", "saliency", "styler", "stylize"]


def shrink(photo: Image.Image, size: int | None) -> Image.Image:
    """``photo`` with its longest side at most ``size`` px (Lanczos; unchanged if ``size`` is
    None or 0)."""
    return fio.fit_long_side(photo, size or None, enlarge=False)


def frozen(arr: np.ndarray) -> np.ndarray:
    """``arr`` made read-only (cached results are shared)."""
    arr.setflags(write=False)
    return arr


def default_segmenter(weights: str | None = None, device: Any = None) -> Any:
    """The kit's cloth segmenter (``weights``: its registry name or checkpoint; None: default)
    on ``device`` (None: the best available)."""
    from fsutils.segment import DEFAULT_CLOTH_WEIGHTS, ClothSegmenter

    return ClothSegmenter(weights or DEFAULT_CLOTH_WEIGHTS, device)


def default_saliency(weights: str = "u2netp", device: Any = None) -> Any:
    """The kit's saliency model on ``device`` (None: the best available)."""
    from fsutils.saliency import SaliencyModel

    return SaliencyModel(weights, device)


def default_instances(weights: str | None = None, device: Any = None) -> Any:
    """The kit's garment detector (``weights``: registry name or file; None: the shipped one) on
    ``device`` (None: the best available)."""
    from fsutils.instances import DEFAULT_INSTANCE_WEIGHTS, InstanceSegmenter

    return InstanceSegmenter(weights or DEFAULT_INSTANCE_WEIGHTS, device)


class Models:
    """A pipeline's models: each one given (a model object or a function) is used as it is; the
    others are made on first use from their registry ``…_weights`` on ``device`` (None: the best
    available). :meth:`registry_names` lists the files those will load, so a caller can fetch
    them all before any work (the command line does)."""

    def __init__(self, *, segment: Any = None, saliency: Any = None, instances: Any = None,
                 segment_weights: str | None = None, saliency_weights: str = "u2netp",
                 instance_weights: str | None = None, device: Any = None,
                 class_names: tuple[str, ...] | None = None) -> None:
        self.segment_weights, self.saliency_weights = segment_weights, saliency_weights
        self.instance_weights, self.device = instance_weights, device
        self.given_segmenter = segment is not None
        self._models: dict[str, Any] = {"segment": segment, "saliency": saliency,
                                        "instances": instances}
        self._class_names = class_names

    def _model(self, stage: str, make: Callable[[], Any]) -> Any:
        if self._models[stage] is None:
            self._models[stage] = make()
        return self._models[stage]

    @property
    def segmenter(self) -> Any:
        """The segmentation model (or function) in use."""
        return self._model("segment", lambda: default_segmenter(self.segment_weights, self.device))

    @property
    def saliency_model(self) -> Any:
        """The saliency model (or function) in use."""
        return self._model("saliency", lambda: default_saliency(self.saliency_weights, self.device))

    @property
    def instance_segmenter(self) -> Any:
        """The garment detector (or function) in use for instance classes."""
        return self._model("instances", lambda: default_instances(self.instance_weights,
                                                                  self.device))

    @property
    def class_names(self) -> tuple[str, ...]:
        """The segmenter's class names."""
        self._class_names = self._class_names or class_names(self.segmenter)
        return self._class_names

    def use(self, **models: Any) -> None:
        """Replace models: ``use(saliency=fn)``; ``segment``, ``saliency`` or ``instances``."""
        unknown = set(models) - set(self._models)
        if unknown:
            raise ValueError(f"no stage {', '.join(sorted(unknown))}; the stages with a model are "
                             f"{', '.join(self._models)}")
        self._models.update(models)

    def hook(self, name: str) -> Callable[..., Any] | None:
        """The segmenter's own ``name`` method (``resolve_garments``, ``garment_mask``: a
        segmenter of one's own that finds garments its own way), without loading a model."""
        return getattr(self._models["segment"], name, None)

    def registry_names(self) -> list[str]:
        """The registry checkpoints the models not given will load: the cloth model (unless a
        file of one's own), the saliency model and the garment detector (instance classes are
        its own, and a chosen garment the cloth model misses is looked for with it)."""
        from fsutils.instances.segmenter import DEFAULT_INSTANCE_WEIGHTS
        from fsutils.segment import DEFAULT_CLOTH_WEIGHTS
        from fsutils.weights import REGISTRY

        wanted = {"segment": self.segment_weights or DEFAULT_CLOTH_WEIGHTS,
                  "saliency": self.saliency_weights,
                  "instances": self.instance_weights or DEFAULT_INSTANCE_WEIGHTS}
        return [name for stage, name in wanted.items()
                if self._models[stage] is None and name in REGISTRY]


def instances(detector: Any, photo: Image.Image) -> Any:
    """The garment instances a detector (``.predict(photo)`` or a function) finds in ``photo``;
    each mask must have the photo's size."""
    from fsutils.instances import Instances

    found = Instances((detector.predict if hasattr(detector, "predict") else detector)(photo))
    shape = (photo.height, photo.width)
    bad = [i.mask.shape for i in found if i.mask.shape != shape]
    if bad:
        raise ValueError(f"the garment detector returned {bad[0]} masks for a {shape} photo; it "
                         "must return masks at the photo's size")
    return found


def instance_mask(found: Any, classes: tuple[str, ...], shape: tuple[int, int]) -> np.ndarray:
    """The union of the instances of ``classes`` (bool ``shape``; empty when none was found)."""
    return found.union(classes) if found else np.zeros(shape, bool)


def class_names(seg: Any) -> tuple[str, ...]:
    """A segmenter's class names (its ``CLASS_NAMES`` or ``class_names``; else the kit's four)."""
    names = getattr(seg, "CLASS_NAMES", None) or getattr(seg, "class_names", None)
    if names is None:
        from fsutils.segment import CLASS_NAMES as names
    return tuple(names)


def segment(seg: Any, photo: Image.Image, shape: tuple[int, int]
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """One pass of a segmenter over ``photo``: its labels (its own ``predict``, or its
    ``labels_from_proba`` of the same pass) and, when it has ``predict_proba``, the class
    probabilities (K×H×W), both resized to ``shape`` (H, W) when the photo was larger."""
    size, proba = (photo.height, photo.width), None
    h, w = shape
    if hasattr(seg, "predict_proba"):
        proba = np.asarray(seg.predict_proba(photo), dtype=np.float32)
        if proba.ndim != 3 or proba.shape[1:] != size:
            raise ValueError(f"the segmenter's predict_proba returned shape {proba.shape} for a "
                             f"{size} photo; it must return K×{size[0]}×{size[1]}")
    own = getattr(seg, "labels_from_proba", None)
    lab = np.asarray(own(proba) if own is not None and proba is not None else
                     getattr(seg, "predict", seg)(photo)).astype(np.uint8, copy=False)
    if lab.shape != size:
        raise ValueError(f"the segmenter returned a {lab.shape} label map for a {size} photo; it "
                         "must return the photo's size")
    if size != (h, w):  # segmented larger (SEGMENT_MIN_SIZE): to the working size
        lab = cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST)
        if proba is not None:
            proba = np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_AREA) for c in proba])
    return frozen(lab), None if proba is None else frozen(proba)


def saliency(model: Any, photo: Image.Image) -> np.ndarray:
    """The saliency map of ``photo`` (float32 H×W in 0..1) from a model or a function."""
    sal = np.asarray(getattr(model, "predict", model)(photo), dtype=np.float32)
    if sal.shape != (photo.height, photo.width):
        raise ValueError(f"the saliency model returned a {sal.shape} map for a "
                         f"{(photo.height, photo.width)} photo; it must return the photo's size")
    return frozen(sal)


def styler(method: str, stylers: Mapping[str, Callable[..., Any]], params: Any = None,
           device: Any = None, **changes: Any) -> tuple[Callable[..., Any], dict[str, Any], Any]:
    """How to run a style method: ``run(photo, style, *, mask, callback, progress)``, its
    parameters as a dict (checked before any work: a table method's parameter object with
    ``changes``; for a styler of one's own in ``stylers``, ``params`` and ``changes`` as given)
    and its default style (None for one's own). A table method runs on ``device`` when one is
    given (else its own choice, the best available)."""
    from fsutils.style.methods import METHODS

    table, own = METHODS.get(method), stylers.get(method)
    if table is None and own is None:
        raise ValueError(f"unknown style method {method!r}; choose from "
                         f"{', '.join({**METHODS, **stylers})}")
    p = table.make_params(params, **changes) if table else {**(params or {}), **changes}
    fields = p if isinstance(p, dict) else p.as_dict()
    if own is not None:  # a styler of one's own gets the fields as keywords
        return (lambda photo, style, **kw: own(photo, style, **kw, **fields)), fields, \
            table and table.default_style
    on = {} if device is None else {"device": device}
    return (lambda photo, style, **kw: table.run(photo, style, p, size=max(photo.size), **on,
                                                 **kw)), fields, table.default_style


def stylize(run: Callable[..., Any], photo: Image.Image, style: Any, size: int,
            mask: np.ndarray | None = None, **kw: Any) -> np.ndarray:
    """``run(small, style, mask=…, **kw)`` on ``photo`` shrunk to ``size`` (the garment ``mask``
    too), back at the photo's size as float32 H×W×3."""
    small = shrink(photo, size)
    if mask is not None:
        mask = np.asarray(fio.to_pil(mask).resize(small.size, Image.Resampling.BILINEAR),
                          dtype=np.float32) / 255
    out = fio.to_rgb(run(small, style, mask=mask, **kw))
    if out.size != photo.size:
        out = out.resize(photo.size, Image.Resampling.BICUBIC)
    return frozen(fio.to_float(out))
