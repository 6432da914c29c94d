"""Real browser: every course notebook's panel (01–05, the pipeline panel's four tabs, and 08's
instance panel) in Voila, the blend panel in JupyterLab, driven with the mouse; and the blend panel's slider latency.

Voila (JupyterLab for one smoke test) runs on 127.0.0.1 with a random port and token and
throw-away Jupyter/IPython/matplotlib directories; headless Debian Chromium (/usr/bin/chromium,
never `playwright install`) opens the notebook; each test checks that the panel's sliders are
displayed, moves its controls with the mouse and asserts that the pixels of the rendered picture
change. Kernels run in tiny mode (``FSUTILS_TINY=1``) with the weights mirror; the latency test
uses the real models on a 1024-px photo. The plumbing is in ``tests/jupyter_browser.py``.

On failure a full-page screenshot and the server log are saved under ``$FSUTILS_TEST_ARTIFACTS``
(default ``outputs/test-artifacts/``). Recipe and pitfalls: ``../shared/docs/browser-testing.md``.
Select with ``-m browser``.
"""
from __future__ import annotations

import contextlib
import re
import statistics
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import jupyter_browser as jb

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHOTO = "ccp_0006"          # the photo the notebooks' cells use


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("playwright.sync_api")
    if not Path(jb.CHROMIUM).exists():
        pytest.skip(f"{jb.CHROMIUM} is not installed (apt-get install chromium fonts-dejavu-core)")
    with jb.chromium() as b:
        yield b


@contextlib.contextmanager
def session(browser, kind: str, tmp_path: Path, request, **server_kw):
    """A server of ``kind`` and a fresh page; on failure, a screenshot and the server log."""
    pytest.importorskip("voila" if kind == "voila" else "jupyterlab")
    server = jb.JupyterServer(kind, tmp_path, **server_kw)
    context = page = None
    errors: list[str] = []
    try:
        server.wait_ready()
        context, page = jb.new_page(browser, errors)
        yield server, page, errors
    except BaseException:
        jb.ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        if page is not None:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(jb.ARTIFACTS / f"{name}.png"), full_page=True)
        with contextlib.suppress(Exception):
            (jb.ARTIFACTS / f"{name}.log").write_text(server.log() + "\npage errors:\n"
                                                      + "\n".join(errors))
        raise
    finally:
        if context is not None:
            with contextlib.suppress(Exception):
                context.close()
        server.stop()


def open_notebook(server, page, name: str, view: str) -> np.ndarray:
    """Open ``name`` and wait for the picture in ``.view`` (and its live picture, if any, to
    take over its tile); return its pixels."""
    page.goto(server.url(name), wait_until="commit", timeout=jb.PANEL_TIMEOUT_MS)
    if server.kind == "lab":
        jb.run_all_in_lab(page)
    page.locator(f".{view} img").first.wait_for(state="visible", timeout=jb.PANEL_TIMEOUT_MS)
    jb.wait_for_live(page, view)        # a live picture: once it has taken over its tile
    return jb.pixels(page, view)


def tick(page, css: str) -> None:
    """Click the checkbox with class ``css``."""
    page.locator(f".{css} input[type=checkbox]").first.click()


def picker_shows(page, name: str, root: str = "") -> None:
    status = page.locator(f"{root} .fsutils-photo-picker".strip()).first.inner_text()
    assert name in status, f"the photo picker shows {status!r}, not the notebook's {name}"


# -------------------------------------------------------------------------------------- tests


@pytest.mark.timeout(900)
def test_voila_segmentation_panel(browser, tmp_path, request):
    view = "fsutils-segmentation-view"
    with session(browser, "voila", tmp_path, request) as (server, page, errors):
        start = open_notebook(server, page, "01_cloth_segmentation.ipynb", view)
        jb.assert_no_tracebacks(page)
        picker_shows(page, PHOTO)                         # it opens on the cells' photo
        jb.assert_visible_sliders(page, "fsutils-opacity")
        jb.drag(page, "fsutils-opacity", 0.05)
        after = jb.wait_for_change(page, view, start, "dragging the opacity slider")
        tick(page, "fsutils-garment-1")
        jb.wait_for_change(page, view, after, "unticking the upper-body garment")
        jb.assert_no_tracebacks(page)


@pytest.mark.timeout(900)
def test_voila_saliency_panel(browser, tmp_path, request):
    view = "fsutils-saliency-view"
    with session(browser, "voila", tmp_path, request) as (server, page, errors):
        start = open_notebook(server, page, "02_saliency.ipynb", view)
        jb.assert_no_tracebacks(page)
        picker_shows(page, PHOTO)
        jb.assert_visible_sliders(page, "fsutils-threshold", "fsutils-gamma")
        jb.drag(page, "fsutils-threshold", 0.1)
        after = jb.wait_for_change(page, view, start, "dragging the threshold slider")
        jb.drag(page, "fsutils-gamma", 0.9)
        jb.wait_for_change(page, view, after, "dragging the gamma slider")
        jb.assert_no_tracebacks(page)


@pytest.mark.timeout(900)
def test_voila_style_panel(browser, tmp_path, request):
    view = "fsutils-style-view"
    with session(browser, "voila", tmp_path, request) as (server, page, errors):
        page.goto(server.url("03_style_transfer.ipynb"), wait_until="commit",
                  timeout=jb.PANEL_TIMEOUT_MS)
        run = page.locator(".fsutils-run").first
        run.wait_for(state="visible", timeout=jb.PANEL_TIMEOUT_MS)
        jb.assert_no_tracebacks(page)
        # Magenta (the default): its style-strength slider is shown, Gatys's and AdaIN's are not
        jb.assert_visible_sliders(page, "fsutils-style-strength", "fsutils-size")
        assert not page.locator(".fsutils-steps").first.is_visible()
        jb.assert_labels_fit(page, "fsutils-method")
        jb.assert_labels_fit(page, "fsutils-style-picker")
        buttons = page.locator(".fsutils-style-picker button").all_inner_texts()
        assert "vangogh" in buttons and "munch" in buttons, buttons
        run.click()
        page.locator(f".{view} img").first.wait_for(state="visible", timeout=jb.PANEL_TIMEOUT_MS)
        full = jb.pixels(page, view)
        jb.drag(page, "fsutils-style-strength", 0.0)    # the photo's own style
        run.click()
        weak = jb.wait_for_change(page, view, full, "running Magenta at style strength 0")
        # Gatys: its sliders appear (and Magenta's goes). It needs the ImageNet VGG-19: a new
        # picture where the weights can be obtained, else the panel shows the weights error
        page.locator(".fsutils-method button", has_text="Gatys").click()
        jb.assert_visible_sliders(page, "fsutils-content-weight", "fsutils-style-weight",
                                  "fsutils-steps", "fsutils-size")
        assert not page.locator(".fsutils-style-strength").first.is_visible()
        page.evaluate("window.__fsBefore = document.querySelector('.fsutils-style-view img').src")
        page.locator(".fsutils-run").first.click()
        page.wait_for_function(
            "() => { const v = document.querySelector('.fsutils-style-view');"
            " const img = v.querySelector('img');"
            " return v.innerText.includes('vgg19') || (img && img.offsetParent !== null"
            " && img.src !== window.__fsBefore); }",
            timeout=jb.PANEL_TIMEOUT_MS)
        img = page.locator(f".{view} img").first
        before = jb.pixels(page, view) if img.is_visible() else weak
        page.locator(".fsutils-method button", has_text="fast").click()
        jb.assert_visible_sliders(page, "fsutils-size")
        page.locator(".fsutils-run").first.click()
        img.wait_for(state="visible", timeout=jb.PANEL_TIMEOUT_MS)
        jb.wait_for_change(page, view, before, "running the fast method")
        assert "vgg19" not in page.locator(f".{view}").inner_text()   # an error went away
        jb.assert_no_tracebacks(page)


@pytest.mark.timeout(900)
def test_voila_blend_panel_reacts_to_mouse(browser, tmp_path, request):
    view = "fsutils-blend-view"
    with session(browser, "voila", tmp_path, request) as (server, page, errors):
        start = open_notebook(server, page, "04_saliency_blending.ipynb", view)
        jb.assert_no_tracebacks(page)
        scores = page.locator(".fsutils-seam-scores").inner_text()
        assert "hard" in scores and "saliency" in scores
        jb.assert_visible_sliders(page, "fsutils-strength", "fsutils-width", "fsutils-radius",
                                  "fsutils-eps", "fsutils-box-x", "fsutils-box-y",
                                  "fsutils-box-size")
        jb.assert_labels_fit(page, "fsutils-mode")

        value = jb.drag(page, "fsutils-strength", 0.1)             # saliency strength
        assert value < 1.0                                         # it started at 1
        after_strength = jb.wait_for_change(page, view, start, "dragging the strength slider")

        page.locator(".fsutils-mode button", has_text="feathered").click()
        after_mode = jb.wait_for_change(page, view, after_strength, "switching to feathered")
        jb.drag(page, "fsutils-width")                             # feather width
        after_width = jb.wait_for_change(page, view, after_mode, "dragging the feather width")

        page.locator(".fsutils-mode").get_by_role("button", name="guided", exact=True).click()
        after_guided = jb.wait_for_change(page, view, after_width, "switching to guided")
        jb.drag(page, "fsutils-radius", 0.9)                       # guided-filter radius
        after_radius = jb.wait_for_change(page, view, after_guided, "dragging the guided radius")

        x = jb.drag(page, "fsutils-box-x")                         # move the zoom box
        after_x = jb.wait_for_change(page, view, after_radius, "moving the zoom box horizontally")
        y = jb.drag(page, "fsutils-box-y")
        after_y = jb.wait_for_change(page, view, after_x, "moving the zoom box vertically")
        assert "guided" in page.locator(".fsutils-seam-scores").inner_text()

        tick(page, "fsutils-garment-2")                            # the box stays where it was
        jb.wait_for_change(page, view, after_y, "unticking the lower-body garment")
        assert (jb.slider_value(page, "fsutils-box-x"), jb.slider_value(page, "fsutils-box-y")) \
            == (x, y), "ticking a garment moved the zoom box the user had placed"
        jb.assert_no_tracebacks(page)


@pytest.mark.timeout(900)
def test_voila_instance_panel_ticks_restyle_the_items(browser, tmp_path, request):
    view = "fsutils-instances-view"
    with session(browser, "voila", tmp_path, request) as (server, page, errors):
        start = open_notebook(server, page, "08_garment_instances.ipynb", view)
        jb.assert_no_tracebacks(page)
        items = page.locator(".fsutils-instance-items").first.inner_text()
        labels = re.findall(r"(\w+) (?:\d\.\d\d|×\d+)", items)
        assert "outer" in labels, f"the panel lists {items!r}: no coat"
        boxes = page.locator(".fsutils-instance-outer input[type=checkbox]").first
        ticked = boxes.is_checked()
        tick(page, "fsutils-instance-outer")                 # the coat: restyled or not
        after = jb.wait_for_change(page, view, start, "ticking the coat")
        assert boxes.is_checked() != ticked
        tick(page, "fsutils-instance-outer")                 # back: the first picture again
        back = jb.wait_for_change(page, view, after, "unticking the coat")
        assert not jb.changed(back, start), "ticking the coat twice did not give the first picture"
        jb.assert_visible_sliders(page, "fsutils-opacity")
        jb.drag(page, "fsutils-opacity", 0.0)                # the masks' tint goes
        jb.wait_for_change(page, view, back, "dragging the overlay opacity")
        jb.assert_no_tracebacks(page)


def _saved(outputs: Path, kind: str, timeout_s: float = 120) -> np.ndarray:
    path = outputs / f"{PHOTO}_{kind}.png"
    deadline = time.monotonic() + timeout_s
    while not path.is_file() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(0.5)                                   # let the writer finish
    return np.asarray(Image.open(path).convert("RGB")).astype(float)


@pytest.mark.timeout(900)
def test_voila_pipeline_panel_tabs_and_save(browser, tmp_path, request):
    from fsutils import io as fio

    root = ".fsutils-pipeline"
    with session(browser, "voila", tmp_path, request) as (server, page, errors):
        seg = open_notebook(server, page, "05_full_pipeline.ipynb", "fsutils-segmentation-view")
        jb.assert_no_tracebacks(page)
        picker_shows(page, PHOTO, root)                  # the panel did not switch the photo

        # "Save the results" (the cell after the panel) wrote the notebook's photo, not another
        result = _saved(tmp_path / "outputs", "stylized")
        mask = _saved(tmp_path / "outputs", "mask")[..., 0] > 127
        size = result.shape[1], result.shape[0]
        diffs = {}
        for name in (PHOTO, "ccp_0001"):
            photo = fio.load_image(fio.sample_path(name)).resize(size, Image.Resampling.LANCZOS)
            diffs[name] = np.abs(result[~mask] - np.asarray(photo, float)[~mask]).mean()
        assert diffs[PHOTO] < 8 and diffs[PHOTO] < diffs["ccp_0001"] / 3, diffs

        tabs = page.locator(f"{root} .lm-TabBar-tab, {root} .p-TabBar-tab")
        jb.assert_visible_sliders(page, "fsutils-opacity", root=root)            # 1 · garments
        jb.drag(page, "fsutils-opacity", 0.05, root=root)
        jb.wait_for_change(page, "fsutils-segmentation-view", seg, "the garments tab's opacity")

        tabs.nth(1).click()                                                        # 2 · saliency
        sal = jb.pixels(page, "fsutils-saliency-view")
        jb.assert_visible_sliders(page, "fsutils-threshold", "fsutils-gamma", root=root)
        jb.drag(page, "fsutils-threshold", 0.1, root=root)
        jb.wait_for_change(page, "fsutils-saliency-view", sal, "the saliency tab's threshold")

        tabs.nth(2).click()                                                        # 3 · style
        jb.assert_visible_sliders(page, "fsutils-size", "fsutils-style-strength", root=root)
        jb.assert_labels_fit(page, "fsutils-method")
        before = jb.pixels(page, "fsutils-style-view")      # the latest stylised image
        page.locator(f"{root} .fsutils-method button", has_text="fast").click()
        page.locator(f"{root} .fsutils-fast-style select").first.select_option("mosaic")
        page.locator(f"{root} .fsutils-run").first.click()
        jb.wait_for_change(page, "fsutils-style-view", before, "running mosaic in the style tab")

        tabs.nth(3).click()                                                        # 4 · blend
        blend = jb.pixels(page, "fsutils-blend-view")
        jb.assert_visible_sliders(page, "fsutils-strength", "fsutils-width", "fsutils-box-x",
                                  "fsutils-box-y", "fsutils-box-size", root=root)
        jb.drag(page, "fsutils-strength", 0.1, root=root)
        jb.wait_for_change(page, "fsutils-blend-view", blend, "the blend tab's strength")

        page.locator(f"{root} .fsutils-save").first.click()
        page.wait_for_function(
            "(name) => document.querySelector('.fsutils-pipeline').innerText.includes("
            "'saved ') && document.querySelector('.fsutils-pipeline').innerText.includes(name)",
            arg=f"{PHOTO}_stylized.png", timeout=120_000)
        jb.assert_no_tracebacks(page)


LATENCY_NOTEBOOK = ['''
from PIL import Image
from fsutils import io as fio, widgets
from fsutils.pipeline import Pipeline

photo = fio.load_image(fio.sample_path("ccp_0006"))
scale = 1024 / max(photo.size)
photo = photo.resize((round(photo.width * scale), round(photo.height * scale)),
                     Image.Resampling.LANCZOS)
pipe = Pipeline(photo_size=1024)
pipe.set_image(photo, name="ccp_0006")
''', '''widgets.BlendPanel(pipe, style={"method": "fast", "style": "candy"})''']


@pytest.mark.timeout(900)
def test_voila_blend_panel_release_to_picture_time(browser, tmp_path, request, record_property):
    """Slider release → new picture painted, measured in the page on a 1024-px photo with the real
    models (the figures are reported, not asserted: speed is compared in
    benchmarks/panel_latency_benchmark.py): the whole photo on the live canvas (recomposed in the
    page) and the kernel's close-ups. Each release redraws the canvas and brings exactly one new
    kernel picture."""
    view = "fsutils-blend-view"
    with session(browser, "voila", tmp_path, request, tiny=False,
                 extra={"latency.ipynb": LATENCY_NOTEBOOK}) as (server, page, errors):
        open_notebook(server, page, "latency.ipynb", view)
        page.locator(f".{view} .{jb.LIVE_CANVAS}").first.wait_for(state="visible",
                                                                 timeout=jb.PANEL_TIMEOUT_MS)
        jb.assert_no_tracebacks(page)
        jb.install_latency_probe(page, f".{view}")
        counts: list[int] = []
        others: dict[str, list[float]] = {}
        fractions = [0.2, 0.7, 0.3, 0.8, 0.25, 0.65, 0.35, 0.75, 0.4]
        closeups = jb.release_to_picture_ms(page, "fsutils-strength", fractions, counts=counts,
                                            kind="img", others=others)
        canvas = others.get("canvas", [])
        assert len(canvas) == len(fractions), f"the live canvas redrew after {len(canvas)} " \
            f"of {len(fractions)} releases"
        median, median_closeups = statistics.median(canvas), statistics.median(closeups)
        record_property("release_to_picture_ms_median", round(median, 1))
        record_property("release_to_closeups_ms_median", round(median_closeups, 1))
        print(f"blend panel, 1024-px photo: slider release → whole photo (live canvas) median "
              f"{median:.0f} ms ({', '.join(f'{x:.0f}' for x in canvas)}); → kernel's close-ups "
              f"median {median_closeups:.0f} ms ({', '.join(f'{x:.0f}' for x in closeups)})")
        assert counts == [1] * len(closeups), f"kernel pictures per release: {counts} (one expected)"
        assert page.locator(f".{view} img").first.get_attribute("src").startswith("blob:")
        shown = jb.slider_value(page, "fsutils-strength")       # the canvas drew the shown value
        drawn = float(page.locator(f".{view} .{jb.LIVE_CANVAS}").first.get_attribute(
            "data-strength"))
        assert abs(drawn - shown) < 1e-9, (drawn, shown)


@pytest.mark.timeout(900)
def test_jupyterlab_smoke_blend_panel(browser, tmp_path, request):
    view = "fsutils-blend-view"
    with session(browser, "lab", tmp_path, request) as (server, page, errors):
        start = open_notebook(server, page, "04_saliency_blending.ipynb", view)
        jb.assert_visible_sliders(page, "fsutils-strength", "fsutils-width")
        jb.drag(page, "fsutils-strength", 0.1)
        jb.wait_for_change(page, view, start, "dragging the strength slider in JupyterLab")
        jb.assert_no_tracebacks(page)
