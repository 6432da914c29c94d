"""A picture recomposed in the browser: the blend ``C + W·(S − C)`` redrawn on a canvas on every
slider event, with no round trip to the kernel.

The kernel sends the layers once per photo, style, garments or weight change — the photo ``C``
and the stylised image ``S`` (8-bit RGB), the base weight ``b`` and the saliency ``m`` (float32),
all as binary buffers — and the chosen mode's weight formula (:attr:`fsutils.blend.BlendMode.js`,
e.g. ``b · clip(s·m, 0, 1)``). While the strength slider is dragged the picture follows its
handle in the page (the slider reports to the kernel only on release); so dragging recomposes the
picture at the display's frame rate with no message to the kernel.

Built on anywidget (one small ES module, no build step; it runs in JupyterLab, Notebook 7,
VS Code and Voila). Where it cannot run — ipywidgets 7 (Colab), anywidget missing, or a front end
that never loads the module — :func:`live_available` is False or :attr:`LivePicture.ready` stays
False and the panels draw the picture in the kernel as before.
"""
from __future__ import annotations

import html
from typing import Any

import numpy as np
import traitlets

from fsutils import io as fio

__all__ = ["live_available", "LivePicture", "LiveTile", "recompose", "JS", "OPACITY_JS"]

#: The browser side: decode the layers once, recompose on every change of the strength or the
#: formula in the next animation frame (never more than one pending), draw the zoom box, and
#: count the frames painted (``data-frames`` on the canvas).
JS = r"""
function floats(dv) {
  return new Float32Array(dv.buffer.slice(dv.byteOffset, dv.byteOffset + dv.byteLength));
}
function bytes(dv) { return new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength); }

function render({ model, el }) {
  const canvas = document.createElement("canvas");
  canvas.className = "fsutils-live-canvas";
  canvas.style.maxWidth = "100%";
  canvas.style.display = "block";
  el.appendChild(canvas);
  canvas.style.cursor = "crosshair";
  canvas.addEventListener("click", (e) => {   // a click, in canvas pixels (as ClickPicture's)
    const r = canvas.getBoundingClientRect();
    if (!r.width || !r.height || !canvas.width) return;
    const n = (model.get("click") || [0, 0, 0])[2] + 1;
    model.set("click", [(e.clientX - r.left) * canvas.width / r.width,
                        (e.clientY - r.top) * canvas.height / r.height, n]);
    model.save_changes();
  });
  const ctx = canvas.getContext("2d");
  let layers = null, recomposeAll = null, pending = false, frames = 0, local = null;

  function load() {
    const w = model.get("width"), h = model.get("height");
    const photo = model.get("photo"), styl = model.get("stylized");
    const base = model.get("base"), sal = model.get("saliency");
    if (!w || !h || !photo || photo.byteLength !== w * h * 3 || !styl || !base || !sal) {
      layers = null;
      return;
    }
    canvas.width = w;
    canvas.height = h;
    layers = { w, h, photo: bytes(photo), styl: bytes(styl), base: floats(base),
               sal: floats(sal), out: ctx.createImageData(w, h) };
  }
  // the whole loop is compiled with the mode's formula written into it (no call per pixel)
  function compile() {
    const f = model.get("formula");
    recomposeAll = f ? new Function("photo", "styl", "base", "sal", "s", "d", "n",
      "for (let i = 0, j = 0, k = 0; i < n; i++, j += 3, k += 4) {" +
      " const b = base[i], m = sal[i]; let W = (" + f + ");" +
      " W = W > 0 ? (W < 1 ? W : 1) : 0;" +
      " const c0 = photo[j], c1 = photo[j + 1], c2 = photo[j + 2];" +
      " d[k] = c0 + W * (styl[j] - c0); d[k + 1] = c1 + W * (styl[j + 1] - c1);" +
      " d[k + 2] = c2 + W * (styl[j + 2] - c2); d[k + 3] = 255; }") : null;
  }
  function draw() {
    pending = false;
    if (!layers || !recomposeAll) return;
    const { w, h, photo, styl, base, sal, out } = layers;
    const s = local === null ? model.get("strength") : local;
    recomposeAll(photo, styl, base, sal, s, out.data, w * h);
    ctx.putImageData(out, 0, 0);
    const box = model.get("box");
    if (box && box.length === 4) {
      ctx.strokeStyle = "rgb(0,200,255)";
      ctx.lineWidth = 2;
      ctx.strokeRect(box[0] + 1, box[1] + 1, box[2] - box[0] - 2, box[3] - box[1] - 2);
    }
    canvas.dataset.frames = String(++frames);
    canvas.dataset.strength = String(s);
  }
  function schedule() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  }
  load();
  compile();
  schedule();
  model.on("change:version", () => { load(); schedule(); });
  model.on("change:formula", () => { compile(); schedule(); });
  model.on("change:strength", () => { local = null; schedule(); });
  model.on("change:box", schedule);
  // follow the slider's handle itself while it is dragged (the slider tells the kernel only
  // when it is released): every noUiSlider "update" of the slider inside the same panel
  function follow() {
    const css = model.get("follow"), scope = model.get("scope");
    if (!css) return;
    const root = (scope && el.closest(scope)) || document;
    root.querySelectorAll(css + " .noUi-target").forEach((t) => {
      if (!t.noUiSlider || t.__fsutilsLive) return;
      t.__fsutilsLive = true;
      t.noUiSlider.on("update.fsutilslive", (values, handle, raw) => {
        const v = Number(raw ? raw[0] : values[0]);
        if (Number.isFinite(v)) { local = v; schedule(); }
      });
    });
  }
  follow();
  const timer = setInterval(follow, 500);
  model.on("change:follow", follow);
  model.set("ready", true);
  model.save_changes();
  return () => clearInterval(timer);
}
export default { render };
"""


def live_available() -> bool:
    """Whether the live picture can work here: anywidget installed and ipywidgets 8 (Colab's
    ipywidgets 7.7.1 and a missing anywidget fall back to pictures drawn in the kernel)."""
    try:
        import anywidget  # noqa: F401
        import ipywidgets
    except ImportError:
        return False
    return int(ipywidgets.__version__.split(".")[0]) >= 8


def _base() -> type:
    import anywidget

    return anywidget.AnyWidget


class LivePicture(_base() if live_available() else object):  # type: ignore[misc]
    """The canvas that recomposes ``C + W·(S − C)`` in the browser (see the module docstring).

    :meth:`set_layers` sends the layers (only what changed since the last call is recomputed by
    the caller; the buffers travel in one message); ``formula`` is the mode's
    :attr:`~fsutils.blend.BlendMode.js`; ``strength`` follows the slider linked to it;
    ``box`` is the zoom box ``[left, top, right, bottom]`` in canvas pixels (``[]``: none);
    ``ready`` turns True once the browser has drawn the widget; ``click`` reports where it was
    clicked (:meth:`on_click`), as the panels' clickable picture does."""

    _esm = JS
    width = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(0).tag(sync=True)
    photo = traitlets.Bytes(b"").tag(sync=True)
    stylized = traitlets.Bytes(b"").tag(sync=True)
    base = traitlets.Bytes(b"").tag(sync=True)
    saliency = traitlets.Bytes(b"").tag(sync=True)
    version = traitlets.Int(0).tag(sync=True)
    formula = traitlets.Unicode("").tag(sync=True)
    strength = traitlets.Float(1.0).tag(sync=True)
    box = traitlets.List(traitlets.Int(), default_value=[]).tag(sync=True)
    ready = traitlets.Bool(False).tag(sync=True)
    #: the last click ``[x, y, n]`` in canvas pixels (``n`` counts the clicks)
    click = traitlets.List([0.0, 0.0, 0]).tag(sync=True)
    #: the CSS class of the slider whose handle the picture follows while it is dragged, and of
    #: the panel it is in (the nearest such ancestor of the picture)
    follow = traitlets.Unicode("").tag(sync=True)
    scope = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.layers_key: Any = None
        self.add_class("fsutils-live")

    def on_click(self, callback) -> None:
        """Call ``callback(x, y)`` (canvas pixels) on each click."""
        self.observe(lambda change: callback(float(change["new"][0]), float(change["new"][1])),
                     names="click")

    def set_layers(self, content: np.ndarray, stylized: np.ndarray, base: np.ndarray,
                   saliency: np.ndarray | None, key: Any = None) -> None:
        """Send the layers (H×W×3 float images in 0..1, H×W float weight and saliency maps at
        the canvas size) in one message; nothing is sent when ``key`` is the last call's."""
        if key is not None and key == self.layers_key:
            return
        h, w = base.shape
        sal = np.zeros((h, w), np.float32) if saliency is None else saliency
        with self.hold_sync():
            self.width, self.height = w, h
            self.photo = fio.to_uint8(content).tobytes()
            self.stylized = fio.to_uint8(stylized).tobytes()
            self.base = np.ascontiguousarray(base, dtype=np.float32).tobytes()
            self.saliency = np.ascontiguousarray(sal, dtype=np.float32).tobytes()
            self.version += 1
        self.layers_key = key


#: The weight of an overlay tile (:class:`LiveTile`): the tint ``b`` at the slider's opacity.
OPACITY_JS = "b * s"
#: What ``live=True`` says where the live picture cannot work.
LIVE_MISSING = ("live=True needs anywidget and ipywidgets 8 (pip install anywidget); leave live "
                "unset to use it only where it works.")


def recompose(photo: np.ndarray, tint: np.ndarray, base: np.ndarray,
              strength: float) -> np.ndarray:
    """What the live picture draws for the formula :data:`OPACITY_JS`: ``C + W·(T − C)`` with
    ``W = clip(b·s, 0, 1)``, from uint8 H×W×3 layers, as uint8 (the kernel's own picture of an
    overlay tile, so that the two agree)."""
    c = np.asarray(photo, np.float32)
    w = np.clip(np.asarray(base, np.float32) * np.float32(strength), 0, 1)[..., None]
    return np.clip(np.rint(c + w * (np.asarray(tint, np.float32) - c)), 0, 255).astype(np.uint8)


class LiveTile:
    """One tile of a panel recomposed in the browser while the panel's ``slider`` (an opacity)
    is dragged: a caption above a :class:`LivePicture` whose strength is the slider's value, the
    slider then reporting to the kernel only when released.

    ``live``: as the panels' argument (None: wherever :func:`live_available`; True where it is not
    refuses). :attr:`picture` is None without the live picture: the panel then draws everything in
    the kernel, its slider continuous as before. :attr:`box` goes into the panel's view (hidden
    until :meth:`show`); the panel redraws when the browser has drawn the picture (``ready``).
    """

    def __init__(self, panel: Any, slider: Any, follow: str, *, live: bool | None = None,
                 formula: str = OPACITY_JS) -> None:
        import ipywidgets as W

        if live and not live_available():
            raise ValueError(LIVE_MISSING)
        self.formula = formula
        self.slider = slider
        #: the picture recomposed in the browser, or None (the kernel draws the tile)
        self.picture = LivePicture() if (live_available() if live is None else live) else None
        self.caption = W.HTML()
        self.box = W.VBox([self.caption, *([self.picture] if self.picture is not None else [])])
        self.box.layout.display = "none"
        if self.picture is None:
            return
        slider.continuous_update = False                        # the picture follows the drag
        self.picture.strength = float(slider.value)
        self.picture.follow, self.picture.scope = follow, f".{panel.css}"
        self.link = W.jsdlink((slider, "value"), (self.picture, "strength"))
        self.picture.observe(lambda change: panel.refresh(), names="ready")

    @property
    def ready(self) -> bool:
        """Whether the browser has drawn the live picture (the tile can be shown there)."""
        return self.picture is not None and bool(self.picture.ready)

    def show(self, caption: str, key: Any, layers: Any) -> bool:
        """Show the tile under ``caption``, sending the layers ``layers()`` makes — the photo
        ``C``, the tint ``T`` (uint8 H×W×3) and the weight ``b`` (float H×W) — only when ``key``
        differs from the last one sent; False (and the tile hidden) until the browser has drawn
        the picture."""
        if not self.ready:
            self.hide()
            return False
        live = self.picture
        if key != live.layers_key:
            c, t, b = layers()
            live.set_layers(c, t, b, None, key)
        with live.hold_sync():
            live.formula = self.formula
            live.strength = float(self.slider.value)
        text = f'<div style="font-size:13px;line-height:1.3">{html.escape(caption)}</div>'
        if self.caption.value != text:
            self.caption.value = text
        if self.box.layout.display == "none":
            self.box.layout.display = None
        return True

    def hide(self) -> None:
        if self.box.layout.display != "none":
            self.box.layout.display = "none"
