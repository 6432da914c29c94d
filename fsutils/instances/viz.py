"""Pictures of garment instances: masks and boxes drawn over the photo, the items as a user picks
them ("outer 0.97", "shoe ×2"), a precision–recall curve and the detector's training record.

:func:`draw` returns a PIL image (what the instance panel shows); the plots return a
:class:`matplotlib.figure.Figure` made without pyplot, like :mod:`fsutils.viz`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from .. import io as fio
from ..data import INSTANCE_CLASSES
from .ap import PrecisionRecall
from .segmenter import Instances

__all__ = ["CLASS_COLORS", "items", "item_label", "draw", "draw_boxes", "plot_precision_recall",
           "plot_training"]

#: One colour (RGB) per instance class, in the order of :data:`fsutils.data.INSTANCE_CLASSES`.
CLASS_COLORS: dict[str, tuple[int, int, int]] = dict(zip(INSTANCE_CLASSES, [
    (230, 60, 60), (255, 160, 20), (200, 60, 220), (40, 110, 240), (30, 190, 120),
    (250, 230, 40), (120, 220, 240)]))
#: How items not chosen are drawn: grey, faint.
_OFF = (150, 150, 150)


def items(found: Instances) -> dict[str, Instances]:
    """The detected items grouped by class, best-scored class first: what a user picks from (a
    pair of shoes is one item of two instances)."""
    out: dict[str, Instances] = {}
    for inst in sorted(found, key=lambda i: -i.score):
        out.setdefault(inst.cls, Instances()).append(inst)
    return out


def item_label(cls: str, group: Instances) -> str:
    """``"outer 0.97"`` for one instance (its score), ``"shoe ×2"`` for several."""
    return f"{cls} ×{len(group)}" if len(group) > 1 else f"{cls} {group[0].score:.2f}"


def draw(photo: Any, found: Instances, chosen: Iterable[str] | None = None, *,
         opacity: float = 0.45, labels: bool = True) -> Image.Image:
    """``photo`` with each instance's mask tinted in its class colour (:data:`CLASS_COLORS`) at
    ``opacity``, its box and, with ``labels``, its class and score. Instances of classes not in
    ``chosen`` (default: all chosen) are drawn grey and fainter. Ground-truth instances
    (:class:`fsutils.data.GarmentInstance`, no score) are labelled with their CCP label."""
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    img = np.asarray(fio.to_rgb(photo), dtype=np.float32)
    chosen = set(INSTANCE_CLASSES if chosen is None else chosen)
    h, w = img.shape[:2]
    order = sorted(found, key=lambda i: getattr(i, "score", 1.0))  # best drawn last, on top
    for inst in order:
        if inst.mask.shape != (h, w):
            raise ValueError(f"an instance mask is {inst.mask.shape}, the photo {(h, w)}: predict "
                             "the instances on this photo")
        on = inst.cls in chosen
        a = opacity if on else opacity / 3
        img[inst.mask] = (1 - a) * img[inst.mask] + a * np.array(
            CLASS_COLORS[inst.cls] if on else _OFF, np.float32)
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    pen = ImageDraw.Draw(out)
    from ..widgets.drawing import font

    fnt = font(max(11, round(min(h, w) / 40)))
    for inst in order:
        on = inst.cls in chosen
        colour = CLASS_COLORS[inst.cls] if on else _OFF
        x0, y0, x1, y1 = (round(v) for v in inst.box)
        pen.rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), outline=colour,
                      width=2 if on else 1)
        if labels:
            text = (f"{inst.cls} {inst.score:.2f}" if hasattr(inst, "score")
                    else f"{inst.cls} ({inst.ccp_label})")
            tx, ty = x0 + 2, max(0, y0 - fnt.size - 3)
            left, top, right, bottom = pen.textbbox((tx, ty), text, font=fnt)
            pen.rectangle((left - 2, top - 1, right + 2, bottom + 1), fill=colour)
            pen.text((tx, ty), text, fill=(0, 0, 0), font=fnt)
    return out


def draw_boxes(photo: Any, boxes: np.ndarray, colour: tuple[int, int, int] = (0, 200, 255),
               width: int = 2) -> Image.Image:
    """``photo`` with ``boxes`` (N × 4, x0, y0, x1, y1 in pixels) drawn, e.g. region proposals."""
    out = fio.to_rgb(photo).copy()
    pen = ImageDraw.Draw(out)
    for x0, y0, x1, y1 in np.asarray(boxes, dtype=float).reshape(-1, 4):
        pen.rectangle((round(x0), round(y0), max(round(x0), round(x1) - 1),
                       max(round(y0), round(y1) - 1)), outline=colour, width=width)
    return out


def plot_precision_recall(curves: Mapping[str, PrecisionRecall], *, size: float = 3.2) -> Figure:
    """One panel per class: the raw precision–recall curve (a point after each detection, best
    score first), COCO's interpolated precision at the 101 recall points (shaded: its mean is the
    class's AP50) and the AP50 in the title."""
    fig = Figure(figsize=(size * 1.2 * len(curves), size), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(curves), squeeze=False)).ravel()
    for ax, (cls, pr) in zip(axes, curves.items()):
        colour = np.array(CLASS_COLORS.get(cls, (80, 80, 80))) / 255
        ax.fill_between(pr.points, pr.interpolated, step="post", alpha=0.25, color=colour,
                        label="interpolated (mean = AP50)")
        ax.plot(pr.recall, pr.precision, "o-", ms=3, color="k", lw=1,
                label="after each detection")
        ax.set(xlim=(0, 1.02), ylim=(0, 1.05), xlabel="recall", ylabel="precision",
               title=f"{cls}: AP50 {pr.ap:.2f} ({pr.truths} true)")
        ax.legend(fontsize=7, loc="lower left")
    return fig


def plot_training(record: Mapping[str, Any], *, size: float = 3.4) -> Figure:
    """The detector's training record (:func:`fsutils.course.instance_training`): mean training
    loss between scores, and validation segm AP50 (garments, all classes) against the step, the
    shipped step marked."""
    fig = Figure(figsize=(size * 3.2, size), layout="constrained")
    a, b = fig.subplots(1, 2)
    steps = record["steps"]
    a.plot(steps, record["loss"], "o-", color="k")
    a.set(xlabel="step", ylabel="loss", title="training loss (mean since the previous score)")
    b.plot(steps, record["val_segm_ap50_garments"], "o-", label="garments (5 classes)")
    b.plot(steps, record["val_segm_ap50"], "s--", label="all 7 classes")
    b.axvline(record["best_step"], color="grey", lw=1, ls=":", label="shipped step")
    b.set(xlabel="step", ylabel="segm AP50", ylim=(0, 1),
          title=f"validation ({record['val_photos']} photos)")
    b.legend(fontsize=8, loc="lower right")
    return fig
