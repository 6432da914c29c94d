"""Training the garment-swap CAGAN on Clothing Co-Parsing triplets.

    python -m fsutils.train --arch cagan --ccp-root DIR --out runs/cagan [--steps 9000]

Adam (lr 2e-4, β₁ 0.5) for the generator and the discriminator, one step of each per batch.
The run folder gets ``last.pt`` (generator under ``"model"``, discriminator, both optimisers,
progress and the loss history) every ``--checkpoint-minutes`` and at the end, ``best.pt`` (the
generator with the lowest validation ``known_l1``), ``history.json`` (losses per step and the
validation figures), and half-precision generator snapshots ``generator_step<N>.pt`` at the
steps of ``--snapshots`` (to show training stages). Running the same command again resumes
from ``last.pt``. CUDA is used when available.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch

from fsutils import data as ccp
from fsutils import weights as W
from fsutils.models.cagan import (CAGANDiscriminator, CAGANGenerator, LossWeights,
                                  discriminator_loss, generator_from_state_dict, generator_loss)

from .data import SIZE, SwapDataset
from ..evaluation.swap import known_answer_cases, score_generator

__all__ = ["SwapTrainConfig", "generator_step", "discriminator_step", "SwapRun", "train",
           "export_generator", "main"]


@dataclass
class SwapTrainConfig:
    """Settings of a CAGAN training run (each is a ``--flag`` of the command)."""

    ccp_root: str
    out: str = "runs/cagan"
    height: int = SIZE[0]
    width: int = SIZE[1]
    garments: str = "upper"
    base_channels: int = 32
    disc_channels: int = 32
    batch_size: int = 16
    lr: float = 2e-4
    beta1: float = 0.5
    lambda_id: float = LossWeights.identity
    lambda_cyc: float = LossWeights.cycle
    ema: float = 0.999
    steps: int = 9000
    max_steps: int | None = None
    checkpoint_minutes: float = 5.0
    val_every: int = 500
    val_images: int = 48
    snapshots: str = "1,4000,9000"
    max_train_images: int | None = None
    seed: int = 0
    device: str | None = None
    threads: int | None = None
    progress: bool = True

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def garment_labels(self) -> tuple[int, ...]:
        """The garments as cloth-model label indices (``"upper"`` → ``(1,)``)."""
        return _semantic_garments(self.garments)

    @property
    def loss_weights(self) -> LossWeights:
        return LossWeights(identity=self.lambda_id, cycle=self.lambda_cyc)

    @property
    def snapshot_steps(self) -> set[int]:
        return {int(s) for s in self.snapshots.split(",") if s.strip()}

    def check(self) -> None:
        """Refuse bad settings before any work starts."""
        if self.height % 16 or self.width % 16 or min(self.height, self.width) < 16:
            raise ValueError(f"--height and --width must be multiples of 16 (the generator "
                             f"down-samples 4 times), got {self.height}×{self.width}")
        if self.batch_size < 2:
            raise ValueError("--batch-size must be ≥ 2 (the discriminator uses BatchNorm)")
        if self.steps < 1 or self.lr <= 0 or self.val_every < 1 or self.val_images < 1:
            raise ValueError("--steps, --lr, --val-every and --val-images must be positive")
        if self.lambda_id < 0 or self.lambda_cyc < 0:
            raise ValueError("--lambda-id and --lambda-cyc must be ≥ 0")
        if not 0 <= self.ema < 1:
            raise ValueError(f"--ema must be in [0, 1) (0: no average), got {self.ema}")
        self.snapshot_steps  # noqa: B018  (a malformed list raises here)
        self.garment_labels  # noqa: B018  (garments the cloth model does not have raise here)


def _semantic_garments(garments: str) -> tuple[int, ...]:
    """``"upper"``, ``"upper,lower"`` or ``"1,2"`` → label indices; instance classes and unknown
    names are refused (the swap is trained on the cloth model's semantic classes)."""
    from fsutils.garments import DEFAULT_GARMENTS, is_instance_choice, resolve_garments

    parts = [g.strip() for g in str(garments).split(",") if g.strip()]
    try:
        chosen = resolve_garments([int(g) if g.isdigit() else g for g in parts]) if parts else ()
    except ValueError as e:
        raise ValueError(f"--garments: {e}") from None
    if not chosen or is_instance_choice(chosen) or not set(chosen) <= set(DEFAULT_GARMENTS):
        raise ValueError(f"--garments must list semantic classes upper, lower or full (or 1-3), "
                         f"got {garments!r}: the swap is trained on the cloth model's classes")
    return chosen


def generator_step(G: CAGANGenerator, D: CAGANDiscriminator, opt: torch.optim.Optimizer,
                   batch: tuple[torch.Tensor, ...], weights: LossWeights = LossWeights()):
    """One optimiser step of the generator (the discriminator is not updated); returns the loss
    parts and the forward swap."""
    x_i, y_i, y_j = batch[:3]
    D.requires_grad_(False)
    loss, parts, fwd = generator_loss(G, D, x_i, y_i, y_j, weights)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    D.requires_grad_(True)
    return parts, fwd


def discriminator_step(D: CAGANDiscriminator, opt: torch.optim.Optimizer,
                       batch: tuple[torch.Tensor, ...], x_ij: torch.Tensor,
                       weights: LossWeights = LossWeights()) -> float:
    """One optimiser step of the discriminator on real, fake and mismatched pairs."""
    x_i, y_i, y_j = batch[:3]
    loss = discriminator_loss(D, x_i, y_i, y_j, x_ij, weights)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def _averaged(G: CAGANGenerator, decay: float) -> torch.optim.swa_utils.AveragedModel:
    """An exponential moving average of ``G``'s weights (torch's ``AveragedModel``): each step
    moves it ``1 − decay`` of the way to the trained weights. GAN generators' averaged weights are
    usually steadier than the last step's; validation decides which one is kept."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def export_generator(checkpoint: str | Path, dest: str | Path) -> Path:
    """Write a run's generator (``last.pt``, ``best.pt``, or a state dict) as a plain fp16 state
    dict, the shipped format (the kit's one export, :func:`fsutils.train.export_half`)."""
    from fsutils.train import export_half

    generator_from_state_dict(W.read_state_dict(checkpoint))  # refuses anything but a generator
    return export_half(checkpoint, dest)


class SwapRun:
    """One run's data, networks, optimisers and progress; :func:`train` drives it."""

    def __init__(self, cfg: SwapTrainConfig):
        cfg.check()
        from fsutils.env import device as pick_device

        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.cfg, self.dev = cfg, pick_device(cfg.device)
        self.out = Path(cfg.out)
        last = self.out / "last.pt"
        ckpt = W.read_checkpoint(last) if last.is_file() else None
        if ckpt is not None:
            self._check_same_run(ckpt.get("config", {}))
        torch.manual_seed(cfg.seed)
        ids = ccp.list_ids(cfg.ccp_root)
        train_ids = ccp.ids_in_split(ids, "train")[: cfg.max_train_images]
        val_ids = ccp.ids_in_split(ids, "val")[: cfg.val_images]
        garments = cfg.garment_labels
        self.train_set = SwapDataset(cfg.ccp_root, train_ids, cfg.size, garments, seed=cfg.seed,
                                     progress=cfg.progress)
        self.val_cases = [c for c, _ in known_answer_cases(cfg.ccp_root, val_ids, cfg.size, garments)]
        self.out.mkdir(parents=True, exist_ok=True)
        self.G = CAGANGenerator(cfg.base_channels).to(self.dev).train()
        self.D = CAGANDiscriminator(cfg.disc_channels).to(self.dev).train()
        betas = (cfg.beta1, 0.999)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)
        self.ema = _averaged(self.G, cfg.ema) if cfg.ema else None
        self.state = {"step": 0, "best": float("inf"), "history": [], "seconds": 0.0}
        if ckpt is not None:
            self._resume(ckpt)

    def _check_same_run(self, saved: dict) -> None:
        saved = dict(saved)
        if "classes" in saved:  # runs written before the option was called garments
            saved.setdefault("garments", saved.pop("classes"))
        for key in ("height", "width", "garments", "base_channels", "disc_channels"):
            if key not in saved:
                continue
            same = (_semantic_garments(saved[key]) == self.cfg.garment_labels if key == "garments"
                    else saved[key] == getattr(self.cfg, key))
            if not same:
                raise ValueError(f"{self.out} holds a run with {key}={saved[key]}, not "
                                 f"{getattr(self.cfg, key)}; use the same settings to resume, "
                                 "or another --out for a new run.")

    def _resume(self, ckpt: dict) -> None:
        self.G.load_state_dict(ckpt["model"])
        self.D.load_state_dict(ckpt["discriminator"])
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        if self.ema is not None and "ema" in ckpt:
            self.ema.load_state_dict(ckpt["ema"])
        self.state = ckpt["state"]
        self.train_set.rng = np.random.default_rng((self.cfg.seed, self.state["step"]))

    def save(self) -> None:
        _atomic_save({"model": self.G.state_dict(), "discriminator": self.D.state_dict(),
                      "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                      **({"ema": self.ema.state_dict()} if self.ema is not None else {}),
                      "state": self.state, "config": asdict(self.cfg)}, self.out / "last.pt")
        (self.out / "history.json").write_text(json.dumps(self.state["history"], indent=1))

    def _order(self, epoch: int) -> list[int]:
        gen = torch.Generator().manual_seed(self.cfg.seed + epoch)
        return torch.randperm(len(self.train_set), generator=gen).tolist()

    def batch_at(self, step: int) -> tuple[torch.Tensor, ...]:
        """The training batch of optimiser step ``step`` (0-based; epochs of shuffled photos)."""
        b, n = self.cfg.batch_size, len(self.train_set)
        per_epoch = max(1, n // b)
        epoch, k = divmod(step, per_epoch)
        order = self._order(epoch)
        idx = [order[(k * b + t) % n] for t in range(b)]
        return tuple(t.to(self.dev) for t in self.train_set.batch(idx))

    def step(self) -> dict:
        """One generator and one discriminator step; appends the losses to the history."""
        t0 = time.perf_counter()
        batch = self.batch_at(self.state["step"])
        w = self.cfg.loss_weights
        parts, fwd = generator_step(self.G, self.D, self.opt_g, batch, w)
        d = discriminator_step(self.D, self.opt_d, batch, fwd.x_ij.detach(), w)
        if self.ema is not None:
            self.ema.update_parameters(self.G)
        if self.dev.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        self.state["step"] += 1
        self.state["seconds"] += seconds
        row = {"step": self.state["step"], "d": d, **parts, "seconds": seconds}
        self.state["history"].append(row)
        return row

    def validate(self) -> dict:
        """Known-answer figures on the validation photos of the generator and of its running
        average (``val_*`` and ``val_*_ema``); ``best.pt`` keeps whichever of the two has the
        lowest ``known_l1`` so far (its ``"weights"`` says which)."""
        row: dict = {"step": self.state["step"]}
        candidates = {"": self.G, "_ema": None if self.ema is None else self.ema.module}
        for suffix, G in candidates.items():
            if G is None:
                continue
            s = score_generator(G, self.val_cases).summary()
            row.update({f"val_alpha_iou{suffix}": s["cagan"]["mask_iou"],
                        f"val_outside_l1{suffix}": s["cagan"]["outside_l1"],
                        f"val_known_l1{suffix}": s["cagan"]["known_l1"]})
            row["val_known_l1_nothing"] = s["nothing"]["known_l1"]
            if row[f"val_known_l1{suffix}"] < self.state["best"]:
                self.state["best"] = row[f"val_known_l1{suffix}"]
                _atomic_save({"model": G.state_dict(), "weights": "ema" if suffix else "raw",
                              "state": {"step": self.state["step"]},
                              "config": asdict(self.cfg)}, self.out / "best.pt")
        row["time"] = time.time()
        self.state["history"].append(row)
        return row


def train(cfg: SwapTrainConfig, run: SwapRun | None = None) -> dict:
    """Train (or resume) until ``cfg.steps`` (or ``cfg.max_steps`` more steps); returns a summary."""
    from tqdm.auto import tqdm

    run = run or SwapRun(cfg)
    state = run.state
    stop = cfg.steps if cfg.max_steps is None else min(cfg.steps, state["step"] + cfg.max_steps)
    last_save = time.monotonic()
    bar = tqdm(total=stop, initial=state["step"], desc="cagan", disable=not cfg.progress)
    while state["step"] < stop:
        row = run.step()
        bar.update(1)
        bar.set_postfix(d=f"{row['d']:.3f}", g=f"{row['g']:.3f}", s=f"{row['seconds']:.2f}")
        if state["step"] in cfg.snapshot_steps:  # a training stage to show later
            run.save()
            export_generator(run.out / "last.pt", run.out / f"generator_step{state['step']}.pt")
        if state["step"] % cfg.val_every == 0 or state["step"] == stop:
            v = run.validate()
            print(f"step {v['step']}: val alpha_iou={v['val_alpha_iou']:.4f} "
                  f"outside_l1={v['val_outside_l1']:.4f} known_l1={v['val_known_l1']:.4f} "
                  f"(nothing {v['val_known_l1_nothing']:.4f})"
                  + (f"; average: alpha_iou={v['val_alpha_iou_ema']:.4f} "
                     f"outside_l1={v['val_outside_l1_ema']:.4f} "
                     f"known_l1={v['val_known_l1_ema']:.4f}" if "val_known_l1_ema" in v else ""),
                  file=sys.stderr, flush=True)
        if time.monotonic() - last_save >= 60 * cfg.checkpoint_minutes or state["step"] == stop:
            run.save()
            last_save = time.monotonic()
    bar.close()
    run.save()
    losses = [r for r in state["history"] if "g" in r]
    return {"steps": state["step"], "best_val_known_l1": state["best"], "out": str(run.out),
            "seconds_per_step": state["seconds"] / max(1, len(losses))}


_HELP = {
    "out": "run folder: last.pt, best.pt, history.json, generator_step<N>.pt (an existing run resumes)",
    "height": "crop height in pixels (multiple of 16)",
    "width": "crop width in pixels (multiple of 16)",
    "garments": "garments to swap, comma-separated semantic classes: upper (default), lower, full (or 1-3)",
    "base_channels": "generator channels at the first U-Net level",
    "disc_channels": "discriminator channels at its first layer",
    "lambda_id": "weight of mean|α| (keep the change small)",
    "lambda_cyc": "weight of the swap-back L1",
    "ema": "decay of the generator's running average, validated beside it (0: none)",
    "steps": "train until this many steps in all",
    "max_steps": "stop after N more steps in this call (quick checks)",
    "checkpoint_minutes": "write last.pt at most this often (and at the end)",
    "val_every": "validate every N steps (and at the end)",
    "val_images": "validation photos for the known-answer figures",
    "snapshots": "comma-separated steps at which to keep a half-precision generator",
    "max_train_images": "use only the first N training photos",
    "threads": "CPU threads for torch",
}


def _types() -> dict:
    """The range of each number of the command line (:mod:`fsutils.args`: refused with exit
    status 2 before any work), and the type of the options whose default is None."""
    from fsutils.args import device, multiple_of, number, whole

    return {"height": multiple_of(16, 16), "width": multiple_of(16, 16),
            "base_channels": whole(1), "disc_channels": whole(1),
            "batch_size": whole(2),  # the discriminator uses BatchNorm
            "lr": number(low=0, low_ok=False), "beta1": number(low=0, high=1, high_ok=False),
            "lambda_id": number(low=0), "lambda_cyc": number(low=0),
            "ema": number(low=0, high=1, high_ok=False), "steps": whole(1),
            "max_steps": whole(1), "checkpoint_minutes": number(low=0), "val_every": whole(1),
            "val_images": whole(1), "max_train_images": whole(1), "seed": whole(0),
            "device": device, "threads": whole(1)}


def _parser() -> argparse.ArgumentParser:
    from fsutils.args import Parser, add_config_arguments

    p = Parser(prog="python -m fsutils.train --arch cagan", description=__doc__,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=("cagan",), default="cagan")
    p.add_argument("--ccp-root", required=True)
    add_config_arguments(p, SwapTrainConfig(ccp_root=""),
                         [f.name for f in fields(SwapTrainConfig)
                          if f.name not in ("ccp_root", "progress")],
                         _HELP, _types(), aliases={"garments": ["--classes"]})
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--export", metavar="DEST",
                   help="after training, export the best generator as fp16 to DEST")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = vars(parser.parse_args(argv))
    args.pop("arch")
    export = args.pop("export")
    args["progress"] = not args.pop("no_progress")
    cfg = SwapTrainConfig(**args)
    try:
        cfg.check()
    except ValueError as e:  # a bad option: exit 2, like the numbers refused while parsing
        parser.error(str(e))
    try:
        run = SwapRun(cfg)  # refuses a run folder of other settings before training
    except (ValueError, ccp.CCPError) as e:
        raise SystemExit(f"error: {e}") from None
    summary = train(cfg, run)
    print(json.dumps(summary))
    if export:
        print("exported", export_generator(Path(summary["out"]) / "best.pt", export))
    return 0
