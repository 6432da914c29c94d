"""Garment instances: derivation from CCP annotations, AP50, the detector's training step, and the
exported model."""
import math

from pathlib import Path

import numpy as np
import pytest
import torch

from fsutils import data
from fsutils.instances import Instance, Instances
from fsutils.instances.ap import AGNOSTIC, agnostic, ap50
from tests.ccp_fixture import CCP_LABELS, ccp_index, person_groundtruth, write_ccp


def _annotation():
    """100×60: a blazer in two separate halves over a blouse, jeans, two shoes (one with a
    2-pixel sliver cut off by a sock), a bag, and a 1-pixel "coat" speck."""
    gt = np.zeros((100, 60), np.uint8)
    gt[20:50, 10:20] = ccp_index("blazer")
    gt[20:50, 40:50] = ccp_index("blazer")
    gt[20:50, 20:40] = ccp_index("blouse")
    gt[50:85, 15:45] = ccp_index("jeans")
    gt[90:96, 12:22] = ccp_index("boots")
    gt[90:96, 35:45] = ccp_index("boots")
    gt[96:98, 12:22] = ccp_index("socks")
    gt[98, 20:22] = ccp_index("boots")         # sliver below the sock: 2 pixels
    gt[40:55, 52:59] = ccp_index("purse")
    gt[5, 5] = ccp_index("coat")
    return gt


def test_instances_follow_the_rule_on_a_hand_made_annotation():
    found = data.derive_instances(_annotation(), CCP_LABELS, min_fraction=3 / 6000)
    got = sorted((i.cls, i.ccp_label, int(i.mask.sum()), i.box) for i in found)
    assert got == sorted([
        ("outer", "blazer", 600, (10, 20, 50, 50)),   # both halves: one instance per CCP label
        ("top", "blouse", 600, (20, 20, 40, 50)),
        ("pants", "jeans", 1050, (15, 50, 45, 85)),
        ("shoe", "boots", 60, (12, 90, 22, 96)),      # one instance per connected component
        ("shoe", "boots", 60, (35, 90, 45, 96)),
        ("bag", "purse", 105, (52, 40, 59, 55)),
    ])                                                # the 2-px sliver and the 1-px coat: dropped
    assert {i.cls: i.label for i in found} == {"top": 1, "outer": 2, "pants": 4, "shoe": 6, "bag": 7}
    # without a size limit the pieces come back
    everything = data.derive_instances(_annotation(), CCP_LABELS, min_fraction=0)
    assert sorted(i.cls for i in everything).count("shoe") == 3 and len(everything) == 8


def test_instance_classes_cover_distinct_ccp_labels():
    names = [n for group in data.INSTANCE_GROUPS.values() for n in group]
    assert len(names) == len(set(names)) and set(names) <= set(CCP_LABELS)
    assert data.INSTANCE_CLASSES == ("top", "outer", "dress", "pants", "skirt", "shoe", "bag")


def test_targets_of_a_photo_without_garments_are_empty():
    from fsutils.instances.dataset import instance_map, targets_from_map

    imap, labels = instance_map(data.derive_instances(_annotation(), CCP_LABELS), (100, 60))
    assert sorted(np.unique(imap)) == list(range(7)) and list(labels) == [2, 1, 6, 6, 4, 7]
    cropped = imap[:50]  # the jeans and the shoes are cut away; the blazer, blouse and purse stay
    t = targets_from_map(cropped, labels)
    assert t["labels"].tolist() == [2, 1, 7] and t["masks"].shape == (3, 50, 60)
    assert t["boxes"][0].tolist() == [10, 20, 50, 50] and t["boxes"][2].tolist() == [52, 40, 59, 50]
    empty = targets_from_map(np.zeros((8, 8), np.uint8), np.zeros(0, np.int64))
    assert empty["boxes"].shape == (0, 4) and empty["masks"].shape == (0, 8, 8)


def _box(m):
    ys, xs = np.nonzero(m)
    return (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def _square(y, x, s=10, shape=(40, 40)):
    m = np.zeros(shape, bool)
    m[y:y + s, x:x + s] = True
    return m


def test_ap50_matches_a_case_worked_by_hand():
    # Two true tops. Detections by score: 0.9 hits the first (IoU 1), 0.8 hits nothing, 0.7 hits
    # the second with IoU 70/130 = 0.54 (> 0.5). Precision/recall: (1, 0.5), (0.5, 0.5), (2/3, 1).
    # COCO's interpolated precision is 1 at recall 0..0.5 (51 of the 101 points) and 2/3 at
    # 0.51..1 (50 points): AP50 = (51 + 50 · 2/3) / 101.
    a, b = _square(0, 0), _square(20, 20)
    b_shifted = _square(23, 20)
    truth = [[data.GarmentInstance("top", "top", a, _box(a)), data.GarmentInstance("top", "top", b, _box(b))]]
    dets = [[Instance("top", 0.9, _box(a), a), Instance("top", 0.8, _box(_square(0, 25)), _square(0, 25)),
             Instance("top", 0.7, _box(b_shifted), b_shifted)]]
    expected = (51 + 50 * 2 / 3) / 101
    got = ap50(truth, dets, ("top", "dress"), "segm")
    assert got["top"] == pytest.approx(expected, abs=1e-9) and math.isnan(got["dress"])
    assert ap50(truth, dets, ("top",), "bbox")["top"] == pytest.approx(expected, abs=1e-9)
    # a detection of the wrong class does not count; class-agnostic scoring counts it
    wrong = [[Instance("dress", 0.95, _box(a), a)]]
    assert ap50(truth, wrong, ("top", "dress"), "segm")["top"] == 0.0
    assert ap50([agnostic(truth[0])], [agnostic(wrong[0])], (AGNOSTIC,), "segm")[AGNOSTIC] == \
        pytest.approx((51 + 50 * 0) / 101, abs=1e-9)


def test_precision_recall_curve_of_the_case_worked_by_hand():
    from fsutils.instances.ap import precision_recall

    a, b, b_shifted, miss = _square(0, 0), _square(20, 20), _square(23, 20), _square(0, 25)
    truth = [[data.GarmentInstance("top", "top", a, _box(a)), data.GarmentInstance("top", "top", b, _box(b))]]
    dets = [[Instance("top", 0.7, _box(b_shifted), b_shifted), Instance("top", 0.9, _box(a), a),
             Instance("top", 0.8, _box(miss), miss)]]
    pr = precision_recall(truth, dets, "top")
    # after each detection, best score first: (recall, precision) = (0.5, 1), (0.5, 0.5), (1, 2/3)
    assert pr.recall == pytest.approx([0.5, 0.5, 1.0]) and pr.precision == pytest.approx([1, 0.5, 2 / 3])
    assert pr.truths == 2 and len(pr.points) == len(pr.interpolated) == 101
    assert pr.interpolated[:51] == pytest.approx(1.0) and pr.interpolated[51:] == pytest.approx(2 / 3)
    assert pr.ap == pytest.approx(ap50(truth, dets, ("top",))["top"], abs=1e-12)
    # no detection at all: precision 0 everywhere; no true instance: refused
    assert precision_recall(truth, [[]], "top").ap == 0.0
    with pytest.raises(ValueError, match="no ground-truth instance of 'dress'"):
        precision_recall(truth, dets, "dress")


def test_instances_select_masks_and_union():
    a, b = _square(0, 0), _square(20, 20)
    found = Instances([Instance("outer", 0.9, _box(a), a), Instance("shoe", 0.8, _box(b), b)])
    assert found.masks("shoe").shape == (1, 40, 40) and found.masks().shape == (2, 40, 40)
    assert found.union(["outer", "shoe"]).sum() == 200 and found.masks("bag").shape == (0, 40, 40)
    with pytest.raises(ValueError, match="coat"):
        found.select("coat")


def test_a_box_around_both_shoes_beside_one_for_each_is_dropped():
    from fsutils.instances.segmenter import drop_pairs

    left, right = _square(10, 2, 8), _square(10, 14, 8)
    pair = np.zeros_like(left)
    pair[10:18, 2:22] = True                                   # both feet and the gap between
    one = Instance("shoe", 0.9, _box(left), left)
    found = drop_pairs(Instances([one, Instance("shoe", 0.8, _box(right), right),
                                  Instance("shoe", 0.7, _box(pair), pair),
                                  Instance("bag", 0.6, _box(pair), pair)]))
    assert [(i.cls, i.score) for i in found] == [("shoe", 0.9), ("shoe", 0.8), ("bag", 0.6)]
    alone = drop_pairs(Instances([one, Instance("shoe", 0.7, _box(pair), pair)]))
    assert len(alone) == 2                                     # one shoe inside: not a repeat
    assert found.union("shoe").sum() == (left | right).sum()


def test_the_shipped_detector_counts_two_shoes_on_two_feet():
    """CCP photo 0875 (notebook 08's coat over a dress): a box for each shoe and one around both
    came back before the pair rule; the panel said "shoe ×3"."""
    import os

    from fsutils.instances import InstanceSegmenter

    root = Path(os.environ.get("FSUTILS_CCP_ROOT", "../shared/data/ccp"))
    photo = root / "photos" / "0875.jpg"
    if not photo.is_file():
        pytest.skip("needs the Clothing Co-Parsing photos (../shared/data/ccp)")
    found = InstanceSegmenter(device="cpu").predict(photo)
    assert len(found.select("shoe")) == 2 and len(found.select("outer")) == 1


def _ccp(tmp_path, n=12, h=96, w=64):
    items = {}
    for i in range(1, n + 1):
        gt = person_groundtruth(h, w, "coat" if i % 2 else "dress", "skirt" if i % 2 else None)
        gt[h // 2: 2 * h // 3, 2:w // 5] = ccp_index("bag")
        items[f"{i:04d}"] = gt
    return write_ccp(tmp_path / "ccp", items)


def _task(root, out, **kw):
    from fsutils.training.instances import InstancesConfig, InstancesTask

    settings = {"size": 128, "batch_size": 2, "warmup_steps": 1, "max_val_images": 2,
                "device": "cpu", "progress": False, "epochs": 1, **kw}
    return InstancesTask(InstancesConfig(ccp_root=str(root), out=str(out), **settings))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A detector trained for 3 steps on one batch of a hand-made CCP folder: (task, loss
    before, loss after); its weights in ``task.out / "last.pt"``."""
    tmp = tmp_path_factory.mktemp("instances")
    task = _task(_ccp(tmp), tmp / "run")
    torch.manual_seed(0)  # as the engine does: the new heads' start weights are drawn
    task.build(torch.device("cpu"), resuming=False)
    batch = task.batch(0)

    def loss():  # the same proposal and RoI sampling each time
        torch.manual_seed(0)
        with torch.no_grad():
            return sum(task.net(*batch).values()).item()

    before = loss()
    rows = [task.step(batch) for _ in range(3)]
    task.out = tmp / "run"
    task.out.mkdir()
    torch.save({"model": task.net.state_dict()}, task.out / "last.pt")
    task.rows = rows
    return task, before, loss()


@pytest.mark.slow
def test_one_training_step_lowers_the_detector_loss(tiny_run):
    run, before, after = tiny_run
    assert after < 0.9 * before
    assert len(run.rows) == 3 and run.rows[-1]["loss"] > 0


def _iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())



@pytest.mark.slow
def test_stages_show_the_pyramid_and_the_proposals_in_photo_pixels(tiny_run):
    from fsutils.instances import InstanceSegmenter
    from fsutils.models.maskrcnn import INPUT_SIZE

    run, _, _ = tiny_run
    photo = run.val_set.photo(0)                       # 96 × 64, read at a short side of 352
    st = InstanceSegmenter(run.out / "last.pt", "cpu").stages(photo, proposals=5)
    assert st.input_size == (INPUT_SIZE * 3 // 2, INPUT_SIZE) and st.strides == {"0": 8.0, "1": 16.0, "pool": 32.0}
    assert all(c == 128 for c, _, _ in st.features.values())
    assert st.proposals.shape == (5, 4) and st.n_proposals >= 5
    h, w = photo.shape[:2]
    assert (st.proposals >= -1).all() and (st.proposals[:, [0, 2]] <= w + 1).all() \
        and (st.proposals[:, [1, 3]] <= h + 1).all()
    assert st.box_roi == (7, 7) and st.mask_roi == (14, 14) and st.mask_size == 28


@pytest.mark.slow
def test_export_and_reload_give_the_same_instances(tiny_run, tmp_path):
    from fsutils.instances import InstanceSegmenter
    from fsutils.training import export_half

    run, _, _ = tiny_run
    exported = export_half(run.out / "last.pt", tmp_path / "garments.pth")
    sd = torch.load(exported, weights_only=True)
    assert all(v.dtype == torch.float16 for v in sd.values() if v.is_floating_point())
    photo = run.val_set.photo(0)
    full = InstanceSegmenter(run.out / "last.pt", "cpu", score_threshold=0).predict(photo)
    half = InstanceSegmenter(exported, "cpu", score_threshold=0).predict(photo)
    assert full and full[0].mask.shape == photo.shape[:2]
    for inst in full[:5]:  # each of the best five has its twin: same class, score, box and mask
        twin = max((h for h in half if h.cls == inst.cls), key=lambda h: _iou(h.mask, inst.mask))
        assert abs(twin.score - inst.score) < 0.02
        assert np.allclose(twin.box, inst.box, atol=1.5)
        # masks: a few border pixels may flip (probabilities at the 0.5 threshold in fp16)
        assert (twin.mask ^ inst.mask).sum() <= max(2, 0.05 * (twin.mask | inst.mask).sum())


@pytest.mark.slow
def test_evaluate_instances_prints_the_table_and_the_summary_line(tiny_run, capsys):
    from fsutils import evaluate

    run, _, _ = tiny_run
    assert evaluate.main(["instances", "--ccp-root", run.cfg.ccp_root, "--split", "all",
                          "--weights", str(run.out / "last.pt"), "--max-images", "3",
                          "--no-progress", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("segm_ap50_garments=") and lines[-1].count("=") == 3
    values = [float(part.split("=")[1]) for part in lines[-1].split()]
    assert all(0 <= v <= 1 for v in values)
    assert any(line.startswith("| shoe |") for line in lines)
    assert any("(baseline)" in line for line in lines)


def test_evaluate_instances_refuses_a_missing_folder(tmp_path, capsys):
    from fsutils import evaluate

    with pytest.raises(SystemExit) as e:
        evaluate.main(["instances", "--ccp-root", str(tmp_path / "nowhere")])
    assert e.value.code == 2 and "is not a CCP folder: it does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_detector_training_resumes_from_its_checkpoint(tmp_path):
    from fsutils.training import fit
    from fsutils.weights import read_checkpoint

    root, out = _ccp(tmp_path, n=8), tmp_path / "run"
    first = fit(_task(root, out, max_steps=1, max_train_images=4, val_every_steps=2, epochs=2))
    assert first["steps"] == 1 and (out / "last.pt").is_file()
    second = fit(_task(root, out, max_steps=2, max_train_images=4, val_every_steps=2, epochs=2))
    history = read_checkpoint(out / "last.pt")["state"]["history"]
    assert second["steps"] == 3 and [r["step"] for r in history if "loss" in r] == [1, 2, 3]
    # validated when a call stops (steps 1 and 3) and every val_every_steps (step 2)
    assert [r["step"] for r in history if "val" in r] == [1, 2, 3] and (out / "best.pt").is_file()


def test_duplicates_across_classes_are_suppressed_for_class_agnostic_scoring():
    from fsutils.instances.ap import suppress_duplicates

    a, b = _square(0, 0), _square(20, 20)
    near_a = _square(1, 0)  # IoU 90/110 with a
    dets = [Instance("outer", 0.6, _box(near_a), near_a), Instance("top", 0.9, _box(a), a),
            Instance("dress", 0.5, _box(b), b)]
    kept = suppress_duplicates(dets)
    assert [(d.cls, d.score) for d in kept] == [("top", 0.9), ("dress", 0.5)]
    assert len(suppress_duplicates(dets, iou=0.95)) == 3


def test_shipped_detector_matches_its_registry_entry():
    from tests.test_cloth_model import bundled_half_precision_file

    assert bundled_half_precision_file("ccp_maskrcnn").stat().st_size < 16_000_000


@pytest.mark.slow
def test_shipped_detector_loads_offline_and_finds_the_garments_of_a_sample(tmp_path, monkeypatch):
    """A regression guard on a bundled sample photo (a training photo: top, pants, shoes)."""
    from PIL import Image

    from fsutils.instances import InstanceSegmenter
    from fsutils.io import sample_path

    monkeypatch.delenv("FSUTILS_WEIGHTS_MIRROR", raising=False)
    monkeypatch.setenv("FSUTILS_WEIGHTS_DIR", str(tmp_path / "cache"))
    photo = sample_path("ccp_0500.jpg")
    found = InstanceSegmenter(device="cpu").predict(photo)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
    assert {"top", "pants", "shoe"} <= {i.cls for i in found}
    lower = np.asarray(Image.open(photo.parent.parent / "groundtruth" / "ccp_0500.png")) == 2
    (pants,) = found.select("pants")
    assert pants.mask.shape == lower.shape and _iou(pants.mask, lower) > 0.75
    assert found.union(["top", "pants"]).sum() > pants.mask.sum()


def test_semantic_split_of_a_coat_over_a_dress():
    coat, dress = np.zeros((10, 10), bool), np.zeros((10, 10), bool)
    coat[:, :5], dress[:, 5:] = True, True
    labels = np.zeros((10, 10), np.uint8)
    labels[:3, :5], labels[3:, :5], labels[:, 5:] = 1, 3, 3     # the coat: 30 % upper, 70 % full
    truths = [data.GarmentInstance("outer", "coat", coat, _box(coat)),
              data.GarmentInstance("dress", "dress", dress, _box(dress))]
    from fsutils.evaluation.instances import semantic_split

    split = semantic_split(labels, truths)
    assert split["coat"] == pytest.approx({"background": 0, "upper body": 0.3, "lower body": 0,
                                           "full body": 0.7})
    assert split["dress"]["full body"] == 1.0
