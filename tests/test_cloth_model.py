"""The shipped cloth models (`ccp_deeplab`, the default, and `ccp_u2netp`): registered hash, strict
loading, offline use, quality."""
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from fsutils import data, weights
from fsutils.evaluation import segmentation
from fsutils.models import U2NETP

SHARED_CCP = Path(__file__).resolve().parents[2] / "shared" / "data" / "ccp"


def bundled_half_precision_file(name: str) -> Path:
    """The bundled file of registry entry ``name``, checked: its size and SHA-256 are the entry's,
    every float tensor is fp16."""
    entry = weights.REGISTRY[name]
    (src,) = entry.sources
    path = src.file
    assert path.is_file() and path.stat().st_size == entry.size
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.sha256
    sd = torch.load(path, map_location="cpu", weights_only=True)
    assert all(v.dtype == torch.float16 for v in sd.values() if v.is_floating_point())
    return path


def validation_confusion(seg, n: int = 12) -> np.ndarray:
    """The 4×4 confusion matrix of ``seg`` on the first ``n`` validation photos (full resolution)."""
    _, val = data.split_ids(data.list_ids(SHARED_CCP))
    lookup = data.label_lookup(data.read_label_names(SHARED_CCP))
    return sum(segmentation.confusion_matrix(seg.predict(data.load_photo(SHARED_CCP, i)),
                                         data.load_labels(SHARED_CCP, i, lookup)) for i in val[:n])


def test_shipped_file_matches_its_registry_entry():
    bundled_half_precision_file("ccp_u2netp")


def test_shipped_model_loads_strictly_and_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("FSUTILS_WEIGHTS_MIRROR", raising=False)
    monkeypatch.setenv("FSUTILS_WEIGHTS_DIR", str(tmp_path / "cache"))
    model = weights.load_state_dict(U2NETP(3, 4), "ccp_u2netp")
    x = torch.zeros(1, 3, 64, 64)
    with torch.no_grad():
        out = model.eval()(x)
    assert len(out) == 7 and out[0].shape == (1, 4, 64, 64)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


@pytest.mark.slow  # the shipped model on 12 validation photos: ~9 s here
@pytest.mark.skipif(not SHARED_CCP.is_dir(), reason="needs ../shared/data/ccp")
def test_shipped_model_segments_validation_photos():
    """A regression guard on 12 validation photos (the full figure is in docs/results.md)."""
    from fsutils.segment import ClothSegmenter

    cm = validation_confusion(ClothSegmenter("ccp_u2netp", device="cpu"))
    assert segmentation.pixel_accuracy(cm) > 0.85
    assert segmentation.mean_iou_garments(cm) > 0.42  # 0.499 on these 12; 0.526 on all 189 validation photos
    assert np.isfinite(segmentation.iou_per_class(cm)[1:]).all()


# ----------------------------------------------------------------- the default: ccp_deeplab
def test_default_model_file_matches_its_registry_entry():
    from fsutils.segment import DEFAULT_CLOTH_WEIGHTS

    assert DEFAULT_CLOTH_WEIGHTS == "ccp_deeplab"
    assert bundled_half_precision_file("ccp_deeplab").stat().st_size < 6_000_000


def test_default_model_loads_strictly_and_offline(tmp_path, monkeypatch):
    from fsutils.models.mobilenet import DeepLabV3

    monkeypatch.delenv("FSUTILS_WEIGHTS_MIRROR", raising=False)
    monkeypatch.setenv("FSUTILS_WEIGHTS_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FSUTILS_OFFLINE", "1")
    model = weights.load_model("ccp_deeplab", device="cpu")
    assert isinstance(model, DeepLabV3) and model.num_classes == 4
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 97, 97))
    assert out.shape == (1, 4, 97, 97)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


@pytest.mark.slow  # the default model on 12 validation photos: ~14 s here
@pytest.mark.skipif(not SHARED_CCP.is_dir(), reason="needs ../shared/data/ccp")
def test_default_model_segments_validation_photos():
    """A regression guard on 12 validation photos (validation and test figures are in docs/results.md)."""
    from fsutils.segment import ClothSegmenter

    cm = validation_confusion(ClothSegmenter(device="cpu"))
    assert segmentation.pixel_accuracy(cm) > 0.90
    assert segmentation.mean_iou_garments(cm) > 0.48  # 0.538 on these 12; 0.562 on all 81 validation photos
    assert np.isfinite(segmentation.iou_per_class(cm)[1:]).all()
