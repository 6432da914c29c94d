"""The stage explorers: the segmentation (:class:`SegmentationExplorer`) and the saliency map
(:class:`SaliencyExplorer`) of the pipeline's photo."""
from __future__ import annotations

import ipywidgets as W
import numpy as np

from fsutils import io as fio
from fsutils.pipeline import Pipeline

from .base import Panel, slider
from .drawing import DISPLAY_HEIGHT, TITLE_HEIGHT, compose, legend, stack
from .pickers import GarmentPicker
from .pointing import Pointing, outline

__all__ = ["SegmentationExplorer", "SaliencyExplorer"]


class SegmentationExplorer(Pointing, Panel):
    """The garment label map over the photo (opacity slider, legend) and the mask of the garments
    ticked in the checkboxes — or pointed at: a click on the labels chooses the garment under it,
    or drops a chosen one (outlined in yellow).

    ``live`` (default: wherever it can work, :func:`~fsutils.widgets.live.live_available`): the
    "labels over the photo" tile is a :class:`~fsutils.widgets.live.LivePicture` recomposed in the
    browser while the opacity slider's handle moves (the overlay ``photo·(1−a) + colour·a`` where
    a garment is, :func:`fsutils.segment.overlay`, is pointwise in the opacity ``a``: the layers
    are the photo, the coloured labels and the garment pixels, :meth:`overlay_layers`); the slider
    then reports to the kernel only when released, and the kernel draws the chosen garments, the
    legend and the shares below. A click on that picture chooses garments as on the kernel's; the
    outline of the garments pointed at is drawn into both layers, so it shows at any opacity.
    Until the browser has drawn it the kernel draws the tile from the same layers; without the
    live picture (Colab's ipywidgets 7, no anywidget) the kernel draws everything as it always
    has, the slider redrawing while it moves.
    """

    css = "fsutils-segmentation"

    def __init__(self, pipe: Pipeline, *, garments: GarmentPicker | None = None,
                 opacity: float = 0.55, live: bool | None = None) -> None:
        from .live import LiveTile

        self.garments = garments or GarmentPicker(pipe.class_names)
        self.opacity = slider(W.FloatSlider, opacity, 0.0, 1.0, 0.05, "overlay opacity",
                               "fsutils-opacity", continuous=True)
        #: the labels tile recomposed in the browser (``tile.picture`` is None without it)
        self.tile = LiveTile(self, self.opacity, ".fsutils-opacity", live=live)
        super().__init__(pipe, [self.garments, self.opacity])
        self.live = self.tile.picture
        if self.live is not None:
            self.view.children = (self.tile.box, *self.view.children)
            self.live.on_click(self._clicked_live)
        self.watch(self.opacity, *self.garments.boxes.values(), self.garments.pointed)
        self.refresh()

    def overlay_layers(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The "labels over the photo" tile at ``size`` (width, height) as layers: the photo
        (area-averaged) and the labels' colours (nearest), uint8 H×W×3, each with the outline of
        the garments pointed at, and the garment pixels (float32 H×W, 1 where a label > 0). At
        opacity ``a`` the tile is ``C + a·b·(T − C)`` (:func:`~fsutils.widgets.live.recompose`)."""
        import cv2

        from fsutils.segment import colorize

        labels, photo = self.pipe.labels(), self.pipe.content
        shrink = size[0] * size[1] < labels.size
        c = fio.to_uint8(cv2.resize(np.ascontiguousarray(photo, np.float32), size,
                                    interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR))
        lab = cv2.resize(labels.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        t = colorize(lab)
        if self.garments.points:  # the garments pointed at, outlined in both layers
            mask = self.pipe.mask(self.garments.garments)
            c, t = (np.asarray(outline(fio.to_pil(x), mask)) for x in (c, t))
        return c, t, (lab > 0).astype(np.float32)

    def _clicked_live(self, px: float, py: float) -> None:
        """A click on the live picture (canvas pixels: the photo at the picture's size)."""
        if self.pipe.content is not None and self.live.width:
            scale = self.live.width / self.pipe.content.shape[1]     # canvas px per photo px
            self._clicked(px, py, (0, 0, self.live.width, scale))

    def render(self) -> None:
        from fsutils.segment import overlay

        from .live import recompose

        labels = self.pipe.labels()
        photo = self.pipe.content
        self.pop_note()
        chosen = self.garments.garments
        mask = self.pipe.mask(chosen) if chosen else np.zeros(labels.shape, bool)
        cut = np.where(mask[..., None], photo, 0.25 * photo + 0.75)
        shares = ", ".join(f"{self.pipe.class_names[i]} {100 * np.mean(labels == i):.1f}%"
                           for i in range(1, len(self.pipe.class_names)))
        cut_tile = (cut, f"chosen garments ({mask.mean() * 100:.1f}% of the photo)")
        scale = DISPLAY_HEIGHT / labels.shape[0]       # the labels tile: first, under its title
        size = (max(1, round(labels.shape[1] * scale)), DISPLAY_HEIGHT)
        key = (self.pipe.image_key, id(labels), self.garments.points and chosen, size)
        if self.tile.show("labels over the photo", key, lambda: self.overlay_layers(size)):
            self.show_image(stack(compose([cut_tile]), legend(self.pipe.class_names)))
            self._tile = None                          # the kernel's picture: no labels to click
            self.show_html(f"<small>pixels per class: {shares}</small>")
            return
        if self.live is not None:       # until the browser draws it: the same tile, in the kernel
            over = recompose(*self.overlay_layers(size), float(self.opacity.value))
        else:
            over = overlay(photo, labels, opacity=float(self.opacity.value))
            if self.garments.points:  # the garments pointed at, outlined
                over = outline(fio.to_pil(over), mask)
        top = compose([(over, "labels over the photo"), cut_tile])
        self.show_image(stack(top, legend(self.pipe.class_names)))
        self.photo_drawn_at(0, TITLE_HEIGHT, labels.shape[1] * scale, scale)
        self.show_html(f"<small>pixels per class: {shares}</small>")


class SaliencyExplorer(Panel):
    """The saliency map ``S``, its gamma-adjusted version ``S^γ``, the region above a threshold
    and the photo weighted by the map."""

    css = "fsutils-saliency"

    def __init__(self, pipe: Pipeline, *, threshold: float = 0.5, gamma: float = 1.0) -> None:
        self.threshold = slider(W.FloatSlider, threshold, 0.0, 1.0, 0.01, "threshold",
                                 "fsutils-threshold", continuous=True)
        self.gamma = slider(W.FloatLogSlider, gamma, -1.0, 1.0, 0.05, "gamma γ",
                             "fsutils-gamma", continuous=True, base=10, readout_format=".2f")
        super().__init__(pipe, [self.threshold, self.gamma])
        self.watch(self.threshold, self.gamma)
        self.refresh()

    def render(self) -> None:
        sal = self.pipe.saliency()
        g = np.power(sal, float(self.gamma.value), dtype=np.float32)
        above = g > float(self.threshold.value)
        weighted = self.pipe.content * g[..., None]
        self.show_image(compose([(g, f"saliency S^γ (γ={self.gamma.value:.2f})"),
                            (above, f"S^γ > {self.threshold.value:.2f} ({above.mean() * 100:.0f}%)"),
                            (weighted, "photo × S^γ")]))
