"""DeepLabV3-MobileNetV2 in PyTorch against the reference TensorFlow Lite interpreter, the 4-class
head surgery, one training step, and export → reload."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fsutils import tflite, weights
from fsutils.training import cloth as train, export_half
from fsutils.models import cloth
from fsutils.models.mobilenet import (VOC_BACKGROUND, VOC_PERSON, BlockSpec, DeepLabV3,
                                      blocks_from_graph, deeplab_from_tflite,
                                      deeplab_v3_mobilenet_v2, mobilenet_v2_blocks)

PEOPLE = sorted((Path(__file__).resolve().parent.parent / "fsutils" / "assets" / "samples"
                 / "people").glob("*.jpg"))
QUANT, FLOAT = "tflite/deeplabv3_mnv2_pascal_quant", "tflite/deeplabv3_257_mv_gpu"


@pytest.fixture(scope="module")
def quant_graph():
    try:
        return tflite.read(weights.fetch(QUANT))
    except weights.WeightsError as e:
        pytest.skip(f"needs the DeepLab TFLite file (mirror): {e}")


def _interpreter(name: str):
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    it = litert.Interpreter(model_path=str(weights.fetch(name)),
                            experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    return it


def _photo(path: Path, size: int) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR))


def _logits_hook(model: DeepLabV3) -> dict:
    got = {}
    model.logits.register_forward_hook(lambda m, i, o: got.__setitem__("logits", o))
    return got


def test_architecture_read_off_the_file_is_the_standard_one(quant_graph):
    stem, blocks = blocks_from_graph(quant_graph)
    assert stem == 32 and blocks == mobilenet_v2_blocks(output_stride=16)
    assert len(blocks) == 17 and blocks[-1] == BlockSpec(160, 960, 320, 1, 2)
    # output stride 16: the last stride-2 block keeps stride 1, the later ones dilate
    assert [b.stride for b in blocks].count(2) == 3 and blocks[13].dilation == 1
    assert all(b.dilation == 2 for b in blocks[14:])


@pytest.mark.slow
def test_person_class_agrees_with_the_reference_interpreter(quant_graph):
    """The uint8 file runs in integer arithmetic under LiteRT; the port runs its dequantised
    weights in float32, so the VOC person class must agree on ≥ 98 % of pixels."""
    it = _interpreter(QUANT)
    model = deeplab_from_tflite(quant_graph)
    got = _logits_hook(model)
    (inp,) = it.get_input_details()
    (out,) = it.get_output_details()
    logits_op = [op for op in quant_graph.ops("CONV_2D")][-1]
    q = quant_graph.tensors[logits_op.outputs[0]].quantization
    agreement, max_diff = [], []
    for path in PEOPLE:
        a = _photo(path, 513)
        it.set_tensor(inp["index"], a[None])
        it.invoke()
        ref_person = it.get_tensor(out["index"])[0] == VOC_PERSON
        ref_logits = (it.get_tensor(logits_op.outputs[0])[0].astype(np.float64) - q.zero_point[0]) \
            * q.scale[0]
        with torch.no_grad():
            full = model(torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1)
        mine = (full[0].argmax(0) == VOC_PERSON).numpy()
        agreement.append((mine == ref_person).mean())
        max_diff.append(np.abs(got["logits"][0].permute(1, 2, 0).numpy() - ref_logits).max())
        assert ref_person.mean() > 0.1  # a person is found at all
    print(f"person agreement {min(agreement):.4f}..{max(agreement):.4f}, largest logit "
          f"difference {max(max_diff):.3f}")
    assert min(agreement) >= 0.98


@pytest.mark.slow
def test_float_file_is_reproduced_exactly():
    it = _interpreter(FLOAT)
    model = deeplab_from_tflite(tflite.read(weights.fetch(FLOAT)))
    (inp,) = it.get_input_details()
    (out,) = it.get_output_details()
    a = _photo(PEOPLE[0], 257).astype(np.float32) / 127.5 - 1
    it.set_tensor(inp["index"], a[None])
    it.invoke()
    ref = it.get_tensor(out["index"])[0]
    with torch.no_grad():
        mine = model(torch.from_numpy(a).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    assert np.abs(mine - ref).max() < 1e-3
    assert (mine.argmax(-1) == ref.argmax(-1)).mean() > 0.999


def test_head_surgery_keeps_everything_but_maps_the_classes(quant_graph):
    voc = deeplab_from_tflite(quant_graph)
    new, fresh = cloth.deeplab_head_surgery(voc)
    assert fresh == [] and new.num_classes == 4
    voc_sd, new_sd = voc.state_dict(), new.state_dict()
    for k, v in new_sd.items():
        if not k.startswith("logits."):
            assert torch.equal(v, voc_sd[k]), k
    w, b = new.logits.weight, new.logits.bias
    assert torch.equal(w[0], voc.logits.weight[VOC_BACKGROUND])
    for c in (1, 2, 3):
        assert torch.equal(w[c], voc.logits.weight[VOC_PERSON])
        assert b[c].item() == pytest.approx(voc.logits.bias[VOC_PERSON].item() - math.log(3), abs=1e-5)
    # at the start the three garment classes together are exactly as likely as "person" was
    x = torch.rand(1, 3, 65, 65) * 2 - 1
    with torch.no_grad():
        p_voc = torch.softmax(voc(x)[:, [VOC_BACKGROUND, VOC_PERSON]], 1)
        p_cloth = torch.softmax(new(x), 1)
    assert torch.allclose(p_cloth[:, 1:].sum(1), p_voc[:, 1], atol=1e-5)


def test_one_training_step_lowers_the_loss(quant_graph):
    torch.manual_seed(0)
    model, _ = cloth.deeplab_head_surgery(deeplab_from_tflite(quant_graph))
    model.train()
    x = torch.rand(2, 3, 97, 97) * 2 - 1
    y = torch.zeros(2, 97, 97, dtype=torch.long)
    y[:, 30:70, 30:70] = 2
    cfg = train.ClothConfig(ccp_root="", arch="deeplab", lr=1e-4, backbone_lr_factor=0.25)
    groups = train.param_groups(model, cloth.ARCHS["deeplab"], cfg)
    assert [g.get("lr") for g in groups] == [2.5e-5, None]
    opt = torch.optim.AdamW(groups, lr=cfg.lr)

    def loss() -> torch.Tensor:
        return train.deep_supervision_loss(cloth.as_outputs(model(x)), y, None, 0.0)

    before = loss()
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = loss()
    assert after.item() < before.item()


def test_export_and_reload_predict_the_same(tmp_path):
    from fsutils.segment import ClothSegmenter

    torch.manual_seed(1)
    model = deeplab_v3_mobilenet_v2(4).eval()
    torch.save({"model": model.state_dict(), "state": {}}, tmp_path / "best.pt")
    exported = export_half(tmp_path / "best.pt", tmp_path / "mine.pth")
    reloaded = deeplab_v3_mobilenet_v2(4)
    weights.load_state_dict(reloaded, exported)
    photo = Image.open(PEOPLE[0]).convert("RGB")
    a = ClothSegmenter(model.half().float(), device="cpu", input_size=129, verbose=False)
    b = ClothSegmenter(reloaded, device="cpu", input_size=129, verbose=False)
    assert np.array_equal(a.predict(photo), b.predict(photo))
