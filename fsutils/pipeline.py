"""The whole kit as one cached pipeline: segment → saliency → style → blend.

Set the photo once, then ask for results as often as you like: every stage keeps its last few
results, keyed by the photo and by **that stage's own parameters** (the "set the image once, predict
cheaply many times" idea of segment-anything). So a notebook slider that changes only a blend
parameter recomputes only the blend, a new garment selection recomputes only the mask and the blend,
a new painting recomputes only the style and the blend, and a new photo recomputes everything.

>>> pipe = Pipeline()                                   # doctest: +SKIP
>>> pipe.set_image("photo.jpg")                         # doctest: +SKIP
>>> res = pipe.run(method="fast", style="candy", classes=("upper body",))   # doctest: +SKIP
>>> res = pipe.run(method="fast", style="candy", classes=("upper body",), strength=0.5)  # blend only
>>> pipe.computed                                       # doctest: +SKIP
Counter({'segment': 1, 'saliency': 1, 'style': 1, 'mask': 1, 'blend': 2})

Every stage is a plain function that can be injected (tests, other models): ``segment(photo) ->
uint8 labels`` (an object with ``predict_proba`` also gives the class probabilities that the soft
blend modes use; with labels only, those modes see 0/1 probabilities), ``saliency(photo) -> float32
map``, and ``stylers[method](content, style, *, mask,
callback, progress, **params) -> PIL image``. By default they come from :mod:`fsutils.segment`,
:mod:`fsutils.saliency` and :mod:`fsutils.style`, loaded on first use.

Style methods come from the table :data:`fsutils.style.METHODS` with their parameter objects;
cache keys and the per-stage store live in :mod:`fsutils.cache`, the :class:`Result` and saving it
in :mod:`fsutils.results`. (The module is one class, one method per stage with its cache, hence
its length.)

Images: the photo is kept as float32 H×W×3 in 0..1 at the pipeline's working size (``max_size``);
labels, masks, saliency and the stylised image are all at that size, so the blends are exact
per-pixel formulas (:mod:`fsutils.blend`).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from fsutils import blend as _blend
from fsutils import io as fio
from fsutils.blend import BlendParams
from fsutils.blend.modes import SALIENCY_OF
from fsutils.cache import LRU, array_key, freeze
from fsutils.results import Result
from fsutils.style import methods as _style
from fsutils.style.methods import load_style
from fsutils.style.params import StyleParams

__all__ = ["Pipeline", "Result", "METHODS", "MODES", "DEFAULT_CLASSES", "resolve_classes",
           "load_style"]

#: Style-transfer methods known to the default stylers (the first is the default).
METHODS: tuple[str, ...] = tuple(_style.METHODS)
#: Blend modes (see :mod:`fsutils.blend`): hard paste, equation 2, feathered, soft and guided
#: masks, Poisson blending.
MODES: tuple[str, ...] = _blend.MODES
#: Garment classes used when none are chosen: upper body, lower body, full body.
DEFAULT_CLASSES: tuple[int, ...] = (1, 2, 3)
#: Longest side of the photo the cloth segmenter sees when the working size is smaller and the
#: given photo is larger: a 128–160 px photo enlarged to the model's input is too blurry for it.
SEGMENT_MIN_SIZE = 512

StageFn = Callable[..., Any]


def _shrink(photo: Image.Image, size: int | None) -> Image.Image:
    """``photo`` with its longest side at most ``size`` px (Lanczos; unchanged if ``size`` is None)."""
    if not size or max(photo.size) <= size:
        return photo
    scale = size / max(photo.size)
    return photo.resize((max(1, round(photo.width * scale)), max(1, round(photo.height * scale))),
                        Image.Resampling.LANCZOS)


def resolve_classes(classes: Iterable[int | str] | int | str | None,
                    names: Sequence[str] | None = None) -> tuple[int, ...]:
    """Garment classes as sorted label indices; accepts indices or names ("upper body", "upper",
    "upper_body", "full-body" …, see :func:`fsutils.segment.class_index`) of ``names`` (default
    :data:`fsutils.segment.CLASS_NAMES`). ``None`` means all garments (1, 2, 3)."""
    from .segment import CLASS_NAMES, class_index  # one parser of class names (imports torch: lazily)

    names = CLASS_NAMES if names is None else names
    if classes is None:
        return DEFAULT_CLASSES
    if isinstance(classes, (int, np.integer, str)):
        classes = [classes]
    return tuple(sorted({class_index(c, names, what="garment class") for c in classes}))


def _styler(method: _style.Method) -> StageFn:
    """The pipeline's stage function of a table method: ``fn(content, style, *, mask, callback,
    progress, **fields)``, the fields of the method's parameter class as keywords (the protocol
    an injected styler follows too)."""
    def styler(content: Image.Image, style: Any, *, mask=None, callback=None, progress=False,
               **fields: Any) -> Image.Image:
        return method.run(content, style, method.params(**fields), size=max(content.size),
                          mask=mask, callback=callback, progress=progress)
    styler.__name__ = f"{method.name}_styler"
    return styler


DEFAULT_STYLERS: dict[str, StageFn] = {name: _styler(m) for name, m in _style.METHODS.items()}


class Pipeline:
    """segment → saliency → style → blend, each stage cached (see the module docstring).

    Args:
        segment: a ``ClothSegmenter``-like object (``.predict(photo) -> uint8 labels``) or a function
            ``photo -> labels``; default ``fsutils.segment.ClothSegmenter(weights=segment_weights)``.
        saliency: a ``SaliencyModel``-like object or a function ``photo -> float32 map in 0..1``;
            default ``fsutils.saliency.SaliencyModel(saliency_weights)``.
        stylers: ``{method: fn}`` added to / replacing the methods of :data:`fsutils.style.METHODS`;
            ``fn(content, style, *, mask, callback, progress, **fields) -> PIL image`` gets the
            photo at the style's working size (and, for a table method, the fields of its
            parameter object as keywords) and may return any size (it is resized back).
        max_size: the photo is shrunk so its longer side is at most this many pixels (None: as is).
            Below :data:`SEGMENT_MIN_SIZE` the segmenter still sees a copy of that size when the
            given photo is larger; its result is resized to the working size.
        style_size: default working size of the style stage (longer side). Default: 384 px for
            Magenta (the size its networks were published at: brush strokes keep their scale),
            the photo's working size for the other one-pass methods (fast, AdaIN), and
            ``fsutils.env.default_style_size()`` (256 px on a CPU) for the Gatys optimisation.
        cache_size: results kept per stage.
    """

    def __init__(self, segment: Any = None, saliency: Any = None, *,
                 stylers: Mapping[str, StageFn] | None = None, max_size: int | None = None,
                 style_size: int | None = None, segment_weights: str | None = None,
                 saliency_weights: str = "u2netp", cache_size: int = 4,
                 class_names: tuple[str, ...] | None = None) -> None:
        self._segment_arg, self._saliency_arg = segment, saliency
        self._segment_fn: StageFn | None = None
        self._proba_fn: StageFn | None = None
        self._saliency_fn: StageFn | None = None
        self.segment_weights, self.saliency_weights = segment_weights, saliency_weights
        self.stylers: dict[str, StageFn] = {**DEFAULT_STYLERS, **(stylers or {})}
        self.max_size, self._style_size = max_size, style_size
        self._class_names = class_names
        self._caches = {s: LRU(cache_size) for s in ("segment", "saliency", "style", "mask",
                                                      "weight", "blend")}
        # views of the maps (crops, display sizes) for blend_view: small, and several per redraw
        self._caches["view"] = LRU(8 * cache_size)
        #: How many times each stage actually computed (cache misses), e.g. for tests and benchmarks.
        self.computed: Counter[str] = Counter()
        self.content: np.ndarray | None = None
        self.photo: Image.Image | None = None
        self._segment_photo: Image.Image | None = None  # what the segmenter sees (set_image)
        self.image_key: str | None = None
        #: The current photo's name (see :meth:`set_image`).
        self.image_name: str = ""
        self._last_style: Hashable | None = None
        self._listeners: list[Callable[[str], None]] = []

    # -- events (the widgets refresh themselves when another panel changes the photo or style) ---

    def on_change(self, callback: Callable[[str], None], remove: bool = False) -> None:
        """Call ``callback(event)`` after the photo changed (``"image"``) or a new stylised image
        became the current one (``"style"``)."""
        if remove:
            self._listeners = [c for c in self._listeners if c != callback]
        elif callback not in self._listeners:
            self._listeners.append(callback)

    def _emit(self, event: str) -> None:
        for cb in list(self._listeners):
            cb(event)

    # -- configuration ----------------------------------------------------------------------

    @property
    def class_names(self) -> tuple[str, ...]:
        if self._class_names is None:
            seg = self._segmenter()
            names = getattr(seg, "CLASS_NAMES", None) or getattr(seg, "class_names", None)
            if names is None:
                from fsutils.segment import CLASS_NAMES as names
            self._class_names = tuple(names)
        return self._class_names

    def default_style_size(self, method: str) -> int:
        """The style stage's working size when none is given (see ``style_size``)."""
        if self._style_size is not None:
            return int(self._style_size)
        self._need_image()
        long_side = int(max(self.content.shape[:2]))
        known = _style.METHODS.get(method)  # a styler of your own works at the photo's size
        return int(known.default_size(long_side)) if known else long_side

    def _segmenter(self) -> StageFn:
        if self._segment_fn is None:
            seg = self._segment_arg
            if seg is None:
                from fsutils.segment import ClothSegmenter
                seg = (ClothSegmenter() if self.segment_weights is None
                       else ClothSegmenter(weights=self.segment_weights))
                self._segment_arg = seg
            self._segment_fn = seg.predict if hasattr(seg, "predict") else seg
            self._proba_fn = getattr(seg, "predict_proba", None)
        return self._segment_fn

    @property
    def segmenter(self) -> Any:
        """The segmentation model (or function) in use (loaded on first use)."""
        self._segmenter()
        return self._segment_arg

    def _saliency_model(self) -> StageFn:
        if self._saliency_fn is None:
            sal = self._saliency_arg
            if sal is None:
                from fsutils.saliency import SaliencyModel
                sal = SaliencyModel(self.saliency_weights)
                self._saliency_arg = sal
            self._saliency_fn = sal.predict if hasattr(sal, "predict") else sal
        return self._saliency_fn

    def clear(self) -> None:
        """Forget every cached result (the models stay loaded)."""
        for c in self._caches.values():
            c.clear()
        self._last_style = None

    # -- the photo ----------------------------------------------------------------------------

    def set_image(self, image: Any, *, name: str | None = None) -> "Pipeline":
        """Use ``image`` (PIL image, path, bytes, or H×W×3 array) as the photo. Cheap when it is the
        same photo again: the caches are keyed by its pixels, not by the object.

        ``name`` (e.g. for the files a panel saves) becomes :attr:`image_name`; by default the
        file's stem when ``image`` is a path, else ``"photo"``."""

        if name is None:
            name = Path(image).stem if isinstance(image, (str, Path)) else "photo"
        self.image_name = name

        given = fio.to_rgb(image)
        photo = _shrink(given, self.max_size)
        arr = np.asarray(photo)
        key = array_key(arr)
        if key != self.image_key:
            self.photo, self.image_key = photo, key
            self._segment_photo = (_shrink(given, SEGMENT_MIN_SIZE)
                                   if max(photo.size) < min(SEGMENT_MIN_SIZE, max(given.size))
                                   else photo)
            self.content = fio.to_float(arr)
            self._last_style = None
            self._emit("image")
        return self

    def _need_image(self) -> None:
        if self.image_key is None:
            raise RuntimeError("no photo yet: call pipe.set_image(photo) (or pass image= to run)")

    def _cached(self, stage: str, key: Hashable, compute: Callable[[], Any]) -> Any:
        cache = self._caches[stage]
        hit = cache.get(key)
        if hit is not None:
            return hit
        value = compute()
        self.computed[stage] += 1
        cache.put(key, value)
        return value

    # -- stages -------------------------------------------------------------------------------

    def _segmentation(self) -> tuple[np.ndarray, np.ndarray | None]:
        """One segmentation pass: the label map and, when the segmenter gives them, the class
        probabilities (K×H×W); the labels are then their arg-max."""
        self._need_image()

        def compute() -> tuple[np.ndarray, np.ndarray | None]:
            self._segmenter()
            h, w = self.content.shape[:2]
            src = self._segment_photo
            sh, sw = src.height, src.width
            proba = None
            if self._proba_fn is not None:
                proba = np.asarray(self._proba_fn(src), dtype=np.float32)
                if proba.ndim != 3 or proba.shape[1:] != (sh, sw):
                    raise ValueError(f"the segmenter's predict_proba returned shape {proba.shape} "
                                     f"for a {sh}×{sw} photo; it must return K×{sh}×{sw}")
                if (sh, sw) != (h, w):  # segmented larger (SEGMENT_MIN_SIZE): to the working size
                    proba = np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_AREA)
                                      for c in proba])
                lab = proba.argmax(axis=0).astype(np.uint8)
                proba.setflags(write=False)
            else:
                lab = np.asarray(self._segment_fn(src))
                if lab.shape != (sh, sw):
                    raise ValueError(f"the segmenter returned a {lab.shape} label map for a "
                                     f"{(sh, sw)} photo; it must return the photo's size")
                if (sh, sw) != (h, w):
                    lab = cv2.resize(lab.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
            lab = lab.astype(np.uint8, copy=False)
            lab.setflags(write=False)
            return lab, proba

        return self._cached("segment", (self.image_key,), compute)

    def labels(self) -> np.ndarray:
        """Stage 1: the garment label map (uint8 H×W: 0 background, 1 upper, 2 lower, 3 full body)."""
        return self._segmentation()[0]

    def probability(self, classes: Iterable[int | str] | int | str | None = None) -> np.ndarray:
        """The segmenter's probability of the chosen garments (float32 H×W in 0..1): the soft
        counterpart of :meth:`mask`. A segmenter without ``predict_proba`` gives the 0/1 mask."""
        cls = resolve_classes(classes, self.class_names)

        def compute() -> np.ndarray:
            proba = self._segmentation()[1]
            p = (_blend.garment_probability(proba, cls) if proba is not None
                 else self.mask(cls).astype(np.float32))
            p.setflags(write=False)
            return p

        self._need_image()
        return self._cached("mask", (self.image_key, cls, "probability"), compute)

    def saliency(self) -> np.ndarray:
        """Stage 2: the saliency map (float32 H×W in 0..1)."""
        self._need_image()

        def compute() -> np.ndarray:
            sal = np.asarray(self._saliency_model()(self.photo), dtype=np.float32)
            if sal.shape != self.content.shape[:2]:
                raise ValueError(f"the saliency model returned a {sal.shape} map for a "
                                 f"{self.content.shape[:2]} photo; it must return the photo's size")
            sal.setflags(write=False)
            return sal

        return self._cached("saliency", (self.image_key,), compute)

    def mask(self, classes: Iterable[int | str] | int | str | None = None) -> np.ndarray:
        """The union of the chosen garment classes as a bool H×W mask."""
        cls = resolve_classes(classes, self.class_names)

        def compute() -> np.ndarray:
            m = np.isin(self.labels(), cls)
            m.setflags(write=False)
            return m

        self._need_image()
        return self._cached("mask", (self.image_key, cls), compute)

    @staticmethod
    def style_params(method: str, params: StyleParams | None = None,
                     **changes: Any) -> dict[str, Any]:
        """The keyword fields a styler of ``method`` gets: those of the method's parameter object
        (checked, with ``changes`` applied) for a table method, ``changes`` as given for a method
        of one's own."""
        m = _style.METHODS.get(method)
        if m is None:
            if params is not None:
                raise TypeError(f"{method!r} is not a table method: give its settings as keywords")
            return dict(changes)
        p = (params if params is not None else m.params()).replace(**changes)
        if not isinstance(p, m.params):
            raise TypeError(f"{method} takes {m.params.__name__}, got {type(p).__name__}")
        return p.as_dict()

    def _style_key(self, method: str, style: Any, size: int, masked: tuple[int, ...] | None,
                   params: Mapping[str, Any]) -> Hashable:
        return (self.image_key, method, freeze(style), size, masked, freeze(params))

    def stylize(self, method: str = _style.DEFAULT_METHOD, style: Any = None, *,
                size: int | None = None,
                mask_classes: Iterable[int | str] | int | str | None | bool = False,
                callback: Callable | None = None, progress: bool = False,
                params: StyleParams | None = None, **changes: Any) -> np.ndarray:
        """Stage 3: the whole photo stylised (float32 H×W×3 at the photo's size).

        ``method`` names a method of :data:`fsutils.style.METHODS` (``"magenta"``, ``"fast"``,
        ``"adain"``, ``"gatys"``) or one given in ``stylers``; ``style`` is a painting (PIL image,
        path or bundled sample name; Magenta also takes a style vector), or for ``"fast"`` a model
        name such as ``"candy"`` (default: the method's own). ``params`` is the method's
        parameter object (:class:`fsutils.style.GatysParams` …; default its defaults) and
        ``changes`` change fields of it (``steps=50``, ``alpha=0.5`` …); a name the method does
        not have is refused before any work. ``size`` is the working size (longer side) of the
        style stage. ``mask_classes``: Gatys computes the style loss only over these garments,
        AdaIN and Magenta measure the photo's feature statistics inside them (``True``: all
        garments). ``callback`` and ``progress`` are not part of the cache key.
        """
        self._need_image()
        if method not in self.stylers:
            raise ValueError(f"unknown style method {method!r}; choose from "
                             f"{', '.join(self.stylers)}")
        fields = self.style_params(method, params, **changes)
        if style is None and method in _style.METHODS:  # a styler of one's own has no default
            style = _style.METHODS[method].default_style
        size = int(size or self.default_style_size(method))
        masked = None
        if mask_classes is not False and mask_classes is not None:
            masked = resolve_classes(None if mask_classes is True else mask_classes,
                                     self.class_names)
        key = self._style_key(method, style, size, masked, fields)

        def compute() -> np.ndarray:
            h, w = self.content.shape[:2]
            small = _shrink(self.photo, size)
            small_wh = small.size
            mask = None
            if masked is not None:
                m = fio.to_pil(self.mask(masked))
                mask = np.asarray(m.resize(small_wh, Image.Resampling.BILINEAR),
                                  dtype=np.float32) / 255
            out = self.stylers[method](small, style, mask=mask, callback=callback,
                                       progress=progress, **fields)
            out = fio.to_rgb(out)
            if out.size != (w, h):
                out = out.resize((w, h), Image.Resampling.BICUBIC)
            arr = fio.to_float(out)
            arr.setflags(write=False)
            return arr

        result = self._cached("style", key, compute)
        if key != self._last_style:
            self._last_style = key
            self._emit("style")
        return result

    @property
    def stylized(self) -> np.ndarray:
        """The most recent stylised image of the current photo (from :meth:`stylize` or :meth:`run`)."""
        if self._last_style is None or self._last_style not in self._caches["style"]:
            raise RuntimeError("nothing stylised for this photo yet: call pipe.stylize(...) or "
                               "pipe.run(...) first")
        return self._caches["style"].get(self._last_style)

    @staticmethod
    def blend_params(mode: str | BlendParams | None = None, **changes: Any) -> BlendParams:
        """A :class:`fsutils.blend.BlendParams` from a mode name or params object, with some of its
        fields (``strength``, ``width``, ``radius``, ``eps``) changed; ``None`` values are ignored."""
        base = mode if isinstance(mode, BlendParams) else BlendParams(mode or _blend.DEFAULT_MODE)
        changes = {k: (float(v) if k in ("strength", "width", "eps") else v)
                   for k, v in changes.items() if v is not None}
        return base.replace(**changes) if changes else base

    def weight(self, mode: str | BlendParams | None = None, *,
               classes: Iterable[int | str] | int | str | None = None,
               **params: Any) -> np.ndarray | None:
        """The blend weight ``W`` of a mode (float32 H×W in 0..1, ``C_final = W·S + (1−W)·C``), or
        ``None`` for Poisson blending, which has no weight map."""
        p = self.blend_params(mode, **params)
        if p.mode == "poisson":
            return None
        cls = resolve_classes(classes, self.class_names)

        def compute() -> np.ndarray:
            base = SALIENCY_OF.get(p.mode)
            if base is not None:  # the base weight does not read the strength: reuse it
                w = _blend.soft_mask(self.weight(p.replace(mode=base), classes=cls),
                                     self.saliency(), p.strength)
            else:
                w = _blend.blend_weight(p, self.content, self.mask(cls), **self._inputs(p, cls))
            w.setflags(write=False)
            return w

        self._need_image()
        return self._cached("weight", (self.image_key, cls, p.mode, p.used), compute)

    def _inputs(self, p: BlendParams, cls: tuple[int, ...]) -> dict[str, np.ndarray]:
        """What a mode reads besides the photo, the stylised image and the mask."""
        from fsutils.blend.modes import NEEDS_PROBABILITY, NEEDS_SALIENCY

        out = {}
        if p.mode in NEEDS_SALIENCY:
            out["saliency"] = self.saliency()
        if p.mode in NEEDS_PROBABILITY:
            out["probability"] = self.probability(cls)
        return out

    def blend(self, mode: str | BlendParams | None = None, *,
              classes: Iterable[int | str] | int | str | None = None,
              stylized: np.ndarray | None = None, **params: Any) -> np.ndarray:
        """Stage 4: composite the stylised image into the chosen garments (float32 H×W×3).

        ``mode`` is a mode name of :data:`fsutils.blend.MODES` (default
        :data:`fsutils.blend.DEFAULT_MODE`) or a :class:`fsutils.blend.BlendParams`; ``params``
        change its fields (``strength``, ``width``, ``radius``, ``eps``). ``stylized`` defaults to
        the latest :meth:`stylize` result; parameters that a mode does not read do not invalidate
        its cache.
        """
        p = self.blend_params(mode, **params)
        self._need_image()
        cls = resolve_classes(classes, self.class_names)
        if stylized is None:
            stylized = self.stylized
            skey: Hashable = self._last_style
        else:
            skey = ("array", array_key(stylized))
        key = (self.image_key, skey, cls, p.mode, p.used)

        def compute() -> np.ndarray:
            mask = self.mask(cls)
            if p.mode in ("hard", "saliency", "feathered", "poisson"):
                out = _blend.compose(p, self.content, stylized, mask, **self._inputs(p, cls))
            else:
                out = _blend.weighted_blend(self.content, stylized, self.weight(p, classes=cls))
            out.setflags(write=False)
            return out

        return self._cached("blend", key, compute)

    # -- views: the blend for a picture (a crop, a display size) ------------------------------

    def blend_view(self, mode: str | BlendParams | None = None, *,
                   classes: Iterable[int | str] | int | str | None = None,
                   box: tuple[int, int, int, int] | None = None,
                   size: tuple[int, int] | None = None, **params: Any) -> np.ndarray:
        """What a picture of the blend shows: the pixels of ``box`` ``(left, top, right, bottom)``
        (default: the whole photo) of :meth:`blend`, resized to ``size`` ``(width, height)``
        (default: the box's own size), float32 h×w×3 — for the latest stylised image.

        Every mode but Poisson blending ends with the pixel-wise ``W·S + (1−W)·C``, and the
        saliency modes' weight is a pixel-wise function of maps that do not read the strength; so
        the view is computed from views of those maps (each cached), and only the pixels shown
        are blended: a new saliency strength costs a thumbnail's worth of work, not a
        full-resolution blend. A crop equals the crop of :meth:`blend`; a resized view differs
        from resizing the blend only by the resampling of the maps."""
        p = self.blend_params(mode, **params)
        self._need_image()
        cls = resolve_classes(classes, self.class_names)
        box, size = self._view_geometry(box, size)
        if p.mode == "poisson":
            return self._view("blend/poisson", lambda: self.blend(p, classes=cls), box, size,
                              (self._last_style, cls))
        content = self._view("content", lambda: self.content, box, size)
        stylized = self._view("stylized", lambda: self.stylized, box, size, self._last_style)
        return _blend.weighted_blend(content, stylized, self.weight_view(p, classes=cls, box=box,
                                                                         size=size))

    def weight_view(self, mode: str | BlendParams | None = None, *,
                    classes: Iterable[int | str] | int | str | None = None,
                    box: tuple[int, int, int, int] | None = None,
                    size: tuple[int, int] | None = None, **params: Any) -> np.ndarray | None:
        """The blend weight ``W`` of :meth:`weight` seen like :meth:`blend_view` (float32 h×w), or
        ``None`` for Poisson blending."""
        p = self.blend_params(mode, **params)
        if p.mode == "poisson":
            return None
        self._need_image()
        cls = resolve_classes(classes, self.class_names)
        box, size = self._view_geometry(box, size)
        base = SALIENCY_OF.get(p.mode)
        q = p if base is None else p.replace(mode=base)  # q's weight does not read the strength
        plane = self._view("weight", lambda: self.weight(q, classes=cls), box, size,
                           (cls, q.mode, q.used))
        if base is None:
            return plane
        return _blend.soft_mask(plane, self._view("saliency", self.saliency, box, size), p.strength)

    def _view_geometry(self, box: tuple[int, int, int, int] | None,
                       size: tuple[int, int] | None) -> tuple[tuple[int, int, int, int],
                                                              tuple[int, int]]:
        h, w = self.content.shape[:2]
        box = (0, 0, w, h) if box is None else tuple(int(v) for v in box)
        x0, y0, x1, y1 = box
        if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
            raise ValueError(f"view box {box} is not inside the {w}×{h} photo; give "
                             "(left, top, right, bottom) with left < right ≤ width, top < bottom ≤ height.")
        size = (x1 - x0, y1 - y0) if size is None else (int(size[0]), int(size[1]))
        if min(size) < 1:
            raise ValueError(f"view size {size} must be at least 1×1 px (width, height).")
        return box, size

    def _view(self, what: str, full: Callable[[], np.ndarray], box: tuple[int, int, int, int],
              size: tuple[int, int], key: Hashable = None) -> np.ndarray:
        """``full()`` (an H×W or H×W×3 map at the photo's size) cropped to ``box`` and resized to
        ``size`` (area averaging when shrinking, bilinear when enlarging), cached."""
        def compute() -> np.ndarray:
            x0, y0, x1, y1 = box
            crop = np.ascontiguousarray(np.asarray(full(), dtype=np.float32)[y0:y1, x0:x1])
            if size != (x1 - x0, y1 - y0):
                shrink = size[0] * size[1] < crop.shape[0] * crop.shape[1]
                crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if shrink
                                  else cv2.INTER_LINEAR)
            crop.setflags(write=False)
            return crop

        return self._cached("view", (self.image_key, what, key, box, size), compute)

    # -- everything at once -------------------------------------------------------------------

    def run(self, image: Any = None, *, method: str = _style.DEFAULT_METHOD, style: Any = None,
            classes: Iterable[int | str] | int | str | None = None,
            mode: str | BlendParams | None = None, strength: float | None = None,
            width: float | None = None, size: int | None = None,
            masked_style: bool = False, callback: Callable | None = None,
            progress: bool = False, params: StyleParams | None = None,
            **style_changes: Any) -> Result:
        """Run every stage (each one only if its inputs changed) and return a :class:`Result`.

        ``image`` (optional) replaces the photo; the other arguments are those of :meth:`stylize`
        (``params`` the style method's parameter object, ``style_changes`` fields of it) and
        :meth:`blend` (``mode`` a name or a :class:`fsutils.blend.BlendParams`; ``strength``
        and ``width`` change it); ``masked_style=True`` restricts a Gatys style loss to the chosen
        garments (AdaIN, Magenta: the statistics are measured inside them).
        """
        self.style_params(method, params, **style_changes)  # refused before any work
        if image is not None:
            self.set_image(image)
        self._need_image()
        cls = resolve_classes(classes, self.class_names)
        self.labels()
        self.stylize(method, style, size=size, mask_classes=cls if masked_style else False,
                     callback=callback, progress=progress, params=params, **style_changes)
        return self.result(mode=mode, classes=cls, strength=strength, width=width)

    def result(self, *, mode: str | BlendParams | None = None,
               classes: Iterable[int | str] | int | str | None = None,
               strength: float | None = None, width: float | None = None) -> Result:
        """A :class:`Result` from the current photo and the latest stylised image (no new style)."""
        self._need_image()
        p = self.blend_params(mode, strength=strength, width=width)
        cls = resolve_classes(classes, self.class_names)
        out = self.blend(p, classes=cls)
        hard = out if p.mode == "hard" else self.blend("hard", classes=cls)
        method = self._last_style[1] if self._last_style else ""
        return Result(content=self.content, labels=self.labels(), saliency=self.saliency(),
                      mask=self.mask(cls), stylized=self.stylized, output=out, hard=hard,
                      mode=p.mode, classes=cls, method=method, params=p)
