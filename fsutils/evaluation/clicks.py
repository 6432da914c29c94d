"""Pointing at garments, measured click by click: ``python -m fsutils.evaluate clicks``.

On each annotated photo, one click at the most interior point of each annotated garment instance
(top, outer, dress, pants, skirt; :func:`fsutils.data.derive_instances`): the pixel farthest from
the garment's edge (a distance transform), where a user would point. The click chooses a garment
by the rule of :mod:`fsutils.clicks` from the cloth model's labels and the garment detector's
items, and is scored by the IoU of what it chose with the annotated garment (0 when it chose
nothing). Per class and over all clicks: the share with IoU ≥ 0.5, ≥ 0.75 and the median IoU; the
last line is ``click_iou50=<f> click_iou75=<f> click_iou_median=<f>``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .overlap import iou

__all__ = ["Click", "interior_point", "score_clicks", "summarize", "summary_line",
           "evaluate_clicks", "table_lines", "add_parser", "main"]


@dataclass(frozen=True)
class Click:
    """One click: the photo, the annotated garment's class, where it was clicked (x, y) and the
    IoU of the chosen garment with it."""

    image_id: str
    cls: str
    x: int
    y: int
    iou: float


def interior_point(mask: np.ndarray) -> tuple[int, int]:
    """The pixel (x, y) of a non-empty bool mask farthest from its edge (the photo's border counts
    as an edge); the first such pixel in row order on a tie."""
    mask = np.asarray(mask, bool)
    if not mask.any():
        raise ValueError("an empty mask has no interior point")
    padded = np.pad(mask, 1).astype(np.uint8)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y)


def score_clicks(image_id: str, labels: np.ndarray, items: Any, truths: Any) -> list[Click]:
    """One :class:`Click` per annotated garment of ``truths`` (anything with ``cls`` and a bool
    ``mask``; shoes and bags are left out) on the photo whose cloth-model ``labels`` and detected
    ``items`` are given."""
    from ..clicks import owners, pick
    from ..data import GARMENT_INSTANCE_CLASSES

    labels = np.asarray(labels)
    own = owners(labels, items)
    out = []
    for truth in truths:
        if truth.cls not in GARMENT_INSTANCE_CLASSES:
            continue
        true = np.asarray(truth.mask, bool)
        x, y = interior_point(true)
        chosen = pick(labels, own, x, y)
        out.append(Click(image_id, truth.cls, x, y, 0.0 if chosen is None else iou(chosen, true)))
    return out


def summarize(clicks: list[Click]) -> dict[str, dict[str, float]]:
    """Per class of :data:`fsutils.data.GARMENT_INSTANCE_CLASSES` and ``"all"``: ``clicks``,
    ``iou50``, ``iou75`` (shares of clicks with IoU ≥ 0.5, ≥ 0.75) and ``median`` (NaN for a class
    with no click)."""
    from ..data import GARMENT_INSTANCE_CLASSES

    out = {}
    for name in (*GARMENT_INSTANCE_CLASSES, "all"):
        v = np.array([c.iou for c in clicks if name in ("all", c.cls)], float)
        nan = float("nan")
        out[name] = {"clicks": int(v.size),
                     "iou50": float((v >= 0.5).mean()) if v.size else nan,
                     "iou75": float((v >= 0.75).mean()) if v.size else nan,
                     "median": float(np.median(v)) if v.size else nan}
    return out


def summary_line(clicks: list[Click]) -> str:
    """The last line: ``click_iou50=<f> click_iou75=<f> click_iou_median=<f>`` over all clicks."""
    s = summarize(clicks)["all"]
    return (f"click_iou50={s['iou50']:.4f} click_iou75={s['iou75']:.4f} "
            f"click_iou_median={s['median']:.4f}")


def evaluate_clicks(ccp_root: str | Path, split: str = "val", weights: Any = None,
                    instance_weights: Any = None, device: Any = None, progress: bool = True,
                    max_images: int | None = None,
                    skipped: list[tuple[Path, str]] | None = None) -> dict:
    """Click on every annotated garment of the photos of ``split``: ``{"clicks": [Click …],
    "images", "split", "weights", "instance_weights"}`` (a photo that cannot be scored raises, or
    with a ``skipped`` list is left out and listed there)."""
    from .. import data
    from .choice import GarmentModels
    from .photos import NothingToScore, evaluate_photos, select_ids

    ids = select_ids(ccp_root, split, max_images)
    names = data.read_label_names(ccp_root)
    models = GarmentModels(weights, instance_weights, device)

    def one(image_id: str, photo, groundtruth: np.ndarray) -> list[Click]:
        labels, items = models.predict(photo)
        return score_clicks(image_id, labels, items, data.derive_instances(groundtruth, names))

    per_photo = evaluate_photos(ccp_root, ids, one, skipped=skipped, progress=progress,
                                desc="clicking on garments")
    clicks = [c for photo in per_photo for c in photo]
    if not clicks:
        raise NothingToScore(f"no annotated garment ({', '.join(data.GARMENT_INSTANCE_CLASSES)}) "
                             f"in the {len(per_photo)} photo(s) scored: nothing to click on")
    return {"split": split, "images": len(per_photo), "clicks": clicks,
            "weights": str(models.weights), "instance_weights": str(models.instance_weights)}


def table_lines(r: dict, per_click: bool = False) -> list[str]:
    """The evaluation as text: a header, a Markdown table (one row per class, then all), with
    ``per_click`` one line per click, then :func:`summary_line`."""
    from ..clicks import MIN_PROBABILITY, SURE

    rows = [f"weights={r['weights']} instance_weights={r['instance_weights']} split={r['split']} "
            f"images={r['images']} clicks={len(r['clicks'])} min_probability={MIN_PROBABILITY:g} "
            f"sure={SURE:g}",
            "| garment clicked | clicks | IoU ≥ 0.5 | IoU ≥ 0.75 | median IoU |",
            "|---|---|---|---|---|"]
    for name, s in summarize(r["clicks"]).items():
        if not s["clicks"]:
            rows.append(f"| {name} | 0 | – | – | – |")
            continue
        rows.append(f"| {name} | {s['clicks']} | {100 * s['iou50']:.1f} % | "
                    f"{100 * s['iou75']:.1f} % | {s['median']:.3f} |")
    if per_click:
        rows += [f"click[{c.image_id} {c.cls} ({c.x}, {c.y})] iou={c.iou:.4f}" for c in r["clicks"]]
    return rows + [summary_line(r["clicks"])]


def add_parser(sub) -> None:
    """The ``clicks`` subcommand of ``python -m fsutils.evaluate``."""
    from .photos import add_model_arguments

    p = sub.add_parser("clicks", help="a click at the most interior point of each annotated "
                                      "garment: the IoU of the garment it chooses")
    add_model_arguments(p)
    p.add_argument("--per-click", action="store_true", help="also print each click's IoU")
    p.set_defaults(task_parser=p)


def main(args, skipped: list) -> tuple[int, list[str]]:
    """Run the subcommand on arguments already checked: ``(photos scored, lines to print)``."""
    r = evaluate_clicks(args.ccp_root, args.split, args.weights, args.instance_weights,
                        args.device, not args.no_progress, args.max_images, skipped=skipped)
    return r["images"], table_lines(r, args.per_click)
