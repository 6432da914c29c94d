"""The store: where checkpoints live (mirror, cache) and :func:`fetch`, which returns a checked
local copy.

``fetch(name)`` looks in this order and returns the first good file:

1. the **mirror** folder ``$FSUTILS_WEIGHTS_MIRROR/<filename>`` (read-only, trusted as it is);
2. the **cache**: ``$FSUTILS_WEIGHTS_DIR`` if set, ``weights/`` of the checkout, or
   ``~/.cache/fsutils/weights`` for a non-editable install;
3. the entry's **sources**, in order (downloaded into a private temporary folder inside the
   cache and renamed into place only after every check of :mod:`.verify` has passed; a file
   with no published hash gets the SHA-256 of its first good copy recorded in ``.hashes.json``).

Whatever fails is deleted, so nothing malformed stays in the cache.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from . import download as dl
from .errors import DownloadError, WeightsError
from .registry import REGISTRY, get
from .spec import Bundled, Drive, Weights, ZipMember
from .verify import remember, verify_file

__all__ = ["fetch", "cache_dir", "mirror_dir", "cache_path", "print_registry", "HASHES_FILE"]

#: The cache's record of the SHA-256 of each first good copy of a file with no published hash.
HASHES_FILE = ".hashes.json"


# ---------------------------------------------------------------------------------- locations
def _checkout_root() -> Path | None:
    root = Path(__file__).resolve().parents[2]
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


def print_registry(file=None) -> None:
    """List every checkpoint with its architecture, licence and where it is expected."""
    out = file or sys.stdout
    for w in REGISTRY.values():
        print(f"{w.name}: {w.arch} [{w.license}]", file=out)
        print(f"    file  {cache_path(w.name)}", file=out)
        for url in w.manual_urls:
            print(f"    from  {url}", file=out)


def _manual_help(w: Weights) -> str:
    links = "\n".join(f"  - {u}" for u in w.manual_urls) or "  (no known source)"
    return (f"To install it by hand, download {Path(w.filename).name} from\n{links}\n"
            f"and save it exactly as\n  {cache_dir() / w.filename}\n"
            f"(or put it under a folder named by FSUTILS_WEIGHTS_MIRROR, as <mirror>/{w.filename}).")


# ------------------------------------------------------------------------------- hash records
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


def _verify_cached(w: Weights, path: Path, what: str, digest: str | None = None) -> str | None:
    return verify_file(w, path, what, digest, recorded=_recorded_hash(w),
                       records=str(cache_dir() / HASHES_FILE))


# -------------------------------------------------------------------------------------- fetch
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
            verify_file(w, path, f"The mirror copy {path}", thorough=False)
        except WeightsError as e:
            raise type(e)(f"{e}\nFix or remove that file, or unset FSUTILS_WEIGHTS_MIRROR.") from None
        return path

    target = cache_dir() / w.filename
    removed = ""
    if target.is_file():
        try:
            digest = _verify_cached(w, target, f"The cached file {target}")
            if digest:
                _record(w, digest, target.stat().st_size, "found in the cache")
            return target
        except WeightsError as e:
            target.unlink()
            removed = f"\n(A bad cached copy was deleted: {e})"

    errors: list[WeightsError] = []
    for src in w.sources:
        try:
            return _from_source(w, src, target, mirror, progress)
        except WeightsError as e:
            errors.append(e)

    if not errors:
        raise DownloadError(f"The registry entry {w.name!r} has no sources.{removed}\n"
                            f"{_manual_help(w)}")
    detail = "\n".join(f"- {e}" for e in errors)
    raise type(errors[0])(f"Could not get the checkpoint {w.name!r} ({w.filename}, {w.arch}):\n"
                          f"{detail}\nNothing was left in the cache.{removed}\n{_manual_help(w)}")


def _from_source(w: Weights, src: Any, target: Path, mirror: Path | None, progress: bool) -> Path:
    """One source's checked copy of ``w``: the bundled file itself, or ``target`` written."""
    if isinstance(src, Bundled):
        if not src.file.is_file():
            raise DownloadError(f"The bundled file {src.file} is missing from this "
                                f"installation of fsutils.")
        verify_file(w, src.file, f"The bundled file {src.file}", thorough=False)
        return src.file
    with dl.scratch(cache_dir()) as tmp:
        part = tmp / Path(w.filename).name
        if isinstance(src, ZipMember):
            digest = dl.extract(src, dl.archive(w, src, cache=cache_dir(), mirror=mirror,
                                                progress=progress), part)
        else:
            digest = dl.download(src.url, part, label=w.filename, progress=progress,
                                 drive=isinstance(src, Drive))
        _verify_cached(w, part, f"The download from {src.manual_url}", digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
    _record(w, digest, target.stat().st_size, src.manual_url)
    remember(target)
    return target
