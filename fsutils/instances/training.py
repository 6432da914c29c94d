"""Training the garment Mask R-CNN on the garment instances of CCP (``python -m fsutils.train
--arch maskrcnn``): SGD with momentum, the pretrained backbone at a lower rate, warm-up then
cosine decay, horizontal flips and scale jitter; ``last.pt`` every few minutes (a run resumes
from it), segm AP50 on a fixed set of validation photos every ``val_every_steps`` steps (the best
is ``best.pt``), the history in ``history.json``."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
import torch.nn as nn

from .. import weights
from ..data import ids_in_split, list_ids
from ..models.maskrcnn import garment_maskrcnn, maskrcnn_from_deeplab
from .dataset import InstanceDataset
from ..evaluation.instances import detect_all, score

__all__ = ["MASKRCNN_DEFAULTS", "SCALE_JITTER", "DetectionRun", "train_instances", "train_sizes"]

#: ``python -m fsutils.train --arch maskrcnn`` settings where the command line gives none.
#: One thread: on a CPU shared with other work, two threads spin-waiting for each other made a
#: step 10-15× slower (68 s against 4.7 s at a load average of 23 on 2 cores).
MASKRCNN_DEFAULTS = dict(init="ccp_deeplab", size=352, epochs=8, batch_size=2, lr=0.01,
                         weight_decay=1e-4, backbone_lr_factor=0.2, warmup_steps=100,
                         checkpoint_every=50, val_every_steps=250, max_val_images=40, threads=1,
                         precision="fp32")
#: Training short sides, as factors of the evaluation size (scale jitter).
SCALE_JITTER = (0.8, 0.9, 1.0, 1.1, 1.2)
#: The backbone's parameters (they learn at ``lr × backbone_lr_factor``).
BACKBONE_PREFIX = "backbone.body."


def train_sizes(size: int) -> tuple[int, ...]:
    """Short sides drawn for training batches: :data:`SCALE_JITTER` × ``size``, multiples of 32."""
    return tuple(sorted({max(32, int(round(size * f / 32)) * 32) for f in SCALE_JITTER}))


class DetectionRun:
    """One detector training run: data, model, optimiser, schedule, progress (``state``)."""

    def __init__(self, cfg):
        from .. import train as T

        self.dev = T.compute_device(cfg)
        self.cfg, self.out = cfg, Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)
        ids = list_ids(cfg.ccp_root)
        self.train_set = InstanceDataset(cfg.ccp_root, ids_in_split(ids, "train")[: cfg.max_train_images],
                                         flip=True, seed=cfg.seed)
        self.val_set = InstanceDataset(cfg.ccp_root, ids_in_split(ids, "val")[: cfg.max_val_images])
        self.steps_per_epoch = math.ceil(len(self.train_set) / cfg.batch_size)
        sizes = train_sizes(cfg.size)
        last = self.out / "last.pt"
        ckpt = weights.read_checkpoint(last) if last.is_file() else None
        if ckpt is not None:
            self.model = garment_maskrcnn(train_sizes=sizes, input_size=cfg.size)
            self.model.load_state_dict(ckpt["model"])
            self.state = ckpt["state"]
        else:
            self.model = maskrcnn_from_deeplab(cfg.init or "ccp_deeplab", train_sizes=sizes,
                                               input_size=cfg.size)
            self.state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best": -1.0,
                          "history": []}
        self.model.to(self.dev).train()
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        groups = [{"params": [p for n, p in named if n.startswith(BACKBONE_PREFIX)],
                   "lr": cfg.lr * cfg.backbone_lr_factor},
                  {"params": [p for n, p in named if not n.startswith(BACKBONE_PREFIX)]}]
        self.opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
        total = cfg.epochs * self.steps_per_epoch
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: T._lr_factor(s, total, cfg.warmup_steps))
        if ckpt is not None:
            self.opt.load_state_dict(ckpt["optimizer"])
            self.sched.load_state_dict(ckpt["scheduler"])

    def save(self, path: Path) -> None:
        from ..train import save_checkpoint

        save_checkpoint(path, self.model, self.opt, self.sched, self.state, self.cfg)
        (self.out / "history.json").write_text(json.dumps(self.state["history"], indent=1))

    def losses(self, idx: list[int]) -> dict[str, torch.Tensor]:
        """The detector's losses on the training photos ``idx`` (training mode)."""
        xs, ts = zip(*(self.train_set[k] for k in idx))
        return self.model([x.to(self.dev) for x in xs],
                          [{k: v.to(self.dev) for k, v in t.items()} for t in ts])

    def step(self, idx: list[int]) -> float:
        """One optimiser step on the training photos ``idx``; returns the total loss."""
        t0 = time.time()
        parts = self.losses(idx)
        loss = sum(parts.values())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_([p for g in self.opt.param_groups for p in g["params"]], 10.0)
        self.opt.step()
        self.sched.step()
        self.state["global_step"] += 1
        self.state["history"].append({"step": self.state["global_step"], "loss": loss.item(),
                                      **{k: round(v.item(), 5) for k, v in parts.items()},
                                      "lr": self.sched.get_last_lr()[1],
                                      "seconds": round(time.time() - t0, 3)})
        return loss.item()

    def validate(self) -> dict:
        """segm / bbox AP50 on the validation photos; records them and keeps ``best.pt``."""
        t0 = time.time()
        dets = detect_all(self.model, self.val_set, self.dev)
        s = score([self.val_set.truths(k) for k in range(len(self.val_set))], dets)
        row = {"step": self.state["global_step"], "epoch": self.state["epoch"],
               "val": s.as_dict(), "time": time.time()}
        self.state["history"].append(row)
        print(f"step {row['step']} ({time.strftime('%H:%M:%S')}, {time.time() - t0:.0f} s): val "
              + " ".join(f"{c} {v:.3f}" for c, v in s.segm.items())
              + f" agnostic_garments {s.agnostic_garments:.3f} segm_ap50_garments="
              f"{s.segm_ap50_garments:.4f} segm_ap50={s.segm_ap50:.4f} bbox_ap50={s.bbox_ap50:.4f}",
              flush=True)
        if s.segm_ap50 > self.state["best"]:
            self.state["best"] = s.segm_ap50
            self.save(self.out / "best.pt")
        return row

    def run(self) -> dict:
        """Train to the end (or ``max_steps``), validating and checkpointing on the way."""
        cfg, state = self.cfg, self.state
        every = cfg.val_every_steps or self.steps_per_epoch * max(1, cfg.val_every)
        running, t_last = None, time.time()
        while state["epoch"] < cfg.epochs:
            gen = torch.Generator().manual_seed(cfg.seed + state["epoch"])
            order = torch.randperm(len(self.train_set), generator=gen).tolist()
            for s in range(state["step_in_epoch"], self.steps_per_epoch):
                loss = self.step(order[s * cfg.batch_size:(s + 1) * cfg.batch_size])
                running = loss if running is None else 0.95 * running + 0.05 * loss
                state["step_in_epoch"] = s + 1
                g = state["global_step"]
                if cfg.progress and g % 10 == 0:
                    print(f"step {g} epoch {state['epoch'] + 1}: loss {running:.3f} "
                          f"({(time.time() - t_last) / 10:.2f} s/step)", flush=True)
                    t_last = time.time()
                if g % every == 0:
                    self.validate()
                if g % cfg.checkpoint_every == 0:
                    self.save(self.out / "last.pt")
                if cfg.max_steps and g >= cfg.max_steps:
                    self.save(self.out / "last.pt")
                    return self.summary()
            state["epoch"] += 1
            state["step_in_epoch"] = 0
            self.save(self.out / "last.pt")
        if not state["history"] or "val" not in state["history"][-1]:
            self.validate()
        self.save(self.out / "last.pt")
        return self.summary()

    def summary(self) -> dict:
        return {"best_segm_ap50": self.state["best"], "epochs": self.state["epoch"],
                "steps": self.state["global_step"], "out": str(self.out)}


def train_instances(cfg) -> dict:
    """Train (or resume) the garment detector with a :class:`fsutils.train.TrainConfig`."""
    return DetectionRun(cfg).run()
