"""Real browser: the segmentation explorer's "labels over the photo" tile and the instance
panel's "items found" tile are live pictures (``fsutils.widgets.live``): dragging the opacity
slider recomposes them in the page, with no kernel round trip, and after the release the canvas
is the kernel's own picture at the opacity the kernel got (``segment.overlay``,
``instances.viz.draw``), within 2 levels of 255. Voila on 127.0.0.1, headless Debian Chromium;
the plumbing is in ``tests/jupyter_browser.py``. Select with ``-m browser``."""
from __future__ import annotations

import time

import numpy as np
import pytest

from tests import jupyter_browser as jb
from tests.test_browser import browser, session  # noqa: F401  (the fixture and the server)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CANVAS = ".fsutils-live-canvas"

_SETUP = '''
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

def save(picture, opacity):
    SEEN.append(opacity)
    np.save(OUT + ".npy.tmp.npy", np.asarray(picture))
    os.replace(OUT + ".npy.tmp.npy", OUT + ".npy")
    with open(OUT + ".json.tmp", "w") as f:
        json.dump({{"opacity": opacity, "seen": SEEN}}, f)
    os.replace(OUT + ".json.tmp", OUT + ".json")
'''


def segmentation_notebook(out: str) -> list[str]:
    """A 320-px-high photo (the panel's display height: the canvas is the photo's own pixels) and
    a segmentation explorer whose kernel writes ``segment.overlay`` at every opacity it gets."""
    return [_SETUP.format(out=out), '''
from fsutils.segment import overlay

panel = widgets.SegmentationExplorer(pipe)
panel.opacity.observe(lambda change: save(overlay(pipe.content, pipe.labels(), change["new"]),
                                          change["new"]), names="value")
panel''']


def instance_notebook(out: str) -> list[str]:
    """The same photo and an instance panel whose kernel writes ``instances.viz.draw`` of the
    ticked items at every opacity it gets."""
    return [_SETUP.format(out=out), '''
from fsutils.instances.viz import draw

panel = widgets.InstancePanel(pipe, style={"method": "fast", "style": "candy"})
panel.opacity.observe(lambda change: save(draw(pipe.content, pipe.instances(), panel.garments,
                                               opacity=change["new"]), change["new"]),
                      names="value")
panel''']


def drag_and_compare(page, out, view: str) -> None:
    """Drag the opacity handle of ``.view``'s panel with the mouse: the canvas changes during the
    drag, the kernel hears the release only, and the canvas then shows the kernel's picture."""
    page.locator(CANVAS).first.wait_for(state="visible", timeout=jb.PANEL_TIMEOUT_MS)
    page.wait_for_function(f"() => +document.querySelector('{CANVAS}').dataset.frames > 0",
                           timeout=jb.PANEL_TIMEOUT_MS)
    jb.assert_no_tracebacks(page)
    start = jb.canvas_pixels(page)
    track, y = jb.press_slider(page, "fsutils-opacity")
    during = []
    for f in (0.9, 0.6, 0.1):
        page.mouse.move(track["x"] + f * track["width"], y, steps=4)
        time.sleep(0.1)
        during.append(jb.canvas_pixels(page))
    assert not out.with_suffix(".json").exists(), "the kernel heard the drag before the release"
    assert jb.changed(during[0], start), "the live picture did not change during the drag"
    assert jb.changed(during[0], during[-1]), "the live picture stopped following the drag"
    page.mouse.up()
    meta = jb.read_after_release(out.with_suffix(".json"))
    value = meta["opacity"]
    assert len(meta["seen"]) == 1, meta                      # the kernel heard the release only
    assert abs(jb.slider_value(page, "fsutils-opacity") - value) < 1e-9
    page.wait_for_function(f"(v) => Math.abs(+document.querySelector('{CANVAS}')"
                           ".dataset.strength - v) < 1e-9", arg=value, timeout=30_000)
    kernel = np.load(out.with_suffix(".npy")).astype(int)
    shown = jb.canvas_pixels(page).astype(int)
    assert shown.shape == kernel.shape, (shown.shape, kernel.shape)
    diff = np.abs(shown - kernel).max(axis=-1)
    assert diff.max() <= 2, f"canvas vs the kernel's picture: max difference {diff.max()}"
    # the kernel's picture (the other tiles) is still there below the live one
    assert page.locator(f".{view} img").last.is_visible()
    jb.assert_no_tracebacks(page)


@pytest.mark.timeout(900)
def test_voila_live_segmentation_overlay_follows_the_opacity_drag(browser, tmp_path,  # noqa: F811
                                                                 request):
    out = tmp_path / "kernel_overlay"
    with session(browser, "voila", tmp_path, request, tiny=False,
                 extra={"seg.ipynb": segmentation_notebook(str(out))}) as (server, page, errors):
        page.goto(server.url("seg.ipynb"), wait_until="commit", timeout=jb.PANEL_TIMEOUT_MS)
        drag_and_compare(page, out, "fsutils-segmentation-view")


@pytest.mark.timeout(900)
def test_voila_live_instance_tile_follows_the_opacity_drag(browser, tmp_path,  # noqa: F811
                                                           request):
    out = tmp_path / "kernel_items"
    with session(browser, "voila", tmp_path, request, tiny=False,
                 extra={"items.ipynb": instance_notebook(str(out))}) as (server, page, errors):
        page.goto(server.url("items.ipynb"), wait_until="commit", timeout=jb.PANEL_TIMEOUT_MS)
        drag_and_compare(page, out, "fsutils-instances-view")
