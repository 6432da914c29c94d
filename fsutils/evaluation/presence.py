"""Whether the models show the garments a photo is tagged with: ``python -m fsutils.evaluate tags``.

On a folder of photos with image-level tags only (:mod:`fsutils.tags`), per garment class the
precision, recall and F1 of "the model shows this garment" against "the tags name it". The cloth
model shows a semantic class when the class covers at least :data:`MIN_SHOWN` of the photo's
pixels; the garment detector shows an instance class when it finds an item of it above its
default score. Tags say which garments are in a photo, not where, so this scores the garment's
*kind* (a top with a skirt shown as a dress is a false full body, a missed skirt a false
negative), never its outline; a garment the tags name but that is hardly visible (a top under a
coat) counts as missed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MIN_SHOWN", "Presence", "shown_semantic", "shown_instances", "presence_scores",
           "summary_line", "evaluate_tags", "table_lines", "add_parser", "main"]

#: The cloth model shows a semantic class when the class covers at least this share of the pixels.
MIN_SHOWN = 0.02


@dataclass(frozen=True)
class Presence:
    """One class over a split: photos tagged with it, photos the model shows it in, and both;
    precision, recall and F1 follow (NaN where undefined: nothing shown, nothing tagged)."""

    tagged: int
    shown: int
    both: int

    @property
    def precision(self) -> float:
        return self.both / self.shown if self.shown else float("nan")

    @property
    def recall(self) -> float:
        return self.both / self.tagged if self.tagged else float("nan")

    @property
    def f1(self) -> float:
        total = self.tagged + self.shown
        return 2 * self.both / total if total else float("nan")


def shown_semantic(labels: np.ndarray, min_shown: float = MIN_SHOWN) -> tuple[int, ...]:
    """The semantic classes (1–3) that cover at least ``min_shown`` of a label map's pixels."""
    labels = np.asarray(labels)
    counts = np.bincount(labels.ravel(), minlength=4)[:4] / max(labels.size, 1)
    return tuple(c for c in (1, 2, 3) if counts[c] >= min_shown)


def shown_instances(items: Any, score_threshold: float = 0.0) -> tuple[str, ...]:
    """The instance classes of which ``items`` (detections with ``cls`` and ``score``) hold one
    scoring at least ``score_threshold``, in the order of :data:`fsutils.data.INSTANCE_CLASSES`."""
    from ..data import INSTANCE_CLASSES

    found = {i.cls for i in items if i.score >= score_threshold}
    return tuple(c for c in INSTANCE_CLASSES if c in found)


def presence_scores(tagged: list, shown: list, classes: tuple) -> dict[Any, Presence]:
    """:class:`Presence` of each of ``classes`` from per-photo collections of the classes tagged
    and shown (two lists of the same length, one entry per photo)."""
    if len(tagged) != len(shown):
        raise ValueError(f"{len(tagged)} photos tagged but {len(shown)} predicted; give one entry "
                         "per photo in both.")
    out = {}
    for c in classes:
        t = np.array([c in x for x in tagged], bool)
        s = np.array([c in x for x in shown], bool)
        out[c] = Presence(int(t.sum()), int(s.sum()), int((t & s).sum()))
    return out


def _mean(values) -> float:
    v = [x for x in values if not math.isnan(x)]
    return float(np.mean(v)) if v else float("nan")


def summary_line(semantic: dict[str, Presence], instances: dict[str, Presence]) -> str:
    """The last line: mean F1 over upper, lower and full body, the full body's precision, mean F1
    over the detector's seven classes, and the dress's and skirt's F1."""
    return (f"semantic_f1_mean={_mean(p.f1 for p in semantic.values()):.4f} "
            f"full_precision={semantic['full'].precision:.4f} "
            f"instance_f1_mean={_mean(p.f1 for p in instances.values()):.4f} "
            f"dress_f1={instances['dress'].f1:.4f} skirt_f1={instances['skirt'].f1:.4f}")


def evaluate_tags(root: str | Path, split: str = "val", weights: Any = None,
                  instance_weights: Any = None, device: Any = None, progress: bool = True,
                  max_images: int | None = None,
                  skipped: list[tuple[Path, str]] | None = None, source: str = "each") -> dict:
    """Run both garment sources on the tagged photos of ``split`` and score what they show
    against the tags: ``{"semantic": {"upper": Presence …}, "instances": {"top": …}, "images",
    …}`` (a photo that cannot be read raises, or with ``skipped`` is left out and listed there)."""
    from .. import data, tags
    from .choice import SEMANTIC, GarmentModels, chosen_masks
    from .photos import evaluate_photos

    chosen_masks(np.zeros((1, 1), np.uint8), (), source)  # an unknown source: refused first
    photos = {p.image_id: p for p in tags.load_tagged(root, split, max_images)}
    models = GarmentModels(weights, instance_weights, device)
    threshold = models.detector.score_threshold

    def one(image_id: str, photo, tagged: tags.TaggedPhoto):
        labels, items = models.predict(photo)
        if source == "each":
            return tagged, shown_semantic(labels), shown_instances(items, threshold)
        got = chosen_masks(labels, items, source)  # what a user choosing each garment gets
        return (tagged, tuple(i for n, i in SEMANTIC.items() if got[n].mean() >= MIN_SHOWN),
                tuple(c for c in data.INSTANCE_CLASSES if got[c].any()))

    def load(folder, image_id):
        return data.load_photo(folder, image_id), photos[image_id]

    scored = evaluate_photos(root, list(photos), one, skipped=skipped, progress=progress,
                             desc="tagged photos", load=load)
    short = {i: n for n, i in SEMANTIC.items()}
    semantic = presence_scores([{short[c] for c in t.semantic} for t, _, _ in scored],
                               [{short[c] for c in s} for _, s, _ in scored], tuple(SEMANTIC))
    instances = presence_scores([set(t.instances) for t, _, _ in scored],
                                [set(i) for _, _, i in scored], data.INSTANCE_CLASSES)
    return {"split": split, "images": len(scored), "source": source, "weights": str(models.weights),
            "instance_weights": str(models.instance_weights), "score_threshold": threshold,
            "semantic": semantic, "instances": instances}


def table_lines(r: dict) -> list[str]:
    """The evaluation as text: a header, a Markdown table (one row per class), then
    :func:`summary_line`."""
    f = lambda x: "–" if math.isnan(x) else f"{x:.3f}"  # noqa: E731
    rows = [f"weights={r['weights']} instance_weights={r['instance_weights']} source={r['source']} "
            f"split={r['split']} images={r['images']} min_shown={MIN_SHOWN:g} score_threshold={r['score_threshold']:g}",
            "| garment | model | tagged | shown | both | precision | recall | F1 |",
            "|---|---|---|---|---|---|---|---|"]
    best = r.get("source") == "best"
    for source, scores in (("best" if best else "cloth model", r["semantic"]),
                           ("best" if best else "detector", r["instances"])):
        rows += [f"| {name} | {source} | {p.tagged} | {p.shown} | {p.both} | {f(p.precision)} "
                 f"| {f(p.recall)} | {f(p.f1)} |" for name, p in scores.items()]
    return rows + [summary_line(r["semantic"], r["instances"])]


def add_parser(sub) -> None:
    """The ``tags`` subcommand of ``python -m fsutils.evaluate``."""
    from .photos import add_model_arguments
    from .choice import SOURCES

    p = sub.add_parser("tags", help="per garment class, precision / recall / F1 of the models "
                                    "showing the garments a photo is tagged with")
    add_model_arguments(p, "image-level")
    p.add_argument("--source", choices=SOURCES, default="each",
                   help="how a chosen garment is found: each vocabulary through its own model "
                        "(default), or through whichever model finds it (best, as the pipeline does)")
    p.set_defaults(task_parser=p)


def main(args, skipped: list) -> tuple[int, list[str]]:
    """Run the subcommand on arguments already checked: ``(photos scored, lines to print)``."""
    r = evaluate_tags(args.ccp_root, args.split, args.weights, args.instance_weights,
                      args.device, not args.no_progress, args.max_images, skipped=skipped,
                      source=args.source)
    return r["images"], table_lines(r)
