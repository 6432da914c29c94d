"""Interactive panels for the notebooks (ipywidgets), all driven by one cached
:class:`~fsutils.pipeline.Pipeline`.

- :class:`PhotoPicker` — bundled sample photos, your own upload (``FileUpload``; on Colab also
  :func:`colab_upload`), a thumbnail; choosing a photo sets it on the pipeline.
- :class:`StylePicker` — the bundled paintings as clickable thumbnails, plus an upload.
- :class:`GarmentPicker` — one checkbox per garment class, by name.
- :class:`SegmentationExplorer` — class overlay with legend and opacity, garment checkboxes.
- :class:`SaliencyExplorer` — the saliency map with threshold and gamma previews.
- :class:`StylePanel` — method (Gatys / fast / AdaIN), content weight α, style weight β, TV weight,
  steps, size, optimizer, AdaIN α; a Run button and a live preview during the optimisation.
- :class:`BlendPanel` — mode (hard paste / saliency / feathered), feather width, saliency strength
  and the **boundary close-up**: a zoom box moved with sliders, showing the same crop of the hard
  paste and the saliency blend side by side with a seam score for each.
- :class:`PipelinePanel` — all of the above on one photo, plus saving the results.

Every panel is an ``ipywidgets.VBox`` (display it, or leave it as a cell's last expression) with
one ``Output`` that is redrawn when a control changes (``observe``) or when another panel changes
the pipeline's photo or style. Expensive sliders only report when released
(``continuous_update=False``). Pictures are drawn with Pillow into one PNG per update, which keeps
a slider change on a 2-core CPU in tens of milliseconds.

A redraw replaces the Output's ``outputs`` in **one assignment** — the flicker-free equivalent of
``clear_output(wait=True)`` followed by ``display``. The panels deliberately do not use the
``with output:`` capture protocol: under server-side execution (nbclient, which Voila also uses)
with ipykernel 7, a widget that captures output while a cell runs makes the client send comm
messages on the shell channel, and the cell's execute reply can then be lost for the whole cell
timeout. An error while drawing is shown in the panel *and* raised.
"""
from __future__ import annotations

import base64
import io as _io
import math
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import ipywidgets as W
import numpy as np
from IPython.display import display
from IPython.display import Image as IPyImage
from PIL import Image, ImageDraw, ImageFont

from fsutils import io as fio
from fsutils.pipeline import MODES, Pipeline, resolve_classes, to_uint8

__all__ = ["PhotoPicker", "StylePicker", "GarmentPicker", "SegmentationExplorer",
           "SaliencyExplorer", "StylePanel", "BlendPanel", "PipelinePanel", "colab_upload",
           "compose", "show", "DISPLAY_HEIGHT"]

#: Height in pixels of the pictures the panels draw.
DISPLAY_HEIGHT = 320
_LAYOUT_SLIDER = W.Layout(width="420px")
_STYLE_WIDE = {"description_width": "120px"}


# ---------------------------------------------------------------------------------- drawing


def _font(size: int = 14) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: a fixed bitmap font
        return ImageFont.load_default()


def _pil(img: Any) -> Image.Image:
    if isinstance(img, Image.Image):
        return img.convert("RGB") if img.mode not in ("RGB", "L") else img
    arr = np.asarray(img)
    if arr.dtype == np.bool_:
        return Image.fromarray(arr.astype(np.uint8) * 255, "L")
    if arr.dtype != np.uint8:
        arr = to_uint8(arr)
    return Image.fromarray(arr, "L" if arr.ndim == 2 else "RGB")


def _fit_height(img: Image.Image, height: int, nearest: bool = False) -> Image.Image:
    if img.height == height:
        return img
    w = max(1, round(img.width * height / img.height))
    return img.resize((w, height), Image.Resampling.NEAREST if nearest
                      else Image.Resampling.BILINEAR)


def compose(tiles: Iterable[tuple[Any, str]], height: int = DISPLAY_HEIGHT, *,
            nearest: bool = False, gap: int = 6) -> Image.Image:
    """Images side by side at one height, each with its title above: ``[(image, title), …]``."""
    font = _font(14)
    row = [(_fit_height(_pil(im).convert("RGB"), height, nearest), title) for im, title in tiles]
    title_h = 22
    width = sum(im.width for im, _ in row) + gap * (len(row) - 1)
    canvas = Image.new("RGB", (max(width, 1), height + title_h), "white")
    draw = ImageDraw.Draw(canvas)
    x = 0
    for im, title in row:
        canvas.paste(im, (x, title_h))
        draw.text((x + 2, 3), title, fill=(20, 20, 20), font=font)
        x += im.width + gap
    return canvas


def _png(img: Image.Image) -> bytes:
    buf = _io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def show(img: Any, **kw: Any) -> None:
    """Display one picture (PIL image, array, or the tiles of :func:`compose`) as a PNG."""
    if isinstance(img, (list, tuple)):
        img = compose(img, **kw)
    display(IPyImage(data=_png(_pil(img)), format="png"))


def _thumbnail(img: Image.Image, side: int = 96) -> bytes:
    im = img.copy()
    im.thumbnail((side, side), Image.Resampling.BILINEAR)
    return _png(im)


def _legend(names: Iterable[str], height: int = 24) -> Image.Image:
    from fsutils.segment import PALETTE

    names = list(names)
    font = _font(13)
    canvas = Image.new("RGB", (150 * len(names), height), "white")
    draw = ImageDraw.Draw(canvas)
    for i, name in enumerate(names):
        x = 150 * i + 4
        draw.rectangle((x, 5, x + 14, 19), fill=tuple(int(v) for v in PALETTE[i]),
                       outline=(80, 80, 80))
        draw.text((x + 20, 4), name, fill=(20, 20, 20), font=font)
    return canvas


def _stack(top: Image.Image, bottom: Image.Image) -> Image.Image:
    canvas = Image.new("RGB", (max(top.width, bottom.width), top.height + bottom.height), "white")
    canvas.paste(top, (0, 0))
    canvas.paste(bottom, (0, top.height))
    return canvas


# ------------------------------------------------------------------------------- base panel


def _png_output(img: Image.Image) -> dict[str, Any]:
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(_png(img)).decode("ascii"),
                     "text/plain": f"<image {img.width}×{img.height}>"}}


def _text_output(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text.rstrip("\n") + "\n"}


def _html_output(html: str) -> dict[str, Any]:
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": html, "text/plain": html}}


def _error_output(err: BaseException) -> dict[str, Any]:
    return {"output_type": "error", "ename": type(err).__name__, "evalue": str(err),
            "traceback": [line.rstrip("\n") for line in traceback.format_exception(err)]}


class _Panel(W.VBox):
    """A VBox with one Output that :meth:`refresh` redraws in one assignment."""

    css: str = ""

    def __init__(self, pipe: Pipeline, children: list[W.Widget], **kw: Any) -> None:
        self.pipe = pipe
        self.out = W.Output()
        if self.css:
            self.out.add_class(f"{self.css}-view")
        super().__init__(children=[*children, self.out], **kw)
        if self.css:
            self.add_class(self.css)
        self._busy = False
        self._pending: list[dict[str, Any]] = []
        self.last_image: Image.Image | None = None
        pipe.on_change(self._on_pipeline)

    def _watch(self, *widgets: W.Widget) -> None:
        for w in widgets:
            w.observe(lambda change: self.refresh(), names="value")

    def _on_pipeline(self, event: str) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Redraw the panel from the current controls. An error is shown in the panel and raised
        (in a notebook cell it fails the cell; in a slider callback ipywidgets logs it)."""
        if self._busy:
            return
        self._busy = True
        self._pending = []
        try:
            if self.pipe.image_key is None:
                self._text("Choose a photo first (PhotoPicker, or pipe.set_image(photo)).")
            else:
                self.render()
        except Exception as err:
            self.out.outputs = (*self._pending, _error_output(err))
            raise
        finally:
            self._busy = False
        self.out.outputs = tuple(self._pending)

    def _show(self, img: Image.Image) -> None:
        self.last_image = img
        self._pending.append(_png_output(img))

    def _text(self, text: str) -> None:
        self._pending.append(_text_output(text))

    def _html(self, html: str) -> None:
        self._pending.append(_html_output(html))

    def render(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _slider(cls, value, min, max, step, description, css, *, continuous=False, readout_format=None,
            **kw):
    args = dict(value=value, min=min, max=max, step=step, description=description,
                continuous_update=continuous, layout=_LAYOUT_SLIDER, style=_STYLE_WIDE, **kw)
    if readout_format:
        args["readout_format"] = readout_format
    s = cls(**args)
    s.add_class(css)
    return s


# ----------------------------------------------------------------------------------- pickers


def _upload_image(upload: W.FileUpload) -> tuple[Image.Image, str] | None:
    value = upload.value
    if not value:
        return None
    item = value[0] if isinstance(value, (list, tuple)) else next(iter(value.values()))
    return fio.load_image(bytes(item["content"])), Path(item.get("name", "upload")).stem


def colab_upload(picker: "PhotoPicker | StylePicker | None" = None) -> Image.Image:
    """On Colab: open the browser's file dialog (``google.colab.files.upload()``), load the first
    file, and hand it to ``picker`` (a :class:`PhotoPicker` or :class:`StylePicker`). Run it in a
    cell of its own: Colab's dialog cannot be opened from a button."""
    if "google.colab" not in sys.modules:
        raise RuntimeError("colab_upload() works on Google Colab only; use the picker's Upload "
                           "button (or pass a file path to pipe.set_image) elsewhere.")
    from google.colab import files  # type: ignore[import-not-found]

    uploaded = files.upload()
    if not uploaded:
        raise RuntimeError("no file was uploaded")
    name, data = next(iter(uploaded.items()))
    img = fio.load_image(data)
    if picker is not None:
        picker.set(img, Path(name).stem)
    return img


class PhotoPicker(W.VBox):
    """Choose the photo: a bundled sample (dropdown) or an upload; shows a thumbnail and sets the
    photo on ``pipe`` (so every panel of that pipeline follows)."""

    def __init__(self, pipe: Pipeline | None = None, *, value: str | None = None) -> None:
        self.pipe = pipe
        self.samples = {p.stem: p for p in fio.sample_photos()}
        names = list(self.samples)
        self.dropdown = W.Dropdown(options=names, value=value or names[0], description="photo",
                                   style=_STYLE_WIDE)
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="Upload photo")
        self.thumb = W.Image(format="png", layout=W.Layout(height="120px"))
        self.status = W.HTML()
        self.value: Image.Image | None = None
        self.name: str = ""
        self._callbacks: list[Callable[[Image.Image], None]] = []
        hint = [W.HTML("On Colab you can also run <code>fsutils.widgets.colab_upload(picker)</code> "
                       "in a cell.")] if "google.colab" in sys.modules else []
        super().__init__([W.HBox([self.thumb, W.VBox([self.dropdown, self.upload, self.status])]),
                          *hint])
        self.add_class("fsutils-photo-picker")
        self.dropdown.observe(lambda c: self._pick_sample(), names="value")
        self.upload.observe(lambda c: self._pick_upload(), names="value")
        self._pick_sample()

    def on_pick(self, callback: Callable[[Image.Image], None]) -> None:
        self._callbacks.append(callback)

    def _pick_sample(self) -> None:
        name = self.dropdown.value
        self.set(fio.load_image(self.samples[name]), name)

    def _pick_upload(self) -> None:
        got = _upload_image(self.upload)
        if got is not None:
            self.set(*got)

    def set(self, img: Image.Image, name: str = "photo") -> None:
        """Use ``img`` as the photo (what the dropdown and the upload call)."""
        self.value, self.name = img, name
        self.thumb.value = _thumbnail(img, 160)
        self.status.value = f"<b>{name}</b> — {img.width}×{img.height} px"
        if self.pipe is not None:
            self.pipe.set_image(img)
        for cb in self._callbacks:
            cb(img)


class StylePicker(W.VBox):
    """The bundled paintings as thumbnails (click one) plus an upload; ``.value`` is the chosen
    painting (PIL), ``.name`` its name."""

    def __init__(self, value: str = "starry_night_vangogh", *, columns: int = 6) -> None:
        self.samples = {p.stem: p for p in fio.sample_styles()}
        if value not in self.samples:
            value = next(iter(self.samples))
        self.buttons: dict[str, W.Button] = {}
        cells = []
        for name, path in self.samples.items():
            img = fio.load_image(path)
            thumb = W.Image(value=_thumbnail(img, 84), format="png",
                            layout=W.Layout(width="84px", height="84px", object_fit="cover"))
            button = W.Button(description=name.split("_")[0][:12], tooltip=name,
                              layout=W.Layout(width="84px"))
            button.on_click(lambda b, n=name: self.select(n))
            self.buttons[name] = button
            cells.append(W.VBox([thumb, button], layout=W.Layout(align_items="center")))
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="Your painting")
        self.upload.observe(lambda c: self._pick_upload(), names="value")
        self.label = W.HTML()
        self.value: Image.Image | None = None
        self.name = ""
        self._callbacks: list[Callable[[Image.Image], None]] = []
        grid = W.GridBox(cells, layout=W.Layout(
            grid_template_columns=f"repeat({columns}, 90px)", grid_gap="4px"))
        super().__init__([grid, W.HBox([self.upload, self.label])])
        self.add_class("fsutils-style-picker")
        self.select(value)

    def on_pick(self, callback: Callable[[Image.Image], None]) -> None:
        self._callbacks.append(callback)

    def select(self, name: str) -> None:
        """Choose a bundled painting by name."""
        self.set(fio.load_image(self.samples[name]), name)

    def _pick_upload(self) -> None:
        got = _upload_image(self.upload)
        if got is not None:
            self.set(*got)

    def set(self, img: Image.Image, name: str = "painting") -> None:
        self.value, self.name = img, name
        for n, b in self.buttons.items():
            b.button_style = "info" if n == name else ""
        self.label.value = f"style: <b>{name}</b>"
        for cb in self._callbacks:
            cb(img)


class GarmentPicker(W.HBox):
    """One checkbox per garment class (by name); ``.classes`` is the chosen label indices."""

    def __init__(self, names: Iterable[str] = ("background", "upper body", "lower body",
                                               "full body"),
                 value: Iterable[int | str] | None = None) -> None:
        self.names = tuple(names)
        chosen = resolve_classes(value, self.names)
        self.boxes = {i: W.Checkbox(value=i in chosen, description=self.names[i], indent=False,
                                    layout=W.Layout(width="130px"))
                      for i in range(1, len(self.names))}
        for i, b in self.boxes.items():
            b.add_class(f"fsutils-garment-{i}")
        super().__init__([W.HTML("<b>garments:</b>&nbsp;"), *self.boxes.values()])
        self.add_class("fsutils-garments")

    @property
    def classes(self) -> tuple[int, ...]:
        return tuple(i for i, b in self.boxes.items() if b.value)

    @classes.setter
    def classes(self, value: Iterable[int | str]) -> None:
        chosen = resolve_classes(value, self.names)
        for i, b in self.boxes.items():
            b.value = i in chosen

    def observe_classes(self, callback: Callable[[tuple[int, ...]], None]) -> None:
        for b in self.boxes.values():
            b.observe(lambda c: callback(self.classes), names="value")


# ------------------------------------------------------------------------- stage explorers


class SegmentationExplorer(_Panel):
    """The garment label map over the photo (opacity slider, legend) and the mask of the garments
    ticked in the checkboxes."""

    css = "fsutils-segmentation"

    def __init__(self, pipe: Pipeline, *, garments: GarmentPicker | None = None,
                 opacity: float = 0.55) -> None:
        self.garments = garments or GarmentPicker(pipe.class_names)
        self.opacity = _slider(W.FloatSlider, opacity, 0.0, 1.0, 0.05, "overlay opacity",
                               "fsutils-opacity", continuous=True)
        super().__init__(pipe, [self.garments, self.opacity])
        self._watch(self.opacity, *self.garments.boxes.values())
        self.refresh()

    def render(self) -> None:
        from fsutils.segment import overlay

        labels = self.pipe.labels()
        photo = self.pipe.content
        over = overlay(photo, labels, alpha=float(self.opacity.value))
        classes = self.garments.classes
        mask = self.pipe.mask(classes) if classes else np.zeros(labels.shape, bool)
        cut = np.where(mask[..., None], photo, 0.25 * photo + 0.75)
        shares = ", ".join(f"{self.pipe.class_names[i]} {100 * np.mean(labels == i):.1f}%"
                           for i in range(1, len(self.pipe.class_names)))
        top = compose([(over, "labels over the photo"),
                       (cut, f"chosen garments ({mask.mean() * 100:.1f}% of the photo)")])
        self._show(_stack(top, _legend(self.pipe.class_names)))
        self._html(f"<small>pixels per class: {shares}</small>")


class SaliencyExplorer(_Panel):
    """The saliency map ``S``, its gamma-adjusted version ``S^γ``, the region above a threshold
    and the photo weighted by the map."""

    css = "fsutils-saliency"

    def __init__(self, pipe: Pipeline, *, threshold: float = 0.5, gamma: float = 1.0) -> None:
        self.threshold = _slider(W.FloatSlider, threshold, 0.0, 1.0, 0.01, "threshold",
                                 "fsutils-threshold", continuous=True)
        self.gamma = _slider(W.FloatLogSlider, gamma, -1.0, 1.0, 0.05, "gamma γ",
                             "fsutils-gamma", continuous=True, base=10, readout_format=".2f")
        super().__init__(pipe, [self.threshold, self.gamma])
        self._watch(self.threshold, self.gamma)
        self.refresh()

    def render(self) -> None:
        sal = self.pipe.saliency()
        g = np.power(sal, float(self.gamma.value), dtype=np.float32)
        above = g > float(self.threshold.value)
        weighted = self.pipe.content * g[..., None]
        self._show(compose([(g, f"saliency S^γ (γ={self.gamma.value:.2f})"),
                            (above, f"S^γ > {self.threshold.value:.2f} ({above.mean() * 100:.0f}%)"),
                            (weighted, "photo × S^γ")]))


# ------------------------------------------------------------------------------- style panel


class StylePanel(_Panel):
    """Choose a method and its parameters, press Run; Gatys shows a live preview while it optimises.

    The result becomes the pipeline's current stylised image (the blend panel follows).
    """

    css = "fsutils-style"

    def __init__(self, pipe: Pipeline, *, style_picker: StylePicker | None = None,
                 garments: GarmentPicker | None = None, method: str = "fast",
                 fast_style: str = "candy", steps: int | None = None,
                 size: int | None = None) -> None:
        from fsutils import env
        from fsutils.style import FAST_STYLES

        self.style_picker = style_picker or StylePicker()
        self.garments = garments
        self.method = W.ToggleButtons(options=[("Gatys (optimise)", "gatys"),
                                               ("fast (pretrained)", "fast"),
                                               ("AdaIN (any painting)", "adain")],
                                      value=method, description="method", style=_STYLE_WIDE)
        self.method.add_class("fsutils-method")
        self.fast_style = W.Dropdown(options=list(FAST_STYLES), value=fast_style,
                                     description="fast model", style=_STYLE_WIDE)
        self.adain_alpha = _slider(W.FloatSlider, 1.0, 0.0, 1.0, 0.05, "AdaIN α", "fsutils-alpha")
        self.content_weight = _slider(W.FloatLogSlider, 1.0, -3, 3, 0.25, "content weight α",
                                      "fsutils-content-weight", base=10, readout_format=".3g")
        self.style_weight = _slider(W.FloatLogSlider, 1e6, 2, 9, 0.25, "style weight β",
                                    "fsutils-style-weight", base=10, readout_format=".3g")
        self.tv_weight = W.BoundedFloatText(value=0.0, min=0.0, max=1e6, step=1e-6,
                                            description="TV weight", style=_STYLE_WIDE)
        self.steps = _slider(W.IntSlider, steps or env.default_gatys_steps(), 1, 1000, 1, "steps",
                             "fsutils-steps")
        size = size or env.default_style_size()
        self.size = _slider(W.IntSlider, size, 32, 1024, 32 if size >= 32 else 1,
                            "size (px)", "fsutils-size")
        self.optimizer = W.Dropdown(options=["lbfgs", "adam"], value="lbfgs",
                                    description="optimizer", style=_STYLE_WIDE)
        self.masked = W.Checkbox(value=False, description="style loss only on the garments",
                                 indent=False)
        self.run_button = W.Button(description="Run", button_style="primary", icon="play")
        self.run_button.add_class("fsutils-run")
        self.preview = W.Output()
        self.preview.add_class("fsutils-style-preview")
        self.progress = W.IntProgress(value=0, min=0, max=1, description="progress",
                                      style=_STYLE_WIDE)
        self._gatys_box = W.VBox([self.content_weight, self.style_weight, self.tv_weight,
                                  self.steps, self.optimizer, self.masked])
        self._paint_box = W.VBox([W.HTML("<b>painting</b>"), self.style_picker])
        super().__init__(pipe, [self.method, self.fast_style, self.adain_alpha, self._gatys_box,
                                self.size, self._paint_box,
                                W.HBox([self.run_button, self.progress]), self.preview])
        self.method.observe(lambda c: self._layout(), names="value")
        self.run_button.on_click(lambda b: self.run())
        self._layout()
        self.refresh()

    def _layout(self) -> None:
        m = self.method.value
        self.fast_style.layout.display = "" if m == "fast" else "none"
        self.adain_alpha.layout.display = "" if m == "adain" else "none"
        self._gatys_box.layout.display = "" if m == "gatys" else "none"
        self._paint_box.layout.display = "none" if m == "fast" else ""

    def spec(self) -> dict[str, Any]:
        """The current settings as ``Pipeline.stylize`` arguments."""
        m = self.method.value
        if m == "fast":
            return {"method": "fast", "style": self.fast_style.value, "size": self.size.value}
        if m == "adain":
            return {"method": "adain", "style": self.style_picker.value, "size": self.size.value,
                    "alpha": float(self.adain_alpha.value)}
        spec = {"method": "gatys", "style": self.style_picker.value, "size": self.size.value,
                "content_weight": float(self.content_weight.value),
                "style_weight": float(self.style_weight.value),
                "tv_weight": float(self.tv_weight.value), "steps": int(self.steps.value),
                "optimizer": self.optimizer.value}
        if self.masked.value:
            spec["mask_classes"] = self.garments.classes if self.garments else True
        return spec

    def _callback(self, step: int, image: Image.Image, losses: dict[str, float]) -> None:
        total = int(self.steps.value)
        self.progress.max = max(total, 1)
        self.progress.value = min(step, self.progress.max)
        text = ", ".join(f"{k} {v:.3g}" for k, v in losses.items())
        self.preview.outputs = (_png_output(compose([(image, f"step {step} / {total}")],
                                                    height=min(DISPLAY_HEIGHT, 256))),
                                _text_output(f"step {step}: {text}"))

    def run(self) -> np.ndarray:
        """Stylise the photo with the current settings (the Run button); Gatys shows the image and
        the losses in the preview while it optimises."""
        self.pipe._need_image()
        spec = self.spec()
        self.run_button.disabled, self.run_button.description = True, "Running…"
        self.preview.outputs = ()
        self.progress.value = 0
        try:
            result = self.pipe.stylize(**spec, callback=self._callback, progress=False)
        except Exception as err:
            self.out.outputs = (_error_output(err),)
            raise
        finally:
            self.run_button.disabled, self.run_button.description = False, "Run"
        self.refresh()
        return result

    def render(self) -> None:
        try:
            styled = self.pipe.stylized
        except RuntimeError:
            self._text("Press Run to stylise the photo.")
            return
        tiles = [(self.pipe.content, "photo")]
        if self.method.value != "fast" and self.style_picker.value is not None:
            tiles.append((self.style_picker.value, f"painting: {self.style_picker.name}"))
        tiles.append((styled, "stylised (latest run)"))
        self._show(compose(tiles))


# ------------------------------------------------------------------------------- blend panel


class BlendPanel(_Panel):
    """Blend mode, feather width, saliency strength — and the boundary close-up.

    The picture shows the result with the zoom box, then the same crop of the hard paste and of the
    saliency blend (and of the feathered blend in that mode), each with its seam score (the mean
    colour step across the garment boundary; lower = smoother, see :func:`fsutils.blend.seam_score`).
    """

    css = "fsutils-blend"

    def __init__(self, pipe: Pipeline, *, garments: GarmentPicker | None = None,
                 style: "StylePanel | dict[str, Any] | None" = None, mode: str = "saliency",
                 strength: float = 1.0, width: float = 8.0, box: int | None = None) -> None:
        self.garments = garments or GarmentPicker(pipe.class_names)
        self.style = style if style is not None else {"method": "fast", "style": "candy"}
        self.mode = W.ToggleButtons(options=[("hard paste", "hard"), ("saliency", "saliency"),
                                             ("feathered", "feathered")], value=mode,
                                    description="mode", style=_STYLE_WIDE)
        self.mode.add_class("fsutils-mode")
        self.strength = _slider(W.FloatSlider, strength, 0.0, 3.0, 0.05, "saliency strength",
                                "fsutils-strength")
        self.width = _slider(W.FloatSlider, width, 0.0, 40.0, 0.5, "feather width (px)",
                             "fsutils-width")
        self.box_size = _slider(W.IntSlider, box or 64, 8, 512, 2, "zoom box (px)",
                                "fsutils-box-size")
        self.box_x = _slider(W.IntSlider, 0, 0, 1, 1, "zoom box x", "fsutils-box-x")
        self.box_y = _slider(W.IntSlider, 0, 0, 1, 1, "zoom box y", "fsutils-box-y")
        self.scores = W.HTML()
        self.scores.add_class("fsutils-seam-scores")
        self.seam: dict[str, float] = {}
        self._box_key: str | None = None
        super().__init__(pipe, [self.garments, self.mode, self.strength, self.width,
                                W.HBox([self.box_x, self.box_y]), self.box_size, self.scores])
        self._requested_box = box
        self._watch(self.mode, self.strength, self.width, self.box_x, self.box_y, self.box_size,
                    *self.garments.boxes.values())
        self.refresh()

    def _ensure_style(self) -> bool:
        try:
            self.pipe.stylized
            return True
        except RuntimeError:
            pass
        spec = self.style.spec() if isinstance(self.style, StylePanel) else dict(self.style)
        if spec["method"] == "gatys":
            self._text("No stylised image for this photo yet: press Run in the style panel.")
            return False
        self.pipe.stylize(**spec)
        return True

    def _place_box(self, mask: np.ndarray) -> None:
        """Fit the zoom-box sliders to the photo, and put the box on the garment edge once per
        photo and garment choice."""
        h, w = mask.shape
        key = f"{self.pipe.image_key}/{self.garments.classes}"
        if key == self._box_key:
            return
        self._box_key = key
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

    def crop_box(self) -> tuple[int, int, int, int]:
        """The zoom box as ``(left, top, right, bottom)`` pixels of the photo."""
        h, w = self.pipe.content.shape[:2]
        s = min(int(self.box_size.value), h, w)
        x0 = int(np.clip(self.box_x.value - s // 2, 0, w - s))
        y0 = int(np.clip(self.box_y.value - s // 2, 0, h - s))
        return x0, y0, x0 + s, y0 + s

    def render(self) -> None:
        from fsutils.blend import seam_score

        classes = self.garments.classes
        if not classes:
            self._text("Tick at least one garment.")
            return
        if not self._ensure_style():
            return
        mask = self.pipe.mask(classes)
        self._busy = True  # moving the sliders below must not redraw recursively
        self._place_box(mask)
        mode = self.mode.value
        kw = dict(classes=classes, strength=float(self.strength.value),
                  width=float(self.width.value))
        result = self.pipe.blend(mode, **kw)
        x0, y0, x1, y1 = self.crop_box()
        compare = ["hard", "saliency"] + (["feathered"] if mode == "feathered" else [])
        crops, self.seam = [], {}
        mcrop = mask[y0:y1, x0:x1]
        for m in compare:
            img = result if m == mode else self.pipe.blend(m, **kw)
            crop = img[y0:y1, x0:x1]
            self.seam[m] = seam_score(np.ascontiguousarray(crop), mcrop)
            score = "n/a (no edge here)" if math.isnan(self.seam[m]) else f"{self.seam[m]:.3f}"
            crops.append((crop, f"{m}: seam {score}"))
        frame = Image.fromarray(to_uint8(result))
        ImageDraw.Draw(frame).rectangle((x0, y0, x1 - 1, y1 - 1), outline=(0, 200, 255),
                                        width=max(1, frame.width // 256))
        title = {"hard": "hard paste", "saliency": f"saliency blend (strength {kw['strength']:g})",
                 "feathered": f"feathered (width {kw['width']:g} px)"}[mode]
        full = compose([(frame, title)])
        zoom = compose(crops, nearest=True)
        self._show(compose([(full, ""), (zoom, "")], height=full.height))
        self.scores.value = "seam score (lower = smoother boundary): " + ", ".join(
            f"<b>{m}</b> {'n/a' if math.isnan(v) else f'{v:.4f}'}" for m, v in self.seam.items())


# ----------------------------------------------------------------------------- whole pipeline


class PipelinePanel(W.VBox):
    """Photo → garments → style → saliency blend → boundary comparison, then Save.

    ``output_dir`` is where Save writes the images (default ``outputs/`` or ``$FSUTILS_OUTPUT_DIR``).
    """

    def __init__(self, pipe: Pipeline, *, output_dir: str | Path | None = None,
                 method: str = "fast") -> None:
        import os

        self.pipe = pipe
        self.photo = PhotoPicker(pipe)
        self.garments = GarmentPicker(pipe.class_names)
        self.segmentation = SegmentationExplorer(pipe, garments=self.garments)
        self.saliency = SaliencyExplorer(pipe)
        self.style = StylePanel(pipe, garments=self.garments, method=method)
        self.blend = BlendPanel(pipe, garments=self.garments, style=self.style)
        self.output_dir = Path(output_dir or os.environ.get("FSUTILS_OUTPUT_DIR", "outputs"))
        self.save_button = W.Button(description="Save results", icon="save")
        self.save_button.add_class("fsutils-save")
        self.saved = W.HTML()
        self.save_button.on_click(lambda b: self.save())
        tabs = W.Tab(children=[self.segmentation, self.saliency, self.style, self.blend])
        for i, t in enumerate(["1 · garments", "2 · saliency", "3 · style", "4 · blend"]):
            tabs.set_title(i, t)
        self.tabs = tabs
        super().__init__([self.photo, tabs, W.HBox([self.save_button]), self.saved])
        self.add_class("fsutils-pipeline")

    def save(self) -> list[Path]:
        """Write the current results (what the Save button does); returns the files."""
        from fsutils.pipeline import save_result

        res = self.pipe.result(mode=self.blend.mode.value, classes=self.garments.classes,
                               strength=float(self.blend.strength.value),
                               width=float(self.blend.width.value))
        files = save_result(res, self.output_dir, self.photo.name or "photo",
                            box=self.blend.crop_box())
        self.saved.value = (f"saved {len(files)} files to <code>{self.output_dir}/</code>: "
                            + ", ".join(p.name for p in files))
        return files
