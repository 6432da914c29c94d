"""fsutils.widgets without a browser: the panels draw, react to their controls and to each other.

The pipeline's stages are small injected functions (no weights); the pictures each panel drew are
in ``panel.last_image``. The real browser tests are in tests/test_browser.py.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ipywidgets")

from fsutils import widgets  # noqa: E402
from fsutils.pipeline import Pipeline  # noqa: E402
from fsutils.style import FastParams  # noqa: E402

NAMES = ("background", "upper body", "lower body", "full body")


def fake_segment(photo):
    w, h = photo.size
    lab = np.zeros((h, w), np.uint8)
    lab[h // 8: h // 2, w // 4: 3 * w // 4] = 1
    lab[h // 2: 7 * h // 8, w // 4: 3 * w // 4] = 2
    return lab


def fake_saliency(photo):
    w, h = photo.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.exp(-((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / (2 * (w / 5) ** 2))


class Styler:
    def __init__(self):
        self.calls = []

    def __call__(self, content, style, *, mask=None, callback=None, progress=False, **params):
        self.calls.append((style, params))
        arr = np.asarray(content).astype(np.int32)
        out = np.stack([arr[..., 2], 255 - arr[..., 0], (arr[..., 1] * 3) % 256], axis=2)
        if callback is not None:
            for step in range(0, int(params.get("steps", 1)) + 1):
                callback(step, Image.fromarray(out.astype(np.uint8)), {"total": 1.0 / (step + 1)})
        return Image.fromarray(out.astype(np.uint8))


class FakeInstances:
    """A garment detector of fixed items at the photo's size: an outer, a dress under it, two
    shoes (one item "shoe ×2"); counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, photo):
        from fsutils.instances import Instance, Instances

        self.calls += 1
        w, h = photo.size

        def inst(cls, score, x0, y0, x1, y1):
            m = np.zeros((h, w), bool)
            m[y0:y1, x0:x1] = True
            return Instance(cls, score, (x0, y0, x1, y1), m)

        return Instances([inst("outer", 0.97, w // 4, h // 8, 3 * w // 4, h // 2),
                          inst("dress", 0.9, w // 3, h // 2, 2 * w // 3, 3 * h // 4),
                          inst("shoe", 0.8, w // 3, 7 * h // 8, w // 2 - 2, h - 2),
                          inst("shoe", 0.7, w // 2 + 2, 7 * h // 8, 2 * w // 3, h - 2)])


@pytest.fixture
def pipe():
    styler = Styler()
    p = Pipeline(fake_segment, fake_saliency, stylers={"fast": styler, "gatys": styler,
                                                       "adain": styler, "magenta": styler},
                 class_names=NAMES, photo_size=160, style_size=160, instances=FakeInstances())
    p.styler = styler
    rng = np.random.default_rng(0)
    p.set_image(Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)))
    return p


def pixels(panel):
    return np.asarray(panel.last_image.convert("RGB")).astype(int)


def test_blend_panel_sliders_change_the_picture_and_only_the_blend(pipe):
    from fsutils.blend import DEFAULT_MODE

    panel = widgets.BlendPanel(pipe)
    first = pixels(panel)
    assert pipe.styler.calls == [("candy", {"preserve_color": False})]   # once, the default spec
    before = dict(pipe.computed)
    panel.strength.value = 0.3
    after = pixels(panel)
    assert first.shape == after.shape and (first != after).any()
    assert pipe.computed["style"] == before["style"] and pipe.computed["segment"] == 1
    assert set(panel.seam) == {"hard", "saliency", DEFAULT_MODE}   # the default mode is compared too
    assert "seam score" in panel.scores.value


def test_blend_panel_feather_width_and_mode(pipe):
    panel = widgets.BlendPanel(pipe, mode="feathered", width=2.0)
    a = pixels(panel)
    panel.width.value = 12.0
    b = pixels(panel)
    assert (a != b).any()
    assert set(panel.seam) == {"hard", "saliency", "feathered"}
    # a wider feather gives a smoother boundary in the close-up
    assert panel.seam["feathered"] < panel.seam["hard"]
    panel.mode.value = "hard"
    assert set(panel.seam) == {"hard", "saliency"}


def test_blend_panel_offers_every_mode_and_enables_only_the_sliders_it_reads(pipe):
    from fsutils.blend import BLEND_MODES

    panel = widgets.BlendPanel(pipe, mode="guided", radius=2)
    assert panel.mode.options == tuple((m.label, n) for n, m in BLEND_MODES.items())
    assert not panel.radius.disabled and not panel.eps.disabled
    assert panel.strength.disabled and panel.width.disabled
    assert set(panel.seam) == {"hard", "saliency", "guided"}
    a = pixels(panel)
    panel.radius.value = 12          # a wider guided filter: another weight, another picture
    assert (a != pixels(panel)).any()
    panel.mode.value = "poisson"     # no weight map, no slider
    assert set(panel.seam) == {"hard", "saliency", "poisson"}
    assert all(s.disabled for s in (panel.strength, panel.width, panel.radius, panel.eps))
    panel.mode.value = "soft_saliency"
    assert not panel.strength.disabled and panel.radius.disabled
    assert panel.params.mode == "soft_saliency" and panel.params.radius == 12
    with pytest.raises(ValueError, match="radius"):
        widgets.BlendPanel(pipe, radius=0)


def test_zoom_box_starts_on_the_garment_edge_and_moves(pipe):
    panel = widgets.BlendPanel(pipe, box=32)
    x0, y0, x1, y1 = panel.crop_box()
    assert x1 - x0 == 32 and y1 - y0 == 32
    crop = pipe.mask((1, 2, 3))[y0:y1, x0:x1]
    assert crop.any() and not crop.all(), "the box must straddle the garment boundary"
    a = pixels(panel)
    panel.box_x.value = panel.box_x.value + 20
    assert panel.crop_box()[0] == x0 + 20
    assert (a != pixels(panel)).any()


def test_garment_checkboxes_change_the_mask(pipe):
    seg = widgets.SegmentationExplorer(pipe)
    both = pixels(seg)
    seg.garments.boxes[2].value = False
    assert seg.garments.garments == (1, 3)
    assert (pixels(seg) != both).any()
    assert [b.description for b in seg.garments.boxes.values()] == list(NAMES[1:])


def test_panels_follow_a_new_photo(pipe):
    seg = widgets.SegmentationExplorer(pipe)
    blend = widgets.BlendPanel(pipe)
    s0, b0 = pixels(seg), pixels(blend)
    rng = np.random.default_rng(5)
    pipe.set_image(Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)))
    assert (pixels(seg) != s0).any() and (pixels(blend) != b0).any()
    assert len(pipe.styler.calls) == 2              # the blend panel restyled the new photo


def test_saliency_explorer_threshold_and_gamma(pipe):
    panel = widgets.SaliencyExplorer(pipe)
    a = pixels(panel)
    panel.threshold.value = 0.9
    b = pixels(panel)
    panel.gamma.value = 3.0
    c = pixels(panel)
    assert (a != b).any() and (b != c).any()


def test_style_panel_run_uses_the_settings_and_previews(pipe):
    sp = widgets.StylePicker()
    panel = widgets.StylePanel(pipe, style_picker=sp, method="gatys", steps=3, style_size=64)
    panel.content_weight.value = 10.0
    panel.run()
    style, params = pipe.styler.calls[-1]
    assert style is sp.value
    assert params["steps"] == 3 and params["content_weight"] == 10.0
    assert params["optimizer"] == "lbfgs" and "style_weight" in params
    assert panel.last_image is not None
    # the blend panel picks up the new stylised image through the pipeline's event
    blend = widgets.BlendPanel(pipe, style=panel)
    n = len(pipe.styler.calls)
    blend.strength.value = 0.5
    assert len(pipe.styler.calls) == n
    panel.method.value = "fast"
    assert panel.spec() == {"method": "fast", "style": "candy", "style_size": 64,
                            "params": FastParams()}
    panel.method.value = "adain"
    assert panel.spec()["params"].style_strength == 1.0
    assert panel.steps.layout.display == "none" and panel.style_strength.layout.display == ""


def test_style_panel_magenta_is_the_default_with_a_strength_slider(pipe):
    sp = widgets.StylePicker()
    panel = widgets.StylePanel(pipe, style_picker=sp, style_size=48)
    assert panel.method.value == "magenta" and panel.method.options[0][1] == "magenta"
    assert panel.style_strength.layout.display == "" and panel.steps.layout.display == "none"
    assert panel._paint_box.layout.display == ""          # any painting: the picker is shown
    panel.style_strength.value = 0.35
    panel.run()
    style, params = pipe.styler.calls[-1]
    assert style is sp.value and params == {"style_strength": 0.35, "preserve_color": False}
    panel.preserve_color.value = True                     # every method's colour option
    panel.run()
    assert pipe.styler.calls[-1][1] == {"style_strength": 0.35, "preserve_color": True}
    panel.method.value = "gatys"
    assert panel.style_strength.layout.display == "none"


def test_blend_panel_waits_for_gatys_instead_of_running_it(pipe, capsys):
    style = widgets.StylePanel(pipe, method="gatys", steps=2, style_size=32)
    widgets.BlendPanel(pipe, style=style)
    assert pipe.styler.calls == []


def test_photo_picker_sets_the_pipeline(pipe):
    picker = widgets.PhotoPicker(pipe)
    assert pipe.photo.size[0] <= 160 and picker.value is not None
    key = pipe.image_key
    names = picker.dropdown.options
    picker.dropdown.value = names[1]
    assert pipe.image_key != key and picker.name == names[1]
    assert picker.thumb.value[:4] == b"\x89PNG"


def simulate_upload(upload, name: str, data: bytes) -> None:
    """What the browser sends when a file is chosen in a FileUpload: ipywidgets 7 (Colab's)
    syncs ``metadata`` and ``data`` and then bumps a counter; ipywidgets 8 syncs ``value``."""
    import datetime

    import ipywidgets

    if ipywidgets.__version__.startswith("7."):
        upload.set_trait("metadata", [{"name": name, "type": "image/png", "size": len(data),
                                       "lastModified": 0}])
        upload.set_trait("data", [data])
        upload._counter += 1
    else:
        upload.value = ({"name": name, "type": "image/png", "size": len(data),
                         "content": memoryview(data),
                         "last_modified": datetime.datetime.now(datetime.timezone.utc)},)


def test_uploads_set_the_photo_and_the_painting_with_their_names(pipe):
    rng = np.random.default_rng(9)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(buf, "PNG")
    picker = widgets.PhotoPicker(pipe)
    simulate_upload(picker.upload, "my photo.png", buf.getvalue())
    assert picker.name == "my photo" and pipe.image_name == "my photo"
    assert pipe.photo.size == (80, 60) and "my photo" in picker.status.value
    style = widgets.StylePicker()
    simulate_upload(style.upload, "my painting.png", buf.getvalue())
    assert style.name == "my painting" and style.value.size == (80, 60)
    assert "my painting" in style.label.value
    assert all(b.button_style == "" for b in style.buttons.values())   # no bundled one chosen


def test_pipeline_panel_saves(pipe, tmp_path, monkeypatch):
    saved = {}

    def fake_save(res, folder, stem, box=None, kinds=None):
        saved.update(folder=folder, stem=stem, box=box, mode=res.mode)
        return []

    monkeypatch.setattr("fsutils.results.save_result", fake_save)
    panel = widgets.PipelinePanel(pipe, output_dir=tmp_path)
    panel.blend.mode.value = "feathered"
    panel.save()
    assert saved["folder"] == tmp_path and saved["mode"] == "feathered"
    assert saved["stem"] == panel.photo.name and len(saved["box"]) == 4


def test_compose_puts_titles_above_same_height_tiles():
    a = np.zeros((10, 20, 3), np.float32)
    b = np.ones((5, 5), bool)
    img = widgets.compose([(a, "a"), (b, "b")], height=40)
    assert img.height == 40 + 22 and img.width == 80 + 6 + 40


def test_the_picture_is_a_jpeg_image_widget_and_errors_are_shown_and_raised(pipe):
    panel = widgets.SaliencyExplorer(pipe)
    assert panel.picture.format == "jpeg" and panel.picture.value[:2] == b"\xff\xd8"
    assert panel.picture.layout.display != "none" and panel.out.outputs == ()
    shown = Image.open(io.BytesIO(panel.picture.value))
    assert shown.size == panel.last_image.size
    panel.picture_format = "png"                          # lossless on request
    panel.gamma.value = 2.0
    assert panel.picture.format == "png" and panel.picture.value[:4] == b"\x89PNG"

    def broken(photo):
        raise ValueError("broken saliency model")

    pipe.models.use(saliency=broken)
    pipe.clear()
    with pytest.raises(ValueError, match="broken saliency model"):
        panel.refresh()
    err = panel.out.outputs[-1]
    assert err["output_type"] == "error" and "broken saliency model" in err["evalue"]
    assert any("broken" in line for line in err["traceback"])
    assert panel.picture.layout.display == "none"          # no stale picture above the error


# ------------------------------------------------------------- what a new user ran into


def test_hiding_one_slider_hides_no_other(pipe):
    style = widgets.StylePanel(pipe, method="gatys", steps=2, style_size=32)
    assert style.style_strength.layout.display == "none"       # a one-pass amount: not Gatys
    for s in (style.content_weight, style.style_weight, style.steps, style.size):
        assert s.layout.display != "none", f"{s.description} is hidden"
    blend = widgets.BlendPanel(pipe)                          # a panel built afterwards
    for s in (blend.strength, blend.width, blend.box_x, blend.box_y, blend.box_size):
        assert s.layout.display != "none", f"{s.description} is hidden"


def test_photo_picker_opens_on_the_pipeline_photo_and_follows_it(pipe):
    from fsutils import io as fio

    other = fio.sample_photos()[1]
    pipe.set_image(other)
    key = pipe.image_key
    panel = widgets.PipelinePanel(pipe)
    assert pipe.image_key == key, "building the panel switched the pipeline to another photo"
    assert panel.photo.name == other.stem and panel.photo.dropdown.value == other.stem
    # a photo set on the pipeline elsewhere (another cell) shows in the picker too
    third = fio.sample_photos()[2]
    pipe.set_image(third)
    assert panel.photo.name == third.stem and panel.photo.dropdown.value == third.stem
    # an unnamed photo: no sample is shown as chosen
    rng = np.random.default_rng(3)
    pipe.set_image(Image.fromarray(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)))
    assert panel.photo.name == "photo" and panel.photo.dropdown.value is None
    # choosing a sample in the picker still sets it on the pipeline
    panel.photo.dropdown.value = other.stem
    assert pipe.image_key == key and pipe.image_name == other.stem


def test_pipeline_panel_saves_the_pipeline_photo_under_its_name(pipe, tmp_path, monkeypatch):
    from fsutils import io as fio

    saved = {}
    monkeypatch.setattr("fsutils.results.save_result",
                        lambda res, folder, stem, box=None, kinds=None: saved.update(
                            stem=stem, content=res.content) or [])
    photo = fio.sample_photos()[1]
    pipe.set_image(photo)
    content = pipe.content
    panel = widgets.PipelinePanel(pipe, output_dir=tmp_path)
    panel.save()
    assert saved["stem"] == photo.stem and np.array_equal(saved["content"], content)


def _glyph(fnt, ch):
    return np.asarray(fnt.getmask(ch)), fnt.getbbox(ch)


def test_titles_draw_greek_letters_and_symbols_and_are_not_cut_off():
    from fsutils.widgets.drawing import font

    fnt = font(14)
    missing = _glyph(fnt, "\u0378")                      # an unassigned code point: the box glyph
    for ch in "γα×β":
        mask, box = _glyph(fnt, ch)
        assert not (np.array_equal(mask, missing[0]) and box == missing[1]), f"{ch} is a box"
    title = "chosen garments (13.6% of the photo)"
    img = widgets.compose([(np.zeros((40, 20, 3), np.float32), title),
                           (np.ones((40, 20, 3), np.float32), "b")], height=40)
    ink = np.asarray(img.convert("L"))[:22] < 128        # the title row's dark pixels
    columns = np.flatnonzero(ink.any(axis=0))
    assert columns.max() - columns.min() + 1 >= fnt.getlength(title) - 4, "the title is cut off"
    white = np.asarray(img)[22:, :, :].min(axis=2) > 250
    first_tile_end = 20
    assert white[:, first_tile_end:columns.max()].all(), "the second tile overlaps the title"


def test_zoom_box_moved_by_the_user_stays_when_a_garment_is_ticked(pipe):
    panel = widgets.BlendPanel(pipe, box=32)
    auto = panel.crop_box()
    panel.garments.boxes[2].value = False          # while untouched, the box follows the garments
    panel.garments.boxes[2].value = True
    assert panel.crop_box() == auto
    panel.box_x.value = panel.box_x.value - 15     # the user moves it …
    moved = panel.crop_box()
    panel.garments.boxes[1].value = False          # … and ticks a garment: it stays
    assert panel.crop_box() == moved
    rng = np.random.default_rng(7)                 # a new photo places it again
    pipe.set_image(Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)))
    x0, y0, x1, y1 = panel.crop_box()
    crop = pipe.mask(panel.garments.garments)[y0:y1, x0:x1]
    assert crop.any() and not crop.all()


def test_painting_buttons_name_the_painter():
    picker = widgets.StylePicker()
    labels = {name: b.description for name, b in picker.buttons.items()}
    assert labels["starry_night_vangogh"] == "vangogh" and labels["the_scream_munch"] == "munch"
    assert labels["en_campo_gris_kandinsky"] == "kandinsky" and labels["candy"] == "candy"
    assert len(set(labels.values())) == len(labels)


def test_a_strength_change_does_not_rerun_the_guided_filter(pipe, monkeypatch):
    import fsutils.blend.modes as modes

    calls = []
    real = modes.refine_mask
    monkeypatch.setattr(modes, "refine_mask", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    panel = widgets.BlendPanel(pipe, mode="guided_saliency")
    first = pixels(panel)
    n = len(calls)
    panel.strength.value = 0.4
    assert (pixels(panel) != first).any()
    assert len(calls) == n, "the guided filter ran again for a new saliency strength"
    # the same weight as computing it in one go
    from fsutils.blend import BlendParams, blend_weight

    params = BlendParams("guided_saliency", strength=0.4)
    direct = blend_weight(params, pipe.content, pipe.mask((1, 2, 3)),
                          probability=pipe.probability((1, 2, 3)), saliency=pipe.saliency())
    assert np.allclose(pipe.weight(params, garments=(1, 2, 3)), direct, atol=1e-6)
    n = len(calls)
    panel.radius.value = 4                                # a new radius does run it again
    assert len(calls) == n + 1


# ------------------------------------------------------------- weights that cannot be had here


def _offline_adain_and_gatys(pipe, isolated_weights, monkeypatch):
    """The pipeline's real AdaIN and Gatys stylers, offline with an empty cache and no mirror."""
    monkeypatch.setenv("FSUTILS_OFFLINE", "1")
    monkeypatch.setenv("FSUTILS_TINY", "1")
    del pipe.stylers["adain"], pipe.stylers["gatys"]    # the style table's own methods


def _one_line(outputs):
    assert len(outputs) == 1 and outputs[0]["output_type"] == "stream", outputs
    text = outputs[0]["text"].strip()
    assert len(text.splitlines()) == 1 and "Traceback" not in text, text
    return text


@pytest.mark.parametrize("method, label", [
    ("adain", "AdaIN"),
    pytest.param("gatys", "Gatys", marks=pytest.mark.slow),   # builds VGG-19 twice: ~10 s
])
def test_style_panel_run_offline_says_in_one_line_what_is_missing(
        pipe, isolated_weights, monkeypatch, method, label):
    from fsutils import env
    from fsutils.weights import WeightsError

    _offline_adain_and_gatys(pipe, isolated_weights, monkeypatch)
    panel = widgets.StylePanel(pipe, method=method, steps=1, style_size=32)
    with pytest.raises(WeightsError) as raised:              # what a notebook cell would get …
        pipe.stylize(**panel.spec())
    assert panel.run() is None                                # … the panel: no exception
    text = _one_line(panel.out.outputs)
    assert text == env.weights_message(label, raised.value, "Choose another method above.")
    assert text.startswith(f"Skipped {label}: ") and "FSUTILS_WEIGHTS_MIRROR" in text
    assert panel.picture.layout.display == "none" and not panel.run_button.disabled
    panel.method.value = "fast"                               # another method works again
    assert panel.run() is not None and panel.out.outputs == ()
    assert panel.picture.layout.display != "none"


def test_other_errors_in_a_style_run_still_show_their_traceback_and_raise(pipe):
    def broken(*args, **kwargs):
        raise ValueError("a real bug")

    pipe.stylers["fast"] = broken
    panel = widgets.StylePanel(pipe, method="fast", style_size=32)
    with pytest.raises(ValueError, match="a real bug"):
        panel.run()
    assert panel.out.outputs[-1]["output_type"] == "error"


def test_pipeline_panel_offline_adain_is_one_line_in_the_style_and_blend_tabs(
        pipe, isolated_weights, monkeypatch):
    _offline_adain_and_gatys(pipe, isolated_weights, monkeypatch)
    panel = widgets.PipelinePanel(pipe, method="adain")
    assert panel.style.run() is None
    assert _one_line(panel.style.out.outputs).startswith("Skipped AdaIN: ")
    rng = np.random.default_rng(11)             # a new photo: the blend tab restyles with AdaIN
    pipe.set_image(Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)))
    assert _one_line(panel.blend.out.outputs).startswith("Skipped this picture: ")
    assert panel.blend.picture.layout.display == "none"


# ------------------------------------------------ every control of every panel changes its picture


def _values(w):
    return [o[1] if isinstance(o, tuple) else o for o in w.options]


def another_value(w):
    """A value of control ``w`` other than its current one, inside its range."""
    import ipywidgets as W

    if isinstance(w, W.Checkbox):
        return not w.value
    if isinstance(w, (W.ToggleButtons, W.Dropdown)):
        return next(v for v in _values(w) if v != w.value)
    for f in (0.7, 0.3):
        if isinstance(w, W.FloatLogSlider):
            v = w.base ** (w.min + f * (w.max - w.min))
        else:
            v = w.min + f * (w.max - w.min)
            v = int(round(v)) if isinstance(w, W.IntSlider) else v
        if not np.isclose(v, w.value):
            return v
    raise AssertionError(f"no other value for {w.description}")


class ParamStyler:
    """A styler whose picture depends on everything it is given: the painting, the parameters,
    the working size and the garment mask (a colour tint seeded by them)."""

    def __call__(self, content, style, *, mask=None, callback=None, progress=False, **params):
        import zlib

        arr = np.asarray(content).astype(np.float32)
        painting = style if isinstance(style, str) else float(np.asarray(style).mean())
        key = repr((sorted(params.items()), painting, arr.shape,
                    None if mask is None else float(np.asarray(mask).sum())))
        tint = np.random.default_rng(zlib.crc32(key.encode())).uniform(0.2, 1.0, 3)
        if callback is not None:
            callback(1, Image.fromarray(arr.astype(np.uint8)), {"total": 1.0})
        return Image.fromarray((arr * tint).astype(np.uint8))


@pytest.mark.parametrize("control, method", [
    ("method", "magenta"), ("style_strength", "magenta"), ("size", "magenta"),
    ("fast_style", "fast"), ("style_strength", "adain"), ("masked", "adain"),
    ("content_weight", "gatys"), ("style_weight", "gatys"), ("tv_weight", "gatys"),
    ("steps", "gatys"), ("optimizer", "gatys"), ("masked", "gatys"), ("painting", "gatys"),
])
def test_every_style_panel_control_changes_the_picture(pipe, control, method):
    pipe.stylers.update({m: ParamStyler() for m in ("magenta", "fast", "adain", "gatys")})
    panel = widgets.StylePanel(pipe, method=method, steps=2, style_size=64)
    panel.run()
    before = pixels(panel)
    if control == "painting":                       # a click on another painting's button
        picker = panel.style_picker
        next(b for n, b in picker.buttons.items() if n != picker.name).click()
    else:
        w = getattr(panel, control)
        w.value = another_value(w)
    panel.run()
    after = pixels(panel)
    assert before.shape != after.shape or (before != after).any(), control


@pytest.mark.parametrize("control, mode", [
    ("mode", "hard"), ("strength", "saliency"), ("width", "feathered"), ("radius", "guided"),
    ("eps", "guided"), ("box_x", "saliency"), ("box_y", "saliency"), ("box_size", "saliency"),
    ("garment", "saliency"),
])
def test_every_blend_panel_control_changes_the_picture(pipe, control, mode):
    panel = widgets.BlendPanel(pipe, mode=mode, box=32)
    before = pixels(panel)
    if control == "garment":
        panel.garments.boxes[1].value = False
    else:
        w = getattr(panel, control)
        assert not w.disabled, f"{control} is greyed out in {mode} mode"
        w.value = another_value(w)
    after = pixels(panel)
    assert before.shape != after.shape or (before != after).any(), control


@pytest.mark.parametrize("control", ["opacity", "garment", "threshold", "gamma"])
def test_every_explorer_control_changes_the_picture(pipe, control):
    if control in ("opacity", "garment"):
        panel = widgets.SegmentationExplorer(pipe)
    else:
        panel = widgets.SaliencyExplorer(pipe)
    before = pixels(panel)
    if control == "garment":
        panel.garments.boxes[1].value = False
    else:
        w = getattr(panel, control)
        w.value = another_value(w)
    assert (pixels(panel) != before).any(), control


def test_the_pickers_change_their_pictures(pipe):
    photo = widgets.PhotoPicker(pipe)
    thumb = photo.thumb.value
    photo.dropdown.value = another_value(photo.dropdown)
    assert photo.thumb.value != thumb and pipe.image_name == photo.dropdown.value
    style = widgets.StylePicker()
    first = style.value
    name = next(n for n in style.buttons if n != style.name)
    style.buttons[name].click()
    assert style.name == name and style.value is not first
    assert style.buttons[name].button_style == "info" and name in style.label.value


# ------------------------------------------------------------------------- garment instances


def test_instance_panel_lists_the_items_and_restyles_only_the_ticked_ones(pipe):
    seg = pipe.models.instance_segmenter
    panel = widgets.InstancePanel(pipe, garments=["outer"], mode="hard")
    labels = {c: b.description for c, b in panel.boxes.items()}
    assert labels == {"outer": "outer 0.97", "dress": "dress 0.90", "shoe": "shoe ×2"}
    assert panel.garments == ("outer",)
    found = pipe.instances()
    coat, dress = found.union("outer"), found.union("dress")
    content, stylized = pipe.content, pipe.stylized
    out = panel.blended()
    assert np.allclose(out[coat], stylized[coat]) and np.allclose(out[~coat], content[~coat])
    first = pixels(panel)
    calls, styled = seg.calls, pipe.computed["style"]

    panel.boxes["shoe"].value = True                 # a tick: only the blend is made again
    both = found.union(["outer", "shoe"])
    out = panel.blended()
    assert np.allclose(out[both], stylized[both]) and np.allclose(out[dress], content[dress])
    assert (pixels(panel) != first).any()
    assert seg.calls == calls == 1 and pipe.computed["style"] == styled
    assert pipe.computed["instances"] == 1 and pipe.computed["segment"] == 0

    panel.garments = []                              # nothing ticked: the items only
    assert "Tick at least one item" in str(panel.out.outputs)


def test_instance_panel_follows_a_new_photo_and_refuses_unknown_classes(pipe):
    seg = pipe.models.instance_segmenter
    panel = widgets.InstancePanel(pipe)
    assert panel.garments == ("outer", "dress")       # the garments found; shoes and bags not
    rng = np.random.default_rng(1)
    pipe.set_image(Image.fromarray(rng.integers(0, 256, (100, 140, 3), dtype=np.uint8)))
    assert seg.calls == 2 and panel.last_image is not None
    assert pipe.instances()[0].mask.shape == pipe.content.shape[:2]
    with pytest.raises(ValueError, match="coat"):
        widgets.InstancePanel(pipe, garments=["coat"])


# ------------------------------------------------------------- a new blend mode: one record


@pytest.fixture
def half_mode():
    """A blend mode of one's own: half the style inside the garments, more where salient."""
    from fsutils.blend import BLEND_MODES, BlendMode, register_mode

    def half(params, photo, mask, *, saliency=None, **_):
        return np.clip(0.5 * mask + params.strength * 0.1 * saliency * mask, 0, 1)

    record = register_mode(BlendMode("half", "half the style", "half", half, ("strength",),
                                     saliency=True))
    yield record
    del BLEND_MODES["half"]


def test_a_new_blend_mode_is_one_record_and_its_function(pipe, half_mode):
    from fsutils.__main__ import build_parser
    from fsutils.blend import BlendParams

    # the command line offers it (and describes it in --help)
    parser = build_parser()
    assert parser.parse_args(["--mode", "half"]).mode == "half"
    assert "half = half the style" in " ".join(parser.format_help().split())
    # the pipeline blends with it, reading the saliency the record asks for
    pipe.stylize("fast", "candy")
    out = pipe.blend("half", garments=(1,), strength=2.0)
    mask = pipe.mask((1,)).astype(np.float32)
    w = np.clip(0.5 * mask + 0.2 * pipe.saliency() * mask, 0, 1)[..., None]
    np.testing.assert_allclose(out, pipe.content + w * (pipe.stylized - pipe.content), atol=1e-5)
    assert BlendParams("half", width=3.0).used == (("strength", 1.0),)   # width: not read
    # the blend panel has its button, and shows it with its slider enabled
    panel = widgets.BlendPanel(pipe)
    assert ("half", "half") in panel.mode.options
    panel.mode.value = "half"
    assert not panel.strength.disabled and panel.width.disabled
    assert panel.picture.layout.display != "none" and panel.out.outputs == ()


# ------------------------------------------------------------- a new style method: one record


@pytest.fixture
def mirror_method():
    """A style method of one's own: the photo mirrored, tinted by ``style_strength``."""
    from dataclasses import dataclass

    from fsutils.style import METHODS, Method, register_method
    from fsutils.style.params import Params

    @dataclass(frozen=True)
    class MirrorParams(Params):
        style_strength: float = 1.0

    def mirror(content, style, params, *, size=None, mask=None, callback=None, progress=False):
        arr = np.asarray(content)[:, ::-1].astype(np.float32) * params.style_strength
        return Image.fromarray(arr.astype(np.uint8))

    record = register_method(Method("mirror", "mirror (test)", MirrorParams, mirror, True,
                                    "starry_night_vangogh", lambda style: ()))
    yield record
    del METHODS["mirror"]


def test_a_new_style_method_is_one_record_and_its_function(pipe, mirror_method):
    from fsutils.__main__ import build_parser

    # the command line offers it, with its parameters from the options named like its fields
    args = build_parser().parse_args(["--method", "mirror", "--style-strength", "0.5"])
    assert args.method == "mirror"
    from fsutils.cli.options import style_params
    assert style_params(mirror_method, args) == mirror_method.params(style_strength=0.5)
    # the pipeline runs it (no styler of one's own involved)
    out = pipe.stylize("mirror", params=mirror_method.params(style_strength=0.5))
    expect = np.asarray(pipe.photo)[:, ::-1].astype(np.float32) * 0.5
    np.testing.assert_allclose(out * 255, expect.astype(np.uint8), atol=0.51)
    # the style panel's menu has it, with the control of its one field and the painting picker
    panel = widgets.StylePanel(pipe, method="mirror")
    assert ("mirror (test)", "mirror") in panel.method.options
    assert panel.style_strength.layout.display == "" and panel.steps.layout.display == "none"
    assert panel._paint_box.layout.display == ""
    panel.style_strength.value = 0.25
    panel.run()
    np.testing.assert_allclose(pipe.stylized * 255, (np.asarray(pipe.photo)[:, ::-1] * 0.25)
                               .astype(np.uint8), atol=0.51)


@pytest.fixture
def swirl_method():
    """A style method with a parameter of its own, described once in its parameter class."""
    from dataclasses import dataclass

    from fsutils.style import METHODS, Method, register_method
    from fsutils.style.params import Control, Params, described

    @dataclass(frozen=True)
    class SwirlParams(Params):
        swirl: float = described(30.0, Control("swirl angle", "how far the photo turns (degrees)",
                                               "slider", 0, 360, 5))

    def swirl(content, style, params, *, size=None, mask=None, callback=None, progress=False):
        return content.rotate(params.swirl)

    record = register_method(Method("swirl", "swirl (test)", SwirlParams, swirl, True,
                                    "starry_night_vangogh", lambda style: ()))
    yield record
    del METHODS["swirl"]


def test_a_method_with_a_parameter_of_its_own_is_one_file_and_its_record(pipe, swirl_method, capsys):
    """The parameter's Control makes its command-line flag (with its range) and its panel
    control; nothing else is written for it."""
    import ipywidgets as W

    from fsutils.__main__ import build_parser
    from fsutils.cli.options import style_params

    parser = build_parser()
    assert "--swirl" in parser.format_help() and "how far the photo turns" in parser.format_help()
    args = parser.parse_args(["--method", "swirl", "--swirl", "90"])
    assert style_params(swirl_method, args) == swirl_method.params(swirl=90.0)
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["--method", "swirl", "--swirl", "400"])
    assert e.value.code == 2 and "--swirl: 400 is out of range" in capsys.readouterr().err
    panel = widgets.StylePanel(pipe, method="swirl")
    control = panel.controls["swirl"]
    assert isinstance(control, W.FloatSlider) and control.description == "swirl angle"
    assert (control.min, control.max, control.value) == (0, 360, 30.0)
    assert control.layout.display == "" and panel.steps.layout.display == "none"
    control.value = 90
    assert panel.params() == swirl_method.params(swirl=90.0)
    panel.method.value = "magenta"
    assert control.layout.display == "none"


@pytest.fixture
def gamma_mode():
    """A blend mode with a parameter of its own, described once in its record."""
    from fsutils.blend.modes import BLEND_MODES, BlendMode, register_mode
    from fsutils.controls import Control

    def weight(p, photo, mask, **_):
        return (mask > 0.5).astype(np.float32) * np.float32(p.gamma / 4)

    record = register_mode(BlendMode(
        "gamma", "gamma paste (test)", "gamma", weight, ("gamma",), js="b",
        parameters={"gamma": (2.0, Control("gamma", "how much of the style the garment takes, "
                                                    "in quarters", low=0, high=4, step=0.5))}))
    yield record
    del BLEND_MODES["gamma"]


def test_a_blend_mode_with_a_parameter_of_its_own_is_one_file_and_its_record(pipe, gamma_mode,
                                                                              capsys):
    """The mode's Control makes its flag (range-checked) in the command line and in
    ``evaluate blend``, its value in BlendParams and its control in the blend panel."""
    import ipywidgets as W

    from fsutils.__main__ import build_parser
    from fsutils.blend import BlendParams, blend_weight
    from fsutils.cli.options import blend_params
    from fsutils.evaluate import _parser as evaluate_parser

    parser = build_parser()
    assert "--gamma" in parser.format_help() and "in quarters" in parser.format_help()
    args = parser.parse_args(["--mode", "gamma", "--gamma", "3"])
    params = blend_params(args)
    assert params.mode == "gamma" and params.gamma == 3.0 and params.used == (("gamma", 3.0),)
    assert params.title == "gamma paste (test) (gamma 3)"
    photo, mask = np.zeros((4, 4, 3), np.float32), np.ones((4, 4), bool)
    assert blend_weight(params, photo, mask).max() == 0.75
    assert BlendParams.of("gamma").gamma == 2.0              # the record's default
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["--mode", "gamma", "--gamma", "9"])
    assert e.value.code == 2 and "--gamma: 9 is out of range" in capsys.readouterr().err
    with pytest.raises(ValueError, match="blend gamma must be a number"):
        BlendParams.of("gamma", gamma=-1)
    with pytest.raises(ValueError, match="no blend mode has the parameter"):
        BlendParams.of("hard", gammma=1)
    assert evaluate_parser().parse_args(["blend", "--ccp-root", "ccp", "--gamma", "3"]).gamma == 3.0
    panel = widgets.BlendPanel(pipe, mode="gamma", gamma=1.0)
    control = panel.controls["gamma"]
    assert isinstance(control, W.FloatSlider) and control.description == "gamma"
    assert (control.min, control.max, control.value) == (0, 4, 1.0) and panel.gamma is control
    assert not control.disabled and panel.strength.disabled
    control.value = 4.0
    assert panel.params == BlendParams.of("gamma", gamma=4.0)
    panel.mode.value = "hard"
    assert control.disabled


def test_a_method_whose_default_size_cannot_take_the_device_is_refused(mirror_method):
    from dataclasses import replace

    from fsutils.style import METHODS, register_method

    with pytest.raises(TypeError, match="default_size must take .long_side, device."):
        register_method(replace(mirror_method, name="mirror2", default_size=lambda side: side))
    assert "mirror2" not in METHODS
    register_method(replace(mirror_method, name="mirror2", default_size=lambda side, dev: 64))
    del METHODS["mirror2"]


def test_pipeline_panel_offers_the_garment_items_as_a_fifth_tab(pipe):
    plain = widgets.PipelinePanel(pipe)
    assert len(plain.tabs.children) == 4 and plain.items is None
    assert pipe.computed["instances"] == 0                    # no detector run unless asked
    panel = widgets.PipelinePanel(pipe, instances=True)
    assert len(panel.tabs.children) == 5 and panel.tabs.children[4] is panel.items
    assert set(panel.items.boxes) == {"outer", "dress", "shoe"}
    panel.items.garments = ["dress"]
    dress = pipe.instances().union("dress")
    out = panel.items.blended()
    assert not np.allclose(out[dress], pipe.content[dress])
    assert np.allclose(out[:10, :10], pipe.content[:10, :10])   # far from the dress: the photo


def _shown_texts(w, out: set[str]) -> set[str]:
    """Every label a user reads on a widget tree: descriptions, option labels, tab titles and the
    panels' bold captions, with HTML and the trailing colon taken off."""
    import html
    import re

    import ipywidgets as W

    found = [getattr(w, "description", "")]
    if isinstance(w, (W.ToggleButtons, W.Dropdown)):
        found += [str(o[0] if isinstance(o, tuple) else o) for o in w.options]
    if isinstance(w, W.HTML):
        found.append(w.value)
    if isinstance(w, W.Tab):
        found += [w.get_title(i) for i in range(len(w.children))]
    for text in found:
        text = html.unescape(re.sub(r"<[^>]+>", "", text or "")).strip().rstrip(":").strip()
        if text:
            out.add(text)
    for child in getattr(w, "children", ()):
        _shown_texts(child, out)
    return out


@pytest.mark.parametrize("method", ["gatys", "fast"])
def test_every_panel_label_in_the_glossary_is_on_a_panel(pipe, method):
    from test_glossary import panel_labels

    shown = _shown_texts(widgets.PipelinePanel(pipe, method=method, instances=True), set())
    missing = [label for label in panel_labels() if label not in shown]
    assert not missing, f"docs/glossary.md names panel labels no panel shows: {missing}"
    assert "mask opacity" not in shown                      # one name: "overlay opacity"


def test_blend_panel_live_picture_gets_the_layers_once_and_recomposes_the_blend(pipe):
    """Once the browser has drawn the live picture, the panel sends it the layers (once per
    photo, style and weight) and the mode's formula; recomposing them as the browser does gives
    the kernel's own view of the blend, and a new strength sends no layers again."""
    from fsutils import io as fio
    from fsutils.blend import BLEND_MODES

    from fsutils.widgets.live import live_available

    if not live_available():
        pytest.skip("no live picture here (ipywidgets 7 or no anywidget): see the fallback test")
    panel = widgets.BlendPanel(pipe, mode="guided_saliency", strength=0.6)
    live = panel.live
    assert live is not None and not live.ready and live.layout.display == "none"
    full = panel.last_image.size
    live.ready = True                                    # what the browser reports once drawn
    assert live.layout.display is None and live.formula == BLEND_MODES["guided_saliency"].js
    closeups = panel.last_image.size
    assert closeups[0] < full[0]                         # the kernel's picture: close-ups only
    h, w = live.height, live.width
    version = live.version
    c = np.frombuffer(live.photo, np.uint8).reshape(h, w, 3).astype(np.float64)
    s = np.frombuffer(live.stylized, np.uint8).reshape(h, w, 3).astype(np.float64)
    b = np.frombuffer(live.base, np.float32).reshape(h, w)
    m = np.frombuffer(live.saliency, np.float32).reshape(h, w)
    for strength in (0.6, 1.7):
        panel.strength.value = strength
        weight = np.clip(b * np.clip(strength * m, 0, 1), 0, 1)[..., None]   # the JS formula
        browser = np.rint(c + weight * (s - c))
        kernel = fio.to_uint8(panel.views.blend(panel.params, garments=panel.garments.garments,
                                                size=(w, h))).astype(np.float64)
        assert np.abs(browser - kernel).max() <= 2
    assert live.version == version                      # the strength sent no layers
    panel.mode.value = "poisson"                         # not pointwise: the kernel draws it
    assert live.layout.display == "none"
    tiles = panel.captions.value.count("flex:none")      # the photo, then 3 close-ups
    assert tiles == 4 and panel.captions.value.index("Poisson") < panel.captions.value.index("hard")


def test_blend_panel_with_the_live_picture_reads_clicks_on_it_not_on_the_close_ups(pipe):
    """With the live picture shown, the kernel's picture holds only close-ups: a click there
    chooses nothing, a click on the live picture chooses the garment under it."""
    from fsutils.widgets.live import live_available

    if not live_available():
        pytest.skip("no live picture here (ipywidgets 7 or no anywidget)")
    panel = widgets.BlendPanel(pipe, mode="guided_saliency")
    panel.live.ready = True
    labels = pipe.labels()
    y, x = np.argwhere(labels == 1).mean(axis=0)         # the upper body, in photo pixels
    scale = panel.live.width / labels.shape[1]
    panel._clicked(x * scale, y * scale)                 # on the close-ups: nothing
    assert not panel.garments.points
    panel.live.click = [float(x * scale), float(y * scale), 1]
    assert panel.garments.points and panel.garments.garments == panel.garments.points


def test_blend_panel_without_the_live_picture_draws_everything_in_the_kernel(pipe, monkeypatch):
    """Where the live picture cannot work (Colab's ipywidgets 7, no anywidget) the panel draws
    the whole photo and the close-ups in the kernel, and a new strength redraws them; asking for
    it there is refused with what to do."""
    from fsutils.widgets import live as live_module

    monkeypatch.setattr(live_module, "live_available", lambda: False)
    with pytest.raises(ValueError, match="anywidget"):
        widgets.BlendPanel(pipe, live=True)
    panel = widgets.BlendPanel(pipe, strength=1.0)
    assert panel.live is None and panel.live not in panel.view.children
    assert panel.captions.value.count("flex:none") == 5       # the photo, 3 close-ups, W
    first = np.asarray(panel.last_image)
    panel.strength.value = 0.1
    assert np.abs(np.asarray(panel.last_image).astype(int) - first).max() > 8


# ------------------------------------------------ live overlays: the segmentation and instance tiles


def _layers(live):
    """The live picture's layers as the browser decodes them: C, T (float), b, m."""
    h, w = live.height, live.width
    return (np.frombuffer(live.photo, np.uint8).reshape(h, w, 3).astype(np.float64),
            np.frombuffer(live.stylized, np.uint8).reshape(h, w, 3).astype(np.float64),
            np.frombuffer(live.base, np.float32).reshape(h, w),
            np.frombuffer(live.saliency, np.float32).reshape(h, w))


def _as_the_browser(live, strength):
    """The canvas the live picture's JS draws at ``strength``, its formula evaluated in numpy."""
    assert live.formula == "b * s"
    c, t, b, m = _layers(live)
    weight = np.clip(b * strength, 0, 1)[..., None]
    return np.rint(c + weight * (t - c))


def _needs_live():
    from fsutils.widgets.live import live_available

    if not live_available():
        pytest.skip("no live picture here (ipywidgets 7 or no anywidget): see the fallback test")


def test_segmentation_explorer_live_labels_recompose_the_kernel_overlay(pipe):
    """Once the browser has drawn it, the labels tile is recomposed there from three layers (the
    photo, the labels' colours, the garment pixels) with the formula ``b * s``: at every opacity
    that is the kernel's overlay of the same photo and labels (``segment.overlay``) and the tile
    the kernel draws before the browser is ready, within 2 levels; the opacity sends no layers,
    and a click on the live picture points at a garment, outlined at any opacity."""
    import cv2

    from fsutils.segment import overlay
    from fsutils.widgets.drawing import TITLE_HEIGHT

    _needs_live()
    panel = widgets.SegmentationExplorer(pipe, opacity=0.55)
    live = panel.live
    assert live is not None and not live.ready and panel.tile.box.layout.display == "none"
    assert panel.opacity.continuous_update is False and live.follow == ".fsutils-opacity"
    both = panel.last_image.size
    live.ready = True                                    # what the browser reports once drawn
    assert panel.tile.box.layout.display is None and "labels over the photo" in \
        panel.tile.caption.value
    assert panel.last_image.size[0] < both[0]            # the kernel: the chosen garments only
    h, w = live.height, live.width
    labels = cv2.resize(pipe.labels(), (w, h), interpolation=cv2.INTER_NEAREST)
    version = live.version
    for opacity in (0.55, 0.2, 1.0, 0.0):
        panel.opacity.value = opacity
        shown = _as_the_browser(live, live.strength)
        assert live.strength == opacity
        photo = _layers(live)[0].astype(np.uint8)
        assert np.abs(shown - overlay(photo, labels, opacity)).max() <= 2
        kernel = widgets.SegmentationExplorer(pipe, opacity=opacity)     # not drawn yet: the kernel
        tile = np.asarray(kernel.last_image)[TITLE_HEIGHT:TITLE_HEIGHT + h, :w].astype(int)
        assert np.abs(shown - tile).max() <= 2, opacity
    assert live.version == version                       # the opacity sent no layers
    y, x = np.argwhere(labels == 1).mean(axis=0)         # the upper body, on the canvas
    live.click = [float(x), float(y), 1]
    assert panel.garments.points and panel.garments.garments == panel.garments.points
    assert live.version == version + 1                   # the outline: new layers
    yellow = np.all(_as_the_browser(live, 0.0) == (255, 220, 0), axis=-1)
    assert yellow.sum() > 20 and np.array_equal(yellow, np.all(
        _as_the_browser(live, 1.0) == (255, 220, 0), axis=-1))


def _overlapping():
    """A coat and, under part of it, a better-scored bag; a grey-to-be dress apart."""
    from fsutils.instances import Instance, Instances

    def inst(cls, score, x0, y0, x1, y1):
        m = np.zeros((60, 80), bool)
        m[y0:y1, x0:x1] = True
        return Instance(cls, score, (x0, y0, x1, y1), m)

    return Instances([inst("outer", 0.9, 10, 10, 50, 50), inst("bag", 0.95, 30, 30, 60, 55),
                      inst("dress", 0.8, 62, 5, 78, 40)])


def test_instance_drawing_is_one_tint_per_pixel_boxes_and_labels_opaque():
    """``draw`` is ``C + clip(a·b)·(T − C)`` of its layers: where instances overlap the
    best-scored one's tint alone (the sequential tints before mixed both), a class not chosen at a
    third of the opacity, and boxes and labels the same at every opacity."""
    from fsutils.instances.viz import CLASS_COLORS, draw, layers

    rng = np.random.default_rng(3)
    photo = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    found = _overlapping()
    c, t, b = layers(photo, found, ["outer", "bag"], labels=False)
    for a in (0.0, 0.45, 1.0):
        shown = np.asarray(draw(photo, found, ["outer", "bag"], opacity=a, labels=False), float)
        p = photo.astype(float)
        both = (slice(32, 48), slice(32, 48))            # inside both boxes' outlines
        bag = p[both] + a * (np.array(CLASS_COLORS["bag"], float) - p[both])
        assert np.abs(shown[both] - bag).max() <= 1
        coat = (slice(15, 28), slice(15, 28))
        assert np.abs(shown[coat] - p[coat] - a * (np.array(CLASS_COLORS["outer"]) - p[coat])
                      ).max() <= 1
        dress = (slice(8, 38), slice(64, 76))            # not chosen: grey, a third
        assert np.abs(shown[dress] - p[dress] - a / 3 * (150 - p[dress])).max() <= 1
        box = np.all(c == t, axis=-1) & (b > 0)          # drawn into both layers
        assert box.sum() > 100 and np.array_equal(shown[box], c[box].astype(float))
    labelled = np.asarray(draw(photo, found, opacity=0.0))
    assert (labelled != photo).any(axis=-1).sum() > 300   # the boxes and labels at opacity 0


def test_instance_panel_live_items_recompose_the_kernel_tile(pipe):
    """The "items found" tile recomposed in the browser from ``instances.viz.layers`` equals the
    kernel's ``draw`` of the same photo at the tile's size, and the tile the kernel draws before
    the browser is ready, within 2 levels at every opacity; the kernel then draws the restyled
    tile only, and a tick sends new layers."""
    from fsutils.instances.viz import draw

    _needs_live()
    panel = widgets.InstancePanel(pipe, garments=["outer"], mode="hard")
    live = panel.live
    assert live is not None and panel.opacity.continuous_update is False
    assert panel.captions.value.count("flex:none") == 2        # before: both tiles, the kernel's
    live.ready = True
    assert panel.tile.box.layout.display is None
    assert panel.captions.value.count("flex:none") == 1 and "restyled" in panel.captions.value
    h, w = live.height, live.width
    version = live.version
    for opacity in (0.45, 0.9, 0.1):
        panel.opacity.value = opacity
        shown = _as_the_browser(live, live.strength)
        kernel = np.asarray(draw(pipe.content, pipe.instances(), ("outer",), opacity=opacity,
                                 size=(w, h)))
        assert np.abs(shown - kernel).max() <= 2, opacity
        before = widgets.InstancePanel(pipe, garments=["outer"], mode="hard", opacity=opacity)
        tile = np.asarray(before.last_image)[:, :w].astype(int)
        assert np.abs(shown - tile).max() <= 2, opacity
    assert live.version == version
    panel.boxes["shoe"].value = True
    assert live.version == version + 1


def test_overlay_panels_without_the_live_picture_draw_in_the_kernel(pipe, monkeypatch):
    """Where the live picture cannot work, the explorer and the instance panel draw both tiles
    in the kernel with a continuous opacity slider, as before; asking for it is refused."""
    from fsutils.widgets import live as live_module

    monkeypatch.setattr(live_module, "live_available", lambda: False)
    for make in (widgets.SegmentationExplorer, widgets.InstancePanel):
        with pytest.raises(ValueError, match="anywidget"):
            make(pipe, live=True)
        panel = make(pipe)
        assert panel.live is None and panel.opacity.continuous_update is True
        first = pixels(panel)
        panel.opacity.value = 0.05
        assert np.abs(pixels(panel) - first).max() > 8
    assert panel.captions.value.count("flex:none") == 2
