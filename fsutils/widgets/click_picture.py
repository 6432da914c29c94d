"""A picture that reports where it is clicked: :class:`ClickPicture`.

``ipywidgets.Image`` has no mouse events, so the panels' picture is this small anywidget: the same
``value`` (the encoded picture's bytes) and ``format`` as ``ipywidgets.Image``, drawn as an
``<img>``; a click sets ``click`` to ``[x, y, n]``, in pixels of the picture itself (whatever size
the browser shows it at; ``n`` counts the clicks, so a second click on the same pixel is a change
too). Works in JupyterLab, Notebook 7, Voila and Colab (anywidget ships with Colab).
"""
from __future__ import annotations

import anywidget
import traitlets

__all__ = ["ClickPicture"]

_ESM = """
function render({ model, el }) {
  const img = document.createElement("img");
  img.style.maxWidth = "100%";
  img.style.cursor = "crosshair";
  img.style.display = "block";
  let url = null;
  const draw = () => {
    const bytes = model.get("value");
    if (!bytes || !bytes.byteLength) return;
    const next = URL.createObjectURL(new Blob([bytes], { type: "image/" + model.get("format") }));
    img.src = next;
    if (url) URL.revokeObjectURL(url);
    url = next;
  };
  img.addEventListener("click", (e) => {
    const r = img.getBoundingClientRect();
    if (!r.width || !r.height) return;
    const x = (e.clientX - r.left) * img.naturalWidth / r.width;
    const y = (e.clientY - r.top) * img.naturalHeight / r.height;
    const n = (model.get("click") || [0, 0, 0])[2] + 1;
    model.set("click", [x, y, n]);
    model.save_changes();
  });
  model.on("change:value", draw);
  model.on("change:format", draw);
  draw();
  el.appendChild(img);
  return () => { if (url) URL.revokeObjectURL(url); };
}
export default { render };
"""


class ClickPicture(anywidget.AnyWidget):
    """An encoded picture (``value``: bytes, ``format``: ``"jpeg"`` or ``"png"``) that reports
    each click as ``click = [x, y, n]`` in the picture's own pixels."""

    _esm = _ESM
    value = traitlets.Bytes(b"").tag(sync=True)
    format = traitlets.Unicode("jpeg").tag(sync=True)
    click = traitlets.List([0.0, 0.0, 0]).tag(sync=True)

    def on_click(self, callback) -> None:
        """Call ``callback(x, y)`` (pixels of the picture) on each click."""
        self.observe(lambda change: callback(float(change["new"][0]), float(change["new"][1])),
                     names="click")
