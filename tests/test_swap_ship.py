"""Shipping the garment-swap generator: export + registry entry, the shipped file's hash and offline
load, the training-stages picture, and the bundled people and articles."""
import hashlib
import shutil

import numpy as np
import pytest
import torch

from fsutils import weights as W
from fsutils.models.cagan import CAGANGenerator
from fsutils.swap import samples
from fsutils.swap.stages import read_stages
from tools import ship_swap as ship
from fsutils.swap.garment import DEFAULT_SWAP_WEIGHTS, load_generator, swap_garment, swap_parts
from fsutils.weights.registry import REGISTRY_FILE, read_registry

TINY = (32, 32)


def _checkpoint(path, seed=0, step=7):
    torch.manual_seed(seed)
    G = CAGANGenerator(base=8).eval()
    torch.save({"model": G.state_dict(), "state": {"step": step}}, path)
    return G


def test_ship_writes_the_half_precision_file_and_its_registry_entry(tmp_path):
    registry = tmp_path / "registry.toml"
    shutil.copy(REGISTRY_FILE, registry)
    before = read_registry(registry)
    G = _checkpoint(tmp_path / "last.pt")
    got = ship.ship_generator(tmp_path / "last.pt", assets=tmp_path / "assets", registry=registry)
    path = tmp_path / "assets" / f"{DEFAULT_SWAP_WEIGHTS}.pth"
    assert got["path"] == path and got["step"] == 7
    data = path.read_bytes()
    entry = read_registry(registry)[DEFAULT_SWAP_WEIGHTS]
    assert entry.sha256 == hashlib.sha256(data).hexdigest() == got["sha256"]
    assert entry.size == len(data) and entry.filename == path.name
    assert "after 7 training steps" in entry.notes
    assert isinstance(entry.sources[0], W.Bundled) and entry.sources[0].path == path.name
    built = entry.build()
    assert isinstance(built, CAGANGenerator) and (built.base, built.depth) == (8, 4)
    sd = torch.load(path, weights_only=True)
    assert all(v.dtype == torch.float16 for v in sd.values() if v.is_floating_point())
    # the exported generator swaps as the trained one does
    photo, mask = samples.sample_person("ccp_0001")
    article = samples.sample_article("ccp_0500")
    kw = dict(garment_mask=mask, article_mask=article.mask, size=TINY, device="cpu")
    ref = swap_parts(photo, article.image, weights=G, **kw)
    again = swap_parts(photo, article.image, weights=str(path), **kw)
    assert np.abs(again["result"] - ref["result"]).max() < 0.02
    # shipping again replaces the entry: one table, the new hash; the other entries as they were
    _checkpoint(tmp_path / "other.pt", seed=1, step=9)
    second = ship.ship_generator(tmp_path / "other.pt", assets=tmp_path / "assets", registry=registry)
    text = registry.read_text()
    assert text.count(f"[{DEFAULT_SWAP_WEIGHTS}]") == 1 and second["sha256"] != got["sha256"]
    after = read_registry(registry)
    assert after[DEFAULT_SWAP_WEIGHTS].sha256 == second["sha256"]
    assert {k: v for k, v in after.items() if k != DEFAULT_SWAP_WEIGHTS} == \
        {k: v for k, v in before.items() if k != DEFAULT_SWAP_WEIGHTS}


def test_write_entry_replaces_only_its_own_tables(tmp_path):
    registry = tmp_path / "registry.toml"
    registry.write_text('[a]\nfilename = "a.pth"\nsources = []\narch = "a"\nlicense = "x"\n'
                        'credit = "y"\n\n[ccp_cagan]\nfilename = "old.pth"\nsources = []\n'
                        'arch = "old"\nlicense = "x"\ncredit = "y"\n[ccp_cagan.preprocessing]\n'
                        'input_size = 3\n\n# the next one\n[b]\nfilename = "b.pth"\nsources = []\n'
                        'arch = "b"\nlicense = "x"\ncredit = "y"\n')
    ship.write_entry(registry, "ccp_cagan", '[ccp_cagan]\nfilename = "new.pth"\nsources = []\n'
                                            'arch = "new"\nlicense = "x"\ncredit = "y"\n')
    entries = read_registry(registry)
    assert list(entries) == ["a", "ccp_cagan", "b"]
    assert entries["ccp_cagan"].filename == "new.pth" and entries["ccp_cagan"].preprocessing is None
    assert "# the next one\n[b]" in registry.read_text()
    with pytest.raises(W.WeightsError, match="unknown key"):  # a bad entry never lands
        ship.write_entry(registry, "ccp_cagan", '[ccp_cagan]\nfilename = "x"\nsources = []\n'
                                                'arch = "x"\nlicense = "x"\ncredit = "y"\nbogus = 1\n')
    assert read_registry(registry)["ccp_cagan"].filename == "new.pth"
    assert not (tmp_path / "registry.tmp").exists()


def test_ship_refuses_what_is_not_a_generator_before_writing(tmp_path, capsys):
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a CAGAN generator"):
        ship.ship_generator(tmp_path / "other.pt", assets=tmp_path / "assets",
                            registry=tmp_path / "registry.toml")
    assert not (tmp_path / "assets").exists()
    with pytest.raises(SystemExit) as e:
        ship.main([str(tmp_path / "missing.pt")])
    assert e.value.code == 2 and "is not a file" in capsys.readouterr().err
    _checkpoint(tmp_path / "last.pt")
    with pytest.raises(SystemExit) as e:  # a stages folder without snapshots: refused first
        ship.main([str(tmp_path / "last.pt"), "--stages", str(tmp_path / "assets")])
    assert e.value.code == 2 and "no generator_step" in capsys.readouterr().err


def test_checkpoint_step_from_the_state_or_the_snapshot_name(tmp_path):
    _checkpoint(tmp_path / "last.pt", step=12)
    assert ship.checkpoint_step(tmp_path / "last.pt") == 12
    torch.save(CAGANGenerator(base=8).state_dict(), tmp_path / "generator_step40.pt")
    torch.save(CAGANGenerator(base=8).state_dict(), tmp_path / "export.pt")
    assert ship.checkpoint_step(tmp_path / "generator_step40.pt") == 40
    assert ship.checkpoint_step(tmp_path / "export.pt") is None
    assert list(ship.snapshot_steps(tmp_path)) == [40]


# ------------------------------------------------------------------------ the shipped generator
def test_shipped_generator_matches_its_registry_entry():
    from tests.test_cloth_model import bundled_half_precision_file

    path = bundled_half_precision_file(DEFAULT_SWAP_WEIGHTS)
    assert path.stat().st_size < 3_000_000
    assert W.REGISTRY[DEFAULT_SWAP_WEIGHTS].build().base == 32


def test_shipped_generator_loads_offline_and_swaps_a_sample(tmp_path, monkeypatch):
    monkeypatch.delenv("FSUTILS_WEIGHTS_MIRROR", raising=False)
    monkeypatch.setenv("FSUTILS_WEIGHTS_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FSUTILS_OFFLINE", "1")
    G = load_generator(device="cpu")
    assert not G.training and G.base == 32
    photo, mask = samples.sample_person("ccp_0006")
    article = samples.sample_article("ccp_0750")
    out = np.asarray(swap_garment(photo, article.image, garment_mask=mask,
                                  article_mask=article.mask, device="cpu"))
    assert out.shape == photo.shape
    assert np.array_equal(out[:40], photo[:40])      # above the crop: the photo itself
    changed = np.abs(out.astype(int) - photo).sum(-1) > 30
    assert changed[mask].mean() > 5 * changed[~mask].mean()  # the swap is on the garment
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


@pytest.mark.slow  # the cloth model segments the photo
def test_swap_garment_with_nothing_but_two_images(tmp_path, monkeypatch):
    """The defaults alone, offline: the shipped generator, and the cloth model finds the top."""
    monkeypatch.delenv("FSUTILS_WEIGHTS_MIRROR", raising=False)
    monkeypatch.setenv("FSUTILS_WEIGHTS_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FSUTILS_OFFLINE", "1")
    photo, top = samples.sample_person("ccp_0500")
    article = samples.sample_articles()["mondrian top"]
    out = np.asarray(swap_garment(photo, article.image))
    assert out.shape == photo.shape
    changed = np.abs(out.astype(int) - photo).sum(-1) > 30
    assert changed[top].mean() > 0.2 and changed[~top].mean() < 0.05


# ------------------------------------------------------------------------------- stages, samples
@pytest.mark.slow
def test_stages_picture_keeps_its_labels_and_examples(tmp_path):
    torch.manual_seed(0)
    gens = {"step 1": CAGANGenerator(base=8), "shipped": CAGANGenerator(base=8)}
    examples = (("ccp_0001", "top of ccp_0500"), ("ccp_0500", "mondrian top"))
    dest = ship.render_stages(gens, tmp_path / "stages.png", examples)
    img, stages, got = read_stages(dest)
    assert stages == ["step 1", "shipped"] and got == list(examples)
    assert img.size == (96 * (2 + 2 * 2), 128 * 2)
    grid = np.asarray(img)
    assert not np.array_equal(grid[:, 192:288], grid[:, 384:480])  # two generators, two swaps


def test_bundled_people_and_articles():
    people = samples.sample_people()
    assert "ccp_0001" in people and "ccp_0250" not in people  # a top of 0.8 % is no person to dress
    arts = samples.sample_articles()
    assert {f"top of {p}" for p in people} | {"mondrian top"} <= set(arts)
    painted = arts["mondrian top"]
    assert (painted.image[~painted.mask] == 255).all()
    assert np.array_equal(painted.mask, samples.sample_article(samples.PAINTED_SHAPE).mask)
    assert painted.image[painted.mask].std() > 20  # a pattern, not a flat colour


def test_validation_record_reads_the_row_of_the_checkpoints_step_and_weights(tmp_path):
    import json

    G = CAGANGenerator(base=8)
    row = {"step": 20, "val_alpha_iou": 0.7, "val_outside_l1": 0.01, "val_known_l1": 0.11,
           "val_known_l1_nothing": 0.2, "val_alpha_iou_ema": 0.75, "val_outside_l1_ema": 0.009,
           "val_known_l1_ema": 0.09}
    (tmp_path / "history.json").write_text(json.dumps([{"step": 20, "g": 1.0}, row]))
    torch.save({"model": G.state_dict(), "weights": "ema", "state": {"step": 20},
                "config": {"val_images": 48}}, tmp_path / "best.pt")
    assert ship.validation_record(tmp_path / "best.pt") == {
        "weights": "ema", "photos": 48, "alpha_iou": 0.75, "outside_l1": 0.009, "known_l1": 0.09,
        "known_l1_nothing": 0.2}
    torch.save({"model": G.state_dict(), "state": {"step": 20}}, tmp_path / "raw.pt")  # no "weights"
    assert ship.validation_record(tmp_path / "raw.pt")["known_l1"] == 0.11
    torch.save({"model": G.state_dict(), "state": {"step": 21}}, tmp_path / "last.pt")
    assert ship.validation_record(tmp_path / "last.pt") is None   # no validation at step 21


def test_record_figures_writes_the_swap_table_that_the_course_reads(tmp_path, monkeypatch):
    import tomllib

    from fsutils import course

    measured = tmp_path / "measured.toml"
    measured.write_text('[ccp_splits]\ntrain = 1\nval = 2\ntest = 3\n\n[blend]\nsplit = "val"\n')
    nan = float("nan")
    result = {"split": "test", "images": 3, "scores": {
        "cagan": {"mask_iou": 0.51234, "outside_l1": 0.01, "known_l1": 0.08},
        "nothing": {"mask_iou": nan, "outside_l1": 0.0, "known_l1": 0.2},
        "colour": {"mask_iou": 0.6, "outside_l1": 0.012, "known_l1": 0.1},
        "pattern": {"mask_iou": 0.6, "outside_l1": 0.03, "known_l1": 0.3}}}
    ship.record_figures(result, 1234, measured)
    result["scores"]["cagan"]["known_l1"] = 0.07
    validation = {"weights": "ema", "photos": 48, "alpha_iou": 0.75, "outside_l1": 0.009,
                  "known_l1": 0.09, "known_l1_nothing": 0.2}
    ship.record_figures(result, 1500, measured, validation)  # again: the table is replaced
    text = measured.read_text()
    assert text.count("[swap]") == 1 and text.count("# python -m fsutils.evaluate swap") == 1
    data = tomllib.loads(text)
    assert data["ccp_splits"] == {"train": 1, "val": 2, "test": 3} and data["blend"] == {"split": "val"}
    assert data["swap"]["step"] == 1500 and data["swap"]["images"] == 3
    assert data["swap"]["methods"]["cagan"] == [0.512, 0.01, 0.07]
    assert data["swap"]["validation"] == validation
    monkeypatch.setattr(course, "MEASURED_FILE", measured)
    course.figures.cache_clear()
    try:
        assert course.swap_scores()["colour"]["known_l1"] == 0.1
        table = course.swap_table()
        assert "after 1,500 training steps" in table[0] and "| CAGAN | 0.512 | 0.0100 | 0.0700 |" in table
        assert ("chosen on validation (the first 48 validation photos, the running average of its "
                "weights): known_l1 0.0900 against 0.2000") in table[0]
        assert "beats colour transfer (0.070 against 0.100)" in course.swap_verdict()
    finally:
        course.figures.cache_clear()


def test_ship_command_refuses_a_missing_ccp_folder_before_shipping(tmp_path, capsys):
    _checkpoint(tmp_path / "last.pt")
    with pytest.raises(SystemExit) as e:
        ship.main([str(tmp_path / "last.pt"), "--measure", str(tmp_path / "nowhere")])
    assert e.value.code == 2 and "is not a folder" in capsys.readouterr().err
