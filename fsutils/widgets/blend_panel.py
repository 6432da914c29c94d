"""The blend panel: blend mode, its parameters and the boundary close-up."""
from __future__ import annotations

import math
from typing import Any

import ipywidgets as W
import numpy as np
from PIL import ImageDraw

from fsutils import io as fio
from fsutils.blend import (BLEND_MODES, DEFAULT_MODE, BlendParams, blend_mode, blend_parameters,
                           weight_base)
from fsutils.pipeline import Pipeline
from fsutils.views import BlendViews

from .base import STYLE_WIDE, Panel, control_widget, slider
from .drawing import DISPLAY_HEIGHT
from .pickers import GarmentPicker
from .pointing import Pointing, outline
from .style_panel import StylePanel

__all__ = ["BlendPanel"]



class BlendPanel(Pointing, Panel):
    """Blend mode and the parameters it reads — and the boundary close-up.

    The picture shows the result with the zoom box, then the same crop of the hard paste, of the
    saliency blend (equation 2) and of the chosen mode, each with its seam score (the mean colour
    step across the predicted garment boundary; lower = smoother, see
    :func:`fsutils.blend.seam_score`), and the crop of the chosen mode's blend weight. There is a
    control for every blend parameter (:func:`fsutils.blend.modes.blend_parameters`, each made
    from its Control: ``strength``, ``width``, ``radius``, ``eps`` and any registered mode's own),
    in ``controls`` by name and as an attribute of the same name; only those the chosen mode reads
    are enabled. Their starting values are keyword arguments of the same names. A click on the picture chooses the garment under
    it, or drops a chosen one (outlined in yellow in the kernel's picture); ticking a class goes
    back to the classes.

    ``live`` (default: wherever it can work, :func:`~fsutils.widgets.live.live_available`): the
    picture of the whole photo is a :class:`~fsutils.widgets.live.LivePicture` recomposed in the
    browser while the strength slider's handle moves; the close-ups and seam scores follow from the
    kernel when it is released. Until the browser has drawn it (and
    for a mode the browser cannot recompose, Poisson) the kernel draws that picture as well.
    """

    css = "fsutils-blend"

    def __init__(self, pipe: Pipeline, *, garments: GarmentPicker | None = None,
                 style: "StylePanel | dict[str, Any] | None" = None, mode: str = DEFAULT_MODE,
                 box: int | None = None, live: bool | None = None, **values: Any) -> None:
        from .live import LivePicture, live_available

        start = BlendParams.of(mode, **values)  # bad values and unknown names are refused here
        self.garments = garments or GarmentPicker(pipe.class_names)
        self.style = style if style is not None else {"method": "fast", "style": "candy"}
        self.views = BlendViews(pipe)
        self.mode = W.ToggleButtons(options=[(m.label, name) for name, m in BLEND_MODES.items()],
                                    value=mode,
                                    description="mode",
                                    style={**STYLE_WIDE, "button_width": "auto"})
        self.mode.add_class("fsutils-mode")
        if live and not live_available():
            raise ValueError("live=True needs anywidget and ipywidgets 8 (pip install anywidget); "
                             "leave live unset to use it only where it works.")
        #: the picture recomposed in the browser, or None (pictures drawn in the kernel)
        self.live = LivePicture() if (live_available() if live is None else live) else None
        #: a control per blend parameter, by name (each also an attribute: ``panel.strength``)
        self.controls = {name: control_widget(name, getattr(start, name), control)
                         for name, (_, control) in blend_parameters().items()}
        for name, widget in self.controls.items():
            if not hasattr(self, name):
                setattr(self, name, widget)
        self.box_size = slider(W.IntSlider, box or 64, 8, 512, 2, "zoom box (px)",
                                "fsutils-box-size")
        self.box_x = slider(W.IntSlider, 0, 0, 1, 1, "zoom box x", "fsutils-box-x")
        self.box_y = slider(W.IntSlider, 0, 0, 1, 1, "zoom box y", "fsutils-box-y")
        self.scores = W.HTML()
        self.scores.add_class("fsutils-seam-scores")
        self.seam: dict[str, float] = {}
        self._box_key: str | None = None
        self._auto_box: tuple[int, int, int] | None = None
        super().__init__(pipe, [self.garments, self.mode, *self.controls.values(),
                                W.HBox([self.box_x, self.box_y]), self.box_size, self.scores])
        self._requested_box = box
        if self.live is not None:
            self.view.children = (self.live, *self.view.children)
            self.live.layout.display = "none"
            self.live.strength = float(start.strength)
            self.live.follow, self.live.scope = ".fsutils-strength", f".{self.css}"
            self._link = W.jsdlink((self.strength, "value"), (self.live, "strength"))
            self.live.observe(lambda change: self.refresh(), names="ready")
            self.live.on_click(self._clicked_live)
        self.watch(self.mode, *self.controls.values(), self.box_x, self.box_y, self.box_size,
                   *self.garments.boxes.values(), self.garments.pointed)
        self.refresh()

    def _show_live(self, params: BlendParams, chosen: Any, size: tuple[int, int],
                   box: tuple[int, int, int, int], scale: float) -> bool:
        """Send the live picture what it needs for ``params`` (layers only when they changed);
        False when it cannot show this mode or the browser has not drawn it (yet)."""
        live = self.live
        record = blend_mode(params.mode)
        if live is None or not live.ready or record.js is None:
            if live is not None and live.layout.display != "none":
                live.layout.display = "none"
            return False
        base = weight_base(params)
        key = (self.pipe.image_key, self.pipe.style_key, tuple(chosen), base.mode, base.used, size)
        if key != live.layers_key:
            live.set_layers(*self.views.layers(params, garments=chosen, size=size), key)
        x0, y0, x1, y1 = box
        with live.hold_sync():
            live.formula = record.js
            live.box = [round(x0 * scale), round(y0 * scale), round(x1 * scale),
                        round(y1 * scale)]
        if live.layout.display == "none":
            live.layout.display = None
        return True

    def _clicked_live(self, px: float, py: float) -> None:
        """A click on the live picture (canvas pixels: the photo at the picture's size)."""
        if self.pipe.content is None or not self.live.width:
            return
        scale = self.live.width / self.pipe.content.shape[1]   # canvas px per photo px
        self._clicked(px, py, (0, 0, self.live.width, scale))

    def _place_box(self, mask: np.ndarray) -> None:
        """Fit the zoom-box sliders to the photo and put the box on the garment edge: for each new
        photo, and for a new garment choice only while the box is still where it was put (a box
        the user moved stays where they moved it)."""
        h, w = mask.shape
        key = f"{self.pipe.image_key}/{self.garments.garments}"
        if key == self._box_key:
            return
        same_photo = self._box_key is not None and self._box_key.startswith(
            f"{self.pipe.image_key}/")
        self._box_key = key
        here = (self.box_x.value, self.box_y.value, self.box_size.value)
        if same_photo and here != self._auto_box:
            return
        from fsutils.viz import boundary_box

        size = min(self._requested_box or max(16, min(h, w) // 5), h, w)
        if mask.any() and not mask.all():
            x0, y0, x1, y1 = boundary_box(mask, size)
            cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        else:
            cx, cy = w // 2, h // 2
        with self.box_x.hold_trait_notifications(), self.box_y.hold_trait_notifications(), \
                self.box_size.hold_trait_notifications():
            self.box_size.max = max(8, min(h, w))
            self.box_size.value = size
            self.box_x.max, self.box_y.max = w - 1, h - 1
            self.box_x.value, self.box_y.value = cx, cy
        self._auto_box = (self.box_x.value, self.box_y.value, self.box_size.value)

    def crop_box(self) -> tuple[int, int, int, int]:
        """The zoom box as ``(left, top, right, bottom)`` pixels of the photo."""
        h, w = self.pipe.content.shape[:2]
        s = min(int(self.box_size.value), h, w)
        x0 = int(np.clip(self.box_x.value - s // 2, 0, w - s))
        y0 = int(np.clip(self.box_y.value - s // 2, 0, h - s))
        return x0, y0, x0 + s, y0 + s

    @property
    def params(self) -> BlendParams:
        """The chosen mode with the controls' values."""
        return BlendParams.of(self.mode.value, **{name: widget.value
                                                  for name, widget in self.controls.items()})

    def _enable_used_sliders(self, params: BlendParams) -> None:
        """Grey out the sliders the chosen mode does not read (they stay visible)."""
        used = {name for name, _ in params.used}
        for name, widget in self.controls.items():
            widget.disabled = name not in used

    def render(self) -> None:
        from fsutils.blend import seam_score

        chosen = self.garments.garments
        self.pop_note()
        if not chosen:
            self.show_text("Tick at least one garment, or click on one.")
            return
        if not self.ensure_style(self.style):
            return
        mask = self.pipe.mask(chosen)
        self._place_box(mask)
        params = self.params
        self._enable_used_sliders(params)
        box = x0, y0, x1, y1 = self.crop_box()
        # Only the pixels shown are blended (fsutils.views): the photo at the picture's
        # height, and the close-up box at full resolution.
        h, w = mask.shape
        scale = DISPLAY_HEIGHT / h
        size = (max(1, round(w * scale)), DISPLAY_HEIGHT)
        compare = list(dict.fromkeys(["hard", "saliency", params.mode]))
        crops, self.seam = [], {}
        mcrop = mask[y0:y1, x0:x1]
        for m in compare:
            crop = self.views.blend(params.replace(mode=m), garments=chosen, box=box)
            self.seam[m] = seam_score(crop, mcrop)
            score = "n/a (no edge here)" if math.isnan(self.seam[m]) else f"{self.seam[m]:.3f}"
            crops.append((crop, f"{blend_mode(m).label}: seam {score}"))
        weight = self.views.weight(params, garments=chosen, box=box)
        if weight is not None:
            crops.append((fio.to_uint8(weight), f"weight W ({blend_mode(params.mode).label})"))
        if self._show_live(params, chosen, size, box, scale):
            self.show_tiles(crops, nearest=True)   # the whole photo: the live picture above
            self._tile = None                      # the kernel's picture: close-ups, no photo
        else:
            frame = fio.to_pil(self.views.blend(params, garments=chosen, size=size))
            if self.garments.points:  # the garments pointed at, outlined
                frame = outline(frame, mask)
            ImageDraw.Draw(frame).rectangle((round(x0 * scale), round(y0 * scale),
                                             round(x1 * scale) - 1, round(y1 * scale) - 1),
                                            outline=(0, 200, 255), width=2)
            # captions as page text (Panel.show_tiles): readable in a narrow window too
            self.show_tiles([(frame, blend_mode(params.mode).label), *crops], nearest=True)
            scale = self.last_image.height / h                     # picture px per photo px
            self.photo_drawn_at(0, 0, w * scale, scale)
        self.scores.value = "seam score (lower = smoother boundary): " + ", ".join(
            f"<b>{m}</b> {'n/a' if math.isnan(v) else f'{v:.4f}'}" for m, v in self.seam.items())
