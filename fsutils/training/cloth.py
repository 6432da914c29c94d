"""The cloth segmenter as a training task (``python -m fsutils.train cloth``).

``arch="deeplab"`` (the default model's recipe) starts from DeepLabV3-MobileNetV2 trained on COCO
and PASCAL VOC, read from its TensorFlow Lite file: the backbone and head keep their weights, and
the 21-class logits become 4 ("head surgery": background from VOC background, each garment class
from VOC *person*) — transfer learning from a network that already finds people. The backbone
learns at a lower rate than the head (``backbone_lr_factor``).

``arch="u2netp"`` starts from the *saliency* U2NETP weights (every layer but the seven output
convolutions, whose shapes change from 1 to 4 channels) and is trained with deep supervision
(cross-entropy on the fused and all six side outputs). Both use AdamW with a warm-up and a cosine
schedule and report per-class IoU on the validation split.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..args import number, whole
from ..data import Augment, CCPDataset, list_ids, split_ids
from ..evaluation.segmentation import confusion_matrix, iou_per_class, mean_iou_garments
from ..garments import DEFAULT_GARMENTS
from ..models.cloth import ARCHS, Arch, as_outputs, initial_cloth_model
from .config import MAX_SIZE, RunConfig, param
from .engine import Task
from .pseudo import IGNORE, pairs

__all__ = ["ClothConfig", "ClothTask", "deep_supervision_loss", "soft_dice_loss", "autocast_dtype",
           "lr_factor", "validate", "param_groups", "load_run"]


def _weights(text: str) -> tuple[float, ...]:
    values = tuple(number(low=0)(t) for t in text.split(","))
    if len(values) != 4:
        raise ValueError(f"give 4 weights (classes 0-3), got {len(values)}")
    return values


_weights.__name__ = "4 weights"


@dataclass
class ClothConfig(RunConfig):
    """Settings of a cloth-segmenter run (each is a ``--flag`` of ``python -m fsutils.train cloth``)."""

    out: str = param("runs/ccp_deeplab", "run folder: last.pt, best.pt, history.json (an existing run resumes)")
    arch: str = param("deeplab", f"the network: {', '.join(ARCHS)} (deeplab: DeepLabV3-MobileNetV2 "
                      "from COCO/VOC, the default model's recipe)")
    init: str | None = param(None, "start weights (default: the architecture's pretrained file), or "
                             "a cloth checkpoint of the same architecture to continue", str)
    size: int = param(256, "square training input size in pixels", whole(16, MAX_SIZE))
    epochs: int = param(8, "passes over the training photos", whole(1))
    batch_size: int = param(8, "photos per step", whole(1))
    lr: float = param(1e-3, "peak learning rate", number(low=0, low_ok=False))
    weight_decay: float = param(1e-4, "AdamW weight decay", number(low=0))
    backbone_lr_factor: float = param(1.0, "the pretrained backbone learns at lr times this "
                                      "(0: frozen)", number(low=0))
    dropout: float = param(0.0, "DeepLab: dropout probability before the logits", number(low=0, high=1))
    class_weights: tuple[float, ...] | None = param(None, "cross-entropy weights of the 4 classes, "
                                                    "e.g. 1,2,2,2", _weights)
    dice_weight: float = param(0.0, "weight of the soft Dice term on the fused output (0: "
                               "cross-entropy only)", number(low=0))
    precision: str = param("auto", "auto (bf16 on CPUs with native bf16, fp16 on CUDA), fp32, bf16 or fp16")
    val_every: int = param(1, "validate every N epochs (and after the last)", whole(1))
    augment: str = param("default", "default, strong (small crops, strong jitter) or context "
                         "(crops keep most of the figure)")
    warmup_steps: int = param(30, "linear learning-rate warm-up steps before the cosine decay", whole(0))
    checkpoint_every: int | None = param(20, "write last.pt every N steps", whole(1))
    max_train_images: int | None = param(None, "use only the first N training photos", whole(1))
    max_val_images: int | None = param(None, "validate on only the first N validation photos", whole(1))
    tagged_root: str | None = param(None, "folder of tagged CCP photos whose pseudo-labels "
                                    "(--pseudo-labels) are trained on beside the annotated photos", str)
    pseudo_labels: str | None = param(None, "folder of pseudo-labels of the tagged photos "
                                      "(python -m fsutils.training.pseudo)", str)

    IDENTITY = ("arch",)

    def check(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"unknown architecture {self.arch!r}; choose one of {sorted(ARCHS)}")
        Augment.named(self.augment)
        autocast_dtype(torch.device("cpu"), self.precision)
        if (self.tagged_root is None) != (self.pseudo_labels is None):
            raise ValueError("--tagged-root and --pseudo-labels go together: the photos and their "
                             "pseudo-labels")

    @classmethod
    def preset(cls, name: str, ccp_root: str | Path, out: str = "runs/ccp_deeplab", **overrides) -> "ClothConfig":
        """Named settings: ``tiny`` (seconds, for headless tests), ``demo`` (head fine-tuning of
        the COCO/VOC DeepLab with its backbone frozen: 3 short epochs of 20 steps at 257 px, a few
        minutes on a CPU), ``deeplab`` (the shipped ``ccp_deeplab``'s recipe) and ``full`` (the
        U2NETP recipe: 160 px, cross-entropy + Dice, a 70-epoch cosine schedule; 320 px on a GPU)."""
        presets = {
            "tiny": dict(arch="u2netp", size=64, epochs=1, batch_size=2, max_train_images=6,
                         max_val_images=4, warmup_steps=1, checkpoint_every=100),
            "demo": dict(arch="deeplab", size=257, epochs=3, batch_size=8, lr=3e-3,
                         backbone_lr_factor=0.0, weight_decay=1e-2, warmup_steps=3,
                         class_weights=(1.0, 2.0, 2.0, 2.0), dice_weight=0.5, augment="context",
                         max_train_images=160, max_val_images=24, checkpoint_every=20),
            "deeplab": dict(arch="deeplab", size=385, epochs=24, batch_size=8, lr=1e-3,
                            backbone_lr_factor=0.25, weight_decay=1e-2, dropout=0.1,
                            warmup_steps=100, class_weights=(1.0, 2.0, 2.0, 2.0), dice_weight=0.5,
                            augment="context", ema_decay=0.997, val_every=2, checkpoint_every=50),
            "full": dict(arch="u2netp", size=160, epochs=70, batch_size=8, lr=1e-3, warmup_steps=100,
                         class_weights=(1.0, 2.0, 2.0, 2.0), dice_weight=1.0, val_every=2,
                         checkpoint_every=100),
        }
        if name not in presets:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(presets)}")
        settings = presets[name]
        if name == "full" and torch.cuda.is_available():
            settings = dict(settings, size=320, batch_size=16)
        return cls(ccp_root=str(ccp_root), out=out, **{**settings, **overrides})


def deep_supervision_loss(outputs: tuple[torch.Tensor, ...], target: torch.Tensor,
                          weight: torch.Tensor | None = None, dice_weight: float = 0.0) -> torch.Tensor:
    """Sum of the cross-entropies of the fused output and every side output (U-2-Net's loss),
    plus ``dice_weight`` × the soft Dice loss of the garment classes on the fused output; pixels
    labelled :data:`~fsutils.training.pseudo.IGNORE` count in neither."""
    loss = sum(F.cross_entropy(o.float(), target, weight=weight, ignore_index=IGNORE) for o in outputs)
    if dice_weight:
        loss = loss + dice_weight * soft_dice_loss(outputs[0], target)
    return loss


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor,
                   classes: tuple[int, ...] = DEFAULT_GARMENTS, smooth: float = 1.0) -> torch.Tensor:
    """``1 − mean Dice`` over ``classes`` of the softmax probabilities, pooled over the batch.

    Dice (= 2·IoU / (1 + IoU)) rewards the overlap of each garment as a whole, so it pushes
    towards the evaluation's IoU where per-pixel cross-entropy spends its effort on the many easy
    background pixels.
    """
    prob = logits.float().softmax(1)[:, list(classes)] * (target != IGNORE)[:, None]
    onehot = torch.stack([target == c for c in classes], 1).to(prob.dtype)
    inter = (prob * onehot).sum((0, 2, 3))
    total = prob.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return 1 - ((2 * inter + smooth) / (total + smooth)).mean()


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The mixed-precision type for training on ``device``, or ``None`` for plain float32.

    ``"auto"``: float16 on CUDA; bfloat16 on a CPU with native bf16 instructions (AVX512-BF16 /
    AMX, where oneDNN runs bf16 convolutions about twice as fast as float32); float32 elsewhere.
    """
    fixed = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
    if precision in fixed:
        return fixed[precision]
    if precision != "auto":
        raise ValueError(f"precision must be 'auto', 'fp32', 'bf16' or 'fp16', not {precision!r}")
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and torch.backends.mkldnn.is_available():
        try:
            if torch.ops.mkldnn._is_mkldnn_bf16_supported():
                return torch.bfloat16
        except (AttributeError, RuntimeError):
            pass
    return None


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then a cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


@torch.no_grad()
def validate(model: nn.Module, dataset: CCPDataset, device: torch.device, batch_size: int = 8) -> np.ndarray:
    """Confusion matrix of the fused output on a (non-augmented) dataset at training size."""
    was_training = model.training
    model.eval()
    cm = np.zeros((4, 4), dtype=np.int64)
    for s in range(0, len(dataset), batch_size):
        xs, ys = zip(*(dataset[k] for k in range(s, min(len(dataset), s + batch_size))))
        x = torch.stack(xs).to(device).contiguous(memory_format=torch.channels_last)
        pred = as_outputs(model(x))[0].argmax(1).cpu().numpy()
        cm += confusion_matrix(pred, torch.stack(ys).numpy())
    model.train(was_training)
    return cm


def param_groups(model: nn.Module, arch: Arch, cfg: ClothConfig) -> list[dict]:
    """One group, or two when the architecture has a pretrained backbone: its parameters learn at
    ``lr × backbone_lr_factor`` (the schedule scales both); a factor of 0 freezes it."""
    if arch.backbone_prefix is None or cfg.backbone_lr_factor == 1.0:
        return [{"params": list(model.parameters())}]
    named = list(model.named_parameters())
    backbone = [p for n, p in named if n.startswith(arch.backbone_prefix)]
    rest = [p for n, p in named if not n.startswith(arch.backbone_prefix)]
    if cfg.backbone_lr_factor == 0:  # frozen: no gradients through the backbone at all
        for p in backbone:
            p.requires_grad_(False)
        return [{"params": rest}]
    return [{"params": backbone, "lr": cfg.lr * cfg.backbone_lr_factor}, {"params": rest}]


def epoch_order(n: int, batch_size: int, seed: int, step: int) -> list[int]:
    """The training photos of step ``step``: epochs of a shuffled order (seeded by the epoch),
    the last batch of an epoch possibly smaller."""
    per_epoch = math.ceil(n / batch_size)
    epoch, k = divmod(step, per_epoch)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    return order[k * batch_size:(k + 1) * batch_size]


class ClothTask(Task):
    name = "cloth"
    Config = ClothConfig
    metric = "val_mean_iou_garments"

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train_set) / self.cfg.batch_size)

    @property
    def total_steps(self) -> int:
        return self.cfg.epochs * self.steps_per_epoch

    def build(self, device: torch.device, resuming: bool) -> None:
        cfg = self.cfg
        self.dev, self.arch = device, ARCHS[cfg.arch]
        train_ids, val_ids = split_ids(list_ids(cfg.ccp_root))
        extra = pairs(cfg.tagged_root, cfg.pseudo_labels) if cfg.pseudo_labels else []
        self.train_set = CCPDataset(cfg.ccp_root, train_ids[: cfg.max_train_images], cfg.size,
                                    augment=Augment.named(cfg.augment), seed=cfg.seed, extra=extra)
        self.val_set = CCPDataset(cfg.ccp_root, val_ids[: cfg.max_val_images], cfg.size)
        if resuming:
            net = self.arch.build(cfg.dropout)
        else:
            n = min(8, len(self.val_set))
            calib = torch.stack([self.val_set[k][0] for k in range(n)] or [self.train_set[0][0]])
            net = initial_cloth_model(cfg.arch, cfg.init or self.arch.default_init, cfg.dropout, calib)
        # NHWC: faster convolutions (oneDNN, cuDNN)
        self.net = net.to(device, memory_format=torch.channels_last).train()
        total = self.total_steps
        self.opt = torch.optim.AdamW(param_groups(self.net, self.arch, cfg), lr=cfg.lr,
                                     weight_decay=cfg.weight_decay)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: lr_factor(s, total, cfg.warmup_steps))
        self.class_weight = (torch.tensor(cfg.class_weights, dtype=torch.float32, device=device)
                             if cfg.class_weights else None)
        precision = "fp32" if (cfg.precision == "auto" and device.type == "cpu"
                               and not self.arch.cpu_bf16) else cfg.precision
        self.amp_dtype = autocast_dtype(device, precision)
        self.scaler = torch.amp.GradScaler(
            "cuda", enabled=self.amp_dtype == torch.float16 and device.type == "cuda")

    def modules(self) -> dict:
        return {"model": self.net, "optimizer": self.opt, "scheduler": self.sched, "scaler": self.scaler}

    def generators(self) -> dict:
        return {"augment": self.train_set.generator}

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = epoch_order(len(self.train_set), self.cfg.batch_size, self.cfg.seed, step)
        xs, ys = zip(*(self.train_set[k] for k in idx))
        x = torch.stack(xs).to(self.dev).contiguous(memory_format=torch.channels_last)
        return x, torch.stack(ys).to(self.dev)

    def step(self, batch) -> dict[str, float]:
        x, y = batch
        with torch.autocast(self.dev.type, dtype=self.amp_dtype or torch.float32,
                            enabled=self.amp_dtype is not None):
            outputs = as_outputs(self.net(x))
        loss = deep_supervision_loss(outputs, y, self.class_weight, self.cfg.dice_weight)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        self.sched.step()
        return {"loss": loss.item(), "lr": self.sched.get_last_lr()[-1]}

    def validate(self, model: nn.Module, step: int) -> dict:
        cm = validate(model, self.val_set, self.dev)
        return {"epoch": -(-step // self.steps_per_epoch), "val_mean_iou_garments": float(mean_iou_garments(cm)),
                "val_iou": [float(v) for v in iou_per_class(cm)]}

    def validate_due(self, step: int) -> bool:
        per = self.steps_per_epoch
        return step % per == 0 and ((step // per) % self.cfg.val_every == 0)

    def upgrade(self, ckpt: dict) -> dict:
        ckpt.setdefault("scaler", self.scaler.state_dict())
        return ckpt


def load_run(out: str | Path, which: str = "best") -> tuple[nn.Module, list[dict]]:
    """The cloth model (``best`` or ``last``) and the history of a training run folder."""
    import json

    from ..weights import read_checkpoint

    ckpt = read_checkpoint(Path(out) / f"{which}.pt")
    config = ckpt.get("config", {})
    model = ARCHS[config.get("arch", "u2netp")].build(config.get("dropout", 0.0))
    model.load_state_dict(ckpt["model"])
    history_file = Path(out) / "history.json"
    history = (json.loads(history_file.read_text()) if history_file.is_file()
               else ckpt.get("state", {}).get("history", []))
    return model.eval(), history
