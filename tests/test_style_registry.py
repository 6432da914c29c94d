"""Registry entries of the style stage: VGG-19, the pytorch/examples models, the AdaIN files."""
from __future__ import annotations

import io

import pytest
import torch

from fsutils import weights as W

FAST = ("candy", "mosaic", "rain_princess", "udnie")
SAVED_MODELS = "https://www.dropbox.com/s/lrvwfehqdcxoza8/saved_models.zip?dl=1"


def tensor_bytes(model) -> int:
    return sum(v.numel() * 4 for v in model.state_dict().values() if v.is_floating_point())


def test_vgg19_entry():
    w = W.REGISTRY["vgg19"]
    assert [s.url for s in w.sources] == ["https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"]
    assert w.filename == "vgg19-dcbb9e9d.pth" and w.sha256_prefix == "dcbb9e9d"
    import torchvision

    assert w.sources[0].url == torchvision.models.VGG19_Weights.IMAGENET1K_V1.url
    with torch.device("meta"):
        model = w.build()
    assert tensor_bytes(model) == w.min_size
    assert w.license and w.credit


@pytest.mark.parametrize("style", FAST)
def test_fast_style_entries_point_into_the_official_archive(style):
    w = W.REGISTRY[f"fast_style/{style}"]
    (src,) = w.sources
    assert isinstance(src, W.ZipMember)
    assert src.url == SAVED_MODELS and src.member == f"{style}.pth"
    assert src.archive_name == "saved_models.zip"
    assert w.filename == f"fast_style/{style}.pth"
    assert tensor_bytes(w.build()) == w.min_size
    assert "BSD" in w.license


@pytest.mark.parametrize("style", FAST + ("pointilism",))
def test_mirror_copies_load_strictly(style, weights_path):
    weights_path(f"fast_style/{style}")
    model = W.load_model(f"fast_style/{style}", device="cpu")
    assert type(model).__name__ == "TransformerNet" and not model.training


@pytest.mark.parametrize("name, url_end", [("adain/vgg_normalised", "vgg_normalised.pth"),
                                           ("adain/decoder", "decoder.pth")])
def test_adain_entries(name, url_end):
    w = W.REGISTRY[name]
    (src,) = w.sources
    assert src.url == ("https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0/"
                       + url_end)
    assert w.filename == f"adain/{url_end}"
    assert tensor_bytes(w.build()) == w.min_size
    assert w.license == "MIT"


def test_torchvision_hash_prefix_is_checked_outside_the_mirror(tmp_path, monkeypatch):
    """Like torchvision, a cached copy's SHA-256 must start with the digits its entry publishes
    (vgg19: the 8 in its file name); mirror copies are trusted as they are."""
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buf)
    vgg = W.REGISTRY["vgg19"]
    fake = W.Weights(name="prefixed", filename="prefixed-dcbb9e9d.pth", sources=(), arch="test",
                     license="test", credit="test", sha256_prefix=vgg.sha256_prefix)
    monkeypatch.setitem(W.REGISTRY, fake.name, fake)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / fake.filename).write_bytes(buf.getvalue())
    monkeypatch.setenv("FSUTILS_WEIGHTS_DIR", str(cache))
    monkeypatch.delenv("FSUTILS_WEIGHTS_MIRROR", raising=False)
    with pytest.raises(W.WeightsError, match="does not start with dcbb9e9d"):
        W.fetch(fake.name, progress=False)  # the bad copy is reported and left in place
    assert (cache / fake.filename).read_bytes() == buf.getvalue()
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / fake.filename).write_bytes(buf.getvalue())
    monkeypatch.setenv("FSUTILS_WEIGHTS_MIRROR", str(mirror))
    assert W.fetch(fake.name, progress=False) == mirror / fake.filename
