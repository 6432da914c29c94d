"""The checkpoint reader: a registry checkpoint or a file into a state dict, and strictly into a
model.

Files are read with ``torch.load(map_location="cpu", weights_only=True)``, so a checkpoint can
never run code; a ``{"state_dict": …}`` / ``{"model": …}`` wrapper is unwrapped, a DataParallel
``module.`` prefix is removed only when every key carries it, and a mismatch names the
checkpoint and the architecture it was made for.
"""
from __future__ import annotations

import os
import pickle
import re
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from .errors import (ArchitectureMismatchError, CheckpointError, NotACheckpointError,
                     UnsafeCheckpointError)
from .registry import entry_for_file, get, lookup
from .spec import Weights
from .store import confirm, fetch
from .verify import sniff

__all__ = ["read_state_dict", "read_checkpoint", "load_state_dict", "load_model", "locate",
           "strip_module_prefix"]


def _torch_load(path: Path, what: str) -> Any:
    """``torch.load(weights_only=True)`` of ``path``, its failures as :class:`CheckpointError`."""
    import torch

    if not path.is_file():
        raise CheckpointError(f"There is no file {path}.")
    sniff(path, what)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights only" not in str(e).lower():
            raise NotACheckpointError(f"Could not read {what}: {e}. The file is truncated or not "
                                      f"a PyTorch checkpoint; delete it and fetch it again.") from None
        found = re.search(r"Unsupported (?:global|operand)[^\n]*?(?=\.\s|$)", str(e), re.M)
        detail = f" ({found.group(0)})" if found else ""
        raise UnsafeCheckpointError(
            f"Refusing to load {what}: it contains pickled Python objects other than tensors, "
            f"which could run code when loaded{detail}. Only plain state dicts are accepted; "
            f"re-save it with torch.save(model.state_dict(), path) from a trusted "
            f"environment.") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as e:
        raise NotACheckpointError(f"Could not read {what}: {type(e).__name__}: {e}. The file is "
                                  f"truncated or not a PyTorch checkpoint; delete it and fetch it "
                                  f"again.") from None


def read_checkpoint(path: str | os.PathLike) -> Any:
    """Everything a checkpoint file holds (say a training run's ``{"model": …, "state": …}``),
    read as safely as :func:`read_state_dict` reads: tensors, numbers, strings and containers
    only, or an :class:`UnsafeCheckpointError`."""
    path = Path(path).expanduser()
    return _torch_load(path, f"the checkpoint {path}")


def _read_state_dict(path: Path, w: Weights | None) -> dict[str, Any]:
    import torch

    what = f"the checkpoint {path}" + (f" ({w.name!r})" if w else "")
    obj = _torch_load(path, what)
    if isinstance(obj, Mapping) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in ("state_dict", "model", "model_state_dict"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner and all(
                    isinstance(v, torch.Tensor) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise NotACheckpointError(f"{what} holds a {type(obj).__name__}, not a state dict of "
                                  f"tensors.")
    return dict(obj)


def strip_module_prefix(sd: Mapping[str, Any], model_keys: Collection[str] = ()) -> dict[str, Any]:
    """Drop DataParallel's ``module.`` only when every key carries it and the model (whose keys
    are ``model_keys``, when given) does not."""
    sd = dict(sd)
    if sd and all(k.startswith("module.") for k in sd) and not (model_keys and all(
            k.startswith("module.") for k in model_keys)):
        return {k[len("module."):]: v for k, v in sd.items()}
    return sd


def _shorten(msg: str, limit: int = 6) -> str:
    """torch's strict-load message, with its long key lists cut to ``limit`` names each."""
    lines = []
    size_lines = 0
    for line in msg.splitlines():
        m = re.match(r"(\s*(?:Missing|Unexpected) key\(s\) in state_dict: )(.*)$", line)
        if m:
            keys = re.findall(r'"([^"]+)"', m.group(2))
            shown = ", ".join(keys[:limit]) + (f", … ({len(keys)} in all)" if len(keys) > limit else "")
            lines.append(f"{m.group(1).strip()} {shown}")
        elif "size mismatch for" in line:
            size_lines += 1
            if size_lines <= limit:
                lines.append(line.strip())
        elif line.strip():
            lines.append(line.strip())
    if size_lines > limit:
        lines.append(f"… {size_lines} size mismatches in all")
    return "\n  ".join(lines)


def locate(name_or_path: str | os.PathLike) -> tuple[Path, Weights | None]:
    """The local file of a registry name (fetched) or a path, and its registry entry if any."""
    entry = lookup(name_or_path)
    if entry is not None:
        return fetch(entry.name), entry
    path = Path(name_or_path).expanduser()
    return path, entry_for_file(path)


def read_state_dict(name_or_path) -> dict[str, Any]:
    """The state dict of a registry checkpoint (by name) or a file, read as
    :func:`load_state_dict` reads it — to load one file into several candidate models."""
    return _read_state_dict(*locate(name_or_path))


def load_state_dict(model, name_or_path):
    """Load a registry checkpoint (by name), a file, or an already read state dict (from
    :func:`read_state_dict`) into ``model`` strictly; returns ``model``.

    ``torch.load(map_location="cpu", weights_only=True)``: pickled objects that could run code
    are refused (:class:`UnsafeCheckpointError`). A ``{"state_dict": …}`` / ``{"model": …}``
    wrapper is unwrapped; a ``module.`` prefix is removed only when every key has it. Once a
    cached registry file has loaded, its hash is recorded (:func:`fsutils.weights.store.confirm`).
    A failure carries the registry name in ``weights_name`` when there is one.
    """
    w = None
    try:
        if isinstance(name_or_path, Mapping):
            sd, what, path = dict(name_or_path), "The given state dict", None
        else:
            path, w = locate(name_or_path)
            sd, what = _read_state_dict(path, w), f"The checkpoint {path}"
        _load_strict(model, sd, what, w)
    except CheckpointError as e:
        e.weights_name = e.weights_name or (w.name if w else None)
        raise
    if w is not None and path is not None:
        confirm(w, path)
    return model


def _load_strict(model, sd: Mapping[str, Any], what: str, w: Weights | None) -> None:
    model_keys = set(model.state_dict().keys())
    sd = strip_module_prefix(sd, model_keys)
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        expected = (f"it is the registry checkpoint {w.name!r}, made for {w.arch}"
                    if w else "no registry entry names this file")
        raise ArchitectureMismatchError(
            f"{what} does not fit {type(model).__name__} ({expected}; the file has "
            f"{len(sd)} tensors, the model expects {len(model_keys)}).\n  {_shorten(str(e))}\n"
            f"Build the architecture the checkpoint was made for, or pick the checkpoint of "
            f"this architecture" + (f"; if this file should be {w.name!r}, it is damaged or "
                                    f"another file: replace it with a good copy"
                                    if w else "") + ".") from None


def load_model(name: str, device=None):
    """``get(name).build()`` with the checkpoint loaded, in eval mode, on ``device`` (default
    :func:`fsutils.env.device`)."""
    from fsutils.settings import device as default_device

    w = get(name)
    model = load_state_dict(w.build(), name)
    return model.eval().to(device if device is not None else default_device())
