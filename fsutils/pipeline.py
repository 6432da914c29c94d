"""The whole kit as one cached pipeline: segment → saliency → style → blend.

Set the photo once, then ask as often as you like: each stage keeps its last results, keyed by the
photo and its own parameters, so a new blend parameter recomputes only the blend. The stages and
models: :mod:`fsutils.stages`; methods and modes: the records :data:`fsutils.style.METHODS` and
:data:`fsutils.blend.BLEND_MODES`; crops for pictures: :mod:`fsutils.views`.

>>> res = Pipeline().run("photo.jpg", method="fast", style="candy", garments="upper")  # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fsutils import io as fio
from fsutils import stages
from fsutils.blend import (BlendParams, blend_mode, blend_weight, compose, finish_weight,
                           weight_base, weighted_blend)
from fsutils.cache import StageCache, array_key, freeze
from fsutils.choosing import Choosing
from fsutils.events import Events
from fsutils.garments import (Garments, is_instance_choice, is_point_choice)
from fsutils.results import Result
from fsutils.style import methods as _style

__all__ = ["Pipeline", "Result", "SEGMENT_MIN_SIZE"]

#: Longest side of the photo the cloth segmenter sees when the working size is smaller and the
#: given photo is larger: a 128–160 px photo enlarged to the model's input is too blurry for it.
SEGMENT_MIN_SIZE = 512
_STAGES = ("segment", "instances", "saliency", "style", "mask", "weight", "blend")


class Pipeline(Events, Choosing):
    """segment → saliency → style → blend, each stage cached.

    ``segment``: a ``ClothSegmenter``-like object (its own ``predict`` makes the labels, so its
    options hold; ``predict_proba`` the soft modes' probabilities) or a function ``photo ->
    labels``; ``saliency``: a model or function ``photo -> map``; ``stylers``: ``{method:
    fn(content, style, *, mask, callback, progress, **fields)}``. ``photo_size``, ``style_size``:
    the working sizes (longest side; default: the photo as given, the method's own);
    ``segment_weights``, ``saliency_weights``: the default models' ``weights=``; ``device``: theirs
    and the style methods' (None: the best available).
    ``instances``: the detector of instance classes (``garments=("outer", "shoe")``), an
    ``InstanceSegmenter``-like object or a function ``photo -> Instances``. Models: on first use.
    ``best_source``: find each chosen garment through whichever model finds it
    (:mod:`fsutils.sources`: the cloth model's upper body, else the detector's top or outer …;
    :class:`fsutils.sources.GarmentNotFound` when neither does); None (default): when the cloth
    model is the kit's own (no ``segment`` given), else each vocabulary through its own model.
    The models: :attr:`models` (:class:`fsutils.stages.Models`)."""

    def __init__(self, segment: Any = None, saliency: Any = None, *,
                 stylers: Mapping[str, Callable[..., Any]] | None = None,
                 photo_size: int | None = None, style_size: int | None = None, device: Any = None,
                 segment_weights: str | None = None, saliency_weights: str = "u2netp",
                 cache_size: int = 4, class_names: tuple[str, ...] | None = None,
                 instances: Any = None, instance_weights: str | None = None,
                 best_source: bool | None = None) -> None:
        super().__init__()
        self.best_source = segment is None if best_source is None else bool(best_source)
        self.models = stages.Models(segment=segment, saliency=saliency, instances=instances,
                                    segment_weights=segment_weights, instance_weights=instance_weights,
                                    saliency_weights=saliency_weights, device=device,
                                    class_names=class_names)
        self.stylers: dict[str, Callable[..., Any]] = dict(stylers or {})
        self.photo_size, self.style_size = photo_size, style_size
        self._cache = StageCache(_STAGES, cache_size)
        self.computed = self._cache.computed  # how often each stage computed (cache misses)
        #: the photo (float32 H×W×3, PIL) at the working size; the key of its pixels; its name
        self.content: np.ndarray | None = None
        self.photo = self._segment_photo = self.image_key = None
        self.image_name, self.style_key = "", None  # style_key: of the latest stylised image
        #: the photo's size as given (width, height): points (``garments=[(x, y)]``) are in it
        self.given_size: tuple[int, int] | None = None

    @property
    def device(self) -> Any:
        """The models' and the style methods' device (None: the best available)."""
        return self.models.device

    @property
    def class_names(self) -> tuple[str, ...]:
        """The cloth model's class names (of :attr:`models`' segmenter)."""
        return self.models.class_names

    def default_style_size(self, method: str) -> int:
        """The style stage's working size when none is given (see ``style_size``)."""
        if self.style_size is not None:
            return int(self.style_size)
        long_side = int(max(self._need_image().shape[:2]))
        known = _style.METHODS.get(method)  # a styler of one's own works at the photo's size
        return int(known.default_size(long_side, self.device)) if known else long_side

    def clear(self) -> None:
        """Forget every cached result (the models stay loaded)."""
        self._cache.clear()
        self.style_key = None

    def set_image(self, image: Any, *, name: str | None = None) -> "Pipeline":
        """Use ``image`` (PIL image, path, bytes or H×W×3 array) as the photo; cheap for the same
        pixels again. ``name`` (default: a path's stem, else ``"photo"``) is :attr:`image_name`."""
        self.image_name = name or (Path(image).stem if isinstance(image, (str, Path)) else "photo")
        given = fio.to_rgb(image)
        self.given_size = given.size
        photo = stages.shrink(given, self.photo_size)
        key = array_key(arr := np.asarray(photo))
        if key != self.image_key:
            self.photo, self.image_key, self.style_key = photo, key, None
            small = max(photo.size) < min(SEGMENT_MIN_SIZE, max(given.size))
            self._segment_photo = stages.shrink(given, SEGMENT_MIN_SIZE) if small else photo
            self.content = fio.to_float(arr)
            self.emit("image")
        return self

    def _need_image(self) -> np.ndarray:
        if self.content is None:
            raise RuntimeError("no photo yet: call pipe.set_image(photo) (or pass image= to run)")
        return self.content

    def _cached(self, stage: str, key: Hashable, compute: Callable[[], Any]) -> Any:
        return self._cache.get_or_compute(stage, (self.image_key, key), compute)

    def _segmentation(self) -> tuple[np.ndarray, np.ndarray | None]:
        return self._cached("segment", (), lambda: stages.segment(
            self.models.segmenter, self._segment_photo, self._need_image().shape[:2]))

    def labels(self) -> np.ndarray:
        """Stage 1: the segmenter's label map (uint8 H×W), made by its own ``predict``."""
        return self._segmentation()[0]

    def instances(self) -> Any:
        """Stage 1 for instance classes: the garment instances of the photo (at its working
        size), found by ``models.instance_segmenter``."""
        self._need_image()
        return self._cached("instances", (), lambda: stages.instances(self.models.instance_segmenter,
                                                                       self.photo))

    def saliency(self) -> np.ndarray:
        """Stage 2: the saliency map (float32 H×W in 0..1)."""
        self._need_image()
        return self._cached("saliency", (), lambda: stages.saliency(self.models.saliency_model,
                                                                     self.photo))

    def stylize(self, method: str = _style.DEFAULT_METHOD, style: Any = None,
                params: Any = None, *, style_size: int | None = None, garments: Garments = None,
                callback: Callable | None = None, progress: bool = False,
                **changes: Any) -> np.ndarray:
        """Stage 3: the whole photo stylised (float32 H×W×3) by a method of
        :data:`fsutils.style.METHODS` or ``stylers`` with its painting or model ``style`` (default:
        its own) and parameter object ``params`` (``changes`` applied); ``garments``: the style
        is computed for these garments only (None: the whole photo)."""
        self._need_image()
        run, fields, default = stages.styler(method, self.stylers, params, self.device, **changes)
        style = default if style is None else style
        size = int(style_size or self.default_style_size(method))
        cls = None if garments is None else self.garments(garments)
        key = (method, freeze(style), size, cls, freeze(fields))
        result = self._cached("style", key, lambda: stages.stylize(
            run, self.photo, style, size, None if cls is None else self.mask(cls),
            callback=callback, progress=progress))
        if key != self.style_key:
            self.style_key = key
            self.emit("style")
        return result

    @property
    def stylized(self) -> np.ndarray:
        """The most recent stylised image of the current photo (:meth:`stylize`, :meth:`run`)."""
        hit = self._cache.get("style", (self.image_key, self.style_key))
        if hit is None:
            raise RuntimeError("nothing stylised for this photo yet: call pipe.stylize(...) or "
                               "pipe.run(...) first")
        return hit

    def _inputs(self, p: BlendParams, cls: Hashable) -> dict[str, np.ndarray]:
        mode = blend_mode(p.mode)  # what it reads besides the photo, the style and the mask
        return {**({"saliency": self.saliency()} if mode.saliency else {}),
                **({"probability": self.probability(cls)} if mode.probability else {})}

    def weight(self, mode: str | BlendParams | None = None, *, garments: Garments = None,
               **changes: Any) -> np.ndarray | None:
        """The blend weight ``W`` of a mode (float32 H×W, ``C_final = W·S + (1−W)·C``), or
        ``None`` for a mode without one (Poisson blending)."""
        record = blend_mode((p := BlendParams.of(mode, **changes)).mode)
        if record.weight is None:
            return None
        cls, base = self.garments(garments), weight_base(p)

        def compute() -> np.ndarray:
            if base != p:  # the base weight does not read the strength: reuse it
                return stages.frozen(finish_weight(p, self.weight(base, garments=cls),
                                                   self.saliency()))
            return stages.frozen(blend_weight(p, self.content, self.mask(cls),
                                              **self._inputs(p, cls)))

        self._need_image()
        return self._cached("weight", (cls, p.mode, p.used), compute)

    def blend(self, mode: str | BlendParams | None = None, *, garments: Garments = None,
              stylized: np.ndarray | None = None, **changes: Any) -> np.ndarray:
        """Stage 4: the stylised image (default: the latest) composited into the garments by a
        mode (name or :class:`BlendParams`, ``changes`` its fields); float32 H×W×3."""
        p, cls = BlendParams.of(mode, **changes), self.garments(garments)
        self._need_image()
        skey = self.style_key if stylized is None else ("array", array_key(stylized))
        s = self.stylized if stylized is None else stylized
        return self._cached("blend", (skey, cls, p.mode, p.used), lambda: stages.frozen(
            compose(p, self.content, s, self.mask(cls), **self._inputs(p, cls))
            if blend_mode(p.mode).compose else
            weighted_blend(self.content, s, self.weight(p, garments=cls))))

    def run(self, image: Any = None, *, method: str = _style.DEFAULT_METHOD, style: Any = None,
            params: Any = None, blend: str | BlendParams | None = None,
            garments: Garments = None, style_size: int | None = None, masked_style: bool = False,
            callback: Callable | None = None, progress: bool = False) -> Result:
        """Every stage (each only if its inputs changed) as a :class:`Result`: ``params`` is the
        style method's parameter object, ``blend`` a :class:`BlendParams` (or mode name);
        ``masked_style=True``: the style is computed for the chosen garments only;
        ``garments=[(x, y), …]``: the garments at these points of the photo as given
        (:mod:`fsutils.clicks`; :class:`fsutils.clicks.NoGarmentAt` for a point on none)."""
        stages.styler(method, self.stylers, params), BlendParams.of(blend)  # checked first
        if image is not None:
            self.set_image(image)
        cls = self.garments(garments)
        if is_point_choice(cls):
            self.mask(cls)  # a point on no garment fails here, before the style stage
        self.stylize(method, style, params, style_size=style_size, callback=callback,
                     garments=cls if masked_style else None, progress=progress)
        return self.result(blend, garments=cls)

    def result(self, blend: str | BlendParams | None = None, *,
               garments: Garments = None) -> Result:
        """A :class:`Result` of the current photo and the latest stylised image (no new style)."""
        p, cls = BlendParams.of(blend), self.garments(garments)
        out = self.blend(p, garments=cls)
        hard = out if p.mode == "hard" else self.blend("hard", garments=cls)
        each = {c: self.mask((c,)) for c in cls} if is_instance_choice(cls) else {}
        if is_point_choice(cls):  # one mask per point, named after it: mask_at_210_340
            each = {f"at_{c.x:g}_{c.y:g}".replace(".", "p"): self.mask((c,)) for c in cls}
        found = None if is_instance_choice(cls) else self._found(cls)
        if found is not None:  # what was restyled for each chosen class; the others as labelled
            labels = self.labels()
            each = {name.replace(" ", "_"): found.parts.get(i, labels == i)
                    for i, name in enumerate(self.class_names) if i}
        return Result(content=self.content, labels=self.labels(), saliency=self.saliency(),
                      mask=self.mask(cls), stylized=self.stylized, output=out, hard=hard,
                      mode=p.mode, garments=cls, method=self.style_key[0] if self.style_key
                      else "", params=p, garment_masks=each)
