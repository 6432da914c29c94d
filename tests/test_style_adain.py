"""AdaIN: the operation's statistics, α interpolation, masks, and strict loading of the
official checkpoint layout (checkpoints created here; the real ones are not downloadable)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from fsutils import weights as W
from fsutils.models.adain import ENCODER_DEPTH, adain_decoder, adain_vgg
from fsutils.style import adain as adain_mod
from fsutils.style import AdainParams, adain_transfer, adaptive_instance_normalization, calc_mean_std


def test_calc_mean_std_matches_numpy():
    x = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    mean, std = calc_mean_std(x)
    arr = x.numpy().reshape(2, 3, -1)
    assert np.allclose(mean.squeeze().numpy(), arr.mean(axis=2), atol=1e-6)
    assert np.allclose(std.squeeze().numpy(), np.sqrt(arr.var(axis=2, ddof=1) + 1e-5), atol=1e-6)


def test_output_features_have_the_style_statistics():
    g = torch.Generator().manual_seed(1)
    content = torch.randn(1, 8, 6, 7, generator=g) * 3 + 1
    style = torch.randn(1, 8, 5, 5, generator=g) * torch.linspace(0.1, 2, 8).view(1, 8, 1, 1) - 2
    out = adaptive_instance_normalization(content, style)
    om, os_ = calc_mean_std(out)
    sm, ss = calc_mean_std(style)
    assert torch.allclose(om, sm, atol=1e-5)
    assert torch.allclose(os_, ss, atol=1e-3)
    # the spatial pattern is the content's (a per-channel affine map of it)
    for ch in range(8):
        r = np.corrcoef(out[0, ch].ravel().numpy(), content[0, ch].ravel().numpy())[0, 1]
        assert r > 0.999


def test_masked_statistics_come_from_the_region():
    g = torch.Generator().manual_seed(2)
    content = torch.randn(1, 4, 8, 8, generator=g)
    content[..., :, 4:] += 10  # the right half has different statistics
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :, :4] = 1
    style = torch.randn(1, 4, 8, 8, generator=g) * 0.5 + 3
    out = adaptive_instance_normalization(content, style, content_mask=mask)
    om, os_ = calc_mean_std(out[..., :, :4])
    sm, ss = calc_mean_std(style)
    assert torch.allclose(om, sm, atol=1e-4) and torch.allclose(os_, ss, atol=1e-3)
    with pytest.raises(ValueError, match="empty"):
        calc_mean_std(content, mask=torch.zeros(1, 1, 8, 8))


class Recorder(nn.Module):
    """Wraps the decoder to record the features it receives."""

    def __init__(self, decoder: nn.Module):
        super().__init__()
        self.decoder, self.seen = decoder, []

    def forward(self, t):
        self.seen.append(t.clone())
        return self.decoder(t)


def small_models():
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    decoder = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(4, 3, 3, padding=1),
                            nn.Sigmoid())
    return encoder, Recorder(decoder)


def picture(h, w, seed):
    return Image.fromarray((np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8))


def test_alpha_interpolates_the_features():
    encoder, decoder = small_models()
    c, s = picture(16, 20, 0), picture(16, 16, 1)
    outs = {a: adain_transfer(c, s, style_strength=a, size=20, models=(encoder, decoder)) for a in (0.0, 0.5, 1.0)}
    f0, f5, f1 = decoder.seen
    assert torch.allclose(f5, 0.5 * f0 + 0.5 * f1, atol=1e-5)
    with torch.no_grad():
        from fsutils.style._image import to_tensor

        assert torch.allclose(f0, encoder(to_tensor(c)), atol=1e-6)  # α = 0: the photo's features
    assert all(o.size == c.size for o in outs.values())
    assert not np.array_equal(np.asarray(outs[0.0]), np.asarray(outs[1.0]))
    with pytest.raises(ValueError, match="style_strength"):
        adain_transfer(c, s, AdainParams(style_strength=0.5), style_strength=1.5,
                       models=(encoder, decoder))


def test_mask_keeps_the_background_features():
    encoder, decoder = small_models()
    c, s = picture(16, 16, 2), picture(16, 16, 3)
    mask = np.zeros((16, 16), dtype=bool)
    mask[:, :8] = True
    adain_transfer(c, s, mask=mask, size=16, models=(encoder, decoder))
    adain_transfer(c, s, style_strength=0.0, size=16, models=(encoder, decoder))
    masked, photo = decoder.seen
    assert torch.allclose(masked[..., 4:], photo[..., 4:])          # right half: untouched
    assert not torch.allclose(masked[..., :4], photo[..., :4])      # garment: transferred


def save_official(tmp_path, seed=0):
    """Checkpoints in the layout of pytorch-AdaIN's release assets."""
    torch.manual_seed(seed)
    vgg, dec = adain_vgg(), adain_decoder()
    (tmp_path / "adain").mkdir(exist_ok=True)
    vgg_path, dec_path = tmp_path / "adain" / "vgg_normalised.pth", tmp_path / "adain" / "decoder.pth"
    torch.save(vgg.state_dict(), vgg_path)
    torch.save(dec.state_dict(), dec_path)
    return vgg, dec, vgg_path, dec_path


def test_official_layout_loads_strictly_through_the_registry(tmp_path, monkeypatch):
    vgg, dec, vgg_path, dec_path = save_official(tmp_path)
    # net.py indices: the last conv of the 53-layer vgg is 51, the decoder starts with a pad
    assert {"0.weight", "2.weight", "51.weight"} <= set(vgg.state_dict())
    assert "1.weight" in dec.state_dict() and "28.weight" in dec.state_dict()
    monkeypatch.setenv("FSUTILS_WEIGHTS_MIRROR", str(tmp_path))
    monkeypatch.setattr(adain_mod, "_CACHE", {})
    encoder, decoder = adain_mod.adain_models("cpu")
    assert len(encoder) == ENCODER_DEPTH and isinstance(encoder[-1], nn.ReLU)  # ends at relu4_1
    assert torch.equal(encoder[2].weight, vgg[2].weight)
    assert torch.equal(decoder[1].weight, dec[1].weight)
    assert adain_mod.adain_models("cpu")[0] is encoder  # loaded once
    out = adain_transfer(picture(24, 30, 4), picture(20, 20, 5), size=30, device="cpu")
    assert out.size == (30, 24)


def test_wrong_layout_is_refused(tmp_path):
    _, _, vgg_path, dec_path = save_official(tmp_path)
    with pytest.raises(W.ArchitectureMismatchError):
        adain_mod.load_adain(dec_path, vgg_path)   # swapped files
    enc, _ = adain_mod.load_adain(vgg_path, dec_path)
    assert len(enc) == ENCODER_DEPTH
