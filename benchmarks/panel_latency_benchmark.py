"""How long from releasing a blend-panel slider to the new picture on the screen, in a real browser?

Starts Voila (and, with ``--lab``, JupyterLab) on 127.0.0.1 with a notebook that opens the blend
panel on a 1024-px photo (the kit's real models: the bundled cloth model, ``u2netp`` and the
``candy`` fast model, e.g. through ``FSUTILS_WEIGHTS_MIRROR``), drags the saliency-strength slider
with the mouse in headless Chromium (``/usr/bin/chromium``) and takes, in the page,
``performance.now()`` at the mouse release and when the new picture has been decoded and painted.

Two panels on the same pipeline are measured in the same run, alternately:

- **baseline**: the former panel — every blend computed at full resolution and then cropped and
  shrunk for the picture, shown as a PNG in the panel's ``Output`` (base64 in a JSON message, the
  output area rebuilt on every redraw);
- **panel**: the panel as it is (only the pixels shown are blended, ``fsutils.views``;
  JPEG bytes in an ``ipywidgets.Image``).

It prints the median (and each release) per panel, the median redraw time inside the kernel, and
the ratio panel / baseline.

    python benchmarks/panel_latency_benchmark.py [--releases 11] [--lab] [--tiny]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import jupyter_browser as jb  # noqa: E402  (the browser plumbing of the tests)
from timing import parser  # noqa: E402

SIZE = 1024  # the photo's longer side (--tiny: 256)

CELLS = ['''
import time
import numpy as np
from PIL import Image
from fsutils import io as fio, widgets
from fsutils.pipeline import Pipeline
from fsutils.widgets.drawing import picture_output

SIZE = %d

photo = fio.load_image(fio.sample_path("ccp_0006"))
scale = SIZE / max(photo.size)
photo = photo.resize((round(photo.width * scale), round(photo.height * scale)),
                     Image.Resampling.LANCZOS)
pipe = Pipeline(photo_size=SIZE)
pipe.set_image(photo, name="ccp_0006")


class FormerBlendPanel(widgets.BlendPanel):
    """The baseline: every blend at full resolution (then cropped and shrunk for the picture),
    and the picture as a PNG display message in the Output."""

    def show_image(self, img):
        self.last_image = img
        self._pending.append(picture_output(img, "png"))

    def render(self):
        from PIL import ImageDraw
        from fsutils.blend import seam_score
        from fsutils.widgets.drawing import compose

        classes = self.garments.garments
        if not self.ensure_style(self.style):
            return
        mask = self.pipe.mask(classes)
        self._place_box(mask)
        params = self.params
        self._enable_used_sliders(params)
        result = self.pipe.blend(params, garments=classes)
        x0, y0, x1, y1 = self.crop_box()
        crops, self.seam = [], {}
        for m in dict.fromkeys(["hard", "saliency", params.mode]):
            img = result if m == params.mode else self.pipe.blend(params.replace(mode=m),
                                                                  garments=classes)
            crop = img[y0:y1, x0:x1]
            self.seam[m] = seam_score(np.ascontiguousarray(crop), mask[y0:y1, x0:x1])
            crops.append((crop, f"{m}: seam {self.seam[m]:.3f}"))
        weight = self.pipe.weight(params, garments=classes)
        if weight is not None:
            crops.append((fio.to_uint8(weight[y0:y1, x0:x1]), "weight W"))
        frame = fio.to_pil(result)
        ImageDraw.Draw(frame).rectangle((x0, y0, x1 - 1, y1 - 1), outline=(0, 200, 255),
                                        width=max(1, frame.width // 256))
        full = compose([(frame, params.mode)])
        zoom = compose(crops, nearest=True)
        self.show_image(compose([(full, ""), (zoom, "")], height=full.height))


def timed(panel):
    """Show the median kernel-side redraw time of ``panel`` (ms) in a label under it."""
    import statistics
    import ipywidgets as W

    times, label, render = [], W.HTML(), panel.refresh
    label.add_class("bench-ms")

    def refresh():
        t = time.perf_counter()
        render()
        times.append((time.perf_counter() - t) * 1e3)
        label.value = f"{statistics.median(times):.1f}"

    panel.refresh = refresh
    panel.children = (*panel.children, label)
    return panel
''', '''
# its own pipeline (same models), so that neither panel finds the other's blends in the cache
base_pipe = Pipeline(segment=pipe.segmenter, photo_size=SIZE)
base_pipe.set_image(photo, name="ccp_0006")
baseline = timed(FormerBlendPanel(base_pipe, style={"method": "fast", "style": "candy"}))
baseline.add_class("bench-baseline")
baseline
''', '''
panel = timed(widgets.BlendPanel(pipe, style={"method": "fast", "style": "candy"}))
panel.add_class("bench-panel")
panel
''']


def _open(kind: str, server, page) -> None:
    page.goto(server.url("latency.ipynb"), wait_until="commit", timeout=jb.PANEL_TIMEOUT_MS)
    if kind == "lab":
        jb.run_all_in_lab(page)
    for which in ("baseline", "panel"):
        page.locator(f".bench-{which} .fsutils-blend-view img").last.wait_for(
            state="visible", timeout=jb.PANEL_TIMEOUT_MS)


def measure(kind: str, releases: int, size: int = SIZE) -> dict[str, list[float]]:
    cells = [CELLS[0] % size, *CELLS[1:]]
    with tempfile.TemporaryDirectory() as tmp, jb.chromium() as browser:
        server = jb.JupyterServer(kind, Path(tmp), extra={"latency.ipynb": cells}, tiny=False)
        try:
            server.wait_ready()
            context, page = jb.new_page(browser)
            _open(kind, server, page)
            got: dict[str, list[float]] = {"baseline": [], "panel": []}
            for i in range(releases):
                fraction = 0.2 + 0.6 * ((i * 7) % releases) / releases
                for which in ("baseline", "panel"):
                    root = f".bench-{which}"
                    jb.install_latency_probe(page, f"{root} .fsutils-blend-view")
                    got[which] += jb.release_to_picture_ms(page, "fsutils-strength", [fraction],
                                                           root=root)
            for which in ("baseline", "panel"):
                got[f"{which} kernel"] = [float(page.locator(f".bench-{which} .bench-ms")
                                                .inner_text())]
            context.close()
        finally:
            server.stop()
    return got


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--releases", type=int, default=11, help="slider releases per panel")
    ap.add_argument("--lab", action="store_true", help="also measure in JupyterLab")
    args = ap.parse_args(argv)
    size = 256 if args.tiny else SIZE
    if args.tiny:
        args.releases, args.lab = 1, False
    print(f"blend panel on a {size}-px photo, saliency-strength slider, "
          f"{args.releases} releases per panel")
    for kind in ["voila"] + (["lab"] if args.lab else []):
        got = measure(kind, args.releases, size)
        med = {k: statistics.median(v) for k, v in got.items()}
        for k in ("baseline", "panel"):
            print(f"{kind:<6} {k:<9} release → picture median {med[k]:6.1f} ms   "
                  f"({', '.join(f'{x:.0f}' for x in got[k])}); redraw in the kernel: median "
                  f"{med[k + ' kernel']:.1f} ms")
        print(f"{kind:<6} ratio panel / baseline: {med['panel'] / med['baseline']:.2f}  "
              f"({'within' if med['panel'] <= 150 else 'OVER'} the 150 ms target)")


if __name__ == "__main__":
    main()
