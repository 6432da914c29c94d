"""Output names of a batch that cannot collide, decided before any model loads.

The rule (the command line's ``--help`` and the README say it too):

1. A photo's files are named after its stem: ``photos/a.jpg`` → ``a_stylized.png`` …
2. A file named twice (the same file after resolving links and relative paths) is done once.
3. Photos whose names would still be the same — compared ignoring case, as on macOS and Windows —
   are named after their file name with its extension: ``a.png`` and ``a.jpg`` → ``a.png_…`` and
   ``a.jpg_…``; where that is shared too (``dir1/a.png`` and ``dir2/a.png``), after as many of
   their folders as tell them apart, joined by ``_``: ``dir1_a.png_…`` and ``dir2_a.png_…``.
4. Anything still shared (paths that differ in case alone) gets ``-2``, ``-3`` … in
   the order the photos were given.
5. A name too long for a file name once ``_<kind>.png`` is added (file systems take 255 bytes)
   keeps its first :data:`MAX_NAME_BYTES` bytes and ends with ``~`` and eight characters of a
   hash of the photo's path, so long names stay apart.

The files of one photo are ``<name>_<kind>.png`` with the kinds of
:data:`fsutils.results.SAVE_KINDS` and ``mask_<garment>``; no kind ends with ``_`` and another
kind, so two different names never write the same file.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Photo", "name_photos", "MAX_NAME_BYTES"]

#: The longest name a photo's files get: 255 bytes (a file name's limit on common file systems)
#: less room for the longest ``_<kind>.png`` (``_mask_<garment>.png``) and the hash of rule 5.
MAX_NAME_BYTES = 200


@dataclass(frozen=True)
class Photo:
    """One photo of a batch: where it is read from and the name its files get."""

    path: Path
    name: str


def _identity(path: Path) -> tuple:
    """What makes two paths the same file: its device and inode (links, ``./`` and hard links
    included), else its resolved path."""
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", str(Path(path).resolve()))


def _candidate(path: Path, level: int) -> str:
    """The name at ``level``: 0 the stem, 1 the file name, n > 1 with the n − 1 folders above."""
    if level == 0:
        return path.stem
    folders = [p for p in Path(os.path.abspath(path)).parent.parts if p not in ("/", "")]
    up = folders[len(folders) - min(level - 1, len(folders)):]
    return "_".join([*up, path.name])


def _fit(name: str, path: Path) -> str:
    """``name``, or when it is longer than :data:`MAX_NAME_BYTES` (UTF-8, a non-UTF-8 name's
    bytes as given) its start and ``~`` and a hash of ``path`` (rule 5)."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= MAX_NAME_BYTES:
        return name
    import hashlib

    digest = hashlib.sha256(os.fsencode(os.path.abspath(path))).hexdigest()[:8]
    head = raw[:MAX_NAME_BYTES - 9].decode("utf-8", "ignore")  # never cut a character in two
    return f"{head}~{digest}"


def name_photos(paths: Sequence[Path]) -> tuple[list[Photo], list[str]]:
    """The photos to do, each once and with a name no other photo of the batch shares (the
    rule above), and the notes to show: one line per file given more than once and one per
    group of photos that had to be told apart."""
    seen: dict[tuple, Path] = {}
    unique: list[Path] = []
    notes: list[str] = []
    repeats: dict[tuple, list[Path]] = {}
    for p in paths:
        key = _identity(p)
        if key in seen:
            repeats.setdefault(key, []).append(p)
            continue
        seen[key] = p
        unique.append(p)
    for key, again in repeats.items():
        also = ", ".join(dict.fromkeys(str(p) for p in again if str(p) != str(seen[key])))
        notes.append(f"note: {seen[key]} is given {len(again) + 1} times"
                     + (f" (also as {also})" if also else "") + ": it is done once")

    levels = [0] * len(unique)
    most = [len(Path(os.path.abspath(p)).parts) for p in unique]
    while True:
        names = [_candidate(p, lv) for p, lv in zip(unique, levels)]
        groups: dict[str, list[int]] = {}
        for i, n in enumerate(names):
            groups.setdefault(n.casefold(), []).append(i)
        # a group rises one level together, unless its paths differ in case alone (they never
        # part: rule 4)
        raise_ = [i for g in groups.values()
                  if len({os.path.abspath(unique[i]).casefold() for i in g}) > 1
                  for i in g if levels[i] < most[i]]
        if not raise_:
            break
        for i in raise_:
            levels[i] += 1
    taken: set[str] = set()
    final: list[str] = []
    for n in names:
        k, name = 1, n
        while name.casefold() in taken:
            k += 1
            name = f"{n}-{k}"
        taken.add(name.casefold())
        final.append(name)
    final = [_fit(n, p) for n, p in zip(final, unique)]
    by_stem: dict[str, list[int]] = {}
    for i, p in enumerate(unique):
        by_stem.setdefault(p.stem.casefold(), []).append(i)
    for members in by_stem.values():
        if any(final[i] != unique[i].stem for i in members):
            notes.append(f"note: {' and '.join(str(unique[i]) for i in members)} share the name "
                         f"{unique[members[0]].stem!r}: their files are named "
                         + ", ".join(f"{final[i]}_…" for i in members))
    return [Photo(p, n) for p, n in zip(unique, final)], notes
