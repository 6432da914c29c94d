"""The weights layer: one registry of checkpoints, one ``fetch``, one safe ``load_state_dict``.

``fetch(name)`` looks in this order and returns the first good file:

1. the **mirror** folder ``$FSUTILS_WEIGHTS_MIRROR/<filename>`` (read-only; CI points it at
   ``../shared/weights``);
2. the **cache**: ``weights/`` of the checkout, ``$FSUTILS_WEIGHTS_DIR`` if set, or
   ``~/.cache/fsutils/weights`` for a non-editable install;
3. the entry's **sources**, in order: a Google Drive id, an HTTPS URL, a member of a zip archive at
   a URL, or a file bundled in ``fsutils/assets``.

Downloads go through gdown (Google Drive confirmation pages, retries that resume with HTTP ranges,
detection of bodies shorter than their ``Content-Length``) into a private temporary folder inside
the cache and are renamed into place only after every check has passed: not empty, not a web page
(the classic Google Drive quota / virus-scan page saved as ``.pth``), a PyTorch file whose zip
directory is intact, at least as large as the architecture's tensors, the exact size and SHA-256
where published, and — where no hash is published — the SHA-256 recorded from the first good copy
(``.hashes.json`` in the cache). Whatever fails is deleted, so nothing malformed stays in the cache.

``load_state_dict(model, name_or_path)`` reads with ``torch.load(map_location="cpu",
weights_only=True)`` (a checkpoint can never run code), strips a DataParallel ``module.`` prefix
only when every key carries it, and loads strictly with an error that names the checkpoint and the
architecture it was expected to fit.

Environment: ``FSUTILS_WEIGHTS_DIR`` (cache folder), ``FSUTILS_WEIGHTS_MIRROR`` (mirror folder),
``FSUTILS_OFFLINE=1`` (never touch the network; loopback URLs stay allowed for tests),
``FSUTILS_DOWNLOAD_TIMEOUT`` (seconds without data before giving up, default 60),
``FSUTILS_DOWNLOAD_RETRIES`` (extra attempts that resume the transfer, default 2).
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import pickle
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

__all__ = [
    "REGISTRY", "Weights", "Drive", "Url", "ZipMember", "Bundled",
    "fetch", "get", "read_state_dict", "load_state_dict", "load_model", "cache_dir", "mirror_dir", "cache_path",
    "print_registry",
    "WeightsError", "UnknownWeightsError", "DownloadError", "NoNetworkError", "HtmlPageError",
    "TruncatedDownloadError", "SizeMismatchError", "HashMismatchError", "CheckpointError",
    "NotACheckpointError", "UnsafeCheckpointError", "ArchitectureMismatchError",
]

#: Google Drive download address for a file id (tests point it at a local server).
DRIVE_URL = "https://drive.google.com/uc?id={id}"
DRIVE_VIEW_URL = "https://drive.google.com/file/d/{id}/view"
HASHES_FILE = ".hashes.json"
ARCHIVES_DIR = ".archives"
_ASSETS = Path(__file__).resolve().parent / "assets"


# --------------------------------------------------------------------------------------- errors
class WeightsError(Exception):
    """Anything that went wrong with a checkpoint; the message says what to do next."""


class UnknownWeightsError(WeightsError):
    """The name is not in :data:`REGISTRY` (and is not a path to a file)."""


class DownloadError(WeightsError):
    """A source could not deliver the file (HTTP error, missing archive member …)."""


class NoNetworkError(DownloadError):
    """The server could not be reached (no network, offline mode, DNS or connection failure)."""


class HtmlPageError(DownloadError):
    """A web page (for example Google Drive's quota or virus-scan page) arrived instead of the file."""


class TruncatedDownloadError(DownloadError):
    """The file is incomplete: empty, shorter than announced, interrupted, or its zip directory is cut off."""


class SizeMismatchError(WeightsError):
    """The file is larger than / different from the published size."""


class HashMismatchError(WeightsError):
    """The SHA-256 differs from the published hash or from the hash recorded at the first download."""


class CheckpointError(WeightsError):
    """The file is not a loadable checkpoint."""


class NotACheckpointError(CheckpointError):
    """Neither a PyTorch zip checkpoint nor a legacy PyTorch pickle, or unreadable as one."""


class UnsafeCheckpointError(CheckpointError):
    """The checkpoint holds pickled Python objects beyond tensors (it could run code); refused."""


class ArchitectureMismatchError(CheckpointError):
    """The state dict does not fit the model (missing / unexpected keys, other shapes)."""


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
    """A file shipped inside the package, ``fsutils/assets/<path>``."""

    path: str

    @property
    def file(self) -> Path:
        return _ASSETS / self.path

    @property
    def manual_url(self) -> str:
        return f"the fsutils package itself (fsutils/assets/{self.path}; reinstall fsutils)"


Source = Union[Drive, Url, ZipMember, Bundled]


@dataclass(frozen=True)
class Weights:
    """One checkpoint of the registry.

    ``filename`` is the path inside the cache or mirror (``u2netp.pth``, ``fast_style/candy.pth``).
    ``size``/``sha256`` are the published values (``None`` when unknown); ``min_size`` is a lower
    bound that no complete copy can fall below (the float32 tensors of ``arch``), which catches a
    truncated file even when the exact size is not published. ``factory`` (``"module:callable"``)
    with ``factory_kwargs`` builds the architecture the file loads into; ``arch`` says it in words.
    """

    name: str
    filename: str
    sources: tuple[Source, ...]
    arch: str
    license: str
    credit: str
    sha256: str | None = None
    size: int | None = None
    min_size: int | None = None
    factory: str | None = None
    factory_kwargs: Mapping[str, Any] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""
    #: ``"pytorch"`` (a ``torch.save`` state dict) or ``"tflite"`` (a TensorFlow Lite flatbuffer,
    #: read with :mod:`fsutils.tflite` and converted into a PyTorch model).
    format: str = "pytorch"

    def build(self):
        """A freshly initialised instance of the architecture (no weights loaded)."""
        if not self.factory:
            raise WeightsError(f"The registry entry {self.name!r} does not say which model to build "
                               f"({self.arch}); construct the model yourself and use load_state_dict.")
        module, _, attr = self.factory.partition(":")
        return getattr(importlib.import_module(module), attr)(**dict(self.factory_kwargs))

    @property
    def manual_urls(self) -> list[str]:
        return [s.manual_url for s in self.sources]


# ------------------------------------------------------------------------------------- registry

_CORAL = "https://raw.githubusercontent.com/google-coral/test_data/104342d2d3480b3e66203073dac24f4e2dbb4c41/"
_UNITY = ("https://raw.githubusercontent.com/asus4/tf-lite-unity-sample/"
          "29ab4cd24453ab2153acc992d5164db1dd784821/Assets/StreamingAssets/")
_TF_STORAGE = "https://storage.googleapis.com/download.tensorflow.org/models/tflite/"
_DEEPLAB_CREDIT = ("Chen et al., 'Encoder-Decoder with Atrous Separable Convolution' (DeepLabV3+, ECCV "
                   "2018) with MobileNetV2 (Sandler et al., CVPR 2018); TensorFlow models, trained on "
                   "COCO then PASCAL VOC")
_MAGENTA_CREDIT = ("Magenta arbitrary image stylization: Ghiasi et al., 'Exploring the structure of a "
                   "real-time, arbitrary neural artistic stylization network', BMVC 2017")
#: (file stem, sources in order, sha256, size, architecture, credit, notes) of the TFLite originals.
_TFLITE_FILES = (
    ("deeplabv3_mnv2_pascal_quant", (_CORAL + "deeplabv3_mnv2_pascal_quant.tflite",),
     "350af47fd346ea6d74b58833a351f583ba860e9806ec5bd292ff8d8f1f249398", 2_193_224,
     "DeepLabV3 + MobileNetV2 (width 1.0, output stride 16), 21 PASCAL VOC classes, 513x513",
     _DEEPLAB_CREDIT, "uint8 weights, BatchNorm folded; the cloth segmenter starts from it"),
    ("deeplabv3_257_mv_gpu", ("https://raw.githubusercontent.com/floe/backscrub/"
                              "16b591612109cb05585db2466e0a3cd46a40f35f/models/deeplabv3_257_mv_gpu.tflite",
                              _TF_STORAGE + "gpu/deeplabv3_257_mv_gpu.tflite"),
     "68a539782c2c6a72f8aac3724600124a85ed977162b44e84cbae5db717c933c6", 2_779_264,
     "DeepLabV3 + MobileNetV2 (narrow), 21 PASCAL VOC classes, 257x257, float32",
     _DEEPLAB_CREDIT, "float32 weights, BatchNorm folded"),
    ("mobilenet_v2_1.0_224_quant", (_CORAL + "mobilenet_v2_1.0_224_quant.tflite",),
     "7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776", 3_610_798,
     "MobileNetV2 1.0 ImageNet classifier (1001 classes), 224x224",
     "Sandler et al., 'MobileNetV2: Inverted Residuals and Linear Bottlenecks', CVPR 2018; "
     "TensorFlow models", "uint8 weights"),
    ("style_predict_quantized_256", (_UNITY + "style_predict_quantized_256.tflite",
                                     _TF_STORAGE + "arbitrary_style_transfer/style_predict_quantized_256.tflite"),
     "af6ad4b2e7aeba0675f32636082ab915ced5375229a3f8aff7e714c6213f5ed2", 2_828_838,
     "Magenta style-prediction network (MobileNetV2-based): painting 256x256 -> 100-number style vector",
     _MAGENTA_CREDIT, "int8 weights"),
    ("style_transfer_f16_384", (_UNITY + "style_transfer_f16_384.tflite",
                                _TF_STORAGE + "arbitrary_style_transfer/style_transfer_f16_384.tflite"),
     "53b5243ed5aa33e408db7976c8a8e51a90a0f7708fd122a31428cd00fbdf6aa6", 422_086,
     "Magenta style-transfer network: photo + style vector -> stylised photo", _MAGENTA_CREDIT,
     "float16 weights"),
    ("style_transfer_quantized_384", (_UNITY + "style_transfer_quantized_384.tflite",
                                      _TF_STORAGE + "arbitrary_style_transfer/style_transfer_quantized_384.tflite"),
     "7a1550643cf034a4d813c0aa276976cd15da4141b4f1ec3631db1d0d9c8e2cd1", 284_398,
     "Magenta style-transfer network, int8 weights (smaller, slightly less exact)", _MAGENTA_CREDIT,
     "int8 weights"),
)
# Other stages add their entries to this table (one Weights(...) each).
_ENTRIES: tuple[Weights, ...] = (
    Weights(
        name="ccp_u2netp",
        filename="ccp_u2netp.pth",
        sources=(Bundled("ccp_u2netp.pth"),),
        arch="U2NETP(in_ch=3, out_ch=4): 4-class cloth segmentation, the kit's own model",
        license="Apache-2.0",
        credit=("fsutils: U2NETP (Qin et al. 2020) fine-tuned from the u2netp saliency weights on "
                "Clothing Co-Parsing (Yang, Luo, Lin, CVPR 2014) with python -m fsutils.train"),
        sha256="35520568f5af3ca1c1574e76db898081c1bb019afad48a7e80d479eedae712d5",
        size=2528375,
        factory="fsutils.models.u2net:U2NETP",
        factory_kwargs={"in_ch": 3, "out_ch": 4},
        meta={"input_size": 160, "mean": 0.5, "std": 0.5, "resample": "bilinear",
              "classes": ("background", "upper_body", "lower_body", "full_body")},
        notes="half precision, about 2.5 MB, shipped inside the package: works offline",
    ),
    Weights(
        name="cloth_segm",
        filename="cloth_segm_u2net_latest.pth",
        sources=(Drive("1mhF3yqd7R-Uje092eypktNl-RoZNuiCJ"),),
        arch="U2NET(in_ch=3, out_ch=4): 4-class cloth segmentation",
        license="MIT",
        credit="levindabhi/cloth-segmentation, https://github.com/levindabhi/cloth-segmentation",
        min_size=176_321_008,  # float32 tensors of U2NET(3, 4)
        factory="fsutils.models.u2net:U2NET",
        factory_kwargs={"in_ch": 3, "out_ch": 4},
        meta={"input_size": 768, "mean": 0.5, "std": 0.5,
              "classes": ("background", "upper_body", "lower_body", "full_body")},
        notes="about 176 MB; saved from DataParallel, so every key starts with 'module.'",
    ),
    Weights(
        name="u2net",
        filename="u2net.pth",
        sources=(Drive("1ao1ovG1Qtx4b7EoskHXmi2E9rp5CHLcZ"),),
        arch="U2NET(in_ch=3, out_ch=1): U-2-Net salient object detection",
        license="Apache-2.0",
        credit="Qin et al., U2-Net (Pattern Recognition 2020), https://github.com/xuebinqin/U-2-Net",
        min_size=176_154_676,  # float32 tensors of U2NET(3, 1)
        factory="fsutils.models.u2net:U2NET",
        factory_kwargs={"in_ch": 3, "out_ch": 1},
        meta={"input_size": 320},
        notes=("176.3 MB per the U-2-Net README. xuebinqin/U-2-Net issue 395 reports the Drive copy "
               "at 176,290,937 bytes where 184,970,715 were expected; the exact size is not "
               "published, so it is not enforced (its float32 tensors alone take 176,154,676 bytes)."),
    ),
    Weights(
        name="u2netp",
        filename="u2netp.pth",
        sources=(Drive("1rbSTGKAE-MTxBYHd-51l2hMOQPT_7EPy"),),
        arch="U2NETP(in_ch=3, out_ch=1): small U-2-Net salient object detection",
        license="Apache-2.0",
        credit="Qin et al., U2-Net (Pattern Recognition 2020), https://github.com/xuebinqin/U-2-Net",
        min_size=4_547_508,  # float32 tensors of U2NETP(3, 1)
        factory="fsutils.models.u2net:U2NETP",
        factory_kwargs={"in_ch": 3, "out_ch": 1},
        meta={"input_size": 320},
        notes="4.7 MB",
    ),
    # --- style transfer (helper "style"): VGG-19, pytorch/examples fast-style models, AdaIN ---
    Weights(
        name="vgg19",
        filename="vgg19-dcbb9e9d.pth",
        sources=(Url("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"),),
        arch="torchvision.models.vgg19(): VGG-19 ImageNet classifier (Gatys style transfer uses "
             "its convolutional part)",
        license="BSD-3-Clause (torchvision); VGG by Simonyan & Zisserman, CC BY 4.0",
        credit="torchvision VGG19_Weights.IMAGENET1K_V1; Simonyan & Zisserman, 'Very Deep "
               "Convolutional Networks for Large-Scale Image Recognition', ICLR 2015",
        min_size=574_668_960,  # float32 tensors of torchvision's vgg19()
        factory="torchvision.models:vgg19",
        meta={"sha256_prefix": "dcbb9e9d", "mean": (0.485, 0.456, 0.406),
              "std": (0.229, 0.224, 0.225)},
        notes="548 MB; torchvision's file name carries the first 8 hex digits of its SHA-256, "
              "which fsutils.models.vgg checks for downloaded copies",
    ),
    *(Weights(
        name=f"fast_style/{style}",
        filename=f"fast_style/{style}.pth",
        sources=(ZipMember("https://www.dropbox.com/s/lrvwfehqdcxoza8/saved_models.zip?dl=1",
                           f"{style}.pth", archive="saved_models.zip"),),
        arch="TransformerNet (pytorch/examples fast_neural_style): feed-forward style network, "
             "RGB 0..255 in and out",
        license="BSD-3-Clause",
        credit="pytorch/examples fast_neural_style pretrained models; Johnson, Alahi & Fei-Fei, "
               "'Perceptual Losses for Real-Time Style Transfer and Super-Resolution', ECCV 2016",
        min_size=6_716_940,  # float32 tensors of TransformerNet
        factory="fsutils.models.transformer_net:TransformerNet",
        meta={"style": style},
        notes="saved by PyTorch < 0.4: carries InstanceNorm running_mean/running_var keys, which "
              "TransformerNet drops while loading",
    ) for style in ("candy", "mosaic", "rain_princess", "udnie")),
    Weights(
        name="fast_style/pointilism",
        filename="fast_style/pointilism.pth",
        sources=(),
        arch="TransformerNet (pytorch/examples fast_neural_style): feed-forward style network, "
             "RGB 0..255 in and out",
        license="BSD-3-Clause (pytorch/examples); model from the ONNX model zoo (Apache-2.0)",
        credit="ONNX model zoo fast-neural-style 'pointilism', converted to the TransformerNet "
               "state dict; Johnson et al., ECCV 2016",
        min_size=6_716_940,
        factory="fsutils.models.transformer_net:TransformerNet",
        meta={"style": "pointilism"},
        notes="no official PyTorch download: available through the mirror "
              "(FSUTILS_WEIGHTS_MIRROR) or placed in the cache by hand",
    ),
    Weights(
        name="adain/vgg_normalised",
        filename="adain/vgg_normalised.pth",
        sources=(Url("https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0/"
                     "vgg_normalised.pth"),),
        arch="fsutils.models.adain.adain_vgg(): normalised VGG-19 of pytorch-AdaIN net.py (53 "
             "layers; the AdaIN encoder uses the first 31, up to relu4_1)",
        license="MIT",
        credit="naoto0804/pytorch-AdaIN; Huang & Belongie, 'Arbitrary Style Transfer in "
               "Real-time with Adaptive Instance Normalization', ICCV 2017",
        min_size=80_097_584,  # float32 tensors of adain_vgg()
        factory="fsutils.models.adain:adain_vgg",
    ),
    Weights(
        name="adain/decoder",
        filename="adain/decoder.pth",
        sources=(Url("https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0/"
                     "decoder.pth"),),
        arch="fsutils.models.adain.adain_decoder(): AdaIN decoder of pytorch-AdaIN net.py",
        license="MIT",
        credit="naoto0804/pytorch-AdaIN; Huang & Belongie, ICCV 2017",
        min_size=14_020_876,  # float32 tensors of adain_decoder()
        factory="fsutils.models.adain:adain_decoder",
    ),
    # --- TensorFlow Lite originals (read by fsutils.tflite, converted to PyTorch modules) ---
    *(Weights(
        name=f"tflite/{stem}",
        filename=f"tflite/{stem}.tflite",
        sources=tuple(Url(u) for u in urls),
        arch=arch,
        license="Apache-2.0",
        credit=credit,
        sha256=sha,
        size=size,
        format="tflite",
        notes=notes,
    ) for stem, urls, sha, size, arch, credit, notes in _TFLITE_FILES),
)

REGISTRY: dict[str, Weights] = {w.name: w for w in _ENTRIES}


def get(name: str) -> Weights:
    """The registry entry ``name`` (clear error listing the known names otherwise)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownWeightsError(
            f"No checkpoint called {name!r} in fsutils.weights.REGISTRY; known: "
            f"{', '.join(sorted(REGISTRY))}.") from None


def print_registry(file=None) -> None:
    """List every checkpoint with its architecture, licence and where it is expected."""
    out = file or sys.stdout
    for w in REGISTRY.values():
        print(f"{w.name}: {w.arch} [{w.license}]", file=out)
        print(f"    file  {cache_path(w.name)}", file=out)
        for url in w.manual_urls:
            print(f"    from  {url}", file=out)


# ---------------------------------------------------------------------------------- locations
def _checkout_root() -> Path | None:
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def cache_dir() -> Path:
    """Where downloads are kept: ``$FSUTILS_WEIGHTS_DIR``, else ``weights/`` of the checkout, else
    ``~/.cache/fsutils/weights`` (``$XDG_CACHE_HOME`` respected) for a non-editable install."""
    env = os.environ.get("FSUTILS_WEIGHTS_DIR")
    if env:
        return Path(env).expanduser().resolve()
    root = _checkout_root()
    if root is not None:
        return root / "weights"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fsutils" / "weights"


def mirror_dir() -> Path | None:
    """``$FSUTILS_WEIGHTS_MIRROR`` resolved (a relative path is tried from the working directory,
    then from the checkout root), or ``None`` when unset."""
    env = os.environ.get("FSUTILS_WEIGHTS_MIRROR")
    if not env:
        return None
    p = Path(env).expanduser()
    if not p.is_absolute() and not p.is_dir() and _checkout_root() is not None:
        p = _checkout_root() / p
    if not p.is_dir():
        warnings.warn(f"FSUTILS_WEIGHTS_MIRROR={env!r} is not a folder; ignoring it.", stacklevel=3)
        return None
    return p.resolve()


def cache_path(name: str) -> Path:
    """The exact path where ``fetch(name)`` keeps (and where you may put by hand) the file."""
    return cache_dir() / get(name).filename


def _manual_help(w: Weights) -> str:
    links = "\n".join(f"  - {u}" for u in w.manual_urls) or "  (no known source)"
    return (f"To install it by hand, download {Path(w.filename).name} from\n{links}\n"
            f"and save it exactly as\n  {cache_dir() / w.filename}\n"
            f"(or put it under a folder named by FSUTILS_WEIGHTS_MIRROR, as <mirror>/{w.filename}).")


# -------------------------------------------------------------------------------------- checks
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"  # legacy torch.save files start with a pickle protocol opcode
_TFLITE_MAGIC = b"TFL3"  # flatbuffer file identifier at bytes 4..8 of a .tflite file


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _describe_page(head: bytes) -> str:
    text = head.decode("utf-8", "replace").lower()
    if "too many users" in text or "quota" in text:
        return "Google Drive's 'download quota exceeded' page"
    if "virus scan" in text or "can't scan" in text or "cannot scan" in text:
        return "Google Drive's virus-scan warning page"
    if "sign in" in text or "accounts.google" in text:
        return "a Google sign-in page"
    return "a web page"


def _sniff(path: Path, what: str, fmt: str = "pytorch") -> bytes:
    """The first bytes of a would-be checkpoint; raises if it is empty, a web page, or not of the
    expected format (a PyTorch zip file or legacy pickle; or a TensorFlow Lite flatbuffer)."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head:
        raise TruncatedDownloadError(f"{what} is empty (0 bytes).")
    if head.lstrip()[:1] == b"<":
        raise HtmlPageError(
            f"{what} is {_describe_page(head)} ({path.stat().st_size:,} bytes of HTML), not the "
            f"checkpoint. Google Drive sends such pages when a file's download quota is used up "
            f"or it cannot be virus-scanned: retry later, or download the file in a browser.")
    if fmt == "tflite":
        if head[4:8] != _TFLITE_MAGIC:
            raise NotACheckpointError(f"{what} is not a TensorFlow Lite file (no 'TFL3' "
                                      f"identifier; it starts with {head[:8]!r}).")
        return head
    if not (head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_MAGIC)):
        raise NotACheckpointError(f"{what} is not a PyTorch checkpoint (it starts with "
                                  f"{head[:8]!r}).")
    return head


def _check_content(w: Weights, path: Path, what: str) -> None:
    """Structural checks that need no hash. Raises the documented error; deletes nothing."""
    what = f"{what} for {w.name!r}"
    head = _sniff(path, what, w.format)
    size = path.stat().st_size
    if w.size is not None and size < w.size:
        raise TruncatedDownloadError(
            f"{what} is truncated: {size:,} bytes of the published {w.size:,}.")
    if w.size is not None and size != w.size:
        raise SizeMismatchError(f"{what} has {size:,} bytes; the published size is {w.size:,}.")
    if w.min_size is not None and size < w.min_size:
        raise TruncatedDownloadError(
            f"{what} is truncated: {size:,} bytes, but the tensors of {w.arch} alone take "
            f"{w.min_size:,}.")
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as zf:
                zf.infolist()
        except (zipfile.BadZipFile, OSError) as e:
            raise TruncatedDownloadError(
                f"{what} is truncated or damaged: its zip directory is unreadable ({e}).") from None


def _check_hash(w: Weights, digest: str, what: str, recorded: str | None) -> None:
    if w.sha256 is not None and digest != w.sha256.lower():
        raise HashMismatchError(f"{what} for {w.name!r} has SHA-256 {digest}; the published hash is "
                                f"{w.sha256}. The file is corrupt or not the official one.")
    if w.sha256 is None and recorded is not None and digest != recorded:
        raise HashMismatchError(
            f"{what} for {w.name!r} has SHA-256 {digest}, but the first good copy had {recorded} "
            f"(recorded in {cache_dir() / HASHES_FILE}). If the upstream file really changed, "
            f"delete its entry there.")


def _read_records() -> dict[str, Any]:
    try:
        data = json.loads((cache_dir() / HASHES_FILE).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _recorded_hash(w: Weights) -> str | None:
    entry = _read_records().get(w.filename)
    return entry.get("sha256") if isinstance(entry, dict) else None


def _record(w: Weights, digest: str, size: int, source: str) -> None:
    """Remember the hash of the first good copy of a file that has no published hash."""
    if w.sha256 is not None or _recorded_hash(w) is not None:
        return
    records = _read_records()
    records[w.filename] = {"sha256": digest, "size": size, "source": source,
                           "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    d = cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".hashes-", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(records, f, indent=1, sort_keys=True)
        os.replace(tmp, d / HASHES_FILE)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# Files verified in this process, keyed by (path, size, mtime): hashing 176 MB once is enough.
_VERIFIED: set[tuple[str, int, int]] = set()


def _verify_file(w: Weights, path: Path, what: str, digest: str | None = None,
                 *, use_record: bool = True) -> str | None:
    """All checks for a file on disk; returns its SHA-256 when computed."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _VERIFIED:
        return None
    _check_content(w, path, what)
    recorded = _recorded_hash(w) if use_record else None
    if w.sha256 is not None or use_record:
        digest = digest or _sha256(path)
        _check_hash(w, digest, what, recorded)
    _VERIFIED.add(key)
    return digest


# ----------------------------------------------------------------------------------- downloads
def _offline() -> bool:
    return os.environ.get("FSUTILS_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _is_loopback(url: str) -> bool:
    return urllib.parse.urlparse(url).hostname in {"127.0.0.1", "localhost", "::1"}


def _download(url: str, dest: Path, *, label: str, progress: bool, drive: bool) -> str:
    """Download ``url`` to ``dest`` with gdown; returns the SHA-256. Raises DownloadError kinds."""
    import gdown
    import requests
    import urllib3
    from gdown.exceptions import DownloadError as GdownDownloadError
    from gdown.exceptions import FileURLRetrievalError
    from tqdm.auto import tqdm

    if _offline() and not _is_loopback(url):
        raise NoNetworkError(f"Not downloading {label} from {url}: FSUTILS_OFFLINE is set.")
    timeout = float(os.environ.get("FSUTILS_DOWNLOAD_TIMEOUT", "60"))
    retries = int(os.environ.get("FSUTILS_DOWNLOAD_RETRIES", "2"))
    hasher = hashlib.sha256()
    received = 0
    bar = None  # created at the first byte, so a failed connection prints no empty bar

    def on_chunk(done: int, total: int | None) -> None:
        nonlocal received, bar
        if bar is None:
            bar = tqdm(desc=label, total=total, unit="B", unit_scale=True, unit_divisor=1024,
                       disable=not progress)
        if total and bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - received)
        received = done

    try:
        gdown.download(url=url, output=str(dest), quiet=True, use_cookies=drive, progress=on_chunk,
                       hasher=hasher, timeout=(min(timeout, 30.0), timeout), retries=retries)
    except FileURLRetrievalError as e:
        raise HtmlPageError(f"Google Drive did not hand out {label} ({url}): it answered with a "
                            f"page instead of the file (download quota used up, virus-scan "
                            f"warning or no permission). Retry later or download it in a "
                            f"browser.\n{e}") from None
    except requests.HTTPError as e:
        code = e.response.status_code if e.response is not None else "?"
        raise DownloadError(f"Downloading {label} from {url} failed: the server answered HTTP "
                            f"{code}.") from None
    except (GdownDownloadError, requests.RequestException, OSError) as e:
        # requests reports a read timeout *inside the body* as ConnectionError(ReadTimeoutError);
        # one before the headers is requests.ReadTimeout, a refused connection ConnectionError.
        stalled = (isinstance(e, requests.ConnectionError) and bool(e.args)
                   and isinstance(e.args[0], urllib3.exceptions.ReadTimeoutError))
        why = (str(e).strip().splitlines() or [""])[0]  # gdown's first line (not its resume hint)
        if received or stalled or "incomplete" in why.lower():
            raise TruncatedDownloadError(
                f"Downloading {label} from {url} was interrupted after {received:,} bytes "
                f"({type(e).__name__}: {why}); the partial file was deleted.") from None
        raise NoNetworkError(f"Could not download {label} from {url}: {type(e).__name__}: {why} "
                             f"No network, or the server is unreachable.") from None
    finally:
        if bar is not None:
            bar.close()
    if not dest.is_file():
        raise DownloadError(f"Downloading {label} from {url} produced no file.")
    return hasher.hexdigest()


@contextlib.contextmanager
def _scratch() -> Any:
    """A private temporary folder inside the cache (same file system, so renames are atomic);
    removed with everything in it, whatever happens."""
    d = cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=d))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _archive(w: Weights, src: ZipMember, progress: bool) -> Path:
    """The zip archive of ``src`` from the mirror or cache, downloading it if needed."""
    mirror = mirror_dir()
    if mirror is not None and (mirror / src.archive_name).is_file():
        return mirror / src.archive_name
    cached = cache_dir() / ARCHIVES_DIR / src.archive_name
    if cached.is_file():
        if zipfile.is_zipfile(cached):
            return cached
        cached.unlink()
    with _scratch() as tmp:
        part = tmp / src.archive_name
        _download(src.url, part, label=src.archive_name, progress=progress, drive=False)
        if not zipfile.is_zipfile(part):
            with open(part, "rb") as f:
                head = f.read(4096)
            if head.lstrip()[:1] == b"<":
                raise HtmlPageError(f"{src.url} gave {_describe_page(head)}, not the zip archive "
                                    f"holding {w.filename}.")
            raise TruncatedDownloadError(f"The archive {src.url} (for {w.name!r}) is truncated or "
                                         f"not a zip file.")
        cached.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, cached)
    return cached


def _extract(w: Weights, src: ZipMember, archive: Path, dest: Path) -> str:
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        member = src.member if src.member in names else None
        if member is None:
            matches = [n for n in names if Path(n).name == src.member]
            if len(matches) != 1:
                raise DownloadError(f"The archive {src.url} has no single member {src.member!r} "
                                    f"(it holds: {', '.join(names[:20])}).")
            member = matches[0]
        h = hashlib.sha256()
        try:
            with zf.open(member) as fin, open(dest, "wb") as fout:
                for block in iter(lambda: fin.read(1 << 20), b""):
                    h.update(block)
                    fout.write(block)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise TruncatedDownloadError(f"{member} in {archive} is damaged ({e}).") from None
    return h.hexdigest()


def fetch(name: str, *, progress: bool = True) -> Path:
    """The local path of checkpoint ``name``: mirror, then cache, then download (see module doc).

    Raises a :class:`WeightsError` subclass whose message names the file, what went wrong, and
    where to put a copy downloaded by hand.
    """
    w = get(name)
    mirror = mirror_dir()
    if mirror is not None and (mirror / w.filename).is_file():
        path = mirror / w.filename
        try:
            _verify_file(w, path, f"The mirror copy {path}", use_record=False)
        except WeightsError as e:
            raise type(e)(f"{e}\nFix or remove that file, or unset FSUTILS_WEIGHTS_MIRROR.") from None
        return path

    target = cache_dir() / w.filename
    removed = ""
    if target.is_file():
        try:
            digest = _verify_file(w, target, f"The cached file {target}")
            if digest:
                _record(w, digest, target.stat().st_size, "found in the cache")
            return target
        except WeightsError as e:
            target.unlink()
            removed = f"\n(A bad cached copy was deleted: {e})"

    errors: list[WeightsError] = []
    for src in w.sources:
        try:
            if isinstance(src, Bundled):
                if not src.file.is_file():
                    raise DownloadError(f"The bundled file {src.file} is missing from this "
                                        f"installation of fsutils.")
                _verify_file(w, src.file, f"The bundled file {src.file}", use_record=False)
                return src.file
            with _scratch() as tmp:
                part = tmp / Path(w.filename).name
                if isinstance(src, ZipMember):
                    digest = _extract(w, src, _archive(w, src, progress), part)
                else:
                    digest = _download(src.url, part, label=w.filename, progress=progress,
                                       drive=isinstance(src, Drive))
                _verify_file(w, part, f"The download from {src.manual_url}", digest)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(part, target)
            _record(w, digest, target.stat().st_size, src.manual_url)
            _VERIFIED.add((str(target), target.stat().st_size, target.stat().st_mtime_ns))
            return target
        except WeightsError as e:
            errors.append(e)

    if not errors:
        raise DownloadError(f"The registry entry {w.name!r} has no sources.\n{_manual_help(w)}")
    detail = "\n".join(f"- {e}" for e in errors)
    raise type(errors[0])(f"Could not get the checkpoint {w.name!r} ({w.filename}, {w.arch}):\n"
                          f"{detail}\nNothing was left in the cache.{removed}\n{_manual_help(w)}")


# -------------------------------------------------------------------------------------- loading
def _entry_for(path: Path) -> Weights | None:
    for w in REGISTRY.values():
        if path.name == Path(w.filename).name:
            return w
    return None


def _read_state_dict(path: Path, w: Weights | None) -> dict[str, Any]:
    import torch

    what = f"the checkpoint {path}" + (f" ({w.name!r})" if w else "")
    if not path.is_file():
        raise CheckpointError(f"There is no file {path}.")
    _sniff(path, what)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights only" not in str(e).lower():
            raise NotACheckpointError(f"Could not read {what}: {e}. The file is truncated or not "
                                      f"a PyTorch checkpoint; delete it and fetch it again.") from None
        found = re.search(r"Unsupported (?:global|operand)[^\n]*?(?=\.\s|$)", str(e), re.M)
        detail = f" ({found.group(0)})" if found else ""
        raise UnsafeCheckpointError(
            f"Refusing to load {what}: it contains pickled Python objects other than tensors, "
            f"which could run code when loaded{detail}. Only plain state dicts are accepted; "
            f"re-save it with torch.save(model.state_dict(), path) from a trusted "
            f"environment.") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as e:
        raise NotACheckpointError(f"Could not read {what}: {type(e).__name__}: {e}. The file is "
                                  f"truncated or not a PyTorch checkpoint; delete it and fetch it "
                                  f"again.") from None
    if isinstance(obj, Mapping) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in ("state_dict", "model", "model_state_dict"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner and all(
                    isinstance(v, torch.Tensor) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise NotACheckpointError(f"{what} holds a {type(obj).__name__}, not a state dict of "
                                  f"tensors.")
    return dict(obj)


def _strip_module_prefix(sd: dict[str, Any], model_keys: set[str]) -> dict[str, Any]:
    """Drop DataParallel's ``module.`` only when every key carries it and the model does not."""
    if sd and all(k.startswith("module.") for k in sd) and not all(
            k.startswith("module.") for k in model_keys):
        return {k[len("module."):]: v for k, v in sd.items()}
    return sd


def _shorten(msg: str, limit: int = 6) -> str:
    """torch's strict-load message, with its long key lists cut to ``limit`` names each."""
    lines = []
    size_lines = 0
    for line in msg.splitlines():
        m = re.match(r"(\s*(?:Missing|Unexpected) key\(s\) in state_dict: )(.*)$", line)
        if m:
            keys = re.findall(r'"([^"]+)"', m.group(2))
            shown = ", ".join(keys[:limit]) + (f", … ({len(keys)} in all)" if len(keys) > limit else "")
            lines.append(f"{m.group(1).strip()} {shown}")
        elif "size mismatch for" in line:
            size_lines += 1
            if size_lines <= limit:
                lines.append(line.strip())
        elif line.strip():
            lines.append(line.strip())
    if size_lines > limit:
        lines.append(f"… {size_lines} size mismatches in all")
    return "\n  ".join(lines)


def _locate(name_or_path) -> tuple[Path, Weights | None]:
    """The local file of a registry name (fetched) or a path, and its registry entry if any."""
    if isinstance(name_or_path, str) and name_or_path in REGISTRY:
        return fetch(name_or_path), REGISTRY[name_or_path]
    path = Path(name_or_path).expanduser()
    if isinstance(name_or_path, str) and not path.exists() and os.sep not in name_or_path \
            and not path.suffix:
        get(name_or_path)  # raises UnknownWeightsError with the known names
    return path, _entry_for(path)


def read_state_dict(name_or_path) -> dict[str, Any]:
    """The state dict of a registry checkpoint (by name) or a file, read as
    :func:`load_state_dict` reads it — to load one file into several candidate models."""
    return _read_state_dict(*_locate(name_or_path))


def load_state_dict(model, name_or_path):
    """Load a registry checkpoint (by name), a file, or an already read state dict (from
    :func:`read_state_dict`) into ``model`` strictly; returns ``model``.

    ``torch.load(map_location="cpu", weights_only=True)``: pickled objects that could run code
    are refused (:class:`UnsafeCheckpointError`). A ``{"state_dict": …}`` / ``{"model": …}``
    wrapper is unwrapped; a ``module.`` prefix is removed only when every key has it.
    """
    if isinstance(name_or_path, Mapping):
        sd, what, w = dict(name_or_path), "The given state dict", None
    else:
        path, w = _locate(name_or_path)
        sd, what = _read_state_dict(path, w), f"The checkpoint {path}"
    model_keys = set(model.state_dict().keys())
    sd = _strip_module_prefix(sd, model_keys)
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        expected = (f"it is the registry checkpoint {w.name!r}, made for {w.arch}"
                    if w else "no registry entry names this file")
        raise ArchitectureMismatchError(
            f"{what} does not fit {type(model).__name__} ({expected}; the file has "
            f"{len(sd)} tensors, the model expects {len(model_keys)}).\n  {_shorten(str(e))}\n"
            f"Build the architecture the checkpoint was made for, or pick the checkpoint of "
            f"this architecture.") from None
    return model


def load_model(name: str, device=None):
    """``get(name).build()`` with the checkpoint loaded, in eval mode, on ``device`` (default
    :func:`fsutils.env.device`)."""
    from fsutils.env import device as default_device

    w = get(name)
    model = load_state_dict(w.build(), name)
    return model.eval().to(device if device is not None else default_device())
