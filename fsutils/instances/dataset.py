"""CCP photos with their garment instances (:func:`fsutils.data.derive_instances`) as Mask R-CNN
training samples: ``(3×H×W float RGB in [0, 1], {"boxes", "labels", "masks"})`` at the photo's
size (the detector resizes). Instances of one photo never overlap (they come from one label map),
so each photo is kept in memory as its JPEG bytes and one PNG-compressed map of instance numbers:
about 60 kB a photo, decoded at each use.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from .. import data

__all__ = ["InstanceDataset", "instance_map", "targets_from_map", "truths_from_map"]


def instance_map(instances: list[data.GarmentInstance], shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(map, labels)``: a uint8 H×W map where instance ``k`` is ``k + 1`` (0: none) and the
    1-based class index of each instance."""
    if len(instances) > 255:
        raise ValueError(f"{len(instances)} instances do not fit a uint8 map (255 at most).")
    out = np.zeros(shape, dtype=np.uint8)
    for k, inst in enumerate(instances):
        out[inst.mask] = k + 1
    return out, np.array([inst.label for inst in instances], dtype=np.int64)


def targets_from_map(imap: np.ndarray, labels: np.ndarray) -> dict[str, torch.Tensor]:
    """Mask R-CNN targets (``boxes`` x0, y0, x1, y1 in pixels; ``labels``; uint8 ``masks``) of the
    instances still present in ``imap`` (an instance cropped away is dropped)."""
    masks = np.stack([imap == k + 1 for k in range(len(labels))]) if len(labels) else \
        np.zeros((0, *imap.shape), dtype=bool)
    keep = masks.any(axis=(1, 2))
    masks, labels = masks[keep], labels[keep]
    boxes = np.zeros((len(masks), 4), dtype=np.float32)
    for k, m in enumerate(masks):
        ys, xs = np.nonzero(m)
        boxes[k] = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    return {"boxes": torch.from_numpy(boxes), "labels": torch.from_numpy(labels),
            "masks": torch.from_numpy(masks.astype(np.uint8))}


class InstanceDataset(Dataset):
    """The garment instances of the CCP photos ``ids``; ``flip``: mirror at random (probability
    0.5, from ``seed``). Scale jitter is the detector's own (its training input sizes).
    ``extra``: more ``(photo, item-map PNG, 1-based classes)`` files (e.g. pseudo-items)."""

    def __init__(self, root: str | Path, ids: list[str], flip: bool = False, seed: int = 0,
                 extra: list[tuple[Path, Path, list[int]]] = ()):
        self.root, self.ids, self.flip = Path(root), list(ids), flip
        names = data.read_label_names(root)
        self.photos: list[bytes] = []
        self.maps: list[bytes] = []
        self.labels: list[np.ndarray] = []
        for i in self.ids:
            gt = data.load_groundtruth(root, i)
            imap, labels = instance_map(data.derive_instances(gt, names), gt.shape)
            self.photos.append((self.root / "photos" / f"{i}.jpg").read_bytes())
            self.maps.append(cv2.imencode(".png", imap)[1].tobytes())
            self.labels.append(labels)
        for photo, item_map, classes in extra:
            self.ids.append(Path(photo).stem)
            self.photos.append(Path(photo).read_bytes())
            self.maps.append(Path(item_map).read_bytes())
            self.labels.append(np.asarray(classes, dtype=np.int64))
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.ids)

    def photo(self, k: int) -> np.ndarray:
        """Photo ``k`` as an H×W×3 uint8 RGB array."""
        bgr = cv2.imdecode(np.frombuffer(self.photos[k], np.uint8), cv2.IMREAD_COLOR)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def instance_map(self, k: int) -> np.ndarray:
        return cv2.imdecode(np.frombuffer(self.maps[k], np.uint8), cv2.IMREAD_UNCHANGED)

    def truths(self, k: int) -> list[data.GarmentInstance]:
        """The ground-truth instances of photo ``k`` (not flipped)."""
        return truths_from_map(self.instance_map(k), self.labels[k])

    def __getitem__(self, k: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        img, imap = self.photo(k), self.instance_map(k)
        if img.shape[:2] != imap.shape:
            img = cv2.resize(img, imap.shape[::-1], interpolation=cv2.INTER_AREA)
        if self.flip and torch.rand((), generator=self.generator).item() < 0.5:
            img, imap = img[:, ::-1], imap[:, ::-1]
        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() / 255.0
        return x, targets_from_map(np.ascontiguousarray(imap), self.labels[k])


def truths_from_map(imap: np.ndarray, labels: np.ndarray) -> list[data.GarmentInstance]:
    """The ground-truth instances of an instance map (for scoring; CCP label names are not kept)."""
    out = []
    for k, label in enumerate(labels):
        mask = imap == k + 1
        if mask.any():
            ys, xs = np.nonzero(mask)
            out.append(data.GarmentInstance(data.INSTANCE_CLASSES[int(label) - 1], "", mask,
                                            (int(xs.min()), int(ys.min()), int(xs.max()) + 1,
                                             int(ys.max()) + 1)))
    return out
