"""The base of every panel: a VBox with one Output redrawn in one assignment, and the sliders."""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as W
from PIL import Image

from fsutils.controls import Control
from fsutils.env import weights_message
from fsutils.pipeline import Pipeline
from fsutils.weights import WeightsError

from .drawing import compose, encode, error_output, html_output, text_output

__all__ = ["Panel", "slider", "control_widget", "STYLE_WIDE"]

STYLE_WIDE = {"description_width": "120px"}
TILE_GAP = 6  # pixels between the tiles of a picture with captions (Panel.show_tiles)
SLIDER_WIDTH = "420px"


def slider(cls, value, min, max, step, description, css, *, continuous=False,
           readout_format=None, **kw):
    """An ipywidgets slider of class ``cls`` with the panels' layout and the CSS class ``css``;
    it reports only when released unless ``continuous``. Every slider gets its own ``Layout``:
    a shared one would hide every slider when a panel hides one (``layout.display``)."""
    args = dict(value=value, min=min, max=max, step=step, description=description,
                continuous_update=continuous, layout=W.Layout(width=SLIDER_WIDTH),
                style=STYLE_WIDE, **kw)
    if readout_format:
        args["readout_format"] = readout_format
    s = cls(**args)
    s.add_class(css)
    return s


def control_widget(name: str, default: Any, control: Control) -> W.Widget:
    """The panel's control of a parameter field, as its :class:`Control` describes it (CSS class
    ``fsutils-<field>``)."""
    css = "fsutils-" + name.replace("_", "-")
    value = control.panel_default() if default is None and control.panel_default else default
    if control.kind == "check":
        widget = W.Checkbox(value=bool(value), description=control.label, indent=False)
    elif control.kind == "choice":
        widget = W.Dropdown(options=list(control.choices), value=value,
                            description=control.label, style=STYLE_WIDE)
    elif control.kind == "number":
        widget = W.BoundedFloatText(value=value, min=control.low, max=control.high,
                                    step=control.step, description=control.label, style=STYLE_WIDE)
    elif control.kind == "log":
        return slider(W.FloatLogSlider, value, control.low, control.high, control.step,
                      control.label, css, base=10, readout_format=".3g")
    else:
        kind = W.IntSlider if control.kind == "int" else W.FloatSlider
        return slider(kind, value, control.low, control.high, control.step, control.label, css)
    widget.add_class(css)
    return widget


class Panel(W.VBox):
    """A VBox whose view — one picture (an ``ipywidgets.Image``) above one ``Output`` for text and
    errors — :meth:`refresh` redraws.

    A subclass lists its controls, calls :meth:`watch` on those that redraw, and implements
    :meth:`render` with :meth:`show_image`, :meth:`show_text` and :meth:`show_html`.

    The picture travels as JPEG bytes in a binary widget message (no base64, no output area to
    rebuild): on a 1024-px photo that is what keeps slider release → new picture in the browser
    well under 150 ms; ``picture_format = "png"`` sends lossless PNG instead. Text and errors go to
    the Output in one assignment, and only when they changed.
    """

    css: str = ""
    #: What the panel shows, for the one-line message when its weights cannot be obtained.
    what: str = "this picture"
    #: How pictures travel to the browser: ``"jpeg"`` (fast, small) or ``"png"`` (lossless).
    picture_format: str = "jpeg"

    def __init__(self, pipe: Pipeline, children: list[W.Widget], **kw: Any) -> None:
        self.pipe = pipe
        self.picture = self.make_picture()
        self.captions = W.HTML(layout=W.Layout(display="none"))   # see show_tiles
        if self.css:
            self.captions.add_class(f"{self.css}-captions")
        self.out = W.Output()
        self.view = W.VBox([self.captions, self.picture, self.out])
        if self.css:
            self.view.add_class(f"{self.css}-view")
        super().__init__(children=[*children, self.view], **kw)
        if self.css:
            self.add_class(self.css)
        self._busy = False
        self._pending: list[dict[str, Any]] = []
        self._pending_picture: bytes | None = None
        self._pending_captions: str | None = None
        self.last_image: Image.Image | None = None
        pipe.on_change(self._on_pipeline)

    def make_picture(self) -> W.DOMWidget:
        """The widget that shows the picture (hidden until the first one): an ``ipywidgets.Image``;
        a panel that answers clicks makes a :class:`~fsutils.widgets.click_picture.ClickPicture`."""
        return W.Image(format=self.picture_format, layout=W.Layout(display="none"))

    def watch(self, *widgets: W.Widget) -> None:
        """Redraw when any of ``widgets`` changes value."""
        for w in widgets:
            w.observe(lambda change: self.refresh(), names="value")

    def _on_pipeline(self, event: str) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Redraw the panel from the current controls. Weights that cannot be obtained here
        (offline, no mirror) are reported in one line, as the notebooks' cells do
        (:func:`fsutils.env.needs_weights`); any other error is shown in the panel and raised (in
        a notebook cell it fails the cell; in a slider callback ipywidgets logs it).
        Control changes made while drawing do not start another redraw."""
        if self._busy:
            return
        self._busy = True
        self._pending, self._pending_picture, self._pending_captions = [], None, None
        try:
            if self.pipe.image_key is None:
                self.show_text("Choose a photo first (PhotoPicker, or pipe.set_image(photo)).")
            else:
                self.render()
        except WeightsError as err:
            self._pending_picture = None
            self._pending.append(text_output(weights_message(self.what, err)))
        except Exception as err:
            self._apply(self._pending_picture, [*self._pending, error_output(err)])
            raise
        finally:
            self._busy = False
        self._apply(self._pending_picture, self._pending)

    def _apply(self, picture: bytes | None, outputs: list[dict[str, Any]]) -> None:
        captions = self._pending_captions if picture is not None else None
        if captions is None:
            if self.captions.layout.display != "none":
                self.captions.layout.display = "none"
        else:
            if self.captions.value != captions:
                self.captions.value = captions
            if self.captions.layout.display == "none":
                self.captions.layout.display = None
        if picture is None:
            if self.picture.layout.display != "none":
                self.picture.layout.display = "none"
        else:
            if self.picture.format != self.picture_format:
                self.picture.format = self.picture_format
            self.picture.value = picture
            if self.picture.layout.display == "none":
                self.picture.layout.display = None
        if tuple(outputs) != self.out.outputs:
            self.out.outputs = tuple(outputs)

    def show_error(self, err: BaseException) -> None:
        """Show ``err`` (with its traceback) as the panel's only output."""
        self._apply(None, [error_output(err)])

    def show_weights_error(self, what: str, err: WeightsError, instead: str = "") -> None:
        """Show the one-line message of :func:`fsutils.env.weights_message` as the panel's only
        output (no traceback: the weights are missing, nothing is broken)."""
        self._apply(None, [text_output(weights_message(what, err, instead))])

    def show_image(self, img: Image.Image) -> None:
        """Show ``img`` as this redraw's picture (it becomes :attr:`last_image`)."""
        self.last_image = img
        self._pending_picture = encode(img, self.picture_format)

    def show_tiles(self, tiles: list[tuple[Any, str]], *, nearest: bool = False) -> None:
        """Show images side by side at one height (``[(image, caption), …]``) as this redraw's
        picture, each caption as page text above its tile. Text drawn into the picture would
        shrink with it in a narrow window; page text keeps the page's font size. The picture fills
        the view up to its own width, and the captions, placed in percent of that width, stay
        above their tiles (a long caption wraps onto a second line)."""
        picture = compose([(im, "") for im, _ in tiles], nearest=nearest, gap=TILE_GAP)
        self.show_image(picture)
        cells, x = [], 0
        for im, caption in tiles:
            w, h = im.size if hasattr(im, "getbbox") else (im.shape[1], im.shape[0])
            w = max(1, round(w * picture.height / h))                 # as compose fits it
            cells.append(f'<div style="flex:none;width:{100 * w / picture.width:.3f}%;'
                         f'margin-left:{100 * (TILE_GAP if x else 0) / picture.width:.3f}%;'
                         f'overflow-wrap:anywhere">{html.escape(caption)}</div>')
            x += w
        self._pending_captions = ('<div style="display:flex;align-items:flex-end;font-size:13px;'
                                  'line-height:1.3">' + "".join(cells) + "</div>")
        if self.picture.layout.width != "100%":
            self.picture.layout.width = "100%"
        if self.view.layout.max_width != f"{picture.width}px":
            self.view.layout.max_width = f"{picture.width}px"

    def show_text(self, text: str) -> None:
        """Add a line of text to what this redraw shows."""
        self._pending.append(text_output(text))

    def show_html(self, html: str) -> None:
        """Add HTML to what this redraw shows."""
        self._pending.append(html_output(html))

    def ensure_style(self, style: Any) -> bool:
        """Make sure the pipeline has a stylised image of its photo: the current one, else one
        made from ``style`` (a :class:`~fsutils.widgets.StylePanel`'s spec, or a dict of
        :meth:`Pipeline.stylize <fsutils.pipeline.Pipeline.stylize>` arguments). A slow method
        (an optimisation such as Gatys) is not started from here: the panel says to press Run and
        returns False."""
        try:
            self.pipe.stylized
            return True
        except RuntimeError:
            pass
        from fsutils.style import get_method

        spec = style.spec() if hasattr(style, "spec") else dict(style)
        if not get_method(spec["method"]).quick:
            self.show_text("No stylised image for this photo yet: press Run in the style panel.")
            return False
        self.pipe.stylize(**spec)
        return True

    def render(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
