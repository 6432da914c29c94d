"""Images in and out, and the bundled samples.

- :func:`load_image` — any file, bytes or stream PIL can read → an RGB ``PIL.Image`` with EXIF
  orientation applied, transparency composited on white, 16-bit and CMYK images converted sensibly,
  a decompression-bomb guard, and :class:`ImageLoadError` with a clear message otherwise.
- the one conversion layer between the kit's image forms (``PIL.Image`` at API boundaries,
  ``float32`` H×W×3 arrays in 0..1 for blending, uint8 for screens and files):
  :func:`to_rgb` (any picture, or a file to read, as an RGB ``PIL.Image``), :func:`to_float`,
  :func:`to_uint8`, :func:`to_pil` (RGB or grey) and :func:`as_array` (the pixels as they are,
  for plotting). Each accepts PIL images, numpy arrays (uint8 0..255, float 0..1, bool masks;
  H×W, H×W×3 or H×W×4) and torch tensors (C×H×W or 1×C×H×W).
- :func:`fit_long_side` — the one resize to a longest side (working sizes of the pipeline and the
  style methods).
- :func:`sample_photos`, :func:`sample_styles`, :func:`sample_path` — the images in
  ``fsutils/assets/samples`` (credits in ``CREDITS.md`` beside them).
"""
from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path
from typing import Any, BinaryIO, Union

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

__all__ = ["ImageLoadError", "ImageLike", "IMAGE_SUFFIXES", "load_image", "to_rgb", "to_float",
           "to_uint8", "to_pil", "as_array", "fit_long_side", "image_size", "MAX_PIXELS", "max_pixels_setting", "SAMPLES_DIR",
           "sample_photos", "sample_styles", "sample_path"]

#: Default pixel limit (width × height) of :func:`load_image`: 8K × 8K, far above any photo the
#: kit needs, far below what fills memory. ``FSUTILS_MAX_PIXELS`` or ``max_pixels=`` changes it.
MAX_PIXELS = 64_000_000
SAMPLES_DIR = Path(__file__).resolve().parent / "assets" / "samples"
#: File name endings read as images when a folder is scanned (the command line, the samples).
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif",
                                            ".tiff", ".gif"})


def max_pixels_setting() -> int:
    """The pixel limit of :func:`load_image`: ``$FSUTILS_MAX_PIXELS`` (a whole number ≥ 1), else
    :data:`MAX_PIXELS`; a value that is not such a number raises
    :class:`fsutils.settings.SettingError` naming the variable."""
    from fsutils.settings import number_setting

    return int(number_setting("FSUTILS_MAX_PIXELS", MAX_PIXELS, whole=True, low=1,
                              what="the largest image to decode, in pixels (width × height)"))


ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO, Image.Image]
#: Anything the kit takes as a picture: a PIL image, an array or tensor, or a file to read.
ImageLike = Union[ImageSource, np.ndarray, Any]


class ImageLoadError(ValueError):
    """The input is not a usable image: empty, not an image, truncated, or too large."""


def _describe(src) -> str:
    """How messages name ``src``: a path or a stream's name printed safely
    (:func:`fsutils.user_names.shown`), else what it is."""
    from fsutils.user_names import shown

    if isinstance(src, (str, os.PathLike)):
        return shown(src)
    if isinstance(src, (bytes, bytearray, memoryview)):
        return f"<{len(src)} bytes>"
    name = getattr(src, "name", None)
    return shown(name) if isinstance(name, (str, bytes, os.PathLike)) else f"<{type(src).__name__}>"


def _open(src: ImageSource) -> tuple[Image.Image, str]:
    name = _describe(src)
    if isinstance(src, Image.Image):
        return src, name
    if isinstance(src, (str, os.PathLike)):
        path = Path(src).expanduser()
        name = _describe(path)
        if not path.exists():
            raise FileNotFoundError(f"No image file at {name}.")
        if path.is_dir():
            raise ImageLoadError(f"{name} is a folder, not an image file.")
        if path.stat().st_size == 0:
            raise ImageLoadError(f"{name} is empty (0 bytes); it is not an image.")
        fp: BinaryIO = open(path, "rb")
    elif isinstance(src, (bytes, bytearray, memoryview)):
        if len(src) == 0:
            raise ImageLoadError("The image data is empty (0 bytes).")
        fp = io.BytesIO(bytes(src))
    else:
        fp = src
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning becomes our size check below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(fp)
    except UnidentifiedImageError:
        with _rewind(fp):
            head = fp.read(16)
        if isinstance(src, (str, os.PathLike)):
            fp.close()
        if not head:
            raise ImageLoadError(f"{name} is empty (0 bytes); it is not an image.") from None
        raise ImageLoadError(f"{name} is not an image file Pillow can read (it starts with "
                             f"{head!r}); use a JPEG, PNG, WebP, TIFF, BMP or GIF.") from None
    except Image.DecompressionBombError as e:
        m = re.search(r"\((\d+) pixels\)", str(e))
        count = f"{int(m.group(1)):,} pixels" if m else "too many pixels"
        raise ImageLoadError(f"{name} has {count}, far beyond Pillow's limit (a guard against "
                             f"decompression bombs); it is not loaded.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        # a header cut short or garbled (e.g. a JPEG cut inside its markers: "Truncated File Read")
        if isinstance(src, (str, os.PathLike)):
            fp.close()
        raise ImageLoadError(f"{name} is truncated or corrupt and cannot be read ({e}). Download "
                             f"or export it again.") from None
    return img, name


class _rewind:
    def __init__(self, fp):
        self.fp = fp

    def __enter__(self):
        try:
            self.fp.seek(0)
        except (AttributeError, OSError, ValueError):
            pass
        return self.fp

    def __exit__(self, *exc):
        return False


def _sixteen_to_8bit(arr: np.ndarray) -> np.ndarray:
    """Integer or float samples → uint8: 16-bit ranges scaled by 1/257, floats in 0..1 by 255."""
    if arr.dtype.kind == "f":
        finite = arr[np.isfinite(arr)]
        hi = float(finite.max()) if finite.size else 0.0
        scale = 255.0 if hi <= 1.0 else (255.0 / 65535.0 if hi > 255.0 else 1.0)
        return np.clip(np.nan_to_num(arr) * scale, 0, 255).round().astype(np.uint8)
    hi = int(arr.max()) if arr.size else 0
    if hi > 255:
        return np.clip(arr.astype(np.float64) / 257.0, 0, 255).round().astype(np.uint8)
    return np.clip(arr, 0, 255).astype(np.uint8)


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "CMYK":
        profile = img.info.get("icc_profile")
        if profile:
            try:
                src = ImageCms.ImageCmsProfile(io.BytesIO(profile))
                return ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"),
                                                 outputMode="RGB")
            except (ImageCms.PyCMSError, OSError, ValueError):
                pass
        return img.convert("RGB")
    if mode in {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}:
        return Image.fromarray(_sixteen_to_8bit(np.asarray(img)), "L").convert("RGB")
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (mode in {"L", "RGB"} and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode == "RGB":
        return img
    return img.convert("RGB")  # L, 1, YCbCr, LAB, HSV …


def load_image(src: ImageSource, *, max_pixels: int | None = None) -> Image.Image:
    """Read an image (path, bytes, binary stream or ``PIL.Image``) as an RGB ``PIL.Image``.

    EXIF orientation is applied; the first frame of an animation is used; alpha (RGBA, LA, P with
    transparency) is composited on white; CMYK goes through its ICC profile when it has one;
    16-bit and float images are scaled to 8 bits. More than ``max_pixels`` (default
    :data:`MAX_PIXELS` or ``$FSUTILS_MAX_PIXELS``) pixels is refused before decoding.

    Raises :class:`ImageLoadError` (empty, not an image, truncated/corrupt, too large) or
    ``FileNotFoundError``.
    """
    limit = int(max_pixels) if max_pixels is not None else max_pixels_setting()
    opened, name = _open(src)
    try:
        return _decode(opened, name, limit)
    finally:
        if not isinstance(src, Image.Image):
            opened.close()  # closes the file we opened (a caller's stream is closed by Pillow only
            #                 when Pillow opened it)


def _decode(img: Image.Image, name: str, limit: int) -> Image.Image:
    w, h = img.size
    if w * h > limit:
        raise ImageLoadError(
            f"{name} is {w}×{h} = {w * h:,} pixels, more than the limit of {limit:,} (a guard "
            f"against decompression bombs). Downscale it first, or pass max_pixels= / set "
            f"FSUTILS_MAX_PIXELS if you trust it.")
    if w == 0 or h == 0:
        raise ImageLoadError(f"{name} has no pixels ({w}×{h}).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img.load()
            out = _to_rgb(ImageOps.exif_transpose(img))
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageLoadError(f"{name} is truncated or corrupt and cannot be decoded ({e}). "
                             f"Download or export it again.") from None
    return out.copy() if out is img else out


def as_array(img: Any) -> np.ndarray:
    """The pixels of an in-memory picture as a numpy array, values untouched: a PIL image as uint8
    H×W (grey) or H×W×3 (other modes through RGB), a tensor C×H×W or 1×C×H×W as H×W×C, an
    array as it is; a single channel becomes H×W."""
    if isinstance(img, Image.Image):
        return np.asarray(img if img.mode in ("RGB", "L") else _to_rgb(img))
    if hasattr(img, "detach"):  # torch tensor
        img = img.detach().cpu().numpy()
        if img.ndim == 4 and img.shape[0] == 1:
            img = img[0]
        if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[2] not in (1, 3):
            img = img.transpose(1, 2, 0)
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    return arr


def _is_in_memory(img: Any) -> bool:
    return isinstance(img, (Image.Image, np.ndarray)) or hasattr(img, "detach")


def to_float(img: ImageLike) -> np.ndarray:
    """Any picture → ``float32`` H×W×3 in 0..1 (uint8 scaled by 1/255, grey repeated, alpha
    composited on white; a path, bytes or stream is read with :func:`load_image`). Integer
    arrays other than uint8 and floats outside 0..1 are refused (``ValueError``)."""
    if not _is_in_memory(img):
        img = load_image(img)
    if isinstance(img, Image.Image):
        return np.asarray(_to_rgb(img), dtype=np.float32) / 255.0
    arr = as_array(img)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"Expected an H×W, H×W×1, H×W×3 or H×W×4 image, got shape {arr.shape}.")
    if arr.dtype == np.uint8:
        out = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.bool_:
        out = arr.astype(np.float32)
    elif arr.dtype.kind in "iu":
        raise ValueError(f"Integer images must be uint8 (0..255), got {arr.dtype}; convert first.")
    else:
        out = arr.astype(np.float32, copy=False)
        lo, hi = float(np.nanmin(out)), float(np.nanmax(out))
        if lo < -1e-3 or hi > 1 + 1e-3:
            raise ValueError(f"Float images must lie in 0..1, got values in [{lo:.3g}, {hi:.3g}].")
        out = np.clip(out, 0.0, 1.0)
    if out.shape[2] == 4:
        rgb, alpha = out[..., :3], out[..., 3:]
        out = rgb * alpha + (1.0 - alpha)
    return np.ascontiguousarray(out, dtype=np.float32)


def to_uint8(img: Any) -> np.ndarray:
    """Any in-memory picture as uint8 0..255, H×W or H×W×C — what a screen shows: floats in 0..1
    rounded and clipped (NaN → 0), bool masks as 0/255, uint8 as it is.

    NaN and negatives become 0 through ``np.fmax`` (which, unlike ``cv2.threshold`` — whose NaN
    handling changed in OpenCV 5.1 — defines NaN's result), then OpenCV scales, rounds and
    saturates in one pass (``convertScaleAbs``: about 2 ms for a 1024-px frame with the ``fmax``,
    5× faster than numpy's clip-and-round).
    """
    arr = as_array(img)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if arr.dtype.kind in "iu":
        raise ValueError(f"Integer arrays must be uint8, got {arr.dtype}.")
    import cv2

    arr = np.fmax(np.asarray(arr, dtype=np.float32), np.float32(0), order="C")
    return cv2.convertScaleAbs(arr, alpha=255.0)


def to_pil(img: Any) -> Image.Image:
    """Any in-memory picture as a ``PIL.Image``: RGB, or L for H×W maps and masks (floats in 0..1
    rounded to 8 bits, bool masks black/white, H×W×4 composited on white). An RGB or L image
    is returned unchanged, other modes converted to RGB."""
    if isinstance(img, Image.Image):
        return img if img.mode in ("RGB", "L") else _to_rgb(img)
    a = as_array(img)
    if a.ndim == 3 and a.shape[2] == 4:
        a = to_float(a)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise ValueError(f"Expected an H×W or H×W×3 array, got shape {a.shape}.")
    return Image.fromarray(np.ascontiguousarray(to_uint8(a)), "L" if a.ndim == 2 else "RGB")


def to_rgb(image: ImageLike) -> Image.Image:
    """Any picture as an RGB ``PIL.Image``: a PIL image (alpha on white, 16-bit scaled …), an
    array or tensor (uint8, or float in 0..1; grey repeated), or a path, bytes or stream read
    with :func:`load_image`."""
    if isinstance(image, Image.Image):
        return _to_rgb(image)
    if _is_in_memory(image):
        arr = as_array(image)
        if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3:
            return Image.fromarray(np.ascontiguousarray(arr), "RGB")
        return to_pil(to_float(arr))
    if not isinstance(image, (str, os.PathLike, bytes, bytearray, memoryview)) and not hasattr(image, "read"):
        raise TypeError(f"expected a PIL image, an array, a tensor, or an image file (path, bytes or "
                        f"stream), got {type(image).__name__}")
    return load_image(image)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """The (width, height) that :func:`load_image` gives an image file, EXIF orientation applied,
    read from its header without decoding the pixels (``OSError`` when it cannot be read)."""
    with Image.open(path) as img:
        w, h = img.size
        turned = img.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # Orientation: a quarter turn
    return (h, w) if turned else (w, h)


def fit_long_side(image: Image.Image, size: int | None, *, enlarge: bool = True,
                  resample: Image.Resampling = Image.Resampling.LANCZOS) -> Image.Image:
    """``image`` resized so that its longest side is ``size`` px, the aspect kept (each side at
    least 1 px), with Lanczos (``resample=Image.Resampling.NEAREST`` for label maps and masks).
    With ``enlarge=False`` an image already within ``size`` is left as it is (only shrunk);
    ``size=None`` keeps every size. The image itself comes back when its size does not change."""
    if size is None:
        return image
    if int(size) != size or size < 1:
        raise ValueError(f"the longest side must be a whole number of pixels ≥ 1, got {size!r}.")
    w, h = image.size
    if not enlarge and max(w, h) <= size:
        return image
    scale = size / max(w, h)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    return image if new == (w, h) else image.resize(new, resample)


# --------------------------------------------------------------------------------------- samples
def _listing(kind: str) -> list[Path]:
    folder = SAMPLES_DIR / kind
    if not folder.is_dir():
        raise FileNotFoundError(f"The bundled samples are missing ({folder}); reinstall fsutils.")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def sample_photos() -> list[Path]:
    """Paths of the bundled photos of people (Clothing Co-Parsing dataset), sorted by name."""
    return _listing("people")


def sample_styles() -> list[Path]:
    """Paths of the bundled style images (paintings and the pytorch/examples style images)."""
    return _listing("style")


def sample_path(name: str) -> Path:
    """A bundled sample by file name, with or without extension (``"ccp_0001"``,
    ``"starry_night_vangogh.jpg"``, ``"style/candy"``)."""
    wanted = name.strip().lower()
    everything = sample_photos() + sample_styles()
    for p in everything:
        rel = f"{p.parent.name}/{p.name}".lower()
        if wanted in {p.name.lower(), p.stem.lower(), rel, rel.rsplit(".", 1)[0]}:
            return p
    raise FileNotFoundError(f"No bundled sample called {name!r}; available: "
                            f"{', '.join(p.stem for p in everything)}.")
