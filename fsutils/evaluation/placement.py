"""Where the style lands, measured against ground truth: coverage, leakage and edge contrast.

A blend puts a share ``w`` of the style into each pixel: ``result = C + w·(S − C)``. For the weight
modes ``w`` is their weight map; for any result (Poisson blending too) :func:`style_share` reads it
back from the images, as the projection of ``result − C`` on ``S − C``, on the pixels where the
stylised image differs from the photo. Against a true garment mask ``G``:

* **coverage** — the style the true garments received: ``Σ_G w / |G|`` (1 = all of them, fully);
* **leakage** — the share of all the style that fell outside them (skin, hair, background, shoes,
  tights …): ``Σ_¬G w / Σ w`` (0 = none; undefined without any style);
* **edge contrast** — in a band of ``band`` px on each side of the true garment boundary, the mean
  share on the garment side minus that on the other side (``edge_in − edge_out``): 1 when the style
  stops exactly at the true edge, 0 both for no style at all and for style everywhere, negative
  when the style sits on the wrong side. Unlike :func:`fsutils.blend.seam_score`, it does not
  reward leaving the photo alone.

:func:`evaluate_blend` runs the kit's pipeline (default segmenter and saliency, a fast style) over
a Clothing Co-Parsing split and pools these sums over the photos for every blend mode; the command
is ``python -m fsutils.evaluate blend --ccp-root DIR``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..blend import MODES, BlendParams, boundary_band

__all__ = ["MIN_STYLE_DIFFERENCE", "SKIN", "Placement", "style_share", "placement",
           "sample_groundtruth", "garment_skin_edge", "photo_placement", "evaluate_blend", "placement_table"]

#: Value of the skin pixels in :func:`sample_groundtruth` (0–3 are the kit's classes).
SKIN = 4

#: Pixels where the stylised image is closer than this to the photo (Euclidean RGB distance, images
#: in 0..1) carry no measurable style and are left out.
MIN_STYLE_DIFFERENCE = 0.1


def style_share(content: np.ndarray, stylized: np.ndarray, result: np.ndarray,
                min_difference: float = MIN_STYLE_DIFFERENCE) -> tuple[np.ndarray, np.ndarray]:
    """How much of the style each pixel of ``result`` received, and where that can be measured.

    Returns ``(w, valid)``: ``w`` = ``⟨result − C, S − C⟩ / |S − C|²`` clipped to 0..1 (float32 H×W;
    exactly the weight ``W`` of a blend ``C + W·(S − C)``), and ``valid`` = the pixels where
    ``|S − C| > min_difference`` (``w`` is 0 elsewhere).
    """
    c, s, r = (np.asarray(a, np.float32) for a in (content, stylized, result))
    if not (c.shape == s.shape == r.shape) or c.ndim != 3:
        raise ValueError(f"content {c.shape}, stylized {s.shape} and result {r.shape} must be "
                         "H×W×3 images of the same size.")
    d = s - c
    n2 = (d * d).sum(axis=2)
    valid = n2 > np.float32(min_difference) ** 2
    w = np.zeros(n2.shape, np.float32)
    w[valid] = ((r - c) * d).sum(axis=2)[valid] / n2[valid]
    return np.clip(w, 0.0, 1.0, out=w), valid


@dataclass(frozen=True)
class Placement:
    """Pooled sums of :func:`placement` (add them over photos with ``+``), and the scores."""

    on_garment: float = 0.0      # Σ w over true-garment pixels
    garment_pixels: int = 0      # their number
    total: float = 0.0           # Σ w over all measured pixels
    edge_in: float = 0.0         # Σ w on the garment side of the boundary band
    edge_in_pixels: int = 0
    edge_out: float = 0.0        # Σ w on the other side of the band
    edge_out_pixels: int = 0

    def __add__(self, other: "Placement") -> "Placement":
        return Placement(*(a + b for a, b in zip(self._values(), other._values())))

    def _values(self) -> tuple:
        return (self.on_garment, self.garment_pixels, self.total, self.edge_in,
                self.edge_in_pixels, self.edge_out, self.edge_out_pixels)

    @property
    def coverage(self) -> float:
        return self.on_garment / self.garment_pixels if self.garment_pixels else float("nan")

    @property
    def leakage(self) -> float:
        return (self.total - self.on_garment) / self.total if self.total > 0 else float("nan")

    @property
    def edge_contrast(self) -> float:
        if not (self.edge_in_pixels and self.edge_out_pixels):
            return float("nan")
        return self.edge_in / self.edge_in_pixels - self.edge_out / self.edge_out_pixels

    def scores(self) -> dict[str, float]:
        """``coverage``, ``leakage``, ``edge_in``, ``edge_out`` and ``edge_contrast``."""
        nan = float("nan")
        return {"coverage": self.coverage, "leakage": self.leakage,
                "edge_in": self.edge_in / self.edge_in_pixels if self.edge_in_pixels else nan,
                "edge_out": self.edge_out / self.edge_out_pixels if self.edge_out_pixels else nan,
                "edge_contrast": self.edge_contrast}


def placement(share: np.ndarray, valid: np.ndarray, truth: np.ndarray, band: int = 8) -> Placement:
    """The sums of one photo: ``share`` and ``valid`` from :func:`style_share`, ``truth`` the true
    garment mask (bool H×W), ``band`` the half-width in px of the band around the true boundary."""
    w = np.asarray(share, np.float64)
    valid = np.asarray(valid, bool)
    g = np.asarray(truth, bool)
    if not (w.shape == valid.shape == g.shape):
        raise ValueError(f"share {w.shape}, valid {valid.shape} and truth {g.shape} must have the "
                         "same H×W size; resize the ground truth to the result (nearest).")
    near = boundary_band(g, band) & valid
    inside, outside = near & g, near & ~g
    return Placement(on_garment=float(w[g & valid].sum()), garment_pixels=int((g & valid).sum()),
                     total=float(w[valid].sum()), edge_in=float(w[inside].sum()),
                     edge_in_pixels=int(inside.sum()), edge_out=float(w[outside].sum()),
                     edge_out_pixels=int(outside.sum()))


def sample_groundtruth(name: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """The annotation of a bundled sample photo (``"ccp_0001"`` …): uint8 H×W with the kit's
    classes 0–3 and :data:`SKIN` (4) where the annotation says skin (CCP label ``skin``; otherwise
    part of class 0). At the photo's size, or resized to ``size = (width, height)`` (nearest), e.g.
    the pipeline's working size. Bundled with the photos, so no dataset is needed."""
    from PIL import Image

    from ..io import SAMPLES_DIR

    path = SAMPLES_DIR / "groundtruth" / f"{Path(name).stem}.png"
    if not path.is_file():
        have = sorted(q.stem for q in path.parent.glob("*.png"))
        raise FileNotFoundError(f"no bundled annotation for {name!r}; there is one for "
                                f"{', '.join(have)}.")
    img = Image.open(path).convert("L")
    if size is not None and tuple(size) != img.size:
        img = img.resize(tuple(size), Image.Resampling.NEAREST)
    return np.asarray(img)


def garment_skin_edge(labels: np.ndarray, garments: Iterable[int] | None = None,
                      band: int = 3) -> np.ndarray:
    """Bool H×W: the pixels within ``band`` px of where a chosen garment (``garments``, default
    every garment class) meets skin in an annotation with :data:`SKIN` (see
    :func:`sample_groundtruth`)."""
    import cv2

    lab = np.asarray(labels)
    garment = np.isin(lab, tuple(_garments(garments)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    near_skin = cv2.dilate((lab == SKIN).astype(np.uint8), kernel).astype(bool)
    near_garment = cv2.dilate(garment.astype(np.uint8), kernel).astype(bool)
    return boundary_band(garment, band) & near_skin & near_garment


def photo_placement(content: np.ndarray, stylized: np.ndarray, results: Mapping[str, np.ndarray],
                    truth: np.ndarray, band: int = 8) -> dict[str, Placement]:
    """The :class:`Placement` of each result (``{mode: image}``) of one photo against the true
    garment mask ``truth`` (bool H×W); ``.scores()`` gives the numbers."""
    out = {}
    for mode, result in results.items():
        share, valid = style_share(content, stylized, result)
        out[mode] = placement(share, valid, truth, band)
    return out


def _garments(garments: Iterable[int] | None) -> Iterable[int]:
    """``garments``, or every garment class (:data:`fsutils.segment.GARMENT_CLASSES`) for None."""
    if garments is not None:
        return garments
    from ..segment import GARMENT_CLASSES  # imports torch: only when needed

    return GARMENT_CLASSES


def _pipeline(size: int, segment_weights: str | None, device: Any):
    """The kit's pipeline at ``size`` px: its default cloth model (or ``segment_weights``), U2NETP
    saliency and the fast styles, all on ``device`` (None: the best available)."""
    from ..pipeline import Pipeline
    from ..saliency import SaliencyModel
    from ..segment import DEFAULT_CLOTH_WEIGHTS, ClothSegmenter
    from ..style.fast import fast_stylize

    def fast(content, style, **_):  # at the size the pipeline gives
        return fast_stylize(content, style, device=device)

    return Pipeline(ClothSegmenter(segment_weights or DEFAULT_CLOTH_WEIGHTS, device),
                    SaliencyModel("u2netp", device), stylers={"fast": fast}, photo_size=size)


def evaluate_blend(ccp_root: str | Path, split: str = "val", *, modes: Sequence[str] = MODES,
                   params: BlendParams | None = None, style: str = "candy", photo_size: int = 512,
                   band: int = 8, garments: Iterable[int] | None = None,
                   segment_weights: str | None = None, max_images: int | None = None,
                   pipeline=None, device: Any = None, progress: bool = True,
                   skipped: list[tuple[Path, str]] | None = None) -> dict:
    """Every blend ``mode`` on the photos of a CCP ``split``: pooled :class:`Placement` per mode.

    Each photo goes through a :class:`fsutils.pipeline.Pipeline` (the kit's default segmenter and
    saliency on ``device`` unless ``segment_weights`` or a ready ``pipeline`` is given) at
    ``photo_size`` px, is stylised with the fast model ``style``, and blended into the chosen
    ``garments`` (all three garment classes by default) by each mode with ``params`` (their defaults
    otherwise). The true mask is the CCP annotation of those classes, resized with the photo to
    the working size (nearest); an annotation of another size than its photo is refused, never
    stretched.

    A photo that cannot be read or evaluated raises, or with a ``skipped`` list is appended to it
    and left out (:func:`fsutils.evaluation.photos.evaluate_photos`); ``images`` counts the photos scored.
    Photos without any annotated garment of ``garments`` raise
    :class:`~fsutils.evaluation.photos.NothingToScore` (coverage and edges are undefined).
    """
    from PIL import Image

    from .. import data
    from .photos import NothingToScore, evaluate_photos, select_ids
    from .segmentation import no_garment

    for m in modes:
        BlendParams(m)  # refuse unknown modes before any work
    base = params or BlendParams()
    cls = tuple(sorted(set(_garments(garments))))
    ids = select_ids(ccp_root, split, max_images)
    lookup = data.label_lookup(data.read_label_names(ccp_root))
    pipe = pipeline or _pipeline(photo_size, segment_weights, device)

    def one(image_id: str, photo: Image.Image, groundtruth: np.ndarray) -> dict[str, Placement]:
        pipe.set_image(photo)
        h, w = pipe.content.shape[:2]
        labels = Image.fromarray(lookup[groundtruth]).resize((w, h), Image.Resampling.NEAREST)
        truth = np.isin(np.asarray(labels), cls)
        stylized = pipe.stylize("fast", style)
        out = {}
        for m in modes:
            share, valid = style_share(pipe.content, stylized, pipe.blend(base.replace(mode=m), garments=cls))
            out[m] = placement(share, valid, truth, band)
        return out

    per_photo = evaluate_photos(ccp_root, ids, one, skipped=skipped, progress=progress,
                                     desc="blend evaluation")
    totals = {m: sum((p[m] for p in per_photo), Placement()) for m in modes}
    if not any(t.garment_pixels for t in totals.values()):
        raise NothingToScore(no_garment(len(per_photo), "no blend has a garment to cover"))
    return {"split": split, "images": len(per_photo), "style": style,
            "photo_size": photo_size, "band": band, "garments": cls, "params": base, "placement": totals}


def placement_table(placements: Mapping[str, Placement]) -> list[str]:
    """``{mode: Placement}`` (e.g. ``evaluate_blend(...)["placement"]``) as the lines of a Markdown
    table, one row per mode."""
    from ..blend import MODE_TITLES

    lines = ["| mode | | coverage ↑ | leakage ↓ | edge in ↑ | edge out ↓ | edge contrast ↑ |",
             "|---|---|---|---|---|---|---|"]
    for m, p in placements.items():
        s = p.scores()
        lines.append(f"| `{m}` | {MODE_TITLES.get(m, m)} | {s['coverage']:.3f} | {s['leakage']:.3f} | "
                     f"{s['edge_in']:.3f} | {s['edge_out']:.3f} | {s['edge_contrast']:.3f} |")
    return lines
