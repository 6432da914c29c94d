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
    or drops a chosen one (outlined in yellow)."""

    css = "fsutils-segmentation"

    def __init__(self, pipe: Pipeline, *, garments: GarmentPicker | None = None,
                 opacity: float = 0.55) -> None:
        self.garments = garments or GarmentPicker(pipe.class_names)
        self.opacity = slider(W.FloatSlider, opacity, 0.0, 1.0, 0.05, "overlay opacity",
                               "fsutils-opacity", continuous=True)
        super().__init__(pipe, [self.garments, self.opacity])
        self.watch(self.opacity, *self.garments.boxes.values(), self.garments.pointed)
        self.refresh()

    def render(self) -> None:
        from fsutils.segment import overlay

        labels = self.pipe.labels()
        photo = self.pipe.content
        over = overlay(photo, labels, opacity=float(self.opacity.value))
        self.pop_note()
        chosen = self.garments.garments
        mask = self.pipe.mask(chosen) if chosen else np.zeros(labels.shape, bool)
        if self.garments.points:  # the garments pointed at, outlined
            over = outline(fio.to_pil(over), mask)
        cut = np.where(mask[..., None], photo, 0.25 * photo + 0.75)
        shares = ", ".join(f"{self.pipe.class_names[i]} {100 * np.mean(labels == i):.1f}%"
                           for i in range(1, len(self.pipe.class_names)))
        top = compose([(over, "labels over the photo"),
                       (cut, f"chosen garments ({mask.mean() * 100:.1f}% of the photo)")])
        self.show_image(stack(top, legend(self.pipe.class_names)))
        scale = DISPLAY_HEIGHT / labels.shape[0]       # the labels tile: first, under its title
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
