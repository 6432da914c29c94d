"""The garment instance detector as a training task (``python -m fsutils.train instances``):
Mask R-CNN on the backbone of the shipped ``ccp_deeplab``, trained on the garment instances of
CCP with SGD and momentum, the pretrained backbone at a lower rate, warm-up then cosine decay,
horizontal flips and scale jitter; validated by segm AP50 on a fixed set of validation photos."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn

from ..args import number, whole
from ..data import ids_in_split, list_ids
from ..evaluation.instances import detect_all, score
from ..instances.dataset import InstanceDataset
from ..models.maskrcnn import garment_maskrcnn, maskrcnn_from_deeplab
from .cloth import epoch_order, lr_factor
from .config import MAX_SIZE, RunConfig, param
from .engine import Task
from .pseudo import instance_triples

__all__ = ["InstancesConfig", "InstancesTask", "SCALE_JITTER", "train_sizes"]

#: Training short sides, as factors of the evaluation size (scale jitter).
SCALE_JITTER = (0.8, 0.9, 1.0, 1.1, 1.2)
#: The backbone's parameters (they learn at ``lr × backbone_lr_factor``).
BACKBONE_PREFIX = "backbone.body."


def train_sizes(size: int) -> tuple[int, ...]:
    """Short sides drawn for training batches: :data:`SCALE_JITTER` × ``size``, multiples of 32."""
    return tuple(sorted({max(32, int(round(size * f / 32)) * 32) for f in SCALE_JITTER}))


@dataclass
class InstancesConfig(RunConfig):
    """Settings of a garment-detector run (each is a ``--flag`` of ``python -m fsutils.train instances``)."""

    out: str = param("runs/maskrcnn", "run folder: last.pt, best.pt, history.json (an existing run resumes)")
    init: str = param("ccp_deeplab", "the cloth model whose backbone the detector starts from "
                      "(registry name or file)", str)
    size: int = param(352, "short side of the photos at evaluation (training jitters it ×0.8-1.2)",
                      whole(32, MAX_SIZE))
    epochs: int = param(8, "passes over the training photos", whole(1))
    batch_size: int = param(2, "photos per step", whole(1))
    lr: float = param(0.01, "peak learning rate (SGD with momentum 0.9)", number(low=0, low_ok=False))
    weight_decay: float = param(1e-4, "SGD weight decay", number(low=0))
    backbone_lr_factor: float = param(0.2, "the pretrained backbone learns at lr times this", number(low=0))
    warmup_steps: int = param(100, "linear learning-rate warm-up steps before the cosine decay", whole(0))
    val_every_steps: int = param(250, "validate (segm AP50) every N steps (and at the end)", whole(1))
    checkpoint_every: int | None = param(50, "write last.pt every N steps", whole(1))
    max_train_images: int | None = param(None, "use only the first N training photos", whole(1))
    max_val_images: int | None = param(40, "validate on the first N validation photos", whole(1))
    #: One thread: on a CPU shared with other work, two threads spin-waiting for each other made
    #: a step 10-15× slower (68 s against 4.7 s at a load average of 23 on 2 cores).
    threads: int | None = param(1, "CPU threads for torch", whole(1))
    tagged_root: str | None = param(None, "folder of tagged CCP photos whose pseudo-items "
                                    "(--pseudo-items) are trained on beside the annotated photos", str)
    pseudo_items: str | None = param(None, "folder of pseudo-items of the tagged photos "
                                     "(python -m fsutils.training.pseudo --instances)", str)

    def check(self) -> None:
        if (self.tagged_root is None) != (self.pseudo_items is None):
            raise ValueError("--tagged-root and --pseudo-items go together: the photos and their "
                             "pseudo-items")


class InstancesTask(Task):
    name = "instances"
    Config = InstancesConfig
    metric = "val_segm_ap50"

    @property
    def total_steps(self) -> int:
        return self.cfg.epochs * math.ceil(len(self.train_set) / self.cfg.batch_size)

    def build(self, device: torch.device, resuming: bool) -> None:
        cfg = self.cfg
        self.dev = device
        ids = list_ids(cfg.ccp_root)
        extra = instance_triples(cfg.tagged_root, cfg.pseudo_items) if cfg.pseudo_items else []
        self.train_set = InstanceDataset(cfg.ccp_root, ids_in_split(ids, "train")[: cfg.max_train_images],
                                         flip=True, seed=cfg.seed, extra=extra)
        self.val_set = InstanceDataset(cfg.ccp_root, ids_in_split(ids, "val")[: cfg.max_val_images])
        sizes = train_sizes(cfg.size)
        self.net = (garment_maskrcnn(train_sizes=sizes, input_size=cfg.size) if resuming else
                    maskrcnn_from_deeplab(cfg.init, train_sizes=sizes, input_size=cfg.size))
        self.net.to(device).train()
        named = [(n, p) for n, p in self.net.named_parameters() if p.requires_grad]
        groups = [{"params": [p for n, p in named if n.startswith(BACKBONE_PREFIX)],
                   "lr": cfg.lr * cfg.backbone_lr_factor},
                  {"params": [p for n, p in named if not n.startswith(BACKBONE_PREFIX)]}]
        self.opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
        total = self.total_steps
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: lr_factor(s, total, cfg.warmup_steps))

    def modules(self) -> dict:
        return {"model": self.net, "optimizer": self.opt, "scheduler": self.sched}

    def generators(self) -> dict:
        return {"flip": self.train_set.generator}

    def batch(self, step: int):
        idx = epoch_order(len(self.train_set), self.cfg.batch_size, self.cfg.seed, step)
        xs, ts = zip(*(self.train_set[k] for k in idx))
        return [x.to(self.dev) for x in xs], [{k: v.to(self.dev) for k, v in t.items()} for t in ts]

    def step(self, batch) -> dict[str, float]:
        parts = self.net(*batch)
        loss = sum(parts.values())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_([p for g in self.opt.param_groups for p in g["params"]], 10.0)
        self.opt.step()
        self.sched.step()
        return {"loss": loss.item(), **{k: round(v.item(), 5) for k, v in parts.items()},
                "lr": self.sched.get_last_lr()[-1]}

    def validate(self, model: nn.Module, step: int) -> dict:
        s = score([self.val_set.truths(k) for k in range(len(self.val_set))],
                  detect_all(model, self.val_set, self.dev))
        return {"val_segm_ap50": s.segm_ap50, "val_segm_ap50_garments": s.segm_ap50_garments,
                "val_bbox_ap50": s.bbox_ap50, "val_agnostic_garments": s.agnostic_garments,
                "val": s.as_dict()}

    def validate_due(self, step: int) -> bool:
        return step % self.cfg.val_every_steps == 0
