"""fsutils.saliency: the official U-2-Net preprocessing, and regression against official outputs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from fsutils.models import U2NETP
from fsutils.saliency import SaliencyModel, preprocess, skimage_resize_matrix

REFERENCE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "reference" / "u2netp"
PAIRS = sorted(p for p in (REFERENCE / "images").glob("*")) if REFERENCE.is_dir() else []


def _scipy_resize(x: np.ndarray, n_out: int) -> np.ndarray:
    """What scikit-image's resize(mode='constant', order=1, anti_aliasing=True) does along axis 0,
    written with scipy.ndimage directly."""
    sigma = max(0.0, (x.shape[0] / n_out - 1) / 2)
    if sigma > 0:
        x = ndimage.gaussian_filter1d(x, sigma, axis=0, mode="constant", cval=0.0, truncate=4.0)
    return ndimage.zoom(x, (n_out / x.shape[0],) + (1,) * (x.ndim - 1), order=1,
                        mode="grid-constant", cval=0.0, grid_mode=True)


@pytest.mark.parametrize("n_in,n_out", [(657, 320), (1280, 320), (267, 320), (320, 320),
                                        (2000, 7), (3, 320), (331, 17)])
def test_resize_matrix_is_scikit_image_resize(n_in, n_out):
    x = np.random.default_rng(n_in).random((n_in, 5))
    np.testing.assert_allclose(skimage_resize_matrix(n_in, n_out) @ x, _scipy_resize(x, n_out),
                               rtol=0, atol=1e-12)


def test_preprocess_divides_by_the_maximum_and_normalises():
    img = np.zeros((40, 60, 3), np.uint8)
    img[10:30, 20:40] = (100, 50, 25)  # maximum 100 → becomes 1.0 before mean/std
    x = preprocess(Image.fromarray(img), size=20)
    assert x.shape == (1, 3, 20, 20) and x.dtype == torch.float32
    centre = x[0, :, 10, 10].numpy()
    expect = (np.array([1.0, 0.5, 0.25]) - np.array([0.485, 0.456, 0.406])) / np.array(
        [0.229, 0.224, 0.225])
    np.testing.assert_allclose(centre, expect, atol=1e-5)
    corner = x[0, :, 0, 0].numpy()
    np.testing.assert_allclose(corner, -np.array([0.485, 0.456, 0.406]) / np.array(
        [0.229, 0.224, 0.225]), atol=1e-5)
    # A black photo does not turn into NaN.
    assert torch.isfinite(preprocess(np.zeros((8, 8, 3), np.uint8), size=16)).all()


@pytest.fixture(scope="module")
def random_model():
    torch.manual_seed(0)
    return SaliencyModel.from_model(U2NETP(3, 1), input_size=64, device="cpu")


def test_random_model_map_shape_range_and_input_types(random_model, tmp_path):
    rng = np.random.default_rng(0)
    photo = (rng.random((37, 51, 3)) * 255).astype(np.uint8)
    out = random_model.predict(Image.fromarray(photo))
    assert out.shape == (37, 51) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    small = random_model.predict_small(photo)
    assert small.shape == (64, 64) and small.min() == 0.0 and small.max() == 1.0
    # uint8 array, float array, path and bytes give the same map as the PIL image.
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    for variant in (photo, photo.astype(np.float32) / 255, path, path.read_bytes()):
        np.testing.assert_array_equal(random_model.predict(variant), out)
    # A constant photo gives a finite (all-zero) map.
    flat = random_model.predict(np.full((20, 30, 3), 0.5, np.float32))
    assert np.isfinite(flat).all() and flat.shape == (20, 30)


def test_unknown_checkpoint_name_is_a_weights_error():
    from fsutils.weights import WeightsError

    with pytest.raises(WeightsError, match="no_such_model"):
        SaliencyModel("no_such_model", device="cpu")


@pytest.fixture(scope="module", params=["fetched", "bundled fp16"])
def official_u2netp(request):
    """u2netp as ``fetch`` finds it (the full-precision mirror copy on development machines),
    and the half-precision copy that ships with the kit: both must reproduce the official maps."""
    from fsutils import weights

    if not PAIRS:
        pytest.skip(f"reference outputs not present at {REFERENCE}")
    if request.param == "bundled fp16":
        bundled = weights.get("u2netp").sources[0].file
        return SaliencyModel(weights.load_state_dict(U2NETP(3, 1), bundled), device="cpu")
    try:
        return SaliencyModel("u2netp", device="cpu")
    except weights.NoNetworkError as e:
        pytest.skip(f"u2netp weights not available offline: {str(e).splitlines()[0]}")


def test_reference_set_is_complete():
    if not REFERENCE.is_dir():
        pytest.skip(f"{REFERENCE} not present")
    assert len(PAIRS) >= 12
    for p in PAIRS:
        assert (REFERENCE / "official_u2netp" / (p.stem + ".png")).is_file(), p


@pytest.mark.slow
@pytest.mark.parametrize("image", PAIRS, ids=[p.name for p in PAIRS])
def test_matches_official_u2netp_output(official_u2netp, image):
    """Acceptance: mean absolute error ≤ 0.01 against the official code's PNG, on every pair."""
    ref = Image.open(REFERENCE / "official_u2netp" / (image.stem + ".png")).convert("L")
    expected = np.asarray(ref, dtype=np.float32) / 255
    got = official_u2netp.predict(image)
    assert got.shape == expected.shape
    mae = float(np.abs(got - expected).mean())
    print(f"{image.name}: MAE {mae:.5f}")
    assert mae <= 0.01
