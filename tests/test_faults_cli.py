"""`python -m fsutils` under faults: odd photos, kill -9 and Ctrl-C in the middle of a write, a
read-only or full output folder, values that would crash later, and what a folder scan skips.

Every case asserts what a user sees: no traceback, one line per failure, the right exit status,
every file written is a readable PNG, earlier good results are intact and the batch went on.
Most cases use stand-in models (``test_cli._FakeStages``) so that they take seconds; signals are
sent to a real child process, paused at a known point: half-way through writing a PNG.
"""
from __future__ import annotations

import errno
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fsutils import io as fio
from fsutils import results
from fsutils.__main__ import main

from tests.test_cli import _FakeStages, need_models, no_models, usage_error  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent

# A child process that runs `python -m fsutils` (runpy, the real entry point) with stand-in
# models, pausing inside the PNG write of the file whose name contains $FAULTS_PAUSE_IN: half
# of the PNG is written and flushed, then the child says where it is and sleeps.
CHILD = r"""
import io, os, runpy, sys, time, types
from pathlib import Path
from tests.test_cli import _FakeStages
_FakeStages(types.SimpleNamespace(setattr=setattr))
from PIL import Image, PngImagePlugin  # registers the PNG writer
real, pause = Image.SAVE["PNG"], os.environ["FAULTS_PAUSE_IN"]
def paused(im, fp, filename, *a, **kw):
    if pause not in str(getattr(fp, "name", filename)):
        return real(im, fp, filename, *a, **kw)
    buf = io.BytesIO()
    real(im, buf, filename, *a, **kw)
    half = len(buf.getvalue()) // 2
    fp.write(buf.getvalue()[:half])
    fp.flush()
    marker = Path(os.environ["FAULTS_MARKER"])
    marker.with_suffix(".tmp").write_text(str(fp.name))
    marker.with_suffix(".tmp").rename(marker)  # whole when the test sees it
    time.sleep(120)
    fp.write(buf.getvalue()[half:])
Image.SAVE["PNG"] = paused
sys.argv = ["fsutils", *sys.argv[1:]]
del sys.modules["fsutils.__main__"]  # imported by test_cli; run afresh as the entry point
runpy.run_module("fsutils", run_name="__main__", alter_sys=True)
"""


# ------------------------------------------------------------------------------------ helpers
def photo(path: Path, size: tuple[int, int] = (48, 64), seed: int = 0) -> Path:
    """A small RGB photo of noise (the stand-in models need no garments)."""
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), np.uint8)).save(path)
    return path


def truncated_jpeg(path: Path) -> Path:
    """A real JPEG cut inside its header (Pillow: ``OSError: Truncated File Read``)."""
    path.write_bytes(fio.sample_photos()[0].read_bytes()[:300])
    return path


def odd_photos(folder: Path) -> list[str]:
    """A folder holding a 1×4000 and a 4000×1 strip, a 10-px photo and a JPEG cut inside its
    header: the photos that used to end a batch with a traceback. Returns their names."""
    folder.mkdir(parents=True, exist_ok=True)
    photo(folder / "a_tall.png", (1, 4000)), photo(folder / "b_wide.png", (4000, 1))
    photo(folder / "c_tiny.png", (10, 10)), truncated_jpeg(folder / "d_cut.jpg")
    return ["a_tall.png", "b_wide.png", "c_tiny.png", "d_cut.jpg"]


def readable_pngs(folder: Path) -> list[Path]:
    """Every visible PNG in ``folder``, each checked to decode completely."""
    files = sorted(p for p in folder.glob("*.png"))
    for p in files:
        assert p.stat().st_size > 0, f"{p} is empty"
        with Image.open(p) as im:
            im.load()
    return files


def no_traceback(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text, text


def earlier_result(out: Path, stem: str) -> bytes:
    """A good result from an earlier run, which a failed or interrupted run must not touch."""
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buf, format="PNG")
    (out / f"{stem}_stylized.png").write_bytes(buf.getvalue())
    return buf.getvalue()


def start_child(args: list[str], pause_in: str, marker: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), FAULTS_PAUSE_IN=pause_in, FAULTS_MARKER=str(marker))
    # Ctrl-C as in a terminal, even when the suite itself runs in the background (a shell starts
    # background jobs with SIGINT ignored, and Python then never turns it into KeyboardInterrupt)
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(marker: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the child ended (rc {proc.returncode}) before the write:\n{out}\n{err}")
        if time.monotonic() > end:
            proc.kill()
            pytest.fail("the child never reached the write")
        time.sleep(0.05)


@pytest.fixture
def two_photos(tmp_path) -> tuple[Path, Path]:
    """Photos a.png and b.png in a folder, and an output folder holding an earlier b result."""
    photos = tmp_path / "photos"
    photos.mkdir()
    photo(photos / "a.png", seed=1), photo(photos / "b.png", seed=2)
    return photos, tmp_path / "out"


# ------------------------------------------------------------ odd photos (one line, batch goes on)
def test_every_odd_photo_is_one_line_and_the_batch_goes_on(tmp_path, monkeypatch, capsys):
    _FakeStages(monkeypatch)
    photos = tmp_path / "photos"
    bad = [*odd_photos(photos), "e_narrow.png"]
    photo(photos / "e_narrow.png", (300, 4000))   # 5 px wide at the 64-px working size
    photo(photos / "f_good.png"), photo(photos / "g_edge.png", (16, 16))  # the smallest allowed
    out = tmp_path / "out"
    rc = main([str(photos), "--out", str(out), "--photo-size", "64", "--save", "stylized,mask"])
    captured = capsys.readouterr()
    no_traceback(captured.err)
    assert rc == 1
    during, listed = captured.err.split("error: 5 of 7 photo(s) failed:\n")
    for name in bad:
        lines = [line for line in during.splitlines() if line.startswith(f"error: {photos / name}")]
        assert len(lines) == 1, (name, during)
        assert sum(line.startswith(f"  {photos / name}: ") for line in listed.splitlines()) == 1
    assert "at least 16 px" in during and "truncated or corrupt" in during
    assert "--photo-size" in next(line for line in during.splitlines() if "e_narrow" in line)
    # the batch went on past every failure: both good photos have all their files
    files = readable_pngs(out)
    assert {p.name for p in files} == {f"{s}_{k}.png" for s in ("f_good", "g_edge")
                                       for k in ("stylized", "mask", "mask_upper_body",
                                                 "mask_lower_body", "mask_full_body")}
    assert sorted(captured.out.split()) == [str(p) for p in files]   # stdout: what was written


def test_a_photo_that_fails_inside_a_model_is_one_line_and_the_batch_goes_on(
        tmp_path, monkeypatch, capsys):
    """Any other failure of one photo (here the style stage raising a RuntimeError, as the fast
    models' padding did on a 1-px strip) is listed by its type and message."""
    import fsutils.pipeline as P

    _FakeStages(monkeypatch)
    real = P.Pipeline

    def failing_on_b(*a, **kw):
        pipe = real(*a, **kw)
        stylize = pipe.stylize

        def stylize_or_fail(*sa, **skw):
            if pipe.image_name == "b":
                raise RuntimeError("Padding size should be less than the input dimension\nmore")
            return stylize(*sa, **skw)

        pipe.stylize = stylize_or_fail
        return pipe

    monkeypatch.setattr(P, "Pipeline", failing_on_b)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, name in enumerate("abc"):
        photo(photos / f"{name}.png", seed=i)
    rc = main([str(photos), "--out", str(tmp_path / "out"), "--photo-size", "64",
               "--save", "stylized"])
    err = capsys.readouterr().err
    no_traceback(err)
    assert rc == 1
    assert f"error: {photos / 'b.png'}: RuntimeError: Padding size should be less" in err
    assert "more" not in err
    assert [p.name for p in readable_pngs(tmp_path / "out")] == ["a_stylized.png",
                                                                  "c_stylized.png"]


@pytest.mark.slow
def test_odd_photos_with_the_real_models(tmp_path, weights_path, capsys):
    """The same odd photos through the real cloth, saliency and fast-style models."""
    need_models(weights_path)
    photos = tmp_path / "photos"
    odd_photos(photos)
    shutil.copy(fio.sample_photos()[0], photos / "good.jpg")
    rc = main([str(photos), "--out", str(tmp_path / "out"), "--method", "fast", "--style",
               "mosaic", "--photo-size", "64", "--save", "stylized", "--quiet"])
    captured = capsys.readouterr()
    no_traceback(captured.err)
    assert rc == 1 and "error: 4 of 5 photo(s) failed:" in captured.err
    assert [p.name for p in readable_pngs(tmp_path / "out")] == ["good_stylized.png"]
    assert captured.out.split() == [str(tmp_path / "out" / "good_stylized.png")]


def test_a_style_cut_inside_its_header_is_a_usage_error(tmp_path, capsys, no_models):
    cut = truncated_jpeg(tmp_path / "painting.jpg")
    line = usage_error(capsys, [str(photo(tmp_path / "p.png")), "--style", str(cut),
                                "--out", str(tmp_path / "out")])
    assert "--style" in line and "truncated or corrupt" in line


def test_a_write_error_fails_that_photo_only(tmp_path, monkeypatch, capsys, two_photos):
    """An I/O error while writing one photo's file: that photo is listed, the next is written,
    and no temporary file is left behind."""
    _FakeStages(monkeypatch)
    photos, out = two_photos
    real_open = open

    def failing_open(path, mode="r", *a, **kw):
        if "a_stylized" in str(path) and "x" in mode:
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))
        return real_open(path, mode, *a, **kw)

    monkeypatch.setattr(results, "open", failing_open, raising=False)
    rc = main([str(photos), "--out", str(out), "--photo-size", "64", "--save", "stylized"])
    err = capsys.readouterr().err
    no_traceback(err)
    assert rc == 1
    assert f"error: {photos / 'a.png'}: {os.strerror(errno.EIO)}: {out / 'a_stylized.png'}" in err
    assert [p.name for p in readable_pngs(out)] == ["b_stylized.png"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------- kill -9 and Ctrl-C mid-write
@pytest.mark.slow  # a child process: Python and torch start in ~8 s here
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill -9", "Ctrl-C"])
def test_a_signal_mid_write_leaves_no_partial_file_and_the_earlier_result(tmp_path, two_photos,
                                                                         sig):
    """Half of b's PNG is in the file when the signal comes: b's earlier result stays as it was,
    a's result (finished) is whole and listed on stdout. Ctrl-C also ends with one line, the
    summary and exit status 130, and leaves no temporary file; kill -9 leaves only the hidden
    temporary file, never a partial result under its name."""
    photos, out = two_photos
    earlier = earlier_result(out, "b")
    marker = tmp_path / "writing"
    proc = start_child([str(photos), "--out", str(out), "--photo-size", "64", "--save",
                        "stylized"], "b_stylized", marker)
    wait_for(marker, proc)
    assert Path(marker.read_text()).parent == out      # paused inside the write to out/
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert (out / "b_stylized.png").read_bytes() == earlier
    assert [p.name for p in readable_pngs(out)] == ["a_stylized.png", "b_stylized.png"]
    assert stdout.split() == [str(out / "a_stylized.png")]    # listed as soon as it was written
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
        assert len(hidden) == 1 and hidden[0].startswith(".b_stylized.png.") \
            and hidden[0].endswith(".part")
        return
    no_traceback(stderr)
    assert proc.returncode == 130, stderr
    interrupted = [line for line in stderr.splitlines() if "interrupted" in line.lower()]
    assert len(interrupted) == 1 and "1 of 2 photo(s) done" in interrupted[0]
    assert stderr.rstrip().splitlines()[-1].startswith("stopped after")   # then the summary
    assert hidden == []


def test_ctrl_c_while_the_models_load_is_one_line_and_exit_130(tmp_path, monkeypatch, capsys):
    import fsutils.pipeline as P
    from fsutils.__main__ import _entry

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(P, "Pipeline", interrupted)
    monkeypatch.setattr(sys, "argv", ["fsutils", str(photo(tmp_path / "p.png")), "--out",
                                      str(tmp_path / "out")])
    assert _entry() == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["interrupted (Ctrl-C): stopped before any photo was "
                                        "written"]


# ------------------------------------------------------------------ output folder not writable
def unprivileged() -> list[str]:
    """A command prefix under which permissions apply: root ignores them unless it drops the
    capabilities that bypass them (util-linux ``setpriv``)."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: a read-only folder cannot be made")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


@pytest.mark.slow  # a child process: Python and torch start in ~8 s here
@pytest.mark.parametrize("under", ["", "new/deeper"])
def test_out_not_writable_is_one_line_before_any_model_loads(tmp_path, under):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    out = locked / under if under else locked
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    try:
        r = subprocess.run([*unprivileged(), sys.executable, "-m", "fsutils",
                            str(photo(tmp_path / "p.png")), "--out", str(out)],
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    finally:
        locked.chmod(0o755)
    no_traceback(r.stderr)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m fsutils: error: --out "), lines
    assert f"--out {out} cannot be written (Permission denied" in lines[0]
    assert str(locked / "new") in lines[0] if under else "Permission denied);" in lines[0]
    assert "cloth segmentation" not in r.stderr and r.stdout == ""   # no model was loaded
    assert not list(locked.iterdir())
    print(f"refused in {time.perf_counter() - t0:.1f}s")


def test_a_full_disk_is_one_line_and_keeps_earlier_results(tmp_path, monkeypatch, capsys,
                                                           two_photos):
    """ENOSPC part-way through a PNG (the data was being flushed): the batch stops with one line
    saying what to do, the earlier result is untouched and no temporary file is left."""
    _FakeStages(monkeypatch)
    photos, out = two_photos
    earlier = earlier_result(out, "b")
    real_open = open

    class FullDisk(io.FileIO):
        def write(self, data):
            if "b_mask" in str(self.name) and self.tell() + len(data) > 40:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return super().write(data)

    def open_on_a_full_disk(path, mode="r", *a, **kw):
        if mode == "xb":
            return io.BufferedWriter(FullDisk(path, "x"))
        return real_open(path, mode, *a, **kw)

    monkeypatch.setattr(results, "open", open_on_a_full_disk, raising=False)
    photo(photos / "c.png", seed=3)
    rc = main([str(photos), "--out", str(out), "--photo-size", "64", "--save", "stylized,mask"])
    captured = capsys.readouterr()
    no_traceback(captured.err)
    assert rc == 1
    full = [line for line in captured.err.splitlines() if "disk is full" in line]
    assert len(full) == 1 and "Free some space or choose another --out" in full[0]
    assert "1 of 3 photo(s) done" in full[0] and str(out / "b_mask.png") in full[0]
    # a's files and b's stylised result (written before the disk filled) are whole; c not begun
    names = [p.name for p in readable_pngs(out)]
    assert names == sorted([f"a_{k}.png" for k in ("stylized", "mask", "mask_upper_body",
                                                   "mask_lower_body", "mask_full_body")]
                           + ["b_stylized.png"])
    assert (out / "b_stylized.png").read_bytes() != earlier   # replaced by this run's, whole
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert captured.out.split() == [str(out / n) for n in
                                    ["a_stylized.png", "a_mask.png", "a_mask_upper_body.png",
                                     "a_mask_lower_body.png", "a_mask_full_body.png",
                                     "b_stylized.png"]]


def test_the_next_write_removes_what_a_killed_writer_left(tmp_path):
    target = tmp_path / "x_stylized.png"
    stale, fresh = tmp_path / ".x_stylized.png.0badf00d.part", tmp_path / ".x_stylized.png.1.part"
    stale.write_bytes(b"\x89PNG half"), fresh.write_bytes(b"\x89PNG being written")
    old = time.time() - results.STALE_PART_S - 60
    os.utime(stale, (old, old))
    results.write_atomic(target, lambda f: f.write(b"whole"))
    assert target.read_bytes() == b"whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, target.name]


def test_a_full_disk_while_overwriting_keeps_the_earlier_result(tmp_path, monkeypatch):
    earlier = earlier_result(tmp_path, "x")
    target = tmp_path / "x_stylized.png"

    def half_then_full(f):
        f.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 25)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError) as info:
        results.write_atomic(target, half_then_full)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert target.read_bytes() == earlier and sorted(tmp_path.iterdir()) == [target]


# ------------------------------------------------------ values that passed the check, then crashed
@pytest.mark.parametrize("args, option", [
    (["--strength", "inf"], "--strength"), (["--width", "inf"], "--width"),
    (["--eps", "inf"], "--eps"), (["--mode", "feathered", "--width", "1e308"], "--width"),
    (["--radius", "99999999999"], "--radius"), (["--device", "bogus"], "--device"),
    (["--device", "cuda"], "--device"), (["--device", "cuda:7"], "--device"),
    (["--max-size", "99999"], "--max-size"), (["--max-size", "8"], "--max-size"),
    (["--size", "99999"], "--size"), (["--steps", "1000000000"], "--steps"),
    (["--style-weight", "inf"], "--style-weight"), (["--tv-weight", "1e300"], "--tv-weight"),
])
def test_values_that_would_crash_later_are_refused_first(tmp_path, args, option, capsys,
                                                         monkeypatch, no_models):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)   # a machine without CUDA
    line = usage_error(capsys, [*args, "--out", str(tmp_path / "out")])
    assert option in line and "Traceback" not in line
    if option == "--device":
        assert "available here: cpu" in line or "use one of: cpu" in line
    else:
        assert "out of range" in line or "is not a whole number" in line
    assert not (tmp_path / "out").exists()


def test_device_names_are_checked_against_the_machine(monkeypatch):
    import torch

    from fsutils import env, settings

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)     # one GPU
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(settings, "_mps_available", lambda t: False)
    assert [env.check_device(n) for n in ("cpu", " CUDA", "cuda:0", "auto")] == \
        ["cpu", "cuda", "cuda:0", "auto"]
    for name, why in (("cuda:1", "only 1 CUDA device"), ("mps", "MPS is not available"),
                      ("bogus", "Unknown device 'bogus'"), ("meta", "Unknown device")):
        with pytest.raises(ValueError, match=why) as info:
            env.check_device(name)
        assert "cpu, cuda" in str(info.value)   # what this machine has


def test_the_largest_allowed_values_still_run(tmp_path, monkeypatch, capsys):
    from fsutils.blend.modes import blend_parameters
    from fsutils.controls import bounds

    top = {name: str(bounds(control)[2]) for name, (_, control) in blend_parameters().items()}
    _FakeStages(monkeypatch)
    for mode, extra in (("feathered", ["--width", top["width"]]),
                        ("guided_saliency", ["--radius", top["radius"], "--eps", top["eps"],
                                             "--strength", top["strength"]])):
        t0 = time.perf_counter()
        assert main([str(photo(tmp_path / "p.png")), "--out", str(tmp_path / mode), "--mode",
                     mode, *extra, "--photo-size", "64", "--save", "stylized", "--device",
                     "cpu"]) == 0
        assert time.perf_counter() - t0 < 5
        assert len(readable_pngs(tmp_path / mode)) == 1
    no_traceback(capsys.readouterr().err)


# -------------------------------------------------------------------- what a folder scan skips
def test_a_folder_scan_reads_gifs_and_lists_what_it_skipped(tmp_path, monkeypatch, capsys):
    _FakeStages(monkeypatch)
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    photo(photos / "a.png")
    Image.open(photo(tmp_path / "g.png", seed=5)).save(photos / "b.gif")
    (photos / "notes.txt").write_text("not a photo")
    (photos / "data.csv").write_text("1,2")
    (photos / ".DS_Store").write_bytes(b"\0")
    rc = main([str(photos), "--out", str(tmp_path / "out"), "--photo-size", "64", "--save",
               "stylized"])
    err = capsys.readouterr().err
    no_traceback(err)
    assert rc == 0
    assert [p.name for p in readable_pngs(tmp_path / "out")] == ["a_stylized.png",
                                                                  "b_stylized.png"]
    notes = [line for line in err.splitlines() if "skipped" in line]
    assert len(notes) == 1 and notes[0].startswith(f"note: {photos}: skipped ")
    assert "2 file(s) not named as images" in notes[0] and "data.csv, notes.txt" in notes[0]
    assert "1 sub-folder(s), not searched" in notes[0] and "sub/" in notes[0]
    assert "1 hidden: .DS_Store" in notes[0]


def test_a_folder_without_images_says_what_it_holds(tmp_path, capsys, no_models):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("x")
    line = usage_error(capsys, [str(tmp_path / "docs"), "--out", str(tmp_path / "out")])
    assert "holds no images" in line and "readme.txt" in line and ".gif" in line


# ------------------------------------------------------------- names that never overwrite
def test_photos_that_share_a_stem_never_overwrite_each_other(tmp_path, monkeypatch, capsys):
    """a.png and a.jpg in one folder and another a.png elsewhere: three photos, three results,
    each made from its own photo, the renaming said in one line, before any model loads."""
    _FakeStages(monkeypatch)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    made = {photo(one / "a.png", seed=1): "one_a.png", photo(one / "a.jpg", seed=2): "a.jpg",
            photo(two / "a.png", seed=3): "two_a.png", photo(one / "b.png", seed=4): "b"}
    out = tmp_path / "out"
    rc = main([str(one), str(two / "a.png"), "--out", str(out), "--photo-size", "64",
               "--save", "stylized"])
    captured = capsys.readouterr()
    assert rc == 0
    assert [p.name for p in readable_pngs(out)] == sorted(f"{n}_stylized.png"
                                                          for n in made.values())
    pixels = {src: np.asarray(fio.load_image(src)).astype(int) for src in made}
    for src, name in made.items():   # each result is made from its own photo (noise, 48×64)
        got = np.asarray(Image.open(out / f"{name}_stylized.png").convert("RGB")).astype(int)
        far = {other: np.abs(got - px).mean() for other, px in pixels.items()}
        assert min(far, key=far.get) == src and far[src] < 0.5 * sorted(far.values())[1], name
    notes = [line for line in captured.err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "share the name 'a'" in notes[0] and "one_a.png_…" in notes[0]
    assert "4 photo(s)" in captured.err and "4 files" in captured.err


def test_the_same_photo_named_twice_is_done_once(tmp_path, monkeypatch, capsys):
    _FakeStages(monkeypatch)
    photos = tmp_path / "photos"
    photos.mkdir()
    a = photo(photos / "a.png")
    (tmp_path / "link.png").symlink_to(a)
    rc = main([str(a), str(photos), str(tmp_path / "link.png"), "--out", str(tmp_path / "out"),
               "--photo-size", "64", "--save", "stylized"])
    err = capsys.readouterr().err
    assert rc == 0
    assert [line for line in err.splitlines() if line.startswith("note:")] == [
        f"note: {a} is given 3 times (also as {tmp_path / 'link.png'}): it is done once"]
    assert "1 photo(s)" in err and sum("garments cover" in line for line in err.splitlines()) == 1
    assert [p.name for p in readable_pngs(tmp_path / "out")] == ["a_stylized.png"]
