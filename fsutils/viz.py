"""Pictures of every stage: side-by-side panels and the boundary close-up.

Every function is pure: it returns a :class:`matplotlib.figure.Figure` (made without pyplot, so
nothing is drawn twice in a notebook and nothing needs a display; save it with
``fig.savefig(path)``, show it by leaving it as a cell's value) or a numpy array.

* :func:`panels` — images side by side with titles;
* :func:`boundary_box` — a square box on the garment edge, found automatically;
* :func:`boundary_closeup` — the same zoomed crop of the hard paste and the saliency blend next to
  each other, with their seam scores (the original project's "closer look" figure);
* :func:`difference_box` and :func:`modes_closeup` — the box on an edge where several results
  differ most, and the same crop of each with its numbers (and the true edge drawn in);
* :func:`comparison_figure` — photo | mask | saliency | stylised | hard paste | saliency blend,
  with the close-ups underneath (what ``python -m fsutils`` writes as ``*_comparison.png``);
* :func:`segmentation_figure` — the photo with the classes tinted and a legend.

Boxes are ``Box(x0, y0, x1, y1)`` in pixels (left, top, right exclusive, bottom exclusive), the
order of ``PIL.Image.crop``; any 4-tuple in that order is accepted.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from PIL import Image

from fsutils import io as fio

__all__ = ["plot_history", "show_examples", "Box", "panels", "boundary_box", "crop", "zoom", "boundary_closeup",
           "difference_box", "modes_closeup", "comparison_figure", "segmentation_figure",
           "BOX_COLOR"]

BOX_COLOR = "#00c8ff"


class Box(NamedTuple):
    """A pixel box: left, top, right (exclusive), bottom (exclusive)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def _imshow(ax: Any, img: Any, **kw: Any) -> np.ndarray:
    """Draw any picture (through :func:`fsutils.io.as_array`, values untouched) on ``ax``: grey
    maps and masks in grey on a fixed scale, floats clipped to 0..1; returns the array drawn."""
    arr = fio.as_array(img)
    if arr.dtype == np.bool_:
        arr, kw = arr.astype(np.uint8), {"cmap": "gray", "vmin": 0, "vmax": 1,
                                         "interpolation": "nearest", **kw}
    elif arr.ndim == 2:
        kw = {"cmap": "gray", "vmin": 0, "vmax": 255 if arr.dtype == np.uint8 else 1.0, **kw}
    if arr.dtype != np.uint8:
        arr = np.clip(np.asarray(arr, np.float32), 0.0, 1.0)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"cannot show an array of shape {arr.shape}: expected H×W, H×W×3 or H×W×4")
    ax.imshow(arr, **kw)
    return arr


def _shape(img: Any) -> tuple[int, int]:
    if isinstance(img, Image.Image):
        return img.height, img.width
    return tuple(np.asarray(img).shape[:2])  # type: ignore[return-value]


def _as_box(box: Sequence[int], shape: tuple[int, int]) -> Box:
    if len(box) != 4:
        raise ValueError(f"a box is (x0, y0, x1, y1), got {box!r}")
    b = Box(*(int(v) for v in box))
    h, w = shape
    if not (0 <= b.x0 < b.x1 <= w and 0 <= b.y0 < b.y1 <= h):
        raise ValueError(f"box {tuple(b)} is not a non-empty box inside the {w}×{h} image "
                         "(x0, y0, x1, y1 with 0 ≤ x0 < x1 ≤ width and 0 ≤ y0 < y1 ≤ height)")
    return b


def _draw_box(ax: Any, box: Box, color: str = BOX_COLOR) -> None:
    ax.add_patch(Rectangle((box.x0 - 0.5, box.y0 - 0.5), box.width, box.height, fill=False,
                           edgecolor=color, linewidth=1.5))


def panels(images: Sequence[Any], titles: Sequence[str] | None = None, *, cols: int | None = None,
           size: float = 3.0, suptitle: str | None = None,
           boxes: Sequence[Sequence[int] | None] | None = None) -> Figure:
    """Images side by side (``cols`` per row, default all in one row), each ``size`` inches tall.

    Accepts PIL images, float arrays in 0..1, uint8 arrays, bool masks and H×W maps (grey,
    0..1). ``boxes`` optionally draws a box on each image (``None`` for none).
    """
    images = list(images)
    if not images:
        raise ValueError("panels() needs at least one image")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"{len(titles)} titles for {len(images)} images")
    if boxes is not None and len(boxes) != len(images):
        raise ValueError(f"{len(boxes)} boxes for {len(images)} images")
    cols = min(cols or len(images), len(images))
    rows = -(-len(images) // cols)
    h, w = _shape(images[0])
    fig = Figure(figsize=(size * cols * w / h, size * rows + (0.4 if suptitle else 0)),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= len(images):
            continue
        arr = _imshow(ax, images[i])
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
        if boxes is not None and boxes[i] is not None:
            _draw_box(ax, _as_box(boxes[i], arr.shape[:2]))
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def boundary_box(mask: np.ndarray, size: int = 128, weight: np.ndarray | None = None) -> Box:
    """A ``size × size`` box (smaller if the image is) centred on the garment edge.

    Among the boundary pixels of ``mask``, the one whose box holds garment and background in the
    most even proportion (to 0.1), so the crop shows the seam, not the inside of the garment; ties
    go to the box with the largest sum of ``weight`` (an H×W map, e.g. ``|hard − blended|`` to
    show where two results differ most), then the most edge pixels, then reading order.
    Raises ``ValueError`` when the mask has no boundary (empty or full).
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be H×W, got shape {m.shape}")
    m = (m > 0.5) if m.dtype != np.bool_ else m
    h, w = m.shape
    s = int(min(size, h, w))
    if s < 1:
        raise ValueError(f"size must be ≥ 1, got {size!r}")
    m8 = m.astype(np.uint8)
    edge = m8 - cv2.erode(m8, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
    ys, xs = np.nonzero(edge)
    if ys.size == 0:
        raise ValueError("the mask has no boundary (it is empty or covers the whole image); "
                         "choose garment classes present in the photo or give the box yourself")
    x0 = np.clip(xs - s // 2, 0, w - s)
    y0 = np.clip(ys - s // 2, 0, h - s)
    inside = cv2.integral(m8)           # (h+1)×(w+1) sums
    border = cv2.integral(edge)

    def box_sum(table: np.ndarray) -> np.ndarray:
        return (table[y0 + s, x0 + s] - table[y0, x0 + s] - table[y0 + s, x0]
                + table[y0, x0]).astype(np.float64)

    frac = box_sum(inside) / (s * s)
    balance = np.round(np.minimum(frac, 1 - frac), 1)  # 0.5 = half garment; rounding → ties
    keys = [np.arange(ys.size), -box_sum(border)]
    if weight is not None:
        wgt = np.asarray(weight, np.float64)
        if wgt.shape != m.shape:
            raise ValueError(f"weight {wgt.shape} must have the mask's shape {m.shape}")
        keys.append(-box_sum(cv2.integral(np.nan_to_num(wgt))))
    keys.append(-balance)
    best = np.lexsort(tuple(keys))[0]
    return Box(int(x0[best]), int(y0[best]), int(x0[best]) + s, int(y0[best]) + s)


def crop(image: Any, box: Sequence[int]) -> np.ndarray:
    """The pixels of ``image`` inside ``box`` (an array view for arrays)."""
    arr = np.asarray(image)
    b = _as_box(box, arr.shape[:2])
    return arr[b.y0:b.y1, b.x0:b.x1]


def zoom(image: Any, box: Sequence[int], scale: int = 4) -> np.ndarray:
    """The crop enlarged ``scale`` times with nearest-neighbour pixels (to inspect seams)."""
    c = crop(image, box)
    if scale < 1:
        raise ValueError(f"scale must be ≥ 1, got {scale!r}")
    return np.repeat(np.repeat(c, scale, axis=0), scale, axis=1)


def _difference(a: Any, b: Any) -> np.ndarray:
    """Per-pixel |a − b| summed over channels (for choosing a close-up box)."""
    diff = np.abs(fio.to_float(a) - fio.to_float(b))
    return diff.sum(axis=-1) if diff.ndim == 3 else diff


def _seam(img: Any, mask: np.ndarray | None, box: Box) -> float | None:
    if mask is None:
        return None
    from fsutils.blend import seam_score

    return seam_score(np.ascontiguousarray(crop(fio.to_float(img), box)),
                      np.ascontiguousarray(crop(np.asarray(mask), box)))


def _titled(title: str, score: float | None) -> str:
    return title if score is None or not np.isfinite(score) else f"{title}\nseam {score:.3f}"


def boundary_closeup(hard: Any, blended: Any, box: Sequence[int] | None = None, *,
                     mask: np.ndarray | None = None, size: int = 128,
                     titles: Sequence[str] = ("hard paste", "saliency blend"),
                     overview: bool = True, panel_size: float = 3.5) -> Figure:
    """The same crop of the hard paste and of the blend, side by side ("a closer look").

    ``box`` defaults to :func:`boundary_box` of ``mask`` (``size`` px), preferring where the two
    images differ most. With ``mask``, each title
    gets the crop's :func:`fsutils.blend.seam_score` (lower = smoother). ``overview`` adds the
    whole blended image with the box drawn on it, on the left.
    """
    shape = _shape(hard)
    if _shape(blended) != shape:
        raise ValueError(f"hard {shape} and blended {_shape(blended)} must have the same size")
    if box is None:
        if mask is None:
            raise ValueError("give a box, or the garment mask to find one on its edge")
        box = boundary_box(mask, size, weight=_difference(hard, blended))
    b = _as_box(box, shape)
    images = [crop(fio.as_array(hard), b), crop(fio.as_array(blended), b)]
    names = [_titled(titles[0], _seam(hard, mask, b)), _titled(titles[1], _seam(blended, mask, b))]
    n = len(images) + (1 if overview else 0)
    fig = Figure(figsize=(panel_size * n, panel_size + 0.6), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    k = 0
    if overview:
        _imshow(axes[0], blended)
        _draw_box(axes[0], b)
        axes[0].set_title("where: " + titles[1], fontsize=10)
        k = 1
    for ax, img, title in zip(axes[k:], images, names):
        _imshow(ax, img, interpolation="nearest")
        ax.set_title(title, fontsize=10)
    for ax in axes:
        ax.set_axis_off()
    return fig


def difference_box(images: Sequence[Any], edge: np.ndarray, size: int = 96) -> Box:
    """The ``size × size`` box (smaller if the image is), centred on a pixel of ``edge`` (bool H×W,
    e.g. where a garment meets skin), in which the ``images`` differ most: the largest sum over
    the box of the per-pixel spread (max − min over the images, summed over the channels).
    Raises ``ValueError`` when ``edge`` is empty."""
    arrs = [fio.to_float(img) for img in images]
    if len(arrs) < 2 or any(a.shape != arrs[0].shape for a in arrs):
        raise ValueError("give at least two images of the same size")
    stack = np.stack(arrs)
    spread = stack.max(0) - stack.min(0)
    if spread.ndim == 3:
        spread = spread.sum(-1)
    e = np.asarray(edge, bool)
    if e.shape != spread.shape:
        raise ValueError(f"edge {e.shape} must have the images' size {spread.shape}")
    ys, xs = np.nonzero(e)
    if ys.size == 0:
        raise ValueError("the edge mask is empty: no place to put the box")
    h, w = e.shape
    s = int(min(size, h, w))
    x0 = np.clip(xs - s // 2, 0, w - s)
    y0 = np.clip(ys - s // 2, 0, h - s)
    table = cv2.integral(spread.astype(np.float64))
    sums = table[y0 + s, x0 + s] - table[y0, x0 + s] - table[y0 + s, x0] + table[y0, x0]
    best = int(np.argmax(sums))  # first of equals: reading order
    return Box(int(x0[best]), int(y0[best]), int(x0[best]) + s, int(y0[best]) + s)


def modes_closeup(images: Mapping[str, Any], box: Sequence[int], *,
                  overview: Any | None = None, truth: np.ndarray | None = None,
                  notes: Mapping[str, str] | None = None, cols: int = 4,
                  panel_size: float = 2.6) -> Figure:
    """The same crop of every image (``{title: image}``), nearest-neighbour, ``cols`` per row, each
    titled with its ``notes`` line(s); ``overview`` (e.g. the photo) is shown on the left with the
    box; ``truth`` (a bool H×W mask) draws its boundary in every crop as a thin dashed line."""
    b = _as_box(box, _shape(next(iter(images.values()))))
    cols = max(1, min(cols, len(images)))
    rows = -(-len(images) // cols)
    left = 1 if overview is not None else 0
    fig = Figure(figsize=(panel_size * (cols + left), (panel_size + 0.7) * rows),
                 layout="constrained")
    grid = fig.add_gridspec(rows, cols + left)
    if overview is not None:
        ax = fig.add_subplot(grid[:, 0])
        _imshow(ax, overview)
        _draw_box(ax, b)
        ax.set_title("where", fontsize=9)
        ax.set_axis_off()
    for k, (title, img) in enumerate(images.items()):
        ax = fig.add_subplot(grid[k // cols, left + k % cols])
        _imshow(ax, crop(fio.as_array(img), b), interpolation="nearest")
        if truth is not None:
            t = crop(np.asarray(truth, np.float32), b)
            if 0 < t.mean() < 1:
                ax.contour(t, levels=[0.5], colors="white", linewidths=0.8, linestyles="--")
        extra = (notes or {}).get(title)
        ax.set_title(title + (f"\n{extra}" if extra else ""), fontsize=8)
        ax.set_axis_off()
    return fig


def comparison_figure(photo: Any, stylized: Any, hard: Any, blended: Any, mask: np.ndarray, *,
                      saliency: np.ndarray | None = None, box: Sequence[int] | None = None,
                      size: int | None = None, blend_title: str = "saliency blend",
                      panel_size: float = 2.6) -> Figure:
    """Top: photo | mask | saliency (when given) | stylised | hard paste | blend; bottom: the
    boundary close-up of the hard paste and the blend with their seam scores.

    ``box`` defaults to :func:`boundary_box` of ``mask`` with ``size`` = a quarter of the shorter
    side (at least 32 px), preferring where the hard paste and the blend differ most; it is drawn on the hard-paste and blend panels. When the mask has no
    boundary (no garment found) the close-up row says so instead of failing.
    """
    shape = _shape(photo)
    for name, img in (("stylized", stylized), ("hard", hard), ("blended", blended), ("mask", mask)):
        if _shape(img) != shape:
            raise ValueError(f"{name} is {_shape(img)} but the photo is {shape}; all images of "
                             "the comparison must have the photo's size")
    if saliency is not None and _shape(saliency) != shape:
        raise ValueError(f"saliency is {_shape(saliency)} but the photo is {shape}")
    top = [(photo, "photo"), (np.asarray(mask), "garment mask")]
    if saliency is not None:
        top.append((saliency, "saliency"))
    top += [(stylized, "stylised"), (hard, "hard paste"), (blended, blend_title)]
    b: Box | None = None
    if box is not None:
        b = _as_box(box, shape)
    else:
        try:
            b = boundary_box(mask, size or max(32, min(shape) // 4),
                             weight=_difference(hard, blended))
        except ValueError:
            b = None
    h, w = shape
    n = len(top)
    fig = Figure(figsize=(panel_size * n * w / h, panel_size * 2 + 0.8), layout="constrained")
    grid = fig.add_gridspec(2, n * 2)
    for i, (img, title) in enumerate(top):
        ax = fig.add_subplot(grid[0, 2 * i:2 * i + 2])
        _imshow(ax, img)
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
        if b is not None and title in ("hard paste", blend_title):
            _draw_box(ax, b)
    half = n  # the close-ups share the bottom row
    for j, (img, title) in enumerate(((hard, "hard paste"), (blended, blend_title))):
        ax = fig.add_subplot(grid[1, j * half:(j + 1) * half])
        ax.set_axis_off()
        if b is None:
            ax.text(0.5, 0.5, "no garment boundary in the mask: no close-up", ha="center",
                    va="center", transform=ax.transAxes)
            continue
        _imshow(ax, crop(fio.as_array(img), b), interpolation="nearest")
        ax.set_title(_titled(f"close-up: {title}", _seam(img, mask, b)), fontsize=10)
    return fig


def segmentation_figure(photo: Any, labels: np.ndarray, *, opacity: float = 0.5,
                        panel_size: float = 4.0) -> Figure:
    """Photo | classes tinted over the photo | colour label map, with a legend of class names."""
    from fsutils.segment import CLASS_NAMES, PALETTE, colorize, overlay

    labels = np.asarray(labels)
    if _shape(photo) != labels.shape:
        raise ValueError(f"labels {labels.shape} and photo {_shape(photo)} must have the same size")
    fig = panels([photo, overlay(photo, labels, opacity), colorize(labels)],
                 ["photo", "classes over the photo", "label map"], size=panel_size)
    handles = [Patch(facecolor=PALETTE[i] / 255, edgecolor="grey", label=f"{i} {name}")
               for i, name in enumerate(CLASS_NAMES)]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9)
    return fig


# ------------------------------------------------------------------------- training pictures
def plot_history(history: list[dict], smooth: int = 10):
    """Figure: training loss per step (raw and smoothed) and validation IoU per epoch."""
    import matplotlib.pyplot as plt

    steps = [h for h in history if "loss" in h]
    epochs = [h for h in history if "val_iou" in h]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6))
    if steps:
        x = np.array([h["step"] for h in steps])
        y = np.array([h["loss"] for h in steps])
        a.plot(x, y, alpha=0.35, label="loss")
        if len(y) >= smooth:
            a.plot(x[smooth - 1:], np.convolve(y, np.ones(smooth) / smooth, "valid"), label=f"mean of {smooth}")
    a.set(xlabel="step", ylabel="loss", title="training loss")
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
