import numpy as np
import pytest
import torch

from fsutils import data
from tests.ccp_fixture import CCP_LABELS, ccp_index, person_groundtruth, write_ccp


@pytest.fixture()
def ccp(tmp_path):
    items = {
        "0003": person_groundtruth(60, 40, "shirt", "jeans"),
        "0007": person_groundtruth(60, 40, "dress", None),
        "0042": person_groundtruth(60, 40, "t-shirt", "skirt"),
    }
    return write_ccp(tmp_path / "ccp", items, extra_photos=("0050",)), items


def test_label_names_read_from_mat(ccp):
    root, _ = ccp
    assert data.read_label_names(root) == CCP_LABELS


def test_mapping_follows_the_kit_convention():
    table = data.label_lookup(CCP_LABELS)
    for cls, names in data.GARMENT_GROUPS.items():
        for n in names:
            assert table[ccp_index(n)] == cls, n
    for n in ("null", "skin", "hair", "shoes", "bag", "tights", "socks", "belt", "scarf", "hat"):
        assert table[ccp_index(n)] == 0, n
    assert set(np.unique(table)) == {0, 1, 2, 3}


def test_labels_are_mapped_to_four_classes(ccp):
    root, items = ccp
    lookup = data.label_lookup(data.read_label_names(root))
    lab = data.load_labels(root, "0003", lookup)
    assert lab.dtype == np.uint8 and lab.shape == (60, 40)
    assert lab[20, 20] == 1 and lab[40, 20] == 2 and lab[57, 20] == 0 and lab[3, 20] == 0
    dress = data.load_labels(root, "0007", lookup)
    assert set(np.unique(dress)) == {0, 3}


def test_list_ids_needs_photo_and_annotation(ccp):
    root, items = ccp
    assert data.list_ids(root) == sorted(items)


def test_not_a_ccp_folder_is_a_clear_error(tmp_path):
    with pytest.raises(data.CCPError, match="photos/"):
        data.list_ids(tmp_path)
    with pytest.raises(data.CCPError, match="label_list.mat"):
        data.read_label_names(tmp_path)


def test_split_is_deterministic_disjoint_and_subset_stable():
    ids = [f"{i:04d}" for i in range(1, 901)]
    train, val = data.split_ids(ids)
    test = data.ids_in_split(ids, "test")
    assert data.split_ids(ids) == (train, val)
    assert not set(train) & set(val) and not set(test) & (set(train) | set(val))
    assert len(train) + len(val) + len(test) == 900
    assert len(val) >= 75 and len(test) >= 100
    assert data.ids_in_split(ids, "all") == ids
    with pytest.raises(ValueError, match="unknown split"):
        data.ids_in_split(ids, "validation")
    # a folder holding only some photos puts each photo on the same side as the full dataset
    sub = ids[::7]
    sub_train, sub_val = data.split_ids(sub)
    assert set(sub_val) == set(val) & set(sub) and set(sub_train) == set(train) & set(sub)


def test_dataset_tensors_and_augmentation(ccp):
    root, items = ccp
    plain = data.CCPDataset(root, list(items), size=32)
    x, y = plain[0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and y.shape == (32, 32) and y.dtype == torch.long
    assert -1.0 <= x.min() and x.max() <= 1.0
    assert set(torch.unique(y).tolist()) == {0, 1, 2}
    aug = data.CCPDataset(root, list(items), size=32, augment=data.Augment(), seed=1)
    seen = {tuple(aug[0][1].flatten().tolist()) for _ in range(6)}
    assert len(seen) > 1, "augmentation should change the crop"
    for k in range(len(aug)):
        xa, ya = aug[k]
        assert xa.shape == (3, 32, 32) and set(torch.unique(ya).tolist()) <= {0, 1, 2, 3}


def test_named_augmentations():
    assert data.Augment.named("default") == data.Augment()
    strong = data.Augment.named("strong")
    assert strong.min_scale < data.Augment().min_scale and strong.max_aspect > data.Augment().max_aspect
    context = data.Augment.named("context")  # keeps most of the figure in every crop
    assert context.min_scale > data.Augment().min_scale and context.max_aspect < data.Augment().max_aspect
    with pytest.raises(ValueError, match="strong"):
        data.Augment.named("heavy")
