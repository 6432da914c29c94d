"""The instance panel: the garments found as items ("outer 0.97", "shoe ×2"), ticked to restyle."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ipywidgets as W
import numpy as np
from PIL import Image

from fsutils.blend import DEFAULT_MODE, BlendParams
from fsutils.data import GARMENT_INSTANCE_CLASSES, INSTANCE_CLASSES
from fsutils.pipeline import Pipeline

from .base import Panel, slider
from .drawing import DISPLAY_HEIGHT

__all__ = ["InstancePanel"]


class InstancePanel(Panel):
    """The garment instances of the pipeline's photo, one checkbox per item, and the photo with
    only the ticked items restyled.

    An item is a class with its instances: ``"outer 0.97"`` (one, with its score) or
    ``"shoe ×2"``. The picture shows every instance's mask and box (ticked ones in their class
    colour, the others grey) beside the pipeline's blend of its stylised image into the union of
    the ticked instances (``pipe.blend(mode, garments=ticked)``).

    The instances are the pipeline's (:meth:`Pipeline.instances
    <fsutils.pipeline.Pipeline.instances>`, found by its ``instances=`` detector). ``style``: how
    to stylise when the pipeline has no stylised image yet (a
    :class:`~fsutils.widgets.StylePanel` or a dict of ``Pipeline.stylize`` arguments).
    ``garments``: the instance classes ticked first (default: every garment class found — top,
    outer, dress, pants, skirt — but not shoes and bags). ``mode``: the blend mode.

    The pipeline finds the instances once per photo and keeps the stylised image: ticking an
    item only blends again.

    The items' tint is one layer (:func:`fsutils.instances.viz.layers`: each pixel tinted by the
    best-scored instance covering it, a ticked class at the opacity, the others at a third of it;
    boxes and labels opaque), so the picture is pointwise in the opacity. ``live`` (default:
    wherever it can work, :func:`~fsutils.widgets.live.live_available`): the "items found" tile is
    then a :class:`~fsutils.widgets.live.LivePicture` recomposed in the browser while the opacity
    slider's handle moves (the slider reports to the kernel only when released), and the kernel
    draws the restyled tile beside it. Until the browser has drawn it the kernel draws the tile
    from the same layers; without the live picture (Colab's ipywidgets 7, no anywidget) the
    kernel draws both tiles, the slider redrawing while it moves.
    """

    css = "fsutils-instances"
    what = "the garment instances"

    def __init__(self, pipe: Pipeline, *, style: "Any | dict[str, Any] | None" = None,
                 garments: Iterable[str] | None = None, mode: str = DEFAULT_MODE,
                 opacity: float = 0.45, live: bool | None = None) -> None:
        from .live import LiveTile

        self.params = BlendParams(mode)                                # refuses an unknown mode
        self._start = None if garments is None else tuple(garments)
        if self._start is not None:
            unknown = sorted(set(self._start) - set(INSTANCE_CLASSES))
            if unknown:
                raise ValueError(f"unknown instance class(es) {unknown}; choose from "
                                 f"{', '.join(INSTANCE_CLASSES)}")
        self.style = style if style is not None else {"method": "fast", "style": "candy"}
        self.items = W.HBox()
        self.items.add_class("fsutils-instance-items")
        self.boxes: dict[str, W.Checkbox] = {}
        self.opacity = slider(W.FloatSlider, opacity, 0.0, 1.0, 0.05, "overlay opacity",
                              "fsutils-opacity", continuous=True)
        self._items_for: str | None = None
        #: the "items found" tile recomposed in the browser (``tile.picture`` None without it)
        self.tile = LiveTile(self, self.opacity, ".fsutils-opacity", live=live)
        super().__init__(pipe, [self.items, self.opacity])
        self.live = self.tile.picture
        if self.live is not None:
            self.view.children = (self.tile.box, *self.view.children)
        self.watch(self.opacity)
        self.refresh()

    @property
    def garments(self) -> tuple[str, ...]:
        """The ticked instance classes."""
        return tuple(c for c, b in self.boxes.items() if b.value)

    @garments.setter
    def garments(self, value: Iterable[str]) -> None:
        wanted = set(value)
        self._busy = True                                  # one redraw, not one per checkbox
        try:
            for c, b in self.boxes.items():
                b.value = c in wanted
        finally:
            self._busy = False
        self.refresh()

    def _build_items(self, found) -> None:
        """One checkbox per item of this photo (kept while the photo stays)."""
        from fsutils.instances.viz import item_label, items

        if self._items_for == self.pipe.image_key:
            return
        self._items_for = self.pipe.image_key
        before = set(self.garments) if self.boxes else set(self._start or GARMENT_INSTANCE_CLASSES)
        self.boxes = {}
        for cls, group in items(found).items():
            box = W.Checkbox(value=cls in before, description=item_label(cls, group),
                             indent=False, layout=W.Layout(width="auto"))
            box.add_class(f"fsutils-instance-{cls}")
            box.observe(lambda change: self.refresh(), names="value")
            self.boxes[cls] = box
        self.items.children = [W.HTML("<b>items:</b>&nbsp;"), *self.boxes.values()]

    def blended(self) -> np.ndarray:
        """The pipeline's stylised image blended into the ticked instances (float32 H×W×3; the
        photo itself when nothing is ticked)."""
        chosen = self.garments
        return self.pipe.blend(self.params, garments=chosen) if chosen else self.pipe.content

    def render(self) -> None:
        from fsutils.instances.viz import draw, layers, tint

        found = self.pipe.instances()
        self._build_items(found)
        if not found:
            self.tile.hide()
            self.show_tiles([(self.pipe.content, "no garment found")])
            self.show_text("No garment was found in this photo.")
            return
        chosen = self.garments
        h, w = self.pipe.content.shape[:2]
        size = (max(1, round(w * DISPLAY_HEIGHT / h)), DISPLAY_HEIGHT)
        restyle = bool(chosen) and self.ensure_style(self.style)
        caption = "items found (ticked in colour)" if restyle else "items found"
        tiles = []

        def tile():
            return layers(self.pipe.content, found, chosen, size=size)

        if not self.tile.show(caption, (self.pipe.image_key, id(found), chosen, size), tile):
            opacity = float(self.opacity.value)
            tiles.append((Image.fromarray(tint(*tile(), opacity)) if self.live is not None
                          else draw(self.pipe.content, found, chosen, opacity=opacity), caption))
        if restyle:
            tiles.append((self.blended(), "restyled: " + ", ".join(chosen)))
        if tiles:
            self.show_tiles(tiles)
        if not chosen:
            self.show_text("Tick at least one item to restyle it.")
