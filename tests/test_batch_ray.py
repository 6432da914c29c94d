"""`python -m fsutils DIR --engine ray`: the batch on a local Ray (``ray.init(num_cpus=2)``) with
the real bundled models on a handful of small photos, against the local engine."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fsutils import io as fio
from fsutils.__main__ import main
from fsutils.batch import MANIFEST_NAME

from tests.test_cli import need_models

ray = pytest.importorskip("ray", reason="the Ray engine is an optional extra: fsutils[ray]")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # Ray and 2 workers start in ~40 s


@pytest.fixture(scope="module")
def local_ray():
    import os

    # the raylet waits 30 s for its helper processes by default: too short on a loaded machine
    os.environ.setdefault("RAY_raylet_start_wait_time_s", "180")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """Three small photos of people (256 px: enough for the cloth model) and one corrupt file."""
    folder = tmp_path_factory.mktemp("photos")
    for p in fio.sample_photos()[:3]:
        im = fio.load_image(p)
        im.thumbnail((256, 256))
        im.save(folder / f"{p.stem}.png")
    (folder / "corrupt.jpg").write_bytes(fio.sample_photos()[0].read_bytes()[:300])
    return folder


ARGS = ["--photo-size", "64", "--style-size", "64", "--save", "stylized,mask,saliency", "--quiet"]


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_ray_writes_what_the_local_engine_writes_and_reruns_skip(photos, tmp_path, local_ray,
                                                                  weights_path, capsys):
    need_models(weights_path)
    local, remote = tmp_path / "local", tmp_path / "ray"
    assert main([str(photos), "--out", str(local), *ARGS]) == 1           # the corrupt photo
    assert main([str(photos), "--out", str(remote), "--engine", "ray", "--workers", "2",
                 *ARGS]) == 1
    err = capsys.readouterr().err
    assert "error: 1 of 4 photo(s) failed" in err and "corrupt.jpg" in err.split("failed:")[1]
    names = sorted(p.name for p in local.glob("*.png"))
    assert names == sorted(p.name for p in remote.glob("*.png")) and len(names) == 3 * 6
    for name in names:
        assert np.array_equal(pixels(local / name), pixels(remote / name)), name
    by_engine = [{r["name"]: r for r in rows(out)} for out in (local, remote)]
    assert sorted(by_engine[0]) == sorted(by_engine[1]) and len(by_engine[0]) == 4
    for name, row in by_engine[0].items():
        other = by_engine[1][name]
        assert row["files"] == other["files"] and row["settings"] == other["settings"]
        assert (row["error"] is None) == (name != "corrupt") == (other["error"] is None)

    # a rerun skips every photo done; only the corrupt one is tried again (and fails again)
    assert main([str(photos), "--out", str(remote), "--engine", "ray", "--workers", "2",
                 *ARGS]) == 1
    captured = capsys.readouterr()
    assert "skipped 3 of 4 photo(s)" in captured.err and captured.out == ""
    assert len(rows(remote)) == 5

    # a changed --strength redoes them all
    assert main([str(photos), "--out", str(remote), "--engine", "ray", "--workers", "2",
                 "--strength", "0.5", *ARGS]) == 1
    captured = capsys.readouterr()
    assert "skipped" not in captured.err and len(captured.out.split()) == 3 * 6
    latest = {r["name"]: r for r in rows(remote)}
    assert len(rows(remote)) == 9 and all(r["settings"]["blend"]["strength"] == 0.5
                                          for r in latest.values())


def _ray_map_workers() -> list:
    """The processes of this test's own Ray cluster (descendants of this process) that are
    RestyleBatch map workers (Ray names an actor's process after its class)."""
    import psutil

    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "RestyleBatch" in " ".join(proc.cmdline()):
                found.append(proc)
        except psutil.Error:  # gone meanwhile
            continue
    return found


def _wait_for(what: str, check, seconds: float = 300.0):
    """Poll ``check()`` until it returns something true; fail naming ``what`` after ``seconds``."""
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"waited {seconds:.0f} s for {what}")


def test_a_worker_killed_mid_batch_is_retried_and_nothing_is_lost_or_doubled(
        tmp_path, local_ray, weights_path):
    """SIGKILL one of two workers while photos are in flight (after the first file is written,
    before the batch ends): Ray restarts it and does its photos again; every photo then has
    exactly one row and its files, each whole."""
    import hashlib
    import signal
    import threading

    need_models(weights_path)
    folder, out = tmp_path / "photos", tmp_path / "out"
    folder.mkdir()
    samples = fio.sample_photos()
    for i in range(16):  # 4 blocks of 4 photos: both workers hold a block when the kill comes
        im = fio.load_image(samples[i % len(samples)])
        im.thumbnail((160, 160))
        im.save(folder / f"p{i:02d}.png")
    result: dict = {}
    run = threading.Thread(target=lambda: result.update(rc=main(
        [str(folder), "--out", str(out), "--engine", "ray", "--workers", "2", *ARGS])))
    run.start()
    try:
        _wait_for("a first file in the output folder", lambda: list(out.glob("*.png")))
        workers = _wait_for("the RestyleBatch workers' processes", _ray_map_workers)
        busy = [p for p in workers if ".submit" in " ".join(p.cmdline())]
        victim = (busy or workers)[0]
        done_before = len(rows(out)) if (out / MANIFEST_NAME).exists() else 0
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        run.join(timeout=600)
    assert not run.is_alive(), "the batch did not end after a worker was killed"
    assert done_before < 16, "the batch ended before the kill; nothing was in flight"
    assert result.get("rc") == 0, "the batch did not complete after a worker was killed"

    written = rows(out)
    assert sorted(r["name"] for r in written) == [f"p{i:02d}" for i in range(16)]  # once each
    listed = set()
    for row in written:
        assert row["error"] is None and len(row["files"]) == 6, row  # as the first test
        for name, digest in row["files"].items():
            path = out / name
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name
            with Image.open(path) as im:
                im.load()  # a cut PNG raises here
            listed.add(name)
    assert {p.name for p in out.glob("*.png")} == listed
