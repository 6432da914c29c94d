"""Which photos of a Clothing Co-Parsing folder an evaluation scores (:func:`select_ids`: each
photo once), and scoring them one by one, a photo that cannot be scored left out and listed
(:func:`evaluate_photos`, :func:`usable_ids`, :func:`report_skipped`): shared by every evaluation.

A photo cannot be scored when its photo or annotation cannot be read, they differ in size, or the
annotation holds a label value that ``label_list.mat`` does not name (:func:`fsutils.data.load_groundtruth`: such
pixels would silently count as background). A result with nothing to score — no annotated garment
in any photo — raises :class:`NothingToScore`, whose one line says so, instead of a table of
``nan``."""
from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from .. import data
from ..user_names import shown
from ..data import _reason  # the first line of an error, as the data module words it

__all__ = ["select_ids", "evaluate_photos", "usable_ids",
           "report_skipped", "report_no_score", "NothingToScore"]

T = TypeVar("T")


class NothingToScore(data.CCPError):
    """The photos were read, but none holds what the evaluation scores (e.g. no annotated
    garment): there is no score, not a score of ``nan``."""


def _distinct(ccp_root: str | Path, ids: list[str], max_images: int | None,
              notes: list[str] | None) -> list[str]:
    """``ids`` without the photos whose file repeats an earlier one byte for byte (the first
    ``max_images`` distinct ones); one line per repeat appended to ``notes``."""
    seen: dict[str, str] = {}
    out: list[str] = []
    for image_id in ids:
        if max_images is not None and len(out) >= max_images:
            break
        try:
            digest = hashlib.sha256(data.photo_path(ccp_root, image_id).read_bytes()).hexdigest()
        except OSError:  # unreadable: kept, and reported when it is scored
            out.append(image_id)
            continue
        if digest in seen:
            if notes is not None:
                notes.append(f"note: {shown(data.photo_path(ccp_root, image_id))} is the same photo "
                             f"as {shown(data.photo_path(ccp_root, seen[digest]))} (identical "
                             "files); it is scored once.")
            continue
        seen[digest] = image_id
        out.append(image_id)
    return out


def select_ids(ccp_root: str | Path, split: str, max_images: int | None = None, *,
               notes: list[str] | None = None) -> list[str]:
    """The photo ids of a CCP folder in one of the kit's splits (``train``, ``val``, ``test`` where
    the kit defines one) or ``all``, the first ``max_images`` of them (≥ 1; None: all); an unknown
    split, an empty one or a ``max_images`` below 1 raises with what to choose. A photo whose file
    repeats an earlier one is left out (a photo is scored once), with a line in ``notes``."""
    if split != "all" and split not in data.SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from all, {', '.join(data.SPLITS)}.")
    if max_images is not None and (int(max_images) != max_images or max_images < 1):
        raise ValueError(f"max_images must be a whole number ≥ 1 (or None for every photo), got "
                         f"{max_images!r}.")
    ids = data.ids_in_split(data.list_ids(ccp_root), split)
    if not ids:
        raise data.CCPError(f"no photo of the {split!r} split is in {ccp_root}; use --split all.")
    return _distinct(ccp_root, ids, max_images, notes)


def usable_ids(root: str | Path, ids: list[str],
               skipped: list[tuple[Path, str]] | None = None) -> list[str]:
    """The ids whose photo and annotation can be scored (:func:`fsutils.data.load_pair`), for evaluations
    that read the photos their own way; a fault raises, or with a ``skipped`` list is appended to
    it as ``(file, reason)``; no usable photo at all raises :class:`fsutils.data.CCPError`."""
    out = []
    for image_id in ids:
        try:
            data.load_pair(root, image_id)
        except data.PhotoError as e:
            if skipped is None:
                raise
            skipped.append((e.path, e.reason))
            continue
        out.append(image_id)
    if not out:
        raise data.CCPError(f"none of the {len(ids)} photo(s) of {root} could be evaluated.")
    return out


def report_skipped(skipped: list[tuple[Path, str]], scored: int, *, head: str | None = None) -> int:
    """List the photos left out on stderr (one line each, names printed safely); the exit
    status: 1 if any, else 0."""
    if not skipped:
        return 0
    total = scored + len(skipped)
    head = head or (f"{len(skipped)} of {total} photo(s) could not be scored and are left out "
                    f"of the scores above" if scored else
                    f"none of the {total} photo(s) could be scored, so there is no score")
    print(f"error: {head}:", file=sys.stderr)
    for path, why in skipped:
        print(f"  {shown(path)}: {why}", file=sys.stderr)
    return 1


def evaluate_photos(root: str | Path, ids: list[str],
                    evaluate: Callable[[str, Image.Image, np.ndarray], T], *,
                    skipped: list[tuple[Path, str]] | None = None, progress: bool = True,
                    desc: str = "photos",
                    load: Callable[[str | Path, str], tuple[Image.Image, Any]] = data.load_pair
                    ) -> list[T]:
    """``evaluate(image_id, photo, groundtruth)`` for each of ``ids`` in turn (the pair read by
    ``load(root, image_id)``, default :func:`fsutils.data.load_pair`), as a list.

    With ``skipped=None`` the first photo that fails raises. With a list, a photo that fails —
    its photo or annotation cannot be read or differ in size, or the annotation holds a label
    that ``label_list.mat`` does not name (:class:`fsutils.data.PhotoError`),
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


def report_no_score(err: data.CCPError, skipped: list[tuple[Path, str]]) -> int:
    """A run that ends without a score: why (``err``; when it only says that no photo could be
    scored, the list says it better), then the photos left out; the exit status, 1."""
    if isinstance(err, NothingToScore):
        print(f"error: {err}", file=sys.stderr)
        report_skipped(skipped, 0, head=f"{len(skipped)} more photo(s) could not be scored and "
                                        "are left out")
    else:
        if not skipped:
            print(f"error: {err}", file=sys.stderr)
        report_skipped(skipped, 0)
    return 1


def add_model_arguments(p: Any, annotations: str = "pixel-level") -> None:
    """The options of the evaluations that run both models (choice, tags, clicks): the CCP
    folder (with ``annotations/<annotations>/``), the split, the cloth model, the garment
    detector, how many photos, the device and the progress bar."""
    from ..args import DEVICE_HELP, device, whole
    from ..instances.segmenter import DEFAULT_INSTANCE_WEIGHTS
    from ..segment import DEFAULT_CLOTH_WEIGHTS

    p.add_argument("--ccp-root", required=True, type=Path,
                   help=f"folder with photos/, annotations/{annotations}/ and label_list.mat")
    p.add_argument("--split", choices=("val", "test", "train", "all"), default="val",
                   help="which photos: the kit's validation split (default), test (never used to "
                        "choose anything), train, or all")
    p.add_argument("--weights", default=DEFAULT_CLOTH_WEIGHTS,
                   help=f"the cloth model: registry name (default: {DEFAULT_CLOTH_WEIGHTS}) or "
                        "checkpoint file")
    p.add_argument("--instance-weights", default=DEFAULT_INSTANCE_WEIGHTS,
                   help=f"the garment detector: registry name (default: {DEFAULT_INSTANCE_WEIGHTS}) "
                        "or checkpoint file")
    p.add_argument("--max-images", type=whole(1), default=None,
                   help="evaluate only the first N photos (N ≥ 1)")
    p.add_argument("--device", type=device, default=None, help=DEVICE_HELP)
    p.add_argument("--no-progress", action="store_true")
