"""``python -m fsutils photo.jpg --at X,Y``: a point chooses the garment to restyle. Bad points are
refused before any work (exit 2, one line); a point on no garment fails that photo in one line
(exit 1); a point on a coat worn over a dress restyles the coat and leaves the dress."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fsutils import io as fio
from fsutils.__main__ import main

#: An annotated test photo of Clothing Co-Parsing with a coat over a dress.
COAT_OVER_DRESS = "0875"


@pytest.fixture
def no_models(monkeypatch):
    """The unit of work (and so any model) must not even be built for a usage error."""
    import importlib

    M = importlib.import_module("fsutils.cli.main")   # the module (fsutils.cli.main is the function)

    def refuse(*a, **kw):
        raise AssertionError("the models were loaded before the arguments were checked")

    monkeypatch.setattr(M, "RestyleBatch", refuse)


def _error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


@pytest.mark.parametrize("at, expected", [
    (["900,5"], r"--at: .*ccp_0001\.jpg: the point \(900, 5\) is outside the photo \(550×832 px\)"),
    (["5,-1"], r"the point \(5, -1\) is outside the photo"),
    (["5,5", "10,900"], r"the point \(10, 900\) is outside the photo"),
    (["9x"], r"'9x' is not a point; give X,Y"),
    (["1,2,3"], r"'1,2,3' is not a point"),
])
def test_bad_points_are_refused_before_any_work(tmp_path, capsys, no_models, at, expected):
    import re

    args = ["ccp_0001", "--out", str(tmp_path)]
    for a in at:
        args += ["--at", a]
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    lines = _error_lines(capsys)
    assert len(lines) == 1 and re.search(expected, lines[0]), lines


def test_at_and_garments_together_are_refused(tmp_path, capsys, no_models):
    with pytest.raises(SystemExit) as e:
        main(["ccp_0001", "--at", "200,300", "--garments", "outer", "--out", str(tmp_path)])
    assert e.value.code == 2
    assert "--at and --garments both choose the garments" in capsys.readouterr().err


@pytest.mark.slow  # the cloth model and the garment detector on a photo
def test_a_point_on_the_background_fails_that_photo_in_one_line(tmp_path, capsys):
    rc = main(["ccp_0001", "--at", "5,5", "--photo-size", "192", "-q", "--method", "fast",
               "--style", "candy", "--out", str(tmp_path)])
    assert rc == 1
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("error: ")
            and "no garment at (5, 5)" in line], err
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.slow  # the real models on an annotated photo
def test_a_point_on_the_coat_restyles_the_coat_and_leaves_the_dress(tmp_path, capsys):
    from fsutils import data, stages
    from fsutils.evaluation.clicks import interior_point
    from fsutils.evaluation.placement import style_share

    root = Path(os.environ.get("FSUTILS_CCP_ROOT", "../shared/data/ccp"))
    photo = root / "photos" / f"{COAT_OVER_DRESS}.jpg"
    if not photo.is_file():
        pytest.skip(f"needs the Clothing Co-Parsing photos ({photo}; set FSUTILS_CCP_ROOT)")
    truth = {t.cls: t.mask for t in data.load_instances(root, COAT_OVER_DRESS)}
    x, y = interior_point(truth["outer"])                 # in pixels of the photo as given
    rc = main([str(photo), "--at", f"{x},{y}", "--photo-size", "320", "--save",
               "stylized,style_full,mask", "--out", str(tmp_path), "-q"])
    assert rc == 0
    assert f"garment at ({x}, {y})" in capsys.readouterr().err
    result, full = (fio.to_float(Image.open(tmp_path / f"{COAT_OVER_DRESS}_{k}.png"))
                    for k in ("stylized", "style_full"))
    content = fio.to_float(stages.shrink(fio.load_image(photo), 320))
    share, valid = style_share(content, full, result)
    size = (content.shape[1], content.shape[0])
    coat, dress = (np.asarray(Image.fromarray(truth[c]).resize(size, Image.Resampling.NEAREST))
                   & valid for c in ("outer", "dress"))
    assert coat.sum() > 1000 and dress.sum() > 1000
    assert share[coat].mean() > 0.8, "the coat pointed at was not restyled"
    assert share[dress].mean() < 0.05, "the dress under the coat was restyled too"
    assert (tmp_path / f"{COAT_OVER_DRESS}_mask_at_{x}_{y}.png").is_file()
