"""Clothing Co-Parsing (CCP) data for training the kit's cloth segmenter.

CCP (Yang, Luo, Lin, "Clothing Co-Parsing by Joint Image Segmentation and Labeling", CVPR 2014;
https://github.com/bearpaw/clothing-co-parsing, Apache-2.0) stores

    photos/NNNN.jpg
    annotations/pixel-level/NNNN.mat    # "groundtruth": uint8 H×W indices into label_list
    label_list.mat                      # 59 names, index 0 is "null" (background)

and the kit maps its 59 labels onto the 4 classes of the cloth checkpoint (see ``GARMENT_GROUPS``).
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from .user_names import shown

__all__ = [
    "PhotoError", "photo_path", "annotation_path", "load_pair",
    "CLASS_NAMES", "GARMENT_GROUPS", "CCPError", "CCP_REPO", "locate_ccp", "clone_ccp", "read_label_names", "label_lookup", "list_ids",
    "load_photo", "load_groundtruth", "load_labels", "split_ids", "split_of", "ids_in_split",
    "SPLITS", "CCPDataset",
]

# the kit's one vocabulary of garments (fsutils.garments, torch-free), as CCP's labels map to it
from .garments import (CLASS_NAMES, GARMENT_GROUPS, GARMENT_INSTANCE_CLASSES,  # noqa: E402,F401
                       INSTANCE_CLASSES, INSTANCE_GROUPS)

#: The three splits, decided per photo id by a hash, so they are the same on every machine and
#: for any subset of the dataset: hash < TEST_FRACTION → test, < VALIDATION_FRACTION → validation,
#: the rest training. The test photos are never used for any choice (architecture, epoch,
#: threshold, inference size); they only report the chosen model.
TEST_FRACTION = 0.1
VALIDATION_FRACTION = 0.2
SPLITS = ("train", "val", "test")

#: Where the dataset lives for users with internet (photos, annotations, label_list.mat).
CCP_REPO = "https://github.com/bearpaw/clothing-co-parsing"


class CCPError(RuntimeError):
    """A CCP-format folder is missing or malformed."""


class PhotoError(CCPError):
    """One photo or annotation of a CCP folder cannot be used: ``path`` is the file at fault,
    ``reason`` says what is wrong with it and what to do."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{shown(path)}: {reason}")
        self.path, self.reason = Path(path), reason


#: What to do with a photo or annotation that cannot be used (the end of a PhotoError's reason).
_FIX_PAIR = "replace it, or remove the photo and its annotation from the folder"


def _is_ccp(path: Path) -> bool:
    return (path / "label_list.mat").is_file() and (path / "annotations" / "pixel-level").is_dir()


def locate_ccp(root: str | Path | None = None) -> Path:
    """The CCP folder: ``root``, else ``$FSUTILS_CCP_ROOT`` (development machines and CI set it),
    else ``./clothing-co-parsing`` (where :func:`clone_ccp` puts it).
    """
    candidates = [Path(root)] if root else []
    if os.environ.get("FSUTILS_CCP_ROOT"):
        candidates.append(Path(os.environ["FSUTILS_CCP_ROOT"]))
    candidates.append(Path.cwd() / "clothing-co-parsing")
    for c in candidates:
        if _is_ccp(c):
            return c
    raise CCPError("Clothing Co-Parsing was not found (looked in "
                   f"{', '.join(shown(c) for c in candidates)}). Get it with "
                   f"fsutils.data.clone_ccp() or `git clone {CCP_REPO}`, or set FSUTILS_CCP_ROOT.")


def clone_ccp(dest: str | Path = "clothing-co-parsing") -> Path:
    """``git clone`` the public CCP repository (about 100 MB) unless ``dest`` already holds it."""
    dest = Path(dest)
    if not _is_ccp(dest):
        try:
            subprocess.run(["git", "clone", "--depth", "1", CCP_REPO, str(dest)], check=True)
        except (OSError, subprocess.CalledProcessError) as e:
            raise CCPError(f"could not clone {CCP_REPO} into {dest} ({e}); check the internet "
                           "connection, or download the repository by hand and set FSUTILS_CCP_ROOT.") from e
    return dest


def read_label_names(root: str | Path) -> list[str]:
    """The 59 CCP label names from ``label_list.mat`` (index 0 is ``"null"``)."""
    path = Path(root) / "label_list.mat"
    if not path.is_file():
        raise CCPError(f"{shown(path)} not found: a CCP folder needs label_list.mat beside photos/ and "
                       "annotations/ (clone https://github.com/bearpaw/clothing-co-parsing).")
    try:
        raw = scipy.io.loadmat(str(path))["label_list"][0]
        return [str(x[0]) if x.size else "" for x in raw]
    except Exception as e:  # scipy's reader raises many kinds (ValueError, OSError, MatReadError …)
        raise CCPError(f"{shown(path)} is not CCP's label list ({_reason(e)}); copy label_list.mat from "
                       f"{CCP_REPO}.") from None


def label_lookup(label_names: list[str]) -> np.ndarray:
    """A 256-entry uint8 table mapping CCP label index → kit class (0–3)."""
    index = {name: i for i, name in enumerate(label_names)}
    missing = [n for names in GARMENT_GROUPS.values() for n in names if n not in index]
    if missing:
        raise CCPError(f"label_list.mat lacks the CCP labels {missing}; is this a CCP folder?")
    table = np.zeros(256, dtype=np.uint8)
    for cls, names in GARMENT_GROUPS.items():
        table[[index[n] for n in names]] = cls
    return table


def list_ids(root: str | Path) -> list[str]:
    """Sorted ids (``"0001"`` …) that have both a photo and a pixel-level annotation."""
    root = Path(root)
    ann = root / "annotations" / "pixel-level"
    if not (root.is_dir() and ann.is_dir() and (root / "photos").is_dir()):
        why = ("it does not exist" if not root.exists() else "it is a file" if not root.is_dir()
               else "it lacks photos/ or annotations/pixel-level/")
        raise CCPError(f"{shown(root)} is not a CCP folder: {why}; give the folder that holds photos/, "
                       f"annotations/pixel-level/ and label_list.mat (a clone of {CCP_REPO}).")
    ids = sorted(p.stem for p in ann.glob("*.mat") if (root / "photos" / f"{p.stem}.jpg").is_file())
    if not ids:
        raise CCPError(f"no photo has an annotation in {shown(root)}: each photos/NNNN.jpg needs its "
                       "annotations/pixel-level/NNNN.mat, under the same number.")
    return ids


def _reason(error: BaseException) -> str:
    """The first line of an exception's message (its type when the message is empty)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def photo_path(root: str | Path, image_id: str) -> Path:
    return Path(root) / "photos" / f"{image_id}.jpg"


def annotation_path(root: str | Path, image_id: str) -> Path:
    return Path(root) / "annotations" / "pixel-level" / f"{image_id}.mat"


def load_photo(root: str | Path, image_id: str) -> Image.Image:
    """The RGB photo ``photos/<id>.jpg`` (read by :func:`fsutils.io.load_image`); one that cannot
    be read raises :class:`PhotoError`."""
    from . import io as fio

    path = photo_path(root, image_id)
    try:
        return fio.load_image(path)
    except (OSError, ValueError) as e:  # ImageLoadError, or an error while decoding
        raise PhotoError(path, f"cannot be read as a photo ({_reason(e)}); {_FIX_PAIR}.") from None


def load_groundtruth(root: str | Path, image_id: str) -> np.ndarray:
    """The uint8 H×W map of CCP label indices (into :func:`read_label_names`) of one photo; an
    annotation that cannot be read, or is not such a map, raises :class:`PhotoError`."""
    path = annotation_path(root, image_id)
    try:
        gt = np.asarray(scipy.io.loadmat(str(path))["groundtruth"])
    except KeyError:
        raise PhotoError(path, f"holds no 'groundtruth' array, so it is not a CCP pixel-level "
                               f"annotation; {_FIX_PAIR}.") from None
    except Exception as e:  # scipy's reader raises many kinds (ValueError, OSError, MatReadError …)
        raise PhotoError(path, f"is not a readable MATLAB annotation ({_reason(e)}); "
                               f"{_FIX_PAIR}.") from None
    if gt.ndim != 2 or gt.dtype.kind not in "uib" or gt.size == 0 or gt.min() < 0 or gt.max() > 255:
        raise PhotoError(path, f"'groundtruth' is a {'×'.join(map(str, gt.shape))} {gt.dtype} "
                               f"array, not a map of label indices 0–255 (H×W); {_FIX_PAIR}.")
    count = _label_count(str(Path(root).resolve()))
    values = np.unique(gt)
    bad = values[values >= count]
    if bad.size:
        listed = ", ".join(str(int(v)) for v in bad[:5]) + (" …" if bad.size > 5 else "")
        raise PhotoError(path, f"holds label value(s) {listed}, but label_list.mat names only "
                               f"{count} labels (0–{count - 1}); such pixels would be scored and "
                               "trained as background: correct the annotation, or remove the "
                               "photo and its annotation from the folder.")
    return gt.astype(np.uint8)


@lru_cache(maxsize=16)
def _label_count(root: str) -> int:
    return len(read_label_names(root))


def load_labels(root: str | Path, image_id: str, lookup: np.ndarray) -> np.ndarray:
    """The 4-class uint8 H×W label map of one photo."""
    return lookup[load_groundtruth(root, image_id)]


def load_pair(root: str | Path, image_id: str) -> tuple[Image.Image, np.ndarray]:
    """The photo and its annotation (:func:`load_photo`, :func:`load_groundtruth`), checked to be
    of the same size: an annotation labels every pixel of its photo, so a pair that differs is
    refused (:class:`PhotoError` naming the photo and both sizes), never stretched to fit."""
    photo = load_photo(root, image_id)
    gt = load_groundtruth(root, image_id)
    if gt.shape != (photo.height, photo.width):
        raise PhotoError(photo_path(root, image_id),
                         f"the photo is {photo.width}×{photo.height} px but its annotation "
                         f"{annotation_path(root, image_id)} is {gt.shape[1]}×{gt.shape[0]} px "
                         f"(width×height); an annotation must label every pixel of its photo: "
                         f"replace one of them, or remove both from the folder.")
    return photo, gt


def _unit_hash(image_id: str) -> float:
    return int.from_bytes(hashlib.sha256(image_id.encode()).digest()[:8], "big") / 2**64


def split_of(image_id: str) -> str:
    """``"train"``, ``"val"`` or ``"test"`` for a photo id (a stable hash of the id; for photos
    0001–0900: 711 training, 81 validation, 108 test photos)."""
    h = _unit_hash(image_id)
    return "test" if h < TEST_FRACTION else "val" if h < VALIDATION_FRACTION else "train"


def split_ids(ids: list[str]) -> tuple[list[str], list[str]]:
    """``(train, validation)`` lists (test photos are in neither); deterministic, and a photo
    never changes side."""
    return ids_in_split(ids, "train"), ids_in_split(ids, "val")


def ids_in_split(ids: list[str], split: str) -> list[str]:
    """The ids of ``split`` (``"train"``, ``"val"``, ``"test"``, or ``"all"`` for every id)."""
    if split == "all":
        return list(ids)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of all, {', '.join(SPLITS)}")
    return [i for i in ids if split_of(i) == split]


@dataclass(frozen=True)
class Augment:
    """Training augmentation: horizontal flip, random scale/crop, mild colour jitter."""

    flip: float = 0.5
    min_scale: float = 0.6      # crop area fraction
    max_aspect: float = 1.25    # crop aspect ratio jitter (and its inverse)
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2

    @classmethod
    def named(cls, name: str) -> "Augment":
        """``"default"`` (the settings above), ``"strong"`` (wider crops and aspect changes,
        stronger colour jitter: against over-fitting the 711 training photos in long runs) or
        ``"context"`` (crops that keep most of the photo, strong colour jitter: whether a garment
        is a dress or a top is decided by the whole figure, which a small crop cuts away)."""
        presets = {"default": {},
                   "strong": dict(min_scale=0.35, max_aspect=1.5, brightness=0.3, contrast=0.3,
                                  saturation=0.4),
                   "context": dict(min_scale=0.85, max_aspect=1.15, brightness=0.3, contrast=0.3,
                                   saturation=0.4)}
        if name not in presets:
            raise ValueError(f"unknown augmentation {name!r}; choose one of {sorted(presets)}")
        return cls(**presets[name])


class CCPDataset(Dataset):
    """CCP photos and 4-class labels as tensors ``(3×S×S float in (x−0.5)/0.5, S×S long)``;
    ``extra``: more ``(photo, 4-class label PNG)`` files (e.g. pseudo-labels, where 255 marks
    pixels to ignore).

    Photos are resized to a square like the cloth model's inference does. All samples are decoded
    once and kept in memory at ``preload_size`` (a few hundred MB for the 900 CCP photos), so an
    epoch costs only the augmentation and the network.
    """

    def __init__(self, root: str | Path, ids: list[str], size: int = 256,
                 augment: Augment | None = None, preload_size: int | None = None, seed: int = 0,
                 extra: list[tuple[Path, Path]] = ()):
        self.root, self.size, self.augment = Path(root), size, augment
        self.ids = list(ids) + [photo.stem for photo, _ in extra]
        pre = preload_size or (int(size * 1.25) if augment else size)
        lookup = label_lookup(read_label_names(root))
        self.images = torch.empty(len(self.ids), 3, pre, pre, dtype=torch.uint8)
        self.labels = torch.empty(len(self.ids), pre, pre, dtype=torch.uint8)
        for k, source in enumerate([*ids, *extra]):
            if isinstance(source, str):  # a CCP photo and its annotation
                photo, groundtruth = load_pair(root, source)
                classes = lookup[groundtruth]
            else:
                photo, classes = Image.open(source[0]).convert("RGB"), np.asarray(Image.open(source[1]))
            photo = photo.resize((pre, pre), Image.BILINEAR)
            labels = Image.fromarray(classes).resize((pre, pre), Image.NEAREST)
            self.images[k] = torch.from_numpy(np.asarray(photo).copy()).permute(2, 0, 1)
            self.labels[k] = torch.from_numpy(np.asarray(labels).copy())
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        img = self.images[k].float() / 255.0
        lab = self.labels[k]
        if self.augment is not None:
            img, lab = self._augment(img, lab, self.augment)
        img = F.interpolate(img[None], size=(self.size, self.size), mode="bilinear",
                            align_corners=False, antialias=True)[0]
        lab = F.interpolate(lab[None, None].float(), size=(self.size, self.size), mode="nearest")[0, 0]
        return (img.clamp(0, 1) - 0.5) / 0.5, lab.long()

    def _rand(self, lo: float = 0.0, hi: float = 1.0) -> float:
        return lo + (hi - lo) * torch.rand((), generator=self.generator).item()

    def _augment(self, img: torch.Tensor, lab: torch.Tensor, a: Augment) -> tuple[torch.Tensor, torch.Tensor]:
        _, h, w = img.shape
        area = self._rand(a.min_scale, 1.0) * h * w
        aspect = float(np.exp(self._rand(-np.log(a.max_aspect), np.log(a.max_aspect))))
        ch = min(h, int(round((area / aspect) ** 0.5)))
        cw = min(w, int(round((area * aspect) ** 0.5)))
        y0 = int(self._rand() * (h - ch + 1))
        x0 = int(self._rand() * (w - cw + 1))
        img, lab = img[:, y0:y0 + ch, x0:x0 + cw], lab[y0:y0 + ch, x0:x0 + cw]
        if self._rand() < a.flip:
            img, lab = img.flip(-1), lab.flip(-1)
        b = self._rand(1 - a.brightness, 1 + a.brightness)
        c = self._rand(1 - a.contrast, 1 + a.contrast)
        s = self._rand(1 - a.saturation, 1 + a.saturation)
        img = img * b
        img = (img - img.mean()) * c + img.mean()
        gray = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2])[None]
        img = (img - gray) * s + gray
        return img, lab


# ------------------------------------------------------------------------------ garment instances
#: Classes whose every connected component is an instance of its own (a pair of shoes is two).
SPLIT_COMPONENTS: tuple[str, ...] = ("shoe",)
#: Pieces smaller than this fraction of the photo are dropped: 0.0004 of a 550×830 CCP photo is
#: about 180 pixels, which at the detector's 352-pixel short side is under 9×9 pixels, about one
#: cell of its finest (stride-8) feature map. On the 711 training photos it drops 49 of 1,221
#: shoe components (slivers of a heel or a strap cut off by a leg or a sock) and 2 of the 2,183
#: garment and bag instances (a 4-pixel "coat" and a 35-pixel "dress": annotation noise).
MIN_INSTANCE_FRACTION = 4e-4


@dataclass(frozen=True)
class GarmentInstance:
    """One garment instance of an annotated photo: its class (a name of
    :data:`INSTANCE_CLASSES`), the CCP label it comes from, its boolean H×W mask and its box
    ``(x0, y0, x1, y1)`` in pixels (x1, y1 exclusive)."""

    cls: str
    ccp_label: str
    mask: np.ndarray
    box: tuple[int, int, int, int]

    @property
    def label(self) -> int:
        """1-based class index (0 is the detector's background)."""
        return INSTANCE_CLASSES.index(self.cls) + 1


def instance_lookup(label_names: list[str]) -> dict[int, str]:
    """CCP label index → instance class name, for the labels that make instances."""
    index = {name: i for i, name in enumerate(label_names)}
    missing = [n for names in INSTANCE_GROUPS.values() for n in names if n not in index]
    if missing:
        raise CCPError(f"label_list.mat lacks the CCP labels {missing}; is this a CCP folder?")
    return {index[n]: cls for cls, names in INSTANCE_GROUPS.items() for n in names}


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def derive_instances(groundtruth: np.ndarray, label_names: list[str],
                     min_fraction: float = MIN_INSTANCE_FRACTION) -> list[GarmentInstance]:
    """The garment instances of one CCP annotation: one per CCP label present (all its pixels,
    even when they are apart, like the two sides of an open coat), except that each connected
    component (8-connectivity) of a footwear label is an instance of its own; pieces below
    ``min_fraction`` of the photo's area are dropped. Ordered by CCP label, then component."""
    import cv2

    classes = instance_lookup(label_names)
    min_pixels = min_fraction * groundtruth.size
    out: list[GarmentInstance] = []
    for value in np.unique(groundtruth):
        cls = classes.get(int(value))
        if cls is None:
            continue
        mask = groundtruth == value
        if cls in SPLIT_COMPONENTS:
            n, comp = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
            pieces = [comp == k for k in range(1, n)]
        else:
            pieces = [mask]
        out += [GarmentInstance(cls, label_names[value], p, _box(p)) for p in pieces
                if p.sum() >= max(1.0, min_pixels)]
    return out


def load_instances(root: str | Path, image_id: str, label_names: list[str] | None = None,
                   min_fraction: float = MIN_INSTANCE_FRACTION) -> list[GarmentInstance]:
    """:func:`derive_instances` of one photo's annotation."""
    names = label_names if label_names is not None else read_label_names(root)
    return derive_instances(load_groundtruth(root, image_id), names, min_fraction)


__all__ += ["INSTANCE_GROUPS", "INSTANCE_CLASSES", "GARMENT_INSTANCE_CLASSES", "SPLIT_COMPONENTS",
            "MIN_INSTANCE_FRACTION", "GarmentInstance", "instance_lookup", "derive_instances",
            "load_instances"]
