"""Which photos of a Clothing Co-Parsing folder an evaluation scores (:func:`select_ids`), and
scoring them one by one, a photo that cannot be scored left out and listed
(:func:`evaluate_photos`): shared by the segmentation, placement and cut-out evaluations."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from .. import data
from ..data import _reason  # the first line of an error, as the data module words it

__all__ = ["select_ids", "evaluate_photos"]

T = TypeVar("T")


def select_ids(ccp_root: str | Path, split: str, max_images: int | None = None) -> list[str]:
    """The photo ids of a CCP folder in one of the kit's splits (``train``, ``val``, ``test`` where
    the kit defines one) or ``all``, the first ``max_images`` of them (≥ 1; None: all); an unknown
    split, an empty one or a ``max_images`` below 1 raises with what to choose."""
    if split != "all" and split not in data.SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from all, {', '.join(data.SPLITS)}.")
    if max_images is not None and (int(max_images) != max_images or max_images < 1):
        raise ValueError(f"max_images must be a whole number ≥ 1 (or None for every photo), got "
                         f"{max_images!r}.")
    ids = data.ids_in_split(data.list_ids(ccp_root), split)
    if not ids:
        raise data.CCPError(f"no photo of the {split!r} split is in {ccp_root}; use --split all.")
    return ids[:max_images]


def evaluate_photos(root: str | Path, ids: list[str],
                    evaluate: Callable[[str, Image.Image, np.ndarray], T], *,
                    skipped: list[tuple[Path, str]] | None = None, progress: bool = True,
                    desc: str = "photos",
                    load: Callable[[str | Path, str], tuple[Image.Image, Any]] = data.load_pair
                    ) -> list[T]:
    """``evaluate(image_id, photo, groundtruth)`` for each of ``ids`` in turn (the pair read by
    ``load(root, image_id)``, default :func:`fsutils.data.load_pair`), as a list.

    With ``skipped=None`` the first photo that fails raises. With a list, a photo that fails —
    its photo or annotation cannot be read or differ in size (:class:`fsutils.data.PhotoError`),
    or the models cannot take it (``ValueError``, ``RuntimeError``, ``OSError``, OpenCV's
    ``cv2.error``) — is appended to it as ``(file, reason)`` and left out, and the others go on.
    Either way a run in which no photo could be evaluated raises
    :class:`fsutils.data.CCPError`: no score is a mean over zero photos.
    """
    import cv2
    from tqdm.auto import tqdm

    results: list[T] = []
    first_skipped = len(skipped or ())
    for image_id in tqdm(ids, desc=desc, disable=not progress):
        try:
            results.append(evaluate(image_id, *load(root, image_id)))
        except data.PhotoError as e:
            if skipped is None:
                raise
            skipped.append((e.path, e.reason))
        except (ValueError, RuntimeError, OSError, cv2.error) as e:
            if skipped is None:
                raise
            skipped.append((data.photo_path(root, image_id),
                            f"could not be evaluated ({_reason(e)})."))
    if not results:
        raise data.CCPError(f"none of the {len(ids)} photo(s) of {root} could be evaluated"
                            + (f"; the first: {skipped[first_skipped][0]}: {skipped[first_skipped][1]}"
                               if skipped else "."))
    return results
