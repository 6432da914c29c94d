"""Garment swap: triplets from a hand-made annotation, α composition, CAGAN training, export, metrics."""
import json
import re

import numpy as np
import pytest
import torch
from scipy import ndimage

from fsutils.models.cagan import (CAGANDiscriminator, CAGANGenerator, LossWeights, compose,
                                  generator_from_state_dict, generator_loss)
from fsutils.swap import data as sd
from fsutils.evaluation import swap as sev
from fsutils.evaluation.overlap import overlap_counts
from fsutils.training import swap as st
from fsutils.swap.garment import load_generator, swap_garment, swap_parts
from tests.ccp_fixture import ccp_index, person_groundtruth, write_ccp

TINY = (32, 32)


def _photo(h=200, w=120, shirt=(200, 30, 30), rest=(40, 120, 200)):
    """A photo with a solid 'shirt' in rows 60–120, columns 30–90 and its mask."""
    photo = np.empty((h, w, 3), np.uint8)
    photo[:] = rest
    mask = np.zeros((h, w), bool)
    mask[60:120, 30:90] = True
    photo[mask] = shirt
    return photo, mask


def _away(mask, px=2):
    """Pixels more than ``px`` from ``mask`` (edges blend garment and white)."""
    return ~ndimage.binary_dilation(mask, np.ones((3, 3), bool), iterations=px)


def _bbox(mask):
    ys, xs = np.nonzero(mask)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


# ----------------------------------------------------------------------------------- triplets
def test_person_crop_centres_the_garment_at_the_crop_size():
    photo, mask = _photo()
    ex = sd.person_example(photo, mask)
    assert ex.person.shape == (128, 96, 3) and ex.mask.shape == (128, 96)
    x0, y0, x1, y1 = _bbox(ex.mask)
    # a 60×60 box grown by 15 % a side fits the 96-px width: the garment spans 96 / 1.3 px
    assert abs((x1 - x0) - 96 / 1.3) <= 2 and abs((y1 - y0) - 96 / 1.3) <= 2
    assert abs((x0 + x1) / 2 - 48) <= 1 and abs((y0 + y1) / 2 - 64) <= 1
    core = np.zeros_like(ex.mask)
    core[y0 + 2:y1 - 2, x0 + 2:x1 - 2] = True
    assert np.abs(ex.person[core].astype(int) - (200, 30, 30)).max() <= 2  # the shirt's pixels
    assert np.abs(ex.person[~ex.mask & (ex.person.sum(-1) < 600)].astype(int)
                  - (40, 120, 200)).min(0).max() <= 2  # and around it, the photo


def test_flat_lay_is_the_garment_alone_on_white():
    photo, mask = _photo()
    article, amask = sd.flat_lay(photo, mask)
    x0, y0, x1, y1 = _bbox(amask)
    assert abs((x1 - x0) - 96 * (1 - 2 * sd.ARTICLE_PAD)) <= 2
    assert abs((x0 + x1) / 2 - 48) <= 1 and abs((y0 + y1) / 2 - 64) <= 1
    assert (article[_away(amask)] == 255).all()  # white around it, the person's background gone
    core = np.zeros_like(amask)
    core[y0 + 2:y1 - 2, x0 + 2:x1 - 2] = True
    assert np.abs(article[core].astype(int) - (200, 30, 30)).max() <= 2


def test_jitter_moves_the_article_and_keeps_white_around_it():
    photo, mask = _photo()
    article, amask = sd.flat_lay(photo, mask)
    a1, m1 = sd.jitter_article(article, amask, np.random.default_rng(1))
    a2, m2 = sd.jitter_article(article, amask, np.random.default_rng(2))
    assert not np.array_equal(m1, amask) and not np.array_equal(m1, m2)
    assert (a1[_away(m1)] == 255).all()  # white around the garment, corners included
    assert abs(int(m1.sum()) - int(amask.sum())) < 0.15 * amask.sum()  # same garment, moved


def test_triplets_from_a_hand_made_ccp_annotation(tmp_path):
    items = {"0001": person_groundtruth(160, 96, "shirt", "pants"),
             "0002": person_groundtruth(160, 96, "t-shirt", "skirt"),
             "0003": person_groundtruth(160, 96, "dress", None)}  # no upper-body garment
    root = write_ccp(tmp_path / "ccp", items)
    ids, examples = sd.ccp_examples(root, sorted(items))
    assert ids == ["0001", "0002"]
    palette = np.random.default_rng(0).integers(0, 256, size=(256, 3), dtype=np.uint8)  # fixture's
    ds = sd.SwapDataset(root, sorted(items), fixed=True, seed=3)
    t = ds.triplet(0)
    shirt, tshirt = palette[ccp_index("shirt")].astype(int), palette[ccp_index("t-shirt")].astype(int)
    assert np.abs(np.median(t.x_i[t.mask_i], 0) - shirt).max() <= 6
    garment_i = (t.y_i < 245).any(-1)
    garment_j = (t.y_j < 245).any(-1)
    assert np.abs(np.median(t.y_i[garment_i], 0) - shirt).max() <= 6  # the worn shirt
    assert np.abs(np.median(t.y_j[garment_j], 0) - tshirt).max() <= 6  # the other photo's top
    again = ds.triplet(0)
    assert np.array_equal(again.y_i, t.y_i)  # validation items are fixed
    x_i, y_i, y_j, m = ds[1]
    assert x_i.shape == (3, 128, 96) and m.shape == (1, 128, 96)
    assert x_i.min() >= -1 and x_i.max() <= 1


def test_crop_and_paste_back_are_inverse():
    photo, mask = _photo()
    ex = sd.person_example(photo, mask)
    f = photo.astype(np.float32) / 255
    green = np.zeros((128, 96, 3), np.float32)
    green[..., 1] = 1
    untouched = sd.paste_back(f, green, np.zeros((128, 96), np.float32), ex.matrix)
    assert np.allclose(untouched, f)
    covered = sd.paste_back(f, green, ex.mask.astype(np.float32), ex.matrix)
    core = np.zeros_like(mask)
    core[64:116, 34:86] = True
    assert np.allclose(covered[core], (0, 1, 0), atol=1e-3)  # the garment painted green
    assert np.allclose(covered[~mask], f[~mask], atol=0.6) and np.allclose(covered[:50], f[:50])


# ------------------------------------------------------------------------------------- model
def test_alpha_composition():
    x = torch.rand(1, 3, 4, 4) * 2 - 1
    xt = torch.rand(1, 3, 4, 4) * 2 - 1
    a = torch.zeros(1, 1, 4, 4)
    assert torch.equal(compose(a, xt, x), x)
    assert torch.equal(compose(a + 1, xt, x), xt)
    a[..., :2] = 0.25
    mixed = compose(a, xt, x)
    assert torch.allclose(mixed[..., :2], 0.25 * xt[..., :2] + 0.75 * x[..., :2])
    assert torch.equal(mixed[..., 2:], x[..., 2:])
    torch.manual_seed(0)
    G = CAGANGenerator(base=8)
    x_i = torch.rand(2, 3, 32, 32) * 2 - 1
    out = G(x_i, torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
    assert torch.allclose(out.x_ij, compose(out.alpha, out.x_tilde, x_i))
    assert out.alpha.shape == (2, 1, 32, 32) and out.x_tilde.shape == (2, 3, 32, 32)
    assert float(out.alpha.detach().min()) >= 0 and float(out.alpha.detach().max()) <= 1


def test_generator_refuses_sizes_it_cannot_down_sample():
    with pytest.raises(ValueError, match="divisible by 16"):
        CAGANGenerator(base=8)(*(torch.rand(1, 3, 40, 32) for _ in range(3)))


def _batch(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.rand(n, 3, *TINY, generator=g) * 2 - 1 for _ in range(3))


@pytest.mark.slow  # the first optimiser step of a process imports torch._dynamo (seconds)
def test_one_training_step_lowers_the_generator_loss():
    torch.manual_seed(0)
    G, D = CAGANGenerator(base=8), CAGANDiscriminator(base=8)
    opt = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batch = _batch()
    w = LossWeights()
    before = generator_loss(G, D, *batch, w)[0].item()
    d_before = [p.detach().clone() for p in D.parameters()]
    parts, _ = st.generator_step(G, D, opt, batch, w)
    assert parts["g"] == pytest.approx(before)
    after = generator_loss(G, D, *batch, w)[0].item()
    assert after < before
    assert all(torch.equal(a, b) for a, b in zip(d_before, D.parameters()))  # D untouched
    assert all(p.requires_grad for p in D.parameters())


def test_discriminator_step_lowers_its_loss():
    torch.manual_seed(0)
    G, D = CAGANGenerator(base=8), CAGANDiscriminator(base=8)
    opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batch = _batch()
    with torch.no_grad():
        x_ij = G(*batch).x_ij
    losses = [st.discriminator_step(D, opt, batch, x_ij) for _ in range(3)]
    assert losses[-1] < losses[0]


# ------------------------------------------------------------------------- export and the API
def test_export_reload_gives_the_same_swap(tmp_path):
    torch.manual_seed(0)
    G = CAGANGenerator(base=8).eval()
    torch.save({"model": G.state_dict(), "state": {"step": 3}}, tmp_path / "last.pt")
    dest = st.export_generator(tmp_path / "last.pt", tmp_path / "generator.pt")
    sd_half = torch.load(dest, weights_only=True)
    assert all(v.dtype == torch.float16 for v in sd_half.values() if v.is_floating_point())
    photo, mask = _photo()
    article, _ = _photo(shirt=(20, 200, 40), rest=(255, 255, 255))
    ref = swap_parts(photo, article, weights=G, garment_mask=mask, size=TINY, device="cpu")
    got = swap_parts(photo, article, weights=str(dest), garment_mask=mask, size=TINY, device="cpu")
    assert np.abs(got["alpha"] - ref["alpha"]).max() < 0.01
    assert np.abs(got["result"] - ref["result"]).max() < 0.02
    again = swap_garment(photo, article, weights=str(dest), garment_mask=mask, size=TINY, device="cpu")
    assert again.size == (photo.shape[1], photo.shape[0])
    assert np.abs(np.asarray(again) / 255 - got["result"]).max() <= 1 / 255 + 1e-6
    far = np.zeros(photo.shape[:2], bool)  # outside the crop the photo is untouched
    far[:20] = True
    assert np.array_equal(np.asarray(again)[far], photo[far])


def test_a_missing_generator_is_refused_with_the_training_command(monkeypatch):
    from fsutils import weights
    from fsutils.swap.garment import DEFAULT_SWAP_WEIGHTS

    monkeypatch.delitem(weights.REGISTRY, DEFAULT_SWAP_WEIGHTS)  # a kit without the shipped file
    photo, mask = _photo()
    with pytest.raises(FileNotFoundError, match="fsutils.train swap"):
        swap_garment(photo, photo, garment_mask=mask)
    with pytest.raises(ValueError, match="not a CAGAN generator"):
        generator_from_state_dict({"conv.weight": torch.zeros(1)})


def test_an_empty_garment_mask_is_refused():
    photo, mask = _photo()
    with pytest.raises(ValueError, match="no upper-body garment"):
        swap_parts(photo, photo, weights=CAGANGenerator(base=8), garment_mask=np.zeros_like(mask),
                   size=TINY, device="cpu")


# ------------------------------------------------------------------------------------ metrics
def test_masked_and_outside_l1_on_hand_made_arrays():
    a = np.zeros((4, 4, 3), np.float32)
    b = a.copy()
    b[:2] = 0.5  # rows 0–1 differ by 0.5
    b[2:, :, 0] = 0.3  # rows 2–3 differ by 0.3 in one channel of three
    mask = np.zeros((4, 4), bool)
    mask[:2] = True
    assert sev.masked_l1(a, b, mask) == pytest.approx(0.5)
    assert sev.outside_l1(b, a, mask) == pytest.approx(0.1)
    assert np.isnan(sev.masked_l1(a, b, np.zeros((4, 4), bool)))
    with pytest.raises(ValueError, match="differ in size"):
        sev.masked_l1(a, b, np.zeros((3, 4), bool))


def test_iou_counts_pool_over_photos():
    p = np.zeros((4, 4), bool)
    t = np.zeros((4, 4), bool)
    p[:2] = True  # 8 pixels
    t[1:3] = True  # 8 pixels, 4 shared
    assert overlap_counts(p, t) == (4, 12)
    s = sev.Scores()
    case = sev.KnownAnswer("x", np.zeros((4, 4, 3), np.uint8), t, None, None, None,
                           np.full((4, 4, 3), 255, np.uint8), None)
    s.add("cagan", case, np.zeros((4, 4, 3), np.float32), p)
    s.add("cagan", case, np.zeros((4, 4, 3), np.float32), t)
    s.add("nothing", case, np.zeros((4, 4, 3), np.float32), None)
    r = s.summary()
    assert r["cagan"]["mask_iou"] == pytest.approx((4 + 8) / (12 + 8))
    assert r["cagan"]["known_l1"] == pytest.approx(1.0) and r["cagan"]["outside_l1"] == 0
    assert np.isnan(r["nothing"]["mask_iou"])


def test_recolour_changes_only_the_garment_and_keeps_its_shading():
    photo, mask = _photo(shirt=(128, 128, 128))
    photo[60:90, 30:90] = (60, 60, 60)  # a shadow on the grey shirt
    out = sev.recolour(photo, mask, np.random.default_rng(0))
    assert np.array_equal(out[~mask], photo[~mask])
    s = out[mask].astype(int)
    assert ((s.max(1) - s.min(1)) / s.max(1)).min() > 0.35  # the grey garment got a colour
    assert out[60:90, 30:90].sum() < out[90:120, 30:90].sum()  # the shadow stays darker


def test_colour_transfer_matches_the_articles_lab_statistics():
    rng = np.random.default_rng(0)
    person = rng.uniform(0.2, 0.4, (16, 16, 3)).astype(np.float32)
    mask = np.zeros((16, 16), bool)
    mask[4:12, 4:12] = True
    article = np.ones((16, 16, 3), np.float32)
    amask = np.zeros((16, 16), bool)
    amask[2:14, 2:14] = True
    article[amask] = rng.uniform(0.5, 0.9, (amask.sum(), 3)) * (1.0, 0.3, 0.2)
    out = sev.colour_transfer(person, mask, article, amask)
    assert np.array_equal(out[~mask], person[~mask])
    lab = lambda x, m: sev._lab(x)[m]
    assert np.allclose(lab(out, mask).mean(0), lab(article, amask).mean(0), atol=1.5)
    assert np.allclose(lab(out, mask).std(0), lab(article, amask).std(0), rtol=0.2, atol=1.0)


def test_last_line_has_the_documented_format():
    s = {"cagan": {"mask_iou": 0.5, "outside_l1": 0.01, "known_l1": 0.1},
         "nothing": {"mask_iou": float("nan"), "outside_l1": 0.0, "known_l1": 0.3},
         "colour": {"mask_iou": 0.6, "outside_l1": 0.02, "known_l1": 0.08}}
    assert sev.last_line(s) == ("alpha_iou=0.5000 outside_l1=0.0100 known_l1=0.1000 "
                                "known_l1_nothing=0.3000 known_l1_colour=0.0800")
    table = sev.swap_table(s)
    assert table[0].startswith("| method") and len(table) == 5 and "| – |" in table[3]
    s["pattern"] = {"mask_iou": 0.6, "outside_l1": 0.03, "known_l1": 0.2}
    assert [row.split(" |")[0] for row in sev.swap_table(s)[2:]] == [
        "| CAGAN", "| nothing (the photo)", "| colour transfer (Lab mean/std)",
        "| pattern try-on (Magenta)"]
    assert "0.2" not in sev.last_line(s)  # the baseline is in the table, not in the figures' line


@pytest.mark.slow  # four Magenta runs
def test_pattern_tryon_paints_the_article_inside_the_mask_only():
    photo, mask = _photo()
    f = photo.astype(np.float32) / 255
    article, _ = _photo(shirt=(20, 200, 40), rest=(255, 255, 255))
    out = sev.pattern_tryon(f, mask, article.astype(np.float32) / 255, size=128, device="cpu")
    assert out.shape == f.shape and np.array_equal(out[~mask], f[~mask])
    assert np.abs(out[mask] - f[mask]).mean() > 0.05  # Magenta with the article as the painting
    flat, flat_mask = sd.flat_lay(article, mask)
    boxed = sev.pattern_tryon(f, mask, flat.astype(np.float32) / 255, size=128, device="cpu",
                              article_mask=flat_mask)  # the painting: the garment's box alone
    ys, xs = np.nonzero(flat_mask)
    box = flat[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32) / 255
    assert np.allclose(boxed, sev.pattern_tryon(f, mask, box, size=128, device="cpu"), atol=1e-6)
    whole = sev.pattern_tryon(f, mask, flat.astype(np.float32) / 255, size=128, device="cpu")
    assert np.abs(boxed - whole).max() > 0.05  # the white around the flat-lay counts otherwise


# ------------------------------------------------------------------------ training and eval
def _tiny_ccp(tmp_path, n=40):
    tops = ("shirt", "t-shirt", "blouse", "sweater")
    items = {f"{i:04d}": person_groundtruth(96, 64, tops[i % 4], "pants") for i in range(1, n + 1)}
    return write_ccp(tmp_path / "ccp", items)


@pytest.mark.slow
def test_training_runs_resumes_and_exports(tmp_path, capsys):
    root = _tiny_ccp(tmp_path)
    out = tmp_path / "run"
    args = ["--arch", "cagan", "--ccp-root", str(root), "--out", str(out), "--height", "32",
            "--width", "32", "--base-channels", "8", "--disc-channels", "8", "--batch-size", "4",
            "--steps", "6", "--val-every", "3", "--val-images", "4", "--snapshots", "1,5",
            "--checkpoint-minutes", "0", "--device", "cpu", "--no-progress"]
    from fsutils.train import main

    assert main(args + ["--max-steps", "3"]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["steps"] == 3
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["state"]["step"] == 3
    assert main(args + ["--export", str(tmp_path / "g.pt")]) == 0  # resumes to 6
    history = json.loads((out / "history.json").read_text())
    steps = [r["step"] for r in history if "g" in r]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in history if "val_known_l1" in r] == [3, 6]
    assert all("val_known_l1_ema" in r for r in history if "val_known_l1" in r)
    best = torch.load(out / "best.pt", weights_only=True)
    vals = [r for r in history if "val_known_l1" in r]  # best.pt: the lowest of both generators
    assert best["weights"] in ("raw", "ema") and best["state"]["step"] == min(
        vals, key=lambda r: min(r["val_known_l1"], r["val_known_l1_ema"]))["step"]
    assert (out / "generator_step1.pt").is_file() and (out / "generator_step5.pt").is_file()
    assert (out / "best.pt").is_file()
    G = load_generator(str(tmp_path / "g.pt"), "cpu")
    assert G.base == 8
    capsys.readouterr()
    assert main([a if a != "32" else "64" for a in args]) == 2  # another size cannot resume this run
    assert "height=32 (now 64)" in capsys.readouterr().err
    ckpt = torch.load(out / "last.pt", weights_only=True)
    for old, resumes in (("1", True), ("2", False)):  # a run saved when the option was "classes"
        config = {k: v for k, v in ckpt["config"].items() if k != "garments"}
        torch.save({**ckpt, "config": {**config, "classes": old}}, out / "last.pt")
        if resumes:
            assert main(args + ["--steps", "7"]) == 0
        else:
            capsys.readouterr()
            assert main(args + ["--steps", "8"]) == 2
            assert "garments='2' (now 'upper')" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_swap_on_known_answers(tmp_path):
    root = _tiny_ccp(tmp_path)
    from fsutils import data as ccp
    from fsutils.evaluation.swap import evaluate_swap

    lookup = ccp.label_lookup(ccp.read_label_names(root))

    class TrueLabels:  # the baselines get the annotation as their "predicted" mask
        def predict(self, photo):
            for i in ccp.list_ids(root):
                if np.array_equal(np.asarray(ccp.load_photo(root, i)), photo):
                    return ccp.load_labels(root, i, lookup)
            raise AssertionError("unknown photo")

    torch.manual_seed(0)
    r = evaluate_swap(root, CAGANGenerator(base=8), "all", max_images=6, segmenter=TrueLabels(),
                      pattern=False, device="cpu", progress=False)
    s = r["scores"]
    assert r["images"] == 6
    assert s["colour"]["mask_iou"] > 0.95 and s["colour"]["outside_l1"] < 0.01
    assert s["colour"]["known_l1"] < s["nothing"]["known_l1"]  # recolouring ≈ colour transfer
    assert s["nothing"]["outside_l1"] == 0 and s["nothing"]["known_l1"] > 0.05
    assert re.fullmatch(r"alpha_iou=\S+ outside_l1=\S+ known_l1=\S+ known_l1_nothing=\S+ "
                        r"known_l1_colour=\S+", sev.last_line(s))
    # cross swaps: every photo wears another's garment, found through the (true) labels
    assert r["cross"]["swaps"] == 6 and r["cross"]["refused"] == 0
    assert {row["person"] for row in r["cross_rows"]} == {row["article"] for row in r["cross_rows"]}
    assert all(0 <= row["spill"] <= 1 for row in r["cross_rows"])


def test_bad_training_settings_are_refused_before_any_work(tmp_path, capsys):
    from fsutils.train import main

    base = ["--arch", "cagan", "--ccp-root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")]
    for bad, words in ((["--height", "100"], "100 is not a multiple of 16"),
                       (["--garments", "outer"], "--garments must list semantic classes"),
                       (["--classes", "0"], "--garments")):  # the option's older spelling
        with pytest.raises(SystemExit) as e:  # a bad option: exit 2, one line
            main(base + bad)
        err = capsys.readouterr().err
        assert e.value.code == 2 and len(err.splitlines()) == 1 and words in err, err
    assert main(base) == 2  # then the data set, before the run folder is made
    assert "not a CCP folder" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_swap_garments_read_both_spellings_and_old_runs():
    from fsutils.training.cli import build_parser
    from fsutils.training.swap import SwapTrainConfig

    assert build_parser().parse_args(["swap", "--ccp-root", "x", "--classes", "1,3"]).garments == "1,3"
    assert SwapTrainConfig("x", garments="upper,full").garment_labels == (1, 3)
    assert SwapTrainConfig("x", garments="1").garment_labels == (1,)


def test_evaluate_swap_refuses_a_missing_generator(tmp_path, monkeypatch, capsys):
    from fsutils import weights
    from fsutils.evaluate import main
    from fsutils.swap.garment import DEFAULT_SWAP_WEIGHTS

    monkeypatch.delitem(weights.REGISTRY, DEFAULT_SWAP_WEIGHTS)  # a kit without the shipped file

    root = write_ccp(tmp_path / "ccp", {"0001": person_groundtruth(48, 32, "shirt", "pants")})
    with pytest.raises(SystemExit, match="fsutils.train swap"):
        main(["swap", "--ccp-root", str(root), "--split", "all"])
    with pytest.raises(SystemExit) as e:
        main(["swap", "--ccp-root", str(root), "--height", "50"])
    assert e.value.code == 2 and "50 is not a multiple of 16" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_swap_command_prints_the_table_and_the_figures_last(tmp_path, capsys):
    from fsutils.evaluate import main

    root = _tiny_ccp(tmp_path, n=8)
    torch.manual_seed(0)
    torch.save(CAGANGenerator(base=8).state_dict(), tmp_path / "g.pt")
    assert main(["swap", "--ccp-root", str(root), "--split", "all", "--weights",
                 str(tmp_path / "g.pt"), "--max-images", "3", "--no-pattern", "--device", "cpu",
                 "--height", "64", "--width", "48", "--no-progress"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "split=all images=3"
    assert [l.split(" |")[0] for l in lines[3:6]] == ["| CAGAN", "| nothing (the photo)",
                                                        "| colour transfer (Lab mean/std)"]
    assert re.fullmatch(r"alpha_iou=[\d.]+ outside_l1=[\d.]+ known_l1=[\d.]+ "
                        r"known_l1_nothing=[\d.]+ known_l1_colour=[\d.]+ spill_p90=\S+ "
                        r"colour_moved_median=\S+ coverage_median=\S+", lines[-1])
    assert any(l.startswith("cross swaps: ") for l in lines)


def test_the_swapper_loads_its_generator_once_and_predicts_as_swap_garment(monkeypatch, tmp_path):
    from fsutils.swap import garment

    photo, mask = _photo()
    article, _ = _photo(shirt=(20, 200, 40), rest=(255, 255, 255))
    torch.manual_seed(0)
    G = CAGANGenerator(base=8)
    torch.save(G.state_dict(), tmp_path / "g.pt")
    built = []
    real = garment.generator_from_state_dict
    monkeypatch.setattr(garment, "generator_from_state_dict", lambda sd: built.append(1) or real(sd))
    swapper = garment.GarmentSwapper(str(tmp_path / "g.pt"), "cpu", size=TINY)
    a = swapper.predict(photo, article, garment_mask=mask)
    b = swapper.predict(photo, article, garment_mask=mask)
    assert len(built) == 1                                   # read once, then only run
    same = garment.swap_garment(photo, article, weights=G, garment_mask=mask, size=TINY,
                                device="cpu")
    assert np.abs(np.asarray(a, np.int16) - np.asarray(same, np.int16)).max() <= 1
    assert np.array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ValueError, match="garment_margin"):
        garment.GarmentSwapper(G, "cpu", garment_margin=-1)
