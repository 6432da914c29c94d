"""The registry: every checkpoint by name, read from the data file ``registry.toml`` next to this
module, and the one place that decides whether an argument is a registry name or a file path.

To add a checkpoint, add its table to ``registry.toml`` (the file's header says what each key
means); fetching, checking and loading follow from the entry.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import UnknownWeightsError, WeightsError
from .spec import Bundled, Drive, Preprocessing, Source, Url, Weights, ZipMember

__all__ = ["REGISTRY", "get", "lookup", "entry_for_file", "read_registry", "REGISTRY_FILE"]

#: The registry's data file.
REGISTRY_FILE = Path(__file__).resolve().with_name("registry.toml")
_SOURCES = {"drive": lambda d: Drive(d["drive"]), "url": lambda d: Url(d["url"]),
            "bundled": lambda d: Bundled(d["bundled"], d.get("sha256"), d.get("size")),
            "zip": lambda d: ZipMember(d["zip"], d["member"], d.get("archive", ""))}


def _fields(cls: type, table: Mapping[str, Any], where: str) -> None:
    unknown = set(table) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise WeightsError(f"{REGISTRY_FILE}: {where} has unknown key(s) {sorted(unknown)}; "
                           f"known: {sorted(f.name for f in dataclasses.fields(cls))}.")


def _source(spec: Mapping[str, Any], where: str) -> Source:
    kinds = [k for k in _SOURCES if k in spec]
    if len(kinds) != 1:
        raise WeightsError(f"{REGISTRY_FILE}: a source of {where} must have exactly one of "
                           f"{sorted(_SOURCES)}, got {dict(spec)}.")
    return _SOURCES[kinds[0]](spec)


def _entry(name: str, table: Mapping[str, Any]) -> Weights:
    table = dict(table, name=name)
    _fields(Weights, table, f"[{name}]")
    table["sources"] = tuple(_source(s, f"[{name}]") for s in table.get("sources", ()))
    table["classes"] = tuple(table.get("classes", ()))
    prep = table.get("preprocessing")
    if prep is not None:
        _fields(Preprocessing, prep, f"[{name}.preprocessing]")
        table["preprocessing"] = Preprocessing(**{
            k: tuple(v) if isinstance(v, list) else v for k, v in prep.items()})
    return Weights(**table)


def read_registry(path: Path = REGISTRY_FILE) -> dict[str, Weights]:
    """The entries of a registry file, by name, in the file's order."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    return {name: _entry(name, table) for name, table in data.items()}


REGISTRY: dict[str, Weights] = read_registry()


def names_for(task: str) -> tuple[str, ...]:
    """The registry names of the models that serve ``task`` (``"cloth"``, ``"saliency"`` …), in
    the registry's order."""
    return tuple(name for name, w in REGISTRY.items() if w.task == task)


def get(name: str) -> Weights:
    """The registry entry ``name`` (clear error listing the known names otherwise)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownWeightsError(
            f"No checkpoint called {name!r} in fsutils.weights.REGISTRY; known: "
            f"{', '.join(sorted(REGISTRY))}.") from None


def lookup(name_or_path: str | os.PathLike) -> Weights | None:
    """The registry entry when ``name_or_path`` is a registry name, ``None`` when it is a file
    path. A bare word that is neither a registry name nor an existing file (no folder, no
    suffix: a mistyped name) raises :class:`UnknownWeightsError` listing the known names."""
    if isinstance(name_or_path, str):
        if name_or_path in REGISTRY:
            return REGISTRY[name_or_path]
        path = Path(name_or_path).expanduser()
        if not path.exists() and os.sep not in name_or_path and not path.suffix:
            get(name_or_path)  # raises UnknownWeightsError with the known names
    return None


def entry_for_file(path: Path) -> Weights | None:
    """The registry entry whose file name ``path`` carries, if any (to name it in messages)."""
    for w in REGISTRY.values():
        if path.name == Path(w.filename).name:
            return w
    return None
