"""Clothing Co-Parsing photos with image-level tags only: which garments a photo holds, not where.

A tagged CCP folder holds

    photos/NNNN.jpg
    annotations/image-level/NNNN.mat    # "tags": uint8 1×N indices into label_list
    label_list.mat                      # the same 59 names as the pixel-level folder

where ``tags`` lists every CCP label that appears in the photo. :func:`read_tags` gives them as
label names, :func:`semantic_classes` and :func:`instance_classes` as the kit's garment classes
(a photo tagged blouse + skirt and no dress has upper and lower body, no full body), and
:func:`load_tagged` reads a whole split (the kit's photo-id hash, :func:`fsutils.data.split_of`).
The reader itself needs only numpy and scipy.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from .data import (GARMENT_GROUPS, INSTANCE_CLASSES, INSTANCE_GROUPS, SPLITS, CCPError,
                   PhotoError, read_label_names, split_of)

__all__ = ["TAGS_DIR", "TaggedPhoto", "locate_tagged", "tags_path", "list_tagged_ids", "read_tags",
           "semantic_classes", "instance_classes", "tagged_photo", "load_tagged"]

#: Where a tagged folder keeps one ``.mat`` of tags per photo, relative to its root.
TAGS_DIR = Path("annotations") / "image-level"

_FIX = "replace it, or remove the photo and its tags from the folder"


@dataclass(frozen=True)
class TaggedPhoto:
    """One tagged photo: its id, split (``"train"``, ``"val"``, ``"test"``), its CCP labels
    (names, without ``"null"``), the semantic garment classes they make (sorted indices 1–3)
    and the instance classes (names of :data:`fsutils.data.INSTANCE_CLASSES`, in that order)."""

    image_id: str
    split: str
    tags: frozenset[str]
    semantic: tuple[int, ...]
    instances: tuple[str, ...]


def locate_tagged(root: str | Path | None = None) -> Path:
    """The folder of tagged photos: ``root``, else ``$FSUTILS_CCP_TAGGED_ROOT``, else the CCP
    folder itself (the public repository keeps both kinds of annotation side by side), else a
    ``ccp-tagged`` folder beside it; :class:`fsutils.data.CCPError` names where it looked."""
    import os

    from .data import locate_ccp

    candidates = [Path(root)] if root else []
    if os.environ.get("FSUTILS_CCP_TAGGED_ROOT"):
        candidates.append(Path(os.environ["FSUTILS_CCP_TAGGED_ROOT"]))
    try:
        ccp = locate_ccp()
        candidates += [ccp, ccp.parent / "ccp-tagged"]
    except CCPError:
        pass
    for c in candidates:
        if (c / TAGS_DIR).is_dir() and (c / "photos").is_dir():
            return c
    raise CCPError("no folder of tagged CCP photos was found (looked in "
                   f"{', '.join(str(c) for c in candidates) or 'no folder: none was given'}); "
                   "clone the CCP repository (fsutils.data.clone_ccp: it holds photos with "
                   "image-level tags too) or set FSUTILS_CCP_TAGGED_ROOT.")


def tags_path(root: str | Path, image_id: str) -> Path:
    return Path(root) / TAGS_DIR / f"{image_id}.mat"


def list_tagged_ids(root: str | Path) -> list[str]:
    """Sorted ids that have both a photo and a tags file; a folder that is not a tagged CCP
    folder raises :class:`fsutils.data.CCPError` saying what it lacks."""
    root = Path(root)
    tags_dir = root / TAGS_DIR
    if not (tags_dir.is_dir() and (root / "photos").is_dir()):
        why = ("it does not exist" if not root.exists() else "it is a file" if not root.is_dir()
               else f"it lacks photos/ or {TAGS_DIR.as_posix()}/")
        raise CCPError(f"{root} is not a folder of tagged CCP photos: {why}; give the folder that "
                       f"holds photos/, {TAGS_DIR.as_posix()}/ and label_list.mat.")
    ids = sorted(p.stem for p in tags_dir.glob("*.mat") if (root / "photos" / f"{p.stem}.jpg").is_file())
    if not ids:
        raise CCPError(f"no photo has tags in {root}: each photos/NNNN.jpg needs its "
                       f"{TAGS_DIR.as_posix()}/NNNN.mat, under the same number.")
    return ids


def read_tags(root: str | Path, image_id: str, label_names: list[str] | None = None) -> frozenset[str]:
    """The CCP label names a photo is tagged with (``"null"``, the background, left out); a tags
    file that cannot be read, or indexes past the label list, raises :class:`PhotoError`."""
    names = read_label_names(root) if label_names is None else label_names
    path = tags_path(root, image_id)
    try:
        tags = np.asarray(scipy.io.loadmat(str(path))["tags"]).ravel()
    except KeyError:
        raise PhotoError(path, f"holds no 'tags' array, so it is not a CCP image-level "
                               f"annotation; {_FIX}.") from None
    except Exception as e:  # scipy's reader raises many kinds (ValueError, OSError, MatReadError …)
        raise PhotoError(path, f"is not a readable MATLAB file ({str(e).strip() or type(e).__name__}); "
                               f"{_FIX}.") from None
    if tags.dtype.kind not in "uib" or (tags.size and (tags.min() < 0 or tags.max() >= len(names))):
        raise PhotoError(path, f"'tags' must be indices 0–{len(names) - 1} into label_list.mat, "
                               f"got {tags.dtype} values {tags.tolist()[:8]}; {_FIX}.")
    return frozenset(names[int(t)] for t in tags if int(t) != 0)


def semantic_classes(tags: frozenset[str] | set[str]) -> tuple[int, ...]:
    """The semantic garment classes (1 upper, 2 lower, 3 full body) the tags name, sorted."""
    return tuple(c for c, labels in GARMENT_GROUPS.items() if tags & set(labels))


def instance_classes(tags: frozenset[str] | set[str]) -> tuple[str, ...]:
    """The instance classes (top, outer, dress, pants, skirt, shoe, bag) the tags name."""
    return tuple(c for c in INSTANCE_CLASSES if tags & set(INSTANCE_GROUPS[c]))


def tagged_photo(root: str | Path, image_id: str, label_names: list[str] | None = None) -> TaggedPhoto:
    """One photo's :class:`TaggedPhoto`."""
    tags = read_tags(root, image_id, label_names)
    return TaggedPhoto(image_id, split_of(image_id), tags, semantic_classes(tags),
                       instance_classes(tags))


def load_tagged(root: str | Path, split: str = "all", max_images: int | None = None) -> list[TaggedPhoto]:
    """The tagged photos of ``split`` (``"all"`` or one of :data:`fsutils.data.SPLITS`), the
    first ``max_images`` of them; an unknown or empty split raises with what to choose."""
    if split != "all" and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from all, {', '.join(SPLITS)}.")
    ids = [i for i in list_tagged_ids(root) if split in ("all", split_of(i))][:max_images]
    names = read_label_names(root)
    if not ids:
        raise CCPError(f"no tagged photo of the {split!r} split is in {root}; use --split all.")
    return [tagged_photo(root, i, names) for i in ids]
