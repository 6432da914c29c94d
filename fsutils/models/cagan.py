"""Conditional Analogy GAN (Jetchev & Bergmann 2017) for garment swaps.

The generator sees the person ``x_i``, the article they wear ``y_i`` and a new article ``y_j``
(three RGB images in −1..1, stacked to 9 channels) and outputs a mask ``α`` (sigmoid, 0..1) and an
image ``x̃`` (tanh); the swap is ``x_i^j = α·x̃ + (1 − α)·x_i`` (:func:`compose`), so whatever α
leaves out is the photo itself. The discriminator judges (person, article) pairs: the real
``(x_i, y_i)`` against the fake ``(x_i^j, y_j)`` and the mismatched ``(x_i, y_j)`` — the last
teaches it that the person must *wear* the article, not just look real.

Generator losses (:func:`generator_loss`): adversarial + ``λ_id·mean|α|`` (change as little as
possible) + ``λ_cyc·mean|x_i − G(x_i^j, y_j, y_i)|`` (swapping back gives the photo again), and
optionally ``λ_perc`` times the same swap-back difference measured on a frozen network's feature
maps (a perceptual term: fine detail counts, not only mean colour).

Architecture as in the paper: an encoder–decoder (here a U-Net: skip connections keep the
person's details) with InstanceNorm and LeakyReLU in the encoder, ReLU in the decoder; a
BatchNorm patch discriminator.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["CAGANGenerator", "CAGANDiscriminator", "compose", "SwapOutput", "LossWeights",
           "perceptual_l1", "generator_loss", "discriminator_loss", "generator_from_state_dict"]


def _down(cin: int, cout: int, norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=not norm)]
    if norm:
        layers.append(nn.InstanceNorm2d(cout, affine=True))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                         nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True))


def compose(alpha: torch.Tensor, x_tilde: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The swap ``α·x̃ + (1 − α)·x`` (α N×1×H×W broadcasts over the channels)."""
    return alpha * x_tilde + (1 - alpha) * x


@dataclass
class SwapOutput:
    """One generator pass: the swap ``x_ij``, the mask ``alpha`` and the painted ``x_tilde``."""

    x_ij: torch.Tensor
    alpha: torch.Tensor
    x_tilde: torch.Tensor


class CAGANGenerator(nn.Module):
    """U-Net ``(x_i, y_i, y_j) → (α, x̃)``; ``base`` channels at the first level, doubled at each
    of ``depth`` down-samplings (capped at 8×base). Input height and width must be divisible by
    ``2**depth``."""

    def __init__(self, base: int = 32, depth: int = 4):
        super().__init__()
        if base < 1 or depth < 1:
            raise ValueError(f"base and depth must be ≥ 1, got {base} and {depth}")
        self.base, self.depth = base, depth
        chans = [base * 2 ** min(i, 3) for i in range(depth)]
        self.enc = nn.ModuleList(_down(9 if i == 0 else chans[i - 1], c, norm=i > 0)
                                 for i, c in enumerate(chans))
        dec = []
        for i in reversed(range(depth)):
            cin = chans[i] if i == depth - 1 else 2 * chans[i]  # up-sampled + skip
            cout = chans[i - 1] if i > 0 else base
            dec.append(_up(cin, cout))
        self.dec = nn.ModuleList(dec)
        self.out = nn.Conv2d(base + 9, 4, 3, padding=1)

    def forward(self, x_i: torch.Tensor, y_i: torch.Tensor, y_j: torch.Tensor) -> SwapOutput:
        h, w = x_i.shape[-2:]
        if h % 2 ** self.depth or w % 2 ** self.depth:
            raise ValueError(f"input {h}×{w} is not divisible by {2 ** self.depth} "
                             f"(the generator down-samples {self.depth} times)")
        inp = torch.cat([x_i, y_i, y_j], 1)
        skips, z = [], inp
        for layer in self.enc:
            z = layer(z)
            skips.append(z)
        for k, layer in enumerate(self.dec):
            if k > 0:
                z = torch.cat([z, skips[self.depth - 1 - k]], 1)
            z = layer(z)
        out = self.out(torch.cat([z, inp], 1))
        alpha, x_tilde = torch.sigmoid(out[:, :1]), torch.tanh(out[:, 1:])
        return SwapOutput(compose(alpha, x_tilde, x_i), alpha, x_tilde)


def generator_from_state_dict(sd: Mapping[str, torch.Tensor]) -> CAGANGenerator:
    """A generator of the shape a state dict was saved from (``base`` and ``depth`` are read
    from its tensors), with the weights loaded (as float32)."""
    try:
        base = int(sd["enc.0.0.weight"].shape[0])
    except KeyError:
        raise ValueError("not a CAGAN generator state dict (no enc.0.0.weight); give the file "
                         "written by `python -m fsutils.train swap` or its export.") from None
    depth = len({k.split(".")[1] for k in sd if k.startswith("enc.")})
    model = CAGANGenerator(base, depth)
    model.load_state_dict({k: v.float() for k, v in sd.items()})
    return model


class CAGANDiscriminator(nn.Module):
    """Patch discriminator of (person, article) pairs (6 channels): logits N×1×h×w, one per
    overlapping patch; BatchNorm after every convolution but the first and the last."""

    def __init__(self, base: int = 32, layers: int = 3):
        super().__init__()
        mods: list[nn.Module] = [nn.Conv2d(6, base, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        c = base
        for i in range(1, layers):
            n = base * 2 ** min(i, 3)
            mods += [nn.Conv2d(c, n, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(n),
                     nn.LeakyReLU(0.2, True)]
            c = n
        mods.append(nn.Conv2d(c, 1, 3, padding=1))
        self.net = nn.Sequential(*mods)

    def forward(self, person: torch.Tensor, article: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([person, article], 1))


@dataclass(frozen=True)
class LossWeights:
    """``identity``: λ_id of ``mean|α|``; ``cycle``: λ_cyc of the swap-back L1; ``mismatch``:
    weight of the mismatched pair in the discriminator's fake term (the fake swap gets the rest);
    ``perceptual``: λ_perc of the swap-back L1 on feature maps (0: off)."""

    identity: float = 0.1
    cycle: float = 1.0
    mismatch: float = 0.5
    perceptual: float = 0.0


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def perceptual_l1(features: Callable[[torch.Tensor], list[torch.Tensor]], a: torch.Tensor,
                  b: torch.Tensor) -> torch.Tensor:
    """Mean over the feature maps of ``features`` (images in −1..1) of the mean ``|φ(a) − φ(b)|``."""
    fa, fb = features(a), features(b)
    return torch.stack([(p - q).abs().mean() for p, q in zip(fa, fb)]).mean()


def generator_loss(G: CAGANGenerator, D: CAGANDiscriminator, x_i: torch.Tensor,
                   y_i: torch.Tensor, y_j: torch.Tensor, weights: LossWeights = LossWeights(),
                   features: Callable[[torch.Tensor], list[torch.Tensor]] | None = None
                   ) -> tuple[torch.Tensor, dict[str, float], SwapOutput]:
    """The generator's loss on a batch, its parts (``g_adv``, ``g_id``, ``g_cyc``, ``g``, and
    ``g_perc`` with a perceptual weight) and the forward swap. ``features``: the frozen network
    of the perceptual term (needed when ``weights.perceptual > 0``)."""
    if weights.perceptual > 0 and features is None:
        raise ValueError("a perceptual weight needs the feature network (features=)")
    fwd = G(x_i, y_i, y_j)
    adv = _bce(D(fwd.x_ij, y_j), 1.0)
    ident = fwd.alpha.abs().mean()
    back = G(fwd.x_ij, y_j, y_i)
    cyc = (back.x_ij - x_i).abs().mean()
    total = adv + weights.identity * ident + weights.cycle * cyc
    parts = {"g_adv": adv.item(), "g_id": ident.item(), "g_cyc": cyc.item()}
    if weights.perceptual > 0:
        perc = perceptual_l1(features, back.x_ij, x_i)
        total = total + weights.perceptual * perc
        parts["g_perc"] = perc.item()
    return total, {"g": total.item(), **parts}, fwd


def discriminator_loss(D: CAGANDiscriminator, x_i: torch.Tensor, y_i: torch.Tensor,
                       y_j: torch.Tensor, x_ij: torch.Tensor, weights: LossWeights = LossWeights()
                       ) -> torch.Tensor:
    """Real ``(x_i, y_i)`` → 1; fake ``(x_ij, y_j)`` and mismatched ``(x_i, y_j)`` → 0."""
    real = _bce(D(x_i, y_i), 1.0)
    fake = _bce(D(x_ij.detach(), y_j), 0.0)
    mismatch = _bce(D(x_i, y_j), 0.0)
    return real + (1 - weights.mismatch) * fake + weights.mismatch * mismatch
