"""Feed-forward style transfer: official checkpoint format, caching, and the published outputs."""
from __future__ import annotations

import dataclasses
import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from fsutils import weights as W
from fsutils.models.transformer_net import TransformerNet
from fsutils.style import fast as fast_mod
from fsutils.style import fast_stylize


def official_style_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A TransformerNet state dict the way the pre-0.4 official files hold it: with InstanceNorm
    running statistics for every ``inN`` layer (top level and inside the residual blocks)."""
    torch.manual_seed(seed)
    sd = TransformerNet().state_dict()
    for key in list(sd):
        if key.endswith(".weight") and (key.startswith("in") or ".in" in key):
            prefix = key[: -len("weight")]
            n = sd[key].numel()
            sd[prefix + "running_mean"] = torch.randn(n)
            sd[prefix + "running_var"] = torch.rand(n) + 0.5
    return sd


def test_deprecated_instance_norm_keys_are_dropped_by_the_real_loader(tmp_path):
    sd = official_style_state_dict()
    assert sum("running_" in k for k in sd) == 2 * 15  # in1..in5 + 5 blocks × in1, in2
    path = tmp_path / "candy.pth"
    torch.save(sd, path, _use_new_zipfile_serialization=False)  # legacy format, like the originals
    model = W.load_state_dict(TransformerNet(), path)
    for k, v in model.state_dict().items():
        assert torch.equal(v, sd[k]), k
    # anything else unexpected is still refused (the loader stays strict)
    sd["in1.bogus"] = torch.zeros(1)
    torch.save(sd, path)
    with pytest.raises(W.ArchitectureMismatchError, match="in1.bogus"):
        W.load_state_dict(TransformerNet(), path)


def test_zip_archive_source_end_to_end(isolated_weights, http_server, monkeypatch):
    """The registry entry's archive member, served locally, goes through fetch and the loader."""
    sd = official_style_state_dict(1)
    raw = io.BytesIO()
    torch.save(sd, raw, _use_new_zipfile_serialization=False)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("saved_models/candy.pth", raw.getvalue())
        zf.writestr("saved_models/mosaic.pth", b"not used")
    url = http_server.serve("/saved_models.zip", archive.getvalue())
    entry = W.REGISTRY["fast_style/candy"]
    (src,) = entry.sources
    local = dataclasses.replace(entry, sources=(dataclasses.replace(src, url=url),))
    monkeypatch.setitem(W.REGISTRY, "fast_style/candy", local)
    monkeypatch.setattr(fast_mod, "_CACHE", {})
    model = fast_mod.fast_model("candy", "cpu")
    assert torch.equal(model.conv1.conv2d.weight, sd["conv1.conv2d.weight"])
    assert (isolated_weights / "fast_style" / "candy.pth").is_file()
    # cached: the same object again, and no second download
    assert fast_mod.fast_model("candy", "cpu") is model
    assert http_server.hits("/saved_models.zip") == 1


def test_own_network_and_output_size():
    torch.manual_seed(0)
    net = TransformerNet()
    photo = Image.fromarray((np.random.default_rng(0).random((37, 45, 3)) * 255).astype(np.uint8))
    out = fast_stylize(photo, net, device="cpu")
    assert out.size == photo.size and out.mode == "RGB"
    assert fast_stylize(photo, net, size=20).size == (20, 16)
    with pytest.raises(ValueError, match="unknown fast style"):
        fast_mod.registry_name("starry")
    assert fast_mod.registry_name("Rain-Princess") == "fast_style/rain_princess"


@pytest.mark.slow  # a 1080×1080 forward pass: about 12 s per model on one idle CPU core
@pytest.mark.timeout(900)
@pytest.mark.parametrize("style, ref", [("candy", "candy"), ("mosaic", "mosaic"),
                                        ("rain_princess", "rain-princess")])
def test_matches_the_published_pytorch_examples_outputs(shared_dir, weights_path, style, ref):
    """Acceptance: pixel correlation ≥ 0.98 with pytorch/examples' own outputs for amber.jpg."""
    weights_path(f"fast_style/{style}")  # skip if the mirror is not there
    folder = shared_dir / "data" / "reference" / "fast_style"
    amber = Image.open(folder / "pytorch_examples_amber.jpg").convert("RGB")
    expected = Image.open(folder / f"pytorch_examples_amber-{ref}.jpg").convert("RGB")
    out = fast_stylize(amber, style, device="cpu").resize(expected.size, Image.Resampling.BILINEAR)
    a = np.asarray(out, dtype=np.float64).ravel()
    b = np.asarray(expected, dtype=np.float64).ravel()
    corr = np.corrcoef(a, b)[0, 1]
    assert corr >= 0.98, f"{style}: correlation {corr:.4f}"
