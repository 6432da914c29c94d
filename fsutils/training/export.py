"""A trained model as the file the kit ships: a plain half-precision state dict."""
from __future__ import annotations

from pathlib import Path

import torch

from ..results import write_atomic

__all__ = ["export_half"]


def export_half(checkpoint: str | Path, dest: str | Path) -> Path:
    """Write a training checkpoint's model (``last.pt``, ``best.pt``, or a state dict) as a plain
    fp16 state dict, the shipped format."""
    from ..weights import read_state_dict

    sd = read_state_dict(checkpoint)  # a training checkpoint's "model", or a state dict
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(dest, lambda f: torch.save(half, f))
    return dest
