"""The salient-object network behind :class:`SaliencyModel` (U-2-Net or U2NETP from the registry,
a module, or a file), loaded once, predicting a map at the photo's own size."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image

from fsutils import io as fio
from fsutils import weights as W

from .preprocess import INPUT_SIZE, _OFFICIAL, preprocess

__all__ = ["SaliencyModel", "SALIENCY_WEIGHTS"]

#: Registry names of the salient-object checkpoints (``fsutils.weights.REGISTRY``).
SALIENCY_WEIGHTS: tuple[str, ...] = W.names_for("saliency")


class SaliencyModel:
    """U-2-Net salient-object detection: ``predict(image) -> float32 H×W`` in [0, 1].

    ``weights`` is a registry checkpoint (``"u2netp"``, 4.7 MB, or ``"u2net"``, 176 MB), fetched
    and loaded once through :mod:`fsutils.weights`, or an already built network (any module
    returning ``(d0, …)`` logits), as for every model class of the kit; ``device`` defaults to
    :func:`fsutils.env.device`.
    """

    def __init__(self, weights: str | torch.nn.Module = "u2netp", device: Any = None, *,
                 input_size: int | None = None):
        from fsutils import env

        self.device = torch.device(device) if device is not None else env.device()
        prep = _OFFICIAL
        if isinstance(weights, torch.nn.Module):
            model = weights
            self.name = getattr(model, "name", type(model).__name__)
        else:
            entry = W.get(weights)
            model = W.load_state_dict(entry.build(), weights)
            prep = entry.preprocessing or prep
            self.name = weights
        self.input_size = int(input_size or prep.input_size)
        self.mean, self.std = prep.mean, prep.std
        self.model = model.to(self.device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @classmethod
    def from_model(cls, model: torch.nn.Module, input_size: int = INPUT_SIZE,
                   device: Any = None) -> "SaliencyModel":
        """Wrap an already built (e.g. randomly initialised) network."""
        return cls(model, device=device, input_size=input_size)

    def __repr__(self) -> str:
        return f"SaliencyModel({self.name!r}, device={str(self.device)!r}, input_size={self.input_size})"

    @torch.inference_mode()
    def predict_small(self, image: Any) -> np.ndarray:
        """The min-max normalised map at the network's resolution (float32 size×size)."""
        x = preprocess(image, self.input_size, self.device, mean=self.mean, std=self.std)
        d0 = self.model(x)[0]
        pred = torch.sigmoid(d0[0, 0].float())
        lo, hi = pred.min(), pred.max()
        # normPRED; a constant map (hi == lo) becomes all zeros instead of NaN.
        pred = (pred - lo) / (hi - lo) if hi > lo else torch.zeros_like(pred)
        return pred.cpu().numpy()

    def predict(self, image: Any) -> np.ndarray:
        """Saliency of ``image`` (PIL, H×W×3 uint8/float array, path or bytes) as float32 H×W in
        [0, 1] at the photo's size, with the official 8-bit rounding and PIL bilinear resize."""
        arr = fio.to_float(image)
        h, w = arr.shape[:2]
        small = self.predict_small(arr)
        # Image.fromarray(pred * 255).convert(...) truncates to uint8 as the official code does.
        im8 = Image.fromarray((small * np.float32(255)).astype(np.float32)).convert("L")
        out = im8.resize((w, h), resample=Image.Resampling.BILINEAR)
        return np.asarray(out, dtype=np.float32) / np.float32(255)

    __call__ = predict
