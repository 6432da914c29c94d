"""The whole pipeline on one photo in four tabs, and saving the results."""
from __future__ import annotations

from pathlib import Path

import ipywidgets as W

from fsutils.pipeline import Pipeline

from .blend_panel import BlendPanel
from .explorers import SaliencyExplorer, SegmentationExplorer
from .pickers import GarmentPicker, PhotoPicker
from .style_panel import StylePanel

__all__ = ["PipelinePanel"]


class PipelinePanel(W.VBox):
    """Photo → garments → style → saliency blend → boundary comparison, then Save.

    ``output_dir`` is where Save writes the images (default ``outputs/`` or ``$FSUTILS_OUTPUT_DIR``).
    """

    def __init__(self, pipe: Pipeline, *, output_dir: str | Path | None = None,
                 method: str = "magenta") -> None:
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
        from fsutils.results import save_result

        res = self.pipe.result(self.blend.params, garments=self.garments.classes)
        files = save_result(res, self.output_dir, self.photo.name or "photo",
                            box=self.blend.crop_box())
        self.saved.value = (f"saved {len(files)} files to <code>{self.output_dir}/</code>: "
                            + ", ".join(p.name for p in files))
        return files
