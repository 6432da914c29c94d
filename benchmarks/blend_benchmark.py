"""Median time of each blend mode on a 1024×1024 image (target: well under 50 ms on a 2-core CPU),
and its ratio to the hard paste measured in the same run.

    python benchmarks/blend_benchmark.py [--size 1024] [--repeat 30] [--tiny]

Inputs are random float32 images, a smooth random saliency map and an elliptical garment mask
(about a quarter of the frame). Prints one line per mode: median and 90th-percentile wall-clock milliseconds and the median CPU
milliseconds (the figure that does not depend on other jobs competing for the cores).
"""
from __future__ import annotations

import os

import numpy as np

from timing import parser, wall_and_cpu_ms
from fsutils.blend import (MODES, BlendParams, compose, feather_mask, feathered_blend, hard_paste,
                           saliency_blend, seam_score)


def _inputs(size: int):
    rng = np.random.default_rng(0)
    content = rng.random((size, size, 3), dtype=np.float32)
    stylized = rng.random((size, size, 3), dtype=np.float32)
    yy, xx = np.mgrid[0:size, 0:size] / size
    saliency = (0.5 + 0.5 * np.sin(6 * xx) * np.cos(5 * yy)).astype(np.float32)
    mask = ((xx - 0.5) / 0.3) ** 2 + ((yy - 0.55) / 0.4) ** 2 < 1
    return content, stylized, saliency, mask


def main(argv: list[str] | None = None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args(argv)
    if args.tiny:
        args.size, args.repeat = 64, 1
    c, s, sal, mask = _inputs(args.size)
    modes = {
        "hard_paste": lambda: hard_paste(c, s, mask),
        "saliency_blend": lambda: saliency_blend(c, s, sal, mask),
        "saliency_blend strength=0.7": lambda: saliency_blend(c, s, sal, mask, strength=0.7),
        "feathered_blend width=4": lambda: feathered_blend(c, s, mask, 4.0),
        "feathered_blend width=16": lambda: feathered_blend(c, s, mask, 16.0),
        "feathered_blend width=64": lambda: feathered_blend(c, s, mask, 64.0),
        "seam_score (whole image)": lambda: seam_score(c, mask),
    }
    prob = feather_mask(mask, 3.0)  # a soft garment probability
    for m in MODES:
        if m in ("soft", "soft_saliency", "guided", "guided_saliency", "poisson"):
            modes[f"compose {m}"] = (lambda p: lambda: compose(p, c, s, mask, probability=prob,
                                                               saliency=sal))(BlendParams(m))
    print(f"blend modes on {args.size}×{args.size}, {args.repeat} runs each "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):")
    base = None
    for name, fn in modes.items():
        med, p90, cpu = wall_and_cpu_ms(fn, args.repeat)
        base = base or cpu
        print(f"  {name:30s} median {med:7.2f} ms  p90 {p90:7.2f} ms  CPU {cpu:7.2f} ms  "
              f"({cpu / base:5.1f}× the hard paste's CPU time)")


if __name__ == "__main__":
    main()
