"""A training run's folder: checked writable before any work, locked while a trainer uses it, and
written only through whole files (a unique temporary name, then an atomic rename), so an
interrupted write never leaves a half checkpoint under ``last.pt`` and two trainers never share a
temporary file."""
from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..results import write_atomic

__all__ = ["TrainingError", "RunFolder"]


class TrainingError(RuntimeError):
    """A training run cannot start or go on; the message says why and what to do."""


class RunFolder:
    """``out``: created and checked writable on :meth:`open`, locked until :meth:`close` (a
    second trainer on the same folder is refused with one line)."""

    LOCK = ".lock"

    def __init__(self, out: str | os.PathLike):
        self.path = Path(out)
        self._lock = None

    def open(self) -> "RunFolder":
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=self.path)
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            raise TrainingError(f"cannot write to the run folder {self.path} "
                                f"({e.strerror or e}); choose a writable --out.") from None
        self._lock = _lock(self.path / self.LOCK)
        return self

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> "RunFolder":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def save(self, name: str, obj: Any) -> Path:
        """``torch.save`` ``obj`` as ``name`` in the folder, atomically."""
        path = self.path / name
        write_atomic(path, lambda f: torch.save(obj, f))
        return path

    def save_json(self, name: str, obj: Any) -> Path:
        path = self.path / name
        write_atomic(path, lambda f: f.write(json.dumps(obj, indent=1).encode()))
        return path


def _lock(path: Path):
    """An exclusive, non-blocking lock on ``path`` (released when the process ends, even by
    kill -9); the file records the holder's process id for the refusal message."""
    import fcntl

    f = open(path, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        f.seek(0)
        holder = f.read().strip() or "another process"
        f.close()
        if e.errno in (errno.EAGAIN, errno.EACCES):
            raise TrainingError(f"another training (process {holder}) is using {path.parent}; "
                                "wait for it to finish, or give this run another --out.") from None
        raise
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f
