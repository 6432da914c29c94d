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

``--drag`` measures the live picture instead (the whole photo recomposed in the page,
:mod:`fsutils.widgets.live`) against today's round-trip panel (``BlendPanel(live=False)``: the
kernel re-blends on release and sends a JPEG), both in the same run: the frames actually painted
per second while the strength slider is dragged across its range (a ``requestAnimationFrame``
loop in the page counts the frames in which the canvas's ``data-frames`` counter changed), and
slider release → the whole photo painted at the released value, in Voila and (with ``--lab``)
JupyterLab. Its last line is
``drag_fps=<f> release_ms_lab=<f> release_ms_voila=<f> kernel_ms=<f>`` (``drag_fps``: the lower of
the two front ends; ``kernel_ms``: the live panel's median redraw in the kernel on release, the
close-ups and seam scores; a front end not measured reads ``nan``).

    python benchmarks/panel_latency_benchmark.py [--releases 11] [--lab] [--drag] [--tiny]
"""
from __future__ import annotations

import math
import statistics
import sys
import tempfile
import time
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
base_pipe = Pipeline(segment=pipe.models.segmenter, photo_size=SIZE)
base_pipe.set_image(photo, name="ccp_0006")
baseline = timed(FormerBlendPanel(base_pipe, style={"method": "fast", "style": "candy"},
                                  live=False))
baseline.add_class("bench-baseline")
baseline
''', '''
panel = timed(widgets.BlendPanel(pipe, style={"method": "fast", "style": "candy"}))
panel.add_class("bench-panel")
panel
''']


#: --drag: today's round-trip panel and the live one, each on its own pipeline (same models)
DRAG_CELLS = [CELLS[0], '''
base_pipe = Pipeline(segment=pipe.models.segmenter, photo_size=SIZE)
base_pipe.set_image(photo, name="ccp_0006")
baseline = timed(widgets.BlendPanel(base_pipe, style={"method": "fast", "style": "candy"},
                                    live=False))
baseline.add_class("bench-baseline")
baseline
''', '''
panel = timed(widgets.BlendPanel(pipe, style={"method": "fast", "style": "candy"}))
panel.add_class("bench-panel")
panel
''']

#: In the page: count the animation frames in which a panel's picture changed (the live
#: canvas's data-frames counter, or a new <img>) until window.__fsDrag.run turns false.
_FRAMES = """(root) => {
  const el = document.querySelector(root);
  const now = () => { const c = el.querySelector('.%s');
    const img = Array.from(el.querySelectorAll('img')).pop();
    return (c ? c.dataset.frames : '') + '|' + (img ? img.src : ''); };
  const st = window.__fsDrag = {frames: 0, moves: 0, ticks: 0, last: now(), run: true,
                                t0: performance.now(), t1: 0};
  document.addEventListener('pointermove', () => { if (st.run) st.moves++; }, {capture: true});
  const tick = () => {
    const v = now();
    st.ticks++;
    if (v !== st.last) { st.last = v; st.frames++; }
    if (st.run) requestAnimationFrame(tick); else st.t1 = performance.now();
  };
  requestAnimationFrame(tick);
}""" % jb.LIVE_CANVAS


def drag_fps(page, root: str, seconds: float = 2.0) -> tuple[float, float, float]:
    """Drag the strength slider of the panel ``root`` across its whole range with the mouse over
    ``seconds`` (the moves back to back, as fast as the driver sends them: a mouse reports at
    125 Hz or more) and return the frames per second in which the picture the user sees
    changed, the mouse moves per second the page received (no picture can change more
    often than the hand moves) and the animation frames per second the page was given (nor more
    often than the browser paints)."""
    track, y = jb.press_slider(page, "fsutils-strength", root)
    page.mouse.move(track["x"], y, steps=4)
    time.sleep(0.5)
    page.evaluate(_FRAMES, f"{root} .fsutils-blend-view")
    start = time.monotonic()
    while (t := time.monotonic() - start) < seconds:
        page.mouse.move(track["x"] + min(t / seconds, 1.0) * track["width"], y)
    got = page.evaluate("() => { const s = window.__fsDrag; s.run = false;"
                        " return [s.frames, s.moves, s.ticks, performance.now() - s.t0]; }")
    page.mouse.up()
    frames, moves, ticks, ms = got
    return frames / (ms / 1e3), moves / (ms / 1e3), ticks / (ms / 1e3)


def measure_drag(kind: str, releases: int, size: int = SIZE) -> dict[str, list[float]]:
    """--drag in ``kind`` (voila or lab): frames per second during a drag and release → picture
    for the round-trip panel and the live one."""
    cells = [DRAG_CELLS[0] % size, *DRAG_CELLS[1:]]
    got: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, jb.chromium() as browser:
        server = jb.JupyterServer(kind, Path(tmp), extra={"latency.ipynb": cells}, tiny=False)
        try:
            server.wait_ready()
            context, page = jb.new_page(browser)
            _open(kind, server, page)
            page.locator(f".bench-panel .{jb.LIVE_CANVAS}").first.wait_for(
                state="visible", timeout=jb.PANEL_TIMEOUT_MS)
            for which in ("baseline", "panel"):
                root = f".bench-{which}"
                jb.install_latency_probe(page, f"{root} .fsutils-blend-view")
                jb.wait_until_quiet(page)
                fps, moves, ticks = drag_fps(page, root)
                got[f"{which} fps"], got[f"{which} moves"] = [fps], [moves]
                got[f"{which} ticks"] = [ticks]
            for i in range(releases):
                fraction = _fraction(i)
                for which, picture in (("baseline", "img"), ("panel", "canvas")):
                    root = f".bench-{which}"
                    jb.install_latency_probe(page, f"{root} .fsutils-blend-view")
                    others: dict[str, list[float]] = {}
                    got.setdefault(which, []).extend(jb.release_to_picture_ms(
                        page, "fsutils-strength", [fraction], root=root, kind=picture,
                        others=others))
                    if which == "panel":
                        got.setdefault("panel close-ups", []).extend(others.get("img", []))
            for which in ("baseline", "panel"):
                got[f"{which} kernel"] = [float(page.locator(f".bench-{which} .bench-ms")
                                                .inner_text())]
            context.close()
        finally:
            server.stop()
    return got


def _drag_report(kinds: list[str], releases: int, size: int) -> None:
    fps, release, kernel = [], {"lab": math.nan, "voila": math.nan}, []
    for kind in kinds:
        got = measure_drag(kind, releases, size)
        med = {k: statistics.median(v) if v else math.nan for k, v in got.items()}
        print(f"{kind:<6} round trip  drag: {med['baseline fps']:5.1f} pictures/s; release → "
              f"picture median {med['baseline']:6.1f} ms "
              f"({', '.join(f'{x:.0f}' for x in got['baseline'])}); kernel redraw "
              f"{med['baseline kernel']:.1f} ms")
        print(f"{kind:<6} live panel  drag: {med['panel fps']:5.1f} frames/s (mouse moves "
              f"received {med['panel moves']:.1f}/s, animation frames {med['panel ticks']:.1f}/s); "
              "release → whole "
              f"photo median {med['panel']:6.1f} ms "
              f"({', '.join(f'{x:.0f}' for x in got['panel'])}); → kernel's close-ups median "
              f"{med.get('panel close-ups', math.nan):.1f} ms; kernel redraw "
              f"{med['panel kernel']:.1f} ms")
        fps.append(med["panel fps"])
        release[kind] = med["panel"]
        kernel.append(med["panel kernel"])
    print(f"drag_fps={min(fps):.1f} release_ms_lab={release['lab']:.1f} "
          f"release_ms_voila={release['voila']:.1f} kernel_ms={statistics.median(kernel):.1f}")


def _fraction(i: int) -> float:
    """The ``i``-th release's place on the track: spread over 0.2–0.8, each at least 0.23 of
    the track from the one before (the golden-ratio sequence), so every drag moves the slider."""
    return 0.2 + 0.6 * ((i * 0.6180339887) % 1.0)


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
                fraction = _fraction(i)
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
    ap.add_argument("--drag", action="store_true",
                    help="the live picture against the round-trip panel: frames per second "
                         "during a drag and release → picture")
    args = ap.parse_args(argv)
    if args.releases < 1:
        ap.error(f"--releases must be at least 1, not {args.releases}")
    size = 256 if args.tiny else SIZE
    if args.tiny:
        args.releases, args.lab = 1, args.lab and args.drag
    kinds = ["voila"] + (["lab"] if args.lab else [])
    if args.drag:
        print(f"blend panel on a {size}-px photo, saliency-strength slider: live picture vs "
              f"round trip, {args.releases} releases per panel")
        _drag_report(kinds, args.releases, size)
        return
    print(f"blend panel on a {size}-px photo, saliency-strength slider, "
          f"{args.releases} releases per panel")
    for kind in kinds:
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
