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
import shutil
import tempfile
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path

from .errors import DownloadError, HtmlPageError, NoNetworkError, TruncatedDownloadError
from .spec import Weights, ZipMember
from .verify import describe_page

__all__ = ["download", "scratch", "archive", "extract", "ARCHIVES_DIR"]

#: Sub-folder of the cache that keeps downloaded zip archives.
ARCHIVES_DIR = ".archives"


def _offline() -> bool:
    return os.environ.get("FSUTILS_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _is_loopback(url: str) -> bool:
    return urllib.parse.urlparse(url).hostname in {"127.0.0.1", "localhost", "::1"}


def download(url: str, dest: Path, *, label: str, progress: bool, drive: bool) -> str:
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
def scratch(folder: Path) -> Iterator[Path]:
    """A private temporary folder inside ``folder`` (the cache: same file system, so renames are
    atomic); removed with everything in it, whatever happens."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=folder))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def archive(w: Weights, src: ZipMember, *, cache: Path, mirror: Path | None, progress: bool) -> Path:
    """The zip archive of ``src`` from the mirror or the cache, downloading it if needed."""
    if mirror is not None and (mirror / src.archive_name).is_file():
        return mirror / src.archive_name
    cached = cache / ARCHIVES_DIR / src.archive_name
    if cached.is_file():
        if zipfile.is_zipfile(cached):
            return cached
        cached.unlink()
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
