"""The panels under faults: every upload that cannot be used (not an image, empty, truncated, a
decompression bomb, a side too short for the models) is refused in the picker's status line, the
photo chosen before stays and nothing is raised out of the upload handler; uploaded names become
safe file stems; the Save button shows what stopped it. Driven in Python through the upload
widget's value, as the browser would set it (tests/test_widgets.py's ``simulate_upload``)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ipywidgets")

from fsutils import widgets  # noqa: E402
from fsutils.limits import MIN_SIDE  # noqa: E402
from fsutils.user_names import file_stem, shown  # noqa: E402
from tests.test_widgets import pipe, simulate_upload  # noqa: E402,F401  (the fixture)


def png(w: int, h: int, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), 200).save(buf, "PNG")
    return buf.getvalue()


def animated_gif() -> bytes:
    buf = io.BytesIO()
    frames = [Image.new("RGB", (40, 30), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


#: upload → the words its refusal must hold
REFUSED = {
    "notes.jpg": (b"hello, not a picture", "notes.jpg is not an image file"),
    "empty.png": (b"", "empty.png is empty (0 bytes)"),
    "cut.png": (png(80, 60)[:60], "cut.png is truncated or corrupt"),
    "bomb.png": (png(20000, 20000, "1"), "bomb.png has 400,000,000 pixels"),
    "strip.png": (png(4000, 1), "strip.png: the photo is only 4000×1 px"),
    "icon.png": (png(MIN_SIDE - 1, 40), f"at least {MIN_SIDE} px on each side"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_an_unusable_upload_is_refused_in_the_status_line_and_the_photo_stays(pipe, name):
    picker = widgets.PhotoPicker(pipe)
    before, key = picker.name, pipe.image_key
    data, words = REFUSED[name]
    simulate_upload(picker.upload, name, data)          # must not raise
    assert words in picker.problem and "\n" not in picker.problem
    assert picker.name == before and pipe.image_key == key
    assert "upload not used: " in picker.status.value and f"still using {before}" in picker.status.value
    simulate_upload(picker.upload, "good.png", png(80, 60))     # a good one clears the problem
    assert picker.problem == "" and picker.name == "good" and pipe.photo.size == (80, 60)
    assert "upload not used" not in picker.status.value


def test_a_photo_too_narrow_at_the_working_size_is_refused_as_the_command_line_does(pipe):
    """160-px working size: 800×40 becomes 160×8, under the models' 16 px."""
    picker = widgets.PhotoPicker(pipe)
    simulate_upload(picker.upload, "band.png", png(800, 40))
    assert "too narrow" in picker.problem and "160×8 px" in picker.problem
    assert "give the pipeline a larger photo_size" in picker.problem


@pytest.mark.parametrize("picker_of", [lambda p: widgets.StylePicker(),
                                       lambda p: widgets.ArticlePicker()])
def test_the_painting_and_article_uploads_are_refused_the_same_way(pipe, picker_of):
    picker = picker_of(pipe)
    before, value = picker.name, picker.value
    mask = getattr(picker, "mask", None)
    simulate_upload(picker.upload, "notes.jpg", b"not a picture")
    assert "notes.jpg is not an image file" in picker.problem
    assert picker.name == before and picker.value is value
    assert getattr(picker, "mask", None) is mask                # the article keeps its mask
    assert "upload not used" in (picker.label if hasattr(picker, "label") else picker.status).value


def test_a_bad_max_pixels_setting_is_shown_not_raised(pipe, monkeypatch):
    picker = widgets.PhotoPicker(pipe)
    monkeypatch.setenv("FSUTILS_MAX_PIXELS", "lots")
    simulate_upload(picker.upload, "good.png", png(80, 60))
    assert picker.problem.startswith("good.png: FSUTILS_MAX_PIXELS='lots' is not usable")


def test_an_animated_upload_uses_its_first_frame(pipe):
    picker = widgets.PhotoPicker(pipe)
    simulate_upload(picker.upload, "moving.gif", animated_gif())
    assert picker.problem == "" and picker.name == "moving"
    assert tuple(np.asarray(pipe.photo)[0, 0]) == (255, 0, 0)


@pytest.mark.parametrize("upload, stem", [
    ("..jpg", "photo"), (".png", "photo"), ("", "photo"), ("...hidden.png", "hidden"),
    ("../../etc/passwd.png", "passwd"), ("C:\\Users\\me\\shirt.jpg", "shirt"),
    ("a\nb.png", "a_b"), ("\x1b[31mred.png", "_[31mred"), ("  spaced .png", "spaced"),
    ("rtl\u202egnp.png", "rtl_gnp"), ("my photo.tar.png", "my photo.tar"), ("x" * 300 + ".png", "x" * 120),
])
def test_uploaded_names_become_safe_file_stems(pipe, upload, stem):
    picker = widgets.PhotoPicker(pipe)
    simulate_upload(picker.upload, upload, png(80, 60))
    assert picker.name == stem == file_stem(upload, "photo") and pipe.image_name == stem


def test_names_in_the_status_line_are_escaped_html(pipe):
    picker = widgets.PhotoPicker(pipe)
    simulate_upload(picker.upload, "<img src=x onerror=alert(1)>.png", png(80, 60))
    assert "<img" not in picker.status.value and "&lt;img" in picker.status.value
    simulate_upload(picker.upload, "<b>bad</b>.jpg", b"junk")
    assert "<b>bad</b>" not in picker.status.value


def test_shown_quotes_only_names_that_need_it():
    assert shown("my photo.png") == "my photo.png"
    assert shown("a\nb.png") == "'a\\nb.png'" and "\x1b" not in shown("\x1b[2J.png")
    assert shown("caf\udce9.jpg") == "'caf\\udce9.jpg'"          # a name that is not UTF-8
    assert "\u202e" not in shown("x\u202egnp.exe")


def test_the_save_button_shows_what_stopped_it(pipe, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    panel = widgets.PipelinePanel(pipe, output_dir=blocker / "out")
    panel.save_button.click()                                   # must not raise
    assert "not saved: " in panel.saved.value and "a_file" in panel.saved.value
    with pytest.raises(OSError):
        panel.save()                                            # the method itself still raises


def test_save_writes_under_a_safe_stem(pipe, tmp_path):
    pipe.set_image(Image.fromarray(np.full((60, 80, 3), 90, np.uint8)), name="../../escaped")
    panel = widgets.PipelinePanel(pipe, output_dir=tmp_path / "out")
    files = panel.save()
    assert files and all(f.parent == tmp_path / "out" for f in files)
    assert all(f.name.startswith("escaped_") for f in files)
