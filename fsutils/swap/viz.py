"""Pictures of the garment swap for the course: triplets, losses, the parts of a swap, and the
shipped generator's training stages (matplotlib figures, returned for display)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from fsutils.viz import panels

from .data import SwapDataset
from .garment import GARMENT_MARGIN

__all__ = ["show_triplets", "plot_losses", "show_swap", "show_methods", "show_stages", "LOSS_NAMES",
           "CrossSwap", "cross_swaps", "change_map", "show_cross_swaps"]

#: The loss parts a training step records, with their names in the figures.
LOSS_NAMES = {"g_adv": "generator: adversarial", "g_id": "generator: mean|α| (λ_id term)",
              "g_cyc": "generator: swap-back L1 (λ_cyc term)", "d": "discriminator"}


def show_triplets(dataset: SwapDataset, items: list[int], size: float = 2.2) -> Figure:
    """One row per item of ``dataset``: the person ``x_i`` with its true garment, the worn
    article ``y_i`` and another photo's article ``y_j`` (each flat-lay with its own jitter)."""
    images, titles = [], []
    for k in items:
        t = dataset.triplet(k)
        images += [t.x_i, t.mask_i, t.y_i, t.y_j]
        titles += [f"x_i ({dataset.ids[k]})", "its garment (annotation)", "y_i: worn article",
                   "y_j: another article"]
    return panels(images, titles, cols=4, size=size)


def _smooth(y: np.ndarray, n: int) -> np.ndarray:
    return np.convolve(y, np.ones(n) / n, "valid") if len(y) >= n else y


def plot_losses(history: list[dict], smooth: int = 10) -> Figure:
    """Left: each loss part per step (smoothed over ``smooth`` steps); right: the validation
    figures that the run measured (known-answer L1 of the swap, of the generator's running
    average when the run kept one, and of doing nothing; α's IoU with the true garment), when it
    measured any."""
    steps = [h for h in history if "g" in h]
    vals = [h for h in history if "val_known_l1" in h]
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    a, b = fig.subplots(1, 2)
    if steps:
        n = min(smooth, len(steps))
        x = np.array([h["step"] for h in steps])
        for key, name in LOSS_NAMES.items():
            y = _smooth(np.array([h[key] for h in steps]), n)
            a.plot(x[len(x) - len(y):], y, label=name)
    a.set(xlabel="step", ylabel="loss" + (f" (mean of {smooth} steps)" if smooth > 1 else ""),
          title="training losses")
    a.legend(fontsize=8)
    if vals:
        x = [h["step"] for h in vals]
        b.plot(x, [h["val_known_l1"] for h in vals], "o-", label="known_l1 (swap)")
        b.plot(x, [h["val_known_l1_nothing"] for h in vals], "k--", label="known_l1 (nothing)")
        b.plot(x, [h["val_alpha_iou"] for h in vals], "s-", label="alpha_iou")
        if all("val_known_l1_ema" in h for h in vals):  # the generator's running average
            b.plot(x, [h["val_known_l1_ema"] for h in vals], "o:", label="known_l1 (average)")
    else:
        b.text(0.5, 0.5, "no validation yet", ha="center", va="center", transform=b.transAxes)
    b.set(xlabel="step", title="validation (known-answer swaps)")
    b.legend(fontsize=8)
    return fig


def show_swap(parts: dict[str, Any], size: float = 2.6) -> Figure:
    """The parts of one swap (:func:`fsutils.swap.garment.swap_parts`): the generator's inputs
    ``x_i``, ``y_i``, ``y_j``, its mask ``α`` and image ``x̃``, and the swap ``α·x̃ + (1 − α)·x_i``."""
    images = [parts["x_i"], parts["y_i"], parts["y_j"], parts["alpha"], parts["x_tilde"],
              parts["swap"]]
    titles = ["x_i: person", "y_i: worn article", "y_j: new article", "α", "x̃",
              "α·x̃ + (1 − α)·x_i"]
    return panels(images, titles, size=size)


def show_methods(parts: dict[str, Any], size: float = 2.6, device: Any = None) -> Figure:
    """One swap (:func:`fsutils.swap.garment.swap_parts`) beside the two baselines on the same
    crop, inside the person's garment mask: colour transfer (Lab mean and standard deviation of
    the article) and pattern try-on (the article as the painting for Magenta)."""
    from fsutils.evaluation.swap import colour_transfer, pattern_tryon

    x_i, y_j = parts["x_i"].astype(np.float32) / 255, parts["y_j"].astype(np.float32) / 255
    colour = colour_transfer(x_i, parts["mask"], y_j, parts["y_j_mask"])
    pattern = pattern_tryon(x_i, parts["mask"], y_j, device=device, article_mask=parts["y_j_mask"])
    return panels([x_i, y_j, parts["swap"], colour, pattern],
                  ["person", "article", "CAGAN", "colour transfer", "pattern try-on (Magenta)"],
                  size=size)


def show_stages(path: str | Path | None = None, size: float = 2.0) -> Figure:
    """The shipped generator's training stages (the picture ``python tools/ship_swap.py
    --stages`` drew): for each example, the person and the article, then the swap and α of each
    stage."""
    from .data import SIZE
    from .stages import STAGES_FILE, read_stages

    img, stages, examples = read_stages(path or STAGES_FILE)
    grid = np.asarray(img)
    h, w = SIZE
    images, titles = [], []
    for r, (person, article) in enumerate(examples):
        row = grid[r * h:(r + 1) * h]
        images += [row[:, c * w:(c + 1) * w] for c in range(row.shape[1] // w)]
        titles += [person, article] + [t for s in stages for t in (s if r == 0 else "", "α")]
    return panels(images, titles, cols=2 + 2 * len(stages), size=size)


@dataclass
class CrossSwap:
    """One bundled person wearing another bundled sample's top: the ``photo`` (uint8), its
    annotated upper-body ``garment`` and all its annotated garments of the upper body ``worn``
    (a coat is full body to CCP), the ``article`` flat-lay, the full-size ``result`` (float 0..1)
    and its ``figures`` (:func:`fsutils.evaluation.cross_swap.cross_figures`), or ``refused``,
    the reason the kit gave."""

    person: str
    article_of: str
    photo: np.ndarray
    garment: np.ndarray
    worn: np.ndarray
    article: np.ndarray
    result: np.ndarray | None = None
    figures: dict[str, float] | None = None
    refused: str | None = None


def cross_swaps(pairs: list[tuple[str, str]], *, weights: Any = None,
                garment_margin: float | None = GARMENT_MARGIN, segmenter: Any = None,
                detector: Any = None, device: Any = None) -> list[CrossSwap]:
    """Swap each ``(person, article_of)`` pair of bundled samples (:func:`.samples.sample_people`):
    the person's top found by the kit's models as :func:`~fsutils.swap.garment.swap_garment`
    finds it (``segmenter`` and ``detector``: made once, by default the kit's), the article the
    other sample's annotated top; each measured against the annotations."""
    from fsutils import io as fio
    from fsutils import stages
    from fsutils.evaluation.cross_swap import cross_figures
    from fsutils.evaluation.placement import sample_groundtruth

    from .data import garment_mask
    from .garment import swap_parts
    from .samples import sample_article, sample_person

    segmenter = segmenter or stages.default_segmenter(device=device)
    detector = detector or stages.default_instances(device=device)
    out = []
    for person, other in pairs:
        photo, garment = sample_person(person)
        art_photo, art_mask = sample_person(other)
        worn = garment_mask(sample_groundtruth(person), (1, 3))
        swap = CrossSwap(person, other, photo, garment, worn, sample_article(other).image)
        try:
            swap.result = swap_parts(photo, art_photo, weights=weights, article_mask=art_mask,
                                     segmenter=segmenter, detector=detector, device=device,
                                     garment_margin=garment_margin)["result"]
        except ValueError as e:  # the kit refused: no top found on the person
            swap.refused = str(e).splitlines()[0]
        else:
            swap.figures = cross_figures(swap.result, fio.to_float(photo), garment,
                                         fio.to_float(art_photo), art_mask, worn)
        out.append(swap)
    return out


def change_map(swap: CrossSwap) -> np.ndarray:
    """The photo greyed, with the swap's changed pixels near the annotated garment in green and
    the spill (changes beyond it) in red (float H×W×3)."""
    from fsutils import io as fio
    from fsutils.evaluation.cross_swap import changed, near_garment

    photo = fio.to_float(swap.photo)
    out = np.repeat(photo.mean(-1, keepdims=True), 3, -1) * 0.6 + 0.2
    if swap.result is not None:
        moved, near = changed(swap.result, photo), near_garment(swap.garment | swap.worn)
        out[moved & near] = (0.1, 0.75, 0.2)
        out[moved & ~near] = (0.9, 0.1, 0.1)
    return out


def _caption(swap: CrossSwap) -> str:
    if swap.figures is None:
        return f"refused: {swap.refused}"
    f = swap.figures
    return (f"spill {f['spill']:.2f} · colour {f['colour_moved']:.2f}\n"
            f"coverage {f['coverage']:.2f} · sharp {f['sharpness']:.2f}")


def show_cross_swaps(swaps: list[CrossSwap], size: float = 2.8) -> Figure:
    """One row per cross swap: the person, the article, the swap, and where it changed the
    photo (green: on the garment and its margin; red: spill) under the swap's figures."""
    images, titles = [], []
    for s in swaps:
        images += [s.photo, s.article, s.result if s.result is not None else s.photo, change_map(s)]
        titles += [f"person {s.person}", f"top of {s.article_of}", "swap", _caption(s)]
    return panels(images, titles, cols=4, size=size)
