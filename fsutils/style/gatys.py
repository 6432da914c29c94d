"""Optimisation-based neural style transfer (Gatys, Ecker & Bethge, CVPR 2016) for garments.

The image is optimised directly so that its VGG-19 features match the photo's content features
(``conv4_2``) and the painting's Gram matrices (``conv1_1`` … ``conv5_1``). Compared with the
"insert loss modules into a copied VGG" recipe of the PyTorch tutorial this implementation:

- computes the content features and the style Gram matrices once, then gets every activation it
  needs from **one** forward pass per step through a VGG cut after the deepest needed layer;
- freezes the network, so backpropagation computes only the image gradient (no weight gradients);
- restricts the style loss to a garment (``mask``), or gives each garment its own painting in one
  optimisation (Gram matrices of the generated features weighted by the mask downsampled to each
  layer, normalised by the mask's area — see :mod:`fsutils.style.losses`);
- can keep the photo's colours (luminance-only transfer) or its folds and shadows
  (:mod:`fsutils.style.color`).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
from PIL import Image

from fsutils.io import to_pil, to_rgb
from fsutils.models.vgg import FeatureExtractor, vgg19_features

from . import color
from ._image import ImageLike, MaskLike, fit_long_side, mask_to_tensor, to_tensor
from .losses import content_loss, gram_matrix, mask_weights, style_loss, tv_loss
from .params import GatysParams

__all__ = ["CONTENT_LAYERS", "STYLE_LAYERS", "gatys_transfer", "default_extractor", "GatysParams"]

CONTENT_LAYERS: tuple[str, ...] = ("conv4_2",)
STYLE_LAYERS: tuple[str, ...] = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")

Callback = Callable[[int, Image.Image, dict[str, float]], None]


@functools.lru_cache(maxsize=2)
def _vgg19_on(device: str) -> nn.Sequential:
    return vgg19_features(pretrained=True).to(device)


@functools.lru_cache(maxsize=4)
def _default_extractor(layers: tuple[str, ...], device: str) -> FeatureExtractor:
    return FeatureExtractor(_vgg19_on(device), layers, copy=False)


def default_extractor(layers: Sequence[str], device: torch.device | str) -> FeatureExtractor:
    """VGG-19 (ImageNet weights from the registry, loaded once per device) cut after ``layers``."""
    return _default_extractor(tuple(dict.fromkeys(layers)), str(torch.device(device)))


def _defaults(device, size, steps) -> tuple[torch.device, int, int]:
    if device is None or size is None or steps is None:
        from fsutils import env

        device = env.device() if device is None else torch.device(device)
        size = env.default_style_size(device) if size is None else size
        steps = env.default_gatys_steps(device) if steps is None else steps
    return torch.device(device), int(size), int(steps)


@dataclass
class _Style:
    name: str
    image: Image.Image
    mask: MaskLike | None
    weight: float = 1.0


def _parse_styles(style, mask) -> list[_Style]:
    def entry(name, value) -> _Style:
        if not isinstance(value, (tuple, list)) or len(value) not in (2, 3):
            raise TypeError(f"style entry {name!r} must be (mask, style_image) or "
                            f"(mask, style_image, weight), got {type(value).__name__}")
        return _Style(str(name), to_rgb(value[1]), value[0],
                      float(value[2]) if len(value) == 3 else 1.0)

    if isinstance(style, Mapping):
        styles = [entry(k, v) for k, v in style.items()]
    elif isinstance(style, (list, tuple)):
        styles = [entry(f"style{i}", v) for i, v in enumerate(style)]
    else:
        return [_Style("style", to_rgb(style), mask)]
    if mask is not None:
        raise ValueError("with several styles give each its own mask inside `style` "
                         "({name: (mask, image)} or [(mask, image), ...]) and leave `mask=None`")
    if not styles:
        raise ValueError("`style` is an empty collection; give at least one (mask, image) pair")
    return styles


@dataclass
class _Problem:
    """What the optimisation matches: the photo's content features and each painting's Gram
    matrices (with its garment weights per layer), and how to finish the image."""

    extractor: FeatureExtractor
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    photo: torch.Tensor                    # 1×3×h×w in 0..1
    start: torch.Tensor                    # the photo as optimised (luminance only with "color")
    content_targets: dict[str, torch.Tensor]
    styles: list[_Style]
    grams: list[dict[str, torch.Tensor]]
    weights: list[dict[str, torch.Tensor] | None]
    union: torch.Tensor | None             # all garment masks together, for "shading"


def _extractor(features, layers: tuple[str, ...], dev: torch.device) -> FeatureExtractor:
    if isinstance(features, FeatureExtractor):
        extractor = features.to(dev)
        missing = set(layers) - set(extractor.layers)
        if missing:
            raise ValueError(f"the given FeatureExtractor lacks layers {sorted(missing)}")
        return extractor
    if features is None:
        return default_extractor(layers, dev)
    return FeatureExtractor(features, layers).to(dev)


def _build_problem(photo: torch.Tensor, styles: list[_Style], masks: list, p: GatysParams,
                   extractor: FeatureExtractor, content_layers: tuple[str, ...],
                   style_layers: tuple[str, ...], size: int, dev: torch.device) -> _Problem:
    """The targets: content features of the photo, Gram matrices of each painting, and each
    garment mask shrunk to every style layer (an empty one is refused)."""
    keep_color = p.preserve_color
    start = color.luminance_only(photo) if keep_color else photo
    with torch.no_grad():
        c_feats = extractor(start)
        content_targets = {k: c_feats[k].detach() for k in content_layers}
        layer_hw = {k: tuple(c_feats[k].shape[-2:]) for k in style_layers}
        del c_feats
        grams, weights = [], []
        for s, m in zip(styles, masks):
            s_t = to_tensor(fit_long_side(s.image, size), dev)
            if keep_color:
                s_t = color.match_luminance(s_t, photo)
            grams.append({k: gram_matrix(v).detach() for k, v in extractor(s_t).items()
                          if k in style_layers})
            if m is None:
                weights.append(None)
                continue
            w = {k: mask_weights(m, layer_hw[k]) for k in style_layers}
            empty = [k for k, v in w.items() if float(v.sum()) <= 0]
            if empty:
                raise ValueError(f"the mask of style {s.name!r} is empty (at layers {empty}); "
                                 "check the garment mask or use a larger working size")
            weights.append(w)
    given = [m for m in masks if m is not None]
    union = torch.stack(given).amax(dim=0) if given else None
    return _Problem(extractor, content_layers, style_layers, photo, start, content_targets,
                    styles, grams, weights, union)


def _losses(prob: _Problem, x: torch.Tensor, p: GatysParams) -> dict[str, torch.Tensor]:
    """Content, style (per garment with several paintings), total variation and their total."""
    feats = prob.extractor(x)
    zero = torch.zeros((), device=x.device)
    lc = sum((content_loss(feats[k], prob.content_targets[k]) for k in prob.content_layers), zero)
    parts: dict[str, torch.Tensor] = {}
    ls = zero
    for s, g, w in zip(prob.styles, prob.grams, prob.weights):
        term = s.weight * style_loss(feats, g, w) * p.style_weight
        if len(prob.styles) > 1:
            parts[f"style/{s.name}"] = term
        ls = ls + term
    lt = tv_loss(x) * p.tv_weight if p.tv_weight else zero
    total = lc * p.content_weight + ls + lt
    return {"total": total, "content": lc * p.content_weight, "style": ls, "tv": lt, **parts}


def _optimise(prob: _Problem, x: torch.Tensor, p: GatysParams, steps: int,
              on_step: Callable[[dict[str, torch.Tensor]], None]) -> dict[str, torch.Tensor]:
    """Optimise the image ``x`` in place for ``steps`` loss evaluations (L-BFGS with a closure,
    or Adam), keeping it in 0..1; ``on_step(losses)`` after each. Returns the last losses."""
    last: dict[str, torch.Tensor] = {}

    def step() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        parts = _losses(prob, x, p)
        parts["total"].backward()
        last.update(parts)
        return parts["total"]

    if p.optimizer == "lbfgs":
        opt = torch.optim.LBFGS([x], lr=p.lr if p.lr is not None else 1.0, max_iter=steps,
                                max_eval=steps, history_size=50)

        def closure() -> torch.Tensor:
            with torch.no_grad():
                x.clamp_(0, 1)
            total = step()
            on_step(last)
            return total

        opt.step(closure)
    else:
        opt = torch.optim.Adam([x], lr=p.lr if p.lr is not None else 0.02)
        for _ in range(steps):
            step()
            opt.step()
            with torch.no_grad():
                x.clamp_(0, 1)
            on_step(last)
    return last


def _finish(prob: _Problem, img: torch.Tensor, p: GatysParams) -> torch.Tensor:
    """The optimised image clamped to 0..1, with the photo's colours and/or shading put back."""
    img = img.detach().clamp(0, 1)
    if p.preserve_color:
        img = color.recombine_color(img, prob.photo)
    if "shading" in p.preserve:
        img = color.keep_shading(img, prob.photo, prob.union, sigma=p.shading_sigma)
    return img


class _Progress:
    """The progress bar and the live-preview callback of one optimisation: the losses on the bar
    every 5 steps, ``callback(step, image, losses)`` every ``every`` steps and at the end."""

    def __init__(self, prob: _Problem, x: torch.Tensor, p: GatysParams, steps: int,
                 callback: Callback | None, every: int, progress: bool) -> None:
        from tqdm.auto import tqdm

        self.prob, self.x, self.p, self.steps = prob, x, p, steps
        self.callback, self.every, self.progress = callback, every, progress
        self.bar = tqdm(total=steps, desc="Gatys style transfer", disable=not progress, leave=False)
        self.step = self.reported = 0

    def __call__(self, parts: dict[str, torch.Tensor]) -> None:
        self.step += 1
        step = self.step
        self.bar.update(1)
        due = self.callback is not None and (step % self.every == 0 or step == self.steps)
        if due or (self.progress and (step % 5 == 0 or step == self.steps)):
            losses = {k: float(v.detach()) for k, v in parts.items()}
            self.bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()
                                  if k in ("total", "content", "style", "tv")}, refresh=False)
            if due:
                self.reported = step
                self.callback(step, to_pil(_finish(self.prob, self.x, self.p)), losses)

    def final(self, result: torch.Tensor, last: dict[str, torch.Tensor]) -> None:
        """The last picture, unless the last step already reported it."""
        if self.callback is not None and self.reported != self.step:
            self.callback(self.step, to_pil(result), {k: float(v.detach()) for k, v in last.items()})


def gatys_transfer(
    content: ImageLike,
    style,
    params: GatysParams | None = None,
    *,
    size: int | None = None,
    mask: MaskLike | None = None,
    callback: Callback | None = None,
    callback_every: int = 10,
    progress: bool = False,
    features: nn.Sequential | FeatureExtractor | None = None,
    content_layers: Sequence[str] = CONTENT_LAYERS,
    style_layers: Sequence[str] = STYLE_LAYERS,
    device: torch.device | str | None = None,
    **changes: Any,
) -> Image.Image:
    """Stylise ``content`` with ``style`` by optimising the image (Gatys et al.).

    Args:
        content: the photo (PIL image, path, or H×W×3 array).
        style: one painting; or several garments at once, each with its own painting and mask:
            a dict ``{"upper": (mask, image), "lower": (mask, image)}`` (names appear in the
            reported losses) or a list ``[(mask, image), ...]``; an optional third element is that
            style's relative weight. Masks are H×W arrays at the content's size (bool, 0..1 float,
            uint8 0/255) — arrays are unhashable, hence pairs rather than ``{mask: image}``.
        params: the method's parameters (:class:`~fsutils.style.params.GatysParams`: loss
            weights, ``steps``, ``optimizer``, ``lr``, ``init``, ``preserve``, ``seed``,
            ``shading_sigma``); ``changes`` (e.g. ``steps=50, style_weight=1e5``) change fields
            of it (of the defaults when ``params`` is ``None``).
        size: working size, longer side in pixels; default ``fsutils.env.default_style_size()``
            (512 on a GPU, 256 on a CPU). The result is returned at this size.
        mask: H×W garment mask for a single style: the style loss only sees the garment region.
        callback: ``callback(step, image, losses)`` every ``callback_every`` steps and at the end,
            for live previews; ``losses`` has ``total``, ``content``, ``style``, ``tv`` (and
            ``style/<name>`` per garment with several styles).
        progress: show a ``tqdm.auto`` bar with the current losses.
        features: a VGG-like ``nn.Sequential`` (or a ready :class:`FeatureExtractor`) to use instead
            of the ImageNet VGG-19, e.g. a small random network in tests.
        device: defaults to ``fsutils.env.device()``.

    Returns:
        The stylised image (PIL, RGB) at the working size.

    (Long only by this documentation: the work is in ``_build_problem``, ``_optimise`` and
    ``_finish``.)
    """
    p = (params or GatysParams()).replace(**changes)
    dev, size, steps = _defaults(device, size, p.steps)
    styles = _parse_styles(style, mask)
    photo = to_rgb(content)
    orig_hw = (photo.size[1], photo.size[0])
    c = to_tensor(fit_long_side(photo, size), dev)
    masks = [None if s.mask is None else mask_to_tensor(s.mask, tuple(c.shape[-2:]), orig_hw, dev)
             for s in styles]
    content_layers, style_layers = tuple(content_layers), tuple(style_layers)
    extractor = _extractor(features, content_layers + style_layers, dev)
    prob = _build_problem(c, styles, masks, p, extractor, content_layers, style_layers, size, dev)

    if p.init == "noise":
        gen = torch.Generator().manual_seed(p.seed if p.seed is not None else 0)
        x = torch.rand(c.shape, generator=gen).to(dev)
    else:
        x = prob.start.clone()
    x.requires_grad_(True)

    report = _Progress(prob, x, p, steps, callback, callback_every, progress)
    try:
        last = _optimise(prob, x, p, steps, report)
    finally:
        report.bar.close()
    result = _finish(prob, x, p)
    report.final(result, last)
    return to_pil(result)
