"""Pseudo-labels from photos with image-level tags: the cloth model's own per-pixel answer,
restricted to the garments the photo's tags name.

A tagged photo says which garments are there, not where (:mod:`fsutils.tags`). The cloth model
says where, but confuses which (a top with a skirt read as a dress). Together: each pixel takes
the most probable of the classes the tags allow (background and the tagged garment classes),
and a pixel whose restricted probability stays below ``threshold`` is left out of the loss
(label 255). The cloth task trains on these beside the annotated photos (``pseudo_labels``).

The garment detector gets the same help (``--instances``): its own items found in a tagged
photo, kept only where the tags name their class; a photo is kept only when every garment class
its tags name was found (an item left out would be taught as background).

    python -m fsutils.training.pseudo --tagged-root DIR --out runs/pseudo_tags
    python -m fsutils.training.pseudo --tagged-root DIR --out runs/pseudo_items --instances
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["IGNORE", "restrict", "build", "pairs", "figure", "keep_items", "build_instances",
           "instance_triples", "main"]

#: The label of a pixel the loss leaves out.
IGNORE = 255


def restrict(proba: np.ndarray, allowed: tuple[int, ...], threshold: float = 0.5) -> np.ndarray:
    """Labels (H×W uint8) from class probabilities (4×H×W): the most probable class among
    ``allowed`` (background is always allowed), renormalised over them; :data:`IGNORE` where that
    share is below ``threshold``."""
    keep = sorted({0, *allowed})
    p = proba[keep]
    p = p / np.clip(p.sum(0, keepdims=True), 1e-8, None)
    labels = np.asarray(keep, dtype=np.uint8)[p.argmax(0)]
    labels[p.max(0) < threshold] = IGNORE
    return labels


def build(tagged_root: str | Path, out: str | Path, split: str = "train", weights: str = "ccp_deeplab",
          threshold: float = 0.5, device: str | None = None, progress: bool = True) -> int:
    """Write ``out/NNNN.png`` for every tagged photo of ``split`` (existing files are kept, so an
    interrupted build resumes); returns the number of pseudo-label files."""
    from tqdm.auto import tqdm

    from ..io import load_image
    from ..segment import ClothSegmenter
    from ..tags import load_tagged

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    photos = load_tagged(tagged_root, split)
    seg = ClothSegmenter(weights, device=device, verbose=False)
    for tagged in tqdm(photos, desc="pseudo-labels", disable=not progress):
        dest = out / f"{tagged.image_id}.png"
        if dest.is_file():
            continue
        proba = seg.predict_proba(load_image(Path(tagged_root) / "photos" / f"{tagged.image_id}.jpg"))
        tmp = dest.with_suffix(".tmp.png")
        Image.fromarray(restrict(proba, tagged.semantic, threshold)).save(tmp)
        tmp.replace(dest)
    return len(list(out.glob("*.png")))


def _training_files(folder: str | Path, suffix: str, what: str, make: str) -> list[Path]:
    """The ``NNNN<suffix>`` files of a pseudo-label folder, refused (with how to ``make`` them)
    when there are none, or when one is of a photo outside the training split."""
    from ..data import split_of

    found = sorted(Path(folder).glob(f"[0-9]*{suffix}"))
    if not found:
        raise FileNotFoundError(f"{folder} holds no {what}; make them with `python -m "
                                f"fsutils.training.pseudo --tagged-root DIR --out {folder}{make}`.")
    bad = [p.stem for p in found if split_of(p.stem) != "train"]
    if bad:
        raise ValueError(f"{folder} holds {what} of photos outside the training split "
                         f"({', '.join(bad[:5])}); validation and test photos must not be trained on.")
    return found


def pairs(tagged_root: str | Path, labels: str | Path) -> list[tuple[Path, Path]]:
    """``(photo, pseudo-label)`` files of a pseudo-label folder, in id order (a split's training
    photos only: :func:`build` writes no other)."""
    return [(Path(tagged_root) / "photos" / f"{p.stem}.jpg", p)
            for p in _training_files(labels, ".png", "pseudo-labels", "")]


def figure(tagged_root: str | Path, ids: list[str], segmenter, threshold: float = 0.5):
    """Figure: for each tagged photo, the photo with its garment tags, the cloth model's labels
    and the pseudo-label its tags allow (grey: left out of the loss)."""
    import matplotlib.pyplot as plt

    from ..garments import CLASS_NAMES
    from ..io import load_image
    from ..segment import colorize
    from ..tags import tagged_photo

    fig, axes = plt.subplots(len(ids), 3, figsize=(7.2, 3.4 * len(ids)), squeeze=False)
    for row, image_id in zip(axes, ids):
        tagged = tagged_photo(tagged_root, image_id)
        photo = load_image(Path(tagged_root) / "photos" / f"{image_id}.jpg")
        proba = segmenter.predict_proba(photo)
        labels = restrict(proba, tagged.semantic, threshold)
        shown = colorize(np.where(labels == IGNORE, 0, labels))
        shown[labels == IGNORE] = (150, 150, 150)
        allowed = ", ".join(CLASS_NAMES[c] for c in tagged.semantic) or "no garment class"
        panels = [(f"{image_id}: tagged {allowed}", photo),
                  ("the cloth model", colorize(segmenter.labels_from_proba(proba))),
                  ("pseudo-label (tags allow)", shown)]
        for ax, (title, img) in zip(row, panels):
            ax.imshow(img)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    return fig


def keep_items(found, tagged: tuple[str, ...], min_score: float = 0.5):
    """The detected items (best first, :class:`fsutils.instances.Instances`) whose class the tags
    name and whose score is at least ``min_score``, as ``(map, labels)`` — a uint8 map where item
    ``k`` is ``k + 1`` (a pixel of two items goes to the better) and their 1-based classes — or
    None when a tagged garment class has no such item."""
    from ..data import GARMENT_INSTANCE_CLASSES, INSTANCE_CLASSES

    kept = [i for i in found if i.cls in tagged and i.score >= min_score and i.mask.any()][:255]
    if not {c for c in tagged if c in GARMENT_INSTANCE_CLASSES} <= {i.cls for i in kept}:
        return None
    shape = found[0].mask.shape if found else (0, 0)
    imap = np.zeros(shape, dtype=np.uint8)
    for k, item in reversed(list(enumerate(kept))):  # the better item painted last wins
        imap[item.mask] = k + 1
    labels = [INSTANCE_CLASSES.index(i.cls) + 1 for i in kept]
    present = [k for k in range(len(kept)) if (imap == k + 1).any()]
    remap = np.zeros(256, dtype=np.uint8)
    remap[[k + 1 for k in present]] = np.arange(1, len(present) + 1)
    return remap[imap], [labels[k] for k in present]


def build_instances(tagged_root: str | Path, out: str | Path, split: str = "train",
                    weights: str = "ccp_maskrcnn", min_score: float = 0.5,
                    device: str | None = None, progress: bool = True) -> int:
    """Write ``out/NNNN.png`` (the item map) and ``out/NNNN.json`` (its classes) for every tagged
    photo of ``split`` whose garments the detector finds (see :func:`keep_items`); a photo it
    does not is recorded in ``out/left_out.txt``. Returns the number of photos kept."""
    import json

    from tqdm.auto import tqdm

    from ..instances import InstanceSegmenter
    from ..io import load_image
    from ..tags import load_tagged

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    detector = InstanceSegmenter(weights, device)
    left = out / "left_out.txt"
    done = set(left.read_text().split()) if left.is_file() else set()
    for tagged in tqdm(load_tagged(tagged_root, split), desc="pseudo-items", disable=not progress):
        if (out / f"{tagged.image_id}.json").is_file() or tagged.image_id in done:
            continue
        photo = load_image(Path(tagged_root) / "photos" / f"{tagged.image_id}.jpg")
        kept = keep_items(detector.predict(photo), tagged.instances, min_score)
        if kept is None:
            with left.open("a") as f:
                f.write(tagged.image_id + "\n")
            continue
        Image.fromarray(kept[0]).save(out / f"{tagged.image_id}.png")
        (out / f"{tagged.image_id}.json").write_text(json.dumps(kept[1]))
    return len(list(out.glob("*.json")))


def instance_triples(tagged_root: str | Path, items: str | Path) -> list[tuple[Path, Path, list[int]]]:
    """``(photo, item map, classes)`` of a pseudo-item folder (training photos only)."""
    import json

    return [(Path(tagged_root) / "photos" / f"{p.stem}.jpg", p.with_suffix(".png"),
             json.loads(p.read_text()))
            for p in _training_files(items, ".json", "pseudo-items", " --instances")]


def main(argv: list[str] | None = None) -> int:
    from ..args import Parser, device, number

    p = Parser(prog="python -m fsutils.training.pseudo", description=__doc__,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tagged-root", required=True, help="folder of tagged CCP photos")
    p.add_argument("--out", required=True, help="folder for the pseudo-label PNGs")
    p.add_argument("--instances", action="store_true",
                   help="the garment detector's items instead of the cloth model's classes")
    p.add_argument("--weights", default=None,
                   help="the model that says where (default: ccp_deeplab, or ccp_maskrcnn with --instances)")
    p.add_argument("--threshold", type=number(low=0, high=1), default=0.5,
                   help="leave out pixels whose restricted probability (items whose score) is below this")
    p.add_argument("--device", type=device, default=None)
    p.add_argument("--no-progress", dest="progress", action="store_false")
    a = p.parse_args(argv)
    if a.instances:
        n = build_instances(a.tagged_root, a.out, "train", a.weights or "ccp_maskrcnn",
                            a.threshold, a.device, a.progress)
        print(f"{n} photos with pseudo-items in {a.out}")
    else:
        n = build(a.tagged_root, a.out, "train", a.weights or "ccp_deeplab", a.threshold,
                  a.device, a.progress)
        print(f"{n} pseudo-labels in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
