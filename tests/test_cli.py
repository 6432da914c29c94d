"""`python -m fsutils`, the main job: real models (bundled cloth model, u2netp, Magenta's networks
and the fast-style models through the weights mirror) on the bundled samples at a small working
size."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fsutils import io as fio
from fsutils.segment import CLASS_NAMES
from fsutils.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
ALL_KINDS = {"stylized", "hard_paste", "style_full", "labels", "mask", "mask_upper_body",
             "mask_lower_body", "mask_full_body", "saliency", "comparison"}


def need_models(weights_path):
    """Skip when the mirror's style and saliency weights are not on this machine."""
    weights_path("u2netp")
    weights_path("fast_style/candy")
    weights_path("tflite/style_predict_quantized_256")
    weights_path("tflite/style_transfer_f16_384")


def outputs(folder: Path, stem: str) -> dict[str, Path]:
    return {p.stem[len(stem) + 1:]: p for p in folder.glob(f"{stem}_*.png")}


@pytest.mark.slow
def test_main_job_on_the_default_sample(tmp_path, weights_path, capsys):
    """The default run, offline: Magenta with The Starry Night on a bundled photo."""
    need_models(weights_path)
    assert main(["--out", str(tmp_path), "--photo-size", "192", "--quiet", "--mode", "saliency"]) == 0
    captured = capsys.readouterr()
    assert "method magenta (starry_night_vangogh)" in captured.err
    stem = fio.sample_photos()[0].stem
    files = outputs(tmp_path, stem)
    assert set(files) == ALL_KINDS
    printed = captured.out.split()
    assert sorted(printed) == sorted(str(p) for p in files.values())

    result = np.asarray(Image.open(files["stylized"]).convert("RGB")).astype(int)
    hard = np.asarray(Image.open(files["hard_paste"]).convert("RGB")).astype(int)
    full = np.asarray(Image.open(files["style_full"]).convert("RGB")).astype(int)
    mask = np.asarray(Image.open(files["mask"])) > 127
    sal = np.asarray(Image.open(files["saliency"]))
    labels = np.asarray(Image.open(files["labels"]).convert("RGB"))
    assert max(result.shape[:2]) == 192 and result.shape == hard.shape == full.shape
    assert mask.shape == sal.shape == result.shape[:2] == labels.shape[:2]
    assert 0.02 < mask.mean() < 0.9, "the garments of a fashion photo cover part of it"
    # outside the garments both results are the photo; inside, the hard paste is the stylised image
    assert np.array_equal(result[~mask], hard[~mask])
    assert np.abs(hard[mask] - full[mask]).max() <= 1
    # inside the garments the result is equation 2, C + M·(S − C), with the photo C at work size
    photo = fio.load_image(fio.sample_photos()[0])
    scale = 192 / max(photo.size)
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)),
                         Image.Resampling.LANCZOS)
    c = np.asarray(photo).astype(float)
    m = sal.astype(float)[..., None] / 255
    expected = c + m * (full - c)
    assert np.abs(result - expected)[mask].max() <= 2.5
    assert np.array_equal(result[~mask], c[~mask].astype(int))
    # the per-class masks add up to the chosen garments (all three by default)
    per_class = sum(np.asarray(Image.open(files[f"mask_{n}"])) > 127
                    for n in ("upper_body", "lower_body", "full_body"))
    assert np.array_equal(per_class > 0, mask)
    assert sal.dtype == np.uint8 and sal.max() > 200
    assert Image.open(files["comparison"]).size[0] > 400


@pytest.mark.slow
@pytest.mark.parametrize("mode", [None, "guided", "poisson"])
def test_edge_aware_modes_leave_the_photo_away_from_the_garments(tmp_path, weights_path, mode):
    need_models(weights_path)
    chosen = ["--blend", mode] if mode else []  # None: the default mode (guided × saliency)
    assert main(["--out", str(tmp_path), "--photo-size", "160", "--quiet", *chosen,
                 "--radius", "4", "--save", "stylized,style_full,mask"]) == 0
    files = outputs(tmp_path, fio.sample_photos()[0].stem)
    result = np.asarray(Image.open(files["stylized"]).convert("RGB")).astype(int)
    full = np.asarray(Image.open(files["style_full"]).convert("RGB")).astype(int)
    mask = np.asarray(Image.open(files["mask"])) > 127
    photo = fio.load_image(fio.sample_photos()[0])
    photo = np.asarray(photo.resize(result.shape[1::-1], Image.Resampling.LANCZOS)).astype(int)
    import cv2
    far = ~cv2.dilate(mask.astype(np.uint8), np.ones((19, 19), np.uint8)).astype(bool)
    assert far.mean() > 0.2 and np.abs(result[far] - photo[far]).max() <= 1
    # Inside the garments the style arrived (the stylised image differs from the photo there).
    core = cv2.erode(mask.astype(np.uint8), np.ones((19, 19), np.uint8)).astype(bool)
    changed = np.abs(result[core] - photo[core]).sum(-1) > 30
    assert changed.mean() > 0.5
    if mode == "guided":
        assert np.abs(result[core] - full[core]).mean() < 12


@pytest.mark.slow
def test_batch_folder_with_options(tmp_path, weights_path):
    need_models(weights_path)
    photos = tmp_path / "photos"
    photos.mkdir()
    for p in fio.sample_photos()[:2]:
        shutil.copy(p, photos / p.name)
    (photos / "notes.txt").write_text("not a photo")
    out = tmp_path / "out"
    rc = main([str(photos), "--out", str(out), "--method", "fast", "--style", "mosaic",
               "--garments", "upper,lower",
               "--mode", "feathered", "--width", "4", "--photo-size", "128",
               "--save", "stylized,mask", "--quiet"])
    assert rc == 0
    for p in fio.sample_photos()[:2]:
        got = outputs(out, p.stem)
        assert set(got) == {"stylized", "mask", "mask_upper_body", "mask_lower_body",
                            "mask_full_body"}
        mask = np.asarray(Image.open(got["mask"])) > 127
        upper = np.asarray(Image.open(got["mask_upper_body"])) > 127
        lower = np.asarray(Image.open(got["mask_lower_body"])) > 127
        assert np.array_equal(mask, upper | lower)
    assert sorted(p.name for p in out.iterdir() if p.suffix != ".png") == ["manifest.jsonl"]
    assert len(list(out.glob("*.png"))) == 10


def blank_stages(monkeypatch) -> None:
    """Make the CLI's pipeline segment and detect saliency without weights (all background, no
    saliency), so that only the style stage needs its networks."""
    import fsutils.pipeline as P

    real = P.Pipeline

    def blank(photo, dtype):
        return np.zeros((photo.size[1], photo.size[0]), dtype)

    def offline_stages(*a, **kw):
        kw.pop("segment_weights", None), kw.pop("saliency_weights", None)
        return real(lambda ph: blank(ph, np.uint8), lambda ph: blank(ph, np.float32),
                    class_names=CLASS_NAMES, **kw)

    monkeypatch.setattr(P, "Pipeline", offline_stages)


def test_gatys_without_vgg_weights_says_what_to_do(tmp_path, monkeypatch, isolated_weights):
    monkeypatch.delenv("FSUTILS_TINY", raising=False)
    monkeypatch.setenv("FSUTILS_OFFLINE", "1")
    blank_stages(monkeypatch)
    with pytest.raises(SystemExit) as info:
        main(["--method", "gatys", "--out", str(tmp_path), "--photo-size", "64", "--steps", "1",
              "--quiet"])
    msg = str(info.value)
    assert "VGG-19" in msg and "--method fast" in msg
    assert not list(tmp_path.glob("*.png"))


def test_magenta_needs_no_download(tmp_path, monkeypatch, isolated_weights):
    """Magenta's two networks ship with the kit: offline, with an empty cache, it runs."""
    monkeypatch.setenv("FSUTILS_OFFLINE", "1")
    from fsutils.style import magenta

    blank_stages(monkeypatch)
    monkeypatch.setattr(magenta, "_CACHE", {})  # networks loaded by other tests do not count
    assert main(["--out", str(tmp_path), "--photo-size", "64", "--quiet", "--save", "stylized"]) == 0
    assert len(list(tmp_path.glob("*_stylized.png"))) == 1 and not isolated_weights.exists()


def test_magenta_style_strength_reaches_the_styler(tmp_path, monkeypatch):
    seen = []
    import fsutils.pipeline as P

    real = P.Pipeline

    def style(content, style, **kw):
        seen.append((style, kw))
        return content

    def build(*a, **kw):
        kw.pop("segment_weights", None), kw.pop("saliency_weights", None)
        seg = lambda photo: np.ones((photo.size[1], photo.size[0]), np.uint8)  # noqa: E731
        sal = lambda photo: np.ones((photo.size[1], photo.size[0]), np.float32)  # noqa: E731
        return real(seg, sal, stylers={"magenta": style}, class_names=CLASS_NAMES, **kw)

    monkeypatch.setattr(P, "Pipeline", build)
    assert main(["--out", str(tmp_path), "--photo-size", "48", "--style", "the_scream_munch",
                 "--style-strength", "0.4", "--save", "stylized", "--quiet"]) == 0
    assert seen[0][0] == "the_scream_munch" and seen[0][1]["style_strength"] == 0.4


def usage_error(capsys, args) -> str:
    """Run the CLI with ``args``: it must stop with exit status 2 and one line on stderr."""
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == 2, f"exit status {info.value.code!r}, stderr: {err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m fsutils: error: "), err
    return lines[0]


@pytest.mark.parametrize("args, expected", [
    (["no_such_photo.jpg"], "neither a file"),
    (["--garments", "hat"], "'hat' names no garment class; choose semantic classes upper, "
                            "lower, full (or 1-3) or instance classes top, outer, dress"),
    (["--garments", "outer,upper"], "mix two vocabularies (outer: instance classes, upper: not); "
                                    "choose either semantic classes upper, lower, full"),
    (["--garments", "background"], "background"),
    (["--garments", "0"], "background"),
    (["--method", "fast", "--style", "starry_night_vangogh"], "not a fast-style model"),
    (["--style", "nope.jpg"], "neither an image file"),
    (["--method", "adain", "--style", "nope.jpg"], "neither an image file"),
    (["--save", "stylized,everything"], "--save"),
])
def test_user_errors_are_clear(tmp_path, args, expected, capsys, no_models):
    assert expected in usage_error(capsys, [*args, "--out", str(tmp_path)])


def test_empty_folder_is_an_error(tmp_path, capsys, no_models):
    (tmp_path / "empty").mkdir()
    assert "holds no images" in usage_error(capsys, [str(tmp_path / "empty"), "--out",
                                                     str(tmp_path)])


@pytest.fixture
def no_models(monkeypatch):
    """The pipeline must not even be built (no model loads) for a usage error."""
    import fsutils.pipeline as P

    def refuse(*a, **kw):
        raise AssertionError("the pipeline was built before the arguments were checked")

    monkeypatch.setattr(P, "Pipeline", refuse)


@pytest.mark.parametrize("args, option", [
    (["--strength", "-1"], "--strength"), (["--strength", "nan"], "--strength"),
    (["--width", "-3"], "--width"), (["--size", "0"], "--size"),
    (["--style-size", "0"], "--style-size"), (["--photo-size", "-2"], "--photo-size"),
    (["--max-size", "-2"], "--max-size"), (["--alpha", "1.5"], "--alpha"),
    (["--method", "gatys", "--steps", "-5"], "--steps"), (["--steps", "many"], "--steps"),
    (["--style-weight", "-1e6"], "--style-weight"),
    (["--blend", "guided", "--radius", "0"], "--radius"), (["--eps", "0"], "--eps"),
    (["--mode", "glue"], "--mode"), (["--style-strength", "1.5"], "--style-strength"),
    (["--style-strength", "-0.2"], "--style-strength"),
])
def test_bad_numbers_are_refused_before_any_work(tmp_path, args, option, capsys, no_models):
    line = usage_error(capsys, [*args, "--out", str(tmp_path / "out")])
    assert option in line
    assert not (tmp_path / "out").exists()


def test_out_naming_a_file_is_a_usage_error(tmp_path, capsys, no_models):
    existing = tmp_path / "results.png"
    existing.write_bytes(b"x")
    assert "is a file; give a folder" in usage_error(capsys, ["--out", str(existing)])


def test_help_shows_only_real_defaults():
    from fsutils.__main__ import build_parser

    text = " ".join(build_parser().format_help().split())   # without the line wrapping
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "upper, lower, full (or 1-3) or instance classes top, outer" in text
    assert "(default: upper,lower,full)" in text
    optimizer = next(a for a in build_parser()._actions if "--optimizer" in a.option_strings)
    assert optimizer.help


class _FakeStages:
    """Stand-in models for the CLI: labels from ``classes_present``, a flat saliency map and an
    inverted photo as the 'style'."""

    def __init__(self, monkeypatch, classes_present=(1, 2)):
        import fsutils.pipeline as P
        from fsutils.style import METHODS

        real = P.Pipeline

        def segment(photo):
            w, h = photo.size
            lab = np.zeros((h, w), np.uint8)
            for k, c in enumerate(classes_present):
                lab[h * (k + 1) // 4: h * (k + 2) // 4, w // 4: 3 * w // 4] = c
            return lab

        def saliency(photo):
            return np.full((photo.size[1], photo.size[0]), 0.7, np.float32)

        def style(content, style, **kw):
            return Image.fromarray(255 - np.asarray(content))

        def build(*a, **kw):
            kw.pop("segment_weights", None), kw.pop("saliency_weights", None)
            return real(segment, saliency, stylers={m: style for m in METHODS},
                        class_names=("background", "upper body", "lower body", "full body"), **kw)

        monkeypatch.setattr(P, "Pipeline", build)


def test_batch_goes_on_past_an_unreadable_photo_and_lists_it(tmp_path, monkeypatch, capsys):
    _FakeStages(monkeypatch)
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "bad.jpg").write_text("this is text, not a photo")
    shutil.copy(fio.sample_photos()[0], photos / "good.jpg")
    out = tmp_path / "out"
    rc = main([str(photos), "--out", str(out), "--photo-size", "64", "--save", "stylized"])
    err = capsys.readouterr().err
    assert rc == 1
    assert (out / "good_stylized.png").is_file()
    assert "1 of 2 photo(s) failed" in err
    listed = err[err.index("failed:"):]
    assert "bad.jpg" in listed and "good.jpg" not in listed


def test_garments_that_cover_nothing_are_warned_about(tmp_path, monkeypatch, capsys):
    _FakeStages(monkeypatch, classes_present=(3,))
    rc = main([str(fio.sample_photos()[0]), "--garments", "upper,lower", "--out", str(tmp_path),
               "--photo-size", "64", "--save", "stylized"])
    err = capsys.readouterr().err
    assert rc == 0
    warning = next(line for line in err.splitlines() if line.startswith("warning:"))
    assert "cover 0%" in warning and "full body" in warning and "--garments full" in warning
    assert "wrote 1 file" in err and "1 files" not in err


def test_per_photo_lines_do_not_run_into_a_progress_bar_off_a_terminal(tmp_path, monkeypatch,
                                                                       capsys):
    _FakeStages(monkeypatch)
    photos = [str(p) for p in fio.sample_photos()[:2]]
    assert main([*photos, "--out", str(tmp_path), "--photo-size", "64", "--save", "stylized"]) == 0
    err = capsys.readouterr().err                    # captured: not a terminal
    assert "\r" not in err and "photo/s" not in err and "it/s" not in err
    per_photo = [line for line in err.splitlines() if "garments cover" in line]
    assert [line.split(":")[0] for line in per_photo] == [Path(p).name for p in photos]


def test_list_samples(capsys):
    assert main(["--list-samples"]) == 0
    out = capsys.readouterr().out
    assert fio.sample_photos()[0].stem in out and "starry_night_vangogh" in out


@pytest.mark.slow  # a child process: Python and torch start in ~6 s here
def test_python_dash_m_entry_point():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "fsutils", "--help"], capture_output=True,
                       text=True, env=env, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "--method" in r.stdout and "--garments" in r.stdout and "photos" in r.stdout


def test_old_option_names_are_aliases_of_the_new_ones():
    from fsutils.__main__ import build_parser

    parser = build_parser()
    old = parser.parse_args(["--max-size", "100", "--size", "50", "--alpha", "0.3"])
    new = parser.parse_args(["--photo-size", "100", "--style-size", "50", "--style-strength", "0.3"])
    assert old == new and (new.photo_size, new.style_size, new.style_strength) == (100, 50, 0.3)


def test_device_option_reaches_every_model_without_touching_the_environment(tmp_path,
                                                                           monkeypatch):
    """``--device cpu`` is passed to the cloth model, the saliency model and the style method as an
    argument; ``FSUTILS_DEVICE`` stays unset."""
    import fsutils.saliency
    import fsutils.segment
    from fsutils.style import magenta

    monkeypatch.delenv("FSUTILS_DEVICE", raising=False)
    devices: dict[str, str] = {}

    class Model:  # no weights are loaded; the device each model is given is kept
        CLASS_NAMES = CLASS_NAMES

        def __init__(self, weights=None, device=None, **options):
            devices[type(self).__name__] = str(device)

        def predict(self, photo):
            return np.ones((photo.size[1], photo.size[0]), np.uint8)

    def styler(content, style, params, **kw):
        devices["style"] = str(kw.get("device"))
        return content

    monkeypatch.setattr(fsutils.segment, "ClothSegmenter", type("ClothSegmenter", (Model,), {}))
    monkeypatch.setattr(fsutils.saliency, "SaliencyModel", type("SaliencyModel", (Model,), {}))
    monkeypatch.setattr(magenta, "magenta_transfer", styler)
    assert main(["--out", str(tmp_path), "--photo-size", "48", "--device", "cpu",
                 "--save", "stylized", "--quiet"]) == 0
    assert devices == {"ClothSegmenter": "cpu", "SaliencyModel": "cpu", "style": "cpu"}
    assert "FSUTILS_DEVICE" not in os.environ


#: An annotated test photo of Clothing Co-Parsing with a coat over a dress.
COAT_OVER_DRESS = "0875"


def _ccp_masks(root: Path, image_id: str, size: tuple[int, int]) -> dict[str, np.ndarray]:
    """The annotated instances of one CCP photo as one mask per class, resized to ``size``."""
    from fsutils import data

    masks: dict[str, np.ndarray] = {}
    for t in data.load_instances(root, image_id):
        masks[t.cls] = masks.get(t.cls, np.zeros(t.mask.shape, bool)) | t.mask
    return {c: np.asarray(Image.fromarray(m).resize(size, Image.Resampling.NEAREST))
            for c, m in masks.items()}


@pytest.mark.slow
def test_garments_outer_restyles_the_coat_and_leaves_the_dress(tmp_path, capsys):
    """``--garments outer`` on a coat worn over a dress: the style share of each pixel (as
    fsutils.placement measures it, from the photo, the whole stylised photo and the result) is
    high inside the annotated coat and about zero inside the annotated dress."""
    from fsutils import stages
    from fsutils.evaluation.placement import style_share

    root = Path(os.environ.get("FSUTILS_CCP_ROOT", "../shared/data/ccp"))
    photo = root / "photos" / f"{COAT_OVER_DRESS}.jpg"
    if not photo.is_file():
        pytest.skip(f"needs the Clothing Co-Parsing photos ({photo}; set FSUTILS_CCP_ROOT)")
    rc = main([str(photo), "--garments", "outer", "--photo-size", "320", "--save",
               "stylized,style_full,mask", "--out", str(tmp_path), "-q"])
    assert rc == 0
    assert "garments outer" in capsys.readouterr().err
    result, full = (fio.to_float(Image.open(tmp_path / f"{COAT_OVER_DRESS}_{k}.png"))
                    for k in ("stylized", "style_full"))
    content = fio.to_float(stages.shrink(fio.load_image(photo), 320))   # the pipeline's own shrink
    share, valid = style_share(content, full, result)
    truth = _ccp_masks(root, COAT_OVER_DRESS, (content.shape[1], content.shape[0]))
    coat, dress = truth["outer"] & valid, truth["dress"] & valid
    assert coat.sum() > 1000 and dress.sum() > 1000
    assert share[coat].mean() > 0.8, "the coat was not restyled"
    assert share[dress].mean() < 0.05, "the dress under the coat was restyled too"
    # the saved garment masks are the chosen instance class's, not the semantic classes'
    assert sorted(p.name for p in tmp_path.glob("*_mask*.png")) == [
        f"{COAT_OVER_DRESS}_mask.png", f"{COAT_OVER_DRESS}_mask_outer.png"]
    outer = np.asarray(Image.open(tmp_path / f"{COAT_OVER_DRESS}_mask_outer.png")) > 127
    assert (outer == (np.asarray(Image.open(tmp_path / f"{COAT_OVER_DRESS}_mask.png")) > 127)).all()
    assert (outer & coat).sum() > 0.7 * coat.sum()
