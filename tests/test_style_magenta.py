"""Magenta arbitrary stylisation in PyTorch (fsutils.style.magenta, fsutils.models.magenta), checked
against the reference interpreter (ai-edge-litert, test-only) running the original TFLite files,
and the registry entries of those files."""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from fsutils import io as fio
from fsutils import weights as W
from fsutils.style import magenta

PAIRS = [("ccp_0001", "starry_night_vangogh"), ("ccp_0100", "the_scream_munch"),
         ("ccp_0500", "great_wave_hokusai")]

#: Published sha256 and size of Magenta's files (the pinned public copies).
PUBLISHED = {
    "tflite/style_predict_quantized_256":
        ("af6ad4b2e7aeba0675f32636082ab915ced5375229a3f8aff7e714c6213f5ed2", 2_828_838),
    "tflite/style_transfer_f16_384":
        ("53b5243ed5aa33e408db7976c8a8e51a90a0f7708fd122a31428cd00fbdf6aa6", 422_086),
    "tflite/style_transfer_quantized_384":
        ("7a1550643cf034a4d813c0aa276976cd15da4141b4f1ec3631db1d0d9c8e2cd1", 284_398),
}


def photo(name: str) -> Image.Image:
    return fio.load_image(fio.sample_path(name))


@pytest.fixture(scope="module")
def files():
    """Paths of the three TFLite files (mirror or cache), or a skip when they are not here."""
    out = {}
    for name in PUBLISHED:
        try:
            out[name] = W.fetch(name, progress=False)
        except W.NoNetworkError as e:
            pytest.skip(f"{name} is not available offline here: {str(e).splitlines()[0]}")
    return out


@pytest.fixture(scope="module")
def interpreter():
    return pytest.importorskip("ai_edge_litert.interpreter",
                               reason="ai-edge-litert (test-only) is not installed").Interpreter


def run(Interpreter, path, *arrays) -> np.ndarray:
    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    details = it.get_input_details()
    for d in details:  # feed by shape: the photo is 4-D with 3 channels, the vector has 100
        x = next(a for a in arrays if a.shape[-1] == d["shape"][-1])
        it.set_tensor(d["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def painting_array(name: str) -> np.ndarray:
    img = photo(name).resize((256, 256), Image.Resampling.BILINEAR)
    return (np.asarray(img, np.float32) / 255.0)[None]


def photo_384(name: str) -> Image.Image:
    return photo(name).resize((384, 384), Image.Resampling.BILINEAR)


# ------------------------------------------------------------------------------- acceptance
@pytest.mark.slow
@pytest.mark.parametrize("content, painting", PAIRS)
def test_matches_the_reference_interpreter(files, interpreter, content, painting):
    """style_vector: cosine ≥ 0.99 with the interpreter's bottleneck (the file computes in int8,
    the port in float32 with the same weights); magenta_transfer on a 384×384 photo with the
    interpreter's bottleneck: mean absolute error ≤ 0.01 against the interpreter's f16 output."""
    ref_vec = run(interpreter, files["tflite/style_predict_quantized_256"],
                  painting_array(painting)).reshape(100)
    vec = magenta.style_vector(photo(painting), device="cpu")
    assert vec.shape == (100,) and vec.dtype == np.float32
    cosine = float(vec @ ref_vec / np.linalg.norm(vec) / np.linalg.norm(ref_vec))
    assert cosine >= 0.99, cosine

    c = photo_384(content)
    ref = run(interpreter, files["tflite/style_transfer_f16_384"],
              (np.asarray(c, np.float32) / 255.0)[None], ref_vec.reshape(1, 1, 1, 100))[0]
    out = magenta.magenta_transfer(c, ref_vec, device="cpu")
    assert out.size == (384, 384)
    mae = float(np.abs(np.asarray(out, np.float32) / 255.0 - ref).mean())
    assert mae <= 0.01, mae
    # a different painting's vector gives a clearly different picture: the match is not trivial
    other = magenta.magenta_transfer(c, np.roll(ref_vec, 7), device="cpu")
    assert float(np.abs(np.asarray(other, np.float32) / 255.0 - ref).mean()) > 0.03


@pytest.mark.slow
def test_int8_transfer_weights_stay_close_to_the_f16_reference(files, interpreter):
    """The int8 transfer file's weights, run in float32, against the f16 file under the
    interpreter (the optional smaller network)."""
    content, painting = PAIRS[0]
    c = photo_384(content)
    vec = magenta.style_vector(photo(painting), device="cpu")
    ref = run(interpreter, files["tflite/style_transfer_f16_384"],
              (np.asarray(c, np.float32) / 255.0)[None], vec.reshape(1, 1, 1, 100))[0]
    out = magenta.magenta_transfer(c, vec, weights="int8", device="cpu")
    mae = float(np.abs(np.asarray(out, np.float32) / 255.0 - ref).mean())
    assert mae <= 0.01, mae


# ------------------------------------------------------------------------------- behaviour
def test_size_and_aspect(files):
    img = photo("ccp_0006")  # portrait, 550 wide
    out = magenta.magenta_transfer(img, photo("starry_night_vangogh"),
                                   size=101, device="cpu")
    w, h = img.size
    assert max(out.size) == 101 and out.size == (round(w * 101 / h), 101)
    same = magenta.magenta_transfer(img.resize((90, 135)), magenta.style_vector(photo("mondrian")),
                                    size=None, device="cpu")
    assert same.size == (90, 135)


def test_strength_interpolates_from_the_photos_own_style(files):
    img = photo("ccp_0250").resize((160, 240))
    v = magenta.style_vector(photo("the_scream_munch"), device="cpu")
    own = magenta.style_vector(img, device="cpu")
    arr = lambda im: np.asarray(im, np.float32)  # noqa: E731
    go = lambda style, **kw: magenta.magenta_transfer(img, style, size=None, device="cpu", **kw)  # noqa: E731
    zero = go(v, style_strength=0.0)
    assert np.abs(arr(zero) - arr(go(own))).max() <= 1
    half = go(v, style_strength=0.5)
    assert np.abs(arr(half) - arr(go(0.5 * v + 0.5 * own))).max() <= 1
    full = go(v)
    assert np.abs(arr(full) - arr(zero)).mean() > 10  # the painting's style is visible at 1
    # the photo at 0 looks like the photo; at 1 less so
    base = arr(img)
    assert np.abs(arr(zero) - base).mean() < np.abs(arr(full) - base).mean()


def test_painting_or_vector_give_the_same_result(files):
    img, painting = photo("ccp_0001").resize((120, 160)), photo("udnie_picabia")
    a = magenta.magenta_transfer(img, painting, size=None, device="cpu")
    b = magenta.magenta_transfer(img, torch.from_numpy(magenta.style_vector(painting)), size=None,
                                 device="cpu")
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_mask_measures_statistics_inside_the_garment(files):
    img = photo("ccp_0001").resize((128, 192))
    v = magenta.style_vector(photo("starry_night_vangogh"), device="cpu")
    arr = lambda im: np.asarray(im, np.int16)  # noqa: E731
    plain = arr(magenta.magenta_transfer(img, v, size=None, device="cpu"))
    ones = arr(magenta.magenta_transfer(img, v, size=None, mask=np.ones((192, 128), bool),
                                        device="cpu"))
    assert np.abs(plain - ones).max() <= 1  # a full mask is the plain transfer
    m = np.zeros((192, 128), bool)
    m[60:150, 30:100] = True
    masked = arr(magenta.magenta_transfer(img, v, size=None, mask=m, device="cpu"))
    assert np.abs(masked - plain)[m].mean() > 3
    # the garment's look no longer depends on the background: repaint the background black
    dark = np.asarray(img).copy()
    dark[~m] = 0
    dark_masked = arr(magenta.magenta_transfer(dark, v, size=None, mask=m, device="cpu"))
    dark_plain = arr(magenta.magenta_transfer(dark, v, size=None, device="cpu"))
    inner = np.zeros_like(m)
    inner[80:130, 50:80] = True  # away from the edge, where convolutions see only the garment
    assert (np.abs(dark_masked - masked)[inner].mean()
            < 0.5 * np.abs(dark_plain - plain)[inner].mean())


@pytest.mark.parametrize("kwargs, message", [
    ({"style_strength": 1.5}, "style_strength"), ({"style_strength": -0.1}, "style_strength"),
    ({"size": 0}, "size"),
    ({"size": 3.5}, "size"), ({"weights": "int4"}, "weights")])
def test_bad_arguments_are_refused_before_any_model_loads(monkeypatch, kwargs, message):
    def no_load(*a, **k):
        raise AssertionError("a model was loaded")
    monkeypatch.setattr(magenta, "_load", no_load)
    with pytest.raises(ValueError, match=message):
        magenta.magenta_transfer(np.zeros((8, 8, 3), np.uint8), np.zeros(100, np.float32), **kwargs)


def test_bad_style_vector_and_empty_mask(files):
    with pytest.raises(ValueError, match="100 numbers"):
        magenta.magenta_transfer(np.zeros((32, 32, 3), np.uint8), np.zeros(99, np.float32))
    with pytest.raises(ValueError, match="mask is empty"):
        magenta.magenta_transfer(np.zeros((32, 32, 3), np.uint8), np.zeros(100, np.float32),
                                 mask=np.zeros((32, 32), bool), size=None, device="cpu")


def test_models_are_loaded_once_per_device(files):
    assert magenta.style_predictor("cpu") is magenta.style_predictor("cpu")
    assert magenta.transfer_network("cpu") is magenta.transfer_network(torch.device("cpu"))
    assert magenta.transfer_network("cpu") is not magenta.transfer_network("cpu", weights="int8")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(files):
    img, painting = photo("ccp_0100"), photo("the_scream_munch")
    v_cpu, v_gpu = magenta.style_vector(painting, device="cpu"), magenta.style_vector(painting,
                                                                                       device="cuda")
    assert np.abs(v_cpu - v_gpu).max() < 1e-2
    a = np.asarray(magenta.magenta_transfer(img, v_cpu, device="cpu"), np.float32)
    b = np.asarray(magenta.magenta_transfer(img, v_cpu, device="cuda"), np.float32)
    assert np.abs(a - b).mean() / 255 < 2e-3


# ------------------------------------------------------------------------- registry entries
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_registry_entry_carries_the_published_hash_and_sources(files, name):
    w = W.get(name)
    sha, size = PUBLISHED[name]
    assert (w.sha256, w.size, w.format, w.license) == (sha, size, "tflite", "Apache-2.0")
    # the default path's two files ship with the kit, byte-identical; the public copies stay
    bundled = [s for s in w.sources if isinstance(s, W.Bundled)]
    assert len(bundled) == (name != magenta.TRANSFER_WEIGHTS["int8"])
    assert all(b.file.read_bytes() == files[name].read_bytes() for b in bundled)
    urls = [s.url for s in w.sources if not isinstance(s, W.Bundled)]
    assert urls[0].startswith("https://raw.githubusercontent.com/asus4/tf-lite-unity-sample/"
                              "29ab4cd24453ab2153acc992d5164db1dd784821/")
    assert urls[1] == ("https://storage.googleapis.com/download.tensorflow.org/models/tflite/"
                       f"arbitrary_style_transfer/{name.split('/')[1]}.tflite")
    assert "Ghiasi" in w.credit
    path = files[name]
    assert path.stat().st_size == size
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha


def test_download_checks_the_hash(files, isolated_weights, http_server, monkeypatch):
    """The transfer file through fetch's download path (from 127.0.0.1): the real bytes are
    cached; one changed byte is refused by the published hash and nothing stays in the cache."""
    name = "tflite/style_transfer_f16_384"
    data = files[name].read_bytes()
    good = http_server.serve("/good.tflite", data)
    entry = dataclasses.replace(W.get(name), sources=(W.Url(good),))
    monkeypatch.setitem(W.REGISTRY, name, entry)
    path = W.fetch(name, progress=False)
    assert path.read_bytes() == data and str(path).startswith(str(isolated_weights))

    path.unlink()
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xFF
    url = http_server.serve("/bad.tflite", bytes(bad))
    monkeypatch.setitem(W.REGISTRY, name, dataclasses.replace(entry, sources=(W.Url(url),)))
    with pytest.raises(W.HashMismatchError):
        W.fetch(name, progress=False)
    assert not any(p.suffix == ".tflite" for p in isolated_weights.rglob("*"))
