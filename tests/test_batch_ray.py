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
