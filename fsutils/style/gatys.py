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

import torch
import torch.nn as nn
from PIL import Image

from fsutils.io import to_pil, to_rgb
from fsutils.models.vgg import FeatureExtractor, vgg19_features

from . import color
from ._image import ImageLike, MaskLike, fit_long_side, mask_to_tensor, to_tensor
from .losses import content_loss, gram_matrix, mask_weights, style_loss, tv_loss

__all__ = ["CONTENT_LAYERS", "STYLE_LAYERS", "gatys_transfer", "default_extractor"]

CONTENT_LAYERS: tuple[str, ...] = ("conv4_2",)
STYLE_LAYERS: tuple[str, ...] = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
PRESERVE = ("color", "shading")

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


def _parse_preserve(preserve) -> frozenset[str]:
    if preserve is None:
        return frozenset()
    items = {preserve} if isinstance(preserve, str) else set(preserve)
    unknown = items - set(PRESERVE)
    if unknown:
        raise ValueError(f"preserve must be None, 'color', 'shading' or both, got {sorted(unknown)}")
    return frozenset(items)


def gatys_transfer(
    content: ImageLike,
    style,
    *,
    content_weight: float = 1.0,
    style_weight: float = 1e6,
    tv_weight: float = 0.0,
    steps: int | None = None,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    size: int | None = None,
    init: str = "content",
    mask: MaskLike | None = None,
    preserve: str | Sequence[str] | None = None,
    callback: Callback | None = None,
    callback_every: int = 10,
    progress: bool = True,
    seed: int | None = None,
    features: nn.Sequential | FeatureExtractor | None = None,
    content_layers: Sequence[str] = CONTENT_LAYERS,
    style_layers: Sequence[str] = STYLE_LAYERS,
    shading_sigma: float | None = None,
    device: torch.device | str | None = None,
) -> Image.Image:
    """Stylise ``content`` with ``style`` by optimising the image (Gatys et al.).

    Args:
        content: the photo (PIL image, path, or H×W×3 array).
        style: one painting; or several garments at once, each with its own painting and mask:
            a dict ``{"upper": (mask, image), "lower": (mask, image)}`` (names appear in the
            reported losses) or a list ``[(mask, image), ...]``; an optional third element is that
            style's relative weight. Masks are H×W arrays at the content's size (bool, 0..1 float,
            uint8 0/255) — arrays are unhashable, hence pairs rather than ``{mask: image}``.
        content_weight, style_weight, tv_weight: weights of the content loss (MSE on ``conv4_2``),
            the style loss (Σ over ``conv1_1 … conv5_1`` of the MSE between Gram matrices
            normalised by a·b·c·d) and the total-variation loss.
        steps: number of loss evaluations (one forward and one backward pass each); default
            ``fsutils.env.default_gatys_steps()`` (300 on a GPU, 100 on a CPU).
        optimizer: ``"lbfgs"`` (L-BFGS with a closure, default lr 1) or ``"adam"`` (default lr 0.02).
        size: working size, longer side in pixels; default ``fsutils.env.default_style_size()``
            (512 on a GPU, 256 on a CPU). The result is returned at this size.
        init: start from the ``"content"`` photo or from uniform ``"noise"`` (drawn from ``seed``).
        mask: H×W garment mask for a single style: the style loss only sees the garment region.
        preserve: ``"color"`` keeps the photo's colours (luminance-only transfer), ``"shading"``
            keeps the garment's folds and shadows under the new texture, or both as a tuple.
        callback: ``callback(step, image, losses)`` every ``callback_every`` steps and at the end,
            for live previews; ``losses`` has ``total``, ``content``, ``style``, ``tv`` (and
            ``style/<name>`` per garment with several styles).
        progress: show a ``tqdm.auto`` bar with the current losses.
        seed: makes ``init="noise"`` reproducible (the optimisation itself is deterministic on CPU).
        features: a VGG-like ``nn.Sequential`` (or a ready :class:`FeatureExtractor`) to use instead
            of the ImageNet VGG-19, e.g. a small random network in tests.
        shading_sigma: blur radius (pixels) separating shading from texture for ``"shading"``.
        device: defaults to ``fsutils.env.device()``.

    Returns:
        The stylised image (PIL, RGB) at the working size.
    """
    from tqdm.auto import tqdm

    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {optimizer!r}")
    if init not in ("content", "noise"):
        raise ValueError(f"init must be 'content' or 'noise', got {init!r}")
    dev, size, steps = _defaults(device, size, steps)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    keep = _parse_preserve(preserve)
    styles = _parse_styles(style, mask)

    photo = to_rgb(content)
    orig_hw = (photo.size[1], photo.size[0])
    c = to_tensor(fit_long_side(photo, size), dev)
    hw = tuple(c.shape[-2:])
    masks = [None if s.mask is None else mask_to_tensor(s.mask, hw, orig_hw, dev) for s in styles]

    content_layers, style_layers = tuple(content_layers), tuple(style_layers)
    if isinstance(features, FeatureExtractor):
        extractor = features.to(dev)
        missing = set(content_layers + style_layers) - set(extractor.layers)
        if missing:
            raise ValueError(f"the given FeatureExtractor lacks layers {sorted(missing)}")
    elif features is None:
        extractor = default_extractor(content_layers + style_layers, dev)
    else:
        extractor = FeatureExtractor(features, content_layers + style_layers).to(dev)

    c_in = color.luminance_only(c) if "color" in keep else c
    with torch.no_grad():
        c_feats = extractor(c_in)
        content_targets = {k: c_feats[k].detach() for k in content_layers}
        layer_hw = {k: tuple(c_feats[k].shape[-2:]) for k in style_layers}
        targets, weights = [], []
        for s, m in zip(styles, masks):
            s_t = to_tensor(fit_long_side(s.image, size), dev)
            if "color" in keep:
                s_t = color.match_luminance(s_t, c)
            s_feats = extractor(s_t)
            targets.append({k: gram_matrix(s_feats[k]).detach() for k in style_layers})
            del s_feats
            if m is None:
                weights.append(None)
                continue
            w = {k: mask_weights(m, layer_hw[k]) for k in style_layers}
            empty = [k for k, v in w.items() if float(v.sum()) <= 0]
            if empty:
                raise ValueError(f"the mask of style {s.name!r} is empty (at layers {empty}); "
                                 "check the garment mask or use a larger working size")
            weights.append(w)
        del c_feats

    if init == "noise":
        gen = torch.Generator().manual_seed(seed if seed is not None else 0)
        x = torch.rand(c.shape, generator=gen).to(dev)
    else:
        x = c_in.clone()
    x.requires_grad_(True)
    zero = torch.zeros((), device=dev)
    multi = len(styles) > 1

    def evaluate() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        feats = extractor(x)
        lc = zero
        for k in content_layers:
            lc = lc + content_loss(feats[k], content_targets[k])
        parts: dict[str, torch.Tensor] = {}
        ls = zero
        for s, t, w in zip(styles, targets, weights):
            term = s.weight * style_loss(feats, t, w) * style_weight
            if multi:
                parts[f"style/{s.name}"] = term
            ls = ls + term
        lt = tv_loss(x) * tv_weight if tv_weight else zero
        total = lc * content_weight + ls + lt
        return total, {"total": total, "content": lc * content_weight, "style": ls, "tv": lt, **parts}

    union = None
    if any(m is not None for m in masks):
        union = torch.stack([m for m in masks if m is not None]).amax(dim=0)

    def finish(img: torch.Tensor) -> torch.Tensor:
        img = img.detach().clamp(0, 1)
        if "color" in keep:
            img = color.recombine_color(img, c)
        if "shading" in keep:
            img = color.keep_shading(img, c, union, sigma=shading_sigma)
        return img

    bar = tqdm(total=steps, desc="Gatys style transfer", disable=not progress, leave=False)
    state = {"step": 0, "reported": 0}

    def report(parts: dict[str, torch.Tensor]) -> None:
        state["step"] += 1
        step = state["step"]
        bar.update(1)
        due_cb = callback is not None and (step % callback_every == 0 or step == steps)
        if due_cb or (progress and (step % 5 == 0 or step == steps)):
            losses = {k: float(v.detach()) for k, v in parts.items()}
            bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()
                             if k in ("total", "content", "style", "tv")}, refresh=False)
            if due_cb:
                state["reported"] = step
                callback(step, to_pil(finish(x)), losses)

    last: dict[str, torch.Tensor] = {}
    try:
        if optimizer == "lbfgs":
            opt = torch.optim.LBFGS([x], lr=lr if lr is not None else 1.0, max_iter=steps,
                                    max_eval=steps, history_size=50)

            def closure() -> torch.Tensor:
                with torch.no_grad():
                    x.clamp_(0, 1)
                opt.zero_grad(set_to_none=True)
                total, parts = evaluate()
                total.backward()
                last.update(parts)
                report(parts)
                return total

            opt.step(closure)
        else:
            opt = torch.optim.Adam([x], lr=lr if lr is not None else 0.02)
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                total, parts = evaluate()
                total.backward()
                opt.step()
                with torch.no_grad():
                    x.clamp_(0, 1)
                last.update(parts)
                report(parts)
    finally:
        bar.close()

    result = finish(x)
    if callback is not None and state["reported"] != state["step"]:
        callback(state["step"], to_pil(result), {k: float(v.detach()) for k, v in last.items()})
    return to_pil(result)
