"""The garment-swap panel: pick a person and an article, see the generator's α, x̃ and the swap."""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as W
import numpy as np
from PIL import Image

from fsutils.pipeline import Pipeline
from fsutils.user_names import shown

from .base import STYLE_WIDE, Panel
from .drawing import thumbnail
from .pickers import ImagePicker, PhotoPicker

__all__ = ["ArticlePicker", "SwapPanel"]


class ArticlePicker(ImagePicker):
    """Choose the article to put on: a bundled one (the sample photos' tops cut out on white,
    paintings cut to a top's shape; :func:`fsutils.swap.samples.sample_articles`) or an upload
    (a garment on a plain light background, used whole). ``.value`` is the image, ``.mask`` the
    garment's pixels (``None`` for an upload)."""

    default_name = "article"

    def __init__(self, value: str | None = None) -> None:
        from fsutils.swap.samples import sample_articles

        self.articles = sample_articles()
        names = list(self.articles)
        self.dropdown = W.Dropdown(options=names, value=value if value in self.articles else names[0],
                                   description="article", style=STYLE_WIDE)
        self.dropdown.add_class("fsutils-article")
        self.thumb = W.Image(format="png", layout=W.Layout(height="120px"))
        self.status = W.HTML()
        self.mask: np.ndarray | None = None
        super().__init__("Upload article")
        self.upload.layout.width = "180px"  # the label whole
        self.add_class("fsutils-article-picker")
        self.dropdown.observe(lambda c: self._pick_sample(), names="value")
        self._pick_sample()

    def _children(self) -> list[W.Widget]:
        return [W.HBox([self.thumb, W.VBox([self.dropdown, self.upload, self.status])])]

    def _pick_sample(self) -> None:
        name = self.dropdown.value
        if name is None:
            return
        article = self.articles[name]
        self.mask = article.mask
        self.set(Image.fromarray(article.image), name)

    def _use_upload(self, img: Image.Image, name: str) -> None:
        self.mask = None  # an upload is used whole: a garment on a plain light background
        super()._use_upload(img, name)

    def _status(self) -> W.HTML:
        return self.status

    def _use(self, img: Image.Image, name: str) -> None:
        self.thumb.value = thumbnail(img, 160)
        self._set_status(f"<b>{html.escape(shown(name))}</b>")


class SwapPanel(Panel):
    """Garment swap on the pipeline's photo: the person (a :class:`PhotoPicker`; their top is the
    pipeline's upper-body mask) and the article (an :class:`ArticlePicker`), then the generator's
    inputs and outputs side by side — the person crop ``x_i``, the article ``y_j``, the mask
    ``α``, the painted ``x̃``, the swap ``α·x̃ + (1 − α)·x_i`` and the whole photo with the swap
    pasted back. ``weights``: the generator (see :func:`fsutils.swap.garment.load_generator`;
    default the shipped one). :attr:`last_parts` holds what :func:`~fsutils.swap.garment.swap_parts`
    returned for the picture shown."""

    css = "fsutils-swap"
    what = "the garment swap"

    def __init__(self, pipe: Pipeline, *, weights: Any = None, article: str | None = None) -> None:
        self.weights = weights
        self._swapper = None
        self.photos = PhotoPicker(pipe)
        self.articles = ArticlePicker(article)
        self.last_parts: dict[str, Any] | None = None
        super().__init__(pipe, [W.HBox([self.photos, self.articles])])
        self.articles.on_pick(lambda img: self.refresh())
        self.refresh()

    def swapper(self):
        """The swap's predictor (:class:`~fsutils.swap.garment.GarmentSwapper`), made once."""
        if self._swapper is None:
            from fsutils.swap.garment import GarmentSwapper

            self._swapper = GarmentSwapper(self.weights)
        return self._swapper

    def render(self) -> None:
        from fsutils.sources import GarmentNotFound
        from fsutils.swap.data import UPPER

        try:
            mask = self.pipe.mask((UPPER,))
        except GarmentNotFound:  # neither the cloth model nor the detector found one
            mask = None
        if mask is None or not mask.any():
            self.last_parts = None
            self.show_text("No upper-body garment was found on this person: choose another photo.")
            return
        p = self.swapper().parts(self.pipe.photo, self.articles.value, garment_mask=mask,
                                 article_mask=self.articles.mask)
        self.last_parts = p
        self.show_tiles([(p["x_i"], "person x_i"), (p["y_j"], "article y_j"), (p["alpha"], "α"),
                         (p["x_tilde"], "x̃"), (p["swap"], "swap"), (p["result"], "pasted back")])
