"""What a registry entry says: where a checkpoint comes from (its sources), how to check it, which
architecture it loads into, and how that model wants its input (:class:`Preprocessing`)."""
from __future__ import annotations

import importlib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from .errors import WeightsError

__all__ = ["Drive", "Url", "ZipMember", "Bundled", "Source", "Preprocessing", "Weights",
           "DRIVE_URL", "DRIVE_VIEW_URL", "IMAGENET_MEAN", "IMAGENET_STD"]

#: Google Drive download address for a file id (tests point it at a local server).
DRIVE_URL = "https://drive.google.com/uc?id={id}"
DRIVE_VIEW_URL = "https://drive.google.com/file/d/{id}/view"
_ASSETS = Path(__file__).resolve().parent.parent / "assets"


# -------------------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class Drive:
    """A Google Drive file id, downloaded with gdown."""

    file_id: str

    @property
    def url(self) -> str:
        return DRIVE_URL.format(id=self.file_id)

    @property
    def manual_url(self) -> str:
        return DRIVE_VIEW_URL.format(id=self.file_id)


@dataclass(frozen=True)
class Url:
    """A plain HTTP(S) address of the checkpoint file."""

    url: str

    @property
    def manual_url(self) -> str:
        return self.url


@dataclass(frozen=True)
class ZipMember:
    """The file ``member`` inside a zip archive at ``url`` (the archive is cached in ``.archives/``).

    ``member`` is an archive path (``saved_models/candy.pth``) or a base name that occurs once.
    ``archive`` names the cached archive (default: the last part of the URL path); the mirror is
    searched for it too.
    """

    url: str
    member: str
    archive: str = ""

    @property
    def archive_name(self) -> str:
        return self.archive or Path(urllib.parse.urlparse(self.url).path).name or "archive.zip"

    @property
    def manual_url(self) -> str:
        return f"{self.url} (then extract {self.member})"


@dataclass(frozen=True)
class Bundled:
    """A file shipped inside the package, ``fsutils/assets/<path>``.

    ``sha256`` and ``size`` are the shipped file's own when it is not the published file itself
    (a half-precision copy); otherwise the entry's published values check it.
    """

    path: str
    sha256: str | None = None
    size: int | None = None

    @property
    def file(self) -> Path:
        return _ASSETS / self.path

    @property
    def manual_url(self) -> str:
        return f"the fsutils package itself (fsutils/assets/{self.path}; reinstall fsutils)"


Source = Union[Drive, Url, ZipMember, Bundled]


# -------------------------------------------------------------------------------- preprocessing
#: The per-channel RGB statistics of ImageNet, the normalisation of models trained on it.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """How a model wants its input, declared with its checkpoint.

    ``input_size``: the photo is resized to this square side (pixels); ``resample`` the filter
    for it (PIL's ``"bilinear"``, ``"bicubic"``, ``"lanczos"``, or ``"skimage"``: scikit-image's
    anti-aliased resize, as U-2-Net's saliency inference); then ``(x − mean) / std`` on values in
    [0, 1] (one number for all channels, or one per RGB channel). ``flip``: average the
    prediction of the photo and of its mirror image (test-time augmentation).
    """

    input_size: int
    mean: float | tuple[float, float, float] = 0.5
    std: float | tuple[float, float, float] = 0.5
    resample: str = "bicubic"
    flip: bool = False


# ------------------------------------------------------------------------------------- an entry
@dataclass(frozen=True)
class Weights:
    """One checkpoint of the registry.

    ``filename`` is the path inside the cache or mirror (``u2netp.pth``, ``fast_style/candy.pth``).
    ``size``/``sha256`` are the published values (``None`` when unknown); ``sha256_prefix`` is
    the start of the SHA-256 where only that is published (torchvision puts it in its file
    names); ``min_size`` is a lower bound that no complete copy can fall below (the float32
    tensors of ``arch``), which catches a truncated file even when the exact size is not
    published; ``approx_size`` how big the download is said to be where the exact size is not
    published (bytes). :attr:`size_text` is the one figure every message gives for it. ``factory`` (``"module:callable"``) with ``factory_kwargs`` builds the architecture
    the file loads into; ``arch`` says it in words; ``preprocessing`` how that model wants its
    input. ``format`` is ``"pytorch"`` (a ``torch.save`` state dict) or ``"tflite"`` (a
    TensorFlow Lite flatbuffer, read with :mod:`fsutils.tflite` and converted into a PyTorch
    model). ``task`` is the kit's stage the model serves (``"cloth"``, ``"saliency"``,
    ``"instances"``, ``"swap"`` …) and ``classes`` the names of its output classes, in order: the
    stages' lists of selectable models come from them (:func:`fsutils.weights.names_for`).
    """

    name: str
    filename: str
    sources: tuple[Source, ...]
    arch: str
    license: str
    credit: str
    sha256: str | None = None
    sha256_prefix: str | None = None
    size: int | None = None
    min_size: int | None = None
    approx_size: int | None = None
    factory: str | None = None
    factory_kwargs: Mapping[str, Any] = field(default_factory=dict)
    preprocessing: Preprocessing | None = None
    notes: str = ""
    format: Literal["pytorch", "tflite"] = "pytorch"
    task: str | None = None
    classes: tuple[str, ...] = ()

    def build(self):
        """A freshly initialised instance of the architecture (no weights loaded)."""
        if not self.factory:
            raise WeightsError(f"The registry entry {self.name!r} does not say which model to build "
                               f"({self.arch}); construct the model yourself and use load_state_dict.")
        module, _, attr = self.factory.partition(":")
        return getattr(importlib.import_module(module), attr)(**dict(self.factory_kwargs))

    @property
    def size_text(self) -> str:
        """The download's size in words (``"176 MB"``, ``"4.7 MB"``; decimal megabytes), from the
        published size, else the size the source states, else the float32 tensors' bytes; ``""``
        when none is known. Every message, help text and notebook gives this one figure."""
        size = self.size or self.approx_size or self.min_size
        if not size:
            return ""
        mb = size / 1e6
        return f"{mb:.0f} MB" if mb >= 100 else f"{mb:.1f} MB"

    @property
    def manual_urls(self) -> list[str]:
        return [s.manual_url for s in self.sources]
