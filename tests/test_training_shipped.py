"""The engine reproduces the shipped models' validation figures: each shipped file is put into a
run folder as the last checkpoint of its training run (and as the running average of it) and the
run is resumed for its final step, at the end of its schedule (learning rate ≈ 0); the final
validation the engine makes is the figure the shipped run recorded (fsutils/assets/measured.toml),
within noise (half-precision shipped weights, one more step)."""
from pathlib import Path

import pytest
import torch

from fsutils import course
from fsutils.training import fit
from fsutils.weights import read_state_dict

pytestmark = pytest.mark.slow  # each validates the real model on the real validation photos


@pytest.fixture
def ccp(shared_dir):
    return shared_dir / "data" / "ccp"


def resume_last_step(task, shipped: str, average_of: int) -> dict:
    """``task``'s run folder with ``shipped`` as the weights (and their running average over
    ``average_of`` steps) one step before the end; then the resumed run's final validation row."""
    task.check_data()
    task.build(torch.device("cpu"), resuming=True)
    weights = {k: v.float() if v.is_floating_point() else v for k, v in read_state_dict(shipped).items()}
    task.model.load_state_dict(weights)
    end = task.total_steps
    for _ in range(end - 1 if "scheduler" in task.modules() else 0):  # the schedule at the last step
        task.modules()["scheduler"].step()
    ckpt = {"format": 2, "task": task.name, "state": {"step": end - 1, "best": None, "history": [],
                                                      "seconds": 0.0},
            "config": {}, **{k: m.state_dict() for k, m in task.modules().items()}}
    ckpt["ema"] = {**{f"module.{k}": v for k, v in task.model.state_dict().items()},
                   "n_averaged": torch.tensor(average_of)}
    out = Path(task.cfg.out)
    out.mkdir(parents=True)
    torch.save(ckpt, out / "last.pt")
    summary = fit(type(task)(task.cfg))
    assert summary["steps"] == end
    return [r for r in torch.load(out / "last.pt", weights_only=True)["state"]["history"]
            if task.metric in r][-1]


def test_cloth_reproduces_ccp_deeplabs_validation(ccp, tmp_path):
    from fsutils.training.cloth import ClothConfig, ClothTask

    second = course.figures()["shipped_training"]["second_stage"]
    cfg = ClothConfig(ccp_root=str(ccp), out=str(tmp_path / "run"), arch="deeplab", size=second["size"],
                      epochs=1, batch_size=2, max_train_images=2, lr=3e-4, dropout=0.1,
                      ema_decay=0.995, device="cpu", progress=False)
    row = resume_last_step(ClothTask(cfg), "ccp_deeplab", 1000)
    shipped = second["val_mean_iou_garments"][second["best_epoch"] - 1]
    assert row["val_mean_iou_garments_ema"] == pytest.approx(shipped, abs=0.01)


def test_instances_reproduce_ccp_maskrcnns_validation(ccp, tmp_path):
    from fsutils.training.instances import InstancesConfig, InstancesTask

    record = course.figures()["instances"]["training"]
    best = record["steps"].index(record["best_step"])
    cfg = InstancesConfig(ccp_root=str(ccp), out=str(tmp_path / "run"), epochs=1, batch_size=2,
                          max_train_images=2, max_val_images=record["val_photos"], device="cpu",
                          progress=False, ema_decay=0.999)
    row = resume_last_step(InstancesTask(cfg), "ccp_maskrcnn", 2000)
    assert row["val_segm_ap50_ema"] == pytest.approx(record["val_segm_ap50"][best], abs=0.02)
    assert row["val_segm_ap50_garments_ema"] == pytest.approx(record["val_segm_ap50_garments"][best], abs=0.02)


def test_swap_reproduces_ccp_cagans_validation(ccp, tmp_path):
    from fsutils.training.swap import SwapTask, SwapTrainConfig

    record = course.figures()["swap"]["validation"]
    cfg = SwapTrainConfig(ccp_root=str(ccp), out=str(tmp_path / "run"), steps=1, batch_size=2,
                          max_train_images=4, val_images=record["photos"], snapshots="",
                          device="cpu", progress=False)
    row = resume_last_step(SwapTask(cfg), "ccp_cagan", 9000)
    assert row["val_known_l1_ema"] == pytest.approx(record["known_l1"], abs=0.003)
    assert row["val_known_l1_nothing"] == pytest.approx(record["known_l1_nothing"], abs=1e-4)
    assert row["val_alpha_iou_ema"] == pytest.approx(record["alpha_iou"], abs=0.01)
