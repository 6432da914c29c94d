"""The manifest of an output folder: one JSON line per photo done (``<out>/manifest.jsonl``).

A row holds the photo's name (its files' prefix), its input path and SHA-256, the settings that
decide its pixels (method, style, garments, blend mode and parameters, sizes, the models and their
SHA-256), the files written with their SHA-256, the time, and for a failed photo its ``error``.

JSON Lines because a row is appended with one ``write`` of one line to a file opened for
appending, then flushed to disk: a kill -9 at any moment leaves every earlier row whole (at most
the photos in flight are lost), nothing is ever rewritten, and the standard library reads it
(``json``; ``pandas.read_json(path, lines=True)`` gives a table). A line cut by a power cut is
skipped on reading. The latest row of a name counts.

>>> m = Manifest("outputs")                                   # doctest: +SKIP
>>> todo, done = m.plan(photos, settings.describe())          # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .names import Photo

__all__ = ["Manifest", "MANIFEST_NAME", "file_sha256"]

#: The manifest's file name inside the output folder.
MANIFEST_NAME = "manifest.jsonl"


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of a file as hex, or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


class Manifest:
    """The manifest of ``folder``: read its rows, append rows, and decide what a rerun skips."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST_NAME

    def rows(self) -> list[dict]:
        """Every whole row, oldest first (a line that is not a JSON object is skipped)."""
        try:
            # a file name that is not UTF-8 is kept as its bytes (Python's surrogate escapes)
            text = self.path.read_text(encoding="utf-8", errors="surrogateescape")
        except FileNotFoundError:
            return []
        rows = []
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and "name" in row:
                rows.append(row)
        return rows

    def latest(self) -> dict[str, dict]:
        """The latest row of each name."""
        return {row["name"]: row for row in self.rows()}

    def append(self, rows: Iterable[dict]) -> None:
        """Append rows, each with one ``write`` of one line, then flush them to disk. A line left
        without its end by a power cut is ended first, so it never swallows the next row."""
        lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows]
        if not lines:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                os.write(fd, b"\n")
            for line in lines:
                os.write(fd, line.encode("utf-8", "surrogateescape"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def matches(self, row: dict | None, photo: Photo, settings: dict) -> bool:
        """Whether ``row`` says ``photo`` is done with ``settings``: no error, the same settings,
        the same input (by SHA-256) and every file present with its SHA-256."""
        if not row or row.get("error") or row.get("settings") != settings or not row.get("files"):
            return False
        if file_sha256(photo.path) != row.get("input_sha256"):
            return False
        return all(file_sha256(self.folder / name) == digest
                   for name, digest in row["files"].items())

    def plan(self, photos: Sequence[Photo], settings: dict, *, overwrite: bool = False
             ) -> tuple[list[Photo], list[Photo]]:
        """The photos still to do and those a rerun skips (all are to do with ``overwrite``)."""
        if overwrite:
            return list(photos), []
        latest = self.latest()
        todo, skipped = [], []
        for photo in photos:
            (skipped if self.matches(latest.get(photo.name), photo, settings) else todo).append(photo)
        return todo, skipped
