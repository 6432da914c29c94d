"""Cache keys and the small least-recently-used store of the pipeline's stages.

A stage's result is kept under a key built from the photo's pixels (:func:`array_key`) and that
stage's own parameters (:func:`freeze`), so only what changed is recomputed.
"""
from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

__all__ = ["digest", "array_key", "freeze", "LRU", "StageCache"]


def digest(*parts: bytes | str) -> str:
    """A short hex digest of byte strings and texts (BLAKE2b, 12 bytes)."""
    h = hashlib.blake2b(digest_size=12)
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\x00")
    return h.hexdigest()


def array_key(arr: np.ndarray) -> str:
    """A key of an array's shape, dtype and bytes: equal arrays, equal keys."""
    arr = np.ascontiguousarray(arr)
    return digest(str(arr.shape), str(arr.dtype), memoryview(arr).cast("B"))


def freeze(value: Any) -> Hashable:
    """A hashable, order-independent version of a parameter value (for cache keys)."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(freeze(v) for v in value))
    if isinstance(value, np.ndarray):
        return ("ndarray", array_key(value))
    if isinstance(value, Image.Image):
        return ("image", array_key(np.asarray(value)))
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return ("path", str(value.resolve()))
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    # Modules, callables…: identity (a different object means a different result).
    return ("id", type(value).__name__, id(value))


class LRU:
    """A tiny least-recently-used dict."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        if key in self.data:
            self.data.move_to_end(key)
            return self.data[key]
        return None

    def put(self, key: Hashable, value: Any) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.size:
            self.data.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        return key in self.data

    def clear(self) -> None:
        self.data.clear()


class StageCache:
    """One :class:`LRU` per stage, keyed by the current photo and the stage's own key; counts
    what each stage actually computed (:attr:`computed`: cache misses, for tests and benchmarks)."""

    def __init__(self, stages: tuple[str, ...], size: int) -> None:
        self._stores = {s: LRU(size) for s in stages}
        self.computed: Counter[str] = Counter()

    def get(self, stage: str, key: Hashable) -> Any:
        """A kept result, or None."""
        return self._stores[stage].get(key)

    def get_or_compute(self, stage: str, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The kept result of ``key``, else ``compute()`` (kept and counted)."""
        hit = self._stores[stage].get(key)
        if hit is None:
            hit = compute()
            self.computed[stage] += 1
            self._stores[stage].put(key, hit)
        return hit

    def clear(self, *stages: str) -> None:
        """Forget the results of ``stages`` (default: of every stage)."""
        for stage in stages or tuple(self._stores):
            self._stores[stage].clear()
