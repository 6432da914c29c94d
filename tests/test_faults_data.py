"""Bad data, bad settings and odd names, as a tester would try them:

- evaluations: an annotation with a label value ``label_list.mat`` does not name (the photo is
  left out, named, exit 1), a photo that repeats another (scored once, with a note), photos with
  nothing to score (one line, no ``nan`` table, exit 1), Ctrl-C in every task (exit 130);
- settings: ``FSUTILS_WEIGHTS_DIR`` that is a file, a mirror that is not a folder, an unknown
  device or switch value: exit 2 with one line, before any work;
- names with newlines or terminal escapes: one escaped line each in the command line's list of
  written files and in every message that echoes them.

In-process runs use stand-in models (tests/test_faults_evaluate.py, tests/test_cli.py); the slow
tests run the real commands in child processes.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from fsutils import data, evaluate
from fsutils.__main__ import main as cli_main
from fsutils.evaluation import photos as eval_photos
from fsutils.user_names import shown
from tests.ccp_fixture import ccp_index, person_groundtruth, write_ccp
from tests.test_cli import _FakeStages
from tests.test_faults_evaluate import (BAD, GOOD, LAST_LINE, TASKS, _ccp, _run,  # noqa: F401
                                        no_models, stand_in_models)

ROOT = Path(__file__).resolve().parent.parent


def _out_of_range(root: Path, value: int = 200) -> None:
    gt = person_groundtruth(96, 64, "t-shirt", "jeans")
    gt[:4, :4] = value
    scipy.io.savemat(str(data.annotation_path(root, BAD)), {"groundtruth": gt})


def _duplicate(root: Path) -> None:
    shutil.copy(data.photo_path(root, GOOD), data.photo_path(root, BAD))
    shutil.copy(data.annotation_path(root, GOOD), data.annotation_path(root, BAD))


def _no_garments(root: Path, ids=(GOOD, BAD)) -> Path:
    skin = np.zeros((96, 64), np.uint8)
    skin[10:80, 16:48] = ccp_index("skin")
    return write_ccp(root, {i: skin for i in ids})


# ------------------------------------------------------------------------------ evaluations
@pytest.mark.parametrize("task", TASKS)
def test_an_annotation_with_an_unknown_label_is_left_out_and_named(task, tmp_path, capsys,
                                                                  stand_in_models):
    root = _ccp(tmp_path / "ccp")
    _out_of_range(root)
    code, out, err = _run([task, "--ccp-root", str(root)], capsys)
    assert code == 1 and " images=1" in out[0] and re.fullmatch(LAST_LINE[task], out[-1])
    assert err[-2] == "error: 1 of 2 photo(s) could not be scored and are left out of the scores above:"
    assert err[-1] == (f"  {data.annotation_path(root, BAD)}: holds label value(s) 200, but "
                       "label_list.mat names only 59 labels (0–58); such pixels would be scored "
                       "and trained as background: correct the annotation, or remove the photo and its "
                       "annotation from the folder.")


def test_the_last_known_label_is_accepted(tmp_path, capsys, stand_in_models):
    root = _ccp(tmp_path / "ccp")
    _out_of_range(root, 58)                                     # "wedges", the last label
    code, out, _ = _run(["segmentation", "--ccp-root", str(root)], capsys)
    assert code == 0 and out[0].endswith(" images=2")


@pytest.mark.parametrize("task", TASKS)
def test_a_repeated_photo_is_scored_once_with_a_note(task, tmp_path, capsys, stand_in_models):
    root = _ccp(tmp_path / "ccp")
    _duplicate(root)
    code, out, err = _run([task, "--ccp-root", str(root)], capsys)
    assert code == 0 and " images=1" in out[0], (out, err)
    assert err == [f"note: {data.photo_path(root, BAD)} is the same photo as "
                   f"{data.photo_path(root, GOOD)} (identical files); it is scored once."]
    alone = _ccp(tmp_path / "alone", ids=(GOOD,))
    assert _run([task, "--ccp-root", str(alone)], capsys)[1][1:] == out[1:] or task == "cutout"


def test_max_images_counts_distinct_photos(tmp_path):
    root = _ccp(tmp_path / "ccp", ids=(GOOD, BAD, "0039"))
    _duplicate(root)
    notes: list[str] = []
    assert eval_photos.select_ids(root, "all", 2, notes=notes) == [GOOD, "0039"]
    assert len(notes) == 1


@pytest.mark.parametrize("task, so", [("segmentation", "so there is no garment IoU"),
                                      ("blend", "so no blend has a garment to cover")])
def test_photos_without_garments_are_one_line_not_a_nan_table(task, so, tmp_path, capsys,
                                                             stand_in_models):
    root = _no_garments(tmp_path / "ccp")
    code, out, err = _run([task, "--ccp-root", str(root)], capsys)
    assert code == 1 and out == [] and len(err) == 1, (out, err)
    assert err[0].startswith("error: none of the 2 photo(s) scored has an annotated garment "
                             "(upper body, lower body, full body), " + so)


def test_no_garment_and_a_bad_photo_say_both(tmp_path, capsys, stand_in_models):
    root = _no_garments(tmp_path / "ccp")
    data.photo_path(root, BAD).write_text("not a picture")
    code, out, err = _run(["segmentation", "--ccp-root", str(root)], capsys)
    assert code == 1 and out == [] and len(err) == 3
    assert err[0].startswith("error: none of the 1 photo(s) scored has an annotated garment")
    assert err[1] == "error: 1 more photo(s) could not be scored and are left out:"
    assert err[2].startswith(f"  {data.photo_path(root, BAD)}: cannot be read as a photo")


def test_instances_without_garments_is_one_line_before_any_model(tmp_path, capsys, monkeypatch):
    import fsutils.instances.segmenter as S

    monkeypatch.setattr(S, "InstanceSegmenter", _refuse_model)
    root = _no_garments(tmp_path / "ccp")
    code, out, err = _run(["instances", "--ccp-root", str(root), "--split", "all"], capsys)
    assert code == 1 and out == [] and len(err) == 1
    assert err[0].startswith("error: none of the 2 photo(s) scored has an annotated garment "
                             "(top, outer, dress, pants, skirt), so there is no AP50 to report")


def test_swap_without_an_upper_body_garment_is_one_line_before_any_model(tmp_path, capsys,
                                                                          monkeypatch):
    import fsutils.segment

    monkeypatch.setattr(fsutils.segment, "ClothSegmenter", _refuse_model)
    root = _no_garments(tmp_path / "ccp")
    code, out, err = _run(["swap", "--ccp-root", str(root), "--split", "all"], capsys)
    assert code == 1 and out == [] and err == [
        "error: none of the 2 photo(s) has an annotated upper-body garment covering at least 1% "
        "of the photo, so there is no swap to score; choose photos with one (another --split or "
        "folder)"]


@pytest.mark.parametrize("task", ["instances", "swap"])
def test_ctrl_c_is_one_line_in_every_task(task, tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(eval_photos, "usable_ids", interrupted)
    root = _ccp(tmp_path / "ccp")
    assert _run([task, "--ccp-root", str(root), "--split", "all"], capsys) == (
        130, [], ["error: interrupted; no score was printed."])


def _refuse_model(*args, **kwargs):
    raise AssertionError("a model was loaded although there was nothing to score")


# --------------------------------------------------------------------------------- settings
def _settings_cases(tmp_path: Path) -> list[tuple[str, str, str]]:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    return [("FSUTILS_WEIGHTS_DIR", str(a_file), "it is a file"),
            ("FSUTILS_WEIGHTS_DIR", str(a_file / "below"), f"{a_file} above it is a file"),
            ("FSUTILS_WEIGHTS_MIRROR", str(tmp_path / "nowhere"), "it is not a folder"),
            ("FSUTILS_DEVICE", "bogus", "Unknown device 'bogus'"),
            ("FSUTILS_TINY", "maybe", "it takes 1, true, yes or on"),
            ("FSUTILS_OFFLINE", "2", "it takes 1, true, yes or on")]


def test_bad_settings_are_one_line_exit_2_before_any_model(tmp_path, monkeypatch, capsys):
    import fsutils.pipeline as P

    monkeypatch.setattr(P, "Pipeline", _refuse_model)
    root = _ccp(tmp_path / "ccp")
    for var, value, words in _settings_cases(tmp_path):
        monkeypatch.setenv(var, value)
        for argv, prog in ((["--out", str(tmp_path / "out")], "python -m fsutils"),
                           (["segmentation", "--ccp-root", str(root)],
                            "python -m fsutils.evaluate segmentation")):
            with pytest.raises(SystemExit) as e:
                (cli_main if prog == "python -m fsutils" else evaluate.main)(argv)
            err = capsys.readouterr().err.strip().splitlines()
            assert e.value.code == 2 and len(err) == 1, (var, err)
            assert err[0].startswith(f"{prog}: error: {var}={value!r} is not usable: ")
            assert words in err[0], err[0]
        monkeypatch.delenv(var)


def test_a_device_option_wins_over_a_bad_device_setting(tmp_path, monkeypatch, capsys):
    _FakeStages(monkeypatch)
    monkeypatch.setenv("FSUTILS_DEVICE", "bogus")
    photo = tmp_path / "p.png"
    Image.new("RGB", (64, 64), (90, 20, 20)).save(photo)
    assert cli_main([str(photo), "--device", "cpu", "--out", str(tmp_path / "o"), "-q",
                     "--save", "stylized"]) == 0


# ------------------------------------------------------------------------------- odd names
ODD = ("new\nline.png", "\x1b[31mred.png", "tab\there.png", "plain name.png")


def test_odd_names_are_listed_one_escaped_line_each(tmp_path, monkeypatch, capsys):
    _FakeStages(monkeypatch)
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ODD:
        Image.new("RGB", (64, 64), (90, 20, 20)).save(folder / name)
    bad = folder / "bad\x1b]0;title\x07.png"
    bad.write_text("not a picture")
    out_dir = tmp_path / "o"
    assert cli_main([str(folder), "--out", str(out_dir), "-q", "--save", "stylized"]) == 1
    out, err = capsys.readouterr()
    listed = out.splitlines()
    expected = sorted(shown(out_dir / f"{Path(n).stem}_stylized.png") for n in ODD)
    assert sorted(listed) == expected and len(listed) == len(ODD)
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert "new\\nline_stylized.png'" in out and "'tab\\there.png': garments cover" in err
    failed = [line for line in err.splitlines() if line.startswith("  ")]
    assert failed == [f"  {shown(bad)}: {shown(bad)} is not an image file Pillow "
                      "can read (it starts with b'not a picture'); use a JPEG, PNG, WebP, TIFF, "
                      "BMP or GIF."]


def test_a_name_that_is_not_utf8_is_listed_without_a_crash(tmp_path, monkeypatch, capsys):
    _FakeStages(monkeypatch)
    folder = tmp_path / "in"
    folder.mkdir()
    raw = os.fsencode(str(folder)) + b"/caf\xe9.png"
    with open(raw, "wb") as f:
        Image.new("RGB", (64, 64), (90, 20, 20)).save(f, "PNG")
    assert cli_main([str(folder), "--out", str(tmp_path / "o"), "-q", "--save", "stylized"]) == 0
    assert capsys.readouterr().out.strip().endswith("caf\\udce9_stylized.png'")


def test_an_evaluation_names_odd_files_safely(tmp_path, capsys):
    from fsutils.evaluation.photos import report_skipped

    assert report_skipped([(Path("x\n\x1b[2Jy.jpg"), "broken")], 1) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "  'x\\n\\x1b[2Jy.jpg': broken"


# ---------------------------------------------------------------- the real commands, end to end
def _child(args: list[str], **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          cwd=ROOT, env=full, timeout=600)


@pytest.mark.slow
def test_the_real_commands_under_bad_data_and_settings(tmp_path):
    """Child processes, real models (tens of seconds): an unknown label and a repeated photo in a
    real segmentation run, swap without an upper-body photo, and a weights folder that is a
    file."""
    root = _ccp(tmp_path / "ccp", ids=(GOOD, BAD, "0039"))
    _out_of_range(root)
    shutil.copy(data.photo_path(root, GOOD), data.photo_path(root, "0039"))
    run = _child(["fsutils.evaluate", "segmentation", "--ccp-root", str(root), "--no-progress"])
    err = run.stderr.splitlines()
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert run.stdout.splitlines()[0].endswith(" images=1")
    assert err[0].startswith(f"note: {data.photo_path(root, '0039')} is the same photo as")
    assert err[-1].startswith(f"  {data.annotation_path(root, BAD)}: holds label value(s) 200")

    empty = _no_garments(tmp_path / "empty")
    run = _child(["fsutils.evaluate", "swap", "--ccp-root", str(empty), "--split", "all",
                  "--no-progress"])
    assert run.returncode == 1 and run.stdout == "" and run.stderr.startswith(
        "error: none of the 2 photo(s) has an annotated upper-body garment") and \
        len(run.stderr.splitlines()) == 1, run.stderr

    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    run = _child(["fsutils", "--method", "fast", "--style", "candy", "--out", str(tmp_path / "o")],
                 FSUTILS_WEIGHTS_DIR=str(a_file))
    assert run.returncode == 2 and run.stdout == "" and run.stderr.splitlines() == [
        f"python -m fsutils: error: FSUTILS_WEIGHTS_DIR={str(a_file)!r} is not usable: it is a "
        "file; it takes the folder where downloaded weights are kept (created if missing): point "
        "it at a folder, or unset it for the default."]


def test_a_ccp_folder_named_with_control_characters_is_shown_escaped(tmp_path):
    from fsutils.data import CCPError, list_ids

    odd = tmp_path / "a\nb\x1b[31m"
    with pytest.raises(CCPError) as e:
        list_ids(odd)
    assert "\n" not in str(e.value) and "\x1b" not in str(e.value) and "\\n" in str(e.value)
