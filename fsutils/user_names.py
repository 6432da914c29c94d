"""Names that come from users — file names, uploads, paths in settings — made safe to show and to
write files under.

- :func:`shown` — a name as messages and listings print it: as it is when every character is
  printable, else as a quoted Python literal (``'a\\nb.png'``, ``'\\x1b[31mred.jpg'``), so a
  newline cannot split a listing's line in two, a terminal escape sequence is never sent to the
  terminal, and a name that is not valid UTF-8 cannot stop the printing.
- :func:`file_stem` — an uploaded file's name as the stem of the files written for it: the last
  part of the name without its extension, control characters replaced, no leading dot (so no
  hidden ``._stylized.png``), at most :data:`MAX_STEM` characters; a default when nothing is left.
"""
from __future__ import annotations

import os
import re

__all__ = ["shown", "file_stem", "MAX_STEM"]

#: The longest stem :func:`file_stem` gives: a result's name adds up to 15 characters
#: (``_hard_paste.png``), and file systems take 255 bytes at most.
MAX_STEM = 120


def shown(name: object) -> str:
    """``name`` (a string or a path) as a message prints it: unchanged when every character is
    printable (spaces included), else its quoted Python literal, in which newlines, tabs,
    escape characters, invisible format characters (such as right-to-left overrides) and bytes
    that are not UTF-8 appear as backslash escapes."""
    text = os.fspath(name) if isinstance(name, os.PathLike) else name
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    text = str(text)
    return text if text.isprintable() else repr(text)


_UNSAFE = re.compile(r"[\\/]")


def file_stem(name: str | None, default: str) -> str:
    """The stem of the files written for an upload called ``name``: its last path part (after
    the last ``/`` or ``\\``) without the extension, every character that is not printable
    replaced by ``_``, surrounding spaces and leading dots removed, cut to :data:`MAX_STEM`
    characters; ``default`` when nothing is left (``""``, ``"..jpg"``, ``".png"``)."""
    last = _UNSAFE.split(str(name or ""))[-1]
    stem, dot, _ = last.rpartition(".")
    if not dot:
        stem = last
    stem = "".join(c if c.isprintable() else "_" for c in stem).strip().lstrip(".").strip()
    return stem[:MAX_STEM].rstrip() or default
