"""Bundled people and articles for garment swaps (no dataset needed).

The kit's sample photos come with their annotations (:func:`fsutils.evaluation.placement.sample_groundtruth`),
so each sample whose upper-body garment is large enough is both a person to dress and, cut out on
white, an article to put on someone else. A painting cut to the shape of one of those garments
gives a patterned article.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fsutils import io as fio

from .data import UPPER, flat_lay, garment_mask

#: A sample is offered as a person and as an article when its top covers this fraction of the
#: photo (the others show a sliver of a top under a coat or a dress).
MIN_SAMPLE_FRACTION = 0.04
#: The sample whose top gives the painted articles their shape (a plain shirt, seen whole).
PAINTED_SHAPE = "ccp_0500"

__all__ = ["MIN_SAMPLE_FRACTION", "Article", "sample_people", "sample_person", "sample_article", "painted_article",
           "sample_articles"]


@dataclass
class Article:
    """A garment to put on: ``image`` (uint8 H×W×3, on white) and its ``mask`` (bool H×W)."""

    image: np.ndarray
    mask: np.ndarray


def sample_person(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A bundled sample photo (uint8 H×W×3) and its annotated upper-body garment (bool H×W)."""
    from fsutils.evaluation.placement import sample_groundtruth

    photo = np.asarray(fio.load_image(fio.sample_path(name)))
    return photo, garment_mask(sample_groundtruth(name), (UPPER,))


def sample_people() -> list[str]:
    """The bundled sample photos whose upper-body garment covers at least
    :data:`MIN_SAMPLE_FRACTION` of the photo (names like ``"ccp_0001"``)."""
    from fsutils.evaluation.placement import sample_groundtruth

    names = [p.stem for p in fio.sample_photos()]
    return [n for n in names if garment_mask(sample_groundtruth(n), (UPPER,)).mean()
            >= MIN_SAMPLE_FRACTION]


def sample_article(name: str, size: tuple[int, int] = (256, 192)) -> Article:
    """The upper-body garment of the bundled sample ``name`` cut out and centred on white
    (``size`` = height, width), the flat-lay the generator was trained with."""
    photo, mask = sample_person(name)
    return Article(*flat_lay(photo, mask, size))


def painted_article(painting: str, shape_of: str, size: tuple[int, int] = (256, 192)) -> Article:
    """A garment of the shape of sample ``shape_of``'s top, cut out of the bundled painting
    ``painting`` (a name of :func:`fsutils.io.sample_styles`): a patterned article on white."""
    shape = sample_article(shape_of, size)
    art = fio.load_image(fio.sample_path(painting))
    h, w = size
    scale = max(w / art.width, h / art.height)
    art = art.resize((max(w, round(art.width * scale)), max(h, round(art.height * scale))))
    left, top = (art.width - w) // 2, (art.height - h) // 2
    texture = fio.to_uint8(fio.to_float(art.crop((left, top, left + w, top + h))))
    image = np.where(shape.mask[..., None], texture, 255).astype(np.uint8)
    return Article(image, shape.mask.copy())


@lru_cache(maxsize=2)
def sample_articles(size: tuple[int, int] = (256, 192)) -> dict[str, Article]:
    """The bundled articles by name: each sample person's top (``"top of ccp_0001"`` …) and a few
    paintings cut to a top's shape (``"mondrian top"`` …). Made once per ``size`` and shared:
    the arrays are read-only."""
    out = {f"top of {n}": sample_article(n, size) for n in sample_people()}
    for painting in ("mondrian", "starry_night_vangogh", "great_wave_hokusai"):
        out[f"{painting.split('_')[-1]} top"] = painted_article(painting, PAINTED_SHAPE, size)
    for article in out.values():
        article.image.setflags(write=False)
        article.mask.setflags(write=False)
    return out
