"""How alike two images look to a network: cosine similarity × 100 of pooled image embeddings.

:func:`image_similarity` embeds both images with one backend and returns ``100 · cos(e_a, e_b)``:
100 for the same image, lower the more the network's description of the two differs. Backends:

- ``"mobilenet_v2"`` (default, offline): the pooled 1280 features (after the last 1×1
  convolution, before the logits) of the ImageNet MobileNetV2 1.0 classifier, from TensorFlow's
  ``mobilenet_v2_1.0_224_quant.tflite`` (registry entry ``tflite/mobilenet_v2_1.0_224_quant``,
  fetched by :func:`fsutils.weights.fetch`). The photo is resized to 224 × 224 as a whole (no
  crop). Its features are ReLU6 outputs, never negative, so scores stay above 0 and unrelated
  images still score well above 0.
- ``"clip"``: CLIP ViT-B/32 image embeddings (OpenAI weights) through ``open_clip`` — the choice
  of the similarity tables this kit's comparisons come from. Needs ``pip install open_clip_torch``
  and an internet connection the first time (the weights come from the Hugging Face hub).

Scores of different backends are not comparable with each other: compare rows of one table.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "SimilarityBackendError", "embed", "image_similarity",
           "similarity_matrix"]

BACKENDS = ("mobilenet_v2", "clip")
DEFAULT_BACKEND = "mobilenet_v2"
MOBILENET_WEIGHTS = "tflite/mobilenet_v2_1.0_224_quant"
CLIP_MODEL, CLIP_PRETRAINED = "ViT-B-32", "openai"


class SimilarityBackendError(RuntimeError):
    """A similarity backend cannot be used here (missing package, weights not downloadable)."""


def _pil(image: Any) -> Image.Image:
    from . import io

    return io.to_rgb(image)


def _mobilenet(device: torch.device) -> Callable[[Image.Image], torch.Tensor]:
    from . import tflite, weights
    from .models.mobilenet import classifier_from_tflite

    model = classifier_from_tflite(tflite.read(weights.fetch(MOBILENET_WEIGHTS))).to(device)
    size = 224

    @torch.inference_mode()
    def run(img: Image.Image) -> torch.Tensor:
        small = np.asarray(img.resize((size, size), Image.Resampling.BILINEAR), np.float32)
        x = torch.from_numpy((small - 128.0) / 128.0).permute(2, 0, 1)[None].to(device)
        return model.features(x)[0].float().cpu()

    return run


def _clip(device: torch.device) -> Callable[[Image.Image], torch.Tensor]:
    try:
        import open_clip
    except ImportError:
        raise SimilarityBackendError(
            "the 'clip' similarity backend needs the open_clip package: pip install "
            "open_clip_torch (or use backend='mobilenet_v2', which works offline).") from None
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            CLIP_MODEL, pretrained=CLIP_PRETRAINED, device=device)
    except Exception as e:  # noqa: BLE001  (hub, network and file errors all mean the same here)
        reason = (str(e).splitlines() or [""])[0].rstrip(". ")
        raise SimilarityBackendError(
            f"could not get the CLIP weights ({CLIP_MODEL}, {CLIP_PRETRAINED!r}) through open_clip: "
            f"{type(e).__name__}: {reason}. They are downloaded "
            "from the Hugging Face hub on first use: connect to the internet once (or copy the "
            "hub cache), or use backend='mobilenet_v2', which works offline.") from e
    model.eval()

    @torch.inference_mode()
    def run(img: Image.Image) -> torch.Tensor:
        return model.encode_image(preprocess(img)[None].to(device))[0].float().cpu()

    return run


@functools.lru_cache(maxsize=4)
def _embedder(backend: str, device: str) -> Callable[[Image.Image], torch.Tensor]:
    return {"mobilenet_v2": _mobilenet, "clip": _clip}[backend](torch.device(device))


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown similarity backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def embed(image: Any, backend: str = DEFAULT_BACKEND, device: Any = None) -> torch.Tensor:
    """The pooled embedding (1-D float32 tensor) of ``image`` (PIL, H×W×3 array, path or bytes)
    with ``backend``; the network is loaded once per backend and device."""
    from . import env

    _check_backend(backend)
    dev = str(torch.device(device) if device is not None else env.device())
    return _embedder(backend, dev)(_pil(image))


def _cosine100(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    na, nb = a.norm(), b.norm()
    if na == 0 or nb == 0:
        return 0.0
    return float(100.0 * torch.clamp((a @ b) / (na * nb), -1.0, 1.0))


def image_similarity(a: Any, b: Any, backend: str = DEFAULT_BACKEND, device: Any = None) -> float:
    """Cosine similarity × 100 of the pooled embeddings of images ``a`` and ``b`` (see the module
    text for the backends): 100 for identical images, symmetric in ``a`` and ``b``."""
    _check_backend(backend)
    return _cosine100(embed(a, backend, device), embed(b, backend, device))


def similarity_matrix(rows: dict[str, Any], columns: dict[str, Any],
                      backend: str = DEFAULT_BACKEND, device: Any = None) -> dict[str, dict[str, float]]:
    """``{row: {column: image_similarity(rows[row], columns[column])}}``, each image embedded once."""
    _check_backend(backend)
    col = {k: embed(v, backend, device) for k, v in columns.items()}
    return {r: {c: _cosine100(embed(img, backend, device), e) for c, e in col.items()}
            for r, img in rows.items()}
