"""Downloaders: a URL (or Google Drive id) to a file with gdown, and a member of a zip archive.

gdown handles Google Drive's confirmation pages, retries that resume with HTTP ranges, and bodies
shorter than their ``Content-Length``; every failure becomes a :class:`DownloadError` kind that
says what happened. ``FSUTILS_OFFLINE=1`` refuses the network (loopback URLs stay allowed for
tests); ``FSUTILS_DOWNLOAD_TIMEOUT`` (seconds without data, default 60) and
``FSUTILS_DOWNLOAD_RETRIES`` (extra attempts that resume, default 2) tune the transfer.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import tempfile
import time
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path

from .errors import (DownloadError, HtmlPageError, NoNetworkError, StalledDownloadError,
                     TruncatedDownloadError)
from .spec import Weights, ZipMember
from .verify import describe_page

__all__ = ["download", "settings", "scratch", "clean_stale", "archive", "extract", "ARCHIVES_DIR",
           "SCRATCH_PREFIX"]

#: Sub-folder of the cache that keeps downloaded zip archives.
ARCHIVES_DIR = ".archives"


def _offline() -> bool:
    return os.environ.get("FSUTILS_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _is_loopback(url: str) -> bool:
    return urllib.parse.urlparse(url).hostname in {"127.0.0.1", "localhost", "::1"}


def settings() -> tuple[float, int]:
    """``(timeout, retries)`` from ``$FSUTILS_DOWNLOAD_TIMEOUT`` (seconds without data, a number
    > 0, default 60) and ``$FSUTILS_DOWNLOAD_RETRIES`` (a whole number ≥ 0, default 2); a value
    outside that raises :class:`fsutils.settings.SettingError` naming the variable."""
    from fsutils.settings import number_setting

    timeout = float(number_setting("FSUTILS_DOWNLOAD_TIMEOUT", 60, low=0, low_ok=False,
                                   what="the seconds a download may go without data"))
    retries = int(number_setting("FSUTILS_DOWNLOAD_RETRIES", 2, whole=True,
                                 what="the extra attempts that resume an interrupted download"))
    return timeout, retries


def _chain(e: BaseException) -> Iterator[BaseException]:
    """``e`` and every exception behind it: causes, contexts, and the exceptions that requests
    and gdown carry in their arguments."""
    seen: set[int] = set()
    todo = [e]
    while todo:
        x = todo.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        yield x
        todo += [a for a in (x.__cause__, x.__context__, *x.args) if isinstance(a, BaseException)]
        reason = getattr(x, "reason", None)  # urllib3's MaxRetryError keeps its cause here
        if isinstance(reason, BaseException):
            todo.append(reason)


def _failure_kind(e: BaseException) -> str:
    """``"stall"`` (connected, then no data for the timeout), ``"cut"`` (the transfer ended
    early), or ``"unreachable"`` (no connection at all)."""
    import requests
    import urllib3

    chain = list(_chain(e))
    if any(isinstance(x, (requests.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError))
           for x in chain):
        return "unreachable"
    if any(isinstance(x, (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError))
           for x in chain):
        return "stall"
    text = " ".join(str(x).lower() for x in chain)
    if any(isinstance(x, (requests.exceptions.ChunkedEncodingError,
                          urllib3.exceptions.ProtocolError)) for x in chain) or any(
            w in text for w in ("incomplete", "byte range", "connection broken")):
        return "cut"
    return "unreachable"


def _first_line(e: BaseException) -> str:
    """gdown's first line of ``e`` without its advice about a kept partial file (this kit
    always deletes it)."""
    line = (str(e).strip().splitlines() or [""])[0]
    for hint in ("; the partial file is preserved.", "; the partial file is preserved"):
        line = line.replace(hint, ".")
    return line


def download(url: str, dest: Path, *, label: str, progress: bool, drive: bool) -> str:
    """Download ``url`` to ``dest`` with gdown; returns the SHA-256. Raises DownloadError kinds."""
    import gdown
    import requests
    from gdown.exceptions import DownloadError as GdownDownloadError
    from gdown.exceptions import FileURLRetrievalError
    from tqdm.auto import tqdm

    if _offline() and not _is_loopback(url):
        raise NoNetworkError(f"Not downloading {label} from {url}: FSUTILS_OFFLINE is set.")
    timeout, retries = settings()
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
        kind = _failure_kind(e)
        after = f"after {received:,} bytes" if received else "before the file was complete"
        attempts = f"{retries + 1} attempt{'s' if retries else ''}"
        if kind == "stall":
            raise StalledDownloadError(
                f"Downloading {label} from {url} stalled: the server stopped sending data for "
                f"{timeout:g} s ({after}, {attempts}; FSUTILS_DOWNLOAD_TIMEOUT sets the wait). "
                f"The server was reached, so the network works: retry later. The partial file "
                f"was deleted.") from None
        if kind == "cut":
            raise TruncatedDownloadError(
                f"Downloading {label} from {url} was cut off {after} ({attempts}; "
                f"{_first_line(e)}). The partial file was deleted; retry later.") from None
        raise NoNetworkError(f"Could not download {label} from {url}: {type(e).__name__}: "
                             f"{_first_line(e)} No network, or the server is unreachable."
                             ) from None
    finally:
        if bar is not None:
            bar.close()
    if not dest.is_file():
        raise DownloadError(f"Downloading {label} from {url} produced no file.")
    return hasher.hexdigest()


#: Prefix of the private download folders inside the cache:
#: ``.fetch-<process id>@<host>-<random>``.
SCRATCH_PREFIX = ".fetch-"
#: A download folder of no known process is stale after this many seconds.
_STALE_AFTER = 3600.0


@contextlib.contextmanager
def scratch(folder: Path) -> Iterator[Path]:
    """A private temporary folder inside ``folder`` (the cache: same file system, so renames are
    atomic), named after this process (so :func:`clean_stale` can tell a stale one); removed with
    everything in it, whatever happens."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{_owner()}-", dir=folder))
    except OSError as e:
        raise DownloadError(f"Cannot download into the weights cache {folder}: "
                            f"{e.strerror or e}. Make it writable, or set FSUTILS_WEIGHTS_DIR "
                            f"to a writable folder.") from None
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _owner() -> str:
    """``<process id>@<host>``: who a download folder belongs to (a cache may be shared by
    machines, whose process ids mean nothing here)."""
    return f"{os.getpid()}@{re.sub(r'[^A-Za-z0-9.]', '_', socket.gethostname())}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def clean_stale(folder: Path) -> list[Path]:
    """Remove the download folders in ``folder`` whose process has ended (a download killed by a
    signal or a power cut leaves its ``.part`` behind); returns those removed. A folder of another
    machine, or without an owner, counts as stale after an hour unchanged. Does nothing where
    ``folder`` is not writable."""
    if not os.access(folder, os.W_OK):
        return []
    removed = []
    for d in folder.glob(SCRATCH_PREFIX + "*"):
        pid, _, host = d.name[len(SCRATCH_PREFIX):].split("-", 1)[0].partition("@")
        here = pid.isdigit() and host == _owner().partition("@")[2]
        try:
            stale = not _alive(int(pid)) if here else (
                time.time() - max(p.stat().st_mtime for p in (d, *d.iterdir())) > _STALE_AFTER)
        except OSError:
            continue
        if stale and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def archive(w: Weights, src: ZipMember, *, cache: Path, mirror: Path | None, progress: bool) -> Path:
    """The zip archive of ``src`` from the mirror or the cache, downloading it if needed."""
    if mirror is not None and (mirror / src.archive_name).is_file():
        return mirror / src.archive_name
    cached = cache / ARCHIVES_DIR / src.archive_name
    if cached.is_file():
        if zipfile.is_zipfile(cached):
            return cached
        raise TruncatedDownloadError(
            f"The cached archive {cached} (for {w.name!r}) is not a complete zip file; it was left "
            f"where it is. Replace it with a good copy of {src.url}, or delete it to have fsutils "
            f"download it again.")
    with scratch(cache) as tmp:
        part = tmp / src.archive_name
        download(src.url, part, label=src.archive_name, progress=progress, drive=False)
        if not zipfile.is_zipfile(part):
            with open(part, "rb") as f:
                head = f.read(4096)
            if head.lstrip()[:1] == b"<":
                raise HtmlPageError(f"{src.url} gave {describe_page(head)}, not the zip archive "
                                    f"holding {w.filename}.")
            raise TruncatedDownloadError(f"The archive {src.url} (for {w.name!r}) is truncated or "
                                         f"not a zip file.")
        cached.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, cached)
    return cached


def extract(src: ZipMember, archive: Path, dest: Path) -> str:
    """Copy ``src.member`` of ``archive`` to ``dest``; returns its SHA-256."""
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
