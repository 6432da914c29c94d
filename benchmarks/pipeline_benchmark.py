"""How fast does a blend slider respond? Median latency of a pipeline re-run that only re-blends.

The notebooks' blend panel calls ``Pipeline.run`` with every parameter on each slider change; the
caches make everything but the blend a lookup. This script measures that call on a 1024-px photo
(target ≤ 50 ms median on a 2-core CPU) for each blend mode, plus the conversion to the 8-bit frame
a screen shows, and prints the figures.

    python benchmarks/pipeline_benchmark.py [--size 1024] [--repeats 30] [--real] [--tiny]

By default the segmentation, saliency and style stages are stand-ins (their results are cached and
do not take part in the measurement anyway); ``--real`` runs the kit's own models once first
(needs the weights: the bundled cloth model, ``u2netp`` and ``fast_style/candy``, e.g. through
``FSUTILS_WEIGHTS_MIRROR``).
"""
from __future__ import annotations

import itertools
import time

import numpy as np
from PIL import Image

from fsutils.blend import BlendParams
from fsutils.io import to_uint8
from fsutils.pipeline import Pipeline
from timing import parser, wall_and_cpu_ms


def _fake_photo(size: int) -> Image.Image:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = np.stack([x, y, 1 - x], axis=2) * 200 + rng.normal(0, 20, (size, size, 3))
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def _fake_stages(size: int):
    def segment(photo):
        w, h = photo.size
        yy, xx = np.mgrid[0:h, 0:w]
        lab = np.zeros((h, w), np.uint8)
        body = (np.abs(xx - w / 2) < w / 4)
        lab[body & (yy < h / 2)] = 1
        lab[body & (yy >= h / 2)] = 2
        return lab

    def saliency(photo):
        w, h = photo.size
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        return np.exp(-((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / (2 * (w / 4) ** 2))

    def style(content, style, **kw):
        return Image.fromarray(255 - np.asarray(content))

    return segment, saliency, {"fake": style}


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--size", type=int, default=1024, help="photo size (square), default 1024")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--real", action="store_true", help="use the kit's real models for stages 1–3")
    args = ap.parse_args(argv)
    if args.tiny:
        args.size, args.repeats = 96, 2

    import torch
    print(f"torch threads: {torch.get_num_threads()}, photo {args.size}×{args.size}")
    if args.real:
        import fsutils.io as fio
        photo = fio.load_image(fio.sample_photos()[0]).resize((args.size, args.size))
        pipe = Pipeline(photo_size=args.size, style_size=512)
        method, style = "fast", "candy"
    else:
        photo = _fake_photo(args.size)
        seg, sal, stylers = _fake_stages(args.size)
        pipe = Pipeline(seg, sal, stylers=stylers, photo_size=args.size, style_size=args.size,
                        class_names=("background", "upper body", "lower body", "full body"))
        method, style = "fake", None

    t0 = time.perf_counter()
    pipe.set_image(photo)
    pipe.run(method=method, style=style, garments=(1, 2), blend=BlendParams("saliency"))
    print(f"first run (all stages): {(time.perf_counter() - t0) * 1e3:.0f} ms")
    pipe.run(method=method, style=style, garments=(1, 2), blend=BlendParams("feathered"))
    before = dict(pipe.computed)

    rng = np.random.default_rng(1)
    garments = itertools.cycle(((1,), (2,), (1, 2)))

    def change(mode: str, param: str | None) -> dict:
        """The next slider value (random strength or width), or the next garment selection."""
        blend, chosen = BlendParams(mode, strength=1.0, width=8.0), (1, 2)
        if param == "strength":
            blend = blend.replace(strength=float(rng.uniform(0.05, 2.0)))
        elif param == "width":
            blend = blend.replace(width=float(rng.uniform(1.0, 20.0)))
        else:  # a hard paste changes with the garment selection: measure the recomputation
            chosen = next(garments)
            pipe._cache.clear("blend", "mask")
        return {"blend": blend, "garments": chosen}

    print(f"{'change':<34} {'median ms':>9} {'p90 ms':>7} {'CPU ms':>7}  {'+ uint8 frame':>13}  "
          f"× the hard paste's")
    results = {}
    for mode, param in [("hard", None), ("saliency", "strength"), ("feathered", "width")]:
        blend = wall_and_cpu_ms(lambda: pipe.run(method=method, style=style,
                                                 **change(mode, param)), args.repeats)
        frame = wall_and_cpu_ms(lambda: to_uint8(pipe.run(method=method, style=style,
                                                          **change(mode, param)).output),
                                args.repeats)
        results[mode] = frame[0]
        label = f"{mode} ({param or 'garments'})"
        print(f"{label:<34} {blend[0]:9.1f} {blend[1]:7.1f} {blend[2]:7.1f}  {frame[0]:13.1f}  "
              f"{frame[0] / results['hard']:.2f}")
    after = dict(pipe.computed)
    recomputed = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    print(f"stages recomputed during the measurement: {recomputed}")
    try:  # the whole blend-panel redraw: blend, close-ups, seam scores, picture, JPEG
        from fsutils.widgets import BlendPanel
    except ImportError:  # ipywidgets not installed
        BlendPanel = None
    if BlendPanel is not None:
        panel = BlendPanel(pipe, style={"method": method, "style": style})
        values = itertools.cycle(round(0.1 + i * 0.2, 2) for i in range(10))

        def slide() -> None:
            panel.strength.value = next(values)

        med = wall_and_cpu_ms(slide, max(2, args.repeats // 3))[0]
        print(f"blend panel redraw after a strength change (incl. close-ups, seam scores, JPEG): "
              f"median {med:.0f} ms ({med / results['hard']:.1f}× the hard paste's frame)")
    worst = max(results.values())
    print(f"slider latency (re-blend → {args.size}-px uint8 frame), worst mode median: "
          f"{worst:.1f} ms ({'within' if worst <= 50 else 'OVER'} the 50 ms target)")


if __name__ == "__main__":
    main()
