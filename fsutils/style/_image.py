"""The tensors the style code works on (pictures themselves are converted by :mod:`fsutils.io`)."""
from __future__ import annotations

from typing import Union

import numpy as np
import torch
from PIL import Image

from fsutils.io import ImageLike, fit_long_side  # noqa: F401  (the picture type, the one resize)

MaskLike = Union[np.ndarray, torch.Tensor, Image.Image]


def to_tensor(image: Image.Image, device: torch.device | str = "cpu") -> torch.Tensor:
    """1×3×H×W float32 tensor in 0..1."""
    arr = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous().to(device)


def mask_to_tensor(mask: MaskLike, size_hw: tuple[int, int], expected_hw: tuple[int, int],
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """1×1×h×w float mask in 0..1 at ``size_hw`` from an H×W mask of the original image's size."""
    if isinstance(mask, Image.Image):
        m = torch.from_numpy(np.asarray(mask.convert("L"), dtype=np.float32) / 255.0)
    elif isinstance(mask, torch.Tensor):
        m = mask.detach().float().cpu()
    elif isinstance(mask, np.ndarray):
        arr = mask
        if arr.dtype == np.bool_:
            arr = arr.astype(np.float32)
        elif arr.dtype == np.uint8 and arr.max(initial=0) > 1:
            arr = arr.astype(np.float32) / 255.0
        m = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    else:
        raise TypeError(f"a mask must be an H×W array, tensor or PIL image, got {type(mask).__name__}")
    m = m.squeeze()
    if m.dim() != 2:
        raise ValueError(f"a mask must be H×W, got shape {tuple(m.shape)}")
    if tuple(m.shape) != tuple(expected_hw):
        raise ValueError(f"mask is {tuple(m.shape)} but the content image is {tuple(expected_hw)} "
                         "(H×W); make the mask at the content image's size")
    if float(m.min()) < 0 or float(m.max()) > 1:
        raise ValueError("mask values must lie in 0..1 (bool, float 0..1 or uint8 0/255)")
    m = m[None, None]
    if tuple(m.shape[-2:]) != tuple(size_hw):
        m = torch.nn.functional.interpolate(m, size=size_hw, mode="bilinear", align_corners=False,
                                            antialias=True).clamp(0, 1)
    return m.to(device)
