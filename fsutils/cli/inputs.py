"""What ``python -m fsutils`` reads and where it writes, checked before any model loads: the
photos (files, folders scanned, bundled samples by name), the points of ``--at`` inside each
photo, and an ``--out`` folder that can be written."""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from fsutils.user_names import shown

__all__ = ["_scan", "_collect", "_check_points", "_writable"]


def _scan(folder: Path) -> tuple[list[Path], list[str]]:
    """The images in ``folder`` (by name ending, see ``fsutils.io.IMAGE_SUFFIXES``; sub-folders
    are not searched), sorted, and what was skipped: one phrase per reason, naming the entries."""
    from fsutils import io as fio

    found: list[Path] = []
    skipped: dict[str, list[str]] = {}
    for q in sorted(folder.iterdir()):
        if q.name.startswith("."):
            why = "hidden"
        elif q.is_dir():
            why = "sub-folder(s), not searched (name them to include them)"
        elif q.suffix.lower() in fio.IMAGE_SUFFIXES:
            found.append(q)
            continue
        else:
            why = f"file(s) not named as images ({' '.join(sorted(fio.IMAGE_SUFFIXES))})"
        skipped.setdefault(why, []).append(shown(q.name + ("/" if q.is_dir() else "")))
    return found, [f"{len(names)} {why}: " + ", ".join(names[:8])
                   + (f" and {len(names) - 8} more" if len(names) > 8 else "")
                   for why, names in skipped.items()]


def _collect(paths: list[Path], parser: argparse.ArgumentParser) -> list[Path]:
    """The photos to process: files, the images in folders (what a folder scan skips is listed
    on stderr, one line per folder) and bundled samples by name; a usage error for anything
    else."""
    from fsutils import io as fio

    if not paths:
        return [fio.sample_photos()[0]]
    photos: list[Path] = []
    for p in paths:
        if p.is_dir():
            found, skipped = _scan(p)
            if not found:
                parser.error(f"the folder {shown(p)} holds no images "
                             f"({' '.join(sorted(fio.IMAGE_SUFFIXES))})"
                             + (f"; it has {'; '.join(skipped)}" if skipped else ""))
            if skipped:
                print(f"note: {shown(p)}: skipped {'; '.join(skipped)}", file=sys.stderr)
            photos += found
        elif p.is_file():
            photos.append(p)
        else:
            try:  # a bundled sample by name, e.g. ccp_0006
                photos.append(fio.sample_path(str(p)))
            except FileNotFoundError:
                parser.error(f"{shown(p)} is neither a file, a folder nor a bundled sample "
                             "(see --list-samples)")
    return photos


def _check_points(args: argparse.Namespace, photos: list[Path],
                  parser: argparse.ArgumentParser) -> None:
    """``--at``: the points become the garments, each checked inside every photo (read from its
    header) before any work; a point outside a photo, or ``--at`` with ``--garments``, is a usage
    error (exit 2)."""
    from fsutils import io as fio
    from fsutils.garments import DEFAULT_GARMENTS, check_points, resolve_garments

    if not args.at:
        return
    if args.garments != DEFAULT_GARMENTS:
        parser.error("--at and --garments both choose the garments; give one of them")
    args.garments = resolve_garments(args.at)
    for photo in photos:
        try:
            size = fio.image_size(photo)
        except OSError:
            continue  # unreadable: reported as that photo's failure
        try:
            check_points(args.garments, size)
        except ValueError as e:
            parser.error(f"--at: {shown(photo)}: {e}")


def _writable(out: Path, parser: argparse.ArgumentParser) -> None:
    """Create ``--out`` if missing and prove it writable with a temporary file, before any model
    loads; a usage error (exit 2) when it is a file or cannot be written."""
    if out.exists() and not out.is_dir():
        parser.error(f"--out {shown(out)} is a file; give a folder (it is created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        where = Path(e.filename) if e.filename else out  # the probe's own name would confuse
        parser.error(f"--out {shown(out)} cannot be written ({e.strerror or e}"
                     f"{'' if out in (where, where.parent) else f': {shown(where)}'}); "
                     "choose a folder you can write to")
