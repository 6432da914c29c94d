"""Training the kit's own cloth segmenters (4 classes) on Clothing Co-Parsing.

    python -m fsutils.train --ccp-root DIR --arch deeplab --out runs/ccp_deeplab
    python -m fsutils.train --ccp-root DIR --arch u2netp --out runs/ccp_u2netp

``--arch deeplab`` (the default model's recipe) starts from DeepLabV3-MobileNetV2 trained on COCO
and PASCAL VOC, read from its TensorFlow Lite file: the backbone and head keep their weights, and
the 21-class logits become 4 ("head surgery": background from VOC background, each garment class
from VOC *person*) — transfer learning from a network that already finds people. The backbone
learns at a lower rate than the head (``--backbone-lr-factor``).

``--arch u2netp`` starts from the *saliency* U2NETP weights ("model surgery": every layer but the seven
output convolutions ``side1…side6`` and ``outconv``, whose shapes change from 1 to 4 channels), is
trained with deep supervision (cross-entropy on the fused and all six side outputs), AdamW and a
cosine learning-rate schedule, and reports per-class IoU on the validation split after each epoch.
Checkpoints are written every few steps, so an interrupted run resumes where it stopped.

    python -m fsutils.train --ccp-root DIR --arch maskrcnn --out runs/maskrcnn

trains the garment instance detector instead (Mask R-CNN on the backbone of the shipped
``ccp_deeplab``, :mod:`fsutils.instances.training`): the same run folder, checkpoints, resumption
and ``--export``, its own defaults for every option not given (short side 352 px with scale
jitter, batch 2, SGD at 0.01, validation segm AP50 every 250 steps on 40 validation photos).
"""
from __future__ import annotations

import copy
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import weights
from .data import Augment, CCPDataset, list_ids, split_ids
from .evaluation.segmentation import confusion_matrix, iou_per_class, mean_iou_garments
from .models.cloth import ARCHS, Arch, as_outputs, initial_cloth_model
from .segment import GARMENT_CLASSES

__all__ = ["deep_supervision_loss", "soft_dice_loss", "autocast_dtype", "update_ema",
           "ema_decay_at", "TrainConfig", "train", "export_half", "load_run", "validate",
           "compute_device", "save_checkpoint"]

def deep_supervision_loss(outputs: tuple[torch.Tensor, ...], target: torch.Tensor,
                          weight: torch.Tensor | None = None, dice_weight: float = 0.0) -> torch.Tensor:
    """Sum of the cross-entropies of the fused output and every side output (U-2-Net's loss),
    plus ``dice_weight`` × the soft Dice loss of the garment classes on the fused output."""
    loss = sum(F.cross_entropy(o.float(), target, weight=weight) for o in outputs)
    if dice_weight:
        loss = loss + dice_weight * soft_dice_loss(outputs[0], target)
    return loss


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, classes: tuple[int, ...] = GARMENT_CLASSES,
                   smooth: float = 1.0) -> torch.Tensor:
    """``1 − mean Dice`` over ``classes`` of the softmax probabilities, pooled over the batch.

    Dice (= 2·IoU / (1 + IoU)) rewards the overlap of each garment as a whole, so it pushes
    towards the evaluation's IoU where per-pixel cross-entropy spends its effort on the many easy
    background pixels.
    """
    prob = logits.float().softmax(1)[:, list(classes)]
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


@dataclass
class TrainConfig:
    ccp_root: str
    out: str = "runs/ccp_u2netp"
    arch: str = "u2netp"            # u2netp | deeplab (see ARCHS)
    init: str | None = None         # start weights (registry name or path); None: the arch's default
    size: int = 256
    epochs: int = 8
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    backbone_lr_factor: float = 1.0  # the pretrained backbone learns at lr × this
    dropout: float = 0.0            # DeepLab: dropout before the logits
    class_weights: tuple[float, ...] | None = None  # cross-entropy weights of classes 0–3
    dice_weight: float = 0.0        # + this × soft Dice loss of the garment classes (fused output)
    precision: str = "auto"         # auto | fp32 | bf16 | fp16 (see autocast_dtype)
    val_every: int = 1              # validate every N epochs (and always after the last)
    val_every_steps: int = 0        # maskrcnn: validate every N steps instead (0: by epochs)
    augment: str = "default"        # default | strong | context (see fsutils.data.Augment.named)
    ema_decay: float | None = None  # keep an exponential moving average of the weights (e.g. 0.995);
                                    # it is what gets validated and saved as best.pt
    warmup_steps: int = 30
    checkpoint_every: int = 20      # steps
    max_steps: int | None = None    # stop early (notebook demos, tests)
    max_train_images: int | None = None
    max_val_images: int | None = None
    seed: int = 0
    device: str | None = None
    threads: int | None = None
    progress: bool = True
    history: list = field(default_factory=list)

    @classmethod
    def preset(cls, name: str, ccp_root: str | Path, out: str = "runs/ccp_u2netp", **overrides) -> "TrainConfig":
        """Named settings: ``tiny`` (seconds, for headless tests), ``demo`` (head fine-tuning
        of the COCO/VOC DeepLab with its backbone frozen: 3 short epochs of 20 steps at 257 px,
        a few minutes on a CPU) and ``full`` (the recipe of the shipped model's second stage: 160 px, batch 8,
        cross-entropy + Dice, a 70-epoch cosine schedule whose best validation epoch is kept —
        epoch 20 for the shipped model, about 25 minutes on a 2-core CPU with bf16; 320 px on a GPU,
        untested here)."""
        presets = {
            "tiny": dict(size=64, epochs=1, batch_size=2, max_train_images=6,
                         max_val_images=4, warmup_steps=1, checkpoint_every=100),
            "demo": dict(arch="deeplab", size=257, epochs=3, batch_size=8, lr=3e-3,
                         backbone_lr_factor=0.0, weight_decay=1e-2, warmup_steps=3,
                         class_weights=(1.0, 2.0, 2.0, 2.0), dice_weight=0.5, augment="context",
                         max_train_images=160, max_val_images=24, checkpoint_every=20),
            "full": dict(size=160, epochs=70, batch_size=8, lr=1e-3, warmup_steps=100,
                         class_weights=(1.0, 2.0, 2.0, 2.0), dice_weight=1.0, val_every=2,
                         checkpoint_every=100),
        }
        presets["deeplab"] = dict(arch="deeplab", size=385, epochs=24, batch_size=8, lr=1e-3,
                                  backbone_lr_factor=0.25, weight_decay=1e-2, dropout=0.1,
                                  warmup_steps=100, class_weights=(1.0, 2.0, 2.0, 2.0),
                                  dice_weight=0.5, augment="context", ema_decay=0.997,
                                  val_every=2, checkpoint_every=50)
        if name not in presets:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(presets)}")
        settings = presets[name]
        if name == "full":
            import torch as _torch
            if _torch.cuda.is_available():
                settings = dict(settings, size=320, batch_size=16)
        return cls(ccp_root=str(ccp_root), out=out, **{**settings, **overrides})


def ema_decay_at(step: int, decay: float) -> float:
    """The moving average's decay at optimiser step ``step`` (0-based): ``min(decay, (1 + step) /
    (10 + step))``. Early steps follow the model closely, so the average is not stuck near the
    starting weights (e.g. the saliency model's) for the first ``1 / (1 − decay)`` steps."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``ema ← decay·ema + (1 − decay)·model`` for every float parameter and buffer (BatchNorm
    running statistics included, so the average is usable as it is); integer buffers are copied."""
    for e, m in zip(ema.state_dict().values(), model.state_dict().values()):
        if e.is_floating_point():
            e.lerp_(m.to(e.dtype), 1 - decay)
        else:
            e.copy_(m)


def _lr_factor(step: int, total: int, warmup: int) -> float:
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


def compute_device(cfg: TrainConfig) -> torch.device:
    """The run's device (``cfg.device``, else :func:`fsutils.env.device`), after setting the CPU
    thread count to ``cfg.threads`` when given."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.device:
        return torch.device(cfg.device)
    from .env import device as pick_device
    return pick_device()


def save_checkpoint(path: Path, model: nn.Module, opt: torch.optim.Optimizer, sched,
                    state: dict, cfg: TrainConfig, ema: nn.Module | None = None) -> None:
    """Write a training checkpoint atomically: ``model``, ``optimizer``, ``scheduler``, ``state``
    (progress counters and history), ``config`` (and ``ema`` when kept)."""
    tmp = path.with_suffix(".tmp")
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "state": state,
            "config": {**asdict(cfg), "history": []}}
    if ema is not None:
        ckpt["ema"] = ema.state_dict()
    torch.save(ckpt, tmp)
    tmp.replace(path)


class _Run:
    """One training run's state: data, model (and its moving average), optimiser, schedule and
    progress counters; :func:`train` drives it epoch by epoch."""

    def __init__(self, cfg: TrainConfig):
        if cfg.arch not in ARCHS:
            raise ValueError(f"unknown architecture {cfg.arch!r}; choose one of {sorted(ARCHS)}")
        self.dev = compute_device(cfg)
        self.cfg, self.arch = cfg, ARCHS[cfg.arch]
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)
        train_ids, val_ids = split_ids(list_ids(cfg.ccp_root))
        self.train_set = CCPDataset(cfg.ccp_root, train_ids[: cfg.max_train_images], cfg.size,
                                    augment=Augment.named(cfg.augment), seed=cfg.seed)
        self.val_set = CCPDataset(cfg.ccp_root, val_ids[: cfg.max_val_images], cfg.size)
        self.steps_per_epoch = math.ceil(len(self.train_set) / cfg.batch_size)
        self._initialise_or_resume()

    def _initialise_or_resume(self) -> None:
        """Model, EMA, optimiser and schedule: from ``last.pt`` if the run folder has one, else
        from the architecture's start weights."""
        cfg, arch, last = self.cfg, self.arch, self.out / "last.pt"
        ckpt = weights.read_checkpoint(last) if last.is_file() else None
        if ckpt is not None:
            model = arch.build(cfg.dropout)
            model.load_state_dict(ckpt["model"])
            self.state = ckpt["state"]
        else:
            n = min(8, len(self.val_set))
            calib = torch.stack([self.val_set[k][0] for k in range(n)] or [self.train_set[0][0]])
            model = initial_cloth_model(cfg.arch, cfg.init or arch.default_init, cfg.dropout, calib)
            self.state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best": -1.0, "history": []}
        # NHWC: faster convolutions (oneDNN, cuDNN)
        self.model = model.to(self.dev, memory_format=torch.channels_last).train()
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False) if cfg.ema_decay else None
        if self.ema is not None and ckpt is not None and ckpt.get("ema") is not None:
            self.ema.load_state_dict(ckpt["ema"])
        self.evaluated = self.ema if self.ema is not None else self.model
        total = cfg.epochs * self.steps_per_epoch
        self.opt = torch.optim.AdamW(_param_groups(self.model, arch, cfg), lr=cfg.lr,
                                     weight_decay=cfg.weight_decay)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: _lr_factor(s, total, cfg.warmup_steps))
        if ckpt is not None:
            self.opt.load_state_dict(ckpt["optimizer"])
            self.sched.load_state_dict(ckpt["scheduler"])
        self.class_weight = (torch.tensor(cfg.class_weights, dtype=torch.float32, device=self.dev)
                             if cfg.class_weights else None)
        precision = "fp32" if (cfg.precision == "auto" and self.dev.type == "cpu"
                               and not arch.cpu_bf16) else cfg.precision
        self.amp_dtype = autocast_dtype(self.dev, precision)
        self.scaler = torch.amp.GradScaler(
            "cuda", enabled=self.amp_dtype == torch.float16 and self.dev.type == "cuda")

    def save(self, path: Path, best: bool = False) -> None:
        """Write a checkpoint atomically (``best``: the validated model — the EMA if kept)."""
        save_checkpoint(path, self.evaluated if best else self.model, self.opt, self.sched,
                        self.state, self.cfg, self.ema)

    def step(self, idx: list[int]) -> float:
        """One optimiser step on the training photos ``idx``; returns the loss."""
        cfg, dev = self.cfg, self.dev
        xs, ys = zip(*(self.train_set[k] for k in idx))
        x = torch.stack(xs).to(dev).contiguous(memory_format=torch.channels_last)
        y = torch.stack(ys).to(dev)
        with torch.autocast(dev.type, dtype=self.amp_dtype or torch.float32,
                            enabled=self.amp_dtype is not None):
            outputs = as_outputs(self.model(x))
        loss = deep_supervision_loss(outputs, y, self.class_weight, cfg.dice_weight)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        self.sched.step()
        if self.ema is not None:
            update_ema(self.ema, self.model, ema_decay_at(self.state["global_step"], cfg.ema_decay))
        self.state["global_step"] += 1
        self.state["history"].append({"step": self.state["global_step"], "loss": loss.item(),
                                      "lr": self.sched.get_last_lr()[0]})
        return loss.item()

    def epoch(self) -> bool:
        """Train the rest of the current epoch; returns True when ``max_steps`` stopped it."""
        from tqdm.auto import tqdm

        cfg, state, n = self.cfg, self.state, self.steps_per_epoch
        gen = torch.Generator().manual_seed(cfg.seed + state["epoch"])
        order = torch.randperm(len(self.train_set), generator=gen).tolist()
        running = None
        # the bar counts a step once it is done (so a run stopped by max_steps ends on n/n, not n-1)
        with tqdm(desc=f"epoch {state['epoch'] + 1}/{cfg.epochs}", disable=not cfg.progress,
                  initial=state["step_in_epoch"], total=n) as bar:
            for step in range(state["step_in_epoch"], n):
                loss = self.step(order[step * cfg.batch_size:(step + 1) * cfg.batch_size])
                running = loss if running is None else 0.9 * running + 0.1 * loss
                state["step_in_epoch"] = step + 1
                bar.set_postfix(loss=f"{running:.3f}", lr=f"{self.sched.get_last_lr()[0]:.1e}",
                                refresh=False)
                bar.update(1)
                if state["global_step"] % cfg.checkpoint_every == 0:
                    self.save(self.out / "last.pt")
                if cfg.max_steps and state["global_step"] >= cfg.max_steps:
                    return True
        return False

    def validate_and_save(self, epoch: int) -> None:
        """Validate the evaluated model, record and print the figures, keep ``best.pt``."""
        cm = validate(self.evaluated, self.val_set, self.dev)
        iou, miou = iou_per_class(cm), mean_iou_garments(cm)
        self.state["history"].append({"epoch": epoch, "step": self.state["global_step"],
                                      "val_iou": [float(v) for v in iou],
                                      "val_mean_iou_garments": miou, "time": time.time()})
        print(f"epoch {epoch} (step {self.state['global_step']}, {time.strftime('%H:%M:%S')}): "
              f"val IoU upper {iou[1]:.3f} lower {iou[2]:.3f} full {iou[3]:.3f} "
              f"mean_iou_garments={miou:.4f}", flush=True)
        if miou > self.state["best"]:
            self.state["best"] = miou
            self.save(self.out / "best.pt", best=True)


def train(cfg: TrainConfig) -> dict:
    """Train (or resume) and return the run's summary; writes ``last.pt``, ``best.pt``, ``history.json``."""
    if cfg.arch == "maskrcnn":
        from .instances.training import train_instances
        return train_instances(cfg)
    run = _Run(cfg)
    state = run.state
    stop = False
    while state["epoch"] < cfg.epochs and not stop:
        epoch = state["epoch"]
        stop = run.epoch()
        finished = state["step_in_epoch"] >= run.steps_per_epoch
        due = (epoch + 1) % max(1, cfg.val_every) == 0 or epoch + 1 == cfg.epochs
        if finished:  # a run that max_steps stopped on an epoch's last step finished that epoch
            state["epoch"] += 1
            state["step_in_epoch"] = 0
        if stop or (finished and due):
            run.validate_and_save(epoch + 1)
        if finished or stop:
            run.save(run.out / "last.pt")
    (run.out / "history.json").write_text(json.dumps(state["history"], indent=1))
    return {"best_mean_iou_garments": state["best"], "epochs": state["epoch"],
            "steps": state["global_step"], "out": str(run.out)}


def _param_groups(model: nn.Module, arch: Arch, cfg: TrainConfig) -> list[dict]:
    """One group, or two when the architecture has a pretrained backbone: its parameters learn at
    ``lr × backbone_lr_factor`` (the LambdaLR schedule scales both)."""
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


def export_half(checkpoint: str | Path, dest: str | Path) -> Path:
    """Write a training checkpoint's model as a plain fp16 state dict (the shipped file format)."""
    sd = weights.read_state_dict(checkpoint)  # a training checkpoint's "model", or a state dict
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    torch.save(half, tmp)
    tmp.replace(dest)
    return dest


def load_run(out: str | Path, which: str = "best") -> tuple[nn.Module, list[dict]]:
    """The model (``best`` or ``last``) and the history of a training run folder."""
    ckpt = weights.read_checkpoint(Path(out) / f"{which}.pt")
    config = ckpt.get("config", {})
    model = ARCHS[config.get("arch", "u2netp")].build(config.get("dropout", 0.0))
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt["state"]["history"]


def main(argv: list[str] | None = None) -> int:
    """``python -m fsutils.train …`` (see :mod:`fsutils.train_cli`)."""
    from .train_cli import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
