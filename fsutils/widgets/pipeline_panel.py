"""The whole pipeline on one photo in four tabs, and saving the results."""
from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as W

from fsutils.pipeline import Pipeline
from fsutils.user_names import file_stem, shown

from .blend_panel import BlendPanel
from .explorers import SaliencyExplorer, SegmentationExplorer
from .instance_panel import InstancePanel
from .pickers import GarmentPicker, PhotoPicker
from .style_panel import StylePanel

__all__ = ["PipelinePanel"]


class PipelinePanel(W.VBox):
    """Photo → garments → style → saliency blend → boundary comparison, then Save.

    ``output_dir`` is where Save writes the images (default ``outputs/`` or ``$FSUTILS_OUTPUT_DIR``).
    ``instances=True`` adds a fifth tab, the garment items the detector finds
    (:class:`~fsutils.widgets.InstancePanel`: tick "outer 0.97" or "shoe ×2" to restyle only
    those), restyled with the style tab's image. ``live``: whether the garments, blend and items
    tabs recompose their pictures in the browser while their opacity or strength slider is
    dragged (default: wherever it can work; see :class:`~fsutils.widgets.live.LivePicture`).
    """

    def __init__(self, pipe: Pipeline, *, output_dir: str | Path | None = None,
                 method: str = "magenta", instances: bool = False,
                 live: bool | None = None) -> None:
        import os

        self.pipe = pipe
        self.photo = PhotoPicker(pipe)
        self.garments = GarmentPicker(pipe.class_names)
        self.segmentation = SegmentationExplorer(pipe, garments=self.garments, live=live)
        self.saliency = SaliencyExplorer(pipe)
        self.style = StylePanel(pipe, garments=self.garments, method=method)
        self.blend = BlendPanel(pipe, garments=self.garments, style=self.style, live=live)
        self.output_dir = Path(output_dir or os.environ.get("FSUTILS_OUTPUT_DIR", "outputs"))
        self.save_button = W.Button(description="Save results", icon="save")
        self.save_button.add_class("fsutils-save")
        self.saved = W.HTML()
        self.save_button.on_click(lambda b: self._save_clicked())
        pages = [(self.segmentation, "1 · garments"), (self.saliency, "2 · saliency"),
                 (self.style, "3 · style"), (self.blend, "4 · blend")]
        #: the garment items tab (``instances=True``), else None
        self.items = InstancePanel(pipe, style=self.style, live=live) if instances else None
        if self.items is not None:
            pages.append((self.items, "5 · items"))
        tabs = W.Tab(children=[page for page, _ in pages])
        for i, (_, title) in enumerate(pages):
            tabs.set_title(i, title)
        self.tabs = tabs
        super().__init__([self.photo, tabs, W.HBox([self.save_button]), self.saved])
        self.add_class("fsutils-pipeline")

    def save(self) -> list[Path]:
        """Write the current results (what the Save button does); returns the files."""
        from fsutils.results import save_result

        res = self.pipe.result(self.blend.params, garments=self.garments.garments)
        files = save_result(res, self.output_dir, file_stem(self.photo.name, "photo"),
                            box=self.blend.crop_box())
        self.saved.value = (f"saved {len(files)} files to "
                            f"<code>{html.escape(shown(self.output_dir))}/</code>: "
                            + ", ".join(html.escape(shown(p.name)) for p in files))
        return files

    def _save_clicked(self) -> None:
        """The Save button: :meth:`save`, and what stopped it (a folder that cannot be written, a
        full disk …) in the line under the button — a click's error would otherwise reach only
        the browser's log."""
        try:
            self.save()
        except Exception as e:  # noqa: BLE001 — shown where the user looks, not raised into the log
            why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            self.saved.value = (f'<span class="fsutils-save-problem" style="color:#b00020">not '
                                f"saved: {html.escape(shown(why))}</span>")
