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
"""
from __future__ import annotations

import argparse
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
from .evaluate import confusion_matrix, iou_per_class, mean_iou_garments
from .models import U2NETP
from .models.mobilenet import VOC_BACKGROUND, VOC_PERSON, DeepLabV3, deeplab_v3_mobilenet_v2

__all__ = ["OUTPUT_LAYERS", "surgery_from_saliency", "calibrate_identity_batchnorm",
           "deep_supervision_loss", "soft_dice_loss", "autocast_dtype", "deeplab_head_surgery", "deeplab_from_registry", "ARCHS", "update_ema", "ema_decay_at", "TrainConfig",
           "train", "export_half", "load_run", "plot_history", "show_examples"]

#: Layers whose shape depends on the number of output classes; everything else is transferred.
OUTPUT_LAYERS = tuple(f"side{i}" for i in range(1, 7)) + ("outconv",)


def surgery_from_saliency(state_dict: dict[str, torch.Tensor], num_classes: int = 4) -> tuple[U2NETP, list[str]]:
    """A ``U2NETP(3, num_classes)`` with every non-output layer copied from a saliency checkpoint.

    Returns the model and the names of the freshly initialised parameters (the output layers).
    """
    model = U2NETP(3, num_classes)
    kept = {k: v for k, v in state_dict.items() if k.split(".")[0] not in OUTPUT_LAYERS}
    missing, unexpected = model.load_state_dict(kept, strict=False)
    if unexpected or any(k.split(".")[0] not in OUTPUT_LAYERS for k in missing):
        raise ValueError(f"the saliency checkpoint does not fit U2NETP: unexpected {unexpected[:5]}, "
                         f"missing {[k for k in missing if k.split('.')[0] not in OUTPUT_LAYERS][:5]}; "
                         "pass the u2netp.pth saliency weights.")
    return model, sorted(missing)


@torch.no_grad()
def calibrate_identity_batchnorm(model: nn.Module, batch: torch.Tensor) -> int:
    """Give BatchNorm layers that hold identity statistics the statistics of real data.

    Checkpoints with BatchNorm folded into the convolutions (such as the recovered ``u2netp.pth``)
    have BN layers with mean 0, variance 1, weight 1, bias 0. In training mode BN would then
    re-normalise every activation and destroy what the folded convolutions learned. Setting each
    such layer's running statistics to the batch statistics of its input and its affine parameters
    to the inverse (``weight = std``, ``bias = mean``) keeps the network's function unchanged while
    letting BN train normally. Returns the number of layers calibrated.
    """
    identity = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)
                and torch.allclose(m.running_mean, torch.zeros_like(m.running_mean))
                and torch.allclose(m.running_var, torch.ones_like(m.running_var))
                and torch.allclose(m.weight, torch.ones_like(m.weight))
                and torch.allclose(m.bias, torch.zeros_like(m.bias))]
    stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(module, inputs):
        x = inputs[0]
        stats[module] = (x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False))

    handles = [m.register_forward_pre_hook(hook) for m in identity]
    was_training = model.training
    model.eval()
    try:
        model(batch)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    for m in identity:
        mean, var = stats[m]
        m.running_mean.copy_(mean)
        m.running_var.copy_(var)
        m.bias.copy_(mean)
        m.weight.copy_(torch.sqrt(var + m.eps))
    return len(identity)


def deep_supervision_loss(outputs: tuple[torch.Tensor, ...], target: torch.Tensor,
                          weight: torch.Tensor | None = None, dice_weight: float = 0.0) -> torch.Tensor:
    """Sum of the cross-entropies of the fused output and every side output (U-2-Net's loss),
    plus ``dice_weight`` × the soft Dice loss of the garment classes on the fused output."""
    loss = sum(F.cross_entropy(o.float(), target, weight=weight) for o in outputs)
    if dice_weight:
        loss = loss + dice_weight * soft_dice_loss(outputs[0], target)
    return loss


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, classes: tuple[int, ...] = (1, 2, 3),
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
        """Named settings: ``tiny`` (seconds, for headless tests), ``demo`` (a few minutes on a
        CPU) and ``full`` (the recipe of the shipped model's second stage: 160 px, batch 8,
        cross-entropy + Dice, a 70-epoch cosine schedule whose best validation epoch is kept —
        epoch 20 for the shipped model, about 25 minutes on a 2-core CPU with bf16; 320 px on a GPU,
        untested here)."""
        presets = {
            "tiny": dict(size=64, epochs=1, batch_size=2, max_steps=3, max_train_images=8,
                         max_val_images=4, warmup_steps=1, checkpoint_every=100),
            "demo": dict(size=128, epochs=1, batch_size=4, max_steps=25, max_train_images=100,
                         max_val_images=40, warmup_steps=5),
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


def initial_model(state_dict: dict[str, torch.Tensor], num_classes: int = 4) -> tuple[U2NETP, list[str]]:
    """Start from a cloth checkpoint of the same shape (continue training, e.g. the shipped
    ``ccp_u2netp``) or, for a saliency checkpoint, by :func:`surgery_from_saliency`."""
    out = state_dict.get("outconv.weight")
    if out is not None and out.shape[0] == num_classes:
        model = U2NETP(3, num_classes)
        model.load_state_dict({k: v.float() for k, v in state_dict.items()})
        return model, []
    return surgery_from_saliency(state_dict, num_classes)


def _load_init(init: str) -> dict[str, torch.Tensor]:
    return weights.strip_module_prefix(weights.read_state_dict(init))


def deeplab_head_surgery(model: DeepLabV3, num_classes: int = 4) -> tuple[DeepLabV3, list[str]]:
    """A ``num_classes`` DeepLab whose every layer is copied from a VOC DeepLab ``model`` except
    the logits, whose class 0 is VOC *background* and classes 1… are each VOC *person*, with
    ``log(num_classes − 1)`` taken from their biases so that, at the start, the garment classes
    together are exactly as likely as *person* was. Returns the model and the re-initialised
    layer names (none: every weight comes from the VOC model)."""
    new = DeepLabV3(tuple(b.spec for b in model.backbone.blocks), num_classes=num_classes,
                    stem=model.backbone.stem.out_channels, dropout=_dropout_of(model))
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("logits.")}
    new.load_state_dict(state, strict=False)
    src = [VOC_BACKGROUND] + [VOC_PERSON] * (num_classes - 1)
    with torch.no_grad():
        new.logits.weight.copy_(model.logits.weight[src])
        new.logits.bias.copy_(model.logits.bias[src])
        new.logits.bias[1:] -= math.log(num_classes - 1)
    return new, []


def _dropout_of(model: DeepLabV3) -> float:
    return model.dropout.p if isinstance(model.dropout, nn.Dropout2d) else 0.0


def deeplab_from_registry(init: str) -> DeepLabV3:
    """The 21-class VOC DeepLab of a TFLite file: a registry name (fetched) or a ``.tflite`` path."""
    from . import tflite
    from .models.mobilenet import deeplab_from_tflite

    path = Path(init) if init.endswith(".tflite") else weights.fetch(init)
    return deeplab_from_tflite(tflite.read(path))


def _deeplab_init(init: str, dropout: float) -> tuple[nn.Module, list[str]]:
    """A 4-class DeepLab from a DeepLab TFLite file (registry name or ``.tflite`` path: head
    surgery) or from a 4-class cloth checkpoint (continue training)."""
    if init.endswith(".tflite") or (init in weights.REGISTRY and weights.get(init).format == "tflite"):
        model, fresh = deeplab_head_surgery(deeplab_from_registry(init))
        model.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        return model, fresh
    model = deeplab_v3_mobilenet_v2(4, dropout=dropout)
    weights.load_state_dict(model, {k: v.float() for k, v in weights.read_state_dict(init).items()})
    return model, []


@dataclass(frozen=True)
class Arch:
    """A trainable cloth architecture: how to build it empty, and which parameters form the
    pretrained backbone (they learn at ``lr × backbone_lr_factor``)."""

    name: str
    build: object            # (dropout) -> nn.Module with 4 outputs
    default_init: str
    backbone_prefix: str | None
    cpu_bf16: bool = True    # "auto" precision may use bf16 autocast on a CPU


ARCHS: dict[str, Arch] = {
    "u2netp": Arch("u2netp", lambda dropout: U2NETP(3, 4), "u2netp", None),
    "deeplab": Arch("deeplab", lambda dropout: deeplab_v3_mobilenet_v2(4, dropout=dropout),
                    "tflite/deeplabv3_mnv2_pascal_quant", "backbone.",
                    # measured on a 2-core CPU with native bf16: a 385-px step of 8 photos takes
                    # 1.6 s in fp32 but 20-120 s under bf16 autocast (depthwise convolutions)
                    cpu_bf16=False),
}


def as_outputs(out) -> tuple[torch.Tensor, ...]:
    """The network's outputs as a tuple whose first entry is the main (fused) logits: U2NETP
    returns seven (deep supervision), DeepLab one tensor."""
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


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


def train(cfg: TrainConfig) -> dict:
    """Train (or resume) and return the run's summary; writes ``last.pt``, ``best.pt``, ``history.json``."""
    from tqdm.auto import tqdm

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.device:
        dev = torch.device(cfg.device)
    else:
        from .env import device as pick_device
        dev = pick_device()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)

    train_ids, val_ids = split_ids(list_ids(cfg.ccp_root))
    train_ids = train_ids[: cfg.max_train_images]
    val_ids = val_ids[: cfg.max_val_images]
    train_set = CCPDataset(cfg.ccp_root, train_ids, cfg.size, augment=Augment.named(cfg.augment), seed=cfg.seed)
    val_set = CCPDataset(cfg.ccp_root, val_ids, cfg.size)

    steps_per_epoch = math.ceil(len(train_set) / cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    last = out / "last.pt"
    if cfg.arch not in ARCHS:
        raise ValueError(f"unknown architecture {cfg.arch!r}; choose one of {sorted(ARCHS)}")
    arch = ARCHS[cfg.arch]
    if last.is_file():
        ckpt = weights.read_checkpoint(last)
        model = U2NETP(3, 4)
        ckpt = torch.load(last, map_location="cpu", weights_only=True)
        model = arch.build(cfg.dropout)
        model.load_state_dict(ckpt["model"])
        state = ckpt["state"]
        ema_state = ckpt.get("ema")
    else:
        init = cfg.init or arch.default_init
        if cfg.arch == "deeplab":
            model, fresh = _deeplab_init(init, cfg.dropout)
        else:
            model, fresh = initial_model(_load_init(init))
            calib = torch.stack([val_set[k][0] for k in range(min(8, len(val_set)))] or [train_set[0][0]])
            calibrate_identity_batchnorm(model, calib)
        ckpt = ema_state = None
        state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best": -1.0, "history": []}
    model.to(dev, memory_format=torch.channels_last).train()  # NHWC: faster convolutions (oneDNN, cuDNN)
    ema = copy.deepcopy(model).eval().requires_grad_(False) if cfg.ema_decay else None
    if ema is not None and ema_state is not None:
        ema.load_state_dict(ema_state)
    evaluated = ema if ema is not None else model
    opt = torch.optim.AdamW(_param_groups(model, arch, cfg), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, total_steps, cfg.warmup_steps))
    if ckpt is not None:
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
    class_weight = torch.tensor(cfg.class_weights, dtype=torch.float32, device=dev) if cfg.class_weights else None
    precision = "fp32" if (cfg.precision == "auto" and dev.type == "cpu" and not arch.cpu_bf16) \
        else cfg.precision
    amp_dtype = autocast_dtype(dev, precision)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16 and dev.type == "cuda")

    def save(path: Path, best: bool = False) -> None:
        tmp = path.with_suffix(".tmp")
        ckpt = {"model": (evaluated if best else model).state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "state": state, "config": {**asdict(cfg), "history": []}}
        if ema is not None:
            ckpt["ema"] = ema.state_dict()
        torch.save(ckpt, tmp)
        tmp.replace(path)

    stop = False
    while state["epoch"] < cfg.epochs and not stop:
        epoch = state["epoch"]
        order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(cfg.seed + epoch)).tolist()
        bar = tqdm(range(state["step_in_epoch"], steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   disable=not cfg.progress, initial=state["step_in_epoch"], total=steps_per_epoch)
        running = None
        for step in bar:
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            xs, ys = zip(*(train_set[k] for k in idx))
            x = torch.stack(xs).to(dev).contiguous(memory_format=torch.channels_last)
            y = torch.stack(ys).to(dev)
            with torch.autocast(dev.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                outputs = as_outputs(model(x))
            loss = deep_supervision_loss(outputs, y, class_weight, cfg.dice_weight)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            if ema is not None:
                update_ema(ema, model, ema_decay_at(state["global_step"], cfg.ema_decay))
            running = loss.item() if running is None else 0.9 * running + 0.1 * loss.item()
            state["global_step"] += 1
            state["step_in_epoch"] = step + 1
            state["history"].append({"step": state["global_step"], "loss": loss.item(),
                                     "lr": sched.get_last_lr()[0]})
            bar.set_postfix(loss=f"{running:.3f}", lr=f"{sched.get_last_lr()[0]:.1e}")
            if state["global_step"] % cfg.checkpoint_every == 0:
                save(last)
            if cfg.max_steps and state["global_step"] >= cfg.max_steps:
                stop = True
                break
        finished = state["step_in_epoch"] >= steps_per_epoch
        due = (epoch + 1) % max(1, cfg.val_every) == 0 or epoch + 1 == cfg.epochs
        if finished and not stop:
            state["epoch"] += 1
            state["step_in_epoch"] = 0
        if stop or (finished and due):
            cm = validate(evaluated, val_set, dev)
            iou = iou_per_class(cm)
            miou = mean_iou_garments(cm)
            record = {"epoch": epoch + 1, "step": state["global_step"], "val_iou": [float(v) for v in iou],
                      "val_mean_iou_garments": miou, "time": time.time()}
            state["history"].append(record)
            print(f"epoch {epoch + 1} (step {state['global_step']}, {time.strftime('%H:%M:%S')}): "
                  f"val IoU upper {iou[1]:.3f} lower {iou[2]:.3f} full {iou[3]:.3f} "
                  f"mean_iou_garments={miou:.4f}", flush=True)
            if miou > state["best"]:
                state["best"] = miou
                save(out / "best.pt", best=True)
        if finished or stop:
            save(last)
    (out / "history.json").write_text(json.dumps(state["history"], indent=1))
    return {"best_mean_iou_garments": state["best"], "epochs": state["epoch"], "steps": state["global_step"],
            "out": str(out)}


def _param_groups(model: nn.Module, arch: Arch, cfg: TrainConfig) -> list[dict]:
    """One group, or two when the architecture has a pretrained backbone: its parameters learn at
    ``lr × backbone_lr_factor`` (the LambdaLR schedule scales both)."""
    if arch.backbone_prefix is None or cfg.backbone_lr_factor == 1.0:
        return [{"params": list(model.parameters())}]
    named = list(model.named_parameters())
    backbone = [p for n, p in named if n.startswith(arch.backbone_prefix)]
    rest = [p for n, p in named if not n.startswith(arch.backbone_prefix)]
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
    model = U2NETP(3, 4)
    ckpt = torch.load(Path(out) / f"{which}.pt", map_location="cpu", weights_only=True)
    config = ckpt.get("config", {})
    model = ARCHS[config.get("arch", "u2netp")].build(config.get("dropout", 0.0))
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt["state"]["history"]


def plot_history(history: list[dict], smooth: int = 10):
    """Figure: training loss per step (raw and smoothed) and validation IoU per epoch."""
    import matplotlib.pyplot as plt

    steps = [h for h in history if "loss" in h]
    epochs = [h for h in history if "val_iou" in h]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6))
    if steps:
        x = np.array([h["step"] for h in steps])
        y = np.array([h["loss"] for h in steps])
        a.plot(x, y, alpha=0.35, label="loss (sum of 7 outputs)")
        if len(y) >= smooth:
            a.plot(x[smooth - 1:], np.convolve(y, np.ones(smooth) / smooth, "valid"), label=f"mean of {smooth}")
    a.set(xlabel="step", ylabel="deep-supervision loss", title="training loss")
    a.legend()
    if epochs:
        e = [h["epoch"] for h in epochs]
        for c, name in ((1, "upper body"), (2, "lower body"), (3, "full body")):
            b.plot(e, [h["val_iou"][c] for h in epochs], "o-", label=name)
        b.plot(e, [h["val_mean_iou_garments"] for h in epochs], "k--", label="mean (garments)")
    b.set(xlabel="epoch", ylabel="IoU", ylim=(0, 1), title="validation IoU")
    b.legend()
    fig.tight_layout()
    return fig


def show_examples(ccp_root: str | Path, ids: list[str], segmenters: dict | None = None):
    """Figure: for each photo id, the photo, its 4-class ground truth and each segmenter's prediction
    (``segmenters`` maps a title to anything with ``.predict(photo) -> labels``)."""
    import matplotlib.pyplot as plt

    from .data import label_lookup, load_labels, load_photo, read_label_names
    from .segment import colorize

    segmenters = segmenters or {}
    lookup = label_lookup(read_label_names(ccp_root))
    cols = 2 + len(segmenters)
    fig, axes = plt.subplots(len(ids), cols, figsize=(2.4 * cols, 3.4 * len(ids)), squeeze=False)
    for row, image_id in zip(axes, ids):
        photo = load_photo(ccp_root, image_id)
        panels = [("photo " + image_id, photo), ("ground truth", colorize(load_labels(ccp_root, image_id, lookup)))]
        panels += [(title, colorize(seg.predict(photo))) for title, seg in segmenters.items()]
        for ax, (title, img) in zip(row, panels):
            ax.imshow(img)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    return fig


_HELP = {
    "out": "run folder: last.pt, best.pt, history.json (an existing run resumes)",
    "arch": "deeplab (DeepLabV3-MobileNetV2 from COCO/VOC, the default model's recipe) or u2netp",
    "init": "start weights (default: the architecture's pretrained file: the DeepLab TFLite file, "
            "or the saliency u2netp), or a cloth checkpoint of the same architecture to continue",
    "backbone_lr_factor": "the pretrained backbone learns at lr times this (e.g. 0.25)",
    "dropout": "DeepLab: dropout probability before the logits",
    "size": "square training input size in pixels",
    "warmup_steps": "linear learning-rate warm-up steps before the cosine decay",
    "dice_weight": "weight of the soft Dice term on the fused output (0 = cross-entropy only)",
    "precision": "auto (bf16 on CPUs with native bf16, fp16 on CUDA), fp32, bf16 or fp16",
    "val_every": "validate every N epochs (and after the last)",
    "augment": "default, strong (small crops, strong jitter) or context (crops keep most of the figure)",
    "ema_decay": "keep an exponential moving average of the weights (e.g. 0.998); it is validated "
                 "and saved as best.pt",
    "checkpoint_every": "write last.pt every N steps",
    "max_steps": "stop after N steps (quick checks)",
    "threads": "CPU threads for torch",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fsutils.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    d = TrainConfig(ccp_root="")
    p.add_argument("--ccp-root", required=True)
    for name in ("out", "arch", "init", "size", "epochs", "batch_size", "lr", "weight_decay",
                 "backbone_lr_factor", "dropout", "warmup_steps",
                 "dice_weight", "precision", "val_every", "augment", "ema_decay", "checkpoint_every",
                 "max_steps", "max_train_images", "max_val_images", "seed", "device", "threads"):
        default = getattr(d, name)
        kind = type(default) if default is not None else {"device": str, "init": str,
                                                          "ema_decay": float}.get(name, int)
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=default, help=_HELP.get(name))
    p.add_argument("--class-weights", type=lambda t: tuple(float(v) for v in t.split(",")), default=None,
                   metavar="W0,W1,W2,W3", help="cross-entropy weights of the 4 classes, e.g. 1,2,2,2")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--export", metavar="DEST", help="after training, export best.pt as fp16 to DEST")
    return p


def main(argv: list[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    export = args.pop("export")
    args["progress"] = not args.pop("no_progress")
    summary = train(TrainConfig(**args))
    print(json.dumps(summary))
    if export:
        print("exported", export_half(Path(summary["out"]) / "best.pt", export))
    return 0


if __name__ == "__main__":
    sys.exit(main())
