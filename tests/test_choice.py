"""Choosing a garment and getting it: the tagged-photo reader, the choice and tags evaluations on
hand-made masks, and the best garment source (fsutils.sources) in the pipeline and the swap."""
import os
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from fsutils import data, tags
from fsutils.evaluation import choice, presence
from fsutils.instances import Instance, Instances
from fsutils.sources import GarmentNotFound, choose_mask
from tests.ccp_fixture import CCP_LABELS, ccp_index, person_groundtruth, write_ccp

H, W = 50, 40


def write_tagged(root: Path, items: dict[str, list[str]], extra_photos=()) -> Path:
    """A tagged CCP folder: ``{id: [label names]}`` (``"null"`` added as CCP does)."""
    (root / "photos").mkdir(parents=True)
    (root / tags.TAGS_DIR).mkdir(parents=True)
    labels = np.empty((1, len(CCP_LABELS)), dtype=object)
    labels[0, :] = CCP_LABELS
    scipy.io.savemat(str(root / "label_list.mat"), {"label_list": labels})
    for image_id, names in {**items, **{i: [] for i in extra_photos}}.items():
        Image.fromarray(np.full((H, W, 3), 128, np.uint8)).save(root / "photos" / f"{image_id}.jpg")
        if image_id in items:
            idx = np.array([[0, *sorted(ccp_index(n) for n in names)]], np.uint8)
            scipy.io.savemat(str(tags.tags_path(root, image_id)), {"tags": idx})
    return root


def box(y0, y1, x0, x1, shape=(H, W)):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def item(cls, mask, score=0.9):
    ys, xs = np.nonzero(mask)
    return Instance(cls, score, (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), mask)


# ------------------------------------------------------------------------------- tagged photos
def test_tags_are_read_as_label_names_and_mapped_to_both_vocabularies(tmp_path):
    root = write_tagged(tmp_path, {"1005": ["blouse", "skirt", "heels", "hair"],
                                   "1006": ["coat", "dress", "bag"]}, extra_photos=("1007",))
    assert tags.list_tagged_ids(root) == ["1005", "1006"]      # 1007 has no tags file
    top_skirt = tags.tagged_photo(root, "1005")
    assert top_skirt.tags == {"blouse", "skirt", "heels", "hair"}  # no "null"
    assert top_skirt.semantic == (1, 2) and top_skirt.instances == ("top", "skirt", "shoe")
    assert top_skirt.split == data.split_of("1005")
    coat = tags.tagged_photo(root, "1006")
    assert coat.semantic == (3,) and coat.instances == ("outer", "dress", "bag")
    for split in data.SPLITS:
        want = [i for i in ("1005", "1006") if data.split_of(i) == split]
        if want:
            assert [p.image_id for p in tags.load_tagged(root, split)] == want
        else:
            with pytest.raises(data.CCPError, match="no tagged photo"):
                tags.load_tagged(root, split)


def test_bad_tag_files_and_folders_are_refused_with_what_to_do(tmp_path):
    root = write_tagged(tmp_path / "t", {"1005": ["top"]})
    scipy.io.savemat(str(tags.tags_path(root, "1005")), {"tags": np.array([[0, 200]], np.uint8)})
    with pytest.raises(data.PhotoError, match="indices 0–58"):
        tags.read_tags(root, "1005")
    scipy.io.savemat(str(tags.tags_path(root, "1005")), {"other": np.zeros(2)})
    with pytest.raises(data.PhotoError, match="no 'tags'"):
        tags.read_tags(root, "1005")
    with pytest.raises(data.CCPError, match="image-level"):
        tags.list_tagged_ids(write_ccp(tmp_path / "pixels", {"0001": np.zeros((4, 4), np.uint8)}))
    with pytest.raises(ValueError, match="unknown split"):
        tags.load_tagged(root, "dev")


# ------------------------------------------------------------------------------------ choice
def test_a_choice_is_found_missed_or_neither_by_its_iou_and_small_classes_are_not_scored():
    truth = {"upper": box(0, 20, 0, 40), "lower": box(20, 40, 0, 40), "full": box(40, 41, 0, 40)}
    predicted = {"upper": box(0, 20, 0, 40),        # IoU 1: found
                 "lower": box(20, 40, 0, 12),       # IoU 0.3: neither found nor missed
                 "full": box(0, 50, 0, 40)}         # truth under 3 % of the photo: not scored
    p = choice.score_photo("a", predicted, truth, box(0, 40, 0, 40), box(0, 40, 0, 20))
    assert p.iou == pytest.approx({"upper": 1.0, "lower": 0.3}) and p.binary_iou == pytest.approx(0.5)
    q = choice.score_photo("b", {}, truth, box(0, 1, 0, 1), box(0, 40, 0, 40))  # nothing predicted
    assert q.iou == {"upper": 0.0, "lower": 0.0}
    r = choice.score_photo("c", {"upper": box(0, 10, 0, 40)}, {"upper": box(0, 20, 0, 40)},
                           box(0, 20, 0, 40), box(0, 20, 0, 40))
    s = choice.summarize([p, q, r], ("upper", "lower", "full"))
    assert (s["upper"].photos, s["upper"].found, s["upper"].missed) == (3, pytest.approx(2 / 3),
                                                                        pytest.approx(1 / 3))
    assert (s["lower"].photos, s["lower"].found, s["lower"].missed) == (2, 0.0, 0.5)
    assert s["full"].photos == 0 and np.isnan(s["full"].found)
    line = choice.summary_line(s, [p, q, r])
    assert line == "found_rate_min=0.0000 missed_max=0.5000 binary_median=0.5000"


def test_choice_evaluation_scores_both_models_against_the_annotation(tmp_path, monkeypatch):
    root = write_ccp(tmp_path, {"0001": person_groundtruth(100, 60, "blouse", "skirt"),
                                "0002": person_groundtruth(100, 60, "dress", None)})
    lookup = data.label_lookup(CCP_LABELS)
    top_skirt = lookup[person_groundtruth(100, 60, "blouse", "skirt")]

    class Models:  # sees a blouse and a skirt in every photo, and detects the skirt as a dress
        def __init__(self, *args):
            self.weights, self.instance_weights = "fake", "fake detector"

        def predict(self, photo):
            return top_skirt, Instances([item("dress", top_skirt == 2)])

    monkeypatch.setattr(choice, "GarmentModels", Models)
    r = choice.evaluate_choice(root, "all", progress=False)
    c = r["classes"]
    assert r["images"] == 2 and [p.image_id for p in r["photos"]] == ["0001", "0002"]
    assert (c["upper"].photos, c["upper"].found) == (1, 1.0)   # only 0001 has an upper garment
    assert (c["full"].photos, c["full"].missed) == (1, 1.0)    # 0002's dress: nothing there
    assert (c["dress"].photos, c["dress"].missed) == (1, 0.0)  # the skirt overlaps the dress
    assert (c["skirt"].photos, c["skirt"].missed) == (1, 1.0)  # the skirt found as a dress
    assert (c["shoe"].photos, c["shoe"].missed) == (2, 1.0)  # 5 % of each photo, not detected
    assert c["bag"].photos == 0
    assert [p.binary_iou for p in r["photos"]] == pytest.approx([1.0, 1.0])
    lines = choice.table_lines(r, per_photo=True)
    assert "binary_iou[0002]=1.0000" in lines
    assert lines[-1] == "found_rate_min=0.0000 missed_max=1.0000 binary_median=1.0000"


# ---------------------------------------------------------------------------------- tags
def test_presence_counts_precision_recall_and_f1_per_class():
    labels = np.zeros((10, 10), np.uint8)
    labels[:2, :] = 1           # 20 % upper
    labels[2, :1] = 2           # 1 % lower: under 2 %, not shown
    labels[3, :2] = 3           # 2 %: shown
    assert presence.shown_semantic(labels) == (1, 3)
    m = box(0, 2, 0, 2, (10, 10))
    found = [item("skirt", m, 0.49), item("top", m, 0.5), item("shoe", m, 0.9)]
    assert presence.shown_instances(found, 0.5) == ("top", "shoe")
    tagged = [{"upper", "lower"}, {"upper", "lower"}, {"full"}, set()]
    shown = [{"upper", "full"}, {"upper", "lower"}, {"full"}, {"full"}]
    p = presence.presence_scores(tagged, shown, ("upper", "lower", "full"))
    assert (p["full"].tagged, p["full"].shown, p["full"].both) == (1, 3, 1)
    assert p["full"].precision == pytest.approx(1 / 3) and p["full"].recall == 1.0
    assert p["full"].f1 == pytest.approx(0.5) and p["lower"].f1 == pytest.approx(2 / 3)
    assert presence.Presence(0, 0, 0).f1 != presence.Presence(0, 0, 0).f1  # NaN: nothing to say
    inst = presence.presence_scores([{"dress"}, {"skirt"}], [{"dress"}, set()], data.INSTANCE_CLASSES)
    line = presence.summary_line(p, inst)
    assert re.fullmatch(r"semantic_f1_mean=0\.7222 full_precision=0\.3333 instance_f1_mean=0\.5000 "
                        r"dress_f1=1\.0000 skirt_f1=0\.0000", line), line


def test_tags_evaluation_scores_what_the_models_show_against_the_tags(tmp_path, monkeypatch):
    root = write_tagged(tmp_path, {"1005": ["blouse", "skirt"], "1006": ["dress", "heels"]})
    full = np.full((H, W), 3, np.uint8)  # a dress everywhere, in every photo

    class Models:
        weights, instance_weights = "fake", "fake detector"
        detector = type("D", (), {"score_threshold": 0.5})()

        def __init__(self, *args):
            pass

        def predict(self, photo):
            return full, Instances([item("dress", full > 0, 0.8), item("shoe", full > 0, 0.3)])

    monkeypatch.setattr(choice, "GarmentModels", Models)
    r = presence.evaluate_tags(root, "all", progress=False)
    assert r["images"] == 2
    assert (r["semantic"]["full"].precision, r["semantic"]["upper"].recall) == (0.5, 0.0)
    assert r["instances"]["shoe"].shown == 0   # below the detector's score
    assert presence.table_lines(r)[-1].startswith("semantic_f1_mean=0.2222 full_precision=0.5000 ")


def test_the_commands_refuse_a_folder_without_their_annotations(tmp_path, capsys):
    from fsutils.evaluate import main

    tagged = write_tagged(tmp_path / "t", {"1005": ["top"]})
    with pytest.raises(SystemExit) as e:
        main(["choice", "--ccp-root", str(tagged)])
    assert e.value.code == 2 and "pixel-level" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["tags", "--ccp-root", str(tmp_path / "missing")])
    assert e.value.code == 2 and "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["tags", "--ccp-root", str(tagged), "--split", "all", "--instance-weights", "nope"])
    assert e.value.code == 2 and "--instance-weights 'nope'" in capsys.readouterr().err


# --------------------------------------------------------------------- the best garment source
def _top_skirt_as_dress():
    """The cloth model calls a top and a skirt one full-body garment; the detector sees both."""
    labels = np.zeros((H, W), np.uint8)
    labels[10:40, 10:30] = 3
    return labels, [item("top", box(10, 25, 10, 30)), item("skirt", box(25, 40, 10, 30))]


def test_a_top_with_a_skirt_is_not_a_full_body_garment():
    labels, found = _top_skirt_as_dress()
    with pytest.raises(GarmentNotFound, match="no full-body garment was found") as e:
        choose_mask(labels, found, (3,))
    assert "\n" not in str(e.value)
    upper = choose_mask(labels, found, (1,))   # the cloth model has no upper body: the top
    assert upper.source == "detector" and (upper.mask == box(10, 25, 10, 30)).all()
    dress = found + [item("dress", box(10, 40, 10, 30))]  # a detected dress over both: kept
    f = choose_mask(labels, dress, (3,))
    assert f.source == "cloth model" and (f.mask == (labels == 3)).all() and not f.veto.any()


def test_a_coat_over_a_dress_is_the_upper_garment_and_every_garment_needs_no_detector():
    labels = np.zeros((H, W), np.uint8)
    labels[10:45, 10:30] = 3                               # coat and dress: full body
    coat = item("outer", box(10, 30, 8, 32))
    f = choose_mask(labels, [coat, item("dress", box(20, 45, 12, 28))], (1,))
    assert f.source == "detector" and (f.mask == coat.mask).all()
    calls = []
    every = choose_mask(labels, lambda: calls.append(1) or [coat], (1, 2, 3))
    assert every.source == "cloth model" and (every.mask == (labels > 0)).all() and not calls
    dress = choose_mask(labels, [coat, item("dress", box(20, 45, 12, 28))], ("dress",))
    assert dress.source == "detector" and dress.mask.sum() == 25 * 16
    with pytest.raises(GarmentNotFound, match="no dress was found"):  # instance classes: the
        choose_mask(labels, [coat], ("dress",))                     # detector's alone
    small = np.zeros((H, W), np.uint8)
    small[0, :4] = 1                                       # 4 pixels, and nothing contradicts them
    assert choose_mask(small, [], (1,)).mask.sum() == 4
    with pytest.raises(GarmentNotFound, match="no upper-body garment"):
        choose_mask(small, [item("dress", box(0, 2, 0, 10))], (1,))


def test_the_pipeline_does_not_restyle_a_top_with_a_skirt_as_a_dress():
    from fsutils.pipeline import Pipeline
    from tests.test_pipeline import Recorder, fake_saliency

    labels, found = _top_skirt_as_dress()
    p = Pipeline(lambda photo: labels, fake_saliency, stylers={"fake": Recorder()},
                 instances=lambda photo: Instances(found), best_source=True)
    p.set_image(Image.fromarray(np.full((H, W, 3), 90, np.uint8)))
    with pytest.raises(GarmentNotFound, match="full-body"):
        p.run(method="fake", style="x", garments="full", blend="hard")
    res = p.run(method="fake", style="x", garments="upper", blend="soft")
    assert (res.mask == found[0].mask).all()
    assert (p.probability("upper") == found[0].mask).all()   # the detector's region, 0/1
    plain = Pipeline(lambda photo: labels, fake_saliency, stylers={"fake": Recorder()})
    plain.set_image(p.photo)                                 # a segmenter of one's own alone
    assert (plain.mask("full") == (labels == 3)).all() and not plain.mask("upper").any()


# ------------------------------------------------------------------------ on real photos
CCP = Path(os.environ.get("FSUTILS_CCP_ROOT", "/nonexistent"))
TAGGED = CCP.parent / "ccp-tagged"


@pytest.mark.slow  # the shipped cloth model, detector and swap generator on full-size photos
@pytest.mark.skipif(not (CCP / "photos" / "0875.jpg").is_file(), reason="needs CCP photo 0875")
def test_swap_garment_works_on_a_coat_over_a_dress():
    from fsutils.swap.garment import swap_parts

    photo, gt = data.load_pair(CCP, "0875")
    coat, dress = gt == CCP_LABELS.index("coat"), gt == CCP_LABELS.index("dress")
    assert coat.mean() > 0.03 and dress.mean() > 0.03      # the annotation: a coat over a dress
    article = np.full((128, 96, 3), 255, np.uint8)
    article[20:110, 15:80] = (30, 160, 40)
    parts = swap_parts(photo, article, device="cpu")
    changed = np.abs(parts["result"] - np.asarray(photo, np.float32) / 255).max(-1) > 0.1
    assert (changed & coat).sum() > 0.5 * coat.sum()        # the coat is what was swapped …
    assert (changed & (gt > 0)).sum() > 0.8 * changed.sum()  # … on the person


@pytest.mark.slow  # the shipped cloth model and detector on a full-size photo
@pytest.mark.skipif(not (TAGGED / "photos" / "1005.jpg").is_file(), reason="needs ccp-tagged 1005")
def test_a_real_photo_tagged_blouse_and_skirt_is_not_restyled_as_a_dress():
    from fsutils.sources import find_garment
    from fsutils.stages import default_segmenter

    t = tags.tagged_photo(TAGGED, "1005")
    assert {"blouse", "skirt"} <= t.tags and 3 not in t.semantic
    photo = data.load_photo(TAGGED, "1005")
    seg = default_segmenter(None, "cpu")
    assert (seg.predict(photo) == 3).mean() > 0.03         # the cloth model alone: a dress
    with pytest.raises(GarmentNotFound, match="full-body"):
        find_garment(photo, (3,), segmenter=seg)
    assert find_garment(photo, (2,), segmenter=seg).mask.mean() > 0.03


def test_the_results_tables_quote_the_measured_rows():
    from fsutils import course

    rows, table = course.choice_rows(), course.choice_table()
    assert len(table) == 2 + len(rows) and {r["split"] for r in rows} >= {"val", "test"}
    for r, line in zip(rows, table[2:]):
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        assert cells[2] == f"{100 * r['found']['upper']:.0f} % / {100 * r['missed']['upper']:.0f} %"
        assert cells[-3:] == [f"{r[k]:.3f}" for k in ("found_rate_min", "missed_max", "binary_median")]
    rows, table = course.tags_rows(), course.tags_table()
    for r, line in zip(rows, table[2:]):
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        assert cells[1].endswith(f"({r['images']})") and cells[4] == f"{r['f1']['full']:.3f}"
        assert cells[-3] == f"{r['full_precision']:.3f}"


def test_the_command_line_says_in_one_line_that_no_model_found_the_garment(tmp_path, monkeypatch,
                                                                          capsys):
    from fsutils import pipeline
    from fsutils.cli.main import main
    from tests.test_pipeline import Recorder, fake_saliency

    labels, found = _top_skirt_as_dress()
    real = pipeline.Pipeline

    def build(segment=None, saliency=None, **kw):  # the kit's pipeline on hand-made models
        kw = {k: v for k, v in kw.items() if k not in ("segment_weights", "saliency_weights")}
        return real(lambda photo: labels, fake_saliency, stylers={"fast": Recorder()},
                    instances=lambda photo: Instances(found), best_source=True, **kw)

    monkeypatch.setattr(pipeline, "Pipeline", build)
    photo = tmp_path / "top_skirt.png"
    Image.fromarray(np.full((H, W, 3), 90, np.uint8)).save(photo)
    rc = main([str(photo), "--garments", "full", "--method", "fast", "--style", "candy",
               "--out", str(tmp_path / "out"), "--save", "stylized"])
    err = capsys.readouterr().err
    assert rc == 1 and not (tmp_path / "out" / "top_skirt_stylized.png").exists()
    assert (f"error: {photo}: no full-body garment was found in this photo by the cloth model or "
            "the garment detector; choose another garment.") in err.splitlines()


def test_a_result_keeps_what_was_restyled_for_each_chosen_class():
    from fsutils.pipeline import Pipeline
    from tests.test_pipeline import Recorder, fake_saliency

    labels, found = _top_skirt_as_dress()                  # no upper or lower body to the cloth model
    p = Pipeline(lambda photo: labels, fake_saliency, stylers={"fake": Recorder()},
                 instances=lambda photo: Instances(found), best_source=True)
    res = p.run(Image.fromarray(np.full((H, W, 3), 90, np.uint8)), method="fake", style="x",
                garments=["upper", "lower"], blend="hard")
    masks = res.masks_by_garment()
    assert set(masks) == {"upper_body", "lower_body", "full_body"}
    assert (masks["upper_body"] == found[0].mask).all() and (masks["lower_body"] == found[1].mask).all()
    assert (res.mask == masks["upper_body"] | masks["lower_body"]).all()
    assert (masks["full_body"] == (labels == 3)).all()    # not chosen: as the cloth model labels it


def test_the_tagged_folder_is_found_beside_the_ccp_folder_or_in_it(tmp_path, monkeypatch):
    from fsutils.data import CCPError
    from fsutils.tags import TAGS_DIR, locate_tagged

    ccp, beside = tmp_path / "ccp", tmp_path / "ccp-tagged"
    for folder in (ccp / "photos", ccp / "annotations" / "pixel-level", beside / "photos", beside / TAGS_DIR):
        folder.mkdir(parents=True)
    (ccp / "label_list.mat").write_bytes(b"")
    monkeypatch.setenv("FSUTILS_CCP_ROOT", str(ccp))
    monkeypatch.delenv("FSUTILS_CCP_TAGGED_ROOT", raising=False)
    assert locate_tagged() == beside
    (ccp / TAGS_DIR).mkdir()                      # the public repository: both in one folder
    assert locate_tagged() == ccp
    assert locate_tagged(beside) == beside
    monkeypatch.setenv("FSUTILS_CCP_ROOT", str(tmp_path / "nowhere"))
    with pytest.raises(CCPError, match="FSUTILS_CCP_TAGGED_ROOT"):
        locate_tagged(tmp_path / "elsewhere")
