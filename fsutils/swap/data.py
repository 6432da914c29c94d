"""Garment-swap training triplets from Clothing Co-Parsing.

No try-on data set (a person photo paired with a product photo of the garment) is obtainable
here, so each CCP photo gives both: the person crop ``x_i`` around the upper-body garment(s),
and ``y_i``, that garment cut out with its annotation and centred on white — a flat-lay
stand-in for a product photo — with its own small random affine jitter, so that the network
cannot copy pixels from ``y_i`` to ``x_i``. ``y_j`` is the same from another photo of the same
split. Photos are split by :func:`fsutils.data.split_of` (the test split is used for no choice).

Geometry: one crop is one similarity transform (scale, then shift) of the full photo, kept as a
2×3 matrix, so a result at crop size can be pasted back exactly (:func:`paste_back`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from fsutils import data as ccp

__all__ = ["SIZE", "UPPER", "MARGIN", "ARTICLE_PAD", "Jitter", "Example", "garment_mask",
           "crop_matrix", "crop", "paste_back", "flat_lay", "person_example", "jitter_article",
           "Triplet", "make_triplet", "to_tensor", "from_tensor", "ccp_examples", "SwapDataset"]

#: Crop size (height, width): 128×96 keeps the upper body's portrait shape (4:3) and one
#: batch-16 step of the 32-channel U-Net at a few seconds on a laptop CPU; divisible by 16 for
#: the generator's four down-samplings.
SIZE: tuple[int, int] = (128, 96)
#: The kit class the swap works on: 1, upper body (see :data:`fsutils.segment.CLASS_NAMES`).
UPPER = 1
#: Context kept around the garment's box in the person crop, as a fraction of the box.
MARGIN = 0.15
#: White border around the flat-lay article, as a fraction of the crop.
ARTICLE_PAD = 0.08
#: A garment smaller than this fraction of the photo is not used (a sliver under a coat …).
MIN_GARMENT_FRACTION = 0.01


@dataclass(frozen=True)
class Jitter:
    """The flat-lay article's random affine: rotation (degrees), scale and shift (fraction of
    the crop), each drawn uniformly in ±the value."""

    rotate: float = 6.0
    scale: float = 0.06
    shift: float = 0.05


@dataclass
class Example:
    """One photo's swap data at crop size: ``person`` (H×W×3 uint8) with its garment ``mask``
    (H×W bool), the flat-lay ``article`` (H×W×3 uint8 on white, not jittered) with its
    ``article_mask``, and ``matrix``, the 2×3 map from photo to crop coordinates."""

    person: np.ndarray
    mask: np.ndarray
    article: np.ndarray
    article_mask: np.ndarray
    matrix: np.ndarray


def garment_mask(labels: np.ndarray, garments: tuple[int, ...] = (UPPER,)) -> np.ndarray:
    """Bool H×W: pixels of a 4-class label map whose label is one of ``garments``."""
    return np.isin(np.asarray(labels), garments)


def _box(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    if not len(ys):
        raise ValueError("the garment mask is empty: there is no garment to crop around.")
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def crop_matrix(mask: np.ndarray, size: tuple[int, int] = SIZE, margin: float = MARGIN,
                fill: float = 1.0) -> np.ndarray:
    """The 2×3 photo → crop transform that centres the box of ``mask`` in a ``size`` (H, W)
    crop: the box grown by ``margin`` on each side, widened or heightened to the crop's aspect,
    fills ``fill`` of the crop (1: edge to edge; < 1 leaves a border)."""
    h, w = size
    x0, y0, x1, y1 = _box(mask)
    bw, bh = (x1 - x0) * (1 + 2 * margin), (y1 - y0) * (1 + 2 * margin)
    scale = fill * min(h / bh, w / bw)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return np.array([[scale, 0.0, w / 2 - scale * cx], [0.0, scale, h / 2 - scale * cy]])


def crop(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int] = SIZE,
         border: float | tuple[float, ...] = 0) -> np.ndarray:
    """``image`` (H×W or H×W×C, uint8 or float) seen through ``matrix`` at ``size`` (H, W).

    Down-scaling is done first with area averaging (no aliasing), then the remaining affine
    part with bilinear interpolation; pixels outside the photo get ``border``."""
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    m = np.asarray(matrix, dtype=np.float64)
    if scale < 1.0:
        sh, sw = image.shape[:2]
        nh, nw = max(1, round(sh * scale)), max(1, round(sw * scale))
        image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        m = m @ np.diag([sw / nw, sh / nh, 1.0])  # the small image's pixel → the photo's
    border_value = border if isinstance(border, tuple) else (border,) * 4
    return cv2.warpAffine(image, m, (size[1], size[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)


def paste_back(photo: np.ndarray, image: np.ndarray, alpha: np.ndarray,
               matrix: np.ndarray) -> np.ndarray:
    """``α·image + (1 − α)·photo`` with the crop-size ``image`` (H×W×3 float 0..1) and ``alpha``
    (H×W, 0..1) mapped back through ``matrix`` onto the full ``photo`` (float 0..1); outside the
    crop, α is 0."""
    ph, pw = photo.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    big = cv2.warpAffine(np.ascontiguousarray(image, np.float32), matrix, (pw, ph), flags=flags,
                         borderMode=cv2.BORDER_REPLICATE)
    a = cv2.warpAffine(np.ascontiguousarray(alpha, np.float32), matrix, (pw, ph), flags=flags,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)[..., None]
    return a * big + (1 - a) * photo


def flat_lay(image: np.ndarray, mask: np.ndarray, size: tuple[int, int] = SIZE,
             pad: float = ARTICLE_PAD) -> tuple[np.ndarray, np.ndarray]:
    """The garment ``mask`` of ``image`` (uint8 H×W×3) cut out, centred and scaled to fit a
    ``size`` crop on white with a ``pad`` border; returns ``(article uint8, article mask bool)``."""
    m = mask.astype(np.float32)[..., None]
    cut = (image.astype(np.float32) * m + 255.0 * (1 - m)).astype(np.uint8)
    matrix = crop_matrix(mask, size, margin=0.0, fill=1 - 2 * pad)
    article = crop(cut, matrix, size, border=(255, 255, 255))
    article_mask = crop(mask.astype(np.float32), matrix, size) > 0.5
    return article, article_mask


def person_example(photo: np.ndarray, mask: np.ndarray, size: tuple[int, int] = SIZE) -> Example:
    """The person crop around the garment ``mask`` (bool H×W at the photo's size) of ``photo``
    (uint8 H×W×3), and the garment's flat-lay."""
    photo = np.ascontiguousarray(photo, np.uint8)
    if photo.ndim != 3 or photo.shape[2] != 3 or mask.shape != photo.shape[:2]:
        raise ValueError(f"expected an H×W×3 photo and an H×W mask of the same size, got "
                         f"{photo.shape} and {mask.shape}.")
    matrix = crop_matrix(mask, size)
    person = crop(photo, matrix, size, border=(255, 255, 255))
    crop_mask = crop(mask.astype(np.float32), matrix, size) > 0.5
    article, article_mask = flat_lay(photo, mask, size)
    return Example(person, crop_mask, article, article_mask, matrix)


def _jitter_matrix(size: tuple[int, int], jitter: Jitter, rng: np.random.Generator) -> np.ndarray:
    h, w = size
    angle = rng.uniform(-jitter.rotate, jitter.rotate)
    scale = 1 + rng.uniform(-jitter.scale, jitter.scale)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += rng.uniform(-jitter.shift, jitter.shift, 2) * (w, h)
    return m


def jitter_article(article: np.ndarray, article_mask: np.ndarray, rng: np.random.Generator,
                   jitter: Jitter | None = Jitter()) -> tuple[np.ndarray, np.ndarray]:
    """The flat-lay moved by a small random affine (white fills the uncovered corners)."""
    if jitter is None:
        return article, article_mask
    size = article.shape[:2]
    m = _jitter_matrix(size, jitter, rng)
    moved = cv2.warpAffine(article, m, (size[1], size[0]), flags=cv2.INTER_LINEAR,
                           borderValue=(255, 255, 255))
    moved_mask = cv2.warpAffine(article_mask.astype(np.float32), m, (size[1], size[0])) > 0.5
    return moved, moved_mask


@dataclass
class Triplet:
    """``x_i`` (person), ``y_i`` (their article, jittered), ``y_j`` (another photo's article,
    jittered), all H×W×3 uint8, and ``mask_i``, the true garment of ``x_i``."""

    x_i: np.ndarray
    y_i: np.ndarray
    y_j: np.ndarray
    mask_i: np.ndarray


def make_triplet(a: Example, b: Example, rng: np.random.Generator,
                 jitter: Jitter | None = Jitter()) -> Triplet:
    """Person ``a`` wearing their article, and ``b``'s article to swap in."""
    y_i, _ = jitter_article(a.article, a.article_mask, rng, jitter)
    y_j, _ = jitter_article(b.article, b.article_mask, rng, jitter)
    return Triplet(a.person, y_i, y_j, a.mask)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 H×W×3 → float 3×H×W in −1..1 (the networks' range)."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 127.5 - 1


def from_tensor(x: torch.Tensor) -> np.ndarray:
    """3×H×W (or 1×3×H×W) in −1..1 → float32 H×W×3 in 0..1."""
    x = x.detach().float().cpu()
    if x.ndim == 4:
        x = x[0]
    return ((x.permute(1, 2, 0) + 1) / 2).clamp(0, 1).numpy()


def ccp_examples(root: str | Path, ids: list[str], size: tuple[int, int] = SIZE,
                 garments: tuple[int, ...] = (UPPER,), progress: bool = False
                 ) -> tuple[list[str], list[Example]]:
    """The examples of the CCP photos ``ids`` that show one of ``garments`` (label indices) covering at
    least :data:`MIN_GARMENT_FRACTION` of the photo; returns ``(kept ids, examples)``."""
    from tqdm.auto import tqdm

    lookup = ccp.label_lookup(ccp.read_label_names(root))
    kept, examples = [], []
    for i in tqdm(ids, desc="garment crops", disable=not progress):
        mask = garment_mask(ccp.load_labels(root, i, lookup), garments)
        if mask.mean() < MIN_GARMENT_FRACTION:
            continue
        kept.append(i)
        examples.append(person_example(np.asarray(ccp.load_photo(root, i)), mask, size))
    return kept, examples


class SwapDataset(Dataset):
    """Triplets of one CCP split, as tensors ``(x_i, y_i, y_j, mask_i)`` (images 3×H×W in −1..1,
    the mask 1×H×W float).

    Crops are made once and kept in memory (about 90 kB per photo at 128×96). Each item pairs
    photo ``k`` with a random other photo of the set and draws fresh jitter; with
    ``fixed=True`` (validation) the pairing and jitter depend only on ``seed`` and ``k``.
    """

    def __init__(self, root: str | Path, ids: list[str], size: tuple[int, int] = SIZE,
                 garments: tuple[int, ...] = (UPPER,), jitter: Jitter | None = Jitter(),
                 seed: int = 0, fixed: bool = False, progress: bool = False):
        self.ids, self.examples = ccp_examples(root, ids, size, garments, progress)
        if len(self.examples) < 2:
            raise ccp.CCPError(f"only {len(self.examples)} of the {len(ids)} photos show a garment "
                               f"of labels {garments}; a swap needs at least two.")
        self.jitter, self.seed, self.fixed = jitter, seed, fixed
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.examples)

    def triplet(self, k: int) -> Triplet:
        rng = np.random.default_rng((self.seed, k)) if self.fixed else self.rng
        other = int(rng.integers(len(self.examples) - 1))
        other += other >= k  # any photo but k
        return make_triplet(self.examples[k], self.examples[other], rng, self.jitter)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, ...]:
        t = self.triplet(k)
        return (to_tensor(t.x_i), to_tensor(t.y_i), to_tensor(t.y_j),
                torch.from_numpy(t.mask_i).float()[None])

    def batch(self, idx: list[int]) -> tuple[torch.Tensor, ...]:
        """Items ``idx`` stacked into a batch."""
        return tuple(torch.stack(parts) for parts in zip(*(self[k] for k in idx)))
