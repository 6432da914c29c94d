"""Real browser: the blend panel's live picture follows the strength slider while it is dragged
(recomposed in the page, no kernel round trip) and, after the release, shows the kernel's own
``Pipeline.blend`` (within 2 levels of 255). Voila on 127.0.0.1, headless Debian Chromium; the
plumbing is in ``tests/jupyter_browser.py``. Select with ``-m browser``."""
from __future__ import annotations

import time

import numpy as np
import pytest

from tests import jupyter_browser as jb
from tests.test_browser import browser, session  # noqa: F401  (the fixture and the server)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CANVAS = ".fsutils-live-canvas"


def live_notebook(out: str) -> list[str]:
    """A 320-px-high photo (the panel's display height: the canvas is the photo's own pixels)
    and a blend panel whose kernel writes its own ``Pipeline.blend`` at every strength it gets."""
    return [f'''
import json, os
import numpy as np
from PIL import Image
from fsutils import io as fio, widgets
from fsutils.pipeline import Pipeline

photo = fio.load_image(fio.sample_path("ccp_0006"))
photo = photo.resize((round(photo.width * 320 / photo.height), 320), Image.Resampling.LANCZOS)
pipe = Pipeline(photo_size=max(photo.size))
pipe.set_image(photo, name="ccp_0006")
OUT = {out!r}
SEEN = []

def dump(change):
    p = panel.params
    SEEN.append(change["new"])
    blend = fio.to_uint8(pipe.blend(p, garments=panel.garments.garments))
    np.save(OUT + ".npy.tmp.npy", blend)
    os.replace(OUT + ".npy.tmp.npy", OUT + ".npy")
    with open(OUT + ".json.tmp", "w") as f:
        json.dump({{"strength": p.strength, "seen": SEEN, "shape": list(blend.shape)}}, f)
    os.replace(OUT + ".json.tmp", OUT + ".json")
''', '''panel = widgets.BlendPanel(pipe, style={"method": "fast", "style": "candy"})
panel.strength.observe(dump, names="value")
panel''']


@pytest.mark.timeout(900)
def test_voila_live_blend_follows_the_drag_and_matches_the_kernel(browser, tmp_path,  # noqa: F811
                                                                  request):
    out = tmp_path / "kernel_blend"
    with session(browser, "voila", tmp_path, request, tiny=False,
                 extra={"live.ipynb": live_notebook(str(out))}) as (server, page, errors):
        page.goto(server.url("live.ipynb"), wait_until="commit", timeout=jb.PANEL_TIMEOUT_MS)
        page.locator(CANVAS).first.wait_for(state="visible", timeout=jb.PANEL_TIMEOUT_MS)
        page.wait_for_function(f"() => +document.querySelector('{CANVAS}').dataset.frames > 0",
                               timeout=jb.PANEL_TIMEOUT_MS)
        jb.assert_no_tracebacks(page)
        start = jb.canvas_pixels(page)
        # drag the strength handle with the mouse, reading the canvas before the release
        track, y = jb.press_slider(page, "fsutils-strength")
        during = []
        for f in (0.25, 0.15, 0.05):
            page.mouse.move(track["x"] + f * track["width"], y, steps=4)
            time.sleep(0.1)
            during.append(jb.canvas_pixels(page))
        assert jb.changed(during[-1], start), "the live picture did not change during the drag"
        assert jb.changed(during[0], during[-1]), "the live picture stopped following the drag"
        page.mouse.up()
        # the kernel's own blend at the strength the release gave it, and the canvas drawn for it
        meta = jb.read_after_release(out.with_suffix(".json"))
        value = meta["strength"]
        assert value < 1.0 and len(meta["seen"]) == 1, meta     # the kernel heard the release only
        shown_value = jb.slider_value(page, "fsutils-strength")       # the slider's readout
        assert abs(shown_value - value) < 1e-9, (shown_value, value)
        page.wait_for_function(f"(v) => Math.abs(+document.querySelector('{CANVAS}')"
                               ".dataset.strength - v) < 1e-9", arg=value, timeout=30_000)
        kernel = np.load(out.with_suffix(".npy")).astype(int)
        shown = jb.canvas_pixels(page).astype(int)
        assert shown.shape == kernel.shape, (shown.shape, kernel.shape)
        box = np.all(shown == (0, 200, 255), axis=-1)           # the zoom box's outline
        diff = np.abs(shown - kernel).max(axis=-1)[~box]
        assert diff.max() <= 2, f"canvas vs Pipeline.blend: max difference {diff.max()}"
        jb.assert_no_tracebacks(page)
