"""Cross swaps: each person of a split wears another photo's annotated upper-body garment.

The known-answer test (:mod:`fsutils.evaluation.swap`) recolours a person's own garment, so the
garment's shape never changes. A user swaps *another person's* garment; nobody knows the right
answer then, but four things can be measured on the full photo, against the annotations:

- ``spill``: the share of the changed pixels (some channel moved by more than :data:`CHANGED`)
  that lie outside the person's annotated garments of the upper body (the upper-body class and
  the full-body one: CCP counts a coat worn over a shirt as full body, and the kit's detector
  rightly swaps the coat) dilated by :data:`SPILL_MARGIN` of the garment box's longer side
  (changes just past the annotated edge are a slightly longer or wider article, not a smear);
- ``colour_moved``: how far the garment's mean Lab colour moved from the person's toward the
  article's, projected on that line (0: not at all, 1: all the way);
- ``coverage``: the share of the person's annotated garment whose pixels now look more like the
  article (nearest colour of its palette) than like what was there;
- ``sharpness``: the garment's high-frequency energy (mean ``|Laplacian|`` of Lab lightness inside
  the annotation, edges left out) against the article's in its own photo (1: as sharp).

``colour_moved`` and ``coverage`` need the two garments to differ: a pair whose mean colours are
closer than :data:`MIN_COLOUR_GAP` (Lab ΔE) is left out of those two. A swap the kit refuses
(no garment found on the person) is a refusal, counted apart.

The pairing is fixed: person ``k`` of the ``n`` photos wears the garment of photo
``(k + n // 2) mod n`` (:func:`cross_pairs`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

__all__ = ["CHANGED", "SPILL_MARGIN", "MIN_COLOUR_GAP", "cross_pairs", "dilate", "changed",
           "near_garment", "spill", "colour_moved", "coverage", "high_frequency", "sharpness", "cross_figures",
           "CrossScores", "cross_table", "cross_fields"]

#: A pixel has changed when one of its channels moved by more than this (0..1; about 25/255).
CHANGED = 0.1
#: Changes within this fraction of the annotated garment box's longer side of the garment are
#: not spill.
SPILL_MARGIN = 0.05
#: Pairs whose garments' mean Lab colours are closer than this ΔE are left out of
#: ``colour_moved`` and ``coverage`` (there is no colour to move).
MIN_COLOUR_GAP = 10.0
#: Article pixels sampled as its palette for ``coverage``.
PALETTE = 256


def cross_pairs(ids: list[str]) -> list[tuple[str, str]]:
    """``(person, article)`` ids: person ``k`` wears the garment of photo ``(k + n // 2) mod n``
    (each photo once as a person and once as an article; none wears its own)."""
    n = len(ids)
    if n < 2:
        return []
    return [(ids[k], ids[(k + n // 2) % n]) for k in range(n)]


def dilate(mask: np.ndarray, radius: float) -> np.ndarray:
    """``mask`` (bool) grown by ``radius`` pixels with a disc."""
    r = int(round(radius))
    m = np.asarray(mask, np.uint8)
    if r < 1:
        return m > 0
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(m, disc) > 0


def _box_side(mask: np.ndarray) -> int:
    ys, xs = np.nonzero(mask)
    return int(max(ys.max() - ys.min(), xs.max() - xs.min()) + 1) if len(ys) else 0


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2Lab)


def changed(result: np.ndarray, photo: np.ndarray, threshold: float = CHANGED) -> np.ndarray:
    """Bool H×W: pixels where some channel of ``result`` differs from ``photo`` (float 0..1) by
    more than ``threshold``."""
    return np.abs(np.asarray(result, np.float32) - photo).max(-1) > threshold


def near_garment(garment: np.ndarray, margin: float = SPILL_MARGIN) -> np.ndarray:
    """``garment`` (bool) grown by ``margin`` of its box's longer side: changes there are no spill."""
    return dilate(garment, margin * _box_side(garment))


def spill(result: np.ndarray, photo: np.ndarray, garment: np.ndarray,
          margin: float = SPILL_MARGIN) -> float:
    """Share of the changed pixels outside ``garment`` (bool) grown by ``margin`` of its box's
    longer side; 0 when nothing changed."""
    moved = changed(result, photo)
    n = int(moved.sum())
    if not n:
        return 0.0
    return float((moved & ~near_garment(garment, margin)).sum() / n)


def _gap(photo: np.ndarray, garment: np.ndarray, article: np.ndarray,
         article_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = _lab(photo)[garment].mean(0)
    return p, _lab(article)[article_mask].mean(0) - p


def colour_moved(result: np.ndarray, photo: np.ndarray, garment: np.ndarray,
                 article: np.ndarray, article_mask: np.ndarray) -> float:
    """How far the mean Lab colour of ``garment`` moved from ``photo``'s toward the article's
    garment (``article`` float 0..1 with ``article_mask``): 1 = all the way; NaN when the two
    garments' colours are closer than :data:`MIN_COLOUR_GAP`."""
    p, d = _gap(photo, garment, article, article_mask)
    gap2 = float(d @ d)
    if gap2 < MIN_COLOUR_GAP ** 2:
        return float("nan")
    return float((_lab(result)[garment].mean(0) - p) @ d / gap2)


def coverage(result: np.ndarray, photo: np.ndarray, garment: np.ndarray, article: np.ndarray,
             article_mask: np.ndarray, seed: int = 0) -> float:
    """Share of ``garment``'s pixels whose ``result`` colour is closer (Lab) to the article's
    palette (up to :data:`PALETTE` of its garment pixels) than to the pixel's own old colour;
    NaN when the garments' mean colours are closer than :data:`MIN_COLOUR_GAP`."""
    _, d = _gap(photo, garment, article, article_mask)
    if float(d @ d) < MIN_COLOUR_GAP ** 2:
        return float("nan")
    pal = _lab(article)[article_mask]
    pal = pal[np.random.default_rng(seed).choice(len(pal), min(PALETTE, len(pal)), replace=False)]
    now, old = _lab(result)[garment], _lab(photo)[garment]
    d_old = np.linalg.norm(now - old, axis=1)
    d_new = np.full(len(now), np.inf, np.float32)
    for c in pal:  # nearest palette colour, one colour at a time (small memory)
        np.minimum(d_new, np.linalg.norm(now - c, axis=1), out=d_new)
    return float((d_new < d_old).mean())


def high_frequency(image: np.ndarray, mask: np.ndarray, edge: int = 2) -> float:
    """Mean ``|Laplacian|`` of the Lab lightness of ``image`` (float 0..1) inside ``mask`` less
    ``edge`` pixels at its border (the garment's outline is not its texture); NaN when empty."""
    inner = cv2.erode(np.asarray(mask, np.uint8), np.ones((3, 3), np.uint8),
                      iterations=edge) > 0
    if not inner.any():
        return float("nan")
    lap = cv2.Laplacian(_lab(image)[..., 0], cv2.CV_32F, ksize=3)
    return float(np.abs(lap[inner]).mean())


def sharpness(result: np.ndarray, garment: np.ndarray, article: np.ndarray,
              article_mask: np.ndarray) -> float:
    """:func:`high_frequency` of the swapped garment against the article's in its own photo."""
    ref = high_frequency(article, article_mask)
    return float(high_frequency(result, garment) / ref) if ref > 0 else float("nan")


def cross_figures(result: np.ndarray, photo: np.ndarray, garment: np.ndarray,
                  article: np.ndarray, article_mask: np.ndarray,
                  worn: np.ndarray | None = None) -> dict[str, float]:
    """The four figures of one cross swap (images float 0..1 at their photos' sizes, masks the
    annotated upper-body garments): ``spill``, ``colour_moved``, ``coverage``, ``sharpness``;
    ``worn`` (default ``garment``): the garments whose changes are not spill."""
    garment, article_mask = np.asarray(garment, bool), np.asarray(article_mask, bool)
    worn = garment if worn is None else np.asarray(worn, bool) | garment
    return {"spill": spill(result, photo, worn),
            "colour_moved": colour_moved(result, photo, garment, article, article_mask),
            "coverage": coverage(result, photo, garment, article, article_mask),
            "sharpness": sharpness(result, garment, article, article_mask)}


@dataclass
class CrossScores:
    """Per-swap figures of the cross swaps, and the refused ``(person, article, reason)``."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, person: str, article: str, figures: dict[str, float]) -> None:
        self.rows.append({"person": person, "article": article, **figures})

    def run(self, pairs: list[tuple[str, str]],
            load: Callable[[str], tuple[np.ndarray, np.ndarray, np.ndarray]],
            swap: Callable[[str, np.ndarray, np.ndarray, np.ndarray], np.ndarray],
            refusals: tuple[type[Exception], ...] = (ValueError,)) -> CrossScores:
        """Score ``pairs``: ``load(id)`` gives a photo (float 0..1), its annotated upper-body
        garment and the garments whose changes are not spill (:func:`cross_figures`),
        ``swap(person_id, photo, article, article_mask)`` the full-size result; ``refusals``
        raised by ``swap`` are counted as refusals."""
        for person, article in pairs:
            photo, garment, worn = load(person)
            art, art_mask, _ = load(article)
            try:
                result = swap(person, photo, art, art_mask)
            except refusals as e:
                self.refused.append((person, article, str(e).splitlines()[0]))
                continue
            self.add(person, article, cross_figures(result, photo, garment, art, art_mask, worn))
        return self

    def summary(self) -> dict[str, float]:
        """``swaps``, ``refused``, ``spill_median``, ``spill_p90``, ``colour_moved_median``,
        ``coverage_median``, ``sharpness_median``, ``colour_pairs`` (pairs with a colour gap)."""
        def col(k: str) -> np.ndarray:
            return np.array([r[k] for r in self.rows], float)

        def stat(k: str, q: float = 50) -> float:
            v = col(k)
            v = v[~np.isnan(v)]
            return float(np.percentile(v, q)) if len(v) else float("nan")

        return {"swaps": len(self.rows), "refused": len(self.refused),
                "spill_median": stat("spill"), "spill_p90": stat("spill", 90),
                "colour_moved_median": stat("colour_moved"), "coverage_median": stat("coverage"),
                "sharpness_median": stat("sharpness"),
                "colour_pairs": int((~np.isnan(col("colour_moved"))).sum()) if self.rows else 0}


def cross_table(s: dict[str, float]) -> list[str]:
    """Markdown lines: the cross swaps' summary (:meth:`CrossScores.summary`)."""
    return [f"cross swaps: {s['swaps']} scored, {s['refused']} refused; colour_moved and coverage "
            f"over the {s['colour_pairs']} pairs whose garments differ in colour", "",
            "| spill, median | spill, 90th percentile | colour_moved, median | coverage, median "
            "| sharpness, median |", "|---|---|---|---|---|",
            f"| {s['spill_median']:.3f} | {s['spill_p90']:.3f} | {s['colour_moved_median']:.3f} "
            f"| {s['coverage_median']:.3f} | {s['sharpness_median']:.3f} |"]


def cross_fields(s: dict[str, float]) -> str:
    """``spill_p90=<f> colour_moved_median=<f> coverage_median=<f>`` (the last line's tail)."""
    return (f"spill_p90={s['spill_p90']:.4f} colour_moved_median={s['colour_moved_median']:.4f} "
            f"coverage_median={s['coverage_median']:.4f}")
