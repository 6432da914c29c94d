"""Checks of a checkpoint file on disk: not empty, not a web page, the expected format (PyTorch
zip or legacy pickle, or a TensorFlow Lite flatbuffer), an intact zip directory, the published
size (or at least the architecture's tensors), and its SHA-256 — the one hashing routine of the
kit — against the published hash, its published prefix, or the hash recorded when a copy first
loaded."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from .errors import (HashMismatchError, HtmlPageError, NotACheckpointError, SizeMismatchError,
                     TruncatedDownloadError)
from .spec import Weights

__all__ = ["sha256", "describe_page", "sniff", "check_content", "check_hash", "verify_file",
           "remember", "verified_digest"]

_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"  # legacy torch.save files start with a pickle protocol opcode
_TFLITE_MAGIC = b"TFL3"  # flatbuffer file identifier at bytes 4..8 of a .tflite file

# Files verified in this process, keyed by (path, size, mtime) and what they were checked
# against (entry name, published hash and size); and the SHA-256 of files as they are, keyed by
# (path, size, mtime): hashing 176 MB once is enough.
_VERIFIED: set[tuple] = set()
_DIGESTS: dict[tuple[str, int, int], str] = {}


def _key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path), st.st_size, st.st_mtime_ns


def sha256(path: Path) -> str:
    """The SHA-256 of a file, as hex, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def describe_page(head: bytes) -> str:
    """What kind of web page starts with ``head`` (Google Drive's quota page, …)."""
    text = head.decode("utf-8", "replace").lower()
    if "too many users" in text or "quota" in text:
        return "Google Drive's 'download quota exceeded' page"
    if "virus scan" in text or "can't scan" in text or "cannot scan" in text:
        return "Google Drive's virus-scan warning page"
    if "sign in" in text or "accounts.google" in text:
        return "a Google sign-in page"
    return "a web page"


def sniff(path: Path, what: str, fmt: str = "pytorch") -> bytes:
    """The first bytes of a would-be checkpoint; raises if it is empty, a web page, or not of the
    expected format (a PyTorch zip file or legacy pickle; or a TensorFlow Lite flatbuffer)."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head:
        raise TruncatedDownloadError(f"{what} is empty (0 bytes).")
    if head.lstrip()[:1] == b"<":
        raise HtmlPageError(
            f"{what} is {describe_page(head)} ({path.stat().st_size:,} bytes of HTML), not the "
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


def check_content(w: Weights, path: Path, what: str) -> None:
    """Structural checks that need no hash. Raises the documented error; deletes nothing."""
    what = f"{what} for {w.name!r}"
    head = sniff(path, what, w.format)
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


def check_hash(w: Weights, digest: str, what: str, recorded: str | None = None, *,
               records: str = "the cache's hash records", full_only: bool = False) -> None:
    """``digest`` against the published hash, the published prefix, and the recorded hash
    (``full_only``: the published full hash only)."""
    if w.sha256 is not None and digest != w.sha256.lower():
        raise HashMismatchError(f"{what} for {w.name!r} has SHA-256 {digest}; the published hash is "
                                f"{w.sha256}. The file is corrupt or not the official one.")
    if full_only:
        return
    if w.sha256_prefix is not None and not digest.startswith(w.sha256_prefix.lower()):
        raise HashMismatchError(
            f"{what} for {w.name!r} has SHA-256 {digest}, which does not start with "
            f"{w.sha256_prefix} as published; the file is corrupt or not the official one. "
            f"Delete it and run again to download it afresh.")
    if w.sha256 is None and recorded is not None and digest != recorded:
        raise HashMismatchError(
            f"{what} for {w.name!r} has SHA-256 {digest}, but the first copy that loaded had "
            f"{recorded} (recorded in {records}). If the upstream file really changed, delete its "
            f"entry there.")


def verify_file(w: Weights, path: Path, what: str, digest: str | None = None, *,
                thorough: bool = True, recorded: str | None = None,
                records: str = "the cache's hash records") -> str | None:
    """All checks for a file on disk; returns its SHA-256 when computed (``None`` when this
    process verified the same file before). ``thorough=False`` (mirror and bundled copies, which
    are trusted as they are): the content checks and a published full hash only."""
    key = _key(path)
    if (*key, w.name, w.sha256, w.size) in _VERIFIED:
        return None
    check_content(w, path, what)
    if w.sha256 is not None or thorough:
        digest = digest or _DIGESTS.get(key) or sha256(path)
        check_hash(w, digest, what, recorded, records=records, full_only=not thorough)
        _DIGESTS[key] = digest
    _VERIFIED.add((*key, w.name, w.sha256, w.size))
    return digest


def remember(w: Weights, path: Path, digest: str) -> None:
    """Mark a file this process has just verified for ``w`` and written, with its SHA-256."""
    key = _key(path)
    _DIGESTS[key] = digest
    _VERIFIED.add((*key, w.name, w.sha256, w.size))


def verified_digest(path: Path) -> str | None:
    """The SHA-256 this process computed for ``path`` as it is now, if it did."""
    return _DIGESTS.get(_key(path))
