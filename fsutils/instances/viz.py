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

__all__ = ["CLASS_COLORS", "items", "item_label", "layers", "tint", "draw", "draw_boxes",
           "plot_precision_recall", "plot_training"]

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


def layers(photo: Any, found: Instances, chosen: Iterable[str] | None = None, *,
           labels: bool = True, size: tuple[int, int] | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The picture of :func:`draw` as layers of one pointwise tint: the photo ``C`` and the tint
    ``T`` (uint8 H×W×3) and the tint's weight ``b`` (float32 H×W). Each pixel takes the colour of
    the best-scored instance covering it, with weight 1 for a class in ``chosen`` (default: all)
    and 1/3 (grey) for the others, 0 where none is; the boxes and, with ``labels``, the labels
    are drawn into both ``C`` and ``T``, so they stay opaque. At opacity ``a`` the picture is
    ``C + clip(a·b)·(T − C)``, as the instance panel's live picture recomposes it.

    ``size`` (width, height): the layers at that size — the photo area-averaged (bilinear when
    enlarged), the masks nearest, the boxes scaled and the labels drawn at that size."""
    import cv2

    img = np.asarray(fio.to_rgb(photo))
    chosen = set(INSTANCE_CLASSES if chosen is None else chosen)
    h, w = img.shape[:2]
    order = sorted(found, key=lambda i: getattr(i, "score", 1.0))  # the best last: on top
    top = np.full((h, w), -1, np.int16)                       # the best instance of each pixel
    for k, inst in enumerate(order):
        if inst.mask.shape != (h, w):
            raise ValueError(f"an instance mask is {inst.mask.shape}, the photo {(h, w)}: predict "
                             "the instances on this photo")
        top[inst.mask] = k
    sx = sy = 1.0
    if size is not None and tuple(size) != (w, h):
        size = (int(size[0]), int(size[1]))
        sx, sy = size[0] / w, size[1] / h
        top = cv2.resize(top, size, interpolation=cv2.INTER_NEAREST)
        img = fio.to_uint8(cv2.resize(img.astype(np.float32) / 255, size,
                                      interpolation=cv2.INTER_AREA if sx * sy < 1
                                      else cv2.INTER_LINEAR))
        h, w = size[1], size[0]
    on = [inst.cls in chosen for inst in order]
    colours = np.array([CLASS_COLORS[i.cls] if o else _OFF for i, o in zip(order, on)]
                       + [(0, 0, 0)], np.uint8)               # index −1: no instance
    weights = np.array([1.0 if o else 1 / 3 for o in on] + [0.0], np.float32)
    pictures = [Image.fromarray(np.ascontiguousarray(img)), Image.fromarray(colours[top])]
    from ..widgets.drawing import font

    fnt = font(max(11, round(min(h, w) / 40)))
    for picture in pictures:
        pen = ImageDraw.Draw(picture)
        for inst, o in zip(order, on):
            colour = CLASS_COLORS[inst.cls] if o else _OFF
            x0, y0, x1, y1 = (round(v * f) for v, f in zip(inst.box, (sx, sy, sx, sy)))
            pen.rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), outline=colour,
                          width=2 if o else 1)
            if labels:
                text = (f"{inst.cls} {inst.score:.2f}" if hasattr(inst, "score")
                        else f"{inst.cls} ({inst.ccp_label})")
                tx, ty = x0 + 2, max(0, y0 - fnt.size - 3)
                left, top_, right, bottom = pen.textbbox((tx, ty), text, font=fnt)
                pen.rectangle((left - 2, top_ - 1, right + 2, bottom + 1), fill=colour)
                pen.text((tx, ty), text, fill=(0, 0, 0), font=fnt)
    return np.asarray(pictures[0]), np.asarray(pictures[1]), weights[top]


def tint(photo: np.ndarray, colours: np.ndarray, weight: np.ndarray, opacity: float) -> np.ndarray:
    """``C + clip(a·b)·(T − C)`` of uint8 layers (:func:`layers`) at opacity ``a``, as uint8."""
    c = photo.astype(np.float32)
    a = np.clip(weight * np.float32(opacity), 0, 1)[..., None]
    return np.clip(np.rint(c + a * (colours.astype(np.float32) - c)), 0, 255).astype(np.uint8)


def draw(photo: Any, found: Instances, chosen: Iterable[str] | None = None, *,
         opacity: float = 0.45, labels: bool = True,
         size: tuple[int, int] | None = None) -> Image.Image:
    """``photo`` with each instance's mask tinted in its class colour (:data:`CLASS_COLORS`) at
    ``opacity``, its box and, with ``labels``, its class and score. Instances of classes not in
    ``chosen`` (default: all chosen) are drawn grey and fainter (a third of the opacity). Where
    instances overlap, the best-scored one's tint is drawn (one tint per pixel: :func:`layers`).
    Ground-truth instances (:class:`fsutils.data.GarmentInstance`, no score) are labelled with
    their CCP label. ``size`` (width, height): drawn at that size."""
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    return Image.fromarray(tint(*layers(photo, found, chosen, labels=labels, size=size),
                                opacity))


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
