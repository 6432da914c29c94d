"""Garment instances of a photo: :class:`InstanceSegmenter` runs the garment Mask R-CNN
(:mod:`fsutils.models.maskrcnn`) and returns :class:`Instances`, one :class:`Instance` per item
found (class, score, box, mask at the photo's size)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

from .. import weights as W
from ..data import INSTANCE_CLASSES

__all__ = ["Instance", "Instances", "InstanceSegmenter", "DEFAULT_INSTANCE_WEIGHTS",
           "to_instances", "drop_pairs", "MASK_THRESHOLD", "PAIR_COVER", "Stages"]

#: The registry entry of the shipped garment detector.
DEFAULT_INSTANCE_WEIGHTS = "ccp_maskrcnn"
#: A pixel belongs to an instance where its mask probability is at least this.
MASK_THRESHOLD = 0.5
#: A detection is a "pair" repeat (one box around both shoes beside a box for each) when at least
#: two better detections of its class lie inside it and together cover this share of it. Chosen
#: on the validation split (shoe segm AP50 0.697 without the rule; 0.698, 0.701, 0.701, 0.700
#: at 0.6, 0.7, 0.8, 0.9).
PAIR_COVER = 0.8


@dataclass(frozen=True)
class Instance:
    """One item found in a photo: class name (of :data:`fsutils.data.INSTANCE_CLASSES`), score in
    0..1, box ``(x0, y0, x1, y1)`` in pixels and boolean H×W mask at the photo's size;
    ``probability``: the mask probability (uint8 H×W, 0..255) where the detector gives it (the
    mask is where it is at least the mask threshold), else None."""

    cls: str
    score: float
    box: tuple[float, float, float, float]
    mask: np.ndarray
    probability: np.ndarray | None = field(default=None, repr=False, compare=False)


class Instances(list):
    """The :class:`Instance` list of one photo, best score first."""

    def select(self, classes: Iterable[str] | str | None = None) -> "Instances":
        """The instances of ``classes`` (names of :data:`fsutils.data.INSTANCE_CLASSES`; all by
        default)."""
        if classes is None:
            return Instances(self)
        wanted = {classes} if isinstance(classes, str) else set(classes)
        unknown = wanted - set(INSTANCE_CLASSES)
        if unknown:
            raise ValueError(f"unknown instance class(es) {sorted(unknown)}; choose from "
                             f"{', '.join(INSTANCE_CLASSES)}")
        return Instances(i for i in self if i.cls in wanted)

    def masks(self, classes: Iterable[str] | str | None = None) -> np.ndarray:
        """Boolean N×H×W masks of the instances of ``classes`` (all by default)."""
        chosen = self.select(classes)
        if not chosen:
            shape = self[0].mask.shape if self else (0, 0)
            return np.zeros((0, *shape), dtype=bool)
        return np.stack([i.mask for i in chosen])

    def union(self, classes: Iterable[str] | str | None = None) -> np.ndarray:
        """One boolean H×W mask: the pixels of any instance of ``classes``."""
        return self.masks(classes).any(0) if self else np.zeros((0, 0), dtype=bool)


@dataclass(frozen=True)
class Stages:
    """What the detector's stages make of one photo (:meth:`InstanceSegmenter.stages`).

    ``input_size``: (height, width) the network sees; ``features``: channels × height × width of
    each pyramid level and ``strides`` its input pixels per feature cell; ``proposals``: the region
    proposal network's best boxes (x0, y0, x1, y1) in photo pixels, best first, of
    ``n_proposals`` kept after its non-maximum suppression; ``box_roi``, ``mask_roi``: the
    RoIAlign grids the box and mask heads read for each proposal; ``mask_size``: the side of the
    mask a proposal gets (pasted into its box at the photo's size)."""

    input_size: tuple[int, int]
    features: dict[str, tuple[int, int, int]]
    strides: dict[str, float]
    proposals: np.ndarray
    n_proposals: int
    box_roi: tuple[int, int]
    mask_roi: tuple[int, int]
    mask_size: int


def drop_pairs(items: Instances, cover: float = PAIR_COVER) -> Instances:
    """``items`` (best first) less each detection that repeats better ones of its class as a
    group: at least two of them lie inside it (80 % of each) and together cover ``cover`` of it —
    the detector's box around both shoes beside a box for each shoe (CCP annotates two touching
    shoes as one item, so it learned both). A user choosing "shoe" gets the same pixels; the
    panel counts two shoes, not three."""
    kept: list[Instance] = []
    for d in items:
        area = max(1, int(d.mask.sum()))
        parts = [k.mask for k in kept if k.cls == d.cls
                 and (k.mask & d.mask).sum() >= 0.8 * max(1, int(k.mask.sum()))]
        if len(parts) >= 2 and (np.logical_or.reduce(parts) & d.mask).sum() >= cover * area:
            continue
        kept.append(d)
    return Instances(kept)


def to_instances(output: dict[str, torch.Tensor], score_threshold: float = 0.0,
                 mask_threshold: float = MASK_THRESHOLD) -> Instances:
    """One photo's Mask R-CNN output (``boxes``, ``labels``, ``scores``, ``masks`` N×1×H×W
    probabilities) as :class:`Instances` of at least ``score_threshold``, pair repeats dropped
    (:func:`drop_pairs`)."""
    keep = output["scores"] >= score_threshold
    boxes = output["boxes"][keep].float().cpu().numpy()
    labels = output["labels"][keep].cpu().numpy()
    scores = output["scores"][keep].float().cpu().numpy()
    soft = output["masks"][keep, 0].float()
    masks = (soft >= mask_threshold).cpu().numpy()
    probability = (soft.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    return drop_pairs(Instances(
        Instance(INSTANCE_CLASSES[int(l) - 1], float(s), tuple(float(v) for v in b), m, p)
        for b, l, s, m, p in zip(boxes, labels, scores, masks, probability)))


def _load_detector(weights: str | Path) -> torch.nn.Module:
    """The garment Mask R-CNN with ``weights``: a registry name, an exported fp16 file or a
    training checkpoint (``best.pt`` / ``last.pt`` of ``python -m fsutils.train instances``)."""
    from ..models.maskrcnn import garment_maskrcnn

    entry = W.lookup(weights)
    model = entry.build() if entry is not None else garment_maskrcnn()
    state = W.read_state_dict(weights)
    return W.load_state_dict(model, {k: (v.float() if v.is_floating_point() else v)
                                     for k, v in state.items()})


class InstanceSegmenter:
    """Garment instances of a photo: ``predict(photo) -> Instances``.

    ``weights``: a registry name (default :data:`DEFAULT_INSTANCE_WEIGHTS`, shipped inside the
    package), an exported file or a training checkpoint, or a built Mask R-CNN module.
    ``score_threshold``: instances scoring below it are left out (0 keeps every detection, as
    the AP evaluation does). ``device`` defaults to :func:`fsutils.env.device`."""

    def __init__(self, weights: str | Path | torch.nn.Module = DEFAULT_INSTANCE_WEIGHTS,
                 device: Any = None, *, score_threshold: float = 0.5,
                 mask_threshold: float = MASK_THRESHOLD):
        from .. import env

        if not 0.0 <= score_threshold <= 1.0 or not 0.0 < mask_threshold < 1.0:
            raise ValueError(f"score_threshold must be in [0, 1] and mask_threshold in (0, 1), got "
                             f"{score_threshold} and {mask_threshold}")
        self.device = torch.device(device) if device is not None else env.device()
        model = weights if isinstance(weights, torch.nn.Module) else _load_detector(weights)
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.score_threshold, self.mask_threshold = float(score_threshold), float(mask_threshold)

    @torch.no_grad()
    def predict(self, photo: Any) -> Instances:
        """The instances in ``photo`` (anything :func:`fsutils.io.to_rgb` reads), best first,
        masks and boxes at the photo's size."""
        output = self.model([self._input(photo)])[0]
        return to_instances(output, self.score_threshold, self.mask_threshold)

    def _input(self, photo: Any) -> torch.Tensor:
        from ..io import to_rgb

        arr = np.asarray(to_rgb(photo))
        return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0).to(self.device)

    @torch.no_grad()
    def stages(self, photo: Any, proposals: int = 20) -> Stages:
        """Look inside: the input size, the feature pyramid, the ``proposals`` best region
        proposals (in photo pixels) and the RoIAlign grids of the heads, for ``photo``."""
        m = self.model
        x = self._input(photo)
        images, _ = m.transform([x])
        features = m.backbone(images.tensors)
        boxes = m.rpn(images, features)[0][0]
        (ih, iw), (h, w) = images.image_sizes[0], x.shape[1:]
        scale = torch.tensor([w / iw, h / ih, w / iw, h / ih], device=boxes.device)
        size = lambda pool: tuple(int(v) for v in pool.output_size)
        mask_roi = size(m.roi_heads.mask_roi_pool)
        return Stages(
            (int(ih), int(iw)),
            {k: tuple(int(d) for d in f.shape[1:]) for k, f in features.items()},
            {k: images.tensors.shape[-2] / f.shape[-2] for k, f in features.items()},
            (boxes[:proposals] * scale).cpu().numpy(), len(boxes),
            size(m.roi_heads.box_roi_pool), mask_roi,
            2 * mask_roi[0])  # the mask head's transposed convolution doubles its grid
