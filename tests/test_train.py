import torch
import torch.nn as nn

from fsutils import train
from fsutils.models import U2NETP
from tests.ccp_fixture import person_groundtruth, write_ccp


def _saliency_state_dict(seed=0):
    torch.manual_seed(seed)
    return U2NETP(3, 1).state_dict()


def test_surgery_keeps_every_layer_but_the_outputs():
    sd = _saliency_state_dict()
    model, fresh = train.surgery_from_saliency(sd, num_classes=4)
    assert model.outconv.weight.shape == (4, 24, 1, 1) and model.side1.weight.shape == (4, 64, 3, 3)
    assert sorted({k.split(".")[0] for k in fresh}) == sorted(train.OUTPUT_LAYERS)
    new = model.state_dict()
    for k, v in sd.items():
        if k.split(".")[0] in train.OUTPUT_LAYERS:
            assert new[k].shape != v.shape
        else:
            assert torch.equal(new[k], v), k


def test_surgery_rejects_a_checkpoint_of_another_architecture():
    import pytest

    with pytest.raises(ValueError, match="u2netp"):
        train.surgery_from_saliency({"features.0.weight": torch.zeros(1)})


def test_identity_batchnorm_calibration_preserves_the_function():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 2, 1))
    model[0].bias.data += 3.0  # activations far from zero mean / unit variance
    x = torch.randn(4, 3, 16, 16)
    model.eval()
    before = model(x).detach()
    assert train.calibrate_identity_batchnorm(model, x) == 1
    model.eval()
    assert torch.allclose(model(x), before, atol=1e-4)
    model.train()  # batch statistics of the same batch: still (almost) the same function
    assert torch.allclose(model(x), before, atol=1e-3)
    # a BN layer that already holds real statistics is left alone
    assert train.calibrate_identity_batchnorm(model, x) == 0


def test_one_training_step_reduces_the_loss():
    torch.manual_seed(0)
    model, _ = train.surgery_from_saliency(_saliency_state_dict())
    x = torch.randn(2, 3, 64, 64)
    y = torch.zeros(2, 64, 64, dtype=torch.long)
    y[:, 16:40, 16:48] = 1
    y[:, 40:, 16:48] = 2
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(4):
        loss = train.deep_supervision_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0]


def test_train_resumes_and_exports_half_precision(tmp_path):
    items = {f"{i:04d}": person_groundtruth(48, 32, "shirt" if i % 2 else "dress", "pants" if i % 2 else None)
             for i in range(1, 13)}
    root = write_ccp(tmp_path / "ccp", items)
    init = tmp_path / "u2netp.pth"
    torch.save(_saliency_state_dict(), init)
    cfg = dict(ccp_root=str(root), out=str(tmp_path / "run"), init=str(init), size=32, epochs=1,
               batch_size=2, checkpoint_every=1, device="cpu", progress=False)
    first = train.train(train.TrainConfig(**cfg, max_steps=2))
    assert first["steps"] == 2 and first["epochs"] == 0
    second = train.train(train.TrainConfig(**cfg))  # resumes from last.pt and finishes the epoch
    steps_per_epoch = -(-len(train.split_ids(sorted(items))[0]) // 2)
    assert second["epochs"] == 1 and second["steps"] == steps_per_epoch
    assert (tmp_path / "run" / "best.pt").is_file() and (tmp_path / "run" / "history.json").is_file()
    dest = train.export_half(tmp_path / "run" / "best.pt", tmp_path / "half.pth")
    sd = torch.load(dest, weights_only=True)
    assert all(v.dtype == torch.float16 for v in sd.values() if v.is_floating_point())
    U2NETP(3, 4).load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()}, strict=True)
