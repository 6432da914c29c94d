"""The one training engine (fsutils.training) with each of its three tasks: exact resumption,
the run folder's lock, checks before work, Ctrl-C, earlier checkpoint formats and the command
line's subcommands."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fsutils.models import U2NETP
from fsutils.training import TrainingError, fit
from fsutils.training.cli import main, normalise
from fsutils.training.cloth import ClothConfig, ClothTask
from fsutils.training.folder import RunFolder
from tests.ccp_fixture import ccp_index, person_groundtruth, write_ccp

ROOT = Path(__file__).resolve().parents[1]


def _people(tmp: Path, n: int = 12, h: int = 48, w: int = 32) -> Path:
    items = {}
    for i in range(1, n + 1):
        gt = person_groundtruth(h, w, ("coat", "shirt", "t-shirt")[i % 3], "skirt" if i % 2 else "pants")
        gt[h // 2: 2 * h // 3, 1:w // 5] = ccp_index("bag")
        items[f"{i:04d}"] = gt
    return write_ccp(tmp / "ccp", items)


@pytest.fixture(scope="module")
def people(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("people")
    root = _people(tmp)
    torch.manual_seed(0)
    torch.save(U2NETP(3, 1).state_dict(), tmp / "u2netp.pth")
    return root


def cloth_task(root: Path, out: Path, **kw) -> ClothTask:
    settings = dict(arch="u2netp", init=str(root.parent / "u2netp.pth"), size=32, epochs=2,
                    batch_size=2, precision="fp32", ema_decay=0.9, checkpoint_every=2,
                    device="cpu", progress=False)
    return ClothTask(ClothConfig(ccp_root=str(root), out=str(out), **{**settings, **kw}))


def instances_task(root: Path, out: Path, **kw):
    from fsutils.training.instances import InstancesConfig, InstancesTask

    settings = dict(size=64, epochs=2, batch_size=2, max_train_images=4, max_val_images=2,
                    warmup_steps=1, val_every_steps=3, checkpoint_every=2, device="cpu", progress=False)
    return InstancesTask(InstancesConfig(ccp_root=str(root), out=str(out), **{**settings, **kw}))


def swap_task(root: Path, out: Path, **kw):
    from fsutils.training.swap import SwapTask, SwapTrainConfig

    settings = dict(height=32, width=32, base_channels=8, disc_channels=8, batch_size=4, steps=6,
                    val_every=3, val_images=3, snapshots="2", checkpoint_minutes=None,
                    checkpoint_every=2, device="cpu", progress=False)
    return SwapTask(SwapTrainConfig(ccp_root=str(root), out=str(out), **{**settings, **kw}))


TASKS = {"cloth": cloth_task, "instances": instances_task, "swap": swap_task}


def _losses(ckpt: dict) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in ckpt["state"]["history"]
            if "val_" not in "".join(r)]


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow  # three short trainings per task: 5-40 s each here
@pytest.mark.parametrize("name", list(TASKS))
def test_an_interrupted_and_resumed_run_equals_an_uninterrupted_one(people, tmp_path, name):
    make = TASKS[name]
    fit(make(people, tmp_path / "whole"))
    fit(make(people, tmp_path / "parts", max_steps=3))  # stops mid-epoch, after a validation
    fit(make(people, tmp_path / "parts"))
    whole = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)
    parts = torch.load(tmp_path / "parts" / "last.pt", weights_only=True)
    assert whole["state"]["step"] == parts["state"]["step"] > 3
    assert _losses(whole) == _losses(parts)  # every step's losses, bit for bit
    assert _same_weights(whole["model"], parts["model"])
    if "ema" in whole:
        assert _same_weights(whole["ema"], parts["ema"])
    # the same resumption without the saved random state does not train the same run
    fit(make(people, tmp_path / "lost", max_steps=3))
    ckpt = torch.load(tmp_path / "lost" / "last.pt", weights_only=True)
    del ckpt["rng"]
    torch.save(ckpt, tmp_path / "lost" / "last.pt")
    fit(make(people, tmp_path / "lost"))
    lost = torch.load(tmp_path / "lost" / "last.pt", weights_only=True)
    assert not _same_weights(whole["model"], lost["model"])


@pytest.mark.slow  # two short trainings: ~5 s
def test_a_run_folder_of_the_earlier_format_still_resumes(people, tmp_path):
    fit(cloth_task(people, tmp_path / "run", max_steps=2))
    path = tmp_path / "run" / "last.pt"
    ckpt = torch.load(path, weights_only=True)
    state = ckpt["state"]  # as the earlier trainer wrote it: no task, format or random state
    old = {"model": ckpt["model"], "optimizer": ckpt["optimizer"], "scheduler": ckpt["scheduler"],
           "ema": {k.removeprefix("module."): v for k, v in ckpt["ema"].items() if k != "n_averaged"},
           "state": {"epoch": 0, "step_in_epoch": 2, "global_step": 2, "best": -1.0,
                     "history": state["history"]},
           "config": {**ckpt["config"], "history": []}}
    torch.save(old, path)
    summary = fit(cloth_task(people, tmp_path / "run"))
    new = torch.load(path, weights_only=True)
    assert summary["steps"] == new["state"]["step"] > 2 and new["task"] == "cloth"
    assert [r["step"] for r in new["state"]["history"] if "loss" in r] == list(range(1, summary["steps"] + 1))


def test_a_second_trainer_on_the_same_folder_is_refused(tmp_path):
    with RunFolder(tmp_path / "run"):
        with pytest.raises(TrainingError, match=f"another training \\(process {os.getpid()}\\) "
                                                "is using .*another --out"):
            RunFolder(tmp_path / "run").open()
    RunFolder(tmp_path / "run").open().close()  # free again once the first is done


def test_checkpoints_are_written_whole_under_a_unique_temporary_name(tmp_path, monkeypatch):
    folder = RunFolder(tmp_path).open()
    folder.save("last.pt", {"a": torch.ones(2)})

    def broken(obj, f, *a, **kw):
        f.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="No space"):
        folder.save("last.pt", {"a": torch.zeros(2)})
    folder.close()
    assert torch.equal(torch.load(tmp_path / "last.pt", weights_only=True)["a"], torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "last.pt"]  # no temporary left


def test_an_out_below_a_file_is_refused_before_any_work(people, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code = main(["cloth", "--ccp-root", str(people), "--out", str(tmp_path / "file" / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "cannot write to the run folder" in err[0] and "choose a writable --out" in err[0]


@pytest.mark.slow  # a child process: Python and torch start in ~8 s here
def test_a_read_only_out_is_one_line_before_any_work(tmp_path):
    from tests.test_faults_cli import unprivileged

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        r = subprocess.run([*unprivileged(), sys.executable, "-m", "fsutils.train", "cloth",
                            "--ccp-root", str(_people(tmp_path)), "--out", str(locked / "run")],
                           capture_output=True, text=True, cwd=ROOT, timeout=300,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
    finally:
        locked.chmod(0o755)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "cannot write to the run folder" in lines[0] and "Permission denied" in lines[0]
    assert not list(locked.iterdir())


@pytest.mark.slow  # a short training, then refusals
def test_resuming_with_another_task_settings_or_a_damaged_checkpoint_is_one_line(people, tmp_path, capsys):
    out = tmp_path / "run"
    fit(swap_task(people, out, max_steps=1))
    capsys.readouterr()
    common = ["--ccp-root", str(people), "--out", str(out), "--device", "cpu", "--no-progress"]

    def refused(args: list[str]) -> str:
        code = main(args)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1, err
        return err[0]

    assert "holds a swap training, not cloth" in refused(["cloth", *common])
    assert "python -m fsutils.train swap --out" in refused(["--arch", "u2netp", *common])
    line = refused(["swap", *common, "--height", "48", "--width", "32", "--base-channels", "8",
                    "--disc-channels", "8"])
    assert "height=32 (now 48)" in line and "same settings" in line
    (out / "last.pt").write_bytes((out / "last.pt").read_bytes()[:1000])
    line = refused(["swap", *common])
    assert "cannot be read" in line and "cut short" in line and "Delete it" in line


@pytest.mark.slow  # a child process that trains until it is stopped
def test_ctrl_c_saves_a_checkpoint_and_exits_130_with_one_line(people, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fsutils.train", "cloth", "--ccp-root", str(people), "--out", str(out),
         "--arch", "u2netp", "--init", str(people.parent / "u2netp.pth"), "--size", "32",
         "--epochs", "500", "--batch-size", "2", "--checkpoint-every", "1", "--device", "cpu",
         "--no-progress"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        deadline = time.monotonic() + 240
        while not (out / "last.pt").is_file() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert (out / "last.pt").is_file(), proc.stderr.read() if proc.poll() is not None else ""
        with pytest.raises(TrainingError, match="another training"):  # a second trainer
            RunFolder(out).open()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    lines = err.strip().splitlines()
    assert proc.returncode == 130 and len(lines) == 1, err
    assert lines[0].startswith("SIGINT: stopped after step ") and "run the same command to resume" in lines[0]
    step = int(lines[0].split("step ")[1].split(";")[0])
    assert torch.load(out / "last.pt", weights_only=True)["state"]["step"] == step
    assert not [p for p in out.iterdir() if p.suffix == ".tmp"]


def test_the_earlier_spellings_are_subcommands():
    assert normalise(["--arch", "maskrcnn", "--ccp-root", "d"]) == ["instances", "--ccp-root", "d"]
    assert normalise(["--arch=cagan", "--steps", "3"]) == ["swap", "--steps", "3"]
    assert normalise(["--ccp-root", "d", "--arch", "u2netp"]) == ["cloth", "--ccp-root", "d", "--arch", "u2netp"]
    assert normalise(["--ccp-root", "d"]) == ["cloth", "--ccp-root", "d"]
    assert normalise(["swap", "--steps", "3"]) == ["swap", "--steps", "3"]


@pytest.mark.parametrize("args, message", [
    (["cloth", "--size", "30000"], "--size: 30000 is out of range"),
    (["instances", "--size", "5000"], "--size: 5000 is out of range"),
    (["swap", "--height", "30000"], "--height"),
    (["cloth", "--arch", "resnet"], "unknown architecture 'resnet'"),
    (["cloth", "--class-weights", "1,2"], "--class-weights"),
    (["swap", "--garments", "shoe"], "--garments must list semantic classes"),
])
def test_bad_settings_are_refused_before_any_work(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as e:
        main([*args, "--ccp-root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_missing_data_is_refused_before_the_run_folder_is_made(tmp_path, capsys):
    assert main(["instances", "--ccp-root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a CCP folder: it does not exist" in err[0]
    assert not (tmp_path / "run").exists()


def test_every_setting_of_every_task_is_an_option_of_its_subcommand():
    from dataclasses import fields

    from fsutils.training.cli import TASKS, build_parser, task_class

    parser = build_parser()
    subs = parser._subparsers._group_actions[0].choices
    for name in TASKS:
        dests = {a.dest for a in subs[name]._actions}
        assert {f.name for f in fields(task_class(name).Config)} <= dests, name
        assert all(a.help for a in subs[name]._actions if a.dest != "help"), name


def test_the_summary_is_the_last_line_of_stdout(people, tmp_path, capsys):
    code = main(["cloth", "--ccp-root", str(people), "--out", str(tmp_path / "run"), "--arch", "u2netp",
                 "--init", str(people.parent / "u2netp.pth"), "--size", "32", "--epochs", "1",
                 "--batch-size", "4", "--max-steps", "1", "--device", "cpu", "--no-progress"])
    out = capsys.readouterr()
    summary = json.loads(out.out.strip().splitlines()[-1])
    assert code == 0 and summary["task"] == "cloth" and summary["steps"] == 1 and out.err == ""


def test_pseudo_labels_take_the_best_class_the_tags_allow():
    import numpy as np

    from fsutils.training.pseudo import IGNORE, restrict

    proba = np.zeros((4, 1, 3), dtype=np.float32)
    proba[:, 0, 0] = [0.1, 0.3, 0.1, 0.5]   # the model says full body; tagged upper + lower
    proba[:, 0, 1] = [0.6, 0.1, 0.1, 0.2]   # background either way
    proba[:, 0, 2] = [0.3, 0.05, 0.05, 0.6]  # full body, unsure once full body is ruled out
    assert restrict(proba, (1, 2)).tolist() == [[1, 0, 0]]
    assert restrict(proba, (1, 2), threshold=0.7).tolist() == [[IGNORE, 0, 0]]
    assert restrict(proba, (3,)).tolist() == [[3, 0, 3]]


def test_pseudo_labels_of_validation_or_test_photos_are_refused(tmp_path):
    from PIL import Image

    from fsutils.data import split_of
    from fsutils.training.pseudo import pairs

    with pytest.raises(FileNotFoundError, match="no pseudo-labels"):
        pairs(tmp_path, tmp_path)
    test_id = next(f"{i:04d}" for i in range(1005, 1200) if split_of(f"{i:04d}") == "test")
    Image.new("L", (4, 4)).save(tmp_path / f"{test_id}.png")
    with pytest.raises(ValueError, match=f"outside the training split \\({test_id}\\)"):
        pairs(tmp_path, tmp_path)


def test_ignored_pixels_count_in_no_loss():
    from fsutils.training.cloth import deep_supervision_loss

    torch.manual_seed(0)
    logits = torch.randn(1, 4, 4, 4)
    target = torch.randint(0, 4, (1, 4, 4))
    ignored = target.clone()
    ignored[0, :2] = 255
    a = deep_supervision_loss((logits,), ignored, dice_weight=1.0)
    b = deep_supervision_loss((logits[..., 2:, :],), target[..., 2:, :], dice_weight=1.0)
    assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("task", ["cloth", "instances", "swap"])
def test_an_annotation_with_labels_outside_the_list_is_one_line(tmp_path, capsys, task):
    root = _people(tmp_path, n=6)
    gt = person_groundtruth(48, 32, "shirt", "pants")
    gt[0, 0] = 200  # label_list.mat names 59 labels
    write_ccp(root, {"0003": gt})
    code = main([task, "--ccp-root", str(root), "--out", str(tmp_path / "run"), "--device", "cpu",
                 "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "0003.mat" in err[0] and "holds label value(s) 200" in err[0] and "names only 59" in err[0]


def test_checkpoints_get_the_permissions_of_an_ordinary_new_file(tmp_path):
    old = os.umask(0o022)
    try:
        with RunFolder(tmp_path) as folder:
            path = folder.save("last.pt", {"a": torch.ones(1)})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_pseudo_items_keep_the_tagged_classes_and_refuse_a_photo_with_a_garment_missed():
    import numpy as np

    from fsutils.instances import Instance, Instances
    from fsutils.training.pseudo import keep_items

    def item(cls, score, rows):
        m = np.zeros((6, 4), bool)
        m[rows] = True
        return Instance(cls, score, (0, 0, 4, 6), m)

    found = Instances([item("top", 0.9, slice(0, 3)), item("dress", 0.8, slice(1, 6)),
                       item("skirt", 0.7, slice(3, 6)), item("shoe", 0.3, slice(5, 6))])
    imap, labels = keep_items(found, ("top", "skirt", "shoe"))
    assert labels == [1, 5]                       # top, skirt: not the untagged dress, not the weak shoe
    assert imap[:3].tolist() == [[1] * 4] * 3 and imap[3:].tolist() == [[2] * 4] * 3
    assert keep_items(found, ("top", "pants")) is None  # the tags name pants, which were not found


@pytest.mark.slow  # a detector step
def test_the_detector_trains_on_pseudo_items_beside_the_annotated_photos(people, tmp_path):
    import numpy as np
    from PIL import Image

    from fsutils.data import split_of

    image_id = next(f"{i:04d}" for i in range(1005, 1100) if split_of(f"{i:04d}") == "train")
    (tmp_path / "tagged" / "photos").mkdir(parents=True)
    Image.fromarray(np.full((48, 32, 3), 128, np.uint8)).save(tmp_path / "tagged" / "photos" / f"{image_id}.jpg")
    items = tmp_path / "items"
    items.mkdir()
    imap = np.zeros((48, 32), np.uint8)
    imap[10:30, 8:24] = 1
    Image.fromarray(imap).save(items / f"{image_id}.png")
    (items / f"{image_id}.json").write_text("[1]")
    task = instances_task(people, tmp_path / "run", tagged_root=str(tmp_path / "tagged"),
                          pseudo_items=str(items), max_train_images=2, epochs=1, batch_size=3)
    summary = fit(task)
    assert len(task.train_set) == 3 and task.train_set.ids[-1] == image_id
    assert task.train_set[2][1]["labels"].tolist() == [1] and summary["steps"] == 1


def test_a_swap_run_starts_its_generator_from_a_file_of_another_crop_size(tmp_path, capsys):
    from fsutils.models.cagan import CAGANGenerator
    from fsutils.training.swap import initial_generator

    trained = CAGANGenerator(8)
    torch.nn.init.normal_(trained.enc[0][0].weight)
    torch.save(trained.state_dict(), tmp_path / "g.pt")
    G = initial_generator(str(tmp_path / "g.pt"), 8)
    assert torch.equal(G.enc[0][0].weight, trained.enc[0][0].weight)
    x = torch.rand(1, 3, 64, 48)  # fully convolutional: any multiple of 16
    assert G(x, x, x).x_tilde.shape[-2:] == (64, 48)
    assert not torch.equal(initial_generator(None, 8).enc[0][0].weight, trained.enc[0][0].weight)
    with pytest.raises(ValueError, match="--base-channels 8"):
        initial_generator(str(tmp_path / "g.pt"), 32)


def test_during_the_discriminator_warm_up_the_generator_does_not_change(people, tmp_path):
    from fsutils.models.cagan import CAGANGenerator
    from fsutils.training.engine import Engine

    torch.save(CAGANGenerator(8).state_dict(), tmp_path / "g.pt")
    start = torch.load(tmp_path / "g.pt")
    settings = dict(init=str(tmp_path / "g.pt"), disc_warmup=2, steps=3, val_every=100,
                    snapshots="", ema_decay=None)

    def generator() -> dict:
        return torch.load(tmp_path / "run" / "last.pt", weights_only=False)["model"]

    Engine(swap_task(people, tmp_path / "run", max_steps=2, **settings)).run()
    assert _same_weights(start, generator())                    # two steps: D only
    Engine(swap_task(people, tmp_path / "run", **settings)).run()  # resumed: both learn
    assert not _same_weights(start, generator())
    steps = [r for r in json.loads((tmp_path / "run" / "history.json").read_text())
             if "val_known_l1" not in r]
    assert [sorted(r) for r in steps[:2]] == [["d", "seconds", "step"]] * 2
    assert "g_adv" in steps[2]
