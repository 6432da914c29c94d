"""What a pipeline run made (:class:`Result`) and saving it as PNG files: the stylised photo,
the hard paste, the full stylised image, the label map, the garment masks, the saliency map and
the comparison figure.

Every file is written atomically (:func:`write_atomic`): into a hidden temporary file in the same
folder, then renamed over the target, so a crash, a kill, Ctrl-C or a full disk never leaves a
truncated file and never destroys an earlier good one.

>>> files = save_result(pipe.result(), "outputs", "photo")        # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import glob
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from fsutils import blend
from fsutils import io as fio
from fsutils.blend import BlendParams

__all__ = ["Result", "save_result", "SAVE_KINDS", "MASK_RULE", "write_atomic"]


@dataclass(frozen=True)
class Result:
    """Everything one pipeline run made, all at the photo's working size.

    ``output`` is the chosen blend; ``hard`` the hard paste (the baseline to compare against).
    Images are float32 H×W×3 in 0..1, ``labels`` uint8, ``mask`` bool, ``saliency`` float32.
    """

    content: np.ndarray
    labels: np.ndarray
    saliency: np.ndarray
    mask: np.ndarray
    stylized: np.ndarray
    output: np.ndarray
    hard: np.ndarray
    mode: str
    #: the chosen garments (the mask stage's key: label indices of semantic classes, or instance
    #: class names such as ("outer", "shoe"))
    garments: tuple[int, ...] | tuple[str, ...]
    method: str
    #: the blend's mode and parameters
    params: BlendParams = BlendParams()
    #: one bool mask per chosen instance class ({"outer": …}) when ``garments`` names instance
    #: classes; for semantic classes found through both models (``Pipeline(best_source=…)``) one
    #: per class ({"upper_body": …}: what was restyled for a chosen class, the others as
    #: labelled); else empty, and the masks are the classes of ``labels``
    garment_masks: dict[str, np.ndarray] = field(default_factory=dict)

    def masks_by_garment(self) -> dict[str, np.ndarray]:
        """One bool mask per **chosen** garment, named as the saved ``<stem>_mask_<name>.png``
        files: the chosen instance classes (``outer``, ``shoe`` …) or the chosen semantic classes
        of ``labels`` (``upper_body``, ``lower_body``, ``full_body``); ``mask`` is their union."""
        if self.garment_masks:
            return dict(self.garment_masks)
        from fsutils import segment

        return {segment.CLASS_NAMES[i].replace(" ", "_"): self.labels == i
                for i in self.garments if isinstance(i, int | np.integer)}

    def image(self, which: str = "output") -> Image.Image:
        """One of the images as a PIL image (``"output"``, ``"hard"``, ``"stylized"``, ``"content"``,
        ``"saliency"`` or ``"mask"``)."""
        arr = getattr(self, which)
        return fio.to_pil(arr)  # bool mask and saliency map: grey; images: RGB


#: Age after which a temporary ``.part`` file of :func:`write_atomic` counts as left behind by a
#: killed process (a live writer finishes a PNG in well under a second).
STALE_PART_S = 600


def write_atomic(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write a file all at once or not at all: ``write(f)`` fills a hidden temporary file beside
    ``path`` (``.<name>.<random>.part``), which is flushed to disk and renamed over ``path``
    (``os.replace``: atomic on one file system). If anything fails or interrupts it (an error, a
    full disk, Ctrl-C), the temporary file is removed and an earlier ``path`` is left as it was;
    a process killed outright leaves at most the hidden ``.part`` file, never a partial ``path``
    (and the next successful write of ``path`` removes such leftovers once they are
    :data:`STALE_PART_S` seconds old).

    The file gets the usual permissions (``0o666`` less the umask), like ``open(path, "wb")``;
    the standard library's ``os.replace`` is the whole mechanism, so no package is needed for it.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and e.filename in (None, str(tmp)):
            e.filename = str(path)  # name the file the caller asked for, not the temporary one
        raise
    for old in path.parent.glob(f".{glob.escape(path.name)}.*.part"):  # left by a killed writer
        with contextlib.suppress(OSError):
            if time.time() - old.stat().st_mtime > STALE_PART_S:
                old.unlink()
    return path


#: The mask files, one rule for both vocabularies (``--help`` of the command line says it).
MASK_RULE = ("<name>_mask.png holds all the chosen garments together, and <name>_mask_<garment>.png "
             "each chosen garment alone (upper_body, lower_body, full_body, or the items: outer, "
             "shoe …); garments not chosen get no file")

#: What :func:`save_result` can write (``<stem>_<kind>.png``).
SAVE_KINDS: tuple[str, ...] = ("stylized", "hard_paste", "style_full", "labels", "mask",
                               "saliency", "comparison")


def save_result(res: Result, folder: str | Path, stem: str, *,
                kinds: Iterable[str] | None = None,
                box: tuple[int, int, int, int] | None = None,
                on_saved: Callable[[Path], object] | None = None) -> list[Path]:
    """Write a :class:`Result` as PNG files ``<folder>/<stem>_<kind>.png`` (see :data:`SAVE_KINDS`;
    ``mask`` is :data:`MASK_RULE`, see :meth:`Result.masks_by_garment`) and return the paths.
    Each file is written atomically (:func:`write_atomic`); ``on_saved(path)`` is called as soon
    as each one is in place (the command line lists it then).

    ``comparison`` is the figure of :func:`fsutils.viz.comparison_figure`: photo, stylised image,
    hard paste and saliency blend, with the boundary close-up at ``box`` (found automatically on
    the garment edge when ``None``).
    """
    kinds = tuple(SAVE_KINDS if kinds is None else kinds)
    unknown = set(kinds) - set(SAVE_KINDS)
    if unknown:
        raise ValueError(f"unknown result kinds {sorted(unknown)}; choose from {SAVE_KINDS}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(img: Image.Image | Callable[[BinaryIO], object], kind: str) -> None:
        path = folder / f"{stem}_{kind}.png"
        write_atomic(path, (lambda f: img.save(f, format="PNG")) if isinstance(img, Image.Image)
                     else img)
        written.append(path)
        if on_saved is not None:
            on_saved(path)

    if "stylized" in kinds:
        save(res.image("output"), "stylized")
    if "hard_paste" in kinds:
        save(res.image("hard"), "hard_paste")
    if "style_full" in kinds:
        save(res.image("stylized"), "style_full")
    from fsutils import segment  # torch: loaded on the first save, not with the module

    if "labels" in kinds:
        save(Image.fromarray(segment.colorize(res.labels)), "labels")
    if "mask" in kinds:
        save(res.image("mask"), "mask")
        for name, mask in res.masks_by_garment().items():
            save(fio.to_pil(mask), "mask_" + name)
    if "saliency" in kinds:
        save(res.image("saliency"), "saliency")
    if "comparison" in kinds:
        from fsutils import viz  # matplotlib Figures without pyplot: no display needed
        title = blend.blend_mode(res.mode).title
        fig = viz.comparison_figure(res.content, res.stylized, res.hard, res.output, res.mask,
                                    saliency=res.saliency, box=box, blend_title=title)
        save(lambda f: fig.savefig(f, format="png", dpi=80), "comparison")
    return written
