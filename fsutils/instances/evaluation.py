"""Scoring garment instances on CCP photos: per-class segm and bbox AP50 of a detector, and the
baseline of the semantic cloth model (its garment regions split into connected components,
scored class-agnostically against the garment instances)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..data import GARMENT_INSTANCE_CLASSES, INSTANCE_CLASSES
from .ap import AGNOSTIC, agnostic, ap50
from .dataset import InstanceDataset
from .segmenter import Instance, Instances, to_instances

__all__ = ["detect_all", "InstanceScores", "score", "semantic_components", "summary_line"]


@torch.no_grad()
def detect_all(model: torch.nn.Module, dataset: InstanceDataset, device: torch.device | str = "cpu",
               progress: bool = False) -> list[Instances]:
    """Every detection (no score threshold) of ``model`` on each photo of ``dataset``."""
    from tqdm.auto import tqdm

    was_training = model.training
    model.eval()
    out = []
    for k in tqdm(range(len(dataset)), desc="instances", disable=not progress):
        x = torch.from_numpy(dataset.photo(k)).permute(2, 0, 1).float().div_(255.0).to(device)
        out.append(to_instances(model([x])[0]))
    model.train(was_training)
    return out


def _mean(values) -> float:
    v = [x for x in values if not math.isnan(x)]
    return float(np.mean(v)) if v else float("nan")


@dataclass(frozen=True)
class InstanceScores:
    """Per-class segm and bbox AP50, and the class-agnostic segm AP50 on the garment classes."""

    segm: dict[str, float]
    bbox: dict[str, float]
    agnostic_garments: float

    @property
    def segm_ap50_garments(self) -> float:
        return _mean(self.segm[c] for c in GARMENT_INSTANCE_CLASSES)

    @property
    def segm_ap50(self) -> float:
        return _mean(self.segm.values())

    @property
    def bbox_ap50(self) -> float:
        return _mean(self.bbox.values())

    def as_dict(self) -> dict:
        return {"segm": self.segm, "bbox": self.bbox, "agnostic_garments": self.agnostic_garments,
                "segm_ap50_garments": self.segm_ap50_garments, "segm_ap50": self.segm_ap50,
                "bbox_ap50": self.bbox_ap50}


def score(truths: list[list], detections: list[list]) -> InstanceScores:
    """AP50 of ``detections`` against ``truths`` (one list per photo)."""
    garments = GARMENT_INSTANCE_CLASSES
    return InstanceScores(
        ap50(truths, detections, INSTANCE_CLASSES, "segm"),
        ap50(truths, detections, INSTANCE_CLASSES, "bbox"),
        ap50([agnostic(t, garments) for t in truths], [agnostic(d, garments) for d in detections],
             (AGNOSTIC,), "segm")[AGNOSTIC])


def semantic_components(labels: np.ndarray, probability: np.ndarray | None = None,
                        min_fraction: float | None = None) -> Instances:
    """The garment regions (classes 1–3) of a 4-class label map split into connected components
    (8-connectivity), as class-agnostic instances scored by their mean garment probability (or by
    their share of the photo when no probability map is given); components below
    ``min_fraction`` of the photo (the instance rule's :data:`fsutils.data.MIN_INSTANCE_FRACTION`)
    are dropped."""
    import cv2

    from ..data import MIN_INSTANCE_FRACTION

    min_pixels = (MIN_INSTANCE_FRACTION if min_fraction is None else min_fraction) * labels.size
    out = []
    for cls in (1, 2, 3):
        n, comp, stats, _ = cv2.connectedComponentsWithStats((labels == cls).astype(np.uint8),
                                                             connectivity=8)
        for k in range(1, n):
            if stats[k, cv2.CC_STAT_AREA] < max(1.0, min_pixels):
                continue
            mask = comp == k
            x, y, w, h = (int(v) for v in stats[k, :4])
            s = float(probability[mask].mean()) if probability is not None else float(mask.mean())
            out.append(Instance(AGNOSTIC, s, (x, y, x + w, y + h), mask))
    return Instances(sorted(out, key=lambda i: -i.score))


def summary_line(s: InstanceScores) -> str:
    """The evaluation's last line."""
    return (f"segm_ap50_garments={s.segm_ap50_garments:.4f} segm_ap50={s.segm_ap50:.4f} "
            f"bbox_ap50={s.bbox_ap50:.4f}")
