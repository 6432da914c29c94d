"""What a user meets when choosing a garment: ``python -m fsutils.evaluate choice``.

For each garment class — the cloth model's semantic classes (upper, lower, full body) and the
garment detector's seven instance classes — over the annotated photos where the class covers at
least :data:`MIN_FRACTION` of the pixels, the share of photos where the chosen garment is
**found** (IoU ≥ :data:`FOUND_IOU` between what the model gives for that choice and the
annotation) and the share where it is **missed** (IoU < :data:`MISSED_IOU`: nothing usable there);
and per photo the binary garment IoU (any garment against any garment) of the cloth model.

The semantic classes come from the cloth model's label map, the instance classes from the union
of the detector's items of that class above its default score (``source="each"``: each vocabulary
through its own model), or each class through whichever model finds it (``source="best"``:
:func:`fsutils.sources.choose_mask`, what the pipeline and the swap use with the kit's models).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .overlap import iou

__all__ = ["MIN_FRACTION", "FOUND_IOU", "MISSED_IOU", "SEMANTIC", "SOURCES", "PhotoChoice",
           "ClassChoice", "GarmentModels", "chosen_masks", "semantic_masks", "instance_masks", "score_photo", "summarize",
           "summary_line", "evaluate_choice", "table_lines", "add_parser", "main"]

#: A class is scored on a photo where its annotation covers at least this share of the pixels.
MIN_FRACTION = 0.03
#: A chosen garment is found where its IoU with the annotation is at least this …
FOUND_IOU = 0.5
#: … and missed (nothing usable there) where it is below this.
MISSED_IOU = 0.2
#: The semantic classes by their short names, as ``--garments`` takes them (label indices 1–3).
SEMANTIC: dict[str, int] = {"upper": 1, "lower": 2, "full": 3}
#: How a chosen garment is found: ``each`` vocabulary through its own model, or the ``best``
#: source (:mod:`fsutils.sources`).
SOURCES = ("each", "best")


@dataclass(frozen=True)
class PhotoChoice:
    """One photo's scores: ``iou`` per class scored on it (semantic short names and instance
    classes; a class below :data:`MIN_FRACTION` of the photo is absent) and its binary garment
    IoU."""

    image_id: str
    iou: dict[str, float]
    binary_iou: float


@dataclass(frozen=True)
class ClassChoice:
    """One class over a split: how many photos have it, the shares found and missed, the mean
    IoU (NaN for all three when no photo has it)."""

    photos: int
    found: float
    missed: float
    mean_iou: float


def semantic_masks(labels: np.ndarray) -> dict[str, np.ndarray]:
    """The bool mask of each semantic class (``upper``, ``lower``, ``full``) of a 4-class label map."""
    return {name: np.asarray(labels) == index for name, index in SEMANTIC.items()}


def instance_masks(items: Any, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The bool mask of each instance class: the union of ``items`` of that class (anything with
    ``cls`` and a ``mask`` at ``shape``: detections or annotated instances); empty where none."""
    from ..data import INSTANCE_CLASSES

    out = {c: np.zeros(shape, bool) for c in INSTANCE_CLASSES}
    for item in items:
        out[item.cls] |= np.asarray(item.mask, bool)
    return out


def chosen_masks(labels: np.ndarray, items: Any, source: str = "each") -> dict[str, np.ndarray]:
    """What a user gets for each choice (semantic short names and instance classes) from the cloth
    model's ``labels`` and the detector's ``items``, by ``source`` (:data:`SOURCES`); a garment
    no model finds is an empty mask."""
    from ..data import INSTANCE_CLASSES
    from ..sources import GarmentNotFound, choose_mask

    if source not in SOURCES:
        raise ValueError(f"unknown garment source {source!r}; choose one of {', '.join(SOURCES)}")
    labels = np.asarray(labels)
    if source == "each":
        return semantic_masks(labels) | instance_masks(items, labels.shape)
    keys = {**{n: (i,) for n, i in SEMANTIC.items()}, **{c: (c,) for c in INSTANCE_CLASSES}}
    out = {}
    for name, key in keys.items():
        try:
            out[name] = choose_mask(labels, items, key).mask
        except GarmentNotFound:
            out[name] = np.zeros(labels.shape, bool)
    return out


def score_photo(image_id: str, predicted: dict[str, np.ndarray], truth: dict[str, np.ndarray],
                predicted_garments: np.ndarray, true_garments: np.ndarray,
                min_fraction: float = MIN_FRACTION) -> PhotoChoice:
    """A photo's :class:`PhotoChoice` from the predicted and true mask of each class (same keys;
    a class missing from ``predicted`` counts as nothing found) and the two any-garment masks."""
    ious = {}
    for name, true in truth.items():
        true = np.asarray(true, bool)
        if true.mean() >= min_fraction:
            ious[name] = iou(predicted.get(name, np.zeros_like(true)), true)
    return PhotoChoice(image_id, ious, iou(predicted_garments, true_garments))


def summarize(photos: list[PhotoChoice], classes: tuple[str, ...]) -> dict[str, ClassChoice]:
    """Each class of ``classes`` over ``photos``: :class:`ClassChoice`."""
    out = {}
    for name in classes:
        v = np.array([p.iou[name] for p in photos if name in p.iou])
        nan = float("nan")
        out[name] = ClassChoice(len(v), float((v >= FOUND_IOU).mean()) if v.size else nan,
                                float((v < MISSED_IOU).mean()) if v.size else nan,
                                float(v.mean()) if v.size else nan)
    return out


def _extreme(values, pick) -> float:
    v = [x for x in values if not math.isnan(x)]
    return float(pick(v)) if v else float("nan")


def summary_line(classes: dict[str, ClassChoice], photos: list[PhotoChoice]) -> str:
    """The last line: the lowest found share and the highest missed share over the semantic
    classes, and the median binary garment IoU over the photos."""
    semantic = [classes[n] for n in SEMANTIC if n in classes]
    return (f"found_rate_min={_extreme((c.found for c in semantic), min):.4f} "
            f"missed_max={_extreme((c.missed for c in semantic), max):.4f} "
            f"binary_median={float(np.median([p.binary_iou for p in photos])):.4f}")


class GarmentModels:
    """The two garment sources a user chooses from: the cloth model (``weights``) and the garment
    detector (``instance_weights``, its default score threshold); ``predict(photo)`` gives the
    label map and the detected items at the photo's size."""

    def __init__(self, weights: Any = None, instance_weights: Any = None, device: Any = None):
        from ..instances.segmenter import DEFAULT_INSTANCE_WEIGHTS, InstanceSegmenter
        from ..segment import DEFAULT_CLOTH_WEIGHTS, ClothSegmenter

        self.weights = weights or DEFAULT_CLOTH_WEIGHTS
        self.instance_weights = instance_weights or DEFAULT_INSTANCE_WEIGHTS
        self.segmenter = ClothSegmenter(self.weights, device)
        self.detector = InstanceSegmenter(self.instance_weights, device)

    def predict(self, photo: Any) -> tuple[np.ndarray, Any]:
        return self.segmenter.predict(photo), self.detector.predict(photo)


def evaluate_choice(ccp_root: str | Path, split: str = "val", weights: Any = None,
                    instance_weights: Any = None, device: Any = None, progress: bool = True,
                    max_images: int | None = None,
                    skipped: list[tuple[Path, str]] | None = None, source: str = "each") -> dict:
    """Score both garment sources on the annotated photos of ``split``: ``{"photos":
    [PhotoChoice …], "classes": {name: ClassChoice}, "images", "weights", …}`` (a photo that
    cannot be scored raises, or with a ``skipped`` list is left out and listed there)."""
    from .. import data
    from .photos import evaluate_photos, select_ids

    chosen_masks(np.zeros((1, 1), np.uint8), (), source)  # an unknown source: refused first
    ids = select_ids(ccp_root, split, max_images)
    names = data.read_label_names(ccp_root)
    lookup = data.label_lookup(names)
    models = GarmentModels(weights, instance_weights, device)

    def one(image_id: str, photo, groundtruth: np.ndarray) -> PhotoChoice:
        labels, items = models.predict(photo)
        kit = lookup[groundtruth]
        shape = groundtruth.shape
        predicted = chosen_masks(labels, items, source)
        truth = semantic_masks(kit) | instance_masks(data.derive_instances(groundtruth, names), shape)
        return score_photo(image_id, predicted, truth, labels > 0, kit > 0)

    photos = evaluate_photos(ccp_root, ids, one, skipped=skipped, progress=progress,
                             desc="choosing garments")
    classes = (*SEMANTIC, *data.INSTANCE_CLASSES)
    return {"split": split, "images": len(photos), "source": source, "weights": str(models.weights),
            "instance_weights": str(models.instance_weights), "photos": photos,
            "classes": summarize(photos, classes)}


def table_lines(r: dict, per_photo: bool = False) -> list[str]:
    """The evaluation as text: a header, a Markdown table (one row per class), the binary IoU's
    quartiles (and with ``per_photo`` one line per photo), then :func:`summary_line`."""
    rows = [f"weights={r['weights']} instance_weights={r['instance_weights']} source={r['source']} "
            f"split={r['split']} images={r['images']} min_fraction={MIN_FRACTION:g} found_iou={FOUND_IOU:g} "
            f"missed_iou={MISSED_IOU:g}",
            "| garment chosen | model | photos that have it | found | missed | mean IoU |",
            "|---|---|---|---|---|---|"]
    pct = lambda x: "–" if math.isnan(x) else f"{100 * x:.1f} %"  # noqa: E731
    for name, c in r["classes"].items():
        model = ("cloth model" if name in SEMANTIC else "detector") if r["source"] == "each" else "best"
        mean = "–" if math.isnan(c.mean_iou) else f"{c.mean_iou:.3f}"
        rows.append(f"| {name} | {model} | {c.photos} | {pct(c.found)} | {pct(c.missed)} | {mean} |")
    binary = np.array([p.binary_iou for p in r["photos"]])
    q1, q2, q3 = np.percentile(binary, [25, 50, 75])
    rows.append(f"binary garment IoU per photo: min={binary.min():.4f} q1={q1:.4f} "
                f"median={q2:.4f} q3={q3:.4f}")
    if per_photo:
        rows += [f"binary_iou[{p.image_id}]={p.binary_iou:.4f}" for p in r["photos"]]
    return rows + [summary_line(r["classes"], r["photos"])]


def add_parser(sub) -> None:
    """The ``choice`` subcommand of ``python -m fsutils.evaluate``."""
    from .photos import add_model_arguments

    p = sub.add_parser("choice", help="per garment class, how often a chosen garment is found "
                                      "(IoU ≥ 0.5) or missed (IoU < 0.2), and the binary garment IoU")
    add_model_arguments(p)
    p.add_argument("--source", choices=SOURCES, default="each",
                   help="how a chosen garment is found: each vocabulary through its own model "
                        "(default), or through whichever model finds it (best, as the pipeline does)")
    p.add_argument("--per-photo", action="store_true", help="also print each photo's binary garment IoU")
    p.set_defaults(task_parser=p)


def main(args, skipped: list) -> tuple[int, list[str]]:
    """Run the subcommand on arguments already checked: ``(photos scored, lines to print)``."""
    r = evaluate_choice(args.ccp_root, args.split, args.weights, args.instance_weights,
                        args.device, not args.no_progress, args.max_images, skipped=skipped,
                        source=args.source)
    return r["images"], table_lines(r, args.per_photo)
