"""Scoring garment instances on CCP photos: per-class segm and bbox AP50 of a detector, and the
baseline of the semantic cloth model (its garment regions split into connected components,
scored class-agnostically against the garment instances)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data import GARMENT_INSTANCE_CLASSES, INSTANCE_CLASSES
from ..instances.ap import AGNOSTIC, agnostic, ap50, suppress_duplicates
from ..instances.dataset import InstanceDataset
from ..instances.segmenter import Instance, Instances, to_instances

__all__ = ["semantic_split", "detect_all", "InstanceScores", "score", "semantic_components", "summary_line",
           "evaluate_instances", "table_lines", "add_parser", "main"]


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
    """Per-class segm and bbox AP50, and the class-agnostic segm AP50 on the garment classes
    (detections of any garment class against every garment instance, after removing a
    detection whose mask repeats a better one's: :func:`~fsutils.instances.ap.suppress_duplicates`)."""

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
        ap50([agnostic(t, garments) for t in truths],
             [suppress_duplicates(agnostic(d, garments)) for d in detections],
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
    from ..segment import GARMENT_CLASSES

    min_pixels = (MIN_INSTANCE_FRACTION if min_fraction is None else min_fraction) * labels.size
    out = []
    for cls in GARMENT_CLASSES:
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


def semantic_split(labels: np.ndarray, truths: list, names: tuple[str, ...] | None = None
                   ) -> dict[str, dict[str, float]]:
    """How a semantic label map (``labels``, indices of ``names``, default the cloth models'
    classes) splits each ground-truth instance: ``{"coat": {"upper body": 0.3, "full body":
    0.6, …}, …}``, the share of the instance's pixels given each class (keyed by its CCP label)."""
    from ..segment import CLASS_NAMES

    names = CLASS_NAMES if names is None else names
    if truths and labels.shape != truths[0].mask.shape:
        raise ValueError(f"labels {labels.shape} and the instances {truths[0].mask.shape} must "
                         "have the same size")
    out = {}
    for t in truths:
        counts = np.bincount(labels[t.mask].ravel(), minlength=len(names))[:len(names)]
        out[t.ccp_label] = {n: float(c / max(1, t.mask.sum())) for n, c in zip(names, counts)}
    return out


def summary_line(s: InstanceScores) -> str:
    """The evaluation's last line."""
    return (f"segm_ap50_garments={s.segm_ap50_garments:.4f} segm_ap50={s.segm_ap50:.4f} "
            f"bbox_ap50={s.bbox_ap50:.4f}")


def evaluate_instances(ccp_root, weights: str | Path = "ccp_maskrcnn", split: str = "val",
                       device: str | None = None, progress: bool = True,
                       max_images: int | None = None, baseline: bool = True,
                       skipped: list[tuple[Path, str]] | None = None) -> dict:
    """Score the garment detector ``weights`` (and, with ``baseline``, the default semantic
    model's connected components) on the CCP photos of ``split`` (each photo once).

    A photo that cannot be scored (see :func:`fsutils.evaluation.photos.usable_ids`) raises, or
    with a ``skipped`` list is appended to it and left out; photos without any annotated garment
    instance raise :class:`~fsutils.evaluation.photos.NothingToScore` (AP50 is undefined)."""
    from ..env import device as pick_device
    from ..instances.segmenter import InstanceSegmenter
    from .photos import NothingToScore, select_ids, usable_ids
    from .segmentation import no_garment

    ids = usable_ids(ccp_root, select_ids(ccp_root, split, max_images), skipped)
    dataset = InstanceDataset(ccp_root, ids)
    truths = [dataset.truths(k) for k in range(len(dataset))]
    if not any(t.cls in GARMENT_INSTANCE_CLASSES for ts in truths for t in ts):
        raise NothingToScore(no_garment(len(ids), "there is no AP50 to report",
                                        ", ".join(GARMENT_INSTANCE_CLASSES)))
    dev = pick_device(device)
    model = InstanceSegmenter(weights, dev, score_threshold=0.0).model
    scores = score(truths, detect_all(model, dataset, dev, progress))
    out = {"weights": str(weights), "split": split, "images": len(ids), "scores": scores,
           "baseline": None}
    if baseline:
        from tqdm.auto import tqdm

        from ..segment import DEFAULT_CLOTH_WEIGHTS, ClothSegmenter

        seg = ClothSegmenter(DEFAULT_CLOTH_WEIGHTS, dev, verbose=False)
        comps = []
        for k in tqdm(range(len(dataset)), desc="semantic", disable=not progress):
            prob = seg.predict_proba(dataset.photo(k))
            comps.append(semantic_components(prob.argmax(0), 1.0 - prob[0]))
        out["baseline"] = ap50([agnostic(t, GARMENT_INSTANCE_CLASSES) for t in truths], comps,
                               (AGNOSTIC,), "segm")[AGNOSTIC]
        out["baseline_weights"] = DEFAULT_CLOTH_WEIGHTS
    return out


def table_lines(r: dict) -> list[str]:
    """The evaluation as a Markdown table (one row per class, the means, the class-agnostic
    rows), then the summary line."""
    s: InstanceScores = r["scores"]
    rows = [f"weights={r['weights']} split={r['split']} images={r['images']}",
            "| class | segm AP50 | bbox AP50 |", "|---|---|---|"]
    rows += [f"| {c} | {s.segm[c]:.3f} | {s.bbox[c]:.3f} |" for c in INSTANCE_CLASSES]
    rows.append(f"| mean, garments ({', '.join(GARMENT_INSTANCE_CLASSES)}) | "
                f"{s.segm_ap50_garments:.3f} | {_mean(s.bbox[c] for c in GARMENT_INSTANCE_CLASSES):.3f} |")
    rows.append(f"| mean, all 7 classes | {s.segm_ap50:.3f} | {s.bbox_ap50:.3f} |")
    rows.append(f"| garments class-agnostic: Mask R-CNN | {s.agnostic_garments:.3f} | |")
    if r.get("baseline") is not None:
        rows.append(f"| garments class-agnostic: {r['baseline_weights']} regions → connected "
                    f"components (baseline) | {r['baseline']:.3f} | |")
    return rows + [summary_line(s)]


def add_parser(sub) -> None:
    """The ``instances`` subcommand of ``python -m fsutils.evaluate``."""
    from .. import data
    from ..args import DEVICE_HELP, device, whole
    from ..instances.segmenter import DEFAULT_INSTANCE_WEIGHTS

    p = sub.add_parser("instances", help="per-class segm and bbox AP50 of the garment instance "
                                         "detector on a CCP folder, beside the semantic baseline")
    p.add_argument("--ccp-root", required=True, type=Path,
                   help="folder with photos/, annotations/, label_list.mat")
    p.add_argument("--split", choices=("all", *data.SPLITS), default="val",
                   help="which photos: the kit's validation split (default), test (never used to "
                        "choose anything), train, or all")
    p.add_argument("--weights", default=DEFAULT_INSTANCE_WEIGHTS,
                   help=f"registry name (default: {DEFAULT_INSTANCE_WEIGHTS}), an exported file, or "
                        "a training checkpoint (best.pt / last.pt of `python -m fsutils.train "
                        "instances`)")
    p.add_argument("--max-images", type=whole(1), default=None,
                   help="evaluate only the first N photos (N ≥ 1)")
    p.add_argument("--no-baseline", action="store_true", help="skip the semantic baseline row")
    p.add_argument("--device", type=device, default=None, help=DEVICE_HELP)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(task_parser=p)


def main(args) -> int:
    """Run ``python -m fsutils.evaluate instances`` on arguments already checked (the CCP folder,
    the split, the numbers); the last line is :func:`summary_line`."""
    import contextlib
    import sys

    from .. import data
    from .photos import report_no_score, report_skipped

    skipped: list[tuple[Path, str]] = []
    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout: the table only
            r = evaluate_instances(args.ccp_root, args.weights, args.split, args.device,
                                   not args.no_progress, args.max_images, not args.no_baseline,
                                   skipped=skipped)
    except data.CCPError as e:
        return report_no_score(e, skipped)
    print("\n".join(table_lines(r)))
    return report_skipped(skipped, r["images"])
