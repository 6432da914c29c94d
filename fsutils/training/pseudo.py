"""Pseudo-labels from photos with image-level tags: the cloth model's own per-pixel answer,
restricted to the garments the photo's tags name.

A tagged photo says which garments are there, not where (:mod:`fsutils.tags`). The cloth model
says where, but confuses which (a top with a skirt read as a dress). Together: each pixel takes
the most probable of the classes the tags allow (background and the tagged garment classes),
and a pixel whose restricted probability stays below ``threshold`` is left out of the loss
(label 255). The cloth task trains on these beside the annotated photos (``pseudo_labels``).

    python -m fsutils.training.pseudo --tagged-root DIR --out runs/pseudo [--split train]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["IGNORE", "restrict", "build", "pairs", "main"]

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


def pairs(tagged_root: str | Path, labels: str | Path) -> list[tuple[Path, Path]]:
    """``(photo, pseudo-label)`` files of a pseudo-label folder, in id order (a split's training
    photos only: :func:`build` writes no other)."""
    from ..data import split_of

    found = sorted(Path(labels).glob("[0-9]*.png"))
    if not found:
        raise FileNotFoundError(f"{labels} holds no pseudo-labels; make them with "
                                f"`python -m fsutils.training.pseudo --tagged-root DIR --out {labels}`.")
    bad = [p.stem for p in found if split_of(p.stem) != "train"]
    if bad:
        raise ValueError(f"{labels} holds pseudo-labels of photos outside the training split "
                         f"({', '.join(bad[:5])}); validation and test photos must not be trained on.")
    return [(Path(tagged_root) / "photos" / f"{p.stem}.jpg", p) for p in found]


def main(argv: list[str] | None = None) -> int:
    from ..args import Parser, device, number

    p = Parser(prog="python -m fsutils.training.pseudo", description=__doc__,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tagged-root", required=True, help="folder of tagged CCP photos")
    p.add_argument("--out", required=True, help="folder for the pseudo-label PNGs")
    p.add_argument("--weights", default="ccp_deeplab", help="the cloth model that says where")
    p.add_argument("--threshold", type=number(low=0, high=1), default=0.5,
                   help="leave out pixels whose restricted probability is below this")
    p.add_argument("--device", type=device, default=None)
    p.add_argument("--no-progress", dest="progress", action="store_false")
    a = p.parse_args(argv)
    n = build(a.tagged_root, a.out, "train", a.weights, a.threshold, a.device, a.progress)
    print(f"{n} pseudo-labels in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
