"""Pointing at garments on a panel's picture: :class:`Pointing`, the part of a panel that turns a
click on the photo into a garment chosen or dropped (:meth:`GarmentPicker.toggle
<fsutils.widgets.pickers.GarmentPicker.toggle>`), and :func:`outline` to draw the chosen ones."""
from __future__ import annotations

from typing import Any

import ipywidgets as W
import numpy as np

from fsutils import io as fio

__all__ = ["Pointing", "outline"]


def outline(picture: Any, mask: np.ndarray) -> Any:
    """``picture`` (PIL, the photo at any size) with the edge of ``mask`` drawn on it in yellow."""
    import cv2

    small = cv2.resize(mask.astype(np.uint8), picture.size, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(small, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    arr = np.array(picture.convert("RGB"))
    cv2.drawContours(arr, contours, -1, (255, 220, 0), 2)
    return fio.to_pil(arr)


class Pointing:
    """Mixed into a :class:`~fsutils.widgets.base.Panel` with a ``garments`` picker: its picture
    answers clicks. ``render`` says where it drew the photo (:meth:`photo_drawn_at`) and shows
    :meth:`pop_note` (what a click on no garment found)."""

    _note = ""
    _tile: tuple[float, float, float, float] | None = None   # x0, y0, width, px per photo px

    def make_picture(self) -> W.DOMWidget:
        """The picture answers clicks (:class:`~fsutils.widgets.click_picture.ClickPicture`)."""
        from .click_picture import ClickPicture

        picture = ClickPicture(format=self.picture_format, layout=W.Layout(display="none"))
        picture.on_click(self._clicked)
        return picture

    def photo_drawn_at(self, x0: float, y0: float, width: float, scale: float) -> None:
        """Where this redraw drew the working photo in the picture: its top-left corner, its
        width and its picture pixels per photo pixel (a click elsewhere chooses nothing)."""
        self._tile = (x0, y0, width, scale)

    def pop_note(self) -> None:
        """Show what the last click found nothing at, once."""
        if self._note:
            self.show_text(self._note)
            self._note = ""

    def click(self, x: float, y: float) -> None:
        """A click at (``x``, ``y``), pixels of the photo as given: adds the garment there to the
        chosen ones, or drops the chosen garment there."""
        from fsutils.clicks import NoGarmentAt
        from fsutils.garments import Point

        try:
            self.garments.toggle(self.pipe, Point(x, y))
        except NoGarmentAt as e:
            self._note = str(e)
            self.refresh()

    def _clicked(self, px: float, py: float,
                 tile: tuple[float, float, float, float] | None = None) -> None:
        """A click at (``px``, ``py``) on the picture where :meth:`photo_drawn_at` drew the
        photo — or on another picture of it, drawn at ``tile`` (x0, y0, width, scale)."""
        tile = tile or self._tile
        if tile is None or self.pipe.content is None:
            return
        x0, y0, width, scale = tile
        h, w = self.pipe.content.shape[:2]
        x, y = (px - x0) / scale, (py - y0) / scale
        if not (0 <= px - x0 < width and 0 <= x < w and 0 <= y < h):
            return
        gw, gh = self.pipe.given_size
        self.click(round(x * gw / w), round(y * gh / h))
