"""Options of the swap's training for sharper swaps: a perceptual swap-back term on the kit's
ImageNet MobileNetV2, and validation on cross swaps between the validation photos."""
import json

import numpy as np
import pytest
import torch

from fsutils.models.cagan import (CAGANDiscriminator, CAGANGenerator, LossWeights, generator_loss,
                                  perceptual_l1)
from fsutils.models.mobilenet import PERCEPTUAL_TAPS, MobileNetV2Classifier, mobilenet_v2_blocks
from fsutils.swap import data as sd
from fsutils.training import swap as st
from tests.ccp_fixture import person_groundtruth, write_ccp


@pytest.fixture(scope="module")
def features():
    """The kit's ImageNet MobileNetV2 (its TFLite file, through the weights mirror)."""
    return st.perceptual_network(torch.device("cpu"))


def test_feature_maps_are_the_stride_4_8_16_activations():
    torch.manual_seed(0)
    net = MobileNetV2Classifier(mobilenet_v2_blocks()).eval()
    maps = net.feature_maps(torch.zeros(1, 3, 64, 48))
    assert len(maps) == len(PERCEPTUAL_TAPS)
    assert [m.shape[1:] for m in maps] == [(24, 16, 12), (32, 8, 6), (64, 4, 3)]


def test_the_perceptual_term_sees_detail_the_mean_colour_hides(features):
    torch.manual_seed(0)
    flat = torch.zeros(1, 3, 64, 48)
    stripes = (torch.arange(48) % 2 * 2 - 1.0).expand(1, 3, 64, 48) * 0.5  # same mean, fine detail
    assert perceptual_l1(features, flat, flat) == 0
    assert perceptual_l1(features, flat, stripes) > 0.05
    with torch.no_grad():
        assert all(not p.requires_grad for p in features.__self__.parameters())  # frozen


def test_generator_loss_adds_the_perceptual_part_only_when_weighted(features):
    torch.manual_seed(0)
    G, D = CAGANGenerator(base=8), CAGANDiscriminator(base=8)
    x = [torch.rand(2, 3, 32, 32) * 2 - 1 for _ in range(3)]
    _, parts, _ = generator_loss(G, D, *x)
    assert "g_perc" not in parts
    w = LossWeights(perceptual=0.5)
    total, parts, _ = generator_loss(G, D, *x, weights=w, features=features)
    assert parts["g_perc"] > 0
    assert total.item() == pytest.approx(parts["g_adv"] + 0.1 * parts["g_id"] + parts["g_cyc"]
                                         + 0.5 * parts["g_perc"], rel=1e-5)
    with pytest.raises(ValueError, match="feature network"):
        generator_loss(G, D, *x, weights=w)


def test_cross_swaps_at_crop_size_score_each_example_once():
    photo = np.full((96, 64, 3), 128, np.uint8)
    examples = []
    for colour in ((200, 30, 30), (30, 30, 200), (30, 200, 30)):
        photo = photo.copy()
        mask = np.zeros((96, 64), bool)
        mask[30:60, 16:48] = True
        photo[mask] = colour
        examples.append(sd.person_example(photo, mask, (32, 32)))
    torch.manual_seed(0)
    scores = st.crop_cross_swaps(CAGANGenerator(base=8), examples)
    assert [r["person"] for r in scores.rows] == ["0", "1", "2"]
    assert all(0 <= r["spill"] <= 1 for r in scores.rows)


def test_bad_option_values_are_refused():
    with pytest.raises(ValueError, match="--val-cross"):
        st.SwapTrainConfig("x", val_cross=1).check()
    with pytest.raises(ValueError, match="--lambda-perceptual"):
        st.SwapTrainConfig("x", lambda_perceptual=-1).check()


@pytest.mark.slow  # a short training run with the ImageNet network loaded from its TFLite file
def test_a_run_with_the_perceptual_term_validates_on_cross_swaps(tmp_path, capsys):
    from fsutils.train import main

    tops = ("shirt", "t-shirt", "blouse", "sweater")
    root = write_ccp(tmp_path / "ccp", {f"{i:04d}": person_groundtruth(96, 64, tops[i % 4], "pants")
                                         for i in range(1, 41)})
    out = tmp_path / "run"
    assert main(["swap", "--ccp-root", str(root), "--out", str(out), "--height", "32", "--width",
                 "32", "--base-channels", "8", "--disc-channels", "8", "--batch-size", "2",
                 "--steps", "2", "--val-every", "2", "--val-images", "3", "--val-cross", "3",
                 "--lambda-perceptual", "0.1", "--snapshots", "", "--device", "cpu",
                 "--no-progress"]) == 0
    history = json.loads((out / "history.json").read_text())
    assert any("g_perc" in h for h in history)
    val = [h for h in history if "val_known_l1" in h][-1]
    assert {"val_cross_spill_p90", "val_cross_colour_moved_median", "val_cross_coverage_median",
            "val_cross_sharpness_median"} <= set(val)
