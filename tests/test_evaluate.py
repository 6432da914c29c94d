import numpy as np
import pytest

from fsutils import data, evaluate
from fsutils.evaluation import segmentation
from tests.ccp_fixture import person_groundtruth, write_ccp


def test_iou_on_synthetic_predictions_with_a_known_answer():
    target = np.array([[0, 1, 1, 2],
                       [0, 1, 2, 2],
                       [3, 3, 3, 0]])
    pred = np.array([[0, 1, 2, 2],
                     [0, 1, 2, 2],
                     [3, 3, 0, 0]])
    cm = segmentation.confusion_matrix(pred, target)
    assert cm.sum() == 12 and cm[1, 2] == 1 and cm[3, 0] == 1
    iou = segmentation.iou_per_class(cm)
    # class 1: tp 2, union 3; class 2: tp 3, union 4; class 3: tp 2, union 3; class 0: tp 3, union 4
    assert np.allclose(iou, [3 / 4, 2 / 3, 3 / 4, 2 / 3])
    assert segmentation.mean_iou_garments(cm) == pytest.approx((2 / 3 + 3 / 4 + 2 / 3) / 3)
    assert segmentation.pixel_accuracy(cm) == pytest.approx(10 / 12)


def test_absent_class_is_skipped_not_counted_as_zero():
    t = np.array([[0, 1], [1, 2]])
    cm = segmentation.confusion_matrix(t, t)
    assert np.isnan(segmentation.iou_per_class(cm)[3])
    assert segmentation.mean_iou_garments(cm) == 1.0


def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match="resize"):
        segmentation.confusion_matrix(np.zeros((2, 2)), np.zeros((3, 2)))


def test_command_prints_the_contract_last_line(tmp_path, monkeypatch, capsys):
    # photo numbers with gaps: the command must take whatever the folder holds
    items = {"0004": person_groundtruth(40, 20, "shirt", "jeans"),
             "0010": person_groundtruth(40, 20, "blouse", "skirt"),
             "0333": person_groundtruth(40, 20, "dress", None)}
    root = write_ccp(tmp_path / "ccp", items)
    lookup = data.label_lookup(data.read_label_names(root))
    truth = {i: lookup[gt] for i, gt in items.items()}
    by_size = {}

    class Oracle:
        """Stand-in segmenter: the ground truth, except photo 0010's lower body called upper body."""

        def __init__(self, weights, device=None, input_size=None):
            self.weights = weights

        def predict(self, photo):
            return by_size[photo.tobytes()]  # the photos differ in content; look them up by pixels

    for i in items:
        pred = truth[i].copy()
        if i == "0010":
            pred[pred == 2] = 1  # all lower-body pixels of one photo predicted as upper body
        by_size[data.load_photo(root, i).tobytes()] = pred
    import fsutils.segment as segment

    monkeypatch.setattr(segment, "ClothSegmenter", Oracle, raising=False)
    weights = tmp_path / "oracle.pth"  # the command checks that the file exists; the stand-in ignores it
    weights.write_bytes(b"")
    assert evaluate.main(["segmentation", "--ccp-root", str(root), "--weights", str(weights), "--no-progress"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    cm = sum(segmentation.confusion_matrix(by_size[data.load_photo(root, i).tobytes()], truth[i]) for i in items)
    expected = segmentation.mean_iou_garments(cm)
    assert expected < 0.99  # the corruption matters
    assert lines[-1] == f"mean_iou_garments={expected:.4f}"
    assert lines[0] == f"weights={weights} split=all images=3"
    assert any(line.startswith("iou[lower body]=") for line in lines)


def test_label_breakdown_counts_raw_labels_per_predicted_class():
    gt = np.array([[0, 7, 7], [9, 9, 9]], dtype=np.uint8)
    pred = np.array([[0, 1, 3], [2, 2, 0]])
    b = segmentation.label_breakdown(pred, gt)
    assert b.shape == (256, 4) and b.sum() == 6
    assert b[7].tolist() == [0, 1, 0, 1] and b[9].tolist() == [1, 0, 2, 0] and b[0].tolist() == [1, 0, 0, 0]


def test_by_label_names_the_confused_garment(tmp_path, monkeypatch, capsys):
    items = {"0002": person_groundtruth(40, 20, "shirt", "skirt"),
             "0005": person_groundtruth(40, 20, "blouse", "jeans")}
    root = write_ccp(tmp_path / "ccp", items)
    lookup = data.label_lookup(data.read_label_names(root))
    preds = {}
    for i, gt in items.items():
        pred = lookup[gt].copy()
        pred[pred == 2] = 3 if i == "0002" else 2  # the skirt called a dress, the jeans right
        preds[data.load_photo(root, i).tobytes()] = pred

    class Fixed:
        def __init__(self, weights, device=None, input_size=None):
            pass

        def predict(self, photo):
            return preds[photo.tobytes()]

    import fsutils.segment as segment
    monkeypatch.setattr(segment, "ClothSegmenter", Fixed, raising=False)
    r = segmentation.evaluate_segmentation(root, "fixed", progress=False)
    assert r["by_label"]["skirt"]["class"] == "lower body"
    assert r["by_label"]["skirt"]["predicted"].tolist()[:3] == [0, 0, 0]
    assert r["by_label"]["jeans"]["predicted"][2] == r["by_label"]["jeans"]["predicted"].sum() > 0
    cm = sum(segmentation.confusion_matrix(p, lookup[items[i]])
             for i, p in zip(items, preds.values()))
    assert (r["confusion"] == cm).all()  # the 4×4 matrix is the label rows summed by kit class
    top = segmentation.by_label_lines(r["by_label"], top=2)
    assert len(top) == 2 and top[0].startswith("label[null]")  # the largest label first

    weights = tmp_path / "fixed.pth"
    weights.write_bytes(b"")
    assert evaluate.main(["segmentation", "--ccp-root", str(root), "--weights", str(weights),
                          "--no-progress", "--by-label"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    skirt = next(line for line in lines if line.startswith("label[skirt]"))
    assert "class='lower body'" in skirt and "full=100.0%" in skirt and "lower=0.0%" in skirt
    assert lines[-1].startswith("mean_iou_garments=")


def test_blend_photo_size_option_and_its_old_spelling():
    parse = evaluate._parser().parse_args
    new = parse(["blend", "--ccp-root", "ccp", "--photo-size", "256"])
    old = parse(["blend", "--ccp-root", "ccp", "--max-size", "256"])
    assert new.photo_size == old.photo_size == 256
    assert parse(["blend", "--ccp-root", "ccp"]).photo_size == 512
