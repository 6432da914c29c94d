"""fsutils.batch: output names that cannot collide."""
from __future__ import annotations

from pathlib import Path

from fsutils.batch import name_photos
from fsutils.results import SAVE_KINDS


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def names(paths) -> list[str]:
    return [p.name for p in name_photos(paths)[0]]


def test_unique_stems_keep_their_stem(tmp_path):
    assert names([touch(tmp_path / "a.jpg"), touch(tmp_path / "b.png")]) == ["a", "b"]


def test_shared_stems_take_the_extension_then_as_many_folders_as_needed(tmp_path):
    paths = [touch(tmp_path / "x" / "one" / "a.png"), touch(tmp_path / "y" / "one" / "a.png"),
             touch(tmp_path / "x" / "one" / "a.jpg"), touch(tmp_path / "b.png")]
    assert names(paths) == ["x_one_a.png", "y_one_a.png", "a.jpg", "b"]


def test_a_stem_that_is_another_photos_file_name_is_told_apart(tmp_path):
    # "a.png.jpg" has the stem "a.png", the name "a.png" takes when it must tell itself apart
    paths = [touch(tmp_path / "a.png"), touch(tmp_path / "a.jpg"), touch(tmp_path / "a.png.jpg")]
    got = names(paths)
    assert len({n.casefold() for n in got}) == 3, got
    assert got[1] == "a.jpg"


def test_names_that_differ_in_case_alone_are_numbered(tmp_path):
    paths = [touch(tmp_path / "a.png"), touch(tmp_path / "A.PNG")]
    photos, notes = name_photos(paths)
    assert [p.name for p in photos] == ["a", "A-2"]
    assert len(notes) == 1 and "a_…, A-2_…" in notes[0]


def test_the_same_file_given_twice_is_done_once(tmp_path):
    a = touch(tmp_path / "a.png")
    (tmp_path / "link.png").symlink_to(a)
    photos, notes = name_photos([a, tmp_path / "." / "a.png", tmp_path / "link.png"])
    assert [p.path for p in photos] == [a] and [p.name for p in photos] == ["a"]
    assert notes == [f"note: {a} is given 3 times (also as {tmp_path / 'link.png'}): "
                     "it is done once"]


def test_no_kind_ends_with_another_kind_so_different_names_never_share_a_file():
    from fsutils.data import INSTANCE_CLASSES
    from fsutils.segment import CLASS_NAMES

    kinds = [*SAVE_KINDS, *(f"mask_{n.replace(' ', '_')}" for n in CLASS_NAMES[1:]),
             *(f"mask_{n}" for n in INSTANCE_CLASSES)]
    assert not [(k, j) for k in kinds for j in kinds if k != j and k.endswith("_" + j)]


# ------------------------------------------------------------------------------ the manifest
import hashlib  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402

import pytest  # noqa: E402

from fsutils.__main__ import main  # noqa: E402
from fsutils.batch import MANIFEST_NAME, Manifest  # noqa: E402
from tests.test_cli import _FakeStages  # noqa: E402
from tests.test_faults_cli import photo, readable_pngs, start_child, wait_for  # noqa: E402


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]


def run(capsys, photos: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    rc = main([str(photos), "--out", str(out), "--photo-size", "64", "--save", "stylized,mask",
               *extra])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """Three small photos and one that is not a photo; stand-in models."""
    _FakeStages(monkeypatch)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, name in enumerate("abc"):
        photo(photos / f"{name}.png", seed=i)
    return photos


def test_each_photo_is_one_row_with_its_input_settings_and_files(folder, tmp_path, capsys):
    (folder / "d.jpg").write_text("not a photo")
    out = tmp_path / "out"
    rc, _, err = run(capsys, folder, out, "--strength", "0.7")
    assert rc == 1
    got = {r["name"]: r for r in rows(out)}
    assert sorted(got) == ["a", "b", "c", "d"]
    for name in "abc":
        r = got[name]
        assert r["input"] == str(folder / f"{name}.png") and r["input_sha256"] == sha(
            folder / f"{name}.png")
        assert r["error"] is None and sorted(r["files"]) == sorted(
            p.name for p in out.glob(f"{name}_*.png"))
        assert all(sha(out / f) == digest for f, digest in r["files"].items())
        s = r["settings"]
        assert s["method"] == "magenta" and s["style"] == "starry_night_vangogh"
        assert s["blend"] == {"mode": "guided_saliency", "strength": 0.7, "radius": 8,
                              "eps": 0.0001}
        assert s["garments"] == [1, 2, 3] and s["photo_size"] == 64
        assert s["models"] and all(len(h) == 64 for h in s["models"].values())
        assert r["time"].endswith("+00:00") and r["seconds"] >= 0
    assert got["d"]["files"] == {} and "not an image file" in got["d"]["error"]


def test_a_rerun_skips_what_is_done_and_redoes_what_changed(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(capsys, folder, out)[0] == 0
    before = (out / "a_stylized.png").stat().st_mtime_ns
    rc, stdout, err = run(capsys, folder, out)
    assert rc == 0 and stdout == "" and "skipped 3 of 3 photo(s)" in err
    assert len(rows(out)) == 3 and (out / "a_stylized.png").stat().st_mtime_ns == before

    photo(folder / "a.png", seed=9)                         # another photo under the same name
    (out / "b_mask.png").unlink()                           # a file gone
    (out / "c_stylized.png").write_bytes(b"changed")        # a file changed
    rc, stdout, err = run(capsys, folder, out)
    assert rc == 0 and "skipped" not in err and "3 photo(s)" in err
    rc, stdout, err = run(capsys, folder, out)
    assert "skipped 3 of 3" in err and len(rows(out)) == 6

    rc, stdout, err = run(capsys, folder, out, "--strength", "0.5")   # changed settings
    assert rc == 0 and "skipped" not in err and len(stdout.split()) == 3 * 5
    rc, stdout, err = run(capsys, folder, out, "--strength", "0.5", "--overwrite")
    assert rc == 0 and "skipped" not in err and len(rows(out)) == 12
    readable_pngs(out)


def test_a_failed_photo_is_done_again(folder, tmp_path, capsys):
    (folder / "d.png").write_bytes(b"")
    out = tmp_path / "out"
    assert run(capsys, folder, out)[0] == 1
    photo(folder / "d.png", seed=5)
    rc, stdout, err = run(capsys, folder, out)
    assert rc == 0 and "skipped 3 of 4" in err and stdout.split()[0] == str(out / "d_stylized.png")


def test_a_line_cut_short_is_skipped_and_never_swallows_the_next_row(tmp_path):
    m = Manifest(tmp_path)
    m.append([{"name": "a", "files": {}}])
    with open(m.path, "a") as f:
        f.write('{"name": "b", "fil')                    # a power cut in the middle of a row
    m.append([{"name": "c", "files": {}}])
    assert [r["name"] for r in m.rows()] == ["a", "c"]


@pytest.mark.slow  # a child process: Python and torch start in ~8 s here
def test_kill_9_mid_batch_loses_only_the_photo_in_flight(tmp_path, monkeypatch, capsys):
    """kill -9 in the middle of c's write: a and b are recorded whole, c is not, and the rerun
    skips a and b and does the rest; every photo is then one row and its files."""
    _FakeStages(monkeypatch)
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    for i, name in enumerate("abcde"):
        photo(photos / f"{name}.png", seed=i)
    marker = tmp_path / "writing"
    args = [str(photos), "--out", str(out), "--photo-size", "64", "--save", "stylized,mask"]
    proc = start_child(args, "c_stylized", marker)
    wait_for(marker, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert [r["name"] for r in rows(out)] == ["a", "b"]     # every line whole
    assert not (out / "c_stylized.png").exists()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "skipped 2 of 5 photo(s)" in err
    recorded = rows(out)
    assert sorted(r["name"] for r in recorded) == list("abcde")
    for r in recorded:
        assert r["error"] is None and all(sha(out / f) == h for f, h in r["files"].items())


# ------------------------------------------------------------------ the engine's options
from tests.test_cli import no_models, usage_error  # noqa: E402, F401


@pytest.mark.parametrize("extra", [["--workers", "2"], ["--address", "auto"],
                                   ["--gpus-per-worker", "1"]])
def test_ray_options_need_the_ray_engine(tmp_path, capsys, no_models, extra):
    line = usage_error(capsys, [*extra, "--out", str(tmp_path / "out")])
    assert f"{extra[0]} only work with --engine ray" in line
    assert not (tmp_path / "out").exists()


def test_the_ray_engine_without_ray_says_how_to_install_it(tmp_path, capsys, monkeypatch,
                                                           no_models):
    from fsutils.batch import ray_engine

    monkeypatch.setattr(ray_engine.importlib.util, "find_spec", lambda name: None)
    line = usage_error(capsys, ["--engine", "ray", "--out", str(tmp_path / "out")])
    assert 'pip install "fsutils[ray]"' in line and not (tmp_path / "out").exists()


@pytest.mark.parametrize("bad", [["--workers", "0"], ["--gpus-per-worker", "-1"]])
def test_bad_ray_numbers_are_refused(tmp_path, capsys, no_models, bad):
    assert bad[0] in usage_error(capsys, ["--engine", "ray", *bad, "--out", str(tmp_path)])


def test_a_name_too_long_for_a_file_is_cut_and_kept_apart(tmp_path):
    from fsutils.batch.names import MAX_NAME_BYTES, name_photos

    long_a = "é" * 150 + "a"          # 301 bytes in UTF-8
    long_b = "é" * 150 + "b"
    photos, _ = name_photos([tmp_path / f"{long_a}.jpg", tmp_path / f"{long_b}.jpg",
                             tmp_path / "short.jpg"])
    names = [p.name for p in photos]
    assert names[2] == "short"
    assert all(len(n.encode()) <= MAX_NAME_BYTES for n in names) and names[0] != names[1]
    assert all(n.startswith("é" * 90) and "~" in n for n in names[:2])
    assert all(len(f"{n}_mask_upper_body.png".encode()) <= 255 for n in names)
