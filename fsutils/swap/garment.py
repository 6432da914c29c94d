"""Swap a person's upper-body garment for another: :func:`swap_garment`.

The person photo is cropped around the garment (its annotation, or the upper-body garment found
by the kit's cloth segmenter or, where it has none, by the garment detector), the worn garment
is cut out as the flat-lay ``y_i`` the generator was trained with, the new article is centred
on white at the crop's size as ``y_j``, and the generator's ``α`` and ``x̃`` are mapped back
onto the full photo: outside α the photo keeps its own pixels and resolution.

α is limited to where the new garment can be (:func:`alpha_limit`): the person's garment grown
by :data:`GARMENT_MARGIN` at the sides and below (a longer or wider article shows) and less above
(the neck, face and hair), fading to 0 over :data:`FEATHER` beyond it, so the generator cannot
smear the background, the skin or the hair, and the pasted edge is soft.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from fsutils import io as fio
from fsutils import weights as W
from fsutils.models.cagan import CAGANGenerator, generator_from_state_dict

from .data import SIZE, UPPER, flat_lay, from_tensor, paste_back, person_example, to_tensor

__all__ = ["DEFAULT_SWAP_WEIGHTS", "GARMENT_MARGIN", "FEATHER", "alpha_limit", "load_generator",
           "GarmentSwapper",
           "swap_parts", "swap_garment"]

#: Registry name of the trained generator the kit ships (half precision).
DEFAULT_SWAP_WEIGHTS = "ccp_cagan"
#: How far α may reach past the person's garment, as a fraction of the garment box's longer
#: side: this much at the sides and below (a wider or longer article), a third of it above
#: (the neckline, under the face and hair). Chosen on validation cross swaps: the largest margin
#: whose spill stays at most 8 % of the changed pixels in nine swaps of ten (0, 0.01, 0.02, 0.03,
#: 0.05, 0.1 and 0.2 tried); the feather adds its own width beyond it.
GARMENT_MARGIN = 0.01
#: The limit's soft edge: α fades from its value to 0 over this fraction of the garment box's
#: longer side beyond the grown garment (the paste-back's feather).
FEATHER = 0.03


def alpha_limit(mask: np.ndarray, margin: float = GARMENT_MARGIN,
                feather: float = FEATHER) -> np.ndarray:
    """Float H×W in 0..1: 1 on the garment ``mask`` (bool) grown by ``margin`` of its box's longer
    side at the sides and below and by a third of that above, then falling linearly to 0 over
    ``feather`` of that side; exactly 0 beyond."""
    mask = np.asarray(mask, bool)
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return np.zeros(mask.shape, np.float32)
    side = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
    r, up = int(round(margin * side)), int(round(margin * side / 3))
    grown = mask.astype(np.uint8)
    if r > 0:  # a disc of radius r whose upper part is cut at `up` rows
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        disc[: r - up] = 0  # rows above the centre; dilation reflects the kernel: these reach down
        grown = cv2.dilate(grown, disc[::-1, ::-1].copy(), anchor=(r, r))
    dist = cv2.distanceTransform((1 - grown).astype(np.uint8), cv2.DIST_L2, 5)
    width = max(feather * side, 1.0)
    return np.clip(1 - dist / width, 0, 1).astype(np.float32)


def load_generator(weights: str | Path | torch.nn.Module | None = None,
                   device: Any = None) -> CAGANGenerator:
    """The generator in eval mode: a module as it is, a registry name, or a file (a training
    run's ``last.pt`` / ``best.pt`` or an exported half-precision state dict)."""
    from fsutils import env

    dev = torch.device(device) if device is not None else env.device()
    if isinstance(weights, torch.nn.Module):
        return weights.to(dev).eval()
    name = weights or DEFAULT_SWAP_WEIGHTS
    if name == DEFAULT_SWAP_WEIGHTS and name not in W.REGISTRY:
        raise FileNotFoundError(
            f"no trained garment-swap generator is registered as {DEFAULT_SWAP_WEIGHTS!r} in this "
            "version of the kit; train one with `python -m fsutils.train swap --ccp-root "
            "DIR --out runs/cagan` and pass weights='runs/cagan/last.pt' (or its export).")
    return generator_from_state_dict(W.read_state_dict(name)).to(dev).eval()


def _mask_at(photo: np.ndarray, mask: Any | None, segmenter: Any | None,
             detector: Any | None) -> np.ndarray:
    if mask is None:  # the upper garment through whichever model finds it (fsutils.sources)
        from fsutils import stages
        from fsutils.sources import GarmentNotFound, choose_mask

        if detector is None and segmenter is None:
            detector = stages.default_instances()
        segmenter = segmenter or stages.default_segmenter()
        labels = np.asarray((segmenter.predict if hasattr(segmenter, "predict") else segmenter)(photo))
        items = ((lambda: stages.instances(detector, fio.to_pil(photo)))  # only when needed
                 if detector is not None else ())
        try:
            mask = choose_mask(labels, items, (UPPER,)).mask
        except GarmentNotFound as e:
            raise GarmentNotFound(f"{str(e).rstrip('.')}, or give its mask with garment_mask=, or "
                                  "a photo where the top is visible.") from None
    mask = np.asarray(mask)
    if mask.shape != photo.shape[:2]:
        raise ValueError(f"the garment mask is {mask.shape[:2]}, the photo {photo.shape[:2]}; give "
                         "a mask at the photo's size.")
    mask = mask > (127 if mask.dtype == np.uint8 else 0.5)
    if not mask.any():
        raise ValueError("no upper-body garment was found in the person photo; give its mask "
                         "with garment_mask=, or a photo where the top is visible.")
    return mask


def swap_parts(person_photo: Any, article_image: Any, *, weights: Any = None,
               garment_mask: Any | None = None, article_mask: Any | None = None,
               segmenter: Any | None = None, detector: Any | None = None,
               size: tuple[int, int] = SIZE, device: Any = None,
               garment_margin: float | None = GARMENT_MARGIN) -> dict[str, np.ndarray]:
    """Everything a swap computes: the crop-size ``x_i``, ``y_i``, ``y_j``, ``alpha`` (H×W, the
    generator's mask times the ``limit``), ``alpha_raw`` (the generator's own), ``limit``
    (:func:`alpha_limit`; all ones with ``garment_margin=None``), ``x_tilde`` and ``swap`` (float
    0..1), the person's garment ``mask`` in the crop (bool), the article's ``y_j_mask``, the
    crop's ``matrix`` and the full-size ``result``. Arguments as :func:`swap_garment`."""
    if garment_margin is not None and garment_margin < 0:
        raise ValueError(f"garment_margin must be ≥ 0 (or None: no limit), got {garment_margin}")
    photo = fio.to_uint8(fio.to_float(person_photo))
    article = fio.to_uint8(fio.to_float(article_image))
    amask = np.ones(article.shape[:2], bool) if article_mask is None else np.asarray(article_mask) > 0
    if amask.shape != article.shape[:2] or not amask.any():
        raise ValueError("article_mask must be a non-empty mask at the article image's size.")
    G = load_generator(weights, device)  # refuses a missing generator before any segmentation
    ex = person_example(photo, _mask_at(photo, garment_mask, segmenter, detector), size)
    y_j, y_j_mask = flat_lay(article, amask, size)
    dev = next(G.parameters()).device
    batch = [to_tensor(a)[None].to(dev) for a in (ex.person, ex.article, y_j)]
    with torch.inference_mode():
        out = G(*batch)
    raw = out.alpha[0, 0].float().cpu().numpy()
    limit = (np.ones_like(raw) if garment_margin is None
             else alpha_limit(ex.mask, garment_margin))
    alpha = raw * limit
    x_tilde = from_tensor(out.x_tilde)
    x_i = ex.person.astype(np.float32) / 255
    result = paste_back(fio.to_float(photo), x_tilde, alpha, ex.matrix)
    return {"x_i": ex.person, "y_i": ex.article, "y_j": y_j, "alpha": alpha, "alpha_raw": raw,
            "limit": limit, "x_tilde": x_tilde, "swap": alpha[..., None] * x_tilde
            + (1 - alpha[..., None]) * x_i, "mask": ex.mask, "y_j_mask": y_j_mask,
            "matrix": ex.matrix, "result": result}


def swap_garment(person_photo: Any, article_image: Any, *, weights: Any = None,
                 garment_mask: Any | None = None, article_mask: Any | None = None,
                 segmenter: Any | None = None, detector: Any | None = None,
                 size: tuple[int, int] = SIZE, device: Any = None,
                 garment_margin: float | None = GARMENT_MARGIN) -> Image.Image:
    """Put the garment of ``article_image`` on the person of ``person_photo``.

    Args:
        person_photo: the person (PIL image, path or array); their upper-body garment is replaced.
        article_image: the new garment, best a flat-lay or product photo on a plain light
            background; with ``article_mask`` (bool, at its size) only those pixels are used,
            so a garment can be taken from another person photo.
        weights: the generator: a registry name, a file from ``python -m fsutils.train
            swap`` (or its export), or a module; default :data:`DEFAULT_SWAP_WEIGHTS`.
        garment_mask: the person's garment (bool H×W at the photo's size); default the
            upper-body garment through whichever model finds it (:mod:`fsutils.sources`): the
            cloth segmenter's upper-body class (``segmenter``, default
            :class:`fsutils.segment.ClothSegmenter`), else the garment detector's top or outer
            garment (``detector``, default :class:`fsutils.instances.InstanceSegmenter` when
            neither model is given; a coat over a dress is full body to the cloth model). When
            neither finds one, :class:`fsutils.sources.GarmentNotFound` says so in one line.
        size: the crop (height, width) the generator works at; the trained size.
        garment_margin: α is kept on the person's garment grown by this fraction of its box's
            longer side (:func:`alpha_limit`; default :data:`GARMENT_MARGIN`); ``None`` leaves
            the generator's α as it is.

    Returns:
        The full photo (PIL, RGB) with the swap computed at the crop's size and pasted back
        through the generator's mask α (limited to the garment).
    """
    parts = swap_parts(person_photo, article_image, weights=weights, garment_mask=garment_mask,
                       article_mask=article_mask, segmenter=segmenter, detector=detector,
                       size=size, device=device, garment_margin=garment_margin)
    return fio.to_pil(parts["result"])


class GarmentSwapper:
    """The garment swap as a predictor, like :class:`~fsutils.segment.ClothSegmenter`: the
    generator is loaded once (``weights`` as :func:`load_generator` takes them, on ``device``),
    then each :meth:`predict` only runs it.

    >>> swapper = GarmentSwapper()                        # the shipped generator    # doctest: +SKIP
    >>> swapper.predict(person_photo, article_image)      # PIL image                # doctest: +SKIP
    """

    def __init__(self, weights: str | Path | torch.nn.Module | None = None, device: Any = None, *,
                 size: tuple[int, int] = SIZE, garment_margin: float | None = GARMENT_MARGIN):
        if garment_margin is not None and garment_margin < 0:
            raise ValueError(f"garment_margin must be ≥ 0 (or None: no limit), got {garment_margin}")
        self.generator = load_generator(weights, device)
        self.size, self.garment_margin = size, garment_margin

    def parts(self, person_photo: Any, article_image: Any, **masks: Any) -> dict[str, np.ndarray]:
        """Everything the swap computes (:func:`swap_parts`); ``masks``: ``garment_mask``,
        ``article_mask``, ``segmenter``, ``detector`` as :func:`swap_garment` takes them."""
        return swap_parts(person_photo, article_image, weights=self.generator, size=self.size,
                          garment_margin=self.garment_margin, **masks)

    def predict(self, person_photo: Any, article_image: Any, **masks: Any) -> Image.Image:
        """The person photo wearing the article's garment (:func:`swap_garment`)."""
        return fio.to_pil(self.parts(person_photo, article_image, **masks)["result"])
