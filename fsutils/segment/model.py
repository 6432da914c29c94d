"""The cloth segmentation network behind :class:`ClothSegmenter`: built from a registry entry,
a checkpoint file or a module, loaded once, predicting a label map at the photo's own size."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from fsutils import io as fio
from fsutils import weights as W
from fsutils.garments import CLASS_NAMES

from .labels import PALETTE, clean_labels, masks

__all__ = ["ClothSegmenter", "DEFAULT_CLOTH_WEIGHTS", "CLOTH_WEIGHTS"]

#: The kit's own 4-class model (trained on CCP, bundled); ``"cloth_segm"`` is the official one.
#: ``ccp_u2netp``, the kit's earlier model, stays selectable.
DEFAULT_CLOTH_WEIGHTS = "ccp_deeplab"
CLOTH_WEIGHTS: tuple[str, ...] = W.names_for("cloth")
#: A network given as a module is fed as the original cloth model ``cloth_segm`` is (768 px,
#: bicubic, ``(x − 0.5) / 0.5``), unless told otherwise.
_DEFAULT_PREPROCESSING = W.get("cloth_segm").preprocessing
_DEFAULT_INPUT_SIZE = _DEFAULT_PREPROCESSING.input_size
_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
             "lanczos": Image.Resampling.LANCZOS}



def _load_cloth_file(path: str | Path) -> tuple[Any, torch.nn.Module]:
    """A cloth checkpoint file (say one exported by ``fsutils.train cloth --export``, or a training
    ``best.pt``) in whichever registry cloth architecture it fits; that entry's preprocessing
    (input size, normalisation) then applies."""
    state = W.read_state_dict(path)  # read once, tried on each architecture
    for name in CLOTH_WEIGHTS:
        entry = W.get(name)
        try:
            return entry, W.load_state_dict(entry.build(), state)
        except W.ArchitectureMismatchError:
            continue
    raise W.ArchitectureMismatchError(
        f"{path} is not a 4-class cloth checkpoint: it fits none of the cloth architectures "
        f"({'; '.join(W.get(n).arch for n in CLOTH_WEIGHTS)}). Pass a file written by "
        f"`python -m fsutils.train cloth --export` or the official cloth_segm_u2net_latest.pth, or a "
        f"registry name ({', '.join(CLOTH_WEIGHTS)}).")


class ClothSegmenter:
    """4-class cloth segmentation: ``predict(image) -> uint8 H×W`` label map at the photo's size.

    ``weights`` names a registry checkpoint (default :data:`DEFAULT_CLOTH_WEIGHTS`; the official
    one is ``"cloth_segm"``) whose :class:`~fsutils.weights.Preprocessing` gives ``input_size``,
    ``mean``, ``std``, ``resample`` and ``flip`` (each may be overridden here; ``clean=True``
    post-processes the labels with :func:`clean_labels`); it is fetched
    through :func:`fsutils.weights.fetch` — any failure raises the
    :class:`fsutils.weights.WeightsError` that says what to do. ``weights`` may also be the
    path of a cloth checkpoint file (your own model from ``fsutils.train``: it is loaded into the
    cloth architecture it fits, with that model's settings; ``input_size=`` overrides), or an
    already built ``nn.Module`` returning ``(d0, …)`` logits with 4 channels (for tests or your own
    models; see also :meth:`from_model`). ``device`` defaults to :func:`fsutils.env.device`.
    """

    CLASS_NAMES = CLASS_NAMES
    PALETTE = PALETTE

    def __init__(self, weights: str | Path | torch.nn.Module = DEFAULT_CLOTH_WEIGHTS, device: Any = None,
                 *, input_size: int | None = None, mean: float | None = None,
                 std: float | None = None, resample: str | None = None, flip: bool | None = None,
                 clean: bool = False, verbose: bool = True):
        from fsutils import env

        self.device = torch.device(device) if device is not None else env.device()
        prep = None
        if isinstance(weights, torch.nn.Module):
            model = weights
            self.name = type(model).__name__
        else:
            entry = W.lookup(weights)  # a registry name, or None for a file
            if entry is None:
                entry, model = _load_cloth_file(weights)
            else:
                model = entry.build()
                channels = getattr(model, "out_ch", None)
                if channels is not None and channels != len(CLASS_NAMES):
                    raise W.ArchitectureMismatchError(
                        f"{weights!r} is not a cloth model: {entry.arch} has {channels} output "
                        f"channel(s), a cloth segmenter needs {len(CLASS_NAMES)} "
                        f"(choose one of {', '.join(CLOTH_WEIGHTS)}).")
                W.load_state_dict(model, weights)
            prep = entry.preprocessing
            self.name = str(weights)
            if verbose:  # one line, so a user always knows which model segmented the photo
                print(f"cloth segmentation: {weights} — {entry.arch}")
        prep = prep or _DEFAULT_PREPROCESSING
        self.input_size = int(input_size or prep.input_size)
        self.mean = float(mean if mean is not None else prep.mean)
        self.std = float(std if std is not None else prep.std)
        resample = resample or prep.resample
        if resample not in _RESAMPLE:
            raise ValueError(f"resample must be one of {sorted(_RESAMPLE)}, got {resample!r}")
        self.resample = resample
        #: test-time augmentation: average the probabilities of the photo and of its mirror image
        self.flip = bool(prep.flip if flip is None else flip)
        #: post-processing: remove small garment specks and fill small holes (:func:`clean_labels`)
        self.clean = bool(clean)
        self.model = model.to(self.device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @classmethod
    def from_model(cls, model: torch.nn.Module, input_size: int = _DEFAULT_INPUT_SIZE,
                   device: Any = None, **kw: Any) -> "ClothSegmenter":
        """Wrap an already built network (e.g. randomly initialised, or fresh from training)."""
        return cls(model, device=device, input_size=input_size, **kw)

    def __repr__(self) -> str:
        return (f"ClothSegmenter({self.name!r}, device={str(self.device)!r}, "
                f"input_size={self.input_size})")

    def preprocess(self, image: Any) -> torch.Tensor:
        """The photo as the network sees it: 1×3×S×S, square-resized, ``(x − mean) / std``."""
        photo = fio.to_rgb(image)
        s = self.input_size
        small = photo.resize((s, s), _RESAMPLE[self.resample])
        x = torch.from_numpy(np.asarray(small, dtype=np.float32) / np.float32(255))
        x = (x.permute(2, 0, 1) - self.mean) / self.std
        return x.unsqueeze(0).to(self.device)

    @torch.inference_mode()
    def _proba(self, image: Any) -> torch.Tensor:
        photo = fio.to_rgb(image)
        x = self.preprocess(photo)
        if self.flip:  # a garment's mirror image is the same garment: both views in one batch
            x = torch.cat([x, x.flip(-1)])
        out = self.model(x)
        logits = out[0] if isinstance(out, (tuple, list)) else out
        if logits.ndim != 4 or logits.shape[1] != len(CLASS_NAMES):
            raise ValueError(f"the model's first output has shape {tuple(logits.shape)}; a cloth "
                             f"model must give 1×{len(CLASS_NAMES)}×S×S class logits")
        prob = torch.softmax(logits.float(), dim=1)
        if self.flip:
            prob = 0.5 * (prob[:1] + prob[1:].flip(-1))
        return F.interpolate(prob, size=(photo.height, photo.width), mode="bilinear",
                             align_corners=False)[0]

    def predict_proba(self, image: Any) -> np.ndarray:
        """Class probabilities as float32 4×H×W at the photo's size (softmax of the first output,
        bilinearly resized; each pixel sums to 1)."""
        return self._proba(image).cpu().numpy()

    def labels_from_proba(self, proba: np.ndarray) -> np.ndarray:
        """The label map :meth:`predict` makes from class probabilities (4×H×W, as
        :meth:`predict_proba` gives them): their arg-max, cleaned when ``clean``."""
        labels = np.asarray(proba).argmax(axis=0).astype(np.uint8)
        return clean_labels(labels) if self.clean else labels

    def predict(self, image: Any) -> np.ndarray:
        """The uint8 H×W label map (0 background, 1 upper, 2 lower, 3 full body) of ``image``
        (PIL image, H×W×3 uint8/float array, path or bytes)."""
        return self.labels_from_proba(self.predict_proba(image))

    __call__ = predict

    def masks(self, image: Any) -> dict[str, np.ndarray]:
        """Predict, then one bool mask per class name."""
        return masks(self.predict(image))
