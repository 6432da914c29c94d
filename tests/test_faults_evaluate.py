"""`python -m fsutils.evaluate` under faults: bad arguments are refused in one line with exit
status 2 before any model loads; a photo that cannot be scored (not an image, a garbage
annotation, an annotation of another size) is left out and listed at the end with exit status 1,
the scores of the others printed in their usual format; no photo at all prints no score (never
``nan``); never a traceback.

The in-process tests replace the models by small stand-ins (the faults are in the arguments and
the data, not the networks); the slow test runs the real command in a subprocess."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fsutils import data, evaluate
from fsutils.evaluation import segmentation
from fsutils.evaluation.photos import evaluate_photos
from tests.ccp_fixture import person_groundtruth, write_ccp

ROOT = Path(__file__).resolve().parent.parent
TASKS = ("segmentation", "cutout", "blend")
#: Photos of the kit's validation split (the default of cutout and blend).
GOOD, BAD = "0005", "0017"
#: The last line of each subcommand's output (a contract). Leakage is ``nan`` only where no
#: style was placed at all (undefined, as documented).
LAST_LINE = {"segmentation": r"mean_iou_garments=\d\.\d{4}",
             "cutout": r"iou_person_saliency=\d\.\d{4} iou_person_grabcut_box=\d\.\d{4}",
             "blend": r"\| `poisson` \| Poisson blending \| \d\.\d{3} \| (\d\.\d{3}|nan)( \| \d\.\d{3}){3} \|"}


def _ccp(root: Path, fault: str | None = None, ids: tuple[str, ...] = (GOOD, BAD)) -> Path:
    """A tiny CCP folder of ``ids`` (96×64 photos); ``fault`` spoils the photo ``BAD``."""
    write_ccp(root, {i: person_groundtruth(96, 64, "t-shirt", "jeans") for i in ids})
    photo, mat = data.photo_path(root, BAD), data.annotation_path(root, BAD)
    if fault == "size":  # the photo shrunk after it was annotated
        Image.open(photo).resize((64, 80)).save(photo)
    elif fault == "not an image":
        photo.write_text("not a picture\n")
    elif fault == "garbage mat":
        mat.write_bytes(b"garbage" * 20)
    return root


class _NoModel:
    """Stands in for every model while arguments are checked: building one fails the test."""

    def __init__(self, *args, **kwargs):
        raise AssertionError("a model was loaded before the arguments were checked")


@pytest.fixture
def no_models(monkeypatch):
    import fsutils.pipeline
    import fsutils.saliency
    import fsutils.segment

    for module, name in ((fsutils.segment, "ClothSegmenter"), (fsutils.saliency, "SaliencyModel"),
                         (fsutils.pipeline, "Pipeline")):
        monkeypatch.setattr(module, name, _NoModel)


@pytest.fixture
def stand_in_models(monkeypatch):
    """Quick models: every pixel upper body, a centred salient box, an inverting 'style'."""
    import fsutils.pipeline
    import fsutils.saliency
    import fsutils.segment

    def labels(photo):
        return np.ones(np.asarray(photo).shape[:2], np.uint8)

    def salient(photo):
        h, w = np.asarray(photo).shape[:2]
        sal = np.zeros((h, w), np.float32)
        sal[h // 8: -h // 8, w // 4: -w // 4] = 0.9
        return sal

    class Model:
        def __init__(self, *args, **kwargs):
            pass

        predict = staticmethod(labels)

    class Saliency(Model):
        predict = staticmethod(salient)

    real = fsutils.pipeline.Pipeline

    def pipeline(*models, photo_size=None, **options):
        invert = lambda content, style, **kw: Image.fromarray(255 - np.asarray(content))  # noqa: E731
        return real(labels, salient, stylers={"fast": invert}, photo_size=photo_size,
                    class_names=("background", "upper body", "lower body", "full body"))

    monkeypatch.setattr(fsutils.segment, "ClothSegmenter", Model)
    monkeypatch.setattr(fsutils.saliency, "SaliencyModel", Saliency)
    monkeypatch.setattr(fsutils.pipeline, "Pipeline", pipeline)


def _refused(argv: list[str], capsys) -> str:
    """Run the command, which must refuse its arguments: exit 2, one line on stderr, no output."""
    with pytest.raises(SystemExit) as e:
        evaluate.main([*argv, "--no-progress"])
    out, err = capsys.readouterr()
    assert e.value.code == 2 and out == "", (e.value.code, out)
    assert len(err.splitlines()) == 1 and err.startswith(f"python -m fsutils.evaluate {argv[0]}: error: "), err
    return err


def _run(argv: list[str], capsys) -> tuple[int, list[str], list[str]]:
    code = evaluate.main([*argv, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


# ------------------------------------------------------------------------ bad arguments: exit 2
@pytest.mark.parametrize("task", TASKS)
def test_a_missing_or_empty_ccp_root_is_refused_before_any_model(task, tmp_path, capsys, no_models):
    err = _refused([task, "--ccp-root", str(tmp_path / "nowhere")], capsys)
    assert f"{tmp_path / 'nowhere'} is not a CCP folder: it does not exist" in err and "label_list.mat" in err
    (tmp_path / "empty").mkdir()
    err = _refused([task, "--ccp-root", str(tmp_path / "empty")], capsys)
    assert "is not a CCP folder: it lacks photos/ or annotations/pixel-level/" in err
    no_pairs = tmp_path / "no_pairs"
    (no_pairs / "photos").mkdir(parents=True)
    (no_pairs / "annotations" / "pixel-level").mkdir(parents=True)
    assert "no photo has an annotation" in _refused([task, "--ccp-root", str(no_pairs)], capsys)
    (tmp_path / "a_file").write_text("x")
    assert "is not a CCP folder: it is a file" in _refused([task, "--ccp-root", str(tmp_path / "a_file")], capsys)


@pytest.mark.parametrize("task", TASKS)
def test_a_garbage_label_list_is_refused_before_any_model(task, tmp_path, capsys, no_models):
    root = _ccp(tmp_path / "ccp")
    (root / "label_list.mat").write_bytes(b"\x00garbage")
    err = _refused([task, "--ccp-root", str(root)], capsys)
    assert "label_list.mat is not CCP's label list" in err and "clothing-co-parsing" in err


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("value", ["-1", "0", "two"])
def test_max_images_below_one_is_refused(task, value, tmp_path, capsys, no_models):
    root = _ccp(tmp_path / "ccp")
    err = _refused([task, "--ccp-root", str(root), "--max-images", value], capsys)
    assert "--max-images" in err and ("≥ 1" in err or "not a whole number" in err)


def test_max_images_takes_exactly_that_many_photos(tmp_path, capsys, stand_in_models):
    root = _ccp(tmp_path / "ccp")
    code, out, err = _run(["segmentation", "--ccp-root", str(root), "--max-images", "1"], capsys)
    assert code == 0 and out[0].endswith(" images=1") and not err
    code, out, _ = _run(["segmentation", "--ccp-root", str(root)], capsys)
    assert code == 0 and out[0].endswith(" images=2")


@pytest.mark.parametrize("argv, words", [
    (["segmentation", "--weights", "nosuch"], "--weights 'nosuch' is neither a cloth model nor a checkpoint file"),
    (["segmentation", "--weights", "u2netp"], "--weights 'u2netp' is not a cloth model"),
    (["segmentation", "--input-size", "-5"], "--input-size: -5 is out of range"),
    (["segmentation", "--input-size", "99999"], "--input-size: 99999 is out of range"),
    (["segmentation", "--device", "bogus"], "argument --device: Unknown device 'bogus'"),
    (["blend", "--segment-weights", "nosuch"], "--segment-weights 'nosuch'"),
    (["blend", "--style", "nosuch"], "unknown fast style 'nosuch'"),
    (["blend", "--modes", ","], "--modes names no blend mode"),
    (["blend", "--strength", "inf"], "--strength: inf is out of range"),
    (["blend", "--band", "0"], "--band: 0 is out of range"),
    (["blend", "--max-size", "8"], "--max-size: 8 is out of range"),
    (["cutout", "--iters", "0"], "--iters: 0 is out of range"),
    (["cutout", "--split", "nope"], "invalid choice: 'nope'"),
])
def test_bad_options_are_refused_before_any_model(argv, words, tmp_path, capsys, no_models):
    root = _ccp(tmp_path / "ccp")
    err = _refused([argv[0], "--ccp-root", str(root), *argv[1:]], capsys)
    assert words in err, err


def test_a_folder_is_not_a_checkpoint(tmp_path, capsys, no_models):
    root = _ccp(tmp_path / "ccp")
    err = _refused(["segmentation", "--ccp-root", str(root), "--weights", str(tmp_path)], capsys)
    assert "is a folder" in err


# ---------------------------------------------------- one bad photo: left out, listed, exit 1
FAULTS = {"size": "the photo is 64×80 px but its annotation",
          "not an image": "cannot be read as a photo",
          "garbage mat": "is not a readable MATLAB annotation"}


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("fault", FAULTS)
def test_a_bad_photo_is_left_out_and_listed_the_others_scored(task, fault, tmp_path, capsys,
                                                              stand_in_models):
    root = _ccp(tmp_path / "ccp", fault)
    code, out, err = _run([task, "--ccp-root", str(root)], capsys)
    assert code == 1
    assert " images=1" in out[0] and re.fullmatch(LAST_LINE[task], out[-1]), out
    assert err[-2] == "error: 1 of 2 photo(s) could not be scored and are left out of the scores above:"
    bad_file = data.annotation_path(root, BAD) if fault == "garbage mat" else data.photo_path(root, BAD)
    assert err[-1].startswith(f"  {bad_file}: {FAULTS[fault]}"), err[-1]
    assert "Traceback" not in "\n".join(err)


@pytest.mark.parametrize("task", ["segmentation", "cutout"])
def test_an_annotation_of_another_size_names_the_photo_and_both_sizes(task, tmp_path, capsys,
                                                                      stand_in_models):
    root = _ccp(tmp_path / "ccp", "size")
    _, _, err = _run([task, "--ccp-root", str(root)], capsys)
    assert err[-1] == (f"  {data.photo_path(root, BAD)}: the photo is 64×80 px but its annotation "
                       f"{data.annotation_path(root, BAD)} is 64×96 px (width×height); an annotation "
                       "must label every pixel of its photo: replace one of them, or remove both "
                       "from the folder.")


def test_blend_refuses_to_stretch_an_annotation(tmp_path, capsys, stand_in_models):
    """Stretched, the spoilt pair would be scored as if it matched: the scores with it left out
    are those of the good photo alone."""
    root = _ccp(tmp_path / "ccp", "size")
    code, out, err = _run(["blend", "--ccp-root", str(root)], capsys)
    assert code == 1 and "64×80 px" in err[-1] and "64×96 px" in err[-1]
    alone = _ccp(tmp_path / "alone", ids=(GOOD,))
    assert _run(["blend", "--ccp-root", str(alone)], capsys)[:2] == (0, out)


@pytest.mark.parametrize("task", TASKS)
def test_no_photo_scored_prints_no_score(task, tmp_path, capsys, stand_in_models):
    root = _ccp(tmp_path / "ccp", "not an image", ids=(BAD,))
    code, out, err = _run([task, "--ccp-root", str(root)], capsys)
    assert code == 1 and out == []
    assert err[-2] == "error: none of the 1 photo(s) could be scored, so there is no score:"
    assert err[-1].startswith(f"  {data.photo_path(root, BAD)}: cannot be read as a photo (")
    assert err[-1].endswith("); replace it, or remove the photo and its annotation from the folder.")


def test_a_model_that_cannot_be_loaded_is_one_line(tmp_path, capsys):
    root = _ccp(tmp_path / "ccp")
    weights = tmp_path / "broken.pth"
    weights.write_bytes(b"not a checkpoint")
    code, out, err = _run(["segmentation", "--ccp-root", str(root), "--weights", str(weights)], capsys)
    assert code == 1 and out == [] and len(err) == 1 and err[0].startswith("error: ")
    assert str(weights) in err[0]


@pytest.mark.parametrize("task", TASKS)
def test_help_says_what_happens_to_a_bad_photo(task, capsys):
    with pytest.raises(SystemExit) as e:
        evaluate.main([task, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert e.value.code == 0 and "1 a photo could not be scored (left out, the others scored" in text
    assert "2 a bad argument, refused before any model loads" in text


def test_ctrl_c_stops_in_one_line(tmp_path, capsys, monkeypatch):
    import fsutils.segment

    class Interrupted:
        def __init__(self, *args, **kwargs):
            pass

        def predict(self, photo):
            raise KeyboardInterrupt

    monkeypatch.setattr(fsutils.segment, "ClothSegmenter", Interrupted)
    root = _ccp(tmp_path / "ccp")
    assert _run(["segmentation", "--ccp-root", str(root)], capsys) == (
        130, [], ["error: interrupted; no score was printed."])


# -------------------------------------------------------------------------- the library side
def test_load_pair_refuses_a_stretched_annotation_and_reads_a_good_one(tmp_path):
    root = _ccp(tmp_path / "ccp", "size")
    photo, gt = data.load_pair(root, GOOD)
    assert photo.size == (64, 96) and gt.shape == (96, 64) and gt.dtype == np.uint8
    with pytest.raises(data.PhotoError, match="64×80 px but its annotation .* is 64×96 px") as e:
        data.load_pair(root, BAD)
    assert e.value.path == data.photo_path(root, BAD)


@pytest.mark.parametrize("content, words", [
    ({"groundtruth": np.zeros((2, 3, 4), np.uint8)}, "not a map of label indices"),
    ({"groundtruth": np.full((4, 4), -1, np.int16)}, "not a map of label indices"),
    ({"other": np.zeros((4, 4), np.uint8)}, "holds no 'groundtruth' array"),
])
def test_an_annotation_that_is_not_a_label_map_is_refused(content, words, tmp_path):
    import scipy.io

    root = _ccp(tmp_path / "ccp")
    scipy.io.savemat(str(data.annotation_path(root, BAD)), content)
    with pytest.raises(data.PhotoError, match=words):
        data.load_groundtruth(root, BAD)


def test_evaluate_photos_raises_without_a_list_and_skips_with_one(tmp_path):
    root = _ccp(tmp_path / "ccp", "garbage mat")
    sizes = lambda image_id, photo, gt: gt.shape  # noqa: E731
    with pytest.raises(data.PhotoError, match="not a readable MATLAB annotation"):
        evaluate_photos(root, [GOOD, BAD], sizes, progress=False)
    skipped = []
    assert evaluate_photos(root, [GOOD, BAD], sizes, skipped=skipped, progress=False) == [(96, 64)]
    assert [p for p, _ in skipped] == [data.annotation_path(root, BAD)]

    def fails(image_id, photo, gt):
        raise ValueError("the model cannot take this photo")

    skipped = []
    with pytest.raises(data.CCPError, match="none of the 1 photo"):
        evaluate_photos(root, [GOOD], fails, skipped=skipped, progress=False)
    assert skipped == [(data.photo_path(root, GOOD), "could not be evaluated (the model cannot take this photo).")]


def test_library_refuses_max_images_below_one(tmp_path):
    from fsutils.evaluation.photos import select_ids

    root = _ccp(tmp_path / "ccp")
    assert select_ids(root, "all", 1) == [GOOD]
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="max_images must be a whole number ≥ 1"):
            select_ids(root, "all", bad)
    with pytest.raises(ValueError, match="input_size"):
        segmentation.evaluate_segmentation(root, "ccp_deeplab", input_size=-5, progress=False)


def test_cutout_without_a_salient_pixel_scores_an_empty_grabcut(tmp_path, monkeypatch):
    """No pixel of the saliency map above 0.5: no box for GrabCut, so an empty cut-out (IoU 0)
    instead of an error."""
    from fsutils.evaluation import cutout as baselines

    class Blank:
        def predict(self, img):
            return np.zeros(np.asarray(img).shape[:2], np.float32)

    class Upper:
        def predict(self, img):
            return np.ones(np.asarray(img).shape[:2], np.uint8)

    root = _ccp(tmp_path / "ccp")
    r = baselines.evaluate_cutout(root, "val", saliency=Blank(), segmenter=Upper(), progress=False)
    assert r["images"] == 2 and r["iou"]["grabcut_auto"]["person"] == 0.0
    assert r["iou"]["grabcut_box"]["person"] > 0.5


# ------------------------------------------------------------------- the real command, end to end
@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_the_real_command_lists_every_bad_file_without_a_traceback(task, tmp_path):
    """Real models on a folder with one good photo and one of each fault. (On these flat
    synthetic photos the real segmenter may find no garment, so the blend table's leakage can be
    ``nan``: undefined without any style, as documented.)"""
    root = _ccp(tmp_path / "ccp", ids=("0005", "0017", "0039", "0040"))
    Image.open(data.photo_path(root, "0017")).resize((64, 80)).save(data.photo_path(root, "0017"))
    data.photo_path(root, "0039").write_text("not a picture\n")
    data.annotation_path(root, "0040").write_bytes(b"garbage" * 20)
    run = subprocess.run([sys.executable, "-m", "fsutils.evaluate", task, "--ccp-root", str(root),
                          "--no-progress"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    out, err = run.stdout.splitlines(), run.stderr.splitlines()
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert " images=1" in out[0] and re.fullmatch(LAST_LINE[task], out[-1]), out
    assert err[-4] == "error: 3 of 4 photo(s) could not be scored and are left out of the scores above:"
    assert [line.split(": ")[0].strip() for line in err[-3:]] == [
        str(data.photo_path(root, "0017")), str(data.photo_path(root, "0039")),
        str(data.annotation_path(root, "0040"))]
