"""Interactive panels for the notebooks (ipywidgets), all driven by one cached
:class:`~fsutils.pipeline.Pipeline`.

- :class:`PhotoPicker` — bundled sample photos, your own upload (``FileUpload``; on Colab also
  :func:`colab_upload`), a thumbnail; choosing a photo sets it on the pipeline.
- :class:`StylePicker` — the bundled paintings as clickable thumbnails, plus an upload.
- :class:`GarmentPicker` — one checkbox per garment class, by name.
- :class:`SegmentationExplorer` — class overlay with legend and opacity, garment checkboxes; a
  click on the labels chooses the garment under it (or drops a chosen one).
- :class:`SaliencyExplorer` — the saliency map with threshold and gamma previews.
- :class:`StylePanel` — method (Magenta / Gatys / fast / AdaIN), Magenta's style strength, content
  weight α, style weight β, TV weight, steps, size, optimizer, AdaIN α; a Run button and a live
  preview during the optimisation.
- :class:`BlendPanel` — every blend mode of :mod:`fsutils.blend` (hard paste, equation 2,
  feathered, soft and guided masks, Poisson), the sliders the mode reads (saliency strength,
  feather width, guided radius and ε) and the **boundary close-up**: a zoom box moved with
  sliders, showing the same crop of the hard paste, the saliency blend and the chosen mode with a
  seam score for each, and the chosen mode's weight; a click on the result chooses the garment
  under it (or drops a chosen one), outlined in yellow.
- :class:`PipelinePanel` — all of the above on one photo, plus saving the results.
- :class:`InstancePanel` — the garment instances found (``InstanceSegmenter``) as checkboxes
  ("outer 0.97", "shoe ×2"), their masks and boxes, and the photo with only the ticked items
  restyled.
- :class:`SwapPanel` — garment swap: a person and an article (:class:`ArticlePicker`: bundled or
  uploaded), the swap generator's α, x̃ and the swap.

Every panel is an ``ipywidgets.VBox`` (display it, or leave it as a cell's last expression) with
one ``Output`` that is redrawn when a control changes (``observe``) or when another panel changes
the pipeline's photo or style. Expensive sliders only report when released
(``continuous_update=False``). Pictures are drawn with Pillow into one PNG per update, which keeps
a slider change on a 2-core CPU in tens of milliseconds.

Where anywidget and ipywidgets 8 are there, the pictures that are pointwise in a slider — the blend
panel's result (strength), the segmentation explorer's labels over the photo and the instance
panel's items (overlay opacity) — are recomposed in the browser while the slider's handle moves
(:mod:`fsutils.widgets.live`); the slider then reports only when released.

A redraw replaces the Output's ``outputs`` in **one assignment** — the flicker-free equivalent of
``clear_output(wait=True)`` followed by ``display``. The panels deliberately do not use the
``with output:`` capture protocol: under server-side execution (nbclient, which Voila also uses)
with ipykernel 7, a widget that captures output while a cell runs makes the client send comm
messages on the shell channel, and the cell's execute reply can then be lost for the whole cell
timeout. An error while drawing is shown in the panel *and* raised — except weights that cannot be
obtained here (offline, no mirror): those get the notebooks' one-line message
(:func:`fsutils.env.weights_message`) and nothing is raised.

An upload that cannot be used (not an image, empty, truncated, more pixels than
:func:`fsutils.io.load_image` reads, a side under the command line's minimum at the working size:
:mod:`fsutils.limits`) is refused in its picker's status line and the image chosen before stays;
an upload's name becomes a safe file stem (:func:`fsutils.user_names.file_stem`). The Save button
shows what stopped a save under it.

The panels work with ipywidgets 7.7 (what Colab ships) and 8; the only difference they meet is the
``FileUpload`` value (a dict keyed by file name in 7, a tuple of dicts in 8).

The package: :mod:`~fsutils.widgets.drawing` (tiles with titles, legends, PNG), the pickers
(:mod:`~fsutils.widgets.pickers`, one :class:`~fsutils.widgets.pickers.ImagePicker` base for photo
and painting), the panel base (:mod:`~fsutils.widgets.base`) and one module per panel. Panels talk
to each other and to the pipeline through public methods only.
"""
from __future__ import annotations

from .base import Panel
from .blend_panel import BlendPanel
from .drawing import DISPLAY_HEIGHT, compose, show
from .explorers import SaliencyExplorer, SegmentationExplorer
from .instance_panel import InstancePanel
from .pickers import GarmentPicker, ImagePicker, PhotoPicker, StylePicker, colab_upload
from .pipeline_panel import PipelinePanel
from .style_panel import StylePanel
from .swap_panel import ArticlePicker, SwapPanel

__all__ = ["PhotoPicker", "StylePicker", "GarmentPicker", "SegmentationExplorer",
           "SaliencyExplorer", "StylePanel", "BlendPanel", "PipelinePanel", "InstancePanel",
           "colab_upload", "compose", "show", "DISPLAY_HEIGHT", "ImagePicker", "Panel", "SwapPanel",
           "ArticlePicker"]
