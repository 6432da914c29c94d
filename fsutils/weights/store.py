"""The store: where checkpoints live (mirror, cache, the package's own files) and :func:`fetch`,
which returns a checked local copy.

``fetch(name)`` looks in this order and returns the first good file:

1. the **mirror** folder ``$FSUTILS_WEIGHTS_MIRROR/<filename>`` (read-only, trusted as it is);
2. the **cache**: ``$FSUTILS_WEIGHTS_DIR`` if set, ``weights/`` of the checkout, or
   ``~/.cache/fsutils/weights`` for a non-editable install;
3. the entry's **sources**, in order: a file bundled in ``fsutils/assets`` (hash-checked, used in
   place), or a download into a private temporary folder inside the cache, renamed into place
   only after every check of :mod:`.verify` has passed.

A file in the cache that fails a check is reported and left where it is (it may be a copy you
placed by hand): nothing is ever deleted behind your back. A file with no published hash gets
the SHA-256 of its first copy that **loaded strictly into its model** recorded in
``.hashes.json`` (:func:`confirm`, called by the checkpoint reader), under a lock, so processes
fetching at the same time keep each other's records. A read-only cache that already holds the
files is only read. :func:`missing` and :func:`require` check a whole run's checkpoints at once.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import download as dl
from .errors import DownloadError, MissingWeightsError, WeightsError
from .registry import REGISTRY, get
from .spec import Bundled, Drive, Weights, ZipMember
from .verify import remember, sha256, verified_digest, verify_file

__all__ = ["fetch", "confirm", "missing", "require", "cache_dir", "mirror_dir", "cache_path",
           "print_registry", "HASHES_FILE"]

#: The cache's record of the SHA-256 of the first copy that loaded, for files with no published
#: hash.
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


@contextlib.contextmanager
def _records_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on the cache folder itself (``flock`` on its descriptor, so no lock file
    is left behind) while ``.hashes.json`` is read, changed and replaced; a plain section where
    the platform has no ``fcntl`` (Windows)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _record(w: Weights, digest: str, size: int, source: str) -> None:
    """Remember the hash of the first copy that loaded of a file with no published hash: under the
    lock, the records are read afresh, the entry added, and the file replaced atomically."""
    d = cache_dir()
    with _records_lock(d):
        records = _read_records()
        if isinstance(records.get(w.filename), dict):
            return
        records[w.filename] = {"sha256": digest, "size": size, "source": source,
                               "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        fd, tmp = tempfile.mkstemp(prefix=".hashes-", suffix=".tmp", dir=d)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(records, f, indent=1, sort_keys=True)
            os.replace(tmp, d / HASHES_FILE)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def confirm(w: Weights, path: Path) -> None:
    """Called once ``path`` has loaded strictly into ``w``'s model: a cached file with no
    published hash gets its SHA-256 recorded (the first copy that loaded), so a later change of
    the file is caught. Nothing happens for the mirror, bundled files, files elsewhere, entries
    with a published hash, or a cache this process may not write."""
    target = cache_dir() / w.filename
    if (w.sha256 is not None or Path(path) != target or not target.is_file()
            or not os.access(target.parent, os.W_OK) or _recorded_hash(w) is not None):
        return
    _record(w, verified_digest(target) or sha256(target), target.stat().st_size,
            _ORIGIN.get(str(target), "found in the cache"))


def _verify_cached(w: Weights, path: Path, what: str, digest: str | None = None) -> str | None:
    return verify_file(w, path, what, digest, recorded=_recorded_hash(w),
                       records=str(cache_dir() / HASHES_FILE))


#: Where this process downloaded each cache file from (the source named in its hash record).
_ORIGIN: dict[str, str] = {}


# -------------------------------------------------------------------------------------- fetch
def fetch(name: str, *, progress: bool = True) -> Path:
    """The local path of checkpoint ``name``: mirror, then cache, then its sources (see the
    module's documentation).

    Raises a :class:`WeightsError` subclass (its ``weights_name`` is ``name``) whose message
    names the file, what went wrong, and where to put a copy downloaded by hand.
    """
    w = get(name)
    try:
        return _fetch(w, progress)
    except WeightsError as e:
        e.weights_name = w.name
        raise


def _fetch(w: Weights, progress: bool) -> Path:
    mirror = mirror_dir()
    if mirror is not None and (mirror / w.filename).is_file():
        path = mirror / w.filename
        try:
            verify_file(w, path, f"The mirror copy {path}", thorough=False)
        except WeightsError as e:
            raise type(e)(f"{e}\nFix or remove that file, or unset FSUTILS_WEIGHTS_MIRROR.") from None
        return path

    cache = cache_dir()
    if cache.is_dir():
        dl.clean_stale(cache)
    target = cache / w.filename
    if target.is_file():
        try:
            _verify_cached(w, target, f"The cached file {target}")
            return target
        except WeightsError as e:
            raise type(e)(f"{e}\nThe file was left where it is. Replace it with a good copy, or "
                          f"delete it to have fsutils get a fresh one.\n{_manual_help(w)}"
                          ) from None

    errors: list[WeightsError] = []
    for src in w.sources:
        if not isinstance(src, Bundled):
            dl.settings()  # a bad FSUTILS_DOWNLOAD_* value is one clear error, not one per source
        try:
            return _from_source(w, src, target, mirror, progress)
        except WeightsError as e:
            errors.append(e)

    if not errors:
        raise DownloadError(f"The registry entry {w.name!r} has no sources.\n{_manual_help(w)}")
    detail = "\n".join(f"- {e}" for e in errors)
    raise type(errors[0])(f"Could not get the checkpoint {w.name!r} ({w.filename}, {w.arch}):\n"
                          f"{detail}\nNothing was left in the cache.\n{_manual_help(w)}")


def _from_source(w: Weights, src: Any, target: Path, mirror: Path | None, progress: bool) -> Path:
    """One source's checked copy of ``w``: the bundled file itself, or ``target`` written."""
    if isinstance(src, Bundled):
        if not src.file.is_file():
            raise DownloadError(f"The bundled file {src.file} is missing from this "
                                f"installation of fsutils.")
        own = dataclasses.replace(w, sha256=src.sha256, size=src.size, min_size=None,
                                  sha256_prefix=None) if src.sha256 else w
        verify_file(own, src.file, f"The bundled file {src.file}", thorough=False)
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
    remember(w, target, digest)
    _ORIGIN[str(target)] = src.manual_url
    return target


# ------------------------------------------------------------------------------- a whole run
def _local(w: Weights) -> Path | None:
    """The file ``fetch`` would use without any download, if there is one (not checked)."""
    mirror = mirror_dir()
    places = [mirror / w.filename] if mirror is not None else []
    places += [cache_dir() / w.filename] + [s.file for s in w.sources if isinstance(s, Bundled)]
    return next((p for p in places if p.is_file()), None)


def missing(names: Iterable[str]) -> list[str]:
    """The registry names among ``names`` that have no local copy (mirror, cache or bundled):
    the ones a run would have to download. No network is used and nothing is checked."""
    return [n for n in dict.fromkeys(names) if _local(get(n)) is None]


def _size_words(w: Weights) -> str:
    return f", about {w.size_text}" if w.size_text else ""


def _why(e: WeightsError) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    if len(lines) > 1 and lines[0].startswith("Could not get the checkpoint"):
        return lines[1].removeprefix("- ")
    return lines[0] if lines else type(e).__name__


def require(names: Iterable[str], *, progress: bool = True) -> dict[str, Path]:
    """Every checkpoint of ``names`` fetched (downloaded where needed), as ``{name: path}``;
    when any cannot be obtained, **one** :class:`MissingWeightsError` lists each of them: why,
    where to get it and exactly where to put it — so a run learns everything it lacks before
    any work starts."""
    paths: dict[str, Path] = {}
    failed: list[tuple[Weights, WeightsError]] = []
    for n in dict.fromkeys(names):
        try:
            paths[n] = fetch(n, progress=progress)
        except WeightsError as e:
            failed.append((get(n), e))
    if not failed:
        return paths
    lines = [f"{len(failed)} weight file{'s' if len(failed) > 1 else ''} this run needs "
             f"{'are' if len(failed) > 1 else 'is'} not here and could not be downloaded:"]
    for w, e in failed:
        lines.append(f"- {w.name} ({Path(w.filename).name}{_size_words(w)}): {_why(e)}")
        lines += [f"    get it from  {u}" for u in w.manual_urls or ["(no known source)"]]
        lines.append(f"    save it as   {cache_dir() / w.filename}")
    lines.append("(or put the files under a folder named by FSUTILS_WEIGHTS_MIRROR, at the same "
                 "relative paths; fsutils checks each file before use)")
    raise MissingWeightsError("\n".join(lines), tuple(w.name for w, _ in failed))
