"""Time of a click on a 1024-px photo (a CCP sample enlarged to a longest side of 1024 px): the
pipeline's expensive stages (the cloth model's labels, the garment detector's items) run once and
are cached per photo; a click only picks the garment under it (fsutils.clicks).

    python benchmarks/click_benchmark.py [--size 1024] [--repeat 30] [--tiny]

Prints the median and 90th-percentile wall-clock milliseconds and the median CPU milliseconds of:
the once-per-photo ownership map (``fsutils.clicks.owners``: which item owns each pixel), a click
(``fsutils.clicks.pick_points``: the garment under one point of the photo), and a click through the
pipeline (``Pipeline.mask([(x, y)])`` on a new point, its stages cached), each at a different
garment point; the last line is the pipeline's click against the 100 ms target.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import torch
from PIL import Image

from timing import parser, wall_and_cpu_ms
from fsutils.clicks import owners, pick_points
from fsutils.garments import resolve_garments
from fsutils.pipeline import Pipeline

PHOTO = Path(__file__).resolve().parent.parent / "fsutils" / "assets" / "samples" / "people" / "ccp_0001.jpg"
TARGET_MS = 100.0


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--size", type=int, default=1024, help="the photo's longest side (px)")
    p.add_argument("--repeat", type=int, default=30)
    args = p.parse_args(argv)
    if args.tiny:
        args.size, args.repeat = 256, 2
    photo = Image.open(PHOTO).convert("RGB")
    scale = args.size / max(photo.size)
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)),
                         Image.Resampling.LANCZOS)
    pipe = Pipeline(device="cpu")
    pipe.set_image(photo)
    labels, items = pipe.labels(), pipe.instances()   # the stages a click reads, made once
    ys, xs = (labels > 0).nonzero()
    if not len(xs):
        raise SystemExit("the cloth model finds no garment on the benchmark photo")
    step = max(1, len(xs) // 97)
    points = itertools.cycle([(int(x), int(y)) for x, y in zip(xs[::step], ys[::step])])
    print(f"photo {photo.width}x{photo.height}, {len(items)} item(s) found, torch "
          f"{torch.__version__}, {torch.get_num_threads()} CPU threads")
    own = owners(labels, items)
    rows = [("owners (once per photo)", lambda: owners(labels, items)),
            ("a click (pick)", lambda: pick_points(labels, own, resolve_garments([next(points)]))),
            ("a click through the pipeline", lambda: pipe.mask([next(points)]))]
    for name, fn in rows:
        med, p90, cpu = wall_and_cpu_ms(fn, args.repeat)
        print(f"{name:30s} median {med:7.1f} ms  p90 {p90:7.1f} ms  cpu {cpu:7.1f} ms")
    print(f"a click at {max(photo.size)} px: median {med:.1f} ms (target ≤ {TARGET_MS:g} ms: "
          f"{'met' if med <= TARGET_MS else 'not met'})")


if __name__ == "__main__":
    main()
