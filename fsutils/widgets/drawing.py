"""Drawing for the panels: tiles side by side with titles, legends, PNG bytes, and the Output
messages (``outputs`` dicts) that a panel assigns in one go."""
from __future__ import annotations

import base64
import io as _io
import math
import traceback
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from IPython.display import display
from IPython.display import Image as IPyImage
from PIL import Image, ImageDraw, ImageFont

from fsutils import io as fio

__all__ = ["DISPLAY_HEIGHT", "compose", "show", "font", "fit_height", "png",
           "thumbnail", "legend", "stack", "encode", "picture_output", "text_output", "html_output",
           "error_output"]

#: Height in pixels of the pictures the panels draw.
DISPLAY_HEIGHT = 320
#: The band above the pictures of :func:`compose` that holds their titles (px).
TITLE_HEIGHT = 22


@lru_cache(maxsize=8)
def font(size: int = 14) -> ImageFont.ImageFont:
    """The font of titles and legends, at ``size`` px: DejaVu Sans, which matplotlib ships (so it
    is there wherever the kit runs, Colab included) and which has the Greek letters and symbols
    the titles use (γ, α, ×, …); Pillow's built-in font draws those as empty boxes."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:  # a matplotlib without its fonts: Pillow's own (no Greek letters)
        return ImageFont.load_default(size=size)


def fit_height(img: Image.Image, height: int, nearest: bool = False) -> Image.Image:
    """``img`` scaled to ``height`` px (aspect kept; nearest-neighbour for pixel close-ups)."""
    if img.height == height:
        return img
    w = max(1, round(img.width * height / img.height))
    return img.resize((w, height), Image.Resampling.NEAREST if nearest
                      else Image.Resampling.BILINEAR)


def compose(tiles: Iterable[tuple[Any, str]], height: int = DISPLAY_HEIGHT, *,
            nearest: bool = False, gap: int = 6) -> Image.Image:
    """Images side by side at one height, each with its title above: ``[(image, title), …]``.
    A title wider than its image widens the tile's slot, so no title is cut off; a row without
    any title has no title band."""
    fnt = font(14)
    row = [(fit_height(fio.to_rgb(im), height, nearest), title) for im, title in tiles]
    slots = [max(im.width, math.ceil(fnt.getlength(title)) + 4 if title else 0)
             for im, title in row]
    title_h = TITLE_HEIGHT if any(title for _, title in row) else 0
    width = sum(slots) + gap * (len(row) - 1)
    canvas = Image.new("RGB", (max(width, 1), height + title_h), "white")
    draw = ImageDraw.Draw(canvas)
    x = 0
    for (im, title), slot in zip(row, slots):
        canvas.paste(im, (x, title_h))
        draw.text((x + 2, 3), title, fill=(20, 20, 20), font=fnt)
        x += slot + gap
    return canvas


def png(img: Image.Image) -> bytes:
    """``img`` as PNG bytes (fast compression)."""
    buf = _io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def show(img: Any, **kw: Any) -> None:
    """Display one picture (PIL image, array, or the tiles of :func:`compose`) as a PNG."""
    if isinstance(img, (list, tuple)):
        img = compose(img, **kw)
    display(IPyImage(data=png(fio.to_pil(img)), format="png"))


def thumbnail(img: Image.Image, side: int = 96) -> bytes:
    """A PNG thumbnail of ``img`` that fits in ``side``×``side`` px."""
    im = img.copy()
    im.thumbnail((side, side), Image.Resampling.BILINEAR)
    return png(im)


def legend(names: Iterable[str], height: int = 24) -> Image.Image:
    """One colour swatch (the segmentation palette) and name per class."""
    from fsutils.segment import PALETTE

    names = list(names)
    fnt = font(13)
    canvas = Image.new("RGB", (150 * len(names), height), "white")
    draw = ImageDraw.Draw(canvas)
    for i, name in enumerate(names):
        x = 150 * i + 4
        draw.rectangle((x, 5, x + 14, 19), fill=tuple(int(v) for v in PALETTE[i]),
                       outline=(80, 80, 80))
        draw.text((x + 20, 4), name, fill=(20, 20, 20), font=fnt)
    return canvas


def stack(top: Image.Image, bottom: Image.Image) -> Image.Image:
    """``top`` above ``bottom`` on a white canvas."""
    canvas = Image.new("RGB", (max(top.width, bottom.width), top.height + bottom.height), "white")
    canvas.paste(top, (0, 0))
    canvas.paste(bottom, (0, top.height))
    return canvas


# ------------------------------------------------------------------ Output messages (nbformat)


def encode(img: Image.Image, fmt: str = "jpeg") -> bytes:
    """``img`` as ``"jpeg"`` (quality 90, no chroma subsampling: about 5× smaller and 10× faster
    to encode than PNG for a photo-like panel picture) or ``"png"`` bytes (lossless)."""
    if fmt == "png":
        return png(img)
    if fmt != "jpeg":
        raise ValueError(f"picture format must be 'jpeg' or 'png', got {fmt!r}")
    buf = _io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=90, subsampling=0)
    return buf.getvalue()


def picture_output(img: Image.Image, fmt: str = "jpeg") -> dict[str, Any]:
    """A display_data message showing ``img`` as a JPEG (default) or PNG."""
    return {"output_type": "display_data", "metadata": {},
            "data": {f"image/{fmt}": base64.b64encode(encode(img, fmt)).decode("ascii"),
                     "text/plain": f"<image {img.width}×{img.height}>"}}


def text_output(text: str) -> dict[str, Any]:
    """A stdout stream message."""
    return {"output_type": "stream", "name": "stdout", "text": text.rstrip("\n") + "\n"}


def html_output(html: str) -> dict[str, Any]:
    """A display_data message showing ``html``."""
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": html, "text/plain": html}}


def error_output(err: BaseException) -> dict[str, Any]:
    """An error message with ``err``'s traceback."""
    return {"output_type": "error", "ename": type(err).__name__, "evalue": str(err),
            "traceback": [line.rstrip("\n") for line in traceback.format_exception(err)]}
