"""The garment-swap panel without a browser: it draws α, x̃ and the swap, follows the article and
the person, takes an uploaded article, and says so when the person wears no top. The browser test
is in tests/test_browser.py."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("ipywidgets")

from fsutils.models.cagan import CAGANGenerator  # noqa: E402
from fsutils.pipeline import Pipeline  # noqa: E402
from fsutils.widgets import ArticlePicker, SwapPanel  # noqa: E402
from tests.test_widgets import NAMES, fake_saliency, fake_segment, simulate_upload  # noqa: E402


@pytest.fixture
def pipe():
    return Pipeline(fake_segment, fake_saliency, class_names=NAMES, photo_size=200)


@pytest.fixture
def generator():
    torch.manual_seed(0)
    return CAGANGenerator(base=8).eval()


def picture(panel):
    return np.asarray(panel.last_image.convert("RGB")).astype(int)


@pytest.mark.slow  # the bundled articles are cut out on first use
def test_panel_shows_the_parts_of_the_swap_and_follows_the_article(pipe, generator):
    panel = SwapPanel(pipe, weights=generator)
    p = panel.last_parts
    assert p is not None and p["alpha"].shape == (128, 96) and p["x_tilde"].shape == (128, 96, 3)
    assert p["result"].shape[:2] == np.asarray(pipe.photo).shape[:2]
    assert panel.picture.layout.display != "none" and panel.picture.value[:2] == b"\xff\xd8"
    captions = panel.captions.value
    assert all(c in captions for c in ("α", "x̃", "swap", "pasted back"))
    before, y_j = picture(panel), p["y_j"]
    panel.articles.dropdown.value = "mondrian top"
    assert not np.array_equal(panel.last_parts["y_j"], y_j)
    assert np.abs(picture(panel) - before).mean() > 1
    # the person: another sample photo redraws the panel
    key = pipe.image_key
    panel.photos.dropdown.value = panel.photos.dropdown.options[1]
    assert pipe.image_key != key and panel.last_parts["x_i"].shape == (128, 96, 3)


def test_an_uploaded_article_is_used_whole(pipe, generator):
    panel = SwapPanel(pipe, weights=generator)
    before = panel.last_parts["y_j"]
    art = np.full((120, 90, 3), 255, np.uint8)
    art[20:100, 15:75] = (30, 160, 60)  # a green top on white
    buf = io.BytesIO()
    Image.fromarray(art).save(buf, "PNG")
    simulate_upload(panel.articles.upload, "green top.png", buf.getvalue())
    assert panel.articles.mask is None and panel.articles.name == "green top"
    y_j = panel.last_parts["y_j"]
    assert not np.array_equal(y_j, before)
    centre = y_j[48:80, 36:60].reshape(-1, 3).mean(0)
    assert centre[1] > centre[0] + 60 and centre[1] > centre[2] + 60  # the green garment


def test_a_person_without_a_top_gets_a_message_not_an_error(generator):
    pipe = Pipeline(lambda photo: np.zeros((photo.size[1], photo.size[0]), np.uint8),
                    fake_saliency, class_names=NAMES, photo_size=200)
    panel = SwapPanel(pipe, weights=generator)
    assert panel.last_parts is None
    assert "No upper-body garment" in str(panel.out.outputs)
    assert panel.picture.layout.display == "none"


def test_article_picker_offers_the_bundled_articles():
    picker = ArticlePicker("vangogh top")
    assert picker.name == "vangogh top" and picker.mask is not None
    assert picker.value.size == (picker.mask.shape[1], picker.mask.shape[0])
    assert any(o.startswith("top of ccp_") for o in picker.dropdown.options)
    assert picker.thumb.value[:4] == b"\x89PNG"


def test_panel_uses_the_shipped_generator_by_default(pipe):
    panel = SwapPanel(pipe)
    assert panel.swapper().generator.base == 32 and panel.last_parts is not None
