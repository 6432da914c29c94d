"""The style panel: a method and its parameters, a Run button and a live preview."""
from __future__ import annotations

import dataclasses
from typing import Any

import ipywidgets as W
import numpy as np
from PIL import Image

from fsutils.pipeline import Pipeline
from fsutils.style.methods import DEFAULT_METHOD, METHODS
from fsutils.style.params import StyleParams, controls
from fsutils.weights import WeightsError

from .base import STYLE_WIDE, Panel, control_widget, slider
from .drawing import DISPLAY_HEIGHT, compose, picture_output, text_output
from .pickers import GarmentPicker, StylePicker

__all__ = ["StylePanel"]


class StylePanel(Panel):
    """Choose a method and its parameters, press Run; Gatys shows a live preview while it optimises.

    The methods, their menus and their parameters come from the style method records
    (:data:`fsutils.style.METHODS`): each method shows the controls of its parameter object's
    fields (``style_strength`` for Magenta and AdaIN, Gatys' loss weights, steps and optimizer,
    every method's ``preserve_color``),
    a painting picker or its models' menu, and the garments-only option when it has one.

    The result becomes the pipeline's current stylised image (the blend panel follows).
    """

    css = "fsutils-style"
    what = "the stylised image"

    def __init__(self, pipe: Pipeline, *, style_picker: StylePicker | None = None,
                 garments: GarmentPicker | None = None, method: str = DEFAULT_METHOD,
                 steps: int | None = None, style_size: int | None = None) -> None:

        self.style_picker = style_picker or StylePicker()
        self.garments = garments
        self.method = W.ToggleButtons(options=[(m.label, name) for name, m in METHODS.items()],
                                      value=method, description="method",
                                      style={**STYLE_WIDE, "button_width": "auto"})
        self.method.add_class("fsutils-method")
        self.fast_style = W.Dropdown(options=list(METHODS[method].styles) or [""],
                                     description="model", style=STYLE_WIDE)
        self.fast_style.add_class("fsutils-fast-style")
        #: the control of each described parameter field of any method (made from its
        #: :class:`~fsutils.style.params.Control`; shown when the chosen method has the field)
        self.controls: dict[str, W.Widget] = {}
        for m in METHODS.values():
            for name, (default, control) in controls(m.params).items():
                if name not in self.controls:
                    self.controls[name] = control_widget(name, default, control)
                    setattr(self, name, self.controls[name])  # panel.steps, panel.style_strength …
        if steps is not None and "steps" in self.controls:
            self.controls["steps"].value = steps
        # each method opens at its own working size (the pipeline's, from the style methods
        # table: Magenta at its networks' 384 px); a size given here stays for every method
        self._fixed_size = style_size
        style_size = style_size or self._method_size(pipe, method)
        self.size = slider(W.IntSlider, style_size, 32, 1024, 32 if style_size >= 32 else 1,
                            "style size (px)", "fsutils-size")
        self.masked = W.Checkbox(value=False, description="style only from the garments",
                                 indent=False)
        self.run_button = W.Button(description="Run", button_style="primary", icon="play")
        self.run_button.add_class("fsutils-run")
        self.preview = W.Output()
        self.preview.add_class("fsutils-style-preview")
        self.progress = W.IntProgress(value=0, min=0, max=1, description="progress",
                                      style=STYLE_WIDE)
        self._paint_box = W.VBox([W.HTML("<b>painting</b>"), self.style_picker])
        super().__init__(pipe, [self.method, self.fast_style, *self.controls.values(),
                                self.masked, self.size, self._paint_box,
                                W.HBox([self.run_button, self.progress]), self.preview])
        self.method.observe(lambda c: self._layout(), names="value")
        self.run_button.on_click(lambda b: self.run())
        self._layout()
        self.refresh()

    @staticmethod
    def _method_size(pipe: Pipeline, method: str) -> int:
        """The method's default working size for the pipeline's photo (before any photo: for a
        photo of the device's working size)."""
        if pipe.image_key is not None:
            return pipe.default_style_size(method)
        from fsutils import env

        dev = getattr(pipe, "device", None)  # the pipeline's device (None: the best available)
        return int(METHODS[method].default_size(env.default_work_size(dev), dev))

    def _fields(self) -> set[str]:
        return {f.name for f in dataclasses.fields(METHODS[self.method.value].params)}

    def _layout(self) -> None:
        m, fields = METHODS[self.method.value], self._fields()
        if self._fixed_size is None:
            self.size.value = self._method_size(self.pipe, m.name)
        if m.styles:
            self.fast_style.options = list(m.styles)
            if self.fast_style.value not in m.styles:
                self.fast_style.value = m.default_style
        for name, control in self.controls.items():
            control.layout.display = "" if name in fields else "none"
        self.fast_style.layout.display = "none" if m.painting else ""
        self._paint_box.layout.display = "" if m.painting else "none"
        self.masked.layout.display = "" if m.masked else "none"

    def params(self) -> StyleParams:
        """The chosen method's parameter object, from the controls of its fields (checked when
        it is made; the fields without a control keep their defaults)."""
        m, fields = METHODS[self.method.value], self._fields()
        return m.params(**{n: c.value for n, c in self.controls.items() if n in fields})

    def spec(self) -> dict[str, Any]:
        """The current settings as ``Pipeline.stylize`` arguments."""
        m = METHODS[self.method.value]
        style = self.style_picker.value if m.painting else self.fast_style.value
        spec = {"method": m.name, "style": style, "style_size": self.size.value,
                "params": self.params()}
        if m.masked and self.masked.value:
            spec["garments"] = self.garments.garments if self.garments else self.pipe.garments()
        return spec

    def _callback(self, step: int, image: Image.Image, losses: dict[str, float]) -> None:
        total = int(self.steps.value)
        self.progress.max = max(total, 1)
        self.progress.value = min(step, self.progress.max)
        text = ", ".join(f"{k} {v:.3g}" for k, v in losses.items())
        preview = compose([(image, f"step {step} / {total}")], height=min(DISPLAY_HEIGHT, 256))
        self.preview.outputs = (picture_output(preview, self.picture_format),
                                text_output(f"step {step}: {text}"))

    def run(self) -> np.ndarray | None:
        """Stylise the photo with the current settings (the Run button); Gatys shows the image and
        the losses in the preview while it optimises. A method whose weights cannot be obtained
        here (offline, no mirror) gets the notebooks' one-line message in the panel and returns
        ``None``; any other error is shown in the panel and raised."""
        spec = self.spec()
        self.run_button.disabled, self.run_button.description = True, "Running…"
        self.preview.outputs = ()
        self.progress.value = 0
        try:
            result = self.pipe.stylize(**spec, callback=self._callback, progress=False)
        except WeightsError as err:
            self.show_weights_error(METHODS[spec["method"]].label.split(" (")[0], err,
                                    "Choose another method above.")
            return None
        except Exception as err:  # e.g. no photo yet: shown in the panel and raised
            self.show_error(err)
            raise
        finally:
            self.run_button.disabled, self.run_button.description = False, "Run"
        self.refresh()
        return result

    def render(self) -> None:
        try:
            styled = self.pipe.stylized
        except RuntimeError:
            self.show_text("Press Run to stylise the photo.")
            return
        tiles = [(self.pipe.content, "photo")]
        if METHODS[self.method.value].painting and self.style_picker.value is not None:
            tiles.append((self.style_picker.value, f"painting: {self.style_picker.name}"))
        tiles.append((styled, "stylised (latest run)"))
        self.show_tiles(tiles)   # captions as page text: readable in a narrow window too
