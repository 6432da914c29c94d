import pytest
import torch
import torch.nn as nn

from fsutils.data import split_ids
from fsutils.models import U2NETP, cloth
from fsutils.training import cloth as train, engine, export_half, fit
from fsutils.training.cloth import ClothConfig, ClothTask
from tests.ccp_fixture import person_groundtruth, write_ccp


def _saliency_state_dict(seed=0):
    torch.manual_seed(seed)
    return U2NETP(3, 1).state_dict()


def test_surgery_keeps_every_layer_but_the_outputs():
    sd = _saliency_state_dict()
    model, fresh = cloth.surgery_from_saliency(sd, num_classes=4)
    assert model.outconv.weight.shape == (4, 24, 1, 1) and model.side1.weight.shape == (4, 64, 3, 3)
    assert sorted({k.split(".")[0] for k in fresh}) == sorted(cloth.OUTPUT_LAYERS)
    new = model.state_dict()
    for k, v in sd.items():
        if k.split(".")[0] in cloth.OUTPUT_LAYERS:
            assert new[k].shape != v.shape
        else:
            assert torch.equal(new[k], v), k


def test_surgery_rejects_a_checkpoint_of_another_architecture():
    import pytest

    with pytest.raises(ValueError, match="u2netp"):
        cloth.surgery_from_saliency({"features.0.weight": torch.zeros(1)})


def test_identity_batchnorm_calibration_preserves_the_function():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 2, 1))
    model[0].bias.data += 3.0  # activations far from zero mean / unit variance
    x = torch.randn(4, 3, 16, 16)
    model.eval()
    before = model(x).detach()
    assert cloth.calibrate_identity_batchnorm(model, x) == 1
    model.eval()
    assert torch.allclose(model(x), before, atol=1e-4)
    model.train()  # batch statistics of the same batch: still (almost) the same function
    assert torch.allclose(model(x), before, atol=1e-3)
    # a BN layer that already holds real statistics is left alone
    assert cloth.calibrate_identity_batchnorm(model, x) == 0


def test_one_training_step_reduces_the_loss():
    torch.manual_seed(0)
    model, _ = cloth.surgery_from_saliency(_saliency_state_dict())
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


def _run(**kw):
    return fit(ClothTask(ClothConfig(**{"arch": "u2netp", **kw})))


@pytest.mark.slow  # two short training runs: ~8 s here
def test_train_resumes_and_exports_half_precision(tmp_path):
    items = {f"{i:04d}": person_groundtruth(48, 32, "shirt" if i % 2 else "dress", "pants" if i % 2 else None)
             for i in range(1, 13)}
    root = write_ccp(tmp_path / "ccp", items)
    init = tmp_path / "u2netp.pth"
    torch.save(_saliency_state_dict(), init)
    cfg = dict(ccp_root=str(root), out=str(tmp_path / "run"), init=str(init), size=32, epochs=1,
               batch_size=2, checkpoint_every=1, device="cpu", progress=False)
    first = _run(**cfg, max_steps=2)
    assert first["steps"] == 2
    second = _run(**cfg)  # resumes from last.pt and finishes the epoch
    steps_per_epoch = -(-len(split_ids(sorted(items))[0]) // 2)
    assert second["steps"] == steps_per_epoch
    assert (tmp_path / "run" / "best.pt").is_file() and (tmp_path / "run" / "history.json").is_file()
    dest = export_half(tmp_path / "run" / "best.pt", tmp_path / "half.pth")
    sd = torch.load(dest, weights_only=True)
    assert all(v.dtype == torch.float16 for v in sd.values() if v.is_floating_point())
    U2NETP(3, 4).load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()}, strict=True)


def test_soft_dice_loss_known_values():
    y = torch.ones(1, 2, 2, dtype=torch.long)            # every pixel is class 1 (upper body)
    uniform = torch.zeros(1, 4, 2, 2)                    # p = 1/4 for every class
    # class 1: (2·1 + 1) / (1 + 4 + 1) = 0.5; classes 2, 3: (0 + 1) / (1 + 0 + 1) = 0.5
    assert abs(train.soft_dice_loss(uniform, y).item() - 0.5) < 1e-6
    perfect = torch.full((1, 4, 2, 2), -30.0)
    perfect[:, 1] = 30.0
    assert train.soft_dice_loss(perfect, y).item() < 1e-6   # absent classes 2, 3 count as matched
    wrong = torch.full((1, 4, 2, 2), -30.0)
    wrong[:, 3] = 30.0
    # class 1: 1/(4+1); class 2: 1/1; class 3: 1/(4+1)  ->  1 - mean = 1 - 1.4/3
    assert abs(train.soft_dice_loss(wrong, y).item() - (1 - 1.4 / 3)) < 1e-5


def test_dice_term_is_added_to_the_deep_supervision_loss():
    torch.manual_seed(0)
    outputs = tuple(torch.randn(2, 4, 8, 8) for _ in range(7))
    y = torch.randint(0, 4, (2, 8, 8))
    ce = train.deep_supervision_loss(outputs, y)
    both = train.deep_supervision_loss(outputs, y, dice_weight=0.5)
    assert torch.allclose(both, ce + 0.5 * train.soft_dice_loss(outputs[0], y))


def test_autocast_dtype_choices():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert train.autocast_dtype(cpu, "fp32") is None
    assert train.autocast_dtype(cpu, "bf16") == torch.bfloat16
    assert train.autocast_dtype(cuda, "auto") == torch.float16
    assert train.autocast_dtype(cuda, "fp32") is None
    assert train.autocast_dtype(cpu, "auto") in (torch.bfloat16, None)
    try:
        train.autocast_dtype(cpu, "int8")
    except ValueError as e:
        assert "precision" in str(e)
    else:
        raise AssertionError("an unknown precision must be refused")


@pytest.mark.slow  # a 3-epoch training run in bf16: ~9 s here
def test_val_every_validates_every_nth_and_the_last_epoch(tmp_path):
    items = {f"{i:04d}": person_groundtruth(48, 32, "shirt", "pants") for i in range(1, 13)}
    root = write_ccp(tmp_path / "ccp", items)
    init = tmp_path / "u2netp.pth"
    torch.save(_saliency_state_dict(), init)
    summary = _run(ccp_root=str(root), out=str(tmp_path / "run"), init=str(init), size=32, epochs=3,
                   batch_size=2, val_every=2, device="cpu", progress=False, precision="bf16",
                   dice_weight=1.0)
    _, history = train.load_run(tmp_path / "run", "last")
    assert summary["steps"] == 3 * -(-len(split_ids(sorted(items))[0]) // 2)
    assert [h["epoch"] for h in history if "val_iou" in h] == [2, 3]
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in history if "loss" in h)


def test_the_running_average_moves_float_tensors_and_copies_counters():
    model = nn.BatchNorm2d(2)
    avg = engine.averaged(model, decay=0.75)
    with torch.no_grad():
        model.weight.fill_(3.0)
        model.running_mean.fill_(4.0)
        model.num_batches_tracked.fill_(7)
    avg.update_parameters(model)       # the first update copies the model
    with torch.no_grad():
        model.weight.fill_(5.0)
    avg.update_parameters(model)       # decay min(0.75, 2/11): 2/11·3 + 9/11·5
    assert torch.allclose(avg.module.weight, torch.full((2,), 2 / 11 * 3 + 9 / 11 * 5))
    assert torch.allclose(avg.module.running_mean, torch.full((2,), 4.0))
    assert avg.module.num_batches_tracked.item() == 7


def test_ema_decay_warms_up_to_the_configured_value():
    decays = [engine.ema_decay_at(t, 0.998) for t in range(0, 20000, 50)]
    assert decays[0] == pytest.approx(0.1)          # the first update nearly copies the model
    assert all(a <= b for a, b in zip(decays, decays[1:])) and decays[-1] == 0.998
    assert engine.ema_decay_at(100, 0.5) == 0.5      # a short horizon is used as it is


@pytest.mark.slow  # two short training runs: ~13 s here
def test_ema_run_saves_the_average_as_best_and_resumes_it(tmp_path):
    items = {f"{i:04d}": person_groundtruth(48, 32, "dress", None) for i in range(1, 13)}
    root = write_ccp(tmp_path / "ccp", items)
    init = tmp_path / "u2netp.pth"
    torch.save(_saliency_state_dict(), init)
    cfg = dict(ccp_root=str(root), out=str(tmp_path / "run"), init=str(init), size=32, epochs=1,
               batch_size=2, checkpoint_every=1, device="cpu", progress=False, ema_decay=0.5, lr=1e-2)
    _run(**cfg, max_steps=2)
    last = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    averaged = {k.removeprefix("module."): v for k, v in last["ema"].items() if k != "n_averaged"}
    assert set(averaged) == set(last["model"]) and last["ema"]["n_averaged"] == 2
    assert any(not torch.equal(averaged[k], last["model"][k]) for k in last["model"])
    _run(**cfg)  # resume: the average continues from last.pt
    last = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    chosen = {"ema": {k.removeprefix("module."): v for k, v in last["ema"].items()},
              "raw": last["model"]}[best["weights"]]
    history = [r for r in last["state"]["history"] if "val_mean_iou_garments" in r]
    assert "val_mean_iou_garments_ema" in history[-1]
    if best["state"]["step"] == last["state"]["step"]:  # the last validation was the best
        assert all(torch.equal(best["model"][k], chosen[k]) for k in best["model"])
