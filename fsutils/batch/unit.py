"""The unit of work of a batch, the same on every engine: :class:`RestyleBatch` loads the
pipeline once and maps a batch of photos (paths or bytes, plus their names) to written results
and their manifest rows (:mod:`fsutils.batch.manifest`).

It is a callable class of the shape Ray Data's ``map_batches`` takes (one instance per worker,
a batch of columns in, a batch of columns out), and the local engine calls it one photo at a time,
so a result never depends on the engine.

>>> unit = RestyleBatch(settings)                                    # doctest: +SKIP
>>> unit.rows({"id": ["a"], "path": ["photos/a.jpg"]})[0]["files"]    # doctest: +SKIP
{'a_stylized.png': '9f2c…', …}
"""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fsutils.limits import MIN_SIDE, PhotoSizeError, check_photo_size

__all__ = ["BatchSettings", "RestyleBatch", "MIN_SIDE", "PhotoRefused", "why", "STOPS_BATCH"]

#: A photo the models cannot work on (see :data:`fsutils.limits.MIN_SIDE`).
PhotoRefused = PhotoSizeError

#: File-system errors that end a batch rather than one photo: a full disk or quota.
STOPS_BATCH = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


@dataclass(frozen=True)
class BatchSettings:
    """Everything a worker needs to restyle photos as the command line asked (picklable, so an
    engine can send it to its workers): ``style_args`` are ``Pipeline.run``'s ``method``,
    ``style`` and ``params``; ``models`` the checkpoints the run loads, name → SHA-256."""

    out: Path
    style_args: dict
    garments: tuple
    blend: Any  # fsutils.blend.BlendParams
    photo_size: int
    style_size: int | None = None
    masked_style: bool = False
    save: tuple[str, ...] | None = None
    segment_weights: str | None = None
    saliency_weights: str = "u2netp"
    device: str | None = None
    models: tuple[tuple[str, str], ...] = ()
    quiet: bool = True

    def describe(self) -> dict:
        """The settings as the manifest records them (as JSON reads them back): what decides the
        files' pixels (the device and the output folder do not, within rounding)."""
        from fsutils.results import SAVE_KINDS

        style, params = self.style_args["style"], self.style_args.get("params")
        if isinstance(style, (str, Path)) and Path(style).is_file():
            style = {"file": Path(style).name,
                     "sha256": hashlib.sha256(Path(style).read_bytes()).hexdigest()}
        return json.loads(json.dumps({"method": self.style_args["method"], "style": style,
                "style_params": dataclasses.asdict(params) if params is not None else {},
                "masked_style": self.masked_style, "garments": list(self.garments),
                "blend": {"mode": self.blend.mode, **dict(self.blend.used)},
                "photo_size": self.photo_size, "style_size": self.style_size,
                "save": list(self.save or SAVE_KINDS), "models": dict(self.models)}))

    def pipeline(self):
        """The pipeline these settings run (models load on first use)."""
        from fsutils.pipeline import Pipeline

        return Pipeline(photo_size=self.photo_size, style_size=self.style_size,
                        device=self.device, segment_weights=self.segment_weights,
                        saliency_weights=self.saliency_weights)


def why(err: BaseException) -> str:
    """One line saying why a photo failed: the kit's own messages as they are, a file-system
    error as its reason and file, anything else with its type."""
    from fsutils import io as fio
    from fsutils.sources import GarmentNotFound
    from fsutils.user_names import shown

    if isinstance(err, (fio.ImageLoadError, PhotoRefused, GarmentNotFound)):
        text = str(err)
    elif isinstance(err, OSError) and err.strerror:
        text = f"{err.strerror}" + (f": {shown(err.filename)}" if err.filename else "")
    else:
        text = f"{type(err).__name__}: {err}"
    return text.strip().splitlines()[0] if text.strip() else type(err).__name__


def coverage_warning(label: str, res, names: tuple[str, ...], pipe) -> str | None:
    """A warning when the chosen garments cover nothing, naming what the photo holds instead
    (the semantic classes' shares, or the items the garment detector found)."""
    if res.mask.any():
        return None
    import numpy as np

    from fsutils.garments import garment_names, is_instance_choice

    chosen = ", ".join(garment_names(res.garments, names))
    if is_instance_choice(res.garments):
        from fsutils.instances.viz import item_label, items

        groups = items(pipe.instances())
        instead = ", ".join(item_label(c, g) for c, g in groups.items()) or "no garment at all"
        hint = f"; try --garments {','.join(groups)}" if groups else ""
    else:
        found = [(names[i], float(np.mean(res.labels == i))) for i in range(1, len(names))]
        found = [(n, share) for n, share in found if share > 0]
        instead = (", ".join(f"{n} {100 * share:.1f}%" for n, share in found) if found
                   else "no garment at all")
        hint = (f"; try --garments {','.join(n.split()[0] for n, _ in found)}" if found else "")
    from fsutils.user_names import shown

    return (f"warning: {shown(label)}: the chosen garments ({chosen}) cover 0% of the photo, so its "
            f"result is the unchanged photo; found {instead}{hint}")


class RestyleBatch:
    """Restyle a batch of photos and write their files into ``settings.out``.

    Built once per worker (the pipeline's models load here); then called with a batch of columns:
    ``id`` (the names the files get, see :func:`fsutils.batch.name_photos`) and ``path`` (where
    each photo is read) or ``bytes`` (its content; ``path`` then only labels it). Returns
    ``{"row": [json, …]}``, one manifest row per photo, a failed photo's row with its ``error``.
    A full disk and weights that cannot be loaded end the batch (they raise); ``on_saved(path)``
    is called as each file is in place."""

    def __init__(self, settings: BatchSettings, *,
                 on_saved: Callable[[Path], object] | None = None) -> None:
        import contextlib
        import sys

        self.settings, self.on_saved = settings, on_saved
        self.describe = settings.describe()
        self.pipe = settings.pipeline()
        with contextlib.redirect_stdout(sys.stderr):
            self.class_names = self.pipe.class_names  # loads the cloth model now, once

    def __call__(self, batch: dict[str, Sequence]) -> dict[str, Any]:
        import numpy as np

        rows = self.rows(batch)
        return {"row": np.array([json.dumps(r, ensure_ascii=False) for r in rows], dtype=object)}

    def rows(self, batch: dict[str, Sequence]) -> list[dict]:
        """The manifest rows of a batch, as dictionaries (the local engine's call)."""
        ids = list(batch["id"])
        paths = list(batch.get("path", [""] * len(ids)))
        data = batch.get("bytes")
        data = list(data) if data is not None else [None] * len(ids)
        return [self.one(str(i), str(p), d) for i, p, d in zip(ids, paths, data)]

    def one(self, name: str, path: str, data: bytes | None = None) -> dict:
        """Restyle one photo; its manifest row."""
        import contextlib
        import sys

        from fsutils import io as fio
        from fsutils.results import save_result
        from fsutils.weights import WeightsError

        s, t0 = self.settings, time.perf_counter()
        row: dict[str, Any] = {"name": name, "input": path, "input_sha256": None,
                               "settings": self.describe, "files": {}, "coverage": None,
                               "warning": None, "error": None}
        written: list[Path] = []

        def saved(p: Path) -> None:
            written.append(p)
            if self.on_saved is not None:
                self.on_saved(p)

        try:
            raw = bytes(data) if data is not None else Path(path).read_bytes()
            row["input_sha256"] = hashlib.sha256(raw).hexdigest()
            given = fio.load_image(raw if data is not None else Path(path))  # errors name it
            self.pipe.set_image(given, name=name)
            check_photo_size(given.size, self.pipe.photo.size, self.pipe.photo_size)
            with contextlib.redirect_stdout(sys.stderr):  # what the models say goes to stderr
                res = self.pipe.run(blend=s.blend, garments=s.garments,
                                    masked_style=s.masked_style, progress=not s.quiet,
                                    **s.style_args)
            save_result(res, s.out, name, kinds=s.save, on_saved=saved)
            row["files"] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in written}
            row["coverage"] = round(float(res.mask.mean()), 6)
            row["warning"] = coverage_warning(Path(path).name or name, res, self.class_names,
                                              self.pipe)
        except WeightsError:
            raise
        except Exception as e:  # noqa: BLE001 — one photo's failure must not end the batch
            if isinstance(e, OSError) and e.errno in STOPS_BATCH:
                raise
            row["error"] = why(e)
            row["files"] = {}
        row["time"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        row["seconds"] = round(time.perf_counter() - t0, 3)
        return row
