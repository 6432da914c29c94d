"""The garment-swap CAGAN as a training task (``python -m fsutils.train swap``): Adam (lr 2e-4,
β₁ 0.5) for the generator and the discriminator, one step of each per batch, on Clothing
Co-Parsing triplets; validated by the known-answer test (``known_l1``, lower is better) on
validation photos. Besides ``last.pt`` and ``best.pt`` the run folder gets half-precision
generator snapshots ``generator_step<N>.pt`` at the steps of ``snapshots`` (training stages to
show)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ..args import multiple_of, number, whole
from ..data import ids_in_split, list_ids
from ..evaluation.swap import known_answer_cases, score_generator
from ..models.cagan import (CAGANDiscriminator, CAGANGenerator, LossWeights, discriminator_loss,
                            generator_from_state_dict, generator_loss)
from ..evaluation.cross_swap import CrossScores, cross_figures, cross_pairs
from ..swap.data import SIZE, Example, SwapDataset, ccp_examples, from_tensor, to_tensor
from ..swap.garment import alpha_limit
from .config import MAX_SIZE, RunConfig, param
from .engine import Task
from .export import export_half

__all__ = ["SwapTrainConfig", "SwapTask", "initial_generator", "generator_step", "discriminator_step",
           "export_generator", "semantic_garments", "perceptual_network", "crop_cross_swaps"]


@dataclass
class SwapTrainConfig(RunConfig):
    """Settings of a CAGAN run (each is a ``--flag`` of ``python -m fsutils.train swap``)."""

    out: str = param("runs/cagan", "run folder: last.pt, best.pt, history.json, "
                     "generator_step<N>.pt (an existing run resumes)")
    height: int = param(SIZE[0], "crop height in pixels (multiple of 16)", multiple_of(16, 16))
    width: int = param(SIZE[1], "crop width in pixels (multiple of 16)", multiple_of(16, 16))
    garments: str = param("upper", "garments to swap, comma-separated semantic classes: upper "
                          "(default), lower, full (or 1-3)", aliases=("--classes",))
    init: str | None = param(None, "start the generator from these weights: a registry name "
                             "(ccp_cagan) or a file (a run's best.pt or an export); trained at "
                             "any size, it fine-tunes at --height × --width (default: from "
                             "scratch; the discriminator always starts from scratch)", str)
    disc_warmup: int = param(0, "first steps in which only the discriminator learns (the "
                             "generator frozen): a run that starts a trained generator (--init) "
                             "with a new discriminator needs a few hundred, or the generator "
                             "first learns to change nothing", whole(0))
    base_channels: int = param(32, "generator channels at the first U-Net level", whole(1))
    disc_channels: int = param(32, "discriminator channels at its first layer", whole(1))
    batch_size: int = param(16, "triplets per step (≥ 2: the discriminator uses BatchNorm)", whole(2))
    lr: float = param(2e-4, "Adam learning rate of both networks", number(low=0, low_ok=False))
    beta1: float = param(0.5, "Adam β₁", number(low=0, high=1, high_ok=False))
    lambda_id: float = param(LossWeights.identity, "weight of mean|α| (keep the change small)", number(low=0))
    lambda_cyc: float = param(LossWeights.cycle, "weight of the swap-back L1", number(low=0))
    lambda_perceptual: float = param(LossWeights.perceptual, "weight of the swap-back L1 on the "
                                     "feature maps of the kit's ImageNet MobileNetV2 (a "
                                     "perceptual term; 0: off)", number(low=0))
    val_cross: int = param(0, "validation photos also swapped between each other at crop size "
                           "(cross swaps: spill, colour moved, coverage, sharpness; 0: none)",
                           whole(0))
    ema_decay: float | None = param(0.999, "decay of the generator's running average, validated "
                                    "beside it (0: none)", number(low=0, high=1, high_ok=False),
                                    aliases=("--ema",))
    steps: int = param(9000, "train until this many steps in all", whole(1))
    checkpoint_minutes: float | None = param(5.0, "write last.pt at least this often (minutes; "
                                             "0: after every step)", number(low=0))
    val_every: int = param(500, "validate every N steps (and at the end)", whole(1))
    val_images: int = param(48, "validation photos for the known-answer figures", whole(1))
    snapshots: str = param("1,4000,9000", "comma-separated steps at which to keep a "
                           "half-precision generator")
    max_train_images: int | None = param(None, "use only the first N training photos", whole(1))

    IDENTITY = ("height", "width", "garments", "base_channels", "disc_channels")

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def garment_labels(self) -> tuple[int, ...]:
        """The garments as cloth-model label indices (``"upper"`` → ``(1,)``)."""
        return semantic_garments(self.garments)

    @property
    def loss_weights(self) -> LossWeights:
        return LossWeights(identity=self.lambda_id, cycle=self.lambda_cyc,
                           perceptual=self.lambda_perceptual)

    @property
    def snapshot_steps(self) -> set[int]:
        try:
            return {int(s) for s in self.snapshots.split(",") if s.strip()}
        except ValueError:
            raise ValueError(f"--snapshots must be comma-separated step numbers, got "
                             f"{self.snapshots!r}") from None

    def check(self) -> None:
        """Refuse bad settings before any work starts."""
        if self.height % 16 or self.width % 16 or min(self.height, self.width) < 16 \
                or max(self.height, self.width) > MAX_SIZE:
            raise ValueError(f"--height and --width must be multiples of 16 (the generator "
                             f"down-samples 4 times) up to {MAX_SIZE}, got {self.height}×{self.width}")
        if self.batch_size < 2:
            raise ValueError("--batch-size must be ≥ 2 (the discriminator uses BatchNorm)")
        if self.steps < 1 or self.lr <= 0 or self.val_every < 1 or self.val_images < 1:
            raise ValueError("--steps, --lr, --val-every and --val-images must be positive")
        if self.lambda_id < 0 or self.lambda_cyc < 0 or self.lambda_perceptual < 0:
            raise ValueError("--lambda-id, --lambda-cyc and --lambda-perceptual must be ≥ 0")
        if self.val_cross == 1 or self.val_cross < 0:
            raise ValueError(f"--val-cross must be 0 (none) or at least 2 photos, got {self.val_cross}")
        if self.ema_decay is not None and not 0 <= self.ema_decay < 1:
            raise ValueError(f"--ema-decay must be in [0, 1) (0: no average), got {self.ema_decay}")
        self.snapshot_steps  # noqa: B018  (a malformed list raises here)
        self.garment_labels  # noqa: B018  (garments the cloth model does not have raise here)


def semantic_garments(garments: str) -> tuple[int, ...]:
    """``"upper"``, ``"upper,lower"`` or ``"1,2"`` → label indices; instance classes and unknown
    names are refused (the swap is trained on the cloth model's semantic classes)."""
    from ..garments import DEFAULT_GARMENTS, is_instance_choice, resolve_garments

    parts = [g.strip() for g in str(garments).split(",") if g.strip()]
    try:
        chosen = resolve_garments([int(g) if g.isdigit() else g for g in parts]) if parts else ()
    except ValueError as e:
        raise ValueError(f"--garments: {e}") from None
    if not chosen or is_instance_choice(chosen) or not set(chosen) <= set(DEFAULT_GARMENTS):
        raise ValueError(f"--garments must list semantic classes upper, lower or full (or 1-3), "
                         f"got {garments!r}: the swap is trained on the cloth model's classes")
    return chosen


def perceptual_network(device: torch.device) -> Callable[[torch.Tensor], list[torch.Tensor]]:
    """The frozen feature maps of the kit's ImageNet MobileNetV2 (the similarity metric's
    network) for images in −1..1 (the classifier's own input range)."""
    from .. import tflite, weights
    from ..metrics import MOBILENET_WEIGHTS
    from ..models.mobilenet import classifier_from_tflite

    net = classifier_from_tflite(tflite.read(weights.fetch(MOBILENET_WEIGHTS))).to(device).eval()
    net.requires_grad_(False)
    return net.feature_maps


def initial_generator(init: str | None, base_channels: int) -> CAGANGenerator:
    """A fresh generator, or one with the weights of ``init`` (the generator is fully
    convolutional, so weights trained at one crop size start a run at another); a file of
    another width is refused."""
    if init is None:
        return CAGANGenerator(base_channels)
    from ..weights import read_state_dict

    G = generator_from_state_dict(read_state_dict(init))
    base = G.enc[0][0].out_channels
    if base != base_channels:
        raise ValueError(f"--init {init} is a generator with {base} base channels, the run asks "
                         f"for --base-channels {base_channels}; give --base-channels {base}")
    return G


def generator_step(G: CAGANGenerator, D: CAGANDiscriminator, opt: torch.optim.Optimizer,
                   batch: tuple[torch.Tensor, ...], weights: LossWeights = LossWeights(),
                   features: Callable[[torch.Tensor], list[torch.Tensor]] | None = None):
    """One optimiser step of the generator (the discriminator is not updated); returns the loss
    parts and the forward swap. ``features``: the perceptual term's network."""
    x_i, y_i, y_j = batch[:3]
    D.requires_grad_(False)
    loss, parts, fwd = generator_loss(G, D, x_i, y_i, y_j, weights, features)
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


def export_generator(checkpoint: str | Path, dest: str | Path) -> Path:
    """Write a run's generator (``last.pt``, ``best.pt``, or a state dict) as a plain fp16 state
    dict, the shipped format."""
    from ..weights import read_state_dict

    generator_from_state_dict(read_state_dict(checkpoint))  # refuses anything but a generator
    return export_half(checkpoint, dest)


@torch.no_grad()
def crop_cross_swaps(G: nn.Module, examples: list[Example]) -> CrossScores:
    """Cross swaps at crop size (:func:`fsutils.evaluation.cross_swap.cross_pairs` over
    ``examples``): person ``k`` wears example ``(k + n // 2) mod n``'s flat-lay, α limited to
    the annotated garment as :func:`fsutils.swap.garment.swap_garment` limits it."""
    was_training, dev = G.training, next(G.parameters()).device
    G.eval()
    scores = CrossScores()
    for k, j in cross_pairs(list(range(len(examples)))):
        a, b = examples[k], examples[j]
        out = G(*(to_tensor(x)[None].to(dev) for x in (a.person, a.article, b.article)))
        alpha = out.alpha[0, 0].float().cpu().numpy() * alpha_limit(a.mask)
        x_i = a.person.astype(np.float32) / 255
        swap = alpha[..., None] * from_tensor(out.x_tilde) + (1 - alpha[..., None]) * x_i
        scores.add(str(k), str(j), cross_figures(swap, x_i, a.mask,
                                                 b.article.astype(np.float32) / 255, b.article_mask))
    G.train(was_training)
    return scores


class SwapTask(Task):
    name = "swap"
    Config = SwapTrainConfig
    metric = "val_known_l1"
    higher_is_better = False

    @property
    def total_steps(self) -> int:
        return self.cfg.steps

    def build(self, device: torch.device, resuming: bool) -> None:
        cfg = self.cfg
        self.dev = device
        ids = list_ids(cfg.ccp_root)
        train_ids = ids_in_split(ids, "train")[: cfg.max_train_images]
        val_ids = ids_in_split(ids, "val")[: cfg.val_images]
        garments = cfg.garment_labels
        self.train_set = SwapDataset(cfg.ccp_root, train_ids, cfg.size, garments, seed=cfg.seed,
                                     progress=cfg.progress)
        self.val_cases = [c for c, _ in known_answer_cases(cfg.ccp_root, val_ids, cfg.size, garments)]
        self.val_cross = (ccp_examples(cfg.ccp_root, ids_in_split(ids, "val")[: cfg.val_cross],
                                       cfg.size, garments)[1] if cfg.val_cross else [])
        self.features = perceptual_network(device) if cfg.lambda_perceptual > 0 else None
        self.warming = False  # set by batch(): a discriminator warm-up step (--disc-warmup)
        self.G = initial_generator(None if resuming else cfg.init, cfg.base_channels).to(device).train()
        self.D = CAGANDiscriminator(cfg.disc_channels).to(device).train()
        betas = (cfg.beta1, 0.999)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)

    def modules(self) -> dict:
        return {"model": self.G, "discriminator": self.D, "opt_g": self.opt_g, "opt_d": self.opt_d}

    def generators(self) -> dict:
        return {"triplets": self.train_set.rng}

    def batch(self, step: int) -> tuple[torch.Tensor, ...]:
        """Epochs of shuffled photos (each batch full: the order wraps around)."""
        b, n = self.cfg.batch_size, len(self.train_set)
        epoch, k = divmod(step, max(1, n // b))
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.cfg.seed + epoch)).tolist()
        idx = [order[(k * b + t) % n] for t in range(b)]
        self.warming = step < self.cfg.disc_warmup
        return tuple(t.to(self.dev) for t in self.train_set.batch(idx))

    def step(self, batch) -> dict[str, float]:
        w = self.cfg.loss_weights
        if self.warming:  # the discriminator learns the generator's swaps
            with torch.no_grad():
                x_ij = self.G(*batch[:3]).x_ij
            return {"d": discriminator_step(self.D, self.opt_d, batch, x_ij, w)}
        parts, fwd = generator_step(self.G, self.D, self.opt_g, batch, w, self.features)
        d = discriminator_step(self.D, self.opt_d, batch, fwd.x_ij.detach(), w)
        return {"d": d, **parts}

    def validate(self, model: nn.Module, step: int) -> dict:
        s = score_generator(model, self.val_cases).summary()
        out = {"val_alpha_iou": s["cagan"]["mask_iou"], "val_outside_l1": s["cagan"]["outside_l1"],
               "val_known_l1": s["cagan"]["known_l1"], "val_known_l1_nothing": s["nothing"]["known_l1"]}
        if len(self.val_cross) >= 2:
            c = crop_cross_swaps(model, self.val_cross).summary()
            out.update({f"val_cross_{k}": c[k] for k in ("spill_p90", "colour_moved_median",
                                                         "coverage_median", "sharpness_median")})
        return out

    def validate_due(self, step: int) -> bool:
        return step % self.cfg.val_every == 0

    def after_step(self, step: int, engine) -> None:
        if step in self.cfg.snapshot_steps:  # a training stage to show later
            engine.save_last()
            export_generator(engine.folder.path / "last.pt",
                             engine.folder.path / f"generator_step{step}.pt")

    def upgrade(self, ckpt: dict) -> dict:
        config = dict(ckpt.get("config") or {})
        if "classes" in config:  # runs saved before the option was called garments
            config.setdefault("garments", config.pop("classes"))
        if "ema" in config:
            config.setdefault("ema_decay", config.pop("ema") or None)
        if "garments" in config and semantic_garments(config["garments"]) == self.cfg.garment_labels:
            config["garments"] = self.cfg.garments
        ckpt["config"] = config
        if "rng" not in ckpt:  # earlier runs drew the triplets from a generator seeded by the step
            self.train_set.rng = np.random.default_rng((self.cfg.seed, ckpt["state"]["step"]))
        return ckpt
