"""The sizes a photo may have, in one place for the command line and the panels.

- the largest photo that is read at all: :func:`fsutils.io.load_image`'s pixel limit
  (:data:`fsutils.io.MAX_PIXELS`, ``$FSUTILS_MAX_PIXELS``), a guard against decompression bombs;
- :data:`MAX_SIDE` — the largest working size (longest side) one may ask for;
- :data:`MIN_SIDE` — the shortest side a photo may have at its working size;
  :func:`check_photo_size` refuses a smaller one (:class:`PhotoSizeError`) and
  :func:`working_size` says what size a photo is worked on.
"""
from __future__ import annotations

__all__ = ["MAX_SIDE", "MIN_SIDE", "PhotoSizeError", "working_size", "check_photo_size"]

#: Upper bounds of the working sizes (longest side, px): an 8192-px side already holds the
#: largest photo fsutils.io reads by default (64 megapixels).
MAX_SIDE = 8192
#: The shortest side a photo may have at its working size: Magenta needs 16 px and the fast
#: models' reflection padding needs more than 4; a photo narrower than this at the working size
#: (a 10-px icon, a 4000×1 strip) holds no garment the models could find, so it is refused in one
#: line rather than padded into a result that would be mostly padding.
MIN_SIDE = 16


class PhotoSizeError(ValueError):
    """A photo the models cannot work on: a side under :data:`MIN_SIDE` px at its working size."""


def working_size(given: tuple[int, int], photo_size: int | None) -> tuple[int, int]:
    """The (width, height) a photo of size ``given`` is worked on when the longest side is at most
    ``photo_size`` (None: as given), as :func:`fsutils.io.fit_long_side` shrinks it."""
    w, h = given
    if not photo_size or max(w, h) <= photo_size:
        return w, h
    scale = photo_size / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def check_photo_size(given: tuple[int, int], working: tuple[int, int], photo_size: int | None,
                     *, larger: str = "raise --photo-size") -> None:
    """Refuse (:class:`PhotoSizeError`) a photo of size ``given`` whose shorter side is under
    :data:`MIN_SIDE` px at its ``working`` size (longest side ``photo_size``); ``larger`` is how
    the reader asks for a larger working size (the command line's option by default)."""
    if min(working) >= MIN_SIDE:
        return
    if min(given) < MIN_SIDE:
        raise PhotoSizeError(f"the photo is only {given[0]}×{given[1]} px; the models need at "
                             f"least {MIN_SIDE} px on each side: use a larger photo")
    raise PhotoSizeError(f"the photo ({given[0]}×{given[1]} px) is too narrow: at the working size "
                         f"(longest side {photo_size} px) it is {working[0]}×{working[1]} px and "
                         f"the models need at least {MIN_SIDE} px on each side: crop it to a less "
                         f"extreme shape or {larger}")
