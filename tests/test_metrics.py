"""Similarity scores: the offline MobileNetV2 backend (checked against the reference TFLite
interpreter) and the CLIP backend's error when it cannot get its weights."""
from __future__ import annotations

import builtins

import numpy as np
import pytest
import torch
from PIL import Image

from fsutils import io, metrics, tflite, weights
from fsutils.models.mobilenet import classifier_from_tflite


@pytest.fixture(scope="module")
def photos():
    return [io.load_image(p) for p in io.sample_photos()[:3]]


def shuffled(img: Image.Image, seed: int = 0) -> np.ndarray:
    """The same pixels in random places: same colours, no picture."""
    a = np.asarray(img)
    flat = a.reshape(-1, 3)
    return flat[np.random.default_rng(seed).permutation(len(flat))].reshape(a.shape)


def test_identical_images_score_100_and_scores_are_symmetric(photos):
    a, b = photos[0], photos[1]
    assert metrics.image_similarity(a, a) == pytest.approx(100.0, abs=1e-6)
    assert metrics.image_similarity(np.asarray(a), a.copy()) == pytest.approx(100.0, abs=1e-6)
    ab, ba = metrics.image_similarity(a, b), metrics.image_similarity(b, a)
    assert ab == pytest.approx(ba, abs=1e-9) and ab < 99


def test_a_shuffled_photo_scores_lower_than_another_photo(photos):
    a, b = photos[0], photos[1]
    mixed = metrics.image_similarity(a, shuffled(a))
    assert mixed < 60 and mixed < metrics.image_similarity(a, b)


def test_similarity_matrix_agrees_with_pairs(photos):
    table = metrics.similarity_matrix({"a": photos[0]}, {"b": photos[1], "c": photos[2]})
    assert table["a"]["c"] == pytest.approx(metrics.image_similarity(photos[0], photos[2]), abs=1e-6)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="mobilenet_v2, clip"):
        metrics.image_similarity(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)), backend="vgg")


def test_clip_backend_without_downloadable_weights_says_what_to_do(monkeypatch, tmp_path, photos):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # what an offline machine sees
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    pytest.importorskip("open_clip")
    # huggingface_hub reads these at its first import, which may have come before this test:
    # without this the hub is asked over the network, retried with back-off (~45 s) here.
    hub = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    metrics._embedder.cache_clear()
    with pytest.raises(metrics.SimilarityBackendError,
                       match=r"could not get the CLIP weights.*backend='mobilenet_v2'"):
        metrics.image_similarity(photos[0], photos[1], backend="clip", device="cpu")


def test_clip_backend_without_open_clip_says_how_to_install(monkeypatch, photos):
    real_import = builtins.__import__

    def no_open_clip(name, *args, **kw):
        if name == "open_clip":
            raise ImportError("No module named 'open_clip'")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_open_clip)
    metrics._embedder.cache_clear()
    with pytest.raises(metrics.SimilarityBackendError, match="pip install open_clip_torch"):
        metrics.image_similarity(photos[0], photos[1], backend="clip", device="cpu")


def test_pytorch_mobilenet_matches_the_reference_interpreter(photos):
    """Top-1 class and pooled features against ai-edge-litert running the original uint8 file."""
    interpreter_mod = pytest.importorskip("ai_edge_litert.interpreter")
    path = weights.fetch(metrics.MOBILENET_WEIGHTS, progress=False)
    graph = tflite.read(path)
    model = classifier_from_tflite(graph)
    ref = interpreter_mod.Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
    ref.allocate_tensors()
    pooled = graph.ops("AVERAGE_POOL_2D")[0].outputs[0]
    details = {d["index"]: d for d in ref.get_tensor_details()}
    for img in photos:
        x8 = np.asarray(img.resize((224, 224), Image.Resampling.BILINEAR), np.uint8)
        ref.set_tensor(ref.get_input_details()[0]["index"], x8[None])
        ref.invoke()
        probs = ref.get_tensor(ref.get_output_details()[0]["index"])[0]
        scale, zero = details[pooled]["quantization"]
        ref_feat = (ref.get_tensor(pooled).reshape(-1).astype(np.float64) - zero) * scale
        x = torch.from_numpy((x8.astype(np.float32) - 128) / 128).permute(2, 0, 1)[None]
        with torch.no_grad():
            feat = model.features(x)[0].double().numpy()
            logits = model(x)[0]
        assert int(logits.argmax()) == int(probs.argmax())
        assert np.corrcoef(feat, ref_feat)[0, 1] > 0.98
        assert np.abs(feat - ref_feat).mean() < 0.1 * np.abs(ref_feat).mean()
