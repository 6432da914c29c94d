"""Real browser: a click on the picture of the pipeline panel's blend tab chooses the garment to
restyle. On an annotated photo of a coat worn over a dress, a click on the coat and Save give a
result where the coat took the style and nothing else did (the style share of each pixel, as
``fsutils.evaluation.placement.style_share`` measures it, and as the command line's coat test
checks). Plumbing and recipe: ``tests/jupyter_browser.py``, ``tests/test_browser.py``."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import jupyter_browser as jb
from tests.test_browser import browser, open_notebook, session  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COAT_OVER_DRESS = "0875"   # an annotated test photo of Clothing Co-Parsing: a coat over a dress
SIZE = 320                 # the panel's working size


def _notebook(photo: Path) -> list[str]:
    return [f'''
from fsutils import io as fio, widgets
from fsutils.pipeline import Pipeline

pipe = Pipeline(photo_size={SIZE})
pipe.set_image({str(photo)!r}, name="{COAT_OVER_DRESS}")
panel = widgets.PipelinePanel(pipe, method="fast")
''', "panel"]


def _click_on_picture(page, view: str, x: float, y: float, photo_height: int) -> None:
    """Click the picture of ``.view`` where the photo shows pixel (x, y) of the working photo
    (``photo_height`` px tall): on the live picture when the panel shows one (the photo
    recomposed in the page; the kernel's picture then holds only close-ups), else on the first
    tile of the kernel's picture — its own pixels scaled to how it is displayed."""
    canvas = page.locator(f".{view} .{jb.LIVE_CANVAS}")
    if canvas.count() and canvas.first.is_visible():
        picture = canvas.first
        natural = picture.evaluate("e => [e.width, e.height]")
    else:
        picture = page.locator(f".{view} img").first
        natural = picture.evaluate("e => [e.naturalWidth, e.naturalHeight]")
    box = picture.bounding_box()
    in_picture = (x * natural[1] / photo_height, y * natural[1] / photo_height)
    picture.click(position={"x": in_picture[0] * box["width"] / natural[0],
                            "y": in_picture[1] * box["height"] / natural[1]})


@pytest.mark.timeout(900)
def test_a_click_on_the_coat_in_the_blend_tab_restyles_only_the_coat(browser, tmp_path, request):  # noqa: F811
    from fsutils import data, stages
    from fsutils import io as fio
    from fsutils.evaluation.clicks import interior_point
    from fsutils.evaluation.placement import style_share

    root = Path(os.environ.get("FSUTILS_CCP_ROOT", "../shared/data/ccp")).resolve()
    photo = root / "photos" / f"{COAT_OVER_DRESS}.jpg"
    if not photo.is_file():
        pytest.skip(f"needs the Clothing Co-Parsing photos ({photo}; set FSUTILS_CCP_ROOT)")
    truth = {t.cls: t.mask for t in data.load_instances(root, COAT_OVER_DRESS)}
    content = fio.to_float(stages.shrink(fio.load_image(photo), SIZE))   # the pipeline's shrink
    h, w = content.shape[:2]
    gh, gw = truth["outer"].shape
    x, y = interior_point(truth["outer"])                    # where a user points at the coat
    view, panel = "fsutils-blend-view", ".fsutils-pipeline"
    with session(browser, "voila", tmp_path, request,
                 extra={"clicks.ipynb": _notebook(photo)}) as (server, page, errors):
        open_notebook(server, page, "clicks.ipynb", "fsutils-segmentation-view")
        page.locator(f"{panel} .lm-TabBar-tab, {panel} .p-TabBar-tab").nth(3).click()  # 4 · blend
        page.locator(f".{view} img").first.wait_for(state="visible", timeout=jb.PANEL_TIMEOUT_MS)
        before = jb.pixels(page, view)
        _click_on_picture(page, view, x * w / gw, y * h / gh, h)
        jb.wait_for_change(page, view, before, "a click on the coat")
        page.wait_for_function("() => document.querySelector('.fsutils-pointed').innerText"
                               ".includes('pointed at')", timeout=60_000)
        page.locator(f"{panel} .fsutils-save").first.click()
        page.wait_for_function(
            "(name) => document.querySelector('.fsutils-pipeline').innerText.includes(name)",
            arg=f"{COAT_OVER_DRESS}_stylized.png", timeout=120_000)
        jb.assert_no_tracebacks(page)
    out = tmp_path / "outputs"
    result, full = (fio.to_float(Image.open(out / f"{COAT_OVER_DRESS}_{k}.png"))
                    for k in ("stylized", "style_full"))
    share, valid = style_share(content, full, result)
    coat = np.asarray(Image.fromarray(truth["outer"]).resize((w, h), Image.Resampling.NEAREST))
    assert (coat & valid).sum() > 1000
    assert share[coat & valid].mean() > 0.8, "the coat clicked on was not restyled"
    assert share[~coat & valid].mean() < 0.05, "more than the coat was restyled"
    assert share[truth_at(truth, "dress", (w, h)) & valid].mean() < 0.05, "the dress was restyled"


def truth_at(truth: dict[str, np.ndarray], cls: str, size: tuple[int, int]) -> np.ndarray:
    """The annotated garment ``cls`` at ``size`` (width, height)."""
    return np.asarray(Image.fromarray(truth[cls]).resize(size, Image.Resampling.NEAREST))
