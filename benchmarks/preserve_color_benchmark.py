"""Keeping the photo's colours: luminance transfer (the kit's ``preserve_color``) against
histogram matching, on the garments of CCP photos.

For each photo the fast ``candy`` model stylises it; the stylised image's colours are then put
back to the photo's in two ways: (a) luminance transfer, the stylised CIELAB ``L*`` with the
photo's ``a*, b*`` (:func:`fsutils.style.color.keep_photo_color`); (b) each RGB channel of the
stylised image matched to the photo's histogram (quantile mapping). On the annotated garment
pixels it prints the mean ``|Δa*|``, ``|Δb*|`` to the photo (lower: its colours kept) and the mean
``|ΔL*|`` (the texture: higher = more of the style left). Validation photos (the choice), then
test photos (the report).

    python benchmarks/preserve_color_benchmark.py --photos 8 --size 256 [--tiny]
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fsutils import data  # noqa: E402
from fsutils.style.color import keep_photo_color  # noqa: E402
from fsutils.style.fast import fast_stylize  # noqa: E402
from timing import parser  # noqa: E402


def histogram_match(stylised: Image.Image, photo: Image.Image) -> Image.Image:
    """Each channel of ``stylised`` mapped so that its histogram is the photo's."""
    s, p = np.asarray(stylised), np.asarray(photo.resize(stylised.size))
    out = np.empty_like(s)
    for c in range(3):
        order = np.argsort(s[..., c], axis=None, kind="stable")
        ranks = np.empty(order.size, np.int64)
        ranks[order] = np.arange(order.size)
        target = np.sort(p[..., c], axis=None)
        out[..., c] = target[ranks].reshape(s.shape[:2])
    return Image.fromarray(out)


def lab(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img, np.float32) / 255, cv2.COLOR_RGB2Lab)


def measure(ids: list[str], root: str, size: int) -> dict[str, np.ndarray]:
    lookup = data.label_lookup(data.read_label_names(root))
    rows: dict[str, list] = {"none": [], "luminance": [], "histogram": []}
    for i in ids:
        photo, gt = data.load_pair(root, i)
        scale = size / max(photo.size)
        wh = (round(photo.width * scale), round(photo.height * scale))
        photo = photo.resize(wh, Image.Resampling.LANCZOS)
        garment = cv2.resize(lookup[gt], wh, interpolation=cv2.INTER_NEAREST) > 0
        styled = fast_stylize(photo, "candy")
        ref = lab(photo)
        for name, img in (("none", styled), ("luminance", keep_photo_color(styled, photo)),
                          ("histogram", histogram_match(styled, photo))):
            d = np.abs(lab(img) - ref)[garment]
            rows[name].append(d.mean(axis=0))       # |ΔL*|, |Δa*|, |Δb*|
    return {k: np.mean(v, axis=0) for k, v in rows.items()}


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--photos", type=int, default=8, help="photos per split")
    ap.add_argument("--size", type=int, default=256, help="the photos' longer side (px)")
    args = ap.parse_args()
    if args.tiny:
        args.photos, args.size = 1, 64
    root = str(data.locate_ccp(os.environ.get("FSUTILS_CCP_ROOT")))
    ids = data.list_ids(root)
    for split in ("val", "test"):
        chosen = data.ids_in_split(ids, split)[: args.photos]
        for name, (dl, da, db) in measure(chosen, root, args.size).items():
            print(f"{split} {name:9s} |dL*|={dl:5.2f} |da*|={da:5.2f} |db*|={db:5.2f}")


if __name__ == "__main__":
    main()
